package client

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// byBroker groups queues by broker name.
func byBroker(mqs []MessageQueue) map[string][]MessageQueue {
	out := make(map[string][]MessageQueue)
	for _, mq := range mqs {
		out[mq.BrokerName] = append(out[mq.BrokerName], mq)
	}
	return out
}

// lockBatch asks brokerName's master to lock mqs for this client
// (LOCK_BATCH_MQ) and returns the queues it granted.
func (b *consumerBase) lockBatch(ctx context.Context, brokerName string, mqs []MessageQueue) (map[MessageQueue]bool, error) {
	addr, err := b.cl.masterOf(ctx, mqs[0])
	if err != nil {
		return nil, fmt.Errorf("lock queues of %s: %w", brokerName, err)
	}
	body := protocol.Encode(protocol.LockBatchRequest{ConsumerGroup: b.opts.Group, ClientID: b.cl.id, MQSet: mqs})
	resp, err := b.cl.call(ctx, "lock queues", addr, remoting.NewRequest(protocol.LockBatchMQ, nil, body))
	if err != nil {
		return nil, err
	}
	var lr protocol.LockBatchResponse
	if len(resp.Body) > 0 {
		if err := protocol.Decode(resp.Body, &lr); err != nil {
			return nil, fmt.Errorf("lock queues at %s: %w", addr, err)
		}
	}
	granted := make(map[MessageQueue]bool, len(lr.LockOKMQSet))
	for _, mq := range lr.LockOKMQSet {
		granted[mq] = true
	}
	return granted, nil
}

// lockQueues locks mqs and returns those granted.
func (b *consumerBase) lockQueues(ctx context.Context, mqs []MessageQueue) []MessageQueue {
	var out []MessageQueue
	for broker, group := range byBroker(mqs) {
		granted, err := b.lockBatch(ctx, broker, group)
		if err != nil {
			b.log.Warn("lock queues failed", "broker", broker, "err", err)
			continue
		}
		for _, mq := range group {
			if granted[mq] {
				out = append(out, mq)
			}
		}
	}
	sortQueues(out)
	return out
}

// lockAll renews the locks of every assigned queue. A queue the broker no
// longer grants stops being consumed; once the lock is older than
// LockExpiry the next rebalance releases and re-acquires it.
func (b *consumerBase) lockAll(ctx context.Context) {
	lost := false
	for broker, group := range byBroker(b.assignedQueues()) {
		granted, err := b.lockBatch(ctx, broker, group)
		if err != nil {
			b.log.Warn("renew queue locks failed", "broker", broker, "err", err)
			continue
		}
		for _, mq := range group {
			if pq := b.processQueue(mq); pq != nil {
				pq.markLocked(granted[mq])
				lost = lost || !granted[mq]
				signal(pq.work) // resume an orderly consumer waiting for its lock
			}
		}
	}
	if lost {
		b.requestRebalance()
	}
}

// unlock releases this client's locks on mqs (UNLOCK_BATCH_MQ).
func (b *consumerBase) unlock(ctx context.Context, mqs []MessageQueue) {
	for broker, group := range byBroker(mqs) {
		addr := b.cl.routes.masterAddr(broker)
		if addr == "" {
			continue
		}
		body := protocol.Encode(protocol.LockBatchRequest{ConsumerGroup: b.opts.Group, ClientID: b.cl.id, MQSet: group})
		if _, err := b.cl.call(ctx, "unlock queues", addr, remoting.NewRequest(protocol.UnlockBatchMQ, nil, body)); err != nil {
			b.log.Warn("unlock queues failed", "broker", broker, "err", err)
		}
	}
}
