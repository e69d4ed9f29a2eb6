package tui

import (
	"context"
	"time"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// Backend is everything the console needs from the running engine. *engine.Engine implements
// it; tests use a fake. The UI never talks to storage or feeds directly.
type Backend interface {
	// Subscribe streams engine events until ctx is done. Slow readers lose events rather than
	// block the engine, so panes treat events as updates to state they can also re-read.
	Subscribe(ctx context.Context) <-chan engine.Event

	Exchange() string
	Symbols() []market.Symbol
	Timeframes() []market.Timeframe

	// Candles returns up to limit of the newest candles of a series, oldest first; the last one
	// may be the still-open candle (it has the largest Time).
	Candles(ctx context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error)
	// RecentTrades returns up to n of the newest trades of a symbol, oldest first.
	RecentTrades(sym market.Symbol, n int) []market.Trade
	// Health is the current health of every stream.
	Health() []engine.StreamHealth
	// Logs returns up to n of the newest engine log entries, oldest first.
	Logs(n int) []engine.LogEntry

	// Pausable reports whether the feed can be paused (the simulated exchange can).
	Pausable() bool
	SetPaused(bool)
	Paused() bool

	// Now is the engine clock (the simulated clock on the sim exchange).
	Now() time.Time
}
