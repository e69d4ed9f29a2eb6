package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
)

var svT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// svWait bounds every wait of these tests (real time; the supervisors run on a fake clock).
const svWait = 10 * time.Second

// svRecorder collects a supervisor's OnState calls.
type svRecorder struct {
	ch  chan SupervisedState
	mu  sync.Mutex
	all []SupervisedState
}

func newSvRecorder() *svRecorder { return &svRecorder{ch: make(chan SupervisedState, 1024)} }

func (r *svRecorder) on(st SupervisedState) {
	r.mu.Lock()
	r.all = append(r.all, st)
	r.mu.Unlock()
	select {
	case r.ch <- st:
	default: // never blocks; tests reading ch see few states
	}
}

func (r *svRecorder) states() []WorkerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]WorkerState, len(r.all))
	for i, st := range r.all {
		out[i] = st.State
	}
	return out
}

// expect reads the next states reported, fails unless they are want, and returns the last.
func (r *svRecorder) expect(t *testing.T, want ...WorkerState) SupervisedState {
	t.Helper()
	var st SupervisedState
	for _, w := range want {
		select {
		case st = <-r.ch:
		case <-time.After(svWait):
			t.Fatalf("no state reported after %v; want %s; so far %v", svWait, w, r.states())
		}
		if st.State != w {
			t.Fatalf("state %s (%+v), want %s; so far %v", st.State, st, w, r.states())
		}
	}
	return st
}

// svTransitions are the changes of state a supervisor may make.
var svTransitions = map[WorkerState][]WorkerState{
	"":               {WorkerStarting, WorkerStopped},
	WorkerStarting:   {WorkerRunning, WorkerStalled, WorkerRestarting, WorkerFailed, WorkerStopped},
	WorkerRunning:    {WorkerStalled, WorkerRestarting, WorkerFailed, WorkerStopped},
	WorkerStalled:    {WorkerRestarting, WorkerFailed},
	WorkerRestarting: {WorkerStarting, WorkerStopped},
}

// svCheckTransitions fails on a change of state the supervisor must not make.
func svCheckTransitions(t *testing.T, name string, seq []WorkerState) {
	t.Helper()
	var from WorkerState
	for i, to := range seq {
		ok := false
		for _, w := range svTransitions[from] {
			ok = ok || w == to
		}
		if !ok {
			t.Fatalf("%s: transition %d %q → %q not allowed; sequence %v", name, i, from, to, seq)
		}
		from = to
	}
}

// svLog is a log the test can read while the supervisor writes it.
type svLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *svLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *svLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *svLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// svPuppet is a strategy-like worker the test drives: it beats when it starts, then does
// what it is told. With stubborn set it ignores its context's cancellation until stubborn
// is closed.
type svPuppet struct {
	cmds     chan svCmd
	runs     atomic.Int32
	live     atomic.Int32
	exits    chan error // ctx's error, each time a run ends on its context
	stubborn chan struct{}
}

type svCmd struct {
	op  string // beat, panic, fail, finish
	ack chan struct{}
}

func newSvPuppet() *svPuppet {
	return &svPuppet{cmds: make(chan svCmd), exits: make(chan error, 64)}
}

func (p *svPuppet) Run(ctx context.Context, beat func()) error {
	p.runs.Add(1)
	p.live.Add(1)
	defer p.live.Add(-1)
	beat()
	for {
		select {
		case <-ctx.Done():
			if p.stubborn != nil {
				<-p.stubborn
			}
			p.exits <- ctx.Err()
			return ctx.Err()
		case c := <-p.cmds:
			switch c.op {
			case "beat":
				beat()
				close(c.ack)
			case "panic":
				panic("strategy blew up on demand\nsecond line of the panic")
			case "fail":
				return errors.New("exchange rejected the order")
			case "finish":
				return nil
			}
		}
	}
}

// do tells the running worker to do op; a beat is done when do returns.
func (p *svPuppet) do(t *testing.T, op string) {
	t.Helper()
	c := svCmd{op: op, ack: make(chan struct{})}
	select {
	case p.cmds <- c:
	case <-time.After(svWait):
		t.Fatalf("the worker did not take %q", op)
	}
	if op == "beat" {
		<-c.ack
	}
}

func (p *svPuppet) exited(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exits:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the worker's context ended with %v, want context.Canceled", err)
		}
	case <-time.After(svWait):
		t.Fatal("the worker's context was not cancelled")
	}
}

func svDone(t *testing.T, s *Supervisor) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(svWait):
		t.Fatalf("Done not closed; state %+v", s.State())
	}
}

func svNotDone(t *testing.T, s *Supervisor) {
	t.Helper()
	select {
	case <-s.Done():
		t.Fatalf("Done closed; state %+v", s.State())
	default:
	}
}

// svTimer waits for the supervisor to create its next timer on clk.
func svTimer(t *testing.T, clk *clock.Fake) {
	t.Helper()
	select {
	case <-clk.Created():
	case <-time.After(svWait):
		t.Fatal("no timer created")
	}
}

func svStop(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), svWait)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// svPoll polls cond until it holds, with a deadline.
func svPoll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(svWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, svWait)
		}
		time.Sleep(time.Millisecond)
	}
}

// advanceTo moves clk to svT0 + d.
func advanceTo(clk *clock.Fake, d time.Duration) { clk.Advance(svT0.Add(d).Sub(clk.Now())) }

// svRestartAfter checks that a restarting supervisor waits exactly until st.NextRestart, then
// moves the clock there and sees the worker started again and running.
func svRestartAfter(t *testing.T, clk *clock.Fake, rec *svRecorder, st SupervisedState, wantRestarts int) {
	t.Helper()
	wait := st.NextRestart.Sub(clk.Now())
	clk.Advance(wait - time.Nanosecond)
	if !clk.Sleeping() {
		t.Fatalf("restarted before its backoff %v", wait)
	}
	clk.Advance(time.Nanosecond)
	if st := rec.expect(t, WorkerStarting); st.Restarts != wantRestarts || !st.NextRestart.IsZero() {
		t.Fatalf("after the backoff: %+v, want Restarts %d and no NextRestart", st, wantRestarts)
	}
	rec.expect(t, WorkerRunning)
}

// The Done-when test of issue 5: a strategy that panics on demand (and once returns an error),
// on a fake clock: restarted after 1s, 2s, 4s; the fourth failure in the hour fails it, with
// the reason visible and the panic logged with its stack.
func TestSupervisorRestartsWithBackoffThenFails(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, logs, w := newSvRecorder(), &svLog{}, newSvPuppet()
	s := NewSupervisor("bot-a", w, SupervisorOptions{Clock: clk, Logger: logs.logger(), StallAfter: -1, OnState: rec.on})
	s.Start(context.Background())
	if st := rec.expect(t, WorkerStarting); st.Name != "bot-a" || st.Restarts != 0 || !st.LastHeartbeat.Equal(svT0) {
		t.Fatalf("starting: %+v", st)
	}
	rec.expect(t, WorkerRunning)

	const panicReason = "panic: strategy blew up on demand"
	steps := []struct {
		at     time.Duration
		op     string
		reason string
		backof time.Duration
	}{
		{0, "panic", panicReason, time.Second},
		{time.Minute, "fail", "exchange rejected the order", 2 * time.Second},
		{2 * time.Minute, "panic", panicReason, 4 * time.Second},
	}
	for i, step := range steps {
		advanceTo(clk, step.at)
		w.do(t, step.op)
		st := rec.expect(t, WorkerRestarting)
		if st.Reason != step.reason || st.RecentFailures != i+1 || st.Restarts != i ||
			!st.NextRestart.Equal(svT0.Add(step.at+step.backof)) {
			t.Fatalf("failure %d at %v: %+v; want reason %q, %d recent failures, restart at +%v", i+1, step.at, st, step.reason, i+1, step.at+step.backof)
		}
		if got := s.State(); got.State != WorkerRestarting || got.Reason != step.reason {
			t.Fatalf("State() = %+v", got)
		}
		svRestartAfter(t, clk, rec, st, i+1)
	}

	// The fourth failure inside the hour.
	advanceTo(clk, 3*time.Minute)
	w.do(t, "panic")
	st := rec.expect(t, WorkerFailed)
	if st.Reason != panicReason || st.RecentFailures != 4 || st.Restarts != 3 || !st.NextRestart.IsZero() {
		t.Fatalf("failed: %+v", st)
	}
	svDone(t, s)
	if got := s.State(); got.State != WorkerFailed || got.Reason != panicReason {
		t.Fatalf("State() after failing = %+v", got)
	}
	clk.Advance(2 * time.Hour)
	if n := w.runs.Load(); n != 4 {
		t.Fatalf("the worker ran %d times, want 4", n)
	}
	svStop(t, s) // a failed supervisor stays failed
	if got := s.State().State; got != WorkerFailed {
		t.Fatalf("after Stop: %s, want failed", got)
	}

	want := []WorkerState{WorkerStarting, WorkerRunning,
		WorkerRestarting, WorkerStarting, WorkerRunning,
		WorkerRestarting, WorkerStarting, WorkerRunning,
		WorkerRestarting, WorkerStarting, WorkerRunning,
		WorkerFailed}
	if got := rec.states(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v\nwant   %v", got, want)
	}
	log := logs.String()
	for _, s := range []string{"strategy blew up on demand", "goroutine ", "svPuppet", "exchange rejected the order", "supervised=bot-a", "too many failures"} {
		if !strings.Contains(log, s) {
			t.Errorf("the log lacks %q:\n%s", s, log)
		}
	}
}

// Failures count in a rolling window: one exactly Window old has left it.
func TestSupervisorRollingWindow(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-w", w, SupervisorOptions{Clock: clk, StallAfter: -1, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	steps := []struct {
		at     time.Duration
		recent int // failures in the window (at−1h, at]
	}{
		{0, 1},
		{time.Minute, 2},
		{2 * time.Minute, 3},
		{60*time.Minute + 30*time.Second, 3}, // the one at 0 has left
		{62 * time.Minute, 2},                // so have 1m and, exactly an hour old, 2m
		{62*time.Minute + 10*time.Second, 3},
	}
	for i, step := range steps {
		advanceTo(clk, step.at)
		w.do(t, "fail")
		st := rec.expect(t, WorkerRestarting)
		if st.RecentFailures != step.recent || !st.NextRestart.Equal(svT0.Add(step.at+DefaultBackoff(step.recent))) {
			t.Fatalf("failure at %v: %+v; want %d recent failures, restart after %v", step.at, st, step.recent, DefaultBackoff(step.recent))
		}
		svRestartAfter(t, clk, rec, st, i+1)
	}
	advanceTo(clk, 62*time.Minute+20*time.Second)
	w.do(t, "fail")
	if st := rec.expect(t, WorkerFailed); st.RecentFailures != 4 || st.Restarts != 6 || st.Reason != "exchange rejected the order" {
		t.Fatalf("failed: %+v", st)
	}
	svDone(t, s)
	svCheckTransitions(t, "bot-w", rec.states())
}

func TestSupervisorDefaultBackoff(t *testing.T) {
	s := time.Second
	for n, want := range map[int]time.Duration{-1: s, 0: s, 1: s, 2: 2 * s, 3: 4 * s, 4: 8 * s, 5: 16 * s, 6: 32 * s, 7: time.Minute, 8: time.Minute, 70: time.Minute, 1 << 40: time.Minute} {
		if got := DefaultBackoff(n); got != want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// MaxRestarts < 0: the first failure is final.
func TestSupervisorNoRestarts(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-n", w, SupervisorOptions{Clock: clk, MaxRestarts: -1, StallAfter: -1, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	w.do(t, "fail")
	if st := rec.expect(t, WorkerFailed); st.RecentFailures != 1 || st.Reason != "exchange rejected the order" {
		t.Fatalf("failed: %+v", st)
	}
	svDone(t, s)
}

// A worker whose heartbeat stalls is stalled, cancelled and restarted by the same rule: here
// MaxRestarts 1, so the second stall fails it.
func TestSupervisorStallRestartsThenFails(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, logs, w := newSvRecorder(), &svLog{}, newSvPuppet()
	s := NewSupervisor("bot-s", w, SupervisorOptions{Clock: clk, Logger: logs.logger(), MaxRestarts: 1, OnState: rec.on})
	if s.HeartbeatEvery() != 5*time.Second {
		t.Fatalf("HeartbeatEvery = %v, want the default 5s", s.HeartbeatEvery())
	}
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	svTimer(t, clk) // the stall timer, due at 15s

	clk.Advance(10 * time.Second)
	w.do(t, "beat")
	if hb := s.State().LastHeartbeat; !hb.Equal(svT0.Add(10 * time.Second)) {
		t.Fatalf("LastHeartbeat = %v, want +10s", hb)
	}
	clk.Advance(5 * time.Second) // at 15s the beat is 5s old: the timer is re-armed for 25s
	svTimer(t, clk)
	clk.Advance(10*time.Second - time.Nanosecond)
	if !clk.Sleeping() || s.State().State != WorkerRunning {
		t.Fatalf("stalled before its heartbeat was 15s old: %+v", s.State())
	}
	clk.Advance(time.Nanosecond)
	st := rec.expect(t, WorkerStalled)
	if st.Reason != "heartbeat stalled for 15s" || st.RecentFailures != 1 {
		t.Fatalf("stalled: %+v", st)
	}
	w.exited(t)
	svPoll(t, "the stalled run returned", func() bool { return w.live.Load() == 0 })
	st = rec.expect(t, WorkerRestarting)
	if st.Reason != "heartbeat stalled for 15s" || !st.NextRestart.Equal(svT0.Add(26*time.Second)) {
		t.Fatalf("restarting: %+v", st)
	}
	svTimer(t, clk) // the backoff
	svRestartAfter(t, clk, rec, st, 1)
	svTimer(t, clk) // the new run's stall timer
	if hb := s.State().LastHeartbeat; !hb.Equal(svT0.Add(26 * time.Second)) {
		t.Fatalf("LastHeartbeat of the new run = %v, want +26s", hb)
	}

	clk.Advance(15 * time.Second)
	rec.expect(t, WorkerStalled)
	w.exited(t)
	if st := rec.expect(t, WorkerFailed); st.Reason != "heartbeat stalled for 15s" || st.RecentFailures != 2 || st.Restarts != 1 {
		t.Fatalf("failed: %+v", st)
	}
	svDone(t, s)
	if n := w.runs.Load(); n != 2 {
		t.Fatalf("the worker ran %d times, want 2", n)
	}
	want := []WorkerState{WorkerStarting, WorkerRunning, WorkerStalled, WorkerRestarting,
		WorkerStarting, WorkerRunning, WorkerStalled, WorkerFailed}
	if got := rec.states(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v\nwant   %v", got, want)
	}
	if log := logs.String(); !strings.Contains(log, "the worker stalled") {
		t.Fatalf("log:\n%s", log)
	}
}

// A stalled worker that ignores its cancellation is abandoned (logged) when its backoff ends,
// and a new run starts.
func TestSupervisorAbandonsStalledWorker(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, logs, w := newSvRecorder(), &svLog{}, newSvPuppet()
	w.stubborn = make(chan struct{})
	s := NewSupervisor("bot-x", w, SupervisorOptions{Clock: clk, Logger: logs.logger(), StallAfter: 20 * time.Second, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	svTimer(t, clk) // the stall timer
	clk.Advance(20 * time.Second)
	st := rec.expect(t, WorkerStalled, WorkerRestarting)
	if st.Reason != "heartbeat stalled for 20s" {
		t.Fatalf("restarting: %+v", st)
	}
	svRestartAfter(t, clk, rec, st, 1)
	if n, live := w.runs.Load(), w.live.Load(); n != 2 || live != 2 {
		t.Fatalf("runs %d, live %d; want 2, 2 (the stalled one is leaked)", n, live)
	}
	if log := logs.String(); !strings.Contains(log, "abandoned (leaked)") {
		t.Fatalf("the leak is not logged:\n%s", log)
	}
	close(w.stubborn)
	w.exited(t) // the leaked run
	svStop(t, s)
	w.exited(t)
	// Stop waited for its run; the leaked one ends on its own.
	svPoll(t, "all runs returned", func() bool { return w.live.Load() == 0 })
	svCheckTransitions(t, "bot-x", rec.states())
}

// Stop cancels a running worker and waits for it; it is idempotent, and Start after it does
// nothing.
func TestSupervisorStopWhileRunning(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-r", w, SupervisorOptions{Clock: clk, OnState: rec.on})
	s.Start(context.Background())
	s.Start(context.Background()) // no second run
	rec.expect(t, WorkerStarting, WorkerRunning)
	svNotDone(t, s)
	svStop(t, s)
	if w.live.Load() != 0 {
		t.Fatal("Stop returned before the worker did")
	}
	w.exited(t)
	if st := rec.expect(t, WorkerStopped); st.Reason != "" || st.Restarts != 0 {
		t.Fatalf("stopped: %+v", st)
	}
	svDone(t, s)
	svStop(t, s)
	s.Start(context.Background())
	clk.Advance(time.Hour)
	if n := w.runs.Load(); n != 1 {
		t.Fatalf("the worker ran %d times, want 1", n)
	}
	if got := rec.states(); fmt.Sprint(got) != fmt.Sprint([]WorkerState{WorkerStarting, WorkerRunning, WorkerStopped}) {
		t.Fatalf("states %v", got)
	}
}

// Stop during a backoff wait stops at once; the failure's reason is kept.
func TestSupervisorStopDuringBackoff(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-b", w, SupervisorOptions{Clock: clk, StallAfter: -1, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	w.do(t, "panic")
	rec.expect(t, WorkerRestarting)
	if !clk.Sleeping() {
		t.Fatal("no backoff timer pending")
	}
	svStop(t, s)
	if st := rec.expect(t, WorkerStopped); st.Reason != "panic: strategy blew up on demand" || !st.NextRestart.IsZero() {
		t.Fatalf("stopped: %+v", st)
	}
	if clk.Sleeping() {
		t.Fatal("the backoff timer was not stopped")
	}
	svDone(t, s)
	svStop(t, s)
	clk.Advance(time.Hour)
	if n := w.runs.Load(); n != 1 {
		t.Fatalf("the worker ran %d times, want 1", n)
	}
}

// A worker that ignores its cancellation does not hang Stop: Stop returns ctx's error at its
// deadline, the state is stopped and the leak is logged.
func TestSupervisorStopAbandonsStubbornWorker(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, logs, w := newSvRecorder(), &svLog{}, newSvPuppet()
	w.stubborn = make(chan struct{})
	s := NewSupervisor("bot-h", w, SupervisorOptions{Clock: clk, Logger: logs.logger(), OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want context.DeadlineExceeded", err)
	}
	rec.expect(t, WorkerStopped)
	svDone(t, s)
	if w.live.Load() != 1 {
		t.Fatal("the stubborn worker is not running any more")
	}
	if log := logs.String(); !strings.Contains(log, "abandoned (leaked)") {
		t.Fatalf("the leak is not logged:\n%s", log)
	}
	svStop(t, s) // now a no-op
	close(w.stubborn)
	w.exited(t)
}

// Stop before Start: stopped at once; Start then does nothing.
func TestSupervisorStopBeforeStart(t *testing.T) {
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-0", w, SupervisorOptions{Clock: clock.NewFake(svT0), OnState: rec.on})
	if st := s.State(); st.State != "" || st.Name != "bot-0" {
		t.Fatalf("before Start: %+v", st)
	}
	svStop(t, s)
	svStop(t, s)
	svDone(t, s)
	s.Start(context.Background())
	if got := rec.states(); fmt.Sprint(got) != fmt.Sprint([]WorkerState{WorkerStopped}) {
		t.Fatalf("states %v", got)
	}
	if w.runs.Load() != 0 {
		t.Fatal("the worker ran")
	}
}

// Run returning nil while its context is not done: the worker finished; stopped, no restart.
func TestSupervisorWorkerFinishes(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-f", w, SupervisorOptions{Clock: clk, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting, WorkerRunning)
	w.do(t, "finish")
	if st := rec.expect(t, WorkerStopped); st.Reason != "" || st.RecentFailures != 0 {
		t.Fatalf("stopped: %+v", st)
	}
	svDone(t, s)
	clk.Advance(time.Hour)
	if n := w.runs.Load(); n != 1 {
		t.Fatalf("the worker ran %d times, want 1", n)
	}
}

// Cancelling Start's context stops the supervisor like Stop.
func TestSupervisorStartContextCancelled(t *testing.T) {
	rec, w := newSvRecorder(), newSvPuppet()
	s := NewSupervisor("bot-c", w, SupervisorOptions{Clock: clock.NewFake(svT0), OnState: rec.on})
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	rec.expect(t, WorkerStarting, WorkerRunning)
	cancel()
	w.exited(t)
	rec.expect(t, WorkerStopped)
	svDone(t, s)
}

// A worker that never beats stays starting until it stalls.
func TestSupervisorNoHeartbeatStalls(t *testing.T) {
	clk := clock.NewFake(svT0)
	rec := newSvRecorder()
	exited := make(chan struct{})
	w := WorkerFunc(func(ctx context.Context, beat func()) error {
		<-ctx.Done()
		exited <- struct{}{}
		return nil
	})
	s := NewSupervisor("bot-q", w, SupervisorOptions{Clock: clk, HeartbeatEvery: time.Second, MaxRestarts: -1, OnState: rec.on})
	s.Start(context.Background())
	rec.expect(t, WorkerStarting)
	svTimer(t, clk) // the stall timer
	clk.Advance(3 * time.Second)
	if st := rec.expect(t, WorkerStalled); st.Reason != "heartbeat stalled for 3s" {
		t.Fatalf("stalled: %+v", st)
	}
	<-exited
	rec.expect(t, WorkerFailed)
	svDone(t, s)
}

// 20 supervisors on one fake clock, their workers beating on it, half of them failing (by
// error or panic) on their third beat; run with -race. The clock moves 1s a step, and only
// while each worker that should be running has armed its timer in the last 10s, so that a
// goroutine not yet scheduled is not taken for a stall.
func TestSupervisorTwentyConcurrent(t *testing.T) {
	clk := clock.NewFake(svT0)
	const n = 20
	sups := make([]*Supervisor, n)
	recs := make([]*svRecorder, n)
	var (
		mu    sync.Mutex
		armed = map[int]time.Time{} // by supervisor: when its live run last armed its timer
		live  atomic.Int32
	)
	arm := func(i int) clock.Timer {
		mu.Lock()
		defer mu.Unlock()
		armed[i] = clk.Now()
		return clk.NewTimer(5 * time.Second)
	}
	caughtUp := func() bool {
		for i, s := range sups {
			if st := s.State().State; st != WorkerStarting && st != WorkerRunning {
				continue // not started yet, restarting, stalled, failed: nothing to wait for
			}
			mu.Lock()
			at, ok := armed[i]
			mu.Unlock()
			if !ok || clk.Now().Sub(at) > 10*time.Second {
				return false
			}
		}
		return true
	}
	for i := range n {
		failing := i%2 == 1
		w := WorkerFunc(func(ctx context.Context, beat func()) error {
			live.Add(1)
			defer live.Add(-1)
			defer func() {
				mu.Lock()
				delete(armed, i)
				mu.Unlock()
			}()
			for beats := 1; ; beats++ {
				tm := arm(i)
				select {
				case <-ctx.Done():
					tm.Stop()
					return ctx.Err()
				case <-tm.C():
				}
				beat()
				if failing && beats == 3 {
					if i%4 == 1 {
						panic(fmt.Sprintf("bot %d panics", i))
					}
					return fmt.Errorf("bot %d fails", i)
				}
			}
		})
		recs[i] = newSvRecorder()
		sups[i] = NewSupervisor(fmt.Sprintf("bot%02d", i), w, SupervisorOptions{Clock: clk, StallAfter: time.Minute, OnState: recs[i].on})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range sups {
		s.Start(ctx)
	}
	deadline := time.Now().Add(30 * time.Second)
	for step := 0; ; step++ {
		for !caughtUp() {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: the workers do not keep up with the clock", step)
			}
			runtime.Gosched()
		}
		clk.Advance(time.Second)
		failed := 0
		for i, s := range sups {
			if st := s.State(); i%2 == 1 && st.State == WorkerFailed {
				failed++
			}
		}
		if failed == n/2 && step >= 120 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d steps, %d of %d failing supervisors failed", step, failed, n/2)
		}
	}
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), svWait)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				t.Errorf("%s: Stop: %v", s.Name(), err)
			}
		})
	}
	wg.Wait()
	if l := live.Load(); l != 0 {
		t.Fatalf("%d workers still running after Stop", l)
	}
	for i, s := range sups {
		svDone(t, s)
		st := s.State()
		seq := recs[i].states()
		svCheckTransitions(t, s.Name(), seq)
		if i%2 == 1 {
			reason := fmt.Sprintf("bot %d fails", i)
			if i%4 == 1 {
				reason = fmt.Sprintf("panic: bot %d panics", i)
			}
			if st.State != WorkerFailed || st.RecentFailures != 4 || st.Restarts != 3 || st.Reason != reason {
				t.Errorf("%s: %+v, want failed after 3 restarts, reason %q", s.Name(), st, reason)
			}
		} else if st.State != WorkerStopped || st.Reason != "" || st.Restarts != 0 {
			t.Errorf("%s: %+v, want stopped", s.Name(), st)
		}
	}
}
