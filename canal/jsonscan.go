package canal

// The JSON scanning under DecodeFlat: objects, arrays, strings, numbers and
// literals read the way encoding/json's scanner accepts them.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// object reads an object at the current '{': value is called with each
// key and the object's depth, positioned at the key's value, and must
// consume it.
func (d *flatDecoder) object(depth int, value func(key string, depth int) error) error {
	if depth > maxFlatDepth {
		return errors.New("exceeded max depth")
	}
	d.i++ // '{'
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		if d.i >= len(d.s) {
			return errEOF
		}
		if d.s[d.i] != '"' {
			return d.unexpected("looking for the beginning of an object key")
		}
		key, err := d.string()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return errEOF
		}
		if d.s[d.i] != ':' {
			return d.unexpected("after an object key")
		}
		d.i++
		if err := d.value(); err != nil {
			return err
		}
		if err := value(key, depth); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return errEOF
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return nil
		default:
			return d.unexpected("after an object value")
		}
	}
}

// array reads an array at the current '[': elem is called positioned at
// each element, with the array's depth, and must consume it.
func (d *flatDecoder) array(depth int, elem func(depth int) error) error {
	if depth > maxFlatDepth {
		return errors.New("exceeded max depth")
	}
	d.i++ // '['
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return nil
	}
	for {
		if err := d.value(); err != nil {
			return err
		}
		if err := elem(depth); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return errEOF
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.unexpected("after an array element")
		}
	}
}

// value skips white space before a value and checks one starts there.
func (d *flatDecoder) value() error {
	d.ws()
	if d.i >= len(d.s) {
		return errEOF
	}
	return nil
}

// skip reads and discards the value at the current byte; depth is that of
// the object or array holding it.
func (d *flatDecoder) skip(depth int) error {
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth+1, func(_ string, depth int) error { return d.skip(depth) })
	case c == '[':
		return d.array(depth+1, d.skip)
	case c == '"':
		return d.skipString()
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	return d.unexpected("looking for the beginning of a value")
}

// null consumes a null at the current byte and reports whether there was
// one.
func (d *flatDecoder) null() bool {
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

func (d *flatDecoder) literal(lit string) error {
	if strings.HasPrefix(d.s[d.i:], lit) {
		d.i += len(lit)
		return nil
	}
	if len(d.s)-d.i < len(lit) && strings.HasPrefix(lit, d.s[d.i:]) {
		return errEOF
	}
	return d.unexpected("in literal " + lit)
}

// str decodes a string field (null leaves it as it was).
func (d *flatDecoder) str(dst *string, name string) error {
	if d.null() {
		return nil
	}
	if d.s[d.i] != '"' {
		return d.typeErr(name)
	}
	s, err := d.string()
	if err == nil {
		*dst = s
	}
	return err
}

func (d *flatDecoder) bool(dst *bool, name string) error {
	switch {
	case d.null():
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		*dst = true
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		*dst = false
	default:
		return d.typeErr(name)
	}
	return nil
}

// int decodes an integer field as encoding/json does: the number's text
// must parse as an int64 (no fraction or exponent).
func (d *flatDecoder) int(dst *int64, name string) error {
	if d.null() {
		return nil
	}
	lit, err := d.numberField(name)
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: cannot decode number %s into an int64", name, lit)
	}
	*dst = n
	return nil
}

func (d *flatDecoder) uint(dst *uint64, bits int, name string) error {
	if d.null() {
		return nil
	}
	lit, err := d.numberField(name)
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(lit, 10, bits)
	if err != nil {
		return fmt.Errorf("%s: cannot decode number %s into a uint%d", name, lit, bits)
	}
	*dst = n
	return nil
}

func (d *flatDecoder) uint32(dst *uint32, name string) error {
	n := uint64(*dst)
	err := d.uint(&n, 32, name)
	*dst = uint32(n)
	return err
}

// numberField reads the number of a numeric field.
func (d *flatDecoder) numberField(name string) (string, error) {
	if c := d.s[d.i]; c != '-' && (c < '0' || c > '9') {
		return "", d.typeErr(name)
	}
	return d.number()
}

// number reads a JSON number and returns its text.
func (d *flatDecoder) number() (string, error) {
	s, start := d.s, d.i
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return "", errEOF
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		d.i = i
		return "", d.unexpected("in numeric literal")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if j := digits(s, i); j > i {
			i = j
		} else {
			d.i = i
			return "", d.endOrUnexpected("after decimal point in numeric literal")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if j := digits(s, i); j > i {
			i = j
		} else {
			d.i = i
			return "", d.endOrUnexpected("in exponent of numeric literal")
		}
	}
	d.i = i
	return s[start:i], nil
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// string reads a JSON string at the current '"'. Without escapes or
// invalid UTF-8 it is a slice of the input; else it is decoded as
// encoding/json does.
func (d *flatDecoder) string() (string, error) {
	s := d.s
	start := d.i + 1
	// Fast path: most strings hold no escape, control byte or invalid
	// UTF-8; find the closing quote with IndexByte and check the span.
	if j := strings.IndexByte(s[start:], '"'); j >= 0 {
		seg := s[start : start+j]
		if strings.IndexByte(seg, '\\') < 0 && noControl(seg) && utf8.ValidString(seg) {
			d.i = start + j + 1
			return seg, nil
		}
	}
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.unquote(start, i)
		case c < 0x20:
			d.i = i
			return "", d.unexpected("in string literal")
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return d.unquote(start, i)
			}
			i += n
		}
	}
	return "", errEOF
}

// noControl reports whether s holds no byte below 0x20.
func noControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return false
		}
	}
	return true
}

// unquote decodes the string starting at start whose bytes before i need
// no decoding.
func (d *flatDecoder) unquote(start, i int) (string, error) {
	s := d.s
	b := make([]byte, 0, i-start+16)
	b = append(b, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), nil
		case c < 0x20:
			d.i = i
			return "", d.unexpected("in string literal")
		case c == '\\':
			if i+1 >= len(s) {
				return "", errEOF
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, err := d.hex4(i + 2)
				if err != nil {
					return "", err
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair is one rune; a lone half is U+FFFD (and
					// what follows it is read on its own).
					if r2, ok := d.u4(i); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				d.i = i + 1
				return "", d.unexpected("in string escape code")
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return "", errEOF
}

// hex4 reads the 4 hex digits of a \u escape at i.
func (d *flatDecoder) hex4(i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(d.s) {
			return 0, errEOF
		}
		v, ok := hexVal(d.s[j])
		if !ok {
			d.i = j
			return 0, d.unexpected("in \\u hexadecimal character escape")
		}
		r = r<<4 | v
	}
	return r, nil
}

// u4 reads a \uXXXX escape at i, if there is a well-formed one.
func (d *flatDecoder) u4(i int) (rune, bool) {
	if i+6 > len(d.s) || d.s[i] != '\\' || d.s[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for j := i + 2; j < i+6; j++ {
		v, ok := hexVal(d.s[j])
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// skipString reads a string without decoding it.
func (d *flatDecoder) skipString() error {
	s := d.s
	for i := d.i + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			d.i = i + 1
			return nil
		case c < 0x20:
			d.i = i
			return d.unexpected("in string literal")
		case c == '\\':
			i++
			if i >= len(s) {
				return errEOF
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, err := d.hex4(i + 1); err != nil {
					return err
				}
				i += 4
			default:
				d.i = i
				return d.unexpected("in string escape code")
			}
		}
	}
	return errEOF
}

func (d *flatDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// kind names the JSON type of the value at the current byte.
func (d *flatDecoder) kind() string {
	switch d.s[d.i] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	}
	return "number"
}

func (d *flatDecoder) typeErr(name string) error {
	if c := d.s[d.i]; c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == '-' || c >= '0' && c <= '9' {
		return fmt.Errorf("%s: cannot decode a JSON %s into it", name, d.kind())
	}
	return d.unexpected("looking for the beginning of a value")
}

func (d *flatDecoder) unexpected(context string) error {
	return fmt.Errorf("invalid character %q at offset %d %s", d.s[d.i], d.i, context)
}

// endOrUnexpected is errEOF at the input's end, else unexpected.
func (d *flatDecoder) endOrUnexpected(context string) error {
	if d.i >= len(d.s) {
		return errEOF
	}
	return d.unexpected(context)
}
