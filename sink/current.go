package sink

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/cockroachdb/pebble"

	"github.com/sluicehq/sluice/sink/coltype"
)

// The current table is a list of Parquet files in primary-key order, each
// covering the keys from its MinKey up to the next file's. A commit
// merges the previous files with the pending changes (both in key order)
// into new files, streaming: a file whose key range has no pending
// change is kept as it is, so a commit costs in proportion to the part of
// the table it touches, and memory stays one row group per stream.

// currentOut writes the new version's files.
type currentOut struct {
	st          Storage
	dir         string
	s           *Schema
	arrowSchema *arrow.Schema
	lay         layout
	codec       compress.Compression
	fileRows    int64
	fileBytes   int64
	version     int64

	seq      int
	b        *array.RecordBuilder
	w        *pqWriter
	min, max []byte
	files    []DataFile
	rows     int64
}

func newCurrentOut(st Storage, dir string, s *Schema, codec compress.Compression, fileRows, fileBytes, version int64) *currentOut {
	as := arrow.NewSchema(s.arrowFields(), nil)
	return &currentOut{st: st, dir: dir, s: s, arrowSchema: as, lay: s.layout(0), codec: codec,
		fileRows: fileRows, fileBytes: fileBytes, version: version,
		b: array.NewRecordBuilder(memory.DefaultAllocator, as)}
}

// row starts a row with key; the caller appends its values to o.b.
func (o *currentOut) row(key []byte) {
	if o.w == nil && o.b.Field(0).Len() == 0 {
		o.min = append(o.min[:0], key...)
	}
	o.max = append(o.max[:0], key...)
}

// rowDone flushes a full record.
func (o *currentOut) rowDone() error {
	o.rows++
	if n := int64(o.b.Field(0).Len()); n >= rowGroupRows || n >= o.fileRows {
		return o.flush(false)
	}
	return nil
}

func (o *currentOut) addValues(key []byte, vals []value) error {
	o.row(key)
	if err := appendRow(o.s, o.lay, o.b.Fields(), vals); err != nil {
		return err
	}
	return o.rowDone()
}

func (o *currentOut) flush(finish bool) error {
	rec := o.b.NewRecord()
	defer rec.Release()
	if rec.NumRows() > 0 {
		if o.w == nil {
			o.seq++
			w, err := createParquet(o.st, path.Join(o.dir, "current", fmt.Sprintf("%010d-%05d.parquet", o.version, o.seq)), o.arrowSchema, o.codec)
			if err != nil {
				return err
			}
			o.w = w
		}
		if err := o.w.write(rec); err != nil {
			return err
		}
	}
	if o.w != nil && (finish || o.w.rows >= o.fileRows || o.w.size() >= o.fileBytes) {
		n, err := o.w.commit()
		if err != nil {
			return err
		}
		o.files = append(o.files, DataFile{Path: o.w.path[len(o.dir)+1:], Rows: o.w.rows, Bytes: n, Schema: o.s.ID,
			MinKey: hex.EncodeToString(o.min), MaxKey: hex.EncodeToString(o.max)})
		o.w = nil
	}
	return nil
}

// keep adds an unchanged file of the previous version.
func (o *currentOut) keep(f DataFile) error {
	if err := o.flush(true); err != nil {
		return err
	}
	o.files = append(o.files, f)
	o.rows += f.Rows
	return nil
}

func (o *currentOut) abort() {
	if o.w != nil {
		o.w.abort()
	}
	o.b.Release()
}

// oldRows reads the rows of a previous file, mapped onto the new schema.
type oldRows struct {
	s, old *Schema
	plan   []copyPlan
	keyCol []int // per key column of s: index into plan
	r      *pqReader
	rec    arrow.Record
	i      int
	key    []byte
	raw    []*array.String
}

// copyPlan says how to fill column i of the new schema from a record of
// the old one.
type copyPlan struct {
	src, raw int // record field indexes, -1 if none
	same     bool
	from     coltype.Type
	fill     *string
}

func openOldRows(st Storage, dir string, f DataFile, old, s *Schema, keyCols []int) (*oldRows, error) {
	r, err := openParquet(st, path.Join(dir, f.Path))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(old.Columns))
	for i, c := range old.Columns {
		names[i] = c.Name
	}
	m := s.mappingFrom(names)
	ol := old.layout(0)
	o := &oldRows{s: s, old: old, r: r, keyCol: keyCols, plan: make([]copyPlan, len(s.Columns))}
	for i, j := range m.src {
		p := copyPlan{src: -1, raw: -1, fill: s.Columns[i].Fill}
		if j >= 0 {
			p.src, p.raw = ol.main[j], ol.raw[j]
			p.from = old.Columns[j].t
			p.same = p.from == s.Columns[i].t
		}
		o.plan[i] = p
	}
	return o, nil
}

// next advances to the next row; false at the end.
func (o *oldRows) next() (bool, error) {
	for o.rec == nil || o.i+1 >= int(o.rec.NumRows()) {
		rec, err := o.r.next()
		if err != nil {
			return false, err
		}
		if rec == nil {
			return false, nil
		}
		o.rec, o.i = rec, -1
		o.raw = o.raw[:0]
		for _, p := range o.plan {
			var raw *array.String
			if p.raw >= 0 {
				raw, _ = rec.Column(p.raw).(*array.String)
			}
			o.raw = append(o.raw, raw)
		}
	}
	o.i++
	o.key = o.key[:0]
	for _, c := range o.keyCol {
		p := o.plan[c]
		if p.src < 0 {
			if p.fill == nil {
				o.key = coltype.AppendNullKey(o.key)
			} else {
				k, err := coltype.AppendKey(o.key, o.s.Columns[c].t, *p.fill)
				if err != nil {
					return false, err
				}
				o.key = k
			}
			continue
		}
		o.key = coltype.AppendKeyArrowWithRaw(o.key, p.from, o.rec.Column(p.src), o.raw[c], o.i)
	}
	return true, nil
}

// copyTo appends the current row to out.
func (o *oldRows) copyTo(out *currentOut) error {
	out.row(o.key)
	bs := out.b.Fields()
	for i, p := range o.plan {
		c := &o.s.Columns[i]
		mb := bs[out.lay.main[i]]
		var rb *array.StringBuilder
		if out.lay.raw[i] >= 0 {
			rb = bs[out.lay.raw[i]].(*array.StringBuilder)
		}
		switch {
		case p.src >= 0 && p.same:
			copyValue(mb, o.rec.Column(p.src), o.i)
			if rb != nil {
				copyValue(rb, o.rec.Column(p.raw), o.i)
			}
		case p.src >= 0:
			s, null := p.from.FormatWithRaw(o.rec.Column(p.src), o.raw[i], o.i)
			if err := appendWith(c.t, mb, rb, s, null); err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
		case p.fill != nil:
			if err := appendWith(c.t, mb, rb, *p.fill, false); err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
		default:
			mb.AppendNull()
			if rb != nil {
				rb.AppendNull()
			}
		}
	}
	return out.rowDone()
}

// values renders the current row as event values (for re-keying).
func (o *oldRows) values(vals []value) {
	for i, p := range o.plan {
		switch {
		case p.src >= 0:
			s, null := p.from.FormatWithRaw(o.rec.Column(p.src), o.raw[i], o.i)
			vals[i] = value{s: s, null: null}
		case p.fill != nil:
			vals[i] = value{s: *p.fill}
		default:
			vals[i] = value{null: true}
		}
	}
}

func (o *oldRows) close() { o.r.close() }

func appendWith(t coltype.Type, b array.Builder, raw *array.StringBuilder, s string, null bool) error {
	if raw != nil {
		return t.AppendWithRaw(b, raw, s, null)
	}
	return t.Append(b, s, null)
}

// copyValue appends element i of arr to b, a builder of the same type.
func copyValue(b array.Builder, arr arrow.Array, i int) {
	if arr.IsNull(i) {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(arr.(*array.Int8).Value(i))
	case *array.Int16Builder:
		b.Append(arr.(*array.Int16).Value(i))
	case *array.Int32Builder:
		b.Append(arr.(*array.Int32).Value(i))
	case *array.Int64Builder:
		b.Append(arr.(*array.Int64).Value(i))
	case *array.Uint8Builder:
		b.Append(arr.(*array.Uint8).Value(i))
	case *array.Uint16Builder:
		b.Append(arr.(*array.Uint16).Value(i))
	case *array.Uint32Builder:
		b.Append(arr.(*array.Uint32).Value(i))
	case *array.Uint64Builder:
		b.Append(arr.(*array.Uint64).Value(i))
	case *array.Float32Builder:
		b.Append(arr.(*array.Float32).Value(i))
	case *array.Float64Builder:
		b.Append(arr.(*array.Float64).Value(i))
	case *array.BooleanBuilder:
		b.Append(arr.(*array.Boolean).Value(i))
	case *array.Decimal128Builder:
		b.Append(arr.(*array.Decimal128).Value(i))
	case *array.Date32Builder:
		b.Append(arr.(*array.Date32).Value(i))
	case *array.TimestampBuilder:
		b.Append(arr.(*array.Timestamp).Value(i))
	case *array.StringBuilder:
		b.Append(arr.(*array.String).Value(i))
	case *array.BinaryBuilder:
		b.Append(arr.(*array.Binary).Value(i))
	default:
		panic(fmt.Sprintf("sink: no copy for %T", b))
	}
}

// pendingEntry is one decoded pending change.
type pendingEntry struct {
	key   []byte
	op    byte
	count int64
	vals  []value
}

func decodePending(k, v []byte, prefixLen int, n int, e *pendingEntry) error {
	e.key = append(e.key[:0], k[prefixLen:]...)
	if len(v) == 0 {
		return fmt.Errorf("empty pending value")
	}
	e.op = v[0]
	rest := v[1:]
	switch e.op {
	case opDelete:
		return nil
	case opCount:
		c, k := binary.Varint(rest)
		if k <= 0 {
			return fmt.Errorf("bad pending count")
		}
		e.count = c
		rest = rest[k:]
	case opUpsert:
	default:
		return fmt.Errorf("bad pending op %q", e.op)
	}
	if cap(e.vals) < n {
		e.vals = make([]value, n)
	}
	e.vals = e.vals[:n]
	return decodeValues(rest, e.vals)
}

// merge writes the new current version of a table: old files (in key
// order, of their schemas) merged with the table's pending changes.
// rewriteAll forces every old file through the merge (a schema change).
func merge(out *currentOut, st Storage, dir string, old []DataFile, schemas map[int]*Schema, keyCols []int,
	p *pending, prefix []byte, rewriteAll bool) error {
	it, err := p.scan(prefix)
	if err != nil {
		return err
	}
	defer it.Close()
	n := len(out.s.Columns)
	var pe pendingEntry
	valid := it.First()
	load := func() error {
		if !valid {
			return nil
		}
		return decodePending(it.Key(), it.Value(), len(prefix), n, &pe)
	}
	if err := load(); err != nil {
		return err
	}
	advance := func() error {
		valid = it.Next()
		return load()
	}
	// emitPending writes the pending entry on its own (no old row).
	emitPending := func() error {
		switch pe.op {
		case opUpsert:
			return out.addValues(pe.key, pe.vals)
		case opCount:
			for ; pe.count > 0; pe.count-- {
				if err := out.addValues(pe.key, pe.vals); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for fi, f := range old {
		var next []byte
		if fi+1 < len(old) {
			if next, err = hex.DecodeString(old[fi+1].MinKey); err != nil {
				return fmt.Errorf("manifest file %s: bad key", old[fi+1].Path)
			}
		}
		inRange := func() bool { return valid && (next == nil || bytes.Compare(pe.key, next) < 0) }
		keep := !inRange()
		if next == nil && !keep && f.Rows >= out.fileRows/4 {
			// The last file: keys beyond its largest go to new files after
			// it instead of rewriting it (a table growing at its end, as
			// auto-increment keys do, appends instead of rewriting its
			// tail); a small last file is rewritten so files stay large.
			maxKey, err := hex.DecodeString(f.MaxKey)
			if err != nil {
				return fmt.Errorf("manifest file %s: bad key", f.Path)
			}
			keep = bytes.Compare(pe.key, maxKey) > 0
		}
		if keep && !rewriteAll && f.Schema == out.s.ID {
			if err := out.keep(f); err != nil {
				return err
			}
			continue
		}
		os := schemas[f.Schema]
		if os == nil {
			return fmt.Errorf("file %s: unknown schema %d", f.Path, f.Schema)
		}
		rows, err := openOldRows(st, dir, f, os, out.s, keyCols)
		if err != nil {
			return err
		}
		err = func() error {
			defer rows.close()
			for {
				ok, err := rows.next()
				if err != nil {
					return err
				}
				if !ok {
					return nil
				}
				for inRange() && bytes.Compare(pe.key, rows.key) < 0 {
					if err := emitPending(); err != nil {
						return err
					}
					if err := advance(); err != nil {
						return err
					}
				}
				if valid && bytes.Equal(pe.key, rows.key) {
					switch pe.op {
					case opUpsert, opDelete:
						// The pending change is newer than the old row; emitted
						// once, below or on the next key.
						continue
					case opCount:
						if pe.count < 0 {
							pe.count++ // a deleted copy
							continue
						}
					}
				}
				if err := rows.copyTo(out); err != nil {
					return err
				}
			}
		}()
		if err != nil {
			return err
		}
		for inRange() {
			if err := emitPending(); err != nil {
				return err
			}
			if err := advance(); err != nil {
				return err
			}
		}
	}
	for valid {
		if err := emitPending(); err != nil {
			return err
		}
		if err := advance(); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("sink pending store: %w", err)
	}
	return out.flush(true)
}

// reload moves every old row into the pending store keyed by the new
// schema's key (a primary-key change reorders the whole table): pending
// changes are newer and win.
func reload(st Storage, dir string, old []DataFile, schemas map[int]*Schema, s *Schema, keyCols []int,
	p *pending, prefix []byte, multiset bool) error {
	vals := make([]value, len(s.Columns))
	var key, val []byte
	for _, f := range old {
		os := schemas[f.Schema]
		if os == nil {
			return fmt.Errorf("file %s: unknown schema %d", f.Path, f.Schema)
		}
		rows, err := openOldRows(st, dir, f, os, s, nil)
		if err != nil {
			return err
		}
		err = func() error {
			defer rows.close()
			for {
				ok, err := rows.next()
				if err != nil || !ok {
					return err
				}
				rows.values(vals)
				key, err = rowKey(append(key[:0], prefix...), s, keyCols, vals)
				if err != nil {
					return err
				}
				if multiset {
					if err := p.add(key, 1, vals); err != nil {
						return err
					}
					continue
				}
				if _, closer, err := p.b().Get(key); err == nil {
					closer.Close()
					continue
				} else if err != pebble.ErrNotFound {
					return err
				}
				val = appendValues(append(val[:0], opUpsert), vals)
				if err := p.set(key, val); err != nil {
					return err
				}
			}
		}()
		if err != nil {
			return err
		}
	}
	return p.flush()
}

// rowKey appends the key of vals (schema order) over keyCols.
func rowKey(dst []byte, s *Schema, keyCols []int, vals []value) ([]byte, error) {
	var err error
	for _, c := range keyCols {
		v := vals[c]
		if v.null {
			dst = coltype.AppendNullKey(dst)
			continue
		}
		if dst, err = coltype.AppendKey(dst, s.Columns[c].t, v.s); err != nil {
			return nil, fmt.Errorf("key column %s: %w", s.Columns[c].Name, err)
		}
	}
	return dst, nil
}
