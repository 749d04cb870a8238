package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/fsutil"
)

// OffsetTable holds committed consumer offsets ("next message to consume")
// per topic, group and queue, persisted to config/consumerOffset.json in
// Apache RocketMQ's format: {"offsetTable":{"topic@group":{"0":12}}}.
// Commits go to memory; Flush persists them (periodically and on close).
type OffsetTable struct {
	path string

	pmu   sync.Mutex // serializes Flush
	mu    sync.RWMutex
	table map[string]map[int32]int64
	dirty bool
}

type offsetFile struct {
	OffsetTable map[string]map[string]int64 `json:"offsetTable"`
}

func offsetKey(topic, group string) string { return topic + "@" + group }

func loadOffsetTable(path string) (*OffsetTable, error) {
	t := &OffsetTable{path: path, table: make(map[string]map[int32]int64)}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read consumer offsets: %w", err)
	}
	var f offsetFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse consumer offsets %s: %w", path, err)
	}
	for key, queues := range f.OffsetTable {
		if !strings.Contains(key, "@") {
			return nil, fmt.Errorf("consumer offsets %s: key %q is not topic@group", path, key)
		}
		m := make(map[int32]int64, len(queues))
		for q, off := range queues {
			qid, err := strconv.ParseInt(q, 10, 32)
			if err != nil || qid < 0 || off < 0 {
				return nil, fmt.Errorf("consumer offsets %s: bad entry %s[%s]=%d", path, key, q, off)
			}
			m[int32(qid)] = off
		}
		t.table[key] = m
	}
	return t, nil
}

// Get returns the committed offset of a queue for group.
func (t *OffsetTable) Get(topic, group string, queueID int32) (int64, bool) {
	t.mu.RLock()
	off, ok := t.table[offsetKey(topic, group)][queueID]
	t.mu.RUnlock()
	return off, ok
}

// Commit records offset as group's next offset of a queue.
func (t *OffsetTable) Commit(topic, group string, queueID int32, offset int64) {
	key := offsetKey(topic, group)
	t.mu.Lock()
	m := t.table[key]
	if m == nil {
		m = make(map[int32]int64)
		t.table[key] = m
	}
	if old, ok := m[queueID]; !ok || old != offset {
		m[queueID] = offset
		t.dirty = true
	}
	t.mu.Unlock()
}

// Queues returns group's committed offsets of every queue of topic.
func (t *OffsetTable) Queues(topic, group string) map[int32]int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	src := t.table[offsetKey(topic, group)]
	out := make(map[int32]int64, len(src))
	for q, o := range src {
		out[q] = o
	}
	return out
}

// DeleteTopic forgets every group's offsets of topic.
func (t *OffsetTable) DeleteTopic(topic string) {
	t.mu.Lock()
	for key := range t.table {
		if strings.HasPrefix(key, topic+"@") {
			delete(t.table, key)
			t.dirty = true
		}
	}
	t.mu.Unlock()
}

// committedOffset is one committed offset.
type committedOffset struct {
	topic, group string
	queueID      int32
	offset       int64
}

// MergeMax takes every offset of another broker's table (GET_ALL_CONSUMER
// _OFFSET's body) that is ahead of this one's, so copying a master's offsets
// to a slave never moves one back (RocketMQ #1094). It returns the offsets
// where this table is ahead, which a slave reports back to its master.
func (t *OffsetTable) MergeMax(body []byte) ([]committedOffset, error) {
	var f offsetFile
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("parse consumer offsets: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var ahead []committedOffset
	for key, queues := range f.OffsetTable {
		if !strings.Contains(key, "@") {
			continue
		}
		local := t.table[key]
		if local == nil {
			local = make(map[int32]int64)
			t.table[key] = local
		}
		for q, off := range queues {
			qid, err := strconv.ParseInt(q, 10, 32)
			if err != nil || off < 0 {
				continue
			}
			if cur, ok := local[int32(qid)]; !ok || off > cur {
				local[int32(qid)] = off
				t.dirty = true
			}
		}
	}
	for key, queues := range t.table {
		topic, group, _ := strings.Cut(key, "@")
		theirs := f.OffsetTable[key]
		for qid, off := range queues {
			if other, ok := theirs[strconv.Itoa(int(qid))]; !ok || off > other {
				ahead = append(ahead, committedOffset{topic: topic, group: group, queueID: qid, offset: off})
			}
		}
	}
	return ahead, nil
}

// Encode returns the table in its file format (also the body of
// GET_ALL_CONSUMER_OFFSET, which slaves copy).
func (t *OffsetTable) Encode() []byte {
	t.mu.RLock()
	f := offsetFile{OffsetTable: make(map[string]map[string]int64, len(t.table))}
	for key, queues := range t.table {
		m := make(map[string]int64, len(queues))
		for q, o := range queues {
			m[strconv.Itoa(int(q))] = o
		}
		f.OffsetTable[key] = m
	}
	t.mu.RUnlock()
	data, _ := json.Marshal(f)
	return data
}

// Flush persists the table if it changed since the last flush.
func (t *OffsetTable) Flush() error {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	t.mu.Lock()
	dirty := t.dirty
	t.dirty = false
	t.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := fsutil.WriteFileAtomic(t.path, t.Encode(), 0o644); err != nil {
		t.mu.Lock()
		t.dirty = true
		t.mu.Unlock()
		return fmt.Errorf("persist consumer offsets: %w", err)
	}
	return nil
}
