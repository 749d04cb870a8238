package broker_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
	"github.com/sluicehq/sluice/internal/testutil"
)

func TestBrokerSendPullRoundTrip(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Orders", 4)
	for i := range 10 {
		off := w.mustSend("Orders", 1, fmt.Sprintf("body-%d", i), map[string]string{"TAGS": "t1", "KEYS": "k" + fmt.Sprint(i)})
		if off != int64(i) {
			t.Fatalf("message %d got queue offset %d", i, off)
		}
	}
	w.waitMax("Orders", 1, 10)
	w.heartbeat("127.0.0.1@1", "cg", subAll("Orders"))
	p := w.pull("cg", "Orders", 1, 0, 0, 0)
	if p.code != protocol.Success || len(p.msgs) != 10 {
		t.Fatalf("pull: code %d, %d messages", p.code, len(p.msgs))
	}
	if p.hdr.NextBeginOffset != 10 || p.hdr.MaxOffset != 10 || p.hdr.MinOffset != 0 {
		t.Fatalf("pull header %+v", p.hdr)
	}
	for i, m := range p.msgs {
		if string(m.Body) != fmt.Sprintf("body-%d", i) || m.QueueOffset != int64(i) || m.QueueID != 1 || m.Topic != "Orders" {
			t.Fatalf("message %d: %q offset %d queue %d topic %s", i, m.Body, m.QueueOffset, m.QueueID, m.Topic)
		}
		if m.Properties[message.PropertyUniqKey] == "" || m.Properties[message.PropertyCluster] != "DefaultCluster" ||
			m.Properties[message.PropertyKeys] != fmt.Sprint("k", i) || m.Tags() != "t1" {
			t.Fatalf("message %d properties %v", i, m.Properties)
		}
		if m.OffsetMsgID != message.OffsetMsgID(m.StoreHost, m.CommitLogOffset) || !m.StoreHost.IsValid() {
			t.Fatalf("message %d store host %v offset id %s", i, m.StoreHost, m.OffsetMsgID)
		}
	}
}

// TestBrokerAutoCreatesTopicFromTBW102 follows §7.1 of the protocol spec: a
// send naming TBW102 as the default topic creates the topic with
// min(4, 8) queues and registers it with the NameServer.
func TestBrokerAutoCreatesTopicFromTBW102(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	ns := newWire(t, c.NameServer.Addr)
	if r := ns.call(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: message.TopicDefault}}, nil); r.Code != protocol.Success {
		t.Fatalf("TBW102 route: %d %s", r.Code, r.Remark)
	}
	w := newWire(t, c.Broker.Addr)
	w.mustSend("Fresh", 3, "x", nil)
	testutil.Eventually(t, 10*time.Second, func() bool {
		r := ns.call(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: "Fresh"}}, nil)
		if r.Code != protocol.Success {
			return false
		}
		route, err := protocol.DecodeTopicRouteData(r.Body)
		return err == nil && len(route.QueueDatas) == 1 && route.QueueDatas[0].WriteQueueNums == 4 &&
			route.QueueDatas[0].Perm == protocol.PermReadWrite
	}, "NameServer never served the auto-created topic with 4 read/write queues")
}

func TestBrokerAutoCreateDisabled(t *testing.T) {
	c := testutil.StartCluster(t, func(o *broker.Options) { o.AutoCreateTopic = false })
	w := newWire(t, c.Broker.Addr)
	if r := w.send("Nope", 0, "x", nil); r.Code != protocol.TopicNotExist {
		t.Fatalf("send to unknown topic: %d %s", r.Code, r.Remark)
	}
	ns := newWire(t, c.NameServer.Addr)
	if r := ns.call(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: message.TopicDefault}}, nil); r.Code != protocol.TopicNotExist {
		t.Fatalf("TBW102 must not be published without auto-create: %d", r.Code)
	}
}

// TestBrokerRejectsBadInput sends what the bad-input list names and
// checks each gets a clear code and nothing is stored.
func TestBrokerRejectsBadInput(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Good", 2)
	before := c.Broker.Store().MaxPhysicalOffset()
	big := strings.Repeat("v", 40000)
	cases := []struct {
		name  string
		topic string
		queue int32
		body  int
		props map[string]string
		code  int16
	}{
		{"path topic", "../x", 0, 1, nil, protocol.MessageIllegal},
		{"long topic", strings.Repeat("t", 128), 0, 1, nil, protocol.MessageIllegal},
		{"space in topic", "a b", 0, 1, nil, protocol.MessageIllegal},
		{"body over 4 MiB", "Good", 0, message.MaxBodySize + 1, nil, protocol.MessageIllegal},
		{"properties over 32767", "Good", 0, 1, map[string]string{"K": big}, protocol.MessageIllegal},
		{"queue out of range", "Good", 9, 1, nil, protocol.SystemError},
		{"system topic", message.TopicSchedule, 0, 1, nil, protocol.NoPermission},
		{"timer message", "Good", 0, 1, map[string]string{message.PropertyTimerDeliverMS: "1735200000000"}, protocol.MessageIllegal},
		{"transactional message", "Good", 0, 1, map[string]string{message.PropertyTransactionPrepared: "true"}, protocol.MessageIllegal},
	}
	for _, tc := range cases {
		r := w.send(tc.topic, tc.queue, strings.Repeat("b", tc.body), tc.props)
		if r.Code != tc.code || r.Remark == "" {
			t.Errorf("%s: code %d %q, want %d with a reason", tc.name, r.Code, r.Remark, tc.code)
		}
	}
	bad := remoting.Fields{{Key: "topic", Value: "Good"}, {Key: "queueId", Value: "-"}}
	if r := w.call(protocol.SendMessage, bad, []byte("x")); r.Code != protocol.InvalidParameter {
		t.Errorf("non-numeric queueId: code %d", r.Code)
	}
	w.heartbeat("127.0.0.1@1", "cg", subAll("Good"))
	if p := w.pull("cg", "Good", 0, -5, 0, 0); p.code != protocol.InvalidParameter {
		t.Errorf("negative pull offset: code %d", p.code)
	}
	if code, _ := w.queueOffset(protocol.UpdateConsumerOffset, "cg", "Good", 0); code != protocol.Success {
		t.Errorf("commit of offset 0 on an empty queue: %d", code)
	}
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Good", QueueID: 0, CommitOffset: 5}
	if r := w.call(protocol.UpdateConsumerOffset, h.Fields(), nil); r.Code != protocol.InvalidParameter {
		t.Errorf("commit beyond the queue end: code %d", r.Code)
	}
	if after := c.Broker.Store().MaxPhysicalOffset(); after != before {
		t.Fatalf("rejected sends stored %d bytes", after-before)
	}
}

func TestBrokerBatchSend(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Batch", 1)
	var items []message.BatchItem
	for i := range 5 {
		items = append(items, message.BatchItem{Body: []byte(fmt.Sprint("m", i)),
			Properties: message.EncodeProperties(map[string]string{"KEYS": fmt.Sprint("k", i)})})
	}
	body, err := message.EncodeBatch(items)
	if err != nil {
		t.Fatal(err)
	}
	h := sendHeader("Batch", 0, nil)
	h.Batch = true
	resp := w.call(protocol.SendBatchMessage, h.Fields(true), body)
	if resp.Code != protocol.Success {
		t.Fatalf("batch: %d %s", resp.Code, resp.Remark)
	}
	rh, _ := protocol.ParseSendResponseHeader(resp.ExtFields)
	if ids := strings.Split(rh.MsgID, ","); len(ids) != 5 || rh.QueueOffset != 0 {
		t.Fatalf("batch reply msgId %q offset %d", rh.MsgID, rh.QueueOffset)
	}
	w.waitMax("Batch", 0, 5)
	w.heartbeat("127.0.0.1@1", "cg", subAll("Batch"))
	p := w.pull("cg", "Batch", 0, 0, 0, 0)
	if len(p.msgs) != 5 {
		t.Fatalf("pulled %d of 5", len(p.msgs))
	}
	for i, m := range p.msgs {
		if string(m.Body) != fmt.Sprint("m", i) || m.QueueOffset != int64(i) || m.Properties["KEYS"] != fmt.Sprint("k", i) {
			t.Fatalf("batch member %d: %q offset %d props %v", i, m.Body, m.QueueOffset, m.Properties)
		}
	}
}

// TestBrokerPipelinedSendsKeepOrder sends asynchronously on one connection
// and checks queue offsets follow send order.
func TestBrokerPipelinedSendsKeepOrder(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Pipe", 1)
	conn, err := w.cl.Conn(t.Context(), w.addr)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	offsets := make([]int64, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		req := remoting.NewRequest(protocol.SendMessage, sendHeader("Pipe", 0, nil).Fields(false), []byte(fmt.Sprint(i)))
		err := conn.InvokeAsync(req, 10*time.Second, func(resp *remoting.Command, err error) {
			defer wg.Done()
			if err != nil || resp.Code != protocol.Success {
				t.Errorf("send %d: %v %v", i, err, resp)
				return
			}
			h, _ := protocol.ParseSendResponseHeader(resp.ExtFields)
			offsets[i] = h.QueueOffset
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, off := range offsets {
		if off != int64(i) {
			t.Fatalf("send %d stored at queue offset %d", i, off)
		}
	}
}

func TestBrokerPullStatusTable(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Status", 2)
	w.heartbeat("127.0.0.1@1", "cg", subAll("Status"))
	// Empty queue, offset 0: not found, next 0.
	if p := w.pull("cg", "Status", 0, 0, 0, 0); p.code != protocol.PullNotFound || p.hdr.NextBeginOffset != 0 {
		t.Fatalf("empty@0: %d next %d", p.code, p.hdr.NextBeginOffset)
	}
	// Empty queue, offset 7: moved.
	if p := w.pull("cg", "Status", 0, 7, 0, 0); p.code != protocol.PullOffsetMoved || p.hdr.NextBeginOffset != 0 {
		t.Fatalf("empty@7: %d next %d", p.code, p.hdr.NextBeginOffset)
	}
	for range 3 {
		w.mustSend("Status", 0, "x", nil)
	}
	w.waitMax("Status", 0, 3)
	if p := w.pull("cg", "Status", 0, 3, 0, 0); p.code != protocol.PullNotFound || p.hdr.NextBeginOffset != 3 {
		t.Fatalf("at end: %d next %d", p.code, p.hdr.NextBeginOffset)
	}
	if p := w.pull("cg", "Status", 0, 9, 0, 0); p.code != protocol.PullOffsetMoved || p.hdr.NextBeginOffset != 3 {
		t.Fatalf("beyond end: %d next %d", p.code, p.hdr.NextBeginOffset)
	}
	if p := w.pull("cg", "Status", 0, 1, 0, 0); p.code != protocol.Success || len(p.msgs) != 2 || p.hdr.NextBeginOffset != 3 {
		t.Fatalf("middle: %d %d msgs next %d", p.code, len(p.msgs), p.hdr.NextBeginOffset)
	}
	if p := w.pull("cg", "Status", 5, 0, 0, 0); p.code != protocol.SystemError {
		t.Fatalf("queue out of range: %d", p.code)
	}
	if p := w.pull("nobody", "Status", 0, 0, 0, 0); p.code != protocol.SubscriptionNotExist {
		t.Fatalf("group without heartbeat: %d", p.code)
	}
}

func TestBrokerTagFilter(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Tags", 1)
	for i, tag := range []string{"a", "b", "c", "a", "é"} {
		w.mustSend("Tags", 0, fmt.Sprint(i), map[string]string{"TAGS": tag})
	}
	// The Go client's codeSet is wrong for non-ASCII tags; the broker must
	// rely on tagsSet.
	w.waitMax("Tags", 0, 5)
	w.heartbeat("127.0.0.1@1", "cg", protocol.SubscriptionData{Topic: "Tags", SubString: "a || é",
		TagsSet: []string{"a", "é"}, CodeSet: protocol.CodeSet{97, 12345}, ExpressionType: protocol.ExpressionTag})
	p := w.pull("cg", "Tags", 0, 0, 0, 0)
	var got []string
	for _, m := range p.msgs {
		got = append(got, string(m.Body))
	}
	if strings.Join(got, ",") != "0,3,4" {
		t.Fatalf("filtered pull returned bodies %v", got)
	}
	// Lite pull carries its own expression.
	h := protocol.PullHeader{ConsumerGroup: "lite", Topic: "Tags", QueueID: 0, MaxMsgNums: 32,
		SysFlag: protocol.PullFlagSubscription, Subscription: "b", ExpressionType: "TAG"}
	resp := w.call(protocol.PullMessage, h.Fields(), nil)
	msgs, _ := message.DecodeMessages(resp.Body)
	if resp.Code != protocol.Success || len(msgs) != 1 || string(msgs[0].Body) != "1" {
		t.Fatalf("lite pull with expression b: code %d, %d msgs", resp.Code, len(msgs))
	}
}

// TestBrokerLongPollAnswersOnArrival holds a pull on an empty queue and
// checks a send answers it with the message, not with the hold timeout.
func TestBrokerLongPollAnswersOnArrival(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Poll", 1)
	w.heartbeat("127.0.0.1@1", "cg", subAll("Poll"))
	result := make(chan pulled, 1)
	go func() {
		result <- w.pull("cg", "Poll", 0, 0, protocol.PullFlagSuspend, 20000)
	}()
	testutil.Eventually(t, 10*time.Second, func() bool { return c.Broker.Stats().HeldPulls == 1 }, "pull was not held")
	w.mustSend("Poll", 0, "wake", nil)
	select {
	case p := <-result:
		if p.code != protocol.Success || len(p.msgs) != 1 || string(p.msgs[0].Body) != "wake" {
			t.Fatalf("held pull answered with code %d, %d msgs", p.code, len(p.msgs))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("held pull not answered by the arriving message")
	}
	// With nothing arriving, the hold ends with PULL_NOT_FOUND at the same offset.
	p := w.pull("cg", "Poll", 0, 1, protocol.PullFlagSuspend, 300)
	if p.code != protocol.PullNotFound || p.hdr.NextBeginOffset != 1 {
		t.Fatalf("expired hold: code %d next %d", p.code, p.hdr.NextBeginOffset)
	}
}

func TestBrokerConsumerOffsets(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Offs", 1)
	if code, off := w.queueOffset(protocol.QueryConsumerOffset, "cg", "Offs", 0); code != protocol.Success || off != 0 {
		t.Fatalf("no commit, min 0: code %d offset %d (want 0, see §2.3)", code, off)
	}
	for range 4 {
		w.mustSend("Offs", 0, "x", nil)
	}
	w.waitMax("Offs", 0, 4)
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Offs", QueueID: 0, CommitOffset: 3}
	if r := w.call(protocol.UpdateConsumerOffset, h.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("commit: %d %s", r.Code, r.Remark)
	}
	if code, off := w.queueOffset(protocol.QueryConsumerOffset, "cg", "Offs", 0); code != protocol.Success || off != 3 {
		t.Fatalf("committed: code %d offset %d", code, off)
	}
	if code, off := w.queueOffset(protocol.GetMaxOffset, "", "Offs", 0); code != protocol.Success || off != 4 {
		t.Fatalf("max offset: %d %d", code, off)
	}
	if code, off := w.queueOffset(protocol.GetMinOffset, "", "Offs", 0); code != protocol.Success || off != 0 {
		t.Fatalf("min offset: %d %d", code, off)
	}
	// A pull carrying commitOffset commits too.
	w.heartbeat("127.0.0.1@1", "cg", subAll("Offs"))
	ph := protocol.PullHeader{ConsumerGroup: "cg", Topic: "Offs", QueueID: 0, QueueOffset: 4, MaxMsgNums: 32,
		SysFlag: protocol.PullFlagCommitOffset, CommitOffset: 4}
	w.call(protocol.PullMessage, ph.Fields(), nil)
	if _, off := w.queueOffset(protocol.QueryConsumerOffset, "cg", "Offs", 0); off != 4 {
		t.Fatalf("commit via pull: offset %d", off)
	}
}

func TestBrokerSearchOffsetByTimestamp(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Times", 1)
	w.mustSend("Times", 0, "old", nil)
	time.Sleep(20 * time.Millisecond) // distinct store timestamps
	mid := time.Now().UnixMilli()
	time.Sleep(20 * time.Millisecond)
	w.mustSend("Times", 0, "new", nil)
	w.waitMax("Times", 0, 2)
	h := protocol.QueueHeader{Topic: "Times", QueueID: 0, Timestamp: mid}
	r := w.call(protocol.SearchOffsetByTimestamp, h.Fields(), nil)
	if r.Code != protocol.Success || r.ExtFields.Value("offset") != "1" {
		t.Fatalf("search by time: %d offset %q", r.Code, r.ExtFields.Value("offset"))
	}
}

// TestBrokerConsumerMembership checks GET_CONSUMER_LIST_BY_GROUP lists
// every member, that a closed connection leaves the group, and that the
// remaining member is told to rebalance.
func TestBrokerConsumerMembership(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	notified := make(chan string, 8)
	mux := remoting.NewMux()
	mux.Handle(protocol.NotifyConsumerIDsChanged, func(_ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		notified <- req.ExtFields.Value("consumerGroup")
		return nil, nil
	})
	opts := remoting.DefaultClientOptions()
	opts.Mux = mux
	cl := remoting.NewClient(opts)
	defer cl.Close()
	a := &wire{t: t, cl: cl, addr: c.Broker.Addr}
	b := newWire(t, c.Broker.Addr)
	a.heartbeat("10.0.0.1@1", "grp", subAll("T1"))
	b.heartbeat("10.0.0.2@2", "grp", subAll("T1"))
	select {
	case g := <-notified:
		if g != "grp" {
			t.Fatalf("notified for %q", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("member a was not told that b joined")
	}
	list := func() []string {
		r := a.call(protocol.GetConsumerListByGroup, remoting.Fields{{Key: "consumerGroup", Value: "grp"}}, nil)
		var cl protocol.ConsumerList
		if err := protocol.Decode(r.Body, &cl); err != nil {
			t.Fatal(err)
		}
		return cl.ConsumerIDList
	}
	if got := list(); strings.Join(got, ",") != "10.0.0.1@1,10.0.0.2@2" {
		t.Fatalf("members %v", got)
	}
	b.cl.Close()
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Join(list(), ",") == "10.0.0.1@1" },
		"closed connection's member still listed")
	// The retry topic was created by the heartbeat.
	w := newWire(t, c.Broker.Addr)
	if code, _ := w.queueOffset(protocol.GetMaxOffset, "", message.RetryTopic("grp"), 0); code != protocol.Success {
		t.Fatalf("retry topic query: %d", code)
	}
}

func TestBrokerQueueLocks(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	mqs := []protocol.MessageQueue{{Topic: "T", BrokerName: "broker-a", QueueID: 0}, {Topic: "T", BrokerName: "broker-a", QueueID: 1}}
	lock := func(client string, q []protocol.MessageQueue) []protocol.MessageQueue {
		r := w.call(protocol.LockBatchMQ, nil, protocol.Encode(protocol.LockBatchRequest{ConsumerGroup: "og", ClientID: client, MQSet: q}))
		var out protocol.LockBatchResponse
		if err := protocol.Decode(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		return out.LockOKMQSet
	}
	if got := lock("c1", mqs[:1]); len(got) != 1 {
		t.Fatalf("c1 lock q0: %v", got)
	}
	if got := lock("c2", mqs); len(got) != 1 || got[0].QueueID != 1 {
		t.Fatalf("c2 must get only q1: %v", got)
	}
	if got := lock("c1", mqs[:1]); len(got) != 1 {
		t.Fatalf("c1 renew q0: %v", got)
	}
	w.call(protocol.UnlockBatchMQ, nil, protocol.Encode(protocol.LockBatchRequest{ConsumerGroup: "og", ClientID: "c1", MQSet: mqs[:1]}))
	if got := lock("c2", mqs[:1]); len(got) != 1 {
		t.Fatalf("c2 lock q0 after unlock: %v", got)
	}
}

// TestBrokerSendBackRetryAndDLQ hands a message back and checks it returns
// through the group's retry topic after its delay, then goes to the DLQ
// when the retries are spent.
func TestBrokerSendBackRetryAndDLQ(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Work", 1)
	w.mustSend("Work", 0, "job", map[string]string{"KEYS": "job-1"})
	w.waitMax("Work", 0, 1)
	w.heartbeat("127.0.0.1@1", "wg", subAll("Work"), subAll(message.RetryTopic("wg")))
	orig := w.pull("wg", "Work", 0, 0, 0, 0).msgs[0]
	back := protocol.SendBackHeader{Offset: orig.CommitLogOffset, Group: "wg", DelayLevel: 1,
		OriginMsgID: orig.MsgID, OriginTopic: "Work", MaxReconsumeTimes: 1}
	if r := w.call(protocol.ConsumerSendMsgBack, back.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("send back: %d %s", r.Code, r.Remark)
	}
	retryTopic := message.RetryTopic("wg")
	var retried *message.MessageExt
	testutil.Eventually(t, 15*time.Second, func() bool {
		if p := w.pull("wg", retryTopic, 0, 0, 0, 0); len(p.msgs) == 1 {
			retried = p.msgs[0]
			return true
		}
		return false
	}, "message never came back through %s", retryTopic)
	if string(retried.Body) != "job" || retried.ReconsumeTimes != 1 ||
		retried.Properties[message.PropertyRetryTopic] != "Work" ||
		retried.Properties[message.PropertyOriginMessageID] != orig.MsgID ||
		retried.Properties[message.PropertyKeys] != "job-1" {
		t.Fatalf("retried message: body %q reconsume %d props %v", retried.Body, retried.ReconsumeTimes, retried.Properties)
	}
	// Second failure: reconsumeTimes 1 ≥ max 1 → DLQ, no delay.
	back.Offset, back.OriginMsgID = retried.CommitLogOffset, retried.Properties[message.PropertyOriginMessageID]
	if r := w.call(protocol.ConsumerSendMsgBack, back.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("second send back: %d %s", r.Code, r.Remark)
	}
	dlq := message.DLQTopic("wg")
	w.waitMax(dlq, 0, 1)
	w.heartbeat("127.0.0.1@2", "dlq-reader", subAll(dlq))
	p := w.pull("dlq-reader", dlq, 0, 0, 0, 0)
	if len(p.msgs) != 1 || string(p.msgs[0].Body) != "job" || p.msgs[0].Properties[message.PropertyOriginMessageID] != orig.MsgID {
		t.Fatalf("DLQ pull: code %d %d msgs", p.code, len(p.msgs))
	}
}

func TestBrokerDelayedMessage(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Later", 1)
	w.mustSend("Later", 0, "soon", map[string]string{message.PropertyDelayLevel: "1"})
	w.heartbeat("127.0.0.1@1", "cg", subAll("Later"))
	if p := w.pull("cg", "Later", 0, 0, 0, 0); len(p.msgs) != 0 {
		t.Fatal("delayed message visible at once")
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		p := w.pull("cg", "Later", 0, 0, 0, 0)
		return len(p.msgs) == 1 && string(p.msgs[0].Body) == "soon" && p.msgs[0].Properties[message.PropertyDelayLevel] == ""
	}, "delayed message never delivered")
}

// TestBrokerRestartKeepsState restarts a broker on its data dir: topics,
// messages and committed offsets survive.
func TestBrokerRestartKeepsState(t *testing.T) {
	ns := testutil.StartNameServer(t, nil)
	opts := testutil.BrokerOptions(t, ns.Addr)
	b1, err := broker.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go b1.Run(t.Context())
	w := newWire(t, b1.AdvertisedAddr())
	w.createTopic("Keep", 2)
	for range 5 {
		w.mustSend("Keep", 1, "x", nil)
	}
	w.waitMax("Keep", 1, 5)
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Keep", QueueID: 1, CommitOffset: 2}
	w.call(protocol.UpdateConsumerOffset, h.Fields(), nil)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	opts.Listen = "127.0.0.1:0"
	b2 := testutil.StartBrokerWith(t, opts)
	w2 := newWire(t, b2.Addr)
	if _, off := w2.queueOffset(protocol.QueryConsumerOffset, "cg", "Keep", 1); off != 2 {
		t.Fatalf("committed offset after restart: %d", off)
	}
	if _, max := w2.queueOffset(protocol.GetMaxOffset, "", "Keep", 1); max != 5 {
		t.Fatalf("max offset after restart: %d", max)
	}
	w2.heartbeat("127.0.0.1@1", "cg", subAll("Keep"))
	if p := w2.pull("cg", "Keep", 1, 0, 0, 0); len(p.msgs) != 5 {
		t.Fatalf("pulled %d of 5 after restart", len(p.msgs))
	}
}

func TestBrokerSlaveRefusesWrites(t *testing.T) {
	b := testutil.StartBroker(t, func(o *broker.Options) { o.Role, o.BrokerID = broker.RoleSlave, 1 })
	w := newWire(t, b.Addr)
	r := w.send("Any", 0, "x", nil)
	if r.Code != protocol.ServiceNotAvailable || !strings.Contains(r.Remark, "slave") {
		t.Fatalf("slave send: %d %q", r.Code, r.Remark)
	}
}

func TestBrokerUnknownAndRefusedCodes(t *testing.T) {
	b := testutil.StartBroker(t, nil)
	w := newWire(t, b.Addr)
	if r := w.call(9999, nil, nil); r.Code != protocol.RequestCodeNotSupported {
		t.Fatalf("unknown code: %d", r.Code)
	}
	if r := w.call(protocol.UpdateBrokerConfig, nil, []byte("rocketmqHome=/tmp")); r.Code != protocol.NoPermission {
		t.Fatalf("remote config update: %d", r.Code)
	}
}

// TestBrokerSyncFlushAcksAfterFsync checks a SYNC_FLUSH broker's reply comes
// after the data is durable: the store's flushed offset covers the reply.
func TestBrokerSyncFlushAcksAfterFsync(t *testing.T) {
	b := testutil.StartBroker(t, func(o *broker.Options) { o.Store.FlushMode = store.FlushSync })
	w := newWire(t, b.Addr)
	w.createTopic("Durable", 1)
	for i := range 20 {
		w.mustSend("Durable", 0, strings.Repeat("d", 100+i), nil)
		if flushed, end := b.Store().FlushedOffset(), b.Store().MaxPhysicalOffset(); flushed < end {
			t.Fatalf("ack %d before fsync: flushed %d < end %d", i, flushed, end)
		}
	}
	if r := w.send("Durable", 0, "no-wait", map[string]string{message.PropertyWaitStoreMsgOK: "false"}); r.Code != protocol.Success {
		t.Fatalf("WAIT=false send: %d", r.Code)
	}
}

func TestBrokerViewAndQueryMessage(t *testing.T) {
	b := testutil.StartBroker(t, nil)
	w := newWire(t, b.Addr)
	w.createTopic("Find", 1)
	resp := w.send("Find", 0, "needle", map[string]string{"KEYS": "order-42 other"})
	rh, _ := protocol.ParseSendResponseHeader(resp.ExtFields)
	_, phys, err := message.ParseOffsetMsgID(rh.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	r := w.call(protocol.ViewMessageByID, remoting.Fields{{Key: "offset", Value: fmt.Sprint(phys)}}, nil)
	msgs, _ := message.DecodeMessages(r.Body)
	if r.Code != protocol.Success || len(msgs) != 1 || string(msgs[0].Body) != "needle" {
		t.Fatalf("view by id: %d, %d msgs", r.Code, len(msgs))
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		q := protocol.QueryMessageHeader{Topic: "Find", Key: "order-42", MaxNum: 10}
		r := w.call(protocol.QueryMessage, q.Fields(), nil)
		msgs, _ := message.DecodeMessages(r.Body)
		return r.Code == protocol.Success && len(msgs) == 1 && bytes.Equal(msgs[0].Body, []byte("needle"))
	}, "query by key never found the message")
	q := protocol.QueryMessageHeader{Topic: "Find", Key: "missing", MaxNum: 10}
	if r := w.call(protocol.QueryMessage, q.Fields(), nil); r.Code != protocol.QueryNotFound {
		t.Fatalf("query of a missing key: %d", r.Code)
	}
}

// TestBrokerUnregisterClientLeavesOtherGroups unregisters one group of a
// client that heartbeats two: the other stays (Java clients share one
// connection between their consumers).
func TestBrokerUnregisterClientLeavesOtherGroups(t *testing.T) {
	b := testutil.StartBroker(t, nil)
	w := newWire(t, b.Addr)
	w.heartbeat("10.0.0.1@1", "g1", subAll("T"))
	w.heartbeat("10.0.0.1@1", "g2", subAll("T"))
	w.call(protocol.UnregisterClient, remoting.Fields{{Key: "clientID", Value: "10.0.0.1@1"}, {Key: "consumerGroup", Value: "g1"}}, nil)
	members := func(group string) string {
		r := w.call(protocol.GetConsumerListByGroup, remoting.Fields{{Key: "consumerGroup", Value: group}}, nil)
		var cl protocol.ConsumerList
		protocol.Decode(r.Body, &cl)
		return strings.Join(cl.ConsumerIDList, ",")
	}
	if got := members("g1"); got != "" {
		t.Fatalf("g1 after unregister: %q", got)
	}
	if got := members("g2"); got != "10.0.0.1@1" {
		t.Fatalf("g2 lost its member: %q", got)
	}
}

// TestBrokerCommitRightAfterSend commits the end of a queue as soon as the
// sends are acknowledged, before the ConsumeQueue caught up: accepted.
func TestBrokerCommitRightAfterSend(t *testing.T) {
	b := testutil.StartBroker(t, nil)
	w := newWire(t, b.Addr)
	w.createTopic("Quick", 1)
	for range 50 {
		w.mustSend("Quick", 0, "x", nil)
	}
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Quick", QueueID: 0, CommitOffset: 50}
	if r := w.call(protocol.UpdateConsumerOffset, h.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("commit of the acknowledged end: %d %s", r.Code, r.Remark)
	}
	h.CommitOffset = 51
	if r := w.call(protocol.UpdateConsumerOffset, h.Fields(), nil); r.Code != protocol.InvalidParameter {
		t.Fatalf("commit past the acknowledged end: %d", r.Code)
	}
}

// TestBrokerRegistersWithEveryNameServer checks that a broker registers with
// each of two independent NameServers, and that both learn a new topic at
// once, not at the next periodic registration.
func TestBrokerRegistersWithEveryNameServer(t *testing.T) {
	ns1 := testutil.StartNameServer(t, nil)
	ns2 := testutil.StartNameServer(t, nil)
	b := testutil.StartBroker(t, func(o *broker.Options) { o.RegisterInterval = time.Hour }, ns1.Addr, ns2.Addr)
	testutil.Eventually(t, 10*time.Second, func() bool { return b.Stats().Registrations >= 2 }, "broker did not register with both")
	newWire(t, b.Addr).createTopic("Everywhere", 2)
	for _, ns := range []*testutil.NameServer{ns1, ns2} {
		w := newWire(t, ns.Addr)
		testutil.Eventually(t, 10*time.Second, func() bool {
			r := w.call(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: "Everywhere"}}, nil)
			return r.Code == protocol.Success
		}, "name server %s never learned the new topic", ns.Addr)
	}
}

// TestBrokerPipelinedMixedSends pipelines single sends, batches and invalid
// sends on one connection: the broker stores them in one write where it
// can, yet every send gets its own answer and queue offsets follow send
// order exactly.
func TestBrokerPipelinedMixedSends(t *testing.T) {
	b := testutil.StartBroker(t, func(o *broker.Options) { o.Store.FlushMode = store.FlushSync })
	w := newWire(t, b.Addr)
	w.createTopic("Mixed", 1)
	conn, err := w.cl.Conn(t.Context(), w.addr)
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	type outcome struct {
		code   int16
		offset int64
	}
	results := make([]outcome, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		var req *remoting.Command
		switch {
		case i%10 == 9:
			req = remoting.NewRequest(protocol.SendMessage, sendHeader("bad topic", 0, nil).Fields(false), []byte("x"))
		case i%25 == 0:
			body, _ := message.EncodeBatch([]message.BatchItem{{Body: []byte("b1")}, {Body: []byte("b2")}, {Body: []byte("b3")}})
			h := sendHeader("Mixed", 0, nil)
			h.Batch = true
			req = remoting.NewRequest(protocol.SendBatchMessage, h.Fields(true), body)
		default:
			req = remoting.NewRequest(protocol.SendMessage, sendHeader("Mixed", 0, nil).Fields(false), []byte(fmt.Sprint(i)))
		}
		if err := conn.InvokeAsync(req, 20*time.Second, func(resp *remoting.Command, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			h, _ := protocol.ParseSendResponseHeader(resp.ExtFields)
			results[i] = outcome{resp.Code, h.QueueOffset}
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	next := int64(0)
	for i, r := range results {
		switch {
		case i%10 == 9:
			if r.code != protocol.MessageIllegal {
				t.Fatalf("invalid send %d answered %d", i, r.code)
			}
		case r.code != protocol.Success || r.offset != next:
			t.Fatalf("send %d: code %d at offset %d, want 0 at %d", i, r.code, r.offset, next)
		case i%25 == 0:
			next += 3
		default:
			next++
		}
	}
	if flushed, end := b.Store().FlushedOffset(), b.Store().MaxPhysicalOffset(); flushed < end {
		t.Fatalf("SYNC_FLUSH sends answered before fsync: flushed %d < end %d", flushed, end)
	}
}

// TestBrokerLongPollWakesOnRedelivery holds a pull on a group's retry
// topic; the message handed back with delay level 1 must answer it when the
// delay service moves it there, not when the hold times out.
func TestBrokerLongPollWakesOnRedelivery(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	w := newWire(t, c.Broker.Addr)
	w.createTopic("Jobs", 1)
	w.mustSend("Jobs", 0, "job", nil)
	w.waitMax("Jobs", 0, 1)
	retry := message.RetryTopic("jg")
	w.heartbeat("127.0.0.1@1", "jg", subAll("Jobs"), subAll(retry))
	orig := w.pull("jg", "Jobs", 0, 0, 0, 0).msgs[0]
	held := make(chan pulled, 1)
	go func() { held <- w.pull("jg", retry, 0, 0, protocol.PullFlagSuspend, 15000) }()
	testutil.Eventually(t, 10*time.Second, func() bool { return c.Broker.Stats().HeldPulls == 1 }, "retry pull not held")
	back := protocol.SendBackHeader{Offset: orig.CommitLogOffset, Group: "jg", DelayLevel: 1, OriginTopic: "Jobs", MaxReconsumeTimes: 16}
	start := time.Now()
	if r := w.call(protocol.ConsumerSendMsgBack, back.Fields(), nil); r.Code != protocol.Success {
		t.Fatalf("send back: %d %s", r.Code, r.Remark)
	}
	p := <-held
	if p.code != protocol.Success || len(p.msgs) != 1 {
		t.Fatalf("held retry pull answered %d with %d messages after %v", p.code, len(p.msgs), time.Since(start))
	}
}

// TestBrokerSlaveCopiesMasterMetadata runs a master and a slave registered
// with one NameServer: the slave finds its master through the register
// reply and copies topics and consumer offsets, a lower offset committed on
// the slave never wins over the master's, and the slave refuses to create
// topics. (Offsets a slave reports back to its master need replicated data:
// see the HA tests.)
func TestBrokerSlaveCopiesMasterMetadata(t *testing.T) {
	ns := testutil.StartNameServer(t, nil)
	m := testutil.StartBroker(t, nil, ns.Addr)
	s := testutil.StartBroker(t, func(o *broker.Options) {
		o.Role, o.BrokerID = broker.RoleSlave, 1
		o.MetadataSyncInterval = 200 * time.Millisecond
	}, ns.Addr)
	mw, sw := newWire(t, m.Addr), newWire(t, s.Addr)
	mw.createTopic("Shared", 2)
	for range 5 {
		mw.mustSend("Shared", 0, "x", nil)
	}
	mw.waitMax("Shared", 0, 5)
	h := protocol.QueueHeader{ConsumerGroup: "cg", Topic: "Shared", QueueID: 0, CommitOffset: 2}
	mw.call(protocol.UpdateConsumerOffset, h.Fields(), nil)
	testutil.Eventually(t, 10*time.Second, func() bool {
		code, off := sw.queueOffset(protocol.QueryConsumerOffset, "cg", "Shared", 0)
		return code == protocol.Success && off == 2
	}, "slave never copied the master's offset")
	// One copy round may read the topics before the offsets were
	// committed and the offsets after: the topic arrives by the next.
	testutil.Eventually(t, 10*time.Second, func() bool {
		r := sw.call(protocol.GetAllTopicConfig, nil, nil)
		var topics protocol.TopicConfigWrapper
		return protocol.Decode(r.Body, &topics) == nil && topics.TopicConfigTable["Shared"].ReadQueueNums == 2
	}, "slave never copied the master's topic")
	if r := sw.call(protocol.UpdateAndCreateTopic, protocol.CreateTopicHeader{Topic: "X", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}.Fields(), nil); r.Code != protocol.NoPermission {
		t.Fatalf("topic creation on a slave: %d", r.Code)
	}
	// The slave has no messages (no replication here), so it cannot accept
	// commits past its own end: commit what it has.
	h.CommitOffset = 0
	sw.call(protocol.UpdateConsumerOffset, h.Fields(), nil)
	time.Sleep(600 * time.Millisecond) // several sync rounds
	if _, off := sw.queueOffset(protocol.QueryConsumerOffset, "cg", "Shared", 0); off != 2 {
		t.Fatalf("a lower commit on the slave won over the master's: %d", off)
	}
}

// TestBrokerSuggestsSlaveToSlowConsumers: with SlaveReadEnable, a consumer
// whose next message is further behind the log's end than
// SlowConsumerLagBytes is told to pull from the slave (id 1); one that is
// close is kept on the master.
func TestBrokerSuggestsSlaveToSlowConsumers(t *testing.T) {
	b := testutil.StartBroker(t, func(o *broker.Options) {
		o.SlaveReadEnable = true
		o.SlowConsumerLagBytes = 4096
	})
	w := newWire(t, b.Addr)
	w.createTopic("Lag", 1)
	for range 20 {
		w.mustSend("Lag", 0, strings.Repeat("m", 1000), nil)
	}
	w.waitMax("Lag", 0, 20)
	w.heartbeat("127.0.0.1@1", "cg", subAll("Lag"))
	if p := w.pull("cg", "Lag", 0, 0, 0, 0); p.code != protocol.Success || p.hdr.SuggestWhichBrokerID != 1 {
		t.Fatalf("far behind: code %d suggest %d, want the slave", p.code, p.hdr.SuggestWhichBrokerID)
	}
	if p := w.pull("cg", "Lag", 0, 19, 0, 0); p.code != protocol.Success || p.hdr.SuggestWhichBrokerID != 0 {
		t.Fatalf("near the end: code %d suggest %d, want the master", p.code, p.hdr.SuggestWhichBrokerID)
	}
}
