package values

import (
	"strings"

	"github.com/sluicehq/sluice/canal/schema"
)

// enumBinlog renders an ENUM from go-mysql's index: 1-based into
// col.Elems, 0 for the empty value MySQL stores for an invalid one.
func enumBinlog(col *schema.Column, v any) (string, error) {
	i, ok := v.(int64)
	if !ok {
		return "", invalid(col, v, "not an ENUM index")
	}
	if i == 0 {
		return "", nil
	}
	if i < 0 || i > int64(len(col.Elems)) {
		return "", invalid(col, v, "index beyond the %d elements of the schema", len(col.Elems))
	}
	return col.Elems[i-1], nil
}

// setBinlog renders a SET from go-mysql's bitmask: bit i is col.Elems[i];
// elements are joined with commas in declaration order, as MySQL displays
// them.
func setBinlog(col *schema.Column, v any) (string, error) {
	i, ok := v.(int64)
	if !ok {
		return "", invalid(col, v, "not a SET bitmask")
	}
	bits := uint64(i)
	if n := len(col.Elems); n < 64 && bits>>n != 0 {
		return "", invalid(col, v, "bits beyond the %d elements of the schema", n)
	}
	var first string
	count, size := 0, 0
	for j := 0; bits>>j != 0 && j < 64; j++ {
		if bits&(1<<j) != 0 {
			if count == 0 {
				first = col.Elems[j]
			}
			count++
			size += len(col.Elems[j]) + 1
		}
	}
	if count <= 1 {
		return first, nil
	}
	var sb strings.Builder
	sb.Grow(size - 1)
	for j := 0; bits>>j != 0 && j < 64; j++ {
		if bits&(1<<j) != 0 {
			if sb.Len() > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(col.Elems[j])
		}
	}
	return sb.String(), nil
}

// enumSnapshot renders the server's ENUM text, which must be "" or one of
// col.Elems: a value the binlog path could not produce is an error here too.
func enumSnapshot(col *schema.Column, raw []byte) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	for _, e := range col.Elems {
		if e == string(raw) {
			return e, nil
		}
	}
	return "", invalid(col, raw, "not one of the %d elements of the schema", len(col.Elems))
}

// setSnapshot renders the server's SET text: elements of col.Elems, comma
// separated, in declaration order.
func setSnapshot(col *schema.Column, raw []byte) (string, error) {
	s := string(raw)
	if s == "" {
		return "", nil
	}
	next := 0
	for rest := s; ; {
		part, tail, more := strings.Cut(rest, ",")
		for next < len(col.Elems) && col.Elems[next] != part {
			next++
		}
		if next == len(col.Elems) {
			return "", invalid(col, raw, "not elements of the schema's SET in declaration order")
		}
		next++
		if !more {
			return s, nil
		}
		rest = tail
	}
}
