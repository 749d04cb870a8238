package store

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

func FuzzDecodeCQEntry(f *testing.F) {
	f.Add(AppendCQEntry(nil, CQEntry{PhysicalOffset: 123, Size: 91, TagsCode: -5}))
	f.Add(make([]byte, 20))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := DecodeCQEntry(b)
		if !ok {
			return
		}
		if e.Size <= 0 || e.PhysicalOffset < 0 {
			t.Fatalf("invalid entry accepted: %+v", e)
		}
		if got := AppendCQEntry(nil, e); string(got) != string(b[:CQEntrySize]) {
			t.Fatalf("round trip %x != %x", got, b[:CQEntrySize])
		}
	})
}

func FuzzDecodeCheckpoint(f *testing.F) {
	good := (&checkpoint{PhysicMsgTimestamp: 1, FlushedOffset: 4096, DispatchedOffset: 100}).encode()
	f.Add(good)
	f.Add(good[:50])
	f.Add(make([]byte, checkpointSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		again, err := decodeCheckpoint(c.encode())
		if err != nil || again != c {
			t.Fatalf("round trip: %+v %+v %v", c, again, err)
		}
	})
}

// segmentSeed returns the first segment of a small store with a few records.
func segmentSeed(f *testing.F) []byte {
	mem := vfs.NewStrictMem()
	o := testOptions(f, mem)
	o.Prewrite = false
	s, err := Open(o)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.PutMessage(newRecord("T", int32(i%2), bodyOf(i), map[string]string{message.PropertyTags: "a"})); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	b, err := vfs.ReadFile(mem, "/store/commitlog/"+segmentName(0))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzRecoverySegment opens a store whose only segment holds arbitrary
// bytes and no checkpoint: recovery must not panic and must cut the log at
// a record boundary.
func FuzzRecoverySegment(f *testing.F) {
	seg := segmentSeed(f)
	f.Add(seg)
	f.Add(seg[:len(seg)/2])
	flipped := append([]byte{}, seg...)
	flipped[len(seg)/3] ^= 0x55
	f.Add(flipped)
	f.Add(append(append([]byte{}, seg...), 0xCB, 0xD4, 0x31, 0x94))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		mem := vfs.NewStrictMem()
		o := testOptions(t, mem)
		o.Prewrite = false
		mem.MkdirAll("/store/commitlog", 0o755)
		fl, _ := mem.OpenFile("/store/commitlog/"+segmentName(0), os.O_RDWR|os.O_CREATE, 0o644)
		fl.WriteAt(data, 0)
		fl.Close()
		s, err := Open(o)
		if err != nil {
			return // e.g. a segment that cannot be read is reported, not ignored
		}
		defer s.Close()
		end := s.MaxPhysicalOffset()
		if end > int64(len(data)) && end != o.SegmentSize {
			t.Fatalf("log end %d beyond the %d bytes given", end, len(data))
		}
		for pos := int64(0); pos < end; {
			size, magic, err := message.PeekSize(data[pos:])
			if err != nil {
				t.Fatalf("boundary walk failed at %d: %v", pos, err)
			}
			if magic == message.MagicBlank {
				pos = o.SegmentSize
				continue
			}
			if _, err := message.ParseRecord(data[pos:], true); err != nil {
				t.Fatalf("invalid record kept at %d: %v", pos, err)
			}
			pos += int64(size)
			if pos > end {
				t.Fatalf("log end %d inside the record at %d", end, pos-int64(size))
			}
		}
	})
}
