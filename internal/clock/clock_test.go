package clock

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var wall0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// woken reports whether s has a pending wake, draining it.
func woken(s *Scaled) bool {
	select {
	case <-s.wake:
		return true
	default:
		return false
	}
}

// wantNs fails the test unless s reads want.
func wantNs(t *testing.T, s *Scaled, want int64, what string) {
	t.Helper()
	if got := s.NowNs(); got != want {
		t.Fatalf("%s: NowNs = %d (%v), want %d (%v)", what, got, time.Duration(got), want, time.Duration(want))
	}
}

func TestScaledStandsStillUntilStarted(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 2, 1000)
	c.Advance(time.Second)
	wantNs(t, s, 1000, "before Start")
	if !s.Start() {
		t.Fatal("Start = false on a stopped clock")
	}
	if s.Start() {
		t.Fatal("Start = true on a running clock")
	}
	c.Advance(time.Second)
	wantNs(t, s, int64(1000+2*time.Second), "after 1 s at speed 2")
	s.Stop()
	c.Advance(time.Hour)
	wantNs(t, s, int64(1000+2*time.Second), "after Stop")
	// A later Start continues where Stop left it.
	s.Start()
	c.Advance(time.Millisecond)
	wantNs(t, s, int64(1000+2*time.Second+2*time.Millisecond), "after restart")
}

func TestScaledSpeed(t *testing.T) {
	for _, speed := range []float64{0.5, 1, 10, 1000} {
		c := NewFake(wall0)
		s := NewScaled(c, speed, 0)
		s.StartAt(int64(time.Hour))
		c.Advance(4 * time.Second)
		wantNs(t, s, int64(time.Hour)+int64(float64(4*time.Second)*speed), fmt.Sprintf("speed %g", speed))
		if got, want := s.NowMs(), (int64(time.Hour)+int64(float64(4*time.Second)*speed))/int64(time.Millisecond); got != want {
			t.Errorf("speed %g: NowMs = %d, want %d", speed, got, want)
		}
	}
}

func TestScaledNowMsFloors(t *testing.T) {
	s := NewScaled(NewFake(wall0), 1, -1)
	if got := s.NowMs(); got != -1 {
		t.Fatalf("NowMs at −1 ns = %d, want −1", got)
	}
	s.StopAt(int64(time.Millisecond) - 1)
	if got := s.NowMs(); got != 0 {
		t.Fatalf("NowMs at 999999 ns = %d, want 0", got)
	}
}

func TestScaledPauseFreezesAndResumeDoesNotJump(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 10, 0)
	s.Start()
	c.Advance(time.Second) // 10 s
	s.SetPaused(true)
	if !s.Paused() {
		t.Fatal("Paused = false after SetPaused(true)")
	}
	c.Advance(time.Hour) // however long the pause
	wantNs(t, s, int64(10*time.Second), "paused")
	s.SetPaused(false)
	wantNs(t, s, int64(10*time.Second), "resumed")
	c.Advance(100 * time.Millisecond)
	wantNs(t, s, int64(11*time.Second), "resumed + 100 ms")
}

func TestScaledPausedWhileStopped(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 1, 0)
	s.SetPaused(true)
	s.StartAt(5000) // anchored, but the pause holds
	c.Advance(time.Minute)
	if paused, now := s.Poll(); !paused || now != 5000 {
		t.Fatalf("Poll = %v, %d; want true, 5000", paused, now)
	}
	s.SetPaused(false)
	c.Advance(time.Nanosecond)
	wantNs(t, s, 5001, "NowNs")
}

func TestScaledWakeOnPauseChanges(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 1, 0)
	s.SetPaused(false) // no change
	if woken(s) {
		t.Fatal("wake on SetPaused(false) while not paused")
	}
	s.SetPaused(true)
	s.SetPaused(true) // no change, and the wake does not block
	if !woken(s) {
		t.Fatal("no wake on pause")
	}
	if woken(s) {
		t.Fatal("two wakes for one change")
	}
	s.SetPaused(false)
	if paused, _ := s.Poll(); paused {
		t.Fatal("Poll: paused after resume")
	}
	if woken(s) {
		t.Fatal("Poll did not drain the wake")
	}
	s.SetPaused(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !s.WaitWake(ctx) {
		t.Fatal("WaitWake = false with a wake pending")
	}
	cancel()
	if s.WaitWake(ctx) {
		t.Fatal("WaitWake = true with ctx done and no wake")
	}
}

func TestScaledStopAtAndAdvanceTo(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 2, 0)
	s.StartAt(1000)
	c.Advance(100)    // 1200
	s.AdvanceTo(1100) // behind: nothing
	wantNs(t, s, 1200, "AdvanceTo behind")
	s.AdvanceTo(5000)
	wantNs(t, s, 5000, "AdvanceTo")
	c.Advance(10) // runs on from there
	wantNs(t, s, 5020, "after AdvanceTo + 10 ns")
	s.StopAt(4000)
	c.Advance(time.Hour)
	wantNs(t, s, 4000, "StopAt")
	s.Stop() // stopped: nothing
	wantNs(t, s, 4000, "Stop when stopped")
}

func TestScaledSleepUntil(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 4, 0)
	s.Start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// 10 ns of clock at speed 4 is 2.5 ns of wall time, rounded up to 3.
	done := make(chan bool, 1)
	go func() { done <- s.SleepUntil(ctx, 10, 0) }()
	<-c.Created()
	c.Advance(2)
	select {
	case <-done:
		t.Fatal("SleepUntil returned before the clock reached due")
	case <-time.After(10 * time.Millisecond):
	}
	c.Advance(1)
	if !<-done {
		t.Fatal("SleepUntil = false on the timer")
	}
	if got := s.NowNs(); got < 10 {
		t.Fatalf("woke at %d, before due 10", got)
	}

	// A wake ends the sleep early and stops the timer.
	go func() { done <- s.SleepUntil(ctx, int64(time.Hour), s.NowNs()) }()
	<-c.Created()
	s.SetPaused(true)
	if !<-done {
		t.Fatal("SleepUntil = false on a wake")
	}
	if c.Sleeping() {
		t.Fatal("the timer is still pending after a wake")
	}

	// ctx done.
	s.SetPaused(false)
	s.Poll()
	go func() { done <- s.SleepUntil(ctx, int64(time.Hour), s.NowNs()) }()
	<-c.Created()
	cancel()
	if <-done {
		t.Fatal("SleepUntil = true with ctx done")
	}

	// Due now or past: the shortest wait, 1 ns; a long wait is capped at an hour.
	for _, tc := range []struct {
		due  int64
		wait time.Duration
	}{{0, 1}, {-5, 1}, {int64(1000 * time.Hour), time.Hour}} {
		c := NewFake(wall0)
		s := NewScaled(c, 4, 0)
		s.Start()
		done := make(chan bool, 1)
		go func() { done <- s.SleepUntil(context.Background(), tc.due, 0) }()
		<-c.Created()
		c.Advance(tc.wait - 1)
		if !c.Sleeping() {
			t.Fatalf("due %d: woke before %v", tc.due, tc.wait)
		}
		c.Advance(1)
		if !<-done {
			t.Fatalf("due %d: SleepUntil = false", tc.due)
		}
	}
}

func TestScaledConcurrent(t *testing.T) {
	c := NewFake(wall0)
	s := NewScaled(c, 3, 0)
	s.Start()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { // a Run loop
		defer close(stopped)
		for ctx.Err() == nil {
			paused, now := s.Poll()
			if paused {
				if !s.WaitWake(ctx) {
					return
				}
				continue
			}
			s.AdvanceTo(now + 1)
			if !s.SleepUntil(ctx, now+int64(time.Second), now) {
				return
			}
		}
	}()
	var last int64
	for i := range 1000 {
		s.SetPaused(i%2 == 0)
		c.Advance(time.Millisecond)
		if now := s.NowNs(); now < last {
			t.Fatalf("the clock went back: %d after %d", now, last)
		} else {
			last = now
		}
	}
	cancel()
	<-stopped
}

func TestFakeTimers(t *testing.T) {
	c := NewFake(wall0)
	if c.Now() != wall0 || c.Sleeping() || c.TimersCreated() != 0 {
		t.Fatal("fresh fake clock")
	}
	t3 := c.NewTimer(3 * time.Second)
	t1 := c.NewTimer(time.Second)
	t2 := c.NewTimer(2 * time.Second)
	stopped := c.NewTimer(time.Second)
	for i := range 4 {
		select {
		case <-c.Created():
		default:
			t.Fatalf("timer %d not announced on Created", i)
		}
	}
	if n := c.TimersCreated(); n != 4 {
		t.Fatalf("TimersCreated = %d, want 4", n)
	}
	if !c.Sleeping() {
		t.Fatal("Sleeping = false with the last timer pending")
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: true once, then false")
	}
	if c.Sleeping() {
		t.Fatal("Sleeping = true with the last timer stopped")
	}
	fired := func(tm Timer) (time.Time, bool) {
		select {
		case at := <-tm.C():
			return at, true
		default:
			return time.Time{}, false
		}
	}
	c.Advance(time.Second - 1)
	if _, ok := fired(t1); ok {
		t.Fatal("t1 fired early")
	}
	c.Advance(1)
	if at, ok := fired(t1); !ok || !at.Equal(wall0.Add(time.Second)) {
		t.Fatalf("t1: fired %v at %v", ok, at)
	}
	if _, ok := fired(stopped); ok {
		t.Fatal("a stopped timer fired")
	}
	if t1.Stop() {
		t.Fatal("Stop = true on a fired timer")
	}
	c.Advance(time.Hour) // t2 and t3 both due: each fires once, at the clock's time
	for _, tm := range []Timer{t2, t3} {
		if at, ok := fired(tm); !ok || !at.Equal(wall0.Add(time.Hour+time.Second)) {
			t.Fatalf("fired %v at %v", ok, at)
		}
	}
	c.Advance(time.Hour)
	for _, tm := range []Timer{t1, t2, t3} {
		if _, ok := fired(tm); ok {
			t.Fatal("a timer fired twice")
		}
	}
	// A timer due at once fires at creation.
	now := c.NewTimer(0)
	if _, ok := fired(now); !ok || c.Sleeping() {
		t.Fatal("a zero timer did not fire at once")
	}
}

// Advancing step by step, the timers fire in the order of their deadlines, each at the
// first step that reaches it.
func TestFakeTimersFireInOrder(t *testing.T) {
	c := NewFake(wall0)
	deadlines := []time.Duration{5, 2, 4, 2, 1, 7}
	var timers []Timer
	for _, d := range deadlines {
		timers = append(timers, c.NewTimer(d))
	}
	fired := make([]bool, len(timers))
	for step := time.Duration(1); step <= 8; step++ {
		c.Advance(1)
		for i, tm := range timers {
			select {
			case at := <-tm.C():
				if fired[i] || deadlines[i] != step || !at.Equal(wall0.Add(step)) {
					t.Fatalf("timer %d (due %v) fired at step %v with %v", i, deadlines[i], step, at)
				}
				fired[i] = true
			default:
				if !fired[i] && deadlines[i] <= step {
					t.Fatalf("timer %d (due %v) not fired at step %v", i, deadlines[i], step)
				}
			}
		}
	}
}

func TestSystem(t *testing.T) {
	c := System()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("System().Now() is %v off", d)
	}
	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(10 * time.Second):
		t.Fatal("the system timer did not fire")
	}
	if tm.Stop() {
		t.Fatal("Stop = true on a fired timer")
	}
	if !c.NewTimer(time.Hour).Stop() {
		t.Fatal("Stop = false on a pending timer")
	}
}
