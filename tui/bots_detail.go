package tui

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// The detail view of the Bots pane (enter on a bot), from BotDetail (read in a command, again
// on each event of the bot while shown, and on r):
//
//	alpha · sma_cross fast=5 · sim BTCUSDT 1m · fills book
//	status, equity, P&L, the open position with its mark and unrealized P&L, trades
//	the message, the reason it failed or stopped, or the counts
//	the bot's candles with its indicator lines and its fills (▲ buy under the candle, ▼ sell
//	over it)
//	signals (time, action, confidence, note) and fills (time, side, entry/exit, price, qty,
//	fee, reason, P&L), newest first
//
// From 140 columns both lists sit side by side under the chart; narrower, one shows and ←/→
// switch. ↑/↓ and pgup/pgdn scroll the list shown (the one ←/→ chose when both show). Without
// room for the chart (fewer than 16 rows under the header) only the lists show.

// detailChartMinRows is the least room under the header that shows the chart.
const detailChartMinRows = 16

// plotStyles draw a strategy's indicator lines: a rune each (they read without colour) and a
// colour.
var plotStyles = []struct {
	r rune
	c cls
}{{'•', cInfo}, {'·', cWarn}, {'×', cTitle}, {'+', cLast}}

type botDetailView struct {
	id    int64
	v     engine.BotView // from the list, until the detail is read
	rd    reads
	err   error
	d     engine.BotDetail
	ready bool

	list     int    // 0 signals, 1 fills: the list shown, or scrolled when both show
	scroll   [2]int // first row of each list
	listRows int    // rows of the list shown in the last render (for paging)

	chart  candleChart
	charts []string // cached chart lines …
	cw, ch int      // … for this size
}

func (p *botsPane) openDetail(v engine.BotView) tea.Cmd {
	p.det = &botDetailView{id: v.ID, v: v}
	p.det.chart.noVolume = true
	p.msg = ""
	p.dirty = true
	return p.reloadDetail()
}

// reloadDetail reads the detail shown in a command; with one read in flight it asks for
// another after it.
func (p *botsPane) reloadDetail() tea.Cmd {
	d := p.det
	if d == nil {
		return nil
	}
	id := d.id
	return d.rd.load(p.c, &p.dirty, func(ctx context.Context, b Backend, seq uint64) tea.Msg {
		det, err := b.BotDetail(ctx, id)
		return botDetailMsg{seq: seq, id: id, d: det, err: err}
	})
}

func (p *botsPane) onDetail(msg botDetailMsg) tea.Cmd {
	d := p.det
	if d == nil || msg.id != d.id {
		return nil // closed, or another bot's
	}
	current, rerun := d.rd.finish(msg.seq)
	if !current {
		return nil
	}
	p.dirty = true
	d.err = msg.err
	if msg.err == nil {
		d.set(msg.d)
	}
	if rerun {
		return p.reloadDetail()
	}
	return nil
}

func (p *botsPane) detailKey(msg tea.KeyMsg) tea.Cmd {
	d := p.det
	k := &botsKeys
	switch {
	case key.Matches(msg, k.Back):
		p.det = nil
		p.msg = ""
		p.dirty = true
		return p.reload()
	case key.Matches(msg, k.Refresh):
		return p.reloadDetail()
	case key.Matches(msg, k.Lists):
		d.list = 1 - d.list
	case key.Matches(msg, k.Scroll):
		if msg.Type == tea.KeyUp {
			d.scrollBy(-1)
		} else {
			d.scrollBy(1)
		}
	case key.Matches(msg, k.PageUp):
		d.scrollBy(-max(1, d.listRows-1))
	case key.Matches(msg, k.PageDown):
		d.scrollBy(max(1, d.listRows-1))
	default:
		return nil
	}
	p.dirty = true
	return nil
}

func (d *botDetailView) set(det engine.BotDetail) {
	d.d = det
	if det.Bot.ID != 0 {
		d.v = det.Bot
	}
	d.ready = true
	d.charts = nil
}

func (d *botDetailView) listLen(i int) int {
	if i == 0 {
		return len(d.d.Signals)
	}
	return len(d.d.Fills)
}

func (d *botDetailView) scrollBy(n int) {
	d.scroll[d.list] = max(0, min(d.scroll[d.list]+n, d.listLen(d.list)-max(1, d.listRows)))
}

// render draws the view in h lines (of at most w cells; the pane pads them).
func (d *botDetailView) render(st *Styles, w, h int, msg string, msgCls cls) []string {
	v := d.v
	s := v.Spec
	sep := st.paint(cMuted, " · ")
	lines := make([]string, 0, h)
	title := st.paint(cTitle, s.Name) + sep + s.Strategy + " " + botParams(s) + sep + s.Exchange + " " + s.Symbol + " " +
		s.Timeframe + sep + "fills " + s.FillMode()
	right := st.paint(cMuted, "esc: back")
	if d.rd.loading {
		right = st.paint(cMuted, "reading…")
	}
	lines = append(lines, spread(truncate(title, max(0, w-lipgloss.Width(right)-1)), right, w))

	status, sc := botStatusText(v)
	l2 := st.paint(sc, status) + sep + "equity " + fmtPrice(v.Equity, 2) + sep + "P&L " + st.paint(signCls(v.PnL), fmtSigned(v.PnL, 2)) +
		sep + fmt.Sprintf("%s, %d won", plural(v.Trades, "trade"), v.Wins) + sep + "fees " + fmtPrice(v.Fees, 2)
	lines = append(lines, truncate(l2, w))
	lines = append(lines, truncate(positionLine(st, v.Position), w))

	var l4 string
	switch {
	case msg != "":
		l4 = st.paint(msgCls, truncate(msg, w))
	case d.err != nil && d.ready:
		l4 = st.paint(cErr, truncate("could not re-read the bot: "+firstLine(d.err.Error()), w))
	case v.Reason != "":
		c := cWarn
		if v.Status == engine.BotFailed {
			c = cErr
		}
		l4 = st.paint(c, truncate(status+": "+strings.ReplaceAll(v.Reason, "\n", " · "), w))
	case d.ready:
		l4 = st.paint(cMuted, fmt.Sprintf("%s · %s · %d candles", plural(len(d.d.Signals), "signal"), plural(len(d.d.Fills), "fill"), len(d.d.Candles)))
	}
	lines = append(lines, l4)

	avail := h - len(lines)
	switch {
	case avail <= 0:
		return lines
	case !d.ready && d.err != nil:
		return append(lines, centered(fmt.Sprintf("could not load bot %s:\n%s\n\nr: try again · esc: back", s.Name, firstLine(d.err.Error())), w, avail)...)
	case !d.ready:
		return append(lines, centered(fmt.Sprintf("loading bot %s…", s.Name), w, avail)...)
	}

	chartH := 0
	if avail >= detailChartMinRows {
		chartH = avail * 11 / 20
	}
	if chartH > 0 {
		lines = append(lines, d.chartLines(st, w, chartH)...)
	}
	listH := avail - chartH
	if w >= sideMinW {
		lw := (w - 2) / 2
		left := d.listLines(st, 0, lw, listH, true)
		rightL := d.listLines(st, 1, w-2-lw, listH, true)
		for i := 0; i < listH; i++ {
			lines = append(lines, left[i]+"  "+rightL[i])
		}
		return lines
	}
	return append(lines, d.listLines(st, d.list, w, listH, false)...)
}

// chartLines draws the chart in exactly h lines of w cells: a legend line, then the candles
// with the indicator lines and the fills (cached per size and detail).
func (d *botDetailView) chartLines(st *Styles, w, h int) []string {
	if d.charts != nil && d.cw == w && d.ch == h {
		return d.charts
	}
	d.cw, d.ch = w, h
	cs := d.d.Candles
	var out []string
	legend := st.paint(cTitle, "chart") + st.paint(cMuted, " · ") + st.paint(cUp, "▲") + " buy " + st.paint(cDown, "▼") + " sell"
	for i, name := range d.d.Plots {
		ps := plotStyles[i%len(plotStyles)]
		legend += st.paint(cMuted, " · ") + st.paint(ps.c, string(ps.r)) + " " + name
		if i < len(d.d.PlotValues) {
			if last := lastFinite(d.d.PlotValues[i]); !math.IsNaN(last) {
				legend += " " + fmtPrice(last, priceDecimals(last))
			}
		}
	}
	out = append(out, truncate(legend, w))
	d.chart.setSize(w, h-1)
	switch {
	case len(cs) == 0:
		out = append(out, centered("no candles of the bot's series yet", w, h-1)...)
	case !d.chart.valid:
		out = append(out, centered("enlarge the terminal to see the chart", w, h-1)...)
	default:
		d.chart.overlays = d.chart.overlays[:0]
		for i := range d.d.Plots {
			if i < len(d.d.PlotValues) {
				ps := plotStyles[i%len(plotStyles)]
				d.chart.overlays = append(d.chart.overlays, chartOverlay{vals: d.d.PlotValues[i], r: ps.r, c: ps.c})
			}
		}
		d.chart.marks = fillMarks(cs, d.d.Fills, d.chart.marks[:0])
		tf := cs[0].Timeframe
		if tf == 0 {
			tf, _ = market.ParseTimeframe(d.v.Spec.Timeframe)
		}
		_, _, body := d.chart.build(cs, tf, 0, st)
		if body == nil {
			body = centered("enlarge the terminal to see the chart", w, h-1)
		}
		out = append(out, body...)
	}
	d.charts = out
	return out
}

// positionLine describes an open position: side, size and entry, mark, unrealized P&L and its
// exit levels; or says the bot is flat.
func positionLine(st *Styles, ps *engine.PositionView) string {
	if ps == nil {
		return st.paint(cMuted, "flat: no open position")
	}
	sep := st.paint(cMuted, " · ")
	price := func(f float64) string { return fmtPrice(f, priceDecimals(f)) }
	l := "position " + fmtPosition(st, ps)
	if ps.Mark > 0 {
		l += sep + "mark " + price(ps.Mark) + sep + "unrealized " + st.paint(signCls(ps.Unrealized), fmtSigned(ps.Unrealized, 2))
	}
	if ps.TakeProfit > 0 {
		l += sep + "TP " + price(ps.TakeProfit)
	}
	if ps.StopLoss > 0 {
		l += sep + "SL " + price(ps.StopLoss)
	}
	if !ps.EntryTime.IsZero() {
		l += sep + "since " + ps.EntryTime.UTC().Format("01-02 15:04")
	}
	return l
}

// fillMarks are the chart's arrows: each fill at the candle whose interval holds its time.
func fillMarks(cs []market.Candle, fills []engine.BotFillView, out []chartMark) []chartMark {
	for _, f := range fills {
		t := f.Time.UnixMilli()
		i := sort.Search(len(cs), func(i int) bool { return cs[i].Time > t })
		if i == len(cs) || cs[i].Start() > t {
			continue // outside the candles shown
		}
		out = append(out, chartMark{i: i, buy: f.Side == "buy"})
	}
	return out
}

// lastFinite is the last value of vs that is a number, NaN when none.
func lastFinite(vs []float64) float64 {
	for i := len(vs) - 1; i >= 0; i-- {
		if !math.IsNaN(vs[i]) && !math.IsInf(vs[i], 0) {
			return vs[i]
		}
	}
	return math.NaN()
}

// listLines draws list i (0 signals, 1 fills) in exactly h lines of w cells: a title line
// with the position (and, with one list shown, the switch), the column heads, the rows.
func (d *botDetailView) listLines(st *Styles, i, w, h int, both bool) []string {
	out := make([]string, 0, h)
	rows := max(0, h-2)
	if i == d.list {
		d.listRows = rows
	}
	n := d.listLen(i)
	top := max(0, min(d.scroll[i], n-rows))
	d.scroll[i] = top
	var head string
	var body []string
	layout := "01-02 15:04:05"
	if w >= 100 {
		layout = "2006-01-02 15:04:05"
	}
	if i == 0 {
		head, body = signalRows(st, d.d.Signals, layout, top, rows, w)
	} else {
		head, body = fillRows(st, d.d.Fills, layout, top, rows, w)
	}
	names := [2]string{"signals", "fills"}
	var t string
	switch {
	case both && i == d.list:
		t = st.paint(cTitle, "▸ "+names[i])
	case both:
		t = st.paint(cTitle, "  "+names[i])
	default:
		t = st.paint(cTitle, names[i])
	}
	pos := "none"
	if n > 0 {
		pos = fmt.Sprintf("%d–%d of %d, newest first", top+1, min(top+rows, n), n)
	}
	t += st.paint(cMuted, " · "+pos)
	if !both {
		t += st.paint(cMuted, " · ←/→: "+names[1-i])
	}
	if h >= 1 {
		out = append(out, fit(t, w))
	}
	if h >= 2 {
		out = append(out, fit(st.paint(cHead, head), w))
	}
	for _, l := range body {
		out = append(out, fit(l, w))
	}
	if n == 0 && h >= 3 {
		out = append(out, fit(st.paint(cMuted, "(none yet)"), w))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", max(w, 0)))
	}
	return out[:h]
}

// signalRows are the signals table: time, action, confidence, note (why it was not acted on).
func signalRows(st *Styles, ss []engine.BotSignalView, layout string, top, n, w int) (string, []string) {
	cols := []column{
		{"TIME", false, func(i int) (string, cls) { return ss[i].Time.UTC().Format(layout), cMuted }},
		{"ACTION", false, func(i int) (string, cls) {
			switch a := ss[i].Action; {
			case strings.Contains(a, "long"):
				return a, cUp
			case strings.Contains(a, "short"):
				return a, cDown
			default:
				return a, cWarn
			}
		}},
		{"CONFIDENCE", false, func(i int) (string, cls) { return ss[i].Confidence, cPlain }},
		{"NOTE", false, func(i int) (string, cls) {
			if ss[i].Note == "" {
				return "", cPlain
			}
			return ss[i].Note, cWarn
		}},
	}
	return table(st, cols, []int{2}, top, n, len(ss), w)
}

// fillRows are the fills table: time, side, entry or exit, price, quantity, fee, reason and
// an exit's P&L; narrow lists lose the kind, fee and quantity.
func fillRows(st *Styles, fs []engine.BotFillView, layout string, top, n, w int) (string, []string) {
	cols := []column{
		{"TIME", false, func(i int) (string, cls) { return fs[i].Time.UTC().Format(layout), cMuted }},
		{"SIDE", false, func(i int) (string, cls) { return fs[i].Side, sideCls(fs[i].Side) }},
		{"KIND", false, func(i int) (string, cls) {
			if fs[i].Entry {
				return "entry", cPlain
			}
			return "exit", cPlain
		}},
		{"PRICE", true, func(i int) (string, cls) { return fmtPrice(fs[i].Price, priceDecimals(fs[i].Price)), cPlain }},
		{"QTY", true, func(i int) (string, cls) { return fmtQty(fs[i].Quantity), cPlain }},
		{"FEE", true, func(i int) (string, cls) { return fmtPrice(fs[i].Fee, 2), cMuted }},
		{"REASON", false, func(i int) (string, cls) { return fs[i].Reason, cMuted }},
		{"P&L", true, func(i int) (string, cls) {
			if fs[i].Entry {
				return "—", cMuted
			}
			return fmtSigned(fs[i].PnL, 2), signCls(fs[i].PnL)
		}},
	}
	return table(st, cols, []int{2, 5, 4}, top, n, len(fs), w)
}
