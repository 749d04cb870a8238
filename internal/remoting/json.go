package remoting

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSONHeader parses a JSON remoting header. It is a small purpose-built
// scanner rather than encoding/json: the header is on every request's path,
// and scanning it in place lets keys and values be substrings of one string
// instead of one allocation each. Unknown keys are skipped (with a nesting
// limit); a repeated key keeps its last value, as encoding/json would.
func decodeJSONHeader(h []byte) (*Command, error) {
	s := jsonScanner{s: string(h)}
	c := &Command{Serialize: SerializeJSON, Language: langUnknown}
	haveCode := false
	s.ws()
	if !s.eat('{') {
		return nil, s.err("header is not a JSON object")
	}
	for first := true; ; first = false {
		s.ws()
		if s.eat('}') {
			break
		}
		if !first {
			if !s.eat(',') {
				return nil, s.err("expected ',' or '}'")
			}
			s.ws()
		}
		key, err := s.str()
		if err != nil {
			return nil, err
		}
		s.ws()
		if !s.eat(':') {
			return nil, s.err("expected ':'")
		}
		s.ws()
		if err := s.field(c, key, &haveCode); err != nil {
			return nil, err
		}
	}
	s.ws()
	if s.p != len(s.s) {
		return nil, s.err("trailing data after header object")
	}
	if !haveCode {
		return nil, frameErr("JSON header has no code")
	}
	return c, nil
}

func (s *jsonScanner) field(c *Command, key string, haveCode *bool) error {
	var err error
	switch key {
	case "code":
		var v int64
		v, err = s.integer(16)
		c.Code, *haveCode = int16(v), true
	case "version":
		var v int64
		v, err = s.integer(16)
		c.Version = int16(v)
	case "opaque":
		var v int64
		v, err = s.integer(32)
		c.Opaque = int32(v)
	case "flag":
		var v int64
		v, err = s.integer(32)
		c.Flag = int32(v)
	case "language":
		err = s.language(c)
	case "remark":
		if s.null() {
			c.Remark = ""
			return nil
		}
		c.Remark, err = s.str()
	case "extFields":
		c.ExtFields, err = s.fields()
	default:
		err = s.skip(0)
	}
	return err
}

type jsonScanner struct {
	s string
	p int
}

func (s *jsonScanner) err(msg string) error {
	return frameErr("JSON header at byte %d: %s", s.p, msg)
}

func (s *jsonScanner) ws() {
	for s.p < len(s.s) {
		switch s.s[s.p] {
		case ' ', '\t', '\n', '\r':
			s.p++
		default:
			return
		}
	}
}

func (s *jsonScanner) eat(b byte) bool {
	if s.p < len(s.s) && s.s[s.p] == b {
		s.p++
		return true
	}
	return false
}

func (s *jsonScanner) null() bool {
	if strings.HasPrefix(s.s[s.p:], "null") {
		s.p += 4
		return true
	}
	return false
}

func (s *jsonScanner) language(c *Command) error {
	if s.p < len(s.s) && s.s[s.p] == '"' {
		name, err := s.str()
		c.Language = parseLanguage(name)
		return err
	}
	v, err := s.integer(8)
	if err == nil && v >= 0 {
		c.Language = LanguageCode(v)
	}
	return err
}

// number returns the literal text of a JSON number.
func (s *jsonScanner) number() (string, error) {
	start := s.p
	s.eat('-')
	digits := s.p
	for s.p < len(s.s) && s.s[s.p] >= '0' && s.s[s.p] <= '9' {
		s.p++
	}
	if s.p == digits {
		return "", s.err("expected a number")
	}
	if s.eat('.') {
		n := s.p
		for s.p < len(s.s) && s.s[s.p] >= '0' && s.s[s.p] <= '9' {
			s.p++
		}
		if s.p == n {
			return "", s.err("bad fraction")
		}
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		n := s.p
		for s.p < len(s.s) && s.s[s.p] >= '0' && s.s[s.p] <= '9' {
			s.p++
		}
		if s.p == n {
			return "", s.err("bad exponent")
		}
	}
	return s.s[start:s.p], nil
}

func (s *jsonScanner) integer(bits int) (int64, error) {
	lit, err := s.number()
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(lit, 10, bits)
	if perr != nil {
		return 0, s.err("number " + strconv.Quote(lit) + " is not an int" + strconv.Itoa(bits))
	}
	return v, nil
}

// str parses a JSON string. Without escapes the result is a substring.
func (s *jsonScanner) str() (string, error) {
	if !s.eat('"') {
		return "", s.err("expected a string")
	}
	start := s.p
	for s.p < len(s.s) {
		switch b := s.s[s.p]; {
		case b == '"':
			out := s.s[start:s.p]
			s.p++
			return out, nil
		case b == '\\':
			return s.escapedStr(start)
		case b < 0x20:
			return "", s.err("control character in string")
		default:
			s.p++
		}
	}
	return "", s.err("unterminated string")
}

func (s *jsonScanner) escapedStr(start int) (string, error) {
	buf := []byte(s.s[start:s.p])
	for s.p < len(s.s) {
		b := s.s[s.p]
		switch {
		case b == '"':
			s.p++
			return string(buf), nil
		case b < 0x20:
			return "", s.err("control character in string")
		case b != '\\':
			buf = append(buf, b)
			s.p++
			continue
		}
		if s.p+1 >= len(s.s) {
			break
		}
		e := s.s[s.p+1]
		s.p += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := s.unicodeEscape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", s.err("bad escape")
		}
	}
	return "", s.err("unterminated string")
}

// unicodeEscape reads the XXXX of \uXXXX (s.p is after the 'u'), joining a
// following low surrogate when there is one.
func (s *jsonScanner) unicodeEscape() (rune, error) {
	r, ok := s.hex4()
	if !ok {
		return 0, s.err("bad \\u escape")
	}
	if utf16.IsSurrogate(r) && strings.HasPrefix(s.s[s.p:], `\u`) {
		save := s.p
		s.p += 2
		if r2, ok := s.hex4(); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, nil
			}
		}
		s.p = save
	}
	if utf16.IsSurrogate(r) {
		return utf8.RuneError, nil
	}
	return r, nil
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.s)-s.p < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(s.s[s.p:s.p+4], 16, 32)
	if err != nil {
		return 0, false
	}
	s.p += 4
	return rune(v), true
}

// fields parses the extFields object. Values are strings in every RocketMQ
// implementation; numbers and booleans are kept as their literal text.
func (s *jsonScanner) fields() (Fields, error) {
	if s.null() {
		return nil, nil
	}
	if !s.eat('{') {
		return nil, s.err("extFields is not an object")
	}
	out := make(Fields, 0, 16)
	for first := true; ; first = false {
		s.ws()
		if s.eat('}') {
			return out, nil
		}
		if !first {
			if !s.eat(',') {
				return nil, s.err("expected ',' or '}' in extFields")
			}
			s.ws()
		}
		if len(out) >= MaxExtFields {
			return nil, frameErr("more than %d extFields", MaxExtFields)
		}
		k, err := s.str()
		if err != nil {
			return nil, err
		}
		s.ws()
		if !s.eat(':') {
			return nil, s.err("expected ':' in extFields")
		}
		s.ws()
		v, isNull, err := s.scalar()
		if err != nil {
			return nil, err
		}
		if !isNull {
			out = append(out, Field{k, v})
		}
	}
}

func (s *jsonScanner) scalar() (v string, isNull bool, err error) {
	if s.p >= len(s.s) {
		return "", false, s.err("unexpected end")
	}
	switch c := s.s[s.p]; {
	case c == '"':
		v, err = s.str()
		return v, false, err
	case c == 'n':
		if s.null() {
			return "", true, nil
		}
	case c == 't' && strings.HasPrefix(s.s[s.p:], "true"):
		s.p += 4
		return "true", false, nil
	case c == 'f' && strings.HasPrefix(s.s[s.p:], "false"):
		s.p += 5
		return "false", false, nil
	case c == '-' || (c >= '0' && c <= '9'):
		v, err = s.number()
		return v, false, err
	}
	return "", false, s.err("extFields value is not a string")
}

// skip skips any JSON value, refusing nesting deeper than maxJSONDepth.
func (s *jsonScanner) skip(depth int) error {
	if depth > maxJSONDepth {
		return s.err("nesting too deep")
	}
	if s.p >= len(s.s) {
		return s.err("unexpected end")
	}
	open := s.s[s.p]
	if open != '{' && open != '[' {
		_, _, err := s.scalar()
		return err
	}
	s.p++
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	for first := true; ; first = false {
		s.ws()
		if s.eat(closer) {
			return nil
		}
		if !first && !s.eat(',') {
			return s.err("expected ','")
		}
		s.ws()
		if open == '{' {
			if _, err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return s.err("expected ':'")
			}
			s.ws()
		}
		if err := s.skip(depth + 1); err != nil {
			return err
		}
	}
}
