package position

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Flavors of source server; they decide how a GTID set is written.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
)

// firstEventPos is the offset of the first event of every binlog file,
// after the 4-byte magic number.
const firstEventPos = 4

// Position is where to resume reading the binlog.
type Position struct {
	// Flavor is FlavorMariaDB or FlavorMySQL; it may be "" only when
	// GTIDSet is empty.
	Flavor string `json:"flavor"`
	// File is the binlog file name (binlog.000003); "" for a GTID-only
	// position.
	File string `json:"file"`
	// Pos is the offset in File where the next event to read starts.
	Pos uint32 `json:"pos"`
	// GTIDSet is the executed GTID set: MariaDB "0-1-100,1-2-7" (one
	// GTID per domain), MySQL "uuid:1-100,…"; it may be empty.
	GTIDSet string `json:"gtid_set"`
	// Timestamp is the event time of the last included event, in unix
	// seconds; 0 when unknown.
	Timestamp uint32 `json:"timestamp"`
}

// IsZero reports whether p names no place in the binlog: no file, offset
// or GTID set.
func (p Position) IsZero() bool { return p.File == "" && p.Pos == 0 && p.GTIDSet == "" }

// String renders p for logs and operators: "binlog.000003:1234",
// "mariadb-gtid:0-1-100", "binlog.000003:1234 (gtid 0-1-100)", or "none".
// Parse accepts the first two forms back.
func (p Position) String() string {
	switch {
	case p.IsZero():
		return "none"
	case p.File == "" && p.Pos == 0:
		return gtidPrefix(p.Flavor) + p.GTIDSet
	case p.GTIDSet == "":
		return p.File + ":" + strconv.FormatUint(uint64(p.Pos), 10)
	default:
		return fmt.Sprintf("%s:%d (gtid %s)", p.File, p.Pos, p.GTIDSet)
	}
}

func gtidPrefix(flavor string) string {
	if flavor == "" {
		return "gtid:"
	}
	return flavor + "-gtid:"
}

// Validate checks that p is a position a server accepts: a binlog file
// with an offset of at least 4 (offset 0 is a fake ROTATE event's and
// fails with error 1236), or a GTID set of p.Flavor, or both.
func (p Position) Validate() error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("invalid position %s: %w", p, err)
	}
	return nil
}

func (p Position) validate() error {
	if p.IsZero() {
		return errors.New("neither a binlog file and offset nor a GTID set")
	}
	switch p.Flavor {
	case "", FlavorMariaDB, FlavorMySQL:
	default:
		return fmt.Errorf("unknown flavor %q (want mariadb or mysql)", p.Flavor)
	}
	if p.File == "" {
		if p.Pos != 0 {
			return fmt.Errorf("offset %d without a binlog file", p.Pos)
		}
	} else if err := checkFilePos(p.File, p.Pos); err != nil {
		return err
	}
	if p.GTIDSet != "" {
		if p.Flavor == "" {
			return fmt.Errorf("GTID set %q without a flavor (mariadb or mysql)", p.GTIDSet)
		}
		if _, err := NormalizeGTIDSet(p.Flavor, p.GTIDSet); err != nil {
			return err
		}
	}
	return nil
}

// checkFilePos checks a binlog file name and an offset in it.
func checkFilePos(file string, pos uint32) error {
	if err := checkFileName(file); err != nil {
		return err
	}
	switch {
	case pos == 0:
		return errors.New("offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4")
	case pos < firstEventPos:
		return fmt.Errorf("offset %d is inside the file header; events start at 4", pos)
	}
	return nil
}

// checkFileName accepts what servers write: a base name, a dot and a
// numeric sequence (binlog.000003, mysql-bin.1000000).
func checkFileName(file string) error {
	if file == "" {
		return errors.New("empty binlog file name")
	}
	if len(file) > 255 {
		return fmt.Errorf("binlog file name of %d bytes (at most 255)", len(file))
	}
	for _, r := range file {
		if r <= ' ' || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return fmt.Errorf("binlog file name %q contains %q", file, r)
		}
	}
	if _, seq := splitFileName(file); seq == "" {
		return fmt.Errorf("binlog file name %q has no numeric suffix (e.g. binlog.000003)", file)
	}
	return nil
}

// splitFileName splits binlog.000003 into "binlog" and "000003"; seq is ""
// when the name does not end in a dot and digits.
func splitFileName(file string) (base, seq string) {
	i := strings.LastIndexByte(file, '.')
	if i < 0 || i == len(file)-1 {
		return file, ""
	}
	for _, c := range file[i+1:] {
		if c < '0' || c > '9' {
			return file, ""
		}
	}
	return file[:i], file[i+1:]
}

// CompareFiles orders binlog file names as the server creates them: by
// base name, then by the numeric value of the suffix (binlog.000009 <
// binlog.000010 < binlog.1000000). "" sorts first; names without a numeric
// suffix compare as plain strings.
func CompareFiles(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" || b == "" {
		return boolCompare(b == "", a == "")
	}
	aBase, aSeq := splitFileName(a)
	bBase, bSeq := splitFileName(b)
	if aSeq == "" || bSeq == "" {
		return strings.Compare(a, b)
	}
	if c := strings.Compare(aBase, bBase); c != 0 {
		return c
	}
	aSeq, bSeq = strings.TrimLeft(aSeq, "0"), strings.TrimLeft(bSeq, "0")
	if len(aSeq) != len(bSeq) {
		return boolCompare(len(aSeq) > len(bSeq), len(aSeq) < len(bSeq))
	}
	return strings.Compare(aSeq, bSeq)
}

func boolCompare(greater, less bool) int {
	switch {
	case greater:
		return 1
	case less:
		return -1
	}
	return 0
}

// Compare orders p and o by binlog file (CompareFiles), then offset: -1 if
// p is before o, 0 if equal, +1 if after. GTID sets are not compared, so
// GTID-only positions compare equal.
func (p Position) Compare(o Position) int {
	if c := CompareFiles(p.File, o.File); c != 0 {
		return c
	}
	return boolCompare(p.Pos > o.Pos, p.Pos < o.Pos)
}

// Parse reads a position an operator typed: FILE:POS (binlog.000003:1234)
// or a GTID set with a prefix: gtid:SET (flavor detected),
// mariadb-gtid:SET or mysql-gtid:SET. The GTID set comes back normalized
// (NormalizeGTIDSet).
func Parse(s string) (Position, error) {
	p, err := parse(strings.TrimSpace(s))
	if err != nil {
		return Position{}, fmt.Errorf("position %q: %w", s, err)
	}
	return p, nil
}

func parse(s string) (Position, error) {
	if s == "" {
		return Position{}, errors.New("empty: want FILE:POS (e.g. binlog.000003:1234) or gtid:SET")
	}
	if prefix, set, ok := strings.Cut(s, ":"); ok {
		switch strings.ToLower(prefix) {
		case "gtid":
			flavor, err := DetectGTIDFlavor(set)
			if err != nil {
				return Position{}, err
			}
			return gtidPosition(flavor, set)
		case "mariadb-gtid":
			return gtidPosition(FlavorMariaDB, set)
		case "mysql-gtid":
			return gtidPosition(FlavorMySQL, set)
		}
		if strings.HasSuffix(strings.ToLower(prefix), "gtid") {
			return Position{}, fmt.Errorf("unknown prefix %q (want gtid:, mariadb-gtid: or mysql-gtid:)", prefix+":")
		}
	}
	if _, err := DetectGTIDFlavor(s); err == nil {
		return Position{}, fmt.Errorf("a GTID set needs the gtid: prefix (gtid:%s)", s)
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Position{}, fmt.Errorf("missing :POS (e.g. %s:4)", s)
	}
	file, num := s[:i], s[i+1:]
	if file == "" {
		return Position{}, errors.New("empty binlog file name")
	}
	pos, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return Position{}, fmt.Errorf("POS %s is out of range (at most 4294967295)", num)
		}
		return Position{}, fmt.Errorf("POS %q is not a number", num)
	}
	if err := checkFilePos(file, uint32(pos)); err != nil {
		return Position{}, err
	}
	return Position{File: file, Pos: uint32(pos)}, nil
}

func gtidPosition(flavor, set string) (Position, error) {
	norm, err := NormalizeGTIDSet(flavor, set)
	if err != nil {
		return Position{}, err
	}
	return Position{Flavor: flavor, GTIDSet: norm}, nil
}
