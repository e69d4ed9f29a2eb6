package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
)

// lineWith returns the index and text of the first screen line containing sub (-1 if none).
func lineWith(screen, sub string) (int, string) {
	for i, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, sub) {
			return i, l
		}
	}
	return -1, ""
}

// barEighths measures the depth bar that follows prefix on its line, in eighths of a cell.
func barEighths(t *testing.T, screen, prefix string) int {
	t.Helper()
	_, l := lineWith(screen, prefix)
	if l == "" {
		t.Fatalf("no ladder line %q:\n%s", prefix, screen)
	}
	e := 0
	for _, r := range []rune(l[strings.Index(l, prefix)+len(prefix):]) {
		switch {
		case r == '█':
			e += 8
		case r == ' ' || r == '│':
			return e
		default:
			for k, lr := range leftEighths {
				if k > 0 && lr == r {
					return e + k
				}
			}
			t.Fatalf("unexpected rune %q in the bar of %q", r, l)
		}
	}
	return e
}

func TestMarketLadder200x50(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 200, 50)
	p := h.market()
	if p.flowW != 40 || p.tapeW != tapeW || p.chartW != 200-36-1-40-1 {
		t.Fatalf("widths: chart %d, flow %d, tape %d", p.chartW, p.flowW, p.tapeW)
	}
	s := h.screen()
	// Best levels marked, spread line between them, prices formatted like the pane.
	iAsk, _ := lineWith(s, "▸50001.0  3.000 ")
	iSpread, spreadL := lineWith(s, "spread 1.0 (0.2bp) · mid 50000.5")
	iBid, _ := lineWith(s, "▸50000.0 10.000 ")
	iAsk2, _ := lineWith(s, " 50002.0  2.000 ")
	iBid2, _ := lineWith(s, " 49999.0  5.000 ")
	if !(iAsk2 < iAsk && iAsk+1 == iSpread && iSpread+1 == iBid && iBid < iBid2) || iAsk2 < 0 {
		t.Fatalf("ladder order: ask2 %d, ask %d, spread %d, bid %d, bid2 %d:\n%s", iAsk2, iAsk, iSpread, iBid, iBid2, s)
	}
	if !strings.Contains(spreadL, "─── spread") {
		t.Fatalf("spread line %q", spreadL)
	}
	// 15 levels a side at 200×50.
	h.mustContain(" 49986.0 ", " 50015.0 ")
	h.mustNotContain(" 49985.0 ", " 50016.0 ")

	// Bars: the largest level shown (10) fills the 24-cell bar column, 5 fills half of it.
	h.mustContain("▸50000.0 10.000 "+strings.Repeat("█", 24)+"│", " 49999.0  5.000 "+strings.Repeat("█", 12)+strings.Repeat(" ", 12)+"│")
	sizes := map[string]float64{"▸50000.0 10.000 ": 10, " 49999.0  5.000 ": 5, " 49998.0  2.500 ": 2.5, " 49997.0  1.250 ": 1.25,
		" 50003.0  6.000 ": 6, "▸50001.0  3.000 ": 3, " 50002.0  2.000 ": 2, " 50004.0  1.000 ": 1}
	for a, sa := range sizes {
		for b, sb := range sizes {
			ea, eb := barEighths(t, s, a), barEighths(t, s, b)
			if sa > sb && ea <= eb {
				t.Fatalf("bar of %q (%d/8) not longer than %q (%d/8)", a, ea, b, eb)
			}
		}
	}
	checkFrame(t, h, 200, 50)
}

func TestMarketLadder80x24(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 80, 24)
	p := h.market()
	// The candles keep most of the width: 24 cells of ladder, ≥ 45 candles.
	if p.flowW != 24 || p.chart.graphW < 45 {
		t.Fatalf("flow column %d, candles %d", p.flowW, p.chart.graphW)
	}
	h.mustContain("▸50001.0", "▸50000.0", "spread 1.0 mid 50000.5", " 49997.0 ", " 50004.0 ", "OBI +", "CVD +")
	h.mustNotContain(" 49996.0 ", " 50005.0 ") // 4 levels a side
	checkFrame(t, h, 80, 24)

	// The tape, when asked for, takes the room: the ladder goes and comes back.
	h.key("v")
	if p.flowW != 0 {
		t.Fatalf("ladder still shown beside the tape at 80 columns: %d", p.flowW)
	}
	h.mustContain("09:43:11.750 ")
	h.mustNotContain("spread 1.0")
	checkFrame(t, h, 80, 24)
	h.key("v")
	h.mustContain("spread 1.0 mid 50000.5")

	// Too narrow for both chart and ladder: the chart wins.
	h.send(sizeMsg(60, 20))
	h.mustNotContain("spread 1.0")
	checkFrame(t, h, 60, 20)
	h.send(sizeMsg(120, 35))
	h.mustContain("spread 1.0 mid 50000.5") // (the tape stays hidden: v hid it)
	checkFrame(t, h, 120, 35)
}

func TestMarketLadderCrossedBook(t *testing.T) {
	for _, w := range []int{80, 200} {
		b := newFake()
		h := newHarness(t, b, termenv.ANSI, w, 50)
		b.setBook("BTCUSDT", genLevels(50002, -1, bookBidSizes), genLevels(50001, 1, bookAskSizes))
		h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
		h.frame(100 * time.Millisecond)
		want := "⚠ CROSSED book: bid ≥ ask by 1.0"
		if w == 80 {
			want = "⚠ CROSSED -1.0"
		}
		h.mustContain(want)
		if !strings.Contains(h.m.View(), h.m.c.Styles.pre[cWarn]+"⚠ CROSSED") {
			t.Fatalf("%d: crossed book not in the warning style", w)
		}
		h.mustNotContain("spread 1.0")
	}
}

func TestMarketOBIAlertMarker(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.mustContain("OBI +0.07 d10")
	h.mustNotContain("ALERT")

	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.OBI, f.Alert = 0.72, true })
	before := h.m.View()
	h.events(engine.AlertEvent{Symbol: "BTCUSDT", OBI: 0.72, Threshold: 0.6}, engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	if h.m.View() != before {
		t.Fatal("an order-flow event changed the view before the frame tick")
	}
	h.frame(100 * time.Millisecond)
	h.mustContain("OBI +0.72 d10 ▲ ALERT")

	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.OBI = -0.81 })
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("OBI -0.81 d10 ▼ ALERT")

	// In colour the marker is in the alert style.
	hc := newHarness(t, b, termenv.TrueColor, 80, 24)
	if !strings.Contains(hc.m.View(), hc.m.c.Styles.pre[cAlert]+"▼ ALERT") {
		t.Fatal("alert marker not highlighted")
	}

	b.setFlow("BTCUSDT", func(f *engine.OrderFlow) { f.OBI, f.Alert = 0.2, false })
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "BTCUSDT"}})
	h.frame(100 * time.Millisecond)
	h.mustContain("OBI +0.20 d10")
	h.mustNotContain("ALERT")

	// Another symbol's events do not rebuild the pane.
	p := h.market()
	n := p.frames
	h.events(engine.OrderFlowEvent{Flow: engine.OrderFlow{Symbol: "ETHUSDT"}}, engine.AlertEvent{Symbol: "ETHUSDT"})
	h.frame(100 * time.Millisecond)
	if p.frames != n {
		t.Fatal("another symbol's order flow rebuilt the Market pane")
	}
}

// The OBI mini-chart: positive values stand above the zero row, negative ones hang below it.
func TestMarketOBIMiniSign(t *testing.T) {
	for _, c := range []struct {
		obi        float64
		up, zr, dn string // the three rows of the mini at 80×24 (23 bars)
	}{
		{0.8, "+" + strings.Repeat("▄", 23), "0" + strings.Repeat("▀", 23), "-" + strings.Repeat(" ", 23)},
		{-0.8, "+" + strings.Repeat(" ", 23), "0" + strings.Repeat("▄", 23), "-" + strings.Repeat("▀", 23)},
		{0, "+" + strings.Repeat(" ", 23), "0" + strings.Repeat("─", 23), "-" + strings.Repeat(" ", 23)},
	} {
		b := newFake()
		bars := b.flowBars[flowKey("BTCUSDT", time.Second)]
		for i := range bars {
			bars[i].OBIClose = c.obi
		}
		h := newHarness(t, b, termenv.Ascii, 80, 24)
		s := h.screen()
		i, _ := lineWith(s, "│OBI ")
		lines := strings.Split(s, "\n")
		if i < 0 || i+3 >= len(lines) {
			t.Fatalf("no OBI mini:\n%s", s)
		}
		for k, want := range []string{c.up, c.zr, c.dn} {
			if !strings.HasSuffix(lines[i+1+k], "│"+want) {
				t.Fatalf("OBI %v row %d: %q, want suffix %q", c.obi, k, lines[i+1+k], want)
			}
		}
		if got := h.b.flowRequests()[0]; got != "BTCUSDT 1s 23" {
			t.Fatalf("mini read %q", got)
		}
	}
}

func TestSignedChart(t *testing.T) {
	st := NewStyles(renderer(termenv.Ascii))
	c := signedChart{vals: []float64{1, 0.6, 0.2, 0, -0.2, -0.6, -1}, h: 5, gw: 8, lo: -1, hi: 1, labelW: 1}
	want := []string{
		"+█       ",
		" ██      ",
		"0▀▀▀─▄▄▄ ",
		"      ██ ",
		"-      █ ",
	}
	if got := c.lines(st); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Threshold rows, value labels and an axis.
	c = signedChart{vals: []float64{0.2, -0.2}, h: 5, gw: 3, lo: -1, hi: 1, thresh: 0.6, labelW: 5, axis: true,
		label: func(v float64, _ int) string { return fmtOBI(v) }}
	want = []string{
		"+1.00│   ",
		"+0.60│┄┄ ",
		"    0┤▀▄ ",
		"-0.60│┄┄ ",
		"-1.00│   ",
	}
	if got := c.lines(st); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// An all-positive series puts the zero row at the bottom; labels show the scale.
	c = signedChart{vals: []float64{5, 10}, h: 3, gw: 2, lo: 0, hi: 10, labelW: 3}
	want = []string{
		"+10 █",
		"   ██",
		"  0▀▀",
	}
	if got := c.lines(st); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// In colour, the sides differ in colour too.
	stc := NewStyles(renderer(termenv.TrueColor))
	c = signedChart{vals: []float64{0.5, -0.5}, h: 3, gw: 2, lo: -1, hi: 1}
	zero := c.lines(stc)[1]
	if !strings.Contains(zero, stc.pre[cUp]+"▀") || !strings.Contains(zero, stc.pre[cDown]+"▄") {
		t.Fatalf("zero row %q", zero)
	}
}

func TestFlowFormatting(t *testing.T) {
	cases := map[string]string{
		fmtWindow(time.Second):             "1s",
		fmtWindow(15 * time.Second):        "15s",
		fmtWindow(time.Minute):             "1m",
		fmtWindow(90 * time.Second):        "90s",
		fmtWindow(2 * time.Hour):           "2h",
		fmtWindow(1500 * time.Millisecond): "1.5s",
		fmtAxis(12.345, 7):                 "+12.345",
		fmtAxis(-12340, 7):                 "-12.34k",
		fmtAxis(-12340, 5):                 "-12k",
		fmtAxis(0, 1):                      "0",
		fmtOBI(-0.071):                     "-0.07",
		fmtDepth(0):                        "all lvls",
		fmtDepth(10):                       "d10",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if w := miniWindow([]time.Duration{5 * time.Second, time.Second}); w != time.Second {
		t.Fatalf("mini window %v", w)
	}
	if w := miniWindow([]time.Duration{time.Minute, 5 * time.Second}); w != 5*time.Second {
		t.Fatalf("mini window without 1s: %v", w)
	}
}

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
