package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/namesrv"
)

// nameServerConfig is the YAML shape of `sluice namesrv -c FILE`
// (configs/namesrv.yaml); each field maps onto namesrv.Options.
type nameServerConfig struct {
	Listen              string        `yaml:"listen"`
	BrokerExpiry        time.Duration `yaml:"broker_expiry" config:"positive"`
	ScanInterval        time.Duration `yaml:"scan_interval" config:"positive"`
	IdleTimeout         time.Duration `yaml:"idle_timeout"`
	MaxHeartbeatTimeout time.Duration `yaml:"max_heartbeat_timeout" config:"positive"`
	MetricsListen       string        `yaml:"metrics_listen"`
	Log                 logConfig     `yaml:"log"`
}

// defaultNameServerConfig takes every default from namesrv.NewOptions.
func defaultNameServerConfig() nameServerConfig {
	o := namesrv.NewOptions()
	return nameServerConfig{
		Listen:              o.Listen,
		BrokerExpiry:        o.BrokerExpiry,
		ScanInterval:        o.ScanInterval,
		IdleTimeout:         o.IdleTimeout,
		MaxHeartbeatTimeout: o.MaxHeartbeatTimeout,
		Log:                 defaultLogConfig(),
	}
}

// options converts the config to the daemon's Options.
func (c *nameServerConfig) options(log *slog.Logger) namesrv.Options {
	o := namesrv.NewOptions()
	o.Listen = c.Listen
	o.BrokerExpiry = c.BrokerExpiry
	o.ScanInterval = c.ScanInterval
	o.IdleTimeout = c.IdleTimeout
	o.MaxHeartbeatTimeout = c.MaxHeartbeatTimeout
	o.Logger = log
	return o
}

// Validate checks what needs several fields, naming the key, then lets
// namesrv.Options.Validate have the last word.
func (c *nameServerConfig) Validate() error {
	var errs []error
	if err := checkHostPort(c.Listen); err != nil {
		errs = append(errs, config.KeyError("listen", "%v", err))
	}
	if c.MetricsListen != "" {
		if err := checkHostPort(c.MetricsListen); err != nil {
			errs = append(errs, config.KeyError("metrics_listen", "%v", err))
		}
	}
	if c.BrokerExpiry < c.ScanInterval {
		errs = append(errs, config.KeyError("broker_expiry", "%v is shorter than scan_interval %v", c.BrokerExpiry, c.ScanInterval))
	}
	if c.MaxHeartbeatTimeout < c.BrokerExpiry {
		errs = append(errs, config.KeyError("max_heartbeat_timeout", "%v is shorter than broker_expiry %v", c.MaxHeartbeatTimeout, c.BrokerExpiry))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	o := c.options(nil)
	return o.Validate()
}

// nameServerLoad is how the namesrv command (and TestConfigsLoad) loads
// its config.
var nameServerLoad = config.LoadOptions{}

func (a *app) nameServerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "namesrv",
		Short: "Run a NameServer (route registry; Apache RocketMQ compatible)",
		Long: `Run a NameServer: brokers register with it, clients ask it for topic routes.
NameServers share nothing; run two or more and give brokers and clients all of them.

Settings: flag > SLUICE_<KEY> environment variable > -c FILE (see configs/namesrv.yaml) > default.`,
		Example: `  sluice namesrv
  sluice namesrv --listen 127.0.0.1:9876 --broker-expiry 2m
  sluice namesrv -c configs/namesrv.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := defaultNameServerConfig()
			if err := a.loadConfig(cmd, &cfg, nameServerLoad); err != nil {
				return err
			}
			if print, _ := cmd.Flags().GetBool("print-config"); print {
				return printConfig(cmd.OutOrStdout(), &cfg)
			}
			log := newLogger(cfg.Log, a.stderr)
			log.Info("starting name server", "version", versionString())
			ns, err := namesrv.New(cfg.options(log))
			if err != nil {
				return runtimeError(err)
			}
			return a.serve(cmd.Context(), "namesrv", ns, cfg.MetricsListen, log)
		},
	}
	addNameServerFlags(cmd.Flags(), defaultNameServerConfig())
	addDaemonFlags(cmd)
	return cmd
}

func addNameServerFlags(fs *pflag.FlagSet, d nameServerConfig) {
	addFlag(fs, "listen", d.Listen, "address to listen on (host:port)")
	addFlag(fs, "broker-expiry", d.BrokerExpiry, "drop a broker from routes after this long without a registration")
	addFlag(fs, "scan-interval", d.ScanInterval, "how often to look for expired brokers")
	addFlag(fs, "idle-timeout", d.IdleTimeout, "close connections silent for this long (0 disables)")
	addFlag(fs, "max-heartbeat-timeout", d.MaxHeartbeatTimeout, "cap on the heartbeat timeout a broker may announce")
	addFlag(fs, "metrics-listen", d.MetricsListen, "serve /healthz and /debug/pprof/ on this host:port (empty: off)")
}
