package remoting

import (
	"container/heap"
	"sync"
	"time"
)

// sweepInterval is how often a connection looks for timed-out async calls;
// timeouts are seconds long, so this is their precision.
const sweepInterval = 10 * time.Millisecond

// deadlineQueue holds the deadlines of a connection's async calls in a
// min-heap, swept by one goroutine per connection. It replaces a timer per
// call, which cost more than the rest of a send at 100k calls/s. Entries of
// calls that completed stay until their deadline and are then skipped:
// expire finds nothing pending under their opaque.
type deadlineQueue struct {
	mu      sync.Mutex
	h       deadlineHeap
	running bool
}

type deadline struct {
	at     time.Time
	opaque int32
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}

// add records a deadline and starts the sweeper if it is not running.
func (q *deadlineQueue) add(c *Conn, opaque int32, at time.Time) {
	q.mu.Lock()
	heap.Push(&q.h, deadline{at: at, opaque: opaque})
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.sweep(c)
	}
}

// sweep expires due calls until the queue is empty or the connection closes
// (closing fails every pending call itself).
func (q *deadlineQueue) sweep(c *Conn) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			q.mu.Lock()
			q.running, q.h = false, nil
			q.mu.Unlock()
			return
		case now := <-t.C:
			if !q.expireDue(c, now) {
				return
			}
		}
	}
}

// expireDue fails calls whose deadline passed and reports whether the
// sweeper should keep running.
func (q *deadlineQueue) expireDue(c *Conn, now time.Time) bool {
	var due []int32
	q.mu.Lock()
	for len(q.h) > 0 && !q.h[0].at.After(now) {
		due = append(due, heap.Pop(&q.h).(deadline).opaque)
	}
	keep := len(q.h) > 0
	if !keep {
		q.running = false
	}
	q.mu.Unlock()
	for _, opaque := range due {
		c.expire(opaque)
	}
	return keep
}
