package canal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/mysqltest"
	"github.com/sluicehq/sluice/internal/testutil"
)

// mysqltestOptionsZeroDates lets tests store zero dates.
var mysqltestOptionsZeroDates = mysqltest.Options{Settings: map[string]string{"sql_mode": "NO_ENGINE_SUBSTITUTION"}}

// startStreaming starts an ingester and waits until its snapshot is done.
func (e *canalEnv) startStreaming(t *testing.T, cfg Config) *running {
	t.Helper()
	r := e.start(t, cfg)
	testutil.Eventually(t, 60*time.Second, func() bool { return r.in.Stats().Committed.File != "" },
		"the ingester never started streaming")
	return r
}

// eventsOf returns the decoded events of topic once the ingester saved a
// position covering everything written so far.
func eventsOf(t *testing.T, e *canalEnv, r *running, topic string) []*FlatMessage {
	t.Helper()
	e.waitSaved(t, r)
	_, events := rebuilt(t, e, topic, settledCount(t, e, topic))
	return events
}

func columnsOf(m *FlatMessage) []string {
	var names []string
	for _, c := range m.Data {
		names = append(names, c.Name)
	}
	return names
}

func cell(m *FlatMessage, name string) (Cell, bool) {
	for _, c := range m.Data {
		if c.Name == name {
			return c, true
		}
	}
	return Cell{}, false
}

// TestCanalDDLWhileLagging: rows written before and after an ALTER that
// adds a column in the middle, read by an ingester that was down during
// both, decode with the schema of their time (go-mysql#905), and the DDL
// reaches every queue.
func TestCanalDDLWhileLagging(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2))")
	cfg := e.config(t)
	r := e.startStreaming(t, cfg)
	e.db.Exec("INSERT INTO shop.items VALUES (1, 'one', 1.50)")
	e.waitSaved(t, r)
	if err := r.close(t); err != nil {
		t.Fatal(err)
	}
	e.db.Exec("INSERT INTO shop.items VALUES (2, 'two', 2.50)")
	e.db.Exec("ALTER TABLE shop.items ADD COLUMN sku VARCHAR(10) NOT NULL DEFAULT 'none' AFTER id")
	e.db.Exec("INSERT INTO shop.items VALUES (3, 'S3', 'three', 3.50)")
	e.db.Exec("ALTER TABLE shop.items ADD COLUMN c INT NOT NULL DEFAULT 7")
	e.db.Exec("UPDATE shop.items SET price = 9.99 WHERE id = 2")
	r2 := e.startStreaming(t, cfg)
	events := eventsOf(t, e, r2, "shop_items")

	var ddl []*FlatMessage
	byID := map[string][]*FlatMessage{}
	for _, m := range events {
		if m.IsDDL {
			ddl = append(ddl, m)
			continue
		}
		id, _ := cell(m, "id")
		byID[id.S] = append(byID[id.S], m)
	}
	sku := 0
	for _, m := range ddl {
		if m.Type != TypeAlter || m.Database != "shop" || m.Table != "items" {
			t.Fatalf("DDL event %+v", m)
		}
		if strings.Contains(m.SQL, "ADD COLUMN sku") {
			sku++
			// The event describes the table after the statement, with the
			// new column's default rendered as a value.
			var names []string
			for _, c := range m.Columns {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, []string{"id", "sku", "name", "price"}) || !slices.Equal(m.PKNames, []string{"id"}) {
				t.Fatalf("columns after ADD COLUMN sku: %v, pk %v", names, m.PKNames)
			}
			if c := m.Columns[1]; c.Type != "varchar(10)" || c.Nullable || c.Default == nil || *c.Default != "none" {
				t.Fatalf("sku column %+v", c)
			}
			if c := m.Columns[3]; c.Type != "decimal(8,2)" || !c.Nullable || c.Default != nil {
				t.Fatalf("price column %+v", c)
			}
		}
	}
	if len(ddl) != 2*cfg.Publish.Queues || sku != cfg.Publish.Queues {
		t.Fatalf("%d DDL events, %d of the first ALTER: want each statement once per queue", len(ddl), sku)
	}
	if got := columnsOf(byID["2"][0]); !slices.Equal(got, []string{"id", "name", "price"}) {
		t.Fatalf("row 2, written before the ALTER, decoded with columns %v", got)
	}
	if got := columnsOf(byID["3"][0]); !slices.Equal(got, []string{"id", "sku", "name", "price"}) {
		t.Fatalf("row 3 decoded with columns %v", got)
	}
	if sku, _ := cell(byID["3"][0], "sku"); sku.S != "S3" {
		t.Fatalf("row 3 sku = %+v (columns mapped wrongly)", sku)
	}
	upd := byID["2"][1]
	if upd.Type != TypeUpdate || !slices.Equal(columnsOf(upd), []string{"id", "sku", "name", "price", "c"}) {
		t.Fatalf("update after both ALTERs: %+v", upd)
	}
	if c, _ := cell(upd, "c"); c.S != "7" {
		t.Fatalf("added column c of an old row = %+v, want 7 as MySQL fills it", c)
	}
	if sku, _ := cell(upd, "sku"); sku.S != "none" {
		t.Fatalf("added column sku of an old row = %+v", sku)
	}
	if len(upd.Old) != 1 || upd.Old[0].Name != "price" || upd.Old[0].S != "2.50" {
		t.Fatalf("old image of the update: %+v", upd.Old)
	}
}

// TestCanalKeysAndStatements covers the key-related scenarios of
// cdc-semantics §7: composite keys with a key column updated, a table
// without a primary key, REPLACE, ON DUPLICATE KEY UPDATE, savepoints,
// TRUNCATE and DROP + CREATE with another schema — and the topic still
// rebuilds each table.
func TestCanalKeysAndStatements(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.lines (order_id INT, line INT, sku VARCHAR(10), PRIMARY KEY (order_id, line))")
	e.db.Exec("CREATE TABLE shop.log (msg VARCHAR(20), n INT)")
	e.db.Exec("CREATE TABLE shop.kv (k VARCHAR(10) PRIMARY KEY, v INT)")
	cfg := e.config(t)
	r := e.startStreaming(t, cfg)

	e.db.Exec("INSERT INTO shop.lines VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c')")
	e.db.Exec("UPDATE shop.lines SET line = 3 WHERE order_id = 1 AND line = 2")
	e.db.Exec("INSERT INTO shop.log VALUES ('x', 1), ('x', 1), ('y', 2)")
	e.db.Exec("DELETE FROM shop.log WHERE msg = 'x' LIMIT 1")
	e.db.Exec("INSERT INTO shop.kv VALUES ('a', 1), ('b', 2)")
	e.db.Exec("REPLACE INTO shop.kv VALUES ('a', 10)")
	e.db.Exec("INSERT INTO shop.kv VALUES ('b', 0) ON DUPLICATE KEY UPDATE v = v + 20")
	e.db.Exec("BEGIN; INSERT INTO shop.kv VALUES ('c', 3); SAVEPOINT s; INSERT INTO shop.kv VALUES ('d', 4); ROLLBACK TO SAVEPOINT s; COMMIT")

	lines := eventsOf(t, e, r, "shop_lines")
	got, _ := rebuilt(t, e, "shop_lines", len(lines))
	sameTable(t, got, sourceRows(t, e, "shop", "lines"))
	types := map[string]int{}
	for _, m := range lines {
		types[m.Type]++
	}
	if len(lines) != 5 || types[TypeInsert] != 4 || types[TypeDelete] != 1 {
		t.Fatalf("composite key change: %v (want 3 inserts, then DELETE + INSERT)", types)
	}

	logEvents := eventsOf(t, e, r, "shop_log")
	queues := map[string]bool{}
	deletes := 0
	for _, m := range logEvents {
		if len(m.PKNames) != 0 {
			t.Fatalf("keyless table event names keys %v", m.PKNames)
		}
		if m.Type == TypeDelete {
			deletes++
		}
		queues[fmt.Sprint(QueueOf("shop", "log", nil, cfg.Publish.Queues))] = true
	}
	if len(logEvents) != 4 || deletes != 1 || len(queues) != 1 {
		t.Fatalf("keyless table: %d events, %d deletes, %d queues", len(logEvents), deletes, len(queues))
	}

	kv := eventsOf(t, e, r, "shop_kv")
	gotKV, _ := rebuilt(t, e, "shop_kv", len(kv))
	sameTable(t, gotKV, sourceRows(t, e, "shop", "kv"))
	for _, m := range kv {
		if k, _ := cell(m, "k"); k.S == "d" {
			t.Fatalf("a row rolled back to a savepoint was published: %+v", m)
		}
	}

	// TRUNCATE, then DROP + CREATE with another schema.
	e.db.Exec("TRUNCATE TABLE shop.kv")
	e.db.Exec("INSERT INTO shop.kv VALUES ('z', 26)")
	e.db.Exec("DROP TABLE shop.kv")
	e.db.Exec("CREATE TABLE shop.kv (k INT PRIMARY KEY, label TEXT)")
	e.db.Exec("INSERT INTO shop.kv VALUES (1, 'new')")
	kv = eventsOf(t, e, r, "shop_kv")
	var kinds []string
	for _, m := range kv {
		if m.IsDDL && !slices.Contains(kinds, m.Type) {
			kinds = append(kinds, m.Type)
		}
	}
	if !slices.Equal(kinds, []string{TypeTruncate, TypeErase, TypeCreate}) {
		t.Fatalf("DDL kinds on the topic: %v", kinds)
	}
	var last *FlatMessage
	for _, m := range kv {
		if _, ok := cell(m, "label"); ok {
			last = m
		}
	}
	if last == nil || last.Type != TypeInsert || !slices.Equal(columnsOf(last), []string{"k", "label"}) || last.MySQLType[0] != "int(11)" {
		t.Fatalf("row of the re-created table: %+v", last)
	}
}

// TestCanalLargeTransaction: a 500,000-row UPDATE in one transaction goes
// out in full, beyond the transaction buffer (its events then carry XID
// 0), with no event over the size limit.
func TestCanalLargeTransaction(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.big (id INT PRIMARY KEY, n INT)")
	e.db.Exec("INSERT INTO shop.big SELECT seq, 0 FROM shop.seq_1_to_500000")
	cfg := e.config(t)
	cfg.SnapshotMode = SnapshotNever
	cfg.TxnBufferBytes = 4 << 20
	r := e.startStreaming(t, cfg)
	e.db.Exec("UPDATE shop.big SET n = 1")
	e.waitSaved(t, r)
	if st := r.in.Stats(); st.Rows != 500000 {
		t.Fatalf("%d row events published, want 500000", st.Rows)
	}
	events := readTopic(t, e.cluster.NameServer.Addr, "shop_big", 500000)
	n, withXID := 0, 0
	for _, bodies := range events {
		for _, b := range bodies {
			n++
			if len(b) > cfg.Publish.MaxMessageBytes {
				t.Fatalf("event of %d bytes", len(b))
			}
			if !strings.Contains(b, `"xid":0,`) {
				withXID++
			}
		}
	}
	if n != 500000 || withXID == 0 || withXID == n {
		t.Fatalf("%d events, %d with the XID (want the buffered part only)", n, withXID)
	}
}

// TestCanalSnapshotAndStreamEncodeAlike: the same values arrive once by
// snapshot and once by binlog and encode identically (cdc-semantics §7.3).
func TestCanalSnapshotAndStreamEncodeAlike(t *testing.T) {
	e := newShop(t, &mysqltestOptionsZeroDates)
	e.db.Exec(`CREATE TABLE shop.kinds (id INT PRIMARY KEY, u BIGINT UNSIGNED, d DECIMAL(65,30), f FLOAT, g DOUBLE,
		b1 BIT(1), b8 BIT(8), dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
		s VARCHAR(20) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1, bin VARBINARY(8), blb BLOB,
		e ENUM('new','paid'), st SET('gift','rush','vip'), j JSON, n INT)`)
	row := `%d, 18446744073709551615, '-99999999999999999999999999999999999.999999999999999999999999999999', 1.25, -2.5e-10,
		b'1', b'10100101', '0000-00-00', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.499', '-838:59:59', 2155,
		'👍🏽 中文', 'é', x'00ff10', x'000102fe', 'paid', 'gift,vip', '{"a": [1, 2]}', NULL`
	e.db.Exec("SET time_zone = '+00:00'; INSERT INTO shop.kinds VALUES (" + fmt.Sprintf(row, 1) + ")")
	r := e.startStreaming(t, e.config(t))
	e.db.Exec("SET time_zone = '+00:00'; INSERT INTO shop.kinds VALUES (" + fmt.Sprintf(row, 2) + ")")
	events := eventsOf(t, e, r, "shop_kinds")
	if len(events) != 2 {
		t.Fatalf("%d events", len(events))
	}
	a, b := events[0], events[1]
	if !a.Snapshot {
		a, b = b, a
	}
	if !a.Snapshot || b.Snapshot {
		t.Fatalf("want one snapshot and one stream event: %+v %+v", a, b)
	}
	for i := range a.Data {
		if a.Data[i].Name == "id" {
			continue
		}
		if a.Data[i] != b.Data[i] {
			t.Errorf("column %s: snapshot %+v, stream %+v", a.Data[i].Name, a.Data[i], b.Data[i])
		}
	}
	if !slices.Equal(a.SQLType, b.SQLType) || !slices.Equal(a.MySQLType, b.MySQLType) {
		t.Errorf("types differ: %v %v / %v %v", a.SQLType, a.MySQLType, b.SQLType, b.MySQLType)
	}
	if c, _ := cell(b, "ts"); c.S != "2038-01-19T03:14:07.499Z" {
		t.Errorf("TIMESTAMP rendered %q", c.S)
	}
	if c, _ := cell(b, "u"); c.S != "18446744073709551615" {
		t.Errorf("BIGINT UNSIGNED rendered %q", c.S)
	}
}

// TestCanalFiltersAndRoutes: excluded columns never leave the source,
// filtered operations are not published, and a route rule with key
// columns names the topic and partitions by them.
func TestCanalFiltersAndRoutes(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec("CREATE TABLE shop.users (id INT PRIMARY KEY, email VARCHAR(64), password VARCHAR(64), team INT)")
	cfg := e.config(t)
	cfg.Filter.ExcludeColumns = []string{`shop\.users\.password`}
	cfg.Filter.Operations = []string{"insert", "update"}
	cfg.Routes = []RouteRule{{Match: `shop\.users`, Topic: "people", KeyColumns: []string{"team"}}}
	r := e.startStreaming(t, cfg)
	e.db.Exec("INSERT INTO shop.users VALUES (1, 'a@x', 'secret', 7), (2, 'b@x', 'hunter2', 7), (3, 'c@x', 'pw', 8)")
	e.db.Exec("UPDATE shop.users SET email = 'aa@x' WHERE id = 1")
	e.db.Exec("DELETE FROM shop.users WHERE id = 3")
	events := eventsOf(t, e, r, "people")
	if len(events) != 4 {
		t.Fatalf("%d events, want 3 inserts and 1 update (deletes filtered)", len(events))
	}
	byQueue := readTopic(t, e.cluster.NameServer.Addr, "people", 4)
	for _, m := range events {
		if _, ok := cell(m, "password"); ok || strings.Contains(fmt.Sprint(m.Old), "secret") {
			t.Fatalf("an excluded column was published: %+v", m)
		}
		if m.Type == TypeDelete {
			t.Fatalf("a filtered delete was published: %+v", m)
		}
	}
	// Both rows of team 7 share a queue: partitioned by team, not id.
	for q, bodies := range byQueue {
		teams := map[string]bool{}
		for _, b := range bodies {
			m, _ := DecodeFlat([]byte(b))
			team, _ := cell(m, "team")
			teams[team.S] = true
		}
		if teams["7"] && q != QueueOf("shop", "users", []Cell{{S: "7"}}, cfg.Publish.Queues) {
			t.Fatalf("team 7 in queue %d", q)
		}
	}
}
