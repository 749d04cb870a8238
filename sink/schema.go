package sink

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/sink/coltype"
)

// Column is one column of a table's schema version.
type Column struct {
	Name string `json:"name"`
	// Type is the source's DDL type (an event's mysqlType).
	Type string `json:"type"`
	// Fill is the value rows written before the column existed get (as an
	// event value; nil: NULL): its DEFAULT, the DDL's time for a
	// current-time default, or MySQL's implicit default of a NOT NULL
	// column, as MySQL fills existing rows at ALTER TABLE … ADD COLUMN.
	Fill *string `json:"fill,omitempty"`

	t coltype.Type
}

// Schema is a version of a table's schema: the columns in source order
// and the primary key.
type Schema struct {
	ID      int      `json:"id"`
	Columns []Column `json:"columns"`
	PK      []string `json:"pk"`
	// Since is the source version it took effect at.
	Since Version `json:"since"`
	// Aliases map earlier names of renamed columns to their name here.
	Aliases map[string]string `json:"aliases,omitempty"`

	pk    []int          // indexes of PK in Columns
	index map[string]int // column name → index
}

// init parses the column types and builds the lookups.
func (s *Schema) init() error {
	s.index = make(map[string]int, len(s.Columns))
	for i := range s.Columns {
		c := &s.Columns[i]
		t, err := coltype.Parse(c.Type)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
		c.t = t
		s.index[c.Name] = i
	}
	s.pk = s.pk[:0]
	for _, n := range s.PK {
		i, ok := s.index[n]
		if !ok {
			return fmt.Errorf("primary key column %s is not a column", n)
		}
		s.pk = append(s.pk, i)
	}
	return nil
}

// sameShape reports whether columns names and types equal s's.
func (s *Schema) sameShape(names, types []string) bool {
	if len(names) != len(s.Columns) {
		return false
	}
	for i, c := range s.Columns {
		if c.Name != names[i] || (i < len(types) && !strings.EqualFold(c.Type, types[i])) {
			return false
		}
	}
	return true
}

// arrowFields are the table's columns as Arrow fields (all nullable: an
// added column can be NULL in old rows), each DATE/DATETIME/TIMESTAMP
// followed by its `<name>_raw` side column for zero dates.
func (s *Schema) arrowFields() []arrow.Field {
	fs := make([]arrow.Field, 0, len(s.Columns))
	for _, c := range s.Columns {
		fs = append(fs, c.t.Fields(c.Name, true)...)
	}
	return fs
}

// layout locates each column in a record of arrowFields starting at
// field off: main[i] is column i's field, raw[i] its raw side field or -1.
type layout struct {
	main, raw []int
}

func (s *Schema) layout(off int) layout {
	l := layout{main: make([]int, len(s.Columns)), raw: make([]int, len(s.Columns))}
	f := off
	for i, c := range s.Columns {
		l.main[i] = f
		f++
		l.raw[i] = -1
		if c.t.HasRaw() {
			l.raw[i] = f
			f++
		}
	}
	return l
}

// mapping says where each column of s comes from in rows of an older
// shape: src[i] is the index in the old row, or -1 to use s.Columns[i].Fill.
type mapping struct {
	src []int
}

// mappingFrom maps rows with the given column names onto s: by name,
// through renames, filling columns the row does not have.
func (s *Schema) mappingFrom(names []string) mapping {
	m := mapping{src: make([]int, len(s.Columns))}
	for i := range m.src {
		m.src[i] = -1
	}
	for j, n := range names {
		if a, ok := s.Aliases[n]; ok && !slices.Contains(names, a) {
			n = a
		}
		if i, ok := s.index[n]; ok && m.src[i] < 0 {
			m.src[i] = j
		}
	}
	return m
}

// identity reports whether the mapping takes every column in place.
func (m mapping) identity(n int) bool {
	if len(m.src) != n {
		return false
	}
	for i, j := range m.src {
		if i != j {
			return false
		}
	}
	return true
}

// apply maps an old row into out.
func (s *Schema) apply(m mapping, row []value, out []value) {
	for i, j := range m.src {
		switch {
		case j >= 0:
			out[i] = row[j]
		case s.Columns[i].Fill != nil:
			out[i] = value{s: *s.Columns[i].Fill}
		default:
			out[i] = value{null: true}
		}
	}
}

// nextSchema builds the schema a DDL event describes, following prev.
func nextSchema(prev *Schema, defs []ddlColumn, pk []string, since Version, es int64) (*Schema, error) {
	s := &Schema{PK: pk, Since: since, Aliases: map[string]string{}}
	if prev != nil {
		s.ID = prev.ID + 1
		for old, cur := range prev.Aliases {
			s.Aliases[old] = cur
		}
	} else {
		s.ID = 1
	}
	for _, d := range defs {
		c := Column{Name: d.Name, Type: d.Type}
		if d.From != "" {
			for old, cur := range s.Aliases {
				if cur == d.From {
					s.Aliases[old] = d.Name
				}
			}
			s.Aliases[d.From] = d.Name
		}
		existed := prev != nil && (prev.has(d.Name) || (d.From != "" && prev.has(d.From)))
		if !existed {
			fill, err := fillFor(d, es)
			if err != nil {
				return nil, err
			}
			c.Fill = fill
		} else if prev != nil {
			// A column that existed keeps its fill for rows older still.
			name := d.Name
			if d.From != "" {
				name = d.From
			}
			c.Fill = prev.Columns[prev.index[name]].Fill
		}
		s.Columns = append(s.Columns, c)
	}
	for n := range s.Aliases {
		if s.Aliases[n] == n {
			delete(s.Aliases, n)
		}
	}
	if len(s.Aliases) == 0 {
		s.Aliases = nil
	}
	return s, s.init()
}

func (s *Schema) has(name string) bool { _, ok := s.index[name]; return ok }

// ddlColumn is a column of a DDL event (canal.ColumnDef).
type ddlColumn struct {
	Name, Type string
	Nullable   bool
	Default    *string
	DefaultFn  string
	From       string
}

// fillFor is the value MySQL gives existing rows when the column is added.
func fillFor(d ddlColumn, es int64) (*string, error) {
	t, err := coltype.Parse(d.Type)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", d.Name, err)
	}
	switch {
	case d.Default != nil:
		s := *d.Default
		return &s, nil
	case d.DefaultFn != "":
		s := currentTime(t, time.UnixMilli(es).UTC())
		return &s, nil
	case !d.Nullable:
		s := coltype.ImplicitDefault(t)
		return &s, nil
	}
	return nil, nil
}

// currentTime renders the time of a DDL for a current-time default.
func currentTime(t coltype.Type, at time.Time) string {
	switch strings.ToLower(strings.SplitN(t.String(), "(", 2)[0]) {
	case "timestamp":
		return at.Format("2006-01-02T15:04:05Z")
	case "date":
		return at.Format("2006-01-02")
	}
	return at.Format("2006-01-02 15:04:05")
}

// rowSchema builds a schema from a row event's columns (a table seen
// before any of its DDL, or a shape change whose DDL was not published).
func rowSchema(prev *Schema, names, types, pk []string, since Version) (*Schema, error) {
	s := &Schema{ID: 1, PK: pk, Since: since}
	if prev != nil {
		s.ID = prev.ID + 1
		s.Aliases = prev.Aliases
	}
	for i, n := range names {
		typ := ""
		if i < len(types) {
			typ = types[i]
		}
		s.Columns = append(s.Columns, Column{Name: n, Type: typ})
	}
	return s, s.init()
}
