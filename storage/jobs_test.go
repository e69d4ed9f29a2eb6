package storage

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func mustCreateJob(t *testing.T, db *DB, typ, payload string) Job {
	t.Helper()
	j, err := db.CreateJob(ctxT(t), typ, []byte(payload))
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	return j
}

func mustClaim(t *testing.T, db *DB) Job {
	t.Helper()
	j, ok, err := db.ClaimNextPending(ctxT(t))
	if err != nil || !ok {
		t.Fatalf("ClaimNextPending = %v, %v", ok, err)
	}
	return j
}

func mustGetJob(t *testing.T, db *DB, id int64) Job {
	t.Helper()
	j, err := db.GetJob(ctxT(t), id)
	if err != nil {
		t.Fatalf("GetJob(%d): %v", id, err)
	}
	return j
}

func wantState(t *testing.T, err error, status JobStatus) {
	t.Helper()
	var se *JobStateError
	if !errors.Is(err, ErrJobState) || !errors.As(err, &se) || se.Status != status {
		t.Fatalf("err = %v, want a *JobStateError with status %s", err, status)
	}
}

func testRun(jobID int64) StrategyRun {
	return StrategyRun{
		JobID: jobID, Strategy: "sma_cross", Params: json.RawMessage(`{"fast":5,"slow":20}`),
		Exchange: exA, Symbol: symA, Timeframe: market.TF1m, StartTS: base, EndTS: base + 60_000*99,
		Metrics: json.RawMessage(`{"sharpe":1.5,"trades":2}`),
	}
}

var (
	testSignals = []RunSignal{
		{Time: base + 60_000, Action: "enter_long", Value: 0.75, Direction: "long", Confidence: "high"},
		{Time: base + 120_000, Action: "exit", Value: 0.25, Direction: "short", Confidence: "medium"},
	}
	testTrades = []RunTrade{{
		Side: "long", EntryTime: base + 60_000, EntryPrice: "100.10000000", ExitTime: base + 180_000, ExitPrice: "101.5",
		Quantity: "99.700897308075", PnL: "119.58024300", PnLPct: "0.0119580243", Fees: "20.08", ExitReason: "signal",
	}}
)

func TestJobLifecycle(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	if _, ok, err := db.ClaimNextPending(ctx); ok || err != nil {
		t.Fatalf("claim on an empty table = %v, %v", ok, err)
	}
	j := mustCreateJob(t, db, "backtest", `{"strategy":"sma_cross"}`)
	if j.ID == 0 || !uuidV4.MatchString(j.UUID) || j.Type != "backtest" || j.Status != JobPending ||
		string(j.Payload) != `{"strategy":"sma_cross"}` || j.CreatedAt == 0 || j.StartedAt != 0 || j.Progress != 0 || j.Result != nil {
		t.Fatalf("created %+v", j)
	}
	if got := mustGetJob(t, db, j.ID); !reflect.DeepEqual(got, j) {
		t.Fatalf("GetJob = %+v, want %+v", got, j)
	}
	r := mustClaim(t, db)
	if r.ID != j.ID || r.Status != JobRunning || r.StartedAt == 0 {
		t.Fatalf("claimed %+v", r)
	}
	if _, ok, _ := db.ClaimNextPending(ctx); ok {
		t.Fatal("claimed a running job again")
	}
	if err := db.UpdateProgress(ctx, j.ID, 0.25); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateProgress(ctx, j.ID, 7); err != nil { // clamped
		t.Fatal(err)
	}
	if p := mustGetJob(t, db, j.ID).Progress; p != 1 {
		t.Fatalf("progress = %v, want 1 (clamped)", p)
	}
	done, err := db.CompleteJob(ctx, j.ID, []byte(`{"run_id":1}`))
	if err != nil || done.Status != JobCompleted || done.Progress != 1 || string(done.Result) != `{"run_id":1}` || done.CompletedAt == 0 {
		t.Fatalf("CompleteJob = %+v, %v", done, err)
	}
	// Idempotent: completing again changes nothing.
	again, err := db.CompleteJob(ctx, j.ID, []byte(`{"run_id":2}`))
	if err != nil || !reflect.DeepEqual(again, done) {
		t.Fatalf("CompleteJob again = %+v, %v; want %+v", again, err, done)
	}
	_, err = db.FailJob(ctx, j.ID, "late")
	wantState(t, err, JobCompleted)
	_, err = db.CancelJob(ctx, j.ID)
	wantState(t, err, JobCompleted)
	if !strings.Contains(err.Error(), "completed") || !strings.Contains(err.Error(), "pending or running") {
		t.Fatalf("cancel error %q does not say why", err)
	}
	wantState(t, db.UpdateProgress(ctx, j.ID, 0.5), JobCompleted)
}

func TestJobFailKeepsError(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	j := mustCreateJob(t, db, "orderflow", `{}`)
	_, err := db.FailJob(ctx, j.ID, "x")
	wantState(t, err, JobPending) // not claimed yet
	mustClaim(t, db)
	f, err := db.FailJob(ctx, j.ID, "backtest: no candles for sim BTCUSDT 1m")
	if err != nil || f.Status != JobFailed || f.Error != "backtest: no candles for sim BTCUSDT 1m" || f.CompletedAt == 0 {
		t.Fatalf("FailJob = %+v, %v", f, err)
	}
	if f2, err := db.FailJob(ctx, j.ID, "other"); err != nil || f2.Error != f.Error {
		t.Fatalf("FailJob again = %+v, %v", f2, err)
	}
	_, err = db.CompleteJob(ctx, j.ID, nil)
	wantState(t, err, JobFailed)
}

func TestJobErrors(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	if _, err := db.CreateJob(ctx, "", nil); err == nil {
		t.Fatal("empty job type accepted")
	}
	if _, err := db.CreateJob(ctx, "backtest", []byte(`{"a":`)); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Fatalf("bad payload: %v", err)
	}
	if j, err := db.CreateJob(ctx, "backtest", nil); err != nil || string(j.Payload) != "{}" {
		t.Fatalf("empty payload = %+v, %v", j, err)
	}
	for name, err := range map[string]error{
		"get":      func() error { _, err := db.GetJob(ctx, 99); return err }(),
		"complete": func() error { _, err := db.CompleteJob(ctx, 99, nil); return err }(),
		"fail":     func() error { _, err := db.FailJob(ctx, 99, "x"); return err }(),
		"cancel":   func() error { _, err := db.CancelJob(ctx, 99); return err }(),
		"requeue":  func() error { _, err := db.RequeueJob(ctx, 99); return err }(),
		"progress": db.UpdateProgress(ctx, 99, 0.5),
		"save run": func() error { _, err := db.SaveRun(ctx, testRun(99), nil, nil); return err }(),
	} {
		if !errors.Is(err, ErrJobNotFound) || !strings.Contains(err.Error(), "99") {
			t.Errorf("%s of job 99: err = %v, want ErrJobNotFound naming the id", name, err)
		}
	}
	j := mustClaim(t, db)
	if _, err := db.CompleteJob(ctx, j.ID, []byte("nope")); err == nil {
		t.Fatal("invalid result JSON accepted")
	}
	// The schema refuses what the API never writes.
	if _, err := db.w.ExecContext(ctx, `INSERT INTO jobs(uuid, job_type, status, payload, created_at) VALUES ('u', 'x', 'paused', '{}', 0)`); err == nil {
		t.Fatal("status 'paused' accepted by the schema")
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE jobs SET progress = 1.5`); err == nil {
		t.Fatal("progress 1.5 accepted by the schema")
	}
}

func TestListJobsNewestFirst(t *testing.T) {
	db, _ := openTest(t, Options{})
	var ids []int64
	for range 5 {
		ids = append(ids, mustCreateJob(t, db, "backtest", `{}`).ID)
	}
	got, err := db.ListJobs(ctxT(t), 3)
	if err != nil || len(got) != 3 || got[0].ID != ids[4] || got[2].ID != ids[2] {
		t.Fatalf("ListJobs(3) = %+v, %v", got, err)
	}
	all, err := db.ListJobs(ctxT(t), 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("ListJobs(0) = %d jobs, %v", len(all), err)
	}
	uuids := map[string]bool{}
	for _, j := range all {
		uuids[j.UUID] = true
	}
	if len(uuids) != 5 {
		t.Fatal("UUIDs repeat")
	}
}

// Claims from many goroutines never hand out a job twice, and take the oldest first.
func TestClaimNextPendingConcurrent(t *testing.T) {
	db, _ := openTest(t, Options{})
	const n = 40
	for range n {
		mustCreateJob(t, db, "backtest", `{}`)
	}
	ctx := ctxT(t)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			var last int64
			for {
				j, ok, err := db.ClaimNextPending(ctx)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				if j.ID <= last {
					errs <- errors.New("claims out of order within one claimer")
					return
				}
				last = j.ID
				mu.Lock()
				seen[j.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d jobs claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("job %d claimed %d times", id, k)
		}
	}
}

func TestCancelJob(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	p := mustCreateJob(t, db, "backtest", `{}`)
	c, err := db.CancelJob(ctx, p.ID)
	if err != nil || c.Status != JobCancelled || c.CompletedAt == 0 {
		t.Fatalf("cancel pending = %+v, %v", c, err)
	}
	if c2, err := db.CancelJob(ctx, p.ID); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("cancel again = %+v, %v", c2, err)
	}
	if _, ok, _ := db.ClaimNextPending(ctx); ok {
		t.Fatal("claimed a cancelled job")
	}

	// A running job that saved a run: cancelling it removes the run; its worker is refused.
	mustCreateJob(t, db, "backtest", `{}`)
	r := mustClaim(t, db)
	if _, err := db.SaveRun(ctx, testRun(r.ID), testSignals, testTrades); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CancelJob(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if runs, err := db.JobRuns(ctx, r.ID); err != nil || len(runs) != 0 {
		t.Fatalf("runs of a cancelled job = %d, %v", len(runs), err)
	}
	var rows int
	db.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM strategy_signals) + (SELECT COUNT(*) FROM strategy_run_trades)`).Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d signal and trade rows left after the run was deleted", rows)
	}
	wantState(t, db.UpdateProgress(ctx, r.ID, 0.5), JobCancelled)
	_, err = db.CompleteJob(ctx, r.ID, []byte(`{}`))
	wantState(t, err, JobCancelled)
	_, err = db.SaveRun(ctx, testRun(r.ID), nil, nil)
	wantState(t, err, JobCancelled)
}

// RequeueRunning is the start-up recovery: running jobs go back to pending with their
// partial runs removed; nothing else changes. The states are on disk once it returns.
func TestRequeueRunningAfterReopen(t *testing.T) {
	path := t.TempDir() + "/jobs.db"
	ctx := ctxT(t)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := mustCreateJob(t, db, "backtest", `{"n":1}`)
	mustClaim(t, db)
	if _, err := db.CompleteJob(ctx, done.ID, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	a := mustCreateJob(t, db, "backtest", `{"n":2}`)
	b := mustCreateJob(t, db, "sweep", `{"n":3}`)
	pend := mustCreateJob(t, db, "orderflow", `{"n":4}`)
	mustClaim(t, db)
	mustClaim(t, db)
	if err := db.UpdateProgress(ctx, a.ID, 0.5); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveRun(ctx, testRun(a.ID), testSignals, testTrades); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}

	db, _ = reopen(t, path)
	n, err := db.RequeueRunning(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RequeueRunning = %d, %v; want 2", n, err)
	}
	for _, id := range []int64{a.ID, b.ID, pend.ID} {
		j := mustGetJob(t, db, id)
		if j.Status != JobPending || j.Progress != 0 || j.StartedAt != 0 {
			t.Fatalf("job %d after requeue: %+v", id, j)
		}
	}
	if j := mustGetJob(t, db, done.ID); j.Status != JobCompleted {
		t.Fatalf("completed job touched: %+v", j)
	}
	if runs, _ := db.JobRuns(ctx, a.ID); len(runs) != 0 {
		t.Fatal("a requeued job kept its partial run")
	}
	if n, err := db.RequeueRunning(ctx); err != nil || n != 0 {
		t.Fatalf("RequeueRunning again = %d, %v", n, err)
	}
	// Claims go oldest first again.
	if j := mustClaim(t, db); j.ID != a.ID {
		t.Fatalf("claimed %d first, want %d", j.ID, a.ID)
	}
	// RequeueJob: one job, same rules.
	if j, err := db.RequeueJob(ctx, a.ID); err != nil || j.Status != JobPending {
		t.Fatalf("RequeueJob = %+v, %v", j, err)
	}
	if _, err := db.RequeueJob(ctx, a.ID); err != nil {
		t.Fatalf("RequeueJob of a pending job: %v", err)
	}
	_, err = db.RequeueJob(ctx, done.ID)
	wantState(t, err, JobCompleted)
}

func reopen(t *testing.T, path string) (*DB, string) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctxT(t)) })
	return db, path
}

func TestSaveRunRoundTrip(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	j := mustCreateJob(t, db, "backtest", `{}`)
	mustClaim(t, db)
	id, err := db.SaveRun(ctx, testRun(j.ID), testSignals, testTrades)
	if err != nil {
		t.Fatal(err)
	}
	run, err := db.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := testRun(j.ID)
	want.ID, want.CreatedAt = id, run.CreatedAt
	if run.CreatedAt == 0 || !reflect.DeepEqual(run, want) {
		t.Fatalf("Run = %+v\nwant %+v", run, want)
	}
	if runs, err := db.JobRuns(ctx, j.ID); err != nil || len(runs) != 1 || runs[0].ID != id {
		t.Fatalf("JobRuns = %+v, %v", runs, err)
	}
	sigs, err := db.RunSignals(ctx, id)
	if err != nil || !reflect.DeepEqual(sigs, testSignals) {
		t.Fatalf("RunSignals = %+v, %v", sigs, err)
	}
	trs, err := db.RunTrades(ctx, id)
	if err != nil || !reflect.DeepEqual(trs, testTrades) { // decimal text kept exactly, trailing zeros too
		t.Fatalf("RunTrades = %+v, %v", trs, err)
	}

	// A run without a job.
	free := testRun(0)
	fid, err := db.SaveRun(ctx, free, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Run(ctx, fid); r.JobID != 0 {
		t.Fatalf("job id %d, want 0", r.JobID)
	}

	// Bad input is refused whole, with the field named.
	bad := testRun(0)
	bad.Metrics = json.RawMessage(`{`)
	if _, err := db.SaveRun(ctx, bad, nil, nil); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("bad metrics: %v", err)
	}
	tr := append([]RunTrade(nil), testTrades...)
	tr[0].PnL = "lots"
	if _, err := db.SaveRun(ctx, testRun(0), testSignals, tr); err == nil || !strings.Contains(err.Error(), "trade 0: pnl") {
		t.Fatalf("bad pnl: %v", err)
	}
	var n int
	db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM strategy_runs`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d runs stored, want 2", n)
	}
}

// A durable transaction leaves the writer connection as the DSN set it (synchronous=NORMAL,
// foreign keys on), so the market-data batches keep their cost.
func TestDurableTxRestoresSynchronous(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	mustCreateJob(t, db, "backtest", `{}`)
	var sync, fk int
	if err := db.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if sync != 1 || fk != 1 {
		t.Fatalf("writer connection: synchronous = %d (want 1, NORMAL), foreign_keys = %d", sync, fk)
	}
	// And market data still goes through.
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 5)...)
	flush(t, db)
	if c := mustCount(t, db, symA, market.TF1m); c != 5 {
		t.Fatalf("candles = %d", c)
	}
}
