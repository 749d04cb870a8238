package message

import (
	"strconv"
	"time"
)

// Magic codes in the MAGICCODE field. Part of the format: never change them.
const (
	// MagicV1 marks a stored record with a 1-byte topic length (0xDAA320A7).
	MagicV1 = int32(-626843481)
	// MagicV2 marks a stored record with a 2-byte topic length (0xDAA320AB).
	MagicV2 = int32(-626843477)
	// MagicBlank marks the END_FILE filler at the end of a commitlog segment
	// (0xCBD43194).
	MagicBlank = int32(-875286124)
)

// Size limits shared with Apache RocketMQ.
const (
	// MaxBodySize is the largest body a producer may send (4 MiB).
	MaxBodySize = 4 << 20
	// MaxPropertiesSize is the largest encoded properties string (PROPLEN is an i16).
	MaxPropertiesSize = 32767
	// MaxTopicLen is the longest topic name (TOPICLEN is an i8 in magic v1).
	MaxTopicLen = 127
	// MaxInflatedBodySize caps the output of inflating a compressed body, so a
	// zlib bomb cannot exhaust memory. Producers compress bodies that were at
	// most MaxBodySize before compression; four times that is generous.
	MaxInflatedBodySize = 4 * MaxBodySize
)

// SYSFLAG bits. Part of the format: never change them.
const (
	SysFlagCompressed          = int32(0x1)
	SysFlagMultiTags           = int32(0x2)
	SysFlagTransactionNotType  = int32(0x0)
	SysFlagTransactionPrepared = int32(0x4)
	SysFlagTransactionCommit   = int32(0x8)
	SysFlagTransactionRollback = int32(0xC)
	// SysFlagTransactionMask selects the transaction type bits.
	SysFlagTransactionMask = int32(0xC)
	SysFlagBornHostV6      = int32(0x10)
	SysFlagStoreHostV6     = int32(0x20)
	SysFlagNeedUnwrap      = int32(0x40)
	SysFlagInnerBatch      = int32(0x80)
	SysFlagCompressionZstd = int32(0x200)
	SysFlagCompressionZlib = int32(0x300)
)

// TransactionType returns the transaction bits of sysFlag (one of the
// SysFlagTransaction* values).
func TransactionType(sysFlag int32) int32 { return sysFlag & SysFlagTransactionMask }

// Property keys (Java MessageConst). Part of the format: never change them.
const (
	PropertyKeys                 = "KEYS" // space-separated, indexed by the store
	PropertyTags                 = "TAGS"
	PropertyUniqKey              = "UNIQ_KEY"
	PropertyWaitStoreMsgOK       = "WAIT" // absent means true
	PropertyDelayLevel           = "DELAY"
	PropertyRetryTopic           = "RETRY_TOPIC"
	PropertyRealTopic            = "REAL_TOPIC"
	PropertyRealQueueID          = "REAL_QID"
	PropertyTransactionPrepared  = "TRAN_MSG"
	PropertyProducerGroup        = "PGROUP"
	PropertyTransactionID        = "__transactionId__"
	PropertyTranPreparedQOffset  = "TRAN_PREPARED_QUEUE_OFFSET"
	PropertyTransactionCheckTime = "TRANSACTION_CHECK_TIMES"
	PropertyOriginMessageID      = "ORIGIN_MESSAGE_ID"
	PropertyReconsumeTime        = "RECONSUME_TIME"
	PropertyMaxReconsumeTimes    = "MAX_RECONSUME_TIMES"
	PropertyMinOffset            = "MIN_OFFSET"
	PropertyMaxOffset            = "MAX_OFFSET"
	PropertyCluster              = "CLUSTER"
	PropertyMsgRegion            = "MSG_REGION"
	PropertyTraceOn              = "TRACE_ON"
	PropertyShardingKeyGo        = "SHARDING_KEY"  // written by rocketmq-client-go
	PropertyShardingKey          = "__SHARDINGKEY" // Java's constant
	PropertyTimerDeliverMS       = "TIMER_DELIVER_MS"
	PropertyTimerDelaySec        = "TIMER_DELAY_SEC"
	PropertyTimerDelayMS         = "TIMER_DELAY_MS"
	PropertyTimerOutMS           = "TIMER_OUT_MS"
	PropertyCorrelationID        = "CORRELATION_ID"
	PropertyReplyToClient        = "REPLY_TO_CLIENT"
	PropertyTTL                  = "TTL"
	PropertyMsgType              = "MSG_TYPE"
	PropertyConsumeStartTime     = "CONSUME_START_TIME"
	PropertyInnerNum             = "INNER_NUM"
	// KeySeparator separates the tokens of the KEYS property.
	KeySeparator = " "
)

// System topics and prefixes.
const (
	TopicDefault         = "TBW102"
	TopicSchedule        = "SCHEDULE_TOPIC_XXXX"
	TopicTransactionHalf = "RMQ_SYS_TRANS_HALF_TOPIC"
	TopicTransactionOp   = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
	RetryTopicPrefix     = "%RETRY%"
	DLQTopicPrefix       = "%DLQ%"
)

// RetryTopic returns the retry topic of a consumer group.
func RetryTopic(group string) string { return RetryTopicPrefix + group }

// DLQTopic returns the dead-letter topic of a consumer group.
func DLQTopic(group string) string { return DLQTopicPrefix + group }

// delayLevels are the broker's default messageDelayLevel, level 1 first.
var delayLevels = [...]time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute,
	5 * time.Minute, 6 * time.Minute, 7 * time.Minute, 8 * time.Minute,
	9 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour,
}

// MaxDelayLevel is the highest delay level (2h).
const MaxDelayLevel = len(delayLevels)

// DelayLevelDuration returns the delay of level 1..MaxDelayLevel.
func DelayLevelDuration(level int) (time.Duration, bool) {
	if level < 1 || level > MaxDelayLevel {
		return 0, false
	}
	return delayLevels[level-1], true
}

// DelayLevelFromProperties returns the DELAY level in raw properties, clamped
// to MaxDelayLevel; 0 when absent or not a positive number.
func DelayLevelFromProperties(props []byte) int {
	v, ok := LookupProperty(props, PropertyDelayLevel)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(n, MaxDelayLevel)
}
