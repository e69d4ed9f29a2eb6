package tui

import (
	"fmt"
	tea "github.com/charmbracelet/bubbletea"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// ofScreen is the Order flow body parsed from the screen.
type ofScreen struct {
	x      int                 // rune column of the shared y axis
	order  []string            // panel names, top to bottom
	panels map[string][][]rune // rows of each panel, whole lines
	rules  map[string][]rune   // the rule line above each panel but the first
	times  string              // the time-label line under the last panel
}

// parseOrderFlow splits the screen (tab bar, status, two header lines, body, footer) into
// panels: a panel starts at a rule (├ on the axis) and its rows have │ or ┤ on the axis.
func parseOrderFlow(t *testing.T, screen string) ofScreen {
	t.Helper()
	lines := strings.Split(screen, "\n")
	body := lines[4 : len(lines)-1]
	o := ofScreen{x: -1, panels: map[string][][]rune{}, rules: map[string][]rune{}}
	first := []rune(body[0])
	for i, r := range first {
		if r == '│' || r == '┤' {
			o.x = i
			break
		}
	}
	if o.x < 0 {
		t.Fatalf("no y axis on the first body line:\n%s", screen)
	}
	name := "ohlc"
	o.order = append(o.order, name)
	for _, l := range body {
		rs := []rune(l)
		if len(rs) <= o.x {
			t.Fatalf("short line %q", l)
		}
		switch rs[o.x] {
		case '├':
			name = strings.TrimSpace(string(rs[:o.x]))
			o.order = append(o.order, name)
			o.rules[name] = rs
		case '│', '┤':
			o.panels[name] = append(o.panels[name], rs)
		default:
			if o.times == "" {
				o.times = l
			}
		}
	}
	return o
}

// columns returns the graph columns (0 = first right of the axis) where a panel has content.
func (o ofScreen) columns(name string) []int {
	var cols []int
	rows := o.panels[name]
	for c := o.x + 1; len(rows) > 0 && c < len(rows[0]); c++ {
		for _, r := range rows {
			if c < len(r) && r[c] != ' ' {
				cols = append(cols, c-o.x-1)
				break
			}
		}
	}
	return cols
}

func span(n int) string {
	cols := make([]int, n)
	for i := range cols {
		cols[i] = i
	}
	return fmt.Sprint(cols)
}

func TestOrderFlowPanelsShareOneAxis(t *testing.T) {
	for _, c := range []struct {
		w, h                int
		ohlc, vol, obi, cvd int
	}{
		{80, 24, 5, 2, 5, 3},
		{200, 50, 16, 6, 11, 8},
		{120, 35, 10, 3, 7, 6},
	} {
		b := newFake()
		h := newHarness(t, b, termenv.Ascii, c.w, c.h)
		h.key("2")
		checkFrame(t, h, c.w, c.h)
		o := parseOrderFlow(t, h.screen())
		if got := strings.Join(o.order, " "); got != "ohlc vol OBI CVD" {
			t.Fatalf("%dx%d: panels %q:\n%s", c.w, c.h, got, h.screen())
		}
		rows := []int{len(o.panels["ohlc"]), len(o.panels["vol"]), len(o.panels["OBI"]), len(o.panels["CVD"])}
		if fmt.Sprint(rows) != fmt.Sprint([]int{c.ohlc, c.vol, c.obi, c.cvd}) {
			t.Fatalf("%dx%d: panel rows %v:\n%s", c.w, c.h, rows, h.screen())
		}
		// 600 bars: every panel fills the same columns, the whole graph width.
		gw := h.orderFlow().chart.graphW
		if gw != c.w-8 { // gutter of 7 + the axis
			t.Fatalf("%dx%d: graph width %d", c.w, c.h, gw)
		}
		for _, name := range o.order {
			if got := fmt.Sprint(o.columns(name)); got != span(gw) {
				t.Fatalf("%dx%d: %s fills columns %s, want 0…%d:\n%s", c.w, c.h, name, got, gw-1, h.screen())
			}
		}
		if !regexp.MustCompile(`^ +\d\d:\d\d +\d\d:\d\d`).MatchString(o.times) {
			t.Fatalf("%dx%d: no time axis under the panels: %q", c.w, c.h, o.times)
		}

		// 30 bars: the same 30 columns in every panel.
		bs := b.flowBars[flowKey("BTCUSDT", time.Minute)]
		b.setBars("BTCUSDT", time.Minute, bs[len(bs)-30:])
		h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
		h.frame(100 * time.Millisecond)
		o = parseOrderFlow(t, h.screen())
		for _, name := range o.order {
			if got := fmt.Sprint(o.columns(name)); got != span(30) {
				t.Fatalf("%dx%d, 30 bars: %s fills columns %s:\n%s", c.w, c.h, name, got, h.screen())
			}
		}
		// The time labels name the open of the bar under them: label i·10 sits over column
		// i·10 - 1 (the ntcharts convention the Market chart uses too).
		label := msTime(bs[len(bs)-30+9].Time - time.Minute.Milliseconds()).Format("15:04")
		if got := string([]rune(o.times)[o.x+10 : o.x+15]); got != label {
			t.Fatalf("%dx%d: time label %q, want %q: %q", c.w, c.h, got, label, o.times)
		}
	}
}

func TestOrderFlowHeader(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.key("2")
	h.mustContain("BTCUSDT order flow · 1m bars", "w: 1s 5s 15s 30s [1m] 5m",
		"OBI +0.07 d10  CVD +1.791  bid 50000.0  ask 50001.0  spread 1.0", "alert |OBI| ≥ 0.60 · 0 fired")
	h.mustNotContain("ALERT", "CROSSED")

	h.key("s")
	h.mustContain("ETHUSDT order flow · 1m bars", "bid 3000.00  ask 3000.01  spread 0.01")
	h.key("S")
	h.mustContain("BTCUSDT order flow")
	h.key("S") // wraps
	h.mustContain("ETHUSDT order flow")
	h.key("s")

	b.setBook("BTCUSDT", genLevels(50002, -1, bookBidSizes), genLevels(50001, 1, bookAskSizes))
	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.OBI, f.Alert, f.Alerts, f.AlertThreshold = -0.66, true, 3, 0.6 })
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("OBI -0.66 d10 ▼ ALERT", "spread -1.0 ⚠ CROSSED", "alert |OBI| ≥ 0.60 · 3 fired")

	// Alerts off: no threshold rows or labels.
	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.AlertThreshold, f.Alert = 0, false })
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("alerts off", "+1.00│", "-1.00│")
	h.mustNotContain("+0.60", "┄", "ALERT")
}

func TestOrderFlowOBIPanelThresholds(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	h.key("2")
	o := parseOrderFlow(t, h.screen())
	var labels []string
	dashes := 0
	for _, r := range o.panels["OBI"] {
		if l := strings.TrimSpace(string(r[:o.x])); l != "" {
			labels = append(labels, l)
		}
		dashes += strings.Count(string(r), "┄")
	}
	if fmt.Sprint(labels) != "[+1.00 +0.60 0 -0.60 -1.00]" || dashes == 0 {
		t.Fatalf("OBI labels %v, %d dashes:\n%s", labels, dashes, h.screen())
	}
	if !strings.Contains(string(o.rules["OBI"]), "close ") || !strings.Contains(string(o.rules["OBI"]), "alert ±0.60") {
		t.Fatalf("OBI rule %q", string(o.rules["OBI"]))
	}
}

func TestOrderFlowWindowKeys(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.key("2")
	last := func() string { r := b.flowRequests(); return r[len(r)-1] }
	if got := last(); got != "BTCUSDT 1m 120" {
		t.Fatalf("read %q", got)
	}
	h.key("w")
	h.mustContain("BTCUSDT order flow · 5m bars", "[5m]")
	if got := last(); got != "BTCUSDT 5m 120" {
		t.Fatalf("read %q", got)
	}
	n := len(b.flowRequests())
	h.key("]") // the widest already: nothing happens
	h.mustContain("[5m]")
	if len(b.flowRequests()) != n {
		t.Fatal("a key that changed nothing re-read the bars")
	}
	h.key("W")
	h.mustContain("· 1m bars", "[1m]")
	h.key("[")
	h.mustContain("· 30s bars", "[30s]")
	if o := parseOrderFlow(t, h.screen()); !regexp.MustCompile(`\d\d:\d\d:\d\d`).MatchString(o.times) {
		t.Fatalf("30s bars without seconds on the time axis: %q", o.times)
	}
	for range 5 {
		h.key("[")
	}
	h.mustContain("· 1s bars", "[1s]")
	h.key("]")
	h.mustContain("· 5s bars")
	if got := last(); got != "BTCUSDT 5s 120" {
		t.Fatalf("read %q", got)
	}
}

func TestNearestWindow(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		ws   []time.Duration
		want time.Duration
	}{
		{engine.DefaultFlowWindows, time.Minute},
		{[]time.Duration{s, 45 * s, 90 * s}, 45 * s},
		{[]time.Duration{s, 30 * s, 90 * s}, 30 * s}, // a tie goes to the shorter
		{[]time.Duration{5 * time.Minute, 15 * time.Minute}, 5 * time.Minute},
		{[]time.Duration{s}, s},
	} {
		if got := c.ws[nearestWindow(c.ws, time.Minute)]; got != c.want {
			t.Errorf("%v: %v, want %v", c.ws, got, c.want)
		}
	}
	b := newFake()
	b.windows = []time.Duration{s, 5 * s, 90 * s} // no 1m: the nearest, 90s (no bars in the fake)
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.key("2")
	h.mustContain("· 90s bars", "w: 1s 5s [90s]", "waiting for order flow… (BTCUSDT, 90s bars)")
}

func TestOrderFlowAlertHighlight(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.key("2")
	h.mustNotContain("ALERT", "▼")
	p := h.orderFlow()
	gw := p.chart.graphW

	at := time.Date(2025, 11, 21, 9, 40, 30, 0, time.UTC) // in the bar stamped 09:41, 4th from the right
	before := h.m.View()
	h.events(engine.AlertEvent{Exchange: "sim", Symbol: "BTCUSDT", Time: at.UnixMilli(), OBI: 0.65, Threshold: 0.6},
		engine.AlertEvent{Exchange: "sim", Symbol: "ETHUSDT", Time: at.UnixMilli(), OBI: -0.9, Threshold: 0.6})
	if h.m.View() != before {
		t.Fatal("the alert changed the view before the frame tick")
	}
	markAt := func() []int {
		var cols []int
		o := parseOrderFlow(t, h.screen())
		for i, r := range o.rules["OBI"] {
			if r == '▼' {
				cols = append(cols, i-o.x-1)
			}
		}
		return cols
	}
	badge := "⚠ ALERT 09:40:30 OBI +0.65 beyond ±0.60"
	h.frame(100 * time.Millisecond)
	h.mustContain(badge)
	h.mustNotContain("-0.90")
	if got := markAt(); fmt.Sprint(got) != fmt.Sprint([]int{gw - 4}) {
		t.Fatalf("alert marks at %v, want [%d]:\n%s", got, gw-4, h.screen())
	}
	h.frame(3 * time.Second)
	h.mustContain(badge)
	h.frame(2 * time.Second) // 5.1 s after the alert
	h.mustNotContain("ALERT")
	if got := markAt(); fmt.Sprint(got) != fmt.Sprint([]int{gw - 4}) {
		t.Fatalf("the bar mark went with the badge: %v", got)
	}

	// The engine's LastAlert marks its bar too (an alert from before the pane was shown).
	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.LastAlert = at.Add(100 * time.Second).UnixMilli() }) // bar 09:43
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	if got := markAt(); fmt.Sprint(got) != fmt.Sprint([]int{gw - 4, gw - 2}) {
		t.Fatalf("marks %v", got)
	}

	// Alerts the engine counted in a bar mark it too (fired while the console was not running).
	b.mu.Lock()
	bars := b.flowBars[flowKey("BTCUSDT", time.Minute)]
	bars[len(bars)-10].Alerts = 1
	b.mu.Unlock()
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	if got := markAt(); fmt.Sprint(got) != fmt.Sprint([]int{gw - 10, gw - 4, gw - 2}) {
		t.Fatalf("marks with a counted alert %v", got)
	}

	// The other symbol's alert marks its own bar, without a badge after the fact.
	h.key("s")
	h.mustContain("ETHUSDT order flow")
	h.mustNotContain("ALERT")
	if got := markAt(); fmt.Sprint(got) != fmt.Sprint([]int{gw - 4}) {
		t.Fatalf("ETHUSDT marks %v", got)
	}

	// In colour the badge is in the alert style.
	hc := newHarness(t, newFake(), termenv.TrueColor, 120, 35)
	hc.key("2")
	hc.events(engine.AlertEvent{Symbol: "BTCUSDT", Time: at.UnixMilli(), OBI: -0.7, Threshold: 0.6})
	hc.frame(100 * time.Millisecond)
	if !strings.Contains(hc.m.View(), hc.m.c.Styles.pre[cAlert]+" ⚠ ALERT 09:40:30 OBI -0.70") {
		t.Fatal("badge not in the alert style")
	}
}

func TestOrderFlowWaiting(t *testing.T) {
	b := newFake()
	full := b.flowBars[flowKey("BTCUSDT", time.Minute)]
	b.setBars("BTCUSDT", time.Minute, nil)
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.key("2")
	h.mustContain("waiting for order flow… (BTCUSDT, 1m bars)")
	checkFrame(t, h, 80, 24)

	// Bars from before the first trade have no price: still waiting …
	empty := make([]market.FlowBar, 20)
	for i := range empty {
		empty[i] = market.FlowBar{Time: full[i].Time, OBIClose: 0.3, OBISamples: 1}
	}
	b.setBars("BTCUSDT", time.Minute, empty)
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("waiting for order flow…")

	// … and once trades come, the panels start at the first priced bar.
	b.setBars("BTCUSDT", time.Minute, append(empty, full[20:32]...))
	h.events(engine.TradeEvent{Trade: market.Trade{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustNotContain("waiting")
	o := parseOrderFlow(t, h.screen())
	for _, name := range o.order {
		if got := fmt.Sprint(o.columns(name)); got != span(12) {
			t.Fatalf("%s fills %s:\n%s", name, got, h.screen())
		}
	}

	// A symbol the engine does not run.
	b.mu.Lock()
	delete(b.flows, "BTCUSDT")
	b.mu.Unlock()
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("waiting for order flow…", "symbol 1/2 (s/S)")
	h.key("1")
	h.mustContain("order book:", "waiting for data…")
}

func TestOrderFlowSizes(t *testing.T) {
	for _, prof := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		h := newHarness(t, newFake(), prof, 200, 50)
		h.key("2")
		for _, size := range [][2]int{{200, 50}, {80, 24}, {100, 30}, {120, 35}, {81, 25}, {200, 50}} {
			h.send(sizeMsg(size[0], size[1]))
			checkFrame(t, h, size[0], size[1])
			if o := parseOrderFlow(t, h.screen()); len(o.order) != 4 || o.times == "" {
				t.Fatalf("%dx%d: panels %v", size[0], size[1], o.order)
			}
			h.key("w")
			checkFrame(t, h, size[0], size[1])
			h.key("W")
		}
		// Too small for four readable panels: say so.
		for _, size := range [][2]int{{80, 19}, {17, 30}} {
			h.send(sizeMsg(size[0], size[1]))
			checkFrame(t, h, size[0], size[1])
			h.mustContain("enlarge")
		}
		h.send(sizeMsg(80, 20))
		checkFrame(t, h, 80, 20)
		h.mustNotContain("enlarge")
	}
}

// An event of another symbol, or nothing at all, costs no rebuild.
func TestOrderFlowIdle(t *testing.T) {
	h := newHarness(t, newFake(), termenv.TrueColor, 200, 50)
	h.key("2")
	p := h.orderFlow()
	n, v := p.frames, h.m.View()
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "ETHUSDT"}}, engine.TradeEvent{Trade: market.Trade{Symbol: "ETHUSDT"}})
	for range 20 {
		h.frame(100 * time.Millisecond)
	}
	if p.frames != n || h.m.View() != v {
		t.Fatalf("%d rebuilds without a change", p.frames-n)
	}
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	if p.frames != n+1 {
		t.Fatal("no rebuild after an event of the symbol")
	}
}

// Keys typed faster than the terminal is read arrive as one message with several runes (over
// SSH, or from tmux send-keys): each is handled as its own key press.
func TestKeyBurstIsSplitIntoKeyPresses(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("2WW")})
	h.mustContain("BTCUSDT order flow · 15s bars", "[15s]")
	// a bracketed paste stays text: no tab switch
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("1w"), Paste: true})
	h.mustContain("order flow · 15s bars")
	// esc and a key at once read as an alt key: the two presses, so esc closes the help and
	// the key acts (here: back to the Market tab)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
	h.mustContain("Keys — ? or esc to close")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("1"), Alt: true})
	h.mustNotContain("Keys — ? or esc to close", "order flow · 15s bars")
	h.mustContain("BTCUSDT 1m")
}

// A replay says so on the status line and the Market pane, and says when it has ended.
func TestReplayStatus(t *testing.T) {
	b := newFake()
	b.exchange = "replay"
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.frame(time.Second)
	h.mustContain("▶ REPLAY")
	h.mustNotContain("● LIVE", "ENDED")
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	h.frame(time.Second) // the replay clock stands still at the end: the status is rebuilt anyway
	h.mustContain("■ REPLAY ENDED")
}
