package client

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// heartbeatData describes the client's producer and consumer groups.
func (c *Client) heartbeatData() protocol.HeartbeatData {
	c.mu.Lock()
	groups := make([]string, 0, len(c.producers))
	for g := range c.producers {
		groups = append(groups, g)
	}
	ms := make([]member, 0, len(c.consumers))
	for _, m := range c.consumers {
		ms = append(ms, m)
	}
	c.mu.Unlock()
	slices.Sort(groups)
	hb := protocol.HeartbeatData{
		ClientID:        c.id,
		ProducerDataSet: make([]protocol.ProducerData, 0, len(groups)),
		ConsumerDataSet: make([]protocol.ConsumerData, 0, len(ms)),
	}
	for _, g := range groups {
		hb.ProducerDataSet = append(hb.ProducerDataSet, protocol.ProducerData{GroupName: g})
	}
	for _, m := range ms {
		hb.ConsumerDataSet = append(hb.ConsumerDataSet, m.consumerData())
	}
	slices.SortFunc(hb.ConsumerDataSet, func(a, b protocol.ConsumerData) int {
		return strings.Compare(a.GroupName, b.GroupName)
	})
	return hb
}

// heartbeat announces the client's groups to every broker of the cached
// routes: masters and slaves when it has consumers (slaves serve pulls),
// masters only for a producer-only client. Brokers learn consumer
// subscriptions and group membership from it.
func (c *Client) heartbeat(ctx context.Context) {
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	hb := c.heartbeatData()
	if len(hb.ProducerDataSet) == 0 && len(hb.ConsumerDataSet) == 0 {
		return
	}
	body := protocol.Encode(hb)
	var wg sync.WaitGroup
	for _, addr := range c.routes.brokerAddrs(len(hb.ConsumerDataSet) > 0) {
		wg.Go(func() {
			req := remoting.NewRequest(protocol.HeartBeat, nil, body)
			if _, err := c.call(ctx, "heartbeat", addr, req); err != nil {
				c.log.Warn("heartbeat failed", "broker", addr, "err", err)
			}
		})
	}
	wg.Wait()
}
