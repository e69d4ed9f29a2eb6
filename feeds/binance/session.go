package binance

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// conn is what a session uses of its connection (*venue.Conn); tests pass a stand-in.
type conn interface {
	Send(data []byte) error
	Ready()
	Handover(reason string)
	Context() context.Context
}

// Limits of the book buffer and of one SUBSCRIBE request.
const (
	maxBuffered  = 20000 // depth events kept while a snapshot is fetched
	maxParams    = 100   // streams per SUBSCRIBE request
	maxLevelsMsg = 10000 // levels in one depth event; more is hostile
)

type streamKind uint8

const (
	kindTrade streamKind = iota + 1
	kindAggTrade
	kindDepth
	kindKline
)

type route struct {
	kind streamKind
	st   *symState
}

// depthEvent is a buffered depth diff (levels owned: bids then asks).
type depthEvent struct {
	U, u, E int64
	levels  []market.Level
	nb      int
}

// symState is one symbol's book on one connection, kept by the diff-stream procedure.
type symState struct {
	sym    market.Symbol
	venue  string // BTCUSDT
	book   *market.Book
	synced bool  // the book is whole: live events apply
	local  int64 // the last update id applied
	// While not synced: the events since the resync began, the first one's U (0: none yet),
	// and whether a snapshot fetch is under way.
	buf      []depthEvent
	firstU   int64
	fetching bool
}

func (st *symState) reset() {
	st.book.Reset()
	st.synced, st.local = false, 0
}

func (st *symState) buffer(U, u, E int64, bids, asks []market.Level) {
	if len(st.buf) >= maxBuffered {
		// The snapshot is long in coming: start the buffer over (the fetch then checks the
		// snapshot against the new first U).
		clear(st.buf)
		st.buf = st.buf[:0]
	}
	if len(st.buf) == 0 {
		st.firstU = U
	}
	lv := make([]market.Level, 0, len(bids)+len(asks))
	lv = append(append(lv, bids...), asks...)
	st.buf = append(st.buf, depthEvent{U: U, u: u, E: E, levels: lv, nb: len(bids)})
}

// session is the protocol on one connection. Its state is guarded by mu: Handle runs on the
// connection's reader, snapshot fetches on their own goroutines (which the session owns and
// Close waits for), Activate and Close on the runner.
type session struct {
	g  *group
	f  *Feed
	em *venue.Emitter

	mu      sync.Mutex
	c       conn
	ctx     context.Context
	parser  fastjson.Parser
	streams map[string]route     // stream name → route
	bySym   map[string]*symState // BTCUSDT → state (raw /ws frames)
	syms    []*symState

	nextID      int64
	pending     map[int64][]string // SUBSCRIBE id → its streams, until acknowledged
	acked       bool               // every subscription acknowledged
	replacement bool               // opened while another connection fed the engine
	ready       bool
	readyTimer  *time.Timer
	handedOver  bool
	closed      bool
	fetches     sync.WaitGroup

	bids, asks []market.Level // scratch for one depth event
}

func newSession(g *group) *session {
	s := &session{g: g, f: g.f, em: g.em, streams: map[string]route{}, bySym: map[string]*symState{},
		pending: map[int64][]string{}}
	g.add(s)
	for _, sym := range g.syms {
		st := &symState{sym: sym, venue: string(sym), book: market.NewBook(Name, sym)}
		s.syms = append(s.syms, st)
		s.bySym[st.venue] = st
		trade, depth, kline := g.f.streamNames(sym)
		tk := kindTrade
		if g.f.cfg.AggTrades {
			tk = kindAggTrade
		}
		s.streams[trade] = route{tk, st}
		s.streams[depth] = route{kindDepth, st}
		s.streams[kline] = route{kindKline, st}
	}
	return s
}

// action is what Handle decided to tell the runner, done after mu is released (the runner
// may be waiting on mu in Activate).
type action struct {
	ready    bool
	handover string
}

func (s *session) do(a action) {
	if a.ready {
		s.c.Ready()
	}
	if a.handover != "" {
		s.c.Handover(a.handover)
	}
}

type subscribeRequest struct {
	Method string   `json:"method"`
	Params []string `json:"params,omitempty"`
	ID     int64    `json:"id"`
}

// Open subscribes every stream of the group's symbols, at most maxParams per request; the
// runner's SendRate keeps the requests under Binance's 5 messages a second.
func (s *session) Open(c *venue.Conn) error { return s.open(c) }

func (s *session) open(c conn) error {
	s.mu.Lock()
	s.c, s.ctx = c, c.Context()
	var names []string
	for _, st := range s.syms {
		trade, depth, kline := s.f.streamNames(st.sym)
		names = append(names, trade, depth, kline)
	}
	var reqs []subscribeRequest
	for len(names) > 0 {
		n := min(maxParams, len(names))
		s.nextID++
		reqs = append(reqs, subscribeRequest{Method: "SUBSCRIBE", Params: names[:n:n], ID: s.nextID})
		s.pending[s.nextID] = names[:n:n]
		names = names[n:]
	}
	s.mu.Unlock()
	for _, r := range reqs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := c.Send(b); err != nil {
			return fmt.Errorf("binance: subscribe %s: %w", strings.Join(r.Params, ","), err)
		}
	}
	return nil
}

// Ping sends LIST_SUBSCRIPTIONS as an application keep-alive (only with Config.PingEvery:
// Binance pings the client, and gorilla's reader answers those pings).
func (s *session) Ping(c *venue.Conn) error {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	b, err := json.Marshal(subscribeRequest{Method: "LIST_SUBSCRIPTIONS", ID: id})
	if err != nil {
		return err
	}
	return c.Send(b)
}

// Activate makes this connection the one that feeds the engine's books.
func (s *session) Activate(c *venue.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.g.activate(s)
}

// Close stops the session's fetches and, if it fed the engine, reports its books resyncing.
func (s *session) Close(c *venue.Conn, err error) { s.close(err) }

func (s *session) close(err error) {
	s.mu.Lock()
	s.closed = true
	if s.readyTimer != nil {
		s.readyTimer.Stop()
	}
	s.g.release(s, err)
	s.mu.Unlock()
	s.fetches.Wait()
}

// Handle processes one frame.
func (s *session) Handle(c *venue.Conn, data []byte) error { return s.handle(data) }

func (s *session) handle(data []byte) error {
	s.mu.Lock()
	a, err := s.handleLocked(data)
	s.mu.Unlock()
	s.do(a)
	return err
}

func (s *session) malformed(sym market.Symbol, channel string, data []byte) {
	s.em.Event(market.StreamMalformed, sym, channel, venue.Clip(data))
}

func (s *session) handleLocked(data []byte) (action, error) {
	v, err := s.parser.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		s.malformed("", "", data)
		return action{}, nil
	}
	if sv := v.Get("stream"); sv != nil {
		name, err := sv.StringBytes()
		d := v.Get("data")
		if err != nil || d == nil || d.Type() != fastjson.TypeObject {
			s.malformed("", "", data)
			return action{}, nil
		}
		r, ok := s.streams[string(name)]
		if !ok {
			if string(name) == "!serverShutdown" || string(d.GetStringBytes("e")) == "serverShutdown" {
				return s.shutdown(), nil
			}
			return action{}, nil // a stream we did not ask for
		}
		s.dispatch(r, d, data)
		return action{}, nil
	}
	if v.Get("id") != nil && (v.Get("result") != nil || v.Get("error") != nil) {
		return s.control(v, data)
	}
	// A raw (/ws) payload: dispatch on its event type and symbol.
	var kind streamKind
	switch string(v.GetStringBytes("e")) {
	case "serverShutdown":
		return s.shutdown(), nil
	case "depthUpdate":
		kind = kindDepth
	case "trade":
		kind = kindTrade
	case "aggTrade":
		kind = kindAggTrade
	case "kline":
		kind = kindKline
	default:
		return action{}, nil
	}
	st := s.bySym[string(v.GetStringBytes("s"))]
	if st == nil {
		return action{}, nil
	}
	s.dispatch(route{kind, st}, v, data)
	return action{}, nil
}

func (s *session) shutdown() action {
	if s.handedOver {
		return action{}
	}
	s.handedOver = true
	return action{handover: "binance: serverShutdown notice"}
}

// control handles {"result":…,"id":N} and {"error":{"code","msg"},"id":N}.
func (s *session) control(v *fastjson.Value, data []byte) (action, error) {
	id, idOK := intField(v, "id")
	if ev := v.Get("error"); ev != nil && ev.Type() != fastjson.TypeNull {
		code, _ := intField(ev, "code")
		msg := string(ev.GetStringBytes("msg"))
		if msg == "" {
			msg = venue.Clip(data)
		}
		if topics, ok := s.pending[id]; ok && idOK {
			err := fmt.Errorf("binance: subscribe %s: %s (code %d)", strings.Join(topics, ","), msg, code)
			s.em.Event(market.StreamError, "", "", err.Error())
			return action{}, venue.Fatal(err)
		}
		s.em.Event(market.StreamError, "", "", fmt.Sprintf("binance: %s (code %d)", msg, code))
		return action{}, nil
	}
	if _, ok := s.pending[id]; ok && idOK {
		delete(s.pending, id)
		if len(s.pending) == 0 {
			s.acked = true
			// The streams are live: fetch every book's snapshot now rather than on its first
			// event, so a quiet book is served too. Events that arrive meanwhile are buffered
			// and checked against it (steps 3–5); without any, the first live event must
			// straddle it (step 7), so a stale snapshot is still caught.
			for _, st := range s.syms {
				if !st.synced {
					s.startFetch(st)
				}
			}
			return s.readyCheck(), nil
		}
	}
	return action{}, nil // LIST_SUBSCRIPTIONS answers and unknown ids
}

// readyCheck decides whether to call Ready: at once for the connection that feeds the engine
// (or will, after a drop); for a handover's replacement once its books are synced too, or
// after ReadyWait, so that it takes over without a book gap. With mu held.
func (s *session) readyCheck() action {
	if s.ready || !s.acked || s.closed {
		return action{}
	}
	if s.replacement {
		for _, st := range s.syms {
			if !st.synced {
				if s.readyTimer == nil {
					s.readyTimer = time.AfterFunc(s.f.cfg.ReadyWait, s.readyTimeout)
				}
				return action{}
			}
		}
	}
	s.ready = true
	return action{ready: true}
}

func (s *session) readyTimeout() {
	s.mu.Lock()
	if s.ready || s.closed {
		s.mu.Unlock()
		return
	}
	s.ready = true
	s.mu.Unlock()
	s.c.Ready()
}

func (s *session) dispatch(r route, d *fastjson.Value, data []byte) {
	switch r.kind {
	case kindDepth:
		s.depth(r.st, d, data)
	case kindTrade:
		s.trade(r.st, d, data, "t")
	case kindAggTrade:
		s.trade(r.st, d, data, "a")
	case kindKline:
		s.kline(r.st, d, data)
	}
}

// intField reads an integer field; false when it is missing or not an integer.
func intField(v *fastjson.Value, key string) (int64, bool) {
	x := v.Get(key)
	if x == nil || x.Type() != fastjson.TypeNumber {
		return 0, false
	}
	n, err := x.Int64()
	return n, err == nil
}

// decimal reads a price or quantity: a string (as Binance sends them) or a number; false
// unless it is a finite number.
func decimal(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	var b []byte
	switch v.Type() {
	case fastjson.TypeString:
		b, _ = v.StringBytes()
	case fastjson.TypeNumber:
		f, err := v.Float64()
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// levels appends [[price, qty], …] to dst; false if any level is not a positive price with a
// non-negative quantity, or if there are more than maxLevelsMsg.
func levels(dst []market.Level, v *fastjson.Value) ([]market.Level, bool) {
	if len(v.GetArray()) > maxLevelsMsg {
		return dst, false
	}
	return venue.AppendLevels(dst, v, decimal)
}

// depth handles one depthUpdate: {"e":"depthUpdate","E":…,"s":…,"U":first,"u":last,"b":[…],"a":[…]}.
func (s *session) depth(st *symState, d *fastjson.Value, data []byte) {
	var ev depthUpdate
	var ok bool
	ev, s.bids, s.asks, ok = parseDepth(d, s.bids[:0], s.asks[:0])
	if !ok {
		s.malformed(st.sym, market.ChannelBook, data)
		return
	}
	s.onDepth(st, ev.U, ev.u, ev.E, ev.bids, ev.asks)
}

// depthUpdate is a parsed depthUpdate payload (USD-M's pu and T are ignored: spot ids are
// contiguous).
type depthUpdate struct {
	U, u, E    int64
	bids, asks []market.Level
}

// parseDepth reads a depthUpdate payload, appending its levels to bids and asks (returned
// for reuse); ok is false unless U ≤ u and every level is a positive price with a
// non-negative quantity.
func parseDepth(d *fastjson.Value, bids, asks []market.Level) (ev depthUpdate, _, _ []market.Level, ok bool) {
	U, ok1 := intField(d, "U")
	u, ok2 := intField(d, "u")
	E, _ := intField(d, "E")
	bids, okb := levels(bids, d.Get("b"))
	asks, oka := levels(asks, d.Get("a"))
	ok = ok1 && ok2 && okb && oka && U > 0 && u >= U
	return depthUpdate{U: U, u: u, E: E, bids: bids, asks: asks}, bids, asks, ok
}

// onDepth runs one well-formed depth event through the sync procedure (step 7 once synced).
func (s *session) onDepth(st *symState, U, u, E int64, bids, asks []market.Level) {
	if !st.synced {
		if n := len(st.buf); n > 0 && U > st.buf[n-1].u+1 {
			// A hole in the buffered events: the snapshot must cover it (load starts over
			// otherwise), so the sync goes on; the gap is reported now, once.
			detail := fmt.Sprintf("seq gap while syncing: U %d, have %d", U, st.buf[n-1].u)
			s.em.Event(market.StreamGap, st.sym, market.ChannelBook, detail)
			s.g.resyncingAlways(s, st.sym, detail)
		}
		st.buffer(U, u, E, bids, asks)
		s.startFetch(st)
		return
	}
	switch {
	case u <= st.local:
		return // already in the book
	case U > st.local+1:
		detail := fmt.Sprintf("seq gap: U %d, have %d", U, st.local)
		s.lost(st, market.StreamGap, detail)
		st.buffer(U, u, E, bids, asks)
		s.startFetch(st)
		return
	}
	if !s.apply(st, bids, asks) {
		return
	}
	st.local = u
	lv := make([]market.Level, len(bids)+len(asks))
	copy(lv, bids)
	copy(lv[len(bids):], asks)
	ub, ua := lv[:len(bids):len(bids)], lv[len(bids):]
	market.SortLevels(market.Buy, ub)
	market.SortLevels(market.Sell, ua)
	s.g.book(s, market.BookUpdate{Exchange: Name, Symbol: st.sym, Time: E, Seq: u, Bids: ub, Asks: ua})
}

// apply sets the levels of one event (absolute sizes; zero deletes, harmless if absent). A
// book left crossed is discarded and resynced; apply reports false then.
func (s *session) apply(st *symState, bids, asks []market.Level) bool {
	for _, l := range bids {
		st.book.Set(market.Buy, l.Price, l.Size)
	}
	for _, l := range asks {
		st.book.Set(market.Sell, l.Price, l.Size)
	}
	if st.book.Crossed() {
		bb, _ := st.book.BestBid()
		ba, _ := st.book.BestAsk()
		s.lost(st, market.StreamGap, fmt.Sprintf("crossed book: bid %g ≥ ask %g", bb.Price, ba.Price))
		s.startFetch(st)
		return false
	}
	return true
}

// lost reports a broken book (a gap or a crossed book), tells the engine to drop it and
// discards it; the caller starts the resync.
func (s *session) lost(st *symState, kind market.StreamKind, detail string) {
	s.em.Event(kind, st.sym, market.ChannelBook, detail)
	s.g.resyncing(s, st.sym, detail)
	st.reset()
	clear(st.buf)
	st.buf, st.firstU = st.buf[:0], 0
}

// startFetch starts the REST snapshot fetch of a symbol unless one is under way.
func (s *session) startFetch(st *symState) {
	if st.fetching || s.closed || s.ctx == nil {
		return
	}
	st.fetching = true
	s.fetches.Add(1)
	go s.fetch(st)
}

// fetch gets snapshots until one loads (steps 2–6), or the connection ends.
func (s *session) fetch(st *symState) {
	defer s.fetches.Done()
	for attempt := 0; ; attempt++ {
		snap, err := s.f.snapshot(s.ctx, st.sym)
		if s.ctx.Err() != nil {
			return
		}
		wait := time.Duration(0)
		if err != nil {
			s.em.Event(market.StreamError, st.sym, market.ChannelBook, err.Error())
			wait = s.f.cfg.Backoff.Delay(attempt)
		} else {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return
			}
			done := s.load(st, snap)
			var a action
			if done {
				a = s.readyCheck()
			}
			s.mu.Unlock()
			s.do(a)
			if done {
				return
			}
			wait = min(time.Duration(attempt+1)*50*time.Millisecond, time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// depthSnap is a REST depth snapshot.
type depthSnap struct {
	lastUpdateID int64
	bids, asks   []market.Level
}

// load applies a snapshot and the buffered events (steps 3–7); false asks for another
// snapshot. With mu held.
func (s *session) load(st *symState, snap depthSnap) bool {
	if st.firstU > 0 && snap.lastUpdateID < st.firstU {
		return false // step 3: older than the first buffered event
	}
	st.book.Reset()
	st.book.Apply(market.BookUpdate{Snapshot: true, Bids: snap.bids, Asks: snap.asks})
	if st.book.Crossed() {
		st.book.Reset()
		s.em.Event(market.StreamError, st.sym, market.ChannelBook,
			fmt.Sprintf("depth snapshot %d is crossed; fetching another", snap.lastUpdateID))
		return false
	}
	st.local = snap.lastUpdateID
	for i, ev := range st.buf {
		if ev.u <= st.local {
			continue // step 4
		}
		if ev.U > st.local+1 {
			// Step 5 (or 7): a hole in the buffered events after the snapshot (step 3 makes
			// sure the snapshot is not older than the first one). It was reported when it
			// was buffered; start over from a new snapshot with the events after it.
			st.reset()
			n := copy(st.buf, st.buf[i:])
			clear(st.buf[n:])
			st.buf = st.buf[:n]
			st.firstU = st.buf[0].U
			return false
		}
		for _, l := range ev.levels[:ev.nb] {
			st.book.Set(market.Buy, l.Price, l.Size)
		}
		for _, l := range ev.levels[ev.nb:] {
			st.book.Set(market.Sell, l.Price, l.Size)
		}
		if st.book.Crossed() {
			s.em.Event(market.StreamGap, st.sym, market.ChannelBook,
				fmt.Sprintf("crossed book after snapshot %d at u %d", snap.lastUpdateID, ev.u))
			st.reset()
			clear(st.buf)
			st.buf, st.firstU = st.buf[:0], 0
			return false
		}
		st.local = ev.u
	}
	clear(st.buf)
	st.buf, st.firstU = st.buf[:0], 0
	st.synced, st.fetching = true, false
	s.g.synced(s, st, fmt.Sprintf("depth snapshot %d, book at %d", snap.lastUpdateID, st.local))
	return true
}

// trade handles {"e":"trade","t":id,…} or {"e":"aggTrade","a":id,…}: m true means the buyer
// was the maker, so the taker sold.
func (s *session) trade(st *symState, d *fastjson.Value, data []byte, idKey string) {
	id, ok1 := intField(d, idKey)
	p, ok2 := decimal(d.Get("p"))
	q, ok3 := decimal(d.Get("q"))
	t, ok4 := intField(d, "T")
	mv := d.Get("m")
	if !ok1 || !ok2 || !ok3 || !ok4 || mv == nil || p <= 0 || q < 0 {
		s.malformed(st.sym, market.ChannelTrades, data)
		return
	}
	m, err := mv.Bool()
	if err != nil {
		s.malformed(st.sym, market.ChannelTrades, data)
		return
	}
	side := market.Buy
	if m {
		side = market.Sell
	}
	ids := strconv.FormatInt(id, 10)
	if s.f.dedupe.Seen(st.venue + ":" + ids) {
		return
	}
	s.em.Trade(market.Trade{Exchange: Name, Symbol: st.sym, ID: ids, Time: t, Price: p, Size: q, Side: side})
}

// kline handles {"e":"kline","k":{"t":open,"i":"1m","o","h","l","c","v","n","x":closed,…}}:
// closed bars only, stamped open + 1m.
func (s *session) kline(st *symState, d *fastjson.Value, data []byte) {
	k := d.Get("k")
	if k == nil || k.Type() != fastjson.TypeObject {
		s.malformed(st.sym, market.ChannelCandles, data)
		return
	}
	x := k.Get("x")
	if x == nil || (x.Type() != fastjson.TypeTrue && x.Type() != fastjson.TypeFalse) {
		s.malformed(st.sym, market.ChannelCandles, data)
		return
	}
	if x.Type() == fastjson.TypeFalse || string(k.GetStringBytes("i")) != "1m" {
		return // the bar is still open (pushed every 2s), or not ours
	}
	t, ok := intField(k, "t")
	n, okN := intField(k, "n")
	var vals [5]float64
	good := ok && okN && t >= 0 && n >= 0
	for i, key := range [5]string{"o", "h", "l", "c", "v"} {
		f, ok := decimal(k.Get(key))
		good = good && ok && f >= 0
		vals[i] = f
	}
	if !good {
		s.malformed(st.sym, market.ChannelCandles, data)
		return
	}
	c := market.Candle{Exchange: Name, Symbol: st.sym, Timeframe: market.TF1m, Time: market.TF1m.FromOpenTime(t),
		Open: vals[0], High: vals[1], Low: vals[2], Close: vals[3], Volume: vals[4], Trades: n}
	if s.f.newKline(st.sym, c.Time) {
		s.em.Candle(c, false)
	}
}
