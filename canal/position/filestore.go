package position

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/internal/fsutil"
)

// ErrLocked is returned by FileStore.Lock when another process holds the
// position file's lock.
var ErrLocked = errors.New("in use by another process")

// FileStore keeps a State in one JSON file (format in the package doc).
type FileStore struct {
	path string
	now  func() time.Time
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store for the file at path; its directory must
// exist.
func NewFileStore(path string) *FileStore {
	return &FileStore{path: path, now: time.Now}
}

// Path is the position file's path.
func (s *FileStore) Path() string { return s.path }

// Load reads the saved state. A missing file is (State{}, false, nil); a
// damaged or unknown-version file is an error naming the path and wrapping
// ErrCorrupt or ErrUnsupportedVersion.
func (s *FileStore) Load(ctx context.Context) (State, bool, error) {
	if err := ctx.Err(); err != nil {
		return State{}, false, err
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read position file: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return State{}, false, fmt.Errorf("position file %s: %w", s.path, err)
	}
	return st, true, nil
}

// Save replaces the file with st: temporary file, fsync, rename, fsync of
// the directory. It fills in Version and SavedAt (UTC) when zero, and
// refuses an invalid state — notably a position with offset 0 or below 4,
// which a fake ROTATE event carries.
func (s *FileStore) Save(ctx context.Context, st State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st.Version == 0 {
		st.Version = Version
	}
	if st.SavedAt.IsZero() {
		st.SavedAt = s.now()
	}
	st.SavedAt = st.SavedAt.UTC()
	if err := st.Validate(); err != nil {
		return fmt.Errorf("save position to %s: %w", s.path, err)
	}
	data, err := encodeState(st)
	if err != nil {
		return fmt.Errorf("save position to %s: %w", s.path, err)
	}
	if err := fsutil.WriteFileAtomic(s.path, data, 0o644); err != nil {
		return fmt.Errorf("save position: %w", err)
	}
	return nil
}

// Remove deletes the saved state and any temporary file a crashed Save
// left beside it, so that the next start begins as configured. It reports
// whether a state file existed.
func (s *FileStore) Remove(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	existed := true
	if err := os.Remove(s.path); errors.Is(err, fs.ErrNotExist) {
		existed = false
	} else if err != nil {
		return false, fmt.Errorf("remove position file: %w", err)
	}
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return existed, fmt.Errorf("remove position file: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return existed, fmt.Errorf("remove position file: %w", err)
			}
		}
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return existed, fmt.Errorf("remove position file: %w", err)
	}
	return existed, nil
}

// FileLock is a held lock on a position file.
type FileLock struct{ f *os.File }

// Lock takes an exclusive advisory lock (flock(2) on PATH.lock) without
// waiting: the ingester holds it while it runs, `sluice positions set` and
// `reset` while they write. Another holder gives an error wrapping
// ErrLocked that names the holder's pid.
func (s *FileStore) Lock() (*FileLock, error) {
	name := s.path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock position file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("position file %s is %w (pid %s; a running ingester?)", s.path, ErrLocked, pid)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	// The pid is only a hint for the error above.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock; it is idempotent.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
