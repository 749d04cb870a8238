// Package namesrv is Sluice's NameServer: the route registry of Apache
// RocketMQ. Brokers register their topics with it; producers and consumers
// ask it which brokers serve a topic. It keeps no data on disk: brokers
// re-register every 30 s, so a restarted NameServer is whole again within
// one registration period, and several NameServers run side by side without
// talking to each other (brokers register with every one).
//
// # Tables
//
// The RouteTable holds four tables under one RWMutex:
//
//	clusterAddrTable  cluster     → {brokerName}
//	brokerAddrTable   brokerName  → BrokerData{cluster, brokerAddrs: id → addr}   (id 0 = master)
//	topicQueueTable   topic       → brokerName → QueueData{read/write queues, perm, sysFlag}
//	brokerLiveTable   (cluster, addr) → {lastUpdate, timeout, dataVersion, conn, haServerAddr}
//
// A REGISTER_BROKER adds the broker name to its cluster, sets
// brokerAddrs[id] = addr (dropping the addr from any other id, which is how
// a slave promoted to master moves to id 0) and refreshes the live entry.
// Only the master (id 0) writes topicQueueTable, and only when its
// dataVersion changed or it was not live before. A route is the topic's
// queue data plus the BrokerData of each broker name owning queues. As in
// Apache RocketMQ, a topic a master stops announcing keeps its queue data
// until DELETE_TOPIC_IN_NAMESRV or until the broker set leaves; slaves never
// publish queues (there is no acting-master mode).
//
// An address leaves the table on UNREGISTER_BROKER, on expiry, or when the
// connection it registered over closes. When a broker name loses its last
// address, its BrokerData, its cluster membership and its queue data in
// every topic go with it, and topics left without queues are dropped.
//
// # Timers
//
//	broker registers      every 30 s (broker side, 10–60 s)
//	expiry scan           every Options.ScanInterval (5 s)
//	broker expiry         Options.BrokerExpiry (120 s) after the last REGISTER_BROKER or
//	                      QUERY_DATA_VERSION, or the broker's heartbeatTimeoutMillis
//	                      (capped at Options.MaxHeartbeatTimeout)
//	idle connection       closed after Options.IdleTimeout (120 s) without a frame
//
// A dead broker therefore leaves the routes at most BrokerExpiry +
// ScanInterval after its last registration, or at once when its TCP
// connection closes. Liveness is measured with Options.Now, whose default
// (time.Now) carries a monotonic reading, so wall-clock steps neither expire
// live brokers nor keep dead ones.
//
// # Wire
//
// Handlers follow Apache RocketMQ's NameServer (§3 of Sluice's RocketMQ
// protocol spec): route replies are encoded by
// protocol.TopicRouteData.Encode in the compact form the Go client's
// string-cutting parser needs, an unknown topic gets TOPIC_NOT_EXIST (17),
// and UPDATE_NAMESRV_CONFIG is refused with NO_PERMISSION: no remote peer
// may change the configuration.
package namesrv
