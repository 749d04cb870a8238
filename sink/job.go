package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
)

// Config configures a sink Job.
type Config struct {
	// Group is the consumer group, one per sink job. Required.
	Group string `yaml:"group"`
	// NameServers are the broker cluster's NameServers. Required.
	NameServers []string `yaml:"namesrv"`
	// Topics are the topics to consume. Required.
	Topics []string `yaml:"topics"`
	// Root is the output directory: <root>/<db>/<table>/{current,changes,_manifest}.
	Root string `yaml:"root"`
	// WorkDir holds scratch state (the pending changes of a commit
	// window). Default <Root>/_sluice/work/<Group>.
	WorkDir string `yaml:"work_dir"`
	// Include and Exclude are regular expressions on "db.table"; a table
	// is written when it matches an Include (or none is set) and no
	// Exclude.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// Compression is zstd (default), snappy or none.
	Compression string `yaml:"compression"`
	// FileRows and FileBytes roll a Parquet file.
	FileRows  int64 `yaml:"file_rows"`
	FileBytes int64 `yaml:"file_bytes"`
	// CommitInterval and CommitRows trigger a commit, whichever first.
	CommitInterval time.Duration `yaml:"commit_interval"`
	CommitRows     int64         `yaml:"commit_rows"`
	// BeforeImage adds the before image of UPDATEs to the change log (a
	// _before struct column).
	BeforeImage bool `yaml:"before_image"`
	// MemoryLimit, when set, is the Go runtime's soft memory limit for the
	// process (debug.SetMemoryLimit): the garbage collector works harder
	// near it instead of letting the heap double, which keeps a large
	// rebuild's RSS bounded. Process-wide: set it in a sink process.
	MemoryLimit int64 `yaml:"memory_limit"`
	// Client is a shared client; default: the job's own.
	Client *client.Client `yaml:"-"`
	Logger *slog.Logger   `yaml:"-"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Compression: "zstd", FileRows: 4 << 20, FileBytes: 128 << 20, CommitInterval: 30 * time.Second,
		CommitRows: 1_000_000}
}

// Validate checks c.
func (c *Config) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("sink: group is required"))
	}
	if len(c.NameServers) == 0 && c.Client == nil {
		errs = append(errs, errors.New("sink: namesrv is required"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("sink: topics is required"))
	}
	if c.Root == "" {
		errs = append(errs, errors.New("sink: root is required"))
	}
	if _, err := compression(c.Compression); err != nil {
		errs = append(errs, fmt.Errorf("sink: %w", err))
	}
	if c.FileRows < 1 || c.FileBytes < 1 || c.CommitInterval <= 0 || c.CommitRows < 1 || c.MemoryLimit < 0 {
		errs = append(errs, errors.New("sink: file_rows, file_bytes, commit_interval and commit_rows must be positive, memory_limit not negative"))
	}
	for _, p := range append(slices.Clone(c.Include), c.Exclude...) {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("sink: table pattern %q: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Stats are a job's counters.
type Stats struct {
	// Applied counts row changes applied to current tables, Logged rows
	// written to change logs, Skipped events already held (replays).
	Applied, Logged, Skipped int64
	Commits                  int64
	Tables                   int
}

// Job consumes topics in order and maintains each source table under
// Root. One job (one process) writes a set of tables; two jobs must not
// write the same table.
type Job struct {
	cfg     Config
	log     *slog.Logger
	st      *LocalStorage
	codec   compress.Compression
	include []*regexp.Regexp
	exclude []*regexp.Regexp
	lock    *os.File

	mu          sync.Mutex // tables, pending, offsets: the loop and OnRevoke
	pending     *pending
	tables      map[string]*table
	nextID      uint64
	offsets     map[client.MessageQueue]int64 // next offset per queue, consumed
	cp          *checkpoint
	sinceCommit int64
	lastCommit  time.Time

	// failed is the error that stopped the job: nothing is committed
	// after it (a half-applied batch must not become visible).
	failed error

	consumer                          *client.PullConsumer
	applied, logged, skipped, commits atomic.Int64

	// crash, set by tests, is called at the commit's steps.
	crash func(step string)
}

// checkpoint is the job's commit record: every queue's offset.
type checkpoint struct {
	Format int           `json:"format"`
	Group  string        `json:"group"`
	Time   string        `json:"committedAt"`
	Queues []QueueOffset `json:"queues"`
	Tables []string      `json:"tables"`
}

// QueueOffset is a queue's next offset to consume.
type QueueOffset struct {
	Topic  string `json:"topic"`
	Broker string `json:"broker"`
	Queue  int    `json:"queue"`
	Offset int64  `json:"offset"`
}

func checkpointPath(group string) string { return path.Join("_sluice", "sinks", group+".json") }

// New opens a job: its output root, a lock against a second writer, and
// its last checkpoint.
func New(cfg Config) (*Job, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := NewLocalStorage(cfg.Root)
	if err != nil {
		return nil, err
	}
	codec, _ := compression(cfg.Compression)
	j := &Job{cfg: cfg, log: cfg.Logger, st: st, codec: codec, tables: map[string]*table{},
		offsets: map[client.MessageQueue]int64{}}
	if j.log == nil {
		j.log = slog.Default()
	}
	j.log = j.log.With("sink", cfg.Group)
	for _, p := range cfg.Include {
		j.include = append(j.include, regexp.MustCompile(p))
	}
	for _, p := range cfg.Exclude {
		j.exclude = append(j.exclude, regexp.MustCompile(p))
	}
	if err := j.takeLock(); err != nil {
		return nil, err
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	work := cfg.WorkDir
	if work == "" {
		work = filepath.Join(cfg.Root, "_sluice", "work", cfg.Group)
	}
	if j.pending, err = openPending(filepath.Join(work, "pending")); err != nil {
		j.lock.Close()
		return nil, err
	}
	if j.cp, err = j.loadCheckpoint(); err != nil {
		j.Close()
		return nil, err
	}
	if j.cp != nil {
		for _, q := range j.cp.Queues {
			j.offsets[client.MessageQueue{Topic: q.Topic, BrokerName: q.Broker, QueueID: int32(q.Queue)}] = q.Offset
		}
	}
	return j, nil
}

// takeLock holds an exclusive lock on <root>/_sluice/sinks/<group>.lock.
func (j *Job) takeLock() error {
	name := filepath.Join(j.cfg.Root, "_sluice", "sinks", j.cfg.Group+".lock")
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("sink: %s is locked by another sink job of group %s (one job writes a table set): %w", name, j.cfg.Group, err)
	}
	j.lock = f
	return nil
}

func (j *Job) loadCheckpoint() (*checkpoint, error) {
	b, err := j.st.ReadFile(checkpointPath(j.cfg.Group))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	cp, err := decodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("sink: checkpoint %s: %w; remove it to rebuild from the topics' start", checkpointPath(j.cfg.Group), err)
	}
	return cp, nil
}

// decodeCheckpoint parses and checks a job checkpoint.
func decodeCheckpoint(b []byte) (*checkpoint, error) {
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("damaged: %w", err)
	}
	if cp.Format != 1 {
		return nil, fmt.Errorf("format %d, want 1", cp.Format)
	}
	for _, q := range cp.Queues {
		if q.Topic == "" || q.Broker == "" || q.Queue < 0 || q.Offset < 0 {
			return nil, fmt.Errorf("damaged: queue %+v", q)
		}
	}
	return &cp, nil
}

// Run consumes until ctx is done or a fatal error; it commits what it
// applied before returning.
func (j *Job) Run(ctx context.Context) error {
	opts := client.NewPullConsumerOptions(j.cfg.Group, j.cfg.NameServers...)
	opts.Client = j.cfg.Client
	// A stable client id: a job restarted after a crash holds the same
	// broker queue locks at once instead of waiting for them to expire
	// (the lock file keeps a second job of the group off this host).
	host, _ := os.Hostname()
	opts.ClientOptions.ClientID = host + "@sluice-sink@" + j.cfg.Group
	opts.Orderly = true
	opts.ConsumeFrom = client.ConsumeFromFirstOffset
	opts.Logger = j.log
	opts.PullBatchSize = 512
	opts.MaxBufferedPerQueue = 4096
	opts.OnAssign = j.onAssign
	opts.OnRevoke = j.onRevoke
	c, err := client.NewPullConsumer(opts)
	if err != nil {
		return err
	}
	for _, t := range j.cfg.Topics {
		if err := c.Subscribe(t, "*"); err != nil {
			return err
		}
	}
	j.mu.Lock()
	j.consumer = c
	j.lastCommit = time.Now()
	j.mu.Unlock()
	if err := c.Start(); err != nil {
		return err
	}
	err = j.loop(ctx)
	j.mu.Lock()
	if err == nil {
		err = j.commitLocked()
	} else if j.failed == nil {
		j.failed = err
	}
	j.mu.Unlock()
	if serr := c.Shutdown(); err == nil && serr != nil && !errors.Is(serr, client.ErrShutdown) {
		err = serr
	}
	return err
}

func (j *Job) loop(ctx context.Context) error {
	for {
		wait := time.Until(j.lastCommit.Add(j.cfg.CommitInterval))
		if wait <= 0 || j.sinceCommit >= j.cfg.CommitRows {
			j.mu.Lock()
			err := j.commitLocked()
			j.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		mq, msgs, err := j.consumer.PollQueue(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			continue
		case err != nil:
			return err
		}
		j.mu.Lock()
		err = j.apply(mq, msgs)
		if err != nil {
			j.failed = err
		}
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// onAssign starts each new queue at the checkpoint's offset: the job's
// commits, not the broker's offsets, say what was written.
func (j *Job) onAssign(mqs []client.MessageQueue) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, mq := range mqs {
		off, ok := j.offsets[mq]
		if !ok {
			off = 0
			j.offsets[mq] = 0
		}
		if err := j.consumer.Seek(mq, off); err != nil {
			j.log.Warn("sink: seek", "queue", mq.String(), "offset", off, "err", err)
		}
	}
}

// onRevoke commits before queues go to another member.
func (j *Job) onRevoke(mqs []client.MessageQueue) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failed != nil {
		return
	}
	if err := j.commitLocked(); err != nil {
		j.log.Error("sink: commit before giving queues away failed", "err", err)
	}
}

// apply applies a batch of one queue: decoded on all cores, applied in
// order.
func (j *Job) apply(mq client.MessageQueue, msgs []*client.MessageExt) error {
	qk := keyOf(mq)
	decoded := make([]*canal.FlatMessage, len(msgs))
	errs := make([]error, len(msgs))
	decodeAll(msgs, decoded, errs)
	for i, msg := range msgs {
		err := errs[i]
		if err == nil {
			err = j.applyOne(qk, msg, decoded[i])
		}
		if err != nil {
			return fmt.Errorf("sink: %s offset %d: %w", mq.String(), msg.QueueOffset, err)
		}
		j.offsets[mq] = msg.QueueOffset + 1
	}
	return nil
}

// decodeAll decodes msgs into out, splitting a large batch over the
// cores (decoding is half of a row's cost).
func decodeAll(msgs []*client.MessageExt, out []*canal.FlatMessage, errs []error) {
	const minPerWorker = 64
	workers := min(runtime.GOMAXPROCS(0), len(msgs)/minPerWorker)
	if workers <= 1 {
		for i, m := range msgs {
			out[i], errs[i] = canal.DecodeFlat(m.Body)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(msgs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(msgs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i], errs[i] = canal.DecodeFlat(msgs[i].Body)
			}
		}()
	}
	wg.Wait()
}

func (j *Job) applyOne(qk queueKey, msg *client.MessageExt, m *canal.FlatMessage) error {
	var err error
	if !j.wanted(m.Database, m.Table) {
		return nil
	}
	t, err := j.table(m.Database, m.Table)
	if err != nil {
		return err
	}
	v := Version{File: m.File, Pos: m.Pos, Row: int32(m.Row)}
	if t.seen(qk, msg.QueueOffset, v, m.Snapshot) {
		j.skipped.Add(1)
		return nil
	}
	for attempt := 0; ; attempt++ {
		before := t.applied
		loggedBefore := t.logged
		if m.IsDDL {
			err = t.ddl(m, v)
		} else {
			err = t.row(m, v)
		}
		if errors.Is(err, errNeedCommit) && attempt == 0 {
			if err := j.commitLocked(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		j.applied.Add(t.applied - before)
		j.logged.Add(t.logged - loggedBefore)
		j.sinceCommit++
		break
	}
	t.advance(qk, msg.QueueOffset, v, m.GTID)
	return nil
}

func (j *Job) wanted(db, name string) bool {
	if name == "" {
		return false // a database-level statement
	}
	full := db + "." + name
	if len(j.include) > 0 && !slices.ContainsFunc(j.include, func(r *regexp.Regexp) bool { return r.MatchString(full) }) {
		return false
	}
	return !slices.ContainsFunc(j.exclude, func(r *regexp.Regexp) bool { return r.MatchString(full) })
}

// table returns the state of db.name, loading it from its manifest the
// first time.
func (j *Job) table(db, name string) (*table, error) {
	full := db + "." + name
	if t := j.tables[full]; t != nil {
		return t, nil
	}
	if strings.ContainsAny(db+name, "/\\\x00") || db == "." || db == ".." || name == "." || name == ".." || db == "_sluice" {
		return nil, fmt.Errorf("table name %q cannot be a directory", full)
	}
	j.nextID++
	t := newTable(j, db, name, j.nextID)
	m, err := loadLatestManifest(j.st, t.dir)
	if err != nil {
		return nil, err
	}
	if m != nil {
		t.restore(m)
	}
	if err := j.removeOrphans(t); err != nil {
		return nil, err
	}
	j.tables[full] = t
	return t, nil
}

// removeOrphans deletes files of the table that no commit names: those a
// crash left between writing them and committing the manifest.
func (j *Job) removeOrphans(t *table) error {
	names, err := j.st.List(t.dir)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	var committed int64
	if t.m != nil {
		committed = t.m.Version
		for _, f := range t.m.Current {
			keep[f.Path] = true
		}
	}
	for _, n := range names {
		orphan := false
		switch {
		case strings.HasSuffix(n, tmpSuffix):
			orphan = true
		case strings.HasPrefix(n, "current/"):
			orphan = !keep[n]
		case strings.HasPrefix(n, "changes/"):
			base := path.Base(n)
			v, err := strconv.ParseInt(strings.SplitN(base, "-", 2)[0], 10, 64)
			orphan = err == nil && v > committed
		}
		if orphan {
			j.log.Info("sink: removing a file no commit names", "table", t.db+"."+t.name, "file", n)
			if err := j.st.Remove(path.Join(t.dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// commitLocked commits every table with changes, then the checkpoint,
// then the broker offsets.
func (j *Job) commitLocked() error {
	if j.failed != nil {
		return j.failed
	}
	start := time.Now()
	defer func() {
		j.lastCommit = time.Now()
		j.sinceCommit = 0
	}()
	names := make([]string, 0, len(j.tables))
	for n := range j.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	committed := 0
	for _, n := range names {
		t := j.tables[n]
		m, _, err := t.commit()
		if err != nil {
			t.abort()
			j.failed = err
			return err
		}
		if m == nil {
			continue
		}
		j.hook("before-manifest")
		if err := writeManifest(j.st, t.dir, m); err != nil {
			t.abort()
			j.failed = err
			return err
		}
		j.hook("after-manifest")
		t.committed(m)
		committed++
	}
	if err := j.pending.reset(); err != nil {
		return err
	}
	if committed == 0 && j.cp != nil && !j.offsetsMoved() {
		return nil
	}
	cp := &checkpoint{Format: 1, Group: j.cfg.Group, Time: time.Now().UTC().Format(time.RFC3339Nano)}
	offsets := map[client.MessageQueue]int64{}
	for mq, off := range j.offsets {
		cp.Queues = append(cp.Queues, QueueOffset{Topic: mq.Topic, Broker: mq.BrokerName, Queue: int(mq.QueueID), Offset: off})
		offsets[mq] = off
	}
	slices.SortFunc(cp.Queues, func(a, b QueueOffset) int {
		return strings.Compare(fmt.Sprintf("%s/%s/%08d", a.Topic, a.Broker, a.Queue), fmt.Sprintf("%s/%s/%08d", b.Topic, b.Broker, b.Queue))
	})
	cp.Tables = names
	b, err := json.MarshalIndent(cp, "", " ")
	if err != nil {
		return err
	}
	w, err := j.st.Create(checkpointPath(j.cfg.Group))
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		w.Abort()
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	j.cp = cp
	j.hook("after-checkpoint")
	j.commits.Add(1)
	// The broker's copy of the offsets is for monitoring (lag); a failure
	// here loses nothing.
	if j.consumer != nil && len(offsets) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := j.consumer.CommitSync(ctx, j.assignedOnly(offsets)); err != nil {
			j.log.Warn("sink: committing offsets to the broker", "err", err)
		}
		cancel()
	}
	if committed > 0 {
		j.log.Debug("sink: committed", "tables", committed, "took", time.Since(start))
	}
	return nil
}

func (j *Job) offsetsMoved() bool {
	if len(j.cp.Queues) != len(j.offsets) {
		return true
	}
	for _, q := range j.cp.Queues {
		if j.offsets[client.MessageQueue{Topic: q.Topic, BrokerName: q.Broker, QueueID: int32(q.Queue)}] != q.Offset {
			return true
		}
	}
	return false
}

func (j *Job) assignedOnly(offsets map[client.MessageQueue]int64) map[client.MessageQueue]int64 {
	out := map[client.MessageQueue]int64{}
	for _, mq := range j.consumer.Assignment() {
		if off, ok := offsets[mq]; ok {
			out[mq] = off
		}
	}
	return out
}

func (j *Job) hook(step string) {
	if j.crash != nil {
		j.crash(step)
	}
}

// Stats returns the job's counters.
func (j *Job) Stats() Stats {
	j.mu.Lock()
	n := len(j.tables)
	j.mu.Unlock()
	return Stats{Applied: j.applied.Load(), Logged: j.logged.Load(), Skipped: j.skipped.Load(),
		Commits: j.commits.Load(), Tables: n}
}

// Close releases the job's scratch store and lock (Run commits before it
// returns; Close does not commit).
func (j *Job) Close() error {
	var err error
	if j.pending != nil {
		err = j.pending.close()
	}
	if j.lock != nil {
		j.lock.Close()
	}
	return err
}
