package strategies

import (
	"math/rand/v2"
	"testing"
)

// benchCandles is 64Ki random candles in memory, cycled.
var benchCandles = randomCandles(2024, 1<<16)

func benchStep(b *testing.B, inst Instance) {
	cs := benchCandles
	mask := len(cs) - 1
	var sink Action
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		sink |= inst.Step(cs[n&mask]).Action
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "candles/s")
	_ = sink
}

func benchInst(b *testing.B, name string, params map[string]string) Instance {
	s, err := Builtin().Get(name)
	if err != nil {
		b.Fatal(err)
	}
	v, err := Resolve(s, params)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := s.New(v)
	if err != nil {
		b.Fatal(err)
	}
	return inst
}

// BenchmarkSMACross: sma_cross (fast 10, slow 30) stepping over candles in memory; the target
// is at least 20 million candles/s on one core.
func BenchmarkSMACross(b *testing.B) {
	benchStep(b, benchInst(b, "sma_cross", map[string]string{"fast": "10", "slow": "30"}))
}

// BenchmarkStep: every builtin's Step with its defaults.
func BenchmarkStep(b *testing.B) {
	for _, name := range Builtin().Names() {
		b.Run(name, func(b *testing.B) { benchStep(b, benchInst(b, name, nil)) })
	}
}

// BenchmarkStepFlow: orderflow_imbalance on order-flow snapshots.
func BenchmarkStepFlow(b *testing.B) {
	inst := benchInst(b, "orderflow_imbalance", nil).(FlowStepper)
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([]FlowPoint, 1<<16)
	obi, cvd := 0.0, 0.0
	for i := range pts {
		obi = clamp(0.8*obi+rng.NormFloat64()*0.3, -1, 1)
		cvd += rng.NormFloat64() + obi
		pts[i] = FlowPoint{Time: int64(i) * 100, OBI: obi, CVD: cvd}
	}
	var sink Action
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		sink |= inst.StepFlow(pts[n&(len(pts)-1)]).Action
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "snapshots/s")
	_ = sink
}

// BenchmarkIndicators: one update of each indicator.
func BenchmarkIndicators(b *testing.B) {
	xs := benchCandles
	mask := len(xs) - 1
	run := func(name string, f func(i int) float64) {
		b.Run(name, func(b *testing.B) {
			var sink float64
			for i := 0; b.Loop(); i++ {
				sink += f(i & mask)
			}
			_ = sink
		})
	}
	sma, ema, rsi, macd := NewSMA(30), NewEMA(30), NewRSI(14), NewMACD(12, 26, 9)
	bb, atr, vol, vm := NewBollinger(20, 2), NewATR(14), NewVolatility(20), NewVolumeMean(20)
	run("sma", func(i int) float64 { return sma.Update(xs[i].Close) })
	run("ema", func(i int) float64 { return ema.Update(xs[i].Close) })
	run("rsi", func(i int) float64 { return rsi.Update(xs[i].Close) })
	run("macd", func(i int) float64 { return macd.Update(xs[i].Close) })
	run("bollinger", func(i int) float64 { return bb.Update(xs[i].Close) })
	run("atr", func(i int) float64 { return atr.Update(xs[i]) })
	run("volatility", func(i int) float64 { return vol.Update(xs[i].Close) })
	run("volume", func(i int) float64 { return vm.Update(xs[i].Volume) })
}
