package message

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"net/netip"
)

// Byte offsets of the fixed-position fields of a stored record. Fields after
// BORNHOST move with the host lengths. Part of the format: never change them.
const (
	OffTotalSize      = 0
	OffMagic          = 4
	OffBodyCRC        = 8
	OffQueueID        = 12
	OffFlag           = 16
	OffQueueOffset    = 20
	OffPhysicalOffset = 28
	OffSysFlag        = 36
	OffBornTimestamp  = 40
	OffBornHost       = 48
)

// RecordOverhead is the size of a stored record with IPv4 hosts and an empty
// body, topic and properties.
const RecordOverhead = 91

// BlankSize is the size of the END_FILE header (free i32, MagicBlank i32).
const BlankSize = 8

// Record is one stored message in magic v1 layout. Body and Properties may
// alias the buffer a record was decoded from.
type Record struct {
	TotalSize        int32 // set by AppendRecord
	Magic            int32 // set to MagicV1 by AppendRecord
	BodyCRC          int32 // set by AppendRecord
	QueueID          int32
	Flag             int32
	QueueOffset      int64
	PhysicalOffset   int64
	SysFlag          int32 // host bits 0x10/0x20 are set by AppendRecord from the hosts
	BornTimestamp    int64
	BornHost         netip.AddrPort
	StoreTimestamp   int64
	StoreHost        netip.AddrPort
	ReconsumeTimes   int32
	PreparedTxOffset int64
	Body             []byte
	Topic            string
	Properties       []byte // raw key 0x01 value 0x02 ...
}

// hostLen returns the encoded length of a host and whether it is IPv6.
func hostLen(h netip.AddrPort) (int, bool) {
	a := h.Addr()
	if !a.IsValid() || a.Unmap().Is4() {
		return 8, false
	}
	return 20, true
}

// RecordSize returns the encoded size of a record with the given lengths and
// IPv4 hosts; add 12 per IPv6 host. It is int64 so huge inputs cannot wrap.
func RecordSize(bodyLen, topicLen, propsLen int) int64 {
	return RecordOverhead + int64(bodyLen) + int64(topicLen) + int64(propsLen)
}

// Size returns the encoded size of r.
func (r *Record) Size() int64 {
	bh, _ := hostLen(r.BornHost)
	sh, _ := hostLen(r.StoreHost)
	return RecordSize(len(r.Body), len(r.Topic), len(r.Properties)) + int64(bh-8+sh-8)
}

// AppendRecord appends r's magic v1 encoding to dst and returns the extended
// slice. It sets r.TotalSize, r.Magic, r.BodyCRC and the host bits of
// r.SysFlag. It does not allocate when dst has capacity. It fails only when a
// length does not fit its field (topic > MaxTopicLen, properties >
// MaxPropertiesSize, record > 2 GiB); it does not apply the broker's policy
// limits (topic characters, MaxBodySize).
func AppendRecord(dst []byte, r *Record) ([]byte, error) {
	if len(r.Topic) > MaxTopicLen {
		return dst, ErrTopicInvalid
	}
	if len(r.Properties) > MaxPropertiesSize {
		return dst, ErrPropertiesTooLong
	}
	size := r.Size()
	if size > math.MaxInt32 {
		return dst, ErrBodyTooLarge
	}
	_, bornV6 := hostLen(r.BornHost)
	_, storeV6 := hostLen(r.StoreHost)
	r.SysFlag = setBit(r.SysFlag, SysFlagBornHostV6, bornV6)
	r.SysFlag = setBit(r.SysFlag, SysFlagStoreHostV6, storeV6)
	r.TotalSize = int32(size)
	r.Magic = MagicV1
	r.BodyCRC = BodyCRC(r.Body)

	be := binary.BigEndian
	dst = be.AppendUint32(dst, uint32(r.TotalSize))
	dst = be.AppendUint32(dst, uint32(r.Magic))
	dst = be.AppendUint32(dst, uint32(r.BodyCRC))
	dst = be.AppendUint32(dst, uint32(r.QueueID))
	dst = be.AppendUint32(dst, uint32(r.Flag))
	dst = be.AppendUint64(dst, uint64(r.QueueOffset))
	dst = be.AppendUint64(dst, uint64(r.PhysicalOffset))
	dst = be.AppendUint32(dst, uint32(r.SysFlag))
	dst = be.AppendUint64(dst, uint64(r.BornTimestamp))
	dst = appendHost(dst, r.BornHost)
	dst = be.AppendUint64(dst, uint64(r.StoreTimestamp))
	dst = appendHost(dst, r.StoreHost)
	dst = be.AppendUint32(dst, uint32(r.ReconsumeTimes))
	dst = be.AppendUint64(dst, uint64(r.PreparedTxOffset))
	dst = be.AppendUint32(dst, uint32(len(r.Body)))
	dst = append(dst, r.Body...)
	dst = append(dst, byte(len(r.Topic)))
	dst = append(dst, r.Topic...)
	dst = be.AppendUint16(dst, uint16(len(r.Properties)))
	dst = append(dst, r.Properties...)
	return dst, nil
}

// BodyCRC returns the BODYCRC of body: CRC-32 (IEEE) with the sign bit
// cleared, as Java stores it.
func BodyCRC(body []byte) int32 {
	return int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF)
}

func setBit(v, bit int32, on bool) int32 {
	if on {
		return v | bit
	}
	return v &^ bit
}

// appendHost appends ip ‖ i32 port: 4+4 bytes for IPv4 (or an invalid
// address, encoded as 0.0.0.0), 16+4 for IPv6.
func appendHost(dst []byte, h netip.AddrPort) []byte {
	a := h.Addr().Unmap()
	switch {
	case !a.IsValid():
		dst = append(dst, 0, 0, 0, 0)
	case a.Is4():
		b := a.As4()
		dst = append(dst, b[:]...)
	default:
		b := a.As16()
		dst = append(dst, b[:]...)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(h.Port()))
}

// storeTimestampOffset returns where STORETIMESTAMP lives in a record whose
// SYSFLAG is sysFlag.
func storeTimestampOffset(sysFlag int32) int {
	if sysFlag&SysFlagBornHostV6 != 0 {
		return OffBornHost + 20
	}
	return OffBornHost + 8
}

// PutQueueOffset overwrites QUEUEOFFSET of the encoded record rec in place.
// rec must hold at least the fixed header (the caller encoded it).
func PutQueueOffset(rec []byte, off int64) {
	binary.BigEndian.PutUint64(rec[OffQueueOffset:], uint64(off))
}

// PutPhysicalOffset overwrites PHYSICALOFFSET of the encoded record rec.
func PutPhysicalOffset(rec []byte, off int64) {
	binary.BigEndian.PutUint64(rec[OffPhysicalOffset:], uint64(off))
}

// PutStoreTimestamp overwrites STORETIMESTAMP of the encoded record rec.
func PutStoreTimestamp(rec []byte, ms int64) {
	sys := int32(binary.BigEndian.Uint32(rec[OffSysFlag:]))
	binary.BigEndian.PutUint64(rec[storeTimestampOffset(sys):], uint64(ms))
}

// Reencode decodes the stored record src, lets edit change it (topic, queue,
// properties, flags ...), and appends the new encoding to dst with a
// recomputed size and CRC. The broker uses it for retry, DLQ and schedule
// re-puts. edit must not retain the record: Body and Properties alias src.
func Reencode(dst, src []byte, edit func(*Record)) ([]byte, error) {
	r, _, err := DecodeRecord(src, false)
	if err != nil {
		return dst, err
	}
	edit(&r)
	return AppendRecord(dst, &r)
}
