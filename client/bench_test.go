package client_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

const benchBody = 1024

// benchCluster starts a cluster and a client with a topic of 8 queues.
func benchCluster(b *testing.B, topic string) (*testutil.Cluster, *client.Client) {
	b.Helper()
	c := testutil.StartCluster(b, nil)
	o := client.NewOptions(c.NameServer.Addr)
	o.Logger = testutil.Logger(b)
	o.ClientIP = "127.0.0.1"
	o.OffsetPersistInterval = 200 * time.Millisecond
	o.RebalanceInterval = time.Second
	cl, err := client.NewClient(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	admin := client.NewAdmin(cl)
	ctx := context.Background()
	if _, err := admin.CreateTopicInCluster(ctx, "", client.TopicConfig{Topic: topic, ReadQueueNums: 8, WriteQueueNums: 8}); err != nil {
		b.Fatal(err)
	}
	testutil.Eventually(b, 10*time.Second, func() bool {
		r, err := admin.TopicRoute(ctx, topic)
		return err == nil && len(r.QueueDatas) > 0
	}, "route of %s", topic)
	return c, cl
}

// benchProducer starts a producer and the benchmark's clock.
func benchProducer(b *testing.B, cl *client.Client) *client.Producer {
	b.Helper()
	o := client.NewProducerOptions()
	o.Client = cl
	o.Group = "bench-pg"
	p, err := client.NewProducer(o)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown() })
	b.SetBytes(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	return p
}

// latencies collects per-operation latencies and reports throughput and
// percentiles.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, msgs int, elapsed time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	secs := elapsed.Seconds()
	b.ReportMetric(float64(msgs)/secs, "msgs/s")
	b.ReportMetric(float64(msgs)*benchBody/secs/1e6, "MB/s")
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	pct := func(p float64) float64 {
		return float64(l.all[min(len(l.all)-1, int(p*float64(len(l.all))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func benchMessage(topic string) *client.Message {
	return client.NewMessage(topic, make([]byte, benchBody)).WithTags("bench")
}

func BenchmarkClientProduceSync(b *testing.B) {
	for _, workers := range []int{1, 16} {
		b.Run(fmt.Sprintf("goroutines=%d", workers), func(b *testing.B) {
			topic := fmt.Sprintf("BenchSync%d", workers)
			_, cl := benchCluster(b, topic)
			p := benchProducer(b, cl)
			var lat latencies
			var next atomic.Int64
			ctx := context.Background()
			start := time.Now()
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := p.SendSync(ctx, benchMessage(topic)); err != nil {
							b.Error(err)
							return
						}
						lat.add(time.Since(t0))
					}
				})
			}
			wg.Wait()
			lat.report(b, b.N, time.Since(start))
		})
	}
}

func BenchmarkClientProduceAsync(b *testing.B) {
	const topic = "BenchAsync"
	_, cl := benchCluster(b, topic)
	p := benchProducer(b, cl)
	var lat latencies
	var wg sync.WaitGroup
	ctx := context.Background()
	start := time.Now()
	wg.Add(b.N)
	for range b.N {
		t0 := time.Now()
		if err := p.SendAsync(ctx, benchMessage(topic), func(_ *client.SendResult, err error) {
			if err != nil {
				b.Error(err)
			}
			lat.add(time.Since(t0))
			wg.Done()
		}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	lat.report(b, b.N, time.Since(start))
}

func BenchmarkClientProduceBatch(b *testing.B) {
	const topic, size = "BenchBatch", 32
	_, cl := benchCluster(b, topic)
	p := benchProducer(b, cl)
	var lat latencies
	ctx := context.Background()
	batch := make([]*client.Message, size)
	start := time.Now()
	for sent := 0; sent < b.N; sent += size {
		n := min(size, b.N-sent)
		for i := range n {
			batch[i] = benchMessage(topic)
		}
		t0 := time.Now()
		if _, err := p.SendSync(ctx, batch[:n]...); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(t0))
	}
	lat.report(b, b.N, time.Since(start))
}

func BenchmarkClientConsume(b *testing.B) {
	const topic = "BenchConsume"
	_, cl := benchCluster(b, topic)
	p := benchProducer(b, cl)
	ctx := context.Background()
	batch := make([]*client.Message, 32)
	for sent := 0; sent < b.N; sent += 32 {
		n := min(32, b.N-sent)
		for i := range n {
			batch[i] = benchMessage(topic)
		}
		if _, err := p.SendSync(ctx, batch[:n]...); err != nil {
			b.Fatal(err)
		}
	}
	var lat latencies
	var got atomic.Int64
	done := make(chan struct{})
	o := client.PushConsumerOptions{}
	o.Client = cl
	o.Group = "bench-cg"
	o.ConsumeFrom = client.ConsumeFromFirstOffset
	o.ConsumeBatchSize = 32
	pc, err := client.NewPushConsumer(o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := pc.Subscribe(topic, "*", func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		now := time.Now().UnixMilli()
		for _, m := range msgs {
			lat.add(time.Duration(now-m.StoreTimestamp) * time.Millisecond)
		}
		if got.Add(int64(len(msgs))) == int64(b.N) {
			close(done)
		}
		return client.ConsumeSuccess
	}); err != nil {
		b.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("consumed %d of %d", got.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	pc.Shutdown()
	// Latency here is store-to-handler time: the backlog existed before the
	// consumer started, so it measures how fast the backlog drains.
	lat.report(b, b.N, elapsed)
}
