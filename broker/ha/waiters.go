package ha

import (
	"container/heap"
	"sync"
	"time"
)

// waiter is one WaitReplicated call.
type waiter struct {
	end      int64
	acks     int
	deadline time.Time
	done     func(error)
	endIdx   int // position in its endHeap
	dlIdx    int // position in waitQueue.deadlines
}

// endHeap orders the waiters of one ack count by end offset, so an ack
// completes them from the smallest end up.
type endHeap []*waiter

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h endHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].endIdx, h[j].endIdx = i, j
}
func (h *endHeap) Push(x any) { w := x.(*waiter); w.endIdx = len(*h); *h = append(*h, w) }
func (h *endHeap) Pop() any   { return popLast((*[]*waiter)(h)) }

// deadlineHeap orders every waiter by deadline for the sweeper.
type deadlineHeap []*waiter

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].dlIdx, h[j].dlIdx = i, j
}
func (h *deadlineHeap) Push(x any) { w := x.(*waiter); w.dlIdx = len(*h); *h = append(*h, w) }
func (h *deadlineHeap) Pop() any   { return popLast((*[]*waiter)(h)) }

func popLast(s *[]*waiter) any {
	old := *s
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	return w
}

// waitQueue holds pending WaitReplicated calls. An ack reader answers the
// waiters its ack covers (complete); one goroutine (run) answers the rest:
// those already covered when added (kick), so a callback never runs on
// the caller's stack, and expired ones, with a single timer set to the
// earliest deadline instead of a timer per call. Each waiter is in exactly
// one endHeap and in deadlines until it is popped, under mu, so it is
// answered once.
type waitQueue struct {
	now        func() time.Time
	replicated func(acks int) int64 // Master.ReplicatedOffset

	mu        sync.Mutex
	byAcks    map[int]*endHeap
	deadlines deadlineHeap
	closed    bool
	ready     []*waiter // scratch for a pass, reused
	timedOut  []*waiter

	kick chan struct{}
}

func newWaitQueue(now func() time.Time, replicated func(int) int64) *waitQueue {
	return &waitQueue{now: now, replicated: replicated, byAcks: map[int]*endHeap{}, kick: make(chan struct{}, 1)}
}

// signal wakes the completer; it never blocks.
func (q *waitQueue) signal() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// add queues w; false means the queue is closed.
func (q *waitQueue) add(w *waiter) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	h := q.byAcks[w.acks]
	if h == nil {
		h = &endHeap{}
		q.byAcks[w.acks] = h
	}
	heap.Push(h, w)
	heap.Push(&q.deadlines, w)
	earliest := q.deadlines[0] == w
	q.mu.Unlock()
	// Wake the completer if w may already be covered or it must re-arm its
	// timer; otherwise the next ack or deadline does.
	if earliest || q.replicated(w.acks) >= w.end {
		q.signal()
	}
	return true
}

// run completes waiters until stop is closed.
func (q *waitQueue) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := q.pass()
		wait := time.Hour
		if ok {
			wait = max(next.Sub(q.now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-q.kick:
		case <-timer.C:
		}
	}
}

// complete answers every waiter the current acks cover. The master's ack
// readers call it right after an ack, which saves a goroutine hand-off
// per acknowledgement on the SYNC_MASTER path.
func (q *waitQueue) complete() {
	q.mu.Lock()
	q.popCoveredLocked()
	q.finish()
}

// pass answers every covered or expired waiter and returns the earliest
// remaining deadline.
func (q *waitQueue) pass() (time.Time, bool) {
	q.mu.Lock()
	q.popCoveredLocked()
	now := q.now()
	for len(q.deadlines) > 0 && !q.deadlines[0].deadline.After(now) {
		w := heap.Pop(&q.deadlines).(*waiter)
		heap.Remove(q.byAcks[w.acks], w.endIdx)
		q.timedOut = append(q.timedOut, w)
	}
	var next time.Time
	ok := len(q.deadlines) > 0
	if ok {
		next = q.deadlines[0].deadline
	}
	q.finish()
	return next, ok
}

// popCoveredLocked moves waiters whose end their ack count covers to ready.
func (q *waitQueue) popCoveredLocked() {
	for acks, h := range q.byAcks {
		if h.Len() == 0 {
			continue
		}
		r := q.replicated(acks)
		for h.Len() > 0 && (*h)[0].end <= r {
			w := heap.Pop(h).(*waiter)
			heap.Remove(&q.deadlines, w.dlIdx)
			q.ready = append(q.ready, w)
		}
	}
}

// finish takes the popped waiters, unlocks q.mu (held on entry) and
// answers them outside the lock.
func (q *waitQueue) finish() {
	ready, timedOut := q.ready, q.timedOut
	if len(ready) == 0 && len(timedOut) == 0 {
		q.mu.Unlock()
		return
	}
	q.ready, q.timedOut = nil, nil
	q.mu.Unlock()
	for i, w := range ready {
		w.done(nil)
		ready[i] = nil
	}
	for i, w := range timedOut {
		w.done(ErrReplicationTimeout)
		timedOut[i] = nil
	}
	q.mu.Lock()
	if q.ready == nil {
		q.ready = ready[:0]
	}
	if q.timedOut == nil {
		q.timedOut = timedOut[:0]
	}
	q.mu.Unlock()
}

// close answers every pending waiter with err; later adds fail.
func (q *waitQueue) close(err error) {
	q.mu.Lock()
	q.closed = true
	pending := q.deadlines
	q.deadlines = nil
	clear(q.byAcks)
	q.mu.Unlock()
	for _, w := range pending {
		w.done(err)
	}
}
