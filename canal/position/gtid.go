package position

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// DetectGTIDFlavor tells a MariaDB GTID set (DOMAIN-SERVER-SEQ, …) from a
// MySQL one (UUID:INTERVAL[:INTERVAL…], …); every element must agree.
func DetectGTIDFlavor(set string) (string, error) {
	elems, err := splitGTIDSet(set)
	if err != nil {
		return "", err
	}
	flavor := ""
	for _, e := range elems {
		f := ""
		switch {
		case parseMariaDBGTID(e) == nil:
			f = FlavorMariaDB
		case strings.Contains(e, ":") && isUUID(e[:strings.IndexByte(e, ':')]):
			f = FlavorMySQL
		default:
			return "", fmt.Errorf("%q is neither a MariaDB GTID (DOMAIN-SERVER-SEQ) nor a MySQL one (UUID:INTERVAL)", e)
		}
		if flavor != "" && f != flavor {
			return "", errors.New("the GTID set mixes MariaDB and MySQL GTIDs")
		}
		flavor = f
	}
	return flavor, nil
}

// NormalizeGTIDSet checks a GTID set of the given flavor and returns it in
// a canonical form: MariaDB GTIDs sorted by domain, at most one per domain
// (a position holds the last GTID of each domain); MySQL UUIDs in lower
// case, sorted, with merged intervals. Whitespace around elements (as in
// @@gtid_executed) is dropped. The result parses with go-mysql's
// mysql.ParseGTIDSet(flavor, …).
func NormalizeGTIDSet(flavor, set string) (string, error) {
	elems, err := splitGTIDSet(set)
	if err != nil {
		return "", err
	}
	var norm string
	switch flavor {
	case FlavorMariaDB:
		norm, err = normalizeMariaDB(elems)
	case FlavorMySQL:
		norm, err = normalizeMySQL(elems)
	default:
		return "", fmt.Errorf("unknown flavor %q (want mariadb or mysql)", flavor)
	}
	if err != nil {
		return "", err
	}
	if _, err := mysql.ParseGTIDSet(flavor, norm); err != nil {
		return "", fmt.Errorf("GTID set %q: %v", norm, err)
	}
	return norm, nil
}

func splitGTIDSet(set string) ([]string, error) {
	if strings.TrimSpace(set) == "" {
		return nil, errors.New("empty GTID set")
	}
	elems := strings.Split(set, ",")
	for i, e := range elems {
		elems[i] = strings.TrimSpace(e)
		if elems[i] == "" {
			return nil, fmt.Errorf("empty element in GTID set %q", set)
		}
	}
	return elems, nil
}

// mariaDBGTID is one MariaDB GTID, DOMAIN-SERVER-SEQ.
type mariaDBGTID struct {
	domain, server uint32
	seq            uint64
}

func (g mariaDBGTID) String() string { return fmt.Sprintf("%d-%d-%d", g.domain, g.server, g.seq) }

func parseMariaDBGTIDValue(s string) (mariaDBGTID, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return mariaDBGTID{}, fmt.Errorf("%q is not a MariaDB GTID (DOMAIN-SERVER-SEQ)", s)
	}
	var nums [3]uint64
	for i, bits := range []int{32, 32, 64} {
		n, err := strconv.ParseUint(parts[i], 10, bits)
		if err != nil || parts[i][0] == '+' {
			return mariaDBGTID{}, fmt.Errorf("%q is not a MariaDB GTID (DOMAIN-SERVER-SEQ)", s)
		}
		nums[i] = n
	}
	return mariaDBGTID{domain: uint32(nums[0]), server: uint32(nums[1]), seq: nums[2]}, nil
}

func parseMariaDBGTID(s string) error {
	_, err := parseMariaDBGTIDValue(s)
	return err
}

func normalizeMariaDB(elems []string) (string, error) {
	byDomain := map[uint32]mariaDBGTID{}
	for _, e := range elems {
		g, err := parseMariaDBGTIDValue(e)
		if err != nil {
			return "", err
		}
		if o, dup := byDomain[g.domain]; dup {
			return "", fmt.Errorf("two GTIDs for domain %d (%s, %s); a position holds one per domain", g.domain, o, g)
		}
		byDomain[g.domain] = g
	}
	return formatMariaDB(byDomain), nil
}

func formatMariaDB(byDomain map[uint32]mariaDBGTID) string {
	domains := make([]uint32, 0, len(byDomain))
	for d := range byDomain {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	parts := make([]string, len(domains))
	for i, d := range domains {
		parts[i] = byDomain[d].String()
	}
	return strings.Join(parts, ",")
}

// isUUID accepts the 8-4-4-4-12 hex form MySQL prints for server_uuid.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func normalizeMySQL(elems []string) (string, error) {
	for _, e := range elems {
		parts := strings.Split(e, ":")
		if len(parts) < 2 || !isUUID(parts[0]) {
			return "", fmt.Errorf("%q is not a MySQL GTID (UUID:INTERVAL[:INTERVAL…])", e)
		}
		for _, iv := range parts[1:] {
			if err := checkInterval(iv); err != nil {
				return "", fmt.Errorf("%q: %w", e, err)
			}
		}
	}
	set, err := mysql.ParseMysqlGTIDSet(strings.ToLower(strings.Join(elems, ",")))
	if err != nil {
		return "", fmt.Errorf("GTID set: %v", err)
	}
	return set.String(), nil
}

// checkInterval accepts N or N-M with 1 <= N <= M.
func checkInterval(iv string) error {
	if iv == "" {
		return errors.New("empty interval")
	}
	if c := iv[0]; c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		return fmt.Errorf("tagged GTIDs (%q) are not supported", iv)
	}
	lo, hi, isRange := strings.Cut(iv, "-")
	start, err := strconv.ParseInt(lo, 10, 64)
	if err != nil || lo[0] == '+' {
		return fmt.Errorf("interval %q is not N or N-M", iv)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseInt(hi, 10, 64); err != nil || hi == "" || hi[0] == '+' {
			return fmt.Errorf("interval %q is not N or N-M", iv)
		}
	}
	switch {
	case start < 1:
		return fmt.Errorf("interval %q starts at %d; GTID numbers start at 1", iv, start)
	case end < start:
		return fmt.Errorf("interval %q ends before it starts", iv)
	case end == 1<<63-1:
		return fmt.Errorf("interval %q ends at the largest number", iv)
	}
	return nil
}

// mysqlSet parses a MySQL GTID set with go-mysql.
func mysqlSet(s string) (*mysql.MysqlGTIDSet, error) {
	set, err := mysql.ParseMysqlGTIDSet(s)
	if err != nil {
		return nil, fmt.Errorf("GTID set %q: %v", s, err)
	}
	return set.(*mysql.MysqlGTIDSet), nil
}
