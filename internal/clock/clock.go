// Package clock is the time the feeds pace themselves against: the Clock and Timer
// interfaces with the real wall clock (System), Scaled (a pausable clock that runs at a speed
// × a wall clock) and Fake (a manual wall clock for tests). It imports only the standard
// library.
package clock

import "time"

// Clock is a wall clock. Tests inject a Fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the feeds use.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// System is the real wall clock.
func System() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time { return s.t.C }
func (s systemTimer) Stop() bool          { return s.t.Stop() }
