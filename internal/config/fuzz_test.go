package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzConfig is testConfig without Validate, so every error comes from the
// file and must carry a position.
type fuzzConfig struct {
	testConfig `yaml:"-"`
	Listen     string            `yaml:"listen"`
	NameSrv    []string          `yaml:"namesrv" config:"sep=;"`
	QueueNums  int32             `yaml:"queue_nums" config:"positive"`
	AutoCreate bool              `yaml:"auto_create"`
	Ratio      float64           `yaml:"ratio"`
	Interval   string            `yaml:"interval"`
	Idle       testStore         `yaml:"store"`
	Labels     map[string]string `yaml:"labels"`
	Tags       []string          `yaml:"tags"`
	Mode       string            `yaml:"mode" config:"enum=a|b"`
}

func FuzzConfigLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2]) // truncated
	}
	for _, s := range []string{
		"\xEF\xBB\xBFlisten: :1\n",
		"listen: :1\x00\n",
		"listen: :1\nlisten: :2\n",
		"a: &a [1]\nb: *a\n",
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
		strings.Repeat("- ", 50) + "x\n",
		"store:\n" + strings.Repeat("  ", 40) + "x: 1\n",
		"name: " + strings.Repeat("x", 70000) + "\n",
		"tags: ${SLUICE_FUZZ_UNSET}\n",
		"namesrv: \"${SLUICE_FUZZ_UNSET:a:1};b:2\"\n",
		"queue_nums: 0x7fffffff\n",
		"? |\n  key\n: v\n",
		"---\n...\n---\n",
		"%YAML 1.1\n---\nauto_create: on\n",
		"\"listen\": !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg fuzzConfig
		err := LoadBytes("fuzz.yml", data, &cfg, LoadOptions{})
		if err == nil {
			return
		}
		list := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		}
		for i, e := range list {
			var ce *Error
			switch {
			case i == maxErrors && strings.Contains(e.Error(), "more problems"):
			case !errors.As(e, &ce) || ce.File != "fuzz.yml":
				t.Fatalf("error without a file: %v", e)
			case ce.Line < 1 && !strings.Contains(ce.Msg, "larger than"):
				t.Fatalf("error without a line: %v", e)
			}
		}
	})
}

// TestConfigHostileInputsAreBounded feeds inputs near the size limit that
// are expensive for naive loaders; each must fail (or load) quickly.
func TestConfigHostileInputsAreBounded(t *testing.T) {
	const n = MaxFileSize - 64
	inputs := map[string]string{
		"many unknown keys":   strings.Repeat("nope_key_x: 1\n", n/14),
		"many duplicate keys": strings.Repeat("listen: x\n", n/10),
		"long flow list":      "tags: [" + strings.Repeat("a,", n/2-8) + "a]\n",
		"deep flow nesting":   "tags: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n",
		"deep block nesting":  strings.Repeat("- ", 5000) + "x\n",
		"many map entries":    "labels:\n" + strings.Repeat("  k: v\n", n/7-2),
		"long env references": "listen: " + strings.Repeat("$${", 20000) + "\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			var cfg fuzzConfig
			err := LoadBytes("big.yml", []byte(in), &cfg, LoadOptions{})
			// Linear work takes well under a second (a few under -race on
			// a busy machine); the bound catches superlinear blowups.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
			t.Logf("%v", strings.SplitN(fmt.Sprint(err), "\n", 2)[0])
		})
	}
}
