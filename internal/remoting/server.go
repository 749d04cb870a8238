package remoting

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ServerOptions configures a Server.
type ServerOptions struct {
	// Listen is the TCP address to bind, e.g. "127.0.0.1:0".
	Listen string
	// IdleTimeout closes a connection that sent no complete frame for this
	// long (120 s default, as Apache RocketMQ). Zero disables it.
	IdleTimeout time.Duration
	// WriteTimeout bounds one flush of queued replies (30 s default).
	WriteTimeout time.Duration
	// MaxQueuedBytes closes a connection whose unsent replies exceed this
	// many bytes (256 MiB default): a peer that stops reading must not make
	// the server buffer without bound.
	MaxQueuedBytes int
	// Serialize is the header encoding of server-initiated requests (JSON
	// default, as Apache RocketMQ). Replies use their request's encoding.
	Serialize SerializeType
	// Logger receives connection events; slog.Default() when nil.
	Logger *slog.Logger
	// OnConnect and OnClose observe the connection life cycle. OnClose runs
	// once per connection with the reason it closed.
	OnConnect func(*Conn)
	OnClose   func(*Conn, error)
}

// DefaultServerOptions returns the defaults for listen.
func DefaultServerOptions(listen string) ServerOptions {
	return ServerOptions{
		Listen:         listen,
		IdleTimeout:    120 * time.Second,
		WriteTimeout:   30 * time.Second,
		MaxQueuedBytes: 256 << 20,
		Serialize:      SerializeJSON,
	}
}

// Server accepts remoting connections and serves them with a Mux.
type Server struct {
	ln    net.Listener
	mux   *Mux
	opts  ServerOptions
	copts *connOptions

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool

	done chan struct{}
	wg   sync.WaitGroup
}

// Listen binds the server's address. Call Serve to accept connections.
func Listen(opts ServerOptions, mux *Mux) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", opts.Listen, err)
	}
	s := &Server{
		ln:    ln,
		mux:   mux,
		opts:  opts,
		conns: make(map[*Conn]struct{}),
		done:  make(chan struct{}),
	}
	s.copts = &connOptions{
		serialize:      opts.Serialize,
		writeTimeout:   opts.WriteTimeout,
		maxQueuedBytes: opts.MaxQueuedBytes,
		logger:         opts.Logger,
		onClose:        s.forget,
	}
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve() error {
	if s.opts.IdleTimeout > 0 {
		s.wg.Add(1)
		go s.reapIdle()
	}
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		s.accept(nc)
	}
}

func (s *Server) accept(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	c := newConn(nc, s.mux, s.copts)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// OnConnect runs before the loops start, so it always precedes OnClose.
	if s.opts.OnConnect != nil {
		s.opts.OnConnect(c)
	}
	c.start()
}

func (s *Server) forget(c *Conn, reason error) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if s.opts.OnClose != nil {
		s.opts.OnClose(c, reason)
	}
}

func (s *Server) reapIdle() {
	defer s.wg.Done()
	tick := max(s.opts.IdleTimeout/4, 10*time.Millisecond)
	t := time.NewTicker(min(tick, time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			limit := now.Add(-s.opts.IdleTimeout).UnixNano()
			for _, c := range s.Conns() {
				if c.lastRead.Load() < limit {
					s.opts.Logger.Info("closing idle connection", "remote", c.RemoteAddr().String(), "idle_timeout", s.opts.IdleTimeout)
					c.closeWith(fmt.Errorf("%w: idle for %v", ErrClosed, s.opts.IdleTimeout))
				}
			}
		}
	}
}

// Conns returns the open connections.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Close stops accepting, closes every connection and waits for their loops.
// Handlers already running may still be finishing; their replies are
// dropped. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.closeWith(ErrClosed)
		c.wait()
	}
	s.wg.Wait()
	return err
}
