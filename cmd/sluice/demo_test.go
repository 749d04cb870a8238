package main

import (
	"strings"
	"testing"
)

// TestCLIDemo runs `sluice demo` small: it must produce and consume every
// message and say so.
func TestCLIDemo(t *testing.T) {
	for _, flush := range []string{"sync", "async"} {
		code, out, errOut := runCLI(t, "demo", "--messages", "3000", "--size", "200", "--flush", flush, "--data-dir", t.TempDir())
		if code != exitOK {
			t.Fatalf("flush %s: exit %d\nstdout: %s\nstderr: %s", flush, code, out, errOut)
		}
		for _, want := range []string{"produced 3000 messages", "consumed 3000 messages in order per queue", "every acknowledged message was consumed: OK"} {
			if !strings.Contains(out, want) {
				t.Fatalf("flush %s: output lacks %q:\n%s", flush, want, out)
			}
		}
	}
	if code, _, _ := runCLI(t, "demo", "--flush", "sometimes"); code != exitConfig {
		t.Fatalf("bad --flush: exit %d, want %d", code, exitConfig)
	}
}
