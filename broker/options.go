package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sluicehq/sluice/broker/store"
)

// Role is a broker's place in its broker set.
type Role string

// Broker roles, spelled as Apache RocketMQ's brokerRole setting.
const (
	// RoleAsyncMaster acknowledges a send after its own write.
	RoleAsyncMaster Role = "ASYNC_MASTER"
	// RoleSyncMaster acknowledges a send once in-sync slaves have it too
	// (master/slave replication is a separate component).
	RoleSyncMaster Role = "SYNC_MASTER"
	// RoleSlave replicates a master and refuses writes.
	RoleSlave Role = "SLAVE"
)

// Options configures a Broker. NewOptions returns every default; each field
// names its unit and default.
type Options struct {
	// Listen is the remoting address to bind. Default ":10911".
	Listen string
	// AdvertiseAddr is the "ip:port" registered with NameServers and
	// written as STOREHOST into records. Default: the listen address, with
	// an unspecified host replaced by this machine's first non-loopback
	// IPv4 address (127.0.0.1 when there is none).
	AdvertiseAddr string
	// NameServers are the NameServer addresses the broker registers with.
	// Default none (standalone: clients must be given the broker address).
	NameServers []string
	// ClusterName groups broker sets. Default "DefaultCluster".
	ClusterName string
	// BrokerName names the broker set (master and slaves share it).
	// Default "broker-a".
	BrokerName string
	// BrokerID is 0 for the master, > 0 for slaves. Default 0.
	BrokerID int64
	// Role is the broker's role. Default ASYNC_MASTER.
	Role Role
	// DataDir holds the store and the config/ metadata. Required.
	DataDir string
	// HAListen is the master's replication (HA) address. Default: the
	// listen port plus one, as Apache RocketMQ.
	HAListen string
	// InSyncReplicas is how many copies a SYNC_MASTER send needs before it
	// is acknowledged SEND_OK, the master's included: 2 waits for one
	// slave. Default 2. (RocketMQ 5's default of 1 makes SYNC_MASTER behave
	// as ASYNC_MASTER; Sluice follows 4.x, where SYNC_MASTER waits.)
	InSyncReplicas int
	// SlaveTimeout is how long a SYNC_MASTER send waits for its slaves
	// before FLUSH_SLAVE_TIMEOUT. Default 3 s.
	SlaveTimeout time.Duration
	// ReplicationLogInterval is how often replication offsets and lag are
	// logged. Default 30 s.
	ReplicationLogInterval time.Duration
	// MasterAddr is a slave's master ("ip:port" of its remoting listener).
	// Default: learned from the NameServers' register replies.
	MasterAddr string
	// MasterHAAddr is a slave's master's HA address. Default: learned from
	// the NameServers' register replies (the master's listen port + 1).
	MasterHAAddr string
	// SlaveReadEnable lets a master send consumers that are far behind
	// (SlowConsumerLagBytes) to the group's slave. Default false.
	SlaveReadEnable bool
	// SlowConsumerLagBytes is how far behind the log's end, in bytes, a
	// consumer's next message must be for SlaveReadEnable to move it to a
	// slave: about where messages leave the page cache. Default 40% of RAM
	// (as Apache RocketMQ's accessMessageInMemoryMaxRatio), 4 GiB when
	// unknown.
	SlowConsumerLagBytes int64
	// MetadataSyncInterval is how often a slave copies its master's topics,
	// consumer groups and consumer offsets. Default 10 s.
	MetadataSyncInterval time.Duration
	// MetadataWatchInterval is how often a slave checks whether its
	// master's topics or groups changed, to copy them at once; 0 disables
	// (then only MetadataSyncInterval copies).
	MetadataWatchInterval time.Duration

	// AutoCreateTopic publishes TBW102 so clients may send to topics that
	// do not exist yet; the broker creates them on first send. Default true.
	AutoCreateTopic bool
	// AutoCreateSubscriptionGroup creates consumer groups on first use.
	// Default true.
	AutoCreateSubscriptionGroup bool
	// DefaultTopicQueueNums is TBW102's queue count, the cap for topics
	// auto-created from it. Default 8.
	DefaultTopicQueueNums int32
	// MaxReconsumeTimes is a group's retry budget before messages go to its
	// DLQ, when the client does not say. Default 16.
	MaxReconsumeTimes int32

	// RegisterInterval is how often the broker re-registers with every
	// NameServer. Default 30 s (Apache RocketMQ clamps it to 10–60 s; tests
	// shorten it).
	RegisterInterval time.Duration
	// RegisterTimeout bounds one registration call. Default 6 s.
	RegisterTimeout time.Duration
	// ClientExpiry drops a client that sent no heartbeat for this long.
	// Default 120 s.
	ClientExpiry time.Duration
	// ClientScanInterval is how often expired clients are looked for.
	// Default 10 s.
	ClientScanInterval time.Duration
	// QueueLockExpiry frees an orderly consumer's queue lock not renewed for
	// this long. Default 60 s.
	QueueLockExpiry time.Duration
	// MaxPullHold caps how long a pull is held waiting for messages
	// (clients ask for 20 s). Default 20 s.
	MaxPullHold time.Duration
	// PullHoldCheckInterval is how often held pulls are checked for their
	// deadline. Default 1 s.
	PullHoldCheckInterval time.Duration
	// MaxPullMsgs and MaxPullBytes cap one pull reply. Defaults 1024 and
	// 4 MiB: Apache RocketMQ clients ask for 32 messages; Sluice's client
	// asks for more to cut round trips.
	MaxPullMsgs  int
	MaxPullBytes int
	// MetadataFlushInterval is how often consumer and delay offsets are
	// persisted. Default 5 s.
	MetadataFlushInterval time.Duration
	// IdleTimeout closes connections silent for this long. Default 120 s.
	IdleTimeout time.Duration

	// Store configures the CommitLog store; its Dir defaults to DataDir.
	Store store.Options
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the wall clock (a seam for tests). Default time.Now.
	Now func() time.Time
}

// NewOptions returns the defaults.
func NewOptions() Options {
	return Options{
		Listen:                      ":10911",
		ClusterName:                 "DefaultCluster",
		BrokerName:                  "broker-a",
		Role:                        RoleAsyncMaster,
		AutoCreateTopic:             true,
		AutoCreateSubscriptionGroup: true,
		DefaultTopicQueueNums:       8,
		MaxReconsumeTimes:           16,
		RegisterInterval:            30 * time.Second,
		RegisterTimeout:             6 * time.Second,
		ClientExpiry:                120 * time.Second,
		ClientScanInterval:          10 * time.Second,
		QueueLockExpiry:             60 * time.Second,
		MaxPullHold:                 20 * time.Second,
		PullHoldCheckInterval:       time.Second,
		MaxPullMsgs:                 1024,
		MaxPullBytes:                4 << 20,
		MetadataFlushInterval:       5 * time.Second,
		MetadataSyncInterval:        10 * time.Second,
		MetadataWatchInterval:       time.Second,
		InSyncReplicas:              2,
		SlaveTimeout:                3 * time.Second,
		ReplicationLogInterval:      30 * time.Second,
		SlowConsumerLagBytes:        memoryBytes() * 4 / 10,
		IdleTimeout:                 120 * time.Second,
		Store:                       store.DefaultOptions(),
		Now:                         time.Now,
	}
}

// Validate reports the first invalid setting.
func (o *Options) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.DataDir != "", "data dir is required")
	check(o.Listen != "", "listen address is required")
	check(o.ClusterName != "", "cluster name is required")
	check(validName(o.BrokerName), "broker name %q must be 1-127 characters of [a-zA-Z0-9_-]", o.BrokerName)
	check(o.BrokerID >= 0, "broker id %d is negative", o.BrokerID)
	switch o.Role {
	case RoleAsyncMaster, RoleSyncMaster:
		check(o.BrokerID == 0, "role %s needs broker id 0, got %d", o.Role, o.BrokerID)
	case RoleSlave:
		check(o.BrokerID > 0, "role SLAVE needs a broker id > 0")
	default:
		check(false, "role %q is not ASYNC_MASTER, SYNC_MASTER or SLAVE", o.Role)
	}
	check(o.DefaultTopicQueueNums > 0 && o.DefaultTopicQueueNums <= 1024, "default topic queue nums %d outside 1-1024", o.DefaultTopicQueueNums)
	check(o.MaxReconsumeTimes >= 0, "max reconsume times %d is negative", o.MaxReconsumeTimes)
	for name, d := range map[string]time.Duration{
		"register interval": o.RegisterInterval, "register timeout": o.RegisterTimeout,
		"client expiry": o.ClientExpiry, "client scan interval": o.ClientScanInterval,
		"queue lock expiry": o.QueueLockExpiry, "max pull hold": o.MaxPullHold,
		"pull hold check interval": o.PullHoldCheckInterval, "metadata flush interval": o.MetadataFlushInterval,
		"metadata sync interval": o.MetadataSyncInterval, "slave timeout": o.SlaveTimeout,
		"replication log interval": o.ReplicationLogInterval,
	} {
		check(d > 0, "%s must be positive, got %v", name, d)
	}
	check(o.ClientExpiry >= 2*o.ClientScanInterval, "client expiry %v must be at least twice the scan interval %v", o.ClientExpiry, o.ClientScanInterval)
	check(o.MaxPullMsgs > 0 && o.MaxPullBytes > 0, "pull limits must be positive")
	check(o.MetadataWatchInterval >= 0, "metadata watch interval %v is negative", o.MetadataWatchInterval)
	check(o.InSyncReplicas >= 1 && o.InSyncReplicas <= 16, "in-sync replicas %d outside 1-16", o.InSyncReplicas)
	for _, ns := range o.NameServers {
		_, _, err := net.SplitHostPort(ns)
		check(err == nil, "name server address %q: %v", ns, err)
	}
	return errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}

// memoryBytes is the machine's RAM from /proc/meminfo, or 10 GiB (so 40%
// is 4 GiB) when it cannot be read.
func memoryBytes() int64 {
	const fallback = 10 << 30
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return fallback
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return fallback
}

// advertiseAddr resolves the address to register and stamp into records.
func advertiseAddr(configured string, bound net.Addr) (string, error) {
	if configured != "" {
		host, _, err := net.SplitHostPort(configured)
		if err != nil || net.ParseIP(host) == nil {
			return "", fmt.Errorf("advertise address %q must be ip:port", configured)
		}
		return configured, nil
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("listener address %v is not TCP", bound)
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = localIPv4()
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port)), nil
}

// localIPv4 is the first non-loopback IPv4 address, or 127.0.0.1.
func localIPv4() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.To4()
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}
