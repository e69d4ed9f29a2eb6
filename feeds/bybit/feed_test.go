package bybit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

var twoSyms = []market.Symbol{"BTCUSDT", "ETHUSDT"}

// harness runs a Feed against the Bybit fake playing a script.
type harness struct {
	s      *fakevenue.Script
	p      *fakevenue.Player
	srv    *fakevenue.Server
	f      *Feed
	sink   *venuetest.Sink
	runErr chan error
}

func startHarness(t *testing.T, dur time.Duration, popt fakevenue.PlayerOptions, tweak func(*Config)) *harness {
	t.Helper()
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSyms, Duration: dur, Seed: 7})
	p := fakevenue.NewPlayer(s, popt)
	srv := fakevenue.NewBybit(p, fakevenue.BybitOptions{})
	cfg := Config{
		Symbols: twoSyms, SpotWSURL: srv.WS(fakevenue.BybitSpotPath), LinearWSURL: srv.WS(fakevenue.BybitLinearPath),
		RESTURL: srv.URL, Clock: p.Now, PingEvery: 50 * time.Millisecond, Silence: 2 * time.Second,
		Backoff: venueBackoff, ResyncTimeout: 3 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{s: s, p: p, srv: srv, f: f, sink: venuetest.New(Name), runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	playDone := make(chan struct{})
	go func() { h.runErr <- f.Run(ctx, h.sink) }()
	go func() { defer close(playDone); _ = p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-playDone
		select {
		case err := <-h.runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		srv.Close()
	})
	return h
}

// booksMatchLocked reports whether the sink's books equal the venue's (top 10 levels, update
// id); the sink is locked.
func (h *harness) booksMatchLocked() (bool, string) {
	for _, sym := range twoSyms {
		vb, _ := h.p.Book(sym)
		b := h.sink.Books[sym]
		if b == nil {
			return false, string(sym) + ": no book"
		}
		want := venueLevels(vb.Bids(10)) + "|" + venueLevels(vb.Asks(10))
		got := levels(b, true, 10) + "|" + levels(b, false, 10)
		if got != want || b.Seq != vb.Seq {
			return false, fmt.Sprintf("%s: book u %d %s, venue u %d %s", sym, b.Seq, got, vb.Seq, want)
		}
	}
	return true, ""
}

func venueLevels(ls []fakevenue.Level) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		p, _ := strconv.ParseFloat(l.Price, 64)
		s, _ := strconv.ParseFloat(l.Size, 64)
		parts[i] = fmt.Sprintf("%v:%v", p, s)
	}
	return strings.Join(parts, " ")
}

func (h *harness) waitDoneAndBooks(t *testing.T) {
	t.Helper()
	h.sink.Wait(t, "the script to play", 20*time.Second, h.p.Done)
	var why string
	if !h.sink.Poll(10*time.Second, func() (ok bool) { ok, why = h.booksMatchLocked(); return ok }) {
		t.Fatalf("books never matched the venue's: %s\nevents %s", why, h.sink.EventLog())
	}
}

// checkTrades: every trade forwarded is the script's, with its values, at most once; it
// returns how many arrived.
func (h *harness) checkTrades(t *testing.T) int {
	t.Helper()
	want := map[string]fakevenue.Trade{}
	for _, sym := range twoSyms {
		for _, tr := range h.s.Trades(sym) {
			want[string(sym)+"/"+strconv.FormatInt(tr.ID, 10)] = tr
		}
	}
	h.sink.Lock()
	defer h.sink.Unlock()
	seen := map[string]bool{}
	for _, tr := range h.sink.Trades {
		key := string(tr.Symbol) + "/" + tr.ID
		if seen[key] {
			t.Errorf("trade %s forwarded twice", key)
		}
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("trade %s is not the script's", key)
			continue
		}
		p, _ := strconv.ParseFloat(w.Price, 64)
		q, _ := strconv.ParseFloat(w.Size, 64)
		if tr.Price != p || tr.Size != q || tr.Time != w.Time || tr.Side != w.Side || tr.Exchange != Name {
			t.Errorf("trade %s: %+v, want %+v", key, tr, w)
		}
	}
	return len(seen)
}

// checkCandles: every candle forwarded equals the script's kline of its stamp (Bybit sends no
// trade count), at most once; it returns how many arrived.
func (h *harness) checkCandles(t *testing.T) int {
	t.Helper()
	h.sink.Lock()
	defer h.sink.Unlock()
	seen := map[string]bool{}
	for _, c := range h.sink.Candles {
		key := fmt.Sprintf("%s/%d", c.Symbol, c.Time)
		if seen[key] {
			t.Errorf("candle %s forwarded twice", key)
		}
		seen[key] = true
		ks := h.s.Klines(c.Symbol)
		i := slices.IndexFunc(ks, func(k market.Candle) bool { return k.Time == c.Time })
		if i < 0 {
			t.Errorf("candle %s is not a script kline", key)
			continue
		}
		w := ks[i]
		w.Trades = 0
		if c != w {
			t.Errorf("candle %s: %+v, want %+v", key, c, w)
		}
	}
	return len(seen)
}

// TestFeedAgainstFake: two symbols for a few minutes with no faults: every trade once, every
// closed kline, books equal to the venue's, connecting/connected events and nothing else.
func TestFeedAgainstFake(t *testing.T) {
	h := startHarness(t, 4*time.Minute, fakevenue.PlayerOptions{}, nil)
	h.waitDoneAndBooks(t)
	total, klines := 0, 0
	for _, sym := range twoSyms {
		total += len(h.s.Trades(sym))
		klines += len(h.s.Klines(sym))
	}
	h.sink.Wait(t, "every trade and kline", 10*time.Second, func() bool {
		return len(h.sink.Trades) >= total && len(h.sink.Candles) >= klines
	})
	if n := h.checkTrades(t); n != total {
		t.Errorf("%d trades, want %d", n, total)
	}
	// Every frame was timed from its read to the end of its handling (the trades alone came
	// one a frame).
	if l := h.f.FrameLatency(); l.N < int64(total) || l.Max <= 0 || l.Quantile(0.99) > l.Max || l.Mean() > l.Max {
		t.Errorf("frame latency over %d frames: p99 %s, mean %s, max %s (want ≥ %d frames)", l.N, l.Quantile(0.99), l.Mean(), l.Max, total)
	}
	if n := h.checkCandles(t); n != klines || klines != 8 {
		t.Errorf("%d candles, want %d", n, klines)
	}
	h.sink.Wait(t, "connected", 5*time.Second, func() bool { return h.sink.CountLocked(market.StreamConnected, venuetest.AnySymbol) >= 1 })
	if h.sink.Count(market.StreamConnecting, venuetest.AnySymbol) != 1 || h.sink.Count(market.StreamConnected, venuetest.AnySymbol) != 1 {
		t.Errorf("events %s", h.sink.EventLog())
	}
	for _, k := range []market.StreamKind{market.StreamGap, market.StreamResyncing, market.StreamMalformed, market.StreamReconnecting, market.StreamError} {
		if n := h.sink.Count(k, venuetest.AnySymbol); n != 0 {
			t.Errorf("%d %s events: %s", n, k, h.sink.EventLog())
		}
	}
	h.sink.Check(t)
}

// TestFeedLinear: the linear socket (its ack and trade shapes) serves the same data.
func TestFeedLinear(t *testing.T) {
	h := startHarness(t, 2*time.Minute, fakevenue.PlayerOptions{}, func(c *Config) { c.Category = "linear" })
	h.waitDoneAndBooks(t)
	total := len(h.s.Trades("BTCUSDT")) + len(h.s.Trades("ETHUSDT"))
	h.sink.Wait(t, "every trade", 10*time.Second, func() bool {
		return len(h.sink.Trades) >= total
	})
	if n := h.checkTrades(t); n != total {
		t.Errorf("%d trades, want %d", n, total)
	}
	h.sink.Wait(t, "connected", 5*time.Second, func() bool { return h.sink.CountLocked(market.StreamConnected, venuetest.AnySymbol) >= 1 })
	if h.sink.Count(market.StreamConnected, venuetest.AnySymbol) != 1 || h.sink.Count(market.StreamMalformed, venuetest.AnySymbol) != 0 {
		t.Errorf("events %s", h.sink.EventLog())
	}
}

// TestFeedReconnect: connections dropped abruptly (with script time lost while away) are
// redialled and resubscribed; books come back whole; no trade is forwarded twice.
func TestFeedReconnect(t *testing.T) {
	h := startHarness(t, 4*time.Minute, fakevenue.PlayerOptions{Rate: 20000, Faults: fakevenue.Faults{DropEvery: time.Minute, DropLose: 2 * time.Second}}, nil)
	h.waitDoneAndBooks(t)
	drops, _, _ := h.p.Counts()
	if drops < 3 {
		t.Fatalf("%d drops", drops)
	}
	// Each drop: reconnecting, then connected again after the acks (reported by the runner,
	// possibly after the books are back).
	h.sink.Wait(t, "connected again", 5*time.Second, func() bool { return h.sink.CountLocked(market.StreamConnected, venuetest.AnySymbol) == drops+1 })
	h.sink.Lock()
	var seq []market.StreamKind
	for _, ev := range h.sink.Events {
		if ev.Symbol == "" && (ev.Kind == market.StreamReconnecting || ev.Kind == market.StreamConnected) {
			seq = append(seq, ev.Kind)
		}
	}
	h.sink.Unlock()
	want := []market.StreamKind{market.StreamConnected}
	for range drops {
		want = append(want, market.StreamReconnecting, market.StreamConnected)
	}
	if !slices.Equal(seq, want) {
		t.Errorf("connection events %v, want %v", seq, want)
	}
	if n := h.sink.Count(market.StreamSynced, venuetest.AnySymbol); n != 2*(drops+1) {
		t.Errorf("%d synced events, want %d", n, 2*(drops+1))
	}
	n := h.checkTrades(t)
	all := len(h.s.Trades("BTCUSDT")) + len(h.s.Trades("ETHUSDT"))
	if n == 0 || n >= all {
		t.Errorf("%d of %d trades: the drops should lose some", n, all)
	}
	h.checkCandles(t)
	h.sink.Check(t)
}

// TestFeedGapResync: withheld deltas show as update-id jumps: counted, the book resynced by
// resubscribing, served again from the new snapshot and equal to the venue's at the end. The
// player is paced so that each resync completes before the next gap (unpaced, it queues the
// whole script before the client reads the first gap).
func TestFeedGapResync(t *testing.T) {
	h := startHarness(t, 3*time.Minute, fakevenue.PlayerOptions{Rate: 10000, Faults: fakevenue.Faults{GapEvery: 40 * time.Second}}, nil)
	h.waitDoneAndBooks(t)
	_, gaps, _ := h.p.Counts()
	if gaps < 8 {
		t.Fatalf("%d gaps injected", gaps)
	}
	if n := h.sink.CountDetail(market.StreamGap, `^seq gap: u \d+, have \d+$`); n != gaps {
		t.Errorf("%d gap events for %d gaps: %s", n, gaps, h.sink.EventLog())
	}
	if n := h.sink.CountDetail(market.StreamResyncing, "seq gap"); n != gaps {
		t.Errorf("%d resyncing events, want %d", n, gaps)
	}
	if n := h.sink.Count(market.StreamSynced, venuetest.AnySymbol); n != gaps+2 {
		t.Errorf("%d synced events, want %d", n, gaps+2)
	}
	total := len(h.s.Trades("BTCUSDT")) + len(h.s.Trades("ETHUSDT"))
	h.sink.Wait(t, "every trade", 10*time.Second, func() bool {
		return len(h.sink.Trades) >= total
	})
	if n := h.checkTrades(t); n != total {
		t.Errorf("%d trades, want %d", n, total)
	}
	h.sink.Check(t)
}

// TestFeedStallWatchdog: a venue that goes silent (no data, no pongs) is left by the
// watchdog and redialled until it answers again.
func TestFeedStallWatchdog(t *testing.T) {
	h := startHarness(t, 2*time.Minute, fakevenue.PlayerOptions{Faults: fakevenue.Faults{StallAt: 30 * time.Second, StallFor: 1500 * time.Millisecond}},
		func(c *Config) { c.Silence = 300 * time.Millisecond })
	h.waitDoneAndBooks(t)
	if n := h.sink.CountDetail(market.StreamReconnecting, "watchdog"); n < 1 {
		t.Errorf("no watchdog reconnect: %s", h.sink.EventLog())
	}
	h.checkTrades(t)
	h.sink.Check(t)
}

// TestFeedRejectedSubscription: a refused topic stops Run with the topic and the venue's
// message.
func TestFeedRejectedSubscription(t *testing.T) {
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSyms, Duration: time.Minute})
	p := fakevenue.NewPlayer(s, fakevenue.PlayerOptions{Faults: fakevenue.Faults{Reject: []string{"publicTrade.ETHUSDT"}}})
	srv := fakevenue.NewBybit(p, fakevenue.BybitOptions{})
	defer srv.Close()
	f, err := New(Config{Symbols: twoSyms, SpotWSURL: srv.WS(fakevenue.BybitSpotPath), RESTURL: srv.URL, Clock: p.Now, Backoff: venueBackoff})
	if err != nil {
		t.Fatal(err)
	}
	sink := venuetest.New(Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = f.Run(ctx, sink)
	if err == nil || !strings.Contains(err.Error(), "publicTrade.ETHUSDT") || !strings.Contains(err.Error(), "error:handler not found") {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only at the deadline")
	}
	if sink.CountDetail(market.StreamError, "publicTrade.ETHUSDT") != 1 || sink.Count(market.StreamConnected, venuetest.AnySymbol) != 0 {
		t.Errorf("events %s", sink.EventLog())
	}
}
