package storage

import (
	"errors"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// Open times in ms, ISO text and seconds all give the same right-aligned candles.
func TestReadCandlesCSVExactValues(t *testing.T) {
	// 2024-01-01T00:00:00Z = 1704067200000 ms.
	const t0 = int64(1704067200000)
	inputs := map[string]string{
		"ms": "timestamp,open,high,low,close,volume\n" +
			"1704067200000,100,101.5,99.25,101,12.5\n" +
			"1704067260000,101,102,100.5,100.75,0\n" +
			"1704067380000,100.75,100.75,98,98.5,3\n", // a hole: 00:02 is missing
		"iso, other order, case, extra columns, spaces, quotes, blank line": "\ufeffTimeStamp, Volume,OPEN,high,Low,close,trades,close_time\n" +
			"2024-01-01T00:00:00Z, 12.5,100,101.5,99.25,101,7,x\n" +
			"\n" +
			"\"2024-01-01 00:01:00\",0,101,102,100.5,100.75,0,x\n" +
			"2024-01-01T01:03:00+01:00,3,100.75,100.75,98,98.5,1,x\n",
		"seconds": "timestamp,open,high,low,close,volume\r\n" +
			"1704067200,100,101.5,99.25,101,12.5\r\n" +
			"1704067260,101,102,100.5,100.75,0\r\n" +
			"1704067380,100.75,100.75,98,98.5,3\r\n",
	}
	want := []market.Candle{
		{Exchange: "csv", Timeframe: market.TF1m, Time: t0 + 60_000, Open: 100, High: 101.5, Low: 99.25, Close: 101, Volume: 12.5},
		{Exchange: "csv", Timeframe: market.TF1m, Time: t0 + 120_000, Open: 101, High: 102, Low: 100.5, Close: 100.75, Volume: 0},
		{Exchange: "csv", Timeframe: market.TF1m, Time: t0 + 240_000, Open: 100.75, High: 100.75, Low: 98, Close: 98.5, Volume: 3},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			got, tf, err := ReadCandlesCSV(strings.NewReader(in), "prices.csv")
			if err != nil {
				t.Fatal(err)
			}
			if tf != market.TF1m {
				t.Errorf("timeframe %v, want 1m", tf)
			}
			if len(got) != len(want) {
				t.Fatalf("%d candles, want %d: %+v", len(got), len(want), got)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("candle %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestReadCandlesCSVInfersEveryTimeframe(t *testing.T) {
	for _, tf := range market.Timeframes {
		open := int64(1704067200000) // a Monday: every timeframe's grid
		var b strings.Builder
		b.WriteString("timestamp,open,high,low,close,volume\n")
		for i := range 4 {
			if i == 2 {
				continue // a hole of one candle
			}
			b.WriteString(strings.Join([]string{itoa(open + int64(i)*tf.Millis()), "1", "2", "0.5", "1.5", "1"}, ",") + "\n")
		}
		cs, got, err := ReadCandlesCSV(strings.NewReader(b.String()), "x.csv")
		if err != nil || got != tf {
			t.Errorf("%v: got %v, %v", tf, got, err)
			continue
		}
		if cs[0].Time != open+tf.Millis() || cs[2].Time != open+4*tf.Millis() {
			t.Errorf("%v: stamps %d %d", tf, cs[0].Time, cs[2].Time)
		}
	}
}

func itoa(n int64) string { return fmtNum(float64(n)) }

func TestReadCandlesCSVErrorsNameFileLineAndField(t *testing.T) {
	const h = "timestamp,open,high,low,close,volume\n"
	const r1 = "1704067200000,10,11,9,10.5,1\n"
	const r2 = "1704067260000,10,11,9,10.5,1\n"
	cases := []struct{ name, in, want string }{
		{"high below low", h + r1 + "1704067260000,10,9.5,10,10,1\n", "prices.csv:3: high 9.5 is below low 10"},
		{"high below open", h + r1 + "1704067260000,12,11,9,10,1\n", "prices.csv:3: high 11 is below open 12"},
		{"high below close", h + r1 + "1704067260000,10,11,9,11.5,1\n", "prices.csv:3: high 11 is below close 11.5"},
		{"low above open", h + r1 + "1704067260000,9,11,9.5,10,1\n", "prices.csv:3: low 9.5 is above open 9"},
		{"low above close", h + r1 + "1704067260000,10,11,9.5,9,1\n", "prices.csv:3: low 9.5 is above close 9"},
		{"negative volume", h + r1 + "1704067260000,10,11,9,10,-1\n", "prices.csv:3: volume -1 must not be negative"},
		{"zero price", h + "1704067200000,0,11,9,10,1\n", "prices.csv:2: open 0 must be positive"},
		{"not a number", h + r1 + r2 + "1704067320000,10,11,abc,10,1\n", `prices.csv:4: low "abc" is not a number`},
		{"NaN", h + r1 + "1704067260000,10,11,9,NaN,1\n", `prices.csv:3: close "NaN" is not a number`},
		{"empty field", h + r1 + "1704067260000,10,,9,10,1\n", "prices.csv:3: high is empty"},
		{"bad timestamp", h + r1 + "yesterday,10,11,9,10,1\n", `prices.csv:3: timestamp "yesterday"`},
		{"duplicate", h + r1 + r2 + r2, `prices.csv:4: timestamp "1704067260000" repeats line 3's "1704067260000"`},
		{"descending", h + r2 + r1, `prices.csv:3: timestamp "1704067200000" is before line 2's "1704067260000"`},
		{"field count", h + r1 + "1704067260000,10,11,9,10\n", "prices.csv:3: 5 fields, the header has 6"},
		{"no header", r1 + r2, "prices.csv:1: no header"},
		{"header lacks", "timestamp,open,high,low,close\n" + "1704067200000,10,11,9,10.5\n", "prices.csv:1: header lacks volume"},
		{"header twice", "timestamp,open,high,low,close,volume,Close\n", "prices.csv:1: header names column close twice (columns 5 and 7)"},
		{"empty", "", "prices.csv: empty file"},
		{"header only", h, "prices.csv: no candles after the header"},
		{"one row", h + r1, "prices.csv:2: only one candle"},
		{"odd spacing", h + "1704067200000,10,11,9,10,1\n1704067620000,10,11,9,10,1\n", "prices.csv:3: the smallest spacing between rows, 7m0s (lines 2 and 3), is not a candle timeframe"},
		{"off grid", h + r1 + r2 + "1704067350000,10,11,9,10,1\n", `prices.csv:4: timestamp "1704067350000" is 1m30s after line 3's, not a whole number of 1m candles`},
		{"sub-millisecond", h + "1704067200000.5,10,11,9,10,1\n", `prices.csv:2: timestamp "1704067200000.5" is not a whole millisecond`},
		{"bad quoting", h + r1 + "\"1704067260000,10,11,9,10,1\n", "prices.csv:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadCandlesCSV(strings.NewReader(c.in), "prices.csv")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\n  want prefix %q", err, c.want)
			}
			var ce *CSVError
			if !errors.As(err, &ce) || !IsCSVError(err) {
				t.Errorf("error %T is not a *CSVError", err)
			}
		})
	}
}
