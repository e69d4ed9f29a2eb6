package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tradeconsole/tradeconsole/engine"
)

// Common is what every pane shares (soft-serve style): the screen size, the theme built from
// the output's renderer, the global key map, the backend and the options. Panes hold a
// pointer to the one value the root model owns.
type Common struct {
	Width, Height int // the whole screen
	Styles        *Styles
	Renderer      *lipgloss.Renderer
	Keys          *GlobalKeyMap
	Backend       Backend
	Opts          Options

	// wall is the wall clock of the model (tests replace it): panes stamp what they show for
	// a while (an alert) with it, and frame ticks carry the same clock.
	wall func() time.Time

	// ctx bounds the backend calls that commands make (candle loads); Run cancels it when
	// the program ends. New sets context.Background().
	ctx context.Context
}

// Component is one tab of the console. It is a tea.Model whose Update returns only a command:
// the root model owns the component and routes to it key messages (only when it has the
// focus) and data messages (always). Update only changes state and marks the component
// dirty; Frame rebuilds the cached strings when dirty (the root calls it on frame ticks and
// right after a key), and View returns the cache, so View is cheap and stable.
type Component interface {
	Title() string
	Init() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	// Frame rebuilds the cached view if needed and reports whether it changed. now is the
	// wall clock of the frame tick.
	Frame(now time.Time) bool
	View() string
	SetSize(width, height int)
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// inputTaker is implemented by a Component that takes every key for a while: a form's text
// fields, a y/n question. While TakesInput reports true the root sends it every key but
// ctrl+c, so that typed digits and letters are text, not tab switches or shortcuts, and the
// footer shows only the component's keys.
type inputTaker interface {
	TakesInput() bool
}

// focuser is implemented by a Component that wants to know when its tab is shown, to re-read
// state it gets no events for.
type focuser interface {
	Focus() tea.Cmd
}

// noticeMsg asks the root model to show a one-line notice on the status line (until the next
// key). Panes return it from commands.
type noticeMsg string

// EventsMsg is a batch of engine events, in publication order. Run's relay goroutine sends
// one per wake-up with everything that was buffered (coalescing), so a burst of events costs
// one Update, not hundreds. Other hosts of the model (an SSH server) send it the same way.
type EventsMsg []engine.Event

// now is the wall clock (time.Now when the model did not set one).
func (c *Common) now() time.Time {
	if c.wall == nil {
		return time.Now()
	}
	return c.wall()
}

// frameMsg is the frame tick.
type frameMsg time.Time

// reads coalesces a pane's background reads: at most one is in flight; asking for one while
// one is in flight makes exactly one more after it; an answer is current only when no later
// read was started.
type reads struct {
	seq     uint64
	loading bool
	again   bool
}

// start begins a read and returns its number; ok is false when one is in flight (another will
// follow it).
func (r *reads) start() (seq uint64, ok bool) {
	if r.loading {
		r.again = true
		return 0, false
	}
	r.seq++
	r.loading = true
	return r.seq, true
}

// load starts a read and returns the command that makes it: read runs with the backend under
// a loadTimeout context and returns the message that carries seq back to finish. It returns
// nil when a read is in flight (another follows it) and marks *dirty when one starts.
func (r *reads) load(c *Common, dirty *bool, read func(ctx context.Context, b Backend, seq uint64) tea.Msg) tea.Cmd {
	seq, ok := r.start()
	if !ok {
		return nil
	}
	*dirty = true
	b, ctx := c.Backend, c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		return read(ctx, b, seq)
	}
}

// finish takes the answer of read seq: current is false for a stale answer (ignore it); rerun
// says to start the read asked for meanwhile.
func (r *reads) finish(seq uint64) (current, rerun bool) {
	if seq != r.seq {
		return false, false
	}
	r.loading = false
	rerun, r.again = r.again, false
	return true, rerun
}

// redraw is the frame discipline of a pane that lists live things (bots, jobs): data and keys
// set dirty, and Frame rebuilds the cached view when dirty, or every refresh while something
// listed moves (a running bot's uptime, a job's ETA).
type redraw struct {
	dirty  bool
	last   time.Time // of the last rebuild
	view   string
	frames int // rebuilds, for tests
}

// frame rebuilds with render when due and reports whether the view changed.
func (r *redraw) frame(now time.Time, refresh time.Duration, moving bool, render func(time.Time) string) bool {
	if !r.dirty && moving && now.Sub(r.last) >= refresh {
		r.dirty = true
	}
	if !r.dirty {
		return false
	}
	r.dirty = false
	r.last = now
	r.frames++
	old := r.view
	r.view = render(now)
	return r.view != old
}
