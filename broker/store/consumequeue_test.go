package store

import (
	"os"
	"testing"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

// A ConsumeQueue file that is short while a later one exists (a gap) makes
// recovery rebuild the queues from the log rather than trust what follows.
func TestConsumeQueueGapIsRebuilt(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := testOptions(t, mem)
	o.CQEntriesPerFile = 8
	s := openStore(t, o)
	for i := range 30 {
		mustPut(t, s, newRecord("T", 0, bodyOf(i), nil))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := mem.OpenFile("/store/consumequeue/T/0/"+cqFileName(8), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(3 * CQEntrySize) // entries 11..15 gone, 16.. still there
	f.Close()
	s = openStore(t, o)
	got := pullAll(t, s, "T", 0)
	if len(got) != 30 {
		t.Fatalf("after rebuild: %d messages", len(got))
	}
	for i, m := range got {
		if m.QueueOffset != int64(i) || string(m.Body) != bodyOf(i) {
			t.Fatalf("entry %d wrong after rebuild", i)
		}
	}
}
