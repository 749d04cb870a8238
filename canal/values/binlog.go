package values

import (
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluicehq/sluice/canal/schema"
)

// SyncerSettings sets the BinlogSyncerConfig fields FromBinlog relies on:
// TIMESTAMP and DATETIME as time.Time (ParseTime), so a TIMESTAMP is an
// instant no time zone setting can shift; DECIMAL as go-mysql's exact string
// (UseDecimal off: shopspring's Decimal drops the scale's trailing zeros);
// JSON doubles as plain float64 (UseFloatWithTrailingZero off).
func SyncerSettings(cfg *replication.BinlogSyncerConfig) {
	cfg.ParseTime = true
	// Unused with ParseTime; UTC so that a config that turns ParseTime off
	// again at least gets UTC text (which FromBinlog still rejects).
	cfg.TimestampStringLocation = time.UTC
	cfg.UseDecimal = false
	cfg.UseFloatWithTrailingZero = false
}

// FromBinlog renders a value of a row decoded by go-mysql's replication
// package (RowsEvent.Rows[i][j], syncer configured with SyncerSettings) for
// col. nil is SQL NULL. A value of a Go type that does not fit the
// column's type (a string for an INT, a float64 for a DECIMAL), or out of
// the column's range, is an error wrapping ErrInvalid that names the column
// and the Go type.
func FromBinlog(col *schema.Column, v any) (Value, error) {
	if v == nil {
		if !col.Nullable {
			return Value{}, unexpectedNull(col)
		}
		return null, nil
	}
	var s string
	var err error
	switch columnKind(col) {
	case kindInt:
		s, err = intValue(col, v)
	case kindDecimal:
		s, err = decimalValue(col, v)
	case kindFloat:
		s, err = floatValue(col, v, 32)
	case kindDouble:
		s, err = floatValue(col, v, 64)
	case kindBit:
		s, err = bitValue(col, v)
	case kindDate:
		if d, ok := v.(string); ok {
			s, err = dateValue(col, v, d)
		} else {
			err = invalid(col, v, "not a DATE")
		}
	case kindDatetime:
		if err = checkFsp(col); err == nil {
			s, err = datetimeValue(col, v)
		}
	case kindTimestamp:
		if err = checkFsp(col); err == nil {
			s, err = timestampValue(col, v)
		}
	case kindTime:
		if t, ok := v.(string); !ok {
			err = invalid(col, v, "not a TIME")
		} else if err = checkFsp(col); err == nil {
			s, err = timeText(col, v, t)
		}
	case kindYear:
		s, err = yearBinlog(col, v)
	case kindText:
		s, err = textBinlog(col, v)
	case kindBinary:
		s, err = binaryBinlog(col, v)
	case kindEnum:
		s, err = enumBinlog(col, v)
	case kindSet:
		s, err = setBinlog(col, v)
	case kindJSON:
		s, err = jsonBinlog(col, v)
	default:
		err = Check(col)
	}
	if err != nil {
		return Value{}, err
	}
	return Value{S: s}, nil
}
