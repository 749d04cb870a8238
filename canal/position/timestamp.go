package position

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"
)

// FindByTimestamp returns the position of the first transaction that
// starts at or after ts, in binlog order, with the GTID set executed
// before it; Timestamp is the time of the event just before it.
//
// It lists SHOW BINARY LOGS, binary-searches the files by the time of
// their first event (the rotation time) for the last one that starts
// before ts, and reads from there with a replica connection
// (cfg.ServerID) until it meets a transaction of that time or later. The
// time of a transaction is the event time of its GTID event (or of its
// BEGIN or DDL statement on servers without GTID events), in whole seconds,
// so a ts with a fraction means the next second. Event times are what the
// server wrote; the search assumes they grow with the binlog, which a
// session's SET TIMESTAMP can break.
//
// When no transaction of ts or later was written yet, it returns the end of
// the binlog, where the next one will be. A ts after the server's clock is
// an error.
func FindByTimestamp(ctx context.Context, cfg Source, ts time.Time) (Position, error) {
	db, err := cfg.Open()
	if err != nil {
		return Position{}, err
	}
	defer db.Close()
	flavor, err := DetectFlavor(ctx, db)
	if err != nil {
		return Position{}, err
	}
	if cfg.Flavor != "" && cfg.Flavor != flavor {
		return Position{}, fmt.Errorf("the source at %s is %s, not %s", cfg.Addr(), flavor, cfg.Flavor)
	}
	target, err := targetSecond(ctx, db, ts)
	if err != nil {
		return Position{}, err
	}
	files, err := binaryLogs(ctx, db)
	if err != nil {
		return Position{}, err
	}
	end, err := Current(ctx, db)
	if err != nil {
		return Position{}, err
	}
	cfg.Flavor, cfg.ServerID = flavor, cfg.replicaServerID()
	start := 0 // the last file whose first event is older than target
	for lo, hi := 0, len(files)-1; lo <= hi; {
		mid := (lo + hi) / 2
		t, err := fileStartTime(ctx, cfg, files[mid].name)
		if err != nil {
			return Position{}, err
		}
		if t < target {
			start, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return scanForTimestamp(ctx, cfg, files[start].name, target, end)
}

// targetSecond turns ts into the first whole second at or after it, and
// refuses one after the server's clock.
func targetSecond(ctx context.Context, db Querier, ts time.Time) (uint32, error) {
	sec := ts.Unix()
	if ts.Nanosecond() > 0 {
		sec++
	}
	if sec < 0 || sec > math.MaxUint32 {
		return 0, fmt.Errorf("timestamp %s is outside the binlog's range (1970 to 2106)", ts.UTC().Format(time.RFC3339))
	}
	var now int64
	if err := db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&now); err != nil {
		return 0, fmt.Errorf("read the source's clock: %w", err)
	}
	if sec > now {
		return 0, fmt.Errorf("timestamp %s is in the future: the source's clock reads %s",
			ts.UTC().Format(time.RFC3339Nano), time.Unix(now, 0).UTC().Format(time.RFC3339))
	}
	return uint32(sec), nil
}

// newSyncer opens a replica connection that logs nothing and never
// reconnects on its own.
func newSyncer(cfg Source) *replication.BinlogSyncer {
	host, port := cfg.Host, cfg.Port
	if port == 0 {
		port = 3306
	}
	return replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:         cfg.ServerID,
		Flavor:           cfg.Flavor,
		Host:             host,
		Port:             uint16(port),
		User:             cfg.User,
		Password:         cfg.Password,
		Logger:           slog.New(slog.DiscardHandler),
		DisableRetrySync: true,
		// MariaDB 11.4+ leaves log_pos 0 on some events unless asked.
		FillZeroLogPos:  cfg.Flavor == FlavorMariaDB,
		EventCacheCount: 64,
	})
}

// fileStartTime is the time of a binlog file's first real event, its
// FORMAT_DESCRIPTION_EVENT: when the server created (rotated to) it.
func fileStartTime(ctx context.Context, cfg Source, file string) (uint32, error) {
	b := newSyncer(cfg)
	defer b.Close()
	st, err := b.StartSync(mysql.Position{Name: file, Pos: firstEventPos})
	if err != nil {
		return 0, fmt.Errorf("read binlog %s: %w", file, err)
	}
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return 0, fmt.Errorf("read binlog %s: %w", file, err)
		}
		if !isArtificial(ev.Header) {
			return ev.Header.Timestamp, nil
		}
	}
}

// isArtificial is true for events the server makes up while streaming
// (the fake ROTATE at the start), which carry no time and no position.
func isArtificial(h *replication.EventHeader) bool {
	return h.Flags&replication.LOG_EVENT_ARTIFICIAL_F != 0 || h.Timestamp == 0 || h.LogPos == 0
}

func scanForTimestamp(ctx context.Context, cfg Source, file string, target uint32, end Position) (Position, error) {
	b := newSyncer(cfg)
	defer b.Close()
	st, err := b.StartSync(mysql.Position{Name: file, Pos: firstEventPos})
	if err != nil {
		return Position{}, fmt.Errorf("read binlog %s: %w", file, err)
	}
	sc := &txnScanner{flavor: cfg.Flavor, target: target, end: end, file: file}
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return Position{}, fmt.Errorf("read binlog %s: %w", sc.file, err)
		}
		p, done, err := sc.handle(ev)
		if err != nil || done {
			return p, err
		}
	}
}

// txnState is where a txnScanner stands relative to transactions.
type txnState int

const (
	between   txnState = iota // at a transaction boundary
	afterGTID                 // after a GTID event, before BEGIN or a DDL
	inTxn                     // inside BEGIN … COMMIT/XID
)

// txnScanner finds the first transaction starting at or after target in a
// stream of binlog events; it stops at end (the binlog's end when the
// search began).
type txnScanner struct {
	flavor string
	target uint32
	end    Position
	file   string
	lastTS uint32 // time of the last real event handled
	state  txnState
	gtids  gtidTracker
}

// handle consumes one event. done is set with the position found, or with
// the end position once the scan passed end at a transaction boundary.
func (s *txnScanner) handle(ev *replication.BinlogEvent) (p Position, done bool, err error) {
	h := ev.Header
	if r, ok := ev.Event.(*replication.RotateEvent); ok {
		s.file = string(r.NextLogName)
		return Position{}, false, nil
	}
	if isArtificial(h) {
		return Position{}, false, nil
	}
	starts := false
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDListEvent:
		s.gtids.resetMariaDB(e.GTIDs)
	case *replication.PreviousGTIDsEvent:
		s.gtids.resetMySQL(e.GTIDSets)
	case *replication.MariadbGTIDEvent, *replication.GTIDEvent, *replication.GtidTaggedLogEvent:
		starts = true
	case *replication.QueryEvent:
		starts = s.state == between
	}
	if starts {
		if h.LogPos < h.EventSize {
			return Position{}, true, fmt.Errorf("binlog %s: %s event without a log position", s.file, h.EventType)
		}
		// A transaction that starts past the end is where the end was.
		if start := h.LogPos - h.EventSize; h.Timestamp >= s.target || s.pastEnd(start) {
			return s.position(start), true, nil
		}
	}
	s.advance(ev)
	s.lastTS = h.Timestamp
	if s.state == between && s.pastEnd(h.LogPos) {
		return s.position(h.LogPos), true, nil
	}
	return Position{}, false, nil
}

// pastEnd tells whether offset pos of the current file is at or after the
// end of the binlog as it was when the search began.
func (s *txnScanner) pastEnd(pos uint32) bool {
	c := CompareFiles(s.file, s.end.File)
	return c > 0 || c == 0 && pos >= s.end.Pos
}

func (s *txnScanner) position(pos uint32) Position {
	return Position{Flavor: s.flavor, File: s.file, Pos: pos, GTIDSet: s.gtids.String(), Timestamp: s.lastTS}
}

// advance moves the transaction state and the GTID set past ev.
func (s *txnScanner) advance(ev *replication.BinlogEvent) {
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		s.gtids.addMariaDB(e.GTID)
		s.state = inTxn // MariaDB's GTID event stands for BEGIN …
		if e.IsStandalone() {
			s.state = afterGTID // … unless a lone DDL follows
		}
	case *replication.GtidTaggedLogEvent:
		s.gtids.unknown = true // go-mysql cannot hold tagged GTID sets
		s.state = afterGTID
	case *replication.GTIDEvent:
		if ev.Header.EventType == replication.GTID_EVENT {
			s.gtids.addMySQL(e)
		}
		s.state = afterGTID
	case *replication.QueryEvent:
		q := strings.ToUpper(strings.TrimSpace(string(e.Query)))
		switch {
		case q == "BEGIN" || strings.HasPrefix(q, "XA START"):
			s.state = inTxn
		case strings.HasPrefix(q, "COMMIT") || strings.HasPrefix(q, "ROLLBACK") ||
			strings.HasPrefix(q, "XA COMMIT") || strings.HasPrefix(q, "XA ROLLBACK"):
			s.state = between
		case s.state != inTxn: // a DDL, on its own
			s.state = between
		}
	case *replication.XIDEvent:
		s.state = between
	case *replication.TransactionPayloadEvent:
		s.state = between // MySQL 8's compressed transaction: all of it
	default:
		if ev.Header.EventType == replication.XA_PREPARE_LOG_EVENT {
			s.state = between
		}
	}
}

// gtidTracker follows the executed GTID set along the binlog: the list at
// the head of each file, plus every GTID event since.
type gtidTracker struct {
	maria   map[uint32]mariaDBGTID
	my      *mysql.MysqlGTIDSet
	unknown bool
}

func (g *gtidTracker) resetMariaDB(list []mysql.MariadbGTID) {
	g.maria = map[uint32]mariaDBGTID{}
	for _, m := range list { // the last of a domain is its latest
		g.addMariaDB(m)
	}
}

func (g *gtidTracker) addMariaDB(m mysql.MariadbGTID) {
	if g.maria == nil {
		g.maria = map[uint32]mariaDBGTID{}
	}
	g.maria[m.DomainID] = mariaDBGTID{domain: m.DomainID, server: m.ServerID, seq: m.SequenceNumber}
}

func (g *gtidTracker) resetMySQL(set string) {
	g.my, g.unknown = nil, false
	if set == "" {
		return
	}
	s, err := mysqlSet(set)
	if err != nil {
		g.unknown = true
		return
	}
	g.my = s
}

func (g *gtidTracker) addMySQL(e *replication.GTIDEvent) {
	u, err := uuid.FromBytes(e.SID)
	if err != nil || e.GNO <= 0 {
		g.unknown = true
		return
	}
	if g.my == nil {
		s, _ := mysqlSet("")
		g.my = s
	}
	g.my.AddGTID(u, e.GNO)
}

// String is the set, or "" when there is none or it cannot be known.
func (g *gtidTracker) String() string {
	switch {
	case g.unknown:
		return ""
	case g.maria != nil:
		return formatMariaDB(g.maria)
	case g.my != nil:
		return g.my.String()
	}
	return ""
}
