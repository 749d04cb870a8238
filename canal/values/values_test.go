package values

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/schema"
)

// c builds a nullable column of a data type.
func c(dataType string, opts ...func(*schema.Column)) *schema.Column {
	col := &schema.Column{Name: "c", DataType: dataType, ColumnType: dataType, Nullable: true}
	for _, o := range opts {
		o(col)
	}
	return col
}

func unsigned(col *schema.Column)    { col.Unsigned = true }
func notNull(col *schema.Column)     { col.Nullable = false }
func fsp(n int) func(*schema.Column) { return func(col *schema.Column) { col.Scale = n } }
func length(n int) func(*schema.Column) {
	return func(col *schema.Column) { col.Length = n }
}
func cs(name string) func(*schema.Column)    { return func(col *schema.Column) { col.Charset = name } }
func elems(e ...string) func(*schema.Column) { return func(col *schema.Column) { col.Elems = e } }
func decimal(p, s int) func(*schema.Column) {
	return func(col *schema.Column) { col.Precision, col.Scale = p, s }
}

// binlogCase is a value as go-mysql decodes it and its rendering; want
// "" with err set expects an error wrapping err.
type binlogCase struct {
	name string
	col  *schema.Column
	v    any
	want string
	err  error
}

func runBinlog(t *testing.T, cases []binlogCase) {
	t.Helper()
	for _, tc := range cases {
		got, err := FromBinlog(tc.col, tc.v)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: FromBinlog(%T %v) = %q, %v; want error %v", tc.name, tc.v, tc.v, got.S, err, tc.err)
			}
			continue
		}
		if err != nil || got.Null || got.S != tc.want {
			t.Errorf("%s: FromBinlog(%T %v) = %+v, %v; want %q", tc.name, tc.v, tc.v, got, err, tc.want)
		}
	}
}

// snapshotCase is the server's bytes for SelectExpr(col) and their
// rendering.
type snapshotCase struct {
	name string
	col  *schema.Column
	raw  string
	want string
	err  error
}

func runSnapshot(t *testing.T, cases []snapshotCase) {
	t.Helper()
	for _, tc := range cases {
		got, err := FromSnapshot(tc.col, []byte(tc.raw), false)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: FromSnapshot(%q) = %q, %v; want error %v", tc.name, tc.raw, got.S, err, tc.err)
			}
			continue
		}
		if err != nil || got.Null || got.S != tc.want {
			t.Errorf("%s: FromSnapshot(%q) = %+v, %v; want %q", tc.name, tc.raw, got, err, tc.want)
		}
	}
}

func TestValuesIntegers(t *testing.T) {
	runBinlog(t, []binlogCase{
		{"tinyint min", c("tinyint"), int8(-128), "-128", nil},
		{"tinyint max", c("tinyint"), int8(127), "127", nil},
		{"tinyint unsigned max", c("tinyint", unsigned), int8(-1), "255", nil},
		{"tinyint unsigned 128", c("tinyint", unsigned), int8(-128), "128", nil},
		{"smallint unsigned max", c("smallint", unsigned), int16(-1), "65535", nil},
		{"smallint min", c("smallint"), int16(-32768), "-32768", nil},
		{"mediumint min", c("mediumint"), int32(-8388608), "-8388608", nil},
		{"mediumint unsigned max", c("mediumint", unsigned), int32(-1), "16777215", nil},
		{"mediumint unsigned 2^23", c("mediumint", unsigned), int32(-8388608), "8388608", nil},
		{"int unsigned max", c("int", unsigned), int32(-1), "4294967295", nil},
		{"int min", c("int"), int32(-2147483648), "-2147483648", nil},
		{"bigint min", c("bigint"), int64(-9223372036854775808), "-9223372036854775808", nil},
		{"bigint unsigned max", c("bigint", unsigned), int64(-1), "18446744073709551615", nil},
		{"bigint unsigned 2^63", c("bigint", unsigned), int64(-9223372036854775808), "9223372036854775808", nil},
		{"bigint unsigned as uint64", c("bigint", unsigned), uint64(18446744073709551615), "18446744073709551615", nil},
		{"zero", c("int"), int32(0), "0", nil},
		{"tinyint out of range", c("tinyint"), int64(128), "", ErrInvalid},
		{"mediumint out of range", c("mediumint"), int32(8388608), "", ErrInvalid},
		{"unsigned below two's complement", c("tinyint", unsigned), int64(-129), "", ErrInvalid},
		{"unsigned above max", c("smallint", unsigned), uint64(65536), "", ErrInvalid},
		{"signed from huge uint64", c("bigint"), uint64(1 << 63), "", ErrInvalid},
		{"string", c("int"), "1", "", ErrInvalid},
		{"float", c("int"), 1.0, "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"bigint unsigned max", c("bigint", unsigned), "18446744073709551615", "18446744073709551615", nil},
		{"bigint min", c("bigint"), "-9223372036854775808", "-9223372036854775808", nil},
		{"tinyint", c("tinyint"), "-128", "-128", nil},
		{"overflow", c("tinyint"), "128", "", ErrInvalid},
		{"unsigned negative", c("int", unsigned), "-1", "", ErrInvalid},
		{"garbage", c("int"), "1a", "", ErrInvalid},
		{"empty", c("int"), "", "", ErrInvalid},
	})
}

func TestValuesDecimal(t *testing.T) {
	d65 := decimal(65, 30)
	runBinlog(t, []binlogCase{
		{"scale kept", c("decimal", decimal(12, 2)), "12.50", "12.50", nil},
		{"scale padded", c("decimal", decimal(12, 2)), "12.5", "12.50", nil},
		{"negative fraction", c("decimal", decimal(12, 2)), "-0.50", "-0.50", nil},
		{"negative zero", c("decimal", decimal(12, 2)), "-0.00", "0.00", nil},
		{"scale 0", c("decimal", decimal(10, 0)), "-9999999999", "-9999999999", nil},
		{"leading zeros", c("decimal", decimal(10, 2)), "007.10", "7.10", nil},
		{"extra zeros cut", c("decimal", decimal(10, 2)), "7.1000", "7.10", nil},
		{"65,30 max", c("decimal", d65), "99999999999999999999999999999999999.999999999999999999999999999999",
			"99999999999999999999999999999999999.999999999999999999999999999999", nil},
		{"65,30 min", c("decimal", d65), "-99999999999999999999999999999999999.999999999999999999999999999999",
			"-99999999999999999999999999999999999.999999999999999999999999999999", nil},
		{"65,30 smallest", c("decimal", d65), "0.000000000000000000000000000001", "0.000000000000000000000000000001", nil},
		{"decimal.Decimal", c("decimal", decimal(12, 2)), fixed("12.50"), "12.50", nil},
		{"extra digits would round", c("decimal", decimal(10, 2)), "7.105", "", ErrInvalid},
		{"too many integer digits", c("decimal", decimal(5, 2)), "1000.00", "", ErrInvalid},
		{"exponent", c("decimal", decimal(10, 2)), "1e5", "", ErrInvalid},
		{"float64", c("decimal", decimal(10, 2)), 12.5, "", ErrInvalid},
		{"empty", c("decimal", decimal(10, 2)), "", "", ErrInvalid},
		{"lone point", c("decimal", decimal(10, 2)), "1.", "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"server text", c("decimal", decimal(12, 2)), "-12.50", "-12.50", nil},
		{"65,30", c("decimal", d65), "0.000000000000000000000000000001", "0.000000000000000000000000000001", nil},
	})
}

// fixed stands for shopspring/decimal.Decimal (go-mysql's DECIMAL with
// UseDecimal on), which drops trailing zeros in String.
type fixed string

func (f fixed) StringFixed(places int32) string { return string(f) }

// nilDecimal panics in StringFixed when nil, as *decimal.Decimal does.
type nilDecimal struct{ s string }

func (d *nilDecimal) StringFixed(places int32) string { return d.s }

func TestValuesFloats(t *testing.T) {
	runBinlog(t, []binlogCase{
		{"float 0.1 as float32", c("float"), float32(0.1), "0.1", nil},
		{"float 2^24+1 stored", c("float"), float32(16777217), "16777216", nil},
		{"float max", c("float"), float32(3.4028235e38), "3.4028235e+38", nil},
		{"float smallest denormal", c("float"), float32(1e-45), "1e-45", nil},
		{"float 1e-7", c("float"), float32(1e-7), "1e-7", nil},
		{"float 123456789", c("float"), float32(123456789), "123456790", nil},
		{"float negative zero", c("float"), float32(negZero()), "0", nil},
		{"float as float64 exact", c("float"), 0.5, "0.5", nil},
		{"float as float64 inexact", c("float"), 0.1, "", ErrInvalid},
		{"double 0.1", c("double"), 0.1, "0.1", nil},
		{"double 0.1+0.2", c("double"), add(0.1, 0.2), "0.30000000000000004", nil},
		{"double max", c("double"), 1.7976931348623157e308, "1.7976931348623157e+308", nil},
		{"double 1e21", c("double"), 1e21, "1e+21", nil},
		{"double below 1e21", c("double"), 999999999999999900000.0, "999999999999999900000", nil},
		{"double 1e-6 plain", c("double"), 1e-6, "0.000001", nil},
		{"double 5e-324", c("double"), 5e-324, "5e-324", nil},
		{"double from float32", c("double"), float32(0.5), "0.5", nil},
		{"double NaN", c("double"), nan(), "", ErrInvalid},
		{"double string", c("double"), "1", "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		// FLOAT is selected as CAST(col AS DOUBLE): the double's digits.
		{"float via double", c("float"), "0.10000000149011612", "0.1", nil},
		{"float via double big", c("float"), "16777216", "16777216", nil},
		{"float not a float32", c("float"), "0.1", "", ErrInvalid},
		{"double server text", c("double"), "0.000012345678901234568", "0.000012345678901234568", nil},
		{"double exponent", c("double"), "1.7976931348623157e308", "1.7976931348623157e+308", nil},
		{"double binary protocol", c("double"), "1e+300", "1e+300", nil},
		{"double garbage", c("double"), "x", "", ErrInvalid},
	})
}

func negZero() float64 { z := 0.0; return -z }
func nan() float64     { z := 0.0; return z / z }

// add adds at run time (constants would add exactly).
func add(a, b float64) float64 { return a + b }

func TestValuesBit(t *testing.T) {
	runBinlog(t, []binlogCase{
		{"bit(1) 1", c("bit", length(1)), int64(1), "1", nil},
		{"bit(1) 0", c("bit", length(1)), int64(0), "0", nil},
		{"bit(8) 10100101", c("bit", length(8)), int64(0b10100101), "165", nil},
		{"bit(64) all ones", c("bit", length(64)), int64(-1), "18446744073709551615", nil},
		{"bit(8) too wide", c("bit", length(8)), int64(256), "", ErrInvalid},
		{"bit string", c("bit", length(8)), "1", "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"bit(8)", c("bit", length(8)), "\xa5", "165", nil},
		{"bit(64)", c("bit", length(64)), "\xff\xff\xff\xff\xff\xff\xff\xff", "18446744073709551615", nil},
		{"bit(10)", c("bit", length(10)), "\x03\xff", "1023", nil},
		{"bit(9) too wide", c("bit", length(9)), "\x04\x00", "", ErrInvalid},
		{"nine bytes", c("bit", length(64)), "\x01\x00\x00\x00\x00\x00\x00\x00\x00", "", ErrInvalid},
		{"empty", c("bit", length(8)), "", "", ErrInvalid},
	})
}

func TestValuesDates(t *testing.T) {
	utc := time.UTC
	berlin := time.FixedZone("CET", 3600)
	runBinlog(t, []binlogCase{
		{"date", c("date"), "2024-03-10", "2024-03-10", nil},
		{"zero date", c("date"), "0000-00-00", "0000-00-00", nil},
		{"partial zero date", c("date"), "2024-00-00", "2024-00-00", nil},
		{"bad date", c("date"), "2024-3-10", "", ErrInvalid},
		{"month 13", c("date"), "2024-13-01", "", ErrInvalid},
		{"date as time", c("date"), time.Date(2024, 3, 10, 0, 0, 0, 0, utc), "", ErrInvalid},

		{"datetime(6) max", c("datetime", fsp(6)), time.Date(9999, 12, 31, 23, 59, 59, 999999000, utc),
			"9999-12-31 23:59:59.999999", nil},
		{"datetime(0)", c("datetime"), time.Date(2024, 3, 10, 1, 2, 3, 0, utc), "2024-03-10 01:02:03", nil},
		{"datetime(3) trailing zeros", c("datetime", fsp(3)), time.Date(2024, 3, 10, 1, 2, 3, 500000000, utc),
			"2024-03-10 01:02:03.500", nil},
		{"datetime wall clock kept", c("datetime"), time.Date(2024, 3, 10, 1, 2, 3, 0, berlin), "2024-03-10 01:02:03", nil},
		{"datetime before 1970 (text)", c("datetime", fsp(6)), "1969-12-31 23:59:59.500000", "1969-12-31 23:59:59.500000", nil},
		{"datetime zero (text)", c("datetime", fsp(6)), "0000-00-00 00:00:00.000000", "0000-00-00 00:00:00.000000", nil},
		{"datetime zero day (text)", c("datetime"), "2024-02-00 10:11:12", "2024-02-00 10:11:12", nil},
		{"datetime text padded to fsp", c("datetime", fsp(6)), "2024-02-00 10:11:12.5", "2024-02-00 10:11:12.500000", nil},
		{"datetime finer than fsp", c("datetime", fsp(3)), time.Date(2024, 3, 10, 1, 2, 3, 123456000, utc), "", ErrInvalid},
		{"datetime hour 24", c("datetime"), "2024-03-10 24:00:00", "", ErrInvalid},
		{"datetime int", c("datetime"), int64(0), "", ErrInvalid},

		{"timestamp(3) instant in UTC", c("timestamp", fsp(3)), time.Date(2024, 3, 10, 13, 34, 56, 789000000, berlin),
			"2024-03-10T12:34:56.789Z", nil},
		{"timestamp(0)", c("timestamp"), time.Unix(1, 0), "1970-01-01T00:00:01Z", nil},
		{"timestamp(6)", c("timestamp", fsp(6)), time.Unix(2147483647, 999999000), "2038-01-19T03:14:07.999999Z", nil},
		{"zero timestamp(0)", c("timestamp"), "0000-00-00 00:00:00", "0000-00-00 00:00:00", nil},
		{"zero timestamp(3)", c("timestamp", fsp(3)), "0000-00-00 00:00:00.000", "0000-00-00 00:00:00.000", nil},
		{"timestamp as local text", c("timestamp"), "2024-03-10 12:34:56", "", ErrInvalid},
		{"timestamp nanoseconds", c("timestamp", fsp(6)), time.Unix(1, 1), "", ErrInvalid},

		{"time(6) max without fraction", c("time", fsp(6)), "838:59:59", "838:59:59.000000", nil},
		{"time(6) min", c("time", fsp(6)), "-838:59:59", "-838:59:59.000000", nil},
		{"time(0)", c("time"), "-838:59:59", "-838:59:59", nil},
		{"time(1) negative below a second", c("time", fsp(1)), "-00:00:00.5", "-00:00:00.5", nil},
		{"time zero", c("time", fsp(2)), "00:00:00", "00:00:00.00", nil},
		{"time negative zero", c("time"), "-00:00:00", "00:00:00", nil},
		{"time short hours", c("time"), "1:02:03", "01:02:03", nil},
		{"time 839 hours", c("time"), "839:00:00", "", ErrInvalid},
		{"time finer than fsp", c("time", fsp(1)), "00:00:00.25", "", ErrInvalid},
		{"time seconds 60", c("time"), "00:00:60", "", ErrInvalid},

		{"year 0", c("year"), 0, "0", nil},
		{"year 1901", c("year"), 1901, "1901", nil},
		{"year 2155", c("year"), 2155, "2155", nil},
		{"year 1900", c("year"), 1900, "", ErrInvalid},
		{"year string", c("year"), "2024", "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"date", c("date"), "0000-00-00", "0000-00-00", nil},
		{"datetime(6)", c("datetime", fsp(6)), "9999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999", nil},
		{"datetime(0) zero", c("datetime"), "0000-00-00 00:00:00", "0000-00-00 00:00:00", nil},
		// TIMESTAMP is selected as UNIX_TIMESTAMP(col).
		{"timestamp(3)", c("timestamp", fsp(3)), "1710074096.789", "2024-03-10T12:34:56.789Z", nil},
		{"timestamp(0)", c("timestamp"), "2147483647", "2038-01-19T03:14:07Z", nil},
		{"timestamp past 2038", c("timestamp"), "4294967295", "2106-02-07T06:28:15Z", nil},
		{"zero timestamp(0)", c("timestamp"), "0", "0000-00-00 00:00:00", nil},
		{"zero timestamp(3)", c("timestamp", fsp(3)), "0.000", "0000-00-00 00:00:00.000", nil},
		{"timestamp negative", c("timestamp"), "-1", "", ErrInvalid},
		{"timestamp as datetime text", c("timestamp"), "2024-03-10 12:34:56", "", ErrInvalid},
		{"time(6)", c("time", fsp(6)), "-838:59:59.000000", "-838:59:59.000000", nil},
		{"year 0000", c("year"), "0000", "0", nil},
		{"year binary protocol 0", c("year"), "0", "0", nil},
		{"year 2155", c("year"), "2155", "2155", nil},
		{"year 99999", c("year"), "99999", "", ErrInvalid},
	})
}

func TestValuesText(t *testing.T) {
	latin1 := cs("latin1")
	runBinlog(t, []binlogCase{
		{"utf8mb4 string", c("varchar", cs("utf8mb4")), "👍🏽 中文", "👍🏽 中文", nil},
		{"utf8mb4 bytes", c("text", cs("utf8mb4")), []byte("👍🏽"), "👍🏽", nil},
		{"utf8mb3", c("varchar", cs("utf8mb3")), "ü€", "ü€", nil},
		{"utf8 alias", c("varchar", cs("utf8")), "ü", "ü", nil},
		{"invalid utf8", c("varchar", cs("utf8mb4")), "\xff", "", ErrInvalid},
		{"ascii", c("varchar", cs("ascii")), "abc", "abc", nil},
		{"ascii high byte", c("varchar", cs("ascii")), "\x80", "", ErrInvalid},
		{"latin1 é", c("varchar", latin1), "\xe9", "é", nil},
		{"latin1 cp1252 range", c("text", latin1), []byte("\x80\x81\x8d\x8f\x90\x9d\x9f\xa0\xff"),
			"€\u0081\u008d\u008f\u0090\u009dŸ\u00a0ÿ", nil},
		{"latin1 ascii", c("varchar", latin1), "plain", "plain", nil},
		{"ucs2", c("varchar", cs("ucs2")), "\x00\xfc\x20\xac", "ü€", nil},
		{"ucs2 surrogate", c("varchar", cs("ucs2")), "\xd8\x3d", "", ErrInvalid},
		{"ucs2 odd length", c("varchar", cs("ucs2")), "\x00", "", ErrInvalid},
		{"utf16 pair", c("varchar", cs("utf16")), "\xd8\x3d\xdc\x4d", "👍", nil},
		{"utf16 lone high", c("varchar", cs("utf16")), "\xd8\x3d\x00\x41", "", ErrInvalid},
		{"utf16 lone low", c("varchar", cs("utf16")), "\xdc\x4d", "", ErrInvalid},
		{"utf16le pair", c("varchar", cs("utf16le")), "\x3d\xd8\x4d\xdc", "👍", nil},
		{"utf32", c("varchar", cs("utf32")), "\x00\x01\xf4\x4d", "👍", nil},
		{"utf32 beyond unicode", c("varchar", cs("utf32")), "\x00\x11\x00\x00", "", ErrInvalid},
		{"utf32 surrogate", c("varchar", cs("utf32")), "\x00\x00\xd8\x00", "", ErrInvalid},
		{"unknown charset", c("varchar", cs("gbk")), "x", "", ErrUnknownCharset},
		{"empty", c("varchar", cs("utf8mb4")), "", "", nil},
		{"text int", c("varchar", cs("utf8mb4")), int64(1), "", ErrInvalid},
		{"MariaDB JSON is longtext", c("longtext", cs("utf8mb4")), []byte(`{"b": 1,  "a":2}`), `{"b": 1,  "a":2}`, nil},
	})
	runSnapshot(t, []snapshotCase{
		{"utf8", c("varchar", cs("utf8mb4")), "👍🏽", "👍🏽", nil},
		{"latin1 arrives converted", c("varchar", latin1), "é", "é", nil},
		{"invalid utf8", c("varchar", latin1), "\xe9", "", ErrInvalid},
		{"unknown charset", c("varchar", cs("gbk")), "x", "", ErrUnknownCharset},
	})
	var err error
	if _, err = FromBinlog(c("varchar", cs("big5")), "x"); err == nil || !strings.Contains(err.Error(), `"big5"`) {
		t.Errorf("unknown charset error %v does not name it", err)
	}
}

// TestValuesTextCopies checks a rendered string does not share go-mysql's
// buffer: the string go-mysql hands over aliases the event's bytes.
func TestValuesTextCopies(t *testing.T) {
	buf := []byte("héllo")
	aliased := unsafeString(buf)
	v, err := FromBinlog(c("varchar", cs("utf8mb4")), aliased)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXX")
	if v.S != "héllo" {
		t.Fatalf("value changed with the event buffer: %q", v.S)
	}
}

func TestValuesBinary(t *testing.T) {
	big := make([]byte, 5000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	runBinlog(t, []binlogCase{
		{"blob all bytes", c("longblob"), big, base64.StdEncoding.EncodeToString(big), nil},
		{"blob 769 bytes", c("blob"), big[:769], base64.StdEncoding.EncodeToString(big[:769]), nil},
		{"empty blob", c("blob"), []byte{}, "", nil},
		{"varbinary string", c("varbinary"), "\x00\xff\x00", "AP8A", nil},
		{"binary(4) padding restored", c("binary", length(4)), "ab", "YWIAAA==", nil},
		{"binary(4) all zeros", c("binary", length(4)), "", "AAAAAA==", nil},
		{"binary(4) full", c("binary", length(4)), "abcd", "YWJjZA==", nil},
		{"binary(1000) padded across chunks", c("binary", length(1000)), "a",
			base64.StdEncoding.EncodeToString(append([]byte("a"), make([]byte, 999)...)), nil},
		{"varbinary not padded", c("varbinary", length(4)), "ab", "YWI=", nil},
		{"geometry", c("point"), []byte{0, 0, 0, 0, 1, 1, 0, 0, 0}, "AAAAAAEBAAAA", nil},
		{"char in binary charset", c("char", cs("binary")), "a", "YQ==", nil},
		{"blob int", c("blob"), int64(1), "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"binary(4) from server", c("binary", length(4)), "ab\x00\x00", "YWIAAA==", nil},
		{"blob", c("blob"), "\x00\xff", "AP8=", nil},
	})
}

func TestValuesEnumSet(t *testing.T) {
	enum := c("enum", elems("new", "paid", "shipped"))
	set := c("set", elems("gift", "rush", "vip"))
	runBinlog(t, []binlogCase{
		{"enum first", enum, int64(1), "new", nil},
		{"enum last", enum, int64(3), "shipped", nil},
		{"enum invalid value", enum, int64(0), "", nil},
		{"enum beyond", enum, int64(4), "", ErrInvalid},
		{"enum string", enum, "new", "", ErrInvalid},
		{"set empty", set, int64(0), "", nil},
		{"set one", set, int64(2), "rush", nil},
		{"set declaration order", set, int64(5), "gift,vip", nil},
		{"set all", set, int64(7), "gift,rush,vip", nil},
		{"set beyond", set, int64(8), "", ErrInvalid},
		{"set 64 elements", c("set", elems(sixtyFour()...)), int64(-1 << 63), "e63", nil},
	})
	runSnapshot(t, []snapshotCase{
		{"enum", enum, "paid", "paid", nil},
		{"enum empty", enum, "", "", nil},
		{"enum unknown", enum, "lost", "", ErrInvalid},
		{"set", set, "gift,vip", "gift,vip", nil},
		{"set empty", set, "", "", nil},
		{"set out of order", set, "vip,gift", "", ErrInvalid},
		{"set repeated", set, "gift,gift", "", ErrInvalid},
		{"set trailing comma", set, "gift,", "", ErrInvalid},
		{"set unknown", set, "gift,lost", "", ErrInvalid},
	})
}

func sixtyFour() []string {
	e := make([]string, 64)
	for i := range e {
		e[i] = "e" + string(rune('0'+i/10)) + string(rune('0'+i%10))
	}
	e[63] = "e63"
	return e
}

func TestValuesJSON(t *testing.T) {
	js := c("json", cs("utf8mb4"))
	// The same document as MySQL's SELECT prints it and as go-mysql decodes
	// the binary JSON of the binlog.
	mysqlText := `{"b": [1, 2.5, true, null], "aa": {"<": "é\n"}, "n": 1.0E2, "z": -0}`
	goMySQL := `{"aa":{"\u003c":"é\n"},"b":[1,2.5,true,null],"n":100,"z":0}`
	want := `{"aa":{"<":"é\n"},"b":[1,2.5,true,null],"n":100,"z":0}`
	runBinlog(t, []binlogCase{
		{"go-mysql text", js, goMySQL, want, nil},
		{"MySQL text", js, mysqlText, want, nil},
		{"empty document is null", js, []byte{}, "null", nil},
		{"big integer kept", js, `[18446744073709551615, -9223372036854775808]`, `[18446744073709551615,-9223372036854775808]`, nil},
		{"float layout", js, `[1e21, 1e-7, 0.1]`, `[1e+21,1e-7,0.1]`, nil},
		{"control characters", js, `"\u0001\t"`, `"\u0001\t"`, nil},
		{"scalar", js, `"x"`, `"x"`, nil},
		{"repeated key keeps last", js, `{"a":1,"a":2}`, `{"a":2}`, nil},
		{"invalid", js, `{"a":}`, "", ErrInvalid},
		{"trailing data", js, `{} {}`, "", ErrInvalid},
		{"invalid utf8", js, "\"\xff\"", "", ErrInvalid},
		{"number out of range", js, `1e400`, "", ErrInvalid},
		{"partial update", js, &replication.JsonDiff{Op: replication.JsonDiffOperationReplace, Path: "$.a", Value: "1"},
			"", ErrPartialJSON},
		{"int", js, int64(1), "", ErrInvalid},
	})
	runSnapshot(t, []snapshotCase{
		{"MySQL text", js, mysqlText, want, nil},
	})
}

func TestValuesNull(t *testing.T) {
	for _, dt := range []string{"int", "varchar", "blob", "json", "timestamp", "enum"} {
		col := c(dt, cs("utf8mb4"))
		if v, err := FromBinlog(col, nil); err != nil || !v.Null || v.S != "" {
			t.Errorf("%s: FromBinlog(nil) = %+v, %v", dt, v, err)
		}
		if v, err := FromSnapshot(col, nil, true); err != nil || !v.Null {
			t.Errorf("%s: FromSnapshot(NULL) = %+v, %v", dt, v, err)
		}
		// An empty value is not NULL.
		if v, err := FromSnapshot(col, []byte{}, false); err == nil && v.Null {
			t.Errorf("%s: FromSnapshot(empty) is NULL", dt)
		}
		col.Nullable = false
		if _, err := FromBinlog(col, nil); !errors.Is(err, ErrUnexpectedNull) {
			t.Errorf("%s NOT NULL: FromBinlog(nil) error %v", dt, err)
		}
		if _, err := FromSnapshot(col, nil, true); !errors.Is(err, ErrUnexpectedNull) {
			t.Errorf("%s NOT NULL: FromSnapshot(NULL) error %v", dt, err)
		}
	}
}

func TestValuesErrorsNameColumnAndType(t *testing.T) {
	col := &schema.Column{Name: "amount", DataType: "decimal", ColumnType: "decimal(12,2)", Precision: 12, Scale: 2}
	_, err := FromBinlog(col, 12.5)
	if err == nil || !strings.Contains(err.Error(), `"amount"`) || !strings.Contains(err.Error(), "float64") {
		t.Fatalf("error %v does not name the column and the Go type", err)
	}
	blob := make([]byte, 1<<20)
	_, err = FromBinlog(c("varchar", cs("ascii")), blob[:1000:1000])
	if err != nil {
		t.Fatal(err)
	}
	blob[0] = 0x80
	_, err = FromBinlog(c("varchar", cs("ascii")), blob)
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a 1 MiB value is %d bytes long", len(err.Error()))
	}
}

func TestValuesUnsupported(t *testing.T) {
	for _, dt := range []string{"uuid", "inet6", "vector", ""} {
		col := c(dt)
		if err := Check(col); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("Check(%q) = %v", dt, err)
		}
		if _, err := FromBinlog(col, "x"); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("FromBinlog(%q) = %v", dt, err)
		}
		if _, err := FromSnapshot(col, []byte("x"), false); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("FromSnapshot(%q) = %v", dt, err)
		}
		if got := SQLType(col); got != 1111 {
			t.Errorf("SQLType(%q) = %d, want OTHER", dt, got)
		}
	}
	if err := Check(c("varchar", cs("cp932"))); !errors.Is(err, ErrUnknownCharset) || !strings.Contains(err.Error(), "cp932") {
		t.Errorf("Check(cp932) = %v", err)
	}
	if err := Check(c("INT")); err != nil {
		t.Errorf("Check(INT) = %v", err)
	}
}

// TestValuesNoPanic feeds every kind of column values of every Go type
// go-mysql produces (and some it does not): errors are fine, panics not.
func TestValuesNoPanic(t *testing.T) {
	types := []string{"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "bit",
		"date", "datetime", "timestamp", "time", "year", "char", "varchar", "text", "binary", "varbinary", "blob",
		"enum", "set", "json", "geometry", "uuid"}
	inputs := []any{int8(-1), int16(-1), int32(-1), int64(-1), int(-1), uint64(1 << 63), float32(1), 1.5, "", "x",
		"-", ".", "0000-00-00 00:00:00.0000000", "-:", []byte{}, []byte{0xff}, time.Time{}, time.Unix(-1, 5),
		struct{}{}, []int{1}, &replication.JsonDiff{}, (*replication.JsonDiff)(nil), []byte(nil), true,
		fixed("1e5"), (*time.Time)(nil), (*nilDecimal)(nil)}
	for _, dt := range types {
		for _, bits := range []int{0, 1, 8, 63, 64, 65, -1} {
			col := c(dt, length(bits), fsp(bits%8), decimal(bits, bits/2), elems("a"), cs("utf16"))
			col.Scale = bits % 8
			for _, v := range inputs {
				FromBinlog(col, v)
				if b, ok := v.([]byte); ok {
					FromSnapshot(col, b, false)
				}
				if s, ok := v.(string); ok {
					FromSnapshot(col, []byte(s), false)
				}
			}
			SelectExpr(col)
			SQLType(col)
			Check(col)
		}
	}
}

func TestValuesSelectExpr(t *testing.T) {
	for _, tc := range []struct {
		col  *schema.Column
		want string
	}{
		{&schema.Column{Name: "id", DataType: "bigint"}, "`id`"},
		{&schema.Column{Name: "we`ird", DataType: "varchar"}, "`we``ird`"},
		{&schema.Column{Name: "f", DataType: "float"}, "CAST(`f` AS DOUBLE)"},
		{&schema.Column{Name: "d", DataType: "double"}, "`d`"},
		{&schema.Column{Name: "ts", DataType: "timestamp", Scale: 3}, "UNIX_TIMESTAMP(`ts`)"},
		{&schema.Column{Name: "dt", DataType: "datetime", Scale: 6}, "`dt`"},
	} {
		if got := SelectExpr(tc.col); got != tc.want {
			t.Errorf("SelectExpr(%s %s) = %s, want %s", tc.col.Name, tc.col.DataType, got, tc.want)
		}
	}
}

func TestValuesSQLType(t *testing.T) {
	for _, tc := range []struct {
		col  *schema.Column
		want int
	}{
		{c("tinyint"), -6}, {c("tinyint", unsigned), 5},
		{c("smallint"), 5}, {c("smallint", unsigned), 4},
		{c("mediumint"), 4}, {c("mediumint", unsigned), 4},
		{c("int"), 4}, {c("int", unsigned), -5},
		{c("bigint"), -5}, {c("bigint", unsigned), 3},
		{c("decimal"), 3}, {c("float"), 7}, {c("double"), 8}, {c("bit"), -7},
		{c("date"), 91}, {c("datetime"), 93}, {c("timestamp"), 93}, {c("time"), 92}, {c("year"), 12},
		{c("char", cs("utf8mb4")), 1}, {c("varchar", cs("utf8mb4")), 12},
		{c("text", cs("utf8mb4")), 2005}, {c("longtext", cs("utf8mb4")), 2005},
		{c("binary"), 2004}, {c("varbinary"), 2004}, {c("blob"), 2004}, {c("geometry"), 2004}, {c("point"), 2004},
		{c("enum"), 12}, {c("set"), 12}, {c("json"), 12},
	} {
		if got := SQLType(tc.col); got != tc.want {
			t.Errorf("SQLType(%s unsigned=%v) = %d, want %d", tc.col.DataType, tc.col.Unsigned, got, tc.want)
		}
	}
}

func TestValuesSyncerSettings(t *testing.T) {
	cfg := replication.BinlogSyncerConfig{UseDecimal: true, UseFloatWithTrailingZero: true}
	SyncerSettings(&cfg)
	if !cfg.ParseTime || cfg.UseDecimal || cfg.UseFloatWithTrailingZero || cfg.TimestampStringLocation != time.UTC {
		t.Fatalf("SyncerSettings left %+v", cfg)
	}
}

// unsafeString is how go-mysql makes strings of event bytes
// (utils.ByteSliceToString).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
