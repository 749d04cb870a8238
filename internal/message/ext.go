package message

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"net/netip"
)

// MessageExt is a message as a consumer sees it, decoded from a PULL response
// body (or a CHECK_TRANSACTION_STATE body).
type MessageExt struct {
	Topic      string
	Flag       int32
	Body       []byte // aliases the pull body unless it was inflated
	Properties map[string]string
	QueueID    int32
	// QueueOffset is the ConsumeQueue index; consumers commit QueueOffset+1.
	QueueOffset int64
	// CommitLogOffset is PHYSICALOFFSET, used by SEND_MSG_BACK.
	CommitLogOffset  int64
	StoreSize        int32
	BornHost         netip.AddrPort
	StoreHost        netip.AddrPort
	BornTimestamp    int64
	StoreTimestamp   int64
	ReconsumeTimes   int32
	PreparedTxOffset int64
	// SysFlag is the stored SYSFLAG, except that SysFlagCompressed is cleared
	// once the body has been inflated: if it is still set, Body is the
	// compressed bytes because inflating failed (InflateErr says why).
	SysFlag    int32
	BodyCRC    int32
	InflateErr error
	// MsgID is UNIQ_KEY when present, else OffsetMsgID.
	MsgID       string
	OffsetMsgID string
}

// Tags returns the TAGS property.
func (m *MessageExt) Tags() string { return m.Properties[PropertyTags] }

// Keys returns the KEYS property.
func (m *MessageExt) Keys() string { return m.Properties[PropertyKeys] }

// DecodeMessages decodes a PULL response body: stored records back to back.
// Bodies flagged compressed are inflated with zlib up to MaxInflatedBodySize.
// CRCs are not checked (the broker read them from its own log). A malformed
// record fails the whole body with its offset, since nothing after it can be
// framed.
func DecodeMessages(body []byte) ([]*MessageExt, error) {
	n := countRecords(body)
	slab := make([]MessageExt, n)
	out := make([]*MessageExt, 0, n)
	var lastTopic string
	for pos := 0; pos < len(body); {
		v, err := ParseRecord(body[pos:], false)
		if err != nil {
			return out, fmt.Errorf("decode message at %d: %w", pos, err)
		}
		m := &slab[len(out)]
		if string(v.Topic) != lastTopic { // pulls are per queue: reuse the string
			lastTopic = string(v.Topic)
		}
		fillExt(m, &v, lastTopic)
		out = append(out, m)
		pos += int(v.TotalSize)
	}
	return out, nil
}

// countRecords walks TOTALSIZE fields to size the result in one allocation.
// The count is bounded by len(body)/RecordOverhead, so a lying size cannot
// make it allocate more than the input justifies.
func countRecords(body []byte) int {
	n := 0
	for pos := 0; pos+4 <= len(body); n++ {
		size, _, err := PeekSize(body[pos:])
		if err != nil || size < RecordOverhead {
			return n + 1
		}
		pos += int(size)
	}
	return n
}

func fillExt(m *MessageExt, v *RecordView, topic string) {
	*m = MessageExt{
		Topic: topic, Flag: v.Flag, Body: v.Body, QueueID: v.QueueID,
		QueueOffset: v.QueueOffset, CommitLogOffset: v.PhysicalOffset, StoreSize: v.TotalSize,
		BornHost: v.BornHost, StoreHost: v.StoreHost, BornTimestamp: v.BornTimestamp,
		StoreTimestamp: v.StoreTimestamp, ReconsumeTimes: v.ReconsumeTimes,
		PreparedTxOffset: v.PreparedTxOffset, SysFlag: v.SysFlag, BodyCRC: v.BodyCRC,
		Properties: DecodeProperties(v.Properties),
	}
	if m.SysFlag&SysFlagCompressed != 0 {
		if body, err := Inflate(m.Body, MaxInflatedBodySize); err != nil {
			m.InflateErr = err
		} else {
			m.Body = body
			m.SysFlag &^= SysFlagCompressed
		}
	}
	m.OffsetMsgID = OffsetMsgID(m.StoreHost, m.CommitLogOffset)
	if id, ok := m.Properties[PropertyUniqKey]; ok && id != "" {
		m.MsgID = id
	} else {
		m.MsgID = m.OffsetMsgID
	}
}

// Inflate decompresses a zlib body, failing with ErrBodyTooLarge rather than
// producing more than limit bytes.
func Inflate(compressed []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("inflate body: %w", err)
	}
	defer zr.Close()
	out := bytes.NewBuffer(make([]byte, 0, min(4*len(compressed), limit)))
	n, err := io.Copy(out, io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("inflate body: %w", err)
	}
	if n > int64(limit) {
		return nil, ErrBodyTooLarge
	}
	return out.Bytes(), nil
}

// Deflate compresses body with zlib at level (as producers do for bodies of
// 4 KiB and more, level 5).
func Deflate(body []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		return nil, fmt.Errorf("deflate body: %w", err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("deflate body: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("deflate body: %w", err)
	}
	return buf.Bytes(), nil
}
