package canal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/internal/jsonx"
)

// Event types of a FlatMessage (Canal's names).
const (
	TypeInsert   = "INSERT"
	TypeUpdate   = "UPDATE"
	TypeDelete   = "DELETE"
	TypeCreate   = "CREATE"
	TypeAlter    = "ALTER"
	TypeErase    = "ERASE"
	TypeRename   = "RENAME"
	TypeTruncate = "TRUNCATE"
	TypeQuery    = "QUERY"
)

// Cell is one column value of a row: a string, or SQL NULL.
type Cell struct {
	Name string
	S    string
	Null bool
}

// FlatMessage is one event on a topic: Canal's FlatMessage fields, one row
// change (Data holds one row) or one DDL statement, plus Sluice's position
// fields. See docs/events.md.
type FlatMessage struct {
	// ID is a stable id derived from the source position (Canal's is a
	// batch counter that resets on restart).
	ID       int64
	Database string
	Table    string
	PKNames  []string
	IsDDL    bool
	Type     string
	// ES is the event's time on the source (ms; the binlog has seconds).
	ES int64
	// TS is when the ingester built the message (ms).
	TS  int64
	SQL string
	// SQLType and MySQLType are per column, in column order.
	SQLType   []int
	MySQLType []string
	// Data is the row (after image; before image for DELETE), nil for DDL.
	Data []Cell
	// Old holds, for UPDATE, the changed columns with their before values.
	Old []Cell

	GTID     string
	File     string
	Pos      uint32
	Row      int
	XID      uint64
	ServerID uint32
	// Snapshot marks rows read by the initial snapshot; their position is
	// the binlog position the snapshot meets the stream at, and Row is -1.
	Snapshot bool
	// Columns, on a DDL event other than a drop, describe the table after
	// the statement (a Sluice field: Canal sends none), so a sink can
	// evolve its schema without parsing SQL.
	Columns []ColumnDef
}

// ColumnDef describes one column of a table after a DDL statement.
type ColumnDef struct {
	Name string
	// Type is the column's DDL type, as in mysqlType.
	Type     string
	Nullable bool
	// Default is the default value rendered as an event value would be
	// (nil: no default, or NULL); DefaultFn names a function default
	// instead ("current_timestamp"), which MySQL evaluates at the ALTER
	// for the rows a column is added to.
	Default   *string
	DefaultFn string
	// From is the column's name before the statement when it renamed the
	// column, else "".
	From string
}

// EventID is the stable id of the row-th change of the event at file:pos
// of the server with serverID: FNV-1a, made non-negative (Canal's id is a
// Java long).
func EventID(serverID uint32, file string, pos uint32, row int) int64 {
	var b [20]byte
	h := fnvBytes(fnvOffset, strconv.AppendUint(b[:0], uint64(serverID), 10))
	h = fnvByte(h, 0)
	h = fnvString(h, file)
	h = fnvByte(h, 0)
	h = fnvBytes(h, strconv.AppendUint(b[:0], uint64(pos), 10))
	h = fnvByte(h, 0)
	h = fnvBytes(h, strconv.AppendInt(b[:0], int64(row), 10))
	return int64(h &^ (1 << 63))
}

// AppendJSON appends m as JSON. Column maps keep the table's column order.
func (m *FlatMessage) AppendJSON(dst []byte) []byte {
	dst, _ = m.appendJSON(dst, false)
	return dst
}

// xidSlotWidth is the room left for an XID written after encoding: the
// XID is only known at the commit, after the rows, so the ingester encodes
// a transaction's events with a zero padded by spaces (valid JSON) and
// writes the digits over it then. 20 digits hold any uint64.
const xidSlotWidth = 20

// appendJSON appends m; with slot, "xid" is a zero padded to xidSlotWidth
// and its offset is returned.
func (m *FlatMessage) appendJSON(dst []byte, slot bool) ([]byte, int) {
	xidAt := -1
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, m.ID, 10)
	dst = append(dst, `,"database":`...)
	dst = jsonx.AppendString(dst, m.Database)
	dst = append(dst, `,"table":`...)
	dst = jsonx.AppendString(dst, m.Table)
	dst = append(dst, `,"pkNames":`...)
	if m.PKNames == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, n := range m.PKNames {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, n)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"isDdl":`...)
	dst = strconv.AppendBool(dst, m.IsDDL)
	dst = append(dst, `,"type":`...)
	dst = jsonx.AppendString(dst, m.Type)
	dst = append(dst, `,"es":`...)
	dst = strconv.AppendInt(dst, m.ES, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, m.TS, 10)
	dst = append(dst, `,"sql":`...)
	dst = jsonx.AppendString(dst, m.SQL)
	names := m.Data
	if names == nil {
		dst = append(dst, `,"sqlType":null,"mysqlType":null,"data":null,"old":null`...)
	} else {
		dst = append(dst, `,"sqlType":{`...)
		for i, c := range names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, c.Name)
			dst = append(dst, ':')
			if i < len(m.SQLType) {
				dst = strconv.AppendInt(dst, int64(m.SQLType[i]), 10)
			} else {
				dst = append(dst, "null"...)
			}
		}
		dst = append(dst, `},"mysqlType":{`...)
		for i, c := range names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, c.Name)
			dst = append(dst, ':')
			if i < len(m.MySQLType) {
				dst = jsonx.AppendString(dst, m.MySQLType[i])
			} else {
				dst = append(dst, "null"...)
			}
		}
		dst = append(dst, `},"data":[`...)
		dst = appendRow(dst, m.Data)
		dst = append(dst, `],"old":`...)
		if m.Old == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '[')
			dst = appendRow(dst, m.Old)
			dst = append(dst, ']')
		}
	}
	dst = append(dst, `,"gtid":`...)
	dst = jsonx.AppendString(dst, m.GTID)
	dst = append(dst, `,"file":`...)
	dst = jsonx.AppendString(dst, m.File)
	dst = append(dst, `,"pos":`...)
	dst = strconv.AppendUint(dst, uint64(m.Pos), 10)
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(m.Row), 10)
	dst = append(dst, `,"xid":`...)
	if slot {
		xidAt = len(dst)
		dst = append(dst, "0                   "...)
	} else {
		dst = strconv.AppendUint(dst, m.XID, 10)
	}
	dst = append(dst, `,"serverId":`...)
	dst = strconv.AppendUint(dst, uint64(m.ServerID), 10)
	if m.Snapshot {
		dst = append(dst, `,"snapshot":true`...)
	}
	if m.Columns != nil {
		dst = appendColumns(dst, m.Columns)
	}
	return append(dst, '}'), xidAt
}

// patchXID writes xid into the slot at xidAt of an event encoded with one.
func patchXID(body []byte, xidAt int, xid uint64) {
	strconv.AppendUint(body[xidAt:xidAt], xid, 10)
}

func appendRow(dst []byte, row []Cell) []byte {
	dst = append(dst, '{')
	for i, c := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonx.AppendString(dst, c.Name)
		dst = append(dst, ':')
		if c.Null {
			dst = append(dst, "null"...)
		} else {
			dst = jsonx.AppendString(dst, c.S)
		}
	}
	return append(dst, '}')
}

func appendColumns(dst []byte, cols []ColumnDef) []byte {
	dst = append(dst, `,"columns":[`...)
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = jsonx.AppendString(dst, c.Name)
		dst = append(dst, `,"type":`...)
		dst = jsonx.AppendString(dst, c.Type)
		dst = append(dst, `,"nullable":`...)
		dst = strconv.AppendBool(dst, c.Nullable)
		if c.Default != nil {
			dst = append(dst, `,"default":`...)
			dst = jsonx.AppendString(dst, *c.Default)
		}
		if c.DefaultFn != "" {
			dst = append(dst, `,"defaultFn":`...)
			dst = jsonx.AppendString(dst, c.DefaultFn)
		}
		if c.From != "" {
			dst = append(dst, `,"from":`...)
			dst = jsonx.AppendString(dst, c.From)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// columnJSON is the decoding shape of a ColumnDef.
type columnJSON struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Nullable  bool    `json:"nullable"`
	Default   *string `json:"default"`
	DefaultFn string  `json:"defaultFn"`
	From      string  `json:"from"`
}

// flatJSON is the decoding shape of a FlatMessage.
type flatJSON struct {
	ID        *int64            `json:"id"`
	Database  string            `json:"database"`
	Table     string            `json:"table"`
	PKNames   []string          `json:"pkNames"`
	IsDDL     bool              `json:"isDdl"`
	Type      string            `json:"type"`
	ES        int64             `json:"es"`
	TS        int64             `json:"ts"`
	SQL       string            `json:"sql"`
	SQLType   json.RawMessage   `json:"sqlType"`
	MySQLType json.RawMessage   `json:"mysqlType"`
	Data      []json.RawMessage `json:"data"`
	Old       []json.RawMessage `json:"old"`
	GTID      string            `json:"gtid"`
	File      string            `json:"file"`
	Pos       uint32            `json:"pos"`
	Row       int               `json:"row"`
	XID       uint64            `json:"xid"`
	ServerID  uint32            `json:"serverId"`
	Snapshot  bool              `json:"snapshot"`
	Columns   []columnJSON      `json:"columns"`
}

// ErrBadEvent is wrapped by DecodeFlat's errors.
var ErrBadEvent = errors.New("bad event")

// DecodeFlat parses a FlatMessage written by AppendJSON (or by Canal, for
// the fields they share). Column order is kept for Data, Old, SQLType and
// MySQLType. Data must hold at most one row.
func DecodeFlat(b []byte) (*FlatMessage, error) {
	var j flatJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: data after the message", ErrBadEvent)
	}
	if j.ID == nil || j.Database == "" || j.Type == "" {
		return nil, fmt.Errorf("%w: id, database and type are required", ErrBadEvent)
	}
	m := &FlatMessage{ID: *j.ID, Database: j.Database, Table: j.Table, PKNames: j.PKNames, IsDDL: j.IsDDL,
		Type: j.Type, ES: j.ES, TS: j.TS, SQL: j.SQL, GTID: j.GTID, File: j.File, Pos: j.Pos, Row: j.Row,
		XID: j.XID, ServerID: j.ServerID, Snapshot: j.Snapshot}
	if j.Columns != nil {
		m.Columns = make([]ColumnDef, len(j.Columns))
		for i, c := range j.Columns {
			if c.Name == "" || c.Type == "" {
				return nil, fmt.Errorf("%w: column %d of columns has no name or type", ErrBadEvent, i)
			}
			m.Columns[i] = ColumnDef(c)
		}
	}
	if len(j.Data) > 1 || len(j.Old) > 1 {
		return nil, fmt.Errorf("%w: %d rows in data, %d in old; Sluice events hold one", ErrBadEvent, len(j.Data), len(j.Old))
	}
	var err error
	if len(j.Data) == 1 {
		if m.Data, err = decodeRow(j.Data[0]); err != nil {
			return nil, err
		}
		if m.Data == nil {
			m.Data = []Cell{}
		}
	}
	if len(j.Old) == 1 {
		if m.Old, err = decodeRow(j.Old[0]); err != nil {
			return nil, err
		}
		if m.Old == nil {
			m.Old = []Cell{}
		}
	}
	types, err := decodeRow(j.SQLType)
	if err != nil {
		return nil, err
	}
	for _, c := range types {
		n, err := strconv.Atoi(c.S)
		if err != nil && !c.Null {
			return nil, fmt.Errorf("%w: sqlType of %s is %q", ErrBadEvent, c.Name, c.S)
		}
		m.SQLType = append(m.SQLType, n)
	}
	mt, err := decodeRow(j.MySQLType)
	if err != nil {
		return nil, err
	}
	for _, c := range mt {
		m.MySQLType = append(m.MySQLType, c.S)
	}
	return m, nil
}

// decodeRow reads a JSON object of column → string|number|null in order.
func decodeRow(raw json.RawMessage) ([]Cell, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: a row must be a JSON object", ErrBadEvent)
	}
	var row []Cell
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("%w: column %q appears twice", ErrBadEvent, name)
		}
		seen[name] = true
		tok, err = d.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		switch v := tok.(type) {
		case nil:
			row = append(row, Cell{Name: name, Null: true})
		case string:
			row = append(row, Cell{Name: name, S: v})
		case json.Number:
			row = append(row, Cell{Name: name, S: v.String()})
		default:
			return nil, fmt.Errorf("%w: column %q holds %v, want a string or null", ErrBadEvent, name, tok)
		}
	}
	if _, err := d.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	return row, nil
}
