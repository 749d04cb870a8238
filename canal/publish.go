package canal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/client"
)

// PublishConfig tunes how events reach the broker.
type PublishConfig struct {
	// Cluster is the broker cluster topics are created in when missing.
	Cluster string `yaml:"cluster"`
	// Queues is the queue count of topics the ingester creates; a topic's
	// queue count must not change once events flow (the key → queue
	// mapping depends on it).
	Queues int `yaml:"queues"`
	// BatchMessages and BatchBytes bound one send (a batch of one queue).
	BatchMessages int `yaml:"batch_messages"`
	BatchBytes    int `yaml:"batch_bytes"`
	// QueueBufferBytes bounds what waits for one queue; the reader blocks
	// when it is full.
	QueueBufferBytes int `yaml:"queue_buffer_bytes"`
	// MaxMessageBytes is the largest event; a larger row fails loudly (the
	// broker's max_message_size, 4 MiB by default).
	MaxMessageBytes int `yaml:"max_message_bytes"`
}

// DefaultPublishConfig returns the defaults.
func DefaultPublishConfig() PublishConfig {
	return PublishConfig{Cluster: "DefaultCluster", Queues: 8, BatchMessages: 256, BatchBytes: 1 << 20,
		QueueBufferBytes: 8 << 20, MaxMessageBytes: 4 << 20}
}

// Validate checks the configuration.
func (c PublishConfig) Validate() error {
	var errs []error
	if c.Queues < 1 || c.Queues > 1024 {
		errs = append(errs, fmt.Errorf("publish.queues %d outside 1-1024", c.Queues))
	}
	if c.BatchMessages < 1 || c.BatchBytes < 1 || c.QueueBufferBytes < c.BatchBytes {
		errs = append(errs, fmt.Errorf("publish: batch_messages and batch_bytes must be positive and queue_buffer_bytes at least batch_bytes"))
	}
	if c.MaxMessageBytes < 1024 {
		errs = append(errs, fmt.Errorf("publish.max_message_bytes %d is below 1KiB", c.MaxMessageBytes))
	}
	return errors.Join(errs...)
}

// ErrMessageTooLarge is returned for a row whose event exceeds
// MaxMessageBytes: it is never dropped silently.
var ErrMessageTooLarge = errors.New("event larger than the broker's message size limit")

// outMsg is one encoded event bound for a queue.
type outMsg struct {
	body []byte
	tags string
	txn  *txn
}

// publisher sends events to fixed queues in order: each queue has one
// worker with at most one batch in flight, so a retry can never reorder a
// queue; queues proceed in parallel. The first failed send stops it: the
// ingester then restarts from its last saved position (everything after it
// is sent again, recognisably by position).
type publisher struct {
	cfg     PublishConfig
	prod    *client.Producer
	admin   *client.Admin
	tracker *tracker
	stats   *counters // may be nil
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelCauseFunc

	mu      sync.Mutex
	topics  map[string][]client.MessageQueue
	workers map[client.MessageQueue]*queueWorker
	wg      sync.WaitGroup
}

func newPublisher(ctx context.Context, cfg PublishConfig, prod *client.Producer, tr *tracker, log *slog.Logger) *publisher {
	ctx, cancel := context.WithCancelCause(ctx)
	return &publisher{cfg: cfg, prod: prod, admin: client.NewAdmin(prod.Client()), tracker: tr, log: log,
		ctx: ctx, cancel: cancel, topics: map[string][]client.MessageQueue{}, workers: map[client.MessageQueue]*queueWorker{}}
}

// queues returns the writable queues of topic, creating the topic with
// cfg.Queues queues when the NameServers know no route for it. The count
// is fixed for the publisher's life.
func (p *publisher) queues(topic string) ([]client.MessageQueue, error) {
	p.mu.Lock()
	qs := p.topics[topic]
	p.mu.Unlock()
	if qs != nil {
		return qs, nil
	}
	ctx := p.ctx
	if _, err := p.admin.TopicRoute(ctx, topic); errors.Is(err, client.ErrTopicNotExist) {
		cfg := client.TopicConfig{Topic: topic, ReadQueueNums: int32(p.cfg.Queues), WriteQueueNums: int32(p.cfg.Queues), Perm: 6}
		if _, err := p.admin.CreateTopicInCluster(ctx, p.cfg.Cluster, cfg); err != nil {
			return nil, fmt.Errorf("create topic %s in cluster %s: %w", topic, p.cfg.Cluster, err)
		}
		p.log.Info("topic created", "topic", topic, "queues", p.cfg.Queues, "cluster", p.cfg.Cluster)
	} else if err != nil {
		return nil, fmt.Errorf("route of %s: %w", topic, err)
	}
	// A topic just created takes a registration round to show up.
	deadline := time.Now().Add(30 * time.Second)
	qs, err := p.prod.PublishQueues(ctx, topic)
	for err != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("queues of %s: %w", topic, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		qs, err = p.prod.PublishQueues(ctx, topic)
	}
	p.mu.Lock()
	p.topics[topic] = qs
	p.mu.Unlock()
	return qs, nil
}

// publish queues body for queue index q of topic, counted in t.
func (p *publisher) publish(topic string, q int, body []byte, tags string, t *txn) error {
	if len(body) > p.cfg.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes for %s (limit %d)", ErrMessageTooLarge, len(body), topic, p.cfg.MaxMessageBytes)
	}
	qs, err := p.queues(topic)
	if err != nil {
		return err
	}
	w := p.worker(qs[q%len(qs)])
	p.tracker.add(t, 1)
	if p.stats != nil {
		p.stats.events.Add(1)
		p.stats.bytes.Add(int64(len(body)))
	}
	return w.enqueue(outMsg{body: body, tags: tags, txn: t})
}

// publishAll queues the buffered events of transaction t, in order: as
// publish for each, with one lock round per queue rather than per event.
func (p *publisher) publishAll(msgs []pendingMsg, t *txn) error {
	type run struct {
		w    *queueWorker
		msgs []outMsg
	}
	var runs []run // by queue, few: found by scanning
	var qs []client.MessageQueue
	topic, bytes := "", 0
	for i := range msgs {
		m := &msgs[i]
		if len(m.body) > p.cfg.MaxMessageBytes {
			return fmt.Errorf("%w: %d bytes for %s (limit %d)", ErrMessageTooLarge, len(m.body), m.topic, p.cfg.MaxMessageBytes)
		}
		if qs == nil || m.topic != topic {
			var err error
			if qs, err = p.queues(m.topic); err != nil {
				return err
			}
			topic = m.topic
		}
		mq := qs[m.queue%len(qs)]
		k := 0
		for k < len(runs) && runs[k].w.mq != mq {
			k++
		}
		if k == len(runs) {
			runs = append(runs, run{w: p.worker(mq)})
		}
		runs[k].msgs = append(runs[k].msgs, outMsg{body: m.body, tags: m.tags, txn: t})
		bytes += len(m.body)
	}
	p.tracker.add(t, len(msgs))
	if p.stats != nil {
		p.stats.events.Add(int64(len(msgs)))
		p.stats.bytes.Add(int64(bytes))
	}
	for _, r := range runs {
		if err := r.w.enqueue(r.msgs...); err != nil {
			return err
		}
	}
	return nil
}

// queueCount is the number of queues events of topic spread over.
func (p *publisher) queueCount(topic string) (int, error) {
	qs, err := p.queues(topic)
	return len(qs), err
}

func (p *publisher) worker(mq client.MessageQueue) *queueWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.workers[mq]
	if w == nil {
		w = &queueWorker{p: p, mq: mq}
		w.cond = sync.NewCond(&w.mu)
		p.workers[mq] = w
		p.wg.Go(w.run)
	}
	return w
}

// Err is the failure that stopped the publisher, or nil.
func (p *publisher) Err() error {
	if p.ctx.Err() == nil {
		return nil
	}
	return context.Cause(p.ctx)
}

// close stops the workers after they sent what they hold (drain) or at
// once (the context was canceled), and waits for them.
func (p *publisher) close(drain bool) error {
	p.mu.Lock()
	ws := make([]*queueWorker, 0, len(p.workers))
	for _, w := range p.workers {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	for _, w := range ws {
		w.stop(drain)
	}
	p.wg.Wait()
	err := p.Err()
	p.cancel(errors.New("publisher closed"))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// queueWorker owns one queue: it sends what was enqueued, in order, one
// batch at a time; what arrives while a batch is in flight forms the next.
type queueWorker struct {
	p  *publisher
	mq client.MessageQueue

	mu       sync.Mutex
	cond     *sync.Cond
	pending  []outMsg
	bytes    int
	stopping bool
	drain    bool
}

// enqueue appends msgs, in order, waiting for room in the queue's buffer
// (a message always fits an empty one); the worker is woken once per
// stretch that fits.
func (w *queueWorker) enqueue(msgs ...outMsg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(msgs) > 0 {
		for w.bytes > 0 && w.bytes+len(msgs[0].body) > w.p.cfg.QueueBufferBytes && !w.stopping && w.p.ctx.Err() == nil {
			w.cond.Wait()
		}
		if err := w.p.Err(); err != nil {
			return err
		}
		if w.stopping {
			return errors.New("publisher closed")
		}
		n := 0
		for n < len(msgs) && (n == 0 || w.bytes+len(msgs[n].body) <= w.p.cfg.QueueBufferBytes) {
			w.bytes += len(msgs[n].body)
			n++
		}
		w.pending = append(w.pending, msgs[:n]...)
		msgs = msgs[n:]
		w.cond.Broadcast()
	}
	return nil
}

func (w *queueWorker) stop(drain bool) {
	w.mu.Lock()
	w.stopping, w.drain = true, drain
	w.cond.Broadcast()
	w.mu.Unlock()
}

// wake lets a worker blocked in cond.Wait see the publisher's failure.
func (w *queueWorker) wake() {
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *queueWorker) run() {
	stopWake := context.AfterFunc(w.p.ctx, w.wake)
	defer stopWake()
	msgs := make([]*client.Message, 0, w.p.cfg.BatchMessages)
	// The messages of a batch are reused by the next: a send is done with
	// them when it returns.
	slab := make([]client.Message, w.p.cfg.BatchMessages)
	for {
		w.mu.Lock()
		for len(w.pending) == 0 && !w.stopping && w.p.ctx.Err() == nil {
			w.cond.Wait()
		}
		if w.p.ctx.Err() != nil || len(w.pending) == 0 || w.stopping && !w.drain {
			w.mu.Unlock()
			return
		}
		n, size := 0, 0
		for n < len(w.pending) && n < w.p.cfg.BatchMessages && (n == 0 || size+len(w.pending[n].body) <= w.p.cfg.BatchBytes) {
			size += len(w.pending[n].body)
			n++
		}
		batch := w.pending[:n:n]
		w.mu.Unlock()

		msgs = msgs[:0]
		for i, m := range batch {
			slab[i] = client.Message{Topic: w.mq.Topic, Body: m.body, Tags: m.tags}
			msgs = append(msgs, &slab[i])
		}
		res, err := w.p.prod.SendToQueue(w.p.ctx, w.mq, msgs...)
		if err == nil && res.Status != client.SendOK {
			err = fmt.Errorf("broker answered %v: the events are stored but not as safe as its mode promises", res.Status)
		}
		if err != nil {
			w.p.cancel(fmt.Errorf("publish %d events to %s: %w", len(msgs), w.mq, err))
			return
		}
		// Count acknowledgements per run of one transaction's events: one
		// lock round each instead of one per event.
		for i := 0; i < len(batch); {
			j := i + 1
			for j < len(batch) && batch[j].txn == batch[i].txn {
				j++
			}
			w.p.tracker.done(batch[i].txn, j-i)
			i = j
		}
		w.mu.Lock()
		w.pending = w.pending[n:]
		w.bytes -= size
		if len(w.pending) == 0 {
			w.pending = nil // let the backing array go
		}
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}
