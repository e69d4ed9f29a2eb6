// Package config loads tradeconsole's configuration into a typed, validated Config.
//
// Layers, lowest to highest precedence: built-in defaults (Default), the YAML config file,
// TRADECONSOLE_* environment variables, command-line overrides (Options.Set). Viper merges
// the layers; this package then decodes and checks every key itself, so that one
// ValidationError reports every bad key at once, each named by its full path and source.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
)

// DefaultFile is the config file Load uses, relative to the working directory, when
// Options.File is empty. When it does not exist the built-in defaults apply.
const DefaultFile = "config.yaml"

// EnvPrefix starts every environment variable Load looks at. The rest of the name is the key
// path upper-cased with dots turned into underscores: sim.speed → TRADECONSOLE_SIM_SPEED.
const EnvPrefix = "TRADECONSOLE_"

// exchanges is the set of venues the exchange key accepts.
var exchanges = append([]string{"sim", "replay"}, Venues...)

// Venues are the real exchanges among them (venue.Names).
var Venues = venue.Names()

// Exchanges lists the venue names the exchange key accepts.
func Exchanges() []string { return slices.Clone(exchanges) }

// logLevels are the accepted values of log.level.
var logLevels = []string{"debug", "info", "warn", "error"}

// Config is the whole validated configuration. See config.yaml for every key.
type Config struct {
	DataDir     string             // data_dir: directory of tradeconsole.db (and the log file by default)
	Exchange    string             // exchange: the venue feeding the console
	Symbols     []market.Symbol    // symbols: instruments to follow; non-empty, no duplicates
	Timeframes  []market.Timeframe // timeframes: candle intervals built; non-empty, no duplicates, ascending
	CandleGrace time.Duration      // candle_grace: how long after its end a candle waits for late trades
	// RecordOrderflow (record_orderflow) records book snapshots and trades into order-flow files
	// under <data_dir>/orderflow/.
	RecordOrderflow bool

	Log       LogConfig
	Orderflow OrderflowConfig
	Sim       SimConfig
	Replay    ReplayConfig
	Venue     VenueConfig
	Bybit     BybitConfig
	OKX       OKXConfig
	Binance   BinanceConfig
	Storage   StorageConfig
	Jobs      JobsConfig
	UI        UIConfig

	// BotsDir (bots_dir) is the directory of bot definitions, one JSON file per bot (*.json);
	// "" means <data_dir>/bots. BotsPath gives the effective directory.
	BotsDir   string
	BotRunner BotRunnerConfig
	// Bots (bots) are the bot definitions of the config file, in order. The engine owns their
	// schema (engine.BotSpec) and checks them; here each is known to be a mapping with a
	// non-empty name unique among them. Values are JSON-friendly — maps are map[string]any,
	// lists []any, numbers int or float64 — so json.Marshal of an entry gives the bot's JSON.
	// Keys are lower case (viper folds the case of every key in a config file).
	Bots []map[string]any
}

// LogConfig is the log section.
type LogConfig struct {
	Level string // log.level: debug | info | warn | error
	File  string // log.file: "" means <data_dir>/tradeconsole.log (console mode)
}

// OrderflowConfig is the orderflow section: books, OBI, CVD, alerts and recording.
type OrderflowConfig struct {
	Depth            int           // orderflow.depth: levels per side in OBI; 0 = all
	PublishInterval  time.Duration // orderflow.publish_interval: least time between updates published; 0 = every book update
	SnapshotInterval time.Duration // orderflow.snapshot_interval: time between recorded snapshots
	AlertOBI         float64       // orderflow.alert_obi: |OBI| that raises an alert; 0 = off
	CVDReset         string        // orderflow.cvd_reset: session | daily
}

// ReplayConfig is the replay section: the replay feed (exchange: replay).
type ReplayConfig struct {
	File  string  // replay.file: the order-flow file to play
	Speed float64 // replay.speed: replay time per wall-clock time
}

// VenueConfig is the venue section: what every real exchange feed shares.
type VenueConfig struct {
	HistoryDays int           // venue.history_days: days of 1m klines fetched at a first start (later starts resume)
	KlineLag    time.Duration // venue.kline_lag: how late a minute's kline may be before it is fetched over REST
}

// BybitConfig is the bybit section (exchange: bybit). Endpoints point at testnets or fakes.
type BybitConfig struct {
	Category  string // bybit.category: spot | linear
	WSURL     string // bybit.ws_url: "" = wss://stream.bybit.com/v5/public/<category>
	RESTURL   string // bybit.rest_url
	BookDepth int    // bybit.book_depth: 1 | 50 | 200 | 1000
}

// OKXConfig is the okx section (exchange: okx).
type OKXConfig struct {
	InstType      string // okx.inst_type: spot | swap (BTCUSDT → BTC-USDT or BTC-USDT-SWAP)
	PublicWSURL   string // okx.public_ws_url: trades and books
	BusinessWSURL string // okx.business_ws_url: candles
	RESTURL       string // okx.rest_url
	Simulated     bool   // okx.simulated: send x-simulated-trading: 1 (demo trading)
}

// BinanceConfig is the binance section (exchange: binance; spot).
type BinanceConfig struct {
	WSURL   string // binance.ws_url: the combined-stream endpoint (…/stream)
	RESTURL string // binance.rest_url
}

// SimConfig is the sim section: the simulated exchange.
type SimConfig struct {
	Seed         int64         // sim.seed: random seed; the same seed gives the same market
	Speed        float64       // sim.speed: simulated time per wall-clock time
	TradeRate    float64       // sim.trade_rate: mean trades per second per symbol
	BookLevels   int           // sim.book_levels: price levels per book side
	BookInterval time.Duration // sim.book_interval: time between book updates
	HistoryDays  int           // sim.history_days: days of candle history generated at start
}

// StorageConfig is the storage section: the SQLite database.
type StorageConfig struct {
	BatchSize     int           // storage.batch_size: rows per write transaction at most
	FlushInterval time.Duration // storage.flush_interval: longest a row waits before it is written
	ReadPool      int           // storage.read_pool: read connections
	BusyTimeout   time.Duration // storage.busy_timeout: SQLite busy_timeout
}

// JobsConfig is the jobs section: backtests, sweeps and order-flow runs in the background.
type JobsConfig struct {
	Workers int // jobs.workers: jobs run at once; 0 = one per CPU core
}

// BotRunnerConfig is the bot_runner section: how running bots are supervised.
type BotRunnerConfig struct {
	Heartbeat           time.Duration // bot_runner.heartbeat: how often each running bot writes its heartbeat
	StallAfter          time.Duration // bot_runner.stall_after: no heartbeat for this long = stalled (restarted); > Heartbeat
	PerformanceInterval time.Duration // bot_runner.performance_interval: time between bot_performance snapshots
	MaxOpenPositions    int           // bot_runner.max_open_positions: positions open at once across all bots; 0 = no limit
	Warmup              int           // bot_runner.warmup: stored candles fed to a bot's strategy at start
	MaxRestarts         int           // bot_runner.max_restarts: restarts allowed in any RestartWindow, then the bot is failed
	RestartWindow       time.Duration // bot_runner.restart_window: the rolling window MaxRestarts counts in
}

// BotsPath is the directory of bot definition files: bots_dir, or <data_dir>/bots when that
// is empty.
func (c Config) BotsPath() string {
	if c.BotsDir != "" {
		return c.BotsDir
	}
	return filepath.Join(c.DataDir, "bots")
}

// ReportDir is where HTML reports of jobs go, <data_dir>/reports.
func (c Config) ReportDir() string { return filepath.Join(c.DataDir, "reports") }

// UIConfig is the ui section: the terminal console.
type UIConfig struct {
	FPS          int              // ui.fps: most redraws per second
	Timeframe    market.Timeframe // ui.timeframe: timeframe shown first; one of Timeframes
	TapeSize     int              // ui.tape_size: trades kept in the trades tape
	ChartCandles int              // ui.chart_candles: candles the Market pane keeps
	FlowWindow   time.Duration    // ui.flow_window: bar width the Order flow tab shows first
}

// Default is the built-in configuration; config.yaml at the repository root documents it
// and must stay equal to it.
func Default() Config {
	return Config{
		DataDir:     "./data",
		Exchange:    "sim",
		Symbols:     []market.Symbol{"BTCUSDT", "ETHUSDT"},
		Timeframes:  []market.Timeframe{market.TF5s, market.TF1m, market.TF5m, market.TF15m, market.TF1h},
		CandleGrace: 2 * time.Second,
		Log: LogConfig{
			Level: "info",
			File:  "",
		},
		Orderflow: OrderflowConfig{
			Depth:            20,
			PublishInterval:  0,
			SnapshotInterval: time.Second,
			AlertOBI:         0.7,
			CVDReset:         "session",
		},
		Sim: SimConfig{
			Seed:         1,
			Speed:        1,
			TradeRate:    5,
			BookLevels:   50,
			BookInterval: 100 * time.Millisecond,
			HistoryDays:  30,
		},
		Replay: ReplayConfig{
			File:  "",
			Speed: 1,
		},
		Venue: VenueConfig{
			HistoryDays: 2,
			KlineLag:    15 * time.Second,
		},
		Bybit: BybitConfig{
			Category:  "spot",
			WSURL:     "",
			RESTURL:   "https://api.bybit.com",
			BookDepth: 50,
		},
		OKX: OKXConfig{
			InstType:      "spot",
			PublicWSURL:   "wss://ws.okx.com:8443/ws/v5/public",
			BusinessWSURL: "wss://ws.okx.com:8443/ws/v5/business",
			RESTURL:       "https://www.okx.com",
			Simulated:     false,
		},
		Binance: BinanceConfig{
			WSURL:   "wss://stream.binance.com:9443/stream",
			RESTURL: "https://api.binance.com",
		},
		Storage: StorageConfig{
			BatchSize:     1000,
			FlushInterval: 250 * time.Millisecond,
			ReadPool:      4,
			BusyTimeout:   5 * time.Second,
		},
		UI: UIConfig{
			FPS:          10,
			Timeframe:    market.TF1m,
			TapeSize:     200,
			ChartCandles: 300,
			FlowWindow:   time.Minute,
		},
		BotsDir: "",
		BotRunner: BotRunnerConfig{
			Heartbeat:           5 * time.Second,
			StallAfter:          15 * time.Second,
			PerformanceInterval: 10 * time.Second,
			MaxOpenPositions:    0,
			Warmup:              300,
			MaxRestarts:         3,
			RestartWindow:       time.Hour,
		},
		// Two demo bots. Numbers are written as a YAML file decodes them (int or float64),
		// so that config.yaml loads equal to Default.
		Bots: []map[string]any{
			{
				"name":      "demo-sma-btc",
				"strategy":  "sma_cross",
				"params":    map[string]any{"fast": 10, "slow": 30},
				"symbol":    "BTCUSDT",
				"timeframe": "1m",
				"balance":   10000,
			},
			{
				"name":        "demo-rsi-eth",
				"strategy":    "rsi",
				"symbol":      "ETHUSDT",
				"timeframe":   "5m",
				"balance":     10000,
				"take_profit": 0.02,
				"stop_loss":   0.01,
			},
		},
	}
}

// OrderflowDir is where recorded order-flow files go, <data_dir>/orderflow.
func (c Config) OrderflowDir() string { return filepath.Join(c.DataDir, "orderflow") }

// DBPath is the main database file, <data_dir>/tradeconsole.db.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "tradeconsole.db") }

// LogPath is the log file of console mode: log.file, or <data_dir>/tradeconsole.log when
// that is empty. (Headless mode logs to stderr; that choice is the caller's.)
func (c Config) LogPath() string {
	if c.Log.File != "" {
		return c.Log.File
	}
	return filepath.Join(c.DataDir, "tradeconsole.log")
}

// EnsureDataDir creates the data directory (and its parents) if it does not exist.
// Its errors are runtime failures, not usage errors.
func (c Config) EnsureDataDir() error {
	if c.DataDir == "" {
		return errors.New("config: data_dir is empty")
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return fmt.Errorf("config: cannot create data directory %q (data_dir): %w", c.DataDir, err)
	}
	return nil
}

// SlogLevel is log.level as a slog.Level (info for anything unexpected).
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Problem is one bad key.
type Problem struct {
	Key    string // full key path: "sim.speed", "timeframes[2]", or an environment variable name
	Value  string // the offending value as given ("" when there is none to show)
	Reason string // what is wrong, and what would be right
	Source string // where the value came from: "file config.yaml", "env TRADECONSOLE_SIM_SPEED", "command line"; "" for defaults
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString("config: ")
	b.WriteString(p.Key)
	if p.Value != "" {
		fmt.Fprintf(&b, " = %q", p.Value)
	}
	b.WriteString(": ")
	b.WriteString(p.Reason)
	if p.Source != "" {
		b.WriteString(" (")
		b.WriteString(p.Source)
		b.WriteString(")")
	}
	return b.String()
}

// ValidationError lists every problem Load found. Load returns it as *ValidationError.
type ValidationError struct {
	Problems []Problem
}

// Error is one line per problem, e.g.
//
//	config: sim.speed = "-1": must be greater than 0 (env TRADECONSOLE_SIM_SPEED)
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// FileError is a config file that cannot be read or parsed. Load returns it as *FileError.
type FileError struct {
	File string // the path as given
	Line int    // 1-based line of a syntax error, 0 when unknown
	Err  error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("config: config file %q: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// IsUsageError reports whether err comes from bad input to Load — a bad or missing config
// file, a bad key or value in any layer — which the command line maps to exit code 2.
func IsUsageError(err error) bool {
	var ve *ValidationError
	var fe *FileError
	return errors.As(err, &ve) || errors.As(err, &fe)
}
