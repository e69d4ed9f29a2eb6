package fakevenue

// The Bybit v5 fake (../shared/protocols/bybit.md): the public sockets /v5/public/spot and
// /v5/public/linear (subscribe/unsubscribe with the category's ack shape, JSON ping → pong,
// refused topics in the venue's failure shape, trades, orderbook.{50,200,1000} snapshot +
// delta with update ids, kline.1 pushes) and REST /v5/market/kline (newest first, inclusive
// start/end on open times, limit 1–1000 capped by PageLimit, the open bar included) and
// /v5/market/instruments-info, with retCode errors on HTTP 200.

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tradeconsole/tradeconsole/market"
)

// Paths of the Bybit fake's sockets.
const (
	BybitSpotPath   = "/v5/public/spot"
	BybitLinearPath = "/v5/public/linear"
)

// BybitOptions configure the Bybit fake.
type BybitOptions struct {
	// PageLimit caps every REST kline page below the limit asked for (0: no cap beyond the
	// venue's 1000), to force small pages in tests.
	PageLimit int
}

type bybitVenue struct {
	p   *Player
	opt BybitOptions

	mu     sync.Mutex
	conns  map[*Conn]*bybitConn
	nconn  int
	cross  int64                     // the venue's cross sequence ("seq")
	lastPx map[market.Symbol]float64 // for the linear tick direction
}

// bybitConn is one client connection's venue-side state.
type bybitConn struct {
	linear bool
	id     string
	depth  map[market.Symbol]int // the orderbook depth subscribed
}

// NewBybit serves Bybit from p on loopback: WS at Server.WS(BybitSpotPath) and
// Server.WS(BybitLinearPath), REST at Server.URL.
func NewBybit(p *Player, opt BybitOptions) *Server {
	s := NewServer()
	v := &bybitVenue{p: p, opt: opt, conns: map[*Conn]*bybitConn{}, cross: 40_000_000_000,
		lastPx: map[market.Symbol]float64{}}
	for _, path := range []string{BybitSpotPath, BybitLinearPath} {
		s.Mux.Handle(path, s.Serve(Handler{Player: p, OnFrame: v.onFrame, Encode: v.encode}))
	}
	s.Mux.HandleFunc("/v5/market/kline", v.klines)
	s.Mux.HandleFunc("/v5/market/instruments-info", v.instruments)
	return s
}

// conn returns c's state, made on first use and forgotten when the connection ends.
func (v *bybitVenue) conn(c *Conn) *bybitConn {
	v.mu.Lock()
	defer v.mu.Unlock()
	bc, ok := v.conns[c]
	if ok {
		return bc
	}
	v.nconn++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", c.Req.RemoteAddr, v.nconn)
	x := h.Sum64()
	bc = &bybitConn{linear: c.Req.URL.Path == BybitLinearPath,
		id:    fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(x>>32), uint16(x>>16), uint16(x), v.nconn&0xffff, x&0xffffffffffff),
		depth: map[market.Symbol]int{}}
	v.conns[c] = bc
	go func() { // owned by the connection: it ends when the connection does
		<-c.Sub.Dropped
		v.mu.Lock()
		delete(v.conns, c)
		v.mu.Unlock()
	}()
	return bc
}

// bybitTopic splits a topic into its symbol, player channel and (orderbook) depth.
func (v *bybitVenue) bybitTopic(topic string) (sym market.Symbol, channel string, depth int, ok bool) {
	parts := strings.Split(topic, ".")
	switch {
	case len(parts) == 2 && parts[0] == "publicTrade":
		sym, channel = market.Symbol(parts[1]), market.ChannelTrades
	case len(parts) == 3 && parts[0] == "orderbook":
		d, err := strconv.Atoi(parts[1])
		if err != nil || (d != 50 && d != 200 && d != 1000) { // depth 1 (snapshots only) is not played
			return "", "", 0, false
		}
		sym, channel, depth = market.Symbol(parts[2]), market.ChannelBook, d
	case len(parts) == 3 && parts[0] == "kline" && parts[1] == "1": // the script has 1m bars only
		sym, channel = market.Symbol(parts[2]), market.ChannelCandles
	default:
		return "", "", 0, false
	}
	return sym, channel, depth, v.p.Has(sym)
}

// bybitReply builds a control answer in the category's shape: spot leaves req_id out when
// the request had none and says the op in ret_msg; linear always has req_id and an empty
// ret_msg.
func bybitReply(bc *bybitConn, success bool, retMsg, reqID string, hasReqID bool, op string) []byte {
	b := []byte(`{"success":`)
	b = strconv.AppendBool(b, success)
	b = append(b, `,"ret_msg":`...)
	b = strconv.AppendQuote(b, retMsg)
	b = append(b, `,"conn_id":`...)
	b = strconv.AppendQuote(b, bc.id)
	if bc.linear || hasReqID {
		b = append(b, `,"req_id":`...)
		b = strconv.AppendQuote(b, reqID)
	}
	b = append(b, `,"op":`...)
	b = strconv.AppendQuote(b, op)
	return append(b, '}')
}

func (v *bybitVenue) onFrame(c *Conn, _ int, data []byte) {
	bc := v.conn(c)
	var req struct {
		ReqID *string  `json:"req_id"`
		Op    string   `json:"op"`
		Args  []string `json:"args"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		c.Reply(bybitReply(bc, false, "error:request not json", "", false, ""))
		return
	}
	id, hasID := "", req.ReqID != nil
	if hasID {
		id = *req.ReqID
	}
	okMsg := req.Op // spot says the op; linear says nothing
	if bc.linear {
		okMsg = ""
	}
	switch req.Op {
	case "ping":
		c.Reply(bybitReply(bc, true, "pong", id, hasID, "ping"))
	case "subscribe":
		if !bc.linear && len(req.Args) > 10 {
			c.Reply(bybitReply(bc, false, "error:args size >10", id, hasID, "subscribe"))
			return
		}
		var bad []string
		type sub struct {
			sym     market.Symbol
			channel string
			depth   int
		}
		var good []sub
		for _, a := range req.Args {
			sym, ch, depth, ok := v.bybitTopic(a)
			if !ok || v.p.Rejected(a) {
				bad = append(bad, a)
				continue
			}
			good = append(good, sub{sym, ch, depth})
		}
		if len(bad) > 0 {
			c.Reply(bybitReply(bc, false, "error:handler not found,topic:"+strings.Join(bad, ","), id, hasID, "subscribe"))
		} else {
			c.Reply(bybitReply(bc, true, okMsg, id, hasID, "subscribe"))
		}
		// The valid topics of a request are subscribed even when another one is refused
		// (the real venue's behaviour here is not documented). The ack goes first, then the
		// book snapshot.
		for _, s := range good {
			if s.channel == market.ChannelBook {
				v.mu.Lock()
				bc.depth[s.sym] = s.depth
				v.mu.Unlock()
			}
			c.Sub.Subscribe(s.sym, s.channel, s.channel == market.ChannelBook)
		}
	case "unsubscribe":
		for _, a := range req.Args {
			if sym, ch, _, ok := v.bybitTopic(a); ok {
				c.Sub.Unsubscribe(sym, ch)
			}
		}
		c.Reply(bybitReply(bc, true, okMsg, id, hasID, "unsubscribe"))
	default:
		c.Reply(bybitReply(bc, false, "error:unsupported op "+req.Op, id, hasID, req.Op))
	}
}

func (v *bybitVenue) nextCross() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cross += 3
	return v.cross
}

func bybitLevels(b []byte, ls []Level) []byte {
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendQuote(b, l.Price)
		b = append(b, ',')
		b = strconv.AppendQuote(b, l.Size)
		b = append(b, ']')
	}
	return append(b, ']')
}

func bybitF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (v *bybitVenue) encode(c *Conn, o Out) [][]byte {
	bc := v.conn(c)
	sym := string(o.Symbol)
	switch o.Kind {
	case OutTrade:
		t := o.Trade
		b := []byte(`{"topic":"publicTrade.` + sym + `","type":"snapshot","ts":`)
		b = strconv.AppendInt(b, o.Time, 10)
		b = append(b, `,"data":[{"T":`...)
		b = strconv.AppendInt(b, t.Time, 10)
		b = append(b, `,"s":"`+sym+`","S":"`...)
		if t.Side == market.Buy {
			b = append(b, "Buy"...)
		} else {
			b = append(b, "Sell"...)
		}
		b = append(b, `","v":`...)
		b = strconv.AppendQuote(b, t.Size)
		b = append(b, `,"p":`...)
		b = strconv.AppendQuote(b, t.Price)
		if bc.linear {
			px, _ := strconv.ParseFloat(t.Price, 64)
			v.mu.Lock()
			last, seen := v.lastPx[o.Symbol]
			v.lastPx[o.Symbol] = px
			v.mu.Unlock()
			dir := "ZeroPlusTick"
			switch {
			case seen && px > last:
				dir = "PlusTick"
			case seen && px < last:
				dir = "MinusTick"
			}
			b = append(b, `,"L":"`+dir+`"`...)
		}
		b = append(b, `,"i":"`...)
		b = strconv.AppendInt(b, t.ID, 10)
		b = append(b, `","BT":false`...)
		if bc.linear {
			b = append(b, `,"seq":`...)
			b = strconv.AppendInt(b, v.nextCross(), 10)
		}
		return [][]byte{append(b, "}]}"...)}
	case OutBook, OutSnapshot:
		v.mu.Lock()
		depth := bc.depth[o.Symbol]
		v.mu.Unlock()
		if depth == 0 {
			depth = 50
		}
		kind, u := "delta", o.Delta.Seq
		var bids, asks []Level
		if o.Kind == OutSnapshot {
			kind, u = "snapshot", o.Snapshot.Seq
			bids, asks = o.Snapshot.Bids(depth), o.Snapshot.Asks(depth)
		} else {
			// as the venue sends them: bids descending, asks ascending
			bids, asks = sortLevels(slices.Clone(o.Delta.Bids), true), sortLevels(slices.Clone(o.Delta.Asks), false)
		}
		b := []byte(`{"topic":"orderbook.` + strconv.Itoa(depth) + "." + sym + `","ts":`)
		b = strconv.AppendInt(b, o.Time+2, 10)
		b = append(b, `,"type":"`+kind+`","data":{"s":"`+sym+`","b":`...)
		b = bybitLevels(b, bids)
		b = append(b, `,"a":`...)
		b = bybitLevels(b, asks)
		b = append(b, `,"u":`...)
		b = strconv.AppendInt(b, u, 10)
		b = append(b, `,"seq":`...)
		b = strconv.AppendInt(b, v.nextCross(), 10)
		b = append(b, `},"cts":`...)
		b = strconv.AppendInt(b, o.Time, 10)
		return [][]byte{append(b, '}')}
	case OutKline:
		// The venue pushes the bar while it is open (confirm false) and once closed
		// (confirm true): the fake sends an unconfirmed push with the open price only, then
		// the closed bar.
		k := o.Kline
		open := k
		open.High, open.Low, open.Close, open.Volume = k.Open, k.Open, k.Open, 0
		return [][]byte{bybitKline(sym, open, false, o.Time-1), bybitKline(sym, k, true, o.Time)}
	}
	return nil
}

func bybitKline(sym string, k market.Candle, confirm bool, ts int64) []byte {
	start := k.Time - 60_000
	b := []byte(`{"topic":"kline.1.` + sym + `","data":[{"start":`)
	b = strconv.AppendInt(b, start, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, k.Time-1, 10)
	b = append(b, `,"interval":"1","open":`...)
	b = strconv.AppendQuote(b, bybitF(k.Open))
	b = append(b, `,"close":`...)
	b = strconv.AppendQuote(b, bybitF(k.Close))
	b = append(b, `,"high":`...)
	b = strconv.AppendQuote(b, bybitF(k.High))
	b = append(b, `,"low":`...)
	b = strconv.AppendQuote(b, bybitF(k.Low))
	b = append(b, `,"volume":`...)
	b = strconv.AppendQuote(b, bybitF(k.Volume))
	b = append(b, `,"turnover":`...)
	b = strconv.AppendQuote(b, strconv.FormatFloat(k.Volume*k.Close, 'f', 4, 64))
	b = append(b, `,"confirm":`...)
	b = strconv.AppendBool(b, confirm)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `}],"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, `,"type":"snapshot"}`...)
}

// bybitIntervals are the REST kline intervals the fake serves (all of the venue's but M).
var bybitIntervals = map[string]market.Timeframe{
	"1": market.TF1m, "3": market.TF3m, "5": market.TF5m, "15": market.TF15m, "30": market.TF30m,
	"60": market.TF1h, "120": market.TF2h, "240": market.TF4h, "360": market.TF6h, "720": market.TF12h,
	"D": market.TF1d, "W": market.TF1w,
}

// bybitJSON writes a REST answer: HTTP 200 always, errors as a non-zero retCode.
func (v *bybitVenue) bybitJSON(w http.ResponseWriter, code int, msg string, result any) {
	if result == nil {
		result = struct{}{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Bapi-Limit", "600")
	_ = json.NewEncoder(w).Encode(struct {
		RetCode    int      `json:"retCode"`
		RetMsg     string   `json:"retMsg"`
		Result     any      `json:"result"`
		RetExtInfo struct{} `json:"retExtInfo"`
		Time       int64    `json:"time"`
	}{code, msg, result, struct{}{}, v.p.Now()})
}

// klines serves GET /v5/market/kline from the script as the venue would answer at the
// player's time: bars whose open time is in [start, end], newest first, the still-open bar
// included, at most limit (default 200, 1–1000) and PageLimit rows.
func (v *bybitVenue) klines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cat := q.Get("category")
	if cat == "" {
		cat = "linear" // the venue's default
	}
	if cat != "spot" && cat != "linear" && cat != "inverse" {
		v.bybitJSON(w, 10001, "params error: category is invalid", nil)
		return
	}
	sym := market.Symbol(q.Get("symbol"))
	if !v.p.Has(sym) {
		v.bybitJSON(w, 10001, "Not supported symbols", nil)
		return
	}
	tf, ok := bybitIntervals[q.Get("interval")]
	if !ok {
		v.bybitJSON(w, 10001, "params error: interval is invalid", nil)
		return
	}
	limit := 200
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			v.bybitJSON(w, 10001, "params error: limit must be 1-1000", nil)
			return
		}
		limit = n
	}
	if v.opt.PageLimit > 0 {
		limit = min(limit, v.opt.PageLimit)
	}
	now := v.p.Now()
	start, end := int64(0), now
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"start", &start}, {"end", &end}} {
		if s := q.Get(f.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				v.bybitJSON(w, 10001, "params error: "+f.name+" is invalid", nil)
				return
			}
			*f.dst = n
		}
	}
	closed, open, hasOpen := v.p.Script().KlinesAt(sym, now)
	bars := Interval(closed, tf)
	// The still-open bar of tf: the 1m bars of the current bucket so far.
	cur := tf.End(now)
	var part []market.Candle
	for _, k := range closed {
		if tf.End(k.Time-60_000) == cur {
			part = append(part, k)
		}
	}
	if hasOpen {
		part = append(part, open)
	}
	if len(part) > 0 && tf != market.TF1m {
		c := part[0]
		c.Timeframe, c.Time = tf, cur
		for _, k := range part[1:] {
			c.High, c.Low, c.Close = max(c.High, k.High), min(c.Low, k.Low), k.Close
			c.Volume += k.Volume
		}
		c.Volume = roundVol(c.Volume)
		bars = append(bars, c)
	} else if hasOpen && tf == market.TF1m {
		bars = append(bars, open)
	}
	list := [][]string{}
	for i := len(bars) - 1; i >= 0 && len(list) < limit; i-- {
		k := bars[i]
		o := k.Time - tf.Millis()
		if o < start || o > end {
			continue
		}
		list = append(list, []string{strconv.FormatInt(o, 10), bybitF(k.Open), bybitF(k.High), bybitF(k.Low),
			bybitF(k.Close), bybitF(k.Volume), strconv.FormatFloat(k.Volume*k.Close, 'f', 4, 64)})
	}
	v.bybitJSON(w, 0, "OK", struct {
		Symbol   string     `json:"symbol"`
		Category string     `json:"category"`
		List     [][]string `json:"list"`
	}{string(sym), cat, list})
}

// instruments serves GET /v5/market/instruments-info: one row per script symbol (or the one
// asked for); an unknown symbol gets an empty list, as the venue answers.
func (v *bybitVenue) instruments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cat := q.Get("category")
	if cat != "spot" && cat != "linear" {
		v.bybitJSON(w, 10001, "params error: category is invalid", nil)
		return
	}
	s := v.p.Script()
	syms := slices.Clone(s.Config.Symbols)
	if want := q.Get("symbol"); want != "" {
		syms = nil
		if v.p.Has(market.Symbol(want)) {
			syms = []market.Symbol{market.Symbol(want)}
		}
	}
	list := []map[string]any{}
	for _, sym := range syms {
		tick := "1"
		if bs := s.Initial[sym].Bids(1); len(bs) > 0 {
			if i := strings.IndexByte(bs[0].Price, '.'); i >= 0 {
				tick = "0." + strings.Repeat("0", len(bs[0].Price)-i-2) + "1"
			}
		}
		row := map[string]any{"symbol": string(sym), "status": "Trading", "baseCoin": strings.TrimSuffix(string(sym), "USDT"),
			"quoteCoin": "USDT", "priceFilter": map[string]string{"tickSize": tick}}
		if cat == "spot" {
			row["lotSizeFilter"] = map[string]string{"basePrecision": "0.0001", "quotePrecision": "0.00000001",
				"minOrderQty": "0.0001", "maxOrderQty": "1000", "minOrderAmt": "5", "maxOrderAmt": "8000000"}
		} else {
			row["contractType"] = "LinearPerpetual"
			row["lotSizeFilter"] = map[string]string{"maxOrderQty": "1000", "minOrderQty": "0.0001", "qtyStep": "0.0001",
				"minNotionalValue": "5"}
		}
		list = append(list, row)
	}
	res := map[string]any{"category": cat, "list": list}
	if cat == "linear" {
		res["nextPageCursor"] = ""
	}
	v.bybitJSON(w, 0, "OK", res)
}
