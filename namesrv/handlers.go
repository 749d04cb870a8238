package namesrv

import (
	"context"
	"hash/crc32"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// handleRegister serves REGISTER_BROKER (103). c is nil when called
// in-process (tests, fuzzing).
func (ns *NameServer) handleRegister(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	reg, err := ns.parseRegistration(req)
	if err != nil {
		ns.log.Warn("register broker rejected", "broker_name", req.ExtFields.Value("brokerName"),
			"broker_addr", req.ExtFields.Value("brokerAddr"), "remote", remote(c), "err", err)
		return nil, err
	}
	reg.Conn = c
	res, err := ns.table.Register(reg, ns.opts.Now())
	if err != nil {
		ns.log.Warn("register broker rejected", "cluster", reg.Cluster, "broker_name", reg.BrokerName,
			"broker_id", reg.BrokerID, "broker_addr", reg.BrokerAddr, "err", err)
		return nil, remoting.Errorf(protocol.SystemError, "register broker %s id %d at %s: %v",
			reg.BrokerName, reg.BrokerID, reg.BrokerAddr, err)
	}
	// Brokers re-register every 30 s; only news is worth an Info line.
	level := slog.LevelDebug
	if res.First {
		level = slog.LevelInfo
	}
	ns.log.Log(context.Background(), level, "broker registered", "cluster", reg.Cluster, "broker_name", reg.BrokerName,
		"broker_id", reg.BrokerID, "broker_addr", reg.BrokerAddr, "topics", len(reg.Topics),
		"data_version", reg.DataVersion, "master_addr", res.MasterAddr)
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = protocol.RegisterBrokerResult{HAServerAddr: res.MasterHAServerAddr, MasterAddr: res.MasterAddr}.Fields()
	return resp, nil
}

// parseRegistration checks and decodes a REGISTER_BROKER request; nothing is
// registered unless the whole request is valid.
func (ns *NameServer) parseRegistration(req *remoting.Command) (Registration, error) {
	h, err := parseBrokerHeader(req.ExtFields)
	if err != nil {
		return Registration{}, err
	}
	if h.Compressed {
		// Apache RocketMQ's compressed form is its own deflate framing;
		// brokers send it only with compressedRegister=true (off by default).
		return Registration{}, remoting.Errorf(protocol.InvalidParameter,
			"compressed register body from broker %s is not supported: set compressedRegister=false", h.BrokerName)
	}
	if h.BodyCRC32 != 0 {
		if got := int32(crc32.ChecksumIEEE(req.Body) & 0x7FFFFFFF); got != h.BodyCRC32 {
			return Registration{}, remoting.Errorf(protocol.SystemError,
				"crc32 not match: header bodyCrc32 %d, body %d", h.BodyCRC32, got)
		}
	}
	var body protocol.RegisterBrokerBody
	// An empty body is a broker with no topics, as Apache RocketMQ allows.
	if len(req.Body) > 0 {
		if err := protocol.Decode(req.Body, &body); err != nil {
			return Registration{}, remoting.Errorf(protocol.InvalidParameter, "register broker %s: %v", h.BrokerName, err)
		}
	}
	var timeout time.Duration
	if ms := h.HeartbeatTimeoutMillis; ms > 0 {
		// Capped before converting, which also keeps ms*1e6 from overflowing.
		timeout = time.Duration(min(ms, ns.opts.MaxHeartbeatTimeout.Milliseconds())) * time.Millisecond
	}
	wrapper := body.TopicConfigSerializeWrapper
	return Registration{
		Cluster: h.ClusterName, BrokerName: h.BrokerName, BrokerAddr: h.BrokerAddr, BrokerID: h.BrokerID,
		HAServerAddr: h.HAServerAddr, Timeout: timeout,
		DataVersion: wrapper.DataVersion, Topics: wrapper.TopicConfigTable,
	}, nil
}

// parseBrokerHeader decodes the header of REGISTER_BROKER, UNREGISTER_BROKER
// and QUERY_DATA_VERSION and checks the addresses: they end up in routes,
// where the Go client cuts brokerAddrs apart at ',' and ':' and would
// misread an address holding either outside host:port.
func parseBrokerHeader(f remoting.Fields) (protocol.BrokerHeader, error) {
	h, err := protocol.ParseBrokerHeader(f)
	if err != nil {
		return h, err
	}
	if h.BrokerID < 0 {
		return h, remoting.Errorf(protocol.InvalidParameter, "brokerId %d is negative", h.BrokerID)
	}
	if !validAddr(h.BrokerAddr) {
		return h, remoting.Errorf(protocol.InvalidParameter, "brokerAddr %q is not host:port", h.BrokerAddr)
	}
	if h.HAServerAddr != "" && !validAddr(h.HAServerAddr) {
		return h, remoting.Errorf(protocol.InvalidParameter, "haServerAddr %q is not host:port", h.HAServerAddr)
	}
	return h, nil
}

// validAddr accepts host:port with a non-empty host, a non-zero port and
// none of the characters that JSON or the Go client's parsing give meaning.
func validAddr(addr string) bool {
	bad := func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune(`",{}\`, r) }
	if strings.ContainsFunc(addr, bad) {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p > 0
}

// handleUnregister serves UNREGISTER_BROKER (104), sent by a broker shutting
// down cleanly.
func (ns *NameServer) handleUnregister(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := parseBrokerHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	wasLive := ns.table.Unregister(h.ClusterName, h.BrokerName, h.BrokerAddr)
	ns.log.Info("broker unregistered", "cluster", h.ClusterName, "broker_name", h.BrokerName,
		"broker_id", h.BrokerID, "broker_addr", h.BrokerAddr, "was_live", wasLive)
	return req.NewResponse(protocol.Success, ""), nil
}

// handleRoute serves GET_ROUTEINFO_BY_TOPIC (105), the call every client
// makes for every topic every 30 s.
func (ns *NameServer) handleRoute(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topic, err := protocol.ParseStringField(req.ExtFields, "topic")
	if err != nil {
		return nil, err
	}
	route, ok := ns.table.Route(topic)
	if !ok {
		// Not an error for clients: a producer falls back to TBW102.
		return req.NewResponse(protocol.TopicNotExist, "No topic route info in name server for the topic: "+topic), nil
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = route.Encode()
	return resp, nil
}

// handleClusterInfo serves GET_BROKER_CLUSTER_INFO (106) for admin tools.
func (ns *NameServer) handleClusterInfo(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = protocol.Encode(ns.table.ClusterInfo())
	return resp, nil
}

// handleTopicList serves GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
func (ns *NameServer) handleTopicList(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topics := ns.table.Topics()
	if topics == nil {
		topics = []string{} // an array, never null
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = protocol.Encode(protocol.TopicList{TopicList: topics})
	return resp, nil
}

// handleQueryDataVersion serves QUERY_DATA_VERSION (322): a broker with
// forceRegister=false asks whether its topic table changed before sending
// it, so this call doubles as its heartbeat.
func (ns *NameServer) handleQueryDataVersion(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := parseBrokerHeader(req.ExtFields)
	if err != nil {
		return nil, err
	}
	var dv protocol.DataVersion
	if err := protocol.Decode(req.Body, &dv); err != nil {
		return nil, remoting.Errorf(protocol.InvalidParameter, "query data version of %s: %v", h.BrokerAddr, err)
	}
	stored, changed := ns.table.QueryDataVersion(h.ClusterName, h.BrokerAddr, dv, ns.opts.Now())
	resp := req.NewResponse(protocol.Success, "")
	resp.ExtFields = remoting.Fields{{Key: "changed", Value: strconv.FormatBool(changed)}}
	if stored != nil {
		resp.Body = protocol.Encode(stored)
	}
	return resp, nil
}

// handleDeleteTopic serves DELETE_TOPIC_IN_NAMESRV (216), sent by admin
// tools after deleting a topic on the brokers; clusterName, when present,
// limits the deletion to that cluster's broker sets.
func (ns *NameServer) handleDeleteTopic(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topic, err := protocol.ParseStringField(req.ExtFields, "topic")
	if err != nil {
		return nil, err
	}
	cluster := req.ExtFields.Value("clusterName")
	deleted := ns.table.DeleteTopic(topic, cluster)
	ns.log.Info("topic deleted", "topic", topic, "cluster", cluster, "found", deleted, "remote", remote(c))
	return req.NewResponse(protocol.Success, ""), nil
}

// handleUpdateConfig refuses UPDATE_NAMESRV_CONFIG (318): a remotely
// writable config is how CVE-2023-33246 turned into code execution.
// Configuration comes from the operator only.
func (ns *NameServer) handleUpdateConfig(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	ns.log.Warn("refused remote config update", "remote", remote(c))
	return nil, remoting.Errorf(protocol.NoPermission, "the name server's configuration cannot be changed remotely")
}

func remote(c *remoting.Conn) string {
	if c == nil {
		return "in-process"
	}
	return c.RemoteAddr().String()
}
