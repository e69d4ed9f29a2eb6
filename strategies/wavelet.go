package strategies

import (
	"fmt"
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

// haarStep is one level of the orthonormal Haar (db1) wavelet transform of x (even length):
// a[i] = (x[2i] + x[2i+1])/√2 (approximation), d[i] = (x[2i] − x[2i+1])/√2 (detail), for i in
// [0, len(x)/2). a may be x[:len(x)/2] (in place): a[i] is written after x[2i] and x[2i+1]
// are read and never before a later read. d must not overlap x.
func haarStep(x, a, d []float64) {
	h := len(x) / 2
	a, d = a[:h], d[:h]
	for i := range h {
		x0, x1 := x[2*i], x[2*i+1]
		a[i] = (x0 + x1) / math.Sqrt2
		d[i] = (x0 - x1) / math.Sqrt2
	}
}

func energy(v []float64) float64 {
	e := 0.0
	for _, x := range v {
		e += x * x
	}
	return e
}

// waveletScorer computes wavelet_reversal's score of a window of closes, with scratch space
// allocated once.
type waveletScorer struct {
	z, a, d []float64
	ratio   float64 // last E(d1) ratio, NaN when undefined
	falling bool
}

func newWaveletScorer(n int) waveletScorer {
	return waveletScorer{z: make([]float64, n), a: make([]float64, n/2), d: make([]float64, n/2)}
}

// score of closes (len n, a multiple of 8, at least 16), oldest first:
//
//  1. z-score the closes: z = (x − mean)/σ with the population σ; if σ is 0 (or not finite)
//     there is nothing to decompose and the score is 0.
//  2. Haar level-3 decomposition: z → (a1, d1), a1 → (a2, d2), a2 → (a3, d3), with haarStep.
//  3. ratio = E(d1) / (E(d1) + E(d2) + E(d3) + E(a3)), E(v) = Σ vᵢ²: the share of the window's
//     energy in the finest detail (consecutive-close noise). The transform is orthonormal, so
//     the denominator is Σ zᵢ² = n.
//  4. The approximation trend is falling when the last level-3 approximation coefficient is
//     below the first: a3[len−1] < a3[0] (the newest block of 8 closes averages below the
//     oldest).
//  5. score = min(1, 1.5·ratio) when falling and ratio > 0.5, else 0. A nonzero score is
//     therefore above 0.75.
func (w *waveletScorer) score(closes []float64) float64 {
	n := len(closes)
	w.ratio, w.falling = math.NaN(), false
	mean := 0.0
	for _, x := range closes {
		mean += x
	}
	mean /= float64(n)
	m2 := 0.0
	for _, x := range closes {
		m2 += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(m2 / float64(n))
	if !(sd > 0) || math.IsInf(sd, 0) {
		return 0
	}
	z := w.z[:n]
	for i, x := range closes {
		z[i] = (x - mean) / sd
	}
	a, d := w.a, w.d
	haarStep(z, a, d)
	e1 := energy(d[:n/2])
	haarStep(a[:n/2], a, d)
	e2 := energy(d[:n/4])
	haarStep(a[:n/4], a, d)
	e3 := energy(d[:n/8])
	a3 := a[:n/8]
	ea := energy(a3)
	w.ratio = e1 / (e1 + e2 + e3 + ea)
	w.falling = a3[len(a3)-1] < a3[0]
	if w.falling && w.ratio > 0.5 {
		return min(1, 1.5*w.ratio)
	}
	return 0
}

func waveletReversal() Strategy {
	return &def{
		name: "wavelet_reversal",
		desc: "dgbit wavelet reversal: Haar level-3 decomposition of the z-scored last closes; buys noisy ends of falling trends",
		params: []Param{
			// dgbit's description says 60 closes; three exact Haar halvings need a multiple of 8,
			// and 64 is the nearest one above.
			intParam("window", 64, 16, 1024, "closes decomposed, a multiple of 8"),
			floatParam("threshold", 0.8, 0.5, 0.99, "enter long when the score rises above this"),
			intParam("hold", 20, 1, 100000, "candles after the last entry signal at which to exit"),
		},
		build: func(name string, v Values) (Instance, error) {
			n := v.Int("window")
			if n%8 != 0 {
				return nil, &ParamError{Strategy: name, Param: "window", Value: fmtNum(v["window"]),
					Reason: "must be a multiple of 8 (three Haar levels halve it three times)"}
			}
			return &waveletInst{name: name, n: n, buf: make([]float64, n), ordered: make([]float64, n),
				ws: newWaveletScorer(n), t: v.Float("threshold"), hold: v.Int("hold"), since: -1}, nil
		},
	}
}

// waveletInst is wavelet_reversal, long only. Value is the score of the last `window` closes
// (waveletScorer.score): 0 means "no reversal pattern", not "sell"; Direction is Long when the
// score is positive, else Flat; Confidence is gradeBeyond(score, threshold).
//
// EnterLong when the score crosses above threshold (score > threshold now, ≤ before). Exit
// rule, separate from the other 0–1 signals on purpose: the score is 0 whenever the pattern is
// absent, and the reversal it bets on ends the falling trend and with it the pattern, so
// "exit below 1 − threshold" would sell as the rebound starts. Instead Exit comes `hold`
// candles after the last EnterLong (a new EnterLong restarts the count; the broker's TP / SL /
// timeout may close the position earlier).
type waveletInst struct {
	name    string
	n       int
	buf     []float64 // ring of the last n closes
	next    int
	count   int
	ordered []float64 // the ring, oldest first
	ws      waveletScorer
	t       float64
	hold    int
	since   int // candles since the last EnterLong; −1 when none is pending
	prev    float64
	have    bool
	val     float64
}

func (w *waveletInst) AllowsShort() bool { return false }

func (w *waveletInst) Step(c market.Candle) Signal {
	w.buf[w.next] = c.Close
	w.next = (w.next + 1) % w.n
	if w.count < w.n {
		w.count++
	}
	if w.count < w.n {
		return warming(w.name, c.Time)
	}
	action := Hold
	if w.since >= 0 { // an entry is pending (the window is full since then)
		w.since++
		if w.since >= w.hold {
			action, w.since = Exit, -1
		}
	}
	k := copy(w.ordered, w.buf[w.next:])
	copy(w.ordered[k:], w.buf[:w.next])
	v := w.ws.score(w.ordered)
	w.val = v
	if w.have && v > w.t && w.prev <= w.t {
		action, w.since = EnterLong, 0
	}
	w.prev, w.have = v, true
	sig := Signal{Time: c.Time, Strategy: w.name, Action: action, Value: v, Confidence: gradeBeyond(v, w.t)}
	if v > 0 {
		sig.Direction = Long
	}
	return sig
}

func (w *waveletInst) Plots() []string {
	return []string{"wavelet_d1_ratio", fmt.Sprintf("wavelet_score(%d)", w.n)}
}

func (w *waveletInst) PlotValues(dst []float64) []float64 {
	if !w.have {
		return append(dst, math.NaN(), math.NaN())
	}
	return append(dst, w.ws.ratio, w.val)
}
