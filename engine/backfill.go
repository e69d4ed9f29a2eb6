package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

const msDay = int64(24 * time.Hour / time.Millisecond)

// backfill makes every series continuous up to the feed clock before live data flows.
//
// For each symbol, with f the finest configured timeframe of at least 1m and L the largest:
//   - the f-candles already stored in the current L bucket are replayed into the aggregator, so
//     higher timeframes resume with their partial candle instead of starting mid-bucket;
//   - 1m candles from the feed's history (if it has one) fill the gap from the last stored
//     candle to now — or, on a first start, HistoryDays back from now;
//   - everything this closes is stored; what stays open is continued by live trades.
//
// It waits for the store to commit, so readers see the whole history when Start returns.
func (e *Engine) backfill(ctx context.Context) error {
	hist, _ := e.feed.(HistorySource)
	now := e.feed.Now()
	to := market.TF1m.Floor(now)
	for _, sym := range e.syms {
		st := e.symbols[sym]
		tfs := st.agg.Timeframes()
		f, L := market.Timeframe(0), tfs[len(tfs)-1]
		for _, tf := range tfs {
			if venueTF(tf) { // the finest whole-minute timeframe
				f = tf
				break
			}
		}
		if f == 0 {
			continue // only second timeframes: nothing can be derived from 1m history
		}
		last, ok, err := e.store.LastCandleTime(ctx, e.feed.Name(), sym, f)
		if err != nil {
			return fmt.Errorf("engine: backfill %s: %w", sym, err)
		}
		var closed, kclosed []market.Candle
		var fed int64 // newest stamp added
		add := func(c market.Candle) {
			closed, _ = st.agg.AddCandle(c, closed)
			if st.kl != nil {
				kclosed, _ = st.kl.agg.AddCandle(c, kclosed)
			}
			fed = max(fed, c.Time)
		}
		from := to - int64(e.opt.HistoryDays)*msDay
		switch {
		case ok && last > now:
			e.log.Warn("stored candles are ahead of the clock; not resuming from them (an earlier run with sim speed > 1?)",
				"symbol", sym, "timeframe", f, "last", time.UnixMilli(last).UTC())
			from = to
		case ok && last >= from:
			prior, err := e.store.Candles(ctx, e.feed.Name(), sym, f, L.Floor(last-int64(f))+1, last)
			if err != nil {
				return fmt.Errorf("engine: backfill %s: %w", sym, err)
			}
			for _, c := range prior {
				add(c)
			}
			fed = max(fed, last)
			from = last
		default:
			from = L.Floor(from)
		}
		var fetched int
		if hist != nil && from < to {
			cs, err := hist.History(sym, from, to)
			switch {
			case err != nil && st.kl != nil:
				// A venue's REST may be down at start: live data still flows, and the clock
				// retries the fill (checkKlines).
				e.log.Error("history backfill failed; retrying later", "exchange", e.feed.Name(), "symbol", sym, "err", err)
			case err != nil:
				return fmt.Errorf("engine: history %s: %w", sym, err)
			}
			fetched = len(cs)
			for _, c := range cs {
				add(c)
			}
		}
		if st.kl != nil {
			// Venue mode: the kline aggregator's candles are the stored ones.
			closed = kclosed
			st.kl.last = fed
			if fed == 0 {
				// Nothing stored or fetched: klines are expected from here on (a REST fill of
				// a history that failed, or the minute open at start).
				st.kl.last = from
			}
		}
		st.mu.Lock()
		if st.kl != nil {
			for _, c := range closed {
				st.kl.final[c.Timeframe] = max(st.kl.final[c.Timeframe], c.Time)
			}
		}
		st.remember(closed)
		st.mu.Unlock()
		st.backfilled.Add(int64(fetched))
		e.store.UpsertCandles(closed...)
		if fetched > 0 {
			e.log.Info("history backfilled", "symbol", sym, "candles_1m", fetched,
				"from", time.UnixMilli(from).UTC().Format(time.RFC3339), "to", time.UnixMilli(to).UTC().Format(time.RFC3339))
		}
	}
	if err := e.store.Flush(ctx); err != nil {
		return fmt.Errorf("engine: backfill: flush: %w", err)
	}
	return nil
}
