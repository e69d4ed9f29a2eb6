package tui

import (
	"strings"
	"time"
)

// The Market pane's order-flow column sits between the chart and the trades tape:
//
//	 price   size depth        ← ladder: asks (best lowest), spread line, bids (best highest)
//	 50002.0 2.000 ███▋
//	▸50001.0 3.000 █████▌
//	── spread 1.0 · mid 50000.5 ──
//	▸50000.0 10.00 ██████████████
//	 49999.0 5.000 ███████
//	                            ← blank
//	OBI +0.42 d10 ▲ ALERT       ← mini-charts of the 1s flow bars, newest right
//	+ ▄█▄
//	0─▀▀▀▄▄─
//	-     ▀
//	CVD +12.35 1s
//	…
//
// Its width grows with the terminal (24 cells at 80 columns, 40 from 200 on); it is left out
// when the chart would get narrower than flowMinChartW, so at 80×24 the candles keep ~45
// columns. The ladder takes the height the minis leave: 4 levels a side at 80×24, 15 at 200×50.

const (
	flowMinW      = 24 // the order-flow column at its narrowest
	flowMaxW      = 40
	flowMinChartW = 40 // the chart keeps at least this width, or the column is hidden
	flowMinH      = 4  // rows the column needs at all
	miniMinRows   = 3  // chart rows of each mini-chart at least …
	miniMaxRows   = 9  // … and at most
)

func flowColumnWidth(w int) int { return max(flowMinW, min(flowMaxW, w/5)) }

// miniWindow is the bar width of the Market pane's mini-charts: 1s when offered, else the
// shortest offered.
func miniWindow(ws []time.Duration) time.Duration {
	best := time.Duration(0)
	for _, w := range ws {
		if w == time.Second {
			return w
		}
		if w > 0 && (best == 0 || w < best) {
			best = w
		}
	}
	return best
}

// flowRows splits the column's h rows: the ladder's rows and the chart rows of each mini
// (0: no minis; the ladder then takes everything).
func flowRows(h int) (ladder, mini int) {
	mini = max(miniMinRows, min(miniMaxRows, (h-10)/6))
	if mini%2 == 0 { // odd: the zero row in the middle of OBI's symmetric range
		mini--
	}
	ladder = h - 2*(1+mini) - 1
	if ladder < 4 {
		return h, 0
	}
	return ladder, mini
}

// renderFlow re-reads the order flow of the symbol and rebuilds the column.
func (p *marketPane) renderFlow() {
	w, h := p.flowW, p.chartH
	p.flowLines = p.flowLines[:0]
	if w <= 0 || h <= 0 {
		return
	}
	st := p.c.Styles
	b := p.c.Backend
	sym := p.sym()
	p.hasFlow = false
	if sym != "" {
		p.flow, p.hasFlow = b.OrderFlow(sym)
	}
	ladderH, miniH := flowRows(h)
	if !p.hasFlow {
		p.flowLines = append(p.flowLines, centered("order book:\nwaiting for data…", w, h)...)
		return
	}
	n := max(1, ladderH/2)
	p.bids, p.asks = b.BookLevels(sym, n)
	p.flowLines = append(p.flowLines, ladderLines(st, p.flow, p.bids, p.asks, w, ladderH)...)
	if miniH == 0 {
		return
	}
	p.flowLines = append(p.flowLines, strings.Repeat(" ", w))

	gw := w - 1
	p.flowBars = p.flowBars[:0]
	if p.flowWin > 0 {
		p.flowBars = append(p.flowBars, b.FlowBars(sym, p.flowWin, gw)...)
	}
	f := p.flow

	// OBI: fixed range −1 … 1, threshold rows at ±AlertThreshold.
	title := newPainter(st)
	title.text(cTitle, "OBI")
	title.text(cPlain, " "+fmtOBI(f.OBI))
	title.text(cMuted, " "+fmtDepth(f.Depth))
	if f.Alert {
		title.cell(cPlain, ' ')
		title.text(cAlert, alertMarker(f.OBI))
	}
	p.flowLines = append(p.flowLines, fit(title.line(), w))
	p.miniVals = p.miniVals[:0]
	for _, bar := range p.flowBars {
		p.miniVals = append(p.miniVals, bar.OBIClose)
	}
	obi := signedChart{vals: p.miniVals, h: miniH, gw: gw, lo: -1, hi: 1, thresh: f.AlertThreshold, labelW: 1}
	p.flowLines = append(p.flowLines, obi.lines(st)...)

	// CVD: range of the bars shown, always including 0.
	title.text(cTitle, "CVD")
	title.text(cPlain, " "+fmtSignedQty(f.CVD))
	title.text(cMuted, " "+fmtWindow(p.flowWin)+" bars")
	p.flowLines = append(p.flowLines, fit(title.line(), w))
	p.miniVals = p.miniVals[:0]
	lo, hi := 0.0, 0.0
	for _, bar := range p.flowBars {
		p.miniVals = append(p.miniVals, bar.CVD)
		lo, hi = min(lo, bar.CVD), max(hi, bar.CVD)
	}
	cvd := signedChart{vals: p.miniVals, h: miniH, gw: gw, lo: lo, hi: hi, labelW: 1}
	p.flowLines = append(p.flowLines, cvd.lines(st)...)
	for len(p.flowLines) < h {
		p.flowLines = append(p.flowLines, strings.Repeat(" ", w))
	}
	p.flowLines = p.flowLines[:h]
}
