package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// Bots (issue 5): a bot is a strategy instance trading live candles (and order flow) through
// the paper Broker of backtests. Bots runs them, one Supervisor each.
//
// The database is the truth. After every candle that changes anything (a signal, a fill) a bot
// commits one step — its signals, its executions (numbered; (bot, seq) is unique), its open
// position and its ledger state — in one transaction before it goes on. A bot that fails, or a
// process that dies, comes back from the last committed step: same cash, same position, no
// execution repeated, and its strategy's indicators warmed again from stored candles (a signal
// to enter what it already holds does nothing in the broker). A step lost in a crash is lost
// whole: its fills never happened.

// BotStore is what bots need of storage (implemented by *storage.DB).
type BotStore interface {
	CreateBot(ctx context.Context, name, source string, spec []byte) (storage.Bot, error)
	GetBot(ctx context.Context, id int64) (storage.Bot, error)
	BotByName(ctx context.Context, name string) (storage.Bot, bool, error)
	ListBots(ctx context.Context) ([]storage.Bot, error)
	UpdateBotSpec(ctx context.Context, id int64, spec []byte) (storage.Bot, error)
	DeleteBot(ctx context.Context, id int64) error
	SetBotStatus(ctx context.Context, id int64, status storage.BotStatus, reason string, startedAt int64) (storage.Bot, error)
	SaveBotStep(ctx context.Context, s storage.BotStep) error
	BotHeartbeats(ctx context.Context, beats []storage.BotBeat) error
	SaveBotPerformance(ctx context.Context, rows []storage.BotPerf) error
	BotSignals(ctx context.Context, botID int64, limit int) ([]storage.BotSignal, error)
	BotFills(ctx context.Context, botID int64, limit int) ([]storage.BotFill, error)
	BotMaxSeq(ctx context.Context, botID int64) (int64, error)
	BotPerformance(ctx context.Context, botID int64, limit int) ([]storage.BotPerf, error)
	BookPerformance(ctx context.Context, limit int) ([]storage.BotPerf, error)
}

// BotMarket is what bots need of the running market (implemented by *Engine).
type BotMarket interface {
	Exchange() string
	Symbols() []market.Symbol
	Timeframes() []market.Timeframe
	// Candles returns the newest candles of a series, oldest first; the last may be open.
	Candles(ctx context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error)
	BookLevels(sym market.Symbol, n int) (bids, asks []market.Level)
	RecentTrades(sym market.Symbol, n int) []market.Trade
	Now() time.Time
}

// BotsOptions configure Bots. Zero values take the defaults noted.
type BotsOptions struct {
	Clock  clock.Clock  // wall clock of heartbeats and supervision; default clock.System()
	Logger *slog.Logger // default discard
	// Publish, when set, receives every BotEvent (e.g. the engine's bus); it must not block.
	Publish             func(Event)
	Heartbeat           time.Duration // how often a bot beats and heartbeats are stored; default 5s
	StallAfter          time.Duration // default 3 × Heartbeat
	PerformanceInterval time.Duration // bot_performance snapshots; default 10s
	MaxOpenPositions    int           // across bots; 0 = no limit
	Warmup              int           // stored candles stepped at start; default 300; negative: none
	MaxRestarts         int           // in RestartWindow; default 3
	RestartWindow       time.Duration // default 1h
	Backoff             func(n int) time.Duration
	BookDepth           int // levels per side walked by book fills; default 1000
	QueueLimit          int // candles queued per bot before the oldest are dropped; default 10000
	// Registry is where bots' strategies come from; default strategies.Builtin().
	Registry *strategies.Registry
}

func (o *BotsOptions) defaults() {
	if o.Clock == nil {
		o.Clock = clock.System()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.StallAfter <= 0 {
		o.StallAfter = 3 * o.Heartbeat
	}
	if o.PerformanceInterval <= 0 {
		o.PerformanceInterval = 10 * time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = 300
	}
	if o.BookDepth <= 0 {
		o.BookDepth = 1000
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = 10000
	}
	if o.Registry == nil {
		o.Registry = strategies.Builtin()
	}
}

func (bs *Bots) parse(data []byte) (BotSpec, error) { return parseBotSpec(data, bs.opt.Registry) }
func (bs *Bots) plan(s BotSpec) (BotPlan, error)    { return s.PlanWith(bs.opt.Registry) }

// Bots runs the bots of one database on one market. Its methods are safe for concurrent use.
type Bots struct {
	store BotStore
	mkt   BotMarket
	opt   BotsOptions
	log   *slog.Logger

	mu      sync.Mutex
	runs    map[int64]*botRun // started here (running or paused)
	slots   map[int64]bool    // bots holding a position or waiting for an entry fill (risk)
	ctlMu   sync.Mutex        // serialises start/stop/pause/panic
	ctx     context.Context   // lives from Start to Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	stopped bool

	dispatch atomic.Pointer[map[seriesKey][]*botRun] // closed-candle routing, rebuilt on start/stop
}

type seriesKey struct {
	sym market.Symbol
	tf  market.Timeframe
}

// NewBots makes the bot runner; nothing runs until Start.
func NewBots(store BotStore, mkt BotMarket, opt BotsOptions) *Bots {
	opt.defaults()
	bs := &Bots{store: store, mkt: mkt, opt: opt, log: opt.Logger, runs: map[int64]*botRun{}, slots: map[int64]bool{}}
	empty := map[seriesKey][]*botRun{}
	bs.dispatch.Store(&empty)
	return bs
}

// BotSource is a definition from config.yaml or bots_dir, for Sync.
type BotSource struct {
	Spec   BotSpec
	Source string // storage.BotFromConfig or storage.BotFromFile
	Origin string // where it was read, for messages (config.yaml bots[1], bots/x.json)
}

// Sync stores the definitions: a new name is created (stopped); a changed definition replaces
// a stopped or failed bot's; a running bot keeps its stored definition (logged) until stopped.
func (bs *Bots) Sync(ctx context.Context, defs []BotSource) error {
	var errs []error
	for _, d := range defs {
		spec, err := json.Marshal(d.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Origin, err))
			continue
		}
		row, ok, err := bs.store.BotByName(ctx, d.Spec.Name)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			if _, err := bs.store.CreateBot(ctx, d.Spec.Name, d.Source, spec); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Origin, err))
			}
		case sameSpec(row.Spec, d.Spec):
		case row.Status == BotRunning || row.Status == BotPaused:
			bs.log.Warn("bot definition changed while the bot runs; it takes effect once the bot is stopped", "bot", d.Spec.Name, "from", d.Origin)
		default:
			if _, err := bs.store.UpdateBotSpec(ctx, row.ID, spec); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Origin, err))
			} else {
				bs.log.Info("bot definition updated", "bot", d.Spec.Name, "from", d.Origin)
			}
		}
	}
	return errors.Join(errs...)
}

func sameSpec(stored []byte, s BotSpec) bool {
	var old BotSpec
	err := json.Unmarshal(stored, &old)
	if err != nil {
		return false
	}
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(s)
	return string(a) == string(b)
}

// Start restores the bots whose stored status is running or paused (a paused bot comes back
// paused) and starts the heartbeat and performance writer. A bot that cannot run here (another
// exchange, a symbol or timeframe not built) is left as stored, with a warning.
func (bs *Bots) Start(ctx context.Context) error {
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	bs.mu.Lock()
	if bs.started {
		bs.mu.Unlock()
		return errors.New("bots: already started")
	}
	bs.started = true
	bs.ctx, bs.cancel = context.WithCancel(context.Background())
	bs.mu.Unlock()

	rows, err := bs.store.ListBots(ctx)
	if err != nil {
		return fmt.Errorf("bots: %w", err)
	}
	restored := 0
	for _, row := range rows {
		if row.Status != BotRunning && row.Status != BotPaused {
			continue
		}
		if err := bs.launch(ctx, row, row.Status == BotPaused); err != nil {
			bs.log.Warn("bot not restored", "bot", row.Name, "err", err)
			continue
		}
		restored++
	}
	if restored > 0 {
		bs.log.Info("bots restored", "count", restored)
	}
	bs.wg.Add(1)
	go func() {
		defer bs.wg.Done()
		bs.writer(bs.ctx)
	}()
	return nil
}

// Stop stops every bot's goroutine without changing its stored status (running bots come back
// at the next start) and writes a last heartbeat and performance snapshot.
func (bs *Bots) Stop(ctx context.Context) error {
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	bs.mu.Lock()
	if !bs.started || bs.stopped {
		bs.mu.Unlock()
		return nil
	}
	bs.stopped = true
	runs := make([]*botRun, 0, len(bs.runs))
	for _, r := range bs.runs {
		runs = append(runs, r)
	}
	bs.mu.Unlock()
	var errs []error
	for _, r := range runs {
		if err := r.sup.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bot %s: %w", r.name, err))
		}
		r.retire()
	}
	bs.cancel()
	done := make(chan struct{})
	go func() { bs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("bots: stop: %w", ctx.Err()))
	}
	bs.snapshot(ctx, runs)
	bs.mu.Lock()
	clear(bs.runs)
	bs.mu.Unlock()
	bs.rebuildDispatch()
	return errors.Join(errs...)
}

// OnClosedCandle hands a closed candle to the bots trading its series. It never blocks.
func (bs *Bots) OnClosedCandle(c market.Candle) {
	for _, r := range (*bs.dispatch.Load())[seriesKey{c.Symbol, c.Timeframe}] {
		r.push(c, bs.opt.QueueLimit)
	}
}

// OnOrderFlow hands the latest order flow of a symbol to the bots whose strategy trades it
// (only the newest is kept per bot). It never blocks.
func (bs *Bots) OnOrderFlow(f OrderFlow) {
	for key, rs := range *bs.dispatch.Load() {
		if key.sym != f.Symbol {
			continue
		}
		for _, r := range rs {
			if r.wantsFlow {
				r.pushFlow(f)
			}
		}
	}
}

func (bs *Bots) rebuildDispatch() {
	bs.mu.Lock()
	m := make(map[seriesKey][]*botRun, len(bs.runs))
	for _, r := range bs.runs {
		k := seriesKey{market.Symbol(r.plan.Spec.Symbol), r.plan.TF}
		m[k] = append(m[k], r)
	}
	bs.mu.Unlock()
	bs.dispatch.Store(&m)
}

// canRun checks that a plan trades this market.
func (bs *Bots) canRun(pl BotPlan) error {
	if ex := pl.Spec.Exchange; ex != "" && ex != bs.mkt.Exchange() {
		return fmt.Errorf("bot %s trades on %s; this console runs %s", pl.Spec.Name, ex, bs.mkt.Exchange())
	}
	if !slices.Contains(bs.mkt.Symbols(), market.Symbol(pl.Spec.Symbol)) {
		return fmt.Errorf("bot %s: symbol %s is not followed (symbols: %v)", pl.Spec.Name, pl.Spec.Symbol, bs.mkt.Symbols())
	}
	if !slices.Contains(bs.mkt.Timeframes(), pl.TF) {
		return fmt.Errorf("bot %s: timeframe %s is not built (timeframes: %v)", pl.Spec.Name, pl.TF, bs.mkt.Timeframes())
	}
	return nil
}

// launch starts a supervisor for a stored bot. Caller holds ctlMu.
func (bs *Bots) launch(ctx context.Context, row storage.Bot, paused bool) error {
	spec, err := bs.parse(row.Spec)
	if err != nil {
		return err
	}
	pl, err := bs.plan(spec)
	if err != nil {
		return err
	}
	if err := bs.canRun(pl); err != nil {
		return err
	}
	inst, err := pl.Strategy.New(pl.Values)
	if err != nil {
		return err
	}
	r := newBotRun(bs, row.ID, pl, paused)
	_, r.wantsFlow = inst.(strategies.FlowStepper)
	r.startedAt = bs.mkt.Now()
	r.loadSnapshot(row)
	r.sup = NewSupervisor(row.Name, r, SupervisorOptions{
		Clock: bs.opt.Clock, Logger: bs.log.With("bot", row.Name), MaxRestarts: bs.opt.MaxRestarts,
		Window: bs.opt.RestartWindow, Backoff: bs.opt.Backoff, HeartbeatEvery: bs.opt.Heartbeat,
		StallAfter: bs.opt.StallAfter, OnState: func(st SupervisedState) { bs.onState(r, st) },
	})
	bs.mu.Lock()
	bs.runs[row.ID] = r
	bs.mu.Unlock()
	bs.rebuildDispatch()
	r.sup.Start(bs.ctx)
	bs.wg.Add(1)
	go func() {
		defer bs.wg.Done()
		select {
		case <-r.sup.Done():
			bs.finished(r)
		case <-bs.ctx.Done():
		}
	}()
	return nil
}
