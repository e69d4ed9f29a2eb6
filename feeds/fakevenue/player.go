package fakevenue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Faults are scripted failures; durations are script time unless noted. Zero is off.
type Faults struct {
	// DropEvery closes every connection abruptly (no close frame) each time this much script
	// time has passed; DropLose of script time after each drop is never sent to anyone (the
	// venue moved on while the client was away). The player waits for the client to subscribe
	// again before it goes on.
	DropEvery time.Duration
	DropLose  time.Duration
	// GapEvery withholds one book delta of every symbol each time this much script time has
	// passed: the client sees the next delta's sequence jump.
	GapEvery time.Duration
	// ChecksumEvery sends one book message per symbol with a wrong checksum (OKX).
	ChecksumEvery time.Duration
	// StallAt (script time from the start) stops all sending, pongs included, for StallFor of
	// wall time, without closing anything.
	StallAt  time.Duration
	StallFor time.Duration
	// Reject lists venue topics (as the venue spells them) whose subscription is refused.
	Reject []string
}

// OutKind is what an Out carries.
type OutKind int

const (
	OutTrade    OutKind = iota
	OutBook             // a delta
	OutSnapshot         // a full book (Book holds the levels, Seq the id)
	OutKline            // a closed 1m kline
	OutRaw              // a control frame the venue fake queued (Raw): acks, pongs, errors
)

// Out is one message for one subscriber, in the order the venue would send it.
type Out struct {
	Kind     OutKind
	Symbol   market.Symbol
	Time     int64
	Trade    Trade
	Delta    BookDelta // OutBook
	PrevSeq  int64     // OutBook: the id before this delta as the venue sent it (a gap shows here)
	Snapshot *Book     // OutSnapshot (a copy)
	Checksum int32     // OutBook/OutSnapshot when PlayerOptions.Checksum is set
	BadSum   bool      // the checksum was corrupted on purpose
	Kline    market.Candle
	Raw      []byte
}

// PlayerOptions configure a Player.
type PlayerOptions struct {
	Faults Faults
	// Rate paces the events: at most this many per wall second (0: as fast as the
	// subscribers read).
	Rate float64
	// Checksum, when set, stamps every book message with this checksum of the book after it
	// (OKX's CRC32).
	Checksum func(*Book) int32
	// SnapshotDepth limits subscription snapshots; 0 sends every level.
	SnapshotDepth int
	// Loops plays the script this many times back to back (0 or 1: once), each pass shifted
	// by the script's duration, its update ids and trade ids continuing: a long sustained
	// stream from a short script (benchmarks).
	Loops int
	// Buffer is each subscriber's queue length; default 256. A full queue blocks the player
	// (backpressure: nothing is lost to a slow client).
	Buffer int
	// From (unix ms) joins a venue that has been running: the events before it are applied
	// to the books, never sent, and the faults' clocks start there. A script can then start
	// at a whole minute while a client meets it at the wall clock.
	From int64
}

// Player walks a Script and delivers it to subscribers.
type Player struct {
	s   *Script
	opt PlayerOptions

	mu      sync.Mutex
	cond    *sync.Cond
	now     int64
	clock   atomic.Int64 // now, readable without the lock
	books   map[market.Symbol]*Book
	subs    map[*Sub]struct{}
	stalled bool
	done    bool
	drops   int
	gaps    int
	badSums int
	pos     int
}

// Sub is one connection's subscriptions: the venue fake reads C and writes it to its socket,
// and closes the socket when Dropped is closed.
type Sub struct {
	p       *Player
	C       chan Out
	Dropped chan struct{}
	chans   map[market.Symbol]map[string]bool
	closed  bool
}

// NewPlayer prepares a player at the script's start (or at opt.From).
func NewPlayer(s *Script, opt PlayerOptions) *Player {
	if opt.Buffer <= 0 {
		opt.Buffer = 256
	}
	p := &Player{s: s, opt: opt, now: s.Config.Start, books: map[market.Symbol]*Book{},
		subs: map[*Sub]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.clock.Store(p.now)
	for sym, b := range s.Initial {
		p.books[sym] = b.Clone()
	}
	// Joining a running venue: what happened before From is in the books, not on the wire.
	total := len(s.Events) * max(1, opt.Loops)
	for p.pos < total && p.event(p.pos).Time < opt.From {
		p.applyLocked(p.event(p.pos))
		p.pos++
	}
	return p
}

// Script is the script played.
func (p *Player) Script() *Script { return p.s }

// Now is the script time reached (unix ms): the venue's clock. It never waits for the player.
func (p *Player) Now() int64 { return p.clock.Load() }

// Stalled reports whether the venue is in a scripted stall (fakes answer no pings then).
func (p *Player) Stalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

// Counts reports the faults injected so far.
func (p *Player) Counts() (drops, gaps, badChecksums int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.drops, p.gaps, p.badSums
}

// Done reports whether every event was played.
func (p *Player) Done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Rejected reports whether a topic is scripted to be refused.
func (p *Player) Rejected(topic string) bool {
	for _, t := range p.opt.Faults.Reject {
		if t == topic {
			return true
		}
	}
	return false
}

// Book returns a copy of a symbol's book at the current script time (Binance's REST
// snapshot); ok is false for an unknown symbol.
func (p *Player) Book(sym market.Symbol) (*Book, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.books[sym]
	if !ok {
		return nil, false
	}
	return b.Clone(), true
}

// Has reports whether the script has sym.
func (p *Player) Has(sym market.Symbol) bool {
	_, ok := p.s.Initial[sym]
	return ok
}

// Attach registers a new connection with no subscriptions yet.
func (p *Player) Attach() *Sub {
	sub := &Sub{p: p, C: make(chan Out, p.opt.Buffer), Dropped: make(chan struct{}), chans: map[market.Symbol]map[string]bool{}}
	p.mu.Lock()
	p.subs[sub] = struct{}{}
	p.mu.Unlock()
	return sub
}

// Subscribe adds a channel (market.ChannelTrades, ChannelBook, ChannelCandles) of sym to the
// connection. A book subscription with snapshot true queues the book's snapshot first, in
// order with the deltas that follow (Bybit, OKX); Binance clients take theirs over REST.
func (s *Sub) Subscribe(sym market.Symbol, channel string, snapshot bool) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.closed {
		return
	}
	if s.chans[sym] == nil {
		s.chans[sym] = map[string]bool{}
	}
	s.chans[sym][channel] = true
	if channel == market.ChannelBook && snapshot {
		s.snapshotLocked(sym)
	}
	p.cond.Broadcast()
}

// Resnapshot queues a fresh snapshot of sym's book (a client's resubscribe after a gap).
func (s *Sub) Resnapshot(sym market.Symbol) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if !s.closed {
		s.snapshotLocked(sym)
	}
}

func (s *Sub) snapshotLocked(sym market.Symbol) {
	p := s.p
	b, ok := p.books[sym]
	if !ok {
		return
	}
	snap := b.Clone()
	if d := p.opt.SnapshotDepth; d > 0 {
		snap = NewBook()
		snap.Seq = b.Seq
		for _, l := range b.Bids(d) {
			snap.Set(true, l.Price, l.Size)
		}
		for _, l := range b.Asks(d) {
			snap.Set(false, l.Price, l.Size)
		}
	}
	o := Out{Kind: OutSnapshot, Symbol: sym, Time: p.now, Snapshot: snap}
	if p.opt.Checksum != nil {
		o.Checksum = p.opt.Checksum(snap)
	}
	s.send(o)
}

// Unsubscribe removes a channel of sym.
func (s *Sub) Unsubscribe(sym market.Symbol, channel string) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	delete(s.chans[sym], channel)
}

// Close detaches the connection (the client went away).
func (s *Sub) Close() {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.closeLocked()
}

func (s *Sub) closeLocked() {
	if !s.closed {
		s.closed = true
		delete(s.p.subs, s)
		close(s.Dropped)
		s.p.cond.Broadcast()
	}
}

// send queues o; with the player's lock held. A full queue waits (the lock is released
// meanwhile so the connection can still detach).
func (s *Sub) send(o Out) {
	for !s.closed {
		select {
		case s.C <- o:
			return
		default:
		}
		s.p.mu.Unlock()
		select {
		case s.C <- o:
			s.p.mu.Lock()
			return
		case <-s.Dropped:
		case <-time.After(5 * time.Millisecond):
		}
		s.p.mu.Lock()
	}
}

func (s *Sub) wants(sym market.Symbol, channel string) bool { return s.chans[sym][channel] }

// coveredLocked reports whether every symbol's three channels are subscribed on some
// connection: the player only plays to a complete client, so what a client misses is exactly
// what the faults take.
func (p *Player) coveredLocked() bool {
	for sym := range p.s.Initial {
		for _, ch := range []string{market.ChannelTrades, market.ChannelBook, market.ChannelCandles} {
			ok := false
			for sub := range p.subs {
				if sub.wants(sym, ch) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// Run plays the script until its end or ctx is done. It returns when every event was played.
func (p *Player) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer stop()
	f := p.opt.Faults
	start := max(p.s.Config.Start, p.opt.From)
	nextDrop, nextGap, nextSum := int64(-1), int64(-1), int64(-1)
	if f.DropEvery > 0 {
		nextDrop = start + f.DropEvery.Milliseconds()
	}
	if f.GapEvery > 0 {
		nextGap = start + f.GapEvery.Milliseconds()
	}
	if f.ChecksumEvery > 0 {
		nextSum = start + f.ChecksumEvery.Milliseconds()
	}
	gapDue := map[market.Symbol]bool{}
	sumDue := map[market.Symbol]bool{}
	stallAt := int64(-1)
	if f.StallFor > 0 {
		stallAt = start + f.StallAt.Milliseconds()
	}
	var pace time.Duration
	if p.opt.Rate > 0 {
		pace = time.Duration(float64(time.Second) / p.opt.Rate)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	total := len(p.s.Events) * max(1, p.opt.Loops)
	began, first := time.Now(), p.pos
	for p.pos < total {
		for !p.coveredLocked() && ctx.Err() == nil {
			p.cond.Wait()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ev := p.event(p.pos)
		if stallAt >= 0 && ev.Time >= stallAt {
			stallAt = -1
			p.stalled = true
			p.mu.Unlock()
			sleepCtx(ctx, f.StallFor)
			p.mu.Lock()
			p.stalled = false
			continue
		}
		if nextDrop >= 0 && ev.Time >= nextDrop {
			nextDrop += f.DropEvery.Milliseconds()
			p.drops++
			// What was sent before the drop reaches the client: the drop loses exactly
			// DropLose of script time, whatever the timing.
			p.waitDrainedLocked(ctx)
			for sub := range p.subs {
				sub.closeLocked()
			}
			// The venue goes on while the client is away: DropLose of events are applied, not sent.
			lose := ev.Time + f.DropLose.Milliseconds()
			for p.pos < total && p.event(p.pos).Time < lose {
				p.applyLocked(p.event(p.pos))
				p.pos++
			}
			continue
		}
		if nextGap >= 0 && ev.Time >= nextGap {
			nextGap += f.GapEvery.Milliseconds()
			for sym := range p.s.Initial {
				gapDue[sym] = true
			}
		}
		if nextSum >= 0 && ev.Time >= nextSum {
			nextSum += f.ChecksumEvery.Milliseconds()
			for sym := range p.s.Initial {
				sumDue[sym] = true
			}
		}
		p.pos++
		p.applyLocked(ev)
		if ev.Book != nil && gapDue[ev.Book.Symbol] {
			gapDue[ev.Book.Symbol] = false
			p.gaps++
			continue // applied, never sent
		}
		p.deliverLocked(ev, sumDue)
		if pace > 0 {
			if d := time.Until(began.Add(time.Duration(p.pos-first) * pace)); d > 0 {
				p.mu.Unlock()
				sleepCtx(ctx, d)
				p.mu.Lock()
			}
		}
	}
	p.done = true
	return nil
}

// event is the i-th event of the (looped) script: pass k is shifted by k script durations,
// with update and trade ids continuing.
func (p *Player) event(i int) Event {
	n := len(p.s.Events)
	ev := p.s.Events[i%n]
	k := int64(i / n)
	if k == 0 {
		return ev
	}
	dt := k * p.s.Config.Duration.Milliseconds()
	ev.Time += dt
	switch {
	case ev.Trade != nil:
		tr := *ev.Trade
		tr.Time += dt
		tr.ID += k * int64(len(p.s.trades[tr.Symbol]))
		ev.Trade = &tr
	case ev.Book != nil:
		d := *ev.Book
		d.Time += dt
		d.Seq += k * int64(p.s.deltas[d.Symbol])
		ev.Book = &d
	case ev.Kline != nil:
		c := *ev.Kline
		c.Time += dt
		ev.Kline = &c
	}
	return ev
}

// waitDrainedLocked waits until every subscriber's queue is empty (the lock is released while
// waiting).
func (p *Player) waitDrainedLocked(ctx context.Context) {
	for ctx.Err() == nil {
		busy := false
		for sub := range p.subs {
			if len(sub.C) > 0 {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		p.mu.Unlock()
		sleepCtx(ctx, time.Millisecond)
		p.mu.Lock()
	}
}

func (p *Player) applyLocked(ev Event) {
	if ev.Time > p.now {
		p.now = ev.Time
		p.clock.Store(ev.Time)
	}
	if ev.Book != nil {
		p.books[ev.Book.Symbol].Apply(ev.Book)
	}
}

func (p *Player) deliverLocked(ev Event, sumDue map[market.Symbol]bool) {
	var o Out
	var ch string
	switch {
	case ev.Trade != nil:
		o, ch = Out{Kind: OutTrade, Symbol: ev.Trade.Symbol, Time: ev.Time, Trade: *ev.Trade}, market.ChannelTrades
	case ev.Kline != nil:
		o, ch = Out{Kind: OutKline, Symbol: ev.Kline.Symbol, Time: ev.Time, Kline: *ev.Kline}, market.ChannelCandles
	case ev.Book != nil:
		sym := ev.Book.Symbol
		// PrevSeq is the id before this delta: after a withheld one it is ahead of what the
		// client holds.
		o = Out{Kind: OutBook, Symbol: sym, Time: ev.Time, Delta: *ev.Book, PrevSeq: ev.Book.Seq - 1}
		ch = market.ChannelBook
		if p.opt.Checksum != nil {
			o.Checksum = p.opt.Checksum(p.books[sym])
			if sumDue[sym] {
				sumDue[sym] = false
				o.Checksum ^= 0x5a5a5a5a
				o.BadSum = true
				p.badSums++
			}
		}
	}
	// send may release the lock while a queue is full: walk a copy of the subscribers.
	subs := make([]*Sub, 0, len(p.subs))
	for sub := range p.subs {
		if sub.wants(o.Symbol, ch) {
			subs = append(subs, sub)
		}
	}
	for _, sub := range subs {
		sub.send(o)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
