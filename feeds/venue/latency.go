package venue

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Latency is a lock-free histogram of how long the console takes with a frame: from the moment
// the runner has read it off the socket to the moment Session.Handle returns — decoding, the
// book, the engine and the bus publish of everything in it, since the sink runs on the reader
// goroutine. Buckets are log-linear (16 per power of two, so a quantile is exact to 1/16 of
// its value), from 1 ns to about 18 minutes. The zero value is ready; it is safe for concurrent
// use and costs two atomic adds per frame.
type Latency struct {
	counts [latBuckets]atomic.Int64
	n      atomic.Int64
	sum    atomic.Int64
	max    atomic.Int64
}

const (
	latSub     = 16 // buckets per power of two
	latSubBits = 4
	latPowers  = 41 // up to 2^40 ns ≈ 18 min
	latBuckets = latPowers * latSub
)

// latBucket is the bucket of d ns: values below 16 ns get a bucket each; above, the bucket is
// the power of two and the next 4 bits of the value.
func latBucket(d int64) int {
	if d < latSub {
		return int(max(d, 0))
	}
	p := bits.Len64(uint64(d)) - 1 // 2^p ≤ d < 2^(p+1), p ≥ 4
	i := (p-latSubBits+1)*latSub + int((uint64(d)>>(p-latSubBits))&(latSub-1))
	return min(i, latBuckets-1)
}

// latUpper is the largest value of bucket i (a quantile reports it: never under the truth).
func latUpper(i int) int64 {
	if i < latSub {
		return int64(i)
	}
	p := i/latSub + latSubBits - 1
	m := int64(i % latSub)
	return (int64(latSub)+m+1)<<(p-latSubBits) - 1
}

// Observe records one frame's time.
func (l *Latency) Observe(d time.Duration) {
	ns := int64(d)
	l.counts[latBucket(ns)].Add(1)
	l.n.Add(1)
	l.sum.Add(ns)
	for {
		m := l.max.Load()
		if ns <= m || l.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Snapshot copies the histogram (counts read one by one while frames may still arrive).
func (l *Latency) Snapshot() LatencySnapshot {
	var s LatencySnapshot
	for i := range l.counts {
		s.counts[i] = l.counts[i].Load()
		s.N += s.counts[i]
	}
	s.Sum = time.Duration(l.sum.Load())
	s.Max = time.Duration(l.max.Load())
	return s
}

// LatencySnapshot is a copy of a Latency.
type LatencySnapshot struct {
	counts [latBuckets]int64
	N      int64         // frames
	Sum    time.Duration // total time in Handle
	Max    time.Duration
}

// Quantile is the time under which a fraction q of the frames were handled, rounded up to its
// bucket's bound (at most 1/16 above the truth) and never above Max; 0 with no frames.
func (s LatencySnapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(s.N)))
	rank = min(max(rank, 1), s.N)
	var seen int64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(latUpper(i)), s.Max)
		}
	}
	return s.Max
}

// Mean is the average time per frame.
func (s LatencySnapshot) Mean() time.Duration {
	if s.N == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.N)
}
