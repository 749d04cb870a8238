package ha

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// slaveSession is one streaming connection of a Slave.
type slaveSession struct {
	s    *Slave
	c    net.Conn
	addr string
	done chan struct{}

	ackMu   sync.Mutex // one ack write at a time, offsets read under it
	ackBuf  [ackSize]byte
	writeDL idleDeadline // guarded by ackMu

	epoch      int64 // newest epoch recorded, cached
	epochStart int64
	hasEpoch   bool
}

func newSlaveSession(s *Slave, c net.Conn, addr string) *slaveSession {
	ss := &slaveSession{s: s, c: c, addr: addr, done: make(chan struct{})}
	if c != nil {
		ss.writeDL = idleDeadline{set: c.SetWriteDeadline, timeout: s.opts.IdleTimeout}
	}
	if last, ok := s.opts.Epochs.Last(); ok {
		ss.epoch, ss.epochStart, ss.hasEpoch = last.Epoch, last.StartOffset, true
	}
	return ss
}

// run acks the starting point, then reads frames until the connection
// fails, with a ticker acking at least every AckInterval.
func (ss *slaveSession) run() error {
	if err := ss.ack(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(ss.tick)
	err := ss.readFrames()
	close(ss.done)
	ss.c.Close()
	wg.Wait()
	return err
}

// tick acks every AckInterval (keeping the master's idle timer and lag
// view fresh while nothing arrives) and drops the connection when the
// master's address changes.
func (ss *slaveSession) tick() {
	t := time.NewTicker(ss.s.opts.AckInterval)
	defer t.Stop()
	for {
		select {
		case <-ss.done:
			return
		case <-t.C:
		}
		if addr := ss.s.opts.MasterAddr(); addr != ss.addr {
			ss.s.log.Info("ha master address changed; reconnecting", "old", ss.addr, "new", addr)
			ss.c.Close()
			return
		}
		if err := ss.ack(); err != nil {
			ss.c.Close()
			return
		}
	}
}

// ack sends the local log end. The end is read under ackMu so acks never
// go backwards on the wire.
func (ss *slaveSession) ack() error {
	ss.ackMu.Lock()
	defer ss.ackMu.Unlock()
	off := ss.s.st.MaxPhysicalOffset()
	putAck(ss.ackBuf[:], off)
	ss.writeDL.refresh()
	if _, err := ss.c.Write(ss.ackBuf[:]); err != nil {
		return fmt.Errorf("send ack: %w", err)
	}
	return nil
}

// readFrames appends data frames and acks once per batch: when no further
// frame is already buffered.
func (ss *slaveSession) readFrames() error {
	s := ss.s
	r := bufio.NewReaderSize(ss.c, 256<<10)
	var hb [dataHeaderSize]byte
	var data []byte
	dl := idleDeadline{set: ss.c.SetReadDeadline, timeout: s.opts.IdleTimeout}
	for {
		dl.refresh()
		if _, err := io.ReadFull(r, hb[:]); err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		h, err := decodeDataHeader(hb[:])
		if err != nil {
			return err
		}
		s.masterOffset.Store(h.MasterEnd)
		if end := s.st.MaxPhysicalOffset(); h.Offset != end {
			return fmt.Errorf("%w: frame at %d, local log ends at %d", ErrProtocol, h.Offset, end)
		}
		if h.Length == 0 {
			continue // heartbeat
		}
		if cap(data) < int(h.Length) {
			data = make([]byte, h.Length)
		}
		data = data[:h.Length]
		if _, err := io.ReadFull(r, data); err != nil {
			return fmt.Errorf("read frame data: %w", err)
		}
		if err := ss.recordEpoch(&h); err != nil {
			return err
		}
		if err := s.st.AppendRaw(h.Offset, data); err != nil {
			return err
		}
		if r.Buffered() == 0 {
			if err := ss.ack(); err != nil {
				return err
			}
		}
	}
}

// recordEpoch persists a new epoch before its first bytes are appended.
// An epoch older than the newest one recorded is a stale master (fenced);
// the same epoch with another start is a broken stream.
func (ss *slaveSession) recordEpoch(h *dataHeader) error {
	switch {
	case h.Epoch == 0:
		if ss.hasEpoch {
			return fmt.Errorf("%w: pre-term data at %d after epoch %d", ErrProtocol, h.Offset, ss.epoch)
		}
		return nil
	case ss.hasEpoch && h.Epoch == ss.epoch:
		if h.EpochStart != ss.epochStart {
			return fmt.Errorf("%w: epoch %d starts at %d, recorded %d", ErrProtocol, h.Epoch, h.EpochStart, ss.epochStart)
		}
		return nil
	case ss.hasEpoch && h.Epoch < ss.epoch:
		return fmt.Errorf("%w: data of epoch %d after epoch %d", ErrFenced, h.Epoch, ss.epoch)
	}
	if err := ss.s.opts.Epochs.Append(EpochEntry{Epoch: h.Epoch, StartOffset: h.EpochStart}); err != nil {
		return err
	}
	ss.s.log.Info("ha new epoch", "epoch", h.Epoch, "start", h.EpochStart)
	ss.epoch, ss.epochStart, ss.hasEpoch = h.Epoch, h.EpochStart, true
	return nil
}
