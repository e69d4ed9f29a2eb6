package engine

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

const mxYear = int64(365.25 * 24 * 3600 * 1000)

// mxCurve is an hourly curve starting at time 0.
func mxCurve(vals ...float64) MetricsInput {
	in := MetricsInput{Timeframe: market.TF1h, Equity: vals}
	for i := range vals {
		in.Times = append(in.Times, int64(i)*bkHour)
	}
	return in
}

func mxNear(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

// The deepest drawdown is from 120 to 90 (0.25), although 130 and 140 are higher peaks later
// (130 → 110 is only 0.1538…).
func TestMetricsDrawdownPeakNotGlobalMax(t *testing.T) {
	m := ComputeMetrics(mxCurve(100, 120, 90, 130, 110, 140))
	mxNear(t, "max_drawdown", m.MaxDrawdown, 0.25)
	// Under water from 120 (1h) to 130 (3h), and from 130 (3h) to 140 (5h): 2h each.
	if m.MaxDrawdownDuration != 2*bkHour {
		t.Errorf("max_drawdown_duration = %d, want %d", m.MaxDrawdownDuration, 2*bkHour)
	}
	mxNear(t, "start", m.StartEquity, 100)
	mxNear(t, "final", m.FinalEquity, 140)
	mxNear(t, "total_return", m.TotalReturn, 0.4)
}

// The duration is the longest time under water, to the end when the curve never recovers; it
// need not belong to the deepest drawdown.
func TestMetricsDrawdownDuration(t *testing.T) {
	// 100 (0h) under water until 110 (3h): 3h, depth 0.1. 110 (3h) → 80 → 85, never back: 2h to
	// the end, depth 30/110.
	m := ComputeMetrics(mxCurve(100, 90, 95, 110, 80, 85))
	mxNear(t, "max_drawdown", m.MaxDrawdown, 30.0/110)
	if m.MaxDrawdownDuration != 3*bkHour {
		t.Errorf("duration = %d, want 3h", m.MaxDrawdownDuration)
	}
	// Peak 110 at 1h, never recovered: 3h to the last point at 4h.
	m = ComputeMetrics(mxCurve(100, 110, 105, 100, 90))
	mxNear(t, "max_drawdown", m.MaxDrawdown, 20.0/110)
	if m.MaxDrawdownDuration != 3*bkHour {
		t.Errorf("unrecovered duration = %d, want 3h", m.MaxDrawdownDuration)
	}
	// Reaching the old peak exactly ends the drawdown.
	m = ComputeMetrics(mxCurve(100, 90, 100, 100, 100))
	if m.MaxDrawdownDuration != 2*bkHour {
		t.Errorf("recovered-at-equal duration = %d, want 2h", m.MaxDrawdownDuration)
	}
	// No drawdown at all.
	m = ComputeMetrics(mxCurve(100, 101, 102))
	if m.MaxDrawdown != 0 || m.MaxDrawdownDuration != 0 || m.Calmar != 0 {
		t.Errorf("rising curve: %+v", m)
	}
}

// Returns 0.1, −0.1, 0.1 on a daily curve: mean 1/30, sample std √(1/75) = 0.11547…, so the
// per-bar Sharpe is (1/30)/√(1/75) = √3/6; downside deviation √(0.1²/3) = 0.1/√3, per-bar
// Sortino (1/30)/(0.1/√3) = √3/3; both × √365.25.
func TestMetricsSharpeSortinoByHand(t *testing.T) {
	in := MetricsInput{Timeframe: market.TF1d, Equity: []float64{100, 110, 99, 108.9}}
	for i := range in.Equity {
		in.Times = append(in.Times, int64(i)*24*bkHour)
	}
	m := ComputeMetrics(in)
	mxNear(t, "sharpe", m.Sharpe, math.Sqrt(3)/6*math.Sqrt(365.25))
	mxNear(t, "sortino", m.Sortino, math.Sqrt(3)/3*math.Sqrt(365.25))
	// Hourly bars: × √(365.25·24).
	for i := range in.Times {
		in.Times[i] = int64(i) * bkHour
	}
	in.Timeframe = market.TF1h
	m = ComputeMetrics(in)
	mxNear(t, "sharpe 1h", m.Sharpe, math.Sqrt(3)/6*math.Sqrt(365.25*24))
	// No negative return: Sortino undefined → 0; a constant return: std 0 → Sharpe 0.
	m = ComputeMetrics(mxCurve(100, 110, 121, 133.1))
	if m.Sortino != 0 || m.Sharpe != 0 {
		t.Errorf("constant 10%% returns: sharpe %v sortino %v, want 0, 0", m.Sharpe, m.Sortino)
	}
}

// Two calendar years from 100 to 121: CAGR 10%; drawdown 100 → 80 = 0.2; Calmar 0.5.
func TestMetricsCAGRCalmar(t *testing.T) {
	m := ComputeMetrics(MetricsInput{Timeframe: market.TF1d, Times: []int64{0, mxYear, 2 * mxYear}, Equity: []float64{100, 80, 121}})
	mxNear(t, "total_return", m.TotalReturn, 0.21)
	mxNear(t, "cagr", m.CAGR, 0.1)
	mxNear(t, "max_drawdown", m.MaxDrawdown, 0.2)
	mxNear(t, "calmar", m.Calmar, 0.5)
	if m.MaxDrawdownDuration != 2*mxYear {
		t.Errorf("duration = %d, want two years", m.MaxDrawdownDuration)
	}
}

func mxTrade(pnl, pct string, minutes int64) Trade {
	return Trade{PnL: dd(pnl), PnLPct: dd(pct), EntryTime: bkT0, ExitTime: bkT0 + minutes*60_000}
}

func TestMetricsTradeList(t *testing.T) {
	in := mxCurve(100, 101)
	in.Trades = []Trade{
		mxTrade("100", "0.01", 60),
		mxTrade("-50", "-0.005", 120),
		mxTrade("30", "0.003", 30),
		mxTrade("0", "0", 30),
		mxTrade("-20", "-0.002", 60),
	}
	m := ComputeMetrics(in)
	if m.Trades != 5 {
		t.Errorf("trades = %d", m.Trades)
	}
	// Gross win 130, gross loss 70.
	mxNear(t, "profit_factor", m.ProfitFactor, 130.0/70)
	mxNear(t, "expectancy", m.Expectancy, 60.0/5)
	mxNear(t, "win_rate", m.WinRate, 2.0/5) // the breakeven trade is not a win
	mxNear(t, "avg_win", m.AvgWin, (0.01+0.003)/2)
	mxNear(t, "avg_loss", m.AvgLoss, (-0.005-0.002)/2)
	mxNear(t, "best_trade", m.BestTrade, 0.01)
	mxNear(t, "worst_trade", m.WorstTrade, -0.005)
	mxNear(t, "avg_holding_minutes", m.AvgHoldingMinutes, (60+120+30+30+60)/5.0)

	// Only winners (and a breakeven): profit factor 0 (undefined), avg_loss 0.
	in.Trades = []Trade{mxTrade("10", "0.001", 1), mxTrade("0", "0", 1)}
	m = ComputeMetrics(in)
	if m.ProfitFactor != 0 || m.AvgLoss != 0 || m.WinRate != 0.5 {
		t.Errorf("no losses: %+v", m)
	}
	// No trades at all.
	in.Trades = nil
	m = ComputeMetrics(in)
	if m.Trades != 0 || m.ProfitFactor != 0 || m.BestTrade != 0 || m.WorstTrade != 0 || m.WinRate != 0 || m.Expectancy != 0 {
		t.Errorf("no trades: %+v", m)
	}
}

func TestMetricsBuyAndHoldExposureFees(t *testing.T) {
	in := mxCurve(100, 101)
	in.FirstOpen, in.LastClose = 80, 100
	in.Bars, in.ExposedBars = 10, 4
	in.Fees = 12.5
	m := ComputeMetrics(in)
	mxNear(t, "buy_and_hold_return", m.BuyAndHoldReturn, 0.25)
	mxNear(t, "exposure", m.Exposure, 0.4)
	mxNear(t, "fees", m.Fees, 12.5)
}

// Degenerate inputs never produce NaN or Inf (the JSON must encode).
func TestMetricsDegenerateAreZeroAndEncode(t *testing.T) {
	for name, in := range map[string]MetricsInput{
		"empty":    {},
		"onePoint": mxCurve(100),
		"negative": mxCurve(100, -10, 5),
		"flat":     mxCurve(100, 100, 100),
		"instant":  {Times: []int64{5, 5}, Equity: []float64{100, 200}},
	} {
		m := ComputeMetrics(in)
		if _, err := json.Marshal(m); err != nil {
			t.Errorf("%s: %v (%+v)", name, err, m)
		}
		if name == "negative" && m.CAGR != -1 {
			t.Errorf("negative final equity: cagr %v, want -1", m.CAGR)
		}
	}
}

func TestMetricsJSONKeys(t *testing.T) {
	b, err := json.Marshal(Metrics{})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"start_equity", "final_equity", "total_return", "cagr", "sharpe", "sortino", "calmar",
		"max_drawdown", "max_drawdown_duration", "profit_factor", "expectancy", "win_rate", "trades", "avg_win",
		"avg_loss", "best_trade", "worst_trade", "avg_holding_minutes", "exposure", "fees", "buy_and_hold_return"}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v\nwant %v", keys, want)
	}
}
