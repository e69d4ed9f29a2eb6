package sim

import (
	"math"
	"reflect"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

func mustFeed(t testing.TB, cfg Config) *Feed {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const day = 24 * 3600 * 1000

func TestHistory30Days(t *testing.T) {
	cfg := Config{Seed: 5, Start: testStart}
	f := mustFeed(t, cfg)
	from, to := testStart-30*day, testStart
	for _, sym := range f.Symbols() {
		cs, err := f.History(sym, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 43200 {
			t.Fatalf("%s: %d candles, want 43200", sym, len(cs))
		}
		p := paramsFor(sym)
		var vol float64
		for i, c := range cs {
			if c.Time <= from || c.Time > to || c.Time > f.Start() || !market.TF1m.Aligned(c.Time) {
				t.Fatalf("%s: candle %d stamped %d outside (%d, %d] or unaligned", sym, i, c.Time, from, to)
			}
			if i > 0 && c.Time != cs[i-1].Time+60000 {
				t.Fatalf("%s: gap between %d and %d", sym, cs[i-1].Time, c.Time)
			}
			if c.Exchange != "sim" || c.Symbol != sym || c.Timeframe != market.TF1m {
				t.Fatalf("%s: bad header %+v", sym, c)
			}
			if !(c.Low > 0) || c.Low > min(c.Open, c.Close) || c.High < max(c.Open, c.Close) || c.Volume < 0 || c.Trades < 0 {
				t.Fatalf("%s: bad candle %+v", sym, c)
			}
			for _, x := range []float64{c.Open, c.High, c.Low, c.Close} {
				if v := x * pow10(p.tickDec); math.Abs(v-math.Round(v)) > 1e-6*v {
					t.Fatalf("%s: price %v not on the tick", sym, x)
				}
			}
			vol += c.Volume
		}
		// Volume matches the live trade rate × mean size × the window's mean activity.
		ac := newActivity(f.cfg.Seed, sym, p)
		var sumA float64
		for _, c := range cs {
			sumA += ac.at(c.Time)
		}
		perMin, want := vol/float64(len(cs)), 60*5*p.meanSize*sumA/float64(len(cs))
		if math.Abs(perMin-want) > 0.05*want {
			t.Errorf("%s: volume per minute %v, want ≈ %v", sym, perMin, want)
		}
		// Realistic volatility: annualised from hourly closes.
		var s2 float64
		n := 0
		for i := 60; i < len(cs); i += 60 {
			r := math.Log(cs[i].Close / cs[i-60].Close)
			s2 += r * r
			n++
		}
		av := math.Sqrt(s2 / float64(n) * 365 * 24)
		t.Logf("%s: 30 days, close %v → %v, volume/min %.3f (want %.3f), annualised vol %.2f (nominal %.2f)",
			sym, cs[0].Close, cs[len(cs)-1].Close, perMin, want, av, p.vol)
		if av < 0.6*p.vol || av > 1.5*p.vol {
			t.Errorf("%s: annualised volatility %.2f, nominal %.2f", sym, av, p.vol)
		}

		// Deterministic: a second feed with the same seed (and another start) gives the same
		// candles, and overlapping windows agree on their overlap.
		g := mustFeed(t, Config{Seed: 5, Start: testStart + 7*day})
		again, err := g.History(sym, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cs, again) {
			t.Fatalf("%s: history not deterministic", sym)
		}
		a, err := f.History(sym, from+3*day+17, from+10*day)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.History(sym, from+8*day, from+20*day-1)
		if err != nil {
			t.Fatal(err)
		}
		checkOverlap(t, a, b)
		checkOverlap(t, cs, a)
		checkOverlap(t, cs, b)

		other := mustFeed(t, Config{Seed: 6, Start: testStart})
		oc, _ := other.History(sym, from, to)
		if reflect.DeepEqual(cs, oc) {
			t.Fatalf("%s: seeds 5 and 6 give the same history", sym)
		}
	}
}

// checkOverlap asserts that two candle series agree wherever both have a candle, and that
// they do overlap.
func checkOverlap(t *testing.T, a, b []market.Candle) {
	t.Helper()
	byTime := map[int64]market.Candle{}
	for _, c := range a {
		byTime[c.Time] = c
	}
	n := 0
	for _, c := range b {
		if x, ok := byTime[c.Time]; ok {
			n++
			if x != c {
				t.Fatalf("windows disagree at %d: %+v vs %+v", c.Time, x, c)
			}
		}
	}
	if n == 0 {
		t.Fatal("windows do not overlap")
	}
}

func TestHistoryWindow(t *testing.T) {
	f := mustFeed(t, Config{Seed: 1, Start: testStart})
	start := market.TF1m.Floor(testStart) // testStart is not minute-aligned
	cs, err := f.History("BTCUSDT", start-10*60000, testStart+day)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 10 || cs[0].Time != start-9*60000 || cs[9].Time != start {
		t.Fatalf("window clamped to Start: got %d candles %d…%d", len(cs), cs[0].Time, cs[len(cs)-1].Time)
	}
	cs, err = f.History("BTCUSDT", start-60000+1, start-1)
	if err != nil || len(cs) != 0 {
		t.Fatalf("empty window: %v %v", cs, err)
	}
	cs, err = f.History("BTCUSDT", start+60000, start+120000)
	if err != nil || len(cs) != 0 {
		t.Fatalf("window after Start: %v %v", cs, err)
	}
	if _, err := f.History("DOGEUSDT", 0, testStart); err == nil {
		t.Fatal("history of a symbol the feed does not have")
	}
	if _, err := f.History("BTCUSDT", testStart, testStart-1); err == nil {
		t.Fatal("window with to < from accepted")
	}
	if _, err := f.History("BTCUSDT", 0, testStart); err == nil {
		t.Fatal("55-year window accepted")
	}
	// A slow rate leaves minutes without trades: they are flat at the previous close.
	g := mustFeed(t, Config{Seed: 1, Start: testStart, TradeRate: 0.01})
	cs, err = g.History("BTCUSDT", testStart-day, testStart)
	if err != nil {
		t.Fatal(err)
	}
	flat := 0
	for i, c := range cs {
		if c.Trades == 0 {
			flat++
			if c.Volume != 0 || c.Open != c.High || c.Low != c.Close || c.Open != c.Close || (i > 0 && c.Open != cs[i-1].Close) {
				t.Fatalf("bad flat candle %+v", c)
			}
		}
	}
	if flat == 0 {
		t.Fatal("no flat candles at 0.6 trades per minute")
	}
}

// TestLiveContinuesHistory: the first live mid is within a few ticks of the last history
// close, for aligned and unaligned starts, known and derived symbols.
func TestLiveContinuesHistory(t *testing.T) {
	syms := []market.Symbol{"BTCUSDT", "ETHUSDT", "SOLUSDT", "ABCUSDT"}
	for seed := int64(0); seed < 5; seed++ {
		for _, start := range []int64{testStart, market.TF1m.Floor(testStart), testStart + 59_999 + seed*day} {
			cfg := Config{Seed: seed, Start: start, Symbols: syms}
			f := mustFeed(t, cfg)
			g := mustGen(t, cfg)
			for range syms {
				ev := g.Next()
				if ev.Book == nil || !ev.Book.Snapshot {
					t.Fatalf("first events are not snapshots: %+v", ev)
				}
				u := ev.Book
				mid := (u.Bids[0].Price + u.Asks[0].Price) / 2
				cs, err := f.History(u.Symbol, start-3600e3, start)
				if err != nil {
					t.Fatal(err)
				}
				last := cs[len(cs)-1]
				tick := 1 / pow10(paramsFor(u.Symbol).tickDec)
				if d := math.Abs(mid-last.Close) / tick; d > 3 {
					t.Errorf("seed %d start %d %s: first live mid %v is %.1f ticks from the last close %v", seed, start, u.Symbol, mid, d, last.Close)
				}
			}
		}
	}
}

// TestRestartContinuesPath: the live prices of one session follow the path that the
// history of a later session shows for the same minutes.
func TestRestartContinuesPath(t *testing.T) {
	cfg := Config{Seed: 9, Start: testStart, Symbols: []market.Symbol{"BTCUSDT"}}
	g := mustGen(t, cfg)
	const minutes = 60
	book := newRefBook()
	live := map[int64]float64{} // minute stamp → live mid at that instant
	next := market.TF1m.End(testStart)
	for {
		ev := g.Next()
		if ev.Book == nil {
			continue
		}
		for ev.Time >= next && book.ok {
			live[next] = book.mid()
			next += 60000
		}
		if len(live) == minutes {
			break
		}
		if err := book.apply(ev.Book); err != nil {
			t.Fatal(err)
		}
	}
	// Restart an hour later with the same seed.
	f := mustFeed(t, Config{Seed: 9, Start: testStart + minutes*60000, Symbols: cfg.Symbols})
	cs, err := f.History("BTCUSDT", testStart, testStart+minutes*60000)
	if err != nil {
		t.Fatal(err)
	}
	other := mustFeed(t, Config{Seed: 10, Start: testStart + minutes*60000, Symbols: cfg.Symbols})
	os, _ := other.History("BTCUSDT", testStart, testStart+minutes*60000)
	var dev, devOther float64
	for i, c := range cs {
		m, ok := live[c.Time]
		if !ok {
			t.Fatalf("no live mid at %d", c.Time)
		}
		dev = max(dev, math.Abs(math.Log(m/c.Close)))
		devOther = max(devOther, math.Abs(math.Log(m/os[i].Close)))
	}
	t.Logf("live vs later history over %d min: max deviation %.3f%% (another seed: %.3f%%)", minutes, 100*dev, 100*devOther)
	if dev > 0.005 {
		t.Errorf("live prices strayed %.3f%% from the path", 100*dev)
	}
}
