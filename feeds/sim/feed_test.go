package sim

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
)

// newFakeClock is a manual clock (every NewTimer call is announced on Created, so a test can
// wait until Run has emitted everything due and gone to sleep).
func newFakeClock(now time.Time) *clock.Fake { return clock.NewFake(now) }

// waitAsleep waits until Run has created a timer, i.e. has emitted every event due and is
// about to sleep.
func waitAsleep(t *testing.T, c *clock.Fake) {
	t.Helper()
	select {
	case <-c.Created():
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
	waitAsleep(t, clk)
	check(testStart) // the snapshots at Start

	// Speed 10: one wall second is ten sim seconds.
	clk.Advance(time.Second)
	waitAsleep(t, clk)
	check(testStart + 10_000)
	if n := len(sink.snapshot()); n < 100 {
		t.Fatalf("only %d events in 10 sim seconds", n)
	}
	clk.Advance(250 * time.Millisecond)
	waitAsleep(t, clk)
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
	waitAsleep(t, clk)
	check(testStart + 12_500)
	clk.Advance(time.Second)
	waitAsleep(t, clk)
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
	waitAsleep(t, clk)
	check(testStart + 22_500)
	clk.Advance(100 * time.Millisecond)
	waitAsleep(t, clk)
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
