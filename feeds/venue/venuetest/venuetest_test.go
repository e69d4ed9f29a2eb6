package venuetest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

func lv(pairs ...float64) []market.Level {
	var out []market.Level
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, market.Level{Price: pairs[i], Size: pairs[i+1]})
	}
	return out
}

func snapshot(sym market.Symbol, seq int64, bids, asks []market.Level) market.BookUpdate {
	return market.BookUpdate{Exchange: "x", Symbol: sym, Seq: seq, Snapshot: true, Bids: bids, Asks: asks}
}

func delta(sym market.Symbol, seq int64, bids, asks []market.Level) market.BookUpdate {
	return market.BookUpdate{Exchange: "x", Symbol: sym, Seq: seq, Bids: bids, Asks: asks}
}

func event(kind market.StreamKind, sym market.Symbol, channel string) market.StreamEvent {
	return market.StreamEvent{Kind: kind, Exchange: "x", Symbol: sym, Channel: channel, Time: 1_700_000_123_456, Detail: "why"}
}

// live lists the symbols whose book the sink serves, sorted.
func live(s *Sink) []market.Symbol {
	var out []market.Symbol
	for sym := range s.Books {
		out = append(out, sym)
	}
	slices.Sort(out)
	return out
}

func wantViolations(t *testing.T, s *Sink, want ...string) {
	t.Helper()
	if !slices.Equal(s.Violations, want) {
		t.Fatalf("violations %q, want %q", s.Violations, want)
	}
}

// A snapshot replaces the book, a delta applies to it; a delta with no book is an orphan,
// not applied.
func TestSnapshotAndDelta(t *testing.T) {
	s := New("x")
	s.OnBook(delta("BTC", 9, lv(100, 1), nil))
	if s.Orphans != 1 || s.Deltas != 0 || s.Books["BTC"] != nil {
		t.Fatalf("delta before the snapshot: %d orphans, %d deltas, book %v", s.Orphans, s.Deltas, s.Books["BTC"])
	}
	wantViolations(t, s, "BTC: delta 9 while the book is dropped")
	s.Violations = nil

	s.OnBook(snapshot("BTC", 10, lv(100, 1, 99, 2), lv(101, 3, 102, 4)))
	s.OnBook(delta("BTC", 11, lv(100.5, 5, 99, 0), lv(101, 0)))
	bids, asks := Levels(s.Books["BTC"])
	WantLevels(t, "bids", bids, [][2]float64{{100.5, 5}, {100, 1}})
	WantLevels(t, "asks", asks, [][2]float64{{102, 4}})
	if s.Books["BTC"].Seq != 11 || s.Snapshots["BTC"] != 1 || s.Deltas != 1 || len(s.Updates) != 3 {
		t.Fatalf("seq %d, %d snapshots, %d deltas, %d updates", s.Books["BTC"].Seq, s.Snapshots["BTC"], s.Deltas, len(s.Updates))
	}
	// A second snapshot replaces the book whole.
	s.OnBook(snapshot("BTC", 20, lv(90, 1), lv(91, 1)))
	bids, asks = Levels(s.Books["BTC"])
	WantLevels(t, "bids after the second snapshot", bids, [][2]float64{{90, 1}})
	WantLevels(t, "asks after the second snapshot", asks, [][2]float64{{91, 1}})
	if s.Snapshots["BTC"] != 2 || s.Crossed != 0 {
		t.Fatalf("%d snapshots, %d crossed", s.Snapshots["BTC"], s.Crossed)
	}
	wantViolations(t, s)
}

// Resyncing and reconnecting on the book channel (or on every channel) drop the books of
// their symbol, or of every symbol; on another channel they drop nothing.
func TestDropRules(t *testing.T) {
	fresh := func() *Sink {
		s := New("x")
		for _, sym := range []market.Symbol{"BTC", "ETH"} {
			s.OnBook(snapshot(sym, 1, lv(100, 1), lv(101, 1)))
		}
		return s
	}
	for _, c := range []struct {
		ev   market.StreamEvent
		live []market.Symbol
	}{
		{event(market.StreamResyncing, "BTC", market.ChannelBook), []market.Symbol{"ETH"}},
		{event(market.StreamResyncing, "", market.ChannelBook), nil},
		{event(market.StreamResyncing, "BTC", market.ChannelTrades), []market.Symbol{"BTC", "ETH"}},
		{event(market.StreamReconnecting, "", ""), nil},
		{event(market.StreamReconnecting, "ETH", ""), []market.Symbol{"BTC"}},
		{event(market.StreamReconnecting, "ETH", market.ChannelBook), []market.Symbol{"BTC"}},
		{event(market.StreamReconnecting, "", market.ChannelCandles), []market.Symbol{"BTC", "ETH"}},
		{event(market.StreamReconnecting, "BTC", market.ChannelTrades), []market.Symbol{"BTC", "ETH"}},
		{event(market.StreamGap, "BTC", market.ChannelBook), []market.Symbol{"BTC", "ETH"}},
		{event(market.StreamConnecting, "", ""), []market.Symbol{"BTC", "ETH"}},
	} {
		s := fresh()
		s.OnStream(c.ev)
		if got := live(s); !slices.Equal(got, c.live) {
			t.Errorf("%s %q/%q: books %v, want %v", c.ev.Kind, c.ev.Symbol, c.ev.Channel, got, c.live)
		}
	}

	// A delta on a dropped book is an orphan; the next snapshot serves the book again.
	s := fresh()
	s.OnStream(event(market.StreamResyncing, "BTC", market.ChannelBook))
	s.OnBook(delta("BTC", 2, lv(100, 7), nil))
	s.OnBook(delta("ETH", 2, lv(100, 7), nil))
	if s.Orphans != 1 || s.Deltas != 1 || s.Books["BTC"] != nil {
		t.Fatalf("%d orphans, %d deltas, BTC book %v", s.Orphans, s.Deltas, s.Books["BTC"])
	}
	wantViolations(t, s, "BTC: delta 2 while the book is dropped")
	s.OnBook(snapshot("BTC", 3, lv(99, 2), lv(101, 1)))
	s.OnBook(delta("BTC", 4, lv(99, 5), nil))
	bids, _ := Levels(s.Books["BTC"])
	WantLevels(t, "BTC bids", bids, [][2]float64{{99, 5}})
	if s.Snapshots["BTC"] != 2 || s.Orphans != 1 || s.Deltas != 2 || len(s.Violations) != 1 {
		t.Fatalf("%d snapshots, %d orphans, %d deltas, violations %q", s.Snapshots["BTC"], s.Orphans, s.Deltas, s.Violations)
	}
}

// Each contract violation is recorded with what broke it.
func TestViolations(t *testing.T) {
	s := New("x")
	s.OnTrade(market.Trade{Exchange: "y", Symbol: "BTC", ID: "7"})
	s.OnBook(market.BookUpdate{Exchange: "y", Symbol: "BTC", Seq: 1, Snapshot: true, Bids: lv(100, 1), Asks: lv(101, 1)})
	s.OnCandle(market.Candle{Exchange: "x", Symbol: "BTC", Time: 60_000}, true)
	s.OnStream(market.StreamEvent{Kind: market.StreamConnected, Exchange: "y", Symbol: "BTC"})
	s.OnBook(delta("BTC", 2, lv(99, 1, 99.5, 1), nil))  // bids worst first
	s.OnBook(delta("BTC", 3, nil, lv(101, 2, 101, 3)))  // a repeated ask
	s.OnBook(delta("BTC", 4, lv(101.5, 1), nil))        // crosses the ask at 101
	s.OnBook(snapshot("ETH", 1, lv(10, 1, 10, 2), nil)) // a repeated bid in a snapshot
	wantViolations(t, s,
		`BTC: trade from exchange "y", want "x"`,
		`BTC: book update from exchange "y", want "x"`,
		"BTC: live kline 60000 marked backfilled",
		`BTC: stream event from exchange "y", want "x"`,
		"BTC: update 2 not sorted best first",
		"BTC: update 3 not sorted best first",
		"BTC: crossed after update 4",
		"ETH: update 1 not sorted best first",
	)
	if s.Crossed != 1 || s.Deltas != 3 || !slices.Equal(s.Backfilled, []bool{true}) || s.TradeIDs["BTC:7"] != 1 {
		t.Fatalf("%d crossed, %d deltas, backfilled %v, trade ids %v", s.Crossed, s.Deltas, s.Backfilled, s.TradeIDs)
	}

	// RepeatedPrices takes a delta's repeated price (in order), never a snapshot's; an
	// exchange of "" is not checked.
	r := New("", RepeatedPrices)
	r.OnTrade(market.Trade{Exchange: "y", Symbol: "BTC", ID: "7"})
	r.OnBook(snapshot("BTC", 1, lv(100, 1), lv(101, 1)))
	r.OnBook(delta("BTC", 2, lv(100, 2, 100, 0, 99, 1), lv(101, 0, 101, 4)))
	r.OnBook(delta("BTC", 3, lv(98, 1, 99, 1), nil))
	r.OnBook(snapshot("ETH", 1, lv(10, 1, 10, 2), nil))
	wantViolations(t, r, "BTC: update 3 not sorted best first", "ETH: update 1 not sorted best first")
	bids, asks := Levels(r.Books["BTC"])
	WantLevels(t, "bids", bids, [][2]float64{{99, 1}, {98, 1}})
	WantLevels(t, "asks", asks, [][2]float64{{101, 4}})
}

// recorder is a testing.TB that keeps what Error and Fatalf report (Fatalf ends the
// goroutine, as testing's does).
type recorder struct {
	testing.TB
	errors []string
	fatal  string
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run runs f on its own goroutine (so that Fatalf can end it) and waits for it.
func run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestCheckReportsViolations(t *testing.T) {
	s := New("x")
	s.OnBook(delta("BTC", 5, lv(1, 1), nil))
	s.OnCandle(market.Candle{Exchange: "x", Symbol: "ETH", Time: 120_000}, true)
	var r recorder
	s.Check(&r)
	want := []string{"BTC: delta 5 while the book is dropped", "ETH: live kline 120000 marked backfilled"}
	if !slices.Equal(r.errors, want) {
		t.Fatalf("errors %q, want %q", r.errors, want)
	}
}

// Every change leaves a token that wakes a waiter, and a Wait whose condition a change makes
// true returns.
func TestWaitWakesOnChange(t *testing.T) {
	s := New("x")
	for i, emit := range []func(){
		func() { s.OnTrade(market.Trade{Exchange: "x", Symbol: "BTC", ID: "1"}) },
		func() { s.OnBook(snapshot("BTC", 1, lv(100, 1), lv(101, 1))) },
		func() { s.OnCandle(market.Candle{Exchange: "x", Symbol: "BTC", Time: 60_000}, false) },
		func() { s.OnStream(event(market.StreamSynced, "BTC", market.ChannelBook)) },
	} {
		emit()
		emit() // one token however many changes
		if n := len(s.changed); n != 1 {
			t.Fatalf("emit %d: %d tokens, want 1", i, n)
		}
		<-s.changed
	}

	go func() {
		for i := range 3 {
			s.OnTrade(market.Trade{Exchange: "x", Symbol: "ETH", ID: fmt.Sprint(i)})
		}
	}()
	s.Wait(t, "three ETH trades", 10*time.Second, func() bool { return s.TradeIDs["ETH:0"]+s.TradeIDs["ETH:1"]+s.TradeIDs["ETH:2"] == 3 })
	if len(s.Trades) != 5 {
		t.Fatalf("%d trades, want 5", len(s.Trades))
	}
}

// A Wait that times out fails with what it waited for and the event log; Poll reports false.
func TestWaitTimesOut(t *testing.T) {
	s := New("x")
	s.OnStream(event(market.StreamResyncing, "BTC", market.ChannelBook))
	if s.Poll(30*time.Millisecond, func() bool { return len(s.Trades) > 0 }) {
		t.Fatal("Poll held a false condition")
	}
	var r recorder
	run(func() { s.Wait(&r, "a trade", 30*time.Millisecond, func() bool { return len(s.Trades) > 0 }) })
	want := "timed out after 30ms waiting for a trade; events:\n  123456 resyncing BTC/book: why"
	if r.fatal != want {
		t.Fatalf("Wait failed with %q, want %q", r.fatal, want)
	}
}

func TestQueries(t *testing.T) {
	s := New("x")
	for _, e := range []market.StreamEvent{
		event(market.StreamConnected, "", ""),
		event(market.StreamGap, "BTC", market.ChannelBook),
		{Kind: market.StreamGap, Exchange: "x", Symbol: "ETH", Channel: market.ChannelBook, Time: 7, Detail: "seq gap: U 15, have 12"},
		event(market.StreamSynced, "ETH", market.ChannelBook),
	} {
		s.OnStream(e)
	}
	for _, c := range []struct {
		kind market.StreamKind
		sym  market.Symbol
		want int
	}{
		{market.StreamGap, AnySymbol, 2}, {market.StreamGap, "ETH", 1}, {market.StreamGap, "", 0},
		{market.StreamConnected, "", 1}, {market.StreamConnected, "BTC", 0}, {market.StreamReconnecting, AnySymbol, 0},
	} {
		if n := s.Count(c.kind, c.sym); n != c.want {
			t.Errorf("Count(%s, %q) = %d, want %d", c.kind, c.sym, n, c.want)
		}
	}
	if n := s.CountDetail(market.StreamGap, `^seq gap: U \d+, have 12$`); n != 1 {
		t.Errorf("CountDetail = %d, want 1", n)
	}
	if e := s.OfKind(market.StreamGap); len(e) != 2 || e[0].Symbol != "BTC" || e[1].Symbol != "ETH" {
		t.Errorf("OfKind: %+v", e)
	}
	want := "\n  123456 connected /: why\n  123456 gap BTC/book: why\n  7 gap ETH/book: seq gap: U 15, have 12\n  123456 synced ETH/book: why"
	if got := s.EventLog(); got != want {
		t.Errorf("EventLog:\n%s\nwant:\n%s", got, want)
	}
	for range 400 {
		s.OnStream(event(market.StreamMalformed, "BTC", market.ChannelTrades))
	}
	if got := s.EventLog(); strings.Count(got, "\n") != 401 || !strings.HasSuffix(got, "\n  … (404 in all)") {
		t.Errorf("a long EventLog ends %q", got[len(got)-40:])
	}
}

// Fixture skips a test whose fixture is absent.
func TestFixtureAbsentSkips(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		Fixture(t, "no_such_fixture.json")
		t.Error("not skipped")
	})
}
