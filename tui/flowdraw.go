package tui

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// Drawing of the order-flow views: the order-book ladder, signed bar charts (OBI, CVD) and
// volume bars. They are drawn by hand rather than with ntcharts: ntcharts' sparkline clamps
// negative values, and a streamlinechart rebuild per frame costs more than these few loops.
// Every cell is one rune; colour runs are written with the theme's precomputed escapes.

// painter writes one line of cells in colour runs: consecutive cells of one class share one
// escape sequence, and blanks do not break a run (unless it has a background).
type painter struct {
	st  *Styles
	b   strings.Builder
	cur cls
}

func newPainter(st *Styles) *painter { return &painter{st: st, cur: noCls} }

func (p *painter) to(c cls) {
	if c == p.cur {
		return
	}
	if p.cur != noCls {
		p.b.WriteString(p.st.suf[p.cur])
	}
	p.b.WriteString(p.st.pre[c])
	p.cur = c
}

// cell writes one rune in class c.
func (p *painter) cell(c cls, r rune) {
	if r == ' ' || r == 0 {
		if p.cur == cAlert {
			p.to(cPlain)
		}
		p.b.WriteByte(' ')
		return
	}
	p.to(c)
	p.b.WriteRune(r)
}

// text writes s (no escape sequences) in class c.
func (p *painter) text(c cls, s string) {
	if s == "" {
		return
	}
	p.to(c)
	p.b.WriteString(s)
}

// blanks writes n spaces.
func (p *painter) blanks(n int) {
	for ; n > 0; n-- {
		p.cell(cPlain, ' ')
	}
}

// line ends the line and returns it; the painter is then empty.
func (p *painter) line() string {
	if p.cur != noCls {
		p.b.WriteString(p.st.suf[p.cur])
	}
	s := p.b.String()
	p.b.Reset()
	p.cur = noCls
	return s
}

// rowBuf is a line of cells drawn out of order (a rule with text and markers on it).
type rowBuf struct {
	r []rune
	c []cls
}

func (b *rowBuf) reset(w int, r rune, c cls) {
	b.r, b.c = b.r[:0], b.c[:0]
	for i := 0; i < w; i++ {
		b.r = append(b.r, r)
		b.c = append(b.c, c)
	}
}

func (b *rowBuf) set(i int, r rune, c cls) {
	if i >= 0 && i < len(b.r) {
		b.r[i], b.c[i] = r, c
	}
}

// text writes s from cell i on (one rune per cell; s must be single-width text).
func (b *rowBuf) text(i int, s string, c cls) int {
	for _, r := range s {
		b.set(i, r, c)
		i++
	}
	return i
}

func (b *rowBuf) paint(p *painter) {
	for i, r := range b.r {
		p.cell(b.c[i], r)
	}
}

// ---- signed bar charts ----

// signedScale lays out a signed bar chart of h rows for values in [lo, hi]: the zero row z
// and unit, the value of half a row. The zero line runs through the middle of row z, so each
// side has 1 + 2·rows half-rows; z is placed where both sides' scales best fit the data (the
// middle row for a symmetric range, the bottom row for values that are all positive).
func signedScale(h int, lo, hi float64) (z int, unit float64) {
	if h <= 0 {
		return 0, 1
	}
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	z = (h - 1) / 2
	fit := func(k int) float64 {
		return math.Max(hi/float64(1+2*k), -lo/float64(1+2*(h-1-k)))
	}
	unit = fit(z)
	for k := 0; k < h; k++ {
		if u := fit(k); u < unit-1e-12 {
			z, unit = k, u
		}
	}
	if !(unit > 0) || math.IsInf(unit, 0) {
		unit = 1
	}
	return z, unit
}

// signedRune is the cell at row r (0 = top) of the bar of value v in a chart with zero row z
// and the given unit. The zero row holds the first half-row of each side: ▀ (positive: from
// the zero line up), ▄ (negative: from the zero line down) or ─ (zero: the zero line itself);
// the rows above fill with ▄ and █, the rows below with ▀ and █. So the sign reads from the
// shape alone, without colour.
func signedRune(v float64, r, z int, unit float64) rune {
	halves := 0
	if a := math.Abs(v) / unit; a == a && !math.IsInf(a, 0) {
		halves = int(math.Round(math.Min(a, 1e6)))
	}
	switch {
	case r == z:
		switch {
		case halves == 0:
			return '─'
		case v > 0:
			return '▀'
		}
		return '▄'
	case halves == 0:
		return ' '
	case r < z:
		if v <= 0 {
			return ' '
		}
		d := z - r
		switch {
		case halves >= 2*d+1:
			return '█'
		case halves == 2*d:
			return '▄'
		}
	default:
		if v >= 0 {
			return ' '
		}
		d := r - z
		switch {
		case halves >= 2*d+1:
			return '█'
		case halves == 2*d:
			return '▀'
		}
	}
	return ' '
}

// thresholdRow is the row that holds the level v (≠ 0) in a chart with zero row z and unit,
// or -1 when it is in the zero row or off the chart.
func thresholdRow(v float64, h, z int, unit float64) int {
	k := int(math.Ceil(math.Abs(v)/unit - 1e-9)) // the half-row the level falls in, from 1
	if k <= 1 {
		return -1
	}
	r := z + k/2
	if v > 0 {
		r = z - k/2
	}
	if r < 0 || r >= h {
		return -1
	}
	return r
}

// signedChart is one signed bar chart: a gutter of labelW cells (labels right-aligned), an
// axis column when axis is set, and one column per value, blank past the last value.
type signedChart struct {
	vals   []float64
	h, gw  int
	lo, hi float64 // the range shown; it always includes 0
	thresh float64 // > 0: dashed rows at ±thresh (from 5 rows on)
	labelW int     // gutter width; 1 writes only the signs: + top, 0 zero row, - bottom
	axis   bool
	label  func(v float64, w int) string // gutter label of a value; nil: fmtAxis
}

// lines renders the chart: exactly h lines of labelW + axis + gw cells.
func (s *signedChart) lines(st *Styles) []string {
	out := make([]string, 0, s.h)
	if s.h <= 0 {
		return out
	}
	z, unit := signedScale(s.h, s.lo, s.hi)
	labels := make([]string, s.h)
	thr := make([]bool, s.h)
	format := s.label
	if format == nil {
		format = fmtAxis
	}
	if s.labelW == 1 {
		if z > 0 {
			labels[0] = "+"
		}
		if z < s.h-1 {
			labels[s.h-1] = "-"
		}
	} else if s.labelW > 1 {
		if z > 0 {
			labels[0] = format(float64(1+2*z)*unit, s.labelW)
		}
		if z < s.h-1 {
			labels[s.h-1] = format(-float64(1+2*(s.h-1-z))*unit, s.labelW)
		}
	}
	if s.thresh > 0 && s.h >= 5 { // in fewer rows a threshold row would be an edge row
		for _, t := range []float64{s.thresh, -s.thresh} {
			if r := thresholdRow(t, s.h, z, unit); r >= 0 {
				thr[r] = true
				if s.labelW > 1 {
					if l := format(t, s.labelW); l != "" {
						labels[r] = l
					}
				}
			}
		}
	}
	if s.labelW > 0 {
		labels[z] = "0"
	}
	p := newPainter(st)
	n := min(len(s.vals), s.gw)
	for r := 0; r < s.h; r++ {
		if s.labelW > 0 {
			l := labels[r]
			if len(l) > s.labelW {
				l = ""
			}
			p.blanks(s.labelW - len(l))
			p.text(cMuted, l)
		}
		if s.axis {
			a := '│'
			if r == z {
				a = '┤'
			}
			p.cell(cMuted, a)
		}
		for j := 0; j < n; j++ {
			v := s.vals[j]
			c := signedRune(v, r, z, unit)
			switch {
			case c == '─':
				p.cell(cMuted, c)
			case c != ' ' && v > 0:
				p.cell(cUp, c)
			case c != ' ':
				p.cell(cDown, c)
			case thr[r]:
				p.cell(cWarn, '┄')
			default:
				p.cell(cPlain, ' ')
			}
		}
		p.blanks(s.gw - n)
		out = append(out, p.line())
	}
	return out
}

// fmtAxis formats an axis label of at most w cells ("" when nothing fits): +12.35, -3.200,
// +1.2k, 0.
func fmtAxis(v float64, w int) string {
	if v == 0 {
		return "0"
	}
	if s := fmtSignedQty(v); len(s) <= w {
		return s
	}
	sign := "+"
	if v < 0 {
		sign = "-"
	}
	a := math.Abs(v)
	for _, u := range []struct {
		div float64
		suf string
	}{{1, ""}, {1e3, "k"}, {1e6, "M"}, {1e9, "B"}} {
		for dec := 2; dec >= 0; dec-- {
			if s := sign + strconv.FormatFloat(a/u.div, 'f', dec, 64) + u.suf; len(s) <= w {
				return s
			}
		}
	}
	return ""
}

// fmtSignedQty is fmtQty with an explicit + on positive values.
func fmtSignedQty(v float64) string {
	if v > 0 {
		return "+" + fmtQty(v)
	}
	return fmtQty(v)
}

// fmtOBI formats an order book imbalance: +0.42, -0.07.
func fmtOBI(v float64) string { return fmtSigned(v, 2) }

// fmtDepth names the OBI depth: d10, or "all" levels.
func fmtDepth(d int) string {
	if d <= 0 {
		return "all lvls"
	}
	return "d" + strconv.Itoa(d)
}

// fmtWindow names a bar width: 1s, 15s, 1m, 5m, 1h (else Go's duration text).
func fmtWindow(d time.Duration) string {
	switch {
	case d <= 0:
		return "?"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// alertMarker is the text-visible marker of an active OBI alert: ▲ ALERT above the positive
// threshold, ▼ ALERT below the negative one.
func alertMarker(obi float64) string {
	if obi < 0 {
		return "▼ ALERT"
	}
	return "▲ ALERT"
}

// ---- volume bars ----

// volumeLines renders one volume bar per flow bar (in eighths of a row), coloured by the
// bar's direction: exactly h lines of labelW + 1 (axis) + gw cells. The gutter shows the
// largest volume on the top row.
func volumeLines(st *Styles, bars []market.FlowBar, h, labelW, gw int) []string {
	out := make([]string, 0, h)
	n := min(len(bars), gw)
	maxVol := 0.0
	for _, b := range bars[:n] {
		maxVol = math.Max(maxVol, b.Volume)
	}
	p := newPainter(st)
	for r := 0; r < h; r++ {
		l := ""
		if r == 0 && maxVol > 0 {
			l = fmtQty(maxVol)
		}
		if len(l) > labelW {
			l = ""
		}
		p.blanks(labelW - len(l))
		p.text(cMuted, l)
		p.cell(cMuted, '│')
		from := h - 1 - r // eighths below this row: from*8
		for _, b := range bars[:n] {
			e := 0
			if maxVol > 0 {
				e = int(math.Round(b.Volume / maxVol * float64(h*8)))
				if b.Volume > 0 && e == 0 {
					e = 1
				}
			}
			e -= from * 8
			k := cVolUp
			if b.Close < b.Open {
				k = cVolDown
			}
			switch {
			case e <= 0:
				p.cell(cPlain, ' ')
			case e >= 8:
				p.cell(k, '█')
			default:
				p.cell(k, volRunes[e])
			}
		}
		p.blanks(gw - n)
		out = append(out, p.line())
	}
	return out
}

// ---- order-book ladder ----

// leftEighths are horizontal bars of 1 … 7 eighths of a cell.
var leftEighths = [8]rune{' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'}

// ladderLines renders the order book in exactly h lines of w cells: asks above (the best ask
// lowest), a spread line, bids below (the best bid highest), as many levels as fit, each with
// a depth bar proportional to its size (the largest level shown fills the bar column). The
// best levels are marked ▸ and bold; a crossed book turns the spread line into a warning.
func ladderLines(st *Styles, f engine.OrderFlow, bids, asks []market.Level, w, h int) []string {
	out := make([]string, 0, h)
	blank := strings.Repeat(" ", max(w, 0))
	if w <= 0 || h <= 0 {
		return out
	}
	head := h >= 5
	n := (h - 1) / 2
	if head {
		n = (h - 2) / 2
	}
	bids, asks = bids[:min(len(bids), n)], asks[:min(len(asks), n)]

	ref := f.Mid
	switch {
	case len(bids) > 0:
		ref = bids[0].Price
	case len(asks) > 0:
		ref = asks[0].Price
	}
	dec := priceDecimals(ref)
	pw, sw, maxSize := 5, 4, 0.0
	for _, side := range [][]market.Level{bids, asks} {
		for _, l := range side {
			pw = max(pw, len(fmtPrice(l.Price, dec)))
			sw = max(sw, len(fmtQty(l.Size)))
			maxSize = math.Max(maxSize, l.Size)
		}
	}
	showSize := 1+pw+1+sw <= w
	bw := w - 1 - pw
	if showSize {
		bw -= 1 + sw
	}
	bw-- // the space before the bar
	p := newPainter(st)
	level := func(l market.Level, best, bid bool) string {
		pc, bc := cDown, cVolDown
		if bid {
			pc, bc = cUp, cVolUp
		}
		if best {
			p.cell(cLast, '▸')
			if bid {
				pc = cBestBid
			} else {
				pc = cBestAsk
			}
		} else {
			p.cell(cPlain, ' ')
		}
		p.text(pc, padLeft(fmtPrice(l.Price, dec), pw))
		if showSize {
			p.cell(cPlain, ' ')
			p.text(cPlain, padLeft(fmtQty(l.Size), sw))
		}
		if bw > 0 {
			p.cell(cPlain, ' ')
			e := 0
			if maxSize > 0 {
				e = int(math.Round(l.Size / maxSize * float64(bw*8)))
				if l.Size > 0 && e == 0 {
					e = 1
				}
			}
			for i := 0; i < bw; i++ {
				switch {
				case e >= 8:
					p.cell(bc, '█')
				case e > 0:
					p.cell(bc, leftEighths[e])
				default:
					p.cell(cPlain, ' ')
				}
				e -= 8
			}
		}
		return fit(p.line(), w)
	}

	if head {
		p.cell(cPlain, ' ')
		p.text(cHead, padLeft("price", pw))
		if showSize {
			p.text(cHead, " "+padLeft("size", sw))
		}
		if bw >= 5 {
			p.text(cHead, " depth")
		}
		out = append(out, fit(p.line(), w))
	}
	for i := n - 1; i >= 0; i-- {
		if i < len(asks) {
			out = append(out, level(asks[i], i == 0, false))
		} else {
			out = append(out, blank)
		}
	}
	out = append(out, spreadLine(st, f, dec, w))
	for i := 0; i < n; i++ {
		if i < len(bids) {
			out = append(out, level(bids[i], i == 0, true))
		} else {
			out = append(out, blank)
		}
	}
	for len(out) < h {
		out = append(out, blank)
	}
	return out[:h]
}

// spreadLine is the line between asks and bids: spread, mid and the spread in basis points,
// or a warning when the book is crossed.
func spreadLine(st *Styles, f engine.OrderFlow, dec, w int) string {
	var text string
	c := cPlain
	switch {
	case f.Crossed:
		text, c = "⚠ CROSSED book: bid ≥ ask by "+fmtPrice(-f.Spread, dec), cWarn
		if ansi.StringWidth(text) > w {
			text = "⚠ CROSSED " + fmtPrice(f.Spread, dec)
		}
		if ansi.StringWidth(text) > w {
			text = "⚠ CROSSED"
		}
		return fit(st.paint(cWarn, padRight(text, w)), w)
	case !f.HasBid && !f.HasAsk:
		text, c = "empty book", cMuted
	case !f.HasBid:
		text = "no bids"
	case !f.HasAsk:
		text = "no asks"
	default:
		sp, mid := fmtPrice(f.Spread, dec), fmtPrice(f.Mid, dec)
		bp := ""
		if f.Mid > 0 {
			bp = " (" + strconv.FormatFloat(f.Spread/f.Mid*1e4, 'f', 1, 64) + "bp)"
		}
		for _, t := range []string{"spread " + sp + bp + " · mid " + mid, "spread " + sp + " · mid " + mid, "spread " + sp + " mid " + mid, "spread " + sp, sp} {
			if len([]rune(t))+2 <= w {
				text = t
				break
			}
		}
	}
	tw := len([]rune(text))
	if text == "" || tw+2 > w {
		return st.paint(cMuted, strings.Repeat("─", max(w, 0)))
	}
	left := (w - tw - 2) / 2
	right := w - tw - 2 - left
	return st.paint(cMuted, strings.Repeat("─", left)+" ") + st.paint(c, text) + st.paint(cMuted, " "+strings.Repeat("─", right))
}
