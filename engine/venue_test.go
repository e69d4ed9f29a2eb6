package engine

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// venueFeed is a fake venue feed: it sends klines (VenueCandles) and answers History from
// synthetic1m, recording the ranges asked.
type venueFeed struct {
	*fakeFeed
	mu    sync.Mutex
	asked [][2]int64
}

func (v *venueFeed) VenueCandles() bool { return true }
func (v *venueFeed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	v.mu.Lock()
	v.asked = append(v.asked, [2]int64{from, to})
	v.mu.Unlock()
	return synthetic1m(sym, from, to), nil
}
func (v *venueFeed) Asked() [][2]int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([][2]int64(nil), v.asked...)
}

func newVenueEngine(t *testing.T, now int64, tfs ...market.Timeframe) (*Engine, *venueFeed, func(tf market.Timeframe) []market.Candle) {
	t.Helper()
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "v.db"))
	t.Cleanup(func() { db.Close(ctx) })
	f := &venueFeed{fakeFeed: &fakeFeed{name: "bybit", syms: []market.Symbol{"BTCUSDT"}}}
	f.now.Store(now)
	e := New(f, db, Options{Timeframes: tfs, HistoryDays: 0, KlineLag: 5 * time.Second})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(ctx) })
	stored := func(tf market.Timeframe) []market.Candle {
		if err := db.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cs, err := db.Candles(ctx, "bybit", "BTCUSDT", tf, 0, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	return e, f, stored
}

func kline(ts int64) market.Candle {
	return synthetic1m("BTCUSDT", ts-60000, ts)[0]
}

// In venue mode the venue's klines are the stored minute candles, not what trades built: a
// trade-built minute is provisional, replaced by its kline, and a 5m candle is built from klines.
func TestVenueKlinesAreTheStoredCandles(t *testing.T) {
	t0 := day0 + 10*60000
	e, _, stored := newVenueEngine(t, t0, market.TF5s, market.TF1m, market.TF5m)
	// Trades in the minute (t0, t0+1m]: the trade-built candle differs from the kline.
	for i := 0; i < 3; i++ {
		e.OnTrade(market.Trade{Exchange: "bybit", Symbol: "BTCUSDT", ID: string(rune('a' + i)), Time: t0 + int64(i)*10000, Price: 50 + float64(i), Size: 1, Side: market.Buy})
	}
	// The minute closes by a later trade: provisional only.
	e.OnTrade(market.Trade{Exchange: "bybit", Symbol: "BTCUSDT", ID: "z", Time: t0 + 60000, Price: 53, Size: 1, Side: market.Sell})
	if got := stored(market.TF1m); len(got) != 0 {
		t.Fatalf("a trade-built minute was stored in venue mode: %+v", got)
	}
	if got := stored(market.TF5s); len(got) == 0 {
		t.Fatal("sub-minute candles are still built from trades and stored")
	}
	cs, err := e.Candles(context.Background(), "BTCUSDT", market.TF1m, 10)
	if err != nil || len(cs) == 0 || cs[0].Time != t0+60000 || cs[0].Close != 52 {
		t.Fatalf("the provisional minute is not shown: %+v %v", cs, err)
	}
	k := kline(t0 + 60000)
	e.OnCandle(k, false)
	got := stored(market.TF1m)
	if len(got) != 1 || got[0].Close != k.Close || got[0].Volume != k.Volume || got[0].Exchange != "bybit" {
		t.Fatalf("stored minute = %+v, want the kline %+v", got, k)
	}
	cs, _ = e.Candles(context.Background(), "BTCUSDT", market.TF1m, 10)
	if cs[0].Time != k.Time || cs[0].Close != k.Close {
		t.Fatalf("the kline did not replace the provisional candle: %+v", cs[0])
	}
	// Four more klines complete the 5m bucket ending at t0+5m: it is built from the klines.
	for ts := t0 + 120000; ts <= t0+300000; ts += 60000 {
		e.OnCandle(kline(ts), false)
	}
	five := stored(market.TF5m)
	want := synthetic1m("BTCUSDT", t0, t0+300000)
	if len(five) != 1 || five[0].Time != t0+300000 || five[0].Open != want[0].Open || five[0].Close != want[4].Close || five[0].Volume != 10 {
		t.Fatalf("5m = %+v", five)
	}
	// A late trade-built close of an already final minute does not overwrite it.
	e.Tick(t0+10*60000, nil)
	cs, _ = e.Candles(context.Background(), "BTCUSDT", market.TF1m, 10)
	for _, c := range cs {
		if c.Time == k.Time && c.Close != k.Close {
			t.Fatalf("a provisional candle overwrote the kline: %+v", c)
		}
	}
}

// A kline that skips minutes makes the engine fetch the missing ones over REST first, in order;
// a reconnect fills up to the last closed minute; a duplicate kline is ignored.
func TestVenueKlineGapsAreFilledBeforeLiveKlinesGoOn(t *testing.T) {
	t0 := day0 + 10*60000
	e, f, stored := newVenueEngine(t, t0, market.TF1m)
	e.OnCandle(kline(t0+60000), false)
	e.OnCandle(kline(t0+120000), false)
	e.OnCandle(kline(t0+300000), false) // 3 and 4 missing
	if a := f.Asked(); len(a) != 1 || a[0] != [2]int64{t0 + 120000, t0 + 240000} {
		t.Fatalf("History asked %v, want (t0+2m, t0+4m]", a)
	}
	e.OnCandle(kline(t0+300000), false) // duplicate
	got := stored(market.TF1m)
	if len(got) != 5 {
		t.Fatalf("stored %d minutes, want 5", len(got))
	}
	for i, c := range got {
		if want := t0 + int64(i+1)*60000; c.Time != want {
			t.Fatalf("minute %d stamped %d, want %d", i, c.Time, want)
		}
	}
	// Reconnected at t0+8m30s: minutes 6, 7, 8 come over REST at once.
	f.now.Store(t0 + 8*60000 + 30000)
	e.OnStream(market.StreamEvent{Kind: market.StreamReconnecting, Exchange: "bybit", Detail: "read: EOF", Time: t0 + 5*60000})
	e.OnStream(market.StreamEvent{Kind: market.StreamConnected, Exchange: "bybit", Time: t0 + 8*60000 + 30000})
	if got := stored(market.TF1m); len(got) != 8 || got[7].Time != t0+8*60000 {
		t.Fatalf("after the reconnect: %d minutes, last %d", len(got), got[len(got)-1].Time)
	}
	var kl StreamHealth
	for _, h := range e.Health() {
		if h.Channel == market.ChannelCandles {
			kl = h
		}
	}
	if kl.Backfilled != 5 || kl.Reconnects != 1 || kl.State != StateConnected {
		t.Fatalf("candles health = %+v, want 5 backfilled, 1 reconnect, connected", kl)
	}
	d := e.Degraded("BTCUSDT")
	if len(d) != 2 || d[0].From != t0+5*60000 || d[0].To != t0+8*60000+30000 {
		t.Fatalf("degraded spans = %+v, want trades and book over the outage", d)
	}
}

// The clock fetches a minute whose kline is later than KlineLag.
func TestVenueClockFetchesAMissingKline(t *testing.T) {
	t0 := day0 + 10*60000
	e, f, stored := newVenueEngine(t, t0, market.TF1m)
	e.OnCandle(kline(t0+60000), false)
	f.now.Store(t0 + 120000 + 4000)
	e.Tick(f.Now(), nil) // 4s late: not yet
	if len(f.Asked()) != 0 {
		t.Fatal("fetched before the lag passed")
	}
	f.now.Store(t0 + 120000 + 6000)
	e.Tick(f.Now(), nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(stored(market.TF1m)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the late minute was not fetched; asked %v", f.Asked())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a := f.Asked(); a[0] != [2]int64{t0 + 60000, t0 + 120000} {
		t.Fatalf("asked %v", a)
	}
}

// A resync drops the book (nothing stale is served) until the next snapshot, and the counters
// and states show on the Feeds rows.
func TestVenueResyncDropsTheBookAndCounts(t *testing.T) {
	t0 := day0 + 10*60000
	e, _, _ := newVenueEngine(t, t0, market.TF1m)
	snap := market.BookUpdate{Exchange: "bybit", Symbol: "BTCUSDT", Time: t0, Snapshot: true,
		Bids: []market.Level{{Price: 100, Size: 1}}, Asks: []market.Level{{Price: 101, Size: 2}}}
	e.OnBook(snap)
	if b, a := e.BookLevels("BTCUSDT", 5); len(b) != 1 || len(a) != 1 {
		t.Fatal("book not applied")
	}
	e.OnStream(market.StreamEvent{Kind: market.StreamGap, Exchange: "bybit", Symbol: "BTCUSDT", Channel: market.ChannelBook, Detail: "u 7 after 5"})
	e.OnStream(market.StreamEvent{Kind: market.StreamResyncing, Exchange: "bybit", Symbol: "BTCUSDT", Channel: market.ChannelBook, Time: t0 + 10, Detail: "u 7 after 5"})
	if b, a := e.BookLevels("BTCUSDT", 5); len(b)+len(a) != 0 {
		t.Fatalf("a resyncing book is still served: %v %v", b, a)
	}
	if fl, _ := e.OrderFlow("BTCUSDT"); fl.HasBid || fl.HasAsk || fl.OBI != 0 {
		t.Fatalf("order flow still shows the dropped book: %+v", fl)
	}
	var bk StreamHealth
	for _, h := range e.Health() {
		if h.Channel == market.ChannelBook {
			bk = h
		}
	}
	if bk.State != StateResyncing || bk.Gaps != 1 || bk.Resyncs != 1 || bk.Detail != "u 7 after 5" {
		t.Fatalf("book health = %+v", bk)
	}
	e.OnBook(snap)
	e.OnStream(market.StreamEvent{Kind: market.StreamSynced, Exchange: "bybit", Symbol: "BTCUSDT", Channel: market.ChannelBook, Time: t0 + 500})
	for _, h := range e.Health() {
		if h.Channel == market.ChannelBook && h.State != StateConnected {
			t.Fatalf("book state after resync = %s", h.State)
		}
	}
	if d := e.Degraded("BTCUSDT"); len(d) != 1 || d[0].Channel != market.ChannelBook || d[0].From != t0+10 || d[0].To != t0+500 {
		t.Fatalf("degraded = %+v", d)
	}
}

// timedFeed is a venue feed that times its frames.
type timedFeed struct {
	*venueFeed
	lat *venue.Latency
}

func (f timedFeed) FrameLatency() venue.LatencySnapshot { return f.lat.Snapshot() }

// The Feeds tab's decode-to-bus line: the feed's frame timings, none before the first frame or
// on a feed that does not time them.
func TestFrameLatencyFromTheFeed(t *testing.T) {
	f := timedFeed{venueFeed: &venueFeed{fakeFeed: &fakeFeed{name: "bybit", syms: []market.Symbol{"BTCUSDT"}}}, lat: &venue.Latency{}}
	e := New(f, nil, Options{})
	if _, ok := e.FrameLatency(); ok {
		t.Fatal("a latency before the first frame")
	}
	for i := 1; i <= 100; i++ {
		f.lat.Observe(time.Duration(i) * time.Microsecond)
	}
	fl, ok := e.FrameLatency()
	if !ok || fl.Frames != 100 || fl.Max != 100*time.Microsecond || fl.P50 < 50*time.Microsecond || fl.P50 > 53*time.Microsecond ||
		fl.P99 < 99*time.Microsecond || fl.P99 > 100*time.Microsecond || fl.Mean != 50500*time.Nanosecond {
		t.Fatalf("frame latency %+v %v", fl, ok)
	}
	if _, ok := New(f.venueFeed, nil, Options{}).FrameLatency(); ok {
		t.Fatal("a latency from a feed that does not time its frames")
	}
}
