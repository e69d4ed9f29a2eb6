package market

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestOBIPinned(t *testing.T) {
	b := NewBook("x", "BTCUSDT")
	b.Apply(BookUpdate{Snapshot: true,
		Bids: []Level{{50000, 10}, {49999, 5}},
		Asks: []Level{{50001, 3}, {50002, 2}},
	})
	if got := b.OBI(0); got != 0.5 {
		t.Errorf("book OBI = %v, want 0.5", got)
	}
	if got := OBI([]Level{{50000, 10}, {49999, 5}}, []Level{{50001, 3}, {50002, 2}}, 0); got != 0.5 {
		t.Errorf("OBI = %v, want 0.5", got)
	}
	if got := NewBook("x", "A").OBI(20); got != 0 {
		t.Errorf("empty book OBI = %v, want 0", got)
	}
	if got := OBI(nil, nil, 0); got != 0 {
		t.Errorf("OBI(nil, nil) = %v, want 0", got)
	}
	if got := OBI([]Level{{100, 2}}, []Level{{101, 8}}, 1); got != -0.6 {
		t.Errorf("bid 2 / ask 8: OBI = %v, want -0.6", got)
	}
	// depth 1 only counts the best level of each side: 10 vs 3.
	if got, want := b.OBI(1), (10.0-3)/(10+3); got != want {
		t.Errorf("OBI depth 1 = %v, want %v", got, want)
	}
	if got := OBI([]Level{{100, 2}}, nil, 0); got != 1 {
		t.Errorf("bids only: OBI = %v, want 1", got)
	}
}

func TestCVDPinned(t *testing.T) {
	var c CVD
	c.Add(Buy, 1.5)
	if got := c.Add(Sell, 1.0); got != 0.5 {
		t.Fatalf("CVD = %v, want 0.5", got)
	}
	c.Add(SideUnknown, 7)
	if c.Value != 0.5 {
		t.Fatalf("unknown side changed CVD to %v", c.Value)
	}
	c.Reset()
	if c.Value != 0 {
		t.Fatalf("Reset left %v", c.Value)
	}
}

func TestBookBasics(t *testing.T) {
	b := NewBook("x", "BTCUSDT")
	if _, ok := b.BestBid(); ok {
		t.Fatal("empty book has a best bid")
	}
	if _, ok := b.Mid(); ok || b.Crossed() {
		t.Fatal("empty book has a mid or is crossed")
	}
	b.Apply(BookUpdate{Snapshot: true, Seq: 1, Time: 10,
		Bids: []Level{{99, 1}, {100, 2}, {98, 3}}, // any order
		Asks: []Level{{102, 5}, {101, 4}},
	})
	if bb, _ := b.BestBid(); bb != (Level{100, 2}) {
		t.Errorf("best bid %v", bb)
	}
	if ba, _ := b.BestAsk(); ba != (Level{101, 4}) {
		t.Errorf("best ask %v", ba)
	}
	if m, _ := b.Mid(); m != 100.5 {
		t.Errorf("mid %v", m)
	}
	if s, _ := b.Spread(); s != 1 {
		t.Errorf("spread %v", s)
	}
	if got := b.Bids(2, nil); len(got) != 2 || got[0] != (Level{100, 2}) || got[1] != (Level{99, 1}) {
		t.Errorf("top 2 bids %v", got)
	}
	if got := b.Asks(0, nil); len(got) != 2 || got[0].Price != 101 || got[1].Price != 102 {
		t.Errorf("asks %v", got)
	}
	// delta: change, delete, insert, delete of a missing level is a no-op.
	refused := b.Apply(BookUpdate{Seq: 2, Time: 11,
		Bids: []Level{{100, 0}, {99, 7}, {97, 0}, {99.5, 1}},
		Asks: []Level{{101, 0}, {100.9, 2}},
	})
	if refused != 0 {
		t.Errorf("refused %d", refused)
	}
	if got := b.Bids(0, nil); len(got) != 3 || got[0] != (Level{99.5, 1}) || got[1] != (Level{99, 7}) || got[2] != (Level{98, 3}) {
		t.Errorf("bids after delta %v", got)
	}
	if ba, _ := b.BestAsk(); ba != (Level{100.9, 2}) {
		t.Errorf("best ask after delta %v", ba)
	}
	if b.Seq != 2 || b.Time != 11 {
		t.Errorf("seq/time %d/%d", b.Seq, b.Time)
	}
	// crossing the book is detected
	b.Apply(BookUpdate{Bids: []Level{{101, 1}}})
	if !b.Crossed() {
		t.Error("bid 101 ≥ ask 100.9 not reported crossed")
	}
	// invalid levels are refused and change nothing
	before := b.Bids(0, nil)
	if n := b.Apply(BookUpdate{Bids: []Level{{math.NaN(), 1}, {100, -1}, {0, 1}, {100, math.Inf(1)}}}); n != 4 {
		t.Errorf("refused %d invalid levels, want 4", n)
	}
	if after := b.Bids(0, nil); len(after) != len(before) {
		t.Errorf("invalid levels changed the book: %v → %v", before, after)
	}
	// a snapshot replaces everything
	b.Apply(BookUpdate{Snapshot: true, Bids: []Level{{50, 1}}})
	if nb, na := b.Len(); nb != 1 || na != 0 {
		t.Errorf("after snapshot: %d bids %d asks", nb, na)
	}
}

// naiveBook is the reference: a map per side, sorted on demand.
type naiveBook struct{ bids, asks map[float64]float64 }

func (n *naiveBook) apply(u BookUpdate) {
	if u.Snapshot || n.bids == nil {
		n.bids, n.asks = map[float64]float64{}, map[float64]float64{}
	}
	for _, side := range []struct {
		m  map[float64]float64
		lv []Level
	}{{n.bids, u.Bids}, {n.asks, u.Asks}} {
		for _, l := range side.lv {
			if !(l.Price > 0) || l.Size < 0 || math.IsNaN(l.Size) || math.IsInf(l.Size, 0) || math.IsInf(l.Price, 0) {
				continue
			}
			if l.Size == 0 {
				delete(side.m, l.Price)
			} else {
				side.m[l.Price] = l.Size
			}
		}
	}
}

func (n *naiveBook) sorted(bids bool) []Level {
	m := n.asks
	if bids {
		m = n.bids
	}
	out := make([]Level, 0, len(m))
	for p, s := range m {
		out = append(out, Level{p, s})
	}
	sort.Slice(out, func(i, j int) bool {
		if bids {
			return out[i].Price > out[j].Price
		}
		return out[i].Price < out[j].Price
	})
	return out
}

func (n *naiveBook) obi(depth int) float64 {
	var vb, va float64
	for i, l := range n.sorted(true) {
		if depth > 0 && i >= depth {
			break
		}
		vb += l.Size
	}
	for i, l := range n.sorted(false) {
		if depth > 0 && i >= depth {
			break
		}
		va += l.Size
	}
	if vb+va == 0 {
		return 0
	}
	return (vb - va) / (vb + va)
}

func randomUpdate(r *rand.Rand, snapshot bool) BookUpdate {
	u := BookUpdate{Snapshot: snapshot}
	n := 1 + r.IntN(8)
	if snapshot {
		n = r.IntN(60)
	}
	level := func(base float64, dir float64) Level {
		p := base + dir*float64(r.IntN(80))*0.5
		var s float64
		switch r.IntN(10) {
		case 0, 1, 2:
			s = 0
		case 3:
			s = []float64{math.NaN(), -1, math.Inf(1)}[r.IntN(3)]
		default:
			s = float64(1+r.IntN(1000)) / 100
		}
		return Level{p, s}
	}
	for i := 0; i < n; i++ {
		u.Bids = append(u.Bids, level(100, -1))
		u.Asks = append(u.Asks, level(100.5, 1))
	}
	return u
}

// TestBookMatchesNaive applies random snapshots and deltas (deletes, invalid levels, repeated
// prices) to the book and to a map-based reference and compares every side, best levels and
// OBI at several depths after every update.
func TestBookMatchesNaive(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		b := NewBook("x", "A")
		var ref naiveBook
		for i := 0; i < 400; i++ {
			u := randomUpdate(r, i == 0 || r.IntN(50) == 0)
			b.Apply(u)
			ref.apply(u)
			for _, bids := range []bool{true, false} {
				want := ref.sorted(bids)
				var got []Level
				if bids {
					got = b.Bids(0, nil)
				} else {
					got = b.Asks(0, nil)
				}
				if len(got) != len(want) {
					t.Fatalf("seed %d step %d bids=%v: %d levels, want %d", seed, i, bids, len(got), len(want))
				}
				for k := range want {
					if got[k] != want[k] {
						t.Fatalf("seed %d step %d bids=%v level %d: %v, want %v", seed, i, bids, k, got[k], want[k])
					}
				}
			}
			for _, d := range []int{0, 1, 5, 20} {
				if got, want := b.OBI(d), ref.obi(d); math.Abs(got-want) > 1e-12 || got < -1 || got > 1 {
					t.Fatalf("seed %d step %d depth %d: OBI %v, want %v", seed, i, d, got, want)
				}
			}
			wantCrossed := false
			if bb, ok := b.BestBid(); ok {
				if ba, ok := b.BestAsk(); ok {
					wantCrossed = bb.Price >= ba.Price
				}
			}
			if b.Crossed() != wantCrossed {
				t.Fatalf("seed %d step %d: crossed %v", seed, i, b.Crossed())
			}
		}
	}
}

// TestCVDAndFlowBarsMatchNaive feeds random trades and OBI samples to a FlowSeries and checks
// every bar against sums computed directly from the samples in its interval.
func TestCVDAndFlowBarsMatchNaive(t *testing.T) {
	type sample struct {
		t     int64
		trade bool
		side  Side
		price float64
		size  float64
		obi   float64
	}
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		tf := Timeframe(5000)
		s := NewFlowSeries(tf, 1000)
		var cvd CVD
		var samples []sample
		now := int64(1_700_000_000_000)
		for i := 0; i < 2000; i++ {
			now += int64(r.IntN(900))
			if r.IntN(40) == 0 {
				now += int64(r.IntN(60_000)) // a quiet spell: carried bars
			}
			if r.IntN(2) == 0 {
				sd := Buy
				if r.IntN(2) == 0 {
					sd = Sell
				}
				sz := float64(1+r.IntN(500)) / 100
				px := 100 + float64(r.IntN(200))/10
				c := cvd.Add(sd, sz)
				s.AddTrade(Trade{Time: now, Side: sd, Price: px, Size: sz}, c)
				samples = append(samples, sample{t: now, trade: true, side: sd, price: px, size: sz})
			} else {
				o := float64(r.IntN(2001)-1000) / 1000
				s.AddOBI(now, o)
				samples = append(samples, sample{t: now, obi: o})
			}
		}
		bars := s.Bars(0, nil)
		if s.Dropped() != 0 {
			t.Fatalf("seed %d: %d samples dropped", seed, s.Dropped())
		}
		// reference: walk the samples bar by bar
		var refCVD, lastClose, lastOBI float64
		j := 0
		for i, b := range bars {
			if i > 0 && b.Time != bars[i-1].Time+tf.Millis() {
				t.Fatalf("seed %d: bars not contiguous at %d", seed, i)
			}
			var vol, buy, sell float64
			var n, nobi int64
			open, high, low, closep := lastClose, lastClose, lastClose, lastClose
			oo, oh, ol, oc := lastOBI, lastOBI, lastOBI, lastOBI
			for ; j < len(samples) && samples[j].t < b.Time; j++ {
				sm := samples[j]
				if sm.t < b.Time-tf.Millis() {
					t.Fatalf("seed %d: sample at %d before bar %d", seed, sm.t, b.Time)
				}
				if sm.trade {
					if n == 0 {
						open, high, low = sm.price, sm.price, sm.price
					}
					high, low, closep = math.Max(high, sm.price), math.Min(low, sm.price), sm.price
					n++
					vol += sm.size
					if sm.side == Buy {
						buy += sm.size
						refCVD += sm.size
					} else {
						sell += sm.size
						refCVD -= sm.size
					}
				} else {
					if nobi == 0 {
						oo, oh, ol = sm.obi, sm.obi, sm.obi
					}
					oh, ol, oc = math.Max(oh, sm.obi), math.Min(ol, sm.obi), sm.obi
					nobi++
				}
			}
			lastClose, lastOBI = closep, oc
			if i == 0 {
				continue // the first bar has no previous close to carry
			}
			want := FlowBar{Time: b.Time, Open: open, High: high, Low: low, Close: closep, Volume: vol, Trades: n,
				BuyVolume: buy, SellVolume: sell, Delta: buy - sell, CVD: refCVD,
				OBIOpen: oo, OBIHigh: oh, OBILow: ol, OBIClose: oc, OBISamples: nobi}
			if !flowBarNear(b, want) {
				t.Fatalf("seed %d bar %d:\n got %+v\nwant %+v", seed, i, b, want)
			}
		}
		if math.Abs(cvd.Value-refCVD) > 1e-9 {
			t.Fatalf("seed %d: CVD %v, want %v", seed, cvd.Value, refCVD)
		}
	}
}

func flowBarNear(a, b FlowBar) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	return a.Time == b.Time && a.Trades == b.Trades && a.OBISamples == b.OBISamples &&
		near(a.Open, b.Open) && near(a.High, b.High) && near(a.Low, b.Low) && near(a.Close, b.Close) &&
		near(a.Volume, b.Volume) && near(a.BuyVolume, b.BuyVolume) && near(a.SellVolume, b.SellVolume) &&
		near(a.Delta, b.Delta) && near(a.CVD, b.CVD) &&
		near(a.OBIOpen, b.OBIOpen) && near(a.OBIHigh, b.OBIHigh) && near(a.OBILow, b.OBILow) && near(a.OBIClose, b.OBIClose)
}

func TestFlowSeriesRingAndLate(t *testing.T) {
	s := NewFlowSeries(Timeframe(1000), 3)
	for i := int64(0); i < 5; i++ {
		s.AddOBI(i*1000+10, float64(i)/10)
	}
	bars := s.Bars(0, nil)
	if len(bars) != 3 || bars[0].Time != 3000 || bars[2].Time != 5000 || bars[2].OBIClose != 0.4 {
		t.Fatalf("ring kept %+v", bars)
	}
	s.AddOBI(500, 1) // older than everything kept
	if s.Dropped() != 1 {
		t.Fatalf("dropped %d", s.Dropped())
	}
	// a late trade into a kept older bar shifts the CVD of the bars after it
	s.AddTrade(Trade{Time: 3500, Side: Buy, Price: 10, Size: 2}, 2)
	bars = s.Bars(0, nil)
	if bars[1].CVD != 2 || bars[2].CVD != 2 || bars[1].Delta != 2 || bars[2].Delta != 0 {
		t.Fatalf("late trade: %+v", bars)
	}
	s.Advance(9500)
	if last := s.Bars(1, nil)[0]; last.Time != 10000 || last.OBIClose != 0.4 || last.CVD != 2 {
		t.Fatalf("advance: %+v", last)
	}
}

// TestSnapshotFastPathMatchesSlowPath loads sorted snapshots (the fast path) and the same
// levels shuffled (the slow path) and expects identical books.
func TestSnapshotFastPathMatchesSlowPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 200; i++ {
		var bids, asks []Level
		n := r.IntN(30)
		for k := 0; k < n; k++ {
			bids = append(bids, Level{1000 - float64(k) - float64(r.IntN(2))*0.25, float64(1 + r.IntN(9))})
			asks = append(asks, Level{1001 + float64(k), float64(1 + r.IntN(9))})
		}
		fast, slow := NewBook("x", "A"), NewBook("x", "A")
		fast.Apply(BookUpdate{Snapshot: true, Bids: bids, Asks: asks})
		sb, sa := append([]Level(nil), bids...), append([]Level(nil), asks...)
		r.Shuffle(len(sb), func(i, j int) { sb[i], sb[j] = sb[j], sb[i] })
		r.Shuffle(len(sa), func(i, j int) { sa[i], sa[j] = sa[j], sa[i] })
		slow.Apply(BookUpdate{Snapshot: true, Bids: sb, Asks: sa})
		fb, fa := fast.Bids(0, nil), fast.Asks(0, nil)
		gb, ga := slow.Bids(0, nil), slow.Asks(0, nil)
		if len(fb) != n || len(fa) != n || len(gb) != n || len(ga) != n {
			t.Fatalf("lengths %d %d %d %d, want %d", len(fb), len(fa), len(gb), len(ga), n)
		}
		for k := 0; k < n; k++ {
			if fb[k] != gb[k] || fa[k] != ga[k] || fb[k] != bids[k] || fa[k] != asks[k] {
				t.Fatalf("level %d differs: fast %v/%v slow %v/%v", k, fb[k], fa[k], gb[k], ga[k])
			}
		}
	}
}

func TestFlowSeriesAlerts(t *testing.T) {
	s := NewFlowSeries(Timeframe(1000), 10)
	s.AddOBI(100, 0.1)
	s.AddAlert(1500)
	s.AddAlert(1700)
	s.AddAlert(2100)
	bars := s.Bars(0, nil)
	if len(bars) != 3 || bars[0].Alerts != 0 || bars[1].Alerts != 2 || bars[2].Alerts != 1 {
		t.Fatalf("bars %+v", bars)
	}
	if bars[1].OBIClose != 0.1 || bars[1].OBISamples != 0 {
		t.Fatalf("an alert is not an OBI sample: %+v", bars[1])
	}
}
