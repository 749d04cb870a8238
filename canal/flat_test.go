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

// TestCanalFlatRowTemplate: the per-event template writes appendJSON's
// bytes, with and without an XID slot, for awkward names and values.
func TestCanalFlatRowTemplate(t *testing.T) {
	m := sampleRow()
	m.Data = append(m.Data, Cell{Name: "wéird \"name\"\u2028", S: "\xff\x00"})
	m.SQLType = append(m.SQLType, 12)
	ms := []*FlatMessage{m, {ID: 3, Database: "d", Table: "t", PKNames: []string{}, Type: TypeInsert,
		SQLType: []int{4}, MySQLType: []string{"int"}, Data: []Cell{{Name: "a", Null: true}}, Old: []Cell{},
		File: "f", Row: 12, XID: 9, ServerID: 4}}
	for _, m := range ms {
		names := make([]string, len(m.Data))
		for i, c := range m.Data {
			names[i] = c.Name
		}
		tpl := newRowTemplate(m, names, m.SQLType, m.MySQLType).forEvent(m)
		for _, slot := range []bool{false, true} {
			want, wantAt := m.appendJSON(nil, slot)
			got, gotAt := tpl.appendJSON([]byte("x"), m.ID, m.Type, m.Data, m.Old, m.Row, m.XID, slot)
			if slot {
				gotAt-- // the template appended after "x"
			}
			if string(got[1:]) != string(want) || gotAt != wantAt {
				t.Fatalf("slot %v:\n got %s (%d)\nwant %s (%d)", slot, got[1:], gotAt, want, wantAt)
			}
		}
		if EventID(m.ServerID, m.File, m.Pos, m.Row) != eventIDOf(eventIDPrefix(m.ServerID, m.File, m.Pos), m.Row) {
			t.Fatal("eventIDOf differs from EventID")
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

// flatDiffSeeds are inputs on the edges where a hand-written decoder and
// encoding/json could part: key case, repeated keys, nulls, escapes,
// surrogates, invalid UTF-8, numbers, nesting, trailing data.
var flatDiffSeeds = []string{
	`{"ID":1,"DATABASE":"d","Type":"INSERT","ſql":"x","pKNames":["a",null]}`,
	`{"id":1,"id":null,"database":"d","type":"INSERT"}`,
	`{"id":null,"id":2,"database":"d","database":null,"type":"INSERT","isDdl":true,"isDdl":null}`,
	`{"id":1,"database":"d","type":"INSERT","sqlType":5,"sqlType":{"a":"7","b":null,"c":-0}}`,
	`{"id":1,"database":"d","type":"INSERT","sqlType":{"a":1.5}}`,
	`{"id":1,"database":"d","type":"INSERT","sqlType":{"a":"+12"},"mysqlType":{"a":1e3,"b":null}}`,
	`{"id":1,"database":"d","type":"INSERT","data":[null]}`,
	`{"id":1,"database":"d","type":"INSERT","data":[{}],"old":[]}`,
	`{"id":1,"database":"d","type":"INSERT","data":["x"]}`,
	`{"id":1,"database":"d","type":"INSERT","data":[{"a":"1"},[[[]]]]}`,
	`{"id":1,"database":"d","type":"INSERT","data":[{"a":true}],"data":[{"\u0061":"1","a":"2"}]}`,
	`{"id":1,"database":"d","type":"INSERT","data":[{"a":"\ud83d\ude00\ud83d\u0041\udc00\"\\\/\b\f\n\r\t","b":"` + "\xff\xed\xa0\x80é\xe2\x82" + `"}]}`,
	`{"id":1,"database":"d","type":"INSERT","data":"x"}`,
	`{"id":1.0,"database":"d","type":"INSERT"}`,
	`{"id":-0,"database":"d","type":"INSERT","pos":-0}`,
	`{"id":1,"database":"d","type":"INSERT","pos":4294967296}`,
	`{"id":1,"database":"d","type":"INSERT","xid":18446744073709551615,"serverId":4294967295,"row":-1}`,
	`{"id":1,"database":"d","type":"INSERT","columns":[null]}`,
	`{"id":1,"database":"d","type":"INSERT","columns":[]}`,
	`{"id":1,"database":"d","type":"INSERT","columns":[{"NAME":"a","type":"int","default":"1","default":null,"x":[{}]}]}`,
	`{"id":1,"database":"d","type":"INSERT","columns":[{"name":"a","type":"int","default":5}]}`,
	`{"id":1,"database":"d","type":"INSERT","unknown":{"a":[1,{"b":"\u00e9"}],"c":-1.5e+7}}`,
	`{"id":1,"database":"d","type":"INSERT"}}`,
	`{"id":1,"database":"d","type":"INSERT"} x`,
	` {"id":1,"database":"d","type":"INSERT"} ` + "\n",
	`{"id":01,"database":"d","type":"INSERT"}`,
	`{"id":1,"database":"d","type":"INSERT","sql":"a` + "\x01" + `"}`,
	`{"id":1,"database":"d","type":"INSERT",}`,
	`{"id":1,"database":"d","type":"INSERT","data":[{"a":"1",}]}`,
	`null`,
	`[]`,
}

// TestCanalFlatDecodeMatchesReference runs the differential check on the
// seeds (the fuzz test explores from them).
func TestCanalFlatDecodeMatchesReference(t *testing.T) {
	// encoding/json's nesting limit, 10,000 with the message itself (too
	// slow a seed for the fuzzer).
	deep := func(n int) string {
		return `{"id":1,"database":"d","type":"INSERT","x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	for _, s := range append(flatDiffSeeds, string(sampleRow().AppendJSON(nil)), string(benchFlatRow()), deep(9999), deep(10000)) {
		checkFlatDecode(t, []byte(s))
	}
}

// FuzzCanalFlatDecodeDiff holds DecodeFlat to the encoding/json decoder it
// replaced: both accept or both reject, and what they accept is equal.
func FuzzCanalFlatDecodeDiff(f *testing.F) {
	for _, s := range flatDiffSeeds {
		f.Add([]byte(s))
	}
	f.Add(sampleRow().AppendJSON(nil))
	f.Add(benchFlatRow())
	f.Fuzz(func(t *testing.T, b []byte) { checkFlatDecode(t, b) })
}

func checkFlatDecode(t *testing.T, b []byte) {
	t.Helper()
	want, werr := decodeFlatRefStrict(b)
	got, err := DecodeFlat(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q:\nDecodeFlat: %v\nreference:  %v", b, err, werr)
	}
	if err != nil {
		if !errors.Is(err, ErrBadEvent) {
			t.Fatalf("%q: error %v is not an ErrBadEvent", b, err)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
}

// benchFlatRow is an orders-like row event of 15 columns.
func benchFlatRow() []byte {
	names := []string{"id", "customer_id", "status", "amount", "currency", "items", "note", "created_at",
		"updated_at", "shipped_at", "paid", "discount", "tax", "country", "email"}
	vals := []string{"18446744073709", "4242", "paid", "1234.50", "EUR", "3", "leave at the door, \"back\"",
		"2026-11-25 10:00:00.123456", "2026-11-25T10:00:00.123Z", "", "1", "0.00", "234.56", "DE", "zoë@example.com"}
	m := &FlatMessage{ID: EventID(1, "binlog.000003", 1234, 7), Database: "shop", Table: "orders",
		PKNames: []string{"id"}, Type: TypeUpdate, ES: 1764000000000, TS: 1764000000123,
		GTID: "0-1-100", File: "binlog.000003", Pos: 1234, Row: 7, XID: 77, ServerID: 1}
	for i, n := range names {
		m.SQLType = append(m.SQLType, 12)
		m.MySQLType = append(m.MySQLType, "varchar(64)")
		c := Cell{Name: n, S: vals[i]}
		if vals[i] == "" {
			c.Null = true
		}
		m.Data = append(m.Data, c)
	}
	m.Old = []Cell{{Name: "status", S: "new"}, {Name: "amount", S: "1000.00"}}
	return m.AppendJSON(nil)
}

// BenchmarkCanalFlatDecode decodes an orders-like row event (15 columns),
// as the Parquet sink does for every message.
func BenchmarkCanalFlatDecode(b *testing.B) {
	for _, bc := range []struct {
		name   string
		decode func([]byte) (*FlatMessage, error)
	}{{"scanner", DecodeFlat}, {"encoding-json", decodeFlatRef}} {
		b.Run(bc.name, func(b *testing.B) {
			msg := benchFlatRow()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := bc.decode(msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			// CPU per message (GC included) holds on a busy machine, where
			// msgs/s measures the share of the CPU the benchmark got.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/msg")
		})
	}
}

// BenchmarkCanalFlatEncodeRow encodes the orders-like row event as the
// stream does (the template of its rows event) and field by field.
func BenchmarkCanalFlatEncodeRow(b *testing.B) {
	m, err := DecodeFlat(benchFlatRow())
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(m.Data))
	for i, c := range m.Data {
		names[i] = c.Name
	}
	tpl := newRowTemplate(m, names, m.SQLType, m.MySQLType).forEvent(m)
	buf, _ := m.appendJSON(nil, true)
	b.Run("template", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			buf, _ = tpl.appendJSON(buf[:0], m.ID, m.Type, m.Data, m.Old, m.Row, 0, true)
		}
	})
	b.Run("fields", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			buf, _ = m.appendJSON(buf[:0], true)
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
