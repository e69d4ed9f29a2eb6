// Package tui is the Bubble Tea console of tradeconsole: a root model with a tab bar, a status
// line and a footer around one focused pane (Market, Order flow, Bots, Positions, Jobs, Feeds,
// Logs). It talks to the engine only through Backend.
//
// Rendering is frame-throttled for slow SSH links: data messages only update ring buffers and
// set dirty flags; a frame tick (Options.FPS) rebuilds the cached strings of the visible pane
// when it is dirty; View returns the cached frame, so when nothing changed it returns the
// identical string and bubbletea writes nothing.
package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// Options configures the console. Zero values mean the defaults.
type Options struct {
	FPS          int              // frame ticks per second (default 10)
	Timeframe    market.Timeframe // initial chart timeframe (default: first of Backend.Timeframes() ≥ 1m, else the first)
	ChartCandles int              // candles kept per series (default 300)
	TapeSize     int              // trades kept on the tape (default 200)
	Version      string           // shown in the tab bar
	FlowWindow   time.Duration    // Order flow bar width shown first (default 1m; the nearest offered)

	// Renderer builds the styles (colour profile, NO_COLOR). Default: lipgloss.NewRenderer on
	// Run's output (os.Stdout for New). An SSH server passes the session's renderer.
	Renderer *lipgloss.Renderer
}

func (o Options) withDefaults() Options {
	if o.FPS <= 0 {
		o.FPS = 10
	}
	if o.FlowWindow <= 0 {
		o.FlowWindow = time.Minute
	}
	if o.ChartCandles <= 0 {
		o.ChartCandles = 300
	}
	if o.TapeSize <= 0 {
		o.TapeSize = 200
	}
	return o
}

// relayBatch is the most events one EventsMsg carries.
const relayBatch = 512

// Run runs the console on in/out (nil: stdin/stdout) until the user quits or ctx ends, and
// returns once the terminal is restored. One relay goroutine forwards b.Subscribe to the
// program in coalesced batches; it stops before Run returns.
func Run(ctx context.Context, b Backend, opt Options, in io.Reader, out io.Writer) error {
	if out == nil {
		out = os.Stdout
	}
	if opt.Renderer == nil {
		opt.Renderer = lipgloss.NewRenderer(out)
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()

	m := New(b, opt)
	m.c.ctx = ctx2
	events := b.Subscribe(ctx2)

	// The renderer repaints at most 20 times a second (bubbletea's default is 60), or at the
	// frame clock's rate when that is higher: a key shows within 50 ms, and an idle console
	// wakes less (bubbletea copies the whole screen on every repaint tick, changed or not:
	// 30 a second cost 1.1–1.2 % of a core while paused, 20 cost 0.85–0.95 %).
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx2), tea.WithOutput(out), tea.WithFPS(max(20, int(time.Second/m.interval)))}
	if in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	p := tea.NewProgram(m, popts...)

	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		relay(ctx2, events, p.Send)
	}()

	_, err := p.Run()
	cancel() // stops the relay (and any load in flight) …
	<-relayDone
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // … the caller ended the program through ctx: a normal shutdown
	}
	return err
}

// relay forwards events to send until ctx ends or the channel closes: it blocks for one
// event, takes whatever else is already buffered (up to relayBatch) and sends one batch.
func relay(ctx context.Context, events <-chan engine.Event, send func(tea.Msg)) {
	for {
		var batch EventsMsg
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			batch = append(make(EventsMsg, 0, 16), ev)
		}
		open := true
	drain:
		for len(batch) < relayBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					open = false
					break drain
				}
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		send(batch)
		if !open {
			return
		}
	}
}

// Model is the root tea.Model.
type Model struct {
	c      *Common
	tabs   []Component
	active int
	help   help.Model

	showHelp bool
	paused   bool
	notice   string // one-line message on the status line until the next key

	// The panic overlay (the ! key): nil when closed. panicView caches its drawing.
	panic     *panicState
	panicSeq  uint64
	panicView string

	// Cached parts of the frame.
	tabBar, status, footer, helpView string
	statusSec                        int64 // what the status line shows, to skip rebuilding it
	statusPaused                     bool
	statusNotice                     string
	statusOK                         bool
	statusEnded                      bool
	frame                            string
	stale                            bool // a part changed: re-join the frame

	now      func() time.Time // wall clock for frame throttling; tests replace it
	noTicks  bool             // tests drive frames by hand
	interval time.Duration
	tickGen  int
}

// New builds the root model. Its Init starts the frame ticks and the initial loads.
func New(b Backend, opt Options) *Model {
	opt = opt.withDefaults()
	r := opt.Renderer
	if r == nil {
		r = lipgloss.NewRenderer(os.Stdout)
	}
	st := NewStyles(r)
	c := &Common{Styles: st, Renderer: r, Keys: &globalKeys, Backend: b, Opts: opt, ctx: context.Background()}
	m := &Model{
		c:        c,
		now:      time.Now,
		interval: time.Second / time.Duration(opt.FPS),
		paused:   b.Paused(),
		stale:    true,
	}
	c.wall = func() time.Time { return m.now() }
	m.tabs = []Component{newMarketPane(c), newOrderFlowPane(c), newBotsPane(c), newPositionsPane(c), newJobsPane(c),
		newFeedsPane(c), newLogsPane(c)}

	m.help = help.New()
	m.help.Styles = help.Styles{
		Ellipsis: st.HelpSep, ShortKey: st.HelpKey, ShortDesc: st.HelpDesc, ShortSeparator: st.HelpSep,
		FullKey: st.HelpKey, FullDesc: st.HelpDesc, FullSeparator: st.HelpSep,
	}
	return m
}

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.tick()}
	for _, t := range m.tabs {
		cmds = append(cmds, t.Init())
	}
	return tea.Batch(cmds...)
}

func (m *Model) tick() tea.Cmd {
	if m.noTicks {
		return nil
	}
	gen, d := m.tickGen, m.interval
	if m.paused {
		d = time.Second // paused: nothing moves faster than the status clock and feed ages
	}
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg{gen: gen, t: t} })
}

// tickMsg is one tick of the frame clock; ticks of an older generation (before a pause or
// resume restarted the clock at a new rate) are dropped.
type tickMsg struct {
	gen int
	t   time.Time
}

// setPaused records the feed's pause state and restarts the frame clock at the matching rate.
func (m *Model) setPaused(v bool) tea.Cmd {
	if m.paused == v {
		return nil
	}
	m.paused = v
	m.tickGen++
	return m.tick()
}

// Update routes messages: keys to the global key map, then to the focused pane only; engine
// events and pane results to every pane. Only frame ticks and keys rebuild strings.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tickMsg:
		if msg.gen != m.tickGen {
			return m, nil
		}
		m.refresh(msg.t)
		if cmd := m.poll(msg.t); cmd != nil {
			return m, tea.Batch(m.tick(), cmd)
		}
		return m, m.tick()
	case frameMsg:
		m.refresh(time.Time(msg))
		return m, m.poll(time.Time(msg))
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case tea.KeyMsg:
		cmd = m.handleKeys(msg)
	case EventsMsg:
		var pcmd tea.Cmd
		for _, ev := range msg {
			if pe, ok := ev.(engine.PauseEvent); ok {
				pcmd = m.setPaused(pe.Paused)
			}
		}
		return m, tea.Batch(pcmd, m.broadcast(msg)) // state only: the next frame tick renders
	case pauseSetMsg:
		cmd = m.setPaused(bool(msg))
	case noticeMsg:
		m.notice = string(msg)
	case panicPreviewMsg:
		m.onPanicPreview(msg)
	case panicDoneMsg:
		cmd = m.onPanicDone(msg)
	default:
		cmd = m.broadcast(msg)
	}
	m.buildFooter() // a key or a pane's result may have changed the pane's keys
	m.refresh(m.now())
	return m, cmd
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, t := range m.tabs {
		cmds = append(cmds, t.Update(msg))
	}
	return tea.Batch(cmds...)
}

// pauseSetMsg reports the pause state after SetPaused.
type pauseSetMsg bool

// poller is implemented by a Component that re-reads state on a clock while its tab is shown
// (what it gets no events for: marks, heartbeat ages). The root calls Poll on every frame tick
// of the shown tab; Poll returns a load command when one is due, else nil.
type poller interface {
	Poll(now time.Time) tea.Cmd
}

// blurrer is implemented by a Component that wants to know when its tab is hidden (it then
// stops reacting to events with loads; Focus re-reads).
type blurrer interface {
	Blur()
}

// keyOwner is implemented by a Component that takes some of the global keys while it shows
// something they act on (the Bots list's p pauses the selected bot, not the feed).
type keyOwner interface {
	OwnsKey(msg tea.KeyMsg) bool
}

// poll asks the shown tab whether a periodic load is due.
func (m *Model) poll(now time.Time) tea.Cmd {
	if p, ok := m.tabs[m.active].(poller); ok {
		return p.Poll(now)
	}
	return nil
}

// ownsKey reports whether the shown pane takes a global key for itself.
func (m *Model) ownsKey(msg tea.KeyMsg) bool {
	o, ok := m.tabs[m.active].(keyOwner)
	return ok && o.OwnsKey(msg)
}

// takingInput reports whether the focused pane takes every key (a form, a y/n question).
func (m *Model) takingInput() bool {
	t, ok := m.tabs[m.active].(inputTaker)
	return ok && t.TakesInput()
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	g := m.c.Keys
	m.notice = ""
	if m.panic != nil { // the panic overlay is modal
		if msg.Type == tea.KeyCtrlC {
			return tea.Quit
		}
		return m.panicKey(msg)
	}
	if !m.showHelp && m.takingInput() {
		if msg.Type == tea.KeyCtrlC {
			return tea.Quit
		}
		return m.tabs[m.active].Update(msg)
	}
	if !m.showHelp && m.ownsKey(msg) {
		return m.tabs[m.active].Update(msg)
	}
	switch {
	case key.Matches(msg, g.Quit):
		return tea.Quit
	case key.Matches(msg, g.Panic):
		return m.openPanic()
	case key.Matches(msg, g.Help):
		m.showHelp = !m.showHelp
		m.helpView = ""
		m.stale = true
		return nil
	case m.showHelp && key.Matches(msg, g.Close):
		m.showHelp = false
		m.stale = true
		return nil
	case key.Matches(msg, g.Pause):
		b := m.c.Backend
		if !b.Pausable() {
			m.notice = b.Exchange() + " cannot be paused"
			return nil
		}
		want := !m.paused
		return tea.Batch(m.setPaused(want), func() tea.Msg { b.SetPaused(want); return pauseSetMsg(b.Paused()) })
	case key.Matches(msg, g.Tab):
		if i, err := strconv.Atoi(msg.String()); err == nil && i >= 1 && i <= len(m.tabs) {
			return m.setActive(i - 1)
		}
		return nil
	case key.Matches(msg, g.NextTab):
		return m.setActive((m.active + 1) % len(m.tabs))
	case key.Matches(msg, g.PrevTab):
		return m.setActive((m.active + len(m.tabs) - 1) % len(m.tabs))
	}
	if m.showHelp {
		return nil // the help overlay is modal
	}
	return m.tabs[m.active].Update(msg)
}

// setActive shows tab i; a pane that wants to know (focuser) may return a command.
func (m *Model) setActive(i int) tea.Cmd {
	if i == m.active && !m.showHelp {
		return nil
	}
	changed := i != m.active
	if b, ok := m.tabs[m.active].(blurrer); ok && changed {
		b.Blur()
	}
	m.active = i
	m.showHelp = false
	m.buildTabBar()
	m.buildFooter()
	m.stale = true
	if f, ok := m.tabs[i].(focuser); ok && changed {
		return f.Focus()
	}
	return nil
}

func (m *Model) bodyHeight() int { return max(0, m.c.Height-3) }

func (m *Model) resize(w, h int) {
	m.c.Width, m.c.Height = max(w, 0), max(h, 0)
	for _, t := range m.tabs {
		t.SetSize(m.c.Width, m.bodyHeight())
	}
	m.help.Width = m.c.Width
	m.buildTabBar()
	m.buildFooter()
	m.helpView = ""
	m.panicView = ""
	m.statusOK = false
	m.stale = true
}

// refresh brings the visible parts up to date. When nothing is dirty it costs a clock read
// and a few comparisons; the frame string is then unchanged.
func (m *Model) refresh(now time.Time) {
	if m.c.Width <= 0 || m.c.Height <= 0 {
		return
	}
	if m.tabs[m.active].Frame(now) {
		m.stale = true
	}
	m.buildStatus()
	if m.showHelp && m.helpView == "" {
		m.helpView = m.renderHelp()
	}
	if m.panic != nil && m.panicView == "" {
		m.panicView = m.renderPanic()
		m.stale = true
	}
	if m.stale {
		m.compose()
	}
}

// View returns the cached frame.
func (m *Model) View() string { return m.frame }

func (m *Model) compose() {
	m.stale = false
	w, h := m.c.Width, m.c.Height
	body := m.tabs[m.active].View()
	if m.showHelp {
		body = m.helpView
	}
	lines := make([]string, 0, h)
	lines = append(lines, m.tabBar, m.status)
	bodyLines := block(body, w, m.bodyHeight())
	if m.panic != nil {
		bodyLines = overlay(m.c.Styles, bodyLines, strings.Split(m.panicView, "\n"), w)
	}
	lines = append(lines, bodyLines...)
	lines = append(lines, m.footer)
	if len(lines) > h { // fewer than 3 rows: keep the tab bar and status
		lines = lines[:h]
	}
	m.frame = strings.Join(lines, "\n")
}

func (m *Model) buildTabBar() {
	st := m.c.Styles
	var b strings.Builder
	for i, t := range m.tabs {
		label := strconv.Itoa(i+1) + " " + t.Title()
		switch {
		case i == m.active && st.Color:
			b.WriteString(st.TabActive.Render(" " + label + " "))
		case i == m.active:
			b.WriteString("[" + label + "]")
		default:
			b.WriteString(st.TabInactive.Render(" " + label + " "))
		}
		b.WriteByte(' ')
	}
	brand := "tradeconsole"
	if v := m.c.Opts.Version; v != "" {
		brand += " " + v
	}
	m.tabBar = spread(b.String(), st.Brand.Render(brand), m.c.Width)
	m.stale = true
}

// liveLabel names what the console shows when it follows the feed: live data, or a replay of a
// recorded file.
func liveLabel(b Backend) string {
	replay := b.Exchange() == "replay"
	switch {
	case replay && b.FeedEnded():
		return "■ REPLAY ENDED"
	case b.FeedEnded():
		return "■ FEED STOPPED"
	case replay:
		return "▶ REPLAY"
	}
	return "● LIVE"
}

// handleKeys handles a key message. Keys typed faster than the terminal is read (over a slow
// SSH link, or from tmux send-keys) arrive as one message with several runes: each is handled
// as its own key press. A bracketed paste stays one message. The console binds no alt keys,
// and an alt key is what esc followed at once by a key reads as (esc is the alt prefix): it is
// handled as the two presses it was, so "esc, q" quits from the help (not while a text field
// takes input: its editing keys include alt+b, alt+f, alt+d).
func (m *Model) handleKeys(msg tea.KeyMsg) tea.Cmd {
	var cmds []tea.Cmd
	if msg.Alt && !msg.Paste && !m.takingInput() {
		cmds = append(cmds, m.handleKey(tea.KeyMsg{Type: tea.KeyEsc}))
		msg.Alt = false
	}
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste {
		return tea.Batch(append(cmds, m.handleKey(msg))...)
	}
	for _, r := range msg.Runes {
		cmds = append(cmds, m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
	}
	return tea.Batch(cmds...)
}

// minNotice is the least room beside the status line's clock a notice is cut to.
const minNotice = 24

func (m *Model) buildStatus() {
	b := m.c.Backend
	now := b.Now()
	ended := b.FeedEnded()
	if m.statusOK && now.Unix() == m.statusSec && m.paused == m.statusPaused && m.notice == m.statusNotice && ended == m.statusEnded {
		return
	}
	m.statusOK, m.statusSec, m.statusPaused, m.statusNotice, m.statusEnded = true, now.Unix(), m.paused, m.notice, ended
	clock := now.UTC().Format("2006-01-02 15:04:05") + " UTC"
	st := m.c.Styles
	state := st.Live.Render(liveLabel(b))
	if m.paused {
		state = st.Paused.Render(" ⏸ PAUSED ")
		if !st.Color {
			state = "[PAUSED]"
		}
	}
	sep := st.paint(cMuted, " │ ")
	left := st.paint(cTitle, b.Exchange()) + sep + clock + sep + state
	right := ""
	if m.notice != "" {
		// A notice answers the user's last key: cut it rather than drop it, and give it the
		// whole line when the room beside the clock is too small.
		n := m.notice
		if avail := m.c.Width - lipgloss.Width(left) - 1; lipgloss.Width(n) > avail {
			if avail >= minNotice {
				n = truncateMiddle(n, avail)
			} else {
				left, n = st.paint(cWarn, truncateMiddle(n, m.c.Width)), ""
			}
		}
		right = st.paint(cWarn, n)
	}
	m.status = spread(left, right, m.c.Width)
	m.stale = true
}

// buildFooter writes the focused pane's short help (plus tab and pause keys) on the left and
// the keys that must always be visible on the right; while the pane takes every key (a form)
// only the pane's keys and ctrl+c. It marks the frame stale only when the footer changed.
func (m *Model) buildFooter() {
	w := m.c.Width
	bs := append([]key.Binding(nil), m.tabs[m.active].ShortHelp()...)
	var right string
	switch {
	case m.panic != nil:
		bs = m.panicHelp()
		right = m.help.ShortHelpView([]key.Binding{shortKeys.ForceQuit})
	case m.takingInput():
		right = m.help.ShortHelpView([]key.Binding{shortKeys.ForceQuit})
	default:
		rk := []key.Binding{m.c.Keys.Help, m.c.Keys.Quit}
		if m.c.Backend.BotsEnabled() {
			rk = append([]key.Binding{shortKeys.Panic}, rk...)
		}
		right = m.help.ShortHelpView(rk)
		if m.c.Backend.Pausable() && !m.ownsKey(pauseKeyMsg) {
			bs = append(bs, m.c.Keys.Pause)
		}
		bs = append(bs, shortKeys.Tabs)
	}
	rw := lipgloss.Width(right)
	hm := m.help
	hm.Width = max(0, w-rw-2)
	footer := fit(right, w)
	if rw+2 <= w {
		// help adds an item that does not fit when not even its ellipsis would: drop keys
		// from the end until the line fits, and say that some are left out.
		left := hm.ShortHelpView(bs)
		for n := len(bs) - 1; n > 0 && lipgloss.Width(left) > hm.Width; n-- {
			left = hm.ShortHelpView(bs[:n]) + " " + m.help.Styles.Ellipsis.Render(m.help.Ellipsis)
		}
		footer = spread(left, right, w)
	}
	if footer != m.footer {
		m.footer = footer
		m.stale = true
	}
}

// renderHelp lays out every key: the global keys, then each pane's, in columns that flow to
// the width of the screen.
func (m *Model) renderHelp() string {
	st := m.c.Styles
	g := m.c.Keys
	global := []key.Binding{g.Tab, g.NextTab, g.PrevTab, g.Help, g.Close}
	if m.c.Backend.Pausable() {
		global = append(global, g.Pause)
	}
	if m.c.Backend.BotsEnabled() {
		global = append(global, g.Panic)
	}
	global = append(global, g.Quit)
	type section struct {
		title string
		keys  []key.Binding
	}
	secs := []section{{"Global", global}}
	for i, t := range m.tabs {
		var ks []key.Binding
		for _, grp := range t.FullHelp() {
			ks = append(ks, grp...)
		}
		secs = append(secs, section{strconv.Itoa(i+1) + " " + t.Title(), ks})
	}
	hm := m.help
	hm.Width = 0
	var blocks [][]string
	for _, s := range secs {
		lines := []string{st.paint(cTitle, s.title)}
		lines = append(lines, strings.Split(hm.FullHelpView([][]key.Binding{s.keys}), "\n")...)
		blocks = append(blocks, lines)
	}

	w, bh := m.c.Width, m.bodyHeight()
	out := []string{st.paint(cTitle, "Keys") + st.paint(cMuted, " — ? or esc to close")}
	cols := masonry(blocks, w, bh-1)
	if len(cols) > bh-1 || (len(cols) > 0 && lipgloss.Width(cols[0]) > w) {
		// The columns do not fit (80×24 with every pane's keys): flow each section's keys
		// along its lines instead.
		var flows []helpFlow
		for _, s := range secs {
			f := helpFlow{title: s.title}
			for _, b := range s.keys {
				f.items = append(f.items, st.paint(cHead, b.Help().Key)+" "+st.paint(cMuted, b.Help().Desc))
			}
			flows = append(flows, f)
		}
		cols = flowHelp(st, flows, w)
		if len(cols) > bh-1 {
			// Still too tall (7 tabs at 80×24): each section's title inline, its keys
			// flowed over the whole width.
			if in := inlineHelp(st, flows, w); len(in) < len(cols) {
				cols = in
			}
		}
	}
	out = append(out, cols...)
	if len(out) > bh && bh > 0 {
		out = append(out[:bh-1], st.paint(cMuted, "… (enlarge the terminal to see every key)"))
	}
	return strings.Join(out, "\n")
}

// helpFlow is one section of the flowed help: a title and its keys, each "key description".
type helpFlow struct {
	title string
	items []string
}

// flowHelp lays sections out one after the other: the title in a left gutter, the section's
// keys flowed along the line, separated by " · ", and wrapped (an item is never split).
func flowHelp(st *Styles, secs []helpFlow, width int) []string {
	gutter := 0
	for _, s := range secs {
		gutter = max(gutter, lipgloss.Width(s.title)+2)
	}
	if gutter*3 > width {
		gutter = 0 // too narrow for a gutter: titles get their own line
	}
	sep := st.paint(cMuted, " · ")
	var out []string
	for _, s := range secs {
		var b strings.Builder
		lineW := 0
		if gutter > 0 {
			b.WriteString(fit(st.paint(cTitle, s.title), gutter))
		} else {
			out = append(out, truncate(st.paint(cTitle, s.title), width))
		}
		avail := width - gutter
		for _, it := range s.items {
			iw := lipgloss.Width(it)
			if lineW > 0 && lineW+3+iw > avail {
				out = append(out, b.String())
				b.Reset()
				b.WriteString(strings.Repeat(" ", gutter))
				lineW = 0
			}
			if lineW > 0 {
				b.WriteString(sep)
				lineW += 3
			}
			if iw > avail {
				it, iw = truncate(it, avail), avail
			}
			b.WriteString(it)
			lineW += iw
		}
		out = append(out, b.String())
	}
	return out
}

// inlineHelp lays the sections out as one flow: each section's title, then its keys
// separated by " · ", a section starting on the line where the last one ended when it fits
// (after " │ "); lines wrap under a two-cell indent and an item is never split. It takes
// fewer lines than flowHelp's gutter.
func inlineHelp(st *Styles, secs []helpFlow, width int) []string {
	const indent = 2
	sep, secSep := st.paint(cMuted, " · "), st.paint(cMuted, " │ ")
	var out []string
	var b strings.Builder
	lineW := 0
	newLine := func() {
		out = append(out, b.String())
		b.Reset()
		b.WriteString(strings.Repeat(" ", indent))
		lineW = indent
	}
	for k, s := range secs {
		title := st.paint(cTitle, s.title+":")
		tw := lipgloss.Width(s.title) + 1
		fw := 0
		if len(s.items) > 0 {
			fw = lipgloss.Width(s.items[0])
		}
		switch {
		case k == 0:
		case lineW+3+tw+1+fw <= width:
			b.WriteString(secSep)
			lineW += 3
		default:
			out = append(out, b.String())
			b.Reset()
			lineW = 0
		}
		b.WriteString(title)
		lineW += tw
		for i, it := range s.items {
			iw := lipgloss.Width(it)
			gap := 3
			if i == 0 {
				gap = 1
			}
			if lineW+gap+iw > width && lineW > indent {
				newLine()
				gap = 0
			}
			switch gap {
			case 1:
				b.WriteByte(' ')
			case 3:
				b.WriteString(sep)
			}
			if room := width - lineW - gap; iw > room {
				it, iw = truncate(it, max(0, room)), max(0, room)
			}
			b.WriteString(it)
			lineW += gap + iw
		}
	}
	return append(out, b.String())
}

// masonry lays blocks of lines out in columns: blocks are stacked in order (a blank line
// between them) while a column stays within limit rows; columns are separated by a gap. It
// uses the smallest column height whose layout fits in width, i.e. as many columns as fit.
func masonry(blocks [][]string, width, limit int) []string {
	const gap = 4
	widths := make([]int, len(blocks))
	tallest := 0
	for i, b := range blocks {
		for _, l := range b {
			widths[i] = max(widths[i], lipgloss.Width(l))
		}
		tallest = max(tallest, len(b))
	}
	layout := func(limit int) (cols [][]int, total int) {
		h := 0
		for i, b := range blocks {
			if len(cols) == 0 || h+1+len(b) > limit {
				cols = append(cols, nil)
				h = -1
			}
			cols[len(cols)-1] = append(cols[len(cols)-1], i)
			h += 1 + len(b)
		}
		for k, col := range cols {
			cw := 0
			for _, i := range col {
				cw = max(cw, widths[i])
			}
			if k > 0 {
				total += gap
			}
			total += cw
		}
		return cols, total
	}
	cols, _ := layout(max(limit, tallest))
	for l := tallest; l <= limit; l++ {
		if c, total := layout(l); total <= width {
			cols = c
			break
		}
	}
	var colLines [][]string
	var colW []int
	rows := 0
	for _, col := range cols {
		var ls []string
		cw := 0
		for k, i := range col {
			if k > 0 {
				ls = append(ls, "")
			}
			ls = append(ls, blocks[i]...)
			cw = max(cw, widths[i])
		}
		colLines, colW = append(colLines, ls), append(colW, cw)
		rows = max(rows, len(ls))
	}
	out := make([]string, rows)
	for r := range out {
		var b strings.Builder
		for k, ls := range colLines {
			if k > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			cell := ""
			if r < len(ls) {
				cell = ls[r]
			}
			b.WriteString(fit(cell, colW[k]))
		}
		out[r] = b.String()
	}
	return out
}
