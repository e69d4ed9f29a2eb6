// Package binance is the Binance spot market-data adapter: trades, the L2 book (the depth
// diff stream kept in sync with REST snapshots, per Binance's "manage a local order book"
// procedure) and closed 1m klines over one or more combined-stream WebSocket connections,
// plus REST history (klines) and instrument rules.
//
// Wire notes are in ../shared/protocols/binance.md. The adapter subscribes with the SUBSCRIBE
// method on the combined endpoint (/stream), so every payload arrives wrapped in
// {"stream","data"} and every subscription is acknowledged ({"result":null,"id":N}) or
// refused ({"error":{"code","msg"},"id":N}); raw /ws frames are understood too.
package binance

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// Name is the exchange name the feed stamps on everything it emits.
const Name = "binance"

// Mainnet endpoints.
const (
	DefaultWSURL   = "wss://stream.binance.com:9443/stream"
	DefaultRESTURL = "https://api.binance.com"
)

// Config configures a Feed. Zero values take the defaults noted.
type Config struct {
	// Symbols as config writes them (BTCUSDT); Binance spells them the same in REST and
	// payloads, lower case in stream names.
	Symbols []market.Symbol

	// WSURL is the combined-stream endpoint; default wss://stream.binance.com:9443/stream
	// (also :443, or the market-data-only wss://data-stream.binance.vision/stream).
	// Spot testnet: wss://stream.testnet.binance.vision/stream.
	WSURL string
	// RESTURL is the REST base; default https://api.binance.com (also api1–api4,
	// https://data-api.binance.vision). Spot testnet: https://testnet.binance.vision.
	RESTURL string

	// BookDepth is the REST depth snapshot's limit (levels a side) that seeds the book kept
	// from <symbol>@depth@100ms; default 1000, at most 5000.
	BookDepth int
	// AggTrades subscribes <symbol>@aggTrade (one trade per taker order and price) instead of
	// <symbol>@trade (every fill).
	AggTrades bool

	// Clock is the feed clock in unix ms (nil: the wall clock). Tests pass the fake venue's.
	Clock func() int64
	// Logger receives the feed's logs; nil discards them.
	Logger *slog.Logger
	// Backoff between reconnects; zero takes venue.DefaultBackoff.
	Backoff venue.Backoff
	// Silence: a connection that delivers no frame for this long is replaced (the watchdog);
	// default 60s (kline streams push every 2s, so a live connection is never that quiet).
	Silence time.Duration
	// PingEvery: the server pings (every 20s) and the client's pongs answer it, so no
	// client-side ping is needed (0, the default). A positive value sends LIST_SUBSCRIPTIONS
	// after that much quiet, an application-level keep-alive that also feeds the watchdog.
	PingEvery time.Duration
	// Lifetime: Binance closes every connection at 24h; a connection is replaced without a
	// gap after this long. Default 23h50m.
	Lifetime time.Duration
	// SendRate caps client messages per second on a connection (Binance disconnects above 5);
	// default 4.
	SendRate float64
	// ReadyWait bounds how long a replacement connection (handover) waits for its books to
	// sync before it takes over anyway; default 10s.
	ReadyWait time.Duration
	// HTTPClient for REST; nil: a client with a 20s timeout.
	HTTPClient *http.Client
	// RESTWeight is the REST request weight spent in any minute at most (Binance allows 6000
	// per IP); default 5000. Depth snapshots weigh 5/25/50/250 for up to 100/500/1000/5000
	// levels, kline pages 2, exchangeInfo 20: with many symbols, a smaller BookDepth syncs
	// books sooner.
	RESTWeight int
	// KlineLimit is the rows asked per kline page; default 1000, the venue's maximum.
	KlineLimit int
	// MaxStreams is the number of streams per connection (Binance allows 1024); three per
	// symbol, so more symbols open more connections. Default 1024.
	MaxStreams int
}

// normalize validates cfg and fills its defaults; errors name the field.
func (cfg Config) normalize() (Config, error) {
	var errs []error
	if len(cfg.Symbols) == 0 {
		errs = append(errs, errors.New("binance: Symbols: at least one symbol is required"))
	}
	seen := map[market.Symbol]bool{}
	for i, s := range cfg.Symbols {
		p, err := market.ParseSymbol(string(s))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("binance: Symbols[%d]: %w", i, err))
		case p != s:
			errs = append(errs, fmt.Errorf("binance: Symbols[%d]: %q must be written %q", i, s, p))
		case seen[s]:
			errs = append(errs, fmt.Errorf("binance: Symbols[%d]: %s is listed twice", i, s))
		}
		seen[s] = true
	}
	if cfg.WSURL == "" {
		cfg.WSURL = DefaultWSURL
	}
	if err := checkURL(cfg.WSURL, "ws", "wss"); err != nil {
		errs = append(errs, fmt.Errorf("binance: WSURL: %w", err))
	}
	if cfg.RESTURL == "" {
		cfg.RESTURL = DefaultRESTURL
	}
	if err := checkURL(cfg.RESTURL, "http", "https"); err != nil {
		errs = append(errs, fmt.Errorf("binance: RESTURL: %w", err))
	}
	if cfg.BookDepth == 0 {
		cfg.BookDepth = 1000
	}
	if cfg.BookDepth < 1 || cfg.BookDepth > 5000 {
		errs = append(errs, fmt.Errorf("binance: BookDepth: %d is outside 1…5000", cfg.BookDepth))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Silence", &cfg.Silence, 60 * time.Second},
		{"PingEvery", &cfg.PingEvery, 0},
		{"Lifetime", &cfg.Lifetime, 23*time.Hour + 50*time.Minute},
		{"ReadyWait", &cfg.ReadyWait, 10 * time.Second},
	} {
		if *d.v < 0 {
			errs = append(errs, fmt.Errorf("binance: %s: %s is negative", d.name, *d.v))
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Backoff.Min < 0 || cfg.Backoff.Max < 0 {
		errs = append(errs, fmt.Errorf("binance: Backoff: negative durations (%s, %s)", cfg.Backoff.Min, cfg.Backoff.Max))
	}
	if cfg.SendRate == 0 {
		cfg.SendRate = 4
	}
	if cfg.SendRate < 0 || cfg.SendRate > 5 {
		errs = append(errs, fmt.Errorf("binance: SendRate: %g is outside (0, 5] messages per second", cfg.SendRate))
	}
	if cfg.RESTWeight == 0 {
		cfg.RESTWeight = 5000
	}
	if cfg.RESTWeight < 0 {
		errs = append(errs, fmt.Errorf("binance: RESTWeight: %d is negative", cfg.RESTWeight))
	}
	if cfg.KlineLimit == 0 {
		cfg.KlineLimit = 1000
	}
	if cfg.KlineLimit < 1 || cfg.KlineLimit > 1000 {
		errs = append(errs, fmt.Errorf("binance: KlineLimit: %d is outside 1…1000", cfg.KlineLimit))
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = 1024
	}
	if cfg.MaxStreams < 3 || cfg.MaxStreams > 1024 {
		errs = append(errs, fmt.Errorf("binance: MaxStreams: %d is outside 3…1024", cfg.MaxStreams))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	return cfg, errors.Join(errs...)
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	for _, sc := range schemes {
		if u.Scheme == sc && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%q is not a %s:// or %s:// URL", s, schemes[0], schemes[1])
}
