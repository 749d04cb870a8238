package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/fsutil"
	"github.com/sluicehq/sluice/internal/message"
)

// delayTick is how often due delayed messages are looked for; delay levels
// start at one second.
const delayTick = 100 * time.Millisecond

// delayService moves delayed messages (retries included) from
// SCHEDULE_TOPIC_XXXX back to their real topic and queue when due. Each
// delay level is one queue whose messages are due in store order, so a
// level is scanned from its saved offset until the first message not yet
// due. Offsets persist to config/delayOffset.json; a crash may deliver a
// message twice, never lose it.
type delayService struct {
	b    *Broker
	path string

	mu      sync.Mutex
	offsets map[int]int64 // level → next queue offset
	dirty   bool
}

type delayFile struct {
	OffsetTable map[string]int64 `json:"offsetTable"`
}

func newDelayService(b *Broker, path string) *delayService {
	return &delayService{b: b, path: path, offsets: make(map[int]int64)}
}

func (d *delayService) load() error {
	data, err := os.ReadFile(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read delay offsets: %w", err)
	}
	var f delayFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("parse delay offsets %s: %w", d.path, err)
	}
	for k, off := range f.OffsetTable {
		level, err := strconv.Atoi(k)
		if err != nil || level < 1 || level > message.MaxDelayLevel || off < 0 {
			return fmt.Errorf("delay offsets %s: bad entry %q=%d", d.path, k, off)
		}
		d.offsets[level] = off
	}
	return nil
}

func (d *delayService) encode() []byte {
	d.mu.Lock()
	f := delayFile{OffsetTable: make(map[string]int64, len(d.offsets))}
	for level, off := range d.offsets {
		f.OffsetTable[strconv.Itoa(level)] = off
	}
	d.mu.Unlock()
	data, _ := json.Marshal(f)
	return data
}

func (d *delayService) flush() error {
	d.mu.Lock()
	dirty := d.dirty
	d.dirty = false
	d.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := fsutil.WriteFileAtomic(d.path, d.encode(), 0o644); err != nil {
		d.mu.Lock()
		d.dirty = true
		d.mu.Unlock()
		return fmt.Errorf("persist delay offsets: %w", err)
	}
	return nil
}

func (d *delayService) run() {
	if !d.b.isMaster() {
		return
	}
	t := time.NewTicker(delayTick)
	defer t.Stop()
	for {
		select {
		case <-d.b.done:
			return
		case <-t.C:
			for level := 1; level <= message.MaxDelayLevel; level++ {
				if err := d.deliverDue(level); err != nil {
					d.b.logger.Error("deliver delayed messages", "level", level, "err", err)
				}
			}
		}
	}
}

// deliverDue re-puts the due messages of one level.
func (d *delayService) deliverDue(level int) error {
	delay, _ := message.DelayLevelDuration(level)
	d.mu.Lock()
	off := d.offsets[level]
	d.mu.Unlock()
	res, err := d.b.store.GetMessages(message.TopicSchedule, int32(level-1), off, 64, 1<<20, nil)
	if err != nil {
		return err
	}
	if res.Status != store.Found {
		if res.NextBeginOffset > off && res.Status != store.OffsetOverflowOne {
			d.advance(level, res.NextBeginOffset) // the queue's head was removed by retention
		}
		return nil
	}
	now := d.b.opts.Now().UnixMilli()
	next, last := off, int64(-1)
	for body := res.Body; len(body) > 0; {
		rec, n, err := message.DecodeRecord(body, false)
		if err != nil {
			return fmt.Errorf("decode schedule record at queue offset %d: %w", next, err)
		}
		body = body[n:]
		if rec.StoreTimestamp+delay.Milliseconds() > now {
			break
		}
		if end, err := d.redeliver(rec); err != nil {
			return err
		} else if end > last {
			last = end
		}
		next = rec.QueueOffset + 1
	}
	if last >= 0 {
		if err := d.b.waitDurable(last); err != nil {
			return fmt.Errorf("flush redelivered messages: %w", err)
		}
	}
	d.advance(level, next)
	return nil
}

func (d *delayService) advance(level int, off int64) {
	d.mu.Lock()
	if off > d.offsets[level] {
		d.offsets[level] = off
		d.dirty = true
	}
	d.mu.Unlock()
}

// redeliver stores a due message under its real topic and queue and returns
// the log end after it. A message whose real topic is gone is logged and
// dropped: there is nowhere left to deliver it.
func (d *delayService) redeliver(rec message.Record) (int64, error) {
	topic, _ := message.LookupProperty(rec.Properties, message.PropertyRealTopic)
	qid, _ := message.LookupProperty(rec.Properties, message.PropertyRealQueueID)
	queueID, err := strconv.ParseInt(string(qid), 10, 32)
	if _, ok := d.b.topics.Get(string(topic)); !ok || err != nil || queueID < 0 {
		d.b.logger.Error("dropping delayed message without a valid real topic", "real_topic", string(topic),
			"real_queue", string(qid), "schedule_offset", rec.PhysicalOffset)
		return -1, nil
	}
	out := &message.Record{
		Topic: string(topic), QueueID: int32(queueID), Flag: rec.Flag, SysFlag: rec.SysFlag,
		BornTimestamp: rec.BornTimestamp, BornHost: rec.BornHost, StoreHost: d.b.storeHost,
		ReconsumeTimes: rec.ReconsumeTimes, Body: rec.Body,
		Properties: removeProperties(rec.Properties, message.PropertyDelayLevel, message.PropertyRealTopic, message.PropertyRealQueueID),
	}
	res, err := d.b.store.PutMessage(out)
	if err != nil {
		return -1, fmt.Errorf("redeliver to %s: %w", topic, err)
	}
	d.b.appended()
	return res.End, nil
}
