package coltype

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// RawSuffix is appended to a DATE, DATETIME or TIMESTAMP column's name to
// name its raw side column.
const RawSuffix = "_raw"

// Field metadata keys set by Fields.
const (
	// MetaMySQLType holds Type.String(), the source column type.
	MetaMySQLType = "sluice.mysql_type"
	// MetaUnit holds the unit of a TIME column's INT64: "us".
	MetaUnit = "sluice.unit"
)

// The shared instances of the Arrow types that have no predefined one.
var (
	datetimeType  arrow.DataType = &arrow.TimestampType{Unit: arrow.Microsecond}
	timestampType arrow.DataType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// Arrow returns the column's Arrow type (cdc-semantics §3; see the package
// doc for the table). The zero Type has none (nil).
func (t Type) Arrow() arrow.DataType {
	switch t.kind {
	case KindInt:
		return intArrow(t.bits, t.unsigned)
	case KindDecimal:
		if t.prec <= maxDecimal128 {
			return &arrow.Decimal128Type{Precision: int32(t.prec), Scale: int32(t.scale)}
		}
		return arrow.BinaryTypes.String
	case KindFloat:
		return arrow.PrimitiveTypes.Float32
	case KindDouble:
		return arrow.PrimitiveTypes.Float64
	case KindBit:
		if t.bits == 1 {
			return arrow.FixedWidthTypes.Boolean
		}
		return arrow.PrimitiveTypes.Uint64
	case KindDate:
		return arrow.FixedWidthTypes.Date32
	case KindDatetime:
		return datetimeType
	case KindTimestamp:
		return timestampType
	case KindTime:
		return arrow.PrimitiveTypes.Int64
	case KindYear:
		return arrow.PrimitiveTypes.Int32
	case KindText, KindEnum, KindSet, KindJSON:
		return arrow.BinaryTypes.String
	case KindBinary, KindGeometry:
		return arrow.BinaryTypes.Binary
	}
	return nil
}

// maxDecimal128 is the largest precision stored as Decimal128; wider
// DECIMALs are STRING.
const maxDecimal128 = 38

func intArrow(bits uint8, unsigned bool) arrow.DataType {
	switch {
	case bits == 8 && unsigned:
		return arrow.PrimitiveTypes.Uint8
	case bits == 8:
		return arrow.PrimitiveTypes.Int8
	case bits == 16 && unsigned:
		return arrow.PrimitiveTypes.Uint16
	case bits == 16:
		return arrow.PrimitiveTypes.Int16
	case bits <= 32 && unsigned:
		return arrow.PrimitiveTypes.Uint32
	case bits <= 32:
		return arrow.PrimitiveTypes.Int32
	case unsigned:
		return arrow.PrimitiveTypes.Uint64
	}
	return arrow.PrimitiveTypes.Int64
}

// Fields returns the Arrow fields of a column named name: the main field
// and, when HasRaw, the raw side column name+RawSuffix (STRING, nullable).
// The main field carries MetaMySQLType (and MetaUnit for TIME) and is
// nullable when nullable is set or the type HasRaw (a zero date is NULL
// in a NOT NULL column).
func (t Type) Fields(name string, nullable bool) []arrow.Field {
	keys, values := []string{MetaMySQLType}, []string{t.String()}
	if t.kind == KindTime {
		keys, values = append(keys, MetaUnit), append(values, "us")
	}
	main := arrow.Field{Name: name, Type: t.Arrow(), Nullable: nullable || t.HasRaw(),
		Metadata: arrow.NewMetadata(keys, values)}
	if !t.HasRaw() {
		return []arrow.Field{main}
	}
	return []arrow.Field{main, {Name: name + RawSuffix, Type: arrow.BinaryTypes.String, Nullable: true}}
}
