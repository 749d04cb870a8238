package store

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/message"
)

// dispatcher tails the commitlog up to ConfirmedOffset and writes the
// ConsumeQueue and index entries of each record (RocketMQ's
// ReputMessageService). CQ entries go at QueueOffset×20, taken from the
// record itself, so dispatching a range twice writes the same bytes:
// recovery simply re-dispatches from the checkpoint.
type dispatcher struct {
	s          *Store
	mu         sync.Mutex // held across a pass; TruncateTo takes it to pause dispatch
	kick       chan struct{}
	dispatched atomic.Int64 // every record below has its CQ entries written
	lastMs     atomic.Int64 // store timestamp of the last dispatched record

	buf     []byte
	batches map[*consumeQueue]*cqBatch
	touched []*consumeQueue
	// deleted maps a deleted topic to the log end at deletion: its older
	// records must not re-create the queues. Guarded by mu.
	deleted map[string]int64
}

// cqBatch collects consecutive entries of one queue so a pass writes each
// queue with one pwrite.
type cqBatch struct {
	start int64
	data  []byte
}

const dispatchBufSize = 1 << 20

func newDispatcher(s *Store) *dispatcher {
	return &dispatcher{s: s, kick: make(chan struct{}, 1), buf: make([]byte, dispatchBufSize),
		batches: map[*consumeQueue]*cqBatch{}, deleted: map[string]int64{}}
}

func (d *dispatcher) signal() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run(stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if d.dispatched.Load() < d.s.ConfirmedOffset() {
			d.mu.Lock()
			err := d.dispatchTo(d.s.ConfirmedOffset())
			d.mu.Unlock()
			if err != nil {
				d.s.log.Error("dispatch failed", "offset", d.dispatched.Load(), "err", err)
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			continue
		}
		select {
		case <-stop:
			return
		case <-d.kick:
		case <-tick.C:
		}
	}
}

// dispatchTo dispatches every complete record in [dispatched, limit).
func (d *dispatcher) dispatchTo(limit int64) error {
	segSize := d.s.cl.segSize
	for pos := d.dispatched.Load(); pos < limit; pos = d.dispatched.Load() {
		if minOff := d.s.cl.minOffset(); pos < minOff {
			d.dispatched.Store(minOff) // retention overtook a lagging dispatcher
			continue
		}
		segEnd := (pos/segSize + 1) * segSize
		chunkEnd := min(limit, segEnd, pos+int64(len(d.buf)))
		n := int(chunkEnd - pos)
		if err := d.s.cl.read(d.buf[:n], pos); err != nil {
			return err
		}
		used, next, err := d.parseChunk(d.buf[:n], pos, segEnd, chunkEnd == limit)
		if ferr := d.flushBatches(); ferr != nil {
			return ferr
		}
		if err != nil {
			return err
		}
		if next == pos {
			if used {
				continue
			}
			return nil // a partial record at the limit: wait for the rest
		}
		d.dispatched.Store(next)
		d.s.notifyDispatch(d.touched)
		d.touched = d.touched[:0]
	}
	return nil
}

// parseChunk dispatches the records in b (read from pos) and returns the
// offset to continue from. grew reports that the buffer was enlarged for a
// record bigger than it, so the caller should read again.
func (d *dispatcher) parseChunk(b []byte, pos, segEnd int64, atLimit bool) (grew bool, next int64, err error) {
	off := 0
	for off < len(b) {
		size, magic, perr := message.PeekSize(b[off:])
		if perr != nil {
			break // fewer than 8 bytes left
		}
		if magic == message.MagicBlank {
			return false, segEnd, nil
		}
		if size < message.RecordOverhead || int64(size) > d.s.cl.segSize-message.BlankSize {
			return false, pos + int64(off), d.corrupt(pos+int64(off), "bad record size "+strconv.Itoa(int(size)))
		}
		if int(size) > len(b)-off {
			if off == 0 && !atLimit && int(size) > len(d.buf) {
				d.buf = make([]byte, size)
				return true, pos, nil
			}
			break
		}
		v, perr := message.ParseRecord(b[off:off+int(size)], false)
		if perr != nil {
			return false, pos + int64(off), d.corrupt(pos+int64(off), perr.Error())
		}
		if err := d.dispatchRecord(&v); err != nil {
			return false, pos + int64(off), err
		}
		off += int(size)
	}
	return false, pos + int64(off), nil
}

func (d *dispatcher) corrupt(off int64, reason string) error {
	return &CorruptionErr{Segment: segmentName(off - off%d.s.cl.segSize), Offset: off, Reason: "dispatch: " + reason}
}

// dispatchRecord adds the record's CQ entry to its queue's batch and
// indexes its keys.
func (d *dispatcher) dispatchRecord(v *message.RecordView) error {
	tt := message.TransactionType(v.SysFlag)
	if tt != message.SysFlagTransactionRollback && d.s.index != nil {
		d.s.index.addRecord(v)
	}
	d.lastMs.Store(v.StoreTimestamp)
	if tt == message.SysFlagTransactionPrepared || tt == message.SysFlagTransactionRollback {
		return nil
	}
	if end, ok := d.deleted[string(v.Topic)]; ok {
		if v.PhysicalOffset < end {
			return nil
		}
		delete(d.deleted, string(v.Topic))
	}
	cq := d.s.queues.getOrCreate(v.Topic, v.QueueID)
	b := d.batches[cq]
	if b == nil {
		b = &cqBatch{start: v.QueueOffset}
		d.batches[cq] = b
	}
	if len(b.data) == 0 {
		b.start = v.QueueOffset
		d.touched = append(d.touched, cq)
	} else if b.start+int64(len(b.data)/CQEntrySize) != v.QueueOffset {
		if err := d.writeBatch(cq, b); err != nil {
			return err
		}
		b.start = v.QueueOffset
	}
	b.data = AppendCQEntry(b.data, CQEntry{PhysicalOffset: v.PhysicalOffset, Size: v.TotalSize, TagsCode: tagsCode(v)})
	return nil
}

// tagsCode is TagsHash(TAGS), except for SCHEDULE_TOPIC_XXXX where it is
// the delivery time: store time plus the delay of the DELAY level.
func tagsCode(v *message.RecordView) int64 {
	if string(v.Topic) == message.TopicSchedule {
		if lvl := message.DelayLevelFromProperties(v.Properties); lvl > 0 {
			d, _ := message.DelayLevelDuration(lvl)
			return v.StoreTimestamp + d.Milliseconds()
		}
	}
	tags, ok := message.LookupProperty(v.Properties, message.PropertyTags)
	if !ok {
		return 0
	}
	return message.TagsHash(string(tags))
}

func (d *dispatcher) writeBatch(cq *consumeQueue, b *cqBatch) error {
	if len(b.data) == 0 {
		return nil
	}
	if max := cq.maxOffset.Load(); b.start > max {
		d.s.log.Error("consume queue gap", "topic", cq.topic, "queue", cq.qid, "max", max, "next", b.start)
	}
	err := cq.write(b.start, b.data)
	b.data = b.data[:0]
	return err
}

func (d *dispatcher) flushBatches() error {
	var errs []error
	for cq, b := range d.batches {
		if err := d.writeBatch(cq, b); err != nil {
			errs = append(errs, fmt.Errorf("dispatch to %s/%d: %w", cq.topic, cq.qid, err))
		}
	}
	if len(d.batches) > 1024 { // bound the reused map after bursts over many queues
		clear(d.batches)
	}
	return errors.Join(errs...)
}
