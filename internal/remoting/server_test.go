package remoting

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func startServer(t *testing.T, mux *Mux, tweak func(*ServerOptions)) *Server {
	t.Helper()
	opts := DefaultServerOptions("127.0.0.1:0")
	opts.Logger = testLogger(t)
	if tweak != nil {
		tweak(&opts)
	}
	s, err := Listen(opts, mux)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

func newTestClient(t *testing.T) *Client {
	opts := DefaultClientOptions()
	opts.Logger = testLogger(t)
	c := NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func echo(c *Conn, req *Command) (*Command, error) {
	resp := req.NewResponse(0, "")
	resp.ExtFields = Fields{{"echo", req.ExtFields.Value("v")}}
	resp.Body = req.Body
	return resp, nil
}

func TestRemotingServerUnknownCode(t *testing.T) {
	s := startServer(t, NewMux(), nil)
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		opts := DefaultClientOptions()
		opts.Serialize = st
		cl := NewClient(opts)
		defer cl.Close()
		resp, err := cl.Invoke(ctxT(t, 5*time.Second), s.Addr().String(), NewRequest(999, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != codeNotSupported || resp.Serialize != st {
			t.Fatalf("got %v in encoding %d, want code %d in the request's encoding %d", resp, resp.Serialize, codeNotSupported, st)
		}
	}
}

// TestRemotingHeldRequestDoesNotBlockOthers holds one request (like a long
// poll) while many others on the same connection are answered.
func TestRemotingHeldRequestDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	mux := NewMux()
	mux.Handle(11, func(c *Conn, req *Command) (*Command, error) {
		<-release
		return req.NewResponse(0, "held"), nil
	})
	mux.HandleInline(10, echo)
	s := startServer(t, mux, nil)
	cl := newTestClient(t)
	addr := s.Addr().String()

	heldDone := make(chan *Command, 1)
	if err := mustConn(t, cl, addr).InvokeAsync(NewRequest(11, nil, nil), 10*time.Second, func(r *Command, err error) {
		heldDone <- r
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		resp, err := cl.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(10, Fields{{"v", strconv.Itoa(i)}}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ExtFields.Value("echo") != strconv.Itoa(i) {
			t.Fatalf("reply %d carried %q", i, resp.ExtFields.Value("echo"))
		}
	}
	select {
	case <-heldDone:
		t.Fatal("held request answered before release")
	default:
	}
	close(release)
	select {
	case r := <-heldDone:
		if r == nil || r.Remark != "held" {
			t.Fatalf("held reply %v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held request never answered")
	}
}

func mustConn(t *testing.T, cl *Client, addr string) *Conn {
	c, err := cl.Conn(ctxT(t, 5*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRemotingInlineHandlersKeepOrder sends many async requests on one
// connection; inline handlers must see them in send order.
func TestRemotingInlineHandlersKeepOrder(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	mux := NewMux()
	mux.HandleInline(10, func(c *Conn, req *Command) (*Command, error) {
		n, _ := strconv.Atoi(req.ExtFields.Value("v"))
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
		return req.NewResponse(0, ""), nil
	})
	s := startServer(t, mux, nil)
	c := mustConn(t, newTestClient(t), s.Addr().String())
	const n = 2000
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		err := c.InvokeAsync(NewRequest(10, Fields{{"v", strconv.Itoa(i)}}, nil), 10*time.Second, func(*Command, error) { wg.Done() })
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seen {
		if v != i {
			t.Fatalf("request %d handled at position %d", v, i)
		}
	}
	if len(seen) != n {
		t.Fatalf("handled %d of %d", len(seen), n)
	}
}

func TestRemotingOnewayGetsNoReply(t *testing.T) {
	got := make(chan string, 2)
	mux := NewMux()
	mux.Handle(15, func(c *Conn, req *Command) (*Command, error) {
		got <- req.ExtFields.Value("v")
		return req.NewResponse(0, ""), nil
	})
	s := startServer(t, mux, nil)
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := NewRequest(15, Fields{{"v", "one"}}, nil)
	req.Flag = FlagOneway
	req.Opaque = 5
	frame, _ := AppendFrame(nil, req, SerializeJSON)
	ping := NewRequest(999, nil, nil)
	ping.Opaque = 6
	frame, _ = AppendFrame(frame, ping, SerializeJSON)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "one" {
		t.Fatalf("handler saw %q", v)
	}
	// The only reply must be the one to the ping.
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := ReadFrame(bufio.NewReader(nc))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Opaque != 6 || resp.Code != codeNotSupported {
		t.Fatalf("first reply %v, want the ping's", resp)
	}
}

// TestRemotingBadFrameClosesOnlyThatConnection sends garbage on one
// connection and checks another keeps working.
func TestRemotingBadFrameClosesOnlyThatConnection(t *testing.T) {
	mux := NewMux()
	mux.Handle(10, echo)
	s := startServer(t, mux, nil)
	good := newTestClient(t)
	addr := s.Addr().String()
	if _, err := good.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(10, nil, nil)); err != nil {
		t.Fatal(err)
	}
	for _, garbage := range [][]byte{
		binary.BigEndian.AppendUint32(nil, 0x7FFFFFFF),
		{0, 0, 0, 8, 9, 0, 0, 0, 1, 2, 3, 4},
		jsonFrame(`{"code":`, ""),
	} {
		bad, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		bad.Write(garbage)
		_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := bad.Read(make([]byte, 1)); err == nil {
			t.Fatal("server answered a malformed frame instead of closing")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("server kept the connection with a malformed frame open")
		}
		bad.Close()
	}
	if _, err := good.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(10, nil, nil)); err != nil {
		t.Fatalf("good connection broken by another's garbage: %v", err)
	}
}

func TestRemotingIdleTimeout(t *testing.T) {
	s := startServer(t, NewMux(), func(o *ServerOptions) { o.IdleTimeout = 200 * time.Millisecond })
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Half a frame, then silence: the idle timeout must close it.
	nc.Write([]byte{0, 0, 0, 100, 0})
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = nc.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection was not closed")
	}
	if err == nil {
		t.Fatal("expected the connection to be closed")
	}
}

func TestRemotingHandlerPanicIsContained(t *testing.T) {
	mux := NewMux()
	mux.Handle(1, func(c *Conn, req *Command) (*Command, error) { panic("boom") })
	mux.Handle(2, func(c *Conn, req *Command) (*Command, error) {
		return nil, Errorf(17, "topic %s not exist", "T")
	})
	mux.Handle(10, echo)
	s := startServer(t, mux, nil)
	cl := newTestClient(t)
	addr := s.Addr().String()
	resp, err := cl.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(1, nil, nil))
	if err != nil || resp.Code != codeSystemError {
		t.Fatalf("panic reply %v, %v", resp, err)
	}
	resp, err = cl.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(2, nil, nil))
	if err != nil || resp.Code != 17 || resp.Remark != "topic T not exist" {
		t.Fatalf("code error reply %v, %v", resp, err)
	}
	if _, err := cl.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(10, nil, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestRemotingClientTimeoutsAndClose(t *testing.T) {
	block := make(chan struct{})
	mux := NewMux()
	mux.Handle(11, func(c *Conn, req *Command) (*Command, error) {
		<-block
		return nil, nil
	})
	mux.Handle(10, echo)
	s := startServer(t, mux, nil)
	defer close(block)
	cl := newTestClient(t)
	addr := s.Addr().String()
	_, err := cl.Invoke(ctxT(t, 100*time.Millisecond), addr, NewRequest(11, nil, nil))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("sync err = %v, want ErrTimeout", err)
	}
	errs := make(chan error, 2)
	c := mustConn(t, cl, addr)
	c.InvokeAsync(NewRequest(11, nil, nil), 50*time.Millisecond, func(_ *Command, err error) { errs <- err })
	if err := <-errs; !errors.Is(err, ErrTimeout) {
		t.Fatalf("async err = %v, want ErrTimeout", err)
	}
	c.InvokeAsync(NewRequest(11, nil, nil), time.Minute, func(_ *Command, err error) { errs <- err })
	c.Close()
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending err after close = %v, want ErrClosed", err)
	}
	// A new call redials.
	if _, err := cl.Invoke(ctxT(t, 5*time.Second), addr, NewRequest(10, nil, nil)); err != nil {
		t.Fatalf("redial: %v", err)
	}
}

// TestRemotingServerToClientRequests covers requests the server initiates.
func TestRemotingServerToClientRequests(t *testing.T) {
	var serverConn atomic.Pointer[Conn]
	mux := NewMux()
	mux.Handle(34, func(c *Conn, req *Command) (*Command, error) {
		serverConn.Store(c)
		return req.NewResponse(0, ""), nil
	})
	s := startServer(t, mux, nil)
	got := make(chan string, 1)
	cmux := NewMux()
	cmux.Handle(40, func(c *Conn, req *Command) (*Command, error) {
		got <- req.ExtFields.Value("consumerGroup")
		return nil, nil
	})
	cmux.Handle(307, func(c *Conn, req *Command) (*Command, error) {
		return req.NewResponse(0, "running"), nil
	})
	opts := DefaultClientOptions()
	opts.Mux = cmux
	cl := NewClient(opts)
	defer cl.Close()
	if _, err := cl.Invoke(ctxT(t, 5*time.Second), s.Addr().String(), NewRequest(34, nil, nil)); err != nil {
		t.Fatal(err)
	}
	sc := serverConn.Load()
	if err := sc.Send(NewRequest(40, Fields{{"consumerGroup", "cg"}}, nil)); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "cg" {
		t.Fatalf("notification carried %q", g)
	}
	resp, err := sc.Invoke(ctxT(t, 5*time.Second), NewRequest(307, nil, nil))
	if err != nil || resp.Remark != "running" {
		t.Fatalf("server→client invoke: %v, %v", resp, err)
	}
}

func BenchmarkRemotingRoundTrip(b *testing.B) {
	mux := NewMux()
	mux.HandleInline(10, func(c *Conn, req *Command) (*Command, error) {
		resp := req.NewResponse(0, "")
		resp.ExtFields = Fields{{"msgId", "7F00000100002A9F0000000000000000"}, {"queueId", "1"}, {"queueOffset", "9"}}
		return resp, nil
	})
	opts := DefaultServerOptions("127.0.0.1:0")
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := Listen(opts, mux)
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	body := make([]byte, 1024)
	for _, inflight := range []int{1, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			cl := NewClient(DefaultClientOptions())
			defer cl.Close()
			c, err := cl.Conn(context.Background(), s.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			sem := make(chan struct{}, inflight)
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				sem <- struct{}{}
				wg.Add(1)
				req := NewRequest(10, Fields{{"topic", "T"}, {"queueId", "1"}}, body)
				if err := c.InvokeAsync(req, 10*time.Second, func(*Command, error) { <-sem; wg.Done() }); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// TestRemotingAsyncCallbackExactlyOnce checks that an answered async call
// is not also failed by its deadline, and an unanswered one fails once.
func TestRemotingAsyncCallbackExactlyOnce(t *testing.T) {
	mux := NewMux()
	mux.Handle(10, echo)
	mux.Handle(11, func(c *Conn, req *Command) (*Command, error) { return nil, nil }) // never answers
	s := startServer(t, mux, nil)
	c := mustConn(t, newTestClient(t), s.Addr().String())
	var answered, timedOut atomic.Int32
	for range 200 {
		c.InvokeAsync(NewRequest(10, nil, nil), 30*time.Millisecond, func(_ *Command, err error) {
			if err == nil {
				answered.Add(1)
			} else {
				timedOut.Add(1)
			}
		})
	}
	var silent atomic.Int32
	c.InvokeAsync(NewRequest(11, nil, nil), 30*time.Millisecond, func(_ *Command, err error) {
		if errors.Is(err, ErrTimeout) {
			silent.Add(1)
		}
	})
	time.Sleep(300 * time.Millisecond) // ten deadlines' worth: any double callback would show
	if answered.Load()+timedOut.Load() != 200 || silent.Load() != 1 {
		t.Fatalf("answered %d + timed out %d of 200; unanswered call failed %d times (want 1)",
			answered.Load(), timedOut.Load(), silent.Load())
	}
}

// TestRemotingInlineBatches pipelines requests on one connection: a batch
// handler sees them in order, in runs of more than one, and every request
// is answered.
func TestRemotingInlineBatches(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	largest := 0
	mux := NewMux()
	mux.HandleInlineBatch(func(c *Conn, reqs []*Command) {
		mu.Lock()
		largest = max(largest, len(reqs))
		for _, r := range reqs {
			n, _ := strconv.Atoi(r.ExtFields.Value("v"))
			seen = append(seen, n)
		}
		mu.Unlock()
		for _, r := range reqs {
			c.Reply(r, r.NewResponse(0, r.ExtFields.Value("v")))
		}
	}, 10, 310)
	mux.Handle(11, echo)
	s := startServer(t, mux, nil)
	c := mustConn(t, newTestClient(t), s.Addr().String())
	const n = 3000
	var wg sync.WaitGroup
	wg.Add(n)
	var wrong atomic.Int32
	for i := range n {
		code := int16(10)
		if i%7 == 0 {
			code = 310
		}
		if i%50 == 0 {
			code = 11 // another route in the middle ends a batch
		}
		req := NewRequest(code, Fields{{"v", strconv.Itoa(i)}}, make([]byte, 512))
		want := strconv.Itoa(i)
		if err := c.InvokeAsync(req, 10*time.Second, func(r *Command, err error) {
			if err != nil || (code != 11 && r.Remark != want) {
				wrong.Add(1)
			}
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if wrong.Load() > 0 {
		t.Fatalf("%d requests got a wrong or no reply", wrong.Load())
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("batch handler saw %d after %d", seen[i], seen[i-1])
		}
	}
	if len(seen) != n-n/50 || largest < 2 {
		t.Fatalf("batch handler saw %d requests, largest batch %d", len(seen), largest)
	}
}
