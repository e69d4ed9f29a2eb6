package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// The bot form of the Bots pane (n: a new bot, e: a stopped bot's definition). It is the
// new-job form (jobs_form.go) with the fields of an engine.BotSpec: name, strategy, symbol,
// timeframe, fills, the paper broker's settings, max drawdown, then the strategy's parameters
// (rebuilt with their defaults when the strategy changes). Submitting builds the BotSpec —
// exchange: the console's; parameters: those whose text differs from the default, as typed —
// and the pane saves it with CreateBot / UpdateBot in a command. In edit mode the name is
// fixed (it is the bot's identity) and the fields start from the stored definition.

// The bot form's field keys (after the job forms').
const (
	fName fieldKey = fDepth + 1 + iota
	fFills
	fBalance
	fPosSize
	fMaxPos
	fTakeProfit
	fStopLoss
	fTimeout
	fAllowShort
	fMaxDD
)

// newBotForm opens the bot form: a new bot with every default (nil spec), or spec to edit.
func newBotForm(c *Common, spec *engine.BotSpec) *jobForm {
	f := &jobForm{c: c, bot: true, editing: spec, strats: c.Backend.Strategies()}
	if spec != nil {
		for i, s := range f.strats {
			if s.Name() == spec.Strategy {
				f.si = i
			}
		}
	}
	f.build(nil)
	return f
}

// fmtFormFloat writes a float field's value in its shortest text.
func fmtFormFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// choiceWith returns the choices with v added when missing, and v's index (def when v is "").
func choiceWith(choices []string, v string, def int) ([]string, int) {
	if v == "" {
		return choices, def
	}
	for i, c := range choices {
		if c == v {
			return choices, i
		}
	}
	return append(choices, v), len(choices)
}

// buildBot lays out the bot form's fields; those other than the parameters keep their values
// from old (nil: a new form, from the definition edited or the defaults).
func (f *jobForm) buildBot(old []*formField) {
	b := f.c.Backend
	keep := map[fieldKey]*formField{}
	for _, fl := range old {
		if fl.key != fParam {
			fl.bad = false
			keep[fl.key] = fl
		}
	}
	spec := engine.BotSpec{Fills: engine.FillBook, JobBroker: engine.JobBroker{Balance: "10000", Fee: "0.001", PositionSize: 1}}
	if f.editing != nil {
		spec = *f.editing
	}
	f.fields = f.fields[:0]
	add := func(fl *formField) {
		fl.row = len(f.fields)
		f.fields = append(f.fields, fl)
	}
	get := func(k fieldKey, mk func() *formField) {
		if fl, ok := keep[k]; ok {
			add(fl)
			return
		}
		add(mk())
	}
	text := func(k fieldKey, label, value, placeholder, hint string) {
		get(k, func() *formField {
			return &formField{key: k, label: label, text: true, in: f.newInput(value, placeholder), hint: hint}
		})
	}

	if f.editing == nil {
		get(fName, func() *formField {
			in := f.newInput("", "e.g. btc-sma")
			in.limit = 40
			return &formField{key: fName, label: "name", text: true, in: in,
				hint: "unique; letters, digits, - _ . (it cannot change later)"}
		})
	}
	names := make([]string, len(f.strats))
	for i, s := range f.strats {
		names[i] = s.Name()
	}
	sf := keep[fStrategy]
	if sf == nil {
		sf = &formField{key: fStrategy, label: "strategy", choices: names}
	}
	sf.ci = f.si
	if s := f.strategy(); s != nil {
		sf.hint = s.Describe()
	}
	add(sf)

	syms := make([]string, 0, len(b.Symbols()))
	for _, s := range b.Symbols() {
		syms = append(syms, string(s))
	}
	get(fSymbol, func() *formField {
		cs, ci := choiceWith(syms, spec.Symbol, 0)
		return &formField{key: fSymbol, label: "symbol", choices: cs, ci: ci, hint: "the market it trades, on " + b.Exchange()}
	})
	tfs := b.Timeframes()
	tfNames := make([]string, len(tfs))
	for i, tf := range tfs {
		tfNames[i] = tf.String()
	}
	get(fTimeframe, func() *formField {
		cs, ci := choiceWith(tfNames, spec.Timeframe, initialTimeframe(tfs, 0))
		return &formField{key: fTimeframe, label: "timeframe", choices: cs, ci: ci,
			hint: "the candles it decides on: one step per closed candle"}
	})
	get(fFills, func() *formField {
		cs, ci := choiceWith([]string{engine.FillBook, engine.FillNextOpen}, spec.FillMode(), 0)
		return &formField{key: fFills, label: "fills", choices: cs, ci: ci,
			hint: "book: at once through the live book · next_open: the next candle's open ± slippage, as a backtest"}
	})
	text(fBalance, "balance", string(spec.Balance), "10000", "starting cash (paper money)")
	text(fFee, "fee", string(spec.Fee), "0.001", "fee rate per side: 0.001 is 0.1%")
	text(fSlippage, "slippage bps", fmtFormFloat(spec.SlippageBps), "", "slippage against next_open fills, in basis points: 10 is 0.1%")
	text(fPosSize, "position size", fmtFormFloat(spec.PositionSize), "1", "fraction of equity staked per entry, (0, 1]")
	text(fMaxPos, "max position", fmtFormFloat(spec.MaxPosition), "", "most cash per entry (notional + fee); 0: no cap")
	text(fTakeProfit, "take profit", fmtFormFloat(spec.TakeProfit), "", "exit at this fraction above the entry (0.02 is 2%); 0: off")
	text(fStopLoss, "stop loss", fmtFormFloat(spec.StopLoss), "", "exit at this fraction against the entry (0.01 is 1%); 0: off")
	text(fTimeout, "timeout", spec.Timeout, "(off)", "close a position held this long: a Go duration (90m, 4h); blank: off")
	get(fAllowShort, func() *formField {
		fl := &formField{key: fAllowShort, label: "allow short", choices: []string{"false", "true"},
			hint: "take short entries (a strategy that needs them allows them anyway)"}
		if spec.AllowShort {
			fl.ci = 1
		}
		return fl
	})
	text(fMaxDD, "max drawdown", fmtFormFloat(spec.MaxDrawdown), "",
		"stop the bot (flattening it) this fraction below its equity peak (0.2 is 20%); 0: off")

	var values map[string]string
	if s := f.strategy(); s != nil && f.editing != nil && s.Name() == f.editing.Strategy {
		values = f.editing.Params
	}
	for _, pf := range f.paramFields(f.strategy(), values) {
		add(pf)
	}
	f.rows = len(f.fields)
	f.focus = max(0, min(f.focus, len(f.fields)-1))
	f.refocus()
}

// botSpec checks what the engine cannot (numbers) and builds the definition to save.
func (f *jobForm) botSpec() (engine.BotSpec, error) {
	s := f.strategy()
	if s == nil {
		return engine.BotSpec{}, errors.New("strategy: the engine offers no strategy")
	}
	spec := engine.BotSpec{Strategy: s.Name(), Exchange: f.c.Backend.Exchange()}
	if f.editing != nil {
		spec.Name = f.editing.Name
	}
	var errs []error
	num := func(label, v string) float64 {
		if v == "" {
			return 0
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: not a number", label, v))
		}
		return x
	}
	for _, fl := range f.fields {
		v := fl.value()
		switch fl.key {
		case fName:
			spec.Name = v
		case fParam:
			if paramChanged(fl, v) {
				if spec.Params == nil {
					spec.Params = engine.ParamText{}
				}
				spec.Params[fl.param.Name] = v
			}
		case fSymbol:
			spec.Symbol = v
		case fTimeframe:
			if tf, err := market.ParseTimeframe(v); err == nil {
				spec.Timeframe = tf.String()
			} else {
				errs = append(errs, fmt.Errorf("timeframe: %w", err))
			}
		case fFills:
			spec.Fills = v
		case fBalance:
			spec.Balance = json.Number(v)
		case fFee:
			spec.Fee = json.Number(v)
		case fSlippage:
			spec.SlippageBps = num("slippage bps", v)
		case fPosSize:
			spec.PositionSize = num("position size", v)
		case fMaxPos:
			spec.MaxPosition = num("max position", v)
		case fTakeProfit:
			spec.TakeProfit = num("take profit", v)
		case fStopLoss:
			spec.StopLoss = num("stop loss", v)
		case fTimeout:
			spec.Timeout = v
		case fAllowShort:
			spec.AllowShort = v == "true"
		case fMaxDD:
			spec.MaxDrawdown = num("max drawdown", v)
		}
	}
	if spec.Name == "" {
		errs = append(errs, errors.New("name: missing: name the bot (letters, digits, - _ .)"))
	}
	return spec, errors.Join(errs...)
}

// botFieldNamed reports whether an error line is about one of the bot form's own fields.
func botFieldNamed(fl *formField, line string) bool {
	switch fl.key {
	case fName:
		return strings.HasPrefix(line, "name") || strings.Contains(line, "bot with this name")
	case fFills:
		return strings.HasPrefix(line, "fills")
	case fBalance:
		return strings.Contains(line, "balance")
	case fPosSize:
		return strings.Contains(line, "position size") || strings.Contains(line, "position_size")
	case fMaxPos:
		return strings.Contains(line, "max position") || strings.Contains(line, "max_position")
	case fTakeProfit:
		return strings.Contains(line, "take-profit") || strings.Contains(line, "take profit") || strings.Contains(line, "take_profit")
	case fStopLoss:
		return strings.Contains(line, "stop-loss") || strings.Contains(line, "stop loss") || strings.Contains(line, "stop_loss")
	case fTimeout:
		return strings.Contains(line, "timeout")
	case fMaxDD:
		return strings.Contains(line, "max_drawdown") || strings.Contains(line, "max drawdown")
	}
	return false
}

// cleanBotError drops what the form already says from an error of CreateBot / UpdateBot: the
// prefixes up to "bot NAME: " on its first line ("bots: create: bot alpha: name …").
func cleanBotError(s string) string {
	first, rest, more := strings.Cut(s, "\n")
	if i := strings.Index(first, "bot "); i >= 0 {
		if j := strings.Index(first[i+4:], ": "); j >= 0 && !strings.Contains(first[i+4:i+4+j], " ") {
			first = first[i+4+j+2:]
		}
	}
	if more {
		return first + "\n" + rest
	}
	return first
}
