package schema

import "strings"

// A small SQL scanner: enough to find the leading keywords of a statement
// and to rewrite MariaDB syntax the TiDB parser rejects, without touching
// string literals, quoted identifiers or comments.

type tokKind byte

const (
	tokWord   tokKind = iota // keyword, identifier or number
	tokQuoted                // '…' or "…"
	tokIdent                 // `…`
	tokPunct                 // one character
)

type token struct {
	kind       tokKind
	start, end int
	// up is the upper-cased text of a word, the unquoted text of a quoted
	// identifier, or the character of a punctuation token.
	up string
}

// is reports whether t is one of the words ws (upper case).
func (t token) is(ws ...string) bool {
	if t.kind != tokWord {
		return false
	}
	for _, w := range ws {
		if t.up == w {
			return true
		}
	}
	return false
}

func (t token) punct(c string) bool { return t.kind == tokPunct && t.up == c }

func (t token) number() bool {
	if t.kind != tokWord || t.up == "" {
		return false
	}
	for i := 0; i < len(t.up); i++ {
		if t.up[i] < '0' || t.up[i] > '9' {
			return false
		}
	}
	return true
}

// identifier reports whether t can name a column or table.
func (t token) identifier() bool {
	return t.kind == tokIdent || (t.kind == tokWord && !t.number() && !reserved[t.up])
}

// reserved are the words that never name a column in the positions the
// rewrites look at.
var reserved = map[string]bool{
	"ADD": true, "ALTER": true, "CHANGE": true, "COLUMN": true, "MODIFY": true, "TABLE": true,
	"INDEX": true, "KEY": true, "CONSTRAINT": true, "PRIMARY": true, "UNIQUE": true, "CREATE": true,
	"DROP": true, "IF": true, "EXISTS": true, "NOT": true, "NULL": true, "DEFAULT": true, "FIRST": true,
	"AFTER": true, "SET": true, "TO": true, "AS": true, "ON": true, "BY": true, "FOREIGN": true,
}

// scan splits s into tokens. The markers of executable comments (/*!50100
// and /*M!100000 … */) are skipped so that their content is scanned as
// code; other comments are dropped.
func scan(s string) []token {
	var toks []token
	inExec := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(s[i:], "--") && (i+2 == len(s) || s[i+2] <= ' ')):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			if strings.HasPrefix(s[i:], "/*!") || strings.HasPrefix(s[i:], "/*M!") {
				i += strings.IndexByte(s[i:], '!') + 1
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				inExec = true
				continue
			}
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case c == '*' && inExec && strings.HasPrefix(s[i:], "*/"):
			inExec = false
			i += 2
		case c == '\'' || c == '"' || c == '`':
			j := closeQuote(s, i)
			t := token{kind: tokQuoted, start: i, end: j}
			if c == '`' {
				t.kind = tokIdent
				t.up = strings.ReplaceAll(s[i+1:max(i+1, j-1)], "``", "`")
			}
			toks = append(toks, t)
			i = j
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, start: i, end: j, up: strings.ToUpper(s[i:j])})
			i = j
		default:
			toks = append(toks, token{kind: tokPunct, start: i, end: i + 1, up: s[i : i+1]})
			i++
		}
	}
	return toks
}

// closeQuote returns the offset after the quoted text that starts at s[i].
func closeQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// edit is a replacement of s[start:end].
type edit struct {
	start, end int
	text       string
}

// applyEdits applies non-overlapping edits sorted by start.
func applyEdits(s string, edits []edit) string {
	if len(edits) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last {
			continue
		}
		b.WriteString(s[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}
