package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/fsutil"
)

// GroupConfig is a consumer (subscription) group's configuration, as Apache
// RocketMQ's SubscriptionGroupConfig.
type GroupConfig struct {
	GroupName                      string `json:"groupName"`
	ConsumeEnable                  bool   `json:"consumeEnable"`
	ConsumeFromMinEnable           bool   `json:"consumeFromMinEnable"`
	ConsumeBroadcastEnable         bool   `json:"consumeBroadcastEnable"`
	RetryQueueNums                 int32  `json:"retryQueueNums"`
	RetryMaxTimes                  int32  `json:"retryMaxTimes"`
	BrokerID                       int64  `json:"brokerId"`
	WhichBrokerWhenConsumeSlowly   int64  `json:"whichBrokerWhenConsumeSlowly"`
	NotifyConsumerIdsChangedEnable bool   `json:"notifyConsumerIdsChangedEnable"`
}

func newGroupConfig(name string, retryMax int32) GroupConfig {
	return GroupConfig{
		GroupName: name, ConsumeEnable: true, ConsumeFromMinEnable: true, ConsumeBroadcastEnable: true,
		RetryQueueNums: 1, RetryMaxTimes: retryMax, WhichBrokerWhenConsumeSlowly: 1,
		NotifyConsumerIdsChangedEnable: true,
	}
}

// GroupTable holds consumer group configurations, persisted to
// config/subscriptionGroup.json.
type GroupTable struct {
	path string

	pmu     sync.Mutex
	mu      sync.RWMutex
	groups  map[string]GroupConfig
	version atomic.Int64 // bumped on every change; slaves watch it
}

// Version counts the table's changes since the broker started.
func (t *GroupTable) Version() int64 { return t.version.Load() }

type groupFile struct {
	SubscriptionGroupTable map[string]GroupConfig `json:"subscriptionGroupTable"`
}

func loadGroupTable(path string) (*GroupTable, error) {
	t := &GroupTable{path: path, groups: make(map[string]GroupConfig)}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read subscription groups: %w", err)
	}
	var f groupFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse subscription groups %s: %w", path, err)
	}
	for name, g := range f.SubscriptionGroupTable {
		g.GroupName = name
		t.groups[name] = g
	}
	return t, nil
}

// Get returns a group's configuration.
func (t *GroupTable) Get(name string) (GroupConfig, bool) {
	t.mu.RLock()
	g, ok := t.groups[name]
	t.mu.RUnlock()
	return g, ok
}

// Ensure returns the group, creating it with defaults when create is set.
func (t *GroupTable) Ensure(name string, create bool, retryMax int32) (GroupConfig, bool, error) {
	if g, ok := t.Get(name); ok || !create {
		return g, ok, nil
	}
	if !validGroupName(name) {
		return GroupConfig{}, false, fmt.Errorf("consumer group name %q is invalid", name)
	}
	t.mu.Lock()
	g, ok := t.groups[name]
	if !ok {
		g = newGroupConfig(name, retryMax)
		t.groups[name] = g
	}
	t.mu.Unlock()
	if ok {
		return g, true, nil
	}
	t.version.Add(1)
	return g, true, t.persist()
}

// Put creates or replaces a group.
func (t *GroupTable) Put(g GroupConfig) error {
	if !validGroupName(g.GroupName) {
		return fmt.Errorf("consumer group name %q is invalid", g.GroupName)
	}
	t.mu.Lock()
	t.groups[g.GroupName] = g
	t.mu.Unlock()
	t.version.Add(1)
	return t.persist()
}

// Replace makes the table a copy of a master's (slaves call it).
func (t *GroupTable) Replace(groups map[string]GroupConfig) error {
	t.mu.Lock()
	t.groups = make(map[string]GroupConfig, len(groups))
	for name, g := range groups {
		if validGroupName(name) {
			g.GroupName = name
			t.groups[name] = g
		}
	}
	t.mu.Unlock()
	t.version.Add(1)
	return t.persist()
}

// decodeGroups parses GET_ALL_SUBSCRIPTIONGROUP_CONFIG's body.
func decodeGroups(body []byte) (map[string]GroupConfig, error) {
	var f groupFile
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("parse subscription groups: %w", err)
	}
	return f.SubscriptionGroupTable, nil
}

// Names returns the group names, sorted.
func (t *GroupTable) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Sorted(maps.Keys(t.groups))
}

// Encode returns the table in its file format.
func (t *GroupTable) Encode() []byte {
	t.mu.RLock()
	data, _ := json.MarshalIndent(groupFile{SubscriptionGroupTable: t.groups}, "", "  ")
	t.mu.RUnlock()
	return data
}

func (t *GroupTable) persist() error {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	if err := fsutil.WriteFileAtomic(t.path, t.Encode(), 0o644); err != nil {
		return fmt.Errorf("persist subscription groups: %w", err)
	}
	return nil
}

// validGroupName accepts what may follow %RETRY% in a topic name.
func validGroupName(s string) bool {
	if s == "" || len(s) > 120 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '%' || c == '|' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
