package canal

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"
)

// XA transactions (MariaDB ≥ 10.5, MySQL ≥ 5.7 binlog them in two
// groups): the first holds the rows and ends with XA END and an
// XA_PREPARE event; a later group holds "XA COMMIT xid" or
// "XA ROLLBACK xid". The rows are published at the commit, dropped at the
// rollback. Meanwhile the prepared transaction stays open in the tracker,
// so the saved position never passes its start until it is resolved; the
// prepared transaction's row locks keep other transactions off its keys,
// so publishing at the commit keeps every key's order.

// xaQuery handles the XA statements of the binlog; handled is false for
// other statements.
func (s *stream) xaQuery(h *replication.EventHeader, q string) (handled bool, err error) {
	upper := strings.ToUpper(q)
	switch {
	case strings.HasPrefix(upper, "XA START"), strings.HasPrefix(upper, "XA BEGIN"):
		if s.cur == nil {
			s.begin("")
		}
		return true, nil
	case strings.HasPrefix(upper, "XA END"):
		if s.cur == nil {
			s.begin("")
		}
		s.cur.xa = xaID(q[len("XA END"):])
		return true, nil
	case strings.HasPrefix(upper, "XA COMMIT"):
		rest := strings.TrimSpace(q[len("XA COMMIT"):])
		onePhase := strings.HasSuffix(strings.ToUpper(rest), "ONE PHASE")
		if onePhase {
			rest = strings.TrimSpace(rest[:len(rest)-len("ONE PHASE")])
		}
		return true, s.xaResolve(h, xaID(rest), true)
	case strings.HasPrefix(upper, "XA ROLLBACK"):
		return true, s.xaResolve(h, xaID(q[len("XA ROLLBACK"):]), false)
	}
	return false, nil
}

// xaID normalises an xid as the binlog spells it: X'…',X'…',n.
func xaID(s string) string { return strings.Join(strings.Fields(s), "") }

// xaPrepare ends the first group of an XA transaction: its events wait
// for the commit.
func (s *stream) xaPrepare(h *replication.EventHeader) error {
	c := s.cur
	if c == nil || c.xa == "" {
		return fatal{fmt.Errorf("XA PREPARE at %s:%d without an XA END before it", s.file, h.LogPos-h.EventSize)}
	}
	if c.flushed {
		return fatal{fmt.Errorf("XA transaction %s at %s is larger than txn_buffer_bytes (%d): its events went out before it was committed",
			c.xa, s.file, s.in.cfg.TxnBufferBytes)}
	}
	if err := s.executed(c.gtid); err != nil {
		return err
	}
	s.cur = nil
	c.prepEnd = s.point(h)
	s.prepared[c.xa] = c
	return nil
}

// xaResolve publishes (commit) or drops (rollback) a prepared XA
// transaction's events, then ends the statement's own group.
func (s *stream) xaResolve(h *replication.EventHeader, id string, commit bool) error {
	if c := s.cur; c != nil && c.xa == id {
		// One phase: the rows are in this very group.
		if commit {
			return s.commit(h, 0)
		}
		c.msgs = nil
		return s.commit(h, 0)
	}
	if c, ok := s.prepared[id]; ok {
		delete(s.prepared, id)
		if commit {
			for i := range c.msgs {
				if m := &c.msgs[i]; m.xidAt >= 0 {
					patchXID(m.body, m.xidAt, 0)
				}
			}
			if err := s.in.pub.publishAll(c.msgs, c.t); err != nil {
				return err
			}
		}
		s.in.tracker.end(c.t, c.prepEnd)
	}
	// Unknown xid: prepared before the position this run started from, so
	// its events were published and acknowledged by an earlier run.
	return s.commit(h, 0)
}
