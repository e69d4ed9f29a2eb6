package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

func TestTabSwitching(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	h.mustContain("[1 Market]", "BTCUSDT 1m")

	h.key("2")
	h.mustContain("[2 Order flow]", "BTCUSDT order flow · 1m bars")
	h.key("3")
	h.mustContain("[3 Bots]", "No bots yet.")
	h.key("4")
	h.mustContain("[4 Positions]", "Positions & P&L · 0 open · 0 closed")
	h.key("5")
	h.mustContain("[5 Jobs]", "PROGRESS / SUMMARY")
	h.key("6")
	h.mustContain("[6 Feeds]", "RECONNECTS")
	h.key("7")
	h.mustContain("[7 Logs]", "level ≥ DEBUG")
	h.key("9") // no such tab: nothing happens
	h.mustContain("[7 Logs]")
	h.key("1")
	h.mustContain("[1 Market]")

	h.key("tab")
	h.mustContain("[2 Order flow]")
	h.key("tab")
	h.mustContain("[3 Bots]")
	h.key("tab")
	h.mustContain("[4 Positions]")
	h.key("tab")
	h.mustContain("[5 Jobs]")
	h.key("tab")
	h.mustContain("[6 Feeds]")
	h.key("tab")
	h.key("tab") // wraps
	h.mustContain("[1 Market]")
	h.key("shift+tab") // wraps backwards
	h.mustContain("[7 Logs]")
	h.key("shift+tab")
	h.mustContain("[6 Feeds]")
}

func TestHelpOverlayListsEveryKey(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		h := newHarness(t, newFake(), termenv.Ascii, size[0], size[1])
		h.key("?")
		var all []key.Binding
		g := globalKeys
		all = append(all, g.Tab, g.NextTab, g.PrevTab, g.Help, g.Close, g.Pause, g.Panic, g.Quit)
		for _, tab := range h.m.tabs {
			for _, grp := range tab.FullHelp() {
				all = append(all, grp...)
			}
		}
		s := h.screen()
		for _, b := range all {
			// key and description sit on one line
			found := false
			for _, line := range strings.Split(s, "\n") {
				if strings.Contains(line, b.Help().Key+" ") && strings.Contains(line, b.Help().Desc) {
					found = true
				}
			}
			if !found {
				t.Fatalf("%dx%d: help lacks %q %q:\n%s", size[0], size[1], b.Help().Key, b.Help().Desc, s)
			}
		}
		h.mustContain("Global", "1 Market", "2 Order flow", "3 Bots", "4 Positions", "5 Jobs", "6 Feeds", "7 Logs")
		checkFrame(t, h, size[0], size[1])

		h.key("s") // modal: pane keys are ignored
		if got := h.b.requests(); len(got) != 1 {
			t.Fatalf("a pane key went through the help overlay: %v", got)
		}
		h.key("?")
		h.mustNotContain("previous timeframe")
		h.key("?")
		h.key("esc")
		h.mustNotContain("previous timeframe")
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		h := newHarness(t, newFake(), termenv.Ascii, 80, 24)
		cmd := h.cmdOf(keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s: command does not quit", k)
		}
	}
}

func TestSymbolSwitchLoadsAsync(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	if got := h.b.requests(); len(got) != 1 || got[0] != "BTCUSDT 1m 300" {
		t.Fatalf("initial load: %v", got)
	}
	h.mustContain("BTCUSDT 1m  last " + h.b.lastClose("BTCUSDT", market.TF1m))

	cmd := h.cmdOf(keyMsg("s"))
	// Update returned at once: the header shows the new symbol, loading, and nothing was read yet.
	h.mustContain("ETHUSDT 1m  loading…", "loading ETHUSDT 1m…")
	if got := h.b.requests(); len(got) != 1 {
		t.Fatalf("Update called the backend: %v", got)
	}
	h.run(cmd)
	if got := h.b.requests(); got[len(got)-1] != "ETHUSDT 1m 300" {
		t.Fatalf("load for the new selection: %v", got)
	}
	h.mustContain("ETHUSDT 1m  last " + h.b.lastClose("ETHUSDT", market.TF1m))
	h.mustNotContain("loading")

	h.key("S")
	h.mustContain("BTCUSDT 1m  last " + h.b.lastClose("BTCUSDT", market.TF1m))
	h.key("S") // wraps to the last symbol
	h.mustContain("ETHUSDT 1m")
}

func TestTimeframeSwitch(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	h.mustContain("[1m]")
	h.key("t")
	h.mustContain("BTCUSDT 5m  last", "[5m]")
	if got := h.b.requests(); got[len(got)-1] != "BTCUSDT 5m 300" {
		t.Fatalf("requests: %v", got)
	}
	h.key("T")
	h.key("T") // 1s: offered by the backend, but no candles
	h.mustContain("BTCUSDT 1s", "no BTCUSDT 1s candles yet")
	h.key("T") // wraps to 1h
	h.mustContain("BTCUSDT 1h  last", "[1h]")
	want := []string{"BTCUSDT 1m 300", "BTCUSDT 5m 300", "BTCUSDT 1m 300", "BTCUSDT 1s 300", "BTCUSDT 1h 300"}
	if got := h.b.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
}

func TestStaleLoadIgnored(t *testing.T) {
	for _, order := range []string{"old result last", "old result first"} {
		t.Run(order, func(t *testing.T) {
			h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
			toETH := h.cmdOf(keyMsg("s"))
			toBTC := h.cmdOf(keyMsg("s")) // wraps back to BTCUSDT
			if order == "old result first" {
				h.run(toETH)
				h.mustContain("BTCUSDT 1m  loading…") // ETH's result did not end BTC's load
				h.run(toBTC)
			} else {
				h.run(toBTC)
				h.run(toETH)
			}
			h.mustContain("BTCUSDT 1m  last " + h.b.lastClose("BTCUSDT", market.TF1m))
			h.mustNotContain("ETHUSDT 1m", "loading")
			if n := h.market().candles.Len(); n != 300 {
				t.Fatalf("candles %d", n)
			}
		})
	}
}

// A result of an earlier load of the same selection is stale too.
func TestStaleLoadOfSameSelection(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	old := h.cmdOf(keyMsg("r"))() // read now: the old data
	key := seriesKey("BTCUSDT", market.TF1m)
	h.b.mu.Lock()
	cs := h.b.candles[key]
	cs[len(cs)-1].Close = 77777.7
	h.b.mu.Unlock()
	h.key("r")
	h.mustContain("last 77777.7")
	h.send(old)
	h.mustContain("last 77777.7")
}

func TestLoadErrorAndRetry(t *testing.T) {
	b := newFake()
	b.loadErr = errors.New("database is locked")
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.mustContain("load failed", "could not load BTCUSDT 1m candles:", "database is locked", "press r to retry")
	b.mu.Lock()
	b.loadErr = nil
	b.mu.Unlock()
	h.key("r")
	h.mustContain("BTCUSDT 1m  last " + h.b.lastClose("BTCUSDT", market.TF1m))
	h.mustNotContain("load failed")
}

func TestCandleEventsUpdateChart(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	p := h.market()
	last, _ := p.candles.Last()
	before := h.m.View()

	upd := last
	upd.Close, upd.High = 51234.5, 51300
	h.events(engine.CandleEvent{Candle: upd})
	if h.m.View() != before {
		t.Fatal("a data message changed the view before the frame tick")
	}
	h.frame(100 * time.Millisecond)
	h.mustContain("last 51234.5")
	if p.candles.Len() != 300 {
		t.Fatalf("replace changed the length: %d", p.candles.Len())
	}

	next := upd
	next.Time += market.TF1m.Millis()
	next.Open, next.High, next.Low, next.Close = 51234.5, 51240, 51200, 51210.1
	older := last
	older.Time -= 5 * market.TF1m.Millis()
	older.Close = 1
	other := next
	other.Symbol, other.Close = "ETHUSDT", 2
	otherTF := next
	otherTF.Timeframe, otherTF.Close = market.TF5m, 3
	h.events(engine.CandleEvent{Candle: next}, engine.CandleEvent{Candle: older},
		engine.CandleEvent{Candle: other}, engine.CandleEvent{Candle: otherTF})
	h.frame(100 * time.Millisecond)
	h.mustContain("last 51210.1")
	if got, _ := p.candles.Last(); got != next || p.candles.Len() != 300 {
		t.Fatalf("append: last %+v len %d", got, p.candles.Len())
	}
}

func TestEventsDuringLoadAreApplied(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	cmd := h.cmdOf(keyMsg("s")) // ETHUSDT, loading
	eth := h.b.candles[seriesKey("ETHUSDT", market.TF1m)]
	c := eth[len(eth)-1]
	c.Time += market.TF1m.Millis()
	c.Close = 3333.33
	tr := market.Trade{Symbol: "ETHUSDT", ID: "live-1", Time: t0.UnixMilli() + 5, Price: 3333.33, Size: 7, Side: market.Sell}
	h.events(engine.CandleEvent{Candle: c}, engine.TradeEvent{Trade: tr})
	h.run(cmd)
	h.mustContain("ETHUSDT 1m  last 3333.33", "09:43:12.005 ▼S")
}

func TestTradesTape(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	h.mustContain("time", "price", "size")
	loaded := h.b.trades["BTCUSDT"]
	dup := loaded[len(loaded)-1] // already on the tape: must not be added twice
	buy := market.Trade{Symbol: "BTCUSDT", ID: "b1", Time: t0.UnixMilli() + 1, Price: 50111.1, Size: 0.5, Side: market.Buy}
	sell := market.Trade{Symbol: "BTCUSDT", ID: "s1", Time: t0.UnixMilli() + 2, Price: 50222.2, Size: 1.25, Side: market.Sell}
	eth := market.Trade{Symbol: "ETHUSDT", ID: "e1", Time: t0.UnixMilli() + 3, Price: 3999.9, Size: 1, Side: market.Buy}
	h.events(engine.TradeEvent{Trade: dup}, engine.TradeEvent{Trade: buy}, engine.TradeEvent{Trade: sell}, engine.TradeEvent{Trade: eth})
	h.frame(100 * time.Millisecond)
	s := h.screen()
	iBuy := strings.Index(s, "09:43:12.001 ▲B    50111.1    0.5000")
	iSell := strings.Index(s, "09:43:12.002 ▼S    50222.2     1.250")
	if iBuy < 0 || iSell < 0 || iSell > iBuy {
		t.Fatalf("tape: buy at %d, sell at %d (newest first expected):\n%s", iBuy, iSell, s)
	}
	if strings.Contains(s, "3999.9") {
		t.Fatal("another symbol's trade on the tape")
	}
	if n := h.market().tape.Len(); n != 200 {
		t.Fatalf("tape length %d, want 200 (capped)", n)
	}
	if c := strings.Count(s, msTime(dup.Time).Format("15:04:05.000")); c != 1 {
		t.Fatalf("loaded trade shown %d times", c)
	}
}

func TestTapeAt80Columns(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 80, 24)
	h.mustNotContain("09:43:11.750") // hidden by default at 80 columns
	h.key("v")
	h.mustContain("09:43:11.750 ")
	checkFrame(t, h, 80, 24)
	h.key("v")
	h.mustNotContain("09:43:11.750")
}

func TestHistoryScroll(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	h.mustContain("● LIVE")
	h.key("left")
	h.mustContain("back (end: live)")
	p := h.market()
	if p.scroll == 0 {
		t.Fatal("no scroll")
	}
	// A new candle keeps a scrolled view where it is.
	last, _ := p.candles.Last()
	last.Time += market.TF1m.Millis()
	s := p.scroll
	h.events(engine.CandleEvent{Candle: last})
	h.frame(100 * time.Millisecond)
	if p.scroll != s+1 {
		t.Fatalf("scroll %d, want %d", p.scroll, s+1)
	}
	h.key("home")
	if p.scroll != p.maxScroll() {
		t.Fatal("home")
	}
	h.key("right")
	if p.scroll >= p.maxScroll() {
		t.Fatal("right")
	}
	h.key("end")
	h.mustContain("● LIVE")
	if p.scroll != 0 {
		t.Fatal("end")
	}
}

func TestChangeReference(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 35)
	h.mustContain("(first loaded)") // 300 × 1m does not reach 24 h back
	h.key("t")
	h.key("t") // 1h: 300 h reach 24 h back
	s := h.screen()
	cs := h.b.candles[seriesKey("BTCUSDT", market.TF1h)]
	last, ref := cs[len(cs)-1].Close, cs[len(cs)-25].Close
	want := fmtSigned(last-ref, 1)
	if !strings.Contains(s, want+" (") || !strings.Contains(s, " 24h") {
		t.Fatalf("want change %s vs 24h:\n%s", want, s)
	}
}

func TestFeedsTable(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	h.key("6")
	h.mustContain("3 streams", "1 connected", "1 reconnecting", "1 paused")
	var btc, ethBook, ethTrades string
	for _, l := range strings.Split(h.screen(), "\n") {
		switch {
		case strings.Contains(l, "BTCUSDT"):
			btc = l
		case strings.Contains(l, "ETHUSDT") && strings.Contains(l, "book"):
			ethBook = l
		case strings.Contains(l, "ETHUSDT") && strings.Contains(l, "trades"):
			ethTrades = l
		}
	}
	want := map[string][]string{
		btc:       {"sim", "BTCUSDT", "trades", "connected", "42.5", "123.5k", "0.2s", "2", "3", "1", "77", "5"},
		ethBook:   {"sim", "ETHUSDT", "book", "reconnecting", "0.0", "9876", "12s", "11", "0", "4", "0", "0"},
		ethTrades: {"sim", "ETHUSDT", "trades", "paused", "0.0", "0", "-", "0", "0", "0", "0", "0"},
	}
	for line, fields := range want {
		if got := strings.Fields(line); fmt.Sprint(got) != fmt.Sprint(fields) {
			t.Fatalf("row %q, want %v", line, fields)
		}
	}
	h.mustContain("EXCHANGE", "MSG/S", "MESSAGES", "LAST MSG", "RECONNECTS", "GAPS", "RESYNCS", "BACKFILLED", "LATE")

	// The table is re-read at most once a second.
	h.b.mu.Lock()
	h.b.health[0].Messages = 999999
	h.b.mu.Unlock()
	h.frame(300 * time.Millisecond)
	h.mustContain("123.5k")
	h.frame(time.Second)
	h.mustContain("1000.0k")
}

func TestFeedsStateColours(t *testing.T) {
	h := newHarness(t, newFake(), termenv.ANSI, 200, 50)
	h.key("6")
	v := h.m.View()
	st := h.m.c.Styles
	for _, want := range []string{st.paint(cOK, "connected   "), st.paint(cWarn, "reconnecting"), st.paint(cMuted, "paused      ")} {
		if !strings.Contains(v, want) {
			t.Fatalf("missing coloured state %q", want)
		}
	}
}

func TestLogsScrollAndFollow(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 120, 24) // 20 log lines visible
	h.key("7")
	h.mustContain("following", "log message 49", "log message 30")
	h.mustNotContain("log message 29")

	h.key("up")
	h.mustContain("scrolled", "log message 29")
	h.mustNotContain("log message 49")

	// New entries while scrolled do not move the view.
	newEntry := engine.LogEntry{Time: t0, Level: slog.LevelWarn, Message: "fresh entry"}
	h.events(engine.LogEvent{Entry: newEntry})
	h.frame(100 * time.Millisecond)
	h.mustContain("51 entries", "log message 29")
	h.mustNotContain("fresh entry")

	h.key("G")
	h.mustContain("following", "fresh entry")
	h.mustNotContain("log message 30")

	h.key("g")
	h.mustContain("log message 00", "scrolled: 1–20 of 51")
	h.key("pgdown")
	h.mustContain("log message 19", "scrolled: 20–39 of 51")
	h.key("pgup")
	h.mustContain("log message 00")
	h.key("down")
	h.key("down")
	h.mustContain("scrolled: 3–22 of 51")
	h.key("pgdown")
	h.key("pgdown") // reaching the bottom follows again
	h.mustContain("following", "fresh entry")

	h.key("l")
	h.mustContain("level ≥ INFO")
	h.mustNotContain("DEBUG")
	h.key("l")
	h.key("l")
	h.mustContain("level ≥ ERROR", "ERROR log message 47")
	h.mustNotContain("WARN  ", "INFO  ")
	h.key("l")
	h.mustContain("level ≥ DEBUG", "DEBUG")
}

func TestLogsBeforeInitialRead(t *testing.T) {
	b := newFake()
	m := New(b, Options{Renderer: renderer(termenv.Ascii)})
	m.noTicks = true
	h := &harness{t: t, m: m, b: b, wall: time.Now()}
	m.now = func() time.Time { return h.wall }
	h.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	// Events that arrive before b.Logs was read: one is also in the ring, one is new.
	h.events(engine.LogEvent{Entry: b.logs[len(b.logs)-1]}, engine.LogEvent{Entry: engine.LogEntry{Time: t0, Message: "after"}})
	h.run(m.Init())
	h.key("7")
	h.mustContain("51 entries", "after")
	if c := strings.Count(h.screen(), "log message 49"); c != 1 {
		t.Fatalf("entry shown %d times", c)
	}
}

func TestPauseKey(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.mustContain("● LIVE", "p pause")
	h.key("p")
	h.mustContain("[PAUSED]")
	if fmt.Sprint(b.setPaused) != "[true]" {
		t.Fatalf("SetPaused calls %v", b.setPaused)
	}
	h.key("p")
	if fmt.Sprint(b.setPaused) != "[true false]" {
		t.Fatalf("SetPaused calls %v", b.setPaused)
	}
	h.mustNotContain("PAUSED")
	h.events(engine.PauseEvent{Paused: true}) // paused elsewhere
	h.frame(100 * time.Millisecond)
	h.mustContain("[PAUSED]")

	nb := newFake()
	nb.exchange, nb.pausable = "bybit", false
	h = newHarness(t, nb, termenv.Ascii, 120, 35)
	h.mustNotContain("p pause")
	if cmd := h.cmdOf(keyMsg("p")); cmd != nil {
		t.Fatal("p returned a command on a venue that cannot pause")
	}
	if len(nb.setPaused) != 0 {
		t.Fatalf("SetPaused called: %v", nb.setPaused)
	}
	h.mustContain("bybit cannot be paused")
	h.key("2")
	h.mustNotContain("cannot be paused")
}

func TestFrameSizes(t *testing.T) {
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		for _, size := range [][2]int{{80, 24}, {200, 50}, {120, 35}, {100, 30}} {
			h := newHarness(t, newFake(), prof, size[0], size[1])
			for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "?", "?", "v", "1", "v", "2", "w", "W"} {
				h.key(k)
				checkFrame(t, h, size[0], size[1])
			}
		}
	}
	// Resizing re-lays everything out.
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	h.mustContain("09:43:11.750 ") // tape shown when wide
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	checkFrame(t, h, 80, 24)
	h.mustNotContain("09:43:11.750")
	h.send(tea.WindowSizeMsg{Width: 200, Height: 50})
	checkFrame(t, h, 200, 50)
}

// checkFrame asserts that the view has exactly height lines, none wider than width.
func checkFrame(t *testing.T, h *harness, w, height int) {
	t.Helper()
	lines := strings.Split(h.m.View(), "\n")
	if len(lines) != height {
		t.Fatalf("%dx%d: %d lines:\n%s", w, height, len(lines), h.screen())
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("%dx%d: line %d is %d wide: %q", w, height, i, lw, ansi.Strip(l))
		}
	}
}

func TestTinySizesDoNotPanic(t *testing.T) {
	b := newFake()
	b.seedBots()
	h := newHarness(t, b, termenv.TrueColor, 10, 5)
	last, _ := h.market().candles.Last()
	for w := 0; w <= 64; w += 3 {
		for ht := 0; ht <= 20; ht++ {
			h.send(tea.WindowSizeMsg{Width: w, Height: ht})
			for _, k := range []string{"1", "v", "left", "2", "w", "3", "down", "4", "down", "5", "down", "6", "down", "7", "up", "?", "?", "1"} {
				h.key(k)
			}
			last.Close++
			h.events(engine.CandleEvent{Candle: last}, engine.TradeEvent{Trade: market.Trade{Symbol: "BTCUSDT", Time: last.Time, Price: last.Close, Size: 1, Side: market.Buy}},
				engine.AlertEvent{Symbol: "BTCUSDT", Time: t0.UnixMilli(), OBI: 0.7, Threshold: 0.6})
			h.frame(time.Second)
			if w > 0 && ht > 0 {
				lines := strings.Split(h.m.View(), "\n")
				if len(lines) != ht {
					t.Fatalf("%dx%d: %d lines", w, ht, len(lines))
				}
				for _, l := range lines {
					if ansi.StringWidth(l) > w {
						t.Fatalf("%dx%d: line too wide: %q", w, ht, l)
					}
				}
			}
		}
	}
	h.send(tea.WindowSizeMsg{Width: 10, Height: 5})
	checkFrame(t, h, 10, 5)
}

// envMap is a termenv environment for tests.
type envMap map[string]string

func (e envMap) Getenv(k string) string { return e[k] }
func (e envMap) Environ() []string {
	var s []string
	for k, v := range e {
		s = append(s, k+"="+v)
	}
	return s
}

func TestNoColor(t *testing.T) {
	tty := func(env envMap) *lipgloss.Renderer {
		return lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(env))
	}
	color := envMap{"TERM": "xterm-256color", "COLORTERM": "truecolor"}
	noColor := envMap{"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"}

	m := New(newFake(), Options{Renderer: tty(color)})
	if !m.c.Styles.Color {
		t.Fatal("a truecolor terminal got no colours")
	}

	for name, r := range map[string]*lipgloss.Renderer{"NO_COLOR": tty(noColor), "Ascii": renderer(termenv.Ascii)} {
		b := newFake()
		m := New(b, Options{Renderer: r})
		m.noTicks = true
		h := &harness{t: t, m: m, b: b, wall: time.Now()}
		m.now = func() time.Time { return h.wall }
		h.send(tea.WindowSizeMsg{Width: 200, Height: 50})
		h.run(m.Init())
		for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "?", "?", "p", "1", "left"} {
			h.key(k)
			if v := h.m.View(); strings.Contains(v, "\x1b") {
				t.Fatalf("%s, after %q: escape sequence in %q", name, k, v)
			}
		}
		h.mustContain("[PAUSED]", "[1 Market]", "┃ up  █ down")
		// Down candles have filled bodies, up candles outlined ones.
		s := h.screen()
		if !strings.ContainsAny(s, "█▀▄") || !strings.ContainsAny(s, "┃╹╻") {
			t.Fatalf("%s: up and down bodies not told apart:\n%s", name, s)
		}
	}
}

func TestColourProfilesDegrade(t *testing.T) {
	seqs := map[termenv.Profile]string{termenv.TrueColor: "38;2;", termenv.ANSI256: "38;5;", termenv.ANSI: "\x1b[3"}
	for prof, want := range seqs {
		h := newHarness(t, newFake(), prof, 120, 35)
		if v := h.m.View(); !strings.Contains(v, want) {
			t.Fatalf("profile %v: no %q sequences", prof, want)
		}
	}
	h := newHarness(t, newFake(), termenv.ANSI, 120, 35)
	if v := h.m.View(); strings.Contains(v, "38;5;") || strings.Contains(v, "38;2;") {
		t.Fatal("16-colour profile wrote 256/true colours")
	}
}

func TestIdenticalViewWhenNothingChanged(t *testing.T) {
	h := newHarness(t, newFake(), termenv.TrueColor, 200, 50)
	for _, tab := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		h.key(tab)
		h.frame(2 * time.Second)
		v := h.m.View()
		for i := 0; i < 30; i++ {
			h.frame(100 * time.Millisecond)
			if h.m.View() != v {
				t.Fatalf("tab %s: view changed without a change", tab)
			}
		}
	}
	// A change shows on the next frame only.
	h.key("1")
	v := h.m.View()
	last, _ := h.market().candles.Last()
	last.Close = 49000
	h.events(engine.CandleEvent{Candle: last})
	if h.m.View() != v {
		t.Fatal("view changed before the frame tick")
	}
	h.frame(100 * time.Millisecond)
	if h.m.View() == v {
		t.Fatal("view did not change on the frame tick")
	}
}

func TestPausedIdleFramesDoNoWork(t *testing.T) {
	b := newFake()
	b.paused = true
	h := newHarness(t, b, termenv.TrueColor, 200, 50)
	h.mustContain("PAUSED")
	p := h.market()
	frames, v := p.frames, h.m.View()
	for i := 0; i < 100; i++ {
		h.frame(100 * time.Millisecond)
	}
	if p.frames != frames {
		t.Fatalf("idle ticks rebuilt the market pane %d times", p.frames-frames)
	}
	if h.m.View() != v {
		t.Fatal("idle ticks changed the view")
	}
	if allocs := testing.AllocsPerRun(100, func() { h.m.Update(frameMsg(h.wall)) }); allocs > 2 {
		t.Fatalf("an idle tick allocates %.0f times", allocs)
	}
}

func TestInitialTimeframe(t *testing.T) {
	tfs := []market.Timeframe{market.TF1s, market.TF5s, market.TF5m, market.TF1h}
	if i := initialTimeframe(tfs, 0); tfs[i] != market.TF5m {
		t.Fatalf("default %v", tfs[i])
	}
	if i := initialTimeframe(tfs, market.TF1h); tfs[i] != market.TF1h {
		t.Fatalf("requested %v", tfs[i])
	}
	if i := initialTimeframe(tfs, market.TF1d); tfs[i] != market.TF5m {
		t.Fatalf("unavailable request %v", tfs[i])
	}
	if i := initialTimeframe([]market.Timeframe{market.TF1s, market.TF5s}, 0); i != 0 {
		t.Fatalf("all short: %d", i)
	}
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.mustContain("BTCUSDT 1m") // first ≥ 1m of 1s 1m 5m 1h
	m := New(b, Options{Timeframe: market.TF5m, Renderer: renderer(termenv.Ascii)})
	if tf := m.tabs[0].(*marketPane).tf(); tf != market.TF5m {
		t.Fatalf("Options.Timeframe ignored: %v", tf)
	}
}

func TestNoSymbols(t *testing.T) {
	b := newFake()
	b.symbols = nil
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.mustContain("no symbols or timeframes configured")
	h.key("s")
	h.key("t")
	checkFrame(t, h, 80, 24)
	if len(b.requests()) != 0 {
		t.Fatal("loaded without a symbol")
	}
}

func TestRelayCoalesces(t *testing.T) {
	ch := make(chan engine.Event, 1000)
	for i := 0; i < 1000; i++ {
		ch <- engine.LogEvent{Entry: engine.LogEntry{Message: fmt.Sprint(i)}}
	}
	close(ch)
	var batches []EventsMsg
	relay(context.Background(), ch, func(m tea.Msg) { batches = append(batches, m.(EventsMsg)) })
	if len(batches) != 2 || len(batches[0]) != relayBatch || len(batches[1]) != 1000-relayBatch {
		sizes := []int{}
		for _, b := range batches {
			sizes = append(sizes, len(b))
		}
		t.Fatalf("batch sizes %v", sizes)
	}
	i := 0
	for _, b := range batches {
		for _, ev := range b {
			if ev.(engine.LogEvent).Entry.Message != fmt.Sprint(i) {
				t.Fatal("order lost")
			}
			i++
		}
	}

	// The relay stops when its context ends, even with no events.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay(ctx, make(chan engine.Event), func(tea.Msg) {}); close(done) }()
	cancel()
	<-done
}

// syncBuffer is an io.Writer safe for the renderer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunQuitsAndStopsRelay(t *testing.T) {
	b := newFake()
	for i := 0; i < 10; i++ {
		b.subCh <- engine.LogEvent{Entry: engine.LogEntry{Time: t0, Message: "relayed"}}
	}
	inR, inW := io.Pipe()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), b, Options{}, inR, out) }()
	if _, err := inW.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	b.mu.Lock()
	ctx := b.subCtx
	b.mu.Unlock()
	if ctx == nil || ctx.Err() == nil {
		t.Fatal("the subscription is still open after Run returned")
	}
	if !strings.Contains(out.String(), "\x1b[?1049l") {
		t.Fatal("alt screen not left")
	}
}

func TestRunEndsWithContext(t *testing.T) {
	b := newFake()
	inR, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, b, Options{}, inR, &syncBuffer{}) }()
	b.subCh <- engine.PauseEvent{Paused: true} // taken by the relay once it runs
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	b.mu.Lock()
	sub := b.subCtx
	b.mu.Unlock()
	if sub != nil && sub.Err() == nil {
		t.Fatal("subscription still open")
	}
}

func TestFormatting(t *testing.T) {
	cases := map[string]string{
		fmtAge(200*time.Millisecond, false):      "0.2s",
		fmtAge(12*time.Second, false):            "12s",
		fmtAge(184*time.Second, false):           "3m04s",
		fmtAge(2*time.Hour+3*time.Minute, false): "2h03m",
		fmtAge(0, true):                          "-",
		fmtCount(9999):                           "9999",
		fmtCount(123456):                         "123.5k",
		fmtQty(0.0123):                           "0.0123",
		fmtQty(25000):                            "25.00k",
		fmtPrice(50000.25, priceDecimals(50000)): "50000.2",
		fmtPrice(0.51234, priceDecimals(0.5)):    "0.512340",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
