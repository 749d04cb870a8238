package store

import (
	"syscall"
	"time"
)

// retention deletes whole commitlog segments older than FileReservedTime
// at the DeleteWhen hour, or the oldest segments at once when the disk is
// fuller than DiskMaxUsedRatio; then ConsumeQueue and index files wholly
// below the new minimum offset. The active segment is never deleted, nor
// one the dispatcher has not finished.
//
// A segment's age is measured from the store time of the first record of
// the segment after it (an upper bound of its own last record). The age is
// read from the wall clock once, when retention first looks at a segment,
// and then advanced with the monotonic clock, so a wall-clock jump while
// running cannot expire data early (reliability plan S14).
type retention struct {
	s    *Store
	mono func() time.Duration // monotonic time since start; a seam for tests
	seen map[int64]ageObs     // by segment base
}

type ageObs struct {
	wallAge time.Duration // age by the wall clock when first seen
	at      time.Duration // mono() then
}

// maxDeletesPerPass bounds the work of one retention pass.
const maxDeletesPerPass = 10

func newRetention(s *Store) *retention {
	start := time.Now()
	return &retention{s: s, mono: func() time.Duration { return time.Since(start) }, seen: map[int64]ageObs{}}
}

func (r *retention) run(stop <-chan struct{}) {
	tick := time.NewTicker(r.s.opts.CleanInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := r.clean(); err != nil {
				r.s.log.Error("retention", "err", err)
			}
		}
	}
}

func (r *retention) diskRatio() float64 {
	f := r.s.opts.DiskUsedRatio
	if f == nil {
		f = func() (float64, error) { return statfsUsedRatio(r.s.opts.Dir) }
	}
	v, err := f()
	if err != nil {
		r.s.log.Warn("disk used ratio unavailable", "err", err)
		return 0
	}
	r.s.stats.diskRatioBits.Store(int64(v * 1e6))
	return v
}

// clean runs one retention pass and returns how many segments it deleted.
func (r *retention) clean() (int, error) {
	s := r.s
	now := s.opts.Now()
	force := r.diskRatio() > s.opts.DiskMaxUsedRatio
	timeUp := now.Hour() == s.opts.DeleteWhen
	deleted := 0
	for deleted < maxDeletesPerPass && (force || timeUp) {
		segs := s.cl.segmentsOverlapping(0, 1<<62)
		if len(segs) < 2 || segs[1].base > s.disp.dispatched.Load() {
			break
		}
		if !force && r.age(segs[0], segs[1], now) < s.opts.FileReservedTime {
			break
		}
		if _, err := s.cl.removeOldest(); err != nil {
			return deleted, err
		}
		delete(r.seen, segs[0].base)
		deleted++
		s.stats.segmentsDeleted.Add(1)
		s.log.Info("retention deleted segment", "base", segs[0].base, "forced", force)
		if force {
			force = r.diskRatio() > s.opts.DiskMaxUsedRatio
		}
	}
	if deleted > 0 {
		return deleted, r.trimAfterDelete()
	}
	return 0, nil
}

// age returns how old seg's newest record is.
func (r *retention) age(seg, next *segment, now time.Time) time.Duration {
	if o, ok := r.seen[seg.base]; ok {
		return o.wallAge + (r.mono() - o.at)
	}
	lastMs := seg.lastStoreMs.Load()
	if ts, err := r.s.storeTimestampAt(next.base); err == nil {
		lastMs = ts
	}
	if lastMs == 0 {
		return 0 // unknown: keep
	}
	wallAge := max(now.Sub(time.UnixMilli(lastMs)), 0)
	r.seen[seg.base] = ageObs{wallAge: wallAge, at: r.mono()}
	return wallAge
}

func (r *retention) trimAfterDelete() error {
	s := r.s
	minPhys := s.cl.minOffset()
	for _, cq := range s.queues.all() {
		if err := cq.removeFilesBelow(minPhys); err != nil {
			return err
		}
	}
	if s.index != nil {
		return s.index.removeBelow(minPhys)
	}
	return nil
}

// statfsUsedRatio is the used fraction of the file system holding dir.
func statfsUsedRatio(dir string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	return 1 - float64(st.Bavail)/float64(st.Blocks), nil
}
