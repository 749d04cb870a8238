package broker

import (
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// connClient is what a connection's heartbeats told the broker.
type connClient struct {
	clientID string
}

// handleHeartbeat serves HEART_BEAT (34): it records the client's producer
// and consumer groups. For each consumer group it creates the group and its
// retry topic when missing, records the member's subscriptions (pulls from
// push consumers carry none, so they are filtered with these), and tells the
// group's members to rebalance when membership changed.
func (b *Broker) handleHeartbeat(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var hb protocol.HeartbeatData
	if err := protocol.Decode(req.Body, &hb); err != nil {
		return nil, remoting.Errorf(protocol.InvalidParameter, "heartbeat: %v", err)
	}
	if hb.ClientID == "" {
		return nil, remoting.Errorf(protocol.InvalidParameter, "heartbeat without clientID")
	}
	c.SetValue(&connClient{clientID: hb.ClientID})
	now := b.opts.Now()
	for _, cd := range hb.ConsumerDataSet {
		g, err := b.group(cd.GroupName)
		if err != nil {
			return nil, err
		}
		if b.isMaster() {
			if _, err := b.topics.Ensure(message.RetryTopic(cd.GroupName), g.RetryQueueNums, protocol.PermReadWrite); err != nil {
				return nil, remoting.Errorf(protocol.SystemError, "create retry topic of %s: %v", cd.GroupName, err)
			}
		}
		if b.clients.Register(c, hb.ClientID, cd, now) {
			b.logger.Info("consumer joined group", "group", cd.GroupName, "client", hb.ClientID, "remote", c.RemoteAddr().String())
			if g.NotifyConsumerIdsChangedEnable {
				b.notifyConsumersChanged(cd.GroupName)
			}
		}
	}
	for _, pd := range hb.ProducerDataSet {
		b.clients.RegisterProducer(c, hb.ClientID, pd.GroupName, now)
	}
	return req.NewResponse(protocol.Success, ""), nil
}

// handleUnregisterClient serves UNREGISTER_CLIENT (35), which Java clients
// send when a producer or consumer shuts down: only the named groups of the
// named client leave; the connection's other groups stay.
func (b *Broker) handleUnregisterClient(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	clientID, err := protocol.ParseStringField(req.ExtFields, "clientID")
	if err != nil {
		return nil, err
	}
	producerGroup, consumerGroup := req.ExtFields.Value("producerGroup"), req.ExtFields.Value("consumerGroup")
	if producerGroup != "" {
		b.clients.UnregisterProducer(clientID, producerGroup)
	}
	if consumerGroup != "" && b.clients.Unregister(clientID, consumerGroup) {
		b.logger.Info("consumer left group", "group", consumerGroup, "client", clientID)
		b.notifyConsumersChanged(consumerGroup)
	}
	return req.NewResponse(protocol.Success, ""), nil
}

// notifyConsumersChanged sends NOTIFY_CONSUMER_IDS_CHANGED to the group's
// members so they rebalance now rather than at their next 20 s tick. Clients
// never answer it.
func (b *Broker) notifyConsumersChanged(group string) {
	for _, c := range b.clients.groupConns(group) {
		req := remoting.NewRequest(protocol.NotifyConsumerIDsChanged, remoting.Fields{{Key: "consumerGroup", Value: group}}, nil)
		if err := c.Send(req); err != nil {
			b.logger.Debug("notify consumer ids changed", "group", group, "remote", c.RemoteAddr().String(), "err", err)
		}
	}
}

// handleConsumerList serves GET_CONSUMER_LIST_BY_GROUP (38). Clients ask a
// random broker, so every broker knows every member: each member heartbeats
// every broker of its topics.
func (b *Broker) handleConsumerList(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	group, err := protocol.ParseStringField(req.ExtFields, "consumerGroup")
	if err != nil {
		return nil, err
	}
	ids := b.clients.ConsumerIDs(group)
	if ids == nil {
		ids = []string{}
	}
	resp := req.NewResponse(protocol.Success, "")
	if len(ids) == 0 {
		resp.Code, resp.Remark = protocol.SystemError, "no consumer of group "+group+" is online"
	}
	resp.Body = protocol.Encode(protocol.ConsumerList{ConsumerIDList: ids})
	return resp, nil
}

// handleQueryOffset serves QUERY_CONSUMER_OFFSET (14). Without a commit it
// answers 0 when the queue still starts at offset 0, as Apache RocketMQ does
// for data in memory: otherwise a consumer that starts from the last offset
// would skip what was produced before its first rebalance.
func (b *Broker) handleQueryOffset(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseQueueHeader(req.ExtFields, true)
	if err != nil {
		return nil, err
	}
	off, ok := b.offsets.Get(h.Topic, h.ConsumerGroup, h.QueueID)
	if !ok {
		if b.store.MinOffset(h.Topic, h.QueueID) > 0 {
			return req.NewResponse(protocol.QueryNotFound, "no offset committed for this group and queue"), nil
		}
		off = 0
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = remoting.Fields{{Key: "offset", Value: itoa(off)}}
	return resp, nil
}

// handleUpdateOffset serves UPDATE_CONSUMER_OFFSET (15). Offsets outside
// [0, queue end] are refused: a commit past the end would silently skip the
// messages later stored there. The end counts messages stored but not yet
// indexed, so a commit made right after a send is never refused.
func (b *Broker) handleUpdateOffset(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseQueueHeader(req.ExtFields, true)
	if err != nil {
		return nil, err
	}
	if err := b.commitOffset(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset); err != nil {
		return nil, err
	}
	return req.NewResponse(protocol.Success, ""), nil
}

func (b *Broker) commitOffset(group, topic string, queueID int32, offset int64) error {
	if queueID < 0 {
		return remoting.Errorf(protocol.InvalidParameter, "queueId %d is negative", queueID)
	}
	if offset < 0 {
		return remoting.Errorf(protocol.InvalidParameter, "commit offset %d is negative", offset)
	}
	if end := b.store.AssignedOffset(topic, queueID); offset > end {
		return remoting.Errorf(protocol.InvalidParameter, "commit offset %d is beyond the end %d of %s queue %d", offset, end, topic, queueID)
	}
	b.offsets.Commit(topic, group, queueID, offset)
	return nil
}

// handleQueueOffset serves GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and
// SEARCH_OFFSET_BY_TIMESTAMP (29).
func (b *Broker) handleQueueOffset(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseQueueHeader(req.ExtFields, false)
	if err != nil {
		return nil, err
	}
	var off int64
	switch req.Code {
	case protocol.GetMaxOffset:
		off = b.store.MaxOffset(h.Topic, h.QueueID)
	case protocol.GetMinOffset:
		off = b.store.MinOffset(h.Topic, h.QueueID)
	default:
		if off, err = b.store.OffsetByTime(h.Topic, h.QueueID, h.Timestamp); err != nil {
			return nil, remoting.Errorf(protocol.SystemError, "search offset by time: %v", err)
		}
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = remoting.Fields{{Key: "offset", Value: itoa(off)}}
	return resp, nil
}

// handleLockBatch serves LOCK_BATCH_MQ (41) for orderly consumers.
func (b *Broker) handleLockBatch(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var body protocol.LockBatchRequest
	if err := protocol.Decode(req.Body, &body); err != nil {
		return nil, remoting.Errorf(protocol.InvalidParameter, "lock batch: %v", err)
	}
	if body.ConsumerGroup == "" || body.ClientID == "" {
		return nil, remoting.Errorf(protocol.InvalidParameter, "lock batch needs consumerGroup and clientId")
	}
	granted := b.locks.TryLock(body.ConsumerGroup, body.ClientID, body.MQSet, b.opts.Now())
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = protocol.Encode(protocol.LockBatchResponse{LockOKMQSet: granted})
	return resp, nil
}

// handleUnlockBatch serves UNLOCK_BATCH_MQ (42).
func (b *Broker) handleUnlockBatch(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var body protocol.LockBatchRequest
	if err := protocol.Decode(req.Body, &body); err != nil {
		return nil, remoting.Errorf(protocol.InvalidParameter, "unlock batch: %v", err)
	}
	b.locks.Unlock(body.ConsumerGroup, body.ClientID, body.MQSet)
	return req.NewResponse(protocol.Success, ""), nil
}
