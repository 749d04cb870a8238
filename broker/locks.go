package broker

import (
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
)

// LockTable grants orderly consumers exclusive queues (LOCK_BATCH_MQ). A
// lock is granted when the queue is free, already held by the same client,
// or held by a client that has not renewed it for QueueLockExpiry; granting
// renews it. Clients renew every 20 s and treat their own lock as expired
// after 30 s, so the broker's longer expiry never lets two clients believe
// they hold one queue.
type LockTable struct {
	expiry time.Duration

	mu    sync.Mutex
	locks map[string]map[protocol.MessageQueue]*queueLock // group → queue → lock
}

type queueLock struct {
	clientID string
	renewed  time.Time
}

func newLockTable(expiry time.Duration) *LockTable {
	return &LockTable{expiry: expiry, locks: make(map[string]map[protocol.MessageQueue]*queueLock)}
}

// TryLock locks as many of mqs as it can for clientID and returns those it
// holds.
func (t *LockTable) TryLock(group, clientID string, mqs []protocol.MessageQueue, now time.Time) []protocol.MessageQueue {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.locks[group]
	if m == nil {
		m = make(map[protocol.MessageQueue]*queueLock)
		t.locks[group] = m
	}
	granted := make([]protocol.MessageQueue, 0, len(mqs))
	for _, mq := range mqs {
		l := m[mq]
		if l == nil || l.clientID == clientID || now.Sub(l.renewed) > t.expiry {
			m[mq] = &queueLock{clientID: clientID, renewed: now}
			granted = append(granted, mq)
		}
	}
	return granted
}

// Unlock releases the queues of mqs that clientID holds.
func (t *LockTable) Unlock(group, clientID string, mqs []protocol.MessageQueue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.locks[group]
	for _, mq := range mqs {
		if l := m[mq]; l != nil && l.clientID == clientID {
			delete(m, mq)
		}
	}
	if len(m) == 0 {
		delete(t.locks, group)
	}
}

// Holder returns the client holding a live lock on mq, if any.
func (t *LockTable) Holder(group string, mq protocol.MessageQueue, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.locks[group][mq]; l != nil && now.Sub(l.renewed) <= t.expiry {
		return l.clientID, true
	}
	return "", false
}
