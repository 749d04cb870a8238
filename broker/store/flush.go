package store

import (
	"sync"
	"time"
)

// flusher is the one goroutine that fdatasyncs the commitlog.
//
// FlushSync: group commit. WaitDurable queues (end, done) and kicks the
// flusher; each pass syncs everything written so far, so one fdatasync
// covers every request queued while the previous one ran and batches grow
// with load. Requests are completed on the flusher goroutine; callbacks
// must not block.
//
// FlushAsync: every FlushInterval, sync if at least FlushLeastPages pages
// are dirty or FlushThoroughInterval has passed since the last sync.
type flusher struct {
	s    *Store
	kick chan struct{}

	mu      sync.Mutex
	waiters []durableWaiter
	spare   []durableWaiter // reused slice, so a pass allocates nothing
	stopped bool            // set by failAll: no waiter may be queued after it
}

type durableWaiter struct {
	end      int64
	deadline time.Time
	done     func(error)
}

func newFlusher(s *Store) *flusher {
	return &flusher{s: s, kick: make(chan struct{}, 1)}
}

// wait registers done to run once end is durable. It never blocks.
func (f *flusher) wait(end int64, done func(error)) {
	cl := f.s.cl
	if cl.flushed.Load() >= end {
		done(nil)
		return
	}
	if e := cl.failed.Load(); e != nil {
		done(cl.checkWritable())
		return
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		if cl.flushed.Load() >= end {
			done(nil)
		} else {
			done(ErrClosed)
		}
		return
	}
	f.waiters = append(f.waiters, durableWaiter{end: end, deadline: time.Now().Add(f.s.opts.SyncFlushTimeout), done: done})
	f.mu.Unlock()
	f.signal()
}

func (f *flusher) signal() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// runSync is the FlushSync loop.
func (f *flusher) runSync(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-f.kick:
			f.syncPass()
		}
	}
}

// runReaper answers timed-out requests. It is separate from runSync so a
// stuck fdatasync cannot delay FLUSH_DISK_TIMEOUT answers.
func (f *flusher) runReaper(stop <-chan struct{}) {
	tick := time.NewTicker(max(min(f.s.opts.SyncFlushTimeout/10, 100*time.Millisecond), time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			f.complete(nil)
		}
	}
}

func (f *flusher) syncPass() {
	target := f.s.cl.end.Load()
	var err error
	if target > f.s.cl.flushed.Load() {
		err = f.s.syncCommitLog(target)
	}
	f.complete(err)
}

// complete answers every waiter that is durable, failed or timed out.
func (f *flusher) complete(err error) {
	flushed := f.s.cl.flushed.Load()
	now := time.Now()
	f.mu.Lock()
	keep := f.spare[:0]
	var doneNow []durableWaiter
	for _, w := range f.waiters {
		if w.end <= flushed || err != nil || now.After(w.deadline) {
			doneNow = append(doneNow, w)
		} else {
			keep = append(keep, w)
		}
	}
	f.spare = f.waiters[:0]
	f.waiters = keep
	f.mu.Unlock()
	if len(doneNow) == 0 {
		return
	}
	// Callbacks run here, on the flusher: they must not block (WaitDurable
	// says so), and answering in place saves a goroutine hand-off — tens of
	// microseconds on a VM — on every acknowledgement.
	for _, w := range doneNow {
		switch {
		case w.end <= flushed:
			w.done(nil)
		case err != nil:
			w.done(err)
		default:
			f.s.stats.flushTimeouts.Add(1)
			w.done(ErrFlushTimeout)
		}
	}
}

// runAsync is the FlushAsync loop.
func (f *flusher) runAsync(stop <-chan struct{}) {
	o := f.s.opts
	tick := time.NewTicker(o.FlushInterval)
	defer tick.Stop()
	lastThorough := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		cl := f.s.cl
		end, flushed := cl.end.Load(), cl.flushed.Load()
		thorough := time.Since(lastThorough) >= o.FlushThoroughInterval
		if end > flushed && (thorough || end-flushed >= int64(o.FlushLeastPages)*4096) {
			if err := f.s.syncCommitLog(end); err != nil {
				f.s.log.Error("async flush failed", "err", err)
			}
			lastThorough = time.Now()
		}
	}
}

// failAll answers every queued waiter, with err unless already durable,
// and makes later waits answer at once (on close).
func (f *flusher) failAll(err error) {
	f.mu.Lock()
	ws := f.waiters
	f.waiters = nil
	f.stopped = true
	f.mu.Unlock()
	flushed := f.s.cl.flushed.Load()
	for _, w := range ws {
		if w.end <= flushed {
			w.done(nil)
		} else {
			w.done(err)
		}
	}
}
