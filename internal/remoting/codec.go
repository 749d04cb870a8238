package remoting

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/internal/jsonx"
)

// Limits of the frame codec. Part of the wire contract: never raise them
// without checking every peer.
const (
	// MaxFrameSize is the largest totalLen accepted (Java's limit).
	MaxFrameSize = 16 << 20
	// MaxExtFields caps the number of extFields entries in one header so a
	// hostile header cannot make decoding quadratic or huge.
	MaxExtFields = 1024
	// maxJSONDepth bounds nesting of values skipped in a JSON header.
	maxJSONDepth = 64
	// readChunk is how much of a large frame is allocated ahead of the
	// bytes that have actually arrived.
	readChunk = 64 << 10
)

// ErrFrame is wrapped by every frame decoding error; a connection that
// produces one is closed.
var ErrFrame = errors.New("bad frame")

func frameErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFrame, fmt.Sprintf(format, args...))
}

// ReadFrame reads one frame from r and decodes it. It checks the announced
// length against MaxFrameSize before allocating, and grows its buffer only as
// bytes arrive.
func ReadFrame(r io.Reader) (*Command, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return nil, err
	}
	total := int32(binary.BigEndian.Uint32(hdr[:4]))
	if total < 4 || total > MaxFrameSize {
		return nil, frameErr("frame length %d outside [4, %d]", total, MaxFrameSize)
	}
	frame, err := readN(r, int(total))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return DecodeFrame(frame)
}

// readN reads exactly n bytes, allocating at most readChunk, or three times
// what has been received, beyond it. The first readChunk of a large frame
// is staged in a pooled buffer, so a frame of up to 4×readChunk (a batch
// send) costs one allocation of its size and one copy.
func readN(r io.Reader, n int) ([]byte, error) {
	if n <= readChunk {
		buf := make([]byte, n)
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	stage := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(stage)
	buf := (*stage)[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := min(n, 4*cap(buf))
			nb := make([]byte, len(buf), grown)
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// chunkPool holds readN's staging buffers (readChunk bytes each).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// DecodeFrame decodes a frame without its leading totalLen: the header word,
// the header and the body. The command's Body aliases frame.
func DecodeFrame(frame []byte) (*Command, error) {
	if len(frame) < 4 {
		return nil, frameErr("frame of %d bytes has no header word", len(frame))
	}
	word := binary.BigEndian.Uint32(frame)
	hdrLen := int(word & 0xFFFFFF)
	if hdrLen > len(frame)-4 {
		return nil, frameErr("header length %d exceeds frame length %d", hdrLen, len(frame)-4)
	}
	header := frame[4 : 4+hdrLen]
	var (
		cmd *Command
		err error
	)
	switch st := SerializeType(word >> 24); st {
	case SerializeJSON:
		cmd, err = decodeJSONHeader(header)
	case SerializeRocketMQ:
		cmd, err = decodeBinaryHeader(header)
	default:
		return nil, frameErr("unknown serialize type %d", st)
	}
	if err != nil {
		return nil, err
	}
	if body := frame[4+hdrLen:]; len(body) > 0 {
		cmd.Body = body
	}
	return cmd, nil
}

// AppendFrame appends the encoded frame of cmd to dst, with the header in
// serialization st.
func AppendFrame(dst []byte, cmd *Command, st SerializeType) ([]byte, error) {
	dst, err := appendFrameHead(dst, cmd, st)
	if err != nil {
		return dst, err
	}
	return append(dst, cmd.Body...), nil
}

// appendFrameHead appends totalLen, the header word and the header of cmd;
// the body is left for the caller to write.
func appendFrameHead(dst []byte, cmd *Command, st SerializeType) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	switch st {
	case SerializeJSON:
		dst = appendJSONHeader(dst, cmd)
	case SerializeRocketMQ:
		dst = appendBinaryHeader(dst, cmd)
	default:
		return dst[:start], fmt.Errorf("unknown serialize type %d", st)
	}
	hdrLen := len(dst) - start - 8
	total := 4 + hdrLen + len(cmd.Body)
	if hdrLen > 0xFFFFFF || total > MaxFrameSize {
		return dst[:start], fmt.Errorf("frame of %d bytes exceeds %d", total, MaxFrameSize)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(total))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(st)<<24|uint32(hdrLen))
	return dst, nil
}

// ---- binary (ROCKETMQ) header ----

func appendBinaryHeader(dst []byte, c *Command) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Code))
	dst = append(dst, byte(c.Language))
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Opaque))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Flag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Remark)))
	dst = append(dst, c.Remark...)
	extLen := 0
	for _, f := range c.ExtFields {
		extLen += 2 + len(f.Key) + 4 + len(f.Value)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(extLen))
	for _, f := range c.ExtFields {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.Key)))
		dst = append(dst, f.Key...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Value)))
		dst = append(dst, f.Value...)
	}
	return dst
}

func decodeBinaryHeader(h []byte) (*Command, error) {
	const fixed = 2 + 1 + 2 + 4 + 4 + 4
	if len(h) < fixed {
		return nil, frameErr("binary header of %d bytes is shorter than %d", len(h), fixed)
	}
	c := &Command{Serialize: SerializeRocketMQ}
	c.Code = int16(binary.BigEndian.Uint16(h))
	c.Language = LanguageCode(h[2])
	c.Version = int16(binary.BigEndian.Uint16(h[3:]))
	c.Opaque = int32(binary.BigEndian.Uint32(h[5:]))
	c.Flag = int32(binary.BigEndian.Uint32(h[9:]))
	remarkLen := int(binary.BigEndian.Uint32(h[13:]))
	rest := h[fixed:]
	if remarkLen < 0 || remarkLen > len(rest) {
		return nil, frameErr("remark length %d exceeds header", remarkLen)
	}
	c.Remark = string(rest[:remarkLen])
	rest = rest[remarkLen:]
	if len(rest) < 4 {
		return nil, frameErr("binary header has no extFields length")
	}
	extLen := int(binary.BigEndian.Uint32(rest))
	rest = rest[4:]
	if extLen < 0 || extLen > len(rest) {
		return nil, frameErr("extFields length %d exceeds header", extLen)
	}
	fields, err := decodeBinaryFields(rest[:extLen])
	if err != nil {
		return nil, err
	}
	c.ExtFields = fields
	return c, nil
}

func decodeBinaryFields(b []byte) (Fields, error) {
	if len(b) == 0 {
		return nil, nil
	}
	all := string(b) // one allocation; keys and values are substrings
	// Headers carry about a dozen fields: size the slice once.
	fields := make(Fields, 0, 16)
	for p := 0; p < len(all); {
		if len(fields) >= MaxExtFields {
			return nil, frameErr("more than %d extFields", MaxExtFields)
		}
		if len(all)-p < 2 {
			return nil, frameErr("truncated extFields key length")
		}
		kl := int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if kl > len(all)-p {
			return nil, frameErr("extFields key length %d exceeds header", kl)
		}
		key := all[p : p+kl]
		p += kl
		if len(all)-p < 4 {
			return nil, frameErr("truncated extFields value length")
		}
		vl := int(int32(binary.BigEndian.Uint32(b[p:])))
		p += 4
		if vl < 0 || vl > len(all)-p {
			return nil, frameErr("extFields value length %d exceeds header", vl)
		}
		fields = append(fields, Field{key, all[p : p+vl]})
		p += vl
	}
	return fields, nil
}

// ---- JSON header ----

func appendJSONHeader(dst []byte, c *Command) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c.Code), 10)
	dst = append(dst, `,"language":"`...)
	dst = append(dst, c.Language.String()...)
	dst = append(dst, `","version":`...)
	dst = strconv.AppendInt(dst, int64(c.Version), 10)
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(c.Opaque), 10)
	dst = append(dst, `,"flag":`...)
	dst = strconv.AppendInt(dst, int64(c.Flag), 10)
	if c.Remark != "" {
		dst = append(dst, `,"remark":`...)
		dst = jsonx.AppendString(dst, c.Remark)
	}
	if len(c.ExtFields) > 0 {
		dst = append(dst, `,"extFields":{`...)
		for i, f := range c.ExtFields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, f.Key)
			dst = append(dst, ':')
			dst = jsonx.AppendString(dst, f.Value)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"serializeTypeCurrentRPC":"JSON"}`...)
	return dst
}
