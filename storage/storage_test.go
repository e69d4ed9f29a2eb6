package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

const (
	exA  = "sim"
	symA = market.Symbol("BTCUSDT")
	symB = market.Symbol("ETHUSDT")
)

// base is an aligned 1m stamp: 2024-01-01T00:01:00Z.
const base = int64(1704067260000)

func openTest(t testing.TB, opt Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "test.db")
	db, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(ctxT(t)); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, path
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func flush(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func mkCandles(ex string, sym market.Symbol, tf market.Timeframe, start int64, n int) []market.Candle {
	cs := make([]market.Candle, n)
	for i := range cs {
		p := 100 + float64(i)*0.1
		cs[i] = market.Candle{
			Exchange: ex, Symbol: sym, Timeframe: tf, Time: start + int64(i)*tf.Millis(),
			Open: p, High: p + 0.5, Low: p - 0.25, Close: p + 0.125, Volume: float64(i) * 1.5, Trades: int64(i),
		}
	}
	return cs
}

func mkTrades(ex string, sym market.Symbol, prefix string, start int64, n int) []market.Trade {
	ts := make([]market.Trade, n)
	for i := range ts {
		side := market.Buy
		if i%2 == 1 {
			side = market.Sell
		}
		ts[i] = market.Trade{
			Exchange: ex, Symbol: sym, ID: fmt.Sprintf("%s%d", prefix, i), Time: start + int64(i),
			Price: 50000 + float64(i)*0.01, Size: 0.001 * float64(i+1), Side: side,
		}
	}
	return ts
}

func mustCount(t testing.TB, db *DB, sym market.Symbol, tf market.Timeframe) int64 {
	t.Helper()
	n, err := db.CountCandles(ctxT(t), exA, sym, tf)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustCountTrades(t testing.TB, db *DB, sym market.Symbol) int64 {
	t.Helper()
	n, err := db.CountTrades(ctxT(t), exA, sym)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestCandleRoundTrip(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)

	if _, ok, err := db.LastCandleTime(ctx, exA, symA, market.TF1m); err != nil || ok {
		t.Fatalf("LastCandleTime on empty series = ok %v, err %v", ok, err)
	}
	cs := mkCandles(exA, symA, market.TF1m, base, 300)
	cs[7].Open, cs[7].Close = 0.1+0.2, math.SmallestNonzeroFloat64
	cs[8].High, cs[8].Volume = math.MaxFloat64, 1e-300
	cs[9].Low, cs[9].Trades = -1.5, math.MaxInt64
	other := mkCandles(exA, symB, market.TF5m, market.TF5m.End(base), 10)
	db.UpsertCandles(cs...)
	db.UpsertCandles(other...)
	flush(t, db)

	got, err := db.Candles(ctx, exA, symA, market.TF1m, cs[0].Time, cs[len(cs)-1].Time)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cs) {
		t.Fatalf("Candles returned %d, want %d", len(got), len(cs))
	}
	for i := range cs {
		if got[i] != cs[i] {
			t.Fatalf("candle %d = %+v, want %+v", i, got[i], cs[i])
		}
	}
	// [from, to] is inclusive at both ends.
	sub, err := db.Candles(ctx, exA, symA, market.TF1m, cs[10].Time, cs[20].Time)
	if err != nil || len(sub) != 11 || sub[0] != cs[10] || sub[10] != cs[20] {
		t.Fatalf("Candles sub-range: %d rows, err %v", len(sub), err)
	}
	last, err := db.LastCandles(ctx, exA, symA, market.TF1m, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 5 || last[0] != cs[295] || last[4] != cs[299] {
		t.Fatalf("LastCandles = %+v", last)
	}
	if all, _ := db.LastCandles(ctx, exA, symA, market.TF1m, 1000); len(all) != 300 || all[0] != cs[0] {
		t.Fatalf("LastCandles(1000) returned %d", len(all))
	}
	if none, err := db.LastCandles(ctx, exA, symA, market.TF1m, 0); err != nil || len(none) != 0 {
		t.Fatalf("LastCandles(0) = %v, %v", none, err)
	}
	if ts, ok, err := db.LastCandleTime(ctx, exA, symA, market.TF1m); err != nil || !ok || ts != cs[299].Time {
		t.Fatalf("LastCandleTime = %d %v %v", ts, ok, err)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 300 {
		t.Fatalf("CountCandles = %d", n)
	}
	if n := mustCount(t, db, symA, market.TF5m); n != 0 {
		t.Fatalf("CountCandles of another timeframe = %d", n)
	}
	series, err := db.SeriesCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []SeriesCount{
		{exA, symA, market.TF1m, 300, cs[0].Time, cs[299].Time},
		{exA, symB, market.TF5m, 10, other[0].Time, other[9].Time},
	}
	if fmt.Sprint(series) != fmt.Sprint(want) {
		t.Fatalf("SeriesCounts = %+v, want %+v", series, want)
	}
	if _, err := db.Candles(ctx, exA, symA, market.Timeframe(7), 0, 1); err == nil {
		t.Fatal("Candles with an invalid timeframe: no error")
	}
}

func TestTradeRoundTrip(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	ts := mkTrades(exA, symA, "t", base, 500)
	// Same timestamp: order is insertion order.
	ts[100].Time, ts[101].Time, ts[102].Time = ts[103].Time, ts[103].Time, ts[103].Time
	ts[5].Side = market.SideUnknown
	ts[6].Price, ts[6].Size = 0.1+0.2, 1e-12
	db.InsertTrades(ts...)
	db.InsertTrades(mkTrades(exA, symB, "t", base, 3)...)
	flush(t, db)

	got, err := db.Trades(ctx, exA, symA, base, base+1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ts) {
		t.Fatalf("Trades returned %d, want %d", len(got), len(ts))
	}
	for i := range ts {
		if got[i] != ts[i] {
			t.Fatalf("trade %d = %+v, want %+v", i, got[i], ts[i])
		}
	}
	sub, err := db.Trades(ctx, exA, symA, ts[10].Time, ts[19].Time)
	if err != nil || len(sub) != 10 || sub[0] != ts[10] || sub[9] != ts[19] {
		t.Fatalf("Trades sub-range: %d rows, err %v", len(sub), err)
	}
	if n := mustCountTrades(t, db, symA); n != 500 {
		t.Fatalf("CountTrades = %d", n)
	}
	if n := mustCountTrades(t, db, symB); n != 3 {
		t.Fatalf("CountTrades(B) = %d", n)
	}
}

func TestIdempotentUpserts(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	cs := mkCandles(exA, symA, market.TF1m, base, 250)
	ts := mkTrades(exA, symA, "x", base, 250)
	for range 2 {
		db.UpsertCandles(cs...)
		db.InsertTrades(ts...)
		flush(t, db)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 250 {
		t.Fatalf("candles after inserting twice = %d, want 250", n)
	}
	if n := mustCountTrades(t, db, symA); n != 250 {
		t.Fatalf("trades after inserting twice = %d, want 250", n)
	}

	// A changed candle overwrites; a trade with a known id is ignored (the first is kept).
	changed := cs[42]
	changed.Close, changed.High, changed.Volume, changed.Trades = 999, 1000, 12345, 77
	dup := ts[42]
	dup.Price, dup.Size = 1, 2
	db.UpsertCandles(changed)
	db.InsertTrades(dup)
	flush(t, db)
	got, err := db.Candles(ctx, exA, symA, market.TF1m, changed.Time, changed.Time)
	if err != nil || len(got) != 1 || got[0] != changed {
		t.Fatalf("changed candle read back as %+v (err %v), want %+v", got, err, changed)
	}
	gt, err := db.Trades(ctx, exA, symA, ts[42].Time, ts[42].Time)
	if err != nil || len(gt) != 1 || gt[0] != ts[42] {
		t.Fatalf("duplicate trade read back as %+v (err %v), want the original %+v", gt, err, ts[42])
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 250 {
		t.Fatalf("candles = %d", n)
	}
	if n := mustCountTrades(t, db, symA); n != 250 {
		t.Fatalf("trades = %d", n)
	}
}

// A key repeated inside one batch (in one multi-row statement, and across two of them):
// the later candle wins, the earlier trade wins.
func TestDuplicateKeyInOneBatch(t *testing.T) {
	db, _ := openTest(t, Options{FlushInterval: time.Hour})
	ctx := ctxT(t)
	cs := mkCandles(exA, symA, market.TF1m, base, 300)
	// cs[3] and cs[5] sit in the same 128-row statement; cs[10] and cs[200] in different ones.
	cs[5] = cs[3]
	cs[5].Close = 3.5
	cs[200] = cs[10]
	cs[200].Close = 10.5
	ts := mkTrades(exA, symA, "d", base, 300)
	ts[7] = ts[2]
	ts[7].Price = 7
	ts[250] = ts[20]
	ts[250].Price = 250
	db.UpsertCandles(cs...)
	db.InsertTrades(ts...)
	flush(t, db)
	if st := db.WriterStats(); st.Batches != 1 {
		t.Fatalf("want one batch, got %d", st.Batches)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 298 {
		t.Fatalf("candles = %d, want 298", n)
	}
	for _, want := range []market.Candle{cs[5], cs[200]} {
		got, err := db.Candles(ctx, exA, symA, market.TF1m, want.Time, want.Time)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Fatalf("duplicate candle = %+v (err %v), want the later %+v", got, err, want)
		}
	}
	if n := mustCountTrades(t, db, symA); n != 298 {
		t.Fatalf("trades = %d, want 298", n)
	}
	for _, want := range []market.Trade{ts[2], ts[20]} {
		got, err := db.Trades(ctx, exA, symA, want.Time, want.Time)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Fatalf("duplicate trade = %+v (err %v), want the first %+v", got, err, want)
		}
	}
}

func TestInvalidRowsRefused(t *testing.T) {
	db, _ := openTest(t, Options{})
	cs := mkCandles(exA, symA, market.TF1m, base, 6)
	cs[1].Close = math.NaN()
	cs[2].High = math.Inf(1)
	cs[3].Timeframe = market.Timeframe(12345)
	cs[4].Exchange = ""
	ts := mkTrades(exA, symA, "i", base, 5)
	ts[1].ID = ""
	ts[2].Price = math.NaN()
	ts[3].Symbol = ""
	db.UpsertCandles(cs...)
	db.InsertTrades(ts...)
	flush(t, db)
	if n := mustCount(t, db, symA, market.TF1m); n != 2 {
		t.Fatalf("candles = %d, want 2", n)
	}
	if n := mustCountTrades(t, db, symA); n != 2 {
		t.Fatalf("trades = %d, want 2", n)
	}
	if st := db.WriterStats(); st.Invalid != 7 || st.Errors != 0 {
		t.Fatalf("stats = %+v, want 7 invalid and no errors", st)
	}
}

func TestMigrations(t *testing.T) {
	if err := checkMigrations(migrations); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := ctxT(t)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != len(migrations) || v != latestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	var applied int64
	if err := db.r.QueryRowContext(ctx, `SELECT MAX(applied_at) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 3)...)
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Re-open: nothing applied again, data kept.
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var n int
	var applied2 int64
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(applied_at) FROM schema_migrations`).Scan(&n, &applied2); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || applied2 != applied {
		t.Fatalf("after re-open: %d migration rows, applied_at %d (was %d)", n, applied2, applied)
	}
	if c := mustCount(t, db, symA, market.TF1m); c != 3 {
		t.Fatalf("candles after re-open = %d", c)
	}

	// The mechanism is general: a later migration is applied once, in order.
	next := latestVersion() + 1
	ms := append(append([]migration(nil), migrations...), migration{next, "test table", `CREATE TABLE extra(x INTEGER); CREATE INDEX extra_x ON extra(x);`})
	for range 2 {
		if err := applyMigrations(ctx, db.w, path, db.log, ms); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := db.SchemaVersion(ctx); v != next {
		t.Fatalf("version after migration %d = %d", next, v)
	}
	if err := checkMigrations([]migration{{1, "a", "x"}, {3, "b", "y"}}); err == nil {
		t.Fatal("checkMigrations accepted a gap")
	}
	// A failing migration is rolled back whole.
	bad := append(ms, migration{next + 1, "broken", `CREATE TABLE half(x); THIS IS NOT SQL;`})
	if err := applyMigrations(ctx, db.w, path, db.log, bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", next+1)) {
		t.Fatalf("broken migration: err = %v", err)
	}
	if v, _ := db.SchemaVersion(ctx); v != next {
		t.Fatalf("version after a failed migration = %d", v)
	}
	var tables int
	db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&tables)
	if tables != 0 {
		t.Fatal("failed migration left a table behind")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	ctx := ctxT(t)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (99, 'from the future', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if err == nil {
		t.Fatal("Open accepted a database with schema version 99")
	}
	for _, want := range []string{path, "99", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNotSQLiteRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if err == nil {
		t.Fatal("Open accepted a text file")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a SQLite database") {
		t.Fatalf("error %q should name %s and say it is not a SQLite database", err, path)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open(directory) error = %v", err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestPragmas(t *testing.T) {
	db, path := openTest(t, Options{BusyTimeout: 1234 * time.Millisecond})
	ctx := ctxT(t)
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		t.Fatalf("parent directory not created: %v", err)
	}
	for _, p := range []struct {
		pool *sql.DB
		name string
		want string
	}{
		{db.w, "journal_mode", "wal"},
		{db.w, "synchronous", "1"},
		{db.w, "busy_timeout", "1234"},
		{db.w, "foreign_keys", "1"},
		{db.w, "query_only", "0"},
		{db.r, "journal_mode", "wal"},
		{db.r, "busy_timeout", "1234"},
		{db.r, "foreign_keys", "1"},
		{db.r, "query_only", "1"},
	} {
		var got string
		if err := p.pool.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %s, want %s (pool %p)", p.name, got, p.want, p.pool)
		}
	}
	if _, err := db.r.ExecContext(ctx, `DELETE FROM market_data`); err == nil {
		t.Error("the read pool accepted a write")
	}
	if st := db.w.Stats(); st.MaxOpenConnections != 1 {
		t.Errorf("writer pool max open = %d", st.MaxOpenConnections)
	}
	if st := db.r.Stats(); st.MaxOpenConnections != 4 {
		t.Errorf("read pool max open = %d", st.MaxOpenConnections)
	}
}

func TestFlushSemantics(t *testing.T) {
	// Neither trigger fires by itself: only Flush commits.
	db, _ := openTest(t, Options{FlushInterval: time.Hour, BatchSize: 1 << 20})
	if err := db.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush with nothing queued: %v", err)
	}
	for i := range 20 {
		db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base+int64(i)*60_000, 1)...)
		db.InsertTrades(mkTrades(exA, symA, fmt.Sprint(i, "-"), base, 2)...)
		flush(t, db)
		if n := mustCount(t, db, symA, market.TF1m); n != int64(i+1) {
			t.Fatalf("after Flush %d: %d candles visible", i, n)
		}
		if n := mustCountTrades(t, db, symA); n != int64(2*(i+1)) {
			t.Fatalf("after Flush %d: %d trades visible", i, n)
		}
	}
	st := db.WriterStats()
	if st.RowsWritten != 60 || st.Queued != 0 || st.Batches != 20 || st.MaxBatchDuration <= 0 {
		t.Fatalf("stats = %+v", st)
	}
	// A cancelled context ends the wait.
	db.UpsertCandles(mkCandles(exA, symB, market.TF1m, base, 1)...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a cancelled context = %v", err)
	}
}

func TestFlushIntervalTrigger(t *testing.T) {
	db, _ := openTest(t, Options{FlushInterval: 20 * time.Millisecond, BatchSize: 1 << 20})
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 1)...)
	waitFor(t, "the interval flush", func() bool { return mustCount(t, db, symA, market.TF1m) == 1 })
	db.InsertTrades(mkTrades(exA, symA, "x", base, 1)...)
	waitFor(t, "the second interval flush", func() bool { return mustCountTrades(t, db, symA) == 1 })
}

func TestBatchSizeTrigger(t *testing.T) {
	db, _ := openTest(t, Options{FlushInterval: time.Hour, BatchSize: 100})
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 99)...)
	db.InsertTrades(mkTrades(exA, symA, "x", base, 1)...)
	waitFor(t, "a full batch to be written", func() bool {
		return mustCount(t, db, symA, market.TF1m) == 99 && mustCountTrades(t, db, symA) == 1
	})
	// A large backlog is written in transactions of at most BatchSize rows.
	db.UpsertCandles(mkCandles(exA, symB, market.TF1m, base, 1000)...)
	waitFor(t, "the backlog", func() bool { return mustCount(t, db, symB, market.TF1m) == 1000 })
	if st := db.WriterStats(); st.Batches != 11 {
		t.Fatalf("batches = %d, want 11", st.Batches)
	}
}

// Nothing acknowledged is lost: rows enqueued from many goroutines are all there after
// Close and re-open.
func TestCloseWritesEverything(t *testing.T) {
	// 100,000 trades and 50,000 candles from five goroutines (a fifth of that under -race,
	// which makes the transpiled SQLite many times slower).
	const workers = 5
	tradesEach, candlesEach := int64(20_000), int64(10_000)
	if raceEnabled {
		tradesEach, candlesEach = 4_000, 2_000
	}
	path := filepath.Join(t.TempDir(), "close.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			sym := market.Symbol(fmt.Sprintf("SYM%d", w))
			ts := mkTrades(exA, sym, "w", base, int(tradesEach))
			cs := mkCandles(exA, sym, market.TF1s, market.TF1s.End(base), int(candlesEach))
			for i := 0; i < int(tradesEach); i += 50 {
				db.InsertTrades(ts[i : i+50]...)
				if j := i / 2; j < int(candlesEach) {
					db.UpsertCandles(cs[j : j+25]...)
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := db.WriterStats(); st.Queued != 0 || st.RowsWritten != workers*(tradesEach+candlesEach) {
		t.Fatalf("stats after Close = %+v", st)
	}

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctxT(t))
	var trades, candles int64
	for w := range workers {
		sym := market.Symbol(fmt.Sprintf("SYM%d", w))
		trades += mustCountTrades(t, db, sym)
		candles += mustCount(t, db, sym, market.TF1s)
	}
	if trades != workers*tradesEach || candles != workers*candlesEach {
		t.Fatalf("after re-open: %d trades (want %d), %d candles (want %d)", trades, workers*tradesEach, candles, workers*candlesEach)
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	db, _ := openTest(t, Options{FlushInterval: 5 * time.Millisecond, BatchSize: 200})
	ctx := ctxT(t)
	const n = 4000
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		cs := mkCandles(exA, symA, market.TF1m, base, n)
		ts := mkTrades(exA, symA, "c", base, n)
		for i := 0; i < n; i += 10 {
			db.UpsertCandles(cs[i : i+10]...)
			db.InsertTrades(ts[i : i+10]...)
		}
	})
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			var prev int64
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				c, err := db.CountCandles(ctx, exA, symA, market.TF1m)
				if err == nil && c < prev {
					err = fmt.Errorf("count went back from %d to %d", prev, c)
				}
				prev = c
				if err == nil {
					var last []market.Candle
					last, err = db.LastCandles(ctx, exA, symA, market.TF1m, 50)
					for i := 1; err == nil && i < len(last); i++ {
						if last[i].Time <= last[i-1].Time {
							err = fmt.Errorf("LastCandles not ascending at %d", i)
						}
					}
				}
				if err == nil {
					_, err = db.Trades(ctx, exA, symA, base, base+100)
				}
				if err == nil {
					_, err = db.SeriesCounts(ctx)
				}
				if err == nil {
					_ = db.WriterStats()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	flush(t, db)
	if c := mustCount(t, db, symA, market.TF1m); c != n {
		t.Fatalf("candles = %d", c)
	}
	if c := mustCountTrades(t, db, symA); c != n {
		t.Fatalf("trades = %d", c)
	}
}

func TestEnqueueAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "closed.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 3)...)
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 4)...)
	db.InsertTrades(mkTrades(exA, symA, "z", base, 5)...)
	if err := db.Flush(ctx); err != nil {
		t.Fatalf("Flush after Close with nothing pending: %v", err)
	}
	st := db.WriterStats()
	if st.Dropped != 9 || st.RowsWritten != 3 || st.Queued != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if _, err := db.CountCandles(ctx, exA, symA, market.TF1m); err == nil {
		t.Fatal("a read after Close succeeded")
	}
	select {
	case <-db.done:
	default:
		t.Fatal("writer goroutine still running after Close")
	}
}

// Transactions of more than one queue chunk, and queues holding several chunks.
func TestLargeBatches(t *testing.T) {
	db, _ := openTest(t, Options{BatchSize: 5000, FlushInterval: time.Hour})
	cs := mkCandles(exA, symA, market.TF1m, base, 12_345)
	ts := mkTrades(exA, symA, "L", base, 3_001)
	db.UpsertCandles(cs[:3000]...)
	db.InsertTrades(ts...)
	db.UpsertCandles(cs[3000:]...)
	flush(t, db)
	if n := mustCount(t, db, symA, market.TF1m); n != int64(len(cs)) {
		t.Fatalf("candles = %d", n)
	}
	if n := mustCountTrades(t, db, symA); n != int64(len(ts)) {
		t.Fatalf("trades = %d", n)
	}
	got, err := db.Candles(ctxT(t), exA, symA, market.TF1m, base, cs[len(cs)-1].Time)
	if err != nil || len(got) != len(cs) {
		t.Fatalf("Candles: %d rows, %v", len(got), err)
	}
	for i := range cs {
		if got[i] != cs[i] {
			t.Fatalf("candle %d = %+v, want %+v", i, got[i], cs[i])
		}
	}
	st := db.WriterStats()
	if st.RowsWritten != int64(len(cs)+len(ts)) || st.Batches < 4 || st.Queued != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// lockDB takes the database's write lock from another connection until the returned
// function is called.
func lockDB(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := ctxT(t)
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// A commit that fails (SQLITE_BUSY) keeps its rows and is retried; Flush reports the failure.
func TestWriteRetriedAfterBusy(t *testing.T) {
	db, path := openTest(t, Options{BusyTimeout: 20 * time.Millisecond, FlushInterval: time.Millisecond})
	release := lockDB(t, path)
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 500)...)
	db.InsertTrades(mkTrades(exA, symA, "b", base, 500)...)
	waitFor(t, "a failed commit", func() bool { return db.WriterStats().Errors > 0 })
	if err := db.Flush(ctxT(t)); err == nil {
		t.Fatal("Flush succeeded while the database was locked")
	}
	st := db.WriterStats()
	if st.Queued != 1000 || st.RowsWritten != 0 || !strings.Contains(st.LastError, "locked") && !strings.Contains(st.LastError, "busy") {
		t.Fatalf("stats while locked = %+v", st)
	}
	release()
	waitFor(t, "the retry", func() bool { return db.WriterStats().Queued == 0 })
	flush(t, db)
	if n := mustCount(t, db, symA, market.TF1m); n != 500 {
		t.Fatalf("candles after retry = %d", n)
	}
	if n := mustCountTrades(t, db, symA); n != 500 {
		t.Fatalf("trades after retry = %d", n)
	}
}

// Close gives up when its context ends, stops the writer and says how many rows were lost.
func TestCloseDeadlineWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stuck.db")
	db, err := Open(path, Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lockDB(t, path)
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 10)...)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = db.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 rows not written") {
		t.Fatalf("Close = %v, want an error counting 10 lost rows", err)
	}
	select {
	case <-db.done:
	default:
		t.Fatal("writer goroutine still running after Close")
	}
}

func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir #1 ?x=y&z", "100% data.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.UpsertCandles(mkCandles(exA, symA, market.TF1m, base, 2)...)
	if err := db.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("database not at %q: %v", path, err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctxT(t))
	if n := mustCount(t, db, symA, market.TF1m); n != 2 {
		t.Fatalf("candles = %d", n)
	}
}
