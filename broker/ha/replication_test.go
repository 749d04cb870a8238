package ha

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/ha/hatest"
	"github.com/sluicehq/sluice/internal/message"
)

func TestHAReplicatesAcrossSegments(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, func(o *MasterOptions) { o.BatchSize = 64 << 10 })
	s := startSlave(t, sn, fixedAddr(m), 1, nil)

	end := put(t, mn.st, m, testTopic, 2000, 1000)
	// A batch and records bigger than the frame batch size.
	items := []message.BatchItem{{Body: make([]byte, 3000)}, {Body: make([]byte, 5000)}}
	res, err := mn.st.PutBatch(&message.Record{Topic: testTopic, QueueID: 1}, items)
	if err != nil {
		t.Fatal(err)
	}
	m.Notify()
	end = max(end, res.End)
	end = max(end, put(t, mn.st, m, testTopic, 8, 100<<10))
	end = max(end, put(t, mn.st, m, testTopic, 1500, 900))
	if end < 3*testSegment {
		t.Fatalf("only %d bytes written; want several segments", end)
	}
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatalf("wait replicated: %v", err)
	}
	caughtUp(t, sn, end)
	assertSameLog(t, mn.st, sn.st, 0, end)
	assertSameQueues(t, mn.st, sn.st, testTopic, 0)

	eventually(t, "slave status", func() bool {
		st := s.Status()
		return st.Connected && st.Offset == end && st.MasterOffset == end && st.Epoch == 1
	})
	eventually(t, "master's view of the slave", func() bool {
		ss := m.Slaves()
		return len(ss) == 1 && ss[0].BrokerID == 1 && ss[0].AckedOffset == end && ss[0].LagBytes == 0 &&
			ss[0].InSync && ss[0].Epoch == 1 && ss[0].StartOffset == 0
	})
	if got := m.ReplicatedOffset(1); got != end {
		t.Fatalf("ReplicatedOffset(1) = %d, want %d", got, end)
	}
	if got := m.ReplicatedOffset(2); got != 0 {
		t.Fatalf("ReplicatedOffset(2) with one slave = %d", got)
	}
	if got := sn.epochs.Entries(); !slices.Equal(got, []EpochEntry{{1, 0}}) {
		t.Fatalf("slave epochs %v", got)
	}
}

func TestHASlaveRestartResumesFromItsEnd(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	s := startSlave(t, sn, fixedAddr(m), 1, nil)
	end := put(t, mn.st, m, testTopic, 1500, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, sn, end)
	s.Close()
	sn.reopen()
	have := sn.st.MaxPhysicalOffset()
	end = put(t, mn.st, m, testTopic, 800, 1000)

	startSlave(t, sn, fixedAddr(m), 1, nil)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ss := m.Slaves(); len(ss) != 1 || ss[0].StartOffset != have {
		t.Fatalf("restarted slave streamed from %+v, want its own end %d", ss, have)
	}
	caughtUp(t, sn, end)
	assertSameLog(t, mn.st, sn.st, 0, end)
	assertSameQueues(t, mn.st, sn.st, testTopic, 0)
}

func TestHAMasterRestartStartsNewEpoch(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	var addr addrVar
	addr.set(m.Addr().String())
	s := startSlave(t, sn, addr.get, 1, nil)
	end1 := put(t, mn.st, m, testTopic, 1200, 1000)
	if err := waitReplicated(m, end1, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	m.Close()
	mn.reopen()
	if e := startTerm(t, mn); e != (EpochEntry{2, end1}) {
		t.Fatalf("new term %v", e)
	}
	m2 := startMaster(t, mn, nil)
	addr.set(m2.Addr().String())
	end2 := put(t, mn.st, m2, testTopic, 1200, 1000)
	if err := waitReplicated(m2, end2, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, sn, end2)
	assertSameLog(t, mn.st, sn.st, 0, end2)
	assertSameQueues(t, mn.st, sn.st, testTopic, 0)
	if got := sn.epochs.Entries(); !slices.Equal(got, []EpochEntry{{1, 0}, {2, end1}}) {
		t.Fatalf("slave epochs %v", got)
	}
	eventually(t, "slave epoch 2", func() bool { return s.Status().Epoch == 2 })
	if ss := m2.Slaves(); len(ss) != 1 || ss[0].StartOffset != end1 {
		t.Fatalf("after the master restart the slave streamed from %+v, want %d", ss, end1)
	}
}

// The slave was master in epoch 2 and wrote records the current master
// (epoch 3) never had: the handshake cuts exactly those, and the slave
// then holds the master's bytes.
func TestHADivergentSlaveTruncatesToCommonPoint(t *testing.T) {
	a, b := newNode(t), newNode(t)
	startTerm(t, a)
	ma := startMaster(t, a, nil)
	sb := startSlave(t, b, fixedAddr(ma), 1, nil)
	common := put(t, a.st, ma, testTopic, 600, 1000)
	if err := waitReplicated(ma, common, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	ma.Close()

	// b takes over in epoch 2 (restarted as master, as classic mode does:
	// a live promotion would first need the store's next queue offsets
	// synced, AppendRaw does not advance them) and writes a tail nobody
	// replicates.
	b.reopen()
	if e := startTerm(t, b); e != (EpochEntry{2, common}) {
		t.Fatalf("b's term %v", e)
	}
	bEnd := put(t, b.st, nil, "OnlyOnB", 700, 1000)
	put(t, b.st, nil, testTopic, 10, 1000)
	// a comes back as master of epoch 3 (a controller would hand out the
	// number; a never saw epoch 2) and writes less than b did.
	if err := a.epochs.Append(EpochEntry{3, common}); err != nil {
		t.Fatal(err)
	}
	aEnd := put(t, a.st, nil, testTopic, 300, 1000)
	if aEnd >= bEnd {
		t.Fatalf("a (%d) should be shorter than b (%d)", aEnd, bEnd)
	}
	b.reopen()

	ma = startMaster(t, a, nil)
	startSlave(t, b, fixedAddr(ma), 1, nil)
	end := put(t, a.st, ma, testTopic, 100, 1000)
	if err := waitReplicated(ma, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ss := ma.Slaves(); len(ss) != 1 || ss[0].StartOffset != common {
		t.Fatalf("slave resumed at %+v, want the common point %d", ss, common)
	}
	caughtUp(t, b, end)
	assertSameLog(t, a.st, b.st, 0, end)
	assertSameQueues(t, a.st, b.st, testTopic, 0)
	if got := b.st.MaxOffset("OnlyOnB", 0); got != 0 {
		t.Fatalf("the divergent topic still has %d messages", got)
	}
	if got := b.epochs.Entries(); !slices.Equal(got, []EpochEntry{{1, 0}, {3, common}}) {
		t.Fatalf("slave epochs %v", got)
	}
}

// The master lost a tail the slave has (same epoch): after the master's
// restart (new epoch at its shorter end) the slave cuts that tail.
func TestHASlaveAheadInSameEpochIsCut(t *testing.T) {
	a, b := newNode(t), newNode(t)
	startTerm(t, a)
	ma := startMaster(t, a, nil)
	sb := startSlave(t, b, fixedAddr(ma), 1, nil)
	aEnd := put(t, a.st, ma, testTopic, 500, 1000)
	if err := waitReplicated(ma, aEnd, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	ma.Close()
	// Simulate bytes a lost: append epoch-1 records to b only.
	b.reopen()
	put(t, b.st, nil, "LostOnA", 300, 1000)
	b.reopen()
	a.reopen()
	startTerm(t, a)
	ma = startMaster(t, a, nil)
	startSlave(t, b, fixedAddr(ma), 1, nil)
	end := put(t, a.st, ma, testTopic, 200, 1000)
	if err := waitReplicated(ma, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, b, end)
	assertSameLog(t, a.st, b.st, 0, end)
	if got := b.st.MaxOffset("LostOnA", 0); got != 0 {
		t.Fatalf("the lost tail still has %d messages", got)
	}
	if ss := ma.Slaves(); len(ss) != 1 || ss[0].StartOffset != aEnd {
		t.Fatalf("slave resumed at %+v, want %d", ss, aEnd)
	}
}

// A slave whose next offset the master already deleted starts over, empty,
// at the master's oldest segment.
func TestHASlaveBelowMasterMinResets(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	var full atomic.Bool
	mn.opts.DiskUsedRatio = func() (float64, error) {
		if full.Load() {
			return 0.99, nil
		}
		return 0.1, nil
	}
	mn.opts.CleanInterval = 20 * time.Millisecond
	mn.reopen()
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	s := startSlave(t, sn, fixedAddr(m), 1, nil)
	end := put(t, mn.st, m, testTopic, 500, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Close()
	put(t, mn.st, m, testTopic, 4000, 1000)
	full.Store(true)
	eventually(t, "master retention", func() bool { return mn.st.MinPhysicalOffset() >= 3*testSegment })
	full.Store(false)
	// A retention pass that read "full" before the switch may still delete a
	// segment: wait until the start stays put for several passes.
	minOff := mn.st.MinPhysicalOffset()
	for stable := 0; stable < 5; {
		time.Sleep(mn.opts.CleanInterval)
		if now := mn.st.MinPhysicalOffset(); now != minOff {
			minOff, stable = now, 0
		} else {
			stable++
		}
	}

	startSlave(t, sn, fixedAddr(m), 1, nil)
	end = put(t, mn.st, m, testTopic, 300, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, sn, end)
	if got := sn.st.MinPhysicalOffset(); got != minOff {
		t.Fatalf("slave log starts at %d, want the master's %d", got, minOff)
	}
	assertSameLog(t, mn.st, sn.st, minOff, end)
	assertSameQueues(t, mn.st, sn.st, testTopic, minOff)

	// And it survives a restart at the new start.
	sn.reopen()
	if sn.st.MinPhysicalOffset() != minOff || sn.st.MaxPhysicalOffset() != end {
		t.Fatalf("after restart: [%d, %d)", sn.st.MinPhysicalOffset(), sn.st.MaxPhysicalOffset())
	}
}

// Cut off, the slave cannot ack: WaitReplicated times out and the slave
// leaves the in-sync set; healed, it catches up and the logs are equal.
func TestHAWaitReplicatedTimesOutWhenSlaveCutOff(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, func(o *MasterOptions) { o.NotInSyncAfter = 300 * time.Millisecond })
	p, err := hatest.NewProxy(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	startSlave(t, sn, p.Addr, 1, nil)
	end := put(t, mn.st, m, testTopic, 300, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in sync", func() bool { ss := m.Slaves(); return len(ss) == 1 && ss[0].InSync })

	p.Block()
	end = put(t, mn.st, m, testTopic, 300, 1000)
	start := time.Now()
	if err := waitReplicated(m, end, 1, 300*time.Millisecond); !errors.Is(err, ErrReplicationTimeout) {
		t.Fatalf("wait while cut off: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timeout answered after %v", d)
	}
	eventually(t, "slave out of sync", func() bool { ss := m.Slaves(); return len(ss) == 1 && !ss[0].InSync })

	p.Unblock()
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	// A dropped connection is re-established and replication continues.
	p.DropConns()
	end = put(t, mn.st, m, testTopic, 300, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
	caughtUp(t, sn, end)
	assertSameLog(t, mn.st, sn.st, 0, end)
	assertSameQueues(t, mn.st, sn.st, testTopic, 0)
	eventually(t, "back in sync", func() bool { ss := m.Slaves(); return len(ss) == 1 && ss[0].InSync })
}

func TestHATwoSlavesReplicatedOffset(t *testing.T) {
	mn, s1, s2 := newNode(t), newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	p, err := hatest.NewProxy(m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	startSlave(t, s1, fixedAddr(m), 1, nil)
	startSlave(t, s2, p.Addr, 2, nil)
	end := put(t, mn.st, m, testTopic, 400, 1000)
	if err := waitReplicated(m, end, 2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Block()
	end2 := put(t, mn.st, m, testTopic, 400, 1000)
	if err := waitReplicated(m, end2, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := waitReplicated(m, end2, 2, 200*time.Millisecond); !errors.Is(err, ErrReplicationTimeout) {
		t.Fatalf("two acks with one slave cut off: %v", err)
	}
	if r1, r2 := m.ReplicatedOffset(1), m.ReplicatedOffset(2); r1 != end2 || r2 < end || r2 >= end2 {
		t.Fatalf("ReplicatedOffset(1)=%d (want %d), (2)=%d (want in [%d, %d))", r1, end2, r2, end, end2)
	}
	p.Unblock()
	if err := waitReplicated(m, end2, 2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if ss := m.Slaves(); len(ss) != 2 || ss[0].BrokerID != 1 || ss[1].BrokerID != 2 {
		t.Fatalf("slaves %+v", ss)
	}
}

func TestHASlaveWaitsForMasterAddress(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	var addr addrVar
	s := startSlave(t, sn, addr.get, 1, nil)
	end := put(t, mn.st, m, testTopic, 50, 1000)
	time.Sleep(50 * time.Millisecond)
	if s.Status().Connected {
		t.Fatal("connected without an address")
	}
	addr.set(m.Addr().String())
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "status", func() bool { return s.Status().MasterAddr == m.Addr().String() })
}

func TestHACloseAnswersPendingWaits(t *testing.T) {
	mn := newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	end := put(t, mn.st, m, testTopic, 10, 100)
	got := make(chan error, 2)
	m.WaitReplicated(end, 1, time.Hour, func(err error) { got <- err })
	m.Close()
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending wait at close: %v", err)
	}
	m.WaitReplicated(end, 1, time.Hour, func(err error) { got <- err })
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestHANewMasterRequiresATerm(t *testing.T) {
	mn := newNode(t)
	o := DefaultMasterOptions()
	o.Listen, o.Store, o.Epochs, o.BrokerName = "127.0.0.1:0", mn.st, mn.epochs, testBroker
	if _, err := NewMaster(o); err == nil {
		t.Fatal("NewMaster without a term succeeded")
	}
	o.BatchSize = 10
	if err := o.Validate(); err == nil {
		t.Fatal("tiny BatchSize accepted")
	}
	so := DefaultSlaveOptions()
	if err := so.Validate(); err == nil {
		t.Fatal("empty slave options accepted")
	}
}

// A slave that was away over two master restarts catches up through three
// epochs in one stream: frames split at the epoch boundaries and the slave
// records each epoch with the master's start offset.
func TestHASlaveCatchesUpAcrossEpochs(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	put(t, mn.st, nil, testTopic, 300, 1000)
	e2 := startTerm(t, mn)
	put(t, mn.st, nil, testTopic, 300, 1000)
	e3 := startTerm(t, mn)
	m := startMaster(t, mn, func(o *MasterOptions) { o.BatchSize = 1 << 20 })
	end := put(t, mn.st, m, testTopic, 300, 1000)
	startSlave(t, sn, fixedAddr(m), 1, nil)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, sn, end)
	assertSameLog(t, mn.st, sn.st, 0, end)
	if got, want := sn.epochs.Entries(), []EpochEntry{{1, 0}, e2, e3}; !slices.Equal(got, want) {
		t.Fatalf("slave epochs %v, want %v", got, want)
	}
	assertSameQueues(t, mn.st, sn.st, testTopic, 0)
}

// WaitReplicated never answers on the caller's goroutine, even when the
// answer is known at once.
func TestHAWaitReplicatedNeverCallsBackInline(t *testing.T) {
	mn := newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	end := put(t, mn.st, m, testTopic, 10, 100)
	for _, acks := range []int{0, -1} {
		got := make(chan uint64, 1)
		m.WaitReplicated(end, acks, time.Second, func(err error) {
			if err != nil {
				t.Errorf("acks %d: %v", acks, err)
			}
			got <- goroutineID()
		})
		if id := <-got; id == goroutineID() {
			t.Fatalf("acks %d: done ran on the caller's goroutine", acks)
		}
	}
}

// goroutineID parses the current goroutine's id from its stack header.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}
