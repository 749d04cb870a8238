package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestJSONXAppendString compares AppendString with encoding/json on
// awkward strings.
func TestJSONXAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "\x00\x01\x1f", `"\`, "\u2028\u2029", "é中👍🏽", "bad\xffutf8", "\x7f"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got != want {
			t.Errorf("%q → %s → %q, want %q", s, b, got, want)
		}
	}
}

func FuzzJSONXAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\u2028", "é", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(AppendString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q decoded as %q", s, got)
		}
	})
}
