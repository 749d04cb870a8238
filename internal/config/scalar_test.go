package config

import (
	"strings"
	"testing"
	"time"
)

func TestConfigParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "4096": 4096, "1B": 1, "64KiB": 64 << 10, "64kib": 64 << 10, "512MiB": 512 << 20,
		"1GiB": 1 << 30, "1 GiB": 1 << 30, "2TiB": 2 << 40, "8388607TiB": 8388607 << 40,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"": "not a byte size", "GiB": "not a byte size", "-1": "negative", "1GB": `unknown unit "GB"`,
		"1.5GiB": "not a whole number", "8388608TiB": "out of range", "99999999999999999999": "out of range",
		"010": "leading zero", "1 G": `unknown unit "G"`,
	} {
		if _, err := ParseByteSize(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseByteSize(%q) error %v, want %q", in, err, want)
		}
	}
	for b, want := range map[ByteSize]string{0: "0", 1500: "1500", GiB: "1GiB", 3 * MiB: "3MiB", 1536 * KiB: "1536KiB", 4 * TiB: "4TiB"} {
		if got := b.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(b), got, want)
		}
		if back, err := ParseByteSize(want); err != nil || back != b {
			t.Errorf("round trip of %q = %d, %v", want, back, err)
		}
	}
	var b ByteSize
	if err := b.Set("2MiB"); err != nil || b != 2*MiB || b.Type() != "bytes" {
		t.Errorf("Set: %v %v", b, err)
	}
}

func TestConfigParseScalars(t *testing.T) {
	if _, err := parseBool("yes"); err == nil {
		t.Error("yes accepted as bool")
	}
	for _, s := range []string{"on", "off", "no", "y", "1", "0", "tRUE"} {
		if _, err := parseBool(s); err == nil {
			t.Errorf("parseBool(%q) accepted", s)
		}
	}
	for in, want := range map[string]int64{"0": 0, "-0": 0, "7": 7, "-12": -12, "+5": 5, "2147483647": 1<<31 - 1} {
		if got, err := parseInt(in, 32); err != nil || got != want {
			t.Errorf("parseInt(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-", "+-1", "0x10", "0o7", "07", "1e3", "1.0", "1_000", "2147483648", " 1"} {
		if _, err := parseInt(in, 32); err == nil {
			t.Errorf("parseInt(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"0": 0, "30s": 30 * time.Second, "1m30s": 90 * time.Second, "500ms": 500 * time.Millisecond, "72h": 72 * time.Hour} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"30": "no unit", "1.5": "no unit", "-1s": "negative", "": "not a duration", "1d": "not a duration", "-0": "no unit"} {
		if _, err := parseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseDuration(%q) error %v, want %q", in, err, want)
		}
	}
}
