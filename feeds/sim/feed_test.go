package sim

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// fakeClock is a manual clock. Every NewTimer call is announced on created, so a test can
// wait until Run has emitted everything due and gone to sleep.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created chan struct{}
}

type fakeTimer struct {
	clk  *fakeClock
	at   time.Time
	ch   chan time.Time
	done bool // fired or stopped
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, created: make(chan struct{}, 1<<16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{clk: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.fireLocked()
	c.mu.Unlock()
	select {
	case c.created <- struct{}{}:
	default:
	}
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.fireLocked()
	c.mu.Unlock()
}

func (c *fakeClock) fireLocked() {
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.done && !t.at.After(c.now) {
			t.done = true
			t.ch <- c.now
		}
		if !t.done {
			keep = append(keep, t)
		}
	}
	c.timers = keep
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// waitAsleep waits until Run has created a timer, i.e. has emitted every event due and is
// about to sleep.
func (c *fakeClock) waitAsleep(t *testing.T) {
	t.Helper()
	select {
	case <-c.created:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not go to sleep")
	}
}

// recSink records what it receives.
type recSink struct {
	mu     sync.Mutex
	events []Event
}

func (s *recSink) OnTrade(tr market.Trade) {
	s.mu.Lock()
	s.events = append(s.events, Event{Time: tr.Time, Trade: &tr})
	s.mu.Unlock()
}

func (s *recSink) OnBook(b market.BookUpdate) {
	s.mu.Lock()
	s.events = append(s.events, Event{Time: b.Time, Book: &b})
	s.mu.Unlock()
}

func (s *recSink) snapshot() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// upTo returns the generator's events with time ≤ t.
func upTo(g *Generator, buf *[]Event, t int64) []Event {
	for len(*buf) == 0 || (*buf)[len(*buf)-1].Time <= t {
		*buf = append(*buf, g.Next())
	}
	out := *buf
	for len(out) > 0 && out[len(out)-1].Time > t {
		out = out[:len(out)-1]
	}
	return out
}

type runner struct {
	cancel context.CancelFunc
	done   chan error
}

func startRun(f *Feed, sink market.Sink) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.Run(ctx, sink) }()
	return r
}

// stop cancels Run and checks that it returns nil promptly.
func (r *runner) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunPacingPauseResume(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	cfg := Config{Seed: 2, Start: testStart, Speed: 10, Clock: clk}
	f := mustFeed(t, cfg)
	ref := mustGen(t, cfg)
	var buf []Event
	sink := &recSink{}
	check := func(simTime int64) {
		t.Helper()
		if now := f.Now(); now != simTime {
			t.Fatalf("Now() = %d, want %d", now, simTime)
		}
		got, want := sink.snapshot(), upTo(ref, &buf, simTime)
		if len(got) != len(want) {
			t.Fatalf("at sim %+d ms: %d events emitted, want %d", simTime-testStart, len(got), len(want))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatal("emitted events differ from the generator's")
		}
	}

	if f.Now() != testStart {
		t.Fatalf("Now before Run = %d, want Start", f.Now())
	}
	r := startRun(f, sink)
	defer r.cancel()
	clk.waitAsleep(t)
	check(testStart) // the snapshots at Start

	// Speed 10: one wall second is ten sim seconds.
	clk.Advance(time.Second)
	clk.waitAsleep(t)
	check(testStart + 10_000)
	if n := len(sink.snapshot()); n < 100 {
		t.Fatalf("only %d events in 10 sim seconds", n)
	}
	clk.Advance(250 * time.Millisecond)
	clk.waitAsleep(t)
	check(testStart + 12_500)

	// Pause: the sim clock and emission stop, however long the pause.
	f.SetPaused(true)
	if !f.Paused() {
		t.Fatal("Paused() = false after SetPaused(true)")
	}
	clk.Advance(time.Minute)
	check(testStart + 12_500)
	f.SetPaused(true) // idempotent
	clk.Advance(time.Minute)
	check(testStart + 12_500)

	// Resume: no burst of the events of the paused minutes; the clock continues.
	f.SetPaused(false)
	clk.waitAsleep(t)
	check(testStart + 12_500)
	clk.Advance(time.Second)
	clk.waitAsleep(t)
	check(testStart + 22_500)

	// A second Run while one is running is refused.
	if err := f.Run(context.Background(), sink); err == nil {
		t.Fatal("concurrent Run accepted")
	}
	r.stop(t)

	// After Run returns the clock stands still; a new Run continues the same stream.
	clk.Advance(time.Hour)
	check(testStart + 22_500)
	r = startRun(f, sink)
	clk.waitAsleep(t)
	check(testStart + 22_500)
	clk.Advance(100 * time.Millisecond)
	clk.waitAsleep(t)
	check(testStart + 23_500)
	r.stop(t)
}

func TestRunCancelWhilePaused(t *testing.T) {
	clk := newFakeClock(time.Unix(0, 0))
	f := mustFeed(t, Config{Start: testStart, Clock: clk})
	f.SetPaused(true)
	sink := &recSink{}
	r := startRun(f, sink)
	r.stop(t)
	if n := len(sink.snapshot()); n != 0 {
		t.Fatalf("%d events emitted while paused", n)
	}
	if err := f.Run(context.Background(), nil); err == nil {
		t.Fatal("Run with a nil sink accepted")
	}
}

// TestRunRealClock runs on the system clock at high speed and cancels.
func TestRunRealClock(t *testing.T) {
	f := mustFeed(t, Config{Start: testStart, Speed: 200})
	sink := &recSink{}
	r := startRun(f, sink)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := sink.snapshot()
		if len(ev) > 0 && ev[len(ev)-1].Time >= testStart+2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no events covering 2 sim seconds within 10 s")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	r.stop(t)
	now := f.Now()
	ev := sink.snapshot()
	for i, e := range ev {
		if e.Time > now || (i > 0 && e.Time < ev[i-1].Time) {
			t.Fatalf("event %d at %d out of order or after Now %d", i, e.Time, now)
		}
	}
	if f.Now() != now {
		t.Fatal("clock moves after Run returned")
	}
}
