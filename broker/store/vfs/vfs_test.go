package vfs

import (
	"errors"
	"io"
	"os"
	"path"
	"syscall"
	"testing"
)

// contract runs the same checks against every FS implementation.
func contract(t *testing.T, fsys FS, root string) {
	t.Helper()
	dir := path.Join(root, "a", "b")
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := path.Join(dir, "f")
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
		t.Fatal("O_EXCL on existing file succeeded")
	}
	if _, err := f.WriteAt([]byte("hello"), 3); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 8 || err != nil || string(buf) != "\x00\x00\x00hello" {
		t.Fatalf("read %q %d %v", buf, n, err)
	}
	if n, err := f.ReadAt(buf, 6); n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("short read %d %v", n, err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 4 {
		t.Fatalf("stat %v %v", st, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(fsys, path.Join(dir, "meta"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(fsys, path.Join(dir, "meta")); err != nil || string(b) != "v1" {
		t.Fatalf("meta %q %v", b, err)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil || len(names) != 2 || names[0] != "f" || names[1] != "meta" {
		t.Fatalf("readdir %v %v", names, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	l, err := fsys.Lock(path.Join(root, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Lock(path.Join(root, "lock")); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l.Close()
	l2, err := fsys.Lock(path.Join(root, "lock"))
	if err != nil {
		t.Fatalf("relock: %v", err)
	}
	l2.Close()
	if err := fsys.Remove(name); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(fsys, name); ok {
		t.Fatal("removed file exists")
	}
	if err := fsys.RemoveAll(path.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(fsys, dir); ok {
		t.Fatal("RemoveAll left the directory")
	}
}

func TestVFSContractOS(t *testing.T)    { contract(t, OS, t.TempDir()) }
func TestVFSContractMem(t *testing.T)   { contract(t, NewStrictMem(), "/data") }
func TestVFSContractFault(t *testing.T) { contract(t, NewFaultFS(NewStrictMem()), "/data") }

func TestVFSStrictMemCrashDropsUnsynced(t *testing.T) {
	m := NewStrictMem()
	m.MkdirAll("/d", 0o755)
	m.SyncDir("/")
	f, _ := m.OpenFile("/d/synced", os.O_RDWR|os.O_CREATE, 0o644)
	f.WriteAt([]byte("durable"), 0)
	f.Sync()
	f.WriteAt([]byte("-lost"), 7)
	g, _ := m.OpenFile("/d/nodirsync", os.O_RDWR|os.O_CREATE, 0o644)
	g.WriteAt([]byte("x"), 0)
	g.Sync()
	m.SyncDir("/d") // makes both entries durable
	h, _ := m.OpenFile("/d/new", os.O_RDWR|os.O_CREATE, 0o644)
	h.WriteAt([]byte("y"), 0)
	h.Sync() // data synced but the entry is not
	m.Rename("/d/nodirsync", "/d/renamed")

	m.Crash()
	if _, err := f.WriteAt([]byte("z"), 0); !errors.Is(err, ErrCrashed) {
		t.Fatalf("old handle: %v", err)
	}
	b, err := ReadFile(m, "/d/synced")
	if err != nil || string(b) != "durable" {
		t.Fatalf("synced file %q %v", b, err)
	}
	if ok, _ := Exists(m, "/d/new"); ok {
		t.Fatal("entry without dir sync survived")
	}
	if ok, _ := Exists(m, "/d/nodirsync"); !ok {
		t.Fatal("rename without dir sync must roll back")
	}
	if ok, _ := Exists(m, "/d/renamed"); ok {
		t.Fatal("rename target without dir sync survived")
	}
}

func TestVFSStrictMemCrashDropsUnsyncedDirs(t *testing.T) {
	m := NewStrictMem()
	m.MkdirAll("/root/sub", 0o755)
	m.SyncDir("/") // /root durable, /root/sub not
	m.Crash()
	if ok, _ := Exists(m, "/root"); !ok {
		t.Fatal("/root lost")
	}
	if ok, _ := Exists(m, "/root/sub"); ok {
		t.Fatal("/root/sub survived without SyncDir(/root)")
	}
}

func TestVFSStrictMemTruncateDurability(t *testing.T) {
	m := NewStrictMem()
	f, _ := m.OpenFile("/f", os.O_RDWR|os.O_CREATE, 0o644)
	m.SyncDir("/")
	f.WriteAt([]byte("0123456789"), 0)
	f.Sync()
	f.Truncate(4)
	m.Crash()
	if b, _ := ReadFile(m, "/f"); string(b) != "0123456789" {
		t.Fatalf("unsynced truncate applied: %q", b)
	}
	f, _ = m.OpenFile("/f", os.O_RDWR, 0)
	f.Truncate(4)
	f.Sync()
	f.WriteAt([]byte("ab"), 8) // grows with a zero gap, unsynced
	m.Crash()
	if b, _ := ReadFile(m, "/f"); string(b) != "0123" {
		t.Fatalf("after synced truncate: %q", b)
	}
}

func TestVFSFaultInjection(t *testing.T) {
	ffs := NewFaultFS(NewStrictMem())
	f, _ := ffs.OpenFile("/f", os.O_RDWR|os.O_CREATE, 0o644)
	ffs.FailWrite(2, syscall.EIO)
	if _, err := f.WriteAt([]byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("b"), 1); !errors.Is(err, syscall.EIO) {
		t.Fatalf("2nd write: %v", err)
	}
	if _, err := f.WriteAt([]byte("c"), 1); err != nil {
		t.Fatalf("3rd write: %v", err)
	}
	ffs.FailSync(1, syscall.EIO)
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	ffs.DiskFull(3)
	n, err := f.WriteAt([]byte("12345"), 2)
	if n != 3 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk full: %d %v", n, err)
	}
	if _, err := f.WriteAt([]byte("x"), 100); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("still full: %v", err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatalf("overwrite of allocated bytes on a full disk: %v", err)
	}
	ffs.Clear()
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	ffs.SetFilter(func(name string) bool { return name == "/other" })
	ffs.FailWrite(1, syscall.EIO)
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatalf("filtered file failed: %v", err)
	}
	if w, s := ffs.Counts(); w != 7 || s != 2 {
		t.Fatalf("counts %d %d", w, s)
	}
}
