package client_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// clientOptions returns client options for a test cluster with short
// timers.
func clientOptions(t testing.TB, c *testutil.Cluster) client.Options {
	o := client.NewOptions(c.NameServer.Addr)
	o.Logger = testutil.Logger(t)
	o.ClientIP = "127.0.0.1"
	o.RouteRefreshInterval = time.Second
	o.HeartbeatInterval = time.Second
	o.OffsetPersistInterval = 200 * time.Millisecond
	o.RebalanceInterval = time.Second
	return o
}

// newClient returns a client closed at cleanup.
func newClient(t testing.TB, c *testutil.Cluster, instance string) *client.Client {
	t.Helper()
	o := clientOptions(t, c)
	o.InstanceName = instance
	cl, err := client.NewClient(o)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func newProducer(t testing.TB, cl *client.Client, tweak func(*client.ProducerOptions)) *client.Producer {
	t.Helper()
	o := client.NewProducerOptions()
	o.Client = cl
	o.Group = "pg-" + sanitize(t.Name())
	if tweak != nil {
		tweak(&o)
	}
	p, err := client.NewProducer(o)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// consumerOptions returns push consumer options with short timers.
func pushOptions(cl *client.Client, group string) client.PushConsumerOptions {
	o := client.PushConsumerOptions{}
	o.Client = cl
	o.Group = group
	o.ConsumeFrom = client.ConsumeFromFirstOffset
	o.PullRetryDelay = 200 * time.Millisecond
	o.LongPollTimeout = 2 * time.Second
	o.PullTimeout = 5 * time.Second
	o.LockRenewInterval = time.Second
	o.OffsetMovedDelay = 500 * time.Millisecond
	return o
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			out[i] = '_'
		}
	}
	if len(out) > 60 {
		out = out[len(out)-60:]
	}
	return string(out)
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects consumed messages by body and by queue.
type recorder struct {
	mu     sync.Mutex
	seen   map[string]int
	byQ    map[client.MessageQueue][]int64
	offs   map[client.MessageQueue]map[int64]bool
	total  int
	redone int // deliveries of a (queue, offset) already delivered
	errors []string
}

func newRecorder() *recorder {
	return &recorder{seen: make(map[string]int), byQ: make(map[client.MessageQueue][]int64),
		offs: make(map[client.MessageQueue]map[int64]bool)}
}

func (r *recorder) add(m *client.MessageExt, broker string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[string(m.Body)]++
	r.total++
	mq := client.MessageQueue{Topic: m.Topic, BrokerName: broker, QueueID: m.QueueID}
	if r.offs[mq] == nil {
		r.offs[mq] = make(map[int64]bool)
	}
	if r.offs[mq][m.QueueOffset] {
		r.redone++
	}
	r.offs[mq][m.QueueOffset] = true
	offs := r.byQ[mq]
	if n := len(offs); n > 0 && offs[n-1] >= m.QueueOffset {
		r.errors = append(r.errors, fmt.Sprintf("queue %s: offset %d after %d", mq, m.QueueOffset, offs[n-1]))
	}
	r.byQ[mq] = append(offs, m.QueueOffset)
}

// redelivered returns how many deliveries repeated a queue offset.
func (r *recorder) redelivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.redone
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// queuesOf keeps the queues of topic.
func queuesOf(mqs []client.MessageQueue, topic string) []client.MessageQueue {
	var out []client.MessageQueue
	for _, mq := range mqs {
		if mq.Topic == topic {
			out = append(out, mq)
		}
	}
	return out
}

// setupTopic starts a cluster and creates topic with queues queues through
// a client named "p".
func setupTopic(t *testing.T, topic string, queues int32) (*testutil.Cluster, *client.Client) {
	t.Helper()
	c := testutil.StartCluster(t, nil)
	cl := newClient(t, c, "p")
	createTopic(t, cl, topic, queues)
	return c, cl
}
