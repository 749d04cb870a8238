package schema

import (
	"strconv"
	"strings"
)

// Column is one column of a table as the ingester decodes and renders it.
type Column struct {
	// Name is the column name as the server reports it.
	Name string `json:"name"`
	// DataType is the lower-case type name without length or flags:
	// "tinyint", "bigint", "decimal", "varchar", "enum", "datetime", …
	// (information_schema.COLUMNS.DATA_TYPE).
	DataType string `json:"dataType"`
	// ColumnType is the full DDL type, e.g. "bigint(20) unsigned",
	// "decimal(12,2)", "enum('new','paid')" (COLUMNS.COLUMN_TYPE); it is
	// FlatMessage's mysqlType.
	ColumnType string `json:"columnType"`
	// Unsigned is set for UNSIGNED numeric columns.
	Unsigned bool `json:"unsigned,omitempty"`
	// Nullable is set when the column accepts NULL.
	Nullable bool `json:"nullable,omitempty"`
	// Charset is the character set of a text column ("utf8mb4", "latin1",
	// …), "binary" for BINARY/VARBINARY/BLOB, "" for other types.
	Charset string `json:"charset,omitempty"`
	// Precision and Scale of DECIMAL; Scale is also the fractional-second
	// precision (fsp) of TIME, DATETIME and TIMESTAMP.
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Length is the declared length of CHAR/BINARY/BIT columns.
	Length int `json:"length,omitempty"`
	// Elems are the values of an ENUM or SET, in declaration order.
	Elems []string `json:"elems,omitempty"`
	// Default is the column default as the server reports it (nil: none).
	Default *string `json:"default,omitempty"`
}

func (c Column) clone() Column {
	if c.Elems != nil {
		c.Elems = append([]string(nil), c.Elems...)
	}
	if c.Default != nil {
		d := *c.Default
		c.Default = &d
	}
	return c
}

// Table is a table's columns and primary key at one point of the history.
type Table struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	// PK are the indexes in Columns of the primary key, in key order; empty
	// for a table without a primary key (a unique NOT NULL key is not used).
	PK []int `json:"pk,omitempty"`
	// Charset is the table's default character set (the charset of
	// information_schema.TABLES.TABLE_COLLATION): the charset a column
	// added without one gets, and the one CONVERT TO changes.
	Charset string `json:"charset,omitempty"`
}

// Clone returns a deep copy of t.
func (t *Table) Clone() *Table {
	if t == nil {
		return nil
	}
	c := *t
	c.Columns = make([]Column, len(t.Columns))
	for i, col := range t.Columns {
		c.Columns[i] = col.clone()
	}
	c.PK = append([]int(nil), t.PK...)
	if len(c.PK) == 0 {
		c.PK = nil
	}
	return &c
}

// ColumnIndex returns the index in Columns of the column named name
// (compared case-insensitively, as MySQL does), or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// PKNames returns the names of the primary key columns in key order.
func (t *Table) PKNames() []string {
	names := make([]string, len(t.PK))
	for i, c := range t.PK {
		names[i] = t.Columns[c].Name
	}
	return names
}

// String returns "schema.name".
func (t *Table) String() string { return t.Schema + "." + t.Name }

// Key orders schema versions: the binlog file and the position of the
// event that made the change (file names of one server sort by their
// numeric suffix, so comparing the names as strings of equal length works).
type Key struct {
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
}

// Compare returns -1, 0 or 1 as k sorts before, with or after o.
func (k Key) Compare(o Key) int {
	switch {
	case k.File < o.File:
		return -1
	case k.File > o.File:
		return 1
	case k.Pos < o.Pos:
		return -1
	case k.Pos > o.Pos:
		return 1
	}
	return 0
}

// String returns "file:pos".
func (k Key) String() string { return k.File + ":" + strconv.FormatUint(uint64(k.Pos), 10) }
