package canal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// The crash tests run the ingester in a child process (this test binary,
// re-executed) so that they can kill it with SIGKILL.
const (
	childConfigEnv = "SLUICE_CANAL_CHILD_CONFIG"
	childNSEnv     = "SLUICE_CANAL_CHILD_NAMESRV"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childConfigEnv); cfg != "" {
		os.Exit(runChild(cfg, os.Getenv(childNSEnv)))
	}
	os.Exit(m.Run())
}

// runChild runs an ingester until it is killed.
func runChild(cfgJSON, nameServer string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := client.NewProducerOptions(nameServer)
	prod, err := client.NewProducer(opts)
	if err == nil {
		err = prod.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child producer:", err)
		return 1
	}
	in, err := New(cfg, prod)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child ingester:", err)
		return 1
	}
	if err := in.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child run:", err)
		return 1
	}
	return 0
}

// child is an ingester process.
type child struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	mu   *sync.Mutex
	done chan struct{}
}

func startChild(t *testing.T, e *canalEnv, cfg Config) *child {
	t.Helper()
	cfg.Logger = nil
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConfigEnv+"="+string(b), childNSEnv+"="+e.cluster.NameServer.Addr)
	c := &child{cmd: cmd, out: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	w := &lockedWriter{mu: c.mu, b: c.out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			c.mu.Lock()
			t.Logf("ingester process output:\n%s", c.out.String())
			c.mu.Unlock()
		}
	})
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// savedState reads the position file the child writes.
func savedState(t *testing.T, dir string) (position.State, bool) {
	t.Helper()
	st, ok, err := position.NewFileStore(filepath.Join(dir, "position.json")).Load(context.Background())
	if err != nil {
		t.Fatalf("read saved position: %v", err)
	}
	return st, ok
}

// masterStatus is the source's current binlog position.
func masterStatus(t *testing.T, e *canalEnv) position.Position {
	t.Helper()
	p, err := position.Current(context.Background(), e.db.DB)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitChildSaved waits until the child saved a position at or after the
// source's current one.
func waitChildSaved(t *testing.T, e *canalEnv) {
	t.Helper()
	want := masterStatus(t, e)
	testutil.Eventually(t, 120*time.Second, func() bool {
		st, ok := savedState(t, e.dir)
		return ok && st.Snapshot == nil && st.Position.Compare(want) >= 0
	}, "the ingester never saved a position at or after %s", want)
}

// checkDuplicates fails when an event id appears twice unless the event
// lies at or after the position saved when the ingester was killed.
func checkDuplicates(t *testing.T, events []*FlatMessage, killedAt position.Position) int {
	t.Helper()
	seen := map[int64]*FlatMessage{}
	dups := 0
	for _, m := range events {
		prev := seen[m.ID]
		if prev == nil {
			seen[m.ID] = m
			continue
		}
		dups++
		if m.Snapshot {
			continue // a re-read chunk; checked by the caller
		}
		at := position.Position{File: m.File, Pos: m.Pos}
		if at.Compare(position.Position{File: killedAt.File, Pos: killedAt.Pos}) < 0 {
			t.Fatalf("event %s:%d row %d published twice although it precedes the saved position %s", m.File, m.Pos, m.Row, killedAt)
		}
		if prev.File != m.File || prev.Pos != m.Pos || prev.Row != m.Row || prev.Type != m.Type {
			t.Fatalf("two events share id %d: %+v and %+v", m.ID, prev, m)
		}
	}
	return dups
}

// TestCanalCrashMidTransaction kills the ingester with SIGKILL while
// transactions stream, then starts it again: every change is on the topic,
// and only events after the position saved at the kill appear twice.
func TestCanalCrashMidTransaction(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec(ordersDDL)
	cfg := e.config(t)
	cfg.SnapshotMode = SnapshotNever
	c := startChild(t, e, cfg)
	testutil.Eventually(t, 60*time.Second, func() bool { _, ok := savedState(t, e.dir); return ok },
		"the ingester never saved a first position")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var sb strings.Builder
			sb.WriteString("BEGIN;")
			for j := range 20 {
				id := i*20 + j
				fmt.Fprintf(&sb, "INSERT INTO shop.orders (id, customer, qty) VALUES (%d, 'c%d', %d);", id, id, j)
			}
			fmt.Fprintf(&sb, "UPDATE shop.orders SET qty = qty + 1 WHERE id BETWEEN %d AND %d;", i*20, i*20+9)
			fmt.Fprintf(&sb, "DELETE FROM shop.orders WHERE id = %d;", i*20+19)
			sb.WriteString("COMMIT")
			if _, err := e.db.DB.Exec(sb.String()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	time.Sleep(1500 * time.Millisecond)
	c.kill()
	killedAt, _ := savedState(t, e.dir)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	startChild(t, e, cfg)
	e.db.Exec("UPDATE shop.orders SET customer = 'after' WHERE id % 7 = 0")
	waitChildSaved(t, e)
	want := sourceRows(t, e, "shop", "orders")
	got, events := rebuilt(t, e, "shop_orders", settledCount(t, e, "shop_orders"))
	sameTable(t, got, want)
	dups := checkDuplicates(t, events, killedAt.Position)
	t.Logf("%d rows, %d events, %d published twice after the kill at %s", len(want), len(events), dups, killedAt.Position)
}

// TestCanalCrashMidSnapshot kills the ingester half way through its
// snapshot: the restart resumes after the last acknowledged chunk instead
// of starting over, and the topic rebuilds the table exactly.
func TestCanalCrashMidSnapshot(t *testing.T) {
	e := newShop(t, nil)
	e.db.Exec(ordersDDL)
	const rows = 20000
	for i := 0; i < rows; i += 1000 {
		var sb strings.Builder
		sb.WriteString("INSERT INTO shop.orders (id, customer, qty) VALUES ")
		for j := i; j < i+1000; j++ {
			if j > i {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, "(%d, 'c%d', %d)", j, j, j%100)
		}
		e.db.Exec(sb.String())
	}
	cfg := e.config(t)
	cfg.SnapshotChunkRows = 500
	c := startChild(t, e, cfg)
	var at position.State
	testutil.Eventually(t, 60*time.Second, func() bool {
		st, ok := savedState(t, e.dir)
		if ok && st.Snapshot != nil && len(st.Snapshot.Tables) == 1 && st.Snapshot.Tables[0].Rows >= rows/4 {
			at = st
			return true
		}
		return false
	}, "the snapshot never got a quarter through")
	c.kill()
	if st, _ := savedState(t, e.dir); st.Snapshot != nil {
		at = st
	}
	if at.Snapshot.Tables[0].Done {
		t.Fatal("the snapshot finished before the kill; the test needs a slower snapshot")
	}
	// Changes while the ingester is down, some in the unread range.
	e.db.Exec(fmt.Sprintf("UPDATE shop.orders SET qty = 1000 WHERE id IN (1, %d, %d)", rows/2, rows-1))
	e.db.Exec(fmt.Sprintf("DELETE FROM shop.orders WHERE id IN (2, %d)", rows-2))
	startChild(t, e, cfg)
	waitChildSaved(t, e)
	want := sourceRows(t, e, "shop", "orders")
	got, events := rebuilt(t, e, "shop_orders", settledCount(t, e, "shop_orders"))
	sameTable(t, got, want)
	snap := 0
	for _, m := range events {
		if m.Snapshot {
			snap++
		}
	}
	// The first run's acknowledged chunks are not read again.
	if limit := rows + (rows - int(at.Snapshot.Tables[0].Rows)) + cfg.SnapshotChunkRows*cfg.Publish.Queues; snap >= 2*rows || snap > limit {
		t.Fatalf("%d snapshot events for %d rows: the restart read acknowledged chunks again (saved progress %d rows)", snap, rows, at.Snapshot.Tables[0].Rows)
	}
	t.Logf("%d snapshot events for %d rows; killed after %d acknowledged", snap, rows, at.Snapshot.Tables[0].Rows)
}

// settledCount is the number of messages of topic once it stops growing:
// everything acknowledged is indexed by the broker shortly after.
func settledCount(t *testing.T, e *canalEnv, topic string) int {
	t.Helper()
	count := func() int {
		n := 0
		for _, b := range readTopicOnce(t, e.cluster.NameServer.Addr, topic) {
			n += len(b)
		}
		return n
	}
	last := -1
	for range 100 {
		n := count()
		if n == last && n > 0 {
			return n
		}
		last = n
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("topic %s never settled", topic)
	return 0
}
