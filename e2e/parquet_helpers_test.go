package e2e

// Readers for the Parquet files the sink writes. Two independent
// implementations check each file: DuckDB (C++, through duckdb-go) and
// xitongsys/parquet-go (pure Go). A value both agree on, rendered by
// duckString, is what a test compares with the MariaDB source row.
//
// Go types duckdb-go returns, by DuckDB type (as scanned into `any`):
//
//	BOOLEAN                      bool
//	TINYINT … BIGINT             int8, int16, int32, int64
//	UTINYINT … UBIGINT           uint8, uint16, uint32, uint64
//	HUGEINT, UHUGEINT            *big.Int
//	FLOAT, DOUBLE                float32, float64
//	DECIMAL(p,s)                 duckdb.Decimal{Width: p, Scale: s, Value: *big.Int unscaled}
//	VARCHAR                      string
//	BLOB                         []byte
//	UUID                         []byte (16 bytes, big-endian)
//	DATE                         time.Time, midnight UTC
//	TIME                         time.Time on 0001-01-01, UTC
//	TIMESTAMP, TIMESTAMP_S/MS/NS time.Time in UTC (the naive wall clock, labelled UTC)
//	TIMESTAMP WITH TIME ZONE     time.Time in UTC (the instant)
//	INTERVAL                     duckdb.Interval{Months, Days, Micros}
//	STRUCT                       map[string]any
//	LIST, ARRAY                  []any
//	MAP                          duckdb.OrderedMap
//	JSON                         the decoded value (map[string]any, []any, float64, …)
//	NULL of any type             nil

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/xitongsys/parquet-go/common"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/reader"
	"github.com/xitongsys/parquet-go/schema"
	"github.com/xitongsys/parquet-go/source"
)

var (
	duckOnce sync.Once
	duckDB   *sql.DB
	duckErr  error
)

// duckConn returns the process-wide in-memory DuckDB. Tests only read files
// through it, so sharing it is safe; every connection runs in UTC so that
// TIMESTAMPTZ casts to text do not depend on the machine's zone.
func duckConn(t testing.TB) *sql.DB {
	t.Helper()
	duckOnce.Do(func() {
		var c *duckdb.Connector
		c, duckErr = duckdb.NewConnector("", func(e driver.ExecerContext) error {
			_, err := e.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
			return err
		})
		if duckErr == nil {
			duckDB = sql.OpenDB(c)
		}
	})
	if duckErr != nil {
		t.Fatalf("open duckdb: %v", duckErr)
	}
	return duckDB
}

// duckQuery runs query on DuckDB and returns every row, each value as
// duckdb-go returns it (see the table at the top of this file).
func duckQuery(t testing.TB, query string, args ...any) [][]any {
	t.Helper()
	out, err := duckQueryErr(t, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// duckQueryErr is duckQuery returning the error.
func duckQueryErr(t testing.TB, query string, args ...any) ([][]any, error) {
	rows, err := duckConn(t).Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("duckdb %q: %w", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("duckdb %q: scan: %w", query, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdb %q: %w", query, err)
	}
	return out, nil
}

// duckTable reads every Parquet file matching glob with read_parquet,
// ordered by orderBy (a SQL expression list; empty for file order), and
// returns the column names, their DuckDB types as DESCRIBE names them
// (e.g. "DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE", "STRUCT(a INTEGER, b VARCHAR)")
// and the rows.
func duckTable(t testing.TB, glob, orderBy string) (cols, types []string, rows [][]any) {
	t.Helper()
	q := "SELECT * FROM read_parquet(" + sqlQuote(glob) + ")"
	if orderBy != "" {
		q += " ORDER BY " + orderBy
	}
	for _, d := range duckQuery(t, "DESCRIBE "+q) {
		cols = append(cols, d[0].(string))
		types = append(types, d[1].(string))
	}
	return cols, types, duckQuery(t, q)
}

// sqlQuote makes s a SQL string literal.
func sqlQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// duckString renders a value from duckQuery (or parquetColumn.Decode)
// canonically, so two readers, or a reader and MariaDB, compare as text:
// NULL is the bare word NULL and strings are Go-quoted, so NULL, "" and
// "NULL" differ; decimals are exact with all scale digits ("12.50");
// times are UTC with microseconds, nanoseconds cut
// ("2024-02-29 12:34:56.123456"); blobs are
// standard base64; struct fields are sorted by name.
func duckString(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(v)
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case duckdb.Decimal:
		return decimalString(v.Value, int(v.Scale))
	case *big.Int:
		return v.String()
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04:05.000000")
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case duckdb.Interval:
		return fmt.Sprintf("%d months %d days %d micros", v.Months, v.Days, v.Micros)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + duckString(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = duckString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return fmt.Sprint(v)
	}
}

// decimalString renders unscaled / 10^scale exactly, keeping trailing zeros.
func decimalString(unscaled *big.Int, scale int) string {
	digits := new(big.Int).Abs(unscaled).String()
	sign := ""
	if unscaled.Sign() < 0 {
		sign = "-"
	}
	if scale <= 0 {
		return sign + digits + strings.Repeat("0", -scale)
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// parquetColumn describes one leaf column as parquet-go reads it from the
// file footer.
type parquetColumn struct {
	Path       string // external dotted path, e.g. "s.a"
	Repetition string // REQUIRED, OPTIONAL or REPEATED
	Physical   string // e.g. INT64, FIXED_LEN_BYTE_ARRAY(6)
	Logical    string // e.g. TIMESTAMP(MICROS,isAdjustedToUTC=true), DECIMAL(12,2), INTEGER(64,signed=false); "" if none
	Converted  string // legacy ConvertedType, e.g. TIMESTAMP_MICROS, UINT_64, UTF8; "" if none
	Codec      string // compression of the column's chunk in the first row group, e.g. ZSTD

	elem *parquet.SchemaElement
}

// parquetGoCodecs are the compression codecs parquet-go v1.6.2 decodes as
// other writers encode them. It has no BROTLI, and its LZ4 is the LZ4
// frame format, which is neither Parquet's LZ4 (Hadoop) nor LZ4_RAW.
var parquetGoCodecs = map[parquet.CompressionCodec]bool{
	parquet.CompressionCodec_UNCOMPRESSED: true,
	parquet.CompressionCodec_SNAPPY:       true,
	parquet.CompressionCodec_GZIP:         true,
	parquet.CompressionCodec_ZSTD:         true,
}

// parquetGoRead reads the whole file at path with parquet-go's schema-less
// reader (ReadByNumber on a struct type built from the footer). Each row is
// a map from column name to the physical value parquet-go returns — int32,
// int64, bool, float32/64, string for BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY,
// nil for NULL — with a nested map for a struct. parquetGoDecode turns a
// row into logical values.
func parquetGoRead(t testing.TB, path string) ([]parquetColumn, []map[string]any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := reader.NewParquetReader(&parquetFile{File: f}, nil, 1)
	if err != nil {
		f.Close()
		t.Fatalf("parquet-go open %s: %v", path, err)
	}
	defer func() {
		pr.ReadStop()
		f.Close()
	}()
	// parquet-go drops a column chunk's read errors (an unknown codec reads
	// as zero rows), so check the codecs and the count here.
	for _, rg := range pr.Footer.RowGroups {
		for _, cc := range rg.Columns {
			if codec := cc.MetaData.GetCodec(); !parquetGoCodecs[codec] {
				t.Fatalf("parquet-go read %s: codec %s unsupported", path, codec)
			}
		}
	}
	raw, err := pr.ReadByNumber(int(pr.GetNumRows()))
	if err != nil {
		t.Fatalf("parquet-go read %s: %v", path, err)
	}
	if int64(len(raw)) != pr.GetNumRows() {
		t.Fatalf("parquet-go read %s: %d rows, footer says %d", path, len(raw), pr.GetNumRows())
	}
	sh := pr.SchemaHandler
	rows := make([]map[string]any, len(raw))
	for i, r := range raw {
		v := reflect.ValueOf(r)
		if v.Kind() == reflect.Slice {
			// arrow writers mark the root REPEATED (their default root
			// repetition), so parquet-go wraps each row in a slice.
			if v.Len() != 1 {
				t.Fatalf("parquet-go read %s: row %d has %d records", path, i, v.Len())
			}
			v = v.Index(0)
		}
		rows[i] = parquetGoValue(v, sh.GetRootInName(), sh).(map[string]any)
	}
	return parquetGoColumns(pr), rows
}

// parquetGoColumns lists the leaf columns in schema order.
func parquetGoColumns(pr *reader.ParquetReader) []parquetColumn {
	sh := pr.SchemaHandler
	var cols []parquetColumn
	for i, el := range sh.SchemaElements {
		if el.GetNumChildren() > 0 {
			continue
		}
		exPath := common.StrToPath(sh.InPathToExPath[sh.IndexMap[int32(i)]])
		c := parquetColumn{
			Path:       strings.Join(exPath[1:], "."),
			Repetition: el.GetRepetitionType().String(),
			Physical:   el.GetType().String(),
			Logical:    logicalString(el.LogicalType),
			elem:       el,
		}
		if el.GetType() == parquet.Type_FIXED_LEN_BYTE_ARRAY {
			c.Physical += fmt.Sprintf("(%d)", el.GetTypeLength())
		}
		if el.IsSetConvertedType() {
			c.Converted = el.GetConvertedType().String()
		}
		if rgs := pr.Footer.RowGroups; len(rgs) > 0 && len(cols) < len(rgs[0].Columns) {
			c.Codec = rgs[0].Columns[len(cols)].MetaData.GetCodec().String()
		}
		cols = append(cols, c)
	}
	return cols
}

// logicalString renders a LogicalType the way the Parquet spec writes it.
func logicalString(l *parquet.LogicalType) string {
	switch {
	case l == nil:
		return ""
	case l.DECIMAL != nil:
		return fmt.Sprintf("DECIMAL(%d,%d)", l.DECIMAL.Precision, l.DECIMAL.Scale)
	case l.TIMESTAMP != nil:
		return fmt.Sprintf("TIMESTAMP(%s,isAdjustedToUTC=%t)", timeUnitString(l.TIMESTAMP.Unit), l.TIMESTAMP.IsAdjustedToUTC)
	case l.TIME != nil:
		return fmt.Sprintf("TIME(%s,isAdjustedToUTC=%t)", timeUnitString(l.TIME.Unit), l.TIME.IsAdjustedToUTC)
	case l.INTEGER != nil:
		return fmt.Sprintf("INTEGER(%d,signed=%t)", l.INTEGER.BitWidth, l.INTEGER.IsSigned)
	case l.STRING != nil:
		return "STRING"
	case l.DATE != nil:
		return "DATE"
	case l.JSON != nil:
		return "JSON"
	case l.ENUM != nil:
		return "ENUM"
	case l.UUID != nil:
		return "UUID"
	case l.LIST != nil:
		return "LIST"
	case l.MAP != nil:
		return "MAP"
	case l.UNKNOWN != nil:
		return "UNKNOWN"
	}
	return "?"
}

func timeUnitString(u *parquet.TimeUnit) string {
	switch {
	case u == nil:
		return "?"
	case u.MILLIS != nil:
		return "MILLIS"
	case u.MICROS != nil:
		return "MICROS"
	case u.NANOS != nil:
		return "NANOS"
	}
	return "?"
}

// parquetGoValue turns a value of the struct type parquet-go built into
// plain Go: nil for NULL, a map keyed by external names for a group.
func parquetGoValue(v reflect.Value, inPath string, sh *schema.SchemaHandler) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return parquetGoValue(v.Elem(), inPath, sh)
	case reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := 0; i < v.NumField(); i++ {
			child := inPath + common.PAR_GO_PATH_DELIMITER + v.Type().Field(i).Name
			m[sh.GetExName(int(sh.MapIndex[child]))] = parquetGoValue(v.Field(i), child, sh)
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = parquetGoValue(v.Index(i), inPath, sh)
		}
		return out
	}
	return v.Interface()
}

// parquetGoDecode returns a parquetGoRead row with each leaf decoded by its
// column's Decode (groups stay maps), so duckString renders each value as it
// renders DuckDB's for the same column. Lists are not decoded.
func parquetGoDecode(cols []parquetColumn, row map[string]any) map[string]any {
	byPath := make(map[string]parquetColumn, len(cols))
	for _, c := range cols {
		byPath[c.Path] = c
	}
	return decodeGroup(byPath, "", row)
}

func decodeGroup(byPath map[string]parquetColumn, prefix string, group map[string]any) map[string]any {
	out := make(map[string]any, len(group))
	for name, v := range group {
		if g, ok := v.(map[string]any); ok {
			out[name] = decodeGroup(byPath, prefix+name+".", g)
			continue
		}
		out[name] = byPath[prefix+name].Decode(v)
	}
	return out
}

// Decode converts a physical value of column c, as parquetGoRead returns
// it, to the Go type duckdb-go returns for the same logical type (uint64,
// duckdb.Decimal, time.Time, []byte, …), decoding it by the Parquet spec,
// so duckString renders both readers alike.
func (c parquetColumn) Decode(v any) any {
	if v == nil || c.elem == nil {
		return v
	}
	l := c.elem.LogicalType
	switch {
	case l != nil && l.DECIMAL != nil:
		return duckdb.Decimal{Width: uint8(l.DECIMAL.Precision), Scale: uint8(l.DECIMAL.Scale), Value: unscaledInt(v)}
	case l != nil && l.TIMESTAMP != nil:
		n := v.(int64)
		switch {
		case l.TIMESTAMP.Unit.MILLIS != nil:
			return time.UnixMilli(n).UTC()
		case l.TIMESTAMP.Unit.MICROS != nil:
			return time.UnixMicro(n).UTC()
		}
		return time.Unix(0, n).UTC()
	case l != nil && l.DATE != nil:
		return time.Unix(int64(v.(int32))*86400, 0).UTC()
	case l != nil && l.INTEGER != nil:
		return decodeInteger(v, l.INTEGER.BitWidth, l.INTEGER.IsSigned)
	case l != nil && (l.STRING != nil || l.JSON != nil || l.ENUM != nil):
		return v
	}
	if s, ok := v.(string); ok && !(c.elem.IsSetConvertedType() && c.elem.GetConvertedType() == parquet.ConvertedType_UTF8) {
		return []byte(s)
	}
	return v
}

// unscaledInt reads a DECIMAL's unscaled value: INT32/INT64, or big-endian
// two's complement bytes.
func unscaledInt(v any) *big.Int {
	switch v := v.(type) {
	case int32:
		return big.NewInt(int64(v))
	case int64:
		return big.NewInt(v)
	}
	b := []byte(v.(string))
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

// decodeInteger narrows or reinterprets an INT32/INT64 as the sized Go
// integer DuckDB uses for INTEGER(bitWidth, signed).
func decodeInteger(v any, bitWidth int8, signed bool) any {
	var n int64
	switch v := v.(type) {
	case int32:
		n = int64(v)
	case int64:
		n = v
	}
	switch {
	case signed && bitWidth == 8:
		return int8(n)
	case signed && bitWidth == 16:
		return int16(n)
	case signed && bitWidth == 32:
		return int32(n)
	case signed:
		return n
	case bitWidth == 8:
		return uint8(n)
	case bitWidth == 16:
		return uint16(n)
	case bitWidth == 32:
		return uint32(n)
	}
	return uint64(n)
}

// parquetFile is the local-file source.ParquetFile parquet-go reads from;
// Open reopens the same file so each column reader has its own offset.
type parquetFile struct {
	*os.File
}

func (f *parquetFile) Open(string) (source.ParquetFile, error) {
	g, err := os.Open(f.Name())
	if err != nil {
		return nil, err
	}
	return &parquetFile{File: g}, nil
}

func (f *parquetFile) Create(string) (source.ParquetFile, error) {
	return nil, fmt.Errorf("parquetFile %s: read only", f.Name())
}
