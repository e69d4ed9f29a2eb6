package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// dsT0 is 2025-03-01T00:00:00Z; the test ranges are a day of 1m candles from it.
var dsT0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

const (
	dsDay      = int64(24 * 60 * 60 * 1000)
	dsExchange = "bybit"
	dsVenueMsg = `{"retCode":10001,"retMsg":"params error: symbol invalid"}`
)

// fakeHistorian is an in-memory venue: deterministic klines of any range for the symbols it
// lists, in pages of pageSize, with a venue error on page failPage of a call (1-based; 0 never),
// a hole (no klines) in [holeFrom, holeTo), and a hook after each page delivered.
type fakeHistorian struct {
	pageSize         int
	tfs              []market.Timeframe
	symbols          []market.Symbol
	failPage         int
	holeFrom, holeTo int64
	afterPage        func(n int)

	mu    sync.Mutex
	calls [][2]int64 // the (from, to] of every Klines call
	sent  int        // candles delivered
}

func newFakeHistorian() *fakeHistorian {
	return &fakeHistorian{pageSize: 200, tfs: []market.Timeframe{market.TF1m, market.TF5m, market.TF1h},
		symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}}
}

// dsCandle is the venue's candle stamped t (the venue leaves the exchange blank: SyncCandles
// fills the series key).
func dsCandle(sym market.Symbol, tf market.Timeframe, t int64) market.Candle {
	x := float64(t/tf.Millis()%997) + float64(len(sym))
	o := 100 + 10*math.Sin(x/50)
	c := 100 + 10*math.Sin((x+1)/50)
	return market.Candle{Symbol: sym, Timeframe: tf, Time: t, Open: o, High: max(o, c) + 0.5, Low: min(o, c) - 0.25,
		Close: c, Volume: float64(t/tf.Millis()%13) + 0.5, Trades: t / tf.Millis() % 7}
}

func (f *fakeHistorian) Timeframes() []market.Timeframe { return f.tfs }

func (f *fakeHistorian) Instrument(ctx context.Context, sym market.Symbol) (market.Instrument, error) {
	if !slices.Contains(f.symbols, sym) {
		return market.Instrument{}, fmt.Errorf("fake: instrument %s: HTTP 200: %s", sym, dsVenueMsg)
	}
	return market.Instrument{Exchange: dsExchange, Symbol: sym, Venue: string(sym), TickSize: 0.1, LotSize: 0.001, Trading: true}, ctx.Err()
}

func (f *fakeHistorian) Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error {
	f.mu.Lock()
	f.calls = append(f.calls, [2]int64{from, to})
	f.mu.Unlock()
	if !slices.Contains(f.symbols, sym) {
		return fmt.Errorf("fake: klines %s: %s", sym, dsVenueMsg)
	}
	n := 0
	for t := tf.Floor(from) + tf.Millis(); t <= to; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		if n == f.failPage {
			return fmt.Errorf("fake: klines %s page %d: HTTP 403: {\"retCode\":10006,\"retMsg\":\"Too many visits!\"}", sym, n)
		}
		var batch []market.Candle
		for ; t <= to && len(batch) < f.pageSize; t += tf.Millis() {
			if t >= f.holeFrom && t < f.holeTo {
				continue
			}
			batch = append(batch, dsCandle(sym, tf, t))
		}
		if len(batch) == 0 {
			continue
		}
		if err := page(batch); err != nil {
			return err
		}
		f.mu.Lock()
		f.sent += len(batch)
		f.mu.Unlock()
		if f.afterPage != nil {
			f.afterPage(n)
		}
	}
	return nil
}

func (f *fakeHistorian) klineCalls() [][2]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// dsProgress records progress reports.
type dsProgress struct {
	mu sync.Mutex
	ps []float64
}

func (p *dsProgress) report(x float64) { p.mu.Lock(); p.ps = append(p.ps, x); p.mu.Unlock() }

// check: non-decreasing, within [0, 1], and ending at 1 when done.
func (p *dsProgress) check(t *testing.T, done bool) []float64 {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ps) == 0 {
		t.Fatal("no progress reported")
	}
	for i, x := range p.ps {
		if x < 0 || x > 1 || (i > 0 && x < p.ps[i-1]) {
			t.Fatalf("progress %v: not non-decreasing within [0, 1]", p.ps)
		}
	}
	if last := p.ps[len(p.ps)-1]; done != (last == 1) {
		t.Fatalf("progress %v: ends at %v (done %v)", p.ps, last, done)
	}
	return slices.Clone(p.ps)
}

func dsStored(t *testing.T, db *storage.DB, sym market.Symbol, tf market.Timeframe) []market.Candle {
	t.Helper()
	cs, err := db.Candles(jbCtx(t), dsExchange, sym, tf, 0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// dsWant is what a download of (from, to] must store.
func dsWant(sym market.Symbol, tf market.Timeframe, from, to int64) []market.Candle {
	var out []market.Candle
	for t := tf.Floor(from) + tf.Millis(); t <= to; t += tf.Millis() {
		c := dsCandle(sym, tf, t)
		c.Exchange = dsExchange
		out = append(out, c)
	}
	return out
}

func TestSyncCandlesStoresEveryPage(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "sync.db"))
	h := newFakeHistorian()
	var prog dsProgress
	res, err := SyncCandles(jbCtx(t), h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0+dsDay, prog.report)
	if err != nil {
		t.Fatal(err)
	}
	want := SyncResult{Fetched: 1440, Stored: 1440, Gaps: 1, From: dsT0, To: dsT0 + dsDay}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if got := dsStored(t, db, "BTCUSDT", market.TF1m); !reflect.DeepEqual(got, dsWant("BTCUSDT", market.TF1m, dsT0, dsT0+dsDay)) {
		t.Fatalf("stored %d candles, not the venue's 1440", len(got))
	}
	ps := prog.check(t, true)
	// 0, then after each of the 8 pages (the last page reaches 1).
	if len(ps) != 9 || ps[0] != 0 || math.Abs(ps[1]-200.0/1440) > 1e-9 {
		t.Fatalf("progress %v: want 0, 200/1440, …, 1", ps)
	}
	if calls := h.klineCalls(); !reflect.DeepEqual(calls, [][2]int64{{dsT0, dsT0 + dsDay}}) {
		t.Fatalf("klines calls %v", calls)
	}
}

// The first run fails on page 3 with the venue's message; the second resumes after the last
// stored candle, and the table equals a clean run's.
func TestSyncCandlesResumesAfterFailure(t *testing.T) {
	ctx := jbCtx(t)
	from, to := dsT0, dsT0+dsDay
	db := jbOpen(t, filepath.Join(t.TempDir(), "resume.db"))
	h := newFakeHistorian()
	h.failPage = 3
	res, err := SyncCandles(ctx, h, db, dsExchange, "ETHUSDT", market.TF1m, from, to, nil)
	if err == nil || !strings.Contains(err.Error(), "Too many visits!") || !strings.Contains(err.Error(), "a rerun resumes there") {
		t.Fatalf("err = %v, want the venue's message and the resume hint", err)
	}
	if res.Fetched != 400 || res.Stored != 400 || res.Resumed {
		t.Fatalf("failed run's result %+v: want 2 pages fetched and stored", res)
	}
	if n := len(dsStored(t, db, "ETHUSDT", market.TF1m)); n != 400 {
		t.Fatalf("%d candles stored by the failed run, want its 2 pages (400)", n)
	}

	h.failPage = 0
	var prog dsProgress
	res, err = SyncCandles(ctx, h, db, dsExchange, "ETHUSDT", market.TF1m, from, to, prog.report)
	if err != nil {
		t.Fatal(err)
	}
	last := from + 400*60_000
	want := SyncResult{Fetched: 1040, Stored: 1040, Resumed: true, ResumedFrom: last, Had: 400, Gaps: 1, From: from, To: to}
	if res != want {
		t.Fatalf("resumed result %+v, want %+v", res, want)
	}
	if calls := h.klineCalls(); len(calls) != 2 || calls[1] != [2]int64{last, to} {
		t.Fatalf("klines calls %v: want the second from the last stored candle %d", calls, last)
	}
	ps := prog.check(t, true)
	if math.Abs(ps[0]-400.0/1440) > 1e-9 {
		t.Fatalf("resumed progress starts at %v, want 400/1440", ps[0])
	}

	clean := jbOpen(t, filepath.Join(t.TempDir(), "clean.db"))
	if _, err := SyncCandles(ctx, newFakeHistorian(), clean, dsExchange, "ETHUSDT", market.TF1m, from, to, nil); err != nil {
		t.Fatal(err)
	}
	got, ref := dsStored(t, db, "ETHUSDT", market.TF1m), dsStored(t, clean, "ETHUSDT", market.TF1m)
	if len(ref) != 1440 || !reflect.DeepEqual(got, ref) {
		t.Fatalf("resumed table (%d rows) differs from a clean run's (%d rows)", len(got), len(ref))
	}
}

// Twice over a finished range: the same rows, and the second run fetches nothing. A range
// ending later fetches only the tail.
func TestSyncCandlesIdempotent(t *testing.T) {
	ctx := jbCtx(t)
	db := jbOpen(t, filepath.Join(t.TempDir(), "twice.db"))
	h := newFakeHistorian()
	from, to := dsT0, dsT0+dsDay
	if _, err := SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF5m, from, to, nil); err != nil {
		t.Fatal(err)
	}
	first := dsStored(t, db, "BTCUSDT", market.TF5m)
	var prog dsProgress
	res, err := SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF5m, from, to, prog.report)
	if err != nil {
		t.Fatal(err)
	}
	if want := (SyncResult{Resumed: true, ResumedFrom: to, Had: 288, From: from, To: to}); res != want {
		t.Fatalf("second run %+v, want %+v", res, want)
	}
	if !reflect.DeepEqual(dsStored(t, db, "BTCUSDT", market.TF5m), first) || len(first) != 288 {
		t.Fatalf("the second run changed the table (%d rows)", len(first))
	}
	if calls := h.klineCalls(); len(calls) != 1 {
		t.Fatalf("klines calls %v: the second run fetched", calls)
	}
	if ps := prog.check(t, true); !reflect.DeepEqual(ps, []float64{1}) {
		t.Fatalf("progress of a finished range %v, want [1]", ps)
	}

	// An hour more: only that hour is fetched.
	res, err = SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF5m, from, to+3_600_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 12 || res.Stored != 12 || res.ResumedFrom != to {
		t.Fatalf("tail run %+v: want 12 candles after %d", res, to)
	}
	if got := dsStored(t, db, "BTCUSDT", market.TF5m); !reflect.DeepEqual(got, dsWant("BTCUSDT", market.TF5m, from, to+3_600_000)) {
		t.Fatalf("table after the tail run: %d rows", len(got))
	}
}

// A hole in the venue's history (maintenance) is skipped, and resuming works across it.
func TestSyncCandlesVenueHole(t *testing.T) {
	ctx := jbCtx(t)
	db := jbOpen(t, filepath.Join(t.TempDir(), "hole.db"))
	h := newFakeHistorian()
	h.holeFrom, h.holeTo = dsT0+100*60_000, dsT0+700*60_000 // 600 missing klines, inside pages 1 and 2
	h.failPage = 4
	if _, err := SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0+dsDay, nil); err == nil {
		t.Fatal("no error from the failing page")
	}
	h.failPage = 0
	res, err := SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0+dsDay, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.ResumedFrom <= h.holeTo {
		t.Fatalf("result %+v: want resumed after the hole", res)
	}
	want := slices.DeleteFunc(dsWant("BTCUSDT", market.TF1m, dsT0, dsT0+dsDay), func(c market.Candle) bool {
		return c.Time >= h.holeFrom && c.Time < h.holeTo
	})
	if got := dsStored(t, db, "BTCUSDT", market.TF1m); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %d candles, want %d", len(got), len(want))
	}
}

// A range with stored stretches inside it (an earlier, narrower download; the live console's
// candles): only the holes are fetched, before the stretches as well as between and after them;
// holes across a stretch shorter than mergeRun are one request. The table equals a clean run's.
func TestSyncCandlesFillsTheHoles(t *testing.T) {
	ctx := jbCtx(t)
	db := jbOpen(t, filepath.Join(t.TempDir(), "holes.db"))
	const m = int64(60_000)
	for _, run := range [][2]int64{{200, 799}, {900, 919}, {1000, 1100}} { // 600 (long), 20 and 101 (short)
		if err := db.SaveCandles(ctx, dsWant("ETHUSDT", market.TF1m, dsT0+(run[0]-1)*m, dsT0+run[1]*m)); err != nil {
			t.Fatal(err)
		}
	}
	h := newFakeHistorian()
	var prog dsProgress
	res, err := SyncCandles(ctx, h, db, dsExchange, "ETHUSDT", market.TF1m, dsT0, dsT0+dsDay, prog.report)
	if err != nil {
		t.Fatal(err)
	}
	want := SyncResult{Fetched: 199 + 641, Stored: 199 + 641, Resumed: true, ResumedFrom: dsT0 + 1100*m, Had: 721, Gaps: 2, From: dsT0, To: dsT0 + dsDay}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if calls := h.klineCalls(); !reflect.DeepEqual(calls, [][2]int64{{dsT0, dsT0 + 199*m}, {dsT0 + 799*m, dsT0 + dsDay}}) {
		t.Fatalf("klines calls %v: want the head hole, then the holes after the long stretch as one", calls)
	}
	ps := prog.check(t, true)
	if math.Abs(ps[0]-600.0/1440) > 1e-9 { // the long stretch was there; the short ones are fetched again
		t.Fatalf("progress starts at %v, want 600/1440", ps[0])
	}
	if got, ref := dsStored(t, db, "ETHUSDT", market.TF1m), dsWant("ETHUSDT", market.TF1m, dsT0, dsT0+dsDay); !reflect.DeepEqual(got, ref) {
		t.Fatalf("table has %d rows, want a clean run's %d", len(got), len(ref))
	}

	// A second run has nothing to fetch.
	res, err = SyncCandles(ctx, h, db, dsExchange, "ETHUSDT", market.TF1m, dsT0, dsT0+dsDay, nil)
	if err != nil || res.Gaps != 0 || res.Fetched != 0 || res.Had != 1440 || len(h.klineCalls()) != 2 {
		t.Fatalf("second run %+v, %v; calls %v", res, err, h.klineCalls())
	}
}

func TestSyncCandlesUnknownSymbolAndTimeframe(t *testing.T) {
	ctx := jbCtx(t)
	db := jbOpen(t, filepath.Join(t.TempDir(), "bad.db"))
	h := newFakeHistorian()
	_, err := SyncCandles(ctx, h, db, dsExchange, "NOPEUSDT", market.TF1m, dsT0, dsT0+dsDay, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "sync bybit NOPEUSDT 1m: ") || !strings.Contains(err.Error(), "params error: symbol invalid") {
		t.Fatalf("err = %v, want one naming NOPEUSDT with the venue's message", err)
	}
	_, err = SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF15m, dsT0, dsT0+dsDay, nil)
	if err == nil || err.Error() != "timeframe 15m: bybit history serves 1m 5m 1h" {
		t.Fatalf("err = %v, want the timeframe named with the served ones", err)
	}
	if _, err = SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0, nil); err == nil {
		t.Fatal("an empty range was accepted")
	}
	if calls := h.klineCalls(); len(calls) != 0 {
		t.Fatalf("klines fetched for refused downloads: %v", calls)
	}
	if cs := dsStored(t, db, "NOPEUSDT", market.TF1m); len(cs) != 0 {
		t.Fatal("stored candles of an unknown symbol")
	}
}

// Cancelled after page 2: the error is the cancellation, those pages are stored, and the
// next run resumes after them.
func TestSyncCandlesCancel(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "cancel.db"))
	h := newFakeHistorian()
	ctx, cancel := context.WithCancel(jbCtx(t))
	defer cancel()
	h.afterPage = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	var prog dsProgress
	res, err := SyncCandles(ctx, h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0+dsDay, prog.report)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Stored != 400 || len(dsStored(t, db, "BTCUSDT", market.TF1m)) != 400 {
		t.Fatalf("cancelled run stored %d (result %+v), want 400", len(dsStored(t, db, "BTCUSDT", market.TF1m)), res)
	}
	prog.check(t, false)
	h.afterPage = nil
	res, err = SyncCandles(jbCtx(t), h, db, dsExchange, "BTCUSDT", market.TF1m, dsT0, dsT0+dsDay, nil)
	if err != nil || res.ResumedFrom != dsT0+400*60_000 || res.Stored != 1040 {
		t.Fatalf("after the cancel: %+v, %v", res, err)
	}
}

func dsOpen(h venue.Historian) func(string) (venue.Historian, error) {
	return func(ex string) (venue.Historian, error) {
		if ex != dsExchange {
			return nil, fmt.Errorf("no REST history for %q; one of bybit, okx, binance", ex)
		}
		return h, nil
	}
}

func TestDataSyncCheckNamesFields(t *testing.T) {
	check := DataSyncHandler(dsOpen(newFakeHistorian())).Check
	ok := `{"exchange":"Bybit","symbol":"btcusdt","timeframe":"1m","from":"2025-03-01","to":"2025-03-02T00:00:00Z"}`
	if err := check([]byte(ok)); err != nil {
		t.Fatalf("valid payload refused: %v", err)
	}
	if err := check([]byte(`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-01"}`)); err != nil {
		t.Fatalf("payload without to refused: %v", err)
	}
	for _, c := range []struct{ payload, want string }{
		{`{"exchange":"kraken","symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-01"}`, `exchange "kraken": no REST history`},
		{`{"symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-01"}`, "exchange: missing; one of bybit, okx, binance"},
		{`{"exchange":"bybit","timeframe":"1m","from":"2025-03-01"}`, "symbol: missing"},
		{`{"exchange":"bybit","symbol":"BTC-USDT","timeframe":"1m","from":"2025-03-01"}`, `symbol "BTC-USDT"`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"7m","from":"2025-03-01"}`, `timeframe "7m" is not supported`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"15m","from":"2025-03-01"}`, "timeframe 15m: bybit history serves 1m 5m 1h"},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m"}`, "from: missing"},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2025-13-01"}`, `from "2025-13-01": want a date`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-01","to":"soon"}`, `to "soon": want a date`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-02","to":"2025-03-01"}`, `to "2025-03-01": must be after from "2025-03-02"`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2999-01-01"}`, `from "2999-01-01": must be before now`},
		{`{"exchange":"bybit","symbol":"BTCUSDT","timeframe":"1m","from":"2025-03-01","frm":"x"}`, `unknown field "frm"`},
	} {
		err := check([]byte(c.payload))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "data_sync: ") {
			t.Errorf("%s: err = %v, want one containing %q", c.payload, err, c.want)
		}
	}
}

// The job end to end on a runner: progress events non-decreasing up to 1, the result, the
// rows, the summary line; a rerun resumes and stores nothing new.
func TestDataSyncJob(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "job.db"))
	h := newFakeHistorian()
	j := jbStart(t, db, JobsOptions{Workers: 1, ProgressEvery: -1, ProgressStoreEvery: -1,
		Handlers: map[string]JobHandler{JobTypeDataSync: DataSyncHandler(dsOpen(h))}})
	sub := jbSubscribe(t, j)
	payload := DataSyncJob{Exchange: "bybit", Symbol: "ETHUSDT", Timeframe: "1m", From: "2025-03-01", To: "2025-03-02"}
	v := jbSubmit(t, j, JobTypeDataSync, payload)
	evs := sub.wait(t, v.ID, JobCompleted, JobFailed)
	done := evs[len(evs)-1]
	if done.Status != JobCompleted {
		t.Fatalf("job %s: %s", done.Status, done.Error)
	}
	last := -1.0
	for _, e := range evs {
		if e.Progress < last {
			t.Fatalf("progress went back: %+v", evs)
		}
		last = e.Progress
	}
	if last != 1 {
		t.Fatalf("final progress %v", last)
	}
	var res map[string]any
	if err := json.Unmarshal(done.Result, &res); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"fetched": 1440.0, "stored": 1440.0, "resumed": false, "resumed_from": 0.0,
		"had": 0.0, "gaps": 1.0, "from": float64(dsT0), "to": float64(dsT0 + dsDay)}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %v, want %v", res, want)
	}
	if got := dsStored(t, db, "ETHUSDT", market.TF1m); !reflect.DeepEqual(got, dsWant("ETHUSDT", market.TF1m, dsT0, dsT0+dsDay)) {
		t.Fatalf("stored %d candles", len(got))
	}
	if s, ok := dataSyncSummary(done.Result); !ok || s != "stored 1440 candles (fetched 1440) · 2025-03-01 00:00 → 2025-03-02 00:00" {
		t.Fatalf("summary %q", s)
	}

	v2 := jbSubmit(t, j, JobTypeDataSync, payload)
	evs = sub.wait(t, v2.ID, JobCompleted, JobFailed)
	done = evs[len(evs)-1]
	var r2 SyncResult
	if done.Status != JobCompleted || json.Unmarshal(done.Result, &r2) != nil || r2.Fetched != 0 || !r2.Resumed {
		t.Fatalf("rerun: %s %s %s", done.Status, done.Result, done.Error)
	}
	if s, _ := dataSyncSummary(done.Result); !strings.HasSuffix(s, "· 1440 already stored, nothing missing") {
		t.Fatalf("rerun summary %q", s)
	}

	// An unknown symbol fails the job with the venue's message.
	bad := payload
	bad.Symbol = "NOPEUSDT"
	v3 := jbSubmit(t, j, JobTypeDataSync, bad)
	evs = sub.wait(t, v3.ID, JobCompleted, JobFailed)
	if done = evs[len(evs)-1]; done.Status != JobFailed || !strings.Contains(done.Error, "sync bybit NOPEUSDT 1m: ") ||
		!strings.Contains(done.Error, "params error: symbol invalid") {
		t.Fatalf("unknown symbol: %s %q", done.Status, done.Error)
	}
}

// noSyncStore is a JobStore without the synchronous candle methods.
type noSyncStore struct{ JobStore }

func TestDataSyncJobNeedsSyncStore(t *testing.T) {
	db := jbOpen(t, filepath.Join(t.TempDir(), "nosync.db"))
	payload, _ := json.Marshal(DataSyncJob{Exchange: "bybit", Symbol: "BTCUSDT", Timeframe: "1m", From: "2025-03-01", To: "2025-03-02"})
	jc := &JobContext{Job: storage.Job{ID: 1, Type: JobTypeDataSync, Payload: payload}, Store: noSyncStore{db}}
	_, err := DataSyncHandler(dsOpen(newFakeHistorian())).Run(jbCtx(t), jc)
	if err == nil || !strings.Contains(err.Error(), "cannot save candles synchronously") {
		t.Fatalf("err = %v", err)
	}
}
