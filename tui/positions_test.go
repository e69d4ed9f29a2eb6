package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/muesli/termenv"

	"github.com/tradeconsole/tradeconsole/engine"
)

// openPositions starts a console on b and shows the Positions tab.
func openPositions(t *testing.T, b *fakeBackend, w, ht int) *harness {
	t.Helper()
	h := newHarness(t, b, termenv.Ascii, w, ht)
	h.key("4")
	h.mustContain("[4 Positions]")
	return h
}

// fieldsOfLine returns the fields of the first screen line that contains all of subs.
func fieldsOfLine(t *testing.T, h *harness, subs ...string) []string {
	t.Helper()
outer:
	for _, l := range strings.Split(h.screen(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue outer
			}
		}
		return strings.Fields(l)
	}
	t.Fatalf("no line with %q:\n%s", subs, h.screen())
	return nil
}

func TestPositionsTab(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		b := seeded()
		if b.portfolioCalls != 0 {
			t.Fatal("read before the tab was shown")
		}
		h := openPositions(t, b, size[0], size[1])
		if b.portfolioCalls != 1 {
			t.Fatalf("Portfolio calls %d", b.portfolioCalls)
		}
		checkFrame(t, h, size[0], size[1])
		h.mustContain("Positions & P&L · 1 open · 12 closed",
			"realized +203.32 · unrealized +25.18 · fees 27.70 · win rate 58% (7/12)",
			"open positions · 1", "BOT   SYMBOL  SIDE    QTY   ENTRY    MARK UNREALIZED",
			"closed trades · 1–", "of 12, newest first",
			"equity of the book (every bot) · b: next curve", "equity├─ 25000.00 →")
		wantFields(t, fieldsOfLine(t, h, "alpha", "50300.0")[:10], "alpha", "BTCUSDT", "long", "0.1994", "50123.4", "50300.0", "+25.18",
			"51125.9", "/", "—")
		// Closed trades, newest first: entry → exit, P&L, reason.
		wantFields(t, fieldsOfLine(t, h, "→", "-31.00")[:8], "gamma", "BTCUSDT", "long", "50110.0", "→", "50210.0", "-31.00", "stop_loss")
		if size[0] == 200 {
			wantFields(t, fieldsOfLine(t, h, "→", "+30.00")[:8], "alpha", "BTCUSDT", "long", "50000.0", "→", "50100.0", "+30.00", "signal")
		}

		// b cycles the curve: the book, then each bot by name, then the book again.
		h.mustContain("b: equity [book] alpha beta gamma")
		h.key("b")
		h.mustContain("equity of bot alpha", "equity├─ 10000.00 →", "b: equity book [alpha] beta gamma")
		h.key("b")
		h.mustContain("equity of bot beta", "equity├─ 5000.00 →")
		h.key("b")
		h.key("b")
		h.mustContain("equity of the book (every bot)")
		checkFrame(t, h, size[0], size[1])
	}
}

func TestPositionsColoursAndScroll(t *testing.T) {
	b := seeded()
	h := newHarness(t, b, termenv.TrueColor, 80, 24)
	h.key("4")
	st := h.m.c.Styles
	v := h.m.View()
	for _, want := range []string{st.paint(cUp, "+25.18"), st.paint(cUp, "+203.32"), st.paint(cDown, "-31.00")} {
		if !strings.Contains(v, want) {
			t.Fatalf("missing coloured %q", want)
		}
	}
	// ↓ scrolls the closed trades down to the oldest.
	h = openPositions(t, b, 80, 24)
	h.mustContain("closed trades · 1–4 of 12, newest first · ↑/↓")
	h.mustNotContain("+30.00")
	for range 20 {
		h.key("down")
	}
	h.mustContain("closed trades · 9–12 of 12", "+30.00")
	h.mustNotContain("-31.00")
	h.key("up")
	h.mustContain("closed trades · 8–11 of 12")
}

func TestPositionsReload(t *testing.T) {
	b := seeded()
	h := openPositions(t, b, 120, 35)
	n := b.portfolioCalls

	// A bot event re-reads the book (one read in flight at most).
	b.mu.Lock()
	b.portfolio.Positions[0].Mark, b.portfolio.Positions[0].Unrealized = 50500, 75.05
	b.portfolio.Unrealized = 75.05
	b.mu.Unlock()
	load := h.cmdOf(EventsMsg{b.botEvent(1, nil)})
	h.events(b.botEvent(1, nil), b.botEvent(2, nil))
	h.events(b.botEvent(1, nil))
	if b.portfolioCalls != n {
		t.Fatal("a read started while one was in flight")
	}
	h.run(load)
	if b.portfolioCalls != n+2 {
		t.Fatalf("Portfolio calls %d, want %d", b.portfolioCalls, n+2)
	}
	h.mustContain("unrealized +75.05")
	wantFields(t, fieldsOfLine(t, h, "alpha", "50500.0")[:7], "alpha", "BTCUSDT", "long", "0.1994", "50123.4", "50500.0", "+75.05")

	// Marks move without events: re-read every two seconds while shown.
	n = b.portfolioCalls
	h.frame(1500 * time.Millisecond)
	if b.portfolioCalls != n {
		t.Fatal("re-read before two seconds")
	}
	h.frame(500 * time.Millisecond)
	if b.portfolioCalls != n+1 {
		t.Fatalf("Portfolio calls %d, want %d", b.portfolioCalls, n+1)
	}
	h.key("r")
	if b.portfolioCalls != n+2 {
		t.Fatalf("r: Portfolio calls %d, want %d", b.portfolioCalls, n+2)
	}

	// Hidden, it reads nothing.
	n = b.portfolioCalls
	h.key("1")
	h.events(b.botEvent(1, nil))
	h.frame(5 * time.Second)
	if b.portfolioCalls != n {
		t.Fatalf("Portfolio calls %d while hidden", b.portfolioCalls-n)
	}

	// A failed read says so; the last book stays.
	b.portfolioErr = errors.New("database is locked")
	h.key("4")
	h.mustContain("could not read the book: database is locked", "unrealized +75.05")
}

func TestPositionsEmptyWinRate(t *testing.T) {
	b := newFake()
	b.portfolio = engine.Portfolio{Realized: -12.5, Wins: 0, Losses: 2}
	h := openPositions(t, b, 80, 24)
	h.mustContain("realized -12.50 · unrealized +0.00 · fees 0.00 · win rate 0% (0/2)", "(none: every bot is flat)",
		"closed trades · none", "(none yet)", "no equity curve yet")
	h.mustNotContain("b: equity")
	checkFrame(t, h, 80, 24)
}
