package schema

import (
	"strconv"
	"strings"
)

// Flavors of Server.Flavor.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
)

// Server is what the history needs to know about the source server to model
// a table created by DDL as the server would: its flavor and version (they
// decide how column types are spelled) and its default character set (the
// default of a CREATE DATABASE without one).
type Server struct {
	// Flavor is FlavorMariaDB or FlavorMySQL.
	Flavor string `json:"flavor"`
	// Version is SELECT VERSION(), e.g. "10.11.6-MariaDB-log".
	Version string `json:"version,omitempty"`
	// Charset is @@character_set_server.
	Charset string `json:"charset"`
	// LegacyTimestamps is set when @@explicit_defaults_for_timestamp is
	// OFF (the default before MariaDB 10.10 and MySQL 8.0.2): a TIMESTAMP
	// column is then NOT NULL unless declared NULL, and gets an implicit
	// default.
	LegacyTimestamps bool `json:"legacyTimestamps,omitempty"`
}

// Database is a schema's default character set
// (information_schema.SCHEMATA): a table created in it without one gets it.
type Database struct {
	Name    string `json:"name"`
	Charset string `json:"charset"`
}

// Snapshot is everything Bootstrap records: the server, its databases and
// the captured tables, all as of one position.
type Snapshot struct {
	// Server is nil to keep what the history knew.
	Server *Server `json:"server,omitempty"`
	// Databases is nil to keep what the history knew; otherwise the
	// complete list (databases not in it are forgotten).
	Databases []*Database `json:"databases,omitempty"`
	// Tables is the complete list of tables: tables not in it are
	// forgotten as of the snapshot.
	Tables []*Table `json:"tables"`
}

// intWidths reports whether the server spells integer types with their
// display width ("int(11)"): MariaDB and MySQL before 8.0.19 do.
func (s *Server) intWidths() bool {
	if s == nil || s.Flavor != FlavorMySQL {
		return true
	}
	return versionBefore(s.Version, 8, 0, 19)
}

// runs reports whether a MariaDB server runs an executable comment
// /*M!version … */: when its version (MMmmpp, e.g. 100301 for 10.3.1) is
// not newer than the server's. Without a known version it does.
func (s *Server) runs(version string) bool {
	if s == nil || s.Version == "" || len(version) != 6 {
		return true
	}
	n, err := strconv.Atoi(version)
	if err != nil {
		return true
	}
	return !versionBefore(s.Version, n/10000, n/100%100, n%100)
}

// versionBefore reports whether version (as VERSION() returns it) is before
// major.minor.patch; an unparsable version counts as new.
func versionBefore(version string, major, minor, patch int) bool {
	parts := strings.SplitN(version, ".", 3)
	nums := [3]int{}
	for i := 0; i < len(parts) && i < 3; i++ {
		n := 0
		for _, r := range parts[i] {
			if r < '0' || r > '9' {
				break
			}
			n = n*10 + int(r-'0')
		}
		nums[i] = n
	}
	want := [3]int{major, minor, patch}
	for i := range nums {
		if nums[i] != want[i] {
			return nums[i] < want[i]
		}
	}
	return false
}

// systemSchemas are never captured.
var systemSchemas = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
}

// IsSystemSchema reports whether name is one of the server's own schemas
// (mysql, information_schema, performance_schema, sys), which are never
// captured.
func IsSystemSchema(name string) bool { return systemSchemas[strings.ToLower(name)] }

// charsetOf returns the character set of a collation: the part of its name
// before the first underscore, which holds for every collation of MySQL and
// MariaDB ("utf8mb4_general_ci", "latin1_bin", "binary").
func charsetOf(collation string) string {
	c := strings.ToLower(collation)
	if i := strings.IndexByte(c, '_'); i > 0 {
		c = c[:i]
	}
	return normCharset(c)
}

// normCharset spells a character set as information_schema does: "utf8"
// is utf8mb3 on MariaDB ≥ 10.6 and MySQL 8.
func normCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

// maxLen is the longest character of a character set, in bytes.
func maxLen(cs string) int {
	switch normCharset(cs) {
	case "utf8mb4", "utf16", "utf16le", "utf32", "gb18030":
		return 4
	case "utf8mb3", "ujis", "eucjpms":
		return 3
	case "ucs2", "big5", "sjis", "cp932", "gbk", "gb2312", "euckr":
		return 2
	}
	return 1
}
