package strategies

import (
	"fmt"
	"slices"

	"github.com/tradeconsole/tradeconsole/market"
)

// dgbit's 0.0–1.0 signal strategies: ma_signal, rsi_signal, bollinger_signal (and
// wavelet_reversal in wavelet.go). Each computes a Value in [0, 1] (1 = buy) and trades it with
// thresholdRule: EnterLong when Value crosses above threshold, the sell rule (Exit, or
// EnterShort with allow_short) when it crosses below 1 − threshold. Direction leans with Value
// (Long above 0.5, Short below); Confidence is gradeThreshold.

func maSignal() Strategy {
	return &def{
		name: "ma_signal",
		desc: "dgbit MA signal 0.5 + 10·(fast − slow)/slow in [0, 1], traded on a threshold",
		params: []Param{
			intParam("fast", 10, 1, 1000, "fast SMA period, in candles"),
			intParam("slow", 30, 2, 5000, "slow SMA period, in candles; more than fast"),
			thresholdParam(0.6),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			if v.Int("fast") >= v.Int("slow") {
				return nil, lessThan(name, "fast", "slow", v)
			}
			f, s := v.Int("fast"), v.Int("slow")
			return &maSignalInst{name: name, fast: *NewSMA(f), slow: *NewSMA(s),
				rule:  thresholdRule{t: v.Float("threshold"), allowShort: v.Bool("allow_short")},
				plots: []string{fmt.Sprintf("sma(%d)", f), fmt.Sprintf("sma(%d)", s)}}, nil
		},
	}
}

// maSignalInst is ma_signal: Value = clamp(0.5 + 10·(fast − slow)/slow, 0, 1) with fast and
// slow the SMAs of closes (0.5 when slow ≤ 0); a threshold of 0.6 enters when the fast SMA
// is more than 1% above the slow one and exits when it is more than 1% below.
type maSignalInst struct {
	name       string
	fast, slow SMA
	rule       thresholdRule
	plots      []string
}

func (m *maSignalInst) AllowsShort() bool { return m.rule.allowShort }

func (m *maSignalInst) Step(c market.Candle) Signal {
	f := m.fast.Update(c.Close)
	s := m.slow.Update(c.Close)
	if !m.fast.Ready() || !m.slow.Ready() {
		return warming(m.name, c.Time)
	}
	v := ratioValue(f, s)
	return Signal{Time: c.Time, Strategy: m.name, Action: m.rule.step(v), Value: v,
		Direction: leanOf(v), Confidence: gradeThreshold(v, m.rule.t)}
}

func (m *maSignalInst) Plots() []string { return slices.Clone(m.plots) }

func (m *maSignalInst) PlotValues(dst []float64) []float64 {
	return append(dst, m.fast.Value(), m.slow.Value())
}

func rsiSignal() Strategy {
	return &def{
		name: "rsi_signal",
		desc: "dgbit RSI signal 1 − RSI/100 (oversold → buy), traded on a threshold",
		params: []Param{
			intParam("period", 14, 2, 1000, "RSI period (Wilder), in candles"),
			thresholdParam(0.7),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			n := v.Int("period")
			return &rsiSignalInst{name: name, rsi: *NewRSI(n),
				rule:  thresholdRule{t: v.Float("threshold"), allowShort: v.Bool("allow_short")},
				plots: []string{fmt.Sprintf("rsi(%d)", n)}}, nil
		},
	}
}

// rsiSignalInst is rsi_signal: Value = 1 − RSI/100, so an oversold market (low RSI) leans to
// buy; with threshold 0.7 it enters when the RSI falls below 30 and exits when it rises above
// 70.
type rsiSignalInst struct {
	name  string
	rsi   RSI
	rule  thresholdRule
	plots []string
}

func (r *rsiSignalInst) AllowsShort() bool { return r.rule.allowShort }

func (r *rsiSignalInst) Step(c market.Candle) Signal {
	x := r.rsi.Update(c.Close)
	if !r.rsi.Ready() {
		return warming(r.name, c.Time)
	}
	v := 1 - x/100
	return Signal{Time: c.Time, Strategy: r.name, Action: r.rule.step(v), Value: v,
		Direction: leanOf(v), Confidence: gradeThreshold(v, r.rule.t)}
}

func (r *rsiSignalInst) Plots() []string { return slices.Clone(r.plots) }

func (r *rsiSignalInst) PlotValues(dst []float64) []float64 { return append(dst, r.rsi.Value()) }

func bollingerSignal() Strategy {
	return &def{
		name: "bollinger_signal",
		desc: "dgbit Bollinger signal 1 − %b clamped to [0, 1] (near the lower band → buy), traded on a threshold",
		params: []Param{
			intParam("period", 20, 2, 1000, "band period (SMA and standard deviation), in candles"),
			floatParam("k", 2, 0.1, 10, "band half-width in standard deviations"),
			thresholdParam(0.8),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			n, k := v.Int("period"), v.Float("k")
			return &bollingerSignalInst{name: name, bb: *NewBollinger(n, k),
				rule:  thresholdRule{t: v.Float("threshold"), allowShort: v.Bool("allow_short")},
				plots: bandPlots(n, k)}, nil
		},
	}
}

// bollingerSignalInst is bollinger_signal: Value = clamp(1 − %b, 0, 1), the close's position
// inside the bands read from the top: 1 at or below the lower band, 0 at or above the upper,
// 0.5 on the middle (and when the bands have collapsed). With threshold 0.8 it enters when
// the close is in the lowest 20% of the band width and exits in the highest 20%.
type bollingerSignalInst struct {
	name  string
	bb    Bollinger
	rule  thresholdRule
	plots []string
}

func (b *bollingerSignalInst) AllowsShort() bool { return b.rule.allowShort }

func (b *bollingerSignalInst) Step(c market.Candle) Signal {
	b.bb.Update(c.Close)
	if !b.bb.Ready() {
		return warming(b.name, c.Time)
	}
	v := clamp(1-b.bb.PercentB(), 0, 1)
	return Signal{Time: c.Time, Strategy: b.name, Action: b.rule.step(v), Value: v,
		Direction: leanOf(v), Confidence: gradeThreshold(v, b.rule.t)}
}

func (b *bollingerSignalInst) Plots() []string { return slices.Clone(b.plots) }

func (b *bollingerSignalInst) PlotValues(dst []float64) []float64 {
	return append(dst, b.bb.Lower(), b.bb.Middle(), b.bb.Upper())
}
