package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/govalues/decimal"
	"github.com/spf13/cobra"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// backtestFlags are the flags of `tradeconsole backtest`.
type backtestFlags struct {
	strategy string
	params   []string

	csvFile                               string
	flowFile                              string // --orderflow: an order-flow file
	depth                                 int    // with --orderflow: OBI depth
	exchange, symbol, timeframe, from, to string

	fee, balance                                 string
	slippage, positionSize, takeProfit, stopLoss float64
	timeout                                      time.Duration
	allowShort                                   bool

	sweeps  []string
	rankBy  string
	workers int

	asJSON   bool
	report   string
	progress bool
}

const backtestLong = `backtest runs a strategy over candles with the paper broker and prints its metrics and trades.

Candles come from a CSV file (--csv FILE), from an order-flow file (--orderflow FILE: candles of
--timeframe, default 1m, built from its trades, and its snapshots' OBI and CVD for order-flow
strategies such as orderflow_imbalance; --symbol picks one of several instruments, --depth sets
the OBI depth), or from the main database (<data_dir>/tradeconsole.db,
filled by the console or by fetch): --exchange X --symbol S --timeframe TF --from T --to T, where
T is a date YYYY-MM-DD (midnight UTC) or an RFC 3339 time, and the candles used are those
stamped in (from, to] — with right-aligned stamps, exactly the candles covering [from, to).

The CSV file needs a header naming the columns timestamp,open,high,low,close,volume (any order,
any case; other columns are ignored). timestamp is the candle's OPEN time as exchanges publish
it, in unix s / ms or ISO-8601; the timeframe is inferred from the spacing of the rows.

A decision on a candle's close fills at the next candle's open, plus slippage; the fee is paid
on every side. --sweep name=from:to:step (repeatable) runs every combination of the ranges in
parallel (at most 10,000) and ranks them by --rank-by; the best run is reported in full.

--json prints one document on stdout: {"metrics": {…}, "trades": […]} (with --sweep:
{"sweep": {"ranked_by", "runs": [{"params", "metrics"}…], "skipped"}, "best": {"params",
"metrics", "trades"}}). Metrics are fractions (0.05 is 5%); times are unix ms; prices,
quantities, P&L and fees are JSON numbers printed with the ledger's exact decimal digits.

Exit codes: 0 ok, 1 runtime failure, 2 bad input (the message names the flag, file or value).`

// newBacktestCmd is `tradeconsole backtest`. Its --exchange (the candles' venue in the
// database) shadows the root's --exchange (the venue the console connects to).
func newBacktestCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var f backtestFlags
	cmd := &cobra.Command{
		Use:   "backtest --strategy NAME [--param k=v]… (--csv FILE | --exchange X --symbol S --timeframe TF --from T --to T) [flags]",
		Short: "Backtest a strategy over candles (a CSV file or the database); sweep its parameters",
		Long:  backtestLong,
		Example: `  tradeconsole backtest --strategy sma_cross --param fast=10 --param slow=30 --csv prices.csv
  tradeconsole backtest --strategy rsi --exchange sim --symbol BTCUSDT --timeframe 1m --from 2024-01-01 --to 2024-02-01 --report rsi.html
  tradeconsole backtest --strategy sma_cross --csv prices.csv --sweep fast=5:20:5 --sweep slow=30:90:10 --rank-by calmar --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBacktest(cmd, g, f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.strategy, "strategy", "", "strategy name: "+strings.Join(strategies.Builtin().Names(), ", "))
	fl.StringArrayVar(&f.params, "param", nil, "strategy parameter name=value (repeatable); the others keep their defaults")
	fl.StringVar(&f.csvFile, "csv", "", "read candles from this CSV file (header timestamp,open,high,low,close,volume)")
	fl.StringVar(&f.flowFile, "orderflow", "", "an order-flow file (book and trades): candles of --timeframe (default 1m) built from its trades, and its snapshots' OBI/CVD for order-flow strategies")
	fl.IntVar(&f.depth, "depth", 0, "with --orderflow: levels per side in OBI; 0 = all levels of each snapshot")
	fl.StringVar(&f.exchange, "exchange", "", "with the database: the candles' exchange (e.g. sim)")
	fl.StringVar(&f.symbol, "symbol", "", "with the database: the symbol (e.g. BTCUSDT)")
	fl.StringVar(&f.timeframe, "timeframe", "", "with the database: the timeframe ("+market.TimeframeList()+")")
	fl.StringVar(&f.from, "from", "", "with the database: start, YYYY-MM-DD or RFC 3339 (UTC); candles stamped after it")
	fl.StringVar(&f.to, "to", "", "with the database: end, YYYY-MM-DD or RFC 3339 (UTC); candles stamped up to it")
	fl.StringVar(&f.fee, "fee", "0.001", "fee rate per side (0.001 = 0.1%)")
	fl.Float64Var(&f.slippage, "slippage-bps", 0, "adverse slippage of every fill, in basis points")
	fl.StringVar(&f.balance, "balance", "10000", "starting balance (quote currency)")
	fl.Float64Var(&f.positionSize, "position-size", 1, "fraction of equity staked per entry, in (0, 1]")
	fl.Float64Var(&f.takeProfit, "take-profit", 0, "take-profit as a fraction of the entry price (0.03 = 3%); 0 = off")
	fl.Float64Var(&f.stopLoss, "stop-loss", 0, "stop-loss as a fraction of the entry price (0.02 = 2%); 0 = off")
	fl.DurationVar(&f.timeout, "timeout", 0, "close a position held this long (e.g. 4h); 0 = off")
	fl.BoolVar(&f.allowShort, "allow-short", false, "allow short positions (also sets the strategy's allow_short parameter)")
	fl.StringArrayVar(&f.sweeps, "sweep", nil, "sweep a parameter over from:to:step inclusive, e.g. fast=5:20:5 (repeatable)")
	fl.StringVar(&f.rankBy, "rank-by", engine.DefaultRankBy, "metric ranking a sweep: "+strings.Join(engine.RankMetrics(), ", ")+" (max_drawdown: lower is better)")
	fl.IntVar(&f.workers, "workers", 0, "backtests run at once in a sweep; 0 = one per core")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as one JSON document on stdout")
	fl.StringVar(&f.report, "report", "", "write a self-contained HTML report to this file (a sweep: the best run)")
	fl.BoolVar(&f.progress, "progress", isTerminal(stderr), "show progress on stderr (default: when stderr is a terminal)")
	return cmd
}

// backtestInput is the validated command line.
type backtestInput struct {
	strat    strategies.Strategy
	values   strategies.Values // resolved (for a sweep: the fixed parameters and defaults)
	ranges   []engine.SweepRange
	broker   engine.BrokerConfig
	fromDB   bool
	exchange string
	symbol   market.Symbol
	tf       market.Timeframe
	from, to int64 // unix ms, with the database
}

func runBacktest(cmd *cobra.Command, g *globalFlags, f backtestFlags, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	in, err := checkBacktestFlags(cmd, f)
	if err != nil {
		return err
	}

	// Candles.
	var (
		candles []market.Candle
		source  string
	)
	var flow []strategies.FlowPoint
	switch {
	case f.flowFile != "":
		candles, flow, source, err = flowCandles(ctx, f.flowFile, &in, f.depth)
	case in.fromDB:
		candles, source, err = dbCandles(ctx, cmd, g, in)
	default:
		candles, source, err = csvCandles(f.csvFile)
		if err == nil {
			in.exchange, in.tf = "csv", candles[0].Timeframe
			in.symbol = market.Symbol(strings.TrimSuffix(filepath.Base(f.csvFile), filepath.Ext(f.csvFile)))
		}
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("backtest", "strategy", in.strat.Name(), "candles", len(candles), "source", source,
		"first", time.UnixMilli(candles[0].Time).UTC().Format(time.RFC3339), "last", time.UnixMilli(candles[len(candles)-1].Time).UTC().Format(time.RFC3339))

	// The report file is created before the run, so that a bad path fails at once.
	var report *os.File
	if f.report != "" {
		report, err = os.Create(f.report)
		if err != nil {
			return usageError{fmt.Errorf("--report %s: %w", f.report, err)}
		}
		defer report.Close()
	}

	var progress func(label, unit string, done, total int)
	finishProgress := func() {}
	if f.progress {
		progress = progressLine(stderr)
		finishProgress = func() { fmt.Fprintln(stderr) }
	}

	rep := engine.ReportInput{
		Strategy: in.strat.Name(), Exchange: in.exchange, Symbol: string(in.symbol), Source: source,
		Timeframe: in.tf, Broker: in.broker,
	}
	if in.fromDB {
		rep.From, rep.To = in.from, in.to
	}
	var out any
	var summary func(w io.Writer)
	start := time.Now()
	if len(in.ranges) > 0 {
		sw, err := engine.Sweep(ctx, candles, engine.SweepConfig{
			Strategy: in.strat, Base: in.values, Ranges: in.ranges, Broker: in.broker,
			RankBy: f.rankBy, Workers: f.workers, Progress: labelled(progress, "sweep", "combinations"), Flow: flow,
		})
		finishProgress()
		if err != nil {
			if errors.Is(err, engine.ErrSweepAllSkipped) {
				return usageError{err}
			}
			return err
		}
		log.Info("sweep done", "combinations", sw.Combos, "run", len(sw.Runs), "skipped", sw.Skipped,
			"workers", sw.Workers, "elapsed", time.Since(start).Round(time.Millisecond).String())
		rep.Params, rep.Result, rep.Sweep = sw.Runs[0].Params, sw.Best, &sw
		out = sweepJSON(in.strat, sw)
		summary = func(w io.Writer) { printSweep(w, in.strat, sw, rep) }
	} else {
		inst, err := in.strat.New(in.values)
		if err != nil {
			return usageError{err}
		}
		opt := engine.BacktestOptions{Progress: labelled(progress, "backtest", "candles")}
		_, stepsFlow := inst.(strategies.FlowStepper)
		switch {
		case stepsFlow && flow == nil:
			log.Warn(in.strat.Name() + " trades on order-flow snapshots, which only --orderflow FILE gives it: expect no trades")
		case stepsFlow:
			opt.Flow = engine.FlowSlice(flow)
		}
		res, err := engine.Backtest(ctx, candles, inst, in.broker, opt)
		finishProgress()
		if err != nil {
			return err
		}
		rep.Params, rep.Result = in.values, res
		out = backtestJSON{Metrics: res.Metrics, Trades: tradesJSON(res.Trades)}
		summary = func(w io.Writer) { printBacktest(w, rep) }
	}

	if report != nil {
		if err := engine.WriteReport(report, rep); err != nil {
			return fmt.Errorf("write report %s: %w", f.report, err)
		}
		if err := report.Close(); err != nil {
			return fmt.Errorf("write report %s: %w", f.report, err)
		}
		log.Info("report written", "file", f.report)
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	summary(stdout)
	if report != nil {
		fmt.Fprintf(stdout, "\nreport: %s\n", f.report)
	}
	return nil
}

// checkBacktestFlags validates the command line; every problem found is reported at once,
// each naming its flag, as a usage error.
func checkBacktestFlags(cmd *cobra.Command, f backtestFlags) (backtestInput, error) {
	var in backtestInput
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	reg := strategies.Builtin()

	// Strategy and parameters.
	if f.strategy == "" {
		bad("--strategy is required; one of %s", strings.Join(reg.Names(), ", "))
	} else if s, err := reg.Get(f.strategy); err != nil {
		bad("--strategy: %v", err)
	} else {
		in.strat = s
	}
	text := map[string]string{}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok || k == "":
			bad("--param %q: want name=value, e.g. fast=10", p)
		case text[k] != "":
			bad("--param %s is given twice", k)
		default:
			text[k] = v
		}
	}
	for _, s := range f.sweeps {
		r, err := engine.ParseSweep(s)
		if err != nil {
			bad("--%v", err)
			continue
		}
		if _, fixed := text[r.Param]; fixed {
			bad("--sweep %s: %s is also fixed with --param %s=%s; give one or the other", s, r.Param, r.Param, text[r.Param])
			continue
		}
		in.ranges = append(in.ranges, r)
	}
	if len(in.ranges) == 0 && cmd.Flags().Changed("rank-by") {
		bad("--rank-by only applies to a sweep (--sweep name=from:to:step)")
	}
	if err := engine.CheckRankBy(f.rankBy); err != nil {
		bad("--%v", err)
	}
	if f.workers < 0 {
		bad("--workers %d: must be 0 (one per core) or more", f.workers)
	}
	if in.strat != nil {
		if f.allowShort && hasParam(in.strat, "allow_short") {
			if v, ok := text["allow_short"]; ok {
				if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && !b {
					bad("--allow-short contradicts --param allow_short=%s", v)
				}
			} else if !sweeps(in.ranges, "allow_short") {
				text["allow_short"] = "true"
			}
		}
		vals, err := strategies.Resolve(in.strat, text)
		if err != nil {
			bad("--param: %v", indent(err))
		}
		in.values = vals
		if err == nil && len(in.ranges) > 0 {
			if _, err := engine.SweepGrid(in.strat, vals, in.ranges); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					bad("--%s", line)
				}
			}
		}
	}

	// Broker.
	in.broker = engine.DefaultBrokerConfig()
	if d, err := decimal.Parse(strings.TrimSpace(f.fee)); err != nil {
		bad("--fee %q: not a number (0.001 is 0.1%%)", f.fee)
	} else if d.IsNeg() || d.Cmp(decimal.One) >= 0 {
		bad("--fee %s: must be from 0 to below 1 (0.001 is 0.1%%)", f.fee)
	} else {
		in.broker.Fee = d
	}
	if d, err := decimal.Parse(strings.TrimSpace(f.balance)); err != nil {
		bad("--balance %q: not a number", f.balance)
	} else if !d.IsPos() {
		bad("--balance %s: must be positive", f.balance)
	} else {
		in.broker.Balance = d
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(f.slippage) || f.slippage < 0 || f.slippage >= 10000 {
		bad("--slippage-bps %v: must be from 0 to below 10000", f.slippage)
	}
	if !finite(f.positionSize) || f.positionSize <= 0 || f.positionSize > 1 {
		bad("--position-size %v: must be a fraction of equity in (0, 1]", f.positionSize)
	}
	if !finite(f.takeProfit) || f.takeProfit < 0 {
		bad("--take-profit %v: must be a fraction of the entry price ≥ 0 (0 = off)", f.takeProfit)
	}
	if !finite(f.stopLoss) || f.stopLoss < 0 || f.stopLoss >= 1 {
		bad("--stop-loss %v: must be a fraction of the entry price from 0 to below 1 (0 = off)", f.stopLoss)
	}
	if f.timeout < 0 {
		bad("--timeout %v: must not be negative (0 = off)", f.timeout)
	}
	in.broker.SlippageBps, in.broker.PositionSize = f.slippage, f.positionSize
	in.broker.TakeProfit, in.broker.StopLoss, in.broker.Timeout = f.takeProfit, f.stopLoss, f.timeout
	in.broker.AllowShort = f.allowShort

	// Candle source.
	dbFlags := []string{"exchange", "symbol", "timeframe", "from", "to"}
	var given, missing []string
	for _, n := range dbFlags {
		if cmd.Flags().Changed(n) {
			given = append(given, "--"+n)
		} else {
			missing = append(missing, "--"+n)
		}
	}
	if f.flowFile != "" {
		// An order-flow file: --timeframe (default 1m) and --symbol (to pick one of several
		// instruments) may go with it; the other database flags may not.
		var clash []string
		for _, n := range []string{"--exchange", "--from", "--to"} {
			if slices.Contains(given, n) {
				clash = append(clash, n)
			}
		}
		switch {
		case f.csvFile != "":
			bad("--orderflow and --csv are mutually exclusive: candles come from one source")
		case len(clash) > 0:
			bad("--orderflow and %s are mutually exclusive: the file's trades are the candles", strings.Join(clash, ", "))
		case f.depth < 0:
			bad("--depth %d: must be 0 (all levels) or more", f.depth)
		}
		in.tf = market.TF1m
		if f.timeframe != "" {
			tf, err := market.ParseTimeframe(f.timeframe)
			if err != nil {
				bad("--timeframe: %v", err)
			}
			in.tf = tf
		}
		if f.symbol != "" {
			sym, err := market.ParseSymbol(f.symbol)
			if err != nil {
				bad("--symbol: %v", err)
			}
			in.symbol = sym
		}
		given, missing = nil, nil
		if in.broker.Validate() != nil && len(errs) == 0 {
			bad("%v", in.broker.Validate())
		}
		if len(errs) > 0 {
			return in, usageError{errors.Join(errs...)}
		}
		return in, nil
	}
	switch {
	case f.csvFile != "" && len(given) > 0:
		bad("--csv and %s are mutually exclusive: candles come from a CSV file or from the database, not both", strings.Join(given, ", "))
	case f.csvFile == "" && len(given) == 0:
		bad("no candles: give --csv FILE, or --exchange X --symbol S --timeframe TF --from T --to T to read the database")
	case f.csvFile == "" && len(missing) > 0:
		bad("reading the database needs --exchange, --symbol, --timeframe, --from and --to; missing %s", strings.Join(missing, ", "))
	case f.csvFile == "":
		in.fromDB = true
		in.exchange = strings.ToLower(strings.TrimSpace(f.exchange))
		if in.exchange == "" {
			bad("--exchange is empty")
		}
		sym, err := market.ParseSymbol(f.symbol)
		if err != nil {
			bad("--symbol: %v", err)
		}
		in.symbol = sym
		tf, err := market.ParseTimeframe(f.timeframe)
		if err != nil {
			bad("--timeframe: %v", err)
		}
		in.tf = tf
		from, err1 := parseDay("--from", f.from)
		to, err2 := parseDay("--to", f.to)
		if err1 != nil {
			errs = append(errs, err1)
		}
		if err2 != nil {
			errs = append(errs, err2)
		}
		if err1 == nil && err2 == nil && to <= from {
			bad("--to %s must be after --from %s", f.to, f.from)
		}
		in.from, in.to = from, to
	}
	if in.broker.Validate() != nil && len(errs) == 0 {
		bad("%v", in.broker.Validate())
	}
	if len(errs) > 0 {
		return in, usageError{errors.Join(errs...)}
	}
	return in, nil
}

func hasParam(s strategies.Strategy, name string) bool {
	return slices.ContainsFunc(s.Params(), func(p strategies.Param) bool { return p.Name == name })
}

func sweeps(rs []engine.SweepRange, name string) bool {
	return slices.ContainsFunc(rs, func(r engine.SweepRange) bool { return r.Param == name })
}

// flowCandles reads an order-flow file: candles of in.tf from its trades and a FlowPoint per
// snapshot (OBI over depth, CVD, best bid/ask). A file with several instruments needs --symbol.
func flowCandles(ctx context.Context, path string, in *backtestInput, depth int) ([]market.Candle, []strategies.FlowPoint, string, error) {
	probe, err := storage.OpenOrderflow(path, storage.OrderflowOpenOptions{Exchange: "orderflow"})
	if err != nil {
		return nil, nil, "", orderflowError(fmt.Errorf("--orderflow: %w", err))
	}
	syms, err := probe.Instruments(ctx)
	probe.Close()
	if err != nil {
		return nil, nil, "", orderflowError(fmt.Errorf("--orderflow: %w", err))
	}
	switch {
	case in.symbol == "" && len(syms) == 1:
		in.symbol = syms[0]
	case in.symbol == "":
		return nil, nil, "", usageError{fmt.Errorf("--orderflow %s holds %d instruments (%v): pick one with --symbol", path, len(syms), syms)}
	case !slices.Contains(syms, in.symbol):
		return nil, nil, "", usageError{fmt.Errorf("--orderflow %s has no %s (it has %v)", path, in.symbol, syms)}
	}
	file, err := storage.OpenOrderflow(path, storage.OrderflowOpenOptions{Exchange: "orderflow", Symbols: []market.Symbol{in.symbol}})
	if err != nil {
		return nil, nil, "", orderflowError(fmt.Errorf("--orderflow: %w", err))
	}
	defer file.Close()
	r, err := file.Records(ctx)
	if err != nil {
		return nil, nil, "", orderflowError(fmt.Errorf("--orderflow: %w", err))
	}
	defer r.Close()
	candles, flow, err := engine.FlowData(r.Next, in.tf, depth)
	if err != nil {
		return nil, nil, "", usageError{fmt.Errorf("--orderflow %s: %w", path, err)}
	}
	in.exchange = "orderflow"
	return candles, flow, path, nil
}

// indent puts a multi-line error (several parameter problems) on indented lines.
func indent(err error) string {
	s := err.Error()
	if !strings.Contains(s, "\n") {
		return s
	}
	return "\n  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// parseDay reads a --from/--to value as engine.ParseSyncTime does (YYYY-MM-DD midnight UTC,
// YYYY-MM-DDThh:mm[:ss] UTC, RFC 3339); the error names the flag.
func parseDay(flag, s string) (int64, error) {
	t, err := engine.ParseSyncTime(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", flag, strings.TrimSpace(s), err)
	}
	return t, nil
}

func fmtStamp(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// csvCandles reads a candle CSV file; any problem with it is a usage error naming the file.
func csvCandles(path string) ([]market.Candle, string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", usageError{fmt.Errorf("--csv: %w", err)}
	}
	defer fh.Close()
	cs, _, err := storage.ReadCandlesCSV(fh, path)
	if err != nil {
		return nil, "", usageError{err}
	}
	return cs, path, nil
}

// dbCandles reads the candles stamped in (from, to] from the main database.
func dbCandles(ctx context.Context, cmd *cobra.Command, g *globalFlags, in backtestInput) ([]market.Candle, string, error) {
	set := map[string]string{}
	if cmd.Flags().Changed("data-dir") {
		set["data_dir"] = g.dataDir
	}
	cfg, err := config.Load(config.Options{File: g.configFile, Set: set})
	if err != nil {
		return nil, "", err
	}
	path := cfg.DBPath()
	series := fmt.Sprintf("%s %s %s", in.exchange, in.symbol, in.tf)
	hint := "collect candles by running the console (go run .) or with tradeconsole fetch, or give --csv FILE"
	if _, err := os.Stat(path); err != nil {
		return nil, "", usageError{fmt.Errorf("no %s candles: there is no database at %s (data_dir %s); %s", series, path, cfg.DataDir, hint)}
	}
	db, err := storage.Open(path, storage.Options{ReadPool: 2, BusyTimeout: cfg.Storage.BusyTimeout})
	if err != nil {
		return nil, "", err
	}
	defer db.Close(context.Background())
	cs, err := db.Candles(ctx, in.exchange, in.symbol, in.tf, in.from+1, in.to)
	if err != nil {
		return nil, "", err
	}
	if len(cs) == 0 {
		msg := fmt.Sprintf("no %s candles stamped in (%s, %s] in %s", series, fmtStamp(in.from), fmtStamp(in.to), path)
		if stored, err := db.SeriesCounts(ctx); err == nil {
			var have []string
			for _, s := range stored {
				if s.Exchange == in.exchange && s.Symbol == in.symbol {
					have = append(have, fmt.Sprintf("%s %s %s: %d candles from %s to %s", s.Exchange, s.Symbol, s.Timeframe, s.Count, fmtStamp(s.First), fmtStamp(s.Last)))
				}
			}
			if len(have) > 0 {
				msg += "; stored: " + strings.Join(have, "; ")
			} else if len(stored) > 0 {
				msg += fmt.Sprintf("; the database has %d other series but none of %s %s", len(stored), in.exchange, in.symbol)
			}
		}
		return nil, "", usageError{errors.New(msg + "; " + hint)}
	}
	return cs, path, nil
}

// labelled adapts a progress line to a label and a unit; nil stays nil.
func labelled(p func(label, unit string, done, total int), label, unit string) func(done, total int) {
	if p == nil {
		return nil
	}
	return func(done, total int) { p(label, unit, done, total) }
}

// progressLine rewrites one progress line on w at most a few times a second, with an ETA.
func progressLine(w io.Writer) func(label, unit string, done, total int) {
	var last time.Time
	start := time.Now()
	return func(label, unit string, done, total int) {
		now := time.Now()
		if now.Sub(last) < 200*time.Millisecond && done < total {
			return
		}
		last = now
		pct := 0.0
		if total > 0 {
			pct = min(100, 100*float64(done)/float64(total))
		}
		eta := "?"
		if el := now.Sub(start); done > 0 && total >= done {
			eta = (time.Duration(float64(el) / float64(done) * float64(total-done))).Round(time.Second).String()
		}
		fmt.Fprintf(w, "\r%s: %5.1f%%  %d / %d %s  eta %s   ", label, pct, done, total, unit, eta)
	}
}

// The JSON documents. Decimals (prices, quantities, P&L, fees) are JSON numbers written with
// the ledger's exact digits (json.Number from decimal.String), not floats and not strings.

type backtestJSON struct {
	Metrics engine.Metrics `json:"metrics"`
	Trades  []tradeJSON    `json:"trades"`
}

type tradeJSON struct {
	Side       string      `json:"side"`
	EntryTime  int64       `json:"entry_time"`
	EntryPrice json.Number `json:"entry_price"`
	ExitTime   int64       `json:"exit_time"`
	ExitPrice  json.Number `json:"exit_price"`
	Quantity   json.Number `json:"quantity"`
	PnL        json.Number `json:"pnl"`
	PnLPct     json.Number `json:"pnl_pct"`
	Fees       json.Number `json:"fees"`
	ExitReason string      `json:"exit_reason"`
}

func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

func tradesJSON(ts []engine.Trade) []tradeJSON {
	out := make([]tradeJSON, len(ts))
	for i, t := range ts {
		out[i] = tradeJSON{
			Side: t.Side, EntryTime: t.EntryTime, EntryPrice: num(t.EntryPrice),
			ExitTime: t.ExitTime, ExitPrice: num(t.ExitPrice), Quantity: num(t.Quantity),
			PnL: num(t.PnL), PnLPct: num(t.PnLPct), Fees: num(t.Fees), ExitReason: t.ExitReason,
		}
	}
	return out
}

type sweepDocJSON struct {
	Sweep sweepJSONPart `json:"sweep"`
	Best  bestJSON      `json:"best"`
}

type sweepJSONPart struct {
	RankedBy string         `json:"ranked_by"`
	Runs     []sweepRunJSON `json:"runs"`
	Skipped  int            `json:"skipped"`
}

type sweepRunJSON struct {
	Params  map[string]any `json:"params"`
	Metrics engine.Metrics `json:"metrics"`
}

type bestJSON struct {
	Params  map[string]any `json:"params"`
	Metrics engine.Metrics `json:"metrics"`
	Trades  []tradeJSON    `json:"trades"`
}

// paramsJSON types parameter values by kind: Int as integers, Bool as true/false, Float as
// numbers.
func paramsJSON(s strategies.Strategy, v strategies.Values) map[string]any {
	out := make(map[string]any, len(v))
	for _, p := range s.Params() {
		x, ok := v[p.Name]
		if !ok {
			continue
		}
		switch p.Kind {
		case strategies.Int:
			out[p.Name] = int64(x)
		case strategies.Bool:
			out[p.Name] = x != 0
		default:
			out[p.Name] = x
		}
	}
	return out
}

func sweepJSON(s strategies.Strategy, sw engine.SweepResult) sweepDocJSON {
	doc := sweepDocJSON{Sweep: sweepJSONPart{RankedBy: sw.RankedBy, Skipped: sw.Skipped, Runs: make([]sweepRunJSON, len(sw.Runs))}}
	for i, r := range sw.Runs {
		doc.Sweep.Runs[i] = sweepRunJSON{Params: paramsJSON(s, r.Params), Metrics: r.Metrics}
	}
	doc.Best = bestJSON{Params: paramsJSON(s, sw.Runs[0].Params), Metrics: sw.Best.Metrics, Trades: tradesJSON(sw.Best.Trades)}
	return doc
}

// The text summaries.

func headline(r engine.ReportInput) string {
	from, to := r.From, r.To
	if eq := r.Result.Equity; len(eq.Times) > 0 && from == 0 {
		from, to = eq.Times[0], eq.Times[len(eq.Times)-1]
	}
	mkt := strings.Join(strings.Fields(r.Exchange+" "+r.Symbol+" "+r.Timeframe.String()), " ")
	return fmt.Sprintf("%s %s\n%s · %s → %s UTC · %d candles", r.Strategy, r.Params, mkt,
		time.UnixMilli(from).UTC().Format("2006-01-02 15:04"), time.UnixMilli(to).UTC().Format("2006-01-02 15:04"), r.Result.Candles)
}

func printMetrics(w io.Writer, m engine.Metrics) {
	rows := engine.MetricRows(m)
	lw, vw := 0, 0
	for _, r := range rows {
		lw, vw = max(lw, utf8.RuneCountInString(r.Label)), max(vw, utf8.RuneCountInString(r.Value))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %*s\n", lw, r.Label, vw, r.Value)
	}
}

func printBacktest(w io.Writer, r engine.ReportInput) {
	fmt.Fprintln(w, headline(r))
	fmt.Fprintln(w)
	printMetrics(w, r.Result.Metrics)
	fmt.Fprintln(w)
	printTradeCount(w, r.Result.Trades)
}

func printTradeCount(w io.Writer, ts []engine.Trade) {
	reasons := map[string]int{}
	var keys []string
	for _, t := range ts {
		if reasons[t.ExitReason] == 0 {
			keys = append(keys, t.ExitReason)
		}
		reasons[t.ExitReason]++
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, reasons[k])
	}
	if len(ts) == 0 {
		fmt.Fprintln(w, "0 trades")
		return
	}
	fmt.Fprintf(w, "%d trades (exits: %s)\n", len(ts), strings.Join(parts, ", "))
}

// sweepTop is how many runs the text summary of a sweep lists.
const sweepTop = 10

func printSweep(w io.Writer, s strategies.Strategy, sw engine.SweepResult, r engine.ReportInput) {
	fmt.Fprintf(w, "sweep of %s: %d combinations, %d run, %d skipped; ranked by %s\n", s.Name(), sw.Combos, len(sw.Runs), sw.Skipped, sw.RankedBy)
	if sw.Skipped > 0 {
		fmt.Fprintf(w, "  first skipped: %s\n", sw.SkipReason)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\t%s\t%s\ttotal return\tmax drawdown\ttrades\twin rate\n", strings.Join(names(sw), "\t"), sw.RankedBy)
	for i, run := range sw.Runs {
		if i == sweepTop {
			break
		}
		m := run.Metrics
		var ps []string
		for _, rg := range sw.Ranges {
			ps = append(ps, strconv.FormatFloat(run.Params[rg.Param], 'g', -1, 64))
		}
		v, _ := engine.RankValue(sw.RankedBy, m)
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%d\t%s\n", i+1, strings.Join(ps, "\t"), strconv.FormatFloat(v, 'f', 4, 64),
			engine.FormatPercent(m.TotalReturn), engine.FormatPercent(m.MaxDrawdown), m.Trades, engine.FormatPercent(m.WinRate))
	}
	tw.Flush()
	if len(sw.Runs) > sweepTop {
		fmt.Fprintf(w, "  … %d more (--json lists them all)\n", len(sw.Runs)-sweepTop)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "best: ")
	printBacktest(w, r)
}

// names lists the swept parameters.
func names(sw engine.SweepResult) []string {
	out := make([]string, len(sw.Ranges))
	for i, r := range sw.Ranges {
		out[i] = r.Param
	}
	return out
}
