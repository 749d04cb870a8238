package store

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/message"
)

func TestStorePutGetRoundTrip(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	topics := []string{"A", "B"}
	type sent struct {
		body string
		res  PutResult
	}
	want := map[string][]sent{}
	for i := range 200 {
		topic, qid := topics[i%2], int32(i%3)
		body := bodyOf(i)
		res := mustPut(t, s, newRecord(topic, qid, body, map[string]string{message.PropertyTags: "t" + string(rune('a'+i%2))}))
		key := topic + "/" + string(rune('0'+qid))
		if want := int64(len(want[key])); res.QueueOffset != want {
			t.Fatalf("queue offset %d, want %d", res.QueueOffset, want)
		}
		want[key] = append(want[key], sent{body, res})
	}
	waitDispatched(t, s)
	for _, topic := range topics {
		for qid := int32(0); qid < 3; qid++ {
			key := topic + "/" + string(rune('0'+qid))
			got := pullAll(t, s, topic, qid)
			if len(got) != len(want[key]) {
				t.Fatalf("%s: got %d msgs, want %d", key, len(got), len(want[key]))
			}
			for i, m := range got {
				w := want[key][i]
				if string(m.Body) != w.body || m.QueueOffset != int64(i) || m.CommitLogOffset != w.res.PhysicalOffset ||
					m.Topic != topic || m.QueueID != qid || m.StoreTimestamp != w.res.StoreTimestamp {
					t.Fatalf("%s[%d] = %+v, want %+v", key, i, m, w)
				}
				if m.StoreHost.String() != "10.0.0.1:10911" {
					t.Fatalf("store host %v", m.StoreHost)
				}
			}
			if s.MaxOffset(topic, qid) != int64(len(want[key])) || s.MinOffset(topic, qid) != 0 {
				t.Fatalf("%s: max %d min %d", key, s.MaxOffset(topic, qid), s.MinOffset(topic, qid))
			}
		}
	}
	if got := s.Topics(); len(got) != 2 || len(got["A"]) != 3 {
		t.Fatalf("topics %v", got)
	}
}

func TestStoreBatchPut(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	mustPut(t, s, newRecord("T", 1, "first", nil))
	items := []message.BatchItem{{Flag: 1, Body: []byte("b0")}, {Flag: 2, Body: []byte("b1"), Properties: []byte("KEYS\x01k\x02")}, {Body: []byte("b2")}}
	res, err := s.PutBatch(newRecord("T", 1, "", nil), items)
	if err != nil {
		t.Fatal(err)
	}
	if res.QueueOffset != 1 || res.Count != 3 || len(res.PhysicalOffsets) != 3 || res.PhysicalOffsets[0] != res.PhysicalOffset {
		t.Fatalf("batch result %+v", res)
	}
	waitDispatched(t, s)
	got := pullAll(t, s, "T", 1)
	if len(got) != 4 {
		t.Fatalf("got %d", len(got))
	}
	for i, m := range got[1:] {
		if string(m.Body) != string(items[i].Body) || m.Flag != items[i].Flag || m.QueueOffset != int64(i+1) ||
			m.CommitLogOffset != res.PhysicalOffsets[i] {
			t.Fatalf("item %d: %+v", i, m)
		}
	}
	if got[2].Keys() != "k" {
		t.Fatalf("props lost: %v", got[2].Properties)
	}
	big := make([]message.BatchItem, 3)
	for i := range big {
		big[i].Body = make([]byte, 6<<10)
	}
	if _, err := s.PutBatch(newRecord("T", 1, "", nil), big); !errors.Is(err, ErrMessageIllegal) {
		t.Fatalf("oversized batch: %v", err)
	}
	if s.MaxOffset("T", 1) != 4 {
		t.Fatal("failed batch consumed queue offsets")
	}
}

func TestStoreValidation(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	cases := []struct {
		r    *message.Record
		want error
	}{
		{newRecord("", 0, "x", nil), ErrMessageIllegal},
		{newRecord("../etc", 0, "x", nil), ErrMessageIllegal},
		{newRecord(strings.Repeat("t", 128), 0, "x", nil), ErrMessageIllegal},
		{newRecord("T", -1, "x", nil), ErrMessageIllegal},
		{newRecord("T", 0, strings.Repeat("x", 16<<10+1), nil), ErrMessageIllegal},
		{&message.Record{Topic: "T", Properties: make([]byte, 40000)}, ErrPropertiesTooLong},
	}
	for i, c := range cases {
		if _, err := s.PutMessage(c.r); !errors.Is(err, c.want) {
			t.Errorf("case %d: err %v, want %v", i, err, c.want)
		}
	}
	if st := s.Stats(); st.PutErrors != uint64(len(cases)) || st.PutMessages != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStoreDeleteTopic(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	for i := range 10 {
		mustPut(t, s, newRecord("Gone", 0, bodyOf(i), nil))
		mustPut(t, s, newRecord("Kept", 0, bodyOf(i), nil))
	}
	if err := s.DeleteTopic("Gone"); err != nil {
		t.Fatal(err)
	}
	waitDispatched(t, s)
	if _, ok := s.Topics()["Gone"]; ok || s.MaxOffset("Gone", 0) != 0 {
		t.Fatalf("topic still listed: %v", s.Topics())
	}
	res := mustPut(t, s, newRecord("Gone", 0, "reborn", nil))
	if res.QueueOffset != 0 {
		t.Fatalf("new message of a deleted topic got offset %d", res.QueueOffset)
	}
	waitDispatched(t, s)
	if got := pullAll(t, s, "Gone", 0); len(got) != 1 || string(got[0].Body) != "reborn" {
		t.Fatalf("after delete: %d messages", len(got))
	}
	if len(pullAll(t, s, "Kept", 0)) != 10 {
		t.Fatal("other topic affected")
	}
}

func TestStoreDispatchRules(t *testing.T) {
	s := openStore(t, testOptions(t, nil))
	var mu sync.Mutex
	notified := map[string]int64{}
	s.OnDispatch(func(topic string, qid int32, maxOffset int64) {
		mu.Lock()
		notified[topic] = maxOffset
		mu.Unlock()
	})
	prep := newRecord("T", 0, "half", nil)
	prep.SysFlag = message.SysFlagTransactionPrepared
	if res := mustPut(t, s, prep); res.QueueOffset != 0 {
		t.Fatalf("prepared got queue offset %d", res.QueueOffset)
	}
	rb := newRecord("T", 0, "rolled back", nil)
	rb.SysFlag = message.SysFlagTransactionRollback
	mustPut(t, s, rb)
	if res := mustPut(t, s, newRecord("T", 0, "normal", nil)); res.QueueOffset != 0 {
		t.Fatalf("normal message after half messages got offset %d", res.QueueOffset)
	}
	commit := newRecord("T", 0, "commit", nil)
	commit.SysFlag = message.SysFlagTransactionCommit
	mustPut(t, s, commit)
	sched := mustPut(t, s, newRecord(message.TopicSchedule, 2, "later", map[string]string{message.PropertyDelayLevel: "3"}))
	waitDispatched(t, s)
	got := pullAll(t, s, "T", 0)
	if len(got) != 2 || string(got[0].Body) != "normal" || string(got[1].Body) != "commit" {
		t.Fatalf("queue holds %d messages", len(got))
	}
	e, ok, err := s.queues.get(message.TopicSchedule, 2).entry(0)
	if err != nil || !ok || e.TagsCode != sched.StoreTimestamp+10_000 {
		t.Fatalf("schedule tagsCode %d, want store time + 10s (%d)", e.TagsCode, sched.StoreTimestamp+10_000)
	}
	e, _, _ = s.queues.get("T", 0).entry(0)
	if e.TagsCode != 0 {
		t.Fatalf("untagged message has tagsCode %d", e.TagsCode)
	}
	eventually(t, "dispatch notifications", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return notified["T"] == 2 && notified[message.TopicSchedule] == 1
	})
}
