package coltype

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors callers branch on; every error of this package wraps one of them
// and names the type (and, for a value, the value, cut short).
var (
	// ErrUnsupportedType: Parse does not know the type string.
	ErrUnsupportedType = errors.New("unsupported column type")
	// ErrInvalid: an event string is not a value of the column's type.
	ErrInvalid = errors.New("invalid value")
	// ErrBuilder: the builder (or raw builder) is not one for Arrow().
	ErrBuilder = errors.New("wrong builder")
)

// Kind is the family of a column type: it decides the Arrow type, the event
// string syntax and the key encoding.
type Kind uint8

// Kinds. KindInvalid is the zero Type's kind.
const (
	KindInvalid   Kind = iota
	KindInt            // TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT
	KindDecimal        // DECIMAL(p,s)
	KindFloat          // FLOAT
	KindDouble         // DOUBLE
	KindBit            // BIT(n)
	KindDate           // DATE
	KindDatetime       // DATETIME(fsp)
	KindTimestamp      // TIMESTAMP(fsp)
	KindTime           // TIME(fsp)
	KindYear           // YEAR
	KindText           // CHAR, VARCHAR, TINYTEXT…LONGTEXT
	KindEnum           // ENUM
	KindSet            // SET
	KindJSON           // MySQL's native JSON (MariaDB's JSON is LONGTEXT)
	KindBinary         // BINARY, VARBINARY, TINYBLOB…LONGBLOB
	KindGeometry       // GEOMETRY, POINT, … (SRID + WKB)
)

var kindNames = [...]string{"invalid", "int", "decimal", "float", "double", "bit", "date", "datetime",
	"timestamp", "time", "year", "text", "enum", "set", "json", "binary", "geometry"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Type is a parsed column type. It is a small comparable value: two
// spellings of one type ("INT(11)" and "int", "bigint(20) unsigned
// zerofill" and "bigint unsigned") parse to equal Types. The zero Type is
// invalid.
type Type struct {
	name     string // canonical base name ("bigint", "varchar", "point")
	kind     Kind
	unsigned bool
	bits     uint8 // integer storage width (8, 16, 24, 32, 64); BIT length 1…64
	prec     uint8 // DECIMAL precision 1…65
	scale    uint8 // DECIMAL scale 0…30; fsp 0…6 of TIME, DATETIME, TIMESTAMP
	length   uint32
	elems    string // ENUM/SET elements, quoted and comma-joined as information_schema spells them
}

// Kind returns the type's family.
func (t Type) Kind() Kind { return t.kind }

// Name returns the base type name in lower case: "bigint", "varchar",
// "longblob", "point".
func (t Type) Name() string { return t.name }

// Unsigned reports an UNSIGNED (or ZEROFILL) numeric type.
func (t Type) Unsigned() bool { return t.unsigned }

// Precision returns DECIMAL's precision (total digits), else 0.
func (t Type) Precision() int { return int(t.prec) }

// Scale returns DECIMAL's scale (fraction digits), else 0.
func (t Type) Scale() int {
	if t.kind != KindDecimal {
		return 0
	}
	return int(t.scale)
}

// Fsp returns the fractional-second precision of TIME, DATETIME and
// TIMESTAMP, else 0.
func (t Type) Fsp() int {
	switch t.kind {
	case KindTime, KindDatetime, KindTimestamp:
		return int(t.scale)
	}
	return 0
}

// Bits returns BIT's length, or an integer type's storage width in bits
// (MEDIUMINT: 24), else 0.
func (t Type) Bits() int { return int(t.bits) }

// Length returns the declared length of CHAR, VARCHAR, BINARY and
// VARBINARY (0 when none was given), else 0.
func (t Type) Length() int { return int(t.length) }

// Elems returns the elements of an ENUM or SET in declaration order.
func (t Type) Elems() []string {
	if t.elems == "" {
		return nil
	}
	elems, _, err := parseElems(t.elems + ")")
	if err != nil {
		return nil // unreachable: elems was built by parseElems
	}
	return elems
}

// String spells the type canonically, like information_schema's
// COLUMN_TYPE without display widths: "bigint unsigned", "decimal(12,2)",
// "datetime(6)", "enum('a','b')". Parse(t.String()) == t.
func (t Type) String() string {
	if t.kind == KindInvalid {
		return "invalid"
	}
	var b strings.Builder
	b.WriteString(t.name)
	switch t.kind {
	case KindDecimal:
		fmt.Fprintf(&b, "(%d,%d)", t.prec, t.scale)
	case KindBit:
		fmt.Fprintf(&b, "(%d)", t.bits)
	case KindDatetime, KindTimestamp, KindTime:
		if t.scale > 0 {
			fmt.Fprintf(&b, "(%d)", t.scale)
		}
	case KindText, KindBinary:
		if hasLength(t.name) && t.length > 0 {
			fmt.Fprintf(&b, "(%d)", t.length)
		}
	case KindEnum, KindSet:
		b.WriteString("(" + t.elems + ")")
	}
	if t.unsigned {
		b.WriteString(" unsigned")
	}
	return b.String()
}

func hasLength(name string) bool {
	switch name {
	case "char", "varchar", "binary", "varbinary":
		return true
	}
	return false
}

// HasRaw reports whether the column has a raw side column: DATE, DATETIME
// and TIMESTAMP, whose zero and invalid dates are NULL in the main column
// and kept as text in the raw one (see the package doc).
func (t Type) HasRaw() bool {
	switch t.kind {
	case KindDate, KindDatetime, KindTimestamp:
		return true
	}
	return false
}

// invalid is an ErrInvalid naming the type and the value.
func (t Type) invalid(s, why string) error {
	return fmt.Errorf("%s: %w %s: %s", t, ErrInvalid, brief(s), why)
}

// brief quotes s for an error message, cut short: a blob may be megabytes.
func brief(s string) string {
	const max = 48
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return strconv.Quote(s)
}
