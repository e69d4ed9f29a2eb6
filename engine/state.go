package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/ring"
	"github.com/tradeconsole/tradeconsole/market"
)

// recentKeep is how many closed candles per timeframe the engine keeps in memory, so readers see
// candles that are closed but not yet committed by the storage writer.
const recentKeep = 64

// symbolState is the collector pipeline of one symbol.
type symbolState struct {
	mu      sync.Mutex // guards agg, recent, tape, scratch, openBuf, openAt, openDue
	agg     *market.Aggregator
	recent  map[market.Timeframe][]market.Candle
	tape    *ring.Ring[market.Trade]
	scratch []market.Candle
	openBuf []market.Candle
	// The open candles go on the bus at most once per Options.OpenEvery: openAt is when they
	// last did (wall clock), openDue that a trade has changed them since.
	openAt  time.Time
	openDue bool

	flow *flowState

	degraded []Degraded // recent spans of incomplete data, oldest first; guarded by mu

	sym     market.Symbol
	kl      *klineState            // venue mode: the kline-built timeframes; nil otherwise
	ch      map[string]*chanHealth // venue mode: per-channel state and counters
	candles counter                // venue mode: kline messages

	state      atomic.Value // StreamState
	trades     counter
	book       counter
	late       atomic.Int64
	backfilled atomic.Int64
}

// opens returns the open candles to publish after a trade at wall, appended to buf (nil while
// they went out less than every ago: the trade is folded into the next publication). force
// sends them anyway (a candle closed, or the clock sends what was folded). st.mu must be held.
func (st *symbolState) opens(buf []market.Candle, wall time.Time, force bool, every time.Duration) []market.Candle {
	if !force && every > 0 && wall.Sub(st.openAt) < every {
		st.openDue = true
		return nil
	}
	st.openAt, st.openDue = wall, false
	return st.agg.OpenCandles(buf)
}

func newSymbolState(exchange string, sym market.Symbol, opt Options, venue bool) *symbolState {
	st := &symbolState{
		sym:    sym,
		agg:    market.NewAggregator(exchange, sym, opt.Timeframes, opt.Grace),
		recent: map[market.Timeframe][]market.Candle{},
		tape:   ring.New[market.Trade](opt.TradeRing),
		flow:   newFlowState(exchange, sym, opt.OrderFlow),
	}
	if venue {
		st.kl = newKlineState(exchange, sym, opt.Timeframes, opt.Grace)
		st.ch = map[string]*chanHealth{market.ChannelTrades: {}, market.ChannelBook: {}, market.ChannelCandles: {}}
	}
	st.state.Store(StateConnecting)
	st.trades.onFirst = st.markConnected
	st.book.onFirst = st.markConnected
	return st
}

func (st *symbolState) markConnected() {
	st.state.CompareAndSwap(StateConnecting, StateConnected)
}

func (st *symbolState) setState(s StreamState) { st.state.Store(s) }
func (st *symbolState) getState() StreamState  { return st.state.Load().(StreamState) }

// remember keeps closed candles for readers, in stamp order; a candle replaces the kept one of
// the same stamp (a venue kline replaces its provisional trade-built twin). st.mu must be held.
func (st *symbolState) remember(closed []market.Candle) {
	for _, c := range closed {
		r := st.recent[c.Timeframe]
		i := len(r)
		for i > 0 && r[i-1].Time > c.Time {
			i--
		}
		if i > 0 && r[i-1].Time == c.Time {
			r[i-1] = c
		} else {
			r = slices.Insert(r, i, c)
		}
		if len(r) > 2*recentKeep {
			r = append(r[:0], r[len(r)-recentKeep:]...)
		}
		st.recent[c.Timeframe] = r
	}
}

// recentCandles copies the kept closed candles of tf; st.mu must be held.
func (st *symbolState) recentCandles(tf market.Timeframe) []market.Candle {
	return append([]market.Candle(nil), st.recent[tf]...)
}

// counter tracks one stream's message count, last arrival and rate.
type counter struct {
	onFirst  func()
	messages atomic.Int64
	lastNano atomic.Int64

	mu       sync.Mutex // guards the rate window
	rateAt   time.Time
	rateBase int64
	rate     float64
}

func (c *counter) seen(now time.Time) {
	if c.messages.Add(1) == 1 && c.onFirst != nil {
		c.onFirst()
	}
	c.lastNano.Store(now.UnixNano())
}

// tickRate refreshes msgs/s over windows of at least a second.
func (c *counter) tickRate(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.messages.Load()
	if c.rateAt.IsZero() {
		c.rateAt, c.rateBase = now, n
		return
	}
	if d := now.Sub(c.rateAt); d >= time.Second {
		c.rate = float64(n-c.rateBase) / d.Seconds()
		c.rateAt, c.rateBase = now, n
	}
}

func (c *counter) snapshot() StreamHealth {
	c.mu.Lock()
	rate := c.rate
	c.mu.Unlock()
	h := StreamHealth{Messages: c.messages.Load(), MsgsPerSec: rate}
	if ns := c.lastNano.Load(); ns != 0 {
		h.LastMessage = time.Unix(0, ns)
	}
	return h
}

// degradedKeep is how many degraded spans a symbol keeps for the Market pane.
const degradedKeep = 64

// Degraded returns the recent spans during which sym's data was not whole, oldest first.
func (e *Engine) Degraded(sym market.Symbol) []Degraded {
	st, ok := e.symbols[sym]
	if !ok {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Degraded(nil), st.degraded...)
}
