package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/feeds/binance"
	"github.com/tradeconsole/tradeconsole/feeds/bybit"
	"github.com/tradeconsole/tradeconsole/feeds/okx"
	"github.com/tradeconsole/tradeconsole/feeds/venue"
)

// venueFeed is what main needs of a real exchange's feed: the engine's Feed, with REST history.
type venueFeed interface {
	engine.Feed
	venue.Historian
	FrameLatency() venue.LatencySnapshot
}

// openVenue builds the feed of a real exchange from its config section.
func openVenue(cfg *config.Config, exchange string) (venueFeed, error) {
	switch exchange {
	case "bybit":
		c := bybit.Config{Symbols: cfg.Symbols, Category: cfg.Bybit.Category, RESTURL: cfg.Bybit.RESTURL, BookDepth: cfg.Bybit.BookDepth}
		if cfg.Bybit.WSURL != "" {
			c.SpotWSURL, c.LinearWSURL = cfg.Bybit.WSURL, cfg.Bybit.WSURL
		}
		return bybit.New(c)
	case "okx":
		c := okx.Config{Symbols: cfg.Symbols, InstType: strings.ToUpper(cfg.OKX.InstType), PublicURL: cfg.OKX.PublicWSURL,
			BusinessURL: cfg.OKX.BusinessWSURL, RESTURL: cfg.OKX.RESTURL}
		if cfg.OKX.Simulated {
			c.Header = http.Header{"X-Simulated-Trading": {"1"}}
		}
		return okx.New(c)
	case "binance":
		return binance.New(binance.Config{Symbols: cfg.Symbols, WSURL: cfg.Binance.WSURL, RESTURL: cfg.Binance.RESTURL})
	}
	return nil, fmt.Errorf("exchange %q has no REST history: use one of %s", exchange, strings.Join(config.Venues, ", "))
}

// newHistorian opens a venue's REST history (fetch, data_sync jobs).
func newHistorian(cfg *config.Config, exchange string) (venue.Historian, error) {
	return openVenue(cfg, exchange)
}
