package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile or broken file from costing much. A config
// file is a few KiB; nothing legitimate comes near them.
const (
	// MaxFileSize is the largest config file accepted, in bytes.
	MaxFileSize = 1 << 20
	// MaxDepth is the deepest nesting of mappings and lists accepted.
	MaxDepth = 32
	// MaxLineLength is the longest line accepted, in bytes.
	MaxLineLength = 64 << 10
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseDocument checks the raw bytes, parses them as exactly one YAML
// document and checks its structure. It returns the root mapping node.
func parseDocument(name string, data []byte) (root *yaml.Node, err error) {
	fileErr := func(line, col int, format string, args ...any) error {
		return &Error{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxFileSize {
		return nil, fileErr(0, 0, "file is larger than %d bytes", MaxFileSize)
	}
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return nil, fileErr(1, 1, "file is UTF-16 encoded; save it as UTF-8")
	}
	data = bytes.TrimPrefix(data, utf8BOM) // editors on Windows add it; harmless
	if err := checkBytes(name, data); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fileErr(1, 1, "file is empty (write {} for a config with every default)")
	}

	defer func() {
		// yaml.v3 has panicked on malformed input before (CVE-2022-28948);
		// a config loader must fail, not crash.
		if r := recover(); r != nil {
			root, err = nil, fileErr(1, 0, "YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(1, 1, "file has no YAML document, only comments (write {} for a config with every default)")
		}
		return nil, yamlError(name, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(name, err)
	default:
		return nil, fileErr(max(next.Line, 1), next.Column, "file has more than one YAML document (remove the ---)")
	}

	if len(doc.Content) != 1 {
		return nil, fileErr(1, 1, "file has no YAML document")
	}
	root = doc.Content[0]
	if err := checkStructure(name, root, 1); err != nil {
		return nil, err
	}
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return nil, fileErr(root.Line, root.Column, "file has no settings (write {} for a config with every default)")
	case root.Kind != yaml.MappingNode:
		return nil, fileErr(root.Line, root.Column, "top level must be a mapping of keys to values, got %s", nodeKind(root))
	}
	return root, nil
}

// checkBytes rejects NUL and other control characters, invalid UTF-8 and
// over-long lines, with their position, before the YAML parser sees them.
func checkBytes(name string, data []byte) error {
	line, col, lineStart := 1, 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{File: name, Line: line, Column: col, Msg: "invalid UTF-8"}
		case r == 0:
			return &Error{File: name, Line: line, Column: col, Msg: "NUL byte in file"}
		case r == '\n':
			line, col, lineStart = line+1, 0, i+1
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7F:
			return &Error{File: name, Line: line, Column: col, Msg: fmt.Sprintf("control character %U in file", r)}
		}
		if i-lineStart >= MaxLineLength {
			return &Error{File: name, Line: line, Msg: fmt.Sprintf("line is longer than %d bytes", MaxLineLength)}
		}
		i += size
		col++
	}
	return nil
}

// yamlLineRE matches yaml.v3's "yaml: line N: problem" errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error into an *Error. yaml.v3 reports a
// line but no column, and omits the line for problems on line 1.
func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: max(line, 1), Msg: "YAML syntax: " + m[2]}
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return &Error{File: name, Line: 1, Msg: "YAML syntax: " + msg}
}

// standardTags are the tags plain YAML resolves to; an explicit one (such
// as !!str to quote a value) is harmless. Any other tag is refused.
var standardTags = map[string]bool{
	"!!str": true, "!!int": true, "!!bool": true, "!!float": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!timestamp": true,
}

// checkStructure walks the tree once, refusing what the decoder does not
// support: deep nesting, anchors and aliases (alias bombs), merge keys,
// custom tags and non-scalar mapping keys.
func checkStructure(name string, n *yaml.Node, depth int) error {
	at := func(format string, args ...any) error {
		return &Error{File: name, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case depth > MaxDepth:
		return at("nested deeper than %d levels", MaxDepth)
	case n.Kind == yaml.AliasNode:
		return at("aliases (*%s) are not supported; repeat the value instead", n.Value)
	case n.Anchor != "":
		return at("anchors (&%s) are not supported; repeat the value instead", n.Anchor)
	case n.Tag == "!!merge":
		return at("merge keys (<<) are not supported")
	case n.Style&yaml.TaggedStyle != 0 && !standardTags[n.Tag]:
		return at("YAML tag %s is not supported", n.Tag)
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.Kind != yaml.ScalarNode {
			return &Error{File: name, Line: c.Line, Column: c.Column, Msg: "mapping keys must be plain strings, got " + nodeKind(c)}
		}
		if err := checkStructure(name, c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// nodeKind names a node's kind for messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a single value"
	}
	return "a document"
}
