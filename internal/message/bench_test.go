package message

import (
	"net/netip"
	"testing"
)

func benchRecord(bodySize int) Record {
	r := sampleRecord()
	r.Body = make([]byte, bodySize)
	return r
}

func BenchmarkAppendRecord(b *testing.B) {
	for _, size := range []int{128, 1024, 16384} {
		b.Run(sizeName(size), func(b *testing.B) {
			r := benchRecord(size)
			buf := make([]byte, 0, r.Size())
			b.SetBytes(r.Size())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := AppendRecord(buf[:0], &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeMessages(b *testing.B) {
	for _, size := range []int{128, 1024} {
		b.Run(sizeName(size), func(b *testing.B) {
			var body []byte
			for i := range 32 { // a default pull batch
				r := benchRecord(size)
				r.QueueOffset = int64(i)
				body = mustAppend(b, body, &r)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeMessages(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func BenchmarkParseRecord(b *testing.B) {
	r := benchRecord(1024)
	buf := mustAppend(b, nil, &r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecord(buf, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUniqIDNext(b *testing.B) {
	g := NewUniqIDGenerator(netip.MustParseAddr("10.0.0.1"), 1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = g.Next()
		}
	})
}

func sizeName(n int) string {
	switch {
	case n >= 1024:
		return itoa(n/1024) + "KiB"
	default:
		return itoa(n) + "B"
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
