package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// BenchmarkBacktestFromSQLite: a year of 1m candles (525,600) stored once in a fresh main
// database (not timed); each iteration reads them back (storage Candles) and runs sma_cross
// (fast 10, slow 30) through the backtester, broker and metrics — what `backtest --exchange …`
// does. The target is under 1 s end to end; read and backtest times are reported apart.
func BenchmarkBacktestFromSQLite(b *testing.B) {
	const n = 525_600
	cs := walkCandles(7, n)
	db, err := storage.Open(filepath.Join(b.TempDir(), "tradeconsole.db"), storage.Options{BatchSize: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(context.Background())
	ctx := context.Background()
	db.UpsertCandles(cs...)
	if err := db.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	strat, err := strategies.Builtin().Get("sma_cross")
	if err != nil {
		b.Fatal(err)
	}
	vals, err := strategies.Resolve(strat, map[string]string{"fast": "10", "slow": "30"})
	if err != nil {
		b.Fatal(err)
	}
	from, to := btT0, cs[n-1].Time

	var read, run time.Duration
	iters, trades := 0, 0
	for b.Loop() {
		t0 := time.Now()
		got, err := db.Candles(ctx, "sim", "BTCUSDT", market.TF1m, from+1, to)
		if err != nil || len(got) != n {
			b.Fatalf("read %d candles, %v", len(got), err)
		}
		t1 := time.Now()
		inst, err := strat.New(vals)
		if err != nil {
			b.Fatal(err)
		}
		res, err := engine.Backtest(ctx, got, inst, engine.DefaultBrokerConfig(), engine.BacktestOptions{})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		read += t1.Sub(t0)
		run += t2.Sub(t1)
		iters++
		trades = res.Metrics.Trades
	}
	b.ReportMetric(read.Seconds()*1000/float64(iters), "ms-read")
	b.ReportMetric(run.Seconds()*1000/float64(iters), "ms-backtest")
	b.ReportMetric((read+run).Seconds()*1000/float64(iters), "ms-total")
	b.ReportMetric(float64(trades), "trades")
}
