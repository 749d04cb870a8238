package client

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// localRetryDelay is how long a failed message that could not be handed
// back to the broker waits before it is consumed again locally.
const localRetryDelay = 5 * time.Second

// innerProducerGroup is the producer group of a consumer's own sends (the
// send-back fallback), as RocketMQ names it.
const innerProducerGroup = "CLIENT_INNER_PRODUCER"

// dispatch splits pulled messages into handler batches (one topic each)
// and queues them for the workers.
func (c *PushConsumer) dispatch(ctx context.Context, pq *processQueue, msgs []*MessageExt) {
	for len(msgs) > 0 {
		n := 1
		for n < len(msgs) && n < c.opts.ConsumeBatchSize && msgs[n].Topic == msgs[0].Topic {
			n++
		}
		select {
		case c.tasks <- consumeTask{pq: pq, msgs: msgs[:n]}:
		case <-ctx.Done():
			return
		}
		msgs = msgs[n:]
	}
}

func (c *PushConsumer) worker() {
	defer c.workers.Done()
	for {
		select {
		case t := <-c.tasks:
			c.consume(t)
		case <-c.quit:
			return
		}
	}
}

// consume runs the handler on one batch and commits what it can: the
// queue's offset moves to its lowest unprocessed message.
func (c *PushConsumer) consume(t consumeTask) {
	if t.pq.dropped.Load() || c.stopping.Load() {
		return // the queue moved on, or redelivery after restart
	}
	b := c.consumerBase
	done := t.msgs
	if c.handle(t.msgs) == ConsumeSuccess {
		b.stats.add(cConsumed, int64(len(t.msgs)))
	} else {
		b.stats.add(cConsumeFailures, int64(len(t.msgs)))
		if c.opts.Model == Broadcasting {
			b.log.Warn("broadcast message failed; dropped", "queue", t.pq.mq.String(), "count", len(t.msgs))
		} else {
			done = done[:0:0]
			var later []*MessageExt
			for _, m := range t.msgs {
				if err := c.sendBack(c.ctx, t.pq.mq, m, int32(c.opts.RetryDelayLevel)); err != nil {
					b.log.Warn("send back failed; consuming again locally", "msg_id", m.MsgID, "err", err)
					later = append(later, m)
					continue
				}
				done = append(done, m)
			}
			if len(later) > 0 {
				c.retryLocally(t.pq, later)
			}
		}
	}
	off := t.pq.remove(done)
	if !t.pq.dropped.Load() {
		b.offsets.update(t.pq.mq, off, true)
	}
}

// handle calls the topic's handler, turning a panic into
// ConsumeRetryLater.
func (c *PushConsumer) handle(msgs []*MessageExt) (res ConsumeResult) {
	s := c.subscription(msgs[0].Topic)
	if s == nil || s.handler == nil {
		c.log.Warn("no handler for topic; messages skipped", "topic", msgs[0].Topic, "count", len(msgs))
		return ConsumeSuccess
	}
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("message handler panicked", "topic", msgs[0].Topic, "panic", p)
			res = ConsumeRetryLater
		}
	}()
	return s.handler(c.ctx, msgs)
}

// retryLocally consumes msgs again after a pause, when the broker would
// not take them back; their offsets stay uncommitted meanwhile.
func (c *PushConsumer) retryLocally(pq *processQueue, msgs []*MessageExt) {
	c.retries.Add(1)
	go func() {
		defer c.retries.Done()
		if sleepCtx(c.ctx, localRetryDelay) != nil || c.stopping.Load() {
			return
		}
		for _, m := range msgs {
			m.ReconsumeTimes++
		}
		select {
		case c.tasks <- consumeTask{pq: pq, msgs: msgs}:
		case <-c.quit:
		}
	}()
}

// sendBack hands a failed message back to the broker that stored it
// (CONSUMER_SEND_MSG_BACK): it returns through %RETRY%<group> after
// delayLevel (0: the broker's 3+reconsumeTimes), or goes to %DLQ%<group>
// when delayLevel is negative or the retries are spent. If the broker
// refuses, the message is sent to the retry topic directly.
func (c *PushConsumer) sendBack(ctx context.Context, mq MessageQueue, m *MessageExt, delayLevel int32) error {
	addr := c.cl.routes.masterAddr(mq.BrokerName)
	if addr == "" {
		return fmt.Errorf("send back %s: broker %s has no master: %w", m.MsgID, mq.BrokerName, ErrNoRoute)
	}
	h := protocol.SendBackHeader{
		Offset: m.CommitLogOffset, Group: c.opts.Group, DelayLevel: delayLevel, OriginMsgID: m.MsgID,
		OriginTopic: m.Topic, MaxReconsumeTimes: c.maxReconsumeTimes(), BrokerName: mq.BrokerName,
	}
	sctx, cancel := context.WithTimeout(ctx, c.cl.opts.RPCTimeout)
	defer cancel()
	req := remoting.NewRequest(protocol.ConsumerSendMsgBack, h.Fields(), nil)
	_, err := c.cl.call(sctx, "send back "+m.MsgID, addr, req)
	if err != nil {
		c.log.Info("send back refused; sending to the retry topic", "msg_id", m.MsgID, "err", err)
		err = c.sendToRetryTopic(sctx, addr, mq.BrokerName, m, delayLevel)
	}
	if err == nil {
		c.stats.add(cSentBack, 1)
	}
	return err
}

// sendToRetryTopic is the send-back fallback: SEND_MESSAGE to
// %RETRY%<group> with reconsumeTimes+1, RETRY_TOPIC, ORIGIN_MESSAGE_ID and
// DELAY. A message past its retries gets a reconsume count above the
// maximum, which makes the broker store it in the DLQ.
func (c *PushConsumer) sendToRetryTopic(ctx context.Context, addr, brokerName string, m *MessageExt, delayLevel int32) error {
	maxTimes := c.maxReconsumeTimes()
	times := m.ReconsumeTimes + 1
	props := maps.Clone(m.Properties)
	if props == nil {
		props = make(map[string]string)
	}
	if props[message.PropertyRetryTopic] == "" {
		props[message.PropertyRetryTopic] = m.Topic
	}
	if props[message.PropertyOriginMessageID] == "" {
		props[message.PropertyOriginMessageID] = m.MsgID
	}
	for _, k := range []string{message.PropertyTransactionPrepared, message.PropertyRealTopic, message.PropertyRealQueueID, message.PropertyDelayLevel} {
		delete(props, k)
	}
	switch {
	case delayLevel < 0:
		times = max(times, maxTimes+1)
	case delayLevel > 0:
		props[message.PropertyDelayLevel] = strconv.Itoa(int(delayLevel))
	default:
		props[message.PropertyDelayLevel] = strconv.Itoa(int(min(3+m.ReconsumeTimes, int32(message.MaxDelayLevel))))
	}
	props[message.PropertyReconsumeTime] = strconv.Itoa(int(times))
	props[message.PropertyMaxReconsumeTimes] = strconv.Itoa(int(maxTimes))
	h := protocol.SendHeader{
		ProducerGroup: innerProducerGroup, Topic: message.RetryTopic(c.opts.Group), DefaultTopic: message.TopicDefault,
		DefaultTopicQueueNums: defaultTopicQueueNums, BornTimestamp: m.BornTimestamp, Flag: m.Flag,
		Properties: string(message.EncodeProperties(props)), ReconsumeTimes: times, MaxReconsumeTimes: maxTimes,
		BrokerName: brokerName,
	}
	_, err := c.cl.call(ctx, "send to retry topic", addr, remoting.NewRequest(protocol.SendMessage, h.Fields(false), m.Body),
		protocol.Success, protocol.FlushDiskTimeout, protocol.FlushSlaveTimeout, protocol.SlaveNotAvailable)
	return err
}
