package coltype

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// allBytes is a BLOB holding all 256 byte values, as its event string.
var allBytes = func() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return base64.StdEncoding.EncodeToString(b)
}()

// canonical are event strings as the ingester writes them, by type: each
// must come back from Format unchanged.
var canonical = map[string][]string{
	"bigint(20) unsigned":  {"0", "1", "18446744073709551615", "9223372036854775808"},
	"bigint(20)":           {"-9223372036854775808", "9223372036854775807", "0", "-1"},
	"int(11)":              {"-2147483648", "2147483647", "0", "42"},
	"int(10) unsigned":     {"4294967295", "0"},
	"tinyint(4)":           {"-128", "127", "0"},
	"tinyint(3) unsigned":  {"255", "0"},
	"smallint(6)":          {"-32768", "32767"},
	"smallint(5) unsigned": {"65535", "0", "7"},
	"mediumint(9)":         {"-8388608", "8388607"},
	"mediumint unsigned":   {"16777215"},
	"decimal(12,2)":        {"12.50", "-0.01", "0.00", "9999999999.99", "-9999999999.99", "0.10"},
	"decimal(10,0)":        {"9999999999", "-1", "0"},
	"decimal(18,18)":       {"0.999999999999999999", "-0.000000000000000001"},
	"decimal(18,0)":        {"999999999999999999", "-999999999999999999"},
	"decimal(19,0)":        {"9999999999999999999", "-9999999999999999999"},
	"decimal(20,0)":        {"18446744073709551616", "12345678901234567890"},
	"decimal(38,10)": {"9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
		"0.0000000001", "0.0000000000"},
	"decimal(38,0)": {"99999999999999999999999999999999999999", "-10000000000000000000"},
	"decimal(65,30)": {"99999999999999999999999999999999999.999999999999999999999999999999",
		"-99999999999999999999999999999999999.999999999999999999999999999999",
		"0.000000000000000000000000000001", "0.000000000000000000000000000000"},
	"decimal(65,0)": {strings.Repeat("9", 65), "-" + strings.Repeat("9", 65)},
	"float":         {"0.1", "16777216", "3.4028235e+38", "1e-7", "-1.5", "0", "1e-45", "123.456"},
	"double": {"0.1", "1.7976931348623157e+308", "5e-324", "-2.5", "1e+21", "123456789012345680000",
		"0.000001", "1e-7", "0"},
	"bit(1)":  {"0", "1"},
	"bit(8)":  {"165", "255", "0"},
	"bit(64)": {"18446744073709551615", "0"},
	"date": {"2024-03-10", "1000-01-01", "9999-12-31", "0001-01-01", "1969-12-31", "2000-02-29",
		"0000-01-01", "0000-00-00", "2024-00-10", "2024-05-00", "2023-02-29", "2024-02-30"},
	"datetime(6)": {"9999-12-31 23:59:59.999999", "1000-01-01 00:00:00.000000", "1969-12-31 23:59:59.500000",
		"0000-00-00 00:00:00.000000", "2024-00-00 12:00:00.000001"},
	"datetime":     {"2024-03-10 12:34:56", "0000-00-00 00:00:00", "1970-01-01 00:00:00"},
	"timestamp(3)": {"2024-03-10T12:34:56.789Z", "1970-01-01T00:00:01.500Z", "2038-01-19T03:14:07.000Z", "0000-00-00 00:00:00.000"},
	"timestamp":    {"2024-03-10T12:34:56Z", "0000-00-00 00:00:00"},
	"time(6)": {"-838:59:59.000000", "838:59:59.000000", "00:00:00.000000", "-00:00:00.500000",
		"12:34:56.123456", "-01:00:00.000001"},
	"time":    {"-838:59:59", "838:59:59", "00:00:00", "100:00:00", "-00:00:01"},
	"year(4)": {"0", "1901", "2155", "2024"},
	"char(3)": {"abc", "", "👍🏽"},
	"varchar(64)": {"Zoë", "日本語のテキスト", "👍🏽", "a\x00b", "", "héllo 👍🏽 中文",
		"\u2028", strings.Repeat("x", 64)},
	"longtext":                     {strings.Repeat("長い", 10000)},
	"binary(16)":                   {"AAECAwQFBgcICQoLDA0ODw==", "AAAAAAAAAAAAAAAAAAAAAA=="},
	"varbinary(10)":                {"", "AA==", "AAE=", "AAEC", "AAEC/w=="},
	"blob":                         {allBytes, ""},
	"longblob":                     {base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("\x00\xff"), 70000))},
	"enum('new','paid','shipped')": {"paid", "new", ""},
	"set('gift','rush','vip')":     {"gift,vip", "", "gift,rush,vip"},
	"json":                         {`{"a":[1,2]}`, "null", `"x"`, `{"e":"👍🏽"}`},
	"point":                        {"AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA=="},
	"decimal(65,2)":                {"-0.01", "1.00"},
}

func TestColtypeRoundTrip(t *testing.T) {
	mem := checkedMem(t)
	for typStr, vals := range canonical {
		typ := mustParse(t, typStr)
		ptrs := []*string{nil}
		for i := range vals {
			ptrs = append(ptrs, &vals[i])
		}
		col, err := build(t, mem, typ, ptrs...)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if !arrow.TypeEqual(col.arr.DataType(), typ.Arrow()) {
			t.Errorf("%s: array type %s, want %s", typ, col.arr.DataType(), typ.Arrow())
		}
		if s, null := typ.FormatWithRaw(col.arr, col.raw, 0); !null {
			t.Errorf("%s: NULL formats as %q", typ, s)
		}
		for i, want := range vals {
			got, null := typ.FormatWithRaw(col.arr, col.raw, i+1)
			if null || got != want {
				t.Errorf("%s: Format(Append(%q)) = %q (null %v)", typ, want, got, null)
			}
			key := keyOf(t, typ, want)
			if arrowKey := AppendKeyArrowWithRaw(nil, typ, col.arr, col.raw, i+1); !bytes.Equal(key, arrowKey) {
				t.Errorf("%s %q: AppendKey %x, AppendKeyArrow %x", typ, want, key, arrowKey)
			}
		}
		col.release()
	}
}

// TestColtypeArrowValues checks the stored values themselves, not only the
// round trip.
func TestColtypeArrowValues(t *testing.T) {
	mem := checkedMem(t)
	one := func(typStr, s string) column {
		t.Helper()
		col, err := build(t, mem, mustParse(t, typStr), &s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(col.release)
		return col
	}
	if v := one("bigint unsigned", "18446744073709551615").arr.(*array.Uint64).Value(0); v != 1<<64-1 {
		t.Errorf("uint64 max = %d", v)
	}
	if v := one("decimal(12,2)", "12.5").arr.(*array.Decimal128).Value(0); v != decimal128.FromI64(1250) {
		t.Errorf("decimal 12.5 = %v", v)
	}
	if v := one("decimal(38,0)", "-99999999999999999999999999999999999999").arr.(*array.Decimal128).Value(0); v != decimal128.GetMaxValue(38).Negate() {
		t.Errorf("decimal(38) min = %v", v)
	}
	if v := one("bit(8)", "165").arr.(*array.Uint64).Value(0); v != 0b10100101 {
		t.Errorf("bit(8) 165 = %d", v)
	}
	if v := one("date", "1970-01-02").arr.(*array.Date32).Value(0); v != 1 {
		t.Errorf("date 1970-01-02 = %d", v)
	}
	if v := one("date", "1969-12-31").arr.(*array.Date32).Value(0); v != -1 {
		t.Errorf("date 1969-12-31 = %d", v)
	}
	if v := one("datetime(6)", "9999-12-31 23:59:59.999999").arr.(*array.Timestamp).Value(0); v != 253402300799999999 {
		t.Errorf("datetime max = %d", v)
	}
	if v := one("timestamp(3)", "1970-01-01T00:00:01.500Z").arr.(*array.Timestamp).Value(0); v != 1_500_000 {
		t.Errorf("timestamp = %d", v)
	}
	if v := one("time", "-838:59:59").arr.(*array.Int64).Value(0); v != -3020399000000 {
		t.Errorf("time min = %d", v)
	}
	if v := one("year", "1901").arr.(*array.Int32).Value(0); v != 1901 {
		t.Errorf("year = %d", v)
	}
	if v := one("bit(1)", "1").arr.(*array.Boolean).Value(0); !v {
		t.Error("bit(1) 1 = false")
	}
	if v := one("blob", allBytes).arr.(*array.Binary).Value(0); len(v) != 256 || v[255] != 255 {
		t.Errorf("blob = %x", v)
	}
	if v := one("decimal(65,30)", "-1.5").arr.(*array.String).Value(0); v != "-1.500000000000000000000000000000" {
		t.Errorf("decimal(65,30) = %s", v)
	}
	zero := one("date", "0000-00-00")
	if zero.arr.IsValid(0) || zero.raw.Value(0) != "0000-00-00" {
		t.Errorf("zero date: main valid %v, raw %q", zero.arr.IsValid(0), zero.raw.Value(0))
	}
	if ok := one("date", "2024-01-01"); ok.raw.IsValid(0) {
		t.Error("raw set for a real date")
	}
}

// TestColtypeCanonicalizes: accepted non-canonical input comes back in
// the canonical form.
func TestColtypeCanonicalizes(t *testing.T) {
	tests := []struct{ typ, in, want string }{
		{"int", "007", "7"},
		{"int", "-0", "0"},
		{"bigint unsigned", "00018446744073709551615", "18446744073709551615"},
		{"decimal(12,2)", "12.5", "12.50"},
		{"decimal(12,2)", "-0.00", "0.00"},
		{"decimal(12,2)", ".5", "0.50"},
		{"decimal(12,2)", "+1", "1.00"},
		{"decimal(12,2)", "12.500", "12.50"},
		{"decimal(12,2)", "00012.50", "12.50"},
		{"decimal(65,30)", "-000.5", "-0.500000000000000000000000000000"},
		{"decimal(65,30)", "-0", "0.000000000000000000000000000000"},
		{"decimal(20,0)", "-0", "0"},
		{"float", "1e3", "1000"},
		{"float", "0.10", "0.1"},
		{"float", "-0", "0"},
		{"double", "1E-7", "1e-7"},
		{"year", "0000", "0"},
		{"year", "02024", ""},
		{"datetime(6)", "2024-03-10 12:34:56", "2024-03-10 12:34:56.000000"},
		{"datetime(6)", "2024-03-10 12:34:56.5", "2024-03-10 12:34:56.500000"},
		{"datetime", "2024-03-10 12:34:56.000", "2024-03-10 12:34:56"},
		{"datetime(3)", "0000-00-00 00:00:00", "0000-00-00 00:00:00.000"},
		{"timestamp(3)", "2024-03-10T12:34:56Z", "2024-03-10T12:34:56.000Z"},
		{"timestamp(3)", "0000-00-00 00:00:00", "0000-00-00 00:00:00.000"},
		{"time(6)", "1:02:03", "01:02:03.000000"},
		{"time(6)", "-00:00:00", "00:00:00.000000"},
		{"time", "-0:00:00", "00:00:00"},
		{"time(1)", "838:59:59.0", "838:59:59.0"},
	}
	mem := checkedMem(t)
	for _, tc := range tests {
		typ := mustParse(t, tc.typ)
		col, err := build(t, mem, typ, &tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %q accepted", typ, tc.in)
				col.release()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", typ, tc.in, err)
			continue
		}
		if got, _ := typ.FormatWithRaw(col.arr, col.raw, 0); got != tc.want {
			t.Errorf("%s: Format(Append(%q)) = %q, want %q", typ, tc.in, got, tc.want)
		}
		if k1, k2 := keyOf(t, typ, tc.in), keyOf(t, typ, tc.want); !bytes.Equal(k1, k2) {
			t.Errorf("%s: keys of %q and %q differ", typ, tc.in, tc.want)
		}
		col.release()
	}
}

func TestColtypeAppendErrors(t *testing.T) {
	tests := map[string][]string{
		"bigint unsigned": {"18446744073709551616", "-1", "", "1.0", " 1", "1e3", "+1", "0x10", "1_000"},
		"bigint":          {"9223372036854775808", "-9223372036854775809", "--1", "-", "1 "},
		"int":             {"2147483648", "-2147483649"},
		"tinyint":         {"128", "-129"},
		"tinyint unsigned": {
			"256"},
		"mediumint":          {"8388608", "-8388609"},
		"mediumint unsigned": {"16777216"},
		"decimal(12,2)": {"12.501", "10000000000.00", "1e5", "abc", "", ".", "1.", "--1", "1..2", "١٢",
			"NaN"},
		"decimal(65,30)": {"1" + strings.Repeat("0", 35), "0." + strings.Repeat("0", 30) + "1"},
		"float":          {"NaN", "Inf", "-Inf", "infinity", "1e39", "abc", ""},
		"double":         {"1e309", "nan", ""},
		"bit(8)":         {"256", "-1", "", "0b1"},
		"bit(1)":         {"2"},
		"year":           {"1900", "2156", "1", "20155", "-0", ""},
		"date": {"2024-13-01", "2024-01-32", "24-01-01", "2024-1-1", "2024-01-01 00:00:00", "",
			"２０２４-01-01", "2024/01/01"},
		"datetime": {"2024-03-10T12:34:56", "2024-03-10 24:00:00", "2024-03-10 12:60:00",
			"2024-03-10 12:34:56.5", "2024-03-10", "2024-03-10 12:34:56Z", "2024-03-10 12:34:56."},
		"datetime(3)": {"2024-03-10 12:34:56.1234", "2024-03-10 12:34:56.1234567"},
		"timestamp": {"2024-03-10 12:34:56", "0000-00-00T00:00:00Z", "2024-02-30T00:00:00Z",
			"2024-03-10T12:34:56", "2024-03-10T12:34:56+00:00", "Z"},
		"time(6)": {"839:00:00", "839:00:00.000000", "-839:00:00", "12:60:00", "1234:00:00", "12:00", "", "-",
			"12:00:00.1234567", "+12:00:00"},
		"time":          {"00:00:00.5"},
		"varchar(10)":   {"\xff", "a\xc3"},
		"json":          {"\xed\xa0\x80"},
		"blob":          {"AAE", "AA=A", "AAE\n", "AB==", "AA==AA==", "====", "AAE\r\n==", "A", "!!!!"},
		"date ":         {"0000-00-00"}, // a zero date without a raw column
		"datetime(6) ":  {"0000-00-00 00:00:00.000000"},
		"timestamp(3) ": {"0000-00-00 00:00:00.000"},
	}
	mem := memory.NewGoAllocator()
	for typStr, vals := range tests {
		typ := mustParse(t, typStr)
		noRaw := strings.HasSuffix(typStr, " ")
		for _, s := range vals {
			b := array.NewBuilder(mem, typ.Arrow())
			var raw *array.StringBuilder
			if !noRaw {
				raw = array.NewStringBuilder(mem)
			}
			err := typ.AppendWithRaw(b, raw, s, false)
			if err == nil {
				t.Errorf("%s: %q accepted", typ, s)
			} else if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), typ.String()) {
				t.Errorf("%s: %q: error %q does not wrap ErrInvalid or name the type", typ, s, err)
			}
			if b.Len() != 0 || raw != nil && raw.Len() != 0 {
				t.Errorf("%s: %q: rejected but appended", typ, s)
			}
			if _, kerr := AppendKey(nil, typ, s); !noRaw && kerr == nil {
				t.Errorf("%s: %q: AppendKey accepted what Append rejects", typ, s)
			}
			b.Release()
		}
	}
}

func TestColtypeAppendErrorTruncates(t *testing.T) {
	typ := mustParse(t, "int")
	err := typ.Append(array.NewInt32Builder(memory.NewGoAllocator()), strings.Repeat("9", 10000), false)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long value: %.300v", err)
	}
}

func TestColtypeWrongBuilder(t *testing.T) {
	mem := memory.NewGoAllocator()
	tests := []struct {
		typ string
		dt  arrow.DataType
	}{
		{"bigint", arrow.PrimitiveTypes.Int32},
		{"int", arrow.PrimitiveTypes.Int64},
		{"int unsigned", arrow.PrimitiveTypes.Int32},
		{"decimal(12,2)", &arrow.Decimal128Type{Precision: 12, Scale: 3}},
		{"decimal(65,30)", &arrow.Decimal128Type{Precision: 38, Scale: 30}},
		{"datetime", timestampType},
		{"timestamp", datetimeType},
		{"timestamp", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{"varchar(3)", arrow.BinaryTypes.Binary},
		{"blob", arrow.BinaryTypes.String},
		{"bit(1)", arrow.PrimitiveTypes.Uint64},
	}
	for _, tc := range tests {
		typ := mustParse(t, tc.typ)
		b := array.NewBuilder(mem, tc.dt)
		for _, null := range []bool{false, true} {
			if err := typ.Append(b, ImplicitDefault(typ), null); !errors.Is(err, ErrBuilder) {
				t.Errorf("%s into a %s builder: %v", typ, tc.dt, err)
			}
		}
		b.Release()
	}
	if err := mustParse(t, "int").Append(nil, "1", false); !errors.Is(err, ErrBuilder) {
		t.Errorf("nil builder: %v", err)
	}
	if err := (Type{}).Append(array.NewInt32Builder(mem), "1", false); err == nil {
		t.Error("the zero Type appended a value")
	}
}

// TestColtypeEvolution: a value rendered with the old type and appended
// with the new one, as the sink changes a column's type.
func TestColtypeEvolution(t *testing.T) {
	tests := []struct{ from, to, in, want string }{
		{"int", "bigint", "-2147483648", "-2147483648"},
		{"int unsigned", "bigint", "4294967295", "4294967295"},
		{"varchar(10)", "varchar(100)", "héllo", "héllo"},
		{"decimal(10,2)", "decimal(12,4)", "-12.50", "-12.5000"},
		{"decimal(10,2)", "decimal(40,2)", "99999999.99", "99999999.99"},
		{"datetime", "datetime(6)", "2024-01-01 00:00:00", "2024-01-01 00:00:00.000000"},
		{"date", "datetime", "0000-00-00", "0000-00-00 00:00:00"},
		{"date", "datetime(3)", "2024-02-29", "2024-02-29 00:00:00.000"},
		{"float", "double", "0.1", "0.10000000149011612"},
		{"float", "double", "16777216", "16777216"},
		{"decimal(12,2)", "int", "12.50", ""},
		{"datetime(6)", "datetime", "2024-01-01 00:00:00.500000", ""},
		{"bigint", "int", "2147483648", ""},
		{"double", "float", "1e300", ""},
		{"int", "varchar(20)", "-5", "-5"},
		{"tinyint", "decimal(5,1)", "-128", "-128.0"},
	}
	mem := checkedMem(t)
	for _, tc := range tests {
		from, to := mustParse(t, tc.from), mustParse(t, tc.to)
		old, err := build(t, mem, from, &tc.in)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := from.FormatWithRaw(old.arr, old.raw, 0)
		old.release()
		s, err = Convert(from, to, s)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s → %s: %q accepted", from, to, tc.in)
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s → %s: %v", from, to, err)
			continue
		}
		col, err := build(t, mem, to, &s)
		if err != nil {
			t.Errorf("%s → %s: %v", from, to, err)
			continue
		}
		if got, _ := to.FormatWithRaw(col.arr, col.raw, 0); got != tc.want {
			t.Errorf("%s → %s: %q became %q, want %q", from, to, tc.in, got, tc.want)
		}
		col.release()
	}
}
