package sink

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Storage is where a sink's tables live. Paths are slash-separated and
// relative to the storage's root. The local implementation is the only one
// today; object storage can follow behind the same interface, because the
// sink only ever creates whole files under new names, reads them, lists
// directories and removes files (no appends, no in-place updates).
type Storage interface {
	// Create starts a file that becomes visible at path only when Commit
	// returns without error; Abort (or a crash) leaves nothing at path.
	Create(p string) (FileWriter, error)
	// Open opens a committed file for reading.
	Open(p string) (FileReader, error)
	// ReadFile returns a committed file's content (fs.ErrNotExist when
	// there is none).
	ReadFile(p string) ([]byte, error)
	// List returns the paths, relative to dir, of the files under dir
	// (recursively), sorted; an absent directory is empty.
	List(dir string) ([]string, error)
	// Remove deletes a file; an absent file is not an error.
	Remove(p string) error
}

// FileWriter is a file being written.
type FileWriter interface {
	io.Writer
	// Commit makes the file durable and visible at its path.
	Commit() error
	// Abort discards it.
	Abort() error
}

// FileReader reads a committed file.
type FileReader interface {
	io.ReaderAt
	io.Seeker
	io.Reader
	io.Closer
	Size() int64
}

// LocalStorage keeps files under a directory. A file is written to a
// temporary name in its directory, fsynced, renamed to its name and the
// directory fsynced, so after a crash a path holds either nothing or the
// whole file.
type LocalStorage struct {
	root string
}

// NewLocalStorage returns storage rooted at dir, creating it.
func NewLocalStorage(dir string) (*LocalStorage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	return &LocalStorage{root: dir}, nil
}

// Root is the directory the storage writes under.
func (s *LocalStorage) Root() string { return s.root }

// tmpSuffix marks files being written; the sink removes leftovers at start.
const tmpSuffix = ".tmp"

func (s *LocalStorage) abs(p string) (string, error) {
	if p == "" || path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "..") {
		return "", fmt.Errorf("sink storage: bad path %q", p)
	}
	return filepath.Join(s.root, filepath.FromSlash(path.Clean(p))), nil
}

// Create implements Storage.
func (s *LocalStorage) Create(p string) (FileWriter, error) {
	dst, err := s.abs(p)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	f, err := os.Create(dst + tmpSuffix)
	if err != nil {
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	return &localWriter{f: f, dst: dst}, nil
}

type localWriter struct {
	f    *os.File
	dst  string
	done bool
}

func (w *localWriter) Write(b []byte) (int, error) { return w.f.Write(b) }

func (w *localWriter) Commit() error {
	if w.done {
		return errors.New("sink storage: file already closed")
	}
	w.done = true
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		return fmt.Errorf("sink storage: fsync %s: %w", w.dst, err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("sink storage: %w", err)
	}
	if err := os.Rename(w.f.Name(), w.dst); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("sink storage: %w", err)
	}
	return syncDir(filepath.Dir(w.dst))
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sink storage: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sink storage: fsync %s: %w", dir, err)
	}
	return nil
}

type localReader struct {
	*os.File
	size int64
}

func (r localReader) Size() int64 { return r.size }

// Open implements Storage.
func (s *LocalStorage) Open(p string) (FileReader, error) {
	name, err := s.abs(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	return localReader{File: f, size: st.Size()}, nil
}

// ReadFile implements Storage.
func (s *LocalStorage) ReadFile(p string) ([]byte, error) {
	name, err := s.abs(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}

// List implements Storage.
func (s *LocalStorage) List(dir string) ([]string, error) {
	base, err := s.abs(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sink storage: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// Remove implements Storage.
func (s *LocalStorage) Remove(p string) error {
	name, err := s.abs(p)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sink storage: %w", err)
	}
	return nil
}
