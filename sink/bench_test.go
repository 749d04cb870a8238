package sink

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
)

// Sink benchmarks (issue: Parquet sink, "Performance"). They drive a job's
// apply and commit directly with pre-encoded orders events (the broker's
// cost is measured by the broker's own benchmarks), so the figures are the
// sink's: JSON decode, key encoding, the pending store, the merge and the
// Parquet encoding. Run with `make bench`, or:
//
//	go test -run '^$' -bench BenchmarkSink -benchtime 1x ./sink/
//
// SLUICE_SINK_BENCH_ROWS sets the table size of BenchmarkSinkRSS (default
// 10M, the figure).

var ordersTypes = []string{"bigint(20) unsigned", "varchar(64)", "decimal(12,2)", "enum('new','paid','shipped')",
	"set('gift','rush','vip')", "text", "datetime(6)", "timestamp(3)", "smallint(5) unsigned", "blob"}
var ordersCols = []string{"id", "customer", "amount", "status", "tags", "note", "created_at", "updated_at", "qty", "img"}

// orderBody encodes an orders event.
func orderBody(typ string, pos uint32, row int, id uint64, r *rand.Rand) []byte {
	m := &canal.FlatMessage{Database: "shop", Table: "orders", PKNames: []string{"id"}, Type: typ,
		ES: 1764061200000 + int64(pos), TS: 1764061200000, SQLType: []int{-5, 12, 3, 1, 1, 2005, 93, 93, 5, 2004},
		MySQLType: ordersTypes, File: "binlog.000001", Pos: pos, Row: row, GTID: "0-1-" + strconv.Itoa(int(pos)),
		XID: uint64(pos), ServerID: 1}
	vals := []string{strconv.FormatUint(id, 10), fmt.Sprintf("customer-%d", r.IntN(100000)),
		fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100)), []string{"new", "paid", "shipped"}[r.IntN(3)], "gift,vip",
		"a note about the order", fmt.Sprintf("2026-01-%02d 03:04:05.123456", 1+r.IntN(28)),
		fmt.Sprintf("2026-01-%02dT03:04:05.500Z", 1+r.IntN(28)), strconv.Itoa(r.IntN(100)), "AP8="}
	for i, c := range ordersCols {
		m.Data = append(m.Data, canal.Cell{Name: c, S: vals[i]})
	}
	m.ID = canal.EventID(1, m.File, m.Pos, m.Row)
	return m.AppendJSON(nil)
}

func benchJob(b *testing.B, root string) *Job {
	cfg := DefaultConfig()
	cfg.Group, cfg.NameServers, cfg.Topics, cfg.Root = "bench", []string{"127.0.0.1:1"}, []string{"shop_orders"}, root
	cfg.CommitRows = 1 << 40
	j, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

// feed applies bodies as messages of one queue, committing every commitEvery.
func feed(b *testing.B, j *Job, bodies [][]byte, offset *int64, commitEvery int) {
	mq := client.MessageQueue{Topic: "shop_orders", BrokerName: "b", QueueID: 0}
	batch := make([]*client.MessageExt, 0, 512)
	for i, body := range bodies {
		batch = append(batch, &client.MessageExt{Topic: mq.Topic, Body: body, QueueOffset: *offset})
		*offset++
		if len(batch) == cap(batch) || i == len(bodies)-1 {
			if err := j.apply(mq, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		if commitEvery > 0 && (i+1)%commitEvery == 0 {
			if err := j.commitLocked(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := j.commitLocked(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSink: an orders table of 1M rows is built by inserts, then 1M
// upserts and deletes by random key are applied in commits of 250k;
// rows/s of each phase (applied = current table rebuilt and change log
// written; the log figure is the change log alone).
func BenchmarkSink(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("SLUICE_SINK_BENCH_UPSERT_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	inserts := make([][]byte, rows)
	var pos uint32 = 4
	for i := range inserts {
		pos += 100
		inserts[i] = orderBody(canal.TypeInsert, pos, 0, uint64(i+1), r)
	}
	changes := make([][]byte, rows)
	for i := range changes {
		pos += 100
		typ := canal.TypeUpdate
		if i%10 == 0 {
			typ = canal.TypeDelete
		}
		changes[i] = orderBody(typ, pos, 0, uint64(1+r.IntN(rows)), r)
	}
	var bytes int64
	for _, x := range inserts {
		bytes += int64(len(x))
	}
	b.ResetTimer()
	for b.Loop() {
		root := b.TempDir()
		j := benchJob(b, root)
		var off int64
		t0 := time.Now()
		feed(b, j, inserts, &off, 250_000)
		load := time.Since(t0)
		t1 := time.Now()
		feed(b, j, changes, &off, 250_000)
		upd := time.Since(t1)
		b.ReportMetric(float64(rows)/load.Seconds(), "insert-rows/s")
		b.ReportMetric(float64(rows)/upd.Seconds(), "upsert-rows/s")
		b.ReportMetric(float64(bytes)/load.Seconds()/1e6, "insert-MB/s")
		m, _ := loadLatestManifest(j.st, "shop/orders")
		var size int64
		for _, f := range m.Current {
			size += f.Bytes
		}
		b.ReportMetric(float64(size)/float64(m.Rows), "current-bytes/row")
	}
}

// BenchmarkSinkChangeLog: the change log alone (a table without a
// primary key rebuilt nowhere: the current table is skipped by excluding
// it is not possible, so the figure is measured on a log-only path).
func BenchmarkSinkChangeLog(b *testing.B) {
	const rows = 1_000_000
	r := rand.New(rand.NewPCG(3, 4))
	bodies := make([][]byte, rows)
	for i := range bodies {
		bodies[i] = orderBody(canal.TypeUpdate, uint32(100+i*100), 0, uint64(1+r.IntN(rows)), r)
	}
	b.ResetTimer()
	for b.Loop() {
		j := benchJob(b, b.TempDir())
		t := newTable(j, "shop", "orders", 1)
		msgs := make([]*canal.FlatMessage, len(bodies))
		for i, body := range bodies {
			m, err := canal.DecodeFlat(body)
			if err != nil {
				b.Fatal(err)
			}
			msgs[i] = m
		}
		t0 := time.Now()
		for _, m := range msgs {
			if t.schema == nil {
				names := make([]string, len(m.Data))
				for i, c := range m.Data {
					names[i] = c.Name
				}
				s, err := rowSchema(nil, names, m.MySQLType, m.PKNames, Version{})
				if err != nil {
					b.Fatal(err)
				}
				t.setSchema(s)
			}
			t.ensureLog()
			if err := t.log.add(&logged{op: m.Type, es: m.ES, v: Version{File: m.File, Pos: m.Pos}, gtid: m.GTID, vals: cellsToValues(m.Data)}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := t.log.finish(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rows)/time.Since(t0).Seconds(), "log-rows/s")
	}
}

func cellsToValues(cs []canal.Cell) []value {
	out := make([]value, len(cs))
	for i, c := range cs {
		out[i] = value{s: c.S, null: c.Null}
	}
	return out
}

// BenchmarkSinkRSS rebuilds a table of SLUICE_SINK_BENCH_ROWS rows
// (default 10M) by inserts in commits of 100k, with a soft memory limit
// of 512 MiB (the job's memory_limit), and reports the process's peak RSS:
// run it alone (-bench BenchmarkSinkRSS), as the peak covers the process.
func BenchmarkSinkRSS(b *testing.B) {
	rows := 10_000_000
	if s := os.Getenv("SLUICE_SINK_BENCH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for b.Loop() {
		j := benchJob(b, b.TempDir())
		// As a sink process runs with memory_limit set.
		debug.SetMemoryLimit(512 << 20)
		defer debug.SetMemoryLimit(math.MaxInt64)
		var off int64
		t0 := time.Now()
		const chunk = 100_000
		bodies := make([][]byte, chunk)
		for done := 0; done < rows; done += chunk {
			for i := range bodies {
				id := done + i + 1
				bodies[i] = orderBody(canal.TypeInsert, uint32(100+id), 0, uint64(id), r)
			}
			feed(b, j, bodies, &off, 0)
		}
		el := time.Since(t0)
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
		m, _ := loadLatestManifest(j.st, "shop/orders")
		if m == nil || m.Rows != int64(rows) {
			b.Fatalf("table has %v rows", m)
		}
	}
}

// peakRSS is VmHWM of this process, in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	runtime.KeepAlive(b)
	return 0
}
