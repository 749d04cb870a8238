package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// Side-by-side broker benchmark (issue: broker core, "Performance"): the same
// 1 KiB workloads against a `sluice broker` process and the NATS JetStream
// server already running on this machine (file storage, one replica), in one
// invocation, then a table with the ratios. Run it with `make bench`, or:
//
//	cd e2e && go test -run '^$' -bench BenchmarkBrokerVsJetStream -benchtime 3s
//
// NATS_URL overrides nats://127.0.0.1:4222. JetStream's default file store
// acknowledges from the page cache, like Sluice's ASYNC_FLUSH; NATS 2.9 has no
// fsync-per-publish mode, so the SYNC_FLUSH rows compare Sluice's durable
// acknowledgement with JetStream's non-durable one.

const benchMsgSize = 1024

type benchResult struct {
	msgsPerSec float64
	p50, p99   time.Duration
}

type benchTable struct {
	mu   sync.Mutex
	rows map[string]benchResult
}

func (t *benchTable) put(name string, r benchResult) {
	t.mu.Lock()
	t.rows[name] = r
	t.mu.Unlock()
}

func BenchmarkBrokerVsJetStream(b *testing.B) {
	js := openJetStream(b)
	asyncCluster := startCluster(b)
	syncCluster := startCluster(b, "--flush", "sync")
	payload := make([]byte, benchMsgSize)
	rand.Read(payload)
	table := &benchTable{rows: map[string]benchResult{}}

	run := func(name string, f func(b *testing.B) benchResult) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchMsgSize)
			r := f(b)
			b.ReportMetric(r.msgsPerSec, "msgs/s")
			if r.p99 > 0 {
				b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
			}
			table.put(name, r)
		})
	}
	run("publish-batch/sluice-async", func(b *testing.B) benchResult { return sluiceBatchPublish(b, asyncCluster, payload, 4, 64) })
	run("publish-async/sluice-async", func(b *testing.B) benchResult { return sluiceAsyncPublish(b, asyncCluster, payload) })
	run("publish-async/jetstream", func(b *testing.B) benchResult { return jsAsyncPublish(b, js, payload) })
	for _, producers := range []int{1, 16} {
		run(fmt.Sprintf("publish-sync-%d/sluice-syncflush", producers), func(b *testing.B) benchResult {
			return sluiceSyncPublish(b, syncCluster, payload, producers)
		})
		run(fmt.Sprintf("publish-sync-%d/jetstream", producers), func(b *testing.B) benchResult { return jsSyncPublish(b, js, payload, producers) })
	}
	run("consume/sluice", func(b *testing.B) benchResult { return sluiceConsume(b, asyncCluster, payload) })
	run("consume/jetstream", func(b *testing.B) benchResult { return jsConsume(b, js, payload) })
	printBenchTable(table)
}

func printBenchTable(t *benchTable) {
	ratio := func(ours, theirs string) string {
		a, b := t.rows[ours], t.rows[theirs]
		if a.msgsPerSec == 0 || b.msgsPerSec == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", a.msgsPerSec/b.msgsPerSec)
	}
	names := make([]string, 0, len(t.rows))
	for n := range t.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-40s %12s %10s %10s %10s\n", "workload (1 KiB messages)", "msgs/s", "MB/s", "p50", "p99")
	for _, n := range names {
		r := t.rows[n]
		fmt.Fprintf(&sb, "%-40s %12.0f %10.1f %10v %10v\n", n, r.msgsPerSec, r.msgsPerSec*benchMsgSize/1e6, r.p50, r.p99)
	}
	fmt.Fprintf(&sb, "\nratio sluice/jetstream:\n")
	fmt.Fprintf(&sb, "  publish, batched (sluice batch vs jetstream async)  %s\n", ratio("publish-batch/sluice-async", "publish-async/jetstream"))
	fmt.Fprintf(&sb, "  publish, pipelined (async vs async)                 %s\n", ratio("publish-async/sluice-async", "publish-async/jetstream"))
	fmt.Fprintf(&sb, "  publish, sync, 1 producer (fsynced vs page cache)   %s\n", ratio("publish-sync-1/sluice-syncflush", "publish-sync-1/jetstream"))
	fmt.Fprintf(&sb, "  publish, sync, 16 producers (fsynced vs page cache) %s\n", ratio("publish-sync-16/sluice-syncflush", "publish-sync-16/jetstream"))
	fmt.Fprintf(&sb, "  consume                                            %s\n", ratio("consume/sluice", "consume/jetstream"))
	fmt.Print(sb.String())
}

// latencies records per-operation latencies and summarises them.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) result(n int, elapsed time.Duration) benchResult {
	r := benchResult{msgsPerSec: float64(n) / elapsed.Seconds()}
	if len(l.d) > 0 {
		slices.Sort(l.d)
		r.p50 = l.d[len(l.d)/2]
		r.p99 = l.d[len(l.d)*99/100]
	}
	return r
}

func benchProducer(b *testing.B, c *cluster) *client.Producer {
	opts := client.NewProducerOptions(c.ns.Addr)
	opts.ClientOptions.Logger = testutil.Logger(b)
	opts.DisableCompression = true
	p, err := client.NewProducer(opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown() })
	return p
}

func benchTopic(b *testing.B, c *cluster, queues int) string {
	topic := uniqueName(b, "bench")
	cl, err := client.NewClient(client.NewOptions(c.ns.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxTimeout(b, 10*time.Second)
	err = client.NewAdmin(cl).CreateTopic(ctx, c.broker.Addr, client.TopicConfig{
		Topic: topic, ReadQueueNums: int32(queues), WriteQueueNums: int32(queues), Perm: 6})
	if err != nil {
		b.Fatal(err)
	}
	waitRoute(b, c.ns.Addr, topic)
	return topic
}

// timedWorkers runs op over b.N items, step at a time, from workers
// goroutines, timing each call; it stops at the first error.
func timedWorkers(b *testing.B, workers, step int, op func(n int) error) benchResult {
	var next atomic.Int64
	var lat latencies
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := next.Add(int64(step)) - int64(step)
				if lo >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(min(step, b.N-int(lo))); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(t0))
			}
		})
	}
	wg.Wait()
	return lat.result(b.N, time.Since(start))
}

// sluiceBatchPublish sends b.N messages as batches of size from workers
// goroutines with SendSync.
func sluiceBatchPublish(b *testing.B, c *cluster, payload []byte, workers, size int) benchResult {
	p := benchProducer(b, c)
	topic := benchTopic(b, c, 8)
	batch := make([]*client.Message, size)
	for i := range batch {
		batch[i] = client.NewMessage(topic, payload) // read-only while sent: shared by the workers
	}
	return timedWorkers(b, workers, size, func(n int) error {
		_, err := p.SendSync(context.Background(), batch[:n]...)
		return err
	})
}

func sluiceAsyncPublish(b *testing.B, c *cluster, payload []byte) benchResult {
	p := benchProducer(b, c)
	topic := benchTopic(b, c, 8)
	var lat latencies
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		wg.Add(1)
		t0 := time.Now()
		err := p.SendAsync(ctx, client.NewMessage(topic, payload), func(_ *client.SendResult, err error) {
			if err != nil {
				b.Error(err)
			}
			lat.add(time.Since(t0))
			wg.Done()
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	return lat.result(b.N, time.Since(start))
}

func sluiceSyncPublish(b *testing.B, c *cluster, payload []byte, producers int) benchResult {
	p := benchProducer(b, c)
	topic := benchTopic(b, c, 8)
	return timedWorkers(b, producers, 1, func(int) error {
		_, err := p.SendSync(context.Background(), client.NewMessage(topic, payload))
		return err
	})
}

// sluiceConsume fills a topic with b.N messages, then times a pull consumer
// reading them all.
func sluiceConsume(b *testing.B, c *cluster, payload []byte) benchResult {
	p := benchProducer(b, c)
	topic := benchTopic(b, c, 8)
	batch := make([]*client.Message, 64)
	for i := range batch {
		batch[i] = client.NewMessage(topic, payload)
	}
	ctx := context.Background()
	for sent := 0; sent < b.N; sent += len(batch) {
		if _, err := p.SendSync(ctx, batch[:min(len(batch), b.N-sent)]...); err != nil {
			b.Fatal(err)
		}
	}
	opts := client.NewPullConsumerOptions(uniqueName(b, "bench"), c.ns.Addr)
	opts.ClientOptions.Logger = testutil.Logger(b)
	opts.ConsumeFrom = client.ConsumeFromFirstOffset
	pc, err := client.NewPullConsumer(opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := pc.Subscribe(topic, "*"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := pc.Start(); err != nil {
		b.Fatal(err)
	}
	defer pc.Shutdown()
	got := 0
	pollCtx := ctxTimeout(b, 10*time.Minute)
	for got < b.N {
		msgs, err := pc.Poll(pollCtx)
		if err != nil {
			b.Fatalf("poll after %d of %d: %v", got, b.N, err)
		}
		got += len(msgs)
	}
	return benchResult{msgsPerSec: float64(b.N) / time.Since(start).Seconds()}
}

// ---- NATS JetStream side ----

type jetStream struct {
	nc *nats.Conn
	js nats.JetStreamContext
}

func openJetStream(b *testing.B) *jetStream {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatalf("the side-by-side benchmark needs NATS JetStream at %s: %v", url, err)
	}
	b.Cleanup(nc.Close)
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	return &jetStream{nc: nc, js: js}
}

// stream creates a fresh file-backed, single-replica stream, deleted at
// cleanup.
func (j *jetStream) stream(b *testing.B) string {
	name := strings.ReplaceAll(uniqueName(b, "SLUICEBENCH"), "%", "_")
	name = strings.NewReplacer(".", "_", "*", "_", ">", "_").Replace(name)
	_, err := j.js.AddStream(&nats.StreamConfig{Name: name, Subjects: []string{name + ".>"},
		Storage: nats.FileStorage, Replicas: 1})
	if err != nil {
		b.Fatalf("create stream: %v", err)
	}
	b.Cleanup(func() { j.js.DeleteStream(name) })
	return name
}

func jsAsyncPublish(b *testing.B, j *jetStream, payload []byte) benchResult {
	subject := j.stream(b) + ".m"
	var lat latencies
	b.ResetTimer()
	start := time.Now()
	futures := make([]nats.PubAckFuture, 0, 4096)
	times := make([]time.Time, 0, 4096)
	drain := func() {
		for i, f := range futures {
			select {
			case <-f.Ok():
				lat.add(time.Since(times[i]))
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		futures, times = futures[:0], times[:0]
	}
	for range b.N {
		f, err := j.js.PublishAsync(subject, payload)
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
		times = append(times, time.Now())
		if len(futures) == cap(futures) {
			drain()
		}
	}
	drain()
	return lat.result(b.N, time.Since(start))
}

func jsSyncPublish(b *testing.B, j *jetStream, payload []byte, producers int) benchResult {
	subject := j.stream(b) + ".m"
	return timedWorkers(b, producers, 1, func(int) error {
		_, err := j.js.Publish(subject, payload)
		return err
	})
}

// jsConsume fills a stream with b.N messages, then times an ordered
// consumer (JetStream's fastest read path) reading them all.
func jsConsume(b *testing.B, j *jetStream, payload []byte) benchResult {
	subject := j.stream(b) + ".m"
	for sent := 0; sent < b.N; sent++ {
		if _, err := j.js.PublishAsync(subject, payload); err != nil {
			b.Fatal(err)
		}
		if sent%2048 == 2047 || sent == b.N-1 {
			select {
			case <-j.js.PublishAsyncComplete():
			case <-time.After(5 * time.Minute):
				b.Fatal("prefill did not complete")
			}
		}
	}
	done := make(chan struct{})
	var got atomic.Int64
	b.ResetTimer()
	start := time.Now()
	sub, err := j.js.Subscribe(subject, func(m *nats.Msg) {
		if got.Add(1) == int64(b.N) {
			close(done)
		}
	}, nats.OrderedConsumer())
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("consumed %d of %d", got.Load(), b.N)
	}
	return benchResult{msgsPerSec: float64(b.N) / time.Since(start).Seconds()}
}
