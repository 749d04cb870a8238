package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/canal/position"
)

// positionsTerminal is where `positions set` and `reset` ask for
// confirmation: stdin, and whether it is a terminal. Tests replace it.
var positionsTerminal = func() (in io.Reader, isTTY bool) { return os.Stdin, isTerminal(os.Stdin) }

// positionsCommand groups the tools for the ingester's saved binlog
// position (Canal's missing meta.dat editor, canal#83).
func (a *app) positionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "positions",
		Short: "Show, set or reset the ingester's saved binlog position",
		Long: `Show, set or reset the ingester's saved binlog position: where it resumes reading the
MySQL/MariaDB binlog, and the progress of an unfinished initial snapshot.

set and reset refuse to run while an ingester holds the position file, and ask
for confirmation on a terminal; pass --yes in scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.positionsShowCommand(), a.positionsSetCommand(), a.positionsResetCommand())
	return cmd
}

// positionsUsageError is a usage error (exit 2) of a positions command.
func positionsUsageError(cmd *cobra.Command, format string, args ...any) error {
	return configError(fmt.Errorf("%s: %s\nRun '%s --help' for usage.", cmd.CommandPath(), fmt.Sprintf(format, args...), cmd.CommandPath()))
}

func addPositionFileFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVar(file, "file", "", "the position file `PATH` (required until pipeline configs name it)")
	cmd.MarkFlagRequired("file")
}

func (a *app) positionsShowCommand() *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:   "show --file PATH [-o table|json]",
		Short: "Print the saved position, source, snapshot progress and save time",
		Example: `  sluice positions show --file /var/lib/sluice/shop.pos.json
  sluice positions show --file /var/lib/sluice/shop.pos.json -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return positionsUsageError(cmd, "-o %q: not one of table, json", output)
			}
			store := position.NewFileStore(file)
			st, ok, err := store.Load(cmd.Context())
			if err != nil {
				return runtimeError(err)
			}
			if output == "json" {
				return printStateJSON(a.stdout, file, st, ok)
			}
			printStateTable(a.stdout, file, st, ok)
			return nil
		},
	}
	addPositionFileFlag(cmd, &file)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// stateJSON is the stable JSON of `positions show -o json`: the state's
// keys as in the file, plus the path and readable times.
type stateJSON struct {
	Path         string             `json:"path"`
	Exists       bool               `json:"exists"`
	Version      int                `json:"version,omitempty"`
	Position     *position.Position `json:"position,omitempty"`
	PositionTime string             `json:"position_time,omitempty"`
	Snapshot     *position.Snapshot `json:"snapshot,omitempty"`
	ServerID     *uint32            `json:"server_id,omitempty"`
	ServerUUID   *string            `json:"server_uuid,omitempty"`
	SavedAt      string             `json:"saved_at,omitempty"`
}

func printStateJSON(w io.Writer, path string, st position.State, ok bool) error {
	out := stateJSON{Path: path, Exists: ok}
	if ok {
		out.Version, out.Position, out.Snapshot = st.Version, &st.Position, st.Snapshot
		out.ServerID, out.ServerUUID = &st.ServerID, &st.ServerUUID
		out.PositionTime = unixTime(st.Position.Timestamp)
		out.SavedAt = st.SavedAt.UTC().Format(time.RFC3339Nano)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return runtimeError(err)
	}
	return nil
}

// unixTime renders an event time in UTC, "" for 0 (unknown).
func unixTime(ts uint32) string {
	if ts == 0 {
		return ""
	}
	return time.Unix(int64(ts), 0).UTC().Format(time.RFC3339)
}

func printStateTable(w io.Writer, path string, st position.State, ok bool) {
	if !ok {
		fmt.Fprintf(w, "No saved position in %s: the next start begins as configured (the snapshot mode decides).\n", path)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := st.Position
	fmt.Fprintf(tw, "File:\t%s\n", path)
	fmt.Fprintf(tw, "Saved at:\t%s\n", st.SavedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "Source:\tserver_id %d, uuid %s\n", st.ServerID, orDash(st.ServerUUID))
	fmt.Fprintf(tw, "Flavor:\t%s\n", orDash(p.Flavor))
	binlog := "-"
	if p.File != "" {
		binlog = p.File + ":" + strconv.FormatUint(uint64(p.Pos), 10)
	}
	if p.IsZero() {
		binlog = "- (not started: the stream starts where the snapshot meets it)"
	}
	fmt.Fprintf(tw, "Binlog:\t%s\n", binlog)
	fmt.Fprintf(tw, "GTID set:\t%s\n", orDash(p.GTIDSet))
	fmt.Fprintf(tw, "Event time:\t%s\n", orDash(unixTime(p.Timestamp)))
	if st.Snapshot == nil {
		fmt.Fprintf(tw, "Snapshot:\tnone unfinished\n")
		tw.Flush()
		return
	}
	s := st.Snapshot
	fmt.Fprintf(tw, "Snapshot:\tunfinished: %d of %d tables done; it meets the stream at %s\n",
		len(s.Tables)-s.Unfinished(), len(s.Tables), s.Start)
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tSTATUS\tROWS\tESTIMATE\tLAST KEY")
	for _, t := range s.Tables {
		status := "pending"
		switch {
		case t.Done:
			status = "done"
		case t.Rows > 0 || t.LastKey != nil:
			status = "in progress"
		}
		key := "-"
		if len(t.LastKey) > 0 {
			key = "(" + strings.Join(t.LastKey, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s.%s\t%s\t%d\t~%d\t%s\n", t.Schema, t.Table, status, t.Rows, t.TotalEstimate, key)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// setOptions are the flags of `positions set`.
type setOptions struct {
	file, binlog, gtid, timestamp, source, flavor string
	serverID                                      uint32
	timeout                                       time.Duration
	yes                                           bool
}

func (a *app) positionsSetCommand() *cobra.Command {
	var o setOptions
	cmd := &cobra.Command{
		Use:   "set --file PATH (--binlog FILE:POS | --gtid SET | --timestamp TIME --source URL) [--yes]",
		Short: "Write a new position; the ingester resumes there on its next start",
		Long: `Write a new position into the position file; the ingester resumes reading the binlog
there on its next start. Any unfinished snapshot progress is dropped (and the
command says so): the remaining tables are then not snapshotted.

--timestamp looks up the first transaction at or after TIME (RFC 3339) in the
source's binlogs. --source mysql://USER:PASSWORD@HOST:PORT (the password may
instead come from MYSQL_PWD) also records the source's server_id and uuid, and,
with --binlog or --gtid, checks that the source still has that position.
Without --source the previous state's source identity is kept.`,
		Example: `  sluice positions set --file shop.pos.json --binlog binlog.000042:4
  sluice positions set --file shop.pos.json --gtid 0-1-1500
  sluice positions set --file shop.pos.json --timestamp 2024-05-01T10:00:00Z --source mysql://canal:secret@db1:3306`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runPositionsSet(cmd, o) },
	}
	addPositionFileFlag(cmd, &o.file)
	f := cmd.Flags()
	f.StringVar(&o.binlog, "binlog", "", "binlog file and offset, `FILE:POS` (e.g. binlog.000042:4)")
	f.StringVar(&o.gtid, "gtid", "", "executed GTID `SET` (MariaDB 0-1-100,1-2-7 or MySQL uuid:1-100)")
	f.StringVar(&o.timestamp, "timestamp", "", "resume at the first transaction at or after this RFC 3339 `TIME` (needs --source)")
	f.StringVar(&o.source, "source", "", "`URL` of the source server: mysql://USER:PASSWORD@HOST:PORT")
	f.StringVar(&o.flavor, "flavor", "", "mariadb or mysql (default: detected from the GTID set or the source)")
	f.Uint32Var(&o.serverID, "server-id", 0, "server_id for the binlog connection of --timestamp, unlike every replica's (0: random)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up looking up --timestamp after this long")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (a *app) runPositionsSet(cmd *cobra.Command, o setOptions) error {
	req, err := parseSetRequest(cmd, o)
	if err != nil {
		return err
	}
	store := position.NewFileStore(o.file)
	lock, err := store.Lock()
	if err != nil {
		return runtimeError(err)
	}
	defer lock.Unlock()
	old, exists, loadErr := store.Load(cmd.Context())
	if loadErr != nil {
		old, exists = position.State{}, false // replaced whole: nothing to keep
	}
	next, err := req.nextState(cmd, o.timeout, old, exists)
	if err != nil {
		return err
	}

	w := a.stdout
	fmt.Fprintf(w, "Position file: %s\n", o.file)
	describeCurrent(w, old, exists, loadErr)
	fmt.Fprintf(w, "New position:  %s", next.Position)
	if t := unixTime(next.Position.Timestamp); t != "" && req.ts != nil {
		fmt.Fprintf(w, " (the event before it is from %s)", t)
	}
	fmt.Fprintln(w)
	if exists && old.Snapshot != nil && old.Snapshot.Unfinished() > 0 {
		fmt.Fprintf(w, "The unfinished snapshot is dropped: %d of %d tables were not done, and they will not be snapshotted.\n",
			old.Snapshot.Unfinished(), len(old.Snapshot.Tables))
	}
	if err := confirm(cmd, a.stderr, o.yes, "Write the new position to "+o.file+"?"); err != nil {
		return err
	}
	if err := store.Save(cmd.Context(), next); err != nil {
		return runtimeError(err)
	}
	fmt.Fprintf(w, "Saved. The ingester resumes at %s on its next start.\n", next.Position)
	return nil
}

// setRequest is what `positions set` was asked to write.
type setRequest struct {
	p   position.Position // from --binlog or --gtid
	ts  *time.Time        // from --timestamp
	src *position.Source  // from --source
}

// parseSetRequest checks the flags of `positions set`; its errors are
// usage errors.
func parseSetRequest(cmd *cobra.Command, o setOptions) (setRequest, error) {
	given := 0
	for _, v := range []string{o.binlog, o.gtid, o.timestamp} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return setRequest{}, positionsUsageError(cmd, "give exactly one of --binlog, --gtid or --timestamp")
	}
	if o.flavor != "" && o.flavor != position.FlavorMariaDB && o.flavor != position.FlavorMySQL {
		return setRequest{}, positionsUsageError(cmd, "--flavor=%q: not one of mariadb, mysql", o.flavor)
	}
	if o.timestamp != "" && o.source == "" {
		return setRequest{}, positionsUsageError(cmd, "--timestamp needs --source mysql://USER:PASSWORD@HOST:PORT to look the time up in")
	}
	var req setRequest
	if o.source != "" {
		s, err := parseSourceURL(o.source)
		if err != nil {
			return setRequest{}, positionsUsageError(cmd, "--source=%q: %v", redactURL(o.source), err)
		}
		s.Flavor, s.ServerID = o.flavor, o.serverID
		req.src = &s
	}
	var err error
	if req.p, req.ts, err = parseNewPosition(o); err != nil {
		return setRequest{}, positionsUsageError(cmd, "%v", err)
	}
	if req.p.Flavor == "" {
		req.p.Flavor = o.flavor
	}
	return req, nil
}

// nextState is the state to write: the new position, no snapshot, and the
// source's identity (asked from --source, else kept from old).
func (r setRequest) nextState(cmd *cobra.Command, timeout time.Duration, old position.State, exists bool) (position.State, error) {
	next := position.State{Position: r.p, ServerID: old.ServerID, ServerUUID: old.ServerUUID}
	if r.src != nil {
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		var err error
		if next.Position, err = resolveOnSource(ctx, *r.src, r.p, r.ts); err != nil {
			return next, runtimeError(err)
		}
		if next.ServerID, next.ServerUUID, err = identify(ctx, *r.src); err != nil {
			return next, runtimeError(err)
		}
	}
	if next.Position.Flavor == "" && exists {
		next.Position.Flavor = old.Position.Flavor
	}
	if err := next.Validate(); err != nil {
		return next, positionsUsageError(cmd, "%v", err)
	}
	return next, nil
}

// parseNewPosition reads --binlog, --gtid or --timestamp; for a timestamp
// the position is resolved later, against the source.
func parseNewPosition(o setOptions) (position.Position, *time.Time, error) {
	switch {
	case o.binlog != "":
		p, err := position.Parse(o.binlog)
		if err != nil {
			return p, nil, fmt.Errorf("--binlog: %v", err)
		}
		if p.File == "" {
			return p, nil, fmt.Errorf("--binlog=%q: want FILE:POS; a GTID set goes in --gtid", o.binlog)
		}
		return p, nil, nil
	case o.gtid != "":
		return parseGTIDFlag(o.gtid, o.flavor)
	default:
		ts, err := time.Parse(time.RFC3339Nano, o.timestamp)
		if err != nil {
			return position.Position{}, nil, fmt.Errorf("--timestamp=%q: not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)", o.timestamp)
		}
		return position.Position{}, &ts, nil
	}
}

// parseGTIDFlag accepts a bare set or one with a gtid: prefix; --flavor,
// when given, decides how it is read.
func parseGTIDFlag(set, flavor string) (position.Position, *time.Time, error) {
	s := set
	if lower := strings.ToLower(s); !strings.HasPrefix(lower, "gtid:") && !strings.HasPrefix(lower, "mariadb-gtid:") &&
		!strings.HasPrefix(lower, "mysql-gtid:") {
		prefix := "gtid:"
		if flavor != "" {
			prefix = flavor + "-gtid:"
		}
		s = prefix + s
	}
	p, err := position.Parse(s)
	if err != nil {
		return p, nil, fmt.Errorf("--gtid: %v", err)
	}
	if flavor != "" && p.Flavor != flavor {
		return p, nil, fmt.Errorf("--gtid=%q is a %s GTID set, but --flavor=%s", set, p.Flavor, flavor)
	}
	return p, nil, nil
}

// resolveOnSource looks a timestamp up on the source, or checks that the
// source still has the position given.
func resolveOnSource(ctx context.Context, src position.Source, p position.Position, ts *time.Time) (position.Position, error) {
	if ts != nil {
		found, err := position.FindByTimestamp(ctx, src, *ts)
		if err != nil {
			return found, fmt.Errorf("look up %s on %s: %w", ts.Format(time.RFC3339Nano), src.Addr(), err)
		}
		return found, nil
	}
	db, err := src.Open()
	if err != nil {
		return p, err
	}
	defer db.Close()
	flavor, err := position.DetectFlavor(ctx, db)
	if err != nil {
		return p, fmt.Errorf("source %s: %w", src.Addr(), err)
	}
	if p.Flavor == "" {
		p.Flavor = flavor
	}
	if p.Flavor != flavor {
		return p, fmt.Errorf("the source at %s is %s, the position %s", src.Addr(), flavor, p.Flavor)
	}
	if err := position.CheckAvailable(ctx, db, p); err != nil {
		return p, fmt.Errorf("source %s: %w", src.Addr(), err)
	}
	return p, nil
}

func identify(ctx context.Context, src position.Source) (uint32, string, error) {
	db, err := src.Open()
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	id, uuid, err := position.ServerIdentity(ctx, db)
	if err != nil {
		return 0, "", fmt.Errorf("source %s: %w", src.Addr(), err)
	}
	return id, uuid, nil
}

// parseSourceURL reads mysql://USER[:PASSWORD]@HOST[:PORT]; without a
// password in the URL, MYSQL_PWD supplies it.
func parseSourceURL(s string) (position.Source, error) {
	const want = "want mysql://USER[:PASSWORD]@HOST[:PORT]"
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "mysql" || u.Hostname() == "" || u.Opaque != "" {
		return position.Source{}, errors.New(want)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return position.Source{}, fmt.Errorf("%s, without a database or options", want)
	}
	src := position.Source{Host: u.Hostname(), User: u.User.Username()}
	if src.User == "" {
		return position.Source{}, fmt.Errorf("no user: %s", want)
	}
	if pw, ok := u.User.Password(); ok {
		src.Password = pw
	} else {
		src.Password = os.Getenv("MYSQL_PWD")
	}
	if p := u.Port(); p != "" {
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil || port == 0 {
			return position.Source{}, fmt.Errorf("port %q: %s", p, want)
		}
		src.Port = int(port)
	}
	return src, nil
}

// redactURL hides the password of a source URL in messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	return s
}

// describeCurrent prints what the file holds now.
func describeCurrent(w io.Writer, old position.State, exists bool, loadErr error) {
	switch {
	case loadErr != nil:
		fmt.Fprintf(w, "Current:       unreadable, replaced by this command (%v)\n", loadErr)
	case !exists:
		fmt.Fprintln(w, "Current:       none saved")
	case old.Position.IsZero():
		fmt.Fprintf(w, "Current:       none yet, an initial snapshot is unfinished (saved %s)\n", old.SavedAt.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "Current:       %s (saved %s)\n", old.Position, old.SavedAt.UTC().Format(time.RFC3339))
	}
}

// confirm asks on a terminal unless --yes; without a terminal it refuses
// (exit 2), and a "no" aborts (exit 1).
func confirm(cmd *cobra.Command, prompt io.Writer, yes bool, question string) error {
	if yes {
		return nil
	}
	in, tty := positionsTerminal()
	if !tty {
		return configError(fmt.Errorf("%s: stdin is not a terminal; pass --yes to confirm (nothing was changed)", cmd.CommandPath()))
	}
	fmt.Fprintf(prompt, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return runtimeError(errors.New("aborted; nothing was changed"))
}

func (a *app) positionsResetCommand() *cobra.Command {
	var file string
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset --file PATH [--yes]",
		Short: "Remove the saved state; the next start begins as configured",
		Long: `Remove the saved position and snapshot progress, so that the ingester's next start
begins as configured (its snapshot mode decides: snapshot again, or start at the
configured position). A damaged position file can be reset too.`,
		Example: `  sluice positions reset --file /var/lib/sluice/shop.pos.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store := position.NewFileStore(file)
			lock, err := store.Lock()
			if err != nil {
				return runtimeError(err)
			}
			defer lock.Unlock()
			old, exists, loadErr := store.Load(cmd.Context())
			if !exists && loadErr == nil {
				fmt.Fprintf(a.stdout, "No saved position in %s; nothing to reset.\n", file)
				return nil
			}
			fmt.Fprintf(a.stdout, "Position file: %s\n", file)
			describeCurrent(a.stdout, old, exists, loadErr)
			if exists && old.Snapshot != nil && old.Snapshot.Unfinished() > 0 {
				fmt.Fprintf(a.stdout, "The unfinished snapshot progress (%d of %d tables not done) is removed too.\n",
					old.Snapshot.Unfinished(), len(old.Snapshot.Tables))
			}
			if err := confirm(cmd, a.stderr, yes, "Remove the saved state in "+file+"?"); err != nil {
				return err
			}
			if _, err := store.Remove(cmd.Context()); err != nil {
				return runtimeError(err)
			}
			fmt.Fprintln(a.stdout, "Removed. The next start begins as configured (the snapshot mode decides).")
			return nil
		},
	}
	addPositionFileFlag(cmd, &file)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
