package ha

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrReplicationTimeout: WaitReplicated's slaves did not acknowledge in
	// time. The message is stored on the master; RocketMQ maps this to
	// FLUSH_SLAVE_TIMEOUT (12).
	ErrReplicationTimeout = errors.New("ha: replication timeout")
	// ErrClosed: the Master or Slave is closed.
	ErrClosed = errors.New("ha: closed")
	// ErrCorruptEpochFile: the epoch file does not decode (magic, version,
	// length, CRC or entry order).
	ErrCorruptEpochFile = errors.New("ha: corrupt epoch file")
	// ErrProtocol: a peer sent something the protocol does not allow
	// (malformed or oversized frame, wrong offset, unknown kind). The
	// connection is closed.
	ErrProtocol = errors.New("ha: protocol error")
	// ErrRejected: the master refused the slave's handshake; the error
	// carries the master's reason.
	ErrRejected = errors.New("ha: handshake rejected")
	// ErrFenced: a peer's epoch is older than one already seen (a stale
	// master). Replication from it is refused.
	ErrFenced = errors.New("ha: fenced by a newer epoch")
)
