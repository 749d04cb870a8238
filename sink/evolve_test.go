package sink

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/canal"
)

func ptr[T any](v T) *T { return &v }

// itemEvent is a row of shop.items with the given columns.
func itemEvent(typ string, pos uint32, cols []string, types []string, vals ...string) *canal.FlatMessage {
	m := &canal.FlatMessage{Database: "shop", Table: "items", PKNames: []string{"id"}, Type: typ, ES: 1764061200000,
		MySQLType: types, File: "binlog.000002", Pos: pos, ServerID: 1}
	for i, c := range cols {
		if vals[i] == "NULL" {
			m.Data = append(m.Data, canal.Cell{Name: c, Null: true})
		} else {
			m.Data = append(m.Data, canal.Cell{Name: c, S: vals[i]})
		}
		m.SQLType = append(m.SQLType, 12)
	}
	return m
}

func ddlEvent(typ string, pos uint32, sql string, pk []string, cols ...canal.ColumnDef) *canal.FlatMessage {
	return &canal.FlatMessage{Database: "shop", Table: "items", IsDDL: true, Type: typ, SQL: sql, PKNames: pk,
		ES: 1764061200000, File: "binlog.000002", Pos: pos, ServerID: 1, Columns: cols}
}

// TestSinkSchemaEvolution: ADD COLUMN with a default fills old rows as
// MySQL does, a rename keeps values, INT → BIGINT widens, a row written
// before the DDL that another queue delivers after it maps onto the new
// schema, and the change log rolls to new files at the schema change.
func TestSinkSchemaEvolution(t *testing.T) {
	e := newSinkEnv(t, 2)
	e.topic = "shop_orders"
	r := startJob(t, e.config("evolve"))
	v1 := []string{"id", "name", "n"}
	t1 := []string{"int(11)", "varchar(20)", "int(11)"}
	e.send(0, ddlEvent(canal.TypeCreate, 10, "CREATE TABLE items …", []string{"id"},
		canal.ColumnDef{Name: "id", Type: "int(11)"}, canal.ColumnDef{Name: "name", Type: "varchar(20)", Nullable: true},
		canal.ColumnDef{Name: "n", Type: "int(11)", Nullable: true}))
	e.send(1, ddlEvent(canal.TypeCreate, 10, "CREATE TABLE items …", []string{"id"},
		canal.ColumnDef{Name: "id", Type: "int(11)"}, canal.ColumnDef{Name: "name", Type: "varchar(20)", Nullable: true},
		canal.ColumnDef{Name: "n", Type: "int(11)", Nullable: true}))
	e.send(0, itemEvent(canal.TypeInsert, 20, v1, t1, "2", "two", "2"))
	e.send(1, itemEvent(canal.TypeInsert, 30, v1, t1, "1", "one", "1"))
	e.waitCommitted(r, "shop", "items", func(m *Manifest) bool { return m.Rows == 2 })

	// ALTER: add c (NOT NULL DEFAULT 7) after id, rename name → title,
	// widen n. Queue 0 delivers it first; queue 1 still has a row written
	// before it.
	alter := ddlEvent(canal.TypeAlter, 40, "ALTER TABLE items …", []string{"id"},
		canal.ColumnDef{Name: "id", Type: "int(11)"},
		canal.ColumnDef{Name: "c", Type: "int(11)", Default: ptr("7")},
		canal.ColumnDef{Name: "title", Type: "varchar(40)", Nullable: true, From: "name"},
		canal.ColumnDef{Name: "n", Type: "bigint(20)", Nullable: true})
	e.send(0, alter)
	v2 := []string{"id", "c", "title", "n"}
	t2 := []string{"int(11)", "int(11)", "varchar(40)", "bigint(20)"}
	e.send(0, itemEvent(canal.TypeInsert, 50, v2, t2, "4", "9", "four", "9000000000"))
	m := e.waitCommitted(r, "shop", "items", func(m *Manifest) bool { return m.Rows == 3 })
	e.send(1, itemEvent(canal.TypeInsert, 35, v1, t1, "3", "three", "3"), alter)
	e.send(1, itemEvent(canal.TypeUpdate, 60, v2, t2, "1", "8", "uno", "1"))
	m = e.waitCommitted(r, "shop", "items", func(m *Manifest) bool { return m.Rows == 4 && e.caughtUp(m) })
	header, rows := readFiles(t, e.root, "shop/items", m.Current, m.Schemas)
	if got := strings.Join(header, ","); got != "id,c,title,n" {
		t.Fatalf("header %s", got)
	}
	want := "1|8|uno|1\n2|7|two|2\n3|7|three|3\n4|9|four|9000000000\n"
	if got := joinRows(rows); got != want {
		t.Fatalf("current:\n%s\nwant\n%s", got, want)
	}
	if s := m.Schemas[len(m.Schemas)-1]; s.Columns[3].Type != "bigint(20)" {
		t.Fatalf("schema %+v", s)
	}
	// The change log: files of the old schema hold the old columns.
	logged := changeRows(t, e, "shop/items")
	if len(logged) != 5 {
		t.Fatalf("%d changes logged, want 5", len(logged))
	}

	// TRUNCATE empties the table at its position; a row written before
	// it, delivered by the other queue later, does not come back.
	e.send(0, ddlEvent(canal.TypeTruncate, 70, "TRUNCATE items", []string{"id"}))
	e.send(0, itemEvent(canal.TypeInsert, 80, v2, t2, "10", "1", "ten", "10"))
	e.send(1, itemEvent(canal.TypeInsert, 65, v2, t2, "5", "1", "five", "5"), ddlEvent(canal.TypeTruncate, 70, "TRUNCATE items", []string{"id"}))
	m = e.waitCommitted(r, "shop", "items", func(m *Manifest) bool { return e.caughtUp(m) && m.Rows == 1 })
	_, rows = readFiles(t, e.root, "shop/items", m.Current, m.Schemas)
	if got := joinRows(rows); got != "10|1|ten|10\n" {
		t.Fatalf("after TRUNCATE:\n%s", got)
	}

	// DROP + CREATE with another schema: a new table version.
	for q := range 2 {
		e.send(q, ddlEvent(canal.TypeErase, 90, "DROP TABLE items", nil),
			ddlEvent(canal.TypeCreate, 100, "CREATE TABLE items (sku varchar(8) primary key, qty smallint unsigned)", []string{"sku"},
				canal.ColumnDef{Name: "sku", Type: "varchar(8)"}, canal.ColumnDef{Name: "qty", Type: "smallint(5) unsigned", Nullable: true}))
	}
	m3 := &canal.FlatMessage{Database: "shop", Table: "items", PKNames: []string{"sku"}, Type: canal.TypeInsert, ES: 1764061200000,
		MySQLType: []string{"varchar(8)", "smallint(5) unsigned"}, SQLType: []int{12, 5},
		Data: []canal.Cell{{Name: "sku", S: "A-1"}, {Name: "qty", S: "65535"}}, File: "binlog.000002", Pos: 110, ServerID: 1}
	e.send(1, m3)
	m = e.waitCommitted(r, "shop", "items", func(m *Manifest) bool { return e.caughtUp(m) })
	header, rows = readFiles(t, e.root, "shop/items", m.Current, m.Schemas)
	if got := strings.Join(header, ",") + "\n" + joinRows(rows); got != "sku,qty\nA-1|65535\n" || m.Generation != 1 {
		t.Fatalf("after DROP + CREATE (generation %d):\n%s", m.Generation, got)
	}
}

// TestSinkNoPrimaryKey: a table without a primary key is a multiset:
// duplicate rows stay duplicates, DELETE … LIMIT 1 removes one copy, an
// UPDATE replaces one copy.
func TestSinkNoPrimaryKey(t *testing.T) {
	e := newSinkEnv(t, 1)
	r := startJob(t, e.config("multiset"))
	cols, types := []string{"a", "b"}, []string{"int(11)", "varchar(5)"}
	ev := func(typ string, pos uint32, vals ...string) *canal.FlatMessage {
		m := itemEvent(typ, pos, cols, types, vals...)
		m.Table, m.PKNames = "log", []string{}
		return m
	}
	e.send(0, ev(canal.TypeInsert, 10, "1", "x"), ev(canal.TypeInsert, 11, "1", "x"), ev(canal.TypeInsert, 12, "1", "x"),
		ev(canal.TypeInsert, 13, "2", "NULL"))
	e.waitCommitted(r, "shop", "log", func(m *Manifest) bool { return m.Rows == 4 })
	del := ev(canal.TypeDelete, 20, "1", "x")
	upd := ev(canal.TypeUpdate, 21, "3", "NULL")
	upd.Old = []canal.Cell{{Name: "a", S: "2"}}
	e.send(0, del, upd, ev(canal.TypeInsert, 22, "0", "z"))
	m := e.waitCommitted(r, "shop", "log", func(m *Manifest) bool { return e.caughtUp(m) })
	_, rows := readFiles(t, e.root, "shop/log", m.Current, m.Schemas)
	if got, want := joinRows(rows), "0|z\n1|x\n1|x\n3|NULL\n"; got != want {
		t.Fatalf("multiset table:\n%s\nwant\n%s", got, want)
	}
	if m.Rows != 4 {
		t.Fatalf("manifest rows %d", m.Rows)
	}
	_ = fmt.Sprint
}
