package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// fakeMarket is a BotMarket the test drives: closed candles, a book, a last price, a clock.
type fakeMarket struct {
	mu      sync.Mutex
	candles map[seriesKey][]market.Candle
	bids    map[market.Symbol][]market.Level
	asks    map[market.Symbol][]market.Level
	last    map[market.Symbol]float64
	now     int64
	// onCandles, when set, runs at each Candles read before it answers (outside the lock).
	onCandles func()
}

func newFakeMarket() *fakeMarket {
	return &fakeMarket{candles: map[seriesKey][]market.Candle{}, bids: map[market.Symbol][]market.Level{},
		asks: map[market.Symbol][]market.Level{}, last: map[market.Symbol]float64{}}
}

func (m *fakeMarket) Exchange() string         { return "test" }
func (m *fakeMarket) Symbols() []market.Symbol { return []market.Symbol{"BTCUSDT", "ETHUSDT"} }
func (m *fakeMarket) Timeframes() []market.Timeframe {
	return []market.Timeframe{market.TF1m, market.TF5m}
}
func (m *fakeMarket) Now() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return time.UnixMilli(m.now) }
func (m *fakeMarket) setBook(sym market.Symbol, bids, asks []market.Level) {
	m.mu.Lock()
	m.bids[sym], m.asks[sym] = bids, asks
	m.mu.Unlock()
}

func (m *fakeMarket) Candles(_ context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error) {
	m.mu.Lock()
	hook := m.onCandles
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := m.candles[seriesKey{sym, tf}]
	if len(cs) > limit {
		cs = cs[len(cs)-limit:]
	}
	return slices.Clone(cs), nil
}

func (m *fakeMarket) BookLevels(sym market.Symbol, n int) (bids, asks []market.Level) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, a := m.bids[sym], m.asks[sym]
	return slices.Clone(b[:min(n, len(b))]), slices.Clone(a[:min(n, len(a))])
}

func (m *fakeMarket) RecentTrades(sym market.Symbol, n int) []market.Trade {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.last[sym]; ok {
		return []market.Trade{{Symbol: sym, Price: p}}
	}
	return nil
}

// close makes c the newest closed candle and hands it to the bots.
func (m *fakeMarket) close(bs *Bots, c market.Candle) {
	m.mu.Lock()
	k := seriesKey{c.Symbol, c.Timeframe}
	m.candles[k] = append(m.candles[k], c)
	m.last[c.Symbol] = c.Close
	m.now = c.Time
	m.mu.Unlock()
	bs.OnClosedCandle(c)
}

// scriptStrategy acts on given candle numbers (i = (Time − scriptT0)/1m) and panics on demand:
// param "id" picks its script from scripts.
const scriptT0 = int64(1_767_225_600_000) // 2026-01-01T00:00Z

type script struct {
	acts  map[int]strategies.Action
	panic atomic.Bool
	// holdAt, when set, makes Step of that candle number signal held and wait for release.
	holdAt        int
	held, release chan struct{}
}

var scripts sync.Map // int → *script

type scriptStrategy struct{}

func (scriptStrategy) Name() string     { return "script" }
func (scriptStrategy) Describe() string { return "acts on given candles (tests)" }
func (scriptStrategy) Params() []strategies.Param {
	return []strategies.Param{{Name: "id", Kind: strategies.Int, Default: 0, Min: 0, Max: 1e6}}
}
func (scriptStrategy) New(v strategies.Values) (strategies.Instance, error) {
	s, ok := scripts.Load(v.Int("id"))
	if !ok {
		return nil, fmt.Errorf("no script %d", v.Int("id"))
	}
	return &scriptInst{s.(*script)}, nil
}

type scriptInst struct{ s *script }

func (i *scriptInst) Step(c market.Candle) strategies.Signal {
	if i.s.panic.Load() {
		panic("boom on demand")
	}
	n := int((c.Time - scriptT0) / 60000)
	if i.s.holdAt != 0 && n == i.s.holdAt {
		close(i.s.held)
		<-i.s.release
	}
	return strategies.Signal{Time: c.Time, Strategy: "script", Action: i.s.acts[n], Confidence: strategies.High}
}
func (i *scriptInst) AllowsShort() bool { return false }

func addScript(t testing.TB, id int, acts map[int]strategies.Action) *script {
	s := &script{acts: acts}
	scripts.Store(id, s)
	t.Cleanup(func() { scripts.Delete(id) })
	return s
}

func testRegistry(t testing.TB) *strategies.Registry {
	b := strategies.Builtin()
	var ss []strategies.Strategy
	for _, n := range b.Names() {
		s, _ := b.Get(n)
		ss = append(ss, s)
	}
	reg, err := strategies.NewRegistry(append(ss, scriptStrategy{})...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// scriptCandle is candle i (1-based) of a 1m series starting at scriptT0.
func scriptCandle(sym market.Symbol, i int, o, h, l, c float64) market.Candle {
	return market.Candle{Exchange: "test", Symbol: sym, Timeframe: market.TF1m, Time: scriptT0 + int64(i)*60000,
		Open: o, High: h, Low: l, Close: c, Volume: 1, Trades: 1}
}

type botsEnv struct {
	t   testing.TB
	db  *storage.DB
	m   *fakeMarket
	bs  *Bots
	opt BotsOptions
}

func newBotsEnv(t testing.TB, opt BotsOptions) *botsEnv {
	t.Helper()
	db := openStore(t, filepath.Join(t.TempDir(), "bots.db"))
	t.Cleanup(func() { db.Close(context.Background()) })
	if opt.Registry == nil {
		opt.Registry = testRegistry(t)
	}
	env := &botsEnv{t: t, db: db, m: newFakeMarket(), opt: opt}
	env.m.now = scriptT0
	env.restart()
	return env
}

// restart starts a new Bots on the same database and market (the old one is stopped).
func (e *botsEnv) restart() {
	e.t.Helper()
	if e.bs != nil {
		if err := e.bs.Stop(context.Background()); err != nil {
			e.t.Fatal(err)
		}
	}
	e.bs = NewBots(e.db, e.m, e.opt)
	if err := e.bs.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	bs := e.bs
	e.t.Cleanup(func() { bs.Stop(context.Background()) })
}

func (e *botsEnv) create(spec BotSpec) int64 {
	e.t.Helper()
	v, err := e.bs.Create(context.Background(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

func (e *botsEnv) start(id int64) {
	e.t.Helper()
	if err := e.bs.StartBot(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
}

// feed closes c and waits until every bot running on its series has handled it.
func (e *botsEnv) feed(cs ...market.Candle) {
	e.t.Helper()
	for _, c := range cs {
		e.m.close(e.bs, c)
		for _, r := range (*e.bs.dispatch.Load())[seriesKey{c.Symbol, c.Timeframe}] {
			poll(e.t, fmt.Sprintf("bot %s handles candle %d", r.name, c.Time), func() bool {
				return r.stepped.Load() >= c.Time || r.sup.State().State == WorkerFailed || r.sup.State().State == WorkerStopped
			})
		}
	}
}

func (e *botsEnv) fills(id int64) []storage.BotFill {
	e.t.Helper()
	fs, err := e.db.BotFills(context.Background(), id, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(fs) // oldest first
	return fs
}

func (e *botsEnv) row(id int64) storage.Bot {
	e.t.Helper()
	r, err := e.db.GetBot(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The same strategy as a bot with next-open fills and as a backtest over the same candles:
// the same executions, to the last decimal (the backtest's end-of-data close aside).
func TestBotNextOpenFillsEqualBacktest(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	cs := btRandomCandles(11, 600, market.TF1m, scriptT0)
	spec := BotSpec{Name: "parity", Strategy: "sma_cross", Params: ParamText{"fast": "5", "slow": "20"}, Symbol: "BTCUSDT",
		Timeframe: "1m", Fills: FillNextOpen,
		JobBroker: JobBroker{Fee: "0.001", SlippageBps: 3, TakeProfit: 0.02, StopLoss: 0.01, PositionSize: 0.5}}
	for i := range cs {
		cs[i].Exchange = "test"
	}
	id := env.create(spec)
	env.start(id)
	env.feed(cs...)

	pl, err := env.bs.plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := pl.Strategy.New(pl.Values)
	res, err := Backtest(context.Background(), cs, inst, pl.Broker, BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(res.Fills), func(f Fill) bool { return f.Reason == ReasonEndOfData })
	got := env.fills(id)
	if len(want) < 10 {
		t.Fatalf("the backtest made only %d fills; the test needs trades", len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("bot made %d fills, backtest %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Seq != int64(i+1) || g.Time != w.Time || g.Side != w.Side.String() || g.Price.String() != w.Price.String() ||
			g.Quantity.String() != w.Quantity.String() || g.Fee.String() != w.Fee.String() || g.Entry != w.Entry || g.Reason != w.Reason {
			t.Fatalf("fill %d: bot %+v\nbacktest %+v", i, g, w)
		}
	}
	// The closed trades' P&L too.
	k := 0
	for _, g := range got {
		if g.Entry {
			continue
		}
		if tr := res.Trades[k]; g.PnL.String() != tr.PnL.String() || g.EntryTime != tr.EntryTime || g.PositionSide != tr.Side {
			t.Fatalf("trade %d: bot pnl %s entry %d %s, backtest %s %d %s", k, g.PnL, g.EntryTime, g.PositionSide, tr.PnL, tr.EntryTime, tr.Side)
		}
		k++
	}
	sigs, err := env.db.BotSignals(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != len(res.Signals) {
		t.Fatalf("bot recorded %d signals, backtest made %d", len(sigs), len(res.Signals))
	}
}

// With a book, a decision fills at once at the close, walking the book for its size.
func TestBotBookFillsWalkTheBook(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	addScript(t, 1, map[int]strategies.Action{2: strategies.EnterLong, 4: strategies.Exit})
	id := env.create(BotSpec{Name: "book", Strategy: "script", Params: ParamText{"id": "1"}, Symbol: "BTCUSDT", Timeframe: "1m",
		JobBroker: JobBroker{Balance: "10000", Fee: "0.001"}})
	env.start(id)
	asks := []market.Level{{Price: 100.0, Size: 40}, {Price: 100.5, Size: 40}, {Price: 101, Size: 1000}}
	bids := []market.Level{{Price: 99.5, Size: 30}, {Price: 99, Size: 1000}}
	env.m.setBook("BTCUSDT", bids, asks)
	env.feed(scriptCandle("BTCUSDT", 1, 100, 101, 99, 100), scriptCandle("BTCUSDT", 2, 100, 101, 99, 100),
		scriptCandle("BTCUSDT", 3, 100, 101, 99, 100), scriptCandle("BTCUSDT", 4, 100, 101, 99, 100))
	fs := env.fills(id)
	if len(fs) != 2 {
		t.Fatalf("fills %+v", fs)
	}
	// Entry: a stake of 10000 with fee 0.1% spends 10000/1.001 on the book: 40 @ 100, 40 @
	// 100.5, the rest @ 101.
	notional := 10000 / 1.001
	rest := (notional - 4000 - 4020) / 101
	vwap := notional / (80 + rest)
	wantPx, _ := WalkBook(asks, 0, notional)
	if d := wantPx - vwap; d > 1e-9 || d < -1e-9 {
		t.Fatalf("WalkBook %v, want %v", wantPx, vwap)
	}
	if e := fs[0]; !e.Entry || e.Side != "buy" || e.Time != scriptT0+2*60000 || e.Reason != ReasonSignal || absf(toFloat(e.Price)-vwap) > 1e-6 {
		t.Fatalf("entry %+v, want a buy at %v stamped at candle 2's close", e, vwap)
	}
	q := toFloat(fs[0].Quantity)
	wantExit, _ := WalkBook(bids, q, 0) // 30 @ 99.5, the rest @ 99
	if x := fs[1]; x.Entry || x.Side != "sell" || x.Time != scriptT0+4*60000 || absf(toFloat(x.Price)-wantExit) > 1e-6 || x.PnL.IsZero() {
		t.Fatalf("exit %+v, want a sell at %v", x, wantExit)
	}
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Done when (issue 5): a strategy that panics on demand, on a fake clock: restarted after 1s,
// 2s, 4s; the fourth failure in the hour marks the bot failed, with the reason stored and shown.
func TestBotPanicsRestartWithBackoffThenFail(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	env := newBotsEnv(t, BotsOptions{Clock: clk, Heartbeat: time.Second, StallAfter: time.Hour})
	s := addScript(t, 2, map[int]strategies.Action{})
	id := env.create(BotSpec{Name: "crashy", Strategy: "script", Params: ParamText{"id": "2"}, Symbol: "BTCUSDT", Timeframe: "1m"})
	env.start(id)
	r := env.bs.run(id)
	poll(t, "running", func() bool { return r.sup.State().State == WorkerRunning })

	s.panic.Store(true)
	env.m.close(env.bs, scriptCandle("BTCUSDT", 1, 100, 101, 99, 100))
	for i, backoff := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		var st SupervisedState
		poll(t, fmt.Sprintf("failure %d", i+1), func() bool {
			st = r.sup.State()
			return st.State == WorkerRestarting && st.RecentFailures == i+1
		})
		if got := st.NextRestart.Sub(clk.Now()); got != backoff {
			t.Fatalf("failure %d: restart in %v, want %v", i+1, got, backoff)
		}
		if !strings.HasPrefix(st.Reason, "panic: boom on demand") {
			t.Fatalf("reason %q", st.Reason)
		}
		if v, _ := env.bs.Get(context.Background(), id); v.Worker != WorkerRestarting || v.Status != BotRunning {
			t.Fatalf("view while restarting: %+v", v)
		}
		clk.Advance(backoff - time.Millisecond)
		if st := r.sup.State(); st.State != WorkerRestarting {
			t.Fatalf("restarted before its backoff: %+v", st)
		}
		clk.Advance(time.Millisecond) // the restarted run warms up on the candle and panics again
	}
	poll(t, "failed and forgotten", func() bool { return env.row(id).Status == BotFailed && env.bs.run(id) == nil })
	row := env.row(id)
	if !strings.HasPrefix(row.Reason, "panic: boom on demand") {
		t.Fatalf("stored reason %q", row.Reason)
	}
	v, err := env.bs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != BotFailed || !strings.Contains(v.Reason, "boom on demand") {
		t.Fatalf("view %+v", v)
	}
	if st := r.sup.State(); st.Restarts != 3 || st.State != WorkerFailed {
		t.Fatalf("supervisor %+v", st)
	}
}

// A bot restored from the database keeps its position and ledger and repeats nothing.
func TestBotRestoreKeepsPositionWithoutRepeating(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	addScript(t, 3, map[int]strategies.Action{2: strategies.EnterLong, 3: strategies.EnterLong, 6: strategies.EnterLong, 8: strategies.Exit})
	id := env.create(BotSpec{Name: "keeper", Strategy: "script", Params: ParamText{"id": "3"}, Symbol: "BTCUSDT", Timeframe: "1m", Fills: FillNextOpen})
	env.start(id)
	env.feed(scriptCandle("BTCUSDT", 1, 100, 101, 99, 100), scriptCandle("BTCUSDT", 2, 100, 101, 99, 100),
		scriptCandle("BTCUSDT", 3, 102, 103, 101, 102), scriptCandle("BTCUSDT", 4, 103, 104, 102, 103))
	before, err := env.bs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if before.Position == nil || before.Position.EntryPrice != 102 || len(env.fills(id)) != 1 {
		t.Fatalf("before restart: %+v fills %d", before.Position, len(env.fills(id)))
	}

	env.restart() // the stored status is running: it comes back
	after, err := env.bs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Position == nil || *after.Position != *before.Position || after.Cash != before.Cash || after.Status != BotRunning {
		t.Fatalf("after restart: %+v / %+v, cash %v / %v", after.Position, before.Position, after.Cash, before.Cash)
	}
	r := env.bs.run(id)
	poll(t, "restored bot running", func() bool { return r != nil && r.sup.State().State == WorkerRunning })
	// Warm-up steps candles 1-4 again (the entry signals among them do not trade); candle 6 asks
	// to enter what it holds: nothing; candle 8 exits once.
	env.feed(scriptCandle("BTCUSDT", 5, 103, 104, 102, 103), scriptCandle("BTCUSDT", 6, 104, 105, 103, 104),
		scriptCandle("BTCUSDT", 7, 105, 106, 104, 105), scriptCandle("BTCUSDT", 8, 106, 107, 105, 106),
		scriptCandle("BTCUSDT", 9, 110, 111, 109, 110))
	fs := env.fills(id)
	if len(fs) != 2 || fs[1].Seq != 2 || fs[1].Entry || fs[1].EntryTime != fs[0].Time || fs[1].Price.String() != "110" {
		t.Fatalf("fills after restore: %+v", fs)
	}
}

// Pause, the position limit, stop and the panic key.
func TestBotControlsPauseRiskStopPanic(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{MaxOpenPositions: 1})
	addScript(t, 4, map[int]strategies.Action{2: strategies.EnterLong, 6: strategies.Exit, 8: strategies.EnterLong, 10: strategies.EnterLong})
	addScript(t, 5, map[int]strategies.Action{4: strategies.EnterLong, 9: strategies.EnterLong})
	a := env.create(BotSpec{Name: "a", Strategy: "script", Params: ParamText{"id": "4"}, Symbol: "BTCUSDT", Timeframe: "1m"})
	b := env.create(BotSpec{Name: "b", Strategy: "script", Params: ParamText{"id": "5"}, Symbol: "BTCUSDT", Timeframe: "1m"})
	env.start(a)
	env.start(b)
	env.m.setBook("BTCUSDT", []market.Level{{Price: 99.9, Size: 1000}}, []market.Level{{Price: 100.1, Size: 1000}})
	c := func(i int) market.Candle { return scriptCandle("BTCUSDT", i, 100, 101, 99, 100) }
	ctx := context.Background()
	env.feed(c(1), c(2), c(3), c(4), c(5))
	if fs := env.fills(a); len(fs) != 1 || !fs[0].Entry || fs[0].Price.String() != "100.1" {
		t.Fatalf("a: %+v", fs)
	}
	if fs := env.fills(b); len(fs) != 0 {
		t.Fatalf("b entered past the position limit: %+v", fs)
	}
	sigs, _ := env.db.BotSignals(ctx, b, 0)
	if len(sigs) != 1 || sigs[0].Action != "hold" || sigs[0].Note != "risk: max open positions (1) reached" {
		t.Fatalf("b's signals %+v", sigs)
	}

	if err := env.bs.PauseBot(ctx, a); err != nil {
		t.Fatal(err)
	}
	if env.row(a).Status != BotPaused {
		t.Fatalf("status %s", env.row(a).Status)
	}
	env.feed(c(6), c(7), c(8)) // paused: the exit at 6 happens, the entry at 8 does not
	fs := env.fills(a)
	if len(fs) != 2 || fs[1].Entry || fs[1].Price.String() != "99.9" {
		t.Fatalf("a while paused: %+v", fs)
	}
	sigs, _ = env.db.BotSignals(ctx, a, 1)
	if sigs[0].Note != "paused: entry skipped" {
		t.Fatalf("a's last signal %+v", sigs[0])
	}
	env.feed(c(9)) // the slot is free: b enters
	if fs := env.fills(b); len(fs) != 1 || !fs[0].Entry {
		t.Fatalf("b: %+v", fs)
	}
	env.m.setBook("BTCUSDT", []market.Level{{Price: 104.9, Size: 1000}}, []market.Level{{Price: 105.1, Size: 1000}})
	if err := env.bs.StopBot(ctx, b); err != nil {
		t.Fatal(err)
	}
	fs = env.fills(b)
	if len(fs) != 2 || fs[1].Reason != ReasonStop || fs[1].Price.String() != "104.9" || env.row(b).Status != BotStopped {
		t.Fatalf("b stopped: %+v, status %s", fs, env.row(b).Status)
	}
	if _, ok, _ := env.db.BotPosition(ctx, b); ok {
		t.Fatal("b still has a position")
	}

	if err := env.bs.StartBot(ctx, a); err != nil { // resume
		t.Fatal(err)
	}
	env.feed(c(10)) // a enters again
	prev, err := env.bs.PanicPreview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev.Bots) != 1 || prev.Bots[0].Spec.Name != "a" || len(prev.Positions) != 1 || prev.Positions[0].Bot != "a" {
		t.Fatalf("preview %+v", prev)
	}
	rep, err := env.bs.Panic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != 1 || rep.Flattened != 1 {
		t.Fatalf("panic report %+v", rep)
	}
	fs = env.fills(a)
	if last := fs[len(fs)-1]; last.Reason != ReasonPanic || last.Entry {
		t.Fatalf("a's last fill %+v", last)
	}
	if row := env.row(a); row.Status != BotStopped || row.Reason != "panic key" {
		t.Fatalf("a after panic: %s %q", row.Status, row.Reason)
	}
	p, err := env.bs.Portfolio(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Positions) != 0 || len(p.Closed) != 3 || p.Wins+p.Losses != 3 {
		t.Fatalf("portfolio %+v", p)
	}
}

// A bot whose equity falls past max_drawdown below its peak flattens and stops itself.
func TestBotDrawdownStops(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	addScript(t, 6, map[int]strategies.Action{1: strategies.EnterLong})
	id := env.create(BotSpec{Name: "dd", Strategy: "script", Params: ParamText{"id": "6"}, Symbol: "BTCUSDT", Timeframe: "1m",
		Fills: FillNextOpen, MaxDrawdown: 0.05})
	env.start(id)
	env.feed(scriptCandle("BTCUSDT", 1, 100, 100, 100, 100), scriptCandle("BTCUSDT", 2, 100, 100, 97, 97),
		scriptCandle("BTCUSDT", 3, 97, 97, 93, 93))
	poll(t, "stopped", func() bool { return env.row(id).Status == BotStopped })
	row := env.row(id)
	fs := env.fills(id)
	if len(fs) != 2 || fs[1].Reason != ReasonDrawdown || !strings.HasPrefix(row.Reason, "drawdown 7.1% passed max_drawdown 5.0%") {
		t.Fatalf("fills %+v reason %q", fs, row.Reason)
	}
}

// A candle that closes while a starting bot warms up is in the store before it reaches the
// bot's queue: it is traded live, never taken for warm-up (its decision used to be lost).
func TestBotCandleClosingDuringWarmupIsTraded(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	addScript(t, 7, map[int]strategies.Action{1: strategies.EnterLong})
	id := env.create(BotSpec{Name: "race", Strategy: "script", Params: ParamText{"id": "7"}, Symbol: "BTCUSDT", Timeframe: "1m",
		Fills: FillNextOpen})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	env.m.mu.Lock()
	env.m.onCandles = func() {
		once.Do(func() { close(entered); <-release })
	}
	env.m.mu.Unlock()
	env.start(id)
	<-entered // the bot read its queue (empty) and is fetching its warm-up candles
	c1 := scriptCandle("BTCUSDT", 1, 100, 100, 100, 100)
	env.m.mu.Lock()
	k := seriesKey{c1.Symbol, c1.Timeframe}
	env.m.candles[k] = append(env.m.candles[k], c1)
	env.m.now = c1.Time
	env.m.mu.Unlock()
	close(release) // the warm-up sees candle 1 in the store; the bot's queue has not had it yet
	r := (*env.bs.dispatch.Load())[k][0]
	env.bs.OnClosedCandle(c1) // whether before or after the warm-up steps, the outcome is the same
	poll(t, "candle 1 stepped", func() bool { return r.stepped.Load() >= c1.Time })
	env.feed(scriptCandle("BTCUSDT", 2, 101, 101, 101, 101))
	fs := env.fills(id)
	if len(fs) != 1 || !fs[0].Entry || fs[0].Side != "buy" || fs[0].Price.String() != "101" {
		t.Fatalf("fills %+v: candle 1's entry should fill at candle 2's open", fs)
	}
}

// Definitions from config and files: created once, updated while stopped, kept while running.
func TestBotSync(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{})
	ctx := context.Background()
	spec := BotSpec{Name: "cfg", Strategy: "sma_cross", Symbol: "BTCUSDT", Timeframe: "1m"}
	if err := env.bs.Sync(ctx, []BotSource{{Spec: spec, Source: storage.BotFromConfig, Origin: "config bots[0]"}}); err != nil {
		t.Fatal(err)
	}
	row, ok, err := env.db.BotByName(ctx, "cfg")
	if err != nil || !ok || row.Source != storage.BotFromConfig || row.Status != BotStopped {
		t.Fatalf("row %+v ok %v err %v", row, ok, err)
	}
	spec.Params = ParamText{"fast": "7"}
	if err := env.bs.Sync(ctx, []BotSource{{Spec: spec, Source: storage.BotFromConfig}}); err != nil {
		t.Fatal(err)
	}
	row, _, _ = env.db.BotByName(ctx, "cfg")
	var got BotSpec
	json.Unmarshal(row.Spec, &got)
	if got.Params["fast"] != "7" {
		t.Fatalf("stored spec %s", row.Spec)
	}
	env.start(row.ID)
	spec.Params = ParamText{"fast": "8"}
	if err := env.bs.Sync(ctx, []BotSource{{Spec: spec, Source: storage.BotFromConfig}}); err != nil {
		t.Fatal(err)
	}
	row, _, _ = env.db.BotByName(ctx, "cfg")
	json.Unmarshal(row.Spec, &got)
	if got.Params["fast"] != "7" {
		t.Fatalf("a running bot's spec changed: %s", row.Spec)
	}
}

func TestBotSpecErrorsNameTheField(t *testing.T) {
	_, err := ParseBotSpec([]byte(`{"name":"x y","strategy":"nope","symbol":"btc-usdt","timeframe":"7m","fills":"later","max_drawdown":2}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`name "x y"`, `symbol "btc-usdt"`, "timeframe", `fills "later"`, "max_drawdown 2", `unknown strategy "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := ParseBotSpec([]byte(`{"name":"a","strategy":"sma_cross","symbol":"BTCUSDT","timeframe":"1m","colour":"red"}`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
	s, err := ParseBotSpec([]byte(`{"name":"a","strategy":"sma_cross","params":{"fast":7,"slow":"21"},"symbol":"BTCUSDT","timeframe":"1m"}`))
	if err != nil || s.Params["fast"] != "7" || s.Params["slow"] != "21" {
		t.Fatalf("%+v %v", s, err)
	}
}

// BenchmarkBotCandleStep is one bot's whole step per closed candle: broker, strategy, a book
// fill and the committed step (every candle trades: entry, exit, entry, …).
func BenchmarkBotCandleStep(b *testing.B) {
	acts := map[int]strategies.Action{}
	for i := 1; i <= b.N+1; i++ {
		acts[i] = []strategies.Action{strategies.EnterLong, strategies.Exit}[i%2]
	}
	addScript(b, 99, acts)
	env := newBotsEnv(b, BotsOptions{})
	id := env.create(BotSpec{Name: "bench", Strategy: "script", Params: ParamText{"id": "99"}, Symbol: "BTCUSDT", Timeframe: "1m"})
	if err := env.bs.StartBot(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	env.m.setBook("BTCUSDT", []market.Level{{Price: 99.9, Size: 1e6}}, []market.Level{{Price: 100.1, Size: 1e6}})
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		env.m.close(env.bs, scriptCandle("BTCUSDT", i, 100, 101, 99, 100))
	}
	r := env.bs.run(id)
	last := scriptT0 + int64(b.N)*60000
	poll(b, "bench steps", func() bool { return r.stepped.Load() >= last })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// A stop that comes while the bot steps a batch of queued candles: every candle of the batch
// is still stepped and committed (a cancelled commit used to fail and lose the rest of the
// batch: closed candles the bot never saw, so a bot over a fast replay made fewer trades than
// the backtest of the same candles).
func TestBotStopMidBatchStepsEveryTakenCandle(t *testing.T) {
	env := newBotsEnv(t, BotsOptions{StallAfter: time.Hour})
	s := addScript(t, 7, map[int]strategies.Action{2: strategies.EnterLong, 4: strategies.Exit})
	s.holdAt, s.held, s.release = 1, make(chan struct{}), make(chan struct{})
	id := env.create(BotSpec{Name: "batch", Strategy: "script", Params: ParamText{"id": "7"}, Symbol: "BTCUSDT", Timeframe: "1m",
		Fills: FillNextOpen})
	env.start(id)
	r := env.bs.run(id)
	poll(t, "running", func() bool { return r.sup.State().State == WorkerRunning })
	// Candle 1 is taken alone and holds the bot; 2–6 queue behind it and form the next batch.
	env.m.close(env.bs, scriptCandle("BTCUSDT", 1, 100, 101, 99, 100))
	<-s.held
	for i := 2; i <= 6; i++ {
		p := float64(100 + i)
		env.m.close(env.bs, scriptCandle("BTCUSDT", i, p, p+1, p-1, p))
	}
	s.held = make(chan struct{})
	s.holdAt = 3 // read by the bot's goroutine only after the release below
	s.release <- struct{}{}
	<-s.held // the bot is inside the batch 2–6, at candle 3, its buy filled at 3's open
	stopped := make(chan error, 1)
	go func() { stopped <- env.bs.Stop(context.Background()) }()
	poll(t, "the stop to cancel the bot", r.sup.Stopping)
	s.release <- struct{}{}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	// The sell decided on candle 4 filled at candle 5's open (at 4's stamp): the batch was
	// stepped to its end.
	fs := env.fills(id)
	if len(fs) != 2 || fs[0].Side != "buy" || fs[0].Time != scriptT0+2*60000 || fs[0].Price.String() != "103" ||
		fs[1].Side != "sell" || fs[1].Time != scriptT0+4*60000 || fs[1].Price.String() != "105" {
		t.Fatalf("fills %+v; want a buy at candle 3's open and a sell at candle 5's", fs)
	}
	if got := r.stepped.Load(); got != scriptT0+6*60000 {
		t.Fatalf("the bot's last stepped candle is %d, want candle 6 (%d)", got, scriptT0+6*60000)
	}
}

// msgCatcher is a slog handler that closes hit at the first record whose message contains want.
type msgCatcher struct {
	want string
	hit  chan struct{}
	once sync.Once
}

func (h *msgCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h *msgCatcher) Handle(_ context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, h.want) {
		h.once.Do(func() { close(h.hit) })
	}
	return nil
}
func (h *msgCatcher) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *msgCatcher) WithGroup(string) slog.Handler      { return h }

// A run that stalls inside a step is replaced (stalled, cancelled, a new run after the backoff,
// the old one abandoned). When the old run wakes up it records nothing: the fill it made in
// memory would contradict the ledger the new run loaded (cash without the entry, a position
// the new run does not hold), and the queue is the new run's.
func TestBotStalledRunCannotCommitAfterItsReplacement(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	logs := &msgCatcher{want: "was replaced by a new run", hit: make(chan struct{})}
	env := newBotsEnv(t, BotsOptions{Clock: clk, Heartbeat: time.Second, StallAfter: 3 * time.Second, Logger: slog.New(logs)})
	s := addScript(t, 8, map[int]strategies.Action{2: strategies.EnterLong})
	s.holdAt, s.held, s.release = 3, make(chan struct{}), make(chan struct{})
	id := env.create(BotSpec{Name: "stuck", Strategy: "script", Params: ParamText{"id": "8"}, Symbol: "BTCUSDT", Timeframe: "1m",
		Fills: FillNextOpen})
	env.start(id)
	r := env.bs.run(id)
	poll(t, "running", func() bool { return r.sup.State().State == WorkerRunning })
	env.feed(scriptCandle("BTCUSDT", 1, 100, 101, 99, 100), scriptCandle("BTCUSDT", 2, 100, 101, 99, 100))
	env.m.close(env.bs, scriptCandle("BTCUSDT", 3, 102, 103, 101, 102))
	<-s.held // the old run has bought at candle 3's open, in memory, and is stuck in the strategy
	s.holdAt = 0
	clk.Advance(3 * time.Second) // no beat for StallAfter
	poll(t, "stalled, restarting", func() bool { return r.sup.State().State == WorkerRestarting })
	clk.Advance(time.Second) // the backoff: the old run has not returned; a new one starts
	poll(t, "the new run", func() bool { st := r.sup.State(); return st.State == WorkerRunning && st.Restarts == 1 })
	s.release <- struct{}{}
	select {
	case <-logs.hit:
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced run did not end on its step")
	}
	if fs := env.fills(id); len(fs) != 0 {
		t.Fatalf("the replaced run recorded fills %+v", fs)
	}
	l, err := env.bs.ledgerOf(env.row(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.b.Position(); ok || l.b.Cash().String() != "10000" {
		t.Fatalf("stored ledger: cash %s, position %v", l.b.Cash(), ok)
	}
	// The new run trades on: its queue was not taken by the old one.
	env.feed(scriptCandle("BTCUSDT", 4, 103, 104, 102, 103))
	if got := r.stepped.Load(); got != scriptT0+4*60000 {
		t.Fatalf("stepped %d, want candle 4", got)
	}
}
