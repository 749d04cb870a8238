package values

import (
	"math"
	"strconv"

	"github.com/sluicehq/sluice/canal/schema"
)

// intValue renders an integer of any Go integer type for an integer column
// of the given storage width: a negative value of an UNSIGNED column is the
// two's complement go-mysql hands over, reinterpreted at the column's width.
func intValue(col *schema.Column, v any) (string, error) {
	bits := intBits(col.DataType)
	var x int64
	var u uint64
	signed := true
	switch n := v.(type) {
	case int8:
		x = int64(n)
	case int16:
		x = int64(n)
	case int32:
		x = int64(n)
	case int64:
		x = n
	case int:
		x = int64(n)
	case uint8:
		u, signed = uint64(n), false
	case uint16:
		u, signed = uint64(n), false
	case uint32:
		u, signed = uint64(n), false
	case uint64:
		u, signed = n, false
	case uint:
		u, signed = uint64(n), false
	default:
		return "", invalid(col, v, "not an integer")
	}
	if col.Unsigned {
		if signed {
			if x < -(1 << (bits - 1)) {
				return "", invalid(col, v, "out of range for %d-bit UNSIGNED", bits)
			}
			u = uint64(x)
			if bits < 64 {
				u &= 1<<bits - 1
			}
		}
		if bits < 64 && u >= 1<<bits {
			return "", invalid(col, v, "out of range for %d-bit UNSIGNED", bits)
		}
		return strconv.FormatUint(u, 10), nil
	}
	if !signed {
		if u > math.MaxInt64 {
			return "", invalid(col, v, "out of range for a signed column")
		}
		x = int64(u)
	}
	if bits < 64 && (x < -(1<<(bits-1)) || x >= 1<<(bits-1)) {
		return "", invalid(col, v, "out of range for %d-bit signed", bits)
	}
	return strconv.FormatInt(x, 10), nil
}

// parseInt renders an integer column's snapshot text.
func parseInt(col *schema.Column, raw []byte) (string, error) {
	if col.Unsigned {
		u, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return "", invalid(col, raw, "not an unsigned integer")
		}
		return intValue(col, u)
	}
	x, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return "", invalid(col, raw, "not an integer")
	}
	return intValue(col, x)
}

// decimalText renders a plain decimal string ([-+]digits[.digits]) with
// exactly scale fraction digits: leading zeros dropped, missing fraction
// digits padded, extra ones allowed only when they are zeros (nothing is
// rounded), negative zero without its sign. With precision > 0 the integer
// part must have at most precision-scale digits. The result is s itself
// when s is already in that form.
func decimalText(s string, precision, scale int) (string, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fracStart:i]
		if frac == "" {
			return "", false
		}
	}
	if i != len(s) || intPart == "" && frac == "" || scale < 0 {
		return "", false
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if intPart == "" {
		intPart = "0"
	}
	if precision > 0 && intPart != "0" && len(intPart) > precision-scale {
		return "", false
	}
	if len(frac) > scale {
		for j := scale; j < len(frac); j++ {
			if frac[j] != '0' {
				return "", false
			}
		}
		frac = frac[:scale]
	}
	if neg && intPart == "0" && allZeros(frac) {
		neg = false
	}
	var buf [96]byte
	out := buf[:0]
	if neg {
		out = append(out, '-')
	}
	out = append(out, intPart...)
	if scale > 0 {
		out = append(out, '.')
		out = append(out, frac...)
		for j := len(frac); j < scale; j++ {
			out = append(out, '0')
		}
	}
	if string(out) == s {
		return s, true
	}
	return string(out), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// fixedDecimal is what shopspring/decimal.Decimal offers (go-mysql's value
// with UseDecimal); matched by method so this package needs no dependency.
type fixedDecimal interface {
	StringFixed(places int32) string
}

// stringFixed calls d.StringFixed; a nil *decimal.Decimal would panic in
// it, and values of unexpected types must be errors, not panics.
func stringFixed(d fixedDecimal, places int32) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return d.StringFixed(places), true
}

// decimalValue renders a DECIMAL from go-mysql: an exact string (UseDecimal
// off) or a decimal.Decimal (UseDecimal on).
func decimalValue(col *schema.Column, v any) (string, error) {
	var s string
	switch d := v.(type) {
	case string:
		s = d
	case []byte:
		s = string(d)
	case fixedDecimal:
		var ok bool
		if s, ok = stringFixed(d, int32(col.Scale)); !ok {
			return "", invalid(col, v, "StringFixed panicked")
		}
	default:
		return "", invalid(col, v, "not a decimal string")
	}
	out, ok := decimalText(s, col.Precision, col.Scale)
	if !ok {
		return "", invalid(col, v, "not a DECIMAL(%d,%d) value", col.Precision, col.Scale)
	}
	return out, nil
}

// floatText formats f with the shortest digits that round-trip at the given
// bit size, laid out as JavaScript and encoding/json do: plain for
// 1e-6 ≤ |f| < 1e21, exponent otherwise (1e-7, 1.5e+300). Negative zero is
// "0".
func floatText(f float64, bits int) string {
	if f == 0 {
		return "0"
	}
	var buf [32]byte
	return string(appendFloat(buf[:0], f, bits))
}

func appendFloat(b []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-07 → e-7, as JavaScript writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// floatValue renders a FLOAT (float32) or DOUBLE (float64) from go-mysql.
func floatValue(col *schema.Column, v any, bits int) (string, error) {
	var f float64
	switch x := v.(type) {
	case float32:
		f = float64(x)
	case float64:
		f = x
	default:
		return "", invalid(col, v, "not a floating-point number")
	}
	return checkedFloat(col, v, f, bits)
}

func checkedFloat(col *schema.Column, v any, f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", invalid(col, v, "not a finite number")
	}
	if bits == 32 {
		if float64(float32(f)) != f {
			return "", invalid(col, v, "not a float32 value")
		}
	}
	return floatText(f, bits), nil
}

// parseFloat renders a FLOAT/DOUBLE column's snapshot text (FLOAT selected
// as DOUBLE, so the text holds every bit).
func parseFloat(col *schema.Column, raw []byte, bits int) (string, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return "", invalid(col, raw, "not a number")
	}
	return checkedFloat(col, raw, f, bits)
}

// bitValue renders BIT(n) from go-mysql's int64 (the bits, big-endian
// decoded; BIT(64) with the top bit set arrives negative).
func bitValue(col *schema.Column, v any) (string, error) {
	var u uint64
	switch x := v.(type) {
	case int64:
		u = uint64(x)
	case uint64:
		u = x
	case []byte:
		return parseBit(col, x)
	default:
		return "", invalid(col, v, "not a BIT value")
	}
	if col.Length > 0 && col.Length < 64 && u >= 1<<col.Length {
		return "", invalid(col, v, "wider than BIT(%d)", col.Length)
	}
	return strconv.FormatUint(u, 10), nil
}

// parseBit renders BIT(n) from the server's bytes (big-endian, ⌈n/8⌉
// bytes, as the text and binary protocols both send them).
func parseBit(col *schema.Column, raw []byte) (string, error) {
	if len(raw) == 0 || len(raw) > 8 {
		return "", invalid(col, raw, "not 1 to 8 bytes of BIT")
	}
	var u uint64
	for _, c := range raw {
		u = u<<8 | uint64(c)
	}
	return bitValue(col, u)
}
