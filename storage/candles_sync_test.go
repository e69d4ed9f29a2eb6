package storage

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// SaveCandles commits before it returns (no Flush), in statements of every size (1000 rows:
// 256+256+256+128+64+32+8), and upserts: a second save of changed rows replaces them.
func TestSaveCandlesSynchronousUpsert(t *testing.T) {
	db, _ := openTest(t, Options{FlushInterval: time.Hour})
	ctx := ctxT(t)
	cs := mkCandles(exA, symA, market.TF1m, base, 1000)
	if err := db.SaveCandles(ctx, cs); err != nil {
		t.Fatal(err)
	}
	// No Flush: the rows are there already.
	got, err := db.Candles(ctx, exA, symA, market.TF1m, 0, math.MaxInt64)
	if err != nil || len(got) != len(cs) {
		t.Fatalf("read back %d candles (%v), want %d", len(got), err, len(cs))
	}
	for i := range cs {
		if got[i] != cs[i] {
			t.Fatalf("candle %d read back as %+v, want %+v", i, got[i], cs[i])
		}
	}
	// Again, with a few changed: still 1000 rows, the changed values win.
	cs2 := append([]market.Candle(nil), cs[990:]...)
	for i := range cs2 {
		cs2[i].Close, cs2[i].Volume, cs2[i].Trades = 7, 8, 9
	}
	if err := db.SaveCandles(ctx, cs2); err != nil {
		t.Fatal(err)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 1000 {
		t.Fatalf("rows after the second save %d, want 1000", n)
	}
	got, err = db.Candles(ctx, exA, symA, market.TF1m, cs2[0].Time, cs2[len(cs2)-1].Time)
	if err != nil || len(got) != len(cs2) {
		t.Fatalf("read back %d (%v)", len(got), err)
	}
	for i := range cs2 {
		if got[i] != cs2[i] {
			t.Fatalf("changed candle %d read back as %+v, want %+v", i, got[i], cs2[i])
		}
	}
	if err := db.SaveCandles(ctx, nil); err != nil {
		t.Fatalf("empty save: %v", err)
	}
}

// An invalid candle fails the whole call and writes nothing; the error names it.
func TestSaveCandlesRefusesInvalid(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	cs := mkCandles(exA, symA, market.TF1m, base, 10)
	cs[7].High = math.NaN()
	err := db.SaveCandles(ctx, cs)
	if err == nil || !strings.Contains(err.Error(), "candle 7") {
		t.Fatalf("err = %v, want one naming candle 7", err)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 0 {
		t.Fatalf("%d rows written by a refused save", n)
	}
}

// A cancelled context writes nothing.
func TestSaveCandlesCancelled(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	err := db.SaveCandles(ctx, mkCandles(exA, symA, market.TF1m, base, 10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 0 {
		t.Fatalf("%d rows written by a cancelled save", n)
	}
}

// A save that cannot get the write lock within busy_timeout fails with the error and writes
// nothing; once the lock is free the same save commits.
func TestSaveCandlesLocked(t *testing.T) {
	db, path := openTest(t, Options{BusyTimeout: 20 * time.Millisecond})
	release := lockDB(t, path)
	cs := mkCandles(exA, symA, market.TF1m, base, 5)
	if err := db.SaveCandles(ctxT(t), cs); err == nil || !strings.Contains(err.Error(), "save candles") {
		t.Fatalf("save under a foreign write lock: err = %v, want a busy error", err)
	}
	release()
	if err := db.SaveCandles(ctxT(t), cs); err != nil {
		t.Fatal(err)
	}
	if n := mustCount(t, db, symA, market.TF1m); n != 5 {
		t.Fatalf("rows %d, want 5", n)
	}
}

// CandleRunsIn finds the runs of consecutive candles of one series within [from, to].
func TestCandleRunsIn(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	const m = int64(60_000)
	cs := mkCandles(exA, symA, market.TF1m, base, 100) // base … base+99m
	cs = append(cs[:10], cs[11:]...)                   // no base+10m
	cs = append(cs[:40], cs[50:]...)                   // no base+41m … base+50m
	if err := db.SaveCandles(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCandles(ctx, mkCandles(exA, symB, market.TF1m, base, 200)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCandles(ctx, mkCandles(exA, symA, market.TF5m, base, 300)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to int64
		want     []CandleRun
	}{
		{0, math.MaxInt64, []CandleRun{{base, base + 9*m, 10}, {base + 11*m, base + 40*m, 30}, {base + 51*m, base + 99*m, 49}}},
		{base + 5*m, base + 45*m, []CandleRun{{base + 5*m, base + 9*m, 5}, {base + 11*m, base + 40*m, 30}}},
		{base + 10*m, base + 10*m, nil},
		{base + 100*m, math.MaxInt64, nil},
	} {
		got, err := db.CandleRunsIn(ctx, exA, symA, market.TF1m, c.from, c.to)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("CandleRunsIn(%d, %d) = %v, %v; want %v", c.from-base, c.to-base, got, err, c.want)
		}
	}
	if got, err := db.CandleRunsIn(ctx, exA, symA, market.TF5m, 0, math.MaxInt64); err != nil || len(got) != 1 || got[0].N != 300 {
		t.Errorf("5m runs %v, %v: want one run of 300", got, err)
	}
	if _, err := db.CandleRunsIn(ctx, exA, symA, market.Timeframe(7), 0, 1); err == nil {
		t.Fatal("invalid timeframe accepted")
	}
}
