// Package market is the shared vocabulary of tradeconsole and its pure market maths:
// symbols, sides, trades, candles, timeframes, book levels and the candle aggregator.
// It imports nothing of ours.
//
// Every timestamp in this package is unix milliseconds UTC.
package market

import (
	"fmt"
	"strings"
)

// Symbol is an instrument written the one way config writes it: upper case, no separator
// (BTCUSDT). Venue adapters map it to their own spelling.
type Symbol string

// ParseSymbol normalises and checks a symbol as written in config or on the command line.
func ParseSymbol(s string) (Symbol, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", fmt.Errorf("symbol is empty")
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return "", fmt.Errorf("symbol %q: only letters and digits are allowed (write BTCUSDT, not BTC-USDT)", s)
		}
	}
	return Symbol(s), nil
}

func (s Symbol) String() string { return string(s) }

// Side is the taker side of a trade.
type Side int8

const (
	SideUnknown Side = 0
	Buy         Side = 1
	Sell        Side = -1
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "unknown"
}

// ParseSide accepts buy/sell in any case (also b/s).
func ParseSide(s string) (Side, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "buy", "b", "bid":
		return Buy, nil
	case "sell", "s", "ask":
		return Sell, nil
	}
	return SideUnknown, fmt.Errorf("side %q: want buy or sell", s)
}

// Trade is one execution on a venue. Side is the taker (aggressor) side.
type Trade struct {
	Exchange string
	Symbol   Symbol
	ID       string // venue trade id; unique per exchange+symbol
	Time     int64  // unix ms UTC
	Price    float64
	Size     float64
	Side     Side
}

// Candle is an OHLCV bar. Time is the right-aligned stamp: the candle stamped T covers
// trades with time in [T − tf, T).
type Candle struct {
	Exchange  string
	Symbol    Symbol
	Timeframe Timeframe
	Time      int64 // end of the interval (exclusive), unix ms UTC
	Open      float64
	High      float64
	Low       float64
	Close     float64
	Volume    float64
	Trades    int64
}

// Start is the first millisecond the candle covers.
func (c Candle) Start() int64 { return c.Time - c.Timeframe.Millis() }

// Flat reports whether the candle is a gap filler (no trades in its interval). Venue klines
// without a trade count (Bybit, OKX) have Trades 0 but a volume: they are not flat.
func (c Candle) Flat() bool { return c.Trades == 0 && c.Volume == 0 }

// Level is one price level of an L2 book. Size 0 in a delta deletes the level.
type Level struct {
	Price float64
	Size  float64
}

// BookUpdate is an L2 book message as a feed normalises it: a full snapshot, or a delta
// whose levels replace (size > 0) or delete (size == 0) the levels at their prices.
// Bids are sorted best (highest) first, asks best (lowest) first.
type BookUpdate struct {
	Exchange string
	Symbol   Symbol
	Time     int64 // unix ms UTC
	Seq      int64 // venue sequence number, 0 when the venue has none
	Snapshot bool
	Bids     []Level
	Asks     []Level
}

// Sink receives what a feed produces, already normalised. A feed calls it from its own
// goroutine(s); implementations must be fast and must not block (the engine's collector is one).
type Sink interface {
	OnTrade(Trade)
	OnBook(BookUpdate)
}
