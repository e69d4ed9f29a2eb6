package tui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/internal/ring"
	"github.com/tradeconsole/tradeconsole/market"
)

// candlesLoadedMsg is the result of an asynchronous load of the Market pane's selection.
type candlesLoadedMsg struct {
	seq     uint64
	sym     market.Symbol
	tf      market.Timeframe
	candles []market.Candle
	trades  []market.Trade
	err     error
}

// maxPending bounds the events kept while a load is in flight.
const maxPending = 4096

// loadTimeout bounds one candle load.
const loadTimeout = 30 * time.Second

// marketPane shows the candles, volume and trades tape of one symbol and timeframe, and its
// order flow: the book ladder and OBI / CVD mini-charts (see marketflow.go).
type marketPane struct {
	c    *Common
	w, h int

	syms []market.Symbol
	si   int
	tfs  []market.Timeframe
	ti   int

	// Loading: each selection change bumps seq; a result carrying another seq is stale.
	seq     uint64
	loading bool
	loadErr error
	pendC   []market.Candle // live events received while loading, applied after the load
	pendT   []market.Trade
	// Trades up to dedupeTime whose id is in dedupeIDs came with the load: skip them live.
	dedupeTime int64
	dedupeIDs  map[string]struct{}

	candles  *ring.Ring[market.Candle]
	tape     *ring.Ring[market.Trade]
	series   []market.Candle // scratch copy of candles, oldest first
	scroll   int             // candles between the newest and the right edge of the chart
	tapeMode int8            // 0: shown when wide enough; 1: shown; -1: hidden

	chart          candleChart
	chartW, chartH int
	tapeW          int
	flowW          int // width of the order-flow column (ladder and minis); 0: hidden

	// Order flow: read from the backend on the frame after an event of the symbol.
	flowWin   time.Duration // bar width of the mini-charts (1s when offered)
	flow      engine.OrderFlow
	hasFlow   bool
	bids      []market.Level
	asks      []market.Level
	flowBars  []market.FlowBar
	miniVals  []float64 // scratch
	flowLines []string  // cached column: chartH lines of flowW cells

	// Stream health of the symbol, re-read on the frame tick at most every healthRefresh (and
	// at once after a symbol change), never per event; a change marks what shows it dirty.
	healthAt    time.Time
	healthStale bool
	streamWarn  string            // "trades reconnecting · book resyncing"; "" when whole
	bookResync  bool              // the book is being rebuilt: the ladder says so
	degraded    []engine.Degraded // the symbol's spans of incomplete data, oldest first
	flags       []bool            // per candle of series: overlaps a degraded span (scratch)
	marked      bool              // a flagged candle is on screen: the header has the legend

	// Cached parts of the view: dirty rebuilds the header, chart and tape, flowDirty the
	// order-flow column; View joins them.
	head      [2]string
	body      []string
	tapeRows  []string
	dirty     bool
	flowDirty bool
	view      string
	frames    int // rebuilds, for tests
}

func newMarketPane(c *Common) *marketPane {
	b := c.Backend
	p := &marketPane{
		c:       c,
		syms:    b.Symbols(),
		tfs:     b.Timeframes(),
		candles: ring.New[market.Candle](c.Opts.ChartCandles),
		tape:    ring.New[market.Trade](c.Opts.TapeSize),
		dirty:   true,
		flowWin: miniWindow(b.FlowWindows()),
	}
	p.flowDirty = true
	p.healthStale = true
	p.ti = initialTimeframe(p.tfs, c.Opts.Timeframe)
	return p
}

// initialTimeframe is want when the backend offers it, else the first offered ≥ 1m, else the first.
func initialTimeframe(tfs []market.Timeframe, want market.Timeframe) int {
	for i, tf := range tfs {
		if want != 0 && tf == want {
			return i
		}
	}
	for i, tf := range tfs {
		if tf >= market.TF1m {
			return i
		}
	}
	return 0
}

func (p *marketPane) Title() string { return "Market" }

func (p *marketPane) Init() tea.Cmd { return p.reload(true) }

func (p *marketPane) sym() market.Symbol   { return itemAt(p.syms, p.si) }
func (p *marketPane) tf() market.Timeframe { return itemAt(p.tfs, p.ti) }

func (p *marketPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return p.handleKey(msg)
	case EventsMsg:
		p.onEvents(msg)
	case candlesLoadedMsg:
		p.onLoaded(msg)
	}
	return nil
}

func (p *marketPane) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := &marketKeys
	switch {
	case key.Matches(msg, k.NextSymbol):
		return p.selectSymbol(p.si + 1)
	case key.Matches(msg, k.PrevSymbol):
		return p.selectSymbol(p.si - 1)
	case key.Matches(msg, k.NextTF):
		return p.selectTimeframe(p.ti + 1)
	case key.Matches(msg, k.PrevTF):
		return p.selectTimeframe(p.ti - 1)
	case key.Matches(msg, k.Reload):
		return p.reload(false)
	case key.Matches(msg, k.Back):
		p.setScroll(p.scroll + p.scrollStep())
	case key.Matches(msg, k.Forward):
		p.setScroll(p.scroll - p.scrollStep())
	case key.Matches(msg, k.Oldest):
		p.setScroll(p.maxScroll())
	case key.Matches(msg, k.Live):
		p.setScroll(0)
	case key.Matches(msg, k.Tape):
		if p.tapeShown() {
			p.tapeMode = -1
		} else {
			p.tapeMode = 1
		}
		p.layout()
	}
	return nil
}

func (p *marketPane) graphW() int {
	if p.chart.graphW > 0 {
		return p.chart.graphW
	}
	return max(1, p.chartW-10)
}

func (p *marketPane) scrollStep() int { return max(1, p.graphW()/4) }
func (p *marketPane) maxScroll() int  { return max(0, p.candles.Len()-p.graphW()) }

func (p *marketPane) setScroll(s int) {
	s = max(0, min(s, p.maxScroll()))
	if s != p.scroll {
		p.scroll = s
		p.dirty = true
	}
}

func (p *marketPane) selectSymbol(i int) tea.Cmd {
	if len(p.syms) == 0 {
		return nil
	}
	i = cycle(i, len(p.syms))
	changed := i != p.si
	p.si = i
	p.flowDirty = true
	p.healthStale = true
	return p.reload(changed)
}

func (p *marketPane) selectTimeframe(i int) tea.Cmd {
	if len(p.tfs) == 0 {
		return nil
	}
	p.ti = cycle(i, len(p.tfs))
	return p.reload(false)
}

// reload starts an asynchronous load of the current selection. Update never blocks on the
// backend: the command runs in bubbletea's command goroutine, bounded by the program's
// context and a timeout.
func (p *marketPane) reload(clearTape bool) tea.Cmd {
	p.dirty = true
	p.scroll = 0
	p.candles.Reset()
	if clearTape {
		p.tape.Reset()
	}
	p.pendC, p.pendT = p.pendC[:0], p.pendT[:0]
	p.loadErr = nil
	if len(p.syms) == 0 || len(p.tfs) == 0 {
		p.loading = false
		return nil
	}
	p.seq++
	p.loading = true
	seq, sym, tf := p.seq, p.sym(), p.tf()
	b, ctx := p.c.Backend, p.c.ctx
	nc, nt := p.c.Opts.ChartCandles, p.c.Opts.TapeSize
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		cs, err := b.Candles(ctx, sym, tf, nc)
		if err != nil {
			return candlesLoadedMsg{seq: seq, sym: sym, tf: tf, err: err}
		}
		return candlesLoadedMsg{seq: seq, sym: sym, tf: tf, candles: cs, trades: b.RecentTrades(sym, nt)}
	}
}

func (p *marketPane) onLoaded(msg candlesLoadedMsg) {
	if msg.seq != p.seq || msg.sym != p.sym() || msg.tf != p.tf() {
		return // a result for a selection that is no longer current
	}
	p.loading = false
	p.dirty = true
	if msg.err != nil {
		p.loadErr = msg.err
		p.pendC, p.pendT = p.pendC[:0], p.pendT[:0]
		return
	}
	p.candles.Reset()
	for _, c := range msg.candles {
		p.applyCandle(c)
	}
	p.tape.Reset()
	p.dedupeTime, p.dedupeIDs = 0, nil
	for _, t := range msg.trades {
		p.tape.Push(t)
		if t.Time > p.dedupeTime {
			p.dedupeTime, p.dedupeIDs = t.Time, map[string]struct{}{}
		}
		if t.Time == p.dedupeTime {
			p.dedupeIDs[t.ID] = struct{}{}
		}
	}
	for _, c := range p.pendC {
		p.applyCandle(c)
	}
	for _, t := range p.pendT {
		p.applyTrade(t)
	}
	p.pendC, p.pendT = p.pendC[:0], p.pendT[:0]
}

func (p *marketPane) onEvents(evs EventsMsg) {
	sym, tf := p.sym(), p.tf()
	for _, ev := range evs {
		switch e := ev.(type) {
		case engine.CandleEvent:
			if e.Candle.Symbol != sym || e.Candle.Timeframe != tf {
				continue
			}
			if p.loading {
				if len(p.pendC) < maxPending {
					p.pendC = append(p.pendC, e.Candle)
				}
				continue
			}
			if p.loadErr == nil {
				p.applyCandle(e.Candle)
			}
		case engine.TradeEvent:
			if e.Trade.Symbol != sym {
				continue
			}
			p.flowDirty = true // the CVD moved
			if p.loading {
				if len(p.pendT) < maxPending {
					p.pendT = append(p.pendT, e.Trade)
				}
				continue
			}
			p.applyTrade(e.Trade)
		case engine.OrderFlowEvent:
			if e.Flow.Symbol == sym {
				p.flowDirty = true
			}
		case engine.AlertEvent:
			if e.Symbol == sym {
				p.flowDirty = true
			}
		}
	}
}

// applyCandle replaces the last candle when the time is equal, appends a newer one and
// ignores older ones.
func (p *marketPane) applyCandle(c market.Candle) {
	last, ok := p.candles.Last()
	switch {
	case !ok || c.Time > last.Time:
		p.candles.Push(c)
		if p.scroll > 0 { // keep a scrolled-back view where it is
			p.scroll++
		}
	case c.Time == last.Time:
		p.candles.SetLast(c)
	default:
		return
	}
	p.dirty = true
}

func (p *marketPane) applyTrade(t market.Trade) {
	if t.Time < p.dedupeTime {
		return
	}
	if t.Time == p.dedupeTime {
		if _, dup := p.dedupeIDs[t.ID]; dup {
			return
		}
	}
	p.tape.Push(t)
	p.dirty = true
}

// ---- layout and rendering ----

const (
	tapeW       = 36  // time 12, side 2, price 10, size 9, three spaces
	tapeAutoMin = 110 // the tape is shown by default from this width on
)

func (p *marketPane) tapeShown() bool {
	if p.w-tapeW-1 < minChartW {
		return false
	}
	switch p.tapeMode {
	case 1:
		return true
	case -1:
		return false
	}
	return p.w >= tapeAutoMin
}

func (p *marketPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.layout()
}

func (p *marketPane) layout() {
	p.chartH = max(0, p.h-2)
	p.tapeW = 0
	if p.tapeShown() {
		p.tapeW = tapeW
	}
	rest := p.w
	if p.tapeW > 0 {
		rest = p.w - p.tapeW - 1
	}
	p.flowW = 0
	if fw := flowColumnWidth(p.w); rest-fw-1 >= flowMinChartW && p.chartH >= flowMinH {
		p.flowW = fw
	}
	p.chartW = rest
	if p.flowW > 0 {
		p.chartW = rest - p.flowW - 1
	}
	p.chart.setSize(p.chartW, p.chartH)
	p.dirty, p.flowDirty = true, true
}

func (p *marketPane) View() string { return p.view }

func (p *marketPane) Frame(now time.Time) bool {
	p.pollHealth(now)
	if !p.dirty && !p.flowDirty {
		return false
	}
	p.frames++
	if p.dirty {
		p.render()
	}
	if p.flowDirty {
		p.renderFlow()
		if p.bookResync {
			p.resyncLadder()
		}
	}
	p.dirty, p.flowDirty = false, false
	old := p.view
	p.view = p.compose()
	return p.view != old
}

// compose joins the cached parts: exactly h lines of w cells.
func (p *marketPane) compose() string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	st := p.c.Styles
	lines := make([]string, 0, p.h)
	lines = append(lines, p.head[0], p.head[1])
	sep := st.paint(cMuted, "│")
	var b strings.Builder
	for i := 0; i < p.chartH && len(lines) < p.h; i++ {
		b.Reset()
		b.WriteString(p.body[i])
		if p.flowW > 0 {
			b.WriteString(sep)
			b.WriteString(p.flowLines[i])
		}
		if p.tapeW > 0 {
			b.WriteString(sep)
			b.WriteString(p.tapeRows[i])
		}
		lines = append(lines, b.String())
	}
	if len(lines) > p.h {
		lines = lines[:p.h]
	}
	return strings.Join(lines, "\n")
}

// render rebuilds the header, the chart and the tape.
func (p *marketPane) render() {
	if p.w <= 0 || p.h <= 0 {
		return
	}
	st := p.c.Styles
	p.series = p.candles.AppendTo(p.series[:0])
	p.scroll = max(0, min(p.scroll, p.maxScroll())) // live appends may have pushed it past the oldest

	var body []string
	start, end := 0, 0
	switch {
	case len(p.syms) == 0 || len(p.tfs) == 0:
		body = centered("no symbols or timeframes configured", p.chartW, p.chartH)
	case p.loadErr != nil:
		body = centered(fmt.Sprintf("could not load %s %s candles:\n%v\npress r to retry", p.sym(), p.tf(), p.loadErr), p.chartW, p.chartH)
	case p.loading:
		body = centered(fmt.Sprintf("loading %s %s…", p.sym(), p.tf()), p.chartW, p.chartH)
	case len(p.series) == 0:
		body = centered(fmt.Sprintf("no %s %s candles yet — waiting for trades", p.sym(), p.tf()), p.chartW, p.chartH)
	case !p.chart.valid:
		body = centered("enlarge the terminal to see the chart", p.chartW, p.chartH)
	default:
		p.flags = degradedFlags(p.flags, p.series, p.tf(), p.degraded)
		p.chart.flags = p.flags
		start, end, body = p.chart.build(p.series, p.tf(), p.scroll, st)
		if body == nil {
			body = centered("enlarge the terminal to see the chart", p.chartW, p.chartH)
		}
	}
	p.marked = false
	if body != nil && end <= len(p.flags) {
		p.marked = slices.Contains(p.flags[start:end], true)
	}
	h1, h2 := p.header(start, end)
	p.head = [2]string{fit(h1, p.w), fit(h2, p.w)}
	p.body = p.body[:0]
	for i := 0; i < p.chartH; i++ {
		p.body = append(p.body, fit(body[i], p.chartW))
	}
	p.tapeRows = nil
	if p.tapeW > 0 {
		p.tapeRows = p.tapeLines(p.chartH)
	}
}

// header returns the two header lines for the window series[start:end].
func (p *marketPane) header(start, end int) (string, string) {
	st := p.c.Styles
	var l1, l2 strings.Builder
	l1.WriteString(st.paint(cTitle, string(p.sym())))
	l1.WriteString(" ")
	l1.WriteString(st.paint(cTitle, p.tf().String()))

	// Right of line 1: the timeframes to cycle through, the current one in brackets.
	var r1 strings.Builder
	if len(p.tfs) > 1 {
		r1.WriteString(st.paint(cMuted, "t:"))
		for i, tf := range p.tfs {
			r1.WriteByte(' ')
			if i == p.ti {
				r1.WriteString("[" + tf.String() + "]")
			} else {
				r1.WriteString(st.paint(cMuted, tf.String()))
			}
		}
	}

	n := len(p.series)
	switch {
	case p.loadErr != nil:
		l1.WriteString("  " + st.paint(cErr, "load failed"))
	case p.loading:
		l1.WriteString("  loading…")
	case n == 0:
		l1.WriteString("  no data")
	}
	// Line 2 starts with the warning about the symbol's streams, the one thing it must not lose.
	if p.streamWarn != "" {
		l2.WriteString(st.paint(cWarn, "⚠ "+p.streamWarn))
		l2.WriteString("  ")
	}
	if p.loading || p.loadErr != nil || n == 0 {
		if len(p.syms) > 1 {
			l2.WriteString(st.paint(cMuted, fmt.Sprintf("symbol %d/%d (s/S)", p.si+1, len(p.syms))))
		}
		return spread(l1.String(), r1.String(), p.w), l2.String()
	}

	last := p.series[n-1]
	dec := priceDecimals(last.Close)
	ref, label := p.reference()
	chg := last.Close - ref
	pct := 0.0
	if ref != 0 {
		pct = chg / ref * 100
	}
	c, glyph := cUp, "▲"
	if chg < 0 {
		c, glyph = cDown, "▼"
	}
	l1.WriteString("  last ")
	l1.WriteString(st.paint(cLast, fmtPrice(last.Close, dec)))
	l1.WriteString("  ")
	l1.WriteString(st.paint(c, fmt.Sprintf("%s %s (%s%%)", glyph, fmtSigned(chg, dec), fmtSigned(pct, 2))))
	l1.WriteString(" " + st.paint(cMuted, label))

	// Line 2: the visible range.
	if end > start {
		win := p.series[start:end]
		lo, hi, vol := win[0].Low, win[0].High, 0.0
		for _, k := range win {
			lo, hi, vol = min(lo, k.Low), max(hi, k.High), vol+k.Volume
		}
		from, to := msTime(win[0].Start()), msTime(win[len(win)-1].Time)
		layout := "01-02 15:04"
		switch {
		case p.tf() < market.TF1m:
			layout = "15:04:05"
		case p.tf() < market.TF1d && from.YearDay() == to.YearDay() && from.Year() == to.Year():
			layout = "15:04"
		}
		l2.WriteString(st.paint(cMuted, fmt.Sprintf("%d candles %s–%s  ", len(win), from.Format(layout), to.Format(layout))))
		l2.WriteString("H " + fmtPrice(hi, dec) + "  L " + fmtPrice(lo, dec) + "  vol " + fmtQty(vol))
	}
	var r2 strings.Builder
	if !st.Color {
		r2.WriteString("┃ up  █ down  ")
	}
	if p.scroll > 0 {
		r2.WriteString(st.paint(cWarn, fmt.Sprintf("◀ %d back", p.scroll)) + st.paint(cMuted, " (end: live)"))
	} else {
		r2.WriteString(st.paint(cOK, liveLabel(p.c.Backend)))
	}
	if p.marked { // the legend of the marks stays, at the cost of the range's end
		legend := st.paint(cWarn, "!") + " degraded data"
		if full := legend + "  " + r2.String(); ansi.StringWidth(l2.String())+1+ansi.StringWidth(full) <= p.w {
			return spread(l1.String(), r1.String(), p.w), spread(l2.String(), full, p.w)
		}
		return spread(l1.String(), r1.String(), p.w), spreadKeep(l2.String(), legend, p.w)
	}
	return spread(l1.String(), r1.String(), p.w), spread(l2.String(), r2.String(), p.w)
}

// spreadKeep is spread that keeps right whole, cutting left short to make room for it (right
// is dropped only when it does not fit at all).
func spreadKeep(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	switch {
	case lw+1+rw <= w:
		return spread(left, right, w)
	case rw+1 >= w:
		return fit(left, w)
	}
	return fit(truncate(left, w-rw-1), w-rw) + right
}

// healthRefresh is how often the Market pane re-reads its symbol's stream health and degraded
// spans while it is shown.
const healthRefresh = 500 * time.Millisecond

// pollHealth re-reads the symbol's stream states and degraded spans when they are due, and
// marks dirty what shows a change: the header and chart (the warning, the candle marks), the
// order-flow column (the ladder while the book resyncs). Called on frame ticks only.
func (p *marketPane) pollHealth(now time.Time) {
	if d := now.Sub(p.healthAt); !p.healthStale && d >= 0 && d < healthRefresh {
		return
	}
	p.healthStale, p.healthAt = false, now
	sym := p.sym()
	var warn string
	var resync bool
	var spans []engine.Degraded
	if sym != "" {
		b := p.c.Backend
		warn, resync = streamWarning(b.Health(), sym)
		spans = b.Degraded(sym)
	}
	if warn != p.streamWarn {
		p.streamWarn, p.dirty = warn, true
	}
	if resync != p.bookResync {
		p.bookResync, p.flowDirty = resync, true
	}
	if !slices.Equal(spans, p.degraded) {
		p.degraded, p.dirty = spans, true
	}
}

// streamWarning names sym's streams that are reconnecting or resyncing ("trades/book
// reconnecting · book resyncing"; "" when none), and whether its book is resyncing. A stream
// without a symbol is connection-wide: it counts for every symbol.
func streamWarning(hs []engine.StreamHealth, sym market.Symbol) (string, bool) {
	var reconn, resync []string
	book := false
	for _, h := range hs {
		if h.Symbol != sym && h.Symbol != "" {
			continue
		}
		ch := h.Channel
		if ch == "" {
			ch = "feed"
		}
		switch h.State {
		case engine.StateReconnecting:
			if !slices.Contains(reconn, ch) {
				reconn = append(reconn, ch)
			}
		case engine.StateResyncing:
			if !slices.Contains(resync, ch) {
				resync = append(resync, ch)
			}
			book = book || h.Channel == market.ChannelBook
		}
	}
	var parts []string
	if len(reconn) > 0 {
		parts = append(parts, strings.Join(reconn, "/")+" reconnecting")
	}
	if len(resync) > 0 {
		parts = append(parts, strings.Join(resync, "/")+" resyncing")
	}
	return strings.Join(parts, " · "), book
}

// degradedFlags marks, into flags (reused), the candles of series whose interval [T−tf, T)
// overlaps one of the spans [From, To) (To 0: still lasting); nil spans mark nothing.
func degradedFlags(flags []bool, series []market.Candle, tf market.Timeframe, spans []engine.Degraded) []bool {
	flags = flags[:0]
	if len(spans) == 0 {
		return flags
	}
	for range series {
		flags = append(flags, false)
	}
	ms := tf.Millis()
	for _, sp := range spans {
		// The first candle ending after the span starts, then on while it starts before the end.
		i := sort.Search(len(series), func(i int) bool { return series[i].Time > sp.From })
		for ; i < len(series); i++ {
			if sp.To != 0 && series[i].Time-ms >= sp.To {
				break
			}
			flags[i] = true
		}
	}
	return flags
}

// resyncLadder replaces the ladder with a message while the book is being rebuilt: the levels
// the engine still holds are not the venue's book.
func (p *marketPane) resyncLadder() {
	w, h := p.flowW, p.chartH
	if w <= 0 || h <= 0 || len(p.flowLines) < h {
		return
	}
	ladderH, _ := flowRows(h)
	if !p.hasFlow {
		ladderH = h
	}
	copy(p.flowLines, centered(p.c.Styles.paint(cWarn, "book resyncing…"), w, ladderH))
}

// reference is the price the change is measured against: the close 24 h before the last
// candle when the loaded candles reach that far, else the open of the first loaded candle.
func (p *marketPane) reference() (float64, string) {
	s := p.series
	last := s[len(s)-1]
	target := last.Time - 24*time.Hour.Milliseconds()
	if s[0].Time <= target {
		i := sort.Search(len(s), func(i int) bool { return s[i].Time > target }) - 1
		return s[i].Close, "24h"
	}
	layout := "15:04"
	switch {
	case p.tf() < market.TF1m:
		layout = "15:04:05"
	case p.tf() >= market.TF1d:
		layout = "2006-01-02"
	}
	return s[0].Open, "since " + msTime(s[0].Start()).Format(layout) + " (first loaded)"
}

// tapeLines renders the trades tape, newest on top: exactly h lines of tapeW cells.
func (p *marketPane) tapeLines(h int) []string {
	st := p.c.Styles
	lines := make([]string, 0, h)
	if h <= 0 {
		return lines
	}
	lines = append(lines, st.paint(cHead, fmt.Sprintf("%-12s %-2s %10s %9s", "time", "", "price", "size")))
	dec := 2
	if last, ok := p.tape.Last(); ok {
		dec = priceDecimals(last.Price)
	}
	var b strings.Builder
	for i := p.tape.Len() - 1; i >= 0 && len(lines) < h; i-- {
		t := p.tape.At(i)
		b.Reset()
		b.WriteString(msTime(t.Time).Format("15:04:05.000"))
		b.WriteByte(' ')
		c, side := cPlain, "· "
		switch t.Side {
		case market.Buy:
			c, side = cUp, "▲B"
		case market.Sell:
			c, side = cDown, "▼S"
		}
		st.write(&b, c, fmt.Sprintf("%s %10s %9s", side, fmtPrice(t.Price, dec), fmtQty(t.Size)))
		lines = append(lines, fit(b.String(), tapeW))
	}
	if p.tape.Len() == 0 && len(lines) < h {
		msg := "no trades yet"
		if p.loading {
			msg = "loading…"
		}
		lines = append(lines, st.paint(cMuted, msg))
	}
	for i := range lines {
		lines[i] = fit(lines[i], tapeW)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", tapeW))
	}
	return lines
}

func (p *marketPane) ShortHelp() []key.Binding {
	return []key.Binding{shortKeys.Symbol, shortKeys.Timeframe, shortKeys.History, shortKeys.Live, shortKeys.Tape}
}

func (p *marketPane) FullHelp() [][]key.Binding {
	k := &marketKeys
	return [][]key.Binding{
		{k.NextSymbol, k.PrevSymbol, k.NextTF, k.PrevTF, k.Reload},
		{k.Back, k.Forward, k.Oldest, k.Live, k.Tape},
	}
}
