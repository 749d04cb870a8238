package schema

import (
	"fmt"
	"os"
	"sort"
)

// Compact bounds the file: it rewrites it as one snapshot of the state at
// before followed by the versions recorded after before, dropping the
// versions only positions older than before could use. Pass the oldest
// position the ingester may still restart from (its acknowledged
// position); TableAt and Rewind before it fail with ErrNoHistory after.
// The rewrite goes through a temporary file and a rename, so a crash
// leaves the old file or the new one.
func (h *History) Compact(before Key) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.writable(); err != nil {
		return err
	}
	if h.hasBase && before.Compare(h.base) < 0 {
		before = h.base
	}
	if before.Compare(h.newest.key) > 0 {
		before = h.newest.key
	}
	recs := h.compacted(before)
	bufs := make([][]byte, len(recs))
	for i, r := range recs {
		var err error
		if bufs[i], err = encodeRecord(r); err != nil {
			return err
		}
	}
	if err := h.f.Close(); err != nil {
		h.broken = err
		return fmt.Errorf("compact schema history: %w", err)
	}
	werr := writeFileAtomic(h.path, bufs)
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		h.broken = err
		return fmt.Errorf("compact schema history: reopen: %w", err)
	}
	h.f = f
	if werr != nil {
		// Whether the rename happened is unknown: refuse writes until the
		// file is reopened and read again.
		h.broken = werr
		return fmt.Errorf("compact schema history: %w", werr)
	}
	st, err := f.Stat()
	if err != nil {
		h.broken = err
		return fmt.Errorf("compact schema history: %w", err)
	}
	h.size, h.records = st.Size(), len(recs)
	newest := h.newest
	h.reset()
	for _, r := range recs {
		h.apply(r)
	}
	h.newest = newest
	return nil
}

// compacted returns the records that rebuild the model from before on: a
// snapshot of the state before the event at before, then the versions
// recorded after that point, one record per point.
func (h *History) compacted(before Key) []*record {
	start := point{before, false}
	snap := &record{kind: kindSnapshot, Key: before, DatabasesSet: true, Databases: []dbEntry{}}
	if s, ok := lastAt(h.server, start); ok {
		snap.Server = s
	}
	later := map[point]*record{}
	rec := func(p point) *record {
		if later[p] == nil {
			kind := byte(kindSnapshot)
			if p.ddl {
				kind = kindChange
			}
			later[p] = &record{kind: kind, Key: p.key}
		}
		return later[p]
	}
	for _, name := range sortedKeys(h.dbs) {
		vs := h.dbs[name]
		if d, ok := lastAt(vs, start); ok && d != nil {
			snap.Databases = append(snap.Databases, dbEntry{name, d})
		}
		for _, v := range vs {
			if v.at.compare(start) > 0 {
				r := rec(v.at)
				r.Databases = append(r.Databases, dbEntry{name, v.v})
			}
		}
	}
	ids := make([]tableID, 0, len(h.tables))
	for id := range h.tables {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].schema != ids[j].schema {
			return ids[i].schema < ids[j].schema
		}
		return ids[i].name < ids[j].name
	})
	for _, id := range ids {
		vs := h.tables[id]
		if t, ok := lastAt(vs, start); ok && t != nil {
			snap.Tables = append(snap.Tables, tableEntry{id.schema, id.name, t})
		}
		for _, v := range vs {
			if v.at.compare(start) <= 0 {
				continue
			}
			// A later snapshot lists the tables alive at its point; the
			// tables it dropped are dropped again by replaying it.
			if r := rec(v.at); v.at.ddl || v.v != nil {
				r.Tables = append(r.Tables, tableEntry{id.schema, id.name, v.v})
			}
		}
	}
	for _, v := range h.server {
		if v.at.compare(start) > 0 {
			rec(v.at).Server = v.v
		}
	}
	points := make([]point, 0, len(later))
	for p := range later {
		points = append(points, p)
	}
	sort.Slice(points, func(i, j int) bool { return points[i].compare(points[j]) < 0 })
	out := []*record{snap}
	for _, p := range points {
		out = append(out, later[p])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
