package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// BacktestOptions tune Backtest. The zero value is fine.
type BacktestOptions struct {
	// Progress, when set, is called with the number of candles done and the total every
	// ProgressEvery candles (default 10,000) and once more at the end. It runs on Backtest's
	// goroutine: keep it short.
	Progress      func(done, total int)
	ProgressEvery int
	// Flow, when set, yields order-flow snapshots in ascending time order, interleaved with the
	// candles by time (the instance must implement strategies.FlowStepper). FlowSlice adapts a
	// slice. See Backtest for the ordering rules.
	Flow iter.Seq2[strategies.FlowPoint, error]
	// AllSignals keeps every signal in the result, Hold included; by default only the signals
	// whose Action is not Hold are kept.
	AllSignals bool
}

// EquityCurve is equity over time as float64, for charts and metrics. Times[0] is the first
// candle's open time with the starting balance; then one point per candle at its close (Time).
type EquityCurve struct {
	Times  []int64   `json:"times"`
	Values []float64 `json:"values"`
}

// BacktestResult is a finished run.
type BacktestResult struct {
	Metrics Metrics
	Trades  []Trade
	Fills   []Fill
	Equity  EquityCurve
	// Signals are the signals whose Action is not Hold (all of them with AllSignals), from
	// candles and from order-flow snapshots, in the order they were made.
	Signals    []strategies.Signal
	Candles    int
	FlowPoints int // order-flow snapshots stepped
	Timeframe  market.Timeframe
	// The ledger at the end (flat): Cash == Balance + Realized − Fees exactly.
	Cash, Fees, Realized decimal.Decimal
}

// FlowSlice adapts a slice of snapshots to BacktestOptions.Flow.
func FlowSlice(ps []strategies.FlowPoint) iter.Seq2[strategies.FlowPoint, error] {
	return func(yield func(strategies.FlowPoint, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

const defaultProgressEvery = 10000

// Backtest runs inst over candles with a paper broker (see Broker for the fill and ledger
// rules) and computes the metrics. It is event-driven and deterministic: for each candle in
// order, broker.OnCandle(c) fills the waiting decision at c's open and checks TP/SL/timeout
// within c, then inst.Step(c) decides on c's close (broker.Decide), then the equity at c's close
// is recorded. After the last candle, Broker.Finish closes what is open at its close
// ("end_of_data"), and the curve's last point becomes the equity after that close (the final
// cash), so the metrics' final equity reconciles with the trades.
//
// Candles must share one timeframe (candles[0].Timeframe), be in strictly ascending time order
// on that timeframe's grid (holes are allowed) and have positive, consistent prices; the error
// names the first bad index. Shorts are allowed when cfg.AllowShort or inst.AllowsShort().
//
// Order flow (opt.Flow): a snapshot at time t is stepped (StepFlow, then Decide) after every
// candle with Time ≤ t has been stepped and before any candle with Time > t is: snapshots during
// candle c (c.Start() ≤ t < c.Time) come after OnCandle(c) and before Step(c), and a snapshot at
// exactly c.Time comes after Step(c) (it belongs to the next candle's interval). Its decision
// fills at the open of the first candle that opens after t (Start() > t), like a candle's
// decision; when several decisions wait for the same open, the last non-Hold one wins. Snapshots at or after the last candle's Time
// are not stepped (no later open could fill them).
//
// Cancelling ctx stops the run within 1,024 candles and returns ctx.Err().
func Backtest(ctx context.Context, candles []market.Candle, inst strategies.Instance, cfg BrokerConfig, opt BacktestOptions) (BacktestResult, error) {
	if inst == nil {
		return BacktestResult{}, errors.New("backtest: no strategy instance")
	}
	tf, err := CheckCandles(candles)
	if err != nil {
		return BacktestResult{}, fmt.Errorf("backtest: %w", err)
	}
	var flowStep strategies.FlowStepper
	if opt.Flow != nil {
		fs, ok := inst.(strategies.FlowStepper)
		if !ok {
			return BacktestResult{}, errors.New("backtest: order-flow snapshots given but the strategy has no order-flow step")
		}
		flowStep = fs
	}
	cfg.AllowShort = cfg.AllowShort || inst.AllowsShort()
	b, err := NewBroker(cfg, tf)
	if err != nil {
		return BacktestResult{}, err
	}
	every := opt.ProgressEvery
	if every <= 0 {
		every = defaultProgressEvery
	}

	n := len(candles)
	res := BacktestResult{Candles: n, Timeframe: tf}
	res.Equity.Times = make([]int64, n+1)
	res.Equity.Values = make([]float64, n+1)
	res.Equity.Times[0] = candles[0].Time - tf.Millis()
	res.Equity.Values[0] = b.EquityFloat(0)

	keep := func(sig strategies.Signal) {
		if opt.AllSignals || sig.Action != strategies.Hold {
			res.Signals = append(res.Signals, sig)
		}
	}

	// The order-flow cursor.
	var (
		nextFlow  func() (strategies.FlowPoint, error, bool)
		stopFlow  func()
		cur       strategies.FlowPoint
		have      bool
		flowIdx   int
		lastFlowT int64
	)
	advance := func() error {
		p, err, ok := nextFlow()
		if !ok {
			have = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("backtest: order-flow snapshot %d: %w", flowIdx, err)
		}
		if flowIdx > 0 && p.Time < lastFlowT {
			return fmt.Errorf("backtest: order-flow snapshot %d: time %d is before snapshot %d's %d", flowIdx, p.Time, flowIdx-1, lastFlowT)
		}
		cur, have, lastFlowT = p, true, p.Time
		flowIdx++
		return nil
	}
	// stepFlow steps every snapshot with time < until.
	stepFlow := func(until int64) error {
		for have && cur.Time < until {
			sig := flowStep.StepFlow(cur)
			res.FlowPoints++
			keep(sig)
			b.Decide(sig)
			if err := advance(); err != nil {
				return err
			}
		}
		return nil
	}
	if flowStep != nil {
		nextFlow, stopFlow = iter.Pull2(opt.Flow)
		defer stopFlow()
		if err := advance(); err != nil {
			return BacktestResult{}, err
		}
	}

	for i := range candles {
		c := &candles[i]
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return BacktestResult{}, err
			}
		}
		if have {
			if err := stepFlow(c.Time - tf.Millis()); err != nil {
				return BacktestResult{}, err
			}
		}
		fills, err := b.OnCandle(*c)
		if err != nil {
			return BacktestResult{}, fmt.Errorf("backtest: candle %d: %w", i, err)
		}
		res.Fills = append(res.Fills, fills...)
		if have {
			if err := stepFlow(c.Time); err != nil {
				return BacktestResult{}, err
			}
		}
		sig := inst.Step(*c)
		keep(sig)
		b.Decide(sig)
		res.Equity.Times[i+1] = c.Time
		res.Equity.Values[i+1] = b.EquityFloat(c.Close)
		if opt.Progress != nil && (i+1)%every == 0 && i+1 < n {
			opt.Progress(i+1, n)
		}
	}
	last := candles[n-1]
	fills, err := b.Finish(last)
	if err != nil {
		return BacktestResult{}, fmt.Errorf("backtest: candle %d: %w", n-1, err)
	}
	res.Fills = append(res.Fills, fills...)
	res.Equity.Values[n] = b.EquityFloat(last.Close)

	res.Trades = b.Trades()
	res.Cash, res.Fees, res.Realized = b.Cash(), b.Fees(), b.Realized()
	res.Metrics = ComputeMetrics(MetricsInput{
		Times: res.Equity.Times, Equity: res.Equity.Values, Trades: res.Trades, Timeframe: tf,
		FirstOpen: candles[0].Open, LastClose: last.Close,
		Bars: b.Bars(), ExposedBars: b.ExposedBars(), Fees: toFloat(res.Fees),
	})
	if opt.Progress != nil {
		opt.Progress(n, n)
	}
	return res, nil
}

// CheckCandles verifies that candles are non-empty, share candles[0]'s (positive) timeframe
// and are in strictly ascending time order on that timeframe's grid (holes allowed), and
// returns the timeframe. The error names the first bad index.
func CheckCandles(candles []market.Candle) (market.Timeframe, error) {
	if len(candles) == 0 {
		return 0, errors.New("no candles")
	}
	tf := candles[0].Timeframe
	if tf <= 0 {
		return 0, fmt.Errorf("candle 0: timeframe %d is not set", int64(tf))
	}
	step := tf.Millis()
	for i := 1; i < len(candles); i++ {
		c, p := &candles[i], &candles[i-1]
		switch {
		case c.Timeframe != tf:
			return 0, fmt.Errorf("candle %d: timeframe %v differs from candle 0's %v", i, c.Timeframe, tf)
		case c.Time <= p.Time:
			return 0, fmt.Errorf("candle %d: time %d is not after candle %d's %d", i, c.Time, i-1, p.Time)
		case (c.Time-p.Time)%step != 0:
			return 0, fmt.Errorf("candle %d: time %d is not a whole number of %v after candle %d's %d", i, c.Time, tf, i-1, p.Time)
		}
	}
	return tf, nil
}
