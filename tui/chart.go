package tui

import (
	"math"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart/timeserieslinechart"
	"github.com/charmbracelet/lipgloss"

	"github.com/tradeconsole/tradeconsole/market"
)

// candleChart draws candles with ntcharts' timeserieslinechart.DrawCandle, plus what ntcharts
// has not: volume bars, a last-price tag on the price axis, bodies that read without colour,
// and a fast run-length colouring of the canvas.
//
// Layout of the canvas (h rows):
//
//	rows 0 … gh-base-1   candles (the price axis labels sit left of the y axis)
//	row  gh-base         gap (only with volume)
//	rows gh-volH … gh-1  volume bars, aligned column for column with the candles
//	row  gh              x axis (a ! under each candle of degraded data, see flags)
//	row  h-1             time labels
//
// Columns: one per candle, candle j of the window in column origin.X+1+j. To get exactly one
// column per candle whatever the timeframe, the chart's x values are not times but 2j+1 and
// the view is [0, 2·graphWidth]: candle j scales to j+0.5, which DrawCandle truncates to j,
// so candles never merge and floating-point noise cannot shift one into its neighbour.
//
// DrawCandle draws every body with heavy box-drawing runes and tells up from down only by
// style. Without colour (NO_COLOR) the bodies of down candles are therefore redrawn with
// block elements (█ ▀ ▄) while up candles keep the outlined ┃ ╹ ╻: filled = down,
// outlined = up, at the same half-cell resolution.
type candleChart struct {
	w, h  int
	valid bool
	// noVolume leaves the volume bars out (the Order flow pane draws them as a panel of its
	// own); minLabelW is the least width of the price labels, so that panels drawn under the
	// chart can share its y axis. Set both before setSize.
	noVolume  bool
	minLabelW int
	ts        timeserieslinechart.Model
	lab       *chartLabels
	// overlays are indicator lines and marks are arrows at candles (a bot's fills), both
	// drawn over the window shown; their indexes are those of the series given to build. Set
	// them before build.
	overlays []chartOverlay
	marks    []chartMark
	// flags marks candles of degraded data: flags[i] puts a ! on the x axis under candle i of
	// the series given to build (the Market pane sets it from the engine's degraded spans).
	// Set it before build; nil marks nothing.
	flags []bool

	gh, volH, base int
	dirs           []int8 // per graph column of the last build: +1 up, -1 down
	flagged        []bool // per graph column of the last build: a degraded-data mark on the x axis
	lastRow        int    // canvas row of the last-price tag, -1 when none
	graphW         int    // graph width of the last build (candles that fit)
	originX        int    // column of the y axis in the last build
	lines          []string
	sb             strings.Builder
	over           []cls // per canvas cell (y·w + x): the class of an overlay or mark drawn there; noCls none
}

// chartOverlay is an indicator line drawn over the candles: vals is aligned with the series
// (NaN: no value yet), drawn as one rune per candle column at the value's row, on the cells
// the candles leave blank (a candle hides the line where they cross).
type chartOverlay struct {
	vals []float64
	r    rune
	c    cls
}

// chartMark is an arrow at candle i of the series: a buy ▲ under its low, a sell ▼ over its
// high. Marks are drawn over anything.
type chartMark struct {
	i   int
	buy bool
}

const (
	dsOpen  = "open"
	dsHigh  = "high"
	dsLow   = "low"
	dsClose = "close"
)

// chartLabels holds what the ntcharts label formatters need for the current build.
type chartLabels struct {
	window []market.Candle
	layout string
	width  int     // price label width (constant within a build, so the origin is stable)
	dec    int     // price decimals
	base   int     // rows below the candle area (volume + gap)
	inc    float64 // price per row
}

// yLabel labels canvas row origin.Y-i. ntcharts passes v = viewMinY + i·inc, which is the
// bottom edge of the row above: the price at the middle of row origin.Y-i is v - inc/2.
// Rows of the volume area and the gap get no price label.
func (l *chartLabels) yLabel(i int, v float64) string {
	if l.width == 0 || i <= l.base {
		return ""
	}
	return padLeft(fmtPrice(v-0.5*l.inc, l.dec), l.width)
}

// xLabel labels the time-axis column origin.X+i, i.e. candle i-1 (labels start one column
// left of their candle, under the axis tick). Labels show the candle's open time.
func (l *chartLabels) xLabel(i int, _ float64) string {
	j := i - 1
	if j < 0 || j >= len(l.window) {
		return ""
	}
	return msTime(l.window[j].Start()).Format(l.layout)
}

func timeLayout(tf market.Timeframe) string {
	switch {
	case tf < market.TF1m:
		return "15:04:05"
	case tf < market.TF1d:
		return "15:04"
	}
	return "01/02"
}

// minChartW and minChartH are the smallest sizes the chart is drawn at.
const (
	minChartW = 20
	minChartH = 6
)

func (c *candleChart) setSize(w, h int) {
	if w == c.w && h == c.h {
		return
	}
	c.w, c.h = w, h
	c.valid = w >= minChartW && h >= minChartH
	c.lines = nil
	if !c.valid {
		return
	}
	c.gh = h - 2
	c.volH, c.base = 0, 0
	if c.gh >= 10 && !c.noVolume {
		c.volH = max(2, c.gh/5)
		c.base = c.volH + 1
	}
	c.lab = &chartLabels{base: c.base}
	yStep := max(2, (c.gh-c.base)/8)
	c.ts = timeserieslinechart.New(w, h,
		timeserieslinechart.WithXYSteps(10, yStep),
		timeserieslinechart.WithXLabelFormatter(c.lab.xLabel),
		timeserieslinechart.WithYLabelFormatter(c.lab.yLabel),
	)
	// Ranges are set explicitly before every draw; auto-ranging on push would rescale
	// all data sets on every point.
	c.ts.AutoMinX, c.ts.AutoMaxX, c.ts.AutoMinY, c.ts.AutoMaxY = false, false, false, false
}

// build draws series[start:end], the newest candles that fit ending scroll candles before
// the newest, and returns the window bounds and the rendered lines (exactly h lines of w
// cells). series must not be empty and the chart must be valid.
func (c *candleChart) build(series []market.Candle, tf market.Timeframe, scroll int, st *Styles) (start, end int, lines []string) {
	n := len(series)
	if !c.valid || n == 0 {
		return 0, 0, nil
	}
	dec := priceDecimals(series[n-1].Close)
	loAll, hiAll := series[0].Low, series[0].High
	for _, k := range series {
		loAll, hiAll = math.Min(loAll, k.Low), math.Max(hiAll, k.High)
	}
	lw := max(len(fmtPrice(hiAll, dec)), len(fmtPrice(loAll, dec)), 3, c.minLabelW)
	gw := c.w - lw - 1

	var lo, hi, maxVol, vmin, ys float64
	var win []market.Candle
	for attempt := 0; ; attempt++ {
		if gw < 1 {
			return 0, 0, nil
		}
		end = n - min(max(scroll, 0), max(0, n-gw))
		start = max(0, end-gw)
		win = series[start:end]
		lo, hi, maxVol = win[0].Low, win[0].High, 0
		for _, k := range win {
			lo, hi, maxVol = math.Min(lo, k.Low), math.Max(hi, k.High), math.Max(maxVol, k.Volume)
		}
		for _, o := range c.overlays { // the indicator lines stay in view
			for k := start; k < end && k < len(o.vals); k++ {
				if v := o.vals[k]; !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		if !(hi > lo) {
			pad := math.Max(math.Abs(hi)*1e-4, 1e-9)
			lo, hi = lo-pad, hi+pad
		}
		if len(c.marks) > 0 { // a row above and below for the arrows
			pad := (hi - lo) / float64(max(1, c.gh-c.base-2))
			lo, hi = lo-pad, hi+pad
		}
		ys = (float64(c.gh-c.base) - 0.03) / (hi - lo)
		vmin = lo - (float64(c.base)+0.01)/ys
		vmax := vmin + float64(c.gh)/ys
		*c.lab = chartLabels{window: win, layout: timeLayout(tf), width: lw, dec: dec, base: c.base, inc: 1 / ys}

		c.ts.ClearAllData()
		c.ts.SetYRange(vmin, vmax)
		c.ts.SetViewYRange(vmin, vmax)
		t0, t1 := time.Unix(0, 0), time.Unix(int64(2*gw), 0)
		c.ts.SetTimeRange(t0, t1)
		c.ts.SetViewTimeRange(t0, t1)
		// A label wider than predicted (a price rounding up a digit) moves the origin.
		if g := c.ts.GraphWidth(); g != gw && attempt < 2 {
			gw = g
			continue
		}
		break
	}
	c.graphW = gw

	c.dirs = c.dirs[:0]
	for j, k := range win {
		t := time.Unix(int64(2*j+1), 0)
		c.ts.PushDataSet(dsOpen, timeserieslinechart.TimePoint{Time: t, Value: k.Open})
		c.ts.PushDataSet(dsHigh, timeserieslinechart.TimePoint{Time: t, Value: k.High})
		c.ts.PushDataSet(dsLow, timeserieslinechart.TimePoint{Time: t, Value: k.Low})
		c.ts.PushDataSet(dsClose, timeserieslinechart.TimePoint{Time: t, Value: k.Close})
		d := int8(1)
		if k.Open > k.Close { // DrawCandle's own test for a bear candle
			d = -1
		}
		c.dirs = append(c.dirs, d)
	}
	plain := lipgloss.NewStyle()
	c.ts.DrawCandle(dsOpen, dsHigh, dsLow, dsClose, plain, plain)

	origin := c.ts.Origin()
	c.originX = origin.X
	cv := &c.ts.Canvas
	x0 := origin.X + 1

	// Volume bars in eighths of a row.
	if c.volH > 0 && maxVol > 0 {
		for j, k := range win {
			e := int(math.Round(k.Volume / maxVol * float64(c.volH*8)))
			if k.Volume > 0 && e == 0 {
				e = 1
			}
			x := x0 + j
			for r := 0; e > 0 && r < c.volH; r++ {
				part := min(e, 8)
				cv.SetCell(canvas.Point{X: x, Y: c.gh - 1 - r}, canvas.NewCell(volRunes[part]))
				e -= part
			}
		}
		if s := fmtQty(maxVol); len(s) <= origin.X {
			cv.SetString(canvas.Point{X: origin.X - len(s), Y: c.gh - c.volH}, s)
		}
		if c.volH >= 2 && origin.X >= 3 {
			cv.SetString(canvas.Point{X: origin.X - 3, Y: c.gh - 1}, "vol")
		}
	}

	c.drawOverlays(win, start, x0, vmin, ys)

	// Degraded-data marks on the x axis, under their candles.
	c.flagged = c.flagged[:0]
	for j := range win {
		f := start+j < len(c.flags) && c.flags[start+j]
		c.flagged = append(c.flagged, f)
		if f {
			cv.SetCell(canvas.Point{X: x0 + j, Y: c.gh}, canvas.NewCell('!'))
		}
	}

	// Last-price tag on the price axis.
	c.lastRow = -1
	last := win[len(win)-1].Close
	if row := c.gh - 1 - int(math.Floor((last-vmin)*ys)); row >= 0 && row < c.gh-c.base {
		if tag := fmtPrice(last, dec); len(tag) <= origin.X {
			cv.SetString(canvas.Point{X: 0, Y: row}, padLeft(tag, origin.X))
			cv.SetCell(canvas.Point{X: origin.X, Y: row}, canvas.NewCell('┤'))
			c.lastRow = row
		}
	}

	// Without colour, fill the bodies of down candles.
	if !st.Color {
		for j, d := range c.dirs {
			if d >= 0 {
				continue
			}
			for y := 0; y < c.gh-c.base; y++ {
				p := canvas.Point{X: x0 + j, Y: y}
				if r, ok := filledBody[cv.Cell(p).Rune]; ok {
					cv.SetCell(p, canvas.NewCell(r))
				}
			}
		}
	}

	c.lines = c.render(st, origin.X)
	return start, end, c.lines
}

var volRunes = [9]rune{' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// filledBody maps DrawCandle's heavy (body) runes to block elements of the same extent.
var filledBody = map[rune]rune{
	runes.LineVerticalHeavy: '█', // ┃ full body cell
	runes.LineUpHeavy:       '▀', // ╹ upper half
	runes.LineDownHeavy:     '▄', // ╻ lower half
	runes.LineUpHeavyDown:   '▀', // ╿ body above, wick below
	runes.LineUpDownHeavy:   '▄', // ╽ wick above, body below
}

// drawOverlays draws the indicator lines and the marks of the window series[start:] (drawn in
// columns from x0) and records their classes for render.
func (c *candleChart) drawOverlays(win []market.Candle, start, x0 int, vmin, ys float64) {
	c.over = c.over[:0]
	if len(c.overlays) == 0 && len(c.marks) == 0 {
		return
	}
	for i := 0; i < c.w*c.h; i++ {
		c.over = append(c.over, noCls)
	}
	cv := &c.ts.Canvas
	bottom := c.gh - c.base - 1 // the last row of the candles
	rowOf := func(v float64) int { return c.gh - 1 - int(math.Floor((v-vmin)*ys)) }
	set := func(x, y int, r rune, k cls) {
		if x < 0 || x >= c.w || y < 0 || y > bottom {
			return
		}
		cv.SetCell(canvas.Point{X: x, Y: y}, canvas.NewCell(r))
		c.over[y*c.w+x] = k
	}
	for _, o := range c.overlays {
		for j := range win {
			k := start + j
			if k >= len(o.vals) {
				break
			}
			v := o.vals[k]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			x, y := x0+j, rowOf(v)
			if y < 0 || y > bottom {
				continue
			}
			if r := cv.Cell(canvas.Point{X: x, Y: y}).Rune; r != 0 && r != ' ' {
				continue
			}
			set(x, y, o.r, o.c)
		}
	}
	for _, m := range c.marks {
		j := m.i - start
		if j < 0 || j >= len(win) {
			continue
		}
		if m.buy {
			set(x0+j, min(bottom, rowOf(win[j].Low)+1), '▲', cUp)
		} else {
			set(x0+j, max(0, rowOf(win[j].High)-1), '▼', cDown)
		}
	}
}

// render turns the canvas into lines, colouring by position: candles and volume by the
// direction of their column, axes and labels muted, the last-price tag highlighted. A colour
// run only breaks on a non-blank cell of another class, so a line of candles costs a few
// escape sequences, not one per cell.
func (c *candleChart) render(st *Styles, ox int) []string {
	ndirs := len(c.dirs)
	over := c.over
	flagged := c.flagged
	return canvasLines(st, &c.ts.Canvas, c.w, c.h, &c.sb, func(x, y int) cls {
		if len(over) > 0 {
			if k := over[y*c.w+x]; k != noCls {
				return k
			}
		}
		switch {
		case y == c.gh && x > ox && x-ox-1 < len(flagged) && flagged[x-ox-1]:
			return cWarn
		case x < ox && y == c.lastRow:
			return cLast
		case x <= ox || y >= c.gh:
			return cMuted
		case x-ox-1 < ndirs:
			up := c.dirs[x-ox-1] > 0
			vol := y >= c.gh-c.volH
			switch {
			case vol && up:
				return cVolUp
			case vol:
				return cVolDown
			case up:
				return cUp
			}
			return cDown
		}
		return cPlain
	})
}

// canvasLines turns a w×h canvas into painted lines, the class of each non-blank cell given by
// classify. A colour run only breaks on a non-blank cell of another class, so a line costs a
// few escape sequences, not one per cell. sb is reused scratch.
func canvasLines(st *Styles, cv *canvas.Model, w, h int, sb *strings.Builder, classify func(x, y int) cls) []string {
	lines := make([]string, h)
	for y := 0; y < h; y++ {
		sb.Reset()
		cur := noCls
		for x := 0; x < w; x++ {
			r := cv.Cell(canvas.Point{X: x, Y: y}).Rune
			if r == 0 || r == ' ' {
				sb.WriteByte(' ')
				continue
			}
			if k := classify(x, y); k != cur {
				if cur != noCls {
					sb.WriteString(st.suf[cur])
				}
				sb.WriteString(st.pre[k])
				cur = k
			}
			sb.WriteRune(r)
		}
		if cur != noCls {
			sb.WriteString(st.suf[cur])
		}
		lines[y] = sb.String()
	}
	return lines
}
