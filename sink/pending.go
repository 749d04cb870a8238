package sink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cockroachdb/pebble"
)

// pending holds the changes a sink applied since its last commit, keyed
// by table and primary key: the newest change per key (an upsert with the
// row's values, or a delete), or for a table without a primary key the
// net count of each distinct row. It lives in an embedded Pebble store in
// the sink's work directory, so a commit window of millions of changes
// spills to disk instead of growing the heap; the merge at a commit reads
// it back in key order. It is scratch: emptied at every commit, and
// rebuilt after a crash by consuming again from the committed offsets.
type pending struct {
	dir   string
	db    *pebble.DB
	batch *pebble.Batch
	n     int // keys set since the last reset (an upper bound)
}

// pendingOp is the first byte of a pending value.
const (
	opUpsert byte = 'U'
	opDelete byte = 'D'
	opCount  byte = 'C' // tables without a primary key: a signed count follows
)

func openPending(dir string) (*pending, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("sink pending store: %w", err)
	}
	db, err := pebble.Open(dir, &pebble.Options{
		DisableWAL:   true, // scratch: a crash rebuilds it from the broker
		MemTableSize: 32 << 20,
		Logger:       quietLogger{},
	})
	if err != nil {
		return nil, fmt.Errorf("sink pending store: %w", err)
	}
	return &pending{dir: dir, db: db}, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

func (p *pending) b() *pebble.Batch {
	if p.batch == nil {
		p.batch = p.db.NewIndexedBatch()
	}
	return p.batch
}

// batchBytes bounds the open batch: a batch is memory until committed.
const batchBytes = 4 << 20

// set records the newest change of key.
func (p *pending) set(key, val []byte) error {
	p.n++
	if err := p.b().Set(key, val, nil); err != nil {
		return err
	}
	if p.batch.Len() >= batchBytes {
		return p.flush()
	}
	return nil
}

// add adds delta to the count of key, a whole row (tables without a
// primary key), whose values are vals.
func (p *pending) add(key []byte, delta int64, vals []value) error {
	b := p.b()
	cur := int64(0)
	v, closer, err := b.Get(key)
	switch {
	case err == nil:
		if len(v) > 0 && v[0] == opCount {
			cur, _ = binary.Varint(v[1:])
		}
		closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("sink pending store: %w", err)
	}
	buf := binary.AppendVarint([]byte{opCount}, cur+delta)
	p.n++
	if err := b.Set(key, appendValues(buf, vals), nil); err != nil {
		return err
	}
	if p.batch.Len() >= batchBytes {
		return p.flush()
	}
	return nil
}

// flush writes the open batch into the store.
func (p *pending) flush() error {
	if p.batch == nil {
		return nil
	}
	err := p.batch.Commit(pebble.NoSync)
	p.batch.Close()
	p.batch = nil
	if err != nil {
		return fmt.Errorf("sink pending store: %w", err)
	}
	return nil
}

// scan iterates the keys with prefix in order.
func (p *pending) scan(prefix []byte) (*pebble.Iterator, error) {
	if err := p.flush(); err != nil {
		return nil, err
	}
	upper := prefixEnd(prefix)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("sink pending store: %w", err)
	}
	return it, nil
}

// clearPrefix drops the keys with prefix (a table's pending changes).
func (p *pending) clearPrefix(prefix []byte) error {
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.db.DeleteRange(prefix, prefixEnd(prefix), pebble.NoSync); err != nil {
		return fmt.Errorf("sink pending store: %w", err)
	}
	return nil
}

// reset empties the store after a commit: a fresh store is cheaper than
// deleting and compacting millions of keys.
func (p *pending) reset() error {
	if p.n == 0 && p.batch == nil {
		return nil
	}
	if err := p.close(); err != nil {
		return err
	}
	np, err := openPending(p.dir)
	if err != nil {
		return err
	}
	*p = *np
	return nil
}

func (p *pending) close() error {
	if p.batch != nil {
		p.batch.Close()
		p.batch = nil
	}
	if p.db == nil {
		return nil
	}
	err := p.db.Close()
	p.db = nil
	if rmErr := os.RemoveAll(p.dir); err == nil {
		err = rmErr
	}
	return err
}

// prefixEnd is the smallest key greater than every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// Row values in the pending store: for each column a uvarint of length+1
// (0 for NULL) and the bytes.
func appendValues(dst []byte, vals []value) []byte {
	for _, v := range vals {
		if v.null {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(v.s))+1)
		dst = append(dst, v.s...)
	}
	return dst
}

// decodeValues reads n values written by appendValues.
func decodeValues(b []byte, vals []value) error {
	for i := range vals {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k)+1 {
			return io.ErrUnexpectedEOF
		}
		b = b[k:]
		if l == 0 {
			vals[i] = value{null: true}
			continue
		}
		vals[i] = value{s: string(b[:l-1])}
		b = b[l-1:]
	}
	if len(b) != 0 {
		return errors.New("trailing bytes")
	}
	return nil
}

// value is one column value as events carry it.
type value struct {
	s    string
	null bool
}
