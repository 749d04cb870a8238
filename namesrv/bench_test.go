package namesrv

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// BenchmarkNameServerRoute measures GET_ROUTEINFO_BY_TOPIC over loopback:
// one caller at a time, and many callers sharing one connection as a
// client process's route refreshes do.
func BenchmarkNameServerRoute(b *testing.B) {
	ns := startNameServer(b, func(o *Options) { o.Logger = nil })
	addr := ns.Addr().String()
	opts := remoting.DefaultClientOptions()
	opts.Serialize = remoting.SerializeJSON
	cl := remoting.NewClient(opts)
	b.Cleanup(func() { cl.Close() })
	call(b, cl, addr, with(netMaster, "TopicTest").registerRequest())
	call(b, cl, addr, netSlave.registerRequest())

	route := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := cl.Invoke(ctx, addr, routeRequest("TopicTest"))
		if err != nil || resp.Code != protocol.Success {
			b.Fatalf("route: %v %v", resp, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		n := 0
		for b.Loop() {
			route()
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("parallel", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				route()
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "req/s")
	})
}
