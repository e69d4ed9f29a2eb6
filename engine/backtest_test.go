package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// btRandomCandles is a random walk of n candles of timeframe tf ending after t0.
func btRandomCandles(seed uint64, n int, tf market.Timeframe, t0 int64) []market.Candle {
	rng := rand.New(rand.NewPCG(seed, 7))
	cs := make([]market.Candle, n)
	price := 100.0
	for i := range cs {
		o := price
		c := o * (1 + rng.NormFloat64()*0.004)
		cs[i] = market.Candle{Exchange: "test", Symbol: "BTCUSDT", Timeframe: tf, Time: t0 + int64(i+1)*tf.Millis(),
			Open: o, High: max(o, c) * (1 + rng.Float64()*0.003), Low: min(o, c) * (1 - rng.Float64()*0.003), Close: c,
			Volume: 1, Trades: 1}
		price = c
	}
	return cs
}

// randomInst acts at random (seeded), with shorts.
type randomInst struct{ rng *rand.Rand }

func newRandomInst(seed uint64) *randomInst { return &randomInst{rand.New(rand.NewPCG(seed, 9))} }

func (r *randomInst) Step(c market.Candle) strategies.Signal {
	acts := []strategies.Action{strategies.Hold, strategies.Hold, strategies.Hold, strategies.Hold, strategies.Hold,
		strategies.EnterLong, strategies.EnterShort, strategies.Exit}
	return strategies.Signal{Time: c.Time, Strategy: "random", Action: acts[r.rng.IntN(len(acts))],
		Value: r.rng.Float64(), Confidence: strategies.Confidence(r.rng.IntN(3))}
}

func (r *randomInst) AllowsShort() bool { return true }

// The round trip of TestBrokerLongRoundTripFillsAtNextOpen through Backtest: the curve, the
// result's ledger and the metrics agree with the broker.
func TestBacktestCurveLedgerAndMetrics(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 109, 111),
	}
	inst := &scripted{acts: map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.Exit}}
	res, err := Backtest(context.Background(), cs, inst, DefaultBrokerConfig(), BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantTimes := []int64{bkOpen(0), bkEnd(0), bkEnd(1), bkEnd(2), bkEnd(3)}
	// 10000 flat; 10000 flat (decided, not filled); 10389.61038961 at 104; 10989.01098901 at
	// 110; 10978.02197802 after the sell.
	wantVals := []float64{10000, 10000, 10389.61038961, 10989.01098901, 10978.02197802}
	if !reflect.DeepEqual(res.Equity.Times, wantTimes) {
		t.Fatalf("times %v, want %v", res.Equity.Times, wantTimes)
	}
	for i, v := range wantVals {
		if math.Abs(res.Equity.Values[i]-v) > 1e-6 {
			t.Fatalf("equity[%d] = %v, want %v", i, res.Equity.Values[i], v)
		}
	}
	wantDec(t, "cash", res.Cash, "10978.02197802")
	wantDec(t, "fees", res.Fees, "20.97902098")
	wantDec(t, "realized", res.Realized, "999.000999")
	if res.Candles != 4 || len(res.Fills) != 2 || len(res.Trades) != 1 || len(res.Signals) != 2 || res.Timeframe != market.TF1h {
		t.Fatalf("candles %d fills %d trades %d signals %d tf %v", res.Candles, len(res.Fills), len(res.Trades), len(res.Signals), res.Timeframe)
	}
	m := res.Metrics
	mxNear(t, "start_equity", m.StartEquity, 10000)
	mxNear(t, "final_equity", m.FinalEquity, 10978.02197802)
	mxNear(t, "total_return", m.TotalReturn, 0.097802197802)
	mxNear(t, "fees", m.Fees, 20.97902098)
	mxNear(t, "exposure", m.Exposure, 0.5) // candles 1 and 2 of 4
	mxNear(t, "buy_and_hold_return", m.BuyAndHoldReturn, 0.11)
	mxNear(t, "avg_holding_minutes", m.AvgHoldingMinutes, 120)
	mxNear(t, "expectancy", m.Expectancy, 978.02197802)
	if m.Trades != 1 || m.WinRate != 1 {
		t.Fatalf("metrics %+v", m)
	}
	// The only drawdown is the exit fee: the sell at 110 (the peak's mark) nets 10978.02197802.
	mxNear(t, "max_drawdown", m.MaxDrawdown, (10989.01098901-10978.02197802)/10989.01098901)

	// AllSignals keeps the Holds too.
	inst = &scripted{acts: map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.Exit}}
	res, _ = Backtest(context.Background(), cs, inst, DefaultBrokerConfig(), BacktestOptions{AllSignals: true})
	if len(res.Signals) != 4 {
		t.Fatalf("AllSignals: %d signals", len(res.Signals))
	}
}

func TestBacktestDeterministic(t *testing.T) {
	cs := btRandomCandles(1, 20000, market.TF1m, bkT0)
	cfg := cfgWith(func(c *BrokerConfig) {
		c.SlippageBps, c.TakeProfit, c.StopLoss, c.Timeout, c.ScaleByConfidence = 5, 0.01, 0.008, 3*time.Hour, true
	})
	run := func() BacktestResult {
		res, err := Backtest(context.Background(), cs, newRandomInst(3), cfg, BacktestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same input differ")
	}
	if len(a.Trades) < 100 {
		t.Fatalf("only %d trades", len(a.Trades))
	}
	// The ledger reconciles, and the curve ends at the final cash.
	lhs, _ := cfg.Balance.Add(a.Realized)
	lhs, _ = lhs.Sub(a.Fees)
	if !lhs.Equal(a.Cash) {
		t.Fatalf("balance + realized − fees = %s, cash %s", lhs, a.Cash)
	}
	if got := a.Equity.Values[len(a.Equity.Values)-1]; got != toFloat(a.Cash) || a.Metrics.FinalEquity != got {
		t.Fatalf("curve ends at %v, metrics %v, cash %s", got, a.Metrics.FinalEquity, a.Cash)
	}
}

func TestBacktestCancellation(t *testing.T) {
	cs := btRandomCandles(2, 10000, market.TF1m, bkT0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Backtest(ctx, cs, newRandomInst(1), DefaultBrokerConfig(), BacktestOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v", err)
	}
	// Cancelled mid-run (from the progress callback).
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var last int
	_, err := Backtest(ctx, cs, newRandomInst(1), DefaultBrokerConfig(), BacktestOptions{ProgressEvery: 1000, Progress: func(done, total int) {
		last = done
		if done == 3000 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled mid-run: %v", err)
	}
	if last != 3000 { // stopped at the next 1,024-candle check (candle 3072), before the 4000 report
		t.Fatalf("progress went on to %d", last)
	}
}

func TestBacktestProgress(t *testing.T) {
	cs := btRandomCandles(3, 5, market.TF1h, bkT0)
	var calls []string
	_, err := Backtest(context.Background(), cs, newRandomInst(1), DefaultBrokerConfig(), BacktestOptions{ProgressEvery: 2, Progress: func(done, total int) {
		calls = append(calls, fmt.Sprintf("%d/%d", done, total))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, " "); got != "2/5 4/5 5/5" {
		t.Fatalf("progress %q", got)
	}
}

func TestBacktestRejectsBadCandles(t *testing.T) {
	good := func() []market.Candle { return btRandomCandles(4, 6, market.TF1h, bkT0) }
	cases := map[string]struct {
		mutate func([]market.Candle) []market.Candle
		want   string
	}{
		"empty":          {func([]market.Candle) []market.Candle { return nil }, "no candles"},
		"no timeframe":   {func(cs []market.Candle) []market.Candle { cs[0].Timeframe = 0; return cs }, "candle 0: timeframe"},
		"out of order":   {func(cs []market.Candle) []market.Candle { cs[3], cs[4] = cs[4], cs[3]; return cs }, "candle 4: time"},
		"duplicate":      {func(cs []market.Candle) []market.Candle { cs[2].Time = cs[1].Time; return cs }, "candle 2: time"},
		"two timeframes": {func(cs []market.Candle) []market.Candle { cs[5].Timeframe = market.TF1m; return cs }, "candle 5: timeframe 1m differs"},
		"off grid":       {func(cs []market.Candle) []market.Candle { cs[3].Time += 60_000; return cs }, "candle 3: time"},
		"bad price":      {func(cs []market.Candle) []market.Candle { cs[4].Low = -1; return cs }, "candle 4: broker"},
	}
	for name, tc := range cases {
		_, err := Backtest(context.Background(), tc.mutate(good()), newRandomInst(1), DefaultBrokerConfig(), BacktestOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, tc.want)
		}
	}
	// Holes on the grid are fine.
	cs := good()
	cs = append(cs[:2], cs[3:]...)
	if _, err := Backtest(context.Background(), cs, newRandomInst(1), DefaultBrokerConfig(), BacktestOptions{}); err != nil {
		t.Errorf("hole: %v", err)
	}
}

// flowInst logs its steps and acts on given snapshots (by index).
type flowInst struct {
	log  []string
	acts map[int]strategies.Action
	nf   int
	nc   int
}

func (f *flowInst) Step(c market.Candle) strategies.Signal {
	f.log = append(f.log, fmt.Sprintf("c%d", f.nc))
	f.nc++
	return strategies.Signal{Time: c.Time}
}

func (f *flowInst) StepFlow(p strategies.FlowPoint) strategies.Signal {
	f.log = append(f.log, fmt.Sprintf("f%d", f.nf))
	sig := strategies.Signal{Time: p.Time, Action: f.acts[f.nf]}
	f.nf++
	return sig
}

func (f *flowInst) AllowsShort() bool { return false }

func TestBacktestOrderFlowInterleaving(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 109, 111),
		bkC(4, 111, 113, 110, 112),
	}
	flow := []strategies.FlowPoint{
		{Time: bkOpen(0) - 60_000},    // f0 before the first candle: fills at candle 0's open
		{Time: bkOpen(1) + 30*60_000}, // f1 inside candle 1: after OnCandle(1), before Step(1); fills at candle 2's open
		{Time: bkEnd(2)},              // f2 at candle 2's end = candle 3's open: fills at candle 4's open
		{Time: bkEnd(4)},              // at the last candle's end: never stepped
	}
	inst := &flowInst{acts: map[int]strategies.Action{0: strategies.EnterLong, 1: strategies.Exit, 2: strategies.EnterLong, 3: strategies.Exit}}
	res, err := Backtest(context.Background(), cs, inst, DefaultBrokerConfig(), BacktestOptions{Flow: FlowSlice(flow)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(inst.log, " "); got != "f0 c0 f1 c1 c2 f2 c3 c4" {
		t.Fatalf("step order %q", got)
	}
	if res.FlowPoints != 3 {
		t.Fatalf("%d snapshots stepped", res.FlowPoints)
	}
	type fk struct {
		time   int64
		side   market.Side
		price  string
		reason string
	}
	want := []fk{
		{bkOpen(0), market.Buy, "100", "signal"},
		{bkOpen(2), market.Sell, "104", "signal"},
		{bkOpen(4), market.Buy, "111", "signal"},
		{bkEnd(4), market.Sell, "112", "end_of_data"},
	}
	if len(res.Fills) != len(want) {
		t.Fatalf("fills %+v", res.Fills)
	}
	for i, w := range want {
		f := res.Fills[i]
		if f.Time != w.time || f.Side != w.side || !f.Price.Equal(dd(w.price)) || f.Reason != w.reason {
			t.Errorf("fill %d: %d %v %s %s, want %+v", i, f.Time, f.Side, f.Price, f.Reason, w)
		}
	}
	// Snapshots out of order, and snapshots for a strategy without an order-flow step.
	bad := []strategies.FlowPoint{{Time: 10}, {Time: 30}, {Time: 20}}
	_, err = Backtest(context.Background(), cs, &flowInst{}, DefaultBrokerConfig(), BacktestOptions{Flow: FlowSlice(bad)})
	if err == nil || !strings.Contains(err.Error(), "snapshot 2") {
		t.Errorf("unordered snapshots: %v", err)
	}
	_, err = Backtest(context.Background(), cs, &scripted{}, DefaultBrokerConfig(), BacktestOptions{Flow: FlowSlice(flow)})
	if err == nil || !strings.Contains(err.Error(), "order-flow") {
		t.Errorf("no FlowStepper: %v", err)
	}
}

// benchInst enters long every 1,000 candles and exits 500 candles later.
type benchInst struct{ i int }

func (b *benchInst) Step(c market.Candle) strategies.Signal {
	b.i++
	switch b.i % 1000 {
	case 0:
		return strategies.Signal{Time: c.Time, Action: strategies.EnterLong, Confidence: strategies.High}
	case 500:
		return strategies.Signal{Time: c.Time, Action: strategies.Exit}
	}
	return strategies.Signal{Time: c.Time}
}

func (b *benchInst) AllowsShort() bool { return false }

// BenchmarkBacktest: a year of 1m candles (525,600) in memory, broker and metrics included.
func BenchmarkBacktest(b *testing.B) {
	cs := btRandomCandles(5, 525_600, market.TF1m, bkT0)
	cfg := cfgWith(func(c *BrokerConfig) { c.StopLoss, c.TakeProfit = 0.02, 0.03 })
	b.ReportAllocs()
	b.ResetTimer()
	var trades int
	for b.Loop() {
		res, err := Backtest(context.Background(), cs, &benchInst{}, cfg, BacktestOptions{})
		if err != nil {
			b.Fatal(err)
		}
		trades = len(res.Trades)
	}
	b.ReportMetric(float64(len(cs))*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
	b.ReportMetric(float64(trades), "trades")
}
