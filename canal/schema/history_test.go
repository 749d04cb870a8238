package schema

import (
	"errors"
	"os"
	"reflect"
	"sync"
	"testing"
)

// buildHistory applies a mixed workload and returns the keys it used.
func buildHistory(t *testing.T) (*testHistory, []Key) {
	h := newTestHistory(t)
	var keys []Key
	for _, sql := range []string{
		ordersDDL,
		"CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(3))",
		"ALTER TABLE orders ADD COLUMN c INT NOT NULL DEFAULT 7",
		"ALTER TABLE t ADD COLUMN x ENUM('p','q') AFTER a",
		"RENAME TABLE t TO d2.t",
		"CREATE TABLE gone (a INT)",
		"DROP TABLE gone",
	} {
		h.exec(sql)
		keys = append(keys, h.key())
	}
	return h, keys
}

type snapshotAt struct {
	tables []*Table
	at     map[Key][]*Table
}

func capture(h *History, keys []Key) snapshotAt {
	s := snapshotAt{tables: h.Tables(), at: map[Key][]*Table{}}
	for _, k := range keys {
		for _, name := range [][2]string{{"d", "orders"}, {"d", "t"}, {"d2", "t"}, {"d", "gone"}} {
			tb, _ := h.TableAt(k, name[0], name[1])
			s.at[k] = append(s.at[k], tb)
		}
	}
	return s
}

func TestSchemaHistoryReopen(t *testing.T) {
	h, keys := buildHistory(t)
	before := capture(h.History, keys)
	h.reopen()
	after := capture(h.History, keys)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("reopened history differs:\nbefore %+v\nafter  %+v", before, after)
	}
	if h.Recovered() != 0 {
		t.Fatalf("Recovered() = %d on a clean file", h.Recovered())
	}
	// The reopened history goes on.
	h.exec("ALTER TABLE orders DROP COLUMN c")
	h.reopen()
	if h.table("d", "orders").ColumnIndex("c") >= 0 {
		t.Fatal("DDL after reopen lost")
	}
}

func TestSchemaHistoryTableAt(t *testing.T) {
	h, keys := buildHistory(t)
	orders0, _ := h.TableAt(keys[0], "d", "orders")
	orders2, _ := h.TableAt(keys[2], "d", "orders")
	if orders0 == nil || orders2 == nil || len(orders2.Columns) != len(orders0.Columns)+1 {
		t.Fatal("orders versions")
	}
	if o, _ := h.TableAt(keys[1], "d", "orders"); o != orders0 {
		t.Fatal("TableAt between two versions")
	}
	if o, _ := h.TableAt(Key{File: "binlog.000009", Pos: 4}, "d", "orders"); o != orders2 {
		t.Fatal("TableAt after the newest version")
	}
	if _, ok := h.TableAt(Key{File: "binlog.000001", Pos: 1}, "d", "orders"); ok {
		t.Fatal("TableAt before the history")
	}
	if _, ok := h.TableAt(keys[3], "d2", "t"); ok {
		t.Fatal("d2.t before its rename")
	}
	if tb, ok := h.TableAt(keys[4], "d2", "t"); !ok || tb.Schema != "d2" {
		t.Fatal("d2.t after its rename")
	}
	if _, ok := h.TableAt(keys[4], "d", "t"); ok {
		t.Fatal("d.t after its rename")
	}
	if _, ok := h.TableAt(keys[5], "d", "gone"); !ok {
		t.Fatal("gone before its drop")
	}
	if _, ok := h.TableAt(keys[6], "d", "gone"); ok {
		t.Fatal("gone after its drop")
	}
}

func TestSchemaHistoryTornTail(t *testing.T) {
	for _, cut := range []int64{1, 5, headerSize - 1, headerSize, headerSize + 3} {
		h, keys := buildHistory(t)
		want := capture(h.History, keys[:len(keys)-1])
		wantTables := len(h.Tables())
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		// The last record dropped "gone": cutting into it must bring it back.
		st, _ := os.Stat(h.path)
		lastLen := lastRecordLen(t, h.path)
		if err := os.Truncate(h.path, st.Size()-lastLen+cut); err != nil {
			t.Fatal(err)
		}
		h2, err := Open(h.path)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if h2.Recovered() != cut {
			t.Errorf("cut %d: Recovered() = %d", cut, h2.Recovered())
		}
		if got := capture(h2, keys[:len(keys)-1]); !reflect.DeepEqual(got.at, want.at) {
			t.Errorf("cut %d: state differs from before the torn record", cut)
		}
		if len(h2.Tables()) != wantTables+1 {
			t.Errorf("cut %d: %d tables, want %d (the torn DROP undone)", cut, len(h2.Tables()), wantTables+1)
		}
		if _, err := h2.ApplyDDL(keys[len(keys)-1], "d", "DROP TABLE gone"); err != nil {
			t.Fatalf("cut %d: re-apply: %v", cut, err)
		}
		h2.Close()
		h3, err := Open(h.path)
		if err != nil || h3.Recovered() != 0 || len(h3.Tables()) != wantTables {
			t.Fatalf("cut %d: reopen after repair: %v", cut, err)
		}
		h3.Close()
	}
}

// lastRecordLen returns the length of the file's last record.
func lastRecordLen(t *testing.T, path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off, last := len(fileMagic), 0
	for off < len(data) {
		_, _, next, reason := frameAt(data, off)
		if reason != "" {
			t.Fatalf("record at %d: %s", off, reason)
		}
		last, off = next-off, next
	}
	return int64(last)
}

func TestSchemaHistoryCorruptMiddle(t *testing.T) {
	for _, at := range []struct {
		name string
		off  int64
	}{
		{"payload", int64(len(fileMagic)) + headerSize + 10},
		{"length", int64(len(fileMagic))},
		{"header checksum", int64(len(fileMagic)) + 9},
	} {
		h, _ := buildHistory(t)
		h.Close()
		data, _ := os.ReadFile(h.path)
		data[at.off] ^= 0x40
		if err := os.WriteFile(h.path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(h.path)
		var ce *CorruptionError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.Offset != int64(len(fileMagic)) || ce.Path != h.path {
			t.Fatalf("%s: Open = %v, want a CorruptionError at offset %d", at.name, err, len(fileMagic))
		}
		if after, _ := os.ReadFile(h.path); !reflect.DeepEqual(after, data) {
			t.Fatalf("%s: Open changed a corrupt file", at.name)
		}
	}
}

func TestSchemaHistoryBadFile(t *testing.T) {
	path := t.TempDir() + "/x"
	if err := os.WriteFile(path, []byte("not a history"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("opened a file with a bad magic")
	}
	// A record with valid checksums but an impossible table is corrupt,
	// even at the tail.
	h := newTestHistory(t)
	buf, err := encodeRecord(&record{kind: kindChange, Key: Key{File: "binlog.000002", Pos: 4},
		Tables: []tableEntry{{"d", "x", &Table{Schema: "d", Name: "x", PK: []int{3}}}}})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	f, _ := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(buf)
	f.Close()
	if _, err := Open(h.path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestSchemaHistoryRewind(t *testing.T) {
	h, keys := buildHistory(t)
	atK2 := capture(h.History, keys[:3])
	// The ingester restarts from keys[3]: the DDL at keys[3] and after
	// are forgotten, those before stay.
	if err := h.Rewind(keys[3]); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if got := capture(h.History, keys[:3]); !reflect.DeepEqual(got.at, atK2.at) {
			t.Fatalf("%s: versions before the rewind key changed", when)
		}
		if _, ok := h.Table("d", "t"); !ok {
			t.Fatalf("%s: d.t (renamed after the rewind key) is not back", when)
		}
		if _, ok := h.Table("d2", "t"); ok {
			t.Fatalf("%s: d2.t survived the rewind", when)
		}
		if tb, _ := h.TableAt(keys[6], "d", "t"); tb == nil || tb.ColumnIndex("x") >= 0 {
			t.Fatalf("%s: TableAt after the rewind key sees forgotten versions (the DDL at the key included)", when)
		}
		if h.Newest() != keys[3] {
			t.Fatalf("%s: Newest() = %v", when, h.Newest())
		}
	}
	check("after Rewind")
	h.reopen()
	check("after reopen")
	// The ingester reads the same events again, from keys[3].
	h.pos = keys[2].Pos
	h.exec("ALTER TABLE t ADD COLUMN x ENUM('p','q') AFTER a", "RENAME TABLE t TO d2.t")
	h.reopen()
	if _, ok := h.Table("d2", "t"); !ok {
		t.Fatal("re-applied rename lost")
	}
	if err := h.Rewind(Key{File: "binlog.000000", Pos: 4}); !errors.Is(err, ErrNoHistory) {
		t.Fatalf("Rewind before the first snapshot: %v", err)
	}
}

// A snapshot at P is the state before the event at P: a DDL at P comes
// after it, and a restart from P forgets the DDL but keeps the snapshot.
func TestSchemaHistorySnapshotAndDDLAtOneKey(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	p := h.next()
	if err := h.Bootstrap(p, []*Table{h.table("d", "t")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ApplyDDL(p, "d", "ALTER TABLE t ADD b INT"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ApplyDDL(p, "d", "ALTER TABLE t ADD c INT"); err == nil {
		t.Fatal("a second DDL at one key accepted")
	}
	if colNames(h.table("d", "t")) != "a,b" {
		t.Fatal("DDL at the snapshot's key")
	}
	if err := h.Rewind(p); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if colNames(h.table("d", "t")) != "a" {
		t.Fatalf("after Rewind to the snapshot's key: %s", colNames(h.table("d", "t")))
	}
	if _, err := h.ApplyDDL(p, "d", "ALTER TABLE t ADD b INT"); err != nil {
		t.Fatal("re-applying the DDL at the snapshot's key:", err)
	}
	if err := h.Compact(p); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if err := h.Rewind(p); err != nil || colNames(h.table("d", "t")) != "a" {
		t.Fatalf("Rewind to the compaction key: %v, %s", err, colNames(h.table("d", "t")))
	}
}

func TestSchemaHistoryBootstrapReplaces(t *testing.T) {
	h, keys := buildHistory(t)
	k := h.next()
	nt := &Table{Schema: "d", Name: "new", Charset: "utf8mb4", Columns: []Column{{Name: "a", DataType: "int", ColumnType: "int(11)"}}}
	if err := h.Bootstrap(k, []*Table{nt}); err != nil {
		t.Fatal(err)
	}
	if tables := h.Tables(); len(tables) != 1 || tables[0].Name != "new" {
		t.Fatalf("tables after re-bootstrap: %v", tables)
	}
	if _, ok := h.TableAt(keys[6], "d", "orders"); !ok {
		t.Fatal("versions before the re-bootstrap lost")
	}
	// Databases and server survive a plain Bootstrap.
	h.exec("CREATE TABLE after_bootstrap (a CHAR(1))")
	if h.table("d", "after_bootstrap").Charset != "utf8mb4" {
		t.Fatal("database charset lost by Bootstrap")
	}
	if err := h.Bootstrap(keys[0], nil); err == nil {
		t.Fatal("bootstrap at an older key accepted")
	}
	if err := h.Bootstrap(h.next(), []*Table{nt, nt}); err == nil {
		t.Fatal("bootstrap with a table twice accepted")
	}
}

func TestSchemaHistoryCompact(t *testing.T) {
	h, keys := buildHistory(t)
	for i := range 50 {
		h.exec("ALTER TABLE orders MODIFY c BIGINT NOT NULL DEFAULT " + string(rune('0'+i%10)))
		keys = append(keys, h.key())
	}
	mid := keys[20]
	want := capture(h.History, keys[20:])
	if err := h.Compact(mid); err != nil {
		t.Fatal(err)
	}
	if h.Records() != 1+len(keys)-20 {
		t.Fatalf("Records() = %d after compaction", h.Records())
	}
	for when, hist := range map[string]func(){"after Compact": func() {}, "after reopen": h.reopen} {
		hist()
		if got := capture(h.History, keys[20:]); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: versions from the compaction key on changed", when)
		}
		if _, ok := h.TableAt(keys[0], "d", "orders"); ok {
			t.Fatalf("%s: a version before the compaction key is still there", when)
		}
		if err := h.Rewind(keys[3]); !errors.Is(err, ErrNoHistory) {
			t.Fatalf("%s: Rewind before the compaction key: %v", when, err)
		}
	}
	h.exec("ALTER TABLE orders DROP COLUMN c")
	if err := h.Rewind(keys[30]); err != nil {
		t.Fatal(err)
	}
	if h.table("d", "orders").ColumnIndex("c") < 0 {
		t.Fatal("Rewind after compaction")
	}
	// A later snapshot that drops every table survives a compaction.
	if err := h.Bootstrap(h.next(), nil); err != nil {
		t.Fatal(err)
	}
	h.exec("CREATE TABLE z (a INT)")
	if err := h.Compact(keys[40]); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if tables := h.Tables(); len(tables) != 1 || tables[0].Name != "z" {
		t.Fatalf("tables after compacting over an empty snapshot: %v", tables)
	}
	if _, ok := h.TableAt(keys[45], "d", "orders"); !ok {
		t.Fatal("versions between the compaction key and the empty snapshot lost")
	}
}

// faultyFile fails writes (after writing half) or syncs on demand.
type faultyFile struct {
	appendFile
	failWrite, failSync bool
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.failWrite {
		n, _ := f.appendFile.Write(p[:len(p)/2])
		return n, errors.New("injected write failure")
	}
	return f.appendFile.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.failSync {
		return errors.New("injected sync failure")
	}
	return f.appendFile.Sync()
}

func TestSchemaHistoryFailedWrites(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	ff := &faultyFile{appendFile: h.f, failWrite: true}
	h.f = ff
	if _, err := h.ApplyDDL(h.next(), "d", "ALTER TABLE t ADD b INT"); err == nil {
		t.Fatal("failed write not reported")
	}
	if colNames(h.table("d", "t")) != "a" {
		t.Fatal("model changed by a failed write")
	}
	ff.failWrite = false
	h.exec("ALTER TABLE t ADD c INT")
	h.reopen()
	if colNames(h.table("d", "t")) != "a,c" || h.Recovered() != 0 {
		t.Fatalf("after a failed write was cut: %s, recovered %d", colNames(h.table("d", "t")), h.Recovered())
	}

	h.f = &faultyFile{appendFile: h.f, failSync: true}
	if _, err := h.ApplyDDL(h.next(), "d", "ALTER TABLE t ADD d INT"); err == nil {
		t.Fatal("failed sync not reported")
	}
	if _, err := h.ApplyDDL(h.next(), "d", "ALTER TABLE t ADD e INT"); err == nil {
		t.Fatal("history usable after a failed sync")
	}
	if err := h.Rewind(h.key()); err == nil {
		t.Fatal("Rewind usable after a failed sync")
	}
}

func TestSchemaHistoryClosed(t *testing.T) {
	h := newTestHistory(t)
	h.Close()
	if _, err := h.ApplyDDL(h.next(), "d", "CREATE TABLE t (a INT)"); !errors.Is(err, ErrClosed) {
		t.Fatalf("ApplyDDL after Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestSchemaHistoryConcurrentReaders(t *testing.T) {
	h := newTestHistory(t)
	h.exec("CREATE TABLE t (a INT)")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if tb, ok := h.Table("d", "t"); !ok || len(tb.Columns) == 0 {
					t.Error("reader saw no table")
					return
				}
				h.TableAt(h.Newest(), "d", "t")
				h.Tables()
			}
		}()
	}
	for i := range 30 {
		h.exec("ALTER TABLE t ADD c" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " INT")
	}
	close(stop)
	wg.Wait()
}
