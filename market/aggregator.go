package market

import (
	"sort"
	"time"
)

// Aggregator builds right-aligned OHLCV candles of one symbol in several timeframes at once
// from one trade stream.
//
// Rules (DESIGN.md, "Candles are right-aligned"):
//   - The candle stamped T covers trades with time in [T − tf, T); a trade exactly on a
//     boundary opens the next candle.
//   - A candle closes when a trade at or after its stamp T arrives, or when Tick is called with
//     a clock at or past T + grace.
//   - An interval with no trades yields a flat candle (O=H=L=C=previous close, volume 0), so a
//     series has no holes once it has started.
//   - Late trades: a trade older than the newest closed candle boundary (the watermark, the
//     largest stamp any timeframe has closed) is late. It is counted and reported to the
//     caller — the engine still stores it in raw_trades — but it is applied to no candle and
//     never reopens a closed one. Using one watermark for all timeframes keeps every timeframe
//     built from exactly the same set of trades, so a 5m candle always equals its five 1m ones.
//   - Within the open candle, Open is the price of the earliest trade by time and Close the
//     latest (ties go to the later arrival), so trades slightly out of order still give the
//     candle a trade-time-ordered recomputation would.
//
// An Aggregator is not safe for concurrent use; the engine owns one per symbol.
type Aggregator struct {
	exchange  string
	symbol    Symbol
	grace     int64
	states    []tfState
	watermark int64 // largest closed stamp over all timeframes
	late      int64
}

type tfState struct {
	tf        Timeframe
	n         int64
	open      bool
	flatOnly  bool // the open candle was made from empty history intervals only
	c         Candle
	first     int64 // time of the trade that set Open
	last      int64 // time of the trade that set Close
	started   bool  // a candle has closed, so lastEnd/lastClose are valid
	lastEnd   int64
	lastClose float64
}

// NewAggregator makes an aggregator for the given timeframes (duplicates are ignored; order does
// not matter). grace is how long past a candle's end the clock waits for stragglers before Tick
// closes it.
func NewAggregator(exchange string, sym Symbol, tfs []Timeframe, grace time.Duration) *Aggregator {
	seen := map[Timeframe]bool{}
	var list []Timeframe
	for _, tf := range tfs {
		if tf.Valid() && !seen[tf] {
			seen[tf] = true
			list = append(list, tf)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
	a := &Aggregator{exchange: exchange, symbol: sym, grace: grace.Milliseconds()}
	a.states = make([]tfState, len(list))
	for i, tf := range list {
		a.states[i] = tfState{tf: tf, n: int64(tf)}
	}
	return a
}

// Timeframes lists the aggregator's timeframes, shortest first.
func (a *Aggregator) Timeframes() []Timeframe {
	out := make([]Timeframe, len(a.states))
	for i := range a.states {
		out[i] = a.states[i].tf
	}
	return out
}

// Late is the number of late trades seen so far.
func (a *Aggregator) Late() int64 { return a.late }

// Watermark is the largest candle stamp closed so far in any timeframe (0 before the first).
func (a *Aggregator) Watermark() int64 { return a.watermark }

// Add applies one trade. Candles that the trade closes — including flat candles for empty
// intervals before it — are appended to out, in time order per timeframe. late reports a trade
// older than the watermark, which is applied to no candle.
func (a *Aggregator) Add(tr Trade, out []Candle) (_ []Candle, late bool) {
	t := tr.Time
	if t < a.watermark {
		a.late++
		return out, true
	}
	for i := range a.states {
		s := &a.states[i]
		if s.open && !s.flatOnly && t < s.c.Time && t >= s.c.Time-s.n { // fast path: inside the open candle
			c := &s.c
			if tr.Price > c.High {
				c.High = tr.Price
			}
			if tr.Price < c.Low {
				c.Low = tr.Price
			}
			if t >= s.last {
				c.Close, s.last = tr.Price, t
			}
			if t < s.first {
				c.Open, s.first = tr.Price, t
			}
			c.Volume += tr.Size
			c.Trades++
			continue
		}
		end := s.tf.End(t)
		out = a.advance(s, end, out)
		s.open, s.flatOnly = true, false
		s.c = Candle{Exchange: a.exchange, Symbol: a.symbol, Timeframe: s.tf, Time: end,
			Open: tr.Price, High: tr.Price, Low: tr.Price, Close: tr.Price, Volume: tr.Size, Trades: 1}
		s.first, s.last = t, t
	}
	return out, false
}

// advance closes the open candle of s (if it ends before end) and emits flat candles for every
// empty interval before the candle stamped end.
func (a *Aggregator) advance(s *tfState, end int64, out []Candle) []Candle {
	if s.open && s.c.Time < end {
		out = a.closeOpen(s, out)
	}
	if s.started {
		for next := s.lastEnd + s.n; next < end; next += s.n {
			out = a.emit(s, a.flat(s, next), out)
		}
	}
	return out
}

func (a *Aggregator) closeOpen(s *tfState, out []Candle) []Candle {
	s.open = false
	return a.emit(s, s.c, out)
}

func (a *Aggregator) emit(s *tfState, c Candle, out []Candle) []Candle {
	s.started = true
	s.lastEnd = c.Time
	s.lastClose = c.Close
	if c.Time > a.watermark {
		a.watermark = c.Time
	}
	return append(out, c)
}

func (a *Aggregator) flat(s *tfState, end int64) Candle {
	p := s.lastClose
	return Candle{Exchange: a.exchange, Symbol: a.symbol, Timeframe: s.tf, Time: end,
		Open: p, High: p, Low: p, Close: p}
}

// Tick advances the clock to now: every candle whose end + grace ≤ now is closed, and flat
// candles are emitted for empty intervals that have fully passed (end + grace ≤ now).
func (a *Aggregator) Tick(now int64, out []Candle) []Candle {
	for i := range a.states {
		s := &a.states[i]
		if s.open {
			if s.c.Time+a.grace > now {
				continue
			}
			out = a.closeOpen(s, out)
		}
		if !s.started {
			continue
		}
		for next := s.lastEnd + s.n; next+a.grace <= now; next += s.n {
			out = a.emit(s, a.flat(s, next), out)
		}
	}
	return out
}

// AddCandle merges a complete candle of a finer timeframe (typically 1m history) into every
// timeframe that is a whole multiple of it, as if its trades had arrived; timeframes finer than
// c, or not multiples of it, are left alone. Completed candles are appended to out (for c's own
// timeframe that is c itself). A candle older than the watermark is ignored and reported.
func (a *Aggregator) AddCandle(c Candle, out []Candle) (_ []Candle, late bool) {
	n := int64(c.Timeframe)
	if n <= 0 || c.Time-n < a.watermark {
		return out, true
	}
	start := c.Time - n
	flat := c.Trades == 0 && c.Volume == 0
	for i := range a.states {
		s := &a.states[i]
		if s.n < n || s.n%n != 0 {
			continue
		}
		end := s.tf.End(start)
		switch {
		case flat && s.started:
			// An empty interval adds nothing; flat candles for wholly empty buckets come from
			// advance, exactly as for a trade stream.
			if !s.open || s.c.Time != end {
				out = a.advance(s, end, out)
			}
		case s.open && s.c.Time == end:
			m := &s.c
			if s.flatOnly && !flat { // the bucket so far held only empty minutes: c's prices rule
				m.Open, m.High, m.Low, m.Close = c.Open, c.High, c.Low, c.Close
				s.flatOnly = false
			} else {
				m.High = max(m.High, c.High)
				m.Low = min(m.Low, c.Low)
				m.Close = c.Close
			}
			m.Volume += c.Volume
			m.Trades += c.Trades
		default:
			out = a.advance(s, end, out)
			s.open = true
			s.flatOnly = flat
			s.c = Candle{Exchange: a.exchange, Symbol: a.symbol, Timeframe: s.tf, Time: end,
				Open: c.Open, High: c.High, Low: c.Low, Close: c.Close, Volume: c.Volume, Trades: c.Trades}
			s.first = start
		}
		s.last = c.Time - 1
		if c.Time == end { // c completes its bucket
			if s.open {
				out = a.closeOpen(s, out)
			} else {
				out = a.advance(s, end+s.n, out) // a wholly empty bucket: its flat candle
			}
		}
	}
	return out, false
}

// Open returns the open candle of a timeframe, if there is one.
func (a *Aggregator) Open(tf Timeframe) (Candle, bool) {
	for i := range a.states {
		if a.states[i].tf == tf {
			return a.states[i].c, a.states[i].open
		}
	}
	return Candle{}, false
}

// OpenCandles appends every open candle to out.
func (a *Aggregator) OpenCandles(out []Candle) []Candle {
	for i := range a.states {
		if a.states[i].open {
			out = append(out, a.states[i].c)
		}
	}
	return out
}
