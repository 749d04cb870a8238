package position

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"time"
)

// Version is the file format version this build reads and writes. Never
// change what a version-1 file means; a change is a new version.
const Version = 1

var (
	// ErrCorrupt marks a position file that is damaged: truncated, not
	// JSON, with a wrong checksum, unknown keys or an invalid position.
	ErrCorrupt = errors.New("damaged")
	// ErrUnsupportedVersion marks a position file of a format version
	// this build does not know.
	ErrUnsupportedVersion = errors.New("unsupported version")
)

// State is everything the ingester persists about its progress.
type State struct {
	// Version is the format version (Version); Save fills in 0.
	Version int `json:"-"`
	// Position is where to resume the binlog stream. It is zero only
	// while an initial snapshot is unfinished and the stream has not
	// started yet: it will start at Snapshot.Start.
	Position Position `json:"position"`
	// Snapshot is the progress of an unfinished initial snapshot; nil
	// when there is none.
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	// ServerID is the source's @@server_id.
	ServerID uint32 `json:"server_id"`
	// ServerUUID is the source's @@server_uuid, to detect a saved position
	// pointed at a different server; "" when unknown.
	ServerUUID string `json:"server_uuid"`
	// SavedAt is when the state was saved (UTC); Save fills in the zero
	// time.
	SavedAt time.Time `json:"saved_at"`
}

// Snapshot is the progress of an initial snapshot, so an interrupted one
// resumes where it stopped instead of starting over.
type Snapshot struct {
	// Start is the binlog position the snapshot meets the stream at.
	Start Position `json:"start"`
	// Tables holds one entry per table to snapshot.
	Tables []TableProgress `json:"tables"`
}

// TableProgress is how far the snapshot of one table got.
type TableProgress struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Done is set once every row of the table was published and
	// acknowledged.
	Done bool `json:"done"`
	// LastKey holds the primary-key values (as rendered strings) of the
	// last row published and acknowledged; nil before the first.
	LastKey []string `json:"last_key"`
	// Rows is how many rows were published and acknowledged.
	Rows int64 `json:"rows"`
	// TotalEstimate is the row count estimate (information_schema), for
	// progress and ETA only.
	TotalEstimate int64 `json:"total_estimate"`
}

// Unfinished returns how many tables are not done yet.
func (s *Snapshot) Unfinished() int {
	n := 0
	for _, t := range s.Tables {
		if !t.Done {
			n++
		}
	}
	return n
}

// Validate checks what Save requires: a valid position that is not a
// fake ROTATE's (or none, while a snapshot is unfinished), and a
// consistent snapshot.
func (s State) Validate() error {
	if s.Version != 0 && s.Version != Version {
		return fmt.Errorf("state of version %d (this build writes version %d)", s.Version, Version)
	}
	if s.Snapshot == nil || !s.Position.IsZero() {
		if err := s.Position.Validate(); err != nil {
			return err
		}
	}
	if s.Snapshot == nil {
		return nil
	}
	if err := s.Snapshot.Start.Validate(); err != nil {
		return fmt.Errorf("snapshot start: %w", err)
	}
	seen := map[[2]string]bool{}
	for i, t := range s.Snapshot.Tables {
		key := [2]string{t.Schema, t.Table}
		switch {
		case t.Schema == "" || t.Table == "":
			return fmt.Errorf("snapshot table %d: empty schema or table name", i)
		case seen[key]:
			return fmt.Errorf("snapshot table %s.%s listed twice", t.Schema, t.Table)
		case t.Rows < 0 || t.TotalEstimate < 0:
			return fmt.Errorf("snapshot table %s.%s: negative row count", t.Schema, t.Table)
		}
		seen[key] = true
	}
	return nil
}

// Store keeps the ingester's State.
type Store interface {
	// Load returns the saved state, or false when none was saved. A
	// damaged state is an error, never "nothing saved".
	Load(ctx context.Context) (State, bool, error)
	// Save replaces the saved state durably; it refuses an invalid one.
	Save(ctx context.Context, s State) error
}

// fileEnvelope is the JSON object of a position file.
type fileEnvelope struct {
	Version int             `json:"version"`
	CRC32C  string          `json:"crc32c"`
	State   json.RawMessage `json:"state"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeState renders s in the file format (see the package doc).
func encodeState(s State) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	env := fileEnvelope{Version: Version, CRC32C: checksum(body), State: body}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func checksum(compact []byte) string {
	return fmt.Sprintf("%08x", crc32.Checksum(compact, castagnoli))
}

// decodeState parses a position file. Errors wrap ErrCorrupt or
// ErrUnsupportedVersion.
func decodeState(data []byte) (State, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return State{}, fmt.Errorf("%w: empty file", ErrCorrupt)
	}
	// The version first, leniently, so a newer format is reported as
	// such rather than as unknown keys.
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return State{}, fmt.Errorf("%w: truncated or not JSON (%v)", ErrCorrupt, err)
	}
	if v := string(head.Version); v != strconv.Itoa(Version) {
		if v == "" {
			return State{}, fmt.Errorf("%w: no version", ErrCorrupt)
		}
		return State{}, fmt.Errorf("%w %s (this build reads version %d)", ErrUnsupportedVersion, v, Version)
	}
	var env fileEnvelope
	if err := strictUnmarshal(data, &env); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(env.State) == 0 || string(env.State) == "null" {
		return State{}, fmt.Errorf("%w: no state", ErrCorrupt)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.State); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if sum := checksum(compact.Bytes()); sum != env.CRC32C {
		return State{}, fmt.Errorf("%w: checksum mismatch (stored %q, computed %q)", ErrCorrupt, env.CRC32C, sum)
	}
	var s State
	if err := strictUnmarshal(env.State, &s); err != nil {
		return State{}, fmt.Errorf("%w: state: %v", ErrCorrupt, err)
	}
	s.Version = env.Version
	if err := s.Validate(); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

// strictUnmarshal decodes one JSON value, refusing unknown keys and
// trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("truncated (%v)", err)
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
