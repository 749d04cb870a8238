package remoting

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// DialTimeout bounds connecting (3 s default).
	DialTimeout time.Duration
	// WriteTimeout bounds one flush of queued requests (30 s default).
	WriteTimeout time.Duration
	// MaxQueuedBytes closes a connection whose unsent requests exceed this
	// many bytes (256 MiB default).
	MaxQueuedBytes int
	// Serialize is the header encoding of requests. Sluice's servers and
	// Apache RocketMQ's decode both; ROCKETMQ (binary) is cheaper to decode.
	Serialize SerializeType
	// Mux serves requests the server sends to the client (e.g.
	// NOTIFY_CONSUMER_IDS_CHANGED); nil answers them all with
	// REQUEST_CODE_NOT_SUPPORTED.
	Mux *Mux
	// Logger receives connection events; slog.Default() when nil.
	Logger *slog.Logger
	// OnClose observes connections closing (e.g. to drop cached state).
	OnClose func(addr string, c *Conn, reason error)
}

// DefaultClientOptions returns the client defaults.
func DefaultClientOptions() ClientOptions {
	return ClientOptions{
		DialTimeout:    3 * time.Second,
		WriteTimeout:   30 * time.Second,
		MaxQueuedBytes: 256 << 20,
		Serialize:      SerializeRocketMQ,
	}
}

// Client keeps one connection per address and multiplexes requests over it,
// as Apache RocketMQ's clients do.
type Client struct {
	opts ClientOptions

	mu      sync.Mutex
	conns   map[string]*Conn
	dialing map[string]*dial
	closed  bool
}

type dial struct {
	done chan struct{}
	conn *Conn
	err  error
}

// NewClient returns a client; connections are made on first use.
func NewClient(opts ClientOptions) *Client {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 3 * time.Second
	}
	return &Client{opts: opts, conns: make(map[string]*Conn), dialing: make(map[string]*dial)}
}

// Conn returns the open connection to addr, dialing it if needed. Concurrent
// callers share one dial.
func (cl *Client) Conn(ctx context.Context, addr string) (*Conn, error) {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, ErrClosed
	}
	if c := cl.conns[addr]; c != nil {
		cl.mu.Unlock()
		return c, nil
	}
	d := cl.dialing[addr]
	if d == nil {
		d = &dial{done: make(chan struct{})}
		cl.dialing[addr] = d
		go cl.dial(addr, d)
	}
	cl.mu.Unlock()
	select {
	case <-d.done:
		return d.conn, d.err
	case <-ctx.Done():
		return nil, fmt.Errorf("connect %s: %w", addr, ctx.Err())
	}
}

func (cl *Client) dial(addr string, d *dial) {
	nc, err := net.DialTimeout("tcp", addr, cl.opts.DialTimeout)
	var c *Conn
	if err == nil {
		c = newConn(nc, cl.opts.Mux, &connOptions{
			serialize:      cl.opts.Serialize,
			writeTimeout:   cl.opts.WriteTimeout,
			maxQueuedBytes: cl.opts.MaxQueuedBytes,
			logger:         cl.opts.Logger,
			onClose: func(c *Conn, reason error) {
				cl.forget(addr, c)
				if cl.opts.OnClose != nil {
					cl.opts.OnClose(addr, c, reason)
				}
			},
		})
		c.start()
	} else {
		err = fmt.Errorf("connect %s: %w", addr, err)
	}
	cl.mu.Lock()
	delete(cl.dialing, addr)
	if c != nil {
		if cl.closed {
			err = ErrClosed
		} else {
			cl.conns[addr] = c
		}
	}
	cl.mu.Unlock()
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	d.conn, d.err = c, err
	close(d.done)
}

func (cl *Client) forget(addr string, c *Conn) {
	cl.mu.Lock()
	if cl.conns[addr] == c {
		delete(cl.conns, addr)
	}
	cl.mu.Unlock()
}

// Invoke sends req to addr and waits for the response until ctx is done.
func (cl *Client) Invoke(ctx context.Context, addr string, req *Command) (*Command, error) {
	c, err := cl.Conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	return c.Invoke(ctx, req)
}

// InvokeAsync sends req to addr and calls cb with the outcome. cb must not
// block (see Conn.InvokeAsync). Dialing, if needed, is bounded by timeout.
func (cl *Client) InvokeAsync(addr string, req *Command, timeout time.Duration, cb func(*Command, error)) error {
	c := cl.openConn(addr)
	if c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var err error
		if c, err = cl.Conn(ctx, addr); err != nil {
			return err
		}
	}
	return c.InvokeAsync(req, timeout, cb)
}

// openConn returns the open connection to addr, or nil.
func (cl *Client) openConn(addr string) *Conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.conns[addr]
}

// InvokeOneway sends req to addr without a response.
func (cl *Client) InvokeOneway(ctx context.Context, addr string, req *Command) error {
	c, err := cl.Conn(ctx, addr)
	if err != nil {
		return err
	}
	return c.InvokeOneway(req)
}

// CloseConn closes the connection to addr, if any.
func (cl *Client) CloseConn(addr string) {
	cl.mu.Lock()
	c := cl.conns[addr]
	cl.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Close closes every connection. It is idempotent.
func (cl *Client) Close() error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	cl.closed = true
	conns := make([]*Conn, 0, len(cl.conns))
	for _, c := range cl.conns {
		conns = append(conns, c)
	}
	cl.mu.Unlock()
	for _, c := range conns {
		c.Close()
		c.wait()
	}
	return nil
}
