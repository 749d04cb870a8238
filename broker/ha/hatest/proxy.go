// Package hatest holds test helpers for replication: a TCP proxy that can
// pass, blackhole or cut the traffic between a slave and its master (or
// any two endpoints). It imports nothing of Sluice's.
//
//	p, _ := hatest.NewProxy(master.Addr().String())
//	defer p.Close()
//	// point the slave at p.Addr()
//	p.Block()     // bytes stop flowing both ways; connections stay open
//	p.Unblock()   // held bytes flow again, in order
//	p.DropConns() // close every proxied connection (peers see a reset/EOF)
package hatest

import (
	"errors"
	"net"
	"sync"
)

// Proxy forwards every connection accepted on Addr to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	gate   chan struct{} // non-nil while blocked; closed by Unblock
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewProxy listens on 127.0.0.1:0 and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Block stops forwarding in both directions, like a network that drops
// every packet: connections stay open, at most one read buffer per
// direction is held, and the senders' writes eventually block. New
// connections are accepted but not connected to the target until Unblock.
func (p *Proxy) Block() {
	p.mu.Lock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
	p.mu.Unlock()
}

// Unblock resumes forwarding; held bytes are delivered in order.
func (p *Proxy) Unblock() {
	p.mu.Lock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
	p.mu.Unlock()
}

// DropConns closes every proxied connection; the proxy keeps accepting.
func (p *Proxy) DropConns() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track registers c; false when the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// waitOpen blocks while the proxy is blocked; false when it closed.
func (p *Proxy) waitOpen() bool {
	for {
		p.mu.Lock()
		gate, closed := p.gate, p.closed
		p.mu.Unlock()
		if closed {
			return false
		}
		if gate == nil {
			return true
		}
		select {
		case <-gate:
		case <-p.done:
			return false
		}
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward connects c to the target (once unblocked) and pipes both ways.
func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	if !p.waitOpen() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		if server != nil {
			server.Close()
		}
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client) })
	p.pipe(client, server)
	wg.Wait()
}

// pipe copies src to dst through the gate; when either side fails both are
// closed, so the other pipe ends too.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
