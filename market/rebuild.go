package market

import "sort"

// CandlesFromTrades recomputes the candles of one timeframe from a set of trades by the
// DESIGN.md rule alone, by grouping trades into [T − tf, T) buckets — a deliberately naive
// reference, independent of the Aggregator, used to check stored candles. Trades are taken in
// time order (ties in the given order). Empty intervals between the first and last trade give
// flat candles. Every candle's Exchange and Symbol come from the first trade.
func CandlesFromTrades(tf Timeframe, trades []Trade) []Candle {
	if len(trades) == 0 {
		return nil
	}
	ts := make([]Trade, len(trades))
	copy(ts, trades)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Time < ts[j].Time })
	buckets := map[int64]*Candle{}
	for _, tr := range ts {
		end := tf.End(tr.Time)
		c, ok := buckets[end]
		if !ok {
			buckets[end] = &Candle{Exchange: ts[0].Exchange, Symbol: ts[0].Symbol, Timeframe: tf, Time: end,
				Open: tr.Price, High: tr.Price, Low: tr.Price, Close: tr.Price, Volume: tr.Size, Trades: 1}
			continue
		}
		c.High = max(c.High, tr.Price)
		c.Low = min(c.Low, tr.Price)
		c.Close = tr.Price
		c.Volume += tr.Size
		c.Trades++
	}
	first, last := tf.End(ts[0].Time), tf.End(ts[len(ts)-1].Time)
	var out []Candle
	prev := 0.0
	for end := first; end <= last; end += int64(tf) {
		if c, ok := buckets[end]; ok {
			out = append(out, *c)
			prev = c.Close
			continue
		}
		out = append(out, Candle{Exchange: ts[0].Exchange, Symbol: ts[0].Symbol, Timeframe: tf, Time: end,
			Open: prev, High: prev, Low: prev, Close: prev})
	}
	return out
}
