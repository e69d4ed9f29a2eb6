package strategies

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHaarHandExample decomposes x = 4,2,5,5,1,3,6,2 by hand (s = √2):
//
//	level 1: a1 = (6, 10, 4, 8)/s = (3s, 5s, 2s, 4s)   d1 = (2, 0, −2, 4)/s = (s, 0, −s, 2s)
//	level 2: a2 = ((3s+5s)/s, (2s+4s)/s) = (8, 6)     d2 = ((3s−5s)/s, (2s−4s)/s) = (−2, −2)
//	level 3: a3 = (8+6)/s = 7s                         d3 = (8−6)/s = s
//
// Energies: Σx² = 16+4+25+25+1+9+36+4 = 120 = E(d1) 12 + E(d2) 8 + E(d3) 2 + E(a3) 98.
func TestHaarHandExample(t *testing.T) {
	s := math.Sqrt2
	x := []float64{4, 2, 5, 5, 1, 3, 6, 2}
	a, d := make([]float64, 4), make([]float64, 4)
	haarStep(x, a, d)
	wantSlices(t, "a1", a, []float64{3 * s, 5 * s, 2 * s, 4 * s})
	wantSlices(t, "d1", d, []float64{s, 0, -s, 2 * s})
	e1 := energy(d)
	haarStep(a, a, d) // in place
	wantSlices(t, "a2", a[:2], []float64{8, 6})
	wantSlices(t, "d2", d[:2], []float64{-2, -2})
	e2 := energy(d[:2])
	haarStep(a[:2], a, d)
	wantSlices(t, "a3", a[:1], []float64{7 * s})
	wantSlices(t, "d3", d[:1], []float64{s})
	e3, ea := energy(d[:1]), energy(a[:1])
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"E(d1)", e1, 12}, {"E(d2)", e2, 8}, {"E(d3)", e3, 2}, {"E(a3)", ea, 98}, {"total", e1 + e2 + e3 + ea, energy(x)}} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %.15g, want %g", c.name, c.got, c.want)
		}
	}
}

func wantSlices(t *testing.T, name string, got, want []float64) {
	t.Helper()
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

// TestHaarEnergyPreservation: the orthonormal transform keeps Σx² at every level, for random
// inputs of every window size the strategy accepts.
func TestHaarEnergyPreservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 16; n <= 1024; n += 8 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64() * 100
		}
		total := energy(x)
		a, d := make([]float64, n/2), make([]float64, n/2)
		haarStep(x, a, d)
		sum := energy(d)
		haarStep(a, a, d[:n/4])
		sum += energy(d[:n/4])
		haarStep(a[:n/4], a, d[:n/8])
		sum += energy(d[:n/8]) + energy(a[:n/8])
		if !relNear(sum, total, 1e-12) {
			t.Fatalf("n=%d: energy after three levels %.17g, before %.17g", n, sum, total)
		}
	}
}

// refWaveletScore is a from-scratch reference of waveletScorer.score: allocating, recursive.
func refWaveletScore(closes []float64) (score, ratio float64, falling bool) {
	n := float64(len(closes))
	mean := 0.0
	for _, x := range closes {
		mean += x / n
	}
	v := 0.0
	for _, x := range closes {
		v += (x - mean) * (x - mean) / n
	}
	if v == 0 {
		return 0, math.NaN(), false
	}
	z := make([]float64, len(closes))
	for i, x := range closes {
		z[i] = (x - mean) / math.Sqrt(v)
	}
	var details [][]float64
	approx := z
	for range 3 {
		var a, d []float64
		for i := 0; i < len(approx); i += 2 {
			a = append(a, (approx[i]+approx[i+1])/math.Sqrt2)
			d = append(d, (approx[i]-approx[i+1])/math.Sqrt2)
		}
		details = append(details, d)
		approx = a
	}
	e := func(v []float64) (s float64) {
		for _, x := range v {
			s += x * x
		}
		return s
	}
	ratio = e(details[0]) / (e(details[0]) + e(details[1]) + e(details[2]) + e(approx))
	falling = approx[len(approx)-1] < approx[0]
	if falling && ratio > 0.5 {
		return math.Min(1, 1.5*ratio), ratio, falling
	}
	return 0, ratio, falling
}

func TestWaveletScore(t *testing.T) {
	ws := newWaveletScorer(16)
	// flat: σ = 0, nothing to decompose
	flat := make([]float64, 16)
	for i := range flat {
		flat[i] = 100
	}
	if s := ws.score(flat); s != 0 {
		t.Errorf("flat: score %g", s)
	}
	// a pure zig-zag around a falling line: almost all energy in d1 (ratio ≈ 1) and falling
	zig := make([]float64, 16)
	for i := range zig {
		zig[i] = 100 - 0.1*float64(i) + 5*float64(1-2*(i%2))
	}
	if s := ws.score(zig); s != 1 || !ws.falling || ws.ratio < 0.95 {
		t.Errorf("falling zig-zag: score %g ratio %g falling %v, want 1", s, ws.ratio, ws.falling)
	}
	// the same zig-zag around a rising line: not falling → 0
	for i := range zig {
		zig[i] = 100 + 0.1*float64(i) + 5*float64(1-2*(i%2))
	}
	if s := ws.score(zig); s != 0 || ws.falling {
		t.Errorf("rising zig-zag: score %g falling %v", s, ws.falling)
	}
	// a smooth fall: falling, but the energy is in the approximation → 0
	for i := range zig {
		zig[i] = 100 - float64(i)
	}
	if s := ws.score(zig); s != 0 || !ws.falling || ws.ratio > 0.05 {
		t.Errorf("smooth fall: score %g ratio %g falling %v", s, ws.ratio, ws.falling)
	}
	// random windows against the reference
	rng := rand.New(rand.NewPCG(8, 9))
	ws = newWaveletScorer(64)
	hits := 0
	for range 2000 {
		x := make([]float64, 64)
		p := 100.0
		for i := range x {
			p += rng.NormFloat64() - 0.02
			x[i] = p + rng.NormFloat64()*3*float64(1-2*(i%2))
		}
		got := ws.score(x)
		want, ratio, falling := refWaveletScore(x)
		if !near(got, want, 1e-12) || !near(ws.ratio, ratio, 1e-12) || ws.falling != falling {
			t.Fatalf("score %g ratio %g falling %v, reference %g %g %v", got, ws.ratio, ws.falling, want, ratio, falling)
		}
		if got > 0 {
			hits++
		}
	}
	if hits == 0 {
		t.Error("the random windows never scored: the comparison is too weak")
	}
}
