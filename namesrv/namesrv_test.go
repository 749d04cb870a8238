package namesrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// Addresses of loopback brokers; nothing listens on them, the NameServer
// only stores them.
var (
	netMaster = broker{cluster: "DefaultCluster", name: "broker-a", addr: "127.0.0.1:10911", haAddr: "127.0.0.1:10912", id: 0}
	netSlave  = broker{cluster: "DefaultCluster", name: "broker-a", addr: "127.0.0.1:10921", haAddr: "127.0.0.1:10922", id: 1}
	netOther  = broker{cluster: "DefaultCluster", name: "broker-b", addr: "127.0.0.1:10931", haAddr: "127.0.0.1:10932", id: 0}
)

func mustSucceed(t *testing.T, resp *remoting.Command) *remoting.Command {
	t.Helper()
	if resp.Code != protocol.Success {
		t.Fatalf("code %d remark %q", resp.Code, resp.Remark)
	}
	return resp
}

func routeCode(t *testing.T, cl *remoting.Client, addr, topic string) int16 {
	return call(t, cl, addr, routeRequest(topic)).Code
}

func TestNameServerRegisterAndRoute(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	mustSucceed(t, call(t, cl, addr, with(netMaster, "TopicTest").registerRequest()))
	mustSucceed(t, call(t, cl, addr, netSlave.registerRequest()))

	resp := mustSucceed(t, call(t, cl, addr, routeRequest("TopicTest")))
	const want = `{"orderTopicConf":null,"queueDatas":[{"brokerName":"broker-a","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0}],` +
		`"brokerDatas":[{"cluster":"DefaultCluster","brokerName":"broker-a","brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}}],"filterServerTable":{}}`
	if string(resp.Body) != want {
		t.Fatalf("route body\n got %s\nwant %s", resp.Body, want)
	}
	if resp.Serialize != remoting.SerializeJSON {
		t.Fatalf("reply serialized as %d, the Go client needs JSON", resp.Serialize)
	}
	checkGoClientRoute(t, resp.Body, map[string]map[int64]string{
		"broker-a": {0: netMaster.addr, 1: netSlave.addr},
	})
}

// checkGoClientRoute reads a route body the way rocketmq-client-go does and
// compares the broker addresses it would find.
func checkGoClientRoute(t *testing.T, body []byte, want map[string]map[int64]string) {
	t.Helper()
	if bytes.ContainsAny(body, " \t\r\n") {
		t.Fatalf("route JSON is not compact: %s", body)
	}
	var view goClientView
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatalf("route JSON: %v", err)
	}
	if len(view.QueueDatas) == 0 || view.QueueDatas[0] != '[' {
		t.Fatalf("queueDatas is not an array: %s", view.QueueDatas)
	}
	if view.OrderTopicConf != nil && *view.OrderTopicConf != "" {
		t.Fatalf("orderTopicConf %q would replace the publish queues", *view.OrderTopicConf)
	}
	got := map[string]map[int64]string{}
	for _, bd := range view.BrokerDatas {
		if len(bd.BrokerAddrs) < 2 || bd.BrokerAddrs[0] != '{' {
			t.Fatalf("brokerAddrs of %s is not an object: %s", bd.BrokerName, bd.BrokerAddrs)
		}
		got[bd.BrokerName] = goClientBrokerAddrs(string(bd.BrokerAddrs))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Go client would see %v, want %v", got, want)
	}
}

func TestNameServerRouteUnknownTopic(t *testing.T) {
	ns := startNameServer(t, nil)
	cl := newClient(t)
	resp := call(t, cl, ns.Addr().String(), routeRequest("NoSuchTopic"))
	if resp.Code != protocol.TopicNotExist || resp.Remark != "No topic route info in name server for the topic: NoSuchTopic" {
		t.Fatalf("got code %d remark %q", resp.Code, resp.Remark)
	}
	if len(resp.Body) != 0 {
		t.Fatalf("body on 17: %s", resp.Body)
	}
	missing := call(t, cl, ns.Addr().String(), goRequest(protocol.GetRouteInfoByTopic, nil, nil))
	if missing.Code == protocol.Success {
		t.Fatal("route without a topic field succeeded")
	}
}

func TestNameServerSlaveRegisterReplyCarriesMaster(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	early := mustSucceed(t, call(t, cl, addr, netSlave.registerRequest()))
	if got := protocol.ParseRegisterBrokerResult(early.ExtFields); got.MasterAddr != "" || got.HAServerAddr != "" {
		t.Fatalf("slave reply before the master registered: %+v", got)
	}
	master := mustSucceed(t, call(t, cl, addr, netMaster.registerRequest()))
	if got := protocol.ParseRegisterBrokerResult(master.ExtFields); got.MasterAddr != "" {
		t.Fatalf("master told of a master: %+v", got)
	}
	resp := mustSucceed(t, call(t, cl, addr, netSlave.registerRequest()))
	got := protocol.ParseRegisterBrokerResult(resp.ExtFields)
	if got.MasterAddr != netMaster.addr || got.HAServerAddr != netMaster.haAddr {
		t.Fatalf("slave reply %+v, want master %s HA %s", got, netMaster.addr, netMaster.haAddr)
	}
}

func TestNameServerConnectionCloseRemovesBroker(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	stays, leaves := newClient(t), newClient(t)
	mustSucceed(t, call(t, stays, addr, with(netOther, "T").registerRequest()))
	mustSucceed(t, call(t, leaves, addr, with(netMaster, "T", "OnlyA").registerRequest()))
	mustSucceed(t, call(t, stays, addr, routeRequest("OnlyA")))

	leaves.CloseConn(addr)
	eventually(t, 5*time.Second, "broker-a removed on close", func() bool {
		return routeCode(t, stays, addr, "OnlyA") == protocol.TopicNotExist
	})
	resp := mustSucceed(t, call(t, stays, addr, routeRequest("T")))
	checkGoClientRoute(t, resp.Body, map[string]map[int64]string{"broker-b": {0: netOther.addr}})
	if s := ns.Stats(); s.ConnCloses != 1 || s.BrokersLive != 1 || s.Expirations != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNameServerExpiry(t *testing.T) {
	ns := startNameServer(t, func(o *Options) {
		o.BrokerExpiry = 300 * time.Millisecond
		o.ScanInterval = 50 * time.Millisecond
	})
	addr := ns.Addr().String()
	cl := newClient(t)
	mustSucceed(t, call(t, cl, addr, with(netMaster, "T").registerRequest()))
	mustSucceed(t, call(t, cl, addr, routeRequest("T")))
	// The connection stays open: only the scanner can remove the broker.
	eventually(t, 5*time.Second, "broker expired", func() bool {
		return routeCode(t, cl, addr, "T") == protocol.TopicNotExist
	})
	if s := ns.Stats(); s.Expirations != 1 || s.BrokersLive != 0 || s.ConnCloses != 0 {
		t.Fatalf("stats %+v", s)
	}
	// It comes back with its next registration.
	mustSucceed(t, call(t, cl, addr, with(netMaster, "T").registerRequest()))
	mustSucceed(t, call(t, cl, addr, routeRequest("T")))
}

func queryDataVersion(t *testing.T, cl *remoting.Client, addr string, b broker) *remoting.Command {
	t.Helper()
	fields := remoting.Fields{{Key: "brokerName", Value: b.name}, {Key: "brokerAddr", Value: b.addr},
		{Key: "clusterName", Value: b.cluster}, {Key: "brokerId", Value: "0"}}
	return call(t, cl, addr, goRequest(protocol.QueryDataVersion, fields, protocol.Encode(b.dataVersion())))
}

func TestNameServerQueryDataVersionKeepsBrokerAlive(t *testing.T) {
	ns := startNameServer(t, func(o *Options) {
		o.BrokerExpiry = 400 * time.Millisecond
		o.ScanInterval = 50 * time.Millisecond
	})
	addr := ns.Addr().String()
	cl := newClient(t)
	b := with(netMaster, "T")
	b.counter = 3
	if resp := mustSucceed(t, queryDataVersion(t, cl, addr, b)); resp.ExtFields.Value("changed") != "true" {
		t.Fatalf("unknown broker: %v", resp)
	}
	mustSucceed(t, call(t, cl, addr, b.registerRequest()))
	deadline := time.Now().Add(1200 * time.Millisecond) // three expiry periods
	for time.Now().Before(deadline) {
		resp := mustSucceed(t, queryDataVersion(t, cl, addr, b))
		var stored protocol.DataVersion
		if err := json.Unmarshal(resp.Body, &stored); err != nil || stored != b.dataVersion() {
			t.Fatalf("stored version %s (%v)", resp.Body, err)
		}
		if resp.ExtFields.Value("changed") != "false" {
			t.Fatalf("changed = %q for the registered version", resp.ExtFields.Value("changed"))
		}
		mustSucceed(t, call(t, cl, addr, routeRequest("T")))
		time.Sleep(100 * time.Millisecond) // the broker's query period, not a wait for state
	}
	b.counter++
	if resp := mustSucceed(t, queryDataVersion(t, cl, addr, b)); resp.ExtFields.Value("changed") != "true" {
		t.Fatalf("newer version: %v", resp)
	}
}

func TestNameServerBadBodyCRC(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	req := with(netMaster, "T").registerRequest()
	req.ExtFields.Set("bodyCrc32", "12345")
	resp := call(t, cl, addr, req)
	if resp.Code != protocol.SystemError || !strings.Contains(resp.Remark, "crc32") {
		t.Fatalf("bad crc: code %d remark %q", resp.Code, resp.Remark)
	}
	if s := ns.Stats(); s.Registrations != 0 || s.BrokersLive != 0 || s.Topics != 0 {
		t.Fatalf("something registered: %+v", s)
	}
	if code := routeCode(t, cl, addr, "T"); code != protocol.TopicNotExist {
		t.Fatalf("route code %d", code)
	}
	// No CRC (0) skips the check, as in Apache RocketMQ.
	req = with(netMaster, "T").registerRequest()
	req.ExtFields.Set("bodyCrc32", "0")
	mustSucceed(t, call(t, cl, addr, req))
}

func TestNameServerRejectsMalformedRegistrations(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	good := with(netMaster, "T").registerRequest()
	cases := map[string]*remoting.Command{}
	for name, body := range map[string]string{
		"not JSON":       `{"topicConfigSerializeWrapper":`,
		"wrong type":     `{"topicConfigSerializeWrapper":{"topicConfigTable":[]}}`,
		"string numbers": `{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"readQueueNums":"4"}}}}`,
		"huge number":    `{"topicConfigSerializeWrapper":{"dataVersion":{"counter":1e400}}}`,
		"binary":         "\x00\xff\x01",
	} {
		req := goRequest(protocol.RegisterBroker, netMaster.header().Fields(), []byte(body))
		cases["body "+name] = req
	}
	for name, kv := range map[string][2]string{
		"no brokerAddr":   {"brokerAddr", ""},
		"addr with comma": {"brokerAddr", "127.0.0.1:1,2"},
		"addr no port":    {"brokerAddr", "127.0.0.1"},
		"negative id":     {"brokerId", "-1"},
		"id not a number": {"brokerId", "one"},
		"compressed":      {"compressed", "true"},
		"bad ha addr":     {"haServerAddr", "{x}:1"},
	} {
		req := goRequest(protocol.RegisterBroker, append(remoting.Fields(nil), good.ExtFields...), good.Body)
		req.ExtFields.Set(kv[0], kv[1])
		cases["header "+name] = req
	}
	for name, req := range cases {
		resp := call(t, cl, addr, req)
		if resp.Code == protocol.Success {
			t.Errorf("%s: accepted", name)
			continue
		}
		t.Logf("%s: code %d remark %q", name, resp.Code, resp.Remark)
	}
	if s := ns.Stats(); s.Registrations != 0 || s.BrokersLive != 0 {
		t.Fatalf("a malformed registration got in: %+v", s)
	}
	// The connection survived every rejection.
	mustSucceed(t, call(t, cl, addr, good))
}

func TestNameServerEmptyBodyRegistersBrokerWithoutTopics(t *testing.T) {
	ns := startNameServer(t, nil)
	cl := newClient(t)
	mustSucceed(t, call(t, cl, ns.Addr().String(), goRequest(protocol.RegisterBroker, netMaster.header().Fields(), nil)))
	if s := ns.Stats(); s.BrokersLive != 1 || s.Topics != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNameServerUpdateConfigRefused(t *testing.T) {
	ns := startNameServer(t, nil)
	cl := newClient(t)
	body := []byte("rocketmqHome=/tmp/evil\nconfigStorePath=/etc/passwd")
	resp := call(t, cl, ns.Addr().String(), goRequest(protocol.UpdateNameServerConfig, nil, body))
	if resp.Code != protocol.NoPermission {
		t.Fatalf("code %d remark %q, want NO_PERMISSION", resp.Code, resp.Remark)
	}
	if unknown := call(t, cl, ns.Addr().String(), goRequest(100, nil, nil)); unknown.Code != protocol.RequestCodeNotSupported {
		t.Fatalf("PUT_KV_CONFIG: code %d", unknown.Code)
	}
}

func TestNameServerTwoIndependentNameServers(t *testing.T) {
	ns1, ns2 := startNameServer(t, nil), startNameServer(t, nil)
	cl := newClient(t)
	for _, ns := range []*NameServer{ns1, ns2} {
		mustSucceed(t, call(t, cl, ns.Addr().String(), with(netMaster, "T").registerRequest()))
	}
	for _, ns := range []*NameServer{ns1, ns2} {
		resp := mustSucceed(t, call(t, cl, ns.Addr().String(), routeRequest("T")))
		checkGoClientRoute(t, resp.Body, map[string]map[int64]string{"broker-a": {0: netMaster.addr}})
	}
	// They share nothing: leaving one leaves the other untouched.
	mustSucceed(t, call(t, cl, ns1.Addr().String(), netMaster.unregisterRequest()))
	if code := routeCode(t, cl, ns1.Addr().String(), "T"); code != protocol.TopicNotExist {
		t.Fatalf("ns1 route code %d after unregister", code)
	}
	mustSucceed(t, call(t, cl, ns2.Addr().String(), routeRequest("T")))
}

func TestNameServerUnregister(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	mustSucceed(t, call(t, cl, addr, with(netMaster, "T").registerRequest()))
	mustSucceed(t, call(t, cl, addr, netSlave.registerRequest()))
	mustSucceed(t, call(t, cl, addr, netMaster.unregisterRequest()))
	resp := mustSucceed(t, call(t, cl, addr, routeRequest("T")))
	checkGoClientRoute(t, resp.Body, map[string]map[int64]string{"broker-a": {1: netSlave.addr}})
	mustSucceed(t, call(t, cl, addr, netSlave.unregisterRequest()))
	if code := routeCode(t, cl, addr, "T"); code != protocol.TopicNotExist {
		t.Fatalf("route code %d after the last address left", code)
	}
}

func TestNameServerClusterInfoAndTopicList(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	empty := mustSucceed(t, call(t, cl, addr, goRequest(protocol.GetAllTopicListFromNameServer, nil, nil)))
	if string(empty.Body) != `{"topicList":[]}` {
		t.Fatalf("empty topic list %s", empty.Body)
	}
	mustSucceed(t, call(t, cl, addr, with(netMaster, "B", "A").registerRequest()))
	mustSucceed(t, call(t, cl, addr, with(netOther, "C").registerRequest()))

	list := mustSucceed(t, call(t, cl, addr, goRequest(protocol.GetAllTopicListFromNameServer, nil, nil)))
	if string(list.Body) != `{"topicList":["A","B","C"]}` {
		t.Fatalf("topic list %s", list.Body)
	}
	resp := mustSucceed(t, call(t, cl, addr, goRequest(protocol.GetBrokerClusterInfo, nil, nil)))
	var ci protocol.ClusterInfo
	if err := protocol.Decode(resp.Body, &ci); err != nil {
		t.Fatal(err)
	}
	if got := ci.ClusterAddrTable["DefaultCluster"]; !reflect.DeepEqual(got, []string{"broker-a", "broker-b"}) {
		t.Fatalf("clusterAddrTable %s", resp.Body)
	}
	if bd := ci.BrokerAddrTable["broker-b"]; bd.MasterAddr() != netOther.addr {
		t.Fatalf("brokerAddrTable %s", resp.Body)
	}
}

func TestNameServerDeleteTopic(t *testing.T) {
	ns := startNameServer(t, nil)
	addr := ns.Addr().String()
	cl := newClient(t)
	mustSucceed(t, call(t, cl, addr, with(netMaster, "T", "U").registerRequest()))
	mustSucceed(t, call(t, cl, addr, goRequest(protocol.DeleteTopicInNameServer, remoting.Fields{{Key: "topic", Value: "T"}}, nil)))
	if code := routeCode(t, cl, addr, "T"); code != protocol.TopicNotExist {
		t.Fatalf("deleted topic: code %d", code)
	}
	mustSucceed(t, call(t, cl, addr, routeRequest("U")))
}

func TestNameServerRunAndClose(t *testing.T) {
	opts := NewOptions()
	opts.Listen = "127.0.0.1:0"
	opts.Logger = testLogger(t)
	ns, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ns.Run(ctx) }()
	cl := newClient(t)
	mustSucceed(t, call(t, cl, ns.Addr().String(), with(netMaster, "T").registerRequest()))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run ignored the cancelled context")
	}
	for range 2 {
		if err := ns.Close(); err != nil {
			t.Fatalf("close after run: %v", err)
		}
	}
	if err := ns.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
	if _, err := cl.Invoke(ctxTimeout(t, time.Second), ns.Addr().String(), routeRequest("T")); err == nil {
		t.Fatal("a closed name server answered")
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestNameServerListenError(t *testing.T) {
	ns := startNameServer(t, nil)
	opts := NewOptions()
	opts.Listen = ns.Addr().String()
	if _, err := New(opts); err == nil {
		t.Fatal("two name servers bound one port")
	}
}
