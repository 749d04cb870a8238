package canal

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/canal/position"
	"github.com/sluicehq/sluice/canal/schema"
	"github.com/sluicehq/sluice/canal/values"
)

// snapshotAndStart takes a consistent snapshot of the captured tables,
// publishes every row as an INSERT marked snapshot, and returns the binlog
// position the snapshot meets the stream at. Progress is saved after each
// acknowledged chunk, so a crash resumes with the unfinished tables and
// chunks (resume) instead of starting over.
//
// Consistency: the rows are read in one REPEATABLE READ transaction started
// WITH CONSISTENT SNAPSHOT, and MariaDB reports the binlog position of
// exactly that snapshot (binlog_snapshot_file/position). A resumed snapshot
// reads the remaining rows in a new transaction at a later position P2;
// its rows carry P2, the stream still starts at the first snapshot's
// position P1, and a consumer applying only newer positions per key ends
// with the same table.
func (in *Ingester) snapshotAndStart(ctx context.Context, db *sql.DB, resume *position.Snapshot) (resumePoint, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return resumePoint{}, err
	}
	defer conn.Close()
	at, err := in.consistentSnapshot(ctx, conn)
	if err != nil {
		return resumePoint{}, err
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	// Read in the snapshot's transaction: the schemas of the snapshot.
	loaded, err := schema.LoadSnapshot(ctx, conn, func(s, t string) bool { return in.router.Table(s, t).Captured })
	if err != nil {
		return resumePoint{}, err
	}
	tables := loaded.Tables
	snap := resume
	if snap == nil {
		snap = &position.Snapshot{Start: at}
		for _, t := range tables {
			snap.Tables = append(snap.Tables, position.TableProgress{Schema: t.Schema, Table: t.Name})
		}
		if err := in.history.BootstrapSnapshot(schema.Key{File: at.File, Pos: at.Pos}, loaded); err != nil {
			return resumePoint{}, err
		}
		if err := in.saveSnapshot(snap); err != nil {
			return resumePoint{}, err
		}
		in.log.Info("snapshot started", "file", at.File, "pos", at.Pos, "tables", len(tables))
	} else {
		if err := in.history.Rewind(schema.Key{File: snap.Start.File, Pos: snap.Start.Pos}); err != nil {
			return resumePoint{}, fatal{err}
		}
		in.log.Info("snapshot resumed", "start_file", snap.Start.File, "start_pos", snap.Start.Pos,
			"now_file", at.File, "now_pos", at.Pos)
	}
	byName := map[string]*schema.Table{}
	for _, t := range tables {
		byName[t.Schema+"."+t.Name] = t
	}
	tr := newTracker(resumePoint{})
	pub := newPublisher(ctx, in.cfg.Publish, in.prod, tr, in.log)
	pub.stats = &in.stats
	sn := &snapshotter{in: in, conn: conn, pub: pub, tr: tr, at: at, snap: snap, started: time.Now(), lastLog: time.Now()}
	sn.estimate(ctx)
	for i := range snap.Tables {
		p := &snap.Tables[i]
		if p.Done {
			continue
		}
		t := byName[p.Schema+"."+p.Table]
		if t == nil {
			p.Done = true // dropped since: nothing to read
			continue
		}
		if err := sn.table(ctx, t, p); err != nil {
			pub.close(false)
			return resumePoint{}, err
		}
	}
	if err := pub.close(true); err != nil {
		return resumePoint{}, err
	}
	start := snap.Start
	if err := in.store.Save(ctx, position.State{Position: start, ServerID: in.info.ServerID, ServerUUID: in.info.UUID, SavedAt: time.Now().UTC()}); err != nil {
		return resumePoint{}, err
	}
	in.mu.Lock()
	in.committed = start
	in.mu.Unlock()
	in.log.Info("snapshot done", "rows", in.stats.snapshotRows.Load())
	return resumePoint{File: start.File, Pos: start.Pos, GTIDSet: start.GTIDSet, Timestamp: start.Timestamp}, nil
}

// consistentSnapshot opens the snapshot transaction on conn and returns
// the binlog position it corresponds to.
func (in *Ingester) consistentSnapshot(ctx context.Context, conn *sql.Conn) (position.Position, error) {
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET SESSION time_zone = '+00:00'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return position.Position{}, fmt.Errorf("snapshot: %s: %w", q, err)
		}
	}
	p := position.Position{Flavor: in.flavor}
	if in.flavor == "mariadb" {
		if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return p, fmt.Errorf("snapshot: start transaction: %w", err)
		}
		var name, file, pos string
		if err := conn.QueryRowContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_file'").Scan(&name, &file); err != nil {
			return p, fmt.Errorf("snapshot: binlog_snapshot_file: %w", err)
		}
		if err := conn.QueryRowContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_position'").Scan(&name, &pos); err != nil {
			return p, fmt.Errorf("snapshot: binlog_snapshot_position: %w", err)
		}
		n, err := strconv.ParseUint(pos, 10, 32)
		if err != nil {
			return p, fmt.Errorf("snapshot: binlog_snapshot_position %q: %w", pos, err)
		}
		p.File, p.Pos = file, uint32(n)
		var gtid sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", p.File, p.Pos).Scan(&gtid); err == nil {
			p.GTIDSet = gtid.String
		}
		return p, nil
	}
	// MySQL: a brief global read lock pins the position to the snapshot.
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return p, fmt.Errorf("snapshot: FLUSH TABLES WITH READ LOCK (needs RELOAD): %w", err)
	}
	defer conn.ExecContext(context.Background(), "UNLOCK TABLES")
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return p, fmt.Errorf("snapshot: start transaction: %w", err)
	}
	cur, err := position.Current(ctx, conn)
	if err != nil {
		return p, err
	}
	return cur, nil
}

func (in *Ingester) saveSnapshot(snap *position.Snapshot) error {
	return in.store.Save(context.Background(), position.State{Snapshot: snap, ServerID: in.info.ServerID,
		ServerUUID: in.info.UUID, SavedAt: time.Now().UTC()})
}

// snapshotter reads tables chunk by chunk within the snapshot transaction.
type snapshotter struct {
	in   *Ingester
	conn *sql.Conn
	pub  *publisher
	tr   *tracker
	at   position.Position
	snap *position.Snapshot

	sizes            sizeHint
	started, lastLog time.Time
	startRows        int64 // rows done when this run began
}

// estimate fills each table's row estimate (information_schema's
// TABLE_ROWS) for progress reports.
func (sn *snapshotter) estimate(ctx context.Context) {
	for i := range sn.snap.Tables {
		p := &sn.snap.Tables[i]
		sn.startRows += p.Rows
		var n sql.NullInt64
		if err := sn.conn.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			p.Schema, p.Table).Scan(&n); err == nil && n.Valid {
			p.TotalEstimate = n.Int64
		}
	}
}

// progress logs rows done, rows/s and an ETA every 5 s.
func (sn *snapshotter) progress(final bool) {
	if !final && time.Since(sn.lastLog) < 5*time.Second {
		return
	}
	sn.lastLog = time.Now()
	var done, total int64
	for _, p := range sn.snap.Tables {
		done += p.Rows
		total += max(p.TotalEstimate, p.Rows)
	}
	el := time.Since(sn.started).Seconds()
	rate := float64(done-sn.startRows) / max(el, 1e-3)
	eta := "unknown"
	if rate > 0 && total > done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	sn.in.log.Info("snapshot progress", "rows", done, "estimated_total", total, "rows_per_s", int64(rate), "eta", eta)
}

func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// table publishes the rows of t after p.LastKey, a chunk at a time, and
// saves progress after each acknowledged chunk. A table without a primary
// key is read in one pass (it cannot be resumed in the middle).
func (sn *snapshotter) table(ctx context.Context, t *schema.Table, p *position.TableProgress) error {
	in := sn.in
	route := in.router.Table(t.Schema, t.Name)
	enc, err := newTableEncoder(t, route, in.router)
	if err != nil {
		return err
	}
	n, err := sn.pub.queueCount(route.Topic)
	if err != nil {
		return err
	}
	exprs := make([]string, len(t.Columns))
	for i := range t.Columns {
		exprs[i] = values.SelectExpr(&t.Columns[i])
	}
	from := quoteName(t.Schema) + "." + quoteName(t.Name)
	var pkCols []string
	for _, i := range t.PK {
		pkCols = append(pkCols, quoteName(t.Columns[i].Name))
	}
	chunk := in.cfg.SnapshotChunkRows
	for {
		// The key columns again, raw, as the next chunk's bounds.
		q := "SELECT " + strings.Join(append(exprs[:len(exprs):len(exprs)], pkCols...), ", ") + " FROM " + from
		var args []any
		if len(pkCols) > 0 {
			if len(p.LastKey) == len(pkCols) {
				q += " WHERE (" + strings.Join(pkCols, ", ") + ") > (" + strings.TrimSuffix(strings.Repeat("?, ", len(pkCols)), ", ") + ")"
				for _, v := range p.LastKey {
					args = append(args, v)
				}
			}
			q += " ORDER BY " + strings.Join(pkCols, ", ") + " LIMIT " + strconv.Itoa(chunk)
		}
		got, last, err := sn.chunk(ctx, t, enc, route.Topic, n, q, args)
		if err != nil {
			return err
		}
		// Wait for the chunk's acknowledgements, then record progress.
		if err := sn.tr.waitIdle(sn.pub.ctx); err != nil {
			return err
		}
		p.Rows += int64(got)
		if last != nil {
			p.LastKey = last
		}
		if len(pkCols) == 0 || got < chunk {
			p.Done = true
		}
		if err := in.saveSnapshot(sn.snap); err != nil {
			return err
		}
		sn.progress(p.Done)
		if p.Done {
			in.log.Info("snapshot table done", "table", t.Schema+"."+t.Name, "rows", p.Rows)
			return nil
		}
	}
}

// chunk runs one snapshot query and publishes its rows; it returns how
// many rows it read and the last row's primary-key values (as the query
// parameters of the next chunk).
func (sn *snapshotter) chunk(ctx context.Context, t *schema.Table, enc *tableEncoder, topic string, queues int, q string, args []any) (int, []string, error) {
	rows, err := sn.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("snapshot %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(t.Columns)+len(t.PK))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	x := sn.tr.begin()
	defer sn.tr.end(x, resumePoint{})
	n := 0
	var last []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, nil, fmt.Errorf("snapshot %s.%s: %w", t.Schema, t.Name, err)
		}
		data := make([]Cell, len(enc.cols))
		for j, i := range enc.cols {
			col := &t.Columns[i]
			v, err := values.FromSnapshot(col, raw[i], raw[i] == nil)
			if err != nil {
				return n, nil, fmt.Errorf("snapshot %s.%s column %s: %w", t.Schema, t.Name, col.Name, err)
			}
			data[j] = Cell{Name: enc.names[j], S: v.S, Null: v.Null}
		}
		last = last[:0]
		for i := range t.PK {
			last = append(last, string(raw[len(t.Columns)+i]))
		}
		m := FlatMessage{Database: t.Schema, Table: t.Name, PKNames: enc.pkNames, Type: TypeInsert,
			ES: time.Now().UnixMilli(), TS: time.Now().UnixMilli(), SQLType: enc.sqlTypes, MySQLType: enc.mysqlTypes,
			Data: data, GTID: sn.at.GTIDSet, File: sn.at.File, Pos: sn.at.Pos, Row: -1, ServerID: sn.in.info.ServerID, Snapshot: true}
		key := enc.key(data)
		m.ID = snapshotEventID(m.ServerID, m.File, m.Pos, t.Schema, t.Name, key)
		body := m.AppendJSON(make([]byte, 0, sn.sizes.next()))
		sn.sizes.saw(len(body))
		if err := sn.pub.publish(topic, QueueOf(t.Schema, t.Name, key, queues), body, enc.tags, x); err != nil {
			return n, nil, err
		}
		n++
		sn.in.stats.snapshotRows.Add(1)
	}
	if err := rows.Err(); err != nil {
		return n, nil, fmt.Errorf("snapshot %s.%s: %w", t.Schema, t.Name, err)
	}
	if n == 0 {
		return 0, nil, nil
	}
	return n, append([]string(nil), last...), nil
}

// snapshotEventID is the stable id of a snapshot row: its snapshot's
// position and its key.
func snapshotEventID(serverID uint32, file string, pos uint32, db, table string, key []Cell) int64 {
	h := uint64(EventID(serverID, file, pos, -1))
	h = fnvString(h, db)
	h = fnvByte(h, 0)
	h = fnvString(h, table)
	for _, c := range key {
		h = fnvByte(h, 0)
		h = fnvString(h, c.S)
	}
	return int64(h &^ (1 << 63))
}
