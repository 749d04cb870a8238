package position

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleState is the state of testdata/state-v1.json.
func sampleState() State {
	return State{
		Version: 1,
		Position: Position{Flavor: "mariadb", File: "binlog.000003", Pos: 1234, GTIDSet: "0-1-100,1-2-7",
			Timestamp: 1714557598},
		Snapshot: &Snapshot{
			Start: Position{Flavor: "mariadb", File: "binlog.000002", Pos: 345, GTIDSet: "0-1-90"},
			Tables: []TableProgress{
				{Schema: "shop", Table: "orders", Done: true, LastKey: []string{"1000"}, Rows: 1000, TotalEstimate: 990},
				{Schema: "shop", Table: "order_items", LastKey: []string{"41", "2"}, Rows: 82, TotalEstimate: 4000},
				{Schema: "shop", Table: "users"},
			},
		},
		ServerID:   1,
		ServerUUID: "4xtVvFKpTsdGSCBWbrS3c2inPAw=",
		SavedAt:    time.Date(2024, 5, 1, 9, 59, 59, 123000000, time.UTC),
	}
}

func newTestStore(t *testing.T) *FileStore {
	t.Helper()
	return NewFileStore(filepath.Join(t.TempDir(), "pos.json"))
}

// TestFileStoreGoldenV1 pins the version-1 format: the file in testdata
// decodes to sampleState, and sampleState encodes to it byte for byte.
func TestFileStoreGoldenV1(t *testing.T) {
	golden, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(golden)
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleState(); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	enc, err := encodeState(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, golden) {
		t.Errorf("encoding changed; got\n%s", enc)
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if st, ok, err := s.Load(ctx); err != nil || ok || !reflect.DeepEqual(st, State{}) {
		t.Fatalf("Load of a missing file = %+v, %v, %v; want zero, false, nil", st, ok, err)
	}
	states := []State{
		sampleState(),
		{Position: Position{File: "binlog.000001", Pos: 4}},
		{Position: Position{Flavor: "mysql", GTIDSet: uuidA + ":1-5"}, ServerID: 7, ServerUUID: uuidA},
		{Position: Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4}, Snapshot: &Snapshot{
			Start: Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4}, Tables: []TableProgress{}}},
		// An unfinished snapshot before the stream started: no position yet.
		{Snapshot: &Snapshot{Start: Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4},
			Tables: []TableProgress{{Schema: "shop", Table: "orders", LastKey: []string{"7"}, Rows: 7}}}},
	}
	for i, st := range states {
		if err := s.Save(ctx, st); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		got, ok, err := s.Load(ctx)
		if err != nil || !ok {
			t.Fatalf("load %d: %v, %v", i, ok, err)
		}
		want := st
		want.Version = Version
		if want.SavedAt.IsZero() {
			if got.SavedAt.IsZero() || time.Since(got.SavedAt) > time.Minute || got.SavedAt.Location() != time.UTC {
				t.Errorf("state %d: SavedAt %v, want now in UTC", i, got.SavedAt)
			}
			want.SavedAt = got.SavedAt
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("state %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// Only the file itself is left behind: no temporary files.
	entries, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(entries) != 1 || entries[0].Name() != "pos.json" {
		t.Errorf("directory holds %v", entries)
	}
}

func TestFileStoreRefusesInvalid(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.Save(ctx, sampleState()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	mariadb := func(file string, pos uint32) Position { return Position{Flavor: "mariadb", File: file, Pos: pos} }
	tests := []struct {
		name string
		st   State
		want string
	}{
		{"fake rotate pos 0", State{Position: mariadb("binlog.000004", 0)},
			"invalid position binlog.000004:0: offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4"},
		{"pos inside header", State{Position: mariadb("binlog.000004", 3)},
			"invalid position binlog.000004:3: offset 3 is inside the file header; events start at 4"},
		{"zero position", State{}, "invalid position none: neither a binlog file and offset nor a GTID set"},
		{"zero position, snapshot without start", State{Snapshot: &Snapshot{}},
			"snapshot start: invalid position none: neither a binlog file and offset nor a GTID set"},
		{"bad GTID", State{Position: Position{Flavor: "mariadb", GTIDSet: "0-1"}},
			`invalid position mariadb-gtid:0-1: "0-1" is not a MariaDB GTID (DOMAIN-SERVER-SEQ)`},
		{"snapshot start at fake rotate", State{Position: mariadb("binlog.000004", 4), Snapshot: &Snapshot{Start: mariadb("binlog.000004", 0)}},
			"snapshot start: invalid position binlog.000004:0: offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4"},
		{"snapshot table twice", State{Position: mariadb("binlog.000004", 4), Snapshot: &Snapshot{Start: mariadb("binlog.000004", 4),
			Tables: []TableProgress{{Schema: "a", Table: "b"}, {Schema: "a", Table: "b"}}}}, "snapshot table a.b listed twice"},
		{"snapshot table unnamed", State{Position: mariadb("binlog.000004", 4), Snapshot: &Snapshot{Start: mariadb("binlog.000004", 4),
			Tables: []TableProgress{{Schema: "a"}}}}, "snapshot table 0: empty schema or table name"},
		{"negative rows", State{Position: mariadb("binlog.000004", 4), Snapshot: &Snapshot{Start: mariadb("binlog.000004", 4),
			Tables: []TableProgress{{Schema: "a", Table: "b", Rows: -1}}}}, "snapshot table a.b: negative row count"},
		{"other version", State{Version: 2, Position: mariadb("binlog.000004", 4)}, "state of version 2 (this build writes version 1)"},
	}
	for _, tc := range tests {
		err := s.Save(ctx, tc.st)
		want := "save position to " + s.Path() + ": " + tc.want
		if err == nil || err.Error() != want {
			t.Errorf("%s: Save = %v\nwant %s", tc.name, err, want)
		}
	}
	if after, _ := os.ReadFile(s.Path()); !bytes.Equal(before, after) {
		t.Error("a refused Save changed the file")
	}
}

// TestFileStoreDamaged: a file that does not check out is an error naming
// the path — never "nothing saved".
func TestFileStoreDamaged(t *testing.T) {
	good, err := encodeState(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in the encoding", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	// withCRC re-signs a modified state so that only the content is wrong.
	withCRC := func(data []byte) []byte {
		var env fileEnvelope
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		json.Compact(&c, env.State)
		env.CRC32C = checksum(c.Bytes())
		out, _ := json.Marshal(env)
		return out
	}
	tests := []struct {
		name    string
		data    []byte
		sentry  error
		message string
	}{
		{"empty", nil, ErrCorrupt, "damaged: empty file"},
		{"blank", []byte("\n  \n"), ErrCorrupt, "damaged: empty file"},
		{"bit flip in the position", replace(`"pos": 1234`, `"pos": 1235`), ErrCorrupt, `damaged: checksum mismatch (stored "`},
		{"changed GTID", replace(`"0-1-100,1-2-7"`, `"0-1-101,1-2-7"`), ErrCorrupt, "damaged: checksum mismatch"},
		{"wrong crc", replace(`"crc32c": "`, `"crc32c": "0`), ErrCorrupt, "damaged: checksum mismatch"},
		{"no crc", replace(`"crc32c"`, `"crc32x"`), ErrCorrupt, `damaged: json: unknown field "crc32x"`},
		{"unknown version", replace(`"version": 1`, `"version": 2`), ErrUnsupportedVersion, "unsupported version 2 (this build reads version 1)"},
		{"version zero", replace(`"version": 1`, `"version": 0`), ErrUnsupportedVersion, "unsupported version 0 (this build reads version 1)"},
		{"no version", replace(`"version": 1,`, ``), ErrCorrupt, "damaged: no version"},
		{"not JSON", []byte("binlog.000003:1234\n"), ErrCorrupt, "damaged: truncated or not JSON (invalid character 'b' looking for beginning of value)"},
		{"trailing data", append(append([]byte{}, good...), "{}"...), ErrCorrupt, "damaged: truncated or not JSON (invalid character '{' after top-level value)"},
		{"unknown key in state", withCRC(replace(`"server_id"`, `"server_idx"`)), ErrCorrupt, `damaged: state: json: unknown field "server_idx"`},
		{"fake rotate under a valid crc", withCRC(replace(`"pos": 1234`, `"pos": 0`)), ErrCorrupt,
			"damaged: invalid position binlog.000003:0 (gtid 0-1-100,1-2-7): offset 0 is a fake ROTATE event's"},
		{"null state", []byte(`{"version": 1, "crc32c": "00000000", "state": null}`), ErrCorrupt, "damaged: no state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			if err := os.WriteFile(s.Path(), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			st, ok, err := s.Load(context.Background())
			if err == nil || ok {
				t.Fatalf("Load = %+v, %v, %v; want an error", st, ok, err)
			}
			if !errors.Is(err, tc.sentry) {
				t.Errorf("error %v does not wrap %v", err, tc.sentry)
			}
			prefix := "position file " + s.Path() + ": "
			if !strings.HasPrefix(err.Error(), prefix+tc.message) {
				t.Errorf("error\n%s\nwant it to start with\n%s", err, prefix+tc.message)
			}
		})
	}
}

// TestFileStoreTruncated cuts a good file at every length: each is an
// error, never a state and never "nothing saved".
func TestFileStoreTruncated(t *testing.T) {
	good, err := encodeState(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	for n := 0; n < len(good)-1; n++ { // the last byte is the newline
		if err := os.WriteFile(s.Path(), good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Load(context.Background()); !errors.Is(err, ErrCorrupt) || ok {
			t.Fatalf("cut at %d of %d: ok=%v err=%v", n, len(good), ok, err)
		}
	}
}

// TestFileStoreReindented: whitespace is not content; an indented or
// compacted file still loads.
func TestFileStoreReindented(t *testing.T) {
	good, _ := encodeState(sampleState())
	var compact bytes.Buffer
	if err := json.Compact(&compact, good); err != nil {
		t.Fatal(err)
	}
	var wide bytes.Buffer
	if err := json.Indent(&wide, good, "\t", "\t\t"); err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{compact.Bytes(), wide.Bytes()} {
		st, err := decodeState(data)
		if err != nil || !reflect.DeepEqual(st, sampleState()) {
			t.Errorf("%s: %+v, %v", data, st, err)
		}
	}
}

// TestFileStoreLeftoverTmp: a crash between writing the temporary file and
// renaming it leaves NAME.tmp*; it never counts, and the next Save and
// Remove clear the way.
func TestFileStoreLeftoverTmp(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	newer := sampleState()
	newer.Position.Pos = 9999
	data, _ := encodeState(newer)
	tmp := s.Path() + ".tmp123456"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(ctx); ok || err != nil {
		t.Fatalf("with only a tmp file: ok=%v err=%v; want nothing saved", ok, err)
	}
	if err := s.Save(ctx, sampleState()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.Path()+".tmp999", []byte(`{"version": 1, "cr`), 0o644) // a torn one too
	st, ok, err := s.Load(ctx)
	if err != nil || !ok || st.Position.Pos != 1234 {
		t.Fatalf("Load = %+v, %v, %v; want the saved state, not the tmp file's", st.Position, ok, err)
	}
	existed, err := s.Remove(ctx)
	if err != nil || !existed {
		t.Fatalf("Remove = %v, %v", existed, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(entries) != 0 {
		t.Errorf("after Remove the directory holds %v", entries)
	}
	if _, ok, err := s.Load(ctx); ok || err != nil {
		t.Errorf("after Remove: ok=%v err=%v", ok, err)
	}
	if existed, err := s.Remove(ctx); existed || err != nil {
		t.Errorf("second Remove = %v, %v; want false, nil", existed, err)
	}
}

func TestFileStoreLock(t *testing.T) {
	s := newTestStore(t)
	l, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	// flock(2) locks belong to the open file description, so a second
	// open in the same process conflicts like another process would.
	_, err = NewFileStore(s.Path()).Lock()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	want := "position file " + s.Path() + " is in use by another process (pid "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	l2, err := s.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}

func TestFileStoreMissingDirectory(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "no", "such", "pos.json"))
	err := s.Save(context.Background(), sampleState())
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("Save into a missing directory = %v", err)
	}
}

func TestFileStoreCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newTestStore(t)
	if err := s.Save(ctx, sampleState()); !errors.Is(err, context.Canceled) {
		t.Errorf("Save = %v", err)
	}
	if _, _, err := s.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Load = %v", err)
	}
}
