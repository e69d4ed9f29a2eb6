package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/market"
)

// noEnv is an empty, non-nil environment, so tests never see the real one.
var noEnv = []string{}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameConfig compares Bots by their JSON (a number may be an int or a float64 depending on
// how it was written) and the rest exactly.
func sameConfig(t *testing.T, got, want config.Config) bool {
	t.Helper()
	gb, err := json.Marshal(got.Bots)
	if err != nil {
		t.Fatalf("json.Marshal(got.Bots): %v", err)
	}
	wb, err := json.Marshal(want.Bots)
	if err != nil {
		t.Fatalf("json.Marshal(want.Bots): %v", err)
	}
	got.Bots, want.Bots = nil, nil
	return bytes.Equal(gb, wb) && reflect.DeepEqual(got, want)
}

func TestRepoConfigYAMLEqualsDefault(t *testing.T) {
	got, err := config.Load(config.Options{File: "../config.yaml", Env: noEnv})
	if err != nil {
		t.Fatalf("Load(../config.yaml): %v", err)
	}
	if want := config.Default(); !sameConfig(t, got, want) {
		t.Fatalf("../config.yaml differs from Default():\n got  %+v\n want %+v", got, want)
	}
}

func TestRepoConfigYAMLDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	present := v.AllKeys()
	for _, k := range config.Keys() {
		if !slices.Contains(present, k) {
			t.Errorf("config.yaml does not list key %s", k)
		}
	}
	// Every key has a comment line directly above it (or above its list). The keys of a list
	// item's mapping (bots) are the item's, not config keys.
	lines := strings.Split(string(data), "\n")
	itemIndent := -1 // indentation of the "- " of the list item being read, -1 outside one
	for i, line := range lines {
		trim := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if strings.HasPrefix(trim, "- ") {
			itemIndent = indent
			continue
		}
		if trim != "" && !strings.HasPrefix(trim, "#") && itemIndent >= 0 && indent <= itemIndent {
			itemIndent = -1
		}
		if trim == "" || strings.HasPrefix(trim, "#") || itemIndent >= 0 || !strings.Contains(trim, ":") {
			continue
		}
		key, rest, _ := strings.Cut(trim, ":")
		if strings.TrimSpace(rest) == "" && slices.Contains([]string{"log", "sim", "storage", "ui"}, key) {
			continue // section header
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			t.Errorf("config.yaml line %d (%s) has no comment above it", i+1, trim)
		}
	}
}

func TestJSONAndTOMLFiles(t *testing.T) {
	for name, content := range map[string]string{
		"c.json": `{"sim": {"speed": 7}, "symbols": ["SOLUSDT"]}`,
		"c.toml": "symbols = [\"SOLUSDT\"]\n[sim]\nspeed = 7\n",
	} {
		c, err := config.Load(config.Options{File: writeFile(t, name, content), Env: noEnv})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Sim.Speed != 7 || !slices.Equal(c.Symbols, []market.Symbol{"SOLUSDT"}) {
			t.Errorf("%s: got speed %v symbols %v", name, c.Sim.Speed, c.Symbols)
		}
	}
}

func TestNoFileGivesDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	got, err := config.Load(config.Options{Env: noEnv})
	if err != nil {
		t.Fatalf("Load with no config.yaml: %v", err)
	}
	if want := config.Default(); !sameConfig(t, got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestConfigYAMLInWorkingDirIsRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("sim:\n  speed: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, err := config.Load(config.Options{Env: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got.Sim.Speed != 3 {
		t.Fatalf("sim.speed = %v, want 3 from ./config.yaml", got.Sim.Speed)
	}
}

func TestDefaultIsValidAndFresh(t *testing.T) {
	a := config.Default()
	a.Symbols[0] = "XXX"
	a.Timeframes[0] = market.TF1d
	a.Bots[0]["name"] = "changed"
	a.Bots[0]["params"].(map[string]any)["fast"] = 99
	if b := config.Default(); b.Symbols[0] != "BTCUSDT" || b.Timeframes[0] != market.TF5s {
		t.Fatal("Default() shares its slices between calls")
	}
	if b := config.Default(); b.Bots[0]["name"] != "demo-sma-btc" || b.Bots[0]["params"].(map[string]any)["fast"] != 10 {
		t.Fatal("Default() shares its bots between calls")
	}
}

func TestDefaults(t *testing.T) {
	c := config.Default()
	if c.BotsDir != "" {
		t.Errorf("BotsDir = %q, want \"\"", c.BotsDir)
	}
	want := config.BotRunnerConfig{
		Heartbeat:           5 * time.Second,
		StallAfter:          15 * time.Second,
		PerformanceInterval: 10 * time.Second,
		MaxOpenPositions:    0,
		Warmup:              300,
		MaxRestarts:         3,
		RestartWindow:       time.Hour,
	}
	if c.BotRunner != want {
		t.Errorf("BotRunner = %+v, want %+v", c.BotRunner, want)
	}
	js, err := json.Marshal(c.Bots)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `[{"balance":10000,"name":"demo-sma-btc","params":{"fast":10,"slow":30},"strategy":"sma_cross","symbol":"BTCUSDT","timeframe":"1m"},` +
		`{"balance":10000,"name":"demo-rsi-eth","stop_loss":0.01,"strategy":"rsi","symbol":"ETHUSDT","take_profit":0.02,"timeframe":"5m"}]`
	if string(js) != wantJSON {
		t.Errorf("Bots JSON =\n%s\nwant\n%s", js, wantJSON)
	}
	// Loading with no file gives the same.
	t.Chdir(t.TempDir())
	got, err := config.Load(config.Options{Env: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got.BotRunner != want || got.BotsPath() != filepath.Join("data", "bots") {
		t.Errorf("loaded BotRunner = %+v, BotsPath = %q", got.BotRunner, got.BotsPath())
	}
	if js2, _ := json.Marshal(got.Bots); string(js2) != wantJSON {
		t.Errorf("loaded Bots JSON =\n%s\nwant\n%s", js2, wantJSON)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name string
		file string // YAML content; "" = no file
		env  []string
		set  map[string]string
		want func(c *config.Config)
	}{
		{
			name: "file overrides",
			file: `
data_dir: /tmp/tc
exchange: SIM
symbols: [solusdt, BTCUSDT]
timeframes: [1h, 1s, 15m]
candle_grace: 500ms
record_orderflow: yes
log: {level: DEBUG, file: /tmp/tc.log}
orderflow:
  depth: 0
  publish_interval: 100ms
  snapshot_interval: 250ms
  alert_obi: 0
  cvd_reset: Daily
replay:
  file: /tmp/x.db
  speed: 60
sim:
  seed: -7
  speed: 2.5
  trade_rate: 100
  book_levels: 500
  book_interval: 1ms
  history_days: 0
storage:
  batch_size: 1
  flush_interval: 1m
  read_pool: 64
  busy_timeout: 0
ui:
  fps: 60
  timeframe: 15m
  tape_size: 10
  chart_candles: 5000
  flow_window: 5s
`,
			want: func(c *config.Config) {
				c.DataDir = "/tmp/tc"
				c.Symbols = []market.Symbol{"SOLUSDT", "BTCUSDT"}
				c.Timeframes = []market.Timeframe{market.TF1s, market.TF15m, market.TF1h}
				c.CandleGrace = 500 * time.Millisecond
				c.Log = config.LogConfig{Level: "debug", File: "/tmp/tc.log"}
				c.RecordOrderflow = true
				c.Orderflow = config.OrderflowConfig{PublishInterval: 100 * time.Millisecond, SnapshotInterval: 250 * time.Millisecond, CVDReset: "daily"}
				c.Replay = config.ReplayConfig{File: "/tmp/x.db", Speed: 60}
				c.Sim = config.SimConfig{Seed: -7, Speed: 2.5, TradeRate: 100, BookLevels: 500, BookInterval: time.Millisecond}
				c.Storage = config.StorageConfig{BatchSize: 1, FlushInterval: time.Minute, ReadPool: 64}
				c.UI = config.UIConfig{FPS: 60, Timeframe: market.TF15m, TapeSize: 10, ChartCandles: 5000, FlowWindow: 5 * time.Second}
			},
		},
		{
			name: "file overrides bot_runner, bots_dir and bots",
			file: `
bots_dir: /srv/bots
bot_runner:
  heartbeat: 100ms
  stall_after: 10m
  performance_interval: 1h
  max_open_positions: 1000
  warmup: 0
  max_restarts: 100
  restart_window: 24h
bots:
  - name: a
    strategy: macd
    symbol: SOLUSDT
    timeframe: 15m
`,
			want: func(c *config.Config) {
				c.BotsDir = "/srv/bots"
				c.BotRunner = config.BotRunnerConfig{
					Heartbeat:           100 * time.Millisecond,
					StallAfter:          10 * time.Minute,
					PerformanceInterval: time.Hour,
					MaxOpenPositions:    1000,
					Warmup:              0,
					MaxRestarts:         100,
					RestartWindow:       24 * time.Hour,
				}
				c.Bots = []map[string]any{{"name": "a", "strategy": "macd", "symbol": "SOLUSDT", "timeframe": "15m"}}
			},
		},
		{
			name: "file with no bots",
			file: "bots: []\n",
			want: func(c *config.Config) { c.Bots = []map[string]any{} },
		},
		{
			name: "file bots key with no value keeps the demo bots",
			file: "bots:\nbot_runner:\n  warmup:\n",
			want: func(c *config.Config) {},
		},
		{
			name: "env overrides bot_runner",
			env: []string{
				"TRADECONSOLE_BOT_RUNNER_HEARTBEAT=2s",
				"TRADECONSOLE_BOT_RUNNER_MAX_OPEN_POSITIONS=5",
				"TRADECONSOLE_BOTS_DIR=/etc/tc/bots",
			},
			want: func(c *config.Config) {
				c.BotRunner.Heartbeat = 2 * time.Second
				c.BotRunner.MaxOpenPositions = 5
				c.BotsDir = "/etc/tc/bots"
			},
		},
		{
			name: "set overrides bot_runner",
			set:  map[string]string{"bot_runner.restart_window": "30m", "bot_runner.warmup": "50"},
			want: func(c *config.Config) {
				c.BotRunner.RestartWindow = 30 * time.Minute
				c.BotRunner.Warmup = 50
			},
		},
		{
			name: "file lists as comma-separated strings",
			file: "symbols: \"BTCUSDT, SOLUSDT\"\ntimeframes: 1m,5s\n",
			want: func(c *config.Config) {
				c.Symbols = []market.Symbol{"BTCUSDT", "SOLUSDT"}
				c.Timeframes = []market.Timeframe{market.TF5s, market.TF1m}
			},
		},
		{
			name: "file key with no value keeps its default",
			file: "data_dir:\nsim:\nui:\n  fps:\n",
			want: func(c *config.Config) {},
		},
		{
			name: "file numbers given as strings and integral floats",
			file: "ui:\n  fps: \"30\"\n  tape_size: 500.0\nsim:\n  speed: \"0.5\"\n",
			want: func(c *config.Config) {
				c.UI.FPS = 30
				c.UI.TapeSize = 500
				c.Sim.Speed = 0.5
			},
		},
		{
			name: "env overrides",
			env: []string{
				"TRADECONSOLE_DATA_DIR=/srv/tc",
				"TRADECONSOLE_SIM_SPEED=50",
				"TRADECONSOLE_SYMBOLS=BTCUSDT,ETHUSDT,SOLUSDT",
				"TRADECONSOLE_TIMEFRAMES=1m",
				"TRADECONSOLE_UI_TIMEFRAME=1m",
				"TRADECONSOLE_STORAGE_FLUSH_INTERVAL=1s",
				"TRADECONSOLE_LOG_LEVEL=warn",
			},
			want: func(c *config.Config) {
				c.DataDir = "/srv/tc"
				c.Sim.Speed = 50
				c.Symbols = []market.Symbol{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
				c.Timeframes = []market.Timeframe{market.TF1m}
				c.Storage.FlushInterval = time.Second
				c.Log.Level = "warn"
			},
		},
		{
			name: "env overrides file",
			file: "data_dir: /from/file\nsim:\n  speed: 2\n  seed: 9\n",
			env:  []string{"TRADECONSOLE_DATA_DIR=/from/env", "TRADECONSOLE_SIM_SPEED=3"},
			want: func(c *config.Config) {
				c.DataDir = "/from/env"
				c.Sim.Speed = 3
				c.Sim.Seed = 9
			},
		},
		{
			name: "other and empty variables are ignored",
			env:  []string{"HOME=/root", "TRADECONSOLE_DATA_DIR=", "XTRADECONSOLE_FOO=1", "tradeconsole_foo=1", "NOEQUALS"},
			want: func(c *config.Config) {},
		},
		{
			name: "set overrides env and file",
			file: "exchange: sim\nsymbols: [BTCUSDT]\n",
			env:  []string{"TRADECONSOLE_SYMBOLS=ETHUSDT", "TRADECONSOLE_SIM_SPEED=3"},
			set:  map[string]string{"symbols": "BTCUSDT,SOLUSDT", "sim.speed": "4", "exchange": "sim"},
			want: func(c *config.Config) {
				c.Symbols = []market.Symbol{"BTCUSDT", "SOLUSDT"}
				c.Sim.Speed = 4
			},
		},
		{
			name: "set can repair a bad env value",
			env:  []string{"TRADECONSOLE_UI_FPS=0"},
			set:  map[string]string{"ui.fps": "20"},
			want: func(c *config.Config) { c.UI.FPS = 20 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := config.Options{Env: tt.env, Set: tt.set}
			if opt.Env == nil {
				opt.Env = noEnv
			}
			if tt.file != "" {
				opt.File = writeFile(t, "c.yaml", tt.file)
			} else {
				t.Chdir(t.TempDir())
			}
			got, err := config.Load(opt)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := config.Default()
			tt.want(&want)
			if !sameConfig(t, got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		set  map[string]string
		want config.Problem // Reason: a substring of the reason; Source: "file" stands for the temp file
	}{
		{name: "bad timeframe", file: "timeframes: [1m, 7m, 1h]\n",
			want: config.Problem{Key: "timeframes[1]", Value: "7m", Reason: "not a supported timeframe; use one of 1s 5s", Source: "file"}},
		{name: "bad symbol", file: "symbols: [BTCUSDT, BTC-USDT]\n",
			want: config.Problem{Key: "symbols[1]", Value: "BTC-USDT", Reason: "only letters and digits are allowed", Source: "file"}},
		{name: "duplicate symbol", file: "symbols: [BTCUSDT, ETHUSDT, btcusdt]\n",
			want: config.Problem{Key: "symbols[2]", Value: "btcusdt", Reason: "duplicate of symbols[0]", Source: "file"}},
		{name: "duplicate timeframe", set: map[string]string{"timeframes": "1m,5m,1m"},
			want: config.Problem{Key: "timeframes[2]", Value: "1m", Reason: "duplicate of timeframes[0]", Source: "command line"}},
		{name: "replay without a file", set: map[string]string{"exchange": "replay"},
			want: config.Problem{Key: "replay.file", Value: "", Reason: "is required with exchange replay", Source: ""}},
		{name: "alert threshold out of range", file: "orderflow: {alert_obi: 1.5}\n",
			want: config.Problem{Key: "orderflow.alert_obi", Value: "1.5", Reason: "must be from 0 to 1", Source: "file"}},
		{name: "bad cvd reset", env: []string{"TRADECONSOLE_ORDERFLOW_CVD_RESET=weekly"},
			want: config.Problem{Key: "orderflow.cvd_reset", Value: "weekly", Reason: "must be one of session, daily", Source: "env TRADECONSOLE_ORDERFLOW_CVD_RESET"}},
		{name: "record_orderflow not a bool", file: "record_orderflow: maybe\n",
			want: config.Problem{Key: "record_orderflow", Value: "maybe", Reason: "must be true or false", Source: "file"}},
		{name: "replay speed zero", file: "replay: {speed: 0}\n",
			want: config.Problem{Key: "replay.speed", Value: "0", Reason: "must be greater than 0", Source: "file"}},
		{name: "empty symbols list", file: "symbols: []\n",
			want: config.Problem{Key: "symbols", Value: "[]", Reason: "must list at least one symbol", Source: "file"}},
		{name: "empty symbols string", set: map[string]string{"symbols": " "},
			want: config.Problem{Key: "symbols", Value: " ", Reason: "must list at least one symbol", Source: "command line"}},
		{name: "empty timeframes", file: "timeframes: []\n",
			want: config.Problem{Key: "timeframes", Value: "[]", Reason: "must list at least one timeframe", Source: "file"}},
		{name: "blank item in a comma list", env: []string{"TRADECONSOLE_SYMBOLS=BTCUSDT,"},
			want: config.Problem{Key: "symbols[1]", Reason: "symbol is empty", Source: "env TRADECONSOLE_SYMBOLS"}},
		{name: "unknown exchange", set: map[string]string{"exchange": "kraken"},
			want: config.Problem{Key: "exchange", Value: "kraken", Reason: "must be one of sim, replay, bybit, okx, binance", Source: "command line"}},
		{name: "negative speed", env: []string{"TRADECONSOLE_SIM_SPEED=-1"},
			want: config.Problem{Key: "sim.speed", Value: "-1", Reason: "must be greater than 0", Source: "env TRADECONSOLE_SIM_SPEED"}},
		{name: "zero trade rate", file: "sim: {trade_rate: 0}\n",
			want: config.Problem{Key: "sim.trade_rate", Value: "0", Reason: "must be greater than 0", Source: "file"}},
		{name: "speed too high", file: "sim: {speed: 10001}\n",
			want: config.Problem{Key: "sim.speed", Value: "10001", Reason: "must be at most 10000", Source: "file"}},
		{name: "speed not finite", env: []string{"TRADECONSOLE_SIM_SPEED=NaN"},
			want: config.Problem{Key: "sim.speed", Value: "NaN", Reason: "must be a finite number", Source: "env TRADECONSOLE_SIM_SPEED"}},
		{name: "fps 0", file: "ui:\n  fps: 0\n",
			want: config.Problem{Key: "ui.fps", Value: "0", Reason: "must be a whole number from 1 to 60", Source: "file"}},
		{name: "int out of int64", file: "storage: {batch_size: 99999999999999999999}\n",
			want: config.Problem{Key: "storage.batch_size", Value: "1e+20", Reason: "from 1 to 100000", Source: "file"}},
		{name: "history days negative", set: map[string]string{"sim.history_days": "-1"},
			want: config.Problem{Key: "sim.history_days", Value: "-1", Reason: "from 0 to 3650", Source: "command line"}},
		{name: "ui.timeframe not in timeframes", file: "timeframes: [5m, 1h]\nui: {timeframe: 1m}\n",
			want: config.Problem{Key: "ui.timeframe", Value: "1m", Reason: "must be one of the configured timeframes (5m 1h)", Source: "file"}},
		{name: "ui.timeframe not in env timeframes", env: []string{"TRADECONSOLE_TIMEFRAMES=5m,1h"},
			want: config.Problem{Key: "ui.timeframe", Value: "1m", Reason: "must be one of the configured timeframes (5m 1h)"}},
		{name: "ui.timeframe unsupported", file: "ui: {timeframe: 2m}\n",
			want: config.Problem{Key: "ui.timeframe", Value: "2m", Reason: "not a supported timeframe", Source: "file"}},
		{name: "unknown key", file: "sim:\n  sped: 5\n",
			want: config.Problem{Key: "sim.sped", Value: "5", Reason: "unknown key; did you mean sim.speed?", Source: "file"}},
		{name: "unknown top-level key", file: "colour: red\n",
			want: config.Problem{Key: "colour", Value: "red", Reason: "unknown key", Source: "file"}},
		{name: "unknown set key", set: map[string]string{"exchnage": "sim"},
			want: config.Problem{Key: "exchnage", Value: "sim", Reason: "unknown key; did you mean exchange?", Source: "command line"}},
		{name: "wrong type speed", file: "sim:\n  speed: fast\n",
			want: config.Problem{Key: "sim.speed", Value: "fast", Reason: "must be a number", Source: "file"}},
		{name: "wrong type fps", env: []string{"TRADECONSOLE_UI_FPS=10x"},
			want: config.Problem{Key: "ui.fps", Value: "10x", Reason: "must be a whole number", Source: "env TRADECONSOLE_UI_FPS"}},
		{name: "fractional fps", file: "ui: {fps: 2.5}\n",
			want: config.Problem{Key: "ui.fps", Value: "2.5", Reason: "must be a whole number", Source: "file"}},
		{name: "duration without unit", file: "candle_grace: 2\n",
			want: config.Problem{Key: "candle_grace", Value: "2", Reason: "must be a duration with a unit", Source: "file"}},
		{name: "duration out of range", set: map[string]string{"candle_grace": "2m"},
			want: config.Problem{Key: "candle_grace", Value: "2m", Reason: "must be from 0s to 1m", Source: "command line"}},
		{name: "duration below minimum", file: "sim: {book_interval: 0s}\n",
			want: config.Problem{Key: "sim.book_interval", Value: "0s", Reason: "must be at least 1ms", Source: "file"}},
		{name: "bad log level", file: "log: {level: verbose}\n",
			want: config.Problem{Key: "log.level", Value: "verbose", Reason: "must be one of debug, info, warn, error", Source: "file"}},
		{name: "empty data dir", set: map[string]string{"data_dir": ""},
			want: config.Problem{Key: "data_dir", Reason: "must not be empty", Source: "command line"}},
		{name: "list for a single value", file: "exchange: [sim]\n",
			want: config.Problem{Key: "exchange", Value: "[sim]", Reason: "must be a single value, not a list", Source: "file"}},
		{name: "section for a single value", file: "data_dir:\n  path: /x\n",
			want: config.Problem{Key: "data_dir", Reason: "must be a value, not a section of keys", Source: "file"}},
		{name: "section for a list", file: "symbols:\n  a: BTCUSDT\n",
			want: config.Problem{Key: "symbols", Reason: "must be a value, not a section of keys", Source: "file"}},
		{name: "value for a section", file: "sim: fast\n",
			want: config.Problem{Key: "sim", Value: "fast", Reason: "must be a section holding seed, speed", Source: "file"}},
		{name: "list item not a symbol", file: "symbols: [[BTCUSDT]]\n",
			want: config.Problem{Key: "symbols[0]", Value: "[BTCUSDT]", Reason: "must be a single symbol", Source: "file"}},
		{name: "stall_after not above heartbeat", file: "bot_runner: {heartbeat: 5s, stall_after: 5s}\n",
			want: config.Problem{Key: "bot_runner.stall_after", Value: "5s", Reason: "must be greater than bot_runner.heartbeat (5s)", Source: "file"}},
		{name: "heartbeat from env not below default stall_after", env: []string{"TRADECONSOLE_BOT_RUNNER_HEARTBEAT=20s"},
			want: config.Problem{Key: "bot_runner.heartbeat", Value: "20s", Reason: "must be less than bot_runner.stall_after (15s)", Source: "env TRADECONSOLE_BOT_RUNNER_HEARTBEAT"}},
		{name: "heartbeat out of range", file: "bot_runner: {heartbeat: 50ms}\n",
			want: config.Problem{Key: "bot_runner.heartbeat", Value: "50ms", Reason: "must be from 100ms to 1m", Source: "file"}},
		{name: "restart window out of range", set: map[string]string{"bot_runner.restart_window": "25h"},
			want: config.Problem{Key: "bot_runner.restart_window", Value: "25h", Reason: "must be from 1m to 24h", Source: "command line"}},
		{name: "max restarts out of range", file: "bot_runner: {max_restarts: 101}\n",
			want: config.Problem{Key: "bot_runner.max_restarts", Value: "101", Reason: "from 0 to 100", Source: "file"}},
		{name: "warmup negative", file: "bot_runner: {warmup: -1}\n",
			want: config.Problem{Key: "bot_runner.warmup", Value: "-1", Reason: "from 0 to 5000", Source: "file"}},
		{name: "unknown bot_runner key", file: "bot_runner: {heartbeats: 1s}\n",
			want: config.Problem{Key: "bot_runner.heartbeats", Value: "1s", Reason: "did you mean bot_runner.heartbeat?", Source: "file"}},
		{name: "bots a scalar", file: "bots: demo\n",
			want: config.Problem{Key: "bots", Value: "demo", Reason: "must be a list of bot definitions", Source: "file"}},
		{name: "bots a mapping", file: "bots:\n  demo: {strategy: rsi}\n",
			want: config.Problem{Key: "bots", Reason: "must be a list of bot definitions (- name: ...), not a section of keys", Source: "file"}},
		{name: "bots an empty mapping", file: "bots: {}\n",
			want: config.Problem{Key: "bots", Reason: "must be a list of bot definitions", Source: "file"}},
		{name: "bot name not text", file: "bots: [{name: [a]}]\n",
			want: config.Problem{Key: "bots[0].name", Value: "[a]", Reason: "must be text", Source: "file"}},
		{name: "bot name blank", file: "bots: [{name: ' '}]\n",
			want: config.Problem{Key: "bots[0].name", Value: " ", Reason: "must not be empty", Source: "file"}},
		{name: "bot value not finite", file: "bots: [{name: a, params: {x: .inf}}]\n",
			want: config.Problem{Key: "bots[0].params.x", Value: "+Inf", Reason: "must be a finite number", Source: "file"}},
		{name: "bots from env", env: []string{"TRADECONSOLE_BOTS=[{name: a}]"},
			want: config.Problem{Key: "bots", Reason: "set bots in the config file or in bots_dir, not in the environment", Source: "env TRADECONSOLE_BOTS"}},
		{name: "bots from the command line", set: map[string]string{"bots": "a"},
			want: config.Problem{Key: "bots", Reason: "set bots in the config file or in bots_dir, not on the command line", Source: "command line"}},
		{name: "unknown env var", env: []string{"TRADECONSOLE_SIM_SPED=5"},
			want: config.Problem{Key: "TRADECONSOLE_SIM_SPED", Reason: "unknown environment variable: it names no config key; did you mean TRADECONSOLE_SIM_SPEED?"}},
		{name: "unknown env var hides its value", env: []string{"TRADECONSOLE_BYBIT_SECRET=hunter2"},
			want: config.Problem{Key: "TRADECONSOLE_BYBIT_SECRET", Reason: "unknown environment variable: it names no config key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			opt := config.Options{Env: tt.env, Set: tt.set}
			if opt.Env == nil {
				opt.Env = noEnv
			}
			if tt.file != "" {
				opt.File = writeFile(t, "bad.yaml", tt.file)
			}
			_, err := config.Load(opt)
			var ve *config.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load error = %v (%T), want *ValidationError", err, err)
			}
			if !config.IsUsageError(err) {
				t.Error("IsUsageError = false")
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ve.Problems), err)
			}
			p, want := ve.Problems[0], tt.want
			if want.Source == "file" {
				want.Source = "file " + opt.File
			}
			if p.Key != want.Key || p.Value != want.Value || p.Source != want.Source || !strings.Contains(p.Reason, want.Reason) {
				t.Fatalf("problem = %#v\nwant      %#v (Reason as substring)", p, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the value of an unknown variable: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("one problem must give one line: %q", err)
			}
		})
	}
}

func TestNoSuggestionForFarKeys(t *testing.T) {
	path := writeFile(t, "c.yaml", "colour: red\nsim: {speeed: 2}\n")
	_, err := config.Load(config.Options{File: path, Env: []string{"TRADECONSOLE_WHATEVER=1"}})
	want := strings.Join([]string{
		`config: colour = "red": unknown key (file ` + path + `)`,
		`config: sim.speeed = "2": unknown key; did you mean sim.speed? (file ` + path + `)`,
		`config: TRADECONSOLE_WHATEVER: unknown environment variable: it names no config key`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestProblemText(t *testing.T) {
	_, err := config.Load(config.Options{Env: []string{"TRADECONSOLE_SIM_SPEED=-1"}, File: writeFile(t, "c.yaml", "")})
	want := `config: sim.speed = "-1": must be greater than 0 (env TRADECONSOLE_SIM_SPEED)`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func TestEveryBadKeyReportedAtOnce(t *testing.T) {
	path := writeFile(t, "four.yaml", `exchange: kraken
timeframes: [1m, 7m]
sim:
  sped: 2
ui:
  fps: 10x
`)
	_, err := config.Load(config.Options{File: path, Env: noEnv})
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	want := strings.Join([]string{
		`config: sim.sped = "2": unknown key; did you mean sim.speed? (file ` + path + `)`,
		`config: exchange = "kraken": must be one of sim, replay, bybit, okx, binance (file ` + path + `)`,
		`config: timeframes[1] = "7m": not a supported timeframe; use one of 1s 5s 15s 30s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w (file ` + path + `)`,
		`config: ui.fps = "10x": must be a whole number (file ` + path + `)`,
	}, "\n")
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
	if len(ve.Problems) != 4 {
		t.Fatalf("got %d problems, want 4", len(ve.Problems))
	}
}

func TestProblemsFromAllLayersTogether(t *testing.T) {
	path := writeFile(t, "c.yaml", "ui: {fps: 0}\n")
	_, err := config.Load(config.Options{
		File: path,
		Env:  []string{"TRADECONSOLE_SIM_SPEED=fast", "TRADECONSOLE_NOPE=1"},
		Set:  map[string]string{"symbols": "BTC/USDT", "bogus": "1"},
	})
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v", err)
	}
	var keys []string
	for _, p := range ve.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"TRADECONSOLE_NOPE", "bogus", "symbols[0]", "sim.speed", "ui.fps"}
	if !slices.Equal(keys, want) {
		t.Fatalf("problem keys = %v, want %v\n%v", keys, want, err)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		file     string
		content  string // written to file when not ""
		wantLine int
		wantText []string
	}{
		{name: "missing explicit file", file: filepath.Join(dir, "nope.yaml"),
			wantText: []string{`config: config file "` + filepath.Join(dir, "nope.yaml") + `"`, "no such file or directory"}},
		{name: "directory", file: dir,
			wantText: []string{`config: config file "` + dir + `"`}},
		{name: "yaml syntax error", file: filepath.Join(dir, "syntax.yaml"),
			content:  "data_dir: ./data\nsim:\n  speed: 1\n   seed: 2\n",
			wantLine: 4,
			wantText: []string{`config: config file "` + filepath.Join(dir, "syntax.yaml") + `": invalid YAML: line 4:`}},
		{name: "unclosed list", file: filepath.Join(dir, "unclosed.yaml"),
			content:  "symbols: [BTCUSDT,\n",
			wantLine: 1,
			wantText: []string{`"` + filepath.Join(dir, "unclosed.yaml") + `": invalid YAML:`}},
		{name: "top level is a list", file: filepath.Join(dir, "list.yaml"),
			content:  "- a\n- b\n",
			wantLine: 1,
			wantText: []string{`"` + filepath.Join(dir, "list.yaml") + `": invalid YAML: line 1: cannot unmarshal`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != "" {
				if err := os.WriteFile(tt.file, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := config.Load(config.Options{File: tt.file, Env: noEnv})
			var fe *config.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load error = %v (%T), want *FileError", err, err)
			}
			if !config.IsUsageError(err) {
				t.Error("IsUsageError = false")
			}
			if fe.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (%v)", fe.Line, tt.wantLine, err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestIsUsageError(t *testing.T) {
	if config.IsUsageError(nil) || config.IsUsageError(errors.New("disk on fire")) {
		t.Fatal("IsUsageError true for a non-config error")
	}
	if !config.IsUsageError(&config.ValidationError{Problems: []config.Problem{{Key: "x", Reason: "y"}}}) {
		t.Fatal("IsUsageError false for *ValidationError")
	}
}

func TestPaths(t *testing.T) {
	c := config.Default()
	c.DataDir = filepath.Join(t.TempDir(), "a", "b")
	if got, want := c.DBPath(), filepath.Join(c.DataDir, "tradeconsole.db"); got != want {
		t.Errorf("DBPath = %q, want %q", got, want)
	}
	if got, want := c.LogPath(), filepath.Join(c.DataDir, "tradeconsole.log"); got != want {
		t.Errorf("LogPath = %q, want %q", got, want)
	}
	c.Log.File = "/var/log/tc.log"
	if got := c.LogPath(); got != "/var/log/tc.log" {
		t.Errorf("LogPath with log.file = %q", got)
	}
	if got, want := c.BotsPath(), filepath.Join(c.DataDir, "bots"); got != want {
		t.Errorf("BotsPath = %q, want %q", got, want)
	}
	c.BotsDir = "/etc/tc/bots"
	if got := c.BotsPath(); got != "/etc/tc/bots" {
		t.Errorf("BotsPath with bots_dir = %q", got)
	}
	if err := c.EnsureDataDir(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(c.DataDir); err != nil || !fi.IsDir() {
		t.Fatalf("data dir not created: %v", err)
	}

	// A data dir under a regular file cannot be created; the error names it.
	file := writeFile(t, "plain", "x")
	c.DataDir = filepath.Join(file, "sub")
	err := c.EnsureDataDir()
	if err == nil || !strings.Contains(err.Error(), c.DataDir) || config.IsUsageError(err) {
		t.Fatalf("EnsureDataDir = %v, want a runtime error naming %s", err, c.DataDir)
	}
}

func TestKeysAndEnvNames(t *testing.T) {
	seen := map[string]string{}
	for _, k := range config.Keys() {
		n := config.EnvName(k)
		if other, dup := seen[n]; dup {
			t.Errorf("keys %s and %s share env name %s", k, other, n)
		}
		seen[n] = k
	}
	if got := config.EnvName("sim.book_interval"); got != "TRADECONSOLE_SIM_BOOK_INTERVAL" {
		t.Errorf("EnvName = %s", got)
	}
	// Every key can be set from the environment.
	for _, k := range config.Keys() {
		_, err := config.Load(config.Options{File: writeFile(t, "c.yaml", ""), Env: []string{config.EnvName(k) + "=@@"}})
		var ve *config.ValidationError
		if k == "log.file" || k == "data_dir" || k == "replay.file" || k == "bots_dir" { // any text is a valid path
			if err != nil {
				t.Errorf("%s from env: %v", k, err)
			}
			continue
		}
		if !errors.As(err, &ve) || ve.Problems[0].Source != "env "+config.EnvName(k) {
			t.Errorf("%s=@@: error %v, want a problem from %s", config.EnvName(k), err, config.EnvName(k))
		}
	}
}

func TestLogLevel(t *testing.T) {
	for _, lv := range []string{"debug", "info", "warn", "error"} {
		c, err := config.Load(config.Options{File: writeFile(t, "c.yaml", "log: {level: "+lv+"}\n"), Env: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Log.SlogLevel().String(); !strings.EqualFold(got, lv) {
			t.Errorf("level %s → %s", lv, got)
		}
	}
}

func TestExchangesIsACopy(t *testing.T) {
	ex := config.Exchanges()
	if !slices.Contains(ex, "sim") {
		t.Fatalf("Exchanges() = %v", ex)
	}
	ex[0] = "evil"
	if config.Exchanges()[0] == "evil" {
		t.Fatal("Exchanges() exposes the package slice")
	}
}

// FuzzLoadFile checks that no file content makes Load panic, and that every error is a
// usage error. `go test` runs the seeds; `go test -fuzz FuzzLoadFile` explores.
func FuzzLoadFile(f *testing.F) {
	for _, s := range []string{
		"", "{}", "[]", "null", "~", "sim:", "sim: []", "sim: {speed: [1, 2]}", "symbols: {a: b}",
		"symbols: [null, 1, 2.5, true, {a: 1}]", "timeframes: [[1m]]", "1: 2", "? [a]\n: b",
		"a: &x [*x]", "ui: {fps: 1e400}", "sim: {seed: 1e30}", "sim: {speed: .inf}", "sim: {speed: .nan}",
		"storage: {batch_size: -99999999999999999999}", "candle_grace: 99999999999h",
		"data_dir: {a: {b: c}}", "log: {level: null, file: 7}", "\t", "\"", "key: 'unterminated",
		"sim.speed: 3", "SIM: {SPEED: 2}", "ui: {timeframe: [1m]}", "exchange: !!binary aGVsbG8=",
		"bots: [~, 1, [a], {name: a}, {name: a}, {name: {b: c}}]", "bots: [{name: a, params: {1: .nan, [x]: y}}]",
		"bots: {}", "bots: [{}]", "bots: [{name: a, p: &y [*y]}]", "bot_runner: {heartbeat: 1m, stall_after: 1s}",
		"bots: [{name: a, when: 2024-01-01T00:00:00Z, bin: !!binary aGVsbG8=}]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "f.yaml")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(config.Options{File: path, Env: noEnv})
		if err != nil && !config.IsUsageError(err) {
			t.Fatalf("error is not a usage error: %v", err)
		}
	})
}

func TestBotsProblemsReportedAtOnce(t *testing.T) {
	path := writeFile(t, "bots.yaml", `bots:
  - name: x
    strategy: rsi
  - [not, a, mapping]
  - strategy: macd
  - name: x
    strategy: sma_cross
bot_runner:
  heartbeat: 10s
  stall_after: 10s
`)
	_, err := config.Load(config.Options{File: path, Env: noEnv})
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	want := strings.Join([]string{
		`config: bots[1] = "[not, a, mapping]": must be a bot definition, a mapping like {name: ..., strategy: ...} (file ` + path + `)`,
		`config: bots[2].name: missing (file ` + path + `)`,
		`config: bots[3].name = "x": duplicate of bots[0] (file ` + path + `)`,
		`config: bot_runner.stall_after = "10s": must be greater than bot_runner.heartbeat (10s), or every bot would count as stalled (file ` + path + `)`,
	}, "\n")
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
	if len(ve.Problems) != 4 {
		t.Fatalf("got %d problems, want 4", len(ve.Problems))
	}
}

func TestBotsValuesAreJSONFriendly(t *testing.T) {
	for name, content := range map[string]string{
		"c.yaml": `bots:
  - name: nested
    strategy: sma_cross
    params:
      fast: 5
      slow: 20.5
      deep: {list: [1, {k: v}], flag: true}
    allow_short: true
    timeout: 4h
  - name: second
`,
		"c.json": `{"bots": [{"name": "nested", "strategy": "sma_cross",
  "params": {"fast": 5, "slow": 20.5, "deep": {"list": [1, {"k": "v"}], "flag": true}},
  "allow_short": true, "timeout": "4h"}, {"name": "second"}]}`,
		"c.toml": `[[bots]]
name = "nested"
strategy = "sma_cross"
allow_short = true
timeout = "4h"
[bots.params]
fast = 5
slow = 20.5
[bots.params.deep]
list = [1, {k = "v"}]
flag = true
[[bots]]
name = "second"
`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := config.Load(config.Options{File: writeFile(t, name, content), Env: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Bots) != 2 || c.Bots[0]["name"] != "nested" || c.Bots[1]["name"] != "second" {
				t.Fatalf("Bots = %#v", c.Bots)
			}
			params, ok := c.Bots[0]["params"].(map[string]any)
			if !ok {
				t.Fatalf("params is %T, want map[string]any", c.Bots[0]["params"])
			}
			deep, ok := params["deep"].(map[string]any)
			if !ok {
				t.Fatalf("params.deep is %T, want map[string]any", params["deep"])
			}
			list, ok := deep["list"].([]any)
			if !ok || len(list) != 2 {
				t.Fatalf("params.deep.list is %#v, want a []any of 2", deep["list"])
			}
			if _, ok := list[1].(map[string]any); !ok {
				t.Fatalf("params.deep.list[1] is %T, want map[string]any", list[1])
			}
			js, err := json.Marshal(c.Bots)
			if err != nil {
				t.Fatalf("json.Marshal(Bots): %v", err)
			}
			want := `[{"allow_short":true,"name":"nested","params":{"deep":{"flag":true,"list":[1,{"k":"v"}]},"fast":5,"slow":20.5},` +
				`"strategy":"sma_cross","timeout":"4h"},{"name":"second"}]`
			if string(js) != want {
				t.Fatalf("json =\n%s\nwant\n%s", js, want)
			}
		})
	}
}
