package schema

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var testServer = &Server{Flavor: FlavorMariaDB, Version: "10.11.6-MariaDB-log", Charset: "utf8mb4"}

// testHistory is a History in a temporary directory with helpers that
// apply DDL at increasing positions of binlog.000001.
type testHistory struct {
	*History
	t    testing.TB
	path string
	pos  uint32
}

func newTestHistory(t testing.TB, dbs ...*Database) *testHistory {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schema.history")
	h, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if len(dbs) == 0 {
		dbs = []*Database{{Name: "d", Charset: "utf8mb4"}, {Name: "d2", Charset: "utf8mb4"}}
	}
	th := &testHistory{History: h, t: t, path: path, pos: 4}
	if err := h.BootstrapSnapshot(th.key(), &Snapshot{Server: testServer, Databases: dbs}); err != nil {
		t.Fatal(err)
	}
	return th
}

func (th *testHistory) key() Key { return Key{File: "binlog.000001", Pos: th.pos} }

func (th *testHistory) next() Key {
	th.pos += 100
	return th.key()
}

// exec applies statements, each at its own position, in default database
// d, and returns the changes of the last.
func (th *testHistory) exec(stmts ...string) []Change {
	th.t.Helper()
	var changes []Change
	for _, s := range stmts {
		var err error
		if changes, err = th.ApplyDDL(th.next(), "d", s); err != nil {
			th.t.Fatalf("ApplyDDL(%q): %v", s, err)
		}
	}
	return changes
}

func (th *testHistory) table(schema, name string) *Table {
	th.t.Helper()
	t, ok := th.Table(schema, name)
	if !ok {
		th.t.Fatalf("table %s.%s not in the history", schema, name)
	}
	return t
}

func (th *testHistory) reopen() {
	th.t.Helper()
	if err := th.Close(); err != nil {
		th.t.Fatal(err)
	}
	h, err := Open(th.path)
	if err != nil {
		th.t.Fatal(err)
	}
	th.t.Cleanup(func() { h.Close() })
	th.History = h
}

func colNames(t *Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

func col(t testing.TB, tb *Table, name string) Column {
	t.Helper()
	i := tb.ColumnIndex(name)
	if i < 0 {
		t.Fatalf("table %s has no column %s (has %s)", tb, name, colNames(tb))
	}
	return tb.Columns[i]
}

func str(s string) *string { return &s }

// tableDiff describes every difference of two tables, field by field.
func tableDiff(want, got *Table) string {
	var diffs []string
	if want.Schema != got.Schema || want.Name != got.Name {
		diffs = append(diffs, fmt.Sprintf("name %s, want %s", got, want))
	}
	if want.Charset != got.Charset {
		diffs = append(diffs, fmt.Sprintf("charset %q, want %q", got.Charset, want.Charset))
	}
	if !reflect.DeepEqual(want.PK, got.PK) && len(want.PK)+len(got.PK) > 0 {
		diffs = append(diffs, fmt.Sprintf("PK %v, want %v", got.PK, want.PK))
	}
	if colNames(want) != colNames(got) {
		diffs = append(diffs, fmt.Sprintf("columns %s, want %s", colNames(got), colNames(want)))
		return strings.Join(diffs, "; ")
	}
	for i := range want.Columns {
		w, g := want.Columns[i], got.Columns[i]
		field := func(name string, a, b any) {
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("%s.%s = %#v, want %#v", w.Name, name, b, a))
			}
		}
		field("DataType", w.DataType, g.DataType)
		field("ColumnType", w.ColumnType, g.ColumnType)
		field("Unsigned", w.Unsigned, g.Unsigned)
		field("Nullable", w.Nullable, g.Nullable)
		field("Charset", w.Charset, g.Charset)
		field("Precision", w.Precision, g.Precision)
		field("Scale", w.Scale, g.Scale)
		field("Length", w.Length, g.Length)
		if len(w.Elems)+len(g.Elems) > 0 {
			field("Elems", w.Elems, g.Elems)
		}
		wd, gd := "<nil>", "<nil>"
		if w.Default != nil {
			wd = fmt.Sprintf("%q", *w.Default)
		}
		if g.Default != nil {
			gd = fmt.Sprintf("%q", *g.Default)
		}
		field("Default", wd, gd)
	}
	return strings.Join(diffs, "; ")
}
