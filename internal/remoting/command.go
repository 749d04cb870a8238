package remoting

import (
	"fmt"
	"strconv"
)

// SerializeType selects how a frame header is encoded. Part of the wire
// format: never renumber.
type SerializeType byte

// Header serializations.
const (
	SerializeJSON     SerializeType = 0
	SerializeRocketMQ SerializeType = 1
)

// Flag bits of a command. Part of the wire format: never renumber.
const (
	FlagResponse int32 = 1 << 0
	FlagOneway   int32 = 1 << 1
)

// Version is the protocol version Sluice sends (V4_9_4 = 401 in Apache
// RocketMQ's MQVersion). Servers use the request's version to pick legacy
// encodings, so replies never depend on this value.
const Version int16 = 401

// LanguageCode identifies the implementation language of a peer. Part of the
// wire format: never renumber.
type LanguageCode byte

// Language codes as Apache RocketMQ numbers them.
const (
	LangJava    LanguageCode = 0
	LangCPP     LanguageCode = 1
	LangDotNet  LanguageCode = 2
	LangPython  LanguageCode = 3
	LangDelphi  LanguageCode = 4
	LangErlang  LanguageCode = 5
	LangRuby    LanguageCode = 6
	LangOther   LanguageCode = 7
	LangHTTP    LanguageCode = 8
	LangGo      LanguageCode = 9
	LangPHP     LanguageCode = 10
	LangOMS     LanguageCode = 11
	LangRust    LanguageCode = 12
	LangNodeJS  LanguageCode = 13
	langUnknown LanguageCode = 0xFF
)

var languageNames = [...]string{
	LangJava: "JAVA", LangCPP: "CPP", LangDotNet: "DOTNET", LangPython: "PYTHON",
	LangDelphi: "DELPHI", LangErlang: "ERLANG", LangRuby: "RUBY", LangOther: "OTHER",
	LangHTTP: "HTTP", LangGo: "GO", LangPHP: "PHP", LangOMS: "OMS", LangRust: "RUST",
	LangNodeJS: "NODE_JS",
}

// String returns the name Java's LanguageCode enum uses.
func (l LanguageCode) String() string {
	if int(l) < len(languageNames) {
		return languageNames[l]
	}
	return "OTHER"
}

func parseLanguage(s string) LanguageCode {
	for i, n := range languageNames {
		if n == s {
			return LanguageCode(i)
		}
	}
	return langUnknown
}

// Field is one extFields entry.
type Field struct {
	Key, Value string
}

// Fields holds a command's extFields. A slice rather than a map: headers have
// a dozen entries, a linear scan is as fast as hashing, and decoding needs no
// per-entry allocation. When a key repeats, the last one wins, as in a map.
type Fields []Field

// Get returns the value of key and whether it is present.
func (f Fields) Get(key string) (string, bool) {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].Key == key {
			return f[i].Value, true
		}
	}
	return "", false
}

// Value returns the value of key, or "" when absent.
func (f Fields) Value(key string) string {
	v, _ := f.Get(key)
	return v
}

// Set replaces the value of key, or appends it.
func (f *Fields) Set(key, value string) {
	for i := len(*f) - 1; i >= 0; i-- {
		if (*f)[i].Key == key {
			(*f)[i].Value = value
			return
		}
	}
	*f = append(*f, Field{key, value})
}

// SetInt sets key to the decimal form of v.
func (f *Fields) SetInt(key string, v int64) { f.Set(key, strconv.FormatInt(v, 10)) }

// SetBool sets key to "true" or "false".
func (f *Fields) SetBool(key string, v bool) { f.Set(key, strconv.FormatBool(v)) }

// Map returns the fields as a map (for logs and tests).
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f))
	for _, kv := range f {
		m[kv.Key] = kv.Value
	}
	return m
}

// Command is one request or response of the remoting protocol.
type Command struct {
	Code      int16
	Language  LanguageCode
	Version   int16
	Opaque    int32
	Flag      int32
	Remark    string
	ExtFields Fields
	Body      []byte

	// Serialize is the header serialization the command arrived with. A
	// response is encoded in it (Conn.Reply copies the request's), so every
	// peer gets replies in the encoding it sends; requests use the
	// connection's configured encoding.
	Serialize SerializeType
}

// NewRequest returns a request command for code with Sluice's language and
// version. The opaque is assigned when the request is sent.
func NewRequest(code int16, fields Fields, body []byte) *Command {
	return &Command{Code: code, Language: LangGo, Version: Version, ExtFields: fields, Body: body}
}

// IsResponse reports whether the command is a response.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether the request asks for no response.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// NewResponse returns a response to c with the given code and remark.
func (c *Command) NewResponse(code int16, remark string) *Command {
	return &Command{
		Code:     code,
		Language: LangGo,
		Version:  Version,
		Opaque:   c.Opaque,
		Flag:     FlagResponse,
		Remark:   remark,
	}
}

// String summarizes the command for logs; bodies are not printed.
func (c *Command) String() string {
	kind := "request"
	if c.IsResponse() {
		kind = "response"
	}
	return fmt.Sprintf("%s code=%d opaque=%d flag=%d remark=%q ext=%v body=%dB",
		kind, c.Code, c.Opaque, c.Flag, c.Remark, c.ExtFields.Map(), len(c.Body))
}

// CodeError is an error that carries a wire response code. Handlers return
// it so the code reaches the peer; callers that treat a non-success response
// as an error wrap the response's code and remark in one. Invoke itself
// returns responses of any code without an error.
type CodeError struct {
	Code   int16
	Remark string
}

func (e *CodeError) Error() string {
	return fmt.Sprintf("response code %d: %s", e.Code, e.Remark)
}

// Errorf returns a *CodeError with a formatted remark.
func Errorf(code int16, format string, args ...any) *CodeError {
	return &CodeError{Code: code, Remark: fmt.Sprintf(format, args...)}
}
