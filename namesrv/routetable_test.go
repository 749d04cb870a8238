package namesrv

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

var (
	masterA = broker{cluster: "DefaultCluster", name: "broker-a", addr: "10.0.0.1:10911", haAddr: "10.0.0.1:10912", id: 0}
	slaveA  = broker{cluster: "DefaultCluster", name: "broker-a", addr: "10.0.0.2:10911", haAddr: "10.0.0.2:10912", id: 1}
	masterB = broker{cluster: "DefaultCluster", name: "broker-b", addr: "10.0.0.3:10911", haAddr: "10.0.0.3:10912", id: 0}
	masterC = broker{cluster: "OtherCluster", name: "broker-c", addr: "10.0.0.4:10911", id: 0}
)

func with(b broker, topics ...string) broker {
	b.topics = topics
	return b
}

func mustRegister(t *testing.T, rt *RouteTable, b broker, now time.Time) RegisterResult {
	t.Helper()
	res, err := rt.Register(b.registration(), now)
	if err != nil {
		t.Fatalf("register %s id %d: %v", b.name, b.id, err)
	}
	return res
}

func mustRoute(t *testing.T, rt *RouteTable, topic string) *protocol.TopicRouteData {
	t.Helper()
	r, ok := rt.Route(topic)
	if !ok {
		t.Fatalf("no route for %s", topic)
	}
	return r
}

func TestRouteTableRegisterMasterAndSlave(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	if res := mustRegister(t, rt, with(slaveA, "ignored"), now); res.MasterAddr != "" || !res.First {
		t.Fatalf("slave before master: %+v", res)
	}
	if res := mustRegister(t, rt, with(masterA, "T1", "T2"), now); res.MasterAddr != "" || !res.First {
		t.Fatalf("master: %+v", res)
	}
	res := mustRegister(t, rt, with(slaveA, "ignored"), now)
	if res.MasterAddr != masterA.addr || res.MasterHAServerAddr != masterA.haAddr || res.First {
		t.Fatalf("slave after master: %+v", res)
	}
	want := &protocol.TopicRouteData{
		QueueDatas: []protocol.QueueData{{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
		BrokerDatas: []protocol.BrokerData{{Cluster: "DefaultCluster", BrokerName: "broker-a",
			BrokerAddrs: map[int64]string{0: masterA.addr, 1: slaveA.addr}}},
	}
	if got := mustRoute(t, rt, "T1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("route T1:\n got %+v\nwant %+v", got, want)
	}
	if _, ok := rt.Route("ignored"); ok {
		t.Fatal("a slave's topic config reached the routes")
	}
	if got := rt.Stats(); got.BrokersLive != 2 || got.BrokerNames != 1 || got.Topics != 2 || got.Registrations != 3 {
		t.Fatalf("stats %+v", got)
	}
}

func TestRouteTableTopicQueueDataOnlyFromMaster(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	mustRegister(t, rt, with(slaveA, "T"), time.Now())
	if topics := rt.Topics(); len(topics) != 0 {
		t.Fatalf("slave-only broker set published topics %v", topics)
	}
	if _, ok := rt.Route("T"); ok {
		t.Fatal("route from a slave's topic table")
	}
	if ci := rt.ClusterInfo(); ci.BrokerAddrTable["broker-a"].BrokerAddrs[1] != slaveA.addr {
		t.Fatalf("slave not in cluster info: %+v", ci)
	}
}

func TestRouteTableReregisterUnderNewID(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	mustRegister(t, rt, with(masterA, "T"), now)
	mustRegister(t, rt, slaveA, now)
	// The master dies; its slave is promoted and registers as id 0.
	rt.Unregister(masterA.cluster, masterA.name, masterA.addr)
	promoted := with(slaveA, "T")
	promoted.id = 0
	if res := mustRegister(t, rt, promoted, now); !res.First {
		t.Fatalf("promotion is a first registration under the new id: %+v", res)
	}
	got := mustRoute(t, rt, "T").BrokerDatas[0].BrokerAddrs
	if want := map[int64]string{0: slaveA.addr}; !reflect.DeepEqual(got, want) {
		t.Fatalf("brokerAddrs %v, want %v", got, want)
	}
}

func TestRouteTableUnregisterLastAddrRemovesBrokerAndTopics(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	mustRegister(t, rt, with(masterA, "Shared", "OnlyA"), now)
	mustRegister(t, rt, slaveA, now)
	mustRegister(t, rt, with(masterB, "Shared"), now)

	if !rt.Unregister(masterA.cluster, masterA.name, masterA.addr) {
		t.Fatal("master A was live")
	}
	// The slave still holds broker-a: its queues stay routable for reads.
	if r := mustRoute(t, rt, "OnlyA"); !reflect.DeepEqual(r.BrokerDatas[0].BrokerAddrs, map[int64]string{1: slaveA.addr}) {
		t.Fatalf("after master left: %+v", r)
	}
	rt.Unregister(slaveA.cluster, slaveA.name, slaveA.addr)
	if _, ok := rt.Route("OnlyA"); ok {
		t.Fatal("topic of a vanished broker set is still routable")
	}
	r := mustRoute(t, rt, "Shared")
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-b" || len(r.BrokerDatas) != 1 {
		t.Fatalf("shared topic after broker-a left: %+v", r)
	}
	if got := rt.Topics(); !slices.Equal(got, []string{"Shared"}) {
		t.Fatalf("topics %v", got)
	}
	rt.Unregister(masterB.cluster, masterB.name, masterB.addr)
	ci := rt.ClusterInfo()
	if len(ci.BrokerAddrTable) != 0 || len(ci.ClusterAddrTable) != 0 || len(rt.Topics()) != 0 {
		t.Fatalf("table not empty: %+v topics %v", ci, rt.Topics())
	}
	if s := rt.Stats(); s.Unregistrations != 3 || s.BrokersLive != 0 {
		t.Fatalf("stats %+v", s)
	}
	if rt.Unregister(masterB.cluster, masterB.name, masterB.addr) {
		t.Fatal("second unregister reported a live broker")
	}
}

func TestRouteTableExpiryWithFakeClock(t *testing.T) {
	clock := newFakeClock()
	rt := NewRouteTable(120 * time.Second)
	mustRegister(t, rt, with(masterA, "T"), clock.Now())
	clock.Advance(60 * time.Second)
	mustRegister(t, rt, with(masterB, "T"), clock.Now())

	clock.Advance(60 * time.Second) // A is exactly 120 s old: not yet expired
	if gone := rt.Expire(clock.Now()); len(gone) != 0 {
		t.Fatalf("expired too early: %+v", gone)
	}
	clock.Advance(time.Millisecond)
	gone := rt.Expire(clock.Now())
	if len(gone) != 1 || gone[0].BrokerAddr != masterA.addr || gone[0].Timeout != 120*time.Second {
		t.Fatalf("expired %+v, want broker-a only", gone)
	}
	if r := mustRoute(t, rt, "T"); len(r.BrokerDatas) != 1 || r.BrokerDatas[0].BrokerName != "broker-b" {
		t.Fatalf("route after expiry: %+v", r)
	}
	clock.Advance(time.Minute)
	rt.Expire(clock.Now())
	if _, ok := rt.Route("T"); ok {
		t.Fatal("route survived the expiry of every broker")
	}
	if s := rt.Stats(); s.Expirations != 2 || s.BrokersLive != 0 || s.Topics != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRouteTableHeartbeatTimeoutHonoured(t *testing.T) {
	clock := newFakeClock()
	rt := NewRouteTable(120 * time.Second)
	short := with(masterA, "T")
	short.heartbeatTimeoutMillis = 10_000
	mustRegister(t, rt, short, clock.Now())
	mustRegister(t, rt, with(masterB, "T"), clock.Now())
	clock.Advance(10*time.Second + time.Millisecond)
	gone := rt.Expire(clock.Now())
	if len(gone) != 1 || gone[0].BrokerName != "broker-a" || gone[0].Timeout != 10*time.Second {
		t.Fatalf("expired %+v, want broker-a after its own 10 s", gone)
	}
}

func TestRouteTableQueryDataVersionRefreshesLiveness(t *testing.T) {
	clock := newFakeClock()
	rt := NewRouteTable(120 * time.Second)
	b := with(masterA, "T")
	b.counter = 7
	if stored, changed := rt.QueryDataVersion(b.cluster, b.addr, b.dataVersion(), clock.Now()); stored != nil || !changed {
		t.Fatalf("unknown broker: %v %v", stored, changed)
	}
	mustRegister(t, rt, b, clock.Now())
	for range 3 {
		clock.Advance(100 * time.Second)
		stored, changed := rt.QueryDataVersion(b.cluster, b.addr, b.dataVersion(), clock.Now())
		if changed || stored == nil || *stored != b.dataVersion() {
			t.Fatalf("same version: stored %v changed %v", stored, changed)
		}
		if gone := rt.Expire(clock.Now()); len(gone) != 0 {
			t.Fatalf("a broker that keeps asking expired: %+v", gone)
		}
	}
	newer := b
	newer.counter = 8
	if _, changed := rt.QueryDataVersion(b.cluster, b.addr, newer.dataVersion(), clock.Now()); !changed {
		t.Fatal("a newer data version must report changed")
	}
}

func TestRouteTableUnchangedDataVersionKeepsTopicTable(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	b := with(masterA, "T")
	mustRegister(t, rt, b, now)
	rt.DeleteTopic("T", "")
	// The same data version again: the table is not re-read, so an admin's
	// deletion sticks until the broker's topics actually change.
	mustRegister(t, rt, b, now)
	if _, ok := rt.Route("T"); ok {
		t.Fatal("unchanged re-registration rewrote the topic table")
	}
	b.counter++
	b.topics = []string{"T", "U"}
	mustRegister(t, rt, b, now)
	if got := rt.Topics(); !slices.Equal(got, []string{"T", "U"}) {
		t.Fatalf("topics after a changed registration: %v", got)
	}
}

func TestRouteTableStaleStateVersionRejected(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	current := masterA.registration()
	current.DataVersion.StateVersion = 5
	if _, err := rt.Register(current, now); err != nil {
		t.Fatal(err)
	}
	stale := slaveA.registration()
	stale.BrokerID = 0
	stale.DataVersion.StateVersion = 4
	if _, err := rt.Register(stale, now); !errors.Is(err, ErrStaleBroker) {
		t.Fatalf("stale master accepted: %v", err)
	}
	if got := rt.ClusterInfo().BrokerAddrTable["broker-a"].BrokerAddrs; !reflect.DeepEqual(got, map[int64]string{0: masterA.addr}) {
		t.Fatalf("rejected registration changed the table: %v", got)
	}
}

func TestRouteTableClusterInfo(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	for _, b := range []broker{masterA, slaveA, masterB, masterC} {
		mustRegister(t, rt, b, now)
	}
	ci := rt.ClusterInfo()
	wantClusters := map[string][]string{"DefaultCluster": {"broker-a", "broker-b"}, "OtherCluster": {"broker-c"}}
	if !reflect.DeepEqual(ci.ClusterAddrTable, wantClusters) {
		t.Fatalf("clusterAddrTable %v", ci.ClusterAddrTable)
	}
	if got := ci.BrokerAddrTable["broker-a"]; got.Cluster != "DefaultCluster" || len(got.BrokerAddrs) != 2 {
		t.Fatalf("broker-a %+v", got)
	}
	// The copy is the caller's: changing it must not change the table.
	ci.BrokerAddrTable["broker-a"].BrokerAddrs[9] = "x:1"
	if len(rt.ClusterInfo().BrokerAddrTable["broker-a"].BrokerAddrs) != 2 {
		t.Fatal("ClusterInfo shares its maps with the table")
	}
}

func TestRouteTableTopicList(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	if got := rt.Topics(); len(got) != 0 {
		t.Fatalf("empty table lists %v", got)
	}
	now := time.Now()
	mustRegister(t, rt, with(masterB, "zeta", "alpha"), now)
	mustRegister(t, rt, with(masterA, "mid", "alpha"), now)
	if got := rt.Topics(); !slices.Equal(got, []string{"alpha", "mid", "zeta"}) {
		t.Fatalf("topics %v", got)
	}
	if r := mustRoute(t, rt, "alpha"); r.QueueDatas[0].BrokerName != "broker-a" || r.BrokerDatas[1].BrokerName != "broker-b" {
		t.Fatalf("route not ordered by broker name: %+v", r)
	}
}

func TestRouteTableDeleteTopicInCluster(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	mustRegister(t, rt, with(masterA, "T"), now)
	mustRegister(t, rt, with(masterC, "T"), now)
	if !rt.DeleteTopic("T", "OtherCluster") {
		t.Fatal("nothing deleted")
	}
	if r := mustRoute(t, rt, "T"); len(r.QueueDatas) != 1 || r.QueueDatas[0].BrokerName != "broker-a" {
		t.Fatalf("route %+v", r)
	}
	if !rt.DeleteTopic("T", "") || rt.DeleteTopic("T", "") {
		t.Fatal("whole-topic delete")
	}
}

func TestRouteTableAddressMovesToAnotherBrokerName(t *testing.T) {
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	mustRegister(t, rt, with(masterA, "T"), now)
	moved := with(masterB, "U")
	moved.addr = masterA.addr
	mustRegister(t, rt, moved, now)
	if _, ok := rt.Route("T"); ok {
		t.Fatal("broker-a kept its topics after its only address moved away")
	}
	if s := rt.Stats(); s.BrokersLive != 1 || s.BrokerNames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// serverConns returns the server side of n fresh loopback connections.
func serverConns(t *testing.T, n int) []*remoting.Conn {
	t.Helper()
	accepted := make(chan *remoting.Conn, n)
	opts := remoting.DefaultServerOptions("127.0.0.1:0")
	opts.Logger = testLogger(t)
	opts.OnConnect = func(c *remoting.Conn) { accepted <- c }
	srv, err := remoting.Listen(opts, remoting.NewMux())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	out := make([]*remoting.Conn, 0, n)
	for range n {
		cl := newClient(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := cl.Conn(ctx, srv.Addr().String())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-accepted:
			out = append(out, c)
		case <-time.After(5 * time.Second):
			t.Fatal("connection not accepted")
		}
	}
	return out
}

func TestRouteTableRemoveConnection(t *testing.T) {
	conns := serverConns(t, 2)
	rt := NewRouteTable(time.Minute)
	now := time.Now()
	for _, b := range []broker{with(masterA, "T"), slaveA} {
		reg := b.registration()
		reg.Conn = conns[0]
		if _, err := rt.Register(reg, now); err != nil {
			t.Fatal(err)
		}
	}
	regB := with(masterB, "T").registration()
	regB.Conn = conns[1]
	if _, err := rt.Register(regB, now); err != nil {
		t.Fatal(err)
	}
	if gone := rt.RemoveConnection(conns[0]); len(gone) != 2 {
		t.Fatalf("removed %+v, want master and slave of broker-a", gone)
	}
	if r := mustRoute(t, rt, "T"); len(r.BrokerDatas) != 1 || r.BrokerDatas[0].BrokerName != "broker-b" {
		t.Fatalf("route %+v", r)
	}
	if s := rt.Stats(); s.ConnCloses != 2 {
		t.Fatalf("stats %+v", s)
	}
	// A registration served after its connection closed must not stick.
	conns[1].Close()
	if _, err := rt.Register(regB, now); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("register over a closed connection: %v", err)
	}
}
