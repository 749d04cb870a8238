package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// allocateAveragely is RocketMQ's AllocateMessageQueueAveragely: with
// queues and consumer ids sorted, consumer i of n gets a contiguous block of
// len(mqs)/n queues, the first len(mqs)%n consumers one more. A consumer not
// in cids gets nothing.
func allocateAveragely(cid string, mqs []MessageQueue, cids []string) []MessageQueue {
	index := slices.Index(cids, cid)
	if index < 0 || len(mqs) == 0 {
		return nil
	}
	n, m := len(cids), len(mqs)
	mod := m % n
	size := m / n
	if m <= n {
		size = 1
	} else if index < mod {
		size++
	}
	start := index*size + mod
	if mod > 0 && index < mod {
		start = index * size
	}
	count := min(size, m-start)
	if count <= 0 {
		return nil
	}
	return slices.Clone(mqs[start : start+count])
}

func (b *consumerBase) rebalanceLoop() {
	defer b.wg.Done()
	runTimer(b.stop, b.rebalanceCh, 0, 4*b.cl.opts.RPCTimeout, func(ctx context.Context) time.Duration {
		if b.rebalance(ctx) {
			return min(b.cl.opts.RebalanceInterval, routeRetryDelay)
		}
		return b.cl.opts.RebalanceInterval
	})
}

// rebalance recomputes the queues of every subscribed topic. It reports
// whether something could not be settled (no route, no member list, a
// queue not locked), so the next attempt comes soon.
func (b *consumerBase) rebalance(ctx context.Context) (retrySoon bool) {
	b.rebalanceMu.Lock()
	defer b.rebalanceMu.Unlock()
	if assigned := b.explicitAssignment(); assigned != nil {
		return b.applyAssignment(ctx, assigned)
	}
	for _, s := range b.subscriptions() {
		mine, err := b.allocate(ctx, s.topic)
		if err != nil {
			b.log.Debug("rebalance postponed", "topic", s.topic, "err", err)
			retrySoon = true
			continue
		}
		if !b.updateTopic(ctx, s.topic, mine) {
			retrySoon = true
		}
	}
	return retrySoon
}

// applyAssignment makes the table equal an explicit assignment.
func (b *consumerBase) applyAssignment(ctx context.Context, assigned map[string][]MessageQueue) (retrySoon bool) {
	b.tableMu.Lock()
	for mq := range b.queues {
		if _, ok := assigned[mq.Topic]; !ok {
			assigned[mq.Topic] = nil // release every queue of the topic
		}
	}
	b.tableMu.Unlock()
	for topic, mqs := range assigned {
		sortQueues(mqs)
		if !b.updateTopic(ctx, topic, mqs) {
			retrySoon = true
		}
	}
	return retrySoon
}

// allocate returns the queues of topic this consumer should own.
func (b *consumerBase) allocate(ctx context.Context, topic string) ([]MessageQueue, error) {
	r, err := b.cl.routes.forConsumer(ctx, topic)
	if err != nil {
		return nil, err
	}
	mqs := slices.Clone(r.subscribe)
	sortQueues(mqs)
	if b.opts.Model == Broadcasting {
		return mqs, nil
	}
	cids, err := b.consumerIDs(ctx, topic)
	if err == nil && !slices.Contains(cids, b.cl.id) {
		// The broker has not seen this client's heartbeat yet (a broker
		// new to the route, or one that restarted): announce the group and
		// keep the current queues until it lists us.
		b.cl.heartbeat(ctx)
		err = fmt.Errorf("members of %s: %s not listed yet", b.opts.Group, b.cl.id)
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(cids)
	return allocateAveragely(b.cl.id, mqs, cids), nil
}

// consumerIDs asks a broker of topic for the group's members.
func (b *consumerBase) consumerIDs(ctx context.Context, topic string) ([]string, error) {
	addr := b.cl.routes.anyBrokerOf(topic, rand.IntN(1<<16))
	if addr == "" {
		return nil, fmt.Errorf("members of %s: no broker of topic %s known: %w", b.opts.Group, topic, ErrNoRoute)
	}
	req := remoting.NewRequest(protocol.GetConsumerListByGroup, remoting.Fields{{Key: "consumerGroup", Value: b.opts.Group}}, nil)
	resp, err := b.cl.invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", b.opts.Group, err)
	}
	var list protocol.ConsumerList
	if len(resp.Body) > 0 {
		if err := protocol.Decode(resp.Body, &list); err != nil {
			return nil, fmt.Errorf("members of %s: %w", b.opts.Group, err)
		}
	}
	if len(list.ConsumerIDList) == 0 {
		return nil, fmt.Errorf("members of %s: broker %s lists none (code %d: %s)", b.opts.Group, addr, resp.Code, resp.Remark)
	}
	return list.ConsumerIDList, nil
}

// updateTopic makes the table's queues of topic equal mine: queues no
// longer assigned (or stale: offset moved, orderly lock expired) are
// released, new ones started. It reports whether everything settled.
func (b *consumerBase) updateTopic(ctx context.Context, topic string, mine []MessageQueue) bool {
	b.tableMu.Lock()
	var stale []*processQueue
	for mq, pq := range b.queues {
		if mq.Topic == topic && (!slices.Contains(mine, mq) || b.isStale(pq)) {
			stale = append(stale, pq)
		}
	}
	b.tableMu.Unlock()
	settled := true
	if len(stale) > 0 && !b.release(ctx, stale) {
		settled = false
	}
	b.tableMu.Lock()
	var added []MessageQueue
	for _, mq := range mine {
		if _, ok := b.queues[mq]; !ok {
			added = append(added, mq)
		}
	}
	b.tableMu.Unlock()
	if len(added) == 0 {
		return settled
	}
	if b.opts.Orderly && b.opts.Model == Clustering {
		locked := b.lockQueues(ctx, added)
		settled = settled && len(locked) == len(added)
		added = locked
	}
	var started []MessageQueue
	for _, mq := range added {
		off, err := b.startOffset(ctx, mq)
		if err != nil {
			b.log.Warn("cannot start queue; will retry", "queue", mq.String(), "err", err)
			settled = false
			continue
		}
		pq := newProcessQueue(mq, off)
		pq.markLocked(true)
		b.tableMu.Lock()
		b.queues[mq] = pq
		b.tableMu.Unlock()
		b.hooks.startQueue(pq)
		started = append(started, mq)
	}
	if len(started) > 0 {
		b.log.Info("queues assigned", "topic", topic, "added", len(started), "removed", len(stale), "owned", len(mine))
		b.hooks.assigned(started)
	}
	return settled
}

// isStale reports a queue that must be released and, if still assigned,
// started afresh: its offset moved, or (orderly) its lock expired.
func (b *consumerBase) isStale(pq *processQueue) bool {
	if pq.dropped.Load() {
		return true
	}
	return b.opts.Orderly && b.opts.Model == Clustering &&
		time.Since(time.Unix(0, pq.lastLock.Load())) > b.opts.LockExpiry
}

// release takes queues away: the consumer's OnRevoke, then (orderly) wait
// up to a second for the handler to finish the current batch, stop
// fetching, persist and forget the offsets, and (orderly) unlock them on
// the broker so the next owner may lock them at once. It reports whether
// every queue was released.
func (b *consumerBase) release(ctx context.Context, pqs []*processQueue) bool {
	mqs := make([]MessageQueue, 0, len(pqs))
	for _, pq := range pqs {
		mqs = append(mqs, pq.mq)
	}
	b.hooks.beforeRelease(mqs)
	orderly := b.opts.Orderly && b.opts.Model == Clustering
	var done []MessageQueue
	for _, pq := range pqs {
		if orderly {
			// Stop new batches, then wait up to a second for the one in
			// flight: the broker lock must not be released while this
			// client is still consuming the queue.
			pq.pausing.Store(true)
			if !tryLockFor(&pq.consumeMu, time.Second) {
				pq.pausing.Store(false)
				signal(pq.work)
				b.log.Info("queue busy consuming; release postponed", "queue", pq.mq.String())
				continue
			}
			pq.dropped.Store(true)
			pq.consumeMu.Unlock()
		}
		b.drop(pq)
		done = append(done, pq.mq)
	}
	if err := b.offsets.persist(ctx, done); err != nil {
		b.log.Warn("persist offsets of released queues failed", "err", err)
	}
	b.tableMu.Lock()
	for _, pq := range pqs {
		if slices.Contains(done, pq.mq) && b.queues[pq.mq] == pq {
			delete(b.queues, pq.mq)
			b.offsets.remove(pq.mq)
		}
	}
	b.tableMu.Unlock()
	if orderly {
		b.unlock(ctx, done)
	}
	return len(done) == len(pqs)
}

// tryLockFor tries to lock mu for up to d.
func tryLockFor(mu interface{ TryLock() bool }, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if mu.TryLock() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
