// Package position holds the ingester's durable position: where to resume
// reading a MySQL or MariaDB binlog, the progress of an interrupted initial
// snapshot, and the identity of the source server they belong to.
//
// The ingester saves a position only at the end of a transaction (XID, a
// DDL, a rotate) whose messages the broker has acknowledged; it never saves
// the position of a fake ROTATE event (log_pos 0), which the server answers
// with error 1236 "impossible position" on the next start. Save refuses
// such positions.
//
// # Positions
//
// A Position is a binlog file and offset (binlog.000003:1234, where the
// next event to read starts; events start at offset 4), a GTID set
// (MariaDB "0-1-100,1-2-7", MySQL "uuid:1-100,…"), or both. Parse reads the
// forms an operator types:
//
//	binlog.000003:1234                        file and offset
//	gtid:0-1-100                              GTID set, flavor detected
//	mariadb-gtid:0-1-100,1-2-7                GTID set of the given flavor
//	mysql-gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5
//
// # The source's binlogs
//
// FindByTimestamp turns a time into the position of the first transaction
// at or after it (binary search over SHOW BINARY LOGS by each file's first
// event time, then a scan with a replica connection). Oldest and Current
// give the oldest binlog the server still has and the end of its binlog;
// CheckAvailable returns a *PurgedError naming the position wanted and the
// oldest available one when the binlog was purged while the reader was
// down.
//
// # File format
//
// FileStore keeps one State in one JSON file, replaced whole and atomically
// (temporary file beside it → fsync → rename → fsync of the directory), so
// a crash leaves the old or the new state, never a mix; a leftover
// temporary file (NAME.tmp*) is never read.
//
//	{
//	  "version": 1,                      format version; this build reads and writes 1
//	  "crc32c": "5d3b1f0a",              CRC-32C (Castagnoli) of the state member, see below
//	  "state": {
//	    "position": {
//	      "flavor": "mariadb",           "mariadb", "mysql", or "" (file/pos only)
//	      "file": "binlog.000003",       "" for a GTID-only position
//	      "pos": 1234,                   offset of the next event to read, >= 4 (0 without file)
//	      "gtid_set": "0-1-100",         executed GTID set, may be ""
//	      "timestamp": 1714557598        event time (unix seconds) of the last included event, 0 if unknown
//	    },
//	    "snapshot": {                    absent unless an initial snapshot is unfinished
//	      "start": { …position… },       where the snapshot meets the binlog stream
//	      "tables": [
//	        {"schema": "shop", "table": "orders", "done": false,
//	         "last_key": ["41"],         primary-key values of the last acknowledged row
//	         "rows": 41, "total_estimate": 1000}
//	      ]
//	    },
//	    "server_id": 1,                  @@server_id of the source
//	    "server_uuid": "…",              @@server_uuid of the source ("" when unknown)
//	    "saved_at": "2024-05-01T09:59:59.123Z"
//	  }
//	}
//
// The checksum covers the "state" member's JSON text after insignificant
// whitespace is removed (encoding/json's Compact), written as 8 lowercase
// hex digits: re-indenting the file keeps it valid, changing any value
// does not. Unknown keys, a wrong checksum, a truncated file and an unknown
// version are errors naming the file (ErrCorrupt, ErrUnsupportedVersion):
// a damaged position is never silently replaced by "start over". Never
// change the meaning of a version-1 key; a new key or meaning is version 2.
//
// A FileStore's Lock (flock(2) on NAME.lock) keeps an operator's
// `sluice positions set` from racing a running ingester, whose next save
// would otherwise overwrite it.
package position
