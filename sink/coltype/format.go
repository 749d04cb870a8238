package coltype

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Format renders element i of arr, an array of t.Arrow(), as its canonical
// event string, or reports NULL: Format(Append(s)) == s for every event
// string the ingester writes, and Append accepts everything Format
// returns. Schema evolution is Format with the old type, then Append with
// the new one. A zero date is NULL here: use FormatWithRaw. An array of
// another type is a programming error and panics.
func (t Type) Format(arr arrow.Array, i int) (s string, null bool) {
	return t.FormatWithRaw(arr, nil, i)
}

// FormatWithRaw renders like Format, but a NULL of a DATE, DATETIME or
// TIMESTAMP column whose raw element i is set renders the raw text.
func (t Type) FormatWithRaw(arr arrow.Array, raw *array.String, i int) (s string, null bool) {
	if arr.IsNull(i) {
		if raw != nil && t.HasRaw() && raw.IsValid(i) {
			return strings.Clone(raw.Value(i)), false
		}
		return "", true
	}
	if a, ok := arr.(*array.String); ok {
		// Value aliases the array's buffer, which a custom allocator may
		// reuse after Release.
		return strings.Clone(a.Value(i)), false
	}
	var buf [80]byte
	return string(t.appendFormatted(buf[:0], arr, i)), false
}

// appendFormatted appends the event form of a non-NULL element of any
// array type but STRING.
func (t Type) appendFormatted(b []byte, arr arrow.Array, i int) []byte {
	switch a := arr.(type) {
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int64:
		if t.kind == KindTime {
			return appendTime(b, a.Value(i), int(t.scale))
		}
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10)
	case *array.Boolean:
		if a.Value(i) {
			return append(b, '1')
		}
		return append(b, '0')
	case *array.Float32:
		return appendFloat(b, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(b, a.Value(i), 64)
	case *array.Decimal128:
		return appendDecimal128(b, a.Value(i), int(t.scale))
	case *array.Date32:
		return civilFromDays(int64(a.Value(i))).appendDate(b)
	case *array.Timestamp:
		return t.appendCivil(b, civilFromMicros(int64(a.Value(i))))
	case *array.Binary:
		return base64.StdEncoding.AppendEncode(b, a.Value(i))
	}
	panic(fmt.Sprintf("coltype: %s: Format of a %s array", t, arr.DataType()))
}

// appendDecimal128 appends n/10^scale in the event form.
func appendDecimal128(b []byte, n decimal128.Num, scale int) []byte {
	var buf [48]byte
	digits, neg := appendNumDigits(buf[:0], n)
	return appendScaled(b, digits, neg, scale)
}
