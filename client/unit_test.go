package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

func queues(topic string, brokers map[string]int32) []MessageQueue {
	var out []MessageQueue
	for b, n := range brokers {
		for i := range n {
			out = append(out, MessageQueue{Topic: topic, BrokerName: b, QueueID: i})
		}
	}
	sortQueues(out)
	return out
}

func TestClientAllocateAveragely(t *testing.T) {
	mqs := queues("T", map[string]int32{"a": 4, "b": 4}) // 8 queues
	ids := func(mqs []MessageQueue) string {
		var s []string
		for _, q := range mqs {
			s = append(s, fmt.Sprintf("%s%d", q.BrokerName, q.QueueID))
		}
		return strings.Join(s, ",")
	}
	cases := []struct {
		cids []string
		want map[string]string
	}{
		{[]string{"c1"}, map[string]string{"c1": "a0,a1,a2,a3,b0,b1,b2,b3"}},
		{[]string{"c1", "c2"}, map[string]string{"c1": "a0,a1,a2,a3", "c2": "b0,b1,b2,b3"}},
		// 8 queues, 3 consumers: 3,3,2 in contiguous blocks (Java's layout).
		{[]string{"c1", "c2", "c3"}, map[string]string{"c1": "a0,a1,a2", "c2": "a3,b0,b1", "c3": "b2,b3"}},
		// More consumers than queues: the last ones get nothing.
		{[]string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}, map[string]string{"c1": "a0", "c8": "b3", "c9": ""}},
		{[]string{"c2"}, map[string]string{"c1": ""}}, // not a member
	}
	for _, tc := range cases {
		for cid, want := range tc.want {
			if got := ids(allocateAveragely(cid, mqs, tc.cids)); got != want {
				t.Errorf("cids %v, %s: got %q, want %q", tc.cids, cid, got, want)
			}
		}
	}
	// Every queue is owned exactly once, whatever the group size.
	for n := 1; n <= 11; n++ {
		var cids []string
		for i := range n {
			cids = append(cids, fmt.Sprintf("10.0.0.1@%d", i))
		}
		owned := map[MessageQueue]int{}
		for _, cid := range cids {
			for _, q := range allocateAveragely(cid, mqs, cids) {
				owned[q]++
			}
		}
		if len(owned) != len(mqs) {
			t.Errorf("%d consumers: %d of %d queues owned", n, len(owned), len(mqs))
		}
		for q, k := range owned {
			if k != 1 {
				t.Errorf("%d consumers: queue %s owned %d times", n, q, k)
			}
		}
	}
	if got := allocateAveragely("c1", nil, []string{"c1"}); got != nil {
		t.Errorf("no queues: got %v", got)
	}
}

func TestClientHashQueueStable(t *testing.T) {
	mqs := queues("T", map[string]int32{"a": 4, "b": 4})
	hits := map[MessageQueue]int{}
	for i := range 1000 {
		key := fmt.Sprintf("order-%d", i)
		q := HashQueue(key, mqs)
		for range 3 {
			if again := HashQueue(key, slices.Clone(mqs)); again != q {
				t.Fatalf("key %s: %s then %s", key, q, again)
			}
		}
		hits[q]++
	}
	if len(hits) != len(mqs) {
		t.Errorf("1000 keys hit %d of %d queues", len(hits), len(mqs))
	}
	for q, n := range hits {
		if n < 60 || n > 190 {
			t.Errorf("queue %s got %d of 1000 keys", q, n)
		}
	}
	// The producer's choice for a message with a sharding key is the same.
	m := NewMessage("T", []byte("x")).WithShardingKey("order-7")
	if got := HashSelector.Select(m, mqs); got != HashQueue("order-7", mqs) {
		t.Errorf("HashSelector %s != HashQueue %s", got, HashQueue("order-7", mqs))
	}
}

func TestClientRoundRobinAvoidsFailedBroker(t *testing.T) {
	mqs := queues("T", map[string]int32{"a": 2, "b": 2, "c": 2})
	now := time.Unix(1000, 0)
	f := newFaultTracker(5 * time.Second)
	f.now = func() time.Time { return now }
	rr := roundRobin{faults: f}
	// The broker the previous attempt failed on is never chosen again.
	for range 30 {
		if q := rr.pick(mqs, "b"); q.BrokerName == "b" {
			t.Fatalf("picked %s after b failed", q)
		}
	}
	// A recently failed broker is avoided by every send until its backoff
	// passes, then used again.
	f.fail("a")
	for range 30 {
		if q := rr.pick(mqs, ""); q.BrokerName == "a" {
			t.Fatalf("picked %s while a is backing off", q)
		}
	}
	now = now.Add(6 * time.Second)
	seen := map[string]bool{}
	for range 30 {
		seen[rr.pick(mqs, "").BrokerName] = true
	}
	if !seen["a"] {
		t.Errorf("a never picked after its backoff")
	}
	// When every broker is failing, still prefer one other than lastFailed.
	f.fail("a")
	f.fail("b")
	f.fail("c")
	for range 30 {
		if q := rr.pick(mqs, "c"); q.BrokerName == "c" {
			t.Fatalf("picked %s, the broker that just failed", q)
		}
	}
	// One broker only: it is all there is.
	one := queues("T", map[string]int32{"a": 2})
	if q := rr.pick(one, "a"); q.BrokerName != "a" {
		t.Errorf("single broker: got %s", q)
	}
	// Success clears the fault.
	f.ok("a")
	if f.avoid("a") {
		t.Errorf("a still avoided after a success")
	}
}

func msgAt(off int64) *MessageExt { return &MessageExt{QueueOffset: off, Topic: "T"} }

func msgsAt(offs ...int64) []*MessageExt {
	out := make([]*MessageExt, len(offs))
	for i, o := range offs {
		out[i] = msgAt(o)
	}
	return out
}

func TestClientProcessQueueLowestUnprocessed(t *testing.T) {
	mq := MessageQueue{Topic: "T", BrokerName: "a"}
	pq := newProcessQueue(mq, 10)
	if got := pq.commitOffset(); got != 10 {
		t.Fatalf("empty queue commits its start: got %d", got)
	}
	batch := msgsAt(10, 11, 12, 13, 14)
	pq.put(batch, 15)
	if got := pq.cached(); got != 5 {
		t.Fatalf("cached %d, want 5", got)
	}
	// Finishing later messages first does not move the offset past 10.
	if got := pq.remove(msgsAt(12, 13)); got != 10 {
		t.Errorf("after 12,13: commit %d, want 10", got)
	}
	if got := pq.remove(batch[:1]); got != 11 {
		t.Errorf("after 10: commit %d, want 11 (lowest unprocessed)", got)
	}
	if got := pq.remove(batch[1:2]); got != 14 {
		t.Errorf("after 11: commit %d, want 14", got)
	}
	// Removing twice changes nothing.
	if got := pq.remove(msgsAt(12)); got != 14 {
		t.Errorf("repeat remove: commit %d, want 14", got)
	}
	// Everything processed: commit where the next pull starts, which may
	// be past messages the client filtered out.
	if got := pq.remove(batch[4:]); got != 15 {
		t.Errorf("all processed: commit %d, want 15", got)
	}
	pq.put(nil, 20) // a pull whose messages were all filtered
	if got := pq.commitOffset(); got != 20 {
		t.Errorf("after filtered pull: commit %d, want 20", got)
	}
	// Repeats of held offsets are ignored.
	pq.put(msgsAt(20, 21), 22)
	pq.put(msgsAt(21), 22)
	if got := pq.cached(); got != 2 {
		t.Errorf("cached %d after a repeat, want 2", got)
	}
}

func TestClientProcessQueueCompaction(t *testing.T) {
	pq := newProcessQueue(MessageQueue{Topic: "T"}, 0)
	var off int64
	for round := range 50 {
		var batch []*MessageExt
		for range 100 {
			batch = append(batch, msgAt(off))
			off++
		}
		pq.put(batch, off)
		// Keep the first message of each round in flight for one round.
		if got := pq.remove(batch[1:]); got != batch[0].QueueOffset && round == 0 {
			t.Fatalf("round %d: commit %d, want %d", round, got, batch[0].QueueOffset)
		}
		if round > 0 {
			pq.remove(msgsAt(int64(round-1) * 100))
		}
		if got, want := pq.commitOffset(), batch[0].QueueOffset; got != want {
			t.Fatalf("round %d: commit %d, want %d", round, got, want)
		}
	}
	if pq.cached() != 1 || len(pq.entries)-pq.head > 200 {
		t.Errorf("cached %d, %d entries held", pq.cached(), len(pq.entries)-pq.head)
	}
}

func TestClientProcessQueueOrderly(t *testing.T) {
	pq := newProcessQueue(MessageQueue{Topic: "T"}, 0)
	pq.put(msgsAt(0, 1, 2, 3, 4), 5)
	first := pq.takeTopic(2)
	if len(first) != 2 || first[0].QueueOffset != 0 {
		t.Fatalf("take: %v", first)
	}
	pq.rollback() // failed: consume the same batch again
	again := pq.takeTopic(2)
	if again[0] != first[0] || again[1] != first[1] {
		t.Fatalf("after rollback took %d,%d", again[0].QueueOffset, again[1].QueueOffset)
	}
	if got := pq.commit(); got != 2 {
		t.Errorf("commit %d, want 2", got)
	}
	rest := pq.takeTopic(10)
	if len(rest) != 3 || rest[0].QueueOffset != 2 {
		t.Fatalf("take rest: %d messages from %d", len(rest), rest[0].QueueOffset)
	}
	if got := pq.commit(); got != 5 {
		t.Errorf("commit %d, want 5", got)
	}
	// A retry queue mixes original topics: a batch holds one.
	mixed := msgsAt(5, 6, 7)
	mixed[2].Topic = "U"
	pq.put(mixed, 8)
	if got := pq.takeTopic(10); len(got) != 2 {
		t.Errorf("took %d messages across a topic change, want 2", len(got))
	}
}

func TestClientParseSubscription(t *testing.T) {
	cases := []struct {
		expr    string
		tags    []string
		wantErr bool
	}{
		{"", nil, false},
		{"*", nil, false},
		{" * ", nil, false},
		{"a", []string{"a"}, false},
		{"b || a", []string{"a", "b"}, false},
		{"a||a|| c ", []string{"a", "c"}, false},
		{"||", nil, true},
		{"a || *", nil, true},
	}
	for _, tc := range cases {
		s, err := parseSubscription("T", tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, want error %v", tc.expr, err, tc.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("%q: error %v is not ErrInvalidOptions", tc.expr, err)
			}
			continue
		}
		if !slices.Equal(s.tags, tc.tags) {
			t.Errorf("%q: tags %v, want %v", tc.expr, s.tags, tc.tags)
		}
		d := s.data()
		if len(d.CodeSet) != len(tc.tags) || d.TagsSet == nil || d.CodeSet == nil {
			t.Errorf("%q: heartbeat data %+v", tc.expr, d)
		}
		for i, tag := range tc.tags {
			if d.CodeSet[i] != message.TagsHash(tag) {
				t.Errorf("%q: code of %s is %d", tc.expr, tag, d.CodeSet[i])
			}
		}
		if len(tc.tags) == 0 && (s.expr != "*" || !s.matches("anything") || !s.matches("")) {
			t.Errorf("%q: should match everything", tc.expr)
		}
		if len(tc.tags) > 0 && (!s.matches(tc.tags[0]) || s.matches("zz") || s.matches("")) {
			t.Errorf("%q: matching is wrong", tc.expr)
		}
	}
	if _, err := parseSubscription("bad topic", "*"); err == nil {
		t.Errorf("invalid topic accepted")
	}
}

func TestClientMessageValidation(t *testing.T) {
	big := make([]byte, 101)
	cases := []struct {
		name string
		m    *Message
	}{
		{"nil", nil},
		{"empty topic", NewMessage("", []byte("x"))},
		{"bad topic", NewMessage("a/b", []byte("x"))},
		{"default topic", NewMessage(message.TopicDefault, []byte("x"))},
		{"empty body", NewMessage("T", nil)},
		{"too large", NewMessage("T", big)},
		{"delay", NewMessage("T", []byte("x")).WithDelayLevel(19)},
		{"key with space", NewMessage("T", []byte("x")).WithKeys("a b")},
		{"empty key", NewMessage("T", []byte("x")).WithKeys("")},
		{"reserved property", NewMessage("T", []byte("x")).WithProperty(message.PropertyUniqKey, "x")},
		{"separator in property", NewMessage("T", []byte("x")).WithProperty("k", "a\x01b")},
		{"separator in tags", NewMessage("T", []byte("x")).WithTags("a\x02")},
	}
	for _, tc := range cases {
		err := tc.m.validate(100)
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: err %v, want ErrInvalidMessage", tc.name, err)
		}
	}
	ok := NewMessage("T", []byte("x")).WithTags("t").WithKeys("k1", "k2").WithDelayLevel(3).WithProperty("db", "orders")
	if err := ok.validate(100); err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
	props, err := ok.appendProperties(nil, "ID1")
	if err != nil {
		t.Fatal(err)
	}
	got := message.DecodeProperties(props)
	want := map[string]string{"UNIQ_KEY": "ID1", "TAGS": "t", "KEYS": "k1 k2", "DELAY": "3", "db": "orders"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("property %s = %q, want %q", k, got[k], v)
		}
	}
	huge := NewMessage("T", []byte("x")).WithProperty("k", strings.Repeat("v", 40000))
	if err := huge.validate(100); err == nil {
		t.Errorf("oversized properties accepted")
	}
}

func TestClientBuildRoute(t *testing.T) {
	data := &protocol.TopicRouteData{
		QueueDatas: []protocol.QueueData{
			{BrokerName: "b", ReadQueueNums: 2, WriteQueueNums: 3, Perm: 6},
			{BrokerName: "a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 4}, // read only
			{BrokerName: "c", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}, // no master
		},
		BrokerDatas: []protocol.BrokerData{
			{BrokerName: "a", BrokerAddrs: map[int64]string{0: "1:1"}},
			{BrokerName: "b", BrokerAddrs: map[int64]string{0: "2:2", 1: "3:3"}},
			{BrokerName: "c", BrokerAddrs: map[int64]string{1: "4:4"}},
		},
	}
	r := buildRoute("T", data, false)
	if want := queues("T", map[string]int32{"b": 3}); !slices.Equal(r.publish, want) {
		t.Errorf("publish %v, want %v", r.publish, want)
	}
	if want := queues("T", map[string]int32{"a": 4, "b": 2, "c": 1}); !slices.Equal(r.subscribe, want) {
		t.Errorf("subscribe %v, want %v", r.subscribe, want)
	}
	data.OrderTopicConf = "a:2;b:1"
	r = buildRoute("T", data, false)
	if want := queues("T", map[string]int32{"a": 2, "b": 1}); !slices.Equal(r.publish, want) {
		t.Errorf("orderTopicConf publish %v, want %v", r.publish, want)
	}
}

func TestClientOptions(t *testing.T) {
	o := NewOptions().withDefaults()
	if err := o.Validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("no name server: %v", err)
	}
	o = NewOptions("127.0.0.1:9876").withDefaults()
	if err := o.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	o.ClientIP = "10.1.2.3"
	if id := o.clientID(); !strings.HasPrefix(id, "10.1.2.3@") || strings.Count(id, "@") != 1 {
		t.Errorf("client id %q", id)
	}
	o.InstanceName = "sink"
	if id := o.clientID(); !strings.HasSuffix(id, "@sink") || strings.Count(id, "@") != 2 {
		t.Errorf("client id with instance %q", id)
	}
	bad := NewOptions("localhost")
	bad.ClientIP = "nope"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "client ip") {
		t.Errorf("bad options: %v", err)
	}
	co := ConsumerOptions{Group: "a/b"}.withDefaults()
	if err := co.validate(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("bad group: %v", err)
	}
}

func TestClientLocalOffsets(t *testing.T) {
	dir := t.TempDir()
	mq := MessageQueue{Topic: "T", BrokerName: "a", QueueID: 1}
	l := newLocalOffsets(dir, "g")
	if off, err := l.read(t.Context(), mq); err != nil || off != -1 {
		t.Fatalf("fresh store: %d, %v", off, err)
	}
	l.update(mq, 42, true)
	l.update(mq, 40, true) // never moves back with increaseOnly
	if err := l.persist(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	again := newLocalOffsets(dir, "g")
	if off, err := again.read(t.Context(), mq); err != nil || off != 42 {
		t.Fatalf("reloaded: %d, %v", off, err)
	}
	if _, err := filepath.Glob(filepath.Join(dir, "g", "*.tmp*")); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "g", "*")); len(m) != 1 {
		t.Errorf("files left: %v", m)
	}
}

func TestClientBrokerErrorMatchesSentinels(t *testing.T) {
	err := fmt.Errorf("send: %w", &BrokerError{Op: "send", Code: protocol.TopicNotExist})
	if !errors.Is(err, ErrTopicNotExist) || errors.Is(err, ErrOffsetNotFound) {
		t.Errorf("code 17 should match ErrTopicNotExist only")
	}
	if codeOf(err) != protocol.TopicNotExist || codeOf(errors.New("x")) != -1 {
		t.Errorf("codeOf")
	}
}

// codeOf returns the response code carried by err, or -1.
func codeOf(err error) int16 {
	var be *BrokerError
	if errors.As(err, &be) {
		return be.Code
	}
	return -1
}

func TestClientDecodeLegacyClusterInfo(t *testing.T) {
	body := []byte(`{"brokerAddrTable":{"broker-a":{"cluster":"c","brokerName":"broker-a","brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}}},"clusterAddrTable":{"c":["broker-a"]}}`)
	var info ClusterInfo
	if err := decodeLenient(body, &info); err != nil {
		t.Fatal(err)
	}
	bd := info.BrokerAddrTable["broker-a"]
	if bd.MasterAddr() != "10.0.0.1:10911" || bd.BrokerAddrs[1] != "10.0.0.2:10911" {
		t.Errorf("decoded %+v", info)
	}
	if err := decodeLenient([]byte(`{"brokerAddrTable":`), &info); err == nil {
		t.Errorf("truncated body accepted")
	}
}

func TestClientHeartbeatAndNotify(t *testing.T) {
	o := NewOptions("127.0.0.1:1")
	o.ClientIP = "10.0.0.5"
	o.InstanceName = "hb"
	cl, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	po := NewPushConsumerOptions("g")
	po.Client = cl
	pc, err := NewPushConsumer(po)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe("T", "b || a", func(context.Context, []*MessageExt) ConsumeResult { return ConsumeSuccess }); err != nil {
		t.Fatal(err)
	}
	if err := cl.registerConsumer("g", pc.consumerBase); err != nil {
		t.Fatal(err)
	}
	if err := cl.registerConsumer("g", pc.consumerBase); !errors.Is(err, ErrGroupInUse) {
		t.Errorf("second registration of a group: %v", err)
	}
	if err := cl.registerProducer("pg"); err != nil {
		t.Fatal(err)
	}
	body := string(protocol.Encode(cl.heartbeatData()))
	for _, want := range []string{
		`"clientID":"10.0.0.5@`, `@hb"`, `"producerDataSet":[{"groupName":"pg"}]`,
		`"groupName":"g","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET"`,
		`"topic":"T","subString":"b || a","tagsSet":["a","b"],"codeSet":["97","98"]`, `"expressionType":"TAG"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("heartbeat %s lacks %s", body, want)
		}
	}
	// NOTIFY_CONSUMER_IDS_CHANGED asks the group for a rebalance at once,
	// and is never answered.
	req := remoting.NewRequest(protocol.NotifyConsumerIDsChanged, remoting.Fields{{Key: "consumerGroup", Value: "g"}}, nil)
	if resp, err := cl.handleConsumerIDsChanged(nil, req); resp != nil || err != nil {
		t.Errorf("notify answered %v, %v", resp, err)
	}
	select {
	case <-pc.rebalanceCh:
	default:
		t.Errorf("notify did not request a rebalance")
	}
}
