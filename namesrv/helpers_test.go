package namesrv

import (
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// testLogWriter sends log lines to t.Log until the test's cleanups are
// done; a straggling goroutine logging later would otherwise panic.
type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	w := &testLogWriter{t: t}
	// Registered first, so it runs after every later cleanup.
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startNameServer runs a NameServer on a loopback port until the test ends.
func startNameServer(t testing.TB, tweak func(*Options)) *NameServer {
	t.Helper()
	opts := NewOptions()
	opts.Listen = "127.0.0.1:0"
	opts.Logger = testLogger(t)
	if tweak != nil {
		tweak(&opts)
	}
	ns, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ns.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		select {
		case err := <-done:
			// ErrClosed: the test ended before Run got going.
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return ns
}

// newClient returns a client that speaks JSON headers, as the Go client does.
func newClient(t testing.TB) *remoting.Client {
	opts := remoting.DefaultClientOptions()
	opts.Serialize = remoting.SerializeJSON
	opts.Logger = testLogger(t)
	cl := remoting.NewClient(opts)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// call sends req and fails the test on a transport error.
func call(t testing.TB, cl *remoting.Client, addr string, req *remoting.Command) *remoting.Command {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cl.Invoke(ctx, addr, req)
	if err != nil {
		t.Fatalf("code %d: %v", req.Code, err)
	}
	return resp
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1735200000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// broker describes a test broker and builds its requests.
type broker struct {
	cluster, name, addr, haAddr string
	id                          int64
	counter                     int64
	topics                      []string
	heartbeatTimeoutMillis      int64
}

func (b broker) header() protocol.BrokerHeader {
	return protocol.BrokerHeader{BrokerName: b.name, BrokerAddr: b.addr, ClusterName: b.cluster,
		HAServerAddr: b.haAddr, BrokerID: b.id, HeartbeatTimeoutMillis: b.heartbeatTimeoutMillis}
}

func (b broker) dataVersion() protocol.DataVersion {
	return protocol.DataVersion{Timestamp: 1735200000000, Counter: b.counter}
}

func (b broker) body() []byte {
	table := make(map[string]protocol.TopicConfig, len(b.topics))
	for _, topic := range b.topics {
		table[topic] = protocol.TopicConfig{TopicName: topic, ReadQueueNums: 4, WriteQueueNums: 4,
			Perm: protocol.PermReadWrite, TopicFilterType: "SINGLE_TAG", Attributes: map[string]string{}}
	}
	return protocol.Encode(protocol.RegisterBrokerBody{
		TopicConfigSerializeWrapper: protocol.TopicConfigWrapper{TopicConfigTable: table, DataVersion: b.dataVersion()},
		FilterServerList:            []string{},
	})
}

// registerRequest builds REGISTER_BROKER as a broker sends it, with the
// body's CRC in the header.
func (b broker) registerRequest() *remoting.Command {
	body := b.body()
	h := b.header()
	h.BodyCRC32 = int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF)
	return goRequest(protocol.RegisterBroker, h.Fields(), body)
}

func (b broker) unregisterRequest() *remoting.Command {
	return goRequest(protocol.UnregisterBroker, b.header().Fields(), nil)
}

func (b broker) registration() Registration {
	topics := make(map[string]protocol.TopicConfig, len(b.topics))
	for _, topic := range b.topics {
		topics[topic] = protocol.TopicConfig{TopicName: topic, ReadQueueNums: 4, WriteQueueNums: 4, Perm: protocol.PermReadWrite}
	}
	return Registration{Cluster: b.cluster, BrokerName: b.name, BrokerAddr: b.addr, BrokerID: b.id,
		HAServerAddr: b.haAddr, DataVersion: b.dataVersion(), Topics: topics,
		Timeout: time.Duration(b.heartbeatTimeoutMillis) * time.Millisecond}
}

// goRequest builds a request the way rocketmq-client-go does: language GO,
// version 317 (V4_5_2).
func goRequest(code int16, fields remoting.Fields, body []byte) *remoting.Command {
	req := remoting.NewRequest(code, fields, body)
	req.Version = protocol.ClientVersion
	return req
}

func routeRequest(topic string) *remoting.Command {
	return goRequest(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: topic}}, nil)
}

// goClientBrokerAddrs parses brokerAddrs as rocketmq-client-go does
// (internal/route.go): take the raw text, drop the first and last
// character, split on ',', split each part at the first ':', strip the
// quotes and parse the key, a bad key silently giving 0.
func goClientBrokerAddrs(raw string) map[int64]string {
	out := map[int64]string{}
	raw = raw[1 : len(raw)-1]
	for _, kv := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		id, _ := strconv.ParseInt(strings.ReplaceAll(k, `"`, ""), 10, 64)
		out[id] = strings.ReplaceAll(v, `"`, "")
	}
	return out
}

// goClientView is what the Go client reads of a route body.
type goClientView struct {
	OrderTopicConf *string          `json:"orderTopicConf"`
	QueueDatas     json.RawMessage  `json:"queueDatas"`
	BrokerDatas    []goClientBroker `json:"brokerDatas"`
}

type goClientBroker struct {
	Cluster     string          `json:"cluster"`
	BrokerName  string          `json:"brokerName"`
	BrokerAddrs json.RawMessage `json:"brokerAddrs"`
}
