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
