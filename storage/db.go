package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options tune a DB. Zero values mean the defaults.
type Options struct {
	ReadPool      int           // read connections; default 4
	BusyTimeout   time.Duration // SQLite busy_timeout; default 5s
	BatchSize     int           // rows per write transaction, and the queue length that triggers one; default 1000
	FlushInterval time.Duration // longest a queued row waits for a commit; default 250ms
	Logger        *slog.Logger  // default: discard
}

func (o Options) withDefaults() Options {
	if o.ReadPool <= 0 {
		o.ReadPool = 4
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// DB is the main database: a writer connection fed by a batching goroutine, and a read pool.
// Its methods are safe for concurrent use.
type DB struct {
	path string
	opt  Options
	log  *slog.Logger

	w *sql.DB // writer: one connection, BEGIN IMMEDIATE
	r *sql.DB // readers: query_only, bounded

	wr    writerState // guarded by wr.mu
	wake  chan struct{}
	done  chan struct{} // closed when the writer goroutine has returned
	stop  context.Context
	abort context.CancelFunc // hard stop of the writer (Close's ctx ended)

	rs readStmts

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating it and its parent directory if missing) the database at path,
// applies pending migrations and starts the writer goroutine, which Close stops. A file
// that is not a SQLite database, or whose schema is newer than this binary, is refused
// with an error naming the path.
func Open(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("storage: open: empty database path")
	}
	opt = opt.withDefaults()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("storage: open %s: create directory: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("storage: open %s: is a directory, not a SQLite database", path)
	}

	busy := strconv.FormatInt(max(1, opt.BusyTimeout.Milliseconds()), 10)
	w, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {busy},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
		"_foreign_keys": {"on"},
		"_txlock":       {"immediate"},
		// Multi-row upserts need a statement journal; keep it in memory, not in a temp file.
		"_pragma": {"temp_store(MEMORY)"},
	}))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	ctx := context.Background()
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, openError(path, err)
	}
	if err := migrate(ctx, w, path, opt.Logger); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {busy},
		"_foreign_keys": {"on"},
		"_query_only":   {"1"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s: read pool: %w", path, err)
	}
	r.SetMaxOpenConns(opt.ReadPool)
	r.SetMaxIdleConns(opt.ReadPool)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, openError(path, fmt.Errorf("read pool: %w", err))
	}

	db := &DB{
		path: path,
		opt:  opt,
		log:  opt.Logger.With("db", path),
		w:    w,
		r:    r,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	if err := db.rs.prepare(ctx, r); err != nil {
		db.rs.close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	wk := newWriter(db)
	if err := wk.prepare(ctx); err != nil {
		wk.closeStmts()
		db.rs.close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	db.wr.progress = make(chan struct{})
	db.wr.candles.cap = min(opt.BatchSize, maxChunkRows)
	db.wr.trades.cap = min(opt.BatchSize, maxChunkRows)
	db.stop, db.abort = context.WithCancel(context.Background())
	go wk.run()
	return db, nil
}

// dsn builds a file: URI so that any character in the path survives; the driver reads the
// underscore keys and SQLite ignores them.
func dsn(abs string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

func openError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
		return fmt.Errorf("storage: open %s: not a SQLite database: %w", path, err)
	}
	return fmt.Errorf("storage: open %s: %w", path, err)
}

// Path is the path the database was opened with.
func (db *DB) Path() string { return db.path }

// Close commits everything enqueued before it, stops the writer and closes both pools.
// If ctx ends first, the writer is stopped anyway and the error says how many rows were
// not written. Close is idempotent: later calls return the first call's result.
func (db *DB) Close(ctx context.Context) error {
	db.closeOnce.Do(func() { db.closeErr = db.close(ctx) })
	return db.closeErr
}

func (db *DB) close(ctx context.Context) error {
	db.wr.mu.Lock()
	db.wr.closing = true
	db.wr.mu.Unlock()
	db.signal()

	var errs []error
	select {
	case <-db.done:
	case <-ctx.Done():
		db.abort()
		<-db.done
	}
	db.abort()

	db.wr.mu.Lock()
	lost := db.wr.lost
	lastErr := db.wr.lastErr
	db.wr.mu.Unlock()
	if lost > 0 {
		err := fmt.Errorf("storage: close %s: %d rows not written: %w", db.path, lost, context.Cause(ctx))
		if lastErr != nil {
			err = fmt.Errorf("%w (last write error: %v)", err, lastErr)
		}
		errs = append(errs, err)
	}
	db.rs.close()
	if err := db.r.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: close %s: read pool: %w", db.path, err))
	}
	if err := db.w.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: close %s: writer: %w", db.path, err))
	}
	return errors.Join(errs...)
}

// validCandle reports whether c can be stored and read back faithfully.
func validCandle(c *market.Candle) bool {
	return c.Exchange != "" && c.Symbol != "" && c.Timeframe.Valid() &&
		finite(c.Open) && finite(c.High) && finite(c.Low) && finite(c.Close) && finite(c.Volume)
}

func validTrade(t *market.Trade) bool {
	return t.Exchange != "" && t.Symbol != "" && t.ID != "" && finite(t.Price) && finite(t.Size)
}

func finite(f float64) bool { return f-f == 0 } // false for NaN and ±Inf
