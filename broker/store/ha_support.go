package store

import "fmt"

// This file holds what master→slave replication (broker/ha) needs beyond
// ReadCommitLog, AppendRaw and TruncateTo.

// SegmentSize is the commitlog segment size the store was opened with. A
// slave must use its master's: replicated bytes carry the master's END_FILE
// fillers, so segment boundaries must line up.
func (s *Store) SegmentSize() int64 { return s.cl.segSize }

// ReadCommitLogInto is ReadCommitLog into the caller's buffer: it reads up
// to len(dst) bytes from offset, never crossing a segment end or the
// written end, and returns how many it read (0 at the end). It lets a
// replication sender reuse one buffer instead of allocating per read.
func (s *Store) ReadCommitLogInto(dst []byte, offset int64) (int, error) {
	end := s.cl.end.Load()
	if offset < s.cl.minOffset() || offset > end {
		return 0, fmt.Errorf("read commitlog at %d: %w", offset, ErrOffsetOutOfRange)
	}
	segEnd := (offset/s.cl.segSize + 1) * s.cl.segSize
	n := min(int64(len(dst)), end-offset, segEnd-offset)
	if n <= 0 {
		return 0, nil
	}
	if err := s.cl.read(dst[:n], offset); err != nil {
		return 0, err
	}
	return int(n), nil
}

// TruncateReplica is TruncateTo made crash-safe for a replica: before the
// cut it persists a checkpoint whose flushed and dispatched offsets are at
// most offset. TruncateTo alone writes its checkpoint only after cutting
// the files, so a crash in between leaves a checkpoint claiming durable
// bytes beyond the log end, which Open reports as *CorruptionErr (the
// failure mode of RocketMQ #10666). A crash after this checkpoint and
// before or during the cut recovers either the old log (re-dispatching
// from offset) or the cut one; both are valid.
//
// Residual window, not closable from here: a periodic meta flush that read
// the old offsets before this call and writes its checkpoint after the cut
// (one MetaFlushInterval at most); see the broker/ha package doc.
func (s *Store) TruncateReplica(offset int64) error {
	if err := s.lowerCheckpoint(offset); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	return s.TruncateTo(offset)
}

// lowerCheckpoint writes a checkpoint that claims nothing at or beyond
// offset.
func (s *Store) lowerCheckpoint(offset int64) error {
	s.disp.mu.Lock()
	defer s.disp.mu.Unlock()
	s.cl.appendMu.Lock()
	defer s.cl.appendMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if offset < s.cl.minOffset() || offset > s.cl.end.Load() {
		return ErrOffsetOutOfRange
	}
	cp := checkpoint{
		PhysicMsgTimestamp: s.lastStoreMs(), LogicsMsgTimestamp: s.disp.lastMs.Load(), IndexMsgTimestamp: s.disp.lastMs.Load(),
		FlushedOffset:    min(s.cl.flushed.Load(), offset),
		DispatchedOffset: min(s.disp.dispatched.Load(), offset),
	}
	cp.MasterFlushedOffset, cp.ConfirmPhyOffset = cp.FlushedOffset, cp.FlushedOffset
	return s.writeCheckpoint(cp)
}

// ResetTo discards the whole commitlog, every ConsumeQueue and the queue
// offsets, and restarts the empty log at offset, which must be a multiple
// of SegmentSize (a master's MinPhysicalOffset always is). A slave calls it
// when its master no longer holds the slave's next offset (retention
// deleted it) or when nothing the slave holds is common with the master.
// AppendRaw then continues at offset. Index files stay; index lookups are
// verified against the records.
//
// ConsumeQueues are re-created by dispatch at the queue offsets carried in
// the records, so a queue's entries below its first replicated message are
// holes (GetMessages skips them; the next Open moves MinOffset past them).
//
// Crash safety: a checkpoint claiming nothing is written first, segments
// are removed oldest first (what is left stays contiguous and starts at a
// record), and the empty segment at offset is created and its directory
// synced before the final checkpoint. A crash at any point reopens either
// the old log (or a suffix of it) or the empty one at offset; the
// replication handshake then decides again.
func (s *Store) ResetTo(offset int64) error {
	cl := s.cl
	if offset < 0 || offset%cl.segSize != 0 {
		return fmt.Errorf("reset to %d: not a multiple of the segment size %d: %w", offset, cl.segSize, ErrOffsetOutOfRange)
	}
	s.disp.mu.Lock()
	defer s.disp.mu.Unlock()
	cl.appendMu.Lock()
	defer cl.appendMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if err := cl.checkWritable(); err != nil {
		return err
	}
	if cl.end.Load() == offset && cl.minOffset() == offset && len(s.queues.all()) == 0 {
		return nil
	}
	if err := s.writeCheckpoint(checkpoint{}); err != nil {
		return fmt.Errorf("reset to %d: %w", offset, err)
	}
	for topic := range s.Topics() {
		if err := s.queues.deleteTopic(topic); err != nil {
			return fmt.Errorf("reset to %d: %w", offset, err)
		}
	}
	clear(s.nextQO)
	clear(s.disp.batches)
	clear(s.disp.deleted)
	s.disp.touched = s.disp.touched[:0]
	if err := cl.removeAllLocked(); err != nil {
		return fmt.Errorf("reset to %d: %w", offset, err)
	}
	if _, err := cl.newSegmentLocked(offset); err != nil {
		return fmt.Errorf("reset to %d: %w", offset, err)
	}
	if err := cl.fs.SyncDir(cl.dir); err != nil {
		cl.fail(fmt.Errorf("sync commitlog dir: %w", err))
		return fmt.Errorf("reset to %d: %w", offset, err)
	}
	cl.dirDirty.Store(false)
	cl.end.Store(offset)
	cl.flushed.Store(offset)
	s.disp.dispatched.Store(offset)
	if s.index != nil {
		if err := s.index.removeBelow(offset); err != nil {
			s.log.Warn("reset: remove old index files", "err", err)
		}
	}
	s.log.Info("commitlog reset", "offset", offset)
	return s.flushMeta()
}

// removeAllLocked deletes every segment, oldest first, and the prepared
// next one. appendMu must be held. A failure leaves the remaining
// segments in place and marks the log failed.
func (cl *commitLog) removeAllLocked() error {
	cl.syncMu.Lock()
	defer cl.syncMu.Unlock()
	if cl.ready != nil {
		cl.discardReady(cl.ready)
		cl.ready = nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for i, sg := range cl.segs {
		if err := cl.fs.Remove(sg.name); err != nil {
			cl.segs = cl.segs[i:]
			err = fmt.Errorf("remove segment %d: %w", sg.base, err)
			cl.fail(err)
			return err
		}
		sg.f.Close()
	}
	cl.segs = nil
	if err := cl.fs.SyncDir(cl.dir); err != nil {
		err = fmt.Errorf("sync commitlog dir: %w", err)
		cl.fail(err)
		return err
	}
	return nil
}
