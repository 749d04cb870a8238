package broker

import "sync/atomic"

// brokerStats counts what the broker does; Stats snapshots it and the
// metrics collector exports it.
type brokerStats struct {
	messagesIn       atomic.Int64
	bytesIn          atomic.Int64
	messagesOut      atomic.Int64
	bytesOut         atomic.Int64
	heldPulls        atomic.Int64
	registrations    atomic.Int64
	registerFailures atomic.Int64
}

func (s *brokerStats) countPut(topic string, n, bytes int) {
	s.messagesIn.Add(int64(n))
	s.bytesIn.Add(int64(bytes))
}

func (s *brokerStats) countGet(topic, group string, n, bytes int) {
	s.messagesOut.Add(int64(n))
	s.bytesOut.Add(int64(bytes))
}

// Stats is a snapshot of a broker's counters.
type Stats struct {
	MessagesIn, BytesIn   int64 // stored by sends
	MessagesOut, BytesOut int64 // returned by pulls
	HeldPulls             int64 // pulls waiting for messages now
	Registrations         int64 // successful NameServer registrations
	RegisterFailures      int64
	Consumers, Producers  int // live client registrations
	Topics                int
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	c, p := b.clients.Counts()
	return Stats{
		MessagesIn: b.stats.messagesIn.Load(), BytesIn: b.stats.bytesIn.Load(),
		MessagesOut: b.stats.messagesOut.Load(), BytesOut: b.stats.bytesOut.Load(),
		HeldPulls: b.stats.heldPulls.Load(), Registrations: b.stats.registrations.Load(),
		RegisterFailures: b.stats.registerFailures.Load(), Consumers: c, Producers: p,
		Topics: len(b.topics.Names()),
	}
}
