package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/sim"
	"github.com/tradeconsole/tradeconsole/market"
)

// TestLongSimulatedRunStoredCandlesEqualRecomputeFromRawTrades drives the engine with hours of
// the simulated exchange's stream (trades and book updates, with the clock closing candles as it
// goes), then recomputes every timeframe from raw_trades by the DESIGN.md rule and compares.
func TestLongSimulatedRunStoredCandlesEqualRecomputeFromRawTrades(t *testing.T) {
	ctx := context.Background()
	hours := int64(3)
	if testing.Short() {
		hours = 1
	}
	start := time.Date(2026, 11, 20, 7, 59, 42, 0, time.UTC).UnixMilli() // not on any boundary
	gen, err := sim.NewGenerator(sim.Config{Seed: 42, Start: start, TradeRate: 8, Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}})
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t, filepath.Join(t.TempDir(), "sim.db"))
	defer db.Close(ctx)
	feed := &fakeFeed{name: "sim", syms: gen.Symbols()}
	feed.now.Store(start)
	tfs := []market.Timeframe{market.TF1s, market.TF5s, market.TF1m, market.TF5m, market.TF15m, market.TF1h}
	e := startEngine(t, feed, db, Options{Timeframes: tfs, Grace: 2 * time.Second})

	end := start + hours*3600*1000
	for {
		ev := gen.Next()
		if ev.Time >= end {
			break
		}
		for feed.now.Load()+250 <= ev.Time { // the clock goroutine, ticking every 250 ms of sim time
			feed.now.Add(250)
			e.Tick(feed.now.Load(), nil)
		}
		if ev.Trade != nil {
			e.OnTrade(*ev.Trade)
		} else {
			e.OnBook(*ev.Book)
		}
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sym := range gen.Symbols() {
		trades, err := db.Trades(ctx, "sim", sym, 0, end)
		if err != nil {
			t.Fatal(err)
		}
		if h := findHealth(e.Health(), sym, "trades"); int64(len(trades)) != h.Messages || h.Late != 0 {
			t.Fatalf("%s: %d raw_trades stored, %d received, %d late", sym, len(trades), h.Messages, h.Late)
		}
		if len(trades) < int(hours*3600*4) {
			t.Fatalf("%s: only %d trades in %d h", sym, len(trades), hours)
		}
		for _, tf := range tfs {
			want := market.CandlesFromTrades(tf, trades)
			got, err := db.Candles(ctx, "sim", sym, tf, 0, 1<<62) // every stored candle of the series
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < len(want)-1 { // only the last trade's candle may still be open
				t.Fatalf("%s %v: %d stored, recompute has %d", sym, tf, len(got), len(want))
			}
			for i, g := range got {
				if i > 0 && g.Time != got[i-1].Time+int64(tf) {
					t.Fatalf("%s %v: hole or duplicate between %d and %d", sym, tf, got[i-1].Time, g.Time)
				}
				if i >= len(want) { // after the last trade only the clock closes candles: flat ones
					if g.Trades != 0 || g.Volume != 0 || g.Time > feed.now.Load() {
						t.Fatalf("%s %v: unexpected candle after the last trade %+v", sym, tf, g)
					}
					continue
				}
				w := want[i]
				if g.Time != w.Time || g.Trades != w.Trades || !near(g.Open, w.Open) || !near(g.High, w.High) ||
					!near(g.Low, w.Low) || !near(g.Close, w.Close) || !near(g.Volume, w.Volume) {
					t.Fatalf("%s %v candle %d\nstored %+v\nrecomp %+v", sym, tf, i, g, w)
				}
			}
		}
	}
}

func findHealth(hs []StreamHealth, sym market.Symbol, ch string) StreamHealth {
	for _, h := range hs {
		if h.Symbol == sym && h.Channel == ch {
			return h
		}
	}
	return StreamHealth{}
}
