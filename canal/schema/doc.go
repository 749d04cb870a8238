// Package schema keeps the ingester's own schema history: the columns of
// every captured table as of each binlog position, so that an event read
// while lagging is decoded with the schema it was written with.
// (go-mysql's canal re-reads the current schema after a DDL instead,
// go-mysql#905.)
//
// # Use
//
// At first start, read the snapshot's schema with LoadSnapshot inside the
// snapshot's transaction and record it with BootstrapSnapshot at the
// snapshot's position. Then pass every Query event of the binlog to
// ApplyDDL, look the schema of a row event up with TableAt, and check each
// TableMapEvent against it with Reconcile before decoding. On a restart
// from an older position call Rewind first; call Compact now and then
// with the acknowledged position to bound the file.
//
// # Positions
//
// A Key is a binlog file and a position: the start of an event (the
// header's LogPos minus its EventSize) for DDL and row events alike, and
// the position the stream starts from for a snapshot. A snapshot at P is
// the state before the event at P; a DDL at P is that event. TableAt(k)
// returns the table as the DDL events before k left it (and the DDL at k
// itself, if k is one), Rewind(P) — the ingester reads again from P —
// forgets what the events at and after P recorded, and keeps a snapshot at
// P. So restarting from a saved position (where the next event starts)
// neither loses nor repeats a DDL.
//
// # What the history knows
//
// Every table it was bootstrapped with and every table created since, in
// any database (so that a table created under another name and renamed
// into the captured set is known), plus the default character set of the
// server and of each database (a table created without one inherits it).
// Statements about other tables change nothing; rows of such a table meet
// TableAt's false and the ingester stops there. Table and database names
// are compared case-sensitively (lower_case_table_names=0), column names
// case-insensitively.
//
// # File format
//
// One file, append-only. Never change these constants: files already
// written hold them.
//
//	file    = magic record*
//	magic   = "SLSCHEM1"                                      8 bytes
//	record  = header payload
//
//	header, 16 bytes, integers little-endian:
//	+---------+------+----------+------------+-------------+
//	| 0..3    | 4    | 5..7     | 8..11      | 12..15      |
//	| length  | kind | 0, 0, 0  | header CRC | payload CRC |
//	+---------+------+----------+------------+-------------+
//	length       payload bytes (at most 1 GiB)
//	kind         1 snapshot, 2 change, 3 rewind
//	header CRC   CRC-32C (Castagnoli) of bytes 0..7
//	payload CRC  CRC-32C of the payload
//
//	payload = JSON object
//	  "key"          {"file": "binlog.000042", "pos": 1234}
//	  "sql"          change: the statement (for operators; never re-parsed)
//	  "server"       {"flavor", "version", "charset"}: replaces the server
//	  "databases"    [{"name", "db": {"name", "charset"} or null}]
//	  "databasesSet" snapshot: the databases listed are all there are
//	  "tables"       [{"schema", "name", "table": Table or null}]
//
// A snapshot sets the tables it lists as of its key and marks every other
// table dropped there; a change sets the tables and databases it lists
// (null: dropped); a rewind forgets every version after its key. Records
// hold the resulting tables, not only statements, so replay never depends
// on the parser.
//
// Each append is one write followed by fsync; a failed write is cut off
// again, and a failed fsync makes the history refuse writes until it is
// reopened. Open reads every record: a bad record (short, a checksum
// mismatch, an undecodable payload) with no valid record after it is a
// torn tail and is cut (Recovered tells how many bytes); a bad record
// followed by a valid one is a CorruptionError, and the file is left as it
// is. A new file and a compacted one are written to a temporary file,
// synced, renamed over the old one, and the directory is synced.
//
// # DDL
//
// ApplyDDL parses with the TiDB SQL parser and models: CREATE TABLE
// (column types with lengths, UNSIGNED/ZEROFILL, CHARACTER SET/COLLATE,
// NULL/NOT NULL, DEFAULT, generated columns, inline and table-level
// PRIMARY KEY, table default charset inherited from the database), CREATE
// TABLE … LIKE, DROP TABLE (several, IF EXISTS), RENAME TABLE (several,
// across databases, swaps), ALTER TABLE (ADD COLUMN with FIRST/AFTER or
// several in parentheses, DROP COLUMN, MODIFY, CHANGE, RENAME COLUMN,
// ALTER COLUMN SET/DROP DEFAULT, ADD/DROP PRIMARY KEY, DROP INDEX
// `PRIMARY`, RENAME TO, DEFAULT CHARSET, CONVERT TO CHARACTER SET, index,
// partition and table-option changes without column effect), TRUNCATE
// TABLE, CREATE/ALTER/DROP DATABASE and DROP INDEX `PRIMARY` ON. MariaDB
// syntax the parser rejects is rewritten first (CREATE OR REPLACE TABLE,
// ALTER ONLINE, WAIT/NOWAIT, ALGORITHM=NOCOPY, RENAME/ALTER TABLE IF
// EXISTS, Aria and encryption table options, INVISIBLE and PERSISTENT
// columns, the spatial, UUID and INET types), executable comments
// /*M!NNNNNN … */ run when the server's version allows, and collations the
// parser does not know (utf8mb4_uca1400_ai_ci) are replaced by their
// character set's. Types and defaults are spelled as MariaDB's
// information_schema spells them (see ddl_default.go for defaults),
// including the implicit NOT NULL and defaults of TIMESTAMP columns when
// explicit_defaults_for_timestamp is OFF (Server.LegacyTimestamps).
//
// The parser accepts only the character sets TiDB implements; this package
// registers the other MySQL character sets with it at init, which every
// user of the parser in the process sees.
package schema
