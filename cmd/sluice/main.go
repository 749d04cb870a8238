// Command sluice is Sluice's one binary: a RocketMQ-compatible NameServer
// and broker today, and the CDC pipeline, admin, bench, doctor and demo
// commands later. It only merges flags, environment and YAML into the
// daemon packages' Options, wires signals and runs them; one file per
// command.
//
// Exit codes: 0 after a clean stop, 1 for a runtime failure (a port in use,
// a broken data dir), 2 for a usage or configuration error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitConfig  = 2
)

// exitError carries the exit code for an error returned by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// configError marks a bad flag, environment variable or config file.
func configError(err error) error { return &exitError{code: exitConfig, err: err} }

// runtimeError marks a failure while starting or running a daemon.
func runtimeError(err error) error { return &exitError{code: exitRuntime, err: err} }

// app holds what every command shares: the output streams, the persistent
// flags' values, and a hook tests use to learn a daemon's address.
type app struct {
	stdout, stderr io.Writer
	// configFile is the -c/--config flag.
	configFile string
	// onServe, when set, is called with a daemon's bound address once it
	// is listening (tests dial it).
	onServe func(command string, addr net.Addr)
}

func main() {
	ctx, stop := signalContext(context.Background(), os.Stderr)
	code := (&app{stdout: os.Stdout, stderr: os.Stderr}).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code, printing
// errors to a.stderr.
func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.code == exitRuntime:
		fmt.Fprintf(a.stderr, "sluice: %v\n", err)
		return exitRuntime
	case errors.As(err, &ee):
		fmt.Fprintln(a.stderr, err)
		return ee.code
	default: // cobra's usage errors: unknown command or flag, bad flag value
		fmt.Fprintf(a.stderr, "sluice: %v\nRun 'sluice --help' for usage.\n", err)
		return exitConfig
	}
}

// rootCommand builds the command tree. Later commands (pipeline, admin,
// bench, doctor, demo) add themselves here.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "RocketMQ-compatible NameServer and broker, and a MySQL CDC pipeline",
		Long: `Sluice carries every row change of MySQL/MariaDB tables to a warehouse through a
message-broker cluster of its own, which speaks Apache RocketMQ's protocol.

Settings come from, highest precedence first: flags, SLUICE_* environment
variables, the YAML file given with -c, and built-in defaults.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return configError(fmt.Errorf("sluice: %w\nRun '%s --help' for usage.", err, c.CommandPath()))
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.configFile, "config", "c", "", "YAML config `file`")
	pf.String("log-level", "info", "log level: debug, info, warn or error")
	pf.String("log-format", "auto", "log format: json, text, or auto (text on a terminal, else json)")
	root.AddCommand(a.nameServerCommand(), a.brokerCommand(), a.demoCommand(), a.positionsCommand(), a.versionCommand())
	return root
}
