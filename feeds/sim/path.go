package sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tradeconsole/tradeconsole/market"
)

// The slow price path.
//
// The log price of a symbol at time t is a deterministic function of (seed, symbol, t): the
// nominal price plus a sum of octaves of value noise anchored at pathEpoch. Octave k has knots
// every 4^k minutes (k = 0 … pathOctaves−1, i.e. 1 minute to ~45 days) with independent
// normal values (counter-based: the knot's random numbers come from splitmix64 of seed,
// symbol hash, octave and knot index), linearly interpolated between knots. With the knot
// variance of octave k proportional to its spacing, the variance of a change over Δ minutes
// is σ²·Δ at every scale from a minute up to weeks, as for a random walk, but the path is
// stationary beyond the largest octave, so prices stay near their nominal level for ever.
// Any point costs pathOctaves lookups, so history for any window and the live process agree
// without simulating from the epoch.
//
// Each knot's normal value is scaled by the square root of the activity at the knot's time
// (see activity.go): S·R for the octaves up to a few hours, R alone for the longer ones. The
// variance of a change is then σ²·Δ × the local activity, so the path is calmer at night and
// livelier in busy regimes; S and R have mean one, so its long-run volatility is unchanged.

const (
	pathEpoch   = 1704067200000 // 2024-01-01T00:00:00Z, unix ms
	pathOctaves = 9             // 4^8 minutes ≈ 45 days
	msPerMinute = 60000
	minPerYear  = 365 * 24 * 60

	saltPath    = 0x5a17_0001
	saltMinute  = 0x5a17_0002
	saltLive    = 0x5a17_0003
	subSteps    = 6    // points per minute for history highs and lows
	sizeSigma   = 1.2  // σ of log trade size: heavy-tailed
	subMinuteSD = 0.75 // sub-minute (residual) volatility as a fraction of the path's
)

// path evaluates the slow log-price path of one symbol. It caches the knots of the
// current segment of every octave, so walking forward in time is cheap. Not safe for
// concurrent use; each user makes its own.
type path struct {
	key   uint64
	logP0 float64
	c     float64 // knot variance per minute of spacing
	reg   regime
	amp   [pathOctaves]float64
	span  [pathOctaves]int64 // knot spacing, ms
	seg   [pathOctaves]int64 // cached segment index per octave
	z0    [pathOctaves]float64
	z1    [pathOctaves]float64
	ok    [pathOctaves]bool
	src   rand.PCG
	rnd   *rand.Rand
}

func newPath(seed int64, sym market.Symbol, p params) *path {
	pt := &path{
		key:   splitmix64(uint64(seed) ^ symHash(sym) ^ saltPath),
		logP0: math.Log(p.price),
		reg:   newRegime(seed, sym),
	}
	pt.rnd = rand.New(&pt.src)
	// Octave k's knots have variance c·S for spacing S = 4^k minutes. The variance of a
	// change over Δ minutes is then ≈ 2.1·c·Δ from an hour to weeks (measured; linear
	// interpolation makes it less than the 2·c·Δ·5/3 of independent knots), and ≈ 2.7·c at one
	// minute. c = 0.48·σ², σ the annual volatility scaled to a minute, puts hour-to-day
	// volatility at p.vol (and 1m close-to-close volatility about 12% higher).
	sigmaMin := p.vol / math.Sqrt(minPerYear)
	c := 0.48 * sigmaMin * sigmaMin
	pt.c = c
	span := int64(msPerMinute)
	for k := range pathOctaves {
		pt.span[k] = span
		pt.amp[k] = math.Sqrt(c * float64(span/msPerMinute))
		span *= 4
	}
	return pt
}

// knot is the value of knot j of octave k, scaled by the square root of the activity there.
func (pt *path) knot(k int, j int64) float64 {
	hi := splitmix64(pt.key ^ uint64(k+1)*golden)
	pt.src.Seed(hi, splitmix64(uint64(j)^hi))
	t := pathEpoch + j*pt.span[k]
	g := pt.reg.at(t)
	if k < seasonOctaves {
		g *= season(t)
	}
	return pt.rnd.NormFloat64() * math.Sqrt(g)
}

// logAt is the log price of the slow path at t (unix ms).
func (pt *path) logAt(t int64) float64 {
	d := t - pathEpoch
	v := pt.logP0
	for k := range pathOctaves {
		s := pt.span[k]
		j := floorDiv(d, s)
		if !pt.ok[k] || pt.seg[k] != j {
			if pt.ok[k] && j == pt.seg[k]+1 {
				pt.z0[k] = pt.z1[k]
			} else {
				pt.z0[k] = pt.knot(k, j)
			}
			pt.z1[k] = pt.knot(k, j+1)
			pt.seg[k], pt.ok[k] = j, true
		}
		f := float64(d-j*s) / float64(s)
		v += pt.amp[k] * (pt.z0[k] + f*(pt.z1[k]-pt.z0[k]))
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// maxHistory bounds one History call (about two years of minutes).
const maxHistory = 1_100_000

// history returns the 1m candles with stamps T in (from, to], T ≤ end, of the slow path.
// Each minute's open and close are the path at its ends; its high and low come from a
// Brownian bridge through a few deterministic sub-steps with the live process's short-term
// volatility (× √A); its trade count is Poisson(60·rate·A), A the minute's activity, and its
// volume the sum of that many log-normal trade sizes (approximated by a mean-preserving
// log-normal), so history volume matches the live trade rate × mean size minute by minute. A
// minute without trades is a flat candle at the previous close, as DESIGN.md asks of every
// series.
func history(cfg Config, sym market.Symbol, from, to int64) ([]market.Candle, error) {
	if to < from {
		return nil, fmt.Errorf("sim: history %s: window end %d is before its start %d", sym, to, from)
	}
	to = min(to, cfg.Start)
	first := market.TF1m.Floor(from) + msPerMinute // smallest aligned T > from
	last := market.TF1m.Floor(to)                  // largest aligned T ≤ to
	if last < first {
		return []market.Candle{}, nil
	}
	n := (last-first)/msPerMinute + 1
	if n > maxHistory {
		return nil, fmt.Errorf("sim: history %s: window of %d minutes is too large (at most %d per call)", sym, n, maxHistory)
	}

	p := paramsFor(sym)
	act := newActivity(cfg.Seed, sym, p)
	tickScale, lotScale := pow10(p.tickDec), pow10(p.lotDec)
	toPrice := func(logp float64) float64 { return math.Round(math.Exp(logp)*tickScale) / tickScale }

	// Sub-minute volatility of the live process (see gen.go), per sqrt(sub-step).
	subSD := subMinuteSD * p.vol / math.Sqrt(minPerYear) / math.Sqrt(subSteps)
	lambda := 60 * cfg.TradeRate
	sizeCV2 := math.Expm1(sizeSigma * sizeSigma)

	minuteKey := splitmix64(uint64(cfg.Seed) ^ symHash(sym) ^ saltMinute)
	var src rand.PCG
	rnd := rand.New(&src)

	out := make([]market.Candle, n)
	act.at(first)
	lo := act.logPrev
	prevClose := toPrice(lo)
	var w [subSteps + 1]float64
	for i := range out {
		T := first + int64(i)*msPerMinute
		a := act.at(T)
		lc := act.logT
		src.Seed(minuteKey, splitmix64(uint64(T)^minuteKey))

		trades := poisson(rnd, lambda*a)
		c := market.Candle{Exchange: cfg.Exchange, Symbol: sym, Timeframe: market.TF1m, Time: T, Trades: trades}
		if trades == 0 {
			c.Open, c.High, c.Low, c.Close = prevClose, prevClose, prevClose, prevClose
		} else {
			// Brownian bridge from lo to lc through subSteps−1 interior points.
			sd := subSD * math.Sqrt(a)
			for k := 1; k <= subSteps; k++ {
				w[k] = w[k-1] + sd*rnd.NormFloat64()
			}
			hi, low := max(lo, lc), min(lo, lc)
			for k := 1; k < subSteps; k++ {
				f := float64(k) / subSteps
				x := lo + f*(lc-lo) + w[k] - f*w[subSteps]
				hi, low = max(hi, x), min(low, x)
			}
			c.Open, c.Close, c.High, c.Low = toPrice(lo), toPrice(lc), toPrice(hi), toPrice(low)
			nf := float64(trades)
			s2 := math.Log1p(sizeCV2 / nf)
			vol := p.meanSize * nf * math.Exp(math.Sqrt(s2)*rnd.NormFloat64()-s2/2)
			c.Volume = math.Round(vol*lotScale) / lotScale
		}
		out[i] = c
		prevClose = c.Close
		lo = lc
	}
	return out, nil
}

// poisson draws a Poisson count: exactly for small means, by the normal approximation for
// large ones (where the two are indistinguishable at this use).
func poisson(r *rand.Rand, lambda float64) int64 {
	if lambda > 50 {
		n := math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64())
		return int64(max(n, 0))
	}
	limit, prod := math.Exp(-lambda), r.Float64()
	var n int64
	for prod > limit {
		prod *= r.Float64()
		n++
	}
	return n
}
