package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/internal/fsutil"
	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
)

// scheduleQueueNums is SCHEDULE_TOPIC_XXXX's queue count: one per delay level.
const scheduleQueueNums = int32(message.MaxDelayLevel)

// TopicTable is the broker's topic configuration, persisted to
// config/topics.json in Apache RocketMQ's format. Every change bumps the
// data version and calls onChange so NameServers learn it at once.
type TopicTable struct {
	path     string
	now      func() int64
	onChange func()

	pmu     sync.Mutex // serializes persisting, so an older table never overwrites a newer one
	mu      sync.RWMutex
	topics  map[string]protocol.TopicConfig
	version protocol.DataVersion
}

func loadTopicTable(path string, now func() int64) (*TopicTable, error) {
	t := &TopicTable{path: path, now: now, topics: make(map[string]protocol.TopicConfig)}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read topic table: %w", err)
	default:
		var w protocol.TopicConfigWrapper
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("parse topic table %s: %w", path, err)
		}
		for name, cfg := range w.TopicConfigTable {
			if err := message.ValidateTopic(name); err != nil {
				return nil, fmt.Errorf("topic table %s: %w", path, err)
			}
			cfg.TopicName = name
			t.topics[name] = cfg
		}
		t.version = w.DataVersion
	}
	return t, nil
}

func newTopicConfig(name string, queues, perm int32) protocol.TopicConfig {
	return protocol.TopicConfig{
		TopicName: name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: perm,
		TopicFilterType: "SINGLE_TAG", Attributes: map[string]string{},
	}
}

// ensureSystemTopics installs the topics every broker has: TBW102 when
// auto-creation is on (and removes it when off, so no NameServer advertises
// it) and the schedule topic of delayed messages.
func (t *TopicTable) ensureSystemTopics(autoCreate bool, defaultQueues int32) error {
	t.mu.Lock()
	if autoCreate {
		t.topics[message.TopicDefault] = newTopicConfig(message.TopicDefault, defaultQueues, protocol.PermReadWrite|protocol.PermInherit)
	} else {
		delete(t.topics, message.TopicDefault)
	}
	if _, ok := t.topics[message.TopicSchedule]; !ok {
		t.topics[message.TopicSchedule] = newTopicConfig(message.TopicSchedule, scheduleQueueNums, protocol.PermReadWrite)
	}
	t.mu.Unlock()
	return t.changed()
}

// Get returns a topic's configuration.
func (t *TopicTable) Get(name string) (protocol.TopicConfig, bool) {
	t.mu.RLock()
	cfg, ok := t.topics[name]
	t.mu.RUnlock()
	return cfg, ok
}

// Put creates or replaces a topic and persists the table.
func (t *TopicTable) Put(cfg protocol.TopicConfig) error {
	if err := message.ValidateTopic(cfg.TopicName); err != nil {
		return err
	}
	if cfg.Attributes == nil {
		cfg.Attributes = map[string]string{}
	}
	t.mu.Lock()
	t.topics[cfg.TopicName] = cfg
	t.mu.Unlock()
	return t.changed()
}

// Delete removes a topic and persists the table. It reports whether the
// topic existed.
func (t *TopicTable) Delete(name string) (bool, error) {
	t.mu.Lock()
	_, ok := t.topics[name]
	delete(t.topics, name)
	t.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, t.changed()
}

// CreateOnSend creates topic the first time a client sends to it, inheriting
// from defaultTopic (TBW102) as Apache RocketMQ does: only when that topic
// exists here with the INHERIT permission. The new topic gets
// min(queueNums, the default topic's write queues) queues and read/write
// permission.
func (t *TopicTable) CreateOnSend(topic, defaultTopic string, queueNums int32) (protocol.TopicConfig, bool, error) {
	t.mu.Lock()
	if cfg, ok := t.topics[topic]; ok {
		t.mu.Unlock()
		return cfg, true, nil
	}
	def, ok := t.topics[defaultTopic]
	if !ok || def.Perm&protocol.PermInherit == 0 {
		t.mu.Unlock()
		return protocol.TopicConfig{}, false, nil
	}
	queues := min(max(queueNums, 1), def.WriteQueueNums)
	cfg := newTopicConfig(topic, queues, def.Perm&^protocol.PermInherit)
	t.topics[topic] = cfg
	t.mu.Unlock()
	return cfg, true, t.changed()
}

// Ensure returns topic, creating it with queues and perm when missing; the
// broker uses it for retry and dead-letter topics.
func (t *TopicTable) Ensure(topic string, queues, perm int32) (protocol.TopicConfig, error) {
	t.mu.Lock()
	if cfg, ok := t.topics[topic]; ok {
		t.mu.Unlock()
		return cfg, nil
	}
	cfg := newTopicConfig(topic, queues, perm)
	t.topics[topic] = cfg
	t.mu.Unlock()
	return cfg, t.changed()
}

// Replace makes the table a copy of a master's (slaves call it), keeping
// nothing of its own. It reports whether anything changed.
func (t *TopicTable) Replace(w protocol.TopicConfigWrapper) (bool, error) {
	t.mu.Lock()
	if w.DataVersion == t.version && len(w.TopicConfigTable) == len(t.topics) {
		t.mu.Unlock()
		return false, nil
	}
	topics := make(map[string]protocol.TopicConfig, len(w.TopicConfigTable))
	for name, cfg := range w.TopicConfigTable {
		if message.ValidateTopic(name) != nil {
			continue
		}
		cfg.TopicName = name
		topics[name] = cfg
	}
	t.topics = topics
	t.mu.Unlock()
	if err := t.changed(); err != nil {
		return true, err
	}
	t.mu.Lock()
	t.version = w.DataVersion // after changed(), which bumps it: mirror the master's
	t.mu.Unlock()
	return true, nil
}

// Version is the table's data version.
func (t *TopicTable) Version() protocol.DataVersion {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.version
}

// Names returns the topic names, sorted.
func (t *TopicTable) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Sorted(maps.Keys(t.topics))
}

// Snapshot returns the table as it is registered with NameServers.
func (t *TopicTable) Snapshot() protocol.TopicConfigWrapper {
	t.mu.RLock()
	defer t.mu.RUnlock()
	table := make(map[string]protocol.TopicConfig, len(t.topics))
	for n, c := range t.topics {
		table[n] = c
	}
	return protocol.TopicConfigWrapper{TopicConfigTable: table, DataVersion: t.version}
}

// changed bumps the data version, persists the table and notifies.
func (t *TopicTable) changed() error {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	t.mu.Lock()
	t.version.Counter++
	t.version.Timestamp = t.now()
	data, err := json.MarshalIndent(protocol.TopicConfigWrapper{TopicConfigTable: t.topics, DataVersion: t.version}, "", "  ")
	t.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode topic table: %w", err)
	}
	if err := fsutil.WriteFileAtomic(t.path, data, 0o644); err != nil {
		return fmt.Errorf("persist topic table: %w", err)
	}
	if t.onChange != nil {
		t.onChange()
	}
	return nil
}
