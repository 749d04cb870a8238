package position

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"
)

// Source is how to reach the server whose binlog a position belongs to.
type Source struct {
	Host string
	// Port defaults to 3306.
	Port     int
	User     string
	Password string
	// Flavor is FlavorMariaDB or FlavorMySQL; "" detects it from
	// VERSION().
	Flavor string
	// ServerID is the server_id the binlog connections of FindByTimestamp
	// register with. It must differ from every replica's and from the
	// ingester's: the server drops an older connection with the same id.
	// 0 picks a random one in [2^31, 2^32).
	ServerID uint32
}

// Querier runs queries: a *sql.DB, or a *sql.Conn when the answer must
// come from one session (a snapshot transaction, a held lock).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*sql.DB)(nil)
	_ Querier = (*sql.Conn)(nil)
)

// connectTimeout bounds dialling and the handshake.
const connectTimeout = 10 * time.Second

// Addr is host:port.
func (s Source) Addr() string {
	port := s.Port
	if port == 0 {
		port = 3306
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(port))
}

// Open returns a connection pool to the source (it connects lazily).
func (s Source) Open() (*sql.DB, error) {
	c := driver.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = s.User, s.Password, "tcp", s.Addr()
	c.Timeout = connectTimeout
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.Addr(), err)
	}
	return db, nil
}

// replicaServerID is the server_id the binlog connections use.
func (s Source) replicaServerID() uint32 {
	if s.ServerID != 0 {
		return s.ServerID
	}
	return 1<<31 + rand.Uint32N(1<<31)
}

// DetectFlavor asks the server which flavor it is (VERSION() of a MariaDB
// server contains "MariaDB").
func DetectFlavor(ctx context.Context, db Querier) (string, error) {
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", fmt.Errorf("detect server flavor: %w", err)
	}
	if strings.Contains(strings.ToLower(v), "mariadb") {
		return FlavorMariaDB, nil
	}
	return FlavorMySQL, nil
}

// ServerIdentity returns the server's @@server_id and its unique id:
// @@server_uuid on MySQL, @@server_uid on MariaDB ("" when it has none).
func ServerIdentity(ctx context.Context, db Querier) (serverID uint32, uuid string, err error) {
	if err := db.QueryRowContext(ctx, "SELECT @@server_id").Scan(&serverID); err != nil {
		return 0, "", fmt.Errorf("read server_id: %w", err)
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_uuid', 'server_uid')")
	if err != nil {
		return 0, "", fmt.Errorf("read server uuid: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return 0, "", fmt.Errorf("read server uuid: %w", err)
		}
		if uuid == "" || name == "server_uuid" {
			uuid = value
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", fmt.Errorf("read server uuid: %w", err)
	}
	return serverID, uuid, nil
}

// binlogFile is one row of SHOW BINARY LOGS.
type binlogFile struct {
	name string
	size uint64
}

// binaryLogs lists the binlog files the server still has, oldest first.
func binaryLogs(ctx context.Context, db Querier) ([]binlogFile, error) {
	rows, err := queryRows(ctx, db, "SHOW BINARY LOGS")
	if err != nil {
		if isMySQLError(err, 1381) { // ER_NO_BINARY_LOGGING
			return nil, errors.New("binary logging is off on the source (log_bin=OFF); Sluice needs log_bin=ON")
		}
		return nil, fmt.Errorf("SHOW BINARY LOGS: %w", err)
	}
	files := make([]binlogFile, 0, len(rows))
	for _, r := range rows {
		size, _ := strconv.ParseUint(r["File_size"], 10, 64)
		files = append(files, binlogFile{name: r["Log_name"], size: size})
	}
	if len(files) == 0 {
		return nil, errors.New("SHOW BINARY LOGS is empty: binary logging is off on the source")
	}
	return files, nil
}

// queryRows runs a query whose columns vary between servers and versions
// and returns each row as column name → value (NULL as "").
func queryRows(ctx context.Context, db Querier, query string, args ...any) ([]map[string]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			row[c] = vals[i].String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func isMySQLError(err error, code uint16) bool {
	var me *driver.MySQLError
	return errors.As(err, &me) && me.Number == code
}

// Current returns the end of the server's binlog — where the next
// transaction will be written — with the GTID set executed up to there
// (MariaDB: BINLOG_GTID_POS of that file and offset; MySQL: the
// Executed_Gtid_Set of the same status row). Timestamp is 0.
func Current(ctx context.Context, db Querier) (Position, error) {
	flavor, err := DetectFlavor(ctx, db)
	if err != nil {
		return Position{}, err
	}
	rows, err := queryRows(ctx, db, "SHOW MASTER STATUS")
	if isMySQLError(err, 1064) { // MySQL 8.4 renamed it
		rows, err = queryRows(ctx, db, "SHOW BINARY LOG STATUS")
	}
	if err != nil {
		return Position{}, fmt.Errorf("read the current binlog position: %w", err)
	}
	if len(rows) == 0 {
		return Position{}, errors.New("read the current binlog position: binary logging is off on the source (log_bin=OFF); Sluice needs log_bin=ON")
	}
	p := Position{Flavor: flavor, File: rows[0]["File"]}
	pos, err := strconv.ParseUint(rows[0]["Position"], 10, 32)
	if err != nil {
		return Position{}, fmt.Errorf("read the current binlog position: bad Position %q", rows[0]["Position"])
	}
	p.Pos = uint32(pos)
	if flavor == FlavorMySQL {
		p.GTIDSet = rows[0]["Executed_Gtid_Set"]
	} else if p.GTIDSet, err = mariaDBGTIDAt(ctx, db, p.File, p.Pos); err != nil {
		return Position{}, err
	}
	return normalized(p)
}

// Oldest returns the start of the oldest binlog file the server still has
// (offset 4), with the GTID set executed before it (MariaDB:
// BINLOG_GTID_POS; MySQL: @@gtid_purged). Timestamp is 0.
func Oldest(ctx context.Context, db Querier) (Position, error) {
	flavor, err := DetectFlavor(ctx, db)
	if err != nil {
		return Position{}, err
	}
	files, err := binaryLogs(ctx, db)
	if err != nil {
		return Position{}, err
	}
	p := Position{Flavor: flavor, File: files[0].name, Pos: firstEventPos}
	if flavor == FlavorMySQL {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_purged").Scan(&p.GTIDSet); err != nil {
			return Position{}, fmt.Errorf("read gtid_purged: %w", err)
		}
	} else if p.GTIDSet, err = mariaDBGTIDAt(ctx, db, p.File, p.Pos); err != nil {
		return Position{}, err
	}
	return normalized(p)
}

// mariaDBGTIDAt is the GTID position at an event boundary of a binlog
// file.
func mariaDBGTIDAt(ctx context.Context, db Querier, file string, pos uint32) (string, error) {
	var gtid sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, pos).Scan(&gtid); err != nil {
		return "", fmt.Errorf("BINLOG_GTID_POS(%s, %d): %w", file, pos, err)
	}
	if !gtid.Valid {
		return "", fmt.Errorf("BINLOG_GTID_POS(%s, %d) is NULL: not an event boundary, or the file is gone", file, pos)
	}
	return gtid.String, nil
}

// normalized puts a server's GTID set in NormalizeGTIDSet's form.
func normalized(p Position) (Position, error) {
	if strings.TrimSpace(p.GTIDSet) == "" {
		p.GTIDSet = ""
		return p, nil
	}
	norm, err := NormalizeGTIDSet(p.Flavor, p.GTIDSet)
	if err != nil {
		return Position{}, fmt.Errorf("the server's GTID set: %w", err)
	}
	p.GTIDSet = norm
	return p, nil
}

// ErrPurged is wrapped by every *PurgedError.
var ErrPurged = errors.New("binlog purged")

// PurgedError reports a position whose binlog the server no longer has.
type PurgedError struct {
	// Wanted is the position asked for.
	Wanted Position
	// Oldest is the oldest position the server still has.
	Oldest Position
}

func (e *PurgedError) Error() string {
	return fmt.Sprintf("binlog position %s is no longer on the source (purged): the oldest available is %s", e.Wanted, e.Oldest)
}

// Is makes errors.Is(err, ErrPurged) true.
func (e *PurgedError) Is(target error) bool { return target == ErrPurged }

// CheckAvailable tells whether the server can still stream from p: a
// *PurgedError when its file (or, for a GTID-only position, a GTID after
// it) was purged; another error when the file is not the server's at all
// or p lies beyond its end.
func CheckAvailable(ctx context.Context, db Querier, p Position) error {
	if err := p.Validate(); err != nil {
		return err
	}
	oldest, err := Oldest(ctx, db)
	if err != nil {
		return err
	}
	if p.File == "" {
		return checkGTIDAvailable(p, oldest)
	}
	files, err := binaryLogs(ctx, db)
	if err != nil {
		return err
	}
	if CompareFiles(p.File, files[0].name) < 0 {
		return &PurgedError{Wanted: p, Oldest: oldest}
	}
	for _, f := range files {
		if f.name == p.File {
			if uint64(p.Pos) > f.size {
				return fmt.Errorf("binlog position %s is beyond the end of %s (%d bytes)", p, f.name, f.size)
			}
			return nil
		}
	}
	return fmt.Errorf("binlog file %s is not on the source (it has %s … %s): a position of another server, or its binlogs were reset",
		p.File, files[0].name, files[len(files)-1].name)
}

// checkGTIDAvailable compares a GTID-only position with the GTID set
// executed before the oldest binlog file.
func checkGTIDAvailable(p, oldest Position) error {
	if oldest.GTIDSet == "" {
		return nil
	}
	if p.Flavor != oldest.Flavor {
		return fmt.Errorf("position %s is a %s GTID set, the source is %s", p, p.Flavor, oldest.Flavor)
	}
	if p.Flavor == FlavorMySQL {
		want, err1 := mysqlSet(p.GTIDSet)
		purged, err2 := mysqlSet(oldest.GTIDSet)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if !want.Contain(purged) {
			return &PurgedError{Wanted: p, Oldest: oldest}
		}
		return nil
	}
	want, err1 := mariaDBDomains(p.GTIDSet)
	have, err2 := mariaDBDomains(oldest.GTIDSet)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	for d, g := range have {
		if w, ok := want[d]; !ok || w.seq < g.seq {
			return &PurgedError{Wanted: p, Oldest: oldest}
		}
	}
	return nil
}

func mariaDBDomains(set string) (map[uint32]mariaDBGTID, error) {
	out := map[uint32]mariaDBGTID{}
	elems, err := splitGTIDSet(set)
	if err != nil {
		return nil, err
	}
	for _, e := range elems {
		g, err := parseMariaDBGTIDValue(e)
		if err != nil {
			return nil, err
		}
		out[g.domain] = g
	}
	return out, nil
}
