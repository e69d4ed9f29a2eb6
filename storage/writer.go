package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// WriterStats is a snapshot of the writer's counters.
type WriterStats struct {
	RowsWritten      int64         // rows in committed batches (duplicates ignored by the upsert included)
	Batches          int64         // committed transactions
	Queued           int64         // rows waiting, including a batch being written or retried
	Errors           int64         // failed commit attempts
	LastError        string        // the most recent commit error, "" if none yet
	MaxBatchDuration time.Duration // longest successful transaction
	Dropped          int64         // rows enqueued after Close (ignored)
	Invalid          int64         // rows refused because they cannot be stored faithfully
}

// writerState is shared between the enqueuers, the writer goroutine and Flush.
type writerState struct {
	mu sync.Mutex

	candles  chunkQueue[market.Candle]
	trades   chunkQueue[market.Trade]
	firstAt  time.Time // arrival of the oldest queued row; zero when the queue is empty
	inFlight int64     // rows taken by the writer and not yet committed

	// Sequence numbers: rows ever accepted, and rows committed (always a FIFO prefix).
	candlesIn, tradesIn     uint64
	candlesDone, tradesDone uint64

	flushWaiters int  // Flush calls waiting: commit now
	closing      bool // Close called: commit everything, then exit
	failing      bool // the last commit attempt failed
	lastErr      error
	errSeq       uint64
	progress     chan struct{} // closed and replaced after every commit attempt
	lost         int64         // rows abandoned by a hard stop

	rowsWritten, batches, errors, dropped, invalid int64
	maxBatch                                       time.Duration
}

// UpsertCandles enqueues candles for writing and returns at once. A candle replaces a stored
// one with the same (exchange, symbol, timeframe, time). The slice is copied.
func (db *DB) UpsertCandles(cs ...market.Candle) {
	enqueue(db, &db.wr.candles, cs, validCandle, true)
}

// InsertTrades enqueues trades for writing and returns at once. A trade whose
// (exchange, symbol, id) is already stored is ignored. The slice is copied.
func (db *DB) InsertTrades(ts ...market.Trade) {
	enqueue(db, &db.wr.trades, ts, validTrade, false)
}

// enqueue copies the valid rows onto q; rows that cannot be stored are counted, and rows
// enqueued after Close are dropped and counted.
func enqueue[T any](db *DB, q *chunkQueue[T], rows []T, valid func(*T) bool, candles bool) {
	if len(rows) == 0 {
		return
	}
	s := &db.wr
	s.mu.Lock()
	if s.closing {
		s.dropped += int64(len(rows))
		s.mu.Unlock()
		return
	}
	was := s.candles.n + s.trades.n
	bad := 0
	for i := range rows {
		if !valid(&rows[i]) {
			bad++
			continue
		}
		q.push(rows[i])
	}
	db.enqueuedLocked(was, int64(len(rows)-bad), int64(bad), candles)
}

// enqueuedLocked finishes an enqueue: counters, the age clock and the wake-up. It unlocks.
func (db *DB) enqueuedLocked(was int, good, bad int64, candles bool) {
	s := &db.wr
	if candles {
		s.candlesIn += uint64(good)
	} else {
		s.tradesIn += uint64(good)
	}
	first := s.invalid == 0 && bad > 0
	s.invalid += bad
	now := s.candles.n + s.trades.n
	if was == 0 && now > 0 {
		s.firstAt = time.Now()
	}
	// Wake the writer when it must arm its timer, or when a batch is full.
	kick := (was == 0 && now > 0) || (was < db.opt.BatchSize && now >= db.opt.BatchSize)
	s.mu.Unlock()
	if first {
		db.log.Warn("storage: refusing rows that cannot be stored (empty key, invalid timeframe, NaN or Inf); further ones are only counted", "rows", bad)
	}
	if kick {
		db.signal()
	}
}

func (db *DB) signal() {
	select {
	case db.wake <- struct{}{}:
	default:
	}
}

// Flush returns once every row enqueued before the call is committed. It returns the
// writer's last error if the writer is failing (it keeps retrying), ctx's error if ctx ends
// first (or is done already), and an error if the DB is closed with those rows unwritten.
func (db *DB) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: flush: %w", context.Cause(ctx))
	}
	s := &db.wr
	s.mu.Lock()
	cWant, tWant := s.candlesIn, s.tradesIn
	if s.candlesDone >= cWant && s.tradesDone >= tWant {
		s.mu.Unlock()
		return nil
	}
	if s.failing {
		err := s.lastErr
		s.mu.Unlock()
		return fmt.Errorf("storage: flush: writer is failing: %w", err)
	}
	errSeq := s.errSeq
	s.flushWaiters++
	defer func() {
		s.mu.Lock()
		s.flushWaiters--
		s.mu.Unlock()
	}()
	db.signal()
	for {
		ch := s.progress
		s.mu.Unlock()
		select {
		case <-ch:
		case <-db.done:
		case <-ctx.Done():
			return fmt.Errorf("storage: flush: %w", context.Cause(ctx))
		}
		s.mu.Lock()
		switch {
		case s.candlesDone >= cWant && s.tradesDone >= tWant:
			s.mu.Unlock()
			return nil
		case s.errSeq != errSeq:
			err := s.lastErr
			s.mu.Unlock()
			return fmt.Errorf("storage: flush: %w", err)
		}
		select {
		case <-db.done:
			s.mu.Unlock()
			return fmt.Errorf("storage: flush: database %s closed with rows unwritten", db.path)
		default:
		}
	}
}

// WriterStats returns the writer's counters.
func (db *DB) WriterStats() WriterStats {
	s := &db.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	st := WriterStats{
		RowsWritten:      s.rowsWritten,
		Batches:          s.batches,
		Queued:           int64(s.candles.n+s.trades.n) + s.inFlight,
		Errors:           s.errors,
		MaxBatchDuration: s.maxBatch,
		Dropped:          s.dropped,
		Invalid:          s.invalid,
	}
	if s.lastErr != nil {
		st.LastError = s.lastErr.Error()
	}
	return st
}

// batch is what one transaction writes: whole chunks taken from the queues.
type batch struct {
	candles     [][]market.Candle
	trades      [][]market.Trade
	nc, nt      int
	tradesFirst bool // alternates, so that neither queue starves the other
}

func (b *batch) rows() int { return b.nc + b.nt }

// Multi-row statements are prepared for 256, 128, ..., 1 rows; a chunk of any length is
// written as a sum of them (1000 rows: 256+256+256+128+64+32+8).
const (
	maxChunkLog  = 8
	maxChunk     = 1 << maxChunkLog
	maxChunkRows = 1024 // queue chunk size cap (rows)
	candleCols   = 10
	tradeCols    = 7
)

// writer is the state owned by the writer goroutine alone.
type writer struct {
	db       *DB
	b        batch
	args     []any
	ex, sym  lastBox[string] // consecutive rows mostly share these: box each value once
	tf       tfBox
	candleSt [maxChunkLog + 1]*sql.Stmt
	tradeSt  [maxChunkLog + 1]*sql.Stmt
}

func newWriter(db *DB) *writer {
	return &writer{db: db, args: make([]any, 0, maxChunk*candleCols)}
}

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

// run is the writer goroutine. It returns when Close has been called and the queue is empty,
// or at once when db.stop is cancelled.
func (w *writer) run() {
	db := w.db
	defer close(db.done)
	defer w.closeStmts()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var backoff time.Duration
	pending := false // w.b holds a batch to (re)try
	for {
		if !pending {
			wait, exit := w.take()
			if exit {
				return
			}
			if w.b.rows() == 0 {
				var tc <-chan time.Time
				if wait > 0 {
					timer.Reset(wait)
					tc = timer.C
				}
				select {
				case <-db.wake:
				case <-tc:
				case <-db.stop.Done():
					w.abandon()
					return
				}
				timer.Stop()
				continue
			}
			pending = true
		}
		start := time.Now()
		err := w.commit(db.stop)
		if err == nil {
			w.committed(time.Since(start), backoff > 0)
			pending, backoff = false, 0
			continue
		}
		if db.stop.Err() != nil {
			w.abandon()
			return
		}
		backoff = min(max(2*backoff, backoffMin), backoffMax)
		w.failed(err, backoff)
		timer.Reset(backoff)
		select {
		case <-timer.C:
		case <-db.stop.Done():
			timer.Stop()
			w.abandon()
			return
		}
	}
}

// take moves whole queued chunks, up to BatchSize rows, into w.b when a batch is due.
// Otherwise it returns how long to wait before the oldest row is due (0: until woken), and
// whether to exit.
func (w *writer) take() (wait time.Duration, exit bool) {
	db := w.db
	s := &db.wr
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &w.b
	n := s.candles.n + s.trades.n
	if n == 0 {
		s.firstAt = time.Time{}
		return 0, s.closing
	}
	limit := db.opt.BatchSize
	if n < limit && s.flushWaiters == 0 && !s.closing {
		if age := time.Since(s.firstAt); age < db.opt.FlushInterval {
			return db.opt.FlushInterval - age, false
		}
	}
	takeCandles := func() {
		for k := s.candles.front(); k > 0 && b.rows()+k <= limit; k = s.candles.front() {
			b.candles = append(b.candles, s.candles.pop())
			b.nc += k
		}
	}
	takeTrades := func() {
		for k := s.trades.front(); k > 0 && b.rows()+k <= limit; k = s.trades.front() {
			b.trades = append(b.trades, s.trades.pop())
			b.nt += k
		}
	}
	if b.tradesFirst {
		takeTrades()
		takeCandles()
	} else {
		takeCandles()
		takeTrades()
	}
	b.tradesFirst = !b.tradesFirst
	s.inFlight = int64(b.rows())
	if s.candles.n+s.trades.n == 0 {
		s.firstAt = time.Time{}
	}
	return 0, false
}

func (w *writer) committed(d time.Duration, recovered bool) {
	s := &w.db.wr
	s.mu.Lock()
	b := &w.b
	s.candlesDone += uint64(b.nc)
	s.tradesDone += uint64(b.nt)
	s.rowsWritten += int64(b.rows())
	for i, c := range b.candles {
		s.candles.recycle(c)
		b.candles[i] = nil
	}
	for i, t := range b.trades {
		s.trades.recycle(t)
		b.trades[i] = nil
	}
	rows := b.rows()
	b.candles, b.trades, b.nc, b.nt = b.candles[:0], b.trades[:0], 0, 0
	s.batches++
	s.inFlight = 0
	s.failing = false
	s.maxBatch = max(s.maxBatch, d)
	close(s.progress)
	s.progress = make(chan struct{})
	s.mu.Unlock()
	if recovered {
		w.db.log.Info("storage: writer recovered", "rows", rows)
	}
}

func (w *writer) failed(err error, backoff time.Duration) {
	s := &w.db.wr
	s.mu.Lock()
	s.errors++
	s.errSeq++
	s.failing = true
	s.lastErr = err
	close(s.progress)
	s.progress = make(chan struct{})
	queued := int64(s.candles.n+s.trades.n) + s.inFlight
	s.mu.Unlock()
	w.db.log.Error("storage: write failed; rows kept, retrying", "err", err, "batch_rows", w.b.rows(), "queued", queued, "retry_in", backoff)
}

// abandon records the rows a hard stop leaves unwritten.
func (w *writer) abandon() {
	s := &w.db.wr
	s.mu.Lock()
	s.lost = int64(s.candles.n+s.trades.n) + s.inFlight
	s.inFlight = 0
	close(s.progress)
	s.progress = make(chan struct{})
	lost := s.lost
	s.mu.Unlock()
	if lost == 0 {
		return
	}
	w.db.log.Error("storage: writer stopped before the queue was written", "rows_lost", lost)
}

// commit writes w.b in one BEGIN IMMEDIATE transaction. ctx (the writer's stop context)
// can interrupt the wait for the write lock, and a cancelled ctx rolls the transaction back;
// the statements themselves run with a plain context, which spares the driver a watcher
// goroutine per statement (once BEGIN IMMEDIATE holds the lock, in WAL mode they do not wait).
func (w *writer) commit(ctx context.Context) (err error) {
	tx, err := w.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: write batch: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	err = execChunks(tx, w.b.candles, w.candleSt[:], &w.args, func(args []any, c *market.Candle) []any {
		return append(args, w.ex.box(c.Exchange), w.sym.box(string(c.Symbol)), w.tf.box(c.Timeframe), c.Time,
			c.Open, c.High, c.Low, c.Close, c.Volume, c.Trades)
	})
	if err != nil {
		return fmt.Errorf("storage: upsert candles: %w", err)
	}
	err = execChunks(tx, w.b.trades, w.tradeSt[:], &w.args, func(args []any, t *market.Trade) []any {
		return append(args, w.ex.box(t.Exchange), w.sym.box(string(t.Symbol)), t.ID, t.Time, t.Price, t.Size, sideBox(t.Side))
	})
	if err != nil {
		return fmt.Errorf("storage: insert trades: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storage: write batch: commit: %w", err)
	}
	return nil
}

// execChunks executes the rows of every chunk in multi-row statements: each time the largest
// prepared statement (stmts[k] takes 2^k rows) that the remaining rows fill. args is a reused
// argument buffer; row appends one row's values to it.
func execChunks[T any](tx *sql.Tx, chunks [][]T, stmts []*sql.Stmt, args *[]any, row func([]any, *T) []any) error {
	bg := context.Background() // see commit: statements run without a cancel watcher
	for _, chunk := range chunks {
		for rest := chunk; len(rest) > 0; {
			k := chunkLog(len(rest))
			a := (*args)[:0]
			for i := range 1 << k {
				a = row(a, &rest[i])
			}
			_, err := tx.StmtContext(bg, stmts[k]).ExecContext(bg, a...)
			clear(a)
			*args = a
			if err != nil {
				return err
			}
			rest = rest[1<<k:]
		}
	}
	return nil
}

// chunkLog is log2 of the largest chunk size ≤ n (n ≥ 1).
func chunkLog(n int) int {
	k := maxChunkLog
	for 1<<k > n {
		k--
	}
	return k
}

// prepare prepares every multi-row statement on the writer connection. It must run outside
// a transaction: the writer pool has a single connection, which a transaction holds.
// tx.StmtContext then reuses the statements, which stay prepared on that connection.
func (w *writer) prepare(ctx context.Context) error {
	for k := range maxChunkLog + 1 {
		var err error
		if w.candleSt[k], err = w.db.w.PrepareContext(ctx, candleUpsertSQL(1<<k)); err != nil {
			return fmt.Errorf("prepare candle upsert (%d rows): %w", 1<<k, err)
		}
		if w.tradeSt[k], err = w.db.w.PrepareContext(ctx, tradeInsertSQL(1<<k)); err != nil {
			return fmt.Errorf("prepare trade insert (%d rows): %w", 1<<k, err)
		}
	}
	return nil
}

func (w *writer) closeStmts() {
	var errs []error
	for _, st := range append(w.candleSt[:], w.tradeSt[:]...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		w.db.log.Warn("storage: close writer statements", "err", err)
	}
}

func candleUpsertSQL(rows int) string {
	return "INSERT INTO market_data(exchange, symbol, timeframe, timestamp, open, high, low, close, volume, trades) VALUES " +
		placeholders(rows, candleCols) +
		" ON CONFLICT(exchange, symbol, timeframe, timestamp) DO UPDATE SET" +
		" open=excluded.open, high=excluded.high, low=excluded.low, close=excluded.close," +
		" volume=excluded.volume, trades=excluded.trades"
}

func tradeInsertSQL(rows int) string {
	return "INSERT INTO raw_trades(exchange, symbol, trade_id, timestamp, price, size, side) VALUES " +
		placeholders(rows, tradeCols) +
		" ON CONFLICT(exchange, symbol, trade_id) DO NOTHING"
}

func placeholders(rows, cols int) string {
	one := "(" + strings.Repeat("?,", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(one) + 1))
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// lastBox converts a value to an interface, reusing the previous conversion when the value
// repeats; binding a string argument otherwise allocates for every row.
type lastBox[T comparable] struct {
	v     T
	boxed any
}

func (b *lastBox[T]) box(v T) any {
	if b.boxed == nil || v != b.v {
		b.v, b.boxed = v, v
	}
	return b.boxed
}

// tfBox boxes a timeframe's stored name.
type tfBox struct {
	tf    market.Timeframe
	boxed any
}

func (b *tfBox) box(tf market.Timeframe) any {
	if b.boxed == nil || tf != b.tf {
		b.tf, b.boxed = tf, tf.String()
	}
	return b.boxed
}

var (
	boxBuy     any = market.Buy.String()
	boxSell    any = market.Sell.String()
	boxUnknown any = market.SideUnknown.String()
)

func sideBox(s market.Side) any {
	switch s {
	case market.Buy:
		return boxBuy
	case market.Sell:
		return boxSell
	}
	return boxUnknown
}
