// Package store is Sluice's message store: Apache RocketMQ's CommitLog,
// ConsumeQueue, IndexFile and checkpoint, written with pwrite and
// fdatasync (no mmap) through the vfs seam.
//
// # Layout under Options.Dir
//
//	commitlog/00000000000000000000      segments of SegmentSize bytes, named by start offset (20 digits)
//	commitlog/00000000001073741824
//	consumequeue/<topic>/<qid>/<20 digits>  CQEntriesPerFile×20-byte files, named by start byte offset
//	index/<yyyyMMddHHmmssSSS>           hash index files
//	checkpoint                          4 KiB progress page
//	abort                               present while the store is open (PID); absent after Close
//	lock                                flock(2) held while open
//
// # Commitlog
//
// Records (internal/message, magic v1, CRC-32 of the body) follow each other
// with no gaps. A record never crosses a segment: when record+8 bytes do
// not fit, the rest of the segment becomes an END_FILE filler and the
// record goes to the next segment.
//
//	segment: | record | record | ... | record | free i32 | 0xCBD43194 | (free-8 bytes, any) |
//
// Bytes after the last record are zero (pre-written) or absent; a zero
// TOTALSIZE reads as the end of data. Every record satisfies: magic v1/v2,
// lengths consistent with TOTALSIZE, BODYCRC matches, PHYSICALOFFSET equals
// its position, topic valid, queue id ≥ 0. Header fields other than these
// are not covered by a checksum (the record format is fixed by RocketMQ).
//
// # ConsumeQueue entry (20 bytes, big-endian)
//
//	+---------------------+-------------+---------------------+
//	| commitlog offset i64| size i32    | tagsCode i64        |
//	+---------------------+-------------+---------------------+
//
// Entry i of a queue (its queue offset) is at byte i×20 of the concatenated
// files. tagsCode is Java's String.hashCode of TAGS, or, in
// SCHEDULE_TOPIC_XXXX, store time + the DELAY level's delay. Transaction
// PREPARED and ROLLBACK records get no entry (and queue offset 0).
//
// # Index file
//
//	| header 40 B | slots: IndexMaxHashSlots × i32 | entries: IndexMaxCount × 20 B |
//	header: beginTs i64 | endTs i64 | beginPhy i64 | endPhy i64 | slotCount i32 | indexCount i32
//	entry:  keyHash i32 | phyOffset i64 | timeDiff s i32 | prevIndex i32
//
// Keys are topic#UNIQ_KEY and topic#<each KEYS token>; slot = |hash| mod
// slots, chains via prevIndex (entry 0 unused). Results are verified
// against the records, so hash collisions and entries lost in a crash
// cannot return wrong offsets.
//
// # Checkpoint (4096 bytes, big-endian)
//
//	 0 physicMsgTimestamp i64 | 8 logicsMsgTimestamp i64 | 16 indexMsgTimestamp i64
//	24 masterFlushedOffset i64 | 32 confirmPhyOffset i64          (RocketMQ's StoreCheckpoint)
//	40 magic "SLCK" u32 | 44 reserved | 48 flushedOffset i64 | 56 dispatchedOffset i64
//	64 reserved | 68 CRC-32 of bytes 0..67 | rest zero
//
// flushedOffset: all commitlog bytes below it were durable. dispatchedOffset:
// all records below it have durable CQ and index entries. It is replaced
// with tmp → fdatasync → rename → directory fsync, once per
// MetaFlushInterval, after the CQ and index files are synced.
//
// Never change the constants of these formats.
//
// # Durability
//
// PutMessage returns once the record is written (page cache). The flusher
// makes the log durable: under FlushSync by group commit (WaitDurable
// requests are answered after one fdatasync covers them), under FlushAsync
// periodically. New segments' directory entries are synced before a sync
// that covers them completes. ConfirmedOffset is the written end under
// FlushAsync and the durable end under FlushSync; the dispatcher only
// indexes below it, so under FlushSync a consumer never sees (or commits an
// offset past) a record a power cut could remove, and queue offsets are
// never reused for a different message.
//
// A write error is undone (zeros over pre-written space, or a truncate) so
// no partial record is left; if the undo fails, or an fdatasync fails, the
// store refuses writes until restart (after a failed fdatasync the page
// cache cannot be trusted).
//
// # Recovery
//
// Open scans the commitlog with CRC checks from the segment holding
// min(checkpoint flushed, dispatched). At the first invalid record:
//   - below the checkpointed flushed offset it is corruption of durable
//     data: Open fails with *CorruptionErr{Segment, Offset, Reason} (or,
//     with Options.Repair, truncates there);
//   - at or after it, it is a torn tail: the log is cut there.
//
// The recovered log is fdatasynced, ConsumeQueue tails pointing beyond the
// re-dispatch point are dropped, records from the checkpoint's dispatched
// offset are dispatched again (idempotent: entries go at QueueOffset×20),
// the per-queue next offsets are rebuilt from the queues, and a fresh
// checkpoint is written. The abort file only tells whether the previous
// run closed cleanly; the procedure is the same either way. Records below
// the scan start are not re-verified.
//
// # Errors and RocketMQ response codes
//
//	ErrMessageIllegal, ErrPropertiesTooLong → 13 MESSAGE_ILLEGAL
//	ErrServiceNotAvailable (incl. ErrClosed, write errors) → 14 SERVICE_NOT_AVAILABLE
//	ErrFlushTimeout (from WaitDurable) → 10 FLUSH_DISK_TIMEOUT (the message is stored)
//	other errors → 1 SYSTEM_ERROR
package store
