package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// onState follows a bot's supervisor: a bot that failed for good is stored failed with the
// reason; every change is published.
func (bs *Bots) onState(r *botRun, st SupervisedState) {
	if st.State == WorkerFailed {
		bs.log.Error("bot failed: too many failures; not restarted", "bot", r.name, "reason", st.Reason, "restarts", st.Restarts)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := bs.store.SetBotStatus(ctx, r.id, BotFailed, st.Reason, 0); err != nil {
			bs.log.Error("bot failed: storing its status failed", "bot", r.name, "err", err)
		}
		cancel()
	}
	if bs.opt.Publish != nil {
		v := bs.runView(r, nil)
		if st.State == WorkerFailed {
			v.Status, v.Reason = BotFailed, st.Reason
		}
		bs.opt.Publish(BotEvent{Bot: v})
	}
}

// finished forgets a bot whose supervisor has ended (stopped or failed).
func (bs *Bots) finished(r *botRun) {
	bs.mu.Lock()
	if bs.runs[r.id] == r {
		delete(bs.runs, r.id)
	}
	bs.mu.Unlock()
	bs.rebuildDispatch()
	bs.publishView(r.id)
}

// reserve takes a position slot for a flat bot about to enter (MaxOpenPositions).
func (bs *Bots) reserve(id int64) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.slots[id] {
		return true
	}
	if max := bs.opt.MaxOpenPositions; max > 0 && len(bs.slots) >= max {
		return false
	}
	bs.slots[id] = true
	return true
}

// holds updates a bot's slot after a step: held while it has a position or an entry waiting.
func (bs *Bots) holds(id int64, b *Broker) {
	_, pos := b.Position()
	p := b.Pending()
	bs.mu.Lock()
	if pos || p == strategies.EnterLong || p == strategies.EnterShort {
		bs.slots[id] = true
	} else {
		delete(bs.slots, id)
	}
	bs.mu.Unlock()
}

// quote is the market of sym now: its book and its last trade price. ok is false when there is
// neither a book side nor a last price.
func (bs *Bots) quote(sym market.Symbol) (Quote, bool) {
	bids, asks := bs.mkt.BookLevels(sym, bs.opt.BookDepth)
	q := Quote{Bids: bids, Asks: asks}
	if ts := bs.mkt.RecentTrades(sym, 1); len(ts) > 0 {
		q.Last = ts[len(ts)-1].Price
	}
	return q, len(bids) > 0 || len(asks) > 0 || q.Last > 0
}

// mark is the live price of sym: the book's mid, else the last trade, else fallback.
func (bs *Bots) mark(sym market.Symbol, fallback float64) float64 {
	bids, asks := bs.mkt.BookLevels(sym, 1)
	if len(bids) > 0 && len(asks) > 0 {
		return (bids[0].Price + asks[0].Price) / 2
	}
	if ts := bs.mkt.RecentTrades(sym, 1); len(ts) > 0 {
		return ts[len(ts)-1].Price
	}
	return fallback
}

func (bs *Bots) publishView(id int64) {
	if bs.opt.Publish == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if v, err := bs.Get(ctx, id); err == nil {
		bs.opt.Publish(BotEvent{Bot: v})
	}
}

// writer stores heartbeats every Heartbeat and performance snapshots every
// PerformanceInterval, for every bot running here.
func (bs *Bots) writer(ctx context.Context) {
	hb := bs.opt.Clock.NewTimer(bs.opt.Heartbeat)
	perf := bs.opt.Clock.NewTimer(bs.opt.PerformanceInterval)
	defer func() { hb.Stop(); perf.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C():
			bs.beats(ctx)
			hb = bs.opt.Clock.NewTimer(bs.opt.Heartbeat)
		case <-perf.C():
			bs.snapshot(ctx, bs.running())
			perf = bs.opt.Clock.NewTimer(bs.opt.PerformanceInterval)
		}
	}
}

func (bs *Bots) running() []*botRun {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	out := make([]*botRun, 0, len(bs.runs))
	for _, r := range bs.runs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *botRun) int { return int(a.id - b.id) })
	return out
}

func (bs *Bots) beats(ctx context.Context) {
	var beats []storage.BotBeat
	for _, r := range bs.running() {
		if hb := r.sup.State().LastHeartbeat; !hb.IsZero() {
			beats = append(beats, storage.BotBeat{BotID: r.id, At: hb.UnixMilli()})
		}
	}
	if len(beats) == 0 {
		return
	}
	if err := bs.store.BotHeartbeats(ctx, beats); err != nil && ctx.Err() == nil {
		bs.log.Warn("storing bot heartbeats failed", "err", err)
	}
}

// snapshot stores one bot_performance row per bot at the engine clock, valued at live marks.
func (bs *Bots) snapshot(ctx context.Context, runs []*botRun) {
	now := bs.mkt.Now().UnixMilli()
	rows := make([]storage.BotPerf, 0, len(runs))
	for _, r := range runs {
		s := r.snap.Load()
		if s == nil {
			continue
		}
		m := bs.mark(market.Symbol(r.plan.Spec.Symbol), s.lastClose)
		v := s.value(m)
		rows = append(rows, storage.BotPerf{BotID: r.id, Time: now, Equity: s.cash + v, Cash: s.cash, PositionValue: v,
			Realized: s.realized, Unrealized: s.unrealized(m, toFloat(r.plan.Broker.Fee))})
	}
	if len(rows) == 0 {
		return
	}
	if ctx.Err() != nil { // Stop's last snapshot after the run context ended
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
	}
	if err := bs.store.SaveBotPerformance(ctx, rows); err != nil {
		bs.log.Warn("storing bot performance failed", "err", err)
	}
}

// errNotRunner is returned by controls when the runner is not started (another process runs
// the bots of this data dir).
var errNotRunner = errors.New("bots run in another tradeconsole process on this data dir")

func (bs *Bots) live() error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if !bs.started || bs.stopped {
		return errNotRunner
	}
	return nil
}

func (bs *Bots) run(id int64) *botRun {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.runs[id]
}

// Create stores a new bot (stopped) from the console.
func (bs *Bots) Create(ctx context.Context, spec BotSpec) (BotView, error) {
	if _, err := bs.plan(spec); err != nil {
		return BotView{}, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return BotView{}, err
	}
	row, err := bs.store.CreateBot(ctx, spec.Name, storage.BotFromConsole, data)
	if err != nil {
		return BotView{}, fmt.Errorf("bot %s: %w", spec.Name, err)
	}
	bs.log.Info("bot created", "bot", spec.Name, "strategy", spec.Strategy, "symbol", spec.Symbol, "timeframe", spec.Timeframe)
	v := bs.view(row)
	bs.publish(v)
	return v, nil
}

// Update replaces a stopped or failed bot's definition; the name stays.
func (bs *Bots) Update(ctx context.Context, id int64, spec BotSpec) (BotView, error) {
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return BotView{}, err
	}
	if spec.Name != row.Name {
		return BotView{}, fmt.Errorf("bot %s: the name cannot change (got %q)", row.Name, spec.Name)
	}
	if _, err := bs.plan(spec); err != nil {
		return BotView{}, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return BotView{}, err
	}
	if row, err = bs.store.UpdateBotSpec(ctx, id, data); err != nil {
		return BotView{}, fmt.Errorf("bot %s: %w", spec.Name, err)
	}
	v := bs.view(row)
	bs.publish(v)
	return v, nil
}

// Delete deletes a stopped or failed bot and its history.
func (bs *Bots) Delete(ctx context.Context, id int64) error {
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return err
	}
	if err := bs.store.DeleteBot(ctx, id); err != nil {
		return fmt.Errorf("bot %s: %w", row.Name, err)
	}
	bs.mu.Lock()
	delete(bs.slots, id)
	bs.mu.Unlock()
	bs.log.Info("bot deleted", "bot", row.Name)
	if bs.opt.Publish != nil {
		bs.opt.Publish(BotEvent{Bot: BotView{ID: id, Status: BotStopped, Reason: "deleted"}})
	}
	return nil
}

// StartBot starts a stopped or failed bot, or resumes a paused one.
func (bs *Bots) StartBot(ctx context.Context, id int64) error {
	if err := bs.live(); err != nil {
		return err
	}
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	if r := bs.run(id); r != nil {
		if !r.paused.Load() {
			return fmt.Errorf("bot %s is already running", r.name)
		}
		if _, err := bs.store.SetBotStatus(ctx, id, BotRunning, "", r.startedAt.UnixMilli()); err != nil {
			return err
		}
		r.paused.Store(false)
		bs.log.Info("bot resumed", "bot", r.name)
		bs.publishView(id)
		return nil
	}
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return err
	}
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
	if row, err = bs.store.SetBotStatus(ctx, id, BotRunning, "", bs.mkt.Now().UnixMilli()); err != nil {
		return err
	}
	if err := bs.launch(ctx, row, false); err != nil {
		_, _ = bs.store.SetBotStatus(ctx, id, BotStopped, err.Error(), 0)
		return err
	}
	bs.log.Info("bot started", "bot", row.Name)
	bs.publishView(id)
	return nil
}

// PauseBot stops a running bot's entries; exits go on.
func (bs *Bots) PauseBot(ctx context.Context, id int64) error {
	if err := bs.live(); err != nil {
		return err
	}
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	r := bs.run(id)
	if r == nil {
		return fmt.Errorf("bot %d is not running", id)
	}
	if r.paused.Load() {
		return fmt.Errorf("bot %s is already paused", r.name)
	}
	if _, err := bs.store.SetBotStatus(ctx, id, BotPaused, "", r.startedAt.UnixMilli()); err != nil {
		return err
	}
	r.paused.Store(true)
	bs.log.Info("bot paused: entries stop, exits go on", "bot", r.name)
	bs.publishView(id)
	return nil
}

// StopBot stops a bot and flattens its position at market.
func (bs *Bots) StopBot(ctx context.Context, id int64) error {
	if err := bs.live(); err != nil {
		return err
	}
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	_, err := bs.stopLocked(ctx, id, ReasonStop, "")
	bs.publishView(id)
	return err
}

// stopLocked stops a bot's runner (if any), flattens its stored position and stores it stopped
// with reason. flattened reports whether a position was closed.
func (bs *Bots) stopLocked(ctx context.Context, id int64, fillReason, reason string) (flattened bool, err error) {
	if r := bs.run(id); r != nil {
		err := r.sup.Stop(ctx)
		r.retire()
		if err != nil {
			return false, fmt.Errorf("bot %s: %w", r.name, err)
		}
		bs.finished(r)
	}
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return false, err
	}
	flattened, err = bs.flattenStored(ctx, row, fillReason)
	if err != nil {
		return false, err
	}
	if _, err := bs.store.SetBotStatus(ctx, id, BotStopped, reason, 0); err != nil {
		return flattened, err
	}
	bs.log.Info("bot stopped", "bot", row.Name, "flattened", flattened, "reason", reason)
	return flattened, nil
}

// flattenStored closes a bot's stored position at the live market (its runner must not run).
func (bs *Bots) flattenStored(ctx context.Context, row storage.Bot, reason string) (bool, error) {
	l, err := bs.ledgerOf(row)
	if err != nil {
		return false, err
	}
	pl := l.plan
	if _, ok := l.b.Position(); !ok {
		if l.b.Pending() != strategies.Hold { // an entry waiting for its open never fills now
			l.b.Flatten(0, Quote{}, reason)
			step, err := l.step(0, nil, nil)
			if err == nil {
				err = bs.store.SaveBotStep(ctx, step)
			}
			return false, err
		}
		return false, nil
	}
	sym := market.Symbol(pl.Spec.Symbol)
	q, _ := bs.quote(sym)
	if q.Last == 0 && len(q.Bids) == 0 && len(q.Asks) == 0 {
		// No live market yet: the last candle's close.
		if cs, err := bs.mkt.Candles(ctx, sym, pl.TF, 1); err == nil && len(cs) > 0 {
			q.Last = cs[len(cs)-1].Close
		}
	}
	fills, err := l.b.Flatten(bs.mkt.Now().UnixMilli(), q, reason)
	if err != nil {
		return false, fmt.Errorf("bot %s: flatten: %w", row.Name, err)
	}
	step, err := l.step(0, nil, l.rows(fills))
	if err != nil {
		return false, err
	}
	if err := bs.store.SaveBotStep(ctx, step); err != nil {
		return false, fmt.Errorf("bot %s: flatten: %w", row.Name, err)
	}
	bs.mu.Lock()
	delete(bs.slots, row.ID)
	bs.mu.Unlock()
	return true, nil
}

// PanicPreview lists the bots the panic key stops and the positions it flattens.
func (bs *Bots) PanicPreview(ctx context.Context) (PanicPreview, error) {
	vs, err := bs.List(ctx)
	if err != nil {
		return PanicPreview{}, err
	}
	var p PanicPreview
	for _, v := range vs {
		if v.Running() {
			p.Bots = append(p.Bots, v)
		}
		if v.Position != nil {
			p.Positions = append(p.Positions, *v.Position)
		}
	}
	return p, nil
}

// Panic stops every bot and flattens every position, at market.
func (bs *Bots) Panic(ctx context.Context) (PanicReport, error) {
	if err := bs.live(); err != nil {
		return PanicReport{}, err
	}
	bs.ctlMu.Lock()
	defer bs.ctlMu.Unlock()
	rows, err := bs.store.ListBots(ctx)
	if err != nil {
		return PanicReport{}, err
	}
	var rep PanicReport
	bs.log.Warn("PANIC: stopping every bot and flattening every position")
	for _, row := range rows {
		running := row.Status == BotRunning || row.Status == BotPaused || bs.run(row.ID) != nil
		if !running {
			row2, err := bs.store.GetBot(ctx, row.ID)
			if err == nil {
				if ok, err := bs.flattenStored(ctx, row2, ReasonPanic); err != nil {
					rep.Errors = append(rep.Errors, err.Error())
				} else if ok {
					rep.Flattened++
				}
			}
			continue
		}
		flat, err := bs.stopLocked(ctx, row.ID, ReasonPanic, "panic key")
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Stopped++
		if flat {
			rep.Flattened++
		}
	}
	for _, row := range rows {
		bs.publishView(row.ID)
	}
	if len(rep.Errors) > 0 {
		return rep, errors.New("panic: " + rep.Errors[0])
	}
	return rep, nil
}

// Get is one bot's view.
func (bs *Bots) Get(ctx context.Context, id int64) (BotView, error) {
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return BotView{}, err
	}
	return bs.view(row), nil
}

// List is every bot's view, by name.
func (bs *Bots) List(ctx context.Context) ([]BotView, error) {
	rows, err := bs.store.ListBots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BotView, 0, len(rows))
	for _, row := range rows {
		out = append(out, bs.view(row))
	}
	sortBotViews(out)
	return out, nil
}

func (bs *Bots) publish(v BotView) {
	if bs.opt.Publish != nil {
		bs.opt.Publish(BotEvent{Bot: v})
	}
}

// view builds a bot's view from its row and, when it runs here, its runner.
func (bs *Bots) view(row storage.Bot) BotView {
	v := BotView{ID: row.ID, Source: row.Source, Status: row.Status, Reason: row.Reason}
	if spec, err := bs.parse(row.Spec); err == nil {
		v.Spec = spec
		if v.Spec.Exchange == "" { // follows the console's exchange
			v.Spec.Exchange = bs.mkt.Exchange()
		}
	} else {
		v.Spec = BotSpec{Name: row.Name}
		v.Reason = "bad definition: " + err.Error()
	}
	if row.HeartbeatAt > 0 {
		v.Heartbeat = time.UnixMilli(row.HeartbeatAt)
	}
	if r := bs.run(row.ID); r != nil {
		return bs.runView(r, &v)
	}
	pl, err := bs.plan(v.Spec)
	if err != nil {
		return v
	}
	if l, err := openLedger(row.ID, pl, row.State); err == nil {
		bs.fillView(&v, l.snap(0), pl)
	}
	return v
}

// runView completes v (or a view made from r alone) with the runner's live state.
func (bs *Bots) runView(r *botRun, v *BotView) BotView {
	if v == nil {
		v = &BotView{ID: r.id, Spec: r.plan.Spec, Status: BotRunning}
		if r.paused.Load() {
			v.Status = BotPaused
		}
	}
	st := r.sup.State()
	v.Worker, v.Restarts, v.StartedAt = st.State, st.Restarts, r.startedAt
	if !st.LastHeartbeat.IsZero() {
		v.Heartbeat = st.LastHeartbeat
	}
	if st.Reason != "" && v.Reason == "" && st.State != WorkerRunning {
		v.Reason = st.Reason
	}
	if s := r.snap.Load(); s != nil {
		bs.fillView(v, s, r.plan)
	}
	return *v
}

func (bs *Bots) fillView(v *BotView, s *botSnap, pl BotPlan) {
	sym := market.Symbol(pl.Spec.Symbol)
	m := bs.mark(sym, s.lastClose)
	if s.pos != nil && m == 0 {
		m = toFloat(s.pos.EntryPrice)
	}
	v.Balance, v.Cash, v.Fees, v.Realized = s.balance, s.cash, s.fees, s.realized
	v.Equity = s.cash + s.value(m)
	v.PnL = v.Equity - s.balance
	v.Trades, v.Wins, v.ClosedPnL = s.trades, s.wins, s.netPnL
	if s.pos != nil {
		v.Position = &PositionView{BotID: v.ID, Bot: pl.Spec.Name, Exchange: pl.Spec.Exchange, Symbol: sym,
			Side: s.pos.Side.String(), Quantity: toFloat(s.pos.Quantity), EntryPrice: toFloat(s.pos.EntryPrice),
			EntryTime: time.UnixMilli(s.pos.EntryTime), Mark: m, Unrealized: s.unrealized(m, toFloat(pl.Broker.Fee)),
			TakeProfit: toFloat(s.pos.TakeProfit), StopLoss: toFloat(s.pos.StopLoss)}
		if v.Position.Exchange == "" {
			v.Position.Exchange = bs.mkt.Exchange()
		}
	}
}

// Detail is a bot with its chart, indicator lines, signals, executions and equity.
func (bs *Bots) Detail(ctx context.Context, id int64, candles int) (BotDetail, error) {
	row, err := bs.store.GetBot(ctx, id)
	if err != nil {
		return BotDetail{}, err
	}
	d := BotDetail{Bot: bs.view(row)}
	pl, err := bs.plan(d.Bot.Spec)
	if err != nil {
		return d, nil
	}
	sym := market.Symbol(pl.Spec.Symbol)
	if slices.Contains(bs.mkt.Symbols(), sym) {
		if d.Candles, err = bs.mkt.Candles(ctx, sym, pl.TF, candles); err != nil {
			return d, err
		}
	}
	if inst, err := pl.Strategy.New(pl.Values); err == nil && len(d.Candles) > 0 {
		if p, ok := inst.(strategies.Plotter); ok {
			d.Plots = p.Plots()
			d.PlotValues = make([][]float64, len(d.Plots))
			for i := range d.PlotValues {
				d.PlotValues[i] = make([]float64, len(d.Candles))
			}
			var buf []float64
			for j, c := range d.Candles {
				inst.Step(c)
				buf = p.PlotValues(buf[:0])
				for i := range d.Plots {
					x := math.NaN()
					if i < len(buf) {
						x = buf[i]
					}
					d.PlotValues[i][j] = x
				}
			}
		}
	}
	sigs, err := bs.store.BotSignals(ctx, id, 200)
	if err != nil {
		return d, err
	}
	for _, s := range sigs {
		d.Signals = append(d.Signals, BotSignalView{Time: time.UnixMilli(s.Time), Action: s.Action, Direction: s.Direction,
			Confidence: s.Confidence, Value: s.Value, Note: s.Note})
	}
	fills, err := bs.store.BotFills(ctx, id, 500)
	if err != nil {
		return d, err
	}
	for _, f := range fills {
		d.Fills = append(d.Fills, fillView(f))
		if !f.Entry {
			d.Trades = append(d.Trades, closedView(pl.Spec.Name, sym, f))
		}
	}
	perf, err := bs.store.BotPerformance(ctx, id, 1000)
	if err != nil {
		return d, err
	}
	for _, p := range perf {
		d.Equity = append(d.Equity, EquityPoint{Time: time.UnixMilli(p.Time), Equity: p.Equity})
	}
	return d, nil
}

func fillView(f storage.BotFill) BotFillView {
	return BotFillView{Seq: f.Seq, Time: time.UnixMilli(f.Time), Side: f.Side, Price: toFloat(f.Price), Quantity: toFloat(f.Quantity),
		Fee: toFloat(f.Fee), Entry: f.Entry, Reason: f.Reason, PnL: toFloat(f.PnL)}
}

func closedView(bot string, sym market.Symbol, f storage.BotFill) ClosedTradeView {
	return ClosedTradeView{Bot: bot, Symbol: sym, Side: f.PositionSide, EntryTime: time.UnixMilli(f.EntryTime),
		EntryPrice: toFloat(f.EntryPrice), ExitTime: time.UnixMilli(f.Time), ExitPrice: toFloat(f.Price),
		Quantity: toFloat(f.Quantity), PnL: toFloat(f.PnL), Fees: toFloat(f.Fees), Reason: f.Reason}
}

// Portfolio is every bot's book together.
func (bs *Bots) Portfolio(ctx context.Context) (Portfolio, error) {
	rows, err := bs.store.ListBots(ctx)
	if err != nil {
		return Portfolio{}, err
	}
	var p Portfolio
	names := map[int64]string{}
	syms := map[int64]market.Symbol{}
	for _, row := range rows {
		v := bs.view(row)
		names[row.ID], syms[row.ID] = v.Spec.Name, market.Symbol(v.Spec.Symbol)
		p.Fees += v.Fees
		p.Wins += v.Wins
		p.Losses += v.Trades - v.Wins
		p.Realized += v.ClosedPnL
		if v.Position != nil {
			p.Positions = append(p.Positions, *v.Position)
			p.Unrealized += v.Position.Unrealized
		}
	}
	fills, err := bs.store.BotFills(ctx, 0, 500)
	if err != nil {
		return p, err
	}
	for _, f := range fills {
		if !f.Entry {
			p.Closed = append(p.Closed, closedView(names[f.BotID], syms[f.BotID], f))
		}
	}
	book, err := bs.store.BookPerformance(ctx, 1000)
	if err != nil {
		return p, err
	}
	for _, r := range book {
		p.Equity = append(p.Equity, EquityPoint{Time: time.UnixMilli(r.Time), Equity: r.Equity})
	}
	p.PerBot = map[string][]EquityPoint{}
	for _, row := range rows {
		perf, err := bs.store.BotPerformance(ctx, row.ID, 1000)
		if err != nil {
			return p, err
		}
		for _, r := range perf {
			p.PerBot[row.Name] = append(p.PerBot[row.Name], EquityPoint{Time: time.UnixMilli(r.Time), Equity: r.Equity})
		}
	}
	return p, nil
}

// ledgerOf reads a bot's stored ledger (its runner's newest state lives in the row too: every
// step is committed before the runner goes on).
func (bs *Bots) ledgerOf(row storage.Bot) (*botLedger, error) {
	spec, err := bs.parse(row.Spec)
	if err != nil {
		return nil, err
	}
	pl, err := bs.plan(spec)
	if err != nil {
		return nil, err
	}
	return openLedger(row.ID, pl, row.State)
}
