package strategies

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// relNear compares with a relative tolerance (absolute below 1).
func relNear(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*max(1e-300, math.Abs(b))
}

// checkSeries feeds xs to update and compares every returned value with want (NaN = warming up).
func checkSeries(t *testing.T, name string, xs, want []float64, tol float64, update func(float64) float64, ready func() bool) {
	t.Helper()
	for i, x := range xs {
		got := update(x)
		if !near(got, want[i], tol) {
			t.Errorf("%s: value %d (input %g) = %.12g, want %.12g", name, i, x, got, want[i])
		}
		if ready() == math.IsNaN(want[i]) {
			t.Errorf("%s: value %d: Ready() = %v, want %v", name, i, ready(), !math.IsNaN(want[i]))
		}
	}
}

var nan = math.NaN()

func TestSMAKnownValues(t *testing.T) {
	s := NewSMA(3)
	// 1..7: windows (1,2,3) → 2, (2,3,4) → 3, …
	checkSeries(t, "sma(3)", []float64{1, 2, 3, 4, 5, 6, 7}, []float64{nan, nan, 2, 3, 4, 5, 6}, 0, s.Update, s.Ready)
	s = NewSMA(4)
	// (10+11+12+9)/4 = 10.5; (11+12+9+8)/4 = 10; (12+9+8+20)/4 = 12.25
	checkSeries(t, "sma(4)", []float64{10, 11, 12, 9, 8, 20}, []float64{nan, nan, nan, 10.5, 10, 12.25}, 0, s.Update, s.Ready)
	if s.Period() != 4 || s.Value() != 12.25 {
		t.Errorf("Period/Value = %d/%g", s.Period(), s.Value())
	}
	s = NewSMA(0) // treated as 1
	checkSeries(t, "sma(0)", []float64{5, 7}, []float64{5, 7}, 0, s.Update, s.Ready)
}

func TestEMAKnownValues(t *testing.T) {
	e := NewEMA(3) // α = 2/4 = 0.5, seeded with SMA(2, 4, 6) = 4
	// 8 → 4 + 0.5·(8 − 4) = 6; 12 → 6 + 0.5·6 = 9; 9 → 9; 5 → 7
	checkSeries(t, "ema(3)", []float64{2, 4, 6, 8, 12, 9, 5}, []float64{nan, nan, 4, 6, 9, 9, 7}, 0, e.Update, e.Ready)
	e = NewEMA(4) // α = 0.4, seed (1+2+3+4)/4 = 2.5; 10 → 2.5 + 0.4·7.5 = 5.5; 0 → 5.5 − 2.2 = 3.3
	checkSeries(t, "ema(4)", []float64{1, 2, 3, 4, 10, 0}, []float64{nan, nan, nan, 2.5, 5.5, 3.3}, 1e-12, e.Update, e.Ready)
}

// TestRSIWilderExample is the classic 14-period Wilder RSI worked example of StockCharts'
// ChartSchool ("Relative Strength Index (RSI)", spreadsheet cs-rsi.xls; closes of QQQQ,
// 14-Dec-2009 to 1-Feb-2010). The first RSI is at the 15th close (46.28). StockCharts' table
// shows 70.53, 66.32, 66.55, … because it rounds the averages to two decimals (0.24/0.10 →
// RS 2.39); carried at full precision the same rules give 70.4641, 66.2496, … (the values
// below, also published by TA-Lib-style implementations), all within 0.1 of the table's.
func TestRSIWilderExample(t *testing.T) {
	closes := []float64{44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08,
		45.89, 46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25,
		45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13}
	fullPrecision := []float64{70.4641, 66.2496, 66.4809, 69.3469, 66.2947, 57.9150, 62.8807,
		63.2088, 56.0116, 62.3399, 54.6710, 50.3868, 40.0194, 41.4926, 41.9024, 45.4995,
		37.3228, 33.0905, 37.7888}
	stockCharts := []float64{70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06,
		62.38, 54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77}
	r := NewRSI(14)
	for i, c := range closes {
		got := r.Update(c)
		if i < 14 {
			if !math.IsNaN(got) || r.Ready() {
				t.Fatalf("close %d: RSI %g ready=%v while warming up", i, got, r.Ready())
			}
			continue
		}
		j := i - 14
		if !near(got, fullPrecision[j], 0.00005) {
			t.Errorf("close %d (%g): RSI %.5f, want %.4f", i, c, got, fullPrecision[j])
		}
		if !near(got, stockCharts[j], 0.1) {
			t.Errorf("close %d (%g): RSI %.5f, StockCharts %.2f", i, c, got, stockCharts[j])
		}
	}
}

func TestRSIEdgeCases(t *testing.T) {
	r := NewRSI(2)
	// no movement at all: 50
	checkSeries(t, "flat", []float64{5, 5, 5, 5}, []float64{nan, nan, 50, 50}, 0, r.Update, r.Ready)
	r = NewRSI(2)
	// only gains: average loss 0 → 100; then a loss of 3 after gains 1, 1:
	// avgG = (1·1 + 0)/2 = 0.5, avgL = (0 + 3)/2 = 1.5 → RS 1/3 → 25
	checkSeries(t, "up", []float64{1, 2, 3, 0}, []float64{nan, nan, 100, 25}, 1e-12, r.Update, r.Ready)
	r = NewRSI(2)
	checkSeries(t, "down", []float64{3, 2, 1}, []float64{nan, nan, 0}, 0, r.Update, r.Ready)
}

func TestMACDKnownValues(t *testing.T) {
	// MACD(2, 3, 2) on closes 10,10,10,10,11,12,13,12: EMA(2) (α 2/3, seed 10) and EMA(3)
	// (α 1/2, seed 10) give line 0 at closes 2 and 3; the signal EMA(2) is seeded with the
	// mean of the first two line values (0, 0) = 0 at close 3. Close 4 (11): EMA(2) =
	// 10 + 2/3 = 10.6667, EMA(3) = 10.5, line = 1/6, signal = 0 + 2/3·1/6 = 1/9, hist = 1/18.
	// Close 5 (12): EMA(2) = 10.6667 + 2/3·1.3333 = 11.5556, EMA(3) = 11.25,
	// line = 0.30556 (11/36), signal = 1/9 + 2/3·(11/36 − 1/9) = 0.24074, hist = 0.064815.
	m := NewMACD(2, 3, 2)
	closes := []float64{10, 10, 10, 10, 11, 12}
	line := []float64{nan, nan, nan, 0, 1.0 / 6, 11.0 / 36}
	sig := []float64{nan, nan, nan, 0, 1.0 / 9, 0.24074074074074048}
	for i, c := range closes {
		got := m.Update(c)
		if !near(got, line[i], 1e-12) || !near(m.Line(), line[i], 1e-12) || !near(m.Signal(), sig[i], 1e-12) ||
			!near(m.Hist(), line[i]-sig[i], 1e-12) {
			t.Errorf("close %d: line %g signal %g hist %g, want %g %g", i, m.Line(), m.Signal(), m.Hist(), line[i], sig[i])
		}
		if m.Ready() != (i >= 3) {
			t.Errorf("close %d: Ready %v", i, m.Ready())
		}
	}
	// Against a naive reference (full recomputation of every EMA from scratch) on a random walk.
	rng := rand.New(rand.NewPCG(1, 2))
	xs := randomWalk(rng, 300, 100)
	m = NewMACD(12, 26, 9)
	for i, x := range xs {
		m.Update(x)
		if i < 26+9-2 {
			if m.Ready() {
				t.Fatalf("ready at %d", i)
			}
			continue
		}
		l, s := naiveMACD(xs[:i+1], 12, 26, 9)
		if !near(m.Line(), l, 1e-9) || !near(m.Signal(), s, 1e-9) {
			t.Fatalf("value %d: line %g signal %g, naive %g %g", i, m.Line(), m.Signal(), l, s)
		}
	}
}

// naiveEMA recomputes an SMA-seeded EMA over all of xs.
func naiveEMA(xs []float64, n int) []float64 {
	out := make([]float64, len(xs))
	a := 2 / float64(n+1)
	for i := range xs {
		switch {
		case i < n-1:
			out[i] = math.NaN()
		case i == n-1:
			s := 0.0
			for _, x := range xs[:n] {
				s += x
			}
			out[i] = s / float64(n)
		default:
			out[i] = out[i-1] + a*(xs[i]-out[i-1])
		}
	}
	return out
}

func naiveMACD(xs []float64, fast, slow, signal int) (line, sig float64) {
	f, s := naiveEMA(xs, fast), naiveEMA(xs, slow)
	var ls []float64
	for i := slow - 1; i < len(xs); i++ {
		ls = append(ls, f[i]-s[i])
	}
	g := naiveEMA(ls, signal)
	return ls[len(ls)-1], g[len(g)-1]
}

func TestBollingerKnownValues(t *testing.T) {
	// The textbook population standard deviation example: 2,4,4,4,5,5,7,9 has mean 5 and σ 2
	// (the sample one would be 2.138). k = 2: bands 1 and 9; the last value 9 is on the upper
	// band, %b = 1.
	b := NewBollinger(8, 2)
	for i, x := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		b.Update(x)
		if b.Ready() != (i == 7) {
			t.Fatalf("value %d: Ready %v", i, b.Ready())
		}
	}
	if b.Middle() != 5 || !near(b.StdDev(), 2, 1e-15) || !near(b.Upper(), 9, 1e-14) || !near(b.Lower(), 1, 1e-14) ||
		!near(b.PercentB(), 1, 1e-14) || b.Value() != 5 {
		t.Errorf("mid %g σ %g up %g lo %g %%b %g", b.Middle(), b.StdDev(), b.Upper(), b.Lower(), b.PercentB())
	}
	// next value 1: window 4,4,4,5,5,7,9,1 → mean 39/8 = 4.875, σ² = Σx²/8 − mean² =
	// 229/8 − 23.765625 = 4.859375, σ = 2.2044; lower band 4.875 − 2σ = 0.4662, so 1 sits just
	// above it: %b = (1 − 0.4662)/(4σ) = 0.0605.
	b.Update(1)
	sd := math.Sqrt(4.859375)
	if !near(b.Middle(), 4.875, 1e-14) || !near(b.StdDev(), sd, 1e-14) ||
		!near(b.PercentB(), (1-(4.875-2*sd))/(4*sd), 1e-14) || !near(b.PercentB(), 0.0605, 1e-4) {
		t.Errorf("mid %g σ %g %%b %g", b.Middle(), b.StdDev(), b.PercentB())
	}
	// collapsed bands: %b 0.5
	b = NewBollinger(3, 2)
	for _, x := range []float64{7, 7, 7} {
		b.Update(x)
	}
	if b.StdDev() != 0 || b.PercentB() != 0.5 || b.Upper() != 7 {
		t.Errorf("flat: σ %g %%b %g up %g", b.StdDev(), b.PercentB(), b.Upper())
	}
	if !math.IsNaN(NewBollinger(3, 2).PercentB()) {
		t.Error("PercentB before Ready is not NaN")
	}
}

func TestATRKnownValues(t *testing.T) {
	// true ranges: 2 (first candle: high − low); 2; 2; 4 (gap up: 15 − previous close 11);
	// 3.5 (gap down: |11 − 14.5|). ATR(3) = (2+2+2)/3 = 2, then (2·2 + 4)/3 = 8/3, then
	// (8/3·2 + 3.5)/3 = 53/18.
	cs := []market.Candle{
		{High: 10, Low: 8, Close: 9},
		{High: 11, Low: 9, Close: 10.5},
		{High: 12, Low: 10, Close: 11},
		{High: 15, Low: 14, Close: 14.5},
		{High: 12, Low: 11, Close: 11.5},
	}
	trs := []float64{2, 2, 2, 4, 3.5}
	want := []float64{nan, nan, 2, 8.0 / 3, 53.0 / 18}
	a := NewATR(3)
	for i, c := range cs {
		got := a.Update(c)
		if !near(got, want[i], 1e-12) || a.TrueRange() != trs[i] || a.Ready() != (i >= 2) {
			t.Errorf("candle %d: ATR %g TR %g ready %v, want %g %g", i, got, a.TrueRange(), a.Ready(), want[i], trs[i])
		}
	}
}

func TestVolatilityKnownValues(t *testing.T) {
	// prices 1, e, 1: log returns +1, −1 → mean 0, sample variance (1+1)/(2−1) = 2 → √2.
	v := NewVolatility(2)
	checkSeries(t, "vol(2)", []float64{1, math.E, 1}, []float64{nan, nan, math.Sqrt2}, 1e-12, v.Update, v.Ready)
	// constant growth: every return ln 2 → 0
	v = NewVolatility(3)
	checkSeries(t, "vol(3)", []float64{1, 2, 4, 8, 16}, []float64{nan, nan, nan, 0, 0}, 1e-12, v.Update, v.Ready)
	// against a naive reference
	rng := rand.New(rand.NewPCG(3, 4))
	xs := randomWalk(rng, 200, 50)
	v = NewVolatility(20)
	for i, x := range xs {
		got := v.Update(x)
		if i < 20 {
			continue
		}
		var rs []float64
		for j := i - 19; j <= i; j++ {
			rs = append(rs, math.Log(xs[j]/xs[j-1]))
		}
		m, m2 := twoPass(rs)
		if want := math.Sqrt(m2 / 19); !relNear(got, want, 1e-9) {
			t.Fatalf("price %d: vol %g, naive %g (mean %g)", i, got, want, m)
		}
	}
	// a non-positive price counts as a 0 return, never NaN
	v = NewVolatility(2)
	for _, x := range []float64{1, 0, -1, 2} {
		if got := v.Update(x); math.IsInf(got, 0) || v.Ready() && math.IsNaN(got) {
			t.Fatalf("vol %g", got)
		}
	}
}

func TestVolumeMeanKnownValues(t *testing.T) {
	// 1,2,3: mean 2, σ = √(2/3), z of 3 = 1/√(2/3) = √1.5; 2,3,4 and 3,4,5 likewise.
	m := NewVolumeMean(3)
	checkSeries(t, "volume(3)", []float64{1, 2, 3, 4, 5}, []float64{nan, nan, 2, 3, 4}, 1e-14, m.Update, m.Ready)
	if !near(m.ZScore(), math.Sqrt(1.5), 1e-12) || !near(m.StdDev(), math.Sqrt(2.0/3), 1e-14) {
		t.Errorf("z %g σ %g", m.ZScore(), m.StdDev())
	}
	m = NewVolumeMean(2)
	m.Update(0)
	m.Update(0)
	if m.ZScore() != 0 || m.Value() != 0 {
		t.Errorf("zero volume: z %g mean %g", m.ZScore(), m.Value())
	}
}

func TestIndicatorsNaNUntilReady(t *testing.T) {
	if !math.IsNaN(NewSMA(2).Value()) || !math.IsNaN(NewEMA(2).Value()) || !math.IsNaN(NewRSI(2).Value()) ||
		!math.IsNaN(NewMACD(2, 3, 2).Signal()) || !math.IsNaN(NewBollinger(2, 1).Lower()) ||
		!math.IsNaN(NewATR(2).Value()) || !math.IsNaN(NewVolatility(2).Value()) || !math.IsNaN(NewVolumeMean(2).ZScore()) {
		t.Error("an indicator is not NaN before its first value")
	}
}

func TestIndicatorsDoNotAllocate(t *testing.T) {
	s, e, r, m, b, a, v, vm := NewSMA(30), NewEMA(30), NewRSI(14), NewMACD(12, 26, 9), NewBollinger(20, 2), NewATR(14), NewVolatility(20), NewVolumeMean(20)
	x := 100.0
	allocs := testing.AllocsPerRun(1000, func() {
		x += 0.5
		s.Update(x)
		e.Update(x)
		r.Update(x)
		m.Update(x)
		b.Update(x)
		a.Update(market.Candle{High: x + 1, Low: x - 1, Close: x})
		v.Update(x)
		vm.Update(x)
	})
	if allocs != 0 {
		t.Errorf("%g allocations per update", allocs)
	}
}

// twoPass is the fresh computation: mean and Σ(x − mean)², with compensated sums.
func twoPass(xs []float64) (mean, m2 float64) {
	var s ksum
	for _, x := range xs {
		s.add(x)
	}
	mean = s.value() / float64(len(xs))
	var q ksum
	for _, x := range xs {
		q.add((x - mean) * (x - mean))
	}
	return mean, q.value()
}

// TestRollingStability feeds 10 million values (a random walk around 50,000, like a price,
// with a spike of ×1000 every 1,000,003 values and volumes spanning 1e-3 to 1e6) and checks
// the rolling indicators at checkpoints against a fresh computation over the window: within
// 1e-9 relative.
func TestRollingStability(t *testing.T) {
	const total = 10_000_000
	const n = 50
	if testing.Short() {
		t.Skip("10 million values")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	s := NewSMA(n)
	b := NewBollinger(n, 2)
	vol := NewVolatility(n)
	vm := NewVolumeMean(n)
	prices := make([]float64, n+1) // last n+1 prices, ring
	vols := make([]float64, n)
	p := 50_000.0
	checked := 0
	for i := range total {
		p *= math.Exp(rng.NormFloat64() * 0.001)
		x := p
		if i%1_000_003 == 500_000 {
			x = p * 1000
		}
		volume := math.Exp(rng.Float64()*20.7) * 1e-3
		prices[i%(n+1)] = x
		vols[i%n] = volume
		s.Update(x)
		b.Update(x)
		vol.Update(x)
		vm.Update(volume)
		// checkpoints: every 997,001 values, just after a spike left the window, and the end
		if i < n+1 || (i%997_001 != 0 && i%1_000_003 != 500_000+n+7 && i != total-1) {
			continue
		}
		checked++
		win := make([]float64, 0, n)
		for j := i - n + 1; j <= i; j++ {
			win = append(win, prices[j%(n+1)])
		}
		mean, m2 := twoPass(win)
		sd := math.Sqrt(m2 / n)
		if !relNear(s.Value(), mean, 1e-9) || !relNear(b.Middle(), mean, 1e-9) || !relNear(b.StdDev(), sd, 1e-9) {
			t.Errorf("value %d: sma %.17g bollinger mid %.17g σ %.17g, fresh %.17g %.17g", i, s.Value(), b.Middle(), b.StdDev(), mean, sd)
		}
		rs := make([]float64, 0, n)
		for j := i - n + 1; j <= i; j++ {
			rs = append(rs, math.Log(prices[j%(n+1)]/prices[(j-1)%(n+1)]))
		}
		_, rm2 := twoPass(rs)
		if want := math.Sqrt(rm2 / (n - 1)); !relNear(vol.Value(), want, 1e-9) {
			t.Errorf("value %d: volatility %.17g, fresh %.17g", i, vol.Value(), want)
		}
		vmean, vm2 := twoPass(vols)
		if !relNear(vm.Value(), vmean, 1e-9) || !relNear(vm.StdDev(), math.Sqrt(vm2/n), 1e-9) {
			t.Errorf("value %d: volume mean %.17g σ %.17g, fresh %.17g %.17g", i, vm.Value(), vm.StdDev(), vmean, math.Sqrt(vm2/n))
		}
	}
	if checked < 15 {
		t.Fatalf("only %d checkpoints", checked)
	}
}

// TestRollingNoRecomputeDrift checks the compensated sums between recomputes: a huge value
// entering and leaving a long window must not leave rounding behind before the next wrap.
func TestRollingNoRecomputeDrift(t *testing.T) {
	const n = 1000
	b := NewBollinger(n, 2)
	xs := make([]float64, 0, 3*n)
	for i := range 3 * n {
		x := 1 + float64(i%7)*1e-3
		if i == n+10 {
			x = 1e15
		}
		xs = append(xs, x)
		b.Update(x)
		if i >= n-1 && (i-n+1)%n != 0 { // between recomputes
			mean, m2 := twoPass(xs[i-n+1 : i+1])
			if !relNear(b.Middle(), mean, 1e-9) || !relNear(b.StdDev(), math.Sqrt(m2/n), 1e-9) {
				t.Fatalf("value %d: mid %.17g σ %.17g, fresh %.17g %.17g", i, b.Middle(), b.StdDev(), mean, math.Sqrt(m2/n))
			}
		}
	}
}

// randomWalk returns n positive prices starting at p0.
func randomWalk(rng *rand.Rand, n int, p0 float64) []float64 {
	xs := make([]float64, n)
	p := p0
	for i := range xs {
		p *= math.Exp(rng.NormFloat64() * 0.01)
		xs[i] = p
	}
	return xs
}
