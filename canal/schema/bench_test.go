package schema

import (
	"fmt"
	"testing"
)

func BenchmarkSchemaTableLookup(b *testing.B) {
	h := newTestHistory(b)
	tables := make([]*Table, 1000)
	for i := range tables {
		tables[i] = &Table{Schema: fmt.Sprintf("db%d", i%10), Name: fmt.Sprintf("table_%d", i), Charset: "utf8mb4",
			Columns: []Column{{Name: "id", DataType: "bigint", ColumnType: "bigint(20)"}}, PK: []int{0}}
	}
	if err := h.Bootstrap(h.next(), tables); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		t := tables[i*10]
		if _, err := h.ApplyDDL(h.next(), t.Schema, "ALTER TABLE "+t.Name+" ADD COLUMN c INT"); err != nil {
			b.Fatal(err)
		}
	}
	mid := Key{File: "binlog.000001", Pos: h.pos / 2}
	b.Run("Table", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			t := tables[i%len(tables)]
			if _, ok := h.Table(t.Schema, t.Name); !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("TableAt", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			t := tables[i%len(tables)]
			if _, ok := h.TableAt(mid, t.Schema, t.Name); !ok {
				b.Fatal("missing")
			}
		}
	})
}

func BenchmarkSchemaApplyDDL(b *testing.B) {
	alters := []string{
		"ALTER TABLE orders MODIFY c BIGINT NOT NULL DEFAULT 7",
		"ALTER TABLE orders MODIFY c INT NOT NULL DEFAULT 7",
	}
	b.Run("parse+apply", func(b *testing.B) {
		h := newTestHistory(b)
		h.exec(ordersDDL, "ALTER TABLE orders ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER id")
		for i := 0; b.Loop(); i++ {
			r, _, err := h.plan(h.next(), "d", alters[i%2])
			if err != nil || r == nil {
				b.Fatal(err)
			}
			h.apply(r)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ddl/s")
	})
	b.Run("durable", func(b *testing.B) {
		h := newTestHistory(b)
		h.exec(ordersDDL, "ALTER TABLE orders ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER id")
		for i := 0; b.Loop(); i++ {
			if _, err := h.ApplyDDL(h.next(), "d", alters[i%2]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ddl/s")
	})
}
