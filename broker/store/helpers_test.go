package store

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// testOptions returns small, fast options on fsys (a fresh strict in-memory
// FS when nil).
func testOptions(t testing.TB, fsys vfs.FS) Options {
	t.Helper()
	o := DefaultOptions()
	if fsys == nil {
		fsys = vfs.NewStrictMem()
	}
	o.FS = fsys
	o.Dir = "/store"
	if fsys == vfs.OS {
		o.Dir = t.TempDir()
	}
	o.SegmentSize = 64 << 10
	o.MaxMessageSize = 16 << 10
	o.CQEntriesPerFile = 64
	o.FlushInterval = 5 * time.Millisecond
	o.FlushThoroughInterval = 20 * time.Millisecond
	o.MetaFlushInterval = 10 * time.Millisecond
	o.CleanInterval = time.Hour
	o.IndexMaxHashSlots = 97
	o.IndexMaxCount = 200
	o.StoreHost = netip.MustParseAddrPort("10.0.0.1:10911")
	o.DiskUsedRatio = func() (float64, error) { return 0.1, nil }
	return o
}

func openStore(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newRecord(topic string, qid int32, body string, props map[string]string) *message.Record {
	return &message.Record{
		Topic: topic, QueueID: qid, Body: []byte(body), BornTimestamp: 1,
		BornHost:   netip.MustParseAddrPort("10.0.0.9:5000"),
		Properties: message.EncodeProperties(props),
	}
}

func mustPut(t testing.TB, s *Store, r *message.Record) PutResult {
	t.Helper()
	res, err := s.PutMessage(r)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	return res
}

// waitDurable blocks until WaitDurable answers.
func waitDurable(s *Store, end int64) error {
	ch := make(chan error, 1)
	s.WaitDurable(end, func(err error) { ch <- err })
	return <-ch
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitDispatched waits until every queue shows what was confirmed.
func waitDispatched(t testing.TB, s *Store) {
	t.Helper()
	eventually(t, "dispatch", func() bool { return s.disp.dispatched.Load() >= s.ConfirmedOffset() })
}

// pullAll reads a whole queue and decodes it.
func pullAll(t testing.TB, s *Store, topic string, qid int32) []*message.MessageExt {
	t.Helper()
	var out []*message.MessageExt
	for off := s.MinOffset(topic, qid); ; {
		res, err := s.GetMessages(topic, qid, off, 32, 1<<20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != Found {
			return out
		}
		msgs, err := message.DecodeMessages(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != res.Count {
			t.Fatalf("count %d, decoded %d", res.Count, len(msgs))
		}
		out = append(out, msgs...)
		off = res.NextBeginOffset
	}
}

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func bodyOf(i int) string { return "msg-" + strconv.Itoa(i) + fmt.Sprintf("-%040d", i) }

// abandon stops the store the way a killed process stops: background work
// ends, nothing more is flushed or checkpointed, files are closed and the
// lock is released. Follow it with StrictMem.Crash to model a power cut.
func (s *Store) abandon() {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cl.appendMu.Lock()
		s.cl.appendMu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.flush.failAll(ErrClosed)
		s.closeFiles()
		s.closeErr = fmt.Errorf("abandoned")
	})
}
