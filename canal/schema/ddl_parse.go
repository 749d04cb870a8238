package schema

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	// The parser needs a driver for literal values; go-mysql's canal uses
	// the same one.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// ErrUnsupportedDDL is wrapped by the error of a statement ApplyDDL cannot
// parse, or cannot apply faithfully; the error names the statement.
var ErrUnsupportedDDL = errors.New("unsupported DDL")

func init() {
	// The TiDB parser knows every MySQL character set but accepts only the
	// few TiDB implements; MariaDB tables use the others too. Registering
	// them at init, before any goroutine parses, is race-free.
	for _, name := range []string{"armscii8", "big5", "cp1250", "cp1251", "cp1256", "cp1257", "cp850",
		"cp852", "cp866", "cp932", "dec8", "eucjpms", "euckr", "gb2312", "geostd8", "greek", "hebrew",
		"hp8", "keybcs2", "koi8r", "koi8u", "latin2", "latin5", "latin7", "macce", "macroman", "sjis",
		"swe7", "tis620", "ucs2", "ujis", "utf16", "utf16le", "utf32"} {
		if c, err := charset.GetCharsetInfo(name); err != nil && c != nil {
			charset.AddCharset(c)
		}
	}
}

// parsed is a statement ready to apply, with what the rewrites learnt.
type parsed struct {
	stmts []ast.StmtNode
	// orReplace is set for MariaDB's CREATE OR REPLACE TABLE.
	orReplace bool
	// types maps a column name (lower case) to a MariaDB type the parser
	// does not know (point, uuid, inet6, …) that was parsed as BLOB.
	types map[string]string
}

const maxRewrites = 8

// parse parses a statement with the TiDB parser, retrying with MariaDB
// syntax rewritten when it fails. A statement that still fails but cannot
// change a table (procedures, triggers, grants, …) parses to no statement.
func parse(p *parser.Parser, sql string, srv *Server) (*parsed, error) {
	text := rewriteAlways(sql, srv)
	stmts, err := safeParse(p, text)
	if err == nil {
		return &parsed{stmts: stmts}, nil
	}
	res := &parsed{}
	text = res.rewriteMariaDB(text)
	for range maxRewrites {
		stmts, err = safeParse(p, text)
		if err == nil {
			res.stmts = stmts
			return res, nil
		}
		next, ok := replaceUnknownCollation(text, err)
		if !ok {
			break
		}
		text = next
	}
	if !mayChangeTables(sql) {
		return &parsed{}, nil
	}
	return nil, fmt.Errorf("%w: %s: %v", ErrUnsupportedDDL, abbreviate(sql), err)
}

// safeParse turns a panic of the parser into an error: its literal driver
// panics on some long DECIMAL literals.
func safeParse(p *parser.Parser, sql string) (stmts []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("parser panicked: %v", r)
		}
	}()
	stmts, _, err = p.Parse(sql, "", "")
	return stmts, err
}

func abbreviate(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 300 {
		return fmt.Sprintf("%q…", sql[:300])
	}
	return fmt.Sprintf("%q", sql)
}

// rewriteAlways rewrites what the parser accepts but reads wrongly:
// MariaDB's executable comments /*M!NNNNNN … */ (which the parser skips
// and MariaDB runs when its version is at least NNNNNN) and the national
// character types (whose utf8mb3 charset the parser drops).
func rewriteAlways(sql string, srv *Server) string {
	var edits []edit
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = closeQuote(sql, i) - 1
		case strings.HasPrefix(sql[i:], "/*M!"):
			j := i + 4
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if srv.runs(sql[i+4 : j]) {
				// The parser reads five-digit versions; MariaDB's have six.
				edits = append(edits, edit{i, j, "/*! "})
			} else {
				edits = append(edits, edit{i, j, "/* "})
			}
			i = j - 1
		case strings.HasPrefix(sql[i:], "/*") && !strings.HasPrefix(sql[i:], "/*!"):
			if end := strings.Index(sql[i+2:], "*/"); end >= 0 {
				i += end + 3
			}
		}
	}
	sql = applyEdits(sql, edits)
	return rewriteNational(sql)
}

// rewriteNational turns NCHAR(n), NATIONAL VARCHAR(n), NVARCHAR(n), … into
// CHAR(n)/VARCHAR(n) CHARACTER SET utf8mb3.
func rewriteNational(sql string) string {
	toks := scan(sql)
	var edits []edit
	for i := 0; i < len(toks); i++ {
		typ, n := "", 0
		switch {
		case toks[i].is("NATIONAL") && i+1 < len(toks) && toks[i+1].is("CHAR", "CHARACTER"):
			typ, n = "CHAR", 2
			if i+2 < len(toks) && toks[i+2].is("VARYING") {
				typ, n = "VARCHAR", 3
			}
		case toks[i].is("NATIONAL") && i+1 < len(toks) && toks[i+1].is("VARCHAR"):
			typ, n = "VARCHAR", 2
		case toks[i].is("NCHAR"):
			typ, n = "CHAR", 1
			if i+1 < len(toks) && toks[i+1].is("VARCHAR", "VARYING") {
				typ, n = "VARCHAR", 2
			}
		case toks[i].is("NVARCHAR"):
			typ, n = "VARCHAR", 1
		default:
			continue
		}
		if i == 0 || !toks[i-1].identifier() {
			continue
		}
		end := toks[i+n-1].end
		j := i + n
		if j+2 < len(toks) && toks[j].punct("(") && toks[j+2].punct(")") {
			end = toks[j+2].end
			edits = append(edits, edit{toks[i].start, end, typ + sql[toks[j].start:end] + " CHARACTER SET utf8mb3"})
		} else {
			edits = append(edits, edit{toks[i].start, end, typ + " CHARACTER SET utf8mb3"})
		}
		i = j
	}
	return applyEdits(sql, edits)
}

// mariaTypes are MariaDB column types the parser does not know; a column
// of one is parsed as BLOB and modelled by name.
var mariaTypes = map[string]bool{
	"GEOMETRY": true, "POINT": true, "LINESTRING": true, "POLYGON": true, "MULTIPOINT": true,
	"MULTILINESTRING": true, "MULTIPOLYGON": true, "GEOMETRYCOLLECTION": true, "GEOMCOLLECTION": true,
	"UUID": true, "INET4": true, "INET6": true,
}

// afterType are the tokens that may follow a column type.
var afterType = map[string]bool{
	",": true, ")": true, ";": true, "NOT": true, "NULL": true, "DEFAULT": true, "COMMENT": true,
	"PRIMARY": true, "KEY": true, "UNIQUE": true, "FIRST": true, "AFTER": true, "SRID": true,
	"REFERENCES": true, "CHECK": true, "INVISIBLE": true, "CONSTRAINT": true,
}

// mariaTableOptions are MariaDB table options the parser rejects and that
// do not change columns.
var mariaTableOptions = map[string]bool{
	"PAGE_CHECKSUM": true, "TRANSACTIONAL": true, "ENCRYPTED": true, "ENCRYPTION_KEY_ID": true,
	"PAGE_COMPRESSED": true, "PAGE_COMPRESSION_LEVEL": true, "IETF_QUOTES": true,
}

// rewriteMariaDB rewrites MariaDB syntax the parser rejects into what it
// accepts with the same effect on the model: CREATE OR REPLACE TABLE,
// ALTER ONLINE TABLE, WAIT n / NOWAIT, ALGORITHM=NOCOPY, RENAME/ALTER TABLE
// IF EXISTS, Aria and encryption table options, INVISIBLE columns,
// PERSISTENT generated columns, and the spatial, UUID and INET column
// types.
func (res *parsed) rewriteMariaDB(sql string) string {
	toks := scan(sql)
	var edits []edit
	drop := func(from, to int) { edits = append(edits, edit{toks[from].start, toks[to].end, ""}) }
	if len(toks) > 3 && toks[0].is("CREATE") && toks[1].is("OR") && toks[2].is("REPLACE") &&
		(toks[3].is("TABLE") || toks[3].is("TEMPORARY")) {
		res.orReplace = true
		drop(1, 2)
	}
	if len(toks) > 1 && toks[0].is("ALTER") && toks[1].is("ONLINE") {
		drop(1, 1)
	}
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is("IF") && i+1 < len(toks) && toks[i+1].is("EXISTS") && toks[i-1].is("TABLE") && i >= 2 &&
			(toks[i-2].is("RENAME") || toks[i-2].is("ALTER") || toks[i-2].is("ONLINE") || toks[i-2].is("IGNORE")):
			drop(i, i+1)
			i++
		case (t.is("NOWAIT") || (t.is("WAIT") && i+1 < len(toks) && toks[i+1].number())) && afterTableName(toks, i):
			if t.is("WAIT") {
				drop(i, i+1)
				i++
			} else {
				drop(i, i)
			}
		case t.is("NOCOPY") && (toks[i-1].is("ALGORITHM") || toks[i-1].punct("=")):
			edits = append(edits, edit{t.start, t.end, "INPLACE"})
		case mariaTableOptions[t.up] && t.kind == tokWord:
			j := i
			if j+1 < len(toks) && toks[j+1].punct("=") {
				j++
			}
			if j+1 < len(toks) && toks[j+1].kind != tokPunct {
				j++
			}
			drop(i, j)
			i = j
		case t.is("INVISIBLE"):
			drop(i, i)
		case t.is("PERSISTENT") && toks[i-1].punct(")"):
			edits = append(edits, edit{t.start, t.end, "STORED"})
		case t.kind == tokWord && mariaTypes[t.up] && toks[i-1].identifier() &&
			(i+1 == len(toks) || afterType[toks[i+1].up]):
			if res.types == nil {
				res.types = map[string]string{}
			}
			res.types[strings.ToLower(nameOf(sql, toks[i-1]))] = strings.ToLower(t.up)
			edits = append(edits, edit{t.start, t.end, "BLOB"})
			if i+2 < len(toks) && toks[i+1].is("SRID") && toks[i+2].number() {
				drop(i+1, i+2)
				i += 2
			}
		}
	}
	return applyEdits(sql, edits)
}

// afterTableName reports whether toks[i] follows a table name: `TABLE t`,
// `ON t`, `, t` or `db.t`.
func afterTableName(toks []token, i int) bool {
	if i < 2 || !toks[i-1].identifier() {
		return false
	}
	p := toks[i-2]
	return p.is("TABLE", "ON") || p.punct(",") || p.punct(".")
}

// nameOf returns the name an identifier token spells.
func nameOf(sql string, t token) string {
	if t.kind == tokIdent {
		return t.up
	}
	return sql[t.start:t.end]
}

var unknownCollationRe = regexp.MustCompile(`Unknown collation: '([^']+)'`)

// replaceUnknownCollation replaces a collation the parser does not know
// (MariaDB's utf8mb4_uca1400_ai_ci, …) by its character set's default
// collation: the model keeps only character sets, and a collation's
// character set is the prefix of its name.
func replaceUnknownCollation(sql string, err error) (string, bool) {
	m := unknownCollationRe.FindStringSubmatch(err.Error())
	if m == nil {
		return sql, false
	}
	name := strings.ToLower(m[1])
	repl, cerr := charset.GetDefaultCollation(charsetOf(name))
	if cerr != nil {
		return sql, false
	}
	var edits []edit
	for _, t := range scan(sql) {
		text := strings.ToLower(sql[t.start:t.end])
		if text == name || text == "'"+name+"'" || text == "\""+name+"\"" || text == "`"+name+"`" {
			edits = append(edits, edit{t.start, t.end, repl})
		}
	}
	if len(edits) == 0 {
		return sql, false
	}
	return applyEdits(sql, edits), true
}

// noEffectKinds are the objects whose CREATE, ALTER or DROP never changes a
// table's columns.
var noEffectKinds = map[string]bool{
	"PROCEDURE": true, "FUNCTION": true, "TRIGGER": true, "EVENT": true, "VIEW": true, "USER": true,
	"ROLE": true, "SERVER": true, "SEQUENCE": true, "PACKAGE": true, "TABLESPACE": true,
	"LOGFILE": true, "RESOURCE": true, "SPATIAL": true, "SYNONYM": true,
}

// noEffectStatements are statements that never change a table's columns.
var noEffectStatements = map[string]bool{
	"GRANT": true, "REVOKE": true, "SET": true, "FLUSH": true, "XA": true, "SAVEPOINT": true,
	"RELEASE": true, "ROLLBACK": true, "COMMIT": true, "BEGIN": true, "START": true, "INSTALL": true,
	"UNINSTALL": true, "ANALYZE": true, "OPTIMIZE": true, "REPAIR": true, "CHECK": true,
	"CHECKSUM": true, "DO": true, "CALL": true, "INSERT": true, "UPDATE": true, "DELETE": true,
	"REPLACE": true, "SELECT": true, "LOAD": true, "HANDLER": true, "KILL": true, "RESET": true,
	"PURGE": true, "STOP": true, "SHUTDOWN": true, "BINLOG": true, "USE": true, "LOCK": true,
	"UNLOCK": true, "PREPARE": true, "EXECUTE": true, "DEALLOCATE": true, "SHOW": true,
	"EXPLAIN": true, "DESCRIBE": true, "DESC": true, "HELP": true, "SIGNAL": true, "RESIGNAL": true,
	"GET": true, "BACKUP": true, "WITH": true, "VALUES": true, "TABLE": true,
}

// mayChangeTables classifies a statement the parser rejected: false when
// it cannot change a table's columns (so skipping it is right), true when
// it might.
func mayChangeTables(sql string) bool {
	toks := scan(sql)
	if len(toks) == 0 {
		return false
	}
	first := toks[0]
	switch {
	case first.kind != tokWord:
		return true
	case noEffectStatements[first.up]:
		return false
	case first.is("RENAME"):
		return !(len(toks) > 1 && toks[1].is("USER"))
	case first.is("CREATE", "ALTER", "DROP"):
		for _, t := range toks[1:min(len(toks), 16)] {
			switch {
			case t.is("TABLE", "DATABASE", "SCHEMA"):
				return true
			case t.is("INDEX"):
				return !first.is("CREATE")
			case t.kind == tokWord && noEffectKinds[t.up]:
				return false
			}
		}
	}
	return true
}

// target names the table an ALTER, TRUNCATE or CREATE TABLE statement
// acts on, read from its first tokens, for statements the parser rejects.
// create is set for CREATE TABLE, temporary for CREATE TEMPORARY TABLE.
func target(sql string) (schema, name string, create, temporary, ok bool) {
	toks := scan(sql)
	i := 0
	skip := func(words ...string) {
		for i < len(toks) && toks[i].is(words...) {
			i++
		}
	}
	switch {
	case len(toks) == 0:
		return "", "", false, false, false
	case toks[0].is("ALTER"):
		i = 1
		skip("ONLINE", "OFFLINE", "IGNORE")
		if i >= len(toks) || !toks[i].is("TABLE") {
			return "", "", false, false, false
		}
		i++
	case toks[0].is("TRUNCATE"):
		i = 1
		skip("TABLE")
	case toks[0].is("CREATE"):
		i = 1
		skip("OR", "REPLACE")
		if i < len(toks) && toks[i].is("TEMPORARY") {
			temporary = true
			i++
		}
		if i >= len(toks) || !toks[i].is("TABLE") {
			return "", "", false, false, false
		}
		create = true
		i++
	default:
		return "", "", false, false, false
	}
	skip("IF", "NOT", "EXISTS")
	if i >= len(toks) || !toks[i].identifier() {
		return "", "", false, false, false
	}
	name = nameOf(sql, toks[i])
	if i+2 < len(toks) && toks[i+1].punct(".") && toks[i+2].identifier() {
		schema, name = name, nameOf(sql, toks[i+2])
	}
	return schema, name, create, temporary, true
}
