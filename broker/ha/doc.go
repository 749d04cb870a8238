// Package ha replicates a broker's CommitLog from its master to its slaves
// (RocketMQ's HA service) with epochs, so that a replica that diverged (a
// former master's unreplicated tail, a master that lost its own tail) is
// cut back to the last common point instead of keeping or serving bytes
// the master never had. The wire protocol is Sluice's own, not Java's.
//
// # Roles
//
// The master (brokerId 0) runs a Master on its HA port; each slave
// (brokerId > 0) runs a Slave that dials it. The slave opens with a hello,
// the master answers where the slave's log must be cut and where streaming
// starts, then the master streams raw commitlog bytes (store.ReadCommitLog
// → store.AppendRaw, so physical offsets are identical on both) and the
// slave acknowledges how far its log reaches. SYNC_MASTER sends wait for
// those acks (Master.WaitReplicated).
//
// # Epochs
//
// Every master term has an epoch number, recorded with the commitlog
// offset where the term's first record goes (EpochEntry). The master
// starts a term with EpochFile.StartTerm before it accepts any write;
// slaves record an epoch from the first data frame that carries it,
// before appending that frame. Epoch 0 is implicit: bytes written before
// the first term (a store that predates HA); it is never recorded.
//
// Epoch numbers must be unique per broker group: StartTerm takes the
// newest epoch the broker has ever seen plus one, which is unique as long
// as a new master has first replicated from the old one (or the numbers
// come from a controller, which can Append them directly). Two brokers
// that both act as master without that (dual masters) break the rule; the
// master's handshake then refuses a slave that has seen a newer epoch
// than its own ("fenced"), and the slave refuses frames of an epoch older
// than one it recorded.
//
// On each connection the master computes DivergencePoint from both epoch
// lists and log ends: the newest epoch both have with the same start
// offset; the logs agree up to the smaller of its end on either side.
// planResume then says: truncate there, or reset (drop the whole log and
// start empty at a segment boundary) when the master no longer has the
// point (retention) or the slave does not.
//
// # Epoch file (big-endian)
//
//	+-------------+-------------+--------------+-----------+
//	| magic u32   | version u16 | reserved u16 | count u32 |   header, 12 bytes
//	| "SLEP"      | 1           | 0            |           |
//	+-------------+-------------+--------------+-----------+
//	| epoch i64   | startOffset i64 |   × count (≤ 4096), epochs strictly
//	+-------------+-----------------+     increasing, starts non-decreasing
//	| CRC-32C u32 of every byte before it |
//	+-------------------------------------+
//
// The file is rewritten whole: tmp → fsync → rename → directory fsync. A
// file that fails any check is an error (ErrCorruptEpochFile), never
// reset.
//
// # Wire format (big-endian, TCP)
//
// Handshake messages share an envelope; the body length is checked
// against a cap (about 66 KiB) before it is read.
//
//	envelope: | magic u32 "SLHA" | version u16 (1) | kind u8 | 0 u8 | body length u32 |
//
//	hello (kind 1, slave → master):
//	| brokerId i64 | minOffset i64 | endOffset i64 | segmentSize i64 |
//	| nameLen u16 | brokerName (≤ 255) | count u32 | count × (epoch i64 | startOffset i64) |
//
//	reply (kind 2, master → slave), rejected:
//	| status u8 = 1 | reasonLen u16 | reason (≤ 1024) |
//
//	reply, accepted:
//	| status u8 = 0 | action u8 (0 truncate, 1 reset) | truncateTo i64 | startOffset i64 |
//	| masterMin i64 | masterEnd i64 | count u32 | count × (epoch i64 | startOffset i64) |
//
// A master refuses (with a reason, then closes) an unknown version, a
// broker name that is not its own, a slave id ≤ 0, a different commitlog
// segment size, and a slave that saw a newer epoch. After an accepted
// reply the slave cuts its log (truncate: store.TruncateReplica to
// truncateTo; reset: store.ResetTo(startOffset)), cuts its epoch file at
// min(truncateTo, startOffset), and its log must then end at startOffset.
//
// Then the master sends frames, the slave sends acks:
//
//	data (master → slave), 37-byte header then length bytes of commitlog:
//	| 'D' u8 | offset i64 | epoch i64 | epochStart i64 | masterEnd i64 | length u32 | bytes |
//
//	ack (slave → master), 9 bytes:
//	| 'A' u8 | offset i64 |
//
// offset must equal the slave's log end (else the slave reconnects and
// handshakes again). A frame never spans two epochs or two segments and
// normally holds whole records (a record bigger than MaxFrameData is
// split); length ≤ MaxFrameData (16 MiB) is checked before allocating.
// length 0 is a heartbeat, sent after HeartbeatInterval without data.
// The slave acks its log end after each batch it appends and at least
// every AckInterval. The master drops a connection whose ack is beyond
// its own log end (RocketMQ #3015) or beyond what it sent, goes
// backwards, or is not an ack; and one silent for IdleTimeout.
//
// Never change the constants of these formats; a new layout gets a new
// version.
//
// # Crash safety of truncation
//
// A slave cuts the log first and the epoch file second, both durably:
//   - store.TruncateReplica persists a checkpoint claiming nothing at or
//     beyond the cut before cutting (store.TruncateTo alone cuts first, and
//     a crash then leaves a checkpoint beyond the log end, which Open
//     reports as corruption: RocketMQ #10666); ResetTo likewise.
//   - A crash between the two leaves epoch entries starting at or beyond
//     the new log end. They are harmless: an entry's end is capped by the
//     log end, so they can only lower what the next handshake considers
//     common, and that handshake cuts the epoch file again.
//   - The other order would be unsafe: with the epoch file cut but the log
//     not, the slave's last common epoch would appear to extend over the
//     divergent tail, and the next handshake could keep it.
//
// A new epoch is persisted before its first bytes are appended; the other
// way round a crash would leave bytes whose epoch the file does not know,
// which the next handshake would attribute to the previous epoch.
//
// Known store-level gaps (outside this package): a periodic checkpoint
// that read the old flushed offset before a truncation and is written
// after it, or an async flush that read the old log end, can still record
// a flushed offset beyond the new end for up to one interval.
//
// # Acks and the in-sync set
//
// An ack means the bytes are written on the slave (page cache), as in
// RocketMQ; a slave's own flush policy decides when they are durable.
// WaitReplicated counts distinct connected slaves (by broker id; a
// reconnect replaces the old connection). A slave is in sync while it
// caught up with the master's end within NotInSyncAfter and lags by at
// most MaxLagInSync bytes; Slaves reports it, the broker decides how many
// acks a SYNC_MASTER put needs.
package ha
