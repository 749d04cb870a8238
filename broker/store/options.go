package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/sluicehq/sluice/broker/store/vfs"
	"github.com/sluicehq/sluice/internal/message"
)

// FlushMode says when a put counts as stored.
type FlushMode int

const (
	// FlushAsync (ASYNC_FLUSH): a put is done once its bytes are in the page
	// cache; a flusher fdatasyncs periodically. Consumers see data as soon as
	// it is written.
	FlushAsync FlushMode = iota
	// FlushSync (SYNC_FLUSH): WaitDurable reports success only after a group
	// commit fdatasync covers the record, and consumers see only synced data.
	FlushSync
)

// String returns the RocketMQ name of the mode.
func (m FlushMode) String() string {
	if m == FlushSync {
		return "SYNC_FLUSH"
	}
	return "ASYNC_FLUSH"
}

// Options configures a Store. Start from DefaultOptions.
type Options struct {
	// Dir is the store root (commitlog/, consumequeue/, index/, checkpoint,
	// abort, lock). Required.
	Dir string
	// SegmentSize is the size of a commitlog segment in bytes. Default 1 GiB.
	// Never change it for an existing store.
	SegmentSize int64
	// CQEntriesPerFile is the number of 20-byte entries per ConsumeQueue
	// file. Default 300,000 (6,000,000-byte files).
	CQEntriesPerFile int
	// FlushMode is FlushAsync (default) or FlushSync.
	FlushMode FlushMode
	// FlushInterval is the async flush period. Default 500ms.
	FlushInterval time.Duration
	// FlushLeastPages is the number of dirty 4 KiB pages an async flush waits
	// for, unless FlushThoroughInterval has passed. Default 4.
	FlushLeastPages int
	// FlushThoroughInterval forces an async flush of any dirty data. Default 10s.
	FlushThoroughInterval time.Duration
	// SyncFlushTimeout bounds WaitDurable; past it the callback gets
	// ErrFlushTimeout (FLUSH_DISK_TIMEOUT). Default 5s.
	SyncFlushTimeout time.Duration
	// MaxMessageSize bounds a whole stored record (and a batch write) in
	// bytes. Default 4 MiB. Must be at most SegmentSize-8.
	MaxMessageSize int
	// Prewrite zero-fills the active segment ahead of the writer and creates
	// the next segment before it is needed, so fdatasync overwrites
	// allocated blocks (about 2× faster on ext4). Default true.
	Prewrite bool
	// MetaFlushInterval is how often ConsumeQueues and the index are synced
	// and the checkpoint written. Default 1s.
	MetaFlushInterval time.Duration
	// FileReservedTime is how long a commitlog segment is kept after its last
	// message. Default 72h.
	FileReservedTime time.Duration
	// DeleteWhen is the local hour (0-23) at which expired segments are
	// deleted. Default 4.
	DeleteWhen int
	// DiskMaxUsedRatio is the disk-used ratio above which the oldest
	// segments are deleted at once, expired or not. Default 0.75.
	DiskMaxUsedRatio float64
	// CleanInterval is how often retention runs. Default 10s.
	CleanInterval time.Duration
	// DiskUsedRatio reports the used fraction of the disk holding Dir.
	// Default: statfs(2) of Dir.
	DiskUsedRatio func() (float64, error)
	// IndexEnabled builds the key index used by QueryByKey. Default true.
	IndexEnabled bool
	// IndexMaxHashSlots is the number of hash slots per index file. Default 5,000,000.
	IndexMaxHashSlots int
	// IndexMaxCount is the number of entries per index file. Default 20,000,000.
	IndexMaxCount int
	// Repair lets Open truncate the commitlog at a corrupt record below the
	// checkpointed flushed offset (losing what follows) instead of failing
	// with *CorruptionErr. Default false.
	Repair bool
	// StoreHost is written as STOREHOST into records that have none.
	StoreHost netip.AddrPort
	// FS is the file system. Default vfs.OS.
	FS vfs.FS
	// Now is the wall clock (store timestamps, retention). Default time.Now.
	Now func() time.Time
	// Logger receives the store's logs. Default: discard.
	Logger *slog.Logger
}

// DefaultOptions returns Options with every default set and Dir empty.
func DefaultOptions() Options {
	return Options{
		SegmentSize:           1 << 30,
		CQEntriesPerFile:      300_000,
		FlushMode:             FlushAsync,
		FlushInterval:         500 * time.Millisecond,
		FlushLeastPages:       4,
		FlushThoroughInterval: 10 * time.Second,
		SyncFlushTimeout:      5 * time.Second,
		MaxMessageSize:        message.MaxBodySize,
		Prewrite:              true,
		MetaFlushInterval:     time.Second,
		FileReservedTime:      72 * time.Hour,
		DeleteWhen:            4,
		DiskMaxUsedRatio:      0.75,
		CleanInterval:         10 * time.Second,
		IndexEnabled:          true,
		IndexMaxHashSlots:     5_000_000,
		IndexMaxCount:         20_000_000,
		StoreHost:             netip.AddrPortFrom(netip.IPv4Unspecified(), 10911),
		FS:                    vfs.OS,
		Now:                   time.Now,
	}
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Dir != "", "store: Dir is required")
	check(o.SegmentSize >= 4096 && o.SegmentSize <= 1<<31-1, "store: SegmentSize %d out of [4096, 2^31)", o.SegmentSize)
	check(o.CQEntriesPerFile > 0, "store: CQEntriesPerFile must be positive")
	check(o.FlushMode == FlushAsync || o.FlushMode == FlushSync, "store: unknown FlushMode %d", o.FlushMode)
	check(o.FlushInterval > 0 && o.FlushThoroughInterval > 0 && o.MetaFlushInterval > 0 && o.CleanInterval > 0,
		"store: flush and clean intervals must be positive")
	check(o.SyncFlushTimeout > 0, "store: SyncFlushTimeout must be positive")
	check(o.MaxMessageSize >= message.RecordOverhead && int64(o.MaxMessageSize) <= o.SegmentSize-message.BlankSize,
		"store: MaxMessageSize %d must be in [%d, SegmentSize-8]", o.MaxMessageSize, message.RecordOverhead)
	check(o.DeleteWhen >= 0 && o.DeleteWhen < 24, "store: DeleteWhen %d is not an hour", o.DeleteWhen)
	check(o.DiskMaxUsedRatio > 0 && o.DiskMaxUsedRatio <= 1, "store: DiskMaxUsedRatio %v out of (0, 1]", o.DiskMaxUsedRatio)
	check(!o.IndexEnabled || (o.IndexMaxHashSlots > 0 && o.IndexMaxCount > 1), "store: index sizes must be positive")
	check(o.FS != nil && o.Now != nil, "store: FS and Now are required")
	return errors.Join(errs...)
}
