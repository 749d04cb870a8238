package ha

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

const (
	testBroker  = "broker-a"
	testSegment = 1 << 20 // small segments so tests roll over several
	testTopic   = "HATopic"
	testQueues  = 4
)

// testLogger sends logs to t.Log until the test ends.
func testLogger(t testing.TB) *slog.Logger {
	var done atomic.Bool
	var mu sync.Mutex
	t.Cleanup(func() { mu.Lock(); done.Store(true); mu.Unlock() })
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if !done.Load() {
			t.Log(strings.TrimSuffix(string(p), "\n"))
		}
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// node is one broker's replicated state: a store and an epoch file in dir.
type node struct {
	t      testing.TB
	dir    string
	opts   store.Options
	st     *store.Store
	epochs *EpochFile
}

func storeOptions(dir string) store.Options {
	o := store.DefaultOptions()
	o.Dir = filepath.Join(dir, "store")
	o.FS = vfs.OS
	o.SegmentSize = testSegment
	o.MaxMessageSize = 256 << 10
	o.CQEntriesPerFile = 1000
	o.FlushInterval = 5 * time.Millisecond
	o.FlushThoroughInterval = 50 * time.Millisecond
	o.MetaFlushInterval = 20 * time.Millisecond
	o.CleanInterval = time.Hour
	o.IndexMaxHashSlots, o.IndexMaxCount = 1000, 20000
	o.StoreHost = netip.MustParseAddrPort("10.0.0.1:10911")
	o.DiskUsedRatio = func() (float64, error) { return 0.1, nil }
	return o
}

// newNode opens a store and epoch file in a fresh directory.
func newNode(t testing.TB) *node {
	n := &node{t: t, dir: t.TempDir()}
	n.opts = storeOptions(n.dir)
	n.open()
	return n
}

func (n *node) open() {
	n.t.Helper()
	st, err := store.Open(n.opts)
	if err != nil {
		n.t.Fatalf("open store: %v", err)
	}
	epochs, err := OpenEpochFile(filepath.Join(n.dir, "epochs"))
	if err != nil {
		n.t.Fatalf("open epochs: %v", err)
	}
	n.st, n.epochs = st, epochs
	n.t.Cleanup(func() { st.Close() })
}

func (n *node) close() {
	n.t.Helper()
	if err := n.st.Close(); err != nil {
		n.t.Fatalf("close store: %v", err)
	}
}

// reopen closes and reopens the store and the epoch file (a restart).
func (n *node) reopen() {
	n.t.Helper()
	n.close()
	n.open()
}

// startMaster starts a term on n (unless one is started already and keep
// is set) and runs a Master for it.
func startMaster(t testing.TB, n *node, tweak func(*MasterOptions)) *Master {
	t.Helper()
	o := DefaultMasterOptions()
	o.Listen = "127.0.0.1:0"
	o.Store, o.Epochs, o.BrokerName = n.st, n.epochs, testBroker
	o.Logger = testLogger(t)
	if tweak != nil {
		tweak(&o)
	}
	m, err := NewMaster(o)
	if err != nil {
		t.Fatalf("new master: %v", err)
	}
	runInBackground(t, m.Run, m.Close)
	return m
}

// startTerm begins a new master term on n.
func startTerm(t testing.TB, n *node) EpochEntry {
	t.Helper()
	e, err := n.epochs.StartTerm(n.st.MaxPhysicalOffset())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// startSlave runs a Slave for n following addr.
func startSlave(t testing.TB, n *node, addr func() string, id int64, tweak func(*SlaveOptions)) *Slave {
	t.Helper()
	o := DefaultSlaveOptions()
	o.MasterAddr, o.Store, o.Epochs, o.BrokerName, o.BrokerID = addr, n.st, n.epochs, testBroker, id
	o.ReconnectBackoff = 20 * time.Millisecond
	o.AckInterval = 100 * time.Millisecond
	o.Logger = testLogger(t)
	if tweak != nil {
		tweak(&o)
	}
	s, err := NewSlave(o)
	if err != nil {
		t.Fatalf("new slave: %v", err)
	}
	runInBackground(t, s.Run, s.Close)
	return s
}

// runInBackground runs run and closes it at cleanup, failing the test if
// Run returned an error.
func runInBackground(t testing.TB, run func(context.Context) error, stop func() error) {
	errc := make(chan error, 1)
	go func() { errc <- run(context.Background()) }()
	t.Cleanup(func() {
		stop()
		if err := <-errc; err != nil && !errors.Is(err, ErrClosed) { // ErrClosed: closed before Run began
			t.Errorf("run: %v", err)
		}
	})
}

// fixedAddr returns an address function for a Master.
func fixedAddr(m *Master) func() string {
	a := m.Addr().String()
	return func() string { return a }
}

// addrVar is a settable master address.
type addrVar struct{ v atomic.Pointer[string] }

func (a *addrVar) set(s string) { a.v.Store(&s) }
func (a *addrVar) get() string {
	if p := a.v.Load(); p != nil {
		return *p
	}
	return ""
}

// put appends count records of about size bytes to topic, spread over the
// queues, notifying m (when not nil) after each, and returns the log end.
func put(t testing.TB, st *store.Store, m *Master, topic string, count, size int) int64 {
	t.Helper()
	var end int64
	for i := range count {
		body := fmt.Appendf(nil, "%s-%d-%d|", topic, st.MaxPhysicalOffset(), i)
		body = append(body, bytes.Repeat([]byte{byte('a' + i%26)}, max(size-len(body), 0))...)
		r := &message.Record{Topic: topic, QueueID: int32(i % testQueues), Body: body, BornTimestamp: 1,
			BornHost: netip.MustParseAddrPort("10.0.0.9:5000")}
		res, err := st.PutMessage(r)
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		if m != nil {
			m.Notify()
		}
		end = res.End
	}
	return end
}

// waitReplicated blocks until WaitReplicated answers.
func waitReplicated(m *Master, end int64, acks int, timeout time.Duration) error {
	ch := make(chan error, 1)
	m.WaitReplicated(end, acks, timeout, func(err error) { ch <- err })
	return <-ch
}

// eventually polls cond for up to 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// assertSameLog checks that both commitlogs hold the same bytes in [from, to).
func assertSameLog(t testing.TB, a, b *store.Store, from, to int64) {
	t.Helper()
	for off := from; off < to; {
		x, err := a.ReadCommitLog(off, 1<<20)
		if err != nil {
			t.Fatalf("read master at %d: %v", off, err)
		}
		x = x[:min(int64(len(x)), to-off)]
		y, err := b.ReadCommitLog(off, len(x))
		if err != nil {
			t.Fatalf("read slave at %d: %v", off, err)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("commitlogs differ in [%d, %d)", off, off+int64(len(x)))
		}
		off += int64(len(x))
	}
}

// queueMessages returns, per queue of topic, the bodies of the messages at
// or after minPhys, with their queue offsets, once both stores dispatched.
func queueMessages(t testing.TB, st *store.Store, topic string, minPhys int64) [testQueues][]string {
	t.Helper()
	var out [testQueues][]string
	for qid := range int32(testQueues) {
		for off := st.MinOffset(topic, qid); off < st.MaxOffset(topic, qid); {
			res, err := st.GetMessages(topic, qid, off, 64, 1<<20, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status == store.Found {
				msgs, err := message.DecodeMessages(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if m.CommitLogOffset >= minPhys {
						out[qid] = append(out[qid], fmt.Sprintf("%d:%s", m.QueueOffset, m.Body))
					}
				}
			}
			if res.NextBeginOffset <= off {
				t.Fatalf("queue %d stuck at %d (%v) min %d max %d log [%d,%d)", qid, off, res.Status, st.MinOffset(topic, qid), st.MaxOffset(topic, qid), st.MinPhysicalOffset(), st.MaxPhysicalOffset())
			}
			off = res.NextBeginOffset
		}
	}
	return out
}

// assertSameQueues waits until the slave dispatched what the master did and
// compares the queues' messages (queue offsets included) from minPhys on.
func assertSameQueues(t testing.TB, master, slave *store.Store, topic string, minPhys int64) {
	t.Helper()
	eventually(t, "slave dispatch", func() bool {
		for qid := range int32(testQueues) {
			if master.MaxOffset(topic, qid) != slave.MaxOffset(topic, qid) || master.MaxOffset(topic, qid) == 0 {
				return false
			}
		}
		return true
	})
	want, got := queueMessages(t, master, topic, minPhys), queueMessages(t, slave, topic, minPhys)
	for qid := range want {
		if len(want[qid]) == 0 || len(got[qid]) != len(want[qid]) {
			t.Fatalf("queue %d: slave has %d messages, master %d", qid, len(got[qid]), len(want[qid]))
		}
		for i := range want[qid] {
			if got[qid][i] != want[qid][i] {
				t.Fatalf("queue %d message %d: slave %.40q, master %.40q", qid, i, got[qid][i], want[qid][i])
			}
		}
	}
}

// caughtUp waits until the slave's log reaches end.
func caughtUp(t testing.TB, n *node, end int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("slave at %d", end), func() bool { return n.st.MaxPhysicalOffset() >= end })
}
