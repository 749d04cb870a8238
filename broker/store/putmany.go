package store

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/message"
)

// PutMessages appends independent records — of any topics and queues — in
// order, with one write per segment they land in instead of one per record:
// the broker hands it every send a connection had pipelined. Each record
// gets its own outcome: an invalid record fails alone, while a failed write
// fails the records of that write and every later one. Queue offsets stay
// dense per queue. Results and errors are indexed like recs.
func (s *Store) PutMessages(recs []*message.Record) ([]PutResult, []error) {
	res := make([]PutResult, len(recs))
	errs := make([]error, len(recs))
	eb := s.getEncodeBuf()
	defer s.encPool.Put(eb)
	eb.b, eb.ends = eb.b[:0], eb.ends[:0]
	var ok []int // indexes of encoded records, in order
	for i, r := range recs {
		if errs[i] = s.encodeOne(eb, r); errs[i] == nil {
			ok = append(ok, i)
		} else {
			s.stats.putErrors.Add(1)
		}
	}
	if len(ok) == 0 {
		return res, errs
	}
	s.cl.appendMu.Lock()
	if s.closed.Load() {
		s.cl.appendMu.Unlock()
		for _, i := range ok {
			errs[i] = ErrClosed
		}
		return res, errs
	}
	now := s.opts.Now().UnixMilli()
	for done := 0; done < len(ok); {
		n, err := s.appendChunkLocked(eb, recs, ok, done, now, res)
		if err != nil {
			for _, i := range ok[done:] {
				errs[i] = err
			}
			s.stats.putErrors.Add(uint64(len(ok) - done))
			break
		}
		done += n
	}
	s.cl.appendMu.Unlock()
	s.afterAppend()
	return res, errs
}

// encodeOne validates r and appends its encoding to eb.
func (s *Store) encodeOne(eb *encodeBuf, r *message.Record) error {
	if err := s.validate(r.Topic, r.QueueID, len(r.Body), len(r.Properties)); err != nil {
		return err
	}
	rec := *r
	if !rec.StoreHost.IsValid() {
		rec.StoreHost = s.opts.StoreHost
	}
	start := len(eb.b)
	var err error
	if eb.b, err = message.AppendRecord(eb.b, &rec); err != nil {
		eb.b = eb.b[:start]
		return fmt.Errorf("%w: %w", ErrMessageIllegal, err)
	}
	if size := len(eb.b) - start; size > s.opts.MaxMessageSize {
		eb.b = eb.b[:start]
		return fmt.Errorf("%w: %d bytes exceeds MaxMessageSize %d", ErrMessageIllegal, size, s.opts.MaxMessageSize)
	}
	eb.ends = append(eb.ends, len(eb.b))
	return nil
}

// appendChunkLocked writes the longest run of encoded records from ok[from]
// that fits in the current segment (at least one; the first may roll to a
// new segment) and fills in their results. It returns how many it wrote.
func (s *Store) appendChunkLocked(eb *encodeBuf, recs []*message.Record, ok []int, from int, now int64, res []PutResult) (int, error) {
	startByte := 0
	if from > 0 {
		startByte = eb.ends[from-1]
	}
	free := s.cl.freeLocked()
	n := 1
	for from+n < len(ok) && int64(eb.ends[from+n]-startByte)+message.BlankSize <= free {
		n++
	}
	chunk := eb.b[startByte:eb.ends[from+n-1]]
	qs := &queueCounter{s: s}
	qos := make([]int64, n)
	phys, err := s.cl.appendLocked(chunk, func(phys int64) {
		at := startByte
		for k := range n {
			r := recs[ok[from+k]]
			rec := eb.b[at:eb.ends[from+k]]
			if !noQueueEntry(r.SysFlag) {
				qos[k] = qs.next(r.Topic, r.QueueID)
				message.PutQueueOffset(rec, qos[k])
			}
			message.PutPhysicalOffset(rec, phys+int64(at-startByte))
			message.PutStoreTimestamp(rec, now)
			at = eb.ends[from+k]
		}
	})
	if err != nil {
		return 0, err
	}
	qs.commitLocked()
	end := s.cl.end.Load()
	if seg := s.cl.lastSegment(); seg != nil {
		seg.lastStoreMs.Store(now)
	}
	at := startByte
	for k := range n {
		i := ok[from+k]
		rec := eb.b[at:eb.ends[from+k]]
		res[i] = PutResult{PhysicalOffset: phys + int64(at-startByte), QueueOffset: qos[k], Count: 1,
			Size: len(rec), StoreTimestamp: now, End: end}
		at = eb.ends[from+k]
	}
	s.stats.puts.Add(uint64(n))
	s.stats.putBytes.Add(uint64(len(chunk)))
	return n, nil
}

// noQueueEntry reports transaction records that get no ConsumeQueue entry.
func noQueueEntry(sysFlag int32) bool {
	t := message.TransactionType(sysFlag)
	return t == message.SysFlagTransactionPrepared || t == message.SysFlagTransactionRollback
}

// queueCounter hands out the next queue offsets of a chunk's queues and,
// once the chunk is written, stores them; a failed write leaves nextQO as
// it was.
type queueCounter struct {
	s    *Store
	keys []queueKeyCount
}

type queueKeyCount struct {
	topic string
	qid   int32
	next  int64
}

func (q *queueCounter) next(topic string, qid int32) int64 {
	for i := range q.keys {
		if k := &q.keys[i]; k.qid == qid && k.topic == topic {
			k.next++
			return k.next - 1
		}
	}
	start := q.s.nextQO[topic][qid]
	q.keys = append(q.keys, queueKeyCount{topic: topic, qid: qid, next: start + 1})
	return start
}

func (q *queueCounter) commitLocked() {
	for _, k := range q.keys {
		q.s.setNextQOLocked(k.topic, k.qid, k.next)
	}
}
