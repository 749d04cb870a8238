package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// applyFallbacks sets keys from their fallback variables (LoadOptions.
// EnvFallbacks) before the file is decoded, so the file overrides them.
func applyFallbacks(schema *field, work reflect.Value, fallbacks map[string][]string, d *decoder) {
	for key, names := range fallbacks {
		f := lookupLeaf(schema, key)
		if f == nil {
			d.errs.add(fmt.Errorf("config: env fallback for unknown key %q", key))
			continue
		}
		for _, name := range names {
			if val, ok := os.LookupEnv(name); ok && val != "" {
				setFromString(f, work, val, fmt.Sprintf("%s=%s", name, quote(val)), d)
				break
			}
		}
	}
}

// applyOverrides applies environment variables and changed flags, resolved
// by viper: a changed flag beats the prefixed variable, which beats the
// aliases.
func applyOverrides(schema *field, work reflect.Value, opts LoadOptions, d *decoder) error {
	prefix := strings.TrimSuffix(opts.EnvPrefix, "_")
	flags, err := mapFlags(schema, opts.Flags, opts.FlagKeys)
	if err != nil {
		return err
	}
	v := viper.New()
	if prefix != "" {
		v.SetEnvPrefix(prefix)
		v.SetEnvKeyReplacer(envKeyReplacer)
		v.AutomaticEnv()
	}
	leaves := schema.leaves()
	for _, f := range leaves {
		if prefix != "" {
			for _, alias := range opts.EnvAliases[f.path] {
				if err := v.BindEnv(f.path, alias); err != nil {
					return fmt.Errorf("config: bind %s: %w", alias, err)
				}
			}
		}
		if fl := flags[f.path]; fl != nil {
			if err := v.BindPFlag(f.path, fl); err != nil {
				return fmt.Errorf("config: bind --%s: %w", fl.Name, err)
			}
		}
	}
	for key := range opts.EnvAliases {
		if lookupLeaf(schema, key) == nil {
			return fmt.Errorf("config: env alias for unknown key %q", key)
		}
	}
	for _, f := range leaves {
		if f.kind == kindMap || !v.IsSet(f.path) {
			continue // a map has no single variable or flag
		}
		source := overrideSource(f, flags[f.path], prefix, opts.EnvAliases[f.path])
		switch raw := v.Get(f.path).(type) {
		case []string: // a string-slice flag
			setFromItems(f, work, raw, source, d)
		case string:
			setFromString(f, work, raw, source, d)
		default: // viper converts int and bool flags
			setFromString(f, work, fmt.Sprint(raw), source, d)
		}
	}
	return nil
}

// overrideSource names what set f, for messages: `--broker-id="x"` or
// `SLUICE_BROKER_ID="x"`. It mirrors viper's precedence.
func overrideSource(f *field, fl *pflag.Flag, prefix string, aliases []string) string {
	if fl != nil && fl.Changed {
		return fmt.Sprintf("--%s=%s", fl.Name, quote(fl.Value.String()))
	}
	for _, name := range append([]string{envName(prefix, f.path)}, aliases...) {
		if val, ok := os.LookupEnv(name); ok && val != "" {
			return fmt.Sprintf("%s=%s", name, quote(val))
		}
	}
	return f.path
}

// setFromString sets f from one string, splitting lists on the field's
// separator (default ",").
func setFromString(f *field, work reflect.Value, s, source string, d *decoder) {
	if f.kind == kindList {
		sep := f.opts.sep
		if sep == "" {
			sep = ","
		}
		setFromItems(f, work, splitList(s, sep), source, d)
		return
	}
	d.origins[f.path] = Error{Source: source}
	if err := setScalar(f, work.FieldByIndex(f.index), s); err != nil {
		d.errs.add(&Error{Source: source, Key: f.path, Msg: err.Error()})
	}
}

func setFromItems(f *field, work reflect.Value, items []string, source string, d *decoder) {
	if f.kind != kindList {
		setFromString(f, work, strings.Join(items, ","), source, d)
		return
	}
	d.origins[f.path] = Error{Source: source}
	if i, err := setList(f, work.FieldByIndex(f.index), items); err != nil {
		d.errs.add(&Error{Source: source, Key: f.path, Msg: fmt.Sprintf("item %s: %v", quote(items[i]), err)})
	}
}

// mapFlags pairs flags with keys: by FlagKeys, else by the key's dashed
// form. Flags that match no key are left alone.
func mapFlags(schema *field, fs *pflag.FlagSet, explicit map[string]string) (map[string]*pflag.Flag, error) {
	out := map[string]*pflag.Flag{}
	if fs == nil {
		if len(explicit) > 0 {
			return nil, fmt.Errorf("config: FlagKeys given without Flags")
		}
		return out, nil
	}
	dashed := map[string]string{}
	for _, f := range schema.leaves() {
		dashed[strings.NewReplacer(".", "-", "_", "-").Replace(f.path)] = f.path
	}
	for name, key := range explicit {
		if fs.Lookup(name) == nil {
			return nil, fmt.Errorf("config: FlagKeys names unknown flag --%s", name)
		}
		if lookupLeaf(schema, key) == nil {
			return nil, fmt.Errorf("config: FlagKeys maps --%s to unknown key %q", name, key)
		}
	}
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		key, ok := explicit[fl.Name]
		if !ok {
			key, ok = dashed[fl.Name]
		}
		if !ok {
			return
		}
		if prev := out[key]; prev != nil {
			err = fmt.Errorf("config: flags --%s and --%s both set key %q", prev.Name, fl.Name, key)
		}
		out[key] = fl
	})
	return out, err
}

// lookupLeaf finds the non-struct field at a dotted key path.
func lookupLeaf(schema *field, key string) *field {
	f := schema
	for _, part := range strings.Split(key, ".") {
		if f.byKey == nil {
			return nil
		}
		if f = f.byKey[part]; f == nil {
			return nil
		}
	}
	if f.kind == kindStruct {
		return nil
	}
	return f
}
