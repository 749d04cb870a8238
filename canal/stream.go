package canal

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/schema"
)

// pendingMsg is an encoded event waiting for its transaction's end.
type pendingMsg struct {
	topic string
	queue int
	tags  string
	body  []byte
	xidAt int // offset of the XID slot in body, -1 when none
}

// openTxn is the transaction being read.
type openTxn struct {
	t       *txn
	gtid    string
	msgs    []pendingMsg
	bytes   int
	flushed bool        // it outgrew the buffer: its events go out without an XID
	xa      string      // the XA transaction's xid, from XA END
	prepEnd resumePoint // where its XA PREPARE group ended
}

// stream reads binlog events and turns them into published events.
type stream struct {
	in    *Ingester
	file  string
	gset  gomysql.GTIDSet
	cur   *openTxn
	rowNo int
	// checked caches the table-map checks: table id → the schema version
	// it was checked against.
	checked map[uint64]*schema.Table
	sizes   sizeHint
	now     func() time.Time
	// prepared are XA transactions prepared but not yet committed or
	// rolled back, by xid: their events wait in memory.
	prepared map[string]*openTxn
	// templates caches the encoded fields rows events of a table share;
	// a DDL clears it with the encoders it may replace.
	templates map[templateKey]*rowTemplate
}

func newStream(in *Ingester, start resumePoint, flavor string) (*stream, error) {
	s := &stream{in: in, file: start.File, checked: map[uint64]*schema.Table{}, now: time.Now, prepared: map[string]*openTxn{},
		templates: map[templateKey]*rowTemplate{}}
	if start.GTIDSet != "" {
		gs, err := gomysql.ParseGTIDSet(flavor, start.GTIDSet)
		if err != nil {
			return nil, fmt.Errorf("saved GTID set %q: %w", start.GTIDSet, err)
		}
		s.gset = gs
	} else if flavor == gomysql.MariaDBFlavor {
		s.gset = new(gomysql.MariadbGTIDSet)
		*s.gset.(*gomysql.MariadbGTIDSet) = gomysql.MariadbGTIDSet{Sets: map[uint32]map[uint32]*gomysql.MariadbGTID{}}
	}
	return s, nil
}

// point is the resume point after the event whose header is h.
func (s *stream) point(h *replication.EventHeader) resumePoint {
	rp := resumePoint{File: s.file, Pos: h.LogPos, Timestamp: h.Timestamp}
	if s.gset != nil {
		rp.GTIDSet = s.gset.String()
	}
	return rp
}

// handle processes one event.
func (s *stream) handle(ev *replication.BinlogEvent) error {
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		if h.Timestamp == 0 || h.LogPos == 0 {
			return nil // fake rotate: names the file, never a position to save
		}
		return s.boundary(resumePoint{File: s.file, Pos: uint32(e.Position), GTIDSet: s.gsetString(), Timestamp: h.Timestamp})
	case *replication.MariadbGTIDEvent:
		if err := s.closeDangling(h); err != nil {
			return err
		}
		s.begin(e.GTID.String())
	case *replication.GTIDEvent:
		if err := s.closeDangling(h); err != nil {
			return err
		}
		s.begin(mysqlGTID(e))
	case *replication.QueryEvent:
		return s.query(h, e)
	case *replication.TableMapEvent:
		return nil
	case *replication.RowsEvent:
		return s.rows(h, e)
	case *replication.XIDEvent:
		return s.commit(h, e.XID)
	}
	if h.EventType == replication.XA_PREPARE_LOG_EVENT {
		return s.xaPrepare(h)
	}
	return nil
}

func mysqlGTID(e *replication.GTIDEvent) string {
	u := e.SID
	if len(u) != 16 {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x:%d", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16], e.GNO)
}

// executed adds a transaction's GTID to the executed set.
func (s *stream) executed(gtid string) error {
	if gtid == "" || s.gset == nil {
		return nil
	}
	if err := s.gset.Update(gtid); err != nil {
		return fmt.Errorf("update GTID set with %s: %w", gtid, err)
	}
	return nil
}

func (s *stream) gsetString() string {
	if s.gset == nil {
		return ""
	}
	return s.gset.String()
}

// closeDangling handles a transaction still open when the next one's GTID
// event arrives (XA transactions leave at their prepare, see xa.go).
// Without events it ends where the new one starts. With events it is an
// error: they can be neither published without their commit nor dropped,
// and leaving it open would stall the saved position silently.
func (s *stream) closeDangling(h *replication.EventHeader) error {
	c := s.cur
	if c == nil {
		return nil
	}
	if len(c.msgs) > 0 || c.flushed {
		return fatal{fmt.Errorf("transaction %s at %s ended without a commit before the next one began at %s:%d",
			c.gtid, s.file, s.file, h.LogPos-h.EventSize)}
	}
	s.cur = nil
	at := s.point(h)
	at.Pos = h.LogPos - h.EventSize
	s.in.tracker.end(c.t, at)
	return nil
}

// begin opens a transaction (at its GTID event, or at BEGIN without one).
func (s *stream) begin(gtid string) {
	if s.cur != nil && len(s.cur.msgs) == 0 && !s.cur.flushed && s.cur.gtid == "" {
		s.cur.gtid = gtid // BEGIN came first
		return
	}
	s.cur = &openTxn{t: s.in.tracker.begin(), gtid: gtid}
	s.rowNo = 0
}

// boundary is an event that ends no transaction but is a safe position
// (a real rotate): it is committed like an empty transaction.
func (s *stream) boundary(at resumePoint) error {
	if s.cur != nil {
		return nil // inside a transaction: its end decides
	}
	t := s.in.tracker.begin()
	s.in.tracker.end(t, at)
	return nil
}

func (s *stream) query(h *replication.EventHeader, e *replication.QueryEvent) error {
	q := strings.TrimSpace(string(e.Query))
	switch {
	case strings.EqualFold(q, "BEGIN"):
		if s.cur == nil {
			s.begin("")
		}
		return nil
	case strings.EqualFold(q, "COMMIT"):
		return s.commit(h, 0) // a transaction of non-transactional tables
	}
	if handled, err := s.xaQuery(h, q); handled {
		return err
	}
	if s.cur == nil {
		s.begin("")
	}
	if err := s.ddl(h, string(e.Schema), q); err != nil {
		return err
	}
	return s.commit(h, 0)
}

// commit ends the open transaction: its XID is written into its buffered
// events, which are published, and its end becomes a resume point once
// they are acknowledged.
func (s *stream) commit(h *replication.EventHeader, xid uint64) error {
	if s.cur == nil {
		s.begin("")
	}
	c := s.cur
	s.cur = nil
	if err := s.executed(c.gtid); err != nil {
		return err
	}
	for i := range c.msgs {
		if m := &c.msgs[i]; m.xidAt >= 0 {
			patchXID(m.body, m.xidAt, xid)
		}
	}
	if err := s.in.pub.publishAll(c.msgs, c.t); err != nil {
		return err
	}
	s.in.tracker.end(c.t, s.point(h))
	s.in.stats.txns.Add(1)
	return nil
}

// emit buffers (or, for a transaction beyond the buffer, publishes) one
// event of the open transaction.
func (s *stream) emit(topic string, queue int, tags string, m *FlatMessage) error {
	body, xidAt := m.appendJSON(make([]byte, 0, s.sizes.next()), !s.cur.flushed)
	return s.enqueue(topic, queue, tags, body, xidAt, m)
}

// enqueue buffers or publishes an encoded event; at names the event's
// table and position for errors.
func (s *stream) enqueue(topic string, queue int, tags string, body []byte, xidAt int, at *FlatMessage) error {
	c := s.cur
	s.sizes.saw(len(body))
	if len(body) > s.in.cfg.Publish.MaxMessageBytes {
		return fmt.Errorf("%w: a row of %s.%s at %s:%d encodes to %d bytes (limit %d)", ErrMessageTooLarge,
			at.Database, at.Table, at.File, at.Pos, len(body), s.in.cfg.Publish.MaxMessageBytes)
	}
	if c.flushed {
		return s.in.pub.publish(topic, queue, body, tags, c.t)
	}
	c.msgs = append(c.msgs, pendingMsg{topic: topic, queue: queue, tags: tags, body: body, xidAt: xidAt})
	c.bytes += len(body)
	if c.bytes > s.in.cfg.TxnBufferBytes {
		// A large transaction: send what waits (with XID 0) and stream the rest.
		if err := s.in.pub.publishAll(c.msgs, c.t); err != nil {
			return err
		}
		c.msgs, c.bytes, c.flushed = nil, 0, true
	}
	return nil
}

// rows turns a rows event into one event per row change.
func (s *stream) rows(h *replication.EventHeader, e *replication.RowsEvent) error {
	if e.Table == nil {
		return nil
	}
	db, name := string(e.Table.Schema), string(e.Table.Table)
	route := s.in.router.Table(db, name)
	if !route.Captured {
		return nil
	}
	kind := e.Type()
	var op string
	switch kind {
	case replication.EnumRowsEventTypeInsert:
		op = "insert"
	case replication.EnumRowsEventTypeUpdate:
		op = "update"
	case replication.EnumRowsEventTypeDelete:
		op = "delete"
	default:
		return fmt.Errorf("rows event of unknown type %v for %s.%s at %s:%d", kind, db, name, s.file, h.LogPos)
	}
	t, err := s.tableFor(e.Table, db, name)
	if err != nil {
		return err
	}
	if s.cur == nil {
		s.begin("")
	}
	enc, err := s.in.encoderFor(t, route)
	if err != nil {
		return err
	}
	queues, err := s.in.pub.queueCount(route.Topic)
	if err != nil {
		return err
	}
	// The event's own position is where it starts: LogPos is its end.
	evPos := h.LogPos - h.EventSize
	r := &rowEvents{base: FlatMessage{Database: db, Table: name, PKNames: enc.pkNames, ES: int64(h.Timestamp) * 1000,
		TS: s.now().UnixMilli(), SQLType: enc.sqlTypes, MySQLType: enc.mysqlTypes, GTID: s.cur.gtid,
		File: s.file, Pos: evPos, ServerID: h.ServerID}, enc: enc, topic: route.Topic, queues: queues}
	r.json = s.template(enc, &r.base).forEvent(&r.base)
	r.idHash = eventIDPrefix(h.ServerID, s.file, evPos)
	if kind != replication.EnumRowsEventTypeUpdate {
		typ := TypeInsert
		if kind == replication.EnumRowsEventTypeDelete {
			typ = TypeDelete
		}
		if !s.in.router.Publishes(op) {
			return nil
		}
		images, err := renderAll(enc, e.Rows)
		if err != nil {
			return s.rowErr(err, db, name, h)
		}
		for _, data := range images {
			if err := s.emitRow(r, typ, data, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if len(e.Rows)%2 != 0 {
		return fmt.Errorf("update event for %s.%s at %s:%d has %d row images, want pairs", db, name, s.file, evPos, len(e.Rows))
	}
	images, err := renderAll(enc, e.Rows)
	if err != nil {
		return s.rowErr(err, db, name, h)
	}
	for i := 0; i < len(images); i += 2 {
		before, after := images[i], images[i+1]
		if enc.keyChanged(before, after) {
			// A new key goes to its own queue: DELETE(old) + INSERT(new)
			// keeps every key's history in one queue, in order.
			if s.in.router.Publishes("delete") {
				if err := s.emitRow(r, TypeDelete, before, nil); err != nil {
					return err
				}
			}
			if s.in.router.Publishes("insert") {
				if err := s.emitRow(r, TypeInsert, after, nil); err != nil {
					return err
				}
			}
			continue
		}
		if !s.in.router.Publishes("update") {
			continue
		}
		if err := s.emitRow(r, TypeUpdate, after, changed(before, after)); err != nil {
			return err
		}
	}
	return nil
}

func (s *stream) rowErr(err error, db, name string, h *replication.EventHeader) error {
	return fatal{fmt.Errorf("decode row of %s.%s at %s:%d: %w", db, name, s.file, h.LogPos-h.EventSize, err)}
}

// rowEvents encodes the row changes of one rows event.
type rowEvents struct {
	base   FlatMessage // the fields the rows share
	json   rowsJSON
	enc    *tableEncoder
	topic  string
	queues int
	idHash uint64 // eventIDPrefix of the event's position
}

// emitRow numbers, encodes and routes one row change.
func (s *stream) emitRow(r *rowEvents, typ string, data, old []Cell) error {
	row := s.rowNo
	s.rowNo++
	s.in.stats.rows.Add(1)
	body, xidAt := r.json.appendJSON(make([]byte, 0, s.sizes.next()), eventIDOf(r.idHash, row), typ, data, old, row, 0, !s.cur.flushed)
	return s.enqueue(r.topic, r.enc.queue(r.base.Database, r.base.Table, data, r.queues), r.enc.tags, body, xidAt, &r.base)
}

// template returns the row template of enc's rows events for base's
// table, built at its first event.
func (s *stream) template(enc *tableEncoder, base *FlatMessage) *rowTemplate {
	k := templateKey{enc, base.Database, base.Table}
	t := s.templates[k]
	if t == nil {
		t = newRowTemplate(base, enc.names, enc.sqlTypes, enc.mysqlTypes)
		s.templates[k] = t
	}
	return t
}

// templateKey names a row template: the encoder, and the names the events
// carry (the binlog's, which the encoder's table matched).
type templateKey struct {
	enc       *tableEncoder
	db, table string
}

// changed returns the before values of the columns an update changed.
func changed(before, after []Cell) []Cell {
	out := []Cell{}
	for i := range before {
		if before[i].Null != after[i].Null || before[i].S != after[i].S {
			out = append(out, before[i])
		}
	}
	return out
}

// tableFor returns the schema a rows event is decoded with, checked once
// per table map against what the binlog says about the table.
func (s *stream) tableFor(tm *replication.TableMapEvent, db, name string) (*schema.Table, error) {
	t, ok := s.in.history.Table(db, name)
	if !ok {
		return nil, fatal{fmt.Errorf("no schema known for %s.%s at %s: it was not captured when the schema history began (re-snapshot, or reset positions)", db, name, s.file)}
	}
	if s.checked[tm.TableID] == t {
		return t, nil
	}
	if err := schema.Reconcile(t, tm); err != nil {
		return nil, fatal{fmt.Errorf("schema of %s.%s at %s: %w", db, name, s.file, err)}
	}
	s.checked[tm.TableID] = t
	return t, nil
}

// ddl applies a statement to the schema history and publishes it to every
// queue of each captured table it changes.
func (s *stream) ddl(h *replication.EventHeader, defaultSchema, q string) error {
	evPos := h.LogPos - h.EventSize
	changes, err := s.in.history.ApplyDDL(schema.Key{File: s.file, Pos: evPos}, defaultSchema, q)
	if err != nil {
		return fatal{fmt.Errorf("DDL at %s:%d: %w", s.file, evPos, err)}
	}
	clear(s.checked)
	clear(s.templates)
	for _, ch := range changes {
		s.in.forgetTable(ch.Schema, ch.Table)
		if ch.OldTable != "" {
			s.in.forgetTable(ch.OldSchema, ch.OldTable)
		}
		route := s.in.router.Table(ch.Schema, ch.Table)
		if !route.Captured || !s.in.router.Publishes("ddl") {
			continue
		}
		m := FlatMessage{Database: ch.Schema, Table: ch.Table, IsDDL: true, Type: ddlType(ch.Kind), SQL: q,
			ES: int64(h.Timestamp) * 1000, TS: s.now().UnixMilli(), GTID: s.cur.gtid, File: s.file, Pos: evPos,
			Row: s.rowNo, ServerID: h.ServerID}
		if ch.Kind != schema.ChangeDrop && ch.After != nil {
			m.PKNames = ch.After.PKNames()
			m.Columns = columnDefs(ch.After, ch.Renamed)
		}
		m.ID = EventID(m.ServerID, m.File, m.Pos, m.Row)
		s.rowNo++
		n, err := s.in.pub.queueCount(route.Topic)
		if err != nil {
			return err
		}
		// An ordering barrier: every queue of the topic gets it.
		for q := range n {
			if err := s.emit(route.Topic, q, ch.Schema+"."+ch.Table, &m); err != nil {
				return err
			}
		}
		s.in.stats.ddls.Add(1)
	}
	return nil
}

func ddlType(k schema.ChangeKind) string {
	switch k {
	case schema.ChangeCreate:
		return TypeCreate
	case schema.ChangeDrop:
		return TypeErase
	case schema.ChangeRename:
		return TypeRename
	case schema.ChangeTruncate:
		return TypeTruncate
	case schema.ChangeAlter:
		return TypeAlter
	}
	return TypeQuery
}

// run reads events until ctx ends or an error.
func (s *stream) run(ctx context.Context, st *replication.BinlogStreamer) error {
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return err
		}
		if err := s.handle(ev); err != nil {
			return err
		}
		if err := s.in.pub.Err(); err != nil {
			return err
		}
	}
}

// sizeHint guesses the size of the next event from the recent ones, so an
// event's buffer is allocated once instead of grown.
type sizeHint struct{ avg int }

func (h *sizeHint) next() int { return max(h.avg+h.avg/8, 256) }

func (h *sizeHint) saw(n int) {
	if n > h.avg {
		h.avg = n
	} else {
		h.avg -= (h.avg - n) / 16
	}
}

// parallelRows is the size of a rows event above which its row images
// are rendered on several goroutines (the events are then encoded and
// published in order, as before).
const parallelRows = 128

// renderAll renders every row image of an event, in parallel for large
// events, into cells of one allocation. The first failing row (lowest
// index) decides the error.
func renderAll(enc *tableEncoder, rows [][]any) ([][]Cell, error) {
	out := make([][]Cell, len(rows))
	n := len(enc.cols)
	cells := make([]Cell, len(rows)*n)
	for i := range out {
		out[i] = cells[i*n : (i+1)*n : (i+1)*n]
	}
	workers := min(runtime.GOMAXPROCS(0), len(rows)/parallelRows+1)
	if workers <= 1 {
		for i, row := range rows {
			if err := enc.cellsInto(out[i], row); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	errs := make([]error, workers)
	per := (len(rows) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(rows))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if err := enc.cellsInto(out[i], rows[i]); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
