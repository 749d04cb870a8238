package client

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/message"
)

// MessageExt is a consumed message with its broker metadata (queue, offset,
// store time, reconsume count, ids).
type MessageExt = message.MessageExt

// Message is a message to send. Fields are read when it is sent; do not
// change a message while a send of it is in flight.
type Message struct {
	// Topic is the destination topic. Required.
	Topic string
	// Body is the payload: 1 byte to MaxMessageSize. Required.
	Body []byte
	// Tags is the message's tag, which consumers filter on ("" for none).
	Tags string
	// Keys are indexed by the broker for QueryMessageByKey; each must be
	// non-empty and free of spaces.
	Keys []string
	// Properties are user properties. The keys TAGS, KEYS, DELAY and
	// UNIQ_KEY are set from the fields above and may not appear here.
	Properties map[string]string
	// DelayLevel delays delivery by the broker's level (1 = 1 s, 2 = 5 s,
	// 3 = 10 s, ... 18 = 2 h); 0 delivers at once.
	DelayLevel int
	// ShardingKey, when set, fixes the queue: hash(ShardingKey) mod the
	// number of queues. Messages with one key keep their order, and a
	// failed send is retried on the same queue, never re-routed.
	ShardingKey string
	// Flag is an application-defined integer stored with the message.
	Flag int32
}

// NewMessage returns a message for topic with body.
func NewMessage(topic string, body []byte) *Message {
	return &Message{Topic: topic, Body: body}
}

// WithTags sets the tag and returns m.
func (m *Message) WithTags(tags string) *Message { m.Tags = tags; return m }

// WithKeys sets the keys and returns m.
func (m *Message) WithKeys(keys ...string) *Message { m.Keys = keys; return m }

// WithShardingKey sets the sharding key and returns m.
func (m *Message) WithShardingKey(key string) *Message { m.ShardingKey = key; return m }

// WithDelayLevel sets the delay level and returns m.
func (m *Message) WithDelayLevel(level int) *Message { m.DelayLevel = level; return m }

// WithProperty sets a user property and returns m.
func (m *Message) WithProperty(key, value string) *Message {
	if m.Properties == nil {
		m.Properties = make(map[string]string)
	}
	m.Properties[key] = value
	return m
}

// reservedProperties are set from Message fields or by the client.
var reservedProperties = [...]string{
	message.PropertyTags, message.PropertyKeys, message.PropertyDelayLevel, message.PropertyUniqKey,
}

// validate checks m before anything is sent.
func (m *Message) validate(maxSize int) error {
	if m == nil {
		return fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	if err := message.ValidateTopic(m.Topic); err != nil {
		return fmt.Errorf("%w: topic %q: must be 1-%d characters of [%%|a-zA-Z0-9_-]", ErrInvalidMessage, m.Topic, message.MaxTopicLen)
	}
	if m.Topic == message.TopicDefault {
		return fmt.Errorf("%w: topic %s is reserved", ErrInvalidMessage, m.Topic)
	}
	if len(m.Body) == 0 {
		return fmt.Errorf("%w: empty body (topic %s)", ErrInvalidMessage, m.Topic)
	}
	if len(m.Body) > maxSize {
		return fmt.Errorf("%w: body of %d bytes exceeds the maximum of %d (topic %s)", ErrInvalidMessage, len(m.Body), maxSize, m.Topic)
	}
	if m.DelayLevel < 0 || m.DelayLevel > message.MaxDelayLevel {
		return fmt.Errorf("%w: delay level %d outside 0-%d", ErrInvalidMessage, m.DelayLevel, message.MaxDelayLevel)
	}
	if strings.ContainsAny(m.Tags, "\x01\x02") {
		return fmt.Errorf("%w: tags contain a property separator", ErrInvalidMessage)
	}
	for _, k := range m.Keys {
		if k == "" || strings.ContainsAny(k, " \x01\x02") {
			return fmt.Errorf("%w: key %q is empty or contains a space or separator", ErrInvalidMessage, k)
		}
	}
	for _, k := range reservedProperties {
		if _, ok := m.Properties[k]; ok {
			return fmt.Errorf("%w: property %s is set from the message's fields", ErrInvalidMessage, k)
		}
	}
	if err := message.ValidateProperties(m.Properties); err != nil {
		return fmt.Errorf("%w: properties: %w", ErrInvalidMessage, err)
	}
	return nil
}

// appendProperties encodes m's properties, with uniqID as UNIQ_KEY when
// set, and checks the encoded size.
func (m *Message) appendProperties(dst []byte, uniqID string) ([]byte, error) {
	start := len(dst)
	keys := ""
	if len(m.Keys) > 0 {
		keys = strings.Join(m.Keys, message.KeySeparator)
	}
	delay := ""
	if m.DelayLevel > 0 {
		delay = strconv.Itoa(m.DelayLevel)
	}
	system := [...][2]string{
		{message.PropertyUniqKey, uniqID}, {message.PropertyTags, m.Tags},
		{message.PropertyKeys, keys}, {message.PropertyDelayLevel, delay},
	}
	n := 0
	for _, kv := range system {
		n += len(kv[0]) + len(kv[1]) + 2
	}
	for k, v := range m.Properties {
		n += len(k) + len(v) + 2
	}
	dst = slices.Grow(dst, n)
	for _, kv := range system {
		if kv[1] != "" {
			dst = append(dst, kv[0]...)
			dst = append(dst, message.NameValueSeparator)
			dst = append(dst, kv[1]...)
			dst = append(dst, message.PropertySeparator)
		}
	}
	dst = message.AppendProperties(dst, m.Properties)
	if len(dst)-start > message.MaxPropertiesSize {
		return dst, fmt.Errorf("%w: properties of %d bytes exceed %d", ErrInvalidMessage, len(dst)-start, message.MaxPropertiesSize)
	}
	return dst, nil
}

// SendStatus is how a broker stored a message. Every status is a stored
// result: only SendOK promises everything the broker's mode promises.
type SendStatus int

// Send statuses (RocketMQ's SendStatus). Codes 10, 11 and 12 are stored
// results and are never retried.
const (
	// SendOK: stored as the broker's flush and replication mode promise.
	SendOK SendStatus = iota
	// SendFlushDiskTimeout: stored, but a SYNC_FLUSH broker did not fsync
	// in time (code 10).
	SendFlushDiskTimeout
	// SendFlushSlaveTimeout: stored on the master, but a SYNC_MASTER's
	// slave did not confirm in time (code 12).
	SendFlushSlaveTimeout
	// SendSlaveNotAvailable: stored on the master, no slave available
	// (code 11).
	SendSlaveNotAvailable
)

// String names the status as RocketMQ does.
func (s SendStatus) String() string {
	switch s {
	case SendOK:
		return "SEND_OK"
	case SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	}
	return "SendStatus(" + strconv.Itoa(int(s)) + ")"
}

// SendResult is the outcome of a stored send.
type SendResult struct {
	// Status says how the broker stored the message.
	Status SendStatus
	// MsgID is the UNIQ_KEY the client gave the message (comma-joined for
	// a batch, in message order).
	MsgID string
	// OffsetMsgID is the broker's id: store host and commitlog offset
	// (comma-joined for a batch).
	OffsetMsgID string
	// Queue is the queue the message was stored in.
	Queue MessageQueue
	// QueueOffset is the ConsumeQueue offset of the (first) message.
	QueueOffset int64
}

// String formats the result for logs.
func (r *SendResult) String() string {
	return fmt.Sprintf("%s msgId=%s offsetMsgId=%s queue=%s offset=%d", r.Status, r.MsgID, r.OffsetMsgID, r.Queue, r.QueueOffset)
}
