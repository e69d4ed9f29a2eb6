package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// Order-flow files use the seed schema exactly (DESIGN.md): book and trades are the input,
// metrics the output of `tradeconsole orderflow`. Files this program writes store levels as
// JSON [[price, size], …] text and timestamps as unix milliseconds.

// OrderflowInputSchema creates the input tables of an order-flow file.
const OrderflowInputSchema = `
CREATE TABLE IF NOT EXISTS book (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	instrument TEXT,
	bids       TEXT,
	asks       TEXT,
	timestamp  INTEGER
);
CREATE TABLE IF NOT EXISTS trades (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	instrument TEXT,
	trade_id   TEXT,
	price      REAL,
	size       REAL,
	side       TEXT,
	timestamp  INTEGER
);`

// OrderflowMetricsTable is the metrics table's definition, without its indexes.
const OrderflowMetricsTable = `
CREATE TABLE metrics (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	snapshot_id INTEGER,
	timestamp   INTEGER,
	obi         REAL,
	cvd         REAL,
	best_bid    REAL,
	best_ask    REAL
)`

// OrderflowMetricsIndexes are the metrics table's indexes.
const OrderflowMetricsIndexes = `
CREATE INDEX IF NOT EXISTS idx_metrics_timestamp ON metrics(timestamp);
CREATE INDEX IF NOT EXISTS idx_metrics_snapshot_id ON metrics(snapshot_id);`

// CreateOrderflowInput creates the book and trades tables in db if they are missing.
func CreateOrderflowInput(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, OrderflowInputSchema); err != nil {
		return fmt.Errorf("orderflow: create book and trades tables: %w", err)
	}
	return nil
}
