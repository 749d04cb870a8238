package client

import "sync/atomic"

// Stats is a snapshot of a client's, producer's or consumer's counters.
// Every field counts since creation.
type Stats struct {
	// Sent counts messages acknowledged as stored (any stored status); a
	// batch counts each message.
	Sent int64
	// SendErrors counts sends that failed after their retries.
	SendErrors int64
	// SendRetries counts send attempts after the first.
	SendRetries int64
	// Consumed counts messages whose handler succeeded.
	Consumed int64
	// ConsumeFailures counts messages whose handler failed (they are
	// retried: sent back, or consumed again locally in orderly mode).
	ConsumeFailures int64
	// SentBack counts messages handed back to the broker for a later retry
	// or to the dead-letter queue.
	SentBack int64
	// Pulls counts pull requests answered; PullErrors those that failed.
	Pulls      int64
	PullErrors int64
	// Pulled counts messages received by pulls.
	Pulled int64
}

// counters accumulates Stats; a component's counters forward every change
// to its client's.
type counters struct {
	parent                              *counters
	sent, sendErrors, sendRetries       atomic.Int64
	consumed, consumeFailures, sentBack atomic.Int64
	pulls, pullErrors, pulled           atomic.Int64
}

type counter int

const (
	cSent counter = iota
	cSendErrors
	cSendRetries
	cConsumed
	cConsumeFailures
	cSentBack
	cPulls
	cPullErrors
	cPulled
)

func (c *counters) field(k counter) *atomic.Int64 {
	switch k {
	case cSent:
		return &c.sent
	case cSendErrors:
		return &c.sendErrors
	case cSendRetries:
		return &c.sendRetries
	case cConsumed:
		return &c.consumed
	case cConsumeFailures:
		return &c.consumeFailures
	case cSentBack:
		return &c.sentBack
	case cPulls:
		return &c.pulls
	case cPullErrors:
		return &c.pullErrors
	default:
		return &c.pulled
	}
}

func (c *counters) add(k counter, n int64) {
	for ; c != nil; c = c.parent {
		c.field(k).Add(n)
	}
}

func (c *counters) snapshot() Stats {
	return Stats{
		Sent: c.sent.Load(), SendErrors: c.sendErrors.Load(), SendRetries: c.sendRetries.Load(),
		Consumed: c.consumed.Load(), ConsumeFailures: c.consumeFailures.Load(), SentBack: c.sentBack.Load(),
		Pulls: c.pulls.Load(), PullErrors: c.pullErrors.Load(), Pulled: c.pulled.Load(),
	}
}
