package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setScalar parses s by f's kind and options and stores it in dst. The same
// rules apply to YAML values, environment variables and flags. Its errors
// are predicates about the value ("not an integer") that callers prefix
// with where the value came from.
func setScalar(f *field, dst reflect.Value, s string) error {
	if len(f.opts.enum) > 0 && !slices.Contains(f.opts.enum, s) {
		return fmt.Errorf("not one of %s%s", strings.Join(f.opts.enum, ", "), suggest(s, f.opts.enum))
	}
	switch f.kind {
	case kindString:
		dst.SetString(s)
	case kindBool:
		b, err := parseBool(s)
		if err != nil {
			return err
		}
		dst.SetBool(b)
	case kindInt:
		n, err := parseInt(s, f.typ.Bits())
		if err != nil {
			return err
		}
		if err := checkSign(f.opts, n < 0, n == 0); err != nil {
			return err
		}
		dst.SetInt(n)
	case kindFloat:
		x, err := parseFloat(s, f.typ.Bits())
		if err != nil {
			return err
		}
		if err := checkSign(f.opts, x < 0, x == 0); err != nil {
			return err
		}
		dst.SetFloat(x)
	case kindDuration:
		d, err := parseDuration(s)
		if err != nil {
			return err
		}
		if f.opts.positive && d == 0 {
			return errors.New("must be positive")
		}
		dst.SetInt(int64(d))
	case kindByteSize:
		n, err := ParseByteSize(s)
		if err != nil {
			return err
		}
		if f.opts.positive && n == 0 {
			return errors.New("must be positive")
		}
		dst.SetInt(int64(n))
	case kindText:
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("expected %s", f.describe())
	}
	return nil
}

func checkSign(o fieldOpts, negative, zero bool) error {
	switch {
	case o.positive && (negative || zero):
		return errors.New("must be positive")
	case o.nonNegative && negative:
		return errors.New("must not be negative")
	}
	return nil
}

// parseBool accepts only YAML 1.2's true and false, so that YAML 1.1's
// yes/no/on/off never turn into booleans by accident.
func parseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, errors.New("not a boolean (write true or false)")
}

// parseInt accepts decimal integers only. A leading zero is refused because
// YAML 1.1 reads 0777 as octal and YAML 1.2 as decimal.
func parseInt(s string, bits int) (int64, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(digits) > 1 && digits[0] == '0' {
		return 0, errors.New("has a leading zero (octal in YAML 1.1); write it without")
	}
	if len(s)-len(digits) > 1 {
		return 0, errors.New("not an integer")
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			lo, hi := -int64(1)<<(bits-1), int64(1)<<(bits-1)-1
			return 0, fmt.Errorf("out of range for int%d (%d to %d)", bits, lo, hi)
		}
		return 0, errors.New("not an integer")
	}
	return n, nil
}

func parseFloat(s string, bits int) (float64, error) {
	x, err := strconv.ParseFloat(s, bits)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errors.New("not a finite number")
	}
	return x, nil
}

// parseDuration accepts Go durations with units ("30s", "1m30s", "500ms")
// and "0". A bare number is refused: "30" could mean seconds or millis.
func parseDuration(s string) (time.Duration, error) {
	if s != "" && s != "0" && strings.Trim(s, "+-0123456789.") == "" {
		return 0, errors.New(`has no unit (write e.g. "30s" or "500ms")`)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`not a duration (write e.g. "30s", "5m" or "500ms")`)
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// splitList splits a one-string list: "a;b; c" → [a b c], dropping empty
// entries.
func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setList parses each item into a new slice of f's type and stores it in
// dst. It returns the index of the first bad item with its error.
func setList(f *field, dst reflect.Value, items []string) (int, error) {
	out := reflect.MakeSlice(f.typ, len(items), len(items))
	for i, it := range items {
		if err := setScalar(f.elem, out.Index(i), it); err != nil {
			return i, err
		}
	}
	dst.Set(out)
	return 0, nil
}
