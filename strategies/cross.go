package strategies

import (
	"fmt"
	"slices"

	"github.com/tradeconsole/tradeconsole/market"
)

// The crossing strategies: sma_cross, ema_cross, rsi, bollinger, macd. Conventions in Builtin.

func smaCross() Strategy {
	return &def{
		name: "sma_cross",
		desc: "long when the fast SMA of closes crosses above the slow one, out (or short) when it crosses below",
		params: []Param{
			intParam("fast", 10, 1, 1000, "fast SMA period, in candles"),
			intParam("slow", 30, 2, 5000, "slow SMA period, in candles; more than fast"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) { return newMACross(name, v, false) },
	}
}

func emaCross() Strategy {
	return &def{
		name: "ema_cross",
		desc: "long when the fast EMA of closes crosses above the slow one, out (or short) when it crosses below",
		params: []Param{
			intParam("fast", 12, 1, 1000, "fast EMA period, in candles"),
			intParam("slow", 26, 2, 5000, "slow EMA period, in candles; more than fast"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) { return newMACross(name, v, true) },
	}
}

func newMACross(name string, v Values, ema bool) (Instance, error) {
	if v.Int("fast") >= v.Int("slow") {
		return nil, lessThan(name, "fast", "slow", v)
	}
	f, s := v.Int("fast"), v.Int("slow")
	m := &maCrossInst{name: name, ema: ema, allowShort: v.Bool("allow_short")}
	if ema {
		m.efast, m.eslow = *NewEMA(f), *NewEMA(s)
		m.plots = []string{fmt.Sprintf("ema(%d)", f), fmt.Sprintf("ema(%d)", s)}
	} else {
		m.sfast, m.sslow = *NewSMA(f), *NewSMA(s)
		m.plots = []string{fmt.Sprintf("sma(%d)", f), fmt.Sprintf("sma(%d)", s)}
	}
	return m, nil
}

// maCrossInst is sma_cross or ema_cross: EnterLong when the fast average of closes crosses
// above the slow one (fast > slow on this candle, fast ≤ slow on the previous, both ready on
// both), the sell rule (Exit, or EnterShort with allow_short) when it crosses below.
// Value = 0.5 + clamp(10·(fast − slow)/slow, −0.5, 0.5); Direction is the sign of fast − slow;
// Confidence grades |fast − slow|/slow: Low below 1%, Medium below 2.5%, High from 2.5%.
// (The averages are held by value, not behind an interface: this is the benchmark path.)
type maCrossInst struct {
	name         string
	ema          bool
	sfast, sslow SMA
	efast, eslow EMA
	allowShort   bool
	pf, ps       float64
	have         bool
	plots        []string
}

func (m *maCrossInst) AllowsShort() bool { return m.allowShort }

func (m *maCrossInst) Step(c market.Candle) Signal {
	var f, s float64
	var ready bool
	if m.ema {
		f, s = m.efast.Update(c.Close), m.eslow.Update(c.Close)
		ready = m.eslow.Ready() && m.efast.Ready()
	} else {
		f, s = m.sfast.Update(c.Close), m.sslow.Update(c.Close)
		ready = m.sslow.Ready() && m.sfast.Ready()
	}
	if !ready {
		return warming(m.name, c.Time)
	}
	sig := Signal{Time: c.Time, Strategy: m.name, Value: ratioValue(f, s)}
	switch {
	case f > s:
		sig.Direction = Long
	case f < s:
		sig.Direction = Short
	}
	sig.Confidence = gradeCentre(sig.Value)
	if m.have {
		sig.Action = crossAction(m.pf, m.ps, f, s, m.allowShort)
	}
	m.pf, m.ps, m.have = f, s, true
	return sig
}

func (m *maCrossInst) Plots() []string { return slices.Clone(m.plots) }

func (m *maCrossInst) PlotValues(dst []float64) []float64 {
	if m.ema {
		return append(dst, m.efast.Value(), m.eslow.Value())
	}
	return append(dst, m.sfast.Value(), m.sslow.Value())
}

func rsiStrategy() Strategy {
	return &def{
		name: "rsi",
		desc: "long when the RSI crosses up through oversold, out (or short) when it crosses down through overbought",
		params: []Param{
			intParam("period", 14, 2, 1000, "RSI period (Wilder), in candles"),
			floatParam("oversold", 30, 1, 99, "RSI level whose upward crossing enters long"),
			floatParam("overbought", 70, 1, 99, "RSI level whose downward crossing exits (or enters short); more than oversold"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			if v.Float("oversold") >= v.Float("overbought") {
				return nil, lessThan(name, "oversold", "overbought", v)
			}
			n := v.Int("period")
			return &rsiInst{name: name, rsi: *NewRSI(n), lo: v.Float("oversold"), hi: v.Float("overbought"),
				allowShort: v.Bool("allow_short"), plots: []string{fmt.Sprintf("rsi(%d)", n)}}, nil
		},
	}
}

// rsiInst is rsi: EnterLong when the RSI of closes crosses up through oversold (RSI > oversold
// now, ≤ before), the sell rule when it crosses down through overbought (RSI < overbought
// now, ≥ before). Value = 1 − RSI/100 (oversold leans to buy); Direction and Confidence from
// Value (see gradeCentre: RSI ≤ 25 or ≥ 75 is High, ≤ 40 or ≥ 60 Medium, else Low).
type rsiInst struct {
	name       string
	rsi        RSI
	lo, hi     float64
	allowShort bool
	prev       float64
	have       bool
	plots      []string
}

func (r *rsiInst) AllowsShort() bool { return r.allowShort }

func (r *rsiInst) Step(c market.Candle) Signal {
	x := r.rsi.Update(c.Close)
	if !r.rsi.Ready() {
		return warming(r.name, c.Time)
	}
	v := 1 - x/100
	sig := Signal{Time: c.Time, Strategy: r.name, Value: v, Direction: leanOf(v), Confidence: gradeCentre(v)}
	if r.have {
		switch {
		case x > r.lo && r.prev <= r.lo:
			sig.Action = EnterLong
		case x < r.hi && r.prev >= r.hi:
			sig.Action = sellAction(r.allowShort)
		}
	}
	r.prev, r.have = x, true
	return sig
}

func (r *rsiInst) Plots() []string { return slices.Clone(r.plots) }

func (r *rsiInst) PlotValues(dst []float64) []float64 { return append(dst, r.rsi.Value()) }

func bollingerStrategy() Strategy {
	return &def{
		name: "bollinger",
		desc: "long when the close crosses back above the lower Bollinger band, out when it crosses the middle band",
		params: []Param{
			intParam("period", 20, 2, 1000, "band period (SMA and standard deviation), in candles"),
			floatParam("k", 2, 0.1, 10, "band half-width in standard deviations"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			n, k := v.Int("period"), v.Float("k")
			return &bollingerInst{name: name, bb: *NewBollinger(n, k), allowShort: v.Bool("allow_short"),
				plots: bandPlots(n, k)}, nil
		},
	}
}

func bandPlots(n int, k float64) []string {
	return []string{
		fmt.Sprintf("bb_lower(%d,%s)", n, fmtNum(k)),
		fmt.Sprintf("bb_middle(%d)", n),
		fmt.Sprintf("bb_upper(%d,%s)", n, fmtNum(k)),
	}
}

// bollingerInst is bollinger, a mean-reversion rule on the closes and the bands of the same
// candle:
//   - Exit when the close crosses above the middle band (the long's target; close > middle
//     now, close ≤ middle before), and with allow_short also when it crosses below it (the
//     short's target). Exits are checked first: a close that jumps from below the lower band
//     to above the middle in one candle is an Exit, not an entry.
//   - Otherwise EnterLong when the close crosses back above the lower band (close > lower now,
//     close ≤ lower before); with allow_short, EnterShort when it crosses back below the upper
//     band (close < upper now, close ≥ upper before).
//
// Value = 1 − %b clamped to [0, 1] (near the lower band leans to buy); Direction and
// Confidence from Value (gradeCentre).
type bollingerInst struct {
	name       string
	bb         Bollinger
	allowShort bool
	pc         float64 // previous close
	pl, pm, pu float64 // previous lower, middle, upper band
	have       bool
	plots      []string
}

func (b *bollingerInst) AllowsShort() bool { return b.allowShort }

func (b *bollingerInst) Step(c market.Candle) Signal {
	b.bb.Update(c.Close)
	if !b.bb.Ready() {
		return warming(b.name, c.Time)
	}
	x, lo, mid, up := c.Close, b.bb.Lower(), b.bb.Middle(), b.bb.Upper()
	v := clamp(1-b.bb.PercentB(), 0, 1)
	sig := Signal{Time: c.Time, Strategy: b.name, Value: v, Direction: leanOf(v), Confidence: gradeCentre(v)}
	if b.have {
		mc := crossing(b.pc, b.pm, x, mid)
		switch {
		case mc == 1 || mc == -1 && b.allowShort:
			sig.Action = Exit
		case crossing(b.pc, b.pl, x, lo) == 1:
			sig.Action = EnterLong
		case b.allowShort && crossing(b.pc, b.pu, x, up) == -1:
			sig.Action = EnterShort
		}
	}
	b.pc, b.pl, b.pm, b.pu, b.have = x, lo, mid, up, true
	return sig
}

func (b *bollingerInst) Plots() []string { return slices.Clone(b.plots) }

func (b *bollingerInst) PlotValues(dst []float64) []float64 {
	return append(dst, b.bb.Lower(), b.bb.Middle(), b.bb.Upper())
}

func macdStrategy() Strategy {
	return &def{
		name: "macd",
		desc: "long when the MACD line crosses above its signal line, out (or short) when it crosses below",
		params: []Param{
			intParam("fast", 12, 1, 1000, "fast EMA period, in candles"),
			intParam("slow", 26, 2, 5000, "slow EMA period, in candles; more than fast"),
			intParam("signal", 9, 1, 1000, "signal line EMA period, in MACD values"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			if v.Int("fast") >= v.Int("slow") {
				return nil, lessThan(name, "fast", "slow", v)
			}
			f, s, g := v.Int("fast"), v.Int("slow"), v.Int("signal")
			return &macdInst{name: name, m: *NewMACD(f, s, g), allowShort: v.Bool("allow_short"),
				plots: []string{
					fmt.Sprintf("macd(%d,%d)", f, s),
					fmt.Sprintf("macd_signal(%d)", g),
					"macd_hist",
				}}, nil
		},
	}
}

// macdInst is macd: EnterLong when the MACD line crosses above its signal line, the sell rule
// when it crosses below. Value = 0.5 + clamp(100·histogram/close, −0.5, 0.5) (saturating when
// the histogram is 0.5% of the price; 0.5 for a non-positive close); Direction is the sign of
// the histogram; Confidence from Value (gradeCentre: histogram below 0.1% of the price Low,
// below 0.25% Medium, High beyond).
type macdInst struct {
	name       string
	m          MACD
	allowShort bool
	pl, ps     float64
	have       bool
	plots      []string
}

func (m *macdInst) AllowsShort() bool { return m.allowShort }

func (m *macdInst) Step(c market.Candle) Signal {
	m.m.Update(c.Close)
	if !m.m.Ready() {
		return warming(m.name, c.Time)
	}
	l, s, h := m.m.Line(), m.m.Signal(), m.m.Hist()
	v := 0.5
	if c.Close > 0 {
		v = 0.5 + clamp(100*h/c.Close, -0.5, 0.5)
	}
	sig := Signal{Time: c.Time, Strategy: m.name, Value: v, Confidence: gradeCentre(v)}
	switch {
	case h > 0:
		sig.Direction = Long
	case h < 0:
		sig.Direction = Short
	}
	if m.have {
		sig.Action = crossAction(m.pl, m.ps, l, s, m.allowShort)
	}
	m.pl, m.ps, m.have = l, s, true
	return sig
}

func (m *macdInst) Plots() []string { return slices.Clone(m.plots) }

func (m *macdInst) PlotValues(dst []float64) []float64 {
	return append(dst, m.m.Line(), m.m.Signal(), m.m.Hist())
}
