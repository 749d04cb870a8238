package position

import (
	"strings"
	"testing"
)

const (
	uuidA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uuidB = "4a6b2c10-0000-11e1-9e33-c80aa9429562"
)

func TestPositionParse(t *testing.T) {
	good := []struct {
		in   string
		want Position
	}{
		{"binlog.000003:1234", Position{File: "binlog.000003", Pos: 1234}},
		{"binlog.000003:4", Position{File: "binlog.000003", Pos: 4}},
		{"  mysql-bin.1000000:4294967295\n", Position{File: "mysql-bin.1000000", Pos: 4294967295}},
		{"my.host-bin.000001:120", Position{File: "my.host-bin.000001", Pos: 120}},
		{"gtid:0-1-100", Position{Flavor: "mariadb", GTIDSet: "0-1-100"}},
		{"gtid:1-2-7, 0-1-100", Position{Flavor: "mariadb", GTIDSet: "0-1-100,1-2-7"}},
		{"GTID:10-1-5,2-1-9", Position{Flavor: "mariadb", GTIDSet: "2-1-9,10-1-5"}},
		{"mariadb-gtid:0-1-100", Position{Flavor: "mariadb", GTIDSet: "0-1-100"}},
		{"gtid:" + uuidA + ":1-100", Position{Flavor: "mysql", GTIDSet: uuidA + ":1-100"}},
		{"gtid:" + strings.ToUpper(uuidA) + ":1-5:7,\n" + uuidB + ":3", Position{Flavor: "mysql", GTIDSet: uuidA + ":1-5:7," + uuidB + ":3"}},
		{"mysql-gtid:" + uuidA + ":1-3:4-6", Position{Flavor: "mysql", GTIDSet: uuidA + ":1-6"}},
		{"mysql-gtid:" + uuidA + ":5", Position{Flavor: "mysql", GTIDSet: uuidA + ":5"}},
	}
	for _, tc := range good {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", `position "": empty: want FILE:POS (e.g. binlog.000003:1234) or gtid:SET`},
		{"   ", `position "   ": empty: want FILE:POS (e.g. binlog.000003:1234) or gtid:SET`},
		{"binlog.000003", `position "binlog.000003": missing :POS (e.g. binlog.000003:4)`},
		{"binlog.000003:", `position "binlog.000003:": POS "" is not a number`},
		{"binlog.000003:abc", `position "binlog.000003:abc": POS "abc" is not a number`},
		{"binlog.000003:-4", `position "binlog.000003:-4": POS "-4" is not a number`},
		{"binlog.000003:4294967296", `position "binlog.000003:4294967296": POS 4294967296 is out of range (at most 4294967295)`},
		{"binlog.000003:0", `position "binlog.000003:0": offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4`},
		{"binlog.000003:3", `position "binlog.000003:3": offset 3 is inside the file header; events start at 4`},
		{":4", `position ":4": empty binlog file name`},
		{"binlog:4", `position "binlog:4": binlog file name "binlog" has no numeric suffix (e.g. binlog.000003)`},
		{"binlog.:4", `position "binlog.:4": binlog file name "binlog." has no numeric suffix (e.g. binlog.000003)`},
		{"binlog.00a:4", `position "binlog.00a:4": binlog file name "binlog.00a" has no numeric suffix (e.g. binlog.000003)`},
		{"/var/lib/mysql/binlog.000003:4", `position "/var/lib/mysql/binlog.000003:4": binlog file name "/var/lib/mysql/binlog.000003" contains '/'`},
		{"bin log.000003:4", `position "bin log.000003:4": binlog file name "bin log.000003" contains ' '`},
		{"a:b.000003:4", `position "a:b.000003:4": binlog file name "a:b.000003" contains ':'`},
		{"0-1-100", `position "0-1-100": a GTID set needs the gtid: prefix (gtid:0-1-100)`},
		{uuidA + ":1-5", `position "` + uuidA + `:1-5": a GTID set needs the gtid: prefix (gtid:` + uuidA + `:1-5)`},
		{"gtid:", `position "gtid:": empty GTID set`},
		{"gtid: ", `position "gtid: ": empty GTID set`},
		{"gtid:0-1-5,", `position "gtid:0-1-5,": empty element in GTID set "0-1-5,"`},
		{"gtid:0-1", `position "gtid:0-1": "0-1" is neither a MariaDB GTID (DOMAIN-SERVER-SEQ) nor a MySQL one (UUID:INTERVAL)`},
		{"gtid:0-1-x", `position "gtid:0-1-x": "0-1-x" is neither a MariaDB GTID (DOMAIN-SERVER-SEQ) nor a MySQL one (UUID:INTERVAL)`},
		{"gtid:0-1-5," + uuidA + ":1", `position "gtid:0-1-5,` + uuidA + `:1": the GTID set mixes MariaDB and MySQL GTIDs`},
		{"gtid:0-1-5,0-2-7", `position "gtid:0-1-5,0-2-7": two GTIDs for domain 0 (0-1-5, 0-2-7); a position holds one per domain`},
		{"gtid:4294967296-1-5", `position "gtid:4294967296-1-5": "4294967296-1-5" is neither a MariaDB GTID (DOMAIN-SERVER-SEQ) nor a MySQL one (UUID:INTERVAL)`},
		{"mariadb-gtid:" + uuidA + ":1-5", `position "mariadb-gtid:` + uuidA + `:1-5": "` + uuidA + `:1-5" is not a MariaDB GTID (DOMAIN-SERVER-SEQ)`},
		{"mysql-gtid:0-1-5", `position "mysql-gtid:0-1-5": "0-1-5" is not a MySQL GTID (UUID:INTERVAL[:INTERVAL…])`},
		{"mysql-gtid:" + uuidA, `position "mysql-gtid:` + uuidA + `": "` + uuidA + `" is not a MySQL GTID (UUID:INTERVAL[:INTERVAL…])`},
		{"gtid:" + uuidA + ":5-3", `position "gtid:` + uuidA + `:5-3": "` + uuidA + `:5-3": interval "5-3" ends before it starts`},
		{"gtid:" + uuidA + ":0-3", `position "gtid:` + uuidA + `:0-3": "` + uuidA + `:0-3": interval "0-3" starts at 0; GTID numbers start at 1`},
		{"gtid:" + uuidA + ":1-", `position "gtid:` + uuidA + `:1-": "` + uuidA + `:1-": interval "1-" is not N or N-M`},
		{"gtid:" + uuidA + ":", `position "gtid:` + uuidA + `:": "` + uuidA + `:": empty interval`},
		{"gtid:" + uuidA + ":tag:1-5", `position "gtid:` + uuidA + `:tag:1-5": "` + uuidA + `:tag:1-5": tagged GTIDs ("tag") are not supported`},
		{"gtid:" + uuidA + ":1-9223372036854775807", `position "gtid:` + uuidA + `:1-9223372036854775807": "` + uuidA + `:1-9223372036854775807": interval "1-9223372036854775807" ends at the largest number`},
		{"maria-gtid:0-1-5", `position "maria-gtid:0-1-5": unknown prefix "maria-gtid:" (want gtid:, mariadb-gtid: or mysql-gtid:)`},
	}
	for _, tc := range bad {
		got, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error %s", tc.in, got, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestPositionString(t *testing.T) {
	tests := []struct {
		p    Position
		want string
	}{
		{Position{}, "none"},
		{Position{Flavor: "mariadb", Timestamp: 7}, "none"},
		{Position{File: "binlog.000003", Pos: 1234}, "binlog.000003:1234"},
		{Position{Flavor: "mariadb", GTIDSet: "0-1-100"}, "mariadb-gtid:0-1-100"},
		{Position{Flavor: "mysql", GTIDSet: uuidA + ":1-5"}, "mysql-gtid:" + uuidA + ":1-5"},
		{Position{Flavor: "mariadb", File: "binlog.000003", Pos: 1234, GTIDSet: "0-1-100"}, "binlog.000003:1234 (gtid 0-1-100)"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.p, got, tc.want)
		}
		if tc.p.IsZero() || tc.p.File != "" && tc.p.GTIDSet != "" {
			continue
		}
		back, err := Parse(tc.p.String())
		if err != nil || back != tc.p {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.p.String(), back, err, tc.p)
		}
	}
}

func TestPositionCompare(t *testing.T) {
	ordered := []Position{
		{},
		{File: "binlog.000009", Pos: 4},
		{File: "binlog.000009", Pos: 120},
		{File: "binlog.000009", Pos: 4294967295},
		{File: "binlog.000010", Pos: 4},
		{File: "binlog.000100", Pos: 4},
		{File: "binlog.999999", Pos: 4},
		{File: "binlog.1000000", Pos: 4},
		{File: "binlog.99999999999999999999999", Pos: 4}, // longer than uint64
		{File: "binlog2.000001", Pos: 4},
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := boolCompare(i > j, i < j)
			if got := a.Compare(b); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
	// GTID sets are not compared.
	a := Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4, GTIDSet: "0-1-1"}
	b := Position{Flavor: "mariadb", File: "binlog.000001", Pos: 4, GTIDSet: "0-1-9"}
	if a.Compare(b) != 0 {
		t.Errorf("positions differing only in GTID set compare %d", a.Compare(b))
	}
	// Leading zeros do not matter; names without a numeric suffix compare as strings.
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"binlog.9", "binlog.000009", 0},
		{"binlog.0010", "binlog.9", 1},
		{"abc", "abd", -1},
		{"binlog.x", "binlog.000001", 1},
		{"", "binlog.000001", -1},
		{"binlog.000001", "", 1},
	} {
		if got := CompareFiles(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareFiles(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPositionValidate(t *testing.T) {
	valid := []Position{
		{File: "binlog.000001", Pos: 4},
		{Flavor: "mysql", File: "binlog.000001", Pos: 4},
		{Flavor: "mariadb", GTIDSet: "0-1-100"},
		{Flavor: "mysql", GTIDSet: uuidA + ":1-100"},
		{Flavor: "mariadb", File: "binlog.000001", Pos: 4, GTIDSet: "0-1-100", Timestamp: 1700000000},
	}
	for _, p := range valid {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	invalid := []struct {
		p    Position
		want string
	}{
		{Position{}, "invalid position none: neither a binlog file and offset nor a GTID set"},
		{Position{Flavor: "mariadb", Timestamp: 5}, "invalid position none: neither a binlog file and offset nor a GTID set"},
		{Position{File: "binlog.000001"}, "invalid position binlog.000001:0: offset 0 is a fake ROTATE event's, not a real position (resuming there fails with error 1236); events start at 4"},
		{Position{File: "binlog.000001", Pos: 3}, "invalid position binlog.000001:3: offset 3 is inside the file header; events start at 4"},
		{Position{Pos: 120}, "invalid position :120: offset 120 without a binlog file"},
		{Position{File: "binlog", Pos: 4}, `invalid position binlog:4: binlog file name "binlog" has no numeric suffix (e.g. binlog.000003)`},
		{Position{Flavor: "percona", File: "binlog.000001", Pos: 4}, `invalid position binlog.000001:4: unknown flavor "percona" (want mariadb or mysql)`},
		{Position{GTIDSet: "0-1-1"}, `invalid position gtid:0-1-1: GTID set "0-1-1" without a flavor (mariadb or mysql)`},
		{Position{Flavor: "mysql", GTIDSet: "0-1-1"}, `invalid position mysql-gtid:0-1-1: "0-1-1" is not a MySQL GTID (UUID:INTERVAL[:INTERVAL…])`},
		{Position{Flavor: "mariadb", GTIDSet: "0-1-1,0-2-2"}, `invalid position mariadb-gtid:0-1-1,0-2-2: two GTIDs for domain 0 (0-1-1, 0-2-2); a position holds one per domain`},
	}
	for _, tc := range invalid {
		err := tc.p.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v.Validate() = %v\nwant %s", tc.p, err, tc.want)
		}
	}
}

func TestNormalizeGTIDSet(t *testing.T) {
	tests := []struct{ flavor, in, want string }{
		{"mariadb", "1-2-7,0-1-100", "0-1-100,1-2-7"},
		{"mariadb", " 0-1-100 ", "0-1-100"},
		{"mysql", uuidB + ":1-3,\n" + uuidA + ":4-6:1-3", uuidA + ":1-6," + uuidB + ":1-3"},
		{"mysql", uuidA + ":1," + uuidA + ":2", uuidA + ":1-2"},
	}
	for _, tc := range tests {
		got, err := NormalizeGTIDSet(tc.flavor, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeGTIDSet(%s, %q) = %q, %v; want %q", tc.flavor, tc.in, got, err, tc.want)
		}
	}
	if _, err := NormalizeGTIDSet("percona", "0-1-1"); err == nil || err.Error() != `unknown flavor "percona" (want mariadb or mysql)` {
		t.Errorf("unknown flavor: %v", err)
	}
}
