package message

import (
	"bytes"
	"compress/zlib"
	"errors"
	"net/netip"
	"testing"
)

func pullBody(t testing.TB, recs ...Record) []byte {
	var b []byte
	for i := range recs {
		b = mustAppend(t, b, &recs[i])
	}
	return b
}

func TestDecodeMessagesFields(t *testing.T) {
	plain := sampleRecord()
	big := bytes.Repeat([]byte("compress me "), 1000)
	z, err := Deflate(big, 5)
	if err != nil {
		t.Fatal(err)
	}
	comp := sampleRecord()
	comp.Body, comp.SysFlag, comp.PhysicalOffset = z, SysFlagCompressed, 500
	comp.Properties = EncodeProperties(map[string]string{PropertyUniqKey: "UNIQ1"})
	msgs, err := DecodeMessages(pullBody(t, plain, comp))
	if err != nil || len(msgs) != 2 {
		t.Fatalf("n=%d err=%v", len(msgs), err)
	}
	m := msgs[0]
	if m.Topic != "TopicTest" || m.QueueID != 3 || m.QueueOffset != 42 || m.CommitLogOffset != 1<<33 ||
		m.Tags() != "TagA" || m.Keys() != "k1 k2" || string(m.Body) != "hello body" || m.ReconsumeTimes != 2 ||
		m.StoreHost != plain.StoreHost || m.BornHost != plain.BornHost || int64(m.StoreSize) != plain.Size() {
		t.Fatalf("plain %+v", m)
	}
	if m.MsgID != m.OffsetMsgID || m.OffsetMsgID != OffsetMsgID(plain.StoreHost, 1<<33) {
		t.Fatalf("ids %s %s", m.MsgID, m.OffsetMsgID)
	}
	c := msgs[1]
	if !bytes.Equal(c.Body, big) || c.SysFlag&SysFlagCompressed != 0 || c.InflateErr != nil {
		t.Fatalf("compressed body not inflated: %d bytes, sys %x, %v", len(c.Body), c.SysFlag, c.InflateErr)
	}
	if c.MsgID != "UNIQ1" || c.OffsetMsgID != OffsetMsgID(comp.StoreHost, 500) {
		t.Fatalf("compressed ids %s %s", c.MsgID, c.OffsetMsgID)
	}
}

func TestDecodeMessagesBadCompressedBodyKeptRaw(t *testing.T) {
	r := sampleRecord()
	r.SysFlag = SysFlagCompressed
	msgs, err := DecodeMessages(pullBody(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].InflateErr == nil || msgs[0].SysFlag&SysFlagCompressed == 0 || string(msgs[0].Body) != "hello body" {
		t.Fatalf("%+v", msgs[0])
	}
}

func TestInflateCapsOutput(t *testing.T) {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zeros := make([]byte, 1<<20)
	for range 20 { // 20 MiB of zeros compresses to ~20 KiB
		zw.Write(zeros)
	}
	zw.Close()
	if _, err := Inflate(buf.Bytes(), MaxInflatedBodySize); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	if out, err := Inflate(buf.Bytes(), 21<<20); err != nil || len(out) != 20<<20 {
		t.Fatalf("within cap: %d %v", len(out), err)
	}
}

func TestDecodeMessagesErrors(t *testing.T) {
	good := pullBody(t, sampleRecord(), sampleRecord())
	if _, err := DecodeMessages(good[:len(good)-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	if msgs, err := DecodeMessages(nil); err != nil || len(msgs) != 0 {
		t.Fatal("empty body")
	}
}

func TestOffsetMsgID(t *testing.T) {
	id := OffsetMsgID(netip.MustParseAddrPort("127.0.0.1:10911"), 0x1234)
	if id != "7F00000100002A9F0000000000001234" {
		t.Fatalf("id %s", id)
	}
	host, off, err := ParseOffsetMsgID(id)
	if err != nil || host.String() != "127.0.0.1:10911" || off != 0x1234 {
		t.Fatalf("parse %v %d %v", host, off, err)
	}
	v6 := netip.MustParseAddrPort("[2001:db8::7]:10911")
	id6 := OffsetMsgID(v6, 1<<40)
	if len(id6) != 56 {
		t.Fatalf("v6 id length %d", len(id6))
	}
	if h, o, err := ParseOffsetMsgID(id6); err != nil || h != v6 || o != 1<<40 {
		t.Fatalf("v6 parse %v %d %v", h, o, err)
	}
	if _, _, err := ParseOffsetMsgID("7f00000100002a9f0000000000001234"); err != nil {
		t.Fatalf("lower case: %v", err)
	}
	bad := []string{"", "7F", "ZZ00000100002A9F0000000000001234", "7F000001FFFFFFFF0000000000001234",
		"7F00000100002A9F8000000000001234", id + "00"}
	for _, s := range bad {
		if _, _, err := ParseOffsetMsgID(s); !errors.Is(err, ErrBadMsgID) {
			t.Errorf("%q accepted", s)
		}
	}
}
