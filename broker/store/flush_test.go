package store

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

func commitLogOnly(name string) bool { return strings.Contains(name, "/commitlog/") }

func TestStoreSyncFlushAckedSurvivesCrash(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	o.FlushMode = FlushSync
	s := openStore(t, o)
	var mu sync.Mutex
	acked := map[string]PutResult{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 60 {
				body := bodyOf(w*1000 + i)
				res, err := s.PutMessage(newRecord("T", int32(w%4), body, nil))
				if err != nil {
					return
				}
				s.WaitDurable(res.End, func(err error) {
					if err == nil {
						mu.Lock()
						acked[body] = res
						mu.Unlock()
					}
				})
			}
		})
	}
	wg.Wait()
	eventually(t, "acks", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) == 480 })
	s.abandon()
	mem.Crash()
	s2 := openStore(t, o)
	got := map[string]int64{}
	for qid := int32(0); qid < 4; qid++ {
		for i, m := range pullAll(t, s2, "T", qid) {
			if m.QueueOffset != int64(i) {
				t.Fatalf("queue %d not dense at %d", qid, i)
			}
			got[string(m.Body)] = m.CommitLogOffset
		}
	}
	for body, res := range acked {
		if off, ok := got[body]; !ok || off != res.PhysicalOffset {
			t.Fatalf("acked %s lost after crash (found=%v)", body, ok)
		}
	}
}

func TestStoreSyncFlushWaitsForSync(t *testing.T) {
	ffs := vfs.NewFaultFS(vfs.NewStrictMem())
	ffs.SetFilter(commitLogOnly)
	o := testOptions(t, ffs)
	o.FlushMode = FlushSync
	o.Prewrite = false // keep the warmer's syncs out of the count
	s := openStore(t, o)
	_, before := ffs.Counts()
	res := mustPut(t, s, newRecord("T", 0, "x", nil))
	if err := waitDurable(s, res.End); err != nil {
		t.Fatal(err)
	}
	if _, after := ffs.Counts(); after <= before {
		t.Fatal("acknowledged without an fdatasync")
	}
	if s.FlushedOffset() < res.End {
		t.Fatalf("flushed %d < end %d", s.FlushedOffset(), res.End)
	}
}

func TestStoreSyncFlushFailureIsNotAcked(t *testing.T) {
	ffs := vfs.NewFaultFS(vfs.NewStrictMem())
	ffs.SetFilter(commitLogOnly)
	o := testOptions(t, ffs)
	o.FlushMode = FlushSync
	o.Prewrite = false
	s := openStore(t, o)
	ffs.FailSync(1, syscall.EIO)
	res := mustPut(t, s, newRecord("T", 0, "x", nil))
	if err := waitDurable(s, res.End); err == nil || errors.Is(err, ErrFlushTimeout) {
		t.Fatalf("failed sync acknowledged: %v", err)
	}
	if _, err := s.PutMessage(newRecord("T", 0, "y", nil)); !errors.Is(err, ErrServiceNotAvailable) {
		t.Fatalf("put after failed sync: %v", err)
	}
	if err := waitDurable(s, res.End); err == nil {
		t.Fatal("later wait acknowledged unsynced data")
	}
	if s.Stats().Writable {
		t.Fatal("store still writable")
	}
	if s.ConfirmedOffset() >= res.End {
		t.Fatal("unsynced record made visible to consumers")
	}
}

func TestStoreSyncFlushTimeout(t *testing.T) {
	ffs := vfs.NewFaultFS(vfs.NewStrictMem())
	ffs.SetFilter(commitLogOnly)
	o := testOptions(t, ffs)
	o.FlushMode = FlushSync
	o.Prewrite = false
	o.SyncFlushTimeout = 30 * time.Millisecond
	s := openStore(t, o)
	ffs.SetSyncDelay(300 * time.Millisecond)
	res := mustPut(t, s, newRecord("T", 0, "x", nil))
	start := time.Now()
	if err := waitDurable(s, res.End); !errors.Is(err, ErrFlushTimeout) {
		t.Fatalf("slow sync: %v", err)
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Fatalf("timeout answered after %v, the sync itself took 300ms", el)
	}
	if s.Stats().FlushTimeouts == 0 {
		t.Fatal("timeout not counted")
	}
	ffs.Clear()
	eventually(t, "slow sync to finish", func() bool { return s.FlushedOffset() >= res.End })
	res = mustPut(t, s, newRecord("T", 0, "y", nil))
	if err := waitDurable(s, res.End); err != nil {
		t.Fatalf("after recovery of the disk: %v", err)
	}
}

func TestStoreAsyncFlushAcksAtOnceAndFlushes(t *testing.T) {
	o := testOptions(t, nil)
	s := openStore(t, o)
	res := mustPut(t, s, newRecord("T", 0, "x", nil))
	if err := waitDurable(s, res.End); err != nil {
		t.Fatal(err)
	}
	eventually(t, "async flush", func() bool { return s.FlushedOffset() >= res.End })
	if s.Stats().FsyncCount == 0 {
		t.Fatal("no fsync counted")
	}
}

func TestStoreWriteFailureLeavesNoPartialRecord(t *testing.T) {
	for _, prewrite := range []bool{false, true} {
		mem := vfs.NewStrictMem()
		ffs := vfs.NewFaultFS(mem)
		o := testOptions(t, ffs)
		o.Prewrite = prewrite
		o.FlushMode = FlushSync
		s := openStore(t, o)
		ok := map[string]bool{}
		put := func(i int) error {
			body := bodyOf(i) + strings.Repeat("p", 500)
			res, err := s.PutMessage(newRecord("T", 0, body, nil))
			if err == nil {
				if err = waitDurable(s, res.End); err == nil {
					ok[body] = true
				}
			}
			return err
		}
		for i := range 20 {
			if err := put(i); err != nil {
				t.Fatal(err)
			}
		}
		ffs.SetFilter(commitLogOnly)
		ffs.DiskFull(300) // the next record is cut short
		// Pre-written space still takes records; the first put that needs
		// new blocks fails, and so does every later one.
		failed, i := 0, 20
		for ; i < 400 && failed < 3; i++ {
			if err := put(i); err != nil {
				if !errors.Is(err, ErrServiceNotAvailable) {
					t.Fatalf("disk full: %v", err)
				}
				failed++
			} else if failed > 0 {
				t.Fatal("a put succeeded between failures on a full disk")
			}
		}
		if failed == 0 {
			t.Fatal("no put failed on a full disk")
		}
		ffs.Clear() // space freed: writes resume without a restart
		for j := i; j < i+5; j++ {
			if err := put(j); err != nil {
				t.Fatalf("prewrite=%v: put after disk freed: %v", prewrite, err)
			}
		}
		s.abandon()
		mem.Crash()
		s2 := openStore(t, o)
		msgs := pullAll(t, s2, "T", 0)
		if len(msgs) != len(ok) {
			t.Fatalf("prewrite=%v: %d messages after restart, %d acknowledged", prewrite, len(msgs), len(ok))
		}
		for i, m := range msgs {
			if !ok[string(m.Body)] || m.QueueOffset != int64(i) {
				t.Fatalf("unexpected message %q at %d", m.Body[:8], m.QueueOffset)
			}
		}
		s2.Close()
	}
}

func TestStoreSyncFlushVisibleWithoutWaiters(t *testing.T) {
	o := testOptions(t, nil)
	o.FlushMode = FlushSync
	s := openStore(t, o)
	res := mustPut(t, s, newRecord("T", 0, "no one waits", nil)) // e.g. WAIT=false
	eventually(t, "flush without a waiter", func() bool { return s.FlushedOffset() >= res.End })
	waitDispatched(t, s)
	if got := pullAll(t, s, "T", 0); len(got) != 1 {
		t.Fatalf("visible: %d", len(got))
	}
}
