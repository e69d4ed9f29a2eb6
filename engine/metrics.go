package engine

import (
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

// Metrics are the DESIGN.md performance metrics of a run. Every ratio is a fraction (0.05 is
// 5%), never percent. A metric that is undefined (no trades, no losses, a flat curve…) or not
// representable is 0, so the JSON never holds NaN or Inf.
type Metrics struct {
	StartEquity float64 `json:"start_equity"` // the first point of the curve: the starting balance
	FinalEquity float64 `json:"final_equity"` // the last point of the curve
	TotalReturn float64 `json:"total_return"` // final / start − 1
	// CAGR = (final/start)^(1/years) − 1, years = calendar span of the curve (first to last
	// point) / 365.25 days; −1 when final ≤ 0.
	CAGR float64 `json:"cagr"`
	// Sharpe = mean(r) / std(r) · √(bars per year), r the simple returns between consecutive
	// curve points, std the sample standard deviation (n − 1), bars per year = 365.25 days / tf,
	// risk-free rate 0. 0 with fewer than 2 returns or std 0 (≤ 1e-12, float noise).
	Sharpe float64 `json:"sharpe"`
	// Sortino = mean(r) / DD · √(bars per year), DD = √(Σ min(rᵢ, 0)² / n) over all n returns
	// (target 0). 0 with fewer than 2 returns or no negative return (DD ≤ 1e-12).
	Sortino float64 `json:"sortino"`
	Calmar  float64 `json:"calmar"` // CAGR / MaxDrawdown; 0 when there is no drawdown
	// MaxDrawdown is the largest fall from the running peak, as a fraction of that peak.
	MaxDrawdown float64 `json:"max_drawdown"`
	// MaxDrawdownDuration is the longest time under water, in milliseconds: from a peak's time
	// to the first later point at or above it, or to the last point when the curve never gets
	// back (it need not be the duration of the deepest drawdown).
	MaxDrawdownDuration int64 `json:"max_drawdown_duration"`
	// ProfitFactor = Σ winning pnl / |Σ losing pnl| over closed trades (net pnl); 0 when there
	// is no losing trade (no trades, or only winners and breakevens).
	ProfitFactor float64 `json:"profit_factor"`
	Expectancy   float64 `json:"expectancy"` // mean net pnl per closed trade, in quote currency
	WinRate      float64 `json:"win_rate"`   // closed trades with pnl > 0 / closed trades
	Trades       int     `json:"trades"`     // closed trades
	AvgWin       float64 `json:"avg_win"`    // mean pnl_pct of the winning trades
	AvgLoss      float64 `json:"avg_loss"`   // mean pnl_pct of the losing trades (≤ 0)
	BestTrade    float64 `json:"best_trade"` // highest pnl_pct
	WorstTrade   float64 `json:"worst_trade"`
	// AvgHoldingMinutes is the mean of exit time − entry time over closed trades.
	AvgHoldingMinutes float64 `json:"avg_holding_minutes"`
	Exposure          float64 `json:"exposure"` // exposed bars / bars (see Broker.ExposedBars)
	Fees              float64 `json:"fees"`     // total fees paid, quote currency
	// BuyAndHoldReturn = last close / first open − 1 over the same candles.
	BuyAndHoldReturn float64 `json:"buy_and_hold_return"`
}

// MetricsInput is what ComputeMetrics needs.
type MetricsInput struct {
	// The equity curve: Times ascending (unix ms), Equity the value at each time. The first
	// point is the start (the first candle's open time, the starting balance); then one point
	// per candle, at its close.
	Times  []int64
	Equity []float64
	Trades []Trade // closed trades
	// Timeframe of the candles (for bars per year).
	Timeframe            market.Timeframe
	FirstOpen, LastClose float64 // for buy and hold
	Bars, ExposedBars    int
	Fees                 float64
}

// noiseStd is the largest per-bar standard (or downside) deviation treated as 0: float noise
// of a constant return would otherwise give an absurd ratio.
const noiseStd = 1e-12

// msPerYear is 365.25 days in milliseconds.
const msPerYear = 365.25 * 24 * 3600 * 1000

// ComputeMetrics computes the metrics of a run. It is pure: the same input gives the same output.
func ComputeMetrics(in MetricsInput) Metrics {
	var m Metrics
	eq := in.Equity
	n := min(len(eq), len(in.Times))
	if n > 0 {
		m.StartEquity, m.FinalEquity = eq[0], eq[n-1]
		if m.StartEquity > 0 {
			m.TotalReturn = m.FinalEquity/m.StartEquity - 1
			if years := float64(in.Times[n-1]-in.Times[0]) / msPerYear; years > 0 {
				if m.FinalEquity <= 0 {
					m.CAGR = -1
				} else {
					m.CAGR = math.Pow(m.FinalEquity/m.StartEquity, 1/years) - 1
				}
			}
		}
	}

	// Per-bar returns: mean, sample std, downside deviation (one pass for the mean, one for the
	// deviations).
	if nr := n - 1; nr >= 2 {
		sum := 0.0
		for i := 1; i < n; i++ {
			sum += ret(eq[i-1], eq[i])
		}
		mean := sum / float64(nr)
		var ss, down float64
		for i := 1; i < n; i++ {
			r := ret(eq[i-1], eq[i])
			d := r - mean
			ss += d * d
			if r < 0 {
				down += r * r
			}
		}
		ann := 0.0
		if in.Timeframe > 0 {
			ann = math.Sqrt(msPerYear / float64(in.Timeframe.Millis()))
		}
		if sd := math.Sqrt(ss / float64(nr-1)); sd > noiseStd {
			m.Sharpe = mean / sd * ann
		}
		if dd := math.Sqrt(down / float64(nr)); dd > noiseStd {
			m.Sortino = mean / dd * ann
		}
	}

	// Drawdown: depth from the running peak, and the longest time under water.
	if n > 0 {
		peak, peakT := eq[0], in.Times[0]
		under := false
		for i := 1; i < n; i++ {
			v, t := eq[i], in.Times[i]
			if v >= peak {
				if under {
					m.MaxDrawdownDuration = max(m.MaxDrawdownDuration, t-peakT)
					under = false
				}
				peak, peakT = v, t
				continue
			}
			under = true
			if peak > 0 {
				m.MaxDrawdown = max(m.MaxDrawdown, (peak-v)/peak)
			}
		}
		if under {
			m.MaxDrawdownDuration = max(m.MaxDrawdownDuration, in.Times[n-1]-peakT)
		}
	}
	if m.MaxDrawdown > 0 {
		m.Calmar = m.CAGR / m.MaxDrawdown
	}

	// Trades.
	m.Trades = len(in.Trades)
	if m.Trades > 0 {
		var grossWin, grossLoss, sumPnL, sumWin, sumLoss, held float64
		var wins, losses int
		m.BestTrade, m.WorstTrade = math.Inf(-1), math.Inf(1)
		for i := range in.Trades {
			t := &in.Trades[i]
			pnl, pct := toFloat(t.PnL), toFloat(t.PnLPct)
			sumPnL += pnl
			held += float64(t.ExitTime - t.EntryTime)
			m.BestTrade, m.WorstTrade = max(m.BestTrade, pct), min(m.WorstTrade, pct)
			switch {
			case pnl > 0:
				wins++
				grossWin += pnl
				sumWin += pct
			case pnl < 0:
				losses++
				grossLoss -= pnl
				sumLoss += pct
			}
		}
		k := float64(m.Trades)
		m.Expectancy = sumPnL / k
		m.WinRate = float64(wins) / k
		m.AvgHoldingMinutes = held / k / 60000
		if wins > 0 {
			m.AvgWin = sumWin / float64(wins)
		}
		if losses > 0 {
			m.AvgLoss = sumLoss / float64(losses)
			m.ProfitFactor = grossWin / grossLoss
		}
	}

	if in.Bars > 0 {
		m.Exposure = float64(in.ExposedBars) / float64(in.Bars)
	}
	m.Fees = in.Fees
	if in.FirstOpen > 0 {
		m.BuyAndHoldReturn = in.LastClose/in.FirstOpen - 1
	}
	m.sanitize()
	return m
}

// ret is the simple return from a to b; a non-positive a (a short gone under water) uses |a|,
// and a = 0 gives 0.
func ret(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / math.Abs(a)
}

func (m *Metrics) sanitize() {
	for _, p := range []*float64{&m.StartEquity, &m.FinalEquity, &m.TotalReturn, &m.CAGR, &m.Sharpe,
		&m.Sortino, &m.Calmar, &m.MaxDrawdown, &m.ProfitFactor, &m.Expectancy, &m.WinRate, &m.AvgWin,
		&m.AvgLoss, &m.BestTrade, &m.WorstTrade, &m.AvgHoldingMinutes, &m.Exposure, &m.Fees,
		&m.BuyAndHoldReturn} {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			*p = 0
		}
	}
}
