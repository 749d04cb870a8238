package schema

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
)

// recordStream returns the records of a small history as file bytes
// (without the magic).
func recordStream(t testing.TB) []byte {
	var out []byte
	for _, r := range []*record{
		{kind: kindSnapshot, Key: Key{"binlog.000001", 4}, Server: testServer, DatabasesSet: true,
			Databases: []dbEntry{{"d", &Database{Name: "d", Charset: "utf8mb4"}}},
			Tables: []tableEntry{{"d", "t", &Table{Schema: "d", Name: "t", Charset: "utf8mb4", PK: []int{0},
				Columns: []Column{{Name: "a", DataType: "int", ColumnType: "int(11)"}, {Name: "e", DataType: "enum", ColumnType: "enum('x')", Elems: []string{"x"}, Default: str("x")}}}}}},
		{kind: kindChange, Key: Key{"binlog.000001", 200}, SQL: "DROP TABLE t", Tables: []tableEntry{{"d", "t", nil}}},
		{kind: kindRewind, Key: Key{"binlog.000001", 100}},
		{kind: kindChange, Key: Key{"binlog.000002", 4}, Databases: []dbEntry{{"d", nil}}},
	} {
		buf, err := encodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf...)
	}
	return out
}

func FuzzHistoryRecords(f *testing.F) {
	valid := recordStream(f)
	f.Add(valid)
	f.Add([]byte{})
	for _, n := range []int{1, headerSize - 1, headerSize, headerSize + 7, len(valid) / 2, len(valid) - 1} {
		f.Add(valid[:n])
	}
	for _, i := range []int{0, 4, 9, 13, headerSize + 2, len(valid) / 2} {
		b := append([]byte(nil), valid...)
		b[i] ^= 0x5a
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, good, err := scanRecords(data)
		if good < 0 || good > len(data) {
			t.Fatalf("good = %d of %d", good, len(data))
		}
		if err != nil {
			return
		}
		h := &History{parser: parser.New()}
		h.reset()
		var again []byte
		for _, r := range recs {
			h.apply(r)
			buf, err := encodeRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			again = append(again, buf...)
		}
		for _, tb := range h.Tables() {
			if err := checkTable(tb); err != nil {
				t.Fatal(err)
			}
			h.TableAt(Key{"binlog.000001", 150}, tb.Schema, tb.Name)
		}
		// The good records re-encode to records that decode the same.
		recs2, good2, err := scanRecords(again)
		if err != nil || good2 != len(again) || len(recs2) != len(recs) {
			t.Fatalf("re-encoded records: %v, %d of %d, %d records", err, good2, len(again), len(recs2))
		}
		for i := range recs {
			if !reflect.DeepEqual(recs[i], recs2[i]) {
				t.Fatalf("record %d changed by a round trip: %+v → %+v", i, recs[i], recs2[i])
			}
		}
	})
}

func FuzzApplyDDL(f *testing.F) {
	for _, s := range append(append([]string{}, mariaSteps...),
		"ALTER TABLE t ADD COLUMN x INT AFTER a, DROP COLUMN e, RENAME TO d.u",
		"RENAME TABLE t TO a, a TO b",
		"ALTER TABLE t CHANGE a b POINT SRID 4326 NOT NULL",
		"ALTER TABLE t ADD PRIMARY KEY (e(3))",
		"ALTER TABLE t ALTER COLUMN a SET DEFAULT (now())",
		"CREATE TABLE x (a NATIONAL CHAR VARYING(3), b NCHAR)",
		"DROP DATABASE d",
		"CREATE DATABASE ``",
		"/*M!100000 ALTER TABLE t ADD c INT */",
		"ALTER TABLE t ADD COLUMN `weird``name` ENUM('a''b') DEFAULT 'A''B'",
	) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		h := &History{parser: parser.New()}
		h.reset()
		h.apply(&record{kind: kindSnapshot, Key: Key{"b.1", 4}, Server: testServer, DatabasesSet: true,
			Databases: []dbEntry{{"d", &Database{Name: "d", Charset: "latin1"}}, {"shop", &Database{Name: "shop", Charset: "utf8mb4"}}},
			Tables: []tableEntry{{"d", "t", &Table{Schema: "d", Name: "t", Charset: "latin1", PK: []int{0},
				Columns: []Column{{Name: "a", DataType: "int", ColumnType: "int(11)"}, {Name: "e", DataType: "enum", ColumnType: "enum('x')", Elems: []string{"x"}, Charset: "latin1"}}}}}})
		r, changes, err := h.plan(Key{"b.1", 100}, "d", sql)
		if err != nil {
			if r != nil || changes != nil {
				t.Fatal("an error with changes")
			}
			return
		}
		if r == nil {
			return
		}
		if err := r.check(); err != nil {
			t.Fatalf("ApplyDDL would write a record Open refuses: %v", err)
		}
		if _, err := encodeRecord(r); err != nil {
			t.Fatal(err)
		}
		h.apply(r)
		for _, tb := range h.Tables() {
			if err := checkTable(tb); err != nil {
				t.Fatal(err)
			}
			for _, c := range tb.Columns {
				if c.Name == "" || c.DataType == "" || strings.TrimSpace(c.ColumnType) == "" {
					t.Fatalf("column without name or type in %s: %+v", tb, c)
				}
			}
		}
	})
}
