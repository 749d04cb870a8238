package coltype

import "encoding/base64"

// ImplicitDefault returns, as an event string, the value MySQL gives
// existing rows when a NOT NULL column without DEFAULT is added (its
// "implicit default", MySQL manual "Data Type Default Values"): 0 for
// numbers ("0.00" for DECIMAL(p,2)), the zero value for DATE, DATETIME,
// TIMESTAMP (explicit_defaults_for_timestamp on) and TIME with fsp zero
// digits, "0" for YEAR and BIT, "" for text and SET, the first element for
// ENUM, n zero bytes for BINARY(n) (BINARY pads), no bytes for the other
// binary types, and the JSON null literal for MySQL's JSON. GEOMETRY has
// no implicit value (MySQL rejects the ALTER on a non-empty table); it
// gets no bytes.
func ImplicitDefault(t Type) string {
	switch t.kind {
	case KindInt, KindFloat, KindDouble, KindBit, KindYear:
		return "0"
	case KindDecimal:
		return string(decimal{}.appendText(nil, int(t.scale)))
	case KindDate:
		return "0000-00-00"
	case KindDatetime, KindTimestamp:
		return string(civil{}.appendDateTime(nil, ' ', int(t.scale)))
	case KindTime:
		return string(appendTime(nil, 0, int(t.scale)))
	case KindEnum:
		if elems := t.Elems(); len(elems) > 0 {
			return elems[0]
		}
	case KindJSON:
		return "null"
	case KindBinary:
		if t.name == "binary" {
			return base64.StdEncoding.EncodeToString(make([]byte, t.length))
		}
	}
	return ""
}

// Convert converts the event string s of a column of type from to one of
// type to, as MySQL converts existing rows when ALTER TABLE changes a
// column's type; the result is for Append with to. Most changes the sink
// meets are conversions of the text (INT → BIGINT, a wider VARCHAR,
// DECIMAL(10,2) → DECIMAL(12,4), DATETIME → DATETIME(6), INT → VARCHAR):
// s is returned when to accepts it. Two are not: FLOAT → DOUBLE widens the
// binary value (FLOAT 0.1 becomes 0.10000000149011612, as MySQL shows it
// afterwards), and DATE → DATETIME adds midnight. A value to does not
// accept (MySQL would round, clip or reinterpret it: DECIMAL → INT, fewer
// fraction digits, a narrower integer) is an ErrInvalid naming to.
func Convert(from, to Type, s string) (string, error) {
	switch {
	case from.kind == KindFloat && to.kind == KindDouble:
		f, ok := parseFloat(s, 32)
		if !ok {
			return "", from.invalid(s, "not a value of the type")
		}
		return string(appendFloat(nil, f, 64)), nil
	case from.kind == KindDate && to.kind == KindDatetime:
		c, ok := parseDate(s)
		if !ok {
			return "", from.invalid(s, "not a value of the type")
		}
		return string(c.appendDateTime(nil, ' ', int(to.scale))), nil
	}
	var v value
	if err := to.parse(s, nil, &v); err != nil {
		return "", err
	}
	return s, nil
}
