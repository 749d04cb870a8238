package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// columnSpec is a column definition turned into the model, with what the
// table needs to know beyond the column.
type columnSpec struct {
	col     Column
	primary bool // an inline PRIMARY KEY
	// implicitTS marks a TIMESTAMP without NULL or DEFAULT on a server
	// with explicit_defaults_for_timestamp=OFF: its default depends on
	// whether it is the table's first TIMESTAMP and onUpdate (see
	// draft.finish).
	implicitTS, onUpdate bool
}

// intTypes are the integer types: name, display width signed, unsigned.
var intTypes = map[byte]struct {
	name           string
	signed, unsign int
}{
	mysql.TypeTiny:     {"tinyint", 4, 3},
	mysql.TypeShort:    {"smallint", 6, 5},
	mysql.TypeInt24:    {"mediumint", 9, 8},
	mysql.TypeLong:     {"int", 11, 10},
	mysql.TypeLonglong: {"bigint", 20, 20},
}

// column turns a column definition into the model as the server would
// report it (see columnType for the spelling).
func (p *parsed) column(def *ast.ColumnDef, tableCharset string, srv *Server) (columnSpec, error) {
	name := def.Name.Name.O
	if name == "" {
		return columnSpec{}, errors.New("column without a name")
	}
	if def.Tp == nil {
		return columnSpec{}, fmt.Errorf("column %s has no type", name)
	}
	collate := def.Tp.GetCollate()
	for _, o := range def.Options {
		if o.Tp == ast.ColumnOptionCollate {
			collate = o.StrValue
		}
	}
	spec := columnSpec{}
	c := &spec.col
	if typ, ok := p.types[strings.ToLower(name)]; ok {
		c.DataType, c.ColumnType = typ, typ
	} else if err := columnType(c, def.Tp, textCharset(def.Tp.GetCharset(), collate, tableCharset), srv); err != nil {
		return columnSpec{}, fmt.Errorf("column %s: %w", name, err)
	}
	c.Name = name
	c.Nullable = true
	generated, explicitNull, hasDefault, onUpdate := false, false, false, false
	for _, o := range def.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull:
			c.Nullable = false
		case ast.ColumnOptionNull:
			c.Nullable, explicitNull = true, true
		case ast.ColumnOptionPrimaryKey:
			spec.primary = true
		case ast.ColumnOptionAutoIncrement:
			c.Nullable = false
		case ast.ColumnOptionGenerated:
			generated = true
		case ast.ColumnOptionOnUpdate:
			onUpdate = true
		case ast.ColumnOptionDefaultValue:
			d, err := defaultOf(o.Expr, c, srv)
			if err != nil {
				return columnSpec{}, fmt.Errorf("column %s: %w", name, err)
			}
			c.Default, hasDefault = d, true
		case ast.ColumnOptionAutoRandom:
			return columnSpec{}, fmt.Errorf("column %s: AUTO_RANDOM is TiDB's", name)
		}
	}
	if srv != nil && srv.LegacyTimestamps && c.DataType == "timestamp" && !explicitNull && !generated {
		// explicit_defaults_for_timestamp=OFF: TIMESTAMP is NOT NULL.
		c.Nullable = false
		spec.implicitTS, spec.onUpdate = !hasDefault, onUpdate
	}
	if spec.primary {
		c.Nullable = false
	}
	if generated {
		c.Default = nil
	}
	return spec, nil
}

// legacyTimestampDefault is the default the server gives an implicitTS
// column: CURRENT_TIMESTAMP (and ON UPDATE) for the table's first
// TIMESTAMP unless it has its own ON UPDATE, the zero timestamp for the
// others.
func legacyTimestampDefault(c *Column, first bool, srv *Server) *string {
	var s string
	switch {
	case first && srv.Flavor == FlavorMySQL && c.Scale > 0:
		s = fmt.Sprintf("CURRENT_TIMESTAMP(%d)", c.Scale)
	case first && srv.Flavor == FlavorMySQL:
		s = "CURRENT_TIMESTAMP"
	case first && c.Scale > 0:
		s = fmt.Sprintf("current_timestamp(%d)", c.Scale)
	case first:
		s = "current_timestamp()"
	default:
		s = timeOf("0:0:0", c.Scale)
		s = "0000-00-00 " + s
	}
	return &s
}

// textCharset is the character set of a text column: its own, else its
// collation's, else the table's. "binary" makes it a binary type.
func textCharset(cs, collate, tableCharset string) string {
	switch {
	case cs != "":
		return normCharset(cs)
	case collate != "":
		return charsetOf(collate)
	}
	return tableCharset
}

// columnType sets the type fields of c from a parsed type, spelling
// ColumnType as information_schema.COLUMNS.COLUMN_TYPE does; cs is the
// column's character set ("binary" makes text types binary).
func columnType(c *Column, ft *types.FieldType, cs string, srv *Server) error {
	switch tp := ft.GetType(); tp {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong,
		mysql.TypeFloat, mysql.TypeDouble, mysql.TypeNewDecimal:
		numericType(c, ft, srv)
	case mysql.TypeBit:
		c.DataType, c.Length = "bit", max(ft.GetFlen(), 1)
		c.ColumnType = fmt.Sprintf("bit(%d)", c.Length)
	case mysql.TypeYear:
		c.DataType, c.ColumnType = "year", "year(4)"
		if !srv.intWidths() {
			c.ColumnType = "year"
		}
	case mysql.TypeDate:
		c.DataType, c.ColumnType = "date", "date"
	case mysql.TypeDuration, mysql.TypeDatetime, mysql.TypeTimestamp:
		c.DataType = map[byte]string{mysql.TypeDuration: "time", mysql.TypeDatetime: "datetime", mysql.TypeTimestamp: "timestamp"}[tp]
		c.Scale = max(ft.GetDecimal(), 0)
		c.ColumnType = c.DataType
		if c.Scale > 0 {
			c.ColumnType += fmt.Sprintf("(%d)", c.Scale)
		}
	case mysql.TypeJSON:
		if srv != nil && srv.Flavor == FlavorMySQL {
			c.DataType, c.ColumnType = "json", "json"
			break
		}
		// MariaDB's JSON is LONGTEXT in utf8mb4_bin.
		c.DataType, c.ColumnType, c.Charset = "longtext", "longtext", "utf8mb4"
	default:
		return stringType(c, ft, cs)
	}
	return nil
}

// numericType sets the fields of an integer, floating point or decimal
// column.
func numericType(c *Column, ft *types.FieldType, srv *Server) {
	tp, flen, dec := ft.GetType(), ft.GetFlen(), ft.GetDecimal()
	unsigned, zerofill := mysql.HasUnsignedFlag(ft.GetFlag()), mysql.HasZerofillFlag(ft.GetFlag())
	suffix := ""
	if unsigned || zerofill {
		suffix = " unsigned"
		c.Unsigned = true
	}
	if zerofill {
		suffix += " zerofill"
	}
	switch tp {
	case mysql.TypeFloat, mysql.TypeDouble:
		c.DataType = map[byte]string{mysql.TypeFloat: "float", mysql.TypeDouble: "double"}[tp]
		c.ColumnType = c.DataType
		if flen > 0 && dec >= 0 {
			c.ColumnType += fmt.Sprintf("(%d,%d)", flen, dec)
		}
	case mysql.TypeNewDecimal:
		c.DataType, c.Precision, c.Scale = "decimal", flen, max(dec, 0)
		if c.Precision <= 0 {
			c.Precision = 10
		}
		c.ColumnType = fmt.Sprintf("decimal(%d,%d)", c.Precision, c.Scale)
	default:
		it := intTypes[tp]
		c.DataType, c.ColumnType = it.name, it.name
		width := flen
		if width <= 0 {
			width = it.signed
			if c.Unsigned {
				width = it.unsign
			}
		}
		if srv.intWidths() || zerofill || (tp == mysql.TypeTiny && flen == 1) {
			c.ColumnType = fmt.Sprintf("%s(%d)", it.name, width)
		}
	}
	c.ColumnType += suffix
}

// stringType sets the fields of a character, binary, text, blob, ENUM or
// SET column.
func stringType(c *Column, ft *types.FieldType, cs string) error {
	tp, flen := ft.GetType(), ft.GetFlen()
	binary := cs == "binary"
	switch tp {
	case mysql.TypeString:
		c.DataType, c.Length, c.Charset = "char", max(flen, 1), cs
		if binary {
			c.DataType = "binary"
		}
		c.ColumnType = fmt.Sprintf("%s(%d)", c.DataType, c.Length)
	case mysql.TypeVarchar, mysql.TypeVarString:
		if flen < 0 {
			return fmt.Errorf("VARCHAR without a length")
		}
		c.DataType, c.Charset = "varchar", cs
		if binary {
			c.DataType = "varbinary"
		}
		c.ColumnType = fmt.Sprintf("%s(%d)", c.DataType, flen)
	case mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		size := blobSizes[tp]
		if tp == mysql.TypeBlob && flen > 0 {
			size = blobSizeFor(int64(flen) * int64(maxLen(cs)))
		}
		setTextType(c, size, cs)
	case mysql.TypeEnum, mysql.TypeSet:
		c.DataType, c.Charset = "enum", cs
		if tp == mysql.TypeSet {
			c.DataType = "set"
		}
		c.Elems = append([]string{}, ft.GetElems()...)
		c.ColumnType = elemsType(c.DataType, c.Elems)
	default:
		return fmt.Errorf("type %s is not modelled", ft.String())
	}
	return nil
}

// blobSizes orders the text and blob types by their length prefix size.
var blobSizes = map[byte]int{mysql.TypeTinyBlob: 1, mysql.TypeBlob: 2, mysql.TypeMediumBlob: 3, mysql.TypeLongBlob: 4}

// blobSizeFor returns the smallest text or blob type (1 tiny, 2, 3 medium,
// 4 long) holding n bytes.
func blobSizeFor(n int64) int {
	switch {
	case n <= 255:
		return 1
	case n <= 65535:
		return 2
	case n <= 16777215:
		return 3
	}
	return 4
}

// blobMaxBytes is the capacity in bytes of each size of blobSizeFor.
var blobMaxBytes = [5]int64{0, 255, 65535, 16777215, 4294967295}

func setTextType(c *Column, size int, cs string) {
	prefix := [5]string{"", "tiny", "", "medium", "long"}[size]
	if cs == "binary" {
		c.DataType = prefix + "blob"
	} else {
		c.DataType = prefix + "text"
	}
	c.ColumnType, c.Charset = c.DataType, cs
}

// textSize returns the size (see blobSizeFor) of a text or blob DataType,
// or 0.
func textSize(dataType string) int {
	switch dataType {
	case "tinytext", "tinyblob":
		return 1
	case "text", "blob":
		return 2
	case "mediumtext", "mediumblob":
		return 3
	case "longtext", "longblob":
		return 4
	}
	return 0
}

// elemsType spells an ENUM or SET type as information_schema does, with
// quotes doubled and backslashes escaped.
func elemsType(dataType string, elems []string) string {
	var b strings.Builder
	b.WriteString(dataType)
	b.WriteByte('(')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(e))
	}
	b.WriteByte(')')
	return b.String()
}

// quote spells s as a single-quoted literal the way the server prints one.
func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// convertColumn changes a text column to character set cs as CONVERT TO
// CHARACTER SET does: a TEXT type grows so that it holds as many
// characters as before.
func convertColumn(c *Column, cs string) {
	if c.Charset == "" || c.Charset == "binary" {
		return
	}
	from := c.Charset
	if size := textSize(c.DataType); size > 0 {
		chars := blobMaxBytes[size] / int64(maxLen(from))
		setTextType(c, max(size, blobSizeFor(chars*int64(maxLen(cs)))), cs)
		return
	}
	c.Charset = cs
	if cs == "binary" && (c.DataType == "char" || c.DataType == "varchar") {
		rest := strings.TrimPrefix(c.ColumnType, c.DataType)
		c.DataType = strings.TrimSuffix(c.DataType, "char") + "binary"
		c.ColumnType = c.DataType + rest
	}
}
