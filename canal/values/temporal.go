package values

import (
	"strconv"
	"time"

	"github.com/sluicehq/sluice/canal/schema"
)

// dateTime is a DATE/DATETIME/TIMESTAMP as MySQL writes it: the fields may
// be zero ("0000-00-00", "2024-00-00"), which time.Time cannot hold.
type dateTime struct {
	year, month, day, hour, minute, second int
	micro                                  int // microseconds
}

// pow10 are the divisors that cut microseconds to fsp digits.
var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000}

// parseDateTime parses "YYYY-MM-DD", or with withTime
// "YYYY-MM-DD hh:mm:ss[.f…]" (1 to 6 fraction digits). Fields are checked
// against MySQL's ranges, zeros allowed.
func parseDateTime(s string, withTime bool) (dateTime, bool) {
	var d dateTime
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return d, false
	}
	var ok1, ok2, ok3 bool
	d.year, ok1 = digits(s[0:4])
	d.month, ok2 = digits(s[5:7])
	d.day, ok3 = digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || d.month > 12 || d.day > 31 {
		return d, false
	}
	if !withTime {
		return d, len(s) == 10
	}
	if len(s) < 19 || s[10] != ' ' && s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return d, false
	}
	d.hour, ok1 = digits(s[11:13])
	d.minute, ok2 = digits(s[14:16])
	d.second, ok3 = digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || d.hour > 23 || d.minute > 59 || d.second > 59 {
		return d, false
	}
	micro, ok := fraction(s[19:])
	d.micro = micro
	return d, ok
}

// fraction parses "" or ".f…" (1 to 6 digits) into microseconds.
func fraction(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != '.' || len(s) < 2 || len(s) > 7 {
		return 0, false
	}
	n, ok := digits(s[1:])
	if !ok {
		return 0, false
	}
	return n * pow10[7-len(s)], true
}

// digits parses a non-empty run of ASCII digits (at most 9).
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func (d dateTime) isZero() bool {
	return d == dateTime{}
}

// appendDate appends YYYY-MM-DD.
func (d dateTime) appendDate(b []byte) []byte {
	b = appendPadded(b, d.year, 4)
	b = append(b, '-')
	b = appendPadded(b, d.month, 2)
	b = append(b, '-')
	return appendPadded(b, d.day, 2)
}

// appendDateTime appends YYYY-MM-DD<sep>hh:mm:ss[.f…] with fsp digits.
func (d dateTime) appendDateTime(b []byte, sep byte, fsp int) []byte {
	b = d.appendDate(b)
	b = append(b, sep)
	return appendClock(b, d.hour, d.minute, d.second, d.micro, fsp)
}

// appendClock appends hh:mm:ss[.f…] with fsp digits (hours may be wider).
func appendClock(b []byte, hour, minute, second, micro, fsp int) []byte {
	b = appendPadded(b, hour, 2)
	b = append(b, ':')
	b = appendPadded(b, minute, 2)
	b = append(b, ':')
	b = appendPadded(b, second, 2)
	return appendFraction(b, micro, fsp)
}

// appendFraction appends "." and the first fsp digits of micro (none for
// fsp 0).
func appendFraction(b []byte, micro, fsp int) []byte {
	if fsp <= 0 {
		return b
	}
	b = append(b, '.')
	return appendPadded(b, micro/pow10[6-fsp], fsp)
}

// appendPadded appends n in decimal, zero-padded to width.
func appendPadded(b []byte, n, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// checkFsp rejects a temporal column whose fsp (Scale) is not 0…6: the
// renderers index by it.
func checkFsp(col *schema.Column) error {
	if col.Scale < 0 || col.Scale > 6 {
		return Check(col)
	}
	return nil
}

// fits reports whether micro has no digits beyond fsp: nothing is rounded
// away silently (a mismatch means the schema's fsp is not the event's).
func fits(micro, fsp int) bool {
	return fsp >= 0 && fsp <= 6 && micro%pow10[6-fsp] == 0
}

// fromTime is the wall-clock fields of t.
func fromTime(t time.Time) dateTime {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return dateTime{year: y, month: int(mo), day: d, hour: h, minute: mi, second: s, micro: t.Nanosecond() / 1000}
}

// dateValue renders a DATE from text (go-mysql's or the server's).
func dateValue(col *schema.Column, v any, s string) (string, error) {
	// parseDateTime takes fixed-width fields only, so s is already in the
	// rendered form.
	if _, ok := parseDateTime(s, false); !ok {
		return "", invalid(col, v, "not a DATE")
	}
	return s, nil
}

// datetimeText renders a DATETIME given as text with exactly fsp digits.
func datetimeText(col *schema.Column, v any, s string) (string, error) {
	d, ok := parseDateTime(s, true)
	if !ok {
		return "", invalid(col, v, "not a DATETIME")
	}
	return datetimeFields(col, v, d)
}

func datetimeFields(col *schema.Column, v any, d dateTime) (string, error) {
	if d.year < 0 || d.year > 9999 || !fits(d.micro, col.Scale) {
		return "", invalid(col, v, "not a DATETIME(%d)", col.Scale)
	}
	var buf [32]byte
	return string(d.appendDateTime(buf[:0], ' ', col.Scale)), nil
}

// datetimeValue renders a DATETIME from go-mysql: a time.Time (ParseTime;
// its wall clock, go-mysql builds it in UTC) or text (before 1970, zero
// month or day, or ParseTime off).
func datetimeValue(col *schema.Column, v any) (string, error) {
	switch t := v.(type) {
	case time.Time:
		return datetimeFields(col, v, fromTime(t))
	case string:
		return datetimeText(col, v, t)
	}
	return "", invalid(col, v, "not a DATETIME")
}

// timestampValue renders a TIMESTAMP from go-mysql: a time.Time (the
// instant, in whatever zone) or the zero timestamp's text.
func timestampValue(col *schema.Column, v any) (string, error) {
	switch t := v.(type) {
	case time.Time:
		return instant(col, v, t)
	case string:
		d, ok := parseDateTime(t, true)
		if !ok || !d.isZero() {
			return "", invalid(col, v, "TIMESTAMP arrived as text: configure the binlog syncer with SyncerSettings (ParseTime)")
		}
		return zeroTimestamp(col.Scale), nil
	}
	return "", invalid(col, v, "not a TIMESTAMP")
}

// instant renders a TIMESTAMP's instant in UTC: YYYY-MM-DDThh:mm:ss[.f…]Z.
func instant(col *schema.Column, v any, t time.Time) (string, error) {
	d := fromTime(t.UTC())
	if d.year < 1 || d.year > 9999 || !fits(d.micro, col.Scale) || t.Nanosecond()%1000 != 0 {
		return "", invalid(col, v, "not a TIMESTAMP(%d)", col.Scale)
	}
	var buf [40]byte
	b := d.appendDateTime(buf[:0], 'T', col.Scale)
	return string(append(b, 'Z')), nil
}

// zeroTimestamp is the zero TIMESTAMP as MySQL displays it.
func zeroTimestamp(fsp int) string {
	var buf [32]byte
	return string(dateTime{}.appendDateTime(buf[:0], ' ', fsp))
}

// parseUnixTime parses UNIX_TIMESTAMP()'s text: seconds, optionally "." and
// 1 to 6 fraction digits.
func parseUnixTime(s string) (sec int64, micro int, ok bool) {
	dot := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot == 0 || dot > 12 {
		return 0, 0, false
	}
	for i := 0; i < dot; i++ {
		if !isDigit(s[i]) {
			return 0, 0, false
		}
		sec = sec*10 + int64(s[i]-'0')
	}
	micro, ok = fraction(s[dot:])
	return sec, micro, ok
}

// timestampSnapshot renders UNIX_TIMESTAMP(col)'s text: 0 is the zero
// timestamp, anything else an instant.
func timestampSnapshot(col *schema.Column, raw []byte) (string, error) {
	sec, micro, ok := parseUnixTime(string(raw))
	if !ok {
		return "", invalid(col, raw, "not UNIX_TIMESTAMP() text")
	}
	if sec == 0 && micro == 0 {
		return zeroTimestamp(col.Scale), nil
	}
	return instant(col, raw, time.Unix(sec, int64(micro)*1000))
}

// duration is a TIME value: sign and magnitude.
type duration struct {
	neg                  bool
	hour, minute, second int
	micro                int
}

// maxTimeHours bounds TIME: MySQL's range is ±838:59:59.999999.
const maxTimeHours = 838

// parseTime parses "[-]h…:mm:ss[.f…]" (hours 0 to 838, 1 to 6 fraction
// digits).
func parseTime(s string) (duration, bool) {
	var t duration
	if s != "" && s[0] == '-' {
		t.neg = true
		s = s[1:]
	}
	colon := 0
	for colon < len(s) && s[colon] != ':' {
		colon++
	}
	if colon == 0 || colon > 3 || len(s) < colon+6 || s[colon+3] != ':' {
		return t, false
	}
	var ok1, ok2, ok3 bool
	t.hour, ok1 = digits(s[:colon])
	t.minute, ok2 = digits(s[colon+1 : colon+3])
	t.second, ok3 = digits(s[colon+4 : colon+6])
	if !ok1 || !ok2 || !ok3 || t.hour > maxTimeHours || t.minute > 59 || t.second > 59 {
		return t, false
	}
	micro, ok := fraction(s[colon+6:])
	t.micro = micro
	if t.hour == 0 && t.minute == 0 && t.second == 0 && t.micro == 0 {
		t.neg = false
	}
	return t, ok
}

// appendTime appends [-]hh:mm:ss[.f…] with fsp digits.
func (t duration) appendTime(b []byte, fsp int) []byte {
	if t.neg {
		b = append(b, '-')
	}
	return appendClock(b, t.hour, t.minute, t.second, t.micro, fsp)
}

// timeText renders a TIME given as text (go-mysql's or the server's) with
// exactly fsp digits.
func timeText(col *schema.Column, v any, s string) (string, error) {
	t, ok := parseTime(s)
	if !ok || !fits(t.micro, col.Scale) {
		return "", invalid(col, v, "not a TIME(%d)", col.Scale)
	}
	var buf [32]byte
	out := t.appendTime(buf[:0], col.Scale)
	if string(out) == s {
		return s, nil
	}
	return string(out), nil
}

// yearValue renders YEAR: 0 or 1901…2155.
func yearValue(col *schema.Column, v any, y int64) (string, error) {
	if y != 0 && (y < 1901 || y > 2155) {
		return "", invalid(col, v, "not a YEAR")
	}
	return strconv.FormatInt(y, 10), nil
}

// yearBinlog renders go-mysql's YEAR (an int: 0, or the year).
func yearBinlog(col *schema.Column, v any) (string, error) {
	switch y := v.(type) {
	case int:
		return yearValue(col, v, int64(y))
	case int64:
		return yearValue(col, v, y)
	case int32:
		return yearValue(col, v, int64(y))
	case int16:
		return yearValue(col, v, int64(y))
	case uint16:
		return yearValue(col, v, int64(y))
	}
	return "", invalid(col, v, "not a YEAR")
}

// yearSnapshot renders the server's YEAR text ("0000", "1901"; the binary
// protocol sends a number, "0").
func yearSnapshot(col *schema.Column, raw []byte) (string, error) {
	y, ok := digits(string(raw))
	if !ok || len(raw) > 4 {
		return "", invalid(col, raw, "not a YEAR")
	}
	return yearValue(col, raw, int64(y))
}
