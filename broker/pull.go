package broker

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// defaultPullMsgs is used when a pull asks for no messages.
const defaultPullMsgs = 32

// pullRequest is a validated PULL_MESSAGE, possibly held for long polling.
type pullRequest struct {
	conn     *remoting.Conn
	req      *remoting.Command
	h        protocol.PullHeader
	maxMsgs  int
	sub      *subscription
	group    GroupConfig
	deadline time.Time
}

// handlePull serves PULL_MESSAGE (11). With the suspend flag and nothing to
// return, the request is held (long polling) until a message for its queue
// is dispatched or its hold time runs out; the reply then comes from the
// hold service.
func (b *Broker) handlePull(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParsePullHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	p, err := b.preparePull(c, req, h)
	if err != nil {
		return nil, err
	}
	if h.SysFlag&protocol.PullFlagCommitOffset != 0 && b.isMaster() {
		b.commitOffset(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset)
	}
	return b.doPull(p, true), nil
}

func (b *Broker) preparePull(c *remoting.Conn, req *remoting.Command, h protocol.PullHeader) (*pullRequest, error) {
	cfg, ok := b.topics.Get(h.Topic)
	if !ok && !b.isMaster() {
		// The master may have created the topic since the last copy of its
		// table (and may be down now): serve what was replicated.
		b.requestMetadataSync()
		cfg, ok = b.replicatedTopic(h.Topic)
	}
	if !ok {
		return nil, remoting.Errorf(protocol.TopicNotExist, "topic[%s] not exist, apply first please!", h.Topic)
	}
	if cfg.Perm&protocol.PermRead == 0 {
		return nil, remoting.Errorf(protocol.NoPermission, "the topic[%s] pulling message is forbidden", h.Topic)
	}
	if h.QueueID < 0 || h.QueueID >= cfg.ReadQueueNums {
		return nil, remoting.Errorf(protocol.SystemError, "queueId[%d] is illegal, topic %s has %d read queues", h.QueueID, h.Topic, cfg.ReadQueueNums)
	}
	if h.QueueOffset < 0 {
		return nil, remoting.Errorf(protocol.InvalidParameter, "queueOffset %d is negative", h.QueueOffset)
	}
	g, err := b.group(h.ConsumerGroup)
	if err != nil {
		return nil, err
	}
	if !g.ConsumeEnable {
		return nil, remoting.Errorf(protocol.NoPermission, "subscription group %s may not consume", h.ConsumerGroup)
	}
	sub, err := b.pullSubscription(h)
	if err != nil {
		return nil, err
	}
	maxMsgs := int(h.MaxMsgNums)
	if maxMsgs <= 0 {
		maxMsgs = defaultPullMsgs
	}
	return &pullRequest{conn: c, req: req, h: h, maxMsgs: min(maxMsgs, b.opts.MaxPullMsgs), sub: sub, group: g}, nil
}

// replicatedTopic is a readable configuration for a topic a slave holds
// messages of but whose configuration it has not copied yet. A group's retry
// topic, which the master creates at the group's first heartbeat, reads as
// one empty queue until a message for it arrives: a consumer that moved to
// the slave while the master is down keeps polling it quietly.
func (b *Broker) replicatedTopic(topic string) (protocol.TopicConfig, bool) {
	qids := b.store.Topics()[topic]
	if len(qids) == 0 {
		if strings.HasPrefix(topic, message.RetryTopicPrefix) && validGroupName(strings.TrimPrefix(topic, message.RetryTopicPrefix)) {
			return newTopicConfig(topic, 1, protocol.PermRead), true
		}
		return protocol.TopicConfig{}, false
	}
	return newTopicConfig(topic, slices.Max(qids)+1, protocol.PermRead), true
}

// pullSubscription is the filter of a pull: the expression in the request
// when it carries one (lite pull), else the group's subscription from its
// heartbeats (push consumers send none).
func (b *Broker) pullSubscription(h protocol.PullHeader) (*subscription, error) {
	if h.SysFlag&protocol.PullFlagSubscription != 0 {
		if t := h.ExpressionType; t != "" && !strings.EqualFold(t, protocol.ExpressionTag) {
			return nil, remoting.Errorf(protocol.SubscriptionParseFailed, "expression type %s is not supported, use TAG", t)
		}
		return compileSubscription(protocol.SubscriptionData{Topic: h.Topic, SubString: h.Subscription}), nil
	}
	sub, ok := b.clients.Subscription(h.ConsumerGroup, h.Topic)
	if !ok {
		if !b.clients.HasGroup(h.ConsumerGroup) {
			return nil, remoting.Errorf(protocol.SubscriptionNotExist, "the consumer's group info of %s does not exist: send a heartbeat first", h.ConsumerGroup)
		}
		return nil, remoting.Errorf(protocol.SubscriptionNotExist, "the consumer group %s does not subscribe to topic %s", h.ConsumerGroup, h.Topic)
	}
	return sub, nil
}

// doPull reads the queue and builds the reply; it returns nil when mayHold
// allowed it to park the request in the hold service.
func (b *Broker) doPull(p *pullRequest, mayHold bool) *remoting.Command {
	h := p.h
	res, err := b.store.GetMessages(h.Topic, h.QueueID, h.QueueOffset, p.maxMsgs, b.opts.MaxPullBytes, p.sub.Matches)
	if err != nil {
		return p.req.NewResponse(protocol.SystemError, "read queue: "+err.Error())
	}
	code := pullCode(res.Status, h.QueueOffset)
	if code == protocol.PullOffsetMoved && !b.isMaster() && h.QueueOffset > res.MaxOffset {
		// A consumer ahead of a slave read from the master what has not
		// reached the slave yet. The slave cannot tell a lagging copy from a
		// bad offset, so it keeps the consumer's offset and waits for the data
		// (RocketMQ's slaves likewise never move an offset).
		code, res.NextBeginOffset = protocol.PullNotFound, h.QueueOffset
	}
	if code == protocol.PullNotFound && mayHold && h.SysFlag&protocol.PullFlagSuspend != 0 {
		hold := b.opts.MaxPullHold
		if h.SuspendTimeoutMillis > 0 {
			hold = min(hold, time.Duration(h.SuspendTimeoutMillis)*time.Millisecond)
		}
		p.deadline = time.Now().Add(hold)
		b.holds.hold(p)
		return nil
	}
	resp := p.req.NewResponse(code, res.Status.String())
	resp.ExtFields = protocol.PullResponseHeader{
		SuggestWhichBrokerID: b.suggestBroker(p.group, res),
		NextBeginOffset:      res.NextBeginOffset, MinOffset: res.MinOffset, MaxOffset: res.MaxOffset,
	}.Fields()
	if code == protocol.Success {
		resp.Body = res.Body
		b.stats.countGet(h.Topic, h.ConsumerGroup, res.Count, len(res.Body))
	}
	return resp
}

// suggestBroker is the broker id the consumer should pull from next
// (suggestWhichBrokerId): the group's configured broker when it names one;
// else, on a master with SlaveReadEnable, the group's slave for consumers so
// far behind that their messages are likely no longer in memory; else the
// master. A slave always points back to the master — when the master is
// down the client finds no master address and stays on the slave.
func (b *Broker) suggestBroker(g GroupConfig, res store.GetResult) int64 {
	if g.BrokerID > 0 {
		return g.BrokerID
	}
	if !b.isMaster() || !b.opts.SlaveReadEnable || res.Status != store.Found || len(res.Body) < message.OffPhysicalOffset+8 {
		return protocol.MasterID
	}
	phys := int64(binary.BigEndian.Uint64(res.Body[message.OffPhysicalOffset:]))
	if b.store.MaxPhysicalOffset()-phys > b.opts.SlowConsumerLagBytes {
		return max(g.WhichBrokerWhenConsumeSlowly, 1)
	}
	return protocol.MasterID
}

// pullCode maps a store status to the response code, as Apache RocketMQ's
// PullMessageProcessor does.
func pullCode(s store.GetStatus, offset int64) int16 {
	switch s {
	case store.Found:
		return protocol.Success
	case store.MessageWasRemoving, store.NoMatchedMessage:
		return protocol.PullRetryImmediately
	case store.NoMatchedLogicQueue, store.NoMessageInQueue:
		if offset != 0 {
			return protocol.PullOffsetMoved
		}
		return protocol.PullNotFound
	case store.OffsetFoundNull, store.OffsetOverflowOne:
		return protocol.PullNotFound
	case store.OffsetOverflowBadly, store.OffsetTooSmall:
		return protocol.PullOffsetMoved
	default:
		return protocol.SystemError
	}
}
