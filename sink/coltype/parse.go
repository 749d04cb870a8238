package coltype

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// baseType is what a type name alone decides.
type baseType struct {
	name string // canonical name
	kind Kind
	bits uint8 // integer width
}

// baseTypes maps the names (and aliases) MySQL and MariaDB accept to their
// canonical type.
var baseTypes = map[string]baseType{
	"tinyint": {"tinyint", KindInt, 8}, "int1": {"tinyint", KindInt, 8},
	"bool": {"tinyint", KindInt, 8}, "boolean": {"tinyint", KindInt, 8},
	"smallint": {"smallint", KindInt, 16}, "int2": {"smallint", KindInt, 16},
	"mediumint": {"mediumint", KindInt, 24}, "middleint": {"mediumint", KindInt, 24},
	"int3": {"mediumint", KindInt, 24},
	"int":  {"int", KindInt, 32}, "integer": {"int", KindInt, 32}, "int4": {"int", KindInt, 32},
	"bigint": {"bigint", KindInt, 64}, "int8": {"bigint", KindInt, 64},
	"decimal": {"decimal", KindDecimal, 0}, "dec": {"decimal", KindDecimal, 0},
	"numeric": {"decimal", KindDecimal, 0}, "fixed": {"decimal", KindDecimal, 0},
	"float": {"float", KindFloat, 0}, "float4": {"float", KindFloat, 0},
	"double": {"double", KindDouble, 0}, "real": {"double", KindDouble, 0},
	"float8":             {"double", KindDouble, 0},
	"bit":                {"bit", KindBit, 0},
	"date":               {"date", KindDate, 0},
	"datetime":           {"datetime", KindDatetime, 0},
	"timestamp":          {"timestamp", KindTimestamp, 0},
	"time":               {"time", KindTime, 0},
	"year":               {"year", KindYear, 0},
	"char":               {"char", KindText, 0},
	"nchar":              {"char", KindText, 0},
	"varchar":            {"varchar", KindText, 0},
	"nvarchar":           {"varchar", KindText, 0},
	"tinytext":           {"tinytext", KindText, 0},
	"text":               {"text", KindText, 0},
	"mediumtext":         {"mediumtext", KindText, 0},
	"longtext":           {"longtext", KindText, 0},
	"enum":               {"enum", KindEnum, 0},
	"set":                {"set", KindSet, 0},
	"json":               {"json", KindJSON, 0},
	"binary":             {"binary", KindBinary, 0},
	"varbinary":          {"varbinary", KindBinary, 0},
	"tinyblob":           {"tinyblob", KindBinary, 0},
	"blob":               {"blob", KindBinary, 0},
	"mediumblob":         {"mediumblob", KindBinary, 0},
	"longblob":           {"longblob", KindBinary, 0},
	"geometry":           {"geometry", KindGeometry, 0},
	"point":              {"point", KindGeometry, 0},
	"linestring":         {"linestring", KindGeometry, 0},
	"polygon":            {"polygon", KindGeometry, 0},
	"multipoint":         {"multipoint", KindGeometry, 0},
	"multilinestring":    {"multilinestring", KindGeometry, 0},
	"multipolygon":       {"multipolygon", KindGeometry, 0},
	"geometrycollection": {"geometrycollection", KindGeometry, 0},
	"geomcollection":     {"geomcollection", KindGeometry, 0},
}

// Parse parses a column's DDL type as events carry it in mysqlType
// (information_schema.COLUMNS.COLUMN_TYPE): "bigint(20) unsigned",
// "decimal(12,2)", "datetime(6)", "enum('new','paid')". Case and spaces
// do not matter, display widths are dropped, ZEROFILL implies UNSIGNED.
// Types it does not know (MariaDB's UUID, INET6, VECTOR, …) are
// ErrUnsupportedType.
func Parse(mysqlType string) (Type, error) {
	t, err := parseType(mysqlType)
	if err != nil {
		return Type{}, fmt.Errorf("%w %s: %v", ErrUnsupportedType, brief(mysqlType), err)
	}
	return t, nil
}

// typeScanner walks a type string.
type typeScanner struct {
	s string
	i int
}

// skip skips spaces and /* comments */ (MySQL prints SRID restrictions as
// /*!80003 SRID 4326 */ in some outputs).
func (p *typeScanner) skip() error {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "/*"):
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				return errors.New("unterminated comment")
			}
			p.i += end + 4
		default:
			return nil
		}
	}
	return nil
}

// word reads a run of letters, digits and '_', lower-cased.
func (p *typeScanner) word() string {
	start := p.i
	for p.i < len(p.s) && isWordByte(p.s[p.i]) {
		p.i++
	}
	return strings.ToLower(p.s[start:p.i])
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// peekWord returns the next word without consuming it.
func (p *typeScanner) peekWord() string {
	q := *p
	if q.skip() != nil {
		return ""
	}
	return q.word()
}

func parseType(s string) (Type, error) {
	if !utf8.ValidString(s) {
		return Type{}, errors.New("not UTF-8") // ENUM elements are text
	}
	p := &typeScanner{s: s}
	if err := p.skip(); err != nil {
		return Type{}, err
	}
	name := p.word()
	switch {
	case name == "double" && p.peekWord() == "precision",
		name == "national" && (p.peekWord() == "char" || p.peekWord() == "varchar"):
		_ = p.skip()
		second := p.word()
		if name == "national" {
			name = second
		}
	}
	base, ok := baseTypes[name]
	if !ok {
		return Type{}, errors.New("unknown type name")
	}
	t := Type{name: base.name, kind: base.kind, bits: base.bits}
	if err := p.skip(); err != nil {
		return Type{}, err
	}
	var args []int
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		var err error
		if t.kind == KindEnum || t.kind == KindSet {
			err = p.elems(&t)
		} else {
			args, err = p.args()
		}
		if err != nil {
			return Type{}, err
		}
	} else if t.kind == KindEnum || t.kind == KindSet {
		return Type{}, errors.New("no elements")
	}
	if err := p.attributes(&t); err != nil {
		return Type{}, err
	}
	if err := t.applyArgs(args); err != nil {
		return Type{}, err
	}
	return t, nil
}

// args reads "n[,n]…)" after the '('.
func (p *typeScanner) args() ([]int, error) {
	var args []int
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		start := p.i
		n := 0
		for p.i < len(p.s) && isDigit(p.s[p.i]) && p.i-start < 9 {
			n = n*10 + int(p.s[p.i]-'0')
			p.i++
		}
		if p.i == start || p.i < len(p.s) && isDigit(p.s[p.i]) {
			return nil, errors.New("bad length or precision")
		}
		args = append(args, n)
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.i >= len(p.s) {
			return nil, errors.New("missing ')'")
		}
		c := p.s[p.i]
		p.i++
		switch {
		case c == ')':
			return args, nil
		case c != ',' || len(args) == 2:
			return nil, errors.New("bad arguments")
		}
	}
}

// elems reads an ENUM or SET element list after the '('.
func (p *typeScanner) elems(t *Type) error {
	elems, n, err := parseElems(p.s[p.i:])
	if err != nil {
		return err
	}
	p.i += n
	if t.kind == KindSet && len(elems) > 64 || len(elems) > 65535 {
		return errors.New("too many elements")
	}
	var b strings.Builder
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteElem(e))
	}
	t.elems = b.String()
	return nil
}

// attributes reads the words after the type: UNSIGNED, SIGNED, ZEROFILL.
func (p *typeScanner) attributes(t *Type) error {
	for {
		if err := p.skip(); err != nil {
			return err
		}
		if p.i >= len(p.s) {
			return nil
		}
		w := p.word()
		switch w {
		case "unsigned", "zerofill":
			t.unsigned = true
		case "signed":
		case "":
			return fmt.Errorf("unexpected %q", p.s[p.i])
		default:
			return fmt.Errorf("unexpected %q", w)
		}
		switch t.kind {
		case KindInt, KindDecimal, KindFloat, KindDouble:
		default:
			return fmt.Errorf("%s on a non-numeric type", w)
		}
	}
}

// applyArgs checks the parenthesised numbers against the type and keeps
// the ones that matter.
func (t *Type) applyArgs(args []int) error {
	arg := func(i, def int) int {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	maxArgs := 1
	switch t.kind {
	case KindInt:
		if arg(0, 0) > 255 {
			return errors.New("display width above 255")
		}
	case KindDecimal:
		maxArgs = 2
		p, s := arg(0, 10), arg(1, 0)
		if p < 1 || p > 65 || s > 30 || s > p {
			return fmt.Errorf("precision %d, scale %d out of range", p, s)
		}
		t.prec, t.scale = uint8(p), uint8(s)
	case KindFloat:
		maxArgs = 2
		if len(args) == 1 {
			// FLOAT(p): p ≤ 24 is single precision, 25…53 double.
			switch p := args[0]; {
			case p > 53:
				return errors.New("FLOAT precision above 53")
			case p > 24:
				t.name, t.kind = "double", KindDouble
			}
		}
		if len(args) == 2 && (args[0] > 255 || args[1] > 30) {
			return errors.New("FLOAT(M,D) out of range")
		}
	case KindDouble:
		maxArgs = 2
		if len(args) == 1 || len(args) == 2 && (args[0] > 255 || args[1] > 30) {
			return errors.New("DOUBLE(M,D) out of range")
		}
	case KindBit:
		n := arg(0, 1)
		if n < 1 || n > 64 {
			return errors.New("BIT length not 1…64")
		}
		t.bits = uint8(n)
	case KindDatetime, KindTimestamp, KindTime:
		fsp := arg(0, 0)
		if fsp > 6 {
			return errors.New("fractional-second precision not 0…6")
		}
		t.scale = uint8(fsp)
	case KindYear:
		if y := arg(0, 4); y != 4 && y != 2 {
			return errors.New("YEAR width not 2 or 4")
		}
	case KindText, KindBinary:
		n := arg(0, 0)
		switch t.name {
		case "char", "binary":
			n = arg(0, 1)
			if n > 255 {
				return errors.New("length above 255")
			}
		case "varchar", "varbinary":
			if n > 65535 {
				return errors.New("length above 65535")
			}
		default:
			n = 0 // TEXT(n), BLOB(n): the length only picked the type
		}
		t.length = uint32(n)
	default: // DATE, JSON, geometry; ENUM and SET took their list
		maxArgs = 0
	}
	if len(args) > maxArgs {
		return errors.New("unexpected arguments")
	}
	return nil
}

// parseElems parses an ENUM/SET list "'a','b”c')" (the text after '('),
// returning the unquoted elements and the bytes consumed through ')'.
func parseElems(s string) ([]string, int, error) {
	var elems []string
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) || s[i] != '\'' && s[i] != '"' {
			return nil, 0, errors.New("element not quoted")
		}
		e, n, err := unquote(s[i:])
		if err != nil {
			return nil, 0, err
		}
		elems = append(elems, e)
		i += n
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return nil, 0, errors.New("missing ')'")
		}
		i++
		switch s[i-1] {
		case ')':
			return elems, i, nil
		case ',':
		default:
			return nil, 0, errors.New("bad element list")
		}
	}
}

// unquote reads one SQL string literal at the start of s: a doubled quote
// is the quote, a backslash escapes as in MySQL string literals.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteString(unescape(s[i]))
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated string")
}

// unescape is the character a backslash escape stands for.
func unescape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c)
	}
	return string(c)
}

// quoteElem spells an element as information_schema does: quotes doubled,
// backslashes escaped.
func quoteElem(e string) string {
	e = strings.ReplaceAll(e, `\`, `\\`)
	return "'" + strings.ReplaceAll(e, "'", "''") + "'"
}
