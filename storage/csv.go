package storage

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// CSVError is a problem with a candle CSV file: the file's name, the 1-based line (0 when
// the problem is the file as a whole) and what is wrong, e.g.
// "prices.csv:17: high 9.5 is below low 10".
type CSVError struct {
	File string
	Line int
	Msg  string
}

func (e *CSVError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// csvColumns are the required columns, in the order the header usually lists them.
var csvColumns = [...]string{"timestamp", "open", "high", "low", "close", "volume"}

// CSVHeader is the header ReadCandlesCSV wants (in any column order, any case).
const CSVHeader = "timestamp,open,high,low,close,volume"

// ReadCandlesCSV reads OHLCV candles from CSV text, as exchanges publish klines, and returns
// them with our right-aligned stamps, oldest first, with the timeframe inferred from the rows.
// name is used in error messages only (the file name).
//
// The format:
//
//   - The first line is a header naming the columns timestamp, open, high, low, close and
//     volume, in any order and any case (a UTF-8 byte-order mark is skipped). Other columns
//     (close_time, quote_volume, trades…) are allowed and IGNORED, so exchange exports can be
//     used as they are; a required column missing or named twice is an error.
//   - timestamp is the candle's OPEN time, as exchanges publish it: a unix number (seconds,
//     milliseconds, microseconds or nanoseconds, told apart by magnitude like ParseTimestamp)
//     or ISO-8601 text (RFC 3339, with or without a zone — none means UTC — or a date alone).
//     It must be a whole millisecond. The candle's Time is open + timeframe (DESIGN.md: the
//     candle stamped T covers [T − tf, T)).
//   - open, high, low and close are positive numbers with low ≤ open, close ≤ high; volume is
//     a number ≥ 0. Fields may be quoted and padded with spaces; blank lines are skipped.
//   - Rows are in strictly ascending time order (a repeated or earlier timestamp is an
//     error). The timeframe is the smallest gap between consecutive rows and must be one of
//     market.Timeframes; every other gap must be a whole number of timeframes (holes are
//     allowed: the backtester accepts them). At least two rows are needed.
//
// Every error is a *CSVError naming the file, the line and the field at fault, e.g.
// "prices.csv:17: high 9.5 is below low 10". The candles' Exchange is "csv" and their Symbol
// is empty (the caller may set it); Trades is 0.
func ReadCandlesCSV(r io.Reader, name string) ([]market.Candle, market.Timeframe, error) {
	fail := func(line int, format string, args ...any) ([]market.Candle, market.Timeframe, error) {
		return nil, 0, &CSVError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	readErr := func(err error) ([]market.Candle, market.Timeframe, error) {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fail(pe.Line, "%v", pe.Err)
		}
		return fail(0, "read: %v", err)
	}

	// The header.
	head, err := cr.Read()
	if err == io.EOF {
		return fail(0, "empty file; the first line must be the header %s", CSVHeader)
	}
	if err != nil {
		return readErr(err)
	}
	headLine, _ := cr.FieldPos(0)
	var col [len(csvColumns)]int
	for i := range col {
		col[i] = -1
	}
	width := len(head)
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for k, want := range csvColumns {
			if h != want {
				continue
			}
			if col[k] >= 0 {
				return fail(headLine, "header names column %s twice (columns %d and %d)", want, col[k]+1, i+1)
			}
			col[k] = i
		}
	}
	var missing []string
	for k, c := range col {
		if c < 0 {
			missing = append(missing, csvColumns[k])
		}
	}
	if len(missing) > 0 {
		if len(head) > 0 && looksNumeric(strings.TrimSpace(strings.TrimPrefix(head[0], "\ufeff"))) {
			return fail(headLine, "no header: the first line must name the columns %s (in any order)", CSVHeader)
		}
		return fail(headLine, "header lacks %s; want the columns %s (in any order; others are ignored), have %q",
			strings.Join(missing, ", "), CSVHeader, strings.Join(head, ","))
	}

	// The rows.
	type row struct {
		open int64 // open time, unix ms
		line int
		ts   string // the timestamp as written
	}
	var (
		rows    []row
		candles []market.Candle
		vals    [len(csvColumns)]float64
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return readErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			return fail(line, "%d fields, the header has %d", len(rec), width)
		}
		tsText := strings.TrimSpace(rec[col[0]])
		us, err := ParseTimestamp(tsText)
		if err != nil {
			return fail(line, "%v", err)
		}
		if us%1000 != 0 {
			return fail(line, "timestamp %q is not a whole millisecond", tsText)
		}
		open := us / 1000
		for k := 1; k < len(csvColumns); k++ {
			raw := strings.TrimSpace(rec[col[k]])
			if raw == "" {
				return fail(line, "%s is empty", csvColumns[k])
			}
			x, err := strconv.ParseFloat(raw, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return fail(line, "%s %q is not a number", csvColumns[k], raw)
			}
			vals[k] = x
		}
		o, h, l, c, v := vals[1], vals[2], vals[3], vals[4], vals[5]
		for k, x := range []float64{o, h, l, c} {
			if x <= 0 {
				return fail(line, "%s %s must be positive", csvColumns[k+1], fmtNum(x))
			}
		}
		switch {
		case v < 0:
			return fail(line, "volume %s must not be negative", fmtNum(v))
		case h < l:
			return fail(line, "high %s is below low %s", fmtNum(h), fmtNum(l))
		case h < o:
			return fail(line, "high %s is below open %s", fmtNum(h), fmtNum(o))
		case h < c:
			return fail(line, "high %s is below close %s", fmtNum(h), fmtNum(c))
		case l > o:
			return fail(line, "low %s is above open %s", fmtNum(l), fmtNum(o))
		case l > c:
			return fail(line, "low %s is above close %s", fmtNum(l), fmtNum(c))
		}
		if n := len(rows); n > 0 {
			p := rows[n-1]
			switch {
			case open == p.open:
				return fail(line, "timestamp %q repeats line %d's %q", tsText, p.line, p.ts)
			case open < p.open:
				return fail(line, "timestamp %q is before line %d's %q; rows must be in ascending time order", tsText, p.line, p.ts)
			}
		}
		rows = append(rows, row{open: open, line: line, ts: tsText})
		candles = append(candles, market.Candle{Exchange: "csv", Time: open, Open: o, High: h, Low: l, Close: c, Volume: v})
	}
	switch len(rows) {
	case 0:
		return fail(0, "no candles after the header")
	case 1:
		return fail(rows[0].line, "only one candle; at least two rows are needed to infer the timeframe")
	}

	// The timeframe: the smallest gap; every gap a whole number of it.
	gap, at := int64(math.MaxInt64), 0
	for i := 1; i < len(rows); i++ {
		if d := rows[i].open - rows[i-1].open; d < gap {
			gap, at = d, i
		}
	}
	tf := market.Timeframe(gap)
	if !tf.Valid() {
		return fail(rows[at].line, "the smallest spacing between rows, %v (lines %d and %d), is not a candle timeframe; supported: %s",
			time.Duration(gap)*time.Millisecond, rows[at-1].line, rows[at].line, market.TimeframeList())
	}
	for i := 1; i < len(rows); i++ {
		if d := rows[i].open - rows[i-1].open; d%gap != 0 {
			return fail(rows[i].line, "timestamp %q is %v after line %d's, not a whole number of %v candles (the timeframe, from the smallest spacing)",
				rows[i].ts, time.Duration(d)*time.Millisecond, rows[i-1].line, tf)
		}
	}
	for i := range candles {
		candles[i].Timeframe = tf
		candles[i].Time = tf.FromOpenTime(candles[i].Time)
	}
	return candles, tf, nil
}

// IsCSVError reports whether err is (or wraps) a *CSVError: bad input, not a failure.
func IsCSVError(err error) bool {
	var ce *CSVError
	return errors.As(err, &ce)
}
