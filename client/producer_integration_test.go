package client_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// drainTopic reads every message of topic from offset 0 with a pull
// consumer in assign mode, until want distinct bodies arrived.
func drainTopic(t *testing.T, c *testutil.Cluster, topic string, want int) map[string]*client.MessageExt {
	t.Helper()
	cl := newClient(t, c, "drain-"+topic)
	admin := client.NewAdmin(cl)
	ctx := ctxT(t, 30*time.Second)
	var route *client.TopicRouteData
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := admin.TopicRoute(ctx, topic)
		route = r
		return err == nil
	}, "route of %s", topic)
	o := client.NewPullConsumerOptions("drain-" + sanitize(t.Name()))
	o.Client = cl
	o.ConsumeFrom = client.ConsumeFromFirstOffset
	o.LongPollTimeout = time.Second
	o.PullTimeout = 5 * time.Second
	pc, err := client.NewPullConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	var mqs []client.MessageQueue
	for _, qd := range route.QueueDatas {
		for i := range qd.ReadQueueNums {
			mqs = append(mqs, client.MessageQueue{Topic: topic, BrokerName: qd.BrokerName, QueueID: i})
		}
	}
	if err := pc.Assign(ctx, mqs); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown()
	got := map[string]*client.MessageExt{}
	for len(got) < want {
		msgs, err := pc.Poll(ctx)
		if err != nil {
			t.Fatalf("drain %s: %d of %d: %v", topic, len(got), want, err)
		}
		for _, m := range msgs {
			got[string(m.Body)] = m
		}
	}
	return got
}

func TestClientProduceAllModesToNewTopic(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	cl := newClient(t, c, "p")
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 60*time.Second)
	const topic = "NewTopicAllModes"
	sent := map[string]bool{}
	// sync, one at a time: the first creates the topic from TBW102.
	for i := range 20 {
		body := fmt.Sprintf("sync-%d", i)
		res, err := p.SendSync(ctx, client.NewMessage(topic, []byte(body)).WithTags("tagA").WithKeys("key-"+body, "k2"))
		if err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
		if res.Status != client.SendOK || len(res.MsgID) != 32 || len(res.OffsetMsgID) != 32 || res.QueueOffset < 0 {
			t.Fatalf("sync %d: result %v", i, res)
		}
		sent[body] = true
	}
	// batch: one queue, consecutive offsets.
	var batch []*client.Message
	for i := range 10 {
		batch = append(batch, client.NewMessage(topic, []byte(fmt.Sprintf("batch-%d", i))).WithTags("tagB").WithKeys(fmt.Sprintf("bk%d", i)))
	}
	res, err := p.SendSync(ctx, batch...)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	if ids := strings.Split(res.MsgID, ","); len(ids) != 10 {
		t.Fatalf("batch msg ids %q", res.MsgID)
	}
	for _, m := range batch {
		sent[string(m.Body)] = true
	}
	// async.
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 50 {
		body := fmt.Sprintf("async-%d", i)
		wg.Add(1)
		if err := p.SendAsync(ctx, client.NewMessage(topic, []byte(body)).WithTags("tagC"), func(res *client.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("async %s: %v", body, err)
				return
			}
			mu.Lock()
			sent[body] = true
			mu.Unlock()
		}); err != nil {
			t.Fatalf("async %d: %v", i, err)
		}
	}
	wg.Wait()
	// oneway.
	for i := range 10 {
		body := fmt.Sprintf("oneway-%d", i)
		if err := p.SendOneway(ctx, client.NewMessage(topic, []byte(body))); err != nil {
			t.Fatalf("oneway %d: %v", i, err)
		}
		sent[body] = true
	}
	// A large body is compressed on the wire and arrives intact.
	large := []byte(strings.Repeat("0123456789abcdef", 1024))
	if _, err := p.SendSync(ctx, client.NewMessage(topic, large)); err != nil {
		t.Fatalf("large: %v", err)
	}
	got := drainTopic(t, c, topic, len(sent)+1)
	for body := range sent {
		m := got[body]
		if m == nil {
			t.Errorf("%s never arrived", body)
			continue
		}
		switch {
		case strings.HasPrefix(body, "sync-"):
			if m.Tags() != "tagA" || m.Keys() != "key-"+body+" k2" || m.MsgID == m.OffsetMsgID {
				t.Errorf("%s: tags %q keys %q msgId %s", body, m.Tags(), m.Keys(), m.MsgID)
			}
		case strings.HasPrefix(body, "batch-"):
			if m.Tags() != "tagB" || m.QueueID != got["batch-0"].QueueID {
				t.Errorf("%s: tags %q queue %d", body, m.Tags(), m.QueueID)
			}
		}
	}
	if s := p.Stats(); s.Sent != int64(len(sent)+1) || s.SendErrors != 0 {
		t.Errorf("stats %+v, sent %d", s, len(sent)+1)
	}
}

func TestClientProduceToCreatedTopicAndValidation(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	cl := newClient(t, c, "p")
	ctx := ctxT(t, 30*time.Second)
	admin := client.NewAdmin(cl)
	addrs, err := admin.CreateTopicInCluster(ctx, "", client.TopicConfig{Topic: "Created", ReadQueueNums: 6, WriteQueueNums: 6})
	if err != nil || len(addrs) != 1 {
		t.Fatalf("create topic: %v %v", addrs, err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		r, err := admin.TopicRoute(ctx, "Created")
		return err == nil && len(r.QueueDatas) == 1 && r.QueueDatas[0].WriteQueueNums == 6
	}, "route of the created topic")
	p := newProducer(t, cl, nil)
	mqs, err := p.PublishQueues(ctx, "Created")
	if err != nil || len(mqs) != 6 {
		t.Fatalf("publish queues %v %v", mqs, err)
	}
	// The caller partitions: every message to queue 5.
	for i := range 5 {
		res, err := p.SendToQueue(ctx, mqs[5], client.NewMessage("Created", []byte{byte(i)}))
		if err != nil || res.Queue != mqs[5] || res.QueueOffset != int64(i) {
			t.Fatalf("send to queue: %v %v", res, err)
		}
	}
	// Sharding keys pick one queue per key.
	queueOf := map[string]client.MessageQueue{}
	for i := range 40 {
		key := fmt.Sprintf("pk-%d", i%4)
		res, err := p.SendSync(ctx, client.NewMessage("Created", []byte("x")).WithShardingKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if q, ok := queueOf[key]; ok && q != res.Queue {
			t.Errorf("key %s went to %s and %s", key, q, res.Queue)
		}
		queueOf[key] = res.Queue
	}
	// Invalid messages fail before any request.
	before := p.Stats()
	for _, m := range []*client.Message{
		client.NewMessage("Created", nil),
		client.NewMessage("bad topic!", []byte("x")),
		client.NewMessage("Created", make([]byte, 4<<20+1)),
	} {
		if _, err := p.SendSync(ctx, m); !errors.Is(err, client.ErrInvalidMessage) {
			t.Errorf("invalid message: %v", err)
		}
	}
	if _, err := p.SendSync(ctx, client.NewMessage("Created", []byte("a")), client.NewMessage("Other", []byte("b"))); !errors.Is(err, client.ErrInvalidMessage) {
		t.Errorf("mixed batch: %v", err)
	}
	if after := p.Stats(); after != before {
		t.Errorf("invalid sends changed stats: %+v -> %+v", before, after)
	}
	p2, _ := client.NewProducer(client.ProducerOptions{Client: cl})
	if _, err := p2.SendSync(ctx, client.NewMessage("Created", []byte("x"))); !errors.Is(err, client.ErrNotStarted) {
		t.Errorf("send before start: %v", err)
	}
	p2.Start()
	p2.Shutdown()
	if _, err := p2.SendSync(ctx, client.NewMessage("Created", []byte("x"))); !errors.Is(err, client.ErrShutdown) {
		t.Errorf("send after shutdown: %v", err)
	}
}

func TestClientProduceWithoutAutoCreate(t *testing.T) {
	c := testutil.StartCluster(t, func(o *broker.Options) { o.AutoCreateTopic = false })
	cl := newClient(t, c, "p")
	p := newProducer(t, cl, nil)
	_, err := p.SendSync(ctxT(t, 20*time.Second), client.NewMessage("NoSuchTopic", []byte("x")))
	if !errors.Is(err, client.ErrTopicNotExist) {
		t.Errorf("send to a missing topic without auto-create: %v", err)
	}
}
