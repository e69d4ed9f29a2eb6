package tui

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/internal/ring"
)

// logCap is how many log entries the Logs pane keeps.
const logCap = 2000

// logsLoadedMsg carries the engine's log ring read at start.
type logsLoadedMsg struct{ entries []engine.LogEntry }

type logLine struct {
	seq uint64
	e   engine.LogEntry
}

// logLevels are the minimum levels `l` cycles through.
var logLevels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// logsPane shows the engine log, newest at the bottom, following new entries until the user
// scrolls up.
type logsPane struct {
	c    *Common
	w, h int

	lines   *ring.Ring[logLine]
	nextSeq uint64
	loaded  bool
	pending []engine.LogEntry // entries received before the initial read arrived
	level   int               // index into logLevels

	follow bool
	anchor uint64 // seq of the top visible line when not following

	filtered []logLine // scratch
	dirty    bool
	view     string
}

func newLogsPane(c *Common) *logsPane {
	return &logsPane{c: c, lines: ring.New[logLine](logCap), follow: true, dirty: true}
}

func (p *logsPane) Title() string { return "Logs" }
func (p *logsPane) View() string  { return p.view }

func (p *logsPane) Init() tea.Cmd {
	b := p.c.Backend
	return func() tea.Msg { return logsLoadedMsg{entries: b.Logs(logCap)} }
}

func (p *logsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
}

func (p *logsPane) visible() int { return max(0, p.h-1) }

func (p *logsPane) push(e engine.LogEntry) {
	p.nextSeq++
	p.lines.Push(logLine{seq: p.nextSeq, e: e})
	p.dirty = true
}

func (p *logsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		p.handleKey(msg)
	case logsLoadedMsg:
		if p.loaded {
			return nil
		}
		p.loaded = true
		for _, e := range msg.entries {
			p.push(e)
		}
		// Entries published while the ring was being read may be in both: skip those not
		// newer than the last one read, unless they differ from every entry at that instant.
		var lastT time.Time
		if n := len(msg.entries); n > 0 {
			lastT = msg.entries[n-1].Time
		}
		for _, e := range p.pending {
			if e.Time.Before(lastT) || (e.Time.Equal(lastT) && containsEntry(msg.entries, e)) {
				continue
			}
			p.push(e)
		}
		p.pending = nil
		p.dirty = true
	case EventsMsg:
		for _, ev := range msg {
			if le, ok := ev.(engine.LogEvent); ok {
				if !p.loaded {
					if len(p.pending) < logCap {
						p.pending = append(p.pending, le.Entry)
					}
					continue
				}
				p.push(le.Entry)
			}
		}
	}
	return nil
}

func containsEntry(es []engine.LogEntry, e engine.LogEntry) bool {
	for i := len(es) - 1; i >= 0 && !es[i].Time.Before(e.Time); i-- {
		if es[i] == e {
			return true
		}
	}
	return false
}

// filter fills p.filtered with the entries at or above the minimum level.
func (p *logsPane) filter() []logLine {
	floor := logLevels[p.level]
	p.filtered = p.filtered[:0]
	for i := 0; i < p.lines.Len(); i++ {
		if l := p.lines.At(i); l.e.Level >= floor {
			p.filtered = append(p.filtered, l)
		}
	}
	return p.filtered
}

// topIndex is the index in the filtered lines of the first visible line.
func (p *logsPane) topIndex(f []logLine) int {
	maxTop := max(0, len(f)-p.visible())
	if p.follow {
		return maxTop
	}
	for i, l := range f {
		if l.seq >= p.anchor {
			return min(i, maxTop)
		}
	}
	return maxTop
}

// scrollTo moves the top visible line to index top and leaves follow mode.
func (p *logsPane) scrollTo(f []logLine, top int) {
	p.dirty = true
	if len(f) == 0 {
		return
	}
	top = max(0, min(top, len(f)-p.visible(), len(f)-1))
	p.follow = false
	p.anchor = f[top].seq
}

func (p *logsPane) handleKey(msg tea.KeyMsg) {
	k := &logsKeys
	f := p.filter()
	top := p.topIndex(f)
	page := max(1, p.visible()-1)
	switch {
	case key.Matches(msg, k.Up):
		p.scrollTo(f, top-1)
	case key.Matches(msg, k.Down):
		p.scrollDown(f, top+1)
	case key.Matches(msg, k.PageUp):
		p.scrollTo(f, top-page)
	case key.Matches(msg, k.PageDown):
		p.scrollDown(f, top+page)
	case key.Matches(msg, k.Top):
		p.scrollTo(f, 0)
	case key.Matches(msg, k.Bottom):
		p.follow = true
		p.dirty = true
	case key.Matches(msg, k.Level):
		p.level = (p.level + 1) % len(logLevels)
		p.dirty = true
	}
}

// scrollDown scrolls down; reaching the bottom resumes following.
func (p *logsPane) scrollDown(f []logLine, top int) {
	if top >= len(f)-p.visible() { // the newest line is visible: follow again
		p.follow = true
		p.dirty = true
		return
	}
	p.scrollTo(f, top)
}

func (p *logsPane) Frame(time.Time) bool {
	if !p.dirty {
		return false
	}
	p.dirty = false
	old := p.view
	p.view = p.render()
	return p.view != old
}

func levelClass(l slog.Level) cls {
	switch {
	case l >= slog.LevelError:
		return cErr
	case l >= slog.LevelWarn:
		return cWarn
	case l >= slog.LevelInfo:
		return cInfo
	}
	return cMuted
}

func (p *logsPane) render() string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	st := p.c.Styles
	f := p.filter()
	top := p.topIndex(f)
	vis := p.visible()

	mode := st.paint(cOK, "following")
	if !p.follow {
		mode = st.paint(cWarn, fmt.Sprintf("scrolled: %d–%d of %d", min(top+1, len(f)), min(top+vis, len(f)), len(f))) +
			st.paint(cMuted, " (G: follow)")
	}
	head := fmt.Sprintf("level ≥ %s (l) · %d entries · ", logLevels[p.level], len(f)) + mode
	lines := make([]string, 0, p.h)
	lines = append(lines, fit(head, p.w))

	var b strings.Builder
	for i := top; i < len(f) && len(lines) < p.h; i++ {
		e := f[i].e
		b.Reset()
		b.WriteString(e.Time.UTC().Format("15:04:05.000"))
		b.WriteByte(' ')
		st.write(&b, levelClass(e.Level), padRight(e.Level.String(), 5))
		b.WriteByte(' ')
		b.WriteString(strings.ReplaceAll(e.Message, "\n", " "))
		if e.Attrs != "" {
			b.WriteByte(' ')
			st.write(&b, cMuted, strings.ReplaceAll(e.Attrs, "\n", " "))
		}
		lines = append(lines, fit(b.String(), p.w))
	}
	if len(f) == 0 && len(lines) < p.h {
		lines = append(lines, fit(st.paint(cMuted, "no log entries"), p.w))
	}
	return pane(lines, p.w, p.h)
}

func (p *logsPane) ShortHelp() []key.Binding {
	return []key.Binding{shortKeys.Scroll, shortKeys.Page, shortKeys.GoEnds, logsKeys.Level}
}

func (p *logsPane) FullHelp() [][]key.Binding {
	k := &logsKeys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.Level}}
}
