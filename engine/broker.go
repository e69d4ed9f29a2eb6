package engine

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// Exit (and fill) reasons.
const (
	ReasonSignal     = "signal"      // a strategy's Exit, or EnterShort while long with shorts not allowed; also every entry fill
	ReasonReverse    = "reverse"     // the closing half of a reversal (EnterLong while short, EnterShort while long)
	ReasonTakeProfit = "take_profit" // the take-profit level (or a gap through it)
	ReasonStopLoss   = "stop_loss"   // the stop-loss level (or a gap through it)
	ReasonTimeout    = "timeout"     // held for Timeout
	ReasonEndOfData  = "end_of_data" // Finish
)

// Ledger scales.
const (
	MoneyScale    = 8  // decimal places of cash, notional, fees and P&L (rounded half to even)
	QuantityScale = 12 // decimal places of quantities (truncated toward zero)
)

// BrokerConfig configures a paper broker. DefaultBrokerConfig has the documented defaults; in
// NewBroker a zero Balance means 10,000 and a zero PositionSize means 1, but a zero Fee or
// SlippageBps means none.
type BrokerConfig struct {
	Balance           decimal.Decimal // starting cash, default 10000
	Fee               decimal.Decimal // fee rate per side, in [0, 1); default 0.001
	SlippageBps       float64         // adverse slippage of every fill in basis points, [0, 10000); default 0
	PositionSize      float64         // fraction of equity staked per entry, (0, 1]; default 1
	MaxPosition       float64         // most cash staked per entry (notional + fee), ≥ 0; 0 = no cap
	ScaleByConfidence bool            // stake × (low 1/3, medium 2/3, high 1) of the entry signal's confidence
	TakeProfit        float64         // fraction of the entry price, ≥ 0; 0 = off
	StopLoss          float64         // fraction of the entry price, [0, 1); 0 = off
	Timeout           time.Duration   // ≥ 0; 0 = off
	AllowShort        bool            // EnterShort opens shorts (else it only exits a long)
}

// DefaultBrokerConfig is balance 10,000, fee 0.1% per side, no slippage, the whole equity per
// entry, no TP/SL/timeout, long only.
func DefaultBrokerConfig() BrokerConfig {
	return BrokerConfig{
		Balance:      decimal.MustNew(10000, 0),
		Fee:          decimal.MustNew(1, 3),
		PositionSize: 1,
	}
}

// Validate reports every problem of the configuration at once (zero Balance and PositionSize
// are accepted: NewBroker replaces them with their defaults).
func (c BrokerConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("broker: "+format, args...)) }
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if c.Balance.IsNeg() {
		bad("balance %s must be positive", c.Balance)
	}
	if c.Fee.IsNeg() || c.Fee.Cmp(decimal.One) >= 0 {
		bad("fee rate %s must be from 0 to below 1 (0.001 is 0.1%%)", c.Fee)
	}
	if !finite(c.SlippageBps) || c.SlippageBps < 0 || c.SlippageBps >= 10000 {
		bad("slippage %v bps must be from 0 to below 10000", c.SlippageBps)
	}
	if !finite(c.PositionSize) || c.PositionSize < 0 || c.PositionSize > 1 {
		bad("position size %v must be a fraction of equity in (0, 1]", c.PositionSize)
	}
	if !finite(c.MaxPosition) || c.MaxPosition < 0 {
		bad("max position %v must be an amount of quote currency ≥ 0 (0 = no cap)", c.MaxPosition)
	}
	if !finite(c.TakeProfit) || c.TakeProfit < 0 {
		bad("take-profit %v must be a fraction of the entry price ≥ 0 (0 = off)", c.TakeProfit)
	}
	if !finite(c.StopLoss) || c.StopLoss < 0 || c.StopLoss >= 1 {
		bad("stop-loss %v must be a fraction of the entry price from 0 to below 1 (0 = off)", c.StopLoss)
	}
	if c.Timeout < 0 {
		bad("timeout %v must be ≥ 0 (0 = off)", c.Timeout)
	}
	return errors.Join(errs...)
}

// Position is the open position.
type Position struct {
	Side          strategies.Direction // strategies.Long or strategies.Short
	Quantity      decimal.Decimal
	EntryPrice    decimal.Decimal // the fill price, slippage included
	EntryNotional decimal.Decimal // round₈(Quantity × EntryPrice); a short's locked collateral
	EntryFee      decimal.Decimal
	EntryTime     int64           // unix ms: the fill candle's open time
	TakeProfit    decimal.Decimal // level; zero when off
	StopLoss      decimal.Decimal // level; zero when off
	Deadline      int64           // EntryTime + Timeout in ms; 0 when off
}

// Fill is one execution.
type Fill struct {
	Time     int64           `json:"time"` // unix ms (see Broker on fill times)
	Side     market.Side     `json:"side"` // market.Buy or market.Sell
	Price    decimal.Decimal `json:"price"`
	Quantity decimal.Decimal `json:"quantity"`
	Notional decimal.Decimal `json:"notional"` // round₈(Quantity × Price)
	Fee      decimal.Decimal `json:"fee"`
	Entry    bool            `json:"entry"`  // opens a position (false: closes one)
	Reason   string          `json:"reason"` // "signal" for entries; the exit reason for exits
}

// Trade is a closed position. JSON keys are those of `backtest --json`; decimals marshal as
// strings.
type Trade struct {
	Side       string          `json:"side"`       // "long" or "short"
	EntryTime  int64           `json:"entry_time"` // unix ms, the entry fill's time
	EntryPrice decimal.Decimal `json:"entry_price"`
	ExitTime   int64           `json:"exit_time"` // unix ms, the exit fill's time
	ExitPrice  decimal.Decimal `json:"exit_price"`
	Quantity   decimal.Decimal `json:"quantity"`
	PnL        decimal.Decimal `json:"pnl"`     // net: Realized − both fees
	PnLPct     decimal.Decimal `json:"pnl_pct"` // PnL / (entry notional + entry fee), a fraction
	Fees       decimal.Decimal `json:"fees"`    // entry fee + exit fee
	ExitReason string          `json:"exit_reason"`
	Realized   decimal.Decimal `json:"-"` // gross, fees excluded (the ledger's realized P&L)
}

// Broker is the paper broker: market orders against candles, one position at a time, a decimal ledger.
// It is driven entirely by calls (OnCandle, Decide, Finish): no goroutines, no clock of its
// own, so the same code serves backtests and live bots. A Broker is not safe for concurrent use.
//
// # Fills
//
// A decision made on a candle's close (Decide) fills at the NEXT candle's open, adversely
// slipped: a buy fills at price·(1 + bps/10⁴), a sell at price·(1 − bps/10⁴). Every fill gets
// that slippage (signal fills at the open, take-profit and stop-loss fills at their level or at
// the open, timeout and end-of-data fills at the close): the broker models market orders only.
//
// # Ledger (decimal)
//
// Prices come from float64 candles and are converted to decimal once (decimal.NewFromFloat64,
// the shortest representation). Quantities are truncated toward zero to QuantityScale (12)
// decimal places; money amounts (notional, fees, cash, P&L) are rounded half to even to
// MoneyScale (8) decimal places, and cash is only ever changed by adding such amounts with
// decimal.AddExact at that scale, so every sum is exact (an amount too large for 19 digits at 8
// decimal places is an error, never a silent rounding).
//
//   - notional = round₈(quantity × price), fee = round₈(notional × fee rate), on every side.
//   - Buying with stake S at price P: quantity = trunc₁₂(S / (P·(1 + fee rate))); the cost
//     notional + fee never exceeds S (if the two roundings push it over, the quantity is
//     recomputed from a budget reduced by twice the excess plus 2·10⁻⁸; after 3 such retries
//     the entry is skipped — never seen in practice).
//   - Stake S = equity × PositionSize (× confidence factor when ScaleByConfidence: low 1/3,
//     medium 2/3, high 1), truncated to 8 places, and at most MaxPosition when that is set. Entries happen only when flat (a reversal
//     closes first), so equity at the fill price is the cash then. A stake or quantity of zero
//     (e.g. equity ≤ 0) skips the entry.
//   - Long: open: cash −= notional + fee. Close at P₂: cash += notional₂ − fee₂.
//     Position value at a mark price m: round₈(q × m).
//   - Short (collateral model): open: cash −= notional + fee (the notional is locked as
//     collateral, the entry fee is paid). Cover at P₂: cash += 2·notional − notional₂ − fee₂
//     (collateral back plus the gain notional − notional₂). Position value at m:
//     2·notional − round₈(q × m). A short that loses more than its collateral drives cash and
//     equity negative; nothing is liquidated.
//   - Equity = cash + position value.
//   - Realized P&L of a closed position (Broker.Realized, Trade.Realized) EXCLUDES fees: long
//     notional₂ − notional, short notional − notional₂. Trade.PnL is NET of both fees:
//     Realized − entry fee − exit fee. Trade.PnLPct = PnL / (entry notional + entry fee), the
//     return on the cash the entry took.
//   - Invariant, exact: Balance + Σ Realized − Σ fees == cash when flat (Broker.Fees counts every
//     fee paid, including an open position's entry fee; with a position open, cash is short of
//     that by the position's entry notional). Equivalently Balance + Σ Trade.PnL == cash.
//
// # Actions
//
// EnterLong while short: cover, then open long, both at the same open (the cover's reason is
// "reverse"). EnterShort while long: sell, then open short when shorts are allowed (reason
// "reverse"); when they are not, just exit (reason "signal"). Exit closes whatever is open
// (reason "signal"). Entering in the direction already held does nothing. A Hold decision does
// not cancel an earlier decision still waiting for its open; a later non-Hold one replaces it.
//
// # Take-profit, stop-loss, timeout, end of data
//
// Levels are fractions of the entry (fill) price: long TP = entry·(1 + TakeProfit),
// SL = entry·(1 − StopLoss); short TP = entry·(1 − TakeProfit), SL = entry·(1 + StopLoss).
// They are checked on every candle from the fill candle on (the fill candle's high and low count
// too), after that candle's open fills. First the open: an open at or through a level (a gap)
// fills at the open. Then the range: when the low/high touches SL the position closes at the SL
// level; otherwise when it touches TP, at the TP level — so when one candle touches both, the
// stop-loss is assumed first. Then the timeout: the position closes at the close of the first
// candle whose Time (its end) is ≥ entry time + Timeout, entry time being the fill candle's open
// time (Time − tf). Finish closes what is open at the given candle's close (reason
// "end_of_data") and drops a decision still waiting for an open.
//
// Fill times: fills at an open are stamped with the candle's open time (Time − tf); fills at a
// TP/SL level inside a candle and fills at the close are stamped with the candle's Time (its
// end, the first moment the fill is known to have happened).
type Broker struct {
	cfg      BrokerConfig
	tf       int64 // ms
	size     decimal.Decimal
	slipUp   decimal.Decimal // 1 + bps/10⁴
	slipDown decimal.Decimal // 1 − bps/10⁴
	feeUp    decimal.Decimal // 1 + fee
	tpUp     decimal.Decimal // 1 + TakeProfit
	tpDown   decimal.Decimal // 1 − TakeProfit
	slUp     decimal.Decimal // 1 + StopLoss
	slDown   decimal.Decimal // 1 − StopLoss
	timeout  int64           // ms
	maxStake decimal.Decimal // MaxPosition truncated to MoneyScale; zero = no cap

	cash     decimal.Decimal
	fees     decimal.Decimal
	realized decimal.Decimal
	cashF    float64 // cash as float64, for EquityFloat

	pos    Position
	hasPos bool
	qF     float64 // pos.Quantity as float64
	notF   float64 // pos.EntryNotional as float64
	tpF    float64 // level as float64, 0 when off
	slF    float64

	pending     strategies.Action
	pendingConf strategies.Confidence

	trades   []Trade
	lastTime int64
	seen     bool
	bars     int
	exposed  int
}

// NewBroker validates cfg (zero Balance → 10,000, zero PositionSize → 1) and returns a flat
// broker for candles of timeframe tf.
func NewBroker(cfg BrokerConfig, tf market.Timeframe) (*Broker, error) {
	if cfg.Balance.IsZero() {
		cfg.Balance = decimal.MustNew(10000, 0)
	}
	if cfg.PositionSize == 0 {
		cfg.PositionSize = 1
	}
	err := cfg.Validate()
	if tf <= 0 {
		err = errors.Join(err, fmt.Errorf("broker: timeframe %v must be positive", tf))
	}
	if err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, tf: tf.Millis(), timeout: cfg.Timeout.Milliseconds(), cash: cfg.Balance}
	var errs []error
	dec := func(x float64) decimal.Decimal {
		d, err := decimal.NewFromFloat64(x)
		errs = append(errs, err)
		return d
	}
	one := decimal.One
	b.size = dec(cfg.PositionSize)
	b.maxStake = dec(cfg.MaxPosition).Trunc(MoneyScale)
	bps, e1 := dec(cfg.SlippageBps).Quo(decimal.MustNew(10000, 0))
	b.slipUp, _ = one.Add(bps)
	b.slipDown, _ = one.Sub(bps)
	b.feeUp, _ = one.Add(cfg.Fee)
	tp, sl := dec(cfg.TakeProfit), dec(cfg.StopLoss)
	b.tpUp, _ = one.Add(tp)
	b.tpDown, _ = one.Sub(tp)
	b.slUp, _ = one.Add(sl)
	b.slDown, _ = one.Sub(sl)
	errs = append(errs, e1)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("broker: config: %w", err)
	}
	b.cashF = toFloat(b.cash)
	return b, nil
}

// Config returns the effective configuration (defaults applied).
func (b *Broker) Config() BrokerConfig { return b.cfg }

// Cash is the free cash (a short's collateral is not in it).
func (b *Broker) Cash() decimal.Decimal { return b.cash }

// Fees is every fee paid so far.
func (b *Broker) Fees() decimal.Decimal { return b.fees }

// Realized is the realized P&L of the closed positions, fees excluded.
func (b *Broker) Realized() decimal.Decimal { return b.realized }

// Position returns the open position, if any.
func (b *Broker) Position() (Position, bool) { return b.pos, b.hasPos }

// Trades returns the closed positions, oldest first (the broker's own slice: do not modify).
func (b *Broker) Trades() []Trade { return b.trades }

// Pending returns the decision waiting for the next open (Hold when none).
func (b *Broker) Pending() strategies.Action { return b.pending }

// Bars is the number of candles seen by OnCandle; ExposedBars those during which a position was
// open after the candle's open fills (held through the open or entered at it; a position
// closed by a gap at the open does not count the candle).
func (b *Broker) Bars() int        { return b.bars }
func (b *Broker) ExposedBars() int { return b.exposed }

// Equity is cash plus the open position's value at mark (see Broker). The mark is
// converted to decimal as prices are; a non-finite mark values the position at its entry
// price, and a value too large for the decimal type yields the cash alone.
func (b *Broker) Equity(mark float64) decimal.Decimal {
	if !b.hasPos {
		return b.cash
	}
	m, err := decimal.NewFromFloat64(mark)
	if err != nil {
		m = b.pos.EntryPrice
	}
	v, err := b.positionValue(m)
	if err != nil {
		return b.cash
	}
	e, err := b.cash.Add(v)
	if err != nil {
		return b.cash
	}
	return e
}

// EquityFloat is Equity in float64 arithmetic, for equity curves (cheap: no decimal maths).
func (b *Broker) EquityFloat(mark float64) float64 {
	if !b.hasPos {
		return b.cashF
	}
	if b.pos.Side == strategies.Short {
		return b.cashF + 2*b.notF - b.qF*mark
	}
	return b.cashF + b.qF*mark
}

// Decide records the decision made on a candle's close; it fills at the next OnCandle's open.
// Hold leaves an earlier waiting decision alone; any other action replaces it.
func (b *Broker) Decide(sig strategies.Signal) {
	switch sig.Action {
	case strategies.EnterLong, strategies.EnterShort, strategies.Exit:
		b.pending = sig.Action
		b.pendingConf = sig.Confidence
	}
}

// OnCandle processes one closed candle: the waiting decision fills at its open, then the open
// position's take-profit, stop-loss and timeout are checked within it. Candles must come in
// ascending time order with finite, positive, consistent prices.
func (b *Broker) OnCandle(c market.Candle) ([]Fill, error) {
	if err := b.checkCandle(c); err != nil {
		return nil, err
	}
	b.seen, b.lastTime = true, c.Time
	b.bars++
	var fills []Fill
	var err error
	openT := c.Time - b.tf

	if act := b.pending; act != strategies.Hold {
		b.pending = strategies.Hold
		fills, err = b.execute(fills, act, b.pendingConf, openT, b.atPrice(c.Open))
		if err != nil {
			return fills, err
		}
	}
	if !b.hasPos {
		return fills, nil
	}

	// Gap at the open.
	long := b.pos.Side == strategies.Long
	switch {
	case b.slF > 0 && ((long && c.Open <= b.slF) || (!long && c.Open >= b.slF)):
		return b.closeAt(fills, openT, b.atPrice(c.Open), ReasonStopLoss)
	case b.tpF > 0 && ((long && c.Open >= b.tpF) || (!long && c.Open <= b.tpF)):
		return b.closeAt(fills, openT, b.atPrice(c.Open), ReasonTakeProfit)
	}
	b.exposed++

	// Within the candle: stop-loss first.
	switch {
	case b.slF > 0 && ((long && c.Low <= b.slF) || (!long && c.High >= b.slF)):
		return b.closeAt(fills, c.Time, b.atLevel(b.pos.StopLoss), ReasonStopLoss)
	case b.tpF > 0 && ((long && c.High >= b.tpF) || (!long && c.Low <= b.tpF)):
		return b.closeAt(fills, c.Time, b.atLevel(b.pos.TakeProfit), ReasonTakeProfit)
	}

	// Timeout at the close.
	if b.pos.Deadline != 0 && c.Time >= b.pos.Deadline {
		return b.closeAt(fills, c.Time, b.atPrice(c.Close), ReasonTimeout)
	}
	return fills, nil
}

// Finish closes the open position at last's close (reason "end_of_data") and drops a decision
// still waiting for an open. last is normally the last candle given to OnCandle.
func (b *Broker) Finish(last market.Candle) ([]Fill, error) {
	b.pending = strategies.Hold
	if !b.hasPos {
		return nil, nil
	}
	if !positive(last.Close) {
		return nil, fmt.Errorf("broker: end of data at %d: close %v is not a positive finite price", last.Time, last.Close)
	}
	return b.closeAt(nil, last.Time, b.atPrice(last.Close), ReasonEndOfData)
}

func positive(x float64) bool { return x > 0 && !math.IsInf(x, 1) }

func (b *Broker) checkCandle(c market.Candle) error {
	if b.seen && c.Time <= b.lastTime {
		return fmt.Errorf("broker: candle %d is not after the previous candle %d", c.Time, b.lastTime)
	}
	if !positive(c.Open) || !positive(c.High) || !positive(c.Low) || !positive(c.Close) {
		return fmt.Errorf("broker: candle %d: prices O=%v H=%v L=%v C=%v must be positive and finite", c.Time, c.Open, c.High, c.Low, c.Close)
	}
	if c.Low > c.High || c.Open > c.High || c.Open < c.Low || c.Close > c.High || c.Close < c.Low {
		return fmt.Errorf("broker: candle %d: inconsistent prices O=%v H=%v L=%v C=%v (want low ≤ open, close ≤ high)", c.Time, c.Open, c.High, c.Low, c.Close)
	}
	return nil
}

// execute carries out a decision at the open of the candle starting at t.
func (b *Broker) execute(fills []Fill, act strategies.Action, conf strategies.Confidence, t int64, px pricer) ([]Fill, error) {
	var err error
	side := strategies.Flat
	if b.hasPos {
		side = b.pos.Side
	}
	switch act {
	case strategies.Exit:
		if side != strategies.Flat {
			return b.closeAt(fills, t, px, ReasonSignal)
		}
	case strategies.EnterLong:
		switch side {
		case strategies.Short:
			if fills, err = b.closeAt(fills, t, px, ReasonReverse); err != nil {
				return fills, err
			}
			fallthrough
		case strategies.Flat:
			return b.open(fills, strategies.Long, conf, t, px)
		}
	case strategies.EnterShort:
		switch side {
		case strategies.Long:
			reason := ReasonSignal
			if b.cfg.AllowShort {
				reason = ReasonReverse
			}
			if fills, err = b.closeAt(fills, t, px, reason); err != nil {
				return fills, err
			}
			if b.cfg.AllowShort {
				return b.open(fills, strategies.Short, conf, t, px)
			}
		case strategies.Flat:
			if b.cfg.AllowShort {
				return b.open(fills, strategies.Short, conf, t, px)
			}
		}
	}
	return fills, nil
}

// slipped is the fill price of a buy (or a sell) at the raw price p.
func (b *Broker) slipped(p decimal.Decimal, buy bool) (decimal.Decimal, error) {
	if buy {
		return p.Mul(b.slipUp)
	}
	return p.Mul(b.slipDown)
}

func (b *Broker) open(fills []Fill, side strategies.Direction, conf strategies.Confidence, t int64, px pricer) ([]Fill, error) {
	fail := func(err error) ([]Fill, error) {
		return fills, fmt.Errorf("broker: open %s at %d: %w", side, t, err)
	}
	buy := side == strategies.Long
	stake, err := b.cash.Mul(b.size)
	if err != nil {
		return fail(err)
	}
	if b.cfg.ScaleByConfidence {
		k := int64(1)
		switch conf {
		case strategies.Medium:
			k = 2
		case strategies.High:
			k = 3
		}
		if k != 3 {
			if stake, err = stake.Mul(decimal.MustNew(k, 0)); err == nil {
				stake, err = stake.Quo(decimal.MustNew(3, 0))
			}
			if err != nil {
				return fail(err)
			}
		}
	}
	stake = stake.Trunc(MoneyScale)
	if b.maxStake.IsPos() && stake.Cmp(b.maxStake) > 0 {
		stake = b.maxStake
	}
	if !stake.IsPos() {
		return fills, nil
	}
	p, err := px(buy, 0, toFloat(stake))
	if err != nil {
		return fail(err)
	}
	unit, err := p.Mul(b.feeUp) // cost of one unit, fee included
	if err != nil {
		return fail(err)
	}
	var q, notional, fee, cost decimal.Decimal
	budget := stake
	for try := 0; ; try++ {
		if q, err = budget.Quo(unit); err != nil {
			return fail(err)
		}
		q = q.Trunc(QuantityScale)
		if !q.IsPos() {
			return fills, nil
		}
		if notional, fee, err = b.notionalFee(q, p); err != nil {
			return fail(err)
		}
		if cost, err = notional.AddExact(fee, MoneyScale); err != nil {
			return fail(err)
		}
		if cost.Cmp(stake) <= 0 {
			break
		}
		if try == 3 {
			return fills, nil // rounding keeps pushing the cost over the stake: skip
		}
		// The roundings pushed the cost over the stake: shrink the budget by twice the excess
		// plus two rounding units and try again.
		over, _ := cost.Sub(stake)
		over, _ = over.Mul(decimal.Two)
		over, _ = over.Add(decimal.MustNew(2, MoneyScale))
		if budget, err = budget.Sub(over); err != nil {
			return fail(err)
		}
	}
	if err := b.addCash(cost.Neg()); err != nil {
		return fail(err)
	}
	if err := b.addFee(fee); err != nil {
		return fail(err)
	}
	pos := Position{Side: side, Quantity: q, EntryPrice: p, EntryNotional: notional, EntryFee: fee, EntryTime: t}
	if b.cfg.TakeProfit > 0 {
		f := b.tpUp
		if side == strategies.Short {
			f = b.tpDown
		}
		if pos.TakeProfit, err = p.Mul(f); err != nil {
			return fail(err)
		}
	}
	if b.cfg.StopLoss > 0 {
		f := b.slDown
		if side == strategies.Short {
			f = b.slUp
		}
		if pos.StopLoss, err = p.Mul(f); err != nil {
			return fail(err)
		}
	}
	if b.timeout > 0 {
		pos.Deadline = t + b.timeout
	}
	b.pos, b.hasPos = pos, true
	b.qF, b.notF = toFloat(q), toFloat(notional)
	b.tpF, b.slF = toFloat(pos.TakeProfit), toFloat(pos.StopLoss)
	fs := market.Buy
	if side == strategies.Short {
		fs = market.Sell
	}
	return append(fills, Fill{Time: t, Side: fs, Price: p, Quantity: q, Notional: notional, Fee: fee, Entry: true, Reason: ReasonSignal}), nil
}

func (b *Broker) notionalFee(q, p decimal.Decimal) (notional, fee decimal.Decimal, err error) {
	if notional, err = q.Mul(p); err != nil {
		return
	}
	notional = notional.Round(MoneyScale)
	if fee, err = notional.Mul(b.cfg.Fee); err != nil {
		return
	}
	fee = fee.Round(MoneyScale)
	return
}

// closeAt closes the open position at the price px gives for selling (a long) or buying (a
// short) its quantity.
func (b *Broker) closeAt(fills []Fill, t int64, px pricer, reason string) ([]Fill, error) {
	pos := b.pos
	fail := func(err error) ([]Fill, error) {
		return fills, fmt.Errorf("broker: close %s at %d (%s): %w", pos.Side, t, reason, err)
	}
	long := pos.Side == strategies.Long
	p, err := px(!long, b.qF, 0)
	if err != nil {
		return fail(err)
	}
	notional, fee, err := b.notionalFee(pos.Quantity, p)
	if err != nil {
		return fail(err)
	}
	var gross, back decimal.Decimal
	if long {
		gross, err = notional.SubExact(pos.EntryNotional, MoneyScale)
		back = notional
	} else {
		gross, err = pos.EntryNotional.SubExact(notional, MoneyScale)
		if err == nil {
			back, err = pos.EntryNotional.AddExact(gross, MoneyScale)
		}
	}
	if err != nil {
		return fail(err)
	}
	in, err := back.SubExact(fee, MoneyScale)
	if err != nil {
		return fail(err)
	}
	fees, err := pos.EntryFee.AddExact(fee, MoneyScale)
	if err != nil {
		return fail(err)
	}
	pnl, err := gross.SubExact(fees, MoneyScale)
	if err != nil {
		return fail(err)
	}
	base, err := pos.EntryNotional.AddExact(pos.EntryFee, MoneyScale)
	if err != nil {
		return fail(err)
	}
	pct := decimal.Zero
	if base.IsPos() {
		if pct, err = pnl.Quo(base); err != nil {
			return fail(err)
		}
	}
	if err := b.addCash(in); err != nil {
		return fail(err)
	}
	if err := b.addFee(fee); err != nil {
		return fail(err)
	}
	if b.realized, err = b.realized.AddExact(gross, MoneyScale); err != nil {
		return fail(err)
	}
	side := "long"
	fs := market.Sell
	if !long {
		side, fs = "short", market.Buy
	}
	b.trades = append(b.trades, Trade{
		Side: side, EntryTime: pos.EntryTime, EntryPrice: pos.EntryPrice, ExitTime: t, ExitPrice: p,
		Quantity: pos.Quantity, PnL: pnl, PnLPct: pct, Fees: fees, ExitReason: reason, Realized: gross,
	})
	b.pos, b.hasPos = Position{}, false
	b.qF, b.notF, b.tpF, b.slF = 0, 0, 0, 0
	return append(fills, Fill{Time: t, Side: fs, Price: p, Quantity: pos.Quantity, Notional: notional, Fee: fee, Reason: reason}), nil
}

func (b *Broker) addCash(d decimal.Decimal) error {
	c, err := b.cash.AddExact(d, MoneyScale)
	if err != nil {
		return err
	}
	b.cash, b.cashF = c, toFloat(c)
	return nil
}

func (b *Broker) addFee(d decimal.Decimal) error {
	f, err := b.fees.AddExact(d, MoneyScale)
	if err != nil {
		return err
	}
	b.fees = f
	return nil
}

// positionValue is the open position's value at mark m (see Broker).
func (b *Broker) positionValue(m decimal.Decimal) (decimal.Decimal, error) {
	v, err := b.pos.Quantity.Mul(m)
	if err != nil {
		return decimal.Decimal{}, err
	}
	v = v.Round(MoneyScale)
	if b.pos.Side == strategies.Short {
		twice, err := b.pos.EntryNotional.Mul(decimal.Two)
		if err != nil {
			return decimal.Decimal{}, err
		}
		return twice.Sub(v)
	}
	return v, nil
}

func toFloat(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return f
}
