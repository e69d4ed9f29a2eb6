package engine

import (
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// BenchmarkOnTrade is the engine's cost per trade with the console's five default timeframes and one bus
// subscriber reading everything (the UI): aggregation, order flow, the storage enqueue and the
// events published. events/trade is what the subscriber received per trade.
func BenchmarkOnTrade(b *testing.B) {
	tfs := []market.Timeframe{market.TF5s, market.TF1m, market.TF5m, market.TF15m, market.TF1h}
	e, sub := newUnstartedEngine(b, Options{Timeframes: tfs, BusBuffer: 1 << 16})
	got := make(chan int)
	go func() {
		n := 0
		for range sub {
			n++
		}
		got <- n
	}()
	// 2,000 trades a second of feed time, at wall-clock speed of the benchmark.
	side := [2]market.Side{market.Buy, market.Sell}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t := day0 + int64(i)/2
		e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "x", Time: t, Price: 100 + float64(i%7), Size: 1, Side: side[i%2]})
	}
	b.StopTimer()
	e.bus.Close()
	n := <-got
	b.ReportMetric(float64(n)/float64(b.N), "events/trade")
}
