package message

import "errors"

// Errors returned by the decoders and validators. Callers branch on them with
// errors.Is; they are returned unwrapped on hot paths so no allocation happens.
var (
	// ErrTruncated means the input ends inside a record or field.
	ErrTruncated = errors.New("message: truncated")
	// ErrBadMagic means MAGICCODE is neither v1, v2 nor blank.
	ErrBadMagic = errors.New("message: bad magic code")
	// ErrBlank means the input starts with an END_FILE filler, not a record.
	ErrBlank = errors.New("message: end-of-file filler")
	// ErrSizeMismatch means TOTALSIZE disagrees with the field lengths, or a
	// length field is negative or out of range.
	ErrSizeMismatch = errors.New("message: size mismatch")
	// ErrCRCMismatch means BODYCRC does not match the body.
	ErrCRCMismatch = errors.New("message: body crc mismatch")
	// ErrTopicInvalid means a topic name is empty, too long or has a
	// character outside [%|a-zA-Z0-9_-].
	ErrTopicInvalid = errors.New("message: invalid topic")
	// ErrPropertiesInvalid means a property key or value contains 0x01 or
	// 0x02, or a key is empty.
	ErrPropertiesInvalid = errors.New("message: invalid properties")
	// ErrPropertiesTooLong means the encoded properties exceed MaxPropertiesSize.
	ErrPropertiesTooLong = errors.New("message: properties too long")
	// ErrBodyTooLarge means a body exceeds MaxBodySize (or, when inflating,
	// MaxInflatedBodySize).
	ErrBodyTooLarge = errors.New("message: body too large")
	// ErrBadMsgID means an offsetMsgId is not 32 or 56 hex characters with a
	// valid port and offset.
	ErrBadMsgID = errors.New("message: invalid message id")
)
