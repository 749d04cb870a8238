package coltype

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Append appends the event string s (SQL NULL when null is set) to b, a
// builder of t.Arrow(). A zero or invalid date has no place without a raw
// column: for DATE, DATETIME and TIMESTAMP use AppendWithRaw. On error
// nothing is appended.
func (t Type) Append(b array.Builder, s string, null bool) error {
	return t.AppendWithRaw(b, nil, s, null)
}

// AppendWithRaw appends like Append and, when t.HasRaw(), appends to raw
// the canonical text of a zero or invalid date (then NULL in b), and NULL
// for every other value. raw is ignored for types without a raw column and
// may be nil when no zero date occurs (one is then an error). On error
// nothing is appended to either builder.
func (t Type) AppendWithRaw(b array.Builder, raw *array.StringBuilder, s string, null bool) error {
	if b == nil {
		return fmt.Errorf("%s: %w: nil", t, ErrBuilder)
	}
	if !t.builds(b.Type()) {
		return t.wrongBuilder(b)
	}
	if !t.HasRaw() {
		raw = nil
	}
	if null {
		b.AppendNull()
		if raw != nil {
			raw.AppendNull()
		}
		return nil
	}
	var v value
	buf, err := t.parsePooled(s, &v)
	defer putDecodeBuf(buf)
	if err != nil {
		return err
	}
	if t.HasRaw() && !v.ok {
		return t.appendRaw(b, raw, s, v.c)
	}
	if err := t.appendValue(b, &v); err != nil {
		return err
	}
	if raw != nil {
		raw.AppendNull()
	}
	return nil
}

// appendRaw appends a zero or invalid date: NULL in b, its canonical text
// in raw.
func (t Type) appendRaw(b array.Builder, raw *array.StringBuilder, s string, c civil) error {
	if raw == nil {
		return t.invalid(s, "a zero or invalid date needs the raw column (AppendWithRaw)")
	}
	var buf [32]byte
	b.AppendNull()
	raw.BinaryBuilder.Append(t.appendCivil(buf[:0], c))
	return nil
}

// appendCivil renders a date of a DATE, DATETIME or TIMESTAMP column in
// its event form (a zero or invalid one as MySQL displays it).
func (t Type) appendCivil(b []byte, c civil) []byte {
	switch {
	case t.kind == KindDate:
		return c.appendDate(b)
	case t.kind == KindTimestamp && c.valid():
		return append(c.appendDateTime(b, 'T', int(t.scale)), 'Z')
	}
	return c.appendDateTime(b, ' ', int(t.scale))
}

// builds reports whether dt is t.Arrow() (without allocating one).
func (t Type) builds(dt arrow.DataType) bool {
	switch d := dt.(type) {
	case *arrow.Decimal128Type:
		return t.kind == KindDecimal && d.Precision == int32(t.prec) && d.Scale == int32(t.scale)
	case *arrow.TimestampType:
		want := t.Arrow()
		return want != nil && want.ID() == arrow.TIMESTAMP && d.Unit == arrow.Microsecond &&
			d.TimeZone == want.(*arrow.TimestampType).TimeZone
	case nil:
		return false
	}
	if t.kind == KindDecimal && t.prec <= maxDecimal128 {
		return false
	}
	want := t.Arrow()
	return want != nil && want.ID() == dt.ID()
}

func (t Type) wrongBuilder(b array.Builder) error {
	return fmt.Errorf("%s: %w: %s builder for %s", t, ErrBuilder, b.Type(), t.Arrow())
}

// appendValue appends a parsed non-NULL value.
func (t Type) appendValue(b array.Builder, v *value) error {
	ok := false
	switch t.kind {
	case KindInt:
		if t.unsigned {
			ok = appendUint(b, v.u)
		} else {
			ok = appendInt(b, v.i)
		}
	case KindDecimal:
		ok = t.appendDecimal(b, v.dec)
	case KindFloat:
		var bb *array.Float32Builder
		if bb, ok = b.(*array.Float32Builder); ok {
			bb.Append(float32(v.f))
		}
	case KindDouble:
		var bb *array.Float64Builder
		if bb, ok = b.(*array.Float64Builder); ok {
			bb.Append(v.f)
		}
	case KindBit:
		if t.bits == 1 {
			var bb *array.BooleanBuilder
			if bb, ok = b.(*array.BooleanBuilder); ok {
				bb.Append(v.u == 1)
			}
		} else {
			ok = appendUint(b, v.u)
		}
	case KindDate:
		var bb *array.Date32Builder
		if bb, ok = b.(*array.Date32Builder); ok {
			bb.Append(arrow.Date32(v.c.days()))
		}
	case KindDatetime, KindTimestamp:
		var bb *array.TimestampBuilder
		if bb, ok = b.(*array.TimestampBuilder); ok {
			bb.Append(arrow.Timestamp(v.c.micros()))
		}
	case KindTime:
		ok = appendInt(b, v.i)
	case KindYear:
		var bb *array.Int32Builder
		if bb, ok = b.(*array.Int32Builder); ok {
			bb.Append(int32(v.i))
		}
	case KindText, KindEnum, KindSet, KindJSON:
		var bb *array.StringBuilder
		if bb, ok = b.(*array.StringBuilder); ok {
			bb.BinaryBuilder.Append(bytesOf(v.s))
		}
	case KindBinary, KindGeometry:
		var bb *array.BinaryBuilder
		if bb, ok = b.(*array.BinaryBuilder); ok {
			bb.Append(v.b)
		}
	}
	if !ok {
		return t.wrongBuilder(b)
	}
	return nil
}

// appendInt appends to any signed integer builder; the value was checked
// against the column's range, which the builder's type holds.
func appendInt(b array.Builder, x int64) bool {
	switch bb := b.(type) {
	case *array.Int8Builder:
		bb.Append(int8(x))
	case *array.Int16Builder:
		bb.Append(int16(x))
	case *array.Int32Builder:
		bb.Append(int32(x))
	case *array.Int64Builder:
		bb.Append(x)
	default:
		return false
	}
	return true
}

// appendUint appends to any unsigned integer builder.
func appendUint(b array.Builder, x uint64) bool {
	switch bb := b.(type) {
	case *array.Uint8Builder:
		bb.Append(uint8(x))
	case *array.Uint16Builder:
		bb.Append(uint16(x))
	case *array.Uint32Builder:
		bb.Append(uint32(x))
	case *array.Uint64Builder:
		bb.Append(x)
	default:
		return false
	}
	return true
}

// appendDecimal appends a DECIMAL: Decimal128 for p ≤ 38 (int64
// arithmetic for p ≤ 18), the canonical text for wider ones.
func (t Type) appendDecimal(b array.Builder, d decimal) bool {
	if t.prec > maxDecimal128 {
		bb, ok := b.(*array.StringBuilder)
		if ok {
			var buf [80]byte
			bb.BinaryBuilder.Append(d.appendText(buf[:0], int(t.scale)))
		}
		return ok
	}
	bb, ok := b.(*array.Decimal128Builder)
	if !ok {
		return false
	}
	if t.prec <= 18 {
		bb.Append(decimal128.FromI64(d.small(int(t.scale))))
	} else {
		bb.Append(d.num(int(t.scale)))
	}
	return true
}
