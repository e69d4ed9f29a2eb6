package sim

import (
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// BenchmarkGeneratorNext measures unpaced generation with the default config (2 symbols,
// 5 trades/s, 50 levels, 100 ms book interval: two book updates per trade).
func BenchmarkGeneratorNext(b *testing.B) {
	g := mustGen(b, Config{Seed: 1, Start: testStart})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		g.Next()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkHistory30Days2Symbols measures 30 days of 1m history for BTCUSDT and ETHUSDT.
func BenchmarkHistory30Days2Symbols(b *testing.B) {
	f := mustFeed(b, Config{Seed: 1, Start: testStart})
	b.ReportAllocs()
	for range b.N {
		for _, sym := range []market.Symbol{"BTCUSDT", "ETHUSDT"} {
			cs, err := f.History(sym, testStart-30*day, testStart)
			if err != nil || len(cs) != 43200 {
				b.Fatal(len(cs), err)
			}
		}
	}
}
