package store

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// queueTable holds every ConsumeQueue, by topic then queue id. Two levels
// so a lookup by a topic held as []byte (m[string(b)]) does not allocate.
type queueTable struct {
	fs      vfs.FS
	root    string
	perFile int

	mu sync.RWMutex
	m  map[string]map[int32]*consumeQueue
}

func newQueueTable(fsys vfs.FS, root string, perFile int) *queueTable {
	return &queueTable{fs: fsys, root: root, perFile: perFile, m: map[string]map[int32]*consumeQueue{}}
}

// load opens consumequeue/<topic>/<qid>/ for every valid topic directory.
func (t *queueTable) load() error {
	topics, err := t.fs.ReadDir(t.root)
	if err != nil {
		return fmt.Errorf("list consume queues: %w", err)
	}
	for _, topic := range topics {
		if message.ValidateTopic(topic) != nil {
			continue
		}
		qids, err := t.fs.ReadDir(path.Join(t.root, topic))
		if err != nil {
			return fmt.Errorf("list consume queues of %s: %w", topic, err)
		}
		for _, q := range qids {
			qid, err := strconv.ParseInt(q, 10, 32)
			if err != nil || qid < 0 {
				continue
			}
			cq := newConsumeQueue(t.fs, t.root, topic, int32(qid), t.perFile)
			if err := cq.load(); err != nil {
				return err
			}
			t.put(cq)
		}
	}
	return nil
}

func (t *queueTable) put(cq *consumeQueue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	qs := t.m[cq.topic]
	if qs == nil {
		qs = map[int32]*consumeQueue{}
		t.m[cq.topic] = qs
	}
	qs[cq.qid] = cq
}

// get returns the queue or nil.
func (t *queueTable) get(topic string, qid int32) *consumeQueue {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[topic][qid]
}

// getBytes is get for a topic held as bytes, without allocating.
func (t *queueTable) getBytes(topic []byte, qid int32) *consumeQueue {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[string(topic)][qid]
}

// getOrCreate returns the queue, creating it in memory (its files appear
// on the first write).
func (t *queueTable) getOrCreate(topic []byte, qid int32) *consumeQueue {
	if cq := t.getBytes(topic, qid); cq != nil {
		return cq
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cq := t.m[string(topic)][qid]; cq != nil {
		return cq
	}
	cq := newConsumeQueue(t.fs, t.root, string(topic), qid, t.perFile)
	cq.dirsDirty.Store(true)
	qs := t.m[cq.topic]
	if qs == nil {
		qs = map[int32]*consumeQueue{}
		t.m[cq.topic] = qs
	}
	qs[qid] = cq
	return cq
}

// all returns every queue, sorted by topic and queue id.
func (t *queueTable) all() []*consumeQueue {
	t.mu.RLock()
	var out []*consumeQueue
	for _, qs := range t.m {
		for _, cq := range qs {
			out = append(out, cq)
		}
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b *consumeQueue) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.qid - b.qid)
	})
	return out
}

// deleteTopic closes and removes every queue of topic.
func (t *queueTable) deleteTopic(topic string) error {
	t.mu.Lock()
	qs := t.m[topic]
	delete(t.m, topic)
	t.mu.Unlock()
	var errs []error
	for _, cq := range qs {
		errs = append(errs, cq.close())
	}
	if err := t.fs.RemoveAll(path.Join(t.root, topic)); err != nil {
		errs = append(errs, fmt.Errorf("remove consume queues of %s: %w", topic, err))
	}
	if err := t.fs.SyncDir(t.root); err != nil {
		errs = append(errs, fmt.Errorf("sync consume queue root: %w", err))
	}
	return errors.Join(errs...)
}

// flush syncs every queue.
func (t *queueTable) flush() error {
	var errs []error
	for _, cq := range t.all() {
		if err := cq.flush(t.root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *queueTable) close() error {
	var errs []error
	for _, cq := range t.all() {
		errs = append(errs, cq.close())
	}
	return errors.Join(errs...)
}
