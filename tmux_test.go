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
	t.Cleanup(func() {
		if t.Failed() {
			code, _ := os.ReadFile(exitFile)
			errOut, _ := os.ReadFile(stderrFile)
			logOut, _ := os.ReadFile(filepath.Join(dir, "data", "tradeconsole.log"))
			t.Logf("exit code: %q\nstderr:\n%s\nlog:\n%s", code, errOut, logOut)
		}
	})

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
	s.keys("2")
	feeds := s.waitFor("the Feeds pane", 10*time.Second, contains("CHANNEL", "STATE", "MSG/S", "connected", "BTCUSDT", "ETHUSDT", "trades", "book"))
	if strings.Contains(feeds, "last ") && lastPrice.MatchString(feeds) {
		t.Fatalf("Feeds tab still shows the Market pane:\n%s", feeds)
	}
	s.keys("?")
	s.waitFor("the help overlay", 10*time.Second, contains("next symbol"))
	s.keys("Escape")
	s.keys("q")
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(exitFile)
		if err == nil && len(b) > 0 {
			if code := strings.TrimSpace(string(b)); code != "0" {
				t.Fatalf("console exited with %s", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console did not exit after q; screen:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
