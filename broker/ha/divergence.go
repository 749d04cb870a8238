package ha

import "sort"

// DivergencePoint returns the offset a slave must truncate its log to before
// it can append the master's bytes (Kafka's leader-epoch truncation,
// KIP-101/KIP-279): find the newest epoch both lists hold with the same
// start offset; the logs agree up to the smaller of that epoch's end on
// the master and on the slave (EndOffset, capped by each log end). With no
// common epoch nothing is known to agree and the answer is 0: a full resync
// (the caller moves it up to the master's MinPhysicalOffset, see
// planResume).
//
// Why this is safe: an epoch number is used by one master only, and every
// replica records (epoch, start) exactly as that master did, so two
// replicas holding the same entry got that epoch's bytes from the same
// master, on top of the same prefix. Within the epoch they agree as far as
// both have it. Entries a slave left beyond its log end (an interrupted
// truncation) only lower its end for that epoch, never raise it.
func DivergencePoint(master []EpochEntry, masterEnd int64, slave []EpochEntry, slaveEnd int64) int64 {
	for i := len(slave) - 1; i >= 0; i-- {
		e := slave[i]
		j := sort.Search(len(master), func(j int) bool { return master[j].Epoch >= e.Epoch })
		if j == len(master) || master[j] != e {
			continue
		}
		point := min(entryEnd(master, j, masterEnd), entryEnd(slave, i, slaveEnd))
		return max(point, 0)
	}
	return 0
}

// entryEnd is where entry i's records end in a log ending at logEnd.
func entryEnd(es []EpochEntry, i int, logEnd int64) int64 {
	if i+1 < len(es) {
		return min(es[i+1].StartOffset, logEnd)
	}
	return logEnd
}

// resumeAction tells a slave how to prepare its log after the handshake.
// Part of the wire format: never renumber.
type resumeAction uint8

const (
	// actionTruncate: cut the log at the divergence point (a no-op when it
	// is the log end) and continue there.
	actionTruncate resumeAction = 0
	// actionReset: drop the whole log and continue, empty, at StartOffset
	// (store.ResetTo).
	actionReset resumeAction = 1
)

// planResume turns a divergence point into what the slave does and where
// streaming starts:
//   - below the master's MinPhysicalOffset the master no longer has the
//     bytes the slave needs next (retention deleted them): the slave resets
//     to the master's oldest segment, losing nothing it could have kept;
//   - below the slave's MinPhysicalOffset (the slave's own retention went
//     further and nothing it holds is common): it resets to the start of
//     the segment holding the point, which the master still has;
//   - otherwise it truncates to the point.
//
// Resets are segment-aligned because a store's log starts at a segment
// boundary (store.ResetTo); masterMin always is one.
func planResume(point, masterMin, slaveMin, segSize int64) (resumeAction, int64) {
	switch {
	case point < masterMin:
		return actionReset, masterMin
	case point < slaveMin:
		return actionReset, point - point%segSize
	default:
		return actionTruncate, point
	}
}
