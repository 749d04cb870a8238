package broker

import (
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// retryOrDLQ routes a message a client sends straight to %RETRY%<group> (its
// fallback when CONSUMER_SEND_MSG_BACK fails): past the group's retry
// budget it goes to %DLQ%<group> instead.
func (b *Broker) retryOrDLQ(topic string, queueID int32, h protocol.SendHeader) (string, int32, error) {
	group := strings.TrimPrefix(topic, message.RetryTopicPrefix)
	g, err := b.group(group)
	if err != nil {
		return "", 0, err
	}
	maxTimes := h.MaxReconsumeTimes
	if maxTimes <= 0 {
		maxTimes = g.RetryMaxTimes
	}
	if h.ReconsumeTimes > maxTimes {
		b.logger.Info("message exceeded its retries, sending to DLQ", "group", group, "reconsume_times", h.ReconsumeTimes)
		return message.DLQTopic(group), 0, nil
	}
	return topic, queueID, nil
}

// group returns a consumer group's configuration, creating it when allowed.
func (b *Broker) group(name string) (GroupConfig, error) {
	g, ok, err := b.groups.Ensure(name, b.opts.AutoCreateSubscriptionGroup, b.opts.MaxReconsumeTimes)
	if err != nil {
		return g, remoting.Errorf(protocol.InvalidParameter, "%v", err)
	}
	if !ok {
		return g, remoting.Errorf(protocol.SubscriptionGroupNotExist, "subscription group %s does not exist", name)
	}
	return g, nil
}

// handleSendBack serves CONSUMER_SEND_MSG_BACK (36): a consumer failed to
// process the message stored at offset and hands it back. It is stored again
// in %RETRY%<group> with a delay of level 3+reconsumeTimes (or the level the
// client asks for), or in %DLQ%<group> once the retries are spent or the
// client asks for it with a negative level.
func (b *Broker) handleSendBack(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := protocol.ParseSendBackHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	if !b.isMaster() {
		return nil, remoting.Errorf(protocol.ServiceNotAvailable, "broker %s is a slave and does not accept writes", b.opts.BrokerName)
	}
	g, err := b.group(h.Group)
	if err != nil {
		return nil, err
	}
	raw, err := b.store.ReadRecord(h.Offset)
	if err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "look up message at commitlog offset %d: %v", h.Offset, err)
	}
	orig, _, err := message.DecodeRecord(raw, false)
	if err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "decode message at commitlog offset %d: %v", h.Offset, err)
	}
	maxTimes := h.MaxReconsumeTimes
	if maxTimes <= 0 {
		maxTimes = g.RetryMaxTimes
	}
	props := b.sendBackProperties(orig, h)
	topic, level := message.RetryTopic(h.Group), int(h.DelayLevel)
	if orig.ReconsumeTimes >= maxTimes || level < 0 {
		topic, level = message.DLQTopic(h.Group), 0
	} else if level == 0 {
		level = 3 + int(orig.ReconsumeTimes)
	}
	if _, err := b.topics.Ensure(topic, 1, protocol.PermReadWrite); err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "create topic %s: %v", topic, err)
	}
	if level > 0 {
		props = setProperty(props, message.PropertyDelayLevel, strconv.Itoa(level))
	}
	rec := &message.Record{
		Topic: topic, QueueID: 0, Flag: orig.Flag, SysFlag: orig.SysFlag, BornTimestamp: orig.BornTimestamp,
		BornHost: orig.BornHost, StoreHost: b.storeHost, ReconsumeTimes: orig.ReconsumeTimes + 1,
		Body: orig.Body, Properties: props,
	}
	b.applyDelay(rec)
	res, err := b.store.PutMessage(rec)
	if err != nil {
		return nil, putError(err)
	}
	b.appended()
	if err := b.waitDurable(res.End); err != nil {
		return nil, remoting.Errorf(protocol.SystemError, "flush: %v", err)
	}
	return req.NewResponse(protocol.Success, ""), nil
}

// sendBackProperties keeps the first topic a message was sent to
// (RETRY_TOPIC) and its first id (ORIGIN_MESSAGE_ID) across retries, and
// drops the previous delay routing.
func (b *Broker) sendBackProperties(orig message.Record, h protocol.SendBackHeader) []byte {
	props := removeProperties(orig.Properties, message.PropertyDelayLevel, message.PropertyRealTopic, message.PropertyRealQueueID)
	if _, ok := message.LookupProperty(props, message.PropertyRetryTopic); !ok {
		props = appendProperty(props, message.PropertyRetryTopic, orig.Topic)
	}
	if _, ok := message.LookupProperty(props, message.PropertyOriginMessageID); !ok {
		origin := h.OriginMsgID
		if origin == "" {
			if u, ok := message.LookupProperty(props, message.PropertyUniqKey); ok {
				origin = string(u)
			} else {
				origin = message.OffsetMsgID(orig.StoreHost, orig.PhysicalOffset)
			}
		}
		props = appendProperty(props, message.PropertyOriginMessageID, origin)
	}
	return props
}

// applyDelay parks a message with a DELAY level in the schedule topic's
// queue for that level, remembering its real topic and queue; the delay
// service moves it back when due.
func (b *Broker) applyDelay(rec *message.Record) {
	level := message.DelayLevelFromProperties(rec.Properties)
	if level <= 0 {
		return
	}
	props := removeProperties(rec.Properties, message.PropertyRealTopic, message.PropertyRealQueueID)
	props = appendProperty(props, message.PropertyRealTopic, rec.Topic)
	rec.Properties = appendProperty(props, message.PropertyRealQueueID, strconv.Itoa(int(rec.QueueID)))
	rec.Topic, rec.QueueID = message.TopicSchedule, int32(level-1)
}

// waitDurable blocks until the store has fsynced up to end under
// SYNC_FLUSH; for handlers that already run on their own goroutine.
func (b *Broker) waitDurable(end int64) error {
	if b.opts.Store.FlushMode != store.FlushSync {
		return nil
	}
	done := make(chan error, 1)
	b.store.WaitDurable(end, func(err error) { done <- err })
	return <-done
}

// setProperty replaces key's value in raw properties.
func setProperty(props []byte, key, value string) []byte {
	if v, ok := message.LookupProperty(props, key); ok {
		if string(v) == value {
			return props
		}
		props = removeProperties(props, key)
	}
	return appendProperty(props, key, value)
}
