// Package testutil boots real Sluice daemons for tests: NameServers and
// brokers on ephemeral 127.0.0.1 ports with data under t.TempDir(), logs to
// t.Log, and everything closed by t.Cleanup. It imports the daemon packages,
// so use it from external _test packages and from e2e/.
package testutil

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/namesrv"
)

type tlogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tlogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Logger returns a slog logger writing to t.Log (debug level when
// SLUICE_TEST_DEBUG is set, warnings and errors otherwise). Its output stops
// when the test cleans up, so daemons logging while they shut down never
// write to a finished test.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SLUICE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	w := &tlogWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Eventually polls cond every 10 ms until it is true or timeout passes, then
// fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, fmt.Sprintf(msg, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NameServer is a running NameServer.
type NameServer struct {
	*namesrv.NameServer
	Addr string
}

// StartNameServer starts a NameServer on 127.0.0.1:0 with short timers
// (scan 200 ms, expiry 3 s) unless tweak changes them.
func StartNameServer(t testing.TB, tweak func(*namesrv.Options)) *NameServer {
	t.Helper()
	opts := namesrv.NewOptions()
	opts.Listen = "127.0.0.1:0"
	opts.ScanInterval = 200 * time.Millisecond
	opts.BrokerExpiry = 3 * time.Second
	opts.Logger = Logger(t).With("daemon", "namesrv")
	if tweak != nil {
		tweak(&opts)
	}
	ns, err := namesrv.New(opts)
	if err != nil {
		t.Fatalf("start name server: %v", err)
	}
	runUntilCleanup(t, ns.Run, ns.Close)
	return &NameServer{NameServer: ns, Addr: ns.Addr().String()}
}

// Broker is a running broker.
type Broker struct {
	*broker.Broker
	Addr    string
	DataDir string
	Options broker.Options
}

// BrokerOptions returns broker options for a test: 127.0.0.1:0, data in a
// fresh temp dir, small segments, short timers, registering with nameServers.
func BrokerOptions(t testing.TB, nameServers ...string) broker.Options {
	opts := broker.NewOptions()
	opts.Listen = "127.0.0.1:0"
	opts.DataDir = t.TempDir()
	opts.NameServers = nameServers
	opts.RegisterInterval = 500 * time.Millisecond
	opts.ClientScanInterval = 500 * time.Millisecond
	opts.ClientExpiry = 5 * time.Second
	opts.MetadataFlushInterval = 200 * time.Millisecond
	opts.PullHoldCheckInterval = 100 * time.Millisecond
	opts.Store.SegmentSize = 16 << 20
	// Never delete by disk use: a busy test machine may be past 75 %, and a
	// test's messages must not vanish. Retention tests set their own.
	opts.Store.DiskMaxUsedRatio = 1
	opts.Logger = Logger(t).With("daemon", "broker")
	return opts
}

// StartBroker starts a broker with BrokerOptions changed by tweak.
func StartBroker(t testing.TB, tweak func(*broker.Options), nameServers ...string) *Broker {
	t.Helper()
	opts := BrokerOptions(t, nameServers...)
	if tweak != nil {
		tweak(&opts)
	}
	return StartBrokerWith(t, opts)
}

// StartBrokerWith starts a broker with exactly opts.
func StartBrokerWith(t testing.TB, opts broker.Options) *Broker {
	t.Helper()
	b, err := broker.New(opts)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	runUntilCleanup(t, b.Run, b.Close)
	return &Broker{Broker: b, Addr: b.AdvertisedAddr(), DataDir: opts.DataDir, Options: opts}
}

// runUntilCleanup runs a daemon's Run in the background and, at cleanup,
// closes it and waits (bounded) for Run to return.
func runUntilCleanup(t testing.TB, run func(context.Context) error, closeFn func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		closeFn()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("daemon did not stop within 30 s")
		}
	})
}

// Cluster is a NameServer with one master broker registered to it.
type Cluster struct {
	NameServer *NameServer
	Broker     *Broker
}

// StartCluster starts a NameServer and a broker registered with it, and
// waits until the NameServer serves the broker's default topic route.
func StartCluster(t testing.TB, tweak func(*broker.Options)) *Cluster {
	t.Helper()
	ns := StartNameServer(t, nil)
	b := StartBroker(t, tweak, ns.Addr)
	Eventually(t, 10*time.Second, func() bool { return b.Stats().Registrations > 0 },
		"broker %s never registered with name server %s", b.Addr, ns.Addr)
	return &Cluster{NameServer: ns, Broker: b}
}
