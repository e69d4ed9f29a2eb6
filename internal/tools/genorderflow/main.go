// Command genorderflow writes a synthetic order-flow file (the seed schema of DESIGN.md: book
// and trades tables) for tests and benchmarks:
//
//	go run ./internal/tools/genorderflow -out FILE -snapshots N -levels 20 -trades-per-snapshot K -seed S
//
// Snapshots hold `levels` levels per side as JSON [[price, size], …] text around a random-walk
// mid price; their timestamps are unix milliseconds 100 ms to 1 s apart. Each snapshot is
// preceded by K trades with times in (previous snapshot, this snapshot]. The output file must
// not exist. Rows are written with multi-row inserts in large transactions, with
// journal_mode=OFF and synchronous=OFF: the file is new, so a crash only loses the file itself.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/storage"
	_ "modernc.org/sqlite"
)

type config struct {
	out        string
	snapshots  int
	levels     int
	trades     int
	seed       uint64
	instrument string
	start      int64
	python     bool
}

func main() {
	var c config
	flag.StringVar(&c.out, "out", "", "output file (must not exist)")
	flag.IntVar(&c.snapshots, "snapshots", 100_000, "number of book snapshots")
	flag.IntVar(&c.levels, "levels", 20, "levels per side")
	flag.IntVar(&c.trades, "trades-per-snapshot", 2, "trades before each snapshot")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.StringVar(&c.instrument, "instrument", "BTC-USDT", "instrument column value")
	flag.Int64Var(&c.start, "start", 1_704_067_200_000, "first snapshot time (unix ms)")
	flag.BoolVar(&c.python, "python", false, "write levels as Python tuple text [(p, s, 0, 1), …]")
	flag.Parse()
	if c.out == "" || c.snapshots < 0 || c.levels < 0 || c.trades < 0 {
		fmt.Fprintln(os.Stderr, "genorderflow: -out FILE is required; counts must be >= 0")
		flag.Usage()
		os.Exit(2)
	}
	t0 := time.Now()
	if err := generate(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "genorderflow:", err)
		os.Exit(1)
	}
	fi, _ := os.Stat(c.out)
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	fmt.Fprintf(os.Stderr, "genorderflow: %s: %d snapshots, %d trades, %.1f MB in %.1fs\n",
		c.out, c.snapshots, c.snapshots*c.trades, float64(size)/1e6, time.Since(t0).Seconds())
}

// rowsPerInsert is the number of rows of one multi-row INSERT statement.
const rowsPerInsert = 100

// rowsPerTx is the number of rows per transaction.
const rowsPerTx = 200_000

type bookRow struct {
	bids, asks string
	ts         int64
}

type tradeRow struct {
	id    string
	price float64
	size  float64
	side  string
	ts    int64
}

// batch is what the producer goroutine formats while the main goroutine inserts.
type batch struct {
	book   []bookRow
	trades []tradeRow
}

func generate(ctx context.Context, c config) error {
	abs, err := filepath.Abs(c.out)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err == nil {
		return fmt.Errorf("%s exists; refusing to overwrite it", c.out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: url.Values{
		"_pragma": {"journal_mode(OFF)", "synchronous(OFF)", "cache_size(-65536)"},
	}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, storage.OrderflowInputSchema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	bookStmt, err := db.PrepareContext(ctx, multiInsert("book", "instrument, bids, asks, timestamp", 4, rowsPerInsert))
	if err != nil {
		return err
	}
	defer bookStmt.Close()
	tradeStmt, err := db.PrepareContext(ctx, multiInsert("trades", "instrument, trade_id, price, size, side, timestamp", 6, rowsPerInsert))
	if err != nil {
		return err
	}
	defer tradeStmt.Close()

	batches := make(chan batch, 2)
	go produce(c, batches)

	var bookArgs, tradeArgs []any
	var tx *sql.Tx
	inTx := 0
	flushBook := func(rows []bookRow, stmt *sql.Stmt) error {
		bookArgs = bookArgs[:0]
		for _, r := range rows {
			bookArgs = append(bookArgs, c.instrument, r.bids, r.asks, r.ts)
		}
		if len(rows) == rowsPerInsert {
			_, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, bookArgs...)
			return err
		}
		_, err := tx.ExecContext(ctx, multiInsert("book", "instrument, bids, asks, timestamp", 4, len(rows)), bookArgs...)
		return err
	}
	flushTrades := func(rows []tradeRow, stmt *sql.Stmt) error {
		tradeArgs = tradeArgs[:0]
		for _, r := range rows {
			tradeArgs = append(tradeArgs, c.instrument, r.id, r.price, r.size, r.side, r.ts)
		}
		if len(rows) == rowsPerInsert {
			_, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, tradeArgs...)
			return err
		}
		_, err := tx.ExecContext(ctx, multiInsert("trades", "instrument, trade_id, price, size, side, timestamp", 6, len(rows)), tradeArgs...)
		return err
	}
	for b := range batches {
		if tx == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
		for i := 0; i < len(b.trades); i += rowsPerInsert {
			if err := flushTrades(b.trades[i:min(i+rowsPerInsert, len(b.trades))], tradeStmt); err != nil {
				return fmt.Errorf("insert trades: %w", err)
			}
		}
		for i := 0; i < len(b.book); i += rowsPerInsert {
			if err := flushBook(b.book[i:min(i+rowsPerInsert, len(b.book))], bookStmt); err != nil {
				return fmt.Errorf("insert book: %w", err)
			}
		}
		inTx += len(b.book) + len(b.trades)
		if inTx >= rowsPerTx {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx, inTx = nil, 0
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return db.Close()
}

func multiInsert(table, cols string, n, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return "INSERT INTO " + table + "(" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// produce formats the rows in batches of 10,000 snapshots.
func produce(c config, out chan<- batch) {
	defer close(out)
	rng := rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	mid := 50_000.0
	ts := c.start
	prevTs := ts - 1000
	tradeID := int64(1_000_000_000)
	const per = 10_000
	var buf []byte
	for done := 0; done < c.snapshots; {
		n := min(per, c.snapshots-done)
		b := batch{book: make([]bookRow, 0, n), trades: make([]tradeRow, 0, n*c.trades)}
		for range n {
			// Trades in (prevTs, ts], in time order.
			for k := range c.trades {
				span := ts - prevTs
				tt := prevTs + 1 + int64(float64(span-1)*float64(k+1)/float64(c.trades+1)) + int64(rng.IntN(2))
				tt = min(tt, ts)
				side := "buy"
				px := mid + 0.05
				if rng.IntN(2) == 0 {
					side, px = "sell", mid-0.05
				}
				tradeID++
				b.trades = append(b.trades, tradeRow{
					id: strconv.FormatInt(tradeID, 10), price: round(px, 1), size: round(0.001+rng.ExpFloat64()*0.2, 3),
					side: side, ts: tt,
				})
			}
			mid = math.Max(1000, mid+rng.NormFloat64()*2)
			buf = levels(buf[:0], rng, mid, -1, c.levels, c.python)
			bids := string(buf)
			buf = levels(buf[:0], rng, mid, +1, c.levels, c.python)
			asks := string(buf)
			b.book = append(b.book, bookRow{bids: bids, asks: asks, ts: ts})
			prevTs = ts
			ts += 100 + int64(rng.IntN(901))
		}
		done += n
		out <- b
	}
}

// levels appends one side, best first: bids below mid going down, asks above going up.
func levels(buf []byte, rng *rand.Rand, mid float64, dir float64, n int, python bool) []byte {
	open, close := byte('['), byte(']')
	if python {
		open, close = '(', ')'
	}
	buf = append(buf, '[')
	px := round(mid+dir*0.05, 1)
	for i := range n {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, open)
		buf = strconv.AppendFloat(buf, px, 'f', 1, 64)
		buf = append(buf, ", "...)
		buf = strconv.AppendFloat(buf, round(0.001+rng.ExpFloat64()*1.5, 3), 'f', -1, 64)
		if python {
			buf = append(buf, ", 0, "...)
			buf = strconv.AppendInt(buf, int64(1+rng.IntN(20)), 10)
		}
		buf = append(buf, close)
		px = round(px+dir*(0.1+float64(rng.IntN(3))*0.1), 1)
	}
	return append(buf, ']')
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}
