package vfs

import (
	"io/fs"
	"sync"
	"syscall"
	"time"
)

// FaultFS wraps an FS and injects failures into writes and syncs of files
// whose names Filter accepts (all files when Filter is nil). Injections are
// counted from when they are set. It is safe for concurrent use.
type FaultFS struct {
	FS

	mu         sync.Mutex
	filter     func(name string) bool
	failWriteN int // the failWriteN-th matching WriteAt fails; 0 = off
	writeErr   error
	failSyncN  int
	syncErr    error
	spaceLeft  int64 // bytes matching writes may still write; <0 = unlimited
	syncDelay  time.Duration
	writes     int
	syncs      int
}

// NewFaultFS wraps inner with no faults armed.
func NewFaultFS(inner FS) *FaultFS {
	return &FaultFS{FS: inner, spaceLeft: -1}
}

// SetFilter limits injections to files whose names f accepts.
func (f *FaultFS) SetFilter(filter func(name string) bool) {
	f.mu.Lock()
	f.filter = filter
	f.mu.Unlock()
}

// FailWrite makes the nth matching WriteAt from now (1 = the next) fail with
// err without writing anything. Later writes succeed again.
func (f *FaultFS) FailWrite(nth int, err error) {
	f.mu.Lock()
	f.failWriteN, f.writeErr = nth, err
	f.mu.Unlock()
}

// FailSync makes the nth matching Sync from now fail with err.
func (f *FaultFS) FailSync(nth int, err error) {
	f.mu.Lock()
	f.failSyncN, f.syncErr = nth, err
	f.mu.Unlock()
}

// DiskFull lets matching writes allocate n more bytes; the write that crosses
// the limit is short (it stores what fits) and fails with ENOSPC, as do all
// later ones until Clear. Like a real file system, only bytes beyond a
// file's current size need space: overwriting allocated bytes still works.
func (f *FaultFS) DiskFull(n int64) {
	f.mu.Lock()
	f.spaceLeft = n
	f.mu.Unlock()
}

// SetSyncDelay makes every matching Sync take at least d.
func (f *FaultFS) SetSyncDelay(d time.Duration) {
	f.mu.Lock()
	f.syncDelay = d
	f.mu.Unlock()
}

// Clear disarms every injection (the filter stays).
func (f *FaultFS) Clear() {
	f.mu.Lock()
	f.failWriteN, f.failSyncN, f.spaceLeft, f.syncDelay = 0, 0, -1, 0
	f.mu.Unlock()
}

// Counts returns how many matching writes and syncs were attempted.
func (f *FaultFS) Counts() (writes, syncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.syncs
}

func (f *FaultFS) match(name string) bool { return f.filter == nil || f.filter(name) }

// OpenFile implements FS.
func (f *FaultFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	inner, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: inner, fs: f, name: name}, nil
}

type faultFile struct {
	File
	fs   *FaultFS
	name string
}

// beforeWrite decides how much of an n-byte write at off may happen and with
// what error; size is the file's current size.
func (f *FaultFS) beforeWrite(name string, off, size int64, n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.match(name) {
		return n, nil
	}
	f.writes++
	if f.failWriteN > 0 {
		f.failWriteN--
		if f.failWriteN == 0 {
			return 0, &fs.PathError{Op: "write", Path: name, Err: f.writeErr}
		}
	}
	if f.spaceLeft < 0 {
		return n, nil
	}
	grow := max(off+int64(n)-max(size, off), 0) // bytes beyond the current size
	if gap := off - size; gap > 0 {
		grow += gap
	}
	if grow > f.spaceLeft {
		allowed := max(int(max(size, off)-off+f.spaceLeft), 0)
		f.spaceLeft = 0
		return min(allowed, n), &fs.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
	}
	f.spaceLeft -= grow
	return n, nil
}

func (w *faultFile) WriteAt(p []byte, off int64) (int, error) {
	var size int64
	if st, err := w.File.Stat(); err == nil {
		size = st.Size()
	}
	allowed, ferr := w.fs.beforeWrite(w.name, off, size, len(p))
	if allowed == 0 && ferr != nil {
		return 0, ferr
	}
	n, err := w.File.WriteAt(p[:allowed], off)
	if err != nil {
		return n, err
	}
	return n, ferr
}

func (w *faultFile) Sync() error {
	w.fs.mu.Lock()
	var err error
	var delay time.Duration
	if w.fs.match(w.name) {
		w.fs.syncs++
		delay = w.fs.syncDelay
		if w.fs.failSyncN > 0 {
			w.fs.failSyncN--
			if w.fs.failSyncN == 0 {
				err = &fs.PathError{Op: "fdatasync", Path: w.name, Err: w.fs.syncErr}
			}
		}
	}
	w.fs.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err != nil {
		return err
	}
	return w.File.Sync()
}
