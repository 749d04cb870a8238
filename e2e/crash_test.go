package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestE2ECrashSyncFlushKeepsAcked kills a SYNC_FLUSH broker with SIGKILL
// while four producers send, restarts it on the same data directory and
// checks that every message that got SEND_OK is still there and
// that no queue offset was given to two messages.
func TestE2ECrashSyncFlushKeepsAcked(t *testing.T) {
	c := startCluster(t, "--flush", "sync")
	topic := uniqueName(t, "crash")
	goCreateTopic(t, c, topic, 4)
	p := goProducer(t, c.ns.Addr)

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("w%d-%06d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				res, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
				cancel()
				if err == nil && res.Status == primitive.SendOK {
					mu.Lock()
					acked = append(acked, body)
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 2000
	}, "producers made no progress before the crash")
	c.broker.kill()
	time.Sleep(200 * time.Millisecond) // sends now fail against the dead broker
	close(stop)
	wg.Wait()
	c.broker.restart()
	waitRoute(t, c.ns.Addr, topic)

	mu.Lock()
	want := append([]string(nil), acked...)
	mu.Unlock()
	t.Logf("%d messages acknowledged before SIGKILL", len(want))

	got := newReceived()
	offsets := map[string]string{} // queue/offset → body
	var conflicts []string
	goPushConsumer(t, c.ns.Addr, uniqueName(t, "drain"), topic, "*", false,
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			got.add(msgs...)
			got.mu.Lock()
			for _, m := range msgs {
				k := fmt.Sprintf("%d/%d", m.Queue.QueueId, m.QueueOffset)
				if prev, ok := offsets[k]; ok && prev != string(m.Body) {
					conflicts = append(conflicts, fmt.Sprintf("%s holds %s and %s", k, prev, m.Body))
				}
				offsets[k] = string(m.Body)
			}
			got.mu.Unlock()
			return consumer.ConsumeSuccess, nil
		})
	eventually(t, 2*time.Minute, func() bool { return len(got.missing(want)) == 0 },
		"after restart %d acknowledged messages are missing", len(got.missing(want)))
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(conflicts) > 0 {
		t.Fatalf("queue offsets reused after recovery: %v", conflicts[:min(5, len(conflicts))])
	}
}
