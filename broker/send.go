package broker

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// handleSends serves SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and
// SEND_BATCH_MESSAGE (320). It runs on the connection's read loop, so that
// messages pipelined on one connection are stored in the order they were
// sent, and it gets every send the connection had already buffered: their
// messages are appended with one write instead of one each. Replies go out
// when the messages are stored, or — under SYNC_FLUSH — from the store's
// flush callback, never blocking the loop.
func (b *Broker) handleSends(c *remoting.Conn, reqs []*remoting.Command) {
	var run []*pendingSend
	for _, req := range reqs {
		h, err := protocol.ParseSendHeader(req)
		if err == nil && (req.Code == protocol.SendBatchMessage || h.Batch) {
			b.storeSends(c, run) // keep order: earlier sends first
			run = run[:0]
			resp, err := b.sendBatch(c, req, h)
			b.reply(c, req, resp, err)
			continue
		}
		var p *pendingSend
		if err == nil {
			p, err = b.prepareSend(c, req, h)
		}
		if err != nil {
			c.Reply(req, remoting.ErrorResponse(req, err))
			continue
		}
		run = append(run, p)
	}
	b.storeSends(c, run)
}

// reply sends the outcome of a handler-style call.
func (b *Broker) reply(c *remoting.Conn, req *remoting.Command, resp *remoting.Command, err error) {
	if err != nil {
		resp = remoting.ErrorResponse(req, err)
	}
	if resp != nil {
		c.Reply(req, resp)
	}
}

// pendingSend is a validated single-message send ready to store.
type pendingSend struct {
	req     *remoting.Command
	rec     *message.Record
	topic   string // the topic the client sees (before delay routing)
	queueID int32
	uniq    string
}

func (b *Broker) prepareSend(c *remoting.Conn, req *remoting.Command, h protocol.SendHeader) (*pendingSend, error) {
	if err := b.checkBody(req.Body); err != nil {
		return nil, err
	}
	props := []byte(h.Properties)
	if err := checkProperties(props, h.SysFlag); err != nil {
		return nil, err
	}
	topic, queueID := h.Topic, h.QueueID
	if strings.HasPrefix(topic, message.RetryTopicPrefix) {
		var err error
		if topic, queueID, err = b.retryOrDLQ(topic, queueID, h); err != nil {
			return nil, err
		}
	}
	cfg, err := b.writableTopic(topic, h.DefaultTopic, h.DefaultTopicQueueNums)
	if err != nil {
		return nil, err
	}
	if queueID, err = pickQueue(cfg, queueID); err != nil {
		return nil, err
	}
	uniq, ok := message.LookupProperty(props, message.PropertyUniqKey)
	if !ok {
		id := b.uniq.Next()
		props = appendProperty(props, message.PropertyUniqKey, id)
		uniq = []byte(id)
	}
	props = setProperty(props, message.PropertyCluster, b.opts.ClusterName)
	rec := &message.Record{
		QueueID: queueID, Flag: h.Flag, SysFlag: h.SysFlag, BornTimestamp: h.BornTimestamp,
		BornHost: remoteAddrPort(c), StoreHost: b.storeHost, ReconsumeTimes: h.ReconsumeTimes,
		Body: req.Body, Topic: topic, Properties: props,
	}
	b.applyDelay(rec)
	return &pendingSend{req: req, rec: rec, topic: topic, queueID: queueID, uniq: string(uniq)}, nil
}

// storeSends appends a run of prepared sends and replies to each: at once,
// or once durable under SYNC_FLUSH (one wait for the whole run).
func (b *Broker) storeSends(c *remoting.Conn, run []*pendingSend) {
	if len(run) == 0 {
		return
	}
	var res []store.PutResult
	var errs []error
	if len(run) == 1 {
		r, err := b.store.PutMessage(run[0].rec)
		res, errs = []store.PutResult{r}, []error{err}
	} else {
		recs := make([]*message.Record, len(run))
		for i, p := range run {
			recs[i] = p.rec
		}
		res, errs = b.store.PutMessages(recs)
	}
	var waiting []*remoting.Command // requests answered after the flush
	var resps []*remoting.Command
	var end int64
	for i, p := range run {
		if errs[i] != nil {
			c.Reply(p.req, remoting.ErrorResponse(p.req, putError(errs[i])))
			continue
		}
		b.stats.countPut(p.topic, 1, len(p.req.Body))
		resp := p.req.NewResponse(protocol.Success, "")
		resp.ExtFields = protocol.SendResponseHeader{
			MsgID:         message.OffsetMsgID(b.storeHost, res[i].PhysicalOffset),
			QueueID:       p.queueID,
			QueueOffset:   res[i].QueueOffset,
			TransactionID: p.uniq,
		}.Fields()
		if b.hasDurabilityWait() && waits(p.rec.Properties) {
			waiting, resps, end = append(waiting, p.req), append(resps, resp), max(end, res[i].End)
			continue
		}
		c.Reply(p.req, resp)
	}
	b.appended()
	if len(waiting) > 0 {
		b.whenSafe(end, true, func(err error) {
			for i, req := range waiting {
				c.Reply(req, replyOutcome(resps[i], err))
			}
		})
	}
}

func (b *Broker) sendBatch(c *remoting.Conn, req *remoting.Command, h protocol.SendHeader) (*remoting.Command, error) {
	if strings.HasPrefix(h.Topic, message.RetryTopicPrefix) {
		return nil, remoting.Errorf(protocol.MessageIllegal, "batch messages to retry topic %s are not supported", h.Topic)
	}
	items, err := message.DecodeBatch(req.Body)
	if err != nil {
		return nil, remoting.Errorf(protocol.MessageIllegal, "batch body: %v", err)
	}
	if len(items) == 0 {
		return nil, remoting.Errorf(protocol.MessageIllegal, "empty batch")
	}
	cfg, err := b.writableTopic(h.Topic, h.DefaultTopic, h.DefaultTopicQueueNums)
	if err != nil {
		return nil, err
	}
	queueID, err := pickQueue(cfg, h.QueueID)
	if err != nil {
		return nil, err
	}
	bodyBytes := 0
	for _, it := range items {
		if err := checkProperties(it.Properties, h.SysFlag); err != nil {
			return nil, err
		}
		if message.DelayLevelFromProperties(it.Properties) > 0 {
			return nil, remoting.Errorf(protocol.MessageIllegal, "delay levels are not supported for batched messages")
		}
		bodyBytes += len(it.Body)
	}
	tmpl := &message.Record{
		Topic: h.Topic, QueueID: queueID, SysFlag: h.SysFlag, BornTimestamp: h.BornTimestamp,
		BornHost: remoteAddrPort(c), StoreHost: b.storeHost, ReconsumeTimes: h.ReconsumeTimes,
	}
	res, err := b.store.PutBatch(tmpl, items)
	if err != nil {
		return nil, putError(err)
	}
	b.stats.countPut(h.Topic, len(items), bodyBytes)
	ids := make([]string, len(res.PhysicalOffsets))
	for i, off := range res.PhysicalOffsets {
		ids[i] = message.OffsetMsgID(b.storeHost, off)
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = protocol.SendResponseHeader{
		MsgID: strings.Join(ids, ","), QueueID: queueID, QueueOffset: res.QueueOffset,
	}.Fields()
	b.appended()
	return b.replyWhenSafe(c, req, resp, res.End, nil)
}

// replyWhenSafe returns resp at once, or replies once the message is as
// safe as the broker's modes promise (see whenSafe), unless the message
// says WAIT=false.
func (b *Broker) replyWhenSafe(c *remoting.Conn, req, resp *remoting.Command, end int64, props []byte) (*remoting.Command, error) {
	if !waits(props) || !b.hasDurabilityWait() {
		return resp, nil
	}
	b.whenSafe(end, true, func(err error) { c.Reply(req, replyOutcome(resp, err)) })
	return nil, nil
}

// hasDurabilityWait reports whether sends wait for anything beyond the
// write: SYNC_FLUSH or SYNC_MASTER.
func (b *Broker) hasDurabilityWait() bool {
	return b.opts.Store.FlushMode == store.FlushSync || b.opts.Role == RoleSyncMaster && b.opts.InSyncReplicas > 1
}

// waits reports whether a message's reply may wait for durability: all
// but those sent with WAIT=false.
func waits(props []byte) bool {
	w, ok := message.LookupProperty(props, message.PropertyWaitStoreMsgOK)
	return !ok || string(w) != "false"
}

// writableTopic returns topic's configuration for a send, creating it from
// the default topic when auto-creation allows.
func (b *Broker) writableTopic(topic, defaultTopic string, defaultQueues int32) (cfgOut protocol.TopicConfig, err error) {
	if !b.isMaster() {
		return cfgOut, remoting.Errorf(protocol.ServiceNotAvailable, "broker %s (id %d) is a slave and does not accept writes", b.opts.BrokerName, b.opts.BrokerID)
	}
	if err := message.ValidateTopic(topic); err != nil {
		return cfgOut, remoting.Errorf(protocol.MessageIllegal, "topic %q: %v", topic, err)
	}
	if isSystemTopic(topic) {
		return cfgOut, remoting.Errorf(protocol.NoPermission, "topic %s is a system topic and cannot take messages", topic)
	}
	cfg, ok := b.topics.Get(topic)
	if !ok && (strings.HasPrefix(topic, message.RetryTopicPrefix) || strings.HasPrefix(topic, message.DLQTopicPrefix)) {
		cfg, err = b.topics.Ensure(topic, 1, protocol.PermReadWrite)
		ok = err == nil
	} else if !ok && defaultTopic != "" {
		cfg, ok, err = b.topics.CreateOnSend(topic, defaultTopic, defaultQueues)
		if ok {
			b.logger.Info("topic created on first send", "topic", topic, "queues", cfg.WriteQueueNums)
		}
	}
	if err != nil {
		return cfgOut, remoting.Errorf(protocol.SystemError, "create topic %s: %v", topic, err)
	}
	if !ok {
		return cfgOut, remoting.Errorf(protocol.TopicNotExist, "topic[%s] not exist, apply first please!", topic)
	}
	if cfg.Perm&protocol.PermWrite == 0 {
		return cfgOut, remoting.Errorf(protocol.NoPermission, "the topic[%s] sending message is forbidden", topic)
	}
	return cfg, nil
}

// pickQueue checks a requested queue id, choosing one when it is negative.
func pickQueue(cfg protocol.TopicConfig, queueID int32) (int32, error) {
	if queueID < 0 {
		return rand.Int32N(max(cfg.WriteQueueNums, 1)), nil
	}
	if limit := max(cfg.ReadQueueNums, cfg.WriteQueueNums); queueID >= limit {
		return 0, remoting.Errorf(protocol.SystemError, "request queueId[%d] is illegal: topic %s has %d queues", queueID, cfg.TopicName, limit)
	}
	return queueID, nil
}

func (b *Broker) checkBody(body []byte) error {
	if len(body) > message.MaxBodySize {
		return remoting.Errorf(protocol.MessageIllegal, "message body of %d bytes exceeds %d", len(body), message.MaxBodySize)
	}
	return nil
}

func checkProperties(props []byte, sysFlag int32) error {
	if err := message.ValidateRawProperties(props); err != nil {
		return remoting.Errorf(protocol.MessageIllegal, "message properties: %v", err)
	}
	if t := message.TransactionType(sysFlag); t != 0 {
		return remoting.Errorf(protocol.MessageIllegal, "transactional messages are not supported")
	}
	if v, ok := message.LookupProperty(props, message.PropertyTransactionPrepared); ok && string(v) == "true" {
		return remoting.Errorf(protocol.MessageIllegal, "transactional messages are not supported")
	}
	// RocketMQ 5's timer messages would otherwise be delivered at once: say
	// so rather than ignore the requested time.
	for _, k := range []string{message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS} {
		if _, ok := message.LookupProperty(props, k); ok {
			return remoting.Errorf(protocol.MessageIllegal, "timer messages (%s) are not supported; use a delay level (DELAY)", k)
		}
	}
	return nil
}

// appendProperty appends key=value to raw properties, replacing nothing:
// callers only add keys that are absent or that later readers look up last
// (DecodeProperties keeps the last duplicate).
func appendProperty(props []byte, key, value string) []byte {
	out := make([]byte, 0, len(props)+len(key)+len(value)+3)
	out = append(out, props...)
	if len(out) > 0 && out[len(out)-1] != message.PropertySeparator {
		out = append(out, message.PropertySeparator)
	}
	out = append(out, key...)
	out = append(out, message.NameValueSeparator)
	out = append(out, value...)
	return append(out, message.PropertySeparator)
}

// removeProperties drops keys from raw properties.
func removeProperties(props []byte, keys ...string) []byte {
	out := make([]byte, 0, len(props))
	for _, item := range bytes.Split(props, []byte{message.PropertySeparator}) {
		k, _, ok := bytes.Cut(item, []byte{message.NameValueSeparator})
		if !ok || len(k) == 0 {
			continue
		}
		drop := false
		for _, key := range keys {
			if string(k) == key {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, item...)
			out = append(out, message.PropertySeparator)
		}
	}
	return out
}

func putError(err error) error {
	switch {
	case errors.Is(err, store.ErrMessageIllegal), errors.Is(err, store.ErrPropertiesTooLong):
		return remoting.Errorf(protocol.MessageIllegal, "%v", err)
	case errors.Is(err, store.ErrServiceNotAvailable):
		return remoting.Errorf(protocol.ServiceNotAvailable, "%v", err)
	default:
		return remoting.Errorf(protocol.SystemError, "store message: %v", err)
	}
}

func remoteAddrPort(c *remoting.Conn) netip.AddrPort {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
