package canal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"
)

// SourceConfig is the MySQL/MariaDB server the ingester reads as a replica.
type SourceConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// Flavor is "mariadb" or "mysql"; empty detects it from the version.
	Flavor string `yaml:"flavor"`
	// ServerID is the replica's server_id: unique among the source's
	// replicas and different from the source's own.
	ServerID uint32 `yaml:"server_id"`
	// HeartbeatPeriod asks the source for a heartbeat when idle, so a dead
	// connection is noticed within ReadTimeout.
	HeartbeatPeriod time.Duration `yaml:"heartbeat_period"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
}

// DefaultSourceConfig returns the defaults (no address).
func DefaultSourceConfig() SourceConfig {
	return SourceConfig{Port: 3306, User: "root", ServerID: 1001, HeartbeatPeriod: 5 * time.Second, ReadTimeout: 30 * time.Second}
}

// Validate checks the configuration.
func (c SourceConfig) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("source.host is required"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("source.port %d outside 1-65535", c.Port))
	}
	if c.ServerID == 0 {
		errs = append(errs, errors.New("source.server_id must be a positive number unique among the source's replicas"))
	}
	if c.Flavor != "" && c.Flavor != "mariadb" && c.Flavor != "mysql" {
		errs = append(errs, fmt.Errorf("source.flavor %q is not mariadb or mysql", c.Flavor))
	}
	if c.HeartbeatPeriod <= 0 || c.ReadTimeout <= c.HeartbeatPeriod {
		errs = append(errs, errors.New("source: heartbeat_period must be positive and read_timeout longer than it"))
	}
	return errors.Join(errs...)
}

// Addr is host:port.
func (c SourceConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// open returns a connection pool to the source with the session settings
// the snapshot and the checks need.
func (c SourceConfig) open() (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr = c.User, c.Password, "tcp", c.Addr()
	mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = 10*time.Second, 5*time.Minute, time.Minute
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	mc.Collation = "utf8mb4_general_ci"
	mc.InterpolateParams = true
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", c.Addr(), err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(4)
	return db, nil
}

// ServerInfo is what the checks learned about the source.
type ServerInfo struct {
	Version  string
	Flavor   string
	ServerID uint32
	UUID     string
}

// CheckError is a source setting that prevents capture: one clear message
// naming the setting and how to fix it.
type CheckError struct {
	Setting string
	Message string
}

func (e *CheckError) Error() string { return e.Message }

// checkSource verifies, at start and on every reconnect, that the source
// can be captured faithfully: binary logging on, ROW format, FULL row
// images, the privileges a replica needs, and a server_id of our own.
func checkSource(ctx context.Context, db *sql.DB, cfg SourceConfig, reportHost string) (ServerInfo, error) {
	var info ServerInfo
	var logBin, format, image string
	var serverID uint64
	err := db.QueryRowContext(ctx, "SELECT @@version, @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id").
		Scan(&info.Version, &logBin, &format, &image, &serverID)
	if err != nil {
		return info, fmt.Errorf("query source %s settings: %w", cfg.Addr(), err)
	}
	info.ServerID = uint32(serverID)
	info.Flavor = cfg.Flavor
	if info.Flavor == "" {
		info.Flavor = "mysql"
		if strings.Contains(strings.ToLower(info.Version), "mariadb") {
			info.Flavor = "mariadb"
		}
	}
	if info.Flavor == "mysql" {
		_ = db.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&info.UUID)
	}
	switch {
	case logBin != "1" && !strings.EqualFold(logBin, "ON"):
		return info, &CheckError{"log_bin", fmt.Sprintf("binary logging is off on %s: start the server with log_bin (e.g. log_bin=binlog in my.cnf) so Sluice can read changes", cfg.Addr())}
	case !strings.EqualFold(format, "ROW"):
		return info, &CheckError{"binlog_format", fmt.Sprintf("binlog_format is %s on %s; Sluice needs ROW: run SET GLOBAL binlog_format=ROW and set binlog_format=ROW in my.cnf", format, cfg.Addr())}
	case !strings.EqualFold(image, "FULL"):
		return info, &CheckError{"binlog_row_image", fmt.Sprintf("binlog_row_image is %s on %s; Sluice needs FULL (with %s, unlogged columns would look like NULL): run SET GLOBAL binlog_row_image=FULL and set binlog_row_image=FULL in my.cnf", image, cfg.Addr(), image)}
	case info.ServerID == cfg.ServerID:
		return info, &CheckError{"server_id", fmt.Sprintf("source.server_id %d is the source's own server_id: choose another unique value", cfg.ServerID)}
	}
	if _, err := db.ExecContext(ctx, "SHOW MASTER STATUS"); err != nil {
		return info, privilegeError(err, cfg, "SHOW MASTER STATUS", "REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR)")
	}
	if err := checkReplicaID(ctx, db, cfg, reportHost); err != nil {
		return info, err
	}
	return info, nil
}

// privilegeError turns an access-denied error into a message naming the
// grant.
func privilegeError(err error, cfg SourceConfig, what, grant string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1227 || me.Number == 1045 || me.Number == 1142) {
		return &CheckError{"privileges", fmt.Sprintf("user %s cannot run %s on %s: GRANT %s, REPLICATION SLAVE, SELECT ON *.* TO the user (%v)", cfg.User, what, cfg.Addr(), grant, me.Message)}
	}
	return fmt.Errorf("%s on %s: %w", what, cfg.Addr(), err)
}

// checkReplicaID refuses to start when another replica is registered with
// our server_id: the source would kick one of the two at every reconnect,
// forever (canal#644). A registration under our own report host is this
// ingester's previous connection, which the source drops soon: it is given
// a few seconds.
func checkReplicaID(ctx context.Context, db *sql.DB, cfg SourceConfig, reportHost string) error {
	deadline := time.Now().Add(2*cfg.HeartbeatPeriod + 3*time.Second)
	for {
		host, found, err := replicaWithID(ctx, db, cfg.ServerID)
		if err != nil || !found {
			return nil // SHOW SLAVE HOSTS needs a privilege we do not insist on
		}
		if host != reportHost {
			return &CheckError{"server_id", fmt.Sprintf("another replica (%s) is connected to %s with server_id %d: give source.server_id a value unique among the source's replicas", hostOrUnknown(host), cfg.Addr(), cfg.ServerID)}
		}
		if time.Now().After(deadline) {
			return &CheckError{"server_id", fmt.Sprintf("a replica reporting as %s with server_id %d is still connected to %s: another ingester with this configuration is running, or give source.server_id a unique value", host, cfg.ServerID, cfg.Addr())}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func hostOrUnknown(h string) string {
	if h == "" {
		return "host not reported"
	}
	return "reporting host " + h
}

// replicaWithID looks for a registered replica with server_id id.
func replicaWithID(ctx context.Context, db *sql.DB, id uint32) (host string, found bool, err error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE HOSTS")
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", false, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", false, err
		}
		var sid, h string
		for i, c := range cols {
			switch strings.ToLower(c) {
			case "server_id":
				sid = vals[i].String
			case "host":
				h = vals[i].String
			}
		}
		if sid == strconv.FormatUint(uint64(id), 10) {
			return h, true, nil
		}
	}
	return "", false, rows.Err()
}

// reportHost is the host name this ingester registers with (SHOW SLAVE
// HOSTS shows it), so it recognises its own earlier connection.
func reportHost(cfg SourceConfig) string {
	h, _ := os.Hostname()
	if h == "" {
		h = "localhost"
	}
	return fmt.Sprintf("sluice-%s-%d", h, cfg.ServerID)
}

// syncerConfig is the go-mysql replica configuration.
func syncerConfig(cfg SourceConfig, flavor, host string) replication.BinlogSyncerConfig {
	return replication.BinlogSyncerConfig{
		ServerID: cfg.ServerID, Flavor: flavor, Host: cfg.Host, Port: uint16(cfg.Port),
		User: cfg.User, Password: cfg.Password, Localhost: host, Charset: "utf8mb4",
		HeartbeatPeriod: cfg.HeartbeatPeriod, ReadTimeout: cfg.ReadTimeout,
		MaxReconnectAttempts: 1, DisableRetrySync: true, VerifyChecksum: true,
		TimestampStringLocation: time.UTC,
	}
}
