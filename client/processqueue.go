package client

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// processQueue is a consumer's state for one assigned queue: the messages
// pulled and not yet processed, in offset order, and what to commit.
//
// The committed offset is the lowest offset not yet processed: while a
// message is in flight nothing after it is committed, so a crash can
// redeliver (at-least-once) but never skip. With nothing in flight it is
// the end of the last pull, which also moves past messages the client
// filtered out.
type processQueue struct {
	mq MessageQueue

	mu      sync.Mutex
	entries []pqEntry
	head    int   // entries[:head] are processed and compacted away lazily
	live    int   // entries not yet processed
	taken   int   // orderly: entries[head:taken] are being consumed
	pulled  int64 // nextBeginOffset of the last pull
	maxSeen int64

	dropped  atomic.Bool
	pausing  atomic.Bool  // orderly: a release waits for the batch in flight
	brokerID atomic.Int64 // suggestWhichBrokerId of the last pull
	locked   atomic.Bool  // orderly: the broker granted this client the queue
	lastLock atomic.Int64 // unix ns of the last grant

	// pull consumers: fetched messages not yet returned by Poll, and a
	// pending Seek (gen counts seeks so a pull in flight during one is
	// discarded).
	sub      *subscription
	buf      []*MessageExt
	seekTo   int64
	seekGen  uint64
	fetchGen uint64

	consumeMu sync.Mutex    // orderly: held while the handler runs
	space     chan struct{} // signalled when messages are processed
	work      chan struct{} // signalled when messages arrive (orderly)
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the queue's goroutines
}

type pqEntry struct {
	off  int64
	msg  *MessageExt // nil once processed
	done bool
}

func newProcessQueue(mq MessageQueue, start int64) *processQueue {
	return &processQueue{
		mq: mq, pulled: start, maxSeen: start - 1, seekTo: -1,
		space: make(chan struct{}, 1), work: make(chan struct{}, 1),
	}
}

// put adds pulled messages (in offset order) and records where the next
// pull starts.
func (pq *processQueue) put(msgs []*MessageExt, next int64) {
	pq.mu.Lock()
	for _, m := range msgs {
		if m.QueueOffset <= pq.maxSeen {
			continue // a repeat of something already held
		}
		pq.entries = append(pq.entries, pqEntry{off: m.QueueOffset, msg: m})
		pq.maxSeen = m.QueueOffset
		pq.live++
	}
	if next > pq.pulled {
		pq.pulled = next
	}
	pq.mu.Unlock()
	signal(pq.work)
}

// remove marks msgs processed and returns the offset to commit.
func (pq *processQueue) remove(msgs []*MessageExt) int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	for _, m := range msgs {
		live := pq.entries[pq.head:]
		i := sort.Search(len(live), func(i int) bool { return live[i].off >= m.QueueOffset })
		if i < len(live) && live[i].off == m.QueueOffset && !live[i].done {
			live[i].done = true
			live[i].msg = nil
			pq.live--
		}
	}
	pq.compact()
	signal(pq.space)
	return pq.commitOffsetLocked()
}

// compact advances head past processed entries and releases memory once
// most of the slice is dead.
func (pq *processQueue) compact() {
	for pq.head < len(pq.entries) && pq.entries[pq.head].done {
		pq.head++
	}
	pq.taken = max(pq.taken, pq.head)
	if pq.head == len(pq.entries) {
		pq.entries, pq.head, pq.taken = pq.entries[:0], 0, 0
	} else if pq.head > 1024 && pq.head > len(pq.entries)/2 {
		n := copy(pq.entries, pq.entries[pq.head:])
		clear(pq.entries[n:])
		pq.entries, pq.taken, pq.head = pq.entries[:n], pq.taken-pq.head, 0
	}
}

// commitOffset is the lowest unprocessed offset, or where the next pull
// starts when nothing is in flight.
func (pq *processQueue) commitOffset() int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.commitOffsetLocked()
}

func (pq *processQueue) commitOffsetLocked() int64 {
	if pq.head < len(pq.entries) {
		return pq.entries[pq.head].off
	}
	return pq.pulled
}

// cached returns the number of messages held and not yet processed.
func (pq *processQueue) cached() int {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	return pq.live
}

// takeTopic returns up to n messages of one topic after those being
// consumed (orderly mode; a retry queue mixes original topics).
func (pq *processQueue) takeTopic(n int) []*MessageExt {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	end := min(pq.taken+n, len(pq.entries))
	out := make([]*MessageExt, 0, end-pq.taken)
	for _, e := range pq.entries[pq.taken:end] {
		if len(out) > 0 && e.msg.Topic != out[0].Topic {
			break
		}
		out = append(out, e.msg)
	}
	pq.taken += len(out)
	return out
}

// commit marks every taken message processed and returns the offset to
// commit (orderly mode).
func (pq *processQueue) commit() int64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	for i := pq.head; i < pq.taken; i++ {
		pq.entries[i].done, pq.entries[i].msg = true, nil
		pq.live--
	}
	pq.compact()
	signal(pq.space)
	return pq.commitOffsetLocked()
}

// rollback returns the taken messages to be consumed again (orderly mode).
func (pq *processQueue) rollback() {
	pq.mu.Lock()
	pq.taken = pq.head
	pq.mu.Unlock()
}

// lockValid reports whether this client holds the queue's lock and renewed
// it within expiry.
func (pq *processQueue) lockValid(expiry time.Duration) bool {
	return pq.locked.Load() && time.Since(time.Unix(0, pq.lastLock.Load())) < expiry
}

func (pq *processQueue) markLocked(ok bool) {
	if ok {
		pq.lastLock.Store(time.Now().UnixNano())
	}
	pq.locked.Store(ok)
}

// signal wakes one waiter on ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
