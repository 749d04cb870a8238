package store

import (
	"fmt"
)

// ReadCommitLog returns up to max raw commitlog bytes from offset, never
// crossing a segment end or the written end (for master→slave transfer).
// An END_FILE filler is returned like any other bytes.
func (s *Store) ReadCommitLog(offset int64, max int) ([]byte, error) {
	end := s.cl.end.Load()
	if offset < s.cl.minOffset() || offset > end {
		return nil, fmt.Errorf("read commitlog at %d: %w", offset, ErrOffsetOutOfRange)
	}
	segEnd := (offset/s.cl.segSize + 1) * s.cl.segSize
	n := min(int64(max), end-offset, segEnd-offset)
	if n <= 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if err := s.cl.read(b, offset); err != nil {
		return nil, err
	}
	return b, nil
}

// AppendRaw appends bytes copied from a master's commitlog at offset, which
// must equal MaxPhysicalOffset. data may end inside a record; the
// dispatcher indexes records once they are complete.
func (s *Store) AppendRaw(offset int64, data []byte) error {
	cl := s.cl
	cl.appendMu.Lock()
	defer cl.appendMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if err := cl.checkWritable(); err != nil {
		return err
	}
	if end := cl.end.Load(); offset != end {
		return fmt.Errorf("append raw at %d, log ends at %d: %w", offset, end, ErrOffsetOutOfRange)
	}
	for len(data) > 0 {
		end := cl.end.Load()
		seg := cl.lastSegment()
		if seg == nil || end >= seg.base+cl.segSize {
			var err error
			if seg, err = cl.newSegmentLocked(end); err != nil {
				return err
			}
		}
		n := min(int64(len(data)), seg.base+cl.segSize-end)
		had := seg.prewritten.Load()
		if err := seg.writeAt(data[:n], end); err != nil {
			cl.undoLocked(seg, end, int(n), had)
			return fmt.Errorf("%w: %w", ErrServiceNotAvailable, err)
		}
		cl.end.Store(end + n)
		data = data[n:]
	}
	s.afterAppend()
	return nil
}

// TruncateTo cuts the commitlog at offset, a record boundary at or above
// MinPhysicalOffset (a slave dropping a divergent tail). ConsumeQueue
// entries beyond it are removed, queue offsets rewound, and a checkpoint is
// written at once so recovery never expects the removed bytes.
func (s *Store) TruncateTo(offset int64) error {
	cl := s.cl
	s.disp.mu.Lock()
	defer s.disp.mu.Unlock()
	cl.appendMu.Lock()
	defer cl.appendMu.Unlock()
	if offset < cl.minOffset() || offset > cl.end.Load() {
		return fmt.Errorf("truncate to %d: %w", offset, ErrOffsetOutOfRange)
	}
	if err := cl.cutLocked(offset, true); err != nil {
		return fmt.Errorf("truncate to %d: %w", offset, err)
	}
	for _, cq := range s.queues.all() {
		if err := trimQueue(cq, offset); err != nil {
			return err
		}
		s.setNextQOLocked(cq.topic, cq.qid, cq.maxOffset.Load())
	}
	if s.disp.dispatched.Load() > offset {
		s.disp.dispatched.Store(offset)
	}
	return s.flushMeta()
}
