package mysqltest

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestMySQLTestServer starts a private server and checks the replication
// settings the ingester depends on, then a restart with a changed setting.
func TestMySQLTestServer(t *testing.T) {
	s := Start(t, nil)
	for name, want := range map[string]string{
		"binlog_format": "ROW", "binlog_row_image": "FULL", "log_bin": "1", "binlog_row_metadata": "FULL",
	} {
		if got := s.QueryString("SELECT @@GLOBAL." + name); got != want {
			t.Errorf("@@%s = %q, want %q", name, got, want)
		}
	}
	// A private tmpdir: servers of parallel test processes share no files.
	if got := s.QueryString("SELECT @@tmpdir"); !strings.HasPrefix(got, filepath.Dir(s.DataDir)) {
		t.Errorf("@@tmpdir = %q, not under the server's own directory", got)
	}
	if got := s.QueryString("SELECT @@server_id"); got == "" || got == "0" {
		t.Errorf("server_id = %q", got)
	}
	s.Exec("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)")
	s.Restart(map[string]string{"binlog_row_image": "MINIMAL"})
	if got := s.QueryString("SELECT @@GLOBAL.binlog_row_image"); got != "MINIMAL" {
		t.Errorf("after restart binlog_row_image = %q", got)
	}
	if got := s.QueryString("SELECT COUNT(*) FROM shop.t"); got != "1" {
		t.Errorf("rows after restart: %s", got)
	}
}
