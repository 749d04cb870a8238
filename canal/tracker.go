package canal

import (
	"context"
	"sync"
)

// resumePoint is where reading resumes after a transaction: the binlog
// position of the next event and the GTID set executed up to it.
type resumePoint struct {
	File      string
	Pos       uint32
	GTIDSet   string
	Timestamp uint32
}

// txn is one source transaction (or one DDL, or a stretch of events
// without rows) as far as acknowledgements go: its events are counted in
// when published and out when the broker acknowledged them.
type txn struct {
	seq     uint64
	pending int
	closed  bool // its end was seen: end is set and no more events come
	end     resumePoint
}

// tracker finds the newest transaction end whose events, and all events
// before them, the broker acknowledged: the only position that may be
// saved. Transactions complete in source order only.
type tracker struct {
	mu        sync.Mutex
	cond      *sync.Cond
	next      uint64
	open      []*txn // oldest first
	committed resumePoint
	seq       uint64 // of committed
}

func newTracker(start resumePoint) *tracker {
	t := &tracker{committed: start}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// begin starts a transaction.
func (t *tracker) begin() *txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	x := &txn{seq: t.next}
	t.open = append(t.open, x)
	return x
}

// add counts n published events in x.
func (t *tracker) add(x *txn, n int) {
	t.mu.Lock()
	x.pending += n
	t.mu.Unlock()
}

// done counts n acknowledged events of x out.
func (t *tracker) done(x *txn, n int) {
	t.mu.Lock()
	x.pending -= n
	t.advance()
	t.mu.Unlock()
}

// end closes x at its resume point.
func (t *tracker) end(x *txn, at resumePoint) {
	t.mu.Lock()
	x.closed, x.end = true, at
	t.advance()
	t.mu.Unlock()
}

// advance pops the completed transactions at the head. Called locked.
func (t *tracker) advance() {
	moved := false
	for len(t.open) > 0 && t.open[0].closed && t.open[0].pending == 0 {
		t.committed, t.seq = t.open[0].end, t.open[0].seq
		t.open[0] = nil
		t.open = t.open[1:]
		moved = true
	}
	if moved {
		t.cond.Broadcast()
	}
}

// Committed returns the newest safe resume point and its sequence.
func (t *tracker) Committed() (resumePoint, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.committed, t.seq
}

// waitIdle waits until every begun transaction is committed, or ctx ends
// (the publisher's context: a failed send ends it).
func (t *tracker) waitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.open) > 0 && ctx.Err() == nil {
		t.cond.Wait()
	}
	if len(t.open) > 0 {
		return context.Cause(ctx)
	}
	return nil
}
