package store

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// benchStore opens a store on the real disk with benchmark-sized segments.
func benchStore(b *testing.B, mode FlushMode) *Store {
	o := DefaultOptions()
	o.Dir = b.TempDir()
	o.FS = vfs.OS
	o.SegmentSize = 128 << 20
	o.Prewrite = os.Getenv("BENCH_PREWRITE") != "0"
	o.FlushMode = mode
	o.IndexMaxHashSlots, o.IndexMaxCount = 100_000, 400_000
	s, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchRecord(size int) *message.Record {
	return &message.Record{
		Topic: "BenchTopic", Body: make([]byte, size), BornTimestamp: 1,
		BornHost:   netip.MustParseAddrPort("10.0.0.2:4000"),
		Properties: message.EncodeProperties(map[string]string{message.PropertyTags: "tagA", message.PropertyUniqKey: "0A0000020FA0000000000000000000AB"}),
	}
}

// runPutters runs putters goroutines until b.N puts are done; each put
// optionally waits for durability. It returns per-put latencies.
func runPutters(b *testing.B, s *Store, putters int, durable bool) []time.Duration {
	var next atomic.Int64
	lat := make([][]time.Duration, putters)
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := range putters {
		wg.Go(func() {
			r := benchRecord(1024)
			r.QueueID = int32(p % 4)
			done := make(chan error, 1)
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				res, err := s.PutMessage(r)
				if err != nil {
					b.Error(err)
					return
				}
				if durable {
					s.WaitDurable(res.End, func(err error) { done <- err })
					if err := <-done; err != nil {
						b.Error(err)
						return
					}
				}
				lat[p] = append(lat[p], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return slices.Concat(lat...)
}

func reportPuts(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

func BenchmarkCommitLogPutAsync(b *testing.B) {
	for _, putters := range []int{1, 4} {
		b.Run(fmt.Sprintf("1KiB/putters=%d", putters), func(b *testing.B) {
			s := benchStore(b, FlushAsync)
			b.SetBytes(int64(benchRecord(1024).Size()))
			b.ReportAllocs()
			reportPuts(b, runPutters(b, s, putters, false))
		})
	}
}

func BenchmarkCommitLogPutSync(b *testing.B) {
	for _, putters := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("1KiB/putters=%d", putters), func(b *testing.B) {
			s := benchStore(b, FlushSync)
			b.SetBytes(int64(benchRecord(1024).Size()))
			b.ReportAllocs()
			lat := runPutters(b, s, putters, true)
			reportPuts(b, lat)
			st := s.Stats()
			if st.FsyncCount > 0 {
				b.ReportMetric(float64(st.PutMessages)/float64(st.FsyncCount), "msgs/fsync")
			}
		})
	}
}

// BenchmarkCommitLogPutMany appends runs of 32 independent records of 8
// queues with one PutMessages call each, as the broker does with the sends
// a connection pipelined.
func BenchmarkCommitLogPutMany(b *testing.B) {
	s := benchStore(b, FlushAsync)
	const run = 32
	recs := make([]*message.Record, run)
	for i := range recs {
		r := *benchRecord(1024)
		r.QueueID = int32(i % 8)
		recs[i] = &r
	}
	b.SetBytes(int64(recs[0].Size()))
	b.ReportAllocs()
	start := time.Now()
	for done := 0; done < b.N; done += run {
		_, errs := s.PutMessages(recs[:min(run, b.N-done)])
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkCommitLogGetMessages(b *testing.B) {
	s := benchStore(b, FlushAsync)
	r := benchRecord(1024)
	const n = 50_000
	for range n {
		if _, err := s.PutMessage(r); err != nil {
			b.Fatal(err)
		}
	}
	for s.disp.dispatched.Load() < s.ConfirmedOffset() {
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(32 * r.Size())
	b.ReportAllocs()
	off := int64(0)
	for b.Loop() {
		res, err := s.GetMessages(r.Topic, 0, off, 32, 256<<10, nil)
		if err != nil || res.Status != Found {
			b.Fatalf("%v %v", res.Status, err)
		}
		off = res.NextBeginOffset
		if off >= n {
			off = 0
		}
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
