// Package vfs is the store's file-system seam. The store reaches the disk only
// through FS and File, so tests can run it on a strict in-memory file system
// that loses everything not synced when it "crashes" (NewStrictMem), or on a
// wrapper that fails chosen writes and syncs (NewFaultFS).
//
// The contract is POSIX with the durability rules of ext4 without
// data=journal: file data is durable after File.Sync (fdatasync); a new,
// removed or renamed directory entry is durable after SyncDir of its parent
// directory. The strict in-memory file system enforces exactly this and no
// more, so code that passes on it does not depend on luck.
package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// File is an open file. Writes are positional (pwrite); there is no mmap.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes the file's data and size durable (fdatasync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Stat describes the file.
	Stat() (fs.FileInfo, error)
	Close() error
}

// FS is a file system.
type FS interface {
	// OpenFile opens a file with os.O_* flags (O_RDWR, O_CREATE, O_EXCL, O_TRUNC).
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it.
	RemoveAll(name string) error
	// Rename renames a file, replacing newname if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// ReadDir returns the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes a path.
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes dir's entries (creations, removals, renames) durable.
	SyncDir(dir string) error
	// Lock takes an exclusive advisory lock on the file name, creating it,
	// and fails at once if another holder has it. Close releases it.
	Lock(name string) (io.Closer, error)
}

// ErrLocked is returned by Lock when another holder has the lock.
var ErrLocked = errors.New("vfs: locked by another process")

// Exists reports whether name exists.
func Exists(fsys FS, name string) (bool, error) {
	_, err := fsys.Stat(name)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// WriteFileAtomic replaces name with data durably: write name+".tmp", sync
// it, rename it over name, and sync the directory. A crash at any point
// leaves either the old or the new content.
func WriteFileAtomic(fsys FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return err
	}
	return fsys.SyncDir(dirOf(name))
}

// ReadFile reads a whole file.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, st.Size())
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

func dirOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			if i == 0 {
				return "/"
			}
			return name[:i]
		}
	}
	return "."
}
