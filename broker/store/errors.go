package store

import (
	"errors"
	"fmt"
)

// Sentinel errors the broker maps to response codes (see the package doc).
var (
	// ErrMessageIllegal: the message breaks a rule (topic, queue id, size).
	// Maps to MESSAGE_ILLEGAL (13).
	ErrMessageIllegal = errors.New("store: message illegal")
	// ErrPropertiesTooLong: properties exceed 32767 bytes. Maps to
	// MESSAGE_ILLEGAL (13).
	ErrPropertiesTooLong = errors.New("store: properties too long")
	// ErrServiceNotAvailable: the store is closed, or unwritable after a
	// write or sync error. Maps to SERVICE_NOT_AVAILABLE (14) so the
	// producer retries elsewhere.
	ErrServiceNotAvailable = errors.New("store: service not available")
	// ErrFlushTimeout: the record is written but no fdatasync covered it
	// within SyncFlushTimeout. Maps to FLUSH_DISK_TIMEOUT (10).
	ErrFlushTimeout = errors.New("store: flush disk timeout")
	// ErrClosed: the store is closed.
	ErrClosed = fmt.Errorf("%w: closed", ErrServiceNotAvailable)
	// ErrOffsetOutOfRange: a physical offset is outside the stored log.
	ErrOffsetOutOfRange = errors.New("store: offset out of range")
)

// CorruptionErr reports data that was durable but does not validate. Open
// returns it instead of skipping good data that may follow, unless
// Options.Repair is set.
type CorruptionErr struct {
	// Segment is the file (commitlog segment, ConsumeQueue file, checkpoint).
	Segment string
	// Offset is the byte offset: a commitlog offset for commitlog
	// corruption, else the offset within the file.
	Offset int64
	// Reason says what failed to validate.
	Reason string
}

func (e *CorruptionErr) Error() string {
	return fmt.Sprintf("store: corruption in %s at offset %d: %s", e.Segment, e.Offset, e.Reason)
}
