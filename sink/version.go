package sink

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is an event's place in the source's history: the binlog file,
// the start position of the event holding the change and the change's
// index in it. Snapshot rows carry the position the snapshot met the
// stream at and Row -1, so they sort before every binlog change at or
// after it. The sink orders and deduplicates by Version, never by the
// second-resolution timestamps.
type Version struct {
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
	Row  int32  `json:"row"`
}

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v.File == "" && v.Pos == 0 && v.Row == 0 }

func (v Version) String() string { return fmt.Sprintf("%s:%d#%d", v.File, v.Pos, v.Row) }

// Compare orders versions: by binlog file (its numeric extension, so
// binlog.999999 < binlog.1000000), then position, then row.
func (v Version) Compare(o Version) int {
	if c := compareFiles(v.File, o.File); c != 0 {
		return c
	}
	switch {
	case v.Pos < o.Pos:
		return -1
	case v.Pos > o.Pos:
		return 1
	case v.Row < o.Row:
		return -1
	case v.Row > o.Row:
		return 1
	}
	return 0
}

func compareFiles(a, b string) int {
	if a == b {
		return 0
	}
	ab, an, aok := splitFile(a)
	bb, bn, bok := splitFile(b)
	if aok && bok && ab == bb {
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
	}
	return strings.Compare(a, b)
}

// splitFile splits "binlog.000012" into "binlog" and 12.
func splitFile(f string) (string, uint64, bool) {
	i := strings.LastIndexByte(f, '.')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(f[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return f[:i], n, true
}
