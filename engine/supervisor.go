package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
)

// Supervision (issue 5, "Supervision"): a Supervisor runs one Worker (a bot) on a goroutine it
// owns, watches its heartbeat and restarts it when it fails:
//
//   - A failure is Run returning an error while its context is not done, a panic on Run's
//     goroutine (recovered, logged with its stack), or a stall: no heartbeat for StallAfter.
//     A stalled worker's context is cancelled before it is restarted.
//   - After a failure the worker is restarted after Backoff(n), n the failures in the window
//     including this one, unless this is failure MaxRestarts+1 inside the rolling Window (at
//     most 3 restarts in any hour by default): then the supervisor ends in state failed with
//     the failure's reason, and Done is closed.
//   - Run returning nil while its context is not done means the worker has finished its work:
//     the supervisor ends in state stopped (not a failure; return an error to be restarted).
//   - Stop (or cancelling Start's context) cancels the worker and waits for Run to return.
//
// Every change of state is reported to OnState with the whole state, in order, from the
// supervisor's goroutine: starting → running (first heartbeat) → restarting (or stalled →
// restarting) → starting → … → failed or stopped.

// A Worker is what a Supervisor runs (a bot). Run works until ctx is done, then returns (nil or
// ctx's error: either is a clean stop), or until it fails: it returns an error, or panics on
// the goroutine the supervisor calls it on (a panic on a goroutine Run starts is not
// recovered: such goroutines must recover themselves). While healthy it calls beat at least
// every HeartbeatEvery; the first beat marks it running. beat is cheap and safe to call from
// any goroutine; beats of a run the supervisor has given up on are ignored.
type Worker interface {
	Run(ctx context.Context, beat func()) error
}

// WorkerFunc adapts a function to a Worker.
type WorkerFunc func(ctx context.Context, beat func()) error

// Run calls f.
func (f WorkerFunc) Run(ctx context.Context, beat func()) error { return f(ctx, beat) }

// WorkerState is where a supervised worker stands.
type WorkerState string

// The states of a supervised worker. Failed and stopped are final.
const (
	WorkerStarting   WorkerState = "starting"   // Run called, no heartbeat yet
	WorkerRunning    WorkerState = "running"    // heartbeat seen
	WorkerStalled    WorkerState = "stalled"    // heartbeat too old: being cancelled, then restarting or failed
	WorkerRestarting WorkerState = "restarting" // failed; waiting for its backoff (NextRestart)
	WorkerFailed     WorkerState = "failed"     // too many failures in the window; Reason says the last
	WorkerStopped    WorkerState = "stopped"    // stopped, or Run finished on its own
)

// SupervisedState is a supervised worker's state, as OnState and State report it.
type SupervisedState struct {
	Name  string
	State WorkerState
	// Restarts is the number of times the worker was restarted since Start (all time).
	Restarts int
	// RecentFailures is the number of failures inside the rolling window, as counted at the
	// last failure.
	RecentFailures int
	// LastHeartbeat is the time of the current run's last beat; the start of a run counts as
	// one. Zero before the first start.
	LastHeartbeat time.Time
	// Reason is the last failure: the error's text, "panic: " and the first line of the panic's
	// value (the stack is logged), or "heartbeat stalled for 15s". Empty when it never failed;
	// kept after a restart and a stop.
	Reason string
	// NextRestart is when a restarting worker starts again; zero in the other states.
	NextRestart time.Time
}

// SupervisorOptions configure a Supervisor. Zero values take the defaults noted.
type SupervisorOptions struct {
	Clock  clock.Clock  // default clock.System()
	Logger *slog.Logger // default: discard
	// MaxRestarts is how many failures inside Window are restarted: failure MaxRestarts+1
	// inside the window ends the supervisor in state failed. Default 3; negative: none (the
	// first failure is final).
	MaxRestarts int
	// Window is the rolling window failures are counted in: a failure counts while it is less
	// than Window old (one exactly Window old has left it). Default 1h.
	Window time.Duration
	// Backoff is the wait before a restart; n ≥ 1 is the number of failures inside the window,
	// this one included. Default DefaultBackoff (1s, 2s, 4s, … capped at 1m, no jitter). A
	// stalled worker that has not returned from Run when its backoff ends is abandoned: the
	// leak is logged and a new run is started anyway.
	Backoff func(n int) time.Duration
	// HeartbeatEvery is how often a healthy worker beats; default 5s.
	HeartbeatEvery time.Duration
	// StallAfter is the heartbeat age at which a worker is stalled; default 3 × HeartbeatEvery;
	// negative: stalls are not detected.
	StallAfter time.Duration
	// OnState, when set, is called with the whole state on every change of state, in order,
	// from one goroutine at a time (the supervisor's, or Stop's before Start). It must not
	// block; it may call State.
	OnState func(SupervisedState)
}

// DefaultBackoff is the default restart backoff: 1s for the first failure in the window,
// doubling for each further one (2s, 4s, …), capped at one minute.
func DefaultBackoff(n int) time.Duration {
	if n <= 1 {
		return time.Second
	}
	if n > 7 {
		return time.Minute
	}
	return min(time.Second<<(n-1), time.Minute)
}

func (o *SupervisorOptions) defaults() {
	if o.Clock == nil {
		o.Clock = clock.System()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = 3
	} else if o.MaxRestarts < 0 {
		o.MaxRestarts = 0
	}
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = 5 * time.Second
	}
	if o.StallAfter == 0 {
		o.StallAfter = 3 * o.HeartbeatEvery
	}
}

// Supervisor runs one Worker and restarts it when it fails (see the rules above). Its methods
// are safe for concurrent use.
type Supervisor struct {
	name string
	w    Worker
	opt  SupervisorOptions
	clk  clock.Clock
	log  *slog.Logger

	done    chan struct{} // closed when the supervisor has ended (stopped or failed)
	abandon chan struct{} // closed when Stop stops waiting for the worker
	abOnce  sync.Once
	halting atomic.Bool // Stop has cancelled the worker's context

	mu       sync.Mutex
	st       SupervisedState
	cur      *svRun // the current run, for LastHeartbeat
	started  bool
	ended    bool // Stop before Start
	cancel   context.CancelFunc
	failures []time.Time // inside the window, oldest first
}

// Stopping reports whether Stop has begun: the worker's context is cancelled.
func (s *Supervisor) Stopping() bool { return s.halting.Load() }

// NewSupervisor makes a supervisor of w named name (used in logs and states); nothing runs
// until Start.
func NewSupervisor(name string, w Worker, opt SupervisorOptions) *Supervisor {
	opt.defaults()
	return &Supervisor{
		name:    name,
		w:       w,
		opt:     opt,
		clk:     opt.Clock,
		log:     opt.Logger.With("supervised", name),
		done:    make(chan struct{}),
		abandon: make(chan struct{}),
		st:      SupervisedState{Name: name},
	}
}

// Name is the supervised worker's name.
func (s *Supervisor) Name() string { return s.name }

// HeartbeatEvery is how often the worker should beat.
func (s *Supervisor) HeartbeatEvery() time.Duration { return s.opt.HeartbeatEvery }

// State is the current state.
func (s *Supervisor) State() SupervisedState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Supervisor) stateLocked() SupervisedState {
	st := s.st
	if s.cur != nil {
		st.LastHeartbeat = s.cur.lastBeat()
	}
	return st
}

// Done is closed when the supervisor has ended for good: stopped or failed. A stalled worker
// that ignored its cancellation may still be running then (its leak is logged).
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Start starts the worker on a goroutine owned by the supervisor, which ends at Stop, when
// ctx is done (like Stop without a deadline), when the worker finishes, or when it has failed
// too often. Start after Start or Stop does nothing.
func (s *Supervisor) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.ended {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	go s.loop(ctx) // owned by the supervisor: ends on Stop, ctx done, finish or failed
}

// Stop cancels the worker and waits for Run to return, then the state is stopped (a failed
// supervisor stays failed). If ctx ends first, the worker is abandoned: its goroutine is left
// to leak (logged), the state is stopped, and Stop returns ctx's error. Stop is idempotent;
// Stop before Start makes Start do nothing.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		if s.ended {
			s.mu.Unlock()
			return nil
		}
		s.ended = true
		s.st.State = WorkerStopped
		st := s.stateLocked()
		s.mu.Unlock()
		close(s.done)
		s.notify(st)
		return nil
	}
	cancel := s.cancel
	s.mu.Unlock()
	cancel()
	s.halting.Store(true)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	s.abOnce.Do(func() { close(s.abandon) })
	<-s.done // prompt: the loop waits for nothing else once abandon is closed
	return fmt.Errorf("supervisor %s: stop: the worker did not return: %w", s.name, context.Cause(ctx))
}

// svRun is one call of Worker.Run.
type svRun struct {
	cancel    context.CancelFunc
	result    chan error    // buffered: Run's goroutine never blocks on it
	firstBeat chan struct{} // closed at the first beat

	mu     sync.Mutex
	last   time.Time
	beaten bool
}

func (r *svRun) beat(now time.Time) {
	r.mu.Lock()
	first := !r.beaten
	r.beaten = true
	if now.After(r.last) {
		r.last = now
	}
	r.mu.Unlock()
	if first {
		close(r.firstBeat)
	}
}

func (r *svRun) lastBeat() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// svPanic is a recovered panic of Run.
type svPanic struct {
	value any
	stack []byte
}

func (p *svPanic) Error() string { return "panic: " + firstLine(fmt.Sprint(p.value)) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// errGoexit: Run's goroutine ended by runtime.Goexit (e.g. t.FailNow in a test's worker).
var errGoexit = errors.New("the worker's goroutine exited (runtime.Goexit)")

// set changes the state (under mu) and reports it.
func (s *Supervisor) set(f func(st *SupervisedState)) {
	s.mu.Lock()
	f(&s.st)
	st := s.stateLocked()
	s.mu.Unlock()
	s.notify(st)
}

func (s *Supervisor) notify(st SupervisedState) {
	if s.opt.OnState != nil {
		s.opt.OnState(st)
	}
}

// launch starts a run of the worker, in state starting; its start is its first heartbeat.
func (s *Supervisor) launch(ctx context.Context, restart bool) *svRun {
	r := &svRun{result: make(chan error, 1), firstBeat: make(chan struct{}), last: s.clk.Now()}
	rctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	s.set(func(st *SupervisedState) {
		s.cur = r
		st.State = WorkerStarting
		st.NextRestart = time.Time{}
		if restart {
			st.Restarts++
		}
	})
	if restart {
		s.log.Info("supervisor: restarting the worker", "restarts", s.State().Restarts)
	} else {
		s.log.Info("supervisor: starting the worker")
	}
	beat := func() { r.beat(s.clk.Now()) }
	go func() { // owned by the supervisor: its context is cancelled on a stall, Stop or failure
		var err error
		returned := false
		defer func() { r.result <- err }()
		defer func() {
			if p := recover(); p != nil {
				err = &svPanic{value: p, stack: debug.Stack()}
			} else if !returned {
				err = errGoexit
			}
		}()
		err = s.w.Run(rctx, beat)
		returned = true
	}()
	return r
}

// reap waits for a cancelled run to return, until grace fires (nil: no limit) or Stop
// abandons it; it reports whether the run returned, and logs the leak when not.
func (s *Supervisor) reap(r *svRun, grace <-chan time.Time) bool {
	select {
	case err := <-r.result:
		s.logLate(err)
		return true
	case <-grace:
	case <-s.abandon:
	}
	s.log.Error("supervisor: the worker did not return from Run after its context was cancelled; its goroutine is abandoned (leaked)")
	return false
}

// logLate logs what a cancelled run returned.
func (s *Supervisor) logLate(err error) {
	var p *svPanic
	switch {
	case errors.As(err, &p):
		s.log.Error("supervisor: the worker panicked after its cancellation", "panic", fmt.Sprint(p.value), "stack", string(p.stack))
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		s.log.Debug("supervisor: the worker returned after its cancellation", "err", err)
	}
}

func (s *Supervisor) loop(ctx context.Context) {
	defer close(s.done)
	var prev *svRun // a stalled run: cancelled, not yet returned (only during its backoff)
	stop := func(r *svRun) {
		if r != nil {
			r.cancel()
			s.reap(r, nil)
		}
		if prev != nil {
			s.reap(prev, nil)
		}
		s.set(func(st *SupervisedState) { st.State = WorkerStopped; st.NextRestart = time.Time{} })
		s.log.Info("supervisor: stopped")
	}
	for restart := false; ; restart = true {
		r := s.launch(ctx, restart)
		// The stall timer starts after the state says starting (so that a test's clock
		// cannot pass StallAfter between the two) and after the run's first heartbeat, its
		// start.
		var stall clock.Timer
		var stallC <-chan time.Time
		if s.opt.StallAfter > 0 {
			stall = s.clk.NewTimer(s.opt.StallAfter)
			stallC = stall.C()
		}
		stopStall := func() {
			if stall != nil {
				stall.Stop()
			}
		}
		beatC := (<-chan struct{})(r.firstBeat)
		var (
			reason  string
			stalled bool
			stack   []byte
		)
	run:
		for {
			select {
			case <-beatC:
				beatC = nil
				s.set(func(st *SupervisedState) { st.State = WorkerRunning })
			case now := <-stallC:
				age := now.Sub(r.lastBeat())
				if age < s.opt.StallAfter {
					stall = s.clk.NewTimer(s.opt.StallAfter - age)
					stallC = stall.C()
					continue
				}
				stalled = true
				reason = fmt.Sprintf("heartbeat stalled for %s", age.Round(time.Millisecond))
				break run
			case err := <-r.result:
				stopStall()
				if ctx.Err() != nil {
					s.logLate(err)
					stop(nil)
					return
				}
				r.cancel()
				if err == nil {
					s.log.Info("supervisor: the worker finished")
					s.set(func(st *SupervisedState) { st.State = WorkerStopped })
					return
				}
				reason = err.Error()
				var p *svPanic
				if errors.As(err, &p) {
					stack = p.stack
				}
				break run
			case <-ctx.Done():
				stopStall()
				stop(r)
				return
			}
		}

		// A failure: count it in the window.
		now := s.clk.Now()
		s.mu.Lock()
		keep := s.failures[:0]
		for _, t := range s.failures {
			if now.Sub(t) < s.opt.Window {
				keep = append(keep, t)
			}
		}
		s.failures = append(keep, now)
		n := len(s.failures)
		s.mu.Unlock()
		switch {
		case stalled:
			s.log.Warn("supervisor: the worker stalled", "reason", reason, "recent_failures", n)
			s.set(func(st *SupervisedState) {
				st.State = WorkerStalled
				st.Reason = reason
				st.RecentFailures = n
			})
			r.cancel()
			prev = r
		case stack != nil:
			s.log.Error("supervisor: the worker panicked", "reason", reason, "recent_failures", n, "stack", string(stack))
		default:
			s.log.Error("supervisor: the worker failed", "reason", reason, "recent_failures", n)
		}

		wait := s.opt.Backoff(n)
		if n > s.opt.MaxRestarts {
			s.log.Error("supervisor: too many failures; the worker is failed", "reason", reason,
				"failures", n, "window", s.opt.Window)
			s.set(func(st *SupervisedState) {
				st.State = WorkerFailed
				st.Reason = reason
				st.RecentFailures = n
				st.NextRestart = time.Time{}
			})
			if prev != nil {
				// Give the stalled run the backoff it would have had to return, or until Stop
				// abandons it.
				t := s.clk.NewTimer(wait)
				s.reap(prev, t.C())
				t.Stop()
			}
			return
		}

		// Wait for the backoff; a stalled run must return before it ends.
		next := s.clk.Now().Add(wait)
		t := s.clk.NewTimer(wait) // before the state: it is due when NextRestart says
		s.set(func(st *SupervisedState) {
			st.State = WorkerRestarting
			st.Reason = reason
			st.RecentFailures = n
			st.NextRestart = next
		})
		s.log.Info("supervisor: restart after the backoff", "backoff", wait, "at", next)
	backoff:
		for {
			var prevC <-chan error
			if prev != nil {
				prevC = prev.result
			}
			select {
			case <-t.C():
				break backoff
			case err := <-prevC:
				s.logLate(err)
				prev = nil
			case <-ctx.Done():
				t.Stop()
				stop(nil)
				return
			}
		}
		if prev != nil {
			select {
			case err := <-prev.result: // returned as the backoff ended
				s.logLate(err)
				prev = nil
			default:
			}
		}
		if prev != nil {
			s.log.Error("supervisor: the stalled worker did not return from Run within its backoff; its goroutine is abandoned (leaked) and a new run starts")
			prev = nil
		}
	}
}
