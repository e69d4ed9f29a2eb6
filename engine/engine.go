// Package engine is the running system: it owns the feed, the per-symbol collector pipeline
// (trades → candle aggregator → storage + bus), the clock that closes candles, stream health and
// the engine log. It never imports the UI; the UI reads it through methods and the event bus.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// Feed is a source of market data (feeds/sim, later the venue adapters).
type Feed interface {
	Name() string
	Symbols() []market.Symbol
	// Run delivers normalised events to sink until ctx is done; it returns nil then.
	Run(ctx context.Context, sink market.Sink) error
	// Now is the feed's clock in unix ms (a simulated clock for the sim).
	Now() int64
}

// Pauser is implemented by feeds that can be paused (the simulated exchange).
type Pauser interface {
	SetPaused(bool)
	Paused() bool
}

// HistorySource is implemented by feeds that can supply 1m candles for a past interval:
// candles with stamps in (from, to].
type HistorySource interface {
	History(sym market.Symbol, from, to int64) ([]market.Candle, error)
}

// Store is what the engine needs of storage (implemented by *storage.DB). Writes enqueue and
// never block; Flush waits until everything enqueued before it is committed.
type Store interface {
	UpsertCandles(cs ...market.Candle)
	InsertTrades(ts ...market.Trade)
	Flush(ctx context.Context) error
	LastCandles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, n int) ([]market.Candle, error)
	LastCandleTime(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe) (int64, bool, error)
	Candles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) ([]market.Candle, error)
}

// Options configure an Engine. Zero values take the defaults noted.
type Options struct {
	Timeframes   []market.Timeframe // default 1m
	Grace        time.Duration      // how long past a candle's end the clock waits; default 2s
	HistoryDays  int                // history to backfill when the store has none; 0 = none
	TickInterval time.Duration      // how often the clock closes candles; default 100ms
	// OpenEvery is the least time between two publications of a symbol's open candles: the
	// trades between are folded into the next one (or the clock's next tick). Default 100ms;
	// negative: every trade.
	OpenEvery time.Duration
	Logger    *slog.Logger // where logs go besides the in-memory ring; default discard
	LogRing   int          // log entries kept for the UI; default 2000
	TradeRing int          // trades kept per symbol for the UI; default 500
	BusBuffer int          // events buffered per subscriber; default 4096
	// WallClock is used for health timestamps (message ages); default time.Now.
	WallClock func() time.Time
	// NoResume skips backfill: the feed replays recorded data, so the stored candles of an
	// earlier run of the same recording must not be merged into the candles it rebuilds.
	NoResume bool
	// OrderFlow configures books, OBI, CVD, alerts and recording.
	OrderFlow OrderFlowOptions
	// KlineLag (venue mode) is how long past a minute's end its kline may take before it is
	// fetched over REST; default 15s.
	KlineLag time.Duration
}

func (o *Options) defaults() {
	if len(o.Timeframes) == 0 {
		o.Timeframes = []market.Timeframe{market.TF1m}
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Second
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 100 * time.Millisecond
	}
	if o.OpenEvery == 0 {
		o.OpenEvery = 100 * time.Millisecond
	}
	if o.LogRing <= 0 {
		o.LogRing = 2000
	}
	if o.TradeRing <= 0 {
		o.TradeRing = 500
	}
	if o.BusBuffer <= 0 {
		o.BusBuffer = 4096
	}
	if o.WallClock == nil {
		o.WallClock = time.Now
	}
	if o.KlineLag <= 0 {
		o.KlineLag = 15 * time.Second
	}
	o.OrderFlow.defaults()
}

// Engine runs one feed into storage and onto the bus.
type Engine struct {
	opt   Options
	feed  Feed
	store Store
	log   *slog.Logger
	bus   *Bus[Event]
	logs  *logRing

	syms    []market.Symbol
	symbols map[market.Symbol]*symbolState

	mu        sync.Mutex // guards started/stopped/cancel
	started   bool
	stopped   bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	jobs      *Jobs  // set by AttachJobs
	reportDir string // where WriteJobReport writes
	bots      *Bots  // set by AttachBots
	botsRun   bool   // this process runs the bots (else it only lists them)

	feedErr  atomic.Value  // error from Feed.Run, if any
	feedDone chan struct{} // closed when Feed.Run has returned

	venue   bool              // the feed sends klines: venue mode (venue.go)
	fillReq chan *symbolState // venue mode: clock-triggered kline fills
}

// New makes an engine; nothing runs until Start.
func New(feed Feed, store Store, opt Options) *Engine {
	opt.defaults()
	e := &Engine{opt: opt, feed: feed, store: store, bus: NewBus[Event](opt.BusBuffer), feedDone: make(chan struct{})}
	e.logs = newLogRing(opt.LogRing, e.bus)
	base := opt.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	e.log = slog.New(&teeHandler{next: base.Handler(), ring: e.logs})
	e.syms = append([]market.Symbol(nil), feed.Symbols()...)
	e.symbols = make(map[market.Symbol]*symbolState, len(e.syms))
	if vf, ok := feed.(VenueFeed); ok && vf.VenueCandles() {
		e.venue = true
		e.fillReq = make(chan *symbolState, len(e.syms))
	}
	for _, s := range e.syms {
		e.symbols[s] = newSymbolState(feed.Name(), s, opt, e.venue)
	}
	return e
}

// Logger is the engine's logger: records go to the configured logger, the log ring and the bus.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Start backfills history (so charts and backtests have data at once), then starts the feed and
// the candle clock. It returns once they run; Stop ends them.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("engine: already started")
	}
	e.started = true
	e.mu.Unlock()

	if !e.opt.NoResume {
		if err := e.backfill(ctx); err != nil {
			return err
		}
	}
	if e.botsRun {
		// Restored bots warm up on the stored candles and queue every candle the feed closes
		// from now on.
		if err := e.bots.Start(ctx); err != nil {
			return err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()
	for _, st := range e.symbols {
		st.setState(StateConnecting)
	}
	if e.venue {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.klineWatch(runCtx)
		}()
	}
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		err := e.feed.Run(runCtx, e)
		defer close(e.feedDone)
		switch {
		case err != nil && runCtx.Err() == nil:
			e.feedErr.Store(err)
			e.log.Error("feed stopped", "exchange", e.feed.Name(), "err", err)
		case runCtx.Err() == nil:
			e.log.Info("feed ended: no more data", "exchange", e.feed.Name())
		}
		for _, st := range e.symbols {
			st.setState(StateStopped)
		}
	}()
	go func() {
		defer e.wg.Done()
		e.clock(runCtx)
	}()
	e.log.Info("engine started", "exchange", e.feed.Name(), "symbols", fmt.Sprint(e.syms), "timeframes", fmt.Sprint(e.opt.Timeframes))
	return nil
}

// Stop stops the feed and the clock, then flushes storage: every trade and closed candle handed
// to the store before Stop returns is committed (open candles are not stored; their trades are).
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	var feedErr error
	select {
	case <-done:
	case <-ctx.Done():
		feedErr = fmt.Errorf("engine: stop: feed did not stop: %w", ctx.Err())
	}
	var botErr error
	if e.botsRun {
		// Bots after the feed and the clock: every candle they closed reaches the bots (each
		// drains its queue and commits its last step); a running bot stays running in the
		// database and comes back at the next start.
		if botErr = e.bots.Stop(ctx); botErr != nil {
			e.log.Error("stopping bots", "err", botErr)
		}
	}
	if feedErr != nil {
		return errors.Join(feedErr, botErr)
	}
	err := e.store.Flush(ctx)
	if err != nil {
		err = fmt.Errorf("engine: stop: flush storage: %w", err)
		e.log.Error("flush on stop failed", "err", err)
	}
	if r := e.opt.OrderFlow.Recorder; r != nil {
		if rerr := r.Flush(ctx); rerr != nil {
			rerr = fmt.Errorf("engine: stop: flush order-flow recorder: %w", rerr)
			e.log.Error("flush on stop failed", "err", rerr)
			err = errors.Join(err, rerr)
		}
	}
	if err == nil {
		e.log.Info("engine stopped, storage flushed")
	}
	e.bus.Close()
	return errors.Join(botErr, err)
}

// FeedDone is closed once the feed has stopped: at the end of a replay, after a feed error, or
// on Stop.
func (e *Engine) FeedDone() <-chan struct{} { return e.feedDone }

// FeedEnded reports whether the feed stopped on its own (a replay that reached its end, or a
// feed error) rather than being stopped.
func (e *Engine) FeedEnded() bool {
	select {
	case <-e.feedDone:
		e.mu.Lock()
		defer e.mu.Unlock()
		return !e.stopped
	default:
		return false
	}
}

// Err is the error the feed stopped with, if it stopped on its own.
func (e *Engine) Err() error {
	if v, ok := e.feedErr.Load().(error); ok {
		return v
	}
	return nil
}

// clock closes candles as the feed's clock passes their end plus grace, and refreshes rates.
func (e *Engine) clock(ctx context.Context) {
	t := time.NewTicker(e.opt.TickInterval)
	defer t.Stop()
	var buf []market.Candle
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			buf = e.Tick(e.feed.Now(), buf[:0])
		}
	}
}

// Tick advances every symbol's aggregator to now (feed clock, unix ms), storing and publishing
// the candles that closes. It is what the clock goroutine calls; tests call it directly.
func (e *Engine) Tick(now int64, buf []market.Candle) []market.Candle {
	wall := e.opt.WallClock()
	for _, sym := range e.syms {
		st := e.symbols[sym]
		st.mu.Lock()
		start := len(buf)
		buf = st.agg.Tick(now, buf)
		closed := buf[start:]
		st.rememberTradeBuilt(closed)
		var opens []market.Candle
		if st.openDue { // trades folded since the last publication: their state goes out now
			opens = st.opens(nil, wall, true, 0)
		}
		st.mu.Unlock()
		st.trades.tickRate(wall)
		st.book.tickRate(wall)
		st.candles.tickRate(wall)
		st.flow.tick(now)
		e.emitClosed(e.splitProvisional(st, closed))
		for _, c := range opens {
			e.bus.Publish(CandleEvent{Candle: c})
		}
		e.checkKlines(st, now)
	}
	return buf
}

func (e *Engine) emitClosed(closed []market.Candle) {
	if len(closed) == 0 {
		return
	}
	e.store.UpsertCandles(closed...)
	for _, c := range closed {
		if e.botsRun {
			e.bots.OnClosedCandle(c)
		}
		e.bus.Publish(CandleEvent{Candle: c, Closed: true})
	}
}

// OnTrade is the collector's entry for trades (market.Sink).
func (e *Engine) OnTrade(tr market.Trade) {
	st, ok := e.symbols[tr.Symbol]
	if !ok {
		return
	}
	wall := e.opt.WallClock()
	st.trades.seen(wall)
	st.mu.Lock()
	closed, late := st.agg.Add(tr, st.scratch[:0])
	st.scratch = closed[:0]
	st.rememberTradeBuilt(closed)
	st.tape.Push(tr)
	opens := st.opens(st.openBuf[:0], wall, len(closed) > 0, e.opt.OpenEvery)
	if opens != nil {
		st.openBuf = opens[:0] // OnTrade's own buffer: one feed goroutine per symbol
	}
	st.mu.Unlock()
	if late {
		st.late.Add(1)
	}
	e.flowTrade(st.flow, tr)
	e.store.InsertTrades(tr)
	e.emitClosed(e.splitProvisional(st, closed))
	e.bus.Publish(TradeEvent{Trade: tr, Late: late})
	for _, c := range opens {
		e.bus.Publish(CandleEvent{Candle: c})
	}
}

// OnBook is the collector's entry for book updates (market.Sink): it applies the update to the
// symbol's L2 book and publishes the order-flow state (OBI, CVD, best bid/ask).
func (e *Engine) OnBook(b market.BookUpdate) {
	st, ok := e.symbols[b.Symbol]
	if !ok {
		return
	}
	st.book.seen(e.opt.WallClock())
	e.flowBook(st.flow, b)
}

// Subscribe streams events until ctx is done (see Bus).
func (e *Engine) Subscribe(ctx context.Context) <-chan Event { return e.bus.Subscribe(ctx) }

// Exchange is the feed's exchange name.
func (e *Engine) Exchange() string { return e.feed.Name() }

// Symbols lists the engine's symbols in configured order.
func (e *Engine) Symbols() []market.Symbol { return append([]market.Symbol(nil), e.syms...) }

// Timeframes lists the aggregated timeframes, shortest first.
func (e *Engine) Timeframes() []market.Timeframe {
	if len(e.syms) == 0 {
		return nil
	}
	return e.symbols[e.syms[0]].agg.Timeframes()
}

// Now is the feed clock.
func (e *Engine) Now() time.Time { return time.UnixMilli(e.feed.Now()) }

// Pausable reports whether the feed can be paused.
func (e *Engine) Pausable() bool { _, ok := e.feed.(Pauser); return ok }

// Paused reports whether the feed is paused.
func (e *Engine) Paused() bool {
	if p, ok := e.feed.(Pauser); ok {
		return p.Paused()
	}
	return false
}

// SetPaused pauses or resumes a pausable feed.
func (e *Engine) SetPaused(v bool) {
	p, ok := e.feed.(Pauser)
	if !ok || p.Paused() == v {
		return
	}
	p.SetPaused(v)
	for _, st := range e.symbols {
		if v {
			st.setState(StatePaused)
		} else {
			st.setState(StateConnected)
		}
	}
	if v {
		e.log.Info("feed paused", "exchange", e.feed.Name())
	} else {
		e.log.Info("feed resumed", "exchange", e.feed.Name())
	}
	e.bus.Publish(PauseEvent{Paused: v})
}

// Logs returns up to n of the newest log entries, oldest first.
func (e *Engine) Logs(n int) []LogEntry { return e.logs.last(n) }

// RecentTrades returns up to n of the newest trades of sym, oldest first.
func (e *Engine) RecentTrades(sym market.Symbol, n int) []market.Trade {
	st, ok := e.symbols[sym]
	if !ok {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.tape.Tail(n)
}

// Candles returns up to limit of the newest candles of a series, oldest first: stored candles,
// the ones closed but perhaps not yet committed, and the open candle last.
func (e *Engine) Candles(ctx context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error) {
	st, ok := e.symbols[sym]
	if !ok {
		return nil, fmt.Errorf("engine: unknown symbol %q", sym)
	}
	if limit <= 0 {
		return nil, nil
	}
	stored, err := e.store.LastCandles(ctx, e.feed.Name(), sym, tf, limit)
	if err != nil {
		return nil, fmt.Errorf("engine: candles %s %s: %w", sym, tf, err)
	}
	st.mu.Lock()
	recent := st.recentCandles(tf)
	open, isOpen := st.agg.Open(tf)
	st.mu.Unlock()
	out := mergeCandles(stored, recent)
	if isOpen {
		// The open candle is the newest truth: stored candles at or after it come from an
		// earlier run whose clock was ahead (a faster sim, a replay of the same recording).
		for len(out) > 0 && out[len(out)-1].Time >= open.Time {
			out = out[:len(out)-1]
		}
		out = append(out, open)
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// mergeCandles merges two ascending series; b wins on equal stamps.
func mergeCandles(a, b []market.Candle) []market.Candle {
	out := make([]market.Candle, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Time < b[j].Time):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Time < a[i].Time:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	return out
}

// FrameLatency summarises how long the feed's frames took from the socket read to the end of
// their handling, which includes the engine's work and the bus publish (the feed calls the
// engine on its reader goroutine): decode-to-bus. Real venues report it; the sim and replay
// have no frames (false).
type FrameLatency struct {
	Frames        int64
	P50, P99, Max time.Duration
	Mean          time.Duration
}

// frameTimer is implemented by feeds that time their frames (feeds/venue.Latency).
type frameTimer interface {
	FrameLatency() venue.LatencySnapshot
}

// FrameLatency is the feed's decode-to-bus latency so far; false when the feed does not time
// its frames or has read none.
func (e *Engine) FrameLatency() (FrameLatency, bool) {
	ft, ok := e.feed.(frameTimer)
	if !ok {
		return FrameLatency{}, false
	}
	s := ft.FrameLatency()
	if s.N == 0 {
		return FrameLatency{}, false
	}
	return FrameLatency{Frames: s.N, P50: s.Quantile(0.5), P99: s.Quantile(0.99), Max: s.Max, Mean: s.Mean()}, true
}

// Health reports every stream: trades and book per symbol, and in venue mode the kline stream.
func (e *Engine) Health() []StreamHealth {
	out := make([]StreamHealth, 0, 3*len(e.syms))
	now := e.opt.WallClock()
	for _, sym := range e.syms {
		st := e.symbols[sym]
		state := st.getState()
		tr := st.trades.snapshot()
		tr.Channel = market.ChannelTrades
		tr.Late = st.late.Load()
		bk := st.book.snapshot()
		bk.Channel = market.ChannelBook
		rows := []*StreamHealth{&tr, &bk}
		var kl StreamHealth
		if st.kl != nil {
			kl = st.candles.snapshot()
			kl.Channel = market.ChannelCandles
			kl.Backfilled = st.backfilled.Load()
			rows = append(rows, &kl)
		} else {
			tr.Backfilled = st.backfilled.Load()
		}
		for _, h := range rows {
			h.Exchange, h.Symbol, h.State = e.feed.Name(), sym, state
			if ch := st.ch[h.Channel]; ch != nil {
				ch.fill(h) // the venue's own state, unless the engine has stopped
				if state == StateStopped || state == StatePaused {
					h.State = state
				}
			}
			if !h.LastMessage.IsZero() {
				h.Age = now.Sub(h.LastMessage)
			}
		}
		out = append(out, tr, bk)
		if st.kl != nil {
			out = append(out, kl)
		}
	}
	return out
}
