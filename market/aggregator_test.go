package market

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC).UnixMilli() // boundary of every tf up to 1d... and 1w? (Monday 09:00: not a day boundary)

func tr(t int64, price, size float64) Trade {
	return Trade{Exchange: "sim", Symbol: "BTCUSDT", Time: t, Price: price, Size: size, Side: Buy}
}

func addAll(a *Aggregator, trades ...Trade) []Candle {
	var out []Candle
	for _, x := range trades {
		out, _ = a.Add(x, out)
	}
	return out
}

func TestBoundaryTradeOpensNextCandle(t *testing.T) {
	for _, tf := range Timeframes {
		t.Run(tf.String(), func(t *testing.T) {
			n := tf.Millis()
			b := tf.Floor(t0) + 10*n // a boundary
			a := NewAggregator("sim", "BTCUSDT", []Timeframe{tf}, 0)
			out := addAll(a,
				tr(b-n, 100, 1), // first ms of candle stamped b
				tr(b-1, 101, 2), // 1 ms before the boundary: same candle
				tr(b, 99, 4),    // exactly at the boundary: next candle
			)
			if len(out) != 1 {
				t.Fatalf("closed %d candles, want 1: %+v", len(out), out)
			}
			c := out[0]
			want := Candle{Exchange: "sim", Symbol: "BTCUSDT", Timeframe: tf, Time: b, Open: 100, High: 101, Low: 100, Close: 101, Volume: 3, Trades: 2}
			if c != want {
				t.Fatalf("closed candle\n got %+v\nwant %+v", c, want)
			}
			open, ok := a.Open(tf)
			if !ok || open.Time != b+n || open.Open != 99 || open.Volume != 4 || open.Trades != 1 {
				t.Fatalf("open candle after boundary trade: %+v %v, want stamped %d with the 99 trade", open, ok, b+n)
			}
		})
	}
}

func TestEmptyIntervalsGiveFlatCandles(t *testing.T) {
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF1m}, 0)
	m := TF1m.Millis()
	out := addAll(a, tr(t0+10, 100, 1), tr(t0+20, 105, 1), tr(t0+3*m+5, 110, 2))
	// candle t0+m real, t0+2m and t0+3m flat at 105, t0+4m open
	if len(out) != 3 {
		t.Fatalf("got %d candles, want 3: %+v", len(out), out)
	}
	if out[0].Time != t0+m || out[0].Close != 105 || out[0].Trades != 2 {
		t.Fatalf("first candle wrong: %+v", out[0])
	}
	for i, c := range out[1:] {
		want := Candle{Exchange: "sim", Symbol: "BTCUSDT", Timeframe: TF1m, Time: t0 + int64(i+2)*m, Open: 105, High: 105, Low: 105, Close: 105}
		if c != want || !c.Flat() {
			t.Fatalf("flat candle %d\n got %+v\nwant %+v", i, c, want)
		}
	}
}

func TestTickClosesAfterGraceAndFillsFlats(t *testing.T) {
	m := TF1m.Millis()
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF1m}, 2*time.Second)
	addAll(a, tr(t0+1000, 100, 1))
	if out := a.Tick(t0+m+1999, nil); len(out) != 0 {
		t.Fatalf("closed inside grace: %+v", out)
	}
	// a straggler inside the grace window still counts
	if _, late := a.Add(tr(t0+m-1, 102, 1), nil); late {
		t.Fatal("trade within grace reported late")
	}
	out := a.Tick(t0+m+2000, nil)
	if len(out) != 1 || out[0].Time != t0+m || out[0].Close != 102 || out[0].Volume != 2 {
		t.Fatalf("tick at end+grace: %+v", out)
	}
	// three more minutes of silence → three flat candles, none for the minute still in grace
	out = a.Tick(t0+4*m+1999, nil)
	if len(out) != 2 || out[0].Time != t0+2*m || out[1].Time != t0+3*m || out[1].Close != 102 || out[1].Volume != 0 {
		t.Fatalf("flat candles from the clock: %+v", out)
	}
	// and a trade later continues without a hole or duplicate
	out = addAll(a, tr(t0+6*m+1, 90, 1))
	if len(out) != 3 || out[0].Time != t0+4*m || out[1].Time != t0+5*m || out[2].Time != t0+6*m {
		t.Fatalf("after silence: %+v", out)
	}
}

func TestLateTradeIsCountedAndNeverReopens(t *testing.T) {
	m := TF1m.Millis()
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF1m, TF5m}, 0)
	out := addAll(a, tr(t0+10, 100, 1), tr(t0+m+10, 101, 1))
	if len(out) != 1 {
		t.Fatalf("want the first 1m candle closed: %+v", out)
	}
	out, late := a.Add(tr(t0+20, 500, 7), nil) // belongs to the closed 1m candle
	if !late || len(out) != 0 || a.Late() != 1 {
		t.Fatalf("late trade: late=%v out=%+v count=%d", late, out, a.Late())
	}
	// not applied to the still-open 5m candle either: timeframes stay consistent
	c5, _ := a.Open(TF5m)
	if c5.High != 101 || c5.Volume != 2 {
		t.Fatalf("late trade leaked into 5m candle: %+v", c5)
	}
	c1, _ := a.Open(TF1m)
	if c1.Time != t0+2*m || c1.Volume != 1 {
		t.Fatalf("open 1m candle changed: %+v", c1)
	}
}

func TestOutOfOrderInsideOpenCandleKeepsTimeOrder(t *testing.T) {
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF1m}, 0)
	addAll(a, tr(t0+500, 100, 1), tr(t0+100, 90, 1), tr(t0+900, 110, 1), tr(t0+800, 95, 1))
	c, _ := a.Open(TF1m)
	if c.Open != 90 || c.Close != 110 || c.High != 110 || c.Low != 90 || c.Trades != 4 {
		t.Fatalf("got %+v, want open 90 (earliest) close 110 (latest)", c)
	}
}

// randomTrades makes an ordered stream with bursts and silences across many boundaries.
func randomTrades(seed uint64, n int) []Trade {
	r := rand.New(rand.NewPCG(seed, 1))
	ts := make([]Trade, n)
	t := t0
	p := 100.0
	for i := range ts {
		switch r.IntN(20) {
		case 0:
			t += int64(r.IntN(20 * 60 * 1000)) // silence of up to 20 minutes
		case 1:
			t += 0 // same millisecond
		default:
			t += int64(r.IntN(3000))
		}
		if r.IntN(10) == 0 { // land exactly on a boundary now and then
			t = TF1m.Floor(t) + TF1m.Millis()
		}
		p *= 1 + (r.Float64()-0.5)/500
		ts[i] = Trade{Exchange: "sim", Symbol: "BTCUSDT", ID: fmt.Sprint(i), Time: t, Price: p, Size: r.Float64() * 3}
	}
	return ts
}

func TestAggregatorMatchesNaiveRecomputeEveryTimeframe(t *testing.T) {
	trades := randomTrades(7, 6000)
	a := NewAggregator("sim", "BTCUSDT", Timeframes, 0)
	var got []Candle
	for _, x := range trades {
		var late bool
		got, late = a.Add(x, got)
		if late {
			t.Fatal("ordered stream produced a late trade")
		}
	}
	got = a.OpenCandles(got) // include the last, still-open candle of each timeframe
	byTF := map[Timeframe][]Candle{}
	for _, c := range got {
		byTF[c.Timeframe] = append(byTF[c.Timeframe], c)
	}
	for _, tf := range Timeframes {
		want := CandlesFromTrades(tf, trades)
		g := byTF[tf]
		if len(g) != len(want) {
			t.Fatalf("%v: %d candles, reference has %d", tf, len(g), len(want))
		}
		for i := range want {
			if !candlesClose(g[i], want[i]) {
				t.Fatalf("%v candle %d\n got %+v\nwant %+v", tf, i, g[i], want[i])
			}
		}
	}
}

func candlesClose(a, b Candle) bool {
	const eps = 1e-9
	near := func(x, y float64) bool { d := x - y; return d < eps*(1+abs(y)) && -d < eps*(1+abs(y)) }
	return a.Time == b.Time && a.Timeframe == b.Timeframe && a.Trades == b.Trades && a.Symbol == b.Symbol &&
		near(a.Open, b.Open) && near(a.High, b.High) && near(a.Low, b.Low) && near(a.Close, b.Close) && near(a.Volume, b.Volume)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestAddCandleBuildsHigherTimeframesFromHistory(t *testing.T) {
	trades := randomTrades(11, 5000)
	// 1m candles of the stream, as history would hold them
	ones := CandlesFromTrades(TF1m, trades)
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF5s, TF1m, TF5m, TF1h}, 0)
	var got []Candle
	for _, c := range ones {
		var late bool
		if got, late = a.AddCandle(c, got); late {
			t.Fatalf("history candle %d reported late", c.Time)
		}
	}
	got = a.OpenCandles(got)
	for _, tf := range []Timeframe{TF1m, TF5m, TF1h} {
		want := CandlesFromTrades(tf, trades)
		var g []Candle
		for _, c := range got {
			if c.Timeframe == tf {
				g = append(g, c)
			}
		}
		if len(g) != len(want) {
			t.Fatalf("%v: %d candles from history, want %d", tf, len(g), len(want))
		}
		for i := range want {
			// a bucket may end with a flat minute: then the reference's close equals that minute's close anyway
			if !candlesClose(g[i], want[i]) {
				t.Fatalf("%v candle %d\n got %+v\nwant %+v", tf, i, g[i], want[i])
			}
		}
	}
	if _, ok := a.Open(TF5s); ok {
		t.Fatal("5s timeframe must not be built from 1m history")
	}
	// live trades continue the series: a trade older than the history is late
	if _, late := a.Add(tr(trades[0].Time, 1, 1), nil); !late {
		t.Fatal("trade inside history not late")
	}
}

func TestAggregatorIgnoresDuplicateAndInvalidTimeframes(t *testing.T) {
	a := NewAggregator("sim", "X", []Timeframe{TF5m, TF1m, TF5m, Timeframe(7)}, 0)
	got := a.Timeframes()
	if len(got) != 2 || got[0] != TF1m || got[1] != TF5m {
		t.Fatalf("timeframes %v", got)
	}
}

func BenchmarkAggregate4Timeframes(b *testing.B) {
	trades := make([]Trade, 1<<16)
	t := t0
	for i := range trades {
		t += int64(50 + i%200) // ~8 trades/s, crosses 1m boundaries regularly
		trades[i] = Trade{Exchange: "sim", Symbol: "BTCUSDT", Time: t, Price: 100 + float64(i%97), Size: 0.5}
	}
	span := t - t0 + 1000
	a := NewAggregator("sim", "BTCUSDT", []Timeframe{TF1m, TF5m, TF15m, TF1h}, 0)
	out := make([]Candle, 0, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := trades[i&(len(trades)-1)]
		x.Time += int64(i>>16) * span
		out, _ = a.Add(x, out[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mtrades/s")
}
