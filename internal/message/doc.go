// Package message holds Apache RocketMQ's message formats, shared by the
// broker, the store and the client: the stored record (the commitlog entry,
// which is also the PULL response body and the CHECK_TRANSACTION_STATE body),
// the SEND_BATCH_MESSAGE body, the properties string, message ids and the tag
// hash. It imports nothing of Sluice's.
//
// All integers are big-endian. Every constant below is part of the on-disk and
// wire format shared with Apache RocketMQ: never change them.
//
// # Stored record (magic v1)
//
//	off  size  field
//	  0     4  TOTALSIZE       i32, whole record including this field
//	  4     4  MAGICCODE       i32, MagicV1 (0xDAA320A7); MagicV2 (0xDAA320AB) only decoded
//	  8     4  BODYCRC         i32, crc32.ChecksumIEEE(body) & 0x7FFFFFFF
//	 12     4  QUEUEID         i32
//	 16     4  FLAG            i32, opaque to the broker
//	 20     8  QUEUEOFFSET     i64, index of the entry in its ConsumeQueue
//	 28     8  PHYSICALOFFSET  i64, offset of this record in the commitlog
//	 36     4  SYSFLAG         i32, see SysFlag*
//	 40     8  BORNTIMESTAMP   i64, ms since epoch
//	 48   8|20 BORNHOST        ip4 + i32 port, or ip6 + i32 port if SYSFLAG&0x10
//	  .     8  STORETIMESTAMP  i64, ms since epoch
//	  .   8|20 STOREHOST       ip4 + i32 port, or ip6 + i32 port if SYSFLAG&0x20
//	  .     4  RECONSUMETIMES  i32
//	  .     8  PREPARED_TX_OFF i64
//	  .     4  BODYLEN         i32, then BODYLEN bytes of body
//	  .     1  TOPICLEN        i8 (v1) or i16 (v2), then the topic
//	  .     2  PROPLEN         i16, then PROPLEN bytes of properties
//
// With IPv4 hosts the fixed part is 91 bytes (RecordOverhead). The store fills
// QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP under its append lock with
// PutQueueOffset, PutPhysicalOffset and PutStoreTimestamp, after encoding the
// rest outside the lock.
//
// # End of a commitlog segment (END_FILE)
//
//	+----------------+-------------------------+
//	| free i32       | MagicBlank (0xCBD43194) |   then free-8 bytes of anything
//	+----------------+-------------------------+
//
// # Batch body (SEND_BATCH_MESSAGE, code 320)
//
// A concatenation of
//
//	TOTALSIZE i32 | MAGIC i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 | body | PROPLEN i16 | props
//
// with TOTALSIZE = 22 + BODYLEN + PROPLEN. The broker turns each item into a
// stored record of the batch's topic and queue.
//
// # Properties
//
//	key 0x01 value 0x02 key 0x01 value 0x02 ...
//
// A trailing 0x02 is optional. Decoding splits on 0x02, then on 0x01, and
// keeps only items with exactly two parts (what the Go client does). At most
// MaxPropertiesSize bytes.
//
// # Message ids
//
// offsetMsgId = uppercase hex(store ip ‖ i32 port ‖ i64 PHYSICALOFFSET):
// 32 characters for IPv4, 56 for IPv6. The client-side id (UNIQ_KEY) is
// uppercase hex(ip ‖ i16 pid ‖ i32 random) ‖ hex(i32 ms since the start of
// the month ‖ i16 counter).
package message
