package coltype

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Key tags: the first byte of every encoded column. Part of the key
// format: never change.
const (
	keyNull  = 0x00 // SQL NULL: sorts before every value
	keyValue = 0x01 // a value follows
)

// Escaping of text and binary keys: 0x00 is written 0x00 0xFF and the end
// is 0x00 0x01, so a prefix sorts first and ("a","b") ≠ ("ab","").
const (
	escZero = 0xFF
	escEnd  = 0x01
)

// AppendKey appends the order-preserving key encoding of the event string
// s of a column of type t to dst (see the package doc). It accepts exactly
// what Append accepts; a zero date is encoded from its text. On error dst
// is returned unchanged.
func AppendKey(dst []byte, t Type, s string) ([]byte, error) {
	var v value
	buf, err := t.parsePooled(s, &v)
	defer putDecodeBuf(buf)
	if err != nil {
		return dst, err
	}
	return t.appendKey(dst, &v), nil
}

// AppendNullKey appends the encoding of SQL NULL, which sorts before every
// value of every type.
func AppendNullKey(dst []byte) []byte { return append(dst, keyNull) }

// AppendKeyArrow appends the key encoding of element i of arr, an array of
// t.Arrow(): the same bytes AppendKey gives for the event string the
// element was appended from. For DATE, DATETIME and TIMESTAMP use
// AppendKeyArrowWithRaw, or a zero date encodes as NULL. An array of
// another type is a programming error and panics.
func AppendKeyArrow(dst []byte, t Type, arr arrow.Array, i int) []byte {
	return AppendKeyArrowWithRaw(dst, t, arr, nil, i)
}

// AppendKeyArrowWithRaw appends like AppendKeyArrow, encoding a zero date
// from the raw column.
func AppendKeyArrowWithRaw(dst []byte, t Type, arr arrow.Array, raw *array.String, i int) []byte {
	if arr.IsNull(i) {
		if raw != nil && t.HasRaw() && raw.IsValid(i) {
			// Only DATE, DATETIME and TIMESTAMP have raw text: no bytes to decode.
			var v value
			if err := t.parse(raw.Value(i), nil, &v); err == nil {
				return t.appendKey(dst, &v)
			}
		}
		return append(dst, keyNull)
	}
	dst = append(dst, keyValue)
	switch a := arr.(type) {
	case *array.Int8:
		return appendKeyInt(dst, int64(a.Value(i)))
	case *array.Int16:
		return appendKeyInt(dst, int64(a.Value(i)))
	case *array.Int32:
		return appendKeyInt(dst, int64(a.Value(i)))
	case *array.Int64:
		return appendKeyInt(dst, a.Value(i))
	case *array.Uint8:
		return binary.BigEndian.AppendUint64(dst, uint64(a.Value(i)))
	case *array.Uint16:
		return binary.BigEndian.AppendUint64(dst, uint64(a.Value(i)))
	case *array.Uint32:
		return binary.BigEndian.AppendUint64(dst, uint64(a.Value(i)))
	case *array.Uint64:
		return binary.BigEndian.AppendUint64(dst, a.Value(i))
	case *array.Boolean:
		return appendKeyBool(dst, a.Value(i))
	case *array.Float32:
		return appendKeyFloat(dst, float64(a.Value(i)))
	case *array.Float64:
		return appendKeyFloat(dst, a.Value(i))
	case *array.Decimal128:
		var buf [48]byte
		digits, neg := appendNumDigits(buf[:0], a.Value(i))
		return appendKeyDecimal(dst, digits, neg)
	case *array.Date32:
		return appendKeyDate(dst, civilFromDays(int64(a.Value(i))))
	case *array.Timestamp:
		return appendKeyDateTime(dst, civilFromMicros(int64(a.Value(i))))
	case *array.String:
		if t.kind == KindDecimal {
			return t.appendKeyDecimalText(dst, a.Value(i))
		}
		return appendEscaped(dst, a.Value(i))
	case *array.Binary:
		return appendEscaped(dst, a.Value(i))
	}
	panic(fmt.Sprintf("coltype: %s: key of a %s array", t, arr.DataType()))
}

// appendKey appends the key of a parsed value.
func (t Type) appendKey(dst []byte, v *value) []byte {
	dst = append(dst, keyValue)
	switch t.kind {
	case KindInt:
		if t.unsigned {
			return binary.BigEndian.AppendUint64(dst, v.u)
		}
		return appendKeyInt(dst, v.i)
	case KindDecimal:
		var buf [80]byte
		return appendKeyDecimal(dst, v.dec.appendUnscaled(buf[:0], int(t.scale)), v.dec.neg)
	case KindFloat, KindDouble:
		return appendKeyFloat(dst, v.f)
	case KindBit:
		if t.bits == 1 {
			return appendKeyBool(dst, v.u == 1)
		}
		return binary.BigEndian.AppendUint64(dst, v.u)
	case KindTime, KindYear:
		return appendKeyInt(dst, v.i)
	case KindDate:
		return appendKeyDate(dst, v.c)
	case KindDatetime, KindTimestamp:
		return appendKeyDateTime(dst, v.c)
	case KindText, KindEnum, KindSet, KindJSON:
		return appendEscaped(dst, v.s)
	case KindBinary, KindGeometry:
		return appendEscaped(dst, v.b)
	}
	return dst
}

// appendKeyDecimalText encodes a DECIMAL stored as STRING; the text was
// validated by Append, anything else (not written by this package) is
// encoded as text.
func (t Type) appendKeyDecimalText(dst []byte, s string) []byte {
	d, ok := parseDecimal(s, int(t.prec), int(t.scale))
	if !ok {
		return appendEscaped(dst, s)
	}
	var buf [80]byte
	return appendKeyDecimal(dst, d.appendUnscaled(buf[:0], int(t.scale)), d.neg)
}

// appendKeyInt appends x big-endian with the sign bit flipped.
func appendKeyInt(dst []byte, x int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(x)^1<<63)
}

func appendKeyBool(dst []byte, x bool) []byte {
	if x {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendKeyFloat appends f's bits so that they sort numerically: negative
// numbers have all bits flipped, the others the sign bit; -0 is 0.
func appendKeyFloat(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	u := math.Float64bits(f)
	if u>>63 == 1 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, u)
}

// appendKeyDecimal appends a decimal's unscaled integer (digits without
// leading zeros; empty or "0" for zero): a header byte 0x80 for zero,
// 0x80+n for n positive digits, 0x80-n for n negative ones, then the
// digits two per byte (negative ones as 9-d), the last low nibble 0 when n
// is odd. More digits sort after (positive) or before (negative).
func appendKeyDecimal(dst []byte, digits []byte, neg bool) []byte {
	if len(digits) == 0 || len(digits) == 1 && digits[0] == '0' {
		return append(dst, 0x80)
	}
	n := len(digits)
	if neg {
		dst = append(dst, byte(0x80-n))
	} else {
		dst = append(dst, byte(0x80+n))
	}
	for i := 0; i < n; i += 2 {
		hi, lo := digits[i]-'0', byte(0)
		if i+1 < n {
			lo = digits[i+1] - '0'
		}
		if neg {
			hi = 9 - hi
			if i+1 < n {
				lo = 9 - lo
			}
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst
}

// appendKeyDate appends year (2 bytes), month, day: chronological for real
// dates, and zero or invalid dates where MySQL sorts them ("0000-00-00"
// first, "2024-00-10" before 2024-01-01).
func appendKeyDate(dst []byte, c civil) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.year))
	return append(dst, byte(c.month), byte(c.day))
}

// appendKeyDateTime appends the date, hour, minute, second (a byte each)
// and the microseconds (3 bytes).
func appendKeyDateTime(dst []byte, c civil) []byte {
	dst = appendKeyDate(dst, c)
	dst = append(dst, byte(c.hour), byte(c.minute), byte(c.second))
	return append(dst, byte(c.micro>>16), byte(c.micro>>8), byte(c.micro))
}

// appendEscaped appends s with 0x00 escaped and the terminator.
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, s[start:i+1]...)
			dst = append(dst, escZero)
			start = i + 1
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, 0, escEnd)
}
