// Package venuetest is what the venue adapters' tests (feeds/bybit, feeds/okx, feeds/binance)
// share: a Sink that plays the engine and records everything a feed emits, checking the sink
// contract as it goes; a Discard sink for benchmarks; book level helpers; and the reader of the
// recorded exchange fixtures. Only test files import it.
package venuetest

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// AnySymbol makes Count count the events of every symbol.
const AnySymbol market.Symbol = "*"

// FixtureDir is the folder of the recorded exchange fixtures, from an adapter package's
// folder (feeds/<venue>), where its tests run.
const FixtureDir = "../../../shared/fixtures/exchanges/"

// Sink records what a feed emits and keeps each symbol's book the way the engine does: a
// snapshot resets and replaces it; a StreamResyncing or StreamReconnecting on the book channel
// (or on every channel, Channel "") drops the book of its symbol (of every symbol when Symbol
// is ""); a delta applies to it. It records the contract violations it sees: an update not
// from the sink's exchange, levels not best first, a delta while the book is dropped (not
// applied), a crossed book after an update, a live kline marked backfilled.
//
// The exported fields are read with the sink locked: in a Wait or Poll condition, between
// Lock and Unlock, or once nothing emits into the sink any more. Methods whose names end in
// Locked are for the same places; the others lock the sink themselves.
type Sink struct {
	// Exchange is the venue every trade, update, candle and event must come from ("": any).
	Exchange string

	Trades   []market.Trade // in order
	TradeIDs map[string]int // trades per symbol+":"+ID

	Updates    []market.BookUpdate            // every book update, in order
	Books      map[market.Symbol]*market.Book // the books being served: none while dropped
	Snapshots  map[market.Symbol]int          // snapshots per symbol
	Deltas     int                            // deltas applied to a book
	Orphans    int                            // deltas with no book to apply to (before a snapshot, after a drop)
	Crossed    int                            // updates after which the book was crossed
	Candles    []market.Candle                // in order
	Backfilled []bool                         // the flag each of Candles came with
	Events     []market.StreamEvent           // in order

	Violations []string // each contract violation, in order

	repeats bool // RepeatedPrices
	mu      sync.Mutex
	changed chan struct{} // one token: the sink changed since a waiter last looked
}

// An Option changes what a Sink takes as valid.
type Option func(*Sink)

// RepeatedPrices lets a delta list a price more than once, in the order to apply (Binance and
// OKX forward the venue's own deltas; Bybit merges them). A snapshot's levels are always
// strictly best first.
func RepeatedPrices(s *Sink) { s.repeats = true }

// New makes an empty sink for the feed of exchange ("": not checked).
func New(exchange string, opts ...Option) *Sink {
	s := &Sink{Exchange: exchange, TradeIDs: map[string]int{}, Books: map[market.Symbol]*market.Book{},
		Snapshots: map[market.Symbol]int{}, changed: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Lock locks the sink: a feed emitting into it waits until Unlock.
func (s *Sink) Lock() { s.mu.Lock() }

// Unlock unlocks the sink.
func (s *Sink) Unlock() { s.mu.Unlock() }

// unlock unlocks the sink after a change and wakes a waiter.
func (s *Sink) unlock() {
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *Sink) violate(format string, args ...any) {
	s.Violations = append(s.Violations, fmt.Sprintf(format, args...))
}

func (s *Sink) checkExchange(what string, sym market.Symbol, exchange string) {
	if s.Exchange != "" && exchange != s.Exchange {
		s.violate("%s: %s from exchange %q, want %q", sym, what, exchange, s.Exchange)
	}
}

// OnTrade records a trade (market.Sink).
func (s *Sink) OnTrade(t market.Trade) {
	s.mu.Lock()
	defer s.unlock()
	s.checkExchange("trade", t.Symbol, t.Exchange)
	s.Trades = append(s.Trades, t)
	s.TradeIDs[string(t.Symbol)+":"+t.ID]++
}

// OnBook records a book update and applies it to its symbol's book (market.Sink).
func (s *Sink) OnBook(u market.BookUpdate) {
	s.mu.Lock()
	defer s.unlock()
	s.checkExchange("book update", u.Symbol, u.Exchange)
	s.Updates = append(s.Updates, u)
	repeats := s.repeats && !u.Snapshot
	if !bestFirst(market.Buy, u.Bids, repeats) || !bestFirst(market.Sell, u.Asks, repeats) {
		s.violate("%s: update %d not sorted best first", u.Symbol, u.Seq)
	}
	b := s.Books[u.Symbol]
	switch {
	case u.Snapshot:
		if b == nil {
			b = market.NewBook(u.Exchange, u.Symbol)
			s.Books[u.Symbol] = b
		}
		b.Reset()
		s.Snapshots[u.Symbol]++
	case b == nil:
		s.Orphans++
		s.violate("%s: delta %d while the book is dropped", u.Symbol, u.Seq)
		return
	default:
		s.Deltas++
	}
	b.Apply(u)
	if b.Crossed() {
		s.Crossed++
		s.violate("%s: crossed after update %d", u.Symbol, u.Seq)
	}
}

// bestFirst reports whether levels are sorted best first: strictly, or with a price that
// repeats keeping its place when repeats.
func bestFirst(side market.Side, lv []market.Level, repeats bool) bool {
	if !repeats {
		return market.SortedBestFirst(side, lv)
	}
	for i := 1; i < len(lv); i++ {
		if side == market.Buy && lv[i].Price > lv[i-1].Price || side != market.Buy && lv[i].Price < lv[i-1].Price {
			return false
		}
	}
	return true
}

// OnCandle records a closed kline (market.CandleSink); a feed's klines are live, never
// backfilled.
func (s *Sink) OnCandle(c market.Candle, backfilled bool) {
	s.mu.Lock()
	defer s.unlock()
	s.checkExchange("kline", c.Symbol, c.Exchange)
	s.Candles = append(s.Candles, c)
	s.Backfilled = append(s.Backfilled, backfilled)
	if backfilled {
		s.violate("%s: live kline %d marked backfilled", c.Symbol, c.Time)
	}
}

// OnStream records a stream event and drops the books it takes down (market.StreamSink).
func (s *Sink) OnStream(e market.StreamEvent) {
	s.mu.Lock()
	defer s.unlock()
	s.checkExchange("stream event", e.Symbol, e.Exchange)
	s.Events = append(s.Events, e)
	if (e.Kind == market.StreamResyncing || e.Kind == market.StreamReconnecting) &&
		(e.Channel == "" || e.Channel == market.ChannelBook) {
		for sym := range s.Books {
			if e.Symbol == "" || e.Symbol == sym {
				delete(s.Books, sym)
			}
		}
	}
}

// Wait polls cond, called with the sink locked, each time the sink changes and every 20 ms
// (for what changes outside it) until it holds; after d it fails the test with the event log.
func (s *Sink) Wait(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if !s.Poll(d, cond) {
		t.Fatalf("timed out after %s waiting for %s; events:%s", d, what, s.EventLog())
	}
}

// Poll is Wait that reports whether cond held within d instead of failing.
func (s *Sink) Poll(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.changed:
		case <-tick.C:
		case <-deadline.C:
			return false
		}
	}
}

// Count is how many events of kind came for sym: "" counts those for every symbol at once
// (a connection's), AnySymbol those for any symbol.
func (s *Sink) Count(kind market.StreamKind, sym market.Symbol) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.CountLocked(kind, sym)
}

// CountLocked is Count with the sink locked.
func (s *Sink) CountLocked(kind market.StreamKind, sym market.Symbol) int {
	n := 0
	for _, e := range s.Events {
		if e.Kind == kind && (sym == AnySymbol || e.Symbol == sym) {
			n++
		}
	}
	return n
}

// CountDetail is how many events of kind, for any symbol, have a detail that matches the
// regular expression re.
func (s *Sink) CountDetail(kind market.StreamKind, re string) int {
	rx := regexp.MustCompile(re)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.Events {
		if e.Kind == kind && rx.MatchString(e.Detail) {
			n++
		}
	}
	return n
}

// OfKind is the events of kind, in order.
func (s *Sink) OfKind(kind market.StreamKind) []market.StreamEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.OfKindLocked(kind)
}

// OfKindLocked is OfKind with the sink locked.
func (s *Sink) OfKindLocked(kind market.StreamKind) []market.StreamEvent {
	var out []market.StreamEvent
	for _, e := range s.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// EventLog lists the events for a failure message, a line each (the first 400): the feed
// clock's last six digits, the kind, symbol/channel and the detail.
func (s *Sink) EventLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.EventLogLocked()
}

// EventLogLocked is EventLog with the sink locked.
func (s *Sink) EventLogLocked() string {
	var b strings.Builder
	for i, e := range s.Events {
		if i == 400 {
			fmt.Fprintf(&b, "\n  … (%d in all)", len(s.Events))
			break
		}
		fmt.Fprintf(&b, "\n  %d %s %s/%s: %s", e.Time%1000000, e.Kind, e.Symbol, e.Channel, e.Detail)
	}
	return b.String()
}

// Check reports each violation the sink recorded as a test error.
func (s *Sink) Check(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.Violations {
		t.Error(v)
	}
}

// Discard is a sink that takes everything and keeps nothing (for benchmarks).
type Discard struct{}

// OnTrade discards a trade.
func (Discard) OnTrade(market.Trade) {}

// OnBook discards a book update.
func (Discard) OnBook(market.BookUpdate) {}

// OnCandle discards a kline.
func (Discard) OnCandle(market.Candle, bool) {}

// OnStream discards a stream event.
func (Discard) OnStream(market.StreamEvent) {}

// Levels is a book's levels, best first (none for a nil book).
func Levels(b *market.Book) (bids, asks []market.Level) {
	if b == nil {
		return nil, nil
	}
	return b.Bids(0, nil), b.Asks(0, nil)
}

// WantLevels fails the test unless got are the [price, size] levels of want, in order.
func WantLevels(t testing.TB, what string, got []market.Level, want [][2]float64) {
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

// Fixture reads the fixture file name of FixtureDir, skipping the test without it.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(FixtureDir + name)
	if err != nil {
		t.Skipf("fixture %s absent: %v", name, err)
	}
	return string(b)
}
