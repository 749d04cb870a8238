package config

import (
	"fmt"
	"strings"
)

// expandEnv replaces ${VAR} with the variable's value and ${VAR:default}
// with the value or, when VAR is unset, the default (which may contain ':'
// but not '}'). "$${" is a literal "${". A set but empty variable counts as
// set. The result is not expanded again, and since only scalar values are
// expanded, a variable's value can never add keys or structure.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // "$${" → "${"
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated %s (a literal is written $${)", quote(s[i:]))
		}
		ref := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(ref, ":")
		if !validEnvName(name) {
			return "", fmt.Errorf("bad environment variable reference %s", quote("${"+ref+"}"))
		}
		val, ok := lookup(name)
		switch {
		case ok:
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		default:
			return "", fmt.Errorf("environment variable %s is not set (give a default with ${%s:value})", name, name)
		}
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
