package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Real venues (feeds/bybit, okx, binance) send their own klines. On such a feed the engine runs
// in venue mode:
//
//   - The venue's closed 1m klines are the authoritative candles of every timeframe that is a
//     whole number of minutes: a second aggregator per symbol (kagg) builds 1m, 5m, 1h… from
//     them, and only those candles are stored, handed to bots and published as closed. The
//     venue saw every trade; a client that lost a few seconds of its stream did not.
//   - Trades still build the live view (the open candle, sub-minute timeframes, the tape, CVD).
//     A trade-built minute candle that closes before its kline arrives is shown as provisional
//     and replaced by the kline.
//   - No gaps: a kline that skips minutes, a reconnect (StreamConnected) and a clock that passes a
//     minute's end by KlineLag without its kline all fetch the missing minutes over REST
//     (HistorySource) before live klines go on; they are counted as backfilled.
//   - Stream events (market.StreamSink) drive each channel's state and counters on the Feeds tab;
//     a resyncing book is dropped (never served stale) until its next snapshot; spans of
//     incomplete data are kept for the Market pane (Degraded).

// VenueFeed is implemented by feeds whose venue sends klines (VenueCandles true).
type VenueFeed interface {
	VenueCandles() bool
}

// venueTF reports whether tf is built from venue klines in venue mode.
func venueTF(tf market.Timeframe) bool {
	return tf >= market.TF1m && tf%market.TF1m == 0
}

// chanHealth is one channel's state and counters (venue mode; the sim uses the symbol state).
type chanHealth struct {
	state      atomic.Value // StreamState; nil until the feed reports one
	detail     atomic.Value // string
	reconnects atomic.Int64
	gaps       atomic.Int64
	resyncs    atomic.Int64
	checksums  atomic.Int64
	malformed  atomic.Int64
}

func (h *chanHealth) fill(sh *StreamHealth) {
	if s, ok := h.state.Load().(StreamState); ok {
		sh.State = s
	}
	if d, ok := h.detail.Load().(string); ok {
		sh.Detail = d
	}
	sh.Reconnects = h.reconnects.Load()
	sh.Gaps = h.gaps.Load()
	sh.Resyncs = h.resyncs.Load()
	sh.Checksums = h.checksums.Load()
	sh.Malformed = h.malformed.Load()
}

// klineState is the venue-kline side of one symbol.
type klineState struct {
	mu      sync.Mutex // serialises applying klines and REST fills
	agg     *market.Aggregator
	last    int64 // stamp of the newest 1m kline applied (0: none yet)
	lastTry int64 // feed time of the last clock-triggered fill
	buf     []market.Candle
	final   map[market.Timeframe]int64 // newest authoritative stamp per timeframe (guarded by symbolState.mu)
}

func newKlineState(exchange string, sym market.Symbol, tfs []market.Timeframe, grace time.Duration) *klineState {
	var vt []market.Timeframe
	for _, tf := range tfs {
		if venueTF(tf) {
			vt = append(vt, tf)
		}
	}
	if len(vt) == 0 {
		return nil
	}
	return &klineState{agg: market.NewAggregator(exchange, sym, vt, grace), final: map[market.Timeframe]int64{}}
}

// OnCandle takes a closed venue kline (market.CandleSink). Only 1m klines are used.
func (e *Engine) OnCandle(c market.Candle, backfilled bool) {
	st, ok := e.symbols[c.Symbol]
	if !ok || st.kl == nil || c.Timeframe != market.TF1m {
		return
	}
	st.candles.seen(e.opt.WallClock())
	ks := st.kl
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.last > 0 && c.Time > ks.last+int64(market.TF1m) {
		// Minutes are missing before this one: fetch them first, so candles stay in order.
		e.fillLocked(st, c.Time-int64(market.TF1m))
	}
	e.applyKlineLocked(st, c, backfilled)
}

// applyKlineLocked adds one 1m kline; ks.mu must be held.
func (e *Engine) applyKlineLocked(st *symbolState, c market.Candle, backfilled bool) {
	ks := st.kl
	if c.Time <= ks.last {
		return // already applied (a REST fill got there first, or a re-sent push)
	}
	c.Exchange = e.feed.Name()
	closed, late := ks.agg.AddCandle(c, ks.buf[:0])
	ks.buf = closed[:0]
	if late {
		return
	}
	ks.last = c.Time
	if backfilled {
		st.backfilled.Add(1)
	}
	st.mu.Lock()
	for _, k := range closed {
		if k.Time > ks.final[k.Timeframe] {
			ks.final[k.Timeframe] = k.Time
		}
	}
	st.remember(closed)
	st.mu.Unlock()
	e.emitClosed(closed)
}

// fillLocked fetches the 1m klines after ks.last up to upto (a stamp) over REST and applies
// them; ks.mu must be held. Errors are logged: the next trigger tries again.
func (e *Engine) fillLocked(st *symbolState, upto int64) {
	ks := st.kl
	hist, ok := e.feed.(HistorySource)
	if !ok || ks.last == 0 || upto <= ks.last {
		return
	}
	from := ks.last
	cs, err := hist.History(st.sym, from, upto)
	if err != nil {
		e.log.Error("kline backfill failed", "exchange", e.feed.Name(), "symbol", st.sym, "err", err)
		return
	}
	n := 0
	for _, c := range cs {
		if c.Time > ks.last && c.Time <= upto {
			e.applyKlineLocked(st, c, true)
			n++
		}
	}
	if n > 0 {
		e.log.Info("klines backfilled", "exchange", e.feed.Name(), "symbol", st.sym, "candles_1m", n,
			"from", time.UnixMilli(from).UTC().Format(time.RFC3339), "to", time.UnixMilli(upto).UTC().Format(time.RFC3339))
	}
}

// fillTo brings sym's klines up to the last closed minute at feed time now.
func (e *Engine) fillTo(st *symbolState, now int64) {
	if st.kl == nil {
		return
	}
	st.kl.mu.Lock()
	defer st.kl.mu.Unlock()
	e.fillLocked(st, market.TF1m.Floor(now))
}

// klineWatch runs clock-triggered fills (venue mode) until ctx is done.
func (e *Engine) klineWatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-e.fillReq:
			e.fillTo(st, e.feed.Now())
		}
	}
}

// checkKlines asks klineWatch to fill a symbol whose last kline is older than a minute plus
// the allowed lag (called from Tick).
func (e *Engine) checkKlines(st *symbolState, now int64) {
	ks := st.kl
	if ks == nil || e.fillReq == nil {
		return
	}
	lag := e.opt.KlineLag.Milliseconds()
	if !ks.mu.TryLock() {
		return // a fill is running
	}
	due := ks.last > 0 && now >= ks.last+int64(market.TF1m)+lag && now-ks.lastTry >= lag
	if due {
		ks.lastTry = now
	}
	ks.mu.Unlock()
	if due {
		select {
		case e.fillReq <- st:
		default:
		}
	}
}

// OnStream takes a stream event (market.StreamSink). An empty Symbol means every symbol, an
// empty Channel every channel of the connection.
func (e *Engine) OnStream(ev market.StreamEvent) {
	if ev.Symbol == "" {
		for _, sym := range e.syms {
			ev.Symbol = sym
			e.onStream(e.symbols[sym], ev)
		}
		return
	}
	if st, ok := e.symbols[ev.Symbol]; ok {
		e.onStream(st, ev)
	}
}

func (e *Engine) onStream(st *symbolState, ev market.StreamEvent) {
	chans := []string{ev.Channel}
	if ev.Channel == "" {
		chans = []string{market.ChannelTrades, market.ChannelBook, market.ChannelCandles}
	}
	for _, name := range chans {
		h := st.ch[name]
		if h == nil {
			continue
		}
		if ev.Detail != "" {
			h.detail.Store(ev.Detail)
		}
		switch ev.Kind {
		case market.StreamConnecting:
			h.state.Store(StateConnecting)
		case market.StreamConnected:
			h.state.Store(StateConnected)
			st.endDegraded(name, ev.Time)
		case market.StreamReconnecting:
			if prev, _ := h.state.Load().(StreamState); prev != StateReconnecting {
				h.reconnects.Add(1)
			}
			h.state.Store(StateReconnecting)
			if name != market.ChannelCandles {
				st.beginDegraded(name, ev.Time, "reconnecting: "+ev.Detail)
			}
			if name == market.ChannelBook {
				e.dropBook(st)
			}
		case market.StreamResyncing:
			h.resyncs.Add(1)
			h.state.Store(StateResyncing)
			if name == market.ChannelBook {
				st.beginDegraded(name, ev.Time, "resyncing: "+ev.Detail)
				e.dropBook(st)
			}
		case market.StreamSynced:
			h.state.Store(StateConnected)
			st.endDegraded(name, ev.Time)
		case market.StreamGap:
			h.gaps.Add(1)
		case market.StreamChecksum:
			h.checksums.Add(1)
		case market.StreamMalformed:
			h.malformed.Add(1)
		}
	}
	if ev.Kind == market.StreamConnected && (ev.Channel == "" || ev.Channel == market.ChannelCandles || ev.Channel == market.ChannelTrades) {
		// Back online: the minutes missed while away are fetched before live klines go on.
		e.fillTo(st, e.feed.Now())
	}
}

// dropBook empties a symbol's book so that nothing stale is served while it resyncs; the next
// snapshot rebuilds it.
func (e *Engine) dropBook(st *symbolState) {
	fs := st.flow
	fs.mu.Lock()
	fs.book.Reset()
	f := &fs.flow
	f.HasBid, f.HasAsk = false, false
	f.BestBid, f.BestAsk = market.Level{}, market.Level{}
	f.Mid, f.Spread, f.OBI = 0, 0, 0
	f.Crossed = false
	f.BidLevels, f.AskLevels = 0, 0
	flow := *f
	fs.mu.Unlock()
	e.bus.Publish(OrderFlowEvent{Flow: flow})
}

// beginDegraded opens a span of incomplete data on a channel, unless one is open.
func (st *symbolState) beginDegraded(channel string, at int64, reason string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := len(st.degraded) - 1; i >= 0; i-- {
		if d := st.degraded[i]; d.Channel == channel && d.To == 0 {
			return
		}
	}
	st.degraded = append(st.degraded, Degraded{From: at, Channel: channel, Reason: reason})
	if len(st.degraded) > 2*degradedKeep {
		st.degraded = append(st.degraded[:0], st.degraded[len(st.degraded)-degradedKeep:]...)
	}
}

// endDegraded closes the channel's open span.
func (st *symbolState) endDegraded(channel string, at int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := len(st.degraded) - 1; i >= 0; i-- {
		if d := &st.degraded[i]; d.Channel == channel && d.To == 0 {
			d.To = max(at, d.From+1)
			return
		}
	}
}

// splitProvisional keeps, of the candles the trade aggregator closed, those the engine stores
// (all of them, except in venue mode the kline-built timeframes) and publishes the others as
// provisional (open) updates. st.mu must not be held.
func (e *Engine) splitProvisional(st *symbolState, closed []market.Candle) []market.Candle {
	if st.kl == nil {
		return closed
	}
	kept := closed[:0:0]
	for _, c := range closed {
		if venueTF(c.Timeframe) {
			e.bus.Publish(CandleEvent{Candle: c})
			continue
		}
		kept = append(kept, c)
	}
	return kept
}

// rememberTradeBuilt keeps closed trade-built candles for readers; in venue mode a kline-built
// candle of the same stamp is never overwritten by its provisional twin. st.mu must be held.
func (st *symbolState) rememberTradeBuilt(closed []market.Candle) {
	if st.kl == nil {
		st.remember(closed)
		return
	}
	for _, c := range closed {
		if venueTF(c.Timeframe) && c.Time <= st.kl.final[c.Timeframe] {
			continue
		}
		st.remember([]market.Candle{c})
	}
}
