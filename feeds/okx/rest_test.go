package okx

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/market"
)

func restRig(t *testing.T, at time.Duration, opt fakevenue.OKXOptions) (*fakevenue.Script, *fakevenue.Player, *fakevenue.OKX, *Feed) {
	t.Helper()
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: "okx", Symbols: twoSyms, Duration: 30 * time.Minute, Seed: 21})
	p := fakevenue.Played(t, s, at)
	v := fakevenue.NewOKX(p, opt)
	t.Cleanup(v.Close)
	f, err := New(Config{Symbols: twoSyms, RESTURL: v.RESTURL(), Clock: p.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, p, v, f
}

func withoutTrades(cs []market.Candle) []market.Candle {
	out := make([]market.Candle, len(cs))
	for i, c := range cs {
		c.Trades = 0
		out[i] = c
	}
	return out
}

func equalCandles(t *testing.T, what string, got, want []market.Candle) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d candles, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: candle %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func TestKlinesPagesAndEndpoints(t *testing.T) {
	// At 25m30s: 25 closed bars and an open one; candles covers the latest 10, pages of 4.
	s, p, v, f := restRig(t, 25*time.Minute+30*time.Second, fakevenue.OKXOptions{PageLimit: 4, Coverage: 10})
	start := s.Config.Start
	closed, _, hasOpen := s.KlinesAt("BTCUSDT", p.Now())
	if len(closed) != 25 || !hasOpen {
		t.Fatalf("venue state: %d closed, open %v", len(closed), hasOpen)
	}
	var pages [][]market.Candle
	var got []market.Candle
	err := f.Klines(context.Background(), "BTCUSDT", market.TF1m, start, p.Now(), func(cs []market.Candle) error {
		for i := 1; i < len(cs); i++ {
			if cs[i].Time <= cs[i-1].Time {
				t.Fatalf("page not ascending: %+v", cs)
			}
		}
		pages = append(pages, cs)
		got = append(cs, got...) // pages come newest first
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	equalCandles(t, "1m (from, now]", got, withoutTrades(closed))
	if v.Requests(fakevenue.OKXCandlesPath) == 0 || v.Requests(fakevenue.OKXHistoryPath) == 0 {
		t.Fatalf("endpoints used: candles %d, history %d", v.Requests(fakevenue.OKXCandlesPath), v.Requests(fakevenue.OKXHistoryPath))
	}

	// An inner range: stamps in (from, to], from exclusive, to inclusive.
	from, to := start+3*60_000, start+9*60_000
	got = nil
	if err := f.Klines(context.Background(), "ETHUSDT", market.TF1m, from, to, func(cs []market.Candle) error {
		got = append(cs, got...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	equalCandles(t, "1m (3m, 9m]", got, withoutTrades(s.Klines("ETHUSDT")[3:9]))

	// 5m bars from the venue's own aggregation.
	got = nil
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF5m, start, p.Now(), func(cs []market.Candle) error {
		got = append(cs, got...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	equalCandles(t, "5m", got, withoutTrades(fakevenue.Interval(closed, market.TF5m)))

	// History: the engine's backfill, ascending, closed only.
	h, err := f.History("ETHUSDT", start, p.Now())
	if err != nil {
		t.Fatal(err)
	}
	ethClosed, _, _ := s.KlinesAt("ETHUSDT", p.Now())
	equalCandles(t, "History", h, withoutTrades(ethClosed))

	// A page callback error stops the fetch with it.
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF1m, start, p.Now(), func([]market.Candle) error { return errTest }); err != errTest {
		t.Fatalf("page error: %v", err)
	}
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF5s, start, p.Now(), func([]market.Candle) error { return nil }); err == nil || !strings.Contains(err.Error(), "5s") {
		t.Fatalf("5s: %v", err)
	}
	if tfs := f.Timeframes(); len(tfs) != 13 || tfs[0] != market.TF1s || tfs[len(tfs)-1] != market.TF1w {
		t.Fatalf("timeframes %v", tfs)
	}
}

func TestKlinesThrottled(t *testing.T) {
	s, p, v, f := restRig(t, 12*time.Minute+10*time.Second, fakevenue.OKXOptions{PageLimit: 3, Throttle: 3})
	h, err := f.History("BTCUSDT", s.Config.Start, p.Now())
	if err != nil {
		t.Fatal(err)
	}
	closed, _, _ := s.KlinesAt("BTCUSDT", p.Now())
	equalCandles(t, "throttled history", h, withoutTrades(closed))
	if n := v.Requests(fakevenue.OKXCandlesPath) + v.Requests(fakevenue.OKXHistoryPath); n < 6 {
		t.Fatalf("%d requests: no 429 was retried", n)
	}
}

func TestRESTErrorsCarryTheVenueMessage(t *testing.T) {
	_, p, v, f := restRig(t, 5*time.Minute, fakevenue.OKXOptions{})
	const venueMsg = "Instrument ID, Instrument ID code, or Spread ID doesn't exist."
	_, err := f.History("XRPUSDT", 0, p.Now())
	if err == nil || !strings.Contains(err.Error(), "okx: XRPUSDT: "+venueMsg) || !strings.Contains(err.Error(), "code 51001") {
		t.Fatalf("unknown symbol: %v", err)
	}
	if _, err := f.Instrument(context.Background(), "XRPUSDT"); err == nil || !strings.Contains(err.Error(), "XRPUSDT: "+venueMsg) {
		t.Fatalf("unknown instrument: %v", err)
	}
	in, err := f.Instrument(context.Background(), "BTCUSDT")
	want := market.Instrument{Exchange: "okx", Symbol: "BTCUSDT", Venue: "BTC-USDT", TickSize: 0.1, LotSize: 1e-8, MinSize: 1e-5, Trading: true}
	if err != nil || in != want {
		t.Fatalf("instrument %+v %v", in, err)
	}
	// OKX's 404 shape (a numeric code) on a wrong base path.
	g, err := New(Config{Symbols: twoSyms, RESTURL: v.RESTURL() + "/nope", Clock: p.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.History("BTCUSDT", 0, p.Now()); err == nil || !strings.Contains(err.Error(), "Not Found (code 404; HTTP 404") {
		t.Fatalf("404: %v", err)
	}
	// A symbol without a known quote currency.
	if _, err := f.History("FOOBAR", 0, p.Now()); err == nil || !strings.Contains(err.Error(), "FOOBAR") {
		t.Fatalf("unmappable symbol: %v", err)
	}
}
