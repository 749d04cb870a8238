package ha

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/fsutil"
)

// EpochEntry says that the commitlog records from StartOffset up to the next
// entry's StartOffset (or the log end) were written by the master of Epoch.
type EpochEntry struct {
	Epoch       int64
	StartOffset int64
}

// Epoch file layout (big-endian). Part of the format: never change these
// constants.
const (
	epochMagic      = uint32(0x534C4550) // "SLEP"
	epochVersion    = uint16(1)
	epochHeaderSize = 12 // magic u32 | version u16 | reserved u16 | count u32
	epochEntrySize  = 16 // epoch i64 | startOffset i64
	epochCRCSize    = 4  // CRC-32C of everything before it
)

// MaxEpochEntries bounds an epoch file and a handshake's entry list. When an
// Append would exceed it the oldest entry is dropped: divergence only needs
// recent epochs, and a slave whose common epoch was dropped resyncs fully.
const MaxEpochEntries = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EpochFile is the persistent list of epochs and where each starts in the
// commitlog (Kafka's leader-epoch checkpoint, RocketMQ's EpochFile). It is
// safe for concurrent use; every change replaces the file atomically
// (tmp → fsync → rename → directory fsync).
type EpochFile struct {
	path    string
	mu      sync.Mutex                   // serializes changes
	entries atomic.Pointer[[]EpochEntry] // immutable snapshot
}

// OpenEpochFile loads path, or starts an empty list when it does not exist
// (the file is created by the first change). A file that does not decode
// fails with ErrCorruptEpochFile: it is never silently reset, since
// forgetting epochs could keep a divergent tail.
func OpenEpochFile(path string) (*EpochFile, error) {
	f := &EpochFile{path: path}
	removeStaleTemps(path)
	b, err := os.ReadFile(path)
	var entries []EpochEntry
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read epoch file: %w", err)
	default:
		if entries, err = decodeEpochFile(b); err != nil {
			return nil, fmt.Errorf("epoch file %s: %w", path, err)
		}
	}
	f.entries.Store(&entries)
	return f, nil
}

// removeStaleTemps deletes temporaries a crash left behind by
// fsutil.WriteFileAtomic (path.tmp*).
func removeStaleTemps(path string) {
	tmps, _ := filepath.Glob(path + ".tmp*")
	for _, t := range tmps {
		os.Remove(t)
	}
}

// Path is the file's location.
func (f *EpochFile) Path() string { return f.path }

// snapshot returns the current entries; callers must not modify them.
func (f *EpochFile) snapshot() []EpochEntry { return *f.entries.Load() }

// Entries returns a copy of the entries, oldest first.
func (f *EpochFile) Entries() []EpochEntry { return slices.Clone(f.snapshot()) }

// Last returns the newest entry; ok is false when there is none.
func (f *EpochFile) Last() (e EpochEntry, ok bool) {
	es := f.snapshot()
	if len(es) == 0 {
		return EpochEntry{}, false
	}
	return es[len(es)-1], true
}

// Append adds e after the newest entry and persists the list before
// returning. e.Epoch must be above the newest epoch and e.StartOffset at or
// above its start offset.
func (f *EpochFile) Append(e EpochEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.snapshot()
	next := append(slices.Clip(old), e)
	if err := validateEntries(next); err != nil {
		return fmt.Errorf("append epoch %d at %d: %w", e.Epoch, e.StartOffset, err)
	}
	if len(next) > MaxEpochEntries {
		next = next[len(next)-MaxEpochEntries:]
	}
	return f.replaceLocked(next)
}

// TruncateAfter drops every entry whose StartOffset is at or after offset:
// such an epoch owns no byte below a log cut at offset. A slave calls it
// after cutting its log (store.TruncateReplica / ResetTo) and never the other
// way round; see the package doc, "Crash safety".
func (f *EpochFile) TruncateAfter(offset int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.snapshot()
	i := sort.Search(len(old), func(i int) bool { return old[i].StartOffset >= offset })
	if i == len(old) {
		return nil
	}
	return f.replaceLocked(slices.Clone(old[:i]))
}

// EndOffset returns where the records of epoch end in a log that ends at
// logEnd: the StartOffset of the first entry with a higher epoch, or logEnd
// when there is none, never beyond logEnd. For an epoch older than every
// entry (epoch 0: data written before the first term) that is the first
// entry's start.
func (f *EpochFile) EndOffset(epoch, logEnd int64) int64 {
	return endOffset(f.snapshot(), epoch, logEnd)
}

func endOffset(es []EpochEntry, epoch, logEnd int64) int64 {
	i := sort.Search(len(es), func(i int) bool { return es[i].Epoch > epoch })
	if i == len(es) {
		return logEnd
	}
	return min(es[i].StartOffset, logEnd)
}

// epochAt returns the epoch that wrote offset off, its start, and where the
// next epoch starts (MaxInt64 if none). Offsets before the first entry
// belong to epoch 0, which starts at 0.
func epochAt(es []EpochEntry, off int64) (epoch, start, next int64) {
	i := sort.Search(len(es), func(i int) bool { return es[i].StartOffset > off })
	next = int64(1<<63 - 1)
	if i < len(es) {
		next = es[i].StartOffset
	}
	if i == 0 {
		return 0, 0, next
	}
	return es[i-1].Epoch, es[i-1].StartOffset, next
}

// StartTerm begins a new master term at logEnd (the store's
// MaxPhysicalOffset, before any write of the term): the new epoch is the
// newest epoch ever recorded plus one and is persisted before StartTerm
// returns. Entries starting beyond logEnd (left by an interrupted slave
// truncation) are dropped, but their epochs are never reused.
func (f *EpochFile) StartTerm(logEnd int64) (EpochEntry, error) {
	if logEnd < 0 {
		return EpochEntry{}, fmt.Errorf("start term at %d: negative offset", logEnd)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.snapshot()
	e := EpochEntry{Epoch: 1, StartOffset: logEnd}
	if n := len(old); n > 0 {
		e.Epoch = old[n-1].Epoch + 1
	}
	i := sort.Search(len(old), func(i int) bool { return old[i].StartOffset > logEnd })
	next := append(slices.Clone(old[:i]), e)
	if len(next) > MaxEpochEntries {
		next = next[len(next)-MaxEpochEntries:]
	}
	if err := f.replaceLocked(next); err != nil {
		return EpochEntry{}, fmt.Errorf("start term %d: %w", e.Epoch, err)
	}
	return e, nil
}

// replaceLocked persists entries and then publishes them.
func (f *EpochFile) replaceLocked(entries []EpochEntry) error {
	if err := fsutil.WriteFileAtomic(f.path, encodeEpochFile(entries), 0o644); err != nil {
		return fmt.Errorf("write epoch file: %w", err)
	}
	f.entries.Store(&entries)
	return nil
}

func encodeEpochFile(es []EpochEntry) []byte {
	b := make([]byte, 0, epochHeaderSize+len(es)*epochEntrySize+epochCRCSize)
	b = binary.BigEndian.AppendUint32(b, epochMagic)
	b = binary.BigEndian.AppendUint16(b, epochVersion)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	b = appendEntries(b, es)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func appendEntries(b []byte, es []EpochEntry) []byte {
	for _, e := range es {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.StartOffset))
	}
	return b
}

// decodeEpochFile parses an epoch file; it never panics. Errors wrap
// ErrCorruptEpochFile.
func decodeEpochFile(b []byte) ([]EpochEntry, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorruptEpochFile, fmt.Sprintf(format, args...))
	}
	be := binary.BigEndian
	if len(b) < epochHeaderSize+epochCRCSize {
		return nil, corrupt("%d bytes is shorter than a header", len(b))
	}
	if m := be.Uint32(b); m != epochMagic {
		return nil, corrupt("bad magic %#x", m)
	}
	if v := be.Uint16(b[4:]); v != epochVersion {
		return nil, corrupt("unknown version %d", v)
	}
	n := be.Uint32(b[8:])
	if n > MaxEpochEntries {
		return nil, corrupt("%d entries exceeds %d", n, MaxEpochEntries)
	}
	if want := epochHeaderSize + int(n)*epochEntrySize + epochCRCSize; len(b) != want {
		return nil, corrupt("%d bytes, %d entries need %d", len(b), n, want)
	}
	body := b[:len(b)-epochCRCSize]
	if crc32.Checksum(body, castagnoli) != be.Uint32(b[len(body):]) {
		return nil, corrupt("crc mismatch")
	}
	es := decodeEntries(body[epochHeaderSize:], int(n))
	if err := validateEntries(es); err != nil {
		return nil, corrupt("%v", err)
	}
	return es, nil
}

// decodeEntries reads n entries from b, which must hold them.
func decodeEntries(b []byte, n int) []EpochEntry {
	es := make([]EpochEntry, n)
	for i := range es {
		es[i].Epoch = int64(binary.BigEndian.Uint64(b[i*epochEntrySize:]))
		es[i].StartOffset = int64(binary.BigEndian.Uint64(b[i*epochEntrySize+8:]))
	}
	return es
}

// validateEntries checks the list invariants: epochs ≥ 1 and strictly
// increasing, start offsets ≥ 0 and non-decreasing.
func validateEntries(es []EpochEntry) error {
	for i, e := range es {
		switch {
		case e.Epoch < 1:
			return fmt.Errorf("entry %d: epoch %d is not positive", i, e.Epoch)
		case e.StartOffset < 0:
			return fmt.Errorf("entry %d: negative start offset %d", i, e.StartOffset)
		case i > 0 && e.Epoch <= es[i-1].Epoch:
			return fmt.Errorf("entry %d: epoch %d does not increase on %d", i, e.Epoch, es[i-1].Epoch)
		case i > 0 && e.StartOffset < es[i-1].StartOffset:
			return fmt.Errorf("entry %d: start %d is below the previous start %d", i, e.StartOffset, es[i-1].StartOffset)
		}
	}
	return nil
}
