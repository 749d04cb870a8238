package values_test

// The tables of the integration test: orders as in cdc-semantics §7, and
// kinds with every other type and edge value of §3 and §7 items 12–13.
const ordersDDL = "CREATE TABLE vt.orders (" +
	"id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(64) CHARACTER SET utf8mb4, amount DECIMAL(12,2), " +
	"status ENUM('new','paid','shipped'), tags SET('gift','rush','vip'), note TEXT, meta JSON, " +
	"created_at DATETIME(6), updated_at TIMESTAMP(3) NULL, ship_date DATE, flags BIT(8), qty SMALLINT UNSIGNED, " +
	"yr YEAR, dur TIME(6), img LONGBLOB)"

const ordersInsert = "INSERT INTO vt.orders VALUES " +
	"(18446744073709551615, '👍🏽 顧客', 12.5, 'paid', 'vip,gift', 'ü\n\"note\"', '{\"b\": 1, \"a\": [1.5, \"x\"]}', " +
	"'9999-12-31 23:59:59.999999', '2024-03-10 12:34:56.789', '2024-03-10', b'10100101', 65535, 2155, " +
	"'-838:59:59', UNHEX(@all256)), " +
	"(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), " +
	"(2, '', -0.5, 'new', '', '', '[]', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '0000-00-00', b'0', 0, " +
	"0, '00:00:00', '')"

const kindsDDL = "CREATE TABLE vt.kinds (" +
	"id INT NOT NULL PRIMARY KEY, " +
	"ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, " +
	"i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, " +
	"d65 DECIMAL(65,30), d10 DECIMAL(10,0), d52 DECIMAL(5,2), f FLOAT, dbl DOUBLE, " +
	"b1 BIT(1), b8 BIT(8), b64 BIT(64), " +
	"dt DATE, dtm0 DATETIME, dtm6 DATETIME(6), ts0 TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL, ts6 TIMESTAMP(6) NULL, " +
	"tm0 TIME, tm1 TIME(1), tm6 TIME(6), yr YEAR, " +
	"ch CHAR(8) CHARACTER SET utf8mb4, vc VARCHAR(64) CHARACTER SET utf8mb4, " +
	"l1 VARCHAR(300) CHARACTER SET latin1, l1t TEXT CHARACTER SET latin1, asc7 VARCHAR(8) CHARACTER SET ascii, " +
	"u3 VARCHAR(16) CHARACTER SET utf8mb3, ucs VARCHAR(8) CHARACTER SET ucs2, u16 VARCHAR(8) CHARACTER SET utf16, " +
	"u16le VARCHAR(8) CHARACTER SET utf16le, u32 VARCHAR(8) CHARACTER SET utf32, lt LONGTEXT, " +
	"bn BINARY(4), vb VARBINARY(16), tb TINYBLOB, lb LONGBLOB, " +
	"e ENUM('a','b b','c''d'), st SET('x','y','z'), j JSON, g GEOMETRY, p POINT, " +
	"nn INT NOT NULL DEFAULT 7)"

const kindsInsert = "INSERT INTO vt.kinds VALUES " +
	// 1: maximums
	"(1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, " +
	"18446744073709551615, 99999999999999999999999999999999999.999999999999999999999999999999, 9999999999, " +
	"999.99, 3.4028234e38, 1.7976931348623157e308, b'1', b'10100101', " +
	"b'1111111111111111111111111111111111111111111111111111111111111111', " +
	"'9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', " +
	"'2038-01-19 03:14:07.999', '2038-01-19 03:14:07.999999', '838:59:59', '838:59:59.9', '838:59:59', 2155, " +
	"'👍🏽', '中文 👍🏽 ü', UNHEX(@all256), 'é', 'ascii', 'ü€', 'ü€', '👍🏽', '👍🏽', '👍🏽', 'long', " +
	"'ab', UNHEX('00FF00'), 'tiny', UNHEX(@all256), 'c''d', 'z,x', '{\"k\": [1, 2.50, \"é\"]}', " +
	"ST_GeomFromText('LINESTRING(0 0,1 1)'), ST_GeomFromText('POINT(1.5 -2.25)'), 1), " +
	// 2: minimums and zeros
	"(2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, " +
	"-99999999999999999999999999999999999.999999999999999999999999999999, -9999999999, -0.01, " +
	"-1.17549435e-38, -2.2250738585072014e-308, b'0', b'0', b'0', " +
	"'0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00', " +
	"'0000-00-00 00:00:00', '1970-01-01 00:00:01.000001', '-838:59:59', '-00:00:00.5', '-838:59:59', 0, " +
	"'', '', 'é', '', '', '', '', '', '', '', '', " +
	"UNHEX('00000000'), '', '', '', 'no such value', '', 'null', " +
	"ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(0 0)', 4326), 0), " +
	// 3: NULL in every nullable column
	"(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, DEFAULT), " +
	// 4: values in between: sign bits of unsigned types, partial zero dates, fractions
	"(4, 0, 128, -1, 32768, -1, 8388608, -1, 2147483648, -1, 9223372036854775808, " +
	"0.000000000000000000000000000001, 0, 12.5, 16777217, 0.1, b'1', b'1', " +
	"b'1000000000000000000000000000000000000000000000000000000000000000', " +
	"'2024-00-00', '2024-02-00 10:11:12', '1969-12-31 23:59:59.5', '2024-03-10 12:34:56', " +
	"'2024-03-10 12:34:56.7', '2024-03-10 12:34:56.000001', '00:00:00', '-00:00:01.5', '12:34:56.5', 1901, " +
	"'trail  ', 'trail  ', '€Ÿ', 'ÿ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', " +
	"'abcd', 'x', '', 'y', 'a', 'x,y,z', '1.0', " +
	"ST_GeomFromText('POINT(1 2)', 4326), ST_GeomFromText('POINT(3 4)'), -1), " +
	// 5: floating-point corner cases
	"(5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.4e-45, 5e-324, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0), " +
	"(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0e0, " +
	"-1.2345678901234567e-100, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, 0), " +
	"(7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0.1, " +
	"1.2345678901234567e-5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, " +
	"NULL, NULL, 0)"

// all256 is base64 of the bytes 0x00…0xFF.
const all256 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q" +
	"UVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch" +
	"oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy" +
	"8/T19vf4+fr7/P3+/w=="

// latin1All is the bytes 0x00…0xFF of a latin1 column as UTF-8: MySQL's
// latin1 is cp1252, its five undefined bytes are the C1 controls.
const latin1All = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f" +
	" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f" +
	"€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ" +
	"\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ"

// N is SQL NULL in the tables of expected values.
const N = null

// wantOrders are the rendered values of vt.orders, rows ordered by id (1, 2,
// 18446744073709551615).
var wantOrders = map[string][]string{
	"id":         {"1", "2", "18446744073709551615"},
	"customer":   {N, "", "👍🏽 顧客"},
	"amount":     {N, "-0.50", "12.50"},
	"status":     {N, "new", "paid"},
	"tags":       {N, "", "gift,vip"},
	"note":       {N, "", "ü\n\"note\""},
	"meta":       {N, "[]", `{"b": 1, "a": [1.5, "x"]}`},
	"created_at": {N, "1000-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999"},
	"updated_at": {N, "1970-01-01T00:00:01.000Z", "2024-03-10T12:34:56.789Z"},
	"ship_date":  {N, "0000-00-00", "2024-03-10"},
	"flags":      {N, "0", "165"},
	"qty":        {N, "0", "65535"},
	"yr":         {N, "0", "2155"},
	"dur":        {N, "00:00:00.000000", "-838:59:59.000000"},
	"img":        {N, "", all256},
}

// wantKinds are the rendered values of vt.kinds, rows 1…7.
var wantKinds = map[string][]string{
	"id":  {"1", "2", "3", "4", "5", "6", "7"},
	"ti":  {"127", "-128", N, "0", N, N, N},
	"tiu": {"255", "0", N, "128", N, N, N},
	"si":  {"32767", "-32768", N, "-1", N, N, N},
	"siu": {"65535", "0", N, "32768", N, N, N},
	"mi":  {"8388607", "-8388608", N, "-1", N, N, N},
	"miu": {"16777215", "0", N, "8388608", N, N, N},
	"i":   {"2147483647", "-2147483648", N, "-1", N, N, N},
	"iu":  {"4294967295", "0", N, "2147483648", N, N, N},
	"bi":  {"9223372036854775807", "-9223372036854775808", N, "-1", N, N, N},
	"biu": {"18446744073709551615", "0", N, "9223372036854775808", N, N, N},
	"d65": {"99999999999999999999999999999999999.999999999999999999999999999999",
		"-99999999999999999999999999999999999.999999999999999999999999999999", N,
		"0.000000000000000000000000000001", N, N, N},
	"d10":   {"9999999999", "-9999999999", N, "0", N, N, N},
	"d52":   {"999.99", "-0.01", N, "12.50", N, N, N},
	"f":     {"3.4028235e+38", "-1.1754944e-38", N, "16777216", "1e-45", "0", "0.1"},
	"dbl":   {"1.7976931348623157e+308", "-2.2250738585072014e-308", N, "0.1", "5e-324", "-1.2345678901234567e-100", "0.000012345678901234568"},
	"b1":    {"1", "0", N, "1", N, N, N},
	"b8":    {"165", "0", N, "1", N, N, N},
	"b64":   {"18446744073709551615", "0", N, "9223372036854775808", N, N, N},
	"dt":    {"9999-12-31", "0000-00-00", N, "2024-00-00", N, N, N},
	"dtm0":  {"9999-12-31 23:59:59", "0000-00-00 00:00:00", N, "2024-02-00 10:11:12", N, N, N},
	"dtm6":  {"9999-12-31 23:59:59.999999", "0000-00-00 00:00:00.000000", N, "1969-12-31 23:59:59.500000", N, N, N},
	"ts0":   {"2038-01-19T03:14:07Z", "0000-00-00 00:00:00", N, "2024-03-10T12:34:56Z", N, N, N},
	"ts3":   {"2038-01-19T03:14:07.999Z", "0000-00-00 00:00:00.000", N, "2024-03-10T12:34:56.700Z", N, N, N},
	"ts6":   {"2038-01-19T03:14:07.999999Z", "1970-01-01T00:00:01.000001Z", N, "2024-03-10T12:34:56.000001Z", N, N, N},
	"tm0":   {"838:59:59", "-838:59:59", N, "00:00:00", N, N, N},
	"tm1":   {"838:59:59.9", "-00:00:00.5", N, "-00:00:01.5", N, N, N},
	"tm6":   {"838:59:59.000000", "-838:59:59.000000", N, "12:34:56.500000", N, N, N},
	"yr":    {"2155", "0", N, "1901", N, N, N},
	"ch":    {"👍🏽", "", N, "trail", N, N, N},
	"vc":    {"中文 👍🏽 ü", "", N, "trail  ", N, N, N},
	"l1":    {latin1All, "é", N, "€Ÿ", N, N, N},
	"l1t":   {"é", "", N, "ÿ", N, N, N},
	"asc7":  {"ascii", "", N, "x", N, N, N},
	"u3":    {"ü€", "", N, "x", N, N, N},
	"ucs":   {"ü€", "", N, "x", N, N, N},
	"u16":   {"👍🏽", "", N, "x", N, N, N},
	"u16le": {"👍🏽", "", N, "x", N, N, N},
	"u32":   {"👍🏽", "", N, "x", N, N, N},
	"lt":    {"long", "", N, "x", N, N, N},
	"bn":    {"YWIAAA==", "AAAAAA==", N, "YWJjZA==", N, N, N},
	"vb":    {"AP8A", "", N, "eA==", N, N, N},
	"tb":    {"dGlueQ==", "", N, "", N, N, N},
	"lb":    {all256, "", N, "eQ==", N, N, N},
	"e":     {"c'd", "", N, "a", N, N, N},
	"st":    {"x,z", "", N, "x,y,z", N, N, N},
	"j":     {`{"k": [1, 2.50, "é"]}`, "null", N, "1.0", N, N, N},
	// SRID (4 bytes, little-endian) + WKB.
	"g": {"AAAAAAECAAAAAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADwPwAAAAAAAPA/", "AAAAAAEBAAAAAAAAAAAAAAAAAAAAAAAAAA==", N,
		"5hAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA==", N, N, N},
	"p": {"AAAAAAEBAAAAAAAAAAAA+D8AAAAAAAACwA==", "5hAAAAEBAAAAAAAAAAAAAAAAAAAAAAAAAA==", N,
		"AAAAAAEBAAAAAAAAAAAACEAAAAAAAAAQQA==", N, N, N},
	"nn": {"1", "0", "7", "-1", "0", "0", "0"},
}
