package broker

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// ClientTable tracks the clients that sent heartbeats: consumer group
// members with their subscriptions, and producer groups. Apache RocketMQ's
// Go client never unregisters, so members are dropped when their connection
// closes or after ClientExpiry without a heartbeat.
type ClientTable struct {
	mu        sync.RWMutex
	consumers map[string]*consumerGroup        // group → members
	producers map[string]map[string]*clientRef // group → clientID → ref
}

type consumerGroup struct {
	consumeType      string
	messageModel     string
	consumeFromWhere string
	members          map[string]*member // clientID → member
	subs             map[string]*subscription
}

type member struct {
	clientRef
	subs []protocol.SubscriptionData
}

type clientRef struct {
	clientID   string
	conn       *remoting.Conn
	lastUpdate time.Time
}

// subscription is a group's subscription to one topic with its tag filter
// compiled for the store.
type subscription struct {
	data protocol.SubscriptionData
	all  bool
	code map[int64]struct{}
}

func newClientTable() *ClientTable {
	return &ClientTable{
		consumers: make(map[string]*consumerGroup),
		producers: make(map[string]map[string]*clientRef),
	}
}

// compileSubscription builds the tag filter. Codes are recomputed from the
// tag strings with Java's String.hashCode, as the store computes them:
// Apache RocketMQ's Go client hashes bytes, not UTF-16, so its codeSet is
// wrong for non-ASCII tags.
func compileSubscription(d protocol.SubscriptionData) *subscription {
	s := &subscription{data: d}
	expr := strings.TrimSpace(d.SubString)
	if expr == "" || expr == protocol.SubAll {
		s.all = true
		return s
	}
	tags := d.TagsSet
	if len(tags) == 0 {
		tags = parseTagExpression(expr)
	}
	s.code = make(map[int64]struct{}, len(tags))
	for _, t := range tags {
		s.code[message.TagsHash(t)] = struct{}{}
	}
	return s
}

// parseTagExpression splits "a || b" into its tags.
func parseTagExpression(expr string) []string {
	var tags []string
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// Matches reports whether a message with tagsCode passes the filter.
func (s *subscription) Matches(tagsCode int64) bool {
	if s.all {
		return true
	}
	_, ok := s.code[tagsCode]
	return ok
}

// Register records a consumer's heartbeat for group. It reports whether the
// group's membership changed (a new member, or a member on a new
// connection), which calls for NOTIFY_CONSUMER_IDS_CHANGED.
func (t *ClientTable) Register(c *remoting.Conn, clientID string, d protocol.ConsumerData, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.consumers[d.GroupName]
	if g == nil {
		g = &consumerGroup{members: make(map[string]*member), subs: make(map[string]*subscription)}
		t.consumers[d.GroupName] = g
	}
	g.consumeType, g.messageModel, g.consumeFromWhere = d.ConsumeType, d.MessageModel, d.ConsumeFromWhere
	m := g.members[clientID]
	changed := m == nil || m.conn != c
	if m == nil {
		m = &member{}
		g.members[clientID] = m
	}
	m.clientRef = clientRef{clientID: clientID, conn: c, lastUpdate: now}
	m.subs = d.SubscriptionDataSet
	g.rebuildSubs()
	return changed
}

// rebuildSubs merges the members' subscriptions: per topic, the one with the
// highest subVersion wins, as the latest heartbeat does in Apache RocketMQ.
func (g *consumerGroup) rebuildSubs() {
	merged := make(map[string]protocol.SubscriptionData)
	for _, m := range g.members {
		for _, s := range m.subs {
			if cur, ok := merged[s.Topic]; !ok || s.SubVersion >= cur.SubVersion {
				merged[s.Topic] = s
			}
		}
	}
	subs := make(map[string]*subscription, len(merged))
	for topic, d := range merged {
		if old := g.subs[topic]; old != nil && subscriptionEqual(old.data, d) {
			subs[topic] = old
			continue
		}
		subs[topic] = compileSubscription(d)
	}
	g.subs = subs
}

func subscriptionEqual(a, b protocol.SubscriptionData) bool {
	return a.Topic == b.Topic && a.SubString == b.SubString && a.SubVersion == b.SubVersion &&
		slices.Equal(a.TagsSet, b.TagsSet)
}

// RegisterProducer records a producer's heartbeat.
func (t *ClientTable) RegisterProducer(c *remoting.Conn, clientID, group string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.producers[group]
	if m == nil {
		m = make(map[string]*clientRef)
		t.producers[group] = m
	}
	m[clientID] = &clientRef{clientID: clientID, conn: c, lastUpdate: now}
}

// Subscription returns group's subscription to topic.
func (t *ClientTable) Subscription(group, topic string) (*subscription, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.consumers[group]
	if g == nil {
		return nil, false
	}
	s, ok := g.subs[topic]
	return s, ok
}

// HasGroup reports whether group has live members.
func (t *ClientTable) HasGroup(group string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.consumers[group] != nil
}

// ConsumerIDs returns group's member client ids, sorted.
func (t *ClientTable) ConsumerIDs(group string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.consumers[group]
	if g == nil {
		return nil
	}
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// groupConns returns the connections of group's members.
func (t *ClientTable) groupConns(group string) []*remoting.Conn {
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.consumers[group]
	if g == nil {
		return nil
	}
	conns := make([]*remoting.Conn, 0, len(g.members))
	for _, m := range g.members {
		conns = append(conns, m.conn)
	}
	return conns
}

// Unregister removes clientID from a consumer group and reports whether it
// was a member.
func (t *ClientTable) Unregister(clientID, group string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.consumers[group]
	if g == nil || g.members[clientID] == nil {
		return false
	}
	delete(g.members, clientID)
	if len(g.members) == 0 {
		delete(t.consumers, group)
	} else {
		g.rebuildSubs()
	}
	return true
}

// UnregisterProducer removes clientID from a producer group.
func (t *ClientTable) UnregisterProducer(clientID, group string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.producers[group]; m != nil {
		delete(m, clientID)
		if len(m) == 0 {
			delete(t.producers, group)
		}
	}
}

// RemoveConn drops every registration made over c and returns the consumer
// groups that lost a member.
func (t *ClientTable) RemoveConn(c *remoting.Conn) []string {
	return t.remove(func(r *clientRef) bool { return r.conn == c })
}

// Expire drops registrations older than cutoff and returns the consumer
// groups that lost a member.
func (t *ClientTable) Expire(cutoff time.Time) []string {
	return t.remove(func(r *clientRef) bool { return r.lastUpdate.Before(cutoff) })
}

func (t *ClientTable) remove(drop func(*clientRef) bool) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed []string
	for name, g := range t.consumers {
		n := len(g.members)
		for id, m := range g.members {
			if drop(&m.clientRef) {
				delete(g.members, id)
			}
		}
		if len(g.members) == n {
			continue
		}
		if len(g.members) == 0 {
			delete(t.consumers, name)
		} else {
			g.rebuildSubs()
		}
		changed = append(changed, name)
	}
	for name, m := range t.producers {
		for id, r := range m {
			if drop(r) {
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(t.producers, name)
		}
	}
	slices.Sort(changed)
	return changed
}

// ConsumerGroups returns the groups with live members, sorted.
func (t *ClientTable) ConsumerGroups() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names := make([]string, 0, len(t.consumers))
	for n := range t.consumers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Counts returns the numbers of live consumer and producer connections.
func (t *ClientTable) Counts() (consumers, producers int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, g := range t.consumers {
		consumers += len(g.members)
	}
	for _, m := range t.producers {
		producers += len(m)
	}
	return consumers, producers
}
