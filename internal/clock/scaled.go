package clock

import (
	"context"
	"math"
	"sync"
	"time"
)

// Scaled is a pausable clock that runs at speed × a wall clock: a feed's clock (sim time,
// replay time). It reads in unix ns and advances only while it is running (started and not
// stopped) and not paused; otherwise it stands still. Resuming continues where the pause
// stopped: the paused wall time does not count.
//
// Every change of the pause state signals a wake channel, for the goroutine that paces
// itself against the clock (the feed's Run loop): it reads the state with Poll, which drains
// the wake, and waits with WaitWake or SleepUntil, which return early on a wake.
//
// Scaled is safe for concurrent use. Its own mutex guards all of its state, and no method
// holds it while calling anything but the wall clock's Now, so a caller may call it while
// holding a lock of its own (the replay feed updates its progress under its own mutex, never
// holding both).
type Scaled struct {
	wall  Clock
	speed float64

	mu      sync.Mutex
	running bool
	paused  bool
	ns      int64     // the scaled time (unix ns) at wallAt
	wallAt  time.Time // wall time the clock last started, resumed or was set
	// Signalled under mu and drained by Poll under mu when it reads the state, so a wake in
	// the channel always means a change the last Poll has not seen.
	wake chan struct{}
}

// NewScaled makes a stopped, unpaused clock that reads ns and runs at speed (> 0) × wall
// once started.
func NewScaled(wall Clock, speed float64, ns int64) *Scaled {
	return &Scaled{wall: wall, speed: speed, ns: ns, wake: make(chan struct{}, 1)}
}

// Speed is the scaled time per wall time.
func (s *Scaled) Speed() float64 { return s.speed }

// NowNs is the clock in unix ns.
func (s *Scaled) NowNs() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

// NowMs is the clock in unix ms (rounded towards −∞).
func (s *Scaled) NowMs() int64 { return floorDiv(s.NowNs(), int64(time.Millisecond)) }

func (s *Scaled) nowLocked() int64 {
	if !s.running || s.paused {
		return s.ns
	}
	el := s.wall.Now().Sub(s.wallAt)
	return s.ns + int64(float64(el)*s.speed)
}

// SetPaused pauses or resumes the clock and signals the wake if that changes anything. A
// pause set while the clock is stopped holds when it starts.
func (s *Scaled) SetPaused(p bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.paused {
		return
	}
	if p {
		s.ns = s.nowLocked()
	} else {
		s.wallAt = s.wall.Now()
	}
	s.paused = p
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Paused reports whether the clock is paused.
func (s *Scaled) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Start starts the clock from where it stands. It reports false, and changes nothing, if
// the clock is running already.
func (s *Scaled) Start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return false
	}
	s.running, s.wallAt = true, s.wall.Now()
	return true
}

// StartAt sets the clock to ns and starts it (or keeps it running) from there.
func (s *Scaled) StartAt(ns int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.ns, s.wallAt = true, ns, s.wall.Now()
}

// Stop stops the clock where it stands (nothing if it is stopped).
func (s *Scaled) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns = s.nowLocked()
	s.running = false
}

// StopAt stops the clock and sets it to ns.
func (s *Scaled) StopAt(ns int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.ns = false, ns
}

// AdvanceTo moves the clock forward to ns, if it is behind ns; it keeps running (or
// standing still) from there.
func (s *Scaled) AdvanceTo(ns int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns > s.nowLocked() {
		s.ns, s.wallAt = ns, s.wall.Now()
	}
}

// Poll drains a pending wake and returns the pause state and the clock (unix ns), read
// together. A wake after Poll means a change Poll has not seen.
func (s *Scaled) Poll() (paused bool, nowNs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.wake:
	default:
	}
	return s.paused, s.nowLocked()
}

// WaitWake waits for a wake (a change of the pause state). It reports false if ctx is done
// first.
func (s *Scaled) WaitWake(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-s.wake:
		return true
	}
}

// SleepUntil waits on a wall-clock timer until the clock, which read nowNs, reaches dueNs,
// or until a wake. The wall wait is (dueNs − nowNs) / speed rounded up, so the clock has
// reached dueNs on waking, at least 1 ns and capped at an hour so that a long wait at a low
// speed cannot overflow (the caller polls and sleeps again). It reports false if ctx is
// done first.
func (s *Scaled) SleepUntil(ctx context.Context, dueNs, nowNs int64) bool {
	wait := time.Duration(min(math.Ceil(float64(dueNs-nowNs)/s.speed), float64(time.Hour)))
	t := s.wall.NewTimer(max(wait, 1))
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C():
	case <-s.wake:
		t.Stop()
	}
	return true
}

// floorDiv is a / b rounded towards −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
