package ha

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/message"
)

// slaveConn is the master's side of one slave connection.
type slaveConn struct {
	m       *Master
	c       net.Conn
	id      int64
	remote  string
	start   int64
	wake    chan struct{} // Notify
	done    chan struct{} // closed when the connection ends
	writeDL idleDeadline  // used by the sender only

	acked   atomic.Int64 // last valid ack
	sent    atomic.Int64 // end of the bytes handed to the socket
	epoch   atomic.Int64 // epoch of the newest data sent
	lastAck atomic.Int64 // Now() of the last ack, unix nanoseconds

	mu         sync.Mutex
	marks      []catchUpMark // oldest first, at most maxMarks
	caughtUpAt time.Time
}

// catchUpMark records that the master's log ended at end at time at; a
// slave acking end was caught up as of at.
type catchUpMark struct {
	end int64
	at  time.Time
}

// maxMarks bounds the marks kept per slave; a mark is taken at most every
// NotInSyncAfter/maxMarks, so they span the whole in-sync window.
const maxMarks = 128

// handshake reads the slave's hello, decides where it resumes and answers.
// Any refusal is answered with a reason when the peer speaks the protocol.
func (m *Master) handshake(c net.Conn) (*slaveConn, error) {
	c.SetDeadline(time.Now().Add(m.opts.IdleTimeout))
	kind, version, body, err := readEnvelope(c)
	if err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	reject := func(format string, args ...any) (*slaveConn, error) {
		reason := fmt.Sprintf(format, args...)
		c.Write(encodeReply(&reply{Reason: reason}))
		return nil, fmt.Errorf("%w: %s", ErrRejected, reason)
	}
	if version != ProtocolVersion {
		return reject("unsupported protocol version %d (this master speaks %d)", version, ProtocolVersion)
	}
	if kind != kindHello {
		return reject("expected a hello, got message kind %d", kind)
	}
	h, err := decodeHello(body)
	switch {
	case err != nil:
		return reject("malformed hello: %v", err)
	case h.BrokerName != m.opts.BrokerName:
		return reject("broker name %q does not match the master's %q", h.BrokerName, m.opts.BrokerName)
	case h.BrokerID <= 0:
		return reject("broker id %d is not a slave id", h.BrokerID)
	case h.SegmentSize != m.st.SegmentSize():
		return reject("segment size %d does not match the master's %d", h.SegmentSize, m.st.SegmentSize())
	}
	mEpochs := m.opts.Epochs.snapshot()
	mLast := mEpochs[len(mEpochs)-1]
	if n := len(h.Epochs); n > 0 && h.Epochs[n-1].Epoch > mLast.Epoch {
		return reject("fenced: slave has seen epoch %d, newer than the master's %d", h.Epochs[n-1].Epoch, mLast.Epoch)
	}
	mMin, mEnd := m.st.MinPhysicalOffset(), m.st.MaxPhysicalOffset()
	if mMin%m.st.SegmentSize() != 0 {
		return reject("master log starts at %d, not a segment boundary", mMin)
	}
	point := DivergencePoint(mEpochs, mEnd, h.Epochs, h.EndOffset)
	action, start := planResume(point, mMin, h.MinOffset, m.st.SegmentSize())
	r := &reply{Accepted: true, Action: action, TruncateTo: point, StartOffset: start,
		MasterMin: mMin, MasterEnd: mEnd, Epochs: mEpochs}
	if _, err := c.Write(encodeReply(r)); err != nil {
		return nil, fmt.Errorf("write reply: %w", err)
	}
	c.SetDeadline(time.Time{})
	if action == actionReset || point < h.EndOffset {
		m.log.Warn("ha slave must cut its log", "broker_id", h.BrokerID, "slave_end", h.EndOffset,
			"divergence", point, "reset", action == actionReset, "start", start)
	}
	sc := &slaveConn{m: m, c: c, id: h.BrokerID, remote: c.RemoteAddr().String(), start: start,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		writeDL: idleDeadline{set: c.SetWriteDeadline, timeout: m.opts.IdleTimeout}}
	sc.acked.Store(start)
	sc.sent.Store(start)
	sc.lastAck.Store(m.opts.Now().UnixNano())
	return sc, nil
}

// send streams the commitlog from sc.start: everything available up to
// BatchSize per write, woken by Notify or the poll, with a heartbeat when
// idle for HeartbeatInterval.
func (sc *slaveConn) send() error {
	m := sc.m
	poll := time.NewTicker(m.opts.PollInterval)
	defer poll.Stop()
	buf := make([]byte, m.opts.BatchSize+8*dataHeaderSize)
	off := sc.start
	lastWrite := time.Now()
	for {
		end := m.st.MaxPhysicalOffset()
		switch {
		case off > end:
			return fmt.Errorf("slave at %d is beyond the master's end %d", off, end)
		case off < end:
			n, next, err := sc.fill(&buf, off, end)
			if err != nil {
				return err
			}
			if err := sc.write(buf[:n], next, end); err != nil {
				return err
			}
			off, lastWrite = next, time.Now()
			continue
		case time.Since(lastWrite) >= m.opts.HeartbeatInterval:
			var hb [dataHeaderSize]byte
			epoch, start, _ := epochAt(m.opts.Epochs.snapshot(), off)
			putDataHeader(hb[:], &dataHeader{Offset: off, Epoch: epoch, EpochStart: start, MasterEnd: end})
			if err := sc.write(hb[:], off, end); err != nil {
				return err
			}
			lastWrite = time.Now()
		}
		select {
		case <-sc.done:
			return nil
		case <-sc.wake:
		case <-poll.C:
		}
	}
}

// write hands b, which ends the stream at next, to the socket.
func (sc *slaveConn) write(b []byte, next, end int64) error {
	sc.sent.Store(next) // before the write: the ack may overtake our return
	if next == end {
		sc.mark(end)
	}
	sc.writeDL.refresh()
	_, err := sc.c.Write(b)
	return err
}

// fill builds data frames for [off, end) into *buf, up to BatchSize bytes
// of data: one frame per stretch of one epoch within one segment. It
// returns the bytes used and the offset after them. Frames end on record
// boundaries (unless one record exceeds MaxFrameData) so the slave's
// dispatcher never waits on half a record.
func (sc *slaveConn) fill(buf *[]byte, off, end int64) (int, int64, error) {
	m := sc.m
	es := m.opts.Epochs.snapshot()
	b := *buf
	n, data := 0, 0
	for off < end && data < m.opts.BatchSize && len(b)-n > dataHeaderSize {
		epoch, start, nextEpoch := epochAt(es, off)
		limit := min(end, nextEpoch) - off
		want := min(limit, int64(m.opts.BatchSize-data), int64(len(b)-n-dataHeaderSize))
		k, err := m.st.ReadCommitLogInto(b[n+dataHeaderSize:n+dataHeaderSize+int(want)], off)
		if err != nil {
			return 0, 0, fmt.Errorf("read commitlog at %d for the slave: %w", off, err)
		}
		if int64(k) == want && want < limit {
			// Cut by the batch size: end on the last whole record.
			if whole := wholeRecords(b[n+dataHeaderSize : n+dataHeaderSize+k]); whole > 0 {
				k = whole
			} else if n > 0 {
				break // the next record starts the next write
			} else if k, err = sc.readRecord(buf, off); err != nil {
				return 0, 0, err
			} else {
				b = *buf
			}
		}
		putDataHeader(b[n:], &dataHeader{Offset: off, Epoch: epoch, EpochStart: start, MasterEnd: end, Length: uint32(k)})
		sc.epoch.Store(epoch)
		n += dataHeaderSize + k
		data += k
		off += int64(k)
	}
	return n, off, nil
}

// readRecord reads the whole record at off into a grown *buf (after room
// for one header), for a record larger than the batch. A record larger
// than MaxFrameData, or bytes that do not look like a record, are sent
// split at MaxFrameData instead.
func (sc *slaveConn) readRecord(buf *[]byte, off int64) (int, error) {
	b := *buf
	size := int64(MaxFrameData)
	if s, _, err := message.PeekSize(b[dataHeaderSize:]); err == nil && s > 0 && int64(s) <= MaxFrameData {
		size = int64(s)
	}
	if need := dataHeaderSize + int(size); need > len(b) {
		b = make([]byte, need)
		*buf = b
	}
	return sc.m.st.ReadCommitLogInto(b[dataHeaderSize:dataHeaderSize+int(size)], off)
}

// wholeRecords returns the length of the longest prefix of b made of whole
// records (END_FILE fillers count as one record reaching the segment end,
// which a read never crosses).
func wholeRecords(b []byte) int {
	p := 0
	for {
		size, _, err := message.PeekSize(b[p:])
		if err != nil || size <= 0 || int(size) > len(b)-p {
			return p
		}
		p += int(size)
	}
}

// mark records that everything up to end (the master's end) was sent now.
func (sc *slaveConn) mark(end int64) {
	now := sc.m.opts.Now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if n := len(sc.marks); n > 0 && now.Sub(sc.marks[n-1].at) < sc.m.opts.NotInSyncAfter/maxMarks {
		return
	}
	if len(sc.marks) == maxMarks {
		sc.marks = append(sc.marks[:0], sc.marks[1:]...)
	}
	sc.marks = append(sc.marks, catchUpMark{end: end, at: now})
}

// readAcks reads the slave's acks until the connection fails or an ack is
// invalid: beyond the master's end (RocketMQ #3015: a peer must not be able
// to fake replication), beyond what was sent, or going backwards.
func (sc *slaveConn) readAcks() error {
	m := sc.m
	r := bufio.NewReaderSize(sc.c, 512)
	var b [ackSize]byte
	dl := idleDeadline{set: sc.c.SetReadDeadline, timeout: m.opts.IdleTimeout}
	for {
		dl.refresh()
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		off, err := decodeAck(b[:])
		if err != nil {
			return err
		}
		end, prev, sent := m.st.MaxPhysicalOffset(), sc.acked.Load(), sc.sent.Load()
		switch {
		case off > end:
			return fmt.Errorf("%w: ack %d beyond the master's end %d", ErrProtocol, off, end)
		case off > sent:
			return fmt.Errorf("%w: ack %d beyond the %d bytes sent", ErrProtocol, off, sent)
		case off < prev:
			return fmt.Errorf("%w: ack %d went back from %d", ErrProtocol, off, prev)
		}
		sc.onAck(off, end)
	}
}

func (sc *slaveConn) onAck(off, end int64) {
	now := sc.m.opts.Now()
	sc.acked.Store(off)
	sc.lastAck.Store(now.UnixNano())
	sc.mu.Lock()
	if off >= end {
		sc.caughtUpAt = now
		sc.marks = sc.marks[:0]
	}
	i := 0
	for i < len(sc.marks) && sc.marks[i].end <= off {
		sc.caughtUpAt = sc.marks[i].at
		i++
	}
	sc.marks = append(sc.marks[:0], sc.marks[i:]...)
	sc.mu.Unlock()
	sc.m.waiters.complete()
}

func (sc *slaveConn) status(end int64, now time.Time) SlaveStatus {
	acked := sc.acked.Load()
	sc.mu.Lock()
	caughtUp := sc.caughtUpAt
	sc.mu.Unlock()
	lag := max(end-acked, 0)
	return SlaveStatus{
		BrokerID: sc.id, RemoteAddr: sc.remote, StartOffset: sc.start, AckedOffset: acked, LagBytes: lag,
		InSync:  !caughtUp.IsZero() && now.Sub(caughtUp) <= sc.m.opts.NotInSyncAfter && lag <= sc.m.opts.MaxLagInSync,
		LastAck: time.Unix(0, sc.lastAck.Load()), Epoch: sc.epoch.Load(),
	}
}
