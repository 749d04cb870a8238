package client

import (
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// QueueSelector picks the queue for a message among a topic's writable
// queues (sorted by broker name, then queue id). A producer with a selector
// treats its choice as fixed: a failed send is retried on the queue the
// selector picks again, never moved to another broker.
type QueueSelector interface {
	Select(msg *Message, queues []MessageQueue) MessageQueue
}

// QueueSelectorFunc adapts a function to QueueSelector.
type QueueSelectorFunc func(msg *Message, queues []MessageQueue) MessageQueue

// Select calls f.
func (f QueueSelectorFunc) Select(msg *Message, queues []MessageQueue) MessageQueue {
	return f(msg, queues)
}

// HashSelector selects by the message's ShardingKey (or its first key when
// it has none): the same key maps to the same queue while the route is
// unchanged.
var HashSelector QueueSelector = QueueSelectorFunc(func(msg *Message, queues []MessageQueue) MessageQueue {
	key := msg.ShardingKey
	if key == "" && len(msg.Keys) > 0 {
		key = msg.Keys[0]
	}
	return HashQueue(key, queues)
})

// HashQueue maps key to one of queues with 32-bit FNV-1a, as
// rocketmq-client-go's hash selector does, so both clients place a key on
// the same queue. queues must not be empty.
func HashQueue(key string, queues []MessageQueue) MessageQueue {
	h := fnv.New32a()
	h.Write([]byte(key))
	return queues[int(h.Sum32()%uint32(len(queues)))]
}

// faultTracker remembers brokers that recently failed a send, so that the
// round-robin selector avoids them for a while (RocketMQ's latency fault
// tolerance, reduced to its failure isolation).
type faultTracker struct {
	backoff time.Duration
	now     func() time.Time

	mu    sync.Mutex
	until map[string]time.Time
}

func newFaultTracker(backoff time.Duration) *faultTracker {
	return &faultTracker{backoff: backoff, now: time.Now, until: make(map[string]time.Time)}
}

func (f *faultTracker) fail(broker string) {
	f.mu.Lock()
	f.until[broker] = f.now().Add(f.backoff)
	f.mu.Unlock()
}

func (f *faultTracker) ok(broker string) {
	f.mu.Lock()
	if len(f.until) > 0 {
		delete(f.until, broker)
	}
	f.mu.Unlock()
}

func (f *faultTracker) avoid(broker string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.until) == 0 {
		return false
	}
	u, ok := f.until[broker]
	if ok && !f.now().Before(u) {
		delete(f.until, broker)
		return false
	}
	return ok
}

// roundRobin picks the next queue, skipping queues of lastFailed (the
// broker the previous attempt of this send failed on) and of brokers that
// failed recently. When every broker is to be avoided it still prefers one
// other than lastFailed.
type roundRobin struct {
	next   atomic.Uint32
	faults *faultTracker
}

func (r *roundRobin) pick(queues []MessageQueue, lastFailed string) MessageQueue {
	n := uint32(len(queues))
	start := r.next.Add(1)
	for i := range n {
		q := queues[(start+i)%n]
		if q.BrokerName != lastFailed && !r.faults.avoid(q.BrokerName) {
			return q
		}
	}
	for i := range n {
		q := queues[(start+i)%n]
		if q.BrokerName != lastFailed {
			return q
		}
	}
	return queues[start%n]
}
