package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// MessageQueue identifies one queue of a topic on a broker set.
type MessageQueue = protocol.MessageQueue

// TopicRouteData is a topic's route as a NameServer returns it.
type TopicRouteData = protocol.TopicRouteData

// defaultTopicQueueNums caps the queues of a route borrowed from TBW102, and
// is what a send asks the broker to create a new topic with (hardcoded 4 in
// RocketMQ's clients).
const defaultTopicQueueNums = 4

// topicRoute is a cached route with its derived queue lists. It is never
// modified once published.
type topicRoute struct {
	topic string
	data  *protocol.TopicRouteData
	// publish are the writable queues of brokers with a master; subscribe
	// the readable ones. Both sorted by broker name, then queue id.
	publish   []MessageQueue
	subscribe []MessageQueue
	// fromDefault marks a route borrowed from TBW102 for a topic that does
	// not exist yet: a send to it makes the broker create the topic.
	fromDefault bool
}

// routeTable caches topic routes and broker addresses for a Client.
type routeTable struct {
	cl *Client

	mu       sync.RWMutex
	topics   map[string]*topicRoute
	brokers  map[string]protocol.BrokerData // by broker name
	inflight map[string]*routeCall
	nsNext   int
}

type routeCall struct {
	done  chan struct{}
	route *topicRoute
	err   error
}

func newRouteTable(cl *Client) *routeTable {
	return &routeTable{
		cl:       cl,
		topics:   make(map[string]*topicRoute),
		brokers:  make(map[string]protocol.BrokerData),
		inflight: make(map[string]*routeCall),
	}
}

// cached returns the cached route of topic, or nil.
func (t *routeTable) cached(topic string) *topicRoute {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.topics[topic]
}

// forProducer returns a route to send to: the cached one, else a fetched
// one, else (TOPIC_NOT_EXIST) TBW102's route capped at 4 queues so the first
// send creates the topic. A cached route without a writable queue (its
// masters were down at the last refresh) is fetched again, as the Java
// client does, so sends resume as soon as a master is back.
func (t *routeTable) forProducer(ctx context.Context, topic string) (*topicRoute, error) {
	r := t.cached(topic)
	if r != nil && len(r.publish) > 0 {
		return r, nil
	}
	fresh, err := t.refresh(ctx, topic, true)
	if err != nil && r != nil {
		return r, nil
	}
	return fresh, err
}

// forConsumer returns the topic's real route: a route borrowed from TBW102
// is not good enough to read from.
func (t *routeTable) forConsumer(ctx context.Context, topic string) (*topicRoute, error) {
	if r := t.cached(topic); r != nil && !r.fromDefault {
		return r, nil
	}
	return t.refresh(ctx, topic, false)
}

// refresh fetches topic's route now; concurrent calls for one topic share a
// fetch. With allowDefault a missing topic gets TBW102's route.
func (t *routeTable) refresh(ctx context.Context, topic string, allowDefault bool) (*topicRoute, error) {
	key := topic
	if allowDefault {
		key += "\x00default"
	}
	t.mu.Lock()
	call := t.inflight[key]
	if call == nil {
		call = &routeCall{done: make(chan struct{})}
		t.inflight[key] = call
		go func() {
			fctx, cancel := context.WithTimeout(context.Background(), 2*t.cl.opts.RPCTimeout)
			call.route, call.err = t.fetch(fctx, topic, allowDefault)
			cancel()
			t.mu.Lock()
			delete(t.inflight, key)
			t.mu.Unlock()
			close(call.done)
		}()
	}
	t.mu.Unlock()
	select {
	case <-call.done:
		return call.route, call.err
	case <-ctx.Done():
		return nil, fmt.Errorf("route of %s: %w", topic, ctx.Err())
	}
}

func (t *routeTable) fetch(ctx context.Context, topic string, allowDefault bool) (*topicRoute, error) {
	data, err := t.fetchData(ctx, topic)
	if err == nil {
		r := buildRoute(topic, data, false)
		if len(r.publish) == 0 && len(r.subscribe) == 0 {
			return nil, fmt.Errorf("route of %s has no usable queue: %w", topic, ErrNoRoute)
		}
		t.store(r)
		return r, nil
	}
	if !errors.Is(err, ErrTopicNotExist) {
		return nil, err
	}
	if !allowDefault {
		return nil, err
	}
	def, derr := t.fetchData(ctx, message.TopicDefault)
	if derr != nil {
		return nil, fmt.Errorf("route of %s: %w (and default topic %s: %w)", topic, err, message.TopicDefault, derr)
	}
	for i := range def.QueueDatas {
		q := &def.QueueDatas[i]
		q.ReadQueueNums = min(q.ReadQueueNums, defaultTopicQueueNums)
		q.WriteQueueNums = min(q.WriteQueueNums, defaultTopicQueueNums)
	}
	r := buildRoute(topic, def, true)
	if len(r.publish) == 0 {
		return nil, fmt.Errorf("route of %s: default topic has no writable queue: %w", topic, ErrNoRoute)
	}
	t.store(r)
	return r, nil
}

// fetchData asks the NameServers in turn, starting with the next one in
// rotation, until one answers. TOPIC_NOT_EXIST from one NameServer is not
// final while another may know the topic (they are independent).
func (t *routeTable) fetchData(ctx context.Context, topic string) (*protocol.TopicRouteData, error) {
	ns := t.cl.opts.NameServers
	t.mu.Lock()
	start := t.nsNext
	t.nsNext++
	t.mu.Unlock()
	var errs []error
	notExist := false
	for i := range ns {
		addr := ns[(start+i)%len(ns)]
		req := remoting.NewRequest(protocol.GetRouteInfoByTopic, remoting.Fields{{Key: "topic", Value: topic}}, nil)
		resp, err := t.cl.invoke(ctx, addr, req)
		if err == nil {
			err = responseError("route of "+topic, addr, resp)
		}
		if err == nil {
			data, derr := protocol.DecodeTopicRouteData(resp.Body)
			if derr == nil {
				return data, nil
			}
			err = fmt.Errorf("route of %s from %s: %w", topic, addr, derr)
		}
		notExist = notExist || errors.Is(err, ErrTopicNotExist)
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if notExist {
		return nil, fmt.Errorf("route of %s: %w", topic, ErrTopicNotExist)
	}
	return nil, fmt.Errorf("route of %s: %w: %w", topic, ErrNoRoute, errors.Join(errs...))
}

// store publishes r and its broker addresses, and tells consumers of the
// topic when the route changed.
func (t *routeTable) store(r *topicRoute) {
	t.mu.Lock()
	old := t.topics[r.topic]
	t.topics[r.topic] = r
	for _, bd := range r.data.BrokerDatas {
		t.brokers[bd.BrokerName] = bd
	}
	t.mu.Unlock()
	if old == nil || old.fromDefault != r.fromDefault || !reflect.DeepEqual(old.data, r.data) {
		t.cl.routeChanged(r.topic)
	}
}

// refreshAll fetches every cached route again; failures keep the old route.
func (t *routeTable) refreshAll(ctx context.Context) {
	t.mu.RLock()
	topics := make([]*topicRoute, 0, len(t.topics))
	for _, r := range t.topics {
		topics = append(topics, r)
	}
	t.mu.RUnlock()
	for _, r := range topics {
		if _, err := t.refresh(ctx, r.topic, r.fromDefault); err != nil {
			t.cl.log.Debug("route refresh failed; keeping the cached route", "topic", r.topic, "err", err)
		}
	}
}

// forget drops the cached route of topic.
func (t *routeTable) forget(topic string) {
	t.mu.Lock()
	delete(t.topics, topic)
	t.mu.Unlock()
}

// masterAddr returns the master address of a broker set, or "".
func (t *routeTable) masterAddr(brokerName string) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.brokers[brokerName].BrokerAddrs[protocol.MasterID]
}

// subscribeAddr returns where to pull a queue of brokerName from: broker
// id's address if it exists, else id+1's, else the master, else any member.
func (t *routeTable) subscribeAddr(brokerName string, id int64) (addr string, isMaster bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	addrs := t.brokers[brokerName].BrokerAddrs
	if a, ok := addrs[id]; ok {
		return a, id == protocol.MasterID
	}
	if a, ok := addrs[id+1]; ok {
		return a, id+1 == protocol.MasterID
	}
	if a, ok := addrs[protocol.MasterID]; ok {
		return a, true
	}
	ids := make([]int64, 0, len(addrs))
	for i := range addrs {
		ids = append(ids, i)
	}
	if len(ids) == 0 {
		return "", false
	}
	slices.Sort(ids)
	return addrs[ids[0]], false
}

// brokerAddrs returns every known broker address, sorted; slaves only with
// withSlaves.
func (t *routeTable) brokerAddrs(withSlaves bool) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for _, bd := range t.brokers {
		for id, a := range bd.BrokerAddrs {
			if id == protocol.MasterID || withSlaves {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// anyBrokerOf returns the address of some broker set serving topic
// (rotating, so load spreads): its master, or a slave while the master is
// down — every member knows the consumer groups. "" when none is known.
func (t *routeTable) anyBrokerOf(topic string, salt int) string {
	r := t.cached(topic)
	if r == nil {
		return ""
	}
	n := len(r.data.BrokerDatas)
	for i := range n {
		bd := r.data.BrokerDatas[(salt+i)%n]
		if a := t.masterAddr(bd.BrokerName); a != "" {
			return a
		}
	}
	for i := range n {
		if a, _ := t.subscribeAddr(r.data.BrokerDatas[(salt+i)%n].BrokerName, protocol.MasterID); a != "" {
			return a
		}
	}
	return ""
}

// buildRoute derives the queue lists of a route.
func buildRoute(topic string, data *protocol.TopicRouteData, fromDefault bool) *topicRoute {
	r := &topicRoute{topic: topic, data: data, fromDefault: fromDefault}
	masters := make(map[string]bool, len(data.BrokerDatas))
	for _, bd := range data.BrokerDatas {
		masters[bd.BrokerName] = bd.MasterAddr() != ""
	}
	qds := slices.Clone(data.QueueDatas)
	slices.SortFunc(qds, func(a, b protocol.QueueData) int { return cmp.Compare(a.BrokerName, b.BrokerName) })
	if data.OrderTopicConf != "" {
		r.publish = orderTopicQueues(topic, data.OrderTopicConf)
	}
	for _, qd := range qds {
		if data.OrderTopicConf == "" && qd.Perm&protocol.PermWrite != 0 && masters[qd.BrokerName] {
			for i := range qd.WriteQueueNums {
				r.publish = append(r.publish, MessageQueue{Topic: topic, BrokerName: qd.BrokerName, QueueID: i})
			}
		}
		if qd.Perm&protocol.PermRead != 0 {
			for i := range qd.ReadQueueNums {
				r.subscribe = append(r.subscribe, MessageQueue{Topic: topic, BrokerName: qd.BrokerName, QueueID: i})
			}
		}
	}
	return r
}

// orderTopicQueues parses an orderTopicConf ("brokerA:4;brokerB:4"), which
// replaces the publish queue list when a NameServer sets it.
func orderTopicQueues(topic, conf string) []MessageQueue {
	var out []MessageQueue
	for _, item := range strings.Split(conf, ";") {
		name, n, ok := strings.Cut(item, ":")
		nums, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil {
			continue
		}
		for i := range nums {
			out = append(out, MessageQueue{Topic: topic, BrokerName: strings.TrimSpace(name), QueueID: int32(i)})
		}
	}
	return out
}

// sortQueues orders queues by topic, broker name and queue id, as RocketMQ
// does before allocating them.
func sortQueues(mqs []MessageQueue) {
	slices.SortFunc(mqs, compareQueues)
}

func compareQueues(a, b MessageQueue) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.BrokerName, b.BrokerName), cmp.Compare(a.QueueID, b.QueueID))
}

// routeRetryDelay is how soon a consumer looks again for a route it could
// not find (a topic not created yet, a retry topic not registered yet).
const routeRetryDelay = time.Second
