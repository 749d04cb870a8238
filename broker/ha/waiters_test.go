package ha

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHAWaitQueueAnswersEachWaiterOnce drives the queue directly: waiters
// covered by acks succeed, the rest time out, a close answers what is left,
// and none is answered twice or on the caller's goroutine.
func TestHAWaitQueueAnswersEachWaiterOnce(t *testing.T) {
	var replicated atomic.Int64
	q := newWaitQueue(time.Now, func(acks int) int64 {
		if acks == 0 {
			return 1 << 62
		}
		return replicated.Load()
	})
	stop := make(chan struct{})
	var runWG sync.WaitGroup
	runWG.Go(func() { q.run(stop) })

	const n = 20000
	calls := make([]atomic.Int32, n)
	results := make([]atomic.Value, n)
	var answered sync.WaitGroup
	answered.Add(n)
	var adders sync.WaitGroup
	for g := range 4 {
		adders.Go(func() {
			for i := g; i < n; i += 4 {
				timeout := time.Hour
				if i%10 == 0 {
					timeout = 20 * time.Millisecond // ends beyond what gets acked below
				}
				end := int64(i)
				if i%10 == 0 {
					end = 1 << 40
				}
				acks := 1
				if i%7 == 0 {
					acks = 0
				}
				q.add(&waiter{end: end, acks: acks, deadline: time.Now().Add(timeout), done: func(err error) {
					if calls[i].Add(1) == 1 {
						results[i].Store(errBox{err})
						answered.Done()
					}
				}})
			}
		})
	}
	adders.Wait()
	for off := int64(0); off <= n; off += 1000 {
		replicated.Store(off)
		q.signal()
	}
	answered.Wait()
	for i := range n {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("waiter %d answered %d times", i, c)
		}
		err := results[i].Load().(errBox).err
		switch {
		case i%7 == 0 && err != nil:
			t.Fatalf("waiter %d with acks 0: %v", i, err)
		case i%10 == 0 && i%7 != 0 && !errors.Is(err, ErrReplicationTimeout):
			t.Fatalf("waiter %d: %v, want timeout", i, err)
		case i%10 != 0 && err != nil:
			t.Fatalf("waiter %d: %v", i, err)
		}
	}

	// Close answers pending waiters and refuses new ones.
	got := make(chan error, 2)
	q.add(&waiter{end: 1 << 50, acks: 1, deadline: time.Now().Add(time.Hour), done: func(err error) { got <- err }})
	close(stop)
	runWG.Wait()
	q.close(ErrClosed)
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending at close: %v", err)
	}
	if q.add(&waiter{done: func(error) { t.Error("answered after close") }}) {
		t.Fatal("add after close accepted")
	}
}

type errBox struct{ err error }
