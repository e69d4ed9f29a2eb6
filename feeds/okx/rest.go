package okx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// REST paths.
const (
	pathCandles     = "/api/v5/market/candles"
	pathHistory     = "/api/v5/market/history-candles"
	pathInstruments = "/api/v5/public/instruments"
)

const (
	pageLimit       = 300  // the most rows either candles endpoint returns
	candlesCoverage = 1440 // bars /market/candles serves back from now
)

// barOf maps our timeframes to OKX bar codes. Bars of 6h and longer use the UTC variants:
// OKX's plain 6H…1W open at UTC+8 boundaries, ours at UTC ones.
var barOf = map[market.Timeframe]string{
	market.TF1s: "1s", market.TF1m: "1m", market.TF3m: "3m", market.TF5m: "5m", market.TF15m: "15m",
	market.TF30m: "30m", market.TF1h: "1H", market.TF2h: "2H", market.TF4h: "4H",
	market.TF6h: "6Hutc", market.TF12h: "12Hutc", market.TF1d: "1Dutc", market.TF1w: "1Wutc",
}

// Timeframes lists the kline intervals OKX serves, shortest first (1s from history only,
// for the last three months).
func (f *Feed) Timeframes() []market.Timeframe {
	var out []market.Timeframe
	for _, tf := range market.Timeframes {
		if _, ok := barOf[tf]; ok {
			out = append(out, tf)
		}
	}
	return out
}

// History returns the closed 1m candles of sym with right-aligned stamps in (from, to],
// ascending (the engine's backfill).
func (f *Feed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.HistoryTimeout)
	defer cancel()
	var out []market.Candle
	err := f.Klines(ctx, sym, market.TF1m, from, to, func(cs []market.Candle) error {
		out = append(out, cs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b market.Candle) int { return cmpInt(a.Time, b.Time) })
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Klines fetches the closed candles of tf with right-aligned stamps in (from, to]. OKX pages
// backwards from the newest bar (rows newest first, `after` = return bars older than this
// open time), so page gets the batches newest batch first, each batch ascending, never a bar
// twice. Unfinished bars (confirm "0") are dropped.
//
// Endpoint: /market/candles while the page lies within the latest 1,440 bars (it has the
// freshest bars and twice the rate limit, 40 req/2 s), /market/history-candles beyond them
// and for 1s bars (20 req/2 s). An empty page from candles retries the same cursor on
// history; an empty page from history, or reaching from, ends the fetch.
func (f *Feed) Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error {
	if page == nil {
		return fmt.Errorf("okx: %s: Klines needs a page callback", sym)
	}
	bar, ok := barOf[tf]
	if !ok {
		return fmt.Errorf("okx: %s: timeframe %s is not served by OKX (have %v)", sym, tf, f.Timeframes())
	}
	id, err := f.instID(sym)
	if err != nil {
		return fmt.Errorf("okx: %w", err)
	}
	step := tf.Millis()
	lo, hi := from-step+1, to-step // the open times wanted: lo ≤ open ≤ hi
	if hi < lo {
		return nil
	}
	cursor := hi + 1 // after is exclusive: bars with open < cursor
	history := tf == market.TF1s
	sent := int64(math.MaxInt64) // the oldest open time handed to page so far
	var p fastjson.Parser
	var batch []market.Candle
	for {
		rest, path := f.restCandles, pathCandles
		covStart := tf.Floor(f.Now()) - (candlesCoverage-1)*step
		if history || cursor-1 < covStart {
			rest, path = f.restHistory, pathHistory
		}
		q := url.Values{"instId": {id}, "bar": {bar}, "after": {strconv.FormatInt(cursor, 10)},
			"limit": {strconv.Itoa(pageLimit)}}
		rows, err := f.get(ctx, rest, path, q, &p, sym)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			if !history {
				history = true
				continue
			}
			return nil
		}
		batch = batch[:0]
		oldest := int64(math.MaxInt64)
		for _, row := range rows {
			c, closed, ok := parseCandleRow(row, sym, tf)
			if !ok {
				return fmt.Errorf("okx: %s: %s: bad candle row %s", sym, path, venue.Clip(row.MarshalTo(nil)))
			}
			open := c.Time - step
			oldest = min(oldest, open)
			if closed && open >= lo && open <= hi && open < sent {
				batch = append(batch, c)
			}
		}
		slices.SortFunc(batch, func(a, b market.Candle) int { return cmpInt(a.Time, b.Time) })
		batch = slices.CompactFunc(batch, func(a, b market.Candle) bool { return a.Time == b.Time })
		if len(batch) > 0 {
			sent = batch[0].Time - step
			if err := page(slices.Clone(batch)); err != nil {
				return err
			}
		}
		if oldest <= lo || oldest >= cursor {
			return nil // reached from, or the venue made no progress
		}
		cursor = oldest
	}
}

// get performs one REST call and returns the data array; venue errors (code ≠ "0", HTTP
// errors with OKX's body) come back naming sym with the venue's message.
func (f *Feed) get(ctx context.Context, rest *venue.REST, path string, q url.Values, p *fastjson.Parser, sym market.Symbol) ([]*fastjson.Value, error) {
	body, err := rest.Get(ctx, path, q)
	if err != nil {
		var he *venue.HTTPError
		if errors.As(err, &he) {
			if v, perr := p.Parse(he.Body); perr == nil {
				return nil, fmt.Errorf("okx: %s: %s (code %s; HTTP %d, GET %s)", sym, v.GetStringBytes("msg"),
					codeString(v.Get("code")), he.Status, path)
			}
		}
		return nil, fmt.Errorf("okx: %s: GET %s: %w", sym, path, err)
	}
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("okx: %s: GET %s: decode %s: %w", sym, path, venue.Clip(body), err)
	}
	if code := codeString(v.Get("code")); code != "0" {
		return nil, fmt.Errorf("okx: %s: %s (code %s, GET %s)", sym, v.GetStringBytes("msg"), code, path)
	}
	rows, ok := array(v.Get("data"))
	if !ok {
		return nil, fmt.Errorf("okx: %s: GET %s: no data array in %s", sym, path, venue.Clip(body))
	}
	return rows, nil
}

// Instrument fetches sym's trading rules from /api/v5/public/instruments.
func (f *Feed) Instrument(ctx context.Context, sym market.Symbol) (market.Instrument, error) {
	id, err := f.instID(sym)
	if err != nil {
		return market.Instrument{}, fmt.Errorf("okx: %w", err)
	}
	var p fastjson.Parser
	rows, err := f.get(ctx, f.restInst, pathInstruments, url.Values{"instType": {f.cfg.InstType}, "instId": {id}}, &p, sym)
	if err != nil {
		return market.Instrument{}, err
	}
	for _, r := range rows {
		if string(r.GetStringBytes("instId")) != id {
			continue
		}
		tick, ok1 := parseDecimal(r.GetStringBytes("tickSz"))
		lot, ok2 := parseDecimal(r.GetStringBytes("lotSz"))
		minSz, ok3 := parseDecimal(r.GetStringBytes("minSz"))
		if !ok1 || !ok2 || !ok3 {
			return market.Instrument{}, fmt.Errorf("okx: %s: instrument %s: bad tickSz/lotSz/minSz in %s", sym, id, venue.Clip(r.MarshalTo(nil)))
		}
		return market.Instrument{Exchange: Exchange, Symbol: sym, Venue: id, TickSize: tick, LotSize: lot,
			MinSize: minSz, Trading: string(r.GetStringBytes("state")) == "live"}, nil
	}
	return market.Instrument{}, fmt.Errorf("okx: %s: instrument %s is not listed (instType %s)", sym, id, f.cfg.InstType)
}
