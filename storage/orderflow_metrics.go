package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// `tradeconsole orderflow`: per-snapshot OBI and CVD of an order-flow file, written to its
// metrics table.

// OrderflowOptions tune RunOrderflow.
type OrderflowOptions struct {
	// Depth is the number of levels per side OBI sums; 0 means all levels. The command line
	// passes its own default explicitly.
	Depth int
	// BatchSize is the number of metrics rows per write transaction; default 50,000. Each
	// commit costs a journal file and two fsyncs in rollback-journal mode: at 5,000 rows they
	// took a tenth of the time of a run.
	BatchSize int
	// Progress, if set, is called after each batch and at the end with the snapshots done
	// and the estimated total (max(id) − min(id) + 1 of the book table, so it may overshoot
	// when ids have gaps or rows are skipped). A file that turns out not to be in time order is
	// read again from the start, so done can go back to 0 once or twice.
	Progress func(done, total int64)
}

// OrderflowSummary is what RunOrderflow reports; `orderflow --json` prints it.
type OrderflowSummary struct {
	File  string `json:"file"`
	Depth int    `json:"depth"` // 0: all levels

	Snapshots int64 `json:"snapshots"` // valid book rows, one metrics row each
	Trades    int64 `json:"trades"`    // valid trades read, including those after the last snapshot
	// TradesAfterLastSnapshot are the trades later than the last snapshot: counted here only,
	// in no metrics row.
	TradesAfterLastSnapshot int64 `json:"trades_after_last_snapshot"`

	Skipped OrderflowSkipped `json:"skipped"`
	OBI     OrderflowOBI     `json:"obi"` // over all snapshots; zeros without snapshots
	// FinalCVD is the cvd of the last snapshot's metrics row: trades after the last snapshot
	// are not in it. 0 without snapshots.
	FinalCVD float64 `json:"final_cvd"`

	FirstTimestamp int64 `json:"first_timestamp"` // unix ms of the first snapshot; 0 without snapshots
	LastTimestamp  int64 `json:"last_timestamp"`  // unix ms of the last snapshot

	// Sorted names the tables that were not in time order by id and were read through the
	// sorted path.
	Sorted []string `json:"sorted,omitempty"`

	ElapsedSeconds     float64 `json:"elapsed_seconds"`
	SnapshotsPerSecond float64 `json:"snapshots_per_second"`
}

// OrderflowSkipped counts the malformed rows skipped.
type OrderflowSkipped struct {
	Book    int64    `json:"book"`
	Trades  int64    `json:"trades"`
	Reasons []string `json:"reasons"` // the first ten
}

// OrderflowOBI summarises the OBI of all snapshots.
type OrderflowOBI struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Text is a short human summary.
func (s OrderflowSummary) Text() string {
	var b strings.Builder
	depth := "all levels"
	if s.Depth > 0 {
		depth = "depth " + strconv.Itoa(s.Depth)
	}
	fmt.Fprintf(&b, "orderflow %s (%s)\n", s.File, depth)
	fmt.Fprintf(&b, "  snapshots %d", s.Snapshots)
	if s.Snapshots > 0 {
		fmt.Fprintf(&b, " from %s to %s", fmtMillis(s.FirstTimestamp), fmtMillis(s.LastTimestamp))
	}
	fmt.Fprintf(&b, "\n  trades %d (%d after the last snapshot, not in any metrics row)\n", s.Trades, s.TradesAfterLastSnapshot)
	if s.Snapshots > 0 {
		fmt.Fprintf(&b, "  OBI min %.4f  max %.4f  mean %.4f   final CVD %s\n", s.OBI.Min, s.OBI.Max, s.OBI.Mean, strconv.FormatFloat(s.FinalCVD, 'g', 10, 64))
	}
	if s.Skipped.Book > 0 || s.Skipped.Trades > 0 {
		fmt.Fprintf(&b, "  skipped %d book rows and %d trades rows:\n", s.Skipped.Book, s.Skipped.Trades)
		for i, r := range s.Skipped.Reasons {
			if i == 3 {
				fmt.Fprintf(&b, "    … (%d more reasons in --json)\n", len(s.Skipped.Reasons)-i)
				break
			}
			fmt.Fprintf(&b, "    %s\n", r)
		}
	}
	if len(s.Sorted) > 0 {
		fmt.Fprintf(&b, "  not in time order by id, read sorted: %s\n", strings.Join(s.Sorted, ", "))
	}
	fmt.Fprintf(&b, "  %.2f s, %.0f snapshots/s\n", s.ElapsedSeconds, s.SnapshotsPerSecond)
	return b.String()
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// metricsInsertRows is the number of rows of one multi-row INSERT into the metrics table.
const metricsInsertRows = 100

// metricsBuildTable is where a run writes before the swap.
const metricsBuildTable = "metrics_next"

// RunOrderflow computes the OBI and CVD of every snapshot of the order-flow file at path and
// replaces its metrics table with one row per snapshot (DESIGN.md, "Definitions"):
//
//   - id: 1, 2, … in snapshot order; snapshot_id: the book row's id; timestamp: the snapshot's
//     time in unix ms;
//   - obi: market.OBI of the top Depth levels of each side;
//   - cvd: the running taker buy − sell size from the start of the file, after the trades
//     attributed to this snapshot (a trade with time t belongs to the first snapshot with
//     timestamp ≥ t);
//   - best_bid, best_ask: the best price of each side, NULL when that side is empty.
//
// Malformed rows are skipped and counted (see OrderflowReader). The rows are written into a
// new table in transactions of BatchSize rows; at the end one transaction drops the old
// metrics table, renames the new one and creates its indexes, so a run that fails or is
// cancelled leaves the previous metrics as they were. The book and trades tables are never
// written, and the file's journal mode is left as it is. All of it runs on one connection,
// so it works the same in WAL and rollback-journal mode (in WAL mode the -wal file grows to
// about the size of the new metrics during a run, and is checkpointed at its end). A missing or unusable file is an
// *OrderflowInputError.
func RunOrderflow(ctx context.Context, path string, opt OrderflowOptions) (OrderflowSummary, error) {
	start := time.Now()
	sum := OrderflowSummary{File: path, Depth: opt.Depth}
	if opt.Depth < 0 {
		return sum, inputErr(path, nil, "depth %d: want 0 (all levels) or more", opt.Depth)
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 50_000
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	c, err := openOrderflowConn(path, false)
	if err != nil {
		return sum, err
	}
	defer c.close()
	disarm := c.interruptOn(ctx)
	defer disarm()

	r := metricsRun{ctx: ctx, c: c, path: path, opt: opt}
	r.total, err = c.queryInt64("SELECT coalesce((SELECT max(id) FROM book) - (SELECT min(id) FROM book) + 1, 0)")
	if err != nil {
		return sum, r.fail(err)
	}
	var sortBook, sortTrades bool
	for {
		err = r.run(&sum, sortBook, sortTrades)
		var re *flowRestartError
		if !errors.As(err, &re) {
			break
		}
		// Not in time order: start again from scratch with that table sorted.
		if err := r.abandon(); err != nil {
			return sum, r.fail(err)
		}
		if re.table == "book" {
			sortBook = true
		} else {
			sortTrades = true
		}
	}
	if err != nil {
		disarm()
		r.abandon()
		return sum, r.fail(err)
	}
	if err := c.exec("BEGIN IMMEDIATE; DROP TABLE IF EXISTS metrics; ALTER TABLE " + metricsBuildTable +
		" RENAME TO metrics;" + OrderflowMetricsIndexes + "; COMMIT"); err != nil {
		disarm()
		r.abandon()
		return sum, r.fail(fmt.Errorf("replace the metrics table: %w", err))
	}
	if sortBook {
		sum.Sorted = append(sum.Sorted, "book")
	}
	if sortTrades {
		sum.Sorted = append(sum.Sorted, "trades")
	}
	if opt.Progress != nil {
		opt.Progress(sum.Snapshots, max(r.total, sum.Snapshots))
	}
	sum.ElapsedSeconds = time.Since(start).Seconds()
	if sum.ElapsedSeconds > 0 {
		sum.SnapshotsPerSecond = float64(sum.Snapshots) / sum.ElapsedSeconds
	}
	return sum, nil
}

type metricsRun struct {
	ctx   context.Context
	c     *liteConn
	path  string
	opt   OrderflowOptions
	total int64

	eng     *flowEngine
	ins     *liteStmt // metricsInsertRows rows
	one     *liteStmt // one row
	rows    [metricsInsertRows]metricsRow
	pending int // rows queued in rows
}

// fail wraps a runtime error; the context's error wins, input errors pass through.
func (r *metricsRun) fail(err error) error {
	if r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	var ie *OrderflowInputError
	if errors.As(err, &ie) || strings.HasPrefix(err.Error(), "orderflow: ") {
		return err
	}
	return fmt.Errorf("orderflow: %s: %w", r.path, err)
}

// abandon frees the statements, rolls back and drops the unfinished table. After a
// cancellation, disarm the interrupt first.
func (r *metricsRun) abandon() error {
	r.release()
	r.c.clearInterrupt()
	if r.c.inTransaction() { // SQLite rolls back by itself after some errors
		if err := r.c.exec("ROLLBACK"); err != nil {
			return err
		}
	}
	return r.c.exec("DROP TABLE IF EXISTS " + metricsBuildTable)
}

func (r *metricsRun) release() {
	if r.eng != nil {
		r.eng.close()
		r.eng = nil
	}
	r.ins.finalize()
	r.one.finalize()
	r.ins, r.one = nil, nil
}

func (r *metricsRun) begin() error {
	return r.c.exec("BEGIN")
}

func (r *metricsRun) commit() error {
	return r.c.exec("COMMIT")
}

// run computes everything into metrics_next and commits it; the swap is the caller's.
func (r *metricsRun) run(sum *OrderflowSummary, sortBook, sortTrades bool) error {
	c := r.c
	*sum = OrderflowSummary{File: sum.File, Depth: sum.Depth}
	r.pending = 0
	create := strings.Replace(OrderflowMetricsTable, "CREATE TABLE metrics", "CREATE TABLE "+metricsBuildTable, 1)
	if err := c.exec("DROP TABLE IF EXISTS " + metricsBuildTable + ";" + create); err != nil {
		return fmt.Errorf("create %s: %w", metricsBuildTable, err)
	}
	const cols = "snapshot_id, timestamp, obi, cvd, best_bid, best_ask"
	var err error
	if r.ins, err = c.prepare(multiRowInsert(metricsBuildTable, cols, 6, metricsInsertRows)); err != nil {
		return err
	}
	if r.one, err = c.prepare(multiRowInsert(metricsBuildTable, cols, 6, 1)); err != nil {
		return err
	}
	r.eng = newFlowEngine(r.ctx, c, r.path, false, disorderRestart, sortBook, sortTrades)
	defer r.release()
	if err := r.eng.start(); err != nil {
		return err
	}
	if err := r.begin(); err != nil {
		return err
	}

	var (
		cvd          market.CVD
		obiSum       float64
		sinceLast    int64 // trades since the last snapshot
		rowsInTx     int
		obiMin       = math.Inf(1)
		obiMax       = math.Inf(-1)
		depth        = r.opt.Depth
		e            = r.eng
		book, trades = &e.book, &e.trade
	)
	for {
		kind, err := e.step()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if kind == flowTrade {
			cvd.Add(trades.side, trades.size)
			sum.Trades++
			sinceLast++
			continue
		}
		obi := market.OBI(book.bids, book.asks, depth)
		ms := book.ts / 1000
		if err := r.add(book.id, ms, obi, cvd.Value, book.bids, book.asks); err != nil {
			return err
		}
		if sum.Snapshots == 0 {
			sum.FirstTimestamp = ms
		}
		sum.LastTimestamp = ms
		sum.Snapshots++
		sum.FinalCVD = cvd.Value
		sinceLast = 0
		obiSum += obi
		obiMin = min(obiMin, obi)
		obiMax = max(obiMax, obi)
		if rowsInTx++; rowsInTx >= r.opt.BatchSize {
			if err := r.flushRest(); err != nil {
				return err
			}
			if err := r.commit(); err != nil {
				return err
			}
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if r.opt.Progress != nil {
				r.opt.Progress(sum.Snapshots, max(r.total, sum.Snapshots))
			}
			if err := r.begin(); err != nil {
				return err
			}
			rowsInTx = 0
		}
	}
	if err := r.flushRest(); err != nil {
		return err
	}
	if err := r.commit(); err != nil {
		return err
	}
	sum.TradesAfterLastSnapshot = sinceLast
	if sum.Snapshots > 0 {
		sum.OBI = OrderflowOBI{Min: obiMin, Max: obiMax, Mean: obiSum / float64(sum.Snapshots)}
	}
	sum.Skipped = OrderflowSkipped{Book: e.skippedBook, Trades: e.skippedTrades, Reasons: append([]string{}, e.reasons...)}
	return nil
}

// metricsRow is one row of the metrics table; a side's best price is NaN when it is empty
// (written as NULL).
type metricsRow struct {
	id, ms                     int64
	obi, cvd, bestBid, bestAsk float64
}

// add queues one metrics row, writing the queue with the multi-row insert when it is full.
func (r *metricsRun) add(id, ms int64, obi, cvd float64, bids, asks []market.Level) error {
	row := &r.rows[r.pending]
	*row = metricsRow{id: id, ms: ms, obi: obi, cvd: cvd, bestBid: math.NaN(), bestAsk: math.NaN()}
	if len(bids) > 0 {
		row.bestBid = bids[0].Price
	}
	if len(asks) > 0 {
		row.bestAsk = asks[0].Price
	}
	if r.pending++; r.pending < metricsInsertRows {
		return nil
	}
	r.pending = 0
	for i := range r.rows {
		bindMetricsRow(r.ins, i*6, &r.rows[i])
	}
	if err := r.ins.exec(); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

func bindMetricsRow(st *liteStmt, base int, m *metricsRow) {
	// Binding a valid parameter index of a live statement cannot fail.
	st.bindInt64(base+1, m.id)
	st.bindInt64(base+2, m.ms)
	st.bindDouble(base+3, m.obi)
	st.bindDouble(base+4, m.cvd)
	if math.IsNaN(m.bestBid) {
		st.bindNull(base + 5)
	} else {
		st.bindDouble(base+5, m.bestBid)
	}
	if math.IsNaN(m.bestAsk) {
		st.bindNull(base + 6)
	} else {
		st.bindDouble(base+6, m.bestAsk)
	}
}

// flushRest writes the queued rows one by one.
func (r *metricsRun) flushRest() error {
	for i := range r.pending {
		bindMetricsRow(r.one, 0, &r.rows[i])
		if err := r.one.exec(); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	r.pending = 0
	return nil
}
