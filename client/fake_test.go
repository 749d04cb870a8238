package client

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// fakeServer is a remoting server with scripted handlers, standing in for a
// NameServer or broker in unit tests.
type fakeServer struct {
	addr string
	mu   sync.Mutex
	hits map[int16]int
	reqs []*remoting.Command
}

func startFake(t *testing.T, handlers map[int16]remoting.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{hits: make(map[int16]int)}
	mux := remoting.NewMux()
	for code, h := range handlers {
		mux.Handle(code, func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			f.mu.Lock()
			f.hits[code]++
			f.reqs = append(f.reqs, req)
			f.mu.Unlock()
			return h(c, req)
		})
	}
	srv, err := remoting.Listen(remoting.DefaultServerOptions("127.0.0.1:0"), mux)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	f.addr = srv.Addr().String()
	return f
}

func (f *fakeServer) count(code int16) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[code]
}

func (f *fakeServer) requests(code int16) []*remoting.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*remoting.Command
	for _, r := range f.reqs {
		if r.Code == code {
			out = append(out, r)
		}
	}
	return out
}

// fakeNameServer serves routes: topic -> route; missing topics get 17.
func fakeNameServer(t *testing.T, routes map[string]*protocol.TopicRouteData) *fakeServer {
	return startFake(t, map[int16]remoting.HandlerFunc{
		protocol.GetRouteInfoByTopic: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			r, ok := routes[req.ExtFields.Value("topic")]
			if !ok {
				return req.NewResponse(protocol.TopicNotExist, "no route"), nil
			}
			resp := req.NewResponse(protocol.Success, "")
			resp.Body = r.Encode()
			return resp, nil
		},
	})
}

// sendReply answers a send with code and a plausible header.
func sendReply(code int16) remoting.HandlerFunc {
	var mu sync.Mutex
	offsets := map[string]int64{}
	return func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		h, err := protocol.ParseSendHeader(req)
		if err != nil {
			return nil, err
		}
		resp := req.NewResponse(code, "scripted")
		if code <= protocol.FlushSlaveTimeout {
			mu.Lock()
			key := h.Topic + "#" + strconv.Itoa(int(h.QueueID))
			off := offsets[key]
			offsets[key]++
			mu.Unlock()
			resp.ExtFields = protocol.SendResponseHeader{MsgID: "7F00000100002A9F0000000000000000", QueueID: h.QueueID, QueueOffset: off}.Fields()
		}
		return resp, nil
	}
}

func twoBrokerRoute(a, b string) *protocol.TopicRouteData {
	return &protocol.TopicRouteData{
		QueueDatas: []protocol.QueueData{
			{BrokerName: "broker-a", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6},
			{BrokerName: "broker-b", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6},
		},
		BrokerDatas: []protocol.BrokerData{
			{Cluster: "c", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: a}},
			{Cluster: "c", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: b}},
		},
	}
}

// testLogger writes to t.Log until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func fakeProducer(t *testing.T, ns string, tweak func(*ProducerOptions)) *Producer {
	t.Helper()
	o := NewProducerOptions(ns)
	o.ClientOptions.Logger = testLogger(t)
	o.ClientOptions.HeartbeatInterval = time.Hour
	o.SendTimeout = time.Second
	if tweak != nil {
		tweak(&o)
	}
	p, err := NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

func TestClientSendRetriesOnAnotherBroker(t *testing.T) {
	bad := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.SystemError)})
	good := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.Success)})
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": twoBrokerRoute(bad.addr, good.addr)})
	p := fakeProducer(t, ns.addr, nil)
	ctx := context.Background()
	for i := range 20 {
		res, err := p.SendSync(ctx, NewMessage("T", []byte("x")))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.Queue.BrokerName != "broker-b" || res.Status != SendOK {
			t.Fatalf("send %d stored on %s (%s)", i, res.Queue, res.Status)
		}
	}
	// The failing broker was tried once, then avoided for FaultBackoff.
	if n := bad.count(protocol.SendMessage); n != 1 {
		t.Errorf("failing broker got %d sends, want 1", n)
	}
	if s := p.Stats(); s.Sent != 20 || s.SendRetries != 1 || s.SendErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestClientSendPinnedQueueNeverRerouted(t *testing.T) {
	bad := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.ServiceNotAvailable)})
	good := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.Success)})
	route := twoBrokerRoute(bad.addr, good.addr)
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": route})
	p := fakeProducer(t, ns.addr, nil)
	mqs := buildRoute("T", route, false).publish
	key := ""
	for i := 0; key == ""; i++ { // a key that hashes to the failing broker
		if k := "k" + strconv.Itoa(i); HashQueue(k, mqs).BrokerName == "broker-a" {
			key = k
		}
	}
	_, err := p.SendSync(context.Background(), NewMessage("T", []byte("x")).WithShardingKey(key))
	var be *BrokerError
	if !errors.As(err, &be) || be.Code != protocol.ServiceNotAvailable {
		t.Fatalf("err %v, want the broker's code 14", err)
	}
	if n, g := bad.count(protocol.SendMessage), good.count(protocol.SendMessage); n != 3 || g != 0 {
		t.Errorf("pinned send: %d attempts on its broker, %d elsewhere; want 3 and 0", n, g)
	}
	// An explicit queue behaves the same.
	_, err = p.SendToQueue(context.Background(), mqs[0], NewMessage("T", []byte("x")))
	if err == nil || good.count(protocol.SendMessage) != 0 {
		t.Errorf("explicit queue rerouted: err %v", err)
	}
}

func TestClientSendStoredStatusesNotRetried(t *testing.T) {
	for code, want := range map[int16]SendStatus{
		protocol.FlushDiskTimeout:  SendFlushDiskTimeout,
		protocol.FlushSlaveTimeout: SendFlushSlaveTimeout,
		protocol.SlaveNotAvailable: SendSlaveNotAvailable,
	} {
		b := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(code)})
		ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": twoBrokerRoute(b.addr, b.addr)})
		p := fakeProducer(t, ns.addr, nil)
		res, err := p.SendSync(context.Background(), NewMessage("T", []byte("x")))
		if err != nil || res.Status != want {
			t.Errorf("code %d: %v, %v; want %s", code, res, err, want)
		}
		if n := b.count(protocol.SendMessage); n != 1 {
			t.Errorf("code %d: %d attempts, want 1", code, n)
		}
	}
	// A rejected message is not retried either.
	b := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.MessageIllegal)})
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": twoBrokerRoute(b.addr, b.addr)})
	p := fakeProducer(t, ns.addr, nil)
	if _, err := p.SendSync(context.Background(), NewMessage("T", []byte("x"))); codeOf(err) != protocol.MessageIllegal || b.count(protocol.SendMessage) != 1 {
		t.Errorf("code 13: err %v after %d attempts", err, b.count(protocol.SendMessage))
	}
}

func TestClientSendNewTopicUsesDefaultRoute(t *testing.T) {
	b := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.Success)})
	def := &protocol.TopicRouteData{
		QueueDatas:  []protocol.QueueData{{BrokerName: "broker-a", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7}},
		BrokerDatas: []protocol.BrokerData{{BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: b.addr}}},
	}
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"TBW102": def})
	p := fakeProducer(t, ns.addr, nil)
	for range 12 {
		res, err := p.SendSync(context.Background(), NewMessage("Brand_New", []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		if res.Queue.QueueID >= 4 {
			t.Errorf("queue %s beyond the 4 default queues", res.Queue)
		}
	}
	req := b.requests(protocol.SendMessage)[0]
	if req.ExtFields.Value("defaultTopic") != "TBW102" || req.ExtFields.Value("defaultTopicQueueNums") != "4" {
		t.Errorf("send header %v", req.ExtFields.Map())
	}
	if _, ok := req.ExtFields.Get("properties"); !ok {
		t.Errorf("no properties in %v", req.ExtFields.Map())
	}
	// Consumers never use a borrowed route.
	if _, err := p.cl.routes.forConsumer(context.Background(), "Brand_New"); !errors.Is(err, ErrTopicNotExist) {
		t.Errorf("consumer route of a missing topic: %v", err)
	}
	// No route at all: a clear error, no send.
	ns2 := fakeNameServer(t, nil)
	p2 := fakeProducer(t, ns2.addr, nil)
	if _, err := p2.SendSync(context.Background(), NewMessage("X", []byte("x"))); !errors.Is(err, ErrTopicNotExist) {
		t.Errorf("no default topic: %v", err)
	}
}

func TestClientSendAsyncCallbacksInOrder(t *testing.T) {
	reply := sendReply(protocol.Success)
	b := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		resp, err := reply(c, req)
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) // replies leave out of order
		return resp, err
	}})
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": twoBrokerRoute(b.addr, b.addr)})
	p := fakeProducer(t, ns.addr, nil)
	const n = 300
	var mu sync.Mutex
	got := map[string][]int{}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		key := "k" + strconv.Itoa(i%3)
		err := p.SendAsync(context.Background(), NewMessage("T", []byte("x")).WithShardingKey(key), func(res *SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			mu.Lock()
			got[key] = append(got[key], i)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for key, seq := range got {
		for j := 1; j < len(seq); j++ {
			if seq[j] < seq[j-1] {
				t.Fatalf("key %s: callback of %d after %d", key, seq[j], seq[j-1])
			}
		}
	}
	if s := p.Stats(); s.Sent != n {
		t.Errorf("stats %+v", s)
	}
}

func TestClientSendAsyncRetriesElsewhere(t *testing.T) {
	bad := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.SystemError)})
	good := startFake(t, map[int16]remoting.HandlerFunc{protocol.SendMessage: sendReply(protocol.Success)})
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": twoBrokerRoute(bad.addr, good.addr)})
	p := fakeProducer(t, ns.addr, nil)
	done := make(chan error, 10)
	for range 10 {
		if err := p.SendAsync(context.Background(), NewMessage("T", []byte("x")), func(res *SendResult, err error) {
			if err == nil && res.Queue.BrokerName != "broker-b" {
				err = errors.New("stored on " + res.Queue.String())
			}
			done <- err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
