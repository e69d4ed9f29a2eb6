package market

import (
	"math/rand/v2"
	"testing"
)

// bookWithLevels makes a book with n levels a side, 0.5 apart around 50000.
func bookWithLevels(n int) *Book {
	b := NewBook("x", "BTCUSDT")
	u := BookUpdate{Snapshot: true}
	for i := 0; i < n; i++ {
		u.Bids = append(u.Bids, Level{50000 - float64(i)*0.5, 1 + float64(i%7)})
		u.Asks = append(u.Asks, Level{50000.5 + float64(i)*0.5, 1 + float64(i%5)})
	}
	b.Apply(u)
	return b
}

// deltaStream makes single-level deltas for a 1000-level book the way venues send them:
// mostly near the top (distance from the best drawn from an exponential with mean 40 levels),
// a third deletes that are re-inserted later, the rest size changes. The book stays near n
// levels a side.
func deltaStream(n, count int, uniform bool) []BookUpdate {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]BookUpdate, count)
	for i := range out {
		var k int
		if uniform {
			k = r.IntN(n)
		} else {
			k = min(int(r.ExpFloat64()*40), n-1)
		}
		size := float64(1 + r.IntN(9))
		if r.IntN(3) == 0 {
			size = 0
		}
		if r.IntN(2) == 0 {
			out[i] = BookUpdate{Bids: []Level{{50000 - float64(k)*0.5, size}}}
		} else {
			out[i] = BookUpdate{Asks: []Level{{50000.5 + float64(k)*0.5, size}}}
		}
	}
	return out
}

func benchDelta(b *testing.B, uniform bool) {
	book := bookWithLevels(1000)
	ds := deltaStream(1000, 1<<16, uniform)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		book.Apply(ds[i&(1<<16-1)])
	}
	b.StopTimer()
	if nb, na := book.Len(); nb < 500 || na < 500 {
		b.Fatalf("book shrank to %d/%d levels", nb, na)
	}
}

// BenchmarkBookDelta1000 applies one-level deltas concentrated near the top of a 1000-level
// book (target ≤ 200 ns per delta).
func BenchmarkBookDelta1000(b *testing.B) { benchDelta(b, false) }

// BenchmarkBookDelta1000Uniform is the worst case: deltas anywhere in the 1000 levels, so an
// insert or delete moves half a side on average.
func BenchmarkBookDelta1000Uniform(b *testing.B) { benchDelta(b, true) }

// BenchmarkOBI20 computes OBI over the top 20 levels of a 1000-level book (target ≥ 10 M/s).
func BenchmarkOBI20(b *testing.B) {
	book := bookWithLevels(1000)
	var sum float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum += book.OBI(20)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "M/s")
	if sum != sum {
		b.Fatal("NaN")
	}
}

// BenchmarkOBI20Levels computes OBI from best-first level slices (the order-flow file path).
func BenchmarkOBI20Levels(b *testing.B) {
	book := bookWithLevels(20)
	bids, asks := book.Bids(0, nil), book.Asks(0, nil)
	var sum float64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sum += OBI(bids, asks, 20)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "M/s")
	if sum != sum {
		b.Fatal("NaN")
	}
}

// BenchmarkBookSnapshot20 replaces a book with a 20-level snapshot.
func BenchmarkBookSnapshot20(b *testing.B) {
	src := bookWithLevels(20)
	u := BookUpdate{Snapshot: true, Bids: src.Bids(0, nil), Asks: src.Asks(0, nil)}
	book := NewBook("x", "A")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		book.Apply(u)
	}
}
