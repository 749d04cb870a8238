package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/spf13/pflag"
)

// LoadOptions says where settings other than the file come from.
type LoadOptions struct {
	// EnvPrefix enables environment overrides: with "SLUICE", key data_dir
	// is read from SLUICE_DATA_DIR and store.segment_size from
	// SLUICE_STORE_SEGMENT_SIZE. A trailing "_" is optional. Empty disables
	// environment overrides (interpolation of ${VAR} still works). Empty
	// variables count as unset.
	EnvPrefix string
	// EnvAliases adds, per key, more variables that override the file, with
	// lower precedence than the prefixed one. Needs EnvPrefix.
	EnvAliases map[string][]string
	// EnvFallbacks lists, per key, variables that act as defaults: they are
	// used only when neither the file, nor the environment, nor a flag sets
	// the key. This is how Apache RocketMQ treats NAMESRV_ADDR.
	EnvFallbacks map[string][]string
	// Flags, when set, is the parsed flag set; flags the user set
	// (Changed) override everything else. A flag maps to the key whose
	// dots and underscores are dashes (--data-dir ↔ data_dir,
	// --store-segment-size ↔ store.segment_size) unless FlagKeys names it.
	// Flags that match no key (--config, --help) are ignored.
	Flags *pflag.FlagSet
	// FlagKeys maps flag names to keys when the name does not derive from
	// the key (--segment-size ↔ store.segment_size). Every name must be a
	// flag in Flags and every key a settable key.
	FlagKeys map[string]string
}

// Validator is implemented by config structs that check themselves. Load
// calls Validate last; errors made with KeyError are reported at the
// position, variable or flag that set the key.
type Validator interface {
	Validate() error
}

// Load reads the YAML file at path ("" means no file) and applies it onto
// target, a pointer to a struct that already holds the defaults. Then it
// applies environment overrides and changed flags, and finally calls
// target's Validate method if it has one. Precedence, highest first:
// flag, environment, file, fallback environment, default.
//
// Keys are the `yaml:"name"` tags of target's fields; the `config` tag adds
// checks ("positive", "nonnegative", "enum=a|b", "sep=;" for lists that may
// be written as one string). Scalar values in the file may use ${VAR} and
// ${VAR:default}. The file must be one YAML document of at most
// MaxFileSize bytes, nested at most MaxDepth deep, without anchors,
// aliases, unknown or duplicate keys.
//
// Every error names its file:line:col (or variable, or flag) and key; when
// several things are wrong, they are joined with errors.Join. On error,
// target is left unchanged.
func Load(path string, target any, opts LoadOptions) error {
	if path == "" {
		return load("", nil, target, opts)
	}
	data, err := readFile(path)
	if err != nil {
		return err
	}
	return load(path, data, target, opts)
}

// LoadBytes is Load with the file's contents given; name is used in
// messages. A nil data means no file.
func LoadBytes(name string, data []byte, target any, opts LoadOptions) error {
	return load(name, data, target, opts)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &Error{File: path, Msg: "is a directory, not a config file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}

func load(name string, data []byte, target any, opts LoadOptions) error {
	ptr := reflect.ValueOf(target)
	if ptr.Kind() != reflect.Pointer || ptr.IsNil() {
		return fmt.Errorf("config: target must be a non-nil pointer to a struct, got %T", target)
	}
	schema, err := schemaOf(ptr.Elem().Type())
	if err != nil {
		return err
	}
	// Work on a copy so a failed load leaves the caller's defaults intact.
	work := reflect.New(schema.typ).Elem()
	work.Set(ptr.Elem())

	var errs errorList
	d := &decoder{file: name, errs: &errs, origins: map[string]Error{}, lookup: lookupEnv}
	applyFallbacks(schema, work, opts.EnvFallbacks, d)
	if data != nil {
		root, err := parseDocument(name, data)
		if err != nil {
			return err
		}
		d.decodeStruct(schema, root, work)
	}
	if err := errs.err(); err != nil {
		return err
	}
	if err := applyOverrides(schema, work, opts, d); err != nil {
		return err
	}
	if err := errs.err(); err != nil {
		return err
	}
	if v, ok := work.Addr().Interface().(Validator); ok {
		if err := v.Validate(); err != nil {
			return locate(err, name, d.origins)
		}
	}
	ptr.Elem().Set(work)
	return nil
}

// locate rewrites Validate's KeyErrors to point at where each key was set:
// "broker.yaml:5:12: broker_id: ..." or `SLUICE_BROKER_ID="0": broker_id: ...`.
// Other errors are prefixed with the file name when there is one.
func locate(err error, file string, origins map[string]Error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var ke *Error
		switch {
		case errors.As(e, &ke) && ke.Key != "" && ke.File == "" && ke.Source == "":
			msg := ke.Key + ": " + ke.Msg
			if where, ok := origins[ke.Key]; ok {
				where.Key, where.Msg = ke.Key, msg
				out = append(out, &where)
			} else {
				out = append(out, &Error{File: file, Key: ke.Key, Msg: msg})
			}
		case file != "":
			out = append(out, &Error{File: file, Msg: e.Error()})
		default:
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}
