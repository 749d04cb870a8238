package ha

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeSlave dials m and sends raw handshake bytes.
func fakeSlave(t *testing.T, m *Master, msg []byte) (net.Conn, *reply) {
	t.Helper()
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_, _, body, err := readEnvelope(c)
	if err != nil {
		return c, nil
	}
	r, err := decodeReply(body)
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return c, r
}

// expectClosed drains c until the master closes it.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed by the master: %v", err)
	}
}

func helloFor(m *Master, id int64) *hello {
	return &hello{BrokerName: testBroker, BrokerID: id, SegmentSize: testSegment, Epochs: m.opts.Epochs.Entries()}
}

func sendAck(t *testing.T, c net.Conn, off int64) {
	t.Helper()
	var b [ackSize]byte
	putAck(b[:], off)
	c.Write(b[:])
}

func TestHAHandshakeRefusals(t *testing.T) {
	mn := newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	withEnvelope := func(version uint16, body []byte) []byte {
		return append(appendEnvelope(nil, version, kindHello, len(body)), body...)
	}
	goodBody := encodeHello(helloFor(m, 1))[envelopeSize:]
	for _, c := range []struct {
		name   string
		msg    []byte
		reason string // "" means closed without a reply
	}{
		{"wrong broker name", encodeHello(&hello{BrokerName: "broker-b", BrokerID: 1, SegmentSize: testSegment}), "broker name"},
		{"unknown version", withEnvelope(9, goodBody), "version"},
		{"segment size", encodeHello(&hello{BrokerName: testBroker, BrokerID: 1, SegmentSize: 4096}), "segment size"},
		{"master id", encodeHello(&hello{BrokerName: testBroker, BrokerID: 0, SegmentSize: testSegment}), "broker id"},
		{"newer epoch", encodeHello(&hello{BrokerName: testBroker, BrokerID: 1, SegmentSize: testSegment,
			EndOffset: 10, Epochs: []EpochEntry{{1, 0}, {7, 5}}}), "fenced"},
		{"truncated body", withEnvelope(ProtocolVersion, goodBody[:len(goodBody)-3]), "malformed"},
		{"offsets", encodeHello(&hello{BrokerName: testBroker, BrokerID: 1, SegmentSize: testSegment, MinOffset: 5, EndOffset: 1}), "malformed"},
		{"oversized length", appendEnvelope(nil, ProtocolVersion, kindHello, 1<<30), ""},
		{"not our protocol", []byte("GET / HTTP/1.1\r\n\r\n"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, r := fakeSlave(t, m, c.msg)
			switch {
			case c.reason == "" && r != nil:
				t.Fatalf("got a reply %+v", r)
			case c.reason != "" && (r == nil || r.Accepted || !strings.Contains(r.Reason, c.reason)):
				t.Fatalf("reply %+v, want a rejection mentioning %q", r, c.reason)
			}
			expectClosed(t, conn)
		})
	}
	if len(m.Slaves()) != 0 {
		t.Fatalf("refused peers listed: %+v", m.Slaves())
	}
}

// RocketMQ #3015: any peer on the HA port could claim any offset. Here an
// ack beyond the master's end drops that peer; it never counts for
// WaitReplicated, and the real slave keeps replicating.
func TestHAFakeAckBeyondMasterEndIsDropped(t *testing.T) {
	mn, sn := newNode(t), newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	startSlave(t, sn, fixedAddr(m), 1, nil)
	end := put(t, mn.st, m, testTopic, 200, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	conn, r := fakeSlave(t, m, encodeHello(helloFor(m, 2)))
	if r == nil || !r.Accepted || r.StartOffset != 0 {
		t.Fatalf("fake slave handshake: %+v", r)
	}
	eventually(t, "fake registered", func() bool { return len(m.Slaves()) == 2 })
	waitErr := make(chan error, 1)
	m.WaitReplicated(end, 2, 500*time.Millisecond, func(err error) { waitErr <- err })
	sendAck(t, conn, end+1<<20)
	expectClosed(t, conn)
	if err := <-waitErr; !errors.Is(err, ErrReplicationTimeout) {
		t.Fatalf("wait with a faked ack: %v", err)
	}
	eventually(t, "fake dropped", func() bool { ss := m.Slaves(); return len(ss) == 1 && ss[0].BrokerID == 1 })
	if got := m.ReplicatedOffset(2); got != 0 {
		t.Fatalf("ReplicatedOffset(2) = %d after the fake was dropped", got)
	}
	end = put(t, mn.st, m, testTopic, 200, 1000)
	if err := waitReplicated(m, end, 1, 10*time.Second); err != nil {
		t.Fatalf("real slave after the fake: %v", err)
	}
}

func TestHAInvalidAcksAreDropped(t *testing.T) {
	mn := newNode(t)
	startTerm(t, mn)
	m := startMaster(t, mn, nil)
	end := put(t, mn.st, m, testTopic, 100, 1000)
	for _, c := range []struct {
		name string
		send func(net.Conn)
	}{
		{"backwards", func(c net.Conn) {
			readFrame(t, c) // the first frame is sent: acking inside it is legitimate
			sendAck(t, c, 200)
			sendAck(t, c, 100)
		}},
		{"not an ack", func(c net.Conn) { c.Write([]byte{'D', 0, 0, 0, 0, 0, 0, 0, 0}) }},
		{"negative", func(c net.Conn) { sendAck(t, c, -5) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, r := fakeSlave(t, m, encodeHello(helloFor(m, 3)))
			if r == nil || !r.Accepted {
				t.Fatalf("handshake: %+v", r)
			}
			c.send(conn)
			expectClosed(t, conn)
		})
	}
	if err := waitReplicated(m, end, 1, 200*time.Millisecond); !errors.Is(err, ErrReplicationTimeout) {
		t.Fatalf("invalid peers satisfied a wait: %v", err)
	}

	quick := newNode(t)
	startTerm(t, quick)
	mq := startMaster(t, quick, func(o *MasterOptions) {
		o.IdleTimeout, o.HeartbeatInterval = 300*time.Millisecond, 50*time.Millisecond
	})
	conn, r := fakeSlave(t, mq, encodeHello(helloFor(mq, 3)))
	if r == nil || !r.Accepted {
		t.Fatalf("handshake: %+v", r)
	}
	expectClosed(t, conn) // heartbeats arrive, but no ack ever does
}

// readFrame reads one data frame from a fake slave's connection.
func readFrame(t *testing.T, c net.Conn) dataHeader {
	t.Helper()
	var b [dataHeaderSize]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	h, err := decodeDataHeader(b[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, c, int64(h.Length)); err != nil {
		t.Fatal(err)
	}
	return h
}

// fakeMaster accepts slaves, answers each hello with an accepted reply
// starting at the slave's end, then runs script on the connection.
func fakeMaster(t *testing.T, epochs []EpochEntry, script func(c net.Conn, h *hello)) (addr string, conns <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan struct{}, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- struct{}{}
			go func() {
				defer c.Close()
				_, _, body, err := readEnvelope(c)
				if err != nil {
					return
				}
				h, err := decodeHello(body)
				if err != nil {
					return
				}
				c.Write(encodeReply(&reply{Accepted: true, TruncateTo: h.EndOffset, StartOffset: h.EndOffset,
					MasterEnd: h.EndOffset + 1000, Epochs: epochs}))
				script(c, h)
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// A slave treats a frame at the wrong offset or an oversized frame as a
// broken stream: it drops the connection and
// handshakes again, without appending anything.
func TestHASlaveRejectsBadFrames(t *testing.T) {
	for _, c := range []struct {
		name   string
		epochs []EpochEntry
		frame  func(h *hello) []byte
	}{
		{"wrong offset", []EpochEntry{{1, 0}}, func(h *hello) []byte {
			return frameBytes(dataHeader{Offset: h.EndOffset + 10, Epoch: 1, MasterEnd: h.EndOffset + 1000, Length: 4}, 4)
		}},
		{"oversized", []EpochEntry{{1, 0}}, func(h *hello) []byte {
			b := frameBytes(dataHeader{Offset: h.EndOffset, Epoch: 1, MasterEnd: 1 << 40}, 0)
			b[33], b[34] = 0x7f, 0xff // length far beyond MaxFrameData
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sn := newNode(t)
			addr, conns := fakeMaster(t, c.epochs, func(conn net.Conn, h *hello) {
				conn.Write(c.frame(h))
				io.Copy(io.Discard, conn)
			})
			startSlave(t, sn, func() string { return addr }, 1, nil)
			for range 3 { // it keeps reconnecting
				select {
				case <-conns:
				case <-time.After(10 * time.Second):
					t.Fatal("slave did not reconnect")
				}
			}
			if end := sn.st.MaxPhysicalOffset(); end != 0 {
				t.Fatalf("slave appended %d bytes from a broken stream", end)
			}
		})
	}
}

func frameBytes(h dataHeader, n int) []byte {
	b := make([]byte, dataHeaderSize+n)
	putDataHeader(b, &h)
	return b
}

// A master whose newest epoch is older than the slave's is refused before
// the slave touches its log or epoch file.
func TestHASlaveRefusesStaleMaster(t *testing.T) {
	sn := newNode(t)
	sn.epochs.Append(EpochEntry{5, 0})
	addr, conns := fakeMaster(t, []EpochEntry{{1, 0}}, func(c net.Conn, _ *hello) { io.Copy(io.Discard, c) })
	startSlave(t, sn, func() string { return addr }, 1, nil)
	<-conns
	<-conns
	if got := sn.epochs.Entries(); len(got) != 1 || got[0] != (EpochEntry{5, 0}) {
		t.Fatalf("epoch file changed by a stale master: %v", got)
	}
}

// recordEpoch enforces the epoch rules on incoming frames.
func TestHASlaveEpochRulesOnFrames(t *testing.T) {
	sn := newNode(t)
	sn.epochs.Append(EpochEntry{1, 0})
	sn.epochs.Append(EpochEntry{2, 100})
	s, err := NewSlave(SlaveOptions{MasterAddr: func() string { return "" }, Store: sn.st, Epochs: sn.epochs,
		BrokerName: testBroker, BrokerID: 1, AckInterval: time.Second, ReconnectBackoff: time.Second,
		IdleTimeout: time.Second, DialTimeout: time.Second, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	ss := newSlaveSession(s, nil, "")
	for _, c := range []struct {
		h    dataHeader
		want error
	}{
		{dataHeader{Offset: 150, Epoch: 1}, ErrFenced},
		{dataHeader{Offset: 150, Epoch: 2, EpochStart: 50}, ErrProtocol},
		{dataHeader{Offset: 150, Epoch: 0}, ErrProtocol},
		{dataHeader{Offset: 150, Epoch: 2, EpochStart: 100}, nil},
		{dataHeader{Offset: 250, Epoch: 3, EpochStart: 90}, errors.New("start below the previous")},
		{dataHeader{Offset: 250, Epoch: 4, EpochStart: 200}, nil},
		{dataHeader{Offset: 300, Epoch: 4, EpochStart: 200}, nil},
	} {
		err := ss.recordEpoch(&c.h)
		if (err == nil) != (c.want == nil) || (c.want != nil && errors.Is(c.want, ErrProtocol) != errors.Is(err, ErrProtocol)) ||
			(errors.Is(c.want, ErrFenced) && !errors.Is(err, ErrFenced)) {
			t.Fatalf("frame %+v: %v, want %v", c.h, err, c.want)
		}
	}
	if got := sn.epochs.Entries(); len(got) != 3 || got[2] != (EpochEntry{4, 200}) {
		t.Fatalf("epochs %v", got)
	}
}
