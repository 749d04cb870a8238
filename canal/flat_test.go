package canal

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleRow() *FlatMessage {
	return &FlatMessage{
		ID: EventID(1, "binlog.000003", 1234, 0), Database: "shop", Table: "orders", PKNames: []string{"id"},
		Type: TypeUpdate, ES: 1764000000000, TS: 1764000000123,
		SQLType:   []int{-5, 12, 3, 2005},
		MySQLType: []string{"bigint(20) unsigned", "varchar(64)", "decimal(12,2)", "text"},
		Data: []Cell{{Name: "id", S: "18446744073709551615"}, {Name: "customer", S: "Zoë \"👍🏽\"\n\t\\ 中文"},
			{Name: "amount", S: "12.50"}, {Name: "note", Null: true}},
		Old:  []Cell{{Name: "amount", S: "10.00"}},
		GTID: "0-1-100", File: "binlog.000003", Pos: 1234, Row: 0, XID: 77, ServerID: 1,
	}
}

// TestCanalFlatRoundTrip: what AppendJSON writes is valid JSON that
// DecodeFlat reads back field for field, in column order.
func TestCanalFlatRoundTrip(t *testing.T) {
	for _, m := range []*FlatMessage{
		sampleRow(),
		{ID: 5, Database: "shop", Table: "orders", IsDDL: true, Type: TypeAlter,
			SQL: "ALTER TABLE orders ADD COLUMN c INT", File: "binlog.000004", Pos: 4, XID: 0},
		{ID: 7, Database: "shop", Table: "orders", PKNames: []string{"id"}, IsDDL: true, Type: TypeAlter,
			SQL: "ALTER TABLE orders ADD COLUMN c INT NOT NULL DEFAULT 7, RENAME COLUMN a TO \"b\"", File: "binlog.000004", Pos: 5,
			Columns: []ColumnDef{{Name: "id", Type: "bigint(20) unsigned"}, {Name: "b", Type: "varchar(3)", Nullable: true, From: "a"},
				{Name: "c", Type: "int(11)", Default: ptr("7")}, {Name: "t", Type: "timestamp", DefaultFn: "current_timestamp"}}},
		{ID: 6, Database: "shop", Table: "t", PKNames: []string{}, Type: TypeInsert, SQLType: []int{4},
			MySQLType: []string{"int(11)"}, Data: []Cell{{Name: "a", S: "1"}}, Snapshot: true, Row: -1, File: "b.1", Pos: 9},
	} {
		b := m.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		got, err := DecodeFlat(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v\njson %s", got, m, b)
		}
	}
}

// TestCanalFlatShape checks the field names and types a Canal consumer
// reads: Canal's FlatMessage fields plus Sluice's.
func TestCanalFlatShape(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(sampleRow().AppendJSON(nil), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "database", "table", "pkNames", "isDdl", "type", "es", "ts", "sql", "sqlType",
		"mysqlType", "data", "old", "gtid", "file", "pos", "row", "xid", "serverId"} {
		if _, ok := v[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	if _, ok := v["id"].(float64); !ok {
		t.Errorf("id is %T, want a number (Canal's is a long)", v["id"])
	}
	data := v["data"].([]any)[0].(map[string]any)
	if data["note"] != nil || data["id"] != "18446744073709551615" {
		t.Errorf("data = %v", data)
	}
	if st := v["sqlType"].(map[string]any); st["id"] != float64(-5) {
		t.Errorf("sqlType = %v", st)
	}
}

// TestCanalFlatXIDSlot: an event encoded before its transaction's XID is
// known gets it patched in and stays valid JSON, for any XID.
func TestCanalFlatXIDSlot(t *testing.T) {
	for _, xid := range []uint64{0, 7, 1 << 40, ^uint64(0)} {
		m := sampleRow()
		b, at := m.appendJSON(nil, true)
		patchXID(b, at, xid)
		got, err := DecodeFlat(b)
		if err != nil {
			t.Fatalf("xid %d: %v\n%s", xid, err, b)
		}
		m.XID = xid
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("xid %d: got %+v", xid, got)
		}
	}
}

func TestCanalFlatDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{`, "unexpected EOF"},
		{`{"database":"d","type":"INSERT"}`, "id, database and type are required"},
		{`{"id":1,"database":"d","type":"INSERT","data":[{"a":"1"},{"a":"2"}]}`, "2 rows in data"},
		{`{"id":1,"database":"d","type":"INSERT","data":[{"a":"1","a":"2"}]}`, `column "a" appears twice`},
		{`{"id":1,"database":"d","type":"INSERT","data":[{"a":[1]}]}`, "want a string or null"},
		{`{"id":1,"database":"d","type":"INSERT","sqlType":{"a":"x"}}`, `sqlType of a is "x"`},
		{`{"id":1,"database":"d","type":"INSERT"} {}`, "data after the message"},
	} {
		_, err := DecodeFlat([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrBadEvent) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeFlat(%s) = %v, want an ErrBadEvent containing %q", tc.in, err, tc.want)
		}
	}
}

func TestCanalEventIDStable(t *testing.T) {
	a := EventID(1, "binlog.000001", 4, 0)
	if a != EventID(1, "binlog.000001", 4, 0) || a < 0 {
		t.Fatal("EventID is not stable and non-negative")
	}
	seen := map[int64]bool{a: true}
	for _, id := range []int64{EventID(2, "binlog.000001", 4, 0), EventID(1, "binlog.000002", 4, 0),
		EventID(1, "binlog.000001", 5, 0), EventID(1, "binlog.000001", 4, 1), EventID(1, "binlog.000001", 4, -1)} {
		if seen[id] {
			t.Fatalf("EventID collision: %d", id)
		}
		seen[id] = true
	}
}

func FuzzCanalFlatDecode(f *testing.F) {
	f.Add(sampleRow().AppendJSON(nil))
	f.Add([]byte(`{"id":1,"database":"d","table":"t","isDdl":true,"type":"ALTER","sql":"x","data":null}`))
	f.Add([]byte(`{"id":1,"database":"d","type":"INSERT","data":[{"a":1.5e3,"b":null}]}`))
	f.Add([]byte(`{"id":`))
	f.Add([]byte(`{"id":1,"database":"d","table":"t","isDdl":true,"type":"ALTER","columns":[{"name":"a","type":"int","default":"1","from":"z"}]}`))
	f.Add([]byte(`{"id":1,"database":"d","table":"t","isDdl":true,"type":"ALTER","columns":[{"name":"","type":"int"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeFlat(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to valid JSON that decodes the same.
		out := m.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("re-encoded invalid JSON: %s", out)
		}
		m2, err := DecodeFlat(out)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		if len(m2.Data) != len(m.Data) || m2.ID != m.ID || m2.Type != m.Type {
			t.Fatalf("re-decoded differently: %+v vs %+v", m2, m)
		}
	})
}

func BenchmarkCanalFlatAppendJSON(b *testing.B) {
	m := sampleRow()
	buf := m.AppendJSON(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendJSON(buf[:0])
	}
}

func ptr[T any](v T) *T { return &v }
