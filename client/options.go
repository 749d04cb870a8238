package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// Options configures a Client: the connection to a cluster shared by the
// producers, consumers and admin calls of a process. NewOptions returns the
// defaults; each field names its unit and default.
type Options struct {
	// NameServers are the NameServer addresses ("ip:port"). Required.
	NameServers []string
	// InstanceName distinguishes clients of one process: the client id is
	// "ip@pid" or, when InstanceName is set, "ip@pid@InstanceName". Two
	// consumers of one group in one process need different client ids.
	// Default "" (producers and consumers that create their own Client get
	// a unique instance number).
	InstanceName string
	// ClientID overrides the computed client id. Default "".
	ClientID string
	// ClientIP is the address put into client ids and message ids.
	// Default: this machine's first non-loopback IPv4 address, else
	// 127.0.0.1.
	ClientIP string
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger

	// RouteRefreshInterval is how often cached topic routes are fetched
	// again. Default 30 s.
	RouteRefreshInterval time.Duration
	// HeartbeatInterval is how often producer and consumer groups are
	// announced to every broker of the cached routes. Default 30 s.
	HeartbeatInterval time.Duration
	// OffsetPersistInterval is how often consumers commit offsets to the
	// broker (or to the local file in broadcasting mode). Default 5 s.
	OffsetPersistInterval time.Duration
	// RebalanceInterval is how often consumers recompute their queues even
	// without a NOTIFY_CONSUMER_IDS_CHANGED. Default 20 s.
	RebalanceInterval time.Duration
	// RPCTimeout bounds one request that is not a send or a pull (route,
	// heartbeat, offsets, locks, admin). Default 3 s.
	RPCTimeout time.Duration
	// DialTimeout bounds connecting to a server. Default 3 s.
	DialTimeout time.Duration
}

// NewOptions returns the defaults with the given NameServers.
func NewOptions(nameServers ...string) Options {
	return Options{
		NameServers:           nameServers,
		Logger:                slog.Default(),
		RouteRefreshInterval:  30 * time.Second,
		HeartbeatInterval:     30 * time.Second,
		OffsetPersistInterval: 5 * time.Second,
		RebalanceInterval:     20 * time.Second,
		RPCTimeout:            3 * time.Second,
		DialTimeout:           3 * time.Second,
	}
}

// withDefaults fills zero fields with the defaults.
func (o Options) withDefaults() Options {
	d := NewOptions()
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	setDur(&o.RouteRefreshInterval, d.RouteRefreshInterval)
	setDur(&o.HeartbeatInterval, d.HeartbeatInterval)
	setDur(&o.OffsetPersistInterval, d.OffsetPersistInterval)
	setDur(&o.RebalanceInterval, d.RebalanceInterval)
	setDur(&o.RPCTimeout, d.RPCTimeout)
	setDur(&o.DialTimeout, d.DialTimeout)
	if o.ClientIP == "" {
		o.ClientIP = localIPv4()
	}
	return o
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Validate reports every invalid setting.
func (o Options) Validate() error {
	var errs []error
	if len(o.NameServers) == 0 {
		errs = append(errs, errors.New("at least one name server is required"))
	}
	for _, ns := range o.NameServers {
		if _, _, err := net.SplitHostPort(ns); err != nil {
			errs = append(errs, fmt.Errorf("name server %q: %w", ns, err))
		}
	}
	for name, d := range map[string]time.Duration{
		"route refresh interval": o.RouteRefreshInterval, "heartbeat interval": o.HeartbeatInterval,
		"offset persist interval": o.OffsetPersistInterval, "rebalance interval": o.RebalanceInterval,
		"rpc timeout": o.RPCTimeout, "dial timeout": o.DialTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", name, d))
		}
	}
	if o.ClientIP != "" && net.ParseIP(o.ClientIP) == nil {
		errs = append(errs, fmt.Errorf("client ip %q is not an IP address", o.ClientIP))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

// clientID builds "ip@pid[@instance]" as RocketMQ clients do.
func (o Options) clientID() string {
	if o.ClientID != "" {
		return o.ClientID
	}
	id := o.ClientIP + "@" + strconv.Itoa(os.Getpid())
	if o.InstanceName != "" {
		id += "@" + o.InstanceName
	}
	return id
}

// localIPv4 is the first non-loopback IPv4 address, or 127.0.0.1.
func localIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.To4().String()
			}
		}
	}
	return "127.0.0.1"
}
