package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/internal/config"
)

// addFlag declares a flag whose default (shown in help) is def, the
// config's default. The flag has its own storage: config.Load reads only
// the flags the user set, after the file and the environment.
func addFlag(fs *pflag.FlagSet, name string, def any, usage string) {
	switch v := def.(type) {
	case string:
		fs.String(name, v, usage)
	case bool:
		fs.Bool(name, v, usage)
	case int:
		fs.Int(name, v, usage)
	case int32:
		fs.Int32(name, v, usage)
	case int64:
		fs.Int64(name, v, usage)
	case float64:
		fs.Float64(name, v, usage)
	case time.Duration:
		fs.Duration(name, v, usage)
	case config.ByteSize:
		fs.Var(&v, name, usage)
	case []string:
		fs.String(name, strings.Join(v, ";"), usage)
	default:
		panic(fmt.Sprintf("flag --%s: unsupported type %T", name, def))
	}
}
