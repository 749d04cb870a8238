package values

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal/schema"
)

// ordersColumns is the orders table of cdc-semantics §7.
func ordersColumns() []schema.Column {
	return []schema.Column{
		{Name: "id", DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true},
		{Name: "customer", DataType: "varchar", ColumnType: "varchar(64)", Nullable: true, Charset: "utf8mb4"},
		{Name: "amount", DataType: "decimal", ColumnType: "decimal(12,2)", Nullable: true, Precision: 12, Scale: 2},
		{Name: "status", DataType: "enum", ColumnType: "enum('new','paid','shipped')", Nullable: true,
			Charset: "utf8mb4", Elems: []string{"new", "paid", "shipped"}},
		{Name: "tags", DataType: "set", ColumnType: "set('gift','rush','vip')", Nullable: true, Charset: "utf8mb4",
			Elems: []string{"gift", "rush", "vip"}},
		{Name: "note", DataType: "text", ColumnType: "text", Nullable: true, Charset: "utf8mb4"},
		{Name: "meta", DataType: "longtext", ColumnType: "longtext", Nullable: true, Charset: "utf8mb4"},
		{Name: "created_at", DataType: "datetime", ColumnType: "datetime(6)", Nullable: true, Scale: 6},
		{Name: "updated_at", DataType: "timestamp", ColumnType: "timestamp(3)", Nullable: true, Scale: 3},
		{Name: "ship_date", DataType: "date", ColumnType: "date", Nullable: true},
		{Name: "flags", DataType: "bit", ColumnType: "bit(8)", Nullable: true, Length: 8},
		{Name: "qty", DataType: "smallint", ColumnType: "smallint(5) unsigned", Nullable: true, Unsigned: true},
		{Name: "yr", DataType: "year", ColumnType: "year(4)", Nullable: true},
		{Name: "dur", DataType: "time", ColumnType: "time(6)", Nullable: true, Scale: 6},
		{Name: "img", DataType: "longblob", ColumnType: "longblob", Nullable: true, Charset: "binary"},
	}
}

// ordersRow is a typical orders row as go-mysql decodes it with
// SyncerSettings.
func ordersRow() []any {
	return []any{
		int64(-5), "Ada Lovelace 👍🏽", "1234.50", int64(2), int64(5), []byte("leave at the door"),
		[]byte(`{"source": "web", "coupon": null}`), time.Date(2024, 3, 10, 12, 34, 56, 789012000, time.UTC),
		time.Date(2024, 3, 10, 12, 34, 56, 789000000, time.Local), "2024-03-12", int64(0xa5), int16(3), 2024,
		"01:30:00", make([]byte, 512),
	}
}

// BenchmarkFromBinlog renders one orders row (15 columns); allocs/op counts
// the row's result strings.
func BenchmarkFromBinlog(b *testing.B) {
	cols, row := ordersColumns(), ordersRow()
	out := make([]Value, len(cols))
	b.ReportAllocs()
	for b.Loop() {
		for i := range cols {
			v, err := FromBinlog(&cols[i], row[i])
			if err != nil {
				b.Fatal(err)
			}
			out[i] = v
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFromBinlogColumn renders one value per column type of the
// orders row, to show where the time goes.
func BenchmarkFromBinlogColumn(b *testing.B) {
	cols, row := ordersColumns(), ordersRow()
	for i := range cols {
		b.Run(cols[i].Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromBinlog(&cols[i], row[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFromSnapshot renders the same row from the server's text.
func BenchmarkFromSnapshot(b *testing.B) {
	cols := ordersColumns()
	raw := [][]byte{[]byte("18446744073709551611"), []byte("Ada Lovelace 👍🏽"), []byte("1234.50"), []byte("paid"),
		[]byte("gift,rush"), []byte("leave at the door"), []byte(`{"source": "web", "coupon": null}`),
		[]byte("2024-03-10 12:34:56.789012"), []byte("1710074096.789"), []byte("2024-03-12"), {0xa5}, []byte("3"),
		[]byte("2024"), []byte("01:30:00.000000"), make([]byte, 512)}
	b.ReportAllocs()
	for b.Loop() {
		for i := range cols {
			if _, err := FromSnapshot(&cols[i], raw[i], false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
