package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// Fill reasons of a bot's own exits (besides the broker's).
const (
	ReasonStop     = "stop"     // the bot was stopped: flattened at market
	ReasonPanic    = "panic"    // the panic key
	ReasonDrawdown = "drawdown" // the bot's drawdown passed its max_drawdown
)

// botState is a bot's stored state (bots.state): the broker's ledger and the bot's counters.
type botState struct {
	Broker BrokerState     `json:"broker"`
	Seq    int64           `json:"seq"`    // executions recorded (the last trades.seq)
	Trades int             `json:"trades"` // closed trades
	Wins   int             `json:"wins"`   // closed trades with a positive net P&L
	NetPnL decimal.Decimal `json:"net_pnl"`
	Peak   float64         `json:"peak"` // highest equity at a candle close
}

// botLedger is a bot's broker with its stored counters: what the runner steps and what a stop
// or the panic key flattens.
type botLedger struct {
	id   int64
	plan BotPlan
	b    *Broker
	st   botState
	gen  int64 // the run that loaded it (botRun.gen); 0: not a run's
}

// openLedger makes the broker of a plan and restores the stored state (none: a new ledger).
func openLedger(id int64, pl BotPlan, state []byte) (*botLedger, error) {
	b, err := NewBroker(pl.Broker, pl.TF)
	if err != nil {
		return nil, err
	}
	l := &botLedger{id: id, plan: pl, b: b}
	l.st.Peak = toFloat(b.Cash())
	if len(state) > 0 {
		if err := json.Unmarshal(state, &l.st); err != nil {
			return nil, fmt.Errorf("bot %s: stored state: %w", pl.Spec.Name, err)
		}
		if err := b.Restore(l.st.Broker); err != nil {
			return nil, fmt.Errorf("bot %s: stored state: %w", pl.Spec.Name, err)
		}
	}
	return l, nil
}

// rows numbers fills as executions and counts the trades they close. The broker's newest
// trades are the ones closed by fills' exits, in order.
func (l *botLedger) rows(fills []Fill) []storage.BotFill {
	if len(fills) == 0 {
		return nil
	}
	exits := 0
	for _, f := range fills {
		if !f.Entry {
			exits++
		}
	}
	trades := l.b.Trades()
	closed := trades[len(trades)-exits:]
	out := make([]storage.BotFill, 0, len(fills))
	for _, f := range fills {
		l.st.Seq++
		r := storage.BotFill{BotID: l.id, Seq: l.st.Seq, Time: f.Time, Side: f.Side.String(), Price: f.Price,
			Quantity: f.Quantity, Notional: f.Notional, Fee: f.Fee, Entry: f.Entry, Reason: f.Reason}
		if !f.Entry {
			t := closed[0]
			closed = closed[1:]
			r.PositionSide, r.EntryTime, r.EntryPrice, r.PnL, r.Fees = t.Side, t.EntryTime, t.EntryPrice, t.PnL, t.Fees
			l.st.Trades++
			if t.PnL.IsPos() {
				l.st.Wins++
			}
			if sum, err := l.st.NetPnL.Add(t.PnL); err == nil {
				l.st.NetPnL = sum
			}
		}
		out = append(out, r)
	}
	return out
}

// step is the transaction that records a step: signals, fills, the position and the state.
func (l *botLedger) step(lastCandle int64, sigs []storage.BotSignal, fills []storage.BotFill) (storage.BotStep, error) {
	l.st.Broker = l.b.State()
	state, err := json.Marshal(l.st)
	if err != nil {
		return storage.BotStep{}, err
	}
	s := storage.BotStep{BotID: l.id, LastCandle: lastCandle, State: state, Signals: sigs, Fills: fills}
	if p, ok := l.b.Position(); ok {
		s.Position = &storage.BotPosition{BotID: l.id, Side: p.Side.String(), Quantity: p.Quantity, EntryPrice: p.EntryPrice,
			EntryNotional: p.EntryNotional, EntryFee: p.EntryFee, EntryTime: p.EntryTime, TakeProfit: p.TakeProfit,
			StopLoss: p.StopLoss, Deadline: p.Deadline}
	} else {
		s.ClearPosition = true
	}
	return s, nil
}

// snap is the immutable view of a ledger the runner publishes after each step.
func (l *botLedger) snap(lastClose float64) *botSnap {
	s := &botSnap{cash: toFloat(l.b.Cash()), fees: toFloat(l.b.Fees()), realized: toFloat(l.b.Realized()),
		balance: toFloat(l.plan.Broker.Balance), trades: l.st.Trades, wins: l.st.Wins, netPnL: toFloat(l.st.NetPnL), lastClose: lastClose}
	if p, ok := l.b.Position(); ok {
		s.pos = &p
	}
	return s
}

// botSnap is a bot's ledger at its last step, for views and performance snapshots.
type botSnap struct {
	cash, fees, realized, balance float64
	pos                           *Position
	trades, wins                  int
	netPnL                        float64 // Σ net P&L of the closed trades
	lastClose                     float64
}

// value is the position's value at mark (Broker's rules, in float64).
func (s *botSnap) value(mark float64) float64 {
	if s.pos == nil {
		return 0
	}
	q, n := toFloat(s.pos.Quantity), toFloat(s.pos.EntryNotional)
	if s.pos.Side == strategies.Short {
		return 2*n - q*mark
	}
	return q * mark
}

// unrealized is the position's P&L at mark, the entry fee and an estimated exit fee included.
func (s *botSnap) unrealized(mark, fee float64) float64 {
	if s.pos == nil {
		return 0
	}
	q, n := toFloat(s.pos.Quantity), toFloat(s.pos.EntryNotional)
	g := q*mark - n
	if s.pos.Side == strategies.Short {
		g = -g
	}
	return g - toFloat(s.pos.EntryFee) - q*mark*fee
}

// botRun is one bot started in this process: its queue and the Worker its supervisor runs.
type botRun struct {
	bs        *Bots
	id        int64
	name      string
	plan      BotPlan
	wantsFlow bool
	paused    atomic.Bool
	startedAt time.Time
	sup       *Supervisor

	qmu     sync.Mutex
	queue   []market.Candle
	pushed  int64 // stamp of the newest candle pushed (0: none yet)
	dropped int64
	flow    *OrderFlow
	wake    chan struct{}

	snap    atomic.Pointer[botSnap]
	stepped atomic.Int64 // stamp of the last closed candle handled (traded or skipped)

	// A run loads the ledger and commits its steps under commitMu, as generation gen: a run
	// the supervisor abandoned (stalled, then replaced) can no longer commit once its
	// successor has loaded the ledger, so two runs never write one bot's ledger.
	commitMu sync.Mutex
	gen      int64
}

// retire ends the commits of every run of r: after a stop, a run that did not return in time
// (abandoned) can no longer write the ledger a stop flattens or a later start loads.
func (r *botRun) retire() {
	r.commitMu.Lock()
	r.gen++
	r.commitMu.Unlock()
}

// errSuperseded is a step of a run that a newer run of the same bot has replaced.
var errSuperseded = errors.New("superseded by a newer run of the bot; step not recorded")

func newBotRun(bs *Bots, id int64, pl BotPlan, paused bool) *botRun {
	r := &botRun{bs: bs, id: id, name: pl.Spec.Name, plan: pl, wake: make(chan struct{}, 1)}
	r.paused.Store(paused)
	return r
}

// loadSnapshot publishes the stored ledger before the first step.
func (r *botRun) loadSnapshot(row storage.Bot) {
	if l, err := openLedger(r.id, r.plan, row.State); err == nil {
		r.snap.Store(l.snap(0))
	}
}

func (r *botRun) push(c market.Candle, limit int) {
	r.qmu.Lock()
	if len(r.queue) >= limit {
		r.queue = r.queue[1:]
		r.dropped++
	}
	r.queue = append(r.queue, c)
	r.pushed = max(r.pushed, c.Time)
	r.qmu.Unlock()
	r.signal()
}

func (r *botRun) pushFlow(f OrderFlow) {
	r.qmu.Lock()
	r.flow = &f
	r.qmu.Unlock()
	r.signal()
}

func (r *botRun) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *botRun) take() ([]market.Candle, *OrderFlow, int64) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	q, f, d := r.queue, r.flow, r.dropped
	r.queue, r.flow, r.dropped = nil, nil, 0
	return q, f, d
}

// Run is the bot's Worker: restore the ledger from the database, warm the strategy on stored
// candles, then step every closed candle (and the newest order flow) until ctx is done.
func (r *botRun) Run(ctx context.Context, beat func()) error {
	bs := r.bs
	r.commitMu.Lock()
	r.gen++
	gen := r.gen
	row, err := bs.store.GetBot(ctx, r.id)
	var l *botLedger
	if err == nil {
		l, err = openLedger(r.id, r.plan, row.State)
	}
	r.commitMu.Unlock()
	if err != nil {
		return err
	}
	l.gen = gen
	inst, err := r.plan.Strategy.New(r.plan.Values)
	if err != nil {
		return err
	}
	sym, tf := market.Symbol(r.plan.Spec.Symbol), r.plan.TF
	last := l.b.State().LastTime
	// Candles already queued are traded live; only those before them warm the strategy. A
	// candle that closed after the bot was registered for candles is on its way to the queue
	// even when the store has it first, so it is never warmed: the warm-up ends at the bot's
	// start or at the newest candle pushed to it (a restart warms the candles it stepped),
	// whichever is later, and before the head of the queue.
	r.qmu.Lock()
	warmTo := max(r.startedAt.UnixMilli(), r.pushed)
	if len(r.queue) > 0 {
		warmTo = min(warmTo, r.queue[0].Time-1)
	}
	r.qmu.Unlock()
	if bs.opt.Warmup > 0 {
		cs, err := bs.mkt.Candles(ctx, sym, tf, bs.opt.Warmup+1)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		now := bs.mkt.Now().UnixMilli()
		for _, c := range cs {
			if c.Time > now || c.Time > warmTo { // the open candle, or one traded live
				break
			}
			inst.Step(c)
			last = max(last, c.Time)
		}
	}
	if st := l.b.State(); st.Pending != strategies.Hold && st.LastTime < last {
		// The decision was made before the bot went down; its open has passed.
		st.Pending = strategies.Hold
		_ = l.b.Restore(st)
		bs.log.Info("a decision waiting for its fill was dropped: the bot was down", "bot", r.name)
	}
	r.snap.Store(l.snap(0))
	beat()
	bs.publish(bs.runView(r, nil))

	t := bs.opt.Clock.NewTimer(bs.opt.Heartbeat)
	defer func() { t.Stop() }()
	// drain steps what is queued; done: the bot stopped itself.
	drain := func(ctx context.Context) (done bool, err error) {
		r.commitMu.Lock()
		if l.gen != r.gen { // replaced: the queue is the new run's
			r.commitMu.Unlock()
			return false, errSuperseded
		}
		cs, f, dropped := r.take()
		r.commitMu.Unlock()
		if dropped > 0 {
			bs.log.Warn("bot fell behind; oldest candles dropped", "bot", r.name, "dropped", dropped)
		}
		for _, c := range cs {
			if c.Time <= last {
				r.stepped.Store(max(r.stepped.Load(), c.Time))
				continue
			}
			last = c.Time
			done, err := r.candle(ctx, l, inst, c)
			if err != nil {
				return false, err
			}
			r.stepped.Store(c.Time)
			if done {
				return true, nil
			}
			beat() // a long batch is progress, not a stall
		}
		if f != nil {
			return false, r.orderFlow(ctx, l, inst, *f)
		}
		return false, nil
	}
	superseded := func(err error) error {
		if errors.Is(err, errSuperseded) {
			bs.log.Warn("bot: a stalled run of this bot was replaced by a new run; it ends without recording its step", "bot", r.name)
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			// Stopping (a shutdown, a stop): the candles already queued are stepped first, so
			// a bot has seen every candle closed before it was stopped.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, err := drain(dctx)
			cancel()
			return superseded(err)
		case <-t.C():
			beat()
			t = bs.opt.Clock.NewTimer(bs.opt.Heartbeat)
		case <-r.wake:
			// The candles taken are stepped to the end even if a stop comes meanwhile: a
			// cancelled commit would fail and lose the rest of the batch, candles the bot
			// never saw although they were closed before it stopped. The stop waits one batch.
			done, err := drain(context.WithoutCancel(ctx))
			if err != nil || done {
				return superseded(err)
			}
			beat()
		}
	}
}

// candle steps one closed candle: the broker first (a decision waiting for this open, TP/SL,
// timeout), then the strategy decides on the close, then — with book fills — the decision fills
// at once. done is true when the bot stopped itself (its drawdown limit).
func (r *botRun) candle(ctx context.Context, l *botLedger, inst strategies.Instance, c market.Candle) (done bool, err error) {
	fills, err := l.b.OnCandle(c)
	if err != nil {
		return false, err
	}
	sig := inst.Step(c)
	var sigs []storage.BotSignal
	if sig.Action != strategies.Hold {
		act, note := r.gate(l, sig.Action)
		sig.Action = act
		sigs = append(sigs, signalRow(r.id, sig, note))
		l.b.Decide(sig)
	}
	if fills, err = r.fillNow(l, c.Time, fills); err != nil {
		return false, err
	}
	eq := l.b.EquityFloat(c.Close)
	reason := ""
	if mdd := r.plan.Spec.MaxDrawdown; mdd > 0 && l.st.Peak > 0 && (l.st.Peak-eq)/l.st.Peak > mdd {
		reason = fmt.Sprintf("drawdown %.1f%% passed max_drawdown %.1f%%", 100*(l.st.Peak-eq)/l.st.Peak, 100*mdd)
		q, _ := r.bs.quote(market.Symbol(r.plan.Spec.Symbol))
		if q.Last == 0 {
			q.Last = c.Close
		}
		more, err := l.b.Flatten(c.Time, q, ReasonDrawdown)
		if err != nil {
			return false, err
		}
		fills = append(fills, more...)
	}
	l.st.Peak = max(l.st.Peak, eq)
	if len(sigs) > 0 || len(fills) > 0 || reason != "" {
		if err := r.commit(ctx, l, c.Time, sigs, fills, c.Close); err != nil {
			return false, err
		}
	} else {
		r.snap.Store(l.snap(c.Close))
	}
	if reason != "" {
		r.bs.log.Warn("bot stopped by its drawdown limit", "bot", r.name, "reason", reason)
		if _, err := r.bs.store.SetBotStatus(ctx, r.id, BotStopped, reason, 0); err != nil {
			return false, err
		}
		r.bs.publishView(r.id)
		return true, nil
	}
	return false, nil
}

// orderFlow steps the newest order flow (strategies that trade it).
func (r *botRun) orderFlow(ctx context.Context, l *botLedger, inst strategies.Instance, f OrderFlow) error {
	fs, ok := inst.(strategies.FlowStepper)
	if !ok {
		return nil
	}
	sig := fs.StepFlow(strategies.FlowPoint{Time: f.Time, OBI: f.OBI, CVD: f.CVD, BestBid: f.BestBid.Price, BestAsk: f.BestAsk.Price})
	if sig.Action == strategies.Hold {
		return nil
	}
	act, note := r.gate(l, sig.Action)
	sig.Action = act
	l.b.Decide(sig)
	fills, err := r.fillNow(l, f.Time, nil)
	if err != nil {
		return err
	}
	return r.commit(ctx, l, 0, []storage.BotSignal{signalRow(r.id, sig, note)}, fills, f.Mid)
}

// fillNow fills a waiting decision at once at the live book (FillBook), appending to fills;
// without a quote, or with next-open fills, it waits for the next candle's open.
func (r *botRun) fillNow(l *botLedger, t int64, fills []Fill) ([]Fill, error) {
	if r.plan.Spec.FillMode() != FillBook || l.b.Pending() == strategies.Hold {
		return fills, nil
	}
	q, ok := r.bs.quote(market.Symbol(r.plan.Spec.Symbol))
	if !ok {
		return fills, nil
	}
	more, err := l.b.ExecuteNow(t, q)
	return append(fills, more...), err
}

// commit stores a step (signals, fills, position, ledger) in one transaction, then publishes
// the ledger valued at mark and tells the console.
func (r *botRun) commit(ctx context.Context, l *botLedger, lastCandle int64, sigs []storage.BotSignal, fills []Fill, mark float64) error {
	step, err := l.step(lastCandle, sigs, l.rows(fills))
	if err != nil {
		return err
	}
	r.commitMu.Lock()
	if l.gen != r.gen {
		r.commitMu.Unlock()
		return errSuperseded
	}
	err = r.bs.store.SaveBotStep(ctx, step)
	r.commitMu.Unlock()
	if err != nil {
		return fmt.Errorf("save step: %w", err)
	}
	r.snap.Store(l.snap(mark))
	r.bs.holds(r.id, l.b)
	r.bs.publish(r.bs.runView(r, nil)) // from memory: no read on the bot's own goroutine
	return nil
}

// gate applies pause and the risk limit to an entry: a paused bot only exits (an entry against
// its position becomes an exit), and a flat bot enters only while a position slot is free.
func (r *botRun) gate(l *botLedger, act strategies.Action) (strategies.Action, string) {
	if act != strategies.EnterLong && act != strategies.EnterShort {
		return act, ""
	}
	pos, holding := l.b.Position()
	want := strategies.Long
	if act == strategies.EnterShort {
		want = strategies.Short
	}
	if r.paused.Load() {
		if holding && pos.Side != want {
			return strategies.Exit, "paused: entry skipped, position closed"
		}
		return strategies.Hold, "paused: entry skipped"
	}
	if !holding && !r.bs.reserve(r.id) {
		return strategies.Hold, fmt.Sprintf("risk: max open positions (%d) reached", r.bs.opt.MaxOpenPositions)
	}
	return act, ""
}

func signalRow(id int64, sig strategies.Signal, note string) storage.BotSignal {
	return storage.BotSignal{BotID: id, Time: sig.Time, Action: sig.Action.String(), Direction: sig.Direction.String(),
		Confidence: sig.Confidence.String(), Value: sig.Value, Note: note}
}
