package namesrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("namesrv closed")

// NameServer serves the route table over Apache RocketMQ's remoting
// protocol. Several NameServers share nothing: brokers register with each.
type NameServer struct {
	opts  Options
	log   *slog.Logger
	table *RouteTable
	srv   *remoting.Server

	mu      sync.Mutex // guards started and closed against a racing Run and Close
	started bool
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup // the expiry scanner

	closeOnce sync.Once
	closeErr  error
}

// New validates opts and binds the listener; call Run to serve.
func New(opts Options) (*NameServer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ns := newNameServer(opts)
	sopts := remoting.DefaultServerOptions(opts.Listen)
	sopts.IdleTimeout = opts.IdleTimeout
	sopts.Logger = ns.log
	sopts.OnClose = ns.connClosed
	srv, err := remoting.Listen(sopts, ns.mux())
	if err != nil {
		return nil, fmt.Errorf("namesrv: %w", err)
	}
	ns.srv = srv
	return ns, nil
}

// newNameServer builds everything but the listener, so tests and fuzzers
// can call the handlers directly.
func newNameServer(opts Options) *NameServer {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NameServer{
		opts:    opts,
		log:     log,
		table:   NewRouteTable(opts.BrokerExpiry),
		closing: make(chan struct{}),
	}
}

// mux is the NameServer's dispatch table. Calls that change a broker's
// state run inline, in arrival order per connection, so a broker that
// unregisters one role and registers another is never seen reordered;
// lookups run concurrently.
func (ns *NameServer) mux() *remoting.Mux {
	m := remoting.NewMux()
	m.HandleInline(protocol.RegisterBroker, ns.handleRegister)
	m.HandleInline(protocol.UnregisterBroker, ns.handleUnregister)
	m.HandleInline(protocol.QueryDataVersion, ns.handleQueryDataVersion)
	m.Handle(protocol.GetRouteInfoByTopic, ns.handleRoute)
	m.Handle(protocol.GetBrokerClusterInfo, ns.handleClusterInfo)
	m.Handle(protocol.GetAllTopicListFromNameServer, ns.handleTopicList)
	m.Handle(protocol.DeleteTopicInNameServer, ns.handleDeleteTopic)
	m.Handle(protocol.UpdateNameServerConfig, ns.handleUpdateConfig)
	return m
}

// Addr is the bound address.
func (ns *NameServer) Addr() net.Addr { return ns.srv.Addr() }

// Stats returns the route table's gauges and counters.
func (ns *NameServer) Stats() Stats { return ns.table.Stats() }

// Run serves requests and expires silent brokers until ctx is done or Close
// is called, then closes the NameServer. It returns nil after a clean stop.
func (ns *NameServer) Run(ctx context.Context) error {
	ns.mu.Lock()
	switch {
	case ns.closed:
		ns.mu.Unlock()
		return ErrClosed
	case ns.started:
		ns.mu.Unlock()
		return errors.New("namesrv: Run called twice")
	}
	ns.started = true
	ns.wg.Go(ns.scanLoop)
	ns.mu.Unlock()

	serveErr := make(chan error, 1)
	go func() { serveErr <- ns.srv.Serve() }()
	ns.log.Info("name server serving", "addr", ns.Addr().String(),
		"broker_expiry", ns.opts.BrokerExpiry, "scan_interval", ns.opts.ScanInterval)
	var err error
	select {
	case <-ctx.Done():
	case <-ns.closing:
	case err = <-serveErr:
	}
	if cerr := ns.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops the NameServer: the listener and connections first, then the
// scanner. There is nothing to persist: brokers rebuild the state by
// registering. Close is idempotent and safe to call concurrently with Run.
func (ns *NameServer) Close() error {
	ns.closeOnce.Do(func() {
		ns.mu.Lock()
		ns.closed = true
		close(ns.closing)
		ns.mu.Unlock()
		ns.closeErr = ns.srv.Close()
		ns.wg.Wait()
		ns.log.Info("name server stopped", "addr", ns.Addr().String())
	})
	return ns.closeErr
}

func (ns *NameServer) scanLoop() {
	t := time.NewTicker(ns.opts.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-ns.closing:
			return
		case <-t.C:
			ns.expire()
		}
	}
}

// expire removes brokers that stopped registering. Their connections stay
// open: a broker that was only paused re-registers on the same connection,
// and a dead one's connection goes with the idle timeout.
func (ns *NameServer) expire() {
	now := ns.opts.Now()
	for _, b := range ns.table.Expire(now) {
		ns.log.Warn("broker expired: no registration in time",
			"cluster", b.Cluster, "broker_name", b.BrokerName, "broker_id", b.BrokerID,
			"broker_addr", b.BrokerAddr, "age", now.Sub(b.LastUpdate), "timeout", b.Timeout)
	}
}

// connClosed removes the brokers that registered over c, as soon as it
// closes, rather than waiting for them to expire.
func (ns *NameServer) connClosed(c *remoting.Conn, reason error) {
	select {
	case <-ns.closing:
		return // shutting down: the whole table goes anyway
	default:
	}
	for _, b := range ns.table.RemoveConnection(c) {
		ns.log.Info("broker connection closed: broker removed",
			"cluster", b.Cluster, "broker_name", b.BrokerName, "broker_id", b.BrokerID,
			"broker_addr", b.BrokerAddr, "remote", c.RemoteAddr().String(), "reason", reason)
	}
}
