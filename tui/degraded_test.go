package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
)

// axisMarks returns the columns of the ! marks on the chart's x axis (the screen line with └)
// within the chart's width.
func axisMarks(t *testing.T, h *harness) []int {
	t.Helper()
	_, l := lineWith(h.screen(), "└")
	if l == "" {
		t.Fatalf("no x axis:\n%s", h.screen())
	}
	var cols []int
	for i, r := range []rune(l) {
		if i >= h.market().chartW {
			break
		}
		if r == '!' {
			cols = append(cols, i)
		}
	}
	return cols
}

// candleColumn is the screen column of candle k of the loaded series cs (scrolled to the live
// end).
func candleColumn(h *harness, cs []market.Candle, k int) int {
	c := &h.market().chart
	start := len(cs) - c.graphW
	return c.originX + 1 + k - start
}

// A degraded span covering exactly one candle's interval [T−tf, T) marks that candle's column
// on the x axis, and only it (not the neighbours that touch the span's ends), with a legend.
func TestMarketDegradedCandleMark(t *testing.T) {
	b := newFake()
	cs := b.candles[seriesKey("BTCUSDT", market.TF1m)]
	k := len(cs) - 10
	b.setDegraded("BTCUSDT", engine.Degraded{From: cs[k].Time - 60_000, To: cs[k].Time, Channel: market.ChannelTrades,
		Reason: "trades reconnecting"})
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	if got, want := axisMarks(t, h), []int{candleColumn(h, cs, k)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("marks at %v, want %v:\n%s", got, want, h.screen())
	}
	h.mustContain("! degraded data")
	checkFrame(t, h, 80, 24)

	// Coloured: the mark is in the warning style.
	hc := newHarness(t, b, termenv.ANSI, 80, 24)
	if !strings.Contains(hc.m.View(), hc.m.c.Styles.paint(cWarn, "!")) {
		t.Fatal("the mark is not in the warning style")
	}

	// 5m candles: the one covering that minute is marked.
	h.key("t")
	cs5 := b.candles[seriesKey("BTCUSDT", market.TF5m)]
	k5 := -1
	for i, c := range cs5 {
		if c.Start() < cs[k].Time && cs[k].Start() < c.Time {
			k5 = i
		}
	}
	if k5 < 0 {
		t.Fatal("no 5m candle covers the span")
	}
	if got, want := axisMarks(t, h), []int{candleColumn(h, cs5, k5)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("5m marks at %v, want %v:\n%s", got, want, h.screen())
	}
}

// Without a span on screen there are neither marks nor a legend; a span that starts later is
// read on a frame tick (at most every healthRefresh), and a lasting one (To 0) marks every
// candle from its start, live ones included.
func TestMarketDegradedSpansUpdate(t *testing.T) {
	b := newFake()
	cs := b.candles[seriesKey("BTCUSDT", market.TF1m)]
	b.setDegraded("BTCUSDT", engine.Degraded{From: cs[0].Start(), To: cs[1].Time}) // scrolled off
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	if got := axisMarks(t, h); len(got) != 0 {
		t.Fatalf("marks %v for a span off screen", got)
	}
	h.mustNotContain("degraded data")

	n := len(cs)
	b.setDegraded("BTCUSDT", engine.Degraded{From: cs[n-3].Start() + 10_000, Channel: market.ChannelBook})
	h.frame(100 * time.Millisecond)
	h.mustNotContain("degraded data") // not re-read yet
	h.frame(healthRefresh)
	want := []int{candleColumn(h, cs, n-3), candleColumn(h, cs, n-2), candleColumn(h, cs, n-1)}
	if got := axisMarks(t, h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("marks %v, want %v", got, want)
	}

	// The next candle arrives: it is marked too, without a re-read.
	next := cs[n-1]
	next.Time += 60_000
	h.events(engine.CandleEvent{Candle: next})
	h.frame(100 * time.Millisecond)
	cs = append(cs[:n:n], next)
	want = []int{candleColumn(h, cs, n-3), candleColumn(h, cs, n-2), candleColumn(h, cs, n-1), candleColumn(h, cs, n)}
	if got := axisMarks(t, h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("marks %v after a live candle, want %v", got, want)
	}

	// The span ends before the live candle starts: its mark goes.
	b.setDegraded("BTCUSDT", engine.Degraded{From: cs[n-3].Start() + 10_000, To: cs[n-1].Time - 1})
	h.frame(healthRefresh)
	if got := axisMarks(t, h); len(got) != 3 || got[2] != candleColumn(h, cs, n-1) {
		t.Fatalf("marks %v after the span ended", got)
	}
}

func TestDegradedFlags(t *testing.T) {
	tf := market.TF1m
	var series []market.Candle
	for i := 1; i <= 6; i++ { // candles stamped 1m … 6m: candle i covers [(i-1)m, im)
		series = append(series, market.Candle{Timeframe: tf, Time: int64(i) * 60_000})
	}
	for _, c := range []struct {
		spans []engine.Degraded
		want  string
	}{
		{nil, "[]"},
		{[]engine.Degraded{{From: 120_000, To: 180_000}}, "[false false true false false false]"},                  // exactly candle 3
		{[]engine.Degraded{{From: 179_999, To: 180_001}}, "[false false true true false false]"},                   // straddles 3 and 4
		{[]engine.Degraded{{From: 250_000}}, "[false false false false true true]"},                                // lasting, from inside 5
		{[]engine.Degraded{{From: 0, To: 1}, {From: 330_000, To: 331_000}}, "[true false false false false true]"}, // two spans
		{[]engine.Degraded{{From: 400_000}}, "[false false false false false false]"},                              // after the newest
	} {
		if got := fmt.Sprint(degradedFlags(nil, series, tf, c.spans)); got != c.want {
			t.Errorf("spans %v: %s, want %s", c.spans, got, c.want)
		}
	}
}

// The header's second line starts with a warning naming the symbol's reconnecting and
// resyncing streams, in the warning style; other symbols' streams do not count.
func TestMarketStreamWarning(t *testing.T) {
	b := newFake() // ETHUSDT's book is reconnecting
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h.mustNotContain("⚠")

	b.editHealth("BTCUSDT", "trades", func(s *engine.StreamHealth) { s.State = engine.StateReconnecting })
	h.frame(healthRefresh)
	if l := screenLines(h)[3]; !strings.HasPrefix(l, "⚠ trades reconnecting  ") || !strings.Contains(l, " candles ") {
		t.Fatalf("header line %q", l)
	}
	h.b.setHealth(append(b.Health(), engine.StreamHealth{Exchange: "sim", Symbol: "BTCUSDT", Channel: "book",
		State: engine.StateResyncing})...)
	h.frame(healthRefresh)
	if l := screenLines(h)[3]; !strings.HasPrefix(l, "⚠ trades reconnecting · book resyncing  ") {
		t.Fatalf("header line %q", l)
	}
	h.mustContain("BTCUSDT 1m  last " + b.lastClose("BTCUSDT", market.TF1m))

	h.key("s") // ETHUSDT: its own streams, read at once
	if l := screenLines(h)[3]; !strings.HasPrefix(l, "⚠ book reconnecting  ") {
		t.Fatalf("ETHUSDT header line %q", l)
	}
	h.key("S")
	b.editHealth("BTCUSDT", "trades", func(s *engine.StreamHealth) { s.State = engine.StateConnected })
	b.editHealth("BTCUSDT", "book", func(s *engine.StreamHealth) { s.State = engine.StateConnected })
	h.frame(healthRefresh)
	h.mustNotContain("⚠")

	hc := newHarness(t, b, termenv.ANSI, 120, 35)
	b.editHealth("BTCUSDT", "trades", func(s *engine.StreamHealth) { s.State = engine.StateReconnecting })
	hc.frame(healthRefresh)
	if !strings.Contains(hc.m.View(), hc.m.c.Styles.paint(cWarn, "⚠ trades reconnecting")) {
		t.Fatal("the warning is not in the warning style")
	}
}

// The Market pane reads the health and the degraded spans on frame ticks, at most every
// healthRefresh, never per event.
func TestMarketHealthReadsThrottled(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 120, 35)
	h0, d0 := b.healthReads()
	if h0 == 0 || d0 == 0 {
		t.Fatalf("not read at start: %d %d", h0, d0)
	}
	for i := 0; i < 10; i++ {
		for j := 0; j < 20; j++ {
			h.events(engine.TradeEvent{Trade: market.Trade{Symbol: "BTCUSDT", ID: fmt.Sprint("x", i, j), Time: t0.UnixMilli() + int64(i)}})
		}
		h.frame(100 * time.Millisecond)
	}
	if hr, dr := b.healthReads(); hr != h0+2 || dr != d0+2 {
		t.Fatalf("1 s of frames with 200 trades: %d health and %d span reads, want 2 and 2", hr-h0, dr-d0)
	}
}

// While the book resyncs the ladder says so instead of showing levels; the mini-charts stay.
func TestMarketLadderResyncing(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.mustContain("▸50001.0", "▸50000.0", "spread 1.0")
	b.setHealth(append(b.Health(), engine.StreamHealth{Exchange: "sim", Symbol: "BTCUSDT", Channel: "book",
		State: engine.StateResyncing, Detail: "seq gap"})...)
	h.frame(healthRefresh)
	h.mustContain("book resyncing…", "OBI +", "CVD ", "⚠ book resyncing")
	h.mustNotContain("▸50001.0", "▸50000.0", "spread 1.0", "price   size")
	checkFrame(t, h, 80, 24)

	b.editHealth("BTCUSDT", "book", func(s *engine.StreamHealth) { s.State = engine.StateConnected })
	h.frame(healthRefresh)
	h.mustContain("▸50001.0", "▸50000.0", "spread 1.0")
	h.mustNotContain("book resyncing")

	// Reconnecting is not resyncing: the header warns, the ladder stays.
	b.editHealth("BTCUSDT", "book", func(s *engine.StreamHealth) { s.State = engine.StateReconnecting })
	h.frame(healthRefresh)
	h.mustContain("▸50001.0", "⚠ book reconnecting")
}
