package values

import (
	"strings"

	"github.com/sluicehq/sluice/canal/schema"
)

// QuoteIdent quotes a MySQL identifier with backticks, doubling any
// backtick inside.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// SelectExpr is the SQL expression that selects col in a snapshot query:
// the quoted column, except where the server's text would lose
// information: FLOAT is selected as CAST(col AS DOUBLE) (the text protocol
// prints a FLOAT with 6 significant digits) and TIMESTAMP as
// UNIX_TIMESTAMP(col) (the stored instant, independent of the session's
// time zone).
func SelectExpr(col *schema.Column) string {
	q := QuoteIdent(col.Name)
	switch columnKind(col) {
	case kindFloat:
		return "CAST(" + q + " AS DOUBLE)"
	case kindTimestamp:
		return "UNIX_TIMESTAMP(" + q + ")"
	}
	return q
}

// FromSnapshot renders what a snapshot query returns for SelectExpr(col),
// as go-sql-driver/mysql delivers it into a sql.RawBytes (text or binary
// protocol, session character set utf8mb4, parseTime off): raw is the
// value's bytes, null reports SQL NULL (raw == nil right after Scan). raw
// is not retained.
func FromSnapshot(col *schema.Column, raw []byte, null bool) (Value, error) {
	if null {
		if !col.Nullable {
			return Value{}, unexpectedNull(col)
		}
		return Value{Null: true}, nil
	}
	var s string
	var err error
	switch columnKind(col) {
	case kindInt:
		s, err = parseInt(col, raw)
	case kindDecimal:
		s, err = decimalValue(col, raw)
	case kindFloat:
		s, err = parseFloat(col, raw, 32)
	case kindDouble:
		s, err = parseFloat(col, raw, 64)
	case kindBit:
		s, err = parseBit(col, raw)
	case kindDate:
		s, err = dateValue(col, raw, string(raw))
	case kindDatetime:
		if err = checkFsp(col); err == nil {
			s, err = datetimeText(col, raw, string(raw))
		}
	case kindTimestamp:
		if err = checkFsp(col); err == nil {
			s, err = timestampSnapshot(col, raw)
		}
	case kindTime:
		if err = checkFsp(col); err == nil {
			s, err = timeText(col, raw, string(raw))
		}
	case kindYear:
		s, err = yearSnapshot(col, raw)
	case kindText:
		s, err = textSnapshot(col, raw)
	case kindBinary:
		s = binarySnapshot(col, raw)
	case kindEnum:
		s, err = enumSnapshot(col, raw)
	case kindSet:
		s, err = setSnapshot(col, raw)
	case kindJSON:
		s, err = jsonText(col, raw, raw)
	default:
		err = Check(col)
	}
	if err != nil {
		return Value{}, err
	}
	return Value{S: s}, nil
}
