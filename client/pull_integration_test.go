package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

func pullOptions(cl *client.Client, group string) client.PullConsumerOptions {
	o := client.NewPullConsumerOptions(group)
	o.Client = cl
	o.ConsumeFrom = client.ConsumeFromFirstOffset
	o.LongPollTimeout = time.Second
	o.PullTimeout = 5 * time.Second
	o.PullRetryDelay = 200 * time.Millisecond
	o.LockRenewInterval = time.Second
	return o
}

func startPull(t *testing.T, o client.PullConsumerOptions, topic string) *client.PullConsumer {
	t.Helper()
	pc, err := client.NewPullConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, "*"); err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Shutdown() })
	return pc
}

func produce(t *testing.T, p *client.Producer, topic string, from, n int) {
	t.Helper()
	ctx := ctxT(t, 30*time.Second)
	for i := from; i < from+n; i++ {
		if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

// TestClientPullCommitResume: a pull consumer commits only what it
// processed; after a restart the group resumes exactly there.
func TestClientPullCommitResume(t *testing.T) {
	const topic, group = "Pulled", "cg-pull"
	c, cl := setupTopic(t, topic, 4)
	produce(t, newProducer(t, cl, nil), topic, 0, 200)

	first := startPull(t, pullOptions(newClient(t, c, "s1"), group), topic)
	ctx := ctxT(t, 60*time.Second)
	seen := map[string]int{}
	commits := map[client.MessageQueue]int64{}
	for len(seen) < 100 {
		msgs, err := first.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			seen[string(m.Body)]++
			mq := client.MessageQueue{Topic: m.Topic, BrokerName: "broker-a", QueueID: m.QueueID}
			if next, ok := commits[mq]; ok && m.QueueOffset != next {
				t.Fatalf("queue %s: offset %d after %d", mq, m.QueueOffset, next-1)
			}
			commits[mq] = m.QueueOffset + 1
		}
	}
	if err := first.CommitSync(ctx, commits); err != nil {
		t.Fatal(err)
	}
	for mq, off := range commits {
		if got, err := first.Committed(ctx, mq); err != nil || got != off {
			t.Errorf("committed %s: %d, %v; want %d", mq, got, err, off)
		}
	}
	if err := first.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Poll(ctx); !errors.Is(err, client.ErrShutdown) {
		t.Errorf("poll after shutdown: %v", err)
	}
	// Fetched-but-unpolled messages were not committed: the restart sees
	// exactly the rest.
	second := startPull(t, pullOptions(newClient(t, c, "s2"), group), topic)
	for len(seen) < 200 {
		msgs, err := second.Poll(ctx)
		if err != nil {
			t.Fatalf("after %d: %v", len(seen), err)
		}
		for _, m := range msgs {
			seen[string(m.Body)]++
		}
	}
	for body, n := range seen {
		if n != 1 {
			t.Errorf("%s consumed %d times", body, n)
		}
	}
	// Nothing more arrives.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if msgs, err := second.Poll(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("extra poll: %d messages, %v", len(msgs), err)
	}
}

// TestClientPullRebalanceCallbacks: OnRevoke runs before a queue moves, and
// what it commits is where the new owner starts. The consumers are orderly:
// the broker lock makes the handover exact (the new owner locks only after
// the old one committed and unlocked), which is what a sink relies on.
func TestClientPullRebalanceCallbacks(t *testing.T) {
	const topic, group = "PullRebalance", "cg-pull-rb"
	c, cl := setupTopic(t, topic, 4)
	produce(t, newProducer(t, cl, nil), topic, 0, 40)

	var mu sync.Mutex
	var pc1 *client.PullConsumer
	processed := map[client.MessageQueue]int64{} // next offset per queue, by consumer 1
	var revoked, assigned1 []client.MessageQueue
	o1 := pullOptions(newClient(t, c, "r1"), group)
	o1.Orderly = true
	o1.OnAssign = func(mqs []client.MessageQueue) { mu.Lock(); assigned1 = append(assigned1, mqs...); mu.Unlock() }
	o1.OnRevoke = func(mqs []client.MessageQueue) {
		mu.Lock()
		defer mu.Unlock()
		revoked = append(revoked, mqs...)
		for _, mq := range mqs { // the sink flushes, then commits
			if off, ok := processed[mq]; ok {
				if err := pc1.Commit(mq, off); err != nil {
					t.Errorf("commit in OnRevoke: %v", err)
				}
			}
		}
	}
	pc1 = startPull(t, o1, topic)
	ctx := ctxT(t, 60*time.Second)
	got := map[string]string{}
	for len(got) < 40 {
		msgs, err := pc1.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for _, m := range msgs {
			got[string(m.Body)] = "r1"
			processed[client.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: m.QueueID}] = m.QueueOffset + 1
		}
		mu.Unlock()
	}
	mu.Lock()
	if len(queuesOf(assigned1, topic)) != 4 {
		t.Errorf("OnAssign saw %v", assigned1)
	}
	mu.Unlock()
	// A second member joins: two queues move, committed by OnRevoke.
	o2 := pullOptions(newClient(t, c, "r2"), group)
	o2.Orderly = true
	pc2 := startPull(t, o2, topic)
	testutil.Eventually(t, 15*time.Second, func() bool {
		return len(queuesOf(pc2.Assignment(), topic)) == 2 && len(queuesOf(pc1.Assignment(), topic)) == 2
	}, "queues split: %v / %v", pc1.Assignment(), pc2.Assignment())
	mu.Lock()
	if len(queuesOf(revoked, topic)) != 2 {
		t.Errorf("OnRevoke saw %v", revoked)
	}
	mu.Unlock()
	produce(t, newProducer(t, cl, func(o *client.ProducerOptions) { o.Group = "pg2" }), topic, 40, 40)
	polls := func(pc *client.PullConsumer, who string) {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		msgs, _ := pc.Poll(short)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if prev, ok := got[string(m.Body)]; ok {
				t.Errorf("%s redelivered to %s (first %s)", m.Body, who, prev)
			}
			got[string(m.Body)] = who
		}
	}
	testutil.Eventually(t, 20*time.Second, func() bool {
		polls(pc1, "r1")
		polls(pc2, "r2")
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 80
	}, "consumed %d of 80", len(got))
	// Commit refuses queues that are not assigned.
	for _, mq := range pc2.Assignment() {
		if err := pc1.Commit(mq, 1); !errors.Is(err, client.ErrNotAssigned) {
			t.Errorf("commit of another member's queue: %v", err)
		}
	}
}

// TestClientPullAssignSeekAndPullQueue covers assign mode, Seek, PullQueue
// and an orderly pull consumer's locks.
func TestClientPullAssignSeekAndPullQueue(t *testing.T) {
	const topic = "Assigned"
	c, cl := setupTopic(t, topic, 2)
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 30*time.Second)
	mq := client.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: 1}
	for i := range 10 {
		if _, err := p.SendToQueue(ctx, mq, client.NewMessage(topic, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	admin := client.NewAdmin(cl)
	testutil.Eventually(t, 5*time.Second, func() bool { // the index is built asynchronously
		max, err := admin.MaxOffset(ctx, mq)
		return err == nil && max == 10
	}, "max offset reaches 10")
	o := pullOptions(newClient(t, c, "a1"), "cg-assign")
	o.Orderly = true
	pc, err := client.NewPullConsumer(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pc.PullQueue(ctx, mq, 3, 4)
	if err != nil || res.Status != client.PullFound || len(res.Messages) != 4 || res.NextBeginOffset != 7 || res.MaxOffset != 10 {
		t.Fatalf("pull queue: %+v, %v", res, err)
	}
	if res, err := pc.PullQueue(ctx, mq, 10, 4); err != nil || res.Status != client.PullNoNewMsg {
		t.Fatalf("pull at the end: %+v, %v", res, err)
	}
	if res, err := pc.PullQueue(ctx, mq, 99, 4); err != nil || res.Status != client.PullOffsetIllegal || res.NextBeginOffset != 10 {
		t.Fatalf("pull beyond the end: %+v, %v", res, err)
	}
	if err := pc.Assign(ctx, []client.MessageQueue{mq}); err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, "*"); !errors.Is(err, client.ErrInvalidOptions) {
		t.Errorf("subscribe after assign: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown()
	msgs, err := pc.Poll(ctx)
	if err != nil || len(msgs) == 0 || string(msgs[0].Body) != "0" {
		t.Fatalf("first poll: %v %v", msgs, err)
	}
	if err := pc.Seek(mq, 8); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		msgs, _ = pc.Poll(short)
		return len(msgs) > 0
	}, "poll after seek")
	if string(msgs[0].Body) != "8" {
		t.Errorf("after seek got %s first", msgs[0].Body)
	}
	// The orderly consumer holds the queue's lock: another client of the
	// group cannot take it.
	other := pullOptions(newClient(t, c, "a2"), "cg-assign")
	other.Orderly = true
	pc2, err := client.NewPullConsumer(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc2.Assign(ctx, []client.MessageQueue{mq}); err != nil {
		t.Fatal(err)
	}
	if err := pc2.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := pc2.Assignment(); len(got) != 0 {
		t.Errorf("second orderly consumer got locked queue: %v", got)
	}
	pc.Shutdown() // unlocks
	testutil.Eventually(t, 10*time.Second, func() bool { return len(pc2.Assignment()) == 1 }, "lock moves after unlock")
	pc2.Shutdown()
}
