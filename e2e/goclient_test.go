package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/sluicehq/sluice/client"
)

// goProducer starts an Apache RocketMQ Go producer.
func goProducer(t testing.TB, nameServer string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	base := []producer.Option{
		producer.WithNameServer([]string{nameServer}),
		producer.WithGroupName(uniqueName(t, "pg")),
		producer.WithInstanceName(uniqueName(t, "p")),
		producer.WithRetry(2),
	}
	p, err := rocketmq.NewProducer(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// goCreateTopic creates a topic with Apache RocketMQ's Go admin client and
// waits for its route.
func goCreateTopic(t testing.TB, c *cluster, topic string, queues int) {
	t.Helper()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.ns.Addr})))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	err = adm.CreateTopic(ctxTimeout(t, 10*time.Second), admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(c.broker.Addr), admin.WithReadQueueNums(queues), admin.WithWriteQueueNums(queues))
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	waitRoute(t, c.ns.Addr, topic)
}

// received collects consumed message bodies and checks order per queue,
// for both clients' message types.
type received struct {
	mu       sync.Mutex
	bodies   map[string]int  // body → times seen
	lastOff  map[int32]int64 // queue → last offset seen
	disorder []string
}

func newReceived() *received {
	return &received{bodies: map[string]int{}, lastOff: map[int32]int64{}}
}

// record notes one message; r.mu is held.
func (r *received) record(body []byte, queue int32, offset int64) {
	r.bodies[string(body)]++
	if last, ok := r.lastOff[queue]; ok && offset <= last {
		r.disorder = append(r.disorder, fmt.Sprintf("queue %d: offset %d after %d", queue, offset, last))
	}
	r.lastOff[queue] = offset
}

// add records messages of Apache RocketMQ's Go client.
func (r *received) add(msgs ...*primitive.MessageExt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.record(m.Body, int32(m.Queue.QueueId), m.QueueOffset)
	}
}

// addSluice records messages of Sluice's client.
func (r *received) addSluice(msgs []*client.MessageExt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.record(m.Body, m.QueueID, m.QueueOffset)
	}
}

func (r *received) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// missing returns the expected bodies never received.
func (r *received) missing(want []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, w := range want {
		if r.bodies[w] == 0 {
			out = append(out, w)
		}
	}
	return out
}

func goPushConsumer(t testing.TB, nameServer, group, topic, expr string, orderly bool,
	handler func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	base := []consumer.Option{
		consumer.WithNameServer([]string{nameServer}),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "c")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumerOrder(orderly),
	}
	c, err := rocketmq.NewPushConsumer(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: expr}, handler); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer: %v", err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

// TestE2EGoClientSendKinds sends with SendSync, SendAsync, SendOneWay and a
// batch, with keys and tags, to a topic the broker creates on first send,
// and consumes everything with a concurrent push consumer filtering a tag.
func TestE2EGoClientSendKinds(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "kinds")
	p := goProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	var want []string
	msg := func(body, tag string) *primitive.Message {
		want = append(want, body)
		return primitive.NewMessage(topic, []byte(body)).WithTag(tag).WithKeys([]string{"key-" + body})
	}
	// First send: the topic does not exist, the route falls back to TBW102.
	res, err := p.SendSync(ctx, msg("sync-0", "a"))
	if err != nil || res.Status != primitive.SendOK {
		t.Fatalf("first sync send: %v %v", res, err)
	}
	if res.MsgID == "" || res.OffsetMsgID == "" || res.MessageQueue == nil {
		t.Fatalf("send result lacks ids: %+v", res)
	}
	for i := 1; i < 20; i++ {
		if res, err := p.SendSync(ctx, msg(fmt.Sprint("sync-", i), "a")); err != nil || res.Status != primitive.SendOK {
			t.Fatalf("sync send %d: %v %v", i, res, err)
		}
	}
	var wg sync.WaitGroup
	var asyncErrs atomic.Int32
	for i := range 20 {
		wg.Add(1)
		err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			if err != nil || r.Status != primitive.SendOK {
				asyncErrs.Add(1)
			}
		}, msg(fmt.Sprint("async-", i), "a"))
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n := asyncErrs.Load(); n > 0 {
		t.Fatalf("%d async sends failed", n)
	}
	var batch []*primitive.Message
	for i := range 10 {
		batch = append(batch, msg(fmt.Sprint("batch-", i), "a"))
	}
	if res, err := p.SendSync(ctx, batch...); err != nil || res.Status != primitive.SendOK {
		t.Fatalf("batch send: %v %v", res, err)
	}
	if err := p.SendOneWay(ctx, msg("oneway-0", "a")); err != nil {
		t.Fatal(err)
	}
	// Tag "b" messages must be filtered out by the broker.
	for i := range 5 {
		if _, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(fmt.Sprint("other-", i))).WithTag("b")); err != nil {
			t.Fatal(err)
		}
	}
	got := newReceived()
	var tagB atomic.Int32
	goPushConsumer(t, c.ns.Addr, uniqueName(t, "cg"), topic, "a", false,
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				if m.GetTags() != "a" {
					tagB.Add(1)
				}
			}
			got.add(msgs...)
			return consumer.ConsumeSuccess, nil
		})
	eventually(t, 60*time.Second, func() bool { return got.distinct() >= len(want) },
		"consumed %d of %d", got.distinct(), len(want))
	if m := got.missing(want); len(m) > 0 {
		t.Fatalf("never consumed: %v", m)
	}
	if tagB.Load() > 0 {
		t.Fatalf("%d messages with tag b reached a consumer of tag a", tagB.Load())
	}
}

// TestE2EGoClientOrderly100k sends 100,000 messages with sharding keys and
// consumes them with an orderly push consumer: every acknowledged message
// arrives, and each queue's messages arrive in offset order.
func TestE2EGoClientOrderly100k(t *testing.T) {
	const total, keys = 100_000, 64
	c := startCluster(t)
	topic := uniqueName(t, "orderly")
	goCreateTopic(t, c, topic, 8)
	p := goProducer(t, c.ns.Addr, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	ctx := ctxTimeout(t, 5*time.Minute)
	want := make([]string, 0, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 4 * 50 {
				var batch []*primitive.Message
				var bodies []string
				key := fmt.Sprint("k", (i/(4*50))%keys)
				for j := i; j < i+4*50 && j < total; j += 4 {
					body := fmt.Sprintf("%s:%07d", key, j)
					bodies = append(bodies, body)
					batch = append(batch, primitive.NewMessage(topic, []byte(body)).WithShardingKey(key))
				}
				res, err := p.SendSync(ctx, batch...)
				if err != nil || res.Status != primitive.SendOK {
					errs <- fmt.Errorf("batch at %d: %v %v", i, res, err)
					return
				}
				mu.Lock()
				want = append(want, bodies...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(want) != total {
		t.Fatalf("acknowledged %d of %d", len(want), total)
	}
	got := newReceived()
	goPushConsumer(t, c.ns.Addr, uniqueName(t, "og"), topic, "*", true,
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			got.add(msgs...)
			return consumer.ConsumeSuccess, nil
		}, consumer.WithConsumeMessageBatchMaxSize(32))
	eventually(t, 4*time.Minute, func() bool { return got.distinct() >= total }, "consumed %d of %d", got.distinct(), total)
	if m := got.missing(want); len(m) > 0 {
		t.Fatalf("%d acknowledged messages never consumed, e.g. %v", len(m), m[:min(5, len(m))])
	}
	if len(got.disorder) > 0 {
		t.Fatalf("order broken: %v", got.disorder[:min(5, len(got.disorder))])
	}
}

// TestE2EGoClientRetry fails the first delivery of each message; they must
// come back through the group's retry topic.
func TestE2EGoClientRetry(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "retry")
	goCreateTopic(t, c, topic, 2)
	p := goProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	want := sendNumbered(t, 10, "job", func(body string) error {
		_, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
		return err
	})
	// A brand-new group's %RETRY% topic is created by its first heartbeat,
	// after Apache RocketMQ's Go client looked up its routes at Start: the
	// client only sees it at its next rebalance or route refresh (20–30 s).
	// Create it first, as an existing group would have it.
	group := uniqueName(t, "rg")
	goCreateTopic(t, c, "%RETRY%"+group, 1)
	tracker := newRetryTracker()
	goPushConsumer(t, c.ns.Addr, group, topic, "*", false,
		func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			m := msgs[0]
			if tracker.deliver(string(m.Body), m.Topic, m.ReconsumeTimes) {
				// Retry after delay level 1 (1 s) rather than 3+n (10 s).
				if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
					cc.DelayLevelWhenNextConsume = 1
				}
				return consumer.ConsumeRetryLater, nil
			}
			return consumer.ConsumeSuccess, nil
		}, consumer.WithConsumeMessageBatchMaxSize(1))
	tracker.check(t, topic, want)
}

// TestE2EGoClientPullConsumer uses the lite pull consumer: subscribe, poll
// and acknowledge.
func TestE2EGoClientPullConsumer(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "pull")
	goCreateTopic(t, c, topic, 4)
	p := goProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	want := sendNumbered(t, 200, "p", func(body string) error {
		_, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
		return err
	})
	pc, err := rocketmq.NewPullConsumer(
		consumer.WithNameServer([]string{c.ns.Addr}),
		consumer.WithGroupName(uniqueName(t, "lg")),
		consumer.WithInstance(uniqueName(t, "l")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown()
	got := newReceived()
	eventually(t, 50*time.Second, func() bool {
		cr, err := pc.Poll(ctx, time.Second)
		if err == nil && cr != nil {
			got.add(cr.GetMsgList()...)
			pc.ACK(ctx, cr, consumer.ConsumeSuccess)
		}
		return got.distinct() >= len(want)
	}, "polled %d of %d", got.distinct(), len(want))
	if m := got.missing(want); len(m) > 0 {
		t.Fatalf("never polled: %v", m)
	}
}
