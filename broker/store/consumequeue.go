package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

// CQEntrySize is the size of a ConsumeQueue entry. Part of the format:
// never change it.
const CQEntrySize = 20

// CQEntry is one ConsumeQueue entry: where a message of the queue lives in
// the commitlog and its tag hash (or, for SCHEDULE_TOPIC_XXXX, its delivery
// time).
type CQEntry struct {
	PhysicalOffset int64
	Size           int32
	TagsCode       int64
}

// DecodeCQEntry decodes a 20-byte entry; ok is false for a short buffer or a
// hole (size ≤ 0 or negative offset), which is what an unwritten entry reads as.
func DecodeCQEntry(b []byte) (e CQEntry, ok bool) {
	if len(b) < CQEntrySize {
		return e, false
	}
	e.PhysicalOffset = int64(binary.BigEndian.Uint64(b))
	e.Size = int32(binary.BigEndian.Uint32(b[8:]))
	e.TagsCode = int64(binary.BigEndian.Uint64(b[12:]))
	return e, e.Size > 0 && e.PhysicalOffset >= 0
}

// AppendCQEntry appends the encoding of e.
func AppendCQEntry(dst []byte, e CQEntry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.PhysicalOffset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.Size))
	return binary.BigEndian.AppendUint64(dst, uint64(e.TagsCode))
}

// consumeQueue is the index of one topic/queue: entry i (its queue offset)
// at byte i×20 of the concatenated files, each CQEntriesPerFile entries
// long and named by its start byte offset.
type consumeQueue struct {
	topic   string
	qid     int32
	dir     string
	fs      vfs.FS
	perFile int64 // entries per file

	mu        sync.RWMutex // guards files
	files     []*cqFile
	maxOffset atomic.Int64 // entries written: the next queue offset
	minOffset atomic.Int64 // first entry still backed by the commitlog
	synced    int64        // entries known durable; guarded by syncMu
	syncMu    sync.Mutex
	dirsDirty atomic.Bool // directories or files created since the last flush
	// suspect is set by load when a file other than the last is short:
	// entries after the gap cannot be trusted, so recovery rebuilds queues.
	suspect bool
}

type cqFile struct {
	start int64 // first entry index
	f     vfs.File
}

func newConsumeQueue(fsys vfs.FS, root, topic string, qid int32, perFile int) *consumeQueue {
	return &consumeQueue{
		topic: topic, qid: qid, fs: fsys, perFile: int64(perFile),
		dir: path.Join(root, topic, strconv.Itoa(int(qid))),
	}
}

func cqFileName(startEntry int64) string { return segmentName(startEntry * CQEntrySize) }

// load opens the queue's files. maxOffset is set from the last file's size;
// recovery trims invalid tail entries afterwards.
func (cq *consumeQueue) load() error {
	names, err := cq.fs.ReadDir(cq.dir)
	if err != nil {
		return fmt.Errorf("list consume queue %s/%d: %w", cq.topic, cq.qid, err)
	}
	for _, n := range names {
		off, ok := parseOffsetName(n)
		if !ok || off%(cq.perFile*CQEntrySize) != 0 {
			return &CorruptionErr{Segment: path.Join(cq.dir, n), Reason: "bad consume queue file name (was CQEntriesPerFile changed?)"}
		}
		f, err := cq.fs.OpenFile(path.Join(cq.dir, n), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open consume queue file %s: %w", n, err)
		}
		cq.files = append(cq.files, &cqFile{start: off / CQEntrySize, f: f})
	}
	if len(cq.files) == 0 {
		return nil
	}
	first, last := cq.files[0], cq.files[len(cq.files)-1]
	for i, f := range cq.files {
		st, err := f.f.Stat()
		if err != nil {
			return fmt.Errorf("stat consume queue file: %w", err)
		}
		entries := min(st.Size()/CQEntrySize, cq.perFile)
		if f == last {
			cq.maxOffset.Store(last.start + entries)
		} else if entries < cq.perFile || cq.files[i+1].start != f.start+cq.perFile {
			cq.suspect = true
		}
	}
	cq.minOffset.Store(first.start)
	cq.synced = cq.maxOffset.Load()
	return nil
}

// fileFor returns the file holding entry idx, creating it (and the queue's
// directories) when create is set.
func (cq *consumeQueue) fileFor(idx int64, create bool) (*cqFile, error) {
	start := idx - idx%cq.perFile
	cq.mu.RLock()
	i, found := slices.BinarySearchFunc(cq.files, start, func(f *cqFile, s int64) int { return int(f.start - s) })
	if found {
		f := cq.files[i]
		cq.mu.RUnlock()
		return f, nil
	}
	cq.mu.RUnlock()
	if !create {
		return nil, nil
	}
	if err := cq.fs.MkdirAll(cq.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create consume queue dir: %w", err)
	}
	f, err := cq.fs.OpenFile(path.Join(cq.dir, cqFileName(start)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create consume queue file: %w", err)
	}
	cf := &cqFile{start: start, f: f}
	cq.mu.Lock()
	i, _ = slices.BinarySearchFunc(cq.files, start, func(f *cqFile, s int64) int { return int(f.start - s) })
	cq.files = slices.Insert(cq.files, i, cf)
	cq.mu.Unlock()
	cq.dirsDirty.Store(true)
	return cf, nil
}

// write stores encoded entries starting at queue offset idx. Rewriting
// existing entries is allowed (re-dispatch is idempotent). Only the
// dispatcher and recovery call it, never concurrently.
func (cq *consumeQueue) write(idx int64, entries []byte) error {
	for len(entries) > 0 {
		f, err := cq.fileFor(idx, true)
		if err != nil {
			return err
		}
		n := min(int64(len(entries))/CQEntrySize, f.start+cq.perFile-idx)
		chunk := entries[:n*CQEntrySize]
		if _, err := f.f.WriteAt(chunk, (idx-f.start)*CQEntrySize); err != nil {
			return fmt.Errorf("write consume queue %s/%d at %d: %w", cq.topic, cq.qid, idx, err)
		}
		entries = entries[len(chunk):]
		idx += n
		if idx > cq.maxOffset.Load() {
			cq.maxOffset.Store(idx)
		}
	}
	return nil
}

// read returns up to n entries from queue offset idx (fewer at a file end
// or at maxOffset), appended to dst.
func (cq *consumeQueue) read(dst []byte, idx int64, n int) ([]byte, error) {
	maxOff := cq.maxOffset.Load()
	if idx < 0 || idx >= maxOff || n <= 0 {
		return dst, nil
	}
	f, err := cq.fileFor(idx, false)
	if err != nil || f == nil {
		return dst, err
	}
	cnt := min(int64(n), maxOff-idx, f.start+cq.perFile-idx)
	start := len(dst)
	dst = slices.Grow(dst, int(cnt*CQEntrySize))[:start+int(cnt*CQEntrySize)]
	got, err := f.f.ReadAt(dst[start:], (idx-f.start)*CQEntrySize)
	if err != nil && !errors.Is(err, io.EOF) {
		return dst[:start], fmt.Errorf("read consume queue %s/%d at %d: %w", cq.topic, cq.qid, idx, err)
	}
	clear(dst[start+got:]) // past the file's end: holes, which decode as invalid
	return dst, nil
}

// entry reads the single entry at idx.
func (cq *consumeQueue) entry(idx int64) (CQEntry, bool, error) {
	var buf [CQEntrySize]byte
	b, err := cq.read(buf[:0], idx, 1)
	if err != nil || len(b) < CQEntrySize {
		return CQEntry{}, false, err
	}
	e, ok := DecodeCQEntry(b)
	return e, ok, nil
}

// truncate drops every entry at or after idx: files wholly beyond are
// removed, the file holding idx is cut.
func (cq *consumeQueue) truncate(idx int64) error {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	var errs []error
	keep := cq.files[:0]
	for _, f := range cq.files {
		switch {
		case f.start+cq.perFile <= idx:
			keep = append(keep, f)
		case f.start < idx || (f.start == idx && len(keep) == 0):
			keep = append(keep, f)
			if err := f.f.Truncate((idx - f.start) * CQEntrySize); err != nil {
				errs = append(errs, err)
			}
		default:
			f.f.Close()
			if err := cq.fs.Remove(path.Join(cq.dir, cqFileName(f.start))); err != nil {
				errs = append(errs, err)
			}
			cq.dirsDirty.Store(true)
		}
	}
	clear(cq.files[len(keep):])
	cq.files = keep
	cq.maxOffset.Store(max(idx, cq.minOffset.Load()))
	cq.syncMu.Lock()
	cq.synced = min(cq.synced, idx)
	cq.syncMu.Unlock()
	return errors.Join(errs...)
}

// flush syncs entries written since the last flush and, when files were
// created or removed, the queue's directory and its parents up to root.
func (cq *consumeQueue) flush(root string) error {
	cq.syncMu.Lock()
	defer cq.syncMu.Unlock()
	target := cq.maxOffset.Load()
	if cq.dirsDirty.Swap(false) {
		for _, d := range []string{cq.dir, path.Dir(cq.dir), root} {
			if err := cq.fs.SyncDir(d); err != nil {
				cq.dirsDirty.Store(true)
				return fmt.Errorf("sync consume queue dir %s: %w", d, err)
			}
		}
	}
	if target <= cq.synced {
		return nil
	}
	cq.mu.RLock()
	files := slices.Clone(cq.files)
	cq.mu.RUnlock()
	for _, f := range files {
		if f.start+cq.perFile > cq.synced && f.start < target {
			if err := f.f.Sync(); err != nil {
				return fmt.Errorf("sync consume queue %s/%d: %w", cq.topic, cq.qid, err)
			}
		}
	}
	cq.synced = target
	return nil
}

// removeFilesBelow deletes whole files whose entries all point below
// minPhys and advances minOffset to the first entry at or above it.
func (cq *consumeQueue) removeFilesBelow(minPhys int64) error {
	for {
		cq.mu.RLock()
		if len(cq.files) < 2 {
			cq.mu.RUnlock()
			break
		}
		first := cq.files[0]
		cq.mu.RUnlock()
		last, ok, err := cq.entry(first.start + cq.perFile - 1)
		if err != nil || !ok || last.PhysicalOffset >= minPhys {
			break
		}
		cq.mu.Lock()
		cq.files = slices.Delete(cq.files, 0, 1)
		cq.mu.Unlock()
		first.f.Close()
		if err := cq.fs.Remove(path.Join(cq.dir, cqFileName(first.start))); err != nil {
			return fmt.Errorf("remove consume queue file: %w", err)
		}
		cq.dirsDirty.Store(true)
	}
	return cq.correctMinOffset(minPhys)
}

// correctMinOffset sets minOffset to the first entry pointing at or above
// minPhys (binary search: entries are in commitlog order).
func (cq *consumeQueue) correctMinOffset(minPhys int64) error {
	cq.mu.RLock()
	lo := int64(0)
	if len(cq.files) > 0 {
		lo = cq.files[0].start
	}
	cq.mu.RUnlock()
	lo = max(lo, cq.minOffset.Load())
	hi := cq.maxOffset.Load()
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, ok, err := cq.entry(mid)
		if err != nil {
			return err
		}
		if ok && e.PhysicalOffset >= minPhys {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	cq.minOffset.Store(lo)
	return nil
}

func (cq *consumeQueue) close() error {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	var errs []error
	for _, f := range cq.files {
		errs = append(errs, f.f.Close())
	}
	cq.files = nil
	return errors.Join(errs...)
}
