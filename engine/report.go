package engine

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// ReportInput is what WriteReport shows.
type ReportInput struct {
	Strategy  string
	Params    strategies.Values
	Exchange  string // "csv" for a CSV file
	Symbol    string
	Source    string // where the candles came from (a CSV path, the database path); optional
	Timeframe market.Timeframe
	// From and To are the period asked for (unix ms); zero means the equity curve's first and
	// last times.
	From, To int64
	Broker   BrokerConfig
	Result   BacktestResult
	// Sweep, when set, adds the sweep's ranking (the best runs) to the report; Result is then
	// the best run (Sweep.Best).
	Sweep *SweepResult
}

var reportTemplate = template.Must(template.New("report").Parse(reportTemplateText))

// WriteReport writes a self-contained HTML report of a backtest: no script, no stylesheet or
// font or image from elsewhere, so it opens offline. It holds the title (strategy, parameters,
// symbol, timeframe, period), the broker settings, every metric (fractions shown as percent),
// the equity and drawdown charts as inline SVG, the monthly returns (see MonthlyReturns), the
// trades, and for a sweep its ranking. Text goes through html/template, so names and values are
// escaped.
func WriteReport(w io.Writer, r ReportInput) error {
	return reportTemplate.Execute(w, buildReportView(r))
}

// MetricRow is one metric, formatted for people.
type MetricRow struct {
	Key   string // the JSON key (Metrics' json tag)
	Label string
	Value string
}

// MetricRows lists every metric in Metrics' order with a label and a readable value: fractions
// as percent with two decimals, money with two decimals and thousands separators, ratios with
// three decimals, durations as days, hours and minutes.
func MetricRows(m Metrics) []MetricRow {
	pct := func(x float64) string { return FormatPercent(x) }
	ratio := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	return []MetricRow{
		{"start_equity", "Start equity", FormatMoney(m.StartEquity)},
		{"final_equity", "Final equity", FormatMoney(m.FinalEquity)},
		{"total_return", "Total return", pct(m.TotalReturn)},
		{"cagr", "CAGR", pct(m.CAGR)},
		{"sharpe", "Sharpe", ratio(m.Sharpe)},
		{"sortino", "Sortino", ratio(m.Sortino)},
		{"calmar", "Calmar", ratio(m.Calmar)},
		{"max_drawdown", "Max drawdown", pct(m.MaxDrawdown)},
		{"max_drawdown_duration", "Max drawdown duration", FormatDuration(m.MaxDrawdownDuration)},
		{"profit_factor", "Profit factor", ratio(m.ProfitFactor)},
		{"expectancy", "Expectancy (per trade)", FormatMoney(m.Expectancy)},
		{"win_rate", "Win rate", pct(m.WinRate)},
		{"trades", "Trades", strconv.Itoa(m.Trades)},
		{"avg_win", "Average win", pct(m.AvgWin)},
		{"avg_loss", "Average loss", pct(m.AvgLoss)},
		{"best_trade", "Best trade", pct(m.BestTrade)},
		{"worst_trade", "Worst trade", pct(m.WorstTrade)},
		{"avg_holding_minutes", "Average holding time", FormatDuration(int64(math.Round(m.AvgHoldingMinutes * 60000)))},
		{"exposure", "Exposure", pct(m.Exposure)},
		{"fees", "Fees paid", FormatMoney(m.Fees)},
		{"buy_and_hold_return", "Buy and hold return", pct(m.BuyAndHoldReturn)},
	}
}

// FormatPercent shows a fraction as a percentage with two decimals: 0.1234 → "12.34%".
func FormatPercent(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return strconv.FormatFloat(x*100, 'f', 2, 64) + "%"
}

// FormatMoney shows an amount with two decimals and thousands separators: 12345.678 →
// "12,345.68".
func FormatMoney(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if x < 0 && s != "0.00" {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + "." + frac
}

// FormatDuration shows milliseconds as days, hours and minutes ("2d 3h 4m"; "45s" under a
// minute; "0" for none).
func FormatDuration(ms int64) string {
	if ms <= 0 {
		return "0"
	}
	d := time.Duration(ms) * time.Millisecond
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
	}
	days := int64(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h := int64(d / time.Hour)
	d -= time.Duration(h) * time.Hour
	m := int64(math.Round(float64(d) / float64(time.Minute)))
	var parts []string
	if days > 0 {
		parts = append(parts, strconv.FormatInt(days, 10)+"d")
	}
	if h > 0 || days > 0 {
		parts = append(parts, strconv.FormatInt(h, 10)+"h")
	}
	parts = append(parts, strconv.FormatInt(m, 10)+"m")
	return strings.Join(parts, " ")
}

// MonthlyReturn is the return of one calendar month (UTC).
type MonthlyReturn struct {
	Year   int
	Month  time.Month
	Return float64 // a fraction; NaN when the reference equity is not positive
}

// MonthlyReturns computes the month-by-month returns of an equity curve: a month's return is
// the equity at its end over the equity at the previous month's end, minus 1, where
//
//   - the curve's first point (the starting balance, at the first candle's open) is the
//     reference of the first month, and is not itself a member of any month;
//   - every later point at time t belongs to the month that contains t − 1 ms: its stamp is
//     the END of a candle (right-aligned), so the point stamped exactly at a month's first
//     midnight is the equity at the end of the previous month;
//   - a month's end equity is its last point's value.
//
// Months without a point (a hole in the data) are absent; the next month's return is then
// measured from the last month end before the hole. Months are in time order.
func MonthlyReturns(c EquityCurve) []MonthlyReturn {
	n := min(len(c.Times), len(c.Values))
	if n < 2 {
		return nil
	}
	var out []MonthlyReturn
	ref := c.Values[0]
	y, m := -1, time.Month(0)
	var last float64
	flush := func() {
		r := math.NaN()
		if ref > 0 {
			r = last/ref - 1
		}
		out = append(out, MonthlyReturn{Year: y, Month: m, Return: r})
		ref = last
	}
	for i := 1; i < n; i++ {
		t := time.UnixMilli(c.Times[i] - 1).UTC()
		if t.Year() != y || t.Month() != m {
			if y >= 0 {
				flush()
			}
			y, m = t.Year(), t.Month()
		}
		last = c.Values[i]
	}
	flush()
	return out
}

// The view the template prints: everything formatted here.

type reportView struct {
	Title, Subtitle string
	Settings        []reportKV
	Metrics         []MetricRow
	Equity, DD      svgChart
	Months          []monthRow
	HasMonths       bool
	Trades          []tradeRow
	TradeCount      int
	Sweep           *sweepView
}

type reportKV struct{ K, V string }

type monthRow struct {
	Year  int
	Cells []reportCell // 12 months, then the year
}

type reportCell struct{ Text, Class string }

type tradeRow struct {
	N                                                                int
	Side, Entry, EntryPrice, Exit, ExitPrice, Qty, PnL, PnLPct, Fees string
	Reason, Held, Class                                              string
}

type sweepView struct {
	RankedBy                    string
	Combos, Ran, Skipped, Shown int
	SkipReason                  string
	Rows                        []sweepRow
}

type sweepRow struct {
	Rank                                            int
	Params, Ranked, Return, Sharpe, DD, Trades, Win string
}

const reportTimeLayout = "2006-01-02 15:04"

func reportTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(reportTimeLayout) }

func buildReportView(r ReportInput) reportView {
	res := &r.Result
	eq := res.Equity
	from, to := r.From, r.To
	if n := len(eq.Times); n > 0 {
		if from == 0 {
			from = eq.Times[0]
		}
		if to == 0 {
			to = eq.Times[n-1]
		}
	}
	tf := r.Timeframe
	if tf == 0 {
		tf = res.Timeframe
	}
	v := reportView{
		Title: fmt.Sprintf("%s %s", r.Strategy, FormatParams(r.Strategy, r.Params)),
	}
	mkt := strings.Join(strings.Fields(strings.Join([]string{r.Exchange, r.Symbol, tf.String()}, " ")), " ")
	v.Subtitle = fmt.Sprintf("%s · %s → %s UTC · %d candles", mkt, reportTime(from), reportTime(to), res.Candles)

	b := r.Broker
	set := func(k, val string) { v.Settings = append(v.Settings, reportKV{k, val}) }
	set("Strategy", r.Strategy)
	set("Parameters", FormatParams(r.Strategy, r.Params))
	set("Market", mkt)
	if r.Source != "" {
		set("Candles from", r.Source)
	}
	set("Period (UTC)", reportTime(from)+" → "+reportTime(to))
	set("Starting balance", b.Balance.String())
	set("Fee per side", b.Fee.String()+" ("+FormatPercent(toFloat(b.Fee))+")")
	set("Slippage", strconv.FormatFloat(b.SlippageBps, 'f', -1, 64)+" bps")
	set("Position size", FormatPercent(b.PositionSize)+" of equity")
	off := func(x float64) string {
		if x == 0 {
			return "off"
		}
		return FormatPercent(x)
	}
	set("Take-profit", off(b.TakeProfit))
	set("Stop-loss", off(b.StopLoss))
	if b.Timeout > 0 {
		set("Timeout", b.Timeout.String())
	} else {
		set("Timeout", "off")
	}
	set("Shorts", strconv.FormatBool(b.AllowShort))

	v.Metrics = MetricRows(res.Metrics)
	v.Equity = equityChart(eq)
	v.DD = drawdownChart(eq)
	v.Months = monthlyRows(MonthlyReturns(eq))
	v.HasMonths = len(v.Months) > 0

	v.TradeCount = len(res.Trades)
	for i, t := range res.Trades {
		pnl := toFloat(t.PnL)
		class := ""
		switch {
		case pnl > 0:
			class = "pos"
		case pnl < 0:
			class = "neg"
		}
		v.Trades = append(v.Trades, tradeRow{
			N: i + 1, Side: t.Side, Entry: reportTime(t.EntryTime), EntryPrice: t.EntryPrice.String(),
			Exit: reportTime(t.ExitTime), ExitPrice: t.ExitPrice.String(), Qty: t.Quantity.String(),
			PnL: t.PnL.Round(2).String(), PnLPct: FormatPercent(toFloat(t.PnLPct)), Fees: t.Fees.Round(4).String(),
			Reason: t.ExitReason, Held: FormatDuration(t.ExitTime - t.EntryTime), Class: class,
		})
	}

	if s := r.Sweep; s != nil {
		rank, _ := findRank(s.RankedBy)
		sv := &sweepView{RankedBy: s.RankedBy, Combos: s.Combos, Ran: len(s.Runs), Skipped: s.Skipped, SkipReason: s.SkipReason}
		for i, run := range s.Runs {
			if i == reportSweepRows {
				break
			}
			m := run.Metrics
			ranked := ""
			if rank.get != nil {
				ranked = strconv.FormatFloat(rank.get(&m), 'f', 4, 64)
			}
			sv.Rows = append(sv.Rows, sweepRow{Rank: i + 1, Params: FormatParams(r.Strategy, run.Params), Ranked: ranked,
				Return: FormatPercent(m.TotalReturn), Sharpe: strconv.FormatFloat(m.Sharpe, 'f', 3, 64),
				DD: FormatPercent(m.MaxDrawdown), Trades: strconv.Itoa(m.Trades), Win: FormatPercent(m.WinRate)})
		}
		sv.Shown = len(sv.Rows)
		v.Sweep = sv
	}
	return v
}

// reportSweepRows is how many of a sweep's runs the report lists.
const reportSweepRows = 50

func monthlyRows(ms []MonthlyReturn) []monthRow {
	var rows []monthRow
	for _, m := range ms {
		if len(rows) == 0 || rows[len(rows)-1].Year != m.Year {
			rows = append(rows, monthRow{Year: m.Year, Cells: make([]reportCell, 13)})
		}
		rows[len(rows)-1].Cells[m.Month-1] = monthlyCell(m.Return)
	}
	// The year: the product of its months' growth.
	for i := range rows {
		g, any := 1.0, false
		for _, m := range ms {
			if m.Year == rows[i].Year && !math.IsNaN(m.Return) {
				g *= 1 + m.Return
				any = true
			}
		}
		if any {
			rows[i].Cells[12] = monthlyCell(g - 1)
			rows[i].Cells[12].Class += " year"
		}
	}
	return rows
}

func monthlyCell(r float64) reportCell {
	c := reportCell{Text: FormatPercent(r)}
	switch {
	case r > 0:
		c.Class = "pos"
	case r < 0:
		c.Class = "neg"
	}
	return c
}

// Charts: inline SVG, scaled to a fixed viewBox.

const (
	chartW, chartH               = 960, 260
	padL, padR, padT, padB       = 80, 16, 12, 28
	chartBuckets                 = 1200 // at most 2 points per bucket are drawn
	chartPlotW, chartPlotH       = chartW - padL - padR, chartH - padT - padB
	chartYTicks, chartXTicks int = 5, 6
)

type svgChart struct {
	W, H       int
	Points     string // the polyline
	Area       string // a polygon (drawdown), or ""
	X0, X1     int    // plot box
	Y0, Y1     int
	YTicks     []chartTick
	XTicks     []chartTick
	Empty      bool
	StrokeName string
}

type chartTick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor of an x label: the end labels stay inside the chart
}

// chartDownsample keeps, per bucket of consecutive points, the lowest and the highest (in time
// order), so spikes survive; short series are kept whole.
func chartDownsample(ts []int64, vs []float64) ([]int64, []float64) {
	n := len(vs)
	if n <= 2*chartBuckets {
		return ts, vs
	}
	ot := make([]int64, 0, 2*chartBuckets)
	ov := make([]float64, 0, 2*chartBuckets)
	for b := range chartBuckets {
		lo, hi := b*n/chartBuckets, (b+1)*n/chartBuckets
		if lo >= hi {
			continue
		}
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if vs[i] < vs[imin] {
				imin = i
			}
			if vs[i] > vs[imax] {
				imax = i
			}
		}
		a, c := min(imin, imax), max(imin, imax)
		ot, ov = append(ot, ts[a]), append(ov, vs[a])
		if c != a {
			ot, ov = append(ot, ts[c]), append(ov, vs[c])
		}
	}
	return ot, ov
}

func newSVGChart(ts []int64, vs []float64, lo, hi float64, label func(float64) string) (svgChart, func(t int64, v float64) (float64, float64)) {
	c := svgChart{W: chartW, H: chartH, X0: padL, X1: chartW - padR, Y0: padT, Y1: chartH - padB}
	if len(ts) == 0 {
		c.Empty = true
		return c, nil
	}
	t0, t1 := ts[0], ts[len(ts)-1]
	if t1 == t0 {
		t1 = t0 + 1
	}
	if hi-lo < 1e-12*max(1, math.Abs(hi)) {
		hi, lo = hi+max(1e-9, math.Abs(hi)*0.01), lo-max(1e-9, math.Abs(lo)*0.01)
	}
	sx := func(t int64) float64 { return padL + float64(t-t0)/float64(t1-t0)*chartPlotW }
	sy := func(v float64) float64 { return padT + (hi-v)/(hi-lo)*chartPlotH }
	for i := range chartYTicks {
		v := lo + (hi-lo)*float64(i)/float64(chartYTicks-1)
		c.YTicks = append(c.YTicks, chartTick{Pos: chartRound(sy(v)), Label: label(v)})
	}
	layout := "2006-01-02"
	if t1-t0 < 3*24*3600*1000 {
		layout = "01-02 15:04"
	}
	for i := range chartXTicks {
		t := t0 + (t1-t0)*int64(i)/int64(chartXTicks-1)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case chartXTicks - 1:
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, chartTick{Pos: chartRound(sx(t)), Label: time.UnixMilli(t).UTC().Format(layout), Anchor: anchor})
	}
	return c, func(t int64, v float64) (float64, float64) { return sx(t), sy(v) }
}

func chartRound(x float64) float64 { return math.Round(x*10) / 10 }

func chartPoint(b []byte, x, y float64) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	b = strconv.AppendFloat(b, chartRound(x), 'f', -1, 64)
	b = append(b, ',')
	return strconv.AppendFloat(b, chartRound(y), 'f', -1, 64)
}

func equityChart(eq EquityCurve) svgChart {
	ts, vs := chartDownsample(eq.Times, eq.Values)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	c, scale := newSVGChart(ts, vs, lo, hi, FormatMoney)
	if scale == nil {
		return c
	}
	var b []byte
	for i := range ts {
		x, y := scale(ts[i], vs[i])
		b = chartPoint(b, x, y)
	}
	c.Points = string(b)
	return c
}

// Drawdowns returns equity / running peak − 1 (≤ 0; 0 while the peak is not positive) for each
// point of an equity curve: the drawdown charts of the report and the console.
func Drawdowns(values []float64) []float64 {
	dd := make([]float64, len(values))
	peak := math.Inf(-1)
	for i, v := range values {
		peak = max(peak, v)
		if peak > 0 {
			dd[i] = v/peak - 1
		}
	}
	return dd
}

func drawdownChart(eq EquityCurve) svgChart {
	ts, vs := chartDownsample(eq.Times, Drawdowns(eq.Values)) // on the full curve, before downsampling
	lo := 0.0
	for _, v := range vs {
		lo = min(lo, v)
	}
	c, scale := newSVGChart(ts, vs, lo, 0, FormatPercent)
	if scale == nil {
		return c
	}
	var b []byte
	for i := range ts {
		x, y := scale(ts[i], vs[i])
		b = chartPoint(b, x, y)
	}
	c.Points = string(b)
	x0, y0 := scale(ts[0], 0)
	x1, _ := scale(ts[len(ts)-1], 0)
	area := chartPoint(nil, x0, y0)
	area = append(append(area, ' '), b...)
	area = chartPoint(area, x1, y0)
	c.Area = string(area)
	return c
}

// reportTemplateText is the page. Everything it prints is formatted by buildReportView; the
// charts are inline SVG (no xmlns needed in HTML5), the style is inline, there is no script.
const reportTemplateText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backtest: {{.Title}}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #1d2330; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 4px; }
h2 { font-size: 1.15em; margin: 28px 0 8px; border-bottom: 1px solid #dde2ea; padding-bottom: 4px; }
.sub { color: #5b6475; margin: 0 0 16px; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eef1f5; white-space: nowrap; }
th { background: #f5f7fa; font-weight: 600; }
td.l, th.l { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 32px; }
.pos { color: #137333; }
.neg { color: #b3261e; }
td.year { font-weight: 600; border-left: 1px solid #dde2ea; }
.scroll { max-height: 640px; overflow: auto; border: 1px solid #eef1f5; }
svg { width: 100%; height: auto; background: #fbfcfe; border: 1px solid #eef1f5; }
svg text { font-size: 12px; fill: #5b6475; font-family: inherit; }
.axis { stroke: #c5ccd8; stroke-width: 1; }
.gridline { stroke: #eef1f5; stroke-width: 1; }
.eq { fill: none; stroke: #1a73e8; stroke-width: 1.5; }
.dd { fill: none; stroke: #b3261e; stroke-width: 1.2; }
.dda { fill: #b3261e; fill-opacity: 0.15; stroke: none; }
.note { color: #5b6475; font-size: 0.9em; }
footer { margin-top: 32px; color: #8a93a3; font-size: 0.8em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>

<div class="grid">
<section>
<h2>Metrics</h2>
<table id="metrics">
{{range .Metrics}}<tr><th class="l">{{.Label}}</th><td data-key="{{.Key}}">{{.Value}}</td></tr>
{{end}}</table>
</section>
<section>
<h2>Settings</h2>
<table id="settings">
{{range .Settings}}<tr><th class="l">{{.K}}</th><td class="l">{{.V}}</td></tr>
{{end}}</table>
</section>
</div>

<h2>Equity</h2>
{{template "chart" .Equity}}
<h2>Drawdown</h2>
{{template "chart" .DD}}

<h2>Monthly returns</h2>
{{if .HasMonths}}<table id="monthly">
<tr><th class="l">Year</th><th>Jan</th><th>Feb</th><th>Mar</th><th>Apr</th><th>May</th><th>Jun</th><th>Jul</th><th>Aug</th><th>Sep</th><th>Oct</th><th>Nov</th><th>Dec</th><th>Year</th></tr>
{{range .Months}}<tr><th class="l">{{.Year}}</th>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{else}}<p class="note">No complete month.</p>{{end}}

{{with .Sweep}}<h2>Sweep ranking</h2>
<p class="note">{{.Combos}} combinations, {{.Ran}} run, {{.Skipped}} skipped{{if .SkipReason}} (the first: {{.SkipReason}}){{end}}; ranked by {{.RankedBy}}{{if lt .Shown .Ran}}; the best {{.Shown}} shown{{end}}. This report shows the best run.</p>
<table id="sweep">
<tr><th>#</th><th class="l">Parameters</th><th>{{.RankedBy}}</th><th>Total return</th><th>Sharpe</th><th>Max drawdown</th><th>Trades</th><th>Win rate</th></tr>
{{range .Rows}}<tr><td>{{.Rank}}</td><td class="l">{{.Params}}</td><td>{{.Ranked}}</td><td>{{.Return}}</td><td>{{.Sharpe}}</td><td>{{.DD}}</td><td>{{.Trades}}</td><td>{{.Win}}</td></tr>
{{end}}</table>
{{end}}
<h2>Trades ({{.TradeCount}})</h2>
{{if .Trades}}<div class="scroll"><table id="trades">
<tr><th>#</th><th class="l">Side</th><th class="l">Entry (UTC)</th><th>Entry price</th><th class="l">Exit (UTC)</th><th>Exit price</th><th>Quantity</th><th>P&amp;L</th><th>P&amp;L %</th><th>Fees</th><th class="l">Exit reason</th><th>Held</th></tr>
{{range .Trades}}<tr class="{{.Class}}"><td>{{.N}}</td><td class="l">{{.Side}}</td><td class="l">{{.Entry}}</td><td>{{.EntryPrice}}</td><td class="l">{{.Exit}}</td><td>{{.ExitPrice}}</td><td>{{.Qty}}</td><td>{{.PnL}}</td><td>{{.PnLPct}}</td><td>{{.Fees}}</td><td class="l">{{.Reason}}</td><td>{{.Held}}</td></tr>
{{end}}</table></div>
{{else}}<p class="note">No trades.</p>{{end}}
<footer>tradeconsole backtest report · times in UTC · fractions shown as percent</footer>
</body>
</html>
{{define "chart"}}{{if .Empty}}<p class="note">No data.</p>{{else}}<svg viewBox="0 0 {{.W}} {{.H}}" role="img">
{{range .YTicks}}<line class="gridline" x1="{{$.X0}}" x2="{{$.X1}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="{{$.X0}}" dx="-6" y="{{.Pos}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$.Y1}}" dy="18" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}<line class="axis" x1="{{.X0}}" x2="{{.X0}}" y1="{{.Y0}}" y2="{{.Y1}}"/><line class="axis" x1="{{.X0}}" x2="{{.X1}}" y1="{{.Y1}}" y2="{{.Y1}}"/>
{{if .Area}}<polygon class="dda" points="{{.Area}}"/><polyline class="dd" points="{{.Points}}"/>{{else}}<polyline class="eq" points="{{.Points}}"/>{{end}}
</svg>{{end}}{{end}}
`
