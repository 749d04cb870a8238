package coltype

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sample is one value of an order test: its event string (nil: NULL) and
// a reference value the comparison function understands.
type sample struct {
	s   *string
	ref any
}

// checkKeyOrder encodes every sample of type t, checks that AppendKey and
// AppendKeyArrow agree, and that bytes.Compare of every pair of keys has
// the sign of ref (NULL first).
func checkKeyOrder(t *testing.T, typ Type, samples []sample, ref func(a, b any) int) {
	t.Helper()
	mem := checkedMem(t)
	vals := make([]*string, len(samples))
	for i, s := range samples {
		vals[i] = s.s
	}
	col, err := build(t, mem, typ, vals...)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	defer col.release()
	keys := make([][]byte, len(samples))
	for i, s := range samples {
		keys[i] = AppendNullKey(nil)
		if s.s != nil {
			keys[i] = keyOf(t, typ, *s.s)
		}
		if k := AppendKeyArrowWithRaw(nil, typ, col.arr, col.raw, i); !bytes.Equal(k, keys[i]) {
			t.Fatalf("%s %v: AppendKey %x, AppendKeyArrow %x", typ, show(s.s), keys[i], k)
		}
	}
	for i := range samples {
		for j := range samples {
			want := nullFirst(samples[i], samples[j], ref)
			if got := bytes.Compare(keys[i], keys[j]); got != want {
				t.Fatalf("%s: compare(%v, %v) = %d, want %d (keys %x, %x)", typ, show(samples[i].s),
					show(samples[j].s), got, want, keys[i], keys[j])
			}
		}
	}
}

func nullFirst(a, b sample, ref func(a, b any) int) int {
	switch {
	case a.s == nil && b.s == nil:
		return 0
	case a.s == nil:
		return -1
	case b.s == nil:
		return 1
	}
	return ref(a.ref, b.ref)
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 1))
}

func TestColtypeKeyOrderInts(t *testing.T) {
	r := newRand(t)
	signed := []sample{{}}
	unsigned := []sample{{}}
	for _, x := range []int64{math.MinInt64, math.MaxInt64, 0, -1, 1, math.MinInt64 + 1} {
		signed = append(signed, sample{str(strconv.FormatInt(x, 10)), x})
	}
	for _, x := range []uint64{math.MaxUint64, 0, 1, 1 << 63, 1<<63 - 1} {
		unsigned = append(unsigned, sample{str(strconv.FormatUint(x, 10)), x})
	}
	for range 200 {
		x := int64(r.Uint64()) >> r.IntN(64)
		signed = append(signed, sample{str(strconv.FormatInt(x, 10)), x})
		u := r.Uint64() >> r.IntN(64)
		unsigned = append(unsigned, sample{str(strconv.FormatUint(u, 10)), u})
	}
	checkKeyOrder(t, mustParse(t, "bigint"), signed, func(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) })
	checkKeyOrder(t, mustParse(t, "bigint unsigned"), unsigned, func(a, b any) int { return cmp.Compare(a.(uint64), b.(uint64)) })
	// Narrower columns share the encoding (INT → BIGINT keeps keys).
	if !bytes.Equal(keyOf(t, mustParse(t, "tinyint"), "-5"), keyOf(t, mustParse(t, "bigint"), "-5")) {
		t.Error("tinyint and bigint keys differ")
	}
}

// randDecimal renders a random DECIMAL(p,s) value, often with few digits
// so that equal and close values occur.
func randDecimal(r *rand.Rand, p, s int) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteByte('-')
	}
	intDigits := r.IntN(p - s + 1)
	if r.IntN(2) == 0 {
		intDigits = min(intDigits, 2)
	}
	if intDigits == 0 {
		b.WriteByte('0')
	}
	for i := range intDigits {
		d := r.IntN(10)
		if i == 0 && d == 0 {
			d = 1
		}
		b.WriteByte(byte('0' + d))
	}
	if s > 0 {
		b.WriteByte('.')
		for range s {
			if r.IntN(3) == 0 {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
	}
	return b.String()
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("not a decimal: " + s)
	}
	return r
}

func TestColtypeKeyOrderDecimals(t *testing.T) {
	r := newRand(t)
	for _, ps := range [][2]int{{12, 2}, {18, 0}, {18, 18}, {20, 5}, {38, 10}, {38, 0}, {39, 1}, {65, 30}, {65, 0}} {
		typ := mustParse(t, fmt.Sprintf("decimal(%d,%d)", ps[0], ps[1]))
		samples := []sample{{}}
		extremes := []string{strings.Repeat("9", ps[0]-ps[1]), "0"}
		for _, e := range extremes {
			for _, sign := range []string{"", "-"} {
				v := sign + e
				if ps[1] > 0 {
					v += "." + strings.Repeat("9", ps[1])
				}
				if strings.HasPrefix(v, ".") || strings.HasPrefix(v, "-.") {
					v = strings.Replace(v, ".", "0.", 1)
				}
				samples = append(samples, sample{str(v), rat(v)})
			}
		}
		for range 150 {
			v := randDecimal(r, ps[0], ps[1])
			samples = append(samples, sample{str(v), rat(v)})
		}
		checkKeyOrder(t, typ, samples, func(a, b any) int { return a.(*big.Rat).Cmp(b.(*big.Rat)) })
	}
}

func TestColtypeKeyOrderFloats(t *testing.T) {
	r := newRand(t)
	doubles := []sample{{}}
	floats := []sample{{}}
	for _, f := range []float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		-math.SmallestNonzeroFloat64, 1, -1, 0.1} {
		doubles = append(doubles, sample{str(string(appendFloat(nil, f, 64))), f})
	}
	for len(doubles) < 250 {
		f := math.Float64frombits(r.Uint64())
		if r.IntN(3) == 0 {
			f = float64(r.IntN(7) - 3)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		doubles = append(doubles, sample{str(strconv.FormatFloat(f, 'g', -1, 64)), f})
		f32 := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(f32)) || math.IsInf(float64(f32), 0) {
			continue
		}
		floats = append(floats, sample{str(strconv.FormatFloat(float64(f32), 'g', -1, 32)), float64(f32)})
	}
	ref := func(a, b any) int { return cmp.Compare(a.(float64), b.(float64)) }
	checkKeyOrder(t, mustParse(t, "double"), doubles, ref)
	checkKeyOrder(t, mustParse(t, "float"), floats, ref)
}

func TestColtypeKeyOrderTemporal(t *testing.T) {
	r := newRand(t)
	min, max := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	datetimes := []sample{{}}
	timestamps := []sample{{}}
	dates := []sample{{}}
	for range 200 {
		us := min + r.Int64N(max-min+1)
		if r.IntN(4) == 0 {
			us -= us % 1_000_000 // whole seconds: equal-second neighbours
		}
		tm := time.UnixMicro(us).UTC()
		datetimes = append(datetimes, sample{str(tm.Format("2006-01-02 15:04:05.000000")), us})
		ms := us - us%1000
		timestamps = append(timestamps, sample{str(time.UnixMicro(ms).UTC().Format("2006-01-02T15:04:05.000Z")), ms})
		day := math.Floor(float64(us) / 86400e6)
		dates = append(dates, sample{str(tm.Format("2006-01-02")), int64(day) * 86400e6})
	}
	// Zero dates sort before the year 1; MySQL keeps them out of the real
	// range, so only the zero date itself is compared here.
	datetimes = append(datetimes, sample{str("0000-00-00 00:00:00.000000"), int64(math.MinInt64)})
	timestamps = append(timestamps, sample{str("0000-00-00 00:00:00.000"), int64(math.MinInt64)})
	dates = append(dates, sample{str("0000-00-00"), int64(math.MinInt64)})
	ref := func(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) }
	checkKeyOrder(t, mustParse(t, "datetime(6)"), datetimes, ref)
	checkKeyOrder(t, mustParse(t, "timestamp(3)"), timestamps, ref)
	checkKeyOrder(t, mustParse(t, "date"), dates, ref)

	// Partial-zero dates sort between real ones, where MySQL puts them.
	partial := []sample{{str("2023-12-31"), 0}, {str("2024-00-00"), 1}, {str("2024-00-10"), 2}, {str("2024-01-00"), 3},
		{str("2024-01-01"), 4}, {str("2024-02-29"), 5}, {str("2024-02-30"), 6}, {str("2024-03-01"), 7}, {str("0000-00-00"), -1}}
	checkKeyOrder(t, mustParse(t, "date"), partial, func(a, b any) int { return cmp.Compare(a.(int), b.(int)) })

	times := []sample{{}}
	for _, us := range []int64{-maxTime, maxTime, 0, -1, 1} {
		times = append(times, sample{str(string(appendTime(nil, us, 6))), us})
	}
	for range 200 {
		us := r.Int64N(2*maxTime+1) - maxTime
		neg, a := "", us
		if us < 0 {
			neg, a = "-", -us
		}
		s := fmt.Sprintf("%s%02d:%02d:%02d.%06d", neg, a/3600e6, a/60e6%60, a/1e6%60, a%1e6)
		times = append(times, sample{str(s), us})
	}
	checkKeyOrder(t, mustParse(t, "time(6)"), times, ref)
}

// randText is a short random string over an alphabet rich in the bytes
// the escaping handles.
func randText(r *rand.Rand) string {
	alphabet := []string{"\x00", "\x01", "a", "b", "é", "👍", "\x7f", "\u00ff"}
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func TestColtypeKeyOrderStrings(t *testing.T) {
	r := newRand(t)
	texts := []sample{{}, {str(""), ""}}
	blobs := []sample{{}, {str(""), ""}}
	for range 200 {
		s := randText(r)
		texts = append(texts, sample{str(s), s})
		raw := make([]byte, r.IntN(5))
		for i := range raw {
			raw[i] = []byte{0, 1, 0xff, 'a'}[r.IntN(4)]
		}
		blobs = append(blobs, sample{str(base64.StdEncoding.EncodeToString(raw)), string(raw)})
	}
	ref := func(a, b any) int { return strings.Compare(a.(string), b.(string)) }
	checkKeyOrder(t, mustParse(t, "varchar(10)"), texts, ref)
	checkKeyOrder(t, mustParse(t, "varbinary(10)"), blobs, ref)
}

// TestColtypeKeyOrderComposite encodes tuples column after column and
// compares them with the lexicographic tuple order.
func TestColtypeKeyOrderComposite(t *testing.T) {
	r := newRand(t)
	types := []Type{mustParse(t, "varchar(10)"), mustParse(t, "int"), mustParse(t, "varbinary(4)"), mustParse(t, "decimal(5,2)")}
	type tuple struct {
		text *string
		n    *int64
		bin  *string // raw bytes; the event string is base64
		dec  *string
	}
	gen := func() tuple {
		var tp tuple
		if r.IntN(6) > 0 {
			tp.text = str(randText(r))
		}
		if r.IntN(6) > 0 {
			n := int64(r.IntN(5) - 2)
			tp.n = &n
		}
		if r.IntN(6) > 0 {
			tp.bin = str(randText(r))
		}
		if r.IntN(6) > 0 {
			tp.dec = str(randDecimal(r, 5, 2))
		}
		return tp
	}
	encode := func(tp tuple) []byte {
		var k []byte
		var err error
		if k, err = appendOpt(k, types[0], tp.text); err != nil {
			t.Fatal(err)
		}
		var n *string
		if tp.n != nil {
			n = str(strconv.FormatInt(*tp.n, 10))
		}
		if k, err = appendOpt(k, types[1], n); err != nil {
			t.Fatal(err)
		}
		var bin *string
		if tp.bin != nil {
			bin = str(base64.StdEncoding.EncodeToString([]byte(*tp.bin)))
		}
		if k, err = appendOpt(k, types[2], bin); err != nil {
			t.Fatal(err)
		}
		if k, err = appendOpt(k, types[3], tp.dec); err != nil {
			t.Fatal(err)
		}
		return k
	}
	optCmp := func(a, b *string, c func(x, y string) int) int {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		case b == nil:
			return 1
		}
		return c(*a, *b)
	}
	decCmp := func(x, y string) int {
		a, _ := new(big.Rat).SetString(x)
		b, _ := new(big.Rat).SetString(y)
		return a.Cmp(b)
	}
	ref := func(a, b tuple) int {
		if c := optCmp(a.text, b.text, strings.Compare); c != 0 {
			return c
		}
		var an, bn *string
		if a.n != nil {
			an = str(fmt.Sprintf("%+020d", *a.n+1<<40))
		}
		if b.n != nil {
			bn = str(fmt.Sprintf("%+020d", *b.n+1<<40))
		}
		if c := optCmp(an, bn, strings.Compare); c != 0 {
			return c
		}
		if c := optCmp(a.bin, b.bin, strings.Compare); c != 0 {
			return c
		}
		return optCmp(a.dec, b.dec, decCmp)
	}
	tuples := []tuple{{text: str("a"), bin: str("b")}, {text: str("ab"), bin: str("")}, {text: str("a")}, {}}
	for range 300 {
		tuples = append(tuples, gen())
	}
	keys := make([][]byte, len(tuples))
	for i, tp := range tuples {
		keys[i] = encode(tp)
	}
	for i := range tuples {
		for j := range tuples {
			if got, want := bytes.Compare(keys[i], keys[j]), ref(tuples[i], tuples[j]); got != want {
				t.Fatalf("tuples %d, %d: compare %d, want %d (%x, %x)", i, j, got, want, keys[i], keys[j])
			}
		}
	}
}

func appendOpt(dst []byte, typ Type, s *string) ([]byte, error) {
	if s == nil {
		return AppendNullKey(dst), nil
	}
	return AppendKey(dst, typ, *s)
}

func TestColtypeKeyZeroDatesDistinct(t *testing.T) {
	typ := mustParse(t, "datetime")
	seen := map[string]string{string(AppendNullKey(nil)): "NULL"}
	for _, s := range []string{"0000-00-00 00:00:00", "2024-00-00 00:00:00", "2024-01-00 00:00:00",
		"2024-00-01 00:00:00", "0000-00-00 00:00:01", "2024-02-30 00:00:00", "0000-01-01 00:00:00"} {
		k := string(keyOf(t, typ, s))
		if prev, dup := seen[k]; dup {
			t.Errorf("%q and %q share a key", s, prev)
		}
		seen[k] = s
	}
}

func TestColtypeKeyErrorsKeepDst(t *testing.T) {
	dst := []byte("prefix")
	got, err := AppendKey(dst, mustParse(t, "int"), "x")
	if err == nil || string(got) != "prefix" {
		t.Errorf("AppendKey on error: %q, %v", got, err)
	}
}
