package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/testutil"
)

func createTopic(t *testing.T, cl *client.Client, topic string, queues int32) {
	t.Helper()
	admin := client.NewAdmin(cl)
	ctx := ctxT(t, 20*time.Second)
	if _, err := admin.CreateTopicInCluster(ctx, "", client.TopicConfig{Topic: topic, ReadQueueNums: queues, WriteQueueNums: queues}); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := admin.TopicRoute(ctx, topic)
		return err == nil && len(r.QueueDatas) > 0 && r.QueueDatas[0].ReadQueueNums == queues
	}, "route of %s", topic)
}

func startPush(t *testing.T, o client.PushConsumerOptions, topic, expr string, h client.Handler) *client.PushConsumer {
	t.Helper()
	pc, err := client.NewPushConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, expr, h); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown() })
	return pc
}

// sendEveryWay sends 10,000 messages to topic: 2,000 sync with sharding
// keys, 2,000 in batches of 8, 5,000 async and 1,000 oneway. It returns the
// bodies acknowledged and, per sharding key, the sync results in send order.
func sendEveryWay(t *testing.T, p *client.Producer, topic string) (map[string]bool, map[string][]*client.SendResult) {
	ctx := ctxT(t, 120*time.Second)
	var mu sync.Mutex
	acked := map[string]bool{}
	perKey := map[string][]*client.SendResult{}
	ack := func(body string) { mu.Lock(); acked[body] = true; mu.Unlock() }
	msg := func(kind string, i int) *client.Message {
		body := fmt.Sprintf("%s-%05d", kind, i)
		return client.NewMessage(topic, []byte(body)).WithKeys("id-" + body).WithTags(kind)
	}
	for i := range 2000 {
		key := fmt.Sprintf("key-%02d", i%50)
		res, err := p.SendSync(ctx, msg("sync", i).WithShardingKey(key))
		if err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
		ack(fmt.Sprintf("sync-%05d", i))
		perKey[key] = append(perKey[key], res)
	}
	for i := 0; i < 2000; i += 8 {
		var batch []*client.Message
		for j := i; j < i+8; j++ {
			batch = append(batch, msg("batch", j))
		}
		if _, err := p.SendSync(ctx, batch...); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		for j := i; j < i+8; j++ {
			ack(fmt.Sprintf("batch-%05d", j))
		}
	}
	var wg sync.WaitGroup
	for i := range 5000 {
		wg.Add(1)
		body := fmt.Sprintf("async-%05d", i)
		if err := p.SendAsync(ctx, msg("async", i), func(res *client.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("async %s: %v", body, err)
				return
			}
			ack(body)
		}); err != nil {
			t.Fatalf("async %d: %v", i, err)
		}
	}
	for i := range 1000 { // not acknowledged: only counted
		if err := p.SendOneway(ctx, msg("oneway", i)); err != nil {
			t.Fatalf("oneway %d: %v", i, err)
		}
	}
	wg.Wait()
	return acked, perKey
}

// contiguous checks that every queue was consumed from 0 without a gap and
// returns the number of offsets consumed.
func (r *recorder) contiguous(t *testing.T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for mq, offs := range r.byQ {
		seen := map[int64]bool{}
		for _, o := range offs {
			seen[o] = true
		}
		for o := range int64(len(seen)) {
			if !seen[o] {
				t.Errorf("queue %s: offset %d never consumed", mq, o)
				break
			}
		}
		total += len(seen)
	}
	return total
}

// TestClientTenThousandMessages is the main end-to-end test: 10,000
// messages sent every way while a concurrent push consumer runs; every
// acknowledged message must be consumed, each sharding key's messages are
// stored in send order, and the committed offsets reach every queue's end.
func TestClientTenThousandMessages(t *testing.T) {
	const topic = "TenK"
	c, cl := setupTopic(t, topic, 8)
	rec := newRecorder()
	var redelivered atomic.Int64
	o := pushOptions(newClient(t, c, "c"), "cg-tenk")
	o.ConsumeGoroutines = 8
	o.ConsumeBatchSize = 16
	pc := startPush(t, o, topic, "*", func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		for _, m := range msgs {
			if m.Topic != topic || m.Keys() == "" {
				t.Errorf("message %s: topic %s keys %q", m.Body, m.Topic, m.Keys())
			}
			if m.ReconsumeTimes > 0 {
				redelivered.Add(1)
			}
			rec.add(m, "broker-a")
		}
		return client.ConsumeSuccess
	})
	testutil.Eventually(t, 10*time.Second, func() bool { return len(queuesOf(pc.Assignment(), topic)) == 8 }, "8 queues assigned, have %v", pc.Assignment())

	acked, perKey := sendEveryWay(t, newProducer(t, cl, nil), topic)
	if len(acked) != 9000 {
		t.Fatalf("%d of 9000 sends acknowledged", len(acked))
	}
	for key, list := range perKey {
		for i := 1; i < len(list); i++ {
			if a, b := list[i-1], list[i]; a.Queue != b.Queue || a.QueueOffset >= b.QueueOffset {
				t.Fatalf("key %s: message %d at %s/%d, next at %s/%d", key, i-1, a.Queue, a.QueueOffset, b.Queue, b.QueueOffset)
			}
		}
	}
	testutil.Eventually(t, 60*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for body := range acked {
			if rec.seen[body] == 0 {
				return false
			}
		}
		return true
	}, "consumed %d distinct of 9000 acknowledged", rec.distinct())
	testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() >= 9990 }, "oneway messages: %d of 10000 consumed", rec.distinct())
	total := rec.contiguous(t)
	// A send retried after a timeout may store a message twice (same
	// UNIQ_KEY, new offset); the consumer itself must not repeat offsets.
	if n := rec.redelivered(); n != 0 || redelivered.Load() != 0 {
		t.Errorf("%d offsets delivered twice, %d redeliveries with a healthy broker", n, redelivered.Load())
	}
	admin := client.NewAdmin(cl)
	ctx := ctxT(t, 20*time.Second)
	testutil.Eventually(t, 10*time.Second, func() bool {
		sum := int64(0)
		for _, mq := range queuesOf(pc.Assignment(), topic) {
			off, err := admin.QueryConsumerOffset(ctx, "cg-tenk", mq)
			if err != nil {
				return false
			}
			sum += off
		}
		return sum == int64(total)
	}, "committed offsets reach %d", total)
	if s := pc.Stats(); s.Consumed < 10000 || s.ConsumeFailures != 0 || s.Pulls == 0 {
		t.Errorf("consumer stats %+v", s)
	}
}

// TestClientPushOrderPerQueue checks that a consumer with one handler
// goroutine sees each queue in offset order, and tag filtering.
func TestClientPushOrderPerQueueAndTags(t *testing.T) {
	const topic = "Tagged"
	c, cl := setupTopic(t, topic, 4)
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 60*time.Second)
	tags := []string{"red", "green", "blue", ""}
	want := 0
	for i := range 400 {
		tag := tags[i%4]
		if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(fmt.Sprint(i))).WithTags(tag)); err != nil {
			t.Fatal(err)
		}
		if tag == "red" || tag == "blue" {
			want++
		}
	}
	rec := newRecorder()
	var bad atomic.Int64
	o := pushOptions(newClient(t, c, "c"), "cg-tags")
	o.ConsumeGoroutines = 1
	startPush(t, o, topic, "red || blue", func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		for _, m := range msgs {
			if m.Tags() != "red" && m.Tags() != "blue" {
				bad.Add(1)
			}
			rec.add(m, "broker-a")
		}
		return client.ConsumeSuccess
	})
	testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() == want }, "consumed %d of %d", rec.distinct(), want)
	if bad.Load() != 0 {
		t.Errorf("%d messages with other tags delivered", bad.Load())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.errors {
		t.Error(e)
	}
}

// TestClientPushRetryAndDLQ: a message whose handler fails once comes back
// through %RETRY%<group> with its original topic; one that always fails
// ends in %DLQ%<group> after MaxReconsumeTimes.
func TestClientPushRetryAndDLQ(t *testing.T) {
	const topic, group = "Retried", "cg-retry"
	c, cl := setupTopic(t, topic, 2)
	var mu sync.Mutex
	deliveries := map[string][]*client.MessageExt{}
	o := pushOptions(newClient(t, c, "c"), group)
	o.MaxReconsumeTimes = 1
	o.RetryDelayLevel = 1 // 1 s
	startPush(t, o, topic, "*", func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		mu.Lock()
		defer mu.Unlock()
		m := msgs[0]
		body := string(m.Body)
		deliveries[body] = append(deliveries[body], m)
		switch {
		case body == "fail-once" && m.ReconsumeTimes == 0:
			return client.ConsumeRetryLater
		case body == "always-fail":
			return client.ConsumeRetryLater
		case body == "panics" && m.ReconsumeTimes == 0:
			panic("handler bug")
		}
		return client.ConsumeSuccess
	})
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 60*time.Second)
	for _, body := range []string{"ok", "fail-once", "always-fail", "panics"} {
		if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(body)).WithTags("t").WithKeys("k-"+body)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(body string) int { mu.Lock(); defer mu.Unlock(); return len(deliveries[body]) }
	testutil.Eventually(t, 20*time.Second, func() bool {
		return count("fail-once") == 2 && count("panics") == 2 && count("always-fail") == 2
	}, "deliveries: fail-once %d, panics %d, always-fail %d", count("fail-once"), count("panics"), count("always-fail"))
	mu.Lock()
	again := deliveries["fail-once"][1]
	if again.Topic != topic || again.ReconsumeTimes != 1 || again.Properties[message.PropertyRetryTopic] != topic ||
		again.Tags() != "t" || again.Keys() != "k-fail-once" {
		t.Errorf("redelivery: topic %s reconsume %d props %v", again.Topic, again.ReconsumeTimes, again.Properties)
	}
	if again.MsgID != deliveries["fail-once"][0].MsgID {
		t.Errorf("redelivery changed the msg id: %s -> %s", deliveries["fail-once"][0].MsgID, again.MsgID)
	}
	if len(deliveries["ok"]) != 1 {
		t.Errorf("ok delivered %d times", len(deliveries["ok"]))
	}
	mu.Unlock()
	// always-fail is now in the DLQ.
	dlq := drainTopic(t, c, message.DLQTopic(group), 1)
	m := dlq["always-fail"]
	if m == nil || m.Properties[message.PropertyRetryTopic] != topic {
		t.Fatalf("DLQ holds %v", dlq)
	}
	time.Sleep(1500 * time.Millisecond) // no third delivery after the DLQ
	if n := count("always-fail"); n != 2 {
		t.Errorf("always-fail delivered %d times, want 2", n)
	}
}

// TestClientPushBroadcasting: every member gets every message, and keeps
// its offsets in its own file.
func TestClientPushBroadcasting(t *testing.T) {
	const topic = "Broadcast"
	c, cl := setupTopic(t, topic, 4)
	var recs []*recorder
	dirs := []string{t.TempDir(), t.TempDir()}
	for i := range 2 {
		rec := newRecorder()
		recs = append(recs, rec)
		o := pushOptions(newClient(t, c, fmt.Sprint("b", i)), "cg-broadcast")
		o.Model = client.Broadcasting
		o.OffsetDir = dirs[i]
		pc := startPush(t, o, topic, "*", func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
			for _, m := range msgs {
				rec.add(m, "broker-a")
			}
			return client.ConsumeSuccess
		})
		testutil.Eventually(t, 10*time.Second, func() bool { return len(queuesOf(pc.Assignment(), topic)) == 4 }, "broadcast consumer owns all queues")
	}
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 30*time.Second)
	for i := range 100 {
		if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	for i, rec := range recs {
		testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() == 100 }, "consumer %d got %d of 100", i, rec.distinct())
	}
	for i, dir := range dirs {
		testutil.Eventually(t, 10*time.Second, func() bool {
			b, err := readFile(dir + "/cg-broadcast/offsets.json")
			return err == nil && strings.Contains(b, `"offset": 25`)
		}, "consumer %d persisted its offsets", i)
	}
}

// TestClientPushRebalance: two members split the queues; when one leaves
// the other takes them all, and every message is consumed (duplicates only
// around the handover).
func TestClientPushRebalance(t *testing.T) {
	const topic, group = "Rebalanced", "cg-rebalance"
	c, cl := setupTopic(t, topic, 8)
	rec := newRecorder()
	handler := func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		for _, m := range msgs {
			rec.add(m, "broker-a")
		}
		return client.ConsumeSuccess
	}
	c1 := startPush(t, pushOptions(newClient(t, c, "m1"), group), topic, "*", handler)
	c2cl := newClient(t, c, "m2")
	c2 := startPush(t, pushOptions(c2cl, group), topic, "*", handler)
	testutil.Eventually(t, 15*time.Second, func() bool {
		return len(queuesOf(c1.Assignment(), topic)) == 4 && len(queuesOf(c2.Assignment(), topic)) == 4
	}, "queues split 4/4: %v / %v", c1.Assignment(), c2.Assignment())
	for _, q := range c1.Assignment() {
		for _, q2 := range c2.Assignment() {
			if q == q2 {
				t.Fatalf("queue %s owned by both", q)
			}
		}
	}
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 60*time.Second)
	stop := make(chan struct{})
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(fmt.Sprint(i)))); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			sent.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() >= 300 }, "consuming")
	before := rec.distinct()
	if err := c2.Shutdown(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	testutil.Eventually(t, 15*time.Second, func() bool { return len(queuesOf(c1.Assignment(), topic)) == 8 }, "survivor owns all 8 queues, has %v", c1.Assignment())
	testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() >= before+300 }, "still consuming")
	close(stop)
	wg.Wait()
	n := int(sent.Load())
	testutil.Eventually(t, 20*time.Second, func() bool { return rec.distinct() == n }, "consumed %d of %d", rec.distinct(), n)
	if dups := rec.redelivered(); dups > 100 {
		t.Errorf("%d duplicates of %d messages", dups, n)
	} else {
		t.Logf("%d messages, %d duplicates around the handover", n, dups)
	}
}
