package store

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

// fillSegments writes records to s until its log spans at least n segments.
func fillSegments(t *testing.T, s *Store, n int64) {
	t.Helper()
	for i := 0; s.MaxPhysicalOffset() < n*s.SegmentSize(); i++ {
		mustPut(t, s, newRecord("T", int32(i%3), bodyOf(i)+strings.Repeat("x", 900), nil))
	}
}

// copyLog appends master's commitlog [from, to) to slave in odd-sized chunks.
func copyLog(t *testing.T, master, slave *Store, from, to int64) {
	t.Helper()
	buf := make([]byte, 3001)
	for off := from; off < to; {
		n, err := master.ReadCommitLogInto(buf[:min(int64(len(buf)), to-off)], off)
		if err != nil || n == 0 {
			t.Fatalf("read at %d: %d, %v", off, n, err)
		}
		if err := slave.AppendRaw(off, buf[:n]); err != nil {
			t.Fatalf("append at %d: %v", off, err)
		}
		off += int64(n)
	}
}

func TestStoreReadCommitLogInto(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	fillSegments(t, s, 2)
	seg := s.SegmentSize()
	buf := make([]byte, 5000)
	n, err := s.ReadCommitLogInto(buf, seg-100) // stops at the segment end
	if err != nil || n != 100 {
		t.Fatalf("read across segment end: %d, %v", n, err)
	}
	want, _ := s.ReadCommitLog(seg-100, 5000)
	if !bytes.Equal(buf[:n], want) {
		t.Fatal("ReadCommitLogInto and ReadCommitLog differ")
	}
	if n, err := s.ReadCommitLogInto(buf, s.MaxPhysicalOffset()); n != 0 || err != nil {
		t.Fatalf("read at end: %d, %v", n, err)
	}
	if _, err := s.ReadCommitLogInto(buf, s.MaxPhysicalOffset()+1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read beyond end: %v", err)
	}
}

func TestStoreResetToContinuesAtOffset(t *testing.T) {
	master := openStore(t, testOptions(t, nil))
	fillSegments(t, master, 4)
	o := testOptions(t, vfs.OS)
	slave := openStore(t, o)
	waitDispatched(t, master)
	copyLog(t, master, slave, 0, pullAll(t, master, "T", 0)[5].CommitLogOffset) // a prefix the reset must discard
	waitDispatched(t, slave)
	seg := slave.SegmentSize()
	if err := slave.ResetTo(seg + 1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("unaligned reset: %v", err)
	}
	from := 2 * seg
	if err := slave.ResetTo(from); err != nil {
		t.Fatal(err)
	}
	if slave.MinPhysicalOffset() != from || slave.MaxPhysicalOffset() != from || len(slave.Topics()) != 0 {
		t.Fatalf("after reset: min %d max %d topics %v", slave.MinPhysicalOffset(), slave.MaxPhysicalOffset(), slave.Topics())
	}
	if err := slave.AppendRaw(from-1, []byte{1}); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("append below the reset offset: %v", err)
	}
	copyLog(t, master, slave, from, master.MaxPhysicalOffset())
	waitDispatched(t, master)
	waitDispatched(t, slave)
	check := func(s *Store) {
		t.Helper()
		for qid := int32(0); qid < 3; qid++ {
			var want []string
			for _, m := range pullAll(t, master, "T", qid) {
				if m.CommitLogOffset >= from {
					want = append(want, string(m.Body))
				}
			}
			got := pullAll(t, s, "T", qid)
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("queue %d: slave has %d messages, master %d beyond the reset", qid, len(got), len(want))
			}
			for i := range got {
				if string(got[i].Body) != want[i] {
					t.Fatalf("queue %d message %d differs", qid, i)
				}
			}
		}
	}
	check(slave)
	slave.Close()
	reopened := openStore(t, o)
	if reopened.MinPhysicalOffset() != from || reopened.MaxPhysicalOffset() != master.MaxPhysicalOffset() {
		t.Fatalf("after reopen: min %d max %d", reopened.MinPhysicalOffset(), reopened.MaxPhysicalOffset())
	}
	check(reopened)
	if reopened.MinOffset("T", 0) == 0 {
		t.Fatal("queue min offset still points below the reset")
	}
}

// A crash after ResetTo, or after a failure half-way through it, reopens
// either the old log or the empty one at the target.
func TestStoreResetToCrashSafe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failNth  int // which checkpoint write fails (0: none)
		resetEnd bool
	}{{"completed", 0, true}, {"first-checkpoint-fails", 1, false}, {"final-checkpoint-fails", 2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			mem, fsys, o, s := durableFaultStore(t, 3)
			oldEnd := s.MaxPhysicalOffset()
			if tc.failNth > 0 {
				fsys.SetFilter(func(name string) bool { return strings.HasSuffix(name, checkpointFile+".tmp") })
				fsys.FailWrite(tc.failNth, syscall.EIO)
			}
			target := 5 * s.SegmentSize()
			if err := s.ResetTo(target); (err == nil) != (tc.failNth == 0) {
				t.Fatalf("reset: %v", err)
			}
			s.abandon()
			mem.Crash()
			fsys.Clear()
			r, err := Open(o)
			if err != nil {
				t.Fatalf("reopen after crash: %v", err)
			}
			defer r.Close()
			want := oldEnd
			if tc.resetEnd {
				want = target
			}
			if end := r.MaxPhysicalOffset(); end != want {
				t.Fatalf("log end %d, want %d", end, want)
			}
		})
	}
}

// TruncateReplica persists a lowered checkpoint before it cuts, so a crash
// while TruncateTo cuts (here: its own checkpoint write fails, then power
// is lost) reopens at the cut instead of failing with *CorruptionErr.
func TestStoreTruncateReplicaCrashBeforeCheckpoint(t *testing.T) {
	mem, fsys, o, s := durableFaultStore(t, 2)
	cut := pullAll(t, s, "T", 0)[3].CommitLogOffset
	fsys.SetFilter(func(name string) bool { return strings.HasSuffix(name, checkpointFile+".tmp") })
	fsys.FailWrite(2, syscall.EIO) // 1: the lowered checkpoint, 2: TruncateTo's own
	if err := s.TruncateReplica(cut); err == nil {
		t.Fatal("truncate: want the injected checkpoint error")
	}
	s.abandon()
	mem.Crash()
	fsys.Clear()
	r, err := Open(o)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer r.Close()
	if r.MaxPhysicalOffset() != cut {
		t.Fatalf("log end %d, want %d", r.MaxPhysicalOffset(), cut)
	}
	if got := len(pullAll(t, r, "T", 0)); got != 3 {
		t.Fatalf("queue 0 has %d messages, want 3", got)
	}
}

// durableFaultStore opens a store on a crash-simulating, fault-injecting
// file system, fills segments and makes all of it durable (log and
// checkpoint); only the writes a test makes afterwards touch the
// checkpoint.
func durableFaultStore(t *testing.T, segments int64) (*vfs.StrictMem, *vfs.FaultFS, Options, *Store) {
	t.Helper()
	mem := vfs.NewStrictMem()
	fsys := vfs.NewFaultFS(mem)
	o := testOptions(t, fsys)
	o.MetaFlushInterval = time.Hour
	s := openStore(t, o)
	fillSegments(t, s, segments)
	waitDispatched(t, s)
	if err := s.syncCommitLog(s.MaxPhysicalOffset()); err != nil {
		t.Fatal(err)
	}
	if err := s.flushMeta(); err != nil {
		t.Fatal(err)
	}
	return mem, fsys, o, s
}
