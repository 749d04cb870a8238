package coltype

import (
	"encoding/base64"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// value is an event string parsed for a type; Append and AppendKey both
// start from it, so they accept exactly the same strings.
type value struct {
	i   int64   // signed integer; TIME in µs; YEAR
	u   uint64  // unsigned integer; BIT
	f   float64 // FLOAT (already rounded to float32), DOUBLE
	dec decimal // DECIMAL
	c   civil   // DATE, DATETIME, TIMESTAMP
	ok  bool    // c is a real date (else a zero or invalid one: NULL + raw)
	s   string  // text, ENUM, SET, JSON
	b   []byte  // BINARY, BLOB, GEOMETRY: the decoded bytes
}

// decodeBufs hold the decoded bytes of binary values between parse and
// the copy into a builder or key, so that a BLOB costs no allocation.
var decodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled bounds the buffers kept in decodeBufs: one huge BLOB must not
// pin its size in every pooled buffer.
const maxPooled = 1 << 20

// parsePooled is parse with a pooled decode buffer for binary types; the
// caller hands buf (nil for other types) back with putDecodeBuf once it
// is done with v.
func (t Type) parsePooled(s string, v *value) (buf *[]byte, err error) {
	if t.kind != KindBinary && t.kind != KindGeometry {
		return nil, t.parse(s, nil, v)
	}
	buf = decodeBufs.Get().(*[]byte)
	err = t.parse(s, (*buf)[:0], v)
	if cap(v.b) > cap(*buf) && cap(v.b) <= maxPooled {
		*buf = v.b[:0]
	}
	return buf, err
}

func putDecodeBuf(buf *[]byte) {
	if buf != nil {
		decodeBufs.Put(buf)
	}
}

// base64Strict rejects non-zero padding bits, so that each byte string has
// one accepted spelling.
var base64Strict = base64.StdEncoding.Strict()

// parse parses the event string s for t. scratch (length 0) receives the
// decoded bytes of binary types when it is large enough (else they are
// allocated). v is filled in place (it is large to copy) and must be the
// zero value.
func (t Type) parse(s string, scratch []byte, v *value) error {
	ok := false
	switch t.kind {
	case KindInt:
		if t.unsigned {
			v.u, ok = parseDigits(s)
			ok = ok && v.u <= uintMax(t.bits)
		} else {
			min, max := intRange(t.bits)
			v.i, ok = parseSigned(s, min, max)
		}
	case KindDecimal:
		v.dec, ok = parseDecimal(s, int(t.prec), int(t.scale))
	case KindFloat:
		v.f, ok = parseFloat(s, 32)
	case KindDouble:
		v.f, ok = parseFloat(s, 64)
	case KindBit:
		v.u, ok = parseDigits(s)
		ok = ok && v.u <= uintMax(t.bits)
	case KindYear:
		v.u, ok = parseDigits(s)
		v.i = int64(v.u)
		ok = ok && len(s) <= 4 && (v.i == 0 || v.i >= 1901 && v.i <= 2155)
	case KindDate:
		v.c, ok = parseDate(s)
		v.ok = v.c.valid()
	case KindDatetime:
		v.c, ok = parseDateTime(s, ' ')
		ok = ok && fits(v.c.micro, int(t.scale))
		v.ok = v.c.valid()
	case KindTimestamp:
		return t.parseTimestamp(s, v)
	case KindTime:
		v.i, ok = parseTime(s)
		ok = ok && fits(int(abs(v.i)%microsPerSecond), int(t.scale))
	case KindText, KindEnum, KindSet, KindJSON:
		v.s, ok = s, utf8.ValidString(s)
		if !ok {
			return t.invalid(s, "not UTF-8")
		}
	case KindBinary, KindGeometry:
		v.b, ok = decodeBase64(scratch, s)
		if !ok {
			return t.invalid(s, "not padded standard base64")
		}
	default:
		return t.invalid(s, "no value of the invalid type")
	}
	if !ok {
		return t.invalid(s, "not a value of the type")
	}
	return nil
}

// parseTimestamp parses a UTC instant "YYYY-MM-DDThh:mm:ss[.f…]Z", or a
// zero or invalid TIMESTAMP as MySQL displays it ("0000-00-00 00:00:00"):
// a real date without T and Z would be ambiguous (which zone?).
func (t Type) parseTimestamp(s string, v *value) error {
	var ok bool
	if n := len(s); n > 0 && s[n-1] == 'Z' {
		v.c, ok = parseDateTime(s[:n-1], 'T')
		v.ok = v.c.valid()
		if ok && !v.ok {
			return t.invalid(s, "not a date")
		}
	} else {
		v.c, ok = parseDateTime(s, ' ')
		if ok && v.c.valid() {
			return t.invalid(s, "a TIMESTAMP is a UTC instant with T and Z")
		}
	}
	if !ok || !fits(v.c.micro, int(t.scale)) {
		return t.invalid(s, "not a value of the type")
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// decodeBase64 decodes padded standard base64 into dst's array when it
// fits. Every accepted string is the canonical encoding of its bytes: the
// length must be a multiple of 4 and the decoder may not skip anything
// (encoding/base64 ignores '\r' and '\n').
func decodeBase64(dst []byte, s string) ([]byte, bool) {
	if len(s)%4 != 0 {
		return nil, false
	}
	n := base64.StdEncoding.DecodedLen(len(s))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := base64Strict.Decode(dst, bytesOf(s))
	if err != nil {
		return nil, false
	}
	pad := 0
	for i := len(s) - 1; i >= 0 && pad < 2 && s[i] == '='; i-- {
		pad++
	}
	if m != n-pad {
		return nil, false
	}
	return dst[:m], true
}

// bytesOf returns the bytes of s without copying them; the callers only
// read them (decode or copy into a builder), so the string is never
// mutated.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
