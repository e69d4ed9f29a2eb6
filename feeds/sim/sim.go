// Package sim is tradeconsole's built-in simulated exchange.
//
// It is deterministic from a seed. Each symbol has an L2 book (a snapshot, then deltas of the
// changed levels only) and trades with Poisson arrival times and log-normal sizes that execute
// at the touch of the current book. The trade rate follows an activity factor (intraday
// seasonality, slow regimes, bursts with big price moves) that History's volumes follow too. A hidden order-flow pressure skews book sizes and the
// buy/sell mix at once and moves the mid a few seconds later, so order-book imbalance leads
// price. The mid tracks a slow price path that is a pure function of (seed, symbol, time),
// from which History also derives its 1m candles, so live prices continue history and a
// restart continues the same path.
//
// Feed paces the events in real time × Speed and can pause; Generator produces the same
// events unpaced, for tests and fast-forward.
package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
)

// Feed is the simulated exchange as a live feed.
type Feed struct {
	cfg Config
	clk *clock.Scaled // the sim clock: runs while Run does, unless paused

	// owned by the running Run call
	gen     *Generator
	pending Event
	hasPend bool
}

// New validates cfg (errors name the field at fault), fills its defaults and makes a feed
// whose sim clock stands at cfg.Start until Run starts it.
func New(cfg Config) (*Feed, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Feed{
		cfg: cfg,
		clk: clock.NewScaled(cfg.Clock, cfg.Speed, cfg.Start*int64(time.Millisecond)),
		gen: newGenerator(cfg),
	}, nil
}

// Name is the exchange name.
func (f *Feed) Name() string { return f.cfg.Exchange }

// Symbols returns the feed's symbols.
func (f *Feed) Symbols() []market.Symbol { return slices.Clone(f.cfg.Symbols) }

// Start is the sim clock origin, unix ms.
func (f *Feed) Start() int64 { return f.cfg.Start }

// Now is the sim clock in unix ms: Start plus the wall time Run has been running unpaused,
// × Speed. It stands still while paused and while Run is not running.
func (f *Feed) Now() int64 { return f.clk.NowMs() }

// SetPaused pauses or resumes the sim clock and the emission of events. Resuming continues
// where the pause stopped: no events pile up while paused, so there is no burst.
func (f *Feed) SetPaused(p bool) { f.clk.SetPaused(p) }

// Paused reports whether the feed is paused.
func (f *Feed) Paused() bool { return f.clk.Paused() }

// History returns the 1m candles of sym with right-aligned stamps T in (from, to] and
// T ≤ Start, contiguous, derived from the same slow price path the live prices follow.
// It is safe to call at any time, concurrently with Run.
func (f *Feed) History(sym market.Symbol, from, to int64) ([]market.Candle, error) {
	if !slices.Contains(f.cfg.Symbols, sym) {
		return nil, fmt.Errorf("sim: history: unknown symbol %q (this feed has %v)", sym, f.cfg.Symbols)
	}
	return history(f.cfg, sym, from, to)
}

// Run emits events to sink in time order, each when the sim clock reaches its time, until
// ctx is done; then it returns nil. The sim clock runs only while Run does. Only one Run may
// be active at a time; a later Run continues where the previous one stopped.
func (f *Feed) Run(ctx context.Context, sink market.Sink) error {
	if sink == nil {
		return errors.New("sim: Run: sink is nil")
	}
	if !f.clk.Start() {
		return errors.New("sim: Run: already running")
	}
	defer f.clk.Stop()

	for {
		if ctx.Err() != nil {
			return nil
		}
		paused, now := f.clk.Poll()
		if paused {
			if !f.clk.WaitWake(ctx) {
				return nil
			}
			continue
		}
		if !f.hasPend {
			f.pending, f.hasPend = f.gen.Next(), true
		}
		due := f.pending.Time * int64(time.Millisecond)
		if due <= now {
			if ev := f.pending; ev.Trade != nil {
				sink.OnTrade(*ev.Trade)
			} else {
				sink.OnBook(*ev.Book)
			}
			f.hasPend = false
			continue
		}
		if !f.clk.SleepUntil(ctx, due, now) {
			return nil
		}
	}
}
