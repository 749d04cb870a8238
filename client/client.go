package client

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// Client is a process's connection to one cluster: one multiplexed
// connection per server address, the topic route cache, the heartbeat and
// route-refresh timers, and the registry of producer and consumer groups
// that heartbeats announce. Producers, consumers and Admin share a Client,
// or create a private one when none is given. It is safe for concurrent
// use.
type Client struct {
	opts   Options
	id     string
	log    *slog.Logger
	rc     *remoting.Client
	routes *routeTable
	ids    *message.UniqIDGenerator
	stats  counters

	mu        sync.Mutex
	producers map[string]int // group -> number of producers
	consumers map[string]member
	closed    bool

	hbMu sync.Mutex // one heartbeat round at a time
	stop chan struct{}
	wg   sync.WaitGroup
}

// member is a consumer registered with a Client.
type member interface {
	consumerData() protocol.ConsumerData
	// requestRebalance asks for a rebalance soon; it never blocks.
	requestRebalance()
}

// NewClient validates opts and starts a client: its route refresh and
// heartbeat timers run until Close. No connection is made until needed.
func NewClient(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		opts:      opts,
		id:        opts.clientID(),
		producers: make(map[string]int),
		consumers: make(map[string]member),
		stop:      make(chan struct{}),
	}
	c.log = opts.Logger.With("client", c.id)
	ip, _ := netip.ParseAddr(opts.ClientIP)
	c.ids = message.NewUniqIDGenerator(ip, os.Getpid())
	c.routes = newRouteTable(c)
	mux := remoting.NewMux()
	mux.HandleInline(protocol.NotifyConsumerIDsChanged, c.handleConsumerIDsChanged)
	ro := remoting.DefaultClientOptions()
	ro.DialTimeout = opts.DialTimeout
	ro.Mux = mux
	ro.Logger = c.log
	c.rc = remoting.NewClient(ro)
	c.wg.Add(2)
	go c.loop(opts.RouteRefreshInterval, opts.RouteRefreshInterval, func(ctx context.Context) { c.routes.refreshAll(ctx) })
	go c.loop(time.Second, opts.HeartbeatInterval, c.heartbeat)
	return c, nil
}

// implicitSeq numbers the clients that producers and consumers create for
// themselves, so each gets its own client id.
var implicitSeq atomic.Int64

// ownClient returns shared when it is set, else a new client from opts
// with a unique instance name; owned tells the caller to close it.
func ownClient(shared *Client, opts Options) (c *Client, owned bool, err error) {
	if shared != nil {
		return shared, false, nil
	}
	if opts.InstanceName == "" && opts.ClientID == "" {
		opts.InstanceName = strconv.FormatInt(implicitSeq.Add(1), 10)
	}
	c, err = NewClient(opts)
	return c, err == nil, err
}

// ID returns the client id ("ip@pid[@instance]") brokers know it by.
func (c *Client) ID() string { return c.id }

// Stats returns the counters of every producer and consumer on the client.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// Close stops the timers and closes every connection. Shut producers and
// consumers down first; it is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	return c.rc.Close()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// loop runs fn after first and then every interval until Close.
func (c *Client) loop(first, interval time.Duration, fn func(context.Context)) {
	defer c.wg.Done()
	runTimer(c.stop, nil, first, 2*c.opts.RPCTimeout, func(ctx context.Context) time.Duration {
		fn(ctx)
		return interval
	})
}

// runTimer calls fn after first, then again after the delay fn returns (or
// as soon as wake fires), until stop is closed. Each call gets a context
// bounded by timeout.
func runTimer(stop, wake <-chan struct{}, first, timeout time.Duration, fn func(context.Context) time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-wake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		next := fn(ctx)
		cancel()
		t.Reset(next)
	}
}

// invoke sends req and waits for the response, bounded by ctx or, when ctx
// has no deadline, by RPCTimeout.
func (c *Client) invoke(ctx context.Context, addr string, req *remoting.Command) (*remoting.Command, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.RPCTimeout)
		defer cancel()
	}
	resp, err := c.rc.Invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return resp, nil
}

// call invokes req and turns a response code outside ok (Success when
// empty) into a *BrokerError.
func (c *Client) call(ctx context.Context, op, addr string, req *remoting.Command, ok ...int16) (*remoting.Command, error) {
	resp, err := c.invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := responseError(op, addr, resp, ok...); err != nil {
		return resp, err
	}
	return resp, nil
}

func (c *Client) registerProducer(group string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrShutdown
	}
	c.producers[group]++
	return nil
}

func (c *Client) unregisterProducer(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.producers[group]--; c.producers[group] <= 0 {
		delete(c.producers, group)
	}
}

func (c *Client) registerConsumer(group string, m member) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrShutdown
	}
	if _, ok := c.consumers[group]; ok {
		return fmt.Errorf("%w: %s on %s", ErrGroupInUse, group, c.id)
	}
	c.consumers[group] = m
	return nil
}

// unregisterConsumer forgets group and tells the brokers at once
// (UNREGISTER_CLIENT), so the other members of the group rebalance now
// rather than when this client's heartbeat expires.
func (c *Client) unregisterConsumer(ctx context.Context, group string) {
	c.mu.Lock()
	delete(c.consumers, group)
	others := len(c.consumers) > 0 || len(c.producers) > 0
	c.mu.Unlock()
	fields := remoting.Fields{{Key: "clientID", Value: c.id}, {Key: "consumerGroup", Value: group}}
	var wg sync.WaitGroup
	for _, addr := range c.routes.brokerAddrs(true) {
		wg.Go(func() {
			req := remoting.NewRequest(protocol.UnregisterClient, fields, nil)
			if _, err := c.call(ctx, "unregister client", addr, req); err != nil {
				c.log.Debug("unregister client failed", "group", group, "broker", addr, "err", err)
			}
		})
	}
	wg.Wait()
	if others {
		// Some brokers drop every registration of the connection on
		// UNREGISTER_CLIENT; announce the remaining groups again.
		c.heartbeat(ctx)
	}
}

func (c *Client) members() []member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]member, 0, len(c.consumers))
	for _, m := range c.consumers {
		out = append(out, m)
	}
	return out
}

// routeChanged asks every consumer to rebalance when a route changed.
func (c *Client) routeChanged(topic string) {
	for _, m := range c.members() {
		m.requestRebalance()
	}
}

// handleConsumerIDsChanged serves NOTIFY_CONSUMER_IDS_CHANGED (40): a
// member joined or left a group, so rebalance now. It is never answered.
func (c *Client) handleConsumerIDsChanged(_ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	group := req.ExtFields.Value("consumerGroup")
	c.mu.Lock()
	m := c.consumers[group]
	c.mu.Unlock()
	if m != nil {
		c.log.Debug("consumer ids changed", "group", group)
		m.requestRebalance()
	}
	return nil, nil
}
