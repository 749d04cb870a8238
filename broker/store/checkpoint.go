package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"

	"github.com/sluicehq/sluice/broker/store/vfs"
)

// Checkpoint layout: one 4 KiB page. Part of the format: never change.
const (
	checkpointSize  = 4096
	checkpointMagic = uint32(0x534C434B) // "SLCK"
	checkpointUsed  = 72                 // bytes covered by the CRC
)

// checkpoint is the store's progress record. The first 40 bytes are
// RocketMQ's StoreCheckpoint; Sluice adds a magic, the durable commitlog
// end and the dispatched offset, and a CRC over all of it.
type checkpoint struct {
	PhysicMsgTimestamp  int64 // store time of the last flushed record
	LogicsMsgTimestamp  int64 // store time of the last record with a durable CQ entry
	IndexMsgTimestamp   int64 // store time of the last record with a durable index entry
	MasterFlushedOffset int64 // for replication; the flushed offset here
	ConfirmPhyOffset    int64 // ConfirmedOffset when written
	// FlushedOffset: every commitlog byte below it was durable when the
	// checkpoint was written. A bad record below it is corruption.
	FlushedOffset int64
	// DispatchedOffset: every record below it has durable CQ and index
	// entries. Recovery re-dispatches from here.
	DispatchedOffset int64
}

func (c *checkpoint) encode() []byte {
	b := make([]byte, checkpointSize)
	be := binary.BigEndian
	for i, v := range []int64{c.PhysicMsgTimestamp, c.LogicsMsgTimestamp, c.IndexMsgTimestamp, c.MasterFlushedOffset, c.ConfirmPhyOffset} {
		be.PutUint64(b[i*8:], uint64(v))
	}
	be.PutUint32(b[40:], checkpointMagic)
	be.PutUint64(b[48:], uint64(c.FlushedOffset))
	be.PutUint64(b[56:], uint64(c.DispatchedOffset))
	be.PutUint32(b[checkpointUsed-4:], crc32.ChecksumIEEE(b[:checkpointUsed-4]))
	return b
}

// decodeCheckpoint parses a checkpoint page; it never panics.
func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if len(b) < checkpointUsed {
		return c, fmt.Errorf("checkpoint is %d bytes", len(b))
	}
	be := binary.BigEndian
	if be.Uint32(b[40:]) != checkpointMagic {
		return c, errors.New("checkpoint magic mismatch")
	}
	if crc32.ChecksumIEEE(b[:checkpointUsed-4]) != be.Uint32(b[checkpointUsed-4:]) {
		return c, errors.New("checkpoint crc mismatch")
	}
	vals := []*int64{&c.PhysicMsgTimestamp, &c.LogicsMsgTimestamp, &c.IndexMsgTimestamp, &c.MasterFlushedOffset, &c.ConfirmPhyOffset}
	for i, p := range vals {
		*p = int64(be.Uint64(b[i*8:]))
	}
	c.FlushedOffset = int64(be.Uint64(b[48:]))
	c.DispatchedOffset = int64(be.Uint64(b[56:]))
	if c.FlushedOffset < 0 || c.DispatchedOffset < 0 {
		return c, errors.New("checkpoint holds a negative offset")
	}
	return c, nil
}

// readCheckpoint loads the checkpoint; ok is false when there is none.
func readCheckpoint(fsys vfs.FS, name string) (c checkpoint, ok bool, err error) {
	b, err := vfs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err = decodeCheckpoint(b)
	if err != nil {
		return c, false, &CorruptionErr{Segment: name, Reason: err.Error()}
	}
	return c, true, nil
}

// writeCheckpoint replaces the checkpoint atomically: tmp, fdatasync,
// rename, directory fsync. An in-place overwrite would be one fsync cheaper
// but a torn page would lose the only copy; once a second is cheap.
func writeCheckpoint(fsys vfs.FS, name string, c checkpoint) error {
	if err := vfs.WriteFileAtomic(fsys, name, c.encode()); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}
