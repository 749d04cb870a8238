package message

import "testing"

func TestTagsHashMatchesJava(t *testing.T) {
	cases := []struct {
		tag  string
		want int64
	}{
		{"", 0},
		{"a", 97},
		{"abc", 96354},
		{"TagA", 2598919},
		{"hello world", 1794106052},
		{"polygenelubricants", -2147483648}, // Java: Integer.MIN_VALUE, widened with sign
		{"é", 233},                          // U+00E9, one UTF-16 unit (two UTF-8 bytes)
		{"日本", 26085*31 + 26412},            // BMP CJK
		{"😀", 55357*31 + 56832},             // U+1F600 = surrogates D83D DE00
		{"a\xffb", (97*31+0xFFFD)*31 + 98},  // invalid UTF-8 byte counts as U+FFFD
	}
	for _, c := range cases {
		if got := TagsHash(c.tag); got != c.want {
			t.Errorf("TagsHash(%q) = %d, want %d", c.tag, got, c.want)
		}
	}
}

func TestJavaHashPiecewise(t *testing.T) {
	for _, c := range [][2]string{{"Topic", "#key"}, {"日", "本😀x"}, {"", ""}} {
		whole := JavaHashString(0, c[0]+c[1])
		if got := JavaHashString(JavaHashString(0, c[0]), c[1]); got != whole {
			t.Fatalf("%q: %d != %d", c, got, whole)
		}
		if got := JavaHashBytes(JavaHashBytes(0, []byte(c[0])), []byte(c[1])); got != whole {
			t.Fatalf("bytes %q: %d != %d", c, got, whole)
		}
	}
}
