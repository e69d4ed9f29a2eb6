package okx

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

var twoSyms = []market.Symbol{"BTCUSDT", "ETHUSDT"}

// rig runs the feed against the fake venue.
type rig struct {
	t      *testing.T
	s      *fakevenue.Script
	p      *fakevenue.Player
	v      *fakevenue.OKX
	f      *Feed
	sink   *venuetest.Sink
	cancel context.CancelFunc
	runErr chan error
	played chan error
}

func newRig(t *testing.T, sc fakevenue.ScriptConfig, po fakevenue.PlayerOptions, vo fakevenue.OKXOptions, tweak func(*Config)) *rig {
	t.Helper()
	sc.Exchange = "okx"
	if sc.Symbols == nil {
		sc.Symbols = twoSyms
	}
	s := fakevenue.Generate(sc)
	p := fakevenue.NewPlayer(s, po)
	v := fakevenue.NewOKX(p, vo)
	t.Cleanup(v.Close)
	cfg := Config{Symbols: sc.Symbols, PublicURL: v.PublicURL(), BusinessURL: v.BusinessURL(), RESTURL: v.RESTURL(),
		Clock: p.Now, Backoff: venue.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond},
		MaxDialsPerSecond: 1000}
	if tweak != nil {
		tweak(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, s: s, p: p, v: v, f: f, sink: newSink()}
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.runErr, r.played = make(chan error, 1), make(chan error, 1)
	go func() { r.runErr <- r.f.Run(ctx, r.sink) }()
	go func() { r.played <- r.p.Run(ctx) }()
	r.t.Cleanup(func() {
		cancel()
		<-r.runErr
		<-r.played
	})
}

// finish waits for the script to be played and everything to reach the sink (the final books,
// every trade lost does not take, every kline when allKlines), then stops Run.
func (r *rig) finish(d time.Duration, lost func(fakevenue.Trade) bool, allKlines bool) {
	r.t.Helper()
	select {
	case err := <-r.played:
		r.played <- err
		if err != nil {
			r.t.Fatalf("player: %v", err)
		}
	case err := <-r.runErr:
		r.runErr <- err
		r.t.Fatalf("Run ended early: %v", err)
	case <-time.After(d):
		r.t.Fatalf("the script was not played within %s; events: %s", d, r.sink.EventLog())
	}
	var want []string // the trades that must arrive
	wantKlines := 0
	for _, sym := range r.s.Config.Symbols {
		for _, tr := range r.s.Trades(sym) {
			if lost == nil || !lost(tr) {
				want = append(want, string(sym)+":"+strconv.FormatInt(tr.ID, 10))
			}
		}
		wantKlines += len(r.s.Klines(sym))
	}
	r.sink.Wait(r.t, "the final books", 10*time.Second, func() bool { return r.booksMatchLocked() == "" })
	// What is missing then is reported by checkTrades and checkKlines.
	r.sink.Poll(5*time.Second, func() bool {
		for _, k := range want {
			if r.sink.TradeIDs[k] == 0 {
				return false
			}
		}
		return !allKlines || len(r.sink.Candles) >= wantKlines
	})
	r.cancel()
	if err := <-r.runErr; err != nil {
		r.t.Fatalf("Run: %v", err)
	}
	r.runErr <- nil
}

// booksMatchLocked compares the sink's books with the venue's (20 levels a side); "" if equal.
func (r *rig) booksMatchLocked() string {
	for _, sym := range r.s.Config.Symbols {
		want, _ := r.p.Book(sym)
		b := r.sink.Books[sym]
		if b == nil {
			return string(sym) + ": no book"
		}
		got := [2][]market.Level{b.Bids(20, nil), b.Asks(20, nil)}
		for side, ls := range [2][]fakevenue.Level{want.Bids(20), want.Asks(20)} {
			if len(got[side]) != len(ls) {
				return string(sym) + ": depth differs"
			}
			for i, l := range ls {
				px, _ := strconv.ParseFloat(l.Price, 64)
				sz, _ := strconv.ParseFloat(l.Size, 64)
				if got[side][i] != (market.Level{Price: px, Size: sz}) {
					return string(sym) + ": level " + strconv.Itoa(i) + " differs"
				}
			}
		}
	}
	return ""
}

// checkTrades asserts that no trade came twice, that each is the script's, and that every
// script trade for which lost returns false arrived.
func (r *rig) checkTrades(lost func(fakevenue.Trade) bool) {
	r.t.Helper()
	r.sink.Lock()
	defer r.sink.Unlock()
	for id, n := range r.sink.TradeIDs {
		if n != 1 {
			r.t.Fatalf("trade %s forwarded %d times", id, n)
		}
	}
	script := map[string]fakevenue.Trade{}
	missing := 0
	for _, sym := range r.s.Config.Symbols {
		for _, tr := range r.s.Trades(sym) {
			key := string(sym) + ":" + strconv.FormatInt(tr.ID, 10)
			script[key] = tr
			if r.sink.TradeIDs[key] == 0 && (lost == nil || !lost(tr)) {
				missing++
				r.t.Logf("missing %s at script time %d ms", key, tr.Time-r.s.Config.Start)
			}
		}
	}
	if missing > 0 {
		r.t.Fatalf("%d trades missing (of %d; got %d)\n%s", missing, len(script), len(r.sink.Trades), r.sink.EventLogLocked())
	}
	for _, got := range r.sink.Trades {
		w, ok := script[string(got.Symbol)+":"+got.ID]
		px, _ := strconv.ParseFloat(w.Price, 64)
		sz, _ := strconv.ParseFloat(w.Size, 64)
		if !ok || got.Exchange != "okx" || got.Time != w.Time || got.Price != px || got.Size != sz || got.Side != w.Side {
			r.t.Fatalf("trade %+v is not the script's %+v", got, w)
		}
	}
}

// checkKlines asserts that the klines received are the script's, each once; all of them
// unless some may be lost (a drop at a minute's end takes that minute's push: the engine
// backfills it over REST).
func (r *rig) checkKlines(all bool) {
	r.t.Helper()
	r.sink.Lock()
	defer r.sink.Unlock()
	want := map[market.Symbol]map[int64]market.Candle{}
	total := 0
	for _, sym := range r.s.Config.Symbols {
		want[sym] = map[int64]market.Candle{}
		for _, k := range r.s.Klines(sym) {
			k.Trades = 0 // OKX does not report a trade count
			want[sym][k.Time] = k
			total++
		}
	}
	seen := map[market.Symbol]map[int64]bool{}
	for _, c := range r.sink.Candles {
		if seen[c.Symbol] == nil {
			seen[c.Symbol] = map[int64]bool{}
		}
		if seen[c.Symbol][c.Time] {
			r.t.Fatalf("kline %s %d twice", c.Symbol, c.Time)
		}
		seen[c.Symbol][c.Time] = true
		if w, ok := want[c.Symbol][c.Time]; !ok || w != c {
			r.t.Fatalf("kline %+v, want %+v", c, w)
		}
	}
	if all && len(r.sink.Candles) != total {
		r.t.Fatalf("%d klines, want %d", len(r.sink.Candles), total)
	}
}

func (r *rig) checkClean() {
	r.t.Helper()
	r.sink.Lock()
	defer r.sink.Unlock()
	if r.sink.Orphans != 0 || r.sink.Crossed != 0 {
		r.t.Fatalf("%d deltas without a book, %d crossed books", r.sink.Orphans, r.sink.Crossed)
	}
	if v := r.sink.Violations; len(v) != 0 {
		r.t.Fatalf("%d contract violations, the first: %s", len(v), v[0])
	}
	if n := len(r.sink.OfKindLocked(market.StreamMalformed)); n != 0 {
		r.t.Fatalf("%d malformed frames", n)
	}
}

func count(es []market.StreamEvent, sym market.Symbol, substr string) int {
	n := 0
	for _, e := range es {
		if e.Symbol == sym && strings.Contains(e.Detail, substr) {
			n++
		}
	}
	return n
}

func TestFeedAgainstFake(t *testing.T) {
	r := newRig(t, fakevenue.ScriptConfig{Duration: 3 * time.Minute, Seed: 11}, fakevenue.PlayerOptions{}, fakevenue.OKXOptions{}, nil)
	r.start()
	r.finish(20*time.Second, nil, true)
	r.checkTrades(nil)
	r.checkKlines(true)
	r.checkClean()
	if n := len(connKinds(r.sink, market.StreamConnected, "BTCUSDT")); n != 2 {
		t.Fatalf("%d connected events (public and business expected): %s", n, r.sink.EventLog())
	}
	// Every frame was timed from its read to the end of its handling (the trades alone came
	// one a frame).
	if l := r.f.FrameLatency(); l.N < int64(len(r.sink.Trades)) || l.Max <= 0 || l.Quantile(0.99) > l.Max || l.Mean() > l.Max {
		t.Errorf("frame latency over %d frames: p99 %s, mean %s, max %s (want ≥ %d frames)", l.N, l.Quantile(0.99), l.Mean(), l.Max, len(r.sink.Trades))
	}
	for _, k := range []market.StreamKind{market.StreamGap, market.StreamChecksum, market.StreamReconnecting, market.StreamError} {
		if n := len(r.sink.OfKind(k)); n != 0 {
			t.Fatalf("%d %s events: %s", n, k, r.sink.EventLog())
		}
	}
	// Each socket reports for what it carries: public trades and books, business candles.
	if e := r.sink.OfKind(market.StreamConnecting); len(e) != 2*3 {
		t.Fatalf("connecting events %+v", e)
	}
	for _, e := range r.sink.OfKind(market.StreamConnecting) {
		public := strings.HasPrefix(e.Detail, "okx public")
		if e.Symbol == "" || public != (e.Channel != market.ChannelCandles) {
			t.Fatalf("connecting event %+v: the wrong symbol or channel for its socket", e)
		}
	}
}

func TestFeedReconnectsAfterDrops(t *testing.T) {
	r := newRig(t, fakevenue.ScriptConfig{Duration: 4 * time.Minute, Seed: 12},
		fakevenue.PlayerOptions{Faults: fakevenue.Faults{DropEvery: 50 * time.Second, DropLose: 2 * time.Second}}, fakevenue.OKXOptions{}, nil)
	start := r.s.Config.Start
	lost := func(tr fakevenue.Trade) bool { // in the DropLose window after each drop
		off := (tr.Time - start) % 50_000
		return tr.Time-start >= 50_000 && off < 2_500
	}
	r.start()
	r.finish(30*time.Second, lost, true)
	drops, _, _ := r.p.Counts()
	if drops != 4 { // at 50, 100, 150 and 200 s
		t.Fatalf("%d drops", drops)
	}
	r.checkTrades(lost)
	r.checkKlines(true) // no kline falls in a lost window
	r.checkClean()
	// Each drop: both sockets report reconnecting, then connected again.
	ev := r.sink.Events
	rec, conn := 0, 0
	for _, e := range ev {
		switch {
		case e.Kind == market.StreamReconnecting && e.Symbol == "BTCUSDT" && (e.Channel == market.ChannelTrades || e.Channel == market.ChannelCandles):
			rec++
		case e.Kind == market.StreamConnected && rec > 0:
			conn++
		}
	}
	if rec < 2*drops || conn < 2*drops {
		t.Fatalf("%d reconnecting, %d connected after them: %s", rec, conn, r.sink.EventLog())
	}
	if r.v.Connections(fakevenue.OKXPublicPath) < 1+drops || r.v.Connections(fakevenue.OKXBusinessPath) < 1+drops {
		t.Fatalf("connections %d/%d", r.v.Connections(fakevenue.OKXPublicPath), r.v.Connections(fakevenue.OKXBusinessPath))
	}
	// Every book was dropped (resyncing) and re-sent whole after each reconnect.
	for _, sym := range twoSyms {
		if n := r.sink.Snapshots[sym]; n < 1+drops {
			t.Fatalf("%s: %d snapshots", sym, n)
		}
	}
}

func TestFeedGapResyncs(t *testing.T) {
	// Paced, so that the resync's snapshot comes before the next gap: a player running ahead
	// queues every later delta, the next faults included, before it (the socket buffers are
	// deep), and the client would not see them. A client that still lags (a loaded machine)
	// may miss a fault that way, so every fault seen is checked, not that all were.
	r := newRig(t, fakevenue.ScriptConfig{Duration: 2 * time.Minute, Seed: 13},
		fakevenue.PlayerOptions{Rate: 2500, Faults: fakevenue.Faults{GapEvery: 20 * time.Second}}, fakevenue.OKXOptions{}, nil)
	r.start()
	r.finish(20*time.Second, nil, true)
	_, gaps, _ := r.p.Counts()
	es := r.sink.OfKind(market.StreamGap)
	t.Logf("%d gaps injected, %d seen", gaps, len(es))
	if len(es) > gaps || count(es, "BTCUSDT", "seq gap: prevSeqId ") == 0 || count(es, "ETHUSDT", "seq gap: prevSeqId ") == 0 {
		t.Fatalf("%d gaps injected, %d seen: %s", gaps, len(es), r.sink.EventLog())
	}
	// Each gap: the book is dropped (resyncing) and sent whole again (synced; +2 for the start).
	if rs := r.sink.OfKind(market.StreamResyncing); len(rs) != len(es) {
		t.Fatalf("%d resyncing events for %d gaps", len(rs), len(es))
	}
	if sy := r.sink.OfKind(market.StreamSynced); len(sy) != len(es)+2 {
		t.Fatalf("%d synced events for %d gaps", len(sy), len(es))
	}
	for _, sym := range twoSyms {
		if n := r.sink.Snapshots[sym]; n != 1+count(es, sym, "") {
			t.Fatalf("%s: %d snapshots", sym, n)
		}
	}
	r.checkTrades(nil)
	r.checkKlines(true)
	r.checkClean()
}

func TestFeedChecksumResyncs(t *testing.T) {
	// Paced as TestFeedGapResyncs; every message carries a checksum, so each good one is
	// verified too.
	r := newRig(t, fakevenue.ScriptConfig{Duration: 2 * time.Minute, Seed: 14},
		fakevenue.PlayerOptions{Rate: 2500, Checksum: fakevenue.OKXChecksum, Faults: fakevenue.Faults{ChecksumEvery: 30 * time.Second}},
		fakevenue.OKXOptions{}, nil)
	r.start()
	r.finish(20*time.Second, nil, true)
	_, _, bad := r.p.Counts()
	es := r.sink.OfKind(market.StreamChecksum)
	t.Logf("%d bad checksums injected, %d seen", bad, len(es))
	if len(es) > bad || count(es, "BTCUSDT", "checksum mismatch: venue ") == 0 || count(es, "ETHUSDT", "checksum mismatch: venue ") == 0 {
		t.Fatalf("%d bad checksums injected, %d seen: %s", bad, len(es), r.sink.EventLog())
	}
	if n := len(r.sink.OfKind(market.StreamGap)); n != 0 {
		t.Fatalf("%d gap events", n)
	}
	if rs := r.sink.OfKind(market.StreamResyncing); len(rs) != len(es) {
		t.Fatalf("%d resyncing events for %d bad checksums", len(rs), len(es))
	}
	if sy := r.sink.OfKind(market.StreamSynced); len(sy) != len(es)+2 {
		t.Fatalf("%d synced events for %d bad checksums", len(sy), len(es))
	}
	r.checkTrades(nil)
	r.checkKlines(true)
	r.checkClean()
}

func TestFeedAllFaults(t *testing.T) {
	// Drops, gaps and bad checksums together (the engine's no-gap scenario): every fault is
	// seen and repaired, and the books end equal to the venue's.
	// (Paced, see TestFeedGapResyncs; the script ends 20 s after the last gap so that it shows.)
	r := newRig(t, fakevenue.ScriptConfig{Duration: 5*time.Minute + 20*time.Second, Seed: 42},
		fakevenue.PlayerOptions{Rate: 2500, Checksum: fakevenue.OKXChecksum, Faults: fakevenue.Faults{DropEvery: time.Minute,
			DropLose: 3 * time.Second, GapEvery: 30 * time.Second, ChecksumEvery: 45 * time.Second}}, fakevenue.OKXOptions{}, nil)
	// A drop can take more than its DropLose here: the fake closes abruptly, and when the
	// client's resubscribe is in flight the close is a TCP reset that discards what the
	// client had not read yet. After the last drop nothing may be missing.
	start := r.s.Config.Start
	lost := func(tr fakevenue.Trade) bool { return tr.Time-start < 5*60_000+3_500 }
	r.start()
	r.finish(30*time.Second, lost, false)
	drops, gaps, bad := r.p.Counts()
	ng, nc := len(r.sink.OfKind(market.StreamGap)), len(r.sink.OfKind(market.StreamChecksum))
	t.Logf("injected %d drops, %d gaps, %d bad checksums; seen %d gaps, %d checksum failures", drops, gaps, bad, ng, nc)
	if drops != 5 || ng == 0 || nc == 0 || ng > gaps || nc > bad {
		t.Fatalf("faults seen: %d gaps, %d checksums: %s", ng, nc, r.sink.EventLog())
	}
	r.checkTrades(lost)
	r.checkKlines(false)
	r.checkClean()
}

func TestFeedLegacyWire(t *testing.T) {
	// 2022 frames: no seqId/prevSeqId, acks without id; checksums on.
	r := newRig(t, fakevenue.ScriptConfig{Duration: time.Minute, Seed: 15}, fakevenue.PlayerOptions{Checksum: fakevenue.OKXChecksum},
		fakevenue.OKXOptions{Legacy: true}, nil)
	r.start()
	r.finish(20*time.Second, nil, true)
	r.checkTrades(nil)
	r.checkKlines(true)
	r.checkClean()
	if n := len(r.sink.OfKind(market.StreamChecksum)) + len(r.sink.OfKind(market.StreamGap)); n != 0 {
		t.Fatalf("faults: %s", r.sink.EventLog())
	}
}

func TestFeedStallWatchdog(t *testing.T) {
	r := newRig(t, fakevenue.ScriptConfig{Duration: time.Minute, Seed: 16},
		fakevenue.PlayerOptions{Faults: fakevenue.Faults{StallAt: 30 * time.Second, StallFor: 1500 * time.Millisecond}},
		fakevenue.OKXOptions{}, func(c *Config) { c.PingEvery, c.Silence = 100*time.Millisecond, 400*time.Millisecond })
	r.start()
	r.finish(20*time.Second, nil, true)
	rec := connKinds(r.sink, market.StreamReconnecting, "BTCUSDT")
	if count(rec, "BTCUSDT", "watchdog") == 0 {
		t.Fatalf("no watchdog reconnect: %s", r.sink.EventLog())
	}
	r.checkTrades(nil) // a stall loses nothing
	r.checkClean()
}

func TestFeedRejectedSubscription(t *testing.T) {
	r := newRig(t, fakevenue.ScriptConfig{Duration: time.Minute, Seed: 17},
		fakevenue.PlayerOptions{Faults: fakevenue.Faults{Reject: []string{"books:ETH-USDT"}}}, fakevenue.OKXOptions{}, nil)
	r.start()
	select {
	case err := <-r.runErr:
		r.runErr <- err
		if err == nil || !strings.Contains(err.Error(), "books:ETH-USDT") ||
			!strings.Contains(err.Error(), "Subscribe failed, wrong URL or channel:books,instId:ETH-USDT doesn't exist") ||
			!strings.Contains(err.Error(), "60018") {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on a rejected subscription")
	}
	if e := r.sink.OfKind(market.StreamError); len(e) != 1 || e[0].Symbol != "ETHUSDT" || e[0].Channel != market.ChannelBook {
		t.Fatalf("error events %+v", e)
	}
}

func TestFeedHandoverOnNotice(t *testing.T) {
	r := newRig(t, fakevenue.ScriptConfig{Duration: 2 * time.Minute, Seed: 18}, fakevenue.PlayerOptions{Rate: 3000},
		fakevenue.OKXOptions{}, nil)
	r.start()
	r.sink.Wait(t, "some trades", 10*time.Second, func() bool { return len(r.sink.Trades) >= 100 })
	if n := r.v.Notice(); n != 2 {
		t.Fatalf("notice reached %d connections", n)
	}
	r.finish(30*time.Second, nil, true)
	if pub, bus := r.v.Connections(fakevenue.OKXPublicPath), r.v.Connections(fakevenue.OKXBusinessPath); pub != 2 || bus != 2 {
		t.Fatalf("connections after the notice: public %d, business %d", pub, bus)
	}
	// The notice is no reconnect (which would drop the books): each socket reports that it is
	// connecting its replacement, then connected.
	for _, e := range r.sink.OfKind(market.StreamReconnecting) {
		if strings.Contains(e.Detail, "64008") {
			t.Fatalf("the notice was reported as a reconnect: %+v", e)
		}
	}
	if c := connKinds(r.sink, market.StreamConnecting, "BTCUSDT"); count(c, "BTCUSDT", "64008") != 2 {
		t.Fatalf("connecting events %+v", c)
	}
	if n := len(connKinds(r.sink, market.StreamConnected, "BTCUSDT")); n != 4 {
		t.Fatalf("%d connected events: %s", n, r.sink.EventLog())
	}
	r.checkTrades(nil) // none lost, none twice
	r.checkKlines(true)
	r.checkClean()
}

func TestNewValidates(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Config.Symbols"},
		{Config{Symbols: []market.Symbol{"BTC-USDT"}}, "Config.Symbols"},
		{Config{Symbols: []market.Symbol{"BTCUSDT", "BTCUSDT"}}, "twice"},
		{Config{Symbols: []market.Symbol{"FOOBAR"}}, "Config.Symbols: FOOBAR"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, InstType: "OPTION"}, "Config.InstType"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, BookChannel: "books-l2-tbt"}, "Config.BookChannel"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, PublicURL: "http://x"}, "Config.PublicURL"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, RESTURL: "ws://x"}, "Config.RESTURL"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, InstIDs: map[market.Symbol]string{"ETHUSDT": "ETH-USDT"}}, "Config.InstIDs"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, PingEvery: -1}, "PingEvery"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT", "FOOBAR"}, InstType: "SWAP", InstIDs: map[market.Symbol]string{"FOOBAR": "FOO-BAR-SWAP"}})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := f.InstID("BTCUSDT"); id != "BTC-USDT-SWAP" || f.cfg.PublicURL != DefaultPublicURL || f.cfg.BusinessURL != DefaultBusinessURL ||
		f.cfg.RESTURL != DefaultRESTURL || f.cfg.PingEvery != 20*time.Second || f.cfg.Silence != 40*time.Second || f.cfg.BookChannel != "books" {
		t.Fatalf("defaults: %+v", f.cfg)
	}
	if id, _ := f.InstID("FOOBAR"); id != "FOO-BAR-SWAP" || f.Name() != "okx" || !f.VenueCandles() || len(f.Symbols()) != 2 {
		t.Fatal("override or accessors")
	}
}
