package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// BotStatus is a bot's stored status (storage.BotStatus).
type BotStatus = storage.BotStatus

// The stored bot states.
const (
	BotStopped = storage.BotStopped
	BotRunning = storage.BotRunning
	BotPaused  = storage.BotPaused
	BotFailed  = storage.BotFailed
)

// How a bot's decisions fill (BotSpec.Fills).
const (
	// FillBook fills a decision at once, at the live best bid/ask walked through the book for
	// the order's quantity (no slippage added: the walk is the slippage); without a book it
	// falls back to FillNextOpen.
	FillBook = "book"
	// FillNextOpen fills a decision at the next candle's open ± slippage, exactly as a backtest.
	FillNextOpen = "next_open"
)

// ParamText holds strategy parameters as text (as --param k=v). It decodes from a JSON object
// whose values are strings, numbers or booleans, so config.yaml can write `fast: 10`.
type ParamText map[string]string

// UnmarshalJSON accepts string, number and boolean values.
func (p *ParamText) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("params: want an object of name: value, got %s", bytes.TrimSpace(b))
	}
	out := make(ParamText, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		var s string
		switch {
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("params.%s: %w", k, err)
			}
		case string(v) == "true":
			s = "1"
		case string(v) == "false":
			s = "0"
		default:
			if _, err := strconv.ParseFloat(string(v), 64); err != nil {
				return fmt.Errorf("params.%s: %s is not a number", k, v)
			}
			s = string(v)
		}
		out[k] = s
	}
	*p = out
	return nil
}

// BotSpec defines a bot: what it trades and how. It is the JSON of a file in bots_dir, of an
// entry of `bots:` in config.yaml, and of the bots table's spec column. Zero values take the
// defaults noted.
type BotSpec struct {
	Name      string    `json:"name"` // unique; letters, digits, - _ .
	Strategy  string    `json:"strategy"`
	Params    ParamText `json:"params,omitempty"`   // defaults fill the rest
	Exchange  string    `json:"exchange,omitempty"` // default: the console's exchange
	Symbol    string    `json:"symbol"`
	Timeframe string    `json:"timeframe"`       // "1m", "5m", …: one the console builds
	Fills     string    `json:"fills,omitempty"` // "book" (default) or "next_open"
	// MaxDrawdown stops the bot (flattening it) when its equity falls this fraction below its
	// peak; 0 = off.
	MaxDrawdown float64 `json:"max_drawdown,omitempty"`
	JobBroker           // balance, fee, slippage_bps, position_size, max_position, take_profit, stop_loss, timeout, allow_short
}

// ParseBotSpec decodes and checks one bot definition; unknown fields are errors.
func ParseBotSpec(data []byte) (BotSpec, error) { return parseBotSpec(data, nil) }

func parseBotSpec(data []byte, reg *strategies.Registry) (BotSpec, error) {
	var s BotSpec
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return BotSpec{}, fmt.Errorf("bot: %w", err)
	}
	if _, err := s.PlanWith(reg); err != nil {
		return BotSpec{}, err
	}
	return s, nil
}

// BotPlan is a checked BotSpec.
type BotPlan struct {
	Spec     BotSpec
	Strategy strategies.Strategy
	Values   strategies.Values
	TF       market.Timeframe
	Broker   BrokerConfig
}

// Plan checks the spec against the built-in strategies and reports every problem at once,
// each naming its field.
func (s BotSpec) Plan() (BotPlan, error) { return s.PlanWith(nil) }

// PlanWith is Plan with strategies from reg (nil: strategies.Builtin()).
func (s BotSpec) PlanWith(reg *strategies.Registry) (BotPlan, error) {
	if reg == nil {
		reg = strategies.Builtin()
	}
	pl := BotPlan{Spec: s}
	var errs []error
	if err := checkBotName(s.Name); err != nil {
		errs = append(errs, err)
	}
	if s.Symbol == "" {
		errs = append(errs, errors.New("symbol: missing"))
	} else if s.Symbol != strings.ToUpper(s.Symbol) || strings.ContainsAny(s.Symbol, "-_/ ") {
		errs = append(errs, fmt.Errorf("symbol %q: write it upper case without a separator (BTCUSDT)", s.Symbol))
	}
	tf, err := market.ParseTimeframe(s.Timeframe)
	if err != nil {
		errs = append(errs, fmt.Errorf("timeframe: %w", err))
	}
	pl.TF = tf
	switch s.Fills {
	case "", FillBook, FillNextOpen:
	default:
		errs = append(errs, fmt.Errorf("fills %q: want %q or %q", s.Fills, FillBook, FillNextOpen))
	}
	if s.MaxDrawdown < 0 || s.MaxDrawdown >= 1 || s.MaxDrawdown != s.MaxDrawdown {
		errs = append(errs, fmt.Errorf("max_drawdown %v: want a fraction from 0 (off) to below 1", s.MaxDrawdown))
	}
	if pl.Broker, err = s.JobBroker.Config(); err != nil {
		errs = append(errs, err)
	}
	if pl.Strategy, err = reg.Get(s.Strategy); err != nil {
		errs = append(errs, err)
	} else if pl.Values, err = strategies.Resolve(pl.Strategy, s.Params); err != nil {
		errs = append(errs, err)
	} else if inst, err := pl.Strategy.New(pl.Values); err != nil {
		errs = append(errs, err)
	} else {
		pl.Broker.AllowShort = pl.Broker.AllowShort || inst.AllowsShort()
	}
	if err := errors.Join(errs...); err != nil {
		name := s.Name
		if name == "" {
			name = "(unnamed)"
		}
		return BotPlan{}, fmt.Errorf("bot %s: %w", name, err)
	}
	return pl, nil
}

// FillMode is the effective fill mode (FillBook when unset).
func (s BotSpec) FillMode() string {
	if s.Fills == "" {
		return FillBook
	}
	return s.Fills
}

func checkBotName(n string) error {
	if n == "" {
		return errors.New("name: missing")
	}
	if len(n) > 40 {
		return fmt.Errorf("name %q: at most 40 characters", n)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("name %q: use letters, digits, - _ and . only", n)
		}
	}
	return nil
}

// BotView is one bot as the console shows it.
type BotView struct {
	ID     int64
	Spec   BotSpec
	Source string    // config | file | console
	Status BotStatus // stored status: stopped | running | paused | failed
	// Worker is the supervisor's state while the bot runs here (starting, running, stalled,
	// restarting); empty when it does not run in this process.
	Worker    WorkerState
	Reason    string    // why it failed or was stopped (risk, panic key, …); empty otherwise
	Restarts  int       // restarts in this process
	StartedAt time.Time // zero when not running
	Heartbeat time.Time // last heartbeat (wall clock); zero when none
	Balance   float64   // starting cash
	Equity    float64   // at the last mark
	PnL       float64   // Equity − Balance
	Realized  float64   // gross realized P&L of closed trades
	Fees      float64
	Cash      float64
	Position  *PositionView // nil when flat
	Trades    int           // closed trades
	Wins      int           // closed trades with PnL > 0
	ClosedPnL float64       // Σ net P&L (fees included) of the closed trades
}

// Running reports whether the bot is started (running or paused).
func (v BotView) Running() bool { return v.Status == BotRunning || v.Status == BotPaused }

// PositionView is one open position with its live mark.
type PositionView struct {
	BotID      int64
	Bot        string
	Exchange   string
	Symbol     market.Symbol
	Side       string // long | short
	Quantity   float64
	EntryPrice float64
	EntryTime  time.Time
	Mark       float64 // live mark price (mid of the book, else the last trade or close)
	Unrealized float64 // P&L at Mark, entry fee and an estimated exit fee included
	TakeProfit float64 // level; 0 off
	StopLoss   float64 // level; 0 off
}

// BotSignalView is one recorded signal of a bot.
type BotSignalView struct {
	Time       time.Time
	Action     string // enter_long | enter_short | exit
	Direction  string
	Confidence string
	Value      float64
	Note       string // e.g. "paused: entry skipped", "risk: max open positions"
}

// BotFillView is one recorded execution of a bot.
type BotFillView struct {
	Seq      int64
	Time     time.Time
	Side     string // buy | sell
	Price    float64
	Quantity float64
	Fee      float64
	Entry    bool
	Reason   string  // signal | reverse | take_profit | stop_loss | timeout | stop | panic | drawdown
	PnL      float64 // net P&L of the closed trade, on exits
}

// ClosedTradeView is a closed position of a bot.
type ClosedTradeView struct {
	Bot        string
	Symbol     market.Symbol
	Side       string
	EntryTime  time.Time
	EntryPrice float64
	ExitTime   time.Time
	ExitPrice  float64
	Quantity   float64
	PnL        float64 // net of both fees
	Fees       float64
	Reason     string
}

// EquityPoint is one point of an equity curve.
type EquityPoint struct {
	Time   time.Time
	Equity float64
}

// BotDetail is what the bot detail view shows.
type BotDetail struct {
	Bot     BotView
	Candles []market.Candle // the bot's series, oldest first
	// Plots names the strategy's indicator lines; PlotValues[i][j] is line i at Candles[j]
	// (NaN while warming up).
	Plots      []string
	PlotValues [][]float64
	Signals    []BotSignalView // newest first
	Fills      []BotFillView   // newest first
	Trades     []ClosedTradeView
	Equity     []EquityPoint
}

// Portfolio is the Positions & P&L tab: every bot's book together.
type Portfolio struct {
	Positions  []PositionView
	Closed     []ClosedTradeView // newest first
	Realized   float64           // Σ net P&L of closed trades
	Unrealized float64
	Fees       float64
	Wins       int
	Losses     int
	Equity     []EquityPoint            // the whole book (sum over bots)
	PerBot     map[string][]EquityPoint // by bot name
}

// WinRate is wins over closed trades (0 without any).
func (p Portfolio) WinRate() float64 {
	if n := p.Wins + p.Losses; n > 0 {
		return float64(p.Wins) / float64(n)
	}
	return 0
}

// PanicPreview is what the panic key would do.
type PanicPreview struct {
	Bots      []BotView      // bots it stops (running or paused)
	Positions []PositionView // positions it flattens, at their marks
}

// PanicReport is what the panic key did.
type PanicReport struct {
	Stopped   int
	Flattened int
	Errors    []string
}

// BotEvent reports a change of a bot: status, worker state, a step with fills or signals, a
// heartbeat. The UI re-reads what it shows.
type BotEvent struct{ Bot BotView }

func (BotEvent) isEvent() {}

// sortBotViews orders by name.
func sortBotViews(vs []BotView) {
	slices.SortFunc(vs, func(a, b BotView) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
}
