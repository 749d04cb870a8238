package values

import (
	"encoding/binary"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicehq/sluice/canal/schema"
)

// FuzzValuesDecimal: decimalText never panics; what it accepts it renders
// with exactly scale fraction digits, as the same number, and rendering the
// result again changes nothing.
func FuzzValuesDecimal(f *testing.F) {
	for _, s := range []string{"12.50", "12.5", "-0.00", "007.10", "1e5", "", ".", "1.", ".5", "-", "+3.000",
		"99999999999999999999999999999999999.999999999999999999999999999999", "7.105", "1000.00"} {
		f.Add(s, uint8(12), uint8(2))
		f.Add(s, uint8(65), uint8(30))
		f.Add(s, uint8(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, precision, scale uint8) {
		p, sc := int(precision)%70, int(scale)%35
		out, ok := decimalText(s, p, sc)
		if !ok {
			return
		}
		dot := strings.IndexByte(out, '.')
		if sc == 0 && dot >= 0 || sc > 0 && (dot < 0 || len(out)-dot-1 != sc) {
			t.Fatalf("decimalText(%q, %d, %d) = %q: not %d fraction digits", s, p, sc, out, sc)
		}
		in, ok1 := new(big.Rat).SetString(strings.TrimPrefix(s, "+"))
		got, ok2 := new(big.Rat).SetString(out)
		if !ok1 || !ok2 || in.Cmp(got) != 0 {
			t.Fatalf("decimalText(%q, %d, %d) = %q: another number", s, p, sc, out)
		}
		if again, ok := decimalText(out, p, sc); !ok || again != out {
			t.Fatalf("decimalText(%q) = %q, %v: not stable", out, again, ok)
		}
	})
}

// FuzzValuesDateTime: what parseDateTime accepts renders back to a string
// that parses to the same fields.
func FuzzValuesDateTime(f *testing.F) {
	for _, s := range []string{"2024-03-10", "0000-00-00", "2024-00-00 10:11:12", "9999-12-31 23:59:59.999999",
		"1969-12-31 23:59:59.5", "2024-03-10T12:34:56.7", "2024-03-10 24:00:00", "2024-3-10", "2024-03-10 1:2:3",
		"2024-03-10 12:34:56.", "2024-03-10 12:34:56.1234567"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, withTime bool) {
		d, ok := parseDateTime(s, withTime)
		if !ok {
			return
		}
		var out []byte
		if withTime {
			out = d.appendDateTime(nil, ' ', 6)
		} else {
			out = d.appendDate(nil)
		}
		again, ok := parseDateTime(string(out), withTime)
		if !ok || again != d {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, d, out, again, ok)
		}
		if !withTime && string(out) != s {
			t.Fatalf("DATE %q rendered %q", s, out)
		}
	})
}

// FuzzValuesTime: what parseTime accepts renders back to the same value,
// and timeText's output (when it has one) is a fixed point.
func FuzzValuesTime(f *testing.F) {
	for _, s := range []string{"838:59:59", "-838:59:59.000000", "-00:00:00.5", "00:00:00", "-00:00:00",
		"1:02:03", "839:00:00", "12:34:56.1234567", ":00:00", "-", "00:60:00", "1000:00:00"} {
		f.Add(s, uint8(6))
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, s string, fspRaw uint8) {
		d, ok := parseTime(s)
		if ok {
			out := d.appendTime(nil, 6)
			again, ok := parseTime(string(out))
			if !ok || again != d {
				t.Fatalf("%q → %+v → %q → %+v, %v", s, d, out, again, ok)
			}
		}
		col := &schema.Column{Name: "t", DataType: "time", Scale: int(fspRaw % 7)}
		if out, err := timeText(col, s, s); err == nil {
			if again, err := timeText(col, out, out); err != nil || again != out {
				t.Fatalf("timeText(%q) = %q, then %q, %v", s, out, again, err)
			}
		}
	})
}

// FuzzValuesUnixTime: UNIX_TIMESTAMP() text renders, if at all, as an
// instant that names the same second and microsecond.
func FuzzValuesUnixTime(f *testing.F) {
	for _, s := range []string{"0", "0.000", "1710074096.789", "2147483647.999999", "4294967295", "-1", "1.",
		".5", "1.1234567", "999999999999.9", "1e9"} {
		f.Add(s, uint8(3))
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, s string, fspRaw uint8) {
		col := &schema.Column{Name: "ts", DataType: "timestamp", Scale: int(fspRaw % 7)}
		out, err := timestampSnapshot(col, []byte(s))
		if err != nil {
			return
		}
		if out == zeroTimestamp(col.Scale) {
			return
		}
		at, err := time.Parse("2006-01-02T15:04:05.999999Z", out)
		if err != nil {
			t.Fatalf("%q rendered %q: %v", s, out, err)
		}
		sec, micro, _ := parseUnixTime(s)
		if at.Unix() != sec || at.Nanosecond() != micro*1000 {
			t.Fatalf("%q rendered %q: another instant", s, out)
		}
	})
}

// FuzzValuesJSON: canonicalJSON never panics, writes valid JSON, and is
// idempotent.
func FuzzValuesJSON(f *testing.F) {
	for _, s := range []string{`{"b": 1, "a": [1.5, "x"]}`, `{"aa":{"\u003c":"é"},"b":[1,2.5,true,null]}`,
		`[]`, `null`, `1.0E2`, `-0`, `"\u0001"`, `{"a":1,"a":2}`, `{"a":}`, `{} {}`, `1e400`, `"\ud800"`,
		`[18446744073709551615]`, `{"k": [1, 2.50, "é"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, ok := canonicalJSON(doc)
		if !ok {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q → invalid %q", doc, out)
		}
		again, ok := canonicalJSON(out)
		if !ok || string(again) != string(out) {
			t.Fatalf("%q → %q → %q", doc, out, again)
		}
	})
}

// FuzzValuesCharsets: decoding never panics, yields valid UTF-8, and
// encoding the result back gives the column's bytes (the charsets are
// bijective on what they accept).
func FuzzValuesCharsets(f *testing.F) {
	for _, s := range []string{"", "abc", "\xe9", "\x80\x81\x9f", "\x00\xfc\x20\xac", "\xd8\x3d\xdc\x4d",
		"\x3d\xd8\x4d\xdc", "\x00\x01\xf4\x4d", "\xd8\x3d", "\x00", "\xff\xfe"} {
		for cs := csUTF8; cs <= csUTF32; cs++ {
			f.Add(uint8(cs), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, csRaw uint8, b []byte) {
		cs := charset(csRaw%uint8(csUTF32) + 1)
		var s string
		var ok bool
		if cs == csUTF8 || cs == csASCII {
			s, ok = string(b), valid(cs, b)
		} else {
			s, ok = convert(cs, b)
		}
		if fromString, ok2 := convert(cs, string(b)); cs != csUTF8 && cs != csASCII && (fromString != s || ok2 != ok) {
			t.Fatalf("charset %d: string and []byte decode differently", cs)
		}
		if !ok {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("charset %d: %q → invalid UTF-8 %q", cs, b, s)
		}
		if back := encodeCharset(cs, s); string(back) != string(b) {
			t.Fatalf("charset %d: %q → %q → %q", cs, b, s, back)
		}
	})
}

// encodeCharset is the inverse of the decoders, for the round-trip check.
func encodeCharset(cs charset, s string) []byte {
	var out []byte
	for _, r := range s {
		switch cs {
		case csUTF8, csASCII:
			out = utf8.AppendRune(out, r)
		case csLatin1:
			b := byte(r)
			for i, h := range latin1High {
				if h == r {
					b = byte(0x80 + i)
				}
			}
			out = append(out, b)
		case csUCS2:
			out = binary.BigEndian.AppendUint16(out, uint16(r))
		case csUTF16, csUTF16LE:
			for _, u := range utf16.AppendRune(nil, r) {
				if cs == csUTF16 {
					out = binary.BigEndian.AppendUint16(out, u)
				} else {
					out = binary.LittleEndian.AppendUint16(out, u)
				}
			}
		case csUTF32:
			out = binary.BigEndian.AppendUint32(out, uint32(r))
		}
	}
	return out
}

// FuzzValuesSnapshot: FromSnapshot never panics on any bytes for any
// column type, and what it renders for a column is stable: the binlog path
// renders the same string from the equivalent go-mysql value where one
// exists (integers, decimals, DATE, DATETIME and TIME text).
func FuzzValuesSnapshot(f *testing.F) {
	for _, s := range []string{"1", "-1", "12.50", "0000-00-00", "2024-03-10 12:34:56.500000", "-838:59:59.000000",
		"1710074096.789", "0", "\xa5", "x,y", "a", `{"a":1}`, "", "\xff"} {
		f.Add(uint8(0), s)
		f.Add(uint8(7), s)
	}
	cols := fuzzColumns()
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		col := &cols[int(which)%len(cols)]
		v, err := FromSnapshot(col, []byte(raw), false)
		if err != nil {
			return
		}
		switch columnKind(col) {
		case kindDecimal, kindDate, kindTime:
			b, err := FromBinlog(col, raw)
			if err != nil || b != v {
				t.Fatalf("%s: snapshot %q → %q, binlog → %q, %v", col.ColumnType, raw, v.S, b.S, err)
			}
		case kindDatetime:
			if b, err := FromBinlog(col, raw); err != nil || b != v {
				t.Fatalf("%s: snapshot %q → %q, binlog → %q, %v", col.ColumnType, raw, v.S, b.S, err)
			}
		}
	})
}

func fuzzColumns() []schema.Column {
	return []schema.Column{
		{Name: "i", DataType: "int", ColumnType: "int"},
		{Name: "u", DataType: "bigint", ColumnType: "bigint unsigned", Unsigned: true},
		{Name: "d", DataType: "decimal", ColumnType: "decimal(12,2)", Precision: 12, Scale: 2},
		{Name: "f", DataType: "float", ColumnType: "float"},
		{Name: "b", DataType: "bit", ColumnType: "bit(8)", Length: 8},
		{Name: "dt", DataType: "date", ColumnType: "date"},
		{Name: "dtm", DataType: "datetime", ColumnType: "datetime(6)", Scale: 6},
		{Name: "ts", DataType: "timestamp", ColumnType: "timestamp(3)", Scale: 3},
		{Name: "tm", DataType: "time", ColumnType: "time(6)", Scale: 6},
		{Name: "y", DataType: "year", ColumnType: "year(4)"},
		{Name: "s", DataType: "set", ColumnType: "set('x','y')", Elems: []string{"x", "y"}},
		{Name: "e", DataType: "enum", ColumnType: "enum('a')", Elems: []string{"a"}},
		{Name: "j", DataType: "json", ColumnType: "json"},
		{Name: "v", DataType: "varchar", ColumnType: "varchar(8)", Charset: "latin1"},
		{Name: "bn", DataType: "binary", ColumnType: "binary(4)", Length: 4},
	}
}
