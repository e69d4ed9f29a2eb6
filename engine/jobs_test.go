package engine

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

const (
	jbExchange = "test"
	jbSymbol   = "BTCUSDT"
)

// jbT0 is an aligned 1m stamp.
var jbT0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

func jbCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// jbOpen opens a store at path, closed at the end of the test.
func jbOpen(t *testing.T, path string) *storage.DB {
	t.Helper()
	db := openStore(t, path)
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// jbCandles stores n random-walk 1m candles and returns them as the store reads them back.
func jbCandles(t *testing.T, db *storage.DB, n int) []market.Candle {
	t.Helper()
	cs := btRandomCandles(42, n, market.TF1m, jbT0)
	db.UpsertCandles(cs...)
	ctx := jbCtx(t)
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Candles(ctx, jbExchange, jbSymbol, market.TF1m, 0, 1<<62)
	if err != nil || len(got) != n {
		t.Fatalf("stored candles: %d, %v", len(got), err)
	}
	return got
}

func jbPayload() BacktestJob {
	return BacktestJob{
		Strategy: "sma_cross", Params: map[string]string{"fast": "5", "slow": "20"},
		Exchange: jbExchange, Symbol: jbSymbol, Timeframe: "1m",
		JobBroker: JobBroker{Fee: "0.001", SlippageBps: 2, TakeProfit: 0.02, StopLoss: 0.01},
	}
}

// jbDirect runs the payload's backtest directly.
func jbDirect(t *testing.T, cs []market.Candle, p BacktestJob) BacktestResult {
	t.Helper()
	s, err := strategies.Builtin().Get(p.Strategy)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := s.New(resolve(t, s, p.Params))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := p.JobBroker.Config()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Backtest(context.Background(), cs, inst, cfg, BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func jbStart(t *testing.T, store JobStore, opt JobsOptions) *Jobs {
	t.Helper()
	j := NewJobs(store, opt)
	if err := j.Start(jbCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return j
}

// jbSub records a runner's events by job, so that waiting for one job keeps the others'.
type jbSub struct {
	ch   <-chan Event
	seen map[int64][]JobView
}

func jbSubscribe(t *testing.T, j *Jobs) *jbSub {
	return &jbSub{ch: j.Subscribe(jbCtx(t)), seen: map[int64][]JobView{}}
}

func jbIn(s JobStatus, want []JobStatus) bool {
	for _, w := range want {
		if s == w {
			return true
		}
	}
	return false
}

// wait returns job id's events up to the first one with a status in want.
func (s *jbSub) wait(t *testing.T, id int64, want ...JobStatus) []JobView {
	t.Helper()
	for i, v := range s.seen[id] {
		if jbIn(v.Status, want) {
			return s.seen[id][:i+1]
		}
	}
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-s.ch:
			if !ok {
				t.Fatalf("job %d: subscription closed; events %+v", id, s.seen[id])
			}
			je, ok := ev.(JobEvent)
			if !ok {
				continue
			}
			s.seen[je.Job.ID] = append(s.seen[je.Job.ID], je.Job)
			if je.Job.ID == id && jbIn(je.Job.Status, want) {
				return s.seen[id]
			}
		case <-deadline:
			t.Fatalf("job %d: no %v event; events %+v", id, want, s.seen[id])
		}
	}
}

func jbSubmit(t *testing.T, j *Jobs, typ string, payload any) JobView {
	t.Helper()
	v, err := j.Submit(jbCtx(t), typ, payload)
	if err != nil {
		t.Fatalf("Submit %s: %v", typ, err)
	}
	if v.Status != JobPending || v.ID == 0 {
		t.Fatalf("submitted %+v", v)
	}
	return v
}

type jbResult struct {
	RunID   int64           `json:"run_id"`
	Candles int             `json:"candles"`
	Metrics json.RawMessage `json:"metrics"`
}

// jbCheckRun verifies a completed backtest job's result and stored run against a direct run.
func jbCheckRun(t *testing.T, db *storage.DB, job JobView, direct BacktestResult) {
	t.Helper()
	ctx := jbCtx(t)
	var r jbResult
	if err := json.Unmarshal(job.Result, &r); err != nil {
		t.Fatalf("result %s: %v", job.Result, err)
	}
	want, _ := json.Marshal(direct.Metrics)
	if !bytes.Equal(r.Metrics, want) {
		t.Fatalf("job metrics\n%s\nwant (direct Backtest)\n%s", r.Metrics, want)
	}
	if r.Candles != direct.Candles {
		t.Fatalf("candles %d, want %d", r.Candles, direct.Candles)
	}
	runs, err := db.JobRuns(ctx, job.ID)
	if err != nil || len(runs) != 1 || runs[0].ID != r.RunID {
		t.Fatalf("runs of job %d = %+v, %v; want one, id %d", job.ID, runs, err, r.RunID)
	}
	if !bytes.Equal(runs[0].Metrics, want) {
		t.Fatalf("stored run metrics differ from the result's")
	}
	trades, err := db.RunTrades(ctx, r.RunID)
	if err != nil || len(trades) != len(direct.Trades) {
		t.Fatalf("stored trades %d, %v; want %d", len(trades), err, len(direct.Trades))
	}
	_, wantTrades := runRows(&direct)
	if !reflect.DeepEqual(trades, wantTrades) {
		t.Fatalf("stored trades differ from the direct run's")
	}
	sigs, err := db.RunSignals(ctx, r.RunID)
	if err != nil || len(sigs) != len(direct.Signals) {
		t.Fatalf("stored signals %d, %v; want %d", len(sigs), err, len(direct.Signals))
	}
}

func TestJobsBacktestMatchesDirectRun(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	cs := jbCandles(t, db, 5000)
	p := jbPayload()
	direct := jbDirect(t, cs, p)
	if len(direct.Trades) < 5 {
		t.Fatalf("only %d trades: a poor test series", len(direct.Trades))
	}
	j := jbStart(t, db, JobsOptions{Workers: 2, ProgressEvery: -1, ProgressStoreEvery: -1})
	ch := jbSubscribe(t, j)
	v := jbSubmit(t, j, JobTypeBacktest, p)
	evs := ch.wait(t, v.ID, JobCompleted, JobFailed)

	last := evs[len(evs)-1]
	if last.Status != JobCompleted {
		t.Fatalf("job ended %s: %s", last.Status, last.Error)
	}
	// pending → running → progress … 1 → completed, progress never going back.
	if evs[0].Status != JobPending || evs[1].Status != JobRunning {
		t.Fatalf("first events %+v", evs[:2])
	}
	progress := 0
	prev := 0.0
	for _, e := range evs[1:] {
		if e.Progress < prev {
			t.Fatalf("progress went back from %v to %v", prev, e.Progress)
		}
		prev = e.Progress
		if e.Status == JobRunning && e.Progress > 0 {
			progress++
			if e.Progress < 1 && (!e.HasETA || e.ETA < 0) {
				t.Fatalf("running at %v without an ETA: %+v", e.Progress, e)
			}
		}
	}
	if progress < 10 || last.Progress != 1 || evs[len(evs)-2].Progress != 1 {
		t.Fatalf("%d progress events, last two progress %v %v; want many, ending at 1", progress, evs[len(evs)-2].Progress, last.Progress)
	}
	if last.CompletedAt.IsZero() || last.StartedAt.IsZero() || last.Summary == "" || !strings.Contains(last.Summary, "trades") {
		t.Fatalf("completed view %+v", last)
	}
	jbCheckRun(t, db, last, direct)

	// The list shows the same.
	list, err := j.List(jbCtx(t), 10)
	if err != nil || len(list) != 1 || list[0].Status != JobCompleted || !bytes.Equal(list[0].Result, last.Result) {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestJobsSubmitValidates(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	j := NewJobs(db, JobsOptions{Workers: 1})
	ctx := jbCtx(t)
	bad := func(mut func(*BacktestJob)) BacktestJob { p := jbPayload(); mut(&p); return p }
	for _, c := range []struct {
		typ     string
		payload any
		want    string
	}{
		{"nope", jbPayload(), `unknown job type "nope"`},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Strategy = "sma_crosss" }), `unknown strategy "sma_crosss"`},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Params["fast"] = "x" }), "fast"},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Params["fast"] = "30" }), "must be less than"},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Timeframe = "7m" }), `"7m"`},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Fee = "1.5" }), "fee rate"},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.Timeout = "soon" }), `timeout "soon"`},
		{JobTypeBacktest, bad(func(p *BacktestJob) { p.From, p.To = 10, 5 }), "from 10, to 5"},
		{JobTypeBacktest, `{"strategy":"sma_cross","exchange":"x","symbol":"y","timeframe":"1m","slipage_bps":3}`, `unknown field "slipage_bps"`},
		{JobTypeSweep, SweepJob{BacktestJob: jbPayload(), Sweep: []string{"fast=5:9"}}, "name=from:to:step"},
		{JobTypeSweep, SweepJob{BacktestJob: jbPayload(), Sweep: []string{"fast=5:9:1"}, RankBy: "luck"}, `rank-by "luck"`},
		{JobTypeOrderflow, OrderflowJob{DB: filepath.Join(t.TempDir(), "missing.db")}, "missing.db"},
		{JobTypeOrderflow, OrderflowJob{DB: "x.db", Depth: -1}, "depth -1"},
	} {
		_, err := j.Submit(ctx, c.typ, c.payload)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Submit(%s, %+v): err = %v; want it to mention %q", c.typ, c.payload, err, c.want)
		}
	}
	if jobs, _ := db.ListJobs(ctx, 0); len(jobs) != 0 {
		t.Fatalf("refused submissions stored %d jobs", len(jobs))
	}
}

// A handler that blocks until cancelled: the user cancels it while it runs; a pending job is
// cancelled before it runs; the worker goes on to the next job.
func TestJobsCancel(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	started, exited := make(chan int64, 4), make(chan int64, 4)
	h := DefaultJobHandlers()
	h["block"] = JobHandler{Run: func(ctx context.Context, jc *JobContext) (any, error) {
		started <- jc.Job.ID
		defer func() { exited <- jc.Job.ID }()
		jc.Progress(0.4)
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	h["quick"] = JobHandler{Run: func(ctx context.Context, jc *JobContext) (any, error) { return map[string]int{"ok": 1}, nil }}
	j := jbStart(t, db, JobsOptions{Workers: 1, Handlers: h})
	ch := jbSubscribe(t, j)
	ctx := jbCtx(t)

	a := jbSubmit(t, j, "block", nil)
	if id := <-started; id != a.ID {
		t.Fatalf("started %d", id)
	}
	b := jbSubmit(t, j, "quick", nil) // waits: the only worker is busy
	if err := j.Cancel(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if evs := ch.wait(t, b.ID, JobCancelled); evs[len(evs)-1].Status != JobCancelled {
		t.Fatal(evs)
	}
	if err := j.Cancel(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	evs := ch.wait(t, a.ID, JobCancelled, JobFailed, JobCompleted)
	if got := evs[len(evs)-1]; got.Status != JobCancelled || got.Progress != 0.4 || got.Elapsed <= 0 {
		t.Fatalf("cancel event %+v", got)
	}
	select {
	case id := <-exited:
		if id != a.ID {
			t.Fatalf("exited %d", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled handler did not return")
	}
	// The worker is free again, and the cancelled jobs stay cancelled.
	c := jbSubmit(t, j, "quick", nil)
	if evs := ch.wait(t, c.ID, JobCompleted, JobFailed); evs[len(evs)-1].Status != JobCompleted {
		t.Fatalf("next job: %+v", evs)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if got, _ := db.GetJob(ctx, id); got.Status != JobCancelled {
			t.Fatalf("job %d is %s, want cancelled", id, got.Status)
		}
	}
	if err := j.Cancel(ctx, a.ID); err != nil {
		t.Fatalf("cancel twice: %v", err)
	}
	if err := j.Cancel(ctx, c.ID); !errors.Is(err, storage.ErrJobState) || !strings.Contains(err.Error(), "completed") {
		t.Fatalf("cancel a completed job: %v", err)
	}
	if err := j.Cancel(ctx, 999); !errors.Is(err, storage.ErrJobNotFound) {
		t.Fatalf("cancel job 999: %v", err)
	}
}

// A failing handler and a panicking one: failed, with the error kept, an event, and the
// runner keeps working.
func TestJobsFailureAndPanic(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	h := map[string]JobHandler{
		"fail": {Run: func(context.Context, *JobContext) (any, error) {
			return nil, errors.New("strategy exploded: bad input")
		}},
		"panic": {Run: func(context.Context, *JobContext) (any, error) { panic("kaboom") }},
		"quick": {Run: func(context.Context, *JobContext) (any, error) { return json.RawMessage(`{"ok":true}`), nil }},
		"bad":   {Run: func(context.Context, *JobContext) (any, error) { return func() {}, nil }},
	}
	j := jbStart(t, db, JobsOptions{Workers: 2, Handlers: h})
	ch := jbSubscribe(t, j)
	ctx := jbCtx(t)
	for _, c := range []struct{ typ, want string }{
		{"fail", "strategy exploded: bad input"},
		{"panic", "panic: kaboom"},
		{"bad", "encode result"},
	} {
		v := jbSubmit(t, j, c.typ, nil)
		evs := ch.wait(t, v.ID, JobFailed, JobCompleted)
		last := evs[len(evs)-1]
		if last.Status != JobFailed || !strings.Contains(last.Error, c.want) || !strings.Contains(last.Summary, c.want) {
			t.Fatalf("%s: event %+v", c.typ, last)
		}
		stored, err := db.GetJob(ctx, v.ID)
		if err != nil || stored.Status != JobFailed || stored.Error != last.Error || stored.CompletedAt == 0 {
			t.Fatalf("%s: stored %+v, %v", c.typ, stored, err)
		}
	}
	v := jbSubmit(t, j, "quick", nil)
	if evs := ch.wait(t, v.ID, JobCompleted, JobFailed); string(evs[len(evs)-1].Result) != `{"ok":true}` {
		t.Fatalf("after failures: %+v", evs[len(evs)-1])
	}
}

// 8 jobs on 2 workers: never more than 2 at once (and 2 do run at once).
func TestJobsPoolLimitsConcurrency(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	var cur, peak atomic.Int32
	started := make(chan struct{}, 8)
	release := make(chan struct{})
	h := map[string]JobHandler{"work": {Run: func(ctx context.Context, jc *JobContext) (any, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, nil
	}}}
	j := jbStart(t, db, JobsOptions{Workers: 2, Handlers: h})
	if j.Workers() != 2 {
		t.Fatal(j.Workers())
	}
	ch := jbSubscribe(t, j)
	var ids []int64
	for range 8 {
		ids = append(ids, jbSubmit(t, j, "work", nil).ID)
	}
	<-started
	<-started // two run at once, both held
	close(release)
	for _, id := range ids {
		if evs := ch.wait(t, id, JobCompleted, JobFailed); evs[len(evs)-1].Status != JobCompleted {
			t.Fatalf("job %d: %+v", id, evs[len(evs)-1])
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
	// The default pool is one worker per core.
	if n := NewJobs(db, JobsOptions{}).Workers(); n < 1 || n != runtime.NumCPU() {
		t.Fatalf("default workers %d", n)
	}
}

// Stop interrupts a running job: it goes back to pending, and the next start runs it.
func TestJobsStopRequeuesRunningJob(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	db := jbOpen(t, path)
	started := make(chan struct{}, 1)
	h := map[string]JobHandler{"slow": {Run: func(ctx context.Context, jc *JobContext) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
	j := NewJobs(db, JobsOptions{Workers: 1, Handlers: h})
	if err := j.Start(jbCtx(t)); err != nil {
		t.Fatal(err)
	}
	ch := jbSubscribe(t, j)
	v := jbSubmit(t, j, "slow", nil)
	<-started
	if err := j.Stop(jbCtx(t)); err != nil {
		t.Fatal(err)
	}
	for ev := range ch.ch { // Stop closed the subscription after the last event
		if je, ok := ev.(JobEvent); ok {
			ch.seen[je.Job.ID] = append(ch.seen[je.Job.ID], je.Job)
		}
	}
	var states []JobStatus
	for _, e := range ch.seen[v.ID] {
		states = append(states, e.Status)
	}
	if !reflect.DeepEqual(states, []JobStatus{JobPending, JobRunning, JobPending}) { // submitted, claimed, requeued
		t.Fatalf("events %v", states)
	}
	if got, _ := db.GetJob(jbCtx(t), v.ID); got.Status != JobPending || got.StartedAt != 0 {
		t.Fatalf("after Stop: %+v", got)
	}
	// Next start: the same job runs (a handler that finishes this time).
	h2 := map[string]JobHandler{"slow": {Run: func(context.Context, *JobContext) (any, error) { return "done", nil }}}
	jbStart(t, db, JobsOptions{Workers: 1, Handlers: h2})
	var got storage.Job
	jbPoll(t, func() bool { got, _ = db.GetJob(jbCtx(t), v.ID); return got.Status.Finished() })
	if got.Status != JobCompleted || string(got.Result) != `"done"` {
		t.Fatalf("rerun after Stop: %+v", got)
	}
}

// jbPoll polls cond until it holds, with a deadline.
func jbPoll(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A job marked running when the process "died" (claimed, never finished) is requeued by the
// next start and reruns to the same result as a direct run.
func TestJobsRestartRequeuesCrashedJob(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	db := jbOpen(t, path)
	cs := jbCandles(t, db, 3000)
	p := jbPayload()
	ctx := jbCtx(t)
	payload, _ := json.Marshal(p)
	job, err := db.CreateJob(ctx, JobTypeBacktest, payload)
	if err != nil {
		t.Fatal(err)
	}
	if claimed, ok, err := db.ClaimNextPending(ctx); err != nil || !ok || claimed.ID != job.ID {
		t.Fatalf("claim: %v %v", ok, err)
	}
	db.UpdateProgress(ctx, job.ID, 0.5)
	// "Crash": nothing else happens to it. A new runner on the same database:
	j := jbStart(t, db, JobsOptions{Workers: 1})
	var v JobView
	jbPoll(t, func() bool { v, _ = j.Get(ctx, job.ID); return v.Status.Finished() })
	if v.Status != JobCompleted {
		t.Fatalf("rerun: %+v", v)
	}
	jbCheckRun(t, db, v, jbDirect(t, cs, p))
}

// The restart test with a real process: a child process runs a backtest job and is SIGKILLed
// in the middle of it; the next start reruns the job to exactly the direct run's result.
func TestJobsRestartAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	db := openStore(t, path)
	cs := jbCandles(t, db, 20000)
	p := jbPayload()
	direct := jbDirect(t, cs, p)
	ctx := jbCtx(t)
	v, err := NewJobs(db, JobsOptions{}).Submit(ctx, JobTypeBacktest, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestJobsHelperProcess$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), "TC_JOBS_HELPER_DB="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mid := make(chan string, 1)
	go func() { // ends when the child's stdout closes (it is killed below)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "MIDRUN ") {
				mid <- line
			}
		}
		close(mid)
	}()
	select {
	case line, ok := <-mid:
		if !ok {
			cmd.Wait()
			t.Fatal("the child ended without reaching the middle of the job")
		}
		if line != fmt.Sprintf("MIDRUN %d", v.ID) {
			t.Fatalf("child said %q", line)
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the child did not reach the middle of the job")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup of any kind
		t.Fatal(err)
	}
	cmd.Wait()

	db = jbOpen(t, path)
	got, err := db.GetJob(ctx, v.ID)
	if err != nil || got.Status != JobRunning || got.Progress <= 0 || got.Progress >= 1 {
		t.Fatalf("after the kill the job is %+v, %v; want running, part done", got, err)
	}
	j := jbStart(t, db, JobsOptions{Workers: 2})
	var view JobView
	jbPoll(t, func() bool { view, _ = j.Get(ctx, v.ID); return view.Status.Finished() })
	if view.Status != JobCompleted {
		t.Fatalf("rerun: %+v", view)
	}
	jbCheckRun(t, db, view, direct)
}

// TestJobsHelperProcess is the child of TestJobsRestartAfterKill: it runs the jobs of the
// database it is given and parks once a backtest is under way, until it is killed.
func TestJobsHelperProcess(t *testing.T) {
	path := os.Getenv("TC_JOBS_HELPER_DB")
	if path == "" {
		t.Skip("helper process of TestJobsRestartAfterKill")
	}
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	park := make(chan struct{}) // never closed: the parent kills this process
	j := NewJobs(db, JobsOptions{Workers: 1, ProgressEvery: -1, ProgressStoreEvery: -1, Publish: func(ev Event) {
		if je, ok := ev.(JobEvent); ok && je.Job.Status == JobRunning && je.Job.Progress >= 0.3 && je.Job.Progress < 1 {
			fmt.Printf("MIDRUN %d\n", je.Job.ID)
			<-park // inside the backtest's progress report: the job stays mid-run
		}
	}})
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-park
}

func TestJobsSweep(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	cs := jbCandles(t, db, 3000)
	p := SweepJob{BacktestJob: jbPayload(), Sweep: []string{"fast=3:12:3", "slow=10:30:10"}, Workers: 2}
	j := jbStart(t, db, JobsOptions{Workers: 1})
	ch := jbSubscribe(t, j)
	v := jbSubmit(t, j, JobTypeSweep, p)
	evs := ch.wait(t, v.ID, JobCompleted, JobFailed)
	last := evs[len(evs)-1]
	if last.Status != JobCompleted {
		t.Fatalf("sweep: %+v", last)
	}
	var r SweepJobResult
	if err := json.Unmarshal(last.Result, &r); err != nil {
		t.Fatal(err)
	}
	// The same sweep run directly.
	s, _ := strategies.Builtin().Get("sma_cross")
	cfg, _ := p.JobBroker.Config()
	ranges := []SweepRange{{"fast", 3, 12, 3}, {"slow", 10, 30, 10}}
	want, err := Sweep(context.Background(), cs, SweepConfig{Strategy: s, Base: resolve(t, s, p.Params), Ranges: ranges, Broker: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if r.Combos != 12 || r.Ran != len(want.Runs) || r.Skipped != want.Skipped || len(r.Ranking) != len(want.Runs) || r.RankedBy != "sharpe" {
		t.Fatalf("result %+v", r)
	}
	for i, row := range r.Ranking {
		if row.Rank != i+1 || !reflect.DeepEqual(strategies.Values(row.Params), want.Runs[i].Params) || row.Metrics != want.Runs[i].Metrics {
			t.Fatalf("ranking[%d] = %+v, want %+v", i, row, want.Runs[i])
		}
	}
	run, err := db.Run(jbCtx(t), r.RunID)
	if err != nil || run.JobID != v.ID {
		t.Fatalf("best run %+v, %v", run, err)
	}
	var params map[string]float64
	json.Unmarshal(run.Params, &params)
	if !reflect.DeepEqual(strategies.Values(params), want.Runs[0].Params) {
		t.Fatalf("saved params %v, want the best %v", params, want.Runs[0].Params)
	}
	trades, _ := db.RunTrades(jbCtx(t), r.RunID)
	if len(trades) != len(want.Best.Trades) {
		t.Fatalf("best run trades %d, want %d", len(trades), len(want.Best.Trades))
	}
	if !strings.HasPrefix(last.Summary, "best ") {
		t.Fatalf("summary %q", last.Summary)
	}
}

func TestJobsOrderflow(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flow.db")
	raw, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := jbCtx(t)
	if err := storage.CreateOrderflowInput(ctx, raw); err != nil {
		t.Fatal(err)
	}
	const snaps = 50
	for i := range snaps {
		ts := jbT0 + int64(i)*1000
		if _, err := raw.ExecContext(ctx, `INSERT INTO book(instrument, bids, asks, timestamp) VALUES ('BTC-USDT', ?, ?, ?)`,
			fmt.Sprintf("[[50000, %d], [49999, 5]]", 10+i%3), "[[50001, 3], [50002, 2]]", ts); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO trades(instrument, trade_id, price, size, side, timestamp) VALUES ('BTC-USDT', ?, 50000, 1.5, ?, ?)`,
			fmt.Sprint(i), map[bool]string{true: "buy", false: "sell"}[i%2 == 0], ts-500); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := jbOpen(t, filepath.Join(dir, "jobs.db"))
	j := jbStart(t, db, JobsOptions{Workers: 1})
	ch := jbSubscribe(t, j)
	v := jbSubmit(t, j, JobTypeOrderflow, OrderflowJob{DB: file, Depth: 1})
	evs := ch.wait(t, v.ID, JobCompleted, JobFailed)
	last := evs[len(evs)-1]
	if last.Status != JobCompleted {
		t.Fatalf("orderflow: %+v", last)
	}
	var sum storage.OrderflowSummary
	if err := json.Unmarshal(last.Result, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Snapshots != snaps || sum.Depth != 1 || sum.Trades != snaps || sum.FinalCVD != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(last.Summary, "50 snapshots") {
		t.Fatalf("summary line %q", last.Summary)
	}
}

// Elapsed and ETA come from the clock and the fraction done.
func TestJobsProgressETA(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	var now atomic.Int64
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	reported, release := make(chan struct{}), make(chan struct{})
	h := map[string]JobHandler{"step": {Run: func(ctx context.Context, jc *JobContext) (any, error) {
		jc.Progress(0.25)
		close(reported)
		<-release
		return nil, nil
	}}}
	j := jbStart(t, db, JobsOptions{Workers: 1, Handlers: h, Clock: clock})
	ctx := jbCtx(t)
	v := jbSubmit(t, j, "step", nil)
	<-reported
	now.Store(t0.Add(10 * time.Second).UnixNano())
	list, err := j.List(ctx, 5)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	got := list[0]
	if got.Status != JobRunning || got.Progress != 0.25 || got.Elapsed != 10*time.Second || !got.HasETA || got.ETA != 30*time.Second {
		t.Fatalf("running view %+v; want progress 0.25, elapsed 10s, ETA 30s", got)
	}
	close(release)
	jbPoll(t, func() bool { got, _ = j.Get(ctx, v.ID); return got.Status == JobCompleted })
	if got.HasETA || got.Progress != 1 {
		t.Fatalf("completed view %+v", got)
	}

	for _, c := range []struct {
		el   time.Duration
		p    float64
		want time.Duration
		ok   bool
	}{{time.Minute, 0, 0, false}, {time.Minute, 0.5, time.Minute, true}, {time.Minute, 1, 0, true}, {3 * time.Second, 0.75, time.Second, true}} {
		if d, ok := eta(c.el, c.p); d != c.want || ok != c.ok {
			t.Errorf("eta(%v, %v) = %v, %v; want %v, %v", c.el, c.p, d, ok, c.want, c.ok)
		}
	}
}

// Progress from several goroutines (as a sweep's workers might report) is published in
// order, at most once per ProgressEvery, and always at 1.
func TestJobsProgressThrottled(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	var now atomic.Int64 // a frozen clock: nothing but the first report and 1 may pass
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	h := map[string]JobHandler{"many": {Run: func(ctx context.Context, jc *JobContext) (any, error) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 250 {
					jc.Progress(float64(g*250+i) / 2000)
				}
			})
		}
		wg.Wait()
		jc.Progress(1)
		return nil, nil
	}}}
	j := jbStart(t, db, JobsOptions{Workers: 1, Handlers: h, Clock: clock})
	ch := jbSubscribe(t, j)
	v := jbSubmit(t, j, "many", nil)
	evs := ch.wait(t, v.ID, JobCompleted, JobFailed)
	var progress []float64
	for _, e := range evs {
		if e.Status == JobRunning {
			progress = append(progress, e.Progress)
		}
	}
	// running (claim, 0), the first report, the report of 1.
	if len(progress) != 3 || progress[2] != 1 || evs[len(evs)-1].Status != JobCompleted {
		t.Fatalf("running events %v, final %+v", progress, evs[len(evs)-1])
	}
}

// A backtest over a series with no stored candles fails, saying which series and interval.
func TestJobsBacktestWithoutCandlesFails(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "jobs.db"))
	j := jbStart(t, db, JobsOptions{Workers: 1})
	ch := jbSubscribe(t, j)
	p := jbPayload()
	p.Symbol, p.From, p.To = "ETHUSDT", jbT0, jbT0+3_600_000
	v := jbSubmit(t, j, JobTypeBacktest, p)
	evs := ch.wait(t, v.ID, JobFailed, JobCompleted)
	last := evs[len(evs)-1]
	want := "backtest: no stored 1m candles of test ETHUSDT from 2025-03-01T00:00Z to 2025-03-01T01:00Z"
	if last.Status != JobFailed || last.Error != want {
		t.Fatalf("event %+v; want failed with %q", last, want)
	}
	if runs, _ := db.JobRuns(jbCtx(t), v.ID); len(runs) != 0 {
		t.Fatal("a failed job kept a run")
	}
}
