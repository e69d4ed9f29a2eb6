package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/linechart/timeserieslinechart"
	"github.com/charmbracelet/lipgloss"
	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// The result view of the Jobs pane (enter on a completed job):
//
//	job 12 backtest · the run's title (strategy, parameters, market, period)
//	counts, a sweep's ranking summary, the view switcher, or the last message
//	metrics: the 21 metrics in as many columns as fit (fractions as percent)
//	charts:  equity (a braille line, ntcharts) over drawdown (signed bars, ≤ 0) on one time axis
//	lists:   the trades, and a sweep's ranking (top N), scrolled with ↑/↓ and pgup/pgdn
//
// From 140 columns the charts and a list sit side by side; on a tall narrower screen they are
// stacked; on a small one (80×24) one panel shows at a time and v switches between them.

// resultPanel is what the lower part of the result view shows.
type resultPanel uint8

const (
	panelCharts resultPanel = iota
	panelTrades
	panelRanking
)

func (p resultPanel) String() string {
	switch p {
	case panelTrades:
		return "trades"
	case panelRanking:
		return "ranking"
	}
	return "charts"
}

// The layouts of the lower part.
const (
	layoutCompact = iota // one panel at a time
	layoutStacked        // charts over a list
	layoutSide           // charts beside a list
)

const (
	sideMinW    = 140 // from this width the charts and a list sit side by side
	stackMinH   = 24  // from this height (of the lower part) they are stacked
	chartMinH   = 8   // rows the charts need: rules, 3 equity rows, 2 drawdown rows, the times
	resultHeadH = 2
)

type jobResult struct {
	id      int64
	job     engine.JobView
	loading bool
	err     error  // JobDetail failed
	errText string // a failed job's error, shown in full
	d       engine.JobDetail
	ready   bool // d holds a run to show

	panels []resultPanel // what v cycles through (charts, trades, ranking of a sweep)
	pi     int
	scroll [3]int // first row of each list

	// From the last render: the layout, and the rows of the list shown (for paging).
	layout   int
	listRows int

	dd     []float64 // drawdown of each equity point (≤ 0)
	chart  equityChart
	charts []string // cached chart lines …
	cw, ch int      // … for this size
}

func newJobResult(v engine.JobView) *jobResult {
	return &jobResult{id: v.ID, job: v, panels: []resultPanel{panelCharts}}
}

func (r *jobResult) setDetail(d engine.JobDetail) {
	r.d = d
	if d.Job.ID != 0 {
		r.job = d.Job
	}
	r.ready = d.Backtest != nil
	r.panels = []resultPanel{panelCharts, panelTrades}
	if d.Sweep != nil {
		r.panels = append(r.panels, panelRanking)
	}
	r.pi = 0
	r.charts = nil
	r.dd = nil
	if d.Backtest != nil {
		r.dd = engine.Drawdowns(d.Backtest.Equity.Values)
	}
}

// views is the number of panels v cycles through in the last layout.
func (r *jobResult) views() int {
	if !r.ready {
		return 0
	}
	if r.layout == layoutCompact {
		return len(r.panels)
	}
	return len(r.panels) - 1 // the charts are always shown
}

func (r *jobResult) nextView() {
	if r.views() <= 1 {
		return
	}
	r.pi = (r.pi + 1) % len(r.panels)
	if r.layout != layoutCompact && r.panels[r.pi] == panelCharts {
		r.pi = (r.pi + 1) % len(r.panels)
	}
}

// list is the list shown: the chosen panel if it is a list, else (charts chosen, in a layout
// that always shows them) a sweep's ranking or the trades.
func (r *jobResult) list() resultPanel {
	if p := r.panels[r.pi]; p != panelCharts {
		return p
	}
	if r.d.Sweep != nil {
		return panelRanking
	}
	return panelTrades
}

func (r *jobResult) listLen(p resultPanel) int {
	switch {
	case p == panelTrades && r.d.Backtest != nil:
		return len(r.d.Backtest.Trades)
	case p == panelRanking && r.d.Sweep != nil:
		return len(r.d.Sweep.Ranking)
	}
	return 0
}

func (r *jobResult) scrollBy(d int) {
	if !r.ready || (r.layout == layoutCompact && r.panels[r.pi] == panelCharts) {
		return
	}
	p := r.list()
	r.scroll[p] = max(0, min(r.scroll[p]+d, r.listLen(p)-max(1, r.listRows)))
}

// render draws the view in h lines (of at most w cells; the pane pads them).
func (r *jobResult) render(st *Styles, w, h int, msg string, msgCls cls) []string {
	lines := make([]string, 0, h)
	title := st.paint(cTitle, fmt.Sprintf("job %d", r.id)) + " " + r.job.Type + st.paint(cMuted, " · ")
	if r.d.Title != "" {
		title += r.d.Title
	} else {
		title += describeJob(r.job)
	}
	lines = append(lines, truncate(title, w))

	var info, right string
	switch {
	case r.ready && r.d.Sweep != nil:
		s := r.d.Sweep
		info = fmt.Sprintf("ranked by %s · %d of %d combinations ran", s.RankedBy, s.Ran, s.Combos)
		if s.Skipped > 0 {
			info += fmt.Sprintf(" (%d skipped)", s.Skipped)
		}
		info += " · the best run below"
	case r.ready:
		b := r.d.Backtest
		info = fmt.Sprintf("%d candles · %d trades", b.Candles, len(b.Trades))
	}
	if r.ready {
		r.layout = r.pickLayout(w, h-resultHeadH-metricsRows(w))
		if r.views() > 1 {
			var sw strings.Builder
			sw.WriteString("v:")
			for i, p := range r.panels {
				if r.layout != layoutCompact && p == panelCharts {
					continue
				}
				shown := i == r.pi || (r.layout != layoutCompact && p == r.list())
				if shown {
					sw.WriteString(" [" + p.String() + "]")
				} else {
					sw.WriteString(" " + p.String())
				}
			}
			right = st.paint(cMuted, sw.String())
		}
	}
	// The switcher stays; the message or the info gets the rest of the line.
	left, room := info, w
	if right != "" {
		room = max(0, w-lipgloss.Width(right)-1)
	}
	c := cMuted
	if msg != "" {
		left, c = msg, msgCls
	}
	lines = append(lines, spread(st.paint(c, truncate(left, room)), right, w))

	avail := h - len(lines)
	switch {
	case r.loading:
		return append(lines, centered(fmt.Sprintf("loading job %d…\n(its run is recomputed from the stored candles)", r.id), w, avail)...)
	case r.err != nil:
		return append(lines, centered(fmt.Sprintf("could not load job %d:\n%s\n\nesc: back to the list", r.id, r.err), w, avail)...)
	case r.errText != "":
		lines = append(lines, st.paint(cErr, "the job failed:"))
		for _, l := range strings.Split(r.errText, "\n") {
			for _, wl := range wrapText(l, w) {
				lines = append(lines, st.paint(cErr, wl))
			}
		}
		return lines
	case !r.ready && len(r.job.Result) > 0:
		// An order-flow run: its summary, as `tradeconsole orderflow --json` prints it.
		var buf bytes.Buffer
		if json.Indent(&buf, r.job.Result, "", "  ") == nil {
			lines = append(lines, st.paint(cTitle, r.job.Summary))
			for _, l := range strings.Split(buf.String(), "\n") {
				if len(lines) >= h {
					break
				}
				lines = append(lines, truncate(l, w))
			}
			return lines
		}
		return append(lines, centered(r.job.Summary, w, avail)...)
	case !r.ready:
		return append(lines, centered(r.job.Summary, w, avail)...)
	}

	grid := metricsGrid(st, r.d.Backtest.Metrics, w)
	lines = append(lines, grid...)
	lowerH := h - len(lines)
	if lowerH < 3 {
		return lines
	}
	switch r.layout {
	case layoutSide:
		listW := min(max(w*2/5, 60), 90)
		chartW := w - listW - 2
		left := r.chartLines(st, chartW, lowerH)
		var rightLines []string
		if r.d.Sweep != nil && lowerH >= 12 {
			// A sweep: its ranking over the best run's trades; ↑/↓ scroll the one v chose.
			rankH := max(4, min(r.listLen(panelRanking)+2, lowerH/2))
			cur := r.list()
			rightLines = append(r.listLines(st, panelRanking, listW, rankH), r.listLines(st, panelTrades, listW, lowerH-rankH)...)
			r.listRows = max(1, rankH-2)
			if cur == panelTrades {
				r.listRows = max(1, lowerH-rankH-2)
			}
		} else {
			rightLines = r.listLines(st, r.list(), listW, lowerH)
		}
		for i := 0; i < lowerH; i++ {
			lines = append(lines, fit(left[i], chartW)+"  "+rightLines[i])
		}
	case layoutStacked:
		chartH := lowerH * 11 / 20
		lines = append(lines, r.chartLines(st, w, chartH)...)
		lines = append(lines, r.listLines(st, r.list(), w, lowerH-chartH)...)
	default:
		if p := r.panels[r.pi]; p == panelCharts {
			lines = append(lines, r.chartLines(st, w, lowerH)...)
		} else {
			lines = append(lines, r.listLines(st, p, w, lowerH)...)
		}
	}
	return lines
}

func (r *jobResult) pickLayout(w, lowerH int) int {
	switch {
	case w >= sideMinW && lowerH >= chartMinH:
		return layoutSide
	case lowerH >= stackMinH:
		return layoutStacked
	}
	return layoutCompact
}

// ---- metrics ----

type metricCell struct {
	label, value string
	c            cls
}

// fmtPct formats a fraction as a signed percentage: 0.1234 → +12.34%.
func fmtPct(f float64) string {
	if f == 0 {
		return "0.00%"
	}
	return fmtSigned(f*100, 2) + "%"
}

// fmtSpan formats a duration compactly: 45s, 12m, 4h05m, 3d04h.
func fmtSpan(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h" + pad2(int(d%time.Hour/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d" + pad2(int(d%(24*time.Hour)/time.Hour)) + "h"
}

func signCls(f float64) cls {
	switch {
	case f > 0:
		return cUp
	case f < 0:
		return cDown
	}
	return cPlain
}

// metricCells are the 21 metrics, in the order they are read down the columns.
func metricCells(m engine.Metrics) []metricCell {
	f2 := func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
	pct := func(label string, f float64) metricCell { return metricCell{label, fmtPct(f), signCls(f)} }
	return []metricCell{
		{"start equity", f2(m.StartEquity), cPlain},
		{"final equity", f2(m.FinalEquity), signCls(m.FinalEquity - m.StartEquity)},
		pct("total return", m.TotalReturn),
		pct("CAGR", m.CAGR),
		pct("buy & hold", m.BuyAndHoldReturn),
		{"Sharpe", f2(m.Sharpe), signCls(m.Sharpe)},
		{"Sortino", f2(m.Sortino), signCls(m.Sortino)},
		{"Calmar", f2(m.Calmar), signCls(m.Calmar)},
		pct("max drawdown", -m.MaxDrawdown),
		{"max DD time", fmtSpan(time.Duration(m.MaxDrawdownDuration) * time.Millisecond), cPlain},
		{"profit factor", f2(m.ProfitFactor), cPlain},
		{"expectancy", fmtSigned(m.Expectancy, 2), signCls(m.Expectancy)},
		{"win rate", strconv.FormatFloat(m.WinRate*100, 'f', 1, 64) + "%", cPlain},
		{"trades", strconv.Itoa(m.Trades), cPlain},
		pct("avg win", m.AvgWin),
		pct("avg loss", m.AvgLoss),
		pct("best trade", m.BestTrade),
		pct("worst trade", m.WorstTrade),
		{"avg holding", fmtSpan(time.Duration(m.AvgHoldingMinutes * float64(time.Minute))), cPlain},
		{"exposure", strconv.FormatFloat(m.Exposure*100, 'f', 1, 64) + "%", cPlain},
		{"fees", f2(m.Fees), cPlain},
	}
}

const (
	metricLabelW = 13
	metricValueW = 10
	metricGap    = 3
	metricMaxCol = 7
)

// metricsCols is how many columns of metrics fit in w.
func metricsCols(w int) int {
	return max(1, min(metricMaxCol, (w+metricGap)/(metricLabelW+1+metricValueW+metricGap)))
}

// metricsRows is how many rows the metrics take at width w.
func metricsRows(w int) int {
	n := metricsCols(w)
	return (21 + n - 1) / n
}

// metricsGrid lays the metrics out in columns, read downwards.
func metricsGrid(st *Styles, m engine.Metrics, w int) []string {
	cells := metricCells(m)
	cols := metricsCols(w)
	rows := (len(cells) + cols - 1) / cols
	vw := metricValueW
	for _, c := range cells {
		vw = max(vw, len([]rune(c.value)))
	}
	out := make([]string, rows)
	for r := 0; r < rows; r++ {
		var b strings.Builder
		for c := 0; c < cols; c++ {
			i := c*rows + r
			if i >= len(cells) {
				break
			}
			if c > 0 {
				b.WriteString(strings.Repeat(" ", metricGap))
			}
			cell := cells[i]
			st.write(&b, cMuted, padRight(cell.label, metricLabelW))
			b.WriteByte(' ')
			st.write(&b, cell.c, padLeft(cell.value, vw))
		}
		out[r] = b.String()
	}
	return out
}

// ---- charts ----

// chartLines returns the charts in exactly h lines of w cells (cached per size).
func (r *jobResult) chartLines(st *Styles, w, h int) []string {
	if r.charts != nil && r.cw == w && r.ch == h {
		return r.charts
	}
	r.cw, r.ch = w, h
	b := r.d.Backtest
	var lines []string
	if h >= chartMinH && w >= minChartW {
		lines = r.chart.build(st, b.Equity.Times, b.Equity.Values, r.dd, b.Metrics, w, h)
	}
	if lines == nil {
		msg := "enlarge the terminal to see the charts"
		if len(b.Equity.Values) < 2 {
			msg = "no equity curve to chart"
		}
		lines = centered(msg, w, h)
	}
	r.charts = lines
	return lines
}

// equityChart draws the equity curve as a braille line with ntcharts' timeserieslinechart
// (DrawBraille) and the drawdown under it as signed bars (signedChart), sharing the y-axis
// column and the time axis:
//
//	equity ├── rule with the start, the end and the return
//	rows    braille line; a column is green when the equity is at or above the start, red below
//	DD     ├── rule with the max drawdown and its duration
//	rows    drawdown bars down from 0, the deepest in each column
//	times   the chart's time labels
//
// The x values are dot columns, not times: with the view [0, 2·gw − 1] dot column k of the
// braille grid is exactly x = k, so nothing depends on the spacing of the curve's times. A
// curve longer than the dots is drawn by the minimum and maximum of each dot column's points.
type equityChart struct {
	lab     eqLabels
	colUp   []bool
	colDD   []float64
	colTime []int64
	sb      strings.Builder
}

type eqLabels struct {
	width, dec int
	inc        float64
	times      []int64 // per graph column
	layout     string
}

// y labels the row i above the x axis with the value at its middle (ntcharts passes the
// value at its top edge).
func (l *eqLabels) y(i int, v float64) string {
	if i == 0 || l.width == 0 {
		return ""
	}
	return padLeft(fmtPrice(v-l.inc/2, l.dec), l.width)
}

// x labels the time-axis column origin.X+i with the time of graph column i-1 (the start under
// the axis).
func (l *eqLabels) x(i int, _ float64) string {
	j := max(0, i-1)
	if j >= len(l.times) {
		return ""
	}
	return msTime(l.times[j]).Format(l.layout)
}

func spanLayout(span time.Duration) string {
	switch {
	case span < 2*24*time.Hour:
		return "15:04"
	case span < 300*24*time.Hour:
		return "01/02"
	}
	return "2006-01"
}

func (c *equityChart) build(st *Styles, times []int64, vals, dd []float64, m engine.Metrics, w, h int) []string {
	n := min(len(times), len(vals), len(dd))
	if n < 2 {
		return nil
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals[:n] {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if !(hi > lo) {
		pad := math.Max(math.Abs(hi)*1e-4, 1e-9)
		lo, hi = lo-pad, hi+pad
	}
	dec := min(priceDecimals(math.Max(math.Abs(lo), math.Abs(hi))), 2)
	lw := max(len(fmtPrice(hi, dec)), len(fmtPrice(lo, dec)), 6)
	gw := w - lw - 1
	ddH := max(2, (h-3)/3)
	eqH := h - 3 - ddH // graph rows of the equity
	if gw < 10 || eqH < 3 {
		return nil
	}
	dots := 2 * gw

	// Dot column of each point, and per graph column: the last value, the deepest drawdown,
	// the last time.
	dot := func(i int) int {
		if n >= dots {
			return i * dots / n
		}
		return int(math.Round(float64(i) * float64(dots-1) / float64(n-1)))
	}
	c.colUp, c.colDD, c.colTime = c.colUp[:0], c.colDD[:0], c.colTime[:0]
	for j := 0; j < gw; j++ {
		c.colUp, c.colDD, c.colTime = append(c.colUp, true), append(c.colDD, 0), append(c.colTime, 0)
	}
	filled := make([]bool, gw)
	for i := 0; i < n; i++ {
		j := dot(i) / 2
		if !filled[j] {
			filled[j], c.colDD[j] = true, 0
		}
		c.colUp[j] = vals[i] >= vals[0]
		c.colDD[j] = math.Min(c.colDD[j], dd[i])
		c.colTime[j] = times[i]
	}
	for j := 1; j < gw; j++ { // columns between points (a short curve): as the one before
		if !filled[j] {
			c.colUp[j], c.colDD[j], c.colTime[j] = c.colUp[j-1], c.colDD[j-1], c.colTime[j-1]
		}
	}

	c.lab = eqLabels{width: lw, dec: dec, inc: (hi - lo) / float64(eqH), times: c.colTime,
		layout: spanLayout(time.Duration(times[n-1]-times[0]) * time.Millisecond)}
	ts := timeserieslinechart.New(w, eqH+2,
		timeserieslinechart.WithXYSteps(12, max(2, eqH/3)),
		timeserieslinechart.WithXLabelFormatter(c.lab.x),
		timeserieslinechart.WithYLabelFormatter(c.lab.y),
	)
	ts.AutoMinX, ts.AutoMaxX, ts.AutoMinY, ts.AutoMaxY = false, false, false, false
	ts.SetYRange(lo, hi)
	ts.SetViewYRange(lo, hi)
	t0, t1 := time.Unix(0, 0), time.Unix(int64(dots-1), 0)
	ts.SetTimeRange(t0, t1)
	ts.SetViewTimeRange(t0, t1)
	if ts.GraphWidth() != gw || ts.Origin().X != lw {
		return nil // the labels came out wider than planned
	}
	push := func(i int) {
		ts.Push(timeserieslinechart.TimePoint{Time: time.Unix(int64(dot(i)), 0), Value: vals[i]})
	}
	if n <= dots {
		for i := 0; i < n; i++ {
			push(i)
		}
	} else {
		// Each dot column: its lowest and highest point, in time order.
		for k, i := 0, 0; k < dots; k++ {
			end := (k + 1) * n / dots
			if end > n {
				end = n
			}
			if i >= end {
				continue
			}
			iLo, iHi := i, i
			for ; i < end; i++ {
				if vals[i] < vals[iLo] {
					iLo = i
				}
				if vals[i] > vals[iHi] {
					iHi = i
				}
			}
			a, b := min(iLo, iHi), max(iLo, iHi)
			push(a)
			if b != a {
				push(b)
			}
		}
	}
	ts.DrawBraille()

	canvasLines := c.render(st, &ts.Canvas, lw, eqH, w, eqH+2)
	out := make([]string, 0, h)
	ret := 0.0
	if vals[0] != 0 {
		ret = vals[n-1]/vals[0] - 1
	}
	out = append(out, ruleLine(st, "equity", fmt.Sprintf("%s → %s (%s)", fmtPrice(vals[0], 2), fmtPrice(vals[n-1], 2), fmtPct(ret)), lw, gw))
	out = append(out, canvasLines[:eqH]...)
	out = append(out, ruleLine(st, "DD", fmt.Sprintf("max %s · longest %s", fmtPct(-m.MaxDrawdown),
		fmtSpan(time.Duration(m.MaxDrawdownDuration)*time.Millisecond)), lw, gw))
	minDD := 0.0
	for _, x := range c.colDD {
		minDD = math.Min(minDD, x)
	}
	ddc := signedChart{vals: c.colDD, h: ddH, gw: gw, lo: minDD, hi: 0, labelW: lw, axis: true, label: pctAxis}
	out = append(out, ddc.lines(st)...)
	out = append(out, canvasLines[eqH+1]) // the time labels; the x-axis rule is left out
	return out
}

// pctAxis labels a drawdown axis: -12.3%, or -12% when narrow.
func pctAxis(v float64, w int) string {
	for dec := 1; dec >= 0; dec-- {
		if s := strconv.FormatFloat(v*100, 'f', dec, 64) + "%"; len(s) <= w {
			return s
		}
	}
	return ""
}

// render turns the canvas into lines: labels and axes muted, each graph column green at or
// above the starting equity and red below (one escape sequence per colour run).
func (c *equityChart) render(st *Styles, cv *canvas.Model, ox, gh, w, h int) []string {
	return canvasLines(st, cv, w, h, &c.sb, func(x, y int) cls {
		if j := x - ox - 1; x > ox && y < gh && j < len(c.colUp) {
			if c.colUp[j] {
				return cUp
			}
			return cDown
		}
		return cMuted
	})
}

// ruleLine is the line above a chart panel: its name in the gutter (lw cells), then a rule
// across the graph (gw cells) with info on it.
func ruleLine(st *Styles, name, info string, lw, gw int) string {
	pt := newPainter(st)
	if len(name) > lw {
		name = name[:lw]
	}
	pt.blanks(lw - len(name))
	pt.text(cTitle, name)
	pt.cell(cMuted, '├')
	text := "─ " + info + " "
	if n := len([]rune(text)); n+1 <= gw {
		pt.text(cMuted, "─ ")
		pt.text(cPlain, info+" ")
		pt.text(cMuted, strings.Repeat("─", gw-n))
	} else {
		pt.text(cMuted, strings.Repeat("─", max(gw, 0)))
	}
	return pt.line()
}

// ---- lists ----

// listLines draws a list panel (trades or ranking) in exactly h lines of w cells: a title
// line with the position, the column heads, the rows.
func (r *jobResult) listLines(st *Styles, p resultPanel, w, h int) []string {
	out := make([]string, 0, h)
	rows := max(0, h-2)
	r.listRows = rows
	n := r.listLen(p)
	top := max(0, min(r.scroll[p], n-rows))
	r.scroll[p] = top
	var head string
	var body []string
	switch p {
	case panelTrades:
		head, body = tradeRows(st, r.d.Backtest.Trades, top, rows, w)
	case panelRanking:
		head, body = rankingRows(st, r.d.Sweep, top, rows, w)
	}
	name := "trades"
	if p == panelRanking {
		name = "ranking (top " + strconv.Itoa(n) + ")"
	}
	pos := "none"
	if n > 0 {
		pos = fmt.Sprintf("%d–%d of %d", top+1, min(top+rows, n), n)
		if n > rows {
			pos += " · ↑/↓ pgup/pgdn"
		}
	}
	if h >= 1 {
		out = append(out, fit(st.paint(cTitle, name)+st.paint(cMuted, " · "+pos), w))
	}
	if h >= 2 {
		out = append(out, fit(st.paint(cHead, head), w))
	}
	for _, l := range body {
		out = append(out, fit(l, w))
	}
	if n == 0 && h >= 3 {
		out = append(out, fit(st.paint(cMuted, "(none)"), w))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out[:h]
}

// column is one column of a list: its head, alignment, and the cell of row i.
type column struct {
	head  string
	right bool
	cell  func(i int) (string, cls)
}

// table lays out rows [top, top+n) of columns that fit in w: columns are dropped in the order
// of drop (indexes into cols) until the rest fits.
func table(st *Styles, cols []column, drop []int, top, n, total, w int) (string, []string) {
	end := min(total, top+n)
	cells := make([][]string, len(cols))
	classes := make([][]cls, len(cols))
	widths := make([]int, len(cols))
	for j, c := range cols {
		widths[j] = len([]rune(c.head))
		for i := top; i < end; i++ {
			s, k := c.cell(i)
			cells[j] = append(cells[j], s)
			classes[j] = append(classes[j], k)
			widths[j] = max(widths[j], len([]rune(s)))
		}
	}
	shown := make([]bool, len(cols))
	for j := range shown {
		shown[j] = true
	}
	width := func() int {
		t := -1
		for j, ok := range shown {
			if ok {
				t += widths[j] + 1
			}
		}
		return t
	}
	for _, j := range drop {
		if width() <= w {
			break
		}
		shown[j] = false
	}
	cellText := func(j int, s string) string {
		if cols[j].right {
			return padLeft(s, widths[j])
		}
		return padRight(s, widths[j])
	}
	var hb strings.Builder
	for j, c := range cols {
		if !shown[j] {
			continue
		}
		if hb.Len() > 0 {
			hb.WriteByte(' ')
		}
		hb.WriteString(cellText(j, c.head))
	}
	body := make([]string, 0, end-top)
	for i := 0; i < end-top; i++ {
		var b strings.Builder
		first := true
		for j := range cols {
			if !shown[j] {
				continue
			}
			if !first {
				b.WriteByte(' ')
			}
			first = false
			st.write(&b, classes[j][i], cellText(j, cells[j][i]))
		}
		body = append(body, b.String())
	}
	return hb.String(), body
}

func decFloat(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return f
}

// tradeRows are the trades table: number, side, entry and exit times and prices, quantity,
// P&L, P&L %, fees, holding time and exit reason; narrower screens lose quantity, fees,
// holding time, reason and exit time, in that order.
func tradeRows(st *Styles, ts []engine.Trade, top, n, w int) (string, []string) {
	layout := "2006-01-02 15:04"
	if w < 110 {
		layout = "01-02 15:04"
	}
	price := func(d decimal.Decimal) string {
		f := decFloat(d)
		return fmtPrice(f, priceDecimals(f))
	}
	cols := []column{
		{"#", true, func(i int) (string, cls) { return strconv.Itoa(i + 1), cMuted }},
		{"SIDE", false, func(i int) (string, cls) {
			if ts[i].Side == "short" {
				return "short", cDown
			}
			return ts[i].Side, cUp
		}},
		{"ENTRY", false, func(i int) (string, cls) { return msTime(ts[i].EntryTime).Format(layout), cPlain }},
		{"PRICE", true, func(i int) (string, cls) { return price(ts[i].EntryPrice), cPlain }},
		{"EXIT", false, func(i int) (string, cls) { return msTime(ts[i].ExitTime).Format(layout), cPlain }},
		{"PRICE", true, func(i int) (string, cls) { return price(ts[i].ExitPrice), cPlain }},
		{"QTY", true, func(i int) (string, cls) { return fmtQty(decFloat(ts[i].Quantity)), cPlain }},
		{"P&L", true, func(i int) (string, cls) {
			f := decFloat(ts[i].PnL)
			return fmtSigned(f, 2), signCls(f)
		}},
		{"P&L%", true, func(i int) (string, cls) {
			f := decFloat(ts[i].PnLPct)
			return fmtPct(f), signCls(f)
		}},
		{"FEES", true, func(i int) (string, cls) { return strconv.FormatFloat(decFloat(ts[i].Fees), 'f', 2, 64), cMuted }},
		{"HELD", true, func(i int) (string, cls) {
			return fmtSpan(time.Duration(ts[i].ExitTime-ts[i].EntryTime) * time.Millisecond), cPlain
		}},
		{"REASON", false, func(i int) (string, cls) { return ts[i].ExitReason, cMuted }},
	}
	return table(st, cols, []int{6, 9, 10, 11, 4}, top, n, len(ts), w)
}

// rankingRows are a sweep's ranking: rank, parameters, the ranking metric, return, Sharpe,
// max drawdown, trades and win rate.
func rankingRows(st *Styles, s *engine.SweepJobResult, top, n, w int) (string, []string) {
	rows := s.Ranking
	metric := s.RankedBy
	if metric == "" {
		metric = engine.DefaultRankBy
	}
	// The swept parameters: those whose values differ between the rows (all with one row).
	varying := map[string]bool{}
	for _, r := range rows {
		for k, v := range r.Params {
			if v != rows[0].Params[k] {
				varying[k] = true
			}
		}
	}
	params := func(i int) map[string]float64 {
		if len(varying) == 0 {
			return rows[i].Params
		}
		out := make(map[string]float64, len(varying))
		for k := range varying {
			out[k] = rows[i].Params[k]
		}
		return out
	}
	cols := []column{
		{"#", true, func(i int) (string, cls) { return strconv.Itoa(rows[i].Rank), cMuted }},
		{"PARAMS", false, func(i int) (string, cls) { return strategies.Values(params(i)).String(), cPlain }},
	}
	shown := map[string]bool{"total_return": true, "sharpe": true, "max_drawdown": true, "win_rate": true}
	if !shown[metric] {
		cols = append(cols, column{strings.ToUpper(metric), true, func(i int) (string, cls) {
			v, _ := engine.RankValue(metric, rows[i].Metrics)
			switch metric {
			case "cagr":
				return fmtPct(v), signCls(v)
			case "final_equity":
				return strconv.FormatFloat(v, 'f', 2, 64), cPlain
			}
			return strconv.FormatFloat(v, 'f', 2, 64), signCls(v)
		}})
	}
	cols = append(cols,
		column{"RETURN", true, func(i int) (string, cls) {
			v := rows[i].Metrics.TotalReturn
			return fmtPct(v), signCls(v)
		}},
		column{"SHARPE", true, func(i int) (string, cls) {
			v := rows[i].Metrics.Sharpe
			return strconv.FormatFloat(v, 'f', 2, 64), signCls(v)
		}},
		column{"MAX DD", true, func(i int) (string, cls) { return fmtPct(-rows[i].Metrics.MaxDrawdown), cDown }},
		column{"TRADES", true, func(i int) (string, cls) { return strconv.Itoa(rows[i].Metrics.Trades), cPlain }},
		column{"WIN", true, func(i int) (string, cls) {
			return strconv.FormatFloat(rows[i].Metrics.WinRate*100, 'f', 1, 64) + "%", cPlain
		}},
	)
	last := len(cols) - 1
	return table(st, cols, []int{last, last - 1}, top, n, len(rows), w)
}

// wrapText cuts s into lines of at most w cells, at spaces where it can.
func wrapText(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	rs := []rune(s)
	for len(rs) > w {
		cut := w
		for k := w; k > w/2; k-- {
			if rs[k] == ' ' {
				cut = k
				break
			}
		}
		out = append(out, string(rs[:cut]))
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	return append(out, string(rs))
}
