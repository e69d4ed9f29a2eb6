package engine

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Recorder records live order flow into order-flow files (implemented by
// *storage.OrderflowRecorder). Its methods copy what they keep and never block.
type Recorder interface {
	RecordSnapshot(exchange string, sym market.Symbol, t int64, bids, asks []market.Level)
	RecordTrade(tr market.Trade)
	Flush(ctx context.Context) error
}

// OrderFlowOptions configure the live order-flow pipeline. Zero values take the defaults noted.
type OrderFlowOptions struct {
	Depth int // levels per side in OBI; 0 = all levels
	// Interval is the least time (feed clock) between two OrderFlowEvents of a symbol;
	// 0 publishes every book update. The UI coalesces whatever it receives to its frame rate.
	Interval time.Duration
	// AlertOBI raises an alert when |OBI| crosses it from below; 0 = no alerts. The alert re-arms
	// once |OBI| falls back below AlertOBI − AlertHysteresis.
	AlertOBI        float64
	AlertHysteresis float64 // default 0.1
	// ResetDaily starts the CVD at 0 at each UTC midnight (by trade time); otherwise the CVD runs
	// for the whole session.
	ResetDaily bool
	// Windows are the bar widths kept for the order-flow charts; default 1s 5s 15s 30s 1m 5m.
	Windows []time.Duration
	// Bars is how many bars of each window are kept per symbol; default 600.
	Bars int
	// Recorder, when set, receives every trade and a book snapshot every RecordInterval.
	Recorder       Recorder
	RecordInterval time.Duration // default 1s
}

// DefaultFlowWindows are the bar widths of the order-flow charts unless configured.
var DefaultFlowWindows = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}

func (o *OrderFlowOptions) defaults() {
	if o.AlertHysteresis <= 0 {
		o.AlertHysteresis = 0.1
	}
	if len(o.Windows) == 0 {
		o.Windows = DefaultFlowWindows
	}
	if o.Bars <= 0 {
		o.Bars = 600
	}
	if o.RecordInterval <= 0 {
		o.RecordInterval = time.Second
	}
}

// OrderFlow is the live order-flow state of one symbol.
type OrderFlow struct {
	Exchange string
	Symbol   market.Symbol
	Time     int64 // feed time of the last book update, unix ms; 0 before the first
	Updates  int64 // book updates applied

	BestBid, BestAsk market.Level
	HasBid, HasAsk   bool
	Mid, Spread      float64
	Crossed          bool  // best bid ≥ best ask right now
	CrossedCount     int64 // book updates that left the book crossed
	BidLevels        int
	AskLevels        int

	OBI   float64 // over the top Depth levels of each side
	Depth int     // 0 = all levels
	CVD   float64

	AlertThreshold float64 // 0 = alerts off
	Alert          bool    // |OBI| is beyond the threshold (an alert fired and has not re-armed)
	Alerts         int64   // alerts fired
	LastAlert      int64   // feed time of the last alert, unix ms; 0 = none
}

// OrderFlowEvent carries a symbol's order-flow state after a book update (at most one per
// OrderFlowOptions.Interval).
type OrderFlowEvent struct{ Flow OrderFlow }

// AlertEvent reports that |OBI| of a symbol crossed the alert threshold.
type AlertEvent struct {
	Exchange  string
	Symbol    market.Symbol
	Time      int64 // feed time, unix ms
	OBI       float64
	Threshold float64
}

func (OrderFlowEvent) isEvent() {}
func (AlertEvent) isEvent()     {}

// flowState is the order-flow pipeline of one symbol.
type flowState struct {
	mu         sync.Mutex // guards everything below
	book       *market.Book
	cvd        market.CVD
	cvdDay     int64 // UTC day of the last trade, for ResetDaily
	flow       OrderFlow
	series     []*market.FlowSeries // one per window
	lastPub    int64
	lastRecord int64
	bidBuf     []market.Level
	askBuf     []market.Level
}

// never is a time long before any feed time that still subtracts without overflow.
const never = math.MinInt64 / 4

func newFlowState(exchange string, sym market.Symbol, o OrderFlowOptions) *flowState {
	fs := &flowState{book: market.NewBook(exchange, sym), lastPub: never, lastRecord: never}
	fs.flow = OrderFlow{Exchange: exchange, Symbol: sym, Depth: o.Depth, AlertThreshold: o.AlertOBI}
	for _, w := range o.Windows {
		fs.series = append(fs.series, market.NewFlowSeries(market.Timeframe(w.Milliseconds()), o.Bars))
	}
	return fs
}

// flowTrade adds a trade to the CVD and the bars.
func (e *Engine) flowTrade(fs *flowState, tr market.Trade) {
	fs.mu.Lock()
	if e.opt.OrderFlow.ResetDaily {
		day := floorDiv(tr.Time, msDay)
		if day != fs.cvdDay {
			fs.cvd.Reset()
			fs.cvdDay = day
		}
	}
	cvd := fs.cvd.Add(tr.Side, tr.Size)
	fs.flow.CVD = cvd
	for _, s := range fs.series {
		s.AddTrade(tr, cvd)
	}
	fs.mu.Unlock()
	if r := e.opt.OrderFlow.Recorder; r != nil {
		r.RecordTrade(tr)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// flowBook applies a book update and publishes the new order-flow state.
func (e *Engine) flowBook(fs *flowState, u market.BookUpdate) {
	o := &e.opt.OrderFlow
	fs.mu.Lock()
	refused := fs.book.Apply(u)
	b := fs.book
	f := &fs.flow
	f.Time = u.Time
	f.Updates++
	f.BestBid, f.HasBid = b.BestBid()
	f.BestAsk, f.HasAsk = b.BestAsk()
	f.Mid, _ = b.Mid()
	f.Spread, _ = b.Spread()
	wasCrossed := f.Crossed
	f.Crossed = b.Crossed()
	if f.Crossed {
		f.CrossedCount++
	}
	f.BidLevels, f.AskLevels = b.Len()
	f.OBI = b.OBI(o.Depth)
	for _, s := range fs.series {
		s.AddOBI(u.Time, f.OBI)
	}
	fired := false
	if o.AlertOBI > 0 {
		a := math.Abs(f.OBI)
		switch {
		case !f.Alert && a >= o.AlertOBI:
			f.Alert, fired = true, true
			f.Alerts++
			f.LastAlert = u.Time
			for _, s := range fs.series {
				s.AddAlert(u.Time)
			}
		case f.Alert && a < o.AlertOBI-o.AlertHysteresis:
			f.Alert = false
		}
	}
	publish := o.Interval <= 0 || u.Time-fs.lastPub >= o.Interval.Milliseconds()
	if publish {
		fs.lastPub = u.Time
	}
	flow := *f
	if o.Recorder != nil && u.Time-fs.lastRecord >= o.RecordInterval.Milliseconds() && !b.Empty() {
		fs.lastRecord = u.Time - u.Time%max(o.RecordInterval.Milliseconds(), 1)
		fs.bidBuf = b.Bids(0, fs.bidBuf[:0])
		fs.askBuf = b.Asks(0, fs.askBuf[:0])
		o.Recorder.RecordSnapshot(u.Exchange, u.Symbol, u.Time, fs.bidBuf, fs.askBuf)
	}
	fs.mu.Unlock()

	if refused > 0 {
		e.log.Warn("book update had invalid levels; they were ignored", "symbol", string(u.Symbol), "refused", refused)
	}
	if flow.Crossed && !wasCrossed {
		e.log.Warn("order book crossed", "symbol", string(u.Symbol), "best_bid", flow.BestBid.Price, "best_ask", flow.BestAsk.Price)
	}
	if fired {
		e.log.Warn("OBI alert", "symbol", string(u.Symbol), "obi", round4(flow.OBI), "threshold", o.AlertOBI)
		e.bus.Publish(AlertEvent{Exchange: flow.Exchange, Symbol: flow.Symbol, Time: u.Time, OBI: flow.OBI, Threshold: o.AlertOBI})
	}
	if publish {
		e.bus.Publish(OrderFlowEvent{Flow: flow})
	}
	if e.botsRun {
		e.bots.OnOrderFlow(flow)
	}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// flowTick moves the bars' time axis to now so a quiet market still scrolls.
func (fs *flowState) tick(now int64) {
	fs.mu.Lock()
	for _, s := range fs.series {
		s.Advance(now)
	}
	fs.mu.Unlock()
}

// OrderFlow is the current order-flow state of sym.
func (e *Engine) OrderFlow(sym market.Symbol) (OrderFlow, bool) {
	st, ok := e.symbols[sym]
	if !ok {
		return OrderFlow{}, false
	}
	st.flow.mu.Lock()
	defer st.flow.mu.Unlock()
	return st.flow.flow, true
}

// BookLevels returns up to n levels of each side of sym's book, best first (n <= 0: all).
func (e *Engine) BookLevels(sym market.Symbol, n int) (bids, asks []market.Level) {
	st, ok := e.symbols[sym]
	if !ok {
		return nil, nil
	}
	st.flow.mu.Lock()
	defer st.flow.mu.Unlock()
	return st.flow.book.Bids(n, nil), st.flow.book.Asks(n, nil)
}

// FlowWindows are the bar widths FlowBars serves, shortest first.
func (e *Engine) FlowWindows() []time.Duration {
	return append([]time.Duration(nil), e.opt.OrderFlow.Windows...)
}

// FlowBars returns up to n of the newest order-flow bars of sym with the given width, oldest
// first; nil when the width is not one of FlowWindows.
func (e *Engine) FlowBars(sym market.Symbol, window time.Duration, n int) []market.FlowBar {
	st, ok := e.symbols[sym]
	if !ok {
		return nil
	}
	tf := market.Timeframe(window.Milliseconds())
	st.flow.mu.Lock()
	defer st.flow.mu.Unlock()
	for _, s := range st.flow.series {
		if s.Timeframe() == tf {
			return s.Bars(n, nil)
		}
	}
	return nil
}
