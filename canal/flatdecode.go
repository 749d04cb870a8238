package canal

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// ErrBadEvent is wrapped by DecodeFlat's errors.
var ErrBadEvent = errors.New("bad event")

// DecodeFlat parses a FlatMessage written by AppendJSON (or by Canal, for
// the fields they share). Column order is kept for Data, Old, SQLType and
// MySQLType. Data must hold at most one row.
//
// It reads the JSON as encoding/json would decode it into the message's
// fields (the sink calls it for every message, so it is a hand-written
// scanner instead): keys match case-insensitively, a key given twice takes
// its last value, null leaves a string, number or bool as it was, a value of
// the wrong JSON type rejects the message, unknown fields are skipped,
// string escapes and invalid UTF-8 (U+FFFD per bad byte) are decoded the
// same way, and nesting deeper than 10,000 is rejected. Unlike
// json.Decoder, nothing but white space may follow the message. Row values
// are strings, numbers (their text) or null; strings without escapes share
// one copy of b.
func DecodeFlat(b []byte) (*FlatMessage, error) {
	d := decoders.Get().(*flatDecoder)
	d.s, d.i, d.cols = string(b), 0, 0
	m, err := d.message()
	d.release()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	return m, nil
}

// decoders keeps flatDecoders with their scratch space.
var decoders = sync.Pool{New: func() any { return new(flatDecoder) }}

// release drops what the decoder references of the message and pools it.
func (d *flatDecoder) release() {
	d.s = ""
	for i := range d.types {
		clear(d.types[i][:cap(d.types[i])])
	}
	decoders.Put(d)
}

// maxFlatDepth is encoding/json's nesting limit, kept so that both accept
// the same messages.
const maxFlatDepth = 10000

var errEOF = errors.New("unexpected EOF")

// flatDecoder scans one message; s is the input, i the next byte.
type flatDecoder struct {
	s string
	i int
	// cols is the column count of the type maps read so far, the likely
	// length of the rows (one allocation each).
	cols int
	// types is where the type maps are read (sqlType, mysqlType): they
	// become SQLType and MySQLType, so their cells can be reused.
	types [2][]Cell
}

// flatFields is what the message's fields decode to before the checks that
// apply to their final values (a key may repeat: the last one counts).
type flatFields struct {
	m        FlatMessage
	hasID    bool
	sqlType  rowField
	mysql    rowField
	data     rowsField
	old      rowsField
	columns  []ColumnDef
	hasNames bool // columns was an array, not null
}

// rowField is an object of column → value (sqlType, mysqlType, a row).
type rowField struct {
	cells []Cell
	err   error // what makes this value unusable, reported if it is the last
}

// rowsField is an array of rows (data, old): Sluice events hold one.
type rowsField struct {
	n   int
	row rowField // the first row
}

func (d *flatDecoder) message() (*FlatMessage, error) {
	d.ws()
	if d.i >= len(d.s) {
		return nil, errEOF
	}
	if d.s[d.i] != '{' {
		return nil, d.unexpected("looking for the message object")
	}
	var f flatFields
	if err := d.object(1, func(key string, depth int) error { return d.field(&f, key, depth) }); err != nil {
		return nil, err
	}
	d.ws()
	if d.i < len(d.s) {
		return nil, errors.New("data after the message")
	}
	return f.build()
}

// build applies the checks of the fields' final values.
func (f *flatFields) build() (*FlatMessage, error) {
	m := &f.m
	if !f.hasID || m.Database == "" || m.Type == "" {
		return nil, errors.New("id, database and type are required")
	}
	if f.hasNames {
		for i, c := range f.columns {
			if c.Name == "" || c.Type == "" {
				return nil, fmt.Errorf("column %d of columns has no name or type", i)
			}
		}
		m.Columns = f.columns
	}
	if f.data.n > 1 || f.old.n > 1 {
		return nil, fmt.Errorf("%d rows in data, %d in old; Sluice events hold one", f.data.n, f.old.n)
	}
	var err error
	if m.Data, err = f.data.one(); err != nil {
		return nil, err
	}
	if m.Old, err = f.old.one(); err != nil {
		return nil, err
	}
	if f.sqlType.err != nil {
		return nil, f.sqlType.err
	}
	if len(f.sqlType.cells) > 0 {
		m.SQLType = make([]int, len(f.sqlType.cells))
		for i, c := range f.sqlType.cells {
			n, err := strconv.Atoi(c.S)
			if err != nil && !c.Null {
				return nil, fmt.Errorf("sqlType of %s is %q", c.Name, c.S)
			}
			m.SQLType[i] = n
		}
	}
	if f.mysql.err != nil {
		return nil, f.mysql.err
	}
	if len(f.mysql.cells) > 0 {
		m.MySQLType = make([]string, len(f.mysql.cells))
		for i, c := range f.mysql.cells {
			m.MySQLType[i] = c.S
		}
	}
	return m, nil
}

// one is the row of data or old: nil without one, never nil with one.
func (r *rowsField) one() ([]Cell, error) {
	if r.n == 0 {
		return nil, nil
	}
	if r.row.err != nil {
		return nil, r.row.err
	}
	if r.row.cells == nil {
		return []Cell{}, nil
	}
	return r.row.cells, nil
}

// flatFieldNames are the message's keys, for the case-insensitive match.
var flatFieldNames = []string{"id", "database", "table", "pkNames", "isDdl", "type", "es", "ts", "sql", "sqlType",
	"mysqlType", "data", "old", "gtid", "file", "pos", "row", "xid", "serverId", "snapshot", "columns"}

// field decodes the value of one key of the message.
func (d *flatDecoder) field(f *flatFields, key string, depth int) error {
	m := &f.m
	switch fold(key, flatFieldNames) {
	case "id":
		if d.null() {
			f.hasID = false
			return nil
		}
		f.hasID = true
		return d.int(&m.ID, "id")
	case "database":
		return d.str(&m.Database, "database")
	case "table":
		return d.str(&m.Table, "table")
	case "pkNames":
		return d.strings(&m.PKNames, depth)
	case "isDdl":
		return d.bool(&m.IsDDL, "isDdl")
	case "type":
		return d.str(&m.Type, "type")
	case "es":
		return d.int(&m.ES, "es")
	case "ts":
		return d.int(&m.TS, "ts")
	case "sql":
		return d.str(&m.SQL, "sql")
	case "sqlType":
		err := d.row(&f.sqlType, depth, &d.types[0])
		d.cols = max(d.cols, len(f.sqlType.cells))
		return err
	case "mysqlType":
		err := d.row(&f.mysql, depth, &d.types[1])
		d.cols = max(d.cols, len(f.mysql.cells))
		return err
	case "data":
		return d.rows(&f.data, depth, "data")
	case "old":
		return d.rows(&f.old, depth, "old")
	case "gtid":
		return d.str(&m.GTID, "gtid")
	case "file":
		return d.str(&m.File, "file")
	case "pos":
		return d.uint32(&m.Pos, "pos")
	case "row":
		n := int64(m.Row)
		err := d.int(&n, "row")
		m.Row = int(n)
		return err
	case "xid":
		return d.uint(&m.XID, 64, "xid")
	case "serverId":
		return d.uint32(&m.ServerID, "serverId")
	case "snapshot":
		return d.bool(&m.Snapshot, "snapshot")
	case "columns":
		return d.columns(f, depth)
	}
	return d.skip(depth)
}

// fold returns the name of names key matches: exactly, else as
// encoding/json matches keys (bytes.EqualFold); "" for none.
func fold(key string, names []string) string {
	for _, n := range names {
		if key == n {
			return n
		}
	}
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return n
		}
	}
	return ""
}

// columnFieldNames are the keys of a columns entry.
var columnFieldNames = []string{"name", "type", "nullable", "default", "defaultFn", "from"}

// columns decodes the DDL column list: an array of objects (null entries
// are zero columns, which the final check rejects).
func (d *flatDecoder) columns(f *flatFields, depth int) error {
	if d.null() {
		f.columns, f.hasNames = nil, false
		return nil
	}
	if d.s[d.i] != '[' {
		return d.typeErr("columns")
	}
	f.columns, f.hasNames = []ColumnDef{}, true
	return d.array(depth+1, func(depth int) error {
		var c ColumnDef
		if d.null() {
			f.columns = append(f.columns, c)
			return nil
		}
		if d.s[d.i] != '{' {
			return d.typeErr("columns entry")
		}
		err := d.object(depth+1, func(key string, depth int) error {
			switch fold(key, columnFieldNames) {
			case "name":
				return d.str(&c.Name, "name")
			case "type":
				return d.str(&c.Type, "type")
			case "nullable":
				return d.bool(&c.Nullable, "nullable")
			case "default":
				if d.null() {
					c.Default = nil
					return nil
				}
				var s string
				if err := d.str(&s, "default"); err != nil {
					return err
				}
				c.Default = &s
				return nil
			case "defaultFn":
				return d.str(&c.DefaultFn, "defaultFn")
			case "from":
				return d.str(&c.From, "from")
			}
			return d.skip(depth)
		})
		f.columns = append(f.columns, c)
		return err
	})
}

// rows decodes data or old: null, or an array whose first element is the
// row (any JSON value: one that is not a row object is an error only if
// it is the event's row).
func (d *flatDecoder) rows(r *rowsField, depth int, name string) error {
	*r = rowsField{}
	if d.null() {
		return nil
	}
	if d.s[d.i] != '[' {
		return d.typeErr(name)
	}
	return d.array(depth+1, func(depth int) error {
		r.n++
		if r.n > 1 {
			return d.skip(depth)
		}
		return d.row(&r.row, depth, nil)
	})
}

// row decodes an object of column → string, number (its text) or null, in
// order, into fresh cells or, with scratch, into *scratch (which keeps
// the grown array). A value that is not such an object is remembered as
// its error.
func (d *flatDecoder) row(r *rowField, depth int, scratch *[]Cell) error {
	*r = rowField{}
	if d.null() {
		return nil
	}
	if d.s[d.i] != '{' {
		r.err = errors.New("a row must be a JSON object")
		return d.skip(depth)
	}
	// Rows and type maps have the same columns: the first object read is
	// sized for a typical table, the others as it.
	if scratch != nil {
		r.cells = (*scratch)[:0]
		defer func() { *scratch = r.cells }()
	} else {
		r.cells = make([]Cell, 0, cmp.Or(d.cols, 16))
	}
	var seen map[string]bool // for wide rows; narrow ones are searched
	return d.object(depth+1, func(name string, depth int) error {
		if r.err == nil && seenColumn(r.cells, &seen, name) {
			r.err = fmt.Errorf("column %q appears twice", name)
		}
		c := Cell{Name: name}
		switch ch := d.s[d.i]; {
		case ch == '"':
			s, err := d.string()
			if err != nil {
				return err
			}
			c.S = s
		case ch == '-' || ch >= '0' && ch <= '9':
			s, err := d.number()
			if err != nil {
				return err
			}
			c.S = s
		case d.null():
			c.Null = true
		default:
			if r.err == nil {
				r.err = fmt.Errorf("column %q holds a JSON %s, want a string or null", name, d.kind())
			}
			return d.skip(depth)
		}
		r.cells = append(r.cells, c)
		return nil
	})
}

// seenColumn reports whether cells has a column name; past a few dozen
// columns it keeps a set in *seen.
func seenColumn(cells []Cell, seen *map[string]bool, name string) bool {
	const wide = 32
	if len(cells) < wide {
		for i := range cells {
			if cells[i].Name == name {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 2*wide)
		for i := range cells {
			(*seen)[cells[i].Name] = true
		}
	}
	if (*seen)[name] {
		return true
	}
	(*seen)[name] = true
	return false
}

// strings decodes pkNames: null, or an array of strings (null entries
// are "").
func (d *flatDecoder) strings(dst *[]string, depth int) error {
	if d.null() {
		*dst = nil
		return nil
	}
	if d.s[d.i] != '[' {
		return d.typeErr("pkNames")
	}
	out := []string{}
	err := d.array(depth+1, func(int) error {
		var s string
		if err := d.str(&s, "pkNames entry"); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	*dst = out
	return err
}
