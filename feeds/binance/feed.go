package binance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// Feed is the Binance spot feed: engine.Feed (Name, Symbols, Run, Now, History,
// VenueCandles) and venue.Historian (Klines, Instrument, Timeframes).
type Feed struct {
	cfg    Config
	weight *weightBudget // REST request weight per minute
	rest   *venue.REST   // its Limiter spaces the feed's requests and honours Retry-After
	dedupe *venue.Dedupe // trade ids: a handover overlap never forwards a trade twice
	// snapshot fetches a depth snapshot (depthSnapshot; tests replace it).
	snapshot func(ctx context.Context, sym market.Symbol) (depthSnap, error)

	lat venue.Latency // frame read → Handle returned, every connection

	mu        sync.Mutex
	lastKline map[market.Symbol]int64 // stamp of the last closed kline forwarded
}

// New validates cfg (errors name the field) and fills its defaults.
func New(cfg Config) (*Feed, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	f := &Feed{
		cfg:    cfg,
		weight: &weightBudget{limit: cfg.RESTWeight},
		rest: &venue.REST{Name: Name, Base: cfg.RESTURL, Client: cfg.HTTPClient,
			Limiter: venue.NewLimiter(restRequestsPerMinute, time.Minute)},
		dedupe:    venue.NewDedupe(min(1<<17, 8192*len(cfg.Symbols))),
		lastKline: map[market.Symbol]int64{},
	}
	f.snapshot = f.depthSnapshot
	return f, nil
}

// restRequestsPerMinute spaces REST requests (100 a second, half Binance's raw-request
// limit of 61000 per 5 minutes); their weight is budgeted separately (Config.RESTWeight).
const restRequestsPerMinute = 6000

// Name is "binance".
func (f *Feed) Name() string { return Name }

// Symbols are the configured symbols.
func (f *Feed) Symbols() []market.Symbol { return slices.Clone(f.cfg.Symbols) }

// Now is the feed clock, unix ms.
func (f *Feed) Now() int64 {
	if f.cfg.Clock != nil {
		return f.cfg.Clock()
	}
	return time.Now().UnixMilli()
}

// VenueCandles reports that the feed delivers the venue's closed 1m klines.
func (f *Feed) VenueCandles() bool { return true }

// newKline reports whether a closed kline with this stamp was not forwarded yet (two
// connections overlap during a handover), and remembers it.
func (f *Feed) newKline(sym market.Symbol, stamp int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if stamp <= f.lastKline[sym] {
		return false
	}
	f.lastKline[sym] = stamp
	return true
}

// Run streams trades, books and closed 1m klines to sink until ctx is done (it returns nil
// then) or the venue refuses a symbol or a subscription (it returns that error, naming the
// symbol or stream and carrying the venue's message). Symbols are spread over connections of
// at most MaxStreams streams each; every connection runs in a goroutine Run owns.
func (f *Feed) Run(ctx context.Context, sink market.Sink) error {
	em := venue.NewEmitter(Name, sink, f.cfg.Logger, f.Now)
	if err := f.checkSymbols(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		var api *APIError
		if errors.As(err, &api) && api.Status >= 400 && api.Status < 500 {
			return err
		}
		// The REST host is unreachable: the streams retry on their own.
		em.Event(market.StreamError, "", "", "symbol check skipped: "+err.Error())
	}
	per := f.cfg.MaxStreams / streamsPerSymbol
	var groups [][]market.Symbol
	for syms := f.cfg.Symbols; len(syms) > 0; {
		n := min(per, len(syms))
		groups = append(groups, syms[:n])
		syms = syms[n:]
	}
	ctx, cancel := context.WithCancel(ctx) // done: Run's context, or a stream failed
	defer cancel()
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, syms := range groups {
		g := newGroup(f, em, syms)
		name := "binance spot"
		if len(groups) > 1 {
			name = fmt.Sprintf("binance spot #%d", i+1)
		}
		sc := venue.StreamConfig{
			Name:      name,
			URL:       func() string { return f.cfg.WSURL },
			Silence:   f.cfg.Silence,
			PingEvery: f.cfg.PingEvery,
			IdlePing:  true,
			Lifetime:  f.cfg.Lifetime,
			SendRate:  f.cfg.SendRate,
			Latency:   &f.lat,
			Backoff:   f.cfg.Backoff,
			State:     g.state,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := venue.RunStream(ctx, sc, g.newSession); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

const streamsPerSymbol = 3 // trades, depth, kline_1m

// bookPhase is what the engine was last told about a symbol's book.
type bookPhase uint8

const (
	phaseNone      bookPhase = iota // never synced
	phaseSynced                     // a snapshot was emitted; deltas follow
	phaseResyncing                  // StreamResyncing was emitted; waiting for a snapshot
)

// group is the symbols of one kept-open connection (RunStream): the sessions of its
// successive connections, and which of them feeds the engine's books (the owner: the active
// connection, once Activate ran).
type group struct {
	f    *Feed
	em   *venue.Emitter
	syms []market.Symbol

	mu    sync.Mutex
	owner *session
	phase map[market.Symbol]bookPhase
}

func newGroup(f *Feed, em *venue.Emitter, syms []market.Symbol) *group {
	return &group{f: f, em: em, syms: syms, phase: map[market.Symbol]bookPhase{}}
}

func (g *group) newSession() venue.Session { return newSession(g) }

// add registers a new session, a handover's replacement if another connection feeds the
// engine.
func (g *group) add(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s.replacement = g.owner != nil
}

// state turns the runner's connection-wide states into stream events for every symbol and
// channel (Symbol "", Channel "").
func (g *group) state(k venue.StateKind, detail string) {
	if len(g.syms) == len(g.f.cfg.Symbols) {
		g.em.ConnState(k, nil, nil, detail)
		return
	}
	g.em.ConnState(k, g.syms, nil, detail) // one connection of several: only its symbols
}

// book forwards a delta if s feeds the engine.
func (g *group) book(s *session, u market.BookUpdate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner == s {
		g.em.Book(u)
	}
}

// synced emits a whole book as a snapshot, then StreamSynced, if s feeds the engine. With
// s.mu held.
func (g *group) synced(s *session, st *symState, detail string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner == s {
		g.emitSnapshot(st, detail)
	}
}

func (g *group) emitSnapshot(st *symState, detail string) {
	g.em.Book(market.BookUpdate{Exchange: Name, Symbol: st.sym, Time: g.f.Now(), Seq: st.local, Snapshot: true,
		Bids: st.book.Bids(0, nil), Asks: st.book.Asks(0, nil)})
	g.phase[st.sym] = phaseSynced
	g.em.Event(market.StreamSynced, st.sym, market.ChannelBook, detail)
}

// resyncing tells the engine to drop sym's book, if s feeds it and the engine holds one.
func (g *group) resyncing(s *session, sym market.Symbol, detail string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner == s {
		g.resyncLocked(sym, detail)
	}
}

// resyncingAlways reports sym's book resyncing whatever the engine was last told (a gap in
// the events buffered for a sync), if s feeds the engine.
func (g *group) resyncingAlways(s *session, sym market.Symbol, detail string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner == s {
		g.phase[sym] = phaseResyncing
		g.em.Event(market.StreamResyncing, sym, market.ChannelBook, detail)
	}
}

func (g *group) resyncLocked(sym market.Symbol, detail string) {
	if g.phase[sym] == phaseSynced {
		g.phase[sym] = phaseResyncing
		g.em.Event(market.StreamResyncing, sym, market.ChannelBook, detail)
	}
}

// activate makes s the connection that feeds the engine: its synced books go out as
// snapshots, the others are reported resyncing. With s.mu held.
func (g *group) activate(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.owner = s
	for _, st := range s.syms {
		if st.synced {
			g.emitSnapshot(st, "new connection: book synced")
		} else {
			g.resyncLocked(st.sym, "new connection: waiting for the depth snapshot")
		}
	}
}

// release forgets s (its connection closed) and ends its ownership: its books are reported
// resyncing.
func (g *group) release(s *session, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owner != s {
		return
	}
	g.owner = nil
	reason := "connection closed"
	if err != nil {
		reason = "connection closed: " + err.Error()
	}
	for _, sym := range g.syms {
		g.resyncLocked(sym, reason)
	}
}

// streamNames are the three streams of a symbol, lower case as Binance names them.
func (f *Feed) streamNames(sym market.Symbol) (trade, depth, kline string) {
	s := strings.ToLower(string(sym))
	trade = s + "@trade"
	if f.cfg.AggTrades {
		trade = s + "@aggTrade"
	}
	return trade, s + "@depth@100ms", s + "@kline_1m"
}

// FrameLatency is how long this feed's frames took from the socket read to the end of their
// handling: decode, book, and the engine's work and bus publish, which run on the reader.
func (f *Feed) FrameLatency() venue.LatencySnapshot { return f.lat.Snapshot() }
