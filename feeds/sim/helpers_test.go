package sim

import (
	"fmt"
	"math"
	"sort"

	"github.com/tradeconsole/tradeconsole/market"
)

// refBook is a deliberately simple map-based L2 book that applies snapshots and deltas.
type refBook struct {
	bids, asks       map[float64]float64
	seq              int64
	ok               bool
	bestBid, bestAsk float64 // recomputed by apply
}

func newRefBook() *refBook {
	return &refBook{bids: map[float64]float64{}, asks: map[float64]float64{}}
}

func (b *refBook) apply(u *market.BookUpdate) error {
	if u.Snapshot {
		clear(b.bids)
		clear(b.asks)
		b.ok = true
	} else {
		if !b.ok {
			return fmt.Errorf("delta seq %d before any snapshot", u.Seq)
		}
		if u.Seq != b.seq+1 {
			return fmt.Errorf("seq %d after %d", u.Seq, b.seq)
		}
	}
	b.seq = u.Seq
	if err := sortedLevels(u.Bids, true); err != nil {
		return fmt.Errorf("bids: %w", err)
	}
	if err := sortedLevels(u.Asks, false); err != nil {
		return fmt.Errorf("asks: %w", err)
	}
	for _, l := range u.Bids {
		set(b.bids, l)
	}
	for _, l := range u.Asks {
		set(b.asks, l)
	}
	b.bestBid, b.bestAsk = math.Inf(-1), math.Inf(1)
	for p := range b.bids {
		b.bestBid = max(b.bestBid, p)
	}
	for p := range b.asks {
		b.bestAsk = min(b.bestAsk, p)
	}
	return nil
}

func sortedLevels(ls []market.Level, desc bool) error {
	for i := 1; i < len(ls); i++ {
		if desc && !(ls[i].Price < ls[i-1].Price) || !desc && !(ls[i].Price > ls[i-1].Price) {
			return fmt.Errorf("levels not sorted best first at %d: %v then %v", i, ls[i-1].Price, ls[i].Price)
		}
	}
	return nil
}

func set(m map[float64]float64, l market.Level) {
	if l.Size == 0 {
		delete(m, l.Price)
	} else {
		m[l.Price] = l.Size
	}
}

func (b *refBook) best() (bid, ask float64) { return b.bestBid, b.bestAsk }

func (b *refBook) mid() float64 {
	bid, ask := b.best()
	return (bid + ask) / 2
}

// obi is (Vb − Va)/(Vb + Va) over the top depth levels of each side.
func (b *refBook) obi(depth int) float64 {
	top := func(m map[float64]float64, desc bool) float64 {
		ps := make([]float64, 0, len(m))
		for p := range m {
			ps = append(ps, p)
		}
		if desc {
			sort.Sort(sort.Reverse(sort.Float64Slice(ps)))
		} else {
			sort.Float64s(ps)
		}
		v := 0.0
		for i := 0; i < depth && i < len(ps); i++ {
			v += m[ps[i]]
		}
		return v
	}
	vb, va := top(b.bids, true), top(b.asks, false)
	if vb+va == 0 {
		return 0
	}
	return (vb - va) / (vb + va)
}

func corr(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

// obiLead generates hours of sim time for cfg and returns, per symbol, the correlation between
// the top-10 OBI sampled every second and the mid's log return over the next horizon.
func obiLead(cfg Config, hours float64, horizon int64) (map[market.Symbol]float64, error) {
	g, err := NewGenerator(cfg)
	if err != nil {
		return nil, err
	}
	books := map[market.Symbol]*refBook{}
	type sample struct{ obi, mid float64 }
	samples := map[market.Symbol][]sample{}
	end := g.cfg.Start + int64(hours*3600e3)
	nextSample := map[market.Symbol]int64{}
	for {
		ev := g.Next()
		if ev.Time >= end {
			break
		}
		if ev.Book == nil {
			continue
		}
		sym := ev.Book.Symbol
		b := books[sym]
		if b == nil {
			b = newRefBook()
			books[sym] = b
			nextSample[sym] = ev.Time
		}
		if err := b.apply(ev.Book); err != nil {
			return nil, err
		}
		for ev.Time >= nextSample[sym] {
			samples[sym] = append(samples[sym], sample{b.obi(10), b.mid()})
			nextSample[sym] += 1000
		}
	}
	out := map[market.Symbol]float64{}
	for sym, ss := range samples {
		var xs, ys []float64
		for i := 0; i+int(horizon) < len(ss); i++ {
			xs = append(xs, ss[i].obi)
			ys = append(ys, math.Log(ss[i+int(horizon)].mid/ss[i].mid))
		}
		out[sym] = corr(xs, ys)
	}
	return out, nil
}

// expectedTrades is the expected number of live trades of sym in [from, to) (unix ms) at
// rate trades per second at activity one: the integral of rate·A.
func expectedTrades(seed int64, sym market.Symbol, rate float64, from, to int64) float64 {
	ac := newActivity(seed, sym, paramsFor(sym))
	var n float64
	for t := from; t < to; {
		T := market.TF1m.End(t)
		n += rate * ac.at(T) * float64(min(T, to)-t) / 1000
		t = T
	}
	return n
}
