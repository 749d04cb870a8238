package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/ha"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/remoting"
)

// Broker is one broker of a broker set: it stores messages in a CommitLog,
// serves producers and consumers over Apache RocketMQ's remoting protocol
// and registers its topics with NameServers.
type Broker struct {
	opts   Options
	logger *slog.Logger

	store  *store.Store
	server *remoting.Server
	peers  *remoting.Client // to NameServers and, on a slave, to its master

	addr      string         // advertised ip:port
	storeHost netip.AddrPort // STOREHOST of records
	uniq      *message.UniqIDGenerator

	topics  *TopicTable
	groups  *GroupTable
	offsets *OffsetTable
	clients *ClientTable
	locks   *LockTable
	holds   *pullHolds
	delays  *delayService

	epochs   *ha.EpochFile
	haMaster *ha.Master // masters
	haSlave  *ha.Slave  // slaves

	registerNow   chan struct{}
	syncNow       chan struct{}
	started       time.Time
	learnedMaster atomic.Pointer[masterInfo] // a slave's master, from the NameServers
	done          chan struct{}
	wg            sync.WaitGroup
	loopMu        sync.Mutex
	loopsClosed   bool // under loopMu: goLoop starts nothing more
	closeOnce     sync.Once
	closeErr      error
	stats         brokerStats
}

// New opens the broker's store and metadata and binds its listener. Call
// Run to serve.
func New(opts Options) (*Broker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("broker options: %w", err)
	}
	b := &Broker{
		opts:        opts,
		logger:      opts.Logger.With("broker", opts.BrokerName, "broker_id", opts.BrokerID),
		clients:     newClientTable(),
		locks:       newLockTable(opts.QueueLockExpiry),
		registerNow: make(chan struct{}, 1),
		syncNow:     make(chan struct{}, 1),
		started:     time.Now(),
		done:        make(chan struct{}),
	}
	if err := b.openMetadata(); err != nil {
		return nil, err
	}
	if err := b.openStore(); err != nil {
		return nil, err
	}
	if err := b.listen(); err != nil {
		b.store.Close()
		return nil, err
	}
	if err := b.openReplication(); err != nil {
		b.server.Close()
		b.store.Close()
		return nil, err
	}
	b.holds = newPullHolds(b)
	b.delays = newDelayService(b, filepath.Join(opts.DataDir, "config", "delayOffset.json"))
	if err := b.delays.load(); err != nil {
		b.closeReplication()
		b.server.Close()
		b.store.Close()
		return nil, err
	}
	b.store.OnDispatch(b.holds.notify)
	b.peers = remoting.NewClient(remoting.ClientOptions{
		DialTimeout: 3 * time.Second, WriteTimeout: 30 * time.Second, MaxQueuedBytes: 64 << 20,
		Serialize: remoting.SerializeJSON, Logger: b.logger,
	})
	return b, nil
}

func (b *Broker) openMetadata() error {
	dir := filepath.Join(b.opts.DataDir, "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	now := func() int64 { return b.opts.Now().UnixMilli() }
	var err error
	if b.topics, err = loadTopicTable(filepath.Join(dir, "topics.json"), now); err != nil {
		return err
	}
	if err = b.topics.ensureSystemTopics(b.opts.AutoCreateTopic, b.opts.DefaultTopicQueueNums); err != nil {
		return err
	}
	b.topics.onChange = b.requestRegister
	if b.groups, err = loadGroupTable(filepath.Join(dir, "subscriptionGroup.json")); err != nil {
		return err
	}
	b.offsets, err = loadOffsetTable(filepath.Join(dir, "consumerOffset.json"))
	return err
}

func (b *Broker) openStore() error {
	so := b.opts.Store
	if so.Dir == "" {
		so.Dir = b.opts.DataDir
	}
	if so.Logger == nil {
		so.Logger = b.logger
	}
	if so.Now == nil {
		so.Now = b.opts.Now
	}
	st, err := store.Open(so)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	b.store = st
	return nil
}

func (b *Broker) listen() error {
	so := remoting.DefaultServerOptions(b.opts.Listen)
	so.IdleTimeout = b.opts.IdleTimeout
	so.Logger = b.logger
	so.OnClose = b.connClosed
	srv, err := remoting.Listen(so, b.routes())
	if err != nil {
		return err
	}
	addr, err := advertiseAddr(b.opts.AdvertiseAddr, srv.Addr())
	if err != nil {
		srv.Close()
		return err
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("advertise address %q: %w", addr, err)
	}
	b.server, b.addr, b.storeHost = srv, addr, ap
	b.uniq = message.NewUniqIDGenerator(ap.Addr(), os.Getpid())
	return nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.server.Addr() }

// AdvertisedAddr is the ip:port the broker registers with NameServers.
func (b *Broker) AdvertisedAddr() string { return b.addr }

// Store returns the broker's message store (for tests and tools).
func (b *Broker) Store() *store.Store { return b.store }

// Run serves until ctx is done or Close is called, then closes the broker.
func (b *Broker) Run(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- b.server.Serve() }()
	b.startBackground()
	b.logger.Info("broker started", "listen", b.server.Addr().String(), "advertise", b.addr,
		"role", b.opts.Role, "cluster", b.opts.ClusterName, "name_servers", b.opts.NameServers)
	var err error
	select {
	case <-ctx.Done():
	case <-b.done:
	case err = <-serveErr:
		if err != nil {
			err = fmt.Errorf("serve: %w", err)
		}
	}
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}

func (b *Broker) startBackground() {
	b.goLoop(b.registerLoop)
	b.goLoop(func() { b.every(b.opts.ClientScanInterval, b.expireClients) })
	b.goLoop(func() { b.every(b.opts.PullHoldCheckInterval, b.holds.answerExpired) })
	b.goLoop(b.delays.run)
	b.goLoop(func() { b.every(b.opts.MetadataFlushInterval, b.flushMetadata) })
	b.goLoop(b.metadataSyncLoop)
	b.goLoop(b.metadataWatchLoop)
	b.goLoop(b.runReplication)
	b.goLoop(func() { b.every(b.opts.ReplicationLogInterval, b.logReplication) })
}

func (b *Broker) goLoop(f func()) {
	// Close may already be waiting for the loops (a broker closed while
	// Run starts): then the loop is not started at all.
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	if b.loopsClosed {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
}

// Close shuts the broker down in order: stop accepting and serving
// requests, stop background work, unregister from NameServers, persist
// metadata, close the store. It is idempotent.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		close(b.done)
		var errs []error
		if err := b.server.Close(); err != nil {
			errs = append(errs, err)
		}
		b.closeReplication()
		b.loopMu.Lock()
		b.loopsClosed = true
		b.loopMu.Unlock()
		b.wg.Wait()
		b.unregisterAll()
		b.peers.Close()
		if err := b.offsets.Flush(); err != nil {
			errs = append(errs, err)
		}
		if err := b.delays.flush(); err != nil {
			errs = append(errs, err)
		}
		if err := b.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		if len(errs) > 0 {
			b.closeErr = fmt.Errorf("close broker: %v", errs)
		}
		b.logger.Info("broker stopped")
	})
	return b.closeErr
}

func (b *Broker) connClosed(c *remoting.Conn, reason error) {
	for _, g := range b.clients.RemoveConn(c) {
		b.notifyConsumersChanged(g)
	}
}

// every runs fn every interval until the broker closes.
func (b *Broker) every(interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
			fn()
		}
	}
}

func (b *Broker) expireClients() {
	for _, g := range b.clients.Expire(b.opts.Now().Add(-b.opts.ClientExpiry)) {
		b.logger.Info("consumer group member expired", "group", g)
		b.notifyConsumersChanged(g)
	}
}

func (b *Broker) flushMetadata() {
	if err := b.offsets.Flush(); err != nil {
		b.logger.Error("persist consumer offsets", "err", err)
	}
	if err := b.delays.flush(); err != nil {
		b.logger.Error("persist delay offsets", "err", err)
	}
}

func (b *Broker) isMaster() bool { return b.opts.BrokerID == 0 && b.opts.Role != RoleSlave }
