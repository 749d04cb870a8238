package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/remoting"
)

// SendAsync sends msg without waiting: the request is queued on the
// broker's connection behind earlier ones (pipelining) and cb gets the
// outcome later. It returns an error, and never calls cb, when msg cannot be
// sent at all (invalid, no route, shut down, ctx done while waiting for
// room among MaxAsyncInflight); otherwise cb is called exactly once, on a
// goroutine of its own (never the connection's read loop), and callbacks of
// messages first sent to one queue are called in send order. A failed
// attempt is retried like SendSync; a retry can land behind later messages
// of the same queue, so callers needing strict order per queue should wait
// for each callback, or use SendSync.
func (p *Producer) SendAsync(ctx context.Context, msg *Message, cb func(*SendResult, error)) error {
	p.stateMu.RLock()
	err := p.checkState()
	if err == nil {
		p.asyncWG.Add(1) // Shutdown waits for this send from here on
	}
	p.stateMu.RUnlock()
	if err != nil {
		return err
	}
	mq, o, err := p.admitAsync(ctx, msg)
	if err != nil {
		p.asyncWG.Done()
		return err
	}
	if cb == nil {
		cb = func(*SendResult, error) {}
	}
	a := &asyncSend{p: p, o: o, cb: cb, lane: p.lane(mq)}
	a.lane.sendMu.Lock()
	a.seq = a.lane.next
	a.lane.next++
	err = a.dispatch(mq)
	a.lane.sendMu.Unlock()
	if err != nil {
		a.complete(mq, nil, err)
	}
	return nil
}

// admitAsync validates msg, takes a slot among MaxAsyncInflight and picks
// its queue.
func (p *Producer) admitAsync(ctx context.Context, msg *Message) (MessageQueue, *outgoing, error) {
	o, err := p.prepare([]*Message{msg}, nil)
	if err != nil {
		return MessageQueue{}, nil, err
	}
	select {
	case p.inflight <- struct{}{}:
	case <-ctx.Done():
		return MessageQueue{}, nil, fmt.Errorf("send async to %s: %w", o.topic, ctx.Err())
	}
	mq, err := p.selectQueue(ctx, o, "")
	if err != nil {
		<-p.inflight
		return MessageQueue{}, nil, fmt.Errorf("send async to %s: %w", o.topic, err)
	}
	return mq, o, nil
}

// asyncSend is one SendAsync in flight.
type asyncSend struct {
	p          *Producer
	o          *outgoing
	cb         func(*SendResult, error)
	lane       *asyncLane // of the first queue: fixes the callback order
	seq        uint64
	attempt    int
	lastBroker string
}

func (a *asyncSend) dispatch(mq MessageQueue) error {
	addr := a.p.cl.routes.masterAddr(mq.BrokerName)
	if addr == "" {
		return fmt.Errorf("queue %s: broker has no master: %w", mq, ErrNoRoute)
	}
	return a.p.cl.rc.InvokeAsync(addr, a.o.request(mq), a.p.opts.SendTimeout, func(resp *remoting.Command, err error) {
		if err != nil {
			err = fmt.Errorf("send to %s at %s: %w", mq, addr, err)
		}
		a.complete(mq, resp, err)
	})
}

// complete handles an attempt's outcome. It runs on the read loop or a
// timer, so retries and callbacks move to other goroutines.
func (a *asyncSend) complete(mq MessageQueue, resp *remoting.Command, err error) {
	var res *SendResult
	if err == nil {
		res, err = a.o.result(mq, a.p.cl.routes.masterAddr(mq.BrokerName), resp)
	}
	p := a.p
	if err != nil && a.attempt < p.opts.RetryTimes && p.state.Load() == stateStarted && p.retryable(context.Background(), err) {
		go a.retry(mq, err)
		return
	}
	if err == nil {
		p.rr.faults.ok(mq.BrokerName)
		p.stats.add(cSent, 1)
	} else {
		p.stats.add(cSendErrors, 1)
		err = fmt.Errorf("send to %s: %w", a.o.topic, err)
	}
	a.lane.finish(a.seq, func() {
		defer p.asyncWG.Done()
		<-p.inflight
		a.cb(res, err)
	})
}

func (a *asyncSend) retry(failed MessageQueue, cause error) {
	p := a.p
	a.attempt++
	p.stats.add(cSendRetries, 1)
	p.noteFailure(failed, cause)
	a.lastBroker = failed.BrokerName
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.SendTimeout)
	defer cancel()
	if a.o.pinned {
		_ = sleepCtx(ctx, time.Duration(a.attempt)*100*time.Millisecond)
	}
	mq, err := p.selectQueue(ctx, a.o, a.lastBroker)
	if err == nil {
		err = a.dispatch(mq)
	}
	if err != nil {
		a.attempt = p.opts.RetryTimes // no more retries: report this error
		a.complete(mq, nil, err)
	}
}

// lane returns the callback lane of mq.
func (p *Producer) lane(mq MessageQueue) *asyncLane {
	p.lanesMu.Lock()
	defer p.lanesMu.Unlock()
	l := p.lanes[mq]
	if l == nil {
		l = &asyncLane{ready: make(map[uint64]func())}
		p.lanes[mq] = l
	}
	return l
}

// asyncLane delivers the callbacks of one queue's async sends in send
// order, off the connection's read loop: a finished send whose turn has not
// come waits in ready until every earlier one has been delivered.
type asyncLane struct {
	sendMu sync.Mutex // held while numbering and queueing a request
	next   uint64

	mu       sync.Mutex
	deliver  uint64 // next sequence number to deliver
	ready    map[uint64]func()
	draining bool
}

func (l *asyncLane) finish(seq uint64, fn func()) {
	l.mu.Lock()
	l.ready[seq] = fn
	if l.draining || seq != l.deliver {
		l.mu.Unlock()
		return
	}
	l.draining = true
	l.mu.Unlock()
	go l.drain()
}

func (l *asyncLane) drain() {
	for {
		l.mu.Lock()
		fn, ok := l.ready[l.deliver]
		if !ok {
			l.draining = false
			l.mu.Unlock()
			return
		}
		delete(l.ready, l.deliver)
		l.deliver++
		l.mu.Unlock()
		fn()
	}
}
