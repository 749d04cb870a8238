package client

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// outgoing is one validated, encoded send (a message or a batch), built
// once so that every attempt carries the same bytes and message ids.
type outgoing struct {
	group   string
	topic   string
	first   *Message
	fixed   *MessageQueue
	pinned  bool // the queue is the caller's choice: retries never move it
	count   int
	batch   bool
	body    []byte
	props   string
	sysFlag int32
	flag    int32
	msgID   string
}

// prepare validates and encodes msgs for a send.
func (p *Producer) prepare(msgs []*Message, fixed *MessageQueue) (*outgoing, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no message", ErrInvalidMessage)
	}
	for i, m := range msgs {
		if err := m.validate(p.opts.MaxMessageSize); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	first := msgs[0]
	o := &outgoing{group: p.opts.Group, topic: first.Topic, first: first, count: len(msgs), flag: first.Flag}
	if fixed != nil {
		if fixed.Topic == "" {
			fixed.Topic = first.Topic
		}
		if fixed.Topic != first.Topic {
			return nil, fmt.Errorf("%w: queue %s is not of topic %s", ErrInvalidMessage, fixed, first.Topic)
		}
		o.fixed = fixed
	}
	o.pinned = fixed != nil || p.opts.Selector != nil || first.ShardingKey != ""
	if len(msgs) == 1 {
		return o, p.encodeSingle(o, first)
	}
	return o, p.encodeBatch(o, msgs)
}

func (p *Producer) encodeSingle(o *outgoing, m *Message) error {
	o.msgID = p.cl.ids.Next()
	props, err := m.appendProperties(nil, o.msgID)
	if err != nil {
		return err
	}
	o.props = string(props)
	o.body = m.Body
	if !p.opts.DisableCompression && len(m.Body) >= p.opts.CompressThreshold {
		z, err := message.Deflate(m.Body, p.opts.CompressLevel)
		if err != nil {
			return fmt.Errorf("compress body: %w", err)
		}
		o.body, o.sysFlag = z, message.SysFlagCompressed
	}
	return nil
}

// encodeBatch builds a SEND_BATCH_MESSAGE body. Every member gets its own
// UNIQ_KEY (as Java's producer does) so consumers can deduplicate retries.
func (p *Producer) encodeBatch(o *outgoing, msgs []*Message) error {
	o.batch = true
	if len(o.topic) > 0 && o.topic[0] == '%' {
		return fmt.Errorf("%w: batches to system topic %s are not allowed", ErrInvalidMessage, o.topic)
	}
	items := make([]message.BatchItem, len(msgs))
	ids := make([]string, len(msgs))
	var props []byte
	for i, m := range msgs {
		if m.Topic != o.topic {
			return fmt.Errorf("%w: batch mixes topics %s and %s", ErrInvalidMessage, o.topic, m.Topic)
		}
		if m.DelayLevel > 0 {
			return fmt.Errorf("%w: batch message %d has a delay level", ErrInvalidMessage, i)
		}
		if m.ShardingKey != o.first.ShardingKey {
			return fmt.Errorf("%w: batch mixes sharding keys %q and %q", ErrInvalidMessage, o.first.ShardingKey, m.ShardingKey)
		}
		ids[i] = p.cl.ids.Next()
		start := len(props)
		var err error
		if props, err = m.appendProperties(props, ids[i]); err != nil {
			return fmt.Errorf("batch message %d: %w", i, err)
		}
		items[i] = message.BatchItem{Flag: m.Flag, Body: m.Body, Properties: props[start:len(props):len(props)]}
	}
	body, err := message.EncodeBatch(items)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if len(body) > p.opts.MaxMessageSize {
		return fmt.Errorf("%w: batch of %d bytes exceeds the maximum of %d", ErrInvalidMessage, len(body), p.opts.MaxMessageSize)
	}
	o.body, o.msgID = body, joinIDs(ids)
	return nil
}

// result interprets a send response: codes 0, 10, 11 and 12 are stored
// results; anything else is a *BrokerError.
func (o *outgoing) result(mq MessageQueue, addr string, resp *remoting.Command) (*SendResult, error) {
	var status SendStatus
	switch resp.Code {
	case protocol.Success:
		status = SendOK
	case protocol.FlushDiskTimeout:
		status = SendFlushDiskTimeout
	case protocol.FlushSlaveTimeout:
		status = SendFlushSlaveTimeout
	case protocol.SlaveNotAvailable:
		status = SendSlaveNotAvailable
	default:
		return nil, &BrokerError{Op: "send to " + mq.String(), Addr: addr, Code: resp.Code, Remark: resp.Remark}
	}
	h, err := protocol.ParseSendResponseHeader(resp.ExtFields)
	if err != nil {
		// Stored, but the reply is malformed: report what we know rather
		// than retrying a stored message.
		h = protocol.SendResponseHeader{QueueID: mq.QueueID, QueueOffset: -1}
	}
	if _, ok := resp.ExtFields.Get("queueId"); ok {
		mq.QueueID = h.QueueID
	}
	return &SendResult{Status: status, MsgID: o.msgID, OffsetMsgID: h.MsgID, Queue: mq, QueueOffset: h.QueueOffset}, nil
}
