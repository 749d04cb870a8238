package message

import (
	"encoding/binary"
	"fmt"
)

// batchOverhead is the size of a batch item with an empty body and no
// properties: TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN (4 each) and PROPLEN (2).
const batchOverhead = 22

// BatchItem is one message of a SEND_BATCH_MESSAGE body. Body and Properties
// alias the body it was decoded from.
type BatchItem struct {
	Flag       int32
	Body       []byte
	Properties []byte // raw key 0x01 value 0x02 ...
}

// EncodeBatch encodes items as a SEND_BATCH_MESSAGE body, with MAGIC and
// BODYCRC 0 as rocketmq-client-go writes them. It fails if a body exceeds
// MaxBodySize or properties exceed MaxPropertiesSize.
func EncodeBatch(items []BatchItem) ([]byte, error) {
	n := 0
	for i := range items {
		if len(items[i].Body) > MaxBodySize {
			return nil, fmt.Errorf("batch item %d: %w", i, ErrBodyTooLarge)
		}
		if len(items[i].Properties) > MaxPropertiesSize {
			return nil, fmt.Errorf("batch item %d: %w", i, ErrPropertiesTooLong)
		}
		n += batchOverhead + len(items[i].Body) + len(items[i].Properties)
	}
	be := binary.BigEndian
	dst := make([]byte, 0, n)
	for _, it := range items {
		dst = be.AppendUint32(dst, uint32(batchOverhead+len(it.Body)+len(it.Properties)))
		dst = be.AppendUint32(dst, 0) // MAGIC
		dst = be.AppendUint32(dst, 0) // BODYCRC
		dst = be.AppendUint32(dst, uint32(it.Flag))
		dst = be.AppendUint32(dst, uint32(len(it.Body)))
		dst = append(dst, it.Body...)
		dst = be.AppendUint16(dst, uint16(len(it.Properties)))
		dst = append(dst, it.Properties...)
	}
	return dst, nil
}

// DecodeBatch decodes a SEND_BATCH_MESSAGE body. Each item's TOTALSIZE must
// equal 22 + BODYLEN + PROPLEN, BODYLEN must be at most MaxBodySize, MAGIC
// must be 0, MagicV1 or MagicV2, and a non-zero BODYCRC must match the body.
// The result's length is bounded by len(body)/22, so a hostile body cannot
// make it over-allocate. An empty body is an error.
func DecodeBatch(body []byte) ([]BatchItem, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("decode batch: %w", ErrTruncated)
	}
	items := make([]BatchItem, 0, min(len(body)/batchOverhead, 1024))
	for pos := 0; pos < len(body); {
		it, n, err := decodeBatchItem(body[pos:])
		if err != nil {
			return nil, fmt.Errorf("decode batch item %d at %d: %w", len(items), pos, err)
		}
		items = append(items, it)
		pos += n
	}
	return items, nil
}

func decodeBatchItem(b []byte) (BatchItem, int, error) {
	if len(b) < batchOverhead {
		return BatchItem{}, 0, ErrTruncated
	}
	be := binary.BigEndian
	size := int64(int32(be.Uint32(b)))
	magic := int32(be.Uint32(b[4:]))
	crc := int32(be.Uint32(b[8:]))
	bodyLen := int64(int32(be.Uint32(b[16:])))
	if magic != 0 && magic != MagicV1 && magic != MagicV2 {
		return BatchItem{}, 0, ErrBadMagic
	}
	if size < batchOverhead || bodyLen < 0 || bodyLen > size-batchOverhead {
		return BatchItem{}, 0, ErrSizeMismatch
	}
	if bodyLen > MaxBodySize {
		return BatchItem{}, 0, ErrBodyTooLarge
	}
	if size > int64(len(b)) {
		return BatchItem{}, 0, ErrTruncated
	}
	propsAt := 20 + int(bodyLen)
	propLen := int64(int16(be.Uint16(b[propsAt:])))
	if propLen < 0 || size != batchOverhead+bodyLen+propLen {
		return BatchItem{}, 0, ErrSizeMismatch
	}
	it := BatchItem{
		Flag:       int32(be.Uint32(b[12:])),
		Body:       b[20:propsAt:propsAt],
		Properties: b[propsAt+2 : size : size],
	}
	if crc != 0 && BodyCRC(it.Body) != crc {
		return BatchItem{}, 0, ErrCRCMismatch
	}
	return it, int(size), nil
}
