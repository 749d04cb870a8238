package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// The scenarios of goclient_test.go with Sluice's own client, against the
// same `sluice` processes.

func sluiceProducer(t testing.TB, nameServer string) *client.Producer {
	t.Helper()
	opts := client.NewProducerOptions(nameServer)
	opts.ClientOptions.Logger = testutil.Logger(t)
	p, err := client.NewProducer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

func sluicePushConsumer(t testing.TB, nameServer, group, topic, expr string, orderly bool, batch int, h client.Handler) *client.PushConsumer {
	t.Helper()
	opts := client.NewPushConsumerOptions(group, nameServer)
	opts.ClientOptions.Logger = testutil.Logger(t)
	opts.ConsumeFrom = client.ConsumeFromFirstOffset
	opts.Orderly = orderly
	opts.ConsumeBatchSize = batch
	opts.RetryDelayLevel = 1
	c, err := client.NewPushConsumer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(topic, expr, h); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

func TestE2ESluiceClientSendKinds(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "skinds")
	p := sluiceProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	var want []string
	msg := func(body, tag string) *client.Message {
		want = append(want, body)
		return client.NewMessage(topic, []byte(body)).WithTags(tag).WithKeys("key-" + body)
	}
	for i := range 20 {
		if res, err := p.SendSync(ctx, msg(fmt.Sprint("sync-", i), "a")); err != nil || res.Status != client.SendOK {
			t.Fatalf("sync send %d: %v %v", i, res, err)
		}
	}
	var wg sync.WaitGroup
	var asyncErrs atomic.Int32
	for i := range 20 {
		wg.Add(1)
		if err := p.SendAsync(ctx, msg(fmt.Sprint("async-", i), "a"), func(r *client.SendResult, err error) {
			defer wg.Done()
			if err != nil || r.Status != client.SendOK {
				asyncErrs.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n := asyncErrs.Load(); n > 0 {
		t.Fatalf("%d async sends failed", n)
	}
	var batch []*client.Message
	for i := range 10 {
		batch = append(batch, msg(fmt.Sprint("batch-", i), "a"))
	}
	if _, err := p.SendSync(ctx, batch...); err != nil {
		t.Fatalf("batch send: %v", err)
	}
	if err := p.SendOneway(ctx, msg("oneway-0", "a")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(fmt.Sprint("other-", i))).WithTags("b")); err != nil {
			t.Fatal(err)
		}
	}
	got := newReceived()
	var wrongTag atomic.Int32
	sluicePushConsumer(t, c.ns.Addr, uniqueName(t, "scg"), topic, "a", false, 8,
		func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
			for _, m := range msgs {
				if m.Tags() != "a" {
					wrongTag.Add(1)
				}
			}
			got.addSluice(msgs)
			return client.ConsumeSuccess
		})
	eventually(t, 60*time.Second, func() bool { return len(got.missing(want)) == 0 },
		"%d messages never consumed", len(got.missing(want)))
	if wrongTag.Load() > 0 {
		t.Fatalf("%d messages with tag b reached a consumer of tag a", wrongTag.Load())
	}
}

func TestE2ESluiceClientOrderly100k(t *testing.T) {
	const total = 100_000
	c := startCluster(t)
	topic := uniqueName(t, "sorderly")
	goCreateTopic(t, c, topic, 8)
	p := sluiceProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 5*time.Minute)
	want := make([]string, total)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := w * 50; lo < total; lo += 4 * 50 {
				var batch []*client.Message
				for i := lo; i < min(lo+50, total); i++ {
					want[i] = fmt.Sprintf("%07d", i)
					batch = append(batch, client.NewMessage(topic, []byte(want[i])))
				}
				if _, err := p.SendSync(ctx, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := newReceived()
	sluicePushConsumer(t, c.ns.Addr, uniqueName(t, "sog"), topic, "*", true, 32,
		func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
			got.addSluice(msgs)
			return client.ConsumeSuccess
		})
	eventually(t, 4*time.Minute, func() bool { return len(got.missing(want)) == 0 },
		"%d acknowledged messages never consumed", len(got.missing(want)))
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.disorder) > 0 {
		t.Fatalf("order broken: %v", got.disorder[:min(5, len(got.disorder))])
	}
}

func TestE2ESluiceClientRetry(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "sretry")
	goCreateTopic(t, c, topic, 2)
	p := sluiceProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	want := sendNumbered(t, 10, "job", func(body string) error {
		_, err := p.SendSync(ctx, client.NewMessage(topic, []byte(body)))
		return err
	})
	tracker := newRetryTracker()
	sluicePushConsumer(t, c.ns.Addr, uniqueName(t, "srg"), topic, "*", false, 1,
		func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
			m := msgs[0]
			if tracker.deliver(string(m.Body), m.Topic, m.ReconsumeTimes) {
				return client.ConsumeRetryLater
			}
			return client.ConsumeSuccess
		})
	tracker.check(t, topic, want)
}

func TestE2ESluiceClientPullConsumer(t *testing.T) {
	c := startCluster(t)
	topic := uniqueName(t, "spull")
	goCreateTopic(t, c, topic, 4)
	p := sluiceProducer(t, c.ns.Addr)
	ctx := ctxTimeout(t, 60*time.Second)
	want := sendNumbered(t, 200, "p", func(body string) error {
		_, err := p.SendSync(ctx, client.NewMessage(topic, []byte(body)))
		return err
	})
	group := uniqueName(t, "slg")
	consume := func(n int) []*client.MessageExt {
		opts := client.NewPullConsumerOptions(group, c.ns.Addr)
		opts.ClientOptions.Logger = testutil.Logger(t)
		opts.ConsumeFrom = client.ConsumeFromFirstOffset
		pc, err := client.NewPullConsumer(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.Subscribe(topic, "*"); err != nil {
			t.Fatal(err)
		}
		if err := pc.Start(); err != nil {
			t.Fatal(err)
		}
		defer pc.Shutdown()
		var out []*client.MessageExt
		for len(out) < n {
			msgs, err := pc.Poll(ctx)
			if err != nil {
				t.Fatalf("poll: %v", err)
			}
			for _, m := range msgs {
				if len(out) < n {
					out = append(out, m)
					// Commit exactly what was processed.
					if err := pc.Commit(client.MessageQueue{Topic: m.Topic, BrokerName: "broker-a", QueueID: m.QueueID}, m.QueueOffset+1); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return out
	}
	first := consume(100)
	rest := consume(100)
	seen := map[string]bool{}
	for _, m := range first {
		seen[string(m.Body)] = true
	}
	for _, m := range rest {
		if seen[string(m.Body)] {
			t.Fatalf("%s was committed by the first consumer but polled again by the second", m.Body)
		}
	}
	got := newReceived()
	got.addSluice(first)
	got.addSluice(rest)
	if m := got.missing(want); len(m) > 0 {
		t.Fatalf("after a restart with committed offsets, never polled: %v", m)
	}
}
