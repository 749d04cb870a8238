package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrTableNotFound is returned by Load for a table information_schema does
// not list as a base table.
var ErrTableNotFound = errors.New("table not found")

// Querier is what the loaders read information_schema through: *sql.DB,
// *sql.Conn and *sql.Tx (e.g. the snapshot's transaction) all are.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const columnsQuery = `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
	CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH, COLUMN_DEFAULT
FROM information_schema.COLUMNS`

const tablesQuery = `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_TYPE = 'BASE TABLE'`

const pkQuery = `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS
WHERE INDEX_NAME = 'PRIMARY'`

// Load reads one base table's columns and primary key from
// information_schema; it returns an error wrapping ErrTableNotFound when
// there is no such base table.
//
// Column defaults are normalised to MySQL's form: MariaDB reports
// COLUMN_DEFAULT as an SQL literal ('abc' quoted, NULL as the word NULL),
// MySQL reports the value itself. Load unquotes MariaDB's string literals
// (undoing doubled quotes and backslash escapes), maps its NULL to nil,
// and keeps every other default (numbers, b'101', expressions such as
// current_timestamp()) as the server spells it.
func Load(ctx context.Context, q Querier, schemaName, table string) (*Table, error) {
	srv, err := LoadServer(ctx, q)
	if err != nil {
		return nil, err
	}
	where := " AND TABLE_SCHEMA = ? AND TABLE_NAME = ?"
	tables, err := load(ctx, q, srv, where, []any{schemaName, table}, nil)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("load %s.%s: %w", schemaName, table, ErrTableNotFound)
	}
	return tables[0], nil
}

// LoadAll reads every base table outside the system schemas for which
// include returns true (nil includes all), sorted by schema and name.
func LoadAll(ctx context.Context, q Querier, include func(schema, table string) bool) ([]*Table, error) {
	srv, err := LoadServer(ctx, q)
	if err != nil {
		return nil, err
	}
	return load(ctx, q, srv, "", nil, include)
}

// LoadServer reads the server's flavor, version and default character set.
func LoadServer(ctx context.Context, q Querier) (*Server, error) {
	rows, err := q.QueryContext(ctx, "SELECT VERSION(), @@character_set_server, @@explicit_defaults_for_timestamp")
	if err != nil {
		return nil, fmt.Errorf("load server: %w", err)
	}
	defer rows.Close()
	srv := &Server{Flavor: FlavorMySQL}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load server: %w", err)
		}
		return nil, errors.New("load server: no row")
	}
	var explicitTS string
	if err := rows.Scan(&srv.Version, &srv.Charset, &explicitTS); err != nil {
		return nil, fmt.Errorf("load server: %w", err)
	}
	srv.LegacyTimestamps = explicitTS == "0" || strings.EqualFold(explicitTS, "OFF")
	if strings.Contains(strings.ToLower(srv.Version), "mariadb") {
		srv.Flavor = FlavorMariaDB
	}
	srv.Charset = normCharset(srv.Charset)
	return srv, rows.Err()
}

// LoadSnapshot reads the server, its databases outside the system schemas
// and the tables LoadAll reads: what BootstrapSnapshot records. Run it in
// the snapshot's transaction so that it sees the snapshot's schema.
func LoadSnapshot(ctx context.Context, q Querier, include func(schema, table string) bool) (*Snapshot, error) {
	srv, err := LoadServer(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("load databases: %w", err)
	}
	defer rows.Close()
	snap := &Snapshot{Server: srv, Databases: []*Database{}}
	for rows.Next() {
		d := &Database{}
		if err := rows.Scan(&d.Name, &d.Charset); err != nil {
			return nil, fmt.Errorf("load databases: %w", err)
		}
		if !IsSystemSchema(d.Name) {
			d.Charset = normCharset(d.Charset)
			snap.Databases = append(snap.Databases, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load databases: %w", err)
	}
	if snap.Tables, err = load(ctx, q, srv, "", nil, include); err != nil {
		return nil, err
	}
	return snap, nil
}

type tableID struct{ schema, name string }

// load runs the three information_schema queries with an extra condition
// and assembles the tables.
func load(ctx context.Context, q Querier, srv *Server, where string, args []any, include func(schema, table string) bool) ([]*Table, error) {
	keep := func(schema, table string) bool {
		return !IsSystemSchema(schema) && (include == nil || include(schema, table))
	}
	byID := map[tableID]*Table{}
	var order []*Table
	err := eachRow(ctx, q, tablesQuery+where, args, func(rows *sql.Rows) error {
		var schema, name string
		var collation sql.NullString
		if err := rows.Scan(&schema, &name, &collation); err != nil {
			return err
		}
		if keep(schema, name) {
			t := &Table{Schema: schema, Name: name, Columns: []Column{}, Charset: charsetOf(collation.String)}
			byID[tableID{schema, name}] = t
			order = append(order, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load tables: %w", err)
	}
	colWhere := strings.Replace(where, " AND ", " WHERE ", 1)
	err = eachRow(ctx, q, columnsQuery+colWhere+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", args, func(rows *sql.Rows) error {
		var schema, name string
		col, err := scanColumn(rows, srv, &schema, &name)
		if err != nil {
			return err
		}
		if t := byID[tableID{schema, name}]; t != nil {
			t.Columns = append(t.Columns, col)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load columns: %w", err)
	}
	err = eachRow(ctx, q, pkQuery+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME, SEQ_IN_INDEX", args, func(rows *sql.Rows) error {
		var schema, name, column string
		if err := rows.Scan(&schema, &name, &column); err != nil {
			return err
		}
		t := byID[tableID{schema, name}]
		if t == nil {
			return nil
		}
		i := t.ColumnIndex(column)
		if i < 0 {
			return fmt.Errorf("primary key of %s names unknown column %q", t, column)
		}
		t.PK = append(t.PK, i)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load primary keys: %w", err)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Schema != order[j].Schema {
			return order[i].Schema < order[j].Schema
		}
		return order[i].Name < order[j].Name
	})
	return order, nil
}

func eachRow(ctx context.Context, q Querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanColumn reads one row of columnsQuery.
func scanColumn(rows *sql.Rows, srv *Server, schema, table *string) (Column, error) {
	var (
		c                                     Column
		nullable                              string
		charset, def                          sql.NullString
		precision, scale, fsp, maxCharsLength sql.NullInt64
	)
	if err := rows.Scan(schema, table, &c.Name, &c.DataType, &c.ColumnType, &nullable,
		&charset, &precision, &scale, &fsp, &maxCharsLength, &def); err != nil {
		return c, err
	}
	c.DataType = strings.ToLower(c.DataType)
	c.Nullable = nullable == "YES"
	c.Unsigned = isNumeric(c.DataType) && strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
	switch {
	case charset.Valid:
		c.Charset = normCharset(charset.String)
	case isBinaryType(c.DataType):
		c.Charset = "binary"
	}
	switch c.DataType {
	case "decimal":
		c.Precision, c.Scale = int(precision.Int64), int(scale.Int64)
	case "time", "datetime", "timestamp":
		c.Scale = int(fsp.Int64)
	case "char", "binary":
		c.Length = int(maxCharsLength.Int64)
	case "bit":
		c.Length = int(precision.Int64)
	case "enum", "set":
		elems, err := parseElems(c.ColumnType)
		if err != nil {
			return c, fmt.Errorf("column %s.%s.%s: %w", *schema, *table, c.Name, err)
		}
		c.Elems = elems
	}
	if def.Valid {
		c.Default = normDefault(def.String, srv.Flavor)
	}
	return c, nil
}

// normDefault turns COLUMN_DEFAULT into MySQL's form (see Load).
func normDefault(s, flavor string) *string {
	if flavor == FlavorMariaDB {
		if s == "NULL" {
			return nil
		}
		if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
			if v, rest, ok := unquote(s); ok && rest == "" {
				return &v
			}
		}
	}
	return &s
}

// parseElems returns the values of an ENUM or SET COLUMN_TYPE.
func parseElems(columnType string) ([]string, error) {
	open := strings.IndexByte(columnType, '(')
	if open < 0 || !strings.HasSuffix(columnType, ")") {
		return nil, fmt.Errorf("malformed column type %q", columnType)
	}
	s := columnType[open+1 : len(columnType)-1]
	elems := []string{}
	for s != "" {
		v, rest, ok := unquote(s)
		if !ok {
			return nil, fmt.Errorf("malformed column type %q", columnType)
		}
		elems = append(elems, v)
		s = rest
		if s != "" {
			if s[0] != ',' {
				return nil, fmt.Errorf("malformed column type %q", columnType)
			}
			s = s[1:]
		}
	}
	return elems, nil
}

// unquote reads the single-quoted SQL string literal at the start of s,
// undoing doubled quotes and backslash escapes, and returns the rest of s.
func unquote(s string) (value, rest string, ok bool) {
	if s == "" || s[0] != '\'' {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 >= len(s) {
				return "", s, false
			}
			i++
			b.WriteString(unescape(s[i]))
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// unescape is MySQL's meaning of a backslash followed by c.
func unescape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	}
	return string(c)
}

func isNumeric(dataType string) bool {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "float", "double":
		return true
	}
	return false
}

func isBinaryType(dataType string) bool {
	switch dataType {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}
