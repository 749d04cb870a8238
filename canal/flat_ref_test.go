package canal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

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

// decodeFlatRef is DecodeFlat as it was written on encoding/json, the
// reference the differential fuzz test holds the scanner to.
func decodeFlatRef(b []byte) (*FlatMessage, error) {
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
		if m.Data, err = decodeRowRef(j.Data[0]); err != nil {
			return nil, err
		}
		if m.Data == nil {
			m.Data = []Cell{}
		}
	}
	if len(j.Old) == 1 {
		if m.Old, err = decodeRowRef(j.Old[0]); err != nil {
			return nil, err
		}
		if m.Old == nil {
			m.Old = []Cell{}
		}
	}
	types, err := decodeRowRef(j.SQLType)
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
	mt, err := decodeRowRef(j.MySQLType)
	if err != nil {
		return nil, err
	}
	for _, c := range mt {
		m.MySQLType = append(m.MySQLType, c.S)
	}
	return m, nil
}

// decodeRow reads a JSON object of column → string|number|null in order.
func decodeRowRef(raw json.RawMessage) ([]Cell, error) {
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

// decodeFlatRefStrict is the reference with the one difference DecodeFlat
// makes on purpose: json.Decoder.More accepts a message followed by '}' or
// ']' (it only peeks at the next byte), the scanner rejects anything but
// white space after the message.
func decodeFlatRefStrict(b []byte) (*FlatMessage, error) {
	m, err := decodeFlatRef(b)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if rest := bytes.TrimLeft(b[d.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%w: data after the message", ErrBadEvent)
	}
	return m, nil
}
