package storage

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tradeconsole/tradeconsole/market"
)

// Synchronous candle writes, for history downloads (tradeconsole fetch, data_sync jobs): a
// page of candles is committed before the next one is fetched, so that an interrupted
// download loses at most the page in flight and resumes after the last stored candle.

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

// LastCandleTimeIn returns the newest candle stamp of a series within [from, to]; ok is false
// when the series has no candle there.
func (db *DB) LastCandleTimeIn(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) (t int64, ok bool, err error) {
	if err := checkTF(tf); err != nil {
		return 0, false, fmt.Errorf("storage: last candle time %s %s: %w", exchange, sym, err)
	}
	var v sql.NullInt64
	err = db.r.QueryRowContext(ctx, `SELECT MAX(timestamp) FROM market_data
		WHERE exchange = ? AND symbol = ? AND timeframe = ? AND timestamp BETWEEN ? AND ?`,
		exchange, string(sym), tf.String(), from, to).Scan(&v)
	if err != nil {
		return 0, false, fmt.Errorf("storage: last candle time %s %s %s: %w", exchange, sym, tf, err)
	}
	return v.Int64, v.Valid, nil
}
