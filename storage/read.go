package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/tradeconsole/tradeconsole/market"
)

// SeriesCount describes one stored candle series.
type SeriesCount struct {
	Exchange  string
	Symbol    market.Symbol
	Timeframe market.Timeframe
	Count     int64
	First     int64 // oldest candle stamp, unix ms UTC
	Last      int64 // newest candle stamp, unix ms UTC
}

// readStmts are the hot read queries, prepared once on the read pool.
type readStmts struct {
	candles, lastCandles, lastCandleTime, countCandles, trades, countTrades *sql.Stmt
}

const selectCandleCols = `timestamp, open, high, low, close, volume, trades`

func (rs *readStmts) prepare(ctx context.Context, r *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&rs.candles, `SELECT ` + selectCandleCols + ` FROM market_data
			WHERE exchange = ? AND symbol = ? AND timeframe = ? AND timestamp BETWEEN ? AND ?
			ORDER BY timestamp`},
		{&rs.lastCandles, `SELECT ` + selectCandleCols + ` FROM market_data
			WHERE exchange = ? AND symbol = ? AND timeframe = ?
			ORDER BY timestamp DESC LIMIT ?`},
		{&rs.lastCandleTime, `SELECT MAX(timestamp) FROM market_data
			WHERE exchange = ? AND symbol = ? AND timeframe = ?`},
		{&rs.countCandles, `SELECT COUNT(*) FROM market_data
			WHERE exchange = ? AND symbol = ? AND timeframe = ?`},
		{&rs.trades, `SELECT trade_id, timestamp, price, size, side FROM raw_trades
			WHERE exchange = ? AND symbol = ? AND timestamp BETWEEN ? AND ?
			ORDER BY timestamp, id`},
		{&rs.countTrades, `SELECT COUNT(*) FROM raw_trades WHERE exchange = ? AND symbol = ?`},
	} {
		st, err := r.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare read query: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (rs *readStmts) close() {
	for _, st := range []*sql.Stmt{rs.candles, rs.lastCandles, rs.lastCandleTime, rs.countCandles, rs.trades, rs.countTrades} {
		if st != nil {
			st.Close()
		}
	}
}

func checkTF(tf market.Timeframe) error {
	if !tf.Valid() {
		return fmt.Errorf("invalid timeframe %s", tf)
	}
	return nil
}

// Candles returns the candles stamped in [from, to], oldest first.
func (db *DB) Candles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) ([]market.Candle, error) {
	if err := checkTF(tf); err != nil {
		return nil, fmt.Errorf("storage: candles %s %s: %w", exchange, sym, err)
	}
	rows, err := db.rs.candles.QueryContext(ctx, exchange, string(sym), tf.String(), from, to)
	if err != nil {
		return nil, fmt.Errorf("storage: candles %s %s %s: %w", exchange, sym, tf, err)
	}
	out, err := scanCandles(rows, exchange, sym, tf, 0)
	if err != nil {
		return nil, fmt.Errorf("storage: candles %s %s %s: %w", exchange, sym, tf, err)
	}
	return out, nil
}

// LastCandles returns the newest n candles of a series, oldest first.
func (db *DB) LastCandles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, n int) ([]market.Candle, error) {
	if err := checkTF(tf); err != nil {
		return nil, fmt.Errorf("storage: last candles %s %s: %w", exchange, sym, err)
	}
	if n <= 0 {
		return nil, nil
	}
	rows, err := db.rs.lastCandles.QueryContext(ctx, exchange, string(sym), tf.String(), n)
	if err != nil {
		return nil, fmt.Errorf("storage: last candles %s %s %s: %w", exchange, sym, tf, err)
	}
	out, err := scanCandles(rows, exchange, sym, tf, min(n, 4096))
	if err != nil {
		return nil, fmt.Errorf("storage: last candles %s %s %s: %w", exchange, sym, tf, err)
	}
	slices.Reverse(out)
	return out, nil
}

func scanCandles(rows *sql.Rows, exchange string, sym market.Symbol, tf market.Timeframe, hint int) ([]market.Candle, error) {
	defer rows.Close()
	out := make([]market.Candle, 0, hint)
	for rows.Next() {
		c := market.Candle{Exchange: exchange, Symbol: sym, Timeframe: tf}
		if err := rows.Scan(&c.Time, &c.Open, &c.High, &c.Low, &c.Close, &c.Volume, &c.Trades); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastCandleTime returns the newest candle stamp of a series; ok is false when it is empty.
func (db *DB) LastCandleTime(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe) (t int64, ok bool, err error) {
	if err := checkTF(tf); err != nil {
		return 0, false, fmt.Errorf("storage: last candle time %s %s: %w", exchange, sym, err)
	}
	var v sql.NullInt64
	if err := db.rs.lastCandleTime.QueryRowContext(ctx, exchange, string(sym), tf.String()).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("storage: last candle time %s %s %s: %w", exchange, sym, tf, err)
	}
	return v.Int64, v.Valid, nil
}

// CountCandles returns how many candles a series has.
func (db *DB) CountCandles(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe) (int64, error) {
	if err := checkTF(tf); err != nil {
		return 0, fmt.Errorf("storage: count candles %s %s: %w", exchange, sym, err)
	}
	var n int64
	if err := db.rs.countCandles.QueryRowContext(ctx, exchange, string(sym), tf.String()).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count candles %s %s %s: %w", exchange, sym, tf, err)
	}
	return n, nil
}

// SeriesCounts lists every stored candle series, ordered by exchange, symbol and timeframe
// (shortest first).
func (db *DB) SeriesCounts(ctx context.Context) ([]SeriesCount, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT exchange, symbol, timeframe, COUNT(*), MIN(timestamp), MAX(timestamp)
		FROM market_data GROUP BY exchange, symbol, timeframe`)
	if err != nil {
		return nil, fmt.Errorf("storage: series counts: %w", err)
	}
	defer rows.Close()
	var out []SeriesCount
	for rows.Next() {
		var s SeriesCount
		var sym, tf string
		if err := rows.Scan(&s.Exchange, &sym, &tf, &s.Count, &s.First, &s.Last); err != nil {
			return nil, fmt.Errorf("storage: series counts: %w", err)
		}
		s.Symbol = market.Symbol(sym)
		if s.Timeframe, err = market.ParseTimeframe(tf); err != nil {
			return nil, fmt.Errorf("storage: series counts: %s %s: %w", s.Exchange, sym, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: series counts: %w", err)
	}
	slices.SortFunc(out, func(a, b SeriesCount) int {
		return cmp.Or(cmp.Compare(a.Exchange, b.Exchange), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Timeframe, b.Timeframe))
	})
	return out, nil
}

// Trades returns the trades with time in [from, to], ordered by time then insertion order.
func (db *DB) Trades(ctx context.Context, exchange string, sym market.Symbol, from, to int64) ([]market.Trade, error) {
	rows, err := db.rs.trades.QueryContext(ctx, exchange, string(sym), from, to)
	if err != nil {
		return nil, fmt.Errorf("storage: trades %s %s: %w", exchange, sym, err)
	}
	defer rows.Close()
	var out []market.Trade
	for rows.Next() {
		t := market.Trade{Exchange: exchange, Symbol: sym}
		var side string
		if err := rows.Scan(&t.ID, &t.Time, &t.Price, &t.Size, &side); err != nil {
			return nil, fmt.Errorf("storage: trades %s %s: %w", exchange, sym, err)
		}
		if t.Side, err = parseSide(side); err != nil {
			return nil, fmt.Errorf("storage: trades %s %s: trade %s: %w", exchange, sym, t.ID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: trades %s %s: %w", exchange, sym, err)
	}
	return out, nil
}

func parseSide(s string) (market.Side, error) {
	switch s { // the two spellings the writer stores, without an allocation
	case "buy":
		return market.Buy, nil
	case "sell":
		return market.Sell, nil
	case "unknown":
		return market.SideUnknown, nil
	}
	return market.ParseSide(s)
}

// CountTrades returns how many trades are stored for a symbol.
func (db *DB) CountTrades(ctx context.Context, exchange string, sym market.Symbol) (int64, error) {
	var n int64
	if err := db.rs.countTrades.QueryRowContext(ctx, exchange, string(sym)).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count trades %s %s: %w", exchange, sym, err)
	}
	return n, nil
}
