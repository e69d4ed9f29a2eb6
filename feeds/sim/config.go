package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Config configures the simulated exchange. The zero value of every field means its default.
type Config struct {
	Exchange     string          // exchange name stamped on every event; default "sim"
	Symbols      []market.Symbol // default BTCUSDT, ETHUSDT
	Seed         int64           // the whole simulation is a deterministic function of Seed (and Start)
	Speed        float64         // sim seconds per wall second; default 1
	TradeRate    float64         // long-run mean trades per second per symbol (varies with activity); default 5
	BookLevels   int             // levels per side of each order book; default 50
	BookInterval time.Duration   // sim time between book deltas per symbol; default 100ms
	Start        int64           // sim clock origin, unix ms; 0 = Clock.Now()
	Clock        Clock           // wall clock for pacing; default SystemClock()
}

// Defaults and limits.
const (
	DefaultExchange     = "sim"
	DefaultSpeed        = 1.0
	DefaultTradeRate    = 5.0
	DefaultBookLevels   = 50
	DefaultBookInterval = 100 * time.Millisecond

	MaxSymbols      = 256
	MaxTradeRate    = 1000.0
	MaxBookLevels   = 500
	MaxBookInterval = time.Hour
)

// DefaultSymbols are used when Config.Symbols is empty.
var DefaultSymbols = []market.Symbol{"BTCUSDT", "ETHUSDT"}

// normalize checks cfg and returns a copy with the defaults filled in. Errors name the field.
func (cfg Config) normalize() (Config, error) {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	cfg.Exchange = strings.TrimSpace(cfg.Exchange)
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}

	if len(cfg.Symbols) == 0 {
		cfg.Symbols = append([]market.Symbol(nil), DefaultSymbols...)
	} else if len(cfg.Symbols) > MaxSymbols {
		bad("Symbols: %d symbols, at most %d are allowed", len(cfg.Symbols), MaxSymbols)
	} else {
		syms := make([]market.Symbol, 0, len(cfg.Symbols))
		seen := make(map[market.Symbol]bool, len(cfg.Symbols))
		for i, s := range cfg.Symbols {
			p, err := market.ParseSymbol(string(s))
			if err != nil {
				bad("Symbols[%d]: %v", i, err)
				continue
			}
			if seen[p] {
				bad("Symbols[%d]: %s is listed twice", i, p)
				continue
			}
			seen[p] = true
			syms = append(syms, p)
		}
		cfg.Symbols = syms
	}

	switch {
	case math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) || cfg.Speed < 0:
		bad("Speed must be a positive number of sim seconds per wall second, got %v", cfg.Speed)
	case cfg.Speed == 0:
		cfg.Speed = DefaultSpeed
	}

	switch {
	case math.IsNaN(cfg.TradeRate) || math.IsInf(cfg.TradeRate, 0) || cfg.TradeRate < 0:
		bad("TradeRate must be a positive number of trades per second, got %v", cfg.TradeRate)
	case cfg.TradeRate == 0:
		cfg.TradeRate = DefaultTradeRate
	case cfg.TradeRate > MaxTradeRate:
		bad("TradeRate %v is above the maximum of %v trades per second", cfg.TradeRate, MaxTradeRate)
	}

	switch {
	case cfg.BookLevels < 0:
		bad("BookLevels must be positive, got %d", cfg.BookLevels)
	case cfg.BookLevels == 0:
		cfg.BookLevels = DefaultBookLevels
	case cfg.BookLevels > MaxBookLevels:
		bad("BookLevels %d is above the maximum of %d", cfg.BookLevels, MaxBookLevels)
	}

	switch {
	case cfg.BookInterval < 0:
		bad("BookInterval must be positive, got %v", cfg.BookInterval)
	case cfg.BookInterval == 0:
		cfg.BookInterval = DefaultBookInterval
	case cfg.BookInterval < time.Millisecond:
		bad("BookInterval %v is below the minimum of 1ms", cfg.BookInterval)
	case cfg.BookInterval > MaxBookInterval:
		bad("BookInterval %v is above the maximum of %v", cfg.BookInterval, MaxBookInterval)
	case cfg.BookInterval%time.Microsecond != 0:
		bad("BookInterval %v must be a whole number of microseconds", cfg.BookInterval)
	}

	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	switch {
	case cfg.Start < 0:
		bad("Start must be a unix time in milliseconds (or 0 for now), got %d", cfg.Start)
	case cfg.Start == 0:
		cfg.Start = cfg.Clock.Now().UnixMilli()
	case cfg.Start > maxStart:
		bad("Start %d is too far in the future (after year 2200)", cfg.Start)
	}

	if len(errs) > 0 {
		return cfg, fmt.Errorf("sim: invalid Config: %s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

// maxStart keeps microsecond arithmetic far from overflow: 2200-01-01 UTC.
const maxStart = 7258118400000
