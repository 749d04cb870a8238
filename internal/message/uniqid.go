package message

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// UniqIDGenerator makes UNIQ_KEY values in the layout of the Java and Go
// clients: uppercase hex(ip ‖ i16 pid ‖ i32 salt) followed by hex(i32 ms
// since the start of the current month, local time ‖ i16 counter). The salt
// is random per generator (Java uses a class-loader hash, Go 0), which keeps
// two processes with the same pid on one host apart. It is safe for
// concurrent use.
type UniqIDGenerator struct {
	prefix []byte // hex of ip ‖ pid ‖ salt
	now    func() time.Time

	mu         sync.Mutex
	monthStart int64 // ms
	monthEnd   int64 // ms
	counter    uint16
}

// NewUniqIDGenerator returns a generator for a client at ip (IPv4 gives a
// 32-character id, IPv6 a 56-character one) in process pid.
func NewUniqIDGenerator(ip netip.Addr, pid int) *UniqIDGenerator {
	var raw [22]byte
	b := raw[:0]
	if a := ip.Unmap(); !a.IsValid() || a.Is4() {
		v4 := a.As4()
		if !a.IsValid() {
			v4 = [4]byte{}
		}
		b = append(b, v4[:]...)
	} else {
		v16 := a.As16()
		b = append(b, v16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(pid))
	b = binary.BigEndian.AppendUint32(b, rand.Uint32())
	return &UniqIDGenerator{prefix: appendUpperHex(nil, b), now: time.Now}
}

// Next returns a new id.
func (g *UniqIDGenerator) Next() string {
	now := g.now()
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms >= g.monthEnd || ms < g.monthStart {
		y, m, _ := now.Date()
		g.monthStart = time.Date(y, m, 1, 0, 0, 0, 0, now.Location()).UnixMilli()
		g.monthEnd = time.Date(y, m+1, 1, 0, 0, 0, 0, now.Location()).UnixMilli()
	}
	g.counter++
	var tail [6]byte
	binary.BigEndian.PutUint32(tail[:], uint32(ms-g.monthStart))
	binary.BigEndian.PutUint16(tail[4:], g.counter)
	g.mu.Unlock()

	var out [56]byte
	b := append(out[:0], g.prefix...)
	return string(appendUpperHex(b, tail[:]))
}
