package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
)

// PullConsumerOptions configures a PullConsumer. Zero values mean the
// defaults.
type PullConsumerOptions struct {
	ConsumerOptions
	// MaxBufferedPerQueue pauses fetching a queue while this many fetched
	// messages wait for Poll. Default 1024.
	MaxBufferedPerQueue int
	// OnAssign is called after queues are assigned (from the rebalance
	// goroutine, or from Assign).
	OnAssign func(mqs []MessageQueue)
	// OnRevoke is called before queues are taken away (rebalance, Assign,
	// an orderly lock lost, Shutdown). Offsets committed before it returns
	// are persisted before the queues go to another member, so a sink can
	// flush and Commit here.
	OnRevoke func(mqs []MessageQueue)
}

// NewPullConsumerOptions returns the defaults for group.
func NewPullConsumerOptions(group string, nameServers ...string) PullConsumerOptions {
	return PullConsumerOptions{ConsumerOptions: ConsumerOptions{ClientOptions: NewOptions(nameServers...), Group: group}}
}

// PullConsumer fetches its queues in the background and hands messages out
// through Poll; the caller decides when offsets are committed (Commit),
// e.g. only after its own durable commit. Queues come from Subscribe plus
// rebalancing within the group (optionally holding broker locks, Orderly),
// or from Assign. Poll from one goroutine to see each queue's messages in
// order.
type PullConsumer struct {
	*consumerBase
	opts PullConsumerOptions

	ctx    context.Context
	cancel context.CancelFunc
	ready  chan struct{}

	modeMu   sync.Mutex
	assignMd bool
	next     int // round-robin start of Poll
}

// NewPullConsumer returns a consumer; Subscribe or Assign, then Start.
func NewPullConsumer(opts PullConsumerOptions) (*PullConsumer, error) {
	setInt(&opts.MaxBufferedPerQueue, 1024)
	b, err := newConsumerBase(opts.ConsumerOptions, protocol.ConsumeActively)
	if err != nil {
		return nil, err
	}
	opts.ConsumerOptions = b.opts
	c := &PullConsumer{consumerBase: b, opts: opts, ready: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Subscribe adds topic with a tag expression ("*", or "a || b"); the
// group's members share its queues. Call it before Start; not with Assign.
func (c *PullConsumer) Subscribe(topic, expression string) error {
	s, err := parseSubscription(topic, expression)
	if err != nil {
		return err
	}
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	if c.assignMd {
		return fmt.Errorf("%w: subscribe after assign", ErrInvalidOptions)
	}
	return c.subscribe(s)
}

// Assign sets the queues to consume, without group rebalancing; it
// replaces the previous assignment and may be called before or after
// Start. Queues start at their committed offset (else ConsumeFrom).
func (c *PullConsumer) Assign(ctx context.Context, mqs []MessageQueue) error {
	c.modeMu.Lock()
	if len(c.subscriptions()) > 0 {
		c.modeMu.Unlock()
		return fmt.Errorf("%w: assign after subscribe", ErrInvalidOptions)
	}
	c.assignMd = true
	c.modeMu.Unlock()
	byTopic := make(map[string][]MessageQueue)
	for _, mq := range mqs {
		byTopic[mq.Topic] = append(byTopic[mq.Topic], mq)
	}
	c.setAssignment(byTopic)
	if c.state.Load() != stateStarted {
		return nil
	}
	if !c.rebalance(ctx) {
		return nil
	}
	return fmt.Errorf("assign: not every queue could be started yet; retrying in the background")
}

// Start announces the group and begins fetching.
func (c *PullConsumer) Start() error {
	return c.start(c)
}

// Shutdown stops fetching, calls OnRevoke for every queue, persists
// committed offsets, unlocks (orderly) and leaves the group. Poll returns
// ErrShutdown afterwards. It is idempotent.
func (c *PullConsumer) Shutdown() error {
	c.cancel()
	switch c.shutdownBegin() {
	case stateShutdown:
		return nil
	case stateNew:
		return c.closeUnstarted()
	}
	return c.shutdownEnd()
}

// Poll waits until fetched messages are available and returns a batch of at
// most PullBatchSize messages of one queue, in offset order. It returns
// ctx's error when ctx is done first, and ErrShutdown after Shutdown.
func (c *PullConsumer) Poll(ctx context.Context) ([]*MessageExt, error) {
	_, msgs, err := c.PollQueue(ctx)
	return msgs, err
}

// PollQueue is Poll that also returns the queue the batch is from (a
// message does not carry its broker's name).
func (c *PullConsumer) PollQueue(ctx context.Context) (MessageQueue, []*MessageExt, error) {
	for {
		switch c.state.Load() {
		case stateNew:
			return MessageQueue{}, nil, ErrNotStarted
		case stateShutdown:
			return MessageQueue{}, nil, ErrShutdown
		}
		if mq, msgs := c.take(); len(msgs) > 0 {
			c.stats.add(cConsumed, int64(len(msgs)))
			return mq, msgs, nil
		}
		select {
		case <-c.ready:
		case <-ctx.Done():
			return MessageQueue{}, nil, ctx.Err()
		case <-c.ctx.Done():
			return MessageQueue{}, nil, ErrShutdown
		}
	}
}

// take removes a batch from the next queue (round-robin) that has one.
func (c *PullConsumer) take() (MessageQueue, []*MessageExt) {
	mqs := c.assignedQueues()
	locked := c.opts.Orderly && c.opts.Model == Clustering
	c.modeMu.Lock()
	start := c.next
	c.next++
	c.modeMu.Unlock()
	for i := range mqs {
		pq := c.processQueue(mqs[(start+i)%len(mqs)])
		if pq == nil || pq.dropped.Load() || (locked && !pq.lockValid(c.opts.LockExpiry)) {
			continue
		}
		pq.mu.Lock()
		n := min(len(pq.buf), c.opts.PullBatchSize)
		if n == 0 {
			pq.mu.Unlock()
			continue
		}
		out := slices.Clone(pq.buf[:n])
		clear(pq.buf[:n])
		pq.buf = pq.buf[n:]
		pq.mu.Unlock()
		signal(pq.space)
		return mqs[(start+i)%len(mqs)], out
	}
	return MessageQueue{}, nil
}

// Commit records nextOffset (the offset of the next message to consume,
// i.e. the last processed offset + 1) as the group's position in mq. It is
// persisted every OffsetPersistInterval, before a queue is revoked, and on
// Shutdown; use CommitSync to persist at once.
func (c *PullConsumer) Commit(mq MessageQueue, nextOffset int64) error {
	if c.processQueue(mq) == nil {
		return fmt.Errorf("commit %s: %w", mq, ErrNotAssigned)
	}
	c.offsets.update(mq, nextOffset, false)
	return nil
}

// CommitSync commits offsets (queue → next offset) and persists them now.
func (c *PullConsumer) CommitSync(ctx context.Context, offsets map[MessageQueue]int64) error {
	for mq, off := range offsets {
		if err := c.Commit(mq, off); err != nil {
			return err
		}
	}
	mqs := slices.Collect(maps.Keys(offsets))
	if err := c.offsets.persist(ctx, mqs); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Committed returns the group's committed offset of mq: the value in memory
// when the queue is assigned, else the persisted one (-1 when none).
func (c *PullConsumer) Committed(ctx context.Context, mq MessageQueue) (int64, error) {
	if off, ok := c.offsets.get(mq); ok && c.processQueue(mq) != nil {
		return off, nil
	}
	off, err := c.cl.queryConsumerOffset(ctx, c.opts.Group, mq)
	if err == nil || c.opts.Model == Broadcasting {
		return off, err
	}
	return -1, err
}

// Seek makes the next fetch of an assigned queue start at offset and drops
// what was fetched but not yet polled (e.g. to resume from offsets a sink
// keeps in its own manifest).
func (c *PullConsumer) Seek(mq MessageQueue, offset int64) error {
	pq := c.processQueue(mq)
	if pq == nil {
		return fmt.Errorf("seek %s: %w", mq, ErrNotAssigned)
	}
	pq.mu.Lock()
	pq.seekTo, pq.buf = offset, nil
	pq.seekGen++
	pq.mu.Unlock()
	signal(pq.space)
	return nil
}

// PullQueue pulls up to max messages of mq from offset once, without long
// polling and without touching the consumer's state. It works in any
// state but after Shutdown.
func (c *PullConsumer) PullQueue(ctx context.Context, mq MessageQueue, offset int64, max int) (*PullResult, error) {
	if c.state.Load() == stateShutdown {
		return nil, ErrShutdown
	}
	return c.pull(ctx, pullParams{mq: mq, sub: c.subFor(mq.Topic), offset: offset, max: max, commit: -1})
}

func (c *PullConsumer) subFor(topic string) *subscription {
	if s := c.subscription(topic); s != nil {
		return s
	}
	s, _ := parseSubscription(topic, protocol.SubAll)
	return s
}

// ---- queueHooks ----

func (c *PullConsumer) startQueue(pq *processQueue) {
	ctx, cancel := context.WithCancel(c.ctx)
	pq.cancel = cancel
	pq.sub = c.subFor(pq.mq.Topic)
	pq.wg.Add(1)
	go c.fetchLoop(ctx, pq)
}

func (c *PullConsumer) beforeRelease(mqs []MessageQueue) {
	if c.opts.OnRevoke != nil && len(mqs) > 0 {
		c.opts.OnRevoke(mqs)
	}
}

func (c *PullConsumer) assigned(mqs []MessageQueue) {
	if c.opts.OnAssign != nil {
		c.opts.OnAssign(mqs)
	}
}

// fetchLoop long-polls one queue into its buffer.
func (c *PullConsumer) fetchLoop(ctx context.Context, pq *processQueue) {
	defer pq.wg.Done()
	b := c.consumerBase
	next := pq.commitOffset()
	locked := c.opts.Orderly && c.opts.Model == Clustering
	for ctx.Err() == nil && !pq.dropped.Load() {
		pq.mu.Lock()
		if pq.seekTo >= 0 {
			next, pq.seekTo = pq.seekTo, -1
		}
		gen, buffered := pq.seekGen, len(pq.buf)
		pq.mu.Unlock()
		if locked && !pq.lockValid(c.opts.LockExpiry) {
			b.relock(ctx, pq)
			continue
		}
		if buffered >= c.opts.MaxBufferedPerQueue {
			waitSignal(ctx, pq.space, 100*time.Millisecond)
			continue
		}
		res := b.longPoll(ctx, pq, pq.sub, next)
		if res == nil {
			continue
		}
		if res.Status == PullOffsetIllegal {
			b.log.Warn("offset out of range; resuming at the broker's offset", "queue", pq.mq.String(),
				"offset", next, "next_offset", res.NextBeginOffset)
		}
		pq.mu.Lock()
		if pq.seekGen == gen {
			pq.buf = append(pq.buf, res.Messages...)
			next = res.NextBeginOffset
		}
		pq.mu.Unlock()
		if len(res.Messages) > 0 {
			signal(c.ready)
		}
	}
}
