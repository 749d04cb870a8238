package schema

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// ErrSchemaMismatch is wrapped by Reconcile's error: the binlog's table map
// contradicts the schema history, and decoding with it would be wrong.
var ErrSchemaMismatch = errors.New("schema history does not match the binlog")

// binlogTypes are the table-map column types each DataType may be logged
// as.
var binlogTypes = map[string][]byte{
	"tinyint":   {mysql.MYSQL_TYPE_TINY},
	"smallint":  {mysql.MYSQL_TYPE_SHORT},
	"mediumint": {mysql.MYSQL_TYPE_INT24},
	"int":       {mysql.MYSQL_TYPE_LONG},
	"bigint":    {mysql.MYSQL_TYPE_LONGLONG},
	"float":     {mysql.MYSQL_TYPE_FLOAT},
	"double":    {mysql.MYSQL_TYPE_DOUBLE},
	"decimal":   {mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DECIMAL},
	"bit":       {mysql.MYSQL_TYPE_BIT},
	"year":      {mysql.MYSQL_TYPE_YEAR},
	"date":      {mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE},
	"time":      {mysql.MYSQL_TYPE_TIME2, mysql.MYSQL_TYPE_TIME},
	"datetime":  {mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_DATETIME},
	"timestamp": {mysql.MYSQL_TYPE_TIMESTAMP2, mysql.MYSQL_TYPE_TIMESTAMP},
	"char":      {mysql.MYSQL_TYPE_STRING},
	"binary":    {mysql.MYSQL_TYPE_STRING},
	"enum":      {mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_ENUM},
	"set":       {mysql.MYSQL_TYPE_STRING, mysql.MYSQL_TYPE_SET},
	"varchar":   {mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING},
	"varbinary": {mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING},
	"json":      {mysql.MYSQL_TYPE_JSON},
	"geometry":  {mysql.MYSQL_TYPE_GEOMETRY},
}

var blobTypes = []byte{mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB}

func init() {
	for _, dt := range []string{"tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob"} {
		binlogTypes[dt] = blobTypes
	}
	for _, dt := range []string{"point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection"} {
		binlogTypes[dt] = binlogTypes["geometry"]
	}
}

// Reconcile checks a table of the history against the table map the
// binlog logged for it, and returns an error wrapping ErrSchemaMismatch
// that names the table and the first difference. It always compares the
// column count, each column's type (and the precision, scale, fractional
// seconds, BIT length and TEXT/BLOB size the map carries) and
// nullability; when the server logged full metadata (MariaDB ≥ 10.5 and
// MySQL 8 with binlog_row_metadata=FULL) also the column names,
// signedness, ENUM and SET values and the primary key.
func Reconcile(t *Table, tm *replication.TableMapEvent) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: table %s (binlog table map of %s.%s, table id %d): %s",
			ErrSchemaMismatch, t, tm.Schema, tm.Table, tm.TableID, fmt.Sprintf(format, args...))
	}
	n := int(tm.ColumnCount)
	if len(tm.ColumnType) != n || len(tm.ColumnMeta) != n {
		return fail("malformed table map: %d columns, %d types, %d metadata", n, len(tm.ColumnType), len(tm.ColumnMeta))
	}
	if n != len(t.Columns) {
		return fail("the binlog has %d columns, the schema history %d", n, len(t.Columns))
	}
	names := tm.ColumnNameString()
	if names != nil && len(names) != n {
		names = nil
	}
	unsigned, enums, sets := signedness(t, tm), tm.EnumStrValueMap(), tm.SetStrValueMap()
	for i := range t.Columns {
		c := &t.Columns[i]
		label := fmt.Sprintf("column %d (%s)", i+1, c.Name)
		if names != nil && names[i] != c.Name {
			return fail("column %d is %q in the binlog, %q in the schema history", i+1, names[i], c.Name)
		}
		if msg := typeMismatch(c, tm, i); msg != "" {
			return fail("%s: %s", label, msg)
		}
		if avail, nullable := tm.Nullable(i); avail && nullable != c.Nullable {
			return fail("%s: the binlog says nullable=%t, the schema history %t", label, nullable, c.Nullable)
		}
		if u, ok := unsigned[i]; ok && u != c.Unsigned {
			return fail("%s: the binlog says unsigned=%t, the schema history %t", label, u, c.Unsigned)
		}
		for _, vals := range []map[int][]string{enums, sets} {
			if v, ok := vals[i]; ok && !slices.Equal(v, c.Elems) {
				return fail("%s: the binlog has values %q, the schema history %q", label, v, c.Elems)
			}
		}
	}
	if names == nil {
		return nil
	}
	// Full metadata carries the primary key (none logged: the table has
	// none).
	pk := make([]int, len(tm.PrimaryKey))
	for i, k := range tm.PrimaryKey {
		pk[i] = int(k)
	}
	if !slices.Equal(pk, t.PK) && len(pk)+len(t.PK) > 0 {
		return fail("the binlog's primary key is columns %v, the schema history's %v (0-based)", pk, t.PK)
	}
	return nil
}

// typeMismatch describes how column i of the table map contradicts c, or
// returns "".
func typeMismatch(c *Column, tm *replication.TableMapEvent, i int) string {
	want, known := binlogTypes[c.DataType]
	if !known {
		return "" // a type the history models by name only (uuid, inet6, …)
	}
	got, meta := tm.ColumnType[i], tm.ColumnMeta[i]
	if !slices.Contains(want, got) {
		return fmt.Sprintf("logged as type %d, not as %s (%s)", got, c.DataType, c.ColumnType)
	}
	isEnum, isSet := tm.IsEnumColumn(i), tm.IsSetColumn(i)
	switch c.DataType {
	case "enum", "set":
		if !isEnum && !isSet {
			return fmt.Sprintf("logged as a string, not as %s", c.ColumnType)
		}
		if isEnum != (c.DataType == "enum") {
			return fmt.Sprintf("logged as the other of ENUM and SET, not as %s", c.ColumnType)
		}
	case "char", "binary":
		if isEnum || isSet {
			return fmt.Sprintf("logged as ENUM or SET, not as %s", c.ColumnType)
		}
	case "decimal":
		if got == mysql.MYSQL_TYPE_NEWDECIMAL && (int(meta>>8) != c.Precision || int(meta&0xff) != c.Scale) {
			return fmt.Sprintf("logged as decimal(%d,%d), not as %s", meta>>8, meta&0xff, c.ColumnType)
		}
	case "time", "datetime", "timestamp":
		if (got == mysql.MYSQL_TYPE_TIME2 || got == mysql.MYSQL_TYPE_DATETIME2 || got == mysql.MYSQL_TYPE_TIMESTAMP2) && int(meta) != c.Scale {
			return fmt.Sprintf("logged with %d fractional digits, not as %s", meta, c.ColumnType)
		}
	case "bit":
		if bits := int(meta>>8)*8 + int(meta&0xff); bits != c.Length {
			return fmt.Sprintf("logged as bit(%d), not as %s", bits, c.ColumnType)
		}
	default:
		if size := textSize(c.DataType); size > 0 && got == mysql.MYSQL_TYPE_BLOB && int(meta) != size {
			return fmt.Sprintf("logged with a %d-byte length, not as %s", meta, c.ColumnType)
		}
	}
	return ""
}

// signedness maps column index → unsigned from the table map's signedness
// bitmap. Which columns the bitmap covers differs by server: MySQL (and
// go-mysql's UnsignedMap) count the integer, DECIMAL, FLOAT and DOUBLE
// columns; MariaDB counts YEAR too. With YEAR columns in the table, the
// reading that agrees with t on the other columns is used (both are tried;
// YEAR itself is never compared).
func signedness(t *Table, tm *replication.TableMapEvent) map[int]bool {
	if len(tm.SignednessBitmap) == 0 {
		return nil
	}
	read := func(withYear bool) map[int]bool {
		out := map[int]bool{}
		bit := 0
		for i := 0; i < int(tm.ColumnCount); i++ {
			isYear := tm.ColumnType[i] == mysql.MYSQL_TYPE_YEAR
			if !tm.IsNumericColumn(i) && !(withYear && isYear) {
				continue
			}
			if bit/8 >= len(tm.SignednessBitmap) {
				break
			}
			u := tm.SignednessBitmap[bit/8]&(0x80>>(bit%8)) != 0
			bit++
			if !isYear {
				out[i] = u
			}
		}
		return out
	}
	plain := read(false)
	if !slices.Contains(tm.ColumnType, mysql.MYSQL_TYPE_YEAR) {
		return plain
	}
	agrees := func(m map[int]bool) bool {
		for i, u := range m {
			if i < len(t.Columns) && t.Columns[i].Unsigned != u {
				return false
			}
		}
		return true
	}
	if withYear := read(true); agrees(withYear) || !agrees(plain) {
		return withYear
	}
	return plain
}
