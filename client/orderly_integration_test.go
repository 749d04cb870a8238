package client_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/testutil"
)

// orderChecker checks, per key, that successfully consumed sequence
// numbers never skip or go back (repeats are counted), and that no queue is
// in two consumers' handlers at once.
type orderChecker struct {
	t       *testing.T
	mu      sync.Mutex
	max     map[string]int
	repeats int
	inside  map[int32]string
	owners  map[int32]map[string]bool
	done    int
}

func newOrderChecker(t *testing.T) *orderChecker {
	return &orderChecker{t: t, max: map[string]int{}, inside: map[int32]string{}, owners: map[int32]map[string]bool{}}
}

func (o *orderChecker) enter(q int32, who string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if other, ok := o.inside[q]; ok && other != who {
		o.t.Errorf("queue %d consumed by %s and %s at once", q, other, who)
	}
	o.inside[q] = who
	if o.owners[q] == nil {
		o.owners[q] = map[string]bool{}
	}
	o.owners[q][who] = true
}

func (o *orderChecker) leave(q int32) {
	o.mu.Lock()
	delete(o.inside, q)
	o.mu.Unlock()
}

func (o *orderChecker) consumed(m *client.MessageExt) {
	key, seqStr, _ := strings.Cut(string(m.Body), ":")
	seq, _ := strconv.Atoi(seqStr)
	o.mu.Lock()
	defer o.mu.Unlock()
	last, ok := o.max[key]
	if !ok {
		last = -1
	}
	switch {
	case seq == last+1:
		o.max[key] = seq
		o.done++
	case seq <= last:
		o.repeats++
	default:
		o.t.Errorf("key %s: seq %d after %d (skipped)", key, seq, last)
	}
}

func (o *orderChecker) progress() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

func TestClientOrderlyConsumers(t *testing.T) {
	const topic, group = "Ordered", "cg-orderly"
	c, cl := setupTopic(t, topic, 8)
	p := newProducer(t, cl, nil)
	ctx := ctxT(t, 90*time.Second)
	const keys, perKey = 40, 40
	for j := range perKey {
		for k := range keys {
			body := fmt.Sprintf("key-%02d:%d", k, j)
			if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte(body)).WithShardingKey(fmt.Sprintf("key-%02d", k))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := p.SendSync(ctx, client.NewMessage(topic, []byte("poison:0")).WithShardingKey("key-00")); err != nil {
		t.Fatal(err)
	}
	check := newOrderChecker(t)
	var mu sync.Mutex
	flaky := map[string][]int32{} // body -> reconsume times seen
	handler := func(who string) client.Handler {
		return func(ctx context.Context, msgs []*client.MessageExt) client.ConsumeResult {
			q := msgs[0].QueueID
			check.enter(q, who)
			defer check.leave(q)
			time.Sleep(20 * time.Millisecond)
			for _, m := range msgs {
				body := string(m.Body)
				if body == "key-03:5" || body == "poison:0" {
					mu.Lock()
					flaky[body] = append(flaky[body], m.ReconsumeTimes)
					n := len(flaky[body])
					mu.Unlock()
					if body == "poison:0" || n <= 2 {
						return client.ConsumeRetryLater
					}
				}
			}
			for _, m := range msgs {
				if !strings.HasPrefix(string(m.Body), "poison") {
					check.consumed(m)
				}
			}
			return client.ConsumeSuccess
		}
	}
	opts := func(name string) client.PushConsumerOptions {
		o := pushOptions(newClient(t, c, name), group)
		o.Orderly = true
		o.ConsumeBatchSize = 1
		o.MaxReconsumeTimes = 3
		o.SuspendCurrentQueueTime = 50 * time.Millisecond
		return o
	}
	c1 := startPush(t, opts("o1"), topic, "*", handler("o1"))
	testutil.Eventually(t, 20*time.Second, func() bool { return check.progress() >= 100 }, "first consumer progressing")
	c2 := startPush(t, opts("o2"), topic, "*", handler("o2"))
	testutil.Eventually(t, 20*time.Second, func() bool {
		return len(queuesOf(c1.Assignment(), topic)) == 4 && len(queuesOf(c2.Assignment(), topic)) == 4
	}, "queues split 4/4: %v / %v", c1.Assignment(), c2.Assignment())
	testutil.Eventually(t, 60*time.Second, func() bool { return check.progress() == keys*perKey }, "consumed %d of %d in order", check.progress(), keys*perKey)
	// The poison message's last attempt may still run after the others are
	// consumed; it has finished once it reached the DLQ.
	dlq := drainTopic(t, c, message.DLQTopic(group), 1)
	if dlq["poison:0"] == nil {
		t.Errorf("poison message not in the DLQ: %v", dlq)
	}
	mu.Lock()
	// Local retries count up; a handover to the other consumer starts the
	// count again from the stored value (0).
	for body, want := range map[string]int{"key-03:5": 3, "poison:0": 4} {
		seq := flaky[body]
		ok := len(seq) >= want && seq[0] == 0
		for i := 1; ok && i < len(seq); i++ {
			ok = seq[i] == seq[i-1]+1 || seq[i] == 0
		}
		if !ok {
			t.Errorf("%s: attempts saw reconsume times %v, want at least %d counting up from 0", body, seq, want)
		}
	}
	mu.Unlock()
	check.mu.Lock()
	shared := 0
	for _, who := range check.owners {
		if len(who) > 1 {
			shared++
		}
	}
	t.Logf("%d repeats; %d queues handed over between consumers", check.repeats, shared)
	if shared == 0 {
		t.Errorf("no queue moved to the second consumer")
	}
	check.mu.Unlock()
}
