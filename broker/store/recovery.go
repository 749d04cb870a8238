package store

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// scanResult is where the commitlog scan stopped.
type scanResult struct {
	end    int64  // first byte that is not a valid record: the recovered log end
	dirty  bool   // the stop was on bytes that are not a clean end (zeros or EOF)
	reason string // why, when dirty
}

// recover validates the commitlog tail, cuts it at the last valid record,
// trims ConsumeQueue entries beyond what is known good, re-dispatches from
// the checkpoint, rebuilds the next queue offsets and writes a fresh
// checkpoint. See the package doc for the rules.
func (s *Store) recover() error {
	cp, hasCP, err := readCheckpoint(s.fs, s.path(checkpointFile))
	if err != nil {
		if !s.opts.Repair {
			return err
		}
		s.log.Error("ignoring unreadable checkpoint (Repair)", "err", err)
	}
	unclean, err := vfs.Exists(s.fs, s.path(abortFile))
	if err != nil {
		return fmt.Errorf("check abort file: %w", err)
	}
	if len(s.cl.segs) > 0 && !hasCP {
		s.log.Warn("commitlog without a checkpoint: every bad record will be treated as a torn tail")
	}
	flushed, dispatched := cp.FlushedOffset, cp.DispatchedOffset
	if err := s.recoverCommitLog(flushed, dispatched, hasCP); err != nil {
		return err
	}
	end := s.cl.end.Load()
	cut := max(min(dispatched, end), s.cl.minOffset())
	for _, cq := range s.queues.all() {
		if cq.suspect {
			s.log.Warn("consume queue has a gap; rebuilding consume queues from the whole log", "topic", cq.topic, "queue", cq.qid)
			cut = s.cl.minOffset()
		}
	}
	s.log.Info("recovering store", "unclean", unclean, "log_end", end, "checkpoint_flushed", flushed,
		"checkpoint_dispatched", dispatched, "redispatch_from", cut)
	for _, cq := range s.queues.all() {
		if err := trimQueue(cq, cut); err != nil {
			return err
		}
		if err := cq.correctMinOffset(s.cl.minOffset()); err != nil {
			return err
		}
	}
	s.disp.dispatched.Store(cut)
	if err := s.disp.dispatchTo(end); err != nil {
		return fmt.Errorf("re-dispatch from %d: %w", cut, err)
	}
	s.nextQO = map[string]map[int32]int64{}
	for _, cq := range s.queues.all() {
		s.setNextQOLocked(cq.topic, cq.qid, cq.maxOffset.Load())
	}
	return s.flushMeta()
}

// recoverCommitLog scans from a point known good, cuts the log at the first
// invalid record and makes the recovered log durable.
func (s *Store) recoverCommitLog(flushed, dispatched int64, hasCP bool) error {
	cl := s.cl
	if len(cl.segs) == 0 {
		if hasCP && flushed > 0 {
			if !s.opts.Repair {
				return &CorruptionErr{Segment: cl.dir, Offset: flushed, Reason: "commitlog segments are missing"}
			}
			// Do not reuse physical offsets that clients may hold.
			flushed = (flushed + cl.segSize - 1) / cl.segSize * cl.segSize
			cl.end.Store(flushed)
			cl.flushed.Store(flushed)
		}
		return nil
	}
	first, last := cl.segs[0].base, cl.segs[len(cl.segs)-1].base
	if hasCP && flushed > 0 && flushed < first {
		// Retention only removes a segment below what later ones hold, so
		// the durable end is never before the log's start: the segments
		// holding [.., flushed) are gone (a prewritten empty one remains).
		if !s.opts.Repair {
			return &CorruptionErr{Segment: cl.dir, Offset: flushed,
				Reason: fmt.Sprintf("commitlog segments are missing: the log starts at %d, after the checkpointed flushed offset", first)}
		}
		s.log.Error("commitlog segments below the checkpointed flushed offset are missing (Repair)", "flushed", flushed, "log_start", first)
		flushed = first
	}
	from := min(max(min(dispatched, flushed), first), last)
	from -= from % cl.segSize
	res, err := s.scanLog(from)
	if err != nil {
		return err
	}
	if res.end < flushed {
		cerr := &CorruptionErr{Segment: segmentName(res.end - res.end%cl.segSize), Offset: res.end,
			Reason: fmt.Sprintf("%s (below the checkpointed flushed offset %d)", res.reason, flushed)}
		if !res.dirty {
			cerr.Reason = fmt.Sprintf("log ends before the checkpointed flushed offset %d", flushed)
		}
		if !s.opts.Repair {
			return cerr
		}
		s.log.Error("repairing: truncating durable data", "err", cerr)
	} else if res.dirty {
		s.log.Warn("truncating torn commitlog tail", "offset", res.end, "reason", res.reason)
	}
	cl.appendMu.Lock()
	defer cl.appendMu.Unlock()
	cl.flushed.Store(from)
	if err := cl.cutLocked(res.end, res.dirty); err != nil {
		return fmt.Errorf("cut commitlog at %d: %w", res.end, err)
	}
	cl.end.Store(res.end)
	cl.flushed.Store(from)
	// After a kill -9 the tail may sit only in the page cache: make it durable
	// before anyone treats it as flushed.
	cl.dirDirty.Store(true)
	return cl.syncTo(res.end)
}

// scanLog validates records from from (a segment start) and returns where
// valid data ends.
func (s *Store) scanLog(from int64) (scanResult, error) {
	cl := s.cl
	buf := make([]byte, min(max(4<<20, int64(s.opts.MaxMessageSize)+message.BlankSize), cl.segSize))
	pos := from
	for {
		cl.mu.RLock()
		seg := cl.segmentAtLocked(pos)
		cl.mu.RUnlock()
		if seg == nil {
			return scanResult{end: pos}, nil
		}
		next, res, done, err := s.scanSegment(seg, pos, buf)
		if err != nil || done {
			return res, err
		}
		pos = next
	}
}

// scanSegment scans seg from pos. It returns the next segment's start when
// the segment ends with a valid END_FILE filler, else done with the result.
func (s *Store) scanSegment(seg *segment, pos int64, buf []byte) (int64, scanResult, bool, error) {
	segEnd := seg.base + s.cl.segSize
	stop := func(dirty bool, reason string) (int64, scanResult, bool, error) {
		return 0, scanResult{end: pos, dirty: dirty, reason: reason}, true, nil
	}
	for {
		n, err := seg.f.ReadAt(buf[:min(int64(len(buf)), segEnd-pos)], pos-seg.base)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, scanResult{}, false, fmt.Errorf("scan segment %d at %d: %w", seg.base, pos, err)
		}
		eof := err != nil || pos+int64(n) >= segEnd
		b := buf[:n]
		off := 0
		for {
			if len(b)-off < message.BlankSize {
				if !eof {
					break // refill from pos
				}
				if allZero(b[off:]) {
					return stop(false, "")
				}
				return stop(true, "truncated record header")
			}
			size, magic, _ := message.PeekSize(b[off:])
			if size == 0 && magic == 0 {
				return stop(false, "")
			}
			if magic == message.MagicBlank {
				if int64(size) != segEnd-pos {
					return stop(true, fmt.Sprintf("end-of-file filler of %d bytes, %d left", size, segEnd-pos))
				}
				return segEnd, scanResult{}, false, nil
			}
			if reason := s.checkRecord(b[off:], pos, segEnd, eof); reason != "" {
				if reason == needMore {
					break
				}
				return stop(true, reason)
			}
			off += int(size)
			pos += int64(size)
		}
		if off == 0 && !eof {
			return stop(true, "record larger than the scan buffer")
		}
	}
}

const needMore = "need more bytes"

// checkRecord validates the record at the start of b, found at commitlog
// offset pos; "" means valid, needMore means b holds only part of it.
func (s *Store) checkRecord(b []byte, pos, segEnd int64, eof bool) string {
	size, _, _ := message.PeekSize(b)
	if size < message.RecordOverhead || pos+int64(size)+message.BlankSize > segEnd {
		return fmt.Sprintf("bad record size %d", size)
	}
	if int(size) > len(b) {
		if eof {
			return "truncated record"
		}
		return needMore
	}
	v, err := message.ParseRecord(b[:size], true)
	switch {
	case err != nil:
		return err.Error()
	case v.PhysicalOffset != pos:
		return fmt.Sprintf("PHYSICALOFFSET %d does not match position", v.PhysicalOffset)
	case message.ValidateTopic(string(v.Topic)) != nil:
		return "invalid topic"
	case v.QueueID < 0 || v.QueueOffset < 0:
		return "negative queue id or offset"
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// trimQueue drops entries at the tail of cq that are holes or point at or
// beyond cut; they are re-created by re-dispatch if their records survived.
func trimQueue(cq *consumeQueue, cut int64) error {
	maxOff := cq.maxOffset.Load()
	idx := maxOff - 1
	for ; idx >= cq.minOffset.Load(); idx-- {
		e, ok, err := cq.entry(idx)
		if err != nil {
			return err
		}
		if ok && e.PhysicalOffset+int64(e.Size) <= cut {
			break
		}
	}
	if idx+1 < maxOff {
		return cq.truncate(idx + 1)
	}
	return nil
}
