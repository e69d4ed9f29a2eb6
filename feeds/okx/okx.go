// Package okx is tradeconsole's OKX v5 public market-data adapter (spot and linear swaps):
// trades and the incremental "books" channel on the public WebSocket, closed 1m klines on the
// business WebSocket, REST kline history and instrument rules. It follows the OKX notes in
// shared/protocols/okx.md: per-arg subscription acks, text "ping" keep-alive after 20 s of
// idleness, the 64008 service-upgrade notice as a gapless handover, and the books sync
// procedure (snapshot, prevSeqId continuity, sequence resets, keep-alives, the CRC32
// checksum when it is not 0, crossed-book checks), resubscribing a book on any fault.
//
// Sizes are the venue's: base currency for SPOT, contracts for SWAP (trades, books and kline
// volumes alike, so live candles built from trades agree with the venue's klines).
package okx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// Exchange is the feed's name.
const Exchange = "okx"

// Production endpoints. Demo trading: wss://wspap.okx.com:8443/ws/v5/public,
// wss://wspap.okx.com:8443/ws/v5/business and https://openapi.okx.com (or www.okx.com with
// the header x-simulated-trading: 1, see Config.Header).
const (
	DefaultPublicURL   = "wss://ws.okx.com:8443/ws/v5/public"
	DefaultBusinessURL = "wss://ws.okx.com:8443/ws/v5/business"
	DefaultRESTURL     = "https://www.okx.com"
)

// Venue limits from the protocol notes.
const (
	defaultPing = 20 * time.Second // the server drops a connection silent for 30 s
	// booksPerConn keeps each public connection under OKX's ~30 books channels.
	booksPerConn = 25
	// candlesPerConn bounds the business connection's subscriptions (one request per arg).
	candlesPerConn = 100
	// requestBudget is how many subscribe/unsubscribe requests one connection may send before
	// a resync reconnects instead (OKX allows 480 per connection per hour).
	requestBudget = 400
)

// Config configures the OKX feed. The zero value of every optional field takes the default
// noted.
type Config struct {
	// Symbols as config writes them (BTCUSDT); mapped to BTC-USDT (SPOT) or BTC-USDT-SWAP
	// (SWAP) unless InstIDs names the venue's spelling.
	Symbols []market.Symbol
	// InstType is the market: "SPOT" (default) or "SWAP".
	InstType string
	// InstIDs overrides the venue spelling of some symbols (BTCUSDC → "BTC-USDC").
	InstIDs map[market.Symbol]string
	// BookChannel is the order-book channel: "books" (default; snapshot then 100 ms
	// updates, 400 levels), "books5" or "bbo-tbt" (full top-of-book pushes).
	BookChannel string

	// PublicURL (trades, books), BusinessURL (candles) and RESTURL; default production
	// (see DefaultPublicURL…; demo endpoints in their doc comment).
	PublicURL   string
	BusinessURL string
	RESTURL     string
	// Header is sent with every REST request and WebSocket handshake (demo trading on the
	// production host: x-simulated-trading: 1).
	Header http.Header

	// Clock is the feed's clock in unix ms; nil is the wall clock.
	Clock func() int64
	// Logger; nil discards.
	Logger *slog.Logger
	// Backoff between reconnects; zero takes venue.DefaultBackoff.
	Backoff venue.Backoff
	// PingEvery: send "ping" after this long without a frame; default 20s.
	PingEvery time.Duration
	// Silence: reconnect after this long without a frame (the ping went unanswered); default
	// 2 × PingEvery.
	Silence time.Duration
	// MaxDialsPerSecond caps connection attempts across the feed's sockets (OKX allows 3 per
	// second per IP); default 3.
	MaxDialsPerSecond int
	// HTTPClient for REST; default a client with a 20 s timeout.
	HTTPClient *http.Client
	// HistoryTimeout bounds one History call; default 2m.
	HistoryTimeout time.Duration
}

func (c Config) normalize() (Config, error) {
	if len(c.Symbols) == 0 {
		return c, errors.New("okx: Config.Symbols is empty")
	}
	seen := map[market.Symbol]bool{}
	for _, s := range c.Symbols {
		if _, err := market.ParseSymbol(string(s)); err != nil || market.Symbol(strings.ToUpper(string(s))) != s {
			return c, fmt.Errorf("okx: Config.Symbols: %q: write symbols upper case without a separator (BTCUSDT)", s)
		}
		if seen[s] {
			return c, fmt.Errorf("okx: Config.Symbols: %s is listed twice", s)
		}
		seen[s] = true
	}
	c.Symbols = slices.Clone(c.Symbols)
	switch c.InstType {
	case "":
		c.InstType = "SPOT"
	case "SPOT", "SWAP":
	default:
		return c, fmt.Errorf("okx: Config.InstType %q: want SPOT or SWAP", c.InstType)
	}
	switch c.BookChannel {
	case "":
		c.BookChannel = "books"
	case "books", "books5", "bbo-tbt":
	default:
		return c, fmt.Errorf("okx: Config.BookChannel %q: want books, books5 or bbo-tbt", c.BookChannel)
	}
	for sym, id := range c.InstIDs {
		if !seen[sym] {
			return c, fmt.Errorf("okx: Config.InstIDs: %s is not in Symbols", sym)
		}
		if id == "" || strings.ContainsAny(id, " \t\"") {
			return c, fmt.Errorf("okx: Config.InstIDs[%s]: %q is not an instrument id", sym, id)
		}
	}
	var err error
	if c.PublicURL, err = checkURL("PublicURL", c.PublicURL, DefaultPublicURL, "ws", "wss"); err != nil {
		return c, err
	}
	if c.BusinessURL, err = checkURL("BusinessURL", c.BusinessURL, DefaultBusinessURL, "ws", "wss"); err != nil {
		return c, err
	}
	if c.RESTURL, err = checkURL("RESTURL", c.RESTURL, DefaultRESTURL, "http", "https"); err != nil {
		return c, err
	}
	if c.PingEvery < 0 || c.Silence < 0 || c.HistoryTimeout < 0 || c.MaxDialsPerSecond < 0 {
		return c, errors.New("okx: Config.PingEvery, Silence, HistoryTimeout and MaxDialsPerSecond must not be negative")
	}
	if c.PingEvery == 0 {
		c.PingEvery = defaultPing
	}
	if c.Silence == 0 {
		c.Silence = 2 * c.PingEvery
	}
	if c.MaxDialsPerSecond == 0 {
		c.MaxDialsPerSecond = 3
	}
	if c.HistoryTimeout == 0 {
		c.HistoryTimeout = 2 * time.Minute
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = func() int64 { return time.Now().UnixMilli() }
	}
	return c, nil
}

func checkURL(field, v, def string, schemes ...string) (string, error) {
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return "", fmt.Errorf("okx: Config.%s %q: want a %s:// URL", field, v, strings.Join(schemes, ":// or "))
	}
	return v, nil
}

// Feed is the OKX market-data feed: an engine feed (Run, History, VenueCandles) and a
// venue.Historian.
type Feed struct {
	cfg   Config
	inst  map[market.Symbol]string // symbol → instId
	bySym map[string]market.Symbol // instId → symbol

	restCandles *venue.REST // /api/v5/market/candles: 40 req / 2 s
	restHistory *venue.REST // /api/v5/market/history-candles: 20 req / 2 s
	restInst    *venue.REST // /api/v5/public/instruments: 20 req / 2 s
	dials       *venue.Limiter

	lat venue.Latency // frame read → Handle returned, every connection

	running atomic.Bool
}

var _ venue.Historian = (*Feed)(nil)

// New validates cfg (errors name the field at fault) and fills its defaults.
func New(cfg Config) (*Feed, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	f := &Feed{cfg: cfg, inst: map[market.Symbol]string{}, bySym: map[string]market.Symbol{}}
	for _, s := range cfg.Symbols {
		id, err := f.instID(s)
		if err != nil {
			return nil, fmt.Errorf("okx: Config.Symbols: %w", err)
		}
		if other, dup := f.bySym[id]; dup {
			return nil, fmt.Errorf("okx: Config.Symbols: %s and %s are both %s", other, s, id)
		}
		f.inst[s], f.bySym[id] = id, s
	}
	rest := func(n int) *venue.REST {
		return &venue.REST{Name: Exchange, Base: cfg.RESTURL, Client: cfg.HTTPClient, Header: cfg.Header,
			Limiter: venue.NewLimiter(n, 2*time.Second)}
	}
	f.restCandles, f.restHistory, f.restInst = rest(40), rest(20), rest(20)
	f.dials = venue.NewLimiter(cfg.MaxDialsPerSecond, time.Second)
	return f, nil
}

// Name is "okx".
func (f *Feed) Name() string { return Exchange }

// Symbols lists the feed's symbols in config order.
func (f *Feed) Symbols() []market.Symbol { return slices.Clone(f.cfg.Symbols) }

// Now is the feed's clock, unix ms.
func (f *Feed) Now() int64 { return f.cfg.Clock() }

// VenueCandles reports that the feed delivers the venue's closed 1m klines.
func (f *Feed) VenueCandles() bool { return true }

// InstID is the venue's spelling of a symbol in this feed's market.
func (f *Feed) InstID(sym market.Symbol) (string, error) { return f.instID(sym) }

// Run streams trades, books and closed 1m klines to sink until ctx is done (it returns nil
// then) or a subscription is rejected (it returns an error naming the topic and carrying the
// venue's message). sink may implement market.CandleSink and market.StreamSink.
func (f *Feed) Run(ctx context.Context, sink market.Sink) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("okx: Run is already running")
	}
	defer f.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := newRunState(f, sink)

	type stream struct {
		cfg  venue.StreamConfig
		syms []market.Symbol
		kind socketKind
	}
	var streams []stream
	add := func(kind socketKind, base string, per int) {
		groups := chunk(f.cfg.Symbols, per)
		for i, syms := range groups {
			name := "okx " + kind.String()
			if len(groups) > 1 {
				name += fmt.Sprintf("#%d", i+1)
			}
			streams = append(streams, stream{kind: kind, syms: syms, cfg: venue.StreamConfig{
				Name:      name,
				URL:       func() string { return base },
				DialLimit: f.dials,
				Header:    f.cfg.Header,
				Silence:   f.cfg.Silence,
				PingEvery: f.cfg.PingEvery,
				IdlePing:  true,
				Latency:   &f.lat,
				Backoff:   f.cfg.Backoff,
				State:     rs.stateFunc(name, kind, syms),
			}})
		}
	}
	add(socketPublic, f.cfg.PublicURL, booksPerConn)
	add(socketBusiness, f.cfg.BusinessURL, candlesPerConn)

	errs := make(chan error, len(streams))
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- venue.RunStream(ctx, st.cfg, func() venue.Session { return newSession(rs, st.kind, st.syms) })
		}()
	}
	var first error
	for range streams {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	wg.Wait()
	return first
}

func chunk(syms []market.Symbol, n int) [][]market.Symbol {
	var out [][]market.Symbol
	for len(syms) > n {
		out = append(out, syms[:n:n])
		syms = syms[n:]
	}
	return append(out, syms)
}

// runState is what the sessions of one Run share.
type runState struct {
	f      *Feed
	em     *venue.Emitter
	dedupe *venue.Dedupe // trade ids, across connections (handover overlap, replays)

	mu         sync.Mutex
	lastCandle map[market.Symbol]int64 // stamp of the last kline forwarded

	gmu   sync.Mutex
	gates map[*gate]struct{} // handover replacements waiting to overlap their predecessor
}

// gate is a handover replacement's proof of overlap: the items (trades, klines) it received
// while inactive, and the symbols for which the old connection received one of them too.
type gate struct {
	keys    map[string]market.Symbol
	overlap map[market.Symbol]bool
}

// maxGateKeys bounds what a replacement remembers while it waits.
const maxGateKeys = 100_000

// noteNew records an item the replacement g received; dup: it was forwarded already (by the
// old connection, which has therefore read that far).
func (rs *runState) noteNew(g *gate, key string, sym market.Symbol, dup bool) {
	rs.gmu.Lock()
	defer rs.gmu.Unlock()
	if dup {
		g.overlap[sym] = true
	} else if len(g.keys) < maxGateKeys {
		g.keys[key] = sym
	}
}

// noteOld tells waiting replacements that an active connection received an item again.
func (rs *runState) noteOld(key string) {
	rs.gmu.Lock()
	defer rs.gmu.Unlock()
	for g := range rs.gates {
		if sym, ok := g.keys[key]; ok {
			g.overlap[sym] = true
		}
	}
}

func (rs *runState) openGate(g *gate) {
	rs.gmu.Lock()
	rs.gates[g] = struct{}{}
	rs.gmu.Unlock()
}

func (rs *runState) closeGate(g *gate) {
	rs.gmu.Lock()
	delete(rs.gates, g)
	rs.gmu.Unlock()
}

// overlapped reports whether g saw an item the old connection saw, for every symbol.
func (rs *runState) overlapped(g *gate, syms map[string]market.Symbol) bool {
	rs.gmu.Lock()
	defer rs.gmu.Unlock()
	for _, sym := range syms {
		if !g.overlap[sym] {
			return false
		}
	}
	return true
}

func newRunState(f *Feed, sink market.Sink) *runState {
	return &runState{f: f, em: venue.NewEmitter(Exchange, sink, f.cfg.Logger, f.cfg.Clock),
		dedupe: venue.NewDedupe(4096 + 2048*len(f.cfg.Symbols)), lastCandle: map[market.Symbol]int64{},
		gates: map[*gate]struct{}{}}
}

// stateFunc turns a stream's connection-wide states into events for what that connection
// carries (connState).
func (rs *runState) stateFunc(name string, kind socketKind, syms []market.Symbol) func(venue.StateKind, string) {
	return func(k venue.StateKind, detail string) {
		d := name
		if detail != "" {
			d += ": " + detail
		}
		rs.connState(kind, syms, k, d)
	}
}

// connState reports a connection's state for its symbols and channels: trades and books
// (public) or candles (business). A business socket that reconnects leaves the books of the
// public one alone.
func (rs *runState) connState(kind socketKind, syms []market.Symbol, k venue.StateKind, detail string) {
	chans := []string{market.ChannelTrades, market.ChannelBook}
	if kind == socketBusiness {
		chans = []string{market.ChannelCandles}
	}
	rs.em.ConnState(k, syms, chans, detail)
}

// candle forwards a closed kline unless one with the same or a later stamp already went; it
// reports whether it did.
func (rs *runState) candle(c market.Candle) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if c.Time <= rs.lastCandle[c.Symbol] {
		return false
	}
	rs.lastCandle[c.Symbol] = c.Time
	rs.em.Candle(c, false) // under the lock: two connections never reorder a symbol's klines
	return true
}

// FrameLatency is how long this feed's frames took from the socket read to the end of their
// handling: decode, book, and the engine's work and bus publish, which run on the reader.
func (f *Feed) FrameLatency() venue.LatencySnapshot { return f.lat.Snapshot() }
