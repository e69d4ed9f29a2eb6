package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tradeconsole/tradeconsole/engine"
)

// feedsRefresh is how often the Feeds table is rebuilt while visible: ages change every
// frame, but once a second is enough to read them and keeps SSH traffic low.
const feedsRefresh = time.Second

// feedsPane is the table of Backend.Health(): one row per stream (exchange, symbol, channel),
// with its state and counters, and under the table the reason behind a stream's state (the
// selected one's, or else the most relevant one reported).
//
//	9 streams · 7 connected · 1 reconnecting · 1 resyncing          engine clock 09:43:12
//
//	  EXCHANGE  SYMBOL   CHANNEL  STATE        MSG/S  MESSAGES  LAST MSG  RECONNECTS …
//	▸ bybit     BTCUSDT  book     resyncing     12.0     98765      0.1s           2 …
//	  …
//
//	bybit BTCUSDT book · resyncing · seq gap: prevSeqId 15, have 12
//
// Narrow screens get short headers (MSGS, AGE, RECONN, CKSUM, RESYNC, BAD, BACKFILL) and lose
// columns in the order of feedDrop; a wide one adds each stream's detail as a last column.
type feedsPane struct {
	c    *Common
	w, h int

	rows  []engine.StreamHealth
	top   int       // first visible row
	sel   int       // selected row; -1: none (the detail line then shows the most relevant one)
	selID streamKey // the selected stream, kept across re-reads
	last  time.Time
	dirty bool
	view  string
}

// streamKey identifies a stream across re-reads of the health.
type streamKey struct{ exchange, symbol, channel string }

func keyOf(h engine.StreamHealth) streamKey {
	return streamKey{h.Exchange, string(h.Symbol), h.Channel}
}

func newFeedsPane(c *Common) *feedsPane { return &feedsPane{c: c, dirty: true, sel: -1} }

func (p *feedsPane) Title() string { return "Feeds" }
func (p *feedsPane) Init() tea.Cmd { return nil }
func (p *feedsPane) View() string  { return p.view }

// detailLines is how many lines the detail under the table gets: one, up to three on a tall
// screen; none when the pane is too short to spare a blank line and a detail line.
func (p *feedsPane) detailLines() int {
	switch {
	case p.h >= 30:
		return 3
	case p.h >= 7:
		return 1
	}
	return 0
}

// visible is how many table rows fit: the summary, a blank line and the header above; a blank
// line and the detail below.
func (p *feedsPane) visible() int {
	n := p.h - 3
	if d := p.detailLines(); d > 0 {
		n -= 1 + d
	}
	return max(0, n)
}

func (p *feedsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
}

// Update moves the selection (the first key selects the first visible row); the table
// scrolls to keep it in view.
func (p *feedsPane) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok || len(p.rows) == 0 {
		return nil
	}
	d := 0
	switch {
	case key.Matches(k, feedsKeys.Up):
		d = -1
	case key.Matches(k, feedsKeys.Down):
		d = 1
	default:
		return nil
	}
	if p.sel < 0 {
		p.sel = min(p.top, len(p.rows)-1)
	} else {
		p.sel = max(0, min(len(p.rows)-1, p.sel+d))
	}
	p.selID = keyOf(p.rows[p.sel])
	p.follow()
	p.dirty = true
	return nil
}

// follow scrolls so that the selected row is visible (when any row shows).
func (p *feedsPane) follow() {
	sel, v := p.sel, p.visible()
	if v <= 0 {
		sel = -1
	}
	p.top = scrollTop(p.top, sel, v, len(p.rows))
}

// Frame re-reads the health at most once a second (or at once after a key or a resize).
func (p *feedsPane) Frame(now time.Time) bool {
	if !p.dirty && now.Sub(p.last) < feedsRefresh && now.Sub(p.last) >= 0 {
		return false
	}
	p.dirty = false
	p.last = now
	p.rows = append(p.rows[:0], p.c.Backend.Health()...)
	sort.SliceStable(p.rows, func(i, j int) bool {
		a, b := p.rows[i], p.rows[j]
		if a.Exchange != b.Exchange {
			return a.Exchange < b.Exchange
		}
		if a.Symbol != b.Symbol {
			return a.Symbol < b.Symbol
		}
		return channelRank(a.Channel) < channelRank(b.Channel) ||
			channelRank(a.Channel) == channelRank(b.Channel) && a.Channel < b.Channel
	})
	if p.sel >= 0 {
		p.sel = -1
		for i, r := range p.rows {
			if keyOf(r) == p.selID {
				p.sel = i
				break
			}
		}
	}
	p.follow()
	old := p.view
	p.view = p.render(p.c.Backend.Now())
	return p.view != old
}

// channelRank orders a symbol's streams: trades, book, candles, then anything else.
func channelRank(ch string) int {
	switch ch {
	case "trades":
		return 0
	case "book":
		return 1
	case "candles":
		return 2
	}
	return 3
}

// feedCol is one column of the table: its long and short heads, alignment, and its cell (the
// text and its class) for a stream.
type feedCol struct {
	head, short string
	right       bool
	// optional columns (checksums, malformed frames) are only shown when some stream counts
	// one: most venues have no checksums, and a column of zeros costs room at 80 columns.
	optional bool
	cell     func(h engine.StreamHealth) (string, cls)
}

// counterCell formats a counter; warn says a non-zero one is worth the warning colour.
func counterCell(n int64, warn bool) (string, cls) {
	if warn && n > 0 {
		return fmtCount(n), cWarn
	}
	return fmtCount(n), cPlain
}

const (
	fcExchange = iota
	fcSymbol
	fcChannel
	fcState
	fcRate
	fcMessages
	fcAge
	fcReconnects
	fcGaps
	fcChecksums
	fcResyncs
	fcMalformed
	fcBackfilled
	fcLate
	nFeedCols
)

var feedCols = [nFeedCols]feedCol{
	fcExchange: {head: "EXCHANGE", short: "EXCH", cell: func(h engine.StreamHealth) (string, cls) { return orStar(h.Exchange), cPlain }},
	fcSymbol:   {head: "SYMBOL", short: "SYMBOL", cell: func(h engine.StreamHealth) (string, cls) { return orStar(string(h.Symbol)), cPlain }},
	fcChannel:  {head: "CHANNEL", short: "CHAN", cell: func(h engine.StreamHealth) (string, cls) { return orStar(h.Channel), cPlain }},
	fcState: {head: "STATE", short: "STATE", cell: func(h engine.StreamHealth) (string, cls) {
		return string(h.State), stateClass(h.State, h.Detail)
	}},
	fcRate:     {head: "MSG/S", short: "MSG/S", right: true, cell: func(h engine.StreamHealth) (string, cls) { return fmtRate(h.MsgsPerSec), cPlain }},
	fcMessages: {head: "MESSAGES", short: "MSGS", right: true, cell: func(h engine.StreamHealth) (string, cls) { return fmtCount(h.Messages), cPlain }},
	fcAge: {head: "LAST MSG", short: "AGE", right: true, cell: func(h engine.StreamHealth) (string, cls) {
		return fmtAge(h.Age, h.LastMessage.IsZero()), cPlain
	}},
	fcReconnects: {head: "RECONNECTS", short: "RECONN", right: true, cell: func(h engine.StreamHealth) (string, cls) { return counterCell(h.Reconnects, false) }},
	fcGaps:       {head: "GAPS", short: "GAPS", right: true, cell: func(h engine.StreamHealth) (string, cls) { return counterCell(h.Gaps, true) }},
	fcChecksums: {head: "CHECKSUMS", short: "CKSUM", right: true, optional: true, cell: func(h engine.StreamHealth) (string, cls) {
		return counterCell(h.Checksums, true)
	}},
	fcResyncs: {head: "RESYNCS", short: "RESYNC", right: true, cell: func(h engine.StreamHealth) (string, cls) { return counterCell(h.Resyncs, false) }},
	fcMalformed: {head: "MALFORMED", short: "BAD", right: true, optional: true, cell: func(h engine.StreamHealth) (string, cls) {
		return counterCell(h.Malformed, true)
	}},
	fcBackfilled: {head: "BACKFILLED", short: "BACKFILL", right: true, cell: func(h engine.StreamHealth) (string, cls) { return counterCell(h.Backfilled, false) }},
	fcLate:       {head: "LATE", short: "LATE", right: true, cell: func(h engine.StreamHealth) (string, cls) { return counterCell(h.Late, false) }},
}

// feedDrop is the order in which narrow screens lose columns: the message count, late trades,
// the exchange (the status line names it), malformed frames, backfilled candles, checksums,
// resyncs, gaps, reconnects, the age and the rate. Symbol, channel and state always stay.
var feedDrop = []int{fcMessages, fcLate, fcExchange, fcMalformed, fcBackfilled, fcChecksums, fcResyncs,
	fcGaps, fcReconnects, fcAge, fcRate}

// detailColMin is the least room a wide screen must have left for the DETAIL column.
const detailColMin = 16

func orStar(s string) string {
	if s == "" {
		return "*" // a connection-wide stream
	}
	return s
}

// stateClass colours a stream state: connected ok; connecting, reconnecting and resyncing a
// warning; paused muted; stopped muted, or an error when it stopped for a reason.
func stateClass(s engine.StreamState, detail string) cls {
	switch s {
	case engine.StateConnected:
		return cOK
	case engine.StateConnecting, engine.StateReconnecting, engine.StateResyncing:
		return cWarn
	case engine.StatePaused:
		return cMuted
	case engine.StateStopped:
		if detail != "" {
			return cErr
		}
		return cMuted
	}
	return cPlain
}

// feedLayout is the columns a render shows and how.
type feedLayout struct {
	shown  [nFeedCols]bool
	widths [nFeedCols]int
	short  bool
	sep    int
	detail int // width of the DETAIL column; 0: none
}

const feedGutter = 2 // "▸ " before the selected row

// layoutFeeds picks the columns for w cells: long heads with two spaces between columns when
// all fit (and a DETAIL column with what is left when that is enough), else short heads with
// one space, dropping columns in the order of feedDrop until the rest fits.
func layoutFeeds(cells [][nFeedCols]string, details bool, w int) feedLayout {
	var l feedLayout
	for j, col := range feedCols {
		l.shown[j] = !col.optional
		if col.optional {
			for _, row := range cells {
				if row[j] != "0" {
					l.shown[j] = true
					break
				}
			}
		}
	}
	measure := func() int {
		total := feedGutter - l.sep
		for j, col := range feedCols {
			if !l.shown[j] {
				continue
			}
			head := col.head
			if l.short {
				head = col.short
			}
			l.widths[j] = len([]rune(head))
			for _, row := range cells {
				l.widths[j] = max(l.widths[j], ansi.StringWidth(row[j]))
			}
			total += l.widths[j] + l.sep
		}
		return total
	}
	l.sep = 2
	if total := measure(); total <= w {
		if rest := w - total - l.sep; details && rest >= detailColMin {
			l.detail = rest
		}
		return l
	}
	l.short, l.sep = true, 1
	total := measure()
	for _, j := range feedDrop {
		if total <= w {
			break
		}
		if l.shown[j] {
			l.shown[j] = false
			total -= l.widths[j] + l.sep
		}
	}
	return l
}

// render builds the pane: the summary, the table and the detail line.
func (p *feedsPane) render(now time.Time) string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	st := p.c.Styles
	cells := make([][nFeedCols]string, len(p.rows))
	classes := make([][nFeedCols]cls, len(p.rows))
	details := false
	for i, r := range p.rows {
		for j, col := range feedCols {
			cells[i][j], classes[i][j] = col.cell(r)
		}
		details = details || r.Detail != ""
	}
	l := layoutFeeds(cells, details, p.w)

	counts := map[engine.StreamState]int{}
	for _, r := range p.rows {
		counts[r.State]++
	}
	var sum strings.Builder
	fmt.Fprintf(&sum, "%d streams", len(p.rows))
	for _, s := range []engine.StreamState{engine.StateConnected, engine.StateConnecting, engine.StateReconnecting,
		engine.StateResyncing, engine.StatePaused, engine.StateStopped} {
		if counts[s] > 0 {
			sum.WriteString(" · ")
			sum.WriteString(st.paint(stateClass(s, ""), fmt.Sprintf("%d %s", counts[s], s)))
		}
	}
	right := st.paint(cMuted, "engine clock "+now.UTC().Format("15:04:05"))

	lines := make([]string, 0, p.h)
	lines = append(lines, spread(sum.String(), right, p.w))
	if fl, ok := p.c.Backend.FrameLatency(); ok {
		// What the console adds to the venue's data: socket read to the bus, per frame.
		lines = append(lines, fit(st.paint(cMuted, fmt.Sprintf("frame read → bus: p50 %s · p99 %s · max %s · %s frames",
			fmtLatency(fl.P50), fmtLatency(fl.P99), fmtLatency(fl.Max), fmtCount(fl.Frames))), p.w))
	} else {
		lines = append(lines, "")
	}

	row := func(i int) string {
		var b strings.Builder
		switch {
		case i < 0:
			b.WriteString(strings.Repeat(" ", feedGutter))
		case i == p.sel:
			st.write(&b, cTitle, "▸ ")
		default:
			b.WriteString("  ")
		}
		first := true
		for j, col := range feedCols {
			if !l.shown[j] {
				continue
			}
			if !first {
				b.WriteString(strings.Repeat(" ", l.sep))
			}
			first = false
			v, c := col.head, cHead
			if l.short {
				v = col.short
			}
			if i >= 0 {
				v, c = cells[i][j], classes[i][j]
			}
			if col.right {
				v = padLeft(v, l.widths[j])
			} else {
				v = padRight(v, l.widths[j])
			}
			st.write(&b, c, v)
		}
		if l.detail > 0 {
			b.WriteString(strings.Repeat(" ", l.sep))
			if i < 0 {
				st.write(&b, cHead, "DETAIL")
			} else {
				b.WriteString(truncate(oneLine(p.rows[i].Detail), l.detail))
			}
		}
		return fit(b.String(), p.w)
	}
	lines = append(lines, row(-1))
	if len(p.rows) == 0 {
		lines = append(lines, st.paint(cMuted, "  no streams"))
	}
	for i, n := p.top, 0; i < len(p.rows) && n < p.visible(); i, n = i+1, n+1 {
		lines = append(lines, row(i))
	}
	if d := p.detailLines(); d > 0 {
		det := p.detail(d)
		for len(lines) < p.h-len(det) {
			lines = append(lines, "")
		}
		lines = append(lines, det...)
	}
	return pane(lines, p.w, p.h)
}

// detail is the reason behind the selected stream's state, or, with no selection, behind the
// most relevant one: the last stream in the table that is not connected and says why, else
// the last one with a detail. At most n lines.
func (p *feedsPane) detail(n int) []string {
	st := p.c.Styles
	i := p.sel
	if i < 0 {
		for k, r := range p.rows {
			switch {
			case r.Detail == "":
			case r.State != engine.StateConnected, i < 0, p.rows[i].State == engine.StateConnected:
				i = k
			}
		}
	}
	if i < 0 {
		if len(p.rows) == 0 {
			return nil
		}
		return []string{st.paint(cMuted, "no stream reported a reason · ↑/↓ select a stream")}
	}
	r := p.rows[i]
	head := newPainter(st)
	head.text(cTitle, orStar(r.Exchange)+" "+orStar(string(r.Symbol))+" "+orStar(r.Channel))
	head.text(cMuted, " · ")
	head.text(stateClass(r.State, r.Detail), string(r.State))
	head.text(cMuted, " · ")
	prefix := head.line()
	text := oneLine(r.Detail)
	if text == "" {
		return []string{truncate(prefix+st.paint(cMuted, "no reason reported"), p.w)}
	}
	pw := ansi.StringWidth(prefix)
	if p.w-pw < 20 || n == 1 {
		return []string{truncate(prefix+text, p.w)}
	}
	out := []string{}
	for k, l := range wrapText(text, p.w-pw) {
		if k == n {
			out[n-1] = truncate(out[n-1]+" "+l, p.w)
			break
		}
		if k == 0 {
			out = append(out, prefix+l)
		} else {
			out = append(out, strings.Repeat(" ", pw)+l)
		}
	}
	return out
}

// oneLine folds a multi-line reason (a venue's error body) onto one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func (p *feedsPane) ShortHelp() []key.Binding { return []key.Binding{shortKeys.Scroll} }
func (p *feedsPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{feedsKeys.Up, feedsKeys.Down}}
}
