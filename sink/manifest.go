package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// Manifest is one commit of a table: the files of the version it makes
// current, the change-log files the commit added, and how far the table
// has consumed each queue. Readers take the newest manifest under
// `_manifest/`; the sink writes a manifest only after every file it names
// is durable, so a manifest never names a missing file.
type Manifest struct {
	Format  int    `json:"format"`
	Version int64  `json:"version"`
	Time    string `json:"committedAt"`

	Database string `json:"database"`
	Table    string `json:"table"`
	// Generation counts DROP TABLE + CREATE TABLE: a new table version.
	Generation int `json:"generation"`
	// Schemas are the table's schema versions still referenced; the last
	// is the current one.
	Schemas []*Schema `json:"schemas"`

	// Current are the files of the rebuilt table, in primary-key order.
	Current []DataFile `json:"current"`
	// Changes are the change-log files this commit added (the log is the
	// union over all manifests).
	Changes []DataFile `json:"changes"`
	// ChangeFiles counts the change-log files of all commits so far.
	ChangeFiles int64 `json:"changeFiles"`

	// Queues are, per queue, the offset of the next message to consume
	// and the newest source version applied from it.
	Queues []QueueState `json:"queues"`
	// Position is the newest source version the table holds.
	Position Version `json:"position"`
	// GTID is the GTID of the newest change applied.
	GTID string `json:"gtid,omitempty"`
	// TruncatedAt is the version of the last TRUNCATE or DROP TABLE:
	// changes older than it no longer affect the current table.
	TruncatedAt Version `json:"truncatedAt,omitzero"`
	// Rows is the current table's row count.
	Rows int64 `json:"rows"`
}

// DataFile is a Parquet file of a manifest.
type DataFile struct {
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	Schema int    `json:"schema"`
	// MinKey and MaxKey bound the primary keys of a current file (hex of
	// the order-preserving key encoding).
	MinKey string `json:"minKey,omitempty"`
	MaxKey string `json:"maxKey,omitempty"`
}

// QueueState is a table's progress in one queue.
type QueueState struct {
	Topic  string  `json:"topic"`
	Broker string  `json:"broker"`
	Queue  int     `json:"queue"`
	Offset int64   `json:"offset"`
	Last   Version `json:"last"`
}

const manifestFormat = 1

// manifestName is the file of version v: fixed-width so names sort.
func manifestName(v int64) string { return fmt.Sprintf("%020d.json", v) }

// loadLatestManifest reads the newest manifest of the table under dir
// (nil when it has none).
func loadLatestManifest(st Storage, dir string) (*Manifest, error) {
	names, err := st.List(path.Join(dir, "_manifest"))
	if err != nil {
		return nil, err
	}
	for i := len(names) - 1; i >= 0; i-- {
		n := names[i]
		if strings.Contains(n, "/") || !strings.HasSuffix(n, ".json") {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(n, ".json"), 10, 64)
		if err != nil {
			continue
		}
		b, err := st.ReadFile(path.Join(dir, "_manifest", n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeManifest(b)
		if err != nil {
			return nil, fmt.Errorf("manifest %s/_manifest/%s: %w", dir, n, err)
		}
		if m.Version != v {
			return nil, fmt.Errorf("manifest %s/_manifest/%s holds version %d", dir, n, m.Version)
		}
		return m, nil
	}
	return nil, nil
}

// decodeManifest parses and checks a manifest.
func decodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad manifest: %w", err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("bad manifest: format %d, want %d", m.Format, manifestFormat)
	}
	if m.Version < 1 || m.Database == "" || m.Table == "" || len(m.Schemas) == 0 {
		return nil, errors.New("bad manifest: version, database, table and schemas are required")
	}
	ids := map[int]bool{}
	for _, s := range m.Schemas {
		if s == nil || len(s.Columns) == 0 {
			return nil, errors.New("bad manifest: a schema without columns")
		}
		if err := s.init(); err != nil {
			return nil, fmt.Errorf("bad manifest: schema %d: %w", s.ID, err)
		}
		ids[s.ID] = true
	}
	for _, f := range append(append([]DataFile(nil), m.Current...), m.Changes...) {
		if f.Path == "" || strings.Contains(f.Path, "..") || strings.HasPrefix(f.Path, "/") {
			return nil, fmt.Errorf("bad manifest: file path %q", f.Path)
		}
		if !ids[f.Schema] {
			return nil, fmt.Errorf("bad manifest: file %s has unknown schema %d", f.Path, f.Schema)
		}
	}
	return &m, nil
}

// writeManifest commits m: the commit point of a table's version.
func writeManifest(st Storage, dir string, m *Manifest) error {
	m.Format = manifestFormat
	m.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	w, err := st.Create(path.Join(dir, "_manifest", manifestName(m.Version)))
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}
