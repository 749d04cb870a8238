package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/internal/message"
)

// GetStatus mirrors RocketMQ's GetMessageStatus. The broker maps it to a
// PULL response code (protocol spec §7.4):
//
//	Found                                  → 0 SUCCESS
//	NoMatchedMessage, MessageWasRemoving   → 20 PULL_RETRY_IMMEDIATELY
//	OffsetOverflowOne, OffsetFoundNull     → 19 PULL_NOT_FOUND
//	NoMessageInQueue, NoMatchedLogicQueue  → 19 if the requested offset is 0, else 21
//	OffsetTooSmall, OffsetOverflowBadly    → 21 PULL_OFFSET_MOVED
//
// and always sends NextBeginOffset, MinOffset and MaxOffset.
type GetStatus int

// GetMessages statuses.
const (
	Found GetStatus = iota
	NoMatchedMessage
	MessageWasRemoving
	OffsetFoundNull
	OffsetOverflowBadly
	OffsetOverflowOne
	OffsetTooSmall
	NoMatchedLogicQueue
	NoMessageInQueue
)

var getStatusNames = [...]string{"FOUND", "NO_MATCHED_MESSAGE", "MESSAGE_WAS_REMOVING", "OFFSET_FOUND_NULL",
	"OFFSET_OVERFLOW_BADLY", "OFFSET_OVERFLOW_ONE", "OFFSET_TOO_SMALL", "NO_MATCHED_LOGIC_QUEUE", "NO_MESSAGE_IN_QUEUE"}

// String returns RocketMQ's name for the status.
func (g GetStatus) String() string {
	if int(g) < len(getStatusNames) {
		return getStatusNames[g]
	}
	return fmt.Sprintf("GetStatus(%d)", int(g))
}

// GetResult is the answer to GetMessages.
type GetResult struct {
	Status GetStatus
	// Body holds the stored records back to back, exactly as stored: a PULL
	// response body.
	Body []byte
	// Count is the number of records in Body.
	Count int
	// NextBeginOffset is where the consumer should pull next.
	NextBeginOffset int64
	MinOffset       int64
	MaxOffset       int64
}

// maxFilterEntries bounds how many CQ entries one pull examines when a tag
// filter rejects them (RocketMQ: 16,000 bytes of entries).
const maxFilterEntries = 800

var cqScratch = sync.Pool{New: func() any { b := make([]byte, 0, maxFilterEntries*CQEntrySize); return &b }}

// GetMessages reads up to maxMsgs records (and about maxBytes, but always at
// least one) of a queue from offset. match filters by CQ tagsCode; nil
// accepts all. Adjacent records are read with one read each run.
func (s *Store) GetMessages(topic string, qid int32, offset int64, maxMsgs, maxBytes int, match func(tagsCode int64) bool) (GetResult, error) {
	cq := s.queues.get(topic, qid)
	if cq == nil {
		return GetResult{Status: NoMatchedLogicQueue}, nil
	}
	res := GetResult{MinOffset: cq.minOffset.Load(), MaxOffset: cq.maxOffset.Load()}
	switch {
	case res.MaxOffset == 0:
		res.Status, res.NextBeginOffset = NoMessageInQueue, 0
	case offset < res.MinOffset:
		res.Status, res.NextBeginOffset = OffsetTooSmall, res.MinOffset
	case offset == res.MaxOffset:
		res.Status, res.NextBeginOffset = OffsetOverflowOne, offset
	case offset > res.MaxOffset:
		res.Status, res.NextBeginOffset = OffsetOverflowBadly, res.MaxOffset
	default:
		return s.readQueue(cq, res, offset, max(maxMsgs, 1), maxBytes, match)
	}
	return res, nil
}

type readRun struct{ off, size int64 }

func (s *Store) readQueue(cq *consumeQueue, res GetResult, offset int64, maxMsgs, maxBytes int, match func(int64) bool) (GetResult, error) {
	bp := cqScratch.Get().(*[]byte)
	defer cqScratch.Put(bp)
	entries, err := cq.read((*bp)[:0], offset, max(maxMsgs, maxFilterEntries))
	*bp = entries[:0]
	if err != nil {
		return res, err
	}
	minPhys := s.cl.minOffset()
	var runs []readRun
	total, scanned := int64(0), 0
	res.Status = NoMatchedMessage
	for ; scanned*CQEntrySize < len(entries); scanned++ {
		e, ok := DecodeCQEntry(entries[scanned*CQEntrySize:])
		if res.Count >= maxMsgs || (ok && res.Count > 0 && total+int64(e.Size) > int64(maxBytes)) {
			break
		}
		if !ok || e.PhysicalOffset < minPhys {
			if res.Count == 0 {
				res.Status = MessageWasRemoving
			}
			continue
		}
		if match != nil && !match(e.TagsCode) {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].off+runs[n-1].size == e.PhysicalOffset &&
			e.PhysicalOffset%s.cl.segSize != 0 {
			runs[n-1].size += int64(e.Size)
		} else {
			runs = append(runs, readRun{e.PhysicalOffset, int64(e.Size)})
		}
		total += int64(e.Size)
		res.Count++
	}
	res.NextBeginOffset = offset + int64(scanned)
	if res.Count == 0 {
		return res, nil
	}
	res.Body = make([]byte, total)
	at := int64(0)
	for _, r := range runs {
		if err := s.cl.read(res.Body[at:at+r.size], r.off); err != nil {
			return GetResult{Status: MessageWasRemoving, NextBeginOffset: offset, MinOffset: res.MinOffset, MaxOffset: res.MaxOffset}, nil
		}
		at += r.size
	}
	res.Status = Found
	s.stats.gets.Add(uint64(res.Count))
	return res, nil
}

// ReadRecord returns the stored record at a commitlog offset (msgId lookup,
// SEND_MSG_BACK), CRC-checked.
func (s *Store) ReadRecord(physOffset int64) ([]byte, error) {
	if physOffset < s.cl.minOffset() || physOffset+message.RecordOverhead > s.cl.end.Load() {
		return nil, fmt.Errorf("read record at %d: %w", physOffset, ErrOffsetOutOfRange)
	}
	var hdr [8]byte
	if err := s.cl.read(hdr[:], physOffset); err != nil {
		return nil, err
	}
	size, magic, _ := message.PeekSize(hdr[:])
	if (magic != message.MagicV1 && magic != message.MagicV2) || size < message.RecordOverhead || int(size) > s.opts.MaxMessageSize+message.BlankSize {
		return nil, fmt.Errorf("read record at %d: %w", physOffset, message.ErrBadMagic)
	}
	b := make([]byte, size)
	if err := s.cl.read(b, physOffset); err != nil {
		return nil, err
	}
	if _, err := message.ParseRecord(b, true); err != nil {
		return nil, fmt.Errorf("read record at %d: %w", physOffset, err)
	}
	return b, nil
}

// storeTimestampAt reads the STORETIMESTAMP of the record at physOffset.
func (s *Store) storeTimestampAt(physOffset int64) (int64, error) {
	var hdr [message.OffBornHost + 20 + 8]byte
	n := min(int64(len(hdr)), s.cl.end.Load()-physOffset)
	if n < message.OffBornHost+16 {
		return 0, ErrOffsetOutOfRange
	}
	if err := s.cl.read(hdr[:n], physOffset); err != nil {
		return 0, err
	}
	at := message.OffBornHost + 8
	if int32(binary.BigEndian.Uint32(hdr[message.OffSysFlag:]))&message.SysFlagBornHostV6 != 0 {
		at += 12
	}
	if int64(at+8) > n {
		return 0, ErrOffsetOutOfRange
	}
	return int64(binary.BigEndian.Uint64(hdr[at:])), nil
}

// OffsetByTime returns the first queue offset whose record was stored at or
// after tsMillis (SEARCH_OFFSET_BY_TIMESTAMP): MinOffset if all are later,
// MaxOffset if all are earlier.
func (s *Store) OffsetByTime(topic string, qid int32, tsMillis int64) (int64, error) {
	cq := s.queues.get(topic, qid)
	if cq == nil {
		return 0, nil
	}
	lo, hi := cq.minOffset.Load(), cq.maxOffset.Load()
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, ok, err := cq.entry(mid)
		if err != nil {
			return 0, err
		}
		ts := int64(-1) << 62
		if ok && e.PhysicalOffset >= s.cl.minOffset() {
			if ts, err = s.storeTimestampAt(e.PhysicalOffset); err != nil {
				return 0, err
			}
		}
		if ts >= tsMillis {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// QueryByKey returns commitlog offsets of up to max records of topic whose
// UNIQ_KEY or one of whose KEYS tokens equals key, stored within
// [beginMs, endMs], newest first. Candidates from the hash index (which
// stores times in whole seconds) are verified against the records.
func (s *Store) QueryByKey(topic, key string, max int, beginMs, endMs int64) ([]int64, error) {
	if s.index == nil || max <= 0 {
		return nil, nil
	}
	cands := s.index.query(topic, key, 4*max+16, beginMs, endMs)
	var out []int64
	seen := map[int64]bool{}
	for _, phys := range cands {
		if len(out) >= max {
			break
		}
		if seen[phys] {
			continue
		}
		seen[phys] = true
		b, err := s.ReadRecord(phys)
		if err != nil {
			continue // removed by retention or cut by recovery
		}
		v, err := message.ParseRecord(b, false)
		if err == nil && string(v.Topic) == topic && v.StoreTimestamp >= beginMs && v.StoreTimestamp <= endMs &&
			recordHasKey(&v, key) {
			out = append(out, phys)
		}
	}
	return out, nil
}

func recordHasKey(v *message.RecordView, key string) bool {
	if u, ok := message.LookupProperty(v.Properties, message.PropertyUniqKey); ok && string(u) == key {
		return true
	}
	keys, _ := message.LookupProperty(v.Properties, message.PropertyKeys)
	for _, k := range bytes.Split(keys, []byte(message.KeySeparator)) {
		if string(k) == key {
			return true
		}
	}
	return false
}
