package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// badFiles pins the first error of every testdata/*.bad.yml: position,
// key and message. TestConfigBadFiles fails for a bad file missing here.
var badFiles = map[string]string{
	"alias_bomb.bad.yml":        `alias_bomb.bad.yml:1:4: anchors (&a) are not supported`,
	"anchor.bad.yml":            `anchor.bad.yml:1:8: anchors (&s) are not supported`,
	"bool_yes.bad.yml":          `bool_yes.bad.yml:1:14: auto_create: "yes": not a boolean (write true or false)`,
	"bytesize_negative.bad.yml": `bytesize_negative.bad.yml:2:17: store.segment_size: "-1": must not be negative`,
	"bytesize_si.bad.yml":       `bytesize_si.bad.yml:2:17: store.segment_size: "1GB": unknown unit "GB" (use B, KiB, MiB, GiB or TiB)`,
	"comments_only.bad.yml":     `comments_only.bad.yml:1:1: file has no YAML document, only comments`,
	"complex_key.bad.yml":       `complex_key.bad.yml:1:3: mapping keys must be plain strings, got a list`,
	"custom_tag.bad.yml":        `custom_tag.bad.yml:1:7: YAML tag !secret is not supported`,
	"deep_nesting.bad.yml":      `deep_nesting.bad.yml:1:38: nested deeper than 32 levels`,
	"duplicate_key.bad.yml":     `duplicate_key.bad.yml:3:1: duplicate key "listen" (first at line 1)`,
	"duplicate_nested.bad.yml":  `duplicate_nested.bad.yml:4:3: duplicate key "segment_size" in store (first at line 2)`,
	"duration_garbage.bad.yml":  `duration_garbage.bad.yml:1:11: interval: "soon": not a duration`,
	"duration_negative.bad.yml": `duration_negative.bad.yml:1:7: idle: "-5s": must not be negative`,
	"duration_unitless.bad.yml": `duration_unitless.bad.yml:1:11: interval: "30": has no unit (write e.g. "30s" or "500ms")`,
	"duration_zero.bad.yml":     `duration_zero.bad.yml:1:11: interval: "0s": must be positive`,
	"empty.bad.yml":             `empty.bad.yml:1:1: file is empty (write {} for a config with every default)`,
	"enum_typo.bad.yml":         `enum_typo.bad.yml:2:9: tls.mode: "enforcng": not one of disabled, permissive, enforcing (did you mean "enforcing"?)`,
	"env_bad_ref.bad.yml":       `env_bad_ref.bad.yml:1:7: name: bad environment variable reference "${1X}"`,
	"env_unset.bad.yml":         `env_unset.bad.yml:2:7: name: environment variable SLUICE_TEST_SURELY_UNSET is not set`,
	"float_nan.bad.yml":         `float_nan.bad.yml:1:8: ratio: ".nan": not a finite number`,
	"int32_overflow.bad.yml":    `int32_overflow.bad.yml:1:13: queue_nums: "2147483648": out of range for int32`,
	"int_float.bad.yml":         `int_float.bad.yml:1:13: queue_nums: "1e3": not an integer`,
	"int_negative.bad.yml":      `int_negative.bad.yml:1:12: broker_id: "-1": must not be negative`,
	"int_octal.bad.yml":         `int_octal.bad.yml:1:13: queue_nums: "0777": has a leading zero`,
	"list_item.bad.yml":         `list_item.bad.yml:3:5: tags[1]: expected a single value, got a list`,
	"map_value.bad.yml":         `map_value.bad.yml:2:9: labels.zone: expected a single value, got a mapping`,
	"merge_key.bad.yml":         `merge_key.bad.yml:2:3: merge keys (<<) are not supported`,
	"multi_doc.bad.yml":         `multi_doc.bad.yml:2:1: file has more than one YAML document`,
	"null_value.bad.yml":        `null_value.bad.yml:1:8: listen: no value`,
	"role_typo.bad.yml":         `role_typo.bad.yml:1:7: role: "ASYNC_MASTR": not one of ASYNC_MASTER, SYNC_MASTER, SLAVE (did you mean "ASYNC_MASTER"?)`,
	"syntax.bad.yml":            `syntax.bad.yml:4: YAML syntax: mapping values are not allowed in this context`,
	"top_level_list.bad.yml":    `top_level_list.bad.yml:1:1: top level must be a mapping of keys to values, got a list`,
	"unknown_key.bad.yml":       `unknown_key.bad.yml:3:3: unknown key "segmnt_size" in store (did you mean "segment_size"?)`,
	"unknown_top.bad.yml":       `unknown_top.bad.yml:2:1: unknown key "lisen" (did you mean "listen"?)`,
	"validate.bad.yml":          `validate.bad.yml:2:12: broker_id: role SLAVE needs a broker id > 0`,
	"want_list.bad.yml":         `want_list.bad.yml:1:7: tags: expected a list, got a mapping`,
	"want_mapping.bad.yml":      `want_mapping.bad.yml:1:8: store: expected a mapping, got a single value`,
	"want_scalar.bad.yml":       `want_scalar.bad.yml:2:3: listen: expected a single value, got a mapping`,
}

func TestConfigBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := badFiles[name]
			if !ok {
				t.Fatalf("no expected error for %s in badFiles", name)
			}
			cfg := defaultTestConfig()
			before := cfg
			err := Load(path, &cfg, LoadOptions{})
			if err == nil {
				t.Fatalf("loaded without error")
			}
			if first := strings.SplitN(err.Error(), "\n", 2)[0]; !strings.Contains(first, want) {
				t.Errorf("error\n  %s\nwant it to contain\n  %s", first, want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != path {
				t.Errorf("error %v is not a *config.Error for %s", err, path)
			}
			if !reflect.DeepEqual(cfg, before) {
				t.Errorf("failed load changed the target")
			}
		})
	}
	for name := range badFiles {
		if !seen[name] {
			t.Errorf("badFiles lists %s, which is not in testdata", name)
		}
	}
}

func TestConfigGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg := defaultTestConfig()
			if err := Load(path, &cfg, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigFullFileValues(t *testing.T) {
	cfg := defaultTestConfig()
	if err := Load("testdata/full.good.yml", &cfg, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := defaultTestConfig()
	want.Listen = "127.0.0.1:10911"
	want.NameSrv = []string{"127.0.0.1:9876", "127.0.0.2:9876"}
	want.QueueNums = 16
	want.Role = "SYNC_MASTER"
	want.Ratio = 0.85
	want.Name, want.Country = "on", "no"
	want.Interval, want.Idle = 90*time.Second, 0
	want.Store = testStore{SegmentSize: 64 * MiB, FlushInterval: 500 * time.Millisecond}
	want.TLS.Mode = "enforcing"
	want.Labels = map[string]string{"zone": "eu-1", "rack": "7"}
	want.Tags = []string{"a", "b", "c d"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestConfigInterpolation(t *testing.T) {
	t.Setenv("SLUICE_TEST_NS_HOST", "10.0.0.9")
	cfg := defaultTestConfig()
	if err := Load("testdata/list.good.yml", &cfg, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.9:9876", "127.0.0.2:9876"}; !reflect.DeepEqual(cfg.NameSrv, want) {
		t.Errorf("namesrv = %q, want %q", cfg.NameSrv, want)
	}
	if cfg.Name != "${NOT_A_VAR}" {
		t.Errorf("$${ escape: name = %q", cfg.Name)
	}
	if cfg.Store.SegmentSize != 4096 {
		t.Errorf("segment size = %d", cfg.Store.SegmentSize)
	}
}

func TestConfigExpandEnv(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": "", "B": "${A}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"plain":                   "plain",
		"${A}":                    "x",
		"pre-${A}-post":           "pre-x-post",
		"${UNSET:d}":              "d",
		"${UNSET:127.0.0.1:9876}": "127.0.0.1:9876",
		"${UNSET:}":               "",
		"${EMPTY:d}":              "",
		"${B}":                    "${A}", // not expanded twice
		"$${A}":                   "${A}",
		"$A {A}":                  "$A {A}",
	} {
		got, err := expandEnv(in, lookup)
		if err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"${UNSET}":  "environment variable UNSET is not set",
		"${A":       "unterminated",
		"${}":       "bad environment variable reference",
		"${A-B:x}":  "bad environment variable reference",
		"x ${9A} y": "bad environment variable reference",
	} {
		if _, err := expandEnv(in, lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expandEnv(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestConfigEncodingProblems(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"utf8 BOM is accepted": {"\xEF\xBB\xBFlisten: :1\n", ""},
		"utf16 BOM":            {"\xFF\xFEl\x00", "x.yml:1:1: file is UTF-16 encoded"},
		"NUL":                  {"listen: :1\nrole: S\x00\n", "x.yml:2:8: NUL byte in file"},
		"invalid UTF-8":        {"listen: \xC3\x28\n", "x.yml:1:9: invalid UTF-8"},
		"control character":    {"listen: a\x07b\n", "x.yml:1:10: control character U+0007"},
		"huge line":            {"name: " + strings.Repeat("x", MaxLineLength+10) + "\n", "x.yml:1: line is longer than 65536 bytes"},
		"huge file":            {"name: x\n" + strings.Repeat("# padding\n", MaxFileSize/10+1), "x.yml: file is larger than 1048576 bytes"},
		"whitespace only":      {"  \n\n", "x.yml:1:1: file is empty"},
		"bare document marker": {"---\n", "file has no settings"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := defaultTestConfig()
			err := LoadBytes("x.yml", []byte(tc.in), &cfg, LoadOptions{})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigReportsSeveralProblems(t *testing.T) {
	in := "lisen: x\nrole: SLAV\nstore:\n  segment_size: 1GB\n"
	cfg := defaultTestConfig()
	err := LoadBytes("x.yml", []byte(in), &cfg, LoadOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "x.yml:1:1:") ||
		!strings.HasPrefix(lines[1], "x.yml:2:7:") || !strings.HasPrefix(lines[2], "x.yml:4:17:") {
		t.Errorf("got %q", lines)
	}
	many := strings.Repeat("unknown: 1\n", 1)
	for i := range 100 {
		many += "k" + strings.Repeat("x", i) + ": 1\n"
	}
	err = LoadBytes("x.yml", []byte(many), &cfg, LoadOptions{})
	if n := strings.Count(err.Error(), "\n"); n != maxErrors {
		t.Errorf("%d lines of errors, want %d plus a summary", n+1, maxErrors)
	}
}

func TestConfigMissingFile(t *testing.T) {
	cfg := defaultTestConfig()
	err := Load(filepath.Join(t.TempDir(), "nope.yml"), &cfg, LoadOptions{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want not-exist", err)
	}
	if err := Load(t.TempDir(), &cfg, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if err := Load("", &cfg, LoadOptions{}); err != nil {
		t.Errorf("no file: %v", err)
	}
}

func TestConfigBadTargets(t *testing.T) {
	var notStruct int
	var untagged struct{ A int }
	var unsupported struct {
		P *int `yaml:"p"`
	}
	var badTag struct {
		A int `yaml:"a" config:"postive"`
	}
	var camel struct {
		A int `yaml:"segmentSize"`
	}
	for name, target := range map[string]any{
		"nil": nil, "not a pointer": testConfig{}, "not a struct": &notStruct,
		"untagged": &untagged, "pointer field": &unsupported, "bad config tag": &badTag, "camelCase key": &camel,
	} {
		if err := LoadBytes("x.yml", []byte("{}"), target, LoadOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
