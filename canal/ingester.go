package canal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
	"github.com/sluicehq/sluice/client"
)

// Snapshot modes.
const (
	// SnapshotInitial snapshots the captured tables when there is no saved
	// position, then streams.
	SnapshotInitial = "initial"
	// SnapshotNever starts streaming at the source's current position when
	// there is no saved position.
	SnapshotNever = "never"
	// SnapshotWhenNeeded is SnapshotInitial, and also re-snapshots when the
	// saved position's binlog was purged.
	SnapshotWhenNeeded = "when_needed"
)

// Config configures an Ingester.
type Config struct {
	Source SourceConfig `yaml:"source"`
	Filter FilterConfig `yaml:"filter"`
	Routes []RouteRule  `yaml:"routes"`
	// DefaultTopic is the topic template of tables no route matches.
	DefaultTopic string        `yaml:"default_topic"`
	Publish      PublishConfig `yaml:"publish"`
	// SnapshotMode is initial, never or when_needed.
	SnapshotMode string `yaml:"snapshot_mode"`
	// SnapshotChunkRows is how many rows one snapshot query reads.
	SnapshotChunkRows int `yaml:"snapshot_chunk_rows"`
	// DataDir holds the position file and the schema history.
	DataDir string `yaml:"data_dir"`
	// TxnBufferBytes bounds the events of one transaction held back until
	// its XID is known; a larger transaction is streamed with XID 0.
	TxnBufferBytes int `yaml:"txn_buffer_bytes"`
	// SaveInterval is how often the acknowledged position is saved.
	SaveInterval time.Duration `yaml:"save_interval"`
	// RetryBackoff and MaxRetryBackoff bound the wait before reconnecting
	// after a failure that may pass (a lost connection, a broker error).
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	MaxRetryBackoff time.Duration `yaml:"max_retry_backoff"`
	Logger          *slog.Logger  `yaml:"-"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Source: DefaultSourceConfig(), Publish: DefaultPublishConfig(), SnapshotMode: SnapshotInitial,
		SnapshotChunkRows: 10000, TxnBufferBytes: 64 << 20, SaveInterval: 200 * time.Millisecond,
		RetryBackoff: time.Second, MaxRetryBackoff: 30 * time.Second}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	errs := []error{c.Source.Validate(), c.Publish.Validate()}
	switch c.SnapshotMode {
	case SnapshotInitial, SnapshotNever, SnapshotWhenNeeded:
	default:
		errs = append(errs, fmt.Errorf("snapshot_mode %q is not initial, never or when_needed", c.SnapshotMode))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	}
	if c.SnapshotChunkRows < 1 || c.TxnBufferBytes < 1 || c.SaveInterval <= 0 || c.RetryBackoff <= 0 || c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, errors.New("snapshot_chunk_rows, txn_buffer_bytes, save_interval and retry_backoff must be positive, max_retry_backoff at least retry_backoff"))
	}
	return errors.Join(errs...)
}

// Stats are the ingester's counters.
type Stats struct {
	Rows, Txns, DDLs, SnapshotRows int64
	// Events and Bytes count what was published (acknowledged or not).
	Events, Bytes int64
	// Committed is the last saved resume point.
	Committed position.Position
}

type counters struct {
	rows, txns, ddls, snapshotRows atomic.Int64
	events, bytes                  atomic.Int64
}

// Ingester captures a MySQL/MariaDB server's row changes onto topics.
type Ingester struct {
	cfg     Config
	log     *slog.Logger
	prod    *client.Producer
	router  *Router
	history *schema.History
	store   position.Store
	lock    *position.FileLock
	stats   counters

	// per run
	tracker *tracker
	pub     *publisher
	flavor  string
	info    ServerInfo

	mu        sync.Mutex
	encoders  map[*schema.Table]*tableEncoder
	committed position.Position
}

// New validates cfg and opens the ingester's state under DataDir. prod must
// be started; the ingester does not shut it down.
func New(cfg Config, prod *client.Producer) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	router, err := NewRouter(cfg.Filter, cfg.Routes, cfg.DefaultTopic)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	store := position.NewFileStore(filepath.Join(cfg.DataDir, "position.json"))
	lock, err := store.Lock()
	if err != nil {
		return nil, err
	}
	hist, err := schema.Open(filepath.Join(cfg.DataDir, "schema-history"))
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	return &Ingester{cfg: cfg, log: log.With("component", "canal"), prod: prod, router: router, history: hist,
		store: store, lock: lock, encoders: map[*schema.Table]*tableEncoder{}}, nil
}

// Stats returns the counters.
func (in *Ingester) Stats() Stats {
	in.mu.Lock()
	c := in.committed
	in.mu.Unlock()
	return Stats{Rows: in.stats.rows.Load(), Txns: in.stats.txns.Load(), DDLs: in.stats.ddls.Load(),
		SnapshotRows: in.stats.snapshotRows.Load(), Events: in.stats.events.Load(), Bytes: in.stats.bytes.Load(), Committed: c}
}

// Close releases the schema history and the position file's lock.
func (in *Ingester) Close() error {
	err := in.history.Close()
	if uerr := in.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// encoderFor returns the encoder of a table version.
func (in *Ingester) encoderFor(t *schema.Table, route *TableRoute) (*tableEncoder, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if e := in.encoders[t]; e != nil {
		return e, nil
	}
	e, err := newTableEncoder(t, route, in.router)
	if err != nil {
		return nil, err
	}
	in.encoders[t] = e
	return e, nil
}

// forgetTable drops what was cached about a table a DDL changed.
func (in *Ingester) forgetTable(db, name string) {
	in.router.Forget(db, name)
	in.mu.Lock()
	for t := range in.encoders {
		if t.Schema == db && t.Name == name {
			delete(in.encoders, t)
		}
	}
	in.mu.Unlock()
}

// fatal marks errors a retry cannot fix: the ingester stops with them.
type fatal struct{ err error }

func (f fatal) Error() string { return f.err.Error() }
func (f fatal) Unwrap() error { return f.err }

// isFatal reports whether err needs an operator.
func isFatal(err error) bool {
	var ce *CheckError
	var f fatal
	return errors.As(err, &ce) || errors.As(err, &f) || errors.Is(err, ErrMessageTooLarge) ||
		errors.Is(err, schema.ErrUnsupportedDDL) || errors.Is(err, ErrPurged)
}

// Run captures until ctx ends (then it drains, saves and returns nil) or a
// fatal error. Failures that may pass (lost connections, broker errors)
// are retried from the last saved position with back-off.
func (in *Ingester) Run(ctx context.Context) error {
	backoff := in.cfg.RetryBackoff
	for {
		start := time.Now()
		err := in.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || isFatal(err) {
			return err
		}
		if time.Since(start) > 2*in.cfg.MaxRetryBackoff {
			backoff = in.cfg.RetryBackoff
		}
		in.log.Warn("capture interrupted; resuming from the last saved position", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, in.cfg.MaxRetryBackoff)
	}
}

// runOnce connects, checks the source, finds where to start (snapshotting
// when needed) and streams until ctx ends or an error.
func (in *Ingester) runOnce(ctx context.Context) (err error) {
	db, err := in.cfg.Source.open()
	if err != nil {
		return err
	}
	defer db.Close()
	host := reportHost(in.cfg.Source)
	if in.info, err = checkSource(ctx, db, in.cfg.Source, host); err != nil {
		return err
	}
	in.flavor = in.info.Flavor
	start, err := in.startPoint(ctx, db)
	if err != nil {
		return err
	}
	in.tracker = newTracker(start)
	in.pub = newPublisher(ctx, in.cfg.Publish, in.prod, in.tracker, in.log)
	in.pub.stats = &in.stats
	saverDone := make(chan struct{})
	saverStop := make(chan struct{})
	go func() {
		defer close(saverDone)
		in.saveLoop(saverStop)
	}()
	defer func() {
		drain := ctx.Err() != nil && err == nil
		if perr := in.pub.close(drain); err == nil && perr != nil && ctx.Err() == nil {
			err = perr
		}
		close(saverStop)
		<-saverDone
		if serr := in.save(); err == nil {
			err = serr
		}
	}()
	return in.stream(ctx, start)
}

// stream reads the binlog from start.
func (in *Ingester) stream(ctx context.Context, start resumePoint) error {
	cfg := syncerConfig(in.cfg.Source, in.flavor, reportHost(in.cfg.Source))
	values.SyncerSettings(&cfg)
	cfg.Logger = in.log.With("component", "binlog")
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	st, err := syncer.StartSync(gomysql.Position{Name: start.File, Pos: start.Pos})
	if err != nil {
		return fmt.Errorf("start reading the binlog at %s:%d: %w", start.File, start.Pos, err)
	}
	s, err := newStream(in, start, in.flavor)
	if err != nil {
		return fatal{err}
	}
	in.log.Info("streaming", "file", start.File, "pos", start.Pos, "gtid", start.GTIDSet)
	err = s.run(ctx, st)
	if ctx.Err() != nil {
		return nil
	}
	return in.explainStreamError(err, start)
}

// saveLoop saves the committed position every SaveInterval until stop.
func (in *Ingester) saveLoop(stop <-chan struct{}) {
	t := time.NewTicker(in.cfg.SaveInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := in.save(); err != nil {
				in.log.Error("save position", "err", err)
			}
		}
	}
}

// save persists the tracker's committed resume point when it moved.
func (in *Ingester) save() error {
	at, _ := in.tracker.Committed()
	p := position.Position{Flavor: in.flavor, File: at.File, Pos: at.Pos, GTIDSet: at.GTIDSet, Timestamp: at.Timestamp}
	in.mu.Lock()
	same := in.committed == p
	in.mu.Unlock()
	if same || p.File == "" {
		return nil
	}
	st := position.State{Position: p, ServerID: in.info.ServerID, ServerUUID: in.info.UUID, SavedAt: time.Now().UTC()}
	if err := in.store.Save(context.Background(), st); err != nil {
		return err
	}
	in.mu.Lock()
	in.committed = p
	in.mu.Unlock()
	return nil
}

// ErrPurged means the binlog the saved position points into is gone.
var ErrPurged = position.ErrPurged

// startPoint is where streaming starts: the saved position, else (by the
// snapshot mode) the source's current position after a snapshot or not.
func (in *Ingester) startPoint(ctx context.Context, db *sql.DB) (resumePoint, error) {
	st, ok, err := in.store.Load(ctx)
	if err != nil {
		return resumePoint{}, fatal{err}
	}
	if ok && st.ServerID != 0 && st.ServerID != in.info.ServerID {
		return resumePoint{}, fatal{fmt.Errorf("the saved position belongs to server_id %d, but %s has server_id %d: reset positions to start over on this server",
			st.ServerID, in.cfg.Source.Addr(), in.info.ServerID)}
	}
	if ok && st.Snapshot == nil {
		p := st.Position
		if err := in.checkAvailable(ctx, db, p); err != nil {
			if errors.Is(err, ErrPurged) && in.cfg.SnapshotMode == SnapshotWhenNeeded {
				in.log.Warn("saved position was purged; taking a new snapshot (snapshot_mode when_needed)", "err", err)
				return in.snapshotAndStart(ctx, db, nil)
			}
			return resumePoint{}, err
		}
		if err := in.history.Rewind(schema.Key{File: p.File, Pos: p.Pos}); err != nil {
			return resumePoint{}, fatal{err}
		}
		in.mu.Lock()
		in.committed = p
		in.mu.Unlock()
		return resumePoint{File: p.File, Pos: p.Pos, GTIDSet: p.GTIDSet, Timestamp: p.Timestamp}, nil
	}
	if ok {
		return in.snapshotAndStart(ctx, db, st.Snapshot)
	}
	if in.cfg.SnapshotMode == SnapshotNever {
		cur, err := position.Current(ctx, db)
		if err != nil {
			return resumePoint{}, err
		}
		if err := in.bootstrapSchema(ctx, db, schema.Key{File: cur.File, Pos: cur.Pos}); err != nil {
			return resumePoint{}, err
		}
		return resumePoint{File: cur.File, Pos: cur.Pos, GTIDSet: cur.GTIDSet}, nil
	}
	return in.snapshotAndStart(ctx, db, nil)
}

// bootstrapSchema records the captured tables' current schemas at key.
func (in *Ingester) bootstrapSchema(ctx context.Context, db *sql.DB, key schema.Key) error {
	snap, err := schema.LoadSnapshot(ctx, db, func(s, t string) bool { return in.router.Table(s, t).Captured })
	if err != nil {
		return err
	}
	return in.history.BootstrapSnapshot(key, snap)
}

// checkAvailable fails with ErrPurged, naming both positions, when p's
// binlog is no longer on the source.
func (in *Ingester) checkAvailable(ctx context.Context, db *sql.DB, p position.Position) error {
	err := position.CheckAvailable(ctx, db, p)
	if errors.Is(err, ErrPurged) {
		return fmt.Errorf("%w: changes in between are lost to Sluice; set snapshot_mode: when_needed to re-snapshot, or reset positions (sluice positions reset)", err)
	}
	return err
}

// explainStreamError turns the source's replication errors into messages
// an operator can act on.
func (in *Ingester) explainStreamError(err error, start resumePoint) error {
	var me *gomysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case 1236:
			return fmt.Errorf("%w: the source cannot send the binlog from %s:%d: %s", ErrPurged, start.File, start.Pos, me.Message)
		case 1227, 1045:
			return &CheckError{"privileges", fmt.Sprintf("user %s may not read the binlog of %s: GRANT REPLICATION SLAVE ON *.* TO it (%s)", in.cfg.Source.User, in.cfg.Source.Addr(), me.Message)}
		}
	}
	return err
}
