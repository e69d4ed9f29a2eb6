package engine

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/strategies"
)

// The console's result view re-runs a completed job's backtest: the same trades, equity and
// metrics as the direct run; a sweep's detail is its best run plus the ranking; the report is
// written where the engine says.
func TestJobDetailAndReport(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	cs := jbCandles(t, db, 3000)
	p := jbPayload()
	direct := jbDirect(t, cs, p)
	j := jbStart(t, db, JobsOptions{Workers: 1})
	ch := jbSubscribe(t, j)

	e := &Engine{} // only the job methods are used
	reports := filepath.Join(t.TempDir(), "reports")
	e.AttachJobs(j, reports)

	v, err := e.SubmitJob(jbCtx(t), JobTypeBacktest, p)
	if err != nil {
		t.Fatal(err)
	}
	ch.wait(t, v.ID, JobCompleted, JobFailed)
	d, err := e.JobDetail(jbCtx(t), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Backtest == nil || !reflect.DeepEqual(d.Backtest.Metrics, direct.Metrics) || len(d.Backtest.Trades) != len(direct.Trades) ||
		!reflect.DeepEqual(d.Backtest.Equity, direct.Equity) {
		t.Fatalf("detail differs from the direct run")
	}
	if !strings.HasPrefix(d.Title, "sma_cross ") || !strings.Contains(d.Title, p.Symbol) {
		t.Fatalf("title %q", d.Title)
	}
	path, err := e.WriteJobReport(jbCtx(t), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(path, reports) || !strings.Contains(string(b), "<svg") {
		t.Fatalf("report %s: %v", path, err)
	}

	// A sweep: the detail is the ranking and the best run in full.
	sw := SweepJob{BacktestJob: p, Sweep: []string{"fast=3:9:3", "slow=20:30:10"}}
	sv, err := e.SubmitJob(jbCtx(t), JobTypeSweep, sw)
	if err != nil {
		t.Fatal(err)
	}
	ch.wait(t, sv.ID, JobCompleted, JobFailed)
	sd, err := e.JobDetail(jbCtx(t), sv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Sweep == nil || len(sd.Sweep.Ranking) == 0 || sd.Backtest == nil || sd.Backtest.Metrics != sd.Sweep.Ranking[0].Metrics {
		t.Fatalf("sweep detail: best run metrics %+v vs ranking %+v", sd.Backtest, sd.Sweep)
	}

	// A failed job (no candles) has no detail; neither has an unknown job.
	bad := p
	bad.Symbol = "NOPEUSDT"
	fv, err := e.SubmitJob(jbCtx(t), JobTypeBacktest, bad)
	if err != nil {
		t.Fatal(err)
	}
	ch.wait(t, fv.ID, JobCompleted, JobFailed)
	if _, err := e.JobDetail(jbCtx(t), fv.ID); !errors.Is(err, ErrJobNotFinished) {
		t.Fatalf("detail of a failed job: %v", err)
	}
	if _, err := e.JobDetail(jbCtx(t), 999); err == nil {
		t.Fatal("detail of an unknown job")
	}
	var none Engine
	if none.JobsEnabled() || none.Strategies() == nil {
		t.Fatal("engine without jobs")
	}
	if _, err := none.SubmitJob(jbCtx(t), JobTypeBacktest, p); err == nil {
		t.Fatal("submit without a job runner")
	}
	if got := len(Strategies()); got != len(strategies.Builtin().Names()) {
		t.Fatalf("%d strategies", got)
	}
}
