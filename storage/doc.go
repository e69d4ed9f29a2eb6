// Package storage is tradeconsole's main SQLite database (modernc.org/sqlite, no cgo):
// numbered migrations, one batching writer and the read queries the engine needs.
// It imports only the market package.
//
// # Schema
//
// Every timestamp is unix milliseconds UTC. Migrations are numbered and recorded in
// schema_migrations(version, name, applied_at); Open applies the missing ones, each in its
// own transaction, and refuses a database whose version is newer than this binary knows.
// Migration 1:
//
//	market_data(exchange, symbol, timeframe, timestamp, open, high, low, close, volume, trades)
//	    PRIMARY KEY (exchange, symbol, timeframe, timestamp), WITHOUT ROWID.
//	    timeframe is market.Timeframe.String() ("1m"); timestamp is the right-aligned stamp.
//	raw_trades(id, exchange, symbol, trade_id, timestamp, price, size, side)
//	    UNIQUE (exchange, symbol, trade_id); index on (exchange, symbol, timestamp);
//	    side is "buy" or "sell" ("unknown" when the venue did not say).
//
// Migration 2 (jobs and backtest results; see jobs.go):
//
//	jobs(id, uuid, job_type, status, payload, result, error, progress, created_at, started_at,
//	    completed_at); status pending | running | completed | failed | cancelled.
//	strategy_runs(id, job_id, strategy, params, exchange, symbol, timeframe, start_ts, end_ts,
//	    metrics, created_at); strategy_signals(id, run_id, timestamp, action, value, direction,
//	    confidence); strategy_run_trades(id, run_id, side, entry_time, entry_price, exit_time,
//	    exit_price, quantity, pnl, pnl_pct, fees, exit_reason) with decimals as exact text.
//
// Job state changes are durable when they return: each is its own BEGIN IMMEDIATE
// transaction on the writer connection at synchronous=FULL, outside the batching queue.
//
// Order-flow files (orderflow_*.go) are separate SQLite files in the seed schema.
//
// Connections run in WAL mode with synchronous=NORMAL, busy_timeout and foreign_keys=ON.
// There is one writer connection (temp_store=MEMORY, for the statement journals of
// multi-row upserts) whose transactions begin with BEGIN IMMEDIATE, and a separate bounded
// pool of query_only read connections that all the read methods use.
//
// # The writer
//
// UpsertCandles and InsertTrades copy the rows into an in-memory queue and return at once:
// they never wait for the database and never drop a valid row. One goroutine, started by
// Open and stopped by Close, commits the queue in batches: when Options.BatchSize rows are
// waiting, when Options.FlushInterval has passed since the oldest waiting row arrived, or
// when Flush or Close asks. A batch is one BEGIN IMMEDIATE transaction of at most BatchSize
// rows, written with prepared multi-row upserts (up to 256 rows per statement). Rows are
// written in the order they were enqueued, so for the same candle key the last enqueued
// value wins (also within one batch or one statement), and a trade whose
// (exchange, symbol, trade_id) is already stored is ignored. Writes are therefore idempotent.
//
// When a commit fails (for example SQLITE_BUSY after busy_timeout) the batch is kept, the
// error is logged and counted in WriterStats, and the same batch is retried with exponential
// backoff before anything newer is written. Flush returns once every row enqueued before it
// was called is committed, or with the writer's last error if it is failing. Close commits
// everything enqueued before it, then stops the writer and closes the connections; only if
// Close's context ends first are the remaining rows lost, and Close says how many (give Close
// a deadline: a writer that keeps failing would otherwise keep it waiting). The queue is
// unbounded, so a database that stays unwritable grows memory rather than drop rows. Rows
// enqueued after Close, and rows that cannot be stored faithfully (empty exchange, symbol or
// trade id, an invalid timeframe, a NaN or infinite number), are counted and not written.
package storage
