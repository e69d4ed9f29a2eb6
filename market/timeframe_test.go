package market

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeframeRoundTripsEveryTimeframe(t *testing.T) {
	want := []string{"1s", "5s", "15s", "30s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w"}
	if len(Timeframes) != len(want) {
		t.Fatalf("Timeframes has %d entries, want %d", len(Timeframes), len(want))
	}
	durs := []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 3 * time.Minute,
		5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 6 * time.Hour,
		12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	for i, name := range want {
		tf, err := ParseTimeframe(name)
		if err != nil {
			t.Fatalf("ParseTimeframe(%q): %v", name, err)
		}
		if tf.String() != name || tf.Duration() != durs[i] || Timeframes[i] != tf || !tf.Valid() {
			t.Errorf("%q: got %v (%v), want duration %v at index %d", name, tf, tf.Duration(), durs[i], i)
		}
	}
}

func TestParseTimeframeRejectsOthers(t *testing.T) {
	for _, bad := range []string{"", "2m", "7m", "1M", "60s", "1y", "m1", "1 m", "-1m"} {
		_, err := ParseTimeframe(bad)
		if err == nil {
			t.Errorf("ParseTimeframe(%q) accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "1s 5s 15s") || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("error for %q should name the value and list the valid ones: %v", bad, err)
		}
	}
}

func TestEndIsRightAlignedForEveryTimeframe(t *testing.T) {
	base := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC).UnixMilli() // a Monday 00:00 UTC
	for _, tf := range Timeframes {
		n := tf.Millis()
		b := base + 3*n // a boundary for every timeframe, weeks included
		if !tf.Aligned(b) {
			t.Fatalf("%v: %d should be a boundary", tf, b)
		}
		if got := tf.End(b); got != b+n {
			t.Errorf("%v: trade exactly at boundary → candle %d, want %d (the next one)", tf, got, b+n)
		}
		if got := tf.End(b - 1); got != b {
			t.Errorf("%v: trade 1 ms before boundary → candle %d, want %d", tf, got, b)
		}
		if got := tf.End(b + n - 1); got != b+n {
			t.Errorf("%v: last ms of interval → %d, want %d", tf, got, b+n)
		}
		if got := tf.FromOpenTime(b); got != b+n {
			t.Errorf("%v: kline open %d → %d, want %d", tf, b, got, b+n)
		}
	}
}

func TestDesignExample0905Belongs0910(t *testing.T) {
	t0905 := time.Date(2026, 1, 2, 9, 5, 0, 0, time.UTC).UnixMilli()
	t0910 := time.Date(2026, 1, 2, 9, 10, 0, 0, time.UTC).UnixMilli()
	if got := TF5m.End(t0905); got != t0910 {
		t.Fatalf("09:05:00.000 on 5m → %v, want 09:10", time.UnixMilli(got).UTC())
	}
}

func TestWeeksStartOnMonday(t *testing.T) {
	wed := time.Date(2026, 11, 18, 13, 0, 0, 0, time.UTC).UnixMilli()
	start := time.UnixMilli(TF1w.Floor(wed)).UTC()
	if start.Weekday() != time.Monday || start.Hour() != 0 || start.Day() != 16 {
		t.Fatalf("week of Wed 18 Nov starts %v, want Mon 16 Nov 00:00", start)
	}
}

func TestFloorBeforeEpoch(t *testing.T) {
	if got := TF1m.Floor(-1); got != -60000 {
		t.Fatalf("Floor(-1) = %d, want -60000", got)
	}
}

func TestParseSymbolAndSide(t *testing.T) {
	if s, err := ParseSymbol(" btcusdt "); err != nil || s != "BTCUSDT" {
		t.Fatalf("ParseSymbol: %q %v", s, err)
	}
	for _, bad := range []string{"", "BTC-USDT", "BTC/USDT"} {
		if _, err := ParseSymbol(bad); err == nil {
			t.Errorf("ParseSymbol(%q) accepted", bad)
		}
	}
	if s, err := ParseSide("SELL"); err != nil || s != Sell || s.String() != "sell" {
		t.Fatalf("ParseSide: %v %v", s, err)
	}
	if _, err := ParseSide("hold"); err == nil {
		t.Fatal("ParseSide(hold) accepted")
	}
}
