package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// FlowData turns a recorded order-flow stream (trades and book snapshots merged by time, as
// storage's order-flow reader yields them) into what a backtest over order flow needs: the
// candles of tf built from its trades (right-aligned, flat candles over quiet intervals, the
// last partial candle included), and one FlowPoint per snapshot with the OBI of its top depth
// levels (0 = all), the CVD of the trades up to it and its best bid and ask — the values
// `tradeconsole orderflow` writes into the metrics table. next returns io.EOF at the end.
func FlowData(next func(*market.FlowRecord) error, tf market.Timeframe, depth int) ([]market.Candle, []strategies.FlowPoint, error) {
	var (
		agg     *market.Aggregator
		candles []market.Candle
		points  []strategies.FlowPoint
		cvd     market.CVD
		rec     market.FlowRecord
		sym     market.Symbol
	)
	for {
		err := next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		s := rec.Trade.Symbol
		if rec.IsBook {
			s = rec.Book.Symbol
		}
		if sym == "" {
			sym = s
		} else if s != sym {
			return nil, nil, fmt.Errorf("order flow: more than one instrument (%s and %s): pick one", sym, s)
		}
		if rec.IsBook {
			p := strategies.FlowPoint{Time: rec.Book.Time, OBI: market.OBI(rec.Book.Bids, rec.Book.Asks, depth), CVD: cvd.Value}
			if len(rec.Book.Bids) > 0 {
				p.BestBid = rec.Book.Bids[0].Price
			}
			if len(rec.Book.Asks) > 0 {
				p.BestAsk = rec.Book.Asks[0].Price
			}
			if n := len(points); n > 0 && p.Time < points[n-1].Time {
				return nil, nil, fmt.Errorf("order flow: snapshot at %d before the one at %d", p.Time, points[n-1].Time)
			}
			points = append(points, p)
			continue
		}
		cvd.Add(rec.Trade.Side, rec.Trade.Size)
		if agg == nil {
			agg = market.NewAggregator(rec.Trade.Exchange, rec.Trade.Symbol, []market.Timeframe{tf}, 0)
		}
		candles, _ = agg.Add(rec.Trade, candles)
	}
	if agg != nil {
		if c, ok := agg.Open(tf); ok {
			candles = append(candles, c)
		}
	}
	if len(candles) == 0 {
		return nil, nil, errors.New("order flow: no trades to build candles from")
	}
	return candles, points, nil
}
