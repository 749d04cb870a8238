package message

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestPropertiesEncodeSortedAndRoundTrip(t *testing.T) {
	m := map[string]string{"TAGS": "a", "KEYS": "k1 k2", "UNIQ_KEY": "X", "EMPTY": ""}
	got := string(EncodeProperties(m))
	want := "EMPTY\x01\x02KEYS\x01k1 k2\x02TAGS\x01a\x02UNIQ_KEY\x01X\x02"
	if got != want {
		t.Fatalf("EncodeProperties = %q, want %q", got, want)
	}
	if back := DecodeProperties([]byte(got)); !maps.Equal(back, m) {
		t.Fatalf("round trip = %v, want %v", back, m)
	}
	if len(EncodeProperties(nil)) != 0 {
		t.Fatal("nil map must encode empty")
	}
}

func TestPropertiesDecodeLikeGoClient(t *testing.T) {
	raw := []byte("a\x011\x02bad\x02c\x01x\x01y\x02\x02d\x014") // no trailing 0x02
	got := DecodeProperties(raw)
	want := map[string]string{"a": "1", "d": "4"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if v, ok := LookupProperty(raw, "d"); !ok || string(v) != "4" {
		t.Fatalf("LookupProperty(d) = %q %v", v, ok)
	}
	if _, ok := LookupProperty(raw, "c"); ok {
		t.Fatal("three-part item must be ignored")
	}
	if _, ok := LookupProperty(raw, "bad"); ok {
		t.Fatal("one-part item must be ignored")
	}
	dup := []byte("k\x01first\x02k\x01second\x02")
	if v, _ := LookupProperty(dup, "k"); string(v) != DecodeProperties(dup)["k"] {
		t.Fatalf("Lookup and Decode disagree on duplicates: %q", v)
	}
}

func TestPropertiesLookupDoesNotAllocate(t *testing.T) {
	raw := EncodeProperties(map[string]string{"TAGS": "tagA", "KEYS": "k", "UNIQ_KEY": "ABC"})
	allocs := testing.AllocsPerRun(100, func() {
		if v, ok := LookupProperty(raw, PropertyUniqKey); !ok || len(v) != 3 {
			t.Fatal("lookup failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("LookupProperty allocates %v times", allocs)
	}
}

func TestPropertiesValidate(t *testing.T) {
	if err := ValidateProperties(map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]string{{"a\x01": "b"}, {"a": "b\x02"}, {"": "x"}} {
		if err := ValidateProperties(m); !errors.Is(err, ErrPropertiesInvalid) {
			t.Errorf("%q: err = %v", m, err)
		}
	}
	big := map[string]string{"k": strings.Repeat("v", MaxPropertiesSize)}
	if err := ValidateProperties(big); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("big: %v", err)
	}
	if err := ValidateRawProperties(EncodeProperties(map[string]string{"a": "b", "c": ""})); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"a", "a\x01b\x01c", "\x01b", "a\x01b\x02\x02"} {
		if err := ValidateRawProperties([]byte(raw)); err == nil {
			t.Errorf("ValidateRawProperties(%q) accepted", raw)
		}
	}
}

func TestTopicValidate(t *testing.T) {
	ok := []string{"T", "%RETRY%cg", "a|b", "A-z_0", strings.Repeat("x", MaxTopicLen)}
	for _, s := range ok {
		if err := ValidateTopic(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", "../x", "a/b", "a b", "a.b", "t\x00", "é", strings.Repeat("x", MaxTopicLen+1)}
	for _, s := range bad {
		if err := ValidateTopic(s); !errors.Is(err, ErrTopicInvalid) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestDelayLevels(t *testing.T) {
	if d, ok := DelayLevelDuration(1); !ok || d.Seconds() != 1 {
		t.Fatal("level 1")
	}
	if d, ok := DelayLevelDuration(18); !ok || d.Hours() != 2 {
		t.Fatal("level 18")
	}
	if _, ok := DelayLevelDuration(0); ok {
		t.Fatal("level 0 must not exist")
	}
	if _, ok := DelayLevelDuration(19); ok {
		t.Fatal("level 19 must not exist")
	}
	props := EncodeProperties(map[string]string{PropertyDelayLevel: "40"})
	if got := DelayLevelFromProperties(props); got != MaxDelayLevel {
		t.Fatalf("clamp: %d", got)
	}
	if got := DelayLevelFromProperties([]byte("DELAY\x01x\x02")); got != 0 {
		t.Fatalf("garbage: %d", got)
	}
}
