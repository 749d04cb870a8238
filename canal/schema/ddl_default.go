package schema

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// A column default, modelled as Load reports it: the value converted to the
// column's type the way the server stores it (DEFAULT '5' on an INT is
// "5", DEFAULT 1 on DECIMAL(5,2) is "1.00", DEFAULT 'b' on ENUM('a','B')
// is "B", a DATETIME default gets its zero time, a CHAR default loses its
// trailing spaces, a BINARY(n) default is padded with zero bytes, a BIT
// default is spelled b'101'), and the current-time functions spelled as
// the server does (current_timestamp(3) on MariaDB). Other expressions are
// kept in a normalised spelling of the parser's, which may differ from the
// server's; a default does not change how rows are decoded.

// literal is a constant default value.
type literal struct {
	null  bool
	num   string // a numeric literal's digits, e.g. "-1.5e3"
	str   string // a string literal's value
	isStr bool
	bits  []byte // a hexadecimal or bit literal
}

// defaultOf models DEFAULT expr for column c (whose type fields are set).
func defaultOf(expr ast.ExprNode, c *Column, srv *Server) (*string, error) {
	lit, ok := literalOf(expr)
	if !ok {
		s := functionDefault(expr, c, srv)
		return &s, nil
	}
	if lit.null {
		return nil, nil
	}
	s := convertLiteral(lit, c)
	return &s, nil
}

// literalOf reads a constant, possibly negated.
func literalOf(expr ast.ExprNode) (literal, bool) {
	switch e := expr.(type) {
	case *driver.ValueExpr:
		switch v := e.GetValue().(type) {
		case nil:
			return literal{null: true}, true
		case int64:
			return literal{num: strconv.FormatInt(v, 10)}, true
		case uint64:
			return literal{num: strconv.FormatUint(v, 10)}, true
		case float64:
			return literal{num: strconv.FormatFloat(v, 'g', -1, 64)}, true
		case float32:
			return literal{num: strconv.FormatFloat(float64(v), 'g', -1, 32)}, true
		case *driver.MyDecimal:
			return literal{num: v.String()}, true
		case string:
			return literal{str: v, isStr: true}, true
		case []byte:
			return literal{str: string(v), isStr: true}, true
		case driver.BinaryLiteral:
			return literal{bits: v}, true
		}
	case *ast.UnaryOperationExpr:
		lit, ok := literalOf(e.V)
		if !ok || lit.num == "" || (e.Op != opcode.Minus && e.Op != opcode.Plus) {
			return literal{}, false
		}
		if e.Op == opcode.Minus {
			if strings.HasPrefix(lit.num, "-") {
				lit.num = lit.num[1:]
			} else {
				lit.num = "-" + lit.num
			}
		}
		return lit, true
	case *ast.ParenthesesExpr:
		return literalOf(e.Expr)
	}
	return literal{}, false
}

// text is the literal's value as a string.
func (l literal) text() string {
	switch {
	case l.isStr:
		return l.str
	case l.bits != nil:
		return string(l.bits)
	}
	return l.num
}

// rat is the literal's numeric value (a string converts as far as it
// reads as a number, as MySQL does).
func (l literal) rat() *big.Rat {
	r := new(big.Rat)
	switch {
	case l.bits != nil:
		r.SetInt(new(big.Int).SetBytes(l.bits))
	case l.isStr:
		s := strings.TrimSpace(l.str)
		for n := len(s); n > 0; n-- {
			if _, ok := r.SetString(s[:n]); ok {
				return r
			}
		}
		r.SetInt64(0)
	default:
		if _, ok := r.SetString(l.num); !ok {
			r.SetInt64(0)
		}
	}
	return r
}

// convertLiteral converts a constant to the column's type.
func convertLiteral(l literal, c *Column) string {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		return l.rat().FloatString(0)
	case "year":
		return yearOf(l)
	case "decimal":
		return l.rat().FloatString(c.Scale)
	case "float", "double":
		f, _ := l.rat().Float64()
		bits := 64
		if c.DataType == "float" {
			bits = 32
		}
		return formatFloat(f, bits)
	case "bit":
		n := new(big.Int)
		if l.bits != nil {
			n.SetBytes(l.bits)
		} else {
			n = l.rat().Num()
		}
		return "b'" + n.Text(2) + "'"
	case "enum":
		return enumOf(l, c.Elems)
	case "set":
		return setOf(l, c.Elems)
	case "date":
		return dateOf(l.text())
	case "datetime", "timestamp":
		return datetimeOf(l.text(), c.Scale)
	case "time":
		return timeOf(l.text(), c.Scale)
	case "char":
		return strings.TrimRight(l.text(), " ")
	case "binary":
		s := l.text()
		if len(s) < c.Length {
			s += strings.Repeat("\x00", c.Length-len(s))
		}
		return s
	}
	return l.text()
}

func formatFloat(f float64, bits int) string {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if i := strings.Index(s, "e"); i >= 0 {
		exp := strings.TrimLeft(strings.TrimPrefix(s[i+1:], "+"), "0")
		if strings.HasPrefix(s[i+1:], "-") {
			exp = "-" + strings.TrimLeft(s[i+2:], "0")
		}
		s = s[:i] + "e" + exp
	}
	return s
}

func yearOf(l literal) string {
	n, _ := strconv.Atoi(l.rat().FloatString(0))
	short := len(strings.TrimSpace(l.text())) <= 2
	switch {
	case l.isStr && short && n < 70:
		n += 2000
	case n > 0 && n < 70:
		n += 2000
	case n >= 70 && n <= 99:
		n += 1900
	}
	return strconv.Itoa(n)
}

func enumOf(l literal, elems []string) string {
	if !l.isStr {
		if i, _ := strconv.Atoi(l.rat().FloatString(0)); i >= 1 && i <= len(elems) {
			return elems[i-1]
		}
		return l.text()
	}
	v := strings.TrimRight(l.str, " ")
	for _, e := range elems {
		if strings.EqualFold(strings.TrimRight(e, " "), v) {
			return e
		}
	}
	return l.str
}

func setOf(l literal, elems []string) string {
	var mask uint64
	if l.isStr {
		for _, part := range strings.Split(l.str, ",") {
			if part == "" {
				continue
			}
			for i, e := range elems {
				if strings.EqualFold(e, part) {
					mask |= 1 << i
				}
			}
		}
	} else {
		mask, _ = strconv.ParseUint(l.rat().FloatString(0), 10, 64)
	}
	var out []string
	for i, e := range elems {
		if mask&(1<<i) != 0 {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// digitGroups splits s at every non-digit.
func digitGroups(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

func dateOf(s string) string {
	s = strings.TrimSpace(s)
	if d, _, ok := splitDate(s); ok {
		return d
	}
	return s
}

// splitDate reads a date ("2020-1-2" or "20200102") at the start of s and
// returns it as YYYY-MM-DD with the rest of s.
func splitDate(s string) (date, rest string, ok bool) {
	head, rest, _ := strings.Cut(s, " ")
	if t, r, found := strings.Cut(head, "T"); found {
		head, rest = t, r
	}
	g := digitGroups(head)
	if len(g) == 1 && len(g[0]) == 8 {
		g = []string{g[0][:4], g[0][4:6], g[0][6:]}
	}
	if len(g) != 3 {
		return "", s, false
	}
	y, _ := strconv.Atoi(g[0])
	m, _ := strconv.Atoi(g[1])
	d, _ := strconv.Atoi(g[2])
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), strings.TrimSpace(rest), true
}

func datetimeOf(s string, fsp int) string {
	date, rest, ok := splitDate(strings.TrimSpace(s))
	if !ok {
		return s
	}
	if rest == "" {
		rest = "0:0:0"
	}
	return date + " " + timeOf(rest, fsp)
}

// timeOf spells H:M:S[.f] as HH:MM:SS with fsp fractional digits.
func timeOf(s string, fsp int) string {
	s = strings.TrimSpace(s)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	g := digitGroups(whole)
	var h, m, sec int
	switch {
	case len(g) == 3:
		h, _ = strconv.Atoi(g[0])
		m, _ = strconv.Atoi(g[1])
		sec, _ = strconv.Atoi(g[2])
	case len(g) == 2:
		h, _ = strconv.Atoi(g[0])
		m, _ = strconv.Atoi(g[1])
	case len(g) == 1:
		n, _ := strconv.Atoi(g[0])
		h, m, sec = n/10000, n/100%100, n%100
	default:
		return sign + s
	}
	out := fmt.Sprintf("%s%02d:%02d:%02d", sign, h, m, sec)
	if fsp > 0 {
		frac = (frac + strings.Repeat("0", fsp))[:fsp]
		out += "." + frac
	}
	return out
}

// nowFunctions are the functions that mean CURRENT_TIMESTAMP.
var nowFunctions = map[string]bool{"current_timestamp": true, "now": true, "localtime": true, "localtimestamp": true}

// functionDefault spells a default expression.
func functionDefault(expr ast.ExprNode, c *Column, srv *Server) string {
	mysqlFlavor := srv != nil && srv.Flavor == FlavorMySQL
	if f, ok := expr.(*ast.FuncCallExpr); ok {
		args := ""
		if len(f.Args) == 1 {
			if l, ok := literalOf(f.Args[0]); ok {
				args = l.text()
			}
		}
		switch name := f.FnName.L; {
		case nowFunctions[name] && mysqlFlavor:
			if args != "" {
				return "CURRENT_TIMESTAMP(" + args + ")"
			}
			return "CURRENT_TIMESTAMP"
		case nowFunctions[name]:
			return "current_timestamp(" + args + ")"
		case name == "curdate" || name == "current_date":
			return "curdate()"
		case name == "curtime" || name == "current_time":
			return "curtime(" + args + ")"
		}
	}
	var b strings.Builder
	flags := format.RestoreStringSingleQuotes | format.RestoreKeyWordLowercase | format.RestoreNameBackQuotes | format.RestoreStringWithoutCharset
	if err := expr.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return ""
	}
	return compactSQL(b.String())
}

// compactSQL lower-cases words and drops the spaces the parser puts after
// commas, as MariaDB prints expressions.
func compactSQL(s string) string {
	var b strings.Builder
	prevWord := false
	for _, t := range scan(s) {
		word := t.kind == tokWord || t.kind == tokQuoted || t.kind == tokIdent
		if word && prevWord {
			b.WriteByte(' ')
		}
		text := s[t.start:t.end]
		if t.kind == tokWord {
			text = strings.ToLower(text)
		}
		b.WriteString(text)
		prevWord = word
	}
	return b.String()
}
