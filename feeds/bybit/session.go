package bybit

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// conn is what a session needs of its connection (*venue.Conn; tests pass a recorder).
type conn interface {
	Send([]byte) error
	Ready()
}

type topicKind uint8

const (
	topicTrades topicKind = iota
	topicBook
	topicKline
)

// topic is one subscribed venue topic of a session.
type topic struct {
	name    string
	sym     market.Symbol
	kind    topicKind
	channel string
	book    *bookState // topicBook only
}

// pendingReq is a subscribe or unsubscribe request waiting for its ack.
type pendingReq struct {
	id      string
	op      string
	topic   *topic
	initial bool // part of the connection's first subscriptions (Ready waits for these)
}

// bookState is one symbol's book on one connection, kept in sync by the procedure of the
// protocol notes §5.
type bookState struct {
	sym       market.Symbol
	topic     *topic
	book      *market.Book
	lastU     int64 // update id of the last message applied
	synced    bool  // a snapshot is loaded and nothing was missed since
	resyncing bool  // a resubscription for a new snapshot is under way
	resyncAt  time.Time
}

// session is the Bybit protocol on one WebSocket connection. Handle runs on the connection's
// reader goroutine, Activate and Close on the runner's, Ping on the keep-alive goroutine: mu
// guards everything they share.
type session struct {
	f  *Feed
	em *venue.Emitter

	mu          sync.Mutex
	parser      fastjson.Parser
	topics      map[string]*topic
	order       []*topic
	books       []*bookState
	pending     []pendingReq
	initialLeft int
	ready       bool
	active      bool
	opened      time.Time
	reqN        int

	// scratch, reused frame after frame
	bids, asks []market.Level
	trades     []market.Trade
	candles    []market.Candle
	frame      []byte
}

func newSession(f *Feed, em *venue.Emitter, syms []market.Symbol) *session {
	s := &session{f: f, em: em, topics: make(map[string]*topic, 3*len(syms))}
	for _, sym := range syms {
		b := &bookState{sym: sym, book: market.NewBook(Name, sym)}
		ts := []*topic{
			{name: tradeTopic(sym), sym: sym, kind: topicTrades, channel: market.ChannelTrades},
			{name: bookTopic(sym, f.cfg.BookDepth), sym: sym, kind: topicBook, channel: market.ChannelBook, book: b},
			{name: klineTopic(sym), sym: sym, kind: topicKline, channel: market.ChannelCandles},
		}
		b.topic = ts[1]
		for _, t := range ts {
			s.topics[t.name] = t
			s.order = append(s.order, t)
		}
		s.books = append(s.books, b)
	}
	return s
}

// Open sends the subscriptions, one topic per request so that a rejection names its topic
// (spot takes at most 10 args per request; one is always within it).
func (s *session) Open(c *venue.Conn) error { return s.open(c) }

func (s *session) open(c conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened = time.Now()
	s.initialLeft = len(s.order)
	for _, t := range s.order {
		if err := s.requestLocked(c, "subscribe", t, true); err != nil {
			return err
		}
	}
	return nil
}

// requestLocked sends {"req_id":…,"op":op,"args":[topic]} and remembers it until its ack.
func (s *session) requestLocked(c conn, op string, t *topic, initial bool) error {
	s.reqN++
	id := op[:3] + "-" + strconv.Itoa(s.reqN) // sub-7, uns-8
	b := append(s.frame[:0], `{"req_id":"`...)
	b = append(b, id...)
	b = append(b, `","op":"`...)
	b = append(b, op...)
	b = append(b, `","args":[`...)
	b = strconv.AppendQuote(b, t.name)
	b = append(b, "]}"...)
	s.frame = b
	s.pending = append(s.pending, pendingReq{id: id, op: op, topic: t, initial: initial})
	if err := c.Send(b); err != nil {
		return fmt.Errorf("bybit: %s %s: %w", op, t.name, err)
	}
	return nil
}

var pingFrame = []byte(`{"op":"ping"}`)

// Ping sends the venue's JSON heartbeat. It also ends a connection whose subscriptions were
// never all acknowledged, or whose book resubscription brought no snapshot, within
// Config.ResyncTimeout: the runner then dials a new one.
func (s *session) Ping(c *venue.Conn) error {
	if err := s.overdue(time.Now()); err != nil {
		return err
	}
	return c.Send(pingFrame)
}

func (s *session) overdue(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.f.cfg.ResyncTimeout
	if !s.ready && now.Sub(s.opened) > limit {
		return fmt.Errorf("bybit: %d subscription(s) not acknowledged after %s", s.initialLeft, limit)
	}
	for _, b := range s.books {
		if b.resyncing && now.Sub(b.resyncAt) > limit {
			return fmt.Errorf("bybit: %s: no snapshot %s after resubscribing", b.topic.name, limit)
		}
	}
	return nil
}

// Activate makes this connection the one that feeds the sink: the books synced so far are
// emitted as snapshots.
func (s *session) Activate(c *venue.Conn) { s.activate() }

func (s *session) activate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active {
		return
	}
	s.active = true
	for _, b := range s.books {
		if b.synced {
			s.emitSnapshotLocked(b, b.book.Time)
			s.em.Event(market.StreamSynced, b.sym, market.ChannelBook, "")
		}
	}
}

// Close reports the books this connection was serving as resyncing (the next connection's
// snapshots rebuild them).
func (s *session) Close(c *venue.Conn, err error) { s.close(err) }

func (s *session) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active && err != nil {
		for _, b := range s.books {
			if b.synced {
				s.em.Event(market.StreamResyncing, b.sym, market.ChannelBook, "connection lost: "+err.Error())
			}
		}
	}
	s.active = false
}

// Handle processes one frame.
func (s *session) Handle(c *venue.Conn, data []byte) error { return s.handle(c, data) }

func (s *session) handle(c conn, data []byte) error {
	s.mu.Lock()
	ready, err := s.handleLocked(c, data)
	s.mu.Unlock()
	if ready {
		c.Ready() // outside the lock: it waits for the runner, which may be in Activate
	}
	return err
}

func (s *session) malformed(t *topic, data []byte) {
	var sym market.Symbol
	var ch string
	if t != nil {
		sym, ch = t.sym, t.channel
	}
	s.em.Event(market.StreamMalformed, sym, ch, venue.Clip(data))
}

func (s *session) handleLocked(c conn, data []byte) (ready bool, err error) {
	v, err := s.parser.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		s.malformed(nil, data)
		return false, nil
	}
	if tv := v.Get("topic"); tv != nil {
		name, err := tv.StringBytes()
		if err != nil {
			s.malformed(nil, data)
			return false, nil
		}
		t := s.topics[string(name)]
		if t == nil {
			return false, nil // not a topic of ours
		}
		switch t.kind {
		case topicTrades:
			if !s.onTrades(t, v) {
				s.malformed(t, data)
			}
		case topicKline:
			if !s.onKlines(t, v) {
				s.malformed(t, data)
			}
		case topicBook:
			return false, s.onBook(c, t, v, data)
		}
		return false, nil
	}
	ov := v.Get("op")
	if ov == nil {
		return false, nil // valid, not ours to understand
	}
	op, err := ov.StringBytes()
	if err != nil {
		s.malformed(nil, data)
		return false, nil
	}
	switch string(op) {
	case "subscribe":
		return s.onAck(c, "subscribe", v, data)
	case "unsubscribe":
		return s.onAck(c, "unsubscribe", v, data)
	}
	return false, nil // pong ("op":"ping", spot and linear shapes alike) and anything else
}

// onAck matches an ack to its request by req_id (or, if the venue echoes none, to the oldest
// request of that op). Dispatch is on op and success, never on ret_msg.
func (s *session) onAck(c conn, op string, v *fastjson.Value, data []byte) (bool, error) {
	var success bool
	switch sv := v.Get("success"); {
	case sv == nil:
		s.malformed(nil, data)
		return false, nil
	case sv.Type() == fastjson.TypeTrue:
		success = true
	case sv.Type() != fastjson.TypeFalse:
		s.malformed(nil, data)
		return false, nil
	}
	id := v.GetStringBytes("req_id")
	i := -1
	for k, p := range s.pending {
		if p.op == op && string(id) == p.id {
			i = k
			break
		}
	}
	if i < 0 {
		for k, p := range s.pending {
			if p.op == op {
				i = k
				break
			}
		}
	}
	if i < 0 {
		return false, nil // an ack we did not ask for
	}
	p := s.pending[i]
	s.pending = append(s.pending[:i], s.pending[i+1:]...)
	if !success {
		msg := string(v.GetStringBytes("ret_msg"))
		s.em.Event(market.StreamError, p.topic.sym, p.topic.channel, fmt.Sprintf("%s %s: %s", op, p.topic.name, msg))
		err := fmt.Errorf("bybit: %s %s: %s", op, p.topic.name, msg)
		switch {
		case p.initial:
			return false, venue.Fatal(err) // the venue refuses the topic: stop
		case op == "subscribe":
			return false, err // a resubscription failed: start over on a new connection
		}
		return false, nil // a failed unsubscribe changes nothing we rely on
	}
	if p.initial {
		s.initialLeft--
		if s.initialLeft == 0 && !s.ready {
			s.ready = true
			return true, nil
		}
	}
	return false, nil
}

// num parses a decimal string value; ok is false unless it is a finite number.
func num(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	b, err := v.StringBytes()
	if err != nil || len(b) == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f-f != 0 {
		return 0, false
	}
	return f, true
}

// parseLevels appends the [price, size] levels of v to dst; a missing side is empty. Every
// price must be positive and every size non-negative.
func parseLevels(v *fastjson.Value, dst []market.Level) ([]market.Level, bool) {
	if v == nil {
		return dst, true
	}
	return venue.AppendLevels(dst, v, num)
}

// symbolMatches checks a message's own symbol field (when present) against its topic's.
func symbolMatches(v *fastjson.Value, sym market.Symbol) bool {
	sv := v.Get("s")
	if sv == nil {
		return true
	}
	b, err := sv.StringBytes()
	return err == nil && string(b) == string(sym)
}

// onTrades forwards a publicTrade message; false (nothing forwarded) if any trade in it is
// malformed.
func (s *session) onTrades(t *topic, v *fastjson.Value) bool {
	dv := v.Get("data")
	if dv == nil || dv.Type() != fastjson.TypeArray {
		return false
	}
	arr, _ := dv.Array()
	trs := s.trades[:0]
	for _, e := range arr {
		if e.Type() != fastjson.TypeObject || !symbolMatches(e, t.sym) {
			return false
		}
		id := e.GetStringBytes("i")
		tv := e.Get("T")
		if len(id) == 0 || tv == nil {
			return false
		}
		ts, err := tv.Int64()
		if err != nil || ts <= 0 {
			return false
		}
		p, ok1 := num(e.Get("p"))
		q, ok2 := num(e.Get("v"))
		if !ok1 || !ok2 || p <= 0 || q <= 0 {
			return false
		}
		var side market.Side
		switch string(e.GetStringBytes("S")) {
		case "Buy":
			side = market.Buy
		case "Sell":
			side = market.Sell
		default:
			return false
		}
		trs = append(trs, market.Trade{Exchange: Name, Symbol: t.sym, ID: string(id), Time: ts, Price: p, Size: q, Side: side})
	}
	s.trades = trs
	for _, tr := range trs {
		if s.f.dedupe.Seen(string(tr.Symbol) + "\x00" + tr.ID) {
			continue // seen on another connection or re-sent
		}
		s.em.Trade(tr)
	}
	return true
}

// onKlines forwards the confirmed (closed) bars of a kline.1 message as right-aligned
// candles; unconfirmed updates are skipped. False if the message is malformed.
func (s *session) onKlines(t *topic, v *fastjson.Value) bool {
	dv := v.Get("data")
	if dv == nil || dv.Type() != fastjson.TypeArray {
		return false
	}
	arr, _ := dv.Array()
	cs := s.candles[:0]
	for _, e := range arr {
		if e.Type() != fastjson.TypeObject {
			return false
		}
		cv := e.Get("confirm")
		if cv == nil || (cv.Type() != fastjson.TypeTrue && cv.Type() != fastjson.TypeFalse) {
			return false
		}
		if cv.Type() == fastjson.TypeFalse {
			continue // the bar is still open
		}
		sv := e.Get("start")
		if sv == nil {
			return false
		}
		start, err := sv.Int64()
		if err != nil || start <= 0 || !market.TF1m.Aligned(start) {
			return false
		}
		if iv := e.Get("interval"); iv != nil {
			if b, err := iv.StringBytes(); err != nil || string(b) != "1" {
				return false
			}
		}
		o, ok1 := num(e.Get("open"))
		h, ok2 := num(e.Get("high"))
		l, ok3 := num(e.Get("low"))
		c, ok4 := num(e.Get("close"))
		vol, ok5 := num(e.Get("volume"))
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || o <= 0 || l <= 0 || c <= 0 || h < l || vol < 0 {
			return false
		}
		cs = append(cs, market.Candle{Exchange: Name, Symbol: t.sym, Timeframe: market.TF1m,
			Time: market.TF1m.FromOpenTime(start), Open: o, High: h, Low: l, Close: c, Volume: vol})
	}
	s.candles = cs
	for _, k := range cs {
		if s.f.klineFresh(k.Symbol, k.Time) {
			s.em.Candle(k, false)
		}
	}
	return true
}

// onBook parses an orderbook message completely (a malformed one never touches the book) and
// applies it by the sync procedure.
func (s *session) onBook(c conn, t *topic, v *fastjson.Value, data []byte) error {
	var snapshot bool
	switch string(v.GetStringBytes("type")) {
	case "snapshot":
		snapshot = true
	case "delta":
	default:
		s.malformed(t, data)
		return nil
	}
	d := v.Get("data")
	if d == nil || d.Type() != fastjson.TypeObject || !symbolMatches(d, t.sym) {
		s.malformed(t, data)
		return nil
	}
	uv := d.Get("u")
	if uv == nil {
		s.malformed(t, data)
		return nil
	}
	u, err := uv.Int64()
	if err != nil || u <= 0 {
		s.malformed(t, data)
		return nil
	}
	ts := v.GetInt64("cts") // matching-engine time, as trades carry it
	if ts <= 0 {
		ts = v.GetInt64("ts")
	}
	bids, ok1 := parseLevels(d.Get("b"), s.bids[:0])
	asks, ok2 := parseLevels(d.Get("a"), s.asks[:0])
	s.bids, s.asks = bids, asks
	if !ok1 || !ok2 {
		s.malformed(t, data)
		return nil
	}
	return s.applyBook(c, t.book, snapshot, u, ts, bids, asks)
}

// applyBook runs steps 2–8 of the sync procedure on one parsed message.
func (s *session) applyBook(c conn, b *bookState, snapshot bool, u, ts int64, bids, asks []market.Level) error {
	if snapshot || u == 1 { // a snapshot resets at any time; u = 1 is a fresh book after a restart
		b.book.Apply(market.BookUpdate{Time: ts, Seq: u, Snapshot: true, Bids: bids, Asks: asks})
		b.lastU = u
		if b.book.Crossed() {
			return s.crossed(c, b)
		}
		was := b.synced
		b.synced, b.resyncing = true, false
		if s.active {
			s.emitSnapshotLocked(b, ts)
			if !was {
				s.em.Event(market.StreamSynced, b.sym, market.ChannelBook, "")
			}
		}
		return nil
	}
	if !b.synced {
		return nil // before the first snapshot, or while resyncing: dropped
	}
	if u <= b.lastU {
		return nil // stale
	}
	if u != b.lastU+1 {
		detail := fmt.Sprintf("seq gap: u %d, have %d", u, b.lastU)
		s.em.Event(market.StreamGap, b.sym, market.ChannelBook, detail)
		return s.resync(c, b, detail)
	}
	for _, l := range bids {
		b.book.Set(market.Buy, l.Price, l.Size)
	}
	for _, l := range asks {
		b.book.Set(market.Sell, l.Price, l.Size)
	}
	b.lastU = u
	b.book.Time, b.book.Seq = ts, u
	if b.book.Crossed() {
		return s.crossed(c, b)
	}
	if s.active {
		lv := make([]market.Level, len(bids)+len(asks)) // the sink may keep it
		copy(lv, bids)
		copy(lv[len(bids):], asks)
		bl := bestFirst(market.Buy, lv[:len(bids)])
		al := bestFirst(market.Sell, lv[len(bids):])
		s.em.Book(market.BookUpdate{Exchange: Name, Symbol: b.sym, Time: ts, Seq: u,
			Bids: bl[:len(bl):len(bl)], Asks: al})
	}
	return nil
}

func (s *session) crossed(c conn, b *bookState) error {
	bb, _ := b.book.BestBid()
	ba, _ := b.book.BestAsk()
	detail := fmt.Sprintf("crossed book after u %d: bid %v >= ask %v", b.lastU, bb.Price, ba.Price)
	s.em.Event(market.StreamGap, b.sym, market.ChannelBook, detail)
	return s.resync(c, b, detail)
}

// resync drops the book and resubscribes its topic (unsubscribe + subscribe) for a new
// snapshot; deltas are ignored until it comes.
func (s *session) resync(c conn, b *bookState, reason string) error {
	b.book.Reset()
	b.synced, b.lastU = false, 0
	if s.active {
		s.em.Event(market.StreamResyncing, b.sym, market.ChannelBook, reason)
	}
	if b.resyncing {
		return nil // a resubscription is under way already
	}
	b.resyncing, b.resyncAt = true, time.Now()
	if err := s.requestLocked(c, "unsubscribe", b.topic, false); err != nil {
		return err
	}
	return s.requestLocked(c, "subscribe", b.topic, false)
}

// emitSnapshotLocked forwards the whole book as a snapshot.
func (s *session) emitSnapshotLocked(b *bookState, ts int64) {
	nb, na := b.book.Len()
	lv := make([]market.Level, 0, nb+na)
	lv = b.book.Bids(0, lv)
	lv = b.book.Asks(0, lv)
	s.em.Book(market.BookUpdate{Exchange: Name, Symbol: b.sym, Time: ts, Seq: b.lastU, Snapshot: true,
		Bids: lv[:nb:nb], Asks: lv[nb:]})
}

// bestFirst orders levels best first (bids descending, asks ascending) in place and keeps
// only the last size of a price listed twice (as applying them in order would).
func bestFirst(side market.Side, lv []market.Level) []market.Level {
	market.SortLevels(side, lv)
	out := lv[:0]
	for i, l := range lv { // the sort is stable: of equal prices, the last listed comes last
		if i+1 < len(lv) && lv[i+1].Price == l.Price {
			continue
		}
		out = append(out, l)
	}
	return out
}
