// Package config is the strict YAML loader shared by every Sluice daemon
// and pipeline, in the style of Prometheus's config package: the caller
// fills a struct with defaults, Load decodes the file onto it strictly,
// applies environment variables and flags, and calls Validate.
//
// # Precedence
//
// Highest first: a flag the user set, an environment variable
// (PREFIX_KEY, then LoadOptions.EnvAliases), the file, a fallback variable
// (LoadOptions.EnvFallbacks, such as NAMESRV_ADDR), the default. The
// environment and flag layers are resolved with spf13/viper (SetEnvPrefix,
// SetEnvKeyReplacer, AutomaticEnv, BindEnv, BindPFlag); the file is decoded
// here, from yaml.v3 nodes, so every error has a position.
//
// # Keys and values
//
// Keys are the `yaml:"snake_case"` tags of the target struct's fields;
// nested structs are nested mappings. The `config:"..."` tag adds checks:
//
//	positive       numbers, durations and sizes must be > 0
//	nonnegative    numbers must be >= 0
//	enum=a|b|c     the value must be one of these (a typo gets "did you mean")
//	sep=;          a list may also be written as one string, "a;b"
//
// Values are parsed the same way from YAML, environment variables and flags:
//
//	string          any scalar, kept as written: on, no, yes stay strings
//	bool            true or false only (also True, TRUE, False, FALSE)
//	int, int8..64   decimal, range-checked; no leading zeros, no 1e3
//	float32/64      finite numbers
//	time.Duration   with a unit: "30s", "1m30s", "500ms"; "0" allowed;
//	                never negative
//	ByteSize        "4096", "64KiB", "512MiB", "1GiB"; never negative
//	TextUnmarshaler its UnmarshalText
//	[]T             a YAML list; with sep, also "a;b"; from the environment
//	                or a flag, one string split on sep (default ",")
//	map[string]T    a mapping of scalars (not settable from env or flags)
//
// An explicit null (`key:` with nothing after it) is an error rather than a
// silent zero. In the file, scalar values may reference the environment:
// ${VAR} (an error naming the variable if unset), ${VAR:default}, and $${
// for a literal "${". Expansion happens after parsing, inside one value, so
// a variable cannot inject YAML structure.
//
// # Rejected files
//
// More than MaxFileSize bytes, lines over MaxLineLength, NUL and other
// control characters, invalid UTF-8, UTF-16, an empty or comment-only file,
// several documents, a top level that is not a mapping, nesting deeper than
// MaxDepth, anchors and aliases (so no alias bombs), merge keys, custom
// tags, non-scalar keys, unknown keys, duplicate keys and values of the
// wrong shape. A UTF-8 byte order mark is skipped.
//
// # Errors
//
// Each problem is an *Error printed as "file:line:col: key: problem", for
// example
//
//	broker.yaml:7:3: unknown key "segmnt_size" in store (did you mean "segment_size"?)
//	broker.yaml:4:12: broker_id: "x": not an integer
//	SLUICE_BROKER_ID="x": not an integer
//
// Load reports up to 20 problems at once, joined with errors.Join.
// Validate methods report cross-field problems with KeyError, which Load
// points at the file position, variable or flag that set the key.
package config
