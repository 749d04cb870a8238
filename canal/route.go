package canal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// FilterConfig chooses what is captured. Patterns are regular expressions
// matched against the whole "db.table" (or "db.table.column") name.
type FilterConfig struct {
	// Include lists the tables to capture; empty captures every table of
	// every non-system schema.
	Include []string `yaml:"include"`
	// Exclude drops tables Include matched.
	Exclude []string `yaml:"exclude"`
	// ExcludeColumns drops columns ("db.table.column" patterns) from
	// events; primary-key columns cannot be excluded.
	ExcludeColumns []string `yaml:"exclude_columns"`
	// Operations lists the event kinds published: insert, update, delete,
	// ddl. Empty publishes all.
	Operations []string `yaml:"operations"`
}

// RouteRule sends the tables it matches to a topic.
type RouteRule struct {
	// Match is a regular expression on "db.table".
	Match string `yaml:"match"`
	// Topic is the topic name; {db} and {table} are replaced by the
	// source names (characters a topic may not hold become '_').
	Topic string `yaml:"topic"`
	// KeyColumns partition by these columns instead of the primary key.
	KeyColumns []string `yaml:"key_columns"`
}

// DefaultTopic is the topic of tables no rule matches.
const DefaultTopic = "{db}_{table}"

// Router applies filters and routing rules. It caches its decision per
// table; Forget drops a table's entry after DDL.
type Router struct {
	include, exclude []*regexp.Regexp
	excludeCols      []*regexp.Regexp
	ops              map[string]bool
	rules            []compiledRule
	defaultTopic     string

	mu    sync.RWMutex
	cache map[string]*TableRoute
}

type compiledRule struct {
	re   *regexp.Regexp
	rule RouteRule
}

// TableRoute is the decision for one table.
type TableRoute struct {
	Captured bool
	Topic    string
	// KeyColumns override the primary key for partitioning (nil: the PK).
	KeyColumns []string
}

// NewRouter compiles the filter and the rules; defaultTopic is used when no
// rule matches ("" means DefaultTopic).
func NewRouter(f FilterConfig, rules []RouteRule, defaultTopic string) (*Router, error) {
	r := &Router{defaultTopic: defaultTopic, cache: map[string]*TableRoute{}}
	if r.defaultTopic == "" {
		r.defaultTopic = DefaultTopic
	}
	var err error
	if r.include, err = compileAll("include", f.Include); err != nil {
		return nil, err
	}
	if r.exclude, err = compileAll("exclude", f.Exclude); err != nil {
		return nil, err
	}
	if r.excludeCols, err = compileAll("exclude_columns", f.ExcludeColumns); err != nil {
		return nil, err
	}
	if len(f.Operations) > 0 {
		r.ops = map[string]bool{}
		for _, op := range f.Operations {
			op = strings.ToLower(op)
			if !slices.Contains([]string{"insert", "update", "delete", "ddl"}, op) {
				return nil, fmt.Errorf("operations: %q is not insert, update, delete or ddl", op)
			}
			r.ops[op] = true
		}
	}
	for i, rule := range rules {
		re, err := anchored(rule.Match)
		if err != nil {
			return nil, fmt.Errorf("routes[%d].match: %w", i, err)
		}
		if rule.Topic == "" {
			return nil, fmt.Errorf("routes[%d].topic is required", i)
		}
		r.rules = append(r.rules, compiledRule{re, rule})
	}
	return r, nil
}

func compileAll(what string, pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for i, p := range pats {
		re, err := anchored(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func anchored(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	return re, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// systemSchemas are never captured.
var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// Table returns the decision for db.table.
func (r *Router) Table(db, table string) *TableRoute {
	name := db + "." + table
	r.mu.RLock()
	tr := r.cache[name]
	r.mu.RUnlock()
	if tr != nil {
		return tr
	}
	tr = &TableRoute{}
	switch {
	case systemSchemas[strings.ToLower(db)]:
	case len(r.include) > 0 && !matchAny(r.include, name):
	case matchAny(r.exclude, name):
	default:
		tr.Captured = true
		tmpl := r.defaultTopic
		for _, cr := range r.rules {
			if cr.re.MatchString(name) {
				tmpl, tr.KeyColumns = cr.rule.Topic, cr.rule.KeyColumns
				break
			}
		}
		tr.Topic = TopicName(tmpl, db, table)
	}
	r.mu.Lock()
	r.cache[name] = tr
	r.mu.Unlock()
	return tr
}

// Forget drops the cached decision of db.table (its name changed).
func (r *Router) Forget(db, table string) {
	r.mu.Lock()
	delete(r.cache, db+"."+table)
	r.mu.Unlock()
}

// Publishes reports whether events of kind op (insert, update, delete,
// ddl) are published.
func (r *Router) Publishes(op string) bool { return r.ops == nil || r.ops[op] }

// ColumnExcluded reports whether db.table.column is dropped from events.
func (r *Router) ColumnExcluded(db, table, column string) bool {
	return len(r.excludeCols) > 0 && matchAny(r.excludeCols, db+"."+table+"."+column)
}

// TopicName expands {db} and {table} in tmpl and replaces the characters a
// RocketMQ topic may not hold with '_' (topics allow [A-Za-z0-9_%|-], at
// most 127 characters).
func TopicName(tmpl, db, table string) string {
	s := strings.NewReplacer("{db}", db, "{table}", table).Replace(tmpl)
	b := make([]byte, 0, len(s))
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '%' || c == '|' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			c = '_'
		}
		b = append(b, byte(c))
	}
	if len(b) > 127 {
		b = b[:127]
	}
	return string(b)
}

// QueueOf is the queue of a row: FNV-1a of (db, table, key values) mod
// queues. A nil key (a table without a primary key) puts every row of the
// table in one queue. The mapping is part of the event format: never change
// it for a topic that holds data.
func QueueOf(db, table string, key []Cell, queues int) int {
	if queues <= 1 {
		return 0
	}
	h := tableHash(db, table)
	for i := range key {
		h = cellHash(h, &key[i])
	}
	return int(h % uint64(queues))
}

// tableHash and cellHash are QueueOf's hash, for callers that walk a key
// without building it.
func tableHash(db, table string) uint64 {
	h := fnvString(fnvOffset, db)
	h = fnvByte(h, 0)
	return fnvString(h, table)
}

func cellHash(h uint64, c *Cell) uint64 {
	if c.Null {
		return fnvByte(h, 1)
	}
	h = fnvByte(h, 0)
	return fnvString(h, c.S)
}

// FNV-1a, 64 bits, without allocating.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}
