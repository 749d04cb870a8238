package config

import (
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder sets a target struct from a checked YAML tree, recording where
// each key was set and every problem with its position.
type decoder struct {
	file    string
	errs    *errorList
	origins map[string]Error // key path → where it was last set (Msg empty)
	lookup  func(string) (string, bool)
}

func (d *decoder) errAt(n *yaml.Node, key, format string, args ...any) {
	d.errs.addAt(d.file, n.Line, n.Column, key, format, args...)
}

func (d *decoder) setOrigin(f *field, n *yaml.Node) {
	d.origins[f.path] = Error{File: d.file, Line: n.Line, Column: n.Column}
}

// decodeStruct sets the fields of struct f (at v, the root value) from
// mapping n. Unknown and duplicate keys are errors.
func (d *decoder) decodeStruct(f *field, n *yaml.Node, root reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errAt(n, f.path, "%s: expected a mapping, got %s", f.path, nodeKind(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			d.errAt(k, joinPath(f.path, k.Value), "duplicate key %s%s (first at line %d)", quote(k.Value), inPath(f.path), first.Line)
			continue
		}
		seen[k.Value] = k
		child := f.byKey[k.Value]
		switch {
		case child == nil && d.errs.full(): // skip the suggestion's cost
			d.errs.dropped++
			continue
		case child == nil:
			d.errAt(k, joinPath(f.path, k.Value), "unknown key %s%s%s", quote(k.Value), inPath(f.path), suggest(k.Value, f.keys()))
			continue
		}
		d.decodeValue(child, val, root)
	}
}

// decodeValue sets field f from node n.
func (d *decoder) decodeValue(f *field, n *yaml.Node, root reflect.Value) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.errAt(n, f.path, `%s: no value (remove the key to keep the default, or write "" for an empty string)`, f.path)
		return
	}
	d.setOrigin(f, n)
	dst := root.FieldByIndex(f.index)
	switch f.kind {
	case kindStruct:
		d.decodeStruct(f, n, root)
	case kindList:
		d.decodeList(f, n, dst)
	case kindMap:
		d.decodeMap(f, n, dst)
	default:
		if n.Kind != yaml.ScalarNode {
			d.errAt(n, f.path, "%s: expected a single value, got %s", f.path, nodeKind(n))
			return
		}
		s, ok := d.expand(f.path, n)
		if !ok {
			return
		}
		if err := setScalar(f, dst, s); err != nil {
			d.errAt(n, f.path, "%s: %s: %v", f.path, quote(s), err)
		}
	}
}

// expand interpolates environment variables into a scalar's value.
func (d *decoder) expand(path string, n *yaml.Node) (string, bool) {
	s, err := expandEnv(n.Value, d.lookup)
	if err != nil {
		d.errAt(n, path, "%s: %v", path, err)
		return "", false
	}
	return s, true
}

func (d *decoder) decodeList(f *field, n *yaml.Node, dst reflect.Value) {
	var items []string
	var nodes []*yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && f.opts.sep != "":
		s, ok := d.expand(f.path, n)
		if !ok {
			return
		}
		items = splitList(s, f.opts.sep)
		for range items {
			nodes = append(nodes, n)
		}
	case n.Kind == yaml.SequenceNode:
		for i, it := range n.Content {
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				d.errAt(it, f.path, "%s[%d]: expected a single value, got %s", f.path, i, nodeKind(it))
				return
			}
			s, ok := d.expand(f.path, it)
			if !ok {
				return
			}
			items, nodes = append(items, s), append(nodes, it)
		}
	default:
		d.errAt(n, f.path, "%s: expected %s, got %s", f.path, f.describe(), nodeKind(n))
		return
	}
	if i, err := setList(f, dst, items); err != nil {
		d.errAt(nodes[i], f.path, "%s[%d]: %s: %v", f.path, i, quote(items[i]), err)
	}
}

func (d *decoder) decodeMap(f *field, n *yaml.Node, dst reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errAt(n, f.path, "%s: expected a mapping, got %s", f.path, nodeKind(n))
		return
	}
	out := reflect.MakeMapWithSize(f.typ, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := f.path + "." + k.Value
		if line, dup := seen[k.Value]; dup {
			d.errAt(k, path, "duplicate key %s in %s (first at line %d)", quote(k.Value), f.path, line)
			continue
		}
		seen[k.Value] = k.Line
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
			d.errAt(val, path, "%s: expected a single value, got %s", path, nodeKind(val))
			continue
		}
		s, ok := d.expand(path, val)
		if !ok {
			continue
		}
		ev := reflect.New(f.typ.Elem()).Elem()
		if err := setScalar(f.elem, ev, s); err != nil {
			d.errAt(val, path, "%s: %s: %v", path, quote(s), err)
			continue
		}
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(f.typ.Key()), ev)
	}
	dst.Set(out)
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// inPath is " in store" for a nested key, "" at the top level.
func inPath(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// lookupEnv is the process environment, as used for interpolation.
func lookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

// envName is the environment variable for key under prefix:
// ("SLUICE", "store.segment_size") → "SLUICE_STORE_SEGMENT_SIZE".
func envName(prefix, key string) string {
	return strings.ToUpper(prefix + "_" + envKeyReplacer.Replace(key))
}

var envKeyReplacer = strings.NewReplacer(".", "_", "-", "_")
