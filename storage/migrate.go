package storage

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// migration is one numbered schema change. Versions start at 1 and increase by one;
// a released migration is never edited, only followed by a new one.
type migration struct {
	version int
	name    string
	sql     string
}

var migrations = []migration{
	{1, "market data and raw trades", `
CREATE TABLE market_data (
	exchange  TEXT    NOT NULL,
	symbol    TEXT    NOT NULL,
	timeframe TEXT    NOT NULL, -- market.Timeframe.String(): "1m", "1h", ...
	timestamp INTEGER NOT NULL, -- right-aligned candle stamp, unix ms UTC
	open      REAL,
	high      REAL,
	low       REAL,
	close     REAL,
	volume    REAL,
	trades    INTEGER,
	PRIMARY KEY (exchange, symbol, timeframe, timestamp)
) WITHOUT ROWID;

CREATE TABLE raw_trades (
	id        INTEGER PRIMARY KEY,
	exchange  TEXT    NOT NULL,
	symbol    TEXT    NOT NULL,
	trade_id  TEXT    NOT NULL,
	timestamp INTEGER NOT NULL, -- unix ms UTC
	price     REAL    NOT NULL,
	size      REAL    NOT NULL,
	side      TEXT    NOT NULL, -- buy | sell
	UNIQUE (exchange, symbol, trade_id)
);

CREATE INDEX raw_trades_time ON raw_trades (exchange, symbol, timestamp);
`},
	{2, "jobs, strategy runs, their signals and trades", `
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	uuid         TEXT    NOT NULL UNIQUE,
	job_type     TEXT    NOT NULL, -- backtest | sweep | orderflow
	status       TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
	payload      TEXT    NOT NULL, -- JSON
	result       TEXT,             -- JSON, once completed
	error        TEXT,             -- once failed
	progress     REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
	created_at   INTEGER NOT NULL, -- unix ms UTC
	started_at   INTEGER,          -- unix ms UTC, set when a worker claims it
	completed_at INTEGER           -- unix ms UTC, set when it completes, fails or is cancelled
);

CREATE INDEX jobs_status ON jobs (status, id);

-- Backtest runs, kept apart from the live signals and trades of bots.
CREATE TABLE strategy_runs (
	id         INTEGER PRIMARY KEY,
	job_id     INTEGER REFERENCES jobs (id) ON DELETE CASCADE, -- NULL: not run by a job
	strategy   TEXT    NOT NULL,
	params     TEXT    NOT NULL, -- JSON object, the resolved parameter values
	exchange   TEXT    NOT NULL,
	symbol     TEXT    NOT NULL,
	timeframe  TEXT    NOT NULL,
	start_ts   INTEGER NOT NULL, -- first candle stamp, unix ms UTC
	end_ts     INTEGER NOT NULL, -- last candle stamp, unix ms UTC
	metrics    TEXT    NOT NULL, -- JSON, engine.Metrics
	created_at INTEGER NOT NULL  -- unix ms UTC
);

CREATE INDEX strategy_runs_job ON strategy_runs (job_id);

CREATE TABLE strategy_signals (
	id         INTEGER PRIMARY KEY,
	run_id     INTEGER NOT NULL REFERENCES strategy_runs (id) ON DELETE CASCADE,
	timestamp  INTEGER NOT NULL, -- the candle stamp (or order-flow snapshot time), unix ms UTC
	action     TEXT    NOT NULL, -- hold | enter_long | enter_short | exit
	value      REAL    NOT NULL, -- 0 = sell … 1 = buy
	direction  TEXT    NOT NULL, -- long | short | flat
	confidence TEXT    NOT NULL  -- low | medium | high
);

CREATE INDEX strategy_signals_run ON strategy_signals (run_id, timestamp);

-- Decimals are TEXT, so that they stay exact.
CREATE TABLE strategy_run_trades (
	id          INTEGER PRIMARY KEY,
	run_id      INTEGER NOT NULL REFERENCES strategy_runs (id) ON DELETE CASCADE,
	side        TEXT    NOT NULL, -- long | short
	entry_time  INTEGER NOT NULL, -- unix ms UTC
	entry_price TEXT    NOT NULL,
	exit_time   INTEGER NOT NULL,
	exit_price  TEXT    NOT NULL,
	quantity    TEXT    NOT NULL,
	pnl         TEXT    NOT NULL, -- net of both fees
	pnl_pct     TEXT    NOT NULL, -- a fraction
	fees        TEXT    NOT NULL,
	exit_reason TEXT    NOT NULL
);

CREATE INDEX strategy_run_trades_run ON strategy_run_trades (run_id, entry_time);
`},
	{3, "bots, signals, trades, positions, bot performance", `
-- Live (paper) bots and what they do. Deleting a bot deletes its signals, trades, position
-- and performance snapshots. Decimals are TEXT (decimal.Decimal.String()), so that a ledger
-- read back is exactly the ledger written.
CREATE TABLE bots (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL UNIQUE,
	source       TEXT    NOT NULL CHECK (source IN ('config', 'file', 'console')),
	spec         TEXT    NOT NULL, -- JSON, engine.BotSpec
	status       TEXT    NOT NULL CHECK (status IN ('stopped', 'running', 'paused', 'failed')),
	reason       TEXT    NOT NULL DEFAULT '', -- why failed or stopped; '' otherwise
	state        TEXT,                        -- JSON, the runner's ledger state; NULL until the first step
	last_candle  INTEGER NOT NULL DEFAULT 0,  -- stamp of the last candle a step was committed for, unix ms UTC
	heartbeat_at INTEGER NOT NULL DEFAULT 0,  -- wall clock, unix ms UTC
	started_at   INTEGER NOT NULL DEFAULT 0,  -- engine clock of the last start, unix ms UTC; 0 when stopped
	created_at   INTEGER NOT NULL,            -- unix ms UTC
	updated_at   INTEGER NOT NULL             -- unix ms UTC: last spec or status change
);

CREATE TABLE signals (
	id         INTEGER PRIMARY KEY,
	bot_id     INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
	timestamp  INTEGER NOT NULL, -- the candle stamp (or order-flow snapshot time), unix ms UTC
	action     TEXT    NOT NULL, -- hold | enter_long | enter_short | exit
	direction  TEXT    NOT NULL, -- long | short | flat
	confidence TEXT    NOT NULL, -- low | medium | high
	value      REAL    NOT NULL, -- 0 = sell … 1 = buy
	note       TEXT    NOT NULL DEFAULT '' -- why it was not acted on (paused, risk), or ''
);

CREATE INDEX signals_bot ON signals (bot_id, id);

-- One row per virtual execution. The exit-only columns are NULL on entries.
CREATE TABLE trades (
	id            INTEGER PRIMARY KEY,
	bot_id        INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL, -- the bot's execution number, from 1
	timestamp     INTEGER NOT NULL, -- unix ms UTC
	side          TEXT    NOT NULL CHECK (side IN ('buy', 'sell')),
	price         TEXT    NOT NULL, -- decimal
	quantity      TEXT    NOT NULL, -- decimal, base units
	notional      TEXT    NOT NULL, -- decimal, price × quantity
	fee           TEXT    NOT NULL, -- decimal, this execution's fee
	entry         INTEGER NOT NULL, -- 1: opens a position, 0: closes one
	reason        TEXT    NOT NULL, -- why: signal, take_profit, stop_loss, timeout, stop, ...
	position_side TEXT,             -- exits: the closed position's side, long | short
	entry_time    INTEGER,          -- exits: when the position was opened, unix ms UTC
	entry_price   TEXT,             -- exits: decimal, the position's entry price
	pnl           TEXT,             -- exits: decimal, net of both fees
	fees          TEXT,             -- exits: decimal, entry fee + exit fee
	UNIQUE (bot_id, seq)
);

CREATE INDEX trades_time ON trades (timestamp, id);

-- A bot's open position; at most one per bot, none when flat.
CREATE TABLE positions (
	bot_id         INTEGER PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
	side           TEXT    NOT NULL CHECK (side IN ('long', 'short')),
	quantity       TEXT    NOT NULL, -- decimal, base units
	entry_price    TEXT    NOT NULL, -- decimal
	entry_notional TEXT    NOT NULL, -- decimal
	entry_fee      TEXT    NOT NULL, -- decimal
	entry_time     INTEGER NOT NULL, -- unix ms UTC
	take_profit    TEXT,             -- decimal price; NULL when off
	stop_loss      TEXT,             -- decimal price; NULL when off
	deadline       INTEGER,          -- unix ms UTC; NULL when off
	updated_at     INTEGER NOT NULL  -- unix ms UTC
);

-- Performance snapshots; a second snapshot at the same time replaces the first.
CREATE TABLE bot_performance (
	id             INTEGER PRIMARY KEY,
	bot_id         INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
	timestamp      INTEGER NOT NULL, -- unix ms UTC (engine clock)
	equity         REAL    NOT NULL, -- cash + position value
	cash           REAL    NOT NULL,
	position_value REAL    NOT NULL, -- the open position marked to market
	realized       REAL    NOT NULL, -- net P&L of closed positions
	unrealized     REAL    NOT NULL, -- P&L of the open position
	UNIQUE (bot_id, timestamp)
);
`},
}

// latestVersion is the schema version this binary writes.
func latestVersion() int { return migrations[len(migrations)-1].version }

// checkMigrations reports a malformed migrations list (a programming error, caught by tests).
func checkMigrations(ms []migration) error {
	for i, m := range ms {
		if m.version != i+1 {
			return fmt.Errorf("storage: migration %d (%q) has version %d, want %d", i, m.name, m.version, i+1)
		}
		if m.sql == "" || m.name == "" {
			return fmt.Errorf("storage: migration %d has no name or sql", m.version)
		}
	}
	return nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT,
	applied_at INTEGER -- unix ms UTC
)`

func migrate(ctx context.Context, w *sql.DB, path string, log *slog.Logger) error {
	return applyMigrations(ctx, w, path, log, migrations)
}

func applyMigrations(ctx context.Context, w *sql.DB, path string, log *slog.Logger, ms []migration) error {
	if err := checkMigrations(ms); err != nil {
		return err
	}
	if _, err := w.ExecContext(ctx, createMigrationsTable); err != nil {
		return openError(path, fmt.Errorf("create schema_migrations: %w", err))
	}
	latest := ms[len(ms)-1].version
	cur, err := schemaVersion(ctx, w)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	if cur > latest {
		return fmt.Errorf("storage: open %s: database schema version %d is newer than this binary supports (%d); use a newer tradeconsole", path, cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if err := applyOne(ctx, w, m); err != nil {
			return fmt.Errorf("storage: open %s: migration %d (%s): %w", path, m.version, m.name, err)
		}
		log.Info("storage: applied migration", "db", path, "version", m.version, "name", m.name)
	}
	return nil
}

// applyOne applies m in its own BEGIN IMMEDIATE transaction, unless another process applied
// it since we looked.
func applyOne(ctx context.Context, w *sql.DB, m migration) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryRower) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// SchemaVersion is the highest migration applied to the database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, db.r)
	if err != nil {
		return 0, fmt.Errorf("storage: %w", err)
	}
	return v, nil
}
