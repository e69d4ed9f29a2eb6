package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tradeconsole/tradeconsole/engine"
)

// The panic key (!): from any tab (unless a form or a question takes the keys), it reads what
// Panic would do (PanicPreview, in a command) and asks in a modal overlay:
//
//	PANIC: stop 2 bots and flatten 1 position?
//	the bots it stops, the positions it flattens with their marks and unrealized P&L
//	y confirm · n/esc cancel
//
// y runs Panic (in a command) and reports on the status line: "panic: stopped 3 bots,
// flattened 2 positions"; when some of it failed the overlay stays and lists the errors. With
// nothing to stop the overlay says so and any key closes it.

// pauseKeyMsg is the p key (the global feed pause), to ask whether the shown pane takes it.
var pauseKeyMsg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'p'}}

// botsReadOnly is what the console says where another process runs the bots; botsElsewhere
// is its short form for notices.
const (
	botsReadOnly  = "Bots run in another tradeconsole process on this data dir; this one only lists them."
	botsElsewhere = "another tradeconsole process runs the bots"
)

type (
	panicPreviewMsg struct {
		seq uint64
		pv  engine.PanicPreview
		err error
	}
	panicDoneMsg struct {
		seq uint64
		rep engine.PanicReport
		err error
	}
	// botsChangedMsg tells the panes that show bots that many changed at once (a panic): they
	// re-read what they show.
	botsChangedMsg struct{}
)

// panicState is the overlay's state.
type panicState struct {
	seq     uint64
	loading bool // the preview is being read
	err     error
	pv      engine.PanicPreview
	running bool                // Panic is in flight
	report  *engine.PanicReport // shown when Panic reported errors
}

// empty reports whether the preview has nothing to stop.
func (s *panicState) empty() bool { return len(s.pv.Bots) == 0 && len(s.pv.Positions) == 0 }

// answered reports whether any key closes the overlay (nothing to do, an error, a report).
func (s *panicState) answered() bool {
	return !s.loading && !s.running && (s.err != nil || s.report != nil || s.empty())
}

func (m *Model) openPanic() tea.Cmd {
	b := m.c.Backend
	if !b.BotsEnabled() {
		m.notice = "panic: " + botsElsewhere + "; press ! there"
		return nil
	}
	m.showHelp = false
	m.panicSeq++
	m.panic = &panicState{seq: m.panicSeq, loading: true}
	m.panicView = ""
	m.stale = true
	seq, ctx := m.panicSeq, m.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		pv, err := b.PanicPreview(ctx)
		return panicPreviewMsg{seq: seq, pv: pv, err: err}
	}
}

func (m *Model) closePanic() {
	m.panic = nil
	m.panicView = ""
	m.stale = true
}

func (m *Model) onPanicPreview(msg panicPreviewMsg) {
	s := m.panic
	if s == nil || s.seq != msg.seq || !s.loading {
		return // cancelled
	}
	s.loading, s.pv, s.err = false, msg.pv, msg.err
	m.panicView = ""
}

func (m *Model) panicKey(msg tea.KeyMsg) tea.Cmd {
	s := m.panic
	switch {
	case s.running:
		return nil // it is being done: wait for the report
	case s.answered():
		m.closePanic()
		return nil
	case key.Matches(msg, panicKeys.No):
		m.closePanic()
		m.notice = "panic cancelled: nothing was stopped"
		return nil
	case s.loading || !key.Matches(msg, panicKeys.Yes):
		return nil
	}
	s.running = true
	m.panicView = ""
	b, ctx, seq := m.c.Backend, m.c.ctx, s.seq
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		rep, err := b.Panic(ctx)
		return panicDoneMsg{seq: seq, rep: rep, err: err}
	}
}

func (m *Model) onPanicDone(msg panicDoneMsg) tea.Cmd {
	changed := func() tea.Msg { return botsChangedMsg{} }
	if msg.err != nil {
		m.notice = "panic failed: " + firstLine(msg.err.Error())
		rep := msg.rep
		rep.Errors = append(rep.Errors, msg.err.Error())
		msg.rep = rep
	} else {
		m.notice = panicSummary(msg.rep)
	}
	s := m.panic
	if s != nil && s.seq == msg.seq {
		s.running = false
		if len(msg.rep.Errors) > 0 {
			rep := msg.rep
			s.report = &rep
			m.panicView = ""
		} else {
			m.closePanic()
		}
	}
	return changed
}

// panicSummary is the status line's report: "panic: stopped 3 bots, flattened 2 positions".
func panicSummary(r engine.PanicReport) string {
	s := fmt.Sprintf("panic: stopped %s, flattened %s", plural(r.Stopped, "bot"), plural(r.Flattened, "position"))
	if n := len(r.Errors); n > 0 {
		s += fmt.Sprintf("; %s: %s", plural(n, "error"), firstLine(r.Errors[0]))
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// panicHelp are the footer's keys while the overlay is open.
func (m *Model) panicHelp() []key.Binding {
	s := m.panic
	switch {
	case s.running:
		return nil
	case s.answered():
		return []key.Binding{shortKeys.AnyKey}
	case s.loading:
		return []key.Binding{panicKeys.No}
	}
	return []key.Binding{panicKeys.Yes, panicKeys.No}
}

// renderPanic draws the overlay's box: at most the body's size, its lists cut to fit.
func (m *Model) renderPanic() string {
	st := m.c.Styles
	s := m.panic
	w, h := m.c.Width, m.bodyHeight()
	// The box fits its widest line, within the screen: lines too wide are cut.
	maxW := min(w-2, 110)
	iw := maxW - 4 // inside the border and a space each side
	if iw < 8 || h < 3 {
		return ""
	}
	var head, tail []string
	var items []string
	switch {
	case s.loading:
		head = []string{st.paint(cErr, "PANIC: reading what would be stopped…")}
		tail = []string{st.paint(cMuted, "n/esc cancel")}
	case s.running:
		head = []string{st.paint(cErr, "PANIC: stopping every bot and flattening every position…")}
	case s.err != nil:
		head = []string{st.paint(cErr, "PANIC: could not read what would be stopped:")}
		for _, l := range strings.Split(s.err.Error(), "\n") {
			for _, wl := range wrapText(l, iw) {
				items = append(items, st.paint(cErr, wl))
			}
		}
		tail = []string{"", st.paint(cMuted, "nothing was stopped · any key closes")}
	case s.report != nil:
		head = []string{st.paint(cErr, panicSummary(engine.PanicReport{Stopped: s.report.Stopped, Flattened: s.report.Flattened})), "",
			st.paint(cErr, "errors:")}
		for _, e := range s.report.Errors {
			for i, wl := range wrapText(strings.ReplaceAll(e, "\n", " · "), iw-2) {
				p := "✗ "
				if i > 0 {
					p = "  "
				}
				items = append(items, st.paint(cErr, p+wl))
			}
		}
		tail = []string{"", st.paint(cMuted, "any key closes")}
	case s.empty():
		head = []string{st.paint(cTitle, "PANIC: nothing to stop"), "",
			"No bot is running and no position is open."}
		tail = []string{"", st.paint(cMuted, "any key closes")}
	default:
		head = []string{st.paint(cErr, fmt.Sprintf("PANIC: stop %s and flatten %s?", plural(len(s.pv.Bots), "bot"),
			plural(len(s.pv.Positions), "position")))}
		nw := 0 // the names' column
		for _, v := range s.pv.Bots {
			nw = max(nw, ansi.StringWidth(v.Spec.Name))
		}
		for _, p := range s.pv.Positions {
			nw = max(nw, ansi.StringWidth(p.Bot))
		}
		if len(s.pv.Bots) > 0 {
			items = append(items, "", st.paint(cHead, "bots it stops"))
			for _, v := range s.pv.Bots {
				items = append(items, panicBotLine(st, v, nw))
			}
		}
		if len(s.pv.Positions) > 0 {
			items = append(items, "", st.paint(cHead, "positions it flattens at market"))
			for _, pv := range s.pv.Positions {
				items = append(items, panicPositionLine(st, pv, nw))
			}
		}
		tail = []string{"", st.paint(cWarn, "y confirm") + st.paint(cMuted, " · ") + st.paint(cTitle, "n/esc cancel")}
	}
	// The lists give way first: keep the question and the answer keys.
	room := h - 2 - len(head) - len(tail)
	if room < 0 {
		tail = nil
		room = h - 2 - len(head)
	}
	if len(items) > max(room, 0) {
		keep := max(room-1, 0)
		more := len(items) - keep
		items = append(items[:keep:keep], st.paint(cMuted, fmt.Sprintf("  … %d more lines", more)))
		if room <= 0 {
			items = nil
		}
	}
	content := append(append(head, items...), tail...)
	if len(content) > h-2 {
		content = content[:max(h-2, 0)]
	}
	cw := 40
	for _, l := range content {
		cw = max(cw, ansi.StringWidth(l))
	}
	iw = min(iw, cw)
	bw := iw + 4
	pt := newPainter(st)
	out := make([]string, 0, len(content)+2)
	title := " PANIC "
	pt.text(cErr, "╭─"+title+strings.Repeat("─", max(0, bw-3-len(title)))+"╮")
	out = append(out, pt.line())
	side := st.paint(cErr, "│")
	for _, l := range content {
		out = append(out, side+" "+fit(truncate(l, iw), iw)+" "+side)
	}
	pt.text(cErr, "╰"+strings.Repeat("─", bw-2)+"╯")
	out = append(out, pt.line())
	return strings.Join(out, "\n")
}

// panicBotLine is a bot in the preview: name, strategy, market, status, P&L.
func panicBotLine(st *Styles, v engine.BotView, nameW int) string {
	status, c := botStatusText(v)
	return "  " + st.paint(cTitle, padRight(v.Spec.Name, nameW)) + "  " + v.Spec.Strategy + " " + v.Spec.Symbol + " " +
		v.Spec.Timeframe + "  " + st.paint(c, status) + "  P&L " + st.paint(signCls(v.PnL), fmtSigned(v.PnL, 2))
}

// panicPositionLine is a position in the preview: bot, symbol, side, size and entry, mark,
// unrealized P&L.
func panicPositionLine(st *Styles, p engine.PositionView, nameW int) string {
	return "  " + st.paint(cTitle, padRight(p.Bot, nameW)) + "  " + string(p.Symbol) + "  " + fmtPosition(st, &p) +
		"  mark " + fmtPrice(p.Mark, priceDecimals(p.Mark)) + "  unrealized " + st.paint(signCls(p.Unrealized), fmtSigned(p.Unrealized, 2))
}

// overlay draws box (lines of equal width) centred over the body lines (each w cells): the
// body shows around it.
func overlay(st *Styles, body, box []string, w int) []string {
	if len(box) == 0 || box[0] == "" {
		return body
	}
	bw := ansi.StringWidth(box[0])
	if bw > w || len(box) > len(body) {
		return body
	}
	x := (w - bw) / 2
	y := (len(body) - len(box)) / 2
	reset := ""
	if st.Color {
		reset = "\x1b[m" // a colour run of the body cut at the box's edge ends there
	}
	out := append([]string(nil), body...)
	for i, l := range box {
		base := body[y+i]
		out[y+i] = ansi.Truncate(base, x, "") + reset + l + reset + ansi.TruncateLeft(base, x+bw, "")
	}
	return out
}
