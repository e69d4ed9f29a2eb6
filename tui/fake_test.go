package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/govalues/decimal"
	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
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
	frames    *engine.FrameLatency // FrameLatency's answer; nil: none
	degraded  map[market.Symbol][]engine.Degraded
	healthN   int // Health calls
	degradedN int // Degraded calls
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

	// Jobs: the fake runner's list (newest first) and what the console asked of it.
	jobsOff     bool // JobsEnabled reports false
	jobs        []engine.JobView
	nextJobID   int64
	submits     []fakeSubmit
	submitErr   error
	cancels     []int64
	cancelErr   error
	listCalls   int
	details     map[int64]engine.JobDetail
	detailErr   error
	detailCalls []int64
	reportErr   error
	reportCalls []int64

	// Bots: the fake's bots (by name) and what the console asked of it.
	botsOff        bool // BotsEnabled reports false
	bots           []engine.BotView
	nextBotID      int64
	botCalls       []string // "start 1", "pause 2", "stop 1", "delete 4", in order
	creates        []engine.BotSpec
	updates        []fakeBotUpdate
	botErr         error // StartBot, PauseBot, StopBot and DeleteBot fail with it
	createErr      error
	updateErr      error
	listBotsCalls  int
	botDetails     map[int64]engine.BotDetail
	botDetailCalls []int64
	portfolio      engine.Portfolio
	portfolioErr   error
	portfolioCalls int
	previewCalls   int
	panics         int
	panicErr       error
	panicReport    *engine.PanicReport // nil: what Panic did to the fake's bots
}

// fakeBotUpdate is one UpdateBot call.
type fakeBotUpdate struct {
	ID   int64
	Spec engine.BotSpec
}

// fakeSubmit is one SubmitJob call.
type fakeSubmit struct {
	Type    string
	Payload any
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
	f.seedJobs()
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
	f.healthN++
	return append([]engine.StreamHealth(nil), f.health...)
}

func (f *fakeBackend) FrameLatency() (engine.FrameLatency, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frames == nil {
		return engine.FrameLatency{}, false
	}
	return *f.frames, true
}

func (f *fakeBackend) Degraded(sym market.Symbol) []engine.Degraded {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.degradedN++
	return append([]engine.Degraded(nil), f.degraded[sym]...)
}

// setHealth replaces the streams' health.
func (f *fakeBackend) setHealth(hs ...engine.StreamHealth) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health = append([]engine.StreamHealth(nil), hs...)
}

// editHealth changes the health of the stream of sym and channel (it must exist).
func (f *fakeBackend) editHealth(sym market.Symbol, channel string, edit func(*engine.StreamHealth)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.health {
		if f.health[i].Symbol == sym && f.health[i].Channel == channel {
			edit(&f.health[i])
			return
		}
	}
	panic(fmt.Sprintf("fake: no %s %s stream", sym, channel))
}

// setDegraded replaces sym's degraded spans.
func (f *fakeBackend) setDegraded(sym market.Symbol, spans ...engine.Degraded) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degraded == nil {
		f.degraded = map[market.Symbol][]engine.Degraded{}
	}
	f.degraded[sym] = append([]engine.Degraded(nil), spans...)
}

// healthReads is how many times the console read the health and the degraded spans.
func (f *fakeBackend) healthReads() (health, degraded int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthN, f.degradedN
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

// wall0 is the harness's wall clock at its start.
var wall0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newHarness(t testing.TB, b *fakeBackend, p termenv.Profile, w, h int) *harness {
	m := New(b, Options{Version: "v0.1.0", Renderer: renderer(p)})
	m.noTicks = true
	hs := &harness{m: m, b: b, wall: wall0}
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
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+s":
		return tea.KeyMsg{Type: tea.KeyCtrlS}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
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

// ---- jobs ----

// The fake's jobs, newest first: a pending backtest (5), a completed sweep (4), a cancelled
// backtest (3), a failed sweep (2) and a completed backtest (1). Tests add running jobs.
func (f *fakeBackend) seedJobs() {
	pl := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}
	bt := engine.BacktestJob{Strategy: "sma_cross", Params: map[string]string{"fast": "5"}, Exchange: "sim", Symbol: "BTCUSDT",
		Timeframe: "1m", From: time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC).UnixMilli()}
	sw := engine.SweepJob{BacktestJob: bt, Sweep: []string{"fast=5:15:5", "slow=20:40:10"}, RankBy: "sharpe"}
	f.jobs = []engine.JobView{
		{ID: 5, Type: engine.JobTypeBacktest, Status: engine.JobPending, Summary: "waiting for a worker", Payload: pl(bt)},
		{ID: 4, Type: engine.JobTypeSweep, Status: engine.JobCompleted, Elapsed: 83 * time.Second, Payload: pl(sw),
			Summary: "best fast=10 slow=30 · return +9.87% · sharpe 1.52 · max DD 3.10% · 8 trades · 9 of 9 combinations ran"},
		{ID: 3, Type: engine.JobTypeBacktest, Status: engine.JobCancelled, Progress: 0.3, Elapsed: 4 * time.Second, Summary: "cancelled", Payload: pl(bt)},
		{ID: 2, Type: engine.JobTypeSweep, Status: engine.JobFailed, Elapsed: 1500 * time.Millisecond, Payload: pl(sw),
			Error:   "sweep: no stored 1m candles of sim BTCUSDT from 2025-10-22T00:00Z to the last\nsecond line",
			Summary: "sweep: no stored 1m candles of sim BTCUSDT from 2025-10-22T00:00Z to the last"},
		{ID: 1, Type: engine.JobTypeBacktest, Status: engine.JobCompleted, Elapsed: 2500 * time.Millisecond, Payload: pl(bt),
			Summary: "return +12.35% · sharpe 1.87 · max DD 6.09% · 12 trades"},
	}
	f.nextJobID = 5
	f.details = map[int64]engine.JobDetail{1: fakeDetail(f.jobs[4], nil), 4: fakeDetail(f.jobs[1], fakeSweepResult())}
}

// fakeMetrics are the canned metrics of the fake's completed jobs.
var fakeMetrics = engine.Metrics{
	StartEquity: 10000, FinalEquity: 11234.5, TotalReturn: 0.12345, CAGR: 3.1416, Sharpe: 1.87, Sortino: 2.5, Calmar: 20.1,
	MaxDrawdown: 0.0609, MaxDrawdownDuration: (3*24 + 4) * 3600 * 1000, ProfitFactor: 2.25, Expectancy: 102.88,
	WinRate: 0.75, Trades: 12, AvgWin: 0.0234, AvgLoss: -0.0111, BestTrade: 0.0456, WorstTrade: -0.0222,
	AvgHoldingMinutes: 135, Exposure: 0.42, Fees: 24.5, BuyAndHoldReturn: 0.0812,
}

// fakeEquity is the canned equity curve: 10000 rising to 11500 at point 100, falling to
// 10800 at 140 (a 6.09% drawdown), ending at 11234.5 at 199; one point an hour.
func fakeEquity() engine.EquityCurve {
	var eq engine.EquityCurve
	start := time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; i < 200; i++ {
		var v float64
		switch {
		case i <= 100:
			v = 10000 + 15*float64(i)
		case i <= 140:
			v = 11500 - 17.5*float64(i-100)
		default:
			v = 10800 + (11234.5-10800)*float64(i-140)/59
		}
		eq.Times = append(eq.Times, start+int64(i)*3600*1000)
		eq.Values = append(eq.Values, v)
	}
	return eq
}

// fakeTrades are the canned trades: a long win, a short loss, a long win.
func fakeTrades() []engine.Trade {
	d := decimal.MustParse
	start := time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC).UnixMilli()
	h := int64(3600 * 1000)
	return []engine.Trade{
		{Side: "long", EntryTime: start + 2*h, EntryPrice: d("50000"), ExitTime: start + 30*h, ExitPrice: d("51000"),
			Quantity: d("0.2"), PnL: d("179.80"), PnLPct: d("0.0180"), Fees: d("20.20"), ExitReason: "signal"},
		{Side: "short", EntryTime: start + 40*h, EntryPrice: d("51500"), ExitTime: start + 45*h, ExitPrice: d("52000"),
			Quantity: d("0.2"), PnL: d("-120.70"), PnLPct: d("-0.0117"), Fees: d("20.70"), ExitReason: "stop_loss"},
		{Side: "long", EntryTime: start + 100*h, EntryPrice: d("49000"), ExitTime: start + 199*h, ExitPrice: d("50500"),
			Quantity: d("0.21"), PnL: d("295.05"), PnLPct: d("0.0287"), Fees: d("20.85"), ExitReason: "end_of_data"},
	}
}

func fakeSweepResult() *engine.SweepJobResult {
	r := &engine.SweepJobResult{RunID: 7, RankedBy: "sharpe", Candles: 43200, Combos: 9, Ran: 9}
	for i, p := range [][2]float64{{10, 30}, {5, 30}, {15, 40}} {
		m := fakeMetrics
		m.Sharpe -= float64(i) * 0.5
		m.TotalReturn -= float64(i) * 0.03
		r.Ranking = append(r.Ranking, engine.SweepRankRow{Rank: i + 1, Params: map[string]float64{"fast": p[0], "slow": p[1]}, Metrics: m})
	}
	return r
}

// fakeDetail is the canned result of a completed job.
func fakeDetail(v engine.JobView, sweep *engine.SweepJobResult) engine.JobDetail {
	return engine.JobDetail{
		Job:   v,
		Title: "sma_cross allow_short=0 fast=5 slow=30 · sim BTCUSDT 1m · 2025-10-22 00:00 → 2025-10-30 07:00",
		Backtest: &engine.BacktestResult{Metrics: fakeMetrics, Trades: fakeTrades(), Equity: fakeEquity(),
			Candles: 200, Timeframe: market.TF1m},
		Sweep: sweep,
	}
}

func (f *fakeBackend) JobsEnabled() bool { return !f.jobsOff }

func (f *fakeBackend) SubmitJob(_ context.Context, jobType string, payload any) (engine.JobView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits = append(f.submits, fakeSubmit{Type: jobType, Payload: payload})
	if f.submitErr != nil {
		return engine.JobView{}, f.submitErr
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return engine.JobView{}, err
	}
	f.nextJobID++
	v := engine.JobView{ID: f.nextJobID, Type: jobType, Status: engine.JobPending, Summary: "waiting for a worker", Payload: data}
	f.jobs = append([]engine.JobView{v}, f.jobs...)
	return v, nil
}

func (f *fakeBackend) CancelJob(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, id)
	if f.cancelErr != nil {
		return f.cancelErr
	}
	for i := range f.jobs {
		if f.jobs[i].ID == id {
			f.jobs[i].Status, f.jobs[i].Summary, f.jobs[i].HasETA = engine.JobCancelled, "cancelled", false
			return nil
		}
	}
	return fmt.Errorf("jobs: cancel: job %d: not found", id)
}

func (f *fakeBackend) ListJobs(_ context.Context, n int) ([]engine.JobView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	js := f.jobs
	if n > 0 && len(js) > n {
		js = js[:n]
	}
	return append([]engine.JobView(nil), js...), nil
}

func (f *fakeBackend) JobDetail(_ context.Context, id int64) (engine.JobDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.detailCalls = append(f.detailCalls, id)
	if f.detailErr != nil {
		return engine.JobDetail{}, f.detailErr
	}
	d, ok := f.details[id]
	if !ok {
		return engine.JobDetail{}, fmt.Errorf("job %d has not completed", id)
	}
	return d, nil
}

func (f *fakeBackend) WriteJobReport(_ context.Context, id int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reportCalls = append(f.reportCalls, id)
	if f.reportErr != nil {
		return "", f.reportErr
	}
	return fmt.Sprintf("/srv/tradeconsole/reports/job-%d-sma_cross.html", id), nil
}

func (f *fakeBackend) Strategies() []strategies.Strategy { return engine.Strategies() }

// jobEvent edits a stored job (as the runner would) and returns the event announcing it.
func (f *fakeBackend) jobEvent(id int64, edit func(*engine.JobView)) engine.JobEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.jobs {
		if f.jobs[i].ID == id {
			edit(&f.jobs[i])
			return engine.JobEvent{Job: f.jobs[i]}
		}
	}
	v := engine.JobView{ID: id}
	edit(&v)
	f.jobs = append([]engine.JobView{v}, f.jobs...)
	if id > f.nextJobID {
		f.nextJobID = id
	}
	return engine.JobEvent{Job: v}
}

func (f *fakeBackend) submitted() []fakeSubmit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSubmit(nil), f.submits...)
}

func (h *harness) bots() *botsPane           { return h.m.tabs[2].(*botsPane) }
func (h *harness) positions() *positionsPane { return h.m.tabs[3].(*positionsPane) }
func (h *harness) jobs() *jobsPane           { return h.m.tabs[4].(*jobsPane) }

// ---- bots ----

// alphaPosition is the open position of the fake's running bot.
func alphaPosition() *engine.PositionView {
	return &engine.PositionView{BotID: 1, Bot: "alpha", Exchange: "sim", Symbol: "BTCUSDT", Side: "long", Quantity: 0.1994,
		EntryPrice: 50123.4, EntryTime: t0.Add(-40 * time.Minute), Mark: 50300, Unrealized: 25.18, TakeProfit: 51125.87}
}

// seedBots gives the fake four bots, by name: alpha running (3h05m up on the engine clock, a
// heartbeat 2 s before the harness's start, one restart, a long position), beta paused, delta
// stopped, gamma failed. Their detail, the portfolio and the panic preview go with them.
func (f *fakeBackend) seedBots() {
	f.mu.Lock()
	defer f.mu.Unlock()
	spec := func(name, strat, sym, tf string, params engine.ParamText) engine.BotSpec {
		return engine.BotSpec{Name: name, Strategy: strat, Params: params, Exchange: "sim", Symbol: sym, Timeframe: tf,
			JobBroker: engine.JobBroker{Balance: "10000", Fee: "0.001"}}
	}
	f.bots = []engine.BotView{
		{ID: 1, Spec: spec("alpha", "sma_cross", "BTCUSDT", "1m", engine.ParamText{"fast": "5"}), Source: "console",
			Status: engine.BotRunning, Worker: engine.WorkerRunning, Restarts: 1,
			StartedAt: t0.Add(-(3*time.Hour + 5*time.Minute)), Heartbeat: wall0.Add(-2 * time.Second),
			Balance: 10000, Equity: 10234.56, PnL: 234.56, Realized: 260.1, Fees: 24.5, Cash: 233.1, Position: alphaPosition(),
			Trades: 12, Wins: 7},
		{ID: 2, Spec: spec("beta", "ema_cross", "ETHUSDT", "5m", nil), Source: "config", Status: engine.BotPaused,
			Worker: engine.WorkerRunning, StartedAt: t0.Add(-20 * time.Minute), Heartbeat: wall0.Add(-1 * time.Second),
			Balance: 5000, Equity: 4950.25, PnL: -49.75, Fees: 3.2, Cash: 4950.25},
		{ID: 3, Spec: spec("delta", "sma_cross", "ETHUSDT", "1m", nil), Source: "file", Status: engine.BotStopped,
			Reason: "stopped from the console", Balance: 10000, Equity: 10000, Cash: 10000},
		{ID: 4, Spec: spec("gamma", "rsi", "BTCUSDT", "1h", engine.ParamText{"period": "10"}), Source: "console",
			Status: engine.BotFailed, Reason: "panic: index out of range [3] with length 3", Restarts: 3,
			Heartbeat: wall0.Add(-5 * time.Minute), Balance: 10000, Equity: 9943.22, PnL: -56.78, Cash: 9943.22},
	}
	f.nextBotID = 4

	// alpha's detail: its last 120 candles, two SMA lines, signals and fills.
	cs := f.candles[seriesKey("BTCUSDT", market.TF1m)]
	cs = append([]market.Candle(nil), cs[len(cs)-120:]...)
	sma := func(n int) []float64 {
		out := make([]float64, len(cs))
		for i := range cs {
			if i+1 < n {
				out[i] = math.NaN()
				continue
			}
			sum := 0.0
			for _, k := range cs[i+1-n : i+1] {
				sum += k.Close
			}
			out[i] = sum / float64(n)
		}
		return out
	}
	at := func(i int) time.Time { return msTime(cs[i].Start()) }
	det := engine.BotDetail{
		Bot: f.bots[0], Candles: cs, Plots: []string{"sma(5)", "sma(30)"}, PlotValues: [][]float64{sma(5), sma(30)},
		Signals: []engine.BotSignalView{
			{Time: at(110), Action: "enter_long", Direction: "long", Confidence: "high", Value: 1.5},
			{Time: at(90), Action: "exit", Direction: "flat", Confidence: "medium"},
			{Time: at(70), Action: "enter_long", Direction: "long", Confidence: "low", Note: "paused: entry skipped"},
		},
		Fills: []engine.BotFillView{
			{Seq: 3, Time: at(111), Side: "buy", Price: 50123.4, Quantity: 0.1994, Fee: 9.99, Entry: true, Reason: "signal"},
			{Seq: 2, Time: at(91), Side: "sell", Price: 50480.5, Quantity: 0.198, Fee: 10.0, Reason: "take_profit", PnL: 51.23},
			{Seq: 1, Time: at(60), Side: "buy", Price: 50150.0, Quantity: 0.198, Fee: 9.93, Entry: true, Reason: "signal"},
		},
	}
	f.botDetails = map[int64]engine.BotDetail{1: det}

	// The book: alpha's position, 12 closed trades (7 won), equity curves.
	f.portfolio = engine.Portfolio{Positions: []engine.PositionView{*alphaPosition()}, Realized: 203.32, Unrealized: 25.18,
		Fees: 27.7, Wins: 7, Losses: 5, PerBot: map[string][]engine.EquityPoint{}}
	for i := 0; i < 12; i++ {
		var pnl float64
		if i < 7 {
			pnl = 30 + float64(i)
		} else {
			pnl = -20 - float64(i)
		}
		name := []string{"alpha", "beta", "gamma"}[i%3]
		f.portfolio.Closed = append(f.portfolio.Closed, engine.ClosedTradeView{Bot: name, Symbol: "BTCUSDT", Side: "long",
			EntryTime: t0.Add(-time.Duration(13-i) * time.Hour), EntryPrice: 50000 + float64(i)*10,
			ExitTime: t0.Add(-time.Duration(12-i) * time.Hour), ExitPrice: 50100 + float64(i)*10, Quantity: 0.2, PnL: pnl,
			Fees: 2, Reason: []string{"signal", "take_profit", "stop_loss"}[i%3]})
	}
	// Newest first, like the engine's.
	for i, j := 0, len(f.portfolio.Closed)-1; i < j; i, j = i+1, j-1 {
		f.portfolio.Closed[i], f.portfolio.Closed[j] = f.portfolio.Closed[j], f.portfolio.Closed[i]
	}
	curve := func(start, step float64) []engine.EquityPoint {
		var pts []engine.EquityPoint
		for i := 0; i < 100; i++ {
			pts = append(pts, engine.EquityPoint{Time: t0.Add(-time.Duration(100-i) * 10 * time.Minute),
				Equity: start + step*float64(i) + 20*math.Sin(float64(i)/7)})
		}
		return pts
	}
	f.portfolio.PerBot["alpha"] = curve(10000, 2.3)
	f.portfolio.PerBot["beta"] = curve(5000, -0.5)
	f.portfolio.PerBot["gamma"] = curve(10000, -0.6)
	f.portfolio.Equity = curve(25000, 1.2)
}

func (f *fakeBackend) BotsEnabled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.botsOff
}

func (f *fakeBackend) ListBots(context.Context) ([]engine.BotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listBotsCalls++
	return append([]engine.BotView(nil), f.bots...), nil
}

func (f *fakeBackend) botIndex(id int64) int {
	for i, v := range f.bots {
		if v.ID == id {
			return i
		}
	}
	return -1
}

func (f *fakeBackend) CreateBot(_ context.Context, spec engine.BotSpec) (engine.BotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, spec)
	if f.createErr != nil {
		return engine.BotView{}, f.createErr
	}
	f.nextBotID++
	v := engine.BotView{ID: f.nextBotID, Spec: spec, Source: "console", Status: engine.BotStopped, Balance: 10000, Equity: 10000, Cash: 10000}
	f.bots = append(f.bots, v)
	slices.SortFunc(f.bots, func(a, b engine.BotView) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return v, nil
}

func (f *fakeBackend) UpdateBot(_ context.Context, id int64, spec engine.BotSpec) (engine.BotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, fakeBotUpdate{ID: id, Spec: spec})
	if f.updateErr != nil {
		return engine.BotView{}, f.updateErr
	}
	i := f.botIndex(id)
	if i < 0 {
		return engine.BotView{}, fmt.Errorf("bots: update %d: no such bot", id)
	}
	f.bots[i].Spec = spec
	return f.bots[i], nil
}

// control records a control call and applies edit to the bot.
func (f *fakeBackend) control(verb string, id int64, edit func(*engine.BotView)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.botCalls = append(f.botCalls, fmt.Sprintf("%s %d", verb, id))
	if f.botErr != nil {
		return f.botErr
	}
	i := f.botIndex(id)
	if i < 0 {
		return fmt.Errorf("bots: %s %d: no such bot", verb, id)
	}
	if edit == nil {
		f.bots = slices.Delete(f.bots, i, i+1)
		return nil
	}
	edit(&f.bots[i])
	return nil
}

func (f *fakeBackend) DeleteBot(_ context.Context, id int64) error {
	return f.control("delete", id, nil)
}

func (f *fakeBackend) StartBot(_ context.Context, id int64) error {
	return f.control("start", id, func(v *engine.BotView) {
		if v.Status != engine.BotPaused {
			v.StartedAt = f.now
		}
		v.Status, v.Worker, v.Reason = engine.BotRunning, engine.WorkerRunning, ""
	})
}

func (f *fakeBackend) PauseBot(_ context.Context, id int64) error {
	return f.control("pause", id, func(v *engine.BotView) { v.Status = engine.BotPaused })
}

func (f *fakeBackend) StopBot(_ context.Context, id int64) error {
	return f.control("stop", id, func(v *engine.BotView) {
		v.Status, v.Worker, v.StartedAt, v.Position, v.Reason = engine.BotStopped, "", time.Time{}, nil, "stopped from the console"
	})
}

// calls returns the control calls so far.
func (f *fakeBackend) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.botCalls...)
}

func (f *fakeBackend) BotDetail(_ context.Context, id int64) (engine.BotDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.botDetailCalls = append(f.botDetailCalls, id)
	if d, ok := f.botDetails[id]; ok {
		return d, nil
	}
	if i := f.botIndex(id); i >= 0 {
		return engine.BotDetail{Bot: f.bots[i]}, nil
	}
	return engine.BotDetail{}, fmt.Errorf("bots: detail %d: no such bot", id)
}

func (f *fakeBackend) Portfolio(context.Context) (engine.Portfolio, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.portfolioCalls++
	if f.portfolioErr != nil {
		return engine.Portfolio{}, f.portfolioErr
	}
	return f.portfolio, nil
}

func (f *fakeBackend) PanicPreview(context.Context) (engine.PanicPreview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previewCalls++
	var pv engine.PanicPreview
	for _, v := range f.bots {
		if v.Running() {
			pv.Bots = append(pv.Bots, v)
		}
		if v.Position != nil {
			pv.Positions = append(pv.Positions, *v.Position)
		}
	}
	return pv, nil
}

func (f *fakeBackend) Panic(context.Context) (engine.PanicReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panics++
	if f.panicErr != nil {
		return engine.PanicReport{}, f.panicErr
	}
	var r engine.PanicReport
	for i := range f.bots {
		v := &f.bots[i]
		if v.Position != nil {
			r.Flattened++
			v.Position = nil
		}
		if v.Running() {
			r.Stopped++
			v.Status, v.Worker, v.StartedAt, v.Reason = engine.BotStopped, "", time.Time{}, "panic key"
		}
	}
	if f.panicReport != nil {
		return *f.panicReport, nil
	}
	return r, nil
}

// botEvent edits a stored bot (as the engine would) and returns the event announcing it.
func (f *fakeBackend) botEvent(id int64, edit func(*engine.BotView)) engine.BotEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.botIndex(id)
	if edit != nil {
		edit(&f.bots[i])
	}
	return engine.BotEvent{Bot: f.bots[i]}
}
