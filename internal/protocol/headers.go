package protocol

import (
	"github.com/sluicehq/sluice/internal/remoting"
)

// SendHeader is the header of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and
// SEND_BATCH_MESSAGE (320).
type SendHeader struct {
	ProducerGroup         string
	Topic                 string
	DefaultTopic          string
	DefaultTopicQueueNums int32
	QueueID               int32
	SysFlag               int32
	BornTimestamp         int64
	Flag                  int32
	Properties            string
	ReconsumeTimes        int32
	UnitMode              bool
	MaxReconsumeTimes     int32
	Batch                 bool
	BrokerName            string
}

// sendV2Keys maps SEND_MESSAGE_V2's one-letter keys to the V1 names, in
// field order a..n.
var sendV2Keys = [...]string{
	"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag",
	"bornTimestamp", "flag", "properties", "reconsumeTimes", "unitMode", "maxReconsumeTimes",
	"batch", "bname",
}

// ParseSendHeader decodes a send header. Codes 310 and 320 use the
// one-letter V2 keys (as Java decodes them); a V1 header under those codes is
// accepted too.
func ParseSendHeader(cmd *remoting.Command) (SendHeader, error) {
	f := cmd.ExtFields
	if cmd.Code == SendMessageV2 || cmd.Code == SendBatchMessage {
		if _, v2 := f.Get("b"); v2 {
			f = make(remoting.Fields, 0, len(sendV2Keys))
			for i, long := range sendV2Keys {
				if v, ok := cmd.ExtFields.Get(string(rune('a' + i))); ok {
					f = append(f, remoting.Field{Key: long, Value: v})
				}
			}
		}
	}
	r := fieldReader{f: f}
	h := SendHeader{
		ProducerGroup:         r.str("producerGroup", false),
		Topic:                 r.str("topic", true),
		DefaultTopic:          r.str("defaultTopic", false),
		DefaultTopicQueueNums: r.i32("defaultTopicQueueNums", false),
		QueueID:               r.i32("queueId", true),
		SysFlag:               r.i32("sysFlag", false),
		BornTimestamp:         r.i64("bornTimestamp", false),
		Flag:                  r.i32("flag", false),
		Properties:            r.str("properties", false),
		ReconsumeTimes:        r.i32("reconsumeTimes", false),
		UnitMode:              r.boolean("unitMode"),
		MaxReconsumeTimes:     r.i32("maxReconsumeTimes", false),
		Batch:                 r.boolean("batch"),
		BrokerName:            r.str("bname", false),
	}
	return h, r.err
}

// Fields encodes the header with V1 keys, or V2 keys when v2 is set.
func (h SendHeader) Fields(v2 bool) remoting.Fields {
	w := newFieldWriter(len(sendV2Keys))
	w.str("producerGroup", h.ProducerGroup).str("topic", h.Topic).str("defaultTopic", h.DefaultTopic).
		i32("defaultTopicQueueNums", h.DefaultTopicQueueNums).i32("queueId", h.QueueID).
		i32("sysFlag", h.SysFlag).i64("bornTimestamp", h.BornTimestamp).i32("flag", h.Flag).
		str("properties", h.Properties).i32("reconsumeTimes", h.ReconsumeTimes).
		boolean("unitMode", h.UnitMode).i32("maxReconsumeTimes", h.MaxReconsumeTimes).
		boolean("batch", h.Batch).str("bname", h.BrokerName)
	if v2 {
		for i := range w.f {
			w.f[i].Key = string(rune('a' + i))
		}
	}
	return w.f
}

// SendResponseHeader is the header of a send reply.
type SendResponseHeader struct {
	MsgID         string // offsetMsgId; comma-joined for a batch
	QueueID       int32
	QueueOffset   int64
	TransactionID string
}

// Fields encodes the reply header as Apache RocketMQ's broker does.
func (h SendResponseHeader) Fields() remoting.Fields {
	w := newFieldWriter(6)
	w.str("msgId", h.MsgID).i32("queueId", h.QueueID).i64("queueOffset", h.QueueOffset)
	if h.TransactionID != "" {
		w.str("transactionId", h.TransactionID)
	}
	return w.str("MSG_REGION", "DefaultRegion").str("TRACE_ON", "true").f
}

// ParseSendResponseHeader decodes a send reply header.
func ParseSendResponseHeader(f remoting.Fields) (SendResponseHeader, error) {
	r := fieldReader{f: f}
	h := SendResponseHeader{
		MsgID:         r.str("msgId", false),
		QueueID:       r.i32("queueId", false),
		QueueOffset:   r.i64("queueOffset", false),
		TransactionID: r.str("transactionId", false),
	}
	return h, r.err
}

// PullHeader is the header of PULL_MESSAGE (11).
type PullHeader struct {
	ConsumerGroup        string
	Topic                string
	QueueID              int32
	QueueOffset          int64
	MaxMsgNums           int32
	SysFlag              int32
	CommitOffset         int64
	SuspendTimeoutMillis int64
	Subscription         string
	SubVersion           int64
	ExpressionType       string
	BrokerName           string
}

// ParsePullHeader decodes a pull request header.
func ParsePullHeader(f remoting.Fields) (PullHeader, error) {
	r := fieldReader{f: f}
	h := PullHeader{
		ConsumerGroup:        r.str("consumerGroup", true),
		Topic:                r.str("topic", true),
		QueueID:              r.i32("queueId", true),
		QueueOffset:          r.i64("queueOffset", true),
		MaxMsgNums:           r.i32("maxMsgNums", true),
		SysFlag:              r.i32("sysFlag", false),
		CommitOffset:         r.i64("commitOffset", false),
		SuspendTimeoutMillis: r.i64("suspendTimeoutMillis", false),
		Subscription:         r.str("subscription", false),
		SubVersion:           r.i64("subVersion", false),
		ExpressionType:       r.str("expressionType", false),
		BrokerName:           r.str("bname", false),
	}
	return h, r.err
}

// Fields encodes the pull header.
func (h PullHeader) Fields() remoting.Fields {
	w := newFieldWriter(12)
	return w.str("consumerGroup", h.ConsumerGroup).str("topic", h.Topic).i32("queueId", h.QueueID).
		i64("queueOffset", h.QueueOffset).i32("maxMsgNums", h.MaxMsgNums).i32("sysFlag", h.SysFlag).
		i64("commitOffset", h.CommitOffset).i64("suspendTimeoutMillis", h.SuspendTimeoutMillis).
		str("subscription", h.Subscription).i64("subVersion", h.SubVersion).
		str("expressionType", h.ExpressionType).str("bname", h.BrokerName).f
}

// PullResponseHeader is the header of a pull reply. Every field must always
// be present: a missing nextBeginOffset parses as 0 in the Go client and
// rewinds the queue.
type PullResponseHeader struct {
	SuggestWhichBrokerID int64
	NextBeginOffset      int64
	MinOffset            int64
	MaxOffset            int64
}

// Fields encodes the pull reply header.
func (h PullResponseHeader) Fields() remoting.Fields {
	w := newFieldWriter(4)
	return w.i64("suggestWhichBrokerId", h.SuggestWhichBrokerID).i64("nextBeginOffset", h.NextBeginOffset).
		i64("minOffset", h.MinOffset).i64("maxOffset", h.MaxOffset).f
}

// ParsePullResponseHeader decodes a pull reply header.
func ParsePullResponseHeader(f remoting.Fields) (PullResponseHeader, error) {
	r := fieldReader{f: f}
	h := PullResponseHeader{
		SuggestWhichBrokerID: r.i64("suggestWhichBrokerId", false),
		NextBeginOffset:      r.i64("nextBeginOffset", true),
		MinOffset:            r.i64("minOffset", false),
		MaxOffset:            r.i64("maxOffset", false),
	}
	return h, r.err
}

// QueueHeader addresses one queue of a topic, optionally for a group: the
// header of QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and SEARCH_OFFSET_BY_TIMESTAMP
// (29).
type QueueHeader struct {
	ConsumerGroup string
	Topic         string
	QueueID       int32
	CommitOffset  int64 // UPDATE_CONSUMER_OFFSET
	Timestamp     int64 // SEARCH_OFFSET_BY_TIMESTAMP
	BrokerName    string
}

// ParseQueueHeader decodes a queue header; needGroup requires consumerGroup.
func ParseQueueHeader(f remoting.Fields, needGroup bool) (QueueHeader, error) {
	r := fieldReader{f: f}
	h := QueueHeader{
		ConsumerGroup: r.str("consumerGroup", needGroup),
		Topic:         r.str("topic", true),
		QueueID:       r.i32("queueId", true),
		CommitOffset:  r.i64("commitOffset", false),
		Timestamp:     r.i64("timestamp", false),
		BrokerName:    r.str("bname", false),
	}
	return h, r.err
}

// Fields encodes the queue header, omitting empty optional fields.
func (h QueueHeader) Fields() remoting.Fields {
	w := newFieldWriter(6)
	if h.ConsumerGroup != "" {
		w.str("consumerGroup", h.ConsumerGroup)
	}
	w.str("topic", h.Topic).i32("queueId", h.QueueID).i64("commitOffset", h.CommitOffset).
		i64("timestamp", h.Timestamp)
	if h.BrokerName != "" {
		w.str("bname", h.BrokerName)
	}
	return w.f
}

// SendBackHeader is the header of CONSUMER_SEND_MSG_BACK (36).
type SendBackHeader struct {
	Offset            int64 // the message's commitlog offset
	Group             string
	DelayLevel        int32
	OriginMsgID       string
	OriginTopic       string
	UnitMode          bool
	MaxReconsumeTimes int32
	BrokerName        string
}

// ParseSendBackHeader decodes a send-back header.
func ParseSendBackHeader(f remoting.Fields) (SendBackHeader, error) {
	r := fieldReader{f: f}
	h := SendBackHeader{
		Offset:            r.i64("offset", true),
		Group:             r.str("group", true),
		DelayLevel:        r.i32("delayLevel", false),
		OriginMsgID:       r.str("originMsgId", false),
		OriginTopic:       r.str("originTopic", false),
		UnitMode:          r.boolean("unitMode"),
		MaxReconsumeTimes: r.i32("maxReconsumeTimes", false),
		BrokerName:        r.str("bname", false),
	}
	return h, r.err
}

// Fields encodes the send-back header.
func (h SendBackHeader) Fields() remoting.Fields {
	w := newFieldWriter(8)
	return w.i64("offset", h.Offset).str("group", h.Group).i32("delayLevel", h.DelayLevel).
		str("originMsgId", h.OriginMsgID).str("originTopic", h.OriginTopic).
		boolean("unitMode", h.UnitMode).i32("maxReconsumeTimes", h.MaxReconsumeTimes).
		str("bname", h.BrokerName).f
}

// CreateTopicHeader is the header of UPDATE_AND_CREATE_TOPIC (17).
type CreateTopicHeader struct {
	Topic           string
	DefaultTopic    string
	ReadQueueNums   int32
	WriteQueueNums  int32
	Perm            int32
	TopicFilterType string
	TopicSysFlag    int32
	Order           bool
}

// ParseCreateTopicHeader decodes a create-topic header.
func ParseCreateTopicHeader(f remoting.Fields) (CreateTopicHeader, error) {
	r := fieldReader{f: f}
	h := CreateTopicHeader{
		Topic:           r.str("topic", true),
		DefaultTopic:    r.str("defaultTopic", false),
		ReadQueueNums:   r.i32("readQueueNums", true),
		WriteQueueNums:  r.i32("writeQueueNums", true),
		Perm:            r.i32("perm", true),
		TopicFilterType: r.str("topicFilterType", false),
		TopicSysFlag:    r.i32("topicSysFlag", false),
		Order:           r.boolean("order"),
	}
	return h, r.err
}

// Fields encodes the create-topic header.
func (h CreateTopicHeader) Fields() remoting.Fields {
	filter := h.TopicFilterType
	if filter == "" {
		filter = "SINGLE_TAG"
	}
	w := newFieldWriter(8)
	return w.str("topic", h.Topic).str("defaultTopic", h.DefaultTopic).i32("readQueueNums", h.ReadQueueNums).
		i32("writeQueueNums", h.WriteQueueNums).i32("perm", h.Perm).str("topicFilterType", filter).
		i32("topicSysFlag", h.TopicSysFlag).boolean("order", h.Order).f
}

// BrokerHeader identifies a broker: the header of REGISTER_BROKER (103) and
// UNREGISTER_BROKER (104).
type BrokerHeader struct {
	BrokerName             string
	BrokerAddr             string
	ClusterName            string
	HAServerAddr           string
	BrokerID               int64
	HeartbeatTimeoutMillis int64
	Compressed             bool
	BodyCRC32              int32
}

// ParseBrokerHeader decodes a register/unregister header.
func ParseBrokerHeader(f remoting.Fields) (BrokerHeader, error) {
	r := fieldReader{f: f}
	h := BrokerHeader{
		BrokerName:             r.str("brokerName", true),
		BrokerAddr:             r.str("brokerAddr", true),
		ClusterName:            r.str("clusterName", true),
		HAServerAddr:           r.str("haServerAddr", false),
		BrokerID:               r.i64("brokerId", true),
		HeartbeatTimeoutMillis: r.i64("heartbeatTimeoutMillis", false),
		Compressed:             r.boolean("compressed"),
		BodyCRC32:              r.i32("bodyCrc32", false),
	}
	return h, r.err
}

// Fields encodes the broker header.
func (h BrokerHeader) Fields() remoting.Fields {
	w := newFieldWriter(8)
	w.str("brokerName", h.BrokerName).str("brokerAddr", h.BrokerAddr).str("clusterName", h.ClusterName).
		str("haServerAddr", h.HAServerAddr).i64("brokerId", h.BrokerID)
	if h.HeartbeatTimeoutMillis > 0 {
		w.i64("heartbeatTimeoutMillis", h.HeartbeatTimeoutMillis)
	}
	return w.boolean("compressed", h.Compressed).i32("bodyCrc32", h.BodyCRC32).f
}

// RegisterBrokerResult is the reply header of REGISTER_BROKER: how a slave
// finds its master.
type RegisterBrokerResult struct {
	HAServerAddr string
	MasterAddr   string
}

// Fields encodes the register reply header.
func (h RegisterBrokerResult) Fields() remoting.Fields {
	return newFieldWriter(2).str("haServerAddr", h.HAServerAddr).str("masterAddr", h.MasterAddr).f
}

// ParseRegisterBrokerResult decodes the register reply header.
func ParseRegisterBrokerResult(f remoting.Fields) RegisterBrokerResult {
	return RegisterBrokerResult{HAServerAddr: f.Value("haServerAddr"), MasterAddr: f.Value("masterAddr")}
}

// QueryMessageHeader is the header of QUERY_MESSAGE (12): messages by key
// (or by UNIQ_KEY when extField _UNIQUE_KEY_QUERY is "true").
type QueryMessageHeader struct {
	Topic          string
	Key            string
	MaxNum         int32
	BeginTimestamp int64
	EndTimestamp   int64
	UniqueKeyQuery bool
}

// ParseQueryMessageHeader decodes a query-message header.
func ParseQueryMessageHeader(f remoting.Fields) (QueryMessageHeader, error) {
	r := fieldReader{f: f}
	h := QueryMessageHeader{
		Topic:          r.str("topic", true),
		Key:            r.str("key", true),
		MaxNum:         r.i32("maxNum", false),
		BeginTimestamp: r.i64("beginTimestamp", false),
		EndTimestamp:   r.i64("endTimestamp", false),
		UniqueKeyQuery: r.boolean("_UNIQUE_KEY_QUERY"),
	}
	return h, r.err
}

// Fields encodes the query-message header.
func (h QueryMessageHeader) Fields() remoting.Fields {
	w := newFieldWriter(6)
	w.str("topic", h.Topic).str("key", h.Key).i32("maxNum", h.MaxNum).
		i64("beginTimestamp", h.BeginTimestamp).i64("endTimestamp", h.EndTimestamp)
	if h.UniqueKeyQuery {
		w.str("_UNIQUE_KEY_QUERY", "true")
	}
	return w.f
}

// ParseInt64Field reads a required integer extField (e.g. the offset of
// VIEW_MESSAGE_BY_ID).
func ParseInt64Field(f remoting.Fields, key string) (int64, error) {
	r := fieldReader{f: f}
	v := r.i64(key, true)
	return v, r.err
}

// ParseStringField reads a required string extField (e.g. topic or
// consumerGroup).
func ParseStringField(f remoting.Fields, key string) (string, error) {
	r := fieldReader{f: f}
	v := r.str(key, true)
	return v, r.err
}
