package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/sim"
	"github.com/tradeconsole/tradeconsole/market"
)

// Twenty bots on the simulated exchange at high speed, with the console's reads and controls
// going on at the same time: under -race this is the race check. Every bot keeps
// stepping, none fails or restarts, and every ledger reconciles exactly.
func TestTwentyBotsOnTheSimAtHighSpeed(t *testing.T) {
	ctx := context.Background()
	feed, err := sim.New(sim.Config{Seed: 7, Speed: 500, TradeRate: 3, BookLevels: 20, BookInterval: time.Second,
		Start: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t, filepath.Join(t.TempDir(), "bots.db"))
	defer db.Close(ctx)
	e := New(feed, db, Options{Timeframes: []market.Timeframe{market.TF5s, market.TF1m}, Grace: 500 * time.Millisecond, TickInterval: 20 * time.Millisecond})
	bs := NewBots(db, e, BotsOptions{Heartbeat: 500 * time.Millisecond, StallAfter: 20 * time.Second, PerformanceInterval: 200 * time.Millisecond, Publish: e.Publish, MaxOpenPositions: 15})
	e.AttachBots(bs, true)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)

	strats := []struct{ name, fast, slow string }{{"sma_cross", "3", "8"}, {"ema_cross", "3", "8"}, {"rsi", "", ""}, {"bollinger", "", ""}, {"macd", "", ""}}
	var ids []int64
	for i := range 20 {
		s := strats[i%len(strats)]
		spec := BotSpec{Name: fmt.Sprintf("bot-%02d", i), Strategy: s.name, Symbol: []string{"BTCUSDT", "ETHUSDT"}[i%2],
			Timeframe: "5s", JobBroker: JobBroker{SlippageBps: 2, StopLoss: 0.002, TakeProfit: 0.003, PositionSize: 0.5}}
		if s.fast != "" {
			spec.Params = ParamText{"fast": s.fast, "slow": s.slow}
		}
		if i%3 == 0 {
			spec.Fills = FillNextOpen
		}
		if i%4 == 0 {
			spec.Timeframe = "1m"
		}
		v, err := e.CreateBot(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.StartBot(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}

	// The console, meanwhile: lists, details, the portfolio, a pause and a resume.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(25 * time.Millisecond) // a console refreshing at 40 fps
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := e.ListBots(ctx); err != nil {
				t.Error(err)
			}
			if _, err := e.Portfolio(ctx); err != nil {
				t.Error(err)
			}
			if _, err := e.BotDetail(ctx, ids[n%len(ids)]); err != nil {
				t.Error(err)
			}
			if n%5 == 0 {
				id := ids[(n/5)%len(ids)]
				if err := e.PauseBot(ctx, id); err != nil {
					t.Error(err)
				}
				if err := e.StartBot(ctx, id); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	// Every bot handles at least 30 of its candles (five 1m ones for the 1m bots).
	for _, id := range ids {
		r := bs.run(id)
		first := r.stepped.Load()
		need := int64(30) * r.plan.TF.Millis()
		poll(t, "bot "+r.name+" steps", func() bool {
			if st := r.sup.State(); st.State != WorkerRunning && st.State != WorkerStarting {
				t.Fatalf("bot %s: %s: %s", r.name, st.State, st.Reason)
			}
			s := r.stepped.Load()
			if first == 0 {
				first = s
			}
			return s > 0 && s-first >= min(need, 5*60000)
		})
	}
	close(stop)
	wg.Wait()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	fills := 0
	for _, id := range ids {
		row, err := db.GetBot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if row.Status != BotRunning || row.HeartbeatAt == 0 {
			t.Fatalf("bot %s: status %s (%s) heartbeat %d", row.Name, row.Status, row.Reason, row.HeartbeatAt)
		}
		fs, err := db.BotFills(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		fills += len(fs)
		l, err := bs.ledgerOf(row)
		if err != nil {
			t.Fatal(err)
		}
		// Balance + Σ net P&L of closed trades = cash, exactly, when flat; with a position the
		// cash is short of that by its entry notional and fee.
		want := l.plan.Broker.Balance
		for i, f := range fs {
			if f.Seq != int64(len(fs)-i) {
				t.Fatalf("bot %s: seqs not contiguous: %d at %d", row.Name, f.Seq, i)
			}
			if !f.Entry {
				want, _ = want.Add(f.PnL)
			}
		}
		if p, ok := l.b.Position(); ok {
			out, _ := p.EntryNotional.Add(p.EntryFee)
			want, _ = want.Sub(out)
		}
		if got := l.b.Cash(); got.Cmp(want) != 0 {
			t.Fatalf("bot %s: cash %s, balance + P&L %s", row.Name, got, want)
		}
		if _, ok := l.b.Position(); ok != (len(fs)%2 == 1) {
			t.Fatalf("bot %s: %d fills, position %v", row.Name, len(fs), ok)
		}
	}
	if fills == 0 {
		t.Fatal("no bot traded")
	}
	perf, err := db.BookPerformance(ctx, 0)
	if err != nil || len(perf) == 0 {
		t.Fatalf("no performance snapshots: %v", err)
	}
}
