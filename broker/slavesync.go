package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// masterInfo is where a slave's master is: its remoting address and its HA
// address, from the configuration or from the NameServer's register reply.
type masterInfo struct {
	addr   string
	haAddr string
}

// master returns the slave's master, or a zero value while it is unknown.
func (b *Broker) master() masterInfo {
	m := masterInfo{addr: b.opts.MasterAddr, haAddr: b.opts.MasterHAAddr}
	if learned := b.learnedMaster.Load(); learned != nil {
		if m.addr == "" {
			m.addr = learned.addr
		}
		if m.haAddr == "" {
			m.haAddr = learned.haAddr
		}
	}
	return m
}

// requestMetadataSync asks the slave's sync loop to copy the master's
// metadata now (e.g. after a pull for a topic the slave does not know yet).
func (b *Broker) requestMetadataSync() {
	select {
	case b.syncNow <- struct{}{}:
	default:
	}
}

// metadataSyncLoop copies the master's topics, consumer groups and
// consumer offsets to this slave every MetadataSyncInterval and on demand.
func (b *Broker) metadataSyncLoop() {
	if b.isMaster() {
		return
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.RegisterTimeout)
		if err := b.syncFromMaster(ctx); err != nil {
			b.logger.Warn("copy metadata from master", "master", b.master().addr, "err", err)
		}
		cancel()
		select {
		case <-b.done:
			return
		case <-b.syncNow:
		case <-time.After(b.opts.MetadataSyncInterval):
		}
	}
}

// metadataVersion identifies the state of the topic and group tables: it
// changes whenever either changes (or the broker restarts), so a slave
// watching it copies a change within a second instead of waiting for the
// next MetadataSyncInterval.
func (b *Broker) metadataVersion() string {
	v := b.topics.Version()
	return fmt.Sprintf("%d.%d.%d.%d", b.started.UnixNano(), v.Timestamp, v.Counter, b.groups.Version())
}

// metadataWatchLoop polls the master's metadata version (in its runtime
// info) every MetadataWatchInterval and asks for a copy when it changed.
func (b *Broker) metadataWatchLoop() {
	if b.isMaster() || b.opts.MetadataWatchInterval <= 0 {
		return
	}
	last := ""
	b.every(b.opts.MetadataWatchInterval, func() {
		addr := b.master().addr
		if addr == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.RegisterTimeout)
		body, err := b.fetch(ctx, addr, protocol.GetBrokerRuntimeInfo)
		cancel()
		if err != nil {
			return // the master is down: the periodic copy logs it
		}
		var kv struct {
			Table map[string]string `json:"table"`
		}
		if protocol.Decode(body, &kv) != nil {
			return
		}
		if v := kv.Table["metadataVersion"]; v != "" && v != last {
			b.requestMetadataSync()
			last = v
		}
	})
}

// syncFromMaster copies the master's topic and group tables, and merges its
// consumer offsets: an offset only moves forward, so offsets committed on
// this slave while the master was away survive the master's return, and
// the slave reports them back to the master.
func (b *Broker) syncFromMaster(ctx context.Context) error {
	addr := b.master().addr
	if addr == "" {
		return nil // not known yet: the next registration tells us
	}
	body, err := b.fetch(ctx, addr, protocol.GetAllTopicConfig)
	if err != nil {
		return err
	}
	var topics protocol.TopicConfigWrapper
	if err := protocol.Decode(body, &topics); err != nil {
		return err
	}
	if _, err := b.topics.Replace(topics); err != nil {
		return err
	}
	if body, err = b.fetch(ctx, addr, protocol.GetAllSubscriptionGroupConfig); err != nil {
		return err
	}
	groups, err := decodeGroups(body)
	if err != nil {
		return err
	}
	if err := b.groups.Replace(groups); err != nil {
		return err
	}
	if body, err = b.fetch(ctx, addr, protocol.GetAllConsumerOffset); err != nil {
		return err
	}
	ahead, err := b.offsets.MergeMax(body)
	if err != nil {
		return err
	}
	for _, o := range ahead {
		h := protocol.QueueHeader{ConsumerGroup: o.group, Topic: o.topic, QueueID: o.queueID, CommitOffset: o.offset}
		if _, err := b.peers.Invoke(ctx, addr, remoting.NewRequest(protocol.UpdateConsumerOffset, h.Fields(), nil)); err != nil {
			return fmt.Errorf("report offset of %s@%s to master: %w", o.topic, o.group, err)
		}
	}
	return nil
}

// fetch makes a metadata call to the master and returns its body.
func (b *Broker) fetch(ctx context.Context, addr string, code int16) ([]byte, error) {
	resp, err := b.peers.Invoke(ctx, addr, remoting.NewRequest(code, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("call %d on master %s: %w", code, addr, err)
	}
	if resp.Code != protocol.Success {
		return nil, fmt.Errorf("call %d on master %s: %w", code, addr, &remoting.CodeError{Code: resp.Code, Remark: resp.Remark})
	}
	return resp.Body, nil
}
