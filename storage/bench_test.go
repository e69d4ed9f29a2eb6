package storage

import (
	"context"
	"strconv"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// The writer benchmarks measure end to end: enqueue b.N rows, then Flush.

func BenchmarkWriterCandles(b *testing.B) {
	db, _ := openTest(b, Options{})
	syms := []market.Symbol{"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}
	buf := make([]market.Candle, 0, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := 100 + float64(i%1000)*0.01
		buf = append(buf, market.Candle{
			Exchange: "bybit", Symbol: syms[i%len(syms)], Timeframe: market.TF1m,
			Time: base + int64(i/len(syms))*60_000,
			Open: p, High: p + 1, Low: p - 1, Close: p + 0.5, Volume: 12.5, Trades: 42,
		})
		if len(buf) == cap(buf) {
			db.UpsertCandles(buf...)
			buf = buf[:0]
		}
	}
	db.UpsertCandles(buf...)
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkWriterTrades(b *testing.B) {
	db, _ := openTest(b, Options{})
	syms := []market.Symbol{"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}
	buf := make([]market.Trade, 0, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		side := market.Buy
		if i%3 == 0 {
			side = market.Sell
		}
		buf = append(buf, market.Trade{
			Exchange: "bybit", Symbol: syms[i%len(syms)], ID: strconv.Itoa(1_000_000_000 + i),
			Time: base + int64(i), Price: 50000 + float64(i%1000)*0.1, Size: 0.01, Side: side,
		})
		if len(buf) == cap(buf) {
			db.InsertTrades(buf...)
			buf = buf[:0]
		}
	}
	db.InsertTrades(buf...)
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLastCandles reads the newest 500 of 100,000 candles.
func BenchmarkLastCandles(b *testing.B) {
	db, _ := openTest(b, Options{})
	const n = 100_000
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, n)...)
	db.UpsertCandles(mkCandles(exA, symB, market.TF1m, base, 1000)...)
	flush(b, db)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cs, err := db.LastCandles(ctx, exA, symA, market.TF1m, 500)
		if err != nil || len(cs) != 500 || cs[499].Time != base+(n-1)*60_000 {
			b.Fatalf("LastCandles: %d rows, %v", len(cs), err)
		}
	}
}
