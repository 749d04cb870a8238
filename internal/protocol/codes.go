// Package protocol holds Apache RocketMQ's request and response codes, the
// typed request/response headers carried in extFields, and the JSON bodies
// that Sluice's NameServer, broker and client exchange. Frames and transport
// live in internal/remoting; this package is what goes inside them.
//
// Every code and field name here is part of the wire format shared with
// Apache RocketMQ's clients and servers: never renumber or rename.
package protocol

// Request codes (Java RequestCode). Part of the wire format: never renumber.
const (
	SendMessage                   int16 = 10
	PullMessage                   int16 = 11
	QueryMessage                  int16 = 12
	QueryConsumerOffset           int16 = 14
	UpdateConsumerOffset          int16 = 15
	UpdateAndCreateTopic          int16 = 17
	GetAllTopicConfig             int16 = 21
	UpdateBrokerConfig            int16 = 25
	GetBrokerConfig               int16 = 26
	GetBrokerRuntimeInfo          int16 = 28
	SearchOffsetByTimestamp       int16 = 29
	GetMaxOffset                  int16 = 30
	GetMinOffset                  int16 = 31
	GetEarliestMsgStoreTime       int16 = 32
	ViewMessageByID               int16 = 33
	HeartBeat                     int16 = 34
	UnregisterClient              int16 = 35
	ConsumerSendMsgBack           int16 = 36
	EndTransaction                int16 = 37
	GetConsumerListByGroup        int16 = 38
	CheckTransactionState         int16 = 39
	NotifyConsumerIDsChanged      int16 = 40
	LockBatchMQ                   int16 = 41
	UnlockBatchMQ                 int16 = 42
	GetAllConsumerOffset          int16 = 43
	GetAllDelayOffset             int16 = 45
	CheckClientConfig             int16 = 46
	RegisterBroker                int16 = 103
	UnregisterBroker              int16 = 104
	GetRouteInfoByTopic           int16 = 105
	GetBrokerClusterInfo          int16 = 106
	UpdateAndCreateSubscription   int16 = 200
	GetAllSubscriptionGroupConfig int16 = 201
	GetTopicStatsInfo             int16 = 202
	GetConsumerConnectionList     int16 = 203
	GetAllTopicListFromNameServer int16 = 206
	DeleteSubscriptionGroup       int16 = 207
	GetConsumeStats               int16 = 208
	DeleteTopicInBroker           int16 = 215
	DeleteTopicInNameServer       int16 = 216
	ResetConsumerClientOffset     int16 = 220
	GetConsumerStatusFromClient   int16 = 221
	GetConsumerRunningInfo        int16 = 307
	ConsumeMessageDirectly        int16 = 309
	SendMessageV2                 int16 = 310
	SendBatchMessage              int16 = 320
	QueryDataVersion              int16 = 322
	SendReplyMessage              int16 = 324
	SendReplyMessageV2            int16 = 325
	PushReplyMessageToClient      int16 = 326
	UpdateNameServerConfig        int16 = 318
)

// Response codes (Java ResponseCode). Part of the wire format: never
// renumber.
const (
	Success                   int16 = 0
	SystemError               int16 = 1
	SystemBusy                int16 = 2
	RequestCodeNotSupported   int16 = 3
	FlushDiskTimeout          int16 = 10
	SlaveNotAvailable         int16 = 11
	FlushSlaveTimeout         int16 = 12
	MessageIllegal            int16 = 13
	ServiceNotAvailable       int16 = 14
	VersionNotSupported       int16 = 15
	NoPermission              int16 = 16
	TopicNotExist             int16 = 17
	TopicExistAlready         int16 = 18
	PullNotFound              int16 = 19
	PullRetryImmediately      int16 = 20
	PullOffsetMoved           int16 = 21
	QueryNotFound             int16 = 22
	SubscriptionParseFailed   int16 = 23
	SubscriptionNotExist      int16 = 24
	SubscriptionNotLatest     int16 = 25
	SubscriptionGroupNotExist int16 = 26
	InvalidParameter          int16 = 29
	ConsumerNotOnline         int16 = 206
)

// Topic permissions (Java PermName).
const (
	PermPriority int32 = 1 << 3
	PermRead     int32 = 1 << 2
	PermWrite    int32 = 1 << 1
	PermInherit  int32 = 1 << 0
	// PermReadWrite is what user topics get.
	PermReadWrite = PermRead | PermWrite
)

// PullMessage request sysFlag bits (Java PullSysFlag).
const (
	PullFlagCommitOffset int32 = 1 << 0
	PullFlagSuspend      int32 = 1 << 1
	PullFlagSubscription int32 = 1 << 2
	PullFlagClassFilter  int32 = 1 << 3
	PullFlagLitePull     int32 = 1 << 4
)

// ClientVersion is the version Apache RocketMQ's Go client sends (V4_5_2);
// NameServers answer requests older than LegacyRouteVersionLimit with legacy
// route JSON.
const (
	ClientVersion           int16 = 317
	LegacyRouteVersionLimit int16 = 401
)

// MasterID is the broker id of a broker set's master.
const MasterID int64 = 0
