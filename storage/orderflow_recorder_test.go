package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// recMidnight is 2024-03-10T00:00:00Z, unix ms.
const recMidnight = int64(1710028800000)

func newRecorderT(t testing.TB, opt RecorderOptions) *OrderflowRecorder {
	t.Helper()
	if opt.Dir == "" {
		opt.Dir = filepath.Join(t.TempDir(), "orderflow")
	}
	r, err := NewOrderflowRecorder(opt)
	if err != nil {
		t.Fatalf("NewOrderflowRecorder: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(ctxT(t)); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func recFlush(t testing.TB, r *OrderflowRecorder) {
	t.Helper()
	if err := r.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// recOpenFile opens an order-flow file read-only.
func recOpenFile(t testing.TB, path string) *sql.DB {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("order-flow file: %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type recBookRow struct {
	ID         int64
	Instrument string
	Bids, Asks string
	Timestamp  int64
}

type recTradeRow struct {
	Instrument string
	TradeID    string
	Price      float64
	Size       float64
	Side       string
	Timestamp  int64
}

func recReadBooks(t testing.TB, path string) []recBookRow {
	t.Helper()
	rows, err := recOpenFile(t, path).Query(`SELECT id, instrument, bids, asks, timestamp FROM book ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []recBookRow
	for rows.Next() {
		var b recBookRow
		if err := rows.Scan(&b.ID, &b.Instrument, &b.Bids, &b.Asks, &b.Timestamp); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func recReadTrades(t testing.TB, path string) []recTradeRow {
	t.Helper()
	rows, err := recOpenFile(t, path).Query(`SELECT instrument, trade_id, price, size, side, timestamp FROM trades ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []recTradeRow
	for rows.Next() {
		var r recTradeRow
		if err := rows.Scan(&r.Instrument, &r.TradeID, &r.Price, &r.Size, &r.Side, &r.Timestamp); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recParseLevels decodes level text as a JSON reader would.
func recParseLevels(t testing.TB, s string) []market.Level {
	t.Helper()
	var raw [][]float64
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("level text %q is not JSON: %v", s, err)
	}
	out := make([]market.Level, 0, len(raw))
	for _, l := range raw {
		if len(l) != 2 {
			t.Fatalf("level %v in %q: want [price, size]", l, s)
		}
		out = append(out, market.Level{Price: l[0], Size: l[1]})
	}
	return out
}

func TestOrderflowFileName(t *testing.T) {
	for _, c := range []struct {
		ex   string
		sym  market.Symbol
		t    int64
		want string
	}{
		{"sim", "BTCUSDT", recMidnight, "d/sim-BTCUSDT-2024-03-10.db"},
		{"sim", "BTCUSDT", recMidnight - 1, "d/sim-BTCUSDT-2024-03-09.db"},
		{"bybit", "ETHUSDT", recMidnight + recDayMs - 1, "d/bybit-ETHUSDT-2024-03-10.db"},
		{"a/b", "X Y", 0, "d/a_b-X_Y-1970-01-01.db"},
		{"..", "BTC", -1, "d/_-BTC-1969-12-31.db"},
	} {
		if got := OrderflowFileName("d", c.ex, c.sym, c.t); got != filepath.FromSlash(c.want) {
			t.Errorf("OrderflowFileName(%q, %q, %d) = %q, want %q", c.ex, c.sym, c.t, got, c.want)
		}
	}
	for _, c := range []struct{ t, day int64 }{{0, 0}, {recDayMs - 1, 0}, {recDayMs, 1}, {-1, -1}, {-recDayMs, -1}, {-recDayMs - 1, -2}} {
		if got := recDayOf(c.t); got != c.day {
			t.Errorf("recDayOf(%d) = %d, want %d", c.t, got, c.day)
		}
	}
}

// Two symbols recorded across a UTC midnight make four files, each with exactly its rows.
func TestRecorderAcrossMidnight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "orderflow")
	r := newRecorderT(t, RecorderOptions{Dir: dir, FlushInterval: time.Hour})
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Dir not created: %v", err)
	}

	// Prices and sizes whose shortest text is awkward: they must come back bit for bit.
	bidsA := []market.Level{{Price: 65432.1, Size: 0.30000000000000004}, {Price: 65432, Size: 1e-8}, {Price: 65431.99, Size: 5e-324}}
	asksA := []market.Level{{Price: 65432.2, Size: 1e21}, {Price: 123456.789, Size: 3}}
	bidsB := []market.Level{{Price: 3400.5, Size: 2.5e-7}}
	asksB := []market.Level{{Price: 3400.51, Size: 1.7976931348623157e308}, {Price: 3401, Size: 0.1}}

	before, after := recMidnight-100, recMidnight+100
	r.RecordSnapshot("sim", "BTCUSDT", before, bidsA, asksA)
	r.RecordSnapshot("sim", "ETHUSDT", before+1, bidsB, asksB)
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "b1", Time: before - 5, Price: 65432.1, Size: 0.1, Side: market.Buy})
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "ETHUSDT", ID: "e1", Time: before - 3, Price: 3400.5, Size: 1e-8, Side: market.Sell})
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "b2", Time: recMidnight, Price: 65432.2, Size: 2, Side: market.Sell})
	r.RecordSnapshot("sim", "BTCUSDT", after, asksA[:1], nil) // an empty side
	r.RecordSnapshot("sim", "ETHUSDT", after, nil, nil)
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "ETHUSDT", ID: "e2", Time: after + 1, Price: 3401, Size: 0.30000000000000004, Side: market.Buy})

	// The caller's slices are copied: changing them afterwards changes nothing recorded.
	bidsA[0].Price = -1
	asksB[1].Size = -1

	recFlush(t, r)

	files, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	wantNames := []string{"sim-BTCUSDT-2024-03-09.db", "sim-BTCUSDT-2024-03-10.db", "sim-ETHUSDT-2024-03-09.db", "sim-ETHUSDT-2024-03-10.db"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("files = %v, want %v", names, wantNames)
	}
	bidsA[0].Price = 65432.1
	asksB[1].Size = 0.1

	type want struct {
		books  []recBookRow
		trades []recTradeRow
	}
	wants := map[string]want{
		"sim-BTCUSDT-2024-03-09.db": {
			books: []recBookRow{{1, "BTCUSDT",
				"[[65432.1,0.30000000000000004],[65432,1e-08],[65431.99,5e-324]]",
				"[[65432.2,1e+21],[123456.789,3]]", before}},
			trades: []recTradeRow{{"BTCUSDT", "b1", 65432.1, 0.1, "buy", before - 5}},
		},
		"sim-ETHUSDT-2024-03-09.db": {
			books:  []recBookRow{{1, "ETHUSDT", "[[3400.5,2.5e-07]]", "[[3400.51,1.7976931348623157e+308],[3401,0.1]]", before + 1}},
			trades: []recTradeRow{{"ETHUSDT", "e1", 3400.5, 1e-8, "sell", before - 3}},
		},
		"sim-BTCUSDT-2024-03-10.db": {
			books:  []recBookRow{{1, "BTCUSDT", "[[65432.2,1e+21]]", "[]", after}},
			trades: []recTradeRow{{"BTCUSDT", "b2", 65432.2, 2, "sell", recMidnight}},
		},
		"sim-ETHUSDT-2024-03-10.db": {
			books:  []recBookRow{{1, "ETHUSDT", "[]", "[]", after}},
			trades: []recTradeRow{{"ETHUSDT", "e2", 3401, 0.30000000000000004, "buy", after + 1}},
		},
	}
	levels := map[string][2][]market.Level{
		"sim-BTCUSDT-2024-03-09.db": {bidsA, asksA},
		"sim-ETHUSDT-2024-03-09.db": {bidsB, asksB},
		"sim-BTCUSDT-2024-03-10.db": {asksA[:1], {}},
		"sim-ETHUSDT-2024-03-10.db": {{}, {}},
	}
	for name, w := range wants {
		path := filepath.Join(dir, name)
		books, trades := recReadBooks(t, path), recReadTrades(t, path)
		if !reflect.DeepEqual(books, w.books) {
			t.Errorf("%s: book rows\n got %+v\nwant %+v", name, books, w.books)
		}
		if !reflect.DeepEqual(trades, w.trades) {
			t.Errorf("%s: trade rows\n got %+v\nwant %+v", name, trades, w.trades)
		}
		// The level text round-trips exactly.
		for _, b := range books {
			gotB, gotA := recParseLevels(t, b.Bids), recParseLevels(t, b.Asks)
			lv := levels[name]
			if !reflect.DeepEqual(gotB, lv[0]) || !reflect.DeepEqual(gotA, lv[1]) {
				t.Errorf("%s: levels read back as %v / %v, want %v / %v", name, gotB, gotA, lv[0], lv[1])
			}
		}
		// The file has the seed tables and the unique trade index; timestamps are integers.
		db := recOpenFile(t, path)
		var idx, typ string
		if err := db.QueryRow(`SELECT name FROM sqlite_master WHERE type='index' AND name='idx_trades_instrument_trade_id'`).Scan(&idx); err != nil {
			t.Errorf("%s: unique trade index: %v", name, err)
		}
		if err := db.QueryRow(`SELECT typeof(timestamp) FROM book LIMIT 1`).Scan(&typ); err != nil || typ != "integer" {
			t.Errorf("%s: book timestamp type %q (%v)", name, typ, err)
		}
	}

	st := r.Stats()
	if st.Snapshots != 4 || st.Trades != 4 || st.Duplicates != 0 || st.Queued != 0 || st.FilesOpen != 4 ||
		st.Dropped != 0 || st.Invalid != 0 || st.Failed != 0 || st.Errors != 0 || st.LastError != "" {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRecorderFlushAndBatchTriggers(t *testing.T) {
	dir := t.TempDir()
	// Neither trigger fires by itself: only Flush writes.
	r := newRecorderT(t, RecorderOptions{Dir: dir, FlushInterval: time.Hour, BatchSize: 1 << 20})
	if err := r.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush with nothing queued: %v", err)
	}
	path := OrderflowFileName(dir, "sim", "BTCUSDT", recMidnight)
	for i := range 5 {
		r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint("t", i), Time: recMidnight + int64(i), Price: 1, Size: 1, Side: market.Buy})
		r.RecordSnapshot("sim", "BTCUSDT", recMidnight+int64(i), []market.Level{{Price: 1, Size: 1}}, nil)
		if i == 0 {
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("file written before Flush (stat: %v)", err)
			}
		}
		recFlush(t, r)
		if n, m := len(recReadTrades(t, path)), len(recReadBooks(t, path)); n != i+1 || m != i+1 {
			t.Fatalf("after Flush %d: %d trades, %d snapshots", i, n, m)
		}
	}
	// A cancelled context ends the wait.
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "late", Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a cancelled context = %v", err)
	}

	// BatchSize rows trigger a write without Flush.
	dir2 := t.TempDir()
	r2 := newRecorderT(t, RecorderOptions{Dir: dir2, FlushInterval: time.Hour, BatchSize: 10})
	for i := range 10 {
		r2.RecordTrade(market.Trade{Exchange: "sim", Symbol: "ETHUSDT", ID: fmt.Sprint(i), Time: recMidnight, Price: 1, Size: 1, Side: market.Sell})
	}
	waitFor(t, "a full batch", func() bool { return r2.Stats().Trades == 10 })
	// So does the interval.
	r3 := newRecorderT(t, RecorderOptions{Dir: t.TempDir(), FlushInterval: 10 * time.Millisecond})
	r3.RecordSnapshot("sim", "ETHUSDT", recMidnight, nil, nil)
	waitFor(t, "the interval write", func() bool { return r3.Stats().Snapshots == 1 })
}

func TestRecorderCloseStopsWriter(t *testing.T) {
	dir := t.TempDir()
	r, err := NewOrderflowRecorder(RecorderOptions{Dir: dir, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Records from several goroutines; Close writes them all.
	const workers, each = 4, 300
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				tm := recMidnight + int64(i)
				if i%3 == 0 {
					r.RecordSnapshot("sim", "BTCUSDT", tm, []market.Level{{Price: 100, Size: float64(g)}}, []market.Level{{Price: 101, Size: 1}})
				} else {
					r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint(g, "-", i), Time: tm, Price: 100, Size: 1, Side: market.Buy})
				}
				_ = r.Stats()
			}
		})
	}
	wg.Wait()
	if err := r.Close(ctxT(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-r.exit:
	default:
		t.Fatal("writer goroutine still running after Close")
	}
	path := OrderflowFileName(dir, "sim", "BTCUSDT", recMidnight)
	// The WAL was checkpointed away: the file stands alone.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WAL file left after Close (stat: %v)", err)
	}
	if n, m := len(recReadTrades(t, path)), len(recReadBooks(t, path)); n != workers*each*2/3 || m != workers*each/3 {
		t.Fatalf("after Close: %d trades, %d snapshots", n, m)
	}
	st := r.Stats()
	if st.FilesOpen != 0 || st.Queued != 0 {
		t.Fatalf("stats after Close = %+v", st)
	}
	// After Close: records are dropped and counted; Close and Flush return at once.
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "after", Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, nil, nil)
	if st := r.Stats(); st.Dropped != 2 {
		t.Fatalf("dropped after Close = %d, want 2", st.Dropped)
	}
	if err := r.Close(ctxT(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
}

// A restart appends to the day's file and ignores a trade it already has.
func TestRecorderReopenAppends(t *testing.T) {
	dir := t.TempDir()
	tr := func(id string, tm int64) market.Trade {
		return market.Trade{Exchange: "okx", Symbol: "BTCUSDT", ID: id, Time: tm, Price: 50000, Size: 0.5, Side: market.Sell}
	}
	r1, err := NewOrderflowRecorder(RecorderOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r1.RecordTrade(tr("1", recMidnight+1))
	r1.RecordTrade(tr("2", recMidnight+2))
	r1.RecordSnapshot("okx", "BTCUSDT", recMidnight+3, []market.Level{{Price: 50000, Size: 1}}, []market.Level{{Price: 50001, Size: 2}})
	if err := r1.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	r2 := newRecorderT(t, RecorderOptions{Dir: dir})
	r2.RecordTrade(tr("2", recMidnight+2)) // already in the file
	r2.RecordTrade(tr("3", recMidnight+4))
	r2.RecordTrade(tr("3", recMidnight+4)) // twice in one batch
	r2.RecordSnapshot("okx", "BTCUSDT", recMidnight+5, nil, []market.Level{{Price: 50001, Size: 1}})
	recFlush(t, r2)

	path := OrderflowFileName(dir, "okx", "BTCUSDT", recMidnight)
	var ids []string
	for _, row := range recReadTrades(t, path) {
		ids = append(ids, row.TradeID)
	}
	if !reflect.DeepEqual(ids, []string{"1", "2", "3"}) {
		t.Fatalf("trade ids = %v, want [1 2 3]", ids)
	}
	books := recReadBooks(t, path)
	if len(books) != 2 || books[0].Timestamp != recMidnight+3 || books[1].Timestamp != recMidnight+5 || books[1].Bids != "[]" {
		t.Fatalf("book rows = %+v", books)
	}
	if st := r2.Stats(); st.Trades != 1 || st.Duplicates != 2 || st.Snapshots != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// A seed-schema file from elsewhere (no unique index, and repeated trade ids) is appended to.
func TestRecorderForeignFile(t *testing.T) {
	dir := t.TempDir()
	path := OrderflowFileName(dir, "sim", "BTCUSDT", recMidnight)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateOrderflowInput(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO trades(instrument, trade_id, price, size, side, timestamp) VALUES ('BTCUSDT','x',1,1,'buy',1),('BTCUSDT','x',1,1,'buy',1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var logs bytes.Buffer
	r := newRecorderT(t, RecorderOptions{Dir: dir, Logger: slog.New(slog.NewTextHandler(&recLogBuf{w: &logs}, nil))})
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "y", Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
	recFlush(t, r)
	if n := len(recReadTrades(t, path)); n != 3 {
		t.Fatalf("%d trades, want 3", n)
	}
	if !strings.Contains(logs.String(), "unique index") {
		t.Fatalf("no warning about the missing unique index; log:\n%s", logs.String())
	}
}

type recLogBuf struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *recLogBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *recLogBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func TestRecorderQueueCapDrops(t *testing.T) {
	var logs bytes.Buffer
	sw := &recLogBuf{w: &logs}
	dir := t.TempDir()
	r := newRecorderT(t, RecorderOptions{Dir: dir, FlushInterval: time.Hour, MaxQueued: 5, MaxQueuedLevels: 4,
		Logger: slog.New(slog.NewTextHandler(sw, nil))})
	for i := range 8 {
		r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint(i), Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
	}
	if st := r.Stats(); st.Dropped != 3 || st.Queued != 5 {
		t.Fatalf("stats = %+v, want 3 dropped and 5 queued", st)
	}
	if n := strings.Count(sw.String(), "queue full"); n != 1 {
		t.Fatalf("%d 'queue full' log lines for one burst, want 1:\n%s", n, sw.String())
	}
	recFlush(t, r)
	// Room again: the burst's end is logged, and the level budget applies to snapshots.
	lv := []market.Level{{Price: 1, Size: 1}, {Price: 2, Size: 1}, {Price: 3, Size: 1}}
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, lv, nil) // 3 levels: fits
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, lv, nil) // 6 > 4: dropped
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, lv[:1], nil)
	recFlush(t, r)
	st := r.Stats()
	if st.Dropped != 4 || st.Trades != 5 || st.Snapshots != 2 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(sw.String(), "dropped=3") {
		t.Fatalf("end of burst not logged with its count:\n%s", sw.String())
	}
}

func TestRecorderInvalidRefused(t *testing.T) {
	dir := t.TempDir()
	r := newRecorderT(t, RecorderOptions{Dir: dir})
	ok := market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "1", Time: recMidnight, Price: 1, Size: 1, Side: market.Buy}
	bad := []market.Trade{ok, ok, ok, ok, ok, ok, ok, ok, ok}
	bad[0].ID = ""
	bad[1].Exchange = ""
	bad[2].Side = market.SideUnknown
	bad[3].Price = math.NaN()
	bad[4].Size = math.Inf(1)
	bad[5].Symbol = ""
	bad[6].Time = 0
	bad[7].Price = 0
	bad[8].Size = -1
	for _, tr := range bad {
		r.RecordTrade(tr)
	}
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, []market.Level{{Price: math.NaN(), Size: 1}}, nil)
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, nil, []market.Level{{Price: 1, Size: math.Inf(-1)}})
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, nil, []market.Level{{Price: 1, Size: 1}, {Price: -2, Size: 1}})
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, []market.Level{{Price: 1, Size: -0.5}}, nil)
	r.RecordSnapshot("sim", "BTCUSDT", -5, nil, nil)
	r.RecordSnapshot("", "BTCUSDT", recMidnight, nil, nil)
	r.RecordTrade(ok)
	r.RecordSnapshot("sim", "BTCUSDT", recMidnight, []market.Level{{Price: 1, Size: 0}}, nil) // size 0 is fine
	recFlush(t, r)
	if st := r.Stats(); st.Invalid != 15 || st.Trades != 1 || st.Snapshots != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// A file that cannot be written: the rows are counted as failed, Flush says so, the log
// names the file once, and the other files are unaffected.
func TestRecorderWriteFailure(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	sw := &recLogBuf{w: &logs}
	r := newRecorderT(t, RecorderOptions{Dir: dir, Logger: slog.New(slog.NewTextHandler(sw, nil))})
	badPath := OrderflowFileName(dir, "sim", "BTCUSDT", recMidnight)
	if err := os.Mkdir(badPath, 0o755); err != nil { // a directory where the file should be
		t.Fatal(err)
	}
	for i := range 2 {
		r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint(i), Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
		r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "ETHUSDT", ID: fmt.Sprint(i), Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
		err := r.Flush(ctxT(t))
		if err == nil || !strings.Contains(err.Error(), badPath) {
			t.Fatalf("Flush = %v, want an error naming %s", err, badPath)
		}
	}
	st := r.Stats()
	if st.Failed != 2 || st.Trades != 2 || st.Errors != 4 || !strings.Contains(st.LastError, badPath) {
		t.Fatalf("stats = %+v", st)
	}
	if n := strings.Count(sw.String(), "write failed"); n != 1 {
		t.Fatalf("%d 'write failed' log lines, want 1 per burst:\n%s", n, sw.String())
	}
	if !strings.Contains(sw.String(), badPath) {
		t.Fatalf("log does not name the file:\n%s", sw.String())
	}
	// The file becomes writable: recording resumes and the recovery is logged.
	if err := os.Remove(badPath); err != nil {
		t.Fatal(err)
	}
	r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: "ok", Time: recMidnight, Price: 1, Size: 1, Side: market.Buy})
	recFlush(t, r)
	if n := len(recReadTrades(t, badPath)); n != 1 {
		t.Fatalf("%d trades after recovery", n)
	}
	if !strings.Contains(sw.String(), "writing again") {
		t.Fatalf("recovery not logged:\n%s", sw.String())
	}
}

// Files whose day is over are closed; a late record reopens its file.
func TestRecorderClosesOldFiles(t *testing.T) {
	dir := t.TempDir()
	r := newRecorderT(t, RecorderOptions{Dir: dir})
	snap := func(sym market.Symbol, tm int64) {
		r.RecordSnapshot("sim", sym, tm, []market.Level{{Price: 1, Size: 1}}, nil)
	}
	snap("BTCUSDT", recMidnight)
	snap("ETHUSDT", recMidnight)
	recFlush(t, r)
	if st := r.Stats(); st.FilesOpen != 2 {
		t.Fatalf("files open = %d, want 2", st.FilesOpen)
	}
	snap("BTCUSDT", recMidnight+recDayMs) // the next day: yesterday's files stay open for late records
	recFlush(t, r)
	if st := r.Stats(); st.FilesOpen != 3 {
		t.Fatalf("files open = %d, want 3", st.FilesOpen)
	}
	snap("BTCUSDT", recMidnight+2*recDayMs)
	recFlush(t, r)
	if st := r.Stats(); st.FilesOpen != 2 {
		t.Fatalf("files open = %d, want 2 (day 1 and day 2 of BTCUSDT)", st.FilesOpen)
	}
	snap("ETHUSDT", recMidnight+1) // late
	recFlush(t, r)
	if n := len(recReadBooks(t, OrderflowFileName(dir, "sim", "ETHUSDT", recMidnight))); n != 2 {
		t.Fatalf("late record: %d rows, want 2", n)
	}
	if st := r.Stats(); st.FilesOpen != 2 || st.Snapshots != 5 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRecorderBadDir(t *testing.T) {
	if _, err := NewOrderflowRecorder(RecorderOptions{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("empty Dir: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOrderflowRecorder(RecorderOptions{Dir: f}); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("Dir is a file: %v", err)
	}
}

func BenchmarkRecorder(b *testing.B) {
	r, err := NewOrderflowRecorder(RecorderOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	bids := make([]market.Level, 50)
	asks := make([]market.Level, 50)
	for i := range bids {
		bids[i] = market.Level{Price: 50000 - float64(i)*0.1, Size: 0.123 * float64(i+1)}
		asks[i] = market.Level{Price: 50000.1 + float64(i)*0.1, Size: 0.321 * float64(i+1)}
	}
	b.ResetTimer()
	for i := range b.N {
		tm := recMidnight + int64(i)
		if i%10 == 0 {
			r.RecordSnapshot("sim", "BTCUSDT", tm, bids, asks)
		} else {
			r.RecordTrade(market.Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint(i), Time: tm, Price: 50000, Size: 0.1, Side: market.Buy})
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if st := r.Stats(); st.Dropped+st.Failed > 0 {
		b.Fatalf("stats = %+v", st)
	}
}
