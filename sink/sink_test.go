package sink

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/canal"
)

// model is the expected current table of orders: id → "id|customer|amount".
type model map[int]string

func (m model) rows() string {
	ids := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(m[id])
		b.WriteByte('\n')
	}
	return b.String()
}

// TestSinkRebuild: inserts, updates and deletes over four queues rebuild
// the table (sorted by key) and log every change once; replaying the same
// events, as an ingester does after its own restart, changes nothing.
func TestSinkRebuild(t *testing.T) {
	e := newSinkEnv(t, 4)
	r := startJob(t, e.config("rebuild"))
	want := model{}
	var events [][]*canal.FlatMessage = make([][]*canal.FlatMessage, 4)
	pos := uint32(100)
	add := func(m *canal.FlatMessage, id int) {
		q := id % 4
		events[q] = append(events[q], m)
		e.send(q, m)
	}
	for id := 1; id <= 300; id++ {
		pos += 10
		add(orderEvent(canal.TypeInsert, pos, id, fmt.Sprintf("c%d", id), fmt.Sprintf("%d.50", id)), id)
		want[id] = fmt.Sprintf("%d|c%d|%d.50", id, id, id)
	}
	for id := 1; id <= 300; id += 3 {
		pos += 10
		m := orderEvent(canal.TypeUpdate, pos, id, "Zoë 👍🏽", "NULL")
		m.Old = []canal.Cell{{Name: "customer", S: fmt.Sprintf("c%d", id)}, {Name: "amount", S: fmt.Sprintf("%d.50", id)}}
		add(m, id)
		want[id] = fmt.Sprintf("%d|Zoë 👍🏽|NULL", id)
	}
	for id := 2; id <= 300; id += 5 {
		pos += 10
		add(orderEvent(canal.TypeDelete, pos, id, "x", "1.00"), id)
		delete(want, id)
	}
	total := int64(300 + 100 + 60)
	m := e.waitCommitted(r, "shop", "orders", func(m *Manifest) bool { return e.caughtUp(m) })
	header, rows := readFiles(t, e.root, "shop/orders", m.Current, m.Schemas)
	if strings.Join(header, ",") != "id,customer,amount" {
		t.Fatalf("header %v", header)
	}
	if got := joinRows(rows); got != want.rows() {
		t.Fatalf("current table:\n%s\nwant\n%s", got, want.rows())
	}
	logged := changeRows(t, e, "shop/orders")
	if int64(len(logged)) != total {
		t.Fatalf("change log has %d rows, want %d", len(logged), total)
	}

	// The ingester publishes everything again (new offsets, same
	// positions): nothing changes.
	for q, ms := range events {
		e.send(q, ms...)
	}
	e.send(0, orderEvent(canal.TypeInsert, pos+10, 1000, "last", "0.01"))
	want[1000] = "1000|last|0.01"
	m = e.waitCommitted(r, "shop", "orders", func(m *Manifest) bool { return e.caughtUp(m) })
	_, rows = readFiles(t, e.root, "shop/orders", m.Current, m.Schemas)
	if got := joinRows(rows); got != want.rows() {
		t.Fatalf("after the replay:\n%s\nwant\n%s", got, want.rows())
	}
	if logged := changeRows(t, e, "shop/orders"); int64(len(logged)) != total+1 {
		t.Fatalf("change log has %d rows after the replay, want %d", len(logged), total+1)
	}
	if st := r.j.Stats(); st.Skipped != total {
		t.Fatalf("skipped %d replayed events, want %d", st.Skipped, total)
	}
}

// changeRows reads the whole change log of a table (all manifests).
func changeRows(t *testing.T, e *sinkEnv, dir string) [][]string {
	t.Helper()
	st, _ := NewLocalStorage(e.root)
	names, err := st.List(dir + "/_manifest")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, n := range names {
		b, err := st.ReadFile(dir + "/_manifest/" + n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		_, r := readFiles(t, e.root, dir, m.Changes, m.Schemas)
		rows = append(rows, r...)
	}
	return rows
}

// TestSinkManyFiles: with small files, commits keep the files their
// changes do not touch, append a growing key range as new files, rewrite
// touched ranges (splitting them when they grow), and the table stays
// equal to the model, in key order, across many commits.
func TestSinkManyFiles(t *testing.T) {
	e := newSinkEnv(t, 2)
	cfg := e.config("files")
	cfg.FileRows = 100
	cfg.CommitInterval = 300 * time.Millisecond
	cfg.CommitRows = 250
	r := startJob(t, cfg)
	want := model{}
	pos := uint32(10)
	send := func(typ string, id int, customer string) {
		pos += 10
		e.send(id%2, orderEvent(typ, pos, id, customer, "1.00"))
		if typ == canal.TypeDelete {
			delete(want, id)
		} else {
			want[id] = fmt.Sprintf("%d|%s|1.00", id, customer)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for id := 1; id <= 1000; id++ { // grows at the end: 4 commits of 250
		send(canal.TypeInsert, id*10, "a")
	}
	first := e.waitCommitted(r, "shop", "orders", func(m *Manifest) bool { return m.Rows == 1000 })
	if len(first.Current) < 10 {
		t.Fatalf("%d files for 1000 rows of at most 100", len(first.Current))
	}
	// Touch one key range only: most files must be kept.
	for i := 0; i < 250; i++ {
		send(canal.TypeUpdate, 10*(1+rng.IntN(50)), fmt.Sprintf("u%d", i)) // ids 10…500
	}
	m := e.waitCommitted(r, "shop", "orders", e.caughtUp)
	kept := 0
	for _, f := range m.Current {
		if strings.HasPrefix(f.Path, "current/"+fmt.Sprintf("%010d", first.Version)) || f.Path < fmt.Sprintf("current/%010d", first.Version) {
			kept++
		}
	}
	if kept < len(first.Current)/2 {
		t.Fatalf("kept %d of %d files when one range changed", kept, len(first.Current))
	}
	// Random inserts between keys, updates and deletes everywhere.
	for i := 0; i < 1000; i++ {
		id := 1 + rng.IntN(11000)
		switch rng.IntN(3) {
		case 0:
			send(canal.TypeInsert, id, fmt.Sprintf("i%d", i))
		case 1:
			send(canal.TypeUpdate, id, fmt.Sprintf("u%d", i))
		default:
			send(canal.TypeDelete, id, "x")
		}
	}
	send(canal.TypeInsert, 1, "last")
	// Both queues consumed to their last event (the position alone is the
	// newest of either).
	m = e.waitCommitted(r, "shop", "orders", e.caughtUp)
	_, rows := readFiles(t, e.root, "shop/orders", m.Current, m.Schemas)
	if got := joinRows(rows); got != want.rows() {
		t.Fatalf("current differs from the model (%d rows, want %d)", len(rows), len(want))
	}
	for i := 1; i < len(m.Current); i++ {
		if m.Current[i-1].MaxKey >= m.Current[i].MinKey {
			t.Fatalf("files %s and %s overlap", m.Current[i-1].Path, m.Current[i].Path)
		}
	}
}
