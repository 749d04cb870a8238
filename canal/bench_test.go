package canal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
	"github.com/sluicehq/sluice/internal/mysqltest"
	"github.com/sluicehq/sluice/internal/testutil"
)

// Ingest benchmark (issue: canal ingester, "Performance"): an orders
// workload of multi-row inserts and updates is written to a private
// MariaDB once; then the same stretch of binlog is (1) decoded by go-mysql
// alone and (2) captured by the ingester into an in-process broker, and
// (3) a 1M-row table is snapshotted. Run with `make bench`, or:
//
//	go test -run '^$' -bench BenchmarkCanal$ -benchtime 1x ./canal/

const (
	benchRows      = 200_000
	benchSnapRows  = 1_000_000
	benchBatchRows = 1000
)

type benchEnv struct {
	env        *canalEnv
	start, end position.Position
	rowEvents  int // rows of the rows events between start and end
}

// benchSetup writes the workload.
func benchSetup(b *testing.B) *benchEnv {
	var benchData *benchEnv
	func() {
		db := mysqltest.Start(b, nil)
		// The broker as `sluice broker` runs it by default: ASYNC_FLUSH,
		// and so no pre-written segments (store.prewrite auto).
		c := testutil.StartCluster(b, func(o *broker.Options) { o.Store.Prewrite = o.Store.FlushMode == store.FlushSync })
		e := &canalEnv{db: db, cluster: c, prod: testProducer(b, c.NameServer.Addr), dir: b.TempDir()}
		db.Exec("CREATE DATABASE shop")
		db.Exec(strings.Replace(ordersDDL, "img BLOB", "img BLOB, meta TEXT", 1))
		ctx := context.Background()
		start, err := position.Current(ctx, db.DB)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < benchRows; i += benchBatchRows {
			var sb strings.Builder
			sb.WriteString("INSERT INTO shop.orders (id, customer, amount, status, tags, note, created_at, updated_at, qty) VALUES ")
			for j := i; j < i+benchBatchRows; j++ {
				if j > i {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "(%d, 'customer-%d', %d.%02d, 'new', 'gift', 'order note %d', '2026-11-25 10:00:00.123456', '2026-11-25 10:00:00.123', %d)",
					j, j%5000, j%1000, j%100, j, j%50)
			}
			db.Exec(sb.String())
		}
		// Updates of 1000 rows per statement: before and after images.
		for i := 0; i < benchRows/2; i += benchBatchRows {
			db.Exec(fmt.Sprintf("UPDATE shop.orders SET status = 'paid', amount = amount + 1 WHERE id >= %d AND id < %d", i, i+benchBatchRows))
		}
		end, err := position.Current(ctx, db.DB)
		if err != nil {
			b.Fatal(err)
		}
		db.Exec("CREATE TABLE shop.snap (id INT PRIMARY KEY, customer VARCHAR(64), amount DECIMAL(12,2), created_at DATETIME(6))")
		db.Exec(fmt.Sprintf("INSERT INTO shop.snap SELECT seq, CONCAT('customer-', seq %% 5000), seq %% 1000 + 0.25, '2026-11-25 10:00:00.123456' FROM shop.seq_1_to_%d", benchSnapRows))
		benchData = &benchEnv{env: e, start: start, end: end, rowEvents: benchRows + benchRows/2}
	}()
	return benchData
}

// BenchmarkCanal runs the three measurements on one workload and prints
// them side by side.
func BenchmarkCanal(b *testing.B) {
	be := benchSetup(b)
	res := map[string]float64{}
	b.Run("decode-raw", func(b *testing.B) { res["raw"] = benchDecodeRaw(b, be, false) })
	b.Run("decode-encode", func(b *testing.B) { res["encode"] = benchDecodeRaw(b, be, true) })
	b.Run("ingest", func(b *testing.B) { res["ingest"] = benchIngest(b, be) })
	b.Run("snapshot", func(b *testing.B) { res["snapshot"] = benchSnapshot(b, be) })
	if res["raw"] > 0 {
		fmt.Printf("\nbinlog → ingester → broker: %.0f rows/s = %.0f%% of go-mysql's raw decode (%.0f rows/s); decode + render + encode without publishing: %.0f rows/s (%.0f%%); snapshot of %d rows: %.0f rows/s\n",
			res["ingest"], 100*res["ingest"]/res["raw"], res["raw"], res["encode"], 100*res["encode"]/res["raw"], benchSnapRows, res["snapshot"])
	}
}

// benchDecodeRaw is go-mysql alone: the workload's binlog decoded (rows
// events with values); with encode, plus the ingester's rendering and
// encoding of every row, without publishing.
func benchDecodeRaw(b *testing.B, be *benchEnv, encode bool) float64 {
	var bytes int64
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for range b.N {
		bytes = rawDecode(b, be, encode)
	}
	el := time.Since(start)
	rows := float64(be.rowEvents) * float64(b.N)
	b.ReportMetric(rows/el.Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu)/rows, "cpu-ns/row")
	b.ReportMetric(float64(bytes)*float64(b.N)/el.Seconds()/1e6, "binlog-MB/s")
	return rows / el.Seconds()
}

// rawDecode reads the workload's binlog with go-mysql; with encode set,
// each row is also rendered and encoded as its event (no publishing).
func rawDecode(b *testing.B, be *benchEnv, encode bool) int64 {
	var enc *tableEncoder
	if encode {
		t, err := schema.Load(context.Background(), be.env.db.DB, "shop", "orders")
		if err != nil {
			b.Fatal(err)
		}
		r, _ := NewRouter(FilterConfig{}, nil, "")
		if enc, err = newTableEncoder(t, r.Table("shop", "orders"), r); err != nil {
			b.Fatal(err)
		}
	}
	var sizes sizeHint
	cfg := replication.BinlogSyncerConfig{ServerID: be.env.db.ServerID + 2000, Flavor: "mariadb", Host: be.env.db.Host,
		Port: uint16(be.env.db.Port), User: "root", Logger: testutil.Logger(b)}
	values.SyncerSettings(&cfg)
	s := replication.NewBinlogSyncer(cfg)
	defer s.Close()
	st, err := s.StartSync(gomysql.Position{Name: be.start.File, Pos: be.start.Pos})
	if err != nil {
		b.Fatal(err)
	}
	rows, bytes := 0, int64(0)
	for rows < be.rowEvents {
		ev, err := st.GetEvent(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(ev.Header.EventSize)
		if re, ok := ev.Event.(*replication.RowsEvent); ok && string(re.Table.Table) == "orders" {
			step := 1
			if re.Type() == replication.EnumRowsEventTypeUpdate {
				step = 2
			}
			rows += len(re.Rows) / step
			if enc != nil {
				images, err := renderAll(enc, re.Rows)
				if err != nil {
					b.Fatal(err)
				}
				// As the stream encodes a rows event (stream.rows, emitRow).
				base := FlatMessage{Database: "shop", Table: "orders", PKNames: enc.pkNames,
					SQLType: enc.sqlTypes, MySQLType: enc.mysqlTypes, File: be.start.File, Pos: ev.Header.LogPos}
				tpl := newRowTemplate(&base, enc.names, enc.sqlTypes, enc.mysqlTypes).forEvent(&base)
				idHash := eventIDPrefix(0, base.File, base.Pos)
				for i := step - 1; i < len(images); i += step {
					data := images[i]
					body, _ := tpl.appendJSON(make([]byte, 0, sizes.next()), eventIDOf(idHash, i), TypeInsert, data, nil, i, 0, true)
					sizes.saw(len(body))
					enc.queue("shop", "orders", data, 8)
				}
			}
		}
	}
	return bytes
}

// benchIngest captures the workload's binlog with the ingester into the
// in-process broker, acknowledged and saved.
func benchIngest(b *testing.B, be *benchEnv) float64 {
	var ms0, ms1 runtime.MemStats
	var published int64
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for i := range b.N {
		published += benchIngestOnce(b, be, i)
	}
	el := time.Since(start)
	b.ReportMetric(float64(cpuTime()-cpu)/float64(be.rowEvents*b.N), "cpu-ns/row")
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	rows := float64(be.rowEvents) * float64(b.N)
	b.ReportMetric(rows/el.Seconds(), "rows/s")
	b.ReportMetric(float64(published)/el.Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/rows, "allocs/row")
	return rows / el.Seconds()
}

func benchIngestOnce(b *testing.B, be *benchEnv, i int) int64 {
	e := be.env
	cfg := DefaultConfig()
	cfg.Source.Host, cfg.Source.Port, cfg.Source.ServerID = e.db.Host, e.db.Port, e.db.ServerID+3000+uint32(i)
	cfg.DataDir = filepath.Join(b.TempDir(), fmt.Sprint(i))
	cfg.Filter.Include = []string{`shop\.orders`}
	cfg.DefaultTopic = fmt.Sprintf("bench%d_{table}", i)
	cfg.Logger = testutil.Logger(b)

	// Start where the workload starts.
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := position.NewFileStore(filepath.Join(cfg.DataDir, "position.json")).Save(context.Background(),
		position.State{Position: be.start, ServerID: e.db.ServerID}); err != nil {
		b.Fatal(err)
	}
	in, err := New(cfg, e.prod)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	// The history starts at the workload's start with the current schema
	// (the workload has no DDL).
	snap, err := schema.LoadSnapshot(context.Background(), e.db.DB, func(s, t string) bool { return t == "orders" })
	if err != nil {
		b.Fatal(err)
	}
	if err := in.history.BootstrapSnapshot(schema.Key{File: be.start.File, Pos: be.start.Pos}, snap); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Minute)
	for in.Stats().Committed.Compare(be.end) < 0 {
		if time.Now().After(deadline) {
			b.Fatal("the ingester did not reach the workload's end within 10 minutes")
		}
		select {
		case err := <-done:
			b.Fatalf("ingester stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return in.Stats().Bytes
}

// cpuTime is the CPU time the process (ingester, client and in-process
// broker; not MariaDB) has used: on a shared 2-core machine CPU per row is
// a steadier figure than rows/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSnapshot snapshots a 1M-row table.
func benchSnapshot(b *testing.B, be *benchEnv) float64 {
	e := be.env
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		cfg := DefaultConfig()
		cfg.Source.Host, cfg.Source.Port, cfg.Source.ServerID = e.db.Host, e.db.Port, e.db.ServerID+4000+uint32(i)
		cfg.DataDir = filepath.Join(b.TempDir(), fmt.Sprint(i))
		cfg.Filter.Include = []string{`shop\.snap`}
		cfg.DefaultTopic = fmt.Sprintf("snap%d_{table}", i)
		cfg.Logger = testutil.Logger(b)
		in, err := New(cfg, e.prod)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- in.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Minute)
		for in.Stats().Committed.File == "" {
			if time.Now().After(deadline) {
				b.Fatal("the snapshot did not finish within 10 minutes")
			}
			select {
			case err := <-done:
				b.Fatalf("ingester stopped: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
		<-done
		in.Close()
		if got := in.Stats().SnapshotRows; got != benchSnapRows {
			b.Fatalf("snapshot published %d rows, want %d", got, benchSnapRows)
		}
	}
	rate := float64(benchSnapRows) * float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "rows/s")
	return rate
}
