package storage

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tradeconsole/tradeconsole/market"
)

// Synchronous candle writes, for history downloads (tradeconsole fetch, data_sync jobs): a
// page of candles is committed before the next one is fetched, so that an interrupted
// download loses at most the page in flight, and a rerun fetches only what is still missing
// (CandleRunsIn).

// SaveCandles upserts candles now, in one BEGIN IMMEDIATE transaction on the writer
// connection, with the same statement as the batching writer: a candle replaces a stored one
// with the same (exchange, symbol, timeframe, time). It returns once the transaction is
// committed. A candle that cannot be stored faithfully (empty exchange or symbol, an invalid
// timeframe, NaN or Inf) fails the call with an error naming it, and nothing is written.
// Rows queued on the batching writer are not flushed first: both paths upsert, and the last
// commit of a key wins.
func (db *DB) SaveCandles(ctx context.Context, cs []market.Candle) (err error) {
	if len(cs) == 0 {
		return nil
	}
	for i := range cs {
		if !validCandle(&cs[i]) {
			c := &cs[i]
			return fmt.Errorf("storage: save candles: candle %d (%s %s %s at %d) cannot be stored: empty key, invalid timeframe, NaN or Inf",
				i, c.Exchange, c.Symbol, c.Timeframe, c.Time)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil) // _txlock=immediate: BEGIN IMMEDIATE
	if err != nil {
		return fmt.Errorf("storage: save candles: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var (
		args    = make([]any, 0, min(len(cs), maxChunk)*candleCols)
		ex, sym lastBox[string]
		tf      tfBox
		stmts   = map[int]*sql.Stmt{}
	)
	for rest := cs; len(rest) > 0; {
		n := 1 << chunkLog(min(len(rest), maxChunk)) // the writer's statement sizes: 256, 128, …, 1
		st := stmts[n]
		if st == nil {
			if st, err = tx.PrepareContext(ctx, candleUpsertSQL(n)); err != nil {
				return fmt.Errorf("storage: save candles: prepare: %w", err)
			}
			defer st.Close()
			stmts[n] = st
		}
		args = args[:0]
		for i := range n {
			c := &rest[i]
			args = append(args, ex.box(c.Exchange), sym.box(string(c.Symbol)), tf.box(c.Timeframe), c.Time,
				c.Open, c.High, c.Low, c.Close, c.Volume, c.Trades)
		}
		if _, err = st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("storage: save candles %s %s %s: %w", rest[0].Exchange, rest[0].Symbol, rest[0].Timeframe, err)
		}
		rest = rest[n:]
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("storage: save candles: commit: %w", err)
	}
	return nil
}

// CandleRun is a stretch of consecutive stored candles of one series: every stamp from First to
// Last, one timeframe apart, N of them.
type CandleRun struct {
	First, Last int64
	N           int64
}

// CandleRunsIn returns the runs of consecutive candles a series has stored within [from, to],
// oldest first: the holes between them are what a history download still has to fetch. One
// indexed scan of the range (gaps and islands: a run is the stamps whose distance from their
// rank in timeframes is equal).
func (db *DB) CandleRunsIn(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) ([]CandleRun, error) {
	if err := checkTF(tf); err != nil {
		return nil, fmt.Errorf("storage: candle runs %s %s: %w", exchange, sym, err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT MIN(timestamp), MAX(timestamp), COUNT(*) FROM (
			SELECT timestamp, timestamp - ? * ROW_NUMBER() OVER (ORDER BY timestamp) AS island FROM market_data
			WHERE exchange = ? AND symbol = ? AND timeframe = ? AND timestamp BETWEEN ? AND ?)
		GROUP BY island ORDER BY 1`,
		tf.Millis(), exchange, string(sym), tf.String(), from, to)
	if err != nil {
		return nil, fmt.Errorf("storage: candle runs %s %s %s: %w", exchange, sym, tf, err)
	}
	defer rows.Close()
	var runs []CandleRun
	for rows.Next() {
		var r CandleRun
		if err := rows.Scan(&r.First, &r.Last, &r.N); err != nil {
			return nil, fmt.Errorf("storage: candle runs %s %s %s: %w", exchange, sym, tf, err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: candle runs %s %s %s: %w", exchange, sym, tf, err)
	}
	return runs, nil
}
