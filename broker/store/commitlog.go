package store

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// commitLog is the ordered list of segments plus the append and flush
// positions. Lock order: appendMu → syncMu → mu.
type commitLog struct {
	fs      vfs.FS
	dir     string
	segSize int64
	log     *slog.Logger

	// mu guards segs. Readers hold it shared across their file reads, so a
	// segment is never closed under a reader.
	mu   sync.RWMutex
	segs []*segment

	// appendMu serializes everything that writes segment bytes at or after
	// the end: appends, the warmer's zero-fill of the active segment,
	// truncation.
	appendMu sync.Mutex
	ready    *segment // next segment, created and zero-filled by the warmer
	blank    [message.BlankSize]byte

	syncMu   sync.Mutex   // one fdatasync pass at a time
	end      atomic.Int64 // written end: every byte below is in the page cache
	flushed  atomic.Int64 // durable end: every byte below survived an fdatasync
	dirDirty atomic.Bool  // a segment was created or removed since the last SyncDir
	// failed holds the first write or sync error that left the log in an
	// unknown state; the log refuses appends until restart.
	failed atomic.Pointer[error]
}

func newCommitLog(fsys vfs.FS, dir string, segSize int64, log *slog.Logger) *commitLog {
	return &commitLog{fs: fsys, dir: dir, segSize: segSize, log: log}
}

// load opens the existing segments and checks that they are contiguous.
// Leftover warmer files (*.tmp) are removed.
func (cl *commitLog) load() error {
	names, err := cl.fs.ReadDir(cl.dir)
	if err != nil {
		return fmt.Errorf("list commitlog: %w", err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			if err := cl.fs.Remove(path.Join(cl.dir, n)); err != nil {
				return fmt.Errorf("remove %s: %w", n, err)
			}
			continue
		}
		base, ok := parseOffsetName(n)
		if !ok {
			cl.log.Warn("ignoring unknown file in commitlog", "name", n)
			continue
		}
		if base%cl.segSize != 0 {
			return &CorruptionErr{Segment: n, Offset: base, Reason: "segment start is not a multiple of SegmentSize (was SegmentSize changed?)"}
		}
		if k := len(cl.segs); k > 0 && cl.segs[k-1].base+cl.segSize != base {
			return &CorruptionErr{Segment: n, Offset: base, Reason: fmt.Sprintf("gap after segment %d", cl.segs[k-1].base)}
		}
		s, err := openSegment(cl.fs, cl.dir, base, false)
		if err != nil {
			return err
		}
		cl.segs = append(cl.segs, s)
	}
	return nil
}

// minOffset returns the start of the oldest segment (0 for an empty log).
func (cl *commitLog) minOffset() int64 {
	cl.mu.RLock()
	defer cl.mu.RUnlock()
	if len(cl.segs) == 0 {
		return cl.end.Load()
	}
	return cl.segs[0].base
}

// segmentAtLocked returns the segment holding off; mu must be held.
func (cl *commitLog) segmentAtLocked(off int64) *segment {
	i, found := slices.BinarySearchFunc(cl.segs, off, func(s *segment, off int64) int {
		switch {
		case s.base+cl.segSize <= off:
			return -1
		case s.base > off:
			return 1
		}
		return 0
	})
	if !found {
		return nil
	}
	return cl.segs[i]
}

// read fills p from commitlog offset off. The range must lie in one segment
// and below the written end.
func (cl *commitLog) read(p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > cl.end.Load() {
		return fmt.Errorf("read commitlog at %d+%d: %w", off, len(p), ErrOffsetOutOfRange)
	}
	cl.mu.RLock()
	defer cl.mu.RUnlock()
	s := cl.segmentAtLocked(off)
	if s == nil || off+int64(len(p)) > s.base+cl.segSize {
		return fmt.Errorf("read commitlog at %d+%d: %w", off, len(p), ErrOffsetOutOfRange)
	}
	return s.readAt(p, off)
}

func (cl *commitLog) checkWritable() error {
	if e := cl.failed.Load(); e != nil {
		return fmt.Errorf("%w: commitlog failed earlier: %w", ErrServiceNotAvailable, *e)
	}
	return nil
}

func (cl *commitLog) fail(err error) {
	if cl.failed.CompareAndSwap(nil, &err) {
		cl.log.Error("commitlog is now read-only until restart", "err", err)
	}
}

// appendLocked writes buf (one or more encoded records) at the log end,
// rolling to a new segment if it does not fit with room for an END_FILE
// filler. patch is called with the chosen offset before the write, so the
// caller can fill PHYSICALOFFSET. appendMu must be held. On a failed write
// the bytes are zeroed or cut away again so no partial record stays behind.
func (cl *commitLog) appendLocked(buf []byte, patch func(phys int64)) (int64, error) {
	if err := cl.checkWritable(); err != nil {
		return 0, err
	}
	seg, phys, err := cl.reserveLocked(int64(len(buf)))
	if err != nil {
		return 0, err
	}
	if patch != nil {
		patch(phys)
	}
	hadBytes := seg.prewritten.Load()
	if err := seg.writeAt(buf, phys); err != nil {
		cl.undoLocked(seg, phys, len(buf), hadBytes)
		return 0, fmt.Errorf("%w: %w", ErrServiceNotAvailable, err)
	}
	cl.end.Store(phys + int64(len(buf)))
	return phys, nil
}

// undoLocked removes a failed write at phys: zeros over pre-written space,
// truncation where the write extended the file. If that fails too the log
// is marked failed.
func (cl *commitLog) undoLocked(seg *segment, phys int64, n int, hadBytes int64) {
	rel := phys - seg.base
	var err error
	if hadBytes >= rel+int64(n) {
		_, err = seg.f.WriteAt(make([]byte, n), rel)
	} else {
		err = seg.f.Truncate(rel)
		seg.prewritten.Store(rel)
	}
	if err != nil {
		cl.fail(fmt.Errorf("undo failed write at %d: %w", phys, err))
	}
}

// freeLocked is how many bytes the segment being written has left: a whole
// segment when the next write starts a new one.
func (cl *commitLog) freeLocked() int64 {
	end := cl.end.Load()
	seg := cl.lastSegment()
	if seg == nil || end >= seg.base+cl.segSize {
		return cl.segSize
	}
	return seg.base + cl.segSize - end
}

// reserveLocked returns the segment and offset where n bytes go, writing an
// END_FILE filler and rolling when needed.
func (cl *commitLog) reserveLocked(n int64) (*segment, int64, error) {
	end := cl.end.Load()
	seg := cl.lastSegment()
	if seg == nil || end >= seg.base+cl.segSize {
		s, err := cl.newSegmentLocked(end)
		if err != nil {
			return nil, 0, err
		}
		seg = s
	}
	pos := end - seg.base
	if pos+n+message.BlankSize <= cl.segSize {
		return seg, end, nil
	}
	blank := message.AppendBlank(cl.blank[:0], int32(cl.segSize-pos))
	if err := seg.writeAt(blank, end); err != nil {
		return nil, 0, fmt.Errorf("%w: write end-of-file filler: %w", ErrServiceNotAvailable, err)
	}
	next := seg.base + cl.segSize
	cl.end.Store(next)
	s, err := cl.newSegmentLocked(next)
	if err != nil {
		return nil, 0, err
	}
	return s, next, nil
}

func (cl *commitLog) lastSegment() *segment {
	cl.mu.RLock()
	defer cl.mu.RUnlock()
	if len(cl.segs) == 0 {
		return nil
	}
	return cl.segs[len(cl.segs)-1]
}

// newSegmentLocked adds the segment starting at base, taking the warmer's
// prepared one when it matches.
func (cl *commitLog) newSegmentLocked(base int64) (*segment, error) {
	if base%cl.segSize != 0 {
		return nil, fmt.Errorf("new segment at %d: not segment-aligned", base)
	}
	s := cl.ready
	cl.ready = nil
	if s != nil && s.base != base {
		cl.discardReady(s)
		s = nil
	}
	if s == nil {
		var err error
		if s, err = openSegment(cl.fs, cl.dir, base, true); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrServiceNotAvailable, err)
		}
		cl.dirDirty.Store(true)
	}
	cl.mu.Lock()
	cl.segs = append(cl.segs, s)
	cl.mu.Unlock()
	return s, nil
}

func (cl *commitLog) discardReady(s *segment) {
	s.f.Close()
	if err := cl.fs.Remove(s.name); err != nil {
		cl.log.Warn("remove unused prepared segment", "name", s.name, "err", err)
	}
	cl.dirDirty.Store(true)
}

// syncTo makes every byte below target durable (target ≤ end). It syncs the
// directory first when segments were created, then each segment with
// unsynced bytes. A failure marks the log failed: after a failed fdatasync
// the page cache can no longer be trusted.
func (cl *commitLog) syncTo(target int64) error {
	cl.syncMu.Lock()
	defer cl.syncMu.Unlock()
	from := cl.flushed.Load()
	if target <= from {
		return nil
	}
	// Once an fdatasync failed, a later one that succeeds proves nothing
	// about the pages the failed one dropped: never advance again.
	if err := cl.checkWritable(); err != nil {
		return err
	}
	if cl.dirDirty.Swap(false) {
		if err := cl.fs.SyncDir(cl.dir); err != nil {
			cl.dirDirty.Store(true)
			err = fmt.Errorf("sync commitlog dir: %w", err)
			cl.fail(err)
			return err
		}
	}
	for _, s := range cl.segmentsOverlapping(from, target) {
		if err := s.f.Sync(); err != nil {
			err = fmt.Errorf("sync segment %d: %w", s.base, err)
			cl.fail(err)
			return err
		}
	}
	cl.flushed.Store(target)
	return nil
}

// segmentsOverlapping returns the segments holding bytes in [from, to).
func (cl *commitLog) segmentsOverlapping(from, to int64) []*segment {
	cl.mu.RLock()
	defer cl.mu.RUnlock()
	var out []*segment
	for _, s := range cl.segs {
		if s.base < to && s.base+cl.segSize > from {
			out = append(out, s)
		}
	}
	return out
}

// cutLocked cuts the log at off: later segments are removed, the one
// holding off is truncated to it when cutFile is set (a zero tail may stay:
// it reads as the end of data), and end and flushed move to off. The caller
// holds appendMu and nothing may read beyond off concurrently.
func (cl *commitLog) cutLocked(off int64, cutFile bool) error {
	cl.syncMu.Lock()
	defer cl.syncMu.Unlock()
	if cl.ready != nil {
		cl.discardReady(cl.ready)
		cl.ready = nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	keep := cl.segs[:0]
	var errs []error
	for i, s := range cl.segs {
		switch {
		case s.base < off || (s.base == off && i == 0):
			keep = append(keep, s)
			if rel := off - s.base; cutFile && rel < cl.segSize {
				if err := s.f.Truncate(rel); err != nil {
					errs = append(errs, fmt.Errorf("truncate segment %d: %w", s.base, err))
				} else if err := s.f.Sync(); err != nil {
					errs = append(errs, fmt.Errorf("sync segment %d: %w", s.base, err))
				}
				s.prewritten.Store(min(s.prewritten.Load(), rel))
			}
		default:
			s.f.Close()
			if err := cl.fs.Remove(s.name); err != nil {
				errs = append(errs, fmt.Errorf("remove segment %d: %w", s.base, err))
			}
			cl.dirDirty.Store(true)
		}
	}
	clear(cl.segs[len(keep):])
	cl.segs = keep
	if cl.dirDirty.Swap(false) {
		if err := cl.fs.SyncDir(cl.dir); err != nil {
			errs = append(errs, fmt.Errorf("sync commitlog dir: %w", err))
		}
	}
	cl.end.Store(off)
	cl.flushed.Store(min(cl.flushed.Load(), off))
	return errors.Join(errs...)
}

// removeOldest deletes the oldest segment if it is not the last one. It
// returns the new minimum offset.
func (cl *commitLog) removeOldest() (*segment, error) {
	// syncMu first: a concurrent syncTo holds segments it listed and
	// fdatasyncs them outside mu; closing one under it fails the whole
	// log with EBADF.
	cl.syncMu.Lock()
	defer cl.syncMu.Unlock()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.segs) < 2 {
		return nil, nil
	}
	s := cl.segs[0]
	cl.segs = slices.Delete(cl.segs, 0, 1)
	s.f.Close()
	if err := cl.fs.Remove(s.name); err != nil {
		return s, fmt.Errorf("remove segment %d: %w", s.base, err)
	}
	if err := cl.fs.SyncDir(cl.dir); err != nil {
		return s, fmt.Errorf("sync commitlog dir: %w", err)
	}
	return s, nil
}

// close closes every segment file.
func (cl *commitLog) close() error {
	cl.appendMu.Lock()
	defer cl.appendMu.Unlock()
	cl.syncMu.Lock() // as removeOldest: no fdatasync in flight on a closing file
	defer cl.syncMu.Unlock()
	if cl.ready != nil {
		cl.ready.f.Close()
		cl.ready = nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var errs []error
	for _, s := range cl.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	cl.segs = nil
	return errors.Join(errs...)
}
