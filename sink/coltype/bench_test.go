package coltype

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ordersRow is one row of the orders table of cdc-semantics §7, as
// mysqlType and event strings.
var ordersRow = []struct{ typ, val string }{
	{"bigint(20) unsigned", "18446744073709551615"},
	{"varchar(64)", "Zoë 👍🏽"},
	{"decimal(12,2)", "12345.50"},
	{"enum('new','paid','shipped')", "paid"},
	{"set('gift','rush','vip')", "gift,vip"},
	{"text", "a short note about the order, with a few words"},
	{"json", `{"a":[1,2],"b":"x"}`},
	{"datetime(6)", "2024-03-10 12:34:56.123456"},
	{"timestamp(3)", "2024-03-10T12:34:56.789Z"},
	{"date", "2024-03-12"},
	{"bit(8)", "165"},
	{"smallint(5) unsigned", "65535"},
	{"year", "2024"},
	{"time(6)", "-12:34:56.000001"},
	{"longblob", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
}

// BenchmarkColtypeAppend appends orders rows column by column, building a
// record batch every batchRows rows as the sink would.
func BenchmarkColtypeAppend(b *testing.B) {
	const batchRows = 4096
	mem := memory.NewGoAllocator()
	types := make([]Type, len(ordersRow))
	builders := make([]array.Builder, len(ordersRow))
	raws := make([]*array.StringBuilder, len(ordersRow))
	bytesPerRow := 0
	for i, c := range ordersRow {
		types[i] = mustParse(b, c.typ)
		builders[i] = array.NewBuilder(mem, types[i].Arrow())
		if types[i].HasRaw() {
			raws[i] = array.NewStringBuilder(mem)
		}
		bytesPerRow += len(c.val)
	}
	b.SetBytes(int64(bytesPerRow))
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	for n := range b.N {
		for i, c := range ordersRow {
			if err := types[i].AppendWithRaw(builders[i], raws[i], c.val, false); err != nil {
				b.Fatal(err)
			}
		}
		if n%batchRows == batchRows-1 {
			for i := range builders {
				builders[i].NewArray().Release()
				if raws[i] != nil {
					raws[i].NewArray().Release()
				}
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkColtypeKey encodes the orders row as a whole-row key (a table
// without a primary key).
func BenchmarkColtypeKey(b *testing.B) {
	types := make([]Type, len(ordersRow))
	for i, c := range ordersRow {
		types[i] = mustParse(b, c.typ)
	}
	var key []byte
	b.ReportAllocs()
	for range b.N {
		key = key[:0]
		for i, c := range ordersRow {
			var err error
			if key, err = AppendKey(key, types[i], c.val); err != nil {
				b.Fatal(err)
			}
		}
	}
}
