package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
)

// Replication benchmark (issue: master/slave replication, "Performance"):
// 1 KiB messages from 16 concurrent synchronous producers against a
// SYNC_MASTER and against an ASYNC_MASTER (both ASYNC_FLUSH, each with one
// slave, all `sluice` processes on loopback), in one invocation. Besides
// msgs/s and latency it samples the master's runtime info to measure how
// far behind the slave runs, in bytes and in milliseconds. Run it with
// `make bench`, or:
//
//	cd e2e && go test -run '^$' -bench BenchmarkReplication -benchtime 3s

const replProducers = 16

// replLag is what the sampler saw of one slave during a run.
type replLag struct {
	maxBytes      int64
	p99, maxDelay time.Duration
	samples       int
}

// startHACluster runs a NameServer, a master with role and its slave, and
// waits until the slave is in sync.
func startHACluster(b *testing.B, role string) (c *cluster, masterAddr string) {
	ns := startNameServer(b)
	mAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	master := startProc(b, "master", mAddr, brokerArgs(mAddr, ns.Addr, b.TempDir(), "--role", role,
		"--ha-listen", fmt.Sprintf("127.0.0.1:%d", freePort(b)))...)
	sAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	startProc(b, "slave", sAddr, brokerArgs(sAddr, ns.Addr, b.TempDir(), "--role", "SLAVE", "--broker-id", "1")...)
	waitRoute(b, ns.Addr, "TBW102")
	eventually(b, 30*time.Second, func() bool { return runtimeInfo(mAddr)["slave.1.inSync"] == "true" },
		"%s: slave never in sync", role)
	return &cluster{ns: ns, broker: master}, mAddr
}

// sampleLag polls the master's runtime info until stop is closed. The
// delay of a sample is how long ago the master's log first reached the
// offset the slave has acknowledged (0 when the slave has all of it); its
// resolution is the poll interval.
func sampleLag(masterAddr string, stop <-chan struct{}) <-chan replLag {
	out := make(chan replLag, 1)
	go func() {
		type point struct {
			at  time.Time
			end int64
		}
		var history []point
		var delays []time.Duration
		var lag replLag
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				if len(delays) > 0 {
					slices.Sort(delays)
					lag.p99, lag.maxDelay = delays[len(delays)*99/100], delays[len(delays)-1]
				}
				lag.samples = len(delays)
				out <- lag
				return
			case <-tick.C:
			}
			info := runtimeInfo(masterAddr)
			if info == nil || info["slave.1.ackedOffset"] == "" {
				continue
			}
			now, end, acked := time.Now(), atoi(info["commitLogMaxOffset"]), atoi(info["slave.1.ackedOffset"])
			history = append(history, point{now, end})
			lag.maxBytes = max(lag.maxBytes, end-acked)
			delay := time.Duration(0)
			if acked < end {
				// The first sample whose end covers acked: the slave is
				// where the master was then.
				i, _ := slices.BinarySearchFunc(history, acked, func(p point, off int64) int {
					switch {
					case p.end < off:
						return -1
					case p.end > off:
						return 1
					}
					return 0
				})
				delay = now.Sub(history[min(i, len(history)-1)].at)
			}
			delays = append(delays, delay)
		}
	}()
	return out
}

func BenchmarkReplication(b *testing.B) {
	payload := make([]byte, benchMsgSize)
	rand.Read(payload)
	type row struct {
		r   benchResult
		lag replLag
	}
	rows := map[string]row{}
	var mu sync.Mutex
	for _, role := range []string{"SYNC_MASTER", "ASYNC_MASTER"} {
		c, mAddr := startHACluster(b, role)
		name := fmt.Sprintf("publish-sync-%d/%s", replProducers, role)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchMsgSize)
			p := benchProducer(b, c)
			topic := benchTopic(b, c, 8)
			stop := make(chan struct{})
			lagc := sampleLag(mAddr, stop)
			r := timedWorkers(b, replProducers, 1, func(int) error {
				res, err := p.SendSync(context.Background(), client.NewMessage(topic, payload))
				if err == nil && res.Status != client.SendOK {
					err = fmt.Errorf("send status %v", res.Status)
				}
				return err
			})
			b.StopTimer()
			close(stop)
			lag := <-lagc
			b.ReportMetric(r.msgsPerSec, "msgs/s")
			b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
			b.ReportMetric(float64(lag.maxDelay.Milliseconds()), "max-lag-ms")
			b.ReportMetric(float64(lag.maxBytes), "max-lag-B")
			mu.Lock()
			rows[name] = row{r, lag}
			mu.Unlock()
		})
	}
	fmt.Printf("\n%-34s %10s %8s %9s %9s %12s %12s %12s\n", "workload (1 KiB, ASYNC_FLUSH)", "msgs/s", "MB/s", "p50", "p99",
		"lag p99", "lag max", "lag max B")
	for _, name := range slices.Sorted(maps.Keys(rows)) {
		r := rows[name]
		fmt.Printf("%-34s %10.0f %8.1f %9v %9v %12v %12v %12d\n", name, r.r.msgsPerSec, r.r.msgsPerSec*benchMsgSize/1e6,
			r.r.p50, r.r.p99, r.lag.p99, r.lag.maxDelay, r.lag.maxBytes)
	}
	s, a := rows[fmt.Sprintf("publish-sync-%d/SYNC_MASTER", replProducers)], rows[fmt.Sprintf("publish-sync-%d/ASYNC_MASTER", replProducers)]
	if a.r.msgsPerSec > 0 {
		fmt.Printf("SYNC_MASTER keeps %.0f%% of ASYNC_MASTER's throughput (target ≥ 60%%); slave lag max: %v under SYNC_MASTER, %v under ASYNC_MASTER (target < 100ms)\n",
			100*s.r.msgsPerSec/a.r.msgsPerSec, s.lag.maxDelay, a.lag.maxDelay)
	}
}
