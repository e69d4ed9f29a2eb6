package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// Order-flow test files are written through database/sql; a value of type any goes into its
// column as it is (int64, float64, string, nil), so tests can store every accepted form.

type ofBook struct {
	id         int64
	inst       any
	bids, asks any
	ts         any
}

type ofTrade struct {
	id          int64
	inst        any
	tradeID     any
	price, size any
	side        any
	ts          any
}

// openSQL opens path with database/sql (modernc), one connection.
func openSQL(t testing.TB, path string, pragmas ...string) *sql.DB {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: url.Values{"_pragma": pragmas}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// writeOrderflowFile creates an order-flow file in the given journal mode ("wal" or "delete").
func writeOrderflowFile(t testing.TB, path, journal string, books []ofBook, trades []ofTrade) {
	t.Helper()
	db := openSQL(t, path, "journal_mode("+journal+")")
	if err := CreateOrderflowInput(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range books {
		if _, err := tx.Exec("INSERT INTO book(id, instrument, bids, asks, timestamp) VALUES (?,?,?,?,?)",
			b.id, b.inst, b.bids, b.asks, b.ts); err != nil {
			t.Fatal(err)
		}
	}
	for _, tr := range trades {
		if _, err := tx.Exec("INSERT INTO trades(id, instrument, trade_id, price, size, side, timestamp) VALUES (?,?,?,?,?,?,?)",
			tr.id, tr.inst, tr.tradeID, tr.price, tr.size, tr.side, tr.ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// inputChecksum hashes every row of book and trades (values and their SQLite types).
func inputChecksum(t testing.TB, path string) string {
	t.Helper()
	db := openSQL(t, path)
	h := sha256.New()
	for _, q := range []string{
		"SELECT id, quote(instrument), quote(bids), quote(asks), quote(timestamp) FROM book ORDER BY id",
		"SELECT id, quote(instrument), quote(trade_id), quote(price), quote(size), quote(side), quote(timestamp) FROM trades ORDER BY id",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%v\n", vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	db.Close()
	return hex.EncodeToString(h.Sum(nil))
}

func fileSum(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readAll reads every record of a file, copying the book levels.
func readAll(t testing.TB, path string, opt OrderflowOpenOptions) ([]market.FlowRecord, *OrderflowReader) {
	t.Helper()
	f, err := OpenOrderflow(path, opt)
	if err != nil {
		t.Fatalf("OpenOrderflow: %v", err)
	}
	defer f.Close()
	r, err := f.Records(ctxT(t))
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	var out []market.FlowRecord
	for {
		var rec market.FlowRecord
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if rec.IsBook {
			rec.Book.Bids = append([]market.Level(nil), rec.Book.Bids...)
			rec.Book.Asks = append([]market.Level(nil), rec.Book.Asks...)
		}
		out = append(out, rec)
	}
	if err := r.Next(new(market.FlowRecord)); err != io.EOF {
		t.Fatalf("Next after the end = %v, want io.EOF", err)
	}
	return out, r
}

// ofBase is the time origin of the hand-made files: ms(x) is x milliseconds after it.
const ofBase = int64(1_700_000_000_000)

func ms(x int64) int64 { return ofBase + x }

// describe writes a record stream compactly: "B1@1000 T7@1000 …" (ids and ms after ofBase;
// absolute ms for times before it).
func describe(recs []market.FlowRecord) string {
	var parts []string
	rel := func(t int64) int64 {
		if t >= ofBase {
			return t - ofBase
		}
		return t
	}
	for _, r := range recs {
		if r.IsBook {
			parts = append(parts, fmt.Sprintf("B%d@%d", r.Book.Seq, rel(r.Book.Time)))
		} else {
			parts = append(parts, fmt.Sprintf("T%s@%d", r.Trade.ID, rel(r.Trade.Time)))
		}
	}
	return strings.Join(parts, " ")
}

const lv2 = `[[100, 1], [99, 2]]`

func TestOrderflowReaderMergesInTimeOrder(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "of.db")
			writeOrderflowFile(t, path, journal, []ofBook{
				{1, "BTC-USDT", lv2, `[[101, 1]]`, ms(1000)},
				{2, "BTC-USDT", lv2, `[[101, 1]]`, ms(2000)},
				{3, "BTC-USDT", lv2, `[[101, 1]]`, ms(2000)}, // same time: id breaks the tie
				{4, "BTC-USDT", lv2, `[[101, 1]]`, ms(3000)},
			}, []ofTrade{
				{1, "BTC-USDT", "a", 100.0, 1.0, "buy", ms(500)},   // before the first snapshot
				{2, "BTC-USDT", "b", 100.0, 1.0, "sell", ms(1000)}, // exactly at a snapshot: first
				{3, "BTC-USDT", "c", 100.0, 1.0, "buy", ms(1500)},
				{4, "BTC-USDT", "d", 100.0, 1.0, "buy", ms(2000)},
				{5, "BTC-USDT", "e", 100.0, 1.0, "buy", ms(2000)},
				{6, "BTC-USDT", "f", 100.0, 1.0, "sell", ms(3500)}, // after the last snapshot
			})
			before := fileSum(t, path)
			recs, r := readAll(t, path, OrderflowOpenOptions{})
			want := "Ta@500 Tb@1000 B1@1000 Tc@1500 Td@2000 Te@2000 B2@2000 B3@2000 B4@3000 Tf@3500"
			if got := describe(recs); got != want {
				t.Fatalf("order:\n got %s\nwant %s", got, want)
			}
			b := recs[2].Book
			if !b.Snapshot || b.Exchange != "replay" || b.Symbol != "BTCUSDT" || b.Seq != 1 ||
				!sameLevels(b.Bids, lv(100, 1, 99, 2)) || !sameLevels(b.Asks, lv(101, 1)) {
				t.Fatalf("book record: %+v", b)
			}
			tr := recs[1].Trade
			if tr != (market.Trade{Exchange: "replay", Symbol: "BTCUSDT", ID: "b", Time: ms(1000), Price: 100, Size: 1, Side: market.Sell}) {
				t.Fatalf("trade record: %+v", tr)
			}
			if bk, tk, reasons := r.Skipped(); bk != 0 || tk != 0 || len(reasons) != 0 {
				t.Fatalf("skipped %d %d %v", bk, tk, reasons)
			}
			r.Close()
			if journal == "delete" && fileSum(t, path) != before {
				t.Fatal("reading changed the file")
			}
		})
	}
}

func TestOrderflowReaderFormsAndSkips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	writeOrderflowFile(t, path, "delete", []ofBook{
		{1, "btc/usdt", `[(99.0, 2.0, 0, 1), (100.0, 1.0, 0, 3)]`, `[[102, 1], [101, 4, 0, 1]]`, "2024-01-01T00:00:01Z"},
		{2, "BTC-USDT", `[[100, 1], [99, -2]]`, `[]`, int64(1704067202000)},
		{3, "BTC-USDT", `[]`, `[[101, 1]]`, int64(1704067203)},
		{4, "BTC-USDT", lv2, `[[101, 1]]`, "not a time"},
		{5, "BTC-USDT", nil, `[[101, 1]]`, int64(1704067204000)},
		{6, "BTC-USDT", lv2, `[[101, 1]`, int64(1704067205000000)},
		{7, "BTC-USDT", lv2, `[[101, 0], [102, 1]]`, 1704067206.5},
	}, []ofTrade{
		{1, "BTC-USDT", int64(11), 100.0, 1.0, "buy", "2024-01-01 00:00:00.5"},
		{2, "BTC-USDT", "12", 100.0, 1.0, "x", int64(1704067200600)},
		{3, "BTC-USDT", "13", -1.0, 1.0, "buy", int64(1704067200700)},
		{4, "BTC-USDT", "14", 100.0, nil, "buy", int64(1704067200800)},
		{5, "BTC-USDT", "15", 100.0, "abc", "sell", int64(1704067200900)},
		{6, "BTC-USDT", nil, "100.5", int64(2), "Sell", int64(1704067201000)},
		{7, "BTC-USDT", "17", 100.0, 0.0, "buy", nil},
	})
	recs, r := readAll(t, path, OrderflowOpenOptions{Exchange: "okx"})
	want := "T11@4067200500 T6@4067201000 B1@4067201000 B3@4067203000 B7@4067206500"
	if got := describe(recs); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
	b1 := recs[2].Book
	if b1.Exchange != "okx" || !sameLevels(b1.Bids, lv(100, 1, 99, 2)) || !sameLevels(b1.Asks, lv(101, 4, 102, 1)) {
		t.Fatalf("book 1 (tuples, unsorted): %+v", b1)
	}
	if got := recs[4].Book.Asks; !sameLevels(got, lv(102, 1)) {
		t.Fatalf("book 7 asks (zero size dropped): %v", got)
	}
	if tr := recs[1].Trade; tr.Price != 100.5 || tr.Size != 2 || tr.Side != market.Sell {
		t.Fatalf("trade 6: %+v", tr)
	}
	bk, tk, reasons := r.Skipped()
	if bk != 4 || tk != 5 {
		t.Errorf("skipped %d book, %d trades rows, want 4 and 5", bk, tk)
	}
	wantReasons := []string{
		"book id 2: bids: level 1: negative size -2",
		`book id 4: timestamp "not a time": want a number (s, ms, µs or ns) or an ISO-8601 time`,
		"book id 5: bids: NULL, want a list of levels",
		"book id 6: asks: after level 0: text ends early (truncated?)",
		`trades id 2: side "x": want buy or sell`,
		"trades id 3: price -1: want > 0",
		"trades id 4: size NULL: want a number",
		`trades id 5: size "abc": not a finite number`,
		"trades id 7: timestamp NULL: want a time",
	}
	slices.Sort(reasons)
	slices.Sort(wantReasons)
	if strings.Join(reasons, "\n") != strings.Join(wantReasons, "\n") {
		t.Errorf("reasons:\n%s\nwant\n%s", strings.Join(reasons, "\n"), strings.Join(wantReasons, "\n"))
	}
}

func TestOrderflowReaderKeepsTenReasons(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	var books []ofBook
	for i := range 25 {
		books = append(books, ofBook{int64(i + 1), "X", `[[1, -1]]`, `[]`, ms(1000 + int64(i))})
	}
	writeOrderflowFile(t, path, "delete", books, nil)
	recs, r := readAll(t, path, OrderflowOpenOptions{})
	bk, _, reasons := r.Skipped()
	if len(recs) != 0 || bk != 25 || len(reasons) != 10 || reasons[9] != "book id 10: bids: level 0: negative size -1" {
		t.Fatalf("records %d, skipped %d, reasons %q", len(recs), bk, reasons)
	}
}

func TestOrderflowReaderSymbolsAndInstruments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	writeOrderflowFile(t, path, "delete", []ofBook{
		{1, "BTC-USDT", lv2, `[]`, ms(1000)},
		{2, "ETH-USDT", lv2, `[]`, ms(2000)},
		{3, "BTC-USDT-SWAP", lv2, `[]`, ms(3000)},
		{4, "btc_usdt", lv2, `[]`, ms(4000)},
		{5, nil, lv2, `[]`, ms(5000)},
	}, []ofTrade{
		{1, "ETH-USDT", "e1", 1.0, 1.0, "buy", ms(1500)},
		{2, "BTC/USDT", "b1", 1.0, 1.0, "buy", ms(1600)},
	})
	f, err := OpenOrderflow(path, OrderflowOpenOptions{Symbols: []market.Symbol{"BTCUSDT"}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Instruments(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(syms) != "[BTCUSDT BTCUSDTSWAP ETHUSDT]" {
		t.Fatalf("Instruments = %v", syms)
	}
	recs, _ := readAll(t, path, OrderflowOpenOptions{Symbols: []market.Symbol{"BTCUSDT"}})
	if got := describe(recs); got != "B1@1000 Tb1@1600 B4@4000" {
		t.Fatalf("filtered records: %s", got)
	}
}

// outOfOrderFile has tables whose ids are not in time order.
func outOfOrderFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "of.db")
	writeOrderflowFile(t, path, "delete", []ofBook{
		{1, "X", lv2, `[]`, ms(1000)},
		{2, "X", lv2, `[]`, ms(3000)},
		{3, "X", lv2, `[]`, ms(2000)},
		{4, "X", lv2, `[]`, ms(5000)},
		{5, "X", lv2, `[]`, ms(4000)},
		{6, "X", lv2, `[]`, "bad"},
	}, []ofTrade{ // reversed
		{1, "X", "t1", 1.0, 1.0, "buy", ms(4500)},
		{2, "X", "t2", 1.0, 1.0, "buy", ms(3000)},
		{3, "X", "t3", 1.0, 1.0, "buy", ms(1500)},
		{4, "X", "t4", 1.0, 1.0, "buy", ms(500)},
	})
	return path
}

// TestOrderflowReaderOutOfOrder: Records finds the tables out of order before returning
// anything and reads them through the sorted path.
func TestOrderflowReaderOutOfOrder(t *testing.T) {
	recs, r := readAll(t, outOfOrderFile(t), OrderflowOpenOptions{})
	want := "Tt4@500 B1@1000 Tt3@1500 B3@2000 Tt2@3000 B2@3000 B5@4000 Tt1@4500 B4@5000"
	if got := describe(recs); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
	bk, tk, reasons := r.Skipped()
	if bk != 1 || tk != 0 || len(reasons) != 1 || !strings.HasPrefix(reasons[0], `book id 6: timestamp "bad"`) {
		t.Errorf("skipped %d, %d; reasons %q", bk, tk, reasons)
	}
	if !r.eng.book.sorted || !r.eng.trade.sorted {
		t.Errorf("sorted path: book %v, trades %v", r.eng.book.sorted, r.eng.trade.sorted)
	}
	assertNonDecreasing(t, recs)
}

// TestOrderflowEngineResume covers the reader's fallback when a table turns out of order
// after records were returned: it resumes on the sorted path and skips the rows that belong
// before records already returned.
func TestOrderflowEngineResume(t *testing.T) {
	path := outOfOrderFile(t)
	c, err := openOrderflowConn(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	e := newFlowEngine(context.Background(), c, path, true, disorderResume, false, false)
	defer e.close()
	var parts []string
	for {
		kind, err := e.step()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if kind == flowBook {
			parts = append(parts, fmt.Sprintf("B%d@%d", e.book.id, e.book.ts/1000-ofBase))
		} else {
			parts = append(parts, fmt.Sprintf("T%s@%d", e.trade.tradeID, e.trade.ts/1000-ofBase))
		}
	}
	// B3 (2000) turns up after B2 (3000) was returned; t2, t3, t4 after t1 (4500) was.
	want := "B1@1000 B2@3000 B5@4000 Tt1@4500 B4@5000"
	if got := strings.Join(parts, " "); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
	if e.skippedBook != 2 || e.skippedTrades != 3 {
		t.Errorf("skipped %d, %d; reasons %q", e.skippedBook, e.skippedTrades, e.reasons)
	}
	all := strings.Join(e.reasons, "\n")
	for _, w := range []string{
		"book id 3: time 2023-11-14T22:13:22Z is before records already read",
		"trades id 2: time 2023-11-14T22:13:23Z is before records already read",
		`book id 6: timestamp "bad"`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("reasons %q lack %q", e.reasons, w)
		}
	}
}

func assertNonDecreasing(t *testing.T, recs []market.FlowRecord) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		a, b := recs[i-1], recs[i]
		if b.Time() < a.Time() || (b.Time() == a.Time() && a.IsBook && !b.IsBook) {
			t.Fatalf("record %d (%s) after %d (%s)", i, describe(recs[i:i+1]), i-1, describe(recs[i-1:i]))
		}
	}
}

// TestOrderflowSortedPathPlan checks that the sorted path joins in index order: SQLite must
// not sort the wide rows itself.
func TestOrderflowSortedPathPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	writeOrderflowFile(t, path, "delete", []ofBook{{1, "X", lv2, `[]`, ms(2000)}, {2, "X", lv2, `[]`, ms(1000)}},
		[]ofTrade{{1, "X", "a", 1.0, 1.0, "buy", ms(5)}})
	c, err := openOrderflowConn(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	e := newFlowEngine(context.Background(), c, path, true, disorderResume, true, true)
	defer e.close()
	for _, s := range []*streamState{&e.book.streamState, &e.trade.streamState} {
		if err := e.buildOrder(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{e.bookQuery(true), e.tradeQuery(true), e.bookQuery(false), e.tradeQuery(false)} {
		st, err := c.prepare("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for {
			row, err := st.step()
			if err != nil {
				t.Fatal(err)
			}
			if !row {
				break
			}
			plan = append(plan, string(st.colText(3))) // id, parent, notused, detail
		}
		st.finalize()
		joined := strings.Join(plan, "; ")
		if strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%s\nsorts: %s", q, joined)
		}
		t.Logf("%s\n  plan: %s", q, joined)
	}
}

func TestOpenOrderflowInputErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, []byte(strings.Repeat("this is not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noTrades := filepath.Join(dir, "notrades.db")
	db := openSQL(t, noTrades)
	if _, err := db.Exec("CREATE TABLE book(id INTEGER PRIMARY KEY, instrument TEXT, bids TEXT, asks TEXT, timestamp INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	noSide := filepath.Join(dir, "noside.db")
	db = openSQL(t, noSide)
	if _, err := db.Exec(`CREATE TABLE book(id INTEGER PRIMARY KEY, instrument TEXT, bids TEXT, asks TEXT, timestamp INTEGER);
		CREATE TABLE trades(id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, timestamp INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cases := []struct{ path, want string }{
		{missing, missing + ": no such file"},
		{text, text + " is not an SQLite database"},
		{empty, empty + " has no book table"},
		{noTrades, noTrades + " has no trades table"},
		{noSide, noSide + ": table trades has no column side"},
		{dir, dir + " is a directory"},
	}
	for _, tc := range cases {
		for name, open := range map[string]func(string) error{
			"OpenOrderflow": func(p string) error {
				f, err := OpenOrderflow(p, OrderflowOpenOptions{})
				if err == nil {
					f.Close()
				}
				return err
			},
			"RunOrderflow": func(p string) error {
				_, err := RunOrderflow(context.Background(), p, OrderflowOptions{})
				return err
			},
		} {
			err := open(tc.path)
			var ie *OrderflowInputError
			if !errors.As(err, &ie) {
				t.Errorf("%s(%s) = %v (%T), want *OrderflowInputError", name, filepath.Base(tc.path), err, err)
				continue
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%s) = %q, want it to contain %q", name, filepath.Base(tc.path), err, tc.want)
			}
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing file was created: %v", err)
	}
	if b, _ := os.ReadFile(empty); len(b) != 0 {
		t.Errorf("the empty file was written: %d bytes", len(b))
	}
}

func TestOrderflowReaderContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	var books []ofBook
	for i := range 3000 {
		books = append(books, ofBook{int64(i + 1), "X", lv2, `[]`, ms(1000 + int64(i))})
	}
	writeOrderflowFile(t, path, "delete", books, nil)
	f, err := OpenOrderflow(path, OrderflowOpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := f.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rec market.FlowRecord
	if err := r.Next(&rec); err != nil {
		t.Fatal(err)
	}
	cancel()
	for range 5000 {
		if err = r.Next(&rec); err != nil {
			break
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel = %v, want context.Canceled", err)
	}
}
