package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// Background jobs (DESIGN.md, "Backtest job"): a jobs row (pending) → a worker of the pool
// claims it (running) → its handler runs (reading candles or an order-flow file, the strategy,
// the paper broker, the metrics) and saves its run → the job is completed with a JSON result,
// or failed with the error kept, or cancelled → a JobEvent for the UI at every step.
//
// The database is the truth: every state change is a durable storage transaction made before
// the event announcing it is published, so a job's state survives a crash. A job found
// running at Start was interrupted by a crash and goes back to pending (RequeueRunning) with
// whatever partial run it saved removed, so it reruns from scratch to the same result (the
// handlers are deterministic). One runner per database: Start would requeue the jobs another
// live runner is running.

// JobStatus is a job's state (see storage.JobStatus).
type JobStatus = storage.JobStatus

// The job states.
const (
	JobPending   = storage.JobPending
	JobRunning   = storage.JobRunning
	JobCompleted = storage.JobCompleted
	JobFailed    = storage.JobFailed
	JobCancelled = storage.JobCancelled
)

// The built-in job types.
const (
	JobTypeBacktest  = "backtest"
	JobTypeSweep     = "sweep"
	JobTypeOrderflow = "orderflow"
)

// JobStore is what the job runner needs of storage (implemented by *storage.DB).
type JobStore interface {
	CreateJob(ctx context.Context, jobType string, payload []byte) (storage.Job, error)
	GetJob(ctx context.Context, id int64) (storage.Job, error)
	ListJobs(ctx context.Context, limit int) ([]storage.Job, error)
	ClaimNextPending(ctx context.Context) (storage.Job, bool, error)
	UpdateProgress(ctx context.Context, id int64, p float64) error
	CompleteJob(ctx context.Context, id int64, result []byte) (storage.Job, error)
	FailJob(ctx context.Context, id int64, errText string) (storage.Job, error)
	CancelJob(ctx context.Context, id int64) (storage.Job, error)
	RequeueJob(ctx context.Context, id int64) (storage.Job, error)
	RequeueRunning(ctx context.Context) (int64, error)
	SaveRun(ctx context.Context, run storage.StrategyRun, signals []storage.RunSignal, trades []storage.RunTrade) (int64, error)
	Candles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) ([]market.Candle, error)
}

// JobHandler runs one job type.
type JobHandler struct {
	// Check validates a payload; Submit refuses a payload it rejects, with its error. Optional.
	Check func(payload []byte) error
	// Run does the job. It must return soon after ctx is cancelled (user cancel, Stop). Its
	// result is stored as JSON: a []byte or json.RawMessage as it is (it must be JSON), anything
	// else through json.Marshal; nil stores no result. An error fails the job with its text; a
	// panic on Run's goroutine is recovered and fails the job with the panic's message (a panic
	// on a goroutine Run starts is not: such goroutines must recover themselves).
	Run func(ctx context.Context, jc *JobContext) (result any, err error)
}

// JobContext is what a handler gets besides its context.
type JobContext struct {
	Job   storage.Job // as claimed: Payload is the job's JSON payload
	Store JobStore
	Log   *slog.Logger // carries the job's id and type

	progress func(p float64)
}

// Progress reports the fraction done, in [0, 1]. It may be called often and from several
// goroutines: events and store writes are throttled (JobsOptions).
func (jc *JobContext) Progress(p float64) {
	if jc.progress != nil {
		jc.progress(p)
	}
}

// JobsOptions configure a Jobs runner. Zero values take the defaults noted.
type JobsOptions struct {
	Workers int              // jobs run at once; default runtime.NumCPU()
	Clock   func() time.Time // for elapsed, ETA and throttling; default time.Now
	Logger  *slog.Logger     // default: discard
	// Publish, when set, receives every JobEvent too (e.g. the engine's bus). It must not
	// block: it is called from the workers, progress events from inside handlers.
	Publish func(Event)
	// Handlers by job type; default DefaultJobHandlers().
	Handlers map[string]JobHandler
	// ProgressEvery is the least time between two progress events of one job (≤ 10/s by
	// default: 100ms); a negative value publishes every progress report. A report of 1 is
	// always published.
	ProgressEvery time.Duration
	// ProgressStoreEvery is the least time between two progress writes of one job to the
	// store; default 1s; negative: every report.
	ProgressStoreEvery time.Duration
	// PollInterval is how often idle workers look for pending jobs they were not told about
	// (submitted by another process); default 2s. Submit wakes a worker at once.
	PollInterval time.Duration
}

func (o *JobsOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Handlers == nil {
		o.Handlers = DefaultJobHandlers()
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 100 * time.Millisecond
	}
	if o.ProgressStoreEvery == 0 {
		o.ProgressStoreEvery = time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
}

// JobView is a job as the UI shows it.
type JobView struct {
	ID       int64
	UUID     string
	Type     string
	Status   JobStatus
	Progress float64 // 0..1; fresher than the store's for jobs running here
	// Elapsed is the time since the job was claimed while it runs, claim to end once finished;
	// 0 before it started.
	Elapsed time.Duration
	// ETA is the estimated time left of a running job, Elapsed·(1 − p)/p; HasETA is false
	// while it is unknown (no progress yet) and for jobs not running.
	ETA     time.Duration
	HasETA  bool
	Error   string // a failed job's error
	Summary string // one line: a finished job's key figures, the first line of its error, …
	Payload json.RawMessage
	Result  json.RawMessage // a completed job's result (see the handlers' result types)
	// Times; zero when not set.
	CreatedAt, StartedAt, CompletedAt time.Time
}

// Jobs is the job runner: a pool of workers that claim pending jobs from the store and run
// their handlers. Its methods are safe for concurrent use.
type Jobs struct {
	store JobStore
	opt   JobsOptions
	log   *slog.Logger
	bus   *Bus[Event]
	wake  chan struct{}

	// claimMu orders a worker's claim-and-register against Cancel's store-and-lookup, so that
	// Cancel always finds a job this runner has claimed.
	claimMu sync.Mutex

	mu      sync.Mutex
	running map[int64]*activeJob
	started bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// activeJob is a job running on one of this runner's workers.
type activeJob struct {
	job    storage.Job // as claimed
	start  time.Time   // Clock at the claim
	ctx    context.Context
	cancel context.CancelFunc
	// userCancelled: Cancel stored the cancellation (and published it). changed: the store
	// refused a progress write (the job was cancelled elsewhere).
	userCancelled, changed atomic.Bool

	mu        sync.Mutex // guards the progress state below
	progress  float64
	lastEvent time.Time
	evented   bool
	lastStore time.Time
	stored    bool
}

// NewJobs makes a runner; nothing runs until Start. Submit, Cancel and List work before Start
// too (a submitted job waits, pending).
func NewJobs(store JobStore, opt JobsOptions) *Jobs {
	opt.defaults()
	return &Jobs{
		store:   store,
		opt:     opt,
		log:     opt.Logger,
		bus:     NewBus[Event](1024),
		wake:    make(chan struct{}, opt.Workers),
		running: map[int64]*activeJob{},
	}
}

// Workers is the size of the pool.
func (j *Jobs) Workers() int { return j.opt.Workers }

// Subscribe streams the runner's JobEvents until ctx is done or Stop (see Bus).
func (j *Jobs) Subscribe(ctx context.Context) <-chan Event { return j.bus.Subscribe(ctx) }

// Types lists the job types this runner runs, sorted.
func (j *Jobs) Types() []string {
	out := make([]string, 0, len(j.opt.Handlers))
	for t := range j.opt.Handlers {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Start first moves the jobs left running by a crash back to pending, then starts the
// workers, which claim pending jobs oldest first. Stop ends them. It returns an error if the
// store cannot be read or written.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	switch {
	case j.started:
		j.mu.Unlock()
		return errors.New("jobs: already started")
	case j.stopped:
		j.mu.Unlock()
		return errors.New("jobs: start after stop")
	}
	j.started = true
	runCtx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	j.wg.Add(1) // Start itself, so that a concurrent Stop waits for the workers it starts
	j.mu.Unlock()
	defer j.wg.Done()

	n, err := j.store.RequeueRunning(ctx)
	if err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	if n > 0 {
		j.log.Warn("jobs: requeued jobs interrupted by a crash; they run again from the start", "jobs", n)
	}
	if runCtx.Err() != nil {
		return errors.New("jobs: stopped while starting")
	}
	for range j.opt.Workers {
		j.wg.Add(1)
		go func() { // owned by Jobs: ends on Stop
			defer j.wg.Done()
			j.worker(runCtx)
		}()
	}
	j.log.Info("jobs: started", "workers", j.opt.Workers)
	return nil
}

// Stop stops the workers. The jobs running are interrupted (their contexts cancelled) and go
// back to pending, so that the next Start runs them again from the start; a job whose handler
// still finishes (or fails) on its own is recorded as such. A job cancelled by the user is
// cancelled, never requeued. Stop waits for the workers, including the store writes that
// record where each job stands; if ctx ends first it returns an error, and the jobs still
// marked running are requeued by the next Start. Afterwards the runner's subscriptions are
// closed; the runner cannot be started again.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	if !j.started || j.stopped {
		j.stopped = true
		j.mu.Unlock()
		j.bus.Close()
		return nil
	}
	j.stopped = true
	cancel := j.cancel
	j.mu.Unlock()
	cancel()
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }() // ends when the workers have
	select {
	case <-done:
	case <-ctx.Done():
		j.mu.Lock()
		n := len(j.running)
		j.mu.Unlock()
		return fmt.Errorf("jobs: stop: %d jobs still running: %w", n, context.Cause(ctx))
	}
	j.bus.Close()
	j.log.Info("jobs: stopped")
	return nil
}

func (j *Jobs) worker(ctx context.Context) {
	timer := time.NewTimer(j.opt.PollInterval)
	defer timer.Stop()
	for ctx.Err() == nil {
		ran, err := j.runNext(ctx)
		if err != nil && ctx.Err() == nil {
			j.log.Error("jobs: claim a pending job", "err", err)
		}
		if ran && err == nil {
			continue
		}
		timer.Reset(j.opt.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-j.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// notify wakes one idle worker.
func (j *Jobs) notify() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// runNext claims one pending job and runs it; ran is false when none was pending.
func (j *Jobs) runNext(ctx context.Context) (ran bool, err error) {
	j.claimMu.Lock()
	job, ok, err := j.store.ClaimNextPending(ctx)
	if err != nil || !ok {
		j.claimMu.Unlock()
		return false, err
	}
	a := &activeJob{job: job, start: j.opt.Clock()}
	a.ctx, a.cancel = context.WithCancel(ctx)
	j.mu.Lock()
	j.running[job.ID] = a
	j.mu.Unlock()
	j.claimMu.Unlock()
	j.notify() // more may be pending: let another idle worker look

	log := j.log.With("job", job.ID, "type", job.Type)
	log.Info("jobs: job started")
	j.publish(j.activeView(a))
	jc := &JobContext{Job: job, Store: j.store, Log: log, progress: func(p float64) { j.reportProgress(a, p) }}
	res, herr := j.call(a.ctx, jc)
	a.cancel()
	j.finish(ctx, a, log, res, herr)
	return true, nil
}

// call runs the job's handler, turning a panic into an error.
func (j *Jobs) call(ctx context.Context, jc *JobContext) (res any, err error) {
	h, ok := j.opt.Handlers[jc.Job.Type]
	if !ok || h.Run == nil {
		return nil, fmt.Errorf("unknown job type %q; this runner runs %s", jc.Job.Type, strings.Join(j.Types(), ", "))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			jc.Log.Error("jobs: handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return h.Run(ctx, jc)
}

// finishTimeout bounds the store writes that record a job's end (they do not use the
// runner's context, which Stop cancels).
const finishTimeout = 30 * time.Second

// finish records how a run ended and publishes it. runCtx is the workers' context: done when
// Stop interrupted the run.
func (j *Jobs) finish(runCtx context.Context, a *activeJob, log *slog.Logger, res any, herr error) {
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()
	defer func() {
		j.mu.Lock()
		delete(j.running, a.job.ID)
		j.mu.Unlock()
	}()
	id := a.job.ID
	elapsed := j.opt.Clock().Sub(a.start)
	var (
		job storage.Job
		err error
	)
	switch {
	case a.userCancelled.Load():
		log.Info("jobs: job cancelled", "elapsed", elapsed)
		return // Cancel stored and published it
	case a.changed.Load() || (herr != nil && errors.Is(herr, storage.ErrJobState)):
		job, err = j.store.GetJob(ctx, id) // cancelled elsewhere: report what it is now
		log.Info("jobs: job changed by someone else while it ran", "status", job.Status, "err", err)
	case herr != nil && runCtx.Err() != nil:
		job, err = j.store.RequeueJob(ctx, id)
		log.Info("jobs: job interrupted by stop; requeued, it runs again at the next start", "elapsed", elapsed)
	case herr != nil:
		job, err = j.store.FailJob(ctx, id, herr.Error())
		log.Error("jobs: job failed", "err", herr, "elapsed", elapsed)
	default:
		data, merr := marshalResult(res)
		if merr != nil {
			job, err = j.store.FailJob(ctx, id, "encode result: "+merr.Error())
			log.Error("jobs: job failed", "err", merr)
			break
		}
		job, err = j.store.CompleteJob(ctx, id, data)
		if errors.Is(err, storage.ErrJobState) { // cancelled meanwhile
			job, err = j.store.GetJob(ctx, id)
		} else if err == nil {
			log.Info("jobs: job completed", "elapsed", elapsed)
		}
	}
	if err != nil {
		log.Error("jobs: recording the job's end failed; it stays running and is requeued at the next start", "err", err)
		return
	}
	j.publish(j.view(job, nil))
}

func marshalResult(res any) ([]byte, error) {
	switch r := res.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(r) {
			return nil, errors.New("the handler's result is not valid JSON")
		}
		return r, nil
	case []byte:
		if !json.Valid(r) {
			return nil, errors.New("the handler's result is not valid JSON")
		}
		return r, nil
	}
	return json.Marshal(res)
}

// reportProgress is JobContext.Progress: it publishes (throttled) and stores (throttled).
func (j *Jobs) reportProgress(a *activeJob, p float64) {
	if math.IsNaN(p) {
		return
	}
	p = min(max(p, 0), 1)
	now := j.opt.Clock()
	a.mu.Lock()
	a.progress = p
	final := p >= 1
	pub := final || j.opt.ProgressEvery < 0 || !a.evented || now.Sub(a.lastEvent) >= j.opt.ProgressEvery
	store := final || j.opt.ProgressStoreEvery < 0 || !a.stored || now.Sub(a.lastStore) >= j.opt.ProgressStoreEvery
	if pub {
		a.lastEvent, a.evented = now, true
		// Under a.mu, so that reports from several goroutines are published in order.
		j.publish(j.activeViewLocked(a, now))
	}
	if store {
		a.lastStore, a.stored = now, true
	}
	a.mu.Unlock()
	if !store {
		return
	}
	err := j.store.UpdateProgress(a.ctx, a.job.ID, p)
	switch {
	case err == nil, a.ctx.Err() != nil:
	case errors.Is(err, storage.ErrJobState):
		// Not running any more: cancelled by someone else. Stop the handler.
		a.changed.Store(true)
		a.cancel()
	default:
		j.log.Warn("jobs: store progress", "job", a.job.ID, "err", err)
	}
}

func (j *Jobs) publish(v JobView) {
	ev := JobEvent{Job: v}
	j.bus.Publish(ev)
	if j.opt.Publish != nil {
		j.opt.Publish(ev)
	}
}

// Submit validates the payload (JSON as a string, []byte or json.RawMessage, or a value to
// marshal, e.g. a BacktestJob; nil is {}) against the job type's handler, stores the job as pending, publishes
// it and wakes a worker.
func (j *Jobs) Submit(ctx context.Context, jobType string, payload any) (JobView, error) {
	h, ok := j.opt.Handlers[jobType]
	if !ok {
		return JobView{}, fmt.Errorf("jobs: submit: unknown job type %q; known: %s", jobType, strings.Join(j.Types(), ", "))
	}
	var data []byte
	var err error
	if text, ok := payload.(string); ok { // JSON text
		data = []byte(text)
	} else if data, err = marshalResult(payload); err != nil {
		return JobView{}, fmt.Errorf("jobs: submit %s: payload: %w", jobType, err)
	}
	if len(data) == 0 {
		data = []byte("{}")
	}
	if h.Check != nil {
		if err := h.Check(data); err != nil {
			return JobView{}, fmt.Errorf("jobs: submit %s: %w", jobType, err)
		}
	}
	job, err := j.store.CreateJob(ctx, jobType, data)
	if err != nil {
		return JobView{}, fmt.Errorf("jobs: submit %s: %w", jobType, err)
	}
	j.log.Info("jobs: job submitted", "job", job.ID, "type", jobType)
	v := j.view(job, nil)
	j.publish(v)
	j.notify()
	return v, nil
}

// Cancel cancels a pending or running job: the store records it as cancelled (dropping any run
// it saved), a JobEvent is published, and a running job's handler context is cancelled (its
// worker moves on once the handler returns). Cancelling a cancelled job does nothing; a
// finished one is an error (errors.Is storage.ErrJobState), as is an unknown id
// (storage.ErrJobNotFound).
func (j *Jobs) Cancel(ctx context.Context, id int64) error {
	j.claimMu.Lock()
	job, err := j.store.CancelJob(ctx, id)
	if err != nil {
		j.claimMu.Unlock()
		return fmt.Errorf("jobs: cancel: %w", err)
	}
	j.mu.Lock()
	a := j.running[id]
	j.mu.Unlock()
	j.claimMu.Unlock()
	v := j.view(job, nil)
	if a != nil {
		a.userCancelled.Store(true)
		a.cancel()
		v.Elapsed = j.opt.Clock().Sub(a.start)
		a.mu.Lock()
		v.Progress = a.progress
		a.mu.Unlock()
	}
	j.log.Info("jobs: job cancelled", "job", id, "was_running", a != nil)
	j.publish(v)
	return nil
}

// Get returns one job.
func (j *Jobs) Get(ctx context.Context, id int64) (JobView, error) {
	job, err := j.store.GetJob(ctx, id)
	if err != nil {
		return JobView{}, fmt.Errorf("jobs: %w", err)
	}
	return j.viewOf(job), nil
}

// List returns up to n jobs, newest first (n ≤ 0: all).
func (j *Jobs) List(ctx context.Context, n int) ([]JobView, error) {
	jobs, err := j.store.ListJobs(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	out := make([]JobView, len(jobs))
	for i, job := range jobs {
		out[i] = j.viewOf(job)
	}
	return out, nil
}

// viewOf is the view of a stored job, with the in-memory progress of a job running here.
func (j *Jobs) viewOf(job storage.Job) JobView {
	var a *activeJob
	if job.Status == JobRunning {
		j.mu.Lock()
		a = j.running[job.ID]
		j.mu.Unlock()
	}
	return j.view(job, a)
}

func (j *Jobs) activeView(a *activeJob) JobView {
	now := j.opt.Clock()
	a.mu.Lock()
	defer a.mu.Unlock()
	return j.activeViewLocked(a, now)
}

func (j *Jobs) activeViewLocked(a *activeJob, now time.Time) JobView {
	v := j.view(a.job, nil)
	v.Status = JobRunning
	v.Progress = a.progress
	v.Elapsed = max(now.Sub(a.start), 0)
	v.ETA, v.HasETA = eta(v.Elapsed, v.Progress)
	return v
}

// view builds a JobView from a stored job; a, when set, is the same job running here.
func (j *Jobs) view(job storage.Job, a *activeJob) JobView {
	if a != nil {
		return j.activeView(a)
	}
	v := JobView{
		ID: job.ID, UUID: job.UUID, Type: job.Type, Status: job.Status, Progress: job.Progress,
		Error: job.Error, Payload: job.Payload, Result: job.Result,
		CreatedAt: msTime(job.CreatedAt), StartedAt: msTime(job.StartedAt), CompletedAt: msTime(job.CompletedAt),
	}
	switch {
	case job.StartedAt > 0 && job.CompletedAt > 0 && job.Status.Finished():
		v.Elapsed = time.Duration(max(job.CompletedAt-job.StartedAt, 0)) * time.Millisecond
	case job.StartedAt > 0 && job.Status == JobRunning:
		v.Elapsed = max(j.opt.Clock().Sub(v.StartedAt), 0)
		v.ETA, v.HasETA = eta(v.Elapsed, v.Progress)
	}
	v.Summary = jobSummary(job)
	return v
}

// eta estimates the time left from the time spent and the fraction done.
func eta(elapsed time.Duration, p float64) (time.Duration, bool) {
	switch {
	case p >= 1:
		return 0, true
	case p <= 0:
		return 0, false
	}
	return time.Duration(float64(elapsed) * (1 - p) / p), true
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// jobSummary is a job's one-line summary for the job list.
func jobSummary(job storage.Job) string {
	switch job.Status {
	case JobPending:
		return "waiting for a worker"
	case JobRunning:
		return ""
	case JobCancelled:
		return "cancelled"
	case JobFailed:
		line, _, _ := strings.Cut(job.Error, "\n")
		return line
	}
	if len(job.Result) == 0 {
		return "done"
	}
	switch job.Type {
	case JobTypeDataSync:
		if s, ok := dataSyncSummary(job.Result); ok {
			return s
		}
	case JobTypeBacktest:
		var r BacktestJobResult
		if json.Unmarshal(job.Result, &r) == nil {
			return metricsLine(r.Metrics)
		}
	case JobTypeSweep:
		var r SweepJobResult
		if json.Unmarshal(job.Result, &r) == nil && len(r.Ranking) > 0 {
			b := r.Ranking[0]
			return fmt.Sprintf("best %s · %s · %d of %d combinations ran", valuesText(b.Params), metricsLine(b.Metrics), r.Ran, r.Combos)
		}
	case JobTypeOrderflow:
		var r storage.OrderflowSummary
		if json.Unmarshal(job.Result, &r) == nil {
			return fmt.Sprintf("%d snapshots · OBI mean %+.3f · final CVD %.6g", r.Snapshots, r.OBI.Mean, r.FinalCVD)
		}
	}
	return "done"
}

func metricsLine(m Metrics) string {
	return fmt.Sprintf("return %+.2f%% · sharpe %.2f · max DD %.2f%% · %d trades",
		100*m.TotalReturn, m.Sharpe, 100*m.MaxDrawdown, m.Trades)
}

func valuesText(v map[string]float64) string {
	var b bytes.Buffer
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", n, fmtNum(v[n]))
	}
	return b.String()
}

// DefaultJobHandlers returns the built-in job types: backtest (BacktestJob), sweep (SweepJob)
// and orderflow (OrderflowJob). The map is new on every call: add or replace entries freely.
func DefaultJobHandlers() map[string]JobHandler {
	return map[string]JobHandler{
		JobTypeBacktest: {
			Check: func(p []byte) error { _, err := planBacktest(p); return err },
			Run:   runBacktestJob,
		},
		JobTypeSweep: {
			Check: func(p []byte) error { _, err := planSweep(p); return err },
			Run:   runSweepJob,
		},
		JobTypeOrderflow: {
			Check: func(p []byte) error { _, err := planOrderflow(p, true); return err },
			Run:   runOrderflowJob,
		},
	}
}

// JobBroker holds the paper-broker settings of a job payload; zero values take
// DefaultBrokerConfig's.
type JobBroker struct {
	Fee               json.Number `json:"fee,omitempty"`     // rate per side (0.001 = 0.1%); unset: 0.001
	Balance           json.Number `json:"balance,omitempty"` // starting cash; unset: 10000
	SlippageBps       float64     `json:"slippage_bps,omitempty"`
	PositionSize      float64     `json:"position_size,omitempty"` // fraction of equity per entry; unset: 1
	MaxPosition       float64     `json:"max_position,omitempty"`  // most cash per entry (notional + fee); 0 no cap
	ScaleByConfidence bool        `json:"scale_by_confidence,omitempty"`
	TakeProfit        float64     `json:"take_profit,omitempty"` // fraction of the entry price; 0 off
	StopLoss          float64     `json:"stop_loss,omitempty"`   // fraction of the entry price; 0 off
	Timeout           string      `json:"timeout,omitempty"`     // Go duration, e.g. "4h"; "" off
	AllowShort        bool        `json:"allow_short,omitempty"`
}

// Config is the broker configuration, validated; errors name the payload field.
func (b JobBroker) Config() (BrokerConfig, error) {
	cfg := DefaultBrokerConfig()
	var errs []error
	if b.Fee != "" {
		d, err := decimal.Parse(string(b.Fee))
		if err != nil {
			errs = append(errs, fmt.Errorf("fee %q: not a decimal number", b.Fee))
		}
		cfg.Fee = d
	}
	if b.Balance != "" {
		d, err := decimal.Parse(string(b.Balance))
		if err != nil || !d.IsPos() {
			errs = append(errs, fmt.Errorf("balance %q: must be a positive decimal number", b.Balance))
		}
		cfg.Balance = d
	}
	cfg.SlippageBps = b.SlippageBps
	if b.PositionSize != 0 {
		cfg.PositionSize = b.PositionSize
	}
	cfg.ScaleByConfidence = b.ScaleByConfidence
	cfg.MaxPosition = b.MaxPosition
	cfg.TakeProfit, cfg.StopLoss = b.TakeProfit, b.StopLoss
	if b.Timeout != "" {
		d, err := time.ParseDuration(b.Timeout)
		if err != nil {
			errs = append(errs, fmt.Errorf("timeout %q: not a duration (e.g. 90m, 4h)", b.Timeout))
		}
		cfg.Timeout = d
	}
	cfg.AllowShort = b.AllowShort
	if len(errs) == 0 {
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errors.Join(errs...)
}

// BacktestJob is the payload of a backtest job: a strategy with its parameters over the
// stored candles of one series.
type BacktestJob struct {
	Strategy  string            `json:"strategy"`
	Params    map[string]string `json:"params,omitempty"` // as --param k=v; defaults fill the rest
	Exchange  string            `json:"exchange"`
	Symbol    string            `json:"symbol"`
	Timeframe string            `json:"timeframe"` // "1m", "1h", …
	From      int64             `json:"from"`      // candle stamps in [from, to], unix ms
	To        int64             `json:"to"`        // 0: up to the newest candle
	JobBroker
}

// BacktestJobResult is a backtest job's result; the run itself (signals, trades) is in
// strategy_runs (RunID).
type BacktestJobResult struct {
	RunID   int64   `json:"run_id"`
	Candles int     `json:"candles"`
	Metrics Metrics `json:"metrics"`
}

// backtestPlan is a checked BacktestJob.
type backtestPlan struct {
	p      BacktestJob
	strat  strategies.Strategy
	values strategies.Values
	tf     market.Timeframe
	cfg    BrokerConfig
}

// decodeStrict decodes a payload, refusing unknown fields (a typo must not pass silently).
func decodeStrict(payload []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if d.More() {
		return errors.New("payload: more than one JSON value")
	}
	return nil
}

func planBacktest(payload []byte) (backtestPlan, error) {
	var p BacktestJob
	if err := decodeStrict(payload, &p); err != nil {
		return backtestPlan{}, fmt.Errorf("backtest: %w", err)
	}
	pl, err := p.plan()
	if err != nil {
		return backtestPlan{}, fmt.Errorf("backtest: %w", err)
	}
	return pl, nil
}

func (p BacktestJob) plan() (backtestPlan, error) {
	pl := backtestPlan{p: p}
	var errs []error
	if p.Exchange == "" {
		errs = append(errs, errors.New("exchange: missing"))
	}
	if p.Symbol == "" {
		errs = append(errs, errors.New("symbol: missing"))
	}
	tf, err := market.ParseTimeframe(p.Timeframe)
	if err != nil {
		errs = append(errs, err) // names the value and the valid ones
	}
	pl.tf = tf
	if p.From < 0 || (p.To > 0 && p.To < p.From) {
		errs = append(errs, fmt.Errorf("from %d, to %d: want 0 ≤ from ≤ to (unix ms; to 0 = up to the newest candle)", p.From, p.To))
	}
	if pl.cfg, err = p.JobBroker.Config(); err != nil {
		errs = append(errs, err)
	}
	if pl.strat, err = strategies.Builtin().Get(p.Strategy); err != nil {
		errs = append(errs, err)
	} else if pl.values, err = strategies.Resolve(pl.strat, p.Params); err != nil {
		errs = append(errs, err)
	} else if _, err := pl.strat.New(pl.values); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return backtestPlan{}, err
	}
	return pl, nil
}

// candles reads the plan's candles; none is an error naming the series and the interval.
func (pl *backtestPlan) candles(ctx context.Context, store JobStore) ([]market.Candle, error) {
	to := pl.p.To
	if to <= 0 {
		to = math.MaxInt64
	}
	cs, err := store.Candles(ctx, pl.p.Exchange, market.Symbol(pl.p.Symbol), pl.tf, pl.p.From, to)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("no stored %s candles of %s %s from %s to %s", pl.tf, pl.p.Exchange, pl.p.Symbol,
			fmtStamp(pl.p.From, "the first"), fmtStamp(pl.p.To, "the last"))
	}
	return cs, nil
}

func fmtStamp(ms int64, zero string) string {
	if ms <= 0 {
		return zero
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04Z")
}

// progressEvery makes Backtest report about 200 times per run.
func progressEvery(n int) int { return max(1, n/200) }

func runBacktestJob(ctx context.Context, jc *JobContext) (any, error) {
	pl, err := planBacktest(jc.Job.Payload)
	if err != nil {
		return nil, err
	}
	cs, err := pl.candles(ctx, jc.Store)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	inst, err := pl.strat.New(pl.values)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	res, err := Backtest(ctx, cs, inst, pl.cfg, BacktestOptions{
		Progress:      func(done, total int) { jc.Progress(float64(done) / float64(total)) },
		ProgressEvery: progressEvery(len(cs)),
	})
	if err != nil {
		return nil, err
	}
	runID, err := saveRun(ctx, jc, &pl, pl.values, cs, &res)
	if err != nil {
		return nil, err
	}
	return BacktestJobResult{RunID: runID, Candles: res.Candles, Metrics: res.Metrics}, nil
}

// saveRun stores a run with its signals and trades for the job.
func saveRun(ctx context.Context, jc *JobContext, pl *backtestPlan, values strategies.Values, cs []market.Candle, res *BacktestResult) (int64, error) {
	params, err := json.Marshal(values)
	if err != nil {
		return 0, fmt.Errorf("save run: params: %w", err)
	}
	metrics, err := json.Marshal(res.Metrics)
	if err != nil {
		return 0, fmt.Errorf("save run: metrics: %w", err)
	}
	run := storage.StrategyRun{
		JobID: jc.Job.ID, Strategy: pl.strat.Name(), Params: params, Exchange: pl.p.Exchange,
		Symbol: market.Symbol(pl.p.Symbol), Timeframe: pl.tf, StartTS: cs[0].Time, EndTS: cs[len(cs)-1].Time,
		Metrics: metrics,
	}
	sigs, trades := runRows(res)
	id, err := jc.Store.SaveRun(ctx, run, sigs, trades)
	if err != nil {
		return 0, err
	}
	return id, nil
}

// runRows converts a result's signals and trades to their stored form.
func runRows(res *BacktestResult) ([]storage.RunSignal, []storage.RunTrade) {
	sigs := make([]storage.RunSignal, len(res.Signals))
	for i, s := range res.Signals {
		v := s.Value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0.5 // neutral; storage keeps finite values only
		}
		sigs[i] = storage.RunSignal{Time: s.Time, Action: s.Action.String(), Value: v,
			Direction: s.Direction.String(), Confidence: s.Confidence.String()}
	}
	trades := make([]storage.RunTrade, len(res.Trades))
	for i, t := range res.Trades {
		trades[i] = storage.RunTrade{
			Side: t.Side, EntryTime: t.EntryTime, EntryPrice: t.EntryPrice.String(), ExitTime: t.ExitTime,
			ExitPrice: t.ExitPrice.String(), Quantity: t.Quantity.String(), PnL: t.PnL.String(),
			PnLPct: t.PnLPct.String(), Fees: t.Fees.String(), ExitReason: t.ExitReason,
		}
	}
	return sigs, trades
}

// SweepJob is the payload of a sweep job: a backtest whose parameters in Sweep are varied
// over a grid.
type SweepJob struct {
	BacktestJob
	Sweep   []string `json:"sweep"`             // "name=from:to:step", as --sweep (ParseSweep)
	RankBy  string   `json:"rank_by,omitempty"` // one of RankMetrics(); "" = DefaultRankBy
	Workers int      `json:"workers,omitempty"` // backtests at once; 0 = every core
	Top     int      `json:"top,omitempty"`     // ranked runs kept in the result; 0 = 100, < 0 = all
}

// SweepJobResult is a sweep job's result. The best run is stored in full (RunID); the
// ranking keeps each combination's metrics.
type SweepJobResult struct {
	RunID      int64          `json:"run_id"`
	RankedBy   string         `json:"ranked_by"`
	Candles    int            `json:"candles"`
	Combos     int            `json:"combos"`
	Ran        int            `json:"ran"`
	Skipped    int            `json:"skipped"`
	SkipReason string         `json:"skip_reason,omitempty"`
	Ranking    []SweepRankRow `json:"ranking"` // best first, at most Top rows
}

// SweepRankRow is one ranked combination.
type SweepRankRow struct {
	Rank    int                `json:"rank"` // 1 = best
	Params  map[string]float64 `json:"params"`
	Metrics Metrics            `json:"metrics"`
}

type sweepPlan struct {
	backtestPlan
	ranges []SweepRange
	p      SweepJob
}

func planSweep(payload []byte) (sweepPlan, error) {
	var p SweepJob
	if err := decodeStrict(payload, &p); err != nil {
		return sweepPlan{}, fmt.Errorf("sweep: %w", err)
	}
	var errs []error
	bt, err := p.BacktestJob.plan()
	if err != nil {
		errs = append(errs, err)
	}
	pl := sweepPlan{backtestPlan: bt, p: p}
	if len(p.Sweep) == 0 {
		errs = append(errs, errors.New("no ranges (sweep: [\"name=from:to:step\", …])"))
	}
	for _, s := range p.Sweep {
		r, err := ParseSweep(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pl.ranges = append(pl.ranges, r)
	}
	if err := CheckRankBy(p.RankBy); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if _, err := SweepGrid(bt.strat, bt.values, pl.ranges); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sweepPlan{}, fmt.Errorf("sweep: %w", err)
	}
	return pl, nil
}

func runSweepJob(ctx context.Context, jc *JobContext) (any, error) {
	pl, err := planSweep(jc.Job.Payload)
	if err != nil {
		return nil, err
	}
	cs, err := pl.candles(ctx, jc.Store)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	res, err := Sweep(ctx, cs, SweepConfig{
		Strategy: pl.strat, Base: pl.values, Ranges: pl.ranges, Broker: pl.cfg,
		RankBy: pl.p.RankBy, Workers: pl.p.Workers,
		Progress: func(done, total int) { jc.Progress(float64(done) / float64(total)) },
	})
	if err != nil {
		return nil, err
	}
	best := res.Runs[0]
	runID, err := saveRun(ctx, jc, &pl.backtestPlan, best.Params, cs, &res.Best)
	if err != nil {
		return nil, err
	}
	top := pl.p.Top
	switch {
	case top == 0:
		top = 100
	case top < 0:
		top = len(res.Runs)
	}
	out := SweepJobResult{
		RunID: runID, RankedBy: res.RankedBy, Candles: len(cs), Combos: res.Combos, Ran: len(res.Runs),
		Skipped: res.Skipped, SkipReason: res.SkipReason,
		Ranking: make([]SweepRankRow, 0, min(top, len(res.Runs))),
	}
	for i, r := range res.Runs[:min(top, len(res.Runs))] {
		out.Ranking = append(out.Ranking, SweepRankRow{Rank: i + 1, Params: r.Params, Metrics: r.Metrics})
	}
	return out, nil
}

// OrderflowJob is the payload of an orderflow job: `tradeconsole orderflow` in the background.
type OrderflowJob struct {
	DB    string `json:"db"`    // the order-flow file
	Depth int    `json:"depth"` // levels per side in OBI; 0 = all
}

func planOrderflow(payload []byte, stat bool) (OrderflowJob, error) {
	var p OrderflowJob
	if err := decodeStrict(payload, &p); err != nil {
		return p, fmt.Errorf("orderflow: %w", err)
	}
	switch {
	case p.DB == "":
		return p, errors.New("orderflow: db: missing (the order-flow file)")
	case p.Depth < 0:
		return p, fmt.Errorf("orderflow: depth %d: must be 0 (all levels) or more", p.Depth)
	}
	if stat {
		if fi, err := os.Stat(p.DB); err != nil {
			return p, fmt.Errorf("orderflow: db: %w", err)
		} else if fi.IsDir() {
			return p, fmt.Errorf("orderflow: db %s: is a directory", p.DB)
		}
	}
	return p, nil
}

// runOrderflowJob computes the OBI and CVD of a file (storage.RunOrderflow); the result is
// its storage.OrderflowSummary.
func runOrderflowJob(ctx context.Context, jc *JobContext) (any, error) {
	p, err := planOrderflow(jc.Job.Payload, false)
	if err != nil {
		return nil, err
	}
	sum, err := storage.RunOrderflow(ctx, p.DB, storage.OrderflowOptions{
		Depth: p.Depth,
		Progress: func(done, total int64) {
			if total > 0 {
				jc.Progress(float64(done) / float64(total))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}
