package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
)

// botsRefresh is how often the Bots list and the Positions tab are re-read while shown:
// heartbeat ages, uptimes and marks move without events (and where another process runs the
// bots, no event comes at all).
const botsRefresh = 2 * time.Second

// Results of the Bots pane's commands: every backend call runs in a command, never in Update.
type (
	botsListMsg struct {
		seq  uint64
		bots []engine.BotView
		now  time.Time // the engine clock when the list was read
		err  error
	}
	botActionMsg struct {
		id   int64
		name string
		verb string // start, resume, pause, stop, delete
		err  error
	}
	botSavedMsg struct {
		form uint64 // the form that saved it
		edit bool
		view engine.BotView
		err  error
	}
	botDetailMsg struct {
		seq uint64
		id  int64
		d   engine.BotDetail
		err error
	}
)

// botRow is a bot of the list with its uptime when read. Uptime is measured like a running
// job's elapsed time: StartedAt is on the engine clock (simulated on the sim exchange), so the
// list read takes the engine clock with it (Backend.Now, in the command) and the uptime at
// that moment; between reads it moves on with the console's wall clock (Common.now, the clock
// of the frame ticks), from the wall time the row was read. Heartbeats are wall-clock times:
// their age is the wall clock minus the heartbeat.
type botRow struct {
	v  engine.BotView
	up time.Duration // uptime at the read; meaningful when v.StartedAt is set
	at time.Time     // wall time of the read
}

// rowID keeps the bot selected across re-reads.
func (r botRow) rowID() int64 { return r.v.ID }

// running reports whether the bot runs (its uptime and heartbeat age move).
func (r botRow) running() bool { return r.v.Running() }

func (r botRow) uptime(now time.Time) string {
	if r.v.StartedAt.IsZero() || !r.v.Running() {
		return "—"
	}
	return fmtAge(r.up+max(now.Sub(r.at), 0), false)
}

func (r botRow) heartbeat(now time.Time) string {
	if r.v.Heartbeat.IsZero() {
		return "—"
	}
	return fmtAge(now.Sub(r.v.Heartbeat), false)
}

// botConfirm is the y/n question the list asks.
type botConfirm uint8

const (
	confirmNone botConfirm = iota
	confirmStop
	confirmDelete
)

// botsPane is the Bots tab. It shows one of:
//
//	the list     every bot: name, strategy, market, status (the supervisor's state when it
//	             differs), uptime, heartbeat age, restarts, equity, P&L, open position; the
//	             selected bot's definition, state and the reason it failed or stopped below
//	the form     a new bot (n) or a stopped bot's definition (e): bots_form.go
//	the detail   one bot's chart with its indicators and fills, signals and fills: bots_detail.go
//
// The list is re-read (ListBots, in a command) at start, when the tab is shown, on bot
// events while it is shown (at most one read in flight; events during a read ask for one
// more after it), after an action, on r, and every botsRefresh while it is shown. Where
// another process runs the bots (!BotsEnabled) the list is read-only: the control keys are
// refused with a notice.
type botsPane struct {
	c       *Common
	w, h    int
	enabled bool // this process runs the bots
	visible bool // the tab is shown

	listPane[botRow] // the bots, by name, and the message line

	rd       reads // the list's reads
	lastPoll time.Time

	confirm     botConfirm
	confirmID   int64
	confirmName string

	form     *jobForm
	formSeq  uint64
	formEdit int64 // the bot the form edits; 0: a new bot

	det *botDetailView
}

func newBotsPane(c *Common) *botsPane {
	p := &botsPane{c: c, enabled: c.Backend.BotsEnabled()}
	p.dirty = true
	return p
}

func (p *botsPane) Title() string { return "Bots" }
func (p *botsPane) View() string  { return p.view }
func (p *botsPane) Init() tea.Cmd { return p.reload() }

// Focus re-reads what the pane shows when the tab is shown.
func (p *botsPane) Focus() tea.Cmd {
	p.visible = true
	p.lastPoll = p.c.now()
	if p.det != nil {
		return p.reloadDetail()
	}
	return p.reload()
}

func (p *botsPane) Blur() { p.visible = false }

// TakesInput: the form's fields and the y/n question take every key.
func (p *botsPane) TakesInput() bool { return p.form != nil || p.confirm != confirmNone }

// OwnsKey: in the list, p pauses the selected bot (not the feed).
func (p *botsPane) OwnsKey(msg tea.KeyMsg) bool {
	return p.form == nil && p.det == nil && key.Matches(msg, botsKeys.Pause)
}

func (p *botsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
	if p.det != nil {
		p.det.charts = nil
	}
}

// Poll re-reads the list every botsRefresh while it is shown.
func (p *botsPane) Poll(now time.Time) tea.Cmd {
	if !p.visible || p.form != nil || p.det != nil || p.rd.loading || now.Sub(p.lastPoll) < botsRefresh {
		return nil
	}
	p.lastPoll = now
	return p.reload()
}

// reload starts a read of the list; with one in flight it asks for another after it.
func (p *botsPane) reload() tea.Cmd {
	return p.rd.load(p.c, &p.dirty, func(ctx context.Context, b Backend, seq uint64) tea.Msg {
		bots, err := b.ListBots(ctx)
		return botsListMsg{seq: seq, bots: bots, now: b.Now(), err: err}
	})
}

func (p *botsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return p.handleKey(msg)
	case EventsMsg:
		return p.onEvents(msg)
	case botsChangedMsg:
		if p.visible {
			return tea.Batch(p.reload(), p.reloadDetail())
		}
	case botsListMsg:
		return p.onList(msg)
	case botActionMsg:
		return p.onAction(msg)
	case botSavedMsg:
		return p.onSaved(msg)
	case botDetailMsg:
		return p.onDetail(msg)
	}
	return nil
}

// ---- state ----

// onEvents re-reads what is shown when a bot changed: the list, or the detail of that bot.
func (p *botsPane) onEvents(evs EventsMsg) tea.Cmd {
	if !p.visible {
		return nil // Focus re-reads
	}
	list, detail := false, false
	for _, ev := range evs {
		be, ok := ev.(engine.BotEvent)
		if !ok {
			continue
		}
		list = true
		if p.det != nil && be.Bot.ID == p.det.id {
			detail = true
		}
	}
	var cmds []tea.Cmd
	if list && p.det == nil {
		cmds = append(cmds, p.reload())
	}
	if detail {
		cmds = append(cmds, p.reloadDetail())
	}
	return tea.Batch(cmds...)
}

func (p *botsPane) onList(msg botsListMsg) tea.Cmd {
	current, rerun := p.rd.finish(msg.seq)
	if !current {
		return nil
	}
	p.dirty = true
	if msg.err != nil {
		p.loadErr = msg.err
	} else {
		p.loaded, p.loadErr = true, nil
		at := p.c.now()
		p.rows = p.rows[:0]
		for _, v := range msg.bots {
			r := botRow{v: v, at: at}
			if !v.StartedAt.IsZero() {
				r.up = max(msg.now.Sub(v.StartedAt), 0)
			}
			p.rows = append(p.rows, r)
		}
	}
	if rerun {
		return p.reload()
	}
	return nil
}

// notice shows text on the status line.
func notice(text string) tea.Cmd { return func() tea.Msg { return noticeMsg(text) } }

// ---- keys ----

func (p *botsPane) handleKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case p.confirm != confirmNone:
		return p.confirmKey(msg)
	case p.form != nil:
		return p.formKey(msg)
	case p.det != nil:
		return p.detailKey(msg)
	}
	return p.listKey(msg)
}

func (p *botsPane) listKey(msg tea.KeyMsg) tea.Cmd {
	k := &botsKeys
	switch {
	case key.Matches(msg, k.Up):
		p.moveSelection(-1)
		return nil
	case key.Matches(msg, k.Down):
		p.moveSelection(1)
		return nil
	case key.Matches(msg, k.Refresh):
		p.msg = ""
		return p.reload()
	case key.Matches(msg, k.Open):
		r, ok := p.selectedRow()
		if !ok {
			return nil
		}
		return p.openDetail(r.v)
	case key.Matches(msg, k.Start, k.Pause, k.Stop, k.New, k.Edit, k.Delete):
	default:
		return nil
	}
	if !p.enabled {
		return notice("read-only: " + botsElsewhere + "; control them there")
	}
	if key.Matches(msg, k.New) {
		p.openForm(nil)
		return nil
	}
	r, ok := p.selectedRow()
	if !ok {
		return notice("no bot yet: n defines one")
	}
	v := r.v
	name := v.Spec.Name
	switch {
	case key.Matches(msg, k.Start):
		switch v.Status {
		case engine.BotRunning:
			return notice(fmt.Sprintf("bot %s is already running", name))
		case engine.BotPaused:
			return p.control(v, "resume")
		}
		return p.control(v, "start")
	case key.Matches(msg, k.Pause):
		switch v.Status {
		case engine.BotRunning:
			return p.control(v, "pause")
		case engine.BotPaused:
			return p.control(v, "resume")
		}
		return notice(fmt.Sprintf("bot %s is %s: s starts it", name, v.Status))
	case key.Matches(msg, k.Stop):
		if v.Status == engine.BotStopped {
			return notice(fmt.Sprintf("bot %s is already stopped", name))
		}
		p.confirm, p.confirmID, p.confirmName = confirmStop, v.ID, name
		p.dirty = true
	case key.Matches(msg, k.Edit):
		if v.Running() {
			return notice(fmt.Sprintf("bot %s is %s: stop it first (x) to edit it", name, v.Status))
		}
		p.openForm(&v)
	case key.Matches(msg, k.Delete):
		if v.Running() {
			return notice(fmt.Sprintf("bot %s is %s: stop it first (x) to delete it", name, v.Status))
		}
		p.confirm, p.confirmID, p.confirmName = confirmDelete, v.ID, name
		p.dirty = true
	}
	return nil
}

// confirmQuestion is the question the list asks.
func (p *botsPane) confirmQuestion() string {
	switch p.confirm {
	case confirmStop:
		return fmt.Sprintf("Stop bot %s? It flattens its position at market. y/n", p.confirmName)
	case confirmDelete:
		return fmt.Sprintf("Delete bot %s with its signals, trades and history? y/n", p.confirmName)
	}
	return ""
}

func (p *botsPane) confirmKey(msg tea.KeyMsg) tea.Cmd {
	what, id, name := p.confirm, p.confirmID, p.confirmName
	switch {
	case key.Matches(msg, botsKeys.Yes):
		p.confirm = confirmNone
		verb := "stop"
		if what == confirmDelete {
			verb = "delete"
		}
		return p.control(engine.BotView{ID: id, Spec: engine.BotSpec{Name: name}}, verb)
	case key.Matches(msg, botsKeys.No):
		p.confirm = confirmNone
		if what == confirmDelete {
			p.setMsg(fmt.Sprintf("bot %s kept", name), cMuted)
		} else {
			p.setMsg(fmt.Sprintf("bot %s not stopped", name), cMuted)
		}
	}
	return nil // any other key: the question stays
}

// botVerbs are the progress and done forms of each action.
var botVerbs = map[string][2]string{
	"start":  {"starting", "started"},
	"resume": {"resuming", "resumed"},
	"pause":  {"pausing", "paused: it takes no new entries and still manages its exits"},
	"stop":   {"stopping", "stopped, its position flattened"},
	"delete": {"deleting", "deleted"},
}

// control runs an action on a bot in a command.
func (p *botsPane) control(v engine.BotView, verb string) tea.Cmd {
	id, name := v.ID, v.Spec.Name
	p.setMsg(fmt.Sprintf("%s bot %s…", botVerbs[verb][0], name), cMuted)
	b, ctx := p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		var err error
		switch verb {
		case "start", "resume":
			err = b.StartBot(ctx, id)
		case "pause":
			err = b.PauseBot(ctx, id)
		case "stop":
			err = b.StopBot(ctx, id)
		case "delete":
			err = b.DeleteBot(ctx, id)
		}
		return botActionMsg{id: id, name: name, verb: verb, err: err}
	}
}

func (p *botsPane) onAction(msg botActionMsg) tea.Cmd {
	if msg.err != nil {
		p.setMsg("", cPlain)
		return tea.Batch(notice(fmt.Sprintf("%s bot %s: %s", msg.verb, msg.name, firstLine(msg.err.Error()))), p.reload())
	}
	p.setMsg(fmt.Sprintf("bot %s %s", msg.name, botVerbs[msg.verb][1]), cOK)
	return p.reload()
}

// ---- the form ----

// openForm opens the new-bot form, or the edit form of v.
func (p *botsPane) openForm(v *engine.BotView) {
	p.formSeq++
	p.formEdit = 0
	var spec *engine.BotSpec
	if v != nil {
		p.formEdit = v.ID
		s := v.Spec
		spec = &s
	}
	p.form = newBotForm(p.c, spec)
	p.msg = ""
	p.dirty = true
}

func (p *botsPane) formKey(msg tea.KeyMsg) tea.Cmd {
	p.dirty = true
	switch p.form.key(msg) {
	case formClose:
		p.form = nil
	case formSubmit:
		return p.submit()
	}
	return nil
}

// submit checks the form and saves the bot from a command.
func (p *botsPane) submit() tea.Cmd {
	f := p.form
	spec, err := f.botSpec()
	if err != nil {
		f.setError(err)
		return nil
	}
	f.setError(nil)
	f.submitting = true
	seq, id, b, ctx := p.formSeq, p.formEdit, p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		if id != 0 {
			v, err := b.UpdateBot(ctx, id, spec)
			return botSavedMsg{form: seq, edit: true, view: v, err: err}
		}
		v, err := b.CreateBot(ctx, spec)
		return botSavedMsg{form: seq, view: v, err: err}
	}
}

func (p *botsPane) onSaved(msg botSavedMsg) tea.Cmd {
	open := p.form != nil && msg.form == p.formSeq
	if msg.err != nil {
		text := cleanBotError(msg.err.Error())
		if open {
			p.form.submitting = false
			p.form.setError(errors.New(text))
			p.dirty = true
			return nil
		}
		return notice("save bot: " + firstLine(text))
	}
	if open {
		p.form = nil
	}
	p.selID = msg.view.ID
	what := "created (stopped: s starts it)"
	if msg.edit {
		what = "updated"
	}
	p.setMsg(fmt.Sprintf("bot %s %s", msg.view.Spec.Name, what), cOK)
	return p.reload()
}

// ---- rendering ----

// Frame rebuilds after a change, and every botsRefresh while the list shows a running bot
// (uptimes and heartbeat ages move).
func (p *botsPane) Frame(now time.Time) bool {
	return p.frame(now, botsRefresh, p.form == nil && p.det == nil && slices.ContainsFunc(p.rows, botRow.running), p.render)
}

func (p *botsPane) render(now time.Time) string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	var lines []string
	switch {
	case p.form != nil:
		lines = p.form.render(p.w, p.h)
	case p.det != nil:
		lines = p.det.render(p.c.Styles, p.w, p.h, p.msg, p.msgCls)
	default:
		lines = p.renderList(now)
	}
	return pane(lines, p.w, p.h)
}

// botStatusText is the status a bot shows: the stored status, or the supervisor's state when
// the bot runs here and its worker is not simply running (starting, stalled, restarting, …).
func botStatusText(v engine.BotView) (string, cls) {
	s := string(v.Status)
	if v.Running() {
		switch v.Worker {
		case engine.WorkerStarting, engine.WorkerStalled, engine.WorkerRestarting, engine.WorkerFailed, engine.WorkerStopped:
			s = string(v.Worker)
		}
	}
	switch s {
	case string(engine.BotRunning):
		return s, cOK
	case string(engine.BotPaused), string(engine.WorkerRestarting):
		return s, cWarn
	case string(engine.BotFailed), string(engine.WorkerStalled):
		return s, cErr
	case string(engine.WorkerStarting):
		return s, cInfo
	}
	return s, cMuted
}

// positionText is an open position: "long 0.1994 @ 50123.4", or "—".
func positionText(p *engine.PositionView) string {
	if p == nil {
		return "—"
	}
	return p.Side + " " + fmtQty(p.Quantity) + " @ " + fmtPrice(p.EntryPrice, priceDecimals(p.EntryPrice))
}

// sideCls colours a position side (long up, short down).
func sideCls(side string) cls {
	switch side {
	case "long", "buy":
		return cUp
	case "short", "sell":
		return cDown
	}
	return cPlain
}

// fmtPosition is positionText with the side coloured.
func fmtPosition(st *Styles, p *engine.PositionView) string {
	if p == nil {
		return "—"
	}
	return st.paint(sideCls(p.Side), p.Side) + " " + fmtQty(p.Quantity) + " @ " + fmtPrice(p.EntryPrice, priceDecimals(p.EntryPrice))
}

// botParams writes a spec's parameters: "fast=5 slow=30", or "defaults".
func botParams(s engine.BotSpec) string {
	if len(s.Params) == 0 {
		return "defaults"
	}
	var b strings.Builder
	for i, k := range sortedKeys(s.Params) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + s.Params[k])
	}
	return b.String()
}

// renderList draws the list: the title with counts, the read-only line, the message line (or
// the question), the table, and the selected bot's details at the bottom.
func (p *botsPane) renderList(now time.Time) []string {
	st := p.c.Styles
	w, h := p.w, p.h
	lines := make([]string, 0, h)

	counts := map[string]int{}
	for _, r := range p.rows {
		s, _ := botStatusText(r.v)
		counts[s]++
	}
	var t strings.Builder
	t.WriteString(st.paint(cTitle, "Bots"))
	fmt.Fprintf(&t, " · %d", len(p.rows))
	for _, s := range []string{"running", "paused", "starting", "restarting", "stalled", "failed", "stopped"} {
		if counts[s] > 0 {
			_, c := botStatusText(engine.BotView{Status: engine.BotStatus(s)})
			if s == "starting" || s == "restarting" || s == "stalled" {
				_, c = botStatusText(engine.BotView{Status: engine.BotRunning, Worker: engine.WorkerState(s)})
			}
			t.WriteString(" · " + st.paint(c, fmt.Sprintf("%d %s", counts[s], s)))
		}
	}
	right := st.paint(cMuted, "by name")
	if p.rd.loading {
		right = st.paint(cMuted, "reading…")
	}
	lines = append(lines, spread(t.String(), right, w))
	if !p.enabled {
		for _, l := range wrapText(botsReadOnly, w) {
			lines = append(lines, st.paint(cWarn, l))
		}
	}
	switch {
	case p.confirm != confirmNone:
		lines = append(lines, st.paint(cWarn, truncate(p.confirmQuestion(), w)))
	default:
		lines = append(lines, p.msgLine(st, w, "bots"))
	}

	avail := max(0, h-len(lines))
	if len(p.rows) == 0 {
		msg := "No bots yet.\n\nPress n to define one: a strategy on a market, trading paper money live."
		switch {
		case p.loadErr != nil:
			msg = "could not list the bots: " + firstLine(p.loadErr.Error()) + "\n\nr: try again"
		case !p.loaded:
			msg = "reading the bots…"
		case !p.enabled:
			msg = "No bots are stored."
		}
		return append(lines, centered(msg, w, avail)...)
	}

	sel := p.selected()
	var detail []string
	if avail >= 8 {
		detail = p.details(p.rows[sel], now, min(4, avail-4))
	}
	visible := max(0, avail-1-len(detail))
	if len(detail) > 0 && visible > len(p.rows) {
		visible = len(p.rows) // a blank line between the table and the details
	}
	p.scrollTo(sel, visible)

	head, body := botsTable(st, p.rows, now, p.top, visible, w-2)
	lines = append(lines, st.paint(cHead, "  "+head))
	for i, l := range body {
		if p.top+i == sel {
			lines = append(lines, st.paint(cTitle, "▸ ")+l)
		} else {
			lines = append(lines, "  "+l)
		}
	}
	for len(lines) < h-len(detail) {
		lines = append(lines, "")
	}
	return append(lines, detail...)
}

// botsTable lays out the rows [top, top+n) of the bots table in w cells; narrow screens lose
// restarts, strategy, uptime, heartbeat, market and equity, in that order (the selected bot's
// details show them).
func botsTable(st *Styles, rows []botRow, now time.Time, top, n, w int) (string, []string) {
	cols := []column{
		{"NAME", false, func(i int) (string, cls) { return rows[i].v.Spec.Name, cPlain }},
		{"STRATEGY", false, func(i int) (string, cls) { return rows[i].v.Spec.Strategy, cMuted }},
		{"MARKET", false, func(i int) (string, cls) {
			return rows[i].v.Spec.Symbol + " " + rows[i].v.Spec.Timeframe, cPlain
		}},
		{"STATUS", false, func(i int) (string, cls) { return botStatusText(rows[i].v) }},
		{"UPTIME", true, func(i int) (string, cls) { return rows[i].uptime(now), cPlain }},
		{"HEARTBEAT", true, func(i int) (string, cls) {
			v := rows[i].v
			c := cPlain
			if s, _ := botStatusText(v); s == string(engine.WorkerStalled) {
				c = cErr
			} else if !v.Running() {
				c = cMuted
			}
			return rows[i].heartbeat(now), c
		}},
		{"RESTARTS", true, func(i int) (string, cls) {
			r := rows[i].v.Restarts
			if r > 0 {
				return strconv.Itoa(r), cWarn
			}
			return "0", cMuted
		}},
		{"EQUITY", true, func(i int) (string, cls) { return fmtPrice(rows[i].v.Equity, 2), cPlain }},
		{"P&L", true, func(i int) (string, cls) {
			v := rows[i].v.PnL
			return fmtSigned(v, 2), signCls(v)
		}},
		{"POSITION", false, func(i int) (string, cls) {
			ps := rows[i].v.Position
			if ps == nil {
				return "—", cMuted
			}
			return positionText(ps), sideCls(ps.Side)
		}},
	}
	return table(st, cols, []int{6, 1, 4, 5, 2, 7}, top, n, len(rows), w)
}

// details are the lines about the selected bot (at most max): its definition, its state, and
// why it failed or stopped.
func (p *botsPane) details(r botRow, now time.Time, maxLines int) []string {
	st := p.c.Styles
	v := r.v
	s := v.Spec
	sep := st.paint(cMuted, " · ")
	l1 := st.paint(cTitle, s.Name) + sep + s.Strategy + " " + botParams(s) + sep + s.Exchange + " " + s.Symbol + " " + s.Timeframe +
		sep + "fills " + s.FillMode()
	if s.MaxDrawdown > 0 {
		l1 += sep + "max DD " + strconv.FormatFloat(s.MaxDrawdown*100, 'f', -1, 64) + "%"
	}
	if v.Source != "" {
		l1 += sep + "from " + v.Source
	}
	status, sc := botStatusText(v)
	l2 := st.paint(sc, status)
	if v.Running() {
		l2 += " " + r.uptime(now)
	}
	if !v.Heartbeat.IsZero() {
		l2 += sep + "heartbeat " + r.heartbeat(now) + " ago"
	}
	if v.Restarts > 0 {
		l2 += sep + plural(v.Restarts, "restart")
	}
	l2 += sep + fmt.Sprintf("equity %s (%s)", fmtPrice(v.Equity, 2), st.paint(signCls(v.PnL), fmtSigned(v.PnL, 2)))
	if v.Trades > 0 {
		l2 += sep + fmt.Sprintf("%s, %d won", plural(v.Trades, "trade"), v.Wins)
	}
	l2 += sep + "fees " + fmtPrice(v.Fees, 2)
	if v.Position != nil {
		l2 += sep + fmtPosition(st, v.Position)
		if v.Position.Mark > 0 {
			l2 += " mark " + fmtPrice(v.Position.Mark, priceDecimals(v.Position.Mark)) + " " +
				st.paint(signCls(v.Position.Unrealized), fmtSigned(v.Position.Unrealized, 2))
		}
	}
	out := []string{truncate(l1, p.w), truncate(l2, p.w)}
	if v.Reason != "" {
		c := cWarn
		if v.Status == engine.BotFailed {
			c = cErr
		}
		for _, wl := range wrapText(status+": "+strings.ReplaceAll(v.Reason, "\n", " · "), p.w) {
			out = append(out, st.paint(c, wl))
		}
	}
	if len(out) > maxLines {
		out = out[:maxLines]
	}
	return out
}

func (p *botsPane) ShortHelp() []key.Binding {
	s := &shortKeys
	switch {
	case p.confirm != confirmNone:
		return []key.Binding{s.Confirm, s.No}
	case p.form != nil:
		return []key.Binding{s.Field, s.Choice, s.Next, s.Submit, s.CloseForm}
	case p.det != nil:
		return []key.Binding{s.Back, s.Lists, s.Scroll, s.Refresh}
	case !p.enabled:
		return []key.Binding{s.BotOpen, s.Refresh, s.Select}
	}
	return []key.Binding{s.BotStart, s.BotPause, s.BotStop, s.BotNew, s.BotEdit, s.BotDelete, s.BotOpen, s.Refresh, s.Select}
}

func (p *botsPane) FullHelp() [][]key.Binding { return [][]key.Binding{botsHelp} }
