package okx

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// socketKind tells OKX's two public sockets apart.
type socketKind int

const (
	socketPublic   socketKind = iota // /ws/v5/public: trades, books
	socketBusiness                   // /ws/v5/business: candles
)

func (k socketKind) String() string {
	if k == socketBusiness {
		return "business"
	}
	return "public"
}

const (
	chTrades  = "trades"
	chCandles = "candle1m"
)

// link is what a session needs of its connection (*venue.Conn); tests drive sessions with a
// recording fake.
type link interface {
	Send(data []byte) error
	Ready()
	Handover(reason string)
	Drop(reason error)
	Active() bool
}

// request is a subscribe or unsubscribe waiting for its ack.
type request struct {
	seq     int
	op      string // "subscribe" | "unsubscribe"
	channel string
	inst    string
	initial bool // part of the connection's opening subscriptions (Ready waits for it)
	sent    time.Time
}

func (r *request) topic() string { return r.channel + ":" + r.inst }

// bookState is one symbol's book on one connection.
type bookState struct {
	sym       market.Symbol
	inst      string
	b         book
	synced    bool  // a snapshot was applied and nothing went wrong since
	hasSeq    bool  // last holds the venue's seqId (2022 captures have none)
	last      int64 // seqId of the last message applied
	ts        int64 // venue time of the last message applied
	firstSnap bool  // an accepted snapshot arrived on this connection
	emitted   bool  // the sink holds this book from this session
}

// session is the OKX protocol on one connection. Handle runs on the connection's reader
// goroutine, Activate and Close on the runner's: mu guards everything.
type session struct {
	rs     *runState
	kind   socketKind
	bookCh string

	mu       sync.Mutex
	parser   fastjson.Parser
	insts    []string                 // this connection's instIds, config order
	syms     map[string]market.Symbol // instId → symbol
	books    map[string]*bookState
	pending  []*request
	nextID   int
	requests int // subscribe/unsubscribe requests sent
	waitAcks int // opening subscriptions not acked yet
	needSnap int // books without a first snapshot
	ready    bool
	active   bool // Activate ran: this session feeds the sink

	// A handover's replacement holds Ready back until, for every symbol, it and the old
	// connection both received one same trade (public) or kline (business): from there on the
	// new connection carries everything the old one has not read yet, so closing the old one
	// loses nothing even with unread frames in its buffers. gateUntil bounds the wait (quiet
	// symbols). While inactive the session records what it receives in gate.
	gate      *gate
	gating    bool
	gateUntil time.Time

	// deferred until mu is released (they post to the runner, which may be waiting on mu)
	doReady    bool
	doHandover string

	// scratch, reused per frame
	bids, asks []wlevel
	trades     []market.Trade
	candles    []market.Candle
	buf        []byte
}

func newSession(rs *runState, kind socketKind, syms []market.Symbol) *session {
	s := &session{rs: rs, kind: kind, bookCh: rs.f.cfg.BookChannel, syms: map[string]market.Symbol{},
		books: map[string]*bookState{}, gate: &gate{keys: map[string]market.Symbol{}, overlap: map[market.Symbol]bool{}}}
	rs.openGate(s.gate)
	for _, sym := range syms {
		id := rs.f.inst[sym]
		s.insts = append(s.insts, id)
		s.syms[id] = sym
		if kind == socketPublic {
			s.books[id] = &bookState{sym: sym, inst: id}
		}
	}
	return s
}

// Open sends the subscriptions, one request per arg so that an error names its topic.
func (s *session) Open(c *venue.Conn) error { return s.open(c) }

func (s *session) open(l link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.insts {
		var chans []string
		if s.kind == socketPublic {
			chans = []string{chTrades, s.bookCh}
			s.needSnap++
		} else {
			chans = []string{chCandles}
		}
		for _, ch := range chans {
			if err := s.request(l, "subscribe", ch, id, true); err != nil {
				return err
			}
			s.waitAcks++
		}
	}
	return nil
}

// request sends one subscribe/unsubscribe with a fresh id and remembers it.
func (s *session) request(l link, op, channel, inst string, initial bool) error {
	s.nextID++
	r := &request{seq: s.nextID, op: op, channel: channel, inst: inst, initial: initial, sent: time.Now()}
	b, err := json.Marshal(struct {
		ID   string              `json:"id"`
		Op   string              `json:"op"`
		Args []map[string]string `json:"args"`
	}{strconv.Itoa(r.seq), op, []map[string]string{{"channel": channel, "instId": inst}}})
	if err != nil {
		return err
	}
	s.pending = append(s.pending, r)
	s.requests++
	if err := l.Send(b); err != nil {
		return fmt.Errorf("okx %s: %s %s: %w", s.kind, op, r.topic(), err)
	}
	return nil
}

// Handle processes one frame.
func (s *session) Handle(c *venue.Conn, data []byte) error { return s.handle(c, data) }

func (s *session) handle(l link, data []byte) error {
	s.mu.Lock()
	err := s.frame(l, data)
	if err == nil && len(s.pending) > 0 {
		err = s.overdue()
	}
	if s.gating {
		s.checkGate()
	}
	ready, handover := s.doReady, s.doHandover
	s.doReady, s.doHandover = false, ""
	s.mu.Unlock()
	if ready {
		l.Ready()
	}
	if handover != "" {
		l.Handover(handover)
	}
	return err
}

// Ping sends OKX's text keep-alive, unless a request went unanswered for too long (a server
// that keeps the socket open but ignored the subscription): then the connection is redone.
func (s *session) Ping(c *venue.Conn) error {
	s.mu.Lock()
	err := s.overdue()
	if s.gating {
		s.checkGate()
	}
	ready := s.doReady
	s.doReady = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if ready {
		c.Ready()
	}
	return c.Send([]byte("ping"))
}

// overdue reports a subscribe/unsubscribe left unanswered for longer than the silence
// timeout; with mu held.
func (s *session) overdue() error {
	if len(s.pending) == 0 {
		return nil
	}
	r := s.pending[0] // the oldest
	if wait := time.Since(r.sent); wait > s.rs.f.cfg.Silence {
		return fmt.Errorf("okx %s: %s %s unanswered for %s", s.kind, r.op, r.topic(), wait.Round(time.Millisecond))
	}
	return nil
}

// Activate makes the session feed the sink: the books it holds go out as snapshots.
func (s *session) Activate(c *venue.Conn) { s.activate(c) }

func (s *session) activate(l link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = true
	s.rs.closeGate(s.gate)
	for _, id := range s.insts {
		bs := s.books[id]
		if bs == nil {
			continue
		}
		switch {
		case bs.synced:
			s.emitSnapshot(bs)
			bs.emitted = true
			s.rs.em.Event(market.StreamSynced, bs.sym, market.ChannelBook, "okx "+s.kind.String()+": new connection")
		case s.ready:
			// A handover's replacement whose book is resyncing: the old connection's book is
			// stale from now on.
			s.rs.em.Event(market.StreamResyncing, bs.sym, market.ChannelBook, "okx: handover while the book resyncs")
		}
	}
}

// Close reports the books this session fed as resyncing.
func (s *session) Close(c *venue.Conn, err error) { s.close(c, err) }

func (s *session) close(l link, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rs.closeGate(s.gate)
	if s.active && l.Active() && err != nil {
		for _, id := range s.insts {
			if bs := s.books[id]; bs != nil {
				s.rs.em.Event(market.StreamResyncing, bs.sym, market.ChannelBook, "connection lost: "+err.Error())
			}
		}
	}
	s.active = false
}

// emitting reports whether books go to the sink: only the active connection's do.
func (s *session) emitting(l link) bool { return s.active && l.Active() }

func (s *session) malformed(sym market.Symbol, channel string, data []byte) {
	s.rs.em.Event(market.StreamMalformed, sym, channel, venue.Clip(data))
}

// frame dispatches one frame; with mu held.
func (s *session) frame(l link, data []byte) error {
	if string(data) == "pong" {
		return nil
	}
	v, err := s.parser.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		s.malformed("", "", data)
		return nil
	}
	if ev := v.Get("event"); ev != nil {
		name, err := ev.StringBytes()
		if err != nil {
			s.malformed("", "", data)
			return nil
		}
		return s.control(l, v, string(name), data)
	}
	arg := v.Get("arg")
	if arg == nil {
		return nil // not a push we know
	}
	ch, inst := arg.GetStringBytes("channel"), arg.GetStringBytes("instId")
	if ch == nil || inst == nil {
		s.malformed("", "", data)
		return nil
	}
	sym, ok := s.syms[string(inst)]
	if !ok {
		return nil // not subscribed here
	}
	switch {
	case s.kind == socketPublic && string(ch) == chTrades:
		s.onTrades(v, sym, inst, data)
	case s.kind == socketPublic && string(ch) == s.bookCh:
		return s.onBook(l, v, s.books[string(inst)], data)
	case s.kind == socketBusiness && string(ch) == chCandles:
		s.onCandles(v, sym, data)
	}
	return nil
}

// control handles acks, errors and notices.
func (s *session) control(l link, v *fastjson.Value, event string, data []byte) error {
	switch event {
	case "subscribe", "unsubscribe":
		ch, inst := v.GetStringBytes("arg", "channel"), v.GetStringBytes("arg", "instId")
		if r := s.takeAck(v.Get("id"), event, string(ch), string(inst)); r != nil && r.initial {
			s.waitAcks--
			s.checkReady()
		}
	case "error":
		code, msg := codeString(v.Get("code")), string(v.GetStringBytes("msg"))
		r := s.takeError(v.Get("id"))
		if r != nil && r.op == "subscribe" {
			topic := r.topic()
			s.rs.em.Event(market.StreamError, s.syms[r.inst], channelName(r.channel, s.bookCh),
				fmt.Sprintf("subscribe %s: %s (code %s)", topic, msg, code))
			return venue.Fatal(fmt.Errorf("okx: subscribe %s rejected: %s (code %s)", topic, msg, code))
		}
		detail := fmt.Sprintf("okx %s: %s (code %s)", s.kind, msg, code)
		if r != nil {
			detail = fmt.Sprintf("okx %s: %s %s: %s (code %s)", s.kind, r.op, r.topic(), msg, code)
		}
		s.rs.em.Event(market.StreamError, "", "", detail)
	case "notice":
		code, msg := codeString(v.Get("code")), string(v.GetStringBytes("msg"))
		if code == "64008" {
			// A planned handover loses nothing: the streams stay connected (not reconnecting,
			// which would drop the books) while a new connection is opened beside this one.
			s.rs.connState(s.kind, slices.Sorted(maps.Values(s.syms)), venue.StateConnecting,
				fmt.Sprintf("okx %s: notice 64008: %s (handing over to a new connection)", s.kind, msg))
			s.doHandover = "okx notice 64008: " + msg
		} else {
			s.rs.em.Log.Info("okx notice", "socket", s.kind.String(), "code", code, "msg", msg)
		}
	}
	// login, channel-conn-count, …: nothing to do
	return nil
}

// takeAck removes the request an ack answers: by id, else (2022 acks carry none) the oldest
// of the same op and topic.
func (s *session) takeAck(id *fastjson.Value, op, channel, inst string) *request {
	return s.take(id, func(r *request) bool { return r.op == op && r.channel == channel && r.inst == inst })
}

// takeError removes the request an error answers: by id, else the oldest pending one.
func (s *session) takeError(id *fastjson.Value) *request {
	return s.take(id, func(*request) bool { return true })
}

// take removes and returns the pending request with the answer's id, or without an id the
// oldest that match accepts; nil when none.
func (s *session) take(id *fastjson.Value, match func(*request) bool) *request {
	if n, ok := idOf(id); ok {
		match = func(r *request) bool { return r.seq == n }
	}
	for i, r := range s.pending {
		if match(r) {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return r
		}
	}
	return nil
}

func idOf(v *fastjson.Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	b, err := v.StringBytes()
	if err != nil {
		return 0, false
	}
	n, ok := parseInt(b)
	return int(n), ok
}

// codeString renders OKX's code, a JSON string or (404 pages) a number.
func codeString(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	if b, err := v.StringBytes(); err == nil {
		return string(b)
	}
	return v.String()
}

func channelName(ch, bookCh string) string {
	switch ch {
	case chTrades:
		return market.ChannelTrades
	case chCandles:
		return market.ChannelCandles
	case bookCh:
		return market.ChannelBook
	}
	return ch
}

// checkReady reports Ready once every subscription is acked and every book has had its
// first snapshot; a handover's replacement (not active yet) first waits for the overlap.
func (s *session) checkReady() {
	if s.ready || s.gating || s.waitAcks > 0 || s.needSnap > 0 {
		return
	}
	if !s.active {
		s.gating = true
		wait := handoverWait
		if s.kind == socketBusiness {
			// One kline a minute rarely proves an overlap in time; a kline lost in the switch
			// is backfilled over REST, so the business socket waits less.
			wait = businessHandoverWait
		}
		s.gateUntil = time.Now().Add(min(wait, s.rs.f.cfg.Silence))
		s.checkGate()
		return
	}
	s.ready, s.doReady = true, true
}

// handoverWait bounds how long a replacement waits to overlap the connection it replaces
// (OKX closes the old one about 60 s after its notice).
const (
	handoverWait         = 10 * time.Second
	businessHandoverWait = 2 * time.Second
)

// checkGate ends a replacement's wait: every symbol overlapped, the wait timed out, or the old
// connection is gone (the runner activated this one).
func (s *session) checkGate() {
	if s.active || !time.Now().Before(s.gateUntil) || s.rs.overlapped(s.gate, s.syms) {
		s.gating = false
		s.ready, s.doReady = true, true
	}
}

// onTrades forwards a trades push, each trade once across connections.
func (s *session) onTrades(v *fastjson.Value, sym market.Symbol, inst, data []byte) {
	arr, ok := array(v.Get("data"))
	if !ok {
		s.malformed(sym, market.ChannelTrades, data)
		return
	}
	s.trades = s.trades[:0]
	for _, d := range arr {
		t, ok := parseTrade(d, sym)
		if !ok {
			s.malformed(sym, market.ChannelTrades, data)
			return
		}
		s.trades = append(s.trades, t)
	}
	for _, t := range s.trades {
		key := string(inst) + ":" + t.ID
		dup := s.rs.dedupe.Seen(key)
		if !dup {
			s.rs.em.Trade(t)
		}
		s.noteItem(key, sym, dup)
	}
}

// noteItem feeds the handover overlap proof: an inactive session records what it receives;
// an active one reports the items it receives again (a replacement had them first).
func (s *session) noteItem(key string, sym market.Symbol, dup bool) {
	switch {
	case !s.active:
		s.rs.noteNew(s.gate, key, sym, dup)
	case dup:
		s.rs.noteOld(key)
	}
}

// array is v's elements; false when v is missing or not an array.
func array(v *fastjson.Value) ([]*fastjson.Value, bool) {
	if v == nil {
		return nil, false
	}
	a, err := v.Array()
	return a, err == nil
}

func parseTrade(d *fastjson.Value, sym market.Symbol) (market.Trade, bool) {
	id := d.GetStringBytes("tradeId")
	px, ok1 := parseDecimal(d.GetStringBytes("px"))
	sz, ok2 := parseDecimal(d.GetStringBytes("sz"))
	ts, ok3 := parseInt(d.GetStringBytes("ts"))
	if len(id) == 0 || len(id) > 64 || !ok1 || !ok2 || !ok3 || px <= 0 || sz <= 0 {
		return market.Trade{}, false
	}
	var side market.Side
	switch string(d.GetStringBytes("side")) {
	case "buy":
		side = market.Buy
	case "sell":
		side = market.Sell
	default:
		return market.Trade{}, false
	}
	return market.Trade{Exchange: Exchange, Symbol: sym, ID: string(id), Time: ts, Price: px, Size: sz, Side: side}, true
}

// onCandles forwards the closed bars of a candle1m push.
func (s *session) onCandles(v *fastjson.Value, sym market.Symbol, data []byte) {
	arr, ok := array(v.Get("data"))
	if !ok {
		s.malformed(sym, market.ChannelCandles, data)
		return
	}
	s.candles = s.candles[:0]
	for _, row := range arr {
		c, closed, ok := parseCandleRow(row, sym, market.TF1m)
		if !ok {
			s.malformed(sym, market.ChannelCandles, data)
			return
		}
		if closed {
			s.candles = append(s.candles, c)
		}
	}
	for _, c := range s.candles {
		dup := !s.rs.candle(c)
		s.noteItem(string(sym)+"@"+strconv.FormatInt(c.Time, 10), sym, dup)
	}
}

// parseCandleRow reads [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm] (ts = open time)
// into a right-aligned candle; closed is confirm == "1".
func parseCandleRow(row *fastjson.Value, sym market.Symbol, tf market.Timeframe) (c market.Candle, closed, ok bool) {
	r, err := row.Array()
	if err != nil || len(r) < 9 {
		return c, false, false
	}
	var f [9][]byte
	for i := range f {
		if f[i], err = r[i].StringBytes(); err != nil {
			return c, false, false
		}
	}
	open, ok0 := parseInt(f[0])
	o, ok1 := parseDecimal(f[1])
	h, ok2 := parseDecimal(f[2])
	l, ok3 := parseDecimal(f[3])
	cl, ok4 := parseDecimal(f[4])
	vol, ok5 := parseDecimal(f[5])
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || l > h || o > h || o < l || cl > h || cl < l {
		return c, false, false
	}
	c = market.Candle{Exchange: Exchange, Symbol: sym, Timeframe: tf, Time: tf.FromOpenTime(open),
		Open: o, High: h, Low: l, Close: cl, Volume: vol}
	return c, string(f[8]) == "1", true
}

// parseLevels reads [[px, sz, "0", count], …] into dst; it refuses the whole side on any bad
// level, so a malformed frame never touches a book.
func parseLevels(v *fastjson.Value, dst []wlevel) ([]wlevel, bool) {
	if v == nil {
		return dst, true
	}
	arr, err := v.Array()
	if err != nil {
		return dst, false
	}
	for _, lv := range arr {
		a, err := lv.Array()
		if err != nil || len(a) < 2 {
			return dst, false
		}
		p, err1 := a[0].StringBytes()
		q, err2 := a[1].StringBytes()
		if err1 != nil || err2 != nil {
			return dst, false
		}
		px, ok1 := parseDecimal(p)
		sz, ok2 := parseDecimal(q)
		if !ok1 || !ok2 || px <= 0 {
			return dst, false
		}
		dst = append(dst, wlevel{px: px, sz: sz})
		w := &dst[len(dst)-1]
		w.p.set(p)
		w.s.set(q)
	}
	return dst, true
}

// onBook runs the books sync procedure for one message.
func (s *session) onBook(l link, v *fastjson.Value, bs *bookState, data []byte) error {
	rows := v.GetArray("data")
	if len(rows) != 1 || rows[0].Type() != fastjson.TypeObject {
		s.malformed(bs.sym, market.ChannelBook, data)
		return nil
	}
	d := rows[0]
	snapshot := s.bookCh != "books" // books5 and bbo-tbt push whole books
	if !snapshot {
		switch string(v.GetStringBytes("action")) {
		case "snapshot":
			snapshot = true
		case "update":
		default:
			s.malformed(bs.sym, market.ChannelBook, data)
			return nil
		}
	}
	var ok bool
	if s.bids, ok = parseLevels(d.Get("bids"), s.bids[:0]); !ok {
		s.malformed(bs.sym, market.ChannelBook, data)
		return nil
	}
	if s.asks, ok = parseLevels(d.Get("asks"), s.asks[:0]); !ok {
		s.malformed(bs.sym, market.ChannelBook, data)
		return nil
	}
	ts, ok := parseInt(d.GetStringBytes("ts"))
	if !ok {
		s.malformed(bs.sym, market.ChannelBook, data)
		return nil
	}
	var sum int64
	if cv := d.Get("checksum"); cv != nil {
		n, err := cv.Int64()
		if err != nil || n < -1<<31 || n > 1<<31-1 {
			s.malformed(bs.sym, market.ChannelBook, data)
			return nil
		}
		sum = n
	}
	var seq, prev int64
	sv, pv := d.Get("seqId"), d.Get("prevSeqId")
	if sv != nil {
		n, err := sv.Int64()
		if err != nil {
			s.malformed(bs.sym, market.ChannelBook, data)
			return nil
		}
		seq = n
	}
	if pv != nil {
		n, err := pv.Int64()
		if err != nil {
			s.malformed(bs.sym, market.ChannelBook, data)
			return nil
		}
		prev = n
	}
	chained := sv != nil && pv != nil // 2022 captures and books5 carry no prevSeqId

	if snapshot {
		wasSynced := bs.synced
		bs.b.load(s.bids, s.asks)
		bs.synced, bs.hasSeq, bs.last, bs.ts = true, chained, seq, ts
		if err := s.verify(l, bs, sum, seq); err != nil || !bs.synced {
			return err
		}
		if !bs.firstSnap {
			bs.firstSnap = true
			s.needSnap--
			s.checkReady()
		}
		if s.emitting(l) {
			s.emitSnapshot(bs)
			if !wasSynced || !bs.emitted {
				s.rs.em.Event(market.StreamSynced, bs.sym, market.ChannelBook, "snapshot applied")
			}
			bs.emitted = true
		}
		return nil
	}

	if !bs.synced {
		return nil // step 2: updates before the snapshot are ignored
	}
	if chained && bs.hasSeq && prev != bs.last {
		return s.resync(l, bs, market.StreamGap, fmt.Sprintf("seq gap: prevSeqId %d, have %d", prev, bs.last))
	}
	// seq < prev is a sequence reset: accepted, continuing from the smaller seqId.
	bs.b.apply(s.bids, s.asks)
	if err := s.verify(l, bs, sum, seq); err != nil || !bs.synced {
		return err
	}
	if chained {
		bs.hasSeq, bs.last = true, seq
	}
	bs.ts = ts
	if (len(s.bids) > 0 || len(s.asks) > 0) && s.emitting(l) && bs.emitted {
		s.rs.em.Book(s.delta(bs, ts, seq))
	}
	return nil
}

// maxLevels bounds a side of a book (OKX "books" keeps 400): a stream that only ever adds
// levels is resynced rather than allowed to grow without end.
const maxLevels = 10_000

// verify checks the checksum (when the venue sent one) and the spread after a message was
// applied; on a fault the book resyncs (bs.synced turns false).
func (s *session) verify(l link, bs *bookState, sum, seq int64) error {
	if sum != 0 {
		var mine int32
		mine, s.buf = bs.b.checksum(s.buf)
		if int64(mine) != sum {
			return s.resync(l, bs, market.StreamChecksum,
				fmt.Sprintf("checksum mismatch: venue %d, computed %d (seqId %d)", sum, mine, seq))
		}
	}
	if nb, na := len(bs.b.bids), len(bs.b.asks); nb > maxLevels || na > maxLevels {
		return s.resync(l, bs, market.StreamGap, fmt.Sprintf("book too deep: %d bids, %d asks (seqId %d)", nb, na, seq))
	}
	if bs.b.crossed() {
		bb, _ := bs.b.bestBid()
		ba, _ := bs.b.bestAsk()
		return s.resync(l, bs, market.StreamGap,
			fmt.Sprintf("crossed book: best bid %s >= best ask %s (seqId %d)", bb.p.String(), ba.p.String(), seq))
	}
	return nil
}

// resync drops a book and resubscribes it (back to waiting for a snapshot).
func (s *session) resync(l link, bs *bookState, kind market.StreamKind, detail string) error {
	s.rs.em.Event(kind, bs.sym, market.ChannelBook, detail)
	if s.emitting(l) {
		s.rs.em.Event(market.StreamResyncing, bs.sym, market.ChannelBook, detail)
	}
	bs.b.reset()
	bs.synced, bs.hasSeq, bs.last, bs.emitted = false, false, 0, false
	if s.requests+2 > requestBudget {
		l.Drop(fmt.Errorf("okx %s: %d subscription requests sent on this connection; reconnecting to resync %s",
			s.kind, s.requests, bs.inst))
		return nil
	}
	if err := s.request(l, "unsubscribe", s.bookCh, bs.inst, false); err != nil {
		return err
	}
	return s.request(l, "subscribe", s.bookCh, bs.inst, false)
}

func (s *session) emitSnapshot(bs *bookState) {
	bids, asks := bs.b.levels()
	s.rs.em.Book(market.BookUpdate{Exchange: Exchange, Symbol: bs.sym, Time: bs.ts, Seq: bs.last,
		Snapshot: true, Bids: bids, Asks: asks})
}

// delta is the message's levels as a BookUpdate, best first on each side (one allocation:
// the sink may keep it).
func (s *session) delta(bs *bookState, ts, seq int64) market.BookUpdate {
	all := make([]market.Level, len(s.bids)+len(s.asks))
	bids, asks := all[:len(s.bids):len(s.bids)], all[len(s.bids):]
	for i := range s.bids {
		bids[i] = market.Level{Price: s.bids[i].px, Size: s.bids[i].sz}
	}
	for i := range s.asks {
		asks[i] = market.Level{Price: s.asks[i].px, Size: s.asks[i].sz}
	}
	market.SortLevels(market.Buy, bids)
	market.SortLevels(market.Sell, asks)
	return market.BookUpdate{Exchange: Exchange, Symbol: bs.sym, Time: ts, Seq: seq, Bids: bids, Asks: asks}
}
