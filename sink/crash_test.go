package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal"
)

// The crash tests run the job in a child process (this test binary
// re-executed) that kills itself with SIGKILL at a step of a commit.
const (
	childEnv      = "SLUICE_SINK_CHILD_CONFIG"
	childCrashEnv = "SLUICE_SINK_CHILD_CRASH_AT"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg, os.Getenv(childCrashEnv)))
	}
	os.Exit(m.Run())
}

func runChild(cfgJSON, crashAt string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	j, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	j.crash = func(step string) {
		// Crash at the step of a commit that wrote something.
		if step == crashAt && j.logged.Load() > 0 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := j.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 3 // it should have crashed
}

// TestSinkCrash: SIGKILL of the sink after writing the files and before
// the manifest, after the manifest and before the job checkpoint, and
// after the checkpoint and before the broker offsets; after a restart the
// table and its change log hold every change exactly once.
func TestSinkCrash(t *testing.T) {
	for _, step := range []string{"before-manifest", "after-manifest", "after-checkpoint"} {
		t.Run(step, func(t *testing.T) {
			e := newSinkEnv(t, 2)
			cfg := e.config("crash")
			cfg.Logger = nil
			want := model{}
			pos := uint32(100)
			for id := 1; id <= 200; id++ {
				pos += 10
				e.send(id%2, orderEvent(canal.TypeInsert, pos, id, fmt.Sprintf("c%d", id), "1.00"))
				want[id] = fmt.Sprintf("%d|c%d|1.00", id, id)
			}
			b, _ := json.Marshal(cfg)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+string(b), childCrashEnv+"="+step)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not crash at %s: %v\n%s", step, err, out)
			}
			// More changes while the sink is down, then a restart.
			for id := 1; id <= 200; id += 7 {
				pos += 10
				m := orderEvent(canal.TypeUpdate, pos, id, "after", "2.00")
				e.send(id%2, m)
				want[id] = fmt.Sprintf("%d|after|2.00", id)
			}
			r := startJob(t, e.config("crash"))
			m := e.waitCommitted(r, "shop", "orders", e.caughtUp)
			_, rows := readFiles(t, e.root, "shop/orders", m.Current, m.Schemas)
			if got := joinRows(rows); got != want.rows() {
				t.Fatalf("current after the crash:\n%s", got)
			}
			logged := changeRows(t, e, "shop/orders")
			seen := map[string]bool{}
			for _, row := range logged {
				k := strings.Join(row[:5], "|") // _op, _ts, _file, _pos, _row
				if seen[k] {
					t.Fatalf("change %s logged twice", k)
				}
				seen[k] = true
			}
			if len(logged) != 200+29 {
				t.Fatalf("change log holds %d rows, want %d", len(logged), 200+29)
			}
			// No file outside the manifests is left.
			st, _ := NewLocalStorage(e.root)
			files, _ := st.List("shop/orders/current")
			if len(files) != len(m.Current) {
				t.Fatalf("current/ holds %v, the manifest %d files", files, len(m.Current))
			}
		})
	}
}
