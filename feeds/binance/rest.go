package binance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// APIError is a REST error answer: {"code":-1121,"msg":"Invalid symbol."} with its HTTP
// status.
type APIError struct {
	Status int
	Code   int
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (code %d, HTTP %d)", e.Msg, e.Code, e.Status)
}

// weightBudget keeps the REST request weight spent in any minute within Binance's allowance
// (REQUEST_WEIGHT per minute per IP): a request waits only when its weight would overrun
// it, so bursts (several depth snapshots after a reconnect) go at once.
type weightBudget struct {
	mu    sync.Mutex
	limit int
	spent []weightSpent // oldest first
}

type weightSpent struct {
	at time.Time
	w  int
}

// wait blocks until w can be spent, or ctx is done.
func (b *weightBudget) wait(ctx context.Context, w int) error {
	for {
		b.mu.Lock()
		now := time.Now()
		total, drop := 0, 0
		for i, s := range b.spent {
			if now.Sub(s.at) >= time.Minute {
				drop = i + 1
				continue
			}
			total += s.w
		}
		b.spent = append(b.spent[:0], b.spent[drop:]...)
		if len(b.spent) == 0 || total+w <= b.limit {
			b.spent = append(b.spent, weightSpent{now, w})
			b.mu.Unlock()
			return nil
		}
		wait := b.spent[0].at.Add(time.Minute).Sub(now)
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// get spends weight from the feed's budget and fetches path (venue.REST spaces the requests
// with the feed's limiter and honours Retry-After); a venue error body becomes an *APIError.
func (f *Feed) get(ctx context.Context, path string, q url.Values, weight int) ([]byte, error) {
	if err := f.weight.wait(ctx, weight); err != nil {
		return nil, err
	}
	body, err := f.rest.Get(ctx, path, q)
	if err != nil {
		var he *venue.HTTPError
		if errors.As(err, &he) {
			var e struct {
				Code *int   `json:"code"`
				Msg  string `json:"msg"`
			}
			if json.Unmarshal([]byte(he.Body), &e) == nil && e.Code != nil {
				return nil, &APIError{Status: he.Status, Code: *e.Code, Msg: e.Msg}
			}
		}
		return nil, err
	}
	return body, nil
}

// depthWeight is the request weight of GET /api/v3/depth for a limit.
func depthWeight(limit int) int {
	switch {
	case limit <= 100:
		return 5
	case limit <= 500:
		return 25
	case limit <= 1000:
		return 50
	}
	return 250
}

// depthSnapshot fetches GET /api/v3/depth?symbol=…&limit=BookDepth.
func (f *Feed) depthSnapshot(ctx context.Context, sym market.Symbol) (depthSnap, error) {
	q := url.Values{"symbol": {string(sym)}, "limit": {strconv.Itoa(f.cfg.BookDepth)}}
	body, err := f.get(ctx, "/api/v3/depth", q, depthWeight(f.cfg.BookDepth))
	if err != nil {
		return depthSnap{}, fmt.Errorf("binance: %s: depth snapshot: %w", sym, err)
	}
	snap, err := parseDepthSnapshot(body)
	if err != nil {
		return depthSnap{}, fmt.Errorf("binance: %s: depth snapshot: %w (%s)", sym, err, venue.Clip(body))
	}
	return snap, nil
}

// parseDepthSnapshot reads {"lastUpdateId":N,"bids":[[p,q],…],"asks":[…]}.
func parseDepthSnapshot(body []byte) (depthSnap, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return depthSnap{}, err
	}
	id, ok := intField(v, "lastUpdateId")
	if !ok || id < 0 {
		return depthSnap{}, errors.New("no lastUpdateId")
	}
	bids, ok1 := levels(nil, v.Get("bids"))
	asks, ok2 := levels(nil, v.Get("asks"))
	if !ok1 || !ok2 {
		return depthSnap{}, errors.New("bad levels")
	}
	return depthSnap{lastUpdateID: id, bids: bids, asks: asks}, nil
}

// checkSymbols asks exchangeInfo about every configured symbol (a stream of an unknown
// symbol is acknowledged and then silent); an unknown one is an error naming it.
func (f *Feed) checkSymbols(ctx context.Context) error {
	for syms := f.cfg.Symbols; len(syms) > 0; {
		n := min(100, len(syms))
		list, _ := json.Marshal(syms[:n])
		_, err := f.get(ctx, "/api/v3/exchangeInfo", url.Values{"symbols": {string(list)}}, 20)
		var api *APIError
		if errors.As(err, &api) && n > 1 {
			// Name the culprit: Binance only says "Invalid symbol.".
			for _, s := range syms[:n] {
				if _, err := f.Instrument(ctx, s); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return fmt.Errorf("binance: %s: %w", strings.Join(symStrings(syms[:n]), ","), err)
		}
		syms = syms[n:]
	}
	return nil
}

func symStrings(syms []market.Symbol) []string {
	out := make([]string, len(syms))
	for i, s := range syms {
		out[i] = string(s)
	}
	return out
}

// Instrument fetches a symbol's rules from GET /api/v3/exchangeInfo?symbol=…: tick size
// (PRICE_FILTER.tickSize), lot size (LOT_SIZE.stepSize), minimum size (LOT_SIZE.minQty),
// and whether it is TRADING.
func (f *Feed) Instrument(ctx context.Context, sym market.Symbol) (market.Instrument, error) {
	body, err := f.get(ctx, "/api/v3/exchangeInfo", url.Values{"symbol": {string(sym)}}, 20)
	if err != nil {
		return market.Instrument{}, fmt.Errorf("binance: %s: %w", sym, err)
	}
	var info struct {
		Symbols []struct {
			Symbol  string `json:"symbol"`
			Status  string `json:"status"`
			Filters []struct {
				FilterType string `json:"filterType"`
				TickSize   string `json:"tickSize"`
				StepSize   string `json:"stepSize"`
				MinQty     string `json:"minQty"`
			} `json:"filters"`
		} `json:"symbols"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return market.Instrument{}, fmt.Errorf("binance: %s: exchangeInfo: %w", sym, err)
	}
	for _, s := range info.Symbols {
		if s.Symbol != string(sym) {
			continue
		}
		in := market.Instrument{Exchange: Name, Symbol: sym, Venue: s.Symbol, Trading: s.Status == "TRADING"}
		for _, fl := range s.Filters {
			switch fl.FilterType {
			case "PRICE_FILTER":
				in.TickSize, _ = strconv.ParseFloat(fl.TickSize, 64)
			case "LOT_SIZE":
				in.LotSize, _ = strconv.ParseFloat(fl.StepSize, 64)
				in.MinSize, _ = strconv.ParseFloat(fl.MinQty, 64)
			}
		}
		return in, nil
	}
	return market.Instrument{}, fmt.Errorf("binance: %s: not in exchangeInfo", sym)
}

// Timeframes are the kline intervals Binance serves that tradeconsole has.
func (f *Feed) Timeframes() []market.Timeframe {
	return []market.Timeframe{market.TF1s, market.TF1m, market.TF3m, market.TF5m, market.TF15m, market.TF30m,
		market.TF1h, market.TF2h, market.TF4h, market.TF6h, market.TF12h, market.TF1d, market.TF1w}
}

// History returns the closed 1m candles of sym with stamps in (from, to], ascending.
func (f *Feed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []market.Candle
	err := f.Klines(ctx, sym, market.TF1m, from, to, func(cs []market.Candle) error {
		out = append(out, cs...)
		return nil
	})
	return out, err
}

// Klines fetches the closed candles of tf with stamps in (from, to] from GET /api/v3/klines,
// oldest first, in pages of KlineLimit: startTime/endTime bound the open time (inclusive), the
// next page starts after the last open time, and a page reaching endTime (or an empty one)
// ends it. The bar still open at the feed clock is dropped; stamps are open time + tf.
func (f *Feed) Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error {
	if !slices.Contains(f.Timeframes(), tf) {
		return fmt.Errorf("binance: %s: timeframe %s is not served by Binance", sym, tf)
	}
	step := tf.Millis()
	hi := min(to, tf.Floor(f.Now())) // a bar is closed once its stamp is ≤ now
	if hi <= from {
		return nil
	}
	start := max(0, from-step+1) // open > from − tf
	end := hi - step             // open ≤ hi − tf
	if end < start {
		return nil
	}
	limit := f.cfg.KlineLimit
	last := from
	for {
		q := url.Values{"symbol": {string(sym)}, "interval": {tf.String()},
			"startTime": {strconv.FormatInt(start, 10)}, "endTime": {strconv.FormatInt(end, 10)},
			"limit": {strconv.Itoa(limit)}}
		body, err := f.get(ctx, "/api/v3/klines", q, 2)
		if err != nil {
			return fmt.Errorf("binance: %s: klines %s: %w", sym, tf, err)
		}
		rows, lastOpen, err := parseKlines(body, sym, tf)
		if err != nil {
			return fmt.Errorf("binance: %s: klines %s: %w", sym, tf, err)
		}
		batch := rows[:0]
		for _, c := range rows {
			if c.Time > last && c.Time <= hi {
				batch = append(batch, c)
				last = c.Time
			}
		}
		if len(batch) > 0 {
			if err := page(batch); err != nil {
				return err
			}
		}
		// Done at endTime, or when nothing is left. A short page does not end the paging: the
		// venue may serve fewer rows than asked (a smaller cap), and Binance serves the bars
		// after a hole, so only an empty page means there are no more.
		if len(rows) == 0 || lastOpen >= end || lastOpen < start {
			return nil
		}
		start = lastOpen + 1
	}
}

// parseKlines reads [[openTime,"o","h","l","c","v",closeTime,"quote",trades,…],…] into
// candles sorted by stamp; lastOpen is the greatest open time (-1 without rows).
func parseKlines(body []byte, sym market.Symbol, tf market.Timeframe) (out []market.Candle, lastOpen int64, err error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, 0, err
	}
	if v.Type() != fastjson.TypeArray {
		return nil, 0, fmt.Errorf("not an array: %s", venue.Clip(body))
	}
	arr, _ := v.Array()
	lastOpen = -1
	for i, row := range arr {
		r, err := row.Array()
		if err != nil || len(r) < 9 {
			return nil, 0, fmt.Errorf("row %d: want ≥ 9 fields: %s", i, venue.Clip(row.MarshalTo(nil)))
		}
		open, err1 := r[0].Int64()
		trades, err2 := r[8].Int64()
		var vals [5]float64
		ok := err1 == nil && err2 == nil && open >= 0 && trades >= 0
		for j := range vals {
			var good bool
			vals[j], good = decimal(r[1+j])
			ok = ok && good && vals[j] >= 0
		}
		if !ok {
			return nil, 0, fmt.Errorf("row %d: bad values: %s", i, venue.Clip(row.MarshalTo(nil)))
		}
		lastOpen = max(lastOpen, open)
		out = append(out, market.Candle{Exchange: Name, Symbol: sym, Timeframe: tf, Time: tf.FromOpenTime(open),
			Open: vals[0], High: vals[1], Low: vals[2], Close: vals[3], Volume: vals[4], Trades: trades})
	}
	slices.SortStableFunc(out, func(a, b market.Candle) int { return cmp.Compare(a.Time, b.Time) })
	return out, lastOpen, nil
}
