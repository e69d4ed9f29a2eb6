package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// fakeBackend implements Backend for tests. It is safe for concurrent use (load commands
// may run it from other goroutines).
type fakeBackend struct {
	mu        sync.Mutex
	exchange  string
	symbols   []market.Symbol
	tfs       []market.Timeframe
	candles   map[string][]market.Candle
	trades    map[market.Symbol][]market.Trade
	health    []engine.StreamHealth
	logs      []engine.LogEntry
	pausable  bool
	paused    bool
	ended     bool
	now       time.Time
	loadErr   error
	subCh     chan engine.Event
	subCtx    context.Context
	candleReq []string // "SYM tf limit" per Candles call
	setPaused []bool

	flows    map[market.Symbol]engine.OrderFlow
	books    map[market.Symbol][2][]market.Level // bids, asks; best first
	windows  []time.Duration
	flowBars map[string][]market.FlowBar // by flowKey
	flowReq  []string                    // "SYM window n" per FlowBars call
}

func flowKey(sym market.Symbol, w time.Duration) string { return string(sym) + " " + w.String() }

func seriesKey(sym market.Symbol, tf market.Timeframe) string { return string(sym) + " " + tf.String() }

// t0 is the fake engine clock.
var t0 = time.Date(2025, 11, 21, 9, 43, 12, 0, time.UTC)

func newFake() *fakeBackend {
	f := &fakeBackend{
		exchange: "sim",
		symbols:  []market.Symbol{"BTCUSDT", "ETHUSDT"},
		tfs:      []market.Timeframe{market.TF1s, market.TF1m, market.TF5m, market.TF1h},
		candles:  map[string][]market.Candle{},
		trades:   map[market.Symbol][]market.Trade{},
		pausable: true,
		now:      t0,
		subCh:    make(chan engine.Event, 1024),
	}
	f.candles[seriesKey("BTCUSDT", market.TF1m)] = genCandles("BTCUSDT", market.TF1m, 300, 50000)
	f.candles[seriesKey("ETHUSDT", market.TF1m)] = genCandles("ETHUSDT", market.TF1m, 300, 3000)
	f.candles[seriesKey("BTCUSDT", market.TF5m)] = genCandles("BTCUSDT", market.TF5m, 300, 50000)
	f.candles[seriesKey("BTCUSDT", market.TF1h)] = genCandles("BTCUSDT", market.TF1h, 300, 50000)
	for _, sym := range f.symbols {
		cs := f.candles[seriesKey(sym, market.TF1m)]
		f.trades[sym] = genTrades(sym, 200, cs[len(cs)-1].Close)
	}
	f.health = []engine.StreamHealth{
		{Exchange: "sim", Symbol: "BTCUSDT", Channel: "trades", State: engine.StateConnected, MsgsPerSec: 42.5,
			Messages: 123456, LastMessage: t0.Add(-200 * time.Millisecond), Age: 200 * time.Millisecond, Reconnects: 2, Gaps: 3, Resyncs: 1, Backfilled: 77, Late: 5},
		{Exchange: "sim", Symbol: "ETHUSDT", Channel: "book", State: engine.StateReconnecting, MsgsPerSec: 0,
			Messages: 9876, LastMessage: t0.Add(-12 * time.Second), Age: 12 * time.Second, Reconnects: 11, Gaps: 0, Resyncs: 4, Backfilled: 0, Late: 0},
		{Exchange: "sim", Symbol: "ETHUSDT", Channel: "trades", State: engine.StatePaused},
	}
	f.flows = map[market.Symbol]engine.OrderFlow{}
	f.books = map[market.Symbol][2][]market.Level{}
	f.windows = append([]time.Duration(nil), engine.DefaultFlowWindows...)
	f.flowBars = map[string][]market.FlowBar{}
	for _, sym := range f.symbols {
		base, tick := 50000.0, 1.0
		if sym == "ETHUSDT" {
			base, tick = 3000, 0.01
		}
		for _, w := range f.windows {
			f.flowBars[flowKey(sym, w)] = genFlowBars(sym, w, 600, base)
		}
		f.setBook(sym, genLevels(base, -tick, bookBidSizes), genLevels(base+tick, tick, bookAskSizes))
	}
	for i := 0; i < 50; i++ {
		lvl := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}[i%4]
		f.logs = append(f.logs, engine.LogEntry{Time: t0.Add(time.Duration(i-50) * time.Second), Level: lvl,
			Message: fmt.Sprintf("log message %02d", i), Attrs: fmt.Sprintf("n=%d", i)})
	}
	return f
}

// genCandles makes n right-aligned candles ending at t0's minute: a seeded random walk.
func genCandles(sym market.Symbol, tf market.Timeframe, n int, base float64) []market.Candle {
	rng := rand.New(rand.NewPCG(uint64(len(sym)), uint64(tf)))
	end := tf.End(t0.UnixMilli())
	cs := make([]market.Candle, n)
	price := base
	for i := 0; i < n; i++ {
		o := price
		drift := 0.0004 * math.Sin(float64(i)/40)
		c := o * (1 + drift + 0.0025*rng.NormFloat64())
		hi := math.Max(o, c) * (1 + 0.0012*rng.Float64())
		lo := math.Min(o, c) * (1 - 0.0012*rng.Float64())
		vol := (2 + 6*rng.Float64()) * (1 + 200*math.Abs(c-o)/o)
		cs[i] = market.Candle{Exchange: "sim", Symbol: sym, Timeframe: tf, Time: end - int64(n-1-i)*tf.Millis(),
			Open: o, High: hi, Low: lo, Close: c, Volume: vol, Trades: 10}
		price = c
	}
	return cs
}

// lastClose is the header's last price of a fake series.
func (f *fakeBackend) lastClose(sym market.Symbol, tf market.Timeframe) string {
	cs := f.candles[seriesKey(sym, tf)]
	return fmtPrice(cs[len(cs)-1].Close, priceDecimals(cs[len(cs)-1].Close))
}

// genTrades makes n trades before t0 around price: a seeded random walk of ticks.
func genTrades(sym market.Symbol, n int, price float64) []market.Trade {
	rng := rand.New(rand.NewPCG(uint64(len(sym)), 7))
	ts := make([]market.Trade, n)
	tick := math.Pow(10, -float64(priceDecimals(price)))
	tm := t0.UnixMilli() - 250
	for i := n - 1; i >= 0; i-- {
		side := market.Buy
		if rng.IntN(5) < 2 {
			side = market.Sell
		}
		ts[i] = market.Trade{Exchange: "sim", Symbol: sym, ID: fmt.Sprintf("t%d", i), Time: tm,
			Price: price, Size: math.Round(rng.ExpFloat64()*2500) / 1e4, Side: side}
		tm -= int64(20 + rng.IntN(900))
		price -= float64(rng.IntN(7)-3) * tick
	}
	return ts
}

// The fake books: BTCUSDT bids 50000 ×10, 49999 ×5, 49998 ×2.5 …; asks 50001 ×3, 50002 ×2 …
var (
	bookBidSizes = []float64{10, 5, 2.5, 1.25, 4, 0.5, 3, 7, 1, 2, 6, 0.75, 8, 1.5, 2.25, 3.5, 0.25, 9, 4.5, 5.5}
	bookAskSizes = []float64{3, 2, 6, 1, 4.5, 0.5, 2.5, 7.5, 1.25, 3.5, 5, 0.75, 8, 1.5, 2.75, 4, 0.25, 6.5, 9, 2}
)

func genLevels(best, step float64, sizes []float64) []market.Level {
	ls := make([]market.Level, len(sizes))
	for i, sz := range sizes {
		ls[i] = market.Level{Price: best + float64(i)*step, Size: sz}
	}
	return ls
}

// setBook replaces a symbol's book and derives its order-flow state (depth 10, alerts at
// ±0.6, CVD of the last 1s bar); tests adjust the rest by hand. Call it without f.mu held.
func (f *fakeBackend) setBook(sym market.Symbol, bids, asks []market.Level) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.books[sym] = [2][]market.Level{bids, asks}
	fl := f.flows[sym]
	fl.Exchange, fl.Symbol, fl.Time, fl.Depth, fl.AlertThreshold = "sim", sym, t0.UnixMilli(), 10, 0.6
	fl.HasBid, fl.HasAsk = len(bids) > 0, len(asks) > 0
	fl.BestBid, fl.BestAsk, fl.Mid, fl.Spread, fl.Crossed = market.Level{}, market.Level{}, 0, 0, false
	if fl.HasBid {
		fl.BestBid = bids[0]
	}
	if fl.HasAsk {
		fl.BestAsk = asks[0]
	}
	if fl.HasBid && fl.HasAsk {
		fl.Mid = (bids[0].Price + asks[0].Price) / 2
		fl.Spread = asks[0].Price - bids[0].Price
		fl.Crossed = fl.Spread <= 0
	}
	fl.BidLevels, fl.AskLevels = len(bids), len(asks)
	fl.OBI = market.OBI(bids, asks, fl.Depth)
	if bs := f.flowBars[flowKey(sym, time.Second)]; len(bs) > 0 {
		fl.CVD = bs[len(bs)-1].CVD
	}
	f.flows[sym] = fl
}

// setFlow edits a symbol's order-flow state under the lock.
func (f *fakeBackend) setFlow(sym market.Symbol, edit func(*engine.OrderFlow)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.flows[sym]
	edit(&fl)
	f.flows[sym] = fl
}

// setBars replaces a symbol's bars of one window.
func (f *fakeBackend) setBars(sym market.Symbol, w time.Duration, bars []market.FlowBar) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flowBars[flowKey(sym, w)] = bars
}

// genFlowBars makes n bars of width w ending at t0's bar: a seeded random walk of prices, a
// CVD that wanders across zero and an OBI that swings between about -0.9 and +0.9.
func genFlowBars(sym market.Symbol, w time.Duration, n int, base float64) []market.FlowBar {
	rng := rand.New(rand.NewPCG(uint64(len(sym)), uint64(w)))
	tf := market.Timeframe(w.Milliseconds())
	end := tf.End(t0.UnixMilli())
	bs := make([]market.FlowBar, n)
	price, cvd := base, 0.0
	for i := 0; i < n; i++ {
		o := price
		c := o * (1 + 0.0008*rng.NormFloat64())
		buy, sell := 0.2+2*rng.Float64(), 0.2+2*rng.Float64()
		cvd += buy - sell
		obi := math.Max(-1, math.Min(1, 0.8*math.Sin(float64(i)/9)+0.1*rng.NormFloat64()))
		bs[i] = market.FlowBar{Time: end - int64(n-1-i)*tf.Millis(), Open: o, Close: c,
			High: math.Max(o, c) * (1 + 0.0003*rng.Float64()), Low: math.Min(o, c) * (1 - 0.0003*rng.Float64()),
			Volume: buy + sell, Trades: 12, BuyVolume: buy, SellVolume: sell, Delta: buy - sell, CVD: cvd,
			OBIOpen: obi, OBIHigh: obi, OBILow: obi, OBIClose: obi, OBISamples: 5}
		price = c
	}
	return bs
}

func (f *fakeBackend) OrderFlow(sym market.Symbol) (engine.OrderFlow, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.flows[sym]
	return fl, ok
}

func (f *fakeBackend) BookLevels(sym market.Symbol, n int) (bids, asks []market.Level) {
	f.mu.Lock()
	defer f.mu.Unlock()
	bk := f.books[sym]
	top := func(ls []market.Level) []market.Level {
		if n > 0 && len(ls) > n {
			ls = ls[:n]
		}
		return append([]market.Level(nil), ls...)
	}
	return top(bk[0]), top(bk[1])
}

func (f *fakeBackend) FlowWindows() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.windows...)
}

func (f *fakeBackend) FlowBars(sym market.Symbol, w time.Duration, n int) []market.FlowBar {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flowReq = append(f.flowReq, fmt.Sprintf("%s %s %d", sym, fmtWindow(w), n))
	bs, ok := f.flowBars[flowKey(sym, w)]
	if !ok {
		return nil
	}
	if n > 0 && len(bs) > n {
		bs = bs[len(bs)-n:]
	}
	return append([]market.FlowBar(nil), bs...)
}

func (f *fakeBackend) flowRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.flowReq...)
}

func (f *fakeBackend) Subscribe(ctx context.Context) <-chan engine.Event {
	f.mu.Lock()
	f.subCtx = ctx
	ch := f.subCh
	f.mu.Unlock()
	out := make(chan engine.Event)
	go func() { // owned by ctx, like the engine's bus
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-ch:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (f *fakeBackend) Exchange() string { return f.exchange }
func (f *fakeBackend) Symbols() []market.Symbol {
	return append([]market.Symbol(nil), f.symbols...)
}
func (f *fakeBackend) Timeframes() []market.Timeframe {
	return append([]market.Timeframe(nil), f.tfs...)
}

func (f *fakeBackend) Candles(_ context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.candleReq = append(f.candleReq, fmt.Sprintf("%s %s %d", sym, tf, limit))
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	cs := f.candles[seriesKey(sym, tf)]
	if len(cs) > limit {
		cs = cs[len(cs)-limit:]
	}
	return append([]market.Candle(nil), cs...), nil
}

func (f *fakeBackend) RecentTrades(sym market.Symbol, n int) []market.Trade {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.trades[sym]
	if len(ts) > n {
		ts = ts[len(ts)-n:]
	}
	return append([]market.Trade(nil), ts...)
}

func (f *fakeBackend) Health() []engine.StreamHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.StreamHealth(nil), f.health...)
}

func (f *fakeBackend) Logs(n int) []engine.LogEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls := f.logs
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return append([]engine.LogEntry(nil), ls...)
}

func (f *fakeBackend) Pausable() bool { return f.pausable }
func (f *fakeBackend) SetPaused(p bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setPaused = append(f.setPaused, p)
	f.paused = p
}
func (f *fakeBackend) Paused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused
}
func (f *fakeBackend) FeedEnded() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}
func (f *fakeBackend) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeBackend) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.candleReq...)
}

// ---- driving the model ----

// renderer returns a renderer with a fixed colour profile, independent of the environment.
func renderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	return r
}

// harness drives a Model synchronously: commands run inline and their messages are fed back.
type harness struct {
	t    *testing.T
	m    *Model
	b    *fakeBackend
	wall time.Time
	quit bool
}

func newHarness(t testing.TB, b *fakeBackend, p termenv.Profile, w, h int) *harness {
	m := New(b, Options{Version: "v0.1.0", Renderer: renderer(p)})
	m.noTicks = true
	hs := &harness{m: m, b: b, wall: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if tt, ok := t.(*testing.T); ok {
		hs.t = tt
	}
	m.now = func() time.Time { return hs.wall }
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	hs.run(m.Init())
	return hs
}

// send delivers msg and runs the resulting command.
func (h *harness) send(msg tea.Msg) {
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// run executes cmd synchronously, batches included, and feeds the messages back.
func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	default:
		h.send(msg)
	}
}

// cmdOf returns the command Update produces for msg without running it.
func (h *harness) cmdOf(msg tea.Msg) tea.Cmd {
	_, cmd := h.m.Update(msg)
	return cmd
}

func (h *harness) key(s string) {
	h.send(keyMsg(s))
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// frame advances the wall clock by dt and delivers a frame tick.
func (h *harness) frame(dt time.Duration) {
	h.wall = h.wall.Add(dt)
	h.send(frameMsg(h.wall))
}

func (h *harness) events(evs ...engine.Event) { h.send(EventsMsg(evs)) }

// screen is the frame without escape sequences.
func (h *harness) screen() string { return ansi.Strip(h.m.View()) }

func (h *harness) mustContain(subs ...string) {
	h.t.Helper()
	s := h.screen()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			h.t.Fatalf("screen does not contain %q:\n%s", sub, s)
		}
	}
}

func (h *harness) mustNotContain(subs ...string) {
	h.t.Helper()
	s := h.screen()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			h.t.Fatalf("screen contains %q:\n%s", sub, s)
		}
	}
}

func (h *harness) market() *marketPane       { return h.m.tabs[0].(*marketPane) }
func (h *harness) orderFlow() *orderFlowPane { return h.m.tabs[1].(*orderFlowPane) }
