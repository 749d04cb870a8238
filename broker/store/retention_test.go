package store

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
)

type retentionFixture struct {
	s     *Store
	clock *fakeClock
	mono  *atomic.Int64
	ratio *atomic.Int64 // disk used ratio × 1000
	// After recoverAfter (> 0) readings of the ratio, the disk reads 50 %.
	calls, recoverAfter atomic.Int64
	puts                []PutResult
}

// newRetentionFixture fills about six 64 KiB segments at 04:00.
func newRetentionFixture(t *testing.T) *retentionFixture {
	f := &retentionFixture{clock: &fakeClock{now: time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)}, mono: &atomic.Int64{}, ratio: &atomic.Int64{}}
	f.ratio.Store(100)
	o := testOptions(t, nil)
	o.Now = f.clock.Now
	o.FileReservedTime = time.Hour
	o.DeleteWhen = 4
	o.CQEntriesPerFile = 16
	// Set once, before the store's goroutines start: tests steer it
	// through the fixture's atomics only.
	o.DiskUsedRatio = func() (float64, error) {
		if lim := f.recoverAfter.Load(); lim > 0 && f.calls.Add(1) > lim {
			return 0.5, nil
		}
		return float64(f.ratio.Load()) / 1000, nil
	}
	f.s = openStore(t, o)
	f.s.retention.mono = func() time.Duration { return time.Duration(f.mono.Load()) }
	for i := range 350 {
		f.puts = append(f.puts, mustPut(t, f.s, newRecord("T", 0, bodyOf(i)+strings.Repeat("r", 1000), map[string]string{message.PropertyKeys: "k"})))
	}
	waitDispatched(t, f.s)
	if n := len(f.s.cl.segmentsOverlapping(0, 1<<62)); n < 6 {
		t.Fatalf("only %d segments", n)
	}
	return f
}

func (f *retentionFixture) advance(wall, mono time.Duration) {
	f.clock.Add(wall)
	f.mono.Add(int64(mono))
}

func (f *retentionFixture) segments() int { return len(f.s.cl.segmentsOverlapping(0, 1<<62)) }

func TestRetentionByAge(t *testing.T) {
	f := newRetentionFixture(t)
	before := f.segments()
	if n, err := f.s.retention.clean(); err != nil || n != 0 {
		t.Fatalf("fresh data deleted: %d %v", n, err)
	}
	f.advance(2*time.Hour, 2*time.Hour) // 06:00: old enough, but not the delete hour
	if n, _ := f.s.retention.clean(); n != 0 {
		t.Fatalf("deleted outside DeleteWhen: %d", n)
	}
	f.advance(22*time.Hour, 22*time.Hour) // 04:00 next day
	n, err := f.s.retention.clean()
	if err != nil || n != before-1 || f.segments() != 1 {
		t.Fatalf("deleted %d of %d (left %d): %v", n, before, f.segments(), err)
	}
	minPhys := f.s.MinPhysicalOffset()
	minQ := f.s.MinOffset("T", 0)
	if minPhys == 0 || minQ == 0 || f.puts[minQ].PhysicalOffset < minPhys || f.puts[minQ-1].PhysicalOffset >= minPhys {
		t.Fatalf("min offsets: phys %d queue %d", minPhys, minQ)
	}
	res, _ := f.s.GetMessages("T", 0, 0, 32, 1<<20, nil)
	if res.Status != OffsetTooSmall || res.NextBeginOffset != minQ {
		t.Fatalf("pull below min: %v next %d", res.Status, res.NextBeginOffset)
	}
	if got := pullAll(t, f.s, "T", 0); int64(len(got)) != int64(len(f.puts))-minQ {
		t.Fatalf("readable after retention: %d", len(got))
	}
	names, _ := f.s.fs.ReadDir("/store/consumequeue/T/0")
	if int64(len(names)) > (int64(len(f.puts))-minQ)/16+2 {
		t.Fatalf("consume queue files not trimmed: %d", len(names))
	}
	mustPut(t, f.s, newRecord("T", 0, "still writable", nil))
}

func TestRetentionIgnoresWallClockJumps(t *testing.T) {
	f := newRetentionFixture(t)
	f.s.retention.clean()                // first look at the segments
	f.advance(72*time.Hour, time.Second) // wall clock +72h to 04:00, only 1s really passed
	if n, _ := f.s.retention.clean(); n != 0 {
		t.Fatalf("clock jump expired %d segments", n)
	}
	f.advance(-145*time.Hour, time.Second) // and backwards
	if n, _ := f.s.retention.clean(); n != 0 {
		t.Fatalf("backward jump expired %d segments", n)
	}
}

func TestRetentionByDiskRatio(t *testing.T) {
	f := newRetentionFixture(t)
	f.advance(3*time.Hour, 0) // 07:00: not the delete hour, data not old
	f.ratio.Store(990)        // disk nearly full and stays so
	n, err := f.s.retention.clean()
	if err != nil || n == 0 || f.segments() != 1 {
		t.Fatalf("forced clean deleted %d, %d left: %v", n, f.segments(), err)
	}
	last := f.puts[len(f.puts)-1]
	if f.s.MinPhysicalOffset() > last.PhysicalOffset {
		t.Fatal("active segment deleted")
	}
	if _, err := f.s.ReadRecord(last.PhysicalOffset); err != nil {
		t.Fatalf("newest record unreadable: %v", err)
	}
}

func TestRetentionStopsWhenDiskRecovers(t *testing.T) {
	f := newRetentionFixture(t)
	f.ratio.Store(800)
	f.calls.Store(0)
	f.recoverAfter.Store(2) // two deletions bring it under the limit
	if n, _ := f.s.retention.clean(); n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
}
