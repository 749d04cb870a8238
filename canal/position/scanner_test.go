package position

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"
)

// stream builds binlog events as a replica connection delivers them.
type stream struct {
	events []*replication.BinlogEvent
	pos    uint32
}

// fakeRotate is what the server sends first and on every file switch.
func (s *stream) fakeRotate(next string) {
	s.events = append(s.events, &replication.BinlogEvent{
		Header: &replication.EventHeader{EventType: replication.ROTATE_EVENT, Flags: replication.LOG_EVENT_ARTIFICIAL_F},
		Event:  &replication.RotateEvent{Position: 4, NextLogName: []byte(next)},
	})
	s.pos = 4
}

// add appends a real event of size bytes and returns where it starts.
func (s *stream) add(t replication.EventType, ts, size uint32, e replication.Event) uint32 {
	start := s.pos
	s.pos += size
	s.events = append(s.events, &replication.BinlogEvent{
		Header: &replication.EventHeader{EventType: t, Timestamp: ts, EventSize: size, LogPos: s.pos},
		Event:  e,
	})
	return start
}

func (s *stream) query(ts uint32, q string) uint32 {
	return s.add(replication.QUERY_EVENT, ts, 60, &replication.QueryEvent{Query: []byte(q)})
}

func (s *stream) xid(ts uint32) { s.add(replication.XID_EVENT, ts, 31, &replication.XIDEvent{}) }

func (s *stream) rows(ts uint32) {
	s.add(replication.TABLE_MAP_EVENT, ts, 50, &replication.TableMapEvent{})
	s.add(replication.WRITE_ROWS_EVENTv2, ts, 40, &replication.RowsEvent{})
}

func (s *stream) mysqlGTID(ts uint32, sid string, gno int64) uint32 {
	u := uuid.MustParse(sid)
	return s.add(replication.GTID_EVENT, ts, 65, &replication.GTIDEvent{SID: u[:], GNO: gno})
}

func (s *stream) anonymousGTID(ts uint32) uint32 {
	return s.add(replication.ANONYMOUS_GTID_EVENT, ts, 65, &replication.GTIDEvent{SID: make([]byte, 16)})
}

func (s *stream) mariaGTID(ts uint32, g mysql.MariadbGTID, flags byte) uint32 {
	return s.add(replication.MARIADB_GTID_EVENT, ts, 42, &replication.MariadbGTIDEvent{GTID: g, Flags: flags})
}

// scan runs a txnScanner over the stream.
func scan(t *testing.T, s *stream, flavor, first string, target uint32, end Position) Position {
	t.Helper()
	sc := &txnScanner{flavor: flavor, target: target, end: end, file: first}
	for _, ev := range s.events {
		p, done, err := sc.handle(ev)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return p
		}
	}
	t.Fatalf("target %d: the scan did not stop", target)
	return Position{}
}

func TestScannerMySQL(t *testing.T) {
	var s stream
	s.fakeRotate("binlog.000005")
	s.add(replication.FORMAT_DESCRIPTION_EVENT, 100, 122, &replication.FormatDescriptionEvent{})
	s.add(replication.PREVIOUS_GTIDS_EVENT, 100, 71, &replication.PreviousGTIDsEvent{GTIDSets: uuidA + ":1-10"})
	txn1 := s.mysqlGTID(105, uuidA, 11)
	s.query(105, "BEGIN")
	s.rows(105)
	s.xid(105)
	ddl := s.mysqlGTID(110, uuidA, 12)
	s.query(110, "CREATE TABLE t (id INT PRIMARY KEY)")
	anon := s.anonymousGTID(115)
	s.query(115, "BEGIN")
	s.rows(115)
	s.query(115, "COMMIT") // a non-transactional table
	s.add(replication.ROTATE_EVENT, 115, 44, &replication.RotateEvent{Position: 4, NextLogName: []byte("binlog.000006")})
	s.fakeRotate("binlog.000006")
	s.add(replication.FORMAT_DESCRIPTION_EVENT, 116, 122, &replication.FormatDescriptionEvent{})
	s.add(replication.PREVIOUS_GTIDS_EVENT, 116, 71, &replication.PreviousGTIDsEvent{GTIDSets: uuidA + ":1-12"})
	txn4 := s.mysqlGTID(120, uuidA, 13)
	s.query(120, "BEGIN")
	s.rows(120)
	s.xid(120)
	compressed := s.mysqlGTID(122, uuidA, 14) // binlog_transaction_compression
	s.add(replication.TRANSACTION_PAYLOAD_EVENT, 122, 300, &replication.TransactionPayloadEvent{})
	end := Position{Flavor: "mysql", File: "binlog.000006", Pos: s.pos}
	s.mysqlGTID(125, uuidA, 15) // written after the search began

	mysqlPos := func(file string, pos uint32, gtids string, ts uint32) Position {
		return Position{Flavor: "mysql", File: file, Pos: pos, GTIDSet: gtids, Timestamp: ts}
	}
	tests := []struct {
		target uint32
		want   Position
	}{
		{0, mysqlPos("binlog.000005", txn1, uuidA+":1-10", 100)},
		{105, mysqlPos("binlog.000005", txn1, uuidA+":1-10", 100)},
		{106, mysqlPos("binlog.000005", ddl, uuidA+":1-11", 105)},
		{110, mysqlPos("binlog.000005", ddl, uuidA+":1-11", 105)},
		{111, mysqlPos("binlog.000005", anon, uuidA+":1-12", 110)},
		{116, mysqlPos("binlog.000006", txn4, uuidA+":1-12", 116)},
		{121, mysqlPos("binlog.000006", compressed, uuidA+":1-13", 120)},
		{123, mysqlPos("binlog.000006", end.Pos, uuidA+":1-14", 122)},
	}
	for _, tc := range tests {
		if got := scan(t, &s, "mysql", "binlog.000005", tc.target, end); got != tc.want {
			t.Errorf("target %d:\n got %+v\nwant %+v", tc.target, got, tc.want)
		}
	}
}

// TestScannerWithoutGTIDs: servers that write no GTID events (MySQL 5.6
// without gtid_mode) start transactions with BEGIN or a lone DDL.
func TestScannerWithoutGTIDs(t *testing.T) {
	var s stream
	s.fakeRotate("mysql-bin.000001")
	s.add(replication.FORMAT_DESCRIPTION_EVENT, 100, 116, &replication.FormatDescriptionEvent{})
	txn1 := s.query(105, "BEGIN")
	s.rows(105)
	s.xid(105)
	ddl := s.query(110, "ALTER TABLE t ADD COLUMN c INT")
	txn3 := s.query(115, "BEGIN")
	s.query(115, "INSERT INTO t VALUES (1)") // statement-based, inside BEGIN
	s.query(116, "COMMIT")
	end := Position{Flavor: "mysql", File: "mysql-bin.000001", Pos: s.pos}
	for _, tc := range []struct {
		target, pos, ts uint32
	}{{101, txn1, 100}, {106, ddl, 105}, {111, txn3, 110}, {116, end.Pos, 116}} {
		want := Position{Flavor: "mysql", File: "mysql-bin.000001", Pos: tc.pos, Timestamp: tc.ts}
		if got := scan(t, &s, "mysql", "mysql-bin.000001", tc.target, end); got != want {
			t.Errorf("target %d:\n got %+v\nwant %+v", tc.target, got, want)
		}
	}
}

func TestScannerMariaDB(t *testing.T) {
	var s stream
	s.fakeRotate("binlog.000002")
	s.add(replication.FORMAT_DESCRIPTION_EVENT, 100, 252, &replication.FormatDescriptionEvent{})
	// The last GTID of a domain in the list is its latest.
	s.add(replication.MARIADB_GTID_LIST_EVENT, 100, 60, &replication.MariadbGTIDListEvent{GTIDs: []mysql.MariadbGTID{
		{DomainID: 0, ServerID: 1, SequenceNumber: 5}, {DomainID: 0, ServerID: 2, SequenceNumber: 9}, {DomainID: 1, ServerID: 1, SequenceNumber: 3}}})
	s.add(replication.MARIADB_BINLOG_CHECKPOINT_EVENT, 100, 40, &replication.MariadbBinlogCheckPointEvent{})
	ddl := s.mariaGTID(105, mysql.MariadbGTID{DomainID: 0, ServerID: 2, SequenceNumber: 10}, replication.BINLOG_MARIADB_FL_STANDALONE)
	s.query(105, "CREATE TABLE t (id INT PRIMARY KEY)")
	txn := s.mariaGTID(110, mysql.MariadbGTID{DomainID: 1, ServerID: 2, SequenceNumber: 4}, 0)
	s.rows(110)
	s.query(110, "COMMIT") // MyISAM: no XID
	last := s.mariaGTID(115, mysql.MariadbGTID{DomainID: 0, ServerID: 2, SequenceNumber: 11}, 0)
	s.rows(115)
	s.xid(115)
	end := Position{Flavor: "mariadb", File: "binlog.000002", Pos: s.pos}
	s.mariaGTID(120, mysql.MariadbGTID{DomainID: 0, ServerID: 2, SequenceNumber: 12}, 0)
	for _, tc := range []struct {
		target, pos uint32
		gtids       string
		ts          uint32
	}{
		{100, ddl, "0-2-9,1-1-3", 100},
		{106, txn, "0-2-10,1-1-3", 105},
		{111, last, "0-2-10,1-2-4", 110},
		{116, end.Pos, "0-2-11,1-2-4", 115},
	} {
		want := Position{Flavor: "mariadb", File: "binlog.000002", Pos: tc.pos, GTIDSet: tc.gtids, Timestamp: tc.ts}
		if got := scan(t, &s, "mariadb", "binlog.000002", tc.target, end); got != want {
			t.Errorf("target %d:\n got %+v\nwant %+v", tc.target, got, want)
		}
	}
}

// TestScannerStopsAtTheEnd: a transaction whose end the scanner does not
// recognise still cannot keep it reading past the end of the binlog: the
// next transaction starting there is the end.
func TestScannerStopsAtTheEnd(t *testing.T) {
	var s stream
	s.fakeRotate("binlog.000001")
	s.add(replication.FORMAT_DESCRIPTION_EVENT, 100, 252, &replication.FormatDescriptionEvent{})
	s.mariaGTID(105, mysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 1}, 0)
	s.rows(105)
	s.add(replication.UNKNOWN_EVENT, 105, 20, &replication.GenericEvent{}) // not an XID
	end := Position{Flavor: "mariadb", File: "binlog.000001", Pos: s.pos}
	next := s.mariaGTID(130, mysql.MariadbGTID{DomainID: 0, ServerID: 1, SequenceNumber: 2}, 0)
	want := Position{Flavor: "mariadb", File: "binlog.000001", Pos: next, GTIDSet: "0-1-1", Timestamp: 105}
	if got := scan(t, &s, "mariadb", "binlog.000001", 200, end); got != want || next != end.Pos {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
