package bybit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/market"
)

func stripTrades(cs []market.Candle) []market.Candle {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Trades = 0
	}
	return out
}

// TestKlinesPaging: REST history over ranges that need several pages equals the script's
// klines exactly: (from, to] on right-aligned stamps, ascending, the open bar dropped; a
// server that caps pages below the limit asked for is paged through too.
func TestKlinesPaging(t *testing.T) {
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSyms, Duration: 30 * time.Minute, Seed: 3})
	start := s.Config.Start
	p := fakevenue.Played(t, s, 25*time.Minute+30*time.Second)
	now := p.Now()
	srv := fakevenue.NewBybit(p, fakevenue.BybitOptions{PageLimit: 5})
	defer srv.Close()
	closed, _, hasOpen := s.KlinesAt("BTCUSDT", now)
	if len(closed) != 25 || !hasOpen {
		t.Fatalf("venue at %d: %d closed bars, open %v", now, len(closed), hasOpen)
	}
	for _, limit := range []int{4, 1000} {
		f, err := New(Config{Symbols: twoSyms, RESTURL: srv.URL, Clock: p.Now, KlinePageLimit: limit})
		if err != nil {
			t.Fatal(err)
		}
		pages := 0
		var got []market.Candle
		err = f.Klines(context.Background(), "BTCUSDT", market.TF1m, start, start+30*60_000, func(cs []market.Candle) error {
			pages++
			if !slices.IsSortedFunc(cs, func(a, b market.Candle) int { return int(a.Time - b.Time) }) {
				t.Errorf("page not ascending")
			}
			got = append(got, cs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if pages < 5 || len(got) != 25 {
			t.Errorf("limit %d: %d pages, %d bars", limit, pages, len(got))
		}
		h, err := f.History("BTCUSDT", start, start+30*60_000)
		if err != nil {
			t.Fatal(err)
		}
		if want := stripTrades(closed); !slices.Equal(h, want) {
			t.Errorf("limit %d: History\n%v\nwant\n%v", limit, h, want)
		}
		// (from, to]: the bar stamped from is out, the one stamped to is in.
		h, err = f.History("ETHUSDT", start+5*60_000, start+12*60_000)
		if err != nil {
			t.Fatal(err)
		}
		if want := stripTrades(s.Klines("ETHUSDT")[5:12]); !slices.Equal(h, want) {
			t.Errorf("limit %d: History (5m, 12m]\n%v\nwant\n%v", limit, h, want)
		}
	}
	f, _ := New(Config{Symbols: twoSyms, RESTURL: srv.URL, Clock: p.Now, KlinePageLimit: 2})
	var fives []market.Candle
	err := f.Klines(context.Background(), "BTCUSDT", market.TF5m, start, start+30*60_000, func(cs []market.Candle) error {
		fives = append(cs, fives...) // pages come newest first
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := stripTrades(fakevenue.Interval(closed, market.TF5m)); len(want) != 5 || !slices.Equal(fives, want) {
		t.Errorf("5m klines\n%v\nwant\n%v", fives, want)
	}
	stop := errors.New("enough")
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF1m, start, now, func([]market.Candle) error { return stop }); err != stop {
		t.Errorf("page error: %v", err)
	}
	if err := f.Klines(context.Background(), "BTCUSDT", market.TF1s, start, now, nil); err == nil {
		t.Error("1s klines should be refused")
	}
	if len(f.Timeframes()) != 12 || f.Timeframes()[0] != market.TF1m || f.Timeframes()[11] != market.TF1w {
		t.Errorf("timeframes %v", f.Timeframes())
	}
}

// TestRESTUnknownSymbolAndInstruments: the venue's own message for an unknown symbol, and the
// trading rules of known ones.
func TestRESTUnknownSymbolAndInstruments(t *testing.T) {
	s := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: Name, Symbols: twoSyms, Duration: 5 * time.Minute})
	p := fakevenue.Played(t, s, 3*time.Minute)
	srv := fakevenue.NewBybit(p, fakevenue.BybitOptions{})
	defer srv.Close()
	f, _ := New(Config{Symbols: twoSyms, RESTURL: srv.URL, Clock: p.Now})
	_, err := f.History("BTCXXX", s.Config.Start, p.Now())
	if err == nil || err.Error() != "bybit: BTCXXX: Not supported symbols (retCode 10001)" {
		t.Errorf("unknown symbol: %v", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 10001 {
		t.Errorf("not an APIError: %#v", err)
	}
	in, err := f.Instrument(context.Background(), "BTCUSDT")
	want := market.Instrument{Exchange: "bybit", Symbol: "BTCUSDT", Venue: "BTCUSDT", TickSize: 0.1, LotSize: 0.0001, MinSize: 0.0001, Trading: true}
	if err != nil || in != want {
		t.Errorf("instrument %+v %v, want %+v", in, err, want)
	}
	lin, _ := New(Config{Symbols: twoSyms, Category: "linear", RESTURL: srv.URL, Clock: p.Now})
	in, err = lin.Instrument(context.Background(), "ETHUSDT")
	want = market.Instrument{Exchange: "bybit", Symbol: "ETHUSDT", Venue: "ETHUSDT", TickSize: 0.01, LotSize: 0.0001, MinSize: 0.0001, Trading: true}
	if err != nil || in != want {
		t.Errorf("linear instrument %+v %v, want %+v", in, err, want)
	}
	if _, err := lin.Instrument(context.Background(), "BTCXXX"); err == nil || !strings.Contains(err.Error(), "BTCXXX") {
		t.Errorf("unknown instrument: %v", err)
	}
}
