package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/internal/fsutil"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// offsetStore holds a consumer group's committed offsets: in memory, and
// persisted to the broker (clustering) or a local file (broadcasting).
type offsetStore interface {
	// read loads the persisted offset of mq into memory and returns it, or
	// -1 when there is none.
	read(ctx context.Context, mq MessageQueue) (int64, error)
	// get returns the in-memory offset of mq.
	get(mq MessageQueue) (int64, bool)
	// update sets the in-memory offset; with increaseOnly it never moves
	// back.
	update(mq MessageQueue, offset int64, increaseOnly bool)
	// persist writes the in-memory offsets of mqs.
	persist(ctx context.Context, mqs []MessageQueue) error
	// remove forgets mq (after its offset was persisted).
	remove(mq MessageQueue)
}

// memOffsets is the in-memory part shared by both stores.
type memOffsets struct {
	mu    sync.Mutex
	table map[MessageQueue]int64
	saved map[MessageQueue]int64 // last value persisted
}

func newMemOffsets() memOffsets {
	return memOffsets{table: make(map[MessageQueue]int64), saved: make(map[MessageQueue]int64)}
}

func (m *memOffsets) get(mq MessageQueue) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.table[mq]
	return v, ok
}

func (m *memOffsets) update(mq MessageQueue, offset int64, increaseOnly bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.table[mq]; ok && increaseOnly && cur >= offset {
		return
	}
	m.table[mq] = offset
}

func (m *memOffsets) remove(mq MessageQueue) {
	m.mu.Lock()
	delete(m.table, mq)
	delete(m.saved, mq)
	m.mu.Unlock()
}

// remoteOffsets persists to the master of each queue's broker
// (QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET).
type remoteOffsets struct {
	memOffsets
	cl    *Client
	group string
}

func newRemoteOffsets(cl *Client, group string) *remoteOffsets {
	return &remoteOffsets{memOffsets: newMemOffsets(), cl: cl, group: group}
}

func (r *remoteOffsets) read(ctx context.Context, mq MessageQueue) (int64, error) {
	off, err := r.cl.queryConsumerOffset(ctx, r.group, mq)
	if errors.Is(err, ErrOffsetNotFound) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.table[mq], r.saved[mq] = off, off
	r.mu.Unlock()
	return off, nil
}

func (r *remoteOffsets) persist(ctx context.Context, mqs []MessageQueue) error {
	var errs []error
	for _, mq := range mqs {
		r.mu.Lock()
		off, ok := r.table[mq]
		saved, wasSaved := r.saved[mq]
		r.mu.Unlock()
		if !ok || (wasSaved && saved == off) {
			continue
		}
		if err := r.cl.updateConsumerOffset(ctx, r.group, mq, off); err != nil {
			errs = append(errs, err)
			continue
		}
		r.mu.Lock()
		r.saved[mq] = off
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// queryConsumerOffset asks the queue's master (a slave while the master is
// down) for a group's committed offset; ErrOffsetNotFound when it has none.
func (c *Client) queryConsumerOffset(ctx context.Context, group string, mq MessageQueue) (int64, error) {
	addr, err := c.memberOf(ctx, mq)
	if err != nil {
		return 0, err
	}
	h := protocol.QueueHeader{ConsumerGroup: group, Topic: mq.Topic, QueueID: mq.QueueID, BrokerName: mq.BrokerName}
	req := remoting.NewRequest(protocol.QueryConsumerOffset, queueFields(h), nil)
	resp, err := c.call(ctx, "query consumer offset of "+mq.String(), addr, req)
	if err != nil {
		return 0, err
	}
	return parseOffsetField(resp, "query consumer offset of "+mq.String())
}

// updateConsumerOffset commits a group's offset of mq on its master, or on
// a slave while the master is down (the slave hands it back to the master
// when it returns).
func (c *Client) updateConsumerOffset(ctx context.Context, group string, mq MessageQueue, offset int64) error {
	addr, err := c.memberOf(ctx, mq)
	if err != nil {
		return err
	}
	h := protocol.QueueHeader{ConsumerGroup: group, Topic: mq.Topic, QueueID: mq.QueueID, CommitOffset: offset, BrokerName: mq.BrokerName}
	req := remoting.NewRequest(protocol.UpdateConsumerOffset, h.Fields(), nil)
	_, err = c.call(ctx, "update consumer offset of "+mq.String(), addr, req)
	return err
}

// queueFields encodes a queue header without the unused commitOffset and
// timestamp fields.
func queueFields(h protocol.QueueHeader) remoting.Fields {
	f := make(remoting.Fields, 0, 5)
	if h.ConsumerGroup != "" {
		f = append(f, remoting.Field{Key: "consumerGroup", Value: h.ConsumerGroup})
	}
	return append(f, remoting.Field{Key: "topic", Value: h.Topic},
		remoting.Field{Key: "queueId", Value: strconv.Itoa(int(h.QueueID))},
		remoting.Field{Key: "bname", Value: h.BrokerName})
}

func parseOffsetField(resp *remoting.Command, op string) (int64, error) {
	v, err := protocol.ParseInt64Field(resp.ExtFields, "offset")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return v, nil
}

// masterOf returns the master address of mq's broker, fetching the
// topic's route when the broker is not known yet.
func (c *Client) masterOf(ctx context.Context, mq MessageQueue) (string, error) {
	if a := c.routes.masterAddr(mq.BrokerName); a != "" {
		return a, nil
	}
	if _, err := c.routes.forConsumer(ctx, mq.Topic); err != nil {
		return "", err
	}
	if a := c.routes.masterAddr(mq.BrokerName); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("broker %s has no master: %w", mq.BrokerName, ErrNoRoute)
}

// memberOf returns the master of mq's broker set, or while it has none in
// the route, a slave: offsets and queue bounds are served by both.
func (c *Client) memberOf(ctx context.Context, mq MessageQueue) (string, error) {
	if a, _ := c.routes.subscribeAddr(mq.BrokerName, protocol.MasterID); a != "" {
		return a, nil
	}
	if _, err := c.routes.forConsumer(ctx, mq.Topic); err != nil {
		return "", err
	}
	if a, _ := c.routes.subscribeAddr(mq.BrokerName, protocol.MasterID); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("broker %s unknown: %w", mq.BrokerName, ErrNoRoute)
}

// localOffsets persists to a JSON file (broadcasting: every consumer keeps
// its own position), replaced atomically (tmp, fsync, rename).
type localOffsets struct {
	memOffsets
	path string
	once sync.Once
	err  error
}

type localOffsetFile struct {
	Offsets []localOffset `json:"offsets"`
}

type localOffset struct {
	MessageQueue
	Offset int64 `json:"offset"`
}

func newLocalOffsets(dir, group string) *localOffsets {
	return &localOffsets{memOffsets: newMemOffsets(), path: filepath.Join(dir, group, "offsets.json")}
}

func (l *localOffsets) load() error {
	l.once.Do(func() {
		b, err := os.ReadFile(l.path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			l.err = fmt.Errorf("read offsets: %w", err)
			return
		}
		var f localOffsetFile
		if err := json.Unmarshal(b, &f); err != nil {
			l.err = fmt.Errorf("decode offsets %s: %w", l.path, err)
			return
		}
		l.mu.Lock()
		for _, o := range f.Offsets {
			l.table[o.MessageQueue], l.saved[o.MessageQueue] = o.Offset, o.Offset
		}
		l.mu.Unlock()
	})
	return l.err
}

func (l *localOffsets) read(_ context.Context, mq MessageQueue) (int64, error) {
	if err := l.load(); err != nil {
		return 0, err
	}
	if v, ok := l.get(mq); ok {
		return v, nil
	}
	return -1, nil
}

// persist writes every known offset: the file is the whole table.
func (l *localOffsets) persist(_ context.Context, _ []MessageQueue) error {
	if err := l.load(); err != nil {
		return err
	}
	l.mu.Lock()
	var f localOffsetFile
	changed := false
	for mq, off := range l.table {
		f.Offsets = append(f.Offsets, localOffset{MessageQueue: mq, Offset: off})
		if s, ok := l.saved[mq]; !ok || s != off {
			changed = true
		}
	}
	l.mu.Unlock()
	if !changed {
		return nil
	}
	sortLocal(f.Offsets)
	b, _ := json.MarshalIndent(f, "", "  ")
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("persist offsets: %w", err)
	}
	if err := fsutil.WriteFileAtomic(l.path, b, 0o644); err != nil {
		return fmt.Errorf("persist offsets: %w", err)
	}
	l.mu.Lock()
	for _, o := range f.Offsets {
		l.saved[o.MessageQueue] = o.Offset
	}
	l.mu.Unlock()
	return nil
}

// remove keeps the queue in the file: a broadcasting consumer resumes from
// it if the queue comes back.
func (l *localOffsets) remove(MessageQueue) {}

func sortLocal(o []localOffset) {
	slices.SortFunc(o, func(a, b localOffset) int { return compareQueues(a.MessageQueue, b.MessageQueue) })
}
