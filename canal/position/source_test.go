package position_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/internal/mysqltest"
)

// source is how FindByTimestamp reaches a test server.
func source(s *mysqltest.Server) position.Source {
	return position.Source{Host: s.Host, Port: s.Port, User: "root", Flavor: position.FlavorMariaDB}
}

// txn is one transaction a test wrote: the second it carries, its GTID,
// and the position FindByTimestamp must return for it.
type txn struct {
	ts   time.Time
	gtid string
	want position.Position
}

// history is a server with transactions written across several binlog
// files, at distinct whole seconds.
type history struct {
	s    *mysqltest.Server
	txns []txn
}

// writeHistory writes batches of transactions, one second apart, with
// FLUSH BINARY LOGS between some batches, then finds each transaction's
// GTID event in SHOW BINLOG EVENTS.
//
// One session writes everything with its clock frozen at the current
// second (SET TIMESTAMP = UNIX_TIMESTAMP()), so each batch's events carry
// exactly the recorded second and rotations happen in time order, as on a
// real server.
func writeHistory(t *testing.T) *history {
	t.Helper()
	s := mysqltest.Start(t, nil)
	ctx := context.Background()
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	gtidPos := func() string {
		t.Helper()
		var g string
		if err := conn.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	exec("CREATE DATABASE shop")
	exec("CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(64))")
	h := &history{s: s}
	id := 0
	// batch → transactions in it; a flush after the batches marked.
	batches := []struct {
		txns  int
		flush bool
	}{{2, false}, {1, true}, {2, true}, {1, false}, {3, true}, {1, true}, {1, false}}
	for _, b := range batches {
		waitNextSecond()
		exec("SET TIMESTAMP = DEFAULT") // else UNIX_TIMESTAMP() is the frozen time
		exec("SET TIMESTAMP = UNIX_TIMESTAMP()")
		var sec int64
		if err := conn.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&sec); err != nil {
			t.Fatal(err)
		}
		if n := len(h.txns); n > 0 && sec <= h.txns[n-1].ts.Unix() {
			t.Fatalf("batch at second %d after one at %d: the session clock did not move", sec, h.txns[n-1].ts.Unix())
		}
		for range b.txns {
			before := gtidPos()
			id++
			exec("INSERT INTO shop.orders VALUES (?, 'x')", id)
			h.txns = append(h.txns, txn{ts: time.Unix(sec, 0), gtid: gtidPos(),
				want: position.Position{Flavor: "mariadb", GTIDSet: before}})
		}
		if b.flush {
			exec("FLUSH BINARY LOGS")
		}
	}
	exec("SET TIMESTAMP = DEFAULT")
	// Where each transaction's GTID event is.
	at := map[string]position.Position{}
	for _, f := range binaryLogs(t, s.DB) {
		rows, err := s.DB.Query("SHOW BINLOG EVENTS IN '" + f + "'")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var logName, typ, info string
			var pos, serverID, end uint32
			if err := rows.Scan(&logName, &pos, &typ, &serverID, &end, &info); err != nil {
				t.Fatal(err)
			}
			if typ == "Gtid" {
				g := info[strings.LastIndex(info, " ")+1:]
				at[g] = position.Position{File: logName, Pos: pos}
			}
		}
		rows.Close()
	}
	for i := range h.txns {
		p, ok := at[h.txns[i].gtid]
		if !ok {
			t.Fatalf("GTID %s not in the binlog", h.txns[i].gtid)
		}
		h.txns[i].want.File, h.txns[i].want.Pos = p.File, p.Pos
	}
	return h
}

func waitNextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 10*time.Millisecond).Sub(now))
}

func binaryLogs(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var files []string
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	return files
}

// samePlace compares everything but Timestamp, which FindByTimestamp sets
// to the time of the event before the position.
func samePlace(a, b position.Position) bool {
	a.Timestamp, b.Timestamp = 0, 0
	return a == b
}

func TestSourceFindByTimestamp(t *testing.T) {
	h := writeHistory(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if files := binaryLogs(t, h.s.DB); len(files) < 5 {
		t.Fatalf("the history spans %d binlog files, want at least 5", len(files))
	}
	find := func(ts time.Time) position.Position {
		t.Helper()
		p, err := position.FindByTimestamp(ctx, source(h.s), ts)
		if err != nil {
			t.Fatalf("FindByTimestamp(%s): %v", ts.Format(time.RFC3339Nano), err)
		}
		return p
	}
	for i, tx := range h.txns {
		first := i > 0 && h.txns[i-1].ts.Equal(tx.ts)
		if first {
			continue // a later transaction of the same second
		}
		// At its second, and anywhere in the second before it (a fraction
		// rounds up), the first transaction of a batch is the answer.
		for _, ts := range []time.Time{tx.ts, tx.ts.Add(-500 * time.Millisecond), tx.ts.Add(-time.Nanosecond)} {
			got := find(ts)
			if !samePlace(got, tx.want) {
				t.Errorf("transaction %d (%s): FindByTimestamp(%s) =\n %+v\nwant %+v", i, tx.gtid, ts.Format(time.RFC3339Nano), got, tx.want)
			}
			// The event before it may share its second (a binlog
			// checkpoint, or a slow previous batch), never come later.
			if got.Timestamp == 0 || int64(got.Timestamp) > tx.ts.Unix() {
				t.Errorf("transaction %d: Timestamp %d, want the time of an event before it (≤ %d)", i, got.Timestamp, tx.ts.Unix())
			}
		}
	}
	// Before everything: the first transaction of the oldest binlog (the
	// server's own setup, written at its start).
	got := find(h.txns[0].ts.Add(-time.Hour))
	if got.File != "binlog.000001" || got.GTIDSet != "" || got.Compare(h.txns[0].want) >= 0 {
		t.Errorf("an hour before: %+v, want the first transaction of binlog.000001", got)
	}
	// After the last transaction: the end of the binlog.
	waitNextSecond()
	cur, err := position.Current(ctx, h.s.DB)
	if err != nil {
		t.Fatal(err)
	}
	last := h.txns[len(h.txns)-1]
	if got := find(last.ts.Add(time.Second)); !samePlace(got, cur) || got.GTIDSet != last.gtid {
		t.Errorf("after the last transaction: %+v, want the end %+v (gtid %s)", got, cur, last.gtid)
	}
	// The future is refused.
	_, err = position.FindByTimestamp(ctx, source(h.s), time.Now().Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "is in the future: the source's clock reads ") {
		t.Errorf("an hour ahead: %v", err)
	}
	// A wrong flavor is refused.
	wrong := source(h.s)
	wrong.Flavor = position.FlavorMySQL
	_, err = position.FindByTimestamp(ctx, wrong, h.txns[0].ts)
	if want := fmt.Sprintf("the source at %s is mariadb, not mysql", h.s.Addr()); err == nil || err.Error() != want {
		t.Errorf("wrong flavor: %v, want %s", err, want)
	}
}

// purgeTo purges the binlogs before file. MariaDB keeps a file until its
// binlog checkpoint has moved on (a warning, not an error), so it retries
// for a while.
func purgeTo(t *testing.T, s *mysqltest.Server, file string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.Exec("PURGE BINARY LOGS TO '" + file + "'")
		if binaryLogs(t, s.DB)[0] == file {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PURGE BINARY LOGS TO '%s' left %v", file, binaryLogs(t, s.DB))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSourceCurrentAndOldest(t *testing.T) {
	s := mysqltest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.Exec("CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)")
	s.Exec("INSERT INTO d.t VALUES (1)")

	cur, err := position.Current(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	var wantFile string
	var wantPos uint32
	if err := s.DB.QueryRow("SHOW MASTER STATUS").Scan(&wantFile, &wantPos, new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if cur.Flavor != "mariadb" || cur.File != wantFile || cur.Pos != wantPos || cur.GTIDSet != s.QueryString("SELECT @@gtid_binlog_pos") {
		t.Errorf("Current = %+v; SHOW MASTER STATUS %s:%d, gtid_binlog_pos %s", cur, wantFile, wantPos, s.QueryString("SELECT @@gtid_binlog_pos"))
	}
	if err := cur.Validate(); err != nil {
		t.Error(err)
	}
	// The same on one session (as under a lock or in a snapshot).
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if onConn, err := position.Current(ctx, conn); err != nil || onConn != cur {
		t.Errorf("Current on a *sql.Conn = %+v, %v; want %+v", onConn, err, cur)
	}

	old, err := position.Oldest(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	if want := (position.Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4}); old != want {
		t.Errorf("Oldest = %+v, want %+v", old, want)
	}

	// Rotate twice, purge, and the oldest moves on, with the GTID set
	// executed before it.
	s.Exec("FLUSH BINARY LOGS")
	s.Exec("INSERT INTO d.t VALUES (2)")
	gtidBefore3 := s.QueryString("SELECT @@gtid_binlog_pos")
	s.Exec("FLUSH BINARY LOGS")
	s.Exec("INSERT INTO d.t VALUES (3)")
	purgeTo(t, s, "binlog.000003")
	old, err = position.Oldest(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	if want := (position.Position{Flavor: "mariadb", File: "binlog.000003", Pos: 4, GTIDSet: gtidBefore3}); old != want {
		t.Errorf("after PURGE: Oldest = %+v, want %+v", old, want)
	}

	// CheckAvailable reports the purge loudly, naming both positions.
	wanted := position.Position{Flavor: "mariadb", File: "binlog.000001", Pos: 1234}
	err = position.CheckAvailable(ctx, s.DB, wanted)
	var pe *position.PurgedError
	if !errors.As(err, &pe) || !errors.Is(err, position.ErrPurged) || pe.Oldest != old {
		t.Fatalf("CheckAvailable(purged) = %v", err)
	}
	want := "binlog position binlog.000001:1234 is no longer on the source (purged): the oldest available is binlog.000003:4 (gtid " + gtidBefore3 + ")"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	gtidOnly := position.Position{Flavor: "mariadb", GTIDSet: "0-" + fmt.Sprint(s.ServerID) + "-1"}
	if err := position.CheckAvailable(ctx, s.DB, gtidOnly); !errors.Is(err, position.ErrPurged) {
		t.Errorf("CheckAvailable(purged GTID) = %v", err)
	}
	if err := position.CheckAvailable(ctx, s.DB, cur); !errors.Is(err, position.ErrPurged) {
		t.Errorf("CheckAvailable(the end before the purge) = %v", err)
	}
	cur, err = position.Current(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []position.Position{old, cur, {Flavor: "mariadb", GTIDSet: gtidBefore3}} {
		if err := position.CheckAvailable(ctx, s.DB, p); err != nil {
			t.Errorf("CheckAvailable(%s) = %v", p, err)
		}
	}
	if err := position.CheckAvailable(ctx, s.DB, position.Position{File: "binlog.000009", Pos: 4}); err == nil ||
		err.Error() != "binlog file binlog.000009 is not on the source (it has binlog.000003 … binlog.000003): a position of another server, or its binlogs were reset" {
		t.Errorf("CheckAvailable(unknown file) = %v", err)
	}
	if err := position.CheckAvailable(ctx, s.DB, position.Position{File: "binlog.000003", Pos: 1 << 30}); err == nil ||
		!strings.HasPrefix(err.Error(), "binlog position binlog.000003:1073741824 is beyond the end of binlog.000003 (") {
		t.Errorf("CheckAvailable(beyond the end) = %v", err)
	}

	id, uid, err := position.ServerIdentity(ctx, s.DB)
	if err != nil || id != s.ServerID || uid == "" || uid != s.QueryString("SELECT @@server_uid") {
		t.Errorf("ServerIdentity = %d, %q, %v; want %d and @@server_uid", id, uid, err, s.ServerID)
	}
}
