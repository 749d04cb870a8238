package sink

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
	"github.com/sluicehq/sluice/sink/coltype"
)

// sinkEnv is a NameServer and broker with a topic the tests publish
// hand-made events to, queue by queue.
type sinkEnv struct {
	t       *testing.T
	cluster *testutil.Cluster
	prod    *client.Producer
	topic   string
	queues  []client.MessageQueue
	root    string
	// sent is the newest position sent per queue index.
	sent map[int]uint32
}

func newSinkEnv(t *testing.T, queues int) *sinkEnv {
	t.Helper()
	c := testutil.StartCluster(t, nil)
	opts := client.NewProducerOptions(c.NameServer.Addr)
	opts.ClientOptions.Logger = testutil.Logger(t)
	p, err := client.NewProducer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	e := &sinkEnv{t: t, cluster: c, prod: p, topic: "shop_orders", root: t.TempDir()}
	admin := client.NewAdmin(p.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := client.TopicConfig{Topic: e.topic, ReadQueueNums: int32(queues), WriteQueueNums: int32(queues), Perm: 6}
	if err := admin.CreateTopic(ctx, c.Broker.Addr, cfg); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		qs, err := p.PublishQueues(ctx, e.topic)
		if err == nil && len(qs) == queues {
			e.queues = qs
			return true
		}
		return false
	}, "topic %s never routed", e.topic)
	slices.SortFunc(e.queues, func(a, b client.MessageQueue) int { return int(a.QueueID - b.QueueID) })
	return e
}

// send publishes m to queue q.
func (e *sinkEnv) send(q int, ms ...*canal.FlatMessage) {
	e.t.Helper()
	for _, m := range ms {
		if m.ID == 0 {
			m.ID = canal.EventID(1, m.File, m.Pos, m.Row)
		}
		if _, err := e.prod.SendToQueue(context.Background(), e.queues[q], &client.Message{Topic: e.topic, Body: m.AppendJSON(nil)}); err != nil {
			e.t.Fatal(err)
		}
		if e.sent == nil {
			e.sent = map[int]uint32{}
		}
		e.sent[q] = max(e.sent[q], m.Pos)
	}
}

func (e *sinkEnv) config(group string) Config {
	c := DefaultConfig()
	c.Group = group
	c.NameServers = []string{e.cluster.NameServer.Addr}
	c.Topics = []string{e.topic}
	c.Root = e.root
	c.CommitInterval = 200 * time.Millisecond
	c.Logger = testutil.Logger(e.t)
	return c
}

// caughtUp reports whether m holds every queue's newest event sent (the
// manifest's position alone is the newest of any queue).
func (e *sinkEnv) caughtUp(m *Manifest) bool {
	for q, pos := range e.sent {
		ok := false
		for _, s := range m.Queues {
			if s.Queue == int(e.queues[q].QueueID) && s.Last.Pos >= pos {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// runningJob is a Job running in the background.
type runningJob struct {
	j      *Job
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startJob(t *testing.T, cfg Config) *runningJob {
	t.Helper()
	j, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningJob{j: j, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = j.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *runningJob) stop(t *testing.T) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatal("sink job did not stop")
	}
	r.j.Close()
	return r.err
}

// waitRows waits until the committed table has n rows and the job has
// consumed every message sent (lag 0 on every queue).
func (e *sinkEnv) waitCommitted(r *runningJob, db, table string, cond func(m *Manifest) bool) *Manifest {
	e.t.Helper()
	var last *Manifest
	testutil.Eventually(e.t, 60*time.Second, func() bool {
		select {
		case <-r.done:
			e.t.Fatalf("sink job stopped: %v", r.err)
		default:
		}
		st, _ := NewLocalStorage(e.root)
		m, err := loadLatestManifest(st, path.Join(db, table))
		if err != nil {
			e.t.Fatal(err)
		}
		last = m
		return m != nil && cond(m)
	}, "table %s.%s never committed as expected (last manifest %+v)", db, table, last)
	return last
}

// readTable reads the files of a manifest: the header (column names) and
// rows rendered as event strings ("NULL" for NULL).
func readFiles(t *testing.T, root, dir string, files []DataFile, schemas []*Schema) ([]string, [][]string) {
	t.Helper()
	st, _ := NewLocalStorage(root)
	byID := map[int]*Schema{}
	for _, s := range schemas {
		byID[s.ID] = s
	}
	var header []string
	var rows [][]string
	for _, f := range files {
		r, err := openParquet(st, path.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			rec, err := r.next()
			if err != nil {
				t.Fatal(err)
			}
			if rec == nil {
				break
			}
			sc := rec.Schema()
			header = header[:0]
			for _, fl := range sc.Fields() {
				header = append(header, fl.Name)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				row := make([]string, 0, rec.NumCols())
				for c := 0; c < int(rec.NumCols()); c++ {
					row = append(row, renderCell(t, sc.Field(c).Metadata, rec.Column(c), i))
				}
				rows = append(rows, row)
				n++
			}
		}
		r.close()
		if int64(n) != f.Rows {
			t.Fatalf("file %s has %d rows, manifest says %d", f.Path, n, f.Rows)
		}
	}
	return header, rows
}

func renderCell(t *testing.T, md arrow.Metadata, arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	if k := md.FindKey(coltype.MetaMySQLType); k >= 0 {
		typ, err := coltype.Parse(md.Values()[k])
		if err != nil {
			t.Fatal(err)
		}
		s, _ := typ.Format(arr, i)
		return s
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return fmt.Sprint(a.Value(i))
	case *array.Int32:
		return fmt.Sprint(a.Value(i))
	case *array.Uint64:
		return fmt.Sprint(a.Value(i))
	case *array.Timestamp:
		return fmt.Sprint(int64(a.Value(i)))
	}
	return arr.ValueStr(i)
}

// row builds a FlatMessage of an orders-like table (id, customer, amount).
func orderEvent(typ string, pos uint32, id int, customer string, amount string) *canal.FlatMessage {
	m := &canal.FlatMessage{Database: "shop", Table: "orders", PKNames: []string{"id"}, Type: typ,
		ES: 1764061200000, TS: 1764061200000, SQLType: []int{-5, 12, 3},
		MySQLType: []string{"bigint(20) unsigned", "varchar(64)", "decimal(12,2)"},
		Data:      []canal.Cell{{Name: "id", S: fmt.Sprint(id)}, {Name: "customer", S: customer}, {Name: "amount", S: amount}},
		File:      "binlog.000001", Pos: pos, GTID: fmt.Sprintf("0-1-%d", pos), XID: uint64(pos), ServerID: 1}
	if amount == "NULL" {
		m.Data[2] = canal.Cell{Name: "amount", Null: true}
	}
	return m
}

func joinRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|"))
		b.WriteByte('\n')
	}
	return b.String()
}

var _ = errors.New
