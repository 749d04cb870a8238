package message

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
)

func recordSeeds(f *testing.F) {
	r := sampleRecord()
	good := mustAppend(f, nil, &r)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(append([]byte{}, good...), good...))
	bad := append([]byte{}, good...)
	bad[90] ^= 0xFF
	f.Add(bad)
	f.Add(AppendBlank(nil, 64))
	f.Add([]byte{})
}

func FuzzDecodeRecord(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeRecord(b, true)
		if err != nil {
			return
		}
		if n < RecordOverhead || n > len(b) || int(r.TotalSize) != n {
			t.Fatalf("n=%d len=%d total=%d", n, len(b), r.TotalSize)
		}
		// A decoded record re-encodes to a record that decodes the same. (Not
		// byte-equal: ports above 65535 and v2 magic are normalized.)
		if len(r.Topic) <= MaxTopicLen {
			out, err := AppendRecord(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			r2, _, err := DecodeRecord(out, true)
			if err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("re-encode differs: %v\n%+v\n%+v", err, r, r2)
			}
		}
	})
}

func FuzzDecodeMessages(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := DecodeMessages(b)
		if err != nil {
			return
		}
		total := 0
		for _, m := range msgs {
			total += int(m.StoreSize)
		}
		if total != len(b) {
			t.Fatalf("sizes sum to %d of %d", total, len(b))
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	good, _ := EncodeBatch([]BatchItem{{Flag: 1, Body: []byte("x"), Properties: []byte("a\x01b\x02")}, {Body: []byte("yy")}})
	f.Add(good)
	f.Add(good[:7])
	f.Add(good[:len(good)-1])
	f.Add([]byte{0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := DecodeBatch(b)
		if err != nil {
			return
		}
		out, err := EncodeBatch(items)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(b) {
			t.Fatalf("re-encoded length %d != %d", len(out), len(b))
		}
	})
}

func FuzzDecodeProperties(f *testing.F) {
	f.Add([]byte("a\x011\x02b\x012\x02"))
	f.Add([]byte("a\x011"))
	f.Add([]byte("\x01\x02\x01\x01\x02"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := DecodeProperties(raw)
		for k, v := range m {
			got, ok := LookupProperty(raw, k)
			if !ok || string(got) != v {
				t.Fatalf("lookup %q = %q,%v; map has %q", k, got, ok, v)
			}
		}
		if ValidateProperties(m) == nil {
			back := DecodeProperties(EncodeProperties(m))
			if len(back) != len(m) {
				t.Fatalf("round trip lost keys")
			}
		}
	})
}

func FuzzParseOffsetMsgID(f *testing.F) {
	f.Add("7F00000100002A9F0000000000001234")
	f.Add("20010DB8000000000000000000000007_00002A9F0000010000000000")
	f.Add("7F00")
	f.Fuzz(func(t *testing.T, id string) {
		host, off, err := ParseOffsetMsgID(id)
		if err != nil {
			return
		}
		again := OffsetMsgID(host, off)
		if host.Addr().Is4In6() {
			// An IPv4-mapped IPv6 host is written as the IPv4 host it is
			// (records never carry the mapped form): compare what it means.
			host2, off2, err := ParseOffsetMsgID(again)
			if err != nil || host2 != netip.AddrPortFrom(host.Addr().Unmap(), host.Port()) || off2 != off {
				t.Fatalf("round trip %q -> %q -> %v %d %v", id, again, host2, off2, err)
			}
			return
		}
		if !bytesEqualFold(again, id) {
			t.Fatalf("round trip %q -> %q", id, again)
		}
	})
}

func bytesEqualFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }
