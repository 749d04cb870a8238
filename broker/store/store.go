package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// Store is a RocketMQ-compatible message store: one commitlog, a
// ConsumeQueue per topic/queue and a key index. It is safe for concurrent use.
type Store struct {
	opts Options
	log  *slog.Logger
	fs   vfs.FS
	// cpMu serializes checkpoint writes: they share one temporary file
	// name, and a background flush may race a reset.
	cpMu   sync.Mutex
	cl     *commitLog
	queues *queueTable
	index  *index // nil when IndexEnabled is false
	flush  *flusher
	disp   *dispatcher
	stats  storeStats
	lock   io.Closer

	nextQO  map[string]map[int32]int64 // next queue offset per queue; guarded by cl.appendMu
	encPool sync.Pool                  // *encodeBuf

	onDispatch   atomic.Pointer[[]func(topic string, qid int32, maxOffset int64)]
	confirmLimit atomic.Pointer[func() int64]

	warmKick  chan struct{}
	retention *retention
	stop      chan struct{}
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

type encodeBuf struct {
	b    []byte
	ends []int // end of each record in b
}

// PutResult describes a successful append.
type PutResult struct {
	// PhysicalOffset is the commitlog offset of the first record.
	PhysicalOffset int64
	// QueueOffset is the ConsumeQueue offset of the first record (0 for
	// transaction PREPARED/ROLLBACK records, which get no entry).
	QueueOffset int64
	// Count is the number of records written.
	Count int
	// Size is the number of bytes written.
	Size int
	// StoreTimestamp is the STORETIMESTAMP given to the records (ms).
	StoreTimestamp int64
	// End is the log end after the append; pass it to WaitDurable.
	End int64
	// PhysicalOffsets holds each record's commitlog offset (batches only).
	PhysicalOffsets []int64
}

// Paths of the store's files, relative to Options.Dir.
const (
	commitLogDir    = "commitlog"
	consumeQueueDir = "consumequeue"
	indexDir        = "index"
	checkpointFile  = "checkpoint"
	abortFile       = "abort"
	lockFile        = "lock"
)

// Open opens or creates the store in opts.Dir, recovers it and starts its
// background services. It fails with *CorruptionErr if durable data does
// not validate (see Options.Repair) and with vfs.ErrLocked if another
// process has the directory open.
func Open(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Store{opts: opts, fs: opts.FS, log: opts.Logger, stop: make(chan struct{}), warmKick: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.prepareDirs(); err != nil {
		return nil, err
	}
	lock, err := s.fs.Lock(s.path(lockFile))
	if err != nil {
		return nil, fmt.Errorf("lock store %s: %w", opts.Dir, err)
	}
	s.lock = lock
	if err := s.openParts(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.start()
	return s, nil
}

func (s *Store) path(name string) string { return path.Join(s.opts.Dir, name) }

func (s *Store) prepareDirs() error {
	for _, d := range []string{commitLogDir, consumeQueueDir, indexDir} {
		if err := s.fs.MkdirAll(s.path(d), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	for _, d := range []string{path.Dir(path.Clean(s.opts.Dir)), s.opts.Dir} {
		if err := s.fs.SyncDir(d); err != nil {
			return fmt.Errorf("sync dir %s: %w", d, err)
		}
	}
	return nil
}

// openParts loads the commitlog, queues and index, recovers, and marks the
// store as running (abort file).
func (s *Store) openParts() error {
	s.cl = newCommitLog(s.fs, s.path(commitLogDir), s.opts.SegmentSize, s.log)
	s.queues = newQueueTable(s.fs, s.path(consumeQueueDir), s.opts.CQEntriesPerFile)
	if s.opts.IndexEnabled {
		s.index = newIndex(s.fs, s.path(indexDir), s.opts.IndexMaxHashSlots, s.opts.IndexMaxCount, s.opts.Now, s.log)
	}
	s.flush = newFlusher(s)
	s.disp = newDispatcher(s)
	s.retention = newRetention(s)
	if err := s.cl.load(); err != nil {
		return err
	}
	if err := s.queues.load(); err != nil {
		return err
	}
	if s.index != nil {
		if err := s.index.load(); err != nil {
			return err
		}
	}
	if err := s.recover(); err != nil {
		return err
	}
	return s.writeAbortFile()
}

func (s *Store) writeAbortFile() error {
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := vfs.WriteFileAtomic(s.fs, s.path(abortFile), pid); err != nil {
		return fmt.Errorf("write abort file: %w", err)
	}
	return nil
}

func (s *Store) start() {
	goRun := func(f func(stop <-chan struct{})) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f(s.stop)
		}()
	}
	if s.opts.FlushMode == FlushSync {
		goRun(s.flush.runSync)
		goRun(s.flush.runReaper)
	} else {
		goRun(s.flush.runAsync)
	}
	goRun(s.disp.run)
	goRun(s.runMetaFlush)
	goRun(s.retention.run)
	if s.opts.Prewrite {
		goRun(s.runWarmer)
	}
}

// validate applies the store's rules to one message.
func (s *Store) validate(topic string, qid int32, bodyLen, propsLen int) error {
	if err := message.ValidateTopic(topic); err != nil {
		return fmt.Errorf("%w: topic %q: %w", ErrMessageIllegal, topic, err)
	}
	if qid < 0 {
		return fmt.Errorf("%w: queue id %d", ErrMessageIllegal, qid)
	}
	if propsLen > message.MaxPropertiesSize {
		return fmt.Errorf("%w: %d bytes", ErrPropertiesTooLong, propsLen)
	}
	if bodyLen > s.opts.MaxMessageSize {
		return fmt.Errorf("%w: body of %d bytes exceeds %d", ErrMessageIllegal, bodyLen, s.opts.MaxMessageSize)
	}
	return nil
}

// PutMessage appends one record. The store fills QUEUEOFFSET (dense per
// topic/queue), PHYSICALOFFSET and STORETIMESTAMP under its append lock,
// and STOREHOST from Options when r has none. It returns once the bytes are
// in the page cache; under FlushSync call WaitDurable(res.End, …) before
// acknowledging. r is not modified or retained.
func (s *Store) PutMessage(r *message.Record) (PutResult, error) {
	if err := s.validate(r.Topic, r.QueueID, len(r.Body), len(r.Properties)); err != nil {
		s.stats.putErrors.Add(1)
		return PutResult{}, err
	}
	eb := s.getEncodeBuf()
	defer s.encPool.Put(eb)
	rec := *r
	if !rec.StoreHost.IsValid() {
		rec.StoreHost = s.opts.StoreHost
	}
	var err error
	if eb.b, err = message.AppendRecord(eb.b[:0], &rec); err != nil {
		s.stats.putErrors.Add(1)
		return PutResult{}, fmt.Errorf("%w: %w", ErrMessageIllegal, err)
	}
	eb.ends = append(eb.ends[:0], len(eb.b))
	return s.appendEncoded(eb, r.Topic, r.QueueID, message.TransactionType(r.SysFlag), false)
}

// PutBatch appends the items of a SEND_BATCH_MESSAGE as consecutive records
// of tmpl's topic and queue, with tmpl's other fields, in one write.
// Queue offsets are consecutive. The batch is all or nothing.
func (s *Store) PutBatch(tmpl *message.Record, items []message.BatchItem) (PutResult, error) {
	if len(items) == 0 {
		return PutResult{}, fmt.Errorf("%w: empty batch", ErrMessageIllegal)
	}
	eb := s.getEncodeBuf()
	defer s.encPool.Put(eb)
	eb.b, eb.ends = eb.b[:0], eb.ends[:0]
	rec := *tmpl
	if !rec.StoreHost.IsValid() {
		rec.StoreHost = s.opts.StoreHost
	}
	for i := range items {
		it := &items[i]
		if err := s.validate(tmpl.Topic, tmpl.QueueID, len(it.Body), len(it.Properties)); err != nil {
			s.stats.putErrors.Add(1)
			return PutResult{}, fmt.Errorf("batch item %d: %w", i, err)
		}
		rec.Flag, rec.Body, rec.Properties = it.Flag, it.Body, it.Properties
		var err error
		if eb.b, err = message.AppendRecord(eb.b, &rec); err != nil {
			s.stats.putErrors.Add(1)
			return PutResult{}, fmt.Errorf("%w: batch item %d: %w", ErrMessageIllegal, i, err)
		}
		eb.ends = append(eb.ends, len(eb.b))
	}
	return s.appendEncoded(eb, tmpl.Topic, tmpl.QueueID, message.TransactionType(tmpl.SysFlag), true)
}

func (s *Store) getEncodeBuf() *encodeBuf {
	if eb, ok := s.encPool.Get().(*encodeBuf); ok {
		return eb
	}
	return &encodeBuf{b: make([]byte, 0, 4096)}
}

// appendEncoded writes the encoded records in eb under the append lock,
// assigning queue offsets, physical offsets and the store timestamp.
func (s *Store) appendEncoded(eb *encodeBuf, topic string, qid int32, txType int32, batch bool) (PutResult, error) {
	if len(eb.b) > s.opts.MaxMessageSize {
		s.stats.putErrors.Add(1)
		return PutResult{}, fmt.Errorf("%w: %d bytes exceeds MaxMessageSize %d", ErrMessageIllegal, len(eb.b), s.opts.MaxMessageSize)
	}
	noEntry := txType == message.SysFlagTransactionPrepared || txType == message.SysFlagTransactionRollback
	s.cl.appendMu.Lock()
	if s.closed.Load() {
		s.cl.appendMu.Unlock()
		return PutResult{}, ErrClosed
	}
	var qo int64
	if !noEntry {
		qo = s.nextQO[topic][qid]
	}
	now := s.opts.Now().UnixMilli()
	phys, err := s.cl.appendLocked(eb.b, func(phys int64) {
		start := 0
		for i, end := range eb.ends {
			rec := eb.b[start:end]
			if !noEntry {
				message.PutQueueOffset(rec, qo+int64(i))
			}
			message.PutPhysicalOffset(rec, phys+int64(start))
			message.PutStoreTimestamp(rec, now)
			start = end
		}
	})
	if err == nil && !noEntry {
		s.setNextQOLocked(topic, qid, qo+int64(len(eb.ends)))
	}
	end := s.cl.end.Load()
	if err == nil {
		if seg := s.cl.lastSegment(); seg != nil {
			seg.lastStoreMs.Store(now)
		}
	}
	s.cl.appendMu.Unlock()
	if err != nil {
		s.stats.putErrors.Add(1)
		return PutResult{}, err
	}
	s.stats.puts.Add(uint64(len(eb.ends)))
	s.stats.putBytes.Add(uint64(len(eb.b)))
	s.afterAppend()
	res := PutResult{PhysicalOffset: phys, QueueOffset: qo, Count: len(eb.ends), Size: len(eb.b), StoreTimestamp: now, End: end}
	if batch {
		res.PhysicalOffsets = recordOffsets(phys, eb.ends)
	}
	return res, nil
}

// recordOffsets returns the commitlog offset of each record of a write at
// phys whose records end at ends.
func recordOffsets(phys int64, ends []int) []int64 {
	out := make([]int64, len(ends))
	start := 0
	for i, e := range ends {
		out[i] = phys + int64(start)
		start = e
	}
	return out
}

func (s *Store) setNextQOLocked(topic string, qid int32, next int64) {
	qs := s.nextQO[topic]
	if qs == nil {
		qs = map[int32]int64{}
		s.nextQO[topic] = qs
	}
	qs[qid] = next
}

// WaitDurable calls done(nil) once the commitlog is durable up to end (a
// PutResult.End). Under FlushSync it joins the group commit and calls
// done(ErrFlushTimeout) after SyncFlushTimeout, or done(err) if the sync
// fails; under FlushAsync it calls done(nil) at once. It never blocks; done
// runs on the caller's goroutine when the answer is immediate, else on a
// store goroutine, and must not block for long.
func (s *Store) WaitDurable(end int64, done func(error)) {
	switch {
	case s.opts.FlushMode == FlushAsync:
		done(nil)
	case s.closed.Load() && s.cl.flushed.Load() < end:
		done(ErrClosed)
	default:
		s.flush.wait(end, done)
	}
}

// syncCommitLog fdatasyncs up to target, recording metrics, and wakes the
// dispatcher when that moves ConfirmedOffset.
func (s *Store) syncCommitLog(target int64) error {
	start := time.Now()
	err := s.cl.syncTo(target)
	s.stats.observeFsync(time.Since(start))
	if err == nil && s.opts.FlushMode == FlushSync {
		s.disp.signal()
	}
	return err
}

// ConfirmedOffset is how far the dispatcher may go, so how far consumers
// can see: the written end under FlushAsync, the durable end under
// FlushSync, capped by SetConfirmLimit.
func (s *Store) ConfirmedOffset() int64 {
	c := s.cl.end.Load()
	if s.opts.FlushMode == FlushSync {
		c = s.cl.flushed.Load()
	}
	if f := s.confirmLimit.Load(); f != nil {
		c = min(c, (*f)())
	}
	return c
}

// SetConfirmLimit caps ConfirmedOffset with limit (for replication: a
// master that only exposes what slaves have). nil removes the cap.
func (s *Store) SetConfirmLimit(limit func() int64) {
	if limit == nil {
		s.confirmLimit.Store(nil)
	} else {
		s.confirmLimit.Store(&limit)
	}
	s.disp.signal()
}

// OnDispatch registers fn to run after the dispatcher adds entries to a
// queue (long-polling wake-up). fn runs on the dispatcher goroutine and
// must not block.
func (s *Store) OnDispatch(fn func(topic string, qid int32, maxOffset int64)) {
	for {
		old := s.onDispatch.Load()
		var fns []func(string, int32, int64)
		if old != nil {
			fns = append(fns, *old...)
		}
		fns = append(fns, fn)
		if s.onDispatch.CompareAndSwap(old, &fns) {
			return
		}
	}
}

func (s *Store) notifyDispatch(cqs []*consumeQueue) {
	fns := s.onDispatch.Load()
	if fns == nil {
		return
	}
	for _, cq := range cqs {
		for _, fn := range *fns {
			fn(cq.topic, cq.qid, cq.maxOffset.Load())
		}
	}
}

// MaxPhysicalOffset is the commitlog's written end.
func (s *Store) MaxPhysicalOffset() int64 { return s.cl.end.Load() }

// MinPhysicalOffset is the start of the oldest commitlog segment.
func (s *Store) MinPhysicalOffset() int64 { return s.cl.minOffset() }

// FlushedOffset is the commitlog's durable end.
func (s *Store) FlushedOffset() int64 { return s.cl.flushed.Load() }

// MaxOffset is the queue's entry count, the next offset to be written
// ("GET_MAX_OFFSET"); 0 for an unknown queue.
func (s *Store) MaxOffset(topic string, qid int32) int64 {
	if cq := s.queues.get(topic, qid); cq != nil {
		return cq.maxOffset.Load()
	}
	return 0
}

// AssignedOffset is the queue offset the queue's next message will get:
// MaxOffset plus the messages stored but not yet dispatched.
func (s *Store) AssignedOffset(topic string, qid int32) int64 {
	s.cl.appendMu.Lock()
	defer s.cl.appendMu.Unlock()
	return max(s.nextQO[topic][qid], s.MaxOffset(topic, qid))
}

// MinOffset is the first queue offset still readable; 0 for an unknown queue.
func (s *Store) MinOffset(topic string, qid int32) int64 {
	if cq := s.queues.get(topic, qid); cq != nil {
		return cq.minOffset.Load()
	}
	return 0
}

// Topics returns every topic with a ConsumeQueue and its queue ids, sorted.
func (s *Store) Topics() map[string][]int32 {
	out := map[string][]int32{}
	for _, cq := range s.queues.all() {
		out[cq.topic] = append(out[cq.topic], cq.qid)
	}
	return out
}

// DeleteTopic removes the topic's ConsumeQueues and resets its queue
// offsets. Its records stay in the commitlog until retention removes them;
// those not yet dispatched are skipped so they cannot re-create the queues.
// (A crash before the next checkpoint may still re-dispatch a few of them.)
func (s *Store) DeleteTopic(topic string) error {
	s.disp.mu.Lock()
	defer s.disp.mu.Unlock()
	s.cl.appendMu.Lock()
	defer s.cl.appendMu.Unlock()
	delete(s.nextQO, topic)
	s.disp.deleted[topic] = s.cl.end.Load()
	for cq := range s.disp.batches {
		if cq.topic == topic {
			delete(s.disp.batches, cq)
		}
	}
	return s.queues.deleteTopic(topic)
}

// Close stops the services, flushes and dispatches everything written,
// writes the checkpoint, removes the abort file and releases the lock.
// It is idempotent; later calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cl.appendMu.Lock() // wait for in-flight appends
		s.cl.appendMu.Unlock()
		close(s.stop)
		s.wg.Wait()
		err := s.finalFlush()
		if err == nil {
			if rerr := s.fs.Remove(s.path(abortFile)); rerr == nil {
				err = s.fs.SyncDir(s.opts.Dir)
			} else {
				err = rerr
			}
		}
		s.flush.failAll(ErrClosed)
		s.closeErr = errors.Join(err, s.closeFiles())
	})
	return s.closeErr
}

func (s *Store) finalFlush() error {
	if err := s.syncCommitLog(s.cl.end.Load()); err != nil {
		return err
	}
	if err := s.disp.dispatchTo(s.ConfirmedOffset()); err != nil {
		return err
	}
	return s.flushMeta()
}

func (s *Store) closeFiles() error {
	var errs []error
	if s.cl != nil {
		errs = append(errs, s.cl.close())
	}
	if s.queues != nil {
		errs = append(errs, s.queues.close())
	}
	if s.index != nil {
		errs = append(errs, s.index.close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// runMetaFlush syncs ConsumeQueues and the index and writes the checkpoint
// every MetaFlushInterval.
func (s *Store) runMetaFlush(stop <-chan struct{}) {
	tick := time.NewTicker(s.opts.MetaFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if err := s.flushMeta(); err != nil {
				s.log.Error("flush consume queues and checkpoint", "err", err)
			}
		}
	}
}

// flushMeta makes CQ and index entries durable and then records, in the
// checkpoint, the dispatched offset they cover. The offset is read before
// the flush so the checkpoint never claims more than was synced.
func (s *Store) flushMeta() error {
	dispatched := s.disp.dispatched.Load()
	logicsMs := s.disp.lastMs.Load()
	flushed := s.cl.flushed.Load()
	if err := s.queues.flush(); err != nil {
		return err
	}
	if s.index != nil {
		if err := s.index.flush(); err != nil {
			return fmt.Errorf("flush index: %w", err)
		}
	}
	cp := checkpoint{
		PhysicMsgTimestamp: s.lastStoreMs(), LogicsMsgTimestamp: logicsMs, IndexMsgTimestamp: logicsMs,
		MasterFlushedOffset: flushed, ConfirmPhyOffset: s.ConfirmedOffset(),
		FlushedOffset: flushed, DispatchedOffset: dispatched,
	}
	return s.writeCheckpoint(cp)
}

// writeCheckpoint replaces the checkpoint file with cp.
func (s *Store) writeCheckpoint(cp checkpoint) error {
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	return writeCheckpoint(s.fs, s.path(checkpointFile), cp)
}

// lastStoreMs is the newest store timestamp written.
func (s *Store) lastStoreMs() int64 {
	if seg := s.cl.lastSegment(); seg != nil {
		return seg.lastStoreMs.Load()
	}
	return 0
}

// afterAppend wakes the dispatcher and, under FlushSync, the flusher: data
// must become durable (and so visible) even if nobody calls WaitDurable,
// e.g. for WAIT=false messages.
func (s *Store) afterAppend() {
	if s.opts.FlushMode == FlushSync {
		s.flush.signal()
	}
	s.disp.signal()
}
