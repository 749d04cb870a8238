package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// ProducerOptions configures a Producer. NewProducerOptions returns the
// defaults; zero durations and sizes also mean the default.
type ProducerOptions struct {
	// Client is the shared client to use. When nil the producer creates
	// one from ClientOptions and closes it on Shutdown.
	Client *Client
	// ClientOptions configures the producer's own client (Client == nil).
	ClientOptions Options
	// Group is the producer group. Default "DEFAULT_PRODUCER".
	Group string
	// RetryTimes is how many times a failed send is retried (so 1+RetryTimes
	// attempts), on SYSTEM_ERROR, SERVICE_NOT_AVAILABLE, NO_PERMISSION,
	// TOPIC_NOT_EXIST and transport errors. 0 disables retries; negative
	// means the default, 2 (as Java's producer).
	RetryTimes int
	// SendTimeout bounds one send attempt. Default 3 s.
	SendTimeout time.Duration
	// CompressThreshold is the body size from which single messages are
	// compressed with zlib. Default 4096 bytes.
	CompressThreshold int
	// CompressLevel is the zlib level. Default 5.
	CompressLevel int
	// DisableCompression sends every body as is.
	DisableCompression bool
	// MaxMessageSize is the largest body accepted. Default 4 MiB.
	MaxMessageSize int
	// Selector picks queues; its choice is fixed (see QueueSelector). Nil
	// means round-robin, or HashSelector for messages with a ShardingKey.
	Selector QueueSelector
	// FaultBackoff is how long a broker that failed a send is avoided by
	// round-robin selection. Default 5 s.
	FaultBackoff time.Duration
	// MaxAsyncInflight bounds SendAsync messages awaiting their outcome;
	// SendAsync blocks beyond it. Default 10000.
	MaxAsyncInflight int
	// Logger overrides the client's logger for this producer.
	Logger *slog.Logger
}

// NewProducerOptions returns the defaults with the given NameServers.
func NewProducerOptions(nameServers ...string) ProducerOptions {
	return ProducerOptions{
		ClientOptions:     NewOptions(nameServers...),
		Group:             "DEFAULT_PRODUCER",
		RetryTimes:        2,
		SendTimeout:       3 * time.Second,
		CompressThreshold: 4 << 10,
		CompressLevel:     5,
		MaxMessageSize:    message.MaxBodySize,
		FaultBackoff:      5 * time.Second,
		MaxAsyncInflight:  10000,
	}
}

func (o ProducerOptions) withDefaults() ProducerOptions {
	d := NewProducerOptions()
	if o.Group == "" {
		o.Group = d.Group
	}
	if o.RetryTimes < 0 {
		o.RetryTimes = d.RetryTimes
	}
	setDur(&o.SendTimeout, d.SendTimeout)
	setDur(&o.FaultBackoff, d.FaultBackoff)
	setInt(&o.CompressThreshold, d.CompressThreshold)
	setInt(&o.CompressLevel, d.CompressLevel)
	setInt(&o.MaxMessageSize, d.MaxMessageSize)
	setInt(&o.MaxAsyncInflight, d.MaxAsyncInflight)
	return o
}

func setInt(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Producer sends messages: SendSync (one message or a batch), SendAsync
// (pipelined), SendOneway and SendToQueue. It is safe for concurrent use.
type Producer struct {
	opts  ProducerOptions
	cl    *Client
	owns  bool
	log   *slog.Logger
	stats counters
	rr    roundRobin

	state    atomic.Int32 // stateNew, stateStarted, stateShutdown
	inflight chan struct{}
	// stateMu orders SendAsync's check-and-count against Shutdown's wait.
	stateMu sync.RWMutex
	asyncWG sync.WaitGroup
	lanesMu sync.Mutex
	lanes   map[MessageQueue]*asyncLane
}

const (
	stateNew int32 = iota
	stateStarted
	stateShutdown
)

// NewProducer returns a producer; call Start before sending.
func NewProducer(opts ProducerOptions) (*Producer, error) {
	opts = opts.withDefaults()
	if opts.MaxMessageSize > message.MaxBodySize {
		return nil, fmt.Errorf("%w: max message size %d exceeds %d", ErrInvalidOptions, opts.MaxMessageSize, message.MaxBodySize)
	}
	cl, owns, err := ownClient(opts.Client, opts.ClientOptions)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	p := &Producer{
		opts: opts, cl: cl, owns: owns,
		inflight: make(chan struct{}, opts.MaxAsyncInflight),
		lanes:    make(map[MessageQueue]*asyncLane),
	}
	p.log = opts.Logger
	if p.log == nil {
		p.log = cl.log
	}
	p.log = p.log.With("producer_group", opts.Group)
	p.stats.parent = &cl.stats
	p.rr.faults = newFaultTracker(opts.FaultBackoff)
	return p, nil
}

// Start registers the producer group with the client.
func (p *Producer) Start() error {
	if !p.state.CompareAndSwap(stateNew, stateStarted) {
		return ErrAlreadyStarted
	}
	if err := p.cl.registerProducer(p.opts.Group); err != nil {
		p.state.Store(stateShutdown)
		return fmt.Errorf("start producer: %w", err)
	}
	return nil
}

// Shutdown waits (up to the async send deadline) for SendAsync callbacks,
// unregisters the group and closes the producer's own client. Sends after
// Shutdown fail with ErrShutdown. It is idempotent.
func (p *Producer) Shutdown() error {
	p.stateMu.Lock()
	prev := p.state.Swap(stateShutdown)
	p.stateMu.Unlock()
	if prev == stateShutdown {
		return nil
	}
	done := make(chan struct{})
	go func() { p.asyncWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Duration(p.opts.RetryTimes+1)*p.opts.SendTimeout + time.Second):
		p.log.Warn("shutdown: async sends still pending")
	}
	if prev == stateStarted {
		p.cl.unregisterProducer(p.opts.Group)
	}
	if p.owns {
		return p.cl.Close()
	}
	return nil
}

// Stats returns the producer's counters.
func (p *Producer) Stats() Stats { return p.stats.snapshot() }

// Client returns the client the producer uses.
func (p *Producer) Client() *Client { return p.cl }

// PublishQueues returns the writable queues of topic (sorted by broker
// name, then queue id), for callers that choose queues themselves with
// SendToQueue. A topic that does not exist yet gets the 4 queues a first
// send would create.
func (p *Producer) PublishQueues(ctx context.Context, topic string) ([]MessageQueue, error) {
	r, err := p.cl.routes.forProducer(ctx, topic)
	if err != nil {
		return nil, err
	}
	if len(r.publish) == 0 {
		return nil, fmt.Errorf("topic %s: no writable queue: %w", topic, ErrNoRoute)
	}
	return append([]MessageQueue(nil), r.publish...), nil
}

func (p *Producer) checkState() error {
	switch p.state.Load() {
	case stateNew:
		return ErrNotStarted
	case stateShutdown:
		return ErrShutdown
	}
	return nil
}

// SendSync sends one message (SEND_MESSAGE) or a batch of messages of one
// topic (SEND_BATCH_MESSAGE) and waits for the broker. A batch is stored in
// one queue, in order, with consecutive offsets. Failed attempts are retried
// on another broker unless the queue is fixed (ShardingKey or Selector).
func (p *Producer) SendSync(ctx context.Context, msgs ...*Message) (*SendResult, error) {
	return p.send(ctx, nil, msgs)
}

// SendToQueue sends like SendSync to the given queue; retries stay on it.
func (p *Producer) SendToQueue(ctx context.Context, mq MessageQueue, msgs ...*Message) (*SendResult, error) {
	return p.send(ctx, &mq, msgs)
}

func (p *Producer) send(ctx context.Context, fixed *MessageQueue, msgs []*Message) (*SendResult, error) {
	if err := p.checkState(); err != nil {
		return nil, err
	}
	o, err := p.prepare(msgs, fixed)
	if err != nil {
		return nil, err
	}
	var lastErr error
	lastBroker := ""
	for attempt := 0; attempt <= p.opts.RetryTimes; attempt++ {
		if attempt > 0 {
			p.stats.add(cSendRetries, 1)
			if o.pinned {
				if err := sleepCtx(ctx, time.Duration(attempt)*100*time.Millisecond); err != nil {
					break
				}
			}
		}
		mq, err := p.selectQueue(ctx, o, lastBroker)
		if err != nil {
			lastErr = err
			break
		}
		res, err := p.sendOnce(ctx, o, mq)
		if err == nil {
			p.rr.faults.ok(mq.BrokerName)
			p.stats.add(cSent, int64(o.count))
			return res, nil
		}
		lastErr = err
		if !p.retryable(ctx, err) {
			break
		}
		p.noteFailure(mq, err)
		lastBroker = mq.BrokerName
	}
	p.stats.add(cSendErrors, int64(o.count))
	return nil, fmt.Errorf("send to %s: %w", o.topic, lastErr)
}

// noteFailure remembers a failing broker and refreshes the route when the
// failure suggests it is stale.
func (p *Producer) noteFailure(mq MessageQueue, err error) {
	p.rr.faults.fail(mq.BrokerName)
	if errors.Is(err, ErrTopicNotExist) || errors.Is(err, ErrNoRoute) {
		ctx, cancel := context.WithTimeout(context.Background(), p.cl.opts.RPCTimeout)
		_, _ = p.cl.routes.refresh(ctx, mq.Topic, true)
		cancel()
	}
}

// retryable reports whether another attempt may succeed: the codes RocketMQ
// retries and transport errors, but not a caller's cancellation, a stored
// result or a rejected message.
func (p *Producer) retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrShutdown) || errors.Is(err, ErrInvalidMessage) {
		return false
	}
	var be *BrokerError
	if errors.As(err, &be) {
		switch be.Code {
		case protocol.SystemError, protocol.ServiceNotAvailable, protocol.NoPermission, protocol.TopicNotExist:
			return true
		}
		return false
	}
	return true
}

// selectQueue picks the queue of the next attempt.
func (p *Producer) selectQueue(ctx context.Context, o *outgoing, lastBroker string) (MessageQueue, error) {
	if o.fixed != nil {
		return *o.fixed, nil
	}
	r, err := p.cl.routes.forProducer(ctx, o.topic)
	if err != nil {
		return MessageQueue{}, err
	}
	if len(r.publish) == 0 {
		return MessageQueue{}, fmt.Errorf("topic %s: no writable queue: %w", o.topic, ErrNoRoute)
	}
	switch {
	case p.opts.Selector != nil:
		return p.opts.Selector.Select(o.first, r.publish), nil
	case o.first.ShardingKey != "":
		return HashQueue(o.first.ShardingKey, r.publish), nil
	}
	return p.rr.pick(r.publish, lastBroker), nil
}

// sendOnce makes one synchronous attempt.
func (p *Producer) sendOnce(ctx context.Context, o *outgoing, mq MessageQueue) (*SendResult, error) {
	addr := p.cl.routes.masterAddr(mq.BrokerName)
	if addr == "" {
		return nil, fmt.Errorf("queue %s: broker has no master: %w", mq, ErrNoRoute)
	}
	actx, cancel := context.WithTimeout(ctx, p.opts.SendTimeout)
	defer cancel()
	resp, err := p.cl.rc.Invoke(actx, addr, o.request(mq))
	if err != nil {
		return nil, fmt.Errorf("send to %s at %s: %w", mq, addr, err)
	}
	return o.result(mq, addr, resp)
}

// SendOneway sends one message or a batch without waiting for the broker:
// one attempt, errors only for what fails locally (validation, route,
// connection).
func (p *Producer) SendOneway(ctx context.Context, msgs ...*Message) error {
	if err := p.checkState(); err != nil {
		return err
	}
	o, err := p.prepare(msgs, nil)
	if err != nil {
		return err
	}
	mq, err := p.selectQueue(ctx, o, "")
	if err != nil {
		return fmt.Errorf("send oneway to %s: %w", o.topic, err)
	}
	addr := p.cl.routes.masterAddr(mq.BrokerName)
	if addr == "" {
		return fmt.Errorf("send oneway to %s: broker has no master: %w", mq, ErrNoRoute)
	}
	if err := p.cl.rc.InvokeOneway(ctx, addr, o.request(mq)); err != nil {
		p.stats.add(cSendErrors, int64(o.count))
		return fmt.Errorf("send oneway to %s at %s: %w", mq, addr, err)
	}
	p.stats.add(cSent, int64(o.count))
	return nil
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// joinIDs joins message ids with commas, as RocketMQ reports batch ids.
func joinIDs(ids []string) string { return strings.Join(ids, ",") }

// request is built per attempt: the transport assigns each command its own
// opaque.
func (o *outgoing) request(mq MessageQueue) *remoting.Command {
	h := protocol.SendHeader{
		ProducerGroup: o.group, Topic: o.topic, DefaultTopic: message.TopicDefault,
		DefaultTopicQueueNums: defaultTopicQueueNums, QueueID: mq.QueueID, SysFlag: o.sysFlag,
		BornTimestamp: time.Now().UnixMilli(), Flag: o.flag, Properties: o.props,
		Batch: o.batch, BrokerName: mq.BrokerName,
	}
	code := protocol.SendMessage
	if o.batch {
		code = protocol.SendBatchMessage
	}
	return remoting.NewRequest(code, h.Fields(o.batch), o.body)
}
