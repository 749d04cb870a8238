package store

import (
	"errors"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// TestRecoveryRandomCrashes cuts power at random points under concurrent
// SYNC_FLUSH load, many times over one data directory, and checks after each
// restart that every acknowledged message is there, queues are dense, and no
// queue offset a consumer saw was reused for another message.
func TestRecoveryRandomCrashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	o.FlushMode = FlushSync
	acked := map[string]bool{}    // bodies acknowledged
	written := map[string]bool{}  // bodies whose put returned
	seen := map[[2]int64]string{} // (qid, queue offset) → body a consumer read
	lost := 0                     // written but not acknowledged, and gone after a crash
	deadline := time.Now().Add(4 * time.Second)
	iter := 0
	for ; iter < 40 && time.Now().Before(deadline); iter++ {
		o.Prewrite = rng.IntN(2) == 0
		s, err := Open(o)
		if err != nil {
			for q := 0; q < 3; q++ {
				dir := "/store/consumequeue/T/" + string(rune('0'+q))
				names, _ := mem.ReadDir(dir)
				for _, n := range names {
					st, _ := mem.Stat(dir + "/" + n)
					t.Logf("%s/%s %d", dir, n, st.Size())
				}
			}
			t.Fatalf("iteration %d: open: %v", iter, err)
		}
		present := checkRecovered(t, s, acked, seen, iter)
		for body := range written {
			if !present[body] {
				lost++
			}
		}
		clear(written)
		runLoad(s, rng.Uint64(), rng.IntN(600)+40, acked, written, seen)
		mem.Crash()
	}
	s := openStore(t, o)
	checkRecovered(t, s, acked, seen, iter)
	t.Logf("%d crashes, %d acknowledged, %d seen by the consumer, %d unacknowledged lost", iter, len(acked), len(seen), lost)

	if len(acked) < 500 {
		t.Fatalf("only %d messages acknowledged over %d crashes", len(acked), iter)
	}
}

// runLoad runs 4 producers and a consumer and stops the store like a kill
// at a random moment while they are busy.
func runLoad(s *Store, seed uint64, n int, acked, written map[string]bool, seen map[[2]int64]string) {
	var mu sync.Mutex
	var wg, callbacks sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range n / 4 {
				body := "m-" + strings.Repeat("x", rng.IntN(2000)) + "-" + bodyOf(int(seed%1e6)*1000+w*100+i)
				res, err := s.PutMessage(newRecord("T", int32(rng.IntN(3)), body, nil))
				if err != nil {
					return
				}
				mu.Lock()
				written[body] = true
				mu.Unlock()
				callbacks.Add(1)
				s.WaitDurable(res.End, func(err error) {
					defer callbacks.Done()
					if err == nil {
						mu.Lock()
						acked[body] = true
						mu.Unlock()
					}
				})
			}
		})
	}
	stop := make(chan struct{})
	var cwg sync.WaitGroup
	cwg.Go(func() { // a consumer reading what is visible
		for {
			select {
			case <-stop:
				return
			default:
			}
			for qid := int32(0); qid < 3; qid++ {
				res, err := s.GetMessages("T", qid, max(s.MaxOffset("T", qid)-5, 0), 8, 1<<20, nil)
				if err != nil || res.Status != Found {
					continue
				}
				msgs, _ := message.DecodeMessages(res.Body)
				mu.Lock()
				for _, m := range msgs {
					seen[[2]int64{int64(qid), m.QueueOffset}] = string(m.Body)
				}
				mu.Unlock()
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	time.Sleep(time.Duration(seed%4000) * time.Microsecond)
	s.abandon()
	wg.Wait()
	callbacks.Wait()
	close(stop)
	cwg.Wait()
}

func checkRecovered(t *testing.T, s *Store, acked map[string]bool, seen map[[2]int64]string, iter int) map[string]bool {
	t.Helper()
	present := map[string]bool{}
	for qid := int32(0); qid < 3; qid++ {
		msgs := pullAll(t, s, "T", qid)
		for i, m := range msgs {
			if m.QueueOffset != int64(i) {
				t.Fatalf("iteration %d: queue %d not dense: index %d has offset %d", iter, qid, i, m.QueueOffset)
			}
			present[string(m.Body)] = true
		}
		for k, body := range seen {
			if k[0] != int64(qid) {
				continue
			}
			if k[1] >= int64(len(msgs)) || string(msgs[k[1]].Body) != body {
				t.Fatalf("iteration %d: queue %d offset %d was seen by a consumer and is now gone or reused", iter, qid, k[1])
			}
		}
	}
	for body := range acked {
		if !present[body] {
			t.Fatalf("iteration %d: acknowledged message lost", iter)
		}
	}
	if end := s.MaxPhysicalOffset(); end > 0 {
		if s.FlushedOffset() != end {
			t.Fatalf("iteration %d: recovered log not durable: flushed %d end %d", iter, s.FlushedOffset(), end)
		}
	}
	return present
}

// tailStore writes n records with nothing flushed (so the checkpoint's
// flushed offset stays 0) and stops like a killed process, leaving the
// bytes in the OS files. It returns the options and the records' offsets.
func tailStore(t *testing.T, n int) (Options, []PutResult) {
	o := testOptions(t, vfs.OS)
	o.FlushInterval, o.FlushThoroughInterval = time.Hour, time.Hour
	o.Prewrite = false
	s := openStore(t, o)
	var res []PutResult
	for i := range n {
		res = append(res, mustPut(t, s, newRecord("T", 0, bodyOf(i), map[string]string{message.PropertyKeys: "k"})))
	}
	waitDispatched(t, s)
	time.Sleep(3 * o.MetaFlushInterval) // a checkpoint with CQs ahead of the flushed log
	s.abandon()
	return o, res
}

func lastSegmentFile(t *testing.T, o Options) string {
	names, err := o.FS.ReadDir(path.Join(o.Dir, commitLogDir))
	if err != nil || len(names) == 0 {
		t.Fatal(err)
	}
	return path.Join(o.Dir, commitLogDir, names[len(names)-1])
}

func modifyFile(t *testing.T, name string, f func(b []byte) []byte) {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryTornTails(t *testing.T) {
	const n = 20
	cases := []struct {
		name string
		keep int // records expected to survive
		mod  func(b []byte, last PutResult) []byte
	}{
		{"truncated mid-record", n - 1, func(b []byte, last PutResult) []byte { return b[:last.PhysicalOffset+30] }},
		{"garbage after the log", n, func(b []byte, last PutResult) []byte { return append(b, "\x00\x00\x01\x00garbage garbage"...) }},
		{"flipped crc in last record", n - 1, func(b []byte, last PutResult) []byte { b[last.PhysicalOffset+9] ^= 0x40; return b }},
		{"flipped body byte in last record", n - 1, func(b []byte, last PutResult) []byte { b[last.PhysicalOffset+90] ^= 1; return b }},
		{"zeroed tail", n - 3, func(b []byte, last PutResult) []byte {
			from := last.PhysicalOffset - 2*int64(last.Size)
			clear(b[from:])
			return b
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, res := tailStore(t, n)
			seg := lastSegmentFile(t, o)
			modifyFile(t, seg, func(b []byte) []byte { return c.mod(b, res[n-1]) })
			s := openStore(t, o)
			msgs := pullAll(t, s, "T", 0)
			if len(msgs) != c.keep {
				t.Fatalf("%d records survived, want %d", len(msgs), c.keep)
			}
			wantEnd := res[c.keep-1].PhysicalOffset + int64(res[c.keep-1].Size)
			if s.MaxPhysicalOffset() != wantEnd || s.MaxOffset("T", 0) != int64(c.keep) {
				t.Fatalf("log end %d (want %d), queue max %d", s.MaxPhysicalOffset(), wantEnd, s.MaxOffset("T", 0))
			}
			// New writes continue at the cut, with the next queue offset.
			r := mustPut(t, s, newRecord("T", 0, "after", nil))
			if r.PhysicalOffset != wantEnd || r.QueueOffset != int64(c.keep) {
				t.Fatalf("put after recovery %+v", r)
			}
		})
	}
}

func TestRecoveryCorruptionBelowFlushedIsRefused(t *testing.T) {
	o := testOptions(t, vfs.OS)
	o.Prewrite = false
	s := openStore(t, o)
	var res []PutResult
	for i := range 30 {
		res = append(res, mustPut(t, s, newRecord("T", 0, bodyOf(i), nil)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bad := res[10]
	modifyFile(t, lastSegmentFile(t, o), func(b []byte) []byte { b[bad.PhysicalOffset+95] ^= 0xFF; return b })
	_, err := Open(o)
	var ce *CorruptionErr
	if !errors.As(err, &ce) || ce.Offset != bad.PhysicalOffset || ce.Segment != segmentName(0) {
		t.Fatalf("open over mid-file corruption: %v", err)
	}
	o.Repair = true
	s = openStore(t, o)
	if got := s.MaxOffset("T", 0); got != 10 {
		t.Fatalf("repair kept %d records, want 10", got)
	}
}

func TestRecoveryCleanRestartKeepsEverything(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	s := openStore(t, o)
	for i := range 200 {
		mustPut(t, s, newRecord("T", int32(i%2), bodyOf(i)+strings.Repeat("c", 400), map[string]string{message.PropertyKeys: "key" + bodyOf(i)}))
	}
	end := s.MaxPhysicalOffset()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mem.Crash() // a clean close must have synced everything
	s = openStore(t, o)
	if s.MaxPhysicalOffset() != end || s.MaxOffset("T", 0) != 100 || s.MaxOffset("T", 1) != 100 {
		t.Fatalf("end %d/%d, queues %d %d", s.MaxPhysicalOffset(), end, s.MaxOffset("T", 0), s.MaxOffset("T", 1))
	}
	if got, _ := s.QueryByKey("T", "key"+bodyOf(7), 5, 0, 1<<62); len(got) != 1 {
		t.Fatalf("index after restart: %v", got)
	}
	if len(pullAll(t, s, "T", 1)) != 100 {
		t.Fatal("messages lost on clean restart")
	}
}

func TestRecoveryUncleanRebuildsConsumeQueues(t *testing.T) {
	o, res := tailStore(t, 50)
	o.MetaFlushInterval = time.Hour
	// Lose every ConsumeQueue file; the checkpoint still says they exist.
	if err := os.RemoveAll(path.Join(o.Dir, consumeQueueDir, "T")); err != nil {
		t.Fatal(err)
	}
	cp, _, _ := readCheckpoint(o.FS, path.Join(o.Dir, checkpointFile))
	cp.DispatchedOffset = 0
	if err := writeCheckpoint(o.FS, path.Join(o.Dir, checkpointFile), cp); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, o)
	msgs := pullAll(t, s, "T", 0)
	if len(msgs) != 50 || msgs[49].CommitLogOffset != res[49].PhysicalOffset {
		t.Fatalf("rebuilt %d entries", len(msgs))
	}
}

func TestRecoveryMissingSegmentsRefused(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	s := openStore(t, o)
	mustPut(t, s, newRecord("T", 0, "x", nil))
	s.Close()
	mem.RemoveAll(path.Join(o.Dir, commitLogDir, segmentName(0)))
	var ce *CorruptionErr
	if _, err := Open(o); !errors.As(err, &ce) {
		t.Fatalf("open without segments: %v", err)
	}
	// The same with an empty, prewritten next segment left behind: the
	// log would seem to start there, as after retention.
	f, err := mem.OpenFile(path.Join(o.Dir, commitLogDir, segmentName(o.SegmentSize)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(o.SegmentSize); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	if _, err := Open(o); !errors.As(err, &ce) || !strings.Contains(err.Error(), "segments are missing") {
		t.Fatalf("open with only a prewritten later segment: %v", err)
	}
}

// TestRecoveryCrashDropsUnsyncedTail checks the crash model itself: what
// was written but never synced is gone after a power cut, what was synced
// stays, and the queue continues densely.
func TestRecoveryCrashDropsUnsyncedTail(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	o.FlushInterval, o.FlushThoroughInterval, o.MetaFlushInterval = time.Hour, time.Hour, time.Hour
	o.Prewrite = false // the warmer's own fdatasync would make the tail durable too
	s := openStore(t, o)
	for i := range 10 {
		mustPut(t, s, newRecord("T", 0, bodyOf(i), nil))
	}
	if err := s.syncCommitLog(s.MaxPhysicalOffset()); err != nil {
		t.Fatal(err)
	}
	synced := s.MaxPhysicalOffset()
	for i := 10; i < 20; i++ {
		mustPut(t, s, newRecord("T", 0, bodyOf(i), nil))
	}
	s.abandon()
	mem.Crash()
	s = openStore(t, o)
	if s.MaxPhysicalOffset() != synced || s.MaxOffset("T", 0) != 10 {
		t.Fatalf("after crash: end %d (synced %d), queue max %d", s.MaxPhysicalOffset(), synced, s.MaxOffset("T", 0))
	}
	if res := mustPut(t, s, newRecord("T", 0, "next", nil)); res.QueueOffset != 10 || res.PhysicalOffset != synced {
		t.Fatalf("put after crash %+v", res)
	}
}
