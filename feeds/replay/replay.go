// Package replay plays a recorded order-flow stream (book snapshots and trades, as the
// order-flow recorder writes them) through the normal pipeline: it is a feed like any other,
// so everything that works live works on recorded data.
//
// The replay clock starts at the first record's time and advances as wall time × Speed; each
// record is delivered when the clock reaches its time. The clock stands still while paused
// (the paused time does not count) and at the end of the stream, at the last record's time.
//
// The package imports only market and internal/clock: the reader of the recorded files is
// injected through Config.Open.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
)

// Source yields records in stream order (trades and snapshots merged by time, see
// market.FlowRecord) and io.EOF at the end. A source may reuse the record's Bids and Asks
// slices: the feed delivers a record before it reads the next one.
type Source interface {
	Next(rec *market.FlowRecord) error
	Close() error
}

// Config configures a replay feed.
type Config struct {
	Exchange string          // the exchange name the feed reports and stamps on every event; default "replay"
	Symbols  []market.Symbol // the symbols to play (others in the stream are skipped); required
	Speed    float64         // replay time per wall time; default 1; at most MaxSpeed
	// MaxGap, when > 0, shortens every gap between two delivered records that is longer than
	// MaxGap to MaxGap (the clock skips ahead). 0 plays gaps in full, in real time × Speed.
	MaxGap time.Duration
	Open   func() (Source, error) // opens the stream; called once, by Run; required
	Clock  Clock                  // wall clock; default SystemClock()
}

// Defaults and limits.
const (
	DefaultExchange = "replay"
	DefaultSpeed    = 1.0
	MaxSpeed        = 100000.0
)

// normalize checks cfg and returns a copy with the defaults filled in. Errors name the field.
func (cfg Config) normalize() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("replay: "+format, args...)) }

	cfg.Exchange = strings.TrimSpace(cfg.Exchange)
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}
	if len(cfg.Symbols) == 0 {
		bad("Symbols: at least one symbol is required")
	} else {
		syms := make([]market.Symbol, 0, len(cfg.Symbols))
		for i, s := range cfg.Symbols {
			p, err := market.ParseSymbol(string(s))
			if err != nil {
				bad("Symbols[%d]: %v", i, err)
				continue
			}
			if slices.Contains(syms, p) {
				bad("Symbols[%d]: %s is listed twice", i, p)
				continue
			}
			syms = append(syms, p)
		}
		cfg.Symbols = syms
	}
	switch {
	case cfg.Speed == 0:
		cfg.Speed = DefaultSpeed
	case math.IsNaN(cfg.Speed) || cfg.Speed < 0 || cfg.Speed > MaxSpeed:
		bad("Speed must be > 0 and ≤ %g (replay time per wall time), got %v", MaxSpeed, cfg.Speed)
	}
	if cfg.MaxGap < 0 {
		bad("MaxGap must be ≥ 0 (0 plays gaps in full), got %v", cfg.MaxGap)
	}
	if cfg.Open == nil {
		bad("Open: a function that opens the recorded stream is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	return cfg, errors.Join(errs...)
}

// Feed replays a recorded order-flow stream as a live feed.
type Feed struct {
	cfg  Config
	want map[market.Symbol]bool
	// The replay clock: it runs while Run is active, anchored and not at the end, unless
	// paused. It has its own lock, and mu is never held while calling it.
	clk *clock.Scaled

	mu       sync.Mutex
	started  bool // Run was called
	done     bool
	played   int64
	lastTime int64
}

// New validates cfg (errors name the field at fault) and makes a feed. Nothing is opened
// until Run.
func New(cfg Config) (*Feed, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	want := make(map[market.Symbol]bool, len(cfg.Symbols))
	for _, s := range cfg.Symbols {
		want[s] = true
	}
	return &Feed{cfg: cfg, want: want, clk: clock.NewScaled(cfg.Clock, cfg.Speed, 0)}, nil
}

// Name is the exchange name.
func (f *Feed) Name() string { return f.cfg.Exchange }

// Symbols returns the feed's symbols.
func (f *Feed) Symbols() []market.Symbol { return slices.Clone(f.cfg.Symbols) }

// Speed is the replay time per wall time.
func (f *Feed) Speed() float64 { return f.cfg.Speed }

// Now is the replay clock in unix ms: 0 until Run has read the first record, then the first
// record's time plus the wall time played unpaused × Speed. It stands still while paused, once
// Run has returned, and at the end of the stream (at the last record's time).
func (f *Feed) Now() int64 { return f.clk.NowMs() }

// SetPaused pauses or resumes the replay clock and the delivery of records. Resuming
// continues where the pause stopped: the paused time does not count.
func (f *Feed) SetPaused(p bool) { f.clk.SetPaused(p) }

// Paused reports whether the feed is paused.
func (f *Feed) Paused() bool { return f.clk.Paused() }

// Done reports whether the stream has ended (every record was played).
func (f *Feed) Done() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

// Progress returns the number of records delivered and the time (unix ms) of the last one.
func (f *Feed) Progress() (played, lastTime int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.played, f.lastTime
}

// Run opens the stream and delivers each record of the configured symbols to sink when the
// replay clock reaches its time: trades with OnTrade, snapshots with OnBook, stamped with the
// feed's exchange name. It returns nil at the end of the stream (Done then reports true) or
// when ctx is done, and a wrapped error if the stream cannot be opened or read. A replay
// plays once: a second Run returns an error.
func (f *Feed) Run(ctx context.Context, sink market.Sink) (err error) {
	if sink == nil {
		return errors.New("replay: Run: sink is nil")
	}
	f.mu.Lock()
	if f.started {
		f.mu.Unlock()
		return errors.New("replay: Run: already run (a replay feed plays its stream once)")
	}
	f.started = true
	f.mu.Unlock()

	src, err := f.cfg.Open()
	if err != nil {
		return fmt.Errorf("replay: open: %w", err)
	}
	if src == nil {
		return errors.New("replay: open: Open returned no source")
	}
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("replay: close: %w", cerr)
		}
	}()
	defer f.clk.Stop() // the clock stops with Run

	r := reader{src: src, want: f.want}
	var rec market.FlowRecord
	ok, err := r.next(ctx, &rec)
	if err != nil || !ok {
		if err == nil && ctx.Err() == nil {
			f.finish(false, 0)
		}
		return err
	}
	// Anchor the clock at the first record.
	f.clk.StartAt(rec.Time() * int64(time.Millisecond))

	maxGap := int64(f.cfg.MaxGap)
	prev := int64(math.MinInt64) // time (ns) of the last delivered record
	gapChecked := false          // MaxGap applied to rec already
	for {
		if ctx.Err() != nil {
			return nil
		}
		due := rec.Time() * int64(time.Millisecond)
		paused, now := f.clk.Poll()
		if paused {
			if !f.clk.WaitWake(ctx) {
				return nil
			}
			continue
		}
		if !gapChecked {
			gapChecked = true
			if maxGap > 0 && prev != math.MinInt64 && due-prev > maxGap && due > now {
				// Skip the clock ahead so that the gap plays as MaxGap, never past the record.
				now += min(due-prev-maxGap, due-now)
				f.clk.AdvanceTo(now)
			}
		}
		if due <= now {
			f.deliver(sink, &rec)
			prev, gapChecked = due, false
			ok, err := r.next(ctx, &rec)
			if err != nil {
				return err
			}
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				f.finish(true, prev)
				return nil
			}
			continue
		}
		if !f.clk.SleepUntil(ctx, due, now) {
			return nil
		}
	}
}

// deliver hands one record to sink, stamped with the feed's exchange name.
func (f *Feed) deliver(sink market.Sink, rec *market.FlowRecord) {
	if rec.IsBook {
		b := rec.Book
		b.Exchange = f.cfg.Exchange
		b.Snapshot = true
		sink.OnBook(b)
	} else {
		tr := rec.Trade
		tr.Exchange = f.cfg.Exchange
		sink.OnTrade(tr)
	}
	f.mu.Lock()
	f.played++
	f.lastTime = rec.Time()
	f.mu.Unlock()
}

// finish freezes the clock (at the last record's time if one was delivered) and then marks
// the end of the stream, so that whoever sees Done sees the clock frozen.
func (f *Feed) finish(delivered bool, lastNs int64) {
	if delivered {
		f.clk.StopAt(lastNs)
	} else {
		f.clk.Stop()
	}
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
}

// reader reads the records of the wanted symbols.
type reader struct {
	src  Source
	want map[market.Symbol]bool
	n    int64 // records read
}

// next reads the next wanted record into rec; false at the end of the stream (or when ctx
// ends while skipping records).
func (r *reader) next(ctx context.Context, rec *market.FlowRecord) (bool, error) {
	for {
		if err := r.src.Next(rec); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("replay: read record %d: %w", r.n+1, err)
		}
		r.n++
		sym := rec.Trade.Symbol
		if rec.IsBook {
			sym = rec.Book.Symbol
		}
		if r.want[sym] {
			return true, nil
		}
		if r.n%4096 == 0 && ctx.Err() != nil {
			return false, nil
		}
	}
}
