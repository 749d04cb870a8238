package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrCrashed is returned by operations on a file opened before StrictMem.Crash.
var ErrCrashed = errors.New("vfs: file handle from before a crash")

// StrictMem is an in-memory FS that remembers what is durable. File data
// becomes durable on File.Sync; directory entries (files and directories
// created, removed or renamed) on SyncDir of their parent. Crash drops
// everything else, like a power cut, and invalidates every open handle.
// Paths are cleaned with path.Clean; "/" and "." always exist.
type StrictMem struct {
	mu       sync.Mutex
	files    map[string]*memInode // current namespace
	dirs     map[string]bool
	durFiles map[string]*memInode // namespace as of the last SyncDir of each parent
	durDirs  map[string]bool
	locks    map[string]bool
	gen      int
	now      func() time.Time
}

type memInode struct {
	data    []byte
	synced  []byte
	dirtyLo int // data[dirtyLo:dirtyHi] differs from synced; dirtyLo > dirtyHi when clean
	dirtyHi int
	mtime   time.Time
}

// NewStrictMem returns an empty strict in-memory file system.
func NewStrictMem() *StrictMem {
	return &StrictMem{
		files: map[string]*memInode{}, dirs: map[string]bool{},
		durFiles: map[string]*memInode{}, durDirs: map[string]bool{},
		locks: map[string]bool{}, now: time.Now,
	}
}

func clean(name string) string { return path.Clean(name) }

func (m *StrictMem) dirExists(d string) bool {
	return d == "/" || d == "." || m.dirs[d]
}

// Crash drops every file byte not synced and every directory entry whose
// parent was not synced since it changed, releases all locks and makes all
// open handles fail with ErrCrashed.
func (m *StrictMem) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files = make(map[string]*memInode, len(m.durFiles))
	for name, ino := range m.durFiles {
		ino.data = slices.Clone(ino.synced)
		ino.dirtyLo, ino.dirtyHi = 1, 0
		m.files[name] = ino
	}
	m.dirs = make(map[string]bool, len(m.durDirs))
	for d := range m.durDirs {
		m.dirs[d] = true
	}
	// An entry whose parent directory is gone is gone too.
	for name := range m.files {
		if !m.dirExists(path.Dir(name)) {
			delete(m.files, name)
		}
	}
	m.locks = map[string]bool{}
	m.gen++
}

// OpenFile implements FS.
func (m *StrictMem) OpenFile(name string, flag int, _ fs.FileMode) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.files[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		if !m.dirExists(path.Dir(name)) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if m.dirs[name] {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
		}
		ino = &memInode{dirtyLo: 1, mtime: m.now()}
		m.files[name] = ino
	}
	if flag&os.O_TRUNC != 0 {
		ino.truncate(0)
	}
	return &memFile{fs: m, ino: ino, name: name, gen: m.gen}, nil
}

func (ino *memInode) markDirty(lo, hi int) {
	if ino.dirtyLo > ino.dirtyHi {
		ino.dirtyLo, ino.dirtyHi = lo, hi
		return
	}
	ino.dirtyLo, ino.dirtyHi = min(ino.dirtyLo, lo), max(ino.dirtyHi, hi)
}

func (ino *memInode) truncate(size int) {
	old := len(ino.data)
	if size <= old {
		ino.data = ino.data[:size]
	} else {
		ino.data = append(ino.data, make([]byte, size-old)...)
	}
	ino.markDirty(min(old, size), max(old, size))
}

func (ino *memInode) sync() {
	if len(ino.synced) > len(ino.data) {
		ino.synced = ino.synced[:len(ino.data)]
	} else if len(ino.synced) < len(ino.data) {
		ino.synced = append(ino.synced, make([]byte, len(ino.data)-len(ino.synced))...)
	}
	if ino.dirtyLo <= ino.dirtyHi {
		lo, hi := min(ino.dirtyLo, len(ino.data)), min(ino.dirtyHi, len(ino.data))
		copy(ino.synced[lo:hi], ino.data[lo:hi])
	}
	ino.dirtyLo, ino.dirtyHi = 1, 0
}

// Remove implements FS.
func (m *StrictMem) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; ok {
		delete(m.files, name)
		return nil
	}
	if m.dirs[name] {
		for p := range m.files {
			if path.Dir(p) == name {
				return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
			}
		}
		for d := range m.dirs {
			if path.Dir(d) == name && d != name {
				return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
			}
		}
		delete(m.dirs, name)
		return nil
	}
	return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
}

// RemoveAll implements FS.
func (m *StrictMem) RemoveAll(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := name + "/"
	for p := range m.files {
		if p == name || strings.HasPrefix(p, prefix) {
			delete(m.files, p)
		}
	}
	for d := range m.dirs {
		if d == name || strings.HasPrefix(d, prefix) {
			delete(m.dirs, d)
		}
	}
	return nil
}

// Rename implements FS.
func (m *StrictMem) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.files[oldname]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if !m.dirExists(path.Dir(newname)) {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	delete(m.files, oldname)
	m.files[newname] = ino
	return nil
}

// MkdirAll implements FS.
func (m *StrictMem) MkdirAll(dir string, _ fs.FileMode) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirExists(d); d = path.Dir(d) {
		if _, ok := m.files[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: errors.New("not a directory")}
		}
		m.dirs[d] = true
	}
	return nil
}

// ReadDir implements FS.
func (m *StrictMem) ReadDir(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(dir) {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	var names []string
	for p := range m.files {
		if path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	for d := range m.dirs {
		if d != dir && path.Dir(d) == dir {
			names = append(names, path.Base(d))
		}
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements FS.
func (m *StrictMem) Stat(name string) (fs.FileInfo, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if ino, ok := m.files[name]; ok {
		return memInfo{name: path.Base(name), size: int64(len(ino.data)), mtime: ino.mtime}, nil
	}
	if m.dirExists(name) {
		return memInfo{name: path.Base(name), dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// SyncDir implements FS: the entries directly in dir become durable as they
// are now (including subdirectories' own entries, not their contents).
func (m *StrictMem) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(dir) {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: fs.ErrNotExist}
	}
	for p := range m.durFiles {
		if path.Dir(p) == dir {
			delete(m.durFiles, p)
		}
	}
	for p, ino := range m.files {
		if path.Dir(p) == dir {
			m.durFiles[p] = ino
		}
	}
	for d := range m.durDirs {
		if d != dir && path.Dir(d) == dir {
			delete(m.durDirs, d)
		}
	}
	for d := range m.dirs {
		if d != dir && path.Dir(d) == dir {
			m.durDirs[d] = true
		}
	}
	return nil
}

type memLock struct {
	m    *StrictMem
	name string
	gen  int
}

func (l *memLock) Close() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.gen == l.m.gen {
		delete(l.m.locks, l.name)
	}
	return nil
}

// Lock implements FS. Locks do not survive Crash.
func (m *StrictMem) Lock(name string) (io.Closer, error) {
	f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[name] {
		return nil, fmt.Errorf("lock %s: %w", name, ErrLocked)
	}
	m.locks[name] = true
	return &memLock{m: m, name: name, gen: m.gen}, nil
}

type memFile struct {
	fs     *StrictMem
	ino    *memInode
	name   string
	gen    int
	closed bool
}

func (f *memFile) check(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if f.gen != f.fs.gen {
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrInvalid}
	}
	end := int(off) + len(p)
	if end > len(f.ino.data) {
		f.ino.truncate(end)
	}
	copy(f.ino.data[off:], p)
	f.ino.markDirty(int(off), end)
	f.ino.mtime = f.fs.now()
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	f.ino.sync()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate"); err != nil {
		return err
	}
	f.ino.truncate(int(size))
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(f.name), size: int64(len(f.ino.data)), mtime: f.ino.mtime}, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

type memInfo struct {
	name  string
	size  int64
	mtime time.Time
	dir   bool
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) ModTime() time.Time { return i.mtime }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
