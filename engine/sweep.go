package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// MaxSweepCombos is the most combinations one sweep may have.
const MaxSweepCombos = 10_000

// SweepRange is one swept parameter: the values From, From+Step, … up to To inclusive
// (`--sweep name=from:to:step`).
type SweepRange struct {
	Param          string
	From, To, Step float64
}

// ParseSweep parses "name=from:to:step" (e.g. "fast=5:20:5": 5 10 15 20). from, to and step
// are numbers with step > 0 and to ≥ from; whether they suit the parameter (a whole number for
// an Int, inside its range) is checked by SweepGrid against the strategy.
func ParseSweep(s string) (SweepRange, error) {
	bad := func(format string, args ...any) (SweepRange, error) {
		return SweepRange{}, fmt.Errorf("sweep %q: "+format, append([]any{s}, args...)...)
	}
	name, spec, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	parts := strings.Split(spec, ":")
	if !ok || name == "" || len(parts) != 3 {
		return bad("want name=from:to:step, e.g. fast=5:20:5")
	}
	var x [3]float64
	for i, what := range []string{"from", "to", "step"} {
		raw := strings.TrimSpace(parts[i])
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return bad("%s %q is not a number", what, raw)
		}
		x[i] = v
	}
	r := SweepRange{Param: name, From: x[0], To: x[1], Step: x[2]}
	switch {
	case r.Step <= 0:
		return bad("step %s must be positive", fmtNum(r.Step))
	case r.To < r.From:
		return bad("to %s is below from %s", fmtNum(r.To), fmtNum(r.From))
	}
	if r.count() > MaxSweepCombos {
		return bad("%s values; a sweep has at most %d combinations", sweepCount(r.count()), MaxSweepCombos)
	}
	return r, nil
}

// String is the range as ParseSweep reads it.
func (r SweepRange) String() string {
	return r.Param + "=" + fmtNum(r.From) + ":" + fmtNum(r.To) + ":" + fmtNum(r.Step)
}

// count is the number of values, as a float (it may be huge before ParseSweep refuses it).
func (r SweepRange) count() float64 {
	if !(r.Step > 0) || r.To < r.From {
		return 0
	}
	return math.Floor((r.To-r.From)/r.Step+1e-9) + 1
}

// Values lists the range's values; each is From + i·Step rounded to 12 significant digits, so
// that 0.1:0.3:0.1 gives 0.1 0.2 0.3.
func (r SweepRange) Values() []float64 {
	n := r.count()
	if n <= 0 || n > MaxSweepCombos {
		return nil
	}
	out := make([]float64, int(n))
	for i := range out {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(r.From+float64(i)*r.Step, 'g', 12, 64), 64)
		out[i] = v
	}
	return out
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// SweepGrid is the grid of a sweep: the cartesian product of the ranges' values, the other
// parameters taken from base (complete values, as strategies.Resolve returns them). Combination
// k of the grid is in "param order": the first range varies slowest, the last fastest (nested
// loops in the order the ranges are given). It checks each range against the strategy: a known
// parameter, swept once, whole numbers for Int and Bool parameters, every value inside the
// parameter's range; and the size: at most MaxSweepCombos combinations. Rules between
// parameters (fast < slow) are not checked here: Sweep skips the combinations that break them.
func SweepGrid(s strategies.Strategy, base strategies.Values, ranges []SweepRange) ([]strategies.Values, error) {
	if len(ranges) == 0 {
		return nil, errors.New("sweep: no ranges")
	}
	params := map[string]strategies.Param{}
	for _, p := range s.Params() {
		params[p.Name] = p
	}
	var errs []error
	seen := map[string]bool{}
	values := make([][]float64, len(ranges))
	total := 1.0
	for i, r := range ranges {
		p, ok := params[r.Param]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("sweep %s: %s has no parameter %s; it has %s", r, s.Name(), r.Param, sweepParamList(s)))
			continue
		case seen[r.Param]:
			errs = append(errs, fmt.Errorf("sweep %s: %s is swept twice", r, r.Param))
			continue
		}
		seen[r.Param] = true
		if r.Step <= 0 || r.To < r.From {
			errs = append(errs, fmt.Errorf("sweep %s: want from ≤ to and a positive step", r))
			continue
		}
		if p.Kind != strategies.Float && (r.From != math.Trunc(r.From) || r.Step != math.Trunc(r.Step) || r.To != math.Trunc(r.To)) {
			errs = append(errs, fmt.Errorf("sweep %s: %s is a whole number (%s): from, to and step must be whole", r, r.Param, p.Kind))
			continue
		}
		vs := r.Values()
		if len(vs) == 0 || r.count() > MaxSweepCombos {
			errs = append(errs, fmt.Errorf("sweep %s: %s values; a sweep has at most %d combinations", r, sweepCount(r.count()), MaxSweepCombos))
			continue
		}
		if lo, hi := vs[0], vs[len(vs)-1]; lo < p.Min || hi > p.Max {
			errs = append(errs, fmt.Errorf("sweep %s: %s must be from %s to %s; the range goes from %s to %s",
				r, r.Param, fmtNum(p.Min), fmtNum(p.Max), fmtNum(lo), fmtNum(hi)))
			continue
		}
		values[i] = vs
		total *= float64(len(vs))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if total > MaxSweepCombos {
		sizes := make([]string, len(ranges))
		for i, r := range ranges {
			sizes[i] = fmt.Sprintf("%s %d", r.Param, len(values[i]))
		}
		return nil, fmt.Errorf("sweep: %s combinations (%s); a sweep has at most %d: narrow a range or take a larger step",
			sweepCount(total), strings.Join(sizes, " × "), MaxSweepCombos)
	}
	grid := make([]strategies.Values, 0, int(total))
	idx := make([]int, len(ranges))
	for {
		v := make(strategies.Values, len(base)+len(ranges))
		for k, x := range base {
			v[k] = x
		}
		for i, r := range ranges {
			v[r.Param] = values[i][idx[i]]
		}
		grid = append(grid, v)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(values[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return grid, nil
		}
	}
}

func sweepParamList(s strategies.Strategy) string {
	var names []string
	for _, p := range s.Params() {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// rankMetric is a metric a sweep can be ranked by.
type rankMetric struct {
	name  string
	get   func(*Metrics) float64
	lower bool // lower is better
}

var rankMetrics = []rankMetric{
	{"sharpe", func(m *Metrics) float64 { return m.Sharpe }, false},
	{"sortino", func(m *Metrics) float64 { return m.Sortino }, false},
	{"calmar", func(m *Metrics) float64 { return m.Calmar }, false},
	{"total_return", func(m *Metrics) float64 { return m.TotalReturn }, false},
	{"cagr", func(m *Metrics) float64 { return m.CAGR }, false},
	{"final_equity", func(m *Metrics) float64 { return m.FinalEquity }, false},
	{"profit_factor", func(m *Metrics) float64 { return m.ProfitFactor }, false},
	{"win_rate", func(m *Metrics) float64 { return m.WinRate }, false},
	{"expectancy", func(m *Metrics) float64 { return m.Expectancy }, false},
	{"max_drawdown", func(m *Metrics) float64 { return m.MaxDrawdown }, true},
}

// DefaultRankBy is the metric sweeps are ranked by unless told otherwise.
const DefaultRankBy = "sharpe"

// RankMetrics lists the metrics a sweep can be ranked by. Higher is better for each, except
// max_drawdown (lower is better).
func RankMetrics() []string {
	out := make([]string, len(rankMetrics))
	for i, r := range rankMetrics {
		out[i] = r.name
	}
	return out
}

func findRank(name string) (rankMetric, error) {
	if name == "" {
		name = DefaultRankBy
	}
	for _, r := range rankMetrics {
		if r.name == name {
			return r, nil
		}
	}
	return rankMetric{}, fmt.Errorf("rank-by %q is not a metric sweeps rank by; use one of %s", name, strings.Join(RankMetrics(), ", "))
}

// RankValue is the value of a ranking metric (one of RankMetrics; "" means DefaultRankBy) in m.
func RankValue(metric string, m Metrics) (float64, error) {
	r, err := findRank(metric)
	if err != nil {
		return 0, err
	}
	return r.get(&m), nil
}

// CheckRankBy reports whether name is one of RankMetrics ("" means DefaultRankBy).
func CheckRankBy(name string) error {
	_, err := findRank(name)
	return err
}

// better reports whether run a (metrics ma, grid index ia) ranks before run b: the better
// metric, and on a tie the earlier combination in grid order.
func (r rankMetric) better(ma *Metrics, ia int, mb *Metrics, ib int) bool {
	x, y := r.get(ma), r.get(mb)
	if x != y {
		if r.lower {
			return x < y
		}
		return x > y
	}
	return ia < ib
}

// SweepConfig is a parameter sweep.
type SweepConfig struct {
	Strategy strategies.Strategy
	// Base holds the values of the parameters that are not swept (complete, as
	// strategies.Resolve returns them: --param values and defaults); swept ones are replaced.
	Base   strategies.Values
	Ranges []SweepRange
	Broker BrokerConfig
	// RankBy is one of RankMetrics; "" means DefaultRankBy (sharpe).
	RankBy string
	// Workers is the number of backtests run at once; 0 means runtime.NumCPU().
	Workers int
	// Progress, when set, is called on Sweep's goroutine after each combination (run or
	// skipped) with the number done and the grid's size.
	Progress func(done, total int)
	// Flow, when set, are the order-flow snapshots every run steps through (see
	// BacktestOptions.Flow), for order-flow strategies.
	Flow []strategies.FlowPoint
}

// SweepRun is one combination's outcome.
type SweepRun struct {
	Index   int // position in the grid (see SweepGrid), which breaks ranking ties
	Params  strategies.Values
	Metrics Metrics
}

// SweepResult is a finished sweep.
type SweepResult struct {
	RankedBy string
	Ranges   []SweepRange
	Combos   int        // the grid's size
	Runs     []SweepRun // the combinations that ran, best first
	// Skipped counts the combinations the strategy refused (strategies.Check or New: rules
	// between parameters such as fast < slow); SkipReason is the first one's error, in grid
	// order.
	Skipped    int
	SkipReason string
	// Best is the full result of Runs[0] (trades, equity curve, fills, signals).
	Best    BacktestResult
	Workers int
}

// ErrSweepAllSkipped is returned (wrapped) when the strategy refused every combination.
var ErrSweepAllSkipped = errors.New("sweep: the strategy refused every combination")

// Sweep backtests every combination of the grid (SweepGrid) over the same candles with a pool
// of cfg.Workers goroutines, and ranks the runs by cfg.RankBy (ties: grid order), so the
// ranking is the same whatever the number of workers and equals running each combination
// alone. The candles are shared read-only. Combinations the strategy refuses are skipped and
// counted; any other error (bad candles, a failed backtest) stops the sweep. Only the best run
// is kept in full; the others keep their metrics. Cancelling ctx stops the sweep and returns
// ctx.Err().
func Sweep(ctx context.Context, candles []market.Candle, cfg SweepConfig) (SweepResult, error) {
	if cfg.Strategy == nil {
		return SweepResult{}, errors.New("sweep: no strategy")
	}
	rank, err := findRank(cfg.RankBy)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	if _, err := CheckCandles(candles); err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	if err := cfg.Broker.Validate(); err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	grid, err := SweepGrid(cfg.Strategy, cfg.Base, cfg.Ranges)
	if err != nil {
		return SweepResult{}, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, len(grid))

	type outcome struct {
		idx     int
		metrics Metrics
		skip    error
		err     error
	}
	type best struct {
		idx int
		res BacktestResult
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		results = make(chan outcome, workers)
		bests   = make([]best, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() { // owned by Sweep: ends when the grid is done or ctx is cancelled
			defer wg.Done()
			mine := best{idx: -1}
			defer func() { bests[w] = mine }()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(grid) || ctx.Err() != nil {
					return
				}
				o := outcome{idx: i}
				inst, err := sweepInstance(cfg.Strategy, grid[i])
				if err != nil {
					o.skip = err
				} else {
					var bo BacktestOptions
					if cfg.Flow != nil {
						bo.Flow = FlowSlice(cfg.Flow)
					}
					res, err := Backtest(ctx, candles, inst, cfg.Broker, bo)
					switch {
					case err != nil:
						o.err = fmt.Errorf("sweep: %s: %w", grid[i], err)
					default:
						o.metrics = res.Metrics
						if mine.idx < 0 || rank.better(&res.Metrics, i, &mine.res.Metrics, mine.idx) {
							mine = best{idx: i, res: res}
						}
					}
				}
				results <- o
			}
		}()
	}
	go func() { wg.Wait(); close(results) }() // ends when every worker has

	out := SweepResult{RankedBy: rank.name, Ranges: slices.Clone(cfg.Ranges), Combos: len(grid), Workers: workers}
	skipAt := len(grid)
	var firstErr error
	done := 0
	for o := range results {
		done++
		switch {
		case o.err != nil:
			if firstErr == nil {
				firstErr = o.err
				cancel()
			}
		case o.skip != nil:
			out.Skipped++
			if o.idx < skipAt {
				skipAt, out.SkipReason = o.idx, o.skip.Error()
			}
		default:
			out.Runs = append(out.Runs, SweepRun{Index: o.idx, Params: grid[o.idx], Metrics: o.metrics})
		}
		if cfg.Progress != nil && firstErr == nil {
			cfg.Progress(done, len(grid))
		}
	}
	// Every worker has returned: bests is complete.
	if firstErr != nil {
		return SweepResult{}, firstErr
	}
	if err := ctx.Err(); err != nil || done < len(grid) {
		if err == nil {
			err = context.Canceled
		}
		return SweepResult{}, err
	}
	if len(out.Runs) == 0 {
		return out, fmt.Errorf("%w (%d combinations); the first: %s", ErrSweepAllSkipped, out.Skipped, out.SkipReason)
	}
	slices.SortFunc(out.Runs, func(a, b SweepRun) int {
		if a.Index == b.Index {
			return 0
		}
		if rank.better(&a.Metrics, a.Index, &b.Metrics, b.Index) {
			return -1
		}
		return 1
	})
	for _, b := range bests {
		if b.idx == out.Runs[0].Index {
			out.Best = b.res
		}
	}
	return out, nil
}

// sweepInstance checks values and builds an instance.
func sweepInstance(s strategies.Strategy, v strategies.Values) (strategies.Instance, error) {
	if err := strategies.Check(s, v); err != nil {
		return nil, err
	}
	return s.New(v)
}

func sweepCount(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }
