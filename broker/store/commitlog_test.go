package store

import (
	"encoding/binary"
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

func TestCommitLogRollOverWithEndFile(t *testing.T) {
	for _, prewrite := range []bool{false, true} {
		o := testOptions(t, nil)
		o.Prewrite = prewrite
		s := openStore(t, o)
		var offs []int64
		for i := range 300 { // ~300 × 1.1 KiB over 64 KiB segments
			res := mustPut(t, s, newRecord("T", 0, strings.Repeat("x", 1000+i), nil))
			if res.PhysicalOffset/o.SegmentSize != (res.PhysicalOffset+int64(res.Size)+7)/o.SegmentSize {
				t.Fatalf("record at %d+%d crosses a segment end", res.PhysicalOffset, res.Size)
			}
			offs = append(offs, res.PhysicalOffset)
		}
		waitDispatched(t, s)
		segs := s.cl.segmentsOverlapping(0, s.MaxPhysicalOffset())
		if len(segs) < 5 {
			t.Fatalf("prewrite=%v: only %d segments", prewrite, len(segs))
		}
		// Each full segment ends with an END_FILE filler right after its last record.
		for _, seg := range segs[:len(segs)-1] {
			last := int64(-1)
			for _, o := range offs {
				if o >= seg.base && o < seg.base+s.opts.SegmentSize {
					last = o
				}
			}
			rec, err := s.ReadRecord(last)
			if err != nil {
				t.Fatal(err)
			}
			var hdr [8]byte
			if err := s.cl.read(hdr[:], last+int64(len(rec))); err != nil {
				t.Fatal(err)
			}
			size, magic, _ := message.PeekSize(hdr[:])
			if magic != message.MagicBlank || int64(size) != seg.base+o.SegmentSize-last-int64(len(rec)) {
				t.Fatalf("segment %d: filler size %d magic %x", seg.base, size, magic)
			}
		}
		got := pullAll(t, s, "T", 0)
		if len(got) != 300 {
			t.Fatalf("read back %d", len(got))
		}
		for i, m := range got {
			if len(m.Body) != 1000+i || m.CommitLogOffset != offs[i] {
				t.Fatalf("msg %d: len %d off %d", i, len(m.Body), m.CommitLogOffset)
			}
		}
	}
}

func TestCommitLogSegmentNames(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	o.Prewrite = false
	s := openStore(t, o)
	for range 100 {
		mustPut(t, s, newRecord("T", 0, strings.Repeat("y", 1500), nil))
	}
	names, _ := mem.ReadDir(path.Join(o.Dir, commitLogDir))
	if len(names) < 2 || names[0] != "00000000000000000000" || names[1] != "00000000000000065536" {
		t.Fatalf("names %v", names)
	}
}

func TestStoreReadRecord(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	r := newRecord("T", 2, "payload", map[string]string{message.PropertyKeys: "k"})
	res := mustPut(t, s, r)
	b, err := s.ReadRecord(res.PhysicalOffset)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := message.DecodeRecord(b, true)
	if err != nil || string(got.Body) != "payload" || got.PhysicalOffset != res.PhysicalOffset || got.QueueID != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := s.ReadRecord(res.PhysicalOffset + 1); err == nil {
		t.Fatal("misaligned read accepted")
	}
	if _, err := s.ReadRecord(s.MaxPhysicalOffset()); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
}

func TestStoreLockIsExclusive(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	s := openStore(t, o)
	if _, err := Open(o); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s2 := openStore(t, o)
	s2.Close()
	if ok, _ := vfs.Exists(mem, path.Join(o.Dir, abortFile)); ok {
		t.Fatal("abort file left after clean close")
	}
}

func TestStoreLockIsExclusiveOnOS(t *testing.T) {
	o := testOptions(t, vfs.OS)
	openStore(t, o)
	if _, err := Open(o); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

func TestStoreAppendRawAndTruncate(t *testing.T) {
	master := openStore(t, testOptions(t, nil))
	for i := range 150 {
		mustPut(t, master, newRecord("T", int32(i%2), bodyOf(i)+strings.Repeat("z", 700), map[string]string{message.PropertyKeys: "k" + bodyOf(i)}))
	}
	slave := openStore(t, testOptions(t, nil))
	for off := int64(0); off < master.MaxPhysicalOffset(); {
		chunk, err := master.ReadCommitLog(off, 3000) // cuts records in the middle
		if err != nil {
			t.Fatal(err)
		}
		if err := slave.AppendRaw(off, chunk); err != nil {
			t.Fatal(err)
		}
		off += int64(len(chunk))
	}
	if err := slave.AppendRaw(0, []byte{1}); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("append at wrong offset: %v", err)
	}
	waitDispatched(t, master)
	waitDispatched(t, slave)
	for qid := int32(0); qid < 2; qid++ {
		if a, b := len(pullAll(t, master, "T", qid)), len(pullAll(t, slave, "T", qid)); a != b || a != 75 {
			t.Fatalf("queue %d: master %d slave %d", qid, a, b)
		}
	}
	// Truncate the slave back to the 100th record.
	msgs := pullAll(t, slave, "T", 0)
	cut := msgs[50].CommitLogOffset
	if err := slave.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	if slave.MaxPhysicalOffset() != cut || slave.MaxOffset("T", 0) != 50 {
		t.Fatalf("after truncate: end %d max %d", slave.MaxPhysicalOffset(), slave.MaxOffset("T", 0))
	}
	res := mustPut(t, slave, newRecord("T", 0, "new", nil))
	if res.QueueOffset != 50 || res.PhysicalOffset != cut {
		t.Fatalf("put after truncate %+v", res)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 0)
}
