package coltype

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDigits parses a non-empty run of ASCII digits (leading zeros
// allowed) into a uint64; false on anything else or on overflow.
func parseDigits(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	if len(s) <= 19 { // cannot overflow
		for i := 0; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + uint64(d)
		}
		return n, true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		hi, lo := bits.Mul64(n, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// parseSigned parses [-]digits into an int64 within [min, max].
func parseSigned(s string, min, max int64) (int64, bool) {
	neg := s != "" && s[0] == '-'
	if neg {
		s = s[1:]
	}
	u, ok := parseDigits(s)
	if !ok {
		return 0, false
	}
	if neg {
		if u > uint64(-min) {
			return 0, false
		}
		return -int64(u), true // -int64(1<<63) wraps to itself: MinInt64
	}
	if u > uint64(max) {
		return 0, false
	}
	return int64(u), true
}

// intRange is the signed range of an integer type of the given width.
func intRange(width uint8) (min, max int64) {
	if width >= 64 {
		return math.MinInt64, math.MaxInt64
	}
	return -1 << (width - 1), 1<<(width-1) - 1
}

// uintMax is the largest value of an unsigned type of the given width.
func uintMax(width uint8) uint64 {
	if width >= 64 {
		return math.MaxUint64
	}
	return 1<<width - 1
}

// decimal is a DECIMAL event string split into its parts, validated
// against a type: intPart without leading zeros ("" for zero), frac at
// most scale digits (extra zero digits dropped; never rounded).
type decimal struct {
	neg           bool
	intPart, frac string
}

// parseDecimal splits [-+]digits[.digits] (or .digits) for DECIMAL(p,s).
func parseDecimal(s string, prec, scale int) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		d.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	d.intPart = s[start:i]
	hasInt := i > start
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		d.frac = s[start:i]
		if d.frac == "" {
			return d, false
		}
	}
	if i != len(s) || !hasInt && d.frac == "" {
		return d, false
	}
	for len(d.intPart) > 0 && d.intPart[0] == '0' {
		d.intPart = d.intPart[1:]
	}
	if len(d.intPart) > prec-scale {
		return d, false
	}
	if len(d.frac) > scale {
		if !allZeros(d.frac[scale:]) {
			return d, false
		}
		d.frac = d.frac[:scale]
	}
	if d.intPart == "" && allZeros(d.frac) {
		d.neg = false
	}
	return d, true
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// appendUnscaled appends the digits of the unscaled integer (the value
// times 10^scale) without leading zeros; nothing for zero.
func (d decimal) appendUnscaled(b []byte, scale int) []byte {
	start := len(b)
	b = append(b, d.intPart...)
	b = append(b, d.frac...)
	for i := len(d.frac); i < scale; i++ {
		b = append(b, '0')
	}
	i := start
	for i < len(b) && b[i] == '0' {
		i++
	}
	return append(b[:start], b[i:]...)
}

// appendText appends the canonical event string: sign, integer part
// (at least "0"), '.', exactly scale fraction digits.
func (d decimal) appendText(b []byte, scale int) []byte {
	if d.neg {
		b = append(b, '-')
	}
	if d.intPart == "" {
		b = append(b, '0')
	}
	b = append(b, d.intPart...)
	if scale > 0 {
		b = append(b, '.')
		b = append(b, d.frac...)
		for i := len(d.frac); i < scale; i++ {
			b = append(b, '0')
		}
	}
	return b
}

// num is the decimal as a decimal128 unscaled integer; the caller
// guarantees at most 38 digits.
func (d decimal) num(scale int) decimal128.Num {
	var hi, lo uint64
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			hi, lo = mul10add(hi, lo, uint64(s[i]-'0'))
		}
	}
	add(d.intPart)
	add(d.frac)
	for i := len(d.frac); i < scale; i++ {
		hi, lo = mul10add(hi, lo, 0)
	}
	n := decimal128.New(int64(hi), lo)
	if d.neg {
		n = n.Negate()
	}
	return n
}

// small is the decimal as an int64 unscaled integer; the caller
// guarantees at most 18 digits.
func (d decimal) small(scale int) int64 {
	var n int64
	for i := 0; i < len(d.intPart); i++ {
		n = n*10 + int64(d.intPart[i]-'0')
	}
	for i := 0; i < len(d.frac); i++ {
		n = n*10 + int64(d.frac[i]-'0')
	}
	for i := len(d.frac); i < scale; i++ {
		n *= 10
	}
	if d.neg {
		n = -n
	}
	return n
}

// mul10add returns (hi:lo)*10 + c in 128 bits.
func mul10add(hi, lo, c uint64) (uint64, uint64) {
	h, l := bits.Mul64(lo, 10)
	l, carry := bits.Add64(l, c, 0)
	return hi*10 + h + carry, l
}

// appendNumDigits appends the decimal digits of |n| ("0" for zero) and
// reports the sign.
func appendNumDigits(b []byte, n decimal128.Num) ([]byte, bool) {
	neg := n.Sign() < 0
	if neg {
		n = n.Negate()
	}
	hi, lo := uint64(n.HighBits()), n.LowBits()
	if hi == 0 {
		return strconv.AppendUint(b, lo, 10), neg
	}
	// |n| < 10^38, so the quotient by 10^19 fits 64 bits.
	const e19 = 10_000_000_000_000_000_000
	q, r := bits.Div64(hi%e19, lo, e19)
	b = strconv.AppendUint(b, q, 10)
	var tmp [20]byte
	rs := strconv.AppendUint(tmp[:0], r, 10)
	for i := len(rs); i < 19; i++ {
		b = append(b, '0')
	}
	return append(b, rs...), neg
}

// appendScaled appends unscaled digits (no sign, "0" for zero) as a
// decimal with scale fraction digits.
func appendScaled(b []byte, digits []byte, neg bool, scale int) []byte {
	if neg && !(len(digits) == 1 && digits[0] == '0') {
		b = append(b, '-')
	}
	if len(digits) <= scale {
		b = append(b, '0')
		if scale > 0 {
			b = append(b, '.')
		}
		for i := len(digits); i < scale; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	point := len(digits) - scale
	b = append(b, digits[:point]...)
	if scale > 0 {
		b = append(b, '.')
		b = append(b, digits[point:]...)
	}
	return b
}

// parseFloat parses a FLOAT (bits 32) or DOUBLE event string; NaN and
// infinities are not MySQL values.
func parseFloat(s string, size int) (float64, bool) {
	f, err := strconv.ParseFloat(s, size)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// appendFloat formats f with the shortest digits that round-trip at the
// given bit size, laid out as JavaScript and encoding/json do (and as
// canal/values renders it): plain for 1e-6 ≤ |f| < 1e21, exponent
// otherwise (1e-7, 1.5e+300). Negative zero is "0".
func appendFloat(b []byte, f float64, size int) []byte {
	if f == 0 {
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if size == 64 && (abs < 1e-6 || abs >= 1e21) ||
		size == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, size)
	if format == 'e' {
		// e-07 → e-7, as JavaScript writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
