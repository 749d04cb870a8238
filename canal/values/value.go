package values

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/canal/schema"
)

// Value is one rendered column value: S, or SQL NULL when Null is set (S is
// then "").
type Value struct {
	S    string
	Null bool
}

// null is the rendered SQL NULL.
var null = Value{Null: true}

// Errors callers branch on; every error of this package wraps one of them
// and names the column (and, for a value, its Go type).
var (
	// ErrUnsupportedType: the column's data type has no rendering rule.
	ErrUnsupportedType = errors.New("unsupported column type")
	// ErrUnknownCharset: a text column's charset cannot be decoded.
	ErrUnknownCharset = errors.New("unknown charset")
	// ErrInvalid: the value does not fit the column (unexpected Go type,
	// out of range, malformed text or bytes invalid in the charset).
	ErrInvalid = errors.New("invalid value")
	// ErrUnexpectedNull: NULL in a NOT NULL column (a column the binlog did
	// not log, or a schema that does not match the event).
	ErrUnexpectedNull = errors.New("NULL in a NOT NULL column")
	// ErrPartialJSON: a MySQL partial JSON update (binlog_row_value_options=
	// PARTIAL_JSON), which carries a diff instead of the document.
	ErrPartialJSON = errors.New("partial JSON update")
)

// kind is how a column's values are rendered, derived from DataType.
type kind uint8

const (
	kindUnsupported kind = iota
	kindInt
	kindDecimal
	kindFloat
	kindDouble
	kindBit
	kindDate
	kindDatetime
	kindTimestamp
	kindTime
	kindYear
	kindText
	kindBinary
	kindEnum
	kindSet
	kindJSON
)

// kindOf classifies an information_schema DATA_TYPE.
func kindOf(dataType string) kind {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return kindInt
	case "decimal", "numeric":
		return kindDecimal
	case "float":
		return kindFloat
	case "double", "real", "double precision":
		return kindDouble
	case "bit":
		return kindBit
	case "date":
		return kindDate
	case "datetime":
		return kindDatetime
	case "timestamp":
		return kindTimestamp
	case "time":
		return kindTime
	case "year":
		return kindYear
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return kindText
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return kindBinary
	case "enum":
		return kindEnum
	case "set":
		return kindSet
	case "json":
		return kindJSON
	}
	if lower := strings.ToLower(dataType); lower != dataType {
		return kindOf(lower)
	}
	return kindUnsupported
}

// intBits is the storage width of an integer type.
func intBits(dataType string) uint {
	switch strings.ToLower(dataType) {
	case "tinyint":
		return 8
	case "smallint":
		return 16
	case "mediumint":
		return 24
	case "int", "integer":
		return 32
	}
	return 64
}

// columnKind is the kind a column is rendered as; text columns in the binary
// charset are bytes.
func columnKind(col *schema.Column) kind {
	k := kindOf(col.DataType)
	if k == kindText && strings.EqualFold(col.Charset, "binary") {
		return kindBinary
	}
	return k
}

// Check reports whether values of col can be rendered: its data type has a
// rule, a text column's charset is known and a temporal column's fsp is
// 0…6. The ingester calls it when it loads a table, so that an unsupported
// column stops it before the first row rather than at it.
func Check(col *schema.Column) error {
	switch columnKind(col) {
	case kindUnsupported:
		return fmt.Errorf("column %q: %w %q", col.Name, ErrUnsupportedType, col.ColumnType)
	case kindText:
		if _, ok := lookupCharset(col.Charset); !ok {
			return fmt.Errorf("column %q (%s): %w %q", col.Name, col.ColumnType, ErrUnknownCharset, col.Charset)
		}
	case kindDatetime, kindTimestamp, kindTime:
		if col.Scale < 0 || col.Scale > 6 {
			return fmt.Errorf("column %q (%s): %w: fractional-second precision %d is not 0…6", col.Name,
				col.ColumnType, ErrInvalid, col.Scale)
		}
	}
	return nil
}

// invalid is an ErrInvalid naming the column and the value's Go type.
func invalid(col *schema.Column, v any, format string, args ...any) error {
	return fmt.Errorf("column %q (%s): %w: %T %s: %s", col.Name, col.ColumnType, ErrInvalid,
		v, brief(v), fmt.Sprintf(format, args...))
}

// brief prints a value for an error message, cut short: a blob may be
// megabytes long.
func brief(v any) string {
	const max = 48
	switch x := v.(type) {
	case []byte:
		return briefText(x, max)
	case string:
		return briefText(x, max)
	}
	s := fmt.Sprintf("%v", v)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func briefText[T string | []byte](x T, max int) string {
	if len(x) > max {
		return fmt.Sprintf("%q… (%d bytes)", x[:max], len(x))
	}
	return fmt.Sprintf("%q", x)
}

// unexpectedNull is an ErrUnexpectedNull naming the column.
func unexpectedNull(col *schema.Column) error {
	return fmt.Errorf("column %q (%s): %w (binlog_row_image not FULL, or a schema that does not match the row)",
		col.Name, col.ColumnType, ErrUnexpectedNull)
}
