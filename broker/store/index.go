package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// Index file layout (RocketMQ IndexFile). Part of the format: never change.
const (
	indexHeaderSize = 40 // beginTs, endTs, beginPhy, endPhy i64; slotCount, indexCount i32
	indexSlotSize   = 4
	indexEntrySize  = 20 // keyHash i32, phyOffset i64, timeDiff (s) i32, prevIndex i32
	slotsPerPage    = 1024
)

// indexFile is one hash index. The active file keeps its slot table in
// memory and buffers new entries; flush writes them out. Sealed files are
// read from disk.
type indexFile struct {
	name     string
	f        vfs.File
	slots    int
	maxCount int

	beginTs, endTs, beginPhy, endPhy int64
	count                            int32 // next entry index; entry 0 is unused

	slotTable []int32  // active file only
	dirty     []uint64 // bitmap of slot pages changed since the last flush
	written   int32    // entries [1, written) are in the file
	pending   []byte   // entries [written, count)
}

func (x *indexFile) fileSize() int64 {
	return indexHeaderSize + int64(x.slots)*indexSlotSize + int64(x.maxCount)*indexEntrySize
}

func (x *indexFile) entryOffset(i int32) int64 {
	return indexHeaderSize + int64(x.slots)*indexSlotSize + int64(i)*indexEntrySize
}

// index is the key index: "topic#key" → commitlog offsets, over a list of
// index files, newest last.
type index struct {
	fs       vfs.FS
	dir      string
	slots    int
	maxCount int
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	files   []*indexFile
	scratch []byte
}

func newIndex(fsys vfs.FS, dir string, slots, maxCount int, now func() time.Time, log *slog.Logger) *index {
	return &index{fs: fsys, dir: dir, slots: slots, maxCount: maxCount, now: now, log: log}
}

// load opens existing index files; the newest becomes active again.
func (ix *index) load() error {
	names, err := ix.fs.ReadDir(ix.dir)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	for _, n := range names {
		if len(n) != 17 {
			continue
		}
		f, err := ix.fs.OpenFile(path.Join(ix.dir, n), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open index file %s: %w", n, err)
		}
		x := &indexFile{name: n, f: f}
		if err := x.readHeader(); err != nil {
			f.Close()
			ix.log.Warn("dropping unreadable index file", "name", n, "err", err)
			ix.fs.Remove(path.Join(ix.dir, n))
			continue
		}
		ix.files = append(ix.files, x)
	}
	if len(ix.files) > 0 {
		return ix.files[len(ix.files)-1].activate()
	}
	return nil
}

func (x *indexFile) readHeader() error {
	var h [indexHeaderSize]byte
	if _, err := x.f.ReadAt(h[:], 0); err != nil {
		return err
	}
	be := binary.BigEndian
	x.beginTs, x.endTs = int64(be.Uint64(h[0:])), int64(be.Uint64(h[8:]))
	x.beginPhy, x.endPhy = int64(be.Uint64(h[16:])), int64(be.Uint64(h[24:]))
	x.slots, x.count = int(int32(be.Uint32(h[32:]))), int32(be.Uint32(h[36:]))
	st, err := x.f.Stat()
	if err != nil {
		return err
	}
	if x.slots <= 0 || x.count < 1 || st.Size() < indexHeaderSize+int64(x.slots)*indexSlotSize {
		return fmt.Errorf("bad header: slots %d count %d size %d", x.slots, x.count, st.Size())
	}
	x.maxCount = int((st.Size() - indexHeaderSize - int64(x.slots)*indexSlotSize) / indexEntrySize)
	x.count = min(x.count, int32(x.maxCount))
	x.written = x.count
	return nil
}

// activate loads the slot table so the file can take new entries.
func (x *indexFile) activate() error {
	raw := make([]byte, x.slots*indexSlotSize)
	if _, err := x.f.ReadAt(raw, indexHeaderSize); err != nil {
		return fmt.Errorf("read index slots of %s: %w", x.name, err)
	}
	x.slotTable = make([]int32, x.slots)
	for i := range x.slotTable {
		x.slotTable[i] = int32(binary.BigEndian.Uint32(raw[i*4:]))
	}
	x.dirty = make([]uint64, (x.slots/slotsPerPage+64)/64)
	return nil
}

func keySlot(hash int32, slots int) int {
	if hash < 0 {
		hash = -hash
	}
	if hash < 0 { // MinInt32
		hash = 0
	}
	return int(hash) % slots
}

// addRecord indexes topic#UNIQ_KEY and topic#<each KEYS token> of v.
func (ix *index) addRecord(v *message.RecordView) {
	uniq, hasUniq := message.LookupProperty(v.Properties, message.PropertyUniqKey)
	keys, hasKeys := message.LookupProperty(v.Properties, message.PropertyKeys)
	if !hasUniq && !hasKeys {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if hasUniq && len(uniq) > 0 {
		ix.addLocked(v.Topic, uniq, v.PhysicalOffset, v.StoreTimestamp)
	}
	for len(keys) > 0 {
		k := keys
		if i := bytes.IndexByte(keys, ' '); i >= 0 {
			k, keys = keys[:i], keys[i+1:]
		} else {
			keys = nil
		}
		if len(k) > 0 {
			ix.addLocked(v.Topic, k, v.PhysicalOffset, v.StoreTimestamp)
		}
	}
}

func keyHash(topic, key []byte) int32 {
	h := message.JavaHashBytes(0, topic)
	h = 31*h + '#'
	return message.JavaHashBytes(h, key)
}

func (ix *index) addLocked(topic, key []byte, phys, storeMs int64) {
	x, err := ix.activeLocked()
	if err != nil {
		ix.log.Error("index unavailable", "err", err)
		return
	}
	h := keyHash(topic, key)
	slot := keySlot(h, x.slots)
	if x.count == 1 {
		x.beginTs, x.beginPhy = storeMs, phys
	}
	prev := x.slotTable[slot]
	if prev <= 0 || prev >= x.count {
		prev = 0
	}
	diff := (storeMs - x.beginTs) / 1000
	be := binary.BigEndian
	x.pending = be.AppendUint32(x.pending, uint32(h))
	x.pending = be.AppendUint64(x.pending, uint64(phys))
	x.pending = be.AppendUint32(x.pending, uint32(int32(max(diff, 0))))
	x.pending = be.AppendUint32(x.pending, uint32(prev))
	x.slotTable[slot] = x.count
	page := slot / slotsPerPage
	x.dirty[page/64] |= 1 << (page % 64)
	x.count++
	x.endTs, x.endPhy = max(x.endTs, storeMs), max(x.endPhy, phys)
	if len(x.pending) >= 64<<10 {
		if err := x.writePending(); err != nil {
			ix.log.Error("write index entries", "err", err)
		}
	}
}

// activeLocked returns a file with room, sealing a full one and creating a new one.
func (ix *index) activeLocked() (*indexFile, error) {
	if n := len(ix.files); n > 0 {
		x := ix.files[n-1]
		if int(x.count) < x.maxCount {
			return x, nil
		}
		if err := x.flush(); err != nil {
			return nil, err
		}
		x.slotTable, x.dirty = nil, nil
	}
	name := ix.now().Format("20060102150405.000")
	name = name[:14] + name[15:]
	for slices.ContainsFunc(ix.files, func(f *indexFile) bool { return f.name >= name }) {
		name = fmt.Sprintf("%017d", mustAtoi(ix.files[len(ix.files)-1].name)+1)
	}
	f, err := ix.fs.OpenFile(path.Join(ix.dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create index file: %w", err)
	}
	x := &indexFile{name: name, f: f, slots: ix.slots, maxCount: ix.maxCount, count: 1, written: 1}
	if err := f.Truncate(x.fileSize()); err != nil {
		f.Close()
		return nil, fmt.Errorf("size index file: %w", err)
	}
	x.slotTable = make([]int32, x.slots)
	x.dirty = make([]uint64, (x.slots/slotsPerPage+64)/64)
	ix.files = append(ix.files, x)
	if err := ix.fs.SyncDir(ix.dir); err != nil {
		return nil, fmt.Errorf("sync index dir: %w", err)
	}
	return x, nil
}

func mustAtoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

func (x *indexFile) writePending() error {
	if len(x.pending) == 0 {
		return nil
	}
	if _, err := x.f.WriteAt(x.pending, x.entryOffset(x.written)); err != nil {
		return err
	}
	x.written += int32(len(x.pending) / indexEntrySize)
	x.pending = x.pending[:0]
	return nil
}

// flush writes pending entries, dirty slot pages and the header, then syncs.
func (x *indexFile) flush() error {
	if err := x.writePending(); err != nil {
		return fmt.Errorf("write index entries: %w", err)
	}
	var page [slotsPerPage * indexSlotSize]byte
	for w, bits := range x.dirty {
		for ; bits != 0; bits &= bits - 1 {
			p := w*64 + trailingZeros(bits)
			lo, hi := p*slotsPerPage, min((p+1)*slotsPerPage, x.slots)
			for i := lo; i < hi; i++ {
				binary.BigEndian.PutUint32(page[(i-lo)*4:], uint32(x.slotTable[i]))
			}
			if _, err := x.f.WriteAt(page[:(hi-lo)*4], indexHeaderSize+int64(lo)*indexSlotSize); err != nil {
				return fmt.Errorf("write index slots: %w", err)
			}
		}
		x.dirty[w] = 0
	}
	var h [indexHeaderSize]byte
	be := binary.BigEndian
	be.PutUint64(h[0:], uint64(x.beginTs))
	be.PutUint64(h[8:], uint64(x.endTs))
	be.PutUint64(h[16:], uint64(x.beginPhy))
	be.PutUint64(h[24:], uint64(x.endPhy))
	be.PutUint32(h[32:], uint32(x.slots))
	be.PutUint32(h[36:], uint32(x.count))
	if _, err := x.f.WriteAt(h[:], 0); err != nil {
		return fmt.Errorf("write index header: %w", err)
	}
	return x.f.Sync()
}

func trailingZeros(v uint64) int {
	n := 0
	for v&1 == 0 {
		v >>= 1
		n++
	}
	return n
}

// flush makes the active file durable.
func (ix *index) flush() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n := len(ix.files); n > 0 && ix.files[n-1].slotTable != nil {
		return ix.files[n-1].flush()
	}
	return nil
}

// query returns up to max commitlog offsets whose key hash matches
// topic#key and whose store time is in [beginMs, endMs], newest first.
// Hash collisions are possible; the caller verifies the records.
func (ix *index) query(topic, key string, max int, beginMs, endMs int64) []int64 {
	h := message.JavaHashString(message.JavaHashString(0, topic)*31+'#', key)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []int64
	for i := len(ix.files) - 1; i >= 0 && len(out) < max; i-- {
		x := ix.files[i]
		if x.count <= 1 || x.endTs < beginMs || x.beginTs > endMs {
			continue
		}
		out = x.lookup(out, h, max, beginMs, endMs)
	}
	return out
}

func (x *indexFile) slotValue(slot int) int32 {
	if x.slotTable != nil {
		return x.slotTable[slot]
	}
	var b [4]byte
	if _, err := x.f.ReadAt(b[:], indexHeaderSize+int64(slot)*indexSlotSize); err != nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b[:]))
}

func (x *indexFile) readEntry(i int32, b []byte) bool {
	if i >= x.written {
		off := int(i-x.written) * indexEntrySize
		if off+indexEntrySize > len(x.pending) {
			return false
		}
		copy(b, x.pending[off:])
		return true
	}
	_, err := x.f.ReadAt(b[:indexEntrySize], x.entryOffset(i))
	return err == nil
}

// lookup follows the slot's chain; prev indexes must strictly decrease, so
// a damaged file cannot loop.
func (x *indexFile) lookup(out []int64, h int32, max int, beginMs, endMs int64) []int64 {
	var b [indexEntrySize]byte
	be := binary.BigEndian
	for i := x.slotValue(keySlot(h, x.slots)); i > 0 && i < x.count && len(out) < max; {
		if !x.readEntry(i, b[:]) {
			break
		}
		ts := x.beginTs + int64(int32(be.Uint32(b[12:])))*1000
		if int32(be.Uint32(b[0:])) == h && ts >= beginMs-999 && ts <= endMs {
			out = append(out, int64(be.Uint64(b[4:])))
		}
		prev := int32(be.Uint32(b[16:]))
		if prev >= i {
			break
		}
		i = prev
	}
	return out
}

// removeBelow deletes sealed index files whose entries all point below minPhys.
func (ix *index) removeBelow(minPhys int64) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for len(ix.files) > 1 && ix.files[0].endPhy < minPhys {
		x := ix.files[0]
		x.f.Close()
		if err := ix.fs.Remove(path.Join(ix.dir, x.name)); err != nil {
			return fmt.Errorf("remove index file %s: %w", x.name, err)
		}
		ix.files = ix.files[1:]
	}
	return ix.fs.SyncDir(ix.dir)
}

func (ix *index) close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var first error
	for _, x := range ix.files {
		if err := x.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	ix.files = nil
	return first
}
