package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/internal/mysqltest"
)

const testUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// savedState is a state with an unfinished snapshot.
func savedState() position.State {
	return position.State{
		Position: position.Position{Flavor: "mariadb", File: "binlog.000003", Pos: 1234, GTIDSet: "0-1-100,1-2-7", Timestamp: 1714557598},
		Snapshot: &position.Snapshot{
			Start: position.Position{Flavor: "mariadb", File: "binlog.000002", Pos: 345, GTIDSet: "0-1-90"},
			Tables: []position.TableProgress{
				{Schema: "shop", Table: "orders", Done: true, LastKey: []string{"1000"}, Rows: 1000, TotalEstimate: 990},
				{Schema: "shop", Table: "order_items", LastKey: []string{"41", "2"}, Rows: 82, TotalEstimate: 4000},
				{Schema: "shop", Table: "users", TotalEstimate: 12},
			},
		},
		ServerID:   1,
		ServerUUID: "4xtVvFKpTsdGSCBWbrS3c2inPAw=",
		SavedAt:    time.Date(2024, 5, 1, 9, 59, 59, 123000000, time.UTC),
	}
}

// positionFile saves st (unless nil) in a fresh directory and returns the
// file's path.
func positionFile(t *testing.T, st *position.State) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.pos.json")
	if st != nil {
		if err := position.NewFileStore(path).Save(context.Background(), *st); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func loadState(t *testing.T, path string) (position.State, bool) {
	t.Helper()
	st, ok, err := position.NewFileStore(path).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st, ok
}

// withTerminal makes stdin a terminal that answers answer; "" makes it
// no terminal at all.
func withTerminal(t *testing.T, answer string) {
	t.Helper()
	old := positionsTerminal
	t.Cleanup(func() { positionsTerminal = old })
	positionsTerminal = func() (io.Reader, bool) { return strings.NewReader(answer), answer != "" }
}

func TestCLIPositionsShowTable(t *testing.T) {
	st := savedState()
	path := positionFile(t, &st)
	code, out, errOut := runCLI(t, "positions", "show", "--file", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `File:        ` + path + `
Saved at:    2024-05-01T09:59:59Z
Source:      server_id 1, uuid 4xtVvFKpTsdGSCBWbrS3c2inPAw=
Flavor:      mariadb
Binlog:      binlog.000003:1234
GTID set:    0-1-100,1-2-7
Event time:  2024-05-01T09:59:58Z
Snapshot:    unfinished: 1 of 3 tables done; it meets the stream at binlog.000002:345 (gtid 0-1-90)
  TABLE             STATUS       ROWS  ESTIMATE  LAST KEY
  shop.orders       done         1000  ~990      (1000)
  shop.order_items  in progress  82    ~4000     (41, 2)
  shop.users        pending      0     ~12       -
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	// A GTID-only position without snapshot or event time.
	st = position.State{Position: position.Position{Flavor: "mysql", GTIDSet: testUUID + ":1-5"}}
	path = positionFile(t, &st)
	_, out, _ = runCLI(t, "positions", "show", "--file", path)
	for _, line := range []string{"Binlog:      -\n", "GTID set:    " + testUUID + ":1-5\n", "Event time:  -\n",
		"Source:      server_id 0, uuid -\n", "Snapshot:    none unfinished\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}

	// An unfinished snapshot before the stream started.
	st = position.State{Snapshot: &position.Snapshot{Start: position.Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4},
		Tables: []position.TableProgress{{Schema: "shop", Table: "orders", LastKey: []string{"7"}, Rows: 7, TotalEstimate: 100}}}}
	path = positionFile(t, &st)
	_, out, _ = runCLI(t, "positions", "show", "--file", path)
	for _, line := range []string{"Binlog:      - (not started: the stream starts where the snapshot meets it)\n",
		"Snapshot:    unfinished: 0 of 1 tables done; it meets the stream at binlog.000001:4\n",
		"  shop.orders  in progress  7     ~100      (7)\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	withTerminal(t, "")
	_, out, _ = runCLI(t, "positions", "set", "--file", path, "--binlog", "binlog.000002:4")
	if !strings.Contains(out, "Current:       none yet, an initial snapshot is unfinished (saved ") {
		t.Errorf("set over a snapshot-only state:\n%s", out)
	}

	path = positionFile(t, nil)
	code, out, _ = runCLI(t, "positions", "show", "--file", path)
	if code != 0 || out != "No saved position in "+path+": the next start begins as configured (the snapshot mode decides).\n" {
		t.Errorf("missing file: exit %d, %q", code, out)
	}
}

func TestCLIPositionsShowJSON(t *testing.T) {
	st := savedState()
	path := positionFile(t, &st)
	code, out, errOut := runCLI(t, "positions", "show", "--file", path, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	field := func(path ...any) any {
		var v any = got
		for _, k := range path {
			switch k := k.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"path"}, path},
		{[]any{"exists"}, true},
		{[]any{"version"}, 1.0},
		{[]any{"position", "flavor"}, "mariadb"},
		{[]any{"position", "file"}, "binlog.000003"},
		{[]any{"position", "pos"}, 1234.0},
		{[]any{"position", "gtid_set"}, "0-1-100,1-2-7"},
		{[]any{"position", "timestamp"}, 1714557598.0},
		{[]any{"position_time"}, "2024-05-01T09:59:58Z"},
		{[]any{"snapshot", "start", "file"}, "binlog.000002"},
		{[]any{"snapshot", "start", "pos"}, 345.0},
		{[]any{"snapshot", "start", "gtid_set"}, "0-1-90"},
		{[]any{"snapshot", "tables", 0, "schema"}, "shop"},
		{[]any{"snapshot", "tables", 0, "table"}, "orders"},
		{[]any{"snapshot", "tables", 0, "done"}, true},
		{[]any{"snapshot", "tables", 1, "table"}, "order_items"},
		{[]any{"snapshot", "tables", 1, "done"}, false},
		{[]any{"snapshot", "tables", 1, "last_key"}, []any{"41", "2"}},
		{[]any{"snapshot", "tables", 1, "rows"}, 82.0},
		{[]any{"snapshot", "tables", 1, "total_estimate"}, 4000.0},
		{[]any{"snapshot", "tables", 2, "last_key"}, nil},
		{[]any{"server_id"}, 1.0},
		{[]any{"server_uuid"}, "4xtVvFKpTsdGSCBWbrS3c2inPAw="},
		{[]any{"saved_at"}, "2024-05-01T09:59:59.123Z"},
	}
	for _, c := range checks {
		if v := field(c.path...); !reflect.DeepEqual(v, c.want) {
			t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
		}
	}
	if n := len(got); n != 9 {
		t.Errorf("%d top-level keys, want 9:\n%s", n, out)
	}

	path = positionFile(t, nil)
	_, out, _ = runCLI(t, "positions", "show", "--file", path, "--output=json")
	if want := fmt.Sprintf("{\n  \"path\": %q,\n  \"exists\": false\n}\n", path); out != want {
		t.Errorf("missing file: %q, want %q", out, want)
	}
}

func TestCLIPositionsErrors(t *testing.T) {
	st := savedState()
	damaged := positionFile(t, &st)
	data, _ := os.ReadFile(damaged)
	os.WriteFile(damaged, []byte(strings.Replace(string(data), `"pos": 1234`, `"pos": 1235`, 1)), 0o644)
	good := positionFile(t, &st)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"damaged", []string{"show", "--file", damaged}, exitRuntime, "sluice: position file " + damaged + ": damaged: checksum mismatch"},
		{"no file flag", []string{"show"}, exitConfig, `sluice: required flag(s) "file" not set`},
		{"bad output", []string{"show", "--file", good, "-o", "yaml"}, exitConfig, "sluice positions show: -o \"yaml\": not one of table, json\nRun 'sluice positions show --help' for usage."},
		{"unknown subcommand", []string{"list"}, exitConfig, `unknown command "list" for "sluice positions"`},
		{"set nothing", []string{"set", "--file", good}, exitConfig, "sluice positions set: give exactly one of --binlog, --gtid or --timestamp"},
		{"set two", []string{"set", "--file", good, "--binlog", "binlog.000001:4", "--gtid", "0-1-1"}, exitConfig, "give exactly one of --binlog, --gtid or --timestamp"},
		{"set fake rotate", []string{"set", "--file", good, "--binlog", "binlog.000004:0"}, exitConfig,
			`sluice positions set: --binlog: position "binlog.000004:0": offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4`},
		{"set gtid as binlog", []string{"set", "--file", good, "--binlog", "gtid:0-1-1"}, exitConfig, `--binlog="gtid:0-1-1": want FILE:POS; a GTID set goes in --gtid`},
		{"set bad gtid", []string{"set", "--file", good, "--gtid", "0-1"}, exitConfig,
			`--gtid: position "gtid:0-1": "0-1" is neither a MariaDB GTID (DOMAIN-SERVER-SEQ) nor a MySQL one (UUID:INTERVAL)`},
		{"set gtid of other flavor", []string{"set", "--file", good, "--gtid", "0-1-5", "--flavor", "mysql"}, exitConfig,
			`--gtid: position "mysql-gtid:0-1-5": "0-1-5" is not a MySQL GTID (UUID:INTERVAL[:INTERVAL…])`},
		{"set prefixed gtid of other flavor", []string{"set", "--file", good, "--gtid", "gtid:0-1-5", "--flavor", "mysql"}, exitConfig,
			`--gtid="gtid:0-1-5" is a mariadb GTID set, but --flavor=mysql`},
		{"set bad flavor", []string{"set", "--file", good, "--gtid", "0-1-5", "--flavor", "percona"}, exitConfig, `--flavor="percona": not one of mariadb, mysql`},
		{"set timestamp without source", []string{"set", "--file", good, "--timestamp", "2024-05-01T10:00:00Z"}, exitConfig,
			"--timestamp needs --source mysql://USER:PASSWORD@HOST:PORT to look the time up in"},
		{"set bad timestamp", []string{"set", "--file", good, "--timestamp", "2024-05-01 10:00", "--source", "mysql://u@h"}, exitConfig,
			`--timestamp="2024-05-01 10:00": not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)`},
		{"set bad source", []string{"set", "--file", good, "--timestamp", "2024-05-01T10:00:00Z", "--source", "postgres://u:secret@h"}, exitConfig,
			`--source="postgres://u:xxxxx@h": want mysql://USER[:PASSWORD]@HOST[:PORT]`},
		{"set source with database", []string{"set", "--file", good, "--binlog", "binlog.000001:4", "--source", "mysql://u@h:3306/shop"}, exitConfig,
			`--source="mysql://u@h:3306/shop": want mysql://USER[:PASSWORD]@HOST[:PORT], without a database or options`},
		{"set source without user", []string{"set", "--file", good, "--binlog", "binlog.000001:4", "--source", "mysql://h:3306"}, exitConfig,
			`--source="mysql://h:3306": no user: want mysql://USER[:PASSWORD]@HOST[:PORT]`},
		{"set source bad port", []string{"set", "--file", good, "--binlog", "binlog.000001:4", "--source", "mysql://u@h:0"}, exitConfig,
			`--source="mysql://u@h:0": port "0": want mysql://USER[:PASSWORD]@HOST[:PORT]`},
		{"set into a missing directory", []string{"set", "--file", "/nonexistent/dir/pos.json", "--binlog", "binlog.000001:4", "--yes"}, exitRuntime,
			"sluice: lock position file: open /nonexistent/dir/pos.json.lock: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withTerminal(t, "")
			code, stdout, stderr := runCLI(t, append([]string{"positions"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and\n%s", code, stderr, tc.code, tc.want)
			}
			if tc.code == exitConfig && stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if after, _ := loadState(t, good); !reflect.DeepEqual(after, withVersion(st)) {
		t.Errorf("a failed command changed the file: %+v", after)
	}
}

func withVersion(st position.State) position.State {
	st.Version = position.Version
	return st
}

func TestCLIPositionsSet(t *testing.T) {
	st := savedState()
	path := positionFile(t, &st)

	// No terminal and no --yes: refused, nothing changed.
	withTerminal(t, "")
	code, out, errOut := runCLI(t, "positions", "set", "--file", path, "--gtid", "0-1-150")
	if code != exitConfig || !strings.Contains(errOut, "sluice positions set: stdin is not a terminal; pass --yes to confirm (nothing was changed)") {
		t.Errorf("without a terminal: exit %d, stderr %s", code, errOut)
	}
	if after, _ := loadState(t, path); !reflect.DeepEqual(after, withVersion(st)) {
		t.Errorf("refused set changed the file: %+v", after)
	}
	if !strings.Contains(out, "The unfinished snapshot is dropped: 2 of 3 tables were not done, and they will not be snapshotted.") {
		t.Errorf("the plan does not mention the snapshot:\n%s", out)
	}

	// A terminal answering no: aborted, exit 1.
	withTerminal(t, "n\n")
	code, _, errOut = runCLI(t, "positions", "set", "--file", path, "--gtid", "0-1-150")
	if code != exitRuntime || !strings.Contains(errOut, "sluice: aborted; nothing was changed") || !strings.Contains(errOut, "Write the new position to "+path+"? [y/N] ") {
		t.Errorf("answer n: exit %d, stderr %s", code, errOut)
	}
	if after, _ := loadState(t, path); !reflect.DeepEqual(after, withVersion(st)) {
		t.Errorf("aborted set changed the file: %+v", after)
	}

	// Yes: the GTID position replaces the state, the snapshot is dropped,
	// the source identity kept.
	withTerminal(t, "yes\n")
	code, out, errOut = runCLI(t, "positions", "set", "--file", path, "--gtid", "1-2-9, 0-1-150")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	wantOut := "Position file: " + path + "\n" +
		"Current:       binlog.000003:1234 (gtid 0-1-100,1-2-7) (saved 2024-05-01T09:59:59Z)\n" +
		"New position:  mariadb-gtid:0-1-150,1-2-9\n" +
		"The unfinished snapshot is dropped: 2 of 3 tables were not done, and they will not be snapshotted.\n" +
		"Saved. The ingester resumes at mariadb-gtid:0-1-150,1-2-9 on its next start.\n"
	if out != wantOut {
		t.Errorf("output\n%s\nwant\n%s", out, wantOut)
	}
	after, _ := loadState(t, path)
	want := position.State{Version: 1, Position: position.Position{Flavor: "mariadb", GTIDSet: "0-1-150,1-2-9"},
		ServerID: 1, ServerUUID: "4xtVvFKpTsdGSCBWbrS3c2inPAw=", SavedAt: after.SavedAt}
	if !reflect.DeepEqual(after, want) || time.Since(after.SavedAt) > time.Minute {
		t.Errorf("saved %+v\nwant %+v", after, want)
	}

	// --binlog with --yes keeps the previous flavor.
	code, out, errOut = runCLI(t, "positions", "set", "--file", path, "--binlog", "binlog.000042:4", "-y")
	if code != 0 || strings.Contains(out, "snapshot") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	if after, _ := loadState(t, path); after.Position != (position.Position{Flavor: "mariadb", File: "binlog.000042", Pos: 4}) {
		t.Errorf("saved %+v", after.Position)
	}

	// A MySQL set into a new file, flavor detected.
	fresh := positionFile(t, nil)
	code, out, _ = runCLI(t, "positions", "set", "--file", fresh, "--gtid", testUUID+":1-10", "--yes")
	if code != 0 || !strings.Contains(out, "Current:       none saved\n") {
		t.Errorf("new file: exit %d\n%s", code, out)
	}
	if after, _ := loadState(t, fresh); after.Position != (position.Position{Flavor: "mysql", GTIDSet: testUUID + ":1-10"}) || after.ServerID != 0 {
		t.Errorf("saved %+v", after)
	}
}

func TestCLIPositionsSetReplacesDamaged(t *testing.T) {
	path := positionFile(t, nil)
	os.WriteFile(path, []byte(`{"version": 1, "crc32c": "000`), 0o644)
	code, out, errOut := runCLI(t, "positions", "set", "--file", path, "--binlog", "binlog.000007:4", "--yes")
	if code != 0 || !strings.Contains(out, "Current:       unreadable, replaced by this command (position file "+path+": damaged: truncated or not JSON") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	if after, ok := loadState(t, path); !ok || after.Position.File != "binlog.000007" {
		t.Errorf("saved %+v", after)
	}
}

func TestCLIPositionsLocked(t *testing.T) {
	st := savedState()
	path := positionFile(t, &st)
	lock, err := position.NewFileStore(path).Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	for _, args := range [][]string{
		{"set", "--file", path, "--binlog", "binlog.000001:4", "--yes"},
		{"reset", "--file", path, "--yes"},
	} {
		code, _, errOut := runCLI(t, append([]string{"positions"}, args...)...)
		want := fmt.Sprintf("sluice: position file %s is in use by another process (pid %d; a running ingester?)", path, os.Getpid())
		if code != exitRuntime || !strings.Contains(errOut, want) {
			t.Errorf("%s while locked: exit %d, stderr %s", args[0], code, errOut)
		}
	}
	if after, _ := loadState(t, path); !reflect.DeepEqual(after, withVersion(st)) {
		t.Errorf("the file changed under the lock")
	}
}

func TestCLIPositionsReset(t *testing.T) {
	st := savedState()
	path := positionFile(t, &st)
	withTerminal(t, "")
	code, _, errOut := runCLI(t, "positions", "reset", "--file", path)
	if code != exitConfig || !strings.Contains(errOut, "sluice positions reset: stdin is not a terminal; pass --yes") {
		t.Errorf("without a terminal: exit %d, %s", code, errOut)
	}
	if _, ok := loadState(t, path); !ok {
		t.Fatal("refused reset removed the file")
	}
	withTerminal(t, "y\n")
	code, out, errOut := runCLI(t, "positions", "reset", "--file", path)
	want := "Position file: " + path + "\n" +
		"Current:       binlog.000003:1234 (gtid 0-1-100,1-2-7) (saved 2024-05-01T09:59:59Z)\n" +
		"The unfinished snapshot progress (2 of 3 tables not done) is removed too.\n" +
		"Removed. The next start begins as configured (the snapshot mode decides).\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %s, output\n%s\nwant\n%s", code, errOut, out, want)
	}
	if _, ok := loadState(t, path); ok {
		t.Error("the state is still there")
	}
	code, out, _ = runCLI(t, "positions", "reset", "--file", path, "--yes")
	if code != 0 || out != "No saved position in "+path+"; nothing to reset.\n" {
		t.Errorf("second reset: exit %d, %q", code, out)
	}
	// A damaged file can be reset.
	os.WriteFile(path, []byte("garbage"), 0o644)
	code, out, errOut = runCLI(t, "positions", "reset", "--file", path, "--yes")
	if code != 0 || !strings.Contains(out, "Current:       unreadable") {
		t.Errorf("damaged: exit %d, %s\n%s", code, errOut, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the damaged file is still there: %v", err)
	}
}

// TestCLIPositionsSetTimestamp resolves --timestamp against a private
// MariaDB and records the source's identity; --binlog with --source checks
// the position is still there.
func TestCLIPositionsSetTimestamp(t *testing.T) {
	s := mysqltest.Start(t, nil)
	ctx := context.Background()
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	// Two transactions a second apart, a binlog rotation between them; the
	// session clock is frozen at the current second for each.
	var seconds [2]int64
	for i := range seconds {
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second + 10*time.Millisecond).Sub(now))
		exec("SET TIMESTAMP = DEFAULT") // else UNIX_TIMESTAMP() is the frozen time
		exec("SET TIMESTAMP = UNIX_TIMESTAMP()")
		if err := conn.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&seconds[i]); err != nil {
			t.Fatal(err)
		}
		exec(fmt.Sprintf("INSERT INTO shop.orders VALUES (%d)", i))
		if i == 0 {
			exec("FLUSH BINARY LOGS")
		}
	}
	exec("SET TIMESTAMP = DEFAULT")
	if seconds[1] <= seconds[0] {
		t.Fatalf("the transactions carry seconds %v, want them increasing", seconds)
	}
	// The second transaction's GTID event is the first event after the
	// new file's header events.
	var file, gtidBefore string
	var pos uint32
	rows, err := s.DB.Query("SHOW BINLOG EVENTS IN 'binlog.000002'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, typ, info string
		var p, sid, end uint32
		rows.Scan(&name, &p, &typ, &sid, &end, &info)
		if typ == "Gtid" && file == "" {
			file, pos = name, p
		}
		if typ == "Gtid_list" {
			gtidBefore = strings.Trim(info, "[]")
		}
	}
	rows.Close()

	st := savedState()
	path := positionFile(t, &st)
	src := fmt.Sprintf("mysql://root@%s", s.Addr())
	ts := time.Unix(seconds[1], 0).Add(-300 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	code, out, errOut := runCLI(t, "positions", "set", "--file", path, "--timestamp", ts, "--source", src, "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	after, _ := loadState(t, path)
	wantPos := position.Position{Flavor: "mariadb", File: file, Pos: pos, GTIDSet: gtidBefore}
	got := after.Position
	got.Timestamp = 0
	if got != wantPos || after.Position.Timestamp == 0 || int64(after.Position.Timestamp) >= seconds[1] {
		t.Errorf("saved position %+v, want %+v with the time of the event before it", after.Position, wantPos)
	}
	if after.ServerID != s.ServerID || after.ServerUUID != s.QueryString("SELECT @@server_uid") || after.Snapshot != nil {
		t.Errorf("saved state %+v, want server_id %d and @@server_uid, no snapshot", after, s.ServerID)
	}
	if !strings.Contains(out, "New position:  "+wantPos.String()) || !strings.Contains(out, "The unfinished snapshot is dropped") {
		t.Errorf("output:\n%s", out)
	}

	// show -o json reports it.
	_, out, _ = runCLI(t, "positions", "show", "--file", path, "-o", "json")
	var shown struct {
		Position position.Position `json:"position"`
		ServerID uint32            `json:"server_id"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Position != after.Position || shown.ServerID != s.ServerID {
		t.Errorf("show -o json: %+v, %v\n%s", shown, err, out)
	}

	// Purge the first file: setting a position in it is refused, loudly.
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.Exec("PURGE BINARY LOGS TO 'binlog.000002'")
		var first string
		if err := s.DB.QueryRow("SHOW BINARY LOGS").Scan(&first, new(int64)); err != nil {
			t.Fatal(err)
		}
		if first == "binlog.000002" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("binlog.000001 was not purged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, errOut = runCLI(t, "positions", "set", "--file", path, "--binlog", "binlog.000001:4", "--source", src, "--yes")
	want := "sluice: source " + s.Addr() + ": binlog position binlog.000001:4 is no longer on the source (purged): the oldest available is binlog.000002:4 (gtid " + gtidBefore + ")"
	if code != exitRuntime || !strings.Contains(errOut, want) {
		t.Errorf("purged: exit %d, stderr %s\nwant %s", code, errOut, want)
	}
	code, _, errOut = runCLI(t, "positions", "set", "--file", path, "--binlog", "binlog.000002:4", "--source", src, "--yes")
	if code != 0 {
		t.Errorf("available: exit %d, %s", code, errOut)
	}
	if after, _ := loadState(t, path); after.Position != (position.Position{Flavor: "mariadb", File: "binlog.000002", Pos: 4}) {
		t.Errorf("saved %+v", after.Position)
	}
	// The timestamp lookup refuses the future.
	code, _, errOut = runCLI(t, "positions", "set", "--file", path, "--timestamp", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--source", src, "--yes")
	if code != exitRuntime || !strings.Contains(errOut, "is in the future: the source's clock reads") {
		t.Errorf("future: exit %d, %s", code, errOut)
	}
}

func TestCLIPositionsSourceURL(t *testing.T) {
	t.Setenv("MYSQL_PWD", "from-env")
	tests := []struct {
		in   string
		want position.Source
	}{
		{"mysql://canal:s%40cret@db1:3307", position.Source{Host: "db1", Port: 3307, User: "canal", Password: "s@cret"}},
		{"mysql://canal@db1", position.Source{Host: "db1", User: "canal", Password: "from-env"}},
		{"mysql://canal:@db1/", position.Source{Host: "db1", User: "canal", Password: ""}},
		{"mysql://root@[::1]:3306", position.Source{Host: "::1", Port: 3306, User: "root", Password: "from-env"}},
	}
	for _, tc := range tests {
		got, err := parseSourceURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSourceURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"db1:3306", "mysql://db1", "mysql://u@:3306", "mysql://u@db1:x", "mysql://u@db1:70000", "mysql://u@db1?tls=true", "mysql:u@db1"} {
		if got, err := parseSourceURL(bad); err == nil {
			t.Errorf("parseSourceURL(%q) = %+v, want an error", bad, got)
		}
	}
	if got := redactURL("mysql://canal:secret@db1:3306"); got != "mysql://canal:xxxxx@db1:3306" {
		t.Errorf("redactURL = %q", got)
	}
}
