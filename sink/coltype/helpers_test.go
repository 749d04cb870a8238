package coltype

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// column is one built column: the main array and, for types with a raw
// side column, the raw one.
type column struct {
	arr arrow.Array
	raw *array.String
}

func (c column) release() {
	c.arr.Release()
	if c.raw != nil {
		c.raw.Release()
	}
}

// build appends the values (nil is NULL) to fresh builders of t and
// returns the arrays, or the first Append error.
func build(tb testing.TB, mem memory.Allocator, t Type, vals ...*string) (column, error) {
	tb.Helper()
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	var raw *array.StringBuilder
	if t.HasRaw() {
		raw = array.NewStringBuilder(mem)
		defer raw.Release()
	}
	for _, v := range vals {
		s, null := "", v == nil
		if v != nil {
			s = *v
		}
		if err := t.AppendWithRaw(b, raw, s, null); err != nil {
			return column{}, err
		}
	}
	c := column{arr: b.NewArray()}
	if raw != nil {
		c.raw = raw.NewStringArray()
	}
	return c, nil
}

func str(s string) *string { return &s }

// checkedMem is an allocator that fails the test when memory leaks.
func checkedMem(tb testing.TB) memory.Allocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	tb.Cleanup(func() { mem.AssertSize(tb, 0) })
	return mem
}

func mustParse(tb testing.TB, s string) Type {
	tb.Helper()
	t, err := Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// keyOf is AppendKey of s, failing the test on error.
func keyOf(tb testing.TB, t Type, s string) []byte {
	tb.Helper()
	k, err := AppendKey(nil, t, s)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
