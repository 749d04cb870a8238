package schema

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/internal/mysqltest"
)

// mariaSteps are applied both to MariaDB and to the history; after each the
// history must equal information_schema.
var mariaSteps = []string{
	// cdc-semantics §7: the orders table and its changes (items 14–17).
	ordersDDL,
	"ALTER TABLE orders ADD COLUMN c INT NOT NULL DEFAULT 7",
	"ALTER TABLE orders ADD COLUMN ref VARCHAR(20) AFTER id",
	"ALTER TABLE orders DROP COLUMN note",
	"ALTER TABLE orders MODIFY c BIGINT NOT NULL DEFAULT 7",
	"ALTER TABLE orders RENAME COLUMN customer TO client",
	"ALTER TABLE orders CONVERT TO CHARACTER SET latin1",
	"TRUNCATE TABLE orders",
	"DROP TABLE orders",
	"CREATE TABLE orders (id INT NOT NULL, region CHAR(2) NOT NULL, total DECIMAL(10,2) DEFAULT 0, PRIMARY KEY (region, id))",
	"CREATE TABLE events (at DATETIME(3), kind VARCHAR(10), payload BLOB)",
	// Column positions, several at once, primary key changes.
	"ALTER TABLE events ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT FIRST, ADD PRIMARY KEY (id)",
	"ALTER TABLE events ADD COLUMN (a INT, b VARCHAR(3) COLLATE utf8mb4_bin), ADD c SET('x','y') DEFAULT 'y,x' AFTER at",
	"ALTER TABLE events CHANGE kind kind2 VARCHAR(30) NOT NULL DEFAULT 'none' FIRST",
	"ALTER TABLE events MODIFY id BIGINT UNSIGNED NOT NULL",
	"ALTER TABLE events DROP PRIMARY KEY, ADD PRIMARY KEY (kind2, id)",
	"ALTER TABLE events DROP COLUMN payload",
	"CREATE TABLE pkdrop (a INT PRIMARY KEY, b INT)",
	"ALTER TABLE pkdrop DROP COLUMN a",
	"ALTER TABLE events ALTER COLUMN a SET DEFAULT 42, ALTER b DROP DEFAULT",
	"ALTER TABLE events ADD INDEX i_at (at), ENGINE=InnoDB, COMMENT='x'",
	// Charsets.
	"CREATE DATABASE other CHARACTER SET latin1",
	"CREATE TABLE other.t (a VARCHAR(10), b TEXT, c ENUM('e','x') DEFAULT 'X', d JSON, e CHAR(3) CHARACTER SET utf8mb4)",
	"ALTER TABLE other.t ADD f TINYTEXT, DEFAULT CHARSET utf8mb4",
	"ALTER TABLE other.t ADD g VARCHAR(2)",
	"ALTER TABLE other.t CONVERT TO CHARACTER SET utf8mb4",
	"RENAME TABLE other.t TO shop.moved, events TO other.events",
	"ALTER TABLE moved RENAME TO other.moved2, ADD h INT",
	"CREATE TABLE like_events LIKE other.events",
	"DROP DATABASE other",
	// Types and defaults as MariaDB spells them.
	typesDDL,
	defaultsDDL,
	// A table without a primary key, and one that gets and loses one.
	"CREATE TABLE nopk (a INT, b INT)",
	"ALTER TABLE nopk ADD PRIMARY KEY (b)",
	"ALTER TABLE nopk DROP PRIMARY KEY",
	// MariaDB syntax the TiDB parser rejects.
	"CREATE OR REPLACE TABLE nopk (x INT, y VARCHAR(4)) CHARSET latin1",
	"ALTER TABLE nopk ADD COLUMN IF NOT EXISTS z INT, ADD COLUMN IF NOT EXISTS x INT, ALGORITHM=NOCOPY",
	"ALTER ONLINE TABLE nopk ADD COLUMN w INT, LOCK=NONE",
	"ALTER TABLE nopk WAIT 5 ADD COLUMN v INT FIRST",
	"ALTER TABLE nopk ADD COLUMN inv INT INVISIBLE, ADD COLUMN uca VARCHAR(3) COLLATE utf8mb4_uca1400_ai_ci",
	"ALTER TABLE nopk ADD COLUMN p POINT NOT NULL, ADD COLUMN uu UUID, ADD COLUMN ip INET6 DEFAULT NULL",
	"ALTER TABLE nopk ADD COLUMN m1 INT /*M!100301 , ADD COLUMN m2 INT */ /*M!999999 , ADD COLUMN m3 INT */",
	"ALTER TABLE nopk ADD COLUMN u3 VARCHAR(3) COLLATE utf8mb3_uca1400_as_cs, ADD cy CHAR(2) CHARSET cp1251 COLLATE cp1251_bin",
	"ALTER TABLE nopk DROP COLUMN IF EXISTS nothing, DROP COLUMN w",
	"CREATE TABLE aria (a INT) ENGINE=Aria PAGE_CHECKSUM=1 TRANSACTIONAL=1",
	"DROP TABLE aria NOWAIT",
	// Statements without effect on columns.
	"CREATE INDEX i_y ON nopk (y)",
	"CREATE VIEW v AS SELECT x FROM nopk",
	"CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON nopk FOR EACH ROW SET NEW.x = 1",
	"CREATE SEQUENCE seq START WITH 1",
}

func TestSchemaMariaDBFollowsDDL(t *testing.T) {
	followDDL(t, mysqltest.Start(t, nil), mariaSteps)
}

// Before MariaDB 10.10 explicit_defaults_for_timestamp was OFF: TIMESTAMP
// columns are NOT NULL and get implicit defaults.
func TestSchemaMariaDBLegacyTimestamps(t *testing.T) {
	s := mysqltest.Start(t, &mysqltest.Options{Settings: map[string]string{"explicit_defaults_for_timestamp": "OFF"}})
	h := followDDL(t, s, []string{
		"CREATE TABLE ts (a INT, t1 TIMESTAMP, t2 TIMESTAMP(3), t3 TIMESTAMP NULL, t4 TIMESTAMP DEFAULT '2020-01-01 00:00:00', t5 TIMESTAMP(2) NOT NULL)",
		"ALTER TABLE ts ADD t6 TIMESTAMP",
		"ALTER TABLE ts ADD t0 TIMESTAMP(6) FIRST",
		"ALTER TABLE ts MODIFY t3 TIMESTAMP",
		"CREATE TABLE ts2 (a INT, t1 TIMESTAMP NULL, t2 TIMESTAMP, t3 TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
		"CREATE TABLE ts3 (t1 TIMESTAMP(3) NOT NULL)",
		"CREATE TABLE ts4 (t1 TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, t2 TIMESTAMP)",
	})
	if c := h.table("shop", "ts").Columns[2]; c.Nullable || c.Default == nil || *c.Default != "current_timestamp()" {
		t.Fatalf("first TIMESTAMP: %+v", c)
	}
}

// followDDL applies steps to the server and to a history bootstrapped from
// it, comparing the history with information_schema after each.
func followDDL(t *testing.T, s *mysqltest.Server, steps []string) *testHistory {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s.Exec("CREATE DATABASE shop")
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE shop"); err != nil {
		t.Fatal(err)
	}
	snap, err := LoadSnapshot(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Server.Flavor != FlavorMariaDB || snap.Server.Charset != "utf8mb4" {
		t.Fatalf("server %+v", snap.Server)
	}
	path := filepath.Join(t.TempDir(), "history")
	hist, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &testHistory{History: hist, t: t, path: path, pos: 4}
	t.Cleanup(func() { h.Close() })
	if err := h.BootstrapSnapshot(h.key(), snap); err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		if _, err := conn.ExecContext(ctx, step); err != nil {
			t.Fatalf("MariaDB: %s: %v", step, err)
		}
		if _, err := h.ApplyDDL(h.next(), "shop", step); err != nil {
			t.Fatalf("history: %v", err)
		}
		compareWithServer(ctx, t, h.History, conn, step)
	}
	h.reopen()
	compareWithServer(ctx, t, h.History, conn, "reopen")
	return h
}

// compareWithServer checks that the history's tables are information_schema's.
func compareWithServer(ctx context.Context, t *testing.T, h *History, q Querier, step string) {
	t.Helper()
	loaded, err := LoadAll(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := h.Tables()
	names := func(ts []*Table) string {
		var n []string
		for _, t := range ts {
			n = append(n, t.String())
		}
		sort.Strings(n)
		return strings.Join(n, " ")
	}
	if names(loaded) != names(got) {
		t.Fatalf("after %s: history has tables %s, MariaDB %s", abbreviate(step), names(got), names(loaded))
	}
	for i := range loaded {
		if d := tableDiff(loaded[i], got[i]); d != "" {
			t.Errorf("after %s: %s: %s", abbreviate(step), loaded[i], d)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func TestSchemaMariaDBLoad(t *testing.T) {
	s := mysqltest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.Exec("CREATE DATABASE a; CREATE DATABASE b")
	s.Exec("CREATE TABLE a.t (id INT PRIMARY KEY, e ENUM('x''y','z\\\\w',''), d VARCHAR(5) DEFAULT 'q''r')")
	s.Exec("CREATE TABLE b.u (k1 INT, k2 INT, PRIMARY KEY (k2, k1))")
	s.Exec("CREATE VIEW a.v AS SELECT id FROM a.t")
	tb, err := Load(ctx, s.DB, "a", "t")
	if err != nil {
		t.Fatal(err)
	}
	if e := tb.Columns[1].Elems; len(e) != 3 || e[0] != "x'y" || e[1] != `z\w` || e[2] != "" {
		t.Fatalf("enum elems %q", e)
	}
	if d := tb.Columns[2].Default; d == nil || *d != "q'r" {
		t.Fatalf("default %v", d)
	}
	if _, err := Load(ctx, s.DB, "a", "v"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Load of a view: %v", err)
	}
	if _, err := Load(ctx, s.DB, "a", "nope"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Load of a missing table: %v", err)
	}
	all, err := LoadAll(ctx, s.DB, func(schema, table string) bool { return schema == "b" })
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].String() != "b.u" || len(all[0].PK) != 2 || all[0].PK[0] != 1 || all[0].PK[1] != 0 {
		t.Fatalf("LoadAll: %+v", all)
	}
	all, err = LoadAll(ctx, s.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range all {
		if IsSystemSchema(tb.Schema) {
			t.Fatalf("LoadAll returned system table %s", tb)
		}
	}
	if len(all) != 2 {
		t.Fatalf("LoadAll: %d tables", len(all))
	}
}

// binlogReader reads a private server's binlog from its first file.
type binlogReader struct {
	syncer   *replication.BinlogSyncer
	streamer *replication.BinlogStreamer
	file     string
}

func newBinlogReader(t *testing.T, s *mysqltest.Server) *binlogReader {
	t.Helper()
	var first string
	rows, err := s.DB.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	for i := range vals {
		vals[i] = new(sql.RawBytes)
	}
	if rows.Next() {
		rows.Scan(vals...)
		first = string(*vals[0].(*sql.RawBytes))
	}
	rows.Close()
	if first == "" {
		t.Fatal("no binary log")
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: s.ServerID + 1000, Flavor: "mariadb", Host: "127.0.0.1", Port: uint16(s.Port), User: "root",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(syncer.Close)
	streamer, err := syncer.StartSync(mysql.Position{Name: first, Pos: 4})
	if err != nil {
		t.Fatal(err)
	}
	return &binlogReader{syncer: syncer, streamer: streamer, file: first}
}

// next returns the next event and its key (file, start position).
func (r *binlogReader) next(t *testing.T) (*replication.BinlogEvent, Key) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := r.streamer.GetEvent(ctx)
	if err != nil {
		t.Fatalf("binlog: %v", err)
	}
	if rot, ok := ev.Event.(*replication.RotateEvent); ok {
		r.file = string(rot.NextLogName)
	}
	return ev, Key{File: r.file, Pos: ev.Header.LogPos - ev.Header.EventSize}
}

func TestSchemaMariaDBReconcile(t *testing.T) {
	s := mysqltest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	snap, err := LoadSnapshot(ctx, s.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Open(filepath.Join(t.TempDir(), "history"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The reader starts at the binlog's beginning, with an empty snapshot,
	// and lags behind every DDL below (cdc-semantics §7 item 15).
	if err := h.BootstrapSnapshot(Key{}, snap); err != nil {
		t.Fatal(err)
	}
	s.Exec("CREATE DATABASE shop")
	s.Exec("CREATE TABLE shop.orders (id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(64), amount DECIMAL(12,2), " +
		"status ENUM('new','paid'), tags SET('a','b'), n INT, d TIME(3), note TEXT, f BIT(5))")
	s.Exec("INSERT INTO shop.orders (id, customer) VALUES (1, 'a')")
	s.Exec("ALTER TABLE shop.orders ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER id")
	s.Exec("INSERT INTO shop.orders (id, customer) VALUES (2, 'b')")
	s.Exec("ALTER TABLE shop.orders MODIFY n BIGINT, RENAME COLUMN customer TO client")
	s.Exec("INSERT INTO shop.orders (id, client) VALUES (3, 'c')")
	s.Exec("CREATE TABLE shop.nopk (a INT, b VARCHAR(3))")
	s.Exec("INSERT INTO shop.nopk VALUES (1, 'x')")
	s.Exec("CREATE TABLE shop.done (x INT)")

	r := newBinlogReader(t, s)
	var maps []*replication.TableMapEvent
	var mapKeys []Key
	for done := false; !done; {
		ev, key := r.next(t)
		switch e := ev.Event.(type) {
		case *replication.QueryEvent:
			q := string(e.Query)
			if q == "BEGIN" || q == "COMMIT" {
				continue
			}
			if _, err := h.ApplyDDL(key, string(e.Schema), q); err != nil {
				t.Fatalf("ApplyDDL(%q): %v", q, err)
			}
			done = strings.Contains(q, "shop.done")
		case *replication.TableMapEvent:
			tb, ok := h.TableAt(key, string(e.Schema), string(e.Table))
			if !ok {
				t.Fatalf("no schema for %s.%s at %s", e.Schema, e.Table, key)
			}
			if err := Reconcile(tb, e); err != nil {
				t.Fatalf("matching schema rejected: %v", err)
			}
			maps, mapKeys = append(maps, e), append(mapKeys, key)
		}
	}
	if len(maps) != 4 {
		t.Fatalf("%d table maps, want 4", len(maps))
	}
	if len(maps[0].ColumnName) == 0 || len(maps[0].PrimaryKey) != 1 {
		t.Fatalf("MariaDB logged no full metadata: names %q, PK %v", maps[0].ColumnNameString(), maps[0].PrimaryKey)
	}

	first, _ := h.TableAt(mapKeys[0], "shop", "orders")
	second, _ := h.TableAt(mapKeys[1], "shop", "orders")
	// A schema from before ADD COLUMN does not decode rows after it.
	err = Reconcile(first, maps[1])
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "shop.orders") || !strings.Contains(err.Error(), "10 columns") {
		t.Fatalf("stale schema: %v", err)
	}
	t.Logf("stale schema: %v", err)
	// Before MODIFY/RENAME COLUMN: names differ, and without names the type.
	err = Reconcile(second, maps[2])
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), `"client"`) {
		t.Fatalf("stale names: %v", err)
	}
	noMeta := withoutMetadata(maps[2])
	err = Reconcile(second, noMeta)
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "column 7 (n)") {
		t.Fatalf("stale type without metadata: %v", err)
	}
	third, _ := h.TableAt(mapKeys[2], "shop", "orders")
	if err := Reconcile(third, noMeta); err != nil {
		t.Fatalf("matching schema without metadata: %v", err)
	}
	// Signedness, enum values and the primary key come from the metadata.
	for _, mutate := range []func(*Table){
		func(t *Table) { t.Columns[0].Unsigned = false },
		func(t *Table) { t.Columns[4].Elems = []string{"new", "payed"} },
		func(t *Table) { t.PK = nil },
		func(t *Table) { t.Columns[2].Nullable = false },
		func(t *Table) { t.Columns[3].Scale = 3 },
		func(t *Table) { t.Columns[7].Scale = 6 },
		func(t *Table) { t.Columns[8].DataType = "mediumtext" },
		func(t *Table) { t.Columns[9].Length = 6 },
		func(t *Table) { t.Columns[4].DataType = "set" },
		func(t *Table) { t.Columns[1].DataType = "bigint" },
	} {
		bad := third.Clone()
		mutate(bad)
		if err := Reconcile(bad, maps[2]); !errors.Is(err, ErrSchemaMismatch) {
			t.Errorf("mutated schema accepted: %+v", bad)
		}
	}
}

// withoutMetadata copies a table map without its optional metadata, as a
// server with binlog_row_metadata=MINIMAL logs it.
func withoutMetadata(tm *replication.TableMapEvent) *replication.TableMapEvent {
	return &replication.TableMapEvent{
		TableID: tm.TableID, Schema: tm.Schema, Table: tm.Table, ColumnCount: tm.ColumnCount,
		ColumnType: tm.ColumnType, ColumnMeta: tm.ColumnMeta, NullBitmap: tm.NullBitmap,
	}
}
