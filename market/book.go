package market

import "slices"

// Book is an L2 order book: the price levels of each side with their sizes.
//
// Each side is a slice sorted so that the best price is at the end (bids ascending, asks
// descending). Venue updates cluster near the top of the book, so inserts and deletes move few
// elements, and binary search finds a level in ≤ 10 steps at 1000 levels. BenchmarkBookDelta*
// measures it (see the README).
//
// A Book is not safe for concurrent use; the engine guards each symbol's book.
type Book struct {
	Exchange string
	Symbol   Symbol
	Time     int64 // time of the last update applied, unix ms
	Seq      int64 // sequence number of the last update applied

	bids []Level // ascending: best (highest) last
	asks []Level // descending: best (lowest) last
}

// NewBook makes an empty book.
func NewBook(exchange string, sym Symbol) *Book {
	return &Book{Exchange: exchange, Symbol: sym}
}

// Reset empties the book, keeping its memory.
func (b *Book) Reset() {
	b.bids, b.asks = b.bids[:0], b.asks[:0]
	b.Time, b.Seq = 0, 0
}

// Apply applies a snapshot (which replaces the whole book) or a delta (each level replaces the
// level at its price, size 0 deletes it). It returns how many levels it refused because their
// price or size was not a finite number, the price not positive or the size negative; the
// rest of the update is applied.
func (b *Book) Apply(u BookUpdate) (refused int) {
	if u.Snapshot {
		b.bids, b.asks = b.bids[:0], b.asks[:0]
		if b.fastSnapshot(u) {
			b.Time, b.Seq = u.Time, u.Seq
			return 0
		}
	}
	for _, l := range u.Bids {
		if !b.Set(Buy, l.Price, l.Size) {
			refused++
		}
	}
	for _, l := range u.Asks {
		if !b.Set(Sell, l.Price, l.Size) {
			refused++
		}
	}
	b.Time, b.Seq = u.Time, u.Seq
	return refused
}

// fastSnapshot loads a snapshot whose sides are valid, best first and free of repeats (as venues
// send them) by reversing them into the book; it reports false, touching nothing, otherwise.
func (b *Book) fastSnapshot(u BookUpdate) bool {
	if !SortedBestFirst(Buy, u.Bids) || !SortedBestFirst(Sell, u.Asks) {
		return false
	}
	for _, side := range [2][]Level{u.Bids, u.Asks} {
		for _, l := range side {
			if !validLevel(l.Price, l.Size) || l.Size == 0 {
				return false
			}
		}
	}
	for i := len(u.Bids) - 1; i >= 0; i-- {
		b.bids = append(b.bids, u.Bids[i])
	}
	for i := len(u.Asks) - 1; i >= 0; i-- {
		b.asks = append(b.asks, u.Asks[i])
	}
	return true
}

// validLevel reports whether a level may enter a book.
func validLevel(price, size float64) bool {
	return price > 0 && size >= 0 && price-price == 0 && size-size == 0
}

// Set puts size at price on one side (Buy: bids, Sell: asks); size 0 deletes the level.
// It reports false, changing nothing, for a level that is not valid (see Apply).
func (b *Book) Set(side Side, price, size float64) bool {
	if !validLevel(price, size) {
		return false
	}
	if side == Buy {
		b.bids = setLevel(b.bids, price, size, true)
	} else {
		b.asks = setLevel(b.asks, price, size, false)
	}
	return true
}

// setLevel updates a side kept with the best price last. For bids (ascending) the best is the
// highest price; for asks (descending) the lowest.
func setLevel(lv []Level, price, size float64, ascending bool) []Level {
	// Binary search for the first index whose price is not "before" price in the side's order.
	lo, hi := 0, len(lv)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		p := lv[m].Price
		if (ascending && p < price) || (!ascending && p > price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	found := lo < len(lv) && lv[lo].Price == price
	switch {
	case found && size == 0:
		return append(lv[:lo], lv[lo+1:]...)
	case found:
		lv[lo].Size = size
		return lv
	case size == 0:
		return lv
	}
	lv = append(lv, Level{})
	copy(lv[lo+1:], lv[lo:])
	lv[lo] = Level{Price: price, Size: size}
	return lv
}

// Len returns the number of levels on each side.
func (b *Book) Len() (bids, asks int) { return len(b.bids), len(b.asks) }

// Empty reports whether both sides are empty.
func (b *Book) Empty() bool { return len(b.bids) == 0 && len(b.asks) == 0 }

// BestBid is the highest bid.
func (b *Book) BestBid() (Level, bool) {
	if len(b.bids) == 0 {
		return Level{}, false
	}
	return b.bids[len(b.bids)-1], true
}

// BestAsk is the lowest ask.
func (b *Book) BestAsk() (Level, bool) {
	if len(b.asks) == 0 {
		return Level{}, false
	}
	return b.asks[len(b.asks)-1], true
}

// Mid is the mean of the best bid and ask; false unless both sides have a level.
func (b *Book) Mid() (float64, bool) {
	bb, ok1 := b.BestBid()
	ba, ok2 := b.BestAsk()
	if !ok1 || !ok2 {
		return 0, false
	}
	return (bb.Price + ba.Price) / 2, true
}

// Spread is best ask − best bid; false unless both sides have a level. It is ≤ 0 when the
// book is crossed.
func (b *Book) Spread() (float64, bool) {
	bb, ok1 := b.BestBid()
	ba, ok2 := b.BestAsk()
	if !ok1 || !ok2 {
		return 0, false
	}
	return ba.Price - bb.Price, true
}

// Crossed reports whether the best bid is at or above the best ask: a book no venue would
// show, so a sign of a missed update.
func (b *Book) Crossed() bool {
	s, ok := b.Spread()
	return ok && s <= 0
}

// SortLevels sorts one side best first (Buy: price descending, Sell: ascending), stably: of
// two equal prices the one listed later stays later, so applying the sorted levels in order
// leaves a book as applying them as listed would. A side already best first is left as it is.
func SortLevels(side Side, lv []Level) {
	if SortedBestFirst(side, lv) {
		return
	}
	slices.SortStableFunc(lv, func(a, b Level) int {
		x, y := a.Price, b.Price
		if side == Buy {
			x, y = y, x
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
}

// Bids appends up to n bids, best first, to dst (n <= 0: all of them).
func (b *Book) Bids(n int, dst []Level) []Level { return topLevels(b.bids, n, dst) }

// Asks appends up to n asks, best first, to dst (n <= 0: all of them).
func (b *Book) Asks(n int, dst []Level) []Level { return topLevels(b.asks, n, dst) }

func topLevels(lv []Level, n int, dst []Level) []Level {
	if n <= 0 || n > len(lv) {
		n = len(lv)
	}
	for i := len(lv) - 1; i >= len(lv)-n; i-- {
		dst = append(dst, lv[i])
	}
	return dst
}

// Volumes sums the sizes of the top depth levels of each side (depth <= 0: all levels).
func (b *Book) Volumes(depth int) (vb, va float64) {
	return sumTop(b.bids, depth), sumTop(b.asks, depth)
}

func sumTop(lv []Level, depth int) float64 {
	start := 0
	if depth > 0 && depth < len(lv) {
		start = len(lv) - depth
	}
	var v float64
	for i := len(lv) - 1; i >= start; i-- {
		v += lv[i].Size
	}
	return v
}

// OBI is the book's order book imbalance over the top depth levels of each side (depth <= 0:
// all levels); see OBI.
func (b *Book) OBI(depth int) float64 { return Imbalance(b.Volumes(depth)) }
