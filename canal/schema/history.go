package schema

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
)

// ErrNoHistory is returned for a position older than the history covers:
// before its first snapshot or before what Compact dropped.
var ErrNoHistory = errors.New("position before the schema history")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("schema history closed")

// appendFile is what the history writes through: *os.File, or a test's
// file that fails writes and syncs.
type appendFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// point orders what the history records at one position: a snapshot at
// key is the state before the event at key, a DDL at key is that event.
type point struct {
	key Key
	ddl bool
}

func (p point) compare(o point) int {
	if c := p.key.Compare(o.key); c != 0 {
		return c
	}
	switch {
	case p.ddl == o.ddl:
		return 0
	case o.ddl:
		return -1
	}
	return 1
}

// version is one value of a table, database or server from its point on;
// a nil value means absent.
type version[T any] struct {
	at point
	v  T
}

// History is the durable schema history of one source server: every
// captured table's columns and primary key as of each binlog position.
// Its methods are safe for concurrent use. The *Table values it returns are
// shared: callers must not modify them (Clone one to change it).
type History struct {
	mu      sync.RWMutex
	path    string
	f       appendFile
	size    int64
	records int
	cut     int64
	broken  error
	closed  bool
	parser  *parser.Parser

	tables map[tableID][]version[*Table]
	dbs    map[string][]version[*Database]
	server []version[*Server]
	// base is the oldest position the history covers; hasBase is set once
	// a snapshot or a compaction fixed it.
	base    Key
	hasBase bool
	// newest is the newest point recorded: ApplyDDL must come after it.
	newest point
}

// Open opens the history file at path, creating it when it does not exist.
// A torn last record (a crash during an append) is cut; a bad record
// followed by valid ones is an error wrapping ErrCorrupt: the history is
// never silently reset.
func Open(path string) (*History, error) {
	h := &History{path: path, parser: parser.New()}
	h.reset()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(path, nil); err != nil {
			return nil, err
		}
		data = []byte(fileMagic)
	} else if err != nil {
		return nil, fmt.Errorf("open schema history: %w", err)
	}
	if len(data) < len(fileMagic) || string(data[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("open schema history %s: not a schema history file (bad magic)", path)
	}
	recs, good, err := scanRecords(data[len(fileMagic):])
	if err != nil {
		var ce *CorruptionError
		if errors.As(err, &ce) {
			ce.Path, ce.Offset = path, ce.Offset+int64(len(fileMagic))
		}
		return nil, err
	}
	for _, r := range recs {
		h.apply(r)
	}
	h.records = len(recs)
	h.size = int64(len(fileMagic) + good)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("open schema history: %w", err)
	}
	if h.size < int64(len(data)) {
		h.cut = int64(len(data)) - h.size
		if err := f.Truncate(h.size); err != nil {
			f.Close()
			return nil, fmt.Errorf("open schema history: cut torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("open schema history: cut torn tail: %w", err)
		}
	}
	h.f = f
	return h, nil
}

func (h *History) reset() {
	h.tables = map[tableID][]version[*Table]{}
	h.dbs = map[string][]version[*Database]{}
	h.server = nil
	h.base, h.hasBase, h.newest = Key{}, false, point{}
}

// writeFileAtomic writes the file magic and records to path through a
// temporary file: tmp → fsync → rename → fsync the directory.
func writeFileAtomic(path string, recs [][]byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write schema history: %w", err)
	}
	w := func() error {
		if _, err := f.Write([]byte(fileMagic)); err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := f.Write(r); err != nil {
				return err
			}
		}
		return f.Sync()
	}
	if err := w(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write schema history: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write schema history: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write schema history: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Recovered returns how many bytes of a torn last record Open cut.
func (h *History) Recovered() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cut
}

// Records returns the number of records in the file (to decide when to
// Compact).
func (h *History) Records() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.records
}

// Close closes the file; later writes fail with ErrClosed.
func (h *History) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	return h.f.Close()
}

func (h *History) writable() error {
	switch {
	case h.closed:
		return ErrClosed
	case h.broken != nil:
		return fmt.Errorf("schema history %s unusable after a failed write (reopen it): %w", h.path, h.broken)
	}
	return nil
}

// append writes a record and syncs it. A failed write is cut off again so
// that the next append does not land after garbage; a failed sync (or a
// failed cut) leaves the history unusable until it is reopened, since what
// reached the disk is then unknown.
func (h *History) append(r *record) error {
	if err := r.check(); err != nil {
		return fmt.Errorf("append to schema history %s: %w", h.path, err)
	}
	buf, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if _, err := h.f.Write(buf); err != nil {
		if terr := h.f.Truncate(h.size); terr != nil {
			h.broken = err
		}
		return fmt.Errorf("append to schema history %s: %w", h.path, err)
	}
	if err := h.f.Sync(); err != nil {
		h.broken = err
		return fmt.Errorf("sync schema history %s: %w", h.path, err)
	}
	h.size += int64(len(buf))
	h.records++
	return nil
}

// apply applies a record to the in-memory model.
func (h *History) apply(r *record) {
	p := point{r.Key, r.kind == kindChange}
	switch r.kind {
	case kindSnapshot:
		listed := map[tableID]bool{}
		for _, e := range r.Tables {
			listed[tableID{e.Schema, e.Name}] = true
		}
		for id, vs := range h.tables {
			if !listed[id] && vs[len(vs)-1].v != nil {
				h.tables[id] = setVersion(vs, p, nil)
			}
		}
		if r.DatabasesSet {
			names := map[string]bool{}
			for _, e := range r.Databases {
				names[e.Name] = true
			}
			for name, vs := range h.dbs {
				if !names[name] && vs[len(vs)-1].v != nil {
					h.dbs[name] = setVersion(vs, p, nil)
				}
			}
		}
		if !h.hasBase {
			h.base, h.hasBase = r.Key, true
		}
	case kindRewind:
		h.rewind(r.Key)
		return
	}
	if r.Server != nil {
		h.server = setVersion(h.server, p, r.Server)
	}
	for _, e := range r.Databases {
		h.dbs[e.Name] = setVersion(h.dbs[e.Name], p, e.DB)
	}
	for _, e := range r.Tables {
		id := tableID{e.Schema, e.Name}
		h.tables[id] = setVersion(h.tables[id], p, e.Table)
	}
	if p.compare(h.newest) > 0 {
		h.newest = p
	}
}

// setVersion records v from p on; a version at p is replaced.
func setVersion[T any](vs []version[T], p point, v T) []version[T] {
	if n := len(vs); n > 0 && vs[n-1].at == p {
		vs[n-1].v = v
		return vs
	}
	return append(vs, version[T]{p, v})
}

// at returns the value in force at k: the last version whose key is ≤ k.
func at[T any](vs []version[T], k Key) (T, bool) {
	return lastAt(vs, point{k, true})
}

// lastAt returns the last version at or before p.
func lastAt[T any](vs []version[T], p point) (T, bool) {
	i := sort.Search(len(vs), func(i int) bool { return vs[i].at.compare(p) > 0 })
	if i == 0 {
		var zero T
		return zero, false
	}
	return vs[i-1].v, true
}

// upTo drops the versions after p.
func upTo[T any](vs []version[T], p point) []version[T] {
	i := sort.Search(len(vs), func(i int) bool { return vs[i].at.compare(p) > 0 })
	return vs[:i]
}

// rewind forgets the DDL versions at or after k and the snapshots after
// k: what the events from k on recorded.
func (h *History) rewind(k Key) {
	p := point{k, false}
	for id, vs := range h.tables {
		if vs = upTo(vs, p); len(vs) == 0 {
			delete(h.tables, id)
		} else {
			h.tables[id] = vs
		}
	}
	for name, vs := range h.dbs {
		if vs = upTo(vs, p); len(vs) == 0 {
			delete(h.dbs, name)
		} else {
			h.dbs[name] = vs
		}
	}
	h.server = upTo(h.server, p)
	if p.compare(h.newest) < 0 {
		h.newest = p
	}
}

// Table returns the table as of the newest applied change.
func (h *History) Table(schema, name string) (*Table, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	vs := h.tables[tableID{schema, name}]
	if len(vs) == 0 || vs[len(vs)-1].v == nil {
		return nil, false
	}
	return vs[len(vs)-1].v, true
}

// TableAt returns the table in force at key: as the snapshot at or
// before key and the DDL events at or before key left it. Give DDL and row
// events the same kind of position, their start (the header's LogPos minus
// its EventSize), so that a row event after a DDL sees it.
func (h *History) TableAt(key Key, schema, name string) (*Table, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.hasBase && key.Compare(h.base) < 0 {
		return nil, false
	}
	t, ok := at(h.tables[tableID{schema, name}], key)
	return t, ok && t != nil
}

// Tables returns the current tables, sorted by schema and name.
func (h *History) Tables() []*Table {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*Table
	for _, vs := range h.tables {
		if t := vs[len(vs)-1].v; t != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Newest returns the newest position recorded (zero when empty).
func (h *History) Newest() Key {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.newest.key
}

// Bootstrap records tables as the complete set of captured tables at key,
// keeping what the history knows of the server and its databases; see
// BootstrapSnapshot.
func (h *History) Bootstrap(key Key, tables []*Table) error {
	return h.BootstrapSnapshot(key, &Snapshot{Tables: tables})
}

// BootstrapSnapshot records a full snapshot at key, the position the
// stream starts from (first start, or a re-snapshot): the tables it lists
// replace every table the history knew, before the event at key; earlier
// versions stay for TableAt and Rewind. key must not be older than the
// newest snapshot and must be after the newest DDL.
func (h *History) BootstrapSnapshot(key Key, snap *Snapshot) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.writable(); err != nil {
		return err
	}
	if (point{key, false}).compare(h.newest) < 0 {
		return fmt.Errorf("bootstrap schema history at %s: not after its newest position %s (Rewind first)", key, h.newest.key)
	}
	r := &record{kind: kindSnapshot, Key: key, Server: snap.Server}
	seen := map[tableID]bool{}
	for _, t := range snap.Tables {
		if t == nil || t.Schema == "" || t.Name == "" {
			return errors.New("bootstrap schema history: table without a name")
		}
		id := tableID{t.Schema, t.Name}
		if seen[id] {
			return fmt.Errorf("bootstrap schema history: table %s listed twice", t)
		}
		seen[id] = true
		if err := checkTable(t); err != nil {
			return fmt.Errorf("bootstrap schema history: %w", err)
		}
		r.Tables = append(r.Tables, tableEntry{t.Schema, t.Name, t.Clone()})
	}
	if snap.Databases != nil {
		r.DatabasesSet = true
		for _, d := range snap.Databases {
			dc := *d
			r.Databases = append(r.Databases, dbEntry{d.Name, &dc})
		}
	}
	if err := h.append(r); err != nil {
		return err
	}
	h.apply(r)
	return nil
}

// Rewind forgets what the events at and after key recorded: the ingester
// restarts reading from key, an older position, and will apply those DDL
// statements again. A snapshot at key stays (it is the state before the
// event at key). It fails with ErrNoHistory for a key before the history's
// first snapshot.
func (h *History) Rewind(key Key) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.writable(); err != nil {
		return err
	}
	if h.hasBase && key.Compare(h.base) < 0 {
		return fmt.Errorf("rewind schema history to %s: %w (it starts at %s; re-snapshot)", key, ErrNoHistory, h.base)
	}
	if (point{key, false}).compare(h.newest) >= 0 {
		return nil
	}
	r := &record{kind: kindRewind, Key: key}
	if err := h.append(r); err != nil {
		return err
	}
	h.apply(r)
	return nil
}
