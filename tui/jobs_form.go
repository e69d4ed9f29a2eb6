package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// The new-job form of the Jobs pane (n: backtest, s: parameter sweep). It is built from the
// strategies' parameter descriptions; a change of strategy rebuilds the parameter fields
// with their defaults. tab / shift+tab or ↓ / ↑ move between fields, ←/→ change a choice,
// enter goes to the next field and submits on the last one, ctrl+s submits from any field,
// esc closes the form. A submit error is shown under the fields, and the fields it names are
// marked ✗; the form stays open.

// fieldKey names what a form field is for.
type fieldKey uint8

const (
	fStrategy fieldKey = iota
	fParam             // a strategy parameter's value
	fSweep             // a parameter's sweep range (sweep form)
	fSymbol
	fTimeframe
	fFrom
	fTo
	fFee
	fSlippage
	fRankBy
	fFile  // an order-flow file (order-flow form)
	fDepth // OBI depth (order-flow form)
)

// fExchange is the data-sync form's venue. Its value stands apart from the bot form's keys,
// which follow fDepth (bots_form.go).
const fExchange fieldKey = 0x80

// formDays is how far back the form's "from" date starts: 30 days before the engine clock.
const formDays = 30

// formInputW is the width of a text field.
const formInputW = 12

type formField struct {
	key   fieldKey
	label string
	hint  string
	row   int // display row: a sweep field shares its parameter's row

	// A choice (strategy, a bool parameter, symbol, timeframe, rank-by) or a text input.
	choices []string
	ci      int
	in      lineInput
	text    bool

	param strategies.Param // fParam, fSweep
	def   string           // a parameter's default, as text
	bad   bool             // named by the last error
}

func (f *formField) value() string {
	if f.text {
		return strings.TrimSpace(f.in.Value())
	}
	if len(f.choices) == 0 {
		return ""
	}
	return f.choices[f.ci]
}

type jobForm struct {
	c      *Common
	sweep  bool
	flow   bool // the order-flow form: a file and a depth
	sync   bool // the data-sync form: REST history of a venue into the database
	strats []strategies.Strategy
	si     int
	fields []*formField
	rows   int // display rows
	focus  int
	top    int // first visible row

	bot bool // the bot form (bots_form.go)
	// editing is the definition the bot form edits (nil: a new bot); its parameters fill the
	// parameter fields while its strategy is chosen.
	editing *engine.BotSpec

	errLines   []string
	submitting bool
}

// newJobForm opens a form with every default: the first strategy, the first symbol, the
// first timeframe of at least 1m, from formDays days before the engine clock up to the
// newest candle, fee 0.001, no slippage, and for a sweep ranking by engine.DefaultRankBy.
func newJobForm(c *Common, sweep bool) *jobForm {
	f := &jobForm{c: c, sweep: sweep, strats: c.Backend.Strategies()}
	f.build(nil)
	return f
}

// newFlowForm opens the order-flow form: OBI and CVD per snapshot of an order-flow file into
// its metrics table, as `tradeconsole orderflow` does.
func newFlowForm(c *Common) *jobForm {
	f := &jobForm{c: c, flow: true}
	f.fields = []*formField{
		{key: fFile, label: "file", text: true, row: 0, in: lineInput{placeholder: "data/orderflow/….db", limit: 512},
			hint: "the order-flow file (book and trades tables); record one with record_orderflow: true"},
		{key: fDepth, label: "depth", text: true, row: 1, in: f.newInput("0", ""),
			hint: "levels per side in OBI; 0 = every level of each snapshot"},
	}
	f.rows = 2
	f.refocus()
	return f
}

// dataSyncKey opens the data-sync form from the job list (f: fetch), as `tradeconsole fetch`
// does; dataSyncShortKey is its footer entry.
var (
	dataSyncKey      = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "new data sync (fetch history)"))
	dataSyncShortKey = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fetch"))
)

// newDataSyncForm opens the data-sync form: a venue's REST candle history into the database
// (engine.DataSyncJob). The venue defaults to the console's exchange when it is one of them,
// the symbol to the console's first, the timeframe to 1m, from to formDays days before the
// engine clock, to (blank) to the time the job runs.
func newDataSyncForm(c *Common) *jobForm {
	f := &jobForm{c: c, sync: true}
	b := c.Backend
	venues := engine.DataSyncExchanges()
	ex := &formField{key: fExchange, label: "exchange", choices: venues, row: 0,
		hint: "the venue whose REST klines are downloaded"}
	for i, v := range venues {
		if v == b.Exchange() {
			ex.ci = i
		}
	}
	sym := ""
	if syms := b.Symbols(); len(syms) > 0 {
		sym = string(syms[0])
	}
	var tfs []string
	for _, tf := range market.Timeframes {
		if tf >= market.TF1m {
			tfs = append(tfs, tf.String())
		}
	}
	from := b.Now().UTC().AddDate(0, 0, -formDays).Format("2006-01-02")
	f.fields = []*formField{
		ex,
		{key: fSymbol, label: "symbol", text: true, row: 1, in: f.newInput(sym, "BTCUSDT"),
			hint: "the market as the console writes it (BTCUSDT); the venue must list it"},
		{key: fTimeframe, label: "timeframe", choices: tfs, row: 2,
			hint: "the candles downloaded; the venue must serve the timeframe"},
		{key: fFrom, label: "from", text: true, row: 3, in: f.newInput(from, ""),
			hint: "first day, YYYY-MM-DD (UTC), or YYYY-MM-DD HH:MM"},
		{key: fTo, label: "to", text: true, row: 4, in: f.newInput("", "(now)"),
			hint: "last day, YYYY-MM-DD (UTC), through its end; blank: up to the time the job runs"},
	}
	f.rows = len(f.fields)
	f.refocus()
	return f
}

func (f *jobForm) strategy() strategies.Strategy {
	if len(f.strats) == 0 {
		return nil
	}
	return f.strats[f.si]
}

func (f *jobForm) newInput(value, placeholder string) lineInput {
	in := lineInput{placeholder: placeholder, limit: 64}
	in.SetValue(value)
	return in
}

// build lays the fields out for the selected strategy. The fields other than the
// parameters keep their values from old (nil: a new form).
func (f *jobForm) build(old []*formField) {
	if f.bot {
		f.buildBot(old)
		return
	}
	b := f.c.Backend
	keep := map[fieldKey]*formField{}
	for _, fl := range old {
		if fl.key != fParam && fl.key != fSweep {
			fl.bad = false
			keep[fl.key] = fl
		}
	}
	f.fields = f.fields[:0]
	row := 0
	add := func(fl *formField) {
		if fl.key != fSweep {
			row++
		}
		fl.row = row - 1
		f.fields = append(f.fields, fl)
	}
	get := func(k fieldKey, mk func() *formField) *formField {
		if fl, ok := keep[k]; ok {
			return fl
		}
		return mk()
	}

	names := make([]string, len(f.strats))
	for i, s := range f.strats {
		names[i] = s.Name()
	}
	sf := get(fStrategy, func() *formField { return &formField{key: fStrategy, label: "strategy", choices: names} })
	sf.ci = f.si
	if s := f.strategy(); s != nil {
		sf.hint = s.Describe()
	}
	add(sf)

	for _, pf := range f.paramFields(f.strategy(), nil) {
		add(pf)
	}

	syms := make([]string, 0, len(b.Symbols()))
	for _, s := range b.Symbols() {
		syms = append(syms, string(s))
	}
	add(get(fSymbol, func() *formField {
		return &formField{key: fSymbol, label: "symbol", choices: syms, hint: "the market, on " + b.Exchange()}
	}))
	tfs := b.Timeframes()
	tfNames := make([]string, len(tfs))
	for i, tf := range tfs {
		tfNames[i] = tf.String()
	}
	add(get(fTimeframe, func() *formField {
		return &formField{key: fTimeframe, label: "timeframe", choices: tfNames, ci: initialTimeframe(tfs, 0),
			hint: "the candles the strategy runs on (stored candles)"}
	}))
	add(get(fFrom, func() *formField {
		from := b.Now().UTC().AddDate(0, 0, -formDays).Format("2006-01-02")
		return &formField{key: fFrom, label: "from", text: true, in: f.newInput(from, ""),
			hint: "first day, YYYY-MM-DD (UTC), or YYYY-MM-DD HH:MM"}
	}))
	add(get(fTo, func() *formField {
		return &formField{key: fTo, label: "to", text: true, in: f.newInput("", "(newest)"),
			hint: "last day, YYYY-MM-DD (UTC), through its end; blank: up to the newest candle"}
	}))
	add(get(fFee, func() *formField {
		return &formField{key: fFee, label: "fee", text: true, in: f.newInput("0.001", ""),
			hint: "fee rate per side: 0.001 is 0.1%"}
	}))
	add(get(fSlippage, func() *formField {
		return &formField{key: fSlippage, label: "slippage bps", text: true, in: f.newInput("0", ""),
			hint: "slippage against every fill, in basis points: 10 is 0.1%"}
	}))
	if f.sweep {
		add(get(fRankBy, func() *formField {
			ms := engine.RankMetrics()
			fl := &formField{key: fRankBy, label: "rank by", choices: ms, hint: "the metric the combinations are ranked by"}
			for i, m := range ms {
				if m == engine.DefaultRankBy {
					fl.ci = i
				}
			}
			return fl
		}))
	}
	f.rows = row
	f.focus = min(f.focus, len(f.fields)-1)
	f.refocus()
}

// paramFields are the fields of a strategy's parameters (none for nil), each with its
// default or, when values names it, that text; on the sweep form each number parameter is
// followed by its sweep range.
func (f *jobForm) paramFields(s strategies.Strategy, values map[string]string) []*formField {
	if s == nil {
		return nil
	}
	var out []*formField
	for _, p := range s.Params() {
		def := strconv.FormatFloat(p.Default, 'f', -1, 64)
		v, given := values[p.Name]
		pf := &formField{key: fParam, label: p.Name, param: p, def: def, hint: paramHint(p)}
		if p.Kind == strategies.Bool {
			pf.choices = []string{"false", "true"}
			if p.Default != 0 {
				pf.ci, pf.def = 1, "true"
			} else {
				pf.def = "false"
			}
			if given {
				pf.ci = 0
				if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && b {
					pf.ci = 1
				}
			}
		} else {
			if !given {
				v = def
			}
			pf.text, pf.in = true, f.newInput(v, "")
		}
		out = append(out, pf)
		if f.sweep && p.Kind != strategies.Bool {
			out = append(out, &formField{key: fSweep, label: "sweep", param: p, text: true, in: f.newInput("", "(fixed)"),
				hint: fmt.Sprintf("sweep %s over from:to:step (e.g. %s); blank: fixed", p.Name, sweepExample(p))})
		}
	}
	return out
}

// paramHint describes a parameter: its description, kind, range and default.
func paramHint(p strategies.Param) string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch p.Kind {
	case strategies.Bool:
		return p.Description + " · true/false"
	case strategies.Int:
		return fmt.Sprintf("%s · whole number %s–%s", p.Description, num(p.Min), num(p.Max))
	}
	return fmt.Sprintf("%s · %s–%s", p.Description, num(p.Min), num(p.Max))
}

// sweepExample is a range of a parameter around its default, for the hint.
func sweepExample(p strategies.Param) string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	if p.Kind == strategies.Int {
		step := max(1, float64(int(p.Default/2)))
		lo := max(p.Min, p.Default-step)
		return num(lo) + ":" + num(min(p.Max, lo+2*step)) + ":" + num(step)
	}
	return num(p.Min) + ":" + num(p.Max) + ":" + num((p.Max-p.Min)/4)
}

// refocus gives the text cursor to the focused field only and scrolls it into view.
func (f *jobForm) refocus() {
	for i, fl := range f.fields {
		if !fl.text {
			continue
		}
		if i == f.focus && !fl.in.focused {
			fl.in.pos = len(fl.in.value)
		}
		fl.in.focused = i == f.focus
	}
}

// move goes d fields on, wrapping around.
func (f *jobForm) move(d int) tea.Cmd {
	n := len(f.fields)
	if n == 0 {
		return nil
	}
	f.focus = ((f.focus+d)%n + n) % n
	f.refocus()
	return nil
}

// formAction is what a key did to a form.
type formAction uint8

const (
	formKept   formAction = iota // the form stays open (a field moved or changed)
	formClose                    // esc: close it
	formSubmit                   // enter on the last field, or ctrl+s: submit it
)

// key handles a key of the open form: esc closes, ctrl+s (or enter on the last field)
// submits, tab / shift+tab / ↓ / ↑ / enter move between fields, the others edit the focused
// field. While a submit is in flight only esc does something.
func (f *jobForm) key(msg tea.KeyMsg) formAction {
	if f.submitting {
		if key.Matches(msg, jobsKeys.CloseForm) {
			return formClose
		}
		return formKept
	}
	switch {
	case key.Matches(msg, jobsKeys.CloseForm):
		return formClose
	case key.Matches(msg, jobsKeys.Submit):
		return formSubmit
	case key.Matches(msg, jobsKeys.Enter):
		if f.focus == len(f.fields)-1 {
			return formSubmit
		}
		f.move(1)
	case key.Matches(msg, jobsKeys.NextField):
		f.move(1)
	case key.Matches(msg, jobsKeys.PrevField):
		f.move(-1)
	default:
		f.update(msg)
	}
	return formKept
}

// update handles the other keys: ←/→ on a choice, typing in a text field.
func (f *jobForm) update(msg tea.KeyMsg) tea.Cmd {
	if len(f.fields) == 0 {
		return nil
	}
	fl := f.fields[f.focus]
	if !fl.text {
		if key.Matches(msg, jobsKeys.Choice) && len(fl.choices) > 0 {
			d := 1
			if msg.Type == tea.KeyLeft {
				d = -1
			}
			fl.ci = cycle(fl.ci+d, len(fl.choices))
			fl.bad = false
			if fl.key == fStrategy {
				f.si = fl.ci
				f.build(f.fields)
			}
		}
		return nil
	}
	if fl.in.Update(msg) {
		fl.bad = false
	}
	return nil
}

// ---- the payload ----

// payload checks what the engine cannot (dates, numbers) and builds the job: an
// engine.BacktestJob, or an engine.SweepJob for the sweep form.
func (f *jobForm) payload() (string, any, error) {
	switch {
	case f.flow:
		return f.flowPayload()
	case f.sync:
		return f.syncPayload()
	}
	s := f.strategy()
	if s == nil {
		return "", nil, errors.New("strategy: the engine offers no strategy")
	}
	bt := engine.BacktestJob{Strategy: s.Name(), Exchange: f.c.Backend.Exchange()}
	var sweeps []string
	var errs []error
	var fromT, toT time.Time
	for _, fl := range f.fields {
		v := fl.value()
		switch fl.key {
		case fParam:
			if paramChanged(fl, v) {
				if bt.Params == nil {
					bt.Params = map[string]string{}
				}
				bt.Params[fl.param.Name] = v
			}
		case fSweep:
			if v != "" {
				v = strings.TrimPrefix(v, fl.param.Name+"=")
				sweeps = append(sweeps, fl.param.Name+"="+v)
			}
		case fSymbol:
			bt.Symbol = v
		case fTimeframe:
			if tf, err := market.ParseTimeframe(v); err == nil {
				bt.Timeframe = tf.String()
			} else {
				errs = append(errs, err)
			}
		case fFrom:
			t, _, err := parseFormDate(v)
			switch {
			case v == "":
			case err != nil:
				errs = append(errs, fmt.Errorf("from %q: %w", v, err))
			default:
				fromT = t
				bt.From = t.UnixMilli()
			}
		case fTo:
			t, dateOnly, err := parseFormDate(v)
			switch {
			case v == "":
			case err != nil:
				errs = append(errs, fmt.Errorf("to %q: %w", v, err))
			default:
				if dateOnly {
					t = t.AddDate(0, 0, 1) // through the end of that day
				}
				toT = t
				bt.To = t.UnixMilli()
			}
		case fFee:
			bt.Fee = json.Number(v)
		case fSlippage:
			if v != "" {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					errs = append(errs, fmt.Errorf("slippage bps %q: not a number", v))
				}
				bt.SlippageBps = x
			}
		}
	}
	if !fromT.IsZero() && !toT.IsZero() && !toT.After(fromT) {
		errs = append(errs, fmt.Errorf("to %q: must be after from", f.fieldValue(fTo)))
	}
	if f.sweep && len(sweeps) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("nothing to sweep: give at least one parameter a range from:to:step in its sweep field"))
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	if !f.sweep {
		return engine.JobTypeBacktest, bt, nil
	}
	return engine.JobTypeSweep, engine.SweepJob{BacktestJob: bt, Sweep: sweeps, RankBy: f.fieldValue(fRankBy)}, nil
}

// flowPayload builds the order-flow job; the engine checks that the file exists and is one.
func (f *jobForm) flowPayload() (string, any, error) {
	job := engine.OrderflowJob{DB: f.fieldValue(fFile)}
	var errs []error
	if job.DB == "" {
		errs = append(errs, errors.New("file: name the order-flow file"))
	}
	if v := f.fieldValue(fDepth); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("depth %q: a whole number, 0 or more", v))
		}
		job.Depth = d
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	return engine.JobTypeOrderflow, job, nil
}

// syncPayload builds the data-sync job: dates as the form reads them (a date "to" runs through
// the end of that day); the engine checks the venue, the symbol and the timeframe.
func (f *jobForm) syncPayload() (string, any, error) {
	job := engine.DataSyncJob{
		Exchange:  f.fieldValue(fExchange),
		Symbol:    strings.ToUpper(f.fieldValue(fSymbol)),
		Timeframe: f.fieldValue(fTimeframe),
	}
	var errs []error
	if job.Symbol == "" {
		errs = append(errs, errors.New("symbol: name the market, e.g. BTCUSDT"))
	}
	var fromT, toT time.Time
	if v := f.fieldValue(fFrom); v == "" {
		errs = append(errs, errors.New("from: a first day is needed, YYYY-MM-DD (UTC)"))
	} else if t, dateOnly, err := parseFormDate(v); err != nil {
		errs = append(errs, fmt.Errorf("from %q: %w", v, err))
	} else {
		fromT, job.From = t, formatFormDate(t, dateOnly)
	}
	if v := f.fieldValue(fTo); v != "" {
		t, dateOnly, err := parseFormDate(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("to %q: %w", v, err))
		default:
			if dateOnly {
				t = t.AddDate(0, 0, 1) // through the end of that day
			}
			toT, job.To = t, formatFormDate(t, dateOnly)
		}
	}
	if !fromT.IsZero() && !toT.IsZero() && !toT.After(fromT) {
		errs = append(errs, fmt.Errorf("to %q: must be after from", f.fieldValue(fTo)))
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	return engine.JobTypeDataSync, job, nil
}

// formatFormDate writes a form time for a payload: a day as YYYY-MM-DD, else RFC 3339.
func formatFormDate(t time.Time, dateOnly bool) string {
	if dateOnly {
		return t.Format("2006-01-02")
	}
	return t.UTC().Format(time.RFC3339)
}

// describeDataSync says what a data_sync job downloads, from its payload:
// "bybit BTCUSDT 1m · 2025-10-22 → now".
func describeDataSync(v engine.JobView) string {
	var p engine.DataSyncJob
	if len(v.Payload) == 0 || json.Unmarshal(v.Payload, &p) != nil {
		return ""
	}
	to := p.To
	if to == "" {
		to = "now"
	}
	return fmt.Sprintf("%s %s %s · %s → %s", p.Exchange, p.Symbol, p.Timeframe, p.From, to)
}

func (f *jobForm) fieldValue(k fieldKey) string {
	for _, fl := range f.fields {
		if fl.key == k {
			return fl.value()
		}
	}
	return ""
}

// paramChanged reports whether a parameter's text differs from its default (a number equal
// to the default, 10.0 for 10, is no change).
func paramChanged(fl *formField, v string) bool {
	if v == fl.def {
		return false
	}
	if fl.param.Kind != strategies.Bool {
		if x, err := strconv.ParseFloat(v, 64); err == nil && x == fl.param.Default {
			return false
		}
	}
	return true
}

// parseFormDate reads a UTC date (YYYY-MM-DD) or date and time (YYYY-MM-DD HH:MM, or with a T).
func parseFormDate(s string) (t time.Time, dateOnly bool, err error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, errors.New("not a date: use YYYY-MM-DD (UTC)")
}

// setError shows err under the fields (nil clears it) and marks the fields it names.
func (f *jobForm) setError(err error) {
	f.errLines = nil
	for _, fl := range f.fields {
		fl.bad = false
	}
	if err == nil {
		return
	}
	for _, line := range strings.Split(cleanSubmitError(err.Error()), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f.errLines = append(f.errLines, line)
		for _, fl := range f.fields {
			if fieldNamed(fl, line) {
				fl.bad = true
			}
		}
	}
}

// cleanSubmitError drops the prefixes SubmitJob adds ("jobs: submit backtest: backtest: "):
// the form says what is being submitted.
func cleanSubmitError(s string) string {
	for _, t := range []string{engine.JobTypeBacktest, engine.JobTypeSweep, engine.JobTypeDataSync} {
		s = strings.TrimPrefix(s, "jobs: submit "+t+": ")
	}
	for _, t := range []string{engine.JobTypeBacktest, engine.JobTypeSweep, engine.JobTypeDataSync} {
		if r, ok := strings.CutPrefix(s, t+": "); ok && !strings.HasPrefix(r, t+" ") {
			s = r
		}
	}
	return s
}

// fieldNamed reports whether an error line is about a field.
func fieldNamed(fl *formField, line string) bool {
	switch fl.key {
	case fStrategy:
		return strings.Contains(line, "unknown strategy")
	case fParam:
		n := fl.param.Name
		return strings.Contains(line, "parameter "+n+" ") || strings.Contains(line, "parameter "+n+":")
	case fSweep:
		n := fl.param.Name
		return strings.Contains(line, `sweep "`+n+"=") || strings.Contains(line, "sweep "+n+"=")
	case fSymbol:
		return strings.HasPrefix(line, "symbol")
	case fTimeframe:
		return strings.HasPrefix(line, "timeframe")
	case fFrom:
		return strings.HasPrefix(line, "from ")
	case fTo:
		return strings.HasPrefix(line, "to ") || (strings.HasPrefix(line, "from ") && strings.Contains(line, ", to "))
	case fFee:
		return strings.HasPrefix(line, "fee ") || strings.Contains(line, "fee rate")
	case fSlippage:
		return strings.Contains(line, "slippage")
	case fRankBy:
		return strings.Contains(line, "rank-by")
	case fExchange:
		return strings.HasPrefix(line, "exchange")
	}
	return botFieldNamed(fl, line)
}

// ---- rendering ----

// render draws the form in exactly h lines of w cells (or fewer; the pane pads):
//
//	title                         New backtest · what submits and what closes
//	rows                          ▸ label  ‹ choice › / [text]  (sweep [range])  hint
//	the focused field's hint
//	the errors, or "submitting…"
func (f *jobForm) render(w, h int) []string {
	st := f.c.Styles
	lines := make([]string, 0, h)
	title := "New backtest"
	switch {
	case f.sweep:
		title = "New parameter sweep"
	case f.flow:
		title = "New order-flow run (OBI and CVD per snapshot into the file's metrics table)"
	case f.sync:
		title = "New data sync (a venue's REST candles into the database; a rerun resumes)"
	case f.bot && f.editing != nil:
		title = "Edit bot " + f.editing.Name + " (its name stays)"
	case f.bot:
		title = "New bot (it is stored stopped: s starts it)"
	}
	lines = append(lines, spread(st.paint(cTitle, title), st.paint(cMuted, "enter on the last field or ctrl+s: submit · esc: cancel"), w))

	// The bottom: the focused field's hint, then the errors (or the submit in flight).
	var bottom []string
	if len(f.fields) > 0 {
		fl := f.fields[f.focus]
		label := fl.label
		if fl.key == fSweep {
			label = fl.param.Name + " sweep"
		}
		bottom = append(bottom, st.paint(cMuted, truncate(label+": "+fl.hint, w)))
	}
	switch {
	case f.submitting:
		bottom = append(bottom, st.paint(cInfo, "submitting…"))
	case len(f.errLines) > 0:
		// Each error wrapped, as many lines as leave a few rows of fields.
		var errs []string
		for _, l := range f.errLines {
			for i, wl := range wrapText(l, max(1, w-2)) {
				prefix := "  "
				if i == 0 {
					prefix = "✗ "
				}
				errs = append(errs, st.paint(cErr, prefix+wl))
			}
		}
		maxErr := max(1, h-1-len(bottom)-min(f.rows, 6)-1)
		if len(errs) > maxErr {
			errs = append(errs[:maxErr-1], st.paint(cErr, truncate(fmt.Sprintf("✗ … %d more lines", len(errs)-maxErr+1), w)))
		}
		bottom = append(bottom, errs...)
	}
	rowsH := max(0, h-len(lines)-len(bottom)-1)
	if rowsH > f.rows {
		rowsH = f.rows
	}
	// Keep the focused row in view.
	focused := -1
	if len(f.fields) > 0 {
		focused = f.fields[f.focus].row
	}
	f.top = scrollTop(f.top, focused, rowsH, f.rows)

	// Column widths: labels, then the value column (wide enough for every choice).
	lw, vw := 0, formInputW+2
	for _, fl := range f.fields {
		if fl.key != fSweep {
			lw = max(lw, len([]rune(fl.label)))
		}
		if !fl.text {
			for _, c := range fl.choices {
				vw = max(vw, len([]rune(c))+4)
			}
		}
	}
	sweepW := 0
	if f.sweep {
		sweepW = len(" sweep ") + formInputW + 2
	}
	hintX := 2 + lw + 1 + vw + sweepW + 2
	byRow := make([][]int, f.rows)
	for i, fl := range f.fields {
		byRow[fl.row] = append(byRow[fl.row], i)
	}
	for r := f.top; r < f.top+rowsH && r < f.rows; r++ {
		lines = append(lines, f.renderRow(byRow[r], lw, vw, sweepW, hintX, w))
	}
	for len(lines) < h-len(bottom) {
		lines = append(lines, "")
	}
	return append(lines, bottom...)
}

// renderRow draws one row: a marker (▸ focused, ✗ named by the error), the label, the value,
// a parameter's sweep range on the sweep form, and the hint when there is room.
func (f *jobForm) renderRow(idx []int, lw, vw, sweepW, hintX, w int) string {
	st := f.c.Styles
	first := f.fields[idx[0]]
	focused, bad := false, false
	for _, i := range idx {
		focused = focused || i == f.focus
		bad = bad || f.fields[i].bad
	}
	var b strings.Builder
	switch {
	case focused:
		st.write(&b, cTitle, "▸ ")
	case bad:
		st.write(&b, cErr, "✗ ")
	default:
		b.WriteString("  ")
	}
	lc := cPlain
	switch {
	case bad:
		lc = cErr
	case focused:
		lc = cTitle
	}
	st.write(&b, lc, padRight(first.label, lw))
	b.WriteByte(' ')
	b.WriteString(fit(f.renderValue(first, idx[0] == f.focus), vw))
	if sweepW > 0 {
		var sw string
		for _, i := range idx[1:] {
			fl := f.fields[i]
			lc := cMuted
			if fl.bad {
				lc = cErr
			}
			sw = st.paint(lc, " sweep ") + f.renderValue(fl, i == f.focus)
		}
		b.WriteString(fit(sw, sweepW))
	}
	b.WriteString("  ")
	if room := w - hintX; room >= 12 {
		b.WriteString(st.paint(cMuted, truncate(first.hint, room)))
	}
	return b.String()
}

// renderValue draws a field's value: ‹ choice › (arrows highlighted when focused) or a text
// input, in brackets when focused so that the focus reads without colour.
func (f *jobForm) renderValue(fl *formField, focused bool) string {
	st := f.c.Styles
	if !fl.text {
		ac := cMuted
		if focused {
			ac = cTitle
		}
		return st.paint(ac, "‹ ") + fl.value() + st.paint(ac, " ›")
	}
	v := fl.in.View(st, formInputW)
	if focused {
		return st.paint(cTitle, "[") + v + st.paint(cTitle, "]")
	}
	return " " + v + " "
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
