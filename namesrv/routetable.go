package namesrv

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// Errors of RouteTable.Register.
var (
	// ErrConnClosed rejects a registration whose connection closed while it
	// was being served: recording it would leave an entry that no
	// connection close can remove.
	ErrConnClosed = errors.New("registering connection already closed")
	// ErrStaleBroker rejects a broker that claims an id held by another live
	// broker with a newer stateVersion (a demoted master re-registering as
	// master after a failover).
	ErrStaleBroker = errors.New("broker id held by a live broker with a newer state version")
)

// Registration is what a broker announces with REGISTER_BROKER.
type Registration struct {
	Cluster      string
	BrokerName   string
	BrokerAddr   string
	BrokerID     int64 // protocol.MasterID (0) for the master
	HAServerAddr string
	// Timeout overrides the table's default expiry for this broker (from
	// heartbeatTimeoutMillis); zero keeps the default.
	Timeout     time.Duration
	DataVersion protocol.DataVersion
	// Topics is the broker's topic config table; only a master's is used.
	Topics map[string]protocol.TopicConfig
	// Conn is the connection the broker registered over; when it closes,
	// RemoveConnection drops the broker. Nil for in-process registrations.
	Conn *remoting.Conn
}

// RegisterResult tells a slave where its master is.
type RegisterResult struct {
	// MasterAddr and MasterHAServerAddr are set for a slave while its
	// master is live.
	MasterAddr         string
	MasterHAServerAddr string
	// First is true when the broker was not live at this address before.
	First bool
}

// RemovedBroker describes a broker address that left the table.
type RemovedBroker struct {
	Cluster    string
	BrokerName string
	BrokerAddr string
	BrokerID   int64
	LastUpdate time.Time
	Timeout    time.Duration
}

// Stats are the table's gauges and counters.
type Stats struct {
	BrokersLive int // live broker addresses
	BrokerNames int // broker sets with at least one address
	Clusters    int
	Topics      int

	Registrations   uint64 // accepted REGISTER_BROKER calls
	Unregistrations uint64 // UNREGISTER_BROKER calls that removed a live broker
	Expirations     uint64 // brokers removed by the expiry scan
	ConnCloses      uint64 // brokers removed because their connection closed
}

type brokerKey struct{ cluster, addr string }

// liveBroker is one brokerLiveTable entry.
type liveBroker struct {
	brokerName   string
	brokerID     int64
	lastUpdate   time.Time
	timeout      time.Duration
	dataVersion  protocol.DataVersion
	conn         *remoting.Conn
	haServerAddr string
}

// RouteTable is the NameServer's state: which brokers exist, which topics
// they serve and when each was last heard from. It is safe for concurrent
// use; route lookups take a read lock only.
type RouteTable struct {
	defaultTimeout time.Duration

	mu       sync.RWMutex
	clusters map[string]map[string]struct{}           // clusterAddrTable: cluster → broker names
	brokers  map[string]*protocol.BrokerData          // brokerAddrTable: broker name → addrs by id
	topics   map[string]map[string]protocol.QueueData // topicQueueTable: topic → broker name → queues
	live     map[brokerKey]*liveBroker                // brokerLiveTable
	stats    Stats
}

// NewRouteTable returns an empty table whose brokers expire after
// defaultTimeout unless they announce their own.
func NewRouteTable(defaultTimeout time.Duration) *RouteTable {
	return &RouteTable{
		defaultTimeout: defaultTimeout,
		clusters:       make(map[string]map[string]struct{}),
		brokers:        make(map[string]*protocol.BrokerData),
		topics:         make(map[string]map[string]protocol.QueueData),
		live:           make(map[brokerKey]*liveBroker),
	}
}

// Register records a broker registration made at now. A master's topic
// table replaces the queue data of the topics it lists; topics it no longer
// lists are left alone (see DeleteTopic).
func (rt *RouteTable) Register(reg Registration, now time.Time) (RegisterResult, error) {
	key := brokerKey{reg.Cluster, reg.BrokerAddr}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	// Checked under the lock: RemoveConnection runs after the connection
	// is marked closed, so either it sees this entry or this sees the close.
	if reg.Conn != nil && reg.Conn.Err() != nil {
		return RegisterResult{}, ErrConnClosed
	}
	if rt.conflictsLocked(reg) {
		return RegisterResult{}, ErrStaleBroker
	}
	rt.forgetOtherIdentitiesLocked(reg)
	prev := rt.live[key]
	bd, newAddr := rt.addAddrLocked(reg)
	first := prev == nil || newAddr

	// An unchanged dataVersion means an unchanged topic table: skip the
	// rewrite, as Apache RocketMQ does, so periodic re-registrations are cheap.
	if reg.BrokerID == protocol.MasterID && (first || prev.dataVersion != reg.DataVersion) {
		rt.applyTopicsLocked(reg.BrokerName, reg.Topics)
	}
	timeout := reg.Timeout
	if timeout <= 0 {
		timeout = rt.defaultTimeout
	}
	rt.live[key] = &liveBroker{
		brokerName: reg.BrokerName, brokerID: reg.BrokerID, lastUpdate: now, timeout: timeout,
		dataVersion: reg.DataVersion, conn: reg.Conn, haServerAddr: reg.HAServerAddr,
	}
	rt.stats.Registrations++
	res := RegisterResult{First: first}
	if reg.BrokerID != protocol.MasterID {
		res.MasterAddr, res.MasterHAServerAddr = rt.liveMasterLocked(reg.Cluster, bd)
	}
	return res, nil
}

// addAddrLocked puts reg's address into its cluster and broker set and
// reports whether the set did not hold it under reg's id before.
func (rt *RouteTable) addAddrLocked(reg Registration) (bd *protocol.BrokerData, newAddr bool) {
	if rt.clusters[reg.Cluster] == nil {
		rt.clusters[reg.Cluster] = make(map[string]struct{})
	}
	rt.clusters[reg.Cluster][reg.BrokerName] = struct{}{}
	bd = rt.brokers[reg.BrokerName]
	if bd == nil {
		bd = &protocol.BrokerData{Cluster: reg.Cluster, BrokerName: reg.BrokerName, BrokerAddrs: map[int64]string{}}
		rt.brokers[reg.BrokerName] = bd
	}
	// The same address may hold one id only: a slave promoted to master
	// moves from its old id to 0.
	for id, addr := range bd.BrokerAddrs {
		if addr == reg.BrokerAddr && id != reg.BrokerID {
			delete(bd.BrokerAddrs, id)
		}
	}
	newAddr = bd.BrokerAddrs[reg.BrokerID] != reg.BrokerAddr
	bd.BrokerAddrs[reg.BrokerID] = reg.BrokerAddr
	return bd, newAddr
}

// conflictsLocked reports whether another live broker holds reg's id with a
// newer stateVersion. The stateVersion only moves in controller mode, so
// classic brokers (all 0) never conflict.
func (rt *RouteTable) conflictsLocked(reg Registration) bool {
	bd := rt.brokers[reg.BrokerName]
	if bd == nil {
		return false
	}
	holder, ok := bd.BrokerAddrs[reg.BrokerID]
	if !ok || holder == reg.BrokerAddr {
		return false
	}
	lb := rt.live[brokerKey{reg.Cluster, holder}]
	return lb != nil && lb.dataVersion.StateVersion > reg.DataVersion.StateVersion
}

// forgetOtherIdentitiesLocked drops what the table knows about reg's address
// under another cluster or broker name, so a stale entry cannot expire later
// and take the address out of its current broker set.
func (rt *RouteTable) forgetOtherIdentitiesLocked(reg Registration) {
	for key, lb := range rt.live {
		if key.addr != reg.BrokerAddr {
			continue
		}
		if lb.brokerName != reg.BrokerName {
			rt.removeAddrLocked(key, lb.brokerName)
		} else if key.cluster != reg.Cluster {
			delete(rt.live, key)
		}
	}
}

// applyTopicsLocked sets brokerName's queue data for every topic in topics.
func (rt *RouteTable) applyTopicsLocked(brokerName string, topics map[string]protocol.TopicConfig) {
	for key, tc := range topics {
		name := tc.TopicName
		if name == "" {
			name = key
		}
		if name == "" {
			continue
		}
		qds := rt.topics[name]
		if qds == nil {
			qds = make(map[string]protocol.QueueData)
			rt.topics[name] = qds
		}
		qds[brokerName] = protocol.QueueData{
			BrokerName:     brokerName,
			ReadQueueNums:  tc.ReadQueueNums,
			WriteQueueNums: tc.WriteQueueNums,
			Perm:           tc.Perm,
			TopicSysFlag:   tc.TopicSysFlag,
		}
	}
}

// liveMasterLocked returns the master's address and HA address if the master
// of bd is live.
func (rt *RouteTable) liveMasterLocked(cluster string, bd *protocol.BrokerData) (addr, haAddr string) {
	master, ok := bd.BrokerAddrs[protocol.MasterID]
	if !ok {
		return "", ""
	}
	lb := rt.live[brokerKey{cluster, master}]
	if lb == nil {
		lb = rt.live[brokerKey{bd.Cluster, master}]
	}
	if lb == nil {
		return "", ""
	}
	return master, lb.haServerAddr
}

// Unregister removes a broker address (UNREGISTER_BROKER). It reports
// whether the broker was live.
func (rt *RouteTable) Unregister(cluster, brokerName, brokerAddr string) bool {
	key := brokerKey{cluster, brokerAddr}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	lb, wasLive := rt.live[key]
	if wasLive {
		brokerName = lb.brokerName
		rt.stats.Unregistrations++
	}
	rt.removeAddrLocked(key, brokerName)
	return wasLive
}

// removeAddrLocked drops key's live entry and its address from brokerName's
// broker set. A broker set left without addresses disappears with its queue
// data in every topic, and topics left without queues disappear too.
func (rt *RouteTable) removeAddrLocked(key brokerKey, brokerName string) {
	delete(rt.live, key)
	bd := rt.brokers[brokerName]
	if bd == nil {
		return
	}
	for id, addr := range bd.BrokerAddrs {
		if addr == key.addr {
			delete(bd.BrokerAddrs, id)
		}
	}
	if len(bd.BrokerAddrs) > 0 {
		return
	}
	delete(rt.brokers, brokerName)
	// A broker set can be listed under several clusters if it ever moved.
	for cluster, names := range rt.clusters {
		delete(names, brokerName)
		if len(names) == 0 {
			delete(rt.clusters, cluster)
		}
	}
	for topic, qds := range rt.topics {
		delete(qds, brokerName)
		if len(qds) == 0 {
			delete(rt.topics, topic)
		}
	}
}

// Expire removes every broker whose last registration is older than its
// timeout at now, and returns them.
func (rt *RouteTable) Expire(now time.Time) []RemovedBroker {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []RemovedBroker
	for key, lb := range rt.live {
		if now.Sub(lb.lastUpdate) <= lb.timeout {
			continue
		}
		out = append(out, removed(key, lb))
		rt.removeAddrLocked(key, lb.brokerName)
		rt.stats.Expirations++
	}
	return out
}

// RemoveConnection removes every broker registered over c (Apache
// RocketMQ's onChannelDestroy) and returns them.
func (rt *RouteTable) RemoveConnection(c *remoting.Conn) []RemovedBroker {
	if c == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []RemovedBroker
	for key, lb := range rt.live {
		if lb.conn != c {
			continue
		}
		out = append(out, removed(key, lb))
		rt.removeAddrLocked(key, lb.brokerName)
		rt.stats.ConnCloses++
	}
	return out
}

func removed(key brokerKey, lb *liveBroker) RemovedBroker {
	return RemovedBroker{Cluster: key.cluster, BrokerName: lb.brokerName, BrokerAddr: key.addr,
		BrokerID: lb.brokerID, LastUpdate: lb.lastUpdate, Timeout: lb.timeout}
}

// QueryDataVersion compares a broker's dataVersion with the one it last
// registered and counts the query as a sign of life. stored is nil, and
// changed true, when the broker is not live.
func (rt *RouteTable) QueryDataVersion(cluster, brokerAddr string, dv protocol.DataVersion, now time.Time) (stored *protocol.DataVersion, changed bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	lb := rt.live[brokerKey{cluster, brokerAddr}]
	if lb == nil {
		return nil, true
	}
	lb.lastUpdate = now
	v := lb.dataVersion
	return &v, v != dv
}

// DeleteTopic removes a topic's queue data (DELETE_TOPIC_IN_NAMESRV): all of
// it, or with a cluster only that of the cluster's broker sets. It reports
// whether anything was removed.
func (rt *RouteTable) DeleteTopic(topic, cluster string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	qds := rt.topics[topic]
	if qds == nil {
		return false
	}
	if cluster == "" {
		delete(rt.topics, topic)
		return true
	}
	n := len(qds)
	for name := range rt.clusters[cluster] {
		delete(qds, name)
	}
	if len(qds) == 0 {
		delete(rt.topics, topic)
	}
	return len(qds) != n
}

// Route returns the topic's route: its queue data and the broker sets that
// own them, ordered by broker name. ok is false when the topic has no queue
// data or none of its broker sets is known (the caller replies
// TOPIC_NOT_EXIST).
func (rt *RouteTable) Route(topic string) (route *protocol.TopicRouteData, ok bool) {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	qds := rt.topics[topic]
	if len(qds) == 0 {
		return nil, false
	}
	route = &protocol.TopicRouteData{
		QueueDatas:  make([]protocol.QueueData, 0, len(qds)),
		BrokerDatas: make([]protocol.BrokerData, 0, len(qds)),
	}
	for _, name := range slices.Sorted(maps.Keys(qds)) {
		bd := rt.brokers[name]
		if bd == nil {
			// Unreachable while removeAddrLocked keeps the tables in step;
			// a queue without addresses would only mislead clients.
			continue
		}
		route.QueueDatas = append(route.QueueDatas, qds[name])
		route.BrokerDatas = append(route.BrokerDatas, copyBrokerData(bd))
	}
	if len(route.BrokerDatas) == 0 {
		return nil, false
	}
	return route, true
}

func copyBrokerData(bd *protocol.BrokerData) protocol.BrokerData {
	return protocol.BrokerData{Cluster: bd.Cluster, BrokerName: bd.BrokerName, BrokerAddrs: maps.Clone(bd.BrokerAddrs)}
}

// ClusterInfo returns every broker set and the broker names of every
// cluster (GET_BROKER_CLUSTER_INFO). The maps are never nil and the names
// are sorted.
func (rt *RouteTable) ClusterInfo() *protocol.ClusterInfo {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	ci := &protocol.ClusterInfo{
		BrokerAddrTable:  make(map[string]protocol.BrokerData, len(rt.brokers)),
		ClusterAddrTable: make(map[string][]string, len(rt.clusters)),
	}
	for name, bd := range rt.brokers {
		ci.BrokerAddrTable[name] = copyBrokerData(bd)
	}
	for cluster, names := range rt.clusters {
		ci.ClusterAddrTable[cluster] = slices.Sorted(maps.Keys(names))
	}
	return ci
}

// Topics returns every topic with queue data, sorted.
func (rt *RouteTable) Topics() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return slices.Sorted(maps.Keys(rt.topics))
}

// Stats returns the table's gauges and counters.
func (rt *RouteTable) Stats() Stats {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	s := rt.stats
	s.BrokersLive = len(rt.live)
	s.BrokerNames = len(rt.brokers)
	s.Clusters = len(rt.clusters)
	s.Topics = len(rt.topics)
	return s
}
