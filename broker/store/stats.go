package store

import (
	"sync/atomic"
	"time"
)

// FsyncBuckets are the upper bounds of Stats.FsyncHistogram.
var FsyncBuckets = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 100 * time.Millisecond, time.Second,
}

// Stats are the store's counters and gauges, for the broker's metrics
// (e.g. sluice_commitlog_fsync_duration_seconds from FsyncHistogram).
type Stats struct {
	PutMessages    uint64 // records appended
	PutBytes       uint64 // bytes appended
	PutErrors      uint64 // rejected or failed puts
	GetMessages    uint64 // records returned by GetMessages
	FsyncCount     uint64 // commitlog fdatasync passes
	FsyncTotal     time.Duration
	FsyncMax       time.Duration
	FsyncHistogram []uint64 // counts per FsyncBuckets bound, plus one overflow bucket
	FlushTimeouts  uint64   // WaitDurable answers with ErrFlushTimeout
	// SegmentsDeleted counts segments removed by retention.
	SegmentsDeleted   uint64
	MaxPhysicalOffset int64
	MinPhysicalOffset int64
	FlushedOffset     int64
	ConfirmedOffset   int64
	DispatchedOffset  int64
	DispatchLagBytes  int64   // ConfirmedOffset - DispatchedOffset
	DiskUsedRatio     float64 // as of the last retention pass
	Writable          bool    // false after a write or sync error
}

type storeStats struct {
	puts, putBytes, putErrors, gets atomic.Uint64
	fsyncs, fsyncNanos, fsyncMax    atomic.Int64
	hist                            [12]atomic.Uint64
	flushTimeouts, segmentsDeleted  atomic.Uint64
	diskRatioBits                   atomic.Int64 // ratio × 1e6
}

func (st *storeStats) observeFsync(d time.Duration) {
	st.fsyncs.Add(1)
	st.fsyncNanos.Add(int64(d))
	for {
		old := st.fsyncMax.Load()
		if int64(d) <= old || st.fsyncMax.CompareAndSwap(old, int64(d)) {
			break
		}
	}
	i := 0
	for i < len(FsyncBuckets) && d > FsyncBuckets[i] {
		i++
	}
	st.hist[i].Add(1)
}

// Stats returns a snapshot of the counters and gauges.
func (s *Store) Stats() Stats {
	st := &s.stats
	out := Stats{
		PutMessages: st.puts.Load(), PutBytes: st.putBytes.Load(), PutErrors: st.putErrors.Load(),
		GetMessages: st.gets.Load(), FsyncCount: uint64(st.fsyncs.Load()),
		FsyncTotal: time.Duration(st.fsyncNanos.Load()), FsyncMax: time.Duration(st.fsyncMax.Load()),
		FlushTimeouts: st.flushTimeouts.Load(), SegmentsDeleted: st.segmentsDeleted.Load(),
		MaxPhysicalOffset: s.MaxPhysicalOffset(), MinPhysicalOffset: s.MinPhysicalOffset(),
		FlushedOffset: s.FlushedOffset(), ConfirmedOffset: s.ConfirmedOffset(),
		DispatchedOffset: s.disp.dispatched.Load(),
		DiskUsedRatio:    float64(st.diskRatioBits.Load()) / 1e6,
		Writable:         s.cl.failed.Load() == nil && !s.closed.Load(),
	}
	out.DispatchLagBytes = max(out.ConfirmedOffset-out.DispatchedOffset, 0)
	for i := range st.hist {
		out.FsyncHistogram = append(out.FsyncHistogram, st.hist[i].Load())
	}
	return out
}
