package ha

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Wire constants (see the package doc for the layouts). Part of the wire
// format: never change or renumber them.
const (
	protocolMagic = uint32(0x534C4841) // "SLHA"
	// ProtocolVersion is the handshake version this package speaks.
	ProtocolVersion = uint16(1)

	kindHello = byte(1) // slave → master
	kindReply = byte(2) // master → slave

	statusAccept = byte(0)
	statusReject = byte(1)

	frameData = byte('D') // master → slave: data or heartbeat
	frameAck  = byte('A') // slave → master: acknowledged offset

	envelopeSize   = 12 // magic u32 | version u16 | kind u8 | reserved u8 | body length u32
	dataHeaderSize = 37 // kind u8 | offset i64 | epoch i64 | epoch start i64 | master end i64 | length u32
	ackSize        = 9  // kind u8 | offset i64
)

// Caps checked before anything is allocated.
const (
	// MaxFrameData bounds the bytes of one data frame. A frame normally
	// holds whole records up to the master's BatchSize; a single record
	// larger than this is split across frames.
	MaxFrameData = 16 << 20
	// maxBrokerName bounds the broker name in a hello.
	maxBrokerName = 255
	// maxReason bounds a rejection reason.
	maxReason = 1024
	// maxHandshakeBody bounds a hello or reply body: fixed fields, a name or
	// reason, and MaxEpochEntries entries.
	maxHandshakeBody = 64 + maxReason + MaxEpochEntries*epochEntrySize
	// maxLogOffset bounds offsets in frames, far beyond any real log, so
	// offset arithmetic cannot overflow.
	maxLogOffset = 1 << 62
)

// hello is the slave's opening message.
type hello struct {
	BrokerName  string
	BrokerID    int64
	MinOffset   int64 // the slave's MinPhysicalOffset
	EndOffset   int64 // the slave's MaxPhysicalOffset
	SegmentSize int64
	Epochs      []EpochEntry
}

// reply is the master's answer to a hello.
type reply struct {
	Accepted bool
	Reason   string // when rejected
	Action   resumeAction
	// TruncateTo is the divergence point; StartOffset is where the log
	// continues (equal to TruncateTo unless Action is actionReset). The
	// slave cuts its epoch file at min(TruncateTo, StartOffset).
	TruncateTo  int64
	StartOffset int64
	MasterMin   int64
	MasterEnd   int64
	Epochs      []EpochEntry
}

// dataHeader precedes Length bytes of commitlog copied from Offset. Length
// 0 is a heartbeat. Epoch and EpochStart name the term that wrote the
// bytes (a frame never spans two); MasterEnd is the master's log end when
// the frame was built, so the slave knows its lag.
type dataHeader struct {
	Offset     int64
	Epoch      int64
	EpochStart int64
	MasterEnd  int64
	Length     uint32
}

func appendEnvelope(b []byte, version uint16, kind byte, bodyLen int) []byte {
	b = binary.BigEndian.AppendUint32(b, protocolMagic)
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, kind, 0)
	return binary.BigEndian.AppendUint32(b, uint32(bodyLen))
}

// encodeHello returns the whole hello message, envelope included.
func encodeHello(h *hello) []byte {
	body := make([]byte, 0, 64+len(h.BrokerName)+len(h.Epochs)*epochEntrySize)
	body = binary.BigEndian.AppendUint64(body, uint64(h.BrokerID))
	body = binary.BigEndian.AppendUint64(body, uint64(h.MinOffset))
	body = binary.BigEndian.AppendUint64(body, uint64(h.EndOffset))
	body = binary.BigEndian.AppendUint64(body, uint64(h.SegmentSize))
	body = binary.BigEndian.AppendUint16(body, uint16(len(h.BrokerName)))
	body = append(body, h.BrokerName...)
	body = binary.BigEndian.AppendUint32(body, uint32(len(h.Epochs)))
	body = appendEntries(body, h.Epochs)
	return append(appendEnvelope(make([]byte, 0, envelopeSize+len(body)), ProtocolVersion, kindHello, len(body)), body...)
}

// encodeReply returns the whole reply message, envelope included.
func encodeReply(r *reply) []byte {
	var body []byte
	if !r.Accepted {
		reason := r.Reason[:min(len(r.Reason), maxReason)]
		body = append(body, statusReject)
		body = binary.BigEndian.AppendUint16(body, uint16(len(reason)))
		body = append(body, reason...)
	} else {
		body = append(body, statusAccept, byte(r.Action))
		for _, v := range []int64{r.TruncateTo, r.StartOffset, r.MasterMin, r.MasterEnd} {
			body = binary.BigEndian.AppendUint64(body, uint64(v))
		}
		body = binary.BigEndian.AppendUint32(body, uint32(len(r.Epochs)))
		body = appendEntries(body, r.Epochs)
	}
	return append(appendEnvelope(make([]byte, 0, envelopeSize+len(body)), ProtocolVersion, kindReply, len(body)), body...)
}

// readEnvelope reads one handshake message. The body length is checked
// against maxHandshakeBody before the body is allocated. A version this
// package does not know is returned with a nil body and no error, so the
// master can answer with a rejection.
func readEnvelope(r io.Reader) (kind byte, version uint16, body []byte, err error) {
	var env [envelopeSize]byte
	if _, err := io.ReadFull(r, env[:]); err != nil {
		return 0, 0, nil, err
	}
	be := binary.BigEndian
	if m := be.Uint32(env[:]); m != protocolMagic {
		return 0, 0, nil, fmt.Errorf("%w: bad magic %#x", ErrProtocol, m)
	}
	version, kind = be.Uint16(env[4:]), env[6]
	n := be.Uint32(env[8:])
	if n > maxHandshakeBody {
		return 0, 0, nil, fmt.Errorf("%w: handshake body of %d bytes exceeds %d", ErrProtocol, n, maxHandshakeBody)
	}
	if version != ProtocolVersion {
		return kind, version, nil, nil
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, 0, nil, err
	}
	return kind, version, body, nil
}

// cursor decodes big-endian fields; the first short read sets err and
// later reads return zeros.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) take(n int) []byte {
	if c.err != nil || n < 0 || len(c.b) < n {
		if c.err == nil {
			c.err = fmt.Errorf("%w: message truncated", ErrProtocol)
		}
		return nil
	}
	out := c.b[:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) u8() byte {
	if b := c.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if b := c.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (c *cursor) i64() int64 {
	if b := c.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// entries reads a count and that many epoch entries, checking the count
// against MaxEpochEntries and the bytes left before allocating.
func (c *cursor) entries() []EpochEntry {
	b := c.take(4)
	if b == nil {
		return nil
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxEpochEntries {
		c.err = fmt.Errorf("%w: %d epoch entries exceeds %d", ErrProtocol, n, MaxEpochEntries)
		return nil
	}
	raw := c.take(int(n) * epochEntrySize)
	if raw == nil {
		return nil
	}
	es := decodeEntries(raw, int(n))
	if err := validateEntries(es); err != nil {
		c.err = fmt.Errorf("%w: epoch entries: %v", ErrProtocol, err)
	}
	return es
}

func (c *cursor) done() error {
	if c.err == nil && len(c.b) != 0 {
		c.err = fmt.Errorf("%w: %d trailing bytes", ErrProtocol, len(c.b))
	}
	return c.err
}

// decodeHello parses a version-1 hello body; it never panics.
func decodeHello(body []byte) (*hello, error) {
	c := &cursor{b: body}
	h := &hello{BrokerID: c.i64(), MinOffset: c.i64(), EndOffset: c.i64(), SegmentSize: c.i64()}
	n := int(c.u16())
	if n > maxBrokerName {
		return nil, fmt.Errorf("%w: broker name of %d bytes exceeds %d", ErrProtocol, n, maxBrokerName)
	}
	h.BrokerName = string(c.take(n))
	h.Epochs = c.entries()
	if err := c.done(); err != nil {
		return nil, err
	}
	if h.MinOffset < 0 || h.EndOffset < h.MinOffset || h.SegmentSize <= 0 {
		return nil, fmt.Errorf("%w: bad offsets min %d end %d segment size %d", ErrProtocol, h.MinOffset, h.EndOffset, h.SegmentSize)
	}
	return h, nil
}

// decodeReply parses a version-1 reply body; it never panics.
func decodeReply(body []byte) (*reply, error) {
	c := &cursor{b: body}
	r := &reply{}
	switch st := c.u8(); st {
	case statusReject:
		n := int(c.u16())
		if n > maxReason {
			return nil, fmt.Errorf("%w: reason of %d bytes exceeds %d", ErrProtocol, n, maxReason)
		}
		r.Reason = string(c.take(n))
	case statusAccept:
		r.Accepted = true
		r.Action = resumeAction(c.u8())
		r.TruncateTo, r.StartOffset, r.MasterMin, r.MasterEnd = c.i64(), c.i64(), c.i64(), c.i64()
		r.Epochs = c.entries()
	default:
		if c.err == nil {
			return nil, fmt.Errorf("%w: unknown reply status %d", ErrProtocol, st)
		}
	}
	if err := c.done(); err != nil {
		return nil, err
	}
	if r.Accepted {
		if r.Action != actionTruncate && r.Action != actionReset {
			return nil, fmt.Errorf("%w: unknown resume action %d", ErrProtocol, r.Action)
		}
		if r.TruncateTo < 0 || r.StartOffset < 0 || r.MasterMin < 0 || r.MasterEnd < r.MasterMin ||
			(r.Action == actionTruncate && r.StartOffset != r.TruncateTo) {
			return nil, fmt.Errorf("%w: bad reply offsets %+v", ErrProtocol, *r)
		}
	}
	return r, nil
}

// putDataHeader writes h at b[:dataHeaderSize].
func putDataHeader(b []byte, h *dataHeader) {
	be := binary.BigEndian
	b[0] = frameData
	be.PutUint64(b[1:], uint64(h.Offset))
	be.PutUint64(b[9:], uint64(h.Epoch))
	be.PutUint64(b[17:], uint64(h.EpochStart))
	be.PutUint64(b[25:], uint64(h.MasterEnd))
	be.PutUint32(b[33:], h.Length)
}

// decodeDataHeader parses a data frame header and checks its fields,
// including Length against MaxFrameData, so the caller may allocate it.
func decodeDataHeader(b []byte) (dataHeader, error) {
	var h dataHeader
	if len(b) < dataHeaderSize {
		return h, fmt.Errorf("%w: data header of %d bytes", ErrProtocol, len(b))
	}
	if b[0] != frameData {
		return h, fmt.Errorf("%w: unexpected frame kind %#x", ErrProtocol, b[0])
	}
	be := binary.BigEndian
	h.Offset = int64(be.Uint64(b[1:]))
	h.Epoch = int64(be.Uint64(b[9:]))
	h.EpochStart = int64(be.Uint64(b[17:]))
	h.MasterEnd = int64(be.Uint64(b[25:]))
	h.Length = be.Uint32(b[33:])
	switch {
	case h.Length > MaxFrameData:
		return h, fmt.Errorf("%w: data frame of %d bytes exceeds %d", ErrProtocol, h.Length, MaxFrameData)
	case h.Offset < 0 || h.Offset > maxLogOffset || h.Epoch < 0 || h.EpochStart < 0 || h.EpochStart > h.Offset:
		return h, fmt.Errorf("%w: bad data frame offset %d epoch %d start %d", ErrProtocol, h.Offset, h.Epoch, h.EpochStart)
	case h.MasterEnd < h.Offset+int64(h.Length):
		return h, fmt.Errorf("%w: data frame ends at %d beyond the master end %d", ErrProtocol, h.Offset+int64(h.Length), h.MasterEnd)
	}
	return h, nil
}

// putAck writes an ack frame for offset at b[:ackSize].
func putAck(b []byte, offset int64) {
	b[0] = frameAck
	binary.BigEndian.PutUint64(b[1:], uint64(offset))
}

// decodeAck parses an ack frame.
func decodeAck(b []byte) (int64, error) {
	if len(b) < ackSize || b[0] != frameAck {
		return 0, fmt.Errorf("%w: not an ack frame", ErrProtocol)
	}
	off := int64(binary.BigEndian.Uint64(b[1:]))
	if off < 0 {
		return 0, fmt.Errorf("%w: negative ack offset %d", ErrProtocol, off)
	}
	return off, nil
}
