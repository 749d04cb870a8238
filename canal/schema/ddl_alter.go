package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// draft is a table being changed: its columns are edited in place and its
// primary key is kept by column names until finish.
type draft struct {
	t   *Table
	pk  []string
	srv *Server
	// implicitTS are the columns (lower-case names) defined by this
	// statement as columnSpec.implicitTS, with their onUpdate.
	implicitTS map[string]bool
	// renamed maps a column's name now to its name before the statement,
	// for the columns it renamed.
	renamed map[string]string
}

// rename records that the column called from is now called to.
func (d *draft) rename(from, to string) {
	if from == to {
		return
	}
	if d.renamed == nil {
		d.renamed = map[string]string{}
	}
	orig, ok := d.renamed[from]
	if !ok {
		orig = from
	}
	delete(d.renamed, from)
	if orig != to {
		d.renamed[to] = orig
	}
}

func newDraft(t *Table, srv *Server) *draft {
	c := t.Clone()
	return &draft{t: c, pk: c.PKNames(), srv: srv}
}

func (d *draft) defined(spec columnSpec) {
	if spec.implicitTS {
		if d.implicitTS == nil {
			d.implicitTS = map[string]bool{}
		}
		d.implicitTS[strings.ToLower(spec.col.Name)] = spec.onUpdate
	}
}

func (d *draft) index(name string) int { return d.t.ColumnIndex(name) }

// add appends a column definition, or places it at pos.
func (d *draft) add(p *parsed, def *ast.ColumnDef, pos *ast.ColumnPosition) error {
	spec, err := p.column(def, d.t.Charset, d.srv)
	if err != nil {
		return err
	}
	if d.index(spec.col.Name) >= 0 {
		return fmt.Errorf("table %s already has a column %s", d.t, spec.col.Name)
	}
	if err := d.place(spec.col, pos, len(d.t.Columns)); err != nil {
		return err
	}
	d.defined(spec)
	if spec.primary {
		return d.setPKNames([]string{spec.col.Name})
	}
	return nil
}

// place inserts c at pos: FIRST, AFTER a column, or else at index i.
func (d *draft) place(c Column, pos *ast.ColumnPosition, i int) error {
	if pos != nil {
		switch pos.Tp {
		case ast.ColumnPositionFirst:
			i = 0
		case ast.ColumnPositionAfter:
			j := d.index(pos.RelativeColumn.Name.O)
			if j < 0 {
				return fmt.Errorf("table %s has no column %s to place %s after", d.t, pos.RelativeColumn.Name.O, c.Name)
			}
			i = j + 1
		}
	}
	d.t.Columns = append(d.t.Columns, Column{})
	copy(d.t.Columns[i+1:], d.t.Columns[i:])
	d.t.Columns[i] = c
	return nil
}

func (d *draft) remove(i int) Column {
	c := d.t.Columns[i]
	d.t.Columns = append(d.t.Columns[:i], d.t.Columns[i+1:]...)
	return c
}

// column returns the index of an existing column or an error naming it.
func (d *draft) column(name string) (int, error) {
	i := d.index(name)
	if i < 0 {
		return -1, fmt.Errorf("table %s has no column %s", d.t, name)
	}
	return i, nil
}

func (d *draft) renamePK(from, to string) {
	for i, n := range d.pk {
		if strings.EqualFold(n, from) {
			d.pk[i] = to
		}
	}
}

func (d *draft) setPK(keys []*ast.IndexPartSpecification) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		if k.Column == nil {
			return errors.New("primary key on an expression")
		}
		names[i] = k.Column.Name.O
	}
	return d.setPKNames(names)
}

func (d *draft) setPKNames(names []string) error {
	if len(d.pk) > 0 {
		return fmt.Errorf("table %s already has a primary key in the history", d.t)
	}
	d.pk = names
	return nil
}

// finish resolves the primary key; its columns are NOT NULL, as the
// server makes them.
func (d *draft) finish() (*Table, error) {
	d.t.PK = nil
	for _, name := range d.pk {
		i := d.index(name)
		if i < 0 {
			return nil, fmt.Errorf("primary key of %s names unknown column %s", d.t, name)
		}
		d.t.PK = append(d.t.PK, i)
		d.t.Columns[i].Nullable = false
	}
	if len(d.t.Columns) == 0 {
		return nil, fmt.Errorf("table %s has no columns left", d.t)
	}
	first := true
	for i := range d.t.Columns {
		c := &d.t.Columns[i]
		if c.DataType != "timestamp" {
			continue
		}
		if onUpdate, ok := d.implicitTS[strings.ToLower(c.Name)]; ok {
			c.Default = legacyTimestampDefault(c, first && !onUpdate, d.srv)
		}
		first = false
	}
	return d.t, nil
}

// noColumnEffect are the ALTER TABLE specifications that change neither
// columns nor the primary key.
var noColumnEffect = map[ast.AlterTableType]bool{
	ast.AlterTableDropForeignKey: true, ast.AlterTableRenameIndex: true, ast.AlterTableLock: true,
	ast.AlterTableAlgorithm: true, ast.AlterTableForce: true, ast.AlterTableEnableKeys: true,
	ast.AlterTableDisableKeys: true, ast.AlterTableOrderByColumns: true, ast.AlterTableIndexInvisible: true,
	ast.AlterTableDropCheck: true, ast.AlterTableAlterCheck: true, ast.AlterTableAddPartitions: true,
	ast.AlterTableCoalescePartitions: true, ast.AlterTableDropPartition: true,
	ast.AlterTableTruncatePartition: true, ast.AlterTablePartition: true,
	ast.AlterTableRemovePartitioning: true, ast.AlterTableRebuildPartition: true,
	ast.AlterTableReorganizePartition: true, ast.AlterTableCheckPartitions: true,
	ast.AlterTableExchangePartition: true, ast.AlterTableOptimizePartition: true,
	ast.AlterTableRepairPartition: true, ast.AlterTableImportPartitionTablespace: true,
	ast.AlterTableDiscardPartitionTablespace: true, ast.AlterTableImportTablespace: true,
	ast.AlterTableDiscardTablespace: true, ast.AlterTableWithValidation: true,
	ast.AlterTableWithoutValidation: true, ast.AlterTablePartitionOptions: true,
}

func (w *workspace) alterTable(s *ast.AlterTableStmt) error {
	id, err := w.id(s.Table)
	if err != nil {
		return err
	}
	t := w.table(id)
	if t == nil {
		return nil // not tracked
	}
	d := newDraft(t, w.server())
	// The table's new default charset applies to the columns the same
	// statement adds, and CONVERT TO to all of them: options go first.
	convert, err := w.alterOptions(d, id.schema, s.Specs)
	if err != nil {
		return err
	}
	to := id
	for _, spec := range s.Specs {
		if spec.Tp == ast.AlterTableRenameTable {
			if to, err = w.id(spec.NewTable); err != nil {
				return err
			}
			continue
		}
		if err := w.alterSpec(d, spec); err != nil {
			return err
		}
	}
	if convert {
		for i := range d.t.Columns {
			convertColumn(&d.t.Columns[i], d.t.Charset)
		}
	}
	nt, err := d.finish()
	if err != nil {
		return err
	}
	if to != id {
		if err := w.move(id, to, nt); err != nil {
			return err
		}
		if n := len(w.changes); n > 0 {
			w.changes[n-1].Renamed = d.renamed
		}
		return nil
	}
	if !reflect.DeepEqual(t, nt) {
		w.setTable(id, nt)
		w.change(Change{Kind: ChangeAlter, Schema: id.schema, Table: id.name, Before: t, After: nt, Renamed: d.renamed})
	}
	return nil
}

func (w *workspace) alterSpec(d *draft, spec *ast.AlterTableSpec) error {
	switch spec.Tp {
	case ast.AlterTableOption:
		return nil // applied first by alterOptions
	case ast.AlterTableAddColumns:
		return w.addColumns(d, spec)
	case ast.AlterTableAddConstraint:
		if spec.Constraint.Tp == ast.ConstraintPrimaryKey {
			return d.setPK(spec.Constraint.Keys)
		}
	case ast.AlterTableDropColumn:
		i := d.index(spec.OldColumnName.Name.O)
		if i < 0 && spec.IfExists {
			return nil
		}
		if _, err := d.column(spec.OldColumnName.Name.O); err != nil {
			return err
		}
		c := d.remove(i)
		d.pk = removeName(d.pk, c.Name)
	case ast.AlterTableDropPrimaryKey:
		return d.dropPK()
	case ast.AlterTableDropIndex:
		if strings.EqualFold(spec.Name, "PRIMARY") {
			return d.dropPK()
		}
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		return w.modifyColumn(d, spec)
	case ast.AlterTableRenameColumn:
		i, err := d.column(spec.OldColumnName.Name.O)
		if err != nil {
			return err
		}
		to := spec.NewColumnName.Name.O
		if to == "" {
			return errors.New("column without a name")
		}
		if j := d.index(to); j >= 0 && j != i {
			return fmt.Errorf("table %s already has a column %s", d.t, to)
		}
		d.renamePK(d.t.Columns[i].Name, to)
		d.rename(d.t.Columns[i].Name, to)
		d.t.Columns[i].Name = to
	case ast.AlterTableAlterColumn:
		return w.alterColumnDefault(d, spec)
	default:
		if !noColumnEffect[spec.Tp] {
			return fmt.Errorf("ALTER TABLE specification %d is not modelled", spec.Tp)
		}
	}
	return nil
}

func (d *draft) dropPK() error {
	if len(d.pk) == 0 {
		return fmt.Errorf("drop primary key of %s: it has none in the history", d.t)
	}
	d.pk = nil
	return nil
}

func removeName(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if !strings.EqualFold(n, name) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// alterOptions applies the table options of an ALTER TABLE: DEFAULT
// CHARSET / COLLATE change the table's default, and convert reports
// CONVERT TO CHARACTER SET, which also converts every text column. Other
// options (ENGINE, COMMENT, …) change no column.
func (w *workspace) alterOptions(d *draft, schema string, specs []*ast.AlterTableSpec) (convert bool, err error) {
	var opts []*ast.TableOption
	for _, spec := range specs {
		if spec.Tp != ast.AlterTableOption {
			continue
		}
		for _, o := range spec.Options {
			switch o.Tp {
			case ast.TableOptionCharset:
				convert = convert || o.UintValue == ast.TableOptionCharsetWithConvertTo
				opts = append(opts, o)
			case ast.TableOptionCollate:
				opts = append(opts, o)
			}
		}
	}
	if len(opts) == 0 {
		return false, nil
	}
	d.t.Charset, err = w.tableCharset(schema, opts, "")
	return convert, err
}

func (w *workspace) addColumns(d *draft, spec *ast.AlterTableSpec) error {
	for _, def := range spec.NewColumns {
		if spec.IfNotExists && d.index(def.Name.Name.O) >= 0 {
			continue
		}
		var pos *ast.ColumnPosition
		if len(spec.NewColumns) == 1 {
			pos = spec.Position
		}
		if err := d.add(w.p, def, pos); err != nil {
			return err
		}
	}
	for _, c := range spec.NewConstraints {
		if c.Tp == ast.ConstraintPrimaryKey {
			if err := d.setPK(c.Keys); err != nil {
				return err
			}
		}
	}
	return nil
}

// modifyColumn applies MODIFY and CHANGE: the column is redefined in place
// or moved to FIRST / AFTER, and keeps its place in the primary key.
func (w *workspace) modifyColumn(d *draft, spec *ast.AlterTableSpec) error {
	def := spec.NewColumns[0]
	from := def.Name.Name.O
	if spec.Tp == ast.AlterTableChangeColumn {
		from = spec.OldColumnName.Name.O
	}
	i := d.index(from)
	if i < 0 && spec.IfExists {
		return nil
	}
	if _, err := d.column(from); err != nil {
		return err
	}
	col, err := w.p.column(def, d.t.Charset, w.server())
	if err != nil {
		return err
	}
	if j := d.index(col.col.Name); j >= 0 && j != i {
		return fmt.Errorf("table %s already has a column %s", d.t, col.col.Name)
	}
	old := d.remove(i)
	if err := d.place(col.col, spec.Position, i); err != nil {
		return err
	}
	d.defined(col)
	d.renamePK(old.Name, col.col.Name)
	d.rename(old.Name, col.col.Name)
	if col.primary {
		return d.setPKNames([]string{col.col.Name})
	}
	return nil
}

// alterColumnDefault applies ALTER COLUMN … SET DEFAULT / DROP DEFAULT.
func (w *workspace) alterColumnDefault(d *draft, spec *ast.AlterTableSpec) error {
	def := spec.NewColumns[0]
	i, err := d.column(def.Name.Name.O)
	if err != nil {
		return err
	}
	c := &d.t.Columns[i]
	if len(def.Options) == 0 {
		c.Default = nil
		return nil
	}
	if def.Options[0].Expr == nil {
		return errors.New("ALTER COLUMN without a default")
	}
	c.Default, err = defaultOf(def.Options[0].Expr, c, w.server())
	return err
}
