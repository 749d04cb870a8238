package protocol

import (
	"strconv"

	"github.com/sluicehq/sluice/internal/remoting"
)

// fieldReader reads typed extFields values and keeps the first error, so a
// header parser reads every field and checks once.
type fieldReader struct {
	f   remoting.Fields
	err error
}

func (r *fieldReader) fail(key, why string) {
	if r.err == nil {
		r.err = remoting.Errorf(InvalidParameter, "header field %s %s", key, why)
	}
}

func (r *fieldReader) str(key string, required bool) string {
	v, ok := r.f.Get(key)
	if required && (!ok || v == "") {
		r.fail(key, "is missing")
	}
	return v
}

func (r *fieldReader) i64(key string, required bool) int64 {
	v, ok := r.f.Get(key)
	if !ok || v == "" {
		if required {
			r.fail(key, "is missing")
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(key, "is not an integer: "+strconv.Quote(v))
	}
	return n
}

func (r *fieldReader) i32(key string, required bool) int32 {
	v, ok := r.f.Get(key)
	if !ok || v == "" {
		if required {
			r.fail(key, "is missing")
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		r.fail(key, "is not a 32-bit integer: "+strconv.Quote(v))
	}
	return int32(n)
}

func (r *fieldReader) boolean(key string) bool {
	v, _ := r.f.Get(key)
	return v == "true"
}

// fieldWriter builds extFields with typed setters.
type fieldWriter struct{ f remoting.Fields }

func newFieldWriter(n int) *fieldWriter { return &fieldWriter{f: make(remoting.Fields, 0, n)} }

func (w *fieldWriter) str(k, v string) *fieldWriter {
	w.f = append(w.f, remoting.Field{Key: k, Value: v})
	return w
}

func (w *fieldWriter) i64(k string, v int64) *fieldWriter { return w.str(k, strconv.FormatInt(v, 10)) }

func (w *fieldWriter) i32(k string, v int32) *fieldWriter {
	return w.str(k, strconv.FormatInt(int64(v), 10))
}

func (w *fieldWriter) boolean(k string, v bool) *fieldWriter { return w.str(k, strconv.FormatBool(v)) }
