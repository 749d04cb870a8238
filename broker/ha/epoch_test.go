package ha

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func openEpochs(t *testing.T, path string) *EpochFile {
	t.Helper()
	f, err := OpenEpochFile(path)
	if err != nil {
		t.Fatalf("open epoch file: %v", err)
	}
	return f
}

func TestHAEpochFileAppendAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "epochs")
	f := openEpochs(t, path)
	if _, ok := f.Last(); ok || len(f.Entries()) != 0 {
		t.Fatal("new file is not empty")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("opening created the file")
	}
	want := []EpochEntry{{1, 0}, {2, 100}, {5, 100}, {6, 300}}
	for _, e := range want {
		if err := f.Append(e); err != nil {
			t.Fatalf("append %v: %v", e, err)
		}
	}
	for _, bad := range []EpochEntry{{6, 400}, {5, 500}, {7, 200}, {0, 500}, {8, -1}} {
		if err := f.Append(bad); err == nil {
			t.Fatalf("append %v accepted", bad)
		}
	}
	if got := openEpochs(t, path).Entries(); !slices.Equal(got, want) {
		t.Fatalf("reopened %v, want %v", got, want)
	}
	if last, _ := f.Last(); last != (EpochEntry{6, 300}) {
		t.Fatalf("last %v", last)
	}
}

func TestHAEpochFileCorruptIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "epochs")
	f := openEpochs(t, path)
	f.Append(EpochEntry{1, 0})
	f.Append(EpochEntry{2, 4096})
	good, _ := os.ReadFile(path)
	for name, mutate := range map[string]func([]byte) []byte{
		"bit flip":  func(b []byte) []byte { b[20] ^= 1; return b },
		"truncated": func(b []byte) []byte { return b[:len(b)-3] },
		"magic":     func(b []byte) []byte { b[0] = 'X'; return b },
		"empty":     func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(path, mutate(append([]byte(nil), good...)), 0o644)
			if _, err := OpenEpochFile(path); !errors.Is(err, ErrCorruptEpochFile) {
				t.Fatalf("open: %v, want ErrCorruptEpochFile", err)
			}
		})
	}
}

func TestHAEpochFileTruncateAfterAndEndOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "epochs")
	f := openEpochs(t, path)
	for _, e := range []EpochEntry{{1, 0}, {3, 100}, {4, 250}} {
		f.Append(e)
	}
	for _, c := range []struct{ epoch, logEnd, want int64 }{
		{0, 400, 0}, {1, 400, 100}, {2, 400, 100}, {3, 400, 250}, {4, 400, 400}, {9, 400, 400},
		{3, 200, 200}, // capped by the log end
	} {
		if got := f.EndOffset(c.epoch, c.logEnd); got != c.want {
			t.Errorf("EndOffset(%d, %d) = %d, want %d", c.epoch, c.logEnd, got, c.want)
		}
	}
	if err := f.TruncateAfter(250); err != nil { // drops the epoch starting at the cut
		t.Fatal(err)
	}
	if got := openEpochs(t, path).Entries(); !slices.Equal(got, []EpochEntry{{1, 0}, {3, 100}}) {
		t.Fatalf("after TruncateAfter(250): %v", got)
	}
	f.TruncateAfter(101)
	if got := f.Entries(); !slices.Equal(got, []EpochEntry{{1, 0}, {3, 100}}) {
		t.Fatalf("after TruncateAfter(101): %v", got)
	}
	f.TruncateAfter(0)
	if got := openEpochs(t, path).Entries(); len(got) != 0 {
		t.Fatalf("after TruncateAfter(0): %v", got)
	}
}

func TestHAEpochFileStartTerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "epochs")
	f := openEpochs(t, path)
	e, err := f.StartTerm(0)
	if err != nil || e != (EpochEntry{1, 0}) {
		t.Fatalf("first term %v, %v", e, err)
	}
	if e, _ = f.StartTerm(500); e != (EpochEntry{2, 500}) {
		t.Fatalf("second term %v", e)
	}
	// A slave truncation interrupted after the log cut left an entry beyond
	// the log end; the new term drops it but never reuses its epoch.
	f.Append(EpochEntry{7, 900})
	if e, _ = f.StartTerm(600); e != (EpochEntry{8, 600}) {
		t.Fatalf("term after a stale entry: %v", e)
	}
	if got := openEpochs(t, path).Entries(); !slices.Equal(got, []EpochEntry{{1, 0}, {2, 500}, {8, 600}}) {
		t.Fatalf("entries %v", got)
	}
	if _, err := f.StartTerm(-1); err == nil {
		t.Fatal("negative start accepted")
	}
}

func TestHAEpochFileCapDropsOldest(t *testing.T) {
	f := openEpochs(t, filepath.Join(t.TempDir(), "epochs"))
	es := make([]EpochEntry, MaxEpochEntries)
	for i := range es {
		es[i] = EpochEntry{int64(i + 1), int64(i * 10)}
	}
	f.replaceLocked(es)
	if err := f.Append(EpochEntry{MaxEpochEntries + 1, MaxEpochEntries * 10}); err != nil {
		t.Fatal(err)
	}
	got := f.Entries()
	if len(got) != MaxEpochEntries || got[0].Epoch != 2 || got[len(got)-1].Epoch != MaxEpochEntries+1 {
		t.Fatalf("%d entries, first %v last %v", len(got), got[0], got[len(got)-1])
	}
}

func TestHAEpochFileRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "epochs")
	os.WriteFile(path+".tmp123", []byte("junk"), 0o644)
	openEpochs(t, path)
	if m, _ := filepath.Glob(path + ".tmp*"); len(m) != 0 {
		t.Fatalf("temporaries left: %v", m)
	}
}

func FuzzHAEpochFileDecode(f *testing.F) {
	f.Add(encodeEpochFile(nil))
	valid := encodeEpochFile([]EpochEntry{{1, 0}, {2, 100}, {9, 100}})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:epochHeaderSize])
	f.Add(encodeEpochFile([]EpochEntry{{2, 0}, {1, 100}})) // valid CRC, bad order
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeEpochFile(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptEpochFile) {
				t.Fatalf("error %v does not wrap ErrCorruptEpochFile", err)
			}
			return
		}
		if err := validateEntries(es); err != nil {
			t.Fatalf("decoded invalid entries: %v", err)
		}
		again, err := decodeEpochFile(encodeEpochFile(es))
		if err != nil || !slices.Equal(again, es) {
			t.Fatalf("round trip: %v, %v vs %v", err, again, es)
		}
	})
}
