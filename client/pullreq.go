package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// PullStatus is the outcome of one pull.
type PullStatus int

// Pull statuses (the broker's codes 0, 19, 20 and 21).
const (
	// PullFound: messages were returned.
	PullFound PullStatus = iota
	// PullNoNewMsg: the offset is the queue's end (19).
	PullNoNewMsg
	// PullNoMatchedMsg: messages exist but none matched the filter (20).
	PullNoMatchedMsg
	// PullOffsetIllegal: the offset is outside the queue (21); resume at
	// NextBeginOffset.
	PullOffsetIllegal
)

// String names the status.
func (s PullStatus) String() string {
	switch s {
	case PullFound:
		return "FOUND"
	case PullNoNewMsg:
		return "NO_NEW_MSG"
	case PullNoMatchedMsg:
		return "NO_MATCHED_MSG"
	}
	return "OFFSET_ILLEGAL"
}

// PullResult is the outcome of a pull from one queue.
type PullResult struct {
	Status PullStatus
	// NextBeginOffset is where the next pull of the queue starts.
	NextBeginOffset int64
	// MinOffset and MaxOffset bound the queue (MaxOffset is the offset the
	// next message will get).
	MinOffset, MaxOffset int64
	// Messages are the messages found that match the subscription, in
	// offset order.
	Messages []*MessageExt
	// suggested is the broker id to pull from next.
	suggested int64
}

// pullParams is one PULL_MESSAGE.
type pullParams struct {
	mq       MessageQueue
	sub      *subscription
	offset   int64
	max      int
	commit   int64 // piggybacked commit when > 0 and pulling from the master
	suspend  bool  // long polling
	brokerID int64 // suggested broker id
}

// pull sends one PULL_MESSAGE and interprets the reply.
func (b *consumerBase) pull(ctx context.Context, p pullParams) (*PullResult, error) {
	addr, master := b.cl.routes.subscribeAddr(p.mq.BrokerName, p.brokerID)
	if addr == "" {
		if _, err := b.cl.routes.forConsumer(ctx, p.mq.Topic); err != nil {
			return nil, fmt.Errorf("pull %s: %w", p.mq, err)
		}
		if addr, master = b.cl.routes.subscribeAddr(p.mq.BrokerName, p.brokerID); addr == "" {
			return nil, fmt.Errorf("pull %s: broker unknown: %w", p.mq, ErrNoRoute)
		}
	}
	h := protocol.PullHeader{
		ConsumerGroup: b.opts.Group, Topic: p.mq.Topic, QueueID: p.mq.QueueID, QueueOffset: p.offset,
		MaxMsgNums: int32(p.max), SysFlag: protocol.PullFlagSubscription, Subscription: p.sub.expr,
		SubVersion: p.sub.version, ExpressionType: protocol.ExpressionTag, BrokerName: p.mq.BrokerName,
	}
	timeout := b.opts.PullTimeout
	if p.suspend {
		h.SysFlag |= protocol.PullFlagSuspend
		h.SuspendTimeoutMillis = b.opts.LongPollTimeout.Milliseconds()
	} else {
		timeout = min(timeout, b.cl.opts.RPCTimeout+b.opts.LongPollTimeout)
	}
	if p.commit > 0 && master {
		h.SysFlag |= protocol.PullFlagCommitOffset
		h.CommitOffset = p.commit
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := b.cl.invoke(pctx, addr, remoting.NewRequest(protocol.PullMessage, h.Fields(), nil))
	if err != nil {
		b.stats.add(cPullErrors, 1)
		return nil, fmt.Errorf("pull %s: %w", p.mq, err)
	}
	res, err := b.pullResult(p, addr, resp)
	if err != nil {
		b.stats.add(cPullErrors, 1)
		return nil, err
	}
	b.stats.add(cPulls, 1)
	b.stats.add(cPulled, int64(len(res.Messages)))
	return res, nil
}

func (b *consumerBase) pullResult(p pullParams, addr string, resp *remoting.Command) (*PullResult, error) {
	res := &PullResult{}
	switch resp.Code {
	case protocol.Success:
		res.Status = PullFound
	case protocol.PullNotFound:
		res.Status = PullNoNewMsg
	case protocol.PullRetryImmediately:
		res.Status = PullNoMatchedMsg
	case protocol.PullOffsetMoved:
		res.Status = PullOffsetIllegal
	default:
		return nil, &BrokerError{Op: "pull " + p.mq.String(), Addr: addr, Code: resp.Code, Remark: resp.Remark}
	}
	// A reply without nextBeginOffset must not be read as 0: that would
	// rewind the queue.
	h, err := protocol.ParsePullResponseHeader(resp.ExtFields)
	if err != nil {
		return nil, fmt.Errorf("pull %s from %s: malformed reply: %w", p.mq, addr, err)
	}
	res.NextBeginOffset, res.MinOffset, res.MaxOffset, res.suggested = h.NextBeginOffset, h.MinOffset, h.MaxOffset, h.SuggestWhichBrokerID
	if res.Status != PullFound {
		return res, nil
	}
	msgs, err := message.DecodeMessages(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("pull %s from %s: %w", p.mq, addr, err)
	}
	res.Messages = msgs[:0]
	for _, m := range msgs {
		if m.QueueOffset < p.offset || !p.sub.matches(m.Tags()) {
			continue
		}
		res.Messages = append(res.Messages, m)
	}
	if len(res.Messages) == 0 {
		res.Status = PullNoMatchedMsg
	}
	return res, nil
}

// longPoll makes one long-polling pull of pq from next, piggybacking the
// committed offset. It returns nil after a failure (logged, and paused for
// PullRetryDelay) or when ctx is done.
func (b *consumerBase) longPoll(ctx context.Context, pq *processQueue, sub *subscription, next int64) *PullResult {
	commit := int64(-1)
	if off, ok := b.offsets.get(pq.mq); ok {
		commit = off
	}
	res, err := b.pull(ctx, pullParams{mq: pq.mq, sub: sub, offset: next, max: b.opts.PullBatchSize,
		commit: commit, suspend: true, brokerID: pq.brokerID.Load()})
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("pull failed; retrying later", "queue", pq.mq.String(), "err", err)
			_ = sleepCtx(ctx, b.opts.PullRetryDelay)
		}
		return nil
	}
	pq.brokerID.Store(res.suggested)
	return res
}

// relock waits a moment and asks the broker for an orderly queue's lock
// again; the queue's consumer is woken when it is granted.
func (b *consumerBase) relock(ctx context.Context, pq *processQueue) {
	if sleepCtx(ctx, time.Second) != nil {
		return
	}
	if len(b.lockQueues(ctx, []MessageQueue{pq.mq})) == 1 {
		pq.markLocked(true)
		signal(pq.work)
	}
}

// restoreRetryTopic gives a message consumed from the group's retry topic
// back its original topic (RETRY_TOPIC), as RocketMQ's consumers do.
func restoreRetryTopic(m *MessageExt, retryTopic string) {
	if m.Topic != retryTopic {
		return
	}
	if t := m.Properties[message.PropertyRetryTopic]; t != "" && !strings.HasPrefix(t, message.RetryTopicPrefix) {
		m.Topic = t
	}
}
