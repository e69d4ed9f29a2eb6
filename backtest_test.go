package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// btT0 is 2024-01-01T00:00:00Z: the first CSV row's open time.
const btT0 = int64(1704067200000)

// walkCandles is a seeded random walk of n 1m candles, the first opening at btT0 (so stamped
// btT0 + 1m), prices rounded to 4 decimals so that CSV text and the database hold the same
// floats.
func walkCandles(seed uint64, n int) []market.Candle {
	rng := rand.New(rand.NewPCG(seed, 1))
	r4 := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
	out := make([]market.Candle, n)
	p := 100.0
	for i := range out {
		o := p
		c := r4(o * (1 + rng.NormFloat64()*0.004))
		out[i] = market.Candle{Exchange: "sim", Symbol: "BTCUSDT", Timeframe: market.TF1m, Time: btT0 + int64(i+1)*60_000,
			Open: o, High: r4(max(o, c) * (1 + rng.Float64()*0.002)), Low: r4(min(o, c) * (1 - rng.Float64()*0.002)), Close: c,
			Volume: r4(rng.Float64() * 10), Trades: 1}
		p = c
	}
	return out
}

// writeCSV writes candles as an exchange publishes them: open times in ms.
func writeCSV(t *testing.T, cs []market.Candle) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,open,high,low,close,volume\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s\n", c.Start(), f64(c.Open), f64(c.High), f64(c.Low), f64(c.Close), f64(c.Volume))
	}
	path := filepath.Join(t.TempDir(), "prices.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func f64(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

type runResult struct {
	stdout, stderr string
	code           int
}

func runBT(t *testing.T, dataDir string, args ...string) runResult {
	t.Helper()
	cmd := command(t, dataDir, append([]string{"backtest"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{out.String(), errb.String(), code}
}

var metricKeys = []string{"start_equity", "final_equity", "total_return", "cagr", "sharpe", "sortino", "calmar",
	"max_drawdown", "max_drawdown_duration", "profit_factor", "expectancy", "win_rate", "trades", "avg_win", "avg_loss",
	"best_trade", "worst_trade", "avg_holding_minutes", "exposure", "fees", "buy_and_hold_return"}

var tradeKeys = []string{"side", "entry_time", "entry_price", "exit_time", "exit_price", "quantity", "pnl", "pnl_pct", "fees", "exit_reason"}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sorted(ks []string) []string { s := slices.Clone(ks); slices.Sort(s); return s }

// TestBacktestCSVJSON: sma_cross on a CSV file; --json prints exactly {metrics, trades} with the
// 21 metric keys and the 10 trade keys; decimals are numbers; entries fill at a candle's open
// time; the ledger reconciles.
func TestBacktestCSVJSON(t *testing.T) {
	cs := walkCandles(1, 3000)
	csvPath := writeCSV(t, cs)
	r := runBT(t, t.TempDir(), "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--csv", csvPath, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatal("stdout holds more than one JSON document")
	}
	if got := keysOf(doc); !reflect.DeepEqual(got, []string{"metrics", "trades"}) {
		t.Fatalf("top-level keys %v", got)
	}
	var metrics map[string]json.RawMessage
	json.Unmarshal(doc["metrics"], &metrics)
	if got := keysOf(metrics); !reflect.DeepEqual(got, sorted(metricKeys)) {
		t.Fatalf("metric keys\n got %v\nwant %v", got, sorted(metricKeys))
	}
	var trades []map[string]json.RawMessage
	json.Unmarshal(doc["trades"], &trades)
	if len(trades) < 10 {
		t.Fatalf("%d trades", len(trades))
	}
	var m struct {
		Start, Final float64 `json:"-"`
	}
	json.Unmarshal(metrics["start_equity"], &m.Start)
	json.Unmarshal(metrics["final_equity"], &m.Final)
	var nTrades int
	json.Unmarshal(metrics["trades"], &nTrades)
	if nTrades != len(trades) || m.Start != 10000 {
		t.Errorf("metrics: %d trades for %d listed, start %v", nTrades, len(trades), m.Start)
	}
	opens := map[int64]bool{}
	for _, c := range cs {
		opens[c.Start()] = true
	}
	sum := 0.0
	for i, tr := range trades {
		if got := keysOf(tr); !reflect.DeepEqual(got, sorted(tradeKeys)) {
			t.Fatalf("trade %d keys %v", i, got)
		}
		for _, k := range []string{"entry_price", "exit_price", "quantity", "pnl", "pnl_pct", "fees", "entry_time", "exit_time"} {
			if v := string(tr[k]); strings.HasPrefix(v, `"`) {
				t.Fatalf("trade %d: %s is %s, want a JSON number", i, k, v)
			}
		}
		var entry int64
		var side string
		json.Unmarshal(tr["entry_time"], &entry)
		json.Unmarshal(tr["side"], &side)
		if !opens[entry] || side != "long" {
			t.Errorf("trade %d: entry at %d (%s), want a candle's open time, long", i, entry, side)
		}
		var pnl float64
		json.Unmarshal(tr["pnl"], &pnl)
		sum += pnl
	}
	if math.Abs(m.Start+sum-m.Final) > 1e-6 {
		t.Errorf("start %v + Σ pnl %v ≠ final %v", m.Start, sum, m.Final)
	}
	if !strings.Contains(r.stderr, "level=INFO") || strings.Contains(r.stdout, "level=") {
		t.Errorf("logs belong on stderr only:\nstdout %.200s\nstderr %.200s", r.stdout, r.stderr)
	}
}

// The same candles read from a CSV file (open times) and from the database (right-aligned
// stamps, range (from, to]) give the same result; --report writes an HTML file with charts.
func TestBacktestDatabaseEqualsCSVAndReport(t *testing.T) {
	cs := walkCandles(2, 2000)
	data := t.TempDir()
	db, err := storage.Open(filepath.Join(data, "tradeconsole.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Candles before and after the range, which must not be read.
	extra := walkCandles(3, 100)
	for i := range extra {
		extra[i].Time = cs[len(cs)-1].Time + int64(i+1)*60_000
	}
	db.UpsertCandles(cs...)
	db.UpsertCandles(extra...)
	if err := db.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// (from, to] = (btT0, stamp of the last cs candle]: exactly cs.
	to := "2024-01-02T09:20:00Z" // btT0 + 2000 min
	if got := btT0 + 2000*60_000; cs[len(cs)-1].Time != got {
		t.Fatalf("fixture: last stamp %d", cs[len(cs)-1].Time)
	}
	args := []string{"--strategy", "ema_cross", "--param", "fast=4", "--param", "slow=15", "--allow-short", "--fee", "0.0005", "--slippage-bps", "2", "--stop-loss", "0.01"}
	fromDB := runBT(t, data, append(args, "--exchange", "sim", "--symbol", "btcusdt", "--timeframe", "1m", "--from", "2024-01-01", "--to", to, "--json")...)
	fromCSV := runBT(t, data, append(args, "--csv", writeCSV(t, cs), "--json")...)
	if fromDB.code != 0 || fromCSV.code != 0 {
		t.Fatalf("exit %d / %d\n%s\n%s", fromDB.code, fromCSV.code, fromDB.stderr, fromCSV.stderr)
	}
	if fromDB.stdout != fromCSV.stdout {
		t.Fatalf("database and CSV results differ:\n%.600s\n---\n%.600s", fromDB.stdout, fromCSV.stdout)
	}
	if !strings.Contains(fromDB.stdout, `"side": "short"`) {
		t.Error("--allow-short: no short trade")
	}

	report := filepath.Join(t.TempDir(), "run.html")
	text := runBT(t, data, append(args, "--exchange", "sim", "--symbol", "BTCUSDT", "--timeframe", "1m", "--from", "2024-01-01", "--to", to, "--report", report)...)
	if text.code != 0 {
		t.Fatalf("exit %d\n%s", text.code, text.stderr)
	}
	for _, want := range []string{"ema_cross allow_short=1 fast=4 slow=15", "sim BTCUSDT 1m", "2000 candles", "Sharpe", "Total return", "trades (exits:", "report: " + report} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, text.stdout)
		}
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "<polyline", "ema_cross", "Monthly returns", `<table id="trades">`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "https://") || strings.Contains(string(html), "<script") {
		t.Error("report is not self-contained")
	}
}

// A sweep over fast=2:4:1 × slow=5:6:1 ranks its six runs; the best is printed in full.
func TestBacktestSweep(t *testing.T) {
	csvPath := writeCSV(t, walkCandles(4, 3000))
	for _, rank := range []string{"sharpe", "max_drawdown"} {
		r := runBT(t, t.TempDir(), "--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=2:4:1", "--sweep", "slow=5:6:1",
			"--rank-by", rank, "--workers", "2", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		type run struct {
			Params  map[string]any     `json:"params"`
			Metrics map[string]float64 `json:"metrics"`
		}
		var doc struct {
			Sweep struct {
				RankedBy string `json:"ranked_by"`
				Runs     []run  `json:"runs"`
				Skipped  *int   `json:"skipped"`
			} `json:"sweep"`
			Best struct {
				run
				Trades []map[string]any `json:"trades"`
			} `json:"best"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		s := doc.Sweep
		if s.RankedBy != rank || len(s.Runs) != 6 || s.Skipped == nil || *s.Skipped != 0 {
			t.Fatalf("ranked_by %q, %d runs, skipped %v", s.RankedBy, len(s.Runs), s.Skipped)
		}
		seen := map[string]bool{}
		for i, run := range s.Runs {
			seen[fmt.Sprint(run.Params["fast"], run.Params["slow"])] = true
			if run.Params["allow_short"] != false || len(run.Metrics) != 21 {
				t.Errorf("run %d: params %v, %d metrics", i, run.Params, len(run.Metrics))
			}
			if i == 0 {
				continue
			}
			a, b := s.Runs[i-1].Metrics[rank], run.Metrics[rank]
			if (rank == "sharpe" && a < b) || (rank == "max_drawdown" && a > b) {
				t.Errorf("runs %d, %d out of order by %s: %v, %v", i-1, i, rank, a, b)
			}
		}
		if len(seen) != 6 {
			t.Errorf("combinations %v", seen)
		}
		if !reflect.DeepEqual(doc.Best.Params, s.Runs[0].Params) || !reflect.DeepEqual(doc.Best.Metrics, s.Runs[0].Metrics) ||
			len(doc.Best.Trades) != int(s.Runs[0].Metrics["trades"]) || len(doc.Best.Trades) == 0 {
			t.Errorf("best %v (%d trades) is not runs[0] %v", doc.Best.Params, len(doc.Best.Trades), s.Runs[0].Params)
		}
	}

	// Text, with a refused combination (fast=5, slow=5) counted.
	report := filepath.Join(t.TempDir(), "sweep.html")
	r := runBT(t, t.TempDir(), "--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=2:5:1", "--sweep", "slow=5:6:1", "--report", report)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"8 combinations, 7 run, 1 skipped; ranked by sharpe", "fast (5) must be less than slow (5)", "best: sma_cross"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sweep summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if html, _ := os.ReadFile(report); !bytes.Contains(html, []byte("Sweep ranking")) || !bytes.Contains(html, []byte("<svg")) {
		t.Error("sweep report lacks the ranking or the charts")
	}
}

func TestBacktestBadInputExitsTwo(t *testing.T) {
	good := walkCandles(5, 50)
	csvPath := writeCSV(t, good)
	badCSV := filepath.Join(t.TempDir(), "prices.csv")
	os.WriteFile(badCSV, []byte("timestamp,open,high,low,close,volume\n1704067200000,10,11,9,10,1\n1704067260000,10,11,9,10,1\n1704067320000,10,9.5,10,10,1\n"), 0o644)

	data := t.TempDir()
	db, err := storage.Open(filepath.Join(data, "tradeconsole.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.UpsertCandles(good...)
	db.Close(context.Background())

	dbArgs := []string{"--exchange", "sim", "--symbol", "BTCUSDT", "--timeframe", "1m"}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown strategy", []string{"--strategy", "moon", "--csv", csvPath}, []string{`unknown strategy "moon"`, "sma_cross, ema_cross, rsi"}},
		{"bad param", []string{"--strategy", "sma_cross", "--param", "fast=abc", "--param", "speed=3", "--csv", csvPath},
			[]string{"--param", `fast = "abc": must be a number`, `speed = "3": unknown parameter`}},
		{"param rule", []string{"--strategy", "sma_cross", "--param", "fast=30", "--csv", csvPath}, []string{"fast (30) must be less than slow (30)"}},
		{"param syntax", []string{"--strategy", "sma_cross", "--param", "fast", "--csv", csvPath}, []string{`--param "fast": want name=value`}},
		{"CSV bad line", []string{"--strategy", "sma_cross", "--csv", badCSV}, []string{badCSV + ":4: high 9.5 is below low 10"}},
		{"CSV missing", []string{"--strategy", "sma_cross", "--csv", "/nonexistent/p.csv"}, []string{"--csv", "/nonexistent/p.csv"}},
		{"csv and exchange", append([]string{"--strategy", "sma_cross", "--csv", csvPath}, dbArgs...), []string{"--csv and --exchange", "mutually exclusive"}},
		{"no source", []string{"--strategy", "sma_cross"}, []string{"--csv FILE", "--exchange"}},
		{"database flags missing", append([]string{"--strategy", "sma_cross"}, dbArgs...), []string{"missing --from, --to"}},
		{"no candles in range", append([]string{"--strategy", "sma_cross", "--from", "2023-01-01", "--to", "2023-02-01"}, dbArgs...),
			[]string{"no sim BTCUSDT 1m candles", "(2023-01-01T00:00:00Z, 2023-02-01T00:00:00Z]", "stored: sim BTCUSDT 1m: 50 candles", "go run .", "fetch"}},
		{"bad dates", append([]string{"--strategy", "sma_cross", "--from", "2024-02-30", "--to", "2024-01-01"}, dbArgs...), []string{`--from "2024-02-30"`}},
		{"to before from", append([]string{"--strategy", "sma_cross", "--from", "2024-02-01", "--to", "2024-01-01"}, dbArgs...), []string{"--to 2024-01-01 must be after --from 2024-02-01"}},
		{"bad broker flags", []string{"--strategy", "sma_cross", "--csv", csvPath, "--fee", "2", "--slippage-bps", "-3", "--position-size", "0", "--balance", "x"},
			[]string{"--fee 2", "--slippage-bps -3", "--position-size 0", `--balance "x"`}},
		{"bad sweep", []string{"--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=5:2:1"}, []string{`--sweep "fast=5:2:1": to 2 is below from 5`}},
		{"sweep out of range", []string{"--strategy", "sma_cross", "--csv", csvPath, "--sweep", "slow=1:3:1"}, []string{"--sweep slow=1:3:1: slow must be from 2 to 5000"}},
		{"sweep too big", []string{"--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=1:500:1", "--sweep", "slow=2:100:1"}, []string{"49500 combinations", "at most 10000"}},
		{"every combination refused", []string{"--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=30:40:10"}, []string{"refused every combination", "fast (30) must be less than slow (30)"}},
		{"rank-by", []string{"--strategy", "sma_cross", "--csv", csvPath, "--sweep", "fast=2:3:1", "--rank-by", "luck"}, []string{`--rank-by "luck"`, "sharpe"}},
		{"report path", []string{"--strategy", "sma_cross", "--csv", csvPath, "--report", "/nonexistent/dir/r.html"}, []string{"--report /nonexistent/dir/r.html"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBT(t, data, c.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %s", r.stdout)
			}
		})
	}
}

// TestBacktestOrderflowFile: orderflow_imbalance over a recorded sim session (--orderflow):
// candles come from the file's trades, the strategy steps through its snapshots' OBI and CVD,
// trades happen and fill at candle opens; --orderflow with --exchange is refused.
func TestBacktestOrderflowFile(t *testing.T) {
	data := t.TempDir()
	rec := command(t, data, "headless", "--for", "6s", "--symbols", "BTCUSDT", "--record-orderflow", "--speed", "60")
	rec.Env = append(rec.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_SIM_TRADE_RATE=20", "TRADECONSOLE_ORDERFLOW_SNAPSHOT_INTERVAL=200ms")
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(data, "orderflow", "*.db"))
	if len(files) == 0 {
		t.Fatal("nothing recorded")
	}
	r := runBT(t, data, "--strategy", "orderflow_imbalance", "--param", "obi_threshold=0.2", "--param", "sustain=3",
		"--orderflow", files[0], "--timeframe", "5s", "--depth", "20", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Metrics map[string]float64 `json:"metrics"`
		Trades  []struct {
			EntryTime int64 `json:"entry_time"`
			ExitTime  int64 `json:"exit_time"`
		} `json:"trades"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(doc.Trades) == 0 || doc.Metrics["trades"] != float64(len(doc.Trades)) {
		t.Fatalf("no order-flow trades over 6 minutes of sim data: %s", r.stdout)
	}
	for _, tr := range doc.Trades {
		if tr.EntryTime%5000 != 0 || tr.ExitTime%5000 != 0 {
			t.Fatalf("fills not at 5s candle opens: %+v", tr)
		}
	}
	bad := runBT(t, data, "--strategy", "orderflow_imbalance", "--orderflow", files[0], "--exchange", "sim")
	if bad.code != 2 || !strings.Contains(bad.stderr, "--orderflow and --exchange are mutually exclusive") {
		t.Fatalf("exit %d: %s", bad.code, bad.stderr)
	}
}
