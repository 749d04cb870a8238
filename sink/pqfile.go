package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupRows is the number of rows per Parquet row group and per Arrow
// record the sink builds: DuckDB's and Spark's readers like groups of
// ~100k rows.
const rowGroupRows = 128 * 1024

// pqWriter writes one Parquet file through Storage. Records are encoded
// on a goroutine of their own, so building the next record (parsing
// values) and encoding this one (dictionaries, zstd) use both cores.
type pqWriter struct {
	path string
	fw   FileWriter
	cw   *countingWriter
	pw   *pqarrow.FileWriter
	rows int64

	recs  chan arrow.Record
	done  chan struct{}
	err   error // of the encoding goroutine; read after done
	bytes atomic.Int64
}

type countingWriter struct {
	w FileWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func compression(name string) (compress.Compression, error) {
	switch name {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("compression %q: want zstd, snappy or none", name)
}

func createParquet(st Storage, p string, schema *arrow.Schema, codec compress.Compression) (*pqWriter, error) {
	fw, err := st.Create(p)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: fw}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		// zstd's fastest level: most of the gain at a fraction of the CPU
		// (the change log is written at the ingest rate).
		parquet.WithCompressionLevel(1),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		// Dictionaries pay off for text (statuses, names, enums), not for
		// keys, amounts and times, where hashing every value costs more
		// than it saves.
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(true),
		parquet.WithCreatedBy("sluice"),
	}
	for _, f := range schema.Fields() {
		if f.Type.ID() == arrow.STRING && f.Name != "_gtid" { // a GTID is unique per transaction
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	props := parquet.NewWriterProperties(opts...)
	pw, err := pqarrow.NewFileWriter(schema, cw, props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(memory.DefaultAllocator)))
	if err != nil {
		fw.Abort()
		return nil, fmt.Errorf("parquet %s: %w", p, err)
	}
	w := &pqWriter{path: p, fw: fw, cw: cw, pw: pw, recs: make(chan arrow.Record, 1), done: make(chan struct{})}
	go w.encode(w.recs)
	return w, nil
}

func (w *pqWriter) encode(recs <-chan arrow.Record) {
	defer close(w.done)
	for rec := range recs {
		if w.err == nil {
			if err := w.pw.Write(rec); err != nil {
				w.err = fmt.Errorf("parquet %s: %w", w.path, err)
			}
			w.bytes.Store(w.cw.n)
		}
		rec.Release()
	}
}

// write hands rec (retained for the writer) to the encoding goroutine.
func (w *pqWriter) write(rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	rec.Retain()
	w.recs <- rec
	w.rows += rec.NumRows()
	return nil
}

// size is roughly the file's size so far (what was encoded).
func (w *pqWriter) size() int64 { return w.bytes.Load() }

// wait stops the encoding goroutine and returns its error.
func (w *pqWriter) wait() error {
	if w.recs != nil {
		close(w.recs)
		w.recs = nil
		<-w.done
	}
	return w.err
}

// commit finishes the file and makes it durable at its path.
func (w *pqWriter) commit() (int64, error) {
	if err := w.wait(); err != nil {
		w.fw.Abort()
		return 0, err
	}
	if err := w.pw.Close(); err != nil {
		w.fw.Abort()
		return 0, fmt.Errorf("parquet %s: %w", w.path, err)
	}
	if err := w.fw.Commit(); err != nil {
		return 0, err
	}
	return w.cw.n, nil
}

func (w *pqWriter) abort() {
	w.wait()
	w.fw.Abort()
}

// pqReader reads a Parquet file's records in order.
type pqReader struct {
	f  FileReader
	rr pqarrow.RecordReader
}

func openParquet(st Storage, p string) (*pqReader, error) {
	f, err := st.Open(p)
	if err != nil {
		return nil, err
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet %s: %w", p, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: rowGroupRows}, memory.DefaultAllocator)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet %s: %w", p, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet %s: %w", p, err)
	}
	return &pqReader{f: f, rr: rr}, nil
}

// next returns the next record (nil at the end); it stays valid until the
// following call.
func (r *pqReader) next() (arrow.Record, error) {
	if r.rr.Next() {
		return r.rr.Record(), nil
	}
	if err := r.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return nil, nil
}

func (r *pqReader) close() {
	r.rr.Release()
	r.f.Close()
}
