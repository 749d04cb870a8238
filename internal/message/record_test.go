package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func sampleRecord() Record {
	return Record{
		QueueID: 3, Flag: 7, QueueOffset: 42, PhysicalOffset: 1 << 33, SysFlag: SysFlagMultiTags,
		BornTimestamp: 1735200000000, BornHost: netip.MustParseAddrPort("10.0.0.5:51234"),
		StoreTimestamp: 1735200000123, StoreHost: netip.MustParseAddrPort("10.0.0.1:10911"),
		ReconsumeTimes: 2, PreparedTxOffset: 9,
		Body: []byte("hello body"), Topic: "TopicTest",
		Properties: EncodeProperties(map[string]string{PropertyTags: "TagA", PropertyKeys: "k1 k2"}),
	}
}

func mustAppend(t testing.TB, dst []byte, r *Record) []byte {
	t.Helper()
	b, err := AppendRecord(dst, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordRoundTripV4AndV6(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		r := sampleRecord()
		if v6 {
			r.BornHost = netip.MustParseAddrPort("[2001:db8::1]:1")
			r.StoreHost = netip.MustParseAddrPort("[fe80::2]:10911")
		}
		b := mustAppend(t, nil, &r)
		if int64(len(b)) != r.Size() || int(r.TotalSize) != len(b) {
			t.Fatalf("v6=%v: len %d, Size %d, TotalSize %d", v6, len(b), r.Size(), r.TotalSize)
		}
		wantLen := RecordSize(len(r.Body), len(r.Topic), len(r.Properties))
		if v6 {
			wantLen += 24
		}
		if int64(len(b)) != wantLen {
			t.Fatalf("v6=%v: len %d want %d", v6, len(b), wantLen)
		}
		got, n, err := DecodeRecord(b, true)
		if err != nil || n != len(b) {
			t.Fatalf("v6=%v: decode n=%d err=%v", v6, n, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("v6=%v: round trip\n got %+v\nwant %+v", v6, got, r)
		}
		if hasV6 := got.SysFlag&(SysFlagBornHostV6|SysFlagStoreHostV6) != 0; hasV6 != v6 {
			t.Fatalf("host bits %x", got.SysFlag)
		}
	}
}

func TestRecordLayoutFixedOffsets(t *testing.T) {
	r := Record{Topic: "T", Body: []byte{1, 2}, StoreHost: netip.MustParseAddrPort("1.2.3.4:5")}
	b := mustAppend(t, nil, &r)
	be := binary.BigEndian
	if len(b) != RecordOverhead+3 || be.Uint32(b) != uint32(len(b)) {
		t.Fatalf("size %d", len(b))
	}
	if int32(be.Uint32(b[OffMagic:])) != MagicV1 {
		t.Fatal("magic")
	}
	if int32(be.Uint32(b[OffBodyCRC:])) != BodyCRC([]byte{1, 2}) {
		t.Fatal("crc")
	}
	// STOREHOST follows BORNHOST(8) and STORETIMESTAMP(8).
	if !bytes.Equal(b[64:72], []byte{1, 2, 3, 4, 0, 0, 0, 5}) {
		t.Fatalf("store host bytes % x", b[64:72])
	}
	// body at 84: BODYLEN, body, TOPICLEN, topic, PROPLEN
	if !bytes.Equal(b[84:], []byte{0, 0, 0, 2, 1, 2, 1, 'T', 0, 0}) {
		t.Fatalf("tail % x", b[84:])
	}
}

func TestRecordPatchInPlace(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		r := sampleRecord()
		if v6 {
			r.BornHost = netip.MustParseAddrPort("[::1]:9")
		}
		b := mustAppend(t, nil, &r)
		PutQueueOffset(b, 77)
		PutPhysicalOffset(b, 1234567)
		PutStoreTimestamp(b, 99)
		got, _, err := DecodeRecord(b, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.QueueOffset != 77 || got.PhysicalOffset != 1234567 || got.StoreTimestamp != 99 {
			t.Fatalf("v6=%v: patched fields %+v", v6, got)
		}
		if got.BornTimestamp != r.BornTimestamp || got.StoreHost != r.StoreHost {
			t.Fatalf("v6=%v: patch clobbered neighbours", v6)
		}
	}
}

func TestRecordReencode(t *testing.T) {
	r := sampleRecord()
	src := mustAppend(t, nil, &r)
	out, err := Reencode(nil, src, func(x *Record) {
		x.Topic = "%RETRY%cg"
		x.QueueID = 0
		x.ReconsumeTimes++
		x.Properties = append(append([]byte{}, x.Properties...), "DELAY\x013\x02"...)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := DecodeRecord(out, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Topic != "%RETRY%cg" || got.ReconsumeTimes != 3 || DelayLevelFromProperties(got.Properties) != 3 {
		t.Fatalf("reencoded %+v", got)
	}
	if !bytes.Equal(got.Body, r.Body) || int(got.TotalSize) != len(out) {
		t.Fatal("body or size")
	}
}

func TestRecordAppendRejectsUnencodable(t *testing.T) {
	r := sampleRecord()
	r.Topic = string(make([]byte, MaxTopicLen+1))
	if _, err := AppendRecord(nil, &r); !errors.Is(err, ErrTopicInvalid) {
		t.Fatalf("long topic: %v", err)
	}
	r = sampleRecord()
	r.Properties = make([]byte, MaxPropertiesSize+1)
	if _, err := AppendRecord(nil, &r); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("long props: %v", err)
	}
}

func TestRecordDecodeErrors(t *testing.T) {
	r := sampleRecord()
	good := mustAppend(t, nil, &r)
	for i := 0; i < len(good); i++ { // every truncation
		if _, _, err := DecodeRecord(good[:i], true); !errors.Is(err, ErrTruncated) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	be := binary.BigEndian
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"bad magic", mut(func(b []byte) { be.PutUint32(b[4:], 1) }), ErrBadMagic},
		{"crc", mut(func(b []byte) { b[88] ^= 1 }), ErrCRCMismatch},
		{"size too small", mut(func(b []byte) { be.PutUint32(b, 10) }), ErrSizeMismatch},
		{"size shorter than fields", mut(func(b []byte) { be.PutUint32(b, uint32(len(b)-1)) }), ErrSizeMismatch},
		{"body len huge", mut(func(b []byte) { be.PutUint32(b[84:], 0x7FFFFFFF) }), ErrSizeMismatch},
		{"body len negative", mut(func(b []byte) { be.PutUint32(b[84:], 0xFFFFFFFF) }), ErrSizeMismatch},
		{"blank", AppendBlank(nil, 100), ErrBlank},
		{"tiny blank", AppendBlank(nil, 3), ErrSizeMismatch},
	}
	for _, c := range cases {
		_, _, err := DecodeRecord(c.b, true)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, n, err := DecodeRecord(AppendBlank(nil, 100), false); !errors.Is(err, ErrBlank) || n != 100 {
		t.Fatalf("blank size %d %v", n, err)
	}
	// Trailing bytes after a valid record are not part of it.
	if _, n, err := DecodeRecord(append(good, 1, 2, 3), true); err != nil || n != len(good) {
		t.Fatalf("trailing: %d %v", n, err)
	}
}

func TestRecordEncodeAndParseDoNotAllocate(t *testing.T) {
	r := sampleRecord()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		b, err := AppendRecord(buf[:0], &r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRecord(b, true); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v", allocs)
	}
}
