package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"sync/atomic"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

// segment is one commitlog file, named by its start offset in 20 digits.
type segment struct {
	base int64 // commitlog offset of byte 0
	name string
	f    vfs.File
	// lastStoreMs is the newest STORETIMESTAMP written to the segment (for
	// retention); 0 when unknown.
	lastStoreMs atomic.Int64
	// prewritten is how far the file is known to hold zeros or data, so the
	// warmer knows where to continue.
	prewritten atomic.Int64
}

// segmentName returns the 20-digit file name of a segment starting at base.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

// parseOffsetName parses a 20-digit offset file name.
func parseOffsetName(name string) (int64, bool) {
	if len(name) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return n, err == nil && n >= 0
}

func openSegment(fsys vfs.FS, dir string, base int64, create bool) (*segment, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	name := path.Join(dir, segmentName(base))
	f, err := fsys.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open segment %d: %w", base, err)
	}
	s := &segment{base: base, name: name, f: f}
	if !create {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("stat segment %d: %w", base, err)
		}
		s.prewritten.Store(st.Size())
	}
	return s, nil
}

// readAt reads len(p) bytes at commitlog offset off, which must lie in s
// below the log end. Bytes past the end of the file read as zeros: below
// the log end the only unwritten bytes are the body of an END_FILE filler,
// which is "anything".
func (s *segment) readAt(p []byte, off int64) error {
	n, err := s.f.ReadAt(p, off-s.base)
	if n == len(p) {
		return nil
	}
	if errors.Is(err, io.EOF) {
		clear(p[n:])
		return nil
	}
	if err == nil {
		err = fmt.Errorf("short read %d of %d", n, len(p))
	}
	return fmt.Errorf("read segment %d at %d: %w", s.base, off, err)
}

// writeAt writes p at commitlog offset off, which must lie in s.
func (s *segment) writeAt(p []byte, off int64) error {
	n, err := s.f.WriteAt(p, off-s.base)
	if err == nil && n != len(p) {
		err = fmt.Errorf("short write %d of %d", n, len(p))
	}
	if err != nil {
		return fmt.Errorf("write segment %d at %d: %w", s.base, off, err)
	}
	if end := off - s.base + int64(len(p)); end > s.prewritten.Load() {
		s.prewritten.Store(end)
	}
	return nil
}
