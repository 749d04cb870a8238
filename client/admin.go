package client

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// ClusterInfo is the NameServer's view of clusters and broker sets.
type ClusterInfo = protocol.ClusterInfo

// TopicConfig describes a topic to create.
type TopicConfig struct {
	// Topic is the topic name. Required.
	Topic string
	// ReadQueueNums and WriteQueueNums are the queue counts. Default 8.
	ReadQueueNums, WriteQueueNums int32
	// Perm is the permission bits (4 read, 2 write). Default 6.
	Perm int32
	// Order marks the topic as ordered (informational for brokers).
	Order bool
	// TopicSysFlag is RocketMQ's unit flag; 0 normally.
	TopicSysFlag int32
}

// Admin performs administrative calls (mqadmin's) through a Client.
type Admin struct {
	cl *Client
}

// NewAdmin returns an Admin using cl.
func NewAdmin(cl *Client) *Admin { return &Admin{cl: cl} }

// CreateTopic creates or updates a topic on one broker
// (UPDATE_AND_CREATE_TOPIC); the broker registers it with its NameServers.
func (a *Admin) CreateTopic(ctx context.Context, brokerAddr string, cfg TopicConfig) error {
	if err := message.ValidateTopic(cfg.Topic); err != nil {
		return fmt.Errorf("create topic %q: %w", cfg.Topic, ErrInvalidOptions)
	}
	if cfg.ReadQueueNums <= 0 {
		cfg.ReadQueueNums = 8
	}
	if cfg.WriteQueueNums <= 0 {
		cfg.WriteQueueNums = 8
	}
	if cfg.Perm == 0 {
		cfg.Perm = protocol.PermReadWrite
	}
	h := protocol.CreateTopicHeader{
		Topic: cfg.Topic, DefaultTopic: message.TopicDefault, ReadQueueNums: cfg.ReadQueueNums,
		WriteQueueNums: cfg.WriteQueueNums, Perm: cfg.Perm, TopicSysFlag: cfg.TopicSysFlag, Order: cfg.Order,
	}
	_, err := a.cl.call(ctx, "create topic "+cfg.Topic, brokerAddr, remoting.NewRequest(protocol.UpdateAndCreateTopic, h.Fields(), nil))
	return err
}

// CreateTopicInCluster creates the topic on every master of cluster (every
// cluster when cluster is "") and returns their addresses.
func (a *Admin) CreateTopicInCluster(ctx context.Context, cluster string, cfg TopicConfig) ([]string, error) {
	info, err := a.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for name, names := range info.ClusterAddrTable {
		if cluster != "" && name != cluster {
			continue
		}
		for _, bn := range names {
			if bd, ok := info.BrokerAddrTable[bn]; ok && bd.MasterAddr() != "" {
				addrs = append(addrs, bd.MasterAddr())
			}
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("create topic %s: cluster %q has no master: %w", cfg.Topic, cluster, ErrNoRoute)
	}
	slices.Sort(addrs)
	for _, addr := range addrs {
		if err := a.CreateTopic(ctx, addr, cfg); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// DeleteTopic deletes the topic on every master of its route
// (DELETE_TOPIC_IN_BROKER) and then on every NameServer
// (DELETE_TOPIC_IN_NAMESRV).
func (a *Admin) DeleteTopic(ctx context.Context, topic string) error {
	data, err := a.TopicRoute(ctx, topic)
	if err != nil {
		return err
	}
	fields := remoting.Fields{{Key: "topic", Value: topic}}
	for _, bd := range data.BrokerDatas {
		if addr := bd.MasterAddr(); addr != "" {
			req := remoting.NewRequest(protocol.DeleteTopicInBroker, fields, nil)
			if _, err := a.cl.call(ctx, "delete topic "+topic, addr, req); err != nil {
				return err
			}
		}
	}
	var errs []error
	for _, ns := range a.cl.opts.NameServers {
		req := remoting.NewRequest(protocol.DeleteTopicInNameServer, fields, nil)
		if _, err := a.cl.call(ctx, "delete topic "+topic, ns, req); err != nil {
			errs = append(errs, err)
		}
	}
	a.cl.routes.forget(topic)
	return errors.Join(errs...)
}

// TopicRoute fetches the topic's route from the NameServers.
func (a *Admin) TopicRoute(ctx context.Context, topic string) (*TopicRouteData, error) {
	return a.cl.routes.fetchData(ctx, topic)
}

// ClusterInfo fetches the clusters and broker sets (GET_BROKER_CLUSTER_INFO).
func (a *Admin) ClusterInfo(ctx context.Context) (*ClusterInfo, error) {
	var info ClusterInfo
	if err := a.nameServerJSON(ctx, "cluster info", protocol.GetBrokerClusterInfo, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// legacyNumericKey matches an unquoted numeric object key, as fastjson
// writes broker ids ({0:"ip:port"}).
var legacyNumericKey = regexp.MustCompile(`([{,]\s*)(-?[0-9]+)\s*:`)

// decodeLenient decodes a NameServer's JSON body, retrying with numeric
// keys quoted when the strict decode fails (Apache RocketMQ's legacy
// encoding of broker address maps).
func decodeLenient(body []byte, v any) error {
	err := protocol.Decode(body, v)
	if err == nil {
		return nil
	}
	if legacyNumericKey.Match(body) {
		if err2 := protocol.Decode(legacyNumericKey.ReplaceAll(body, []byte(`$1"$2":`)), v); err2 == nil {
			return nil
		}
	}
	return err
}

// TopicList lists every topic the NameServers know
// (GET_ALL_TOPIC_LIST_FROM_NAMESERVER), sorted.
func (a *Admin) TopicList(ctx context.Context) ([]string, error) {
	var list protocol.TopicList
	if err := a.nameServerJSON(ctx, "topic list", protocol.GetAllTopicListFromNameServer, &list); err != nil {
		return nil, err
	}
	slices.Sort(list.TopicList)
	return list.TopicList, nil
}

// nameServerJSON asks the NameServers in turn and decodes the first reply.
func (a *Admin) nameServerJSON(ctx context.Context, op string, code int16, v any) error {
	var errs []error
	for _, ns := range a.cl.opts.NameServers {
		resp, err := a.cl.call(ctx, op, ns, remoting.NewRequest(code, nil, nil))
		if err == nil {
			if err = decodeLenient(resp.Body, v); err == nil {
				return nil
			}
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%s: %w", op, errors.Join(errs...))
}

// MaxOffset returns the offset the queue's next message will get.
func (a *Admin) MaxOffset(ctx context.Context, mq MessageQueue) (int64, error) {
	return a.cl.queueOffset(ctx, protocol.GetMaxOffset, mq, 0)
}

// MinOffset returns the queue's smallest offset still stored.
func (a *Admin) MinOffset(ctx context.Context, mq MessageQueue) (int64, error) {
	return a.cl.queueOffset(ctx, protocol.GetMinOffset, mq, 0)
}

// SearchOffset returns the offset of the first message of the queue stored
// at or after t.
func (a *Admin) SearchOffset(ctx context.Context, mq MessageQueue, t time.Time) (int64, error) {
	return a.cl.queueOffset(ctx, protocol.SearchOffsetByTimestamp, mq, t.UnixMilli())
}

// QueryConsumerOffset returns a group's committed offset of mq;
// ErrOffsetNotFound when there is none.
func (a *Admin) QueryConsumerOffset(ctx context.Context, group string, mq MessageQueue) (int64, error) {
	return a.cl.queryConsumerOffset(ctx, group, mq)
}

// UpdateConsumerOffset sets a group's committed offset of mq. Running
// consumers of the group overwrite it with their own.
func (a *Admin) UpdateConsumerOffset(ctx context.Context, group string, mq MessageQueue, offset int64) error {
	return a.cl.updateConsumerOffset(ctx, group, mq, offset)
}

// queueOffset asks mq's master (a slave while the master is down) for
// GET_MAX_OFFSET, GET_MIN_OFFSET or SEARCH_OFFSET_BY_TIMESTAMP.
func (c *Client) queueOffset(ctx context.Context, code int16, mq MessageQueue, timestamp int64) (int64, error) {
	addr, err := c.memberOf(ctx, mq)
	if err != nil {
		return 0, err
	}
	f := queueFields(protocol.QueueHeader{Topic: mq.Topic, QueueID: mq.QueueID, BrokerName: mq.BrokerName})
	if code == protocol.SearchOffsetByTimestamp {
		f = append(f, remoting.Field{Key: "timestamp", Value: strconv.FormatInt(timestamp, 10)})
	}
	op := fmt.Sprintf("offset (code %d) of %s", code, mq)
	resp, err := c.call(ctx, op, addr, remoting.NewRequest(code, f, nil))
	if err != nil {
		return 0, err
	}
	return parseOffsetField(resp, op)
}

// ViewMessage fetches a message by its offsetMsgId (store host and
// commitlog offset) from the broker that stored it.
func (a *Admin) ViewMessage(ctx context.Context, offsetMsgID string) (*MessageExt, error) {
	host, off, err := message.ParseOffsetMsgID(offsetMsgID)
	if err != nil {
		return nil, fmt.Errorf("view message %q: %w", offsetMsgID, err)
	}
	req := remoting.NewRequest(protocol.ViewMessageByID, remoting.Fields{{Key: "offset", Value: strconv.FormatInt(off, 10)}}, nil)
	resp, err := a.cl.call(ctx, "view message "+offsetMsgID, host.String(), req)
	if err != nil {
		return nil, err
	}
	msgs, err := message.DecodeMessages(resp.Body)
	if err != nil || len(msgs) == 0 {
		return nil, fmt.Errorf("view message %s: %w", offsetMsgID, errors.Join(err, ErrMessageNotFound))
	}
	return msgs[0], nil
}

// QueryMessageByKey returns the messages of topic whose KEYS include key,
// from every broker of the topic (at most 64 per broker).
func (a *Admin) QueryMessageByKey(ctx context.Context, topic, key string) ([]*MessageExt, error) {
	return a.queryMessages(ctx, topic, key, false)
}

// QueryMessageByID returns the messages of topic whose UNIQ_KEY is msgID
// (more than one when a send was retried).
func (a *Admin) QueryMessageByID(ctx context.Context, topic, msgID string) ([]*MessageExt, error) {
	return a.queryMessages(ctx, topic, msgID, true)
}

func (a *Admin) queryMessages(ctx context.Context, topic, key string, uniq bool) ([]*MessageExt, error) {
	r, err := a.cl.routes.forConsumer(ctx, topic)
	if err != nil {
		return nil, err
	}
	h := protocol.QueryMessageHeader{Topic: topic, Key: key, MaxNum: 64, EndTimestamp: time.Now().UnixMilli() + 1, UniqueKeyQuery: uniq}
	var out []*MessageExt
	for _, bd := range r.data.BrokerDatas {
		addr := bd.MasterAddr()
		if addr == "" {
			continue
		}
		resp, err := a.cl.call(ctx, "query message "+key, addr, remoting.NewRequest(protocol.QueryMessage, h.Fields(), nil),
			protocol.Success, protocol.QueryNotFound)
		if err != nil {
			return nil, err
		}
		if resp.Code != protocol.Success {
			continue
		}
		msgs, err := message.DecodeMessages(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("query message %s at %s: %w", key, addr, err)
		}
		for _, m := range msgs {
			if m.Topic == topic && keyMatches(m, key, uniq) {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("query %s in %s: %w", key, topic, ErrMessageNotFound)
	}
	return out, nil
}

// keyMatches re-checks an index hit (the index hashes keys, so hits can be
// collisions).
func keyMatches(m *MessageExt, key string, uniq bool) bool {
	if uniq {
		return m.Properties[message.PropertyUniqKey] == key
	}
	return slices.Contains(strings.Split(m.Keys(), message.KeySeparator), key)
}
