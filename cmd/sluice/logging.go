package main

import (
	"io"
	"log/slog"
	"os"
)

// logConfig is the `log:` section shared by every daemon's config, also
// set by --log-level and --log-format.
type logConfig struct {
	Level  string `yaml:"level" config:"enum=debug|info|warn|error"`
	Format string `yaml:"format" config:"enum=auto|json|text"`
}

func defaultLogConfig() logConfig { return logConfig{Level: "info", Format: "auto"} }

// newLogger builds the process's logger: JSON for services, text when w
// is a terminal (or when asked). It is passed down, never made global.
func newLogger(c logConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo // unreachable: the loader checked the enum
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" || c.Format == "auto" && isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a character device such as a tty.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
