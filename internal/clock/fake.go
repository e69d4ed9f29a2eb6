package clock

import (
	"sync"
	"time"
)

// Fake is a manual wall clock for tests: its time moves only by Advance, and a timer fires
// (sends the clock's time on its channel, once) as soon as the clock reaches its deadline,
// so timers fire in the order of their deadlines. Every NewTimer is announced on
// Created, so a test can wait until the code under test has done everything due and gone to
// sleep. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer // pending, in creation order
	latest  *fakeTimer   // the timer created last
	count   int          // timers created
	created chan struct{}
}

type fakeTimer struct {
	clk  *Fake
	at   time.Time
	ch   chan time.Time
	done bool // fired or stopped
}

// NewFake makes a fake clock that reads now.
func NewFake(now time.Time) *Fake {
	return &Fake{now: now, created: make(chan struct{}, 1<<16)}
}

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer makes a timer that fires when the clock reaches now + d (at once if d ≤ 0) and
// announces it on Created.
func (c *Fake) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{clk: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.latest = t
	c.count++
	c.fireLocked()
	c.mu.Unlock()
	select {
	case c.created <- struct{}{}:
	default: // a test that never reads Created
	}
	return t
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.fireLocked()
	c.mu.Unlock()
}

// Created receives once for every timer created (up to 65536 unread).
func (c *Fake) Created() <-chan struct{} { return c.created }

// Sleeping reports whether the timer created last is still pending: the code under test
// created it to sleep, and nothing has woken it (fired or stopped it) since.
func (c *Fake) Sleeping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest != nil && !c.latest.done
}

// TimersCreated is the number of timers created.
func (c *Fake) TimersCreated() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

func (c *Fake) fireLocked() {
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
	clear(c.timers[len(keep):])
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
