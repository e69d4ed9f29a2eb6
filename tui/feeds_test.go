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

// okxHealth is the health of a venue feed (OKX) in trouble: BTC-USDT's book reconnecting with
// counters, ETH-USDT's book resyncing after a checksum mismatch, the rest connected.
func okxHealth() []engine.StreamHealth {
	at := func(d time.Duration) time.Time { return t0.Add(-d) }
	return []engine.StreamHealth{
		{Exchange: "okx", Symbol: "ETH-USDT", Channel: "book", State: engine.StateResyncing, MsgsPerSec: 3.5,
			Messages: 4321, LastMessage: at(time.Second), Age: time.Second, Checksums: 1, Resyncs: 1,
			Detail: "checksum mismatch: have 123456, want -98765"},
		{Exchange: "okx", Symbol: "BTC-USDT", Channel: "candles", State: engine.StateConnected, MsgsPerSec: 1,
			Messages: 300, LastMessage: at(500 * time.Millisecond), Age: 500 * time.Millisecond, Backfilled: 1440},
		{Exchange: "okx", Symbol: "BTC-USDT", Channel: "book", State: engine.StateReconnecting, MsgsPerSec: 0,
			Messages: 98765, LastMessage: at(184 * time.Second), Age: 184 * time.Second, Reconnects: 4, Gaps: 2,
			Checksums: 3, Resyncs: 5, Malformed: 1,
			Detail: "read tcp 127.0.0.1:51234->127.0.0.1:8443: read: connection reset by peer"},
		{Exchange: "okx", Symbol: "BTC-USDT", Channel: "trades", State: engine.StateConnected, MsgsPerSec: 152.4,
			Messages: 1234567, LastMessage: at(100 * time.Millisecond), Age: 100 * time.Millisecond, Reconnects: 1, Late: 2},
		{Exchange: "okx", Symbol: "ETH-USDT", Channel: "trades", State: engine.StateConnected, MsgsPerSec: 20,
			Messages: 5000, LastMessage: at(200 * time.Millisecond), Age: 200 * time.Millisecond},
	}
}

func feedsHarness(t *testing.T, p termenv.Profile, w, h int) *harness {
	b := newFake()
	b.exchange = "okx"
	b.setHealth(okxHealth()...)
	hs := newHarness(t, b, p, w, h)
	hs.key("6")
	return hs
}

// screenLines is the screen's lines with trailing blanks cut.
func screenLines(h *harness) []string {
	ls := strings.Split(h.screen(), "\n")
	for i := range ls {
		ls[i] = strings.TrimRight(ls[i], " ")
	}
	return ls
}

// A venue feed's decode-to-bus latency is the line under the summary; the sim's feed has none
// and the line stays blank (TestFeedsTableAt80).
func TestFeedsFrameLatencyLine(t *testing.T) {
	b := newFake()
	b.exchange = "okx"
	b.setHealth(okxHealth()...)
	b.frames = &engine.FrameLatency{Frames: 2_994_752, P50: 2175 * time.Nanosecond, P99: 29_695 * time.Nanosecond,
		Max: 4_187_554 * time.Nanosecond, Mean: 3257 * time.Nanosecond}
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.key("6")
	checkFrame(t, h, 80, 24)
	if got, want := screenLines(h)[3], "frame read → bus: p50 2µs · p99 29µs · max 4.2ms · 2.99M frames"; got != want {
		t.Fatalf("line 3 %q, want %q\n%s", got, want, h.screen())
	}
}

// At 80×24 the table keeps every column of the list (state, rate, age, reconnects,
// gaps, checksums, resyncs, backfilled) and loses the message count, late trades, the exchange
// (the status line names it) and the malformed frames, in that order; cells are exact.
func TestFeedsTableAt80(t *testing.T) {
	h := feedsHarness(t, termenv.Ascii, 80, 24)
	checkFrame(t, h, 80, 24)
	ls := screenLines(h)
	want := []string{
		"5 streams · 3 connected · 1 reconnecting · 1 resyncing     engine clock 09:43:12",
		"",
		"  SYMBOL   CHAN    STATE        MSG/S   AGE RECONN GAPS CKSUM RESYNC BACKFILL",
		"  BTC-USDT trades  connected      152  0.1s      1    0     0      0        0",
		"  BTC-USDT book    reconnecting   0.0 3m04s      4    2     3      5        0",
		"  BTC-USDT candles connected      1.0  0.5s      0    0     0      0     1440",
		"  ETH-USDT trades  connected     20.0  0.2s      0    0     0      0        0",
		"  ETH-USDT book    resyncing      3.5  1.0s      0    0     1      1        0",
	}
	for i, w := range want {
		if ls[2+i] != w {
			t.Fatalf("line %d:\n got %q\nwant %q\n%s", 2+i, ls[2+i], w, h.screen())
		}
	}
	// No row is selected: the detail line shows the last stream that is not connected and
	// says why.
	if got, w := ls[22], "okx ETH-USDT book · resyncing · checksum mismatch: have 123456, want -98765"; got != w {
		t.Fatalf("detail line %q, want %q", got, w)
	}
	for _, l := range ls[10:22] {
		if l != "" {
			t.Fatalf("a blank line expected between the table and the detail, got %q", l)
		}
	}
}

// The first ↓ selects the first row; the selected stream's reason, cut to the width, is on the
// detail line; the selection follows its stream when a re-read reorders the rows.
func TestFeedsSelectionDetail(t *testing.T) {
	h := feedsHarness(t, termenv.Ascii, 80, 24)
	h.key("down")
	_, l := lineWith(h.screen(), "▸ ")
	if !strings.HasPrefix(l, "▸ BTC-USDT trades  connected") {
		t.Fatalf("selected row %q", l)
	}
	if got := screenLines(h)[22]; got != "okx BTC-USDT trades · connected · no reason reported" {
		t.Fatalf("detail of a stream without a reason: %q", got)
	}
	h.key("down")
	_, l = lineWith(h.screen(), "▸ ")
	if !strings.HasPrefix(l, "▸ BTC-USDT book    reconnecting") {
		t.Fatalf("selected row %q", l)
	}
	full := "okx BTC-USDT book · reconnecting · read tcp 127.0.0.1:51234->127.0.0.1:8443: read: connection reset by peer"
	if got, w := screenLines(h)[22], string([]rune(full)[:79])+"…"; got != w {
		t.Fatalf("detail line\n got %q\nwant %q", got, w)
	}

	// A new stream sorts before the selected one: the selection stays on BTC-USDT book.
	hs := append([]engine.StreamHealth{{Exchange: "okx", Symbol: "ADA-USDT", Channel: "trades", State: engine.StateConnecting}}, okxHealth()...)
	h.b.setHealth(hs...)
	h.frame(time.Second)
	i, l := lineWith(h.screen(), "▸ ")
	if !strings.HasPrefix(l, "▸ BTC-USDT book ") || i != 7 {
		t.Fatalf("selection after the re-read: line %d %q\n%s", i, l, h.screen())
	}
	h.mustContain("  ADA-USDT trades  connecting", "6 streams · 3 connected · 1 connecting · 1 reconnecting · 1 resyncing")
	h.key("up")
	h.key("up")
	h.key("up") // clamped at the first row
	_, l = lineWith(h.screen(), "▸ ")
	if !strings.HasPrefix(l, "▸ ADA-USDT trades") {
		t.Fatalf("selected row %q", l)
	}
}

// A large terminal gets the long heads, the message count, late trades, the exchange, the
// malformed frames and a DETAIL column; the detail line has the reason whole.
func TestFeedsTableWide(t *testing.T) {
	h := feedsHarness(t, termenv.Ascii, 200, 50)
	ls := screenLines(h)
	if got := strings.Fields(ls[4]); fmt.Sprint(got) != "[EXCHANGE SYMBOL CHANNEL STATE MSG/S MESSAGES LAST MSG RECONNECTS GAPS CHECKSUMS RESYNCS MALFORMED BACKFILLED LATE DETAIL]" {
		t.Fatalf("heads %v", got)
	}
	_, l := lineWith(h.screen(), "BTC-USDT  book")
	if got := strings.Fields(l); fmt.Sprint(got[:15]) != "[okx BTC-USDT book reconnecting 0.0 98.8k 3m04s 4 2 3 5 1 0 0 read]" {
		t.Fatalf("row %v", got)
	}
	if !strings.Contains(l, "  read tcp 127.0.0.1:51234->127.0.0.1:8443: read: connection r…") {
		t.Fatalf("detail column cut to the room left: %q", l)
	}
	_, l = lineWith(h.screen(), "BTC-USDT  trades")
	if got := strings.Fields(l); fmt.Sprint(got) != "[okx BTC-USDT trades connected 152 1.23M 0.1s 1 0 0 0 0 0 2]" {
		t.Fatalf("row %v", got)
	}
	h.key("down")
	h.key("down")
	if got := screenLines(h)[48]; got != "okx BTC-USDT book · reconnecting · read tcp 127.0.0.1:51234->127.0.0.1:8443: read: connection reset by peer" {
		t.Fatalf("detail line %q", got)
	}
	checkFrame(t, h, 200, 50)
}

// Checksum and malformed-frame columns only show when some stream counts one: the simulated
// exchange (zero counters, trades and book channels) keeps its table as it was, and fits 80
// columns with late trades.
func TestFeedsSimZeroCounters(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 80, 24)
	h.key("6")
	checkFrame(t, h, 80, 24)
	ls := screenLines(h)
	if got := strings.Fields(ls[4]); fmt.Sprint(got) != "[EXCH SYMBOL CHAN STATE MSG/S AGE RECONN GAPS RESYNC BACKFILL LATE]" {
		t.Fatalf("heads %v", got)
	}
	if got := ls[7]; got != "  sim  ETHUSDT book   reconnecting   0.0  12s     11    0      4        0    0" {
		t.Fatalf("row %q", got)
	}
	h.mustNotContain("CKSUM", "BAD", "DETAIL")
	if got := ls[22]; got != "no stream reported a reason · ↑/↓ select a stream" {
		t.Fatalf("detail line %q", got)
	}
}

// States are coloured: connected ok, reconnecting and resyncing a warning, stopped for a reason
// an error; non-zero checksum failures are a warning too.
func TestFeedsColours(t *testing.T) {
	b := newFake()
	hs := okxHealth()
	hs[4].State, hs[4].Detail = engine.StateStopped, "subscribe rejected: 60018 instrument does not exist"
	b.setHealth(hs...)
	h := newHarness(t, b, termenv.ANSI, 200, 50)
	h.key("6")
	v := h.m.View()
	st := h.m.c.Styles
	for _, want := range []string{st.paint(cOK, "connected   "), st.paint(cWarn, "reconnecting"), st.paint(cWarn, "resyncing   "),
		st.paint(cErr, "stopped     "), st.paint(cWarn, "        3"), st.paint(cWarn, "1 resyncing")} {
		if !strings.Contains(v, want) {
			t.Fatalf("missing %q in\n%q", want, v)
		}
	}
}

// The selection scrolls the table: at 80×24 sixteen rows show; the 20th selected shows rows
// 5 to 20.
func TestFeedsScroll(t *testing.T) {
	b := newFake()
	var hs []engine.StreamHealth
	for i := 0; i < 30; i++ {
		hs = append(hs, engine.StreamHealth{Exchange: "sim", Symbol: engineSym(i), Channel: "trades", State: engine.StateConnected})
	}
	b.setHealth(hs...)
	h := newHarness(t, b, termenv.Ascii, 80, 24)
	h.key("6")
	h.mustContain("S00 ", "S15 ")
	h.mustNotContain("S16 ")
	for i := 0; i < 20; i++ {
		h.key("down")
	}
	h.mustContain("▸ sim  S19 ", "S04 ")
	h.mustNotContain("S03 ", "S20 ")
	checkFrame(t, h, 80, 24)
}

func engineSym(i int) market.Symbol { return market.Symbol(fmt.Sprintf("S%02d", i)) }
