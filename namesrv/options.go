package namesrv

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options configures a NameServer. Start from NewOptions: a zero Options is
// not valid.
type Options struct {
	// Listen is the TCP address the NameServer binds. Default ":9876"
	// (Apache RocketMQ's port); tests use "127.0.0.1:0" and read Addr.
	Listen string

	// BrokerExpiry is how long a broker stays routable after its last
	// REGISTER_BROKER or QUERY_DATA_VERSION when it did not announce its own
	// heartbeatTimeoutMillis. Default 120 s (Apache RocketMQ's
	// BROKER_CHANNEL_EXPIRED_TIME). Brokers re-register every 30 s, so the
	// default tolerates three lost registrations.
	BrokerExpiry time.Duration

	// ScanInterval is how often expired brokers are looked for. A dead
	// broker leaves the routes between BrokerExpiry and BrokerExpiry +
	// ScanInterval after its last registration. Default 5 s (Apache
	// RocketMQ 5.x's scanNotActiveBrokerInterval).
	ScanInterval time.Duration

	// IdleTimeout closes a connection that sent no frame for this long; a
	// broker's registrations go with its connection. Default 120 s, the
	// same as Apache RocketMQ and its Go client. Zero disables it. Keep it
	// above the brokers' registration period (30 s) or their routes flap.
	IdleTimeout time.Duration

	// MaxHeartbeatTimeout caps the heartbeatTimeoutMillis a broker may
	// announce, so one misconfigured (or hostile) broker cannot pin itself
	// in the routes for days after it died with its connection half open.
	// Default 10 min.
	MaxHeartbeatTimeout time.Duration

	// Logger receives the NameServer's logs (registrations, expiries,
	// connection events). Nil discards them.
	Logger *slog.Logger

	// Now is the clock used for liveness: registration times and expiry
	// scans. Default time.Now, whose monotonic reading keeps a wall-clock
	// jump from expiring every broker at once. Tests substitute a fake.
	Now func() time.Time
}

// NewOptions returns Options with every default filled in.
func NewOptions() Options {
	return Options{
		Listen:              ":9876",
		BrokerExpiry:        120 * time.Second,
		ScanInterval:        5 * time.Second,
		IdleTimeout:         120 * time.Second,
		MaxHeartbeatTimeout: 10 * time.Minute,
		Now:                 time.Now,
	}
}

// ErrInvalidOptions is wrapped by every error Validate returns.
var ErrInvalidOptions = errors.New("invalid namesrv options")

// Validate reports the first setting that cannot work.
func (o *Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Listen == "":
		return bad("listen address is empty")
	case o.ScanInterval <= 0:
		return bad("scan interval %v must be positive", o.ScanInterval)
	case o.BrokerExpiry <= 0:
		return bad("broker expiry %v must be positive", o.BrokerExpiry)
	case o.BrokerExpiry < o.ScanInterval:
		// A scan coarser than the expiry would keep dead brokers routable
		// for up to twice their timeout.
		return bad("broker expiry %v is shorter than the scan interval %v", o.BrokerExpiry, o.ScanInterval)
	case o.IdleTimeout < 0:
		return bad("idle timeout %v is negative", o.IdleTimeout)
	case o.MaxHeartbeatTimeout < o.BrokerExpiry:
		return bad("max heartbeat timeout %v is shorter than the broker expiry %v", o.MaxHeartbeatTimeout, o.BrokerExpiry)
	case o.Now == nil:
		return bad("clock (Now) is nil")
	}
	return nil
}
