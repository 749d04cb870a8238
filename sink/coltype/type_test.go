package coltype

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestColtypeParse(t *testing.T) {
	tests := []struct {
		in, str string
		kind    Kind
		arrow   string
	}{
		{"bigint(20) unsigned", "bigint unsigned", KindInt, "uint64"},
		{"int(11)", "int", KindInt, "int32"},
		{"INT", "int", KindInt, "int32"},
		{"integer(10) UNSIGNED", "int unsigned", KindInt, "uint32"},
		{"tinyint(4)", "tinyint", KindInt, "int8"},
		{"tinyint(1)", "tinyint", KindInt, "int8"},
		{"tinyint(3) unsigned", "tinyint unsigned", KindInt, "uint8"},
		{"smallint(5) unsigned", "smallint unsigned", KindInt, "uint16"},
		{"smallint(6)", "smallint", KindInt, "int16"},
		{"mediumint(9)", "mediumint", KindInt, "int32"},
		{"mediumint(8) unsigned", "mediumint unsigned", KindInt, "uint32"},
		{"int(10) unsigned zerofill", "int unsigned", KindInt, "uint32"},
		{"int(5) zerofill", "int unsigned", KindInt, "uint32"},
		{"bigint signed", "bigint", KindInt, "int64"},
		{"decimal(12,2)", "decimal(12,2)", KindDecimal, "decimal(12, 2)"},
		{"DECIMAL( 12 , 2 )", "decimal(12,2)", KindDecimal, "decimal(12, 2)"},
		{"decimal(65,30)", "decimal(65,30)", KindDecimal, "utf8"},
		{"decimal(38,10)", "decimal(38,10)", KindDecimal, "decimal(38, 10)"},
		{"decimal(39,0)", "decimal(39,0)", KindDecimal, "utf8"},
		{"decimal", "decimal(10,0)", KindDecimal, "decimal(10, 0)"},
		{"numeric(5)", "decimal(5,0)", KindDecimal, "decimal(5, 0)"},
		{"decimal(10,2) unsigned", "decimal(10,2) unsigned", KindDecimal, "decimal(10, 2)"},
		{"float", "float", KindFloat, "float32"},
		{"float(7,3)", "float", KindFloat, "float32"},
		{"float unsigned", "float unsigned", KindFloat, "float32"},
		{"float(30)", "double", KindDouble, "float64"},
		{"double", "double", KindDouble, "float64"},
		{"double precision", "double", KindDouble, "float64"},
		{"double(10,2) unsigned zerofill", "double unsigned", KindDouble, "float64"},
		{"real", "double", KindDouble, "float64"},
		{"bit(1)", "bit(1)", KindBit, "bool"},
		{"bit", "bit(1)", KindBit, "bool"},
		{"bit(8)", "bit(8)", KindBit, "uint64"},
		{"bit(64)", "bit(64)", KindBit, "uint64"},
		{"date", "date", KindDate, "date32"},
		{"datetime(6)", "datetime(6)", KindDatetime, "timestamp[us]"},
		{"datetime", "datetime", KindDatetime, "timestamp[us]"},
		{"datetime(0)", "datetime", KindDatetime, "timestamp[us]"},
		{"timestamp(3)", "timestamp(3)", KindTimestamp, "timestamp[us, tz=UTC]"},
		{"timestamp", "timestamp", KindTimestamp, "timestamp[us, tz=UTC]"},
		{"time(6)", "time(6)", KindTime, "int64"},
		{"time", "time", KindTime, "int64"},
		{"year(4)", "year", KindYear, "int32"},
		{"year", "year", KindYear, "int32"},
		{"year(2)", "year", KindYear, "int32"},
		{"char(3)", "char(3)", KindText, "utf8"},
		{"char", "char(1)", KindText, "utf8"},
		{"varchar(64)", "varchar(64)", KindText, "utf8"},
		{"national varchar(10)", "varchar(10)", KindText, "utf8"},
		{"text", "text", KindText, "utf8"},
		{"text(100)", "text", KindText, "utf8"},
		{"tinytext", "tinytext", KindText, "utf8"},
		{"mediumtext", "mediumtext", KindText, "utf8"},
		{"longtext", "longtext", KindText, "utf8"},
		{"binary(16)", "binary(16)", KindBinary, "binary"},
		{"varbinary(10)", "varbinary(10)", KindBinary, "binary"},
		{"blob", "blob", KindBinary, "binary"},
		{"tinyblob", "tinyblob", KindBinary, "binary"},
		{"longblob", "longblob", KindBinary, "binary"},
		{"enum('new','paid','shipped')", "enum('new','paid','shipped')", KindEnum, "utf8"},
		{"ENUM( 'New' , 'paid' )", "enum('New','paid')", KindEnum, "utf8"},
		{`enum('it''s','a\\b','x,y)')`, `enum('it''s','a\\b','x,y)')`, KindEnum, "utf8"},
		{`enum("dq",'')`, `enum('dq','')`, KindEnum, "utf8"},
		{"set('gift','rush','vip')", "set('gift','rush','vip')", KindSet, "utf8"},
		{"json", "json", KindJSON, "utf8"},
		{"geometry", "geometry", KindGeometry, "binary"},
		{"point", "point", KindGeometry, "binary"},
		{"point /*!80003 SRID 4326 */", "point", KindGeometry, "binary"},
		{"geomcollection", "geomcollection", KindGeometry, "binary"},
		{"  Varchar ( 255 )  ", "varchar(255)", KindText, "utf8"},
	}
	for _, tc := range tests {
		typ, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if typ.String() != tc.str || typ.Kind() != tc.kind || typ.Arrow().String() != tc.arrow {
			t.Errorf("Parse(%q) = %s %s %s, want %s %s %s", tc.in, typ, typ.Kind(), typ.Arrow(),
				tc.str, tc.kind, tc.arrow)
		}
		again, err := Parse(typ.String())
		if err != nil || again != typ {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", typ.String(), again, err, typ)
		}
	}
}

func TestColtypeParseEquality(t *testing.T) {
	// Spellings of one type are one map key.
	seen := map[Type]string{}
	for _, s := range []string{"int(11)", "INT", "integer", "int(10)", "int signed"} {
		seen[mustParse(t, s)] = s
	}
	if len(seen) != 1 {
		t.Errorf("int spellings gave %d types: %v", len(seen), seen)
	}
	if mustParse(t, "int") == mustParse(t, "int unsigned") {
		t.Error("int == int unsigned")
	}
	if mustParse(t, "enum('a','b')") == mustParse(t, "enum('a','c')") {
		t.Error("ENUMs with different elements are equal")
	}
}

func TestColtypeParseAccessors(t *testing.T) {
	d := mustParse(t, "decimal(12,2)")
	if d.Precision() != 12 || d.Scale() != 2 || d.Fsp() != 0 {
		t.Errorf("decimal(12,2): %d %d %d", d.Precision(), d.Scale(), d.Fsp())
	}
	if dt := mustParse(t, "datetime(6)"); dt.Fsp() != 6 || dt.Scale() != 0 || !dt.HasRaw() {
		t.Errorf("datetime(6): fsp %d scale %d raw %v", dt.Fsp(), dt.Scale(), dt.HasRaw())
	}
	if b := mustParse(t, "bit(8)"); b.Bits() != 8 {
		t.Errorf("bit(8): %d bits", b.Bits())
	}
	if m := mustParse(t, "mediumint unsigned"); m.Bits() != 24 || !m.Unsigned() {
		t.Errorf("mediumint unsigned: %d bits, unsigned %v", m.Bits(), m.Unsigned())
	}
	if b := mustParse(t, "binary(16)"); b.Length() != 16 || b.Name() != "binary" {
		t.Errorf("binary(16): length %d name %s", b.Length(), b.Name())
	}
	e := mustParse(t, `enum('it''s','a\\b')`)
	if got := e.Elems(); len(got) != 2 || got[0] != "it's" || got[1] != `a\b` {
		t.Errorf("Elems = %q", got)
	}
}

func TestColtypeParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "   ", "uuid", "inet6", "vector(3)", "int(", "int(11", "int(x)", "int(256)", "int(1,2)",
		"decimal(66,0)", "decimal(0)", "decimal(10,31)", "decimal(5,6)", "decimal(1,2,3)",
		"float(54)", "double(10)", "bit(0)", "bit(65)", "datetime(7)", "time(9)", "year(3)",
		"char(256)", "varchar(65536)", "date(1)", "json(1)", "varchar(10) unsigned", "date unsigned",
		"int unsigned foo", "enum", "enum()", "enum(a)", "enum('a'", "enum('a',)", "set('a'",
		"point /* open", "int(99999999999)", "timestamp(3) with time zone",
		"set(" + strings.Repeat("'x',", 64) + "'y')",
	} {
		typ, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", in, typ)
			continue
		}
		if !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), strings.TrimSpace(in)[:min(10, len(strings.TrimSpace(in)))]) {
			t.Errorf("Parse(%q): error %q does not wrap ErrUnsupportedType or name the type", in, err)
		}
	}
}

func TestColtypeFields(t *testing.T) {
	f := mustParse(t, "date").Fields("ship_date", false)
	if len(f) != 2 || f[0].Name != "ship_date" || !f[0].Nullable || f[1].Name != "ship_date_raw" ||
		!arrow.TypeEqual(f[1].Type, arrow.BinaryTypes.String) {
		t.Errorf("date fields: %v", f)
	}
	f = mustParse(t, "time(6)").Fields("dur", false)
	if len(f) != 1 || f[0].Nullable {
		t.Errorf("time fields: %v", f)
	}
	if unit, ok := f[0].Metadata.GetValue(MetaUnit); !ok || unit != "us" {
		t.Errorf("time unit metadata: %v", f[0].Metadata)
	}
	if typ, _ := f[0].Metadata.GetValue(MetaMySQLType); typ != "time(6)" {
		t.Errorf("time type metadata: %v", f[0].Metadata)
	}
}

func TestColtypeImplicitDefault(t *testing.T) {
	tests := map[string]string{
		"int": "0", "bigint unsigned": "0", "decimal(12,2)": "0.00", "decimal(10,0)": "0",
		"float": "0", "double": "0", "bit(1)": "0", "bit(8)": "0", "year": "0",
		"date": "0000-00-00", "datetime": "0000-00-00 00:00:00", "datetime(6)": "0000-00-00 00:00:00.000000",
		"timestamp(3)": "0000-00-00 00:00:00.000", "time": "00:00:00", "time(2)": "00:00:00.00",
		"char(3)": "", "varchar(64)": "", "text": "", "enum('new','paid')": "new", "enum('it''s')": "it's",
		"set('a','b')": "", "json": "null", "binary(4)": "AAAAAA==", "varbinary(4)": "", "blob": "",
		"point": "",
	}
	mem := checkedMem(t)
	for typStr, want := range tests {
		typ := mustParse(t, typStr)
		got := ImplicitDefault(typ)
		if got != want {
			t.Errorf("ImplicitDefault(%s) = %q, want %q", typ, got, want)
		}
		col, err := build(t, mem, typ, &got)
		if err != nil {
			t.Errorf("ImplicitDefault(%s) = %q is not accepted: %v", typ, got, err)
			continue
		}
		if s, null := typ.FormatWithRaw(col.arr, col.raw, 0); null || s != got {
			t.Errorf("ImplicitDefault(%s): Format = %q, %v", typ, s, null)
		}
		col.release()
	}
}
