package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/config"
)

// envPrefix is the prefix of every daemon's environment variables:
// SLUICE_DATA_DIR sets data_dir, SLUICE_STORE_SEGMENT_SIZE store.segment_size.
const envPrefix = "SLUICE"

// daemon is what namesrv.NameServer and broker.Broker have in common.
type daemon interface {
	Addr() net.Addr
	Run(ctx context.Context) error
	Close() error
}

// loadConfig merges defaults (already in target), the file named by -c,
// SLUICE_* variables and the command's changed flags, and validates.
func (a *app) loadConfig(cmd *cobra.Command, target any, opts config.LoadOptions) error {
	opts.EnvPrefix = envPrefix
	opts.Flags = cmd.Flags()
	if err := config.Load(a.configFile, target, opts); err != nil {
		return configError(err)
	}
	return nil
}

// printConfig writes the effective configuration as YAML, in a form Load
// accepts back (durations and sizes with units).
func printConfig(w io.Writer, cfg any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return runtimeError(fmt.Errorf("print config: %w", err))
	}
	return enc.Close()
}

// addDaemonFlags declares the flags every daemon command has.
func addDaemonFlags(cmd *cobra.Command) {
	cmd.Flags().Bool("print-config", false, "print the effective configuration (defaults, file, environment, flags) as YAML and exit")
}

// serve runs d until ctx is cancelled (SIGINT, SIGTERM) or it fails, then
// closes it. With metricsListen set it also serves /healthz and
// /debug/pprof/ there for as long as d runs.
func (a *app) serve(ctx context.Context, name string, d daemon, metricsListen string, log *slog.Logger) error {
	if metricsListen != "" {
		stop, err := serveHTTP(metricsListen, log)
		if err != nil {
			d.Close()
			return runtimeError(err)
		}
		defer stop()
	}
	if a.onServe != nil {
		a.onServe(name, d.Addr())
	}
	err := d.Run(ctx)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return runtimeError(fmt.Errorf("%s: %w", name, err))
	}
	return nil
}

// serveHTTP starts the observability endpoint: /healthz and the pprof
// handlers. Metrics join it once the daemons export a registry.
func serveHTTP(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	log.Info("http endpoint serving", "addr", ln.Addr().String(), "paths", "/healthz /debug/pprof/")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// checkHostPort reports whether addr is "host:port" with a valid port;
// the host may be empty (all interfaces).
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}
