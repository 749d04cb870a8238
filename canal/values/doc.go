// Package values renders one column value as the string that goes into the
// ingester's Canal FlatMessage JSON, or as SQL NULL, and renders it the same
// way whether the row came from the binlog (go-mysql's replication package)
// or from the initial snapshot (a SELECT). cdc-semantics.md §3 is the
// contract; this comment is the precise rule set.
//
// # Rendering rules
//
//	type                     event string                              example
//	TINYINT…BIGINT           decimal digits, UNSIGNED exact            -128, 18446744073709551615
//	DECIMAL(p,s)             plain, exactly s fraction digits          12.50, -0.01, 9999999999
//	FLOAT / DOUBLE           shortest round-trip (FLOAT as float32),   0.1, 16777216, 1.7976931348623157e+308
//	                         formatted like JavaScript / encoding/json
//	BIT(n)                   the bits as unsigned decimal digits       165 for b'10100101'
//	DATE                     YYYY-MM-DD, zero dates as written         2024-03-10, 0000-00-00, 2024-00-00
//	DATETIME(fsp)            YYYY-MM-DD hh:mm:ss[.f], fsp digits       9999-12-31 23:59:59.999999
//	TIMESTAMP(fsp)           UTC instant, fsp digits                   2024-03-10T12:34:56.789Z
//	TIME(fsp)                [-]hh:mm:ss[.f], fsp digits               -838:59:59.000000, 00:00:00
//	YEAR                     the year as a number                      2155, 1901, 0
//	CHAR/VARCHAR/TEXT        UTF-8, decoded from the column charset    héllo 👍🏽
//	BINARY/VARBINARY/BLOB    standard base64 (padded)                  AAEC/w==
//	GEOMETRY (and POINT…)    standard base64 of SRID (4 bytes) + WKB   AAAAAAEBAAAA…
//	ENUM                     the element; index 0 (invalid value) ""   paid
//	SET                      elements, comma-joined, declaration order gift,vip
//	JSON (MySQL's type)      canonical JSON text (see below)           {"a":[1,2]}
//	any NULL                 NULL (Value.Null), never "", 0 or epoch
//
// Choices where the specification left room:
//   - YEAR 0000 is rendered "0": the value is a number (the sinks store
//     INT32), and §3 lists the values as "0 or 1901…2155". MySQL displays
//     it as 0000; Canal sends "0000".
//   - The zero TIMESTAMP is not an instant; it is kept as MySQL displays it,
//     with fsp zero digits and without T or Z: "0000-00-00 00:00:00" for
//     TIMESTAMP, "0000-00-00 00:00:00.000" for TIMESTAMP(3).
//   - DATETIME, TIMESTAMP and TIME always carry exactly fsp fraction digits
//     (trailing zeros kept, as MySQL displays them); fsp 0 has no point.
//     go-mysql drops the fraction of a TIME whose fraction is zero; it is
//     restored here.
//   - A TIME between -1 s and 0 keeps its sign (-00:00:00.500000); a zero
//     TIME never has one.
//   - FLOAT and DOUBLE use Go's shortest round-trip digits with
//     JavaScript's layout (as encoding/json): plain notation for
//     1e-6 ≤ |x| < 1e21, otherwise d.ddde±x. A FLOAT is rounded to float32
//     first, so FLOAT 0.1 is "0.1", not 0.10000000149011612. Negative zero
//     is rendered "0", so that a sign one path keeps and the other drops
//     cannot make them disagree.
//   - A DECIMAL negative zero ("-0.00") is rendered without its sign, and
//     leading zeros are dropped; nothing is ever rounded: a fraction finer
//     than the scale, or finer than a temporal column's fsp, is an error.
//   - BINARY(n) values are n bytes: the binlog strips trailing 0x00 bytes
//     of BINARY values, which are restored from Column.Length.
//   - Text decoding is strict: bytes that are not valid in the column's
//     charset are an error (ErrInvalid), never replaced.
//   - MySQL's native JSON type (DataType "json") is rendered canonically on
//     both paths, because go-mysql prints the binary JSON its own way
//     (compact, keys in Go order) while MySQL's SELECT prints `{"a": 1}`:
//     compact, object keys sorted bytewise, strings with minimal escaping
//     (no HTML escaping), integer literals kept, other numbers as the
//     shortest float64 in JavaScript layout. One known divergence remains:
//     a DECIMAL inside MySQL binary JSON comes from go-mysql as a JSON
//     string ("1.50") while MySQL's SELECT prints the number 1.50.
//     MariaDB's JSON is LONGTEXT with a json_valid check (DataType
//     "longtext"); it is text and kept byte for byte as written.
//   - A NULL in a NOT NULL column is an error (ErrUnexpectedNull): in the
//     binlog it means a column that was not logged (binlog_row_image other
//     than FULL) or a schema that does not match the event.
//
// Charsets of text columns: utf8mb4, utf8mb3 (alias utf8), ascii, latin1
// (MySQL's latin1 is Windows-1252, with the five bytes cp1252 leaves
// undefined mapped to U+0081, U+008D, U+008F, U+0090, U+009D as the server
// does), ucs2, utf16, utf16le, utf32, and binary (rendered as base64). Any
// other charset is an error naming it (ErrUnknownCharset) on both paths.
//
// Types not listed (MariaDB's UUID, INET4, INET6, VECTOR, …) are
// ErrUnsupportedType on both paths; Check reports both problems for a
// column before any row is read.
//
// # Binlog path
//
// FromBinlog takes a value of RowsEvent.Rows as go-mysql v1.13 decodes it
// with the settings of SyncerSettings (ParseTime on, UseDecimal off):
// integers as int8/int16/int32/int64 (UNSIGNED columns arrive as negative
// numbers and are reinterpreted with Column.Unsigned), DECIMAL as an exact
// string, FLOAT as float32, DOUBLE as float64, BIT/ENUM/SET as int64, DATE
// and TIME as strings, DATETIME as time.Time (a string before 1970 or with
// a zero month or day), TIMESTAMP as time.Time (a string only for the zero
// timestamp), YEAR as int, CHAR/VARCHAR/BINARY/VARBINARY as string, BLOB,
// TEXT and GEOMETRY as []byte, MySQL JSON as string. A TIMESTAMP that
// arrives as a non-zero string means the syncer was configured without
// SyncerSettings (its text would be in the reader's local time zone) and is
// an error.
//
// go-mysql's strings alias the event's packet buffer; FromBinlog copies
// what it keeps, so a Value never pins an event in memory.
//
// # Snapshot path
//
// The snapshot reads with database/sql and github.com/go-sql-driver/mysql,
// selecting SelectExpr(col) for each column and scanning every column into
// a sql.RawBytes; FromSnapshot(col, raw, raw == nil) renders it (null must
// be computed before the bytes are copied: copying an empty RawBytes with
// append yields nil). Both protocols of go-sql-driver give the same
// strings (the integration test reads both): the text protocol (a query
// without arguments, or with interpolateParams=true) and the binary one
// (prepared statements).
//
// Required session settings:
//   - character set utf8mb4 (go-sql-driver's default; charset=utf8mb4): the
//     server converts every text column to it, so latin1 and the other
//     charsets arrive as UTF-8;
//   - parseTime=false (go-sql-driver's default): DATE, DATETIME and TIME must
//     arrive as the server's text;
//   - time_zone='+00:00' is recommended but not required: SelectExpr reads
//     TIMESTAMP as UNIX_TIMESTAMP(col), the stored instant, which no session
//     time zone can shift (and which a named zone's DST fold could not
//     represent otherwise).
//
// SelectExpr selects FLOAT as CAST(col AS DOUBLE), because the text
// protocol prints a FLOAT with 6 significant digits (16777217 stored as
// 16777216 reads back as 16777200); every other type is the plain quoted
// column.
package values
