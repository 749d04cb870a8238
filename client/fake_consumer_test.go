package client

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", d, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// offsetMovedBroker is a scripted broker whose queue starts at 42: a pull
// below that gets PULL_OFFSET_MOVED (21) with nextBeginOffset 42.
type offsetMovedBroker struct {
	mu        sync.Mutex
	clientID  string
	committed int64
	updates   []int64
	pulls     []protocol.PullHeader
}

func (f *offsetMovedBroker) handlers() map[int16]remoting.HandlerFunc {
	ok := func(req *remoting.Command) *remoting.Command { return req.NewResponse(protocol.Success, "") }
	return map[int16]remoting.HandlerFunc{
		protocol.HeartBeat: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			var hb protocol.HeartbeatData
			if err := protocol.Decode(req.Body, &hb); err != nil {
				return nil, err
			}
			f.mu.Lock()
			f.clientID = hb.ClientID
			f.mu.Unlock()
			return ok(req), nil
		},
		protocol.GetConsumerListByGroup: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			resp := ok(req)
			resp.Body = protocol.Encode(protocol.ConsumerList{ConsumerIDList: []string{f.clientID}})
			return resp, nil
		},
		protocol.QueryConsumerOffset: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			resp := ok(req)
			resp.ExtFields = remoting.Fields{{Key: "offset", Value: strconv.FormatInt(f.committed, 10)}}
			return resp, nil
		},
		protocol.UpdateConsumerOffset: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			h, err := protocol.ParseQueueHeader(req.ExtFields, true)
			if err != nil {
				return nil, err
			}
			f.mu.Lock()
			f.committed = h.CommitOffset
			f.updates = append(f.updates, h.CommitOffset)
			f.mu.Unlock()
			return ok(req), nil
		},
		protocol.PullMessage: func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			h, err := protocol.ParsePullHeader(req.ExtFields)
			if err != nil {
				return nil, err
			}
			f.mu.Lock()
			f.pulls = append(f.pulls, h)
			f.mu.Unlock()
			if h.QueueOffset < 42 {
				resp := req.NewResponse(protocol.PullOffsetMoved, "offset too small")
				resp.ExtFields = protocol.PullResponseHeader{NextBeginOffset: 42, MinOffset: 42, MaxOffset: 42}.Fields()
				return resp, nil
			}
			time.Sleep(20 * time.Millisecond) // a short long-poll
			resp := req.NewResponse(protocol.PullNotFound, "no new message")
			resp.ExtFields = protocol.PullResponseHeader{NextBeginOffset: h.QueueOffset, MinOffset: 42, MaxOffset: 42}.Fields()
			return resp, nil
		},
	}
}

func (f *offsetMovedBroker) snapshot() ([]int64, []protocol.PullHeader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.updates...), append([]protocol.PullHeader(nil), f.pulls...)
}

// TestClientPushOffsetMovedResumesAtBrokerOffset: on PULL_OFFSET_MOVED the
// consumer commits the broker's nextBeginOffset and resumes there; it never
// rewinds to 0.
func TestClientPushOffsetMovedResumesAtBrokerOffset(t *testing.T) {
	fb := &offsetMovedBroker{committed: 7}
	b := startFake(t, fb.handlers())
	route := &protocol.TopicRouteData{
		QueueDatas:  []protocol.QueueData{{BrokerName: "broker-a", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
		BrokerDatas: []protocol.BrokerData{{BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: b.addr}}},
	}
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": route})
	o := NewPushConsumerOptions("g", ns.addr)
	o.ClientOptions.Logger = testLogger(t)
	o.ClientOptions.OffsetPersistInterval = 50 * time.Millisecond
	o.ClientOptions.RebalanceInterval = 100 * time.Millisecond
	o.OffsetMovedDelay = 100 * time.Millisecond
	o.LongPollTimeout = time.Second
	o.PullTimeout = 3 * time.Second
	c, err := NewPushConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("T", "*", func(context.Context, []*MessageExt) ConsumeResult { return ConsumeSuccess }); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	eventually(t, 10*time.Second, func() bool {
		_, pulls := fb.snapshot()
		return len(pulls) >= 3 && pulls[len(pulls)-1].QueueOffset == 42
	}, "pulls resume at 42")
	updates, pulls := fb.snapshot()
	if pulls[0].QueueOffset != 7 {
		t.Errorf("first pull at %d, want the committed 7", pulls[0].QueueOffset)
	}
	for _, p := range pulls {
		if p.QueueOffset != 7 && p.QueueOffset != 42 {
			t.Errorf("pull at offset %d", p.QueueOffset)
		}
		if p.SysFlag&protocol.PullFlagSuspend == 0 || p.SysFlag&protocol.PullFlagSubscription == 0 ||
			p.SuspendTimeoutMillis != 1000 || p.Subscription != "*" || p.ExpressionType != "TAG" || p.ConsumerGroup != "g" {
			t.Errorf("pull header %+v", p)
		}
	}
	if len(updates) == 0 || updates[0] != 42 {
		t.Errorf("offset updates %v, want 42 first", updates)
	}
	for _, u := range updates {
		if u < 42 {
			t.Errorf("offset rewound to %d", u)
		}
	}
	// Once the offset is committed, pulls carry it (commit flag).
	last := pulls[len(pulls)-1]
	if last.SysFlag&protocol.PullFlagCommitOffset == 0 || last.CommitOffset != 42 {
		t.Errorf("last pull sysFlag %d commitOffset %d, want the commit bit and 42", last.SysFlag, last.CommitOffset)
	}
}

// TestClientPushSendBackFallback: when the broker refuses
// CONSUMER_SEND_MSG_BACK, the failed message is sent to %RETRY%<group>
// with reconsumeTimes+1, RETRY_TOPIC, ORIGIN_MESSAGE_ID and DELAY 3+n, and
// only then is its offset committed.
func TestClientPushSendBackFallback(t *testing.T) {
	props := message.EncodeProperties(map[string]string{message.PropertyUniqKey: "UNIQ1", message.PropertyTags: "a"})
	rec, err := message.AppendRecord(nil, &message.Record{Topic: "T", QueueOffset: 0, PhysicalOffset: 1000,
		ReconsumeTimes: 2, Body: []byte("payload"), Properties: props,
		StoreHost: netip.MustParseAddrPort("127.0.0.1:10911"), BornHost: netip.MustParseAddrPort("127.0.0.1:1")})
	if err != nil {
		t.Fatal(err)
	}
	fb := &offsetMovedBroker{}
	h := fb.handlers()
	var mu sync.Mutex
	var retried []*remoting.Command
	h[protocol.PullMessage] = func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		ph, _ := protocol.ParsePullHeader(req.ExtFields)
		if ph.QueueOffset == 0 {
			resp := req.NewResponse(protocol.Success, "")
			resp.ExtFields = protocol.PullResponseHeader{NextBeginOffset: 1, MaxOffset: 1}.Fields()
			resp.Body = rec
			return resp, nil
		}
		time.Sleep(20 * time.Millisecond)
		resp := req.NewResponse(protocol.PullNotFound, "")
		resp.ExtFields = protocol.PullResponseHeader{NextBeginOffset: ph.QueueOffset, MaxOffset: 1}.Fields()
		return resp, nil
	}
	var backs []protocol.SendBackHeader
	h[protocol.ConsumerSendMsgBack] = func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		bh, err := protocol.ParseSendBackHeader(req.ExtFields)
		mu.Lock()
		backs = append(backs, bh)
		mu.Unlock()
		if err != nil {
			return nil, err
		}
		return req.NewResponse(protocol.SystemError, "send back refused"), nil
	}
	h[protocol.SendMessage] = func(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		mu.Lock()
		retried = append(retried, req)
		mu.Unlock()
		return sendReply(protocol.Success)(c, req)
	}
	b := startFake(t, h)
	route := &protocol.TopicRouteData{
		QueueDatas:  []protocol.QueueData{{BrokerName: "broker-a", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
		BrokerDatas: []protocol.BrokerData{{BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: b.addr}}},
	}
	ns := fakeNameServer(t, map[string]*protocol.TopicRouteData{"T": route})
	o := NewPushConsumerOptions("g", ns.addr)
	o.ClientOptions.Logger = testLogger(t)
	o.ClientOptions.OffsetPersistInterval = 50 * time.Millisecond
	o.LongPollTimeout = time.Second
	o.PullTimeout = 3 * time.Second
	c, err := NewPushConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	c.Subscribe("T", "*", func(context.Context, []*MessageExt) ConsumeResult { return ConsumeRetryLater })
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	eventually(t, 10*time.Second, func() bool {
		updates, _ := fb.snapshot()
		return len(updates) > 0 && updates[len(updates)-1] == 1
	}, "offset 1 committed after the fallback send")
	mu.Lock()
	defer mu.Unlock()
	if len(retried) != 1 || len(backs) != 1 {
		t.Fatalf("%d send-backs, %d fallback sends", len(backs), len(retried))
	}
	want := protocol.SendBackHeader{Offset: 1000, Group: "g", OriginMsgID: "UNIQ1", OriginTopic: "T", MaxReconsumeTimes: 16, BrokerName: "broker-a"}
	if backs[0] != want {
		t.Errorf("send-back header %+v, want %+v", backs[0], want)
	}
	sh, err := protocol.ParseSendHeader(retried[0])
	if err != nil {
		t.Fatal(err)
	}
	got := message.DecodeProperties([]byte(sh.Properties))
	if sh.Topic != "%RETRY%g" || sh.ProducerGroup != "CLIENT_INNER_PRODUCER" || sh.ReconsumeTimes != 3 || sh.MaxReconsumeTimes != 16 ||
		got[message.PropertyRetryTopic] != "T" || got[message.PropertyOriginMessageID] != "UNIQ1" ||
		got[message.PropertyDelayLevel] != "5" || got[message.PropertyUniqKey] != "UNIQ1" || string(retried[0].Body) != "payload" {
		t.Errorf("fallback send: header %+v properties %v body %q", sh, got, retried[0].Body)
	}
	if s := c.Stats(); s.ConsumeFailures != 1 || s.SentBack != 1 {
		t.Errorf("stats %+v", s)
	}
}
