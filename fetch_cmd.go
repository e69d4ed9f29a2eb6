package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// newHistorianFn makes a venue's REST history client; tests substitute an in-memory venue.
var newHistorianFn = newHistorian

const fetchLong = `fetch downloads a venue's closed candles over its REST API into market_data of the main
database (<data_dir>/tradeconsole.db), where backtests and the console read them.

The candles fetched are those stamped in (from, to] (right-aligned: the candle stamped T covers
[T − tf, T)). T is a date YYYY-MM-DD (midnight UTC) or an RFC 3339 time; --to defaults to now.
Each page the venue returns is stored before the next is requested, so an interrupted fetch
loses at most one page, and running the same command again resumes after the newest candle
already stored in the range: a finished range fetches nothing, or only the candles closed
since. Whoever stored that candle counts (the console on a venue stores the same 1m series):
--full fetches the whole range again. Rows are upserts, so fetching twice stores the same rows. The venue's rate limit is
respected. Endpoints come from the configuration (bybit.rest_url, okx.rest_url,
binance.rest_url).

Progress goes to stderr, a line every 5%, then a summary.

Exit codes: 0 ok, 1 runtime failure (the venue's error, e.g. an unknown symbol), 2 bad input
(the message names the flag or value).`

// fetchFlags are the flags of `tradeconsole fetch`.
type fetchFlags struct {
	exchange, symbol, timeframe, from, to string
	full                                  bool
}

// newFetchCmd is `tradeconsole fetch`. Its --exchange (the venue to download from) shadows
// the root's --exchange; it reads the root's --config and --data-dir.
func newFetchCmd(stderr io.Writer) *cobra.Command {
	var f fetchFlags
	cmd := &cobra.Command{
		Use:   "fetch --exchange X --symbol S --timeframe TF --from T [--to T]",
		Short: "Download a venue's candle history (REST) into the database; a rerun resumes",
		Long:  fetchLong,
		Example: `  tradeconsole fetch --exchange bybit --symbol BTCUSDT --timeframe 1m --from 2024-01-01 --to 2024-02-01
  tradeconsole fetch --exchange okx --symbol ETHUSDT --timeframe 1h --from 2023-01-01T00:00:00Z`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFetch(cmd, f, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.exchange, "exchange", "", "the venue: "+strings.Join(config.Venues, ", "))
	fl.StringVar(&f.symbol, "symbol", "", "the symbol, e.g. BTCUSDT")
	fl.StringVar(&f.timeframe, "timeframe", "", "the candles' timeframe, one the venue serves ("+market.TimeframeList()+")")
	fl.StringVar(&f.from, "from", "", "start, YYYY-MM-DD or RFC 3339 (UTC): candles stamped after it")
	fl.StringVar(&f.to, "to", "", "end, YYYY-MM-DD or RFC 3339 (UTC): candles stamped up to it; default now")
	fl.BoolVar(&f.full, "full", false, "fetch the whole range, not only after the newest candle stored in it")
	return cmd
}

// fetchInput is the validated command line.
type fetchInput struct {
	exchange string
	symbol   market.Symbol
	tf       market.Timeframe
	from, to int64
}

// checkFetchFlags validates the command line at now; every problem is reported at once, each
// naming its flag, as a usage error.
func checkFetchFlags(f fetchFlags, now time.Time) (fetchInput, error) {
	var in fetchInput
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	in.exchange = strings.ToLower(strings.TrimSpace(f.exchange))
	switch {
	case in.exchange == "":
		bad("--exchange is required: one of %s", strings.Join(config.Venues, ", "))
	case !slices.Contains(config.Venues, in.exchange):
		bad("--exchange %q: no REST history for it; use one of %s", f.exchange, strings.Join(config.Venues, ", "))
	}
	if strings.TrimSpace(f.symbol) == "" {
		bad("--symbol is required, e.g. BTCUSDT")
	} else if sym, err := market.ParseSymbol(f.symbol); err != nil {
		bad("--symbol: %v", err)
	} else {
		in.symbol = sym
	}
	if strings.TrimSpace(f.timeframe) == "" {
		bad("--timeframe is required, e.g. 1m")
	} else if tf, err := market.ParseTimeframe(f.timeframe); err != nil {
		bad("--timeframe: %v", err)
	} else {
		in.tf = tf
	}
	fromOK := false
	if strings.TrimSpace(f.from) == "" {
		bad("--from is required: a date YYYY-MM-DD or an RFC 3339 time (UTC)")
	} else if t, err := parseDay("--from", f.from); err != nil {
		errs = append(errs, err)
	} else {
		in.from, fromOK = t, true
	}
	nowMS := now.UnixMilli()
	in.to = nowMS
	toOK := true
	if strings.TrimSpace(f.to) != "" {
		if t, err := parseDay("--to", f.to); err != nil {
			errs = append(errs, err)
			toOK = false
		} else {
			in.to = min(t, nowMS) // candles after now are not closed yet
		}
	}
	if fromOK && toOK && in.from >= in.to {
		if in.to == nowMS {
			bad("--from %s must be before now (%s)", f.from, fmtStamp(nowMS))
		} else {
			bad("--to %s must be after --from %s", f.to, f.from)
		}
	}
	if len(errs) > 0 {
		return in, usageError{errors.Join(errs...)}
	}
	return in, nil
}

func runFetch(cmd *cobra.Command, f fetchFlags, stderr io.Writer) error {
	ctx := cmd.Context()
	in, err := checkFetchFlags(f, time.Now())
	if err != nil {
		return err
	}
	cfg, err := fetchConfig(cmd)
	if err != nil {
		return err
	}
	h, err := newHistorianFn(&cfg, in.exchange)
	if err != nil {
		return usageError{fmt.Errorf("--exchange %s: %w", in.exchange, err)}
	}
	if err := engine.CheckHistoryTimeframe(h, in.exchange, in.tf); err != nil {
		return usageError{fmt.Errorf("--%w", err)}
	}
	db, err := storage.Open(cfg.DBPath(), storage.Options{
		ReadPool:    2,
		BusyTimeout: cfg.Storage.BusyTimeout,
		Logger:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer db.Close(context.Background())

	series := fmt.Sprintf("%s %s %s", in.symbol, in.tf, in.exchange)
	fmt.Fprintf(stderr, "fetch %s from %s to %s into %s\n", series, fmtStamp(in.from), fmtStamp(in.to), cfg.DBPath())
	var store engine.CandleSyncStore = db
	if f.full {
		store = fullSync{db}
	}
	res, err := engine.SyncCandles(ctx, h, store, in.exchange, in.symbol, in.tf, in.from, in.to, fetchProgress(stderr, in.from, in.to))
	if err != nil {
		return err
	}
	if err := db.Close(ctx); err != nil {
		return err
	}
	line := fmt.Sprintf("fetched %d candles %s from %s to %s, stored %d", res.Fetched, series, fmtStamp(res.From), fmtStamp(res.To), res.Stored)
	if res.Resumed {
		line += fmt.Sprintf("; %d already stored (newest %s), %s", res.Had, fmtStamp(res.ResumedFrom), engine.GapsText(res.Gaps))
	}
	fmt.Fprintln(stderr, line)
	return nil
}

// fullSync is the database seen as holding nothing to resume from (--full).
type fullSync struct{ *storage.DB }

func (fullSync) CandleRunsIn(context.Context, string, market.Symbol, market.Timeframe, int64, int64) ([]storage.CandleRun, error) {
	return nil, nil
}

// fetchConfig loads the configuration with the root's --config and --data-dir (the fetch
// command's own --exchange is the venue, not the console's exchange key).
func fetchConfig(cmd *cobra.Command) (config.Config, error) {
	fl := cmd.Flags()
	file, _ := fl.GetString("config")
	set := map[string]string{}
	if fl.Changed("data-dir") {
		dir, _ := fl.GetString("data-dir")
		set["data_dir"] = dir
	}
	cfg, err := config.Load(config.Options{File: file, Set: set})
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.EnsureDataDir()
}

// fetchProgress writes a progress line at 0% and every 5% after, with the time reached.
func fetchProgress(w io.Writer, from, to int64) func(p float64) {
	step := -1
	return func(p float64) {
		s := int(p * 20)
		if s <= step {
			return
		}
		step = s
		at := from + int64(math.Round(p*float64(to-from)))
		fmt.Fprintf(w, "fetch: %3d%%  up to %s\n", 5*s, fmtStamp(at))
	}
}
