package sim

import (
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

// Trading activity.
//
// The activity factor A multiplies Config.TradeRate: live trades arrive as a Poisson process
// with rate TradeRate·A(t), and History draws each minute's trade count with mean
// 60·TradeRate·A, so for any minute history volume and expected live volume agree. Like the
// price path, A is a deterministic function of (seed, symbol, time), counter-based and
// anchored at pathEpoch, so history, live and restarts agree. It is constant over each
// minute [T−1m, T) and is the product of three factors, each of mean one:
//
//   - S, intraday seasonality: a fixed function of the UTC time of day, quiet around
//     02:00–06:00, a European bump around 08:00 and busiest around 13:00–17:00 when the US
//     opens, peak/trough ≈ 3;
//   - R, the regime: exp of value noise with knots every 1 h, 4 h, 16 h and 64 h, half of it
//     market-wide (seed only) and half the symbol's own, so activity drifts over hours and
//     days, log-normally; its knots are differences of independent normals, so that the
//     noise has no power at the lowest frequencies and R averages to one over a few weeks
//     (over 30 days the mean of A is within about 6% of one, over a year within about 1%);
//   - B, bursts: rises with the squared size of the slow path's 1m moves over the last few
//     minutes (this one most), measured against their expected size, so big candles have
//     big volume and it lingers for a few minutes after them.
//
// The slow path's knots of the octaves up to a few hours are scaled by √(S·R) at the knot
// and the longer ones by √R (see path.go), and the live sub-minute noise and History's
// sub-minute wicks by √A, so volatility rises and falls with activity while its long-run
// level stays at the nominal one.

const (
	saltRegime = 0x5a17_0004
	saltMarket = 0x5a17_0005

	usPerMinute = msPerMinute * 1000

	// seasonOctaves is how many of the path's octaves (spans 1m … 4^(n−1) m ≈ 4 h) follow
	// the intraday seasonality; the longer ones follow the regime only.
	seasonOctaves = 5

	regimeOctaves = 4
	regimeMarket  = 0.5 // share of the regime's variance common to all symbols

	burstLen   = 8    // minutes of path moves the burst term looks back over
	burstDecay = 0.5  // weight of each minute relative to the one after it
	burstGain  = 1.0  // B = (1 + burstGain·Z)/(1 + burstGain), Z the weighted mean z²
	burstCap   = 16.0 // Z is capped here, so A (and the live trade rate) stays bounded

	// moveVar is the variance of the slow path's 1m move in units of its knot constant c
	// at activity one: 2 from octave 0 and 2·Σ4^−k from the others (see path.go).
	moveVar = 2 + 2.0/3
)

var (
	regimeSpan = [regimeOctaves]int64{60 * msPerMinute, 240 * msPerMinute, 960 * msPerMinute, 3840 * msPerMinute}
	regimeAmp  = [regimeOctaves]float64{0.15, 0.2, 0.2, 0.2} // σ of log R per octave
	regimeVar  = func() (v float64) {
		for _, a := range regimeAmp {
			v += a * a
		}
		return v
	}()

	burstW = func() (w [burstLen]float64) {
		var sum float64
		for j := range w {
			w[j] = math.Pow(burstDecay, float64(j))
			sum += w[j]
		}
		for j := range w {
			w[j] /= sum
		}
		return w
	}()
)

// seasonTable holds S for each minute of the UTC day, normalised to mean exactly one: a
// base level with an Asian bump just after midnight, a European one at 08:30, a large
// American one at 15:00 and its afternoon tail (Gaussians in the circular distance in
// hours). Hourly means run from 0.57 at 04:00 to 1.75 at 15:00.
var seasonTable = func() (t [24 * 60]float64) {
	bump := func(h, at, width float64) float64 {
		d := math.Mod(h-at+36, 24) - 12
		return math.Exp(-d * d / (2 * width * width))
	}
	var sum float64
	for i := range t {
		h := (float64(i) + 0.5) / 60
		t[i] = 1 + 0.45*bump(h, 0.5, 1.5) + 0.7*bump(h, 8.5, 1.5) + 2.2*bump(h, 15, 2.3) + 0.6*bump(h, 19.5, 2)
		sum += t[i]
	}
	for i := range t {
		t[i] *= float64(len(t)) / sum
	}
	return t
}()

// season is S for the minute containing t (unix ms).
func season(t int64) float64 {
	m := floorDiv(t-pathEpoch, msPerMinute) % (24 * 60) // pathEpoch is a UTC midnight
	if m < 0 {
		m += 24 * 60
	}
	return seasonTable[m]
}

// normTable holds the 2^normBits quantiles of the standard normal, rescaled to variance
// exactly one: indexing it with random bits draws a normal (tails cut at ±3.8σ) cheaply.
const normBits = 12

var normTable = func() (t [1 << normBits]float64) {
	var s2 float64
	for i := range t {
		u := (float64(i) + 0.5) / float64(len(t))
		t[i] = math.Sqrt2 * math.Erfinv(2*u-1)
		s2 += t[i] * t[i]
	}
	sd := math.Sqrt(s2 / float64(len(t)))
	for i := range t {
		t[i] /= sd
	}
	return t
}()

// regime evaluates R for one symbol. Each octave is value noise interpolated linearly
// between knots. Knot j is (w_j − w_{j−1})/√2 for independent counter-based normals w, so
// that the sum of any run of knots telescopes: the octave's integral over a long window stays
// bounded instead of growing like a random walk. Neighbouring knots then have correlation
// −½, and the interpolation is divided by its standard deviation so that the octave is
// exactly unit-variance everywhere, E[R] = 1 at every instant.
type regime struct {
	mkt, own [regimeOctaves]uint64 // per-octave keys
}

func newRegime(seed int64, sym market.Symbol) regime {
	var r regime
	mk := splitmix64(uint64(seed) ^ saltMarket)
	ok := splitmix64(uint64(seed) ^ symHash(sym) ^ saltRegime)
	for k := range regimeOctaves {
		r.mkt[k] = splitmix64(mk ^ uint64(k+1)*golden)
		r.own[k] = splitmix64(ok ^ uint64(k+1)*golden)
	}
	return r
}

func gauss(key uint64, j int64) float64 {
	return normTable[splitmix64(key^uint64(j))>>(64-normBits)]
}

// regimeKnot is (w_j − w_{j−1})/√2, w counter-based normals, given w_{j−1}; it returns w_j too.
func regimeKnot(key uint64, j int64, prev float64) (knot, w float64) {
	w = gauss(key, j)
	return (w - prev) / math.Sqrt2, w
}

// at is R at t (unix ms).
func (r *regime) at(t int64) float64 {
	d := t - pathEpoch
	wm, wo := math.Sqrt(regimeMarket), math.Sqrt(1-regimeMarket)
	var x float64
	for k := range regimeOctaves {
		s := regimeSpan[k]
		j := floorDiv(d, s)
		f := float64(d-j*s) / float64(s)
		m0, mw := regimeKnot(r.mkt[k], j, gauss(r.mkt[k], j-1))
		m1, _ := regimeKnot(r.mkt[k], j+1, mw)
		o0, ow := regimeKnot(r.own[k], j, gauss(r.own[k], j-1))
		o1, _ := regimeKnot(r.own[k], j+1, ow)
		z0, z1 := wm*m0+wo*o0, wm*m1+wo*o1
		x += regimeAmp[k] * (z0 + f*(z1-z0)) / math.Sqrt(1-3*f*(1-f))
	}
	return math.Exp(x - regimeVar/2)
}

// activity evaluates A minute by minute for one symbol, with its own path. Stepping forward
// one minute at a time costs one path point; any other jump recomputes the look-back window.
// Not safe for concurrent use.
type activity struct {
	pt      *path
	invVar  float64 // 1/(expected variance of a 1m path move at S·R = 1)
	ok      bool
	T       int64   // stamp of the last minute evaluated (right-aligned, unix ms)
	logT    float64 // path at T
	logPrev float64 // path at T − 1m
	a       float64 // A of the minute ending at T
	sr      float64 // S·R of the minute ending at T
	z2      [burstLen]float64
	head    int // z2[head] is the minute ending at T; older ones follow cyclically
}

func newActivity(seed int64, sym market.Symbol, p params) *activity {
	pt := newPath(seed, sym, p)
	return &activity{pt: pt, invVar: 1 / (moveVar * pt.c)}
}

// at returns A for the minute [T−1m, T); T must be minute-aligned.
func (ac *activity) at(T int64) float64 {
	switch {
	case ac.ok && T == ac.T:
		return ac.a
	case ac.ok && T == ac.T+msPerMinute:
		ac.push(T)
	default:
		ac.logT = ac.pt.logAt(T - burstLen*msPerMinute)
		for i := burstLen - 1; i >= 0; i-- {
			ac.push(T - int64(i)*msPerMinute)
		}
		ac.ok = true
	}
	var z float64
	for j, w := range burstW {
		z += w * ac.z2[(ac.head+j)%burstLen]
	}
	ac.a = ac.sr * (1 + burstGain*min(z, burstCap)) / (1 + burstGain)
	return ac.a
}

// push moves the window on to the minute ending at T.
func (ac *activity) push(T int64) {
	l := ac.pt.logAt(T)
	ac.sr = season(T-msPerMinute) * ac.pt.reg.at(T-msPerMinute/2)
	r := l - ac.logT
	ac.head = (ac.head + burstLen - 1) % burstLen
	ac.z2[ac.head] = r * r * ac.invVar / ac.sr
	ac.logPrev, ac.logT, ac.T = ac.logT, l, T
}
