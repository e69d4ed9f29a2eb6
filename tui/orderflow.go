package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// alertShow is how long the Order flow header shows a fresh OBI alert.
const alertShow = 5 * time.Second

// alertsKept bounds the alert times remembered per symbol (to mark their bars).
const alertsKept = 64

// orderFlowPane shows the order flow of one symbol as four panels on one time axis, one
// column per bar of the chosen window (Backend.FlowBars):
//
//	header (2 lines)   symbol, window, alert badge · OBI, CVD, best bid/ask, spread
//	OHLC               candles (ntcharts DrawCandle, as the Market chart)
//	── vol ───         volume bars
//	── OBI ───         OBI close of each bar, −1 … 1, dashed rows at ±threshold, ▼ over alert bars
//	── CVD ───         CVD at the end of each bar, from a visible zero line
//	times              the candle chart's time labels, moved under the last panel
//
// All panels share the chart's y-axis column, so column j is bar j everywhere. At 80×24 the
// panels get 5, 2, 5 and 3 rows; at 200×50 16, 6, 11 and 8.
//
// It only reads the engine (live and replayed data look the same): the bars are re-read on
// the frame after an event of the symbol.
type orderFlowPane struct {
	c    *Common
	w, h int

	syms []market.Symbol
	si   int
	wins []time.Duration
	wi   int

	flow    engine.OrderFlow
	hasFlow bool
	bars    []market.FlowBar // scratch: the bars read
	series  []market.Candle  // scratch: their OHLCV for the candle chart
	vals    []float64        // scratch

	alerts     map[market.Symbol][]int64 // feed times of the alerts seen, oldest first
	flash      engine.AlertEvent         // the alert the header shows …
	flashUntil time.Time                 // … until then (zero: none)

	chart                   candleChart
	ohlcH, volH, obiH, cvdH int
	fits                    bool // the panels fit the size

	dirty  bool
	view   string
	frames int // rebuilds, for tests
	sb     rowBuf
}

func newOrderFlowPane(c *Common) *orderFlowPane {
	b := c.Backend
	p := &orderFlowPane{c: c, syms: b.Symbols(), wins: b.FlowWindows(), alerts: map[market.Symbol][]int64{}, dirty: true}
	p.wi = nearestWindow(p.wins, c.Opts.FlowWindow)
	p.chart.noVolume = true
	p.chart.minLabelW = 6
	return p
}

// nearestWindow is the index of the window closest to want (the shorter one on a tie).
func nearestWindow(ws []time.Duration, want time.Duration) int {
	best := 0
	for i, w := range ws {
		if d, bd := absDur(w-want), absDur(ws[best]-want); d < bd || (d == bd && w < ws[best]) {
			best = i
		}
	}
	return best
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (p *orderFlowPane) Title() string { return "Order flow" }
func (p *orderFlowPane) Init() tea.Cmd { return nil }
func (p *orderFlowPane) View() string  { return p.view }

func (p *orderFlowPane) sym() market.Symbol    { return itemAt(p.syms, p.si) }
func (p *orderFlowPane) window() time.Duration { return itemAt(p.wins, p.wi) }

func (p *orderFlowPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		p.handleKey(msg)
	case EventsMsg:
		p.onEvents(msg)
	}
	return nil
}

func (p *orderFlowPane) handleKey(msg tea.KeyMsg) {
	switch {
	case key.Matches(msg, marketKeys.NextSymbol):
		p.selectSymbol(p.si + 1)
	case key.Matches(msg, marketKeys.PrevSymbol):
		p.selectSymbol(p.si - 1)
	case key.Matches(msg, orderFlowKeys.NextWindow):
		p.selectWindow(p.wi + 1)
	case key.Matches(msg, orderFlowKeys.PrevWindow):
		p.selectWindow(p.wi - 1)
	}
}

func (p *orderFlowPane) selectSymbol(i int) {
	if len(p.syms) == 0 {
		return
	}
	p.si = cycle(i, len(p.syms))
	p.flashUntil = time.Time{} // the badge was about the other symbol
	p.dirty = true
}

// selectWindow moves to window i, stopping at the ends (the list is ordered by width).
func (p *orderFlowPane) selectWindow(i int) {
	if len(p.wins) == 0 {
		return
	}
	i = max(0, min(i, len(p.wins)-1))
	if i != p.wi {
		p.wi = i
		p.dirty = true
	}
}

func (p *orderFlowPane) onEvents(evs EventsMsg) {
	sym := p.sym()
	for _, ev := range evs {
		switch e := ev.(type) {
		case engine.OrderFlowEvent:
			if e.Flow.Symbol == sym {
				p.dirty = true
			}
		case engine.TradeEvent:
			if e.Trade.Symbol == sym {
				p.dirty = true
			}
		case engine.AlertEvent:
			as := append(p.alerts[e.Symbol], e.Time)
			if len(as) > alertsKept {
				as = append(as[:0], as[len(as)-alertsKept:]...)
			}
			p.alerts[e.Symbol] = as
			if e.Symbol == sym {
				p.flash = e
				p.flashUntil = p.c.now().Add(alertShow)
				p.dirty = true
			}
		}
	}
}

func (p *orderFlowPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.layout()
}

// Rows around the panels: two header lines, three panel rules and the time labels.
const (
	ofHeadRows  = 2
	ofFixedRows = ofHeadRows + 3 + 1
	ofMinGraphW = 10
)

// panelRows splits avail rows between the panels: OHLC about 2/5, volume 3/20, OBI a quarter
// (odd, so the zero line is the middle row), CVD the rest; at least 4, 1, 3 and 3 rows.
func panelRows(avail int) (ohlc, vol, obi, cvd int, ok bool) {
	ohlc, vol = max(4, avail*2/5), max(1, avail*3/20)
	obi = max(3, (avail+5)/4)
	if obi%2 == 0 {
		obi--
	}
	cvd = avail - ohlc - vol - obi
	for cvd < 3 {
		switch {
		case ohlc > 4:
			ohlc--
		case obi > 3:
			obi -= 2
		case vol > 1:
			vol--
		default:
			return ohlc, vol, obi, cvd, false
		}
		cvd = avail - ohlc - vol - obi
	}
	return ohlc, vol, obi, cvd, true
}

func (p *orderFlowPane) layout() {
	p.ohlcH, p.volH, p.obiH, p.cvdH, p.fits = panelRows(p.h - ofFixedRows)
	p.fits = p.fits && p.w >= p.chart.minLabelW+1+ofMinGraphW
	if p.fits {
		p.chart.setSize(p.w, p.ohlcH+2)
		p.fits = p.chart.valid
	}
	p.dirty = true
}

// Frame rebuilds when an event of the symbol arrived, after a key or a resize, and when the
// alert badge expires.
func (p *orderFlowPane) Frame(now time.Time) bool {
	if !p.flashUntil.IsZero() && !now.Before(p.flashUntil) {
		p.flashUntil = time.Time{}
		p.dirty = true
	}
	if !p.dirty {
		return false
	}
	p.dirty = false
	p.frames++
	old := p.view
	p.view = p.render()
	return p.view != old
}

// render rebuilds the pane: exactly h lines of w cells.
func (p *orderFlowPane) render() string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	b := p.c.Backend
	sym, win := p.sym(), p.window()
	p.hasFlow = false
	p.bars = p.bars[:0]
	if sym != "" {
		p.flow, p.hasFlow = b.OrderFlow(sym)
		if win > 0 {
			p.bars = append(p.bars, b.FlowBars(sym, win, p.w)...)
		}
	}
	// Bars before the first trade have no price: the panels start at the first priced bar.
	first := len(p.bars)
	for first > 0 && p.bars[first-1].Close > 0 {
		first--
	}
	bars := p.bars[first:]

	lines := make([]string, 0, p.h)
	h1, h2 := p.header()
	lines = append(lines, fit(h1, p.w), fit(h2, p.w))
	bodyH := max(0, p.h-ofHeadRows)
	var body []string
	switch {
	case len(p.syms) == 0:
		body = centered("no symbols configured", p.w, bodyH)
	case len(p.wins) == 0:
		body = centered("the engine keeps no order-flow bars (no flow windows configured)", p.w, bodyH)
	case !p.fits:
		body = centered("enlarge the terminal to see the order-flow panels", p.w, bodyH)
	case !p.hasFlow || len(bars) == 0:
		body = centered(fmt.Sprintf("waiting for order flow… (%s, %s bars)", sym, fmtWindow(win)), p.w, bodyH)
	default:
		body = p.panels(bars, win)
		if body == nil {
			body = centered("enlarge the terminal to see the order-flow panels", p.w, bodyH)
		}
	}
	return pane(append(lines, body...), p.w, p.h)
}

// panels draws the four panels and the time axis for bars (all priced, oldest first).
func (p *orderFlowPane) panels(bars []market.FlowBar, win time.Duration) []string {
	st := p.c.Styles
	tf := market.Timeframe(win.Milliseconds())
	p.series = p.series[:0]
	for _, b := range bars {
		p.series = append(p.series, market.Candle{Symbol: p.sym(), Timeframe: tf, Time: b.Time,
			Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, Volume: b.Volume, Trades: b.Trades})
	}
	start, end, chart := p.chart.build(p.series, tf, 0, st)
	if chart == nil {
		return nil
	}
	shown := bars[start:end]
	lw, gw := p.chart.originX, p.chart.graphW
	gh := p.chart.gh
	last := shown[len(shown)-1]

	out := make([]string, 0, p.h)
	out = append(out, chart[:gh]...)

	// Volume.
	out = append(out, p.rule("vol", "last "+fmtQty(last.Volume)+" · buy "+fmtQty(last.BuyVolume)+" sell "+fmtQty(last.SellVolume), lw, gw, nil))
	out = append(out, volumeLines(st, shown, p.volH, lw, gw)...)

	// OBI, with the bars of alerts marked on its rule.
	var marks []int
	as := p.alerts[p.sym()]
	if p.flow.LastAlert != 0 {
		as = append(as[:len(as):len(as)], p.flow.LastAlert)
	}
	for j, b := range shown { // alerts the engine counted in the bars
		if b.Alerts > 0 {
			marks = append(marks, j)
		}
	}
	for _, t := range as { // and those seen as events (a backend that doesn't count them)
		end := tf.End(t)
		if j := sort.Search(len(shown), func(i int) bool { return shown[i].Time >= end }); j < len(shown) && shown[j].Time == end {
			marks = append(marks, j)
		}
	}
	info := "close " + fmtOBI(last.OBIClose) + " · " + fmtDepth(p.flow.Depth)
	if t := p.flow.AlertThreshold; t > 0 {
		info += " · alert ±" + fmtPrice(t, 2)
	}
	out = append(out, p.rule("OBI", info, lw, gw, marks))
	p.vals = p.vals[:0]
	for _, b := range shown {
		p.vals = append(p.vals, b.OBIClose)
	}
	obi := signedChart{vals: p.vals, h: p.obiH, gw: gw, lo: -1, hi: 1, thresh: p.flow.AlertThreshold, labelW: lw, axis: true,
		label: func(v float64, w int) string { return fmtOBI(v) }}
	out = append(out, obi.lines(st)...)

	// CVD.
	out = append(out, p.rule("CVD", fmtSignedQty(last.CVD)+" · Δ "+fmtSignedQty(last.Delta)+" last bar", lw, gw, nil))
	p.vals = p.vals[:0]
	lo, hi := 0.0, 0.0
	for _, b := range shown {
		p.vals = append(p.vals, b.CVD)
		lo, hi = min(lo, b.CVD), max(hi, b.CVD)
	}
	cvd := signedChart{vals: p.vals, h: p.cvdH, gw: gw, lo: lo, hi: hi, labelW: lw, axis: true}
	out = append(out, cvd.lines(st)...)

	// The shared time axis: the chart's time labels (its x-axis rule is left out).
	out = append(out, chart[gh+1])
	return out
}

// rule is the line above a panel: its name in the gutter, a rule across the graph with info
// on it and ▼ over the columns in marks.
func (p *orderFlowPane) rule(name, info string, lw, gw int, marks []int) string {
	st := p.c.Styles
	pt := newPainter(st)
	pt.blanks(lw - len(name))
	pt.text(cTitle, name)
	pt.cell(cMuted, '├')
	b := &p.sb
	b.reset(gw, '─', cMuted)
	// The info text goes where no mark needs the cells (the header repeats its values).
	textEnd := len([]rune(info)) + 3
	for _, j := range marks {
		if j < textEnd {
			textEnd = gw + 1
		}
	}
	if textEnd <= gw {
		b.text(b.text(1, " ", cMuted), info, cPlain)
		b.set(textEnd-1, ' ', cMuted)
	}
	for _, j := range marks {
		b.set(j, '▼', cErr)
	}
	b.paint(pt)
	return pt.line()
}

// header returns the two header lines: symbol, window, alert badge and the windows to cycle
// through; then OBI, CVD, best bid / ask and spread, and the alert settings.
func (p *orderFlowPane) header() (string, string) {
	st := p.c.Styles
	var l1, r1, l2, r2 strings.Builder
	l1.WriteString(st.paint(cTitle, string(p.sym())))
	l1.WriteString(" order flow")
	if win := p.window(); win > 0 {
		l1.WriteString(" · " + st.paint(cTitle, fmtWindow(win)) + " bars")
	}
	if !p.flashUntil.IsZero() {
		a := p.flash
		l1.WriteString("  ")
		l1.WriteString(st.paint(cAlert, fmt.Sprintf(" ⚠ ALERT %s OBI %s beyond ±%s ", msTime(a.Time).Format("15:04:05"), fmtOBI(a.OBI), fmtPrice(a.Threshold, 2))))
	}
	if len(p.wins) > 1 {
		r1.WriteString(st.paint(cMuted, "w:"))
		for i, w := range p.wins {
			r1.WriteByte(' ')
			if i == p.wi {
				r1.WriteString("[" + fmtWindow(w) + "]")
			} else {
				r1.WriteString(st.paint(cMuted, fmtWindow(w)))
			}
		}
	}
	if !p.hasFlow {
		if len(p.syms) > 1 {
			l2.WriteString(st.paint(cMuted, fmt.Sprintf("symbol %d/%d (s/S)", p.si+1, len(p.syms))))
		}
		return spread(l1.String(), r1.String(), p.w), l2.String()
	}
	f := p.flow
	c := cUp
	if f.OBI < 0 {
		c = cDown
	}
	l2.WriteString("OBI " + st.paint(c, fmtOBI(f.OBI)) + " " + st.paint(cMuted, fmtDepth(f.Depth)))
	if f.Alert {
		l2.WriteString(" " + st.paint(cAlert, alertMarker(f.OBI)))
	}
	c = cUp
	if f.CVD < 0 {
		c = cDown
	}
	l2.WriteString("  CVD " + st.paint(c, fmtSignedQty(f.CVD)))
	dec := priceDecimals(f.Mid)
	if f.HasBid {
		dec = priceDecimals(f.BestBid.Price)
		l2.WriteString("  bid " + st.paint(cUp, fmtPrice(f.BestBid.Price, dec)))
	}
	if f.HasAsk {
		l2.WriteString("  ask " + st.paint(cDown, fmtPrice(f.BestAsk.Price, dec)))
	}
	if f.HasBid && f.HasAsk {
		l2.WriteString("  spread " + fmtPrice(f.Spread, dec))
		if f.Crossed {
			l2.WriteString(" " + st.paint(cWarn, "⚠ CROSSED"))
		}
	}
	if f.AlertThreshold > 0 {
		r2.WriteString(st.paint(cMuted, fmt.Sprintf("alert |OBI| ≥ %s · %d fired", fmtPrice(f.AlertThreshold, 2), f.Alerts)))
	} else {
		r2.WriteString(st.paint(cMuted, "alerts off"))
	}
	return spread(l1.String(), r1.String(), p.w), spread(l2.String(), r2.String(), p.w)
}

func (p *orderFlowPane) ShortHelp() []key.Binding {
	return []key.Binding{shortKeys.Symbol, shortKeys.Window}
}

func (p *orderFlowPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{marketKeys.NextSymbol, marketKeys.PrevSymbol}, {orderFlowKeys.NextWindow, orderFlowKeys.PrevWindow}}
}
