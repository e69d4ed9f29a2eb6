package engine

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

type recorded struct {
	snaps  []market.BookUpdate
	trades []market.Trade
}

// fakeRecorder keeps what the engine records.
type fakeRecorder struct {
	mu sync.Mutex
	recorded
	flushed int
}

func (r *fakeRecorder) RecordSnapshot(ex string, sym market.Symbol, t int64, bids, asks []market.Level) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, market.BookUpdate{Exchange: ex, Symbol: sym, Time: t, Snapshot: true,
		Bids: append([]market.Level(nil), bids...), Asks: append([]market.Level(nil), asks...)})
}
func (r *fakeRecorder) RecordTrade(tr market.Trade) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trades = append(r.trades, tr)
}
func (r *fakeRecorder) Flush(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed++
	return nil
}

// drain collects the events published so far (the bus is buffered and the engine publishes
// synchronously from the calling goroutine).
func drain(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func TestOrderFlowBookOBICVDAlertsAndRecording(t *testing.T) {
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}}
	feed.now.Store(day0)
	db := openStore(t, filepath.Join(t.TempDir(), "tc.db"))
	rec := &fakeRecorder{}
	e := startEngine(t, feed, db, Options{
		OrderFlow: OrderFlowOptions{Depth: 2, AlertOBI: 0.6, Recorder: rec, RecordInterval: time.Second},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := e.Subscribe(ctx)

	// The pinned book: bids {50000: 10, 49999: 5}, asks {50001: 3, 50002: 2} → OBI 0.5.
	e.OnBook(market.BookUpdate{Exchange: "fake", Symbol: "BTCUSDT", Time: day0 + 100, Seq: 1, Snapshot: true,
		Bids: []market.Level{{Price: 50000, Size: 10}, {Price: 49999, Size: 5}, {Price: 49990, Size: 1000}},
		Asks: []market.Level{{Price: 50001, Size: 3}, {Price: 50002, Size: 2}}})
	f, ok := e.OrderFlow("BTCUSDT")
	if !ok || f.OBI != 0.5 || f.Depth != 2 {
		t.Fatalf("OBI at depth 2 = %v (ok %v), want 0.5 (the 1000 at the third bid is beyond depth)", f.OBI, ok)
	}
	if f.BestBid.Price != 50000 || f.BestAsk.Price != 50001 || f.Mid != 50000.5 || f.Spread != 1 || f.Crossed || f.BidLevels != 3 || f.AskLevels != 2 {
		t.Fatalf("flow %+v", f)
	}
	// CVD: buy 1.5 then sell 1.0 → 0.5.
	e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "1", Time: day0 + 200, Price: 50001, Size: 1.5, Side: market.Buy})
	e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "2", Time: day0 + 300, Price: 50000, Size: 1.0, Side: market.Sell})
	if f, _ = e.OrderFlow("BTCUSDT"); f.CVD != 0.5 {
		t.Fatalf("CVD = %v, want 0.5", f.CVD)
	}
	// A delta to bid 2 / ask 8 over the top level: OBI −0.6 → alert (|OBI| ≥ 0.6).
	e.OnBook(market.BookUpdate{Exchange: "fake", Symbol: "BTCUSDT", Time: day0 + 1100, Seq: 2,
		Bids: []market.Level{{Price: 50000, Size: 0}, {Price: 49999, Size: 0}, {Price: 49990, Size: 0}, {Price: 49998, Size: 2}},
		Asks: []market.Level{{Price: 50001, Size: 8}, {Price: 50002, Size: 0}}})
	if f, _ = e.OrderFlow("BTCUSDT"); f.OBI != -0.6 || !f.Alert || f.Alerts != 1 || f.LastAlert != day0+1100 {
		t.Fatalf("after delta: OBI %v alert %v alerts %d last %d", f.OBI, f.Alert, f.Alerts, f.LastAlert)
	}
	// Still beyond: no second alert. Back to 0.58 (inside the hysteresis band): still armed off.
	e.OnBook(market.BookUpdate{Symbol: "BTCUSDT", Time: day0 + 1200, Asks: []market.Level{{Price: 50001, Size: 7.52381}}})
	if f, _ = e.OrderFlow("BTCUSDT"); f.Alerts != 1 || !f.Alert {
		t.Fatalf("inside hysteresis: alerts %d alert %v obi %v", f.Alerts, f.Alert, f.OBI)
	}
	// Back to balance: re-armed; beyond again: a second alert.
	e.OnBook(market.BookUpdate{Symbol: "BTCUSDT", Time: day0 + 1300, Asks: []market.Level{{Price: 50001, Size: 2}}})
	if f, _ = e.OrderFlow("BTCUSDT"); f.Alert || f.OBI != 0 {
		t.Fatalf("balanced: alert %v obi %v", f.Alert, f.OBI)
	}
	e.OnBook(market.BookUpdate{Symbol: "BTCUSDT", Time: day0 + 1400, Bids: []market.Level{{Price: 49998, Size: 18}}})
	if f, _ = e.OrderFlow("BTCUSDT"); !f.Alert || f.Alerts != 2 || f.OBI != 0.8 {
		t.Fatalf("second alert: %+v", f)
	}
	// A crossed book is reported.
	e.OnBook(market.BookUpdate{Symbol: "BTCUSDT", Time: day0 + 1500, Bids: []market.Level{{Price: 50001.5, Size: 1}}})
	if f, _ = e.OrderFlow("BTCUSDT"); !f.Crossed || f.CrossedCount != 1 {
		t.Fatalf("crossed: %+v", f)
	}

	evs := drain(events)
	var flows, alerts int
	var lastFlow OrderFlow
	for _, ev := range evs {
		switch ev := ev.(type) {
		case OrderFlowEvent:
			flows++
			lastFlow = ev.Flow
		case AlertEvent:
			alerts++
			if ev.Symbol != "BTCUSDT" || ev.Threshold != 0.6 {
				t.Errorf("alert %+v", ev)
			}
		}
	}
	if flows != 6 || alerts != 2 || !lastFlow.Crossed {
		t.Fatalf("events: %d order-flow (want 6, one per book update), %d alerts (want 2)", flows, alerts)
	}
	logs := e.Logs(100)
	var alertLogs int
	for _, l := range logs {
		if l.Message == "OBI alert" {
			alertLogs++
		}
	}
	if alertLogs != 2 {
		t.Fatalf("%d OBI alert log lines, want 2", alertLogs)
	}

	// Recording: every trade; a snapshot at most once per second of feed time (100 → 1100 →
	// next at ≥ 2000), best first.
	rec.mu.Lock()
	got := recorded{snaps: rec.snaps, trades: rec.trades}
	rec.mu.Unlock()
	if len(got.trades) != 2 || len(got.snaps) != 2 || got.snaps[0].Time != day0+100 || got.snaps[1].Time != day0+1100 {
		t.Fatalf("recorded %d trades, snapshots at %v", len(got.trades), got.snaps)
	}
	if s := got.snaps[0]; len(s.Bids) != 3 || s.Bids[0].Price != 50000 || s.Asks[0].Price != 50001 {
		t.Fatalf("snapshot levels %+v", s)
	}

	bids, asks := e.BookLevels("BTCUSDT", 1)
	if len(bids) != 1 || bids[0].Price != 50001.5 || len(asks) != 1 || asks[0].Price != 50001 {
		t.Fatalf("book levels %v %v", bids, asks)
	}
	// Flow bars: 1s bars (day0, day0+1s], (…, day0+2s]: the first holds the pinned OBI and both
	// trades (delta 0.5), the second the later OBI samples.
	bars := e.FlowBars("BTCUSDT", time.Second, 10)
	if len(bars) != 2 || bars[0].Time != day0+1000 || bars[0].Delta != 0.5 || bars[0].CVD != 0.5 || bars[0].OBIOpen != 0.5 ||
		bars[1].OBISamples != 5 || bars[1].Alerts != 2 || bars[0].Alerts != 0 || bars[1].OBILow != -0.6 || bars[1].OBIHigh != 17.0/21 || bars[1].OBIClose != 17.0/21 {
		t.Fatalf("bars %+v", bars)
	}
	if e.FlowBars("BTCUSDT", 7*time.Second, 10) != nil {
		t.Fatal("bars for a window that is not kept")
	}
	// The clock moves the bars' time axis on a quiet market.
	e.Tick(day0+5500, nil)
	if bars = e.FlowBars("BTCUSDT", time.Second, 10); bars[len(bars)-1].Time != day0+6000 {
		t.Fatalf("after tick the newest bar ends at %d", bars[len(bars)-1].Time-day0)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.flushed != 1 {
		t.Fatalf("recorder flushed %d times on stop", rec.flushed)
	}
}

func TestOrderFlowIntervalAndDailyReset(t *testing.T) {
	feed := &fakeFeed{syms: []market.Symbol{"ETHUSDT"}}
	feed.now.Store(day0)
	db := openStore(t, filepath.Join(t.TempDir(), "tc.db"))
	e := startEngine(t, feed, db, Options{OrderFlow: OrderFlowOptions{Interval: time.Second, ResetDaily: true}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := e.Subscribe(ctx)
	for i := int64(0); i < 25; i++ { // 25 updates over 2.4 s: published at 0, 1000, 2000
		e.OnBook(market.BookUpdate{Symbol: "ETHUSDT", Time: day0 + i*100, Snapshot: true,
			Bids: []market.Level{{Price: 100, Size: float64(i + 1)}}, Asks: []market.Level{{Price: 101, Size: 1}}})
	}
	var times []int64
	for _, ev := range drain(events) {
		if of, ok := ev.(OrderFlowEvent); ok {
			times = append(times, of.Flow.Time-day0)
		}
	}
	if len(times) != 3 || times[0] != 0 || times[1] != 1000 || times[2] != 2000 {
		t.Fatalf("published at %v, want [0 1000 2000]", times)
	}
	e.OnTrade(market.Trade{Symbol: "ETHUSDT", ID: "a", Time: day0 + msDay - 1, Price: 100, Size: 3, Side: market.Buy})
	if f, _ := e.OrderFlow("ETHUSDT"); f.CVD != 3 {
		t.Fatalf("CVD %v", f.CVD)
	}
	e.OnTrade(market.Trade{Symbol: "ETHUSDT", ID: "b", Time: day0 + msDay, Price: 100, Size: 1, Side: market.Sell})
	if f, _ := e.OrderFlow("ETHUSDT"); f.CVD != -1 {
		t.Fatalf("CVD after UTC midnight = %v, want -1 (reset daily)", f.CVD)
	}
}
