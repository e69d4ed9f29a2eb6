package engine

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// A hand-made curve: a point stamped at a month's first midnight closes the previous month; a
// hole (April) is bridged from the last month end; the first point is only the reference.
func TestMonthlyReturnsHandMade(t *testing.T) {
	ret1 := func(a, b float64) float64 { return a/b - 1 } // at run time, as the code computes it
	c := EquityCurve{
		Times: []int64{
			ms("2024-01-01T00:00:00Z"), // the start: 100
			ms("2024-01-15T00:00:00Z"), // 110
			ms("2024-02-01T00:00:00Z"), // 120: January's end
			ms("2024-02-10T00:00:00Z"), // 90
			ms("2024-03-01T00:00:00Z"), // 96: February's end
			ms("2024-03-15T00:00:00Z"), // 84: March's end
			ms("2024-05-20T00:00:00Z"), // 72 (no point in April)
			ms("2024-05-31T12:00:00Z"), // 105: May's end
			ms("2025-01-01T00:00:00Z"), // 84: December 2024's end
			ms("2025-01-05T00:00:00Z"), // 105: January 2025's end
		},
		Values: []float64{100, 110, 120, 90, 96, 84, 72, 105, 84, 105},
	}
	got := MonthlyReturns(c)
	want := []MonthlyReturn{
		{2024, time.January, ret1(120, 100)},
		{2024, time.February, ret1(96, 120)},
		{2024, time.March, ret1(84, 96)},
		{2024, time.May, ret1(105, 84)},
		{2024, time.December, ret1(84, 105)},
		{2025, time.January, ret1(105, 84)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d months %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("month %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// Exactly: 0.2, −0.2, −0.125, 0.25, −0.2, 0.25 up to float rounding of the divisions.
	for i, w := range []float64{0.2, -0.2, -0.125, 0.25, -0.2, 0.25} {
		if math.Abs(got[i].Return-w) > 1e-15 {
			t.Errorf("month %d: %v, want %v", i, got[i].Return, w)
		}
	}
	rows := monthlyRows(got)
	if len(rows) != 2 || rows[0].Year != 2024 || rows[1].Year != 2025 {
		t.Fatalf("rows %+v", rows)
	}
	cells := rows[0].Cells
	for i, w := range []string{"20.00%", "-20.00%", "-12.50%", "", "25.00%", "", "", "", "", "", "", "-20.00%", "-16.00%"} {
		if cells[i].Text != w {
			t.Errorf("2024 reportCell %d: %q, want %q", i, cells[i].Text, w)
		}
	}
	if cells[0].Class != "pos" || cells[1].Class != "neg" || !strings.Contains(cells[12].Class, "year") {
		t.Errorf("classes %q %q %q", cells[0].Class, cells[1].Class, cells[12].Class)
	}
	if rows[1].Cells[12].Text != "25.00%" {
		t.Errorf("2025: %q", rows[1].Cells[12].Text)
	}

	if MonthlyReturns(EquityCurve{Times: []int64{1}, Values: []float64{100}}) != nil {
		t.Error("one point has no month")
	}
	// A non-positive reference gives NaN, shown as a dash.
	nan := MonthlyReturns(EquityCurve{Times: []int64{ms("2024-01-01T00:00:00Z"), ms("2024-01-02T00:00:00Z")}, Values: []float64{0, 5}})
	if len(nan) != 1 || !math.IsNaN(nan[0].Return) || monthlyCell(nan[0].Return).Text != "—" {
		t.Errorf("zero reference: %+v", nan)
	}
}

func TestFormatters(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatPercent(0.1234), "12.34%"},
		{FormatPercent(-0.05), "-5.00%"},
		{FormatPercent(math.NaN()), "—"},
		{FormatMoney(12345.678), "12,345.68"},
		{FormatMoney(-1234567.5), "-1,234,567.50"},
		{FormatMoney(999.999), "1,000.00"},
		{FormatMoney(-0.001), "0.00"},
		{FormatMoney(0), "0.00"},
		{FormatDuration(0), "0"},
		{FormatDuration(45_000), "45s"},
		{FormatDuration(90 * 60_000), "1h 30m"},
		{FormatDuration((2*24*60 + 3*60 + 4) * 60_000), "2d 3h 4m"},
		{FormatDuration(5 * 60_000), "5m"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	rows := MetricRows(Metrics{TotalReturn: 0.1234, Trades: 7, FinalEquity: 11234, MaxDrawdownDuration: 3 * 3600_000})
	if len(rows) != 21 {
		t.Fatalf("%d metric rows, want 21", len(rows))
	}
	byKey := map[string]string{}
	for _, r := range rows {
		byKey[r.Key] = r.Value
	}
	if byKey["total_return"] != "12.34%" || byKey["trades"] != "7" || byKey["final_equity"] != "11,234.00" || byKey["max_drawdown_duration"] != "3h 0m" {
		t.Errorf("metric rows %v", byKey)
	}
}

// reportRun is sma_cross over three months of 1h candles.
func reportRun(t *testing.T) (BacktestResult, ReportInput) {
	t.Helper()
	t0 := ms("2024-01-01T00:00:00Z")
	candles := btRandomCandles(11, 24*92, market.TF1h, t0)
	s := smaCrossStrategy(t)
	vals := resolve(t, s, map[string]string{"fast": "5", "slow": "20"})
	inst, err := s.New(vals)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultBrokerConfig()
	res, err := Backtest(context.Background(), candles, inst, cfg, BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trades) < 3 {
		t.Fatalf("only %d trades", len(res.Trades))
	}
	return res, ReportInput{Strategy: "sma_cross", Params: vals, Exchange: "csv", Symbol: "<b>BTC&USDT</b>",
		Source: "prices.csv", Timeframe: market.TF1h, Broker: cfg, Result: res}
}

func TestWriteReportIsSelfContained(t *testing.T) {
	res, in := reportRun(t)
	var buf bytes.Buffer
	if err := WriteReport(&buf, in); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "</html>",
		"<title>Backtest: sma_cross allow_short=false fast=5 slow=20</title>",
		"csv &lt;b&gt;BTC&amp;USDT&lt;/b&gt; 1h",  // escaped
		"2024-01-01 00:00 → 2024-04-02 00:00 UTC", // the period
		"<svg viewBox=\"0 0 960 260\"", "<polyline class=\"eq\" points=\"", "<polygon class=\"dda\"",
		"<table id=\"metrics\">", "<table id=\"monthly\">", "<table id=\"trades\">",
		"<th class=\"l\">2024</th>",
		">Trades (" + strconv.Itoa(len(res.Trades)) + ")<",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, r := range MetricRows(res.Metrics) {
		if !strings.Contains(out, `<td data-key="`+r.Key+`">`+r.Value+`</td>`) {
			t.Errorf("report lacks metric %s = %s", r.Key, r.Value)
		}
	}
	tr := res.Trades[0]
	row := "<td>1</td><td class=\"l\">" + tr.Side + "</td><td class=\"l\">" + reportTime(tr.EntryTime) + "</td><td>" + tr.EntryPrice.String() + "</td>"
	if !strings.Contains(out, row) {
		t.Errorf("report lacks the first trade's row %q", row)
	}
	for _, bad := range []string{"http://", "https://", "<script", "<link", "@import", "url(", "<b>BTC"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if n := strings.Count(out, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if strings.Contains(out, "Sweep ranking") {
		t.Error("a single run's report has a sweep section")
	}
}

func TestWriteReportSweepAndLargeCurve(t *testing.T) {
	// A sweep's report lists the ranking; a year of 1m candles is downsampled in the charts.
	candles := btRandomCandles(4, 525_600, market.TF1m, ms("2024-01-01T00:00:00Z"))
	s := smaCrossStrategy(t)
	sw, err := Sweep(context.Background(), candles, SweepConfig{Strategy: s, Base: resolve(t, s, nil),
		Ranges: []SweepRange{{"fast", 50, 60, 10}, {"slow", 200, 300, 100}}, Broker: DefaultBrokerConfig()})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = WriteReport(&buf, ReportInput{Strategy: "sma_cross", Params: sw.Runs[0].Params, Exchange: "sim", Symbol: "BTCUSDT",
		Timeframe: market.TF1m, Broker: DefaultBrokerConfig(), Result: sw.Best, Sweep: &sw})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "Sweep ranking") || !strings.Contains(out, "4 combinations, 4 run, 0 skipped") ||
		!strings.Contains(out, "<td class=\"l\">allow_short=false fast=60 slow=300</td>") {
		t.Error("sweep section missing or incomplete")
	}
	i := strings.Index(out, `class="eq" points="`)
	pts := strings.Count(out[i:i+strings.Index(out[i:], `"/>`)], ",")
	if pts > 2*chartBuckets || pts < chartBuckets {
		t.Errorf("equity chart has %d points for %d candles", pts, len(candles))
	}
	if buf.Len() > 3<<20 && len(sw.Best.Trades) < 5000 {
		t.Errorf("report is %d bytes", buf.Len())
	}
}

// A run without trades, and an empty input, still give a whole page.
func TestWriteReportNoTradesAndEmpty(t *testing.T) {
	candles := btRandomCandles(3, 1, market.TF1h, ms("2024-01-01T00:00:00Z"))
	res, err := Backtest(context.Background(), candles, &scripted{}, DefaultBrokerConfig(), BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []ReportInput{{Strategy: "flat", Result: res}, {}} {
		var buf bytes.Buffer
		if err := WriteReport(&buf, in); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "No trades.") || !strings.Contains(out, "</html>") || !strings.Contains(out, `<td data-key="trades">0</td>`) {
			t.Errorf("report of %q:\n%.400s", in.Strategy, out)
		}
	}
}
