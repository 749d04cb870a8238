package canal

import (
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
)

// tableEncoder renders rows of one table version: the columns kept (not
// excluded), their types for the event header fields, and where the key
// columns are. Built once per table version and route.
type tableEncoder struct {
	table      *schema.Table
	cols       []int // indexes of the kept columns in the table
	names      []string
	pkNames    []string
	sqlTypes   []int
	mysqlTypes []string
	pk         []int // positions in the kept columns of the primary key
	part       []int // positions of the partition key (the PK unless overridden)
	tags       string
}

func newTableEncoder(t *schema.Table, route *TableRoute, r *Router) (*tableEncoder, error) {
	e := &tableEncoder{table: t, tags: t.Schema + "." + t.Name}
	pos := map[string]int{}
	for i := range t.Columns {
		c := &t.Columns[i]
		isPK := slices.Contains(t.PK, i)
		if !isPK && r.ColumnExcluded(t.Schema, t.Name, c.Name) {
			continue
		}
		pos[c.Name] = len(e.cols)
		e.cols = append(e.cols, i)
		e.names = append(e.names, c.Name)
		e.sqlTypes = append(e.sqlTypes, values.SQLType(c))
		e.mysqlTypes = append(e.mysqlTypes, c.ColumnType)
	}
	e.pkNames = []string{}
	for _, i := range t.PK {
		e.pkNames = append(e.pkNames, t.Columns[i].Name)
		e.pk = append(e.pk, pos[t.Columns[i].Name])
	}
	e.part = e.pk
	if len(route.KeyColumns) > 0 {
		e.part = nil
		for _, name := range route.KeyColumns {
			p, ok := pos[name]
			if !ok {
				return nil, fmt.Errorf("key column %q of %s.%s does not exist or is excluded", name, t.Schema, t.Name)
			}
			e.part = append(e.part, p)
		}
	}
	return e, nil
}

// cellsInto renders a binlog row image into out, which holds one cell per
// kept column (callers rendering many rows slice one allocation).
func (e *tableEncoder) cellsInto(out []Cell, row []any) error {
	if len(row) != len(e.table.Columns) {
		return fmt.Errorf("row has %d columns, the schema %d", len(row), len(e.table.Columns))
	}
	for j, i := range e.cols {
		col := &e.table.Columns[i]
		v, err := values.FromBinlog(col, row[i])
		if err != nil {
			return fmt.Errorf("column %s: %w", col.Name, err)
		}
		out[j] = Cell{Name: e.names[j], S: v.S, Null: v.Null}
	}
	return nil
}

// queue is QueueOf(db, table, e.key(row), queues), without building the
// key.
func (e *tableEncoder) queue(db, table string, row []Cell, queues int) int {
	if queues <= 1 {
		return 0
	}
	h := tableHash(db, table)
	for _, p := range e.part {
		h = cellHash(h, &row[p])
	}
	return int(h % uint64(queues))
}

// key returns the partition key cells of a row (nil for a keyless table).
func (e *tableEncoder) key(row []Cell) []Cell {
	if len(e.part) == 0 {
		return nil
	}
	k := make([]Cell, len(e.part))
	for i, p := range e.part {
		k[i] = row[p]
	}
	return k
}

// keyChanged reports whether an update moves the row to another key: its
// primary key or its partition key changed.
func (e *tableEncoder) keyChanged(before, after []Cell) bool {
	differs := func(idx []int) bool {
		for _, p := range idx {
			if before[p] != after[p] {
				return true
			}
		}
		return false
	}
	return differs(e.pk) || differs(e.part)
}
