package binance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// testSink plays the engine: it keeps each symbol's book from the updates (dropping it on
// StreamResyncing until the next snapshot) and records everything, with the contract
// violations it sees.
type testSink struct {
	mu         sync.Mutex
	changed    chan struct{}
	trades     []market.Trade
	tradeCount map[string]int
	books      map[market.Symbol]*market.Book
	live       map[market.Symbol]bool
	snapshots  map[market.Symbol]int
	deltas     int
	candles    []market.Candle
	events     []market.StreamEvent
	violations []string
}

func newTestSink() *testSink {
	return &testSink{changed: make(chan struct{}, 1), tradeCount: map[string]int{},
		books: map[market.Symbol]*market.Book{}, live: map[market.Symbol]bool{}, snapshots: map[market.Symbol]int{}}
}

func (s *testSink) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *testSink) OnTrade(t market.Trade) {
	s.mu.Lock()
	s.trades = append(s.trades, t)
	s.tradeCount[string(t.Symbol)+":"+t.ID]++
	s.mu.Unlock()
	s.poke()
}

func (s *testSink) OnBook(u market.BookUpdate) {
	s.mu.Lock()
	if u.Exchange != Name {
		s.violations = append(s.violations, "book update without the exchange name")
	}
	if u.Snapshot {
		b := market.NewBook(Name, u.Symbol)
		b.Apply(u)
		s.books[u.Symbol] = b
		s.live[u.Symbol] = true
		s.snapshots[u.Symbol]++
	} else if !s.live[u.Symbol] {
		s.violations = append(s.violations, fmt.Sprintf("%s: delta %d while the book is dropped", u.Symbol, u.Seq))
	} else {
		s.books[u.Symbol].Apply(u)
		s.deltas++
	}
	if !bestFirst(u.Bids, true) || !bestFirst(u.Asks, false) {
		s.violations = append(s.violations, fmt.Sprintf("%s: update %d not sorted best first", u.Symbol, u.Seq))
	}
	if b := s.books[u.Symbol]; b != nil && b.Crossed() {
		s.violations = append(s.violations, fmt.Sprintf("%s: crossed after update %d", u.Symbol, u.Seq))
	}
	s.mu.Unlock()
	s.poke()
}

// bestFirst reports whether levels are sorted best first (a repeated price, which the fake's
// script may send in one delta, keeps its order).
func bestFirst(lv []market.Level, bids bool) bool {
	for i := 1; i < len(lv); i++ {
		if (bids && lv[i].Price > lv[i-1].Price) || (!bids && lv[i].Price < lv[i-1].Price) {
			return false
		}
	}
	return true
}

func (s *testSink) OnCandle(c market.Candle, backfilled bool) {
	s.mu.Lock()
	s.candles = append(s.candles, c)
	if backfilled {
		s.violations = append(s.violations, "live kline marked backfilled")
	}
	s.mu.Unlock()
	s.poke()
}

func (s *testSink) OnStream(e market.StreamEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	if e.Kind == market.StreamResyncing && e.Channel == market.ChannelBook {
		s.live[e.Symbol] = false
	}
	s.mu.Unlock()
	s.poke()
}

// wait polls cond (under the sink's lock) each time the sink changes, until a deadline.
func (s *testSink) wait(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond) // the player's clock moves without sink calls
	defer tick.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-tick.C:
		case <-deadline.C:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("timed out waiting for %s; events:\n%s", what, s.eventsText())
		}
	}
}

// count is how many events of kind for sym (any symbol when sym is "*").
func (s *testSink) count(kind market.StreamKind, sym market.Symbol) int {
	n := 0
	for _, e := range s.events {
		if e.Kind == kind && (sym == "*" || e.Symbol == sym) {
			n++
		}
	}
	return n
}

func (s *testSink) eventsText() string {
	var b strings.Builder
	for i, e := range s.events {
		if i > 60 {
			fmt.Fprintf(&b, "… %d more\n", len(s.events)-i)
			break
		}
		fmt.Fprintf(&b, "  %s %s %s %s\n", e.Kind, e.Symbol, e.Channel, e.Detail)
	}
	return b.String()
}

// fakeConn stands in for *venue.Conn in unit tests.
type fakeConn struct {
	ctx       context.Context
	mu        sync.Mutex
	sent      []string
	ready     atomic.Int32
	handovers []string
}

func (c *fakeConn) Send(b []byte) error {
	c.mu.Lock()
	c.sent = append(c.sent, string(b))
	c.mu.Unlock()
	return nil
}
func (c *fakeConn) Ready() { c.ready.Add(1) }
func (c *fakeConn) Handover(reason string) {
	c.mu.Lock()
	c.handovers = append(c.handovers, reason)
	c.mu.Unlock()
}
func (c *fakeConn) Context() context.Context { return c.ctx }

// unit is a session wired to a fake connection and a scripted snapshot source.
type unit struct {
	f      *Feed
	s      *session
	c      *fakeConn
	sink   *testSink
	snaps  chan depthSnap
	calls  atomic.Int32
	cancel context.CancelFunc
}

// newUnit makes an active, acknowledged session for syms; snapshots come from u.snaps.
func newUnit(t testing.TB, syms ...market.Symbol) *unit { return newUnitCfg(t, nil, true, syms...) }

// newUnitCfg is newUnit with a config change, and without the ack when ack is false.
func newUnitCfg(t testing.TB, mod func(*Config), ack bool, syms ...market.Symbol) *unit {
	if len(syms) == 0 {
		syms = []market.Symbol{"BTCUSDT"}
	}
	cfg := Config{Symbols: syms, RESTURL: "http://127.0.0.1:9", WSURL: "ws://127.0.0.1:9/stream",
		Clock: func() int64 { return 1_700_000_000_000 }}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{f: f, sink: newTestSink(), snaps: make(chan depthSnap, 8)}
	f.snapshot = func(ctx context.Context, sym market.Symbol) (depthSnap, error) {
		u.calls.Add(1)
		select {
		case s := <-u.snaps:
			return s, nil
		case <-ctx.Done():
			return depthSnap{}, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.c = &fakeConn{ctx: ctx}
	g := newGroup(f, venue.NewEmitter(Name, u.sink, nil, f.Now), syms)
	u.s = newSession(g)
	if err := u.s.open(u.c); err != nil {
		t.Fatal(err)
	}
	u.s.Activate(nil)
	t.Cleanup(u.close)
	if !ack {
		return u
	}
	if err := u.s.handle([]byte(`{"result":null,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if u.c.ready.Load() != 1 {
		t.Fatalf("not ready after the ack")
	}
	return u
}

func (u *unit) close() {
	u.cancel()
	u.s.close(nil)
}

func (u *unit) handle(t testing.TB, frame string) {
	t.Helper()
	if err := u.s.handle([]byte(frame)); err != nil {
		t.Fatalf("handle %s: %v", frame, err)
	}
}

// state reads a symbol's sync state.
func (u *unit) state(sym market.Symbol) (synced bool, local int64, buffered int) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	st := u.s.bySym[string(sym)]
	return st.synced, st.local, len(st.buf)
}

// depthFrame is a combined-stream depthUpdate.
func depthFrame(sym string, U, u int64, bids, asks [][2]string) string {
	lv := func(ls [][2]string) string {
		parts := make([]string, len(ls))
		for i, l := range ls {
			parts[i] = fmt.Sprintf(`[%q,%q]`, l[0], l[1])
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf(`{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":1700000000123,"s":"%s","U":%d,"u":%d,"b":%s,"a":%s}}`,
		strings.ToLower(sym), sym, U, u, lv(bids), lv(asks))
}

// snap makes a snapshot from [price, size] pairs.
func snap(id int64, bids, asks [][2]float64) depthSnap {
	s := depthSnap{lastUpdateID: id}
	for _, l := range bids {
		s.bids = append(s.bids, market.Level{Price: l[0], Size: l[1]})
	}
	for _, l := range asks {
		s.asks = append(s.asks, market.Level{Price: l[0], Size: l[1]})
	}
	return s
}

// levelsOf is a book's levels, best first.
func levelsOf(b *market.Book) (bids, asks []market.Level) {
	if b == nil {
		return nil, nil
	}
	return b.Bids(0, nil), b.Asks(0, nil)
}

func wantLevels(t *testing.T, what string, got []market.Level, want [][2]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i].Price != want[i][0] || got[i].Size != want[i][1] {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
}

// fixture reads a file of ../shared/fixtures/exchanges, skipping the test without it.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../../shared/fixtures/exchanges/" + name)
	if err != nil {
		t.Skipf("fixture %s: %v", name, err)
	}
	return string(b)
}
