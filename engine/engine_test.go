package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// fakeFeed is a feed whose clock the test sets; it delivers nothing by itself (tests call the
// engine's Sink methods directly, which is what a feed goroutine does).
type fakeFeed struct {
	name    string // default "fake"
	now     atomic.Int64
	syms    []market.Symbol
	hist    func(sym market.Symbol, from, to int64) []market.Candle
	paused  atomic.Bool
	running chan struct{}
}

func (f *fakeFeed) Name() string {
	if f.name != "" {
		return f.name
	}
	return "fake"
}
func (f *fakeFeed) Symbols() []market.Symbol { return f.syms }
func (f *fakeFeed) Now() int64               { return f.now.Load() }
func (f *fakeFeed) Run(ctx context.Context, _ market.Sink) error {
	if f.running != nil {
		close(f.running)
	}
	<-ctx.Done()
	return nil
}
func (f *fakeFeed) SetPaused(v bool) { f.paused.Store(v) }
func (f *fakeFeed) Paused() bool     { return f.paused.Load() }

type histFeed struct{ *fakeFeed }

func (h histFeed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	return h.hist(sym, from, to), nil
}

var day0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixMilli()

func openStore(t testing.TB, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, storage.Options{FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func startEngine(t *testing.T, feed Feed, db *storage.DB, opt Options) *Engine {
	t.Helper()
	e := New(feed, db, opt)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return e
}

// synthetic1m makes deterministic 1m history candles with stamps in (from, to].
func synthetic1m(sym market.Symbol, from, to int64) []market.Candle {
	var out []market.Candle
	for ts := market.TF1m.Floor(from) + 60000; ts <= to; ts += 60000 {
		if ts <= from {
			continue
		}
		k := float64((ts / 60000) % 1000)
		o := 100 + k/10
		out = append(out, market.Candle{Exchange: "fake", Symbol: sym, Timeframe: market.TF1m, Time: ts,
			Open: o, High: o + 1, Low: o - 1, Close: o + 0.5, Volume: 2, Trades: 4})
	}
	return out
}

func TestCollectorStoresCandlesEqualToRecomputeFromRawTrades(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	defer db.Close(ctx)
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}}
	feed.now.Store(day0)
	tfs := []market.Timeframe{market.TF5s, market.TF1m, market.TF5m}
	e := startEngine(t, feed, db, Options{Timeframes: tfs, Grace: time.Second})

	// 2 hours of trades with gaps, boundary hits and a clock ticking every 250 ms
	ts := day0
	n := 0
	for ts < day0+2*3600*1000 {
		step := int64(37 + (n*7919)%900)
		if n%500 == 0 {
			step = 4 * 60 * 1000 // a silence of 4 minutes: flat candles from the clock
		}
		ts += step
		if n%13 == 0 {
			ts = market.TF5s.Floor(ts) + 5000 // exactly on a boundary
		}
		for feed.now.Load()+250 <= ts {
			feed.now.Add(250)
			e.Tick(feed.now.Load(), nil)
		}
		e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: fmt.Sprint(n), Time: ts,
			Price: 100 + float64(n%101)/10, Size: 0.1 + float64(n%7)/10, Side: market.Side(1 - 2*(n%2))})
		n++
	}
	last := ts
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	trades, err := db.Trades(ctx, "fake", "BTCUSDT", 0, last+1)
	if err != nil || len(trades) != n {
		t.Fatalf("raw_trades: %d rows (%v), want %d", len(trades), err, n)
	}
	for _, tf := range tfs {
		want := market.CandlesFromTrades(tf, trades)
		// the last reference candle is still open in the engine: not stored
		want = want[:len(want)-1]
		got, err := db.Candles(ctx, "fake", "BTCUSDT", tf, 0, last+int64(tf))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%v: stored %d candles, recompute gives %d", tf, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Time != w.Time || g.Trades != w.Trades || !near(g.Open, w.Open) || !near(g.High, w.High) ||
				!near(g.Low, w.Low) || !near(g.Close, w.Close) || !near(g.Volume, w.Volume) {
				t.Fatalf("%v candle %d\nstored %+v\nrecomp %+v", tf, i, g, w)
			}
			if i > 0 && g.Time != got[i-1].Time+int64(tf) {
				t.Fatalf("%v: hole or duplicate between %d and %d", tf, got[i-1].Time, g.Time)
			}
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

func TestBackfillFirstStartAndResumeKeepsHigherTimeframesWhole(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tfs := []market.Timeframe{market.TF1m, market.TF5m, market.TF1h}
	run := func(db *storage.DB, now int64) *Engine {
		feed := histFeed{&fakeFeed{syms: []market.Symbol{"ETHUSDT"}, hist: synthetic1m}}
		feed.now.Store(now)
		e := New(feed, db, Options{Timeframes: tfs, HistoryDays: 2})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		return e
	}
	// first start at 10:37:20: two days back, aligned to the hour
	now1 := day0 + (10*60+37)*60000 + 20000
	db := openStore(t, filepath.Join(dir, "a.db"))
	e1 := run(db, now1)
	c1, _ := db.CountCandles(ctx, "fake", "ETHUSDT", market.TF1m)
	first := market.TF1h.Floor(market.TF1m.Floor(now1) - 2*msDay)
	if want := (market.TF1m.Floor(now1) - first) / 60000; c1 != want {
		t.Fatalf("first start stored %d 1m candles, want %d", c1, want)
	}
	if h := e1.Health()[0]; h.Backfilled != c1 {
		t.Fatalf("health backfilled %d, want %d", h.Backfilled, c1)
	}
	// restart at 12:05:10: only the gap is fetched, and the 11:00 and 12:00 hours are whole
	now2 := day0 + (12*60+5)*60000 + 10000
	e2 := run(db, now2)
	if h := e2.Health()[0]; h.Backfilled != (market.TF1m.Floor(now2)-market.TF1m.Floor(now1))/60000 {
		t.Fatalf("restart backfilled %d candles, want only the gap", h.Backfilled)
	}
	db.Close(ctx)

	// reference: one uninterrupted start at now2 over the same span
	ref := openStore(t, filepath.Join(dir, "b.db"))
	defer ref.Close(ctx)
	feed := histFeed{&fakeFeed{syms: []market.Symbol{"ETHUSDT"}, hist: func(s market.Symbol, from, to int64) []market.Candle {
		return synthetic1m(s, first, to)
	}}}
	feed.now.Store(now2)
	e := New(feed, ref, Options{Timeframes: tfs, HistoryDays: 3})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.Stop(ctx)
	db = openStore(t, filepath.Join(dir, "a.db"))
	defer db.Close(ctx)
	for _, tf := range tfs {
		got, _ := db.Candles(ctx, "fake", "ETHUSDT", tf, first, now2)
		want, _ := ref.Candles(ctx, "fake", "ETHUSDT", tf, first, now2)
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%v: %d candles after restart, %d uninterrupted", tf, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v candle %d differs after restart\n got %+v\nwant %+v", tf, i, got[i], want[i])
			}
		}
	}
}

func TestStopFlushesEverythingAcknowledged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := storage.Open(path, storage.Options{FlushInterval: time.Hour, BatchSize: 1 << 20}) // nothing flushes by itself
	if err != nil {
		t.Fatal(err)
	}
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT", "ETHUSDT"}}
	feed.now.Store(day0)
	e := startEngine(t, feed, db, Options{Timeframes: []market.Timeframe{market.TF1s}})
	var wg sync.WaitGroup
	for _, sym := range feed.syms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				e.OnTrade(market.Trade{Exchange: "fake", Symbol: sym, ID: fmt.Sprint(i), Time: day0 + int64(i)*10, Price: 1, Size: 1, Side: market.Buy})
			}
		}()
	}
	wg.Wait()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db = openStore(t, path)
	defer db.Close(ctx)
	for _, sym := range feed.syms {
		n, _ := db.CountTrades(ctx, "fake", sym)
		c, _ := db.CountCandles(ctx, "fake", sym, market.TF1s)
		if n != 5000 || c != 49 { // 50 seconds of trades: 49 closed 1s candles, the 50th still open
			t.Fatalf("%s after stop: %d trades, %d candles; want 5000 and 49", sym, n, c)
		}
	}
}

func TestCandlesMergesStoredRecentAndOpen(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	defer db.Close(ctx)
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}}
	feed.now.Store(day0)
	e := startEngine(t, feed, db, Options{Timeframes: []market.Timeframe{market.TF1m}})
	for i := 0; i < 10; i++ {
		e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: fmt.Sprint(i), Time: day0 + int64(i)*60000 + 5, Price: float64(100 + i), Size: 1})
	}
	// closed candles may not be committed yet; the reader still sees all of them, the open one last
	got, err := e.Candles(ctx, "BTCUSDT", market.TF1m, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[4].Time != day0+10*60000 || got[4].Close != 109 || got[0].Close != 105 {
		t.Fatalf("candles: %+v", got)
	}
	if _, err := e.Candles(ctx, "NOPE", market.TF1m, 5); err == nil {
		t.Fatal("unknown symbol accepted")
	}
	tape := e.RecentTrades("BTCUSDT", 3)
	if len(tape) != 3 || tape[2].ID != "9" || tape[0].ID != "7" {
		t.Fatalf("tape %+v", tape)
	}
}

func TestEventsHealthPauseAndLogs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer db.Close(context.Background())
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}, running: make(chan struct{})}
	feed.now.Store(day0)
	wall := time.Unix(1000, 0)
	e := New(feed, db, Options{Timeframes: []market.Timeframe{market.TF1m}, WallClock: func() time.Time { return wall }})
	sub := e.Subscribe(ctx)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	<-feed.running
	if h := e.Health(); len(h) != 2 || h[0].State != StateConnecting || h[0].Channel != "trades" || h[1].Channel != "book" {
		t.Fatalf("health before data: %+v", h)
	}
	e.Tick(day0, nil) // starts the rate window
	e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "1", Time: day0 + 1, Price: 5, Size: 2, Side: market.Sell})
	e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "2", Time: day0 + 60001, Price: 6, Size: 1, Side: market.Buy})
	e.OnBook(market.BookUpdate{Exchange: "fake", Symbol: "BTCUSDT", Time: day0, Snapshot: true})
	wall = wall.Add(2 * time.Second)
	e.Tick(day0+60002, nil)
	h := e.Health()
	if h[0].State != StateConnected || h[0].Messages != 2 || h[0].MsgsPerSec != 1 || h[1].Messages != 1 || !h[0].LastMessage.Equal(time.Unix(1000, 0)) {
		t.Fatalf("health after data: %+v", h[0])
	}
	if age := h[0].Age; age != 2*time.Second {
		t.Fatalf("last age %v", age)
	}
	e.SetPaused(true)
	if !e.Paused() || e.Health()[0].State != StatePaused {
		t.Fatal("pause not reflected")
	}
	e.SetPaused(false)
	// the subscription saw: engine started log, trade, open candle, trade, closed candle, open candle, paused, resumed
	var kinds []string
	deadline := time.After(5 * time.Second)
	for len(kinds) < 10 {
		select {
		case ev := <-sub:
			switch v := ev.(type) {
			case TradeEvent:
				kinds = append(kinds, "trade")
			case CandleEvent:
				kinds = append(kinds, fmt.Sprintf("candle:%v", v.Closed))
			case PauseEvent:
				kinds = append(kinds, fmt.Sprintf("pause:%v", v.Paused))
			case LogEvent:
				kinds = append(kinds, "log")
			}
		case <-deadline:
			t.Fatalf("events so far: %v", kinds)
		}
	}
	want := "[log trade candle:false candle:true trade candle:false log pause:true log pause:false]"
	if fmt.Sprint(kinds) != want {
		t.Fatalf("events\n got %v\nwant %s", kinds, want)
	}
	logs := e.Logs(10)
	if len(logs) != 3 || logs[0].Message != "engine started" || logs[2].Message != "feed resumed" {
		t.Fatalf("logs: %+v", logs)
	}
}

// A replay of a recording that an earlier run already stored: the stored candles after the
// open candle are not shown after it (NoResume also keeps them out of the aggregator).
func TestCandlesDropStoredCandlesAheadOfTheOpenOne(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	defer db.Close(ctx)
	var ahead []market.Candle
	for i := int64(1); i <= 5; i++ {
		ahead = append(ahead, market.Candle{Exchange: "fake", Symbol: "BTCUSDT", Timeframe: market.TF1m, Time: day0 + i*60000,
			Open: 1, High: 1, Low: 1, Close: 1, Volume: 1, Trades: 1})
	}
	db.UpsertCandles(ahead...)
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}}
	feed.now.Store(day0)
	e := startEngine(t, feed, db, Options{Timeframes: []market.Timeframe{market.TF1m}, NoResume: true})
	e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: "a", Time: day0 + 60000 + 5, Price: 7, Size: 2})
	got, err := e.Candles(ctx, "BTCUSDT", market.TF1m, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Time != day0+60000 || got[0].Close != 1 || got[1].Time != day0+120000 || got[1].Close != 7 || got[1].Volume != 2 {
		t.Fatalf("candles %+v", got)
	}
}

// The open candles go on the bus at most once per OpenEvery: the trades between are folded into
// the next publication, the clock's tick sends what was folded, and a trade that closes a candle
// sends the new open candle at once.
func TestOpenCandlesCoalesced(t *testing.T) {
	wall := time.Unix(1000, 0)
	e, sub := newUnstartedEngine(t, Options{Timeframes: []market.Timeframe{market.TF1m, market.TF5m}, WallClock: func() time.Time { return wall }})
	var opens []string
	take := func() {
		t.Helper()
		opens = opens[:0]
		for {
			select {
			case ev := <-sub:
				if c, ok := ev.(CandleEvent); ok {
					opens = append(opens, fmt.Sprintf("%s:%d:%v:%g", c.Candle.Timeframe, (c.Candle.Time-day0)/60000, c.Closed, c.Candle.Close))
				}
			default:
				return
			}
		}
	}
	trade := func(id string, ms int64, price float64) {
		e.OnTrade(market.Trade{Exchange: "fake", Symbol: "BTCUSDT", ID: id, Time: day0 + ms, Price: price, Size: 1, Side: market.Buy})
	}
	trade("1", 1, 10) // the first trade goes out at once
	take()
	if fmt.Sprint(opens) != "[1m:1:false:10 5m:5:false:10]" {
		t.Fatalf("first trade: %v", opens)
	}
	wall = wall.Add(40 * time.Millisecond)
	trade("2", 2, 11)
	wall = wall.Add(40 * time.Millisecond)
	trade("3", 3, 12) // 80ms after the publication: folded
	take()
	if len(opens) != 0 {
		t.Fatalf("trades within 100ms published %v", opens)
	}
	e.Tick(day0+4, nil) // the clock sends the folded state: the last trade's
	take()
	if fmt.Sprint(opens) != "[1m:1:false:12 5m:5:false:12]" {
		t.Fatalf("tick after folded trades: %v", opens)
	}
	e.Tick(day0+5, nil) // nothing folded since: nothing sent
	take()
	if len(opens) != 0 {
		t.Fatalf("idle tick published %v", opens)
	}
	wall = wall.Add(20 * time.Millisecond) // 20ms after the tick's publication
	trade("4", 60001, 13)                  // closes the 1m candle: the closed one and the new open go out at once
	take()
	if fmt.Sprint(opens) != "[1m:1:true:12 1m:2:false:13 5m:5:false:13]" {
		t.Fatalf("closing trade: %v", opens)
	}
	wall = wall.Add(100 * time.Millisecond)
	trade("5", 60002, 14) // 100ms on: at once
	take()
	if fmt.Sprint(opens) != "[1m:2:false:14 5m:5:false:14]" {
		t.Fatalf("trade 100ms later: %v", opens)
	}
}

// newUnstartedEngine is an engine on a fake BTCUSDT feed at day0 and a fresh store, not
// started (the test calls OnTrade and Tick itself), with a subscription to its bus that ends
// with the test.
func newUnstartedEngine(t testing.TB, opt Options) (*Engine, <-chan Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := openStore(t, filepath.Join(t.TempDir(), "engine.db"))
	t.Cleanup(func() { cancel(); db.Close(context.Background()) })
	feed := &fakeFeed{syms: []market.Symbol{"BTCUSDT"}, running: make(chan struct{})}
	feed.now.Store(day0)
	e := New(feed, db, opt)
	return e, e.Subscribe(ctx)
}
