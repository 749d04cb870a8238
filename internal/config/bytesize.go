package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes. In YAML, environment variables and flags it
// is written as a whole number of bytes ("4096") or with a binary unit:
// "64KiB", "512MiB", "1GiB", "2TiB" (also "B"; units are case-insensitive).
// Decimal units such as "1GB" are refused because readers disagree whether
// they mean 10^9 or 2^30 bytes.
type ByteSize int64

// Binary size units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var byteUnits = []struct {
	name string
	size ByteSize
}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

// ParseByteSize parses "4096", "64MiB", "1 GiB". The result is never
// negative.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(t, "-") {
			return 0, errors.New("must not be negative")
		}
		return 0, errors.New(`not a byte size (write e.g. "4096", "64MiB" or "1GiB")`)
	}
	digits, unit := t[:i], strings.TrimSpace(t[i:])
	if len(digits) > 1 && digits[0] == '0' {
		return 0, errors.New("has a leading zero; write it without")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("out of range for a byte size")
	}
	if strings.HasPrefix(unit, ".") {
		return 0, errors.New(`not a whole number (write e.g. "1536MiB" for 1.5GiB)`)
	}
	mult := ByteSize(0)
	if unit == "" {
		mult = 1
	}
	for _, u := range byteUnits {
		if strings.EqualFold(unit, u.name) {
			mult = u.size
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q (use B, KiB, MiB, GiB or TiB)", unit)
	}
	if n > int64(^uint64(0)>>1)/int64(mult) {
		return 0, errors.New("out of range for a byte size")
	}
	return ByteSize(n) * mult, nil
}

// String formats the size with the largest binary unit that divides it
// exactly: 1073741824 → "1GiB", 1500 → "1500".
func (b ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// Set parses s; with Type and String it makes *ByteSize a pflag.Value, so a
// flag can be declared with FlagSet.Var.
func (b *ByteSize) Set(s string) error {
	n, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// Type names the flag value type in help output.
func (b *ByteSize) Type() string { return "bytes" }

// UnmarshalText parses the textual form, like Set.
func (b *ByteSize) UnmarshalText(text []byte) error { return b.Set(string(text)) }

// MarshalText returns the String form.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
