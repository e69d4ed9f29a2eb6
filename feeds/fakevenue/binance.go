package fakevenue

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradeconsole/tradeconsole/market"
)

// BinanceOptions shape the Binance spot fake.
type BinanceOptions struct {
	// PageLimit is the most klines one REST page holds (Binance: 1000); a smaller value forces
	// paging in tests. A request asking for more is truncated to it.
	PageLimit int
	// PingEvery is the server's WebSocket ping period; default 20s as on spot.
	PingEvery time.Duration
}

// BinanceServer is the Binance spot fake: the combined (/stream) and raw (/ws, /ws/<stream>)
// WebSocket endpoints with SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS, server ping frames,
// and the REST endpoints /api/v3/klines, /api/v3/depth, /api/v3/exchangeInfo, /api/v3/ping
// and /api/v3/time, all served from a Player.
type BinanceServer struct {
	*Server
	p   *Player
	opt BinanceOptions

	mu    sync.Mutex
	conns map[*Conn]*binanceConn
	dials int
	hits  map[string]int
}

// binanceConn is one client connection's view: which stream names it subscribed, so frames
// come back under the names the client used.
type binanceConn struct {
	combined bool
	mu       sync.Mutex
	streams  []string                 // subscription order (LIST_SUBSCRIPTIONS)
	byKey    map[binanceKey][]string  // (symbol, channel) → stream names delivering it
	parsed   map[string]binanceStream // stream name → what it is
	shutdown bool                     // a serverShutdown notice was sent
}

type binanceKey struct {
	sym market.Symbol
	ch  string
}

// binanceStream is a parsed stream name.
type binanceStream struct {
	sym  market.Symbol
	ch   string // market.Channel*, or "" for a well-formed stream the fake does not play
	kind string // trade, aggTrade, depth, kline_1m, …
}

// NewBinance serves the Binance spot fake on loopback from p.
func NewBinance(p *Player, opt BinanceOptions) *BinanceServer {
	if opt.PageLimit <= 0 || opt.PageLimit > 1000 {
		opt.PageLimit = 1000
	}
	if opt.PingEvery <= 0 {
		opt.PingEvery = 20 * time.Second
	}
	b := &BinanceServer{Server: NewServer(), p: p, opt: opt, conns: map[*Conn]*binanceConn{}, hits: map[string]int{}}
	h := Handler{Player: p, OnOpen: b.onOpen, OnFrame: b.onFrame, Encode: b.encode, PingEvery: opt.PingEvery}
	serve := b.Serve(h)
	b.Mux.HandleFunc("/stream", serve)
	b.Mux.HandleFunc("/ws", serve)
	b.Mux.HandleFunc("/ws/", serve)
	b.Mux.HandleFunc("/api/v3/klines", b.count(b.klines))
	b.Mux.HandleFunc("/api/v3/depth", b.count(b.depth))
	b.Mux.HandleFunc("/api/v3/exchangeInfo", b.count(b.exchangeInfo))
	b.Mux.HandleFunc("/api/v3/ping", b.count(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []byte("{}")) }))
	b.Mux.HandleFunc("/api/v3/time", b.count(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Appendf(nil, `{"serverTime":%d}`, b.p.Now()))
	}))
	return b
}

// Dials is how many WebSocket connections were opened so far.
func (b *BinanceServer) Dials() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dials
}

// Hits is how many REST requests a path (e.g. "/api/v3/klines") received.
func (b *BinanceServer) Hits(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[path]
}

// Shutdown sends the serverShutdown event to every open connection (wrapped with the stream
// name !serverShutdown on combined streams), in order with the data. The connections stay
// open: the client is expected to move to a new one and close the old.
func (b *BinanceServer) Shutdown() {
	now := b.p.Now()
	b.mu.Lock()
	var live []*Conn
	var combined []bool
	for c, bc := range b.conns {
		select {
		case <-c.Sub.Dropped:
			delete(b.conns, c)
			continue
		default:
		}
		live = append(live, c)
		bc.mu.Lock()
		bc.shutdown = true
		combined = append(combined, bc.combined)
		bc.mu.Unlock()
	}
	b.mu.Unlock()
	for i, c := range live {
		raw := fmt.Appendf(nil, `{"e":"serverShutdown","E":%d}`, now)
		if combined[i] {
			raw = fmt.Appendf(nil, `{"stream":"!serverShutdown","data":%s}`, raw)
		}
		c.Reply(raw)
	}
}

func (b *BinanceServer) count(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits[r.URL.Path]++
		b.mu.Unlock()
		h(w, r)
	}
}

// state returns (making it on first use) a connection's view; the fake's reader may see a
// frame before OnOpen ran.
func (b *BinanceServer) state(c *Conn) *binanceConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	bc, ok := b.conns[c]
	if !ok {
		bc = &binanceConn{combined: strings.HasPrefix(c.Req.URL.Path, "/stream"), byKey: map[binanceKey][]string{},
			parsed: map[string]binanceStream{}}
		b.conns[c] = bc
		b.dials++
		// Forget connections that are gone.
		for oc := range b.conns {
			select {
			case <-oc.Sub.Dropped:
				delete(b.conns, oc)
			default:
			}
		}
	}
	return bc
}

// onOpen subscribes the streams named in the URL: /stream?streams=a/b or /ws/a/b.
func (b *BinanceServer) onOpen(c *Conn) {
	bc := b.state(c)
	var names []string
	if bc.combined {
		if s := c.Req.URL.Query().Get("streams"); s != "" {
			names = strings.Split(s, "/")
		}
	} else if rest, ok := strings.CutPrefix(c.Req.URL.Path, "/ws/"); ok && rest != "" {
		names = strings.Split(rest, "/")
	}
	if len(names) == 0 {
		return
	}
	for _, n := range names {
		if _, ok := parseBinanceStream(n); !ok || b.p.Rejected(n) {
			c.Reply(binanceError(2, "Invalid request: invalid stream", "null"))
			continue
		}
		b.subscribe(c, bc, n)
	}
}

// binanceRequest is a client's control frame.
type binanceRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	ID     json.RawMessage `json:"id"`
}

func (b *BinanceServer) onFrame(c *Conn, mt int, data []byte) {
	if mt != websocket.TextMessage {
		return
	}
	bc := b.state(c)
	var req binanceRequest
	if err := json.Unmarshal(data, &req); err != nil {
		c.Reply(binanceError(3, "Invalid JSON: "+err.Error(), "null"))
		return
	}
	id := "null"
	if len(req.ID) > 0 {
		id = string(req.ID)
		var n uint64
		var s string
		if json.Unmarshal(req.ID, &n) != nil && (json.Unmarshal(req.ID, &s) != nil || len(s) > 36) && id != "null" {
			c.Reply(binanceError(2, "Invalid request: request ID must be an unsigned integer", "null"))
			return
		}
	}
	var params []string
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			c.Reply(binanceError(1, "Invalid value type: expected a list of strings", id))
			return
		}
	}
	switch req.Method {
	case "SUBSCRIBE":
		for _, n := range params {
			if _, ok := parseBinanceStream(n); !ok || b.p.Rejected(n) {
				c.Reply(binanceError(2, "Invalid request: invalid stream", id))
				return
			}
		}
		// The ack goes first, then the data of the new streams.
		c.Reply(fmt.Appendf(nil, `{"result":null,"id":%s}`, id))
		for _, n := range params {
			b.subscribe(c, bc, n)
		}
	case "UNSUBSCRIBE":
		for _, n := range params {
			b.unsubscribe(c, bc, n)
		}
		c.Reply(fmt.Appendf(nil, `{"result":null,"id":%s}`, id))
	case "LIST_SUBSCRIPTIONS":
		bc.mu.Lock()
		list, _ := json.Marshal(append([]string{}, bc.streams...))
		bc.mu.Unlock()
		c.Reply(fmt.Appendf(nil, `{"result":%s,"id":%s}`, list, id))
	default:
		c.Reply(binanceError(2, fmt.Sprintf("Invalid request: unknown variant `%s`", req.Method), id))
	}
}

func binanceError(code int, msg, id string) []byte {
	m, _ := json.Marshal(msg)
	return fmt.Appendf(nil, `{"error":{"code":%d,"msg":%s},"id":%s}`, code, m, id)
}

// parseBinanceStream reads <symbol>@<kind>; ok is false when the name is not a stream name
// (Binance answers "invalid stream"). Well-formed kinds the fake does not play (bookTicker,
// depth5, kline_5m…) have ch "".
func parseBinanceStream(n string) (binanceStream, bool) {
	s, kind, ok := strings.Cut(n, "@")
	if !ok || s == "" || kind == "" {
		return binanceStream{}, false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return binanceStream{}, false
		}
	}
	bs := binanceStream{sym: market.Symbol(strings.ToUpper(s)), kind: kind}
	switch kind {
	case "trade", "aggTrade":
		bs.ch = market.ChannelTrades
	case "depth", "depth@100ms", "depth@1000ms":
		bs.ch = market.ChannelBook
	case "kline_1m":
		bs.ch = market.ChannelCandles
	case "bookTicker", "depth5", "depth10", "depth20", "depth5@100ms", "depth10@100ms", "depth20@100ms",
		"depth5@1000ms", "depth10@1000ms", "depth20@1000ms", "ticker", "miniTicker", "avgPrice":
	default:
		if iv, ok := strings.CutPrefix(kind, "kline_"); ok && binanceIntervals[iv] != 0 {
			break
		}
		return binanceStream{}, false
	}
	return bs, true
}

func (b *BinanceServer) subscribe(c *Conn, bc *binanceConn, n string) {
	bs, _ := parseBinanceStream(n)
	bc.mu.Lock()
	if slices.Contains(bc.streams, n) {
		bc.mu.Unlock()
		return
	}
	bc.streams = append(bc.streams, n)
	bc.parsed[n] = bs
	k := binanceKey{bs.sym, bs.ch}
	first := len(bc.byKey[k]) == 0
	if bs.ch != "" {
		bc.byKey[k] = append(bc.byKey[k], n)
	}
	bc.mu.Unlock()
	if bs.ch != "" && first && b.p.Has(bs.sym) {
		// Binance clients take their book snapshot over REST: no snapshot on the socket.
		c.Sub.Subscribe(bs.sym, bs.ch, false)
	}
}

func (b *BinanceServer) unsubscribe(c *Conn, bc *binanceConn, n string) {
	bc.mu.Lock()
	i := slices.Index(bc.streams, n)
	if i < 0 {
		bc.mu.Unlock()
		return
	}
	bc.streams = slices.Delete(bc.streams, i, i+1)
	bs := bc.parsed[n]
	delete(bc.parsed, n)
	k := binanceKey{bs.sym, bs.ch}
	if j := slices.Index(bc.byKey[k], n); j >= 0 {
		bc.byKey[k] = slices.Delete(bc.byKey[k], j, j+1)
	}
	last := bs.ch != "" && len(bc.byKey[k]) == 0
	bc.mu.Unlock()
	if last {
		c.Sub.Unsubscribe(bs.sym, bs.ch)
	}
}

// encode writes one Out as Binance frames, once per stream name that delivers it.
func (b *BinanceServer) encode(c *Conn, o Out) [][]byte {
	bc := b.state(c)
	ch := ""
	switch o.Kind {
	case OutTrade:
		ch = market.ChannelTrades
	case OutBook, OutSnapshot:
		ch = market.ChannelBook
	case OutKline:
		ch = market.ChannelCandles
	default:
		return nil
	}
	bc.mu.Lock()
	names := slices.Clone(bc.byKey[binanceKey{o.Symbol, ch}])
	kinds := make([]string, len(names))
	for i, n := range names {
		kinds[i] = bc.parsed[n].kind
	}
	combined := bc.combined
	bc.mu.Unlock()
	var out [][]byte
	for i, n := range names {
		payload := encodeBinance(o, kinds[i])
		if payload == nil {
			continue
		}
		if combined {
			f := make([]byte, 0, len(payload)+len(n)+24)
			f = append(f, `{"stream":"`...)
			f = append(f, n...)
			f = append(f, `","data":`...)
			f = append(f, payload...)
			payload = append(f, '}')
		}
		out = append(out, payload)
	}
	return out
}

// encodeBinance is the raw payload of one Out on a stream of the given kind.
func encodeBinance(o Out, kind string) []byte {
	sym := string(o.Symbol)
	b := make([]byte, 0, 256)
	switch o.Kind {
	case OutTrade:
		t := o.Trade
		if kind == "aggTrade" {
			b = append(b, `{"e":"aggTrade","E":`...)
			b = strconv.AppendInt(b, o.Time, 10)
			b = append(b, `,"s":"`...)
			b = append(b, sym...)
			b = append(b, `","a":`...)
			b = strconv.AppendInt(b, t.ID, 10)
		} else {
			b = append(b, `{"e":"trade","E":`...)
			b = strconv.AppendInt(b, o.Time, 10)
			b = append(b, `,"s":"`...)
			b = append(b, sym...)
			b = append(b, `","t":`...)
			b = strconv.AppendInt(b, t.ID, 10)
		}
		b = append(b, `,"p":"`...)
		b = append(b, pad8(t.Price)...)
		b = append(b, `","q":"`...)
		b = append(b, pad8(t.Size)...)
		if kind == "aggTrade" {
			b = append(b, `","f":`...)
			b = strconv.AppendInt(b, t.ID, 10)
			b = append(b, `,"l":`...)
			b = strconv.AppendInt(b, t.ID, 10)
			b = append(b, `,"T":`...)
		} else {
			b = append(b, `","T":`...)
		}
		b = strconv.AppendInt(b, t.Time, 10)
		// m: the buyer is the maker, i.e. the taker sold.
		b = append(b, `,"m":`...)
		b = strconv.AppendBool(b, t.Side == market.Sell)
		b = append(b, `,"M":true}`...)
	case OutBook:
		d := o.Delta
		b = append(b, `{"e":"depthUpdate","E":`...)
		b = strconv.AppendInt(b, o.Time, 10)
		b = append(b, `,"s":"`...)
		b = append(b, sym...)
		b = append(b, `","U":`...)
		b = strconv.AppendInt(b, o.PrevSeq+1, 10)
		b = append(b, `,"u":`...)
		b = strconv.AppendInt(b, d.Seq, 10)
		b = append(b, `,"b":`...) // as Binance prints them: bids high to low, asks low to high
		b = appendBinanceLevels(b, sortLevels(slices.Clone(d.Bids), true))
		b = append(b, `,"a":`...)
		b = appendBinanceLevels(b, sortLevels(slices.Clone(d.Asks), false))
		b = append(b, '}')
	case OutSnapshot:
		// Only the partial-depth streams carry a whole book on the socket (no e/E/s on spot).
		if o.Snapshot == nil {
			return nil
		}
		b = append(b, `{"lastUpdateId":`...)
		b = strconv.AppendInt(b, o.Snapshot.Seq, 10)
		b = append(b, `,"bids":`...)
		b = appendBinanceLevels(b, o.Snapshot.Bids(0))
		b = append(b, `,"asks":`...)
		b = appendBinanceLevels(b, o.Snapshot.Asks(0))
		b = append(b, '}')
	case OutKline:
		k := o.Kline
		open := k.Time - market.TF1m.Millis()
		b = append(b, `{"e":"kline","E":`...)
		b = strconv.AppendInt(b, o.Time, 10)
		b = append(b, `,"s":"`...)
		b = append(b, sym...)
		b = append(b, `","k":{"t":`...)
		b = strconv.AppendInt(b, open, 10)
		b = append(b, `,"T":`...)
		b = strconv.AppendInt(b, k.Time-1, 10)
		b = append(b, `,"s":"`...)
		b = append(b, sym...)
		b = append(b, `","i":"1m","f":-1,"L":-1,"o":"`...)
		b = appendF8(b, k.Open)
		b = append(b, `","c":"`...)
		b = appendF8(b, k.Close)
		b = append(b, `","h":"`...)
		b = appendF8(b, k.High)
		b = append(b, `","l":"`...)
		b = appendF8(b, k.Low)
		b = append(b, `","v":"`...)
		b = appendF8(b, k.Volume)
		b = append(b, `","n":`...)
		b = strconv.AppendInt(b, k.Trades, 10)
		b = append(b, `,"x":true,"q":"`...)
		b = appendF8(b, k.Volume*k.Close)
		b = append(b, `","V":"0.00000000","Q":"0.00000000","B":"0"}}`...)
	}
	return b
}

func appendBinanceLevels(b []byte, ls []Level) []byte {
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = append(b, pad8(l.Price)...)
		b = append(b, `","`...)
		b = append(b, pad8(l.Size)...)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

// pad8 writes a decimal string with (at least) 8 decimals, as Binance prints prices and
// quantities: "0" → "0.00000000", "60000.1" → "60000.10000000".
func pad8(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s + ".00000000"
	}
	if n := len(s) - dot - 1; n < 8 {
		return s + "00000000"[:8-n]
	}
	return s
}

func appendF8(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', 8, 64) }

// binanceIntervals are the kline intervals Binance names, in ms (1M approximated as 30d).
var binanceIntervals = map[string]int64{
	"1s": 1000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
	"1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
	"12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeBinanceError(w http.ResponseWriter, status, code int, msg string) {
	m, _ := json.Marshal(msg)
	writeJSON(w, status, fmt.Appendf(nil, `{"code":%d,"msg":%s}`, code, m))
}

// binanceInt reads an optional integer parameter; ok is false after an error was written.
// binanceLimit reads the limit parameter: def when absent or 0, at most most; false when it
// is malformed (the error is written).
func binanceLimit(w http.ResponseWriter, q url.Values, def, most int64) (int64, bool) {
	limit, has, ok := binanceInt(w, q, "limit")
	if !ok {
		return 0, false
	}
	if !has || limit == 0 {
		limit = def
	}
	return min(limit, most), true
}

func binanceInt(w http.ResponseWriter, q url.Values, name string) (v int64, set, ok bool) {
	s := q.Get(name)
	if s == "" {
		return 0, false, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		writeBinanceError(w, 400, -1100, fmt.Sprintf("Illegal characters found in parameter '%s'; legal range is '^[0-9]{1,20}$'.", name))
		return 0, false, false
	}
	return v, true, true
}

func (b *BinanceServer) symbolParam(w http.ResponseWriter, q url.Values) (market.Symbol, bool) {
	s := q.Get("symbol")
	if s == "" {
		writeBinanceError(w, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
		return "", false
	}
	sym := market.Symbol(s)
	if !b.p.Has(sym) {
		writeBinanceError(w, 400, -1121, "Invalid symbol.")
		return "", false
	}
	return sym, true
}

// klines serves GET /api/v3/klines: rows oldest first by open time; startTime and endTime
// bound the open time (inclusive); with startTime the earliest limit rows from it, otherwise
// the latest limit rows; the bar still open at the player's clock is included.
func (b *BinanceServer) klines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sym, ok := b.symbolParam(w, q)
	if !ok {
		return
	}
	iv := q.Get("interval")
	if iv == "" {
		writeBinanceError(w, 400, -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
		return
	}
	ms := binanceIntervals[iv]
	tf := market.Timeframe(ms)
	// The script has 1m klines: the fake serves 1m and the multiples the market package has.
	if ms == 0 || ms < 60_000 || !tf.Valid() {
		writeBinanceError(w, 400, -1120, "Invalid interval.")
		return
	}
	start, hasStart, ok := binanceInt(w, q, "startTime")
	if !ok {
		return
	}
	end, hasEnd, ok := binanceInt(w, q, "endTime")
	if !ok {
		return
	}
	limit, ok := binanceLimit(w, q, 500, int64(b.opt.PageLimit))
	if !ok {
		return
	}
	if hasStart && hasEnd && start > end {
		writeBinanceError(w, 400, -1023, "Start time is greater than end time.")
		return
	}
	rows := b.rows(sym, tf)
	var sel []binanceRow
	for _, row := range rows {
		o := row.c.Time - ms
		if (hasStart && o < start) || (hasEnd && o > end) {
			continue
		}
		sel = append(sel, row)
	}
	if int64(len(sel)) > limit {
		if hasStart {
			sel = sel[:limit]
		} else {
			sel = sel[int64(len(sel))-limit:]
		}
	}
	out := make([]byte, 0, 160*len(sel)+2)
	out = append(out, '[')
	for i, row := range sel {
		if i > 0 {
			out = append(out, ',')
		}
		c := row.c
		out = append(out, '[')
		out = strconv.AppendInt(out, c.Time-ms, 10)
		for _, v := range []float64{c.Open, c.High, c.Low, c.Close, c.Volume} {
			out = append(out, `,"`...)
			out = appendF8(out, v)
			out = append(out, '"')
		}
		out = append(out, ',')
		out = strconv.AppendInt(out, c.Time-1, 10)
		out = append(out, `,"`...)
		out = appendF8(out, c.Volume*c.Close)
		out = append(out, `",`...)
		out = strconv.AppendInt(out, c.Trades, 10)
		out = append(out, `,"0.00000000","0.00000000","0"]`...)
	}
	out = append(out, ']')
	writeJSON(w, 200, out)
}

type binanceRow struct {
	c    market.Candle
	open bool
}

// rows are every bar of sym at tf the venue has at the player's clock, oldest first, the open
// one last.
func (b *BinanceServer) rows(sym market.Symbol, tf market.Timeframe) []binanceRow {
	now := b.p.Now()
	closed, open, hasOpen := b.p.Script().KlinesAt(sym, now)
	var out []binanceRow
	if tf == market.TF1m {
		for _, c := range closed {
			out = append(out, binanceRow{c: c})
		}
		if hasOpen {
			out = append(out, binanceRow{c: open, open: true})
		}
		return out
	}
	for _, c := range Interval(closed, tf) {
		out = append(out, binanceRow{c: c})
	}
	// The bucket in progress: the closed 1m bars after the last whole bucket, and the open bar.
	var part []market.Candle
	after := int64(math.MinInt64)
	if len(out) > 0 {
		after = out[len(out)-1].c.Time
	}
	for _, c := range closed {
		if c.Time > after && tf.End(c.Time-60_000) == tf.End(now) {
			part = append(part, c)
		}
	}
	if hasOpen {
		part = append(part, open)
	}
	if len(part) > 0 {
		c := part[0]
		c.Timeframe, c.Time = tf, tf.End(part[0].Time-60_000)
		for _, k := range part[1:] {
			c.High, c.Low, c.Close = max(c.High, k.High), min(c.Low, k.Low), k.Close
			c.Volume += k.Volume
			c.Trades += k.Trades
		}
		c.Volume = roundVol(c.Volume)
		out = append(out, binanceRow{c: c, open: true})
	}
	return out
}

// depth serves GET /api/v3/depth: the player's book now, lastUpdateId = its Seq; limit default
// 100, truncated to 5000.
func (b *BinanceServer) depth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sym, ok := b.symbolParam(w, q)
	if !ok {
		return
	}
	limit, ok := binanceLimit(w, q, 100, 5000)
	if !ok {
		return
	}
	book, ok := b.p.Book(sym)
	if !ok {
		writeBinanceError(w, 400, -1121, "Invalid symbol.")
		return
	}
	out := fmt.Appendf(nil, `{"lastUpdateId":%d,"bids":`, book.Seq)
	out = appendBinanceLevels(out, book.Bids(int(limit)))
	out = append(out, `,"asks":`...)
	out = appendBinanceLevels(out, book.Asks(int(limit)))
	out = append(out, '}')
	writeJSON(w, 200, out)
}

// exchangeInfo serves GET /api/v3/exchangeInfo[?symbol=X | ?symbols=["X","Y"]].
func (b *BinanceServer) exchangeInfo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var syms []market.Symbol
	switch {
	case q.Get("symbol") != "":
		syms = []market.Symbol{market.Symbol(q.Get("symbol"))}
	case q.Get("symbols") != "":
		var list []string
		if err := json.Unmarshal([]byte(q.Get("symbols")), &list); err != nil || len(list) == 0 {
			writeBinanceError(w, 400, -1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
			return
		}
		for _, s := range list {
			syms = append(syms, market.Symbol(s))
		}
	default:
		syms = slices.Clone(b.p.Script().Config.Symbols)
	}
	var parts []string
	for _, sym := range syms {
		if !b.p.Has(sym) {
			writeBinanceError(w, 400, -1121, "Invalid symbol.")
			return
		}
		tick := "1.00000000"
		if lv := b.p.Script().Initial[sym].Bids(1); len(lv) > 0 {
			if dot := strings.IndexByte(lv[0].Price, '.'); dot >= 0 && dot < len(lv[0].Price)-1 {
				dec := len(lv[0].Price) - dot - 1
				tick = pad8("0." + strings.Repeat("0", dec-1) + "1")
			}
		}
		base, _ := strings.CutSuffix(string(sym), "USDT")
		parts = append(parts, fmt.Sprintf(`{"symbol":%q,"status":"TRADING","baseAsset":%q,"baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,"quoteAssetPrecision":8,"filters":[{"filterType":"PRICE_FILTER","minPrice":%q,"maxPrice":"1000000.00000000","tickSize":%q},{"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"9000.00000000","stepSize":"0.00010000"}],"permissionSets":[["SPOT","MARGIN"]]}`,
			sym, base, tick, tick))
	}
	writeJSON(w, 200, fmt.Appendf(nil, `{"timezone":"UTC","serverTime":%d,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000}],"exchangeFilters":[],"symbols":[%s]}`,
		b.p.Now(), strings.Join(parts, ",")))
}
