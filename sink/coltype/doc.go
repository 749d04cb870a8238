// Package coltype maps a source column's MySQL/MariaDB type to its Arrow
// (Parquet) column, and moves values between the event strings of
// canal/values and Arrow arrays: Parse reads the type from an event's
// mysqlType, Append parses an event string into a builder, Format renders
// an array element back to the exact event string, AppendKey and
// AppendKeyArrow encode primary-key values so that bytes.Compare orders
// them. cdc-semantics.md §3 is the contract; this comment is the precise
// rule set.
//
// # Type mapping
//
//	MySQL                         event string                   Arrow (Parquet)
//	TINYINT/SMALLINT/MEDIUMINT/   decimal digits                 INT8/INT16/INT32/INT32/INT64
//	INT/BIGINT
//	… UNSIGNED (or ZEROFILL)      decimal digits                 UINT8/UINT16/UINT32/UINT32/UINT64
//	DECIMAL(p,s), p ≤ 38          plain, s fraction digits       DECIMAL128(p,s)
//	DECIMAL(p,s), p > 38          plain, s fraction digits       STRING (the event string)
//	FLOAT / DOUBLE                shortest round-trip            FLOAT32 / FLOAT64
//	BIT(1) / BIT(n)               0 or 1 / unsigned digits       BOOLEAN / UINT64
//	DATE                          YYYY-MM-DD                     DATE32          + name_raw STRING
//	DATETIME(fsp)                 YYYY-MM-DD hh:mm:ss[.f]        TIMESTAMP(µs)   + name_raw STRING
//	TIMESTAMP(fsp)                YYYY-MM-DDThh:mm:ss[.f]Z       TIMESTAMP(µs, "UTC") + name_raw STRING
//	TIME(fsp)                     [-]hh:mm:ss[.f]                INT64 µs (signed duration)
//	YEAR                          0 or 1901…2155                 INT32
//	CHAR/VARCHAR/TEXT types       UTF-8 text                     STRING
//	ENUM / SET                    element / comma-joined         STRING
//	JSON (MySQL's native type)    JSON text                      STRING
//	BINARY/VARBINARY/BLOB types   padded standard base64         BINARY
//	GEOMETRY, POINT, …            base64 of SRID + WKB           BINARY
//	any NULL                      SQL NULL                       null
//
// Notes on the mapping:
//   - TIMESTAMP(µs, "UTC") is written by pqarrow as
//     TIMESTAMP(MICROS, isAdjustedToUTC=true); never NANOS. DATETIME's
//     zone-less TIMESTAMP(µs) should be isAdjustedToUTC=false, but pqarrow
//     of Arrow v15 writes every TIMESTAMP with no zone or "UTC" as
//     isAdjustedToUTC=true (apache/arrow GH-39466, fixed in Arrow 16): the
//     writer has to set that flag itself until the dependency moves.
//   - TIME is an INT64 count of microseconds, negative for negative
//     durations (−838:59:59 is −3020399000000). Parquet has no signed
//     duration type; Fields marks the field with sluice.unit=us.
//   - JSON is STRING (UTF8): pqarrow in Arrow v15 has no JSON logical type
//     (cdc-semantics §3 asks for one; it needs an Arrow extension type that
//     pqarrow would map, which v15 lacks). MariaDB's JSON is LONGTEXT and
//     is text anyway.
//   - DECIMAL(p,s) with p > 38 does not fit 128 bits; its STRING holds the
//     canonical event string, so it stays exact and readable.
//   - Display widths (INT(11)) and ZEROFILL do not change values and are
//     dropped by Parse; YEAR(2) is YEAR; FLOAT(p) with p > 24 is DOUBLE.
//   - Strings must be valid UTF-8 (Parquet requires it); Append rejects
//     anything else rather than writing a file readers refuse.
//
// # Zero dates
//
// MySQL stores DATE, DATETIME and TIMESTAMP values that are no calendar
// date: the zero date "0000-00-00", partial-zero dates ("2024-00-10",
// "2024-05-00") and, under ALLOW_INVALID_DATES, days past the month's end
// ("2024-02-30"); the zero TIMESTAMP is rendered "0000-00-00 00:00:00"
// (with fsp zero digits, no T or Z). None of them is a DATE32 or
// TIMESTAMP. The one rule: such a value is NULL in the main column and its
// canonical event string is kept in the side column <name>_raw (STRING),
// which exists for every DATE, DATETIME and TIMESTAMP column (HasRaw,
// Fields) and is NULL for every other row, including real NULLs. The main
// column of such a type is therefore always nullable. AppendWithRaw
// writes both columns, FormatWithRaw and AppendKeyArrowWithRaw read both;
// the variants without raw reject (Append) or lose (Format, keys) a zero
// date.
//
// # Exactness
//
// Append parses without floating point or big.Int: DECIMAL digits go
// straight into an int64 (p ≤ 18) or 128 bits (p ≤ 38), integers up to
// 18446744073709551615, temporal fields into day and microsecond counts.
// A value that does not fit the type (out of range, more fraction digits
// than the scale or fsp unless they are zeros, a date without T and Z in a
// TIMESTAMP, invalid base64 or UTF-8) is an ErrInvalid naming the type
// and the value; nothing is rounded or clamped. Format renders the
// canonical event string, so Format(Append(s)) == s for every string the
// ingester writes, and a non-canonical input (leading zeros, fewer
// fraction digits, "-0") comes back canonical. Changing a column's type
// (INT → BIGINT, a wider VARCHAR, DECIMAL(10,2) → DECIMAL(12,4)) is Format
// with the old Type and Append with the new one.
//
// # Key encoding
//
// AppendKey (from an event string) and AppendKeyArrow (from an array
// element) write identical bytes for the same value. Each column is a tag
// byte, 0x00 for NULL (sorting first) or 0x01, followed by a payload that
// is either fixed-width or self-terminating, so the keys of several
// columns appended one after another compare like the tuples:
//
//	signed integers, TIME (µs), YEAR   8 bytes big-endian, sign bit flipped
//	unsigned integers, BIT(n)          8 bytes big-endian
//	BIT(1)                             1 byte, 0 or 1
//	FLOAT, DOUBLE                      the float64 bits, negative numbers
//	                                   all flipped, others the sign bit (-0 = 0)
//	DECIMAL (any precision, Decimal128 header 0x80 for zero, 0x80+n for n
//	or STRING)                         positive digits of value·10^s, 0x80-n
//	                                   for negative; then the digits, two per
//	                                   byte (9-d when negative)
//	DATE                               year (2 bytes), month, day
//	DATETIME, TIMESTAMP                year (2), month, day, hour, minute,
//	                                   second, microseconds (3 bytes)
//	text, ENUM, SET, JSON, binary      the bytes with 0x00 → 0x00 0xFF,
//	                                   then 0x00 0x01
//
// Integers of every width share one encoding, so INT → BIGINT keeps keys;
// signed and unsigned ones do not. Temporal keys are built from the
// fields, so zero and invalid dates (encoded from the raw text) sort where
// MySQL sorts them: "0000-00-00" first, "2024-00-10" before "2024-01-01".
// Text compares bytewise by its UTF-8 bytes (code point order), not by the
// column's collation: "a" < "B" here, not in utf8mb4_0900_ai_ci. ENUM
// compares by its text, not by element index as MySQL does. The encoding
// is stored in sorted runs: never change these constants.
package coltype
