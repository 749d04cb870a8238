// Package e2e holds black-box tests: Apache RocketMQ's own Go client (and
// Sluice's) against `sluice namesrv` and `sluice broker` running as
// separate processes. It is its own Go module so the product module stays
// free of heavy test peers.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// sluiceBin is the binary under test: $SLUICE_BIN, or built by TestMain.
var sluiceBin string

func TestMain(m *testing.M) {
	rlog.SetLogLevel("error")
	sluiceBin = os.Getenv("SLUICE_BIN")
	cleanup := func() {}
	if sluiceBin == "" {
		dir, err := os.MkdirTemp("", "sluice-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		cleanup = func() { os.RemoveAll(dir) }
		sluiceBin = filepath.Join(dir, "sluice")
		build := exec.Command("go", "build", "-o", sluiceBin, "../cmd/sluice")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build sluice:", err)
			cleanup()
			os.Exit(1)
		}
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a sluice daemon running as a child process.
type proc struct {
	t    testing.TB
	name string
	args []string
	Addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc runs `sluice args...` and waits until addr accepts connections.
func startProc(t testing.TB, name, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, Addr: addr}
	p.start()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.name, p.out.String())
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	p.out = &lockedBuffer{}
	p.cmd = exec.Command(sluiceBin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "NAMESRV_ADDR=")
	// The process dies with the test binary, even one that panicked or
	// was killed before its cleanups ran.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.exited = make(chan struct{})
	cmd, exited := p.cmd, p.exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			p.t.Fatalf("%s exited during start:\n%s", p.name, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not listening on %s after 30 s:\n%s", p.name, p.Addr, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL, 10*time.Second)
}

// stop asks the process to shut down cleanly (SIGTERM), then kills it.
func (p *proc) stop() {
	if !p.signal(syscall.SIGTERM, 20*time.Second) {
		p.signal(syscall.SIGKILL, 10*time.Second)
	}
}

func (p *proc) signal(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return true
	}
	select {
	case <-exited:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return true
	case <-time.After(wait):
		return false
	}
}

// restart starts the process again with the same arguments.
func (p *proc) restart() {
	p.t.Helper()
	p.start()
}

// startNameServer runs `sluice namesrv` on a free loopback port.
func startNameServer(t testing.TB) *proc {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return startProc(t, "namesrv", addr, "namesrv", "--listen", addr, "--log-format", "text")
}

// brokerArgs are the flags of a test broker; extra flags override.
func brokerArgs(addr, nameServer, dataDir string, extra ...string) []string {
	args := []string{"broker", "--listen", addr, "--namesrv", nameServer, "--data-dir", dataDir,
		"--broker-name", "broker-a", "--cluster", "DefaultCluster", "--log-format", "text",
		"--register-interval", "1s", "--segment-size", "64MiB",
		// Any free HA port: listen+1 may belong to another test's socket.
		"--ha-listen", "127.0.0.1:0",
		// A busy test machine's disk may be past 75 %: never delete test data.
		"--disk-max-used-ratio", "1"}
	return append(args, extra...)
}

// startBroker runs `sluice broker` registered with nameServer.
func startBroker(t testing.TB, nameServer string, extra ...string) *proc {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return startProc(t, "broker", addr, brokerArgs(addr, nameServer, t.TempDir(), extra...)...)
}

// cluster is a NameServer process and a broker process.
type cluster struct {
	ns, broker *proc
}

func startCluster(t testing.TB, brokerFlags ...string) *cluster {
	ns := startNameServer(t)
	b := startBroker(t, ns.Addr, brokerFlags...)
	waitRoute(t, ns.Addr, "TBW102")
	return &cluster{ns: ns, broker: b}
}

// waitRoute waits until the NameServer serves a route for topic.
func waitRoute(t testing.TB, nameServer, topic string) {
	t.Helper()
	eventually(t, 30*time.Second, func() bool { return routeExists(nameServer, topic) },
		"no route for %s at %s", topic, nameServer)
}

func eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, fmt.Sprintf(msg, args...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName makes topic and group names distinct per test.
func uniqueName(t testing.TB, prefix string) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return fmt.Sprintf("%s_%s_%d", prefix, name, time.Now().UnixNano()%1e6)
}

// sendNumbered sends n bodies "<prefix>-0" … with send and returns them.
func sendNumbered(t testing.TB, n int, prefix string, send func(body string) error) []string {
	t.Helper()
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("%s-%d", prefix, i)
		if err := send(want[i]); err != nil {
			t.Fatalf("send %s: %v", want[i], err)
		}
	}
	return want
}

// retryTracker fails the first delivery of every message and records how
// the second one arrived (topic/reconsumeTimes).
type retryTracker struct {
	mu          sync.Mutex
	attempts    map[string]int
	redelivered map[string]string
}

func newRetryTracker() *retryTracker {
	return &retryTracker{attempts: map[string]int{}, redelivered: map[string]string{}}
}

// deliver records a delivery and reports whether it should fail.
func (r *retryTracker) deliver(body, topic string, reconsumeTimes int32) (fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[body]++
	if r.attempts[body] == 1 {
		return true
	}
	r.redelivered[body] = fmt.Sprintf("%s/%d", topic, reconsumeTimes)
	return false
}

// check waits until every message of want came back once, under its
// original topic (restored from RETRY_TOPIC) with reconsumeTimes 1.
func (r *retryTracker) check(t testing.TB, topic string, want []string) {
	t.Helper()
	eventually(t, 50*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.redelivered) == len(want)
	}, "redelivered %d of %d", len(r.redelivered), len(want))
	r.mu.Lock()
	defer r.mu.Unlock()
	for body, how := range r.redelivered {
		if how != topic+"/1" {
			t.Fatalf("%s redelivered as %s, want %s/1", body, how, topic)
		}
	}
}
