package broker

import (
	"context"
	"hash/crc32"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// requestRegister asks the register loop to register now (after a topic
// change) without blocking the caller.
func (b *Broker) requestRegister() {
	select {
	case b.registerNow <- struct{}{}:
	default:
	}
}

// registerLoop registers with every NameServer at start, every
// RegisterInterval, and right after the topic table changes.
func (b *Broker) registerLoop() {
	if len(b.opts.NameServers) == 0 {
		return
	}
	b.registerAll()
	t := time.NewTicker(b.opts.RegisterInterval)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		case <-b.registerNow:
		}
		b.registerAll()
	}
}

// registerAll registers with each NameServer in parallel. NameServers are
// independent; one that is down does not delay the others.
func (b *Broker) registerAll() {
	body := protocol.Encode(protocol.RegisterBrokerBody{
		TopicConfigSerializeWrapper: b.topics.Snapshot(),
		FilterServerList:            []string{},
	})
	h := protocol.BrokerHeader{
		BrokerName: b.opts.BrokerName, BrokerAddr: b.addr, ClusterName: b.opts.ClusterName,
		HAServerAddr: b.haAddr(), BrokerID: b.opts.BrokerID,
		BodyCRC32: int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF),
	}
	var wg sync.WaitGroup
	for _, ns := range b.opts.NameServers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.registerOne(ns, h, body)
		}()
	}
	wg.Wait()
}

func (b *Broker) registerOne(ns string, h protocol.BrokerHeader, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.RegisterTimeout)
	defer cancel()
	resp, err := b.peers.Invoke(ctx, ns, remoting.NewRequest(protocol.RegisterBroker, h.Fields(), body))
	if err == nil && resp.Code != protocol.Success {
		err = &remoting.CodeError{Code: resp.Code, Remark: resp.Remark}
	}
	if err != nil {
		b.stats.registerFailures.Add(1)
		b.logger.Warn("register with name server failed", "name_server", ns, "err", err)
		return
	}
	b.stats.registrations.Add(1)
	r := protocol.ParseRegisterBrokerResult(resp.ExtFields)
	if !b.isMaster() && r.MasterAddr != "" {
		if old := b.learnedMaster.Swap(&masterInfo{addr: r.MasterAddr, haAddr: r.HAServerAddr}); old == nil || old.addr != r.MasterAddr {
			b.logger.Info("master found", "master", r.MasterAddr, "master_ha", r.HAServerAddr, "name_server", ns)
			b.requestMetadataSync()
		}
	}
	b.logger.Debug("registered with name server", "name_server", ns, "master", r.MasterAddr)
}

// unregisterAll tells every NameServer the broker is leaving, so clients
// stop routing to it at once instead of after the 120 s expiry.
func (b *Broker) unregisterAll() {
	h := protocol.BrokerHeader{
		BrokerName: b.opts.BrokerName, BrokerAddr: b.addr, ClusterName: b.opts.ClusterName, BrokerID: b.opts.BrokerID,
	}
	var wg sync.WaitGroup
	for _, ns := range b.opts.NameServers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if _, err := b.peers.Invoke(ctx, ns, remoting.NewRequest(protocol.UnregisterBroker, h.Fields(), nil)); err != nil {
				b.logger.Warn("unregister from name server failed", "name_server", ns, "err", err)
			}
		}()
	}
	wg.Wait()
}
