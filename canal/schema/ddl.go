package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// ChangeKind says what a DDL statement did to a table.
type ChangeKind int

// Change kinds.
const (
	// ChangeCreate: a table was created (After is set).
	ChangeCreate ChangeKind = iota + 1
	// ChangeAlter: columns, primary key or default charset changed.
	ChangeAlter
	// ChangeDrop: a table was dropped (Before is set), also by DROP
	// DATABASE and before CREATE OR REPLACE TABLE.
	ChangeDrop
	// ChangeRename: a table moved to a new name (OldSchema, OldTable), by
	// RENAME TABLE or ALTER TABLE … RENAME, which may also change columns.
	ChangeRename
	// ChangeTruncate: the table's rows were removed; its schema is
	// unchanged (Before == After).
	ChangeTruncate
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeCreate:
		return "CREATE"
	case ChangeAlter:
		return "ALTER"
	case ChangeDrop:
		return "DROP"
	case ChangeRename:
		return "RENAME"
	case ChangeTruncate:
		return "TRUNCATE"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is what one DDL statement did to one table.
type Change struct {
	Kind ChangeKind
	// Schema and Table name the table after the change.
	Schema, Table string
	// OldSchema and OldTable name it before a rename.
	OldSchema, OldTable string
	// Before and After are the table before and after (nil for a table
	// that did not exist).
	Before, After *Table
	// Renamed maps, for columns an ALTER TABLE renamed, the name in After
	// to the name in Before (nil when none was renamed).
	Renamed map[string]string
}

// ApplyDDL parses a statement of a binlog Query event, applies it to the
// model and records a new version, at key, of every table it changes.
// defaultSchema is the event's default database.
//
// Statements that change no known table (CREATE INDEX, GRANT, views,
// procedures, DML, …) and statements about tables the history does not
// know (it knows the tables it was bootstrapped with and every table
// created since, outside the system schemas) return no change and no
// error, also when the parser rejects an ALTER TABLE or TRUNCATE of such a
// table. A statement the parser
// cannot parse, and one that cannot be applied faithfully (an unknown
// column, CREATE TABLE … SELECT, …), return an error wrapping
// ErrUnsupportedDDL that names the statement; nothing is recorded then.
//
// key is the event's start position (see TableAt). It must be after the
// last DDL recorded and not before the last snapshot: after a restart from
// an older position, Rewind to it first.
func (h *History) ApplyDDL(key Key, defaultSchema, sql string) ([]Change, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.writable(); err != nil {
		return nil, err
	}
	if (point{key, true}).compare(h.newest) <= 0 {
		return nil, fmt.Errorf("apply DDL at %s: not after the newest recorded position %s (Rewind first)", key, h.newest.key)
	}
	r, changes, err := h.plan(key, defaultSchema, sql)
	if err != nil {
		return nil, err
	}
	if r != nil {
		if err := h.append(r); err != nil {
			return nil, err
		}
		h.apply(r)
	}
	return changes, nil
}

// plan parses and applies a statement without changing the model: it
// returns the record to write (nil when no table or database changed) and
// the changes.
func (h *History) plan(key Key, defaultSchema, sql string) (*record, []Change, error) {
	var srv *Server
	if n := len(h.server); n > 0 {
		srv = h.server[n-1].v
	}
	p, err := parse(h.parser, sql, srv)
	if err != nil {
		if h.untracked(sql, defaultSchema) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("apply DDL at %s: %w", key, err)
	}
	w := &workspace{h: h, p: p, defaultSchema: defaultSchema, tables: map[tableID]*Table{}, dbs: map[string]*Database{}}
	for _, st := range p.stmts {
		if err := w.apply(st); err != nil {
			return nil, nil, fmt.Errorf("apply DDL at %s: %w: %s: %v", key, ErrUnsupportedDDL, abbreviate(sql), err)
		}
	}
	return w.record(key, sql), w.changes, nil
}

// untracked reports whether a statement the parser rejects acts on a table
// the history does not track: an ALTER or TRUNCATE of an unknown table, a
// temporary table, or a table in a system schema.
func (h *History) untracked(sql, defaultSchema string) bool {
	schema, name, create, temporary, ok := target(sql)
	if !ok {
		return false
	}
	if schema == "" {
		schema = defaultSchema
	}
	switch {
	case temporary || IsSystemSchema(schema):
		return true
	case create:
		return false
	}
	vs := h.tables[tableID{schema, name}]
	return schema != "" && (len(vs) == 0 || vs[len(vs)-1].v == nil)
}

// workspace applies the statements of one ApplyDDL over the current model
// without changing it until the record is written.
type workspace struct {
	h             *History
	p             *parsed
	defaultSchema string
	tables        map[tableID]*Table
	order         []tableID
	dbs           map[string]*Database
	dbOrder       []string
	changes       []Change
}

func (w *workspace) table(id tableID) *Table {
	if t, ok := w.tables[id]; ok {
		return t
	}
	if vs := w.h.tables[id]; len(vs) > 0 {
		return vs[len(vs)-1].v
	}
	return nil
}

func (w *workspace) setTable(id tableID, t *Table) {
	if _, ok := w.tables[id]; !ok {
		w.order = append(w.order, id)
	}
	w.tables[id] = t
}

func (w *workspace) database(name string) *Database {
	if d, ok := w.dbs[name]; ok {
		return d
	}
	if vs := w.h.dbs[name]; len(vs) > 0 {
		return vs[len(vs)-1].v
	}
	return nil
}

func (w *workspace) setDatabase(name string, d *Database) {
	if _, ok := w.dbs[name]; !ok {
		w.dbOrder = append(w.dbOrder, name)
	}
	w.dbs[name] = d
}

func (w *workspace) server() *Server {
	if n := len(w.h.server); n > 0 {
		return w.h.server[n-1].v
	}
	return nil
}

// tablesIn returns the tables of a schema, sorted.
func (w *workspace) tablesIn(schema string) []tableID {
	var ids []tableID
	for id := range w.h.tables {
		if _, over := w.tables[id]; id.schema == schema && !over && w.table(id) != nil {
			ids = append(ids, id)
		}
	}
	for _, id := range w.order {
		if id.schema == schema && w.tables[id] != nil {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	return ids
}

func sortIDs(ids []tableID) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j].name < ids[j-1].name; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

func (w *workspace) change(c Change) { w.changes = append(w.changes, c) }

// record returns what the statements changed as a record, or nil.
func (w *workspace) record(key Key, sql string) *record {
	r := &record{kind: kindChange, Key: key, SQL: sql}
	for _, id := range w.order {
		var cur *Table
		if vs := w.h.tables[id]; len(vs) > 0 {
			cur = vs[len(vs)-1].v
		}
		if t := w.tables[id]; t != cur {
			r.Tables = append(r.Tables, tableEntry{id.schema, id.name, t})
		}
	}
	for _, name := range w.dbOrder {
		var cur *Database
		if vs := w.h.dbs[name]; len(vs) > 0 {
			cur = vs[len(vs)-1].v
		}
		if d := w.dbs[name]; d != cur {
			r.Databases = append(r.Databases, dbEntry{name, d})
		}
	}
	if len(r.Tables) == 0 && len(r.Databases) == 0 {
		return nil
	}
	return r
}

// id resolves a table name against the default database.
func (w *workspace) id(tn *ast.TableName) (tableID, error) {
	schema := tn.Schema.O
	if schema == "" {
		schema = w.defaultSchema
	}
	if schema == "" {
		return tableID{}, fmt.Errorf("table %s: no database selected", tn.Name.O)
	}
	if tn.Name.O == "" {
		return tableID{}, errors.New("table without a name")
	}
	return tableID{schema, tn.Name.O}, nil
}

func (w *workspace) apply(st ast.StmtNode) error {
	switch s := st.(type) {
	case *ast.CreateTableStmt:
		return w.createTable(s)
	case *ast.DropTableStmt:
		return w.dropTable(s)
	case *ast.RenameTableStmt:
		return w.renameTable(s)
	case *ast.AlterTableStmt:
		return w.alterTable(s)
	case *ast.TruncateTableStmt:
		return w.truncateTable(s)
	case *ast.CreateDatabaseStmt:
		return w.createDatabase(s)
	case *ast.AlterDatabaseStmt:
		return w.alterDatabase(s)
	case *ast.DropDatabaseStmt:
		return w.dropDatabase(s)
	case *ast.DropIndexStmt:
		if !strings.EqualFold(s.IndexName, "PRIMARY") {
			return nil
		}
		return w.dropPrimaryIndex(s)
	}
	return nil
}

func (w *workspace) createTable(s *ast.CreateTableStmt) error {
	if s.TemporaryKeyword != ast.TemporaryNone {
		return nil
	}
	id, err := w.id(s.Table)
	if err != nil {
		return err
	}
	if IsSystemSchema(id.schema) {
		return nil // never captured, and its database is not in the snapshot
	}
	if old := w.table(id); old != nil && w.p.orReplace {
		w.setTable(id, nil)
		w.change(Change{Kind: ChangeDrop, Schema: id.schema, Table: id.name, Before: old})
	}
	if w.table(id) != nil {
		if s.IfNotExists {
			return nil
		}
		return fmt.Errorf("table %s.%s already exists in the history", id.schema, id.name)
	}
	var t *Table
	switch {
	case s.ReferTable != nil:
		srcID, err := w.id(s.ReferTable)
		if err != nil {
			return err
		}
		src := w.table(srcID)
		if src == nil {
			return nil // not tracked, and so neither is its copy
		}
		t = src.Clone()
		t.Schema, t.Name = id.schema, id.name
	case s.Select != nil:
		return errors.New("CREATE TABLE … SELECT: the columns come from the query")
	default:
		if t, err = w.newTable(id, s); err != nil {
			return err
		}
	}
	w.setTable(id, t)
	w.change(Change{Kind: ChangeCreate, Schema: id.schema, Table: id.name, After: t})
	return nil
}

func (w *workspace) newTable(id tableID, s *ast.CreateTableStmt) (*Table, error) {
	cs, err := w.tableCharset(id.schema, s.Options, "")
	if err != nil {
		return nil, err
	}
	d := &draft{t: &Table{Schema: id.schema, Name: id.name, Columns: []Column{}, Charset: cs}, srv: w.server()}
	for _, def := range s.Cols {
		if err := d.add(w.p, def, nil); err != nil {
			return nil, err
		}
	}
	for _, c := range s.Constraints {
		if c.Tp == ast.ConstraintPrimaryKey {
			if err := d.setPK(c.Keys); err != nil {
				return nil, err
			}
		}
	}
	return d.finish()
}

// tableCharset returns the character set table options choose, else cur,
// else the database's default.
func (w *workspace) tableCharset(schema string, opts []*ast.TableOption, cur string) (string, error) {
	cs, collate, def := "", "", false
	for _, o := range opts {
		switch o.Tp {
		case ast.TableOptionCharset:
			cs, def = o.StrValue, o.Default
		case ast.TableOptionCollate:
			collate = o.StrValue
		}
	}
	switch {
	case cs != "":
		return normCharset(cs), nil
	case collate != "":
		return charsetOf(collate), nil
	case cur != "" && !def:
		return cur, nil
	}
	return w.databaseCharset(schema)
}

func (w *workspace) databaseCharset(schema string) (string, error) {
	if d := w.database(schema); d != nil {
		return d.Charset, nil
	}
	return "", fmt.Errorf("default character set of database %s is unknown (bootstrap with BootstrapSnapshot and LoadSnapshot)", schema)
}

func (w *workspace) dropTable(s *ast.DropTableStmt) error {
	if s.IsView || s.TemporaryKeyword != ast.TemporaryNone {
		return nil
	}
	for _, tn := range s.Tables {
		id, err := w.id(tn)
		if err != nil {
			return err
		}
		if t := w.table(id); t != nil {
			w.setTable(id, nil)
			w.change(Change{Kind: ChangeDrop, Schema: id.schema, Table: id.name, Before: t})
		}
	}
	return nil
}

func (w *workspace) renameTable(s *ast.RenameTableStmt) error {
	for _, tt := range s.TableToTables {
		from, err := w.id(tt.OldTable)
		if err != nil {
			return err
		}
		to, err := w.id(tt.NewTable)
		if err != nil {
			return err
		}
		if err := w.move(from, to, nil); err != nil {
			return err
		}
	}
	return nil
}

// move renames a table, with new columns when changed is set.
func (w *workspace) move(from, to tableID, changed *Table) error {
	t := w.table(from)
	if t == nil {
		return nil
	}
	if w.table(to) != nil {
		return fmt.Errorf("rename %s.%s to %s.%s: the target exists in the history", from.schema, from.name, to.schema, to.name)
	}
	nt := changed
	if nt == nil {
		nt = t.Clone()
	}
	nt.Schema, nt.Name = to.schema, to.name
	w.setTable(from, nil)
	w.setTable(to, nt)
	w.change(Change{Kind: ChangeRename, Schema: to.schema, Table: to.name, OldSchema: from.schema, OldTable: from.name, Before: t, After: nt})
	return nil
}

func (w *workspace) truncateTable(s *ast.TruncateTableStmt) error {
	id, err := w.id(s.Table)
	if err != nil {
		return err
	}
	if t := w.table(id); t != nil {
		w.change(Change{Kind: ChangeTruncate, Schema: id.schema, Table: id.name, Before: t, After: t})
	}
	return nil
}

func (w *workspace) createDatabase(s *ast.CreateDatabaseStmt) error {
	name := s.Name.O
	if name == "" {
		return errors.New("database without a name")
	}
	if w.database(name) != nil {
		if s.IfNotExists {
			return nil
		}
		return fmt.Errorf("database %s already exists in the history", name)
	}
	cs := databaseOptionsCharset(s.Options)
	if cs == "" {
		srv := w.server()
		if srv == nil || srv.Charset == "" {
			return fmt.Errorf("database %s: the server's default character set is unknown (bootstrap with BootstrapSnapshot and LoadSnapshot)", name)
		}
		cs = srv.Charset
	}
	w.setDatabase(name, &Database{Name: name, Charset: cs})
	return nil
}

func (w *workspace) alterDatabase(s *ast.AlterDatabaseStmt) error {
	name := s.Name.O
	if s.AlterDefaultDatabase || name == "" {
		name = w.defaultSchema
	}
	if cs := databaseOptionsCharset(s.Options); cs != "" && name != "" {
		w.setDatabase(name, &Database{Name: name, Charset: cs})
	}
	return nil
}

func databaseOptionsCharset(opts []*ast.DatabaseOption) string {
	cs, collate := "", ""
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			cs = o.Value
		case ast.DatabaseOptionCollate:
			collate = o.Value
		}
	}
	if cs != "" {
		return normCharset(cs)
	}
	if collate != "" {
		return charsetOf(collate)
	}
	return ""
}

func (w *workspace) dropDatabase(s *ast.DropDatabaseStmt) error {
	name := s.Name.O
	for _, id := range w.tablesIn(name) {
		t := w.table(id)
		w.setTable(id, nil)
		w.change(Change{Kind: ChangeDrop, Schema: id.schema, Table: id.name, Before: t})
	}
	if w.database(name) != nil {
		w.setDatabase(name, nil)
	}
	return nil
}

func (w *workspace) dropPrimaryIndex(s *ast.DropIndexStmt) error {
	id, err := w.id(s.Table)
	if err != nil {
		return err
	}
	t := w.table(id)
	if t == nil {
		return nil
	}
	d := newDraft(t, w.server())
	if err := d.dropPK(); err != nil {
		return err
	}
	nt, err := d.finish()
	if err != nil {
		return err
	}
	w.setTable(id, nt)
	w.change(Change{Kind: ChangeAlter, Schema: id.schema, Table: id.name, Before: t, After: nt})
	return nil
}
