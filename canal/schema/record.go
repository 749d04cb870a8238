package schema

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// The file format (see the package doc). Never change these constants: they
// are what files already written hold.
const (
	fileMagic    = "SLSCHEM1"
	headerSize   = 16
	maxPayload   = 1 << 30
	kindSnapshot = 1
	kindChange   = 2
	kindRewind   = 3
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by the CorruptionError Open returns.
var ErrCorrupt = errors.New("schema history corrupt")

// CorruptionError reports a bad record that is not the file's torn tail:
// valid records follow it, so cutting it would lose them.
type CorruptionError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("schema history %s: bad record at offset %d: %s (valid records follow it; restore the file or re-bootstrap into a new one)", e.Path, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

// record is one entry of the history file.
type record struct {
	kind byte
	// Key is the position of the snapshot, change or rewind.
	Key Key `json:"key"`
	// SQL is the statement of a change, kept for operators.
	SQL string `json:"sql,omitempty"`
	// Server, when set, replaces the server description.
	Server *Server `json:"server,omitempty"`
	// Databases are the new versions of databases (DB nil: dropped); in a
	// snapshot with DatabasesSet, every other database is dropped.
	Databases    []dbEntry `json:"databases,omitempty"`
	DatabasesSet bool      `json:"databasesSet,omitempty"`
	// Tables are the new versions of tables (Table nil: dropped); in a
	// snapshot, every other table is dropped.
	Tables []tableEntry `json:"tables,omitempty"`
}

type dbEntry struct {
	Name string    `json:"name"`
	DB   *Database `json:"db"`
}

type tableEntry struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Table  *Table `json:"table"`
}

// encodeRecord returns the record's bytes: header and JSON payload.
func encodeRecord(r *record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode schema history record: %w", err)
	}
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("encode schema history record: %d bytes is over the %d limit", len(payload), maxPayload)
	}
	buf := make([]byte, headerSize+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	buf[4] = r.kind
	binary.LittleEndian.PutUint32(buf[8:], crc32.Checksum(buf[0:8], crcTable))
	binary.LittleEndian.PutUint32(buf[12:], crc32.Checksum(payload, crcTable))
	copy(buf[headerSize:], payload)
	return buf, nil
}

// frameAt checks the record framed at data[off:]: its header checksum, its
// length and its payload checksum. It returns the payload and the offset
// after the record, or why the record is bad.
func frameAt(data []byte, off int) (kind byte, payload []byte, next int, reason string) {
	if len(data)-off < headerSize {
		return 0, nil, 0, "short header"
	}
	h := data[off : off+headerSize]
	if crc32.Checksum(h[0:8], crcTable) != binary.LittleEndian.Uint32(h[8:]) {
		return 0, nil, 0, "header checksum mismatch"
	}
	n := binary.LittleEndian.Uint32(h[0:])
	if n > maxPayload || h[5] != 0 || h[6] != 0 || h[7] != 0 {
		return 0, nil, 0, "malformed header"
	}
	if uint64(len(data)-off-headerSize) < uint64(n) {
		return 0, nil, 0, "record runs past the end of the file"
	}
	payload = data[off+headerSize : off+headerSize+int(n)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(h[12:]) {
		return 0, nil, 0, "payload checksum mismatch"
	}
	return h[4], payload, off + headerSize + int(n), ""
}

// scanRecords splits the records after the file header. A bad record with
// no valid record after it is a torn tail: good is the length of the data
// up to it, which the caller cuts the file to. A bad record followed by a
// valid one is corruption.
func scanRecords(data []byte) (recs []*record, good int, err error) {
	off := 0
	for off < len(data) {
		kind, payload, next, reason := frameAt(data, off)
		if reason != "" {
			if validRecordAfter(data, off+1) {
				return nil, off, &CorruptionError{Offset: int64(off), Reason: reason}
			}
			return recs, off, nil
		}
		r, err := decodePayload(kind, payload)
		if err != nil {
			return nil, off, &CorruptionError{Offset: int64(off), Reason: err.Error()}
		}
		recs = append(recs, r)
		off = next
	}
	return recs, off, nil
}

// validRecordAfter reports whether a record with valid checksums starts at
// or after from. Only the tail after a bad record is searched, so the cost
// is bounded by what a crash can leave or what corruption hides.
func validRecordAfter(data []byte, from int) bool {
	for off := from; off+headerSize <= len(data); off++ {
		if _, _, _, reason := frameAt(data, off); reason == "" {
			return true
		}
	}
	return false
}

// decodePayload parses and checks a record whose checksums hold.
func decodePayload(kind byte, payload []byte) (*record, error) {
	switch kind {
	case kindSnapshot, kindChange, kindRewind:
	default:
		return nil, fmt.Errorf("unknown record kind %d", kind)
	}
	r := &record{kind: kind}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode record: data after the record")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// check rejects a record that would make the model inconsistent; append
// runs it too, so that the history never writes what Open refuses.
func (r *record) check() error {
	for _, e := range r.Tables {
		if e.Schema == "" || e.Name == "" {
			return errors.New("table entry without a name")
		}
		if e.Table != nil {
			if e.Table.Schema != e.Schema || e.Table.Name != e.Name {
				return fmt.Errorf("table entry %s.%s holds table %s", e.Schema, e.Name, e.Table)
			}
			if err := checkTable(e.Table); err != nil {
				return err
			}
		}
	}
	for _, e := range r.Databases {
		if e.Name == "" {
			return errors.New("database entry without a name")
		}
	}
	return nil
}

// checkTable rejects a table that would make lookups panic.
func checkTable(t *Table) error {
	seen := map[int]bool{}
	for _, i := range t.PK {
		if i < 0 || i >= len(t.Columns) || seen[i] {
			return fmt.Errorf("table %s: primary key index %d out of range or repeated", t, i)
		}
		seen[i] = true
	}
	return nil
}
