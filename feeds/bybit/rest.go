package bybit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// APIError is an answer with a non-zero retCode (Bybit sends them with HTTP 200, or with a
// 4xx status): the venue's own code and message.
type APIError struct {
	Symbol market.Symbol
	Code   int
	Msg    string
	HTTP   int // the HTTP status when it was not 200
}

func (e *APIError) Error() string {
	if e.HTTP != 0 && e.HTTP != 200 {
		return fmt.Sprintf("bybit: %s: %s (retCode %d, HTTP %d)", e.Symbol, e.Msg, e.Code, e.HTTP)
	}
	return fmt.Sprintf("bybit: %s: %s (retCode %d)", e.Symbol, e.Msg, e.Code)
}

// intervals maps our timeframes to Bybit's kline intervals (protocol §6).
var intervals = map[market.Timeframe]string{
	market.TF1m: "1", market.TF3m: "3", market.TF5m: "5", market.TF15m: "15", market.TF30m: "30",
	market.TF1h: "60", market.TF2h: "120", market.TF4h: "240", market.TF6h: "360", market.TF12h: "720",
	market.TF1d: "D", market.TF1w: "W",
}

// Timeframes lists the kline intervals Bybit serves that tradeconsole knows (the monthly
// interval has no Timeframe).
func (f *Feed) Timeframes() []market.Timeframe {
	out := make([]market.Timeframe, 0, len(intervals))
	for tf := range intervals {
		out = append(out, tf)
	}
	slices.Sort(out)
	return out
}

// envelope is every REST answer.
type envelope struct {
	RetCode int             `json:"retCode"`
	RetMsg  string          `json:"retMsg"`
	Result  json.RawMessage `json:"result"`
}

// get fetches a REST path and returns its result, with retCode errors as *APIError. Rate
// limit answers (retCode 10006) and server restarts (10016) are retried after a pause; an
// HTTP 403 (the IP limit) holds every request of the feed back for 10 minutes, as the venue
// asks.
func (f *Feed) get(ctx context.Context, path string, q url.Values, sym market.Symbol) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		body, err := f.rest.Get(ctx, path, q)
		if err != nil {
			var he *venue.HTTPError
			if errors.As(err, &he) {
				if he.Status == 403 {
					f.limit.Backoff(10 * time.Minute)
				}
				var e envelope
				if json.Unmarshal([]byte(he.Body), &e) == nil && e.RetCode != 0 {
					return nil, &APIError{Symbol: sym, Code: e.RetCode, Msg: e.RetMsg, HTTP: he.Status}
				}
			}
			return nil, fmt.Errorf("bybit: %s %s: %w", path, sym, err)
		}
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("bybit: %s %s: decode: %w (body %s)", path, sym, err, venue.Clip(body))
		}
		if (e.RetCode == 10006 || e.RetCode == 10016) && attempt < 3 {
			wait := venue.DefaultBackoff.Delay(attempt + 1)
			f.limit.Backoff(wait)
			continue
		}
		if e.RetCode != 0 {
			return nil, &APIError{Symbol: sym, Code: e.RetCode, Msg: e.RetMsg}
		}
		return e.Result, nil
	}
}

// History returns the closed 1m candles of sym with right-aligned stamps in (from, to],
// ascending (engine.HistorySource).
func (f *Feed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
	defer cancel()
	var out []market.Candle
	err := f.Klines(ctx, sym, market.TF1m, from, to, func(cs []market.Candle) error {
		out = append(out, cs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b market.Candle) int { return int(a.Time - b.Time) })
	return out, nil
}

// Klines fetches the closed tf candles of sym with right-aligned stamps in (from, to] over
// GET /v5/market/kline. Bybit answers newest first and both start and end are inclusive open
// times, so the range is walked backwards: each page's oldest bar moves end down. page gets
// every batch ascending with no duplicates across batches; the batches come newest first.
// Bars still open at the feed clock are dropped.
func (f *Feed) Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error {
	iv, ok := intervals[tf]
	if !ok {
		return fmt.Errorf("bybit: klines %s: timeframe %s is not served by Bybit", sym, tf)
	}
	step := tf.Millis()
	now := f.Now()
	// Open times O with O+tf in (from, to] and the bar closed (O+tf <= now).
	start := from - step + 1
	end := min(to, now) - step
	if end < start {
		return nil
	}
	for {
		q := url.Values{
			"category": {f.cfg.Category},
			"symbol":   {string(sym)},
			"interval": {iv},
			"start":    {strconv.FormatInt(start, 10)},
			"end":      {strconv.FormatInt(end, 10)},
			"limit":    {strconv.Itoa(f.cfg.KlinePageLimit)},
		}
		res, err := f.get(ctx, "/v5/market/kline", q, sym)
		if err != nil {
			return err
		}
		var r struct {
			List [][]string `json:"list"`
		}
		if err := json.Unmarshal(res, &r); err != nil {
			return fmt.Errorf("bybit: klines %s: decode: %w", sym, err)
		}
		if len(r.List) == 0 {
			return nil
		}
		batch := make([]market.Candle, 0, len(r.List))
		oldest := int64(-1)
		for i, row := range r.List {
			c, open, err := parseKlineRow(row, sym, tf)
			if err != nil {
				return fmt.Errorf("bybit: klines %s: row %d: %w", sym, i, err)
			}
			if oldest < 0 || open < oldest {
				oldest = open
			}
			if open < start || open > end || c.Time > now {
				continue // outside what was asked, or still open
			}
			batch = append(batch, c)
		}
		slices.SortFunc(batch, func(a, b market.Candle) int { return int(a.Time - b.Time) })
		batch = slices.CompactFunc(batch, func(a, b market.Candle) bool { return a.Time == b.Time })
		if len(batch) > 0 {
			if err := page(batch); err != nil {
				return err
			}
		}
		// A short page is not taken as the end: a server may cap the page below the limit
		// asked for. The walk ends at the range's start or on an empty page.
		if oldest <= start {
			return nil
		}
		if oldest > end {
			return fmt.Errorf("bybit: klines %s: paging made no progress (oldest bar %d after end %d)", sym, oldest, end)
		}
		end = oldest - 1
	}
}

// parseKlineRow reads [startTime, open, high, low, close, volume, turnover].
func parseKlineRow(row []string, sym market.Symbol, tf market.Timeframe) (market.Candle, int64, error) {
	if len(row) < 6 {
		return market.Candle{}, 0, fmt.Errorf("%d fields, want 7", len(row))
	}
	open, err := strconv.ParseInt(row[0], 10, 64)
	if err != nil {
		return market.Candle{}, 0, fmt.Errorf("startTime %q: %w", row[0], err)
	}
	var v [5]float64
	for i := range v {
		x, err := strconv.ParseFloat(row[1+i], 64)
		if err != nil || x-x != 0 {
			return market.Candle{}, 0, fmt.Errorf("field %d %q: not a number", 1+i, row[1+i])
		}
		v[i] = x
	}
	return market.Candle{Exchange: Name, Symbol: sym, Timeframe: tf, Time: tf.FromOpenTime(open),
		Open: v[0], High: v[1], Low: v[2], Close: v[3], Volume: v[4]}, open, nil
}

// instrumentRow is the part of an instruments-info row the feed reads (protocol §8).
type instrumentRow struct {
	Symbol      string `json:"symbol"`
	Status      string `json:"status"`
	PriceFilter struct {
		TickSize string `json:"tickSize"`
	} `json:"priceFilter"`
	LotSizeFilter struct {
		BasePrecision string `json:"basePrecision"` // spot
		QtyStep       string `json:"qtyStep"`       // linear
		MinOrderQty   string `json:"minOrderQty"`
	} `json:"lotSizeFilter"`
}

// Instrument fetches sym's trading rules from GET /v5/market/instruments-info. An unknown
// symbol is an error naming it (the venue answers an empty list, or a retCode error).
func (f *Feed) Instrument(ctx context.Context, sym market.Symbol) (market.Instrument, error) {
	cursor := ""
	for pages := 0; pages < 50; pages++ {
		q := url.Values{"category": {f.cfg.Category}, "symbol": {string(sym)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res, err := f.get(ctx, "/v5/market/instruments-info", q, sym)
		if err != nil {
			return market.Instrument{}, err
		}
		var r struct {
			List           []instrumentRow `json:"list"`
			NextPageCursor string          `json:"nextPageCursor"`
		}
		if err := json.Unmarshal(res, &r); err != nil {
			return market.Instrument{}, fmt.Errorf("bybit: instrument %s: decode: %w", sym, err)
		}
		for _, row := range r.List {
			if row.Symbol == string(sym) {
				return f.instrument(sym, row)
			}
		}
		if r.NextPageCursor == "" {
			break
		}
		cursor = r.NextPageCursor
	}
	return market.Instrument{}, fmt.Errorf("bybit: %s: not listed in category %s (instruments-info has no such symbol)", sym, f.cfg.Category)
}

func (f *Feed) instrument(sym market.Symbol, row instrumentRow) (market.Instrument, error) {
	lot := row.LotSizeFilter.QtyStep
	if f.cfg.Category == "spot" || lot == "" {
		lot = row.LotSizeFilter.BasePrecision
	}
	var vals [3]float64
	for i, s := range []string{row.PriceFilter.TickSize, lot, row.LotSizeFilter.MinOrderQty} {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return market.Instrument{}, fmt.Errorf("bybit: instrument %s: %q is not a number", sym, s)
		}
		vals[i] = x
	}
	return market.Instrument{Exchange: Name, Symbol: sym, Venue: row.Symbol, TickSize: vals[0], LotSize: vals[1],
		MinSize: vals[2], Trading: row.Status == "Trading"}, nil
}

var _ venue.Historian = (*Feed)(nil)
