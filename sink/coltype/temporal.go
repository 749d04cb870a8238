package coltype

import "strconv"

// civil is a DATE/DATETIME/TIMESTAMP as MySQL writes it: fields may be zero
// ("0000-00-00", "2024-00-10") or out of the month ("2024-02-30" under
// ALLOW_INVALID_DATES), which no day count can hold.
type civil struct {
	year, month, day, hour, minute, second int
	micro                                  int // microseconds
}

// pow10 are the divisors that cut microseconds to fsp digits.
var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000}

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// twoDigits parses exactly two ASCII digits.
func twoDigits(s string) (int, bool) {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// parseDate parses "YYYY-MM-DD" with MySQL's field ranges, zeros allowed.
func parseDate(s string) (civil, bool) {
	var c civil
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return c, false
	}
	y1, ok1 := twoDigits(s[0:2])
	y2, ok2 := twoDigits(s[2:4])
	m, ok3 := twoDigits(s[5:7])
	d, ok4 := twoDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || m > 12 || d > 31 {
		return c, false
	}
	c.year, c.month, c.day = y1*100+y2, m, d
	return c, true
}

// parseDateTime parses "YYYY-MM-DD<sep>hh:mm:ss[.f…]" (1 to 6 fraction
// digits) and reports the fraction's digit count.
func parseDateTime(s string, sep byte) (civil, bool) {
	if len(s) < 19 || s[10] != sep || s[13] != ':' || s[16] != ':' {
		return civil{}, false
	}
	c, ok := parseDate(s[:10])
	if !ok {
		return c, false
	}
	var ok1, ok2, ok3 bool
	c.hour, ok1 = twoDigits(s[11:13])
	c.minute, ok2 = twoDigits(s[14:16])
	c.second, ok3 = twoDigits(s[17:19])
	if !ok1 || !ok2 || !ok3 || c.hour > 23 || c.minute > 59 || c.second > 59 {
		return c, false
	}
	c.micro, ok = fraction(s[19:])
	return c, ok
}

// fraction parses "" or ".f…" (1 to 6 digits) into microseconds.
func fraction(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != '.' || len(s) < 2 || len(s) > 7 {
		return 0, false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n * pow10[7-len(s)], true
}

// fits reports whether micro has no digits beyond fsp: nothing is rounded.
func fits(micro, fsp int) bool {
	return micro%pow10[6-fsp] == 0
}

// valid reports a real calendar date (month 1…12, day within the month).
func (c civil) valid() bool {
	return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= daysIn(c.year, c.month)
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// days is the number of days since 1970-01-01 of a valid date (proleptic
// Gregorian; H. Hinnant's days_from_civil).
func (c civil) days() int64 {
	y, m := int64(c.year), int64(c.month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(c.day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// micros is the number of microseconds since 1970-01-01 00:00:00 of a
// valid date-time.
func (c civil) micros() int64 {
	return c.days()*microsPerDay + int64(c.hour*3600+c.minute*60+c.second)*microsPerSecond + int64(c.micro)
}

// civilFromDays inverts days (H. Hinnant's civil_from_days).
func civilFromDays(z int64) civil {
	z += 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return civil{year: int(y), month: int(m), day: int(d)}
}

// civilFromMicros inverts micros.
func civilFromMicros(us int64) civil {
	days := us / microsPerDay
	rem := us % microsPerDay
	if rem < 0 {
		days--
		rem += microsPerDay
	}
	c := civilFromDays(days)
	sec := int(rem / microsPerSecond)
	c.micro = int(rem % microsPerSecond)
	c.hour, c.minute, c.second = sec/3600, sec/60%60, sec%60
	return c
}

// appendDate appends YYYY-MM-DD.
func (c civil) appendDate(b []byte) []byte {
	b = appendPadded(b, c.year, 4)
	b = append(b, '-')
	b = appendPadded(b, c.month, 2)
	b = append(b, '-')
	return appendPadded(b, c.day, 2)
}

// appendDateTime appends YYYY-MM-DD<sep>hh:mm:ss[.f…] with fsp digits.
func (c civil) appendDateTime(b []byte, sep byte, fsp int) []byte {
	b = c.appendDate(b)
	b = append(b, sep)
	return appendClock(b, c.hour, c.minute, c.second, c.micro, fsp)
}

// appendClock appends hh:mm:ss[.f…] with fsp digits (hours may be wider).
func appendClock(b []byte, hour, minute, second, micro, fsp int) []byte {
	b = appendPadded(b, hour, 2)
	b = append(b, ':')
	b = appendPadded(b, minute, 2)
	b = append(b, ':')
	b = appendPadded(b, second, 2)
	if fsp > 0 {
		b = append(b, '.')
		b = appendPadded(b, micro/pow10[6-fsp], fsp)
	}
	return b
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

// maxTime is the TIME range, in microseconds: MySQL stops at
// ±838:59:59, MariaDB at ±838:59:59.999999.
const maxTime = (838*3600+59*60+59)*microsPerSecond + 999999

// parseTime parses "[-]h…:mm:ss[.f…]" (1 to 3 hour digits) into signed
// microseconds within ±838:59:59.999999.
func parseTime(s string) (int64, bool) {
	neg := s != "" && s[0] == '-'
	if neg {
		s = s[1:]
	}
	colon := 0
	for colon < len(s) && colon < 4 && isDigit(s[colon]) {
		colon++
	}
	if colon == 0 || colon > 3 || len(s) < colon+6 || s[colon] != ':' || s[colon+3] != ':' {
		return 0, false
	}
	hour := 0
	for i := 0; i < colon; i++ {
		hour = hour*10 + int(s[i]-'0')
	}
	minute, ok1 := twoDigits(s[colon+1 : colon+3])
	second, ok2 := twoDigits(s[colon+4 : colon+6])
	micro, ok3 := fraction(s[colon+6:])
	if !ok1 || !ok2 || !ok3 || minute > 59 || second > 59 {
		return 0, false
	}
	us := int64(hour*3600+minute*60+second)*microsPerSecond + int64(micro)
	if us > maxTime {
		return 0, false
	}
	if neg {
		us = -us
	}
	return us, true
}

// appendTime appends [-]hh:mm:ss[.f…] with fsp digits.
func appendTime(b []byte, us int64, fsp int) []byte {
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	sec := int(us / microsPerSecond)
	return appendClock(b, sec/3600, sec/60%60, sec%60, int(us%microsPerSecond), fsp)
}
