package remoting

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of a connection.
var (
	// ErrClosed is returned for calls on, or pending on, a closed connection.
	ErrClosed = errors.New("connection closed")
	// ErrTimeout is returned when a call gets no response in time.
	ErrTimeout = errors.New("request timed out")
	// ErrSlowReader closes a connection whose peer does not read its replies.
	ErrSlowReader = errors.New("peer too slow: write queue over limit")
)

// opaqueSeq numbers requests sent by this process; every connection draws
// from it, so opaques are unique per connection too.
var opaqueSeq atomic.Int32

type connOptions struct {
	serialize      SerializeType // header encoding of requests this side sends
	writeTimeout   time.Duration
	maxQueuedBytes int
	logger         *slog.Logger
	onClose        func(*Conn, error)
}

// Conn is one full-duplex remoting connection. Either side may send
// requests; responses are matched by opaque. Incoming requests are served
// concurrently (see Mux) and replies go out in completion order. All writes
// go through one writer goroutine, which coalesces queued frames into as few
// syscalls as possible.
type Conn struct {
	nc   net.Conn
	mux  *Mux
	opts *connOptions

	wmu         sync.Mutex
	queue       []*Command
	queuedBytes int
	closed      bool
	wake        chan struct{}

	pmu     sync.Mutex
	pending map[int32]*call

	lastRead  atomic.Int64 // unix nanos of the last complete inbound frame
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	value     atomic.Value  // owner state, see SetValue
	handlers  chan struct{} // semaphore of concurrent handlers
	deadlines deadlineQueue // timeouts of async calls
}

type call struct {
	ch chan *Command
	cb func(*Command, error)
	// code and timeout describe an async call for its timeout error.
	code    int16
	timeout time.Duration
}

// maxConcurrentHandlers caps the requests of one connection being served
// at once (held pulls reply later and do not count). Past it the read loop
// waits, which pushes back on the peer instead of growing goroutines.
const maxConcurrentHandlers = 4096

func newConn(nc net.Conn, mux *Mux, opts *connOptions) *Conn {
	c := &Conn{
		nc:       nc,
		mux:      mux,
		opts:     opts,
		wake:     make(chan struct{}, 1),
		pending:  make(map[int32]*call),
		done:     make(chan struct{}),
		handlers: make(chan struct{}, maxConcurrentHandlers),
	}
	c.lastRead.Store(time.Now().UnixNano())
	return c
}

// start runs the connection's read and write loops.
func (c *Conn) start() {
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr is this side's address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// SetValue attaches owner state (e.g. the client id a broker learned from a
// heartbeat) to the connection.
func (c *Conn) SetValue(v any) { c.value.Store(v) }

// Value returns what SetValue stored, or nil.
func (c *Conn) Value() any { return c.value.Load() }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.closeErr
	default:
		return nil
	}
}

// Close closes the connection; pending calls fail with ErrClosed.
func (c *Conn) Close() error {
	c.closeWith(ErrClosed)
	return nil
}

func (c *Conn) closeWith(reason error) {
	c.closeOnce.Do(func() {
		c.closeErr = reason
		c.wmu.Lock()
		c.closed = true
		c.queue = nil
		c.wmu.Unlock()
		close(c.done)
		_ = c.nc.Close()
		c.failPending()
		if c.opts.onClose != nil {
			c.opts.onClose(c, reason)
		}
	})
}

func (c *Conn) failPending() {
	c.pmu.Lock()
	calls := c.pending
	c.pending = make(map[int32]*call)
	c.pmu.Unlock()
	for _, cl := range calls {
		c.finish(cl, nil, ErrClosed)
	}
}

// wait blocks until both loops of the connection have exited.
func (c *Conn) wait() { c.wg.Wait() }

// maxBatch caps how many buffered requests one batch handler call takes.
const maxBatch = 256

func (c *Conn) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var next *Command // a frame read ahead while collecting a batch
	for {
		cmd := next
		next = nil
		if cmd == nil {
			var err error
			if cmd, err = ReadFrame(br); err != nil {
				c.readFailed(err)
				return
			}
			c.lastRead.Store(time.Now().UnixNano())
		}
		if cmd.IsResponse() {
			c.complete(cmd)
			continue
		}
		if r, ok := c.mux.lookup(cmd.Code); ok && r.batch != nil {
			var err error
			if next, err = c.serveBatch(br, r.batch, cmd); err != nil {
				c.readFailed(err)
				return
			}
			continue
		}
		c.dispatch(cmd)
	}
}

// serveBatch collects the requests of br's batch route that are already
// buffered behind first, serves them in one call, and returns a frame it
// read ahead that belongs to something else.
func (c *Conn) serveBatch(br *bufio.Reader, route *batchRoute, first *Command) (*Command, error) {
	batch := []*Command{first}
	var ahead *Command
	for len(batch) < maxBatch && frameBuffered(br) {
		cmd, err := ReadFrame(br)
		if err != nil {
			c.serveBatchNow(route, batch)
			return nil, err
		}
		if r, ok := c.mux.lookup(cmd.Code); cmd.IsResponse() || !ok || r.batch != route {
			ahead = cmd
			break
		}
		batch = append(batch, cmd)
	}
	c.serveBatchNow(route, batch)
	return ahead, nil
}

// frameBuffered reports whether a whole frame is already in br, so reading
// it cannot block.
func frameBuffered(br *bufio.Reader) bool {
	if br.Buffered() < 4 {
		return false
	}
	head, err := br.Peek(4)
	if err != nil {
		return false
	}
	n := int(int32(binary.BigEndian.Uint32(head)))
	return n >= 4 && n <= MaxFrameSize && br.Buffered() >= 4+n
}

func (c *Conn) serveBatchNow(route *batchRoute, batch []*Command) {
	defer func() {
		if p := recover(); p != nil {
			c.opts.logger.Error("batch handler panicked", "code", batch[0].Code, "remote", c.RemoteAddr().String(), "panic", p)
			for _, req := range batch {
				c.Reply(req, req.NewResponse(codeSystemError, fmt.Sprintf("internal error serving code %d", req.Code)))
			}
		}
	}()
	route.h(c, batch)
}

func (c *Conn) readFailed(err error) {
	select {
	case <-c.done:
		return // closed by us
	default:
	}
	switch {
	case errors.Is(err, ErrFrame):
		c.opts.logger.Warn("closing connection: malformed frame", "remote", c.RemoteAddr().String(), "err", err)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.opts.logger.Debug("connection closed by peer", "remote", c.RemoteAddr().String())
	default:
		c.opts.logger.Info("closing connection: read failed", "remote", c.RemoteAddr().String(), "err", err)
	}
	c.closeWith(fmt.Errorf("%w: %v", ErrClosed, err))
}

func (c *Conn) dispatch(req *Command) {
	r, ok := c.mux.lookup(req.Code)
	if !ok {
		resp := req.NewResponse(codeNotSupported, fmt.Sprintf("request code %d not supported", req.Code))
		c.Reply(req, resp)
		return
	}
	if r.inline {
		c.serve(r.h, req)
		return
	}
	select {
	case c.handlers <- struct{}{}:
	case <-c.done:
		return
	}
	go func() {
		defer func() { <-c.handlers }()
		c.serve(r.h, req)
	}()
}

func (c *Conn) serve(h HandlerFunc, req *Command) {
	defer func() {
		if p := recover(); p != nil {
			c.opts.logger.Error("request handler panicked", "code", req.Code, "remote", c.RemoteAddr().String(), "panic", p)
			c.Reply(req, req.NewResponse(codeSystemError, fmt.Sprintf("internal error serving code %d", req.Code)))
		}
	}()
	resp, err := h(c, req)
	if err != nil {
		resp = ErrorResponse(req, err)
	}
	if resp != nil {
		c.Reply(req, resp)
	}
}

// ErrorResponse turns err into a response to req: a *CodeError keeps its
// code and remark, anything else is SYSTEM_ERROR.
func ErrorResponse(req *Command, err error) *Command {
	var ce *CodeError
	if errors.As(err, &ce) {
		return req.NewResponse(ce.Code, ce.Remark)
	}
	return req.NewResponse(codeSystemError, err.Error())
}

// Reply sends resp as the response to req. Replies to oneway requests are
// dropped. It never blocks.
func (c *Conn) Reply(req *Command, resp *Command) {
	if req.IsOneway() {
		return
	}
	resp.Opaque = req.Opaque
	resp.Flag |= FlagResponse
	resp.Serialize = req.Serialize
	_ = c.enqueue(resp)
}

func (c *Conn) enqueue(cmd *Command) error {
	size := 64 + len(cmd.Body) + len(cmd.Remark)
	for _, f := range cmd.ExtFields {
		size += len(f.Key) + len(f.Value) + 8
	}
	if size > MaxFrameSize {
		return fmt.Errorf("%w: frame of about %d bytes exceeds %d", ErrFrame, size, MaxFrameSize)
	}
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return ErrClosed
	}
	if c.opts.maxQueuedBytes > 0 && c.queuedBytes+size > c.opts.maxQueuedBytes && len(c.queue) > 0 {
		c.wmu.Unlock()
		c.opts.logger.Warn("closing connection: peer does not read", "remote", c.RemoteAddr().String(), "queued_bytes", c.queuedBytes)
		c.closeWith(ErrSlowReader)
		return ErrSlowReader
	}
	c.queue = append(c.queue, cmd)
	c.queuedBytes += size
	c.wmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var scratch []byte
	var spare []*Command
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.wmu.Lock()
		batch := c.queue
		c.queue = spare[:0]
		c.queuedBytes = 0
		c.wmu.Unlock()
		if c.opts.writeTimeout > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.opts.writeTimeout))
		}
		var err error
		for i, cmd := range batch {
			if err == nil {
				scratch, err = c.writeFrame(bw, scratch[:0], cmd)
			}
			batch[i] = nil
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			c.opts.logger.Info("closing connection: write failed", "remote", c.RemoteAddr().String(), "err", err)
			c.closeWith(fmt.Errorf("%w: %v", ErrClosed, err))
			return
		}
		spare = batch
	}
}

func (c *Conn) writeFrame(bw *bufio.Writer, scratch []byte, cmd *Command) ([]byte, error) {
	st := c.opts.serialize
	if cmd.IsResponse() {
		st = cmd.Serialize // a reply speaks the request's encoding
	}
	scratch, err := appendFrameHead(scratch, cmd, st)
	if err != nil {
		c.opts.logger.Error("dropping unencodable frame", "code", cmd.Code, "err", err)
		return scratch, nil
	}
	if _, err := bw.Write(scratch); err != nil {
		return scratch, err
	}
	_, err = bw.Write(cmd.Body)
	return scratch, err
}

// ---- outgoing requests ----

func (c *Conn) register(cmd *Command, cl *call) error {
	cmd.Opaque = opaqueSeq.Add(1)
	cmd.Flag &^= FlagResponse
	c.pmu.Lock()
	select {
	case <-c.done:
		c.pmu.Unlock()
		return ErrClosed
	default:
	}
	c.pending[cmd.Opaque] = cl
	c.pmu.Unlock()
	return nil
}

func (c *Conn) take(opaque int32) *call {
	c.pmu.Lock()
	cl := c.pending[opaque]
	delete(c.pending, opaque)
	c.pmu.Unlock()
	return cl
}

func (c *Conn) complete(resp *Command) {
	cl := c.take(resp.Opaque)
	if cl == nil {
		return // late reply to a call that timed out
	}
	c.finish(cl, resp, nil)
}

func (c *Conn) finish(cl *call, resp *Command, err error) {
	if cl.cb != nil {
		cl.cb(resp, err)
		return
	}
	if err == nil {
		cl.ch <- resp
	} else {
		close(cl.ch)
	}
}

// Invoke sends req and waits for its response until ctx is done.
func (c *Conn) Invoke(ctx context.Context, req *Command) (*Command, error) {
	cl := &call{ch: make(chan *Command, 1)}
	if err := c.register(req, cl); err != nil {
		return nil, err
	}
	if err := c.enqueue(req); err != nil {
		c.take(req.Opaque)
		return nil, err
	}
	select {
	case resp, ok := <-cl.ch:
		if !ok {
			return nil, c.closedErr()
		}
		return resp, nil
	case <-ctx.Done():
		if c.take(req.Opaque) == nil {
			// The response or a close raced with the deadline; prefer it.
			if resp, ok := <-cl.ch; ok {
				return resp, nil
			}
			return nil, c.closedErr()
		}
		return nil, fmt.Errorf("%w: code %d to %s: %v", ErrTimeout, req.Code, c.RemoteAddr(), ctx.Err())
	}
}

func (c *Conn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// InvokeAsync sends req and calls cb with the response, or with an error on
// timeout or close. cb runs on the connection's read loop (or its deadline
// sweeper) and must not block; callbacks of one connection run in response
// order.
func (c *Conn) InvokeAsync(req *Command, timeout time.Duration, cb func(*Command, error)) error {
	cl := &call{cb: cb, code: req.Code, timeout: timeout}
	if err := c.register(req, cl); err != nil {
		return err
	}
	c.deadlines.add(c, req.Opaque, time.Now().Add(timeout))
	if err := c.enqueue(req); err != nil {
		c.take(req.Opaque)
		return err
	}
	return nil
}

// expire fails the async call opaque with ErrTimeout if it is still pending.
func (c *Conn) expire(opaque int32) {
	if cl := c.take(opaque); cl != nil {
		cl.cb(nil, fmt.Errorf("%w: code %d to %s after %v", ErrTimeout, cl.code, c.RemoteAddr(), cl.timeout))
	}
}

// InvokeOneway sends req without waiting for, or accepting, a response.
func (c *Conn) InvokeOneway(req *Command) error {
	req.Opaque = opaqueSeq.Add(1)
	req.Flag = (req.Flag | FlagOneway) &^ FlagResponse
	return c.enqueue(req)
}

// Send sends a request without registering for a response (flag 0). Brokers
// use it for notifications that Apache RocketMQ clients expect as ordinary
// requests but never answer, such as NOTIFY_CONSUMER_IDS_CHANGED.
func (c *Conn) Send(req *Command) error {
	req.Opaque = opaqueSeq.Add(1)
	req.Flag &^= FlagResponse
	return c.enqueue(req)
}
