package client

import (
	"context"
	"time"
)

// orderlyLoop consumes one queue in offset order, one batch at a time,
// while this client holds the queue's lock.
func (c *PushConsumer) orderlyLoop(ctx context.Context, pq *processQueue) {
	defer pq.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pq.work:
		}
		for {
			pause, more := c.consumeOrderly(ctx, pq)
			if pause > 0 {
				waitSignal(ctx, nil, pause)
				continue
			}
			if !more {
				break
			}
		}
		if pq.dropped.Load() {
			return
		}
	}
}

// consumeOrderly consumes the next batch of pq under its consume lock. It
// reports a pause before the batch is tried again (after a failure), and
// whether there may be more to consume now.
func (c *PushConsumer) consumeOrderly(ctx context.Context, pq *processQueue) (pause time.Duration, more bool) {
	if ctx.Err() != nil || pq.dropped.Load() || pq.pausing.Load() {
		return 0, false
	}
	if c.opts.Model == Clustering && !pq.lockValid(c.opts.LockExpiry) {
		return 0, false // the pull loop re-locks and signals pq.work
	}
	pq.consumeMu.Lock()
	defer pq.consumeMu.Unlock()
	if pq.dropped.Load() || pq.pausing.Load() {
		return 0, false
	}
	msgs := pq.takeTopic(c.opts.ConsumeBatchSize)
	if len(msgs) == 0 {
		return 0, false
	}
	b := c.consumerBase
	if c.handle(msgs) == ConsumeSuccess {
		b.stats.add(cConsumed, int64(len(msgs)))
		b.offsets.update(pq.mq, pq.commit(), true)
		return 0, true
	}
	b.stats.add(cConsumeFailures, int64(len(msgs)))
	if c.exhaust(ctx, pq, msgs) {
		b.offsets.update(pq.mq, pq.commit(), true)
		return 0, true
	}
	pq.rollback()
	return c.opts.SuspendCurrentQueueTime, true
}

// exhaust counts a failed attempt on each message and sends those past
// MaxReconsumeTimes to the dead-letter queue (delayLevel -1). It reports
// whether none is left to retry.
func (c *PushConsumer) exhaust(ctx context.Context, pq *processQueue, msgs []*MessageExt) bool {
	maxTimes := c.maxReconsumeTimes()
	suspend := false
	for _, m := range msgs {
		if m.ReconsumeTimes >= maxTimes && c.opts.Model == Clustering {
			if err := c.sendBack(ctx, pq.mq, m, -1); err == nil {
				continue
			} else {
				c.log.Warn("send to dead-letter queue failed; retrying locally", "msg_id", m.MsgID, "err", err)
			}
		}
		suspend = true
		m.ReconsumeTimes++
	}
	return !suspend
}
