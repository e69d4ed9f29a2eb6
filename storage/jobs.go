package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Jobs and strategy runs (migration 2).
//
// Job state changes are few and must not be lost, so they do not go through the batching
// writer (whose queue holds market data only, and whose Flush would also wait for every
// queued candle): each is one direct BEGIN IMMEDIATE transaction on the writer connection.
// That connection is the pool's only one, so these transactions simply take turns with the
// writer's batches, and SQLite's write lock orders them against other processes. For the
// length of such a transaction the connection runs with synchronous=FULL instead of the
// database's NORMAL: the commit is on disk (WAL synced) before the method returns, so a state
// change that returned survives a process crash and a power loss alike. UpdateProgress is the
// exception: it is cheap (autocommit, synchronous=NORMAL), since a lost progress value is
// harmless.

// JobStatus is a job's state: pending → running → completed | failed, and pending or
// running → cancelled; running → pending again when a run is interrupted (RequeueJob,
// RequeueRunning).
type JobStatus string

const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Finished reports whether s is a final state (completed, failed or cancelled).
func (s JobStatus) Finished() bool {
	return s == JobCompleted || s == JobFailed || s == JobCancelled
}

// Job is one row of the jobs table. Times are unix ms UTC, 0 when not set.
type Job struct {
	ID          int64           `json:"id"`
	UUID        string          `json:"uuid"`
	Type        string          `json:"job_type"`
	Status      JobStatus       `json:"status"`
	Payload     json.RawMessage `json:"payload"`
	Result      json.RawMessage `json:"result,omitempty"` // nil until completed
	Error       string          `json:"error,omitempty"`  // set when failed
	Progress    float64         `json:"progress"`         // 0..1
	CreatedAt   int64           `json:"created_at"`
	StartedAt   int64           `json:"started_at,omitempty"`   // when last claimed
	CompletedAt int64           `json:"completed_at,omitempty"` // when completed, failed or cancelled
}

// ErrJobNotFound is returned (wrapped) for an id that has no job.
var ErrJobNotFound = errors.New("job not found")

// ErrJobState is matched (errors.Is) by a *JobStateError.
var ErrJobState = errors.New("job is not in a state that allows this")

// JobStateError is an operation refused because of the job's status, e.g. completing a job
// that was cancelled meanwhile, or cancelling one that has completed.
type JobStateError struct {
	Op     string // "complete", "fail", "cancel", "requeue", "save run for", "update progress of"
	ID     int64
	Status JobStatus // the status the job has
	Want   string    // the states the operation accepts, in words
}

func (e *JobStateError) Error() string {
	return fmt.Sprintf("storage: %s job %d: it is %s; only a %s job can be", e.Op, e.ID, e.Status, e.Want)
}

// Is makes errors.Is(err, ErrJobState) true.
func (e *JobStateError) Is(target error) bool { return target == ErrJobState }

const jobCols = `id, uuid, job_type, status, payload, result, error, progress, created_at, started_at, completed_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanJob(r rowScanner) (Job, error) {
	var (
		j                  Job
		status             string
		payload            []byte
		result, errText    sql.NullString
		started, completed sql.NullInt64
	)
	if err := r.Scan(&j.ID, &j.UUID, &j.Type, &status, &payload, &result, &errText, &j.Progress,
		&j.CreatedAt, &started, &completed); err != nil {
		return Job{}, err
	}
	j.Status = JobStatus(status)
	j.Payload = payload
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	j.Error = errText.String
	j.StartedAt, j.CompletedAt = started.Int64, completed.Int64
	return j, nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// durableTx runs fn in one BEGIN IMMEDIATE transaction on the writer connection, with
// synchronous=FULL for its commit (see the top of this file). fn's error rolls back.
func (db *DB) durableTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return fmt.Errorf("set synchronous=FULL: %w", err)
	}
	defer func() {
		// Back to the database's setting for the writer's batches. Should that fail, the
		// connection is dropped: the pool opens a new one with the DSN's settings.
		if _, err := conn.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`); err != nil {
			db.log.Warn("storage: restore synchronous=NORMAL failed; reopening the writer connection", "err", err)
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CreateJob stores a new pending job with a fresh UUID and returns it. payload must be JSON
// (empty means {}).
func (db *DB) CreateJob(ctx context.Context, jobType string, payload []byte) (Job, error) {
	if strings.TrimSpace(jobType) == "" {
		return Job{}, errors.New("storage: create job: empty job type")
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		return Job{}, fmt.Errorf("storage: create %s job: payload is not valid JSON: %.80q", jobType, payload)
	}
	var j Job
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO jobs(uuid, job_type, status, payload, progress, created_at)
			VALUES (?, ?, 'pending', ?, 0, ?) RETURNING `+jobCols,
			newUUID(), jobType, string(payload), nowMillis()))
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("storage: create %s job: %w", jobType, err)
	}
	return j, nil
}

// GetJob returns the job with the given id, or an error wrapping ErrJobNotFound.
func (db *DB) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Job{}, fmt.Errorf("storage: job %d: %w", id, ErrJobNotFound)
	case err != nil:
		return Job{}, fmt.Errorf("storage: job %d: %w", id, err)
	}
	return j, nil
}

// ListJobs returns up to limit jobs, newest first (limit ≤ 0: all of them).
func (db *DB) ListJobs(ctx context.Context, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: list jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list jobs: %w", err)
	}
	return out, nil
}

// ClaimNextPending atomically moves the oldest pending job to running (started_at now,
// progress 0) and returns it; ok is false when no job is pending. Concurrent callers, in this
// process or another, never claim the same job.
func (db *DB) ClaimNextPending(ctx context.Context) (j Job, ok bool, err error) {
	// A cheap look on the read pool first, so that idle workers polling do not take the
	// write lock; the UPDATE below decides.
	var pending int
	if err := db.r.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM jobs WHERE status = 'pending')`).Scan(&pending); err != nil {
		return Job{}, false, fmt.Errorf("storage: claim job: %w", err)
	}
	if pending == 0 {
		return Job{}, false, nil
	}
	err = db.durableTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs
			SET status = 'running', started_at = ?, progress = 0, result = NULL, error = NULL, completed_at = NULL
			WHERE id = (SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT 1)
			RETURNING `+jobCols, nowMillis()))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Job{}, false, nil
	case err != nil:
		return Job{}, false, fmt.Errorf("storage: claim job: %w", err)
	}
	return j, true, nil
}

// UpdateProgress sets a running job's progress (clamped to [0, 1]). It is cheap and not
// synced to disk (see the top of this file); callers may call it often, but throttling is
// theirs. A job that is no longer running gives a *JobStateError (so that a worker learns
// that its job was cancelled, possibly by another process), an unknown id ErrJobNotFound.
func (db *DB) UpdateProgress(ctx context.Context, id int64, p float64) error {
	if math.IsNaN(p) {
		return fmt.Errorf("storage: update progress of job %d: progress is NaN", id)
	}
	p = min(max(p, 0), 1)
	res, err := db.w.ExecContext(ctx, `UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'`, p, id)
	if err != nil {
		return fmt.Errorf("storage: update progress of job %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	j, err := db.GetJob(ctx, id)
	if err != nil {
		return err
	}
	return &JobStateError{Op: "update progress of", ID: id, Status: j.Status, Want: "running"}
}

// transition runs one guarded state change in a durable transaction: update (which must
// RETURN jobCols and match only jobs in an accepted state) and, on success, after(tx). When
// update matches nothing, the job's current status decides: same → the call is a repeat and
// returns the job unchanged (idempotent); otherwise a *JobStateError (or ErrJobNotFound).
func (db *DB) transition(ctx context.Context, op string, id int64, want string, same JobStatus,
	update string, args []any, after func(tx *sql.Tx) error) (Job, error) {
	var j Job
	var state error
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, update, args...))
		if errors.Is(err, sql.ErrNoRows) {
			j, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("storage: %s job %d: %w", op, id, ErrJobNotFound)
			case err != nil:
				return err
			case j.Status != same:
				state = &JobStateError{Op: op, ID: id, Status: j.Status, Want: want}
			}
			return nil
		}
		if err != nil {
			return err
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrJobNotFound):
		return Job{}, err
	case err != nil:
		return Job{}, fmt.Errorf("storage: %s job %d: %w", op, id, err)
	case state != nil:
		return j, state
	}
	return j, nil
}

// deleteRuns removes the strategy runs of a job (their signals and trades cascade).
func deleteRuns(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM strategy_runs WHERE job_id IN (`+where+`)`, args...)
	return err
}

// CompleteJob moves a running job to completed with its result (JSON, or nil for none) and
// progress 1. Completing a completed job again changes nothing and returns it; a job in any
// other state gives a *JobStateError (e.g. cancelled while its run finished).
func (db *DB) CompleteJob(ctx context.Context, id int64, result []byte) (Job, error) {
	var res any
	if len(result) > 0 {
		if !json.Valid(result) {
			return Job{}, fmt.Errorf("storage: complete job %d: result is not valid JSON: %.80q", id, result)
		}
		res = string(result)
	}
	return db.transition(ctx, "complete", id, "running", JobCompleted,
		`UPDATE jobs SET status = 'completed', result = ?, error = NULL, progress = 1, completed_at = ?
			WHERE id = ? AND status = 'running' RETURNING `+jobCols,
		[]any{res, nowMillis(), id}, nil)
}

// FailJob moves a running job to failed, keeping errText, and deletes any strategy run it
// saved. Failing a failed job again changes nothing; other states give a *JobStateError.
func (db *DB) FailJob(ctx context.Context, id int64, errText string) (Job, error) {
	if strings.TrimSpace(errText) == "" {
		errText = "failed (no error text)"
	}
	return db.transition(ctx, "fail", id, "running", JobFailed,
		`UPDATE jobs SET status = 'failed', error = ?, completed_at = ?
			WHERE id = ? AND status = 'running' RETURNING `+jobCols,
		[]any{errText, nowMillis(), id},
		func(tx *sql.Tx) error { return deleteRuns(ctx, tx, `?`, id) })
}

// CancelJob moves a pending or running job to cancelled (a running job's worker learns it
// from the runner, or from UpdateProgress/CompleteJob refusing) and deletes any strategy run
// it saved. Cancelling a cancelled job changes nothing; a completed or failed one gives a
// *JobStateError.
func (db *DB) CancelJob(ctx context.Context, id int64) (Job, error) {
	return db.transition(ctx, "cancel", id, "pending or running", JobCancelled,
		`UPDATE jobs SET status = 'cancelled', completed_at = ?
			WHERE id = ? AND status IN ('pending', 'running') RETURNING `+jobCols,
		[]any{nowMillis(), id},
		func(tx *sql.Tx) error { return deleteRuns(ctx, tx, `?`, id) })
}

// RequeueJob moves a running job back to pending (progress 0, started_at cleared) and deletes
// any strategy run it saved, so that a worker reruns it from scratch: for a run interrupted
// by a shutdown. Requeueing a pending job changes nothing; other states give a *JobStateError.
func (db *DB) RequeueJob(ctx context.Context, id int64) (Job, error) {
	return db.transition(ctx, "requeue", id, "running", JobPending,
		`UPDATE jobs SET status = 'pending', progress = 0, started_at = NULL
			WHERE id = ? AND status = 'running' RETURNING `+jobCols,
		[]any{id},
		func(tx *sql.Tx) error { return deleteRuns(ctx, tx, `?`, id) })
}

// RequeueRunning moves every running job back to pending, as RequeueJob does, and returns how
// many it moved. Called at start-up, before any worker runs: a job still marked running then
// was interrupted by a crash.
func (db *DB) RequeueRunning(ctx context.Context) (int64, error) {
	var n int64
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		if err := deleteRuns(ctx, tx, `SELECT id FROM jobs WHERE status = 'running'`); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'pending', progress = 0, started_at = NULL WHERE status = 'running'`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: requeue running jobs: %w", err)
	}
	return n, nil
}

// StrategyRun is one backtest run (a row of strategy_runs).
type StrategyRun struct {
	ID        int64            `json:"id"`
	JobID     int64            `json:"job_id,omitempty"` // 0: not run by a job
	Strategy  string           `json:"strategy"`
	Params    json.RawMessage  `json:"params"` // JSON object of the resolved values
	Exchange  string           `json:"exchange"`
	Symbol    market.Symbol    `json:"symbol"`
	Timeframe market.Timeframe `json:"-"`
	StartTS   int64            `json:"start_ts"` // first candle stamp, unix ms
	EndTS     int64            `json:"end_ts"`   // last candle stamp, unix ms
	Metrics   json.RawMessage  `json:"metrics"`
	CreatedAt int64            `json:"created_at"` // SaveRun sets it when 0
}

// RunSignal is one signal of a run (a row of strategy_signals). Action, Direction and
// Confidence are the strategies package's names ("enter_long", "long", "high").
type RunSignal struct {
	Time       int64   `json:"timestamp"`
	Action     string  `json:"action"`
	Value      float64 `json:"value"`
	Direction  string  `json:"direction"`
	Confidence string  `json:"confidence"`
}

// RunTrade is one closed trade of a run (a row of strategy_run_trades). Decimals are kept as
// their exact text.
type RunTrade struct {
	Side       string `json:"side"`
	EntryTime  int64  `json:"entry_time"`
	EntryPrice string `json:"entry_price"`
	ExitTime   int64  `json:"exit_time"`
	ExitPrice  string `json:"exit_price"`
	Quantity   string `json:"quantity"`
	PnL        string `json:"pnl"`
	PnLPct     string `json:"pnl_pct"`
	Fees       string `json:"fees"`
	ExitReason string `json:"exit_reason"`
}

func (r *StrategyRun) check() error {
	var errs []error
	if r.Strategy == "" {
		errs = append(errs, errors.New("empty strategy name"))
	}
	if r.Exchange == "" || r.Symbol == "" {
		errs = append(errs, errors.New("empty exchange or symbol"))
	}
	if !r.Timeframe.Valid() {
		errs = append(errs, fmt.Errorf("invalid timeframe %s", r.Timeframe))
	}
	if len(r.Params) == 0 || !json.Valid(r.Params) {
		errs = append(errs, fmt.Errorf("params are not valid JSON: %.80q", r.Params))
	}
	if len(r.Metrics) == 0 || !json.Valid(r.Metrics) {
		errs = append(errs, fmt.Errorf("metrics are not valid JSON: %.80q", r.Metrics))
	}
	return errors.Join(errs...)
}

func (t *RunTrade) check() error {
	for _, f := range []struct{ name, v string }{
		{"entry_price", t.EntryPrice}, {"exit_price", t.ExitPrice}, {"quantity", t.Quantity},
		{"pnl", t.PnL}, {"pnl_pct", t.PnLPct}, {"fees", t.Fees},
	} {
		if _, err := strconv.ParseFloat(f.v, 64); err != nil {
			return fmt.Errorf("%s %q is not a decimal number", f.name, f.v)
		}
	}
	if t.Side == "" || t.ExitReason == "" {
		return errors.New("empty side or exit reason")
	}
	return nil
}

// SaveRun stores a run with its signals and trades in one durable transaction and returns
// the run's id. When run.JobID is set the job must be running (a cancelled job keeps no
// results): otherwise a *JobStateError.
func (db *DB) SaveRun(ctx context.Context, run StrategyRun, signals []RunSignal, trades []RunTrade) (int64, error) {
	if err := run.check(); err != nil {
		return 0, fmt.Errorf("storage: save run of %s: %w", run.Strategy, err)
	}
	for i := range signals {
		if s := &signals[i]; s.Action == "" || s.Direction == "" || s.Confidence == "" || !finite(s.Value) {
			return 0, fmt.Errorf("storage: save run of %s: signal %d: empty field or non-finite value: %+v", run.Strategy, i, *s)
		}
	}
	for i := range trades {
		if err := trades[i].check(); err != nil {
			return 0, fmt.Errorf("storage: save run of %s: trade %d: %w", run.Strategy, i, err)
		}
	}
	if run.CreatedAt == 0 {
		run.CreatedAt = nowMillis()
	}
	var jobID any // NULL when not a job's run
	if run.JobID != 0 {
		jobID = run.JobID
	}
	var id int64
	var state error
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		if run.JobID != 0 {
			var status string
			err := tx.QueryRowContext(ctx, `SELECT status FROM jobs WHERE id = ?`, run.JobID).Scan(&status)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("job %d: %w", run.JobID, ErrJobNotFound)
			case err != nil:
				return err
			case JobStatus(status) != JobRunning:
				state = &JobStateError{Op: "save run for", ID: run.JobID, Status: JobStatus(status), Want: "running"}
				return state
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO strategy_runs(job_id, strategy, params, exchange, symbol, timeframe,
			start_ts, end_ts, metrics, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			jobID, run.Strategy, string(run.Params), run.Exchange, string(run.Symbol), run.Timeframe.String(),
			run.StartTS, run.EndTS, string(run.Metrics), run.CreatedAt).Scan(&id)
		if err != nil {
			return err
		}
		if len(signals) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO strategy_signals(run_id, timestamp, action, value, direction, confidence)
				VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range signals {
				s := &signals[i]
				if _, err := st.ExecContext(ctx, id, s.Time, s.Action, s.Value, s.Direction, s.Confidence); err != nil {
					return fmt.Errorf("signal %d: %w", i, err)
				}
			}
		}
		if len(trades) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO strategy_run_trades(run_id, side, entry_time, entry_price,
				exit_time, exit_price, quantity, pnl, pnl_pct, fees, exit_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range trades {
				t := &trades[i]
				if _, err := st.ExecContext(ctx, id, t.Side, t.EntryTime, t.EntryPrice, t.ExitTime, t.ExitPrice,
					t.Quantity, t.PnL, t.PnLPct, t.Fees, t.ExitReason); err != nil {
					return fmt.Errorf("trade %d: %w", i, err)
				}
			}
		}
		return nil
	})
	switch {
	case state != nil:
		return 0, state
	case err != nil:
		return 0, fmt.Errorf("storage: save run of %s: %w", run.Strategy, err)
	}
	return id, nil
}

const runCols = `id, job_id, strategy, params, exchange, symbol, timeframe, start_ts, end_ts, metrics, created_at`

func scanRun(r rowScanner) (StrategyRun, error) {
	var (
		run             StrategyRun
		jobID           sql.NullInt64
		params, metrics []byte
		sym, tf         string
	)
	if err := r.Scan(&run.ID, &jobID, &run.Strategy, &params, &run.Exchange, &sym, &tf,
		&run.StartTS, &run.EndTS, &metrics, &run.CreatedAt); err != nil {
		return StrategyRun{}, err
	}
	run.JobID = jobID.Int64
	run.Params, run.Metrics = params, metrics
	run.Symbol = market.Symbol(sym)
	var err error
	if run.Timeframe, err = market.ParseTimeframe(tf); err != nil {
		return StrategyRun{}, fmt.Errorf("run %d: %w", run.ID, err)
	}
	return run, nil
}

// Run returns one strategy run, or an error wrapping sql.ErrNoRows.
func (db *DB) Run(ctx context.Context, id int64) (StrategyRun, error) {
	run, err := scanRun(db.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM strategy_runs WHERE id = ?`, id))
	if err != nil {
		return StrategyRun{}, fmt.Errorf("storage: run %d: %w", id, err)
	}
	return run, nil
}

// JobRuns returns the strategy runs a job saved, oldest first.
func (db *DB) JobRuns(ctx context.Context, jobID int64) ([]StrategyRun, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+runCols+` FROM strategy_runs WHERE job_id = ? ORDER BY id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("storage: runs of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []StrategyRun
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: runs of job %d: %w", jobID, err)
		}
		out = append(out, run)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: runs of job %d: %w", jobID, err)
	}
	return out, nil
}

// RunSignals returns a run's signals in the order they were made.
func (db *DB) RunSignals(ctx context.Context, runID int64) ([]RunSignal, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT timestamp, action, value, direction, confidence
		FROM strategy_signals WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("storage: signals of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []RunSignal
	for rows.Next() {
		var s RunSignal
		if err := rows.Scan(&s.Time, &s.Action, &s.Value, &s.Direction, &s.Confidence); err != nil {
			return nil, fmt.Errorf("storage: signals of run %d: %w", runID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: signals of run %d: %w", runID, err)
	}
	return out, nil
}

// RunTrades returns a run's trades in the order they closed.
func (db *DB) RunTrades(ctx context.Context, runID int64) ([]RunTrade, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT side, entry_time, entry_price, exit_time, exit_price, quantity,
		pnl, pnl_pct, fees, exit_reason FROM strategy_run_trades WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("storage: trades of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []RunTrade
	for rows.Next() {
		var t RunTrade
		if err := rows.Scan(&t.Side, &t.EntryTime, &t.EntryPrice, &t.ExitTime, &t.ExitPrice, &t.Quantity,
			&t.PnL, &t.PnLPct, &t.Fees, &t.ExitReason); err != nil {
			return nil, fmt.Errorf("storage: trades of run %d: %w", runID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: trades of run %d: %w", runID, err)
	}
	return out, nil
}
