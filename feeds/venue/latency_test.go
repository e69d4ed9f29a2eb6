package venue

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLatencyBucketsCoverEveryValue(t *testing.T) {
	// Every value falls in a bucket whose bound is at least the value and at most 1/16 above it,
	// and buckets rise with the value.
	prev := -1
	for _, d := range []int64{0, 1, 15, 16, 17, 31, 32, 33, 100, 999, 1000, 1023, 1024, 65_535, 1_000_000, 123_456_789, 1 << 39, 1<<40 - 1} {
		i := latBucket(d)
		if i < prev {
			t.Fatalf("bucket of %d is %d, below the previous value's %d", d, i, prev)
		}
		prev = i
		up := latUpper(i)
		if up < d || float64(up-d) > float64(d)/16+1 {
			t.Fatalf("%d ns: bucket %d bound %d (want within [%d, %d])", d, i, up, d, d+d/16+1)
		}
		if i > 0 && latUpper(i-1) >= d {
			t.Fatalf("%d ns: bucket %d, but the bucket below ends at %d", d, i, latUpper(i-1))
		}
	}
	if got := latBucket(1 << 50); got != latBuckets-1 {
		t.Fatalf("an hour lands in bucket %d, want the last (%d)", got, latBuckets-1)
	}
}

func TestLatencyQuantilesMatchSortedSample(t *testing.T) {
	var l Latency
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]time.Duration, 0, 10_000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		vals := make([]time.Duration, 2500)
		for i := range vals {
			vals[i] = time.Duration(r.ExpFloat64() * float64(50*time.Microsecond))
		}
		xs = append(xs, vals...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range vals {
				l.Observe(v)
			}
		}()
	}
	wg.Wait()
	slices.Sort(xs)
	s := l.Snapshot()
	if s.N != int64(len(xs)) || s.Max != xs[len(xs)-1] {
		t.Fatalf("N %d max %s, want %d and %s", s.N, s.Max, len(xs), xs[len(xs)-1])
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := xs[min(len(xs)-1, int(q*float64(len(xs)))-1)]
		if q*float64(len(xs)) < 1 {
			want = xs[0]
		}
		got := s.Quantile(q)
		if got < want || float64(got-want) > float64(want)/16+1 {
			t.Errorf("p%g = %s, the sample's is %s (want at most 1/16 above)", q*100, got, want)
		}
	}
	var empty LatencySnapshot
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Fatal("an empty histogram reports a latency")
	}
}
