package sink

import (
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// The change log's own columns, before the table's.
var changeMeta = []arrow.Field{
	{Name: "_op", Type: arrow.BinaryTypes.String},
	{Name: "_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "_file", Type: arrow.BinaryTypes.String},
	{Name: "_pos", Type: arrow.PrimitiveTypes.Int64},
	{Name: "_row", Type: arrow.PrimitiveTypes.Int32},
	{Name: "_gtid", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "_xid", Type: arrow.PrimitiveTypes.Uint64},
}

// Change-log operations (_op).
const (
	logInsert   = "INSERT"
	logUpdate   = "UPDATE"
	logDelete   = "DELETE"
	logSnapshot = "SNAPSHOT"
)

// changeLog writes a table's change log: one row per change, in the order
// applied (per key: source order), into files under changes/dt=<day of the
// change's source time, UTC>/. Files are finished at every commit and when
// they reach the size limits; they are named after the commit version
// they belong to.
type changeLog struct {
	st          Storage
	dir         string // the table's directory
	schema      *Schema
	codec       compress.Compression
	before      bool
	fileRows    int64
	fileBytes   int64
	arrowSchema *arrow.Schema
	lay         layout
	beforeLay   layout

	version  int64 // the commit the files belong to
	seq      int
	parts    map[string]*changePart
	done     []DataFile
	rows     int64 // rows logged since the last commit
	buffered int64 // rows in the builders of all days
}

// changePart is the open file of one day.
type changePart struct {
	b *array.RecordBuilder
	w *pqWriter
}

func newChangeLog(st Storage, dir string, s *Schema, codec compress.Compression, before bool, fileRows, fileBytes int64, version int64) *changeLog {
	fields := append([]arrow.Field(nil), changeMeta...)
	tf := s.arrowFields()
	fields = append(fields, tf...)
	if before {
		fields = append(fields, arrow.Field{Name: "_before", Type: arrow.StructOf(tf...), Nullable: true})
	}
	return &changeLog{st: st, dir: dir, schema: s, codec: codec, before: before, fileRows: fileRows, fileBytes: fileBytes,
		arrowSchema: arrow.NewSchema(fields, nil), lay: s.layout(len(changeMeta)), beforeLay: s.layout(0),
		version: version, parts: map[string]*changePart{}}
}

// logged is one change to write.
type logged struct {
	op     string
	es     int64 // ms
	v      Version
	gtid   string
	xid    uint64
	vals   []value
	before []value // UPDATE with before images configured
}

func (c *changeLog) add(e *logged) error {
	day := time.UnixMilli(e.es).UTC().Format("2006-01-02")
	p := c.parts[day]
	if p == nil {
		p = &changePart{b: array.NewRecordBuilder(memory.DefaultAllocator, c.arrowSchema)}
		c.parts[day] = p
	}
	b := p.b
	b.Field(0).(*array.StringBuilder).Append(e.op)
	b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(e.es * 1000))
	b.Field(2).(*array.StringBuilder).Append(e.v.File)
	b.Field(3).(*array.Int64Builder).Append(int64(e.v.Pos))
	b.Field(4).(*array.Int32Builder).Append(e.v.Row)
	if e.gtid == "" {
		b.Field(5).AppendNull()
	} else {
		b.Field(5).(*array.StringBuilder).Append(e.gtid)
	}
	b.Field(6).(*array.Uint64Builder).Append(e.xid)
	if err := appendRow(c.schema, c.lay, b.Fields(), e.vals); err != nil {
		return err
	}
	if c.before {
		sb := b.Field(len(b.Fields()) - 1).(*array.StructBuilder)
		if e.before == nil {
			sb.AppendNull()
		} else {
			sb.Append(true)
			fs := make([]array.Builder, sb.NumField())
			for i := range fs {
				fs[i] = sb.FieldBuilder(i)
			}
			if err := appendRow(c.schema, c.beforeLay, fs, e.before); err != nil {
				return err
			}
		}
	}
	c.rows++
	c.buffered++
	if n := int64(b.Field(0).Len()); n >= rowGroupRows || n >= c.fileRows {
		c.buffered -= n
		return c.flushPart(day, p, false)
	}
	if c.buffered >= rowGroupRows {
		// Changes spread over many days (a backlog) must not hold a row
		// group per day in memory: write out every day's rows.
		for d, q := range c.parts {
			c.buffered -= int64(q.b.Field(0).Len())
			if err := c.flushPart(d, q, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendRow appends vals (in schema order) to the builders at lay.
func appendRow(s *Schema, lay layout, bs []array.Builder, vals []value) error {
	for i := range s.Columns {
		c := &s.Columns[i]
		v := vals[i]
		var err error
		if lay.raw[i] >= 0 {
			err = c.t.AppendWithRaw(bs[lay.main[i]], bs[lay.raw[i]].(*array.StringBuilder), v.s, v.null)
		} else {
			err = c.t.Append(bs[lay.main[i]], v.s, v.null)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return nil
}

// flushPart writes the day's buffered rows; with finish, or when the file
// is full, it commits the file.
func (c *changeLog) flushPart(day string, p *changePart, finish bool) error {
	rec := p.b.NewRecord()
	defer rec.Release()
	if rec.NumRows() > 0 {
		if p.w == nil {
			c.seq++
			name := path.Join(c.dir, "changes", "dt="+day, fmt.Sprintf("%010d-%05d.parquet", c.version, c.seq))
			w, err := createParquet(c.st, name, c.arrowSchema, c.codec)
			if err != nil {
				return err
			}
			p.w = w
		}
		if err := p.w.write(rec); err != nil {
			return err
		}
	}
	if p.w != nil && (finish || p.w.rows >= c.fileRows || p.w.size() >= c.fileBytes) {
		n, err := p.w.commit()
		if err != nil {
			return err
		}
		c.done = append(c.done, DataFile{Path: p.w.path[len(c.dir)+1:], Rows: p.w.rows, Bytes: n, Schema: c.schema.ID})
		p.w = nil
	}
	return nil
}

// finish writes and commits every open file and returns the files of the
// commit.
func (c *changeLog) finish() ([]DataFile, error) {
	days := make([]string, 0, len(c.parts))
	for day := range c.parts {
		days = append(days, day)
	}
	slices.Sort(days) // file numbers follow the days
	for _, day := range days {
		p := c.parts[day]
		if err := c.flushPart(day, p, true); err != nil {
			return nil, err
		}
		p.b.Release()
		delete(c.parts, day)
	}
	c.buffered = 0
	done := c.done
	c.done = nil
	return done, nil
}

// abort drops what was not committed.
func (c *changeLog) abort() {
	for day, p := range c.parts {
		if p.w != nil {
			p.w.abort()
		}
		p.b.Release()
		delete(c.parts, day)
	}
}
