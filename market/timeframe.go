package market

import (
	"fmt"
	"strings"
	"time"
)

// Timeframe is a candle interval. Its value is the length in milliseconds, so arithmetic on
// timestamps needs no conversion. The zero value is invalid.
type Timeframe int64

const (
	msSecond = int64(1000)
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
	msWeek   = 7 * msDay

	// weekOffset moves weekly buckets to start on Monday 00:00 UTC, as venues do:
	// the unix epoch was a Thursday, and Monday 1970-01-05 is four days after it.
	weekOffset = 4 * msDay
)

// The timeframes of DESIGN.md. 1w is for venues that have it.
const (
	TF1s  Timeframe = Timeframe(1 * msSecond)
	TF5s  Timeframe = Timeframe(5 * msSecond)
	TF15s Timeframe = Timeframe(15 * msSecond)
	TF30s Timeframe = Timeframe(30 * msSecond)
	TF1m  Timeframe = Timeframe(1 * msMinute)
	TF3m  Timeframe = Timeframe(3 * msMinute)
	TF5m  Timeframe = Timeframe(5 * msMinute)
	TF15m Timeframe = Timeframe(15 * msMinute)
	TF30m Timeframe = Timeframe(30 * msMinute)
	TF1h  Timeframe = Timeframe(1 * msHour)
	TF2h  Timeframe = Timeframe(2 * msHour)
	TF4h  Timeframe = Timeframe(4 * msHour)
	TF6h  Timeframe = Timeframe(6 * msHour)
	TF12h Timeframe = Timeframe(12 * msHour)
	TF1d  Timeframe = Timeframe(1 * msDay)
	TF1w  Timeframe = Timeframe(1 * msWeek)
)

// Timeframes lists every supported timeframe, shortest first.
var Timeframes = []Timeframe{TF1s, TF5s, TF15s, TF30s, TF1m, TF3m, TF5m, TF15m, TF30m, TF1h, TF2h, TF4h, TF6h, TF12h, TF1d, TF1w}

var tfNames = map[Timeframe]string{
	TF1s: "1s", TF5s: "5s", TF15s: "15s", TF30s: "30s",
	TF1m: "1m", TF3m: "3m", TF5m: "5m", TF15m: "15m", TF30m: "30m",
	TF1h: "1h", TF2h: "2h", TF4h: "4h", TF6h: "6h", TF12h: "12h",
	TF1d: "1d", TF1w: "1w",
}

// ParseTimeframe parses one of 1s 5s 15s 30s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w.
func ParseTimeframe(s string) (Timeframe, error) {
	t := strings.TrimSpace(s)
	for tf, name := range tfNames {
		if name == t {
			return tf, nil
		}
	}
	return 0, fmt.Errorf("timeframe %q is not supported; use one of %s", s, TimeframeList())
}

// TimeframeList is the supported names, space separated, for error messages and help.
func TimeframeList() string {
	names := make([]string, len(Timeframes))
	for i, tf := range Timeframes {
		names[i] = tf.String()
	}
	return strings.Join(names, " ")
}

func (tf Timeframe) String() string {
	if n, ok := tfNames[tf]; ok {
		return n
	}
	return fmt.Sprintf("Timeframe(%dms)", int64(tf))
}

// Valid reports whether tf is one of the supported timeframes.
func (tf Timeframe) Valid() bool { _, ok := tfNames[tf]; return ok }

// Millis is the length of the interval in milliseconds.
func (tf Timeframe) Millis() int64 { return int64(tf) }

// Duration is the length of the interval.
func (tf Timeframe) Duration() time.Duration { return time.Duration(tf) * time.Millisecond }

// offset is where bucket boundaries sit relative to the epoch.
func (tf Timeframe) offset() int64 {
	if tf == TF1w {
		return weekOffset
	}
	return 0
}

// End returns the right-aligned stamp of the candle that a trade at t belongs to: the T with
// T − tf ≤ t < T. A trade exactly on a boundary belongs to the candle that starts there.
func (tf Timeframe) End(t int64) int64 {
	return tf.Floor(t) + int64(tf)
}

// Floor returns the start of the interval containing t (the left edge, a boundary ≤ t).
func (tf Timeframe) Floor(t int64) int64 {
	n := int64(tf)
	off := tf.offset()
	x := t - off
	q := x / n
	if x%n < 0 { // floor division for times before the epoch
		q--
	}
	return q*n + off
}

// FromOpenTime converts a venue kline's open time O into our right-aligned stamp O + tf.
func (tf Timeframe) FromOpenTime(open int64) int64 { return open + int64(tf) }

// Aligned reports whether t is a bucket boundary of tf.
func (tf Timeframe) Aligned(t int64) bool { return tf.Floor(t) == t }
