package schema

import (
	"errors"
	"strings"
	"testing"
)

// ordersDDL is the base table of cdc-semantics §7.
const ordersDDL = `CREATE TABLE orders (id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(64) CHARACTER SET utf8mb4,
	amount DECIMAL(12,2), status ENUM('new','paid','shipped'), tags SET('gift','rush','vip'), note TEXT, meta JSON,
	created_at DATETIME(6), updated_at TIMESTAMP(3) NULL, ship_date DATE, flags BIT(8), qty SMALLINT UNSIGNED,
	yr YEAR, dur TIME(6), img LONGBLOB)`

// typesDDL and defaultsDDL exercise how types and defaults are spelled; the
// MariaDB test checks them against information_schema.
const typesDDL = `CREATE TABLE types (a CHAR(10) BINARY, b VARCHAR(3) CHARSET binary, c TEXT CHARSET binary, f TEXT(1000),
		g NATIONAL CHAR(3), h NVARCHAR(5), i SERIAL, j BOOL, k REAL, l NUMERIC, m LONG, p INT1, r FLOAT(30), s FLOAT(7,3),
		u BIT, x CHAR, y BINARY, z VARBINARY(5), ac INT ZEROFILL, az INT(3) UNSIGNED ZEROFILL, av TINYINT UNSIGNED,
		ax MEDIUMINT, bh TEXT(100), bj TEXT(70000), bk VARCHAR(3) CHARSET cp1251, bl DOUBLE(10,2), bm DECIMAL(65,30),
		bn ENUM('it''s','back\\slash') CHARSET latin1, bo TINYBLOB, bp MEDIUMBLOB, bq TIME, br YEAR, bs INTEGER UNSIGNED)`

const defaultsDDL = `CREATE TABLE defaults (a INT DEFAULT NULL, b VARCHAR(3) DEFAULT 'x', c INT DEFAULT '5', d TEXT DEFAULT '',
		e FLOAT DEFAULT 1.5e3, f DATETIME(6) DEFAULT NOW(6) ON UPDATE NOW(6), g INT DEFAULT 0x10, h INT DEFAULT TRUE,
		k ENUM('a','B') DEFAULT 'b', l SET('a','b') DEFAULT 'b,a', m BIT(2) DEFAULT 1, n TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
		o DATE DEFAULT CURRENT_DATE, q VARCHAR(10) DEFAULT 'it''s', r VARCHAR(4) DEFAULT 'NULL', s DOUBLE DEFAULT 1,
		u DECIMAL(10,3) DEFAULT '1.5', v DATE DEFAULT '2020-1-2', w TIME DEFAULT '1:2:3', x CHAR(3) DEFAULT 'a  ',
		y INT NOT NULL, ac BINARY(3) DEFAULT 'a', ad INT UNSIGNED DEFAULT 7, af VARCHAR(3) DEFAULT 7, al INT DEFAULT -1,
		am DECIMAL(5,2) DEFAULT 1, an BIT(3) DEFAULT b'101', ak DATETIME DEFAULT '2020-01-01', au DATETIME(3) DEFAULT '2020-01-01 10:00:00.5',
		ay BIGINT UNSIGNED DEFAULT 18446744073709551615, aj TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3), w2 YEAR DEFAULT 99,
		gen INT AS (a + 1) VIRTUAL, sto INT AS (a * 2) PERSISTENT, ai INT AUTO_INCREMENT KEY, z ENUM('p','q') NOT NULL,
		bb VARCHAR(5) DEFAULT (uuid()), cc FLOAT DEFAULT 0.1, dd TIME(2) DEFAULT '-1:02:03.5', ee TIMESTAMP NOT NULL)`

func TestSchemaDDLCreateOrders(t *testing.T) {
	h := newTestHistory(t)
	changes := h.exec(ordersDDL)
	if len(changes) != 1 || changes[0].Kind != ChangeCreate || changes[0].Schema != "d" || changes[0].Table != "orders" || changes[0].Before != nil {
		t.Fatalf("changes = %+v", changes)
	}
	want := &Table{Schema: "d", Name: "orders", Charset: "utf8mb4", PK: []int{0}, Columns: []Column{
		{Name: "id", DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true},
		{Name: "customer", DataType: "varchar", ColumnType: "varchar(64)", Nullable: true, Charset: "utf8mb4"},
		{Name: "amount", DataType: "decimal", ColumnType: "decimal(12,2)", Nullable: true, Precision: 12, Scale: 2},
		{Name: "status", DataType: "enum", ColumnType: "enum('new','paid','shipped')", Nullable: true, Charset: "utf8mb4", Elems: []string{"new", "paid", "shipped"}},
		{Name: "tags", DataType: "set", ColumnType: "set('gift','rush','vip')", Nullable: true, Charset: "utf8mb4", Elems: []string{"gift", "rush", "vip"}},
		{Name: "note", DataType: "text", ColumnType: "text", Nullable: true, Charset: "utf8mb4"},
		{Name: "meta", DataType: "longtext", ColumnType: "longtext", Nullable: true, Charset: "utf8mb4"},
		{Name: "created_at", DataType: "datetime", ColumnType: "datetime(6)", Nullable: true, Scale: 6},
		{Name: "updated_at", DataType: "timestamp", ColumnType: "timestamp(3)", Nullable: true, Scale: 3},
		{Name: "ship_date", DataType: "date", ColumnType: "date", Nullable: true},
		{Name: "flags", DataType: "bit", ColumnType: "bit(8)", Nullable: true, Length: 8},
		{Name: "qty", DataType: "smallint", ColumnType: "smallint(5) unsigned", Nullable: true, Unsigned: true},
		{Name: "yr", DataType: "year", ColumnType: "year(4)", Nullable: true},
		{Name: "dur", DataType: "time", ColumnType: "time(6)", Nullable: true, Scale: 6},
		{Name: "img", DataType: "longblob", ColumnType: "longblob", Nullable: true, Charset: "binary"},
	}}
	if d := tableDiff(want, h.table("d", "orders")); d != "" {
		t.Fatal(d)
	}
	if changes[0].After != h.table("d", "orders") {
		t.Fatal("Change.After is not the recorded table")
	}
}

func TestSchemaDDLTypes(t *testing.T) {
	h := newTestHistory(t)
	h.exec(typesDDL)
	tb := h.table("d", "types")
	for name, want := range map[string]string{
		"a": "char(10) utf8mb4", "b": "varbinary(3) binary", "c": "blob binary", "f": "text utf8mb4",
		"g": "char(3) utf8mb3", "h": "varchar(5) utf8mb3", "i": "bigint(20) unsigned ", "j": "tinyint(1) ",
		"k": "double ", "l": "decimal(10,0) ", "m": "mediumtext utf8mb4", "p": "tinyint(4) ", "r": "double ",
		"s": "float(7,3) ", "u": "bit(1) ", "x": "char(1) utf8mb4", "y": "binary(1) binary", "z": "varbinary(5) binary",
		"ac": "int(10) unsigned zerofill ", "az": "int(3) unsigned zerofill ", "av": "tinyint(3) unsigned ",
		"ax": "mediumint(9) ", "bh": "text utf8mb4", "bj": "mediumtext utf8mb4", "bk": "varchar(3) cp1251",
		"bl": "double(10,2) ", "bm": "decimal(65,30) ", "bn": "enum('it''s','back\\\\slash') latin1",
		"bo": "tinyblob binary", "bp": "mediumblob binary", "bq": "time ", "br": "year(4) ", "bs": "int(10) unsigned ",
	} {
		c := col(t, tb, name)
		if got := c.ColumnType + " " + c.Charset; got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if c := col(t, tb, "i"); c.Nullable || !c.Unsigned {
		t.Errorf("SERIAL: %+v", c)
	}
	if c := col(t, tb, "bn"); len(c.Elems) != 2 || c.Elems[0] != "it's" || c.Elems[1] != `back\slash` {
		t.Errorf("enum elems %q", c.Elems)
	}
	if c := col(t, tb, "y"); c.Length != 1 || col(t, tb, "u").Length != 1 {
		t.Errorf("lengths: %+v %+v", c, col(t, tb, "u"))
	}
}

func TestSchemaDDLDefaults(t *testing.T) {
	h := newTestHistory(t)
	h.exec(defaultsDDL)
	tb := h.table("d", "defaults")
	for name, want := range map[string]*string{
		"a": nil, "b": str("x"), "c": str("5"), "d": str(""), "e": str("1500"), "f": str("current_timestamp(6)"),
		"g": str("16"), "h": str("1"), "k": str("B"), "l": str("a,b"), "m": str("b'1'"), "n": str("current_timestamp()"),
		"o": str("curdate()"), "q": str("it's"), "r": str("NULL"), "s": str("1"), "u": str("1.500"), "v": str("2020-01-02"),
		"w": str("01:02:03"), "x": str("a"), "y": nil, "ac": str("a\x00\x00"), "ad": str("7"), "af": str("7"), "al": str("-1"),
		"am": str("1.00"), "an": str("b'101'"), "ak": str("2020-01-01 00:00:00"), "au": str("2020-01-01 10:00:00.500"),
		"ay": str("18446744073709551615"), "aj": str("current_timestamp(3)"), "w2": str("1999"), "gen": nil, "ai": nil,
	} {
		got := col(t, tb, name).Default
		switch {
		case want == nil && got != nil:
			t.Errorf("%s: default %q, want none", name, *got)
		case want != nil && (got == nil || *got != *want):
			t.Errorf("%s: default %v, want %q", name, got, *want)
		}
	}
	if c := col(t, tb, "ai"); c.Nullable {
		t.Error("AUTO_INCREMENT column is nullable")
	}
}

func TestSchemaDDLAddColumnOrder(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)")
	h.exec("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 7")
	h.exec("ALTER TABLE t ADD COLUMN x INT AFTER id")
	h.exec("ALTER TABLE t ADD COLUMN f VARCHAR(3) FIRST")
	h.exec("ALTER TABLE t ADD COLUMN (m1 INT, m2 INT), ADD n INT AFTER a, ADD COLUMN IF NOT EXISTS a INT")
	tb := h.table("d", "t")
	if got := colNames(tb); got != "f,id,x,a,n,b,c,m1,m2" {
		t.Fatalf("columns %s", got)
	}
	if len(tb.PK) != 1 || tb.Columns[tb.PK[0]].Name != "id" {
		t.Fatalf("PK %v", tb.PK)
	}
	if c := col(t, tb, "c"); c.Nullable || c.Default == nil || *c.Default != "7" {
		t.Fatalf("c = %+v", c)
	}
}

func TestSchemaDDLAlterColumns(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (id INT NOT NULL, a INT, b VARCHAR(10), c INT, d INT, PRIMARY KEY (id))")
	h.exec("ALTER TABLE t DROP COLUMN a")
	h.exec("ALTER TABLE t MODIFY b BIGINT UNSIGNED NOT NULL")
	h.exec("ALTER TABLE t CHANGE c c2 VARCHAR(5) DEFAULT 'z' FIRST")
	h.exec("ALTER TABLE t RENAME COLUMN d TO d2")
	h.exec("ALTER TABLE t ALTER COLUMN d2 SET DEFAULT 5")
	h.exec("ALTER TABLE t ALTER c2 DROP DEFAULT")
	h.exec("ALTER TABLE t DROP COLUMN IF EXISTS nope, MODIFY IF EXISTS nope INT")
	tb := h.table("d", "t")
	if got := colNames(tb); got != "c2,id,b,d2" {
		t.Fatalf("columns %s", got)
	}
	if b := col(t, tb, "b"); b.ColumnType != "bigint(20) unsigned" || b.Nullable || !b.Unsigned {
		t.Fatalf("b = %+v", b)
	}
	if c := col(t, tb, "c2"); c.ColumnType != "varchar(5)" || c.Default != nil || c.Charset != "utf8mb4" {
		t.Fatalf("c2 = %+v", c)
	}
	if d := col(t, tb, "d2"); d.Default == nil || *d.Default != "5" {
		t.Fatalf("d2 = %+v", d)
	}
	if len(tb.PK) != 1 || tb.PK[0] != 1 {
		t.Fatalf("PK %v, want [1] (id moved by FIRST)", tb.PK)
	}
}

func TestSchemaDDLPrimaryKey(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT, b INT, c INT)")
	if tb := h.table("d", "t"); tb.PK != nil {
		t.Fatalf("PK %v", tb.PK)
	}
	h.exec("ALTER TABLE t ADD PRIMARY KEY (c, a)")
	tb := h.table("d", "t")
	if len(tb.PK) != 2 || tb.PK[0] != 2 || tb.PK[1] != 0 || tb.Columns[0].Nullable || tb.Columns[2].Nullable || !tb.Columns[1].Nullable {
		t.Fatalf("after ADD PRIMARY KEY: %+v", tb)
	}
	h.exec("ALTER TABLE t CHANGE a a2 BIGINT AFTER c")
	tb = h.table("d", "t")
	if got := strings.Join(tb.PKNames(), ","); got != "c,a2" || tb.Columns[tb.PK[1]].Nullable {
		t.Fatalf("PK after CHANGE: %s %+v", got, tb)
	}
	h.exec("ALTER TABLE t DROP COLUMN c")
	if got := strings.Join(h.table("d", "t").PKNames(), ","); got != "a2" {
		t.Fatalf("PK after dropping a key column: %s", got)
	}
	h.exec("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (b)")
	if got := strings.Join(h.table("d", "t").PKNames(), ","); got != "b" {
		t.Fatalf("PK after replacing it: %s", got)
	}
	h.exec("ALTER TABLE t DROP INDEX `PRIMARY`")
	if tb := h.table("d", "t"); tb.PK != nil {
		t.Fatalf("PK after DROP INDEX PRIMARY: %v", tb.PK)
	}
	h.exec("CREATE TABLE t2 (x INT, y INT, CONSTRAINT pk PRIMARY KEY USING BTREE (y, x))", "DROP INDEX `PRIMARY` ON t2")
	if tb := h.table("d", "t2"); tb.PK != nil {
		t.Fatalf("PK after DROP INDEX PRIMARY ON: %v", tb.PK)
	}
	h.exec("ALTER TABLE t2 MODIFY x INT PRIMARY KEY")
	if tb := h.table("d", "t2"); len(tb.PK) != 1 || tb.PK[0] != 0 {
		t.Fatalf("PK after MODIFY … PRIMARY KEY: %v", tb.PK)
	}
}

func TestSchemaDDLCharsets(t *testing.T) {
	h := newTestHistory(t, &Database{Name: "d", Charset: "latin1"})
	h.exec("CREATE TABLE t (a VARCHAR(10), b TEXT COLLATE utf8mb4_bin, c ENUM('x'), e JSON, f INT)")
	tb := h.table("d", "t")
	if tb.Charset != "latin1" || col(t, tb, "a").Charset != "latin1" || col(t, tb, "b").Charset != "utf8mb4" ||
		col(t, tb, "c").Charset != "latin1" || col(t, tb, "e").Charset != "utf8mb4" || col(t, tb, "f").Charset != "" {
		t.Fatalf("database default not inherited: %+v", tb)
	}
	h.exec("CREATE TABLE u (a VARCHAR(10)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
	if tb := h.table("d", "u"); tb.Charset != "utf8mb4" || tb.Columns[0].Charset != "utf8mb4" {
		t.Fatalf("table charset: %+v", tb)
	}
	h.exec("ALTER TABLE u CHARACTER SET latin1", "ALTER TABLE u ADD b CHAR(2)")
	if tb := h.table("d", "u"); tb.Charset != "latin1" || tb.Columns[0].Charset != "utf8mb4" || tb.Columns[1].Charset != "latin1" {
		t.Fatalf("ALTER TABLE CHARACTER SET: %+v", tb)
	}
	h.exec("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4")
	tb = h.table("d", "t")
	if tb.Charset != "utf8mb4" || col(t, tb, "a").ColumnType != "varchar(10)" || col(t, tb, "b").ColumnType != "text" ||
		col(t, tb, "c").Charset != "utf8mb4" {
		t.Fatalf("CONVERT TO utf8mb4: %+v", tb)
	}
	h.exec("CREATE TABLE v (a TINYTEXT, b TEXT, c MEDIUMTEXT, d LONGTEXT, e VARCHAR(3)) CHARSET latin1",
		"ALTER TABLE v CONVERT TO CHARACTER SET utf8mb4")
	tb = h.table("d", "v")
	if got := []string{tb.Columns[0].ColumnType, tb.Columns[1].ColumnType, tb.Columns[2].ColumnType, tb.Columns[3].ColumnType}; strings.Join(got, ",") != "text,mediumtext,longtext,longtext" {
		t.Fatalf("CONVERT latin1 → utf8mb4 grows TEXT types: %v", got)
	}
	h.exec("ALTER TABLE v CONVERT TO CHARACTER SET latin1")
	if c := h.table("d", "v").Columns[1]; c.ColumnType != "mediumtext" || c.Charset != "latin1" {
		t.Fatalf("CONVERT back never shrinks: %+v", c)
	}
	h.exec("CREATE DATABASE d3 CHARACTER SET cp1251", "CREATE TABLE d3.w (a CHAR(1))")
	if c := h.table("d3", "w").Columns[0]; c.Charset != "cp1251" {
		t.Fatalf("CREATE DATABASE charset: %+v", c)
	}
	h.exec("ALTER DATABASE d3 COLLATE utf8mb4_general_ci", "CREATE TABLE d3.x (a CHAR(1))")
	if c := h.table("d3", "x").Columns[0]; c.Charset != "utf8mb4" {
		t.Fatalf("ALTER DATABASE charset: %+v", c)
	}
	h.exec("CREATE DATABASE d4", "CREATE TABLE d4.y (a CHAR(1) CHARACTER SET utf8)")
	if c := h.table("d4", "y").Columns[0]; c.Charset != "utf8mb3" || h.table("d4", "y").Charset != "utf8mb4" {
		t.Fatalf("server default and utf8 → utf8mb3: %+v", h.table("d4", "y"))
	}
}

func TestSchemaDDLRenames(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)", "CREATE TABLE c (z INT)")
	changes := h.exec("RENAME TABLE a TO tmp, b TO a, tmp TO b, c TO d2.c2")
	if len(changes) != 4 || changes[3].Kind != ChangeRename || changes[3].OldSchema != "d" || changes[3].OldTable != "c" ||
		changes[3].Schema != "d2" || changes[3].Table != "c2" {
		t.Fatalf("changes %+v", changes)
	}
	if colNames(h.table("d", "a")) != "y" || colNames(h.table("d", "b")) != "x" || colNames(h.table("d2", "c2")) != "z" {
		t.Fatal("swap or move across schemas lost")
	}
	if _, ok := h.Table("d", "c"); ok {
		t.Fatal("old name still present")
	}
	if tb := h.table("d2", "c2"); tb.Schema != "d2" || tb.Name != "c2" {
		t.Fatalf("renamed table carries name %s", tb)
	}
	changes = h.exec("ALTER TABLE d2.c2 ADD w INT, RENAME TO d.c3")
	if len(changes) != 1 || changes[0].Kind != ChangeRename || colNames(changes[0].After) != "z,w" || colNames(changes[0].Before) != "z" {
		t.Fatalf("ALTER … RENAME: %+v", changes)
	}
	h.exec("ALTER TABLE c3 RENAME AS c4")
	h.table("d", "c4")
}

func TestSchemaDDLDropTruncateLike(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE a (x INT PRIMARY KEY) CHARSET latin1", "CREATE TABLE b (y INT)", "CREATE TABLE d2.e (z INT)")
	changes := h.exec("CREATE TABLE a2 LIKE a")
	if tb := h.table("d", "a2"); len(changes) != 1 || tb.Name != "a2" || tb.Charset != "latin1" || len(tb.PK) != 1 {
		t.Fatalf("LIKE: %+v", tb)
	}
	if changes := h.exec("CREATE TABLE IF NOT EXISTS a2 (q INT)"); len(changes) != 0 || colNames(h.table("d", "a2")) != "x" {
		t.Fatal("CREATE TABLE IF NOT EXISTS replaced an existing table")
	}
	changes = h.exec("TRUNCATE TABLE a")
	if len(changes) != 1 || changes[0].Kind != ChangeTruncate || changes[0].Before != changes[0].After {
		t.Fatalf("TRUNCATE: %+v", changes)
	}
	changes = h.exec("DROP TABLE IF EXISTS a, nope, b")
	if len(changes) != 2 || changes[0].Kind != ChangeDrop || changes[0].Table != "a" || changes[1].Table != "b" {
		t.Fatalf("DROP: %+v", changes)
	}
	if _, ok := h.Table("d", "a"); ok {
		t.Fatal("dropped table still present")
	}
	h.exec("CREATE TABLE a (x BIGINT, y TEXT)")
	if colNames(h.table("d", "a")) != "x,y" {
		t.Fatal("re-created table")
	}
	changes = h.exec("DROP DATABASE d2")
	if len(changes) != 1 || changes[0].Schema != "d2" || changes[0].Table != "e" {
		t.Fatalf("DROP DATABASE: %+v", changes)
	}
	if _, err := h.ApplyDDL(h.next(), "", "CREATE TABLE d2.f (a INT)"); !errors.Is(err, ErrUnsupportedDDL) {
		t.Fatalf("CREATE TABLE in a dropped database: %v", err)
	}
}

func TestSchemaDDLNoChange(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT, b INT)")
	before := h.table("d", "t")
	records := h.Records()
	for _, sql := range []string{
		"CREATE INDEX i ON t (a)",
		"ALTER TABLE t ADD INDEX j (b), ADD UNIQUE KEY u (a), ALGORITHM=INPLACE, LOCK=NONE",
		"ALTER TABLE t DROP INDEX j, RENAME INDEX u TO u2, ENGINE=InnoDB, COMMENT='x', AUTO_INCREMENT=5",
		"ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0), FORCE",
		"DROP INDEX i ON t",
		"GRANT SELECT ON *.* TO 'u'@'%'",
		"CREATE USER 'v'@'%' IDENTIFIED BY 'x'",
		"CREATE VIEW v AS SELECT a FROM t",
		"CREATE OR REPLACE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`",
		"DROP VIEW v",
		"CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END",
		"CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
		"DROP PROCEDURE IF EXISTS p",
		"CREATE SEQUENCE s START WITH 1",
		"INSERT INTO t VALUES (1, 2)",
		"FLUSH PRIVILEGES",
		"ALTER TABLE unknown_table ADD COLUMN z INT",
		"DROP TABLE IF EXISTS unknown_table",
		"RENAME TABLE unknown_table TO unknown2",
		"TRUNCATE unknown_table",
		"CREATE TEMPORARY TABLE tmp (a INT)",
		"DROP TEMPORARY TABLE IF EXISTS tmp",
		"ANALYZE TABLE t",
		"XA START 'x'",
		"CREATE TABLE mysql.extra (a INT)",
		"ALTER TABLE unknown_table ADD COLUMN z TEXT COMPRESSED",
		"ALTER ONLINE IGNORE TABLE d.unknown_table ADD COLUMN z TEXT COMPRESSED",
		"CREATE TEMPORARY TABLE tmp2 (a TEXT COMPRESSED)",
		"CREATE TABLE mysql.compressed (a TEXT COMPRESSED)",
		"",
	} {
		changes, err := h.ApplyDDL(h.next(), "d", sql)
		if err != nil || len(changes) != 0 {
			t.Errorf("%q: changes %+v, err %v", sql, changes, err)
		}
	}
	if h.table("d", "t") != before || h.Records() != records {
		t.Fatal("a statement without effect changed the history")
	}
}

func TestSchemaDDLUnsupported(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	records := h.Records()
	for _, sql := range []string{
		"ALTER TABLE t ADD COLUMN b INT AFTER nope",
		"ALTER TABLE t DROP COLUMN nope",
		"ALTER TABLE t MODIFY nope INT",
		"ALTER TABLE t ADD COLUMN a INT",
		"ALTER TABLE t DROP PRIMARY KEY",
		"ALTER TABLE t ADD PRIMARY KEY (nope)",
		"CREATE TABLE t (x INT)",
		"CREATE TABLE s SELECT 1 AS a",
		"CREATE TABLE c (a TEXT COMPRESSED)",
		"ALTER TABLE t ADD COLUMN z TEXT COMPRESSED",
		"ALTER ONLINE TABLE `d`.`t` ADD COLUMN z TEXT COMPRESSED",
		"CREATE TABLE v (a INT) WITH SYSTEM VERSIONING",
		"ALTER TABLE t ADD COLUMN b INT DEFAULT (1+1)",
		"ALTER TABLE t ADD COLUMN b CHAR(3) ASCII",
		"ALTER TABLE t ADD COLUMN b YEAR(2)",
		"THIS IS NOT SQL",
		"CREATE TABLE",
		"ALTER TABLE t ADD COLUMN",
	} {
		_, err := h.ApplyDDL(h.next(), "d", sql)
		if !errors.Is(err, ErrUnsupportedDDL) {
			t.Errorf("%q: err %v, want ErrUnsupportedDDL", sql, err)
			continue
		}
		if sql != "" && !strings.Contains(err.Error(), strings.Fields(sql)[0]) {
			t.Errorf("%q: error does not name the statement: %v", sql, err)
		}
	}
	if h.Records() != records || colNames(h.table("d", "t")) != "a" {
		t.Fatal("a failed statement changed the history")
	}
	if _, err := h.ApplyDDL(h.next(), "", "CREATE TABLE x (a INT)"); !errors.Is(err, ErrUnsupportedDDL) {
		t.Fatalf("no database selected: %v", err)
	}
}

func TestSchemaDDLMariaDBSyntax(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	changes := h.exec("CREATE OR REPLACE TABLE t (b INT, c INT)")
	if len(changes) != 2 || changes[0].Kind != ChangeDrop || changes[1].Kind != ChangeCreate || colNames(h.table("d", "t")) != "b,c" {
		t.Fatalf("CREATE OR REPLACE: %+v", changes)
	}
	h.exec("CREATE OR REPLACE TABLE fresh (a INT)")
	h.exec(
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS d INT, ADD COLUMN IF NOT EXISTS b INT",
		"ALTER TABLE t ADD COLUMN e INT, ALGORITHM=INSTANT",
		"ALTER TABLE t ADD COLUMN f INT, ALGORITHM=NOCOPY",
		"ALTER ONLINE TABLE t ADD COLUMN g INT",
		"ALTER TABLE t WAIT 5 ADD COLUMN h INT",
		"ALTER TABLE t NOWAIT ADD COLUMN i INT",
		"ALTER TABLE IF EXISTS t ADD COLUMN j INT",
		"ALTER TABLE t ADD COLUMN k INT INVISIBLE",
		"ALTER TABLE t ADD COLUMN l VARCHAR(3) COLLATE utf8mb4_uca1400_ai_ci",
		"ALTER TABLE t ADD COLUMN m POINT NOT NULL, ADD COLUMN n UUID, ADD COLUMN o INET6 DEFAULT NULL",
		"ALTER TABLE t ADD COLUMN p INT /*M!100301 , ADD COLUMN q INT */ /*M!999999 , ADD COLUMN r INT */",
		"ALTER TABLE t DROP COLUMN IF EXISTS zz",
	)
	tb := h.table("d", "t")
	if got := colNames(tb); got != "b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q" {
		t.Fatalf("columns %s", got)
	}
	if c := col(t, tb, "l"); c.Charset != "utf8mb4" {
		t.Errorf("uca1400 collation: %+v", c)
	}
	for name, typ := range map[string]string{"m": "point", "n": "uuid", "o": "inet6"} {
		if c := col(t, tb, name); c.DataType != typ || c.ColumnType != typ || c.Charset != "" {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if col(t, tb, "m").Nullable {
		t.Error("POINT NOT NULL is nullable")
	}
	h.exec("DROP TABLE t WAIT 5", "DROP TABLE fresh NOWAIT")
	if len(h.Tables()) != 0 {
		t.Fatalf("tables left: %v", h.Tables())
	}
	h.exec("CREATE TABLE aria (a INT) ENGINE=Aria PAGE_CHECKSUM=1 TRANSACTIONAL=1",
		"RENAME TABLE IF EXISTS aria TO aria2")
	h.table("d", "aria2")
}

func TestSchemaDDLKeyOrder(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	k := h.key()
	if _, err := h.ApplyDDL(k, "d", "ALTER TABLE t ADD b INT"); err == nil {
		t.Fatal("a second DDL at the key of the last was accepted")
	}
	if _, err := h.ApplyDDL(Key{File: "binlog.000001", Pos: 1}, "d", "ALTER TABLE t ADD b INT"); err == nil {
		t.Fatal("an older key was accepted")
	}
	if _, err := h.ApplyDDL(Key{File: "binlog.000002", Pos: 4}, "d", "ALTER TABLE t ADD b INT"); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaDDLMultiStatement(t *testing.T) {
	h := newTestHistory(t)
	changes := h.exec("CREATE TABLE x (a INT); CREATE TABLE y (b INT); DROP TABLE x")
	if len(changes) != 3 || h.Records() != 2 {
		t.Fatalf("changes %+v, records %d", changes, h.Records())
	}
	if _, ok := h.Table("d", "x"); ok {
		t.Fatal("x was dropped")
	}
	h.table("d", "y")
}

func TestSchemaDDLRenamedColumns(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT)")
	ch := h.exec("ALTER TABLE t RENAME COLUMN a TO a1, CHANGE b b2 BIGINT, MODIFY c BIGINT")
	if len(ch) != 1 || len(ch[0].Renamed) != 2 || ch[0].Renamed["a1"] != "a" || ch[0].Renamed["b2"] != "b" {
		t.Fatalf("changes %+v", ch)
	}
	// A chain within one statement maps to the first name; renaming back
	// is no rename.
	ch = h.exec("ALTER TABLE t RENAME COLUMN a1 TO x, RENAME COLUMN x TO y, RENAME COLUMN b2 TO z, RENAME COLUMN z TO b2")
	if len(ch) != 1 || len(ch[0].Renamed) != 1 || ch[0].Renamed["y"] != "a1" {
		t.Fatalf("changes %+v", ch[0].Renamed)
	}
	ch = h.exec("ALTER TABLE t RENAME COLUMN y TO w, RENAME TO t2")
	if len(ch) != 1 || ch[0].Kind != ChangeRename || ch[0].Renamed["w"] != "y" {
		t.Fatalf("changes %+v", ch)
	}
	if ch = h.exec("ALTER TABLE t2 ADD COLUMN q INT"); len(ch) != 1 || ch[0].Renamed != nil {
		t.Fatalf("changes %+v", ch)
	}
}
