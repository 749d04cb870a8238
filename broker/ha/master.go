package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/store"
)

// Master serves the commitlog to slaves, tracks their acknowledgements and
// answers WaitReplicated. It is safe for concurrent use.
type Master struct {
	opts MasterOptions
	log  *slog.Logger
	st   *store.Store
	ln   net.Listener

	mu      sync.Mutex
	started bool
	closed  bool
	open    map[net.Conn]struct{}        // every accepted connection, for Close
	slaves  map[int64]*slaveConn         // handshaken slaves by broker id
	live    atomic.Pointer[[]*slaveConn] // snapshot of slaves for Notify and acks

	waiters *waitQueue
	closing chan struct{}
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// SlaveStatus describes one connected slave.
//
// There is no lag in messages: commitlog offsets do not count records, and
// counting them would mean reading the lagging range.
type SlaveStatus struct {
	BrokerID   int64
	RemoteAddr string
	// StartOffset is where streaming began on this connection, after any
	// truncation the handshake asked for.
	StartOffset int64
	// AckedOffset is the slave's last acknowledged log end (written on the
	// slave, not necessarily fsynced: RocketMQ's semantics).
	AckedOffset int64
	// LagBytes is the master's log end minus AckedOffset.
	LagBytes int64
	// InSync: caught up with the master's end within NotInSyncAfter and at
	// most MaxLagInSync bytes behind.
	InSync  bool
	LastAck time.Time
	// Epoch is the epoch of the newest data sent to the slave.
	Epoch int64
}

// NewMaster validates opts and binds the listener; call Run to serve. The
// epoch file must already hold the current term (StartTerm) and its start
// must not lie beyond the store's end.
func NewMaster(opts MasterOptions) (*Master, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	last, ok := opts.Epochs.Last()
	if !ok {
		return nil, errors.New("ha master: no term started (call EpochFile.StartTerm first)")
	}
	if end := opts.Store.MaxPhysicalOffset(); last.StartOffset > end {
		return nil, fmt.Errorf("ha master: epoch %d starts at %d beyond the log end %d", last.Epoch, last.StartOffset, end)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("ha master: %w", err)
	}
	m := &Master{
		opts: opts, log: loggerOrDiscard(opts.Logger), st: opts.Store, ln: ln,
		open: map[net.Conn]struct{}{}, slaves: map[int64]*slaveConn{}, closing: make(chan struct{}),
	}
	m.live.Store(&[]*slaveConn{})
	m.waiters = newWaitQueue(opts.Now, m.ReplicatedOffset)
	return m, nil
}

// Addr is the bound HA address.
func (m *Master) Addr() net.Addr { return m.ln.Addr() }

// Run accepts slaves and answers WaitReplicated until ctx is done or Close
// is called, then closes the Master. It returns nil after a clean stop.
// WaitReplicated calls made before Run are answered once it starts.
func (m *Master) Run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.started:
		m.mu.Unlock()
		return errors.New("ha master: Run called twice")
	}
	m.started = true
	m.wg.Go(func() { m.waiters.run(m.closing) })
	m.mu.Unlock()

	acceptErr := make(chan error, 1)
	go func() { acceptErr <- m.acceptLoop() }()
	last, _ := m.opts.Epochs.Last()
	m.log.Info("ha master serving", "addr", m.Addr().String(), "broker", m.opts.BrokerName, "epoch", last.Epoch)
	var err error
	select {
	case <-ctx.Done():
	case <-m.closing:
	case err = <-acceptErr:
	}
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return err
}

func (m *Master) acceptLoop() error {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closing:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("ha master: accept: %w", err)
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			return nil
		}
		m.open[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go func() {
			defer m.wg.Done()
			m.serve(c)
		}()
	}
}

// serve runs one slave connection: handshake, then a sender goroutine and
// the ack reader here, until either fails.
func (m *Master) serve(c net.Conn) {
	defer func() {
		c.Close()
		m.mu.Lock()
		delete(m.open, c)
		m.mu.Unlock()
	}()
	sc, err := m.handshake(c)
	if err != nil {
		m.log.Warn("ha slave refused", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	m.register(sc)
	defer m.unregister(sc)
	m.log.Info("ha slave connected", "broker_id", sc.id, "remote", sc.remote, "start", sc.start)
	sendErr := make(chan error, 1)
	go func() { sendErr <- sc.send() }()
	err = sc.readAcks()
	c.Close() // stops the sender
	close(sc.done)
	if serr := <-sendErr; serr != nil && !isClosedErr(serr) {
		err = serr
	}
	if isClosedErr(err) {
		m.log.Info("ha slave disconnected", "broker_id", sc.id, "remote", sc.remote)
	} else {
		m.log.Warn("ha slave dropped", "broker_id", sc.id, "remote", sc.remote, "err", err)
	}
}

// isClosedErr reports an error that only says the connection went away.
func isClosedErr(err error) bool {
	return err == nil || errors.Is(err, net.ErrClosed)
}

// register adds sc, closing an older connection of the same broker id (a
// slave that reconnected before its old connection timed out).
func (m *Master) register(sc *slaveConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.slaves[sc.id]; old != nil {
		m.log.Warn("ha slave reconnected; closing its previous connection", "broker_id", sc.id, "old", old.remote, "new", sc.remote)
		old.c.Close()
	}
	m.slaves[sc.id] = sc
	m.publishLocked()
}

func (m *Master) unregister(sc *slaveConn) {
	m.mu.Lock()
	if m.slaves[sc.id] == sc {
		delete(m.slaves, sc.id)
		m.publishLocked()
	}
	m.mu.Unlock()
	m.waiters.signal()
}

func (m *Master) publishLocked() {
	l := make([]*slaveConn, 0, len(m.slaves))
	for _, sc := range m.slaves {
		l = append(l, sc)
	}
	slices.SortFunc(l, func(a, b *slaveConn) int { return int(a.id - b.id) })
	m.live.Store(&l)
}

// Notify wakes the senders after an append, so slaves get new data without
// waiting for the poll. The broker calls it after every put; it never
// blocks and costs one non-blocking channel send per slave.
func (m *Master) Notify() {
	for _, sc := range *m.live.Load() {
		select {
		case sc.wake <- struct{}{}:
		default:
		}
	}
}

// WaitReplicated calls done(nil) once acks distinct connected slaves have
// acknowledged at least end (a PutResult.End), or done(ErrReplicationTimeout)
// after timeout, or done(ErrClosed) when the Master closes first. It never
// blocks and never calls done on the caller's goroutine; done is called
// exactly once, on a Master goroutine (the reader of the ack that covers
// end, or the completer), with no Master lock held, and must not block.
// acks ≤ 0 is answered (with nil) at once. Cost: two heap operations, no
// timer.
func (m *Master) WaitReplicated(end int64, acks int, timeout time.Duration, done func(error)) {
	w := &waiter{end: end, acks: max(acks, 0), deadline: m.opts.Now().Add(timeout), done: done}
	if !m.waiters.add(w) {
		go done(ErrClosed)
	}
}

// ReplicatedOffset is the offset that acks connected slaves have all
// acknowledged: the acks-th highest acknowledged offset. acks ≤ 0 gives the
// master's own log end; fewer connected slaves than acks gives 0. Pass it
// to store.SetConfirmLimit to show consumers only replicated data.
func (m *Master) ReplicatedOffset(acks int) int64 {
	if acks <= 0 {
		return m.st.MaxPhysicalOffset()
	}
	live := *m.live.Load()
	if len(live) < acks {
		return 0
	}
	var buf [8]int64
	offs := buf[:0]
	for _, sc := range live {
		offs = append(offs, sc.acked.Load())
	}
	slices.Sort(offs)
	return offs[len(offs)-acks]
}

// Slaves returns the connected slaves, by broker id.
func (m *Master) Slaves() []SlaveStatus {
	live := *m.live.Load()
	out := make([]SlaveStatus, 0, len(live))
	end := m.st.MaxPhysicalOffset()
	now := m.opts.Now()
	for _, sc := range live {
		out = append(out, sc.status(end, now))
	}
	return out
}

// Close stops accepting, closes every slave connection, answers pending
// WaitReplicated calls with ErrClosed and waits for the goroutines. It is
// idempotent and safe to call concurrently with Run. The store and the
// epoch file stay open: they belong to the caller.
func (m *Master) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		close(m.closing)
		for c := range m.open {
			c.Close()
		}
		m.mu.Unlock()
		m.closeErr = m.ln.Close()
		if errors.Is(m.closeErr, net.ErrClosed) {
			m.closeErr = nil
		}
		m.wg.Wait()
		m.waiters.close(ErrClosed)
		m.log.Info("ha master stopped", "addr", m.Addr().String())
	})
	return m.closeErr
}
