package canal

import (
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
	return eventIDOf(eventIDPrefix(serverID, file, pos), row)
}

// eventIDPrefix is EventID's hash up to the row, shared by the rows of an
// event.
func eventIDPrefix(serverID uint32, file string, pos uint32) uint64 {
	var b [20]byte
	h := fnvBytes(fnvOffset, strconv.AppendUint(b[:0], uint64(serverID), 10))
	h = fnvByte(h, 0)
	h = fnvString(h, file)
	h = fnvByte(h, 0)
	h = fnvBytes(h, strconv.AppendUint(b[:0], uint64(pos), 10))
	return fnvByte(h, 0)
}

// eventIDOf completes an eventIDPrefix with the row.
func eventIDOf(prefix uint64, row int) int64 {
	var b [20]byte
	h := fnvBytes(prefix, strconv.AppendInt(b[:0], int64(row), 10))
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
// and its offset is returned. It is assembled from the pieces rowTemplate
// encodes once per rows event, so both write the same bytes.
func (m *FlatMessage) appendJSON(dst []byte, slot bool) ([]byte, int) {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, m.ID, 10)
	dst = m.appendTable(dst)
	dst = jsonx.AppendString(dst, m.Type)
	dst = m.appendTimes(dst)
	if m.Data == nil {
		dst = append(dst, `,"sqlType":null,"mysqlType":null,"data":null,"old":null`...)
	} else {
		dst = appendTypes(dst, m.Data, m.SQLType, m.MySQLType)
		dst = appendRow(dst, m.Data)
		dst = appendOld(dst, m.Old)
	}
	dst = m.appendPosition(dst)
	dst, xidAt := appendRowXID(dst, m.Row, m.XID, slot)
	return m.appendTrailer(dst), xidAt
}

// appendTable appends the fields between "id" and the type's value.
func (m *FlatMessage) appendTable(dst []byte) []byte {
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
	return append(dst, `,"type":`...)
}

// appendTimes appends "es", "ts" and "sql".
func (m *FlatMessage) appendTimes(dst []byte) []byte {
	dst = append(dst, `,"es":`...)
	dst = strconv.AppendInt(dst, m.ES, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, m.TS, 10)
	dst = append(dst, `,"sql":`...)
	return jsonx.AppendString(dst, m.SQL)
}

// appendTypes appends the type maps of the columns of names and opens
// "data" (the row follows).
func appendTypes(dst []byte, names []Cell, sqlTypes []int, mysqlTypes []string) []byte {
	dst = append(dst, `,"sqlType":{`...)
	for i, c := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonx.AppendString(dst, c.Name)
		dst = append(dst, ':')
		if i < len(sqlTypes) {
			dst = strconv.AppendInt(dst, int64(sqlTypes[i]), 10)
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
		if i < len(mysqlTypes) {
			dst = jsonx.AppendString(dst, mysqlTypes[i])
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, `},"data":[`...)
}

// appendOld closes "data" and appends "old".
func appendOld(dst []byte, old []Cell) []byte {
	dst = append(dst, `],"old":`...)
	if old == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	dst = appendRow(dst, old)
	return append(dst, ']')
}

// appendPosition appends "gtid", "file" and "pos".
func (m *FlatMessage) appendPosition(dst []byte) []byte {
	dst = append(dst, `,"gtid":`...)
	dst = jsonx.AppendString(dst, m.GTID)
	dst = append(dst, `,"file":`...)
	dst = jsonx.AppendString(dst, m.File)
	dst = append(dst, `,"pos":`...)
	return strconv.AppendUint(dst, uint64(m.Pos), 10)
}

// appendRowXID appends "row" and "xid": with slot, a zero padded to
// xidSlotWidth, whose offset it returns (else -1).
func appendRowXID(dst []byte, row int, xid uint64, slot bool) ([]byte, int) {
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(row), 10)
	dst = append(dst, `,"xid":`...)
	if !slot {
		return strconv.AppendUint(dst, xid, 10), -1
	}
	at := len(dst)
	return append(dst, "0                   "...), at
}

// appendTrailer appends the fields after "xid" and closes the message.
func (m *FlatMessage) appendTrailer(dst []byte) []byte {
	dst = append(dst, `,"serverId":`...)
	dst = strconv.AppendUint(dst, uint64(m.ServerID), 10)
	if m.Snapshot {
		dst = append(dst, `,"snapshot":true`...)
	}
	if m.Columns != nil {
		dst = appendColumns(dst, m.Columns)
	}
	return append(dst, '}')
}

// rowTemplate encodes the row changes of one table encoder's rows events:
// what they share — names, types, and per event the position — is encoded
// once, so a row costs its id, type, values and row number. The bytes are
// appendJSON's for the same message.
type rowTemplate struct {
	head  []byte   // after the id, up to the type's value
	types []byte   // after "sql", up to the first value of "data"
	keys  [][]byte // per column of data: `"name":`, after a comma from the second on
}

// newRowTemplate encodes what the row changes of base's table share (its
// Database, Table, PKNames and IsDDL) for rows with the columns names.
func newRowTemplate(base *FlatMessage, names []string, sqlTypes []int, mysqlTypes []string) *rowTemplate {
	cols := make([]Cell, len(names))
	t := &rowTemplate{keys: make([][]byte, len(names))}
	for i, n := range names {
		cols[i].Name = n
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = jsonx.AppendString(k, n)
		t.keys[i] = append(k, ':')
	}
	t.head = base.appendTable(nil)
	t.types = appendTypes(nil, cols, sqlTypes, mysqlTypes)
	return t
}

// rowsJSON is a rowTemplate completed with the fields of one rows event.
type rowsJSON struct {
	*rowTemplate
	times []byte // "es", "ts", "sql"
	pos   []byte // after "old", up to the value of "row"
	tail  []byte // after the value of "xid", to the end
}

// forEvent completes t with base's times and position.
func (t *rowTemplate) forEvent(base *FlatMessage) rowsJSON {
	b := base.appendTimes(make([]byte, 0, 128))
	n := len(b)
	b = base.appendPosition(b)
	p := len(b)
	b = base.appendTrailer(b)
	return rowsJSON{rowTemplate: t, times: b[:n:n], pos: b[n:p:p], tail: b[p:]}
}

// appendJSON appends the event of one row change: data holds the
// template's columns, in order (old may hold any).
func (t *rowsJSON) appendJSON(dst []byte, id int64, typ string, data, old []Cell, row int, xid uint64, slot bool) ([]byte, int) {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, id, 10)
	dst = append(dst, t.head...)
	dst = jsonx.AppendString(dst, typ)
	dst = append(dst, t.times...)
	dst = append(dst, t.types...)
	dst = append(dst, '{')
	for i := range data {
		c := &data[i]
		dst = append(dst, t.keys[i]...)
		if c.Null {
			dst = append(dst, "null"...)
		} else {
			dst = jsonx.AppendString(dst, c.S)
		}
	}
	dst = append(dst, '}')
	dst = appendOld(dst, old)
	dst = append(dst, t.pos...)
	dst, xidAt := appendRowXID(dst, row, xid, slot)
	return append(dst, t.tail...), xidAt
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
