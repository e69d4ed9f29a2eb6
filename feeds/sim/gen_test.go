package sim

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// testStart is an arbitrary, deliberately not minute-aligned, sim origin.
var testStart = time.Date(2025, 6, 1, 12, 0, 30, 250e6, time.UTC).UnixMilli()

func mustGen(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestConfigDefaults(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	f, err := New(Config{Clock: clk, Symbols: []market.Symbol{"solusdt"}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	if c.Exchange != "sim" || c.Speed != 1 || c.TradeRate != 5 || c.BookLevels != 50 ||
		c.BookInterval != 100*time.Millisecond || c.Start != clk.Now().UnixMilli() {
		t.Fatalf("defaults not filled: %+v", c)
	}
	if got := f.Symbols(); !reflect.DeepEqual(got, []market.Symbol{"SOLUSDT"}) {
		t.Fatalf("symbols = %v, want normalised [SOLUSDT]", got)
	}
	if f.Name() != "sim" || f.Now() != c.Start {
		t.Fatalf("Name %q Now %d", f.Name(), f.Now())
	}
	g := mustGen(t, Config{Start: 1})
	if !reflect.DeepEqual(g.Symbols(), DefaultSymbols) {
		t.Fatalf("default symbols = %v", g.Symbols())
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Speed: -1}, "Speed"},
		{Config{Speed: math.NaN()}, "Speed"},
		{Config{Speed: math.Inf(1)}, "Speed"},
		{Config{TradeRate: -2}, "TradeRate"},
		{Config{TradeRate: 1e6}, "TradeRate"},
		{Config{BookLevels: -1}, "BookLevels"},
		{Config{BookLevels: 100000}, "BookLevels"},
		{Config{BookInterval: -time.Second}, "BookInterval"},
		{Config{BookInterval: time.Microsecond}, "BookInterval"},
		{Config{BookInterval: 2 * time.Hour}, "BookInterval"},
		{Config{Start: -5}, "Start"},
		{Config{Symbols: []market.Symbol{"BTC-USDT"}}, "Symbols[0]"},
		{Config{Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT", "btcusdt"}}, "Symbols[2]"},
		{Config{Symbols: []market.Symbol{""}}, "Symbols[0]"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New(%+v) error = %v, want one naming %s", tc.cfg, err, tc.field)
		}
		if _, err := NewGenerator(tc.cfg); err == nil {
			t.Errorf("NewGenerator(%+v) accepted a bad config", tc.cfg)
		}
	}
	// Every bad field is reported at once.
	_, err := New(Config{Speed: -1, TradeRate: -1, BookLevels: -1})
	for _, f := range []string{"Speed", "TradeRate", "BookLevels"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func TestDeterministic(t *testing.T) {
	const n = 20000
	cfg := Config{Seed: 42, Start: testStart}
	a, b := mustGen(t, cfg), mustGen(t, cfg)
	for i := range n {
		ea, eb := a.Next(), b.Next()
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("event %d differs:\n%+v\n%+v", i, ea, eb)
		}
	}

	differ := func(c2 Config) bool {
		a, b := mustGen(t, cfg), mustGen(t, c2)
		for range n {
			if !reflect.DeepEqual(a.Next(), b.Next()) {
				return true
			}
		}
		return false
	}
	if !differ(Config{Seed: 43, Start: testStart}) {
		t.Fatal("seeds 42 and 43 produced identical events")
	}
	if !differ(Config{Seed: 42, Start: testStart + 60_000}) {
		t.Fatal("different starts produced identical events")
	}
}

// TestInvariants applies every book update to a map-based reference book and checks the
// book and every trade against it.
func TestInvariants(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 7, Start: testStart, Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT", "SOLUSDT", "PEPEDOGE"}},
		{Seed: 8, Start: testStart, BookLevels: 20, BookInterval: 250 * time.Millisecond, TradeRate: 40,
			Symbols: []market.Symbol{"BTCUSDT", "XYZUSDT"}, Exchange: "simx"},
	} {
		checkInvariants(t, cfg, 120_000)
	}
}

func checkInvariants(t *testing.T, cfg Config, n int) {
	t.Helper()
	g := mustGen(t, cfg)
	cfg = g.cfg
	books := map[market.Symbol]*refBook{}
	lastTime := map[market.Symbol]int64{}
	ids := map[market.Symbol]map[string]bool{}
	var last int64
	var trades, buys, books_ int
	aligned := func(x float64, dec int) bool {
		v := x * pow10(dec)
		return math.Abs(v-math.Round(v)) < 1e-6*max(1, math.Abs(v))
	}
	for i := range n {
		ev := g.Next()
		if ev.Time < last {
			t.Fatalf("event %d: time %d before %d", i, ev.Time, last)
		}
		last = ev.Time
		if (ev.Trade == nil) == (ev.Book == nil) {
			t.Fatalf("event %d: want exactly one of Trade and Book: %+v", i, ev)
		}
		if ev.Book != nil {
			u := ev.Book
			p := paramsFor(u.Symbol)
			books_++
			if u.Time != ev.Time || u.Exchange != cfg.Exchange || u.Time < lastTime[u.Symbol] {
				t.Fatalf("event %d: bad book header %+v", i, u)
			}
			lastTime[u.Symbol] = u.Time
			b := books[u.Symbol]
			if b == nil {
				if !u.Snapshot || u.Seq != 1 || u.Time != cfg.Start {
					t.Fatalf("first book of %s is not a snapshot at Start with seq 1: %+v", u.Symbol, u)
				}
				b = newRefBook()
				books[u.Symbol] = b
			} else if u.Snapshot {
				t.Fatalf("event %d: snapshot after the first update", i)
			}
			// Deltas carry only changes: deletions of levels that exist, sizes that differ.
			if !u.Snapshot {
				for _, side := range []struct {
					ls []market.Level
					m  map[float64]float64
				}{{u.Bids, b.bids}, {u.Asks, b.asks}} {
					for _, l := range side.ls {
						old, ok := side.m[l.Price]
						if l.Size == 0 && !ok || l.Size != 0 && ok && old == l.Size {
							t.Fatalf("event %d: level %+v is no change (old %v, present %v)", i, l, old, ok)
						}
					}
				}
			}
			if err := b.apply(u); err != nil {
				t.Fatalf("event %d %s: %v", i, u.Symbol, err)
			}
			if len(b.bids) != cfg.BookLevels || len(b.asks) != cfg.BookLevels {
				t.Fatalf("event %d %s: %d bids, %d asks, want %d", i, u.Symbol, len(b.bids), len(b.asks), cfg.BookLevels)
			}
			bid, ask := b.best()
			if !(bid < ask) {
				t.Fatalf("event %d %s: crossed or locked book: bid %v ask %v", i, u.Symbol, bid, ask)
			}
			// Every level in the book arrived in some update: checking each update's levels
			// checks every level of the book.
			for _, ls := range [][]market.Level{u.Bids, u.Asks} {
				for _, l := range ls {
					if l.Size < 0 || (u.Snapshot && l.Size == 0) || l.Price <= 0 || !aligned(l.Price, p.tickDec) || !aligned(l.Size, p.lotDec) {
						t.Fatalf("event %d %s: bad level %+v", i, u.Symbol, l)
					}
				}
			}
			continue
		}
		tr := ev.Trade
		trades++
		b := books[tr.Symbol]
		if b == nil {
			t.Fatalf("event %d: trade before the first book: %+v", i, tr)
		}
		if tr.Time != ev.Time || tr.Time < lastTime[tr.Symbol] || tr.Exchange != cfg.Exchange {
			t.Fatalf("event %d: bad trade header %+v", i, tr)
		}
		lastTime[tr.Symbol] = tr.Time
		if !(tr.Size > 0) || !aligned(tr.Size, paramsFor(tr.Symbol).lotDec) {
			t.Fatalf("event %d: bad size %+v", i, tr)
		}
		if ids[tr.Symbol] == nil {
			ids[tr.Symbol] = map[string]bool{}
		}
		if tr.ID == "" || ids[tr.Symbol][tr.ID] {
			t.Fatalf("event %d: empty or repeated trade id %q", i, tr.ID)
		}
		ids[tr.Symbol][tr.ID] = true
		bid, ask := b.best()
		switch tr.Side {
		case market.Buy:
			buys++
			if tr.Price != ask {
				t.Fatalf("event %d: buy at %v, best ask %v", i, tr.Price, ask)
			}
		case market.Sell:
			if tr.Price != bid {
				t.Fatalf("event %d: sell at %v, best bid %v", i, tr.Price, bid)
			}
		default:
			t.Fatalf("event %d: bad side %+v", i, tr)
		}
	}
	if len(books) != len(cfg.Symbols) || trades == 0 {
		t.Fatalf("books for %d of %d symbols, %d trades", len(books), len(cfg.Symbols), trades)
	}
	if f := float64(buys) / float64(trades); f < 0.35 || f > 0.65 {
		t.Errorf("buy fraction %.3f", f)
	}
	t.Logf("%d events: %d books, %d trades, %.1f%% buys, over %.0f s", n, books_, trades, 100*float64(buys)/float64(trades), float64(last-cfg.Start)/1000)
}

// TestTradeFlow checks the arrival rate (TradeRate × the activity, integrated over the hour)
// and the heavy-tailed, correctly scaled trade sizes.
func TestTradeFlow(t *testing.T) {
	const hours = 1.0
	cfg := Config{Seed: 3, Start: testStart, Symbols: []market.Symbol{"BTCUSDT"}}
	g := mustGen(t, cfg)
	end := testStart + int64(hours*3600e3)
	var sizes []float64
	for {
		ev := g.Next()
		if ev.Time >= end {
			break
		}
		if ev.Trade != nil {
			sizes = append(sizes, ev.Trade.Size)
		}
	}
	want := expectedTrades(cfg.Seed, "BTCUSDT", 5, testStart, end)
	if n := float64(len(sizes)); math.Abs(n-want) > 0.05*want {
		t.Errorf("%v trades in %v h, want ≈ %v", n, hours, want)
	}
	var sum, big float64
	for _, s := range sizes {
		sum += s
		big = max(big, s)
	}
	mean := sum / float64(len(sizes))
	p := paramsFor("BTCUSDT")
	if math.Abs(mean-p.meanSize) > 0.15*p.meanSize {
		t.Errorf("mean trade size %v, want ≈ %v", mean, p.meanSize)
	}
	if big < 10*mean {
		t.Errorf("largest trade %v is not heavy-tailed against the mean %v", big, mean)
	}
	t.Logf("%d trades, mean size %.4f, largest %.4f", len(sizes), mean, big)
}

// TestImbalanceLeadsPrice: order-book imbalance (top 10 levels) is positively correlated with
// the mid's return over the next 20 s.
func TestImbalanceLeadsPrice(t *testing.T) {
	cfg := Config{Seed: 11, Start: testStart, Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}}
	c, err := obiLead(cfg, 2, 20)
	if err != nil {
		t.Fatal(err)
	}
	for sym, v := range c {
		t.Logf("%s: corr(OBI top 10, mid return next 20 s) over 2 h = %.3f", sym, v)
		if !(v > 0.1) {
			t.Errorf("%s: correlation %.3f, want > 0.1", sym, v)
		}
	}
	if len(c) != 2 {
		t.Fatalf("got correlations for %v", c)
	}
}

func TestDerivedParams(t *testing.T) {
	for _, s := range []market.Symbol{"FOOUSDT", "PEPEDOGE", "A", "XRPUSDT", "ZZZZZZZZZZ"} {
		p, q := derive(s), derive(s)
		if p != q {
			t.Fatalf("%s: not deterministic", s)
		}
		if p.price < 1 || p.price > 500 || (p.tickDec != 2 && p.tickDec != 3) || p.vol < 0.5 || p.vol > 1.3 ||
			p.meanSize <= 0 || p.touchSize <= p.meanSize || p.lotDec < 0 || p.spread < 1 {
			t.Errorf("%s: implausible %+v", s, p)
		}
	}
	if derive("FOOUSDT") == derive("BARUSDT") {
		t.Error("two symbols derived the same parameters")
	}
}
