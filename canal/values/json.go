package values

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/schema"
)

// canonicalJSON rewrites a JSON document in the one form both paths agree
// on: compact, object keys sorted bytewise (a repeated key keeps its last
// value, as MySQL does), strings with minimal escaping, integer literals as
// written and other numbers as the shortest float64 in JavaScript layout.
// MySQL prints its binary JSON as `{"a": 1, "b": [1.5, 2]}` (keys sorted by
// length first), go-mysql as `{"a":1,"b":[1.5,2]}` (keys in Go order, HTML
// escaped); both become the same text.
func canonicalJSON(doc []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	return appendJSON(make([]byte, 0, len(doc)), v)
}

func appendJSON(b []byte, v any) ([]byte, bool) {
	ok := true
	switch x := v.(type) {
	case nil:
		b = append(b, "null"...)
	case bool:
		b = strconv.AppendBool(b, x)
	case json.Number:
		b, ok = appendNumber(b, string(x))
	case string:
		b = appendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSON(b, e); !ok {
				return nil, false
			}
		}
		b = append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if b, ok = appendJSON(b, x[k]); !ok {
				return nil, false
			}
		}
		b = append(b, '}')
	default:
		return nil, false
	}
	return b, ok
}

// appendNumber keeps an integer literal (without a sign on zero) and writes
// any other number as the shortest float64 that reads back the same.
func appendNumber(b []byte, n string) ([]byte, bool) {
	integer := true
	for i := 0; i < len(n); i++ {
		if c := n[i]; c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	if integer {
		if n == "-0" {
			n = "0"
		}
		return append(b, n...), true
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return nil, false // out of float64's range
	}
	return appendFloat(b, f, 64), true
}

// appendString writes s as a JSON string, escaping only what JSON requires:
// the quote, the backslash and control characters.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// jsonBinlog renders MySQL's JSON type from go-mysql: the document as text
// (string), or an empty []byte for the empty value MySQL stores when NULL
// goes into a NOT NULL column in non-strict mode, which MySQL reads as the
// JSON null. A partial update (*replication.JsonDiff) is an error.
func jsonBinlog(col *schema.Column, v any) (string, error) {
	var doc []byte
	switch x := v.(type) {
	case string:
		doc = []byte(x)
	case []byte:
		if len(x) == 0 {
			return "null", nil
		}
		doc = x
	case *replication.JsonDiff:
		return "", fmt.Errorf("column %q (%s): %w: set binlog_row_value_options='' on the source",
			col.Name, col.ColumnType, ErrPartialJSON)
	default:
		return "", invalid(col, v, "not a JSON document")
	}
	return jsonText(col, v, doc)
}

func jsonText(col *schema.Column, v any, doc []byte) (string, error) {
	if !utf8.Valid(doc) {
		return "", invalid(col, v, "JSON is not valid UTF-8")
	}
	out, ok := canonicalJSON(doc)
	if !ok {
		return "", invalid(col, v, "not a JSON document")
	}
	return string(out), nil
}
