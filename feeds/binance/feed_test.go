package binance

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

var twoSymbols = []market.Symbol{"BTCUSDT", "ETHUSDT"}

// env is the feed running against the Binance fake.
type env struct {
	t      *testing.T
	script *fakevenue.Script
	player *fakevenue.Player
	srv    *fakevenue.BinanceServer
	feed   *Feed
	sink   *venuetest.Sink
	runErr chan error
	played chan error
	cancel context.CancelFunc
}

// startEnv plays a script of a few minutes of two symbols through the fake, paced at rate
// events per second, with the feed subscribed to it.
func startEnv(t *testing.T, dur time.Duration, rate float64, faults fakevenue.Faults, mod func(*Config)) *env {
	t.Helper()
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSymbols, Duration: dur, Seed: 42})
	p := fakevenue.NewPlayer(s, fakevenue.PlayerOptions{Faults: faults, Rate: rate})
	srv := fakevenue.NewBinance(p, fakevenue.BinanceOptions{})
	cfg := Config{Symbols: twoSymbols, WSURL: srv.WS("/stream"), RESTURL: srv.URL, Clock: p.Now,
		Backoff: venue.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}, Silence: 5 * time.Second,
		RESTWeight: 1_000_000, ReadyWait: 3 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, script: s, player: p, srv: srv, feed: f, sink: newSink(), runErr: make(chan error, 1), played: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.runErr <- f.Run(ctx, e.sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			e.runErr <- err
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		srv.Close()
	})
	// The player paces from its start: start it once the feed is subscribed, so that the
	// time the feed took to connect is not played in a burst.
	e.sink.Wait(t, "the first connection", 20*time.Second, func() bool { return e.sink.CountLocked(market.StreamConnected, "") > 0 })
	go func() { e.played <- p.Run(ctx) }()
	return e
}

// waitEnd waits until the script was played and the sink holds every symbol's final book,
// last kline and last trade (with the kline, the last events of a symbol: every frame before
// them was handled).
func (e *env) waitEnd(d time.Duration) {
	e.t.Helper()
	e.sink.Wait(e.t, "the end of the script with the final books", d, func() bool {
		if !e.player.Done() {
			return false
		}
		for _, sym := range twoSymbols {
			ks, ts := e.script.Klines(sym), e.script.Trades(sym)
			lastKline, lastTrade := false, e.sink.TradeIDs[string(sym)+":"+strconv.FormatInt(ts[len(ts)-1].ID, 10)] > 0
			for _, c := range e.sink.Candles {
				lastKline = lastKline || (c.Symbol == sym && c.Time == ks[len(ks)-1].Time)
			}
			if !lastKline || !lastTrade {
				return false
			}
			want, _ := e.player.Book(sym)
			b := e.sink.Books[sym]
			if b == nil || b.Seq != want.Seq {
				return false
			}
		}
		return true
	})
}

// checkBooks compares every level of the sink's books with the player's.
func (e *env) checkBooks() {
	e.t.Helper()
	e.sink.Lock()
	defer e.sink.Unlock()
	for _, sym := range twoSymbols {
		want, _ := e.player.Book(sym)
		bids, asks := venuetest.Levels(e.sink.Books[sym])
		for side, pair := range map[string]struct {
			got  []market.Level
			want []fakevenue.Level
		}{"bids": {bids, want.Bids(0)}, "asks": {asks, want.Asks(0)}} {
			if len(pair.got) != len(pair.want) {
				e.t.Fatalf("%s %s: %d levels, want %d", sym, side, len(pair.got), len(pair.want))
			}
			for i, l := range pair.want {
				p, _ := strconv.ParseFloat(l.Price, 64)
				q, _ := strconv.ParseFloat(l.Size, 64)
				if pair.got[i].Price != p || pair.got[i].Size != q {
					e.t.Fatalf("%s %s level %d: %+v, want %s@%s", sym, side, i, pair.got[i], l.Size, l.Price)
				}
			}
		}
	}
	if len(e.sink.Violations) > 0 {
		e.t.Fatalf("%d violations, the first: %v", len(e.sink.Violations), e.sink.Violations[:min(5, len(e.sink.Violations))])
	}
}

// checkTrades: no trade twice, every trade is the script's, and the missing ones are exactly
// those lost reports (nil: none).
func (e *env) checkTrades(lost func(fakevenue.Trade) bool) {
	e.t.Helper()
	e.sink.Lock()
	defer e.sink.Unlock()
	for k, n := range e.sink.TradeIDs {
		if n != 1 {
			e.t.Fatalf("trade %s forwarded %d times", k, n)
		}
	}
	got := map[string]market.Trade{}
	for _, tr := range e.sink.Trades {
		got[string(tr.Symbol)+":"+tr.ID] = tr
	}
	missing := 0
	for _, sym := range twoSymbols {
		for _, w := range e.script.Trades(sym) {
			tr, ok := got[string(sym)+":"+strconv.FormatInt(w.ID, 10)]
			if !ok {
				if lost == nil || !lost(w) {
					e.t.Fatalf("trade %s %d at %d missing; events:%s", sym, w.ID, w.Time, e.sink.EventLogLocked())
				}
				missing++
				continue
			}
			p, _ := strconv.ParseFloat(w.Price, 64)
			q, _ := strconv.ParseFloat(w.Size, 64)
			if tr.Time != w.Time || tr.Price != p || tr.Size != q || tr.Side != w.Side || tr.Exchange != Name {
				e.t.Fatalf("trade %+v, want %+v", tr, w)
			}
			delete(got, string(sym)+":"+strconv.FormatInt(w.ID, 10))
		}
	}
	if len(got) != 0 {
		e.t.Fatalf("%d trades not in the script", len(got))
	}
	if lost != nil && missing == 0 {
		e.t.Fatal("the faults took no trade: the test tests nothing")
	}
}

// checkKlines: the closed klines forwarded equal the script's (all of them unless lost
// says a push was lost).
func (e *env) checkKlines(lost func(market.Candle) bool) {
	e.t.Helper()
	e.sink.Lock()
	defer e.sink.Unlock()
	got := map[string]market.Candle{}
	for _, c := range e.sink.Candles {
		got[string(c.Symbol)+strconv.FormatInt(c.Time, 10)] = c
	}
	n := 0
	for _, sym := range twoSymbols {
		for _, w := range e.script.Klines(sym) {
			c, ok := got[string(sym)+strconv.FormatInt(w.Time, 10)]
			if !ok {
				if lost == nil || !lost(w) {
					e.t.Fatalf("kline %s %d missing", sym, w.Time)
				}
				continue
			}
			n++
			if c != w {
				e.t.Fatalf("kline %+v, want %+v", c, w)
			}
		}
	}
	if n != len(e.sink.Candles) {
		e.t.Fatalf("%d klines forwarded, %d match the script", len(e.sink.Candles), n)
	}
}

func (e *env) events(kind market.StreamKind) int {
	return e.sink.Count(kind, venuetest.AnySymbol)
}

func TestFeedAgainstFake(t *testing.T) {
	e := startEnv(t, 3*time.Minute, 4000, fakevenue.Faults{}, nil)
	e.waitEnd(30 * time.Second)
	e.checkTrades(nil)
	e.checkBooks()
	e.checkKlines(nil)
	if n := len(e.sink.Candles); n != 6 {
		t.Fatalf("%d klines, want 6", n)
	}
	// Every frame was timed from its read to the end of its handling (the trades alone came
	// one a frame).
	if l := e.feed.FrameLatency(); l.N < int64(len(e.sink.Trades)) || l.Max <= 0 || l.Quantile(0.99) > l.Max || l.Mean() > l.Max {
		t.Errorf("frame latency over %d frames: p99 %s, mean %s, max %s (want ≥ %d frames)", l.N, l.Quantile(0.99), l.Mean(), l.Max, len(e.sink.Trades))
	}
	if e.events(market.StreamConnecting) != 1 || e.events(market.StreamConnected) != 1 || e.events(market.StreamGap) != 0 ||
		e.events(market.StreamMalformed) != 0 || e.events(market.StreamReconnecting) != 0 {
		t.Fatalf("events:%s", e.sink.EventLog())
	}
	for _, sym := range twoSymbols {
		if e.sink.Count(market.StreamSynced, sym) != 1 || e.sink.Deltas == 0 {
			t.Fatalf("%s: %d synced, %d deltas", sym, e.sink.Count(market.StreamSynced, sym), e.sink.Deltas)
		}
	}
	// One snapshot a book, and one more when the first was taken just before the book's first
	// update (lastUpdateId = U−1 counts as too old under step 3).
	if d := e.srv.Hits("/api/v3/depth"); e.srv.Dials() != 1 || e.srv.Hits("/api/v3/exchangeInfo") != 1 || d < 2 || d > 4 {
		t.Fatalf("dials %d, exchangeInfo %d, depth %d", e.srv.Dials(), e.srv.Hits("/api/v3/exchangeInfo"), e.srv.Hits("/api/v3/depth"))
	}
}

// dropWindows replays the player's drop rule: the first event at or after each DropEvery
// mark is where the connection dropped, and DropLose of script time from it was never sent.
func dropWindows(s *fakevenue.Script, every, lose time.Duration) [][2]int64 {
	var out [][2]int64
	next := s.Config.Start + every.Milliseconds()
	for i := 0; i < len(s.Events); i++ {
		ev := s.Events[i]
		if ev.Time < next {
			continue
		}
		next += every.Milliseconds()
		end := ev.Time + lose.Milliseconds()
		out = append(out, [2]int64{ev.Time, end})
		for i < len(s.Events) && s.Events[i].Time < end {
			i++
		}
		i--
	}
	return out
}

func TestFeedReconnectsAfterDrop(t *testing.T) {
	every, lose := 50*time.Second, 2*time.Second
	e := startEnv(t, 3*time.Minute, 3000, fakevenue.Faults{DropEvery: every, DropLose: lose}, nil)
	e.waitEnd(30 * time.Second)
	drops, _, _ := e.player.Counts()
	windows := dropWindows(e.script, every, lose)
	if drops != 3 || len(windows) != 3 {
		t.Fatalf("%d drops, %d windows", drops, len(windows))
	}
	// What a drop takes: exactly the lost script time (the player lets what was sent before
	// the drop reach the client).
	inWindow := func(at int64) bool {
		for _, w := range windows {
			if at >= w[0] && at < w[1] {
				return true
			}
		}
		return false
	}
	e.checkTrades(func(tr fakevenue.Trade) bool { return inWindow(tr.Time) })
	e.checkKlines(func(c market.Candle) bool { return inWindow(c.Time) })
	e.checkBooks()

	e.sink.Lock()
	defer e.sink.Unlock()
	// Each drop: StreamReconnecting, then StreamConnected once resubscribed.
	var seq []market.StreamKind
	for _, ev := range e.sink.Events {
		if ev.Kind == market.StreamReconnecting || ev.Kind == market.StreamConnected {
			seq = append(seq, ev.Kind)
		}
	}
	want := []market.StreamKind{market.StreamConnected}
	for range drops {
		want = append(want, market.StreamReconnecting, market.StreamConnected)
	}
	if len(seq) != len(want) {
		t.Fatalf("connection events %v, want %v:%s", seq, want, e.sink.EventLogLocked())
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("connection events %v, want %v", seq, want)
		}
	}
	if e.srv.Dials() != drops+1 {
		t.Fatalf("%d dials", e.srv.Dials())
	}
	// Every book was dropped on each disconnect and synced again from a snapshot.
	for _, sym := range twoSymbols {
		if e.sink.CountLocked(market.StreamResyncing, sym) != drops || e.sink.CountLocked(market.StreamSynced, sym) != drops+1 {
			t.Fatalf("%s: %d resyncing, %d synced", sym, e.sink.CountLocked(market.StreamResyncing, sym), e.sink.CountLocked(market.StreamSynced, sym))
		}
	}
}

func TestFeedGapResync(t *testing.T) {
	e := startEnv(t, 3*time.Minute, 3000, fakevenue.Faults{GapEvery: 30 * time.Second}, nil)
	e.waitEnd(30 * time.Second)
	_, gaps, _ := e.player.Counts()
	if gaps != 10 {
		t.Fatalf("%d gaps injected, want 5 per symbol", gaps)
	}
	e.checkTrades(nil)
	e.checkKlines(nil)
	e.checkBooks()
	e.sink.Lock()
	defer e.sink.Unlock()
	for _, sym := range twoSymbols {
		g, r, s := e.sink.CountLocked(market.StreamGap, sym), e.sink.CountLocked(market.StreamResyncing, sym), e.sink.CountLocked(market.StreamSynced, sym)
		if g != 5 || r != 5 || s != 6 || e.sink.Snapshots[sym] != 6 {
			t.Fatalf("%s: %d gaps, %d resyncing, %d synced, %d snapshots:%s", sym, g, r, s, e.sink.Snapshots[sym], e.sink.EventLogLocked())
		}
	}
	for _, ev := range e.sink.Events {
		if ev.Kind == market.StreamGap && !strings.HasPrefix(ev.Detail, "seq gap: U ") {
			t.Fatalf("gap detail %q", ev.Detail)
		}
	}
	// 2 initial snapshots (+ at most 2 refetches, as in TestFeedAgainstFake) and one per gap.
	if d := e.srv.Hits("/api/v3/depth"); e.srv.Dials() != 1 || d < 12 || d > 14 {
		t.Fatalf("%d dials, %d snapshots fetched", e.srv.Dials(), e.srv.Hits("/api/v3/depth"))
	}
}

func TestFeedWatchdogReconnects(t *testing.T) {
	e := startEnv(t, 2*time.Minute, 3000, fakevenue.Faults{StallAt: 40 * time.Second, StallFor: 1500 * time.Millisecond},
		func(c *Config) { c.Silence = 300 * time.Millisecond })
	e.waitEnd(30 * time.Second)
	// The stall sends nothing and loses nothing: the feed reconnects and gets it all.
	e.checkTrades(nil)
	e.checkKlines(nil)
	e.checkBooks()
	e.sink.Lock()
	defer e.sink.Unlock()
	watchdog := false
	for _, ev := range e.sink.Events {
		if ev.Kind == market.StreamReconnecting && strings.Contains(ev.Detail, "watchdog") {
			watchdog = true
		}
	}
	if !watchdog || e.sink.CountLocked(market.StreamConnected, "") < 2 || e.srv.Dials() < 2 {
		t.Fatalf("dials %d; events:%s", e.srv.Dials(), e.sink.EventLogLocked())
	}
}

func TestFeedRejectedSubscription(t *testing.T) {
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSymbols, Duration: time.Minute})
	p := fakevenue.NewPlayer(s, fakevenue.PlayerOptions{Faults: fakevenue.Faults{Reject: []string{"ethusdt@kline_1m"}}})
	srv := fakevenue.NewBinance(p, fakevenue.BinanceOptions{})
	defer srv.Close()
	f, err := New(Config{Symbols: twoSymbols, WSURL: srv.WS("/stream"), RESTURL: srv.URL, Clock: p.Now})
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = f.Run(ctx, sink)
	if err == nil || !strings.Contains(err.Error(), "ethusdt@kline_1m") || !strings.Contains(err.Error(), "Invalid request: invalid stream") {
		t.Fatalf("Run: %v", err)
	}
	if sink.Count(market.StreamError, venuetest.AnySymbol) != 1 || sink.Count(market.StreamConnected, venuetest.AnySymbol) != 0 {
		t.Fatalf("events:%s", sink.EventLog())
	}
}

func TestFeedUnknownSymbol(t *testing.T) {
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSymbols, Duration: time.Minute})
	p := fakevenue.NewPlayer(s, fakevenue.PlayerOptions{})
	srv := fakevenue.NewBinance(p, fakevenue.BinanceOptions{})
	defer srv.Close()
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT", "BTCXXX"}, WSURL: srv.WS("/stream"), RESTURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = f.Run(ctx, newSink())
	if err == nil || err.Error() != "binance: BTCXXX: Invalid symbol. (code -1121, HTTP 400)" {
		t.Fatalf("Run: %v", err)
	}
	if srv.Dials() != 0 {
		t.Fatal("subscribed an unknown symbol")
	}
}

// waitTrades waits until the sink has n trades.
func (e *env) waitTrades(n int) {
	e.t.Helper()
	e.sink.Wait(e.t, "trades", 20*time.Second, func() bool { return len(e.sink.Trades) >= n })
}

func TestFeedHandoverOnShutdown(t *testing.T) {
	e := startEnv(t, 3*time.Minute, 1500, fakevenue.Faults{}, nil)
	e.waitTrades(300)
	e.srv.Shutdown()
	e.sink.Wait(t, "the replacement connection", 20*time.Second, func() bool { return e.sink.CountLocked(market.StreamConnected, "") == 2 })
	e.waitEnd(30 * time.Second)
	e.checkTrades(nil) // none lost, none twice
	e.checkKlines(nil)
	e.checkBooks()
	e.sink.Lock()
	defer e.sink.Unlock()
	if e.srv.Dials() != 2 || e.sink.CountLocked(market.StreamConnected, "") != 2 || e.sink.CountLocked(market.StreamReconnecting, venuetest.AnySymbol) != 0 {
		t.Fatalf("dials %d; events:%s", e.srv.Dials(), e.sink.EventLogLocked())
	}
	// The new connection took over with whole books: one more snapshot each, no resync.
	for _, sym := range twoSymbols {
		if e.sink.Snapshots[sym] != 2 || e.sink.CountLocked(market.StreamResyncing, sym) != 0 {
			t.Fatalf("%s: %d snapshots; events:%s", sym, e.sink.Snapshots[sym], e.sink.EventLogLocked())
		}
	}
}

func TestFeedLifetimeHandover(t *testing.T) {
	e := startEnv(t, 3*time.Minute, 1500, fakevenue.Faults{}, func(c *Config) { c.Lifetime = 700 * time.Millisecond })
	e.sink.Wait(t, "two replacements", 20*time.Second, func() bool { return e.sink.CountLocked(market.StreamConnected, "") >= 3 })
	e.waitEnd(30 * time.Second)
	e.checkTrades(nil)
	e.checkKlines(nil)
	e.checkBooks()
	if e.srv.Dials() < 3 || e.events(market.StreamReconnecting) != 0 || e.events(market.StreamResyncing) != 0 {
		t.Fatalf("dials %d; events:%s", e.srv.Dials(), e.sink.EventLog())
	}
}

// Stopping the feed while a handover's replacement is still syncing returns promptly: the
// runner drains both connections, whichever ends first (venue.RunStream).
func TestFeedStopsDuringHandover(t *testing.T) {
	for i := range 5 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			e := startEnv(t, 3*time.Minute, 1500, fakevenue.Faults{}, nil)
			e.waitTrades(50)
			e.srv.Shutdown()
			e.sink.Wait(t, "the replacement's dial", 10*time.Second, func() bool { return e.srv.Dials() == 2 })
			e.cancel()
			select {
			case err := <-e.runErr:
				e.runErr <- err // for the cleanup
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel during a handover")
			}
		})
	}
}
