package tui

import (
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

// openBots starts a console on b and shows the Bots tab.
func openBots(t *testing.T, b *fakeBackend, w, ht int) *harness {
	t.Helper()
	h := newHarness(t, b, termenv.Ascii, w, ht)
	h.key("3")
	h.mustContain("[3 Bots]")
	return h
}

// seeded is a fake with the four bots of seedBots.
func seeded() *fakeBackend {
	b := newFake()
	b.seedBots()
	return b
}

// botStatus returns the status a bot's row shows.
func botStatus(t *testing.T, h *harness, name string) string {
	t.Helper()
	for _, f := range botRowFields(t, h, name) {
		switch f {
		case "running", "paused", "stopped", "failed", "starting", "stalled", "restarting":
			return f
		}
	}
	t.Fatalf("no status in the row of %s:\n%s", name, h.screen())
	return ""
}

// botRowFields returns the fields of the table row of a bot.
func botRowFields(t *testing.T, h *harness, name string) []string {
	t.Helper()
	for _, l := range strings.Split(h.screen(), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(f) >= 3 && f[0] == name && (strings.HasPrefix(f[1], "sma") || strings.HasPrefix(f[1], "ema") ||
			strings.HasPrefix(f[1], "rsi") || strings.HasSuffix(f[1], "USDT")) {
			return f
		}
	}
	t.Fatalf("no row for bot %s:\n%s", name, h.screen())
	return nil
}

func TestBotsTable(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 200, 50)
	checkFrame(t, h, 200, 50)
	h.mustContain("Bots · 4 · 1 running · 1 paused · 1 failed · 1 stopped",
		"NAME  STRATEGY  MARKET     STATUS  UPTIME HEARTBEAT RESTARTS   EQUITY     P&L POSITION")
	// The running bot: 3h05m up on the engine clock, its heartbeat 2 s old on the wall clock.
	wantFields(t, botRowFields(t, h, "alpha"), "alpha", "sma_cross", "BTCUSDT", "1m", "running", "3h05m", "2.0s", "1",
		"10234.56", "+234.56", "long", "0.1994", "@", "50123.4")
	wantFields(t, botRowFields(t, h, "beta"), "beta", "ema_cross", "ETHUSDT", "5m", "paused", "20m00s", "1.0s", "0",
		"4950.25", "-49.75", "—")
	wantFields(t, botRowFields(t, h, "delta"), "delta", "sma_cross", "ETHUSDT", "1m", "stopped", "—", "—", "0",
		"10000.00", "+0.00", "—")
	wantFields(t, botRowFields(t, h, "gamma"), "gamma", "rsi", "BTCUSDT", "1h", "failed", "—", "5m00s", "3",
		"9943.22", "-56.78", "—")
	// The selected (first) bot's details.
	h.mustContain("▸ alpha", "alpha · sma_cross fast=5 · sim BTCUSDT 1m · fills book · from console",
		"running 3h05m · heartbeat 2.0s ago · 1 restart · equity 10234.56 (+234.56) · 12 trades, 7 won · fees 24.50 · long 0.1994 @ 50123.4 mark 50300.0 +25.18")
	h.mustNotContain("panic: index out of range")

	// A failed bot shows why when it is selected; a stopped one its reason too.
	h.key("down")
	h.key("down")
	h.mustContain("▸ delta", "stopped: stopped from the console")
	h.key("down")
	h.mustContain("▸ gamma", "failed: panic: index out of range [3] with length 3", "3 restarts")

	// Ages and uptimes move with the wall clock between reads.
	h.frame(10 * time.Second)
	wantFields(t, botRowFields(t, h, "alpha")[:7], "alpha", "sma_cross", "BTCUSDT", "1m", "running", "3h05m", "12s")

	// At 80 columns the table keeps name, status, equity, P&L and the position.
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	checkFrame(t, h, 80, 24)
	wantFields(t, botRowFields(t, h, "alpha"), "alpha", "BTCUSDT", "1m", "running", "12s", "10234.56", "+234.56", "long",
		"0.1994", "@", "50123.4")
	h.mustContain("s start • p pause • x stop")
}

func TestBotsStatusShowsWorkerState(t *testing.T) {
	b := seeded()
	b.bots[0].Worker = engine.WorkerStalled
	b.bots[1].Worker = engine.WorkerRestarting
	h := openBots(t, b, 200, 50)
	row := botRowFields(t, h, "alpha")
	if row[4] != "stalled" {
		t.Fatalf("alpha status %q, want stalled", row[4])
	}
	if row := botRowFields(t, h, "beta"); row[4] != "restarting" {
		t.Fatalf("beta status %q, want restarting", row[4])
	}
	h.mustContain("Bots · 4 · 1 restarting · 1 stalled · 1 failed · 1 stopped")

	// Colours: running green, paused yellow, failed and stalled red.
	hc := newHarness(t, seeded(), termenv.TrueColor, 200, 50)
	hc.key("3")
	st := hc.m.c.Styles
	v := hc.m.View()
	for _, want := range []string{st.paint(cOK, "running"), st.paint(cWarn, "paused "), st.paint(cErr, "failed "),
		st.paint(cUp, "+234.56"), st.paint(cDown, " -56.78")} {
		if !strings.Contains(v, want) {
			t.Fatalf("missing coloured %q", want)
		}
	}
}

func TestBotsControlKeys(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 120, 30)

	// p pauses the selected running bot (not the feed).
	h.key("p")
	if fmt.Sprint(b.calls()) != "[pause 1]" || len(b.setPaused) != 0 {
		t.Fatalf("calls %v, feed pauses %v", b.calls(), b.setPaused)
	}
	h.mustContain("bot alpha paused: it takes no new entries")
	if s := botStatus(t, h, "alpha"); s != "paused" {
		t.Fatalf("alpha is %s", s)
	}
	h.mustNotContain("[PAUSED]")
	if footer := h.screen()[strings.LastIndex(h.screen(), "\n"):]; strings.Count(footer, "p pause") != 1 {
		t.Fatalf("the footer lists p twice (the bot's and the feed's): %q", footer)
	}
	// p on a paused bot resumes it, as s does.
	h.key("p")
	h.key("down") // beta, paused
	h.key("s")
	if fmt.Sprint(b.calls()) != "[pause 1 start 1 start 2]" {
		t.Fatalf("calls %v", b.calls())
	}
	h.mustContain("bot beta resumed")
	// s on a running bot says so.
	h.key("s")
	h.mustContain("bot beta is already running")
	if len(b.calls()) != 3 {
		t.Fatalf("calls %v", b.calls())
	}
	// s starts a stopped bot.
	h.key("down") // delta
	h.key("s")
	if fmt.Sprint(b.calls()) != "[pause 1 start 1 start 2 start 3]" {
		t.Fatalf("calls %v", b.calls())
	}
	h.mustContain("bot delta started")

	// x asks first; n keeps the bot running.
	h.key("up")
	h.key("up") // alpha
	h.key("x")
	h.mustContain("Stop bot alpha? It flattens its position at market. y/n", "y yes", "n/esc no")
	h.key("1") // the question is modal
	h.key("q")
	if h.quit {
		t.Fatal("q quit during the question")
	}
	h.mustContain("[3 Bots]", "Stop bot alpha?")
	h.key("n")
	if len(b.calls()) != 4 {
		t.Fatalf("n stopped the bot: %v", b.calls())
	}
	h.mustContain("bot alpha not stopped")
	h.mustNotContain("Stop bot alpha?")
	// y stops it.
	h.key("x")
	h.key("y")
	if got := b.calls(); got[len(got)-1] != "stop 1" || len(got) != 5 {
		t.Fatalf("calls %v", got)
	}
	h.mustContain("bot alpha stopped, its position flattened")
	if s := botStatus(t, h, "alpha"); s != "stopped" {
		t.Fatalf("alpha is %s", s)
	}

	// d asks first, then deletes; on a running bot it is refused.
	h.key("down") // beta, running again
	h.key("d")
	h.mustContain("bot beta is running: stop it first (x) to delete it")
	h.mustNotContain("Delete bot beta")
	h.key("down")
	h.key("down") // gamma, failed
	h.key("d")
	h.mustContain("Delete bot gamma with its signals, trades and history? y/n")
	h.key("esc")
	h.mustContain("bot gamma kept")
	h.key("d")
	h.key("y")
	if got := b.calls(); got[len(got)-1] != "delete 4" || len(got) != 6 {
		t.Fatalf("calls %v", got)
	}
	h.mustContain("bot gamma deleted", "Bots · 3")
	if n := strings.Count(h.screen(), "gamma"); n != 1 { // the message only
		t.Fatalf("gamma still listed:\n%s", h.screen())
	}

	// A failing call shows a notice naming the bot.
	b.botErr = errors.New("bots: start 1: the engine is shutting down")
	h.key("up")
	h.key("up") // alpha, stopped
	h.mustContain("▸ alpha")
	h.key("s")
	h.mustContain("start bot alpha: bots: start 1: the engine is shutting down")
}

func TestBotsEditRefusedWhileRunning(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 120, 30)
	h.key("e")
	h.mustContain("bot alpha is running: stop it first (x) to edit it")
	h.mustNotContain("Edit bot")
	h.key("down")
	h.key("e")
	h.mustContain("bot beta is paused: stop it first (x) to edit it")

	// A stopped bot opens in the form with its definition; its name stays.
	h.key("down") // delta
	h.key("e")
	h.mustContain("Edit bot delta (its name stays)", "▸ strategy      ‹ sma_cross ›", "symbol        ‹ ETHUSDT ›",
		"balance        10000", "fee            0.001")
	h.mustNotContain("name          [")
	for range 6 {
		h.key("tab")
	}
	h.mustContain("▸ slippage bps")
	h.key("ctrl+u")
	h.key("5")
	h.key("ctrl+s")
	if len(b.updates) != 1 || len(b.creates) != 0 {
		t.Fatalf("updates %+v creates %+v", b.updates, b.creates)
	}
	want := engine.BotSpec{Name: "delta", Strategy: "sma_cross", Exchange: "sim", Symbol: "ETHUSDT", Timeframe: "1m", Fills: "book",
		JobBroker: engine.JobBroker{Balance: "10000", Fee: "0.001", SlippageBps: 5}}
	if got := b.updates[0]; got.ID != 3 || !reflect.DeepEqual(got.Spec, want) {
		t.Fatalf("update %d %#v,\nwant %#v", got.ID, got.Spec, want)
	}
	h.mustContain("bot delta updated")
	h.mustNotContain("Edit bot")
}

func TestBotsNewFormCreatesSpec(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 80, 24)
	h.key("n")
	checkFrame(t, h, 80, 24)
	h.mustContain("New bot", "▸ name", "strategy      ‹ sma_cross ›", "fills         ‹ book ›", "balance        10000",
		"fee            0.001", "fast           10", "ctrl+s submit")
	h.key("scalp-1") // typed: not a tab switch, not a shortcut
	h.mustContain("[3 Bots]", "[scalp-1_")
	h.key("tab")   // strategy
	h.key("right") // ema_cross: its parameters replace sma_cross's
	h.key("tab")   // symbol
	h.key("right") // ETHUSDT
	h.key("tab")   // timeframe (1m)
	h.key("right") // 5m
	h.key("tab")   // fills
	h.key("right") // next_open
	h.key("tab")   // balance
	h.key("ctrl+u")
	h.key("2500")
	h.key("tab") // fee
	h.key("ctrl+u")
	h.key("0.0005")
	for range 4 { // slippage bps, position size, max position, take profit
		h.key("tab")
	}
	h.mustContain("▸ take profit")
	h.key("ctrl+u")
	h.key("0.02")
	for range 5 { // stop loss, timeout, allow short, max drawdown, fast
		h.key("tab")
	}
	h.mustContain("‹ ema_cross ›", "▸ fast          [12_")
	h.key("ctrl+u")
	h.key("8")
	h.key("ctrl+s")

	want := engine.BotSpec{Name: "scalp-1", Strategy: "ema_cross", Params: engine.ParamText{"fast": "8"}, Exchange: "sim",
		Symbol: "ETHUSDT", Timeframe: "5m", Fills: "next_open",
		JobBroker: engine.JobBroker{Balance: "2500", Fee: "0.0005", PositionSize: 1, TakeProfit: 0.02}}
	if len(b.creates) != 1 || !reflect.DeepEqual(b.creates[0], want) {
		t.Fatalf("creates %#v,\nwant %#v", b.creates, want)
	}
	// The form closed; the new bot is listed (stopped) and selected.
	h.mustNotContain("New bot")
	h.mustContain("bot scalp-1 created (stopped: s starts it)", "▸ scalp-1")
}

func TestBotsFormErrorKeepsItOpen(t *testing.T) {
	b := seeded()
	b.createErr = errors.New("bots: create: bot x1: broker: take-profit -1 must be a fraction of the entry price ≥ 0 (0 = off)")
	h := openBots(t, b, 80, 24)
	h.key("n")
	h.key("ctrl+s") // no name: checked before saving
	if len(b.creates) != 0 {
		t.Fatal("a bot without a name was saved")
	}
	h.mustContain("✗ name: missing")
	h.key("x1")
	h.key("ctrl+s")
	if len(b.creates) != 1 {
		t.Fatalf("creates %v", b.creates)
	}
	h.mustContain("New bot", "✗ broker: take-profit -1 must be a fraction of the entry price ≥ 0 (0 = off)", "✗ take profit")
	h.mustNotContain("bots: create", "✗ stop loss")
	checkFrame(t, h, 80, 24)

	// Fixed, it goes through.
	b.createErr = nil
	h.key("ctrl+s")
	if len(b.creates) != 2 {
		t.Fatalf("creates %v", b.creates)
	}
	h.mustNotContain("New bot")
	h.mustContain("bot x1 created")
	// esc closes a form without saving.
	h.key("n")
	h.key("esc")
	h.mustNotContain("New bot")
	if len(b.creates) != 2 {
		t.Fatal("esc saved")
	}
}

func TestBotsDetail(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		b := seeded()
		h := openBots(t, b, size[0], size[1])
		load := h.cmdOf(keyMsg("enter"))
		h.mustContain("loading bot alpha…")
		h.run(load)
		if fmt.Sprint(b.botDetailCalls) != "[1]" {
			t.Fatalf("BotDetail calls %v", b.botDetailCalls)
		}
		checkFrame(t, h, size[0], size[1])
		h.mustContain("alpha · sma_cross fast=5 · sim BTCUSDT 1m · fills book",
			"running · equity 10234.56 · P&L +234.56 · 12 trades, 7 won · fees 24.50",
			"position long 0.1994 @ 50123.4 · mark 50300.0 · unrealized +25.18",
			"chart · ▲ buy ▼ sell · • sma(5)", "· sma(30)",
			"signals · 1–3 of 3, newest first", "ACTION", "CONFIDENCE", "11-21 09:34:00 enter_long high",
			"enter_long low        paused: entry skipped")
		// The fills are marked on the chart.
		s := h.screen()
		if strings.Count(s, "▲") < 3 || strings.Count(s, "▼") < 2 { // the legend's one, and the marks
			t.Fatalf("%dx%d: fills not marked:\n%s", size[0], size[1], s)
		}
		if size[0] == 80 {
			h.mustNotContain("take_profit")
			h.key("right")
		}
		h.mustContain("fills · 1–3 of 3, newest first", "SIDE", "PRICE", "REASON", "P&L",
			"sell exit  50480.5", "take_profit +51.23", "buy  entry 50123.4")
		checkFrame(t, h, size[0], size[1])

		// An event of the bot re-reads the detail; another bot's does not.
		h.events(b.botEvent(2, nil))
		h.events(b.botEvent(1, func(v *engine.BotView) { v.Equity, v.PnL = 10300, 300 }))
		if fmt.Sprint(b.botDetailCalls) != "[1 1]" {
			t.Fatalf("BotDetail calls %v", b.botDetailCalls)
		}
		// esc goes back to the list.
		h.key("esc")
		h.mustContain("Bots · 4", "▸ alpha")
		h.key("enter")
		h.key("backspace")
		h.mustContain("Bots · 4")
	}
}

func TestBotsEventsReload(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 120, 30)
	n := b.listBotsCalls
	h.events(b.botEvent(1, func(v *engine.BotView) { v.Status = engine.BotFailed; v.Reason = "drawdown 21% over max 20%" }))
	if b.listBotsCalls != n+1 {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n+1)
	}
	h.frame(100 * time.Millisecond)
	if s := botStatus(t, h, "alpha"); s != "failed" {
		t.Fatalf("alpha is %s", s)
	}
	h.mustContain("failed: drawdown 21% over max 20%")

	// Coalesced: events during a read ask for one more read after it, not one each.
	n = b.listBotsCalls
	load := h.cmdOf(EventsMsg{b.botEvent(2, nil)})
	for range 5 {
		h.events(b.botEvent(3, nil))
	}
	if b.listBotsCalls != n {
		t.Fatal("a read started while one was in flight")
	}
	h.run(load)
	if b.listBotsCalls != n+2 {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n+2)
	}

	// Other events, and bot events while the tab is hidden, read nothing.
	n = b.listBotsCalls
	h.events(engine.LogEvent{Entry: engine.LogEntry{Message: "x"}})
	h.key("1")
	h.events(b.botEvent(1, nil))
	if b.listBotsCalls != n {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n)
	}
	// Showing the tab reads the list.
	h.key("3")
	if b.listBotsCalls != n+1 {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n+1)
	}

	// While shown, the list is re-read every two seconds (heartbeat ages, another process).
	n = b.listBotsCalls
	h.frame(time.Second)
	if b.listBotsCalls != n {
		t.Fatal("re-read before two seconds")
	}
	h.frame(time.Second)
	if b.listBotsCalls != n+1 {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n+1)
	}
	h.key("r")
	if b.listBotsCalls != n+2 {
		t.Fatalf("r: ListBots calls %d, want %d", b.listBotsCalls, n+2)
	}
}

func TestBotsReadOnly(t *testing.T) {
	b := seeded()
	b.botsOff = true
	h := openBots(t, b, 120, 30)
	h.mustContain("Bots run in another tradeconsole process on this data dir; this one only lists them.",
		"▸ alpha", "enter detail")
	h.mustNotContain("! panic", "x stop")
	for _, k := range []string{"s", "p", "x", "n", "e", "d"} {
		h.key(k)
		h.mustContain("read-only: another tradeconsole process runs the bots; control them there")
		h.mustNotContain("New bot", "Stop bot")
	}
	if len(b.calls()) != 0 || len(b.setPaused) != 0 {
		t.Fatalf("calls %v, feed pauses %v", b.calls(), b.setPaused)
	}
	// The panic key is refused too: the bots run elsewhere.
	h.key("!")
	h.mustContain("panic: another tradeconsole process runs the bots; press ! there")
	h.mustNotContain("PANIC")
	if b.previewCalls != 0 {
		t.Fatal("PanicPreview called")
	}
	// Reading still works.
	h.key("enter")
	h.mustContain("chart · ▲ buy ▼ sell")
	checkFrame(t, h, 120, 30)

	// At 80 columns the line wraps.
	h = openBots(t, b, 80, 24)
	h.mustContain("Bots run in another tradeconsole process on this data dir; this one only lists", "them.")
	checkFrame(t, h, 80, 24)
}

func TestBotsEmpty(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		h := openBots(t, newFake(), size[0], size[1])
		checkFrame(t, h, size[0], size[1])
		h.mustContain("No bots yet.", "Press n to define one")
		for _, k := range []string{"s", "p", "x", "e", "d", "enter", "up", "down"} {
			h.key(k)
			checkFrame(t, h, size[0], size[1])
			if k == "s" {
				h.mustContain("no bot yet: n defines one")
			}
		}
		h.key("4")
		checkFrame(t, h, size[0], size[1])
		h.mustContain("Positions & P&L · 0 open · 0 closed", "win rate —", "(none: every bot is flat)", "no equity curve yet")
	}
}

// Every view of the bot panes fits the screen exactly, with and without colour, and writes no
// escape sequence under NO_COLOR.
func TestBotsSizes(t *testing.T) {
	keys := []string{"3", "down", "n", "tab", "right", "esc", "up", "enter", "right", "down", "esc", "x", "n", "d",
		"esc", "4", "b", "down", "b", "1", "!", "n", "!", "y", "3"}
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		for _, size := range [][2]int{{80, 24}, {200, 50}, {120, 35}, {100, 30}, {60, 15}, {140, 24}, {160, 40}} {
			h := newHarness(t, seeded(), prof, size[0], size[1])
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
	h := newHarness(t, seeded(), termenv.TrueColor, 80, 24)
	for _, k := range []string{"3", "enter", "esc", "n", "esc", "4", "1", "!"} {
		h.key(k)
		for w := 0; w <= 50; w += 7 {
			for ht := 0; ht <= 16; ht += 3 {
				h.send(tea.WindowSizeMsg{Width: w, Height: ht})
				h.frame(time.Second)
			}
		}
	}
}

// ---- the panic key ----

func TestPanicPreviewAndCancel(t *testing.T) {
	b := seeded()
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.mustContain("[1 Market]", "! panic")
	h.key("!")
	if b.previewCalls != 1 {
		t.Fatalf("PanicPreview calls %d", b.previewCalls)
	}
	checkFrame(t, h, 80, 24)
	h.mustContain("PANIC: stop 2 bots and flatten 1 position?", "bots it stops",
		"alpha  sma_cross BTCUSDT 1m  running  P&L +234.56", "beta   ema_cross ETHUSDT 5m  paused  P&L -49.75",
		"positions it flattens at market", "alpha  BTCUSDT  long 0.1994 @ 50123.4  mark 50300.0  unrealized +25.18",
		"y confirm · n/esc cancel", "[1 Market]")
	// The overlay is modal: tab keys, quit and pane keys do nothing.
	h.key("3")
	h.key("q")
	h.key("s")
	if h.quit {
		t.Fatal("q quit under the panic overlay")
	}
	h.mustContain("[1 Market]", "PANIC: stop 2 bots")
	h.key("n")
	if b.panics != 0 {
		t.Fatal("n panicked")
	}
	h.mustNotContain("PANIC")
	h.mustContain("panic cancelled: nothing was stopped")
	h.key("!")
	h.key("esc")
	h.mustNotContain("PANIC")
	if b.panics != 0 {
		t.Fatal("esc panicked")
	}
}

func TestPanicConfirm(t *testing.T) {
	b := seeded()
	h := newHarness(t, b, termenv.Ascii, 120, 30)
	h.key("3") // the Bots tab re-reads after a panic
	n := b.listBotsCalls
	h.key("!")
	h.key("y")
	if b.panics != 1 {
		t.Fatalf("Panic calls %d", b.panics)
	}
	h.mustNotContain("PANIC")
	h.mustContain("panic: stopped 2 bots, flattened 1 position")
	if b.listBotsCalls != n+1 {
		t.Fatalf("ListBots calls %d, want %d", b.listBotsCalls, n+1)
	}
	if s := botStatus(t, h, "alpha"); s != "stopped" {
		t.Fatalf("alpha is %s", s)
	}

	// Nothing left: the preview says so and any key closes it.
	h.key("!")
	h.mustContain("PANIC: nothing to stop", "No bot is running and no position is open.", "any key closes")
	h.key("x")
	h.mustNotContain("PANIC")
	if b.panics != 1 {
		t.Fatalf("Panic calls %d", b.panics)
	}
}

func TestPanicErrors(t *testing.T) {
	b := seeded()
	b.panicReport = &engine.PanicReport{Stopped: 1, Flattened: 0, Errors: []string{"bot alpha: flatten: no price for BTCUSDT"}}
	h := newHarness(t, b, termenv.Ascii, 200, 50)
	h.key("!")
	h.key("y")
	h.mustContain("panic: stopped 1 bot, flattened 0 positions; 1 error: bot alpha: flatten: no price for BTCUSDT",
		"errors:", "✗ bot alpha: flatten: no price for BTCUSDT", "any key closes")
	h.key("n")
	h.mustNotContain("errors:")

	b.seedBots()
	b.panicReport = nil
	b.panicErr = errors.New("bots: panic: database is locked")
	h.key("!")
	h.key("y")
	h.mustContain("panic failed: bots: panic: database is locked", "✗ bots: panic: database is locked")
}

// A form's text field takes ! as text; the panic key works from the other tabs' panes.
func TestPanicKeyInForms(t *testing.T) {
	b := seeded()
	h := openBots(t, b, 120, 30)
	h.key("n")
	h.key("a!b")
	h.mustContain("[a!b_")
	h.mustNotContain("PANIC")
	if b.previewCalls != 0 {
		t.Fatal("! in a text field opened the panic overlay")
	}
	h.key("esc")
	h.key("5") // Jobs
	h.key("!")
	h.mustContain("PANIC: stop 2 bots")
}
