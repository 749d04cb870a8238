package ha

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/broker/store"
)

// MasterOptions configures a Master. Start from DefaultMasterOptions.
type MasterOptions struct {
	// Listen is the HA address, host:port. Default ":10912" (RocketMQ's
	// haListenPort: the broker port + 1). Tests use "127.0.0.1:0".
	Listen string
	// Store is the master's message store. Required.
	Store *store.Store
	// Epochs is the master's epoch file, with the current term already
	// started (EpochFile.StartTerm). Required.
	Epochs *EpochFile
	// BrokerName is the broker group; slaves of another group are refused.
	// Required, at most 255 bytes.
	BrokerName string
	// BatchSize is the most commitlog bytes sent per write, in bytes.
	// Default 256 KiB; at most MaxFrameData.
	BatchSize int
	// HeartbeatInterval is how long a connection may go without a frame
	// before the master sends an empty one (carrying its log end). Default 1s.
	HeartbeatInterval time.Duration
	// IdleTimeout closes a slave that sent nothing (no ack) for this long,
	// and bounds the handshake and each write. Default 20s.
	IdleTimeout time.Duration
	// NotInSyncAfter: a slave that has not caught up with the master's end
	// for this long leaves the in-sync set (RocketMQ's
	// haMaxTimeSlaveNotCatchup). Default 15s.
	NotInSyncAfter time.Duration
	// MaxLagInSync: a slave more than this many bytes behind is not in sync
	// (RocketMQ's haMaxGapNotInSync). Default 256 MiB.
	MaxLagInSync int64
	// PollInterval is how often an idle sender looks for new data even
	// without Notify. Default 5ms.
	PollInterval time.Duration
	// Logger receives the master's logs. Default: discard.
	Logger *slog.Logger
	// Now is the wall clock for ack times and in-sync decisions. Default
	// time.Now.
	Now func() time.Time
}

// DefaultMasterOptions returns MasterOptions with every default set and
// Store, Epochs and BrokerName empty.
func DefaultMasterOptions() MasterOptions {
	return MasterOptions{
		Listen:            ":10912",
		BatchSize:         256 << 10,
		HeartbeatInterval: time.Second,
		IdleTimeout:       20 * time.Second,
		NotInSyncAfter:    15 * time.Second,
		MaxLagInSync:      256 << 20,
		PollInterval:      5 * time.Millisecond,
		Now:               time.Now,
	}
}

// Validate checks the options.
func (o *MasterOptions) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Listen != "", "ha master: Listen is required")
	check(o.Store != nil && o.Epochs != nil, "ha master: Store and Epochs are required")
	check(o.BrokerName != "" && len(o.BrokerName) <= maxBrokerName, "ha master: BrokerName must be 1-%d bytes", maxBrokerName)
	check(o.BatchSize >= 4096 && o.BatchSize <= MaxFrameData, "ha master: BatchSize %d out of [4096, %d]", o.BatchSize, MaxFrameData)
	check(o.HeartbeatInterval > 0 && o.IdleTimeout > 0 && o.NotInSyncAfter > 0 && o.PollInterval > 0,
		"ha master: intervals and timeouts must be positive")
	check(o.HeartbeatInterval < o.IdleTimeout, "ha master: HeartbeatInterval must be below IdleTimeout")
	check(o.MaxLagInSync > 0, "ha master: MaxLagInSync must be positive")
	check(o.Now != nil, "ha master: Now is required")
	return errors.Join(errs...)
}

// SlaveOptions configures a Slave. Start from DefaultSlaveOptions.
type SlaveOptions struct {
	// MasterAddr returns the master's HA address (the broker learns it from
	// the NameServer's register reply, or from config); "" means not known
	// yet. It is called before every connection attempt and once per
	// AckInterval while connected: a changed address makes the slave
	// reconnect. Required.
	MasterAddr func() string
	// Store is the slave's message store; its SegmentSize must equal the
	// master's. Required.
	Store *store.Store
	// Epochs is the slave's epoch file. Required.
	Epochs *EpochFile
	// BrokerName is the broker group. Required, at most 255 bytes.
	BrokerName string
	// BrokerID is this slave's id in the group (> 0).
	BrokerID int64
	// AckInterval: the slave acks after each batch it appends and at least
	// this often. Default 1s.
	AckInterval time.Duration
	// ReconnectBackoff is the pause before reconnecting after a failure, or
	// while MasterAddr is "". Default 1s.
	ReconnectBackoff time.Duration
	// IdleTimeout drops a master that sent nothing (not even a heartbeat)
	// for this long, and bounds the handshake and each write. Default 20s.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting to the master. Default 3s.
	DialTimeout time.Duration
	// Logger receives the slave's logs. Default: discard.
	Logger *slog.Logger
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
}

// DefaultSlaveOptions returns SlaveOptions with every default set and the
// required fields empty.
func DefaultSlaveOptions() SlaveOptions {
	return SlaveOptions{
		AckInterval:      time.Second,
		ReconnectBackoff: time.Second,
		IdleTimeout:      20 * time.Second,
		DialTimeout:      3 * time.Second,
		Now:              time.Now,
	}
}

// Validate checks the options.
func (o *SlaveOptions) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.MasterAddr != nil, "ha slave: MasterAddr is required")
	check(o.Store != nil && o.Epochs != nil, "ha slave: Store and Epochs are required")
	check(o.BrokerName != "" && len(o.BrokerName) <= maxBrokerName, "ha slave: BrokerName must be 1-%d bytes", maxBrokerName)
	check(o.BrokerID > 0, "ha slave: BrokerID %d must be positive (0 is the master)", o.BrokerID)
	check(o.AckInterval > 0 && o.ReconnectBackoff > 0 && o.IdleTimeout > 0 && o.DialTimeout > 0,
		"ha slave: intervals and timeouts must be positive")
	check(o.Now != nil, "ha slave: Now is required")
	return errors.Join(errs...)
}

func loggerOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// idleDeadline re-arms a connection deadline at most every quarter of the
// timeout instead of on every frame (each re-arm updates a runtime timer).
// The deadline is set a quarter beyond the timeout, so a silent or stuck
// peer is cut after between 1 and 1.25 timeouts.
type idleDeadline struct {
	set     func(time.Time) error
	timeout time.Duration
	last    time.Time
}

func (d *idleDeadline) refresh() {
	now := time.Now()
	if now.Sub(d.last) >= d.timeout/4 {
		d.set(now.Add(d.timeout + d.timeout/4))
		d.last = now
	}
}
