package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
)

// openJobs starts a console on the fake and shows the Jobs tab.
func openJobs(t *testing.T, b *fakeBackend, w, ht int) *harness {
	t.Helper()
	h := newHarness(t, b, termenv.Ascii, w, ht)
	h.key("5")
	h.mustContain("[5 Jobs]")
	return h
}

// runningJob publishes job 6 running at 42% (21 s in, 29 s to go).
func runningJob(h *harness) {
	h.events(h.b.jobEvent(6, func(v *engine.JobView) {
		v.Type, v.Status, v.Progress = engine.JobTypeBacktest, engine.JobRunning, 0.42
		v.Elapsed, v.ETA, v.HasETA = 21*time.Second, 29*time.Second, true
		v.Payload = json.RawMessage(`{"strategy":"ema_cross","exchange":"sim","symbol":"ETHUSDT","timeframe":"5m","from":0,"to":0}`)
	}))
	h.frame(0)
}

// row returns the fields of the first screen line that holds a job's id and status.
func row(t *testing.T, h *harness, id int, status string) []string {
	t.Helper()
	for _, l := range strings.Split(h.screen(), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(f) >= 3 && f[0] == fmt.Sprint(id) && f[2] == status {
			return f
		}
	}
	t.Fatalf("no row for job %d %s:\n%s", id, status, h.screen())
	return nil
}

func wantFields(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("row %q,\nwant %q", got, want)
	}
}

const bar42 = "████████████▌░░░░░░░░░░░░░░░░░" // 42% of 30 cells: 12 full, a half, 17 empty

func TestJobsListRows(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		h := openJobs(t, newFake(), size[0], size[1])
		runningJob(h)
		checkFrame(t, h, size[0], size[1])
		h.mustContain("Jobs · 6 · 1 running · 1 pending · 2 completed · 1 failed · 1 cancelled",
			"ID  TYPE      STATUS     ELAPSED     ETA  PROGRESS / SUMMARY")
		wantFields(t, row(t, h, 6, "running"), "6", "backtest", "running", "21s", "29s", bar42, "42%")
		wantFields(t, row(t, h, 5, "pending"), "5", "backtest", "pending", "-", "waiting", "for", "a", "worker")
		wantFields(t, row(t, h, 3, "cancelled"), "3", "backtest", "cancelled", "4.0s", "cancelled")
		if size[0] == 200 {
			wantFields(t, row(t, h, 1, "completed"), strings.Fields("1 backtest completed 2.5s return +12.35% · sharpe 1.87 · max DD 6.09% · 12 trades")...)
			wantFields(t, row(t, h, 2, "failed"), strings.Fields("2 sweep failed 1.5s sweep: no stored 1m candles of sim BTCUSDT from 2025-10-22T00:00Z to the last")...)
		} else {
			wantFields(t, row(t, h, 1, "completed"), strings.Fields("1 backtest completed 2.5s return +12.35% · sharpe 1.87 · max …")...)
		}
		// The newest job is selected: its details are on the last lines.
		h.mustContain("▸  6  backtest  running", "job 6 backtest · ema_cross · sim ETHUSDT 5m · first → newest",
			"running 42% · elapsed 21s · ETA 29s · c: cancel")

		// Elapsed time and ETA move on between events, once a second.
		h.frame(2 * time.Second)
		wantFields(t, row(t, h, 6, "running"), "6", "backtest", "running", "23s", "27s", bar42, "42%")
	}
}

func TestJobsProgressEvents(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 120, 30)
	if b.listCalls != 2 { // at start, and when the tab was shown
		t.Fatalf("ListJobs called %d times", b.listCalls)
	}
	runningJob(h)
	before := h.m.View()
	h.events(b.jobEvent(6, func(v *engine.JobView) { v.Progress, v.Elapsed, v.ETA = 0.75, 30*time.Second, 10*time.Second }))
	if h.m.View() != before {
		t.Fatal("an event changed the view before the frame tick")
	}
	h.frame(0)
	wantFields(t, row(t, h, 6, "running"), "6", "backtest", "running", "30s", "10s", "██████████████████████▌░░░░░░░", "75%")

	h.events(b.jobEvent(6, func(v *engine.JobView) {
		v.Status, v.Progress, v.Elapsed, v.HasETA = engine.JobCompleted, 1, 40*time.Second, false
		v.Summary = "return -1.50% · sharpe -0.20 · max DD 3.00% · 4 trades"
	}))
	h.frame(100 * time.Millisecond)
	wantFields(t, row(t, h, 6, "completed"), strings.Fields("6 backtest completed 40s return -1.50% · sharpe -0.20 · max DD 3.00% · 4 trades")...)
	h.mustNotContain("75%", "█")
	h.mustContain("Jobs · 6 · 1 pending · 3 completed")

	// A stale running event after the completion does not undo it.
	h.events(engine.JobEvent{Job: engine.JobView{ID: 6, Type: "backtest", Status: engine.JobRunning, Progress: 0.9}})
	h.frame(100 * time.Millisecond)
	row(t, h, 6, "completed")

	// An idle list with no running job does not rebuild.
	p := h.jobs()
	n, v := p.frames, h.m.View()
	for range 20 {
		h.frame(time.Second)
	}
	if p.frames != n || h.m.View() != v {
		t.Fatalf("%d rebuilds without a change", p.frames-n)
	}
}

// Events that arrive while the list is being read are applied over what it returns.
func TestJobsEventsDuringLoad(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 30)
	load := h.cmdOf(keyMsg("5")) // the re-read, not run yet
	h.events(engine.JobEvent{Job: engine.JobView{ID: 9, Type: engine.JobTypeSweep, Status: engine.JobRunning, Progress: 0.1}})
	h.run(load)
	wantFields(t, row(t, h, 9, "running"), "9", "sweep", "running", "0.0s", "…", "███░░░░░░░░░░░░░░░░░░░░░░░░░░░", "10%")
	row(t, h, 5, "pending")
}

func TestJobsEmptyAndDisabled(t *testing.T) {
	b := newFake()
	b.jobs = nil
	h := openJobs(t, b, 80, 24)
	h.mustContain("No jobs yet.", "Press n for a backtest, s for a parameter sweep, o for an order-flow run.")
	checkFrame(t, h, 80, 24)

	b = newFake()
	b.jobsOff = true
	h = openJobs(t, b, 80, 24)
	h.mustContain("Jobs are not available: this engine runs no job runner.")
	h.key("n")
	h.mustNotContain("New backtest")
	if b.listCalls != 0 {
		t.Fatal("listed the jobs of an engine without a runner")
	}
}

func TestJobsFormDefaults(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		h := openJobs(t, newFake(), size[0], size[1])
		h.key("n")
		checkFrame(t, h, size[0], size[1])
		h.mustContain("New backtest", "▸ strategy     ‹ sma_cross ›", "fast          10", "slow          30",
			"allow_short  ‹ false ›", "symbol       ‹ BTCUSDT ›", "timeframe    ‹ 1m ›",
			"from          2025-10-22", "to            (newest)", "fee           0.001", "slippage bps  0",
			"strategy: long when the fast SMA", // the focused field's hint
			"ctrl+s submit", "ctrl+c quit")
		h.mustNotContain("? all keys", "p pause")
		if size[0] == 200 {
			h.mustContain("fast SMA period, in candles · whole number 1–1000", "fee rate per side: 0.001 is 0.1%",
				"last day, YYYY-MM-DD (UTC), through its end; blank: up to the newest candle")
		}
		// The form takes the keys: digits and letters are text, not tab switches or quit.
		h.key("tab")
		h.mustContain("▸ fast         [10_")
		h.key("4q2")
		h.mustContain("[5 Jobs]", "▸ fast         [104q2_")
		if h.quit {
			t.Fatal("q quit from a form field")
		}
		h.key("esc")
		h.mustNotContain("New backtest")
		h.mustContain("n backtest", "? all keys")
	}
}

func TestJobsFormStrategyChangeRebuildsParams(t *testing.T) {
	h := openJobs(t, newFake(), 120, 30)
	h.key("n")
	h.key("down")
	h.key("ctrl+u")
	h.key("77") // edited, then thrown away with the strategy's parameters
	h.key("up")
	h.key("right")
	h.mustContain("‹ ema_cross ›", "fast          12", "slow          26", "long when the fast EMA")
	h.mustNotContain("77")
	h.key("right")
	h.mustContain("‹ rsi ›", "period        14", "oversold      30", "overbought    70", "allow_short")
	h.mustNotContain("fast ", "slow ")
	h.key("left")
	h.key("left")
	h.key("left") // wraps to the last strategy
	h.mustContain("‹ orderflow_imbalance ›", "obi_threshold  0.3", "sustain        5")
	// The other fields keep their values.
	h.mustContain("symbol        ‹ BTCUSDT ›", "from           2025-10-22")
}

func TestJobsFormSubmitsPayload(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 80, 24)
	listed := b.listCalls
	h.key("n")
	h.key("tab") // fast
	h.key("ctrl+u")
	h.key("5")
	h.key("tab")   // slow: left at its default
	h.key("tab")   // allow_short
	h.key("tab")   // symbol
	h.key("right") // ETHUSDT
	h.key("tab")   // timeframe
	h.key("right") // 5m
	h.key("tab")   // from
	h.key("ctrl+u")
	h.key("2025-11-01")
	h.key("tab") // to
	h.key("2025-11-10")
	h.key("tab") // fee
	h.key("ctrl+u")
	h.key("0.0005")
	h.key("tab") // slippage bps, the last field
	h.key("ctrl+u")
	h.key("2.5")
	h.mustContain("symbol       ‹ ETHUSDT ›", "timeframe    ‹ 5m ›", "[2.5_")
	h.key("enter")

	subs := b.submitted()
	if len(subs) != 1 || subs[0].Type != engine.JobTypeBacktest {
		t.Fatalf("submits %+v", subs)
	}
	want := engine.BacktestJob{
		Strategy: "sma_cross", Params: map[string]string{"fast": "5"}, Exchange: "sim", Symbol: "ETHUSDT", Timeframe: "5m",
		From:      time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		To:        time.Date(2025, 11, 11, 0, 0, 0, 0, time.UTC).UnixMilli(), // through the end of the 10th
		JobBroker: engine.JobBroker{Fee: "0.0005", SlippageBps: 2.5},
	}
	if !reflect.DeepEqual(subs[0].Payload, want) {
		t.Fatalf("payload %#v,\nwant %#v", subs[0].Payload, want)
	}
	// The form closed; the new job is listed, selected, and the list re-read.
	h.mustNotContain("New backtest")
	h.mustContain("job 6 submitted (backtest)", "▸  6  backtest  pending")
	if b.listCalls != listed+1 {
		t.Fatalf("ListJobs calls %d, want %d", b.listCalls, listed+1)
	}

	// ctrl+s submits the defaults from any field.
	h.key("n")
	h.key("ctrl+s")
	subs = b.submitted()
	want = engine.BacktestJob{Strategy: "sma_cross", Exchange: "sim", Symbol: "BTCUSDT", Timeframe: "1m",
		From: time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC).UnixMilli(), JobBroker: engine.JobBroker{Fee: "0.001"}}
	if len(subs) != 2 || !reflect.DeepEqual(subs[1].Payload, want) {
		t.Fatalf("payload %#v,\nwant %#v", subs[len(subs)-1].Payload, want)
	}
	h.mustContain("job 7 submitted (backtest)")
}

func TestJobsFormSubmitError(t *testing.T) {
	b := newFake()
	b.submitErr = errors.New(`jobs: submit backtest: backtest: sma_cross: parameter fast = "0": must be from 1 to 1000` +
		"\nbroker: fee rate 2 must be from 0 to below 1 (0.001 is 0.1%)")
	h := openJobs(t, b, 80, 24)
	h.key("n")
	h.key("tab")
	h.key("ctrl+u")
	h.key("0")
	h.key("ctrl+s")
	if len(b.submitted()) != 1 {
		t.Fatal("not submitted")
	}
	// The form stays, with the errors, and marks the fields they name.
	h.mustContain("New backtest", `✗ sma_cross: parameter fast = "0": must be from 1 to 1000`,
		"✗ broker: fee rate 2 must be from 0 to below 1", "▸ fast", "✗ fee")
	h.mustNotContain("✗ slow")
	checkFrame(t, h, 80, 24)

	// Dates are checked before submitting.
	b.submitErr = nil
	for range 5 {
		h.key("tab")
	}
	h.mustContain("▸ from")
	h.key("ctrl+u")
	h.key("2025-13-01")
	h.key("ctrl+s")
	if len(b.submitted()) != 1 {
		t.Fatal("a bad date was submitted")
	}
	h.mustContain(`✗ from "2025-13-01": not a date: use YYYY-MM-DD (UTC)`)
	h.mustNotContain("parameter fast")

	// Fixed, it goes through.
	h.key("ctrl+u")
	h.key("2025-11-02")
	h.key("ctrl+s")
	if len(b.submitted()) != 2 {
		t.Fatal("not submitted")
	}
	h.mustContain("job 6 submitted")
}

func TestJobsSweepForm(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 80, 24)
	h.key("s")
	h.mustContain("New parameter sweep", "fast          10", "sweep  (fixed)", "rank by      ‹ sharpe ›")
	h.key("ctrl+s") // no range yet
	h.mustContain("✗ nothing to sweep: give at least one parameter a range from:to:step in its", "  sweep field")
	if len(b.submitted()) != 0 {
		t.Fatal("a sweep without ranges was submitted")
	}
	h.key("tab") // fast
	h.key("tab") // fast's sweep
	h.mustContain("fast sweep: sweep fast over from:to:step")
	h.key("5:20:5")
	for range 10 {
		h.key("tab")
	}
	h.mustContain("▸ rank by")
	h.key("right")
	h.mustContain("‹ sortino ›")
	h.key("enter") // the last field: submits
	subs := b.submitted()
	if len(subs) != 1 || subs[0].Type != engine.JobTypeSweep {
		t.Fatalf("submits %+v", subs)
	}
	want := engine.SweepJob{
		BacktestJob: engine.BacktestJob{Strategy: "sma_cross", Exchange: "sim", Symbol: "BTCUSDT", Timeframe: "1m",
			From: time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC).UnixMilli(), JobBroker: engine.JobBroker{Fee: "0.001"}},
		Sweep: []string{"fast=5:20:5"}, RankBy: "sortino",
	}
	if !reflect.DeepEqual(subs[0].Payload, want) {
		t.Fatalf("payload %#v,\nwant %#v", subs[0].Payload, want)
	}
	h.mustContain("job 6 submitted (sweep)")
}

func TestJobsCancelAsksFirst(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 80, 24)
	runningJob(h)
	h.key("c")
	h.mustContain("Cancel job 6 (backtest, running)?  y: yes, cancel it · n/esc: no", "y yes, cancel it", "n/esc no")
	// The question is modal: other keys neither switch tabs nor quit.
	h.key("1")
	h.key("q")
	h.mustContain("[5 Jobs]", "Cancel job 6")
	if h.quit {
		t.Fatal("q quit during the question")
	}
	h.key("n")
	if len(b.cancels) != 0 {
		t.Fatalf("n cancelled: %v", b.cancels)
	}
	h.mustContain("job 6 not cancelled")
	h.mustNotContain("Cancel job 6")

	listed := b.listCalls
	h.key("c")
	h.key("y")
	if fmt.Sprint(b.cancels) != "[6]" {
		t.Fatalf("cancels %v", b.cancels)
	}
	h.mustContain("job 6 cancelled")
	if b.listCalls != listed+1 {
		t.Fatal("the list was not re-read after the cancel")
	}
	row(t, h, 6, "cancelled")

	// A finished job cannot be cancelled: no question.
	h.key("c")
	h.mustContain("job 6 is cancelled: only a pending or running job can be cancelled")
	h.mustNotContain("y: yes")

	// A refused cancel says why.
	h.key("down") // job 5, pending
	b.cancelErr = errors.New("jobs: cancel: job 5: already finished")
	h.key("c")
	h.key("y")
	h.mustContain("cancel job 5: jobs: cancel: job 5: already finished")
}

// metricLabels are the 21 metrics of the result view.
var metricLabels = []string{"start equity", "final equity", "total return", "CAGR", "buy & hold", "Sharpe", "Sortino",
	"Calmar", "max drawdown", "max DD time", "profit factor", "expectancy", "win rate", "trades", "avg win", "avg loss",
	"best trade", "worst trade", "avg holding", "exposure", "fees"}

func TestJobsResultView(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		b := newFake()
		h := openJobs(t, b, size[0], size[1])
		for range 4 {
			h.key("down")
		}
		h.mustContain("▸  1  backtest  completed")
		load := h.cmdOf(keyMsg("enter"))
		h.mustContain("loading job 1…")
		h.run(load)
		if fmt.Sprint(b.detailCalls) != "[1]" {
			t.Fatalf("JobDetail calls %v", b.detailCalls)
		}
		checkFrame(t, h, size[0], size[1])
		h.mustContain("job 1 backtest · sma_cross allow_short=0 fast=5 slow=30 · sim BTCUSDT 1m")
		h.mustContain(metricLabels...)
		for _, m := range [][2]string{
			{"start equity", "10000.00"}, {"final equity", "11234.50"}, {"total return", "+12.35%"}, {"CAGR", "+314.16%"},
			{"buy & hold", "+8.12%"}, {"Sharpe", "1.87"}, {"Sortino", "2.50"}, {"Calmar", "20.10"}, {"max drawdown", "-6.09%"},
			{"max DD time", "3d04h"}, {"profit factor", "2.25"}, {"expectancy", "+102.88"}, {"win rate", "75.0%"},
			{"trades", "12"}, {"avg win", "+2.34%"}, {"avg loss", "-1.11%"}, {"best trade", "+4.56%"},
			{"worst trade", "-2.22%"}, {"avg holding", "2h15m"}, {"exposure", "42.0%"}, {"fees", "24.50"},
		} {
			if !strings.Contains(h.screen(), padRight(m[0], metricLabelW)+" "+padLeft(m[1], metricValueW)) {
				t.Fatalf("%dx%d: metric %s = %s not shown:\n%s", size[0], size[1], m[0], m[1], h.screen())
			}
		}
		// The equity chart: a braille line between the y labels, the drawdown under it.
		s := h.screen()
		h.mustContain("equity├─ 10000.00 → 11234.50 (+12.35%)", "DD├─ max -6.09% · longest 3d04h", "0┤", "-6.1%│", "10/22")
		braille := 0
		for _, r := range s {
			if r > 0x2800 && r <= 0x28FF {
				braille++
			}
		}
		if braille < 50 {
			t.Fatalf("%dx%d: %d braille cells: no equity line:\n%s", size[0], size[1], braille, s)
		}
		if size[0] == 200 { // side by side: the trades too
			h.mustContain("trades · 1–3 of 3", "+179.80", "stop_loss")
		}
		h.key("esc")
		h.mustContain("▸  1  backtest  completed")
		h.key("enter")
		h.key("backspace")
		h.mustContain("▸  1  backtest  completed")
	}
}

func TestJobsResultListsAndSweep(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 80, 24)
	for range 4 {
		h.key("down")
	}
	h.key("enter")
	h.mustContain("v: [charts] trades")
	h.key("v")
	h.mustContain("v: charts [trades]", "trades · 1–3 of 3", "SIDE", "long", "short", "50000.0", "+179.80", "-1.17%", "stop_loss")
	h.mustNotContain("equity├")
	checkFrame(t, h, 80, 24)
	h.key("v")
	h.mustContain("equity├")

	// A sweep: its ranking too.
	h.key("esc")
	for range 3 {
		h.key("up")
	}
	h.mustContain("▸  4  sweep")
	h.key("enter")
	h.mustContain("ranked by sharpe · 9 of 9 combinations ran", "v: [charts] trades ranking")
	h.key("v")
	h.key("v")
	h.mustContain("ranking (top 3) · 1–3 of 3", "PARAMS", "fast=10 slow=30 +12.35%   1.87", "fast=15 slow=40")
	checkFrame(t, h, 80, 24)

	// Side by side on a big screen: charts, the ranking and the trades at once.
	h.send(tea.WindowSizeMsg{Width: 200, Height: 50})
	checkFrame(t, h, 200, 50)
	h.mustContain("equity├", "ranking (top 3)", "fast=10 slow=30", "trades · 1–3 of 3", "end_of_data")

	// A failed job shows its whole error.
	h.key("esc")
	h.key("down")
	h.key("down")
	h.mustContain("▸  2  sweep     failed")
	h.key("enter")
	h.mustContain("the job failed:", "sweep: no stored 1m candles of sim BTCUSDT", "second line")
	if fmt.Sprint(b.detailCalls) != "[1 4]" {
		t.Fatalf("JobDetail calls %v", b.detailCalls)
	}

	// An unfinished job has no result yet.
	h.key("esc")
	h.key("up")
	h.key("up")
	h.key("up")
	h.key("enter")
	h.mustContain("job 5 is pending: its result opens once it has completed")
}

func TestJobsReport(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 80, 24)
	for range 4 {
		h.key("down")
	}
	h.key("r")
	if fmt.Sprint(b.reportCalls) != "[1]" {
		t.Fatalf("report calls %v", b.reportCalls)
	}
	// The whole path on the pane's message line; on the status line, as much as fits.
	h.mustContain("report: /srv/tradeconsole/reports/job-1-sma_cross.html", "● LIVE report written: /srv…job-1-sma_cross.html")
	checkFrame(t, h, 80, 24)

	h.key("enter")
	h.key("r")
	if fmt.Sprint(b.reportCalls) != "[1 1]" {
		t.Fatalf("report calls %v", b.reportCalls)
	}
	h.mustContain("report: /srv/tradeconsole/reports/job-1-sma_cross.html")

	b.reportErr = errors.New("report: disk full")
	h.key("r")
	h.mustContain("report of job 1: report: disk full")

	// Only a completed backtest or sweep has a report.
	h.key("esc")
	h.key("up")
	h.key("up") // job 3, cancelled
	h.key("r")
	h.mustContain("job 3 (backtest, cancelled): a report needs a completed backtest or sweep")
	if len(b.reportCalls) != 3 {
		t.Fatalf("report calls %v", b.reportCalls)
	}
}

// Every view of the pane fits the screen exactly, with and without colour, and writes no
// escape sequence under NO_COLOR.
func TestJobsSizes(t *testing.T) {
	keys := []string{"n", "tab", "x", "esc", "s", "tab", "tab", "1:9:2", "esc", "down", "down", "down", "down", "enter",
		"v", "down", "v", "v", "esc", "up", "up", "up", "enter", "v", "v", "v", "esc", "c", "n"}
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		for _, size := range [][2]int{{80, 24}, {200, 50}, {120, 35}, {100, 30}, {60, 15}, {140, 24}} {
			b := newFake()
			h := newHarness(t, b, prof, size[0], size[1])
			h.key("5")
			runningJob(h)
			for _, k := range keys {
				h.key(k)
				checkFrame(t, h, size[0], size[1])
				if prof == termenv.Ascii && strings.Contains(h.m.View(), "\x1b") {
					t.Fatalf("%dx%d after %q: escape sequence without colour", size[0], size[1], k)
				}
			}
		}
	}
	// Tiny and resized screens do not panic.
	h := newHarness(t, newFake(), termenv.TrueColor, 80, 24)
	h.key("5")
	for _, k := range []string{"", "n", "esc", "s", "esc", "down", "enter"} {
		if k != "" {
			h.key(k)
		}
		for w := 0; w <= 50; w += 7 {
			for ht := 0; ht <= 16; ht += 3 {
				h.send(tea.WindowSizeMsg{Width: w, Height: ht})
				h.frame(time.Second)
			}
		}
	}
}

// o opens the order-flow form; the job it submits is `tradeconsole orderflow` as a job, and
// its result view shows the run's summary.
func TestJobsOrderflowFormAndResult(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 120, 35)
	h.key("o")
	h.mustContain("New order-flow run", "file", "depth")
	h.key("enter") // file → depth
	h.key("enter") // submit from the last field: the file is missing
	h.mustContain("file: name the order-flow file")
	if len(b.submitted()) != 0 {
		t.Fatal("submitted without a file")
	}
	h.key("shift+tab")
	for _, r := range "data/orderflow/sim-BTCUSDT-2026-11-21.db" {
		h.key(string(r))
	}
	h.key("tab")
	h.key("ctrl+u")
	h.key("2")
	h.key("0")
	h.key("ctrl+s")
	subs := b.submitted()
	want := engine.OrderflowJob{DB: "data/orderflow/sim-BTCUSDT-2026-11-21.db", Depth: 20}
	if len(subs) != 1 || subs[0].Type != engine.JobTypeOrderflow || !reflect.DeepEqual(subs[0].Payload, want) {
		t.Fatalf("submits %+v, want %+v", subs, want)
	}
	h.mustNotContain("New order-flow run")

	// The completed run: enter shows its summary.
	b.mu.Lock()
	id := b.nextJobID
	b.mu.Unlock()
	h.events(b.jobEvent(id, func(v *engine.JobView) {
		v.Type, v.Status, v.Progress = engine.JobTypeOrderflow, engine.JobCompleted, 1
		v.Summary = "86400 snapshots · OBI mean +0.0312 · CVD -12.5"
		v.Result = []byte(`{"snapshots":86400,"trades":120000,"final_cvd":-12.5}`)
	}))
	b.mu.Lock()
	b.details[id] = engine.JobDetail{Job: b.jobs[0], Title: "orderflow job"}
	b.mu.Unlock()
	h.frame(100 * time.Millisecond)
	h.key("enter")
	h.frame(100 * time.Millisecond)
	h.mustContain("86400 snapshots · OBI mean", `"snapshots": 86400`, `"final_cvd": -12.5`)
}
