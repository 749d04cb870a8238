package message

import "unicode/utf8"

// TagsHash returns Java's String.hashCode of tag widened to int64: the value
// stored as a ConsumeQueue entry's tagsCode and sent in a subscription's
// codeSet. Java hashes UTF-16 code units, so a rune outside the BMP counts as
// its surrogate pair; invalid UTF-8 bytes count as U+FFFD, as Java's decoder
// substitutes them.
//
// rocketmq-client-go hashes bytes instead, so for non-ASCII tags its codeSet
// differs from this value; the broker should prefer tagsSet when present.
func TagsHash(tag string) int64 {
	return int64(JavaHashString(0, tag))
}

// JavaHashString continues Java's String.hashCode h over s, so the hash of
// a concatenation can be computed piecewise: JavaHashString(JavaHashString(0, a), b)
// equals the hash of a+b.
func JavaHashString(h int32, s string) int32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = 31*h + int32(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x10000 {
			h = 31*h + int32(r)
			continue
		}
		r -= 0x10000
		h = 31*h + int32(0xD800+(r>>10))
		h = 31*h + int32(0xDC00+(r&0x3FF))
	}
	return h
}

// JavaHashBytes is JavaHashString for UTF-8 bytes; it allocates only when b
// holds non-ASCII bytes.
func JavaHashBytes(h int32, b []byte) int32 {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return JavaHashString(h, string(b[i:]))
		}
		h = 31*h + int32(c)
	}
	return h
}
