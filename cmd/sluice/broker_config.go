package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/config"
)

// brokerConfig is the YAML shape of `sluice broker -c FILE`
// (configs/broker.yaml documents every key). It maps onto broker.Options;
// the daemon package has no YAML tags of its own.
type brokerConfig struct {
	Listen     string   `yaml:"listen"`
	Advertise  string   `yaml:"advertise"`
	NameSrv    []string `yaml:"namesrv" config:"sep=;"`
	Cluster    string   `yaml:"cluster"`
	BrokerName string   `yaml:"broker_name"`
	BrokerID   int64    `yaml:"broker_id" config:"nonnegative"`
	Role       string   `yaml:"role" config:"enum=ASYNC_MASTER|SYNC_MASTER|SLAVE"`
	DataDir    string   `yaml:"data_dir"`
	Flush      string   `yaml:"flush" config:"enum=async|sync|ASYNC_FLUSH|SYNC_FLUSH"`

	HAListen               string          `yaml:"ha_listen"`
	InSyncReplicas         int             `yaml:"in_sync_replicas" config:"positive"`
	SlaveTimeout           time.Duration   `yaml:"slave_timeout" config:"positive"`
	MasterAddr             string          `yaml:"master_addr"`
	MasterHAAddr           string          `yaml:"master_ha_addr"`
	MetadataSyncInterval   time.Duration   `yaml:"metadata_sync_interval" config:"positive"`
	SlaveReadEnable        bool            `yaml:"slave_read_enable"`
	SlowConsumerLag        config.ByteSize `yaml:"slow_consumer_lag" config:"positive"`
	ReplicationLogInterval time.Duration   `yaml:"replication_log_interval" config:"positive"`

	AutoCreateTopic             bool  `yaml:"auto_create_topic"`
	AutoCreateSubscriptionGroup bool  `yaml:"auto_create_subscription_group"`
	DefaultTopicQueueNums       int32 `yaml:"default_topic_queue_nums" config:"positive"`
	MaxReconsumeTimes           int32 `yaml:"max_reconsume_times" config:"nonnegative"`

	RegisterInterval      time.Duration   `yaml:"register_interval" config:"positive"`
	RegisterTimeout       time.Duration   `yaml:"register_timeout" config:"positive"`
	ClientExpiry          time.Duration   `yaml:"client_expiry" config:"positive"`
	ClientScanInterval    time.Duration   `yaml:"client_scan_interval" config:"positive"`
	QueueLockExpiry       time.Duration   `yaml:"queue_lock_expiry" config:"positive"`
	MaxPullHold           time.Duration   `yaml:"max_pull_hold" config:"positive"`
	PullHoldCheckInterval time.Duration   `yaml:"pull_hold_check_interval" config:"positive"`
	MaxPullMsgs           int             `yaml:"max_pull_msgs" config:"positive"`
	MaxPullBytes          config.ByteSize `yaml:"max_pull_bytes" config:"positive"`
	MetadataFlushInterval time.Duration   `yaml:"metadata_flush_interval" config:"positive"`
	IdleTimeout           time.Duration   `yaml:"idle_timeout"`

	MetricsListen string      `yaml:"metrics_listen"`
	Store         storeConfig `yaml:"store"`
	Log           logConfig   `yaml:"log"`
}

// storeConfig is the `store:` section; it maps onto store.Options.
type storeConfig struct {
	SegmentSize           config.ByteSize `yaml:"segment_size" config:"positive"`
	ConsumeQueueEntries   int             `yaml:"consume_queue_entries_per_file" config:"positive"`
	FlushInterval         time.Duration   `yaml:"flush_interval" config:"positive"`
	FlushLeastPages       int             `yaml:"flush_least_pages" config:"nonnegative"`
	FlushThoroughInterval time.Duration   `yaml:"flush_thorough_interval" config:"positive"`
	SyncFlushTimeout      time.Duration   `yaml:"sync_flush_timeout" config:"positive"`
	MaxMessageSize        config.ByteSize `yaml:"max_message_size" config:"positive"`
	Prewrite              string          `yaml:"prewrite" config:"enum=auto|true|false"`
	MetaFlushInterval     time.Duration   `yaml:"meta_flush_interval" config:"positive"`
	FileReservedTime      time.Duration   `yaml:"file_reserved_time" config:"positive"`
	DeleteWhen            int             `yaml:"delete_when" config:"nonnegative"`
	DiskMaxUsedRatio      float64         `yaml:"disk_max_used_ratio" config:"positive"`
	CleanInterval         time.Duration   `yaml:"clean_interval" config:"positive"`
	IndexEnabled          bool            `yaml:"index_enabled"`
	IndexMaxHashSlots     int             `yaml:"index_max_hash_slots" config:"positive"`
	IndexMaxCount         int             `yaml:"index_max_count" config:"positive"`
	Repair                bool            `yaml:"repair"`
}

// maxRegisterInterval keeps three registrations inside a NameServer's
// default 120 s broker expiry, so one lost registration never drops routes.
const maxRegisterInterval = 40 * time.Second

// defaultBrokerConfig takes every default from broker.NewOptions and
// store.DefaultOptions.
func defaultBrokerConfig() brokerConfig {
	o := broker.NewOptions()
	s := o.Store
	flush := "async"
	if s.FlushMode == store.FlushSync {
		flush = "sync"
	}
	return brokerConfig{
		Listen: o.Listen, Advertise: o.AdvertiseAddr, NameSrv: o.NameServers,
		Cluster: o.ClusterName, BrokerName: o.BrokerName, BrokerID: o.BrokerID,
		Role: string(o.Role), DataDir: o.DataDir, Flush: flush,

		HAListen: o.HAListen, InSyncReplicas: o.InSyncReplicas, SlaveTimeout: o.SlaveTimeout,
		MasterAddr: o.MasterAddr, MasterHAAddr: o.MasterHAAddr, MetadataSyncInterval: o.MetadataSyncInterval,
		SlaveReadEnable: o.SlaveReadEnable, SlowConsumerLag: config.ByteSize(o.SlowConsumerLagBytes),
		ReplicationLogInterval: o.ReplicationLogInterval,

		AutoCreateTopic:             o.AutoCreateTopic,
		AutoCreateSubscriptionGroup: o.AutoCreateSubscriptionGroup,
		DefaultTopicQueueNums:       o.DefaultTopicQueueNums,
		MaxReconsumeTimes:           o.MaxReconsumeTimes,

		RegisterInterval: o.RegisterInterval, RegisterTimeout: o.RegisterTimeout,
		ClientExpiry: o.ClientExpiry, ClientScanInterval: o.ClientScanInterval,
		QueueLockExpiry: o.QueueLockExpiry, MaxPullHold: o.MaxPullHold,
		PullHoldCheckInterval: o.PullHoldCheckInterval, MaxPullMsgs: o.MaxPullMsgs,
		MaxPullBytes: config.ByteSize(o.MaxPullBytes), MetadataFlushInterval: o.MetadataFlushInterval,
		IdleTimeout: o.IdleTimeout,

		Store: storeConfig{
			SegmentSize: config.ByteSize(s.SegmentSize), ConsumeQueueEntries: s.CQEntriesPerFile,
			FlushInterval: s.FlushInterval, FlushLeastPages: s.FlushLeastPages,
			FlushThoroughInterval: s.FlushThoroughInterval, SyncFlushTimeout: s.SyncFlushTimeout,
			MaxMessageSize: config.ByteSize(s.MaxMessageSize), Prewrite: "auto",
			MetaFlushInterval: s.MetaFlushInterval, FileReservedTime: s.FileReservedTime,
			DeleteWhen: s.DeleteWhen, DiskMaxUsedRatio: s.DiskMaxUsedRatio, CleanInterval: s.CleanInterval,
			IndexEnabled: s.IndexEnabled, IndexMaxHashSlots: s.IndexMaxHashSlots, IndexMaxCount: s.IndexMaxCount,
			Repair: s.Repair,
		},
		Log: defaultLogConfig(),
	}
}

// options converts the config to broker.Options.
func (c *brokerConfig) options(log *slog.Logger) broker.Options {
	o := broker.NewOptions()
	o.Listen, o.AdvertiseAddr, o.NameServers = c.Listen, c.Advertise, c.NameSrv
	o.ClusterName, o.BrokerName, o.BrokerID = c.Cluster, c.BrokerName, c.BrokerID
	o.Role, o.DataDir = broker.Role(c.Role), c.DataDir
	o.HAListen, o.InSyncReplicas, o.SlaveTimeout = c.HAListen, c.InSyncReplicas, c.SlaveTimeout
	o.MasterAddr, o.MasterHAAddr, o.MetadataSyncInterval = c.MasterAddr, c.MasterHAAddr, c.MetadataSyncInterval
	o.SlaveReadEnable, o.SlowConsumerLagBytes = c.SlaveReadEnable, int64(c.SlowConsumerLag)
	o.ReplicationLogInterval = c.ReplicationLogInterval
	o.AutoCreateTopic, o.AutoCreateSubscriptionGroup = c.AutoCreateTopic, c.AutoCreateSubscriptionGroup
	o.DefaultTopicQueueNums, o.MaxReconsumeTimes = c.DefaultTopicQueueNums, c.MaxReconsumeTimes
	o.RegisterInterval, o.RegisterTimeout = c.RegisterInterval, c.RegisterTimeout
	o.ClientExpiry, o.ClientScanInterval = c.ClientExpiry, c.ClientScanInterval
	o.QueueLockExpiry, o.MaxPullHold, o.PullHoldCheckInterval = c.QueueLockExpiry, c.MaxPullHold, c.PullHoldCheckInterval
	o.MaxPullMsgs, o.MaxPullBytes = c.MaxPullMsgs, int(c.MaxPullBytes)
	o.MetadataFlushInterval, o.IdleTimeout = c.MetadataFlushInterval, c.IdleTimeout
	o.Logger = log

	s, cs := &o.Store, c.Store
	s.FlushMode = store.FlushAsync
	if c.Flush == "sync" || c.Flush == "SYNC_FLUSH" {
		s.FlushMode = store.FlushSync
	}
	s.SegmentSize, s.CQEntriesPerFile = int64(cs.SegmentSize), cs.ConsumeQueueEntries
	s.FlushInterval, s.FlushLeastPages, s.FlushThoroughInterval = cs.FlushInterval, cs.FlushLeastPages, cs.FlushThoroughInterval
	s.SyncFlushTimeout, s.MaxMessageSize = cs.SyncFlushTimeout, int(cs.MaxMessageSize)
	// Pre-writing segments makes each fdatasync cheaper (no file-size
	// journal commit) at the cost of writing every byte twice: worth it when
	// every send waits for an fdatasync, not when flushes are periodic.
	s.Prewrite = cs.Prewrite == "true" || cs.Prewrite == "auto" && s.FlushMode == store.FlushSync
	s.MetaFlushInterval, s.FileReservedTime, s.DeleteWhen = cs.MetaFlushInterval, cs.FileReservedTime, cs.DeleteWhen
	s.DiskMaxUsedRatio, s.CleanInterval = cs.DiskMaxUsedRatio, cs.CleanInterval
	s.IndexEnabled, s.IndexMaxHashSlots, s.IndexMaxCount = cs.IndexEnabled, cs.IndexMaxHashSlots, cs.IndexMaxCount
	s.Repair = cs.Repair
	return o
}

// Validate checks the settings, naming the key at fault, then runs the
// daemon's own Validate (broker and store) as a backstop.
func (c *brokerConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, config.KeyError(key, format, args...))
	}
	if c.DataDir == "" {
		bad("data_dir", "is required (set it in the file, with --data-dir or SLUICE_DATA_DIR)")
	}
	if err := checkHostPort(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if c.Advertise != "" {
		if host, _, err := net.SplitHostPort(c.Advertise); err != nil || net.ParseIP(host) == nil {
			bad("advertise", "%q must be ip:port (clients and NameServers dial it)", c.Advertise)
		}
	}
	for _, ns := range c.NameSrv {
		if err := checkHostPort(ns); err != nil {
			bad("namesrv", "%v", err)
		}
	}
	for key, addr := range map[string]string{"metrics_listen": c.MetricsListen, "ha_listen": c.HAListen,
		"master_addr": c.MasterAddr, "master_ha_addr": c.MasterHAAddr} {
		if addr != "" {
			if err := checkHostPort(addr); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	switch {
	case c.Role == "SLAVE" && c.BrokerID == 0:
		bad("broker_id", "must be > 0 for role SLAVE (0 is the master)")
	case c.Role != "SLAVE" && c.BrokerID != 0:
		bad("broker_id", "must be 0 for role %s (slaves have ids > 0)", c.Role)
	}
	if c.DefaultTopicQueueNums > 1024 {
		bad("default_topic_queue_nums", "%d is more than 1024", c.DefaultTopicQueueNums)
	}
	if c.RegisterInterval > maxRegisterInterval {
		bad("register_interval", "%v is longer than %v: NameServers expire brokers after 120s by default, so register at least three times in that window", c.RegisterInterval, maxRegisterInterval)
	}
	if c.ClientExpiry < 2*c.ClientScanInterval {
		bad("client_expiry", "%v must be at least twice client_scan_interval %v", c.ClientExpiry, c.ClientScanInterval)
	}
	c.Store.validate(bad)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	o := c.options(nil)
	if err := o.Validate(); err != nil {
		return err
	}
	o.Store.Dir = o.DataDir // the broker defaults it so
	if err := o.Store.Validate(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (s *storeConfig) validate(bad func(key, format string, args ...any)) {
	if s.SegmentSize < 4096 || s.SegmentSize >= 2*config.GiB {
		bad("store.segment_size", "%v is outside 4KiB to 2GiB-1", s.SegmentSize)
	}
	if s.MaxMessageSize > s.SegmentSize-8 {
		bad("store.segment_size", "%v cannot hold a message of store.max_message_size %v (plus 8 bytes)", s.SegmentSize, s.MaxMessageSize)
	}
	if s.DeleteWhen > 23 {
		bad("store.delete_when", "%d is not an hour of the day (0-23)", s.DeleteWhen)
	}
	if s.DiskMaxUsedRatio > 1 {
		bad("store.disk_max_used_ratio", "%v is more than 1", s.DiskMaxUsedRatio)
	}
}
