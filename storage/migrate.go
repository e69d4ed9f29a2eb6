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
