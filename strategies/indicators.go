package strategies

import (
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

// Indicators.
//
// Every indicator here is a small struct fed one value at a time, in time order:
//
//   - Update(x) takes the next value and returns the indicator's current value.
//   - While the indicator is warming up, Update and every accessor return NaN and Ready() is
//     false. Once Ready() is true it stays true and every value is a finite number (for finite
//     input).
//   - Each update costs O(1) (amortized: rolling windows recompute their sums from the ring
//     buffer at most once per n updates, see window) and allocates nothing; memory is
//     allocated once by the constructor.
//   - A period below the indicator's minimum (1, or 2 for Volatility) is treated as that
//     minimum, so a constructor never panics; strategies validate their periods beforehand.

// ksum is a Neumaier (improved Kahan) compensated running sum: the rounding error of every
// addition is kept in c, so adding and later subtracting a huge value leaves the small ones
// intact.
type ksum struct{ s, c float64 }

func (k *ksum) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *ksum) value() float64 { return k.s + k.c }

// window is a ring buffer of the last n values with compensated running sums: Σx for the mean
// and, when variance is wanted, Σd and Σd² of the deviations d = x − shift from a shift taken
// from the data (so that Σd² − (Σd)²/n does not cancel catastrophically when the mean is
// large against the spread, as with prices: a plain Σx² − (Σx)²/n would lose about
// mean²/σ² × 1e-16 relative).
//
// Numerical stability: the sums are recomputed from the buffer when the ring wraps — on the
// first wrap, then every ⌈minRecompute/n⌉ wraps, i.e. every max(n, ~minRecompute) pushes — so
// rounding error never accumulates over more than a few hundred updates, whatever the length
// of the series. Between recomputes the sums are compensated, so a huge value entering and
// leaving the window leaves nothing behind. At a recompute the shift moves to the newest value
// — not the mean, which an outlier still in the window would drag away from the values that
// stay. A recompute costs O(n) once per ≥ n pushes: O(1) amortized, and rare for the short
// windows strategies use.
type window struct {
	buf      []float64
	next     int // slot the next push writes
	count    int // values held, ≤ len(buf)
	wraps    int // wraps left before the next recompute
	every    int // recompute every this many wraps
	variance bool
	sum      ksum // Σx
	shift    float64
	sd, sdd  ksum // Σ(x−shift), Σ(x−shift)²
}

func newWindow(n int, variance bool) window {
	if n < 1 {
		n = 1
	}
	every := (minRecompute + n - 1) / n
	return window{buf: make([]float64, n), variance: variance, every: every, wraps: 1}
}

// minRecompute is the least number of pushes between two recomputes of a window.
const minRecompute = 256

func (w *window) full() bool { return w.count == len(w.buf) }

func (w *window) push(x float64) {
	n := len(w.buf)
	if w.count == n {
		old := w.buf[w.next]
		w.sum.add(-old)
		if w.variance {
			d := old - w.shift
			w.sd.add(-d)
			w.sdd.add(-d * d)
		}
	} else {
		if w.count == 0 {
			w.shift = x
		}
		w.count++
	}
	w.buf[w.next] = x
	w.sum.add(x)
	if w.variance {
		d := x - w.shift
		w.sd.add(d)
		w.sdd.add(d * d)
	}
	w.next++
	if w.next == n {
		w.next = 0
		if w.wraps--; w.wraps == 0 { // the first wrap (the window just filled) recomputes too
			w.wraps = w.every
			w.recompute()
		}
	}
}

// recompute rebuilds the sums from the buffer (which is full whenever the ring wraps).
func (w *window) recompute() {
	var s ksum
	for _, x := range w.buf {
		s.add(x)
	}
	w.sum = s
	if !w.variance {
		return
	}
	w.shift = w.buf[len(w.buf)-1] // the newest: the ring wraps right after writing the last slot
	var sd, sdd ksum
	for _, x := range w.buf {
		d := x - w.shift
		sd.add(d)
		sdd.add(d * d)
	}
	w.sd, w.sdd = sd, sdd
}

func (w *window) mean() float64 { return w.sum.value() / float64(w.count) }

// m2 is Σ(x − mean)² over the window, never negative.
func (w *window) m2() float64 {
	sd := w.sd.value()
	m := w.sdd.value() - sd*sd/float64(w.count)
	if m < 0 {
		return 0
	}
	return m
}

// SMA is the simple moving average of the last n values. Ready after n values.
type SMA struct {
	w   window
	val float64
}

// NewSMA returns an SMA over n values.
func NewSMA(n int) *SMA { return &SMA{w: newWindow(n, false), val: math.NaN()} }

// Update adds x and returns the average (NaN until Ready).
func (s *SMA) Update(x float64) float64 {
	s.w.push(x)
	if s.w.full() {
		s.val = s.w.mean()
	}
	return s.val
}

// Value is the current average (NaN until Ready).
func (s *SMA) Value() float64 { return s.val }

// Ready reports whether n values have been seen.
func (s *SMA) Ready() bool { return s.w.full() }

// Period is n.
func (s *SMA) Period() int { return len(s.w.buf) }

// EMA is the exponential moving average with smoothing α = 2/(n+1). It is seeded with the SMA
// of the first n values (the usual convention), so it is Ready after n values; afterwards
// EMA = EMA + α·(x − EMA).
type EMA struct {
	n     int
	alpha float64
	count int
	seed  float64
	val   float64
}

// NewEMA returns an EMA of period n.
func NewEMA(n int) *EMA {
	if n < 1 {
		n = 1
	}
	return &EMA{n: n, alpha: 2 / float64(n+1), val: math.NaN()}
}

// Update adds x and returns the average (NaN until Ready).
func (e *EMA) Update(x float64) float64 {
	if e.count < e.n {
		e.count++
		e.seed += x
		if e.count == e.n {
			e.val = e.seed / float64(e.n)
		}
		return e.val
	}
	e.val += e.alpha * (x - e.val)
	return e.val
}

// Value is the current average (NaN until Ready).
func (e *EMA) Value() float64 { return e.val }

// Ready reports whether n values have been seen.
func (e *EMA) Ready() bool { return e.count == e.n }

// Period is n.
func (e *EMA) Period() int { return e.n }

// RSI is Wilder's relative strength index of period n. Changes are taken between consecutive
// values; the first average gain (loss) is the simple mean of the first n gains (losses), then
// each average is smoothed the Wilder way: avg = (avg·(n−1) + current)/n. RSI = 100 − 100/(1+RS)
// with RS = average gain / average loss; when the average loss is 0 the RSI is 100 if the
// average gain is positive and 50 when both are 0 (no movement at all). Ready after n+1
// values (n changes).
type RSI struct {
	n          int
	count      int // values seen
	prev       float64
	avgG, avgL float64
	val        float64
}

// NewRSI returns an RSI of period n.
func NewRSI(n int) *RSI {
	if n < 1 {
		n = 1
	}
	return &RSI{n: n, val: math.NaN()}
}

// Update adds x and returns the RSI in [0, 100] (NaN until Ready).
func (r *RSI) Update(x float64) float64 {
	r.count++
	if r.count == 1 {
		r.prev = x
		return r.val
	}
	ch := x - r.prev
	r.prev = x
	g, l := 0.0, 0.0
	if ch > 0 {
		g = ch
	} else if ch < 0 {
		l = -ch
	}
	n := float64(r.n)
	switch {
	case r.count <= r.n+1: // still collecting the first n changes: plain sums
		r.avgG += g
		r.avgL += l
		if r.count < r.n+1 {
			return r.val
		}
		r.avgG /= n
		r.avgL /= n
	default:
		r.avgG = (r.avgG*(n-1) + g) / n
		r.avgL = (r.avgL*(n-1) + l) / n
	}
	r.val = rsiOf(r.avgG, r.avgL)
	return r.val
}

func rsiOf(avgG, avgL float64) float64 {
	if avgL == 0 {
		if avgG == 0 {
			return 50
		}
		return 100
	}
	return 100 - 100/(1+avgG/avgL)
}

// Value is the current RSI (NaN until Ready).
func (r *RSI) Value() float64 { return r.val }

// Ready reports whether n changes (n+1 values) have been seen.
func (r *RSI) Ready() bool { return r.count > r.n }

// Period is n.
func (r *RSI) Period() int { return r.n }

// MACD is the moving average convergence/divergence: line = EMA(fast) − EMA(slow) of the
// input, signal = EMA(signal) of the line (fed from the first value where both EMAs are
// ready), histogram = line − signal. The EMAs are seeded as EMA documents. Ready (and every
// value defined) once the signal line is: after max(fast, slow) + signal − 1 values.
type MACD struct {
	fast, slow, sig    EMA
	line, signal, hist float64
}

// NewMACD returns a MACD(fast, slow, signal).
func NewMACD(fast, slow, signal int) *MACD {
	m := &MACD{fast: *NewEMA(fast), slow: *NewEMA(slow), sig: *NewEMA(signal)}
	m.line, m.signal, m.hist = math.NaN(), math.NaN(), math.NaN()
	return m
}

// Update adds x and returns the MACD line (NaN until Ready).
func (m *MACD) Update(x float64) float64 {
	f := m.fast.Update(x)
	s := m.slow.Update(x)
	if !m.fast.Ready() || !m.slow.Ready() {
		return m.line
	}
	l := f - s
	sg := m.sig.Update(l)
	if !m.sig.Ready() {
		return m.line
	}
	m.line, m.signal, m.hist = l, sg, l-sg
	return m.line
}

// Value is the MACD line (NaN until Ready).
func (m *MACD) Value() float64 { return m.line }

// Line is the MACD line (NaN until Ready).
func (m *MACD) Line() float64 { return m.line }

// Signal is the signal line (NaN until Ready).
func (m *MACD) Signal() float64 { return m.signal }

// Hist is line − signal (NaN until Ready).
func (m *MACD) Hist() float64 { return m.hist }

// Ready reports whether the signal line is defined.
func (m *MACD) Ready() bool { return m.sig.Ready() }

// Bollinger is a pair of Bollinger bands over n values: middle = SMA(n); the standard
// deviation is the population one (divided by n, not n − 1, as Bollinger defines it);
// upper/lower = middle ± k·σ. PercentB is where the latest value sits: (x − lower)/(upper −
// lower), 0 at the lower band, 1 at the upper, outside [0, 1] beyond them, and 0.5 when the
// bands have collapsed (σ = 0). Ready after n values.
type Bollinger struct {
	w                         window
	k                         float64
	mid, sd, up, lo, pb, last float64
}

// NewBollinger returns Bollinger bands over n values, k standard deviations wide.
func NewBollinger(n int, k float64) *Bollinger {
	nan := math.NaN()
	return &Bollinger{w: newWindow(n, true), k: k, mid: nan, sd: nan, up: nan, lo: nan, pb: nan}
}

// Update adds x and returns the middle band (NaN until Ready).
func (b *Bollinger) Update(x float64) float64 {
	b.w.push(x)
	if !b.w.full() {
		return b.mid
	}
	b.mid = b.w.mean()
	b.sd = math.Sqrt(b.w.m2() / float64(b.w.count))
	b.up = b.mid + b.k*b.sd
	b.lo = b.mid - b.k*b.sd
	if w := b.up - b.lo; w > 0 {
		b.pb = (x - b.lo) / w
	} else {
		b.pb = 0.5
	}
	return b.mid
}

// Value is the middle band (NaN until Ready).
func (b *Bollinger) Value() float64 { return b.mid }

// Middle is the middle band, the SMA (NaN until Ready).
func (b *Bollinger) Middle() float64 { return b.mid }

// Upper is middle + k·σ (NaN until Ready).
func (b *Bollinger) Upper() float64 { return b.up }

// Lower is middle − k·σ (NaN until Ready).
func (b *Bollinger) Lower() float64 { return b.lo }

// StdDev is the population standard deviation σ of the window (NaN until Ready).
func (b *Bollinger) StdDev() float64 { return b.sd }

// PercentB is %b of the latest value (NaN until Ready).
func (b *Bollinger) PercentB() float64 { return b.pb }

// Ready reports whether n values have been seen.
func (b *Bollinger) Ready() bool { return b.w.full() }

// ATR is Wilder's average true range over n candles. The true range of a candle is
// max(high − low, |high − previous close|, |low − previous close|); the first candle, which
// has no previous close, counts high − low. The first ATR is the simple mean of the first n
// true ranges, then ATR = (ATR·(n−1) + TR)/n. Ready after n candles.
type ATR struct {
	n         int
	count     int
	prevClose float64
	sum       float64
	tr        float64
	val       float64
}

// NewATR returns an ATR of period n.
func NewATR(n int) *ATR {
	if n < 1 {
		n = 1
	}
	return &ATR{n: n, val: math.NaN(), tr: math.NaN()}
}

// Update adds a candle and returns the ATR (NaN until Ready).
func (a *ATR) Update(c market.Candle) float64 {
	tr := c.High - c.Low
	if a.count > 0 {
		tr = max(tr, math.Abs(c.High-a.prevClose), math.Abs(c.Low-a.prevClose))
	}
	a.prevClose = c.Close
	a.tr = tr
	n := float64(a.n)
	if a.count < a.n {
		a.count++
		a.sum += tr
		if a.count == a.n {
			a.val = a.sum / n
		}
		return a.val
	}
	a.val = (a.val*(n-1) + tr) / n
	return a.val
}

// Value is the current ATR (NaN until Ready).
func (a *ATR) Value() float64 { return a.val }

// TrueRange is the latest candle's true range (NaN before the first candle).
func (a *ATR) TrueRange() float64 { return a.tr }

// Ready reports whether n candles have been seen.
func (a *ATR) Ready() bool { return a.count == a.n }

// Volatility is the rolling standard deviation of log returns ln(pₜ/pₜ₋₁) over the last n
// returns, the sample one (divided by n − 1), per bar, not annualized. A non-positive price
// has no logarithm: a return involving one counts as 0. n is at least 2. Ready after n + 1
// prices (n returns).
type Volatility struct {
	w    window
	prev float64
	seen bool
	val  float64
}

// NewVolatility returns the volatility over n returns.
func NewVolatility(n int) *Volatility {
	return &Volatility{w: newWindow(max(n, 2), true), val: math.NaN()}
}

// Update adds a price and returns the volatility (NaN until Ready).
func (v *Volatility) Update(price float64) float64 {
	if !v.seen {
		v.prev, v.seen = price, true
		return v.val
	}
	r := 0.0
	if price > 0 && v.prev > 0 {
		r = math.Log(price / v.prev)
	}
	v.prev = price
	v.w.push(r)
	if v.w.full() {
		v.val = math.Sqrt(v.w.m2() / float64(v.w.count-1))
	}
	return v.val
}

// Value is the current volatility (NaN until Ready).
func (v *Volatility) Value() float64 { return v.val }

// Ready reports whether n returns have been seen.
func (v *Volatility) Ready() bool { return v.w.full() }

// VolumeMean is the rolling mean of volume over n candles, with the population standard
// deviation of the window and the z-score of the latest volume against it:
// (v − mean)/σ, 0 when σ = 0. The window includes the latest volume. Ready after n values.
type VolumeMean struct {
	w           window
	mean, sd, z float64
}

// NewVolumeMean returns the rolling volume mean over n candles.
func NewVolumeMean(n int) *VolumeMean {
	nan := math.NaN()
	return &VolumeMean{w: newWindow(n, true), mean: nan, sd: nan, z: nan}
}

// Update adds a volume and returns the mean (NaN until Ready).
func (m *VolumeMean) Update(v float64) float64 {
	m.w.push(v)
	if !m.w.full() {
		return m.mean
	}
	m.mean = m.w.mean()
	m.sd = math.Sqrt(m.w.m2() / float64(m.w.count))
	if m.sd > 0 {
		m.z = (v - m.mean) / m.sd
	} else {
		m.z = 0
	}
	return m.mean
}

// Value is the mean volume (NaN until Ready).
func (m *VolumeMean) Value() float64 { return m.mean }

// StdDev is the population standard deviation of the window (NaN until Ready).
func (m *VolumeMean) StdDev() float64 { return m.sd }

// ZScore is the latest volume's z-score (NaN until Ready).
func (m *VolumeMean) ZScore() float64 { return m.z }

// Ready reports whether n volumes have been seen.
func (m *VolumeMean) Ready() bool { return m.w.full() }
