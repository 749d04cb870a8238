package message

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestUniqIDLayout(t *testing.T) {
	g := NewUniqIDGenerator(netip.MustParseAddr("10.1.2.3"), 0x1234)
	now := time.Date(2026, 3, 2, 0, 0, 1, 500e6, time.UTC)
	g.now = func() time.Time { return now }
	id := g.Next()
	if len(id) != 32 {
		t.Fatalf("len %d: %s", len(id), id)
	}
	raw, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	if ip := netip.AddrFrom4([4]byte(raw[:4])); ip.String() != "10.1.2.3" {
		t.Fatalf("ip %v", ip)
	}
	if pid := binary.BigEndian.Uint16(raw[4:]); pid != 0x1234 {
		t.Fatalf("pid %x", pid)
	}
	wantMs := uint32((24*time.Hour + 1500*time.Millisecond).Milliseconds()) // since March 1st
	if ms := binary.BigEndian.Uint32(raw[10:]); ms != wantMs {
		t.Fatalf("ms %d want %d", ms, wantMs)
	}
	if c := binary.BigEndian.Uint16(raw[14:]); c != 1 {
		t.Fatalf("counter %d", c)
	}
	if g6 := NewUniqIDGenerator(netip.MustParseAddr("2001:db8::1"), 1).Next(); len(g6) != 56 {
		t.Fatalf("v6 len %d", len(g6))
	}
}

func TestUniqIDConcurrentUnique(t *testing.T) {
	g := NewUniqIDGenerator(netip.MustParseAddr("10.1.2.3"), 1)
	const workers, per = 4, 5000 // fewer than 65536 so the i16 counter cannot wrap
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range per {
				ids[w] = append(ids[w], g.Next())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, workers*per)
	for _, l := range ids {
		for _, id := range l {
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
		}
	}
}
