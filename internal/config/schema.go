package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// kind is how a field is written in YAML and parsed from a string.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindByteSize
	kindText // implements encoding.TextUnmarshaler
	kindStruct
	kindList
	kindMap
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	byteSizeType        = reflect.TypeFor[ByteSize]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// field describes one key of a config struct, built once per Load from the
// target's type and its `yaml` and `config` struct tags.
type field struct {
	key   string // the YAML key: "segment_size"
	path  string // the dotted path from the root: "store.segment_size"
	index []int  // reflect field index from the root struct
	typ   reflect.Type
	kind  kind
	opts  fieldOpts

	elem     *field            // element of a list or value of a map
	children []*field          // fields of a struct, in declaration order
	byKey    map[string]*field // children by key
}

// fieldOpts are the options of the `config:"..."` struct tag.
type fieldOpts struct {
	positive    bool     // "positive": numbers and durations must be > 0
	nonNegative bool     // "nonnegative": numbers must be >= 0
	enum        []string // "enum=a|b|c": the only accepted values (case-sensitive)
	sep         string   // "sep=;": a list may be written as one string split on sep
}

// parseOpts parses a `config` tag.
func parseOpts(tag string) (fieldOpts, error) {
	var o fieldOpts
	if tag == "" {
		return o, nil
	}
	for _, part := range strings.Split(tag, ",") {
		name, val, _ := strings.Cut(part, "=")
		switch name {
		case "positive":
			o.positive = true
		case "nonnegative":
			o.nonNegative = true
		case "enum":
			o.enum = strings.Split(val, "|")
		case "sep":
			if val == "" {
				return o, fmt.Errorf("empty sep")
			}
			o.sep = val
		default:
			return o, fmt.Errorf("unknown option %q", name)
		}
	}
	return o, nil
}

// schemaOf builds the field tree of a struct type. Errors here are
// programming mistakes in the target struct, not user errors.
func schemaOf(t reflect.Type) (*field, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: target must point to a struct, got %v", t)
	}
	root := &field{typ: t, kind: kindStruct}
	if err := root.addChildren(nil, ""); err != nil {
		return nil, err
	}
	return root, nil
}

func (f *field) addChildren(index []int, prefix string) error {
	f.byKey = map[string]*field{}
	for i := range f.typ.NumField() {
		sf := f.typ.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if !snakeCase(name) {
			return fmt.Errorf("config: field %v.%s: yaml key %q is not snake_case", f.typ, sf.Name, name)
		}
		opts, err := parseOpts(sf.Tag.Get("config"))
		if err != nil {
			return fmt.Errorf("config: field %v.%s: config tag: %w", f.typ, sf.Name, err)
		}
		child := &field{
			key: name, path: prefix + name, typ: sf.Type, opts: opts,
			index: append(append([]int(nil), index...), i),
		}
		if err := child.classify(); err != nil {
			return fmt.Errorf("config: field %v.%s: %w", f.typ, sf.Name, err)
		}
		if child.kind == kindStruct {
			if err := child.addChildren(child.index, child.path+"."); err != nil {
				return err
			}
		}
		if _, dup := f.byKey[name]; dup {
			return fmt.Errorf("config: %v has two fields with yaml key %q", f.typ, name)
		}
		f.byKey[name] = child
		f.children = append(f.children, child)
	}
	return nil
}

// snakeCase reports whether s is a lower-case snake_case key.
func snakeCase(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// classify sets f.kind (and f.elem for lists and maps) from f.typ.
func (f *field) classify() error {
	k, err := scalarKind(f.typ)
	if err == nil {
		f.kind = k
		return nil
	}
	switch f.typ.Kind() {
	case reflect.Struct:
		f.kind = kindStruct
		return nil
	case reflect.Slice, reflect.Map:
		if f.typ.Kind() == reflect.Map && f.typ.Key().Kind() != reflect.String {
			return fmt.Errorf("map keys must be strings, got %v", f.typ.Key())
		}
		ek, err := scalarKind(f.typ.Elem())
		if err != nil {
			return fmt.Errorf("element: %w", err)
		}
		f.kind = kindList
		if f.typ.Kind() == reflect.Map {
			f.kind = kindMap
		}
		f.elem = &field{key: f.key, path: f.path, typ: f.typ.Elem(), kind: ek, opts: f.opts}
		return nil
	}
	return err
}

// scalarKind classifies the types a single YAML scalar can set.
func scalarKind(t reflect.Type) (kind, error) {
	switch {
	case t == durationType:
		return kindDuration, nil
	case t == byteSizeType:
		return kindByteSize, nil
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return kindText, nil
	}
	switch t.Kind() {
	case reflect.String:
		return kindString, nil
	case reflect.Bool:
		return kindBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt, nil
	case reflect.Float32, reflect.Float64:
		return kindFloat, nil
	}
	return 0, fmt.Errorf("unsupported type %v", t)
}

// keys lists the child keys, sorted, for suggestions and messages.
func (f *field) keys() []string {
	out := make([]string, 0, len(f.children))
	for _, c := range f.children {
		out = append(out, c.key)
	}
	sort.Strings(out)
	return out
}

// leaves returns every non-struct field under f, depth first.
func (f *field) leaves() []*field {
	var out []*field
	for _, c := range f.children {
		if c.kind == kindStruct {
			out = append(out, c.leaves()...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// describe names what a field expects, for "expected ..." messages.
func (f *field) describe() string {
	switch f.kind {
	case kindStruct:
		return "a mapping"
	case kindList:
		if f.opts.sep != "" {
			return fmt.Sprintf("a list or a %q-separated string", f.opts.sep)
		}
		return "a list"
	case kindMap:
		return "a mapping"
	default:
		return "a single value"
	}
}
