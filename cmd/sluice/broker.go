package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/internal/config"
)

// brokerLoad is how the broker command (and TestConfigsLoad) loads its
// config. NAMESRV_ADDR is a fallback, as in Apache RocketMQ: the file,
// SLUICE_NAMESRV and --namesrv all override it.
var brokerLoad = config.LoadOptions{
	EnvFallbacks: map[string][]string{"namesrv": {"NAMESRV_ADDR"}},
	FlagKeys: map[string]string{
		"segment-size":        "store.segment_size",
		"flush-interval":      "store.flush_interval",
		"sync-flush-timeout":  "store.sync_flush_timeout",
		"file-reserved-time":  "store.file_reserved_time",
		"disk-max-used-ratio": "store.disk_max_used_ratio",
		"max-message-size":    "store.max_message_size",
		"repair":              "store.repair",
	},
}

func (a *app) brokerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a broker (CommitLog store; Apache RocketMQ compatible)",
		Long: `Run a broker: it stores messages in a CommitLog under --data-dir, serves producers
and consumers, and registers with every NameServer in --namesrv.

Settings: flag > SLUICE_<KEY> environment variable > -c FILE (see configs/broker.yaml) >
NAMESRV_ADDR (for namesrv only) > default.`,
		Example: `  sluice broker --data-dir /var/lib/sluice/broker-a -n '127.0.0.1:9876;127.0.0.2:9876'
  NAMESRV_ADDR=127.0.0.1:9876 sluice broker --data-dir ./data --flush sync
  sluice broker -c configs/broker.yaml --broker-name broker-b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := defaultBrokerConfig()
			if err := a.loadConfig(cmd, &cfg, brokerLoad); err != nil {
				return err
			}
			if print, _ := cmd.Flags().GetBool("print-config"); print {
				return printConfig(cmd.OutOrStdout(), &cfg)
			}
			log := newLogger(cfg.Log, a.stderr)
			log.Info("starting broker", "version", versionString(), "data_dir", cfg.DataDir)
			b, err := broker.New(cfg.options(log))
			if err != nil {
				return runtimeError(err)
			}
			return a.serve(cmd.Context(), "broker", b, cfg.MetricsListen, log)
		},
	}
	addBrokerFlags(cmd.Flags(), defaultBrokerConfig())
	addDaemonFlags(cmd)
	return cmd
}

func addBrokerFlags(fs *pflag.FlagSet, d brokerConfig) {
	addFlag(fs, "listen", d.Listen, "address to listen on (host:port)")
	addFlag(fs, "advertise", d.Advertise, "ip:port to register with NameServers (default: the listen address, or this host's first IPv4)")
	fs.StringP("namesrv", "n", "", "NameServer addresses, ';'-separated (env SLUICE_NAMESRV, or NAMESRV_ADDR as a fallback)")
	addFlag(fs, "cluster", d.Cluster, "cluster name")
	addFlag(fs, "broker-name", d.BrokerName, "broker set name, shared by its master and slaves")
	addFlag(fs, "broker-id", d.BrokerID, "0 for the master, > 0 for slaves")
	addFlag(fs, "role", d.Role, "ASYNC_MASTER, SYNC_MASTER or SLAVE")
	addFlag(fs, "data-dir", d.DataDir, "directory for the store and metadata (required)")
	addFlag(fs, "flush", d.Flush, "when a send counts as stored: async (page cache) or sync (after fdatasync)")
	addFlag(fs, "ha-listen", d.HAListen, "replication address slaves connect to (default: the listen port + 1)")
	addFlag(fs, "in-sync-replicas", d.InSyncReplicas, "copies a SYNC_MASTER send needs, the master's included (2 = one slave)")
	addFlag(fs, "slave-timeout", d.SlaveTimeout, "how long a SYNC_MASTER send waits for its slaves before FLUSH_SLAVE_TIMEOUT")
	addFlag(fs, "master-addr", d.MasterAddr, "a slave's master, ip:port (default: learned from the NameServers)")
	addFlag(fs, "master-ha-addr", d.MasterHAAddr, "a slave's master's replication address (default: learned from the NameServers)")
	addFlag(fs, "slave-read-enable", d.SlaveReadEnable, "send consumers far behind (slow_consumer_lag) to the group's slave")
	addFlag(fs, "auto-create-topic", d.AutoCreateTopic, "create topics on first send")
	addFlag(fs, "auto-create-subscription-group", d.AutoCreateSubscriptionGroup, "create consumer groups on first use")
	addFlag(fs, "default-topic-queue-nums", d.DefaultTopicQueueNums, "queues of auto-created topics")
	addFlag(fs, "register-interval", d.RegisterInterval, "how often to register with every NameServer")
	addFlag(fs, "client-expiry", d.ClientExpiry, "drop a client silent for this long")
	addFlag(fs, "idle-timeout", d.IdleTimeout, "close connections silent for this long")
	addFlag(fs, "metrics-listen", d.MetricsListen, "serve /healthz and /debug/pprof/ on this host:port (empty: off)")
	addFlag(fs, "segment-size", d.Store.SegmentSize, "CommitLog segment size (never change it for an existing store)")
	addFlag(fs, "flush-interval", d.Store.FlushInterval, "async flush period")
	addFlag(fs, "sync-flush-timeout", d.Store.SyncFlushTimeout, "how long a sync-flush send waits for fdatasync")
	addFlag(fs, "file-reserved-time", d.Store.FileReservedTime, "keep CommitLog segments this long after their last message")
	addFlag(fs, "disk-max-used-ratio", d.Store.DiskMaxUsedRatio, "delete the oldest segments when the disk is fuller than this")
	addFlag(fs, "max-message-size", d.Store.MaxMessageSize, "largest stored message")
	addFlag(fs, "repair", d.Store.Repair, "truncate the CommitLog at a corrupt record instead of refusing to start (loses what follows)")
}
