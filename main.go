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
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/feeds/sim"
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
	pf.StringVar(&g.exchange, "exchange", "", "exchange to connect to (sim)")
	pf.StringVar(&g.symbols, "symbols", "", "comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
	pf.StringVar(&g.dataDir, "data-dir", "", "directory holding tradeconsole.db and the log file")

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
	root.AddCommand(headless, versionCmd)
	return root
}

// noArgs rejects positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

func loadConfig(cmd *cobra.Command, g globalFlags) (config.Config, error) {
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
	cfg, err := config.Load(config.Options{File: g.configFile, Set: set})
	if err != nil {
		return cfg, err
	}
	if err := cfg.EnsureDataDir(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// system is everything one run owns, built by open and torn down by close.
type system struct {
	db     *storage.DB
	engine *engine.Engine
	log    *slog.Logger
}

func open(ctx context.Context, cfg config.Config, logOut io.Writer) (*system, error) {
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
	feed, err := openFeed(cfg)
	if err != nil {
		db.Close(ctx)
		return nil, usageError{err}
	}
	eng := engine.New(feed, db, engine.Options{
		Timeframes:  cfg.Timeframes,
		Grace:       cfg.CandleGrace,
		HistoryDays: cfg.Sim.HistoryDays,
		Logger:      logger,
	})
	if err := eng.Start(ctx); err != nil {
		db.Close(context.Background())
		return nil, err
	}
	return &system{db: db, engine: eng, log: eng.Logger()}, nil
}

func openFeed(cfg config.Config) (engine.Feed, error) {
	switch cfg.Exchange {
	case "sim":
		return sim.New(sim.Config{
			Exchange:     "sim",
			Symbols:      cfg.Symbols,
			Seed:         cfg.Sim.Seed,
			Speed:        cfg.Sim.Speed,
			TradeRate:    cfg.Sim.TradeRate,
			BookLevels:   cfg.Sim.BookLevels,
			BookInterval: cfg.Sim.BookInterval,
		})
	}
	return nil, fmt.Errorf("exchange %q is not available", cfg.Exchange)
}

// close stops the engine (flushing storage) and closes the database, within a deadline.
func (s *system) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := s.engine.Stop(ctx)
	if cerr := s.db.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

func runHeadless(ctx context.Context, cfg config.Config, d time.Duration, stderr io.Writer) error {
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
	<-ctx.Done()
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

func runConsole(ctx context.Context, cfg config.Config, stdin io.Reader, stdout io.Writer) error {
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
