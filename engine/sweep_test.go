package engine

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

func TestParseSweep(t *testing.T) {
	good := map[string]SweepRange{
		"fast=5:20:5":           {"fast", 5, 20, 5},
		" slow = 10:10:1 ":      {"slow", 10, 10, 1},
		"threshold=0.5:0.9:0.1": {"threshold", 0.5, 0.9, 0.1},
	}
	for in, want := range good {
		got, err := ParseSweep(in)
		if err != nil || got != want {
			t.Errorf("ParseSweep(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got := (SweepRange{"fast", 5, 20, 5}).Values(); !reflect.DeepEqual(got, []float64{5, 10, 15, 20}) {
		t.Errorf("5:20:5 values %v", got)
	}
	if got := (SweepRange{"fast", 5, 21, 5}).Values(); !reflect.DeepEqual(got, []float64{5, 10, 15, 20}) {
		t.Errorf("5:21:5 values %v", got)
	}
	if got := (SweepRange{"t", 0.5, 0.9, 0.1}).Values(); !reflect.DeepEqual(got, []float64{0.5, 0.6, 0.7, 0.8, 0.9}) {
		t.Errorf("0.5:0.9:0.1 values %v", got)
	}
	bad := map[string]string{
		"fast":         "want name=from:to:step",
		"fast=5:20":    "want name=from:to:step",
		"=5:20:5":      "want name=from:to:step",
		"fast=a:20:5":  `from "a" is not a number`,
		"fast=5:20:0":  "step 0 must be positive",
		"fast=5:20:-1": "step -1 must be positive",
		"fast=20:5:1":  "to 5 is below from 20",
		"fast=1:1e6:1": "1000000 values; a sweep has at most 10000 combinations",
		"fast=5:NaN:1": `to "NaN" is not a number`,
	}
	for in, want := range bad {
		_, err := ParseSweep(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseSweep(%q) error %v; want it to name the input and say %q", in, err, want)
		}
	}
}

func smaCrossStrategy(t testing.TB) strategies.Strategy {
	s, err := strategies.Builtin().Get("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func resolve(t testing.TB, s strategies.Strategy, text map[string]string) strategies.Values {
	v, err := strategies.Resolve(s, text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSweepGridOrderAndChecks(t *testing.T) {
	s := smaCrossStrategy(t)
	base := resolve(t, s, map[string]string{"allow_short": "true"})
	grid, err := SweepGrid(s, base, []SweepRange{{"fast", 2, 3, 1}, {"slow", 5, 7, 1}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range grid {
		got = append(got, v.String())
	}
	want := []string{
		"allow_short=1 fast=2 slow=5", "allow_short=1 fast=2 slow=6", "allow_short=1 fast=2 slow=7",
		"allow_short=1 fast=3 slow=5", "allow_short=1 fast=3 slow=6", "allow_short=1 fast=3 slow=7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grid order:\n got %q\nwant %q", got, want)
	}
	if base["fast"] != 10 || base["slow"] != 30 {
		t.Errorf("SweepGrid changed its base: %v", base)
	}

	for _, c := range []struct {
		ranges []SweepRange
		want   []string
	}{
		{[]SweepRange{{"nope", 1, 2, 1}}, []string{"sweep nope=1:2:1: sma_cross has no parameter nope; it has fast, slow, allow_short"}},
		{[]SweepRange{{"fast", 2, 3, 1}, {"fast", 4, 5, 1}}, []string{"fast is swept twice"}},
		{[]SweepRange{{"fast", 2.5, 3, 1}}, []string{"sweep fast=2.5:3:1: fast is a whole number (int)"}},
		{[]SweepRange{{"fast", 0, 4, 2}}, []string{"sweep fast=0:4:2: fast must be from 1 to 1000; the range goes from 0 to 4"}},
		{[]SweepRange{{"fast", 1, 200, 1}, {"slow", 2, 200, 1}}, []string{"sweep: 39800 combinations (fast 200 × slow 199); a sweep has at most 10000"}},
		{[]SweepRange{{"nope", 1, 2, 1}, {"fast", 0, 4, 2}}, []string{"no parameter nope", "fast must be from 1"}}, // every problem at once
	} {
		_, err := SweepGrid(s, base, c.ranges)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v; want %q", c.ranges, err, w)
			}
		}
	}
}

// A 3×3 grid (3 of whose combinations break fast < slow) ranks the same with 1 and 4 workers,
// and each run equals the combination backtested alone.
func TestSweepDeterministicAndEqualsRunsAlone(t *testing.T) {
	candles := btRandomCandles(11, 3000, market.TF1m, bkT0)
	s := smaCrossStrategy(t)
	cfg := SweepConfig{
		Strategy: s,
		Base:     resolve(t, s, nil),
		Ranges:   []SweepRange{{"fast", 3, 7, 2}, {"slow", 5, 9, 2}}, // (5,5) (7,5) (7,7) are refused
		Broker:   DefaultBrokerConfig(),
	}
	var results []SweepResult
	for _, w := range []int{1, 4} {
		cfg.Workers = w
		var calls, last int
		cfg.Progress = func(done, total int) { calls++; last = done; _ = total }
		r, err := Sweep(context.Background(), candles, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if calls != 9 || last != 9 {
			t.Errorf("workers %d: progress called %d times, last %d; want 9, 9", w, calls, last)
		}
		if r.Combos != 9 || r.Skipped != 3 || len(r.Runs) != 6 || r.RankedBy != "sharpe" || r.Workers != w {
			t.Fatalf("workers %d: combos %d skipped %d runs %d ranked by %q workers %d", w, r.Combos, r.Skipped, len(r.Runs), r.RankedBy, r.Workers)
		}
		if !strings.Contains(r.SkipReason, "fast (5) must be less than slow (5)") {
			t.Errorf("skip reason %q: want the first refused combination, fast=5 slow=5", r.SkipReason)
		}
		results = append(results, r)
	}
	a, b := results[0], results[1]
	if !reflect.DeepEqual(a.Runs, b.Runs) {
		t.Fatalf("rankings differ between 1 and 4 workers:\n%+v\n%+v", a.Runs, b.Runs)
	}
	if !reflect.DeepEqual(a.Best, b.Best) {
		t.Fatal("best results differ between 1 and 4 workers")
	}
	trades := 0
	for i, run := range a.Runs {
		inst, err := s.New(run.Params)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := Backtest(context.Background(), candles, inst, DefaultBrokerConfig(), BacktestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if alone.Metrics != run.Metrics {
			t.Errorf("run %s: metrics differ from the run alone:\n%+v\n%+v", run.Params, run.Metrics, alone.Metrics)
		}
		if i == 0 && !reflect.DeepEqual(alone, a.Best) {
			t.Errorf("best run %s: full result differs from the run alone", run.Params)
		}
		if i > 0 {
			p := a.Runs[i-1]
			if p.Metrics.Sharpe < run.Metrics.Sharpe || (p.Metrics.Sharpe == run.Metrics.Sharpe && p.Index > run.Index) {
				t.Errorf("runs %d and %d out of order: sharpe %v (#%d) then %v (#%d)", i-1, i, p.Metrics.Sharpe, p.Index, run.Metrics.Sharpe, run.Index)
			}
		}
		trades += run.Metrics.Trades
	}
	if trades == 0 {
		t.Fatal("no run traded: the test says nothing")
	}
	if len(a.Best.Trades) != a.Runs[0].Metrics.Trades || len(a.Best.Equity.Values) != len(candles)+1 {
		t.Errorf("best run not kept in full: %d trades, %d equity points", len(a.Best.Trades), len(a.Best.Equity.Values))
	}
}

// flatStrategy never trades: every combination ties, so ranking is grid order, whatever the
// metric and the direction.
type flatStrategy struct{}

func (flatStrategy) Name() string     { return "flat" }
func (flatStrategy) Describe() string { return "never trades" }
func (flatStrategy) Params() []strategies.Param {
	return []strategies.Param{
		{Name: "a", Kind: strategies.Int, Default: 1, Min: 1, Max: 10},
		{Name: "b", Kind: strategies.Int, Default: 1, Min: 1, Max: 10},
	}
}
func (flatStrategy) New(v strategies.Values) (strategies.Instance, error) {
	if v.Int("a") == 2 {
		return nil, errors.New("a = 2 is refused")
	}
	return &scripted{}, nil
}

func TestSweepTiesKeepGridOrder(t *testing.T) {
	candles := btRandomCandles(3, 200, market.TF1h, bkT0)
	for _, rank := range []string{"sharpe", "max_drawdown"} {
		r, err := Sweep(context.Background(), candles, SweepConfig{
			Strategy: flatStrategy{}, Base: strategies.Values{"a": 1, "b": 1},
			Ranges: []SweepRange{{"a", 1, 3, 1}, {"b", 1, 3, 1}}, Broker: DefaultBrokerConfig(), RankBy: rank, Workers: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		var idx []int
		for _, run := range r.Runs {
			idx = append(idx, run.Index)
		}
		if !reflect.DeepEqual(idx, []int{0, 1, 2, 6, 7, 8}) || r.Skipped != 3 {
			t.Errorf("rank %s: order %v, skipped %d; want grid order without a=2", rank, idx, r.Skipped)
		}
	}
}

func TestSweepRankByMaxDrawdownLowerIsBetter(t *testing.T) {
	candles := btRandomCandles(11, 3000, market.TF1m, bkT0)
	s := smaCrossStrategy(t)
	r, err := Sweep(context.Background(), candles, SweepConfig{
		Strategy: s, Base: resolve(t, s, nil), Ranges: []SweepRange{{"fast", 2, 6, 1}, {"slow", 10, 30, 10}},
		Broker: DefaultBrokerConfig(), RankBy: "max_drawdown",
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(r.Runs); i++ {
		if r.Runs[i-1].Metrics.MaxDrawdown > r.Runs[i].Metrics.MaxDrawdown {
			t.Fatalf("max_drawdown ranking not ascending at %d: %v then %v", i, r.Runs[i-1].Metrics.MaxDrawdown, r.Runs[i].Metrics.MaxDrawdown)
		}
	}
	if r.Runs[0].Metrics.MaxDrawdown == r.Runs[len(r.Runs)-1].Metrics.MaxDrawdown {
		t.Fatal("every run has the same drawdown: the test says nothing")
	}
}

func TestSweepErrors(t *testing.T) {
	candles := btRandomCandles(3, 200, market.TF1h, bkT0)
	s := smaCrossStrategy(t)
	base := resolve(t, s, nil)
	cfg := SweepConfig{Strategy: s, Base: base, Ranges: []SweepRange{{"fast", 2, 4, 1}}, Broker: DefaultBrokerConfig()}

	c := cfg
	c.RankBy = "luck"
	if _, err := Sweep(context.Background(), candles, c); err == nil || !strings.Contains(err.Error(), `rank-by "luck"`) || !strings.Contains(err.Error(), "sharpe, sortino") {
		t.Errorf("unknown rank metric: %v", err)
	}
	c = cfg
	c.Ranges = []SweepRange{{"fast", 30, 40, 5}} // slow is 30: every one refused
	if _, err := Sweep(context.Background(), candles, c); !errors.Is(err, ErrSweepAllSkipped) || !strings.Contains(err.Error(), "must be less than slow") {
		t.Errorf("all skipped: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sweep(ctx, candles, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Sweep(context.Background(), nil, cfg); err == nil || !strings.Contains(err.Error(), "no candles") {
		t.Errorf("no candles: %v", err)
	}
}

// Cancelling a running sweep stops it promptly.
func TestSweepCancelWhileRunning(t *testing.T) {
	candles := btRandomCandles(3, 200_000, market.TF1m, bkT0)
	s := smaCrossStrategy(t)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := SweepConfig{Strategy: s, Base: resolve(t, s, nil), Ranges: []SweepRange{{"fast", 2, 21, 1}, {"slow", 30, 70, 10}},
		Broker: DefaultBrokerConfig(), Workers: 2,
		Progress: func(done, _ int) {
			if done == 2 {
				cancel()
			}
		}}
	start := time.Now()
	_, err := Sweep(ctx, candles, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// BenchmarkSweep100: 100 combinations of sma_cross (fast 5…14 × slow 20…110) over 50,000 1m
// candles, once with one worker and once with runtime.NumCPU() workers; reports both times per
// sweep and the speed-up.
func BenchmarkSweep100(b *testing.B) {
	candles := btRandomCandles(21, 50_000, market.TF1m, bkT0)
	s := smaCrossStrategy(b)
	cfg := SweepConfig{Strategy: s, Base: resolve(b, s, nil),
		Ranges: []SweepRange{{"fast", 5, 14, 1}, {"slow", 20, 110, 10}}, Broker: DefaultBrokerConfig()}
	var one, all time.Duration
	n := 0
	for b.Loop() {
		for _, w := range []int{1, runtime.NumCPU()} {
			cfg.Workers = w
			start := time.Now()
			r, err := Sweep(context.Background(), candles, cfg)
			if err != nil || len(r.Runs) != 100 {
				b.Fatalf("%d runs, %v", len(r.Runs), err)
			}
			if w == 1 {
				one += time.Since(start)
			} else {
				all += time.Since(start)
			}
		}
		n++
	}
	b.ReportMetric(one.Seconds()/float64(n), "s/sweep-1worker")
	b.ReportMetric(all.Seconds()/float64(n), "s/sweep-allcores")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
	b.ReportMetric(one.Seconds()/all.Seconds(), "speedup")
	b.ReportMetric(100*50_000*float64(n)/all.Seconds(), "candles/s-allcores")
}
