package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// daemonRun is one in-process `sluice <command>` run.
type daemonRun struct {
	addr   net.Addr
	cancel context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

// startDaemon runs the command line until its daemon listens, and stops
// it (checking a clean exit) when the test ends unless stopped before.
func startDaemon(t *testing.T, args ...string) *daemonRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	r := &daemonRun{cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	a := &app{stdout: &syncBuffer{}, stderr: r.stderr, onServe: func(_ string, addr net.Addr) { addrs <- addr }}
	go func() { r.done <- a.run(ctx, args) }()
	select {
	case r.addr = <-addrs:
	case code := <-r.done:
		cancel()
		t.Fatalf("%v exited with %d before serving:\n%s", args, code, r.stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("%v did not start:\n%s", args, r.stderr)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the run, as SIGINT does, and waits for exit code 0.
func (r *daemonRun) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case code := <-r.done:
		if code != 0 {
			t.Errorf("exit code %d after cancel:\n%s", code, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("did not stop within 20s after cancel:\n%s", r.stderr)
	}
}

func TestCLINameServerStartsAndStops(t *testing.T) {
	cleanEnv(t)
	ns := startDaemon(t, "namesrv", "--listen", "127.0.0.1:0", "--log-level", "debug")
	conn, err := net.DialTimeout("tcp", ns.addr.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %v: %v", ns.addr, err)
	}
	conn.Close()
	ns.stop(t)
	if _, err := net.DialTimeout("tcp", ns.addr.String(), time.Second); err == nil {
		t.Errorf("still listening on %v after stop", ns.addr)
	}
	if !strings.Contains(ns.stderr.String(), `"msg":"name server stopped"`) {
		t.Errorf("no JSON stop log line in:\n%s", ns.stderr)
	}
}

// TestCLIBrokerStartsAndStops runs a NameServer and a broker from the
// command line and checks the broker registered: the NameServer's cluster
// info names it.
func TestCLIBrokerStartsAndStops(t *testing.T) {
	cleanEnv(t)
	ns := startDaemon(t, "namesrv", "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	b := startDaemon(t, "broker", "--listen", "127.0.0.1:0", "--data-dir", dir, "-n", ns.addr.String(),
		"--broker-name", "cli-test", "--segment-size", "1MiB", "--max-message-size", "64KiB",
		"--register-interval", "1s", "--flush", "sync", "--log-format", "text")

	client := remoting.NewClient(remoting.ClientOptions{DialTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
		MaxQueuedBytes: 1 << 20, Serialize: remoting.SerializeJSON, Logger: slog.New(slog.DiscardHandler)})
	defer client.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		resp, err := client.Invoke(ctx, ns.addr.String(), remoting.NewRequest(protocol.GetBrokerClusterInfo, nil, nil))
		cancel()
		if err == nil && strings.Contains(string(resp.Body), "cli-test") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker never showed up in cluster info (last: %v, %v)\n%s", resp, err, b.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.stop(t)
	if _, err := os.Stat(dir + "/commitlog"); err != nil {
		t.Errorf("no commitlog in data dir: %v", err)
	}
	if !strings.Contains(b.stderr.String(), `level=INFO msg="broker stopped"`) {
		t.Errorf("no text stop log line in:\n%s", b.stderr)
	}
}

func TestCLIRuntimeErrorExit1(t *testing.T) {
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := runCLI(t, "namesrv", "--listen", ln.Addr().String())
	if code != exitRuntime || !strings.Contains(stderr, "sluice: ") || !strings.Contains(stderr, "address already in use") {
		t.Errorf("port in use: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "namesrv", "--listen", "127.0.0.1:0", "--metrics-listen", ln.Addr().String())
	if code != exitRuntime || !strings.Contains(stderr, "metrics listener") {
		t.Errorf("metrics port in use: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestCLISignals runs signalContext in a child process (this test binary)
// and sends it SIGINT twice: the first cancels the context, the second
// exits at once with 128+SIGINT.
func TestCLISignals(t *testing.T) {
	if os.Getenv("SLUICE_TEST_SIGNAL_CHILD") == "1" {
		ctx, stop := signalContext(context.Background(), os.Stderr)
		defer stop()
		os.Stdout.WriteString("ready\n")
		<-ctx.Done()
		os.Stdout.WriteString("cancelled\n")
		time.Sleep(time.Minute) // a shutdown that hangs
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLISignals$")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_SIGNAL_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := stdout.Read(buf)
			for _, l := range strings.Fields(string(buf[:n])) {
				lines <- l
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("child said %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("child did not say %q; stderr:\n%s", want, &stderr)
		}
	}
	expect("ready")
	cmd.Process.Signal(syscall.SIGINT)
	expect("cancelled")
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("child exit: %v, want code %d", err, 128+int(syscall.SIGINT))
	}
	for _, want := range []string{"received interrupt, shutting down", "received interrupt again, exiting immediately"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &stderr)
		}
	}
}
