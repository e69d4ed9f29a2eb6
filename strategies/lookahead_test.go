package strategies

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// randomCandles is a deterministic random series: a random walk with trending and choppy
// stretches (so that every strategy acts), positive prices, 1m candles.
func randomCandles(seed uint64, n int) []market.Candle {
	return randomCandlesFrom(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), n, 100, 0)
}

func randomCandlesFrom(rng *rand.Rand, n int, p float64, start int64) []market.Candle {
	cs := make([]market.Candle, n)
	drift := 0.0
	for i := range cs {
		if i%40 == 0 {
			drift = rng.NormFloat64() * 0.004
		}
		open := p
		p *= math.Exp(drift + rng.NormFloat64()*0.01)
		if i%3 == 0 && rng.IntN(2) == 0 { // choppy: bounce back
			p = open * math.Exp(-rng.NormFloat64()*0.01)
		}
		hi, lo := max(open, p)*(1+rng.Float64()*0.003), min(open, p)*(1-rng.Float64()*0.003)
		cs[i] = market.Candle{Timeframe: market.TF1m, Time: start + int64(i+1)*minute, Open: open, High: hi, Low: lo,
			Close: p, Volume: rng.Float64() * 10, Trades: 1}
	}
	return cs
}

// event is a candle or (for order-flow strategies) an order-flow snapshot.
type event struct {
	flow   bool
	candle market.Candle
	point  FlowPoint
}

// eventsFor interleaves every candle with three snapshots inside its interval.
func eventsFor(rng *rand.Rand, cs []market.Candle) []event {
	var evs []event
	cvd := 0.0
	obi := 0.0
	for _, c := range cs {
		for j := range 3 {
			obi = clamp(0.7*obi+rng.NormFloat64()*0.4, -1, 1)
			cvd += rng.NormFloat64() + obi
			evs = append(evs, event{flow: true, point: FlowPoint{Time: c.Time - minute + int64(j+1)*15_000, OBI: obi, CVD: cvd}})
		}
		evs = append(evs, event{candle: c})
	}
	return evs
}

type output struct {
	sig   Signal
	plots []float64
}

func feed(inst Instance, evs []event) []output {
	fs, _ := inst.(FlowStepper)
	p, _ := inst.(Plotter)
	out := make([]output, 0, len(evs))
	for _, e := range evs {
		var s Signal
		if e.flow {
			if fs == nil {
				continue
			}
			s = fs.StepFlow(e.point)
		} else {
			s = inst.Step(e.candle)
		}
		o := output{sig: s}
		if p != nil {
			o.plots = p.PlotValues(nil)
		}
		out = append(out, o)
	}
	return out
}

func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || x != x && y != y })
}

// lookaheadConfigs is every builtin with its defaults, and again with short windows (and
// shorts allowed where they can be) so that all of them act on 500 random candles.
var lookaheadConfigs = []struct {
	name   string
	params map[string]string
}{
	{"sma_cross", map[string]string{"fast": "3", "slow": "8", "allow_short": "true"}},
	{"ema_cross", map[string]string{"fast": "3", "slow": "8", "allow_short": "true"}},
	{"rsi", map[string]string{"period": "5", "allow_short": "true"}},
	{"bollinger", map[string]string{"period": "10", "k": "1", "allow_short": "true"}},
	{"macd", map[string]string{"fast": "3", "slow": "8", "signal": "4", "allow_short": "true"}},
	{"ma_signal", map[string]string{"fast": "3", "slow": "8", "threshold": "0.55", "allow_short": "true"}},
	{"rsi_signal", map[string]string{"period": "5", "allow_short": "true"}},
	{"bollinger_signal", map[string]string{"period": "10", "k": "1", "allow_short": "true"}},
	{"wavelet_reversal", map[string]string{"window": "16", "threshold": "0.75", "hold": "5"}},
	{"orderflow_imbalance", map[string]string{"sustain": "2", "obi_threshold": "0.2", "allow_short": "true"}},
}

// TestNoLookAhead runs every builtin over 500 random candles (and snapshots), then runs a
// fresh instance over the same first k candles followed by different random ones: the
// signals (and plotted values) on the first k must be identical. The API already makes
// look-ahead impossible — Instance.Step receives only the current candle, and nothing hands
// an instance a later one — this test pins that no strategy smuggles state between instances
// (globals, shared buffers) either.
func TestNoLookAhead(t *testing.T) {
	reg := Builtin()
	type cfg struct {
		name   string
		params map[string]string
		strict bool // must act on the series
	}
	var cfgs []cfg
	for _, n := range reg.Names() {
		cfgs = append(cfgs, cfg{name: n})
	}
	for _, c := range lookaheadConfigs {
		cfgs = append(cfgs, cfg{c.name, c.params, true})
	}
	const total = 500
	base := randomCandles(42, total)
	baseEvents := eventsFor(rand.New(rand.NewPCG(1, 1)), base)
	for _, c := range cfgs {
		full := feed(newInst(t, c.name, c.params), baseEvents)
		acted := 0
		for _, o := range full {
			if o.sig.Action != Hold {
				acted++
			}
		}
		if c.strict && acted == 0 {
			t.Errorf("%s %v: no action on %d random candles; the test proves nothing", c.name, c.params, total)
		}
		for _, k := range []int{1, 17, 60, 137, 250, 400, 499} {
			// same first k candles (and their snapshots), then another random future
			tail := randomCandlesFrom(rand.New(rand.NewPCG(uint64(k), 99)), total-k, base[k-1].Close*1.3, base[k-1].Time)
			evs := append(slices.Clone(baseEvents[:4*k]), eventsFor(rand.New(rand.NewPCG(uint64(k), 7)), tail)...)
			other := feed(newInst(t, c.name, c.params), evs)
			prefix := 0
			for _, e := range baseEvents[:4*k] {
				if !e.flow || c.name == "orderflow_imbalance" {
					prefix++
				}
			}
			for i := range prefix {
				if full[i].sig != other[i].sig || !sameFloats(full[i].plots, other[i].plots) {
					t.Fatalf("%s %v, k=%d: output %d differs with a different future: %+v %v vs %+v %v",
						c.name, c.params, k, i, full[i].sig, full[i].plots, other[i].sig, other[i].plots)
				}
			}
		}
	}
}

// TestDeterministic: two fresh instances over the same series give the same signals.
func TestDeterministic(t *testing.T) {
	evs := eventsFor(rand.New(rand.NewPCG(2, 2)), randomCandles(3, 300))
	for _, c := range lookaheadConfigs {
		a := feed(newInst(t, c.name, c.params), evs)
		b := feed(newInst(t, c.name, c.params), evs)
		for i := range a {
			if a[i].sig != b[i].sig || !sameFloats(a[i].plots, b[i].plots) {
				t.Fatalf("%s: output %d differs between runs", c.name, i)
			}
		}
	}
}
