package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// TestStorePutMessagesAcrossQueuesAndSegments writes batches of records of
// several queues that cross segment boundaries (64 KiB segments): each queue
// stays dense and in order, every record reads back, and each write stays
// within one segment.
func TestStorePutMessagesAcrossQueuesAndSegments(t *testing.T) {
	ffs := vfs.NewFaultFS(vfs.NewStrictMem())
	o := testOptions(t, ffs)
	o.Prewrite = false
	s := openStore(t, o)
	want := map[int32][]string{}
	seq := 0
	for range 40 {
		var recs []*message.Record
		for range 25 {
			qid := int32(seq % 3)
			body := fmt.Sprintf("%05d-%s", seq, strings.Repeat("x", 300))
			want[qid] = append(want[qid], body)
			recs = append(recs, newRecord("Many", qid, body, map[string]string{"KEYS": fmt.Sprint("k", seq)}))
			seq++
		}
		res, errs := s.PutMessages(recs)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if i > 0 && res[i].PhysicalOffset <= res[i-1].PhysicalOffset {
				t.Fatalf("record %d stored at %d, before its predecessor at %d", i, res[i].PhysicalOffset, res[i-1].PhysicalOffset)
			}
		}
	}
	if segs := len(s.cl.segs); segs < 4 {
		t.Fatalf("expected the batches to span several segments, got %d", segs)
	}
	waitDispatched(t, s)
	for qid, bodies := range want {
		got := pullAll(t, s, "Many", qid)
		if len(got) != len(bodies) {
			t.Fatalf("queue %d: %d of %d records", qid, len(got), len(bodies))
		}
		for i, m := range got {
			if string(m.Body) != bodies[i] || m.QueueOffset != int64(i) {
				t.Fatalf("queue %d entry %d: offset %d body %.5q, want %.5q", qid, i, m.QueueOffset, m.Body, bodies[i])
			}
		}
	}
}

// TestStorePutMessagesInvalidRecordFailsAlone checks an invalid record in a
// batch gets its own error while its neighbours are stored.
func TestStorePutMessagesInvalidRecordFailsAlone(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	recs := []*message.Record{
		newRecord("Ok", 0, "a", nil),
		newRecord("bad topic", 0, "b", nil),
		newRecord("Ok", 0, "c", nil),
		newRecord("Ok", 0, strings.Repeat("d", 20<<10), nil), // over MaxMessageSize
		newRecord("Ok", 0, "e", nil),
	}
	res, errs := s.PutMessages(recs)
	for i, wantErr := range []bool{false, true, false, true, false} {
		if (errs[i] != nil) != wantErr || (wantErr && !errors.Is(errs[i], ErrMessageIllegal)) {
			t.Fatalf("record %d: err %v", i, errs[i])
		}
	}
	if res[0].QueueOffset != 0 || res[2].QueueOffset != 1 || res[4].QueueOffset != 2 {
		t.Fatalf("queue offsets %d %d %d, want 0 1 2", res[0].QueueOffset, res[2].QueueOffset, res[4].QueueOffset)
	}
	waitDispatched(t, s)
	var bodies []string
	for _, m := range pullAll(t, s, "Ok", 0) {
		bodies = append(bodies, string(m.Body))
	}
	if strings.Join(bodies, ",") != "a,c,e" {
		t.Fatalf("stored %v", bodies)
	}
}

// TestStorePutMessagesWriteFailure fails the write of a batch: every record
// of it fails, nothing of it is readable, and the next batch takes the same
// queue offsets (none was lost to the failed write).
func TestStorePutMessagesWriteFailure(t *testing.T) {
	ffs := vfs.NewFaultFS(vfs.NewStrictMem())
	ffs.SetFilter(commitLogOnly)
	o := testOptions(t, ffs)
	o.Prewrite = false
	s := openStore(t, o)
	mustPut(t, s, newRecord("W", 0, "first", nil))
	ffs.FailWrite(1, syscall.ENOSPC)
	_, errs := s.PutMessages([]*message.Record{newRecord("W", 0, "x", nil), newRecord("W", 1, "y", nil)})
	for i, err := range errs {
		if !errors.Is(err, ErrServiceNotAvailable) {
			t.Fatalf("record %d of the failed write: %v", i, err)
		}
	}
	res, errs := s.PutMessages([]*message.Record{newRecord("W", 0, "second", nil), newRecord("W", 1, "third", nil)})
	if errs[0] != nil || errs[1] != nil || res[0].QueueOffset != 1 || res[1].QueueOffset != 0 {
		t.Fatalf("after the failure: errs %v, offsets %d %d", errs, res[0].QueueOffset, res[1].QueueOffset)
	}
	waitDispatched(t, s)
	var bodies []string
	for _, m := range append(pullAll(t, s, "W", 0), pullAll(t, s, "W", 1)...) {
		bodies = append(bodies, string(m.Body))
	}
	if strings.Join(bodies, ",") != "first,second,third" {
		t.Fatalf("stored %v", bodies)
	}
}
