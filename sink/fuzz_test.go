package sink

import (
	"encoding/json"
	"testing"
)

// FuzzSinkManifest: any bytes either decode to a manifest whose files and
// schemas check out, or give an error; never a panic.
func FuzzSinkManifest(f *testing.F) {
	good := &Manifest{Format: manifestFormat, Version: 3, Database: "shop", Table: "orders",
		Schemas: []*Schema{{ID: 1, Columns: []Column{{Name: "id", Type: "bigint(20) unsigned"}, {Name: "n", Type: "int(11)", Fill: ptr("7")}}, PK: []string{"id"}}},
		Current: []DataFile{{Path: "current/0000000003-00001.parquet", Rows: 2, Schema: 1, MinKey: "01", MaxKey: "02"}},
		Queues:  []QueueState{{Topic: "t", Broker: "b", Queue: 1, Offset: 5, Last: Version{File: "binlog.000001", Pos: 4}}}}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"format":1,"version":1,"database":"d","table":"t","schemas":[{"id":1,"columns":[{"name":"a","type":"nope"}]}]}`))
	f.Add([]byte(`{"format":1,"version":1,"database":"d","table":"t","schemas":[{"id":1,"columns":[{"name":"a","type":"int"}],"pk":["b"]}]}`))
	f.Add([]byte(`{"format":1,"version":1,"database":"d","table":"t","schemas":[{"id":1,"columns":[{"name":"a","type":"int"}]}],"current":[{"path":"../x","schema":1}]}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		if m.Version < 1 || len(m.Schemas) == 0 {
			t.Fatalf("accepted %+v", m)
		}
		for _, s := range m.Schemas {
			for _, i := range s.pk {
				if i < 0 || i >= len(s.Columns) {
					t.Fatalf("pk index %d of %d columns", i, len(s.Columns))
				}
			}
		}
	})
}

// FuzzSinkCheckpoint: a job checkpoint decodes or errors.
func FuzzSinkCheckpoint(f *testing.F) {
	f.Add([]byte(`{"format":1,"group":"g","queues":[{"topic":"t","broker":"b","queue":0,"offset":7}],"tables":["shop.orders"]}`))
	f.Add([]byte(`{"format":1,"queues":[{"topic":"","broker":"b","queue":0,"offset":7}]}`))
	f.Add([]byte(`{"format":1,"queues":[{"topic":"t","broker":"b","queue":0,"offset":-1}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		for _, q := range cp.Queues {
			if q.Offset < 0 || q.Topic == "" {
				t.Fatalf("accepted %+v", q)
			}
		}
	})
}

// FuzzSinkPendingValues: the pending store's row encoding round-trips,
// and damaged bytes are an error.
func FuzzSinkPendingValues(f *testing.F) {
	f.Add([]byte(appendValues(nil, []value{{s: "1"}, {null: true}, {s: ""}, {s: "👍🏽"}})), 4)
	f.Add([]byte{0x05, 'a'}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		vals := make([]value, n)
		if err := decodeValues(b, vals); err != nil {
			return
		}
		// What decodes re-encodes (canonically) to the same values.
		again := make([]value, n)
		if err := decodeValues(appendValues(nil, vals), again); err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			if vals[i] != again[i] {
				t.Fatalf("value %d: %+v then %+v", i, vals[i], again[i])
			}
		}
	})
}

// FuzzSinkVersion: version order is a total order consistent with
// equality.
func FuzzSinkVersion(f *testing.F) {
	f.Add("binlog.000009", uint32(4), int32(0), "binlog.000010", uint32(4), int32(-1))
	f.Add("binlog.999999", uint32(1), int32(0), "binlog.1000000", uint32(1), int32(0))
	f.Add("a", uint32(0), int32(0), "a.b", uint32(0), int32(0))
	f.Fuzz(func(t *testing.T, f1 string, p1 uint32, r1 int32, f2 string, p2 uint32, r2 int32) {
		a, b := Version{File: f1, Pos: p1, Row: r1}, Version{File: f2, Pos: p2, Row: r2}
		if a.Compare(b) != -b.Compare(a) {
			t.Fatalf("%v vs %v: %d and %d", a, b, a.Compare(b), b.Compare(a))
		}
		if (a.Compare(b) == 0) != (a == b) {
			t.Fatalf("%v and %v compare equal but differ", a, b)
		}
	})
}
