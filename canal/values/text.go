package values

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicehq/sluice/canal/schema"
)

// charset is a text charset this package decodes.
type charset uint8

const (
	csUTF8 charset = iota + 1
	csASCII
	csLatin1
	csUCS2
	csUTF16
	csUTF16LE
	csUTF32
)

// lookupCharset finds a MySQL charset by name. "binary" is not a text
// charset here: such columns are rendered as base64.
func lookupCharset(name string) (charset, bool) {
	switch strings.ToLower(name) {
	case "utf8mb4", "utf8mb3", "utf8":
		return csUTF8, true
	case "ascii":
		return csASCII, true
	case "latin1":
		return csLatin1, true
	case "ucs2":
		return csUCS2, true
	case "utf16":
		return csUTF16, true
	case "utf16le":
		return csUTF16LE, true
	case "utf32":
		return csUTF32, true
	}
	return 0, false
}

// valid reports whether b is valid in a charset whose text is already
// UTF-8 (utf8 and ascii).
func valid[T string | []byte](cs charset, b T) bool {
	if cs == csASCII {
		for i := 0; i < len(b); i++ {
			if b[i] >= 0x80 {
				return false
			}
		}
		return true
	}
	switch x := any(b).(type) {
	case string:
		return utf8.ValidString(x)
	case []byte:
		return utf8.Valid(x)
	}
	return false
}

// convert decodes b from a charset whose text is not UTF-8 to a new UTF-8
// string; ok is false for bytes that are not valid in cs.
func convert[T string | []byte](cs charset, b T) (s string, ok bool) {
	switch cs {
	case csLatin1:
		return decodeLatin1(b), true
	case csUCS2:
		return decodeUCS2(b)
	case csUTF16:
		return decodeUTF16(b, true)
	case csUTF16LE:
		return decodeUTF16(b, false)
	case csUTF32:
		return decodeUTF32(b)
	}
	return "", false
}

// latin1High is MySQL's latin1 (Windows-1252) for 0x80…0x9F; the bytes
// cp1252 leaves undefined map to the C1 control of the same number, as the
// server converts them (strings/ctype-latin1.c). 0xA0…0xFF are U+00A0…U+00FF.
var latin1High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

func decodeLatin1[T string | []byte](b T) string {
	high := 0
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x80 {
			high++
		}
	}
	if high == 0 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 2*high)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(latin1High[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// decodeUCS2 decodes MySQL's ucs2: big-endian, BMP only.
func decodeUCS2[T string | []byte](b T) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(b) * 3 / 2)
	for i := 0; i < len(b); i += 2 {
		r := rune(b[i])<<8 | rune(b[i+1])
		if utf16.IsSurrogate(r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// decodeUTF16 decodes utf16 (big-endian) or utf16le.
func decodeUTF16[T string | []byte](b T, bigEndian bool) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	unit := func(i int) rune {
		if bigEndian {
			return rune(b[i])<<8 | rune(b[i+1])
		}
		return rune(b[i+1])<<8 | rune(b[i])
	}
	var sb strings.Builder
	sb.Grow(len(b) * 3 / 2)
	for i := 0; i < len(b); i += 2 {
		r := unit(i)
		if utf16.IsSurrogate(r) {
			if r >= 0xDC00 || i+3 >= len(b) {
				return "", false
			}
			r = utf16.DecodeRune(r, unit(i+2))
			if r == utf8.RuneError {
				return "", false
			}
			i += 2
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// decodeUTF32 decodes MySQL's utf32: big-endian.
func decodeUTF32[T string | []byte](b T) (string, bool) {
	if len(b)%4 != 0 {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i += 4 {
		r := rune(b[i])<<24 | rune(b[i+1])<<16 | rune(b[i+2])<<8 | rune(b[i+3])
		if !utf8.ValidRune(r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// textBinlog renders a text column from the binlog, decoded from the
// column's charset. go-mysql hands CHAR/VARCHAR over as a string aliasing
// the event buffer, TEXT as []byte; the result is always a copy.
func textBinlog(col *schema.Column, v any) (string, error) {
	cs, ok := lookupCharset(col.Charset)
	if !ok {
		return "", Check(col)
	}
	var s string
	switch x := v.(type) {
	case string:
		if cs == csUTF8 || cs == csASCII {
			if ok = valid(cs, x); ok {
				s = strings.Clone(x)
			}
		} else {
			s, ok = convert(cs, x)
		}
	case []byte:
		if cs == csUTF8 || cs == csASCII {
			ok = valid(cs, x)
			if ok {
				s = string(x)
			}
		} else {
			s, ok = convert(cs, x)
		}
	default:
		return "", invalid(col, v, "not text")
	}
	if !ok {
		return "", invalid(col, v, "not valid %s", col.Charset)
	}
	return s, nil
}

// textSnapshot renders a text column from the snapshot: the server has
// converted it to the session's utf8mb4.
func textSnapshot(col *schema.Column, raw []byte) (string, error) {
	if _, ok := lookupCharset(col.Charset); !ok {
		return "", Check(col)
	}
	if !utf8.Valid(raw) {
		return "", invalid(col, raw, "not valid UTF-8 (is the session's character set utf8mb4?)")
	}
	return string(raw), nil
}

// binaryBinlog renders BINARY/VARBINARY (string), BLOB and GEOMETRY
// ([]byte) as base64. The binlog strips the trailing 0x00 padding of
// BINARY(n); it is restored to the column's length.
func binaryBinlog(col *schema.Column, v any) (string, error) {
	switch x := v.(type) {
	case []byte:
		return encodeBase64(x, binaryPad(col, len(x))), nil
	case string:
		return encodeBase64(x, binaryPad(col, len(x))), nil
	}
	return "", invalid(col, v, "not bytes")
}

// binarySnapshot renders a binary column from the snapshot: the server's
// bytes (BINARY(n) already padded).
func binarySnapshot(col *schema.Column, raw []byte) string {
	return encodeBase64(raw, binaryPad(col, len(raw)))
}

// binaryPad is how many 0x00 bytes a BINARY(n) value of n bytes lacks.
func binaryPad(col *schema.Column, n int) int {
	if col.Length > n && strings.EqualFold(col.DataType, "binary") {
		return col.Length - n
	}
	return 0
}

// encodeBase64 is standard base64 of b followed by pad zero bytes, with one
// allocation (the result): chunks go through a stack buffer.
func encodeBase64[T string | []byte](b T, pad int) string {
	const in = 768 // a multiple of 3: chunks encode without "=" padding
	var src [in]byte
	var dst [in / 3 * 4]byte
	total := len(b) + pad
	var sb strings.Builder
	sb.Grow(base64.StdEncoding.EncodedLen(total))
	for off := 0; off < total; off += in {
		n := min(in, total-off)
		chunk := src[:n]
		c := 0
		if off < len(b) {
			c = copy(chunk, b[off:min(off+n, len(b))])
		}
		clear(chunk[c:])
		base64.StdEncoding.Encode(dst[:], chunk)
		sb.Write(dst[:base64.StdEncoding.EncodedLen(n)])
	}
	return sb.String()
}
