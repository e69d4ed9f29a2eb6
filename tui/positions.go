package tui

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
)

// portfolioMsg is the result of a Portfolio read.
type portfolioMsg struct {
	seq uint64
	pf  engine.Portfolio
	err error
}

// positionsPane is the Positions & P&L tab, from Backend.Portfolio (read in a command when
// the tab is shown, on bot events while it is shown — at most one read in flight — on r, and
// every botsRefresh while it is shown, since marks move without bot events):
//
//	Positions & P&L · 1 open · 12 closed                             b: equity [book] alpha …
//	realized +123.45 · unrealized +35.21 · fees 24.50 · win rate 58% (7/12)
//	open positions: bot, symbol, side, quantity, entry, mark, unrealized P&L
//	closed trades, newest first: bot, symbol, side, entry → exit, P&L, reason (↑/↓ scroll)
//	the equity curve (and its drawdown) of the whole book, or of one bot (b cycles)
//
// From 140 columns the tables and the chart sit side by side; narrower they are stacked and
// the chart shows when there is room for it.
type positionsPane struct {
	c       *Common
	w, h    int
	visible bool

	rd       reads
	loaded   bool
	loadErr  error
	lastPoll time.Time

	pf     engine.Portfolio
	curves []string // "" (the book), then each bot with a curve, by name
	curve  int
	scroll int // first closed trade shown
	rows   int // closed-trade rows in the last render (for paging)

	chart  equityChart
	charts []string // cached chart lines …
	cw, ch int      // … for this size and curve

	dirty  bool
	view   string
	frames int // rebuilds, for tests
}

func newPositionsPane(c *Common) *positionsPane { return &positionsPane{c: c, dirty: true} }

func (p *positionsPane) Title() string { return "Positions" }
func (p *positionsPane) View() string  { return p.view }
func (p *positionsPane) Init() tea.Cmd { return nil }

func (p *positionsPane) Focus() tea.Cmd {
	p.visible = true
	p.lastPoll = p.c.now()
	return p.reload()
}

func (p *positionsPane) Blur() { p.visible = false }

func (p *positionsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
	p.charts = nil
}

// Poll re-reads the book every botsRefresh while the tab is shown.
func (p *positionsPane) Poll(now time.Time) tea.Cmd {
	if !p.visible || p.rd.loading || now.Sub(p.lastPoll) < botsRefresh {
		return nil
	}
	p.lastPoll = now
	return p.reload()
}

func (p *positionsPane) reload() tea.Cmd {
	return p.rd.load(p.c, &p.dirty, func(ctx context.Context, b Backend, seq uint64) tea.Msg {
		pf, err := b.Portfolio(ctx)
		return portfolioMsg{seq: seq, pf: pf, err: err}
	})
}

func (p *positionsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return p.handleKey(msg)
	case EventsMsg:
		if !p.visible {
			return nil
		}
		for _, ev := range msg {
			if _, ok := ev.(engine.BotEvent); ok {
				return p.reload()
			}
		}
	case botsChangedMsg:
		if p.visible {
			return p.reload()
		}
	case portfolioMsg:
		return p.onPortfolio(msg)
	}
	return nil
}

func (p *positionsPane) onPortfolio(msg portfolioMsg) tea.Cmd {
	current, rerun := p.rd.finish(msg.seq)
	if !current {
		return nil
	}
	p.dirty = true
	if msg.err != nil {
		p.loadErr = msg.err
	} else {
		p.loaded, p.loadErr = true, nil
		shown := p.curveName()
		p.pf = msg.pf
		p.curves = append(p.curves[:0], "")
		names := make([]string, 0, len(msg.pf.PerBot))
		for n := range msg.pf.PerBot {
			names = append(names, n)
		}
		sort.Strings(names)
		p.curves = append(p.curves, names...)
		p.curve = 0
		for i, n := range p.curves {
			if n == shown {
				p.curve = i
			}
		}
		p.charts = nil
	}
	if rerun {
		return p.reload()
	}
	return nil
}

// curveName is the curve shown: "" for the book, else a bot's name.
func (p *positionsPane) curveName() string { return itemAt(p.curves, p.curve) }

func (p *positionsPane) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := &positionsKeys
	switch {
	case key.Matches(msg, k.Curve):
		if len(p.curves) > 1 {
			p.curve = cycle(p.curve+1, len(p.curves))
			p.charts = nil
		}
	case key.Matches(msg, k.Up):
		p.scroll = max(0, p.scroll-1)
	case key.Matches(msg, k.Down):
		p.scroll = max(0, min(p.scroll+1, len(p.pf.Closed)-max(1, p.rows)))
	case key.Matches(msg, k.Refresh):
		return p.reload()
	default:
		return nil
	}
	p.dirty = true
	return nil
}

// Frame rebuilds after a change (a read, a key, a resize).
func (p *positionsPane) Frame(time.Time) bool {
	if !p.dirty {
		return false
	}
	p.dirty = false
	p.frames++
	old := p.view
	p.view = p.render()
	return p.view != old
}

// fmtWinRate is "58% (7/12)", or "—" without closed trades.
func fmtWinRate(pf engine.Portfolio) string {
	n := pf.Wins + pf.Losses
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%d%% (%d/%d)", int(math.Round(pf.WinRate()*100)), pf.Wins, n)
}

func (p *positionsPane) render() string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	st := p.c.Styles
	w, h := p.w, p.h
	pf := p.pf
	sep := st.paint(cMuted, " · ")
	lines := make([]string, 0, h)

	title := st.paint(cTitle, "Positions & P&L") + sep + fmt.Sprintf("%d open", len(pf.Positions)) + sep +
		fmt.Sprintf("%d closed", len(pf.Closed))
	var right string
	switch {
	case p.rd.loading:
		right = st.paint(cMuted, "reading…")
	case len(p.curves) > 1:
		var b strings.Builder
		b.WriteString("b: equity")
		for i, n := range p.curves {
			if n == "" {
				n = "book"
			}
			if i == p.curve {
				b.WriteString(" [" + n + "]")
			} else {
				b.WriteString(" " + n)
			}
		}
		right = st.paint(cMuted, truncate(b.String(), max(0, w/2)))
	}
	lines = append(lines, spread(title, right, w))
	totals := "realized " + st.paint(signCls(pf.Realized), fmtSigned(pf.Realized, 2)) + sep +
		"unrealized " + st.paint(signCls(pf.Unrealized), fmtSigned(pf.Unrealized, 2)) + sep +
		"fees " + fmtPrice(pf.Fees, 2) + sep + "win rate " + fmtWinRate(pf)
	lines = append(lines, truncate(totals, w))
	if p.loadErr != nil {
		lines = append(lines, st.paint(cErr, truncate("could not read the book: "+firstLine(p.loadErr.Error()), w)))
	}
	avail := max(0, h-len(lines))
	if !p.loaded {
		msg := "reading the book…"
		if p.loadErr != nil {
			msg = "r: try again"
		}
		return pane(append(lines, centered(msg, w, avail)...), w, h)
	}

	// The chart: beside the tables from sideMinW, else under them when there is room.
	chartW, chartH, tablesW := 0, 0, w
	if w >= sideMinW && avail >= chartMinH+1 {
		chartW = w * 9 / 20
		chartH = avail
		tablesW = w - chartW - 2
	} else if avail >= chartMinH+1+8 {
		chartW = w
		chartH = max(chartMinH+1, avail*2/5)
	}
	tablesH := avail
	if chartW == w {
		tablesH = avail - chartH
	}
	tables := p.tableLines(tablesW, tablesH)
	if chartW > 0 && chartW < w {
		chart := p.chartLines(chartW, chartH)
		for i := 0; i < avail; i++ {
			lines = append(lines, fit(tables[i], tablesW)+"  "+chart[i])
		}
		return pane(lines, w, h)
	}
	lines = append(lines, tables...)
	if chartH > 0 {
		lines = append(lines, p.chartLines(chartW, chartH)...)
	}
	return pane(lines, w, h)
}

// tableLines are the open positions over the closed trades, in exactly h lines of w cells.
func (p *positionsPane) tableLines(w, h int) []string {
	st := p.c.Styles
	pf := p.pf
	out := make([]string, 0, h)
	ps := pf.Positions
	// Open positions: all of them when they fit, leaving the closed trades at least 4 rows.
	posRows := max(1, min(len(ps), h-2-5))
	out = append(out, fit(st.paint(cTitle, "open positions")+st.paint(cMuted, fmt.Sprintf(" · %d", len(ps))), w))
	if len(ps) == 0 {
		out = append(out, fit(st.paint(cMuted, "(none: every bot is flat)"), w))
	} else {
		head, body := positionRows(st, ps, posRows, w)
		out = append(out, fit(st.paint(cHead, head), w))
		for _, l := range body {
			out = append(out, fit(l, w))
		}
		if len(ps) > posRows {
			out = append(out, fit(st.paint(cMuted, fmt.Sprintf("… %d more", len(ps)-posRows)), w))
		}
	}
	out = append(out, "")

	cs := pf.Closed
	rows := max(0, h-len(out)-2)
	p.rows = rows
	top := max(0, min(p.scroll, len(cs)-rows))
	p.scroll = top
	pos := "none"
	if len(cs) > 0 {
		pos = fmt.Sprintf("%d–%d of %d, newest first", top+1, min(top+rows, len(cs)), len(cs))
		if len(cs) > rows {
			pos += " · ↑/↓"
		}
	}
	out = append(out, fit(st.paint(cTitle, "closed trades")+st.paint(cMuted, " · "+pos), w))
	if len(cs) > 0 {
		head, body := closedRows(st, cs, top, rows, w)
		out = append(out, fit(st.paint(cHead, head), w))
		for _, l := range body {
			out = append(out, fit(l, w))
		}
	} else {
		out = append(out, fit(st.paint(cMuted, "(none yet)"), w))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", max(w, 0)))
	}
	return out[:max(h, 0)]
}

// positionRows are the open positions: bot, symbol, side, quantity, entry, mark, unrealized.
func positionRows(st *Styles, ps []engine.PositionView, n, w int) (string, []string) {
	price := func(f float64) string { return fmtPrice(f, priceDecimals(f)) }
	cols := []column{
		{"BOT", false, func(i int) (string, cls) { return ps[i].Bot, cTitle }},
		{"SYMBOL", false, func(i int) (string, cls) { return string(ps[i].Symbol), cPlain }},
		{"SIDE", false, func(i int) (string, cls) { return ps[i].Side, sideCls(ps[i].Side) }},
		{"QTY", true, func(i int) (string, cls) { return fmtQty(ps[i].Quantity), cPlain }},
		{"ENTRY", true, func(i int) (string, cls) { return price(ps[i].EntryPrice), cPlain }},
		{"MARK", true, func(i int) (string, cls) {
			if ps[i].Mark <= 0 {
				return "—", cMuted
			}
			return price(ps[i].Mark), cPlain
		}},
		{"UNREALIZED", true, func(i int) (string, cls) { return fmtSigned(ps[i].Unrealized, 2), signCls(ps[i].Unrealized) }},
		{"TP / SL", false, func(i int) (string, cls) {
			tp, sl := "—", "—"
			if ps[i].TakeProfit > 0 {
				tp = price(ps[i].TakeProfit)
			}
			if ps[i].StopLoss > 0 {
				sl = price(ps[i].StopLoss)
			}
			return tp + " / " + sl, cMuted
		}},
	}
	return table(st, cols, []int{7, 1, 3}, 0, n, len(ps), w)
}

// closedRows are the closed trades: bot, symbol, side, entry → exit, P&L, reason, exit time.
func closedRows(st *Styles, cs []engine.ClosedTradeView, top, n, w int) (string, []string) {
	price := func(f float64) string { return fmtPrice(f, priceDecimals(f)) }
	cols := []column{
		{"BOT", false, func(i int) (string, cls) { return cs[i].Bot, cTitle }},
		{"SYMBOL", false, func(i int) (string, cls) { return string(cs[i].Symbol), cPlain }},
		{"SIDE", false, func(i int) (string, cls) { return cs[i].Side, sideCls(cs[i].Side) }},
		{"ENTRY → EXIT", false, func(i int) (string, cls) {
			return price(cs[i].EntryPrice) + " → " + price(cs[i].ExitPrice), cPlain
		}},
		{"P&L", true, func(i int) (string, cls) { return fmtSigned(cs[i].PnL, 2), signCls(cs[i].PnL) }},
		{"REASON", false, func(i int) (string, cls) { return cs[i].Reason, cMuted }},
		{"CLOSED", false, func(i int) (string, cls) { return cs[i].ExitTime.UTC().Format("01-02 15:04"), cMuted }},
	}
	return table(st, cols, []int{6, 1, 5}, top, n, len(cs), w)
}

// chartLines draws the chosen equity curve in exactly h lines of w cells: its name, then the
// equity over its drawdown (the Jobs result's chart).
func (p *positionsPane) chartLines(w, h int) []string {
	if p.charts != nil && p.cw == w && p.ch == h {
		return p.charts
	}
	p.cw, p.ch = w, h
	st := p.c.Styles
	name := p.curveName()
	pts := p.pf.Equity
	label := "equity of the book (every bot)"
	if name != "" {
		pts = p.pf.PerBot[name]
		label = "equity of bot " + name
	}
	if len(p.curves) > 1 {
		label += " · b: next curve"
	}
	out := []string{fit(st.paint(cTitle, label), w)}
	times := make([]int64, len(pts))
	vals := make([]float64, len(pts))
	for i, pt := range pts {
		times[i], vals[i] = pt.Time.UnixMilli(), pt.Equity
	}
	var lines []string
	if len(pts) >= 2 && h-1 >= chartMinH && w >= minChartW {
		m := engine.ComputeMetrics(engine.MetricsInput{Times: times, Equity: vals})
		lines = p.chart.build(st, times, vals, engine.Drawdowns(vals), m, w, h-1)
	}
	if lines == nil {
		msg := "enlarge the terminal to see the equity curve"
		if len(pts) < 2 {
			msg = "no equity curve yet"
		}
		lines = centered(msg, w, h-1)
	}
	for _, l := range lines {
		out = append(out, fit(l, w))
	}
	p.charts = out
	return out
}

func (p *positionsPane) ShortHelp() []key.Binding {
	s := &shortKeys
	return []key.Binding{s.Curve, s.Scroll, s.Refresh}
}

func (p *positionsPane) FullHelp() [][]key.Binding {
	k := &positionsKeys
	return [][]key.Binding{{k.Curve, k.Scroll, k.Refresh}}
}
