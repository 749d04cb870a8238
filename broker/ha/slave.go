package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/store"
)

// Slave copies its master's commitlog into the local store: it connects,
// handshakes, cuts its log where the handshake says, then appends the data
// frames and acknowledges them, reconnecting after any failure.
type Slave struct {
	opts SlaveOptions
	log  *slog.Logger
	st   *store.Store

	mu      sync.Mutex
	conn    net.Conn // the current connection, closed by Close
	started bool
	closed  bool
	closing chan struct{}
	running sync.WaitGroup

	addr         atomic.Pointer[string]
	connected    atomic.Bool
	masterOffset atomic.Int64

	closeOnce sync.Once
}

// SlaveState is a snapshot of a Slave.
type SlaveState struct {
	// MasterAddr is the address of the current or last connection attempt.
	MasterAddr string
	// Connected: handshaken and streaming.
	Connected bool
	// Offset is the local log end (MaxPhysicalOffset).
	Offset int64
	// MasterOffset is the master's log end as of the last frame or
	// heartbeat; MasterOffset - Offset is the lag.
	MasterOffset int64
	// Epoch is the newest epoch in the local epoch file (0: none).
	Epoch int64
}

// NewSlave validates opts. Call Run to replicate.
func NewSlave(opts SlaveOptions) (*Slave, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Slave{opts: opts, log: loggerOrDiscard(opts.Logger), st: opts.Store, closing: make(chan struct{})}
	empty := ""
	s.addr.Store(&empty)
	return s, nil
}

// Status returns the slave's state.
func (s *Slave) Status() SlaveState {
	last, _ := s.opts.Epochs.Last()
	return SlaveState{
		MasterAddr: *s.addr.Load(), Connected: s.connected.Load(), Offset: s.st.MaxPhysicalOffset(),
		MasterOffset: s.masterOffset.Load(), Epoch: last.Epoch,
	}
}

// Run replicates until ctx is done or Close is called; it returns nil then.
// Failures (no master yet, refused handshake, protocol errors, a dropped
// connection) are logged and retried after ReconnectBackoff. Errors from
// the store (e.g. a failed write that made it read-only) are retried too,
// and logged at error level.
func (s *Slave) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.started:
		s.mu.Unlock()
		return errors.New("ha slave: Run called twice")
	}
	s.started = true
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	for ctx.Err() == nil {
		addr := s.opts.MasterAddr()
		if addr != "" {
			s.addr.Store(&addr)
			err := s.session(ctx, addr)
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, ErrRejected) || errors.Is(err, ErrFenced):
				s.log.Error("ha master refused replication", "master", addr, "err", err)
			case errors.Is(err, store.ErrServiceNotAvailable):
				s.log.Error("ha slave store failed", "master", addr, "err", err)
			default:
				s.log.Warn("ha connection to master ended", "master", addr, "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.opts.ReconnectBackoff):
		}
	}
	return nil
}

// session runs one connection: dial, handshake, stream.
func (s *Slave) session(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: s.opts.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return ErrClosed
	}
	s.conn = c
	s.mu.Unlock()
	defer func() {
		s.connected.Store(false)
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		c.Close()
	}()
	r, err := s.handshake(c)
	if err != nil {
		return err
	}
	if err := s.prepareLog(r); err != nil {
		return err
	}
	s.masterOffset.Store(r.MasterEnd)
	s.connected.Store(true)
	s.log.Info("ha replicating from master", "master", addr, "offset", r.StartOffset, "master_end", r.MasterEnd)
	sess := newSlaveSession(s, c, addr)
	return sess.run()
}

// handshake sends the hello and reads the reply.
func (s *Slave) handshake(c net.Conn) (*reply, error) {
	c.SetDeadline(time.Now().Add(s.opts.IdleTimeout))
	defer c.SetDeadline(time.Time{})
	h := &hello{
		BrokerName: s.opts.BrokerName, BrokerID: s.opts.BrokerID,
		MinOffset: s.st.MinPhysicalOffset(), EndOffset: s.st.MaxPhysicalOffset(),
		SegmentSize: s.st.SegmentSize(), Epochs: s.opts.Epochs.snapshot(),
	}
	if _, err := c.Write(encodeHello(h)); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	kind, version, body, err := readEnvelope(c)
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	if version != ProtocolVersion || kind != kindReply {
		return nil, fmt.Errorf("%w: reply of version %d kind %d", ErrProtocol, version, kind)
	}
	r, err := decodeReply(body)
	if err != nil {
		return nil, err
	}
	if !r.Accepted {
		return nil, fmt.Errorf("%w: %s", ErrRejected, r.Reason)
	}
	if n, last := len(r.Epochs), h.Epochs; n == 0 || (len(last) > 0 && last[len(last)-1].Epoch > r.Epochs[n-1].Epoch) {
		return nil, fmt.Errorf("%w: the master's newest epoch is older than ours", ErrFenced)
	}
	if r.TruncateTo > h.EndOffset || r.StartOffset > r.MasterEnd {
		return nil, fmt.Errorf("%w: resume point %d/%d outside our log end %d or the master's %d",
			ErrProtocol, r.TruncateTo, r.StartOffset, h.EndOffset, r.MasterEnd)
	}
	return r, nil
}

// prepareLog cuts the log as the master asked: the log first, then the
// epoch file (see the package doc, "Crash safety").
func (s *Slave) prepareLog(r *reply) error {
	end := s.st.MaxPhysicalOffset()
	switch {
	case r.Action == actionReset:
		s.log.Warn("ha resetting the log: nothing usable is common with the master", "offset", r.StartOffset,
			"divergence", r.TruncateTo, "old_min", s.st.MinPhysicalOffset(), "old_end", end)
		if err := s.st.ResetTo(r.StartOffset); err != nil {
			return err
		}
	case r.TruncateTo < end:
		s.log.Warn("ha truncating a divergent tail", "from", end, "to", r.TruncateTo)
		if err := s.st.TruncateReplica(r.TruncateTo); err != nil {
			return err
		}
	}
	if err := s.opts.Epochs.TruncateAfter(min(r.TruncateTo, r.StartOffset)); err != nil {
		return err
	}
	if got := s.st.MaxPhysicalOffset(); got != r.StartOffset {
		return fmt.Errorf("%w: log ends at %d after the handshake, master starts at %d", ErrProtocol, got, r.StartOffset)
	}
	return nil
}

// Close stops Run and waits for it, so the caller may close the store
// afterwards. It is idempotent.
func (s *Slave) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		if s.conn != nil {
			s.conn.Close()
		}
		s.mu.Unlock()
		s.running.Wait()
	})
	return nil
}
