package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is one configuration problem. It says where the bad setting came
// from: a position in a YAML file, an environment variable or a flag.
type Error struct {
	// File is the config file's path as given to Load; empty when the
	// setting came from the environment or a flag.
	File string
	// Line and Column locate the problem in File, both 1-based. Column is 0
	// when the YAML parser reported only a line.
	Line, Column int
	// Source names where a setting outside the file came from:
	// `SLUICE_BROKER_ID="x"` or `--broker-id="x"`. Empty for file errors.
	Source string
	// Key is the dotted key path the problem is about ("store.segment_size"),
	// or empty for file-level problems (syntax, size, encoding).
	Key string
	// Msg describes the problem.
	Msg string
}

// Error formats the problem as "file:line:col: msg", "file:line: msg" or
// "source: msg", so editors and terminals can jump to it.
func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Source != "":
		return e.Source + ": " + e.Msg
	default:
		return e.Msg
	}
}

// KeyError returns an error about the setting at key (a dotted path such as
// "store.segment_size"). Validate methods return it, alone or joined with
// errors.Join, so that Load can point at the file position, environment
// variable or flag the offending value came from.
func KeyError(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// errorList collects problems up to a cap, so one run reports several
// mistakes but a hostile file cannot produce millions of them.
type errorList struct {
	errs    []error
	dropped int
}

// maxErrors caps the problems reported for one load.
const maxErrors = 20

func (l *errorList) add(err error) {
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, err)
}

func (l *errorList) full() bool { return len(l.errs) >= maxErrors }

func (l *errorList) addAt(file string, line, col int, key, format string, args ...any) {
	if l.full() { // skip formatting what will be dropped
		l.dropped++
		return
	}
	l.add(&Error{File: file, Line: line, Column: col, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error {
	if l.dropped > 0 {
		l.errs = append(l.errs, fmt.Errorf("... and %d more problems", l.dropped))
	}
	return errors.Join(l.errs...)
}

// quote renders a value for a message, shortened so a huge value cannot
// flood the terminal.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" when none is close enough to be a plausible typo.
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(1, min(3, len(s)/3))
	if best == "" || bestDist > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
