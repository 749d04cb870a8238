package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/ha/hatest"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/testutil"
)

// haPair is a NameServer, a master and a slave of broker-a.
type haPair struct {
	ns            *testutil.NameServer
	master, slave *testutil.Broker
}

// startHAPair starts a master with role and a slave that finds it through
// the NameServer, or through masterHA when it is set (a proxy).
func startHAPair(t *testing.T, role broker.Role, tweakMaster func(*broker.Options), masterHA func(m *testutil.Broker) string) *haPair {
	t.Helper()
	ns := testutil.StartNameServer(t, nil)
	m := testutil.StartBroker(t, func(o *broker.Options) {
		o.Role = role
		o.SlaveTimeout = 500 * time.Millisecond
		if tweakMaster != nil {
			tweakMaster(o)
		}
	}, ns.Addr)
	s := testutil.StartBroker(t, func(o *broker.Options) {
		o.Role, o.BrokerID = broker.RoleSlave, 1
		o.MetadataSyncInterval = 200 * time.Millisecond
		if masterHA != nil {
			o.MasterHAAddr = masterHA(m)
		}
	}, ns.Addr)
	testutil.Eventually(t, 15*time.Second, func() bool {
		st := s.Replication().Slave
		return st != nil && st.Connected
	}, "slave never connected to its master")
	return &haPair{ns: ns, master: m, slave: s}
}

// sameLog checks the slave's CommitLog holds the master's bytes up to end.
func sameLog(t *testing.T, m, s *testutil.Broker, end int64) {
	t.Helper()
	for off := int64(0); off < end; {
		a, err := m.Store().ReadCommitLog(off, 1<<20)
		if err != nil {
			t.Fatalf("master read at %d: %v", off, err)
		}
		b, err := s.Store().ReadCommitLog(off, len(a))
		if err != nil {
			t.Fatalf("slave read at %d: %v", off, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("commitlogs differ in [%d, %d)", off, off+int64(len(a)))
		}
		off += int64(len(a))
	}
}

// TestBrokerHASyncMaster: every SEND_OK of a SYNC_MASTER is already on the
// slave; the slave's log is byte-identical and its queues serve the
// messages.
func TestBrokerHASyncMaster(t *testing.T) {
	p := startHAPair(t, broker.RoleSyncMaster, nil, nil)
	w := newWire(t, p.master.Addr)
	w.createTopic("Replicated", 2)
	for i := range 200 {
		resp := w.send("Replicated", int32(i%2), fmt.Sprint("r-", i), nil)
		if resp.Code != protocol.Success {
			t.Fatalf("send %d: %d %s", i, resp.Code, resp.Remark)
		}
		// SEND_OK means a slave acknowledged it.
		if got, end := p.slave.Store().MaxPhysicalOffset(), p.master.Store().MaxPhysicalOffset(); got < end {
			t.Fatalf("send %d acknowledged with the slave at %d < %d", i, got, end)
		}
	}
	sameLog(t, p.master, p.slave, p.master.Store().MaxPhysicalOffset())
	sw := newWire(t, p.slave.Addr)
	sw.waitMax("Replicated", 0, 100)
	sw.heartbeat("127.0.0.1@1", "cg", subAll("Replicated"))
	got := 0
	for off := int64(0); off < 100; {
		pl := sw.pull("cg", "Replicated", 0, off, 0, 0)
		if pl.code != protocol.Success {
			t.Fatalf("slave pull at %d: %d", off, pl.code)
		}
		got += len(pl.msgs)
		off = pl.hdr.NextBeginOffset
	}
	if got != 100 {
		t.Fatalf("slave served %d of 100", got)
	}
	// A consumer ahead of the slave (it read from the master what the slave
	// has not got yet) keeps its offset: the slave never moves it.
	if pl := sw.pull("cg", "Replicated", 0, 150, 0, 0); pl.code != protocol.PullNotFound || pl.hdr.NextBeginOffset != 150 {
		t.Fatalf("slave pull ahead of its log: code %d next %d, want %d next 150", pl.code, pl.hdr.NextBeginOffset, protocol.PullNotFound)
	}
	// The group's retry topic, created on the master after the last copy of
	// its topics, reads as empty rather than missing.
	sw.heartbeat("127.0.0.1@1", "cg", subAll("Replicated"), subAll("%RETRY%cg"))
	if pl := sw.pull("cg", "%RETRY%cg", 0, 0, 0, 0); pl.code != protocol.PullNotFound {
		t.Fatalf("slave pull of an uncopied retry topic: code %d", pl.code)
	}
	if st := p.master.Replication().Slaves; len(st) != 1 || !st[0].InSync || st[0].LagBytes != 0 {
		t.Fatalf("master's view of its slave: %+v", st)
	}
	mi, si := runtimeInfo(t, w), runtimeInfo(t, sw)
	if mi["slave.1.inSync"] != "true" || mi["slave.1.lagBytes"] != "0" || mi["slave.1.lagMessagesEstimate"] != "0" ||
		mi["slave.1.ackedOffset"] != mi["commitLogMaxOffset"] {
		t.Fatalf("master runtime info: %v", mi)
	}
	if si["haConnected"] != "true" || si["commitLogMaxOffset"] != mi["commitLogMaxOffset"] || si["epoch"] != mi["epoch"] {
		t.Fatalf("slave runtime info: %v\nmaster: %v", si, mi)
	}
}

func runtimeInfo(t *testing.T, w *wire) map[string]string {
	t.Helper()
	r := w.call(protocol.GetBrokerRuntimeInfo, nil, nil)
	var kv struct {
		Table map[string]string `json:"table"`
	}
	if err := protocol.Decode(r.Body, &kv); err != nil {
		t.Fatal(err)
	}
	return kv.Table
}

// TestBrokerHASyncMasterWithoutSlave answers SLAVE_NOT_AVAILABLE: the
// message is stored on the master only.
func TestBrokerHASyncMasterWithoutSlave(t *testing.T) {
	b := testutil.StartBroker(t, func(o *broker.Options) { o.Role = broker.RoleSyncMaster })
	w := newWire(t, b.Addr)
	w.createTopic("Alone", 1)
	if r := w.send("Alone", 0, "x", nil); r.Code != protocol.SlaveNotAvailable {
		t.Fatalf("send without a slave: %d %s", r.Code, r.Remark)
	}
	if r := w.send("Alone", 0, "y", map[string]string{"WAIT": "false"}); r.Code != protocol.Success {
		t.Fatalf("WAIT=false send: %d", r.Code)
	}
}

// TestBrokerHAPartition cuts the master–slave link: SYNC_MASTER answers
// FLUSH_SLAVE_TIMEOUT instead of SEND_OK while cut; after healing the slave
// catches up and both logs are equal.
func TestBrokerHAPartition(t *testing.T) {
	var proxy *hatest.Proxy
	p := startHAPair(t, broker.RoleSyncMaster, nil, func(m *testutil.Broker) string {
		var err error
		if proxy, err = hatest.NewProxy(m.HAAddr()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proxy.Close() })
		return proxy.Addr()
	})
	w := newWire(t, p.master.Addr)
	w.createTopic("Cut", 1)
	if r := w.send("Cut", 0, "before", nil); r.Code != protocol.Success {
		t.Fatalf("send before the cut: %d %s", r.Code, r.Remark)
	}
	proxy.Block()
	for i := range 3 {
		if r := w.send("Cut", 0, fmt.Sprint("during-", i), nil); r.Code != protocol.FlushSlaveTimeout {
			t.Fatalf("send %d during the cut: %d %s, want FLUSH_SLAVE_TIMEOUT", i, r.Code, r.Remark)
		}
	}
	proxy.Unblock()
	testutil.Eventually(t, 15*time.Second, func() bool {
		return w.send("Cut", 0, "after", nil).Code == protocol.Success
	}, "SYNC_MASTER never acknowledged again after the link healed")
	end := p.master.Store().MaxPhysicalOffset()
	testutil.Eventually(t, 10*time.Second, func() bool { return p.slave.Store().MaxPhysicalOffset() >= end },
		"slave did not catch up")
	sameLog(t, p.master, p.slave, end)
}

// TestBrokerHASlaveOffsetsSurviveMasterReturn: while the master is down a
// consumer commits on the slave; the master, back, learns the offset from
// the slave and never goes back to an older one.
func TestBrokerHASlaveOffsetsSurviveMasterReturn(t *testing.T) {
	ns := testutil.StartNameServer(t, nil)
	mopts := testutil.BrokerOptions(t, ns.Addr)
	mopts.Role = broker.RoleSyncMaster
	m1, err := broker.New(mopts)
	if err != nil {
		t.Fatal(err)
	}
	go m1.Run(t.Context())
	masterAddr, masterHA := m1.AdvertisedAddr(), m1.HAAddr()
	s := testutil.StartBroker(t, func(o *broker.Options) {
		o.Role, o.BrokerID = broker.RoleSlave, 1
		o.MetadataSyncInterval = 200 * time.Millisecond
		o.MasterAddr, o.MasterHAAddr = masterAddr, masterHA
	}, ns.Addr)
	mw := newWire(t, masterAddr)
	mw.createTopic("Offsets", 1)
	testutil.Eventually(t, 15*time.Second, func() bool {
		return mw.send("Offsets", 0, "m", nil).Code == protocol.Success
	}, "slave never in sync")
	for range 9 {
		mw.mustSend("Offsets", 0, "m", nil)
	}
	mw.call(protocol.UpdateConsumerOffset, protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Offsets", QueueID: 0, CommitOffset: 3}.Fields(), nil)
	sw := newWire(t, s.Addr)
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, off := sw.queueOffset(protocol.QueryConsumerOffset, "cg", "Offsets", 0)
		return off == 3
	}, "slave never copied the offset")
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}
	// The master is down: the consumer goes on on the slave.
	sw.waitMax("Offsets", 0, 10)
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Offsets", QueueID: 0, CommitOffset: 8}
	if r := sw.call(protocol.UpdateConsumerOffset, h.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("commit on the slave: %d %s", r.Code, r.Remark)
	}
	mopts.Listen, mopts.HAListen = masterAddr, masterHA
	m2 := testutil.StartBrokerWith(t, mopts)
	mw2 := newWire(t, m2.Addr)
	testutil.Eventually(t, 15*time.Second, func() bool {
		_, off := mw2.queueOffset(protocol.QueryConsumerOffset, "cg", "Offsets", 0)
		return off == 8
	}, "the restarted master never learned the offset committed on the slave")
	time.Sleep(600 * time.Millisecond) // more sync rounds: nothing moves back
	if _, off := sw.queueOffset(protocol.QueryConsumerOffset, "cg", "Offsets", 0); off != 8 {
		t.Fatalf("slave offset after the master's return: %d", off)
	}
}

// TestBrokerHASlaveCopiesMetadataOnChange: a topic created and a group
// first seen on the master reach the slave within seconds, long before its
// periodic copy.
func TestBrokerHASlaveCopiesMetadataOnChange(t *testing.T) {
	ns := testutil.StartNameServer(t, nil)
	m := testutil.StartBroker(t, func(o *broker.Options) { o.Role = broker.RoleSyncMaster }, ns.Addr)
	s := testutil.StartBroker(t, func(o *broker.Options) {
		o.Role, o.BrokerID = broker.RoleSlave, 1
		o.MetadataSyncInterval = time.Hour
		o.MetadataWatchInterval = 100 * time.Millisecond
	}, ns.Addr)
	testutil.Eventually(t, 15*time.Second, func() bool {
		st := s.Replication().Slave
		return st != nil && st.Connected
	}, "slave never connected to its master")
	sw := newWire(t, s.Addr)
	has := func(code int16, name string) bool {
		r := sw.call(code, nil, nil)
		return r.Code == protocol.Success && bytes.Contains(r.Body, []byte(`"`+name+`"`))
	}
	time.Sleep(300 * time.Millisecond) // the slave's first copy is done
	w := newWire(t, m.Addr)
	w.createTopic("CreatedLater", 2)
	w.heartbeat("127.0.0.1@9", "group-later", subAll("CreatedLater"))
	testutil.Eventually(t, 10*time.Second, func() bool {
		return has(protocol.GetAllTopicConfig, "CreatedLater") && has(protocol.GetAllSubscriptionGroupConfig, "group-later")
	}, "the slave never copied the new topic and group")
}

// TestBrokerHAAsyncMasterWaitForReplication: an ASYNC_MASTER answers at
// once; WaitForReplication(end) returns once the slave has everything, and
// the slave's log is then byte-identical, across several topics and queues.
func TestBrokerHAAsyncMasterWaitForReplication(t *testing.T) {
	p := startHAPair(t, broker.RoleAsyncMaster, nil, nil)
	w := newWire(t, p.master.Addr)
	w.createTopic("AsyncA", 4)
	w.createTopic("AsyncB", 1)
	for i := range 300 {
		w.mustSend("AsyncA", int32(i%4), fmt.Sprint("a-", i), nil)
		w.mustSend("AsyncB", 0, fmt.Sprint("b-", i), nil)
	}
	end := p.master.Store().MaxPhysicalOffset()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.master.WaitForReplication(ctx, end, 1); err != nil {
		t.Fatal(err)
	}
	if got := p.slave.Store().MaxPhysicalOffset(); got < end {
		t.Fatalf("WaitForReplication(%d) returned with the slave at %d", end, got)
	}
	sameLog(t, p.master, p.slave, end)
	// Two slaves were never there: the wait times out.
	short, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	if err := p.master.WaitForReplication(short, end, 2); err == nil {
		t.Fatal("WaitForReplication for two slaves succeeded with one")
	}
}
