package ha

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func sampleHello() *hello {
	return &hello{BrokerName: "broker-a", BrokerID: 2, MinOffset: 1 << 20, EndOffset: 5 << 20,
		SegmentSize: 1 << 20, Epochs: []EpochEntry{{1, 0}, {3, 4 << 20}}}
}

func sampleReply() *reply {
	return &reply{Accepted: true, Action: actionReset, TruncateTo: 100, StartOffset: 1 << 20,
		MasterMin: 1 << 20, MasterEnd: 9 << 20, Epochs: []EpochEntry{{1, 0}, {4, 8 << 20}}}
}

// readMessage parses a whole handshake message as the peers do.
func readMessage(b []byte) (byte, uint16, []byte, error) {
	return readEnvelope(bytes.NewReader(b))
}

func TestHAProtocolHandshakeRoundTrip(t *testing.T) {
	h := sampleHello()
	kind, ver, body, err := readMessage(encodeHello(h))
	if err != nil || kind != kindHello || ver != ProtocolVersion {
		t.Fatalf("envelope: %d %d %v", kind, ver, err)
	}
	got, err := decodeHello(body)
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("hello: %+v, %v", got, err)
	}
	for _, r := range []*reply{sampleReply(), {Reason: "broker name mismatch"}} {
		_, _, body, err := readMessage(encodeReply(r))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeReply(body)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("reply: %+v, %v, want %+v", got, err, r)
		}
	}
}

func TestHAProtocolRejectsBadHandshakes(t *testing.T) {
	oversized := appendEnvelope(nil, ProtocolVersion, kindHello, maxHandshakeBody+1)
	if _, _, _, err := readMessage(oversized); !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized body: %v", err)
	}
	badMagic := encodeHello(sampleHello())
	badMagic[0] = 'X'
	if _, _, _, err := readMessage(badMagic); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad magic: %v", err)
	}
	future := appendEnvelope(nil, 9, kindHello, 4)
	if _, v, body, err := readMessage(future); err != nil || v != 9 || body != nil {
		t.Fatalf("unknown version: v%d body %v err %v", v, body, err)
	}
	_, _, body, _ := readMessage(encodeHello(sampleHello()))
	long := append([]byte(nil), body...)
	binary.BigEndian.PutUint16(long[32:], maxBrokerName+1)
	manyEpochs := append([]byte(nil), body...)
	binary.BigEndian.PutUint32(manyEpochs[34+len("broker-a"):], MaxEpochEntries+1)
	for name, b := range map[string][]byte{
		"truncated": body[:len(body)-1], "trailing": append(append([]byte(nil), body...), 0),
		"long name": long, "too many epochs": manyEpochs,
	} {
		if _, err := decodeHello(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHAProtocolDataHeaderAndAck(t *testing.T) {
	h := dataHeader{Offset: 4096, Epoch: 3, EpochStart: 1024, MasterEnd: 9000, Length: 512}
	var b [dataHeaderSize]byte
	putDataHeader(b[:], &h)
	if got, err := decodeDataHeader(b[:]); err != nil || got != h {
		t.Fatalf("data header: %+v, %v", got, err)
	}
	for name, bad := range map[string]dataHeader{
		"oversized":      {Offset: 0, MasterEnd: 1 << 40, Length: MaxFrameData + 1},
		"beyond end":     {Offset: 100, MasterEnd: 150, Length: 100},
		"start > offset": {Offset: 100, EpochStart: 200, MasterEnd: 300},
		"huge offset":    {Offset: maxLogOffset + 1, MasterEnd: maxLogOffset + 2},
	} {
		putDataHeader(b[:], &bad)
		if _, err := decodeDataHeader(b[:]); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var a [ackSize]byte
	putAck(a[:], 12345)
	if off, err := decodeAck(a[:]); err != nil || off != 12345 {
		t.Fatalf("ack: %d, %v", off, err)
	}
	a[0] = 'X'
	if _, err := decodeAck(a[:]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad ack kind: %v", err)
	}
}

// FuzzHAHandshake feeds arbitrary bytes to the handshake readers: they must
// not panic, and whatever decodes must re-encode to the same message.
func FuzzHAHandshake(f *testing.F) {
	hello, rep, rej := encodeHello(sampleHello()), encodeReply(sampleReply()), encodeReply(&reply{Reason: "no"})
	for _, m := range [][]byte{hello, rep, rej, hello[:envelopeSize], hello[:len(hello)-5], rep[:20]} {
		f.Add(m)
	}
	f.Add(appendEnvelope(nil, ProtocolVersion, kindHello, maxHandshakeBody+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, _, body, err := readMessage(b)
		if err != nil || body == nil {
			return
		}
		switch kind {
		case kindHello:
			if h, err := decodeHello(body); err == nil {
				_, _, again, _ := readMessage(encodeHello(h))
				if h2, err := decodeHello(again); err != nil || !reflect.DeepEqual(h, h2) {
					t.Fatalf("hello round trip: %+v vs %+v (%v)", h, h2, err)
				}
			}
		case kindReply:
			if r, err := decodeReply(body); err == nil {
				_, _, again, _ := readMessage(encodeReply(r))
				if r2, err := decodeReply(again); err != nil || !reflect.DeepEqual(r, r2) {
					t.Fatalf("reply round trip: %+v vs %+v (%v)", r, r2, err)
				}
			}
		}
	})
}

// FuzzHAFrames feeds arbitrary bytes to the frame decoders.
func FuzzHAFrames(f *testing.F) {
	var b [dataHeaderSize]byte
	putDataHeader(b[:], &dataHeader{Offset: 4096, Epoch: 3, EpochStart: 1024, MasterEnd: 9000, Length: 512})
	f.Add(b[:])
	f.Add(b[:20])
	var a [ackSize]byte
	putAck(a[:], 77)
	f.Add(a[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := decodeDataHeader(b); err == nil {
			if h.Length > MaxFrameData || h.Offset < 0 || h.EpochStart > h.Offset {
				t.Fatalf("accepted bad header %+v", h)
			}
			var out [dataHeaderSize]byte
			putDataHeader(out[:], &h)
			if !bytes.Equal(out[:], b[:dataHeaderSize]) {
				t.Fatal("data header round trip differs")
			}
		}
		if off, err := decodeAck(b); err == nil && off < 0 {
			t.Fatalf("accepted negative ack %d", off)
		}
	})
}
