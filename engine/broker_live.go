package engine

import (
	"errors"
	"fmt"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// The broker's live side: fills at a quote (the book, or a last price) instead of a candle's
// open, and the ledger state a bot stores and restores. Everything else — stake, quantity,
// fees, ledger, TP/SL/timeout on later candles — is the one Broker of backtests.

// pricer gives the fill price of a buy (or a sell): of qty units when closing, of a stake of
// cash (fee included) when opening. Exactly one of qty and cash is non-zero.
type pricer func(buy bool, qty, cash float64) (decimal.Decimal, error)

// atPrice fills at a raw float price (an open, a close) with the broker's slippage.
func (b *Broker) atPrice(raw float64) pricer {
	return func(buy bool, _, _ float64) (decimal.Decimal, error) {
		p, err := decimal.NewFromFloat64(raw)
		if err != nil {
			return p, err
		}
		return b.slipped(p, buy)
	}
}

// atLevel fills at a decimal level (take-profit, stop-loss) with the broker's slippage.
func (b *Broker) atLevel(level decimal.Decimal) pricer {
	return func(buy bool, _, _ float64) (decimal.Decimal, error) { return b.slipped(level, buy) }
}

// Quote is the market at one moment, for fills outside a candle: a decision filled at once, a
// bot stopped, the panic key.
type Quote struct {
	// Bids and Asks are the book, best first. A buy walks the asks, a sell the bids, for its
	// quantity (or, when opening, its stake): the fill price is the volume-weighted average of
	// the levels taken, with no slippage added (walking the book is the slippage). A quantity
	// beyond the whole side takes the rest at the side's last level.
	Bids, Asks []market.Level
	// Last is used, with the broker's slippage, when the side to walk is empty.
	Last float64
}

// ErrNoQuote is returned when a quote has neither levels on the side needed nor a last price.
var ErrNoQuote = errors.New("no price: the book side is empty and there is no last price")

func (b *Broker) atQuote(q Quote) pricer {
	fee := toFloat(b.cfg.Fee)
	return func(buy bool, qty, cash float64) (decimal.Decimal, error) {
		levels := q.Bids
		if buy {
			levels = q.Asks
		}
		if vwap, ok := WalkBook(levels, qty, cash/(1+fee)); ok {
			return decimal.NewFromFloat64(vwap)
		}
		if positive(q.Last) {
			return b.atPrice(q.Last)(buy, qty, cash)
		}
		return decimal.Decimal{}, ErrNoQuote
	}
}

// WalkBook is the average price of taking qty units (or, when qty is 0, of spending notional)
// from levels, best first. Levels with a non-positive or non-finite price or size are skipped;
// what the levels cannot fill is priced at the last valid level. ok is false when no level is
// valid or nothing is asked.
func WalkBook(levels []market.Level, qty, notional float64) (price float64, ok bool) {
	var got, spent, last float64
	for _, l := range levels {
		if !positive(l.Price) || !positive(l.Size) {
			continue
		}
		last = l.Price
		take := l.Size
		switch {
		case qty > 0:
			take = min(take, qty-got)
		case notional > 0:
			take = min(take, (notional-spent)/l.Price)
		default:
			return 0, false
		}
		if got == 0 && ((qty > 0 && take >= qty) || (qty <= 0 && take*l.Price >= notional*(1-1e-12))) {
			return l.Price, true // the best level fills it all: its price, exactly
		}
		got += take
		spent += take * l.Price
		if (qty > 0 && got >= qty) || (qty <= 0 && spent >= notional*(1-1e-12)) {
			return spent / got, true
		}
	}
	if last == 0 {
		return 0, false
	}
	// The book is too thin: the rest at its last level.
	if qty > 0 {
		spent += (qty - got) * last
		got = qty
	} else {
		rest := notional - spent
		spent += rest
		got += rest / last
	}
	return spent / got, true
}

// ExecuteNow carries out the decision waiting for the next open at once, at time t, at the
// prices q gives (see Quote). It does nothing without a waiting decision. On an error the
// decision stays waiting.
func (b *Broker) ExecuteNow(t int64, q Quote) ([]Fill, error) {
	act, conf := b.pending, b.pendingConf
	if act == strategies.Hold {
		return nil, nil
	}
	fills, err := b.execute(nil, act, conf, t, b.atQuote(q))
	if err != nil {
		return fills, err
	}
	b.pending = strategies.Hold
	return fills, nil
}

// Flatten closes the open position at once, at time t, at the price q gives, with the reason
// given (a bot's stop, the panic key, its drawdown limit), and drops a waiting decision.
func (b *Broker) Flatten(t int64, q Quote, reason string) ([]Fill, error) {
	b.pending = strategies.Hold
	if !b.hasPos {
		return nil, nil
	}
	return b.closeAt(nil, t, b.atQuote(q), reason)
}

// BrokerState is the ledger a bot stores after every step and restores at a restart:
// everything Broker carries from one candle to the next except the closed trades' list.
type BrokerState struct {
	Cash        decimal.Decimal       `json:"cash"`
	Fees        decimal.Decimal       `json:"fees"`
	Realized    decimal.Decimal       `json:"realized"`
	Position    *Position             `json:"position,omitempty"`
	Pending     strategies.Action     `json:"pending,omitempty"`
	PendingConf strategies.Confidence `json:"pending_conf,omitempty"`
	LastTime    int64                 `json:"last_time,omitempty"` // the last candle given to OnCandle
	Bars        int                   `json:"bars,omitempty"`
	Exposed     int                   `json:"exposed,omitempty"`
}

// State returns the ledger for storing.
func (b *Broker) State() BrokerState {
	s := BrokerState{Cash: b.cash, Fees: b.fees, Realized: b.realized, Pending: b.pending, PendingConf: b.pendingConf,
		Bars: b.bars, Exposed: b.exposed}
	if b.seen {
		s.LastTime = b.lastTime
	}
	if b.hasPos {
		p := b.pos
		s.Position = &p
	}
	return s
}

// Restore replaces the ledger of a broker (normally a new one, with the same configuration)
// with a stored state. Its closed trades' list starts empty.
func (b *Broker) Restore(s BrokerState) error {
	if p := s.Position; p != nil {
		if p.Side != strategies.Long && p.Side != strategies.Short {
			return fmt.Errorf("broker: restore: position side %v is not long or short", p.Side)
		}
		if !p.Quantity.IsPos() || !p.EntryPrice.IsPos() {
			return fmt.Errorf("broker: restore: position quantity %s at %s must be positive", p.Quantity, p.EntryPrice)
		}
	}
	switch s.Pending {
	case strategies.Hold, strategies.EnterLong, strategies.EnterShort, strategies.Exit:
	default:
		return fmt.Errorf("broker: restore: pending action %d is unknown", s.Pending)
	}
	b.cash, b.fees, b.realized = s.Cash, s.Fees, s.Realized
	b.cashF = toFloat(b.cash)
	b.pending, b.pendingConf = s.Pending, s.PendingConf
	b.seen, b.lastTime = s.LastTime != 0, s.LastTime
	b.bars, b.exposed = s.Bars, s.Exposed
	b.trades = nil
	b.pos, b.hasPos = Position{}, false
	b.qF, b.notF, b.tpF, b.slF = 0, 0, 0, 0
	if p := s.Position; p != nil {
		b.pos, b.hasPos = *p, true
		b.qF, b.notF = toFloat(p.Quantity), toFloat(p.EntryNotional)
		b.tpF, b.slF = toFloat(p.TakeProfit), toFloat(p.StopLoss)
	}
	return nil
}
