package sink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
)

// table is the sink's state of one source table.
type table struct {
	j      *Job
	db     string
	name   string
	dir    string
	prefix []byte // the table's keys in the pending store

	m       *Manifest // last committed (nil before the first commit)
	schema  *Schema   // current schema (nil until known)
	schemas map[int]*Schema
	current []DataFile // files of the committed version

	queues      map[queueKey]*QueueState
	position    Version
	gtid        string
	truncatedAt Version
	lastDDL     Version
	generation  int
	changeFiles int64

	// Since the last commit:
	dirty    bool
	truncate bool // the committed rows are gone (TRUNCATE, DROP)
	reload   bool // the key changed: re-key the committed rows
	rewrite  bool // the schema changed: rewrite every file
	log      *changeLog
	vals     []value
	before   []value
	key, val []byte
	names    []string
	mapKey   string
	mapping  mapping
	applied  int64
	logged   int64
}

type queueKey struct {
	topic  string
	broker string
	queue  int
}

func keyOf(mq client.MessageQueue) queueKey {
	return queueKey{topic: mq.Topic, broker: mq.BrokerName, queue: int(mq.QueueID)}
}

func newTable(j *Job, db, name string, id uint64) *table {
	return &table{j: j, db: db, name: name, dir: path.Join(db, name),
		prefix: binary.BigEndian.AppendUint64(nil, id), schemas: map[int]*Schema{}, queues: map[queueKey]*QueueState{}}
}

// restore loads the table's state from its newest manifest.
func (t *table) restore(m *Manifest) {
	t.m = m
	for _, s := range m.Schemas {
		t.schemas[s.ID] = s
	}
	t.schema = m.Schemas[len(m.Schemas)-1]
	t.current = m.Current
	for i := range m.Queues {
		q := m.Queues[i]
		t.queues[queueKey{q.Topic, q.Broker, q.Queue}] = &q
	}
	t.position, t.gtid, t.truncatedAt, t.generation, t.changeFiles = m.Position, m.GTID, m.TruncatedAt, m.Generation, m.ChangeFiles
	t.lastDDL = m.Schemas[len(m.Schemas)-1].Since
}

func (t *table) version() int64 {
	if t.m == nil {
		return 1
	}
	return t.m.Version + 1
}

// keyCols are the columns of the current schema that order and identify
// rows: the primary key, or every column (a table without one is a
// multiset of rows).
func (t *table) keyCols() []int {
	if len(t.schema.pk) > 0 {
		return t.schema.pk
	}
	cols := make([]int, len(t.schema.Columns))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

func (t *table) multiset() bool { return len(t.schema.pk) == 0 }

// seen reports whether the message at offset of mq, at source version v,
// is already part of the table (a redelivery after a restart, or an event
// the ingester published again after its own restart).
func (t *table) seen(mq queueKey, offset int64, v Version, snapshot bool) bool {
	q := t.queues[mq]
	if q == nil {
		return false
	}
	if offset < q.Offset {
		return true
	}
	c := v.Compare(q.Last)
	// Snapshot rows share one version: only an older one is a replay.
	return c < 0 || (c == 0 && !snapshot)
}

// advance records the message as applied.
func (t *table) advance(mq queueKey, offset int64, v Version, gtid string) {
	q := t.queues[mq]
	if q == nil {
		q = &QueueState{Topic: mq.topic, Broker: mq.broker, Queue: mq.queue}
		t.queues[mq] = q
	}
	q.Offset = offset + 1
	if v.Compare(q.Last) > 0 {
		q.Last = v
	}
	if v.Compare(t.position) > 0 {
		t.position, t.gtid = v, gtid
	}
	t.dirty = true
}

// ensureLog opens the change log of the coming commit.
func (t *table) ensureLog() {
	if t.log == nil {
		c := &t.j.cfg
		t.log = newChangeLog(t.j.st, t.dir, t.schema, t.j.codec, c.BeforeImage, c.FileRows, c.FileBytes, t.version())
	}
}

// ddl applies a DDL event. It returns errNeedCommit when the table's
// uncommitted changes must be committed first (a new schema starts new
// files).
func (t *table) ddl(m *canal.FlatMessage, v Version) error {
	if !t.lastDDL.IsZero() && v.Compare(t.lastDDL) <= 0 {
		return nil // the same statement from another queue, or a replay
	}
	if t.hasUncommitted() {
		return errNeedCommit
	}
	t.lastDDL = v
	switch m.Type {
	case canal.TypeTruncate:
		t.truncate, t.truncatedAt = true, v
	case canal.TypeErase:
		t.truncate, t.truncatedAt = true, v
		t.generation++
	case canal.TypeCreate, canal.TypeAlter, canal.TypeRename:
		if m.Columns == nil {
			return nil // nothing about columns (an older ingester): rows tell
		}
		defs := make([]ddlColumn, len(m.Columns))
		for i, c := range m.Columns {
			defs[i] = ddlColumn(c)
		}
		prev := t.schema
		if m.Type == canal.TypeCreate {
			prev = nil
			t.truncate, t.truncatedAt = true, v
		}
		s, err := nextSchema(prev, defs, m.PKNames, v, m.ES)
		if err != nil {
			return fmt.Errorf("table %s.%s: DDL at %s: %w", t.db, t.name, v, err)
		}
		// Schema ids stay unique within the table (files of every id may
		// still be named by the manifest), also across DROP + CREATE.
		s.ID = t.maxSchemaID() + 1
		t.setSchema(s)
	}
	t.dirty = true
	return nil
}

func (t *table) maxSchemaID() int {
	n := 0
	for id := range t.schemas {
		n = max(n, id)
	}
	return n
}

// setSchema makes s current and decides what the next commit rewrites.
func (t *table) setSchema(s *Schema) {
	prev := t.schema
	t.schema = s
	t.schemas[s.ID] = s
	t.log = nil
	t.mapKey = ""
	if prev == nil {
		return
	}
	t.rewrite = true
	if !sameKey(prev, s) {
		t.reload = true
	}
}

// sameKey reports whether rows of a and b have the same keys (same key
// columns, by their names through renames, of the same types).
func sameKey(a, b *Schema) bool {
	if len(a.pk) == 0 || len(b.pk) == 0 {
		if len(a.pk) != len(b.pk) || len(a.Columns) != len(b.Columns) {
			return false
		}
		for i := range a.Columns {
			if b.Columns[i].t != a.Columns[i].t || b.resolve(a.Columns[i].Name) != b.Columns[i].Name {
				return false
			}
		}
		return true
	}
	if len(a.pk) != len(b.pk) {
		return false
	}
	for i := range a.pk {
		ac, bc := a.Columns[a.pk[i]], b.Columns[b.pk[i]]
		if ac.t != bc.t || b.resolve(ac.Name) != bc.Name {
			return false
		}
	}
	return true
}

// resolve is the current name of a column called name in earlier rows.
func (s *Schema) resolve(name string) string {
	if _, ok := s.index[name]; ok {
		return name
	}
	if a, ok := s.Aliases[name]; ok {
		return a
	}
	return name
}

func (t *table) hasUncommitted() bool {
	return (t.log != nil && t.log.rows > 0) || t.applied > 0
}

var errNeedCommit = errors.New("commit first")

// row applies a row event.
func (t *table) row(m *canal.FlatMessage, v Version) error {
	t.names = t.names[:0]
	for _, c := range m.Data {
		t.names = append(t.names, c.Name)
	}
	if t.schema == nil || (v.Compare(t.schema.Since) >= 0 && !t.schema.sameShape(t.names, m.MySQLType) && !t.knownShape(t.names)) {
		// A table seen first through its rows, or a shape whose DDL was
		// not published: the row describes the schema.
		if t.hasUncommitted() {
			return errNeedCommit
		}
		s, err := rowSchema(t.schema, t.names, m.MySQLType, m.PKNames, v)
		if err != nil {
			return fmt.Errorf("table %s.%s: %w", t.db, t.name, err)
		}
		if t.schema != nil {
			s.ID = t.maxSchemaID() + 1
		}
		t.setSchema(s)
	}
	s := t.schema
	n := len(s.Columns)
	if cap(t.vals) < n {
		t.vals, t.before = make([]value, n), make([]value, n)
	}
	t.vals, t.before = t.vals[:n], t.before[:n]
	t.mapRow(m.Data, t.vals)
	op := m.Type
	var before []value
	if op == canal.TypeUpdate {
		copy(t.before, t.vals)
		for _, c := range m.Old {
			if i, ok := s.index[s.resolve(c.Name)]; ok {
				t.before[i] = value{s: c.S, null: c.Null}
			}
		}
		before = t.before
	}

	// The change log.
	t.ensureLog()
	lop := op
	if m.Snapshot {
		lop = logSnapshot
	}
	e := logged{op: lop, es: m.ES, v: v, gtid: m.GTID, xid: m.XID, vals: t.vals}
	if t.j.cfg.BeforeImage {
		e.before = before
	}
	if err := t.log.add(&e); err != nil {
		return fmt.Errorf("table %s.%s at %s: %w", t.db, t.name, v, err)
	}
	t.logged++

	// The current table: a change older than a TRUNCATE/DROP no longer
	// applies.
	if !t.truncatedAt.IsZero() && v.Compare(t.truncatedAt) < 0 {
		return nil
	}
	keyCols := t.keyCols()
	p := t.j.pending
	var err error
	if t.multiset() {
		switch op {
		case canal.TypeInsert:
			err = t.count(keyCols, t.vals, 1)
		case canal.TypeDelete:
			err = t.count(keyCols, t.vals, -1)
		case canal.TypeUpdate:
			if err = t.count(keyCols, before, -1); err == nil {
				err = t.count(keyCols, t.vals, 1)
			}
		}
	} else {
		if op == canal.TypeUpdate && t.keyChanged(keyCols, before) {
			// Canal itself publishes a key change as one UPDATE.
			if t.key, err = rowKey(append(t.key[:0], t.prefix...), s, keyCols, before); err == nil {
				err = p.set(t.key, []byte{opDelete})
			}
		}
		if err == nil {
			t.key, err = rowKey(append(t.key[:0], t.prefix...), s, keyCols, t.vals)
		}
		if err == nil {
			if op == canal.TypeDelete {
				err = p.set(t.key, []byte{opDelete})
			} else {
				t.val = appendValues(append(t.val[:0], opUpsert), t.vals)
				err = p.set(t.key, t.val)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("table %s.%s at %s: %w", t.db, t.name, v, err)
	}
	t.applied++
	return nil
}

func (t *table) count(keyCols []int, vals []value, delta int64) error {
	var err error
	if t.key, err = rowKey(append(t.key[:0], t.prefix...), t.schema, keyCols, vals); err != nil {
		return err
	}
	return t.j.pending.add(t.key, delta, vals)
}

func (t *table) keyChanged(keyCols []int, before []value) bool {
	for _, c := range keyCols {
		if before[c] != t.vals[c] {
			return true
		}
	}
	return false
}

// knownShape reports whether names are an earlier shape of the schema
// (a row written before the last DDL, delivered by another queue after
// it): every name is a column or an alias of one.
func (t *table) knownShape(names []string) bool {
	if t.schema.Since.IsZero() {
		return false
	}
	for _, n := range names {
		if _, ok := t.schema.index[t.schema.resolve(n)]; !ok {
			return false
		}
	}
	return true
}

// mapRow puts a row's cells into schema order.
func (t *table) mapRow(cells []canal.Cell, out []value) {
	s := t.schema
	if len(cells) == len(s.Columns) {
		same := true
		for i, c := range cells {
			if c.Name != s.Columns[i].Name {
				same = false
				break
			}
		}
		if same {
			for i, c := range cells {
				out[i] = value{s: c.S, null: c.Null}
			}
			return
		}
	}
	key := strings.Join(t.names, "\x00")
	if key != t.mapKey {
		t.mapping, t.mapKey = s.mappingFrom(t.names), key
	}
	row := make([]value, len(cells))
	for i, c := range cells {
		row[i] = value{s: c.S, null: c.Null}
	}
	s.apply(t.mapping, row, out)
}

// commit writes the table's new version and returns its manifest (nil
// when nothing changed). The caller writes the manifest.
func (t *table) commit() (*Manifest, []DataFile, error) {
	if !t.dirty || t.schema == nil {
		return nil, nil, nil
	}
	version := t.version()
	c := &t.j.cfg
	var changes []DataFile
	if t.log != nil {
		var err error
		if changes, err = t.log.finish(); err != nil {
			return nil, nil, err
		}
	}
	old := t.current
	if t.truncate {
		old = nil
	}
	keyCols := t.keyCols()
	if t.reload && len(old) > 0 {
		if err := reload(t.j.st, t.dir, old, t.schemas, t.schema, keyCols, t.j.pending, t.prefix, t.multiset()); err != nil {
			return nil, nil, fmt.Errorf("table %s.%s: re-key: %w", t.db, t.name, err)
		}
		old = nil
	}
	out := newCurrentOut(t.j.st, t.dir, t.schema, t.j.codec, c.FileRows, c.FileBytes, version)
	if err := merge(out, t.j.st, t.dir, old, t.schemas, keyCols, t.j.pending, t.prefix, t.rewrite); err != nil {
		out.abort()
		return nil, nil, fmt.Errorf("table %s.%s: %w", t.db, t.name, err)
	}
	out.b.Release()
	m := &Manifest{Version: version, Database: t.db, Table: t.name, Generation: t.generation,
		Current: out.files, Changes: changes, ChangeFiles: t.changeFiles + int64(len(changes)),
		Position: t.position, GTID: t.gtid, TruncatedAt: t.truncatedAt, Rows: out.rows}
	// Schemas still referenced by a file, and the current one.
	used := map[int]bool{t.schema.ID: true}
	for _, f := range out.files {
		used[f.Schema] = true
	}
	for _, f := range changes {
		used[f.Schema] = true
	}
	for _, s := range t.schemas {
		if used[s.ID] {
			m.Schemas = append(m.Schemas, s)
		}
	}
	slices.SortFunc(m.Schemas, func(a, b *Schema) int { return a.ID - b.ID })
	for _, q := range t.queues {
		m.Queues = append(m.Queues, *q)
	}
	slices.SortFunc(m.Queues, func(a, b QueueState) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		if c := strings.Compare(a.Broker, b.Broker); c != 0 {
			return c
		}
		return a.Queue - b.Queue
	})
	return m, old, nil
}

// committed makes m the table's state after its manifest was written, and
// removes the files of the previous version m no longer names.
func (t *table) committed(m *Manifest) {
	keep := map[string]bool{}
	for _, f := range m.Current {
		keep[f.Path] = true
	}
	for _, f := range t.current {
		if !keep[f.Path] {
			if err := t.j.st.Remove(path.Join(t.dir, f.Path)); err != nil {
				slog.Warn("sink: removing a replaced file", "table", t.db+"."+t.name, "file", f.Path, "err", err)
			}
		}
	}
	t.m, t.current, t.changeFiles = m, m.Current, m.ChangeFiles
	for id := range t.schemas {
		if !slices.ContainsFunc(m.Schemas, func(s *Schema) bool { return s.ID == id }) {
			delete(t.schemas, id)
		}
	}
	t.dirty, t.truncate, t.reload, t.rewrite = false, false, false, false
	t.log = nil
	t.applied = 0
}

// abort drops uncommitted work (after a failed commit the job stops).
func (t *table) abort() {
	if t.log != nil {
		t.log.abort()
		t.log = nil
	}
}
