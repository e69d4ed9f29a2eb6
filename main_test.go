package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// binPath is the tradeconsole binary built once for the process-level tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tradeconsole-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "tradeconsole")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command runs the binary in an empty working directory (so no config.yaml is picked up
// unless the test writes one) with the data dir in a temp dir.
func command(t *testing.T, dataDir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), "TRADECONSOLE_DATA_DIR="+dataDir)
	return cmd
}

// cleanEnv is the environment without TRADECONSOLE_* variables of the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRADECONSOLE_") {
			env = append(env, kv)
		}
	}
	return env
}

type series struct {
	symbol, timeframe string
	rows              int
}

func seriesCounts(t *testing.T, dbPath string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT symbol, timeframe, count(*) FROM market_data GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s series
		if err := rows.Scan(&s.symbol, &s.timeframe, &s.rows); err != nil {
			t.Fatal(err)
		}
		out[s.symbol+" "+s.timeframe] = s.rows
	}
	return out
}

func tradeCount(t *testing.T, dbPath string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM raw_trades`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The check, as a user types it: headless --for 10s with the default configuration
// exits 0 and leaves market_data rows for every configured symbol and timeframe.
func TestHeadlessForTenSecondsStoresEverySeries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for 10 s")
	}
	data := t.TempDir()
	cmd := command(t, data, "headless", "--for", "10s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("headless: %v\n%s", err, stderr.String())
	}
	counts := seriesCounts(t, filepath.Join(data, "tradeconsole.db"))
	for _, sym := range []string{"BTCUSDT", "ETHUSDT"} {
		for _, tf := range []string{"5s", "1m", "5m", "15m", "1h"} {
			if counts[sym+" "+tf] == 0 {
				t.Errorf("no market_data rows for %s %s; have %v", sym, tf, counts)
			}
		}
		if n := counts[sym+" 1m"]; n < 30*24*60 {
			t.Errorf("%s 1m: %d rows, want 30 days of history", sym, n)
		}
	}
	if !strings.Contains(stderr.String(), "engine stopped, storage flushed") {
		t.Errorf("stderr lacks the shutdown line:\n%s", stderr.String())
	}
}

// SIGTERM (and SIGINT) stop the engine, flush storage and exit 0: every trade the engine
// counted is in raw_trades.
func TestHeadlessSIGTERMFlushesAndExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			data := t.TempDir()
			cmd := command(t, data, "headless")
			cmd.Env = append(cmd.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=1", "TRADECONSOLE_SIM_TRADE_RATE=200",
				"TRADECONSOLE_STORAGE_FLUSH_INTERVAL=1m", "TRADECONSOLE_STORAGE_BATCH_SIZE=100000") // nothing flushes unless shutdown does
			pr, pw, _ := os.Pipe()
			cmd.Stderr = pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			logs := make(chan string, 1)
			go func() { // owned by the process: ends when its stderr closes
				var b bytes.Buffer
				buf := make([]byte, 4096)
				signalled := false
				for {
					n, err := pr.Read(buf)
					b.Write(buf[:n])
					if !signalled && strings.Contains(b.String(), "running headless") {
						signalled = true
						time.AfterFunc(1500*time.Millisecond, func() { cmd.Process.Signal(sig) }) // let trades accumulate
					}
					if err != nil {
						logs <- b.String()
						return
					}
				}
			}()
			err := cmd.Wait()
			out := <-logs
			if err != nil {
				t.Fatalf("exit after %v: %v\n%s", sig, err, out)
			}
			var total int
			for _, line := range strings.Split(out, "\n") {
				if i := strings.Index(line, " trades="); i >= 0 && strings.Contains(line, "stream summary") {
					var n int
					fmt.Sscanf(line[i+len(" trades="):], "%d", &n)
					total += n
				}
			}
			if total < 100 {
				t.Fatalf("only %d trades counted before %v:\n%s", total, sig, out)
			}
			if got := tradeCount(t, filepath.Join(data, "tradeconsole.db")); got != total {
				t.Fatalf("raw_trades has %d rows, the engine received %d: shutdown lost data", got, total)
			}
		})
	}
}

func TestExitCodesAndMessages(t *testing.T) {
	data := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("exchange: kraken\nsim:\n  speed: -2\ntimeframes: [1m, 7m]\nui:\n  fpz: 3\n"), 0o644)
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want []string
	}{
		{"bad config names every key", []string{"--config", bad, "headless", "--for", "1s"}, nil, 2,
			[]string{"exchange", "sim.speed", "timeframes[1]", "ui.fpz"}},
		{"missing config file", []string{"--config", "/nonexistent/x.yaml", "headless", "--for", "1s"}, nil, 2, []string{"/nonexistent/x.yaml"}},
		{"bad env override", []string{"headless", "--for", "1s"}, []string{"TRADECONSOLE_SIM_SPEED=fast"}, 2, []string{"sim.speed", "TRADECONSOLE_SIM_SPEED"}},
		{"bad symbol flag", []string{"--symbols", "BTC-USDT", "headless", "--for", "1s"}, nil, 2, []string{"symbols[0]", "BTC-USDT"}},
		{"unknown flag", []string{"--nope"}, nil, 2, []string{"--nope"}},
		{"negative duration", []string{"headless", "--for", "-1s"}, nil, 2, []string{"--for"}},
		{"unknown command", []string{"bogus"}, nil, 2, []string{"bogus"}},
		{"stray argument", []string{"headless", "extra"}, nil, 2, []string{"extra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := command(t, data, c.args...)
			cmd.Env = append(cmd.Env, c.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
		})
	}
	out, err := command(t, data, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "tradeconsole ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

// TestOneProcessRunsTheJobs: a second process on the same data dir does not run (or requeue)
// the jobs; it says so in its log.
func TestOneProcessRunsTheJobs(t *testing.T) {
	data := t.TempDir()
	first := command(t, data, "headless", "--for", "30s")
	first.Env = append(first.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0")
	var firstErr syncBuffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		first.Process.Signal(syscall.SIGTERM)
		first.Wait()
	}()
	// wait until the first one holds the lock (its database exists once it has opened it)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(firstErr.String(), "running headless") {
		if time.Now().After(deadline) {
			t.Fatalf("first process did not start:\n%s", firstErr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling, not synchronisation
	}
	second := command(t, data, "headless", "--for", "1s")
	second.Env = append(second.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0")
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "another tradeconsole process runs the jobs") {
		t.Fatalf("second process log:\n%s", out)
	}
	if strings.Contains(firstErr.String(), "another tradeconsole process") {
		t.Fatalf("first process did not take the lock:\n%s", firstErr.String())
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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
