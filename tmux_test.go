package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives the real binary in a detached tmux session on a private server socket.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func newTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("TC_REQUIRE_TMUX") != "" {
			t.Fatal("tmux is required (TC_REQUIRE_TMUX is set) but not installed")
		}
		t.Skip("tmux not installed")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("tctest-%d-%d", os.Getpid(), time.Now().UnixNano()), name: "tc"}
	s.run("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...)
	cmd.Env = cleanEnv() // the server, and so the console, get no TRADECONSOLE_* of the caller
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "-L", s.socket, "capture-pane", "-p", "-t", s.name).CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

func (s *tmuxSession) keys(k ...string) { s.run(append([]string{"send-keys", "-t", s.name}, k...)...) }

// waitFor polls the screen until ok holds, failing with the last screen at the deadline.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: timed out; screen:\n%s", what, scr)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

func contains(subs ...string) func(string) bool {
	return func(scr string) bool {
		for _, x := range subs {
			if !strings.Contains(scr, x) {
				return false
			}
		}
		return true
	}
}

var lastPrice = regexp.MustCompile(`(BTCUSDT|ETHUSDT) (\S+)\s+last (\S+)`)

// The main journey: start the console, see candles, see them move, switch symbol, switch
// timeframe, open Feeds, quit — and the process exits 0.
func TestTmuxJourney(t *testing.T) {
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	stderrFile := filepath.Join(dir, "stderr")
	script := fmt.Sprintf("cd %q && TRADECONSOLE_DATA_DIR=%q TRADECONSOLE_SIM_HISTORY_DAYS=2 %q 2>%q; echo $? > %q",
		dir, filepath.Join(dir, "data"), binPath, stderrFile, exitFile)
	s := newTmux(t, 160, 48, script)
	reportOnFailure(t, exitFile, stderrFile, filepath.Join(dir, "data", "tradeconsole.log"))

	first := s.waitFor("the Market pane with candles", 20*time.Second, func(scr string) bool {
		return lastPrice.MatchString(scr) && strings.Contains(scr, "vol") && strings.ContainsAny(scr, "┃│╽╿") &&
			strings.Contains(scr, "1 Market") && (strings.Contains(scr, "▲B") || strings.Contains(scr, "▼S"))
	})
	if m := lastPrice.FindStringSubmatch(first); m == nil || m[1] != "BTCUSDT" || m[2] != "1m" {
		t.Fatalf("expected BTCUSDT 1m first:\n%s", first)
	}
	// live: the tape and last price keep changing
	s.waitFor("live updates", 15*time.Second, func(scr string) bool { return scr != first && lastPrice.MatchString(scr) })

	s.keys("s")
	s.waitFor("symbol switched to ETHUSDT", 10*time.Second, func(scr string) bool {
		m := lastPrice.FindStringSubmatch(scr)
		return m != nil && m[1] == "ETHUSDT" && m[2] == "1m"
	})
	s.keys("t")
	s.waitFor("timeframe switched to 5m", 10*time.Second, func(scr string) bool {
		m := lastPrice.FindStringSubmatch(scr)
		return m != nil && m[1] == "ETHUSDT" && m[2] == "5m" && strings.Contains(scr, "[5m]")
	})
	s.keys("6")
	feeds := s.waitFor("the Feeds pane", 10*time.Second, contains("CHANNEL", "STATE", "MSG/S", "connected", "BTCUSDT", "ETHUSDT", "trades", "book"))
	if strings.Contains(feeds, "last ") && lastPrice.MatchString(feeds) {
		t.Fatalf("Feeds tab still shows the Market pane:\n%s", feeds)
	}
	s.keys("?")
	s.waitFor("the help overlay", 10*time.Second, contains("next symbol"))
	s.keys("Escape")
	s.keys("q")
	s.waitExit(exitFile)
}

// reportOnFailure logs the console's exit code, stderr and log file when the test fails.
func reportOnFailure(t *testing.T, exitFile, stderrFile, logFile string) {
	t.Cleanup(func() {
		if t.Failed() {
			code, _ := os.ReadFile(exitFile)
			errOut, _ := os.ReadFile(stderrFile)
			logOut, _ := os.ReadFile(logFile)
			t.Logf("exit code: %q\nstderr:\n%s\nlog:\n%s", code, errOut, logOut)
		}
	})
}

// waitExit waits for the console's exit code in exitFile and fails unless it is 0.
func (s *tmuxSession) waitExit(exitFile string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(exitFile)
		if err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				s.t.Fatalf("console exited with %s", code)
			}
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("console did not exit after q; screen:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var flowHeader = regexp.MustCompile(`OBI ([+-]?\d\.\d\d)\S* .*CVD ([+-]?[\d.]+)`)

// The order-flow journey: record a sim session into an order-flow file, replay it in the
// console, open the Order flow tab, narrow the bars to 1s, see OBI and CVD move, quit.
func TestTmuxReplayOrderFlow(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil && os.Getenv("TC_REQUIRE_TMUX") == "" {
		t.Skip("tmux not installed")
	}
	dir := t.TempDir()
	rec := command(t, filepath.Join(dir, "rec"), "headless", "--for", "3s", "--symbols", "BTCUSDT", "--record-orderflow", "--speed", "30")
	rec.Env = append(rec.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_SIM_TRADE_RATE=20")
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "rec", "orderflow", "*.db"))
	if len(files) == 0 {
		t.Fatal("nothing recorded")
	}

	exitFile := filepath.Join(dir, "exit")
	stderrFile := filepath.Join(dir, "stderr")
	script := fmt.Sprintf("cd %q && %q --data-dir %q --exchange replay --replay-file %q --speed 4 2>%q; echo $? > %q",
		dir, binPath, filepath.Join(dir, "data"), files[len(files)-1], stderrFile, exitFile)
	s := newTmux(t, 160, 48, script)
	reportOnFailure(t, exitFile, stderrFile, filepath.Join(dir, "data", "tradeconsole.log"))
	s.waitFor("the replay on the Market pane", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "replay") && strings.Contains(scr, "▶ REPLAY") && lastPrice.MatchString(scr) && strings.Contains(scr, "spread")
	})
	s.keys("2")
	s.waitFor("the Order flow tab", 10*time.Second, contains("BTCUSDT order flow", "[1m]", "vol", "OBI", "CVD"))
	for i := 0; i < 4; i++ {
		s.keys("W")
	}
	first := s.waitFor("1s bars", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "order flow · 1s bars") && strings.Contains(scr, "[1s]") && flowHeader.MatchString(scr)
	})
	m0 := flowHeader.FindStringSubmatch(first)
	s.waitFor("OBI and CVD to move", 20*time.Second, func(scr string) bool {
		m := flowHeader.FindStringSubmatch(scr)
		return m != nil && m[1] != m0[1] && m[2] != m0[2]
	})
	s.keys("q")
	s.waitExit(exitFile)
}

// The jobs journey: open Jobs, start a backtest from the form over a year of 1m candles, watch
// its progress, open the result, quit.
func TestTmuxJobsJourney(t *testing.T) {
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	stderrFile := filepath.Join(dir, "stderr")
	script := fmt.Sprintf("cd %q && TRADECONSOLE_DATA_DIR=%q TRADECONSOLE_SIM_HISTORY_DAYS=365 TRADECONSOLE_SYMBOLS=BTCUSDT %q 2>%q; echo $? > %q",
		dir, filepath.Join(dir, "data"), binPath, stderrFile, exitFile)
	s := newTmux(t, 160, 48, script)
	reportOnFailure(t, exitFile, stderrFile, filepath.Join(dir, "data", "tradeconsole.log"))
	s.waitFor("the Market pane", 60*time.Second, func(scr string) bool { return lastPrice.MatchString(scr) })
	s.keys("5")
	s.waitFor("the empty Jobs tab", 10*time.Second, contains("No jobs yet.", "Press n for a backtest"))
	s.keys("n")
	s.waitFor("the backtest form", 10*time.Second, contains("New backtest", "‹ sma_cross ›", "ctrl+s submit"))
	// from a year back (the form starts 30 days back): 525,600 candles, about a second of work
	for i := 0; i < 6; i++ {
		s.keys("Down")
	}
	s.waitFor("the from field", 10*time.Second, func(scr string) bool { return regexp.MustCompile(`▸ from`).MatchString(scr) })
	s.keys("C-u")
	s.run("send-keys", "-t", s.name, "-l", time.Now().UTC().AddDate(-1, 0, 0).Format("2006-01-02"))
	s.keys("C-s")
	s.waitFor("the job submitted", 10*time.Second, contains("job 1 submitted (backtest)"))
	running := false
	last := s.waitFor("the job to complete", 60*time.Second, func(scr string) bool {
		running = running || strings.Contains(scr, "▸  1  backtest  running")
		return strings.Contains(scr, "▸  1  backtest  completed") && strings.Contains(scr, "return ")
	})
	if !running {
		t.Fatalf("never saw the job running:\n%s", last)
	}
	if !regexp.MustCompile(`\d{4,} trades`).MatchString(last) {
		t.Fatalf("expected thousands of trades over a year of 1m candles:\n%s", last)
	}
	s.keys("Enter")
	s.waitFor("the result", 20*time.Second, contains("total return", "equity├", "DD├"))
	s.keys("Escape")
	s.waitFor("the job list", 10*time.Second, contains("completed"))
	s.keys("q")
	s.waitExit(exitFile)
}

// The bots journey (the Done-when line): create a bot from the form, start it, see its
// position and P&L move, pause, stop, use the panic key, quit — on the simulated exchange at
// 20× speed, so the bot's 5s candles close four times a second. The demo bots of the default
// configuration stay defined (and stopped): the panic key must stop only the bot that runs.
func TestTmuxBotsJourney(t *testing.T) {
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	stderrFile := filepath.Join(dir, "stderr")
	script := fmt.Sprintf("cd %q && TRADECONSOLE_DATA_DIR=%q TRADECONSOLE_SIM_HISTORY_DAYS=1 %q --speed 20 2>%q; echo $? > %q",
		dir, filepath.Join(dir, "data"), binPath, stderrFile, exitFile)
	s := newTmux(t, 160, 48, script)
	reportOnFailure(t, exitFile, stderrFile, filepath.Join(dir, "data", "tradeconsole.log"))
	start := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }

	s.waitFor("the Market pane", 30*time.Second, func(scr string) bool { return lastPrice.MatchString(scr) })
	step("market shown")
	s.keys("3")
	s.waitFor("the Bots tab with the demo bots", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Bots · 2 · 2 stopped") && strings.Contains(scr, "demo-sma-btc") && strings.Contains(scr, "n new")
	})

	// The form: name, sma_cross (the first strategy) on BTCUSDT 5s with fast 2 / slow 4, fills book.
	s.keys("n")
	s.waitFor("the new-bot form", 10*time.Second, contains("New bot (it is stored stopped: s starts it)", "▸ name", "‹ sma_cross ›", "‹ book ›"))
	s.run("send-keys", "-t", s.name, "-l", "tmuxbot")
	s.keys("Down", "Down", "Down", "Left") // name → strategy → symbol → timeframe: 1m → 5s
	s.waitFor("timeframe 5s chosen", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`▸ timeframe +‹ 5s ›`).MatchString(scr) && regexp.MustCompile(`name +tmuxbot`).MatchString(scr) &&
			regexp.MustCompile(`symbol +‹ BTCUSDT ›`).MatchString(scr)
	})
	s.keys("Up", "Up", "Up", "Up", "Up") // up past the top wraps to the last field: allow_short, then slow
	s.waitFor("the slow field", 10*time.Second, func(scr string) bool { return regexp.MustCompile(`▸ slow +\[30`).MatchString(scr) })
	s.keys("C-u", "4", "Up", "C-u", "2")
	s.waitFor("fast 2, slow 4", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`▸ fast +\[2[ _]+\]`).MatchString(scr) && regexp.MustCompile(`(?m)^  slow +4 `).MatchString(scr)
	})
	s.keys("C-s")
	scr := s.waitFor("the bot created, stopped", 10*time.Second, func(scr string) bool {
		st, _ := tmuxBotRow(scr)
		return strings.Contains(scr, "bot tmuxbot created (stopped: s starts it)") && st == "stopped" &&
			strings.Contains(scr, "Bots · 3 · 3 stopped")
	})
	if !strings.Contains(scr, "tmuxbot · sma_cross fast=2 slow=4 · sim BTCUSDT 5s · fills book") {
		t.Fatalf("the selected bot's details do not show the definition typed in the form:\n%s", scr)
	}
	step("bot created")

	// Start it: running, then a long position (the list is re-read on every fill).
	s.keys("s")
	s.waitFor("the bot running", 10*time.Second, func(scr string) bool {
		st, _ := tmuxBotRow(scr)
		return st == "running" && strings.Contains(scr, "bot tmuxbot started") && strings.Contains(scr, "1 running")
	})
	step("bot running")
	s.waitFor("an open position in the bots table", 30*time.Second, func(scr string) bool {
		_, pos := tmuxBotRow(scr)
		return strings.HasPrefix(pos, "long ")
	})
	step("position in the bots table")

	// Positions & P&L: the bot's position with a mark and an unrealized P&L, then its unrealized
	// P&L moves while it stays open (the tab re-reads the marks every 2 s). A position the
	// strategy closes before that is no failure: the next one is watched.
	s.keys("4")
	scr = s.waitFor("the bot's open position on the Positions tab", 30*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Positions & P&L · 1 open") && openPosition.MatchString(scr) && pnlTotals.MatchString(scr)
	})
	step("position on the Positions tab: " + openPosition.FindString(scr))
	var held, first string // the position watched (quantity and entry) and its first screen
	scr = s.waitFor("the open position's unrealized P&L to move", 30*time.Second, func(scr string) bool {
		m := openPosition.FindStringSubmatch(scr)
		if m == nil {
			return false
		}
		if m[1] != held {
			held, first = m[1], m[0]
			return false
		}
		return m[3] != openPosition.FindStringSubmatch(first)[3]
	})
	step("unrealized P&L moved: " + first + " → " + openPosition.FindString(scr))

	// Pause, then stop (asks): stopped and flat.
	s.keys("3")
	s.waitFor("the Bots tab", 10*time.Second, func(scr string) bool { st, _ := tmuxBotRow(scr); return st != "" })
	s.keys("p")
	s.waitFor("the bot paused", 10*time.Second, func(scr string) bool {
		st, _ := tmuxBotRow(scr)
		return st == "paused" && strings.Contains(scr, "bot tmuxbot paused: it takes no new entries") && strings.Contains(scr, "1 paused")
	})
	step("bot paused")
	s.keys("x")
	s.waitFor("the stop question", 10*time.Second, contains("Stop bot tmuxbot? It flattens its position at market. y/n", "y yes", "n/esc no"))
	s.keys("y")
	s.waitFor("the bot stopped and flat", 10*time.Second, func(scr string) bool {
		st, pos := tmuxBotRow(scr)
		return st == "stopped" && pos == "—" && strings.Contains(scr, "bot tmuxbot stopped, its position flattened") &&
			strings.Contains(scr, "Bots · 3 · 3 stopped")
	})
	step("bot stopped")

	// Start it again, then the panic key from the Market tab.
	s.keys("s")
	s.waitFor("the bot running again", 10*time.Second, func(scr string) bool {
		st, _ := tmuxBotRow(scr)
		return st == "running" && strings.Contains(scr, "bot tmuxbot started")
	})
	s.waitFor("an open position again", 30*time.Second, func(scr string) bool {
		_, pos := tmuxBotRow(scr)
		return strings.HasPrefix(pos, "long ")
	})
	step("bot running again with a position")
	s.keys("1")
	s.waitFor("the Market pane", 10*time.Second, func(scr string) bool { return lastPrice.MatchString(scr) })
	s.keys("!")
	scr = s.waitFor("the panic preview", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`PANIC: stop 1 bot and flatten [01] positions?\?`).MatchString(scr) &&
			regexp.MustCompile(`tmuxbot +sma_cross BTCUSDT 5s +running +P&L`).MatchString(scr) &&
			strings.Contains(scr, "bots it stops") && strings.Contains(scr, "y confirm")
	})
	if strings.Contains(scr, "demo-") {
		t.Fatalf("the panic preview lists a stopped demo bot:\n%s", scr)
	}
	s.keys("y")
	s.waitFor("the panic report on the status line", 10*time.Second, func(scr string) bool {
		return regexp.MustCompile(`panic: stopped 1 bot, flattened [01] positions?`).MatchString(scr) && !strings.Contains(scr, "PANIC")
	})
	step("panic done")
	s.keys("3")
	s.waitFor("the bot stopped by the panic", 10*time.Second, func(scr string) bool {
		st, pos := tmuxBotRow(scr)
		return st == "stopped" && pos == "—" && strings.Contains(scr, "Bots · 3 · 3 stopped")
	})

	s.keys("q")
	s.waitExit(exitFile)
	step("exited")
}

var (
	// tmuxBotRowRe is tmuxbot's row of the bots table: its status and its position.
	tmuxBotRowRe = regexp.MustCompile(`(?m)^[▸ ] tmuxbot +sma_cross +BTCUSDT 5s +(\S+) .* (—|(?:long|short) [\d.]+ @ [\d.]+) *$`)
	// openPosition is tmuxbot's row of the open positions: side, quantity and entry (1), mark (2),
	// unrealized P&L (3), no take profit or stop loss.
	openPosition = regexp.MustCompile(`(?m)^tmuxbot +BTCUSDT +long +([\d.]+ +[\d.]+) +([\d.]+) +([+-][\d.]+) +— / —`)
	// pnlTotals is the Positions tab's P&L line.
	pnlTotals = regexp.MustCompile(`realized [+-][\d.]+ · unrealized [+-][\d.]+`)
)

// tmuxBotRow returns the status and position tmuxbot's row of the bots table shows ("", "" when
// the screen has no such row).
func tmuxBotRow(scr string) (status, position string) {
	m := tmuxBotRowRe.FindStringSubmatch(scr)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}
