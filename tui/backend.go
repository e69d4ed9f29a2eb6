package tui

import (
	"context"
	"time"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// Backend is everything the console needs from the running engine. *engine.Engine implements
// it; tests use a fake. The UI never talks to storage or feeds directly.
type Backend interface {
	// Subscribe streams engine events until ctx is done. Slow readers lose events rather than
	// block the engine, so panes treat events as updates to state they can also re-read.
	Subscribe(ctx context.Context) <-chan engine.Event

	Exchange() string
	Symbols() []market.Symbol
	Timeframes() []market.Timeframe

	// Candles returns up to limit of the newest candles of a series, oldest first; the last one
	// may be the still-open candle (it has the largest Time).
	Candles(ctx context.Context, sym market.Symbol, tf market.Timeframe, limit int) ([]market.Candle, error)
	// RecentTrades returns up to n of the newest trades of a symbol, oldest first.
	RecentTrades(sym market.Symbol, n int) []market.Trade
	// Health is the current health of every stream.
	Health() []engine.StreamHealth
	// FrameLatency is the feed's decode-to-bus latency (socket read to bus publish); false on
	// a feed without frames (the sim, a replay).
	FrameLatency() (engine.FrameLatency, bool)
	// Degraded returns the recent spans of feed time during which sym's data was not whole
	// (its trades reconnecting, its book resyncing), oldest first; the last one has To 0
	// while it lasts.
	Degraded(sym market.Symbol) []engine.Degraded
	// Logs returns up to n of the newest engine log entries, oldest first.
	Logs(n int) []engine.LogEntry

	// Pausable reports whether the feed can be paused (the simulated exchange can).
	Pausable() bool
	SetPaused(bool)
	Paused() bool

	// OrderFlow is the live order-flow state of sym (best bid/ask, spread, OBI, CVD, alert);
	// false for a symbol the engine does not run.
	OrderFlow(sym market.Symbol) (engine.OrderFlow, bool)
	// BookLevels returns up to n levels of each side of sym's book, best first.
	BookLevels(sym market.Symbol, n int) (bids, asks []market.Level)
	// FlowWindows are the bar widths FlowBars serves, shortest first.
	FlowWindows() []time.Duration
	// FlowBars returns up to n of the newest order-flow bars of sym with the given width,
	// oldest first; nil when the width is not one of FlowWindows.
	FlowBars(sym market.Symbol, window time.Duration, n int) []market.FlowBar

	// FeedEnded reports whether the feed stopped on its own (the end of a replay, a feed error).
	FeedEnded() bool

	// Now is the engine clock (the simulated clock on the sim exchange).
	Now() time.Time

	// JobsEnabled reports whether the engine runs background jobs (the other job methods
	// fail, or list nothing, without a job runner).
	JobsEnabled() bool
	// SubmitJob validates and queues a job: jobType engine.JobTypeBacktest with an
	// engine.BacktestJob, or engine.JobTypeSweep with an engine.SweepJob. A bad payload is an
	// error naming the field at fault.
	SubmitJob(ctx context.Context, jobType string, payload any) (engine.JobView, error)
	// CancelJob cancels a pending or running job.
	CancelJob(ctx context.Context, id int64) error
	// ListJobs returns up to n jobs, newest first.
	ListJobs(ctx context.Context, n int) ([]engine.JobView, error)
	// JobDetail returns a completed job with its full result. It recomputes the run, which
	// can take a second: call it from a command.
	JobDetail(ctx context.Context, id int64) (engine.JobDetail, error)
	// WriteJobReport writes a completed job's HTML report and returns its path (slow, like
	// JobDetail).
	WriteJobReport(ctx context.Context, id int64) (string, error)
	// Strategies lists the strategies jobs can run, for the forms.
	Strategies() []strategies.Strategy

	// BotsEnabled reports whether this process runs the bots (one process per data dir does;
	// in another one the bot methods below fail with an error saying so, and ListBots lists the
	// stored bots).
	BotsEnabled() bool
	// ListBots returns every bot, by name.
	ListBots(ctx context.Context) ([]engine.BotView, error)
	// CreateBot checks and stores a new bot (stopped). The error names the field at fault.
	CreateBot(ctx context.Context, spec engine.BotSpec) (engine.BotView, error)
	// UpdateBot replaces a stopped (or failed) bot's definition; the name may not change.
	UpdateBot(ctx context.Context, id int64, spec engine.BotSpec) (engine.BotView, error)
	// DeleteBot deletes a stopped (or failed) bot with its signals, trades and history.
	DeleteBot(ctx context.Context, id int64) error
	// StartBot starts a stopped or failed bot, or resumes a paused one.
	StartBot(ctx context.Context, id int64) error
	// PauseBot stops a running bot's entries; it keeps managing exits (TP/SL/timeout, exit
	// signals).
	PauseBot(ctx context.Context, id int64) error
	// StopBot flattens the bot's position at market, then stops it.
	StopBot(ctx context.Context, id int64) error
	// BotDetail is a bot with its candles, indicator lines, signals, executions and equity
	// (reads the database: call it from a command).
	BotDetail(ctx context.Context, id int64) (engine.BotDetail, error)
	// Portfolio is every bot's positions, closed trades and equity together (reads the
	// database: call it from a command).
	Portfolio(ctx context.Context) (engine.Portfolio, error)
	// PanicPreview lists what Panic would stop and flatten; Panic stops every bot and flattens
	// every position.
	PanicPreview(ctx context.Context) (engine.PanicPreview, error)
	Panic(ctx context.Context) (engine.PanicReport, error)
}
