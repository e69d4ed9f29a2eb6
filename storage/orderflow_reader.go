package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
	sqlite3 "modernc.org/sqlite/lib"
)

// Reading order-flow files: the book and trades tables of the seed schema merged into one
// stream in time order, with flat memory whatever the file size.
//
// Order. Book rows are ordered by timestamp with the row id breaking ties, trades likewise,
// and a trade with time t comes before the first snapshot with timestamp ≥ t (equal times:
// the trade first), so that a consumer attributes each trade to that snapshot (DESIGN.md,
// "Trade ↔ snapshot"). Times are compared in microseconds.
//
// Fast path and sorted path. A table is read `ORDER BY id`, a plain scan of its rowid
// b-tree, when its timestamps never go backwards in id order. Otherwise it is read on a sorted
// path whose memory is bounded as well: its (timestamp µs, id) pairs are written to a TEMP
// table (temp_store=FILE, so on disk), indexed, and joined back to the table in index order,
// so that SQLite never sorts the wide rows.
//
// RunOrderflow starts on the fast path, checks the order as it goes, and when a row goes
// backwards starts its computation again from the beginning with that table on the sorted
// path: a file in order costs one pass. An OrderflowReader cannot take back records it has
// returned, so Records first checks each table's order in one pass over its ids and
// timestamps (it stops at the first row that goes backwards) and picks the path before
// returning anything. Should a table still turn out out of order later (rows appended while
// reading), the reader resumes it on the sorted path just after the rows already read and
// skips, counting them with the reason "before records already read", the rows that belong
// before a record it has returned.
//
// Malformed rows (bad level text, an unparsable timestamp, a bad price, size or side) are
// skipped and counted; the first ten reasons are kept, such as
// `book id 17: bids: level 3: negative size -1`.

// OrderflowInputError is an order-flow file that cannot be used as one: missing, not an
// SQLite database, or without the book and trades tables or one of their columns. The command
// line maps it to exit code 2.
type OrderflowInputError struct {
	Path string // the file
	Msg  string // what is wrong, naming the file, table or column
	Err  error  // the underlying error, if any
}

func (e *OrderflowInputError) Error() string {
	if e.Err != nil {
		return "orderflow: " + e.Msg + ": " + e.Err.Error()
	}
	return "orderflow: " + e.Msg
}

func (e *OrderflowInputError) Unwrap() error { return e.Err }

func inputErr(path string, err error, format string, args ...any) *OrderflowInputError {
	return &OrderflowInputError{Path: path, Msg: fmt.Sprintf(format, args...), Err: err}
}

// The columns the seed schema requires.
var (
	orderflowBookCols  = []string{"id", "instrument", "bids", "asks", "timestamp"}
	orderflowTradeCols = []string{"id", "instrument", "trade_id", "price", "size", "side", "timestamp"}
)

// openOrderflowConn opens an existing order-flow file and checks its schema.
func openOrderflowConn(path string, readOnly bool) (*liteConn, error) {
	if path == "" {
		return nil, inputErr(path, nil, "no order-flow file given")
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, inputErr(path, nil, "%s: no such file", path)
	case err != nil:
		return nil, inputErr(path, err, "%s", path)
	case fi.IsDir():
		return nil, inputErr(path, nil, "%s is a directory, not an SQLite database", path)
	}
	c, err := openLite(path, readOnly)
	if err != nil {
		if isNotADB(err) {
			return nil, inputErr(path, nil, "%s is not an SQLite database", path)
		}
		return nil, fmt.Errorf("orderflow: open %s: %w", path, err)
	}
	if err := checkOrderflowSchema(c, path); err != nil {
		c.close()
		return nil, err
	}
	// A bounded page cache (16 MiB) for the file and for the TEMP database, which lives on
	// disk: the sorted path's ordering tables and SQLite's sorter stay out of memory.
	if err := c.exec("PRAGMA cache_size=-16384; PRAGMA temp_store=FILE; PRAGMA temp.cache_size=-16384"); err != nil {
		c.close()
		return nil, fmt.Errorf("orderflow: %s: %w", path, err)
	}
	return c, nil
}

func checkOrderflowSchema(c *liteConn, path string) error {
	for _, t := range []struct {
		table string
		cols  []string
	}{{"book", orderflowBookCols}, {"trades", orderflowTradeCols}} {
		have, err := c.queryStrings("SELECT name FROM pragma_table_info('" + t.table + "')")
		if err != nil {
			if isNotADB(err) {
				return inputErr(path, nil, "%s is not an SQLite database", path)
			}
			return fmt.Errorf("orderflow: %s: read the schema: %w", path, err)
		}
		if len(have) == 0 {
			return inputErr(path, nil, "%s has no %s table (an order-flow file has book(%s) and trades(%s))",
				path, t.table, strings.Join(orderflowBookCols, ", "), strings.Join(orderflowTradeCols, ", "))
		}
		for _, col := range t.cols {
			if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, col) }) {
				return inputErr(path, nil, "%s: table %s has no column %s (want %s)",
					path, t.table, col, strings.Join(t.cols, ", "))
			}
		}
	}
	return nil
}

// OrderflowOpenOptions tune OpenOrderflow.
type OrderflowOpenOptions struct {
	Exchange string          // the Exchange of the records; default "replay"
	Symbols  []market.Symbol // only these instruments (after normalisation); empty: all
}

// OrderflowFile is an order-flow file opened for reading. It never modifies the file.
type OrderflowFile struct {
	path string
	opt  OrderflowOpenOptions

	mu sync.Mutex // guards c
	c  *liteConn
}

// OpenOrderflow opens the order-flow file at path read-only. It does not create a missing
// file. A missing file, a file that is not an SQLite database, or one without the book and
// trades tables or their columns is an *OrderflowInputError.
func OpenOrderflow(path string, opt OrderflowOpenOptions) (*OrderflowFile, error) {
	if opt.Exchange == "" {
		opt.Exchange = "replay"
	}
	c, err := openOrderflowConn(path, true)
	if err != nil {
		return nil, err
	}
	return &OrderflowFile{path: path, opt: opt, c: c}, nil
}

// Path is the path the file was opened with.
func (f *OrderflowFile) Path() string { return f.path }

// Close closes the file. Readers from Records have their own connections: close them too.
func (f *OrderflowFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c == nil {
		return nil
	}
	err := f.c.close()
	f.c = nil
	return err
}

// Instruments returns the distinct instruments of the book table, normalised to our spelling
// (upper case without '-', '/', '_', ':': "BTC-USDT" → BTCUSDT) and sorted. It scans the
// whole table; the Symbols option does not filter it.
func (f *OrderflowFile) Instruments(ctx context.Context) ([]market.Symbol, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c == nil {
		return nil, errors.New("orderflow: file is closed")
	}
	disarm := f.c.interruptOn(ctx)
	defer disarm()
	raw, err := f.c.queryStrings("SELECT DISTINCT instrument FROM book WHERE instrument IS NOT NULL")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("orderflow: %s: instruments: %w", f.path, err)
	}
	var out []market.Symbol
	for _, r := range raw {
		if s := normalizeInstrument([]byte(r)); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Records starts reading the file's records in order (see the comment at the top of this
// file). It first checks that each table is in time order by id, one pass over its ids and
// timestamps (about a third of the cost of reading the records), to pick the fast or the
// sorted path. The reader has its own read-only connection; it is not safe for concurrent
// use, and ctx ends it (Next then returns ctx's error).
func (f *OrderflowFile) Records(ctx context.Context) (*OrderflowReader, error) {
	c, err := openOrderflowConn(f.path, true)
	if err != nil {
		return nil, err
	}
	var filter map[market.Symbol]bool
	if len(f.opt.Symbols) > 0 {
		filter = make(map[market.Symbol]bool, len(f.opt.Symbols))
		for _, s := range f.opt.Symbols {
			filter[normalizeInstrument([]byte(s))] = true
		}
	}
	r := &OrderflowReader{
		ctx:      ctx,
		c:        c,
		exchange: f.opt.Exchange,
		eng:      newFlowEngine(ctx, c, f.path, true, disorderResume, false, false),
	}
	r.eng.filter = filter
	r.disarm = c.interruptOn(ctx)
	for _, st := range []*streamState{&r.eng.book.streamState, &r.eng.trade.streamState} {
		if err := r.eng.checkOrder(st); err != nil {
			r.Close()
			return nil, err
		}
	}
	if err := r.eng.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// OrderflowReader yields the records of an order-flow file in order.
type OrderflowReader struct {
	ctx      context.Context
	c        *liteConn
	eng      *flowEngine
	exchange string
	disarm   func()
	err      error // sticky
	closed   bool
}

// Next fills rec with the next record and returns nil, or io.EOF after the last one. Book
// records are snapshots (Seq is the book row id, Time its timestamp in ms); their Bids and
// Asks are the reader's own slices, valid until the next call. A trade's ID is its trade_id
// text, or its row id when trade_id is NULL or empty.
func (r *OrderflowReader) Next(rec *market.FlowRecord) error {
	if r.closed {
		return errors.New("orderflow: reader is closed")
	}
	if r.err != nil {
		return r.err
	}
	kind, err := r.eng.step()
	if err != nil {
		if err != io.EOF && r.ctx.Err() != nil {
			err = r.ctx.Err()
		}
		r.err = err
		return err
	}
	e := r.eng
	if kind == flowBook {
		b := &e.book
		rec.IsBook = true
		rec.Trade = market.Trade{}
		rec.Book = market.BookUpdate{
			Exchange: r.exchange, Symbol: b.sym, Time: b.ts / 1000, Seq: b.id, Snapshot: true,
			Bids: b.bids, Asks: b.asks,
		}
		return nil
	}
	t := &e.trade
	rec.IsBook = false
	rec.Book = market.BookUpdate{}
	rec.Trade = market.Trade{
		Exchange: r.exchange, Symbol: t.sym, ID: t.tradeID, Time: t.ts / 1000,
		Price: t.price, Size: t.size, Side: t.side,
	}
	return nil
}

// Skipped returns the number of malformed (or, see above, out of order) book and trades rows
// skipped so far and the first ten reasons.
func (r *OrderflowReader) Skipped() (book, trades int64, reasons []string) {
	return r.eng.skippedBook, r.eng.skippedTrades, slices.Clone(r.eng.reasons)
}

// Close ends the reader and closes its connection.
func (r *OrderflowReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.disarm()
	r.eng.close()
	return r.c.close()
}

// The flow engine: both streams and their merge, shared by OrderflowReader and RunOrderflow.

type flowKind uint8

const (
	flowNone flowKind = iota
	flowBook
	flowTrade
)

type disorderPolicy uint8

const (
	// disorderRestart: step returns a *flowRestartError; the caller starts again with that
	// table on the sorted path (RunOrderflow).
	disorderRestart disorderPolicy = iota
	// disorderResume: the table continues on the sorted path after the rows already read
	// (OrderflowReader, should a table it checked turn out of order after all).
	disorderResume
)

// flowRestartError asks the caller to start again with table read on the sorted path.
type flowRestartError struct{ table string }

func (e *flowRestartError) Error() string {
	return "orderflow: table " + e.table + " is not in time order by id"
}

const maxSkipReasons = 10

// mergeKey orders records: time, then trades before snapshots, then id.
type mergeKey struct {
	ts   int64
	rank int8 // 0 trade, 1 book
	id   int64
}

func (a mergeKey) less(b mergeKey) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.id < b.id
}

// streamState is what the book and trades streams share.
type streamState struct {
	table   string
	st      *liteStmt
	sorted  bool  // read through the ordering table
	resumed bool  // switched to the sorted path by an OrderflowReader after reading some rows
	after   int64 // when resumed: rows with id <= after were read on the fast path
	done    bool
	have    bool  // a head row is waiting to be yielded
	lastTs  int64 // fast path: the previous row's time (µs)
	readID  int64 // fast path: the id of the last row read
	id      int64 // head row id
	ts      int64 // head row time (µs)
	sym     market.Symbol

	instRaw []byte // the raw instrument of sym
	instOK  bool   // sym passes the filter
}

type bookStream struct {
	streamState
	bids, asks []market.Level
}

type tradeStream struct {
	streamState
	price, size float64
	side        market.Side
	tradeID     string
}

type flowEngine struct {
	ctx    context.Context
	c      *liteConn
	path   string
	full   bool // read instrument and trade_id (and apply filter)
	policy disorderPolicy
	filter map[market.Symbol]bool

	book  bookStream
	trade tradeStream

	last    mergeKey // the last record yielded
	yielded bool
	polls   int

	skippedBook, skippedTrades int64
	reasons                    []string
}

func newFlowEngine(ctx context.Context, c *liteConn, path string, full bool, policy disorderPolicy, sortBook, sortTrades bool) *flowEngine {
	e := &flowEngine{ctx: ctx, c: c, path: path, full: full, policy: policy}
	e.book.table, e.book.sorted = "book", sortBook
	e.trade.table, e.trade.sorted = "trades", sortTrades
	e.book.bids = make([]market.Level, 0, 64)
	e.book.asks = make([]market.Level, 0, 64)
	return e
}

// close finalizes the statements.
func (e *flowEngine) close() {
	e.book.st.finalize()
	e.trade.st.finalize()
	e.book.st, e.trade.st = nil, nil
}

// step yields the next record: its data stays in e.book or e.trade until the next step.
func (e *flowEngine) step() (flowKind, error) {
	if e.polls++; e.polls&1023 == 0 {
		if err := e.ctx.Err(); err != nil {
			return flowNone, err
		}
	}
	if !e.book.have && !e.book.done {
		if err := e.fetchBook(); err != nil {
			return flowNone, err
		}
	}
	if !e.trade.have && !e.trade.done {
		if err := e.fetchTrade(); err != nil {
			return flowNone, err
		}
	}
	if e.trade.have && (!e.book.have || e.trade.ts <= e.book.ts) {
		e.trade.have = false
		e.last, e.yielded = mergeKey{e.trade.ts, 0, e.trade.id}, true
		return flowTrade, nil
	}
	if e.book.have {
		e.book.have = false
		e.last, e.yielded = mergeKey{e.book.ts, 1, e.book.id}, true
		return flowBook, nil
	}
	return flowNone, io.EOF
}

// skip counts a skipped row of table; it reports whether its reason should be recorded.
func (e *flowEngine) skip(table string) bool {
	if table == "book" {
		e.skippedBook++
	} else {
		e.skippedTrades++
	}
	return len(e.reasons) < maxSkipReasons
}

func (e *flowEngine) reason(table string, id int64, format string, args ...any) {
	e.reasons = append(e.reasons, table+" id "+strconv.FormatInt(id, 10)+": "+fmt.Sprintf(format, args...))
}

func (e *flowEngine) wrap(table string, err error) error {
	if e.ctx.Err() != nil {
		return e.ctx.Err()
	}
	return fmt.Errorf("orderflow: %s: read %s: %w", e.path, table, err)
}

// Column layouts. The fast-path and sorted-path queries share them: id, time, …, and in
// full mode the text columns only the reader needs last.
const (
	bookColBids, bookColAsks, bookColInst                                          = 2, 3, 4
	tradeColPrice, tradeColSize, tradeColSide, tradeColTradeID, tradeColInstrument = 2, 3, 4, 5, 6
)

func (e *flowEngine) bookQuery(sorted bool) string {
	cols := "b.id, b.timestamp, b.bids, b.asks"
	if sorted {
		cols = "b.id, o.ts, b.bids, b.asks"
	}
	if e.full {
		cols += ", b.instrument"
	}
	if sorted {
		return "SELECT " + cols + " FROM temp.of_order_book AS o CROSS JOIN main.book AS b ON b.id = o.id ORDER BY o.ts, o.id"
	}
	return "SELECT " + cols + " FROM main.book AS b ORDER BY b.id"
}

func (e *flowEngine) tradeQuery(sorted bool) string {
	cols := "t.id, t.timestamp, t.price, t.size, t.side"
	if sorted {
		cols = "t.id, o.ts, t.price, t.size, t.side"
	}
	if e.full {
		cols += ", t.trade_id, t.instrument"
	}
	if sorted {
		return "SELECT " + cols + " FROM temp.of_order_trades AS o CROSS JOIN main.trades AS t ON t.id = o.id ORDER BY o.ts, o.id"
	}
	return "SELECT " + cols + " FROM main.trades AS t ORDER BY t.id"
}

// start opens both streams (building the ordering tables of sorted ones) before any row is
// read: SQLite cannot drop a table while another statement is running.
func (e *flowEngine) start() error {
	if err := e.open(&e.book.streamState, e.bookQuery); err != nil {
		return err
	}
	return e.open(&e.trade.streamState, e.tradeQuery)
}

// checkOrder reads s's timestamps in id order and puts s on the sorted path if one goes
// backwards. Unparsable timestamps are left for the real pass to count.
func (e *flowEngine) checkOrder(s *streamState) error {
	st, err := e.c.prepare("SELECT timestamp FROM main." + s.table + " ORDER BY id")
	if err != nil {
		return e.wrap(s.table, err)
	}
	defer st.finalize()
	last := int64(math.MinInt64)
	for k := 0; ; k++ {
		if k&4095 == 0 {
			if err := e.ctx.Err(); err != nil {
				return err
			}
		}
		row, err := st.step()
		if err != nil {
			return e.wrap(s.table, err)
		}
		if !row {
			return nil
		}
		ts, problem := colTimestamp(st, 0)
		if problem != "" {
			continue
		}
		if ts < last {
			s.sorted = true
			return nil
		}
		last = ts
	}
}

// open prepares the stream's query, building the ordering table first on the sorted path.
func (e *flowEngine) open(s *streamState, query func(bool) string) error {
	if s.sorted {
		if err := e.buildOrder(s); err != nil {
			return err
		}
	}
	st, err := e.c.prepare(query(s.sorted))
	if err != nil {
		return e.wrap(s.table, err)
	}
	s.st = st
	return nil
}

// buildOrder writes the (time µs, id) pairs of s's table into temp.of_order_<table> and
// indexes them. Rows whose timestamp does not parse are skipped there (and counted, unless
// they were read on the fast path already).
func (e *flowEngine) buildOrder(s *streamState) error {
	tbl := "of_order_" + s.table
	if err := e.c.exec("DROP TABLE IF EXISTS temp." + tbl + "; CREATE TEMP TABLE " + tbl + "(ts INTEGER NOT NULL, id INTEGER NOT NULL)"); err != nil {
		return e.wrap(s.table, err)
	}
	rd, err := e.c.prepare("SELECT id, timestamp FROM main." + s.table + " ORDER BY id")
	if err != nil {
		return e.wrap(s.table, err)
	}
	defer rd.finalize()
	const per = 200
	ins, err := e.c.prepare(multiRowInsert("temp."+tbl, "ts, id", 2, per))
	if err != nil {
		return e.wrap(s.table, err)
	}
	defer ins.finalize()
	one, err := e.c.prepare(multiRowInsert("temp."+tbl, "ts, id", 2, 1))
	if err != nil {
		return e.wrap(s.table, err)
	}
	defer one.finalize()
	if err := e.c.exec("SAVEPOINT of_order"); err != nil {
		return e.wrap(s.table, err)
	}
	var buf [per][2]int64
	n := 0
	err = func() error {
		for k := 0; ; k++ {
			if k&4095 == 0 {
				if err := e.ctx.Err(); err != nil {
					return err
				}
			}
			row, err := rd.step()
			if err != nil {
				return err
			}
			if !row {
				break
			}
			id := rd.colInt64(0)
			ts, problem := colTimestamp(rd, 1)
			if problem != "" {
				if (!s.resumed || id > s.after) && e.skip(s.table) {
					e.reason(s.table, id, "timestamp %s: %s", colRepr(rd, 1), problem)
				}
				continue
			}
			buf[n] = [2]int64{ts, id}
			if n++; n == per {
				for i := range n {
					ins.bindInt64(2*i+1, buf[i][0])
					ins.bindInt64(2*i+2, buf[i][1])
				}
				if err := ins.exec(); err != nil {
					return err
				}
				n = 0
			}
		}
		for i := range n {
			one.bindInt64(1, buf[i][0])
			one.bindInt64(2, buf[i][1])
			if err := one.exec(); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		e.c.exec("ROLLBACK TO of_order; RELEASE of_order")
		return e.wrap(s.table, err)
	}
	if err := e.c.exec("RELEASE of_order; CREATE INDEX temp." + tbl + "_ts ON " + tbl + "(ts, id)"); err != nil {
		return e.wrap(s.table, err)
	}
	return nil
}

// multiRowInsert is INSERT INTO table(cols) VALUES (?,…),… with rows rows of n parameters.
func multiRowInsert(table, cols string, n, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + "(" + cols + ") VALUES ")
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// advance steps s's statement past the next row whose id and time it returns, handling the
// fast path's order check: ok false at the end of the table.
func (e *flowEngine) advance(s *streamState, query func(bool) string) (ok bool, err error) {
	for {
		if s.st == nil {
			if err := e.open(s, query); err != nil {
				return false, err
			}
		}
		row, err := s.st.step()
		if err != nil {
			return false, e.wrap(s.table, err)
		}
		if !row {
			s.st.finalize()
			s.st, s.done = nil, true
			return false, nil
		}
		id := s.st.colInt64(0)
		if s.sorted {
			if s.resumed && id <= s.after {
				continue // read on the fast path before the switch
			}
			s.id, s.ts = id, s.st.colInt64(1)
			return true, nil
		}
		ts, problem := colTimestamp(s.st, 1)
		if problem != "" {
			if e.skip(s.table) {
				e.reason(s.table, id, "timestamp %s: %s", colRepr(s.st, 1), problem)
			}
			s.readID = id
			continue
		}
		if ts < s.lastTs {
			if e.policy == disorderRestart {
				return false, &flowRestartError{table: s.table}
			}
			// Resume on the sorted path after the rows read so far.
			s.st.finalize()
			s.st, s.sorted, s.resumed, s.after = nil, true, true, s.readID
			continue
		}
		s.lastTs, s.readID = ts, id
		s.id, s.ts = id, ts
		return true, nil
	}
}

// late reports whether a row of the sorted path after a resume belongs before a record
// already yielded; it counts it as skipped.
func (e *flowEngine) late(s *streamState, rank int8) bool {
	if !s.resumed || !e.yielded {
		return false
	}
	k := mergeKey{s.ts, rank, s.id}
	if !k.less(e.last) {
		return false
	}
	if e.skip(s.table) {
		e.reason(s.table, s.id, "time %s is before records already read (the table is not in time order by id); skipped",
			time.UnixMicro(s.ts).UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
	}
	return true
}

// symbol normalises the instrument column, caching the last one, and applies the filter.
func (e *flowEngine) symbol(s *streamState, col int) bool {
	raw := s.st.colText(col)
	if s.instRaw == nil || string(raw) != string(s.instRaw) {
		s.instRaw = append(s.instRaw[:0], raw...)
		if s.instRaw == nil {
			s.instRaw = []byte{}
		}
		s.sym = normalizeInstrument(raw)
		s.instOK = e.filter == nil || e.filter[s.sym]
	}
	return s.instOK
}

func (e *flowEngine) fetchBook() error {
	s := &e.book
	for {
		ok, err := e.advance(&s.streamState, e.bookQuery)
		if err != nil || !ok {
			return err
		}
		if e.late(&s.streamState, 1) {
			continue
		}
		if e.full && !e.symbol(&s.streamState, bookColInst) {
			continue
		}
		if s.bids, err = colLevels(s.st, bookColBids, s.bids); err != nil {
			if e.skip("book") {
				e.reason("book", s.id, "bids: %v", err)
			}
			continue
		}
		if s.asks, err = colLevels(s.st, bookColAsks, s.asks); err != nil {
			if e.skip("book") {
				e.reason("book", s.id, "asks: %v", err)
			}
			continue
		}
		if !market.SortedBestFirst(market.Buy, s.bids) {
			market.SortLevels(market.Buy, s.bids)
		}
		if !market.SortedBestFirst(market.Sell, s.asks) {
			market.SortLevels(market.Sell, s.asks)
		}
		s.have = true
		return nil
	}
}

var errNull = errors.New("NULL, want a list of levels")

func colLevels(st *liteStmt, col int, dst []market.Level) ([]market.Level, error) {
	if st.colType(col) == sqlite3.SQLITE_NULL {
		return dst[:0], errNull
	}
	return ParseLevels(st.colText(col), dst)
}

func (e *flowEngine) fetchTrade() error {
	s := &e.trade
	for {
		ok, err := e.advance(&s.streamState, e.tradeQuery)
		if err != nil || !ok {
			return err
		}
		if e.late(&s.streamState, 0) {
			continue
		}
		if e.full && !e.symbol(&s.streamState, tradeColInstrument) {
			continue
		}
		price, problem := colNumber(s.st, tradeColPrice)
		if problem == "" && !(price > 0) {
			problem = "want > 0"
		}
		if problem != "" {
			if e.skip("trades") {
				e.reason("trades", s.id, "price %s: %s", colRepr(s.st, tradeColPrice), problem)
			}
			continue
		}
		size, problem := colNumber(s.st, tradeColSize)
		if problem == "" && !(size > 0) {
			problem = "want > 0"
		}
		if problem != "" {
			if e.skip("trades") {
				e.reason("trades", s.id, "size %s: %s", colRepr(s.st, tradeColSize), problem)
			}
			continue
		}
		side, err := parseSideBytes(s.st.colText(tradeColSide))
		if err != nil {
			if e.skip("trades") {
				e.reason("trades", s.id, "%v", err)
			}
			continue
		}
		s.price, s.size, s.side = price, size, side
		if e.full {
			s.tradeID = string(s.st.colText(tradeColTradeID))
			if s.tradeID == "" {
				s.tradeID = strconv.FormatInt(s.id, 10)
			}
		}
		s.have = true
		return nil
	}
}

// colTimestamp reads a timestamp column as unix µs; problem is "" on success.
func colTimestamp(st *liteStmt, col int) (int64, string) {
	switch st.colType(col) {
	case sqlite3.SQLITE_INTEGER:
		return tsFromInt(st.colInt64(col))
	case sqlite3.SQLITE_FLOAT:
		return tsFromFloat(st.colDouble(col))
	case sqlite3.SQLITE_NULL:
		return 0, "want a time"
	default:
		return tsFromText(st.colText(col))
	}
}

// colNumber reads a numeric column; problem is "" on success.
func colNumber(st *liteStmt, col int) (float64, string) {
	switch st.colType(col) {
	case sqlite3.SQLITE_INTEGER:
		return float64(st.colInt64(col)), ""
	case sqlite3.SQLITE_FLOAT:
		v := st.colDouble(col)
		if !finite(v) {
			return 0, "not finite"
		}
		return v, ""
	case sqlite3.SQLITE_NULL:
		return 0, "want a number"
	case sqlite3.SQLITE_BLOB:
		return 0, "a BLOB, want a number"
	default:
		v, err := parseNumber(st.colText(col))
		if err != nil {
			return 0, "not a finite number"
		}
		return v, ""
	}
}

// colRepr writes a column's value for a message.
func colRepr(st *liteStmt, col int) string {
	switch st.colType(col) {
	case sqlite3.SQLITE_NULL:
		return "NULL"
	case sqlite3.SQLITE_INTEGER:
		return strconv.FormatInt(st.colInt64(col), 10)
	case sqlite3.SQLITE_FLOAT:
		return fmtNum(st.colDouble(col))
	default:
		return quoteTok(st.colText(col))
	}
}
