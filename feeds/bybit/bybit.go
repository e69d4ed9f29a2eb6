// Package bybit is the Bybit v5 public market-data adapter: trades, the L2 order book
// (snapshot + delta, kept in sync by the venue's update ids) and closed 1m klines over the
// category's public WebSocket, and historical klines and instrument rules over REST.
//
// Mainnet endpoints are the defaults. Testnet:
//
//	SpotWSURL:   wss://stream-testnet.bybit.com/v5/public/spot
//	LinearWSURL: wss://stream-testnet.bybit.com/v5/public/linear
//	RESTURL:     https://api-testnet.bybit.com
//
// Wire format and sync procedure: ../shared/protocols/bybit.md.
package bybit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// Name is the exchange name the feed stamps on everything it emits.
const Name = "bybit"

// Mainnet endpoints.
const (
	DefaultSpotWSURL   = "wss://stream.bybit.com/v5/public/spot"
	DefaultLinearWSURL = "wss://stream.bybit.com/v5/public/linear"
	DefaultRESTURL     = "https://api.bybit.com"
)

// Venue limits and defaults (protocol notes §3, §7).
const (
	// DefaultPingEvery is the JSON ping period the venue asks for.
	DefaultPingEvery = 20 * time.Second
	// maxArgsChars is the venue's cap on the combined length of one connection's topics.
	maxArgsChars = 21000
	// maxKlineLimit is the largest REST kline page.
	maxKlineLimit = 1000
	// restPerWindow requests per restWindow per IP on the REST host.
	restPerWindow = 600
	restWindow    = 5 * time.Second
	// historyTimeout bounds one History call (the engine passes no context).
	historyTimeout = 5 * time.Minute
	// dedupeKeep is how many trade ids the feed remembers.
	dedupeKeep = 1 << 14
)

// Config configures a Bybit feed. Zero values take the defaults noted.
type Config struct {
	// Symbols as config writes them (BTCUSDT); Bybit spells them the same way.
	Symbols []market.Symbol
	// Category is the market: "spot" (default) or "linear" (USDT/USDC perpetuals and futures).
	// Spot and linear BTCUSDT are different markets, on different sockets.
	Category string

	// SpotWSURL and LinearWSURL are the public sockets (default mainnet, see the package doc);
	// the one of Category is used.
	SpotWSURL   string
	LinearWSURL string
	// RESTURL is the REST host (default https://api.bybit.com).
	RESTURL string

	// BookDepth is the orderbook topic depth: 1, 50 (default), 200 or 1000.
	BookDepth int
	// KlinePageLimit is the REST kline page size asked for (1–1000, default 1000).
	KlinePageLimit int

	// Clock is the feed clock in unix ms (nil: the wall clock). Tests pass the fake's Player.Now.
	Clock  func() int64
	Logger *slog.Logger

	// Backoff between reconnects (zero: venue.DefaultBackoff).
	Backoff venue.Backoff
	// PingEvery is the JSON ping period (default 20s).
	PingEvery time.Duration
	// Silence: no frame for this long ends the connection (default 3 × PingEvery; pongs count).
	Silence time.Duration
	// ResyncTimeout: a connection whose subscriptions are not all acknowledged, or whose book
	// resubscription brought no snapshot, after this long is dropped and redialled (default 15s).
	ResyncTimeout time.Duration

	// HTTPClient for REST (nil: a client with a 20s timeout).
	HTTPClient *http.Client
}

// Feed is a Bybit market-data feed: an engine.Feed with venue klines and REST history.
type Feed struct {
	cfg    Config
	wsURL  string
	shards [][]market.Symbol // symbols per connection (the venue caps topic length per connection)
	rest   *venue.REST
	limit  *venue.Limiter
	dedupe *venue.Dedupe

	lat venue.Latency // frame read → Handle returned, every connection

	kmu       sync.Mutex
	lastKline map[market.Symbol]int64 // newest kline stamp emitted per symbol
}

// New validates cfg (errors name the field at fault) and fills its defaults.
func New(cfg Config) (*Feed, error) {
	if len(cfg.Symbols) == 0 {
		return nil, fmt.Errorf("bybit: Symbols: at least one symbol is required")
	}
	seen := map[market.Symbol]bool{}
	syms := make([]market.Symbol, 0, len(cfg.Symbols))
	for i, s := range cfg.Symbols {
		p, err := market.ParseSymbol(string(s))
		if err != nil {
			return nil, fmt.Errorf("bybit: Symbols[%d]: %w", i, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("bybit: Symbols[%d]: %s is listed twice", i, p)
		}
		seen[p] = true
		syms = append(syms, p)
	}
	cfg.Symbols = syms
	switch cfg.Category {
	case "":
		cfg.Category = "spot"
	case "spot", "linear":
	default:
		return nil, fmt.Errorf("bybit: Category %q: want spot or linear", cfg.Category)
	}
	if cfg.SpotWSURL == "" {
		cfg.SpotWSURL = DefaultSpotWSURL
	}
	if cfg.LinearWSURL == "" {
		cfg.LinearWSURL = DefaultLinearWSURL
	}
	if cfg.RESTURL == "" {
		cfg.RESTURL = DefaultRESTURL
	}
	switch cfg.BookDepth {
	case 0:
		cfg.BookDepth = 50
	case 1, 50, 200, 1000:
	default:
		return nil, fmt.Errorf("bybit: BookDepth %d: want 1, 50, 200 or 1000", cfg.BookDepth)
	}
	switch {
	case cfg.KlinePageLimit == 0:
		cfg.KlinePageLimit = maxKlineLimit
	case cfg.KlinePageLimit < 0 || cfg.KlinePageLimit > maxKlineLimit:
		return nil, fmt.Errorf("bybit: KlinePageLimit %d: want 1–%d", cfg.KlinePageLimit, maxKlineLimit)
	}
	if cfg.PingEvery < 0 || cfg.Silence < 0 || cfg.ResyncTimeout < 0 {
		return nil, fmt.Errorf("bybit: PingEvery, Silence and ResyncTimeout must not be negative")
	}
	if cfg.PingEvery == 0 {
		cfg.PingEvery = DefaultPingEvery
	}
	if cfg.Silence == 0 {
		cfg.Silence = 3 * cfg.PingEvery
	}
	if cfg.ResyncTimeout == 0 {
		cfg.ResyncTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Feed{
		cfg:       cfg,
		wsURL:     cfg.SpotWSURL,
		limit:     venue.NewLimiter(restPerWindow, restWindow),
		dedupe:    venue.NewDedupe(dedupeKeep),
		lastKline: map[market.Symbol]int64{},
	}
	if cfg.Category == "linear" {
		f.wsURL = cfg.LinearWSURL
	}
	f.rest = &venue.REST{Name: Name, Base: cfg.RESTURL, Client: cfg.HTTPClient, Limiter: f.limit}
	f.shards = shard(syms, cfg.BookDepth)
	return f, nil
}

// shard splits the symbols so that each connection's topics stay within the venue's
// 21,000-character cap.
func shard(syms []market.Symbol, depth int) [][]market.Symbol {
	var out [][]market.Symbol
	var cur []market.Symbol
	n := 0
	for _, s := range syms {
		l := 0
		for _, t := range topicsOf(s, depth) {
			l += len(t)
		}
		if len(cur) > 0 && n+l > maxArgsChars {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, s)
		n += l
	}
	return append(out, cur)
}

// Topic names (protocol §2).
func tradeTopic(s market.Symbol) string           { return "publicTrade." + string(s) }
func bookTopic(s market.Symbol, depth int) string { return fmt.Sprintf("orderbook.%d.%s", depth, s) }
func klineTopic(s market.Symbol) string           { return "kline.1." + string(s) }

func topicsOf(s market.Symbol, depth int) [3]string {
	return [3]string{tradeTopic(s), bookTopic(s, depth), klineTopic(s)}
}

// Name is "bybit".
func (f *Feed) Name() string { return Name }

// Symbols are the configured symbols.
func (f *Feed) Symbols() []market.Symbol { return slices.Clone(f.cfg.Symbols) }

// Category is the market the feed serves: spot or linear.
func (f *Feed) Category() string { return f.cfg.Category }

// Now is the feed clock (Config.Clock, or the wall clock), unix ms.
func (f *Feed) Now() int64 {
	if f.cfg.Clock != nil {
		return f.cfg.Clock()
	}
	return time.Now().UnixMilli()
}

// VenueCandles reports that the venue's closed 1m klines are the authoritative candles.
func (f *Feed) VenueCandles() bool { return true }

// Run streams trades, books and closed 1m klines into sink until ctx is done (it returns nil
// then) or a subscription is rejected (it returns an error naming the topic and the venue's
// message). Sink may also implement market.CandleSink and market.StreamSink.
func (f *Feed) Run(ctx context.Context, sink market.Sink) error {
	em := venue.NewEmitter(Name, sink, f.cfg.Logger, f.Now)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
	)
	var wg sync.WaitGroup
	for i, syms := range f.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := venue.RunStream(ctx, f.streamConfig(i, syms, em), func() venue.Session {
				return newSession(f, em, syms)
			})
			if err != nil { // a rejected subscription (venue.Fatal): stop every connection
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}

func (f *Feed) streamConfig(i int, syms []market.Symbol, em *venue.Emitter) venue.StreamConfig {
	name := "bybit " + f.cfg.Category
	if len(f.shards) > 1 {
		name = fmt.Sprintf("%s #%d", name, i+1)
	}
	return venue.StreamConfig{
		Name:      name,
		URL:       func() string { return f.wsURL },
		Silence:   f.cfg.Silence,
		PingEvery: f.cfg.PingEvery,
		Latency:   &f.lat,
		Backoff:   f.cfg.Backoff,
		State: func(k venue.StateKind, detail string) {
			if len(f.shards) == 1 {
				em.ConnState(k, nil, nil, detail)
				return
			}
			em.ConnState(k, syms, nil, detail) // one connection of several: only its symbols
		},
	}
}

// klineFresh reports whether a closed kline with this stamp is newer than every one emitted
// for sym, and remembers it (a re-sent push is forwarded once).
func (f *Feed) klineFresh(sym market.Symbol, stamp int64) bool {
	f.kmu.Lock()
	defer f.kmu.Unlock()
	if stamp <= f.lastKline[sym] {
		return false
	}
	f.lastKline[sym] = stamp
	return true
}

// FrameLatency is how long this feed's frames took from the socket read to the end of their
// handling: decode, book, and the engine's work and bus publish, which run on the reader.
func (f *Feed) FrameLatency() venue.LatencySnapshot { return f.lat.Snapshot() }
