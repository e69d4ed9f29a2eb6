// Command tradeconsole is a keyboard-driven terminal trading console for crypto markets.
// main wires config → storage → feeds → engine → tui; nothing else lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/feeds/replay"
	"github.com/tradeconsole/tradeconsole/feeds/sim"
	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/tui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// The engine is what the console shows.
var _ tui.Backend = (*engine.Engine)(nil)

// usageError marks bad input: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "tradeconsole:", err)
	var u usageError
	if errors.As(err, &u) || config.IsUsageError(err) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

type globalFlags struct {
	configFile string
	exchange   string
	symbols    string
	dataDir    string
	replayFile string
	speed      float64
	record     bool
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:           "tradeconsole",
		Short:         "A keyboard-driven terminal trading console for crypto markets",
		Long:          "tradeconsole runs market-data collectors and shows them in a tabbed terminal console.\nWith no configuration it runs on the built-in simulated exchange.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g)
			if err != nil {
				return err
			}
			return runConsole(cmd.Context(), cfg, stdin, stdout)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "configuration file (default ./config.yaml if present, else built-in defaults)")
	pf.StringVar(&g.exchange, "exchange", "", "exchange to connect to ("+strings.Join(config.Exchanges(), ", ")+")")
	pf.StringVar(&g.symbols, "symbols", "", "comma-separated symbols, e.g. BTCUSDT,ETHUSDT (with replay: a filter of the file's)")
	pf.StringVar(&g.dataDir, "data-dir", "", "directory holding tradeconsole.db and the log file")
	pf.StringVar(&g.replayFile, "replay-file", "", "order-flow file to play with --exchange replay")
	pf.Float64Var(&g.speed, "speed", 0, "speed of the simulated or replayed market (2 = twice real time)")
	pf.BoolVar(&g.record, "record-orderflow", false, "record books and trades into <data_dir>/orderflow/ files")

	var forDur time.Duration
	headless := &cobra.Command{
		Use:   "headless",
		Short: "Run the engine without a UI (logs to stderr); SIGINT/SIGTERM flush and exit 0",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g)
			if err != nil {
				return err
			}
			if forDur < 0 {
				return usageError{fmt.Errorf("--for %v: must not be negative", forDur)}
			}
			return runHeadless(cmd.Context(), cfg, forDur, stderr)
		},
	}
	headless.Flags().DurationVar(&forDur, "for", 0, "stop after this long (e.g. 10s); 0 runs until SIGINT/SIGTERM")

	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(stdout, "tradeconsole %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
	root.AddCommand(headless, versionCmd, newOrderflowCmd(stdout, stderr), newBacktestCmd(&g, stdout, stderr), newFetchCmd(stderr))
	return root
}

// noArgs rejects positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

// settings is the validated configuration plus what only the command line tells.
type settings struct {
	config.Config
	symbolsGiven bool // --symbols was given (with replay it filters the file's instruments)
}

func loadConfig(cmd *cobra.Command, g globalFlags) (settings, error) {
	cfg, err := loadConfigFile(cmd, g)
	return settings{Config: cfg, symbolsGiven: cmd.Flags().Changed("symbols")}, err
}

func loadConfigFile(cmd *cobra.Command, g globalFlags) (config.Config, error) {
	set := map[string]string{}
	flags := cmd.Flags()
	if flags.Changed("exchange") {
		set["exchange"] = g.exchange
	}
	if flags.Changed("symbols") {
		set["symbols"] = g.symbols
	}
	if flags.Changed("data-dir") {
		set["data_dir"] = g.dataDir
	}
	if flags.Changed("replay-file") {
		set["replay.file"] = g.replayFile
	}
	if flags.Changed("record-orderflow") {
		set["record_orderflow"] = fmt.Sprint(g.record)
	}
	cfg, err := config.Load(config.Options{File: g.configFile, Set: set})
	if err != nil {
		return cfg, err
	}
	if flags.Changed("speed") { // the speed of whichever feed the configuration selected
		key := "sim.speed"
		if cfg.Exchange == "replay" {
			key = "replay.speed"
		}
		set[key] = fmt.Sprint(g.speed)
		if cfg, err = config.Load(config.Options{File: g.configFile, Set: set}); err != nil {
			return cfg, err
		}
	}
	if err := cfg.EnsureDataDir(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// system is everything one run owns, built by open and torn down by close.
type system struct {
	db       *storage.DB
	engine   *engine.Engine
	jobs     *engine.Jobs               // nil when another process runs the jobs
	jobLock  *os.File                   // held while this process runs the jobs
	recorder *storage.OrderflowRecorder // nil unless record_orderflow
	log      *slog.Logger
}

func open(ctx context.Context, cfg settings, logOut io.Writer) (*system, error) {
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}))
	db, err := storage.Open(cfg.DBPath(), storage.Options{
		ReadPool:      cfg.Storage.ReadPool,
		BusyTimeout:   cfg.Storage.BusyTimeout,
		BatchSize:     cfg.Storage.BatchSize,
		FlushInterval: cfg.Storage.FlushInterval,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	feed, err := openFeed(ctx, cfg)
	if err != nil {
		db.Close(ctx)
		return nil, err
	}
	ofOpt := engine.OrderFlowOptions{
		Depth:          cfg.Orderflow.Depth,
		Interval:       cfg.Orderflow.PublishInterval,
		AlertOBI:       cfg.Orderflow.AlertOBI,
		ResetDaily:     cfg.Orderflow.CVDReset == "daily",
		RecordInterval: cfg.Orderflow.SnapshotInterval,
	}
	var rec *storage.OrderflowRecorder
	if cfg.RecordOrderflow {
		rec, err = storage.NewOrderflowRecorder(storage.RecorderOptions{Dir: cfg.OrderflowDir(), Logger: logger})
		if err != nil {
			db.Close(ctx)
			return nil, err
		}
		ofOpt.Recorder = rec
	}
	history := cfg.Sim.HistoryDays
	switch {
	case slices.Contains(config.Venues, cfg.Exchange):
		history = cfg.Venue.HistoryDays
	case cfg.Exchange != "sim":
		history = 0
	}
	eng := engine.New(feed, db, engine.Options{
		Timeframes:  cfg.Timeframes,
		Grace:       cfg.CandleGrace,
		HistoryDays: history,
		NoResume:    cfg.Exchange == "replay",
		KlineLag:    cfg.Venue.KlineLag,
		Logger:      logger,
		OrderFlow:   ofOpt,
	})
	handlers := engine.DefaultJobHandlers()
	handlers[engine.JobTypeDataSync] = engine.DataSyncHandler(func(exchange string) (venue.Historian, error) {
		return newHistorian(&cfg.Config, exchange)
	})
	jobs := engine.NewJobs(db, engine.JobsOptions{Workers: cfg.Jobs.Workers, Logger: eng.Logger(), Publish: eng.Publish, Handlers: handlers})
	eng.AttachJobs(jobs, cfg.ReportDir())
	// One process per data dir runs the jobs; another one (a second console, headless next to
	// a console) lists, submits and cancels them, and the first one runs them.
	jobLock, err := lockJobs(filepath.Join(cfg.DataDir, "jobs.lock"))
	runJobs := err == nil
	switch {
	case errors.Is(err, errLocked):
		eng.Logger().Warn("another tradeconsole process runs the jobs of this data dir; this one submits and lists them", "data_dir", cfg.DataDir)
	case err != nil:
		eng.Logger().Warn("no job lock; jobs are not run by this process", "err", err)
	}
	// The same process runs the bots: they come back (restore) inside eng.Start, before the
	// feed delivers its first trade.
	bots := engine.NewBots(db, eng, engine.BotsOptions{
		Logger:              eng.Logger(),
		Publish:             eng.Publish,
		Heartbeat:           cfg.BotRunner.Heartbeat,
		StallAfter:          cfg.BotRunner.StallAfter,
		PerformanceInterval: cfg.BotRunner.PerformanceInterval,
		MaxOpenPositions:    cfg.BotRunner.MaxOpenPositions,
		Warmup:              zeroIsNone(cfg.BotRunner.Warmup),
		MaxRestarts:         zeroIsNone(cfg.BotRunner.MaxRestarts),
		RestartWindow:       cfg.BotRunner.RestartWindow,
	})
	eng.AttachBots(bots, runJobs)
	if runJobs {
		defs, err := botDefinitions(cfg.Config)
		if err == nil {
			err = bots.Sync(ctx, defs)
		}
		if err != nil {
			jobLock.Close()
			if rec != nil {
				rec.Close(context.Background())
			}
			db.Close(context.Background())
			return nil, err
		}
	}
	if err := eng.Start(ctx); err != nil {
		if runJobs {
			jobLock.Close()
		}
		if rec != nil {
			rec.Close(context.Background())
		}
		db.Close(context.Background())
		return nil, err
	}
	if runJobs {
		if err := jobs.Start(ctx); err != nil {
			jobLock.Close()
			eng.Stop(context.Background())
			if rec != nil {
				rec.Close(context.Background())
			}
			db.Close(context.Background())
			return nil, fmt.Errorf("start jobs: %w", err)
		}
	} else {
		jobs, jobLock = nil, nil
	}
	if rec != nil {
		eng.Logger().Info("recording order flow", "dir", rec.Dir(), "snapshot_interval", cfg.Orderflow.SnapshotInterval.String())
	}
	return &system{db: db, engine: eng, jobs: jobs, jobLock: jobLock, recorder: rec, log: eng.Logger()}, nil
}

func openFeed(ctx context.Context, cfg settings) (engine.Feed, error) {
	switch cfg.Exchange {
	case "sim":
		f, err := sim.New(sim.Config{
			Exchange:     "sim",
			Symbols:      cfg.Symbols,
			Seed:         cfg.Sim.Seed,
			Speed:        cfg.Sim.Speed,
			TradeRate:    cfg.Sim.TradeRate,
			BookLevels:   cfg.Sim.BookLevels,
			BookInterval: cfg.Sim.BookInterval,
		})
		if err != nil {
			return nil, usageError{err}
		}
		return f, nil
	case "replay":
		return openReplay(ctx, cfg)
	case "bybit", "okx", "binance":
		f, err := openVenue(&cfg.Config, cfg.Exchange)
		if err != nil {
			return nil, usageError{err}
		}
		return f, nil
	}
	return nil, usageError{fmt.Errorf("exchange %q is not available", cfg.Exchange)}
}

// openReplay opens the replay feed: the file's instruments (filtered by --symbols when given)
// played at replay.speed.
func openReplay(ctx context.Context, cfg settings) (engine.Feed, error) {
	file, err := storage.OpenOrderflow(cfg.Replay.File, storage.OrderflowOpenOptions{Exchange: "replay"})
	if err != nil {
		return nil, orderflowError(err)
	}
	syms, err := file.Instruments(ctx)
	if err != nil {
		file.Close()
		return nil, orderflowError(err)
	}
	if cfg.symbolsGiven {
		var keep []market.Symbol
		for _, s := range syms {
			if slices.Contains(cfg.Symbols, s) {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			file.Close()
			return nil, usageError{fmt.Errorf("replay file %s has none of the symbols %v (it has %v)", cfg.Replay.File, cfg.Symbols, syms)}
		}
		syms = keep
	}
	if len(syms) == 0 {
		file.Close()
		return nil, usageError{fmt.Errorf("replay file %s has no book snapshots", cfg.Replay.File)}
	}
	feed, err := replay.New(replay.Config{
		Exchange: "replay",
		Symbols:  syms,
		Speed:    cfg.Replay.Speed,
		Open: func() (replay.Source, error) {
			r, err := file.Records(context.Background())
			if err != nil {
				return nil, err
			}
			return &replaySource{r: r, file: file}, nil
		},
	})
	if err != nil {
		file.Close()
		return nil, usageError{err}
	}
	return feed, nil
}

// replaySource closes the file with the reader when the replay ends.
type replaySource struct {
	r    *storage.OrderflowReader
	file *storage.OrderflowFile
}

func (s *replaySource) Next(rec *market.FlowRecord) error { return s.r.Next(rec) }
func (s *replaySource) Close() error                      { return errors.Join(s.r.Close(), s.file.Close()) }

// orderflowError makes a bad order-flow file a usage error (exit 2).
func orderflowError(err error) error {
	var in *storage.OrderflowInputError
	if errors.As(err, &in) {
		return usageError{err}
	}
	return err
}

// close stops the engine (flushing storage) and closes the database, within a deadline.
func (s *system) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Jobs first: a running job is interrupted and goes back to pending, to run again at the
	// next start.
	var err error
	if s.jobs != nil {
		err = s.jobs.Stop(ctx)
		s.jobLock.Close()
	}
	if eerr := s.engine.Stop(ctx); eerr != nil && err == nil {
		err = eerr
	}
	if s.recorder != nil {
		if cerr := s.recorder.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("close order-flow recorder: %w", cerr)
		}
	}
	if cerr := s.db.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

func runHeadless(ctx context.Context, cfg settings, d time.Duration, stderr io.Writer) error {
	s, err := open(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	s.log.Info("running headless", "for", d.String(), "db", cfg.DBPath())
	select {
	case <-ctx.Done():
	case <-s.engine.FeedDone(): // a replay that reached its end, or a feed error
	}
	s.log.Info("stopping")
	if err := s.close(); err != nil {
		return err
	}
	if err := s.engine.Err(); err != nil {
		return err
	}
	for _, h := range s.engine.Health() {
		if h.Channel == "trades" {
			s.log.Info("stream summary", "exchange", h.Exchange, "symbol", h.Symbol, "trades", h.Messages, "late", h.Late, "backfilled", h.Backfilled)
		}
	}
	return nil
}

func runConsole(ctx context.Context, cfg settings, stdin io.Reader, stdout io.Writer) error {
	logFile, err := os.OpenFile(cfg.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer logFile.Close()
	s, err := open(ctx, cfg, logFile)
	if err != nil {
		return err
	}
	uiErr := tui.Run(ctx, s.engine, tui.Options{
		FPS:          cfg.UI.FPS,
		Timeframe:    cfg.UI.Timeframe,
		ChartCandles: cfg.UI.ChartCandles,
		TapeSize:     cfg.UI.TapeSize,
		FlowWindow:   cfg.UI.FlowWindow,
		Version:      version,
	}, stdin, stdout)
	if err := s.close(); err != nil {
		return err
	}
	if uiErr != nil && !errors.Is(uiErr, context.Canceled) {
		return fmt.Errorf("console: %w", uiErr)
	}
	return nil
}
