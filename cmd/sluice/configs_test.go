package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigsLoad loads every example under configs/ whose kind it knows
// (namesrv*, broker*) through the command itself (--print-config stops
// after loading and validating), so the examples cannot rot.
func TestConfigsLoad(t *testing.T) {
	cleanEnv(t)
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known := 0
	for _, path := range files {
		name := filepath.Base(path)
		var command string
		switch {
		case strings.HasPrefix(name, "namesrv"):
			command = "namesrv"
		case strings.HasPrefix(name, "broker"):
			command = "broker"
		default:
			t.Logf("skipping %s: unknown kind", name)
			continue
		}
		known++
		t.Run(name, func(t *testing.T) {
			code, out, stderr := runCLI(t, command, "-c", path, "--print-config")
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			if !strings.Contains(out, "listen:") {
				t.Errorf("printed config lacks listen:\n%s", out)
			}
		})
	}
	if known < 3 {
		t.Errorf("found %d namesrv/broker examples in configs/, want at least 3", known)
	}
}

// TestConfigsLoadSyncFlush checks that broker-sync.yaml really selects
// SYNC_FLUSH, and its namesrv list interpolates.
func TestConfigsLoadSyncFlush(t *testing.T) {
	cleanEnv(t)
	t.Setenv("NAMESRV_2", "10.0.0.2:9876")
	c := printedBroker(t, "-c", "../../configs/broker-sync.yaml")
	if o := c.options(nil); o.Store.FlushMode.String() != "SYNC_FLUSH" {
		t.Errorf("flush mode %v", o.Store.FlushMode)
	}
	if got := strings.Join(c.NameSrv, ";"); got != "127.0.0.1:9876;10.0.0.2:9876" {
		t.Errorf("namesrv %q", got)
	}
}
