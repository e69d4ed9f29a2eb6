package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/internal/clock"
	"github.com/tradeconsole/tradeconsole/market"
)

// t0 is 2024-03-10T00:00:00Z, unix ms.
const t0 = int64(1710028800000)

// ---- a manual clock ----

// newFakeClock is a manual clock (every NewTimer call is announced on Created, so a test can
// wait until Run has delivered everything due and gone to sleep).
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

// ---- an in-memory source ----

// sliceSource yields recs, reusing one Bids and one Asks buffer as the file reader does.
type sliceSource struct {
	recs   []market.FlowRecord
	i      int
	failAt int   // 1-based record number whose read fails; 0 = never
	err    error // the failure
	bids   []market.Level
	asks   []market.Level
	closed atomic.Bool
}

func (s *sliceSource) Next(rec *market.FlowRecord) error {
	if s.failAt > 0 && s.i+1 == s.failAt {
		return s.err
	}
	if s.i >= len(s.recs) {
		return io.EOF
	}
	r := s.recs[s.i]
	s.i++
	if r.IsBook {
		s.bids = append(s.bids[:0], r.Book.Bids...)
		s.asks = append(s.asks[:0], r.Book.Asks...)
		r.Book.Bids, r.Book.Asks = s.bids, s.asks
	}
	*rec = r
	return nil
}

func (s *sliceSource) Close() error {
	s.closed.Store(true)
	return nil
}

func trade(sym market.Symbol, t int64, id string) market.FlowRecord {
	return market.FlowRecord{Trade: market.Trade{Exchange: "file", Symbol: sym, ID: id, Time: t, Price: 100, Size: 1, Side: market.Buy}}
}

func book(sym market.Symbol, t int64, seq int64, mid float64) market.FlowRecord {
	return market.FlowRecord{IsBook: true, Book: market.BookUpdate{Symbol: sym, Time: t, Seq: seq,
		Bids: []market.Level{{Price: mid - 1, Size: 2}, {Price: mid - 2, Size: 3}},
		Asks: []market.Level{{Price: mid + 1, Size: 4}}}}
}

// ---- a recording sink ----

type delivery struct {
	book  bool
	trade market.Trade
	upd   market.BookUpdate
	now   int64 // f.Now() at delivery
}

func (d delivery) time() int64 {
	if d.book {
		return d.upd.Time
	}
	return d.trade.Time
}

type recSink struct {
	f  *Feed
	mu sync.Mutex
	ds []delivery
}

func (s *recSink) OnTrade(tr market.Trade) {
	now := s.f.Now()
	s.mu.Lock()
	s.ds = append(s.ds, delivery{trade: tr, now: now})
	s.mu.Unlock()
}

func (s *recSink) OnBook(u market.BookUpdate) {
	now := s.f.Now()
	u.Bids = append([]market.Level(nil), u.Bids...) // the sink copies what it keeps
	u.Asks = append([]market.Level(nil), u.Asks...)
	s.mu.Lock()
	s.ds = append(s.ds, delivery{book: true, upd: u, now: now})
	s.mu.Unlock()
}

func (s *recSink) get() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.ds...)
}

// ---- running ----

type runner struct {
	f      *Feed
	clk    *clock.Fake
	src    *sliceSource
	sink   *recSink
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config, recs []market.FlowRecord) *runner {
	t.Helper()
	clk := newFakeClock()
	src := &sliceSource{recs: recs}
	cfg.Clock = clk
	if cfg.Open == nil {
		cfg.Open = func() (Source, error) { return src, nil }
	}
	if cfg.Symbols == nil {
		cfg.Symbols = []market.Symbol{"BTCUSDT", "ETHUSDT"}
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{f: f, clk: clk, src: src, sink: &recSink{f: f}, cancel: cancel, done: make(chan error, 1)}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return at cleanup")
		}
	})
	go func() { r.done <- f.Run(ctx, r.sink) }()
	return r
}

// asleep waits until Run has delivered everything due and sleeps on a timer.
func (r *runner) asleep(t *testing.T) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case <-r.clk.Created():
		case err := <-r.done:
			t.Fatalf("Run returned %v while a sleep was expected", err)
		case <-timeout:
			t.Fatal("Run did not go to sleep")
		}
		if r.clk.Sleeping() {
			return
		}
	}
}

// ended waits for Run to return and returns its error.
func (r *runner) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// waitUntil polls cond with a deadline (a polling interval, not synchronisation).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func stream() []market.FlowRecord {
	return []market.FlowRecord{
		trade("BTCUSDT", t0, "a"),
		book("BTCUSDT", t0, 1, 50000),
		trade("ETHUSDT", t0+100, "b"),
		book("ETHUSDT", t0+250, 2, 3000),
		trade("BTCUSDT", t0+250, "c"),
		trade("BTCUSDT", t0+1000, "d"),
		book("BTCUSDT", t0+1000, 3, 50010),
	}
}

// Records are delivered in stream order, each when the replay clock reaches its time exactly.
func TestPacing(t *testing.T) {
	for _, speed := range []float64{1, 10} {
		t.Run(fmt.Sprint("speed ", speed), func(t *testing.T) {
			recs := stream()
			r := start(t, Config{Exchange: "rec", Speed: speed}, recs)
			r.asleep(t)
			sleeps := 1
			wall := time.Duration(0) // wall time played
			for i := 0; i < len(recs); {
				got := r.sink.get()
				// Everything up to the clock is delivered, nothing later.
				now := t0 + int64(float64(wall.Milliseconds())*speed)
				want := 0
				for want < len(recs) && recs[want].Time() <= now {
					want++
				}
				if len(got) != want {
					t.Fatalf("at replay %+d ms: %d records delivered, want %d", now-t0, len(got), want)
				}
				if n := r.f.Now(); n != now {
					t.Fatalf("Now() = %+d, want %+d", n-t0, now-t0)
				}
				i = want
				if i == len(recs) {
					break
				}
				// Advance to 1 ms before the next record, then to it.
				next := time.Duration(float64(recs[i].Time()-t0)/speed) * time.Millisecond
				if step := next - wall - time.Millisecond; step > 0 {
					r.clk.Advance(step)
					wall += step
					if !r.clk.Sleeping() {
						t.Fatalf("at replay %+d ms: Run's timer fired before the next record was due", recs[i].Time()-t0)
					}
					if n := len(r.sink.get()); n != i {
						t.Fatalf("delivered early: %d records", n)
					}
				}
				r.clk.Advance(next - wall)
				wall = next
				if recs[len(recs)-1].Time() <= t0+int64(float64(wall.Milliseconds())*speed) {
					break // the last records: Run ends rather than sleeps
				}
				r.asleep(t)
				sleeps++
			}
			if err := r.ended(t); err != nil {
				t.Fatalf("Run = %v, want nil at the end of the stream", err)
			}
			// One timer per wait: no polling.
			if n := r.clk.TimersCreated(); n != sleeps {
				t.Fatalf("%d timers created for %d waits", n, sleeps)
			}
			got := r.sink.get()
			if len(got) != len(recs) {
				t.Fatalf("%d records delivered, want %d", len(got), len(recs))
			}
			for i, d := range got {
				rec := recs[i]
				if d.book != rec.IsBook || d.time() != rec.Time() {
					t.Fatalf("delivery %d: book=%v time %+d, want book=%v time %+d", i, d.book, d.time()-t0, rec.IsBook, rec.Time()-t0)
				}
				if d.now != rec.Time() {
					t.Errorf("delivery %d: Now() = %+d at delivery, want %+d", i, d.now-t0, rec.Time()-t0)
				}
				if d.book {
					want := rec.Book
					want.Exchange, want.Snapshot = "rec", true
					if !reflect.DeepEqual(d.upd, want) {
						t.Errorf("delivery %d: book %+v, want %+v", i, d.upd, want)
					}
				} else {
					want := rec.Trade
					want.Exchange = "rec"
					if d.trade != want {
						t.Errorf("delivery %d: trade %+v, want %+v", i, d.trade, want)
					}
				}
			}
			// The end: done, the clock frozen at the last record's time, the source closed.
			if !r.f.Done() {
				t.Fatal("Done() = false at the end of the stream")
			}
			last := recs[len(recs)-1].Time()
			r.clk.Advance(time.Hour)
			if n := r.f.Now(); n != last {
				t.Fatalf("Now() after the end = %+d, want %+d", n-t0, last-t0)
			}
			if played, lt := r.f.Progress(); played != int64(len(recs)) || lt != last {
				t.Fatalf("Progress() = %d, %+d", played, lt-t0)
			}
			if !r.src.closed.Load() {
				t.Fatal("source not closed")
			}
		})
	}
}

func TestPauseResume(t *testing.T) {
	recs := []market.FlowRecord{trade("BTCUSDT", t0, "a"), trade("BTCUSDT", t0+100, "b"), trade("BTCUSDT", t0+200, "c")}
	r := start(t, Config{}, recs)
	r.asleep(t)
	r.clk.Advance(50 * time.Millisecond)
	if n := r.f.Now(); n != t0+50 {
		t.Fatalf("Now() = %+d", n-t0)
	}
	r.f.SetPaused(true)
	if !r.f.Paused() {
		t.Fatal("Paused() = false")
	}
	r.clk.Advance(time.Hour) // however long the pause
	if n := r.f.Now(); n != t0+50 {
		t.Fatalf("Now() while paused = %+d, want +50", n-t0)
	}
	if n := len(r.sink.get()); n != 1 {
		t.Fatalf("%d records delivered while paused, want 1", n)
	}
	r.f.SetPaused(true) // no-op
	r.f.SetPaused(false)
	r.asleep(t)
	if n := r.f.Now(); n != t0+50 {
		t.Fatalf("Now() on resume = %+d, want +50 (no jump)", n-t0)
	}
	r.clk.Advance(49 * time.Millisecond)
	if n := len(r.sink.get()); n != 1 {
		t.Fatalf("%d records delivered 1 ms early", n)
	}
	r.clk.Advance(time.Millisecond)
	r.asleep(t)
	got := r.sink.get()
	if len(got) != 2 || got[1].now != t0+100 {
		t.Fatalf("after resume: %+v", got)
	}
	r.clk.Advance(100 * time.Millisecond)
	if err := r.ended(t); err != nil {
		t.Fatal(err)
	}
	if n := len(r.sink.get()); n != 3 {
		t.Fatalf("%d records", n)
	}
}

// Paused before Run: the clock is anchored at the first record and nothing is delivered.
func TestPausedBeforeRun(t *testing.T) {
	clk := newFakeClock()
	src := &sliceSource{recs: []market.FlowRecord{trade("BTCUSDT", t0, "a"), trade("BTCUSDT", t0+10, "b")}}
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT"}, Clock: clk, Open: func() (Source, error) { return src, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if f.Now() != 0 {
		t.Fatalf("Now() before Run = %d, want 0", f.Now())
	}
	f.SetPaused(true)
	sink := &recSink{f: f}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, sink) }()
	waitUntil(t, "the clock to be anchored", func() bool { return f.Now() == t0 })
	clk.Advance(time.Minute)
	if f.Now() != t0 || len(sink.get()) != 0 {
		t.Fatalf("paused: Now %+d, %d delivered", f.Now()-t0, len(sink.get()))
	}
	f.SetPaused(false)
	select {
	case <-clk.Created():
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not go to sleep after resume")
	}
	if got := sink.get(); len(got) != 1 || got[0].now != t0 {
		t.Fatalf("after resume: %+v", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestCancel(t *testing.T) {
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprint("paused=", paused), func(t *testing.T) {
			r := start(t, Config{}, stream())
			r.asleep(t)
			if paused {
				r.f.SetPaused(true)
			}
			r.clk.Advance(20 * time.Millisecond)
			r.cancel()
			if err := r.ended(t); err != nil {
				t.Fatalf("Run after cancel = %v, want nil", err)
			}
			if r.f.Done() {
				t.Fatal("Done() after cancel")
			}
			if !r.src.closed.Load() {
				t.Fatal("source not closed")
			}
			want := t0 + 20
			if paused {
				want = t0
			}
			now := r.f.Now()
			r.clk.Advance(time.Hour)
			if now != want || r.f.Now() != now {
				t.Fatalf("Now() after cancel = %+d then %+d, want %+d frozen", now-t0, r.f.Now()-t0, want-t0)
			}
			// A replay plays once.
			if err := r.f.Run(context.Background(), r.sink); err == nil || !strings.Contains(err.Error(), "already") {
				t.Fatalf("second Run = %v", err)
			}
		})
	}
}

func TestEmptyStream(t *testing.T) {
	r := start(t, Config{}, nil)
	if err := r.ended(t); err != nil {
		t.Fatal(err)
	}
	if !r.f.Done() || r.f.Now() != 0 {
		t.Fatalf("Done %v, Now %d", r.f.Done(), r.f.Now())
	}
	if p, _ := r.f.Progress(); p != 0 {
		t.Fatalf("played %d", p)
	}
}

func TestOpenAndReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := start(t, Config{Open: func() (Source, error) { return nil, boom }}, nil)
	err := r.ended(t)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "replay: open") {
		t.Fatalf("Run with a failing Open = %v", err)
	}
	if r.f.Done() {
		t.Fatal("Done() after an Open error")
	}

	bad := errors.New("corrupt row")
	src := &sliceSource{recs: []market.FlowRecord{trade("BTCUSDT", t0, "a"), trade("BTCUSDT", t0, "b"), trade("BTCUSDT", t0, "c")}, failAt: 3, err: bad}
	r = start(t, Config{Open: func() (Source, error) { return src, nil }}, nil)
	err = r.ended(t)
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "read record 3") {
		t.Fatalf("Run with a failing Next = %v", err)
	}
	if r.f.Done() || len(r.sink.get()) != 2 || !src.closed.Load() {
		t.Fatalf("after a read error: done %v, %d delivered, closed %v", r.f.Done(), len(r.sink.get()), src.closed.Load())
	}
}

func TestSymbolFilter(t *testing.T) {
	recs := stream()
	r := start(t, Config{Symbols: []market.Symbol{"ETHUSDT"}}, recs)
	r.asleep(t) // the clock is anchored at the first ETHUSDT record
	if n := r.f.Now(); n != t0+100 {
		t.Fatalf("Now() = %+d, want the first ETHUSDT record's +100", n-t0)
	}
	r.clk.Advance(150 * time.Millisecond)
	if err := r.ended(t); err != nil {
		t.Fatal(err)
	}
	got := r.sink.get()
	if len(got) != 2 || got[0].trade.ID != "b" || !got[1].book || got[1].upd.Symbol != "ETHUSDT" || got[1].upd.Exchange != "replay" {
		t.Fatalf("delivered %+v", got)
	}
	if p, lt := r.f.Progress(); p != 2 || lt != t0+250 || r.f.Now() != t0+250 {
		t.Fatalf("Progress %d %+d, Now %+d", p, lt-t0, r.f.Now()-t0)
	}
}

// A gap longer than MaxGap plays as MaxGap; without MaxGap it plays in full.
func TestMaxGap(t *testing.T) {
	hour := int64(time.Hour / time.Millisecond)
	recs := []market.FlowRecord{trade("BTCUSDT", t0, "a"), trade("BTCUSDT", t0+1000, "b"), trade("BTCUSDT", t0+hour, "c"), trade("BTCUSDT", t0+hour+500, "d")}

	r := start(t, Config{MaxGap: 2 * time.Second}, recs)
	r.asleep(t)
	r.clk.Advance(time.Second) // b, then the clock skips to 2 s before c
	r.asleep(t)
	if n := r.f.Now(); n != t0+hour-2000 {
		t.Fatalf("Now() over the gap = %+d, want %+d", n-t0, hour-2000)
	}
	r.clk.Advance(2 * time.Second)
	r.asleep(t)
	r.clk.Advance(500 * time.Millisecond)
	if err := r.ended(t); err != nil {
		t.Fatal(err)
	}
	var nows []int64
	for _, d := range r.sink.get() {
		nows = append(nows, d.now-t0)
	}
	if !reflect.DeepEqual(nows, []int64{0, 1000, hour, hour + 500}) {
		t.Fatalf("clock at deliveries = %v", nows)
	}

	// Gaps shorter than MaxGap, and every gap without it, play in full.
	r = start(t, Config{}, recs)
	r.asleep(t)
	r.clk.Advance(time.Second)
	r.asleep(t)
	if n := r.f.Now(); n != t0+1000 {
		t.Fatalf("Now() = %+d without MaxGap", n-t0)
	}
	r.clk.Advance(time.Hour - time.Second - time.Millisecond)
	if n := len(r.sink.get()); n != 2 {
		t.Fatalf("%d delivered before the gap ended", n)
	}
}

func TestConfig(t *testing.T) {
	open := func() (Source, error) { return &sliceSource{}, nil }
	ok := Config{Symbols: []market.Symbol{"BTCUSDT"}, Open: open}
	f, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "replay" || f.Speed() != 1 || !reflect.DeepEqual(f.Symbols(), []market.Symbol{"BTCUSDT"}) {
		t.Fatalf("defaults: %q %v %v", f.Name(), f.Speed(), f.Symbols())
	}
	f.Symbols()[0] = "X" // a copy
	if f.Symbols()[0] != "BTCUSDT" {
		t.Fatal("Symbols() exposes the feed's slice")
	}
	g, err := New(Config{Exchange: " bybit ", Symbols: []market.Symbol{" ethusdt"}, Speed: MaxSpeed, Open: open})
	if err != nil || g.Name() != "bybit" || g.Symbols()[0] != "ETHUSDT" {
		t.Fatalf("New = %v, %v", g, err)
	}
	for _, c := range []struct {
		mod   func(*Config)
		field string
	}{
		{func(c *Config) { c.Symbols = nil }, "Symbols"},
		{func(c *Config) { c.Symbols = []market.Symbol{"BTC-USDT"} }, "Symbols[0]"},
		{func(c *Config) { c.Symbols = []market.Symbol{"BTCUSDT", "btcusdt"} }, "Symbols[1]"},
		{func(c *Config) { c.Speed = -1 }, "Speed"},
		{func(c *Config) { c.Speed = math.NaN() }, "Speed"},
		{func(c *Config) { c.Speed = math.Inf(1) }, "Speed"},
		{func(c *Config) { c.Speed = MaxSpeed * 2 }, "Speed"},
		{func(c *Config) { c.MaxGap = -time.Second }, "MaxGap"},
		{func(c *Config) { c.Open = nil }, "Open"},
	} {
		cfg := ok
		c.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("config with a bad %s: err = %v", c.field, err)
		}
	}
	if err := f.Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil sink")
	}
}

type countSink struct{ n int64 }

func (s *countSink) OnTrade(market.Trade)     { s.n++ }
func (s *countSink) OnBook(market.BookUpdate) { s.n++ }

// Delivery at the maximum speed with the real clock: records 1 ms apart, so 100 s of replay
// time per wall millisecond.
func BenchmarkMaxSpeed(b *testing.B) {
	recs := make([]market.FlowRecord, b.N)
	for i := range recs {
		if i%10 == 0 {
			recs[i] = book("BTCUSDT", t0+int64(i), int64(i), 50000)
		} else {
			recs[i] = trade("BTCUSDT", t0+int64(i), "x")
		}
	}
	src := &sliceSource{recs: recs}
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT"}, Speed: MaxSpeed, Open: func() (Source, error) { return src, nil }})
	if err != nil {
		b.Fatal(err)
	}
	sink := &countSink{}
	b.ResetTimer()
	if err := f.Run(context.Background(), sink); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if sink.n != int64(b.N) || !f.Done() {
		b.Fatalf("delivered %d of %d", sink.n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
