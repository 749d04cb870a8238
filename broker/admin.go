package broker

import (
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// routes is the broker's dispatch table.
func (b *Broker) routes() *remoting.Mux {
	m := remoting.NewMux()
	m.HandleInlineBatch(b.handleSends, protocol.SendMessage, protocol.SendMessageV2, protocol.SendBatchMessage)
	m.Handle(protocol.PullMessage, b.handlePull)
	m.Handle(protocol.HeartBeat, b.handleHeartbeat)
	m.Handle(protocol.UnregisterClient, b.handleUnregisterClient)
	m.Handle(protocol.GetConsumerListByGroup, b.handleConsumerList)
	m.Handle(protocol.QueryConsumerOffset, b.handleQueryOffset)
	m.Handle(protocol.UpdateConsumerOffset, b.handleUpdateOffset)
	for _, code := range []int16{protocol.GetMaxOffset, protocol.GetMinOffset, protocol.SearchOffsetByTimestamp} {
		m.Handle(code, b.handleQueueOffset)
	}
	m.Handle(protocol.LockBatchMQ, b.handleLockBatch)
	m.Handle(protocol.UnlockBatchMQ, b.handleUnlockBatch)
	m.Handle(protocol.ConsumerSendMsgBack, b.handleSendBack)
	m.Handle(protocol.UpdateAndCreateTopic, b.handleCreateTopic)
	m.Handle(protocol.DeleteTopicInBroker, b.handleDeleteTopic)
	m.Handle(protocol.QueryMessage, b.handleQueryMessage)
	m.Handle(protocol.ViewMessageByID, b.handleViewMessage)
	m.Handle(protocol.GetAllTopicConfig, b.handleAllTopicConfig)
	m.Handle(protocol.GetAllConsumerOffset, b.handleAllConsumerOffset)
	m.Handle(protocol.GetAllSubscriptionGroupConfig, b.handleAllGroupConfig)
	m.Handle(protocol.GetAllDelayOffset, b.handleAllDelayOffset)
	m.Handle(protocol.UpdateBrokerConfig, refuseRemoteConfig)
	m.Handle(protocol.GetBrokerRuntimeInfo, b.handleRuntimeInfo)
	return m
}

// refuseRemoteConfig answers UPDATE_BROKER_CONFIG: configuration never
// changes over the wire (CVE-2023-33246 was remote code execution through
// exactly this call).
func refuseRemoteConfig(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	return nil, remoting.Errorf(protocol.NoPermission, "remote configuration updates are disabled; edit the broker's config file")
}

// handleCreateTopic serves UPDATE_AND_CREATE_TOPIC (17).
func (b *Broker) handleCreateTopic(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseCreateTopicHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	if !b.isMaster() {
		return nil, remoting.Errorf(protocol.NoPermission, "broker %s (id %d) is a slave: create topics on its master", b.opts.BrokerName, b.opts.BrokerID)
	}
	if err := message.ValidateTopic(h.Topic); err != nil {
		return nil, remoting.Errorf(protocol.InvalidParameter, "topic %q: %v", h.Topic, err)
	}
	if isSystemTopic(h.Topic) {
		return nil, remoting.Errorf(protocol.NoPermission, "topic %s is a system topic", h.Topic)
	}
	if h.ReadQueueNums <= 0 || h.WriteQueueNums <= 0 || h.ReadQueueNums > 1024 || h.WriteQueueNums > 1024 {
		return nil, remoting.Errorf(protocol.InvalidParameter, "queue numbers %d/%d must be in 1-1024", h.ReadQueueNums, h.WriteQueueNums)
	}
	if h.Perm&^(protocol.PermRead|protocol.PermWrite|protocol.PermInherit|protocol.PermPriority) != 0 {
		return nil, remoting.Errorf(protocol.InvalidParameter, "perm %d is not a combination of 1, 2, 4, 8", h.Perm)
	}
	cfg := newTopicConfig(h.Topic, 0, h.Perm)
	cfg.ReadQueueNums, cfg.WriteQueueNums, cfg.TopicSysFlag, cfg.Order = h.ReadQueueNums, h.WriteQueueNums, h.TopicSysFlag, h.Order
	if h.TopicFilterType != "" {
		cfg.TopicFilterType = h.TopicFilterType
	}
	if err := b.topics.Put(cfg); err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "create topic %s: %v", h.Topic, err)
	}
	b.logger.Info("topic created or updated", "topic", h.Topic, "read_queues", h.ReadQueueNums, "write_queues", h.WriteQueueNums, "perm", h.Perm)
	return req.NewResponse(protocol.Success, ""), nil
}

// handleDeleteTopic serves DELETE_TOPIC_IN_BROKER (215): the topic's
// configuration, queues and consumer offsets go.
func (b *Broker) handleDeleteTopic(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topic, err := protocol.ParseStringField(req.ExtFields, "topic")
	if err != nil {
		return nil, err
	}
	if !b.isMaster() {
		return nil, remoting.Errorf(protocol.NoPermission, "broker %s (id %d) is a slave: delete topics on its master", b.opts.BrokerName, b.opts.BrokerID)
	}
	if isSystemTopic(topic) {
		return nil, remoting.Errorf(protocol.NoPermission, "topic %s is a system topic", topic)
	}
	if _, err := b.topics.Delete(topic); err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "delete topic %s: %v", topic, err)
	}
	b.offsets.DeleteTopic(topic)
	if err := b.store.DeleteTopic(topic); err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "delete queues of %s: %v", topic, err)
	}
	b.logger.Info("topic deleted", "topic", topic)
	return req.NewResponse(protocol.Success, ""), nil
}

// handleQueryMessage serves QUERY_MESSAGE (12): messages of a topic by key,
// or by UNIQ_KEY with _UNIQUE_KEY_QUERY. The body is the stored records.
func (b *Broker) handleQueryMessage(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseQueryMessageHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	maxNum := int(h.MaxNum)
	if maxNum <= 0 || maxNum > 64 {
		maxNum = 64
	}
	end := h.EndTimestamp
	if end <= 0 {
		end = b.opts.Now().UnixMilli() + 1
	}
	offsets, err := b.store.QueryByKey(h.Topic, h.Key, maxNum, h.BeginTimestamp, end)
	if err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "query index: %v", err)
	}
	var body []byte
	for _, off := range offsets {
		rec, err := b.store.ReadRecord(off)
		if err != nil {
			continue // removed by retention since it was indexed
		}
		body = append(body, rec...)
	}
	if len(body) == 0 {
		return req.NewResponse(protocol.QueryNotFound, "no message of topic "+h.Topic+" with key "+h.Key), nil
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = remoting.Fields{{Key: "indexLastUpdateTimestamp", Value: itoa(b.opts.Now().UnixMilli())},
		{Key: "indexLastUpdatePhyoffset", Value: itoa(b.store.MaxPhysicalOffset())}}
	resp.Body = body
	return resp, nil
}

// handleViewMessage serves VIEW_MESSAGE_BY_ID (33): the record at a
// commitlog offset (decoded from an offsetMsgId by the client).
func (b *Broker) handleViewMessage(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	off, err := protocol.ParseInt64Field(req.ExtFields, "offset")
	if err != nil {
		return nil, err
	}
	rec, err := b.store.ReadRecord(off)
	if err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "can not find message by the offset %d: %v", off, err)
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = rec
	return resp, nil
}

func (b *Broker) handleAllTopicConfig(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = protocol.Encode(b.topics.Snapshot())
	return resp, nil
}

func (b *Broker) handleAllConsumerOffset(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = b.offsets.Encode()
	return resp, nil
}

func (b *Broker) handleAllGroupConfig(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = b.groups.Encode()
	return resp, nil
}

func (b *Broker) handleAllDelayOffset(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = b.delays.encode()
	return resp, nil
}

// isSystemTopic reports topics clients may not create or delete.
func isSystemTopic(t string) bool {
	return t == message.TopicDefault || t == message.TopicSchedule || strings.HasPrefix(t, "rmq_sys_")
}
