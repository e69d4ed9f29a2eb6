package okx

import (
	"hash/crc32"
	"slices"
	"strconv"

	"github.com/tradeconsole/tradeconsole/market"
)

// numStr is a price or size exactly as the venue wrote it, kept inline so that a book update
// allocates nothing (the checksum hashes these strings).
type numStr struct {
	n uint8
	b [maxNum]byte
}

// maxNum is the longest number string accepted; OKX writes at most ~20 characters.
const maxNum = 31

func (s *numStr) set(b []byte) { s.n = uint8(copy(s.b[:], b)) }

func (s *numStr) bytes() []byte { return s.b[:s.n] }

func (s *numStr) String() string { return string(s.b[:s.n]) }

// wlevel is one book level: parsed values and the wire strings.
type wlevel struct {
	px, sz float64
	p, s   numStr
}

// book is an OKX L2 book that keeps the venue's strings. Each side is sorted with the best
// price last (bids ascending, asks descending), as market.Book does: updates cluster at the
// top, so inserts and deletes move few elements.
type book struct {
	bids []wlevel
	asks []wlevel
}

func (b *book) reset() { b.bids, b.asks = b.bids[:0], b.asks[:0] }

// load replaces the book with a snapshot's levels (any order; later repeats win; size 0 is
// skipped).
func (b *book) load(bids, asks []wlevel) {
	b.bids = loadSide(b.bids[:0], bids, true)
	b.asks = loadSide(b.asks[:0], asks, false)
}

func loadSide(dst, src []wlevel, bid bool) []wlevel {
	for i := range src {
		if src[i].sz > 0 {
			dst = append(dst, src[i])
		}
	}
	// Stable, so that of two equal prices the later one stays later; then keep the later one.
	slices.SortStableFunc(dst, func(x, y wlevel) int {
		a, c := x.px, y.px
		if !bid {
			a, c = c, a
		}
		switch {
		case a < c:
			return -1
		case a > c:
			return 1
		}
		return 0
	})
	out := dst[:0]
	for i := range dst {
		if len(out) > 0 && out[len(out)-1].px == dst[i].px {
			out[len(out)-1] = dst[i]
			continue
		}
		out = append(out, dst[i])
	}
	return out
}

// apply sets each level (size 0 deletes).
func (b *book) apply(bids, asks []wlevel) {
	for i := range bids {
		b.bids = setLevel(b.bids, &bids[i], true)
	}
	for i := range asks {
		b.asks = setLevel(b.asks, &asks[i], false)
	}
}

// setLevel updates a side kept with the best price last (bids ascending, asks descending).
func setLevel(lv []wlevel, l *wlevel, ascending bool) []wlevel {
	price := l.px
	lo, hi := 0, len(lv)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		p := lv[m].px
		if (ascending && p < price) || (!ascending && p > price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	found := lo < len(lv) && lv[lo].px == price
	switch {
	case found && l.sz == 0:
		return append(lv[:lo], lv[lo+1:]...)
	case found:
		lv[lo] = *l
		return lv
	case l.sz == 0:
		return lv
	}
	lv = append(lv, wlevel{})
	copy(lv[lo+1:], lv[lo:])
	lv[lo] = *l
	return lv
}

// crossed reports whether the best bid is at or above the best ask.
func (b *book) crossed() bool {
	if len(b.bids) == 0 || len(b.asks) == 0 {
		return false
	}
	return b.bids[len(b.bids)-1].px >= b.asks[len(b.asks)-1].px
}

func (b *book) bestBid() (wlevel, bool) {
	if len(b.bids) == 0 {
		return wlevel{}, false
	}
	return b.bids[len(b.bids)-1], true
}

func (b *book) bestAsk() (wlevel, bool) {
	if len(b.asks) == 0 {
		return wlevel{}, false
	}
	return b.asks[len(b.asks)-1], true
}

// checksumDepth is how many levels of each side the OKX checksum covers.
const checksumDepth = 25

// checksumString appends the checksum pre-image to dst: the best 25 bids and asks as
// price:size with the wire strings, interleaved bid, ask, bid, ask…, joined by ':'.
func (b *book) checksumString(dst []byte) []byte {
	nb, na := min(len(b.bids), checksumDepth), min(len(b.asks), checksumDepth)
	start := len(dst)
	for i := 0; i < max(nb, na); i++ {
		if i < nb {
			l := &b.bids[len(b.bids)-1-i]
			dst = append(dst, l.p.bytes()...)
			dst = append(dst, ':')
			dst = append(dst, l.s.bytes()...)
			dst = append(dst, ':')
		}
		if i < na {
			l := &b.asks[len(b.asks)-1-i]
			dst = append(dst, l.p.bytes()...)
			dst = append(dst, ':')
			dst = append(dst, l.s.bytes()...)
			dst = append(dst, ':')
		}
	}
	if len(dst) > start {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// checksum is OKX's book checksum: CRC-32 (IEEE) of the pre-image as a signed int32. buf is
// scratch space, returned for reuse.
func (b *book) checksum(buf []byte) (int32, []byte) {
	buf = b.checksumString(buf[:0])
	return int32(crc32.ChecksumIEEE(buf)), buf
}

// Checksum computes OKX's book checksum of a book given best first on each side, with the
// venue's price and size strings: exported for tools and tests.
func Checksum(bids, asks [][2]string) int32 {
	// The book keeps each side worst first.
	side := func(ls [][2]string) []wlevel {
		ws := make([]wlevel, len(ls))
		for i, l := range ls {
			w := &ws[len(ls)-1-i]
			w.px, _ = strconv.ParseFloat(l[0], 64)
			w.p.set([]byte(l[0]))
			w.s.set([]byte(l[1]))
			w.sz = 1
		}
		return ws
	}
	b := book{bids: side(bids), asks: side(asks)}
	sum, _ := b.checksum(nil)
	return sum
}

// levels appends the book, best first on each side, as market levels: one allocation.
func (b *book) levels() (bids, asks []market.Level) {
	all := make([]market.Level, len(b.bids)+len(b.asks))
	bids, asks = all[:len(b.bids):len(b.bids)], all[len(b.bids):]
	for i := range b.bids {
		l := &b.bids[len(b.bids)-1-i]
		bids[i] = market.Level{Price: l.px, Size: l.sz}
	}
	for i := range b.asks {
		l := &b.asks[len(b.asks)-1-i]
		asks[i] = market.Level{Price: l.px, Size: l.sz}
	}
	return bids, asks
}

// pow10 are the exact powers of ten a float64 holds.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal parses a plain non-negative decimal ("30243.5", "0.00001", "7"), the only
// number shape OKX writes, correctly rounded (as strconv.ParseFloat) and without allocating
// on the common path. It refuses anything else: signs, exponents, hex, NaN, empty, too long.
func parseDecimal(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > maxNum {
		return 0, false
	}
	var mant uint64
	digits, frac := 0, -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if mant == 0 && c == '0' {
				// leading zeros add no precision
			} else {
				digits++
			}
			mant = mant*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0 && i > 0 && i < len(b)-1:
			frac = 0
		default:
			return 0, false
		}
	}
	if frac < 0 {
		frac = 0
	}
	if digits <= 15 && frac < len(pow10) {
		// Exact mantissa below 2^53 and an exact power of ten: one correctly rounded division.
		return float64(mant) / pow10[frac], true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// parseInt parses a non-negative decimal integer (a ts or an id written as a string).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
