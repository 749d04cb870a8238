package message

import (
	"encoding/binary"
	"net/netip"
)

// RecordView is a decoded stored record whose Body, Topic and Properties
// alias the input. ParseRecord fills it without allocating; the store uses it
// on its hot paths (dispatch, recovery, pulls).
type RecordView struct {
	TotalSize        int32
	Magic            int32
	BodyCRC          int32
	QueueID          int32
	Flag             int32
	QueueOffset      int64
	PhysicalOffset   int64
	SysFlag          int32
	BornTimestamp    int64
	BornHost         netip.AddrPort
	StoreTimestamp   int64
	StoreHost        netip.AddrPort
	ReconsumeTimes   int32
	PreparedTxOffset int64
	Body             []byte
	Topic            []byte
	Properties       []byte
}

// Record converts v to a Record; only the topic is copied.
func (v *RecordView) Record() Record {
	return Record{
		TotalSize: v.TotalSize, Magic: v.Magic, BodyCRC: v.BodyCRC, QueueID: v.QueueID,
		Flag: v.Flag, QueueOffset: v.QueueOffset, PhysicalOffset: v.PhysicalOffset,
		SysFlag: v.SysFlag, BornTimestamp: v.BornTimestamp, BornHost: v.BornHost,
		StoreTimestamp: v.StoreTimestamp, StoreHost: v.StoreHost,
		ReconsumeTimes: v.ReconsumeTimes, PreparedTxOffset: v.PreparedTxOffset,
		Body: v.Body, Topic: string(v.Topic), Properties: v.Properties,
	}
}

// DecodeRecord decodes the stored record at the start of b and returns it with
// its size. Body and Properties alias b. With checkCRC the body CRC is
// verified. On ErrBlank the returned size is the END_FILE filler's size. It
// never panics and never allocates from a length it has not checked against
// len(b).
func DecodeRecord(b []byte, checkCRC bool) (Record, int, error) {
	v, err := ParseRecord(b, checkCRC)
	if err != nil {
		return Record{}, int(max(v.TotalSize, 0)), err
	}
	return v.Record(), int(v.TotalSize), nil
}

// PeekSize reads TOTALSIZE and MAGICCODE from the first 8 bytes of b.
func PeekSize(b []byte) (size, magic int32, err error) {
	if len(b) < 8 {
		return 0, 0, ErrTruncated
	}
	return int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:])), nil
}

// ParseRecord decodes the record at the start of b without copying. Errors:
// ErrTruncated (b ends inside the record), ErrBlank (an END_FILE filler;
// v.TotalSize is its size), ErrBadMagic, ErrSizeMismatch (lengths disagree
// with TOTALSIZE) and, with checkCRC, ErrCRCMismatch.
func ParseRecord(b []byte, checkCRC bool) (v RecordView, err error) {
	size, magic, err := PeekSize(b)
	if err != nil {
		return v, err
	}
	switch magic {
	case MagicBlank:
		v.TotalSize, v.Magic = size, magic
		if size < BlankSize {
			return v, ErrSizeMismatch
		}
		return v, ErrBlank
	case MagicV1, MagicV2:
	default:
		return v, ErrBadMagic
	}
	if size < RecordOverhead {
		return v, ErrSizeMismatch
	}
	if int64(size) > int64(len(b)) {
		return v, ErrTruncated
	}
	d := decoder{b: b[:size], pos: 8}
	v.TotalSize, v.Magic = size, magic
	d.fields(&v)
	if d.bad || d.pos != len(d.b) {
		return v, ErrSizeMismatch
	}
	if checkCRC && BodyCRC(v.Body) != v.BodyCRC {
		return v, ErrCRCMismatch
	}
	return v, nil
}

// decoder reads big-endian fields and records, instead of panicking, that it
// ran out of bytes.
type decoder struct {
	b   []byte
	pos int
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b)-d.pos {
		d.bad = true
		return nil
	}
	s := d.b[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return s
}

func (d *decoder) i32() int32 {
	if s := d.take(4); s != nil {
		return int32(binary.BigEndian.Uint32(s))
	}
	return 0
}

func (d *decoder) i64() int64 {
	if s := d.take(8); s != nil {
		return int64(binary.BigEndian.Uint64(s))
	}
	return 0
}

func (d *decoder) host(v6 bool) netip.AddrPort {
	var a netip.Addr
	if v6 {
		if s := d.take(16); s != nil {
			a = netip.AddrFrom16([16]byte(s))
		}
	} else if s := d.take(4); s != nil {
		a = netip.AddrFrom4([4]byte(s))
	}
	return netip.AddrPortFrom(a, uint16(d.i32()))
}

// fields decodes everything after MAGICCODE.
func (d *decoder) fields(v *RecordView) {
	v.BodyCRC = d.i32()
	v.QueueID = d.i32()
	v.Flag = d.i32()
	v.QueueOffset = d.i64()
	v.PhysicalOffset = d.i64()
	v.SysFlag = d.i32()
	v.BornTimestamp = d.i64()
	v.BornHost = d.host(v.SysFlag&SysFlagBornHostV6 != 0)
	v.StoreTimestamp = d.i64()
	v.StoreHost = d.host(v.SysFlag&SysFlagStoreHostV6 != 0)
	v.ReconsumeTimes = d.i32()
	v.PreparedTxOffset = d.i64()
	v.Body = d.take(int(d.i32()))
	var topicLen int
	if v.Magic == MagicV1 {
		if s := d.take(1); s != nil {
			topicLen = int(s[0])
		}
	} else if s := d.take(2); s != nil {
		topicLen = int(binary.BigEndian.Uint16(s))
	}
	v.Topic = d.take(topicLen)
	if s := d.take(2); s != nil {
		v.Properties = d.take(int(int16(binary.BigEndian.Uint16(s))))
	}
}

// AppendBlank appends an END_FILE filler header (free i32, MagicBlank) that
// declares free bytes to the end of a segment.
func AppendBlank(dst []byte, free int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(free))
	blank := MagicBlank
	return binary.BigEndian.AppendUint32(dst, uint32(blank))
}
