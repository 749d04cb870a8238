package broker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
	"github.com/sluicehq/sluice/internal/testutil"
)

// wire talks to a broker with raw protocol requests, as Apache RocketMQ's
// Go client would (JSON headers, language GO, version 317), so these tests
// pin the broker's wire behaviour independently of Sluice's client.
type wire struct {
	t    *testing.T
	cl   *remoting.Client
	addr string
}

func newWire(t *testing.T, addr string) *wire {
	opts := remoting.DefaultClientOptions()
	opts.Serialize = remoting.SerializeJSON
	opts.Logger = testutil.Logger(t)
	cl := remoting.NewClient(opts)
	t.Cleanup(func() { cl.Close() })
	return &wire{t: t, cl: cl, addr: addr}
}

func (w *wire) call(code int16, fields remoting.Fields, body []byte) *remoting.Command {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := remoting.NewRequest(code, fields, body)
	req.Version = protocol.ClientVersion
	resp, err := w.cl.Invoke(ctx, w.addr, req)
	if err != nil {
		w.t.Fatalf("code %d: %v", code, err)
	}
	return resp
}

func sendHeader(topic string, queueID int32, props map[string]string) protocol.SendHeader {
	return protocol.SendHeader{
		ProducerGroup: "pg", Topic: topic, DefaultTopic: message.TopicDefault, DefaultTopicQueueNums: 4,
		QueueID: queueID, BornTimestamp: time.Now().UnixMilli(), Properties: string(message.EncodeProperties(props)),
		MaxReconsumeTimes: 16,
	}
}

// send sends one message and returns the reply.
func (w *wire) send(topic string, queueID int32, body string, props map[string]string) *remoting.Command {
	w.t.Helper()
	return w.call(protocol.SendMessage, sendHeader(topic, queueID, props).Fields(false), []byte(body))
}

// mustSend sends and requires SUCCESS, returning the queue offset.
func (w *wire) mustSend(topic string, queueID int32, body string, props map[string]string) int64 {
	w.t.Helper()
	resp := w.send(topic, queueID, body, props)
	if resp.Code != protocol.Success {
		w.t.Fatalf("send to %s/%d: code %d %s", topic, queueID, resp.Code, resp.Remark)
	}
	h, err := protocol.ParseSendResponseHeader(resp.ExtFields)
	if err != nil {
		w.t.Fatal(err)
	}
	return h.QueueOffset
}

func (w *wire) heartbeat(clientID, group string, subs ...protocol.SubscriptionData) {
	w.t.Helper()
	hb := protocol.HeartbeatData{ClientID: clientID, ConsumerDataSet: []protocol.ConsumerData{{
		GroupName: group, ConsumeType: protocol.ConsumePassively, MessageModel: protocol.Clustering,
		ConsumeFromWhere: protocol.ConsumeFromFirstOffset, SubscriptionDataSet: subs,
	}}}
	if resp := w.call(protocol.HeartBeat, nil, protocol.Encode(hb)); resp.Code != protocol.Success {
		w.t.Fatalf("heartbeat: %d %s", resp.Code, resp.Remark)
	}
}

func subAll(topic string) protocol.SubscriptionData {
	return protocol.SubscriptionData{Topic: topic, SubString: "*", ExpressionType: protocol.ExpressionTag}
}

type pulled struct {
	code int16
	hdr  protocol.PullResponseHeader
	msgs []*message.MessageExt
}

func (w *wire) pull(group, topic string, queueID int32, offset int64, sysFlag int32, suspendMillis int64) pulled {
	w.t.Helper()
	h := protocol.PullHeader{ConsumerGroup: group, Topic: topic, QueueID: queueID, QueueOffset: offset,
		MaxMsgNums: 32, SysFlag: sysFlag, SuspendTimeoutMillis: suspendMillis, ExpressionType: protocol.ExpressionTag}
	resp := w.call(protocol.PullMessage, h.Fields(), nil)
	var p pulled
	p.code = resp.Code
	hdr, err := protocol.ParsePullResponseHeader(resp.ExtFields)
	if err != nil && (resp.Code == protocol.Success || resp.Code >= protocol.PullNotFound && resp.Code <= protocol.PullOffsetMoved) {
		w.t.Fatalf("pull reply %d without a valid header: %v", resp.Code, err)
	}
	p.hdr = hdr
	if resp.Code == protocol.Success {
		if p.msgs, err = message.DecodeMessages(resp.Body); err != nil {
			w.t.Fatal(err)
		}
	}
	return p
}

func (w *wire) queueOffset(code int16, group, topic string, queueID int32) (int16, int64) {
	w.t.Helper()
	h := protocol.QueueHeader{ConsumerGroup: group, Topic: topic, QueueID: queueID}
	resp := w.call(code, h.Fields(), nil)
	off, _ := strconv.ParseInt(resp.ExtFields.Value("offset"), 10, 64)
	return resp.Code, off
}

func (w *wire) createTopic(topic string, queues int32) {
	w.t.Helper()
	h := protocol.CreateTopicHeader{Topic: topic, DefaultTopic: message.TopicDefault, ReadQueueNums: queues,
		WriteQueueNums: queues, Perm: protocol.PermReadWrite}
	if resp := w.call(protocol.UpdateAndCreateTopic, h.Fields(), nil); resp.Code != protocol.Success {
		w.t.Fatalf("create topic %s: %d %s", topic, resp.Code, resp.Remark)
	}
}

// waitMax waits until the queue's end reaches n: sends are acknowledged once
// stored, and the ConsumeQueue entry that makes them pullable follows
// asynchronously, as in Apache RocketMQ.
func (w *wire) waitMax(topic string, queueID int32, n int64) {
	w.t.Helper()
	testutil.Eventually(w.t, 10*time.Second, func() bool {
		_, off := w.queueOffset(protocol.GetMaxOffset, "", topic, queueID)
		return off >= n
	}, "queue %s/%d never reached offset %d", topic, queueID, n)
}
