package store

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
)

func TestStoreGetMessagesStatusTable(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	for i := range 5 {
		mustPut(t, s, newRecord("T", 0, bodyOf(i), nil))
	}
	mustPut(t, s, newRecord("Empty", 1, "x", nil)) // makes queue 1 of "Empty" exist
	waitDispatched(t, s)
	cases := []struct {
		name   string
		topic  string
		qid    int32
		offset int64
		status GetStatus
		next   int64
	}{
		{"found", "T", 0, 2, Found, 5},
		{"unknown queue", "Nope", 0, 0, NoMatchedLogicQueue, 0},
		{"unknown queue id", "T", 7, 3, NoMatchedLogicQueue, 0},
		{"offset == max", "T", 0, 5, OffsetOverflowOne, 5},
		{"offset > max", "T", 0, 9, OffsetOverflowBadly, 5},
		{"offset < min", "T", 0, -1, OffsetTooSmall, 0},
	}
	for _, c := range cases {
		res, err := s.GetMessages(c.topic, c.qid, c.offset, 32, 1<<20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != c.status || res.NextBeginOffset != c.next {
			t.Errorf("%s: status %v next %d, want %v %d", c.name, res.Status, res.NextBeginOffset, c.status, c.next)
		}
		if c.status != Found && (res.Body != nil || res.Count != 0) {
			t.Errorf("%s: body on %v", c.name, res.Status)
		}
	}
	res, _ := s.GetMessages("T", 0, 2, 32, 1<<20, nil)
	if res.Count != 3 || res.MinOffset != 0 || res.MaxOffset != 5 {
		t.Fatalf("found: %+v", res)
	}
}

func TestStoreGetMessagesEmptyQueueAfterTrim(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	mustPut(t, s, newRecord("T", 0, "x", nil))
	waitDispatched(t, s)
	cq := s.queues.get("T", 0)
	if err := cq.truncate(0); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 4} {
		res, err := s.GetMessages("T", 0, off, 32, 1<<20, nil)
		if err != nil || res.Status != NoMessageInQueue || res.NextBeginOffset != 0 {
			t.Fatalf("offset %d: %+v %v", off, res, err)
		}
	}
}

func TestStoreGetMessagesLimitsAndFilter(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	var sizes []int
	for i := range 40 {
		tag := "odd"
		if i%2 == 0 {
			tag = "even"
		}
		res := mustPut(t, s, newRecord("T", 0, bodyOf(i), map[string]string{message.PropertyTags: tag}))
		sizes = append(sizes, res.Size)
	}
	waitDispatched(t, s)
	res, _ := s.GetMessages("T", 0, 0, 7, 1<<20, nil)
	sum := 0
	for _, n := range sizes[:7] {
		sum += n
	}
	if res.Count != 7 || res.NextBeginOffset != 7 || len(res.Body) != sum {
		t.Fatalf("maxMsgs: %d next %d", res.Count, res.NextBeginOffset)
	}
	res, _ = s.GetMessages("T", 0, 0, 32, 3*sizes[0]+1, nil)
	if res.Count != 3 || res.NextBeginOffset != 3 {
		t.Fatalf("maxBytes: %d next %d", res.Count, res.NextBeginOffset)
	}
	res, _ = s.GetMessages("T", 0, 0, 32, 1, nil)
	if res.Count != 1 {
		t.Fatalf("maxBytes smaller than one message must still return one, got %d", res.Count)
	}
	odd := message.TagsHash("odd")
	res, _ = s.GetMessages("T", 0, 0, 5, 1<<20, func(c int64) bool { return c == odd })
	msgs, _ := message.DecodeMessages(res.Body)
	if res.Count != 5 || res.NextBeginOffset != 10 || msgs[0].QueueOffset != 1 || msgs[4].QueueOffset != 9 {
		t.Fatalf("filter: count %d next %d", res.Count, res.NextBeginOffset)
	}
	for _, m := range msgs {
		if m.Tags() != "odd" {
			t.Fatalf("filter let %q through", m.Tags())
		}
	}
	none := func(int64) bool { return false }
	res, _ = s.GetMessages("T", 0, 3, 32, 1<<20, none)
	if res.Status != NoMatchedMessage || res.NextBeginOffset != 40 {
		t.Fatalf("all filtered: %v next %d", res.Status, res.NextBeginOffset)
	}
}

func TestConsumeQueueRollOver(t *testing.T) {
	o := testOptions(t, nil)
	o.CQEntriesPerFile = 10
	s := openStore(t, o)
	for i := range 35 {
		mustPut(t, s, newRecord("T", 3, bodyOf(i), nil))
	}
	waitDispatched(t, s)
	names, err := o.FS.ReadDir("/store/consumequeue/T/3")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"00000000000000000000", "00000000000000000200", "00000000000000000400", "00000000000000000600"}
	if len(names) != 4 || names[0] != want[0] || names[3] != want[3] {
		t.Fatalf("cq files %v", names)
	}
	got := pullAll(t, s, "T", 3)
	if len(got) != 35 {
		t.Fatalf("got %d", len(got))
	}
	for i, m := range got {
		if string(m.Body) != bodyOf(i) || m.QueueOffset != int64(i) {
			t.Fatalf("msg %d: %q %d", i, m.Body, m.QueueOffset)
		}
	}
	// A read that starts near a file end still returns everything, file by file.
	res, _ := s.GetMessages("T", 3, 8, 32, 1<<20, nil)
	if res.Count == 0 || res.NextBeginOffset != 8+int64(res.Count) {
		t.Fatalf("cross-file read %+v", res)
	}
}

func TestStoreOffsetByTime(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(1_000_000)}
	o := testOptions(t, nil)
	o.Now = clock.Now
	s := openStore(t, o)
	for i := range 10 {
		mustPut(t, s, newRecord("T", 0, bodyOf(i), nil))
		clock.Add(time.Second)
	}
	waitDispatched(t, s)
	cases := []struct{ ts, want int64 }{{0, 0}, {1_000_000, 0}, {1_000_001, 1}, {1_004_000, 4}, {1_009_000, 9}, {1_009_001, 10}, {9e12, 10}}
	for _, c := range cases {
		got, err := s.OffsetByTime("T", 0, c.ts)
		if err != nil || got != c.want {
			t.Errorf("OffsetByTime(%d) = %d, %v; want %d", c.ts, got, err, c.want)
		}
	}
	if got, _ := s.OffsetByTime("Nope", 0, 5); got != 0 {
		t.Fatalf("unknown queue %d", got)
	}
}

func TestIndexQueryByKey(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(2_000_000_000)}
	o := testOptions(t, nil)
	o.Now = clock.Now
	s := openStore(t, o)
	want := map[string][]int64{}
	for i := range 450 { // more than IndexMaxCount (200) entries: several index files
		uniq := "U" + bodyOf(i)
		key := "order-" + string(rune('a'+i%5))
		res := mustPut(t, s, newRecord("T", int32(i%2), bodyOf(i), map[string]string{message.PropertyUniqKey: uniq, message.PropertyKeys: key + " other"}))
		want[uniq] = []int64{res.PhysicalOffset}
		want[key] = append([]int64{res.PhysicalOffset}, want[key]...) // newest first
		clock.Add(10 * time.Millisecond)
	}
	mustPut(t, s, newRecord("U", 0, "other topic", map[string]string{message.PropertyKeys: "order-a"}))
	waitDispatched(t, s)
	if n := len(s.index.files); n < 3 {
		t.Fatalf("only %d index files", n)
	}
	for _, uniq := range []string{"U" + bodyOf(0), "U" + bodyOf(449)} {
		got, err := s.QueryByKey("T", uniq, 10, 0, 1<<62)
		if err != nil || len(got) != 1 || got[0] != want[uniq][0] {
			t.Fatalf("uniq %s: %v %v", uniq, got, err)
		}
	}
	got, _ := s.QueryByKey("T", "order-c", 1000, 0, 1<<62)
	if len(got) != 90 {
		t.Fatalf("order-c: %d results", len(got))
	}
	for i := range got {
		if got[i] != want["order-c"][i] {
			t.Fatalf("order-c[%d] = %d, want %d", i, got[i], want["order-c"][i])
		}
	}
	if got, _ := s.QueryByKey("T", "order-c", 5, 0, 1<<62); len(got) != 5 {
		t.Fatalf("max: %d", len(got))
	}
	if got, _ := s.QueryByKey("T", "missing", 5, 0, 1<<62); len(got) != 0 {
		t.Fatalf("missing: %v", got)
	}
	if got, _ := s.QueryByKey("U", "order-a", 5, 0, 1<<62); len(got) != 1 {
		t.Fatalf("other topic: %v", got)
	}
	// Time window: only the first second of messages.
	got, _ = s.QueryByKey("T", "order-a", 1000, 2_000_000_000, 2_000_000_999)
	if len(got) != 20 {
		t.Fatalf("time window: %d", len(got))
	}
}
