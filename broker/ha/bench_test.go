package ha

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
)

// BenchmarkHAReplicate puts 1 KiB records from concurrent producers on a
// master with one slave over loopback, both in this process (so they share
// the CPUs). async: a producer returns after the local write
// (ASYNC_MASTER); every 16th put also registers a WaitReplicated whose
// answer gives the replication lag. sync: every producer waits for the
// slave's ack (SYNC_MASTER with one slave); its latency includes
// replication. Producers: 16, and 64 for sync to show how latency-bound
// waiting scales with concurrency.
//
//	go test -run - -bench HAReplicate -benchtime 200000x ./broker/ha/
func BenchmarkHAReplicate(b *testing.B) {
	for _, c := range []struct {
		name      string
		sync      bool
		producers int
	}{{"async-16", false, 16}, {"sync-16", true, 16}, {"sync-64", true, 64}} {
		b.Run(c.name, func(b *testing.B) { benchReplicate(b, c.sync, c.producers) })
	}
}

// lagSample is the 1-in-n rate at which async puts measure their lag.
const lagSample = 16

func benchReplicate(b *testing.B, syncMaster bool, producers int) {
	mn, sn := benchNode(b), benchNode(b)
	startTerm(b, mn)
	m := startMaster(b, mn, func(o *MasterOptions) { o.Logger = nil })
	startSlave(b, sn, fixedAddr(m), 1, func(o *SlaveOptions) { o.Logger = nil })
	if err := waitReplicated(m, 0, 1, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	tmpl := message.Record{
		Topic: "BenchTopic", Body: make([]byte, 1024), BornTimestamp: 1, BornHost: netip.MustParseAddrPort("10.0.0.2:4000"),
		Properties: message.EncodeProperties(map[string]string{message.PropertyTags: "tagA", message.PropertyUniqKey: "0A0000020FA0000000000000000000AB"}),
	}
	lat := make([]time.Duration, b.N) // sync: put + replication; async: replication lag (sampled)
	var answered sync.WaitGroup
	var next atomic.Int64
	b.SetBytes(int64(len(tmpl.Body)))
	b.ResetTimer()
	start := time.Now()
	var producersWG sync.WaitGroup
	for p := range producers {
		producersWG.Go(func() {
			rec := tmpl
			rec.QueueID = int32(p % 8)
			reply := make(chan error, 1)
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				t0 := time.Now()
				res, err := mn.st.PutMessage(&rec)
				if err != nil {
					b.Error(err)
					return
				}
				m.Notify()
				switch {
				case syncMaster:
					m.WaitReplicated(res.End, 1, 3*time.Second, func(err error) { reply <- err })
					if err := <-reply; err != nil {
						b.Error(err)
						return
					}
					lat[i] = time.Since(t0)
				case i%lagSample == 0:
					answered.Add(1)
					m.WaitReplicated(res.End, 1, 30*time.Second, func(error) {
						lat[i] = time.Since(t0)
						answered.Done()
					})
				}
			}
		})
	}
	producersWG.Wait()
	elapsed := time.Since(start)
	answered.Wait()
	b.StopTimer()
	if !syncMaster {
		var sampled []time.Duration
		for i := 0; i < len(lat); i += lagSample {
			sampled = append(sampled, lat[i])
		}
		lat = sampled
	}
	slices.Sort(lat)
	pct := func(q float64) float64 { return float64(lat[int(float64(len(lat)-1)*q)].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	prefix := ""
	if !syncMaster {
		prefix = "lag-"
	}
	b.ReportMetric(pct(0.5), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}

func benchNode(b *testing.B) *node {
	n := &node{t: b, dir: b.TempDir()}
	n.opts = storeOptions(n.dir)
	n.opts.SegmentSize = 64 << 20
	n.opts.MaxMessageSize = 4 << 20
	n.opts.CQEntriesPerFile = 300_000
	n.opts.FlushInterval = 500 * time.Millisecond
	n.opts.FlushThoroughInterval = 10 * time.Second
	n.opts.MetaFlushInterval = time.Second
	n.opts.IndexMaxHashSlots, n.opts.IndexMaxCount = 100_000, 400_000
	n.open()
	return n
}
