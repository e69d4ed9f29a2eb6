package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tradeconsole/tradeconsole/strategies"
)

// JobDetail is a finished job as the console's result view shows it.
type JobDetail struct {
	Job   JobView
	Title string // strategy, parameters, market and period on one line
	// Backtest is the full run of a backtest job, or a sweep's best run. Runs are
	// deterministic, so it is recomputed from the job's payload and the stored candles rather
	// than kept: equal to what the job computed.
	Backtest *BacktestResult
	Sweep    *SweepJobResult // a sweep's ranking
	// report is what WriteJobReport writes.
	report *ReportInput
}

// ErrJobNotFinished is returned by Detail for a job that has no result yet.
var ErrJobNotFinished = errors.New("the job has not completed")

// Detail returns a completed backtest or sweep job with its full result (see JobDetail), or an
// order-flow job with its summary in Job.Result.
func (j *Jobs) Detail(ctx context.Context, id int64) (JobDetail, error) {
	v, err := j.Get(ctx, id)
	if err != nil {
		return JobDetail{}, err
	}
	d := JobDetail{Job: v}
	if v.Status != JobCompleted {
		return d, fmt.Errorf("job %d is %s: %w", id, v.Status, ErrJobNotFinished)
	}
	switch v.Type {
	case JobTypeBacktest:
		pl, err := planBacktest(v.Payload)
		if err != nil {
			return d, err
		}
		return d, j.rerun(ctx, &d, &pl, pl.values, nil)
	case JobTypeSweep:
		pl, err := planSweep(v.Payload)
		if err != nil {
			return d, err
		}
		var res SweepJobResult
		if err := json.Unmarshal(v.Result, &res); err != nil {
			return d, fmt.Errorf("job %d: result: %w", id, err)
		}
		d.Sweep = &res
		if len(res.Ranking) == 0 {
			return d, nil
		}
		best := strategies.Values{}
		for k, x := range pl.values {
			best[k] = x
		}
		for k, x := range res.Ranking[0].Params {
			best[k] = x
		}
		return d, j.rerun(ctx, &d, &pl.backtestPlan, best, &res)
	}
	d.Title = v.Type + " job " + strconv.FormatInt(id, 10)
	return d, nil
}

// rerun recomputes a backtest run for Detail.
func (j *Jobs) rerun(ctx context.Context, d *JobDetail, pl *backtestPlan, values strategies.Values, sweep *SweepJobResult) error {
	cs, err := pl.candles(ctx, j.store)
	if err != nil {
		return err
	}
	inst, err := pl.strat.New(values)
	if err != nil {
		return err
	}
	res, err := Backtest(ctx, cs, inst, pl.cfg, BacktestOptions{})
	if err != nil {
		return err
	}
	d.Backtest = &res
	d.Title = fmt.Sprintf("%s %s · %s %s %s · %s → %s", pl.strat.Name(), strategies.FormatValues(pl.strat, values), pl.p.Exchange, pl.p.Symbol, pl.tf,
		time.UnixMilli(cs[0].Start()).UTC().Format("2006-01-02 15:04"), time.UnixMilli(cs[len(cs)-1].Time).UTC().Format("2006-01-02 15:04"))
	in := &ReportInput{Strategy: pl.strat.Name(), Params: values, Exchange: pl.p.Exchange, Symbol: pl.p.Symbol,
		Timeframe: pl.tf, From: pl.p.From, To: pl.p.To, Broker: pl.cfg, Result: res}
	if sweep != nil {
		sr := &SweepResult{RankedBy: sweep.RankedBy, Combos: sweep.Combos, Skipped: sweep.Skipped, Best: res}
		for _, row := range sweep.Ranking {
			sr.Runs = append(sr.Runs, SweepRun{Params: strategies.Values(row.Params), Metrics: row.Metrics})
		}
		in.Sweep = sr
	}
	d.report = in
	return nil
}

// WriteJobReport writes the HTML report of a completed backtest or sweep job into dir as
// job-<id>-<strategy>.html and returns its path.
func (j *Jobs) WriteJobReport(ctx context.Context, id int64, dir string) (string, error) {
	d, err := j.Detail(ctx, id)
	if err != nil {
		return "", err
	}
	if d.report == nil {
		return "", fmt.Errorf("job %d (%s) has no report", id, d.Job.Type)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("job-%d-%s.html", id, d.report.Strategy))
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	werr := WriteReport(f, *d.report)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("report %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}

// Strategies lists the built-in strategies, for the console's forms.
func Strategies() []strategies.Strategy {
	reg := strategies.Builtin()
	out := make([]strategies.Strategy, 0, len(reg.Names()))
	for _, n := range reg.Names() {
		s, _ := reg.Get(n)
		out = append(out, s)
	}
	return out
}

// AttachJobs makes a job runner part of the engine: the console lists, submits and cancels
// jobs through the engine, and reports go to reportDir. Call it before Start; the runner's
// owner starts and stops it (give its JobsOptions.Publish the engine's Publish so job events
// reach the engine's subscribers).
func (e *Engine) AttachJobs(j *Jobs, reportDir string) {
	e.jobs, e.reportDir = j, reportDir
}

// Publish puts an event on the engine bus (the job runner's events, for one).
func (e *Engine) Publish(ev Event) { e.bus.Publish(ev) }

// errNoJobs is returned by the job methods of an engine without a job runner.
var errNoJobs = errors.New("engine: no job runner")

// JobsEnabled reports whether a job runner is attached.
func (e *Engine) JobsEnabled() bool { return e.jobs != nil }

// SubmitJob queues a job (see Jobs.Submit).
func (e *Engine) SubmitJob(ctx context.Context, jobType string, payload any) (JobView, error) {
	if e.jobs == nil {
		return JobView{}, errNoJobs
	}
	return e.jobs.Submit(ctx, jobType, payload)
}

// CancelJob cancels a pending or running job.
func (e *Engine) CancelJob(ctx context.Context, id int64) error {
	if e.jobs == nil {
		return errNoJobs
	}
	return e.jobs.Cancel(ctx, id)
}

// ListJobs returns up to n jobs, newest first.
func (e *Engine) ListJobs(ctx context.Context, n int) ([]JobView, error) {
	if e.jobs == nil {
		return nil, nil
	}
	return e.jobs.List(ctx, n)
}

// JobDetail returns a completed job's full result (see Jobs.Detail).
func (e *Engine) JobDetail(ctx context.Context, id int64) (JobDetail, error) {
	if e.jobs == nil {
		return JobDetail{}, errNoJobs
	}
	return e.jobs.Detail(ctx, id)
}

// WriteJobReport writes a completed job's HTML report into the report directory and returns
// its path.
func (e *Engine) WriteJobReport(ctx context.Context, id int64) (string, error) {
	if e.jobs == nil {
		return "", errNoJobs
	}
	return e.jobs.WriteJobReport(ctx, id, e.reportDir)
}

// Strategies lists the strategies jobs can run.
func (e *Engine) Strategies() []strategies.Strategy { return Strategies() }

// FormatParams writes a built-in strategy's parameter values as name=value pairs, each as its
// kind is written (true/false for flags).
func FormatParams(strategy string, v map[string]float64) string {
	s, _ := strategies.Builtin().Get(strategy)
	return strategies.FormatValues(s, v)
}
