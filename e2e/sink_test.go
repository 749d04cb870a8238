package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/mysqltest"
	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/sink"
)

// The orders table of cdc-semantics §7 (MariaDB spells JSON as LONGTEXT).
const sinkOrdersDDL = `CREATE TABLE shop.orders (
  id BIGINT UNSIGNED PRIMARY KEY,
  customer VARCHAR(64) CHARACTER SET utf8mb4,
  amount DECIMAL(12,2),
  status ENUM('new','paid','shipped'),
  tags SET('gift','rush','vip'),
  note TEXT,
  meta JSON,
  created_at DATETIME(6),
  updated_at TIMESTAMP(3) NULL,
  ship_date DATE,
  flags BIT(8),
  qty SMALLINT UNSIGNED,
  yr YEAR,
  dur TIME(6),
  img LONGBLOB,
  big DECIMAL(65,30),
  city VARCHAR(20) CHARACTER SET latin1)`

// sinkColumn says how to render a column on both sides so they compare:
// mariadb is a SELECT expression giving the text DuckDB's value renders
// to (duckString); quoted columns are strings on the DuckDB side.
type sinkColumn struct {
	name, mariadb string
	quoted        bool
}

var sinkOrdersColumns = []sinkColumn{
	{"id", "CAST(id AS CHAR)", false},
	{"customer", "customer", true},
	{"amount", "CAST(amount AS CHAR)", false},
	{"status", "CAST(status AS CHAR)", true},
	{"tags", "CAST(tags AS CHAR)", true},
	{"note", "note", true},
	{"meta", "meta", true},
	{"created_at", "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f')", false},
	{"updated_at", "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')", false},
	{"ship_date", "DATE_FORMAT(ship_date, '%Y-%m-%d 00:00:00.000000')", false},
	{"flags", "CAST(flags + 0 AS CHAR)", false},
	{"qty", "CAST(qty AS CHAR)", false},
	{"yr", "CAST(yr + 0 AS CHAR)", false},
	{"dur", "CAST(CAST(TIME_TO_SEC(dur) * 1000000 AS SIGNED) AS CHAR)", false},
	{"img", "REPLACE(TO_BASE64(img), '\\n', '')", false},
	{"big", "CAST(big AS CHAR)", true}, // DECIMAL(65,30) does not fit DECIMAL128: STRING
	{"city", "city", true},
}

// TestE2ESinkRebuildsOrders: a private MariaDB's orders table — a
// snapshot of existing rows, then the scenarios of cdc-semantics §7
// (primary-key changes across queues, delete and re-insert in one
// transaction, REPLACE, ON DUPLICATE KEY UPDATE, rollback, extremes,
// NULLs, multi-byte and latin1 text, ADD COLUMN with a default mid-stream)
// and a table without a primary key — is captured by the ingester into
// `sluice` broker processes and rebuilt by the sink. DuckDB and
// xitongsys/parquet-go read the Parquet back: the current table equals
// SELECT * FROM the source, value by value, and the change log holds
// every change once, in order per key.
func TestE2ESinkRebuildsOrders(t *testing.T) {
	db := mysqltest.Start(t, nil)
	c := startCluster(t)
	db.Exec("CREATE DATABASE shop")
	db.Exec(sinkOrdersDDL)
	db.Exec("CREATE TABLE shop.events (kind VARCHAR(10), n INT)")
	insertOrder := func(id int) {
		db.Exec(`INSERT INTO shop.orders VALUES (?, ?, ?, 'new', 'gift,vip', 'n', '{"a":[1,2]}', '2026-01-02 03:04:05.123456',
			'2026-01-02 03:04:05.5', '2026-03-10', b'10100101', ?, 2026, '-12:34:56.000001', x'00ff', '1.5', 'Café')`,
			id, fmt.Sprintf("客户-%d 👍🏽", id), fmt.Sprintf("%d.25", id), id%65536)
	}
	for id := 1; id <= 200; id++ {
		insertOrder(id)
	}
	db.Exec("INSERT INTO shop.events VALUES ('a', 1), ('a', 1), ('b', 2)")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startShopIngester(ctx, t, db, c.ns.Addr)

	// The topics exist once the snapshot published to them.
	eventually(t, 60*time.Second, func() bool { return routeExists(c.ns.Addr, "shop_orders") && routeExists(c.ns.Addr, "shop_events") },
		"the ingester never created its topics")
	root, jobDone := startSink(ctx, t, c.ns.Addr, "shop_orders", "shop_events")

	// Streamed changes.
	for id := 201; id <= 300; id++ {
		insertOrder(id)
	}
	db.Exec("UPDATE shop.orders SET id = 1002 WHERE id = 1")
	db.Exec("UPDATE shop.orders SET id = 1003 WHERE id = 1002")
	tx(t, db.DB, "DELETE FROM shop.orders WHERE id = 5", "INSERT INTO shop.orders (id, customer) VALUES (5, 'reborn')")
	db.Exec("DELETE FROM shop.orders WHERE id = 6")
	db.Exec("INSERT INTO shop.orders (id, customer) VALUES (6, 'six again')")
	db.Exec("REPLACE INTO shop.orders (id, customer, amount) VALUES (7, 'replaced', 7.70)")
	db.Exec("INSERT INTO shop.orders (id, customer) VALUES (8, 'dup') ON DUPLICATE KEY UPDATE customer = 'on-dup', qty = 99")
	txRollback(t, db.DB, "UPDATE shop.orders SET customer = 'never' WHERE id < 50")
	db.Exec(`INSERT INTO shop.orders VALUES (18446744073709551615, NULL, -9999999999.99, NULL, NULL, NULL, NULL,
		'9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', '1000-01-01', b'00000000', 65535, 1901, '-838:59:59', ?,
		'-99999999999999999999999999999999999.999999999999999999999999999999', 'é')`, allBytes())
	db.Exec(`INSERT INTO shop.orders (id, customer, yr, dur, big) VALUES (9000, '', 2155, '838:59:59.999999', '0.000000000000000000000000000001')`)
	db.Exec(`INSERT INTO shop.orders (id, yr) VALUES (9001, 0)`)
	db.Exec("UPDATE shop.orders SET status = 'paid', tags = 'rush', amount = amount + 1 WHERE id BETWEEN 100 AND 180")
	db.Exec("DELETE FROM shop.orders WHERE id BETWEEN 181 AND 190")
	db.Exec("ALTER TABLE shop.orders ADD COLUMN c INT NOT NULL DEFAULT 7")
	db.Exec("UPDATE shop.orders SET c = 8 WHERE id = 2")
	db.Exec("INSERT INTO shop.events VALUES ('a', 1), ('c', NULL)")
	db.Exec("DELETE FROM shop.events WHERE kind = 'a' LIMIT 1")
	db.Exec("UPDATE shop.events SET n = 3 WHERE kind = 'b'")
	columns := append(append([]sinkColumn(nil), sinkOrdersColumns...), sinkColumn{"c", "CAST(c AS CHAR)", false})

	var lastDiff string
	waitFor(t, 120*time.Second, func() bool {
		select {
		case err := <-jobDone:
			t.Fatalf("sink stopped: %v", err)
		default:
		}
		want := mariaRows(t, db.DB, "SELECT %s FROM shop.orders ORDER BY id", columns)
		got, ok := duckCurrent(t, root, "shop/orders", columns, "id")
		if !ok {
			return false
		}
		if lastDiff = diffRows(got, want); lastDiff != "" {
			return false
		}
		wantEv := mariaRows(t, db.DB, "SELECT %s FROM shop.events ORDER BY kind, n", []sinkColumn{{"kind", "kind", true}, {"n", "CAST(n AS CHAR)", false}})
		gotEv, ok := duckCurrent(t, root, "shop/events", []sinkColumn{{"kind", "", true}, {"n", "", false}}, "kind, n")
		lastDiff = diffRows(gotEv, wantEv)
		return ok && lastDiff == ""
	}, func() string { return "the rebuilt tables never matched the source: " + lastDiff })

	// Types as the files declare them, read by a second Parquet reader.
	m := latestManifest(t, root, "shop/orders")
	cols, rows := parquetGoRead(t, filepath.Join(root, "shop/orders", m.Current[0].Path))
	logical := map[string]string{}
	for _, c := range cols {
		logical[c.Path] = c.Physical + " " + c.Logical
	}
	for col, want := range map[string]string{
		"id":         "INT64 INTEGER(64,signed=false)",
		"amount":     "FIXED_LEN_BYTE_ARRAY(6) DECIMAL(12,2)",
		"created_at": "INT64 TIMESTAMP(MICROS,isAdjustedToUTC=false)",
		"updated_at": "INT64 TIMESTAMP(MICROS,isAdjustedToUTC=true)",
		"ship_date":  "INT32 DATE",
		"dur":        "INT64 INTEGER(64,signed=true)",
		"img":        "BYTE_ARRAY ",
	} {
		if got := logical[col]; !strings.HasPrefix(got, want) {
			t.Errorf("column %s is %q in Parquet, want %q", col, got, want)
		}
	}
	if int64(len(rows)) != m.Current[0].Rows {
		t.Fatalf("parquet-go read %d rows of %s, the manifest says %d", len(rows), m.Current[0].Path, m.Current[0].Rows)
	}

	// The change log: every change once, each key's changes in source
	// order (snapshot rows first).
	var files []string
	for _, mf := range allManifests(t, root, "shop/orders") {
		for _, f := range mf.Changes {
			files = append(files, filepath.Join(root, "shop/orders", f.Path))
		}
	}
	sort.Strings(files)
	list := "['" + strings.Join(files, "','") + "']"
	dups := duckQuery(t, fmt.Sprintf(`SELECT _file, _pos, _row, id, count(*) FROM read_parquet(%s, union_by_name=true)
		GROUP BY ALL HAVING count(*) > 1`, list))
	if len(dups) > 0 {
		t.Fatalf("changes logged more than once: %v", dups)
	}
	order := duckQuery(t, fmt.Sprintf(`SELECT id, _op, _file, _pos, _row FROM read_parquet(%s, union_by_name=true, filename=true, file_row_number=true)
		ORDER BY filename, file_row_number`, list))
	last := map[string][3]int64{}
	ops := map[string]int{}
	for _, r := range order {
		id, op := duckString(r[0]), r[1].(string)
		ops[op]++
		file, _ := strconv.ParseInt(strings.TrimPrefix(filepath.Ext(r[2].(string)), "."), 10, 64)
		v := [3]int64{file, r[3].(int64), int64(r[4].(int32))}
		if p, ok := last[id]; ok && (v[0] < p[0] || (v[0] == p[0] && (v[1] < p[1] || (v[1] == p[1] && v[2] <= p[2])))) {
			t.Fatalf("changes of id %s out of order: %v after %v", id, v, p)
		}
		last[id] = v
	}
	if ops["SNAPSHOT"] != 200 || ops["INSERT"] < 100 || ops["UPDATE"] < 81 || ops["DELETE"] < 10 {
		t.Fatalf("change log operations %v", ops)
	}
}

// startShopIngester runs an ingester of db's shop schema (4 queues per
// topic) until ctx ends.
func startShopIngester(ctx context.Context, t *testing.T, db *mysqltest.Server, ns string) {
	t.Helper()
	cfg := canal.DefaultConfig()
	cfg.Source.Host, cfg.Source.Port, cfg.Source.ServerID = db.Host, db.Port, db.ServerID+1000
	cfg.DataDir = t.TempDir()
	cfg.Filter.Include = []string{`shop\..*`}
	cfg.Publish.Queues = 4
	cfg.Logger = testutil.Logger(t)
	in, err := canal.New(cfg, e2eProducer(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	go in.Run(ctx)
}

// startSink runs a sink job of topics into a new root, committing every
// 300 ms, until ctx ends; the channel gets Run's result.
func startSink(ctx context.Context, t *testing.T, ns string, topics ...string) (string, chan error) {
	t.Helper()
	cfg := sink.DefaultConfig()
	cfg.Group = uniqueName(t, "sink")
	cfg.NameServers = []string{ns}
	cfg.Topics = topics
	cfg.Root = t.TempDir()
	cfg.CommitInterval = 300 * time.Millisecond
	cfg.Logger = testutil.Logger(t)
	job, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- job.Run(ctx)
	}()
	// The test cancels ctx when it returns; Run commits and stops, then
	// the job's store and lock are released.
	t.Cleanup(func() {
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Error("sink job did not stop")
		}
		job.Close()
	})
	return cfg.Root, done
}

func e2eProducer(t *testing.T, ns string) *client.Producer {
	t.Helper()
	popts := client.NewProducerOptions(ns)
	popts.ClientOptions.Logger = testutil.Logger(t)
	prod, err := client.NewProducer(popts)
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Shutdown() })
	return prod
}

func tx(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	x, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := x.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Commit(); err != nil {
		t.Fatal(err)
	}
}

func txRollback(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	x, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := x.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Rollback(); err != nil {
		t.Fatal(err)
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// mariaRows renders the source rows as duckString would render the
// sink's values (a UTC session, so TIMESTAMPs are instants in UTC).
func mariaRows(t *testing.T, db *sql.DB, query string, cols []sinkColumn) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c.mariadb
	}
	rows, err := conn.QueryContext(ctx, fmt.Sprintf(query, strings.Join(exprs, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			switch {
			case !v.Valid:
				parts[i] = "NULL"
			case cols[i].quoted:
				parts[i] = strconv.Quote(v.String)
			default:
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// duckCurrent reads the current version of a table through its newest
// manifest with DuckDB.
func duckCurrent(t *testing.T, root, dir string, cols []sinkColumn, orderBy string) ([]string, bool) {
	t.Helper()
	m := latestManifest(t, root, dir)
	if m == nil {
		return nil, false
	}
	if len(m.Current) == 0 {
		return nil, true
	}
	files := make([]string, len(m.Current))
	for i, f := range m.Current {
		files[i] = filepath.Join(root, dir, f.Path)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = `"` + c.name + `"`
	}
	q := fmt.Sprintf("SELECT %s FROM read_parquet(['%s']) ORDER BY %s", strings.Join(names, ", "), strings.Join(files, "','"), orderBy)
	rows, err := duckQueryErr(t, q)
	if err != nil {
		return nil, false // e.g. the column added by the ALTER is not there yet
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = duckString(v)
		}
		out[i] = strings.Join(parts, " | ")
	}
	return out, true
}

func diffRows(got, want []string) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	return ""
}

func latestManifest(t *testing.T, root, dir string) *sink.Manifest {
	ms := allManifests(t, root, dir)
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

func allManifests(t *testing.T, root, dir string) []*sink.Manifest {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, dir, "_manifest"))
	if err != nil {
		return nil
	}
	var out []*sink.Manifest
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, dir, "_manifest", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var m sink.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, &m)
	}
	return out
}

// waitFor polls cond until it holds, failing with why() after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestE2ESinkSchemaChanges: DDL mid-stream through the real ingester —
// ADD COLUMN … NOT NULL DEFAULT 7 AFTER id, RENAME COLUMN, MODIFY INT →
// BIGINT, DROP COLUMN — a composite primary key with a key column
// updated, SAVEPOINT + ROLLBACK TO, TRUNCATE then inserts, and DROP TABLE
// + CREATE TABLE with another schema: each rebuilt table equals the source.
func TestE2ESinkSchemaChanges(t *testing.T) {
	db := mysqltest.Start(t, nil)
	c := startCluster(t)
	db.Exec("CREATE DATABASE shop")
	db.Exec("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20), n INT)")
	db.Exec("CREATE TABLE shop.pairs (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b))")
	db.Exec("CREATE TABLE shop.tmp (id INT PRIMARY KEY, s VARCHAR(5))")
	db.Exec("INSERT INTO shop.items VALUES (1, 'one', 1), (2, 'two', 2)")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startShopIngester(ctx, t, db, c.ns.Addr)
	eventually(t, 60*time.Second, func() bool { return routeExists(c.ns.Addr, "shop_items") }, "no topic")
	// pairs and tmp get their topics with their first events.
	db.Exec("INSERT INTO shop.pairs VALUES (1, 'x', 1), (2, 'y', 2)")
	db.Exec("INSERT INTO shop.tmp VALUES (1, 'a'), (2, 'b')")
	eventually(t, 60*time.Second, func() bool { return routeExists(c.ns.Addr, "shop_pairs") && routeExists(c.ns.Addr, "shop_tmp") }, "no topics")

	root, jobDone := startSink(ctx, t, c.ns.Addr, "shop_items", "shop_pairs", "shop_tmp")

	db.Exec("INSERT INTO shop.items VALUES (3, 'three', 3)")
	db.Exec("ALTER TABLE shop.items ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER id")
	db.Exec("UPDATE shop.items SET c = 8 WHERE id = 2")
	db.Exec("ALTER TABLE shop.items RENAME COLUMN name TO title")
	db.Exec("ALTER TABLE shop.items MODIFY n BIGINT")
	db.Exec("INSERT INTO shop.items VALUES (4, 9, 'four', 9000000000)")
	db.Exec("ALTER TABLE shop.items ADD COLUMN gone INT DEFAULT 5")
	db.Exec("ALTER TABLE shop.items DROP COLUMN gone")
	db.Exec("UPDATE shop.pairs SET b = 'z' WHERE a = 1")
	tx(t, db.DB, "INSERT INTO shop.pairs VALUES (3, 'k', 3)", "SAVEPOINT s", "INSERT INTO shop.pairs VALUES (4, 'no', 4)",
		"ROLLBACK TO SAVEPOINT s", "UPDATE shop.pairs SET v = 30 WHERE a = 3")
	db.Exec("TRUNCATE TABLE shop.tmp")
	db.Exec("INSERT INTO shop.tmp VALUES (5, 'after')")
	db.Exec("DROP TABLE shop.tmp")
	db.Exec("CREATE TABLE shop.tmp (sku VARCHAR(8) PRIMARY KEY, qty SMALLINT UNSIGNED)")
	db.Exec("INSERT INTO shop.tmp VALUES ('A-1', 65535), ('B-2', NULL)")

	tables := []struct {
		dir, query, order string
		cols              []sinkColumn
	}{
		{"shop/items", "SELECT %s FROM shop.items ORDER BY id", "id", []sinkColumn{{"id", "CAST(id AS CHAR)", false},
			{"c", "CAST(c AS CHAR)", false}, {"title", "title", true}, {"n", "CAST(n AS CHAR)", false}}},
		{"shop/pairs", "SELECT %s FROM shop.pairs ORDER BY a, b", "a, b", []sinkColumn{{"a", "CAST(a AS CHAR)", false},
			{"b", "b", true}, {"v", "CAST(v AS CHAR)", false}}},
		{"shop/tmp", "SELECT %s FROM shop.tmp ORDER BY sku", "sku", []sinkColumn{{"sku", "sku", true}, {"qty", "CAST(qty AS CHAR)", false}}},
	}
	var lastDiff string
	waitFor(t, 120*time.Second, func() bool {
		select {
		case err := <-jobDone:
			t.Fatalf("sink stopped: %v", err)
		default:
		}
		for _, tb := range tables {
			want := mariaRows(t, db.DB, tb.query, tb.cols)
			got, ok := duckCurrent(t, root, tb.dir, tb.cols, tb.order)
			if !ok {
				lastDiff = tb.dir + ": not readable yet"
				return false
			}
			if d := diffRows(got, want); d != "" {
				lastDiff = tb.dir + ": " + d
				return false
			}
		}
		return true
	}, func() string { return "the rebuilt tables never matched the source: " + lastDiff })
	// The current table has exactly the source's columns (plus none).
	m := latestManifest(t, root, "shop/items")
	cols, _, _ := duckTable(t, filepath.Join(root, "shop/items", m.Current[0].Path), "id")
	if got := strings.Join(cols, ","); got != "id,c,title,n" {
		t.Fatalf("items columns %s", got)
	}
	if tm := latestManifest(t, root, "shop/tmp"); tm.Generation != 1 {
		t.Fatalf("tmp generation %d after DROP + CREATE", tm.Generation)
	}
}
