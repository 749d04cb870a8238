package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/config"
)

// syncBuffer is a bytes.Buffer safe for daemon goroutines that log while
// the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cleanEnv unsets every variable that could reach the loader from the
// developer's or CI's environment.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix+"_") || name == "NAMESRV_ADDR" {
			t.Setenv(name, "")
		}
	}
}

// runCLI runs the sluice command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = (&app{stdout: &out, stderr: &errOut}).run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// printedBroker runs `broker --print-config` and loads its output back.
func printedBroker(t *testing.T, args ...string) brokerConfig {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"broker", "--print-config"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cfg := defaultBrokerConfig()
	if err := config.LoadBytes("printed.yaml", []byte(out), &cfg, config.LoadOptions{}); err != nil {
		t.Fatalf("printed config does not load back: %v\n%s", err, out)
	}
	return cfg
}

func TestCLIPrecedence(t *testing.T) {
	file := "data_dir: /file\nlisten: 127.0.0.1:1001\nbroker_name: from-file\nstore:\n  segment_size: 64MiB\nlog:\n  level: warn\n"
	tests := []struct {
		name  string
		file  bool
		env   map[string]string
		args  []string
		check func(c brokerConfig) bool
	}{
		{"default", false, nil, []string{"--data-dir=/d"}, func(c brokerConfig) bool {
			return c.Listen == ":10911" && c.BrokerName == "broker-a" && c.Store.SegmentSize == config.GiB && c.Log.Level == "info"
		}},
		{"file over default", true, nil, nil, func(c brokerConfig) bool {
			return c.DataDir == "/file" && c.Listen == "127.0.0.1:1001" && c.Store.SegmentSize == 64*config.MiB && c.Log.Level == "warn"
		}},
		{"env over file", true, map[string]string{"SLUICE_LISTEN": "127.0.0.1:2002", "SLUICE_STORE_SEGMENT_SIZE": "128MiB", "SLUICE_LOG_LEVEL": "debug"}, nil, func(c brokerConfig) bool {
			return c.Listen == "127.0.0.1:2002" && c.Store.SegmentSize == 128*config.MiB && c.Log.Level == "debug" && c.BrokerName == "from-file"
		}},
		{"flag over env", true, map[string]string{"SLUICE_LISTEN": "127.0.0.1:2002", "SLUICE_STORE_SEGMENT_SIZE": "128MiB"},
			[]string{"--listen=127.0.0.1:3003", "--segment-size=256MiB", "--log-level=error"}, func(c brokerConfig) bool {
				return c.Listen == "127.0.0.1:3003" && c.Store.SegmentSize == 256*config.MiB && c.Log.Level == "error"
			}},
		{"env without file", false, map[string]string{"SLUICE_DATA_DIR": "/env", "SLUICE_BROKER_ID": "2", "SLUICE_ROLE": "SLAVE"}, nil, func(c brokerConfig) bool {
			return c.DataDir == "/env" && c.BrokerID == 2 && c.Role == "SLAVE"
		}},
		{"flag without file or env", false, nil, []string{"--data-dir=/flag", "--flush=sync", "--auto-create-topic=false", "--register-interval=10s"}, func(c brokerConfig) bool {
			return c.DataDir == "/flag" && c.Flush == "sync" && !c.AutoCreateTopic && c.RegisterInterval.String() == "10s"
		}},
		{"unset flag keeps env", true, map[string]string{"SLUICE_BROKER_NAME": "from-env"}, []string{"--cluster=c1"}, func(c brokerConfig) bool {
			return c.BrokerName == "from-env" && c.Cluster == "c1"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.file {
				args = append([]string{"-c", writeFile(t, "broker.yaml", file)}, args...)
			}
			if c := printedBroker(t, args...); !tc.check(c) {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestCLINameServerAddr(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string
	}{
		{"NAMESRV_ADDR alone", "", map[string]string{"NAMESRV_ADDR": "10.0.0.1:9876;10.0.0.2:9876"}, nil, []string{"10.0.0.1:9876", "10.0.0.2:9876"}},
		{"file beats NAMESRV_ADDR", "namesrv: 10.0.0.9:9876\n", map[string]string{"NAMESRV_ADDR": "10.0.0.1:9876"}, nil, []string{"10.0.0.9:9876"}},
		{"file interpolates NAMESRV_ADDR", "namesrv: ${NAMESRV_ADDR:127.0.0.1:9876}\n", map[string]string{"NAMESRV_ADDR": "10.0.0.1:9876"}, nil, []string{"10.0.0.1:9876"}},
		{"file default when unset", "namesrv: ${NAMESRV_ADDR:127.0.0.1:9876}\n", nil, nil, []string{"127.0.0.1:9876"}},
		{"SLUICE_NAMESRV beats file", "namesrv: [10.0.0.9:9876]\n", map[string]string{"SLUICE_NAMESRV": "10.0.0.3:9876", "NAMESRV_ADDR": "10.0.0.1:9876"}, nil, []string{"10.0.0.3:9876"}},
		{"-n beats all", "namesrv: 10.0.0.9:9876\n", map[string]string{"SLUICE_NAMESRV": "10.0.0.3:9876", "NAMESRV_ADDR": "10.0.0.1:9876"}, []string{"-n", "10.0.0.4:9876;10.0.0.5:9876"}, []string{"10.0.0.4:9876", "10.0.0.5:9876"}},
		{"none", "", nil, nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"--data-dir=/d"}, tc.args...)
			if tc.file != "" {
				args = append(args, "-c", writeFile(t, "broker.yaml", tc.file))
			}
			c := printedBroker(t, args...)
			if strings.Join(c.NameSrv, ";") != strings.Join(tc.want, ";") {
				t.Errorf("namesrv = %q, want %q", c.NameSrv, tc.want)
			}
		})
	}
}

func TestCLIConfigErrorsExit2(t *testing.T) {
	bad := "data_dir: /d\nstore:\n  segmnt_size: 1GiB\n"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown key", nil, []string{"broker", "-c", "BAD"}, `broker.yaml:3:3: unknown key "segmnt_size" in store (did you mean "segment_size"?)`},
		{"missing file", nil, []string{"namesrv", "-c", "/nonexistent/namesrv.yaml"}, "read config: open /nonexistent/namesrv.yaml: no such file or directory"},
		{"bad env int", map[string]string{"SLUICE_BROKER_ID": "x"}, []string{"broker", "--data-dir=/d"}, `SLUICE_BROKER_ID="x": not an integer`},
		{"bad env duration", map[string]string{"SLUICE_SCAN_INTERVAL": "5"}, []string{"namesrv"}, `SLUICE_SCAN_INTERVAL="5": has no unit`},
		{"bad flag value", nil, []string{"broker", "--broker-id=x"}, `invalid argument "x" for "--broker-id"`},
		{"bad flag enum", nil, []string{"broker", "--data-dir=/d", "--role=MASTER"}, `--role="MASTER": not one of ASYNC_MASTER, SYNC_MASTER, SLAVE`},
		{"bad flag size", nil, []string{"broker", "--segment-size=1GB"}, `unknown unit "GB"`},
		{"unknown flag", nil, []string{"namesrv", "--lisen=:1"}, "unknown flag: --lisen\nRun 'sluice namesrv --help' for usage."},
		{"unknown command", nil, []string{"nameserver"}, `unknown command "nameserver"`},
		{"validate", nil, []string{"broker"}, "data_dir: is required"},
		{"validate cross-field", nil, []string{"namesrv", "--broker-expiry=1s"}, `--broker-expiry="1s": broker_expiry: 1s is shorter than scan_interval 5s`},
		{"validate log level", map[string]string{"SLUICE_LOG_LEVEL": "verbose"}, []string{"namesrv"}, `SLUICE_LOG_LEVEL="verbose": not one of debug, info, warn, error`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "BAD" {
					args[i] = writeFile(t, "broker.yaml", bad)
				}
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != exitConfig {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr\n%s\nwant it to contain\n%s", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestCLIVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !regexp.MustCompile(`^sluice \S+ \(\S+, \S+, go1\.\d+\S*\)\n$`).MatchString(out) {
		t.Errorf("version: exit %d, %q", code, out)
	}
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "v1.2.3", "0123456789abcdef0123", "2026-01-02T03:04:05Z"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		want := regexp.MustCompile(`^sluice v1\.2\.3 \(0123456789ab, 2026-01-02T03:04:05Z, go1\.\d+\S*\)\n$`)
		if code != 0 || !want.MatchString(out) {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestCLIHelpAndCompletion(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	for _, want := range []string{"namesrv", "broker", "version", "completion", "--config", "--log-level", "--log-format"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help (exit %d) does not mention %s", code, want)
		}
	}
	code, out, _ = runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, %d bytes", code, len(out))
	}
}
