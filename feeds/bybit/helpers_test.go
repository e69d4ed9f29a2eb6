package bybit

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// recSink records what a feed emits and rebuilds each book from the BookUpdates as the engine
// does: a Resyncing (or a reconnect) drops the book until the next snapshot. It counts the
// contract violations it sees: a delta for a dropped book, a crossed book.
type recSink struct {
	mu         sync.Mutex
	trades     []market.Trade
	candles    []market.Candle
	events     []market.StreamEvent
	updates    int
	books      map[market.Symbol]*market.Book
	dropped    map[market.Symbol]bool
	violations []string
}

func newRecSink() *recSink {
	return &recSink{books: map[market.Symbol]*market.Book{}, dropped: map[market.Symbol]bool{}}
}

func (r *recSink) OnTrade(t market.Trade) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trades = append(r.trades, t)
}

func (r *recSink) OnBook(u market.BookUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates++
	b := r.books[u.Symbol]
	if b == nil {
		b = market.NewBook(u.Exchange, u.Symbol)
		r.books[u.Symbol] = b
		r.dropped[u.Symbol] = true
	}
	if !u.Snapshot && r.dropped[u.Symbol] {
		r.violations = append(r.violations, fmt.Sprintf("%s: delta u %d while the book is dropped", u.Symbol, u.Seq))
		return
	}
	if u.Snapshot {
		r.dropped[u.Symbol] = false
	}
	if !market.SortedBestFirst(market.Buy, u.Bids) || !market.SortedBestFirst(market.Sell, u.Asks) {
		r.violations = append(r.violations, fmt.Sprintf("%s: levels not best first at u %d", u.Symbol, u.Seq))
	}
	b.Apply(u)
	if b.Crossed() {
		r.violations = append(r.violations, fmt.Sprintf("%s: crossed book emitted at u %d", u.Symbol, u.Seq))
	}
}

func (r *recSink) OnCandle(c market.Candle, backfilled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.candles = append(r.candles, c)
}

func (r *recSink) OnStream(ev market.StreamEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	drop := ev.Kind == market.StreamResyncing && ev.Channel == market.ChannelBook ||
		ev.Kind == market.StreamReconnecting && (ev.Channel == "" || ev.Channel == market.ChannelBook)
	if drop {
		for sym, b := range r.books {
			if ev.Symbol == "" || ev.Symbol == sym {
				b.Reset()
				r.dropped[sym] = true
			}
		}
	}
}

// count counts events of a kind (and, if non-empty, whose detail matches re).
func (r *recSink) count(kind market.StreamKind, re string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Kind == kind && (re == "" || regexp.MustCompile(re).MatchString(ev.Detail)) {
			n++
		}
	}
	return n
}

func (r *recSink) kinds() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, ev := range r.events {
		fmt.Fprintf(&b, "%s/%s/%s(%s) ", ev.Kind, ev.Symbol, ev.Channel, ev.Detail)
	}
	return b.String()
}

func (r *recSink) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Error(v)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond) // polling, not synchronisation
	}
}

// fakeConn records what a session sends.
type fakeConn struct {
	sent  []string
	ready int
}

func (c *fakeConn) Send(b []byte) error { c.sent = append(c.sent, string(b)); return nil }
func (c *fakeConn) Ready()              { c.ready++ }

// testSession makes an active session on a recorder with every subscription acknowledged.
func testSession(t testing.TB, cfg Config) (*session, *fakeConn, *recSink) {
	t.Helper()
	if len(cfg.Symbols) == 0 {
		cfg.Symbols = []market.Symbol{"BTCUSDT"}
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecSink()
	em := venue.NewEmitter(Name, sink, nil, func() int64 { return 1 })
	s := newSession(f, em, f.cfg.Symbols)
	fc := &fakeConn{}
	if err := s.open(fc); err != nil {
		t.Fatal(err)
	}
	s.activate()
	for _, p := range append([]pendingReq(nil), s.pending...) {
		ack := fmt.Sprintf(`{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":%q,"op":"subscribe"}`, p.id)
		if err := s.handle(fc, []byte(ack)); err != nil {
			t.Fatal(err)
		}
	}
	if fc.ready != 1 {
		t.Fatalf("Ready called %d times after the acks", fc.ready)
	}
	return s, fc, sink
}

// levels lists a book side as "price:size" strings, best first.
func levels(b *market.Book, bids bool, n int) string {
	var lv []market.Level
	if bids {
		lv = b.Bids(n, nil)
	} else {
		lv = b.Asks(n, nil)
	}
	parts := make([]string, len(lv))
	for i, l := range lv {
		parts[i] = fmt.Sprintf("%v:%v", l.Price, l.Size)
	}
	return strings.Join(parts, " ")
}

// venueBackoff redials quickly in tests.
var venueBackoff = venue.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}
