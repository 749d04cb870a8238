package message

import (
	"bytes"
	"slices"
	"strings"
)

// Property separators. Part of the format: never change them.
const (
	NameValueSeparator = byte(0x01)
	PropertySeparator  = byte(0x02)
)

// EncodeProperties encodes m as key 0x01 value 0x02 ..., keys sorted so that
// equal maps give equal bytes. It does not validate; see ValidateProperties.
func EncodeProperties(m map[string]string) []byte {
	return AppendProperties(nil, m)
}

// AppendProperties appends the encoding of m (sorted keys) to dst.
func AppendProperties(dst []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return dst
	}
	keys := make([]string, 0, len(m))
	n := 0
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	slices.Sort(keys)
	dst = slices.Grow(dst, n)
	for _, k := range keys {
		dst = append(dst, k...)
		dst = append(dst, NameValueSeparator)
		dst = append(dst, m[k]...)
		dst = append(dst, PropertySeparator)
	}
	return dst
}

// DecodeProperties decodes raw properties the way the Go client does: split
// on 0x02, then on 0x01, keeping only items with exactly two parts. Later
// duplicates win. It never fails.
func DecodeProperties(raw []byte) map[string]string {
	m := make(map[string]string, bytes.Count(raw, []byte{PropertySeparator})+1)
	forEachProperty(raw, func(k, v []byte) bool {
		m[string(k)] = string(v)
		return true
	})
	return m
}

// forEachProperty calls fn for each well-formed key/value item of raw until
// fn returns false. It does not allocate.
func forEachProperty(raw []byte, fn func(k, v []byte) bool) {
	for len(raw) > 0 {
		item := raw
		if i := bytes.IndexByte(raw, PropertySeparator); i >= 0 {
			item, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		sep := bytes.IndexByte(item, NameValueSeparator)
		if sep < 0 || bytes.IndexByte(item[sep+1:], NameValueSeparator) >= 0 {
			continue // not exactly two parts
		}
		if !fn(item[:sep], item[sep+1:]) {
			return
		}
	}
}

// LookupProperty returns the value of key in raw properties without
// allocating; the result aliases raw. With duplicate keys the last one wins,
// matching DecodeProperties.
func LookupProperty(raw []byte, key string) ([]byte, bool) {
	var val []byte
	found := false
	forEachProperty(raw, func(k, v []byte) bool {
		if string(k) == key {
			val, found = v, true
		}
		return true
	})
	return val, found
}

// ValidateProperties checks that no key or value contains a separator, no key
// is empty, and the encoding fits in MaxPropertiesSize.
func ValidateProperties(m map[string]string) error {
	n := 0
	for k, v := range m {
		if k == "" || strings.ContainsAny(k, "\x01\x02") || strings.ContainsAny(v, "\x01\x02") {
			return ErrPropertiesInvalid
		}
		n += len(k) + len(v) + 2
	}
	if n > MaxPropertiesSize {
		return ErrPropertiesTooLong
	}
	return nil
}

// ValidateRawProperties checks encoded properties: at most MaxPropertiesSize
// bytes and every item is key 0x01 value with a non-empty key. Producers'
// strings come from the wire, so the broker checks them before storing.
func ValidateRawProperties(raw []byte) error {
	if len(raw) > MaxPropertiesSize {
		return ErrPropertiesTooLong
	}
	for len(raw) > 0 {
		item := raw
		if i := bytes.IndexByte(raw, PropertySeparator); i >= 0 {
			item, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		sep := bytes.IndexByte(item, NameValueSeparator)
		if sep <= 0 || bytes.IndexByte(item[sep+1:], NameValueSeparator) >= 0 {
			return ErrPropertiesInvalid
		}
	}
	return nil
}
