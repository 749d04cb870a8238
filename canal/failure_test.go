package canal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/internal/testutil"
)

// runToError runs an ingester that must stop by itself, and returns why.
func runToError(t *testing.T, e *canalEnv, cfg Config) error {
	t.Helper()
	in, err := New(cfg, e.prod)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = in.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("the ingester did not stop by itself within 60s")
	}
	return err
}

// TestCanalServerIDClash: another replica connected with our server_id is
// reported, instead of the two kicking each other off forever.
func TestCanalServerIDClash(t *testing.T) {
	e := newCanalEnv(t, nil)
	cfg := e.config(t)
	other := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{ServerID: cfg.Source.ServerID, Flavor: "mariadb",
		Host: e.db.Host, Port: uint16(e.db.Port), User: "root", Localhost: "other-replica", Logger: testutil.Logger(t)})
	defer other.Close()
	cur := masterStatus(t, e)
	if _, err := other.StartSync(gomysql.Position{Name: cur.File, Pos: cur.Pos}); err != nil {
		t.Fatal(err)
	}
	err := runToError(t, e, cfg)
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Setting != "server_id" || !strings.Contains(err.Error(), "reporting host other-replica") ||
		!strings.Contains(err.Error(), "unique") {
		t.Fatalf("server_id clash: %v", err)
	}
}

// TestCanalPurgedBinlog: a saved position whose binlog was purged while the
// ingester was down is a loud error naming both positions; with
// snapshot_mode when_needed it takes a new snapshot instead.
func TestCanalPurgedBinlog(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	cfg := e.config(t)
	r := e.startStreaming(t, cfg)
	e.db.Exec("INSERT INTO shop.t VALUES (1, 1)")
	e.waitSaved(t, r)
	if err := r.close(t); err != nil {
		t.Fatal(err)
	}
	saved, _ := savedState(t, e.dir)
	e.db.Exec("INSERT INTO shop.t VALUES (2, 2)")
	e.db.Exec("FLUSH BINARY LOGS")
	e.db.Exec("INSERT INTO shop.t VALUES (3, 3)")
	e.db.Exec("FLUSH BINARY LOGS")
	cur := masterStatus(t, e)
	testutil.Eventually(t, 30*time.Second, func() bool {
		e.db.Exec("PURGE BINARY LOGS TO '" + cur.File + "'")
		oldest, err := position.Oldest(context.Background(), e.db.DB)
		return err == nil && oldest.File == cur.File
	}, "the server never purged its old binlogs")

	err := runToError(t, e, cfg)
	if !errors.Is(err, ErrPurged) || !strings.Contains(err.Error(), saved.Position.File) || !strings.Contains(err.Error(), cur.File) ||
		!strings.Contains(err.Error(), "when_needed") {
		t.Fatalf("purged binlog: %v", err)
	}

	cfg.SnapshotMode = SnapshotWhenNeeded
	r2 := e.startStreaming(t, cfg)
	e.db.Exec("INSERT INTO shop.t VALUES (4, 4)")
	e.waitSaved(t, r2)
	if n := r2.in.Stats().SnapshotRows; n != 3 {
		t.Fatalf("re-snapshot published %d rows, want 3", n)
	}
	e.assertRebuilds(t, "t")
}

// TestCanalOversizedRowFailsLoudly: a row whose event exceeds the message
// size limit stops the ingester with an error naming it, never dropped.
func TestCanalOversizedRowFailsLoudly(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.blobs (id INT PRIMARY KEY, b LONGBLOB)")
	cfg := e.config(t)
	cfg.Publish.MaxMessageBytes = 64 << 10
	r := e.startStreaming(t, cfg)
	e.db.Exec("INSERT INTO shop.blobs VALUES (1, REPEAT('x', 100000))")
	testutil.Eventually(t, 30*time.Second, func() bool { done, _ := r.exited(); return done },
		"the ingester kept running after an oversized row")
	_, err := r.exited()
	if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "shop.blobs") {
		t.Fatalf("oversized row: %v", err)
	}
	if n := r.in.Stats().Events; n != 0 {
		t.Fatalf("%d events published", n)
	}
}

// TestCanalSourceRestart: the source restarts under the ingester, which
// reconnects with back-off and loses nothing.
func TestCanalSourceRestart(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	r := e.startStreaming(t, e.config(t))
	e.db.Exec("INSERT INTO shop.t VALUES (1, 1), (2, 2)")
	e.waitSaved(t, r)
	e.db.Restart(nil)
	e.db.Exec("INSERT INTO shop.t VALUES (3, 3)")
	e.db.Exec("UPDATE shop.t SET v = 20 WHERE id = 2")
	e.waitSaved(t, r)
	e.assertRebuilds(t, "t")
}

// TestCanalUncapturedWritesAdvancePosition: a captured table that stays
// idle while other tables are busy still gets a fresh saved position, so
// a restart never asks for a binlog that was purged meanwhile.
func TestCanalUncapturedWritesAdvancePosition(t *testing.T) {
	e := newCanalEnv(t, nil)
	e.db.Exec("CREATE DATABASE shop; CREATE DATABASE other")
	e.db.Exec("CREATE TABLE shop.quiet (id INT PRIMARY KEY); CREATE TABLE other.busy (id INT PRIMARY KEY)")
	r := e.startStreaming(t, e.config(t))
	before := r.in.Stats().Committed
	for i := range 20 {
		e.db.Exec("INSERT INTO other.busy VALUES (?)", i)
	}
	e.db.Exec("FLUSH BINARY LOGS")
	e.db.Exec("INSERT INTO other.busy VALUES (100)")
	e.waitSaved(t, r)
	after := r.in.Stats().Committed
	if after.Compare(before) <= 0 || after.File == before.File || r.in.Stats().Events != 0 {
		t.Fatalf("saved position %s → %s with %d events", before, after, r.in.Stats().Events)
	}
}

// TestCanalXATransactions: an XA transaction is published at its XA
// COMMIT (the prepare and the commit are separate binlog groups), a rolled
// back one never, and the saved position moves past both.
func TestCanalXATransactions(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	r := e.startStreaming(t, e.config(t))
	conn, err := e.db.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"XA START 'x1'", "INSERT INTO shop.t VALUES (1, 1)", "XA END 'x1'", "XA PREPARE 'x1'",
		"other: INSERT INTO shop.t VALUES (2, 2)", // between the prepare and the commit
		"XA COMMIT 'x1'",
		"XA START 'x2'", "INSERT INTO shop.t VALUES (3, 3)", "XA END 'x2'", "XA PREPARE 'x2'", "XA ROLLBACK 'x2'",
		"XA START 'x3'", "UPDATE shop.t SET v = 10 WHERE id = 1", "XA END 'x3'", "XA COMMIT 'x3' ONE PHASE",
	} {
		if other, ok := strings.CutPrefix(q, "other: "); ok {
			e.db.Exec(other)
			continue
		}
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	events := eventsOf(t, e, r, "shop_t")
	e.assertRebuilds(t, "t")
	for _, m := range events {
		if id, _ := cell(m, "id"); id.S == "3" {
			t.Fatalf("a rolled-back XA transaction was published: %+v", m)
		}
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 2 inserts and 1 update", len(events))
	}
}
