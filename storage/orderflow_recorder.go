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
)

// The order-flow recorder writes what the live collector sees (full book snapshots and
// trades) into order-flow files in the seed schema, one file per exchange-symbol-UTC-day:
// <Dir>/<exchange>-<SYMBOL>-<YYYY-MM-DD>.db. The files feed `tradeconsole orderflow` and the
// replay feed.
//
// RecordSnapshot and RecordTrade copy the record into a bounded in-memory queue and return
// at once. One goroutine, started by NewOrderflowRecorder and stopped by Close, writes the
// queue in batches (BatchSize rows, or FlushInterval after the oldest waiting row arrived,
// or when Flush or Close asks), one transaction per file per batch, with multi-row inserts.
// Each record goes to the file of its own UTC day, so a session over midnight writes two
// files per symbol; files whose day is over are closed.
//
// Rows: book(instrument = symbol, bids and asks = JSON [[price, size], …] text whose numbers
// round-trip exactly, timestamp = unix ms) and trades(instrument, trade_id, price, size,
// side "buy" | "sell", timestamp = unix ms). A file gets a UNIQUE index on
// trades(instrument, trade_id) and trades are inserted OR IGNORE, so re-recording a trade (a
// restart appending to the day's file) does not duplicate it.
//
// A write that fails is retried once on a freshly opened file; if that fails too its rows are
// counted as failed and dropped, and the error is logged with the file name (once per burst
// of failures of a file). When the queue is full (the disk is broken or too slow), new
// records are dropped and counted, and logged once per burst.

// Recorder defaults and limits.
const (
	DefaultRecorderBatchSize       = 1000
	DefaultRecorderFlushInterval   = time.Second
	DefaultRecorderMaxQueued       = 1_000_000  // rows
	DefaultRecorderMaxQueuedLevels = 16_000_000 // book levels (16 bytes each: 256 MB)

	maxOpenRecFiles = 64 // beyond this many, the least recently written file is closed
)

// RecorderOptions configure an OrderflowRecorder. Zero values mean the defaults.
type RecorderOptions struct {
	Dir             string        // directory of the files (data_dir/orderflow); created if missing; required
	BatchSize       int           // rows per write batch, and the queue length that triggers one; default 1000
	FlushInterval   time.Duration // longest a queued row waits for a write; default 1s
	MaxQueued       int           // rows the queue holds before dropping new ones; default 1,000,000
	MaxQueuedLevels int           // book levels the queue holds before dropping new snapshots; default 16,000,000
	Logger          *slog.Logger  // default: discard
}

func (o RecorderOptions) withDefaults() RecorderOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultRecorderBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultRecorderFlushInterval
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultRecorderMaxQueued
	}
	if o.MaxQueuedLevels <= 0 {
		o.MaxQueuedLevels = DefaultRecorderMaxQueuedLevels
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// RecorderStats is a snapshot of a recorder's counters.
type RecorderStats struct {
	Snapshots  int64  // book rows written
	Trades     int64  // trade rows written
	Duplicates int64  // trades ignored because the file already had their (instrument, trade_id)
	Queued     int64  // rows waiting, including a batch being written
	FilesOpen  int    // files currently open
	Dropped    int64  // records dropped because the queue was full, or recorded after Close
	Invalid    int64  // records refused: empty exchange, symbol or trade id, unknown side, time ≤ 0, price ≤ 0, size < 0, NaN or Inf
	Failed     int64  // rows lost to write errors
	Errors     int64  // failed write attempts
	LastError  string // the most recent write error, "" if none yet
}

// recRow is one queued record: a snapshot (nb >= 0: levels[:nb] are the bids, levels[nb:]
// the asks) or a trade (nb < 0).
type recRow struct {
	exchange string
	sym      market.Symbol
	t        int64
	nb       int
	levels   []market.Level
	id       string
	price    float64
	size     float64
	side     market.Side
}

// OrderflowRecorder records books and trades into order-flow files. Its methods are safe for
// concurrent use.
type OrderflowRecorder struct {
	dir string
	opt RecorderOptions
	log *slog.Logger

	mu           sync.Mutex
	q            chunkQueue[recRow]
	levels       int       // book levels queued
	firstAt      time.Time // arrival of the oldest queued row; zero when the queue is empty
	inFlight     int64     // rows taken by the writer and not yet done
	in, done     uint64    // rows ever accepted; rows written or failed (a FIFO prefix)
	flushWaiters int
	closing      bool
	dropping     bool  // inside a burst of drops
	burst        int64 // drops in the current burst
	progress     chan struct{}
	lost         int64 // rows abandoned by a hard stop
	failSeq      uint64
	lastErr      error
	st           RecorderStats // counters (Queued, FilesOpen and LastError are filled by Stats)

	wake  chan struct{}
	exit  chan struct{} // closed when the writer goroutine has returned
	stop  context.Context
	abort context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// NewOrderflowRecorder creates opt.Dir if missing and starts the writer goroutine, which
// Close stops.
func NewOrderflowRecorder(opt RecorderOptions) (*OrderflowRecorder, error) {
	if opt.Dir == "" {
		return nil, errors.New("storage: orderflow recorder: Dir is empty")
	}
	opt = opt.withDefaults()
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: orderflow recorder: create directory %s: %w", opt.Dir, err)
	}
	if fi, err := os.Stat(opt.Dir); err != nil {
		return nil, fmt.Errorf("storage: orderflow recorder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("storage: orderflow recorder: %s is not a directory", opt.Dir)
	}
	r := &OrderflowRecorder{
		dir:      opt.Dir,
		opt:      opt,
		log:      opt.Logger.With("dir", opt.Dir),
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		exit:     make(chan struct{}),
	}
	r.q.cap = min(opt.BatchSize, maxChunkRows)
	r.stop, r.abort = context.WithCancel(context.Background())
	w := &recWriter{r: r, files: map[recKey]*recFile{}, groups: map[recKey]*recGroup{}, failing: map[string]int64{}}
	go w.run()
	return r, nil
}

// OrderflowFileName is the file of exchange's sym for the UTC day of t (unix ms):
// dir/<exchange>-<SYMBOL>-<YYYY-MM-DD>.db. Characters other than letters, digits, '_', '-'
// and '.' in the exchange and symbol are replaced by '_'.
func OrderflowFileName(dir, exchange string, sym market.Symbol, t int64) string {
	day := time.UnixMilli(t).UTC().Format(time.DateOnly)
	return filepath.Join(dir, recSafeName(exchange)+"-"+recSafeName(string(sym))+"-"+day+".db")
}

func recSafeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || string(b) == "." || string(b) == ".." {
		return "_"
	}
	return string(b)
}

// RecordSnapshot queues a full book snapshot of exchange's sym at t (unix ms); bids and asks
// are best first. The levels are copied. It never blocks.
func (r *OrderflowRecorder) RecordSnapshot(exchange string, sym market.Symbol, t int64, bids, asks []market.Level) {
	ok := exchange != "" && sym != "" && t > 0
	for i := 0; ok && i < len(bids); i++ {
		ok = recValidLevel(bids[i])
	}
	for i := 0; ok && i < len(asks); i++ {
		ok = recValidLevel(asks[i])
	}
	if !ok {
		r.refuse()
		return
	}
	levels := make([]market.Level, len(bids)+len(asks))
	copy(levels, bids)
	copy(levels[len(bids):], asks)
	r.push(recRow{exchange: exchange, sym: sym, t: t, nb: len(bids), levels: levels})
}

// RecordTrade queues a trade. It never blocks.
func (r *OrderflowRecorder) RecordTrade(tr market.Trade) {
	if !validTrade(&tr) || (tr.Side != market.Buy && tr.Side != market.Sell) || tr.Time <= 0 || !recValidLevel(market.Level{Price: tr.Price, Size: tr.Size}) {
		r.refuse()
		return
	}
	r.push(recRow{exchange: tr.Exchange, sym: tr.Symbol, t: tr.Time, nb: -1,
		id: tr.ID, price: tr.Price, size: tr.Size, side: tr.Side})
}

// recValidLevel reports whether a price and size are what order-flow readers accept: finite,
// price > 0, size ≥ 0.
func recValidLevel(l market.Level) bool {
	return finite(l.Price) && finite(l.Size) && l.Price > 0 && l.Size >= 0
}

// refuse counts an invalid record.
func (r *OrderflowRecorder) refuse() {
	r.mu.Lock()
	first := r.st.Invalid == 0
	r.st.Invalid++
	r.mu.Unlock()
	if first {
		r.log.Warn("storage: orderflow recorder: refusing records that order-flow readers would reject (empty exchange, symbol or trade id, unknown side, time ≤ 0, price ≤ 0, negative size, NaN or Inf); further ones are only counted")
	}
}

// push queues a row if the queue has room for it, and wakes the writer when needed;
// otherwise it drops the row and counts it. A burst of drops is logged at its start and end.
func (r *OrderflowRecorder) push(row recRow) {
	levels := len(row.levels)
	r.mu.Lock()
	if r.closing || r.q.n >= r.opt.MaxQueued || (levels > 0 && r.levels+levels > r.opt.MaxQueuedLevels) {
		r.st.Dropped++
		if r.closing {
			r.mu.Unlock()
			return
		}
		r.burst++
		first := !r.dropping
		r.dropping = true
		queued := r.q.n
		r.mu.Unlock()
		if first {
			r.log.Error("storage: orderflow recorder: queue full, dropping records until it drains", "queued_rows", queued)
		}
		return
	}
	var burst int64
	if r.dropping {
		r.dropping, burst, r.burst = false, r.burst, 0
	}
	was := r.q.n
	r.q.push(row)
	r.levels += levels
	r.in++
	if was == 0 {
		r.firstAt = time.Now()
	}
	kick := was == 0 || r.q.n == r.opt.BatchSize
	r.mu.Unlock()
	if kick {
		r.signal()
	}
	if burst > 0 {
		r.log.Warn("storage: orderflow recorder: queue has room again", "dropped", burst)
	}
}

func (r *OrderflowRecorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush returns once every record queued before the call is written (or has failed). It
// returns an error if some of them could not be written, if ctx ends first (or is done
// already: the answer must not depend on how fast the writer is), or if the recorder is
// closed with them unwritten.
func (r *OrderflowRecorder) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: orderflow recorder: flush: %w", context.Cause(ctx))
	}
	r.mu.Lock()
	want, failSeq := r.in, r.failSeq
	if r.done >= want {
		r.mu.Unlock()
		return nil
	}
	r.flushWaiters++
	defer func() {
		r.mu.Lock()
		r.flushWaiters--
		r.mu.Unlock()
	}()
	r.signal()
	for {
		ch := r.progress
		r.mu.Unlock()
		select {
		case <-ch:
		case <-r.exit:
		case <-ctx.Done():
			return fmt.Errorf("storage: orderflow recorder: flush: %w", context.Cause(ctx))
		}
		r.mu.Lock()
		if r.done >= want {
			err := r.lastErr
			failed := r.failSeq != failSeq
			r.mu.Unlock()
			if failed {
				return fmt.Errorf("storage: orderflow recorder: flush: some rows were not written: %w", err)
			}
			return nil
		}
		select {
		case <-r.exit:
			r.mu.Unlock()
			return fmt.Errorf("storage: orderflow recorder: flush: recorder closed with rows unwritten")
		default:
		}
	}
}

// Close writes everything queued before it, closes every file and stops the writer
// goroutine. If ctx ends first, the writer is stopped anyway and the error says how many
// rows were not written. Records made after Close are dropped and counted. Close is
// idempotent: later calls return the first call's result.
func (r *OrderflowRecorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.close(ctx) })
	return r.closeErr
}

func (r *OrderflowRecorder) close(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	r.signal()
	select {
	case <-r.exit:
	case <-ctx.Done():
		r.abort()
		<-r.exit
	}
	r.abort()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lost > 0 {
		return fmt.Errorf("storage: orderflow recorder: close %s: %d rows not written: %w", r.dir, r.lost, context.Cause(ctx))
	}
	return nil
}

// Stats returns the recorder's counters.
func (r *OrderflowRecorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Queued = int64(r.q.n) + r.inFlight
	if r.lastErr != nil {
		st.LastError = r.lastErr.Error()
	}
	return st
}

// Dir is the directory the recorder writes into.
func (r *OrderflowRecorder) Dir() string { return r.dir }

// ---- the writer goroutine ----

type recKey struct {
	exchange string
	sym      market.Symbol
	day      int64 // UTC day number: floor(t / 86400000)
}

const recDayMs = 24 * 60 * 60 * 1000

func recDayOf(t int64) int64 {
	d := t / recDayMs
	if t%recDayMs < 0 {
		d--
	}
	return d
}

// recFile is one open order-flow file.
type recFile struct {
	path    string
	db      *sql.DB
	bookSt  [maxChunkLog + 1]*sql.Stmt
	tradeSt [maxChunkLog + 1]*sql.Stmt
	used    uint64 // batch number of the last write, for closing the least recently used
}

// recGroup is the part of a batch that goes to one file.
type recGroup struct {
	books, trades []*recRow
}

// recWriter is the state owned by the writer goroutine alone.
type recWriter struct {
	r       *OrderflowRecorder
	batch   [][]recRow // chunks taken from the queue
	rows    int
	levels  int
	files   map[recKey]*recFile
	groups  map[recKey]*recGroup
	order   []recKey         // groups in order of first appearance in the batch
	failing map[string]int64 // file path → rows lost since its failure was logged
	newest  int64            // newest UTC day seen
	seq     uint64           // batches written
	args    []any
	buf     []byte
	sym     lastBox[string]
}

func (w *recWriter) run() {
	r := w.r
	defer close(r.exit)
	defer w.closeAll()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		wait, exit := w.take()
		if exit {
			return
		}
		if w.rows == 0 {
			var tc <-chan time.Time
			if wait > 0 {
				timer.Reset(wait)
				tc = timer.C
			}
			select {
			case <-r.wake:
			case <-tc:
			case <-r.stop.Done():
				w.abandon()
				return
			}
			timer.Stop()
			continue
		}
		w.write()
		if r.stop.Err() != nil {
			w.abandon()
			return
		}
	}
}

// take moves whole queued chunks, up to BatchSize rows, into w.batch when a batch is due.
// Otherwise it returns how long to wait before the oldest row is due (0: until woken), and
// whether to exit.
func (w *recWriter) take() (wait time.Duration, exit bool) {
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.q.n
	if n == 0 {
		r.firstAt = time.Time{}
		return 0, r.closing
	}
	limit := r.opt.BatchSize
	if n < limit && r.flushWaiters == 0 && !r.closing {
		if age := time.Since(r.firstAt); age < r.opt.FlushInterval {
			return r.opt.FlushInterval - age, false
		}
	}
	for k := r.q.front(); k > 0 && w.rows+k <= limit; k = r.q.front() {
		c := r.q.pop()
		w.batch = append(w.batch, c)
		w.rows += k
		for i := range c {
			if c[i].nb >= 0 {
				w.levels += len(c[i].levels)
			}
		}
	}
	r.inFlight = int64(w.rows)
	if r.q.n == 0 {
		r.firstAt = time.Time{}
	}
	return 0, false
}

// write writes the batch, one transaction per file, and reports the outcome.
func (w *recWriter) write() {
	w.seq++
	w.order = w.order[:0]
	for _, c := range w.batch {
		for i := range c {
			row := &c[i]
			k := recKey{row.exchange, row.sym, recDayOf(row.t)}
			g := w.groups[k]
			if g == nil {
				g = &recGroup{}
				w.groups[k] = g
			}
			if len(g.books) == 0 && len(g.trades) == 0 {
				w.order = append(w.order, k)
			}
			if row.nb >= 0 {
				g.books = append(g.books, row)
			} else {
				g.trades = append(g.trades, row)
			}
			w.newest = max(w.newest, k.day)
		}
	}
	var books, trades, dups, failed, errs, done int64
	var lastErr error
	aborted := false
	for _, k := range w.order {
		g := w.groups[k]
		nt, err := w.writeGroup(k, g)
		if err != nil && w.r.stop.Err() == nil {
			// Once more on a freshly opened file: the file may have been removed or replaced.
			w.closeFile(k)
			errs++
			nt, err = w.writeGroup(k, g)
		}
		path := OrderflowFileName(w.r.dir, k.exchange, k.sym, k.day*recDayMs)
		if err != nil && w.r.stop.Err() != nil {
			aborted = true // hard stop: abandon counts the rest as lost
			break
		}
		done += int64(len(g.books) + len(g.trades))
		if err != nil {
			err = fmt.Errorf("storage: orderflow file %s: %w", path, err)
			errs++
			lastErr = err
			n := int64(len(g.books) + len(g.trades))
			failed += n
			w.closeFile(k)
			if _, logged := w.failing[path]; !logged {
				w.r.log.Error("storage: orderflow recorder: write failed; rows dropped", "file", path, "rows", n, "err", err)
			}
			w.failing[path] += n
		} else {
			if lost, ok := w.failing[path]; ok {
				delete(w.failing, path)
				w.r.log.Info("storage: orderflow recorder: writing again", "file", path, "rows_lost", lost)
			}
			books += int64(len(g.books))
			trades += nt
			dups += int64(len(g.trades)) - nt
		}
		clear(g.books)
		clear(g.trades)
		g.books, g.trades = g.books[:0], g.trades[:0]
	}
	if !aborted {
		if len(w.groups) > 4*maxOpenRecFiles {
			clear(w.groups) // forget groups of long-gone files
		}
		w.closeStale()
	}

	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.Snapshots += books
	r.st.Trades += trades
	r.st.Duplicates += dups
	r.st.Failed += failed
	r.st.Errors += errs
	if lastErr != nil {
		r.lastErr = lastErr
		r.failSeq++
	}
	r.st.FilesOpen = len(w.files)
	if aborted {
		r.inFlight = int64(w.rows) - done
		return
	}
	r.done += uint64(w.rows)
	r.levels -= w.levels
	r.inFlight = 0
	for i, c := range w.batch {
		r.q.recycle(c)
		w.batch[i] = nil
	}
	close(r.progress)
	r.progress = make(chan struct{})
	w.batch, w.rows, w.levels = w.batch[:0], 0, 0
}

// abandon records the rows a hard stop leaves unwritten.
func (w *recWriter) abandon() {
	r := w.r
	r.mu.Lock()
	r.lost = int64(r.q.n) + r.inFlight
	r.inFlight = 0
	close(r.progress)
	r.progress = make(chan struct{})
	lost := r.lost
	r.mu.Unlock()
	if lost > 0 {
		r.log.Error("storage: orderflow recorder: stopped before the queue was written", "rows_lost", lost)
	}
}

// writeGroup writes one file's rows in one transaction. It returns the number of trade rows
// inserted (duplicates are ignored).
func (w *recWriter) writeGroup(k recKey, g *recGroup) (trades int64, err error) {
	f, err := w.file(k)
	if err != nil {
		return 0, err
	}
	f.used = w.seq
	tx, err := f.db.BeginTx(w.r.stop, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	_, err = w.execRows(tx, g.books, f.bookSt[:], func(a []any, row *recRow) []any {
		w.buf = appendLevelsJSON(w.buf[:0], row.levels[:row.nb])
		bids := string(w.buf)
		w.buf = appendLevelsJSON(w.buf[:0], row.levels[row.nb:])
		return append(a, w.sym.box(string(row.sym)), bids, string(w.buf), row.t)
	})
	if err != nil {
		return 0, fmt.Errorf("insert book rows: %w", err)
	}
	trades, err = w.execRows(tx, g.trades, f.tradeSt[:], func(a []any, row *recRow) []any {
		return append(a, w.sym.box(string(row.sym)), row.id, row.price, row.size, sideBox(row.side), row.t)
	})
	if err != nil {
		return 0, fmt.Errorf("insert trade rows: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return trades, nil
}

// execRows executes rows in multi-row statements (stmts[k] takes 2^k rows) and returns the
// number of rows inserted.
func (w *recWriter) execRows(tx *sql.Tx, rows []*recRow, stmts []*sql.Stmt, row func([]any, *recRow) []any) (int64, error) {
	bg := context.Background() // as in writer.commit: no cancel watcher per statement
	var n int64
	for rest := rows; len(rest) > 0; {
		k := chunkLog(len(rest))
		a := w.args[:0]
		for i := range 1 << k {
			a = row(a, rest[i])
		}
		res, err := tx.StmtContext(bg, stmts[k]).ExecContext(bg, a...)
		clear(a)
		w.args = a
		if err != nil {
			return n, err
		}
		if c, err := res.RowsAffected(); err == nil {
			n += c
		}
		rest = rest[1<<k:]
	}
	return n, nil
}

// appendLevelsJSON appends levels as JSON [[price,size],…] with the shortest exact float text.
func appendLevelsJSON(b []byte, levels []market.Level) []byte {
	b = append(b, '[')
	for i, l := range levels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, l.Price, 'g', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, l.Size, 'g', -1, 64)
		b = append(b, ']')
	}
	return append(b, ']')
}

// file returns the open file of k, opening (and if needed creating) it.
func (w *recWriter) file(k recKey) (*recFile, error) {
	if f := w.files[k]; f != nil {
		return f, nil
	}
	path := OrderflowFileName(w.r.dir, k.exchange, k.sym, k.day*recDayMs)
	f, err := openRecFile(w.r.stop, path, w.r.log)
	if err != nil {
		return nil, err
	}
	w.files[k] = f
	if len(w.files) > maxOpenRecFiles {
		w.closeLRU()
	}
	return f, nil
}

// closeStale closes the files whose day ended more than a day before the newest record.
func (w *recWriter) closeStale() {
	for k := range w.files {
		if k.day < w.newest-1 {
			w.closeFile(k)
			delete(w.groups, k)
		}
	}
}

func (w *recWriter) closeLRU() {
	var old recKey
	var f0 *recFile
	for k, f := range w.files {
		if f0 == nil || f.used < f0.used {
			old, f0 = k, f
		}
	}
	if f0 != nil {
		w.closeFile(old)
	}
}

func (w *recWriter) closeFile(k recKey) {
	f := w.files[k]
	if f == nil {
		return
	}
	delete(w.files, k)
	if err := f.close(); err != nil {
		w.r.log.Warn("storage: orderflow recorder: close file", "file", f.path, "err", err)
	}
}

func (w *recWriter) closeAll() {
	for k := range w.files {
		w.closeFile(k)
	}
	w.r.mu.Lock()
	w.r.st.FilesOpen = 0
	w.r.mu.Unlock()
}

func openRecFile(ctx context.Context, path string, log *slog.Logger) (_ *recFile, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {"5000"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
		"_txlock":       {"immediate"},
		"_pragma":       {"temp_store(MEMORY)"},
	}))
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	f := &recFile{path: path, db: db}
	defer func() {
		if err != nil {
			_ = f.close()
		}
	}()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := CreateOrderflowInput(ctx, db); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `CREATE UNIQUE INDEX IF NOT EXISTS idx_trades_instrument_trade_id ON trades(instrument, trade_id)`); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("create unique index on trades(instrument, trade_id): %w", err)
		}
		// A file from elsewhere that already repeats a trade id: record into it anyway,
		// without the protection against duplicates.
		log.Warn("storage: orderflow recorder: cannot add the unique index on trades(instrument, trade_id); duplicate trades will not be ignored in this file", "file", path, "err", err)
	}
	for k := range maxChunkLog + 1 {
		if f.bookSt[k], err = db.PrepareContext(ctx, "INSERT INTO book(instrument, bids, asks, timestamp) VALUES "+placeholders(1<<k, 4)); err != nil {
			return nil, fmt.Errorf("prepare book insert: %w", err)
		}
		if f.tradeSt[k], err = db.PrepareContext(ctx, "INSERT OR IGNORE INTO trades(instrument, trade_id, price, size, side, timestamp) VALUES "+placeholders(1<<k, 6)); err != nil {
			return nil, fmt.Errorf("prepare trade insert: %w", err)
		}
	}
	return f, nil
}

func (f *recFile) close() error {
	var errs []error
	for _, st := range append(f.bookSt[:], f.tradeSt[:]...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, f.db.Close())
	return errors.Join(errs...)
}
