package binance

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
)

// BenchmarkBinanceDecodeApply decodes and applies realistic depth diffs (combined-stream
// frames of about 5 levels, precomputed bytes) through Handle's code path over a synced book
// of 1000 levels a side, emitting each delta to a sink.
func BenchmarkBinanceDecodeApply(b *testing.B) {
	u := newUnit(b)
	em := venue.NewEmitter(Name, venuetest.Discard{}, nil, u.f.Now)
	u.s.em, u.s.g.em = em, em
	const mid, tick = 60000.0, 0.01
	var bids, asks [][2]float64
	for i := 1; i <= 1000; i++ {
		bids = append(bids, [2]float64{mid - tick*float64(i), 0.5 + float64(i%7)})
		asks = append(asks, [2]float64{mid + tick*float64(i), 0.5 + float64(i%5)})
	}
	u.s.mu.Lock()
	st := u.s.bySym["BTCUSDT"]
	u.s.load(st, snap(1_000_000, bids, asks))
	u.s.mu.Unlock()

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	frames := make([][]byte, n)
	id := int64(1_000_001)
	for i := range frames {
		var b, a [][2]string
		for k := 3 + rng.IntN(5); k > 0; k-- { // 3…7 levels, 5 on average
			size := strconv.FormatFloat(rng.Float64()*4, 'f', 8, 64)
			if rng.IntN(8) == 0 {
				size = "0.00000000"
			}
			lvl := 1 + rng.IntN(200)
			if rng.IntN(2) == 0 {
				b = append(b, [2]string{strconv.FormatFloat(mid-tick*float64(lvl), 'f', 8, 64), size})
			} else {
				a = append(a, [2]string{strconv.FormatFloat(mid+tick*float64(lvl), 'f', 8, 64), size})
			}
		}
		last := id + int64(rng.IntN(3))
		frames[i] = []byte(depthFrame("BTCUSDT", id, last, b, a))
		id = last + 1
	}
	first := int64(1_000_001)
	bytesTotal := 0
	for _, f := range frames {
		bytesTotal += len(f)
	}
	b.SetBytes(int64(bytesTotal / n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		if j == 0 && i > 0 {
			u.s.mu.Lock()
			st.local = first - 1 // replay the frames as new updates
			u.s.mu.Unlock()
		}
		if err := u.s.handle(frames[j]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	if !st.synced || st.book.Crossed() {
		b.Fatalf("book lost: synced %v", st.synced)
	}
}
