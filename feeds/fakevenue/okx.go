package fakevenue

// OKX v5 on loopback: the public (/ws/v5/public: trades, books) and business
// (/ws/v5/business: candle1m) WebSockets with per-arg acks, 60018/60012 errors, text
// ping/pong and the 64008 notice, and the REST candles, history-candles and instruments
// endpoints with OKX's paging (newest first, exclusive after/before, limit ≤ 300) and error
// shapes. See shared/protocols/okx.md.

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/tradeconsole/tradeconsole/market"
)

// OKX paths.
const (
	OKXPublicPath   = "/ws/v5/public"
	OKXBusinessPath = "/ws/v5/business"
	OKXCandlesPath  = "/api/v5/market/candles"
	OKXHistoryPath  = "/api/v5/market/history-candles"
	OKXInstrPath    = "/api/v5/public/instruments"
)

// OKXOptions configure the OKX fake. Zero values take the defaults noted.
type OKXOptions struct {
	// InstType is "SPOT" (default; instIds BTC-USDT) or "SWAP" (BTC-USDT-SWAP).
	InstType string
	// PageLimit caps the rows of one REST candles page below the request's limit, to force
	// small pages in tests; default 300 (OKX's cap).
	PageLimit int
	// Coverage is how many of the latest bars /market/candles serves; default 1440.
	// /market/history-candles serves them all.
	Coverage int
	// Legacy speaks the 2022 wire: books without seqId/prevSeqId, trades without
	// count/source/seqId, acks without id/connId.
	Legacy bool
	// Throttle answers every Throttle-th REST request with HTTP 429 (code 50011,
	// Retry-After: 0); 0 is off.
	Throttle int
}

// OKX is the fake OKX venue.
type OKX struct {
	*Server
	p   *Player
	opt OKXOptions

	ids  map[market.Symbol]string
	syms map[string]market.Symbol
	tick map[market.Symbol]string

	mu     sync.Mutex
	conns  map[*Conn]*okxConn
	opened map[string]int // WS path → connections opened
	reqs   map[string]int // REST path → requests served
	nreq   int
	nconn  int
}

type okxConn struct {
	path   string
	connID string
}

// OKXInstID is the fake's instId of a script symbol: BTCUSDT → BTC-USDT (SPOT) or
// BTC-USDT-SWAP (SWAP).
func OKXInstID(sym market.Symbol, instType string) string {
	s := string(sym)
	for _, q := range []string{"USDT", "USDC", "USD", "BTC", "ETH"} {
		if len(s) > len(q) && strings.HasSuffix(s, q) {
			s = s[:len(s)-len(q)] + "-" + q
			break
		}
	}
	if instType == "SWAP" {
		s += "-SWAP"
	}
	return s
}

// OKXChecksum is OKX's book checksum: the best 25 bids and asks as price:size with the venue's
// strings, interleaved bid, ask, …, joined by ':', CRC-32 (IEEE) as a signed int32. Pass it as
// PlayerOptions.Checksum to stamp every book message ("legacy" checksum mode); leave that nil
// for production's checksum 0.
func OKXChecksum(b *Book) int32 {
	bids, asks := b.Bids(25), b.Asks(25)
	var sb []byte
	for i := 0; i < max(len(bids), len(asks)); i++ {
		if i < len(bids) {
			sb = append(sb, bids[i].Price...)
			sb = append(sb, ':')
			sb = append(sb, bids[i].Size...)
			sb = append(sb, ':')
		}
		if i < len(asks) {
			sb = append(sb, asks[i].Price...)
			sb = append(sb, ':')
			sb = append(sb, asks[i].Size...)
			sb = append(sb, ':')
		}
	}
	if len(sb) > 0 {
		sb = sb[:len(sb)-1]
	}
	return int32(crc32.ChecksumIEEE(sb))
}

// NewOKX serves the player as OKX on loopback. Close it when done. Faults.Reject names topics
// as channel:instId ("books:ETH-USDT", "candle1m:BTC-USDT"); they are refused with OKX's 60018
// error (no arg, the request's id echoed). Subscribing a channel on the wrong socket (candles
// on /public) is refused the same way.
func NewOKX(p *Player, opt OKXOptions) *OKX {
	if opt.InstType == "" {
		opt.InstType = "SPOT"
	}
	if opt.PageLimit <= 0 || opt.PageLimit > 300 {
		opt.PageLimit = 300
	}
	if opt.Coverage <= 0 {
		opt.Coverage = 1440
	}
	v := &OKX{Server: NewServer(), p: p, opt: opt, ids: map[market.Symbol]string{}, syms: map[string]market.Symbol{},
		tick: map[market.Symbol]string{}, conns: map[*Conn]*okxConn{}, opened: map[string]int{}, reqs: map[string]int{}}
	for _, sym := range p.Script().Config.Symbols {
		id := OKXInstID(sym, opt.InstType)
		v.ids[sym], v.syms[id] = id, sym
		v.tick[sym] = okxTickOf(p.Script().Initial[sym])
	}
	h := Handler{Player: p, OnOpen: v.onOpen, OnFrame: v.onFrame, Encode: v.encode}
	v.Mux.Handle(OKXPublicPath, v.Serve(h))
	v.Mux.Handle(OKXBusinessPath, v.Serve(h))
	v.Mux.HandleFunc(OKXCandlesPath, func(w http.ResponseWriter, r *http.Request) { v.candles(w, r, false) })
	v.Mux.HandleFunc(OKXHistoryPath, func(w http.ResponseWriter, r *http.Request) { v.candles(w, r, true) })
	v.Mux.HandleFunc(OKXInstrPath, v.instruments)
	v.Mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		v.count(r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":404,"data":{},"detailMsg":"","error_code":"404","error_message":"Not Found","msg":"Not Found"}`))
	})
	return v
}

// okxTickOf is the price step of a book: one unit of its prices' last decimal.
func okxTickOf(b *Book) string {
	dec := 0
	if b != nil {
		for _, l := range append(b.Bids(0), b.Asks(0)...) {
			if i := strings.IndexByte(l.Price, '.'); i >= 0 {
				dec = max(dec, len(l.Price)-i-1)
			}
		}
	}
	if dec == 0 {
		return "1"
	}
	return "0." + strings.Repeat("0", dec-1) + "1"
}

// PublicURL and BusinessURL are the fake's WebSocket addresses; RESTURL its REST base.
func (v *OKX) PublicURL() string   { return v.WS(OKXPublicPath) }
func (v *OKX) BusinessURL() string { return v.WS(OKXBusinessPath) }
func (v *OKX) RESTURL() string     { return v.URL }

// Connections is how many WebSocket connections were opened on path so far.
func (v *OKX) Connections(path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.opened[path]
}

// Requests is how many REST requests were made on path so far (429s included).
func (v *OKX) Requests(path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reqs[path]
}

// Notice sends the 64008 service-upgrade notice to every open connection and returns how
// many got it. The fake does not close them: the client is to move over by itself.
func (v *OKX) Notice() int {
	v.mu.Lock()
	var cs []*Conn
	for c := range v.conns {
		select {
		case <-c.Sub.Dropped:
			delete(v.conns, c)
			continue
		default:
		}
		cs = append(cs, c)
	}
	v.mu.Unlock()
	for _, c := range cs {
		c.Reply(v.control(c, map[string]any{"event": "notice", "code": "64008",
			"msg": "The connection will soon be closed for a service upgrade. Please reconnect."}))
	}
	return len(cs)
}

func (v *OKX) onOpen(c *Conn) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.opened[c.Req.URL.Path]++
	v.nconn++
	v.conns[c] = &okxConn{path: c.Req.URL.Path, connID: fmt.Sprintf("%08x", 0xa4d3ae00+v.nconn)}
}

func (v *OKX) conn(c *Conn) *okxConn {
	v.mu.Lock()
	defer v.mu.Unlock()
	if oc := v.conns[c]; oc != nil {
		return oc
	}
	return &okxConn{path: c.Req.URL.Path}
}

// control renders a control frame with the connection's connId (not in legacy mode).
func (v *OKX) control(c *Conn, m map[string]any) []byte {
	if !v.opt.Legacy {
		m["connId"] = v.conn(c).connID
	} else {
		delete(m, "id")
	}
	b, _ := json.Marshal(m)
	return b
}

type okxRequest struct {
	ID   string              `json:"id"`
	Op   string              `json:"op"`
	Args []map[string]string `json:"args"`
}

func (v *OKX) onFrame(c *Conn, mt int, data []byte) {
	if mt != websocket.TextMessage {
		return
	}
	if string(data) == "ping" {
		c.Reply([]byte("pong"))
		return
	}
	var req okxRequest
	if err := json.Unmarshal(data, &req); err != nil || (req.Op != "subscribe" && req.Op != "unsubscribe") || len(req.Args) == 0 {
		m := map[string]any{"event": "error", "code": "60012", "msg": "Invalid request: " + string(data)}
		if req.ID != "" {
			m["id"] = req.ID
		}
		c.Reply(v.control(c, m))
		return
	}
	path := v.conn(c).path
	for _, a := range req.Args {
		ch, id := a["channel"], a["instId"]
		sym, known := v.syms[id]
		var pch string
		switch {
		case ch == "trades" && path == OKXPublicPath:
			pch = market.ChannelTrades
		case ch == "books" && path == OKXPublicPath:
			pch = market.ChannelBook
		case ch == "candle1m" && path == OKXBusinessPath:
			pch = market.ChannelCandles
		}
		if !known || pch == "" || v.p.Rejected(ch+":"+id) {
			m := map[string]any{"event": "error", "code": "60018",
				"msg": fmt.Sprintf("Subscribe failed, wrong URL or channel:%s,instId:%s doesn't exist. Please use the correct URL, channel and parameters referring to API document.", ch, id)}
			if req.ID != "" {
				m["id"] = req.ID
			}
			c.Reply(v.control(c, m))
			continue
		}
		m := map[string]any{"event": req.Op, "arg": map[string]string{"channel": ch, "instId": id}}
		if req.ID != "" {
			m["id"] = req.ID
		}
		c.Reply(v.control(c, m)) // the ack goes before the snapshot
		if req.Op == "subscribe" {
			c.Sub.Subscribe(sym, pch, pch == market.ChannelBook)
		} else {
			c.Sub.Unsubscribe(sym, pch)
		}
	}
}

func (v *OKX) encode(c *Conn, o Out) [][]byte {
	id := v.ids[o.Symbol]
	var b []byte
	switch o.Kind {
	case OutTrade:
		t := o.Trade
		b = append(b, `{"arg":{"channel":"trades","instId":"`...)
		b = append(b, id...)
		b = append(b, `"},"data":[{"instId":"`...)
		b = append(b, id...)
		b = append(b, `","tradeId":"`...)
		b = strconv.AppendInt(b, t.ID, 10)
		b = append(b, `","px":"`...)
		b = append(b, t.Price...)
		b = append(b, `","sz":"`...)
		b = append(b, t.Size...)
		b = append(b, `","side":"`...)
		b = append(b, t.Side.String()...)
		b = append(b, `","ts":"`...)
		b = strconv.AppendInt(b, t.Time, 10)
		b = append(b, '"')
		if !v.opt.Legacy {
			b = append(b, `,"count":"1","source":"0","seqId":`...)
			b = strconv.AppendInt(b, t.ID, 10)
		}
		b = append(b, "}]}"...)
	case OutBook:
		b = v.bookFrame(b, id, "update", o.Delta.Bids, o.Delta.Asks, o.Time, o.Checksum, o.PrevSeq, o.Delta.Seq)
	case OutSnapshot:
		b = v.bookFrame(b, id, "snapshot", o.Snapshot.Bids(0), o.Snapshot.Asks(0), o.Time, o.Checksum, -1, o.Snapshot.Seq)
	case OutKline:
		b = append(b, `{"arg":{"channel":"candle1m","instId":"`...)
		b = append(b, id...)
		b = append(b, `"},"data":[`...)
		b = appendOKXRow(b, o.Kline, true)
		b = append(b, "]}"...)
	default:
		return nil
	}
	return [][]byte{b}
}

func (v *OKX) bookFrame(b []byte, id, action string, bids, asks []Level, ts int64, sum int32, prev, seq int64) []byte {
	b = append(b, `{"arg":{"channel":"books","instId":"`...)
	b = append(b, id...)
	b = append(b, `"},"action":"`...)
	b = append(b, action...)
	b = append(b, `","data":[{"asks":`...)
	b = appendOKXLevels(b, asks)
	b = append(b, `,"bids":`...)
	b = appendOKXLevels(b, bids)
	b = append(b, `,"ts":"`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `","checksum":`...)
	b = strconv.AppendInt(b, int64(sum), 10)
	if !v.opt.Legacy {
		b = append(b, `,"prevSeqId":`...)
		b = strconv.AppendInt(b, prev, 10)
		b = append(b, `,"seqId":`...)
		b = strconv.AppendInt(b, seq, 10)
	}
	return append(b, "}]}"...)
}

func appendOKXLevels(b []byte, lv []Level) []byte {
	b = append(b, '[')
	for i, l := range lv {
		if i > 0 {
			b = append(b, ',')
		}
		count := "1"
		if f, err := strconv.ParseFloat(l.Size, 64); err == nil && f == 0 {
			count = "0"
		}
		b = append(b, `["`...)
		b = append(b, l.Price...)
		b = append(b, `","`...)
		b = append(b, l.Size...)
		b = append(b, `","0","`...)
		b = append(b, count...)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

// appendOKXRow renders a candle as OKX's row [ts(open), o, h, l, c, vol, volCcy,
// volCcyQuote, confirm].
func appendOKXRow(b []byte, c market.Candle, closed bool) []byte {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	quote := strconv.FormatFloat(c.Volume*c.Close, 'f', 8, 64)
	confirm := "0"
	if closed {
		confirm = "1"
	}
	row := []string{strconv.FormatInt(c.Time-c.Timeframe.Millis(), 10), f(c.Open), f(c.High), f(c.Low), f(c.Close),
		f(c.Volume), quote, quote, confirm}
	b = append(b, '[')
	for i, s := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, s)
	}
	return append(b, ']')
}

// okxBars are the bar codes the fake serves (1m klines and whole buckets of them).
var okxBars = map[string]market.Timeframe{"1m": market.TF1m, "3m": market.TF3m, "5m": market.TF5m,
	"15m": market.TF15m, "30m": market.TF30m, "1H": market.TF1h, "2H": market.TF2h, "4H": market.TF4h,
	"6Hutc": market.TF6h, "12Hutc": market.TF12h, "1Dutc": market.TF1d, "1Wutc": market.TF1w}

func (v *OKX) count(path string) (throttled bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reqs[path]++
	v.nreq++
	return v.opt.Throttle > 0 && v.nreq%v.opt.Throttle == 0
}

func okxError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"code": code, "data": []any{}, "msg": msg})
	_, _ = w.Write(b)
}

func (v *OKX) throttle(w http.ResponseWriter, r *http.Request) bool {
	if !v.count(r.URL.Path) {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"msg":"Too Many Requests","code":"50011"}`))
	return true
}

// candles serves /market/candles (history false: the latest Coverage bars, the open one
// included) and /market/history-candles: rows newest first, after/before exclusive.
func (v *OKX) candles(w http.ResponseWriter, r *http.Request, history bool) {
	if v.throttle(w, r) {
		return
	}
	q := r.URL.Query()
	id := q.Get("instId")
	if id == "" {
		okxError(w, "50014", "Parameter instId can not be empty")
		return
	}
	sym, ok := v.syms[id]
	if !ok {
		okxError(w, "51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
		return
	}
	bar := q.Get("bar")
	if bar == "" {
		bar = "1m"
	}
	tf, ok := okxBars[bar]
	if !ok {
		okxError(w, "51000", "Parameter bar error")
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 300 {
			okxError(w, "51000", "Parameter limit error")
			return
		}
		limit = n
	}
	limit = min(limit, v.opt.PageLimit)
	bound := func(name string) (int64, bool, bool) {
		s := q.Get(name)
		if s == "" {
			return 0, false, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, true, err == nil
	}
	after, hasAfter, ok1 := bound("after")
	before, hasBefore, ok2 := bound("before")
	if !ok1 || !ok2 {
		okxError(w, "51000", "Parameter after or before error")
		return
	}
	now := v.p.Now()
	closed, open, hasOpen := v.p.Script().KlinesAt(sym, now)
	type row struct {
		c      market.Candle
		closed bool
	}
	var rows []row
	for _, c := range Interval(closed, tf) {
		rows = append(rows, row{c, true})
	}
	if hasOpen && tf == market.TF1m {
		rows = append(rows, row{open, false})
	}
	step := tf.Millis()
	covStart := tf.Floor(now) - int64(v.opt.Coverage-1)*step
	var out []byte
	out = append(out, `{"code":"0","msg":"","data":[`...)
	n := 0
	for i := len(rows) - 1; i >= 0 && n < limit; i-- { // newest first
		ts := rows[i].c.Time - step
		if (hasAfter && ts >= after) || (hasBefore && ts <= before) || (!history && ts < covStart) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = appendOKXRow(out, rows[i].c, rows[i].closed)
		n++
	}
	out = append(out, "]}"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// instruments serves /public/instruments for the script's symbols.
func (v *OKX) instruments(w http.ResponseWriter, r *http.Request) {
	if v.throttle(w, r) {
		return
	}
	q := r.URL.Query()
	typ := q.Get("instType")
	if typ == "" {
		okxError(w, "50014", "Parameter instType can not be empty")
		return
	}
	id := q.Get("instId")
	if _, ok := v.syms[id]; id != "" && (!ok || typ != v.opt.InstType) {
		okxError(w, "51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
		return
	}
	data := []map[string]string{}
	if typ == v.opt.InstType {
		for _, sym := range slices.Sorted(maps.Keys(v.ids)) {
			iid := v.ids[sym]
			if id != "" && iid != id {
				continue
			}
			parts := strings.Split(iid, "-")
			d := map[string]string{"instType": typ, "instId": iid, "baseCcy": parts[0], "quoteCcy": parts[1],
				"tickSz": v.tick[sym], "lotSz": "0.00000001", "minSz": "0.00001", "state": "live"}
			if typ == "SWAP" {
				d["baseCcy"], d["quoteCcy"] = "", ""
				d["ctVal"], d["ctValCcy"], d["settleCcy"], d["lotSz"], d["minSz"] = "0.01", parts[0], parts[1], "0.01", "0.01"
			}
			data = append(data, d)
		}
	}
	b, _ := json.Marshal(map[string]any{"code": "0", "msg": "", "data": data})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
