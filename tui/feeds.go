package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
)

// feedsRefresh is how often the Feeds table is rebuilt while visible: ages change every
// frame, but once a second is enough to read them and keeps SSH traffic low.
const feedsRefresh = time.Second

// feedsPane is the table of Backend.Health(): one row per stream.
type feedsPane struct {
	c    *Common
	w, h int

	rows  []engine.StreamHealth
	top   int // first visible row
	last  time.Time
	dirty bool
	view  string
}

func newFeedsPane(c *Common) *feedsPane { return &feedsPane{c: c, dirty: true} }

func (p *feedsPane) Title() string { return "Feeds" }
func (p *feedsPane) Init() tea.Cmd { return nil }
func (p *feedsPane) View() string  { return p.view }
func (p *feedsPane) visible() int  { return max(0, p.h-3) }
func (p *feedsPane) maxTop() int   { return max(0, len(p.rows)-p.visible()) }
func (p *feedsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
}

func (p *feedsPane) Update(msg tea.Msg) tea.Cmd {
	if msg, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(msg, feedsKeys.Up):
			p.top = max(0, p.top-1)
			p.dirty = true
		case key.Matches(msg, feedsKeys.Down):
			p.top = min(p.maxTop(), p.top+1)
			p.dirty = true
		}
	}
	return nil
}

// Frame re-reads the health at most once a second (or at once after a key or a resize).
func (p *feedsPane) Frame(now time.Time) bool {
	if !p.dirty && now.Sub(p.last) < feedsRefresh {
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
		return a.Channel < b.Channel
	})
	p.top = min(p.top, p.maxTop())
	old := p.view
	p.view = p.render(p.c.Backend.Now())
	return p.view != old
}

type feedCol struct {
	head, short string
	right       bool
	cell        func(h engine.StreamHealth, now time.Time) string
}

var feedCols = []feedCol{
	{"EXCHANGE", "EXCH", false, func(h engine.StreamHealth, _ time.Time) string { return h.Exchange }},
	{"SYMBOL", "SYMBOL", false, func(h engine.StreamHealth, _ time.Time) string { return string(h.Symbol) }},
	{"CHANNEL", "CHAN", false, func(h engine.StreamHealth, _ time.Time) string { return h.Channel }},
	{"STATE", "STATE", false, func(h engine.StreamHealth, _ time.Time) string { return string(h.State) }},
	{"MSG/S", "MSG/S", true, func(h engine.StreamHealth, _ time.Time) string { return fmtRate(h.MsgsPerSec) }},
	{"MESSAGES", "MSGS", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Messages) }},
	{"LAST MSG", "AGE", true, func(h engine.StreamHealth, now time.Time) string {
		return fmtAge(h.Age, h.LastMessage.IsZero())
	}},
	{"RECONNECTS", "RECON", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Reconnects) }},
	{"GAPS", "GAPS", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Gaps) }},
	{"RESYNCS", "RSYNC", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Resyncs) }},
	{"BACKFILLED", "BFILL", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Backfilled) }},
	{"LATE", "LATE", true, func(h engine.StreamHealth, _ time.Time) string { return fmtCount(h.Late) }},
}

const stateCol = 3

func stateClass(s engine.StreamState) cls {
	switch s {
	case engine.StateConnected:
		return cOK
	case engine.StateConnecting, engine.StateReconnecting:
		return cWarn
	case engine.StatePaused, engine.StateStopped:
		return cMuted
	}
	return cPlain
}

// render builds the table: long headers when they fit, else short ones, else without the
// exchange column (it is on the status line) and finally cut at the right edge.
func (p *feedsPane) render(now time.Time) string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	st := p.c.Styles
	cells := make([][]string, len(p.rows))
	for i, r := range p.rows {
		cells[i] = make([]string, len(feedCols))
		for j, col := range feedCols {
			cells[i][j] = col.cell(r, now)
		}
	}
	sepW := 2
	widths := func(short bool) ([]int, int) {
		ws := make([]int, len(feedCols))
		total := -sepW
		for j, col := range feedCols {
			ws[j] = len(col.head)
			if short {
				ws[j] = len(col.short)
			}
			for _, row := range cells {
				ws[j] = max(ws[j], len([]rune(row[j])))
			}
			total += ws[j] + sepW
		}
		return ws, total
	}
	short := false
	ws, total := widths(false)
	if total > p.w {
		short, sepW = true, 1
		ws, total = widths(true)
	}
	skip := -1
	if total > p.w {
		skip = 0
	}

	var counts = map[engine.StreamState]int{}
	for _, r := range p.rows {
		counts[r.State]++
	}
	var sum strings.Builder
	fmt.Fprintf(&sum, "%d streams", len(p.rows))
	for _, s := range []engine.StreamState{engine.StateConnected, engine.StateConnecting, engine.StateReconnecting, engine.StatePaused, engine.StateStopped} {
		if counts[s] > 0 {
			sum.WriteString(" · ")
			sum.WriteString(st.paint(stateClass(s), fmt.Sprintf("%d %s", counts[s], s)))
		}
	}
	right := st.paint(cMuted, "engine clock "+now.UTC().Format("15:04:05"))

	lines := make([]string, 0, p.h)
	lines = append(lines, spread(sum.String(), right, p.w), "")

	row := func(vals []string, head bool, state engine.StreamState) string {
		var b strings.Builder
		first := true
		for j, col := range feedCols {
			if j == skip {
				continue
			}
			if !first {
				b.WriteString(strings.Repeat(" ", sepW))
			}
			first = false
			v := vals[j]
			if col.right {
				v = padLeft(v, ws[j])
			} else {
				v = padRight(v, ws[j])
			}
			switch {
			case head:
				st.write(&b, cHead, v)
			case j == stateCol:
				st.write(&b, stateClass(state), v)
			default:
				b.WriteString(v)
			}
		}
		return fit(b.String(), p.w)
	}
	heads := make([]string, len(feedCols))
	for j, col := range feedCols {
		heads[j] = col.head
		if short {
			heads[j] = col.short
		}
	}
	lines = append(lines, row(heads, true, ""))
	if len(p.rows) == 0 {
		lines = append(lines, st.paint(cMuted, "no streams"))
	}
	for i := p.top; i < len(p.rows) && len(lines) < p.h; i++ {
		lines = append(lines, row(cells[i], false, p.rows[i].State))
	}
	return pane(lines, p.w, p.h)
}

func (p *feedsPane) ShortHelp() []key.Binding { return []key.Binding{shortKeys.Scroll} }
func (p *feedsPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{feedsKeys.Up, feedsKeys.Down}}
}
