package message

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	items := []BatchItem{
		{Flag: 1, Body: []byte("one"), Properties: EncodeProperties(map[string]string{"KEYS": "a"})},
		{Flag: 2, Body: []byte{}, Properties: []byte{}},
		{Flag: 3, Body: make([]byte, 1000), Properties: []byte("TAGS\x01x\x02")},
	}
	body, err := EncodeBatch(items)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, items) {
		t.Fatalf("got %+v", got)
	}
}

func TestBatchAcceptsGoClientLayout(t *testing.T) {
	// rocketmq-client-go's Message.Marshal: TOTALSIZE, MAGIC 0, BODYCRC 0, FLAG, BODYLEN, body, PROPLEN, props.
	be := binary.BigEndian
	props := []byte("UNIQ_KEY\x01X\x02")
	var b []byte
	b = be.AppendUint32(b, uint32(22+2+len(props)))
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, 9)
	b = be.AppendUint32(b, 2)
	b = append(b, 'h', 'i')
	b = be.AppendUint16(b, uint16(len(props)))
	b = append(b, props...)
	got, err := DecodeBatch(b)
	if err != nil || len(got) != 1 || got[0].Flag != 9 || string(got[0].Body) != "hi" || string(got[0].Properties) != string(props) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestBatchRejectsMalformed(t *testing.T) {
	good, _ := EncodeBatch([]BatchItem{{Body: []byte("abc"), Properties: []byte("k\x01v\x02")}})
	be := binary.BigEndian
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short", good[:10], ErrTruncated},
		{"cut body", good[:len(good)-1], ErrTruncated},
		{"magic", mut(func(b []byte) { be.PutUint32(b[4:], 7) }), ErrBadMagic},
		{"crc", mut(func(b []byte) { be.PutUint32(b[8:], 1) }), ErrCRCMismatch},
		{"total too big", mut(func(b []byte) { be.PutUint32(b, uint32(len(b)+1)) }), ErrTruncated},
		{"total negative", mut(func(b []byte) { be.PutUint32(b, 0x80000000) }), ErrSizeMismatch},
		{"body len lies", mut(func(b []byte) { be.PutUint32(b[16:], 2) }), ErrSizeMismatch},
		{"body len huge", mut(func(b []byte) { be.PutUint32(b[16:], 0x7FFFFFF0) }), ErrSizeMismatch},
		{"prop len negative", mut(func(b []byte) { be.PutUint16(b[23:], 0x8000) }), ErrSizeMismatch},
	}
	for _, c := range cases {
		if _, err := DecodeBatch(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	// A body over MaxBodySize is refused even when lengths agree.
	var b []byte
	b = be.AppendUint32(b, uint32(22+MaxBodySize+1))
	b = append(b, make([]byte, 12)...)
	b = be.AppendUint32(b, MaxBodySize+1)
	b = append(b, make([]byte, MaxBodySize+1+2)...)
	if _, err := DecodeBatch(b); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("large body: %v", err)
	}
	if _, err := EncodeBatch([]BatchItem{{Body: make([]byte, MaxBodySize+1)}}); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("encode large: %v", err)
	}
}
