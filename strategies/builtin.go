package strategies

import (
	"fmt"
	"math"
	"slices"
)

// Builtin returns the built-in strategies, in this order: sma_cross, ema_cross, rsi,
// bollinger, macd, ma_signal, rsi_signal, bollinger_signal, wavelet_reversal,
// orderflow_imbalance. The list is explicit; nothing registers itself.
//
// Conventions shared by the built-ins:
//
//   - A strategy does not know the broker's position. It emits an action on the candle where
//     its rule fires (an edge, not a level), so an EnterLong while already long or an Exit
//     while flat are for the broker to ignore.
//   - A "crossing" compares two candles in a row on which the lines involved are all ready: a
//     crosses above b when a > b now and a ≤ b on the previous candle, and below when a < b
//     now and a ≥ b before. Nothing fires on the first candle where the indicators are ready.
//   - With allow_short=false a sell rule emits Exit; with allow_short=true it emits EnterShort
//     (the broker closes a long first), and the buy rule's EnterLong closes a short first.
//   - While warming up a strategy returns Hold with Value 0.5, Direction Flat, Confidence Low.
//   - Step allocates nothing in steady state and is deterministic.
func Builtin() *Registry {
	r, err := NewRegistry(
		smaCross(),
		emaCross(),
		rsiStrategy(),
		bollingerStrategy(),
		macdStrategy(),
		maSignal(),
		rsiSignal(),
		bollingerSignal(),
		waveletReversal(),
		orderflowImbalance(),
	)
	if err != nil {
		panic(err) // a repeated name in the list above: a programming error, caught by tests
	}
	return r
}

// def is a built-in strategy: a name, a description, its parameters and a constructor.
type def struct {
	name, desc string
	params     []Param
	build      func(name string, v Values) (Instance, error)
}

func (d *def) Name() string     { return d.name }
func (d *def) Describe() string { return d.desc }
func (d *def) Params() []Param  { return slices.Clone(d.params) }

// New checks the values (so an instance is never built from incomplete or out-of-range
// values) and builds the instance; rules between parameters are the constructor's.
func (d *def) New(v Values) (Instance, error) {
	if err := Check(d, v); err != nil {
		return nil, err
	}
	return d.build(d.name, v)
}

func intParam(name string, def, lo, hi float64, desc string) Param {
	return Param{Name: name, Kind: Int, Default: def, Min: lo, Max: hi, Description: desc}
}

func floatParam(name string, def, lo, hi float64, desc string) Param {
	return Param{Name: name, Kind: Float, Default: def, Min: lo, Max: hi, Description: desc}
}

var allowShortParam = Param{Name: "allow_short", Kind: Bool, Default: 0, Min: 0, Max: 1,
	Description: "also trade short: the sell rule enters short instead of only exiting"}

// lessThan is the error for a rule a < b between two parameters; it names both.
func lessThan(strategy, a, b string, v Values) error {
	return &ParamError{Strategy: strategy, Param: a, Value: fmtNum(v[a]),
		Reason: fmt.Sprintf("%s (%s) must be less than %s (%s)", a, fmtNum(v[a]), b, fmtNum(v[b]))}
}

// crossing reports +1 when a crosses above b between the previous update (pa, pb) and this
// one, −1 when it crosses below, 0 otherwise.
func crossing(pa, pb, a, b float64) int {
	switch {
	case a > b && pa <= pb:
		return 1
	case a < b && pa >= pb:
		return -1
	}
	return 0
}

// crossAction is the action of a crossing rule: enter long when a crosses above b, the sell
// rule when it crosses below (see crossing), hold otherwise.
func crossAction(pa, pb, a, b float64, allowShort bool) Action {
	switch crossing(pa, pb, a, b) {
	case 1:
		return EnterLong
	case -1:
		return sellAction(allowShort)
	}
	return Hold
}

// sellAction is what a sell rule emits.
func sellAction(allowShort bool) Action {
	if allowShort {
		return EnterShort
	}
	return Exit
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// ratioValue is dgbit's moving-average signal: 0.5 + 10·(fast − slow)/slow clamped to [0, 1]
// (saturating when the averages are 5% apart); 0.5 when slow is not positive.
func ratioValue(fast, slow float64) float64 {
	if !(slow > 0) {
		return 0.5
	}
	return clamp(0.5+10*(fast-slow)/slow, 0, 1)
}

// leanOf is the direction a value in [0, 1] leans to: Long above 0.5, Short below, Flat at
// 0.5 (or NaN).
func leanOf(v float64) Direction {
	switch {
	case v > 0.5:
		return Long
	case v < 0.5:
		return Short
	}
	return Flat
}

// Confidence cut-offs of the crossing strategies (sma_cross, ema_cross, rsi, bollinger, macd),
// whose threshold is the crossing itself, i.e. Value 0.5: the distance |Value − 0.5| grades
// Low below 0.1, Medium below 0.25, High from 0.25. For sma_cross and ema_cross that is
// |fast − slow|/slow below 1%, below 2.5%, from 2.5%.
const (
	centreMedium = 0.1
	centreHigh   = 0.25
)

func gradeCentre(v float64) Confidence {
	d := math.Abs(v - 0.5)
	switch {
	case d >= centreHigh:
		return High
	case d >= centreMedium:
		return Medium
	}
	return Low
}

// gradeThreshold is the confidence of the 0–1 signal strategies (ma_signal, rsi_signal,
// bollinger_signal, orderflow_imbalance), graded by the distance of Value to the threshold on
// its side: the entry threshold t when Value ≥ 0.5, the exit threshold 1 − t below. Low when
// the value has not passed the threshold (Value ≤ t, resp. ≥ 1 − t); Medium in the first half
// of the zone beyond it (t < Value < t + (1−t)/2); High in the second half, up to the extreme.
func gradeThreshold(v, t float64) Confidence {
	if v < 0.5 {
		v = 1 - v
	}
	return gradeBeyond(v, t)
}

// gradeBeyond grades v against an upper threshold t only (see gradeThreshold).
func gradeBeyond(v, t float64) Confidence {
	switch {
	case !(v > t):
		return Low
	case v < t+(1-t)/2:
		return Medium
	}
	return High
}

// thresholdRule is the entry/exit rule of the 0–1 signal strategies: EnterLong when the value
// crosses above t (v > t, previous ≤ t); the sell rule when it crosses below 1 − t
// (v < 1 − t, previous ≥ 1 − t). t is at least 0.5, so the two never fire together.
type thresholdRule struct {
	t          float64
	allowShort bool
	prev       float64
	have       bool
}

func (r *thresholdRule) step(v float64) Action {
	a := Hold
	if r.have {
		switch {
		case v > r.t && r.prev <= r.t:
			a = EnterLong
		case v < 1-r.t && r.prev >= 1-r.t:
			a = sellAction(r.allowShort)
		}
	}
	r.prev, r.have = v, true
	return a
}

func thresholdParam(def float64) Param {
	return floatParam("threshold", def, 0.5, 0.99,
		"enter long when the signal rises above this; exit when it falls below 1 − threshold")
}

// warming is the signal of a strategy whose indicators are not ready yet.
func warming(name string, t int64) Signal {
	return Signal{Time: t, Strategy: name, Action: Hold, Value: 0.5, Direction: Flat, Confidence: Low}
}
