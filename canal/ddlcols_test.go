package canal

import (
	"testing"

	"github.com/sluicehq/sluice/canal/schema"
)

func TestCanalDDLColumnDefaults(t *testing.T) {
	for _, c := range []struct {
		col     schema.Column
		want    string
		null    bool
		wantFn  string
		renamed string
	}{
		{col: schema.Column{DataType: "int", Default: ptr("7")}, want: "7"},
		{col: schema.Column{DataType: "int"}, null: true},
		{col: schema.Column{DataType: "bit", Default: ptr("b'101'")}, want: "5"},
		{col: schema.Column{DataType: "varbinary", Default: ptr("\x00\xff")}, want: "AP8="},
		{col: schema.Column{DataType: "timestamp", Default: ptr("2024-01-02 03:04:05.500")}, want: "2024-01-02T03:04:05.500Z"},
		{col: schema.Column{DataType: "timestamp", Default: ptr("0000-00-00 00:00:00")}, want: "0000-00-00 00:00:00"},
		{col: schema.Column{DataType: "timestamp", Default: ptr("current_timestamp(3)")}, null: true, wantFn: "current_timestamp"},
		{col: schema.Column{DataType: "datetime", Default: ptr("CURRENT_TIMESTAMP")}, null: true, wantFn: "current_timestamp"},
	} {
		got, fn := renderDefault(c.col)
		if fn != c.wantFn || (got == nil) != c.null || (got != nil && *got != c.want) {
			t.Errorf("%+v: got %v %q", c.col, got, fn)
		}
	}
	defs := columnDefs(&schema.Table{Columns: []schema.Column{{Name: "a2", ColumnType: "int(11)", Nullable: true}}},
		map[string]string{"a2": "a"})
	if len(defs) != 1 || defs[0].From != "a" || defs[0].Type != "int(11)" || !defs[0].Nullable {
		t.Fatalf("defs %+v", defs)
	}
}
