package broker

import (
	"sync"
	"time"
)

// pullHolds parks pulls that found nothing (long polling). The store's
// dispatcher calls notify after it indexes new messages; a held pull whose
// offset is now below the queue's end is answered at once. answerExpired,
// run every PullHoldCheckInterval, answers pulls whose hold time ran out.
type pullHolds struct {
	b *Broker

	mu      sync.Mutex
	waiting map[queueKey][]*pullRequest
}

type queueKey struct {
	topic string
	queue int32
}

func newPullHolds(b *Broker) *pullHolds {
	return &pullHolds{b: b, waiting: make(map[queueKey][]*pullRequest)}
}

// hold parks p. A message dispatched between the pull's read and this call
// would not notify it, so the queue's end is checked again afterwards.
func (ph *pullHolds) hold(p *pullRequest) {
	key := queueKey{p.h.Topic, p.h.QueueID}
	ph.mu.Lock()
	ph.waiting[key] = append(ph.waiting[key], p)
	ph.mu.Unlock()
	ph.b.stats.heldPulls.Add(1)
	if end := ph.b.store.MaxOffset(p.h.Topic, p.h.QueueID); end > p.h.QueueOffset {
		ph.notify(p.h.Topic, p.h.QueueID, end)
	}
}

// notify answers the pulls held on a queue whose offset is below maxOffset.
// It runs on the store's dispatcher and only hands work off.
func (ph *pullHolds) notify(topic string, queue int32, maxOffset int64) {
	key := queueKey{topic, queue}
	ph.mu.Lock()
	var ready []*pullRequest
	if list := ph.waiting[key]; len(list) > 0 {
		ready = ph.take(key, list, func(p *pullRequest) bool { return p.h.QueueOffset < maxOffset })
	}
	ph.mu.Unlock()
	for _, p := range ready {
		go ph.answer(p)
	}
}

// take removes the pulls of key that match and returns them; ph.mu is held.
func (ph *pullHolds) take(key queueKey, list []*pullRequest, match func(*pullRequest) bool) []*pullRequest {
	var out []*pullRequest
	kept := list[:0]
	for _, p := range list {
		if match(p) {
			out = append(out, p)
		} else {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		delete(ph.waiting, key)
	} else {
		clear(list[len(kept):])
		ph.waiting[key] = kept
	}
	return out
}

func (ph *pullHolds) answer(p *pullRequest) {
	ph.b.stats.heldPulls.Add(-1)
	p.conn.Reply(p.req, ph.b.doPull(p, false))
}

// answerExpired answers the holds whose time ran out or whose connection
// closed.
func (ph *pullHolds) answerExpired() {
	now := time.Now()
	ph.mu.Lock()
	var out []*pullRequest
	for key, list := range ph.waiting {
		out = append(out, ph.take(key, list, func(p *pullRequest) bool {
			return !now.Before(p.deadline) || p.conn.Err() != nil
		})...)
	}
	ph.mu.Unlock()
	for _, p := range out {
		go ph.answer(p)
	}
}
