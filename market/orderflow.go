package market

// Order-flow maths: order book imbalance (OBI) and cumulative volume delta (CVD), as DESIGN.md
// defines them, plus the record type of recorded order-flow streams.

// Imbalance is (vb − va) / (vb + va), 0 when both are 0. With non-negative volumes it lies in
// [−1, 1].
func Imbalance(vb, va float64) float64 {
	s := vb + va
	if s <= 0 {
		return 0
	}
	return (vb - va) / s
}

// SumSize adds the sizes of the first depth levels (depth <= 0: all of them).
func SumSize(levels []Level, depth int) float64 {
	if depth > 0 && depth < len(levels) {
		levels = levels[:depth]
	}
	var v float64
	for i := range levels {
		v += levels[i].Size
	}
	return v
}

// OBI is the order book imbalance of the top depth levels of each side (depth <= 0: all levels).
// bids and asks are best first (bids highest price first, asks lowest first).
//
// Pinned: bids {50000: 10, 49999: 5}, asks {50001: 3, 50002: 2} → 0.5; an empty book → 0;
// bid 2 / ask 8 → −0.6.
func OBI(bids, asks []Level, depth int) float64 {
	return Imbalance(SumSize(bids, depth), SumSize(asks, depth))
}

// SortedBestFirst reports whether one side is already best first with no repeated price.
func SortedBestFirst(side Side, levels []Level) bool {
	for i := 1; i < len(levels); i++ {
		if side == Buy && !(levels[i].Price < levels[i-1].Price) {
			return false
		}
		if side != Buy && !(levels[i].Price > levels[i-1].Price) {
			return false
		}
	}
	return true
}

// CVD is a cumulative volume delta: the running sum of taker-buy size minus taker-sell size.
// Pinned: buy 1.5 then sell 1.0 → 0.5. The zero value starts at 0.
type CVD struct {
	Value float64
}

// Add counts one trade; trades of unknown side change nothing. It returns the new value.
func (c *CVD) Add(side Side, size float64) float64 {
	switch side {
	case Buy:
		c.Value += size
	case Sell:
		c.Value -= size
	}
	return c.Value
}

// Reset sets the CVD back to 0 (a new session or, when configured, a new UTC day).
func (c *CVD) Reset() { c.Value = 0 }

// FlowRecord is one item of a recorded order-flow stream, in the order a reader yields them:
// trades and full book snapshots merged by time, a trade at time t before the first snapshot
// with timestamp ≥ t (so a reader attributes it to that snapshot).
//
// When IsBook, Book is a snapshot (Snapshot true, Bids and Asks best first, Seq the snapshot's
// row id); otherwise Trade is set. A reader may reuse Book's slices: they are valid until the
// next record is read.
type FlowRecord struct {
	IsBook bool
	Book   BookUpdate
	Trade  Trade
}

// Time is the record's time (unix ms).
func (r *FlowRecord) Time() int64 {
	if r.IsBook {
		return r.Book.Time
	}
	return r.Trade.Time
}
