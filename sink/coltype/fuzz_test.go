package coltype

import (
	"bytes"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fuzzTypes are type strings seeding both fuzz targets.
var fuzzTypes = []string{
	"bigint(20) unsigned", "int(11)", "tinyint(4)", "smallint(5) unsigned", "mediumint", "decimal(12,2)",
	"decimal(65,30)", "decimal(38,10)", "decimal(20,0)", "float", "double", "bit(1)", "bit(8)", "bit(64)", "date",
	"datetime(6)", "datetime", "timestamp(3)", "timestamp", "time(6)", "time", "year(4)", "char(3)",
	"varchar(64)", "text", "binary(16)", "varbinary(10)", "blob", "enum('new','paid','shipped')",
	"set('gift','rush','vip')", "json", "geometry", "point", "int(10) unsigned zerofill", "double precision",
	`enum('it''s','a\\b')`, "point /*!80003 SRID 4326 */", "uuid", "decimal(66,0)", "",
}

func FuzzColtypeParse(f *testing.F) {
	for _, s := range fuzzTypes {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedType) {
				t.Fatalf("Parse(%q): %v does not wrap ErrUnsupportedType", s, err)
			}
			return
		}
		again, err := Parse(typ.String())
		if err != nil || again != typ {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v, %v", s, typ, typ.String(), again, err)
		}
		if typ.Arrow() == nil {
			t.Fatalf("%s has no Arrow type", typ)
		}
		// The implicit default is a value of the type.
		col, err := build(t, memory.NewGoAllocator(), typ, str(ImplicitDefault(typ)))
		if err != nil {
			t.Fatalf("ImplicitDefault(%s) = %q: %v", typ, ImplicitDefault(typ), err)
		}
		col.release()
	})
}

func FuzzColtypeAppend(f *testing.F) {
	for typ, vals := range canonical {
		for _, v := range vals {
			if len(v) < 100 {
				f.Add(typ, v)
			}
		}
	}
	for _, typ := range fuzzTypes {
		for _, v := range []string{"0", "", "-1", "AA==", "1.5", "0000-00-00"} {
			f.Add(typ, v)
		}
	}
	f.Add("decimal(12,2)", "-0.5")
	f.Add("time(6)", "-00:00:00.5")
	f.Add("datetime(3)", "2024-00-00 00:00:00.1")
	f.Fuzz(func(t *testing.T, typStr, s string) {
		typ, err := Parse(typStr)
		if err != nil {
			return
		}
		mem := memory.NewGoAllocator()
		key, keyErr := AppendKey(nil, typ, s)
		col, err := build(t, mem, typ, &s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s %q: %v", typ, s, err)
			}
			if keyErr == nil {
				t.Fatalf("%s %q: AppendKey accepts what Append rejects (%v)", typ, s, err)
			}
			return
		}
		defer col.release()
		if keyErr != nil {
			t.Fatalf("%s %q: Append accepts what AppendKey rejects: %v", typ, s, keyErr)
		}
		formatted, null := typ.FormatWithRaw(col.arr, col.raw, 0)
		if null {
			t.Fatalf("%s %q: formats as NULL", typ, s)
		}
		if arrowKey := AppendKeyArrowWithRaw(nil, typ, col.arr, col.raw, 0); !bytes.Equal(key, arrowKey) {
			t.Fatalf("%s %q: AppendKey %x, AppendKeyArrow %x", typ, s, key, arrowKey)
		}
		again, err := build(t, mem, typ, &formatted)
		if err != nil {
			t.Fatalf("%s %q: Format gave %q, which Append rejects: %v", typ, s, formatted, err)
		}
		defer again.release()
		if f2, _ := typ.FormatWithRaw(again.arr, again.raw, 0); f2 != formatted {
			t.Fatalf("%s %q: Format %q, then %q", typ, s, formatted, f2)
		}
		if k2 := keyOf(t, typ, formatted); !bytes.Equal(k2, key) {
			t.Fatalf("%s %q and its canonical %q have different keys", typ, s, formatted)
		}
	})
}
