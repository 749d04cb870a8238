// Package mysqltest starts private MariaDB servers for tests: each has its
// own datadir under t.TempDir(), listens on an ephemeral 127.0.0.1 port, logs
// binlogs in ROW format with FULL row images and full row metadata, and is
// stopped by t.Cleanup. It never touches a server it did not start.
//
// The first server of a process initialises a template datadir
// (mariadb-install-db, a few seconds) and every server copies it. Without
// MariaDB's binaries a test is skipped — except under CI (CI=true), where it
// fails: `make test` installs them (scripts/deps.sh).
package mysqltest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options configure a server; the zero value is a ROW/FULL primary.
type Options struct {
	// ServerID is the server's server_id (default: a fresh one per server).
	ServerID uint32
	// Settings are extra mariadbd options without the leading dashes, e.g.
	// {"binlog_row_image": "MINIMAL"}; they override the defaults.
	Settings map[string]string
}

// Server is a running private MariaDB.
type Server struct {
	t        testing.TB
	Host     string
	Port     int
	DataDir  string
	ServerID uint32
	// DB is a root connection pool to the server (no default database).
	DB *sql.DB

	socket string
	args   []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *bytes.Buffer
}

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
	nextID       atomic.Uint32
)

// Binaries returns the paths of mariadbd and mariadb-install-db, or an
// error naming what is missing.
func Binaries() (server, install string, err error) {
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"} {
				if p := filepath.Join(dir, n); isExec(p) {
					return p
				}
			}
		}
		return ""
	}
	server, install = find("mariadbd", "mysqld"), find("mariadb-install-db", "mysql_install_db")
	if server == "" || install == "" {
		return "", "", errors.New("MariaDB's mariadbd and mariadb-install-db are not installed (apt-get install -y mariadb-server, or run make deps)")
	}
	return server, install, nil
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Require skips the test when MariaDB is not installed, or fails it under
// CI.
func Require(t testing.TB) {
	t.Helper()
	if _, _, err := Binaries(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mysqltest: %v", err)
		}
		t.Skipf("mysqltest: %v", err)
	}
}

// template returns an initialised datadir that servers copy. It is shared
// by every test process on the machine: one per MariaDB build (binary size
// and mtime), under the temp dir, made in a private directory and renamed
// into place, so concurrent processes never see half of one and the temp
// dir never fills with copies.
func template() (string, error) {
	templateOnce.Do(func() {
		templateDir, templateErr = makeTemplate()
	})
	return templateDir, templateErr
}

const templateReady = "sluice-template-ready"

func makeTemplate() (string, error) {
	server, install, err := Binaries()
	if err != nil {
		return "", err
	}
	st, err := os.Stat(server)
	if err != nil {
		return "", err
	}
	final := filepath.Join(os.TempDir(), fmt.Sprintf("sluice-mariadb-template-%d-%x-%x", os.Geteuid(), st.Size(), st.ModTime().UnixNano()))
	if _, err := os.Stat(filepath.Join(final, templateReady)); err == nil {
		return final, nil
	}
	dir, err := os.MkdirTemp("", "sluice-mariadb-init-")
	if err != nil {
		return "", err
	}
	args := []string{"--no-defaults", "--datadir=" + dir, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, templateReady), nil, 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := os.Rename(dir, final); err != nil {
		// Another process got there first (or left a broken one behind).
		os.RemoveAll(dir)
		if _, serr := os.Stat(filepath.Join(final, templateReady)); serr != nil {
			return "", fmt.Errorf("mysqltest: template datadir %s: %v (remove it)", final, err)
		}
	}
	return final, nil
}

// Start starts a server and registers its shutdown with t.Cleanup.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	Require(t)
	if opts == nil {
		opts = &Options{}
	}
	tmpl, err := template()
	if err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	root := t.TempDir()
	dataDir := filepath.Join(root, "data")
	if out, err := exec.Command("cp", "-a", tmpl, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("mysqltest: copy template datadir: %v\n%s", err, out)
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o700); err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	id := opts.ServerID
	if id == 0 {
		id = 100 + nextID.Add(1)
	}
	s := &Server{t: t, Host: "127.0.0.1", DataDir: dataDir, ServerID: id, socket: filepath.Join(root, "mysqld.sock")}
	settings := map[string]string{
		"datadir":                        dataDir,
		"socket":                         s.socket,
		"pid-file":                       filepath.Join(root, "mysqld.pid"),
		"bind-address":                   "127.0.0.1",
		"server-id":                      strconv.FormatUint(uint64(id), 10),
		"log-bin":                        "binlog",
		"binlog-format":                  "ROW",
		"binlog-row-image":               "FULL",
		"binlog-row-metadata":            "FULL",
		"log-slave-updates":              "ON",
		"gtid-domain-id":                 "0",
		"skip-name-resolve":              "ON",
		"innodb-buffer-pool-size":        "128M",
		"innodb-log-file-size":           "64M",
		"innodb-flush-log-at-trx-commit": "2",
		"sync-binlog":                    "0",
		"character-set-server":           "utf8mb4",
		"collation-server":               "utf8mb4_general_ci",
		"max-allowed-packet":             "256M",
		"max-connections":                "200",
		"log-error":                      filepath.Join(root, "error.log"),
		"performance-schema":             "OFF",
		"tmpdir":                         filepath.Join(root, "tmp"),
	}
	for k, v := range opts.Settings {
		settings[strings.ReplaceAll(k, "_", "-")] = v
	}
	s.args = []string{"--no-defaults"}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		s.args = append(s.args, "--"+k+"="+settings[k])
	}
	if os.Geteuid() == 0 {
		s.args = append(s.args, "--user=root")
	}
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("mysqltest: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs mariadbd, waits until it answers on its socket and makes root
// reachable over TCP from 127.0.0.1.
func (s *Server) start() error {
	server, _, err := Binaries()
	if err != nil {
		return err
	}
	args := append(append([]string(nil), s.args...), "--port="+strconv.Itoa(s.Port))
	cmd := exec.Command(server, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	// The server dies with the test process, even a killed one.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.log = cmd, exited, &log
	s.mu.Unlock()

	sock, err := sql.Open("mysql", "root@unix("+s.socket+")/?multiStatements=true")
	if err != nil {
		return err
	}
	defer sock.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = sock.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("mariadbd exited while starting: %s\n%s", log.String(), s.errorLog())
		default:
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("mariadbd did not answer within 60s: %v\n%s", err, s.errorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := sock.Exec("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; " +
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"); err != nil {
		return fmt.Errorf("grant root over TCP: %w", err)
	}
	if s.DB == nil {
		db, err := sql.Open("mysql", s.DSN(""))
		if err != nil {
			return err
		}
		db.SetMaxIdleConns(4)
		s.DB = db
	}
	return nil
}

func (s *Server) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.DataDir), "error.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// DSN is a go-sql-driver/mysql DSN for root on database db ("" for none).
func (s *Server) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", s.Addr(), db
	c.MultiStatements, c.InterpolateParams = true, true
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	return c.FormatDSN()
}

// Exec runs statements (several may be separated by ';') and fails the test
// on error.
func (s *Server) Exec(query string, args ...any) {
	s.t.Helper()
	if _, err := s.DB.Exec(query, args...); err != nil {
		s.t.Fatalf("mysqltest: %s: %v", abbreviate(query), err)
	}
}

// QueryString returns the first column of the first row of query.
func (s *Server) QueryString(query string, args ...any) string {
	s.t.Helper()
	var v sql.NullString
	if err := s.DB.QueryRow(query, args...).Scan(&v); err != nil {
		s.t.Fatalf("mysqltest: %s: %v", abbreviate(query), err)
	}
	return v.String
}

func abbreviate(q string) string {
	if len(q) > 200 {
		return q[:200] + "…"
	}
	return q
}

// take returns the running process, once.
func (s *Server) take() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	return cmd, exited
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 30 s).
func (s *Server) Stop() {
	cmd, exited := s.take()
	if cmd == nil {
		return
	}
	if s.DB != nil {
		s.DB.Close()
		s.DB = nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Kill stops the server with SIGKILL.
func (s *Server) Kill() {
	if cmd, exited := s.take(); cmd != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Restart stops the server and starts it again on the same port and
// datadir, with settings changed by set (nil keeps them).
func (s *Server) Restart(set map[string]string) {
	s.t.Helper()
	db := s.DB
	s.DB = nil
	s.Stop()
	if db != nil {
		db.Close()
	}
	for k, v := range set {
		flag := "--" + strings.ReplaceAll(k, "_", "-") + "="
		replaced := false
		for i, a := range s.args {
			if strings.HasPrefix(a, flag) {
				s.args[i], replaced = flag+v, true
			}
		}
		if !replaced {
			s.args = append(s.args, flag+v)
		}
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("mysqltest: restart: %v", err)
	}
}
