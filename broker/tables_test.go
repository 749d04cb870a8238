package broker

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
)

func TestBrokerClientTableExpiry(t *testing.T) {
	ct := newClientTable()
	t0 := time.Unix(1_700_000_000, 0)
	sub := protocol.SubscriptionData{Topic: "T", SubString: "a || b", TagsSet: []string{"a", "b"}}
	cd := protocol.ConsumerData{GroupName: "g", SubscriptionDataSet: []protocol.SubscriptionData{sub}}
	if !ct.Register(nil, "c1", cd, t0) {
		t.Fatal("first member must count as a change")
	}
	if ct.Register(nil, "c1", cd, t0.Add(time.Second)) {
		t.Fatal("a repeated heartbeat on the same connection is no change")
	}
	ct.Register(nil, "c2", cd, t0.Add(90*time.Second))
	ct.RegisterProducer(nil, "p1", "pg", t0)
	// At t0+125s with a 120s expiry: c1 (last seen t0+1s) and p1 go, c2 stays.
	changed := ct.Expire(t0.Add(125 * time.Second).Add(-120 * time.Second))
	if len(changed) != 1 || changed[0] != "g" {
		t.Fatalf("changed groups %v", changed)
	}
	if ids := ct.ConsumerIDs("g"); len(ids) != 1 || ids[0] != "c2" {
		t.Fatalf("members after expiry %v", ids)
	}
	if c, p := ct.Counts(); c != 1 || p != 0 {
		t.Fatalf("counts %d consumers, %d producers", c, p)
	}
	s, ok := ct.Subscription("g", "T")
	if !ok || !s.Matches(message.TagsHash("b")) || s.Matches(message.TagsHash("c")) {
		t.Fatalf("subscription filter after expiry: %+v", s)
	}
	ct.Expire(t0.Add(time.Hour))
	if ct.HasGroup("g") {
		t.Fatal("group without members kept")
	}
}

func TestBrokerLockTableExpiry(t *testing.T) {
	lt := newLockTable(60 * time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	mq := []protocol.MessageQueue{{Topic: "T", BrokerName: "b", QueueID: 0}}
	if got := lt.TryLock("g", "c1", mq, t0); len(got) != 1 {
		t.Fatal("free queue not granted")
	}
	if got := lt.TryLock("g", "c2", mq, t0.Add(59*time.Second)); len(got) != 0 {
		t.Fatal("live lock granted to another client")
	}
	if got := lt.TryLock("g", "c2", mq, t0.Add(61*time.Second)); len(got) != 1 {
		t.Fatal("expired lock not granted")
	}
	if holder, ok := lt.Holder("g", mq[0], t0.Add(62*time.Second)); !ok || holder != "c2" {
		t.Fatalf("holder %q %v", holder, ok)
	}
	lt.Unlock("g", "c1", mq) // not the holder: no effect
	if holder, _ := lt.Holder("g", mq[0], t0.Add(62*time.Second)); holder != "c2" {
		t.Fatal("a non-holder released the lock")
	}
}
