package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// fetchT0 is 2024-01-01T00:00:00Z; the tests fetch the day after it.
const fetchT0 = int64(1704067200000)

const fetchVenueMsg = `{"retCode":10001,"retMsg":"params error: symbol invalid"}`

// memHistorian is an in-memory venue for fetch: 1m and 1h klines of BTCUSDT in pages of 500,
// failing on page failPage of a call (1-based; 0 never).
type memHistorian struct {
	mu       sync.Mutex
	failPage int
	calls    int
}

func fetchCandle(tf market.Timeframe, t int64) market.Candle {
	i := float64(t / tf.Millis() % 1000)
	o, c := 42000+i, 42000+i+0.5
	return market.Candle{Exchange: "bybit", Symbol: "BTCUSDT", Timeframe: tf, Time: t,
		Open: o, High: c + 1, Low: o - 1, Close: c, Volume: 1 + i/10, Trades: 3}
}

func (m *memHistorian) Timeframes() []market.Timeframe {
	return []market.Timeframe{market.TF1m, market.TF1h}
}

func (m *memHistorian) Instrument(_ context.Context, sym market.Symbol) (market.Instrument, error) {
	if sym != "BTCUSDT" {
		return market.Instrument{}, fmt.Errorf("bybit: instrument %s: %s", sym, fetchVenueMsg)
	}
	return market.Instrument{Exchange: "bybit", Symbol: sym, Venue: "BTCUSDT", Trading: true}, nil
}

func (m *memHistorian) Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error {
	m.mu.Lock()
	m.calls++
	fail := m.failPage
	m.mu.Unlock()
	n := 0
	for t := tf.Floor(from) + tf.Millis(); t <= to; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n++; n == fail {
			return errors.New(`bybit: GET /v5/market/kline: HTTP 403: {"retCode":10006,"retMsg":"Too many visits!"}`)
		}
		var batch []market.Candle
		for ; t <= to && len(batch) < 500; t += tf.Millis() {
			batch = append(batch, fetchCandle(tf, t))
		}
		if err := page(batch); err != nil {
			return err
		}
	}
	return nil
}

func (m *memHistorian) klineCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// useHistorian makes fetch use h for bybit (newHistorianFn's error for the others) until the
// test ends.
func useHistorian(t *testing.T, h venue.Historian) {
	t.Helper()
	old := newHistorianFn
	newHistorianFn = func(_ *config.Config, exchange string) (venue.Historian, error) {
		if exchange != "bybit" {
			return nil, fmt.Errorf("exchange %q has no REST history", exchange)
		}
		return h, nil
	}
	t.Cleanup(func() { newHistorianFn = old })
}

// runFetch runs `tradeconsole fetch args…` in-process with its data dir and an empty
// configuration: through run (the real exit codes) once main registers the command, else on
// the root command with fetch added and run's exit-code rule.
func runFetchCmd(t *testing.T, dataDir string, args ...string) runResult {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("exchange: sim\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"fetch", "--config", cfgFile, "--data-dir", dataDir}, args...)
	var out, errb bytes.Buffer
	root := newRootCmd(strings.NewReader(""), &out, &errb)
	if c, _, err := root.Find([]string{"fetch"}); err == nil && c.Name() == "fetch" {
		code := run(full, strings.NewReader(""), &out, &errb)
		return runResult{out.String(), errb.String(), code}
	}
	root.AddCommand(newFetchCmd(&errb))
	root.SetArgs(full)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := 0
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(&errb, "tradeconsole:", err)
		var u usageError
		code = 1
		if errors.As(err, &u) || config.IsUsageError(err) || strings.HasPrefix(err.Error(), "unknown command") {
			code = 2
		}
	}
	return runResult{out.String(), errb.String(), code}
}

// fetchStored reads back every bybit BTCUSDT candle of tf.
func fetchStored(t *testing.T, dataDir string, tf market.Timeframe) []market.Candle {
	t.Helper()
	db, err := storage.Open(filepath.Join(dataDir, "tradeconsole.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	cs, err := db.Candles(context.Background(), "bybit", "BTCUSDT", tf, 0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func fetchWant(tf market.Timeframe, from, to int64) []market.Candle {
	var out []market.Candle
	for t := from + tf.Millis(); t <= to; t += tf.Millis() {
		out = append(out, fetchCandle(tf, t))
	}
	return out
}

// A day of 1m candles lands in market_data; a venue error on page 2 exits 1 with its message
// and keeps page 1; the rerun resumes after it; a third run fetches nothing and changes
// nothing.
func TestFetchStoresResumesIdempotent(t *testing.T) {
	h := &memHistorian{failPage: 2}
	useHistorian(t, h)
	data := t.TempDir()
	args := []string{"--exchange", "bybit", "--symbol", "btcusdt", "--timeframe", "1m", "--from", "2024-01-01", "--to", "2024-01-02"}
	want := fetchWant(market.TF1m, fetchT0, fetchT0+86_400_000)

	r := runFetchCmd(t, data, args...)
	if r.code != 1 || !strings.Contains(r.stderr, `"retMsg":"Too many visits!"`) || !strings.Contains(r.stderr, "a rerun resumes there") {
		t.Fatalf("failing venue: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := fetchStored(t, data, market.TF1m); !reflect.DeepEqual(got, want[:500]) {
		t.Fatalf("after the failure %d candles stored, want page 1 (500)", len(got))
	}

	h.mu.Lock()
	h.failPage = 0
	h.mu.Unlock()
	r = runFetchCmd(t, data, args...)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	summary := "fetched 940 candles BTCUSDT 1m bybit from 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z, stored 940; 500 already stored (newest 2024-01-01T08:20:00Z), 1 gap filled\n"
	if !strings.HasSuffix(r.stderr, summary) {
		t.Fatalf("stderr:\n%s\nwant it to end with\n%s", r.stderr, summary)
	}
	for _, line := range []string{"fetch BTCUSDT 1m bybit from 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z into " + filepath.Join(data, "tradeconsole.db"),
		"fetch:  30%  up to 2024-01-01T08:20:00Z", "fetch: 100%  up to 2024-01-02T00:00:00Z"} {
		if !strings.Contains(r.stderr, line+"\n") {
			t.Fatalf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q", r.stdout)
	}
	if got := fetchStored(t, data, market.TF1m); !reflect.DeepEqual(got, want) {
		t.Fatalf("%d candles stored, want the venue's %d", len(got), len(want))
	}
	if n := seriesCounts(t, filepath.Join(data, "tradeconsole.db"))["BTCUSDT 1m"]; n != 1440 {
		t.Fatalf("market_data rows %d, want 1440", n)
	}

	calls := h.klineCalls()
	r = runFetchCmd(t, data, args...)
	if r.code != 0 || !strings.HasSuffix(r.stderr, "fetched 0 candles BTCUSDT 1m bybit from 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z, stored 0; 1440 already stored (newest 2024-01-02T00:00:00Z), nothing missing\n") {
		t.Fatalf("third run: exit %d:\n%s", r.code, r.stderr)
	}
	if h.klineCalls() != calls {
		t.Fatal("a finished range was fetched again")
	}
	if got := fetchStored(t, data, market.TF1m); !reflect.DeepEqual(got, want) {
		t.Fatal("the third run changed the table")
	}

	// --full fetches the whole range again, to the same rows.
	r = runFetchCmd(t, data, append(args, "--full")...)
	if r.code != 0 || !strings.HasSuffix(r.stderr, "fetched 1440 candles BTCUSDT 1m bybit from 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z, stored 1440\n") {
		t.Fatalf("--full: exit %d:\n%s", r.code, r.stderr)
	}
	if h.klineCalls() != calls+1 {
		t.Fatal("--full did not fetch")
	}
	if got := fetchStored(t, data, market.TF1m); !reflect.DeepEqual(got, want) {
		t.Fatal("--full changed the table")
	}
}

func TestFetchUnknownSymbolExitsOne(t *testing.T) {
	h := &memHistorian{}
	useHistorian(t, h)
	data := t.TempDir()
	r := runFetchCmd(t, data, "--exchange", "bybit", "--symbol", "NOPEUSDT", "--timeframe", "1h", "--from", "2024-01-01", "--to", "2024-01-02")
	if r.code != 1 || !strings.Contains(r.stderr, "tradeconsole: sync bybit NOPEUSDT 1h: ") || !strings.Contains(r.stderr, fetchVenueMsg) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if h.klineCalls() != 0 {
		t.Fatal("klines fetched for an unknown symbol")
	}
}

func TestFetchBadInputExitsTwo(t *testing.T) {
	h := &memHistorian{}
	useHistorian(t, h)
	data := t.TempDir()
	base := func(kv ...string) []string {
		m := map[string]string{"--exchange": "bybit", "--symbol": "BTCUSDT", "--timeframe": "1m", "--from": "2024-01-01", "--to": "2024-01-02"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		var args []string
		for _, k := range []string{"--exchange", "--symbol", "--timeframe", "--from", "--to"} {
			if v, ok := m[k]; ok && v != "<none>" {
				args = append(args, k, v)
			}
		}
		return args
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad timeframe", base("--timeframe", "7m"), []string{`--timeframe: timeframe "7m" is not supported`}},
		{"timeframe not served", base("--timeframe", "15m"), []string{"--timeframe 15m: bybit history serves 1m 1h"}},
		{"unknown exchange", base("--exchange", "kraken"), []string{`--exchange "kraken"`, "bybit, okx, binance"}},
		{"exchange without history", base("--exchange", "okx"), []string{`--exchange okx: exchange "okx" has no REST history`}},
		{"no exchange", base("--exchange", "<none>"), []string{"--exchange is required: one of bybit, okx, binance"}},
		{"bad symbol", base("--symbol", "BTC-USDT"), []string{`--symbol: symbol "BTC-USDT"`}},
		{"no from", base("--from", "<none>"), []string{"--from is required"}},
		{"bad from", base("--from", "2024-13-01"), []string{`--from "2024-13-01": want a date YYYY-MM-DD`}},
		{"bad to", base("--to", "tomorrow"), []string{`--to "tomorrow"`}},
		{"to before from", base("--from", "2024-01-02", "--to", "2024-01-01"), []string{"--to 2024-01-01 must be after --from 2024-01-02"}},
		{"from in the future", base("--from", "2999-01-01", "--to", "<none>"), []string{"--from 2999-01-01 must be before now"}},
		{"positional", append(base(), "extra"), []string{"unknown command"}},
		{"unknown flag", append(base(), "--form", "x"), []string{"unknown flag: --form"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runFetchCmd(t, data, c.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Fatalf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	// Several problems are reported at once.
	r := runFetchCmd(t, data, base("--timeframe", "7m", "--from", "x")...)
	if r.code != 2 || !strings.Contains(r.stderr, "--timeframe") || !strings.Contains(r.stderr, `--from "x"`) {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if h.klineCalls() != 0 {
		t.Fatal("klines fetched for bad input")
	}
	if _, err := os.Stat(filepath.Join(data, "tradeconsole.db")); err == nil {
		t.Fatal("bad input created the database")
	}
}
