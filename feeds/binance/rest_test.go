package binance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/market"
)

// restEnv is a 30-minute script played up to stallAt (the whole of it when 0), so the fake's
// REST answers as the venue would at that moment, and a feed on it.
func restEnv(t *testing.T, stallAt time.Duration, pageLimit int) (*fakevenue.Script, *fakevenue.Player, *fakevenue.BinanceServer, *Feed) {
	t.Helper()
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSymbols, Duration: 30 * time.Minute, Seed: 7})
	p := fakevenue.Played(t, s, stallAt)
	srv := fakevenue.NewBinance(p, fakevenue.BinanceOptions{PageLimit: pageLimit})
	t.Cleanup(srv.Close)
	f, err := New(Config{Symbols: twoSymbols, WSURL: srv.WS("/stream"), RESTURL: srv.URL, Clock: p.Now,
		KlineLimit: pageLimit, RESTWeight: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return s, p, srv, f
}

func equalCandles(t *testing.T, what string, got, want []market.Candle) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d candles, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: candle %d: %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func TestKlinesPaging(t *testing.T) {
	s, _, srv, f := restEnv(t, 0, 7)
	ctx := context.Background()
	for _, sym := range twoSymbols {
		var pages int
		var got []market.Candle
		err := f.Klines(ctx, sym, market.TF1m, s.Config.Start, s.End(), func(cs []market.Candle) error {
			pages++
			got = append(got, cs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		equalCandles(t, string(sym)+" 1m", got, s.Klines(sym))
		if pages != 5 {
			t.Fatalf("%s: %d pages, want 5 (30 bars, 7 a page)", sym, pages)
		}
	}
	if n := srv.Hits("/api/v3/klines"); n != 10 {
		t.Fatalf("%d requests, want 10", n)
	}

	// History: (from, to] with an unaligned from.
	from, to := s.Config.Start+3*60_000+17_000, s.End()-2*60_000
	got, err := f.History("ETHUSDT", from, to)
	if err != nil {
		t.Fatal(err)
	}
	var want []market.Candle
	for _, c := range s.Klines("ETHUSDT") {
		if c.Time > from && c.Time <= to {
			want = append(want, c)
		}
	}
	equalCandles(t, "history", got, want)
	if got[0].Time != s.Config.Start+4*60_000 || got[len(got)-1].Time != to {
		t.Fatalf("history spans %d…%d", got[0].Time, got[len(got)-1].Time)
	}

	// 5m bars: the venue's own aggregation, stamped at their ends.
	var got5 []market.Candle
	if err := f.Klines(ctx, "BTCUSDT", market.TF5m, s.Config.Start, s.End(), func(cs []market.Candle) error {
		got5 = append(got5, cs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	equalCandles(t, "5m", got5, fakevenue.Interval(s.Klines("BTCUSDT"), market.TF5m))

	// An error from page stops the fetch with it.
	stop := context.Canceled
	if err := f.Klines(ctx, "BTCUSDT", market.TF1m, s.Config.Start, s.End(), func([]market.Candle) error { return stop }); err != stop {
		t.Fatalf("page error: %v", err)
	}
	if err := f.Klines(ctx, "BTCUSDT", market.TF5s, s.Config.Start, s.End(), func([]market.Candle) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "5s") {
		t.Fatalf("5s: %v", err)
	}
}

// The bar still open at the venue's clock is served by the venue but dropped.
func TestKlinesDropOpenBar(t *testing.T) {
	s, p, _, f := restEnv(t, 10*time.Minute+30*time.Second, 1000)
	now := p.Now()
	if _, _, open := s.KlinesAt("BTCUSDT", now); !open {
		t.Fatal("no open bar at the stall")
	}
	got, err := f.History("BTCUSDT", s.Config.Start, s.End())
	if err != nil {
		t.Fatal(err)
	}
	equalCandles(t, "closed 1m", got, s.Klines("BTCUSDT")[:10])
	var got5 []market.Candle
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF5m, s.Config.Start, s.End(), func(cs []market.Candle) error {
		got5 = append(got5, cs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	equalCandles(t, "closed 5m", got5, fakevenue.Interval(s.Klines("BTCUSDT")[:10], market.TF5m))
}

func TestInstrumentAndUnknownSymbol(t *testing.T) {
	_, _, _, f := restEnv(t, 0, 1000)
	ctx := context.Background()
	in, err := f.Instrument(ctx, "BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	want := market.Instrument{Exchange: Name, Symbol: "BTCUSDT", Venue: "BTCUSDT", TickSize: 0.1, LotSize: 0.0001, MinSize: 0.0001, Trading: true}
	if in != want {
		t.Fatalf("%+v, want %+v", in, want)
	}
	if in, err := f.Instrument(ctx, "ETHUSDT"); err != nil || in.TickSize != 0.01 {
		t.Fatalf("ETHUSDT %+v %v", in, err)
	}
	_, err = f.Instrument(ctx, "BTCXXX")
	if err == nil || err.Error() != "binance: BTCXXX: Invalid symbol. (code -1121, HTTP 400)" {
		t.Fatalf("instrument: %v", err)
	}
	_, err = f.History("BTCXXX", 0, f.Now())
	if err == nil || !strings.Contains(err.Error(), "BTCXXX") || !strings.Contains(err.Error(), "Invalid symbol. (code -1121, HTTP 400)") {
		t.Fatalf("history: %v", err)
	}
	if tfs := f.Timeframes(); len(tfs) != 13 || tfs[1] != market.TF1m {
		t.Fatalf("timeframes %v", tfs)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Symbols"},
		{Config{Symbols: []market.Symbol{"btc-usdt"}}, "Symbols[0]"},
		{Config{Symbols: []market.Symbol{"BTCUSDT", "BTCUSDT"}}, "listed twice"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, WSURL: "http://x/stream"}, "WSURL"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, RESTURL: "ftp://x"}, "RESTURL"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, BookDepth: 6000}, "BookDepth"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, KlineLimit: 1500}, "KlineLimit"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, SendRate: 10}, "SendRate"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, Silence: -time.Second}, "Silence"},
	}
	for _, c := range cases {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.cfg.WSURL != DefaultWSURL || f.cfg.RESTURL != DefaultRESTURL || f.cfg.BookDepth != 1000 || f.cfg.Lifetime != 23*time.Hour+50*time.Minute ||
		f.cfg.SendRate != 4 || f.cfg.PingEvery != 0 || f.Name() != "binance" || !f.VenueCandles() {
		t.Fatalf("defaults %+v", f.cfg)
	}
}
