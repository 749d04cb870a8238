package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readerCase is one column of the self-test file: what arrow writes, and
// what each reader must report for it.
type readerCase struct {
	name   string
	arrow  arrow.DataType
	values []any // one per row, as appendArrow takes them; nil is NULL

	duckType string   // DESCRIBE type
	goType   string   // %T of duckdb-go's value for the non-NULL rows
	pqLeaves []string // parquet-go leaf columns: "path repetition physical logical converted"
	want     []string // duckString of each row, from both readers
}

// Rows: 0 typical, 1 upper bounds, 2 NULLs, 3 lower bounds.
func readerCases(t *testing.T) []readerCase {
	dec := func(s string, p, sc int32) decimal128.Num {
		n, err := decimal128.FromString(s, p, sc)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	micros := func(s string) arrow.Timestamp {
		tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return arrow.Timestamp(tm.UnixMicro())
	}
	days := func(s string) arrow.Date32 {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return arrow.Date32FromTime(tm)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	pair := arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	return []readerCase{
		{"id", arrow.PrimitiveTypes.Int64, []any{int64(1), int64(9223372036854775807), int64(3), int64(-9223372036854775808)},
			"BIGINT", "int64", []string{"id REQUIRED INT64 INTEGER(64,signed=true) INT_64"},
			[]string{"1", "9223372036854775807", "3", "-9223372036854775808"}},
		{"u64", arrow.PrimitiveTypes.Uint64, []any{uint64(42), uint64(18446744073709551615), nil, uint64(0)},
			"UBIGINT", "uint64", []string{"u64 OPTIONAL INT64 INTEGER(64,signed=false) UINT_64"},
			[]string{"42", "18446744073709551615", "NULL", "0"}},
		{"price", &arrow.Decimal128Type{Precision: 12, Scale: 2},
			[]any{dec("12.50", 12, 2), dec("9999999999.99", 12, 2), nil, dec("-9999999999.99", 12, 2)},
			"DECIMAL(12,2)", "duckdb.Decimal", []string{"price OPTIONAL FIXED_LEN_BYTE_ARRAY(6) DECIMAL(12,2) DECIMAL"},
			[]string{"12.50", "9999999999.99", "NULL", "-9999999999.99"}},
		{"big", &arrow.Decimal128Type{Precision: 38, Scale: 10},
			[]any{dec("-0.0000000001", 38, 10), dec("9999999999999999999999999999.9999999999", 38, 10), nil, dec("-9999999999999999999999999999.9999999999", 38, 10)},
			"DECIMAL(38,10)", "duckdb.Decimal", []string{"big OPTIONAL FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,10) DECIMAL"},
			[]string{"-0.0000000001", "9999999999999999999999999999.9999999999", "NULL", "-9999999999999999999999999999.9999999999"}},
		{"ts_utc", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
			[]any{micros("2024-02-29 12:34:56.123456"), micros("2038-01-19 03:14:07.999999"), nil, micros("1970-01-01 00:00:01")},
			"TIMESTAMP WITH TIME ZONE", "time.Time", []string{"ts_utc OPTIONAL INT64 TIMESTAMP(MICROS,isAdjustedToUTC=true) TIMESTAMP_MICROS"},
			[]string{"2024-02-29 12:34:56.123456", "2038-01-19 03:14:07.999999", "NULL", "1970-01-01 00:00:01.000000"}},
		// A zone-less arrow timestamp (MariaDB DATETIME) is a local time:
		// isAdjustedToUTC=false (arrow v15 wrote it as an instant,
		// apache/arrow GH-39466; the sink uses arrow-go v18 for that).
		{"ts_naive", &arrow.TimestampType{Unit: arrow.Microsecond},
			[]any{micros("2024-02-29 12:34:56.123456"), micros("9999-12-31 23:59:59.999999"), nil, micros("1000-01-01 00:00:00")},
			"TIMESTAMP", "time.Time", []string{"ts_naive OPTIONAL INT64 TIMESTAMP(MICROS,isAdjustedToUTC=false) TIMESTAMP_MICROS"},
			[]string{"2024-02-29 12:34:56.123456", "9999-12-31 23:59:59.999999", "NULL", "1000-01-01 00:00:00.000000"}},
		{"day", arrow.FixedWidthTypes.Date32, []any{days("2024-02-29"), days("9999-12-31"), nil, days("1000-01-01")},
			"DATE", "time.Time", []string{"day OPTIONAL INT32 DATE DATE"},
			[]string{"2024-02-29 00:00:00.000000", "9999-12-31 00:00:00.000000", "NULL", "1000-01-01 00:00:00.000000"}},
		{"dur_us", arrow.PrimitiveTypes.Int64, []any{int64(3020399999999), int64(-3020399999999), nil, int64(0)},
			"BIGINT", "int64", []string{"dur_us OPTIONAL INT64 INTEGER(64,signed=true) INT_64"},
			[]string{"3020399999999", "-3020399999999", "NULL", "0"}},
		{"name", arrow.BinaryTypes.String, []any{"👍🏽 漢字テスト", "", nil, "NULL"},
			"VARCHAR", "string", []string{"name OPTIONAL BYTE_ARRAY STRING UTF8"},
			[]string{`"👍🏽 漢字テスト"`, `""`, "NULL", `"NULL"`}},
		{"raw", arrow.BinaryTypes.Binary, []any{all, []byte{}, nil, []byte{0}},
			"BLOB", "[]uint8", []string{"raw OPTIONAL BYTE_ARRAY  "},
			[]string{base64.StdEncoding.EncodeToString(all), "", "NULL", "AA=="}},
		{"flag", arrow.FixedWidthTypes.Boolean, []any{true, false, nil, true},
			"BOOLEAN", "bool", []string{"flag OPTIONAL BOOLEAN  "},
			[]string{"true", "false", "NULL", "true"}},
		{"s", pair, []any{[]any{int32(7), "x"}, []any{nil, "y"}, nil, []any{int32(-1), nil}},
			"STRUCT(a INTEGER, b VARCHAR)", "map[string]interface {}", []string{"s.a OPTIONAL INT32 INTEGER(32,signed=true) INT_32", "s.b OPTIONAL BYTE_ARRAY STRING UTF8"},
			[]string{`{a: 7, b: "x"}`, `{a: NULL, b: "y"}`, "NULL", `{a: -1, b: NULL}`}},
	}
}

// TestParquetReaders writes one file with arrow's pqarrow (zstd) and checks
// that DuckDB and parquet-go read back every type and value exactly.
func TestParquetReaders(t *testing.T) {
	cases := readerCases(t)
	path := filepath.Join(t.TempDir(), "types.parquet")
	writeArrowParquet(t, path, cases)

	cols, types, duckRows := duckTable(t, path, "")
	pqCols, pqRaw := parquetGoRead(t, path)
	pqRows := make([]map[string]any, len(pqRaw))
	for r, raw := range pqRaw {
		pqRows[r] = parquetGoDecode(pqCols, raw)
	}
	if len(cols) != len(cases) || len(duckRows) != 4 || len(pqRaw) != 4 {
		t.Fatalf("duckdb %d columns, %d rows; parquet-go %d rows; want %d columns, 4 rows",
			len(cols), len(duckRows), len(pqRaw), len(cases))
	}
	leaves := make(map[string]parquetColumn)
	for _, c := range pqCols {
		leaves[c.Path] = c
		if c.Codec != "ZSTD" {
			t.Errorf("parquet-go: %s codec %s, want ZSTD", c.Path, c.Codec)
		}
	}
	nleaves := 0
	for _, c := range cases {
		nleaves += len(c.pqLeaves)
	}
	if len(pqCols) != nleaves {
		t.Errorf("parquet-go: %d leaf columns, want %d", len(pqCols), nleaves)
	}
	for i, c := range cases {
		if cols[i] != c.name || types[i] != c.duckType {
			t.Errorf("duckdb column %d: %s %s, want %s %s", i, cols[i], types[i], c.name, c.duckType)
		}
		for _, leaf := range c.pqLeaves {
			var path string
			fmt.Sscan(leaf, &path)
			pc := leaves[path]
			if got := fmt.Sprintf("%s %s %s %s %s", pc.Path, pc.Repetition, pc.Physical, pc.Logical, pc.Converted); got != leaf {
				t.Errorf("parquet-go column: %q, want %q", got, leaf)
			}
		}
		for r, want := range c.want {
			dv := duckRows[r][i]
			if dv != nil && fmt.Sprintf("%T", dv) != c.goType {
				t.Errorf("duckdb %s row %d: Go type %T, want %s", c.name, r, dv, c.goType)
			}
			if got := duckString(dv); got != want {
				t.Errorf("duckdb %s row %d: %s, want %s", c.name, r, got, want)
			}
			if got := duckString(pqRows[r][c.name]); got != want {
				t.Errorf("parquet-go %s row %d: %s, want %s", c.name, r, got, want)
			}
		}
	}
}

// writeArrowParquet writes the cases' rows to path as one zstd row group.
func writeArrowParquet(t *testing.T, path string, cases []readerCase) {
	t.Helper()
	fields := make([]arrow.Field, len(cases))
	for i, c := range cases {
		fields[i] = arrow.Field{Name: c.name, Type: c.arrow, Nullable: c.name != "id"}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, c := range cases {
		for _, v := range c.values {
			appendArrow(t, b.Field(i), v)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // closes f too
		t.Fatal(err)
	}
}

// appendArrow appends one value to a builder; a struct takes []any of its
// fields' values.
func appendArrow(t *testing.T, b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.StructBuilder:
		b.Append(true)
		for i, fv := range v.([]any) {
			appendArrow(t, b.FieldBuilder(i), fv)
		}
	default:
		t.Fatalf("appendArrow: no case for %T", b)
	}
}
