package canal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/mysqltest"
	"github.com/sluicehq/sluice/internal/testutil"
)

// canalEnv is a private MariaDB, a NameServer and broker, and a producer.
type canalEnv struct {
	db      *mysqltest.Server
	cluster *testutil.Cluster
	prod    *client.Producer
	dir     string
}

func newCanalEnv(t *testing.T, opts *mysqltest.Options) *canalEnv {
	t.Helper()
	db := mysqltest.Start(t, opts)
	c := testutil.StartCluster(t, nil)
	return &canalEnv{db: db, cluster: c, prod: testProducer(t, c.NameServer.Addr), dir: t.TempDir()}
}

// newShop is newCanalEnv with an empty database shop.
func newShop(t *testing.T, opts *mysqltest.Options) *canalEnv {
	t.Helper()
	e := newCanalEnv(t, opts)
	e.db.Exec("CREATE DATABASE shop")
	return e
}

// assertRebuilds checks that replaying topic shop_<table> gives exactly
// shop.<table>.
func (e *canalEnv) assertRebuilds(t *testing.T, table string) {
	t.Helper()
	topic := "shop_" + table
	got, _ := rebuilt(t, e, topic, settledCount(t, e, topic))
	sameTable(t, got, sourceRows(t, e, "shop", table))
}

func (e *canalEnv) config(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Source.Host, cfg.Source.Port = e.db.Host, e.db.Port
	cfg.Source.ServerID = e.db.ServerID + 1000
	cfg.Source.HeartbeatPeriod, cfg.Source.ReadTimeout = time.Second, 5*time.Second
	cfg.DataDir = e.dir
	cfg.Filter.Include = []string{`shop\..*`}
	cfg.Publish.Queues = 4
	cfg.SaveInterval = 20 * time.Millisecond
	cfg.RetryBackoff, cfg.MaxRetryBackoff = 100*time.Millisecond, time.Second
	cfg.Logger = testutil.Logger(t)
	return cfg
}

// running is an ingester running in the background.
type running struct {
	in     *Ingester
	stop   context.CancelFunc
	done   chan struct{}
	err    error
	closed bool
}

func (e *canalEnv) start(t *testing.T, cfg Config) *running {
	t.Helper()
	in, err := New(cfg, e.prod)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{in: in, stop: cancel, done: make(chan struct{})}
	go func() {
		r.err = in.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.close(t) })
	return r
}

// exited returns Run's error once it returned on its own.
func (r *running) exited() (bool, error) {
	select {
	case <-r.done:
		return true, r.err
	default:
		return false, nil
	}
}

// close stops the ingester gracefully and returns Run's error.
func (r *running) close(t *testing.T) error {
	r.stop()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatal("ingester did not stop within 60s")
	}
	if !r.closed {
		r.closed = true
		r.in.Close()
	}
	return r.err
}

// waitSaved waits until the saved position covers the source's current
// binlog position: everything written before is published and acked.
func (e *canalEnv) waitSaved(t *testing.T, r *running) {
	t.Helper()
	var file string
	var pos uint32
	rows, err := e.db.DB.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	for i := range vals {
		vals[i] = new(sql.NullString)
	}
	for rows.Next() {
		rows.Scan(vals...)
		file = vals[0].(*sql.NullString).String
		fmt.Sscan(vals[1].(*sql.NullString).String, &pos)
	}
	rows.Close()
	if file == "" || pos < 4 {
		t.Fatalf("SHOW MASTER STATUS gave %q:%d", file, pos)
	}
	testutil.Eventually(t, 60*time.Second, func() bool {
		if done, err := r.exited(); done {
			t.Fatalf("the ingester stopped: %v", err)
		}
		c := r.in.Stats().Committed
		return c.File > file || c.File == file && c.Pos >= pos
	}, "the ingester never saved a position at or after %s:%d (saved %+v)", file, pos, r.in.Stats().Committed)
}

// rebuilt replays the events of topic the way a sink does (per key, only
// newer positions apply) and returns the rows by primary key, plus every
// event read.
func rebuilt(t *testing.T, e *canalEnv, topic string, wantEvents int) (map[string][]Cell, []*FlatMessage) {
	t.Helper()
	type held struct {
		at  [3]int64
		row []Cell
	}
	state := map[string]*held{}
	var all []*FlatMessage
	for _, bodies := range readTopic(t, e.cluster.NameServer.Addr, topic, wantEvents) {
		for _, b := range bodies {
			m, err := DecodeFlat([]byte(b))
			if err != nil {
				t.Fatalf("event %s: %v", b, err)
			}
			all = append(all, m)
			if m.IsDDL {
				continue
			}
			var key []string
			for _, pk := range m.PKNames {
				for _, c := range m.Data {
					if c.Name == pk {
						key = append(key, c.S)
					}
				}
			}
			k := strings.Join(key, "\x00")
			at := [3]int64{fileSeq(t, m.File), int64(m.Pos), int64(m.Row)}
			if h := state[k]; h != nil && compare3(at, h.at) <= 0 {
				continue // older than what is held: a replay
			}
			switch m.Type {
			case TypeDelete:
				state[k] = &held{at: at}
			default:
				state[k] = &held{at: at, row: m.Data}
			}
		}
	}
	out := map[string][]Cell{}
	for k, h := range state {
		if h.row != nil {
			out[k] = h.row
		}
	}
	return out, all
}

func fileSeq(t *testing.T, f string) int64 {
	var n int64
	if _, err := fmt.Sscan(f[strings.LastIndexByte(f, '.')+1:], &n); err != nil {
		t.Fatalf("binlog file name %q", f)
	}
	return n
}

func compare3(a, b [3]int64) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// sourceRows renders SELECT * of a table the way snapshot events do.
func sourceRows(t *testing.T, e *canalEnv, db, table string) map[string][]Cell {
	t.Helper()
	tab, err := schema.Load(context.Background(), e.db.DB, db, table)
	if err != nil {
		t.Fatal(err)
	}
	exprs := make([]string, len(tab.Columns))
	for i := range tab.Columns {
		exprs[i] = values.SelectExpr(&tab.Columns[i])
	}
	conn, err := e.db.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.ExecContext(context.Background(), "SET time_zone = '+00:00'")
	rows, err := conn.QueryContext(context.Background(), "SELECT "+strings.Join(exprs, ", ")+" FROM "+quoteName(db)+"."+quoteName(table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]Cell{}
	raw := make([]sql.RawBytes, len(exprs))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]Cell, len(raw))
		for i := range raw {
			v, err := values.FromSnapshot(&tab.Columns[i], raw[i], raw[i] == nil)
			if err != nil {
				t.Fatal(err)
			}
			row[i] = Cell{Name: tab.Columns[i].Name, S: v.S, Null: v.Null}
		}
		var key []string
		for _, i := range tab.PK {
			key = append(key, row[i].S)
		}
		out[strings.Join(key, "\x00")] = row
	}
	return out
}

func sameTable(t *testing.T, got, want map[string][]Cell) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			t.Fatalf("row %q missing from the events", k)
		}
		if !slices.Equal(g, want[k]) {
			t.Fatalf("row %q differs:\n events %v\n source %v", k, g, want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("row %q is in the events but not in the source", k)
		}
	}
}

const ordersDDL = `CREATE TABLE shop.orders (
  id BIGINT UNSIGNED PRIMARY KEY,
  customer VARCHAR(64) CHARACTER SET utf8mb4,
  amount DECIMAL(12,2),
  status ENUM('new','paid','shipped'),
  tags SET('gift','rush','vip'),
  note TEXT,
  created_at DATETIME(6),
  updated_at TIMESTAMP(3) NULL,
  qty SMALLINT UNSIGNED,
  img BLOB)`

// TestCanalSnapshotThenStream: rows present before the start arrive by
// snapshot, later changes by the binlog — including a primary-key change
// split into DELETE + INSERT, a delete and re-insert in one transaction,
// and a rolled-back transaction — and replaying the topic rebuilds exactly
// the source table.
func TestCanalSnapshotThenStream(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec(ordersDDL)
	for i := 1; i <= 50; i++ {
		e.db.Exec(`INSERT INTO shop.orders VALUES (?, ?, ?, 'new', 'gift,vip', NULL, '2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.5', ?, x'00ff')`,
			i, fmt.Sprintf("客户-%d 👍🏽", i), fmt.Sprintf("%d.25", i), i)
	}
	r := e.start(t, e.config(t))
	testutil.Eventually(t, 60*time.Second, func() bool { st := r.in.Stats(); return st.SnapshotRows == 50 && st.Committed.File != "" },
		"the snapshot never finished (%+v)", r.in.Stats())
	e.db.Exec("INSERT INTO shop.orders (id, customer, amount, status) VALUES (1000, 'late', 1.00, 'paid')")
	e.db.Exec("UPDATE shop.orders SET amount = amount + 1, status = 'shipped' WHERE id <= 10")
	e.db.Exec("UPDATE shop.orders SET id = 2000 WHERE id = 20")
	e.db.Exec("UPDATE shop.orders SET id = 3000 WHERE id = 2000")
	e.db.Exec("BEGIN; DELETE FROM shop.orders WHERE id = 5; INSERT INTO shop.orders (id, customer) VALUES (5, 'again'); COMMIT")
	e.db.Exec("DELETE FROM shop.orders WHERE id BETWEEN 40 AND 45")
	e.db.Exec("BEGIN; INSERT INTO shop.orders (id) VALUES (9999); ROLLBACK")
	e.waitSaved(t, r)

	want := sourceRows(t, e, "shop", "orders")
	// 50 snapshot rows + 1 + 10 + 2×2 + 2 + 6 events.
	got, events := rebuilt(t, e, "shop_orders", 50+1+10+4+2+6)
	sameTable(t, got, want)
	snap, types := 0, map[string]int{}
	for _, m := range events {
		if m.Snapshot {
			snap++
			continue
		}
		types[m.Type]++
		if m.GTID == "" || m.XID == 0 || m.File == "" || m.Pos < 4 {
			t.Fatalf("stream event without its transaction's GTID/XID or position: %+v", m)
		}
	}
	if snap != 50 || types[TypeInsert] != 4 || types[TypeUpdate] != 10 || types[TypeDelete] != 9 {
		t.Fatalf("events: %d snapshot, %v", snap, types)
	}
	if err := r.close(t); err != nil {
		t.Fatal(err)
	}
}

// TestCanalRestartResumes: an ingester stopped and started again continues
// from its saved position: nothing is missing, and the second run does
// not snapshot again.
func TestCanalRestartResumes(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec(ordersDDL)
	cfg := e.config(t)
	r := e.start(t, cfg)
	e.db.Exec("INSERT INTO shop.orders (id, customer) VALUES (1, 'a'), (2, 'b')")
	e.waitSaved(t, r)
	if err := r.close(t); err != nil {
		t.Fatal(err)
	}
	e.db.Exec("INSERT INTO shop.orders (id, customer) VALUES (3, 'c')")
	e.db.Exec("UPDATE shop.orders SET customer = 'bb' WHERE id = 2")
	r2 := e.start(t, cfg)
	e.db.Exec("DELETE FROM shop.orders WHERE id = 1")
	e.waitSaved(t, r2)
	got, events := rebuilt(t, e, "shop_orders", 5)
	sameTable(t, got, sourceRows(t, e, "shop", "orders"))
	if r2.in.Stats().SnapshotRows != 0 {
		t.Fatalf("the restart took a snapshot of %d rows", r2.in.Stats().SnapshotRows)
	}
	if len(events) != 5 {
		t.Fatalf("%d events, want 5 (no duplicates after a clean stop)", len(events))
	}
}

// TestCanalChecksFailClearly: each setting that prevents faithful capture
// stops the ingester with one message naming it.
func TestCanalChecksFailClearly(t *testing.T) {
	e := newCanalEnv(t, &mysqltest.Options{Settings: map[string]string{"binlog_row_image": "MINIMAL"}})
	cfg := e.config(t)
	in, err := New(cfg, e.prod)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = in.Run(ctx)
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Setting != "binlog_row_image" || !strings.Contains(err.Error(), "binlog_row_image is MINIMAL") ||
		!strings.Contains(err.Error(), "SET GLOBAL binlog_row_image=FULL") {
		t.Fatalf("MINIMAL row image: %v", err)
	}
	in.Close()
	e.db.Exec("SET GLOBAL binlog_row_image = FULL")

	cfg.Source.ServerID = e.db.ServerID
	in2, err := New(cfg, e.prod)
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Close()
	if err := in2.Run(ctx); !errors.As(err, &ce) || ce.Setting != "server_id" || !strings.Contains(err.Error(), "the source's own server_id") {
		t.Fatalf("own server_id: %v", err)
	}
}
