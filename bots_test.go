package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/storage"
)

// seedBot stores a bot with status running in dataDir's database, so the next process starts
// it (restore).
func seedBot(t *testing.T, dataDir string, spec engine.BotSpec) int64 {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(dataDir, "tradeconsole.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	data, _ := json.Marshal(spec)
	row, err := db.CreateBot(ctx, spec.Name, storage.BotFromConsole, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetBotStatus(ctx, row.ID, storage.BotRunning, "", 1); err != nil {
		t.Fatal(err)
	}
	return row.ID
}

func openRO(t *testing.T, dataDir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "tradeconsole.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type execRow struct {
	seq, ts         int64
	side            string
	price, qty, fee string
	entry           bool
	reason          string
	posSide         sql.NullString
	entryTime       sql.NullInt64
	entryPrice, pnl sql.NullString
}

func executions(t *testing.T, db *sql.DB, botID int64) []execRow {
	t.Helper()
	rows, err := db.Query(`SELECT seq, timestamp, side, price, quantity, fee, entry, reason, position_side, entry_time, entry_price, pnl
		FROM trades WHERE bot_id = ? ORDER BY seq`, botID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []execRow
	for rows.Next() {
		var r execRow
		if err := rows.Scan(&r.seq, &r.ts, &r.side, &r.price, &r.qty, &r.fee, &r.entry, &r.reason, &r.posSide, &r.entryTime, &r.entryPrice, &r.pnl); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExecutions: seqs 1..n, entries and exits alternating, each exit closing the entry
// before it — an execution repeated after a restart breaks one of these.
func checkExecutions(t *testing.T, ex []execRow) {
	t.Helper()
	for i, r := range ex {
		if r.seq != int64(i+1) {
			t.Fatalf("execution %d has seq %d", i, r.seq)
		}
		if r.entry != (i%2 == 0) {
			t.Fatalf("execution %d (seq %d): entry %v out of turn: %+v", i, r.seq, r.entry, ex)
		}
		if !r.entry && (r.entryTime.Int64 != ex[i-1].ts || r.entryPrice.String != ex[i-1].price) {
			t.Fatalf("exit seq %d closes an entry at %d %s, the entry before it was at %d %s", r.seq, r.entryTime.Int64, r.entryPrice.String, ex[i-1].ts, ex[i-1].price)
		}
	}
}

func integrityOK(t *testing.T, dataDir string) {
	t.Helper()
	db, err := storage.Open(filepath.Join(dataDir, "tradeconsole.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Done when (issue 5): the same strategy as a bot over the replay of a recorded session and as
// a backtest over that session's candles makes the same trades.
func TestBotOverReplayMatchesBacktest(t *testing.T) {
	rec := t.TempDir()
	cmd := command(t, rec, "headless", "--for", "4s", "--symbols", "BTCUSDT", "--record-orderflow", "--speed", "200")
	cmd.Env = append(cmd.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_SIM_TRADE_RATE=3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(rec, "orderflow", "sim-BTCUSDT-*.db"))
	if len(files) != 1 {
		t.Fatalf("recorded files %v", files)
	}

	data := t.TempDir()
	id := seedBot(t, data, engine.BotSpec{Name: "parity", Strategy: "sma_cross", Params: engine.ParamText{"fast": "2", "slow": "5"},
		Exchange: "replay", Symbol: "BTCUSDT", Timeframe: "5s", Fills: engine.FillNextOpen,
		JobBroker: engine.JobBroker{Fee: "0.001", SlippageBps: 2}})
	play := command(t, data, "headless", "--exchange", "replay", "--replay-file", files[0], "--speed", "5000", "--for", "2m")
	if out, err := play.CombinedOutput(); err != nil || !strings.Contains(string(out), "bots restored") {
		t.Fatalf("replay: %v\n%s", err, out)
	}

	var stdout, stderr bytes.Buffer
	bt := command(t, data, "backtest", "--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=5", "--exchange", "replay",
		"--symbol", "BTCUSDT", "--timeframe", "5s", "--from", "2000-01-01", "--to", "2100-01-01", "--fee", "0.001", "--slippage-bps", "2", "--json")
	bt.Stdout, bt.Stderr = &stdout, &stderr
	if err := bt.Run(); err != nil {
		t.Fatalf("backtest: %v\n%s", err, stderr.String())
	}
	var res struct{ Trades []tradeJSON }
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	ex := executions(t, openRO(t, data), id)
	checkExecutions(t, ex)
	var exits []execRow
	for _, r := range ex {
		if !r.entry {
			exits = append(exits, r)
		}
	}
	want := res.Trades
	if n := len(want); n > 0 && want[n-1].ExitReason == engine.ReasonEndOfData {
		last := want[n-1]
		want = want[:n-1]
		// The bot still holds that position: its last execution is the same entry.
		if e := ex[len(ex)-1]; !e.entry || e.ts != last.EntryTime || e.price != string(last.EntryPrice) {
			t.Fatalf("backtest ends holding an entry at %d %s; the bot's last execution is %+v", last.EntryTime, last.EntryPrice, e)
		}
	}
	if len(want) < 3 {
		t.Fatalf("only %d closed trades in the session; the test needs more", len(want))
	}
	if len(exits) != len(want) {
		t.Fatalf("bot closed %d trades, backtest %d", len(exits), len(want))
	}
	for i, w := range want {
		g := exits[i]
		got := fmt.Sprintf("%s %d %s → %d %s q=%s pnl=%s %s", g.posSide.String, g.entryTime.Int64, g.entryPrice.String, g.ts, g.price, g.qty, g.pnl.String, g.reason)
		exp := fmt.Sprintf("%s %d %s → %d %s q=%s pnl=%s %s", w.Side, w.EntryTime, w.EntryPrice, w.ExitTime, w.ExitPrice, w.Quantity, w.PnL, w.ExitReason)
		if got != exp {
			t.Fatalf("trade %d:\n bot      %s\n backtest %s", i, got, exp)
		}
	}
	t.Logf("%d closed trades identical", len(want))
}

// Done when (issue 5): a bot with an open position, the process killed with SIGKILL, started
// again: the bot runs with the same position, no execution is repeated, and the database
// passes PRAGMA integrity_check.
func TestBotSurvivesSIGKILL(t *testing.T) {
	data := t.TempDir()
	id := seedBot(t, data, engine.BotSpec{Name: "crash", Strategy: "sma_cross", Params: engine.ParamText{"fast": "2", "slow": "4"},
		Symbol: "BTCUSDT", Timeframe: "5s"})
	env := []string{"TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_BOT_RUNNER_HEARTBEAT=200ms", "TRADECONSOLE_BOT_RUNNER_STALL_AFTER=10s"}
	start := func() (*syncBuffer, func() error, *os.Process) {
		var out syncBuffer
		cmd := command(t, data, "headless", "--speed", "40")
		cmd.Env = append(cmd.Env, env...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var werr error
		go func() { werr = cmd.Wait(); close(done) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-done })
		return &out, func() error { <-done; return werr }, cmd.Process
	}
	db := openRO(t, data)
	type pos struct {
		side, qty, price string
		entryTime        int64
	}
	position := func() (pos, bool) {
		var p pos
		err := db.QueryRow(`SELECT side, quantity, entry_price, entry_time FROM positions WHERE bot_id = ?`, id).Scan(&p.side, &p.qty, &p.price, &p.entryTime)
		if err == sql.ErrNoRows {
			return p, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return p, true
	}
	waitFor := func(what string, d time.Duration, out *syncBuffer, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v\n%s", what, d, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	out, wait, proc := start()
	var held pos
	waitFor("an open position", 60*time.Second, out, func() bool {
		var ok bool
		held, ok = position()
		return ok
	})
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait()
	killed := time.Now()
	// What the killed process committed is what the database holds.
	held, ok := position()
	ex := executions(t, db, id)
	if !ok || len(ex) == 0 {
		t.Fatalf("after the kill: position %v, %d executions", ok, len(ex))
	}
	checkExecutions(t, ex)
	integrityOK(t, data)

	out, wait, proc = start()
	var hb int64
	waitFor("the bot beats again after the restart", 30*time.Second, out, func() bool {
		var status string
		if err := db.QueryRow(`SELECT status, heartbeat_at FROM bots WHERE id = ?`, id).Scan(&status, &hb); err != nil {
			t.Fatal(err)
		}
		return status == "running" && hb > killed.UnixMilli()
	})
	if !strings.Contains(out.String(), "bots restored") {
		t.Fatalf("no restore logged:\n%s", out.String())
	}
	after := executions(t, db, id)
	if len(after) < len(ex) {
		t.Fatalf("executions went from %d to %d", len(ex), len(after))
	}
	for i := range ex {
		if after[i] != ex[i] {
			t.Fatalf("execution %d changed: %+v → %+v", i, ex[i], after[i])
		}
	}
	checkExecutions(t, after)
	if len(after) == len(ex) {
		// Nothing traded yet since the restart: the same position, held.
		if p, ok := position(); !ok || p != held {
			t.Fatalf("position after restart %+v (%v), before %+v", p, ok, held)
		}
	} else if next := after[len(ex)]; next.entry || next.entryTime.Int64 != held.entryTime || next.posSide.String != held.side || next.qty != held.qty {
		// The bot has traded since: its first execution closes the position it held.
		t.Fatalf("first execution after the restart %+v does not close the held position %+v", next, held)
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, out.String())
	}
	integrityOK(t, data)
}
