package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tradeconsole/tradeconsole/engine"
)

// jobsListMax is how many jobs the Jobs pane lists (the newest).
const jobsListMax = 500

// jobsRefresh is how often the list is redrawn while a job runs, for its elapsed time and ETA.
const jobsRefresh = time.Second

// jobsPending bounds the job events kept while a list load is in flight.
const jobsPending = 4096

// Results of the Jobs pane's commands: every backend call runs in a command, never in Update.
type (
	jobsListMsg struct {
		seq  uint64
		jobs []engine.JobView
		err  error
	}
	jobSubmittedMsg struct {
		form uint64 // the form that submitted it
		view engine.JobView
		err  error
	}
	jobCancelledMsg struct {
		id  int64
		err error
	}
	jobDetailMsg struct {
		seq    uint64
		id     int64
		detail engine.JobDetail
		err    error
	}
	jobReportMsg struct {
		id   int64
		path string
		err  error
	}
)

// jobRow is a job of the list and the wall time its view was taken: a running job's elapsed
// time and ETA move on from there between its events.
type jobRow struct {
	v  engine.JobView
	at time.Time
}

// rowID keeps the job selected across re-reads.
func (r jobRow) rowID() int64 { return r.v.ID }

// running reports whether the job runs (its elapsed time and ETA move).
func (r jobRow) running() bool { return r.v.Status == engine.JobRunning }

// jobsPane is the Jobs tab. It shows one of:
//
//	the list      the jobs, newest first: id, type, status, elapsed, ETA, and a progress bar
//	              for a running job or the one-line summary of the others; the selected job's
//	              details on the last two lines
//	the form      a new backtest (n) or parameter sweep (s): jobs_form.go
//	the result    metrics, equity and drawdown charts, trades, a sweep's ranking: jobs_result.go
//
// Its state comes from JobEvents; the list is re-read (ListJobs) at start, when the tab is
// shown and after a submit or a cancel. While the form is open, or a y/n question is asked,
// the pane takes every key (TakesInput).
type jobsPane struct {
	c       *Common
	w, h    int
	enabled bool

	listPane[jobRow] // the jobs, newest first, and the message line

	seq     uint64 // list loads: a result of another seq is stale
	loading bool
	pend    []engine.JobView // events received while a load is in flight, applied after it

	confirm int64 // the job the cancel question is about; 0: none

	form    *jobForm
	formSeq uint64
	res     *jobResult
	resSeq  uint64

	descs map[int64]string // what each job runs, from its payload
}

func newJobsPane(c *Common) *jobsPane {
	p := &jobsPane{c: c, enabled: c.Backend.JobsEnabled(), descs: map[int64]string{}}
	p.dirty = true
	return p
}

func (p *jobsPane) Title() string { return "Jobs" }
func (p *jobsPane) View() string  { return p.view }

func (p *jobsPane) Init() tea.Cmd { return p.reload() }

// Focus re-reads the list when the tab is shown (jobs submitted by another process, e.g.).
func (p *jobsPane) Focus() tea.Cmd {
	if p.loading {
		return nil
	}
	return p.reload()
}

// TakesInput: the form's text fields and the y/n question take every key.
func (p *jobsPane) TakesInput() bool { return p.form != nil || p.confirm != 0 }

func (p *jobsPane) SetSize(w, h int) {
	p.w, p.h = max(w, 0), max(h, 0)
	p.dirty = true
}

// reload starts a read of the list.
func (p *jobsPane) reload() tea.Cmd {
	if !p.enabled {
		return nil
	}
	p.seq++
	p.loading = true
	p.pend = p.pend[:0]
	seq, b, ctx := p.seq, p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		jobs, err := b.ListJobs(ctx, jobsListMax)
		return jobsListMsg{seq: seq, jobs: jobs, err: err}
	}
}

func (p *jobsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return p.handleKey(msg)
	case EventsMsg:
		p.onEvents(msg)
	case jobsListMsg:
		p.onList(msg)
	case jobSubmittedMsg:
		return p.onSubmitted(msg)
	case jobCancelledMsg:
		return p.onCancelled(msg)
	case jobDetailMsg:
		p.onDetail(msg)
	case jobReportMsg:
		return p.onReport(msg)
	}
	return nil
}

// ---- state ----

func (p *jobsPane) onEvents(evs EventsMsg) {
	now := p.c.now()
	for _, ev := range evs {
		je, ok := ev.(engine.JobEvent)
		if !ok {
			continue
		}
		if p.loading && len(p.pend) < jobsPending {
			p.pend = append(p.pend, je.Job)
		}
		p.upsert(je.Job, now)
	}
}

func (p *jobsPane) onList(msg jobsListMsg) {
	if msg.seq != p.seq {
		return // an older load
	}
	p.loading = false
	p.dirty = true
	if msg.err != nil {
		p.loadErr = msg.err
		p.pend = p.pend[:0]
		return
	}
	p.loaded, p.loadErr = true, nil
	now := p.c.now()
	p.rows = p.rows[:0]
	for _, v := range msg.jobs {
		p.rows = append(p.rows, jobRow{v: v, at: now})
	}
	for _, v := range p.pend {
		p.upsert(v, now)
	}
	p.pend = p.pend[:0]
}

// upsert puts a job's new view in the list, keeping it ordered newest (highest id) first. A
// finished job never goes back to an unfinished state (an event that is older than a load).
func (p *jobsPane) upsert(v engine.JobView, now time.Time) {
	p.dirty = true
	i := 0
	for i < len(p.rows) && p.rows[i].v.ID > v.ID {
		i++
	}
	if i < len(p.rows) && p.rows[i].v.ID == v.ID {
		if p.rows[i].v.Status.Finished() && !v.Status.Finished() {
			return
		}
		p.rows[i] = jobRow{v: v, at: now}
		return
	}
	if i >= jobsListMax {
		return
	}
	p.rows = append(p.rows, jobRow{})
	copy(p.rows[i+1:], p.rows[i:])
	p.rows[i] = jobRow{v: v, at: now}
	if len(p.rows) > jobsListMax {
		p.rows = p.rows[:jobsListMax]
	}
}

// ---- keys ----

func (p *jobsPane) handleKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case p.confirm != 0:
		return p.confirmKey(msg)
	case p.form != nil:
		return p.formKey(msg)
	case p.res != nil:
		return p.resultKey(msg)
	}
	return p.listKey(msg)
}

func (p *jobsPane) listKey(msg tea.KeyMsg) tea.Cmd {
	k := &jobsKeys
	if !p.enabled {
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		p.moveSelection(-1)
	case key.Matches(msg, k.Down):
		p.moveSelection(1)
	case key.Matches(msg, k.New):
		p.openForm(false)
	case key.Matches(msg, k.Sweep):
		p.openForm(true)
	case key.Matches(msg, k.Flow):
		p.formSeq++
		p.form = newFlowForm(p.c)
		p.msg = ""
		p.dirty = true
	case key.Matches(msg, dataSyncKey):
		p.formSeq++
		p.form = newDataSyncForm(p.c)
		p.msg = ""
		p.dirty = true
	case key.Matches(msg, k.Cancel):
		r, ok := p.selectedRow()
		v := r.v
		switch {
		case !ok:
			p.setMsg("no job to cancel", cWarn)
		case v.Status == engine.JobPending || v.Status == engine.JobRunning:
			p.confirm = v.ID
			p.dirty = true
		default:
			p.setMsg(fmt.Sprintf("job %d is %s: only a pending or running job can be cancelled", v.ID, v.Status), cWarn)
		}
	case key.Matches(msg, k.Open):
		r, ok := p.selectedRow()
		if !ok {
			return nil
		}
		return p.openResult(r.v)
	case key.Matches(msg, k.Report):
		r, ok := p.selectedRow()
		if !ok {
			p.setMsg("no job to report on", cWarn)
			return nil
		}
		return p.writeReport(r.v)
	}
	return nil
}

func (p *jobsPane) confirmKey(msg tea.KeyMsg) tea.Cmd {
	id := p.confirm
	switch {
	case key.Matches(msg, jobsKeys.Yes):
		p.confirm = 0
		p.setMsg(fmt.Sprintf("cancelling job %d…", id), cMuted)
		b, ctx := p.c.Backend, p.c.ctx
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, loadTimeout)
			defer cancel()
			return jobCancelledMsg{id: id, err: b.CancelJob(ctx, id)}
		}
	case key.Matches(msg, jobsKeys.No):
		p.confirm = 0
		p.setMsg(fmt.Sprintf("job %d not cancelled", id), cMuted)
	}
	return nil // any other key: the question stays
}

func (p *jobsPane) onCancelled(msg jobCancelledMsg) tea.Cmd {
	if msg.err != nil {
		p.setMsg(fmt.Sprintf("cancel job %d: %s", msg.id, firstLine(msg.err.Error())), cErr)
		return nil
	}
	p.setMsg(fmt.Sprintf("job %d cancelled", msg.id), cOK)
	return p.reload()
}

// ---- the form ----

func (p *jobsPane) openForm(sweep bool) {
	p.formSeq++
	p.form = newJobForm(p.c, sweep)
	p.msg = ""
	p.dirty = true
}

func (p *jobsPane) formKey(msg tea.KeyMsg) tea.Cmd {
	p.dirty = true
	switch p.form.key(msg) {
	case formClose:
		p.form = nil // a submit in flight goes on; its result lands in the list
	case formSubmit:
		return p.submit()
	}
	return nil
}

// submit checks the form and submits its job from a command.
func (p *jobsPane) submit() tea.Cmd {
	f := p.form
	typ, payload, err := f.payload()
	if err != nil {
		f.setError(err)
		return nil
	}
	f.setError(nil)
	f.submitting = true
	seq, b, ctx := p.formSeq, p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		v, err := b.SubmitJob(ctx, typ, payload)
		return jobSubmittedMsg{form: seq, view: v, err: err}
	}
}

func (p *jobsPane) onSubmitted(msg jobSubmittedMsg) tea.Cmd {
	open := p.form != nil && msg.form == p.formSeq
	if msg.err != nil {
		if open {
			p.form.submitting = false
			p.form.setError(msg.err)
			p.dirty = true
		} else {
			p.setMsg("submit: "+firstLine(cleanSubmitError(msg.err.Error())), cErr)
		}
		return nil
	}
	if open {
		p.form = nil
	}
	p.upsert(msg.view, p.c.now())
	p.selID = msg.view.ID
	p.top = 0
	text := fmt.Sprintf("job %d submitted (%s)", msg.view.ID, msg.view.Type)
	p.setMsg(text, cOK)
	return tea.Batch(p.reload(), func() tea.Msg { return noticeMsg(text) })
}

// ---- the result ----

func (p *jobsPane) openResult(v engine.JobView) tea.Cmd {
	switch v.Status {
	case engine.JobCompleted:
	case engine.JobFailed:
		p.res = newJobResult(v)
		p.res.errText = v.Error
		p.dirty = true
		return nil
	default:
		p.setMsg(fmt.Sprintf("job %d is %s: its result opens once it has completed", v.ID, v.Status), cWarn)
		return nil
	}
	p.resSeq++
	p.res = newJobResult(v)
	p.res.loading = true
	p.msg = ""
	p.dirty = true
	seq, id, b, ctx := p.resSeq, v.ID, p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		d, err := b.JobDetail(ctx, id)
		return jobDetailMsg{seq: seq, id: id, detail: d, err: err}
	}
}

func (p *jobsPane) onDetail(msg jobDetailMsg) {
	if p.res == nil || msg.seq != p.resSeq || msg.id != p.res.id {
		return // closed, or another job's
	}
	p.res.loading = false
	p.res.err = msg.err
	if msg.err == nil {
		p.res.setDetail(msg.detail)
	}
	p.dirty = true
}

func (p *jobsPane) resultKey(msg tea.KeyMsg) tea.Cmd {
	r := p.res
	k := &jobsKeys
	switch {
	case key.Matches(msg, k.Back):
		p.res = nil
		p.msg = ""
	case key.Matches(msg, k.Report):
		return p.writeReport(r.job)
	case key.Matches(msg, k.View):
		r.nextView()
	case key.Matches(msg, k.Up):
		r.scrollBy(-1)
	case key.Matches(msg, k.Down):
		r.scrollBy(1)
	case key.Matches(msg, k.PageUp):
		r.scrollBy(-max(1, r.listRows-1))
	case key.Matches(msg, k.PageDown):
		r.scrollBy(max(1, r.listRows-1))
	default:
		return nil
	}
	p.dirty = true
	return nil
}

// writeReport writes the HTML report of a completed backtest or sweep from a command.
func (p *jobsPane) writeReport(v engine.JobView) tea.Cmd {
	if v.Status != engine.JobCompleted || (v.Type != engine.JobTypeBacktest && v.Type != engine.JobTypeSweep) {
		p.setMsg(fmt.Sprintf("job %d (%s, %s): a report needs a completed backtest or sweep", v.ID, v.Type, v.Status), cWarn)
		return nil
	}
	p.setMsg(fmt.Sprintf("writing the report of job %d…", v.ID), cMuted)
	id, b, ctx := v.ID, p.c.Backend, p.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, loadTimeout)
		defer cancel()
		path, err := b.WriteJobReport(ctx, id)
		return jobReportMsg{id: id, path: path, err: err}
	}
}

func (p *jobsPane) onReport(msg jobReportMsg) tea.Cmd {
	if msg.err != nil {
		p.setMsg(fmt.Sprintf("report of job %d: %s", msg.id, firstLine(msg.err.Error())), cErr)
		return nil
	}
	p.setMsg("report: "+msg.path, cOK)
	text := "report written: " + msg.path
	return func() tea.Msg { return noticeMsg(text) }
}

// ---- rendering ----

// Frame rebuilds after a change, and once a second while the list shows a running job.
func (p *jobsPane) Frame(now time.Time) bool {
	return p.frame(now, jobsRefresh, p.form == nil && p.res == nil && slices.ContainsFunc(p.rows, jobRow.running), p.render)
}

// render builds exactly h lines of w cells.
func (p *jobsPane) render(now time.Time) string {
	if p.w <= 0 || p.h <= 0 {
		return ""
	}
	var lines []string
	switch {
	case !p.enabled:
		lines = centered("Jobs are not available: this engine runs no job runner.", p.w, p.h)
	case p.form != nil:
		lines = p.form.render(p.w, p.h)
	case p.res != nil:
		lines = p.res.render(p.c.Styles, p.w, p.h, p.msg, p.msgCls)
	default:
		lines = p.renderList(now)
	}
	return pane(lines, p.w, p.h)
}

// jobStatusClass colours a status; the status is always written out, so it reads without colour.
func jobStatusClass(s engine.JobStatus) cls {
	switch s {
	case engine.JobRunning:
		return cInfo
	case engine.JobCompleted:
		return cOK
	case engine.JobFailed:
		return cErr
	case engine.JobCancelled:
		return cWarn
	}
	return cMuted
}

// jobTimes are a job's elapsed time and ETA as the list shows them at now: a running job's
// move on from its last view.
func jobTimes(r jobRow, now time.Time) (elapsed, eta string) {
	v := r.v
	switch v.Status {
	case engine.JobPending:
		return "-", ""
	case engine.JobRunning:
		since := max(now.Sub(r.at), 0)
		elapsed = fmtAge(v.Elapsed+since, false)
		eta = "…"
		if v.HasETA {
			eta = fmtAge(max(v.ETA-since, 0), false)
		}
		return elapsed, eta
	}
	if v.Elapsed <= 0 {
		return "-", ""
	}
	return fmtAge(v.Elapsed, false), ""
}

// progressBar draws a bar of w cells filled to p in eighths of a cell, then the percentage:
// "████▌░░░░░  45%". Empty cells are ░, so the bar reads without colour.
func progressBar(st *Styles, p float64, w int) string {
	p = min(max(p, 0), 1)
	pct := fmt.Sprintf("%3d%%", int(p*100))
	if w < 1 {
		return pct
	}
	pt := newPainter(st)
	e := int(p * float64(w*8))
	for i := 0; i < w; i++ {
		switch {
		case e >= 8:
			pt.cell(cInfo, '█')
		case e > 0:
			pt.cell(cInfo, leftEighths[e])
		default:
			pt.cell(cMuted, '░')
		}
		e -= 8
	}
	return pt.line() + " " + pct
}

// renderList draws the list: a title line, the message line (or the cancel question), the
// table, and the selected job's details on the last two lines.
func (p *jobsPane) renderList(now time.Time) []string {
	st := p.c.Styles
	w, h := p.w, p.h
	lines := make([]string, 0, h)

	// Title: counts by status.
	counts := map[engine.JobStatus]int{}
	for _, r := range p.rows {
		counts[r.v.Status]++
	}
	var t strings.Builder
	t.WriteString(st.paint(cTitle, "Jobs"))
	fmt.Fprintf(&t, " · %d", len(p.rows))
	for _, s := range []engine.JobStatus{engine.JobRunning, engine.JobPending, engine.JobCompleted, engine.JobFailed, engine.JobCancelled} {
		if counts[s] > 0 {
			t.WriteString(" · " + st.paint(jobStatusClass(s), fmt.Sprintf("%d %s", counts[s], s)))
		}
	}
	right := st.paint(cMuted, "newest first")
	if p.loading {
		right = st.paint(cMuted, "reading…")
	}
	lines = append(lines, spread(t.String(), right, w))

	// Message line: the question, or the last message, or a list error.
	switch {
	case p.confirm != 0:
		q := fmt.Sprintf("Cancel job %d?", p.confirm)
		for _, r := range p.rows {
			if r.v.ID == p.confirm {
				q = fmt.Sprintf("Cancel job %d (%s, %s)?", r.v.ID, r.v.Type, r.v.Status)
			}
		}
		lines = append(lines, st.paint(cWarn, q)+st.paint(cMuted, "  y: yes, cancel it · n/esc: no"))
	default:
		lines = append(lines, p.msgLine(st, w, "jobs"))
	}

	avail := h - len(lines)
	if len(p.rows) == 0 {
		msg := "No jobs yet.\n\nPress n for a backtest, s for a parameter sweep, o for an order-flow run.\nf downloads a venue's candle history into the database."
		switch {
		case p.loadErr != nil:
			msg = "could not list the jobs: " + firstLine(p.loadErr.Error()) + "\n\nPress n for a new backtest, s for a sweep."
		case !p.loaded:
			msg = "reading the jobs…"
		}
		return append(lines, centered(msg, w, avail)...)
	}

	detailH := 0
	if avail >= 8 {
		detailH = 2
	}
	visible := max(0, avail-1-detailH) // the header row
	sel := p.selected()
	p.scrollTo(sel, visible)

	// Columns: marker, ID, TYPE, STATUS, ELAPSED, ETA, then the summary (a running job's
	// progress bar) in the rest of the width.
	idW, typeW := 2, 4
	for _, r := range p.rows {
		idW = max(idW, len(strconv.FormatInt(r.v.ID, 10)))
		typeW = max(typeW, len(r.v.Type))
	}
	const statusW, elapsedW, etaW, sep = 9, 7, 6, 2
	fixed := 2 + idW + sep + typeW + sep + statusW + sep + elapsedW + sep + etaW + sep
	sumW := max(0, w-fixed)
	head := "  " + padLeft("ID", idW) + "  " + padRight("TYPE", typeW) + "  " + padRight("STATUS", statusW) + "  " +
		padLeft("ELAPSED", elapsedW) + "  " + padLeft("ETA", etaW) + "  " + "PROGRESS / SUMMARY"
	lines = append(lines, st.paint(cHead, truncate(head, w)))
	for i := p.top; i < len(p.rows) && i < p.top+visible; i++ {
		r := p.rows[i]
		v := r.v
		elapsed, eta := jobTimes(r, now)
		var b strings.Builder
		if i == sel {
			st.write(&b, cTitle, "▸ ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(padLeft(strconv.FormatInt(v.ID, 10), idW) + "  ")
		b.WriteString(padRight(v.Type, typeW) + "  ")
		st.write(&b, jobStatusClass(v.Status), padRight(string(v.Status), statusW))
		b.WriteString("  " + padLeft(elapsed, elapsedW) + "  " + padLeft(eta, etaW) + "  ")
		switch {
		case v.Status == engine.JobRunning:
			b.WriteString(progressBar(st, v.Progress, min(30, sumW-5)))
		case v.Status == engine.JobFailed:
			st.write(&b, cErr, truncate(v.Summary, sumW))
		default:
			b.WriteString(truncate(v.Summary, sumW))
		}
		lines = append(lines, b.String())
	}
	for len(lines) < h-detailH {
		lines = append(lines, "")
	}
	if detailH > 0 && sel >= 0 {
		lines = append(lines, p.details(p.rows[sel], now)...)
	}
	return lines
}

// details are the two lines about the selected job: what it runs, then its state in full
// (the summary or the error, or progress, elapsed time and ETA) and what can be done with it.
func (p *jobsPane) details(r jobRow, now time.Time) []string {
	st := p.c.Styles
	v := r.v
	desc, ok := p.descs[v.ID]
	if !ok {
		desc = describeJob(v)
		if desc != "" {
			p.descs[v.ID] = desc
		}
	}
	l1 := st.paint(cTitle, fmt.Sprintf("job %d", v.ID)) + " " + v.Type
	if desc != "" {
		l1 += st.paint(cMuted, " · ") + desc
	}
	var l2 string
	switch v.Status {
	case engine.JobRunning:
		elapsed, eta := jobTimes(r, now)
		l2 = fmt.Sprintf("running %d%% · elapsed %s · ETA %s", int(min(max(v.Progress, 0), 1)*100), elapsed, eta) +
			st.paint(cMuted, " · c: cancel")
	case engine.JobPending:
		l2 = v.Summary + st.paint(cMuted, " · c: cancel")
	case engine.JobCompleted:
		l2 = st.paint(cOK, v.Summary) + st.paint(cMuted, " · enter: result · r: HTML report")
	case engine.JobFailed:
		l2 = st.paint(cErr, "failed: "+strings.ReplaceAll(v.Error, "\n", " · ")) + st.paint(cMuted, " · enter: the whole error")
	default:
		l2 = st.paint(cWarn, string(v.Status))
	}
	return []string{truncate(l1, p.w), truncate(l2, p.w)}
}

// jobPayload reads the payload of any built-in job type.
type jobPayload struct {
	engine.SweepJob
	DB    string `json:"db"`
	Depth int    `json:"depth"`
}

// describeJob says what a job runs, from its payload: "sma_cross fast=5 · sim BTCUSDT 1m ·
// 2025-10-22 → newest", plus the ranges and ranking of a sweep.
func describeJob(v engine.JobView) string {
	if v.Type == engine.JobTypeDataSync {
		return describeDataSync(v)
	}
	var pl jobPayload
	if len(v.Payload) == 0 || json.Unmarshal(v.Payload, &pl) != nil {
		return ""
	}
	if v.Type == engine.JobTypeOrderflow {
		return fmt.Sprintf("%s · depth %s", pl.DB, fmtDepth(pl.Depth))
	}
	var b strings.Builder
	b.WriteString(pl.Strategy)
	for _, k := range sortedKeys(pl.Params) {
		b.WriteString(" " + k + "=" + pl.Params[k])
	}
	fmt.Fprintf(&b, " · %s %s %s · %s → %s", pl.Exchange, pl.Symbol, pl.Timeframe, fmtDay(pl.From, "first"), fmtDay(pl.To, "newest"))
	if len(pl.Sweep) > 0 {
		b.WriteString(" · sweep " + strings.Join(pl.Sweep, " "))
		rank := pl.RankBy
		if rank == "" {
			rank = engine.DefaultRankBy
		}
		b.WriteString(" · rank by " + rank)
	}
	if pl.Fee != "" {
		b.WriteString(" · fee " + string(pl.Fee))
	}
	if pl.SlippageBps != 0 {
		b.WriteString(" · slippage " + strconv.FormatFloat(pl.SlippageBps, 'f', -1, 64) + "bps")
	}
	return b.String()
}

// fmtDay formats a unix-ms bound as a UTC day (with the time when it is not midnight), or
// zero's text for 0.
func fmtDay(ms int64, zero string) string {
	if ms <= 0 {
		return zero
	}
	t := msTime(ms)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (p *jobsPane) ShortHelp() []key.Binding {
	s := &shortKeys
	switch {
	case !p.enabled:
		return nil
	case p.confirm != 0:
		return []key.Binding{s.Yes, s.No}
	case p.form != nil:
		return []key.Binding{s.Field, s.Choice, s.Next, s.Submit, s.CloseForm}
	case p.res != nil:
		bs := []key.Binding{s.Back, s.Report}
		if p.res.views() > 1 {
			bs = append(bs, s.View)
		}
		return append(bs, shortKeys.Scroll)
	}
	return []key.Binding{s.New, s.Sweep, s.Flow, s.Open, s.Cancel, s.Report, dataSyncShortKey, s.Select}
}

func (p *jobsPane) FullHelp() [][]key.Binding {
	k := &jobsKeys
	return [][]key.Binding{
		{k.Up, k.Down, k.New, k.Sweep, k.Flow, dataSyncKey, k.Cancel, k.Open, k.Report},
		{k.Yes, k.No},
		{k.NextField, k.PrevField, k.Choice, k.Enter, k.Submit, k.CloseForm},
		{k.Back, k.Scroll, k.View},
	}
}
