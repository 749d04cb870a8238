package values

import (
	"strings"

	"github.com/sluicehq/sluice/canal/schema"
)

// java.sql.Types codes, as FlatMessage's sqlType carries them. Part of the
// event format: never renumber.
const (
	typeBit       = -7
	typeTinyint   = -6
	typeSmallint  = 5
	typeInteger   = 4
	typeBigint    = -5
	typeReal      = 7
	typeDouble    = 8
	typeDecimal   = 3
	typeChar      = 1
	typeVarchar   = 12
	typeDate      = 91
	typeTime      = 92
	typeTimestamp = 93
	typeBlob      = 2004
	typeClob      = 2005
	typeOther     = 1111
)

// SQLType is the java.sql.Types code of col for FlatMessage's sqlType, as
// Alibaba Canal maps MySQL types (parse/…/dbsync/LogEventConvert.java and
// dbsync/…/RowsLogBuffer.java), with two deliberate differences:
//   - an UNSIGNED integer column always has the next wider type, the one
//     that holds all its values (TINYINT→SMALLINT, SMALLINT→INTEGER,
//     MEDIUMINT→INTEGER, INT→BIGINT, BIGINT→DECIMAL); Canal widens per
//     value, only for values above the signed maximum;
//   - ENUM and SET are VARCHAR, since their values are rendered as strings
//     (Canal sends ENUM's index as INTEGER and SET's bitmask as BIT).
//
// The rest is Canal's: FLOAT REAL, YEAR VARCHAR, CHAR CHAR, VARCHAR and
// MySQL JSON VARCHAR, TEXT types CLOB, BINARY/VARBINARY/BLOB/GEOMETRY BLOB
// (base64 here, ISO-8859-1 in Canal), BIT BIT, unknown types OTHER.
func SQLType(col *schema.Column) int {
	switch columnKind(col) {
	case kindInt:
		return intSQLType(intBits(col.DataType), col.Unsigned)
	case kindDecimal:
		return typeDecimal
	case kindFloat:
		return typeReal
	case kindDouble:
		return typeDouble
	case kindBit:
		return typeBit
	case kindDate:
		return typeDate
	case kindDatetime, kindTimestamp:
		return typeTimestamp
	case kindTime:
		return typeTime
	case kindYear, kindEnum, kindSet, kindJSON:
		return typeVarchar
	case kindText:
		switch strings.ToLower(col.DataType) {
		case "char":
			return typeChar
		case "varchar":
			return typeVarchar
		}
		return typeClob
	case kindBinary:
		return typeBlob
	}
	return typeOther
}

func intSQLType(bits uint, unsigned bool) int {
	if unsigned {
		switch bits {
		case 8:
			return typeSmallint
		case 16, 24:
			return typeInteger
		case 32:
			return typeBigint
		}
		return typeDecimal
	}
	switch bits {
	case 8:
		return typeTinyint
	case 16:
		return typeSmallint
	case 24, 32:
		return typeInteger
	}
	return typeBigint
}
