package values_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
	"github.com/sluicehq/sluice/internal/mysqltest"
)

// stmtExecuted counts the prepared statements the server executed.
const stmtExecuted = "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_STMT_EXECUTE'"

// TestValuesMariaDB writes every type and edge value into a private
// MariaDB and reads the rows three ways — the binlog (FromBinlog), the
// snapshot over the text protocol and over the binary protocol
// (SelectExpr/FromSnapshot) — and a fourth time in a session whose time
// zone is not UTC; each value must equal the hand-written expectation.
func TestValuesMariaDB(t *testing.T) {
	s := mysqltest.Start(t, nil)
	s.Exec("CREATE DATABASE vt")
	s.Exec(ordersDDL)
	s.Exec(kindsDDL)
	pos := masterPosition(t, s.DB)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	// Zero dates and the invalid ENUM value need a non-strict sql_mode.
	s.Exec("SET @all256 = HEX(?); SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'; "+ordersInsert+"; "+kindsInsert, all)

	want := map[string]map[string][]string{"orders": wantOrders, "kinds": wantKinds}
	cols := map[string][]schema.Column{}
	for table, w := range want {
		cols[table] = loadColumns(t, s.DB, "vt", table)
		if len(cols[table]) != len(w) {
			t.Fatalf("%s has %d columns, the expectations %d", table, len(cols[table]), len(w))
		}
	}
	paths := map[string]map[string][]rendered{
		"binlog": binlogRows(t, s, pos, "vt", cols, map[string]int{"orders": 3, "kinds": 7}),
		"text":   {},
		"binary": {},
		"+05:30": {},
	}
	binaryDB := openDB(t, s, false, "'+00:00'")
	zoneDB := openDB(t, s, true, "'+05:30'")
	executed := s.QueryString(stmtExecuted)
	for table := range want {
		paths["text"][table] = snapshotRows(t, s.DB, "vt", table, cols[table])
		paths["binary"][table] = snapshotRows(t, binaryDB, "vt", table, cols[table], 0)
		paths["+05:30"][table] = snapshotRows(t, zoneDB, "vt", table, cols[table])
	}
	if now := s.QueryString(stmtExecuted); now == executed {
		t.Fatalf("the binary-protocol reads ran no prepared statement (Com_stmt_execute %s)", now)
	}
	var zone string
	if err := zoneDB.QueryRow("SELECT @@session.time_zone").Scan(&zone); err != nil || zone != "+05:30" {
		t.Fatalf("session time zone %q, %v", zone, err)
	}
	for table := range want {
		for path, tables := range paths {
			if path != "binlog" && !slices.EqualFunc(tables[table], paths["binlog"][table], slices.Equal) {
				t.Errorf("%s: the %s path and the binlog differ", table, path)
			}
		}
	}
	for path, tables := range paths {
		for table, rows := range tables {
			w := want[table]
			if len(rows) != len(w["id"]) {
				t.Fatalf("%s: %s has %d rows, want %d", path, table, len(rows), len(w["id"]))
			}
			for j, c := range cols[table] {
				wc, ok := w[c.Name]
				if !ok {
					t.Fatalf("no expectation for %s.%s", table, c.Name)
				}
				for i, row := range rows {
					if row[j] != wc[i] {
						t.Errorf("%s: %s.%s (%s) row id=%s: got %q, want %q", path, table, c.Name, c.ColumnType,
							w["id"][i], row[j], wc[i])
					}
				}
			}
		}
	}
}

// loadColumns builds the columns of a table from information_schema, as a
// stand-in for canal/schema's loader.
func loadColumns(t *testing.T, db *sql.DB, database, table string) []schema.Column {
	t.Helper()
	rows, err := db.Query(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME,
		NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
		database, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []schema.Column
	for rows.Next() {
		var c schema.Column
		var nullable string
		var charset sql.NullString
		var prec, scale, fsp, length sql.NullInt64
		if err := rows.Scan(&c.Name, &c.DataType, &c.ColumnType, &nullable, &charset, &prec, &scale, &fsp,
			&length); err != nil {
			t.Fatal(err)
		}
		c.Nullable = nullable == "YES"
		c.Unsigned = strings.Contains(c.ColumnType, "unsigned")
		c.Charset = charset.String
		switch c.DataType {
		case "decimal":
			c.Precision, c.Scale = int(prec.Int64), int(scale.Int64)
		case "datetime", "timestamp", "time":
			c.Scale = int(fsp.Int64)
		case "bit":
			c.Length = int(prec.Int64)
		case "char", "binary":
			c.Length = int(length.Int64)
		case "enum", "set":
			c.Elems = parseElems(t, c.ColumnType)
		}
		switch c.DataType {
		case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
			c.Charset = "binary"
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

// parseElems reads the quoted elements of "enum('a','b”c')".
func parseElems(t *testing.T, columnType string) []string {
	open := strings.IndexByte(columnType, '(')
	body := columnType[open+1 : len(columnType)-1]
	var elems []string
	for i := 0; i < len(body); {
		if body[i] != '\'' {
			t.Fatalf("parse %s at %d", columnType, i)
		}
		var sb strings.Builder
		for i++; ; i++ {
			if body[i] == '\'' {
				if i+1 < len(body) && body[i+1] == '\'' {
					sb.WriteByte('\'')
					i++
					continue
				}
				break
			}
			sb.WriteByte(body[i])
		}
		elems = append(elems, sb.String())
		i += 2 // closing quote and comma
	}
	return elems
}

// rendered is one row as strings, NULL as null.
type rendered []string

const null = "<NULL>"

func (v rendered) String() string { return strings.Join(v, " | ") }

func toRendered(v values.Value) string {
	if v.Null {
		return null
	}
	return v.S
}

// snapshotRows reads a table with SelectExpr/FromSnapshot, ordered by the
// first column; args (if any) make go-sql-driver use the binary protocol
// on a DSN without interpolateParams.
func snapshotRows(t *testing.T, db *sql.DB, database, table string, cols []schema.Column, args ...any) []rendered {
	t.Helper()
	exprs := make([]string, len(cols))
	for i := range cols {
		exprs[i] = values.SelectExpr(&cols[i])
	}
	q := fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(exprs, ", "), values.QuoteIdent(database),
		values.QuoteIdent(table))
	if len(args) > 0 {
		q += " WHERE " + values.QuoteIdent(cols[0].Name) + " >= ?"
	}
	q += " ORDER BY 1"
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out []rendered
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := make(rendered, len(cols))
		for i := range cols {
			v, err := values.FromSnapshot(&cols[i], raw[i], raw[i] == nil)
			if err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			row[i] = toRendered(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// binlogRows reads the WRITE_ROWS events of the given tables from pos on
// until want rows per table arrived, and renders them with FromBinlog.
func binlogRows(t *testing.T, s *mysqltest.Server, pos gomysql.Position, database string,
	cols map[string][]schema.Column, want map[string]int) map[string][]rendered {
	t.Helper()
	cfg := replication.BinlogSyncerConfig{
		ServerID: s.ServerID + 1000, Flavor: gomysql.MariaDBFlavor, Host: "127.0.0.1", Port: uint16(s.Port),
		User: "root", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	values.SyncerSettings(&cfg)
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	streamer, err := syncer.StartSync(pos)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := map[string][]rendered{}
	done := func() bool {
		for table, n := range want {
			if len(got[table]) < n {
				return false
			}
		}
		return true
	}
	for !done() {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			t.Fatalf("binlog: %v (rows so far: %v)", err, got)
		}
		re, ok := ev.Event.(*replication.RowsEvent)
		if !ok || string(re.Table.Schema) != database || ev.Header.EventType != replication.WRITE_ROWS_EVENTv1 &&
			ev.Header.EventType != replication.WRITE_ROWS_EVENTv2 && ev.Header.EventType != replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1 {
			continue
		}
		table := string(re.Table.Table)
		tc := cols[table]
		for _, r := range re.Rows {
			if len(r) != len(tc) {
				t.Fatalf("%s: row of %d columns, schema %d", table, len(r), len(tc))
			}
			row := make(rendered, len(tc))
			for i := range tc {
				v, err := values.FromBinlog(&tc[i], r[i])
				if err != nil {
					t.Fatalf("binlog: %v", err)
				}
				row[i] = toRendered(v)
			}
			got[table] = append(got[table], row)
		}
	}
	for _, rows := range got {
		// As the snapshot orders them: by the (numeric) first column.
		slices.SortFunc(rows, func(a, b rendered) int {
			return cmp.Or(cmp.Compare(len(a[0]), len(b[0])), strings.Compare(a[0], b[0]))
		})
	}
	return got
}

func masterPosition(t *testing.T, db *sql.DB) gomysql.Position {
	t.Helper()
	rows, err := db.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names, _ := rows.Columns()
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS: no row (binary log off?)")
	}
	vals := make([]sql.RawBytes, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		t.Fatal(err)
	}
	var pos uint32
	fmt.Sscan(string(vals[1]), &pos)
	return gomysql.Position{Name: string(vals[0]), Pos: pos}
}

// openDB opens a root pool to s: without interpolateParams, queries with
// arguments go through prepared statements (the binary protocol).
func openDB(t *testing.T, s *mysqltest.Server, interpolate bool, timeZone string) *sql.DB {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "tcp", s.Addr()
	c.InterpolateParams = interpolate
	c.Params = map[string]string{"time_zone": timeZone}
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
