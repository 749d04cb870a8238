package canal

import (
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/sluicehq/sluice/canal/schema"
)

// columnDefs describes t for a DDL event (FlatMessage.Columns); renamed
// maps new column names to old ones (schema.Change.Renamed).
func columnDefs(t *schema.Table, renamed map[string]string) []ColumnDef {
	if t == nil {
		return nil
	}
	defs := make([]ColumnDef, len(t.Columns))
	for i, c := range t.Columns {
		d := ColumnDef{Name: c.Name, Type: c.ColumnType, Nullable: c.Nullable, From: renamed[c.Name]}
		d.Default, d.DefaultFn = renderDefault(c)
		defs[i] = d
	}
	return defs
}

// renderDefault turns a column default as the schema history models it
// into the string an event would carry for that value, or names the
// function a default calls.
func renderDefault(c schema.Column) (*string, string) {
	if c.Default == nil {
		return nil, ""
	}
	s := *c.Default
	low := strings.ToLower(s)
	if strings.HasPrefix(low, "current_timestamp") || strings.HasPrefix(low, "now(") ||
		strings.HasPrefix(low, "localtimestamp") || strings.HasPrefix(low, "localtime") {
		return nil, "current_timestamp"
	}
	switch c.DataType {
	case "bit":
		// The history spells BIT defaults b'101'; events carry digits.
		if strings.HasPrefix(s, "b'") && strings.HasSuffix(s, "'") {
			if n, ok := new(big.Int).SetString(s[2:len(s)-1], 2); ok {
				s = n.String()
			}
		}
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		s = base64.StdEncoding.EncodeToString([]byte(s))
	case "timestamp":
		// A literal TIMESTAMP default is taken as UTC (the ingester's
		// sessions run in UTC); the zero timestamp stays as written.
		if len(s) >= 19 && !strings.HasPrefix(s, "0000-00-00") {
			s = s[:10] + "T" + s[11:] + "Z"
		}
	}
	return &s, ""
}
