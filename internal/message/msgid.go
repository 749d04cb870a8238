package message

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

const upperHex = "0123456789ABCDEF"

// OffsetMsgID returns the offsetMsgId of a record: uppercase hex of store ip ‖
// i32 port ‖ i64 physical offset (32 characters for IPv4, 56 for IPv6).
func OffsetMsgID(storeHost netip.AddrPort, physOffset int64) string {
	var raw [28]byte
	b := appendHost(raw[:0], storeHost)
	b = binary.BigEndian.AppendUint64(b, uint64(physOffset))
	var out [56]byte
	return string(appendUpperHex(out[:0], b))
}

func appendUpperHex(dst, src []byte) []byte {
	for _, c := range src {
		dst = append(dst, upperHex[c>>4], upperHex[c&0xF])
	}
	return dst
}

// ParseOffsetMsgID parses an offsetMsgId (either case) back into the store
// host and physical offset. It fails with ErrBadMsgID on a length other than
// 32 or 56, non-hex input, a port above 65535 or a negative offset.
func ParseOffsetMsgID(id string) (netip.AddrPort, int64, error) {
	var raw [28]byte
	if len(id) != 32 && len(id) != 56 {
		return netip.AddrPort{}, 0, ErrBadMsgID
	}
	n, err := hex.Decode(raw[:], []byte(id))
	if err != nil {
		return netip.AddrPort{}, 0, ErrBadMsgID
	}
	b := raw[:n]
	ipLen := n - 12
	var addr netip.Addr
	if ipLen == 4 {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		addr = netip.AddrFrom16([16]byte(b[:16]))
	}
	port := binary.BigEndian.Uint32(b[ipLen:])
	off := int64(binary.BigEndian.Uint64(b[ipLen+4:]))
	if port > 65535 || off < 0 {
		return netip.AddrPort{}, 0, ErrBadMsgID
	}
	return netip.AddrPortFrom(addr, uint16(port)), off, nil
}
