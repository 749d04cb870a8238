package client

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
)

// ConsumeResult is what a Handler reports for a batch.
type ConsumeResult int

// Consume results.
const (
	// ConsumeSuccess: the batch is processed; its offsets may be committed.
	ConsumeSuccess ConsumeResult = iota
	// ConsumeRetryLater: the batch failed. Concurrent consumers hand each
	// message back to the broker, which redelivers it through the group's
	// retry topic after a delay (and to the dead-letter queue after
	// MaxReconsumeTimes); orderly consumers pause the queue and consume the
	// same batch again.
	ConsumeRetryLater
)

// Handler processes a batch of messages of one topic (at most
// ConsumeBatchSize, from one queue, in offset order). A panic counts as
// ConsumeRetryLater. ctx is cancelled when the consumer shuts down.
type Handler func(ctx context.Context, msgs []*MessageExt) ConsumeResult

// PushConsumerOptions configures a PushConsumer. Zero values mean the
// defaults.
type PushConsumerOptions struct {
	ConsumerOptions
	// ConsumeGoroutines is the number of concurrent handler calls
	// (concurrent mode). Default 20.
	ConsumeGoroutines int
	// ConsumeBatchSize is the most messages per handler call. Default 1.
	ConsumeBatchSize int
	// PullThresholdForQueue pauses pulling a queue while it holds this
	// many unprocessed messages. Default 1024.
	PullThresholdForQueue int
	// MaxReconsumeTimes is how often a message is retried before it goes to
	// the group's dead-letter queue %DLQ%<group>. Default 16 for concurrent
	// consumers, unlimited for orderly ones.
	MaxReconsumeTimes int
	// RetryDelayLevel is the delay level of a failed message's next
	// delivery (concurrent mode): 0 lets the broker choose 3+reconsumeTimes
	// (10 s, 30 s, 1 min, ...).
	RetryDelayLevel int
	// SuspendCurrentQueueTime is the pause before an orderly consumer
	// retries a failed batch. Default 1 s.
	SuspendCurrentQueueTime time.Duration
}

// NewPushConsumerOptions returns the defaults for group.
func NewPushConsumerOptions(group string, nameServers ...string) PushConsumerOptions {
	return PushConsumerOptions{ConsumerOptions: ConsumerOptions{ClientOptions: NewOptions(nameServers...), Group: group}}
}

// PushConsumer pulls its queues with long polling and calls handlers: each
// subscribed topic has one. Concurrent mode runs up to ConsumeGoroutines
// handler calls at once and commits the lowest unprocessed offset of each
// queue; orderly mode locks each queue on the broker and consumes it one
// batch at a time, in order.
type PushConsumer struct {
	*consumerBase
	opts PushConsumerOptions

	ctx      context.Context // handlers' context, cancelled at the end of Shutdown
	cancel   context.CancelFunc
	tasks    chan consumeTask
	quit     chan struct{}
	stopping atomic.Bool
	workers  sync.WaitGroup
	retries  sync.WaitGroup
}

type consumeTask struct {
	pq   *processQueue
	msgs []*MessageExt
}

// NewPushConsumer returns a consumer; Subscribe, then Start.
func NewPushConsumer(opts PushConsumerOptions) (*PushConsumer, error) {
	setInt(&opts.ConsumeGoroutines, 20)
	setInt(&opts.ConsumeBatchSize, 1)
	setInt(&opts.PullThresholdForQueue, 1024)
	setDur(&opts.SuspendCurrentQueueTime, time.Second)
	if opts.RetryDelayLevel < 0 || opts.RetryDelayLevel > message.MaxDelayLevel {
		return nil, fmt.Errorf("%w: retry delay level %d outside 0-%d", ErrInvalidOptions, opts.RetryDelayLevel, message.MaxDelayLevel)
	}
	b, err := newConsumerBase(opts.ConsumerOptions, protocol.ConsumePassively)
	if err != nil {
		return nil, err
	}
	opts.ConsumerOptions = b.opts
	c := &PushConsumer{consumerBase: b, opts: opts, quit: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.tasks = make(chan consumeTask, opts.ConsumeGoroutines)
	return c, nil
}

// Subscribe routes messages of topic whose tag matches expression ("*", or
// "a || b") to handler. Call it before Start. In clustering mode the
// group's retry topic is subscribed too, and its messages reach the handler
// of their original topic.
func (c *PushConsumer) Subscribe(topic, expression string, handler Handler) error {
	if handler == nil {
		return fmt.Errorf("%w: nil handler for %s", ErrInvalidOptions, topic)
	}
	s, err := parseSubscription(topic, expression)
	if err != nil {
		return err
	}
	s.handler = handler
	return c.subscribe(s)
}

// Start subscribes the retry topic (clustering), announces the group and
// begins rebalancing and consuming.
func (c *PushConsumer) Start() error {
	if c.state.Load() != stateNew {
		return ErrAlreadyStarted
	}
	if len(c.subscriptions()) == 0 {
		return fmt.Errorf("start consumer %s: %w: no subscription", c.opts.Group, ErrInvalidOptions)
	}
	if c.opts.Model == Clustering {
		retry, err := parseSubscription(message.RetryTopic(c.opts.Group), protocol.SubAll)
		if err != nil {
			return err
		}
		if err := c.subscribe(retry); err != nil {
			return err
		}
	}
	if err := c.start(c); err != nil {
		return err
	}
	if !c.opts.Orderly {
		for range c.opts.ConsumeGoroutines {
			c.workers.Add(1)
			go c.worker()
		}
	}
	return nil
}

// Shutdown stops pulling, waits for handlers in flight, commits offsets,
// unlocks orderly queues and leaves the group. It is idempotent.
func (c *PushConsumer) Shutdown() error {
	switch c.shutdownBegin() {
	case stateShutdown:
		return nil
	case stateNew:
		c.cancel()
		return c.closeUnstarted()
	}
	c.stopping.Store(true)
	for _, mq := range c.assignedQueues() {
		if pq := c.processQueue(mq); pq != nil && pq.cancel != nil {
			pq.cancel()
			pq.wg.Wait()
		}
	}
	c.retries.Wait()
	close(c.quit)
	c.workers.Wait()
	defer c.cancel()
	return c.shutdownEnd()
}

func (c *PushConsumer) maxReconsumeTimes() int32 {
	switch {
	case c.opts.MaxReconsumeTimes > 0:
		return int32(min(c.opts.MaxReconsumeTimes, math.MaxInt32))
	case c.opts.Orderly:
		return math.MaxInt32
	}
	return 16
}

// ---- queueHooks ----

func (c *PushConsumer) startQueue(pq *processQueue) {
	ctx, cancel := context.WithCancel(c.ctx)
	pq.cancel = cancel
	pq.wg.Add(1)
	go c.pullLoop(ctx, pq)
	if c.opts.Orderly {
		pq.wg.Add(1)
		go c.orderlyLoop(ctx, pq)
	}
}

func (c *PushConsumer) beforeRelease([]MessageQueue) {}

func (c *PushConsumer) assigned([]MessageQueue) {}

// pullLoop long-polls one queue until it is dropped or the consumer stops.
func (c *PushConsumer) pullLoop(ctx context.Context, pq *processQueue) {
	defer pq.wg.Done()
	b := c.consumerBase
	sub := b.subscription(pq.mq.Topic)
	retryTopic := message.RetryTopic(c.opts.Group)
	next := pq.commitOffset()
	lockedMode := c.opts.Orderly && c.opts.Model == Clustering
	for ctx.Err() == nil && !pq.dropped.Load() {
		if lockedMode && !pq.lockValid(c.opts.LockExpiry) {
			b.relock(ctx, pq)
			continue
		}
		if pq.cached() >= c.opts.PullThresholdForQueue {
			waitSignal(ctx, pq.space, 100*time.Millisecond)
			continue
		}
		res := b.longPoll(ctx, pq, sub, next)
		if res == nil {
			continue
		}
		switch res.Status {
		case PullFound:
			for _, m := range res.Messages {
				restoreRetryTopic(m, retryTopic)
			}
			pq.put(res.Messages, res.NextBeginOffset)
			next = res.NextBeginOffset
			if !c.opts.Orderly {
				c.dispatch(ctx, pq, res.Messages)
			}
		case PullNoNewMsg, PullNoMatchedMsg:
			pq.put(nil, res.NextBeginOffset)
			next = res.NextBeginOffset
			b.offsets.update(pq.mq, pq.commitOffset(), true)
		case PullOffsetIllegal:
			b.offsetMoved(ctx, pq, res.NextBeginOffset)
			return
		}
	}
}

// offsetMoved handles PULL_OFFSET_MOVED: after a pause, commit the broker's
// nextBeginOffset (never 0 by default, never a guess) and let the next
// rebalance start the queue afresh from it.
func (b *consumerBase) offsetMoved(ctx context.Context, pq *processQueue, next int64) {
	b.log.Warn("offset out of range; resuming at the broker's offset", "queue", pq.mq.String(),
		"next_offset", next, "pause", b.opts.OffsetMovedDelay)
	if sleepCtx(ctx, b.opts.OffsetMovedDelay) != nil {
		return
	}
	pq.dropped.Store(true)
	b.offsets.update(pq.mq, next, false)
	if err := b.offsets.persist(ctx, []MessageQueue{pq.mq}); err != nil {
		b.log.Warn("persist moved offset failed", "queue", pq.mq.String(), "err", err)
	}
	b.requestRebalance()
}

// waitSignal waits for ch, ctx or d.
func waitSignal(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
	case <-t.C:
	}
}
