package storage

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

// writeBenchOrderflow writes a generated order-flow file like internal/tools/genorderflow
// does: n snapshots of `levels` JSON levels per side, ms timestamps 100 ms to 1 s apart, and
// tradesPer trades before each snapshot.
func writeBenchOrderflow(tb testing.TB, path string, n, levels, tradesPer int) {
	tb.Helper()
	db := openSQL(tb, path, "journal_mode(OFF)", "synchronous(OFF)")
	ctx := context.Background()
	if err := CreateOrderflowInput(ctx, db); err != nil {
		tb.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	const per = 100
	bookIns, err := tx.Prepare(multiRowInsert("book", "instrument, bids, asks, timestamp", 4, per))
	if err != nil {
		tb.Fatal(err)
	}
	tradeIns, err := tx.Prepare(multiRowInsert("trades", "instrument, trade_id, price, size, side, timestamp", 6, 1))
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	mid, ts, tid := 50_000.0, int64(1_704_067_200_000), 0
	var args []any
	side := func(dir float64) string {
		var b []byte
		b = append(b, '[')
		px := math.Round((mid+dir*0.05)*10) / 10
		for i := range levels {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '[')
			b = strconv.AppendFloat(b, px, 'f', 1, 64)
			b = append(b, ", "...)
			b = strconv.AppendFloat(b, math.Round((0.001+rng.ExpFloat64()*1.5)*1000)/1000, 'f', -1, 64)
			b = append(b, ']')
			px = math.Round((px+dir*0.1*float64(1+rng.IntN(3)))*10) / 10
		}
		return string(append(b, ']'))
	}
	for i := range n {
		for k := range tradesPer {
			tid++
			s := "buy"
			if rng.IntN(2) == 0 {
				s = "sell"
			}
			if _, err := tradeIns.Exec("BTC-USDT", strconv.Itoa(tid), mid, 0.01*float64(1+rng.IntN(100)), s, ts-int64(100*(tradesPer-k))/int64(tradesPer+1)); err != nil {
				tb.Fatal(err)
			}
		}
		mid += rng.NormFloat64() * 2
		args = append(args, "BTC-USDT", side(-1), side(1), ts)
		ts += 100 + int64(rng.IntN(901))
		if (i+1)%per == 0 {
			if _, err := bookIns.Exec(args...); err != nil {
				tb.Fatal(err)
			}
			args = args[:0]
		}
	}
	for i := 0; i < len(args); i += 4 {
		if _, err := tx.Exec("INSERT INTO book(instrument, bids, asks, timestamp) VALUES (?,?,?,?)", args[i:i+4]...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOrderflow measures RunOrderflow end to end on a file of 100,000 20-level snapshots
// with 2 trades each (see scripts/orderflow-bench.sh for the 1M and 10M figures).
func BenchmarkOrderflow(b *testing.B) {
	n := 100_000
	if raceEnabled {
		n = 2_000
	}
	path := filepath.Join(b.TempDir(), "bench.db")
	writeBenchOrderflow(b, path, n, 20, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sum, err := RunOrderflow(context.Background(), path, OrderflowOptions{Depth: 20})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Snapshots != int64(n) {
			b.Fatalf("snapshots %d", sum.Snapshots)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "snapshots/s")
}

// BenchmarkOrderflowReader reads every record of the same file through OrderflowReader
// (its order check of both tables included).
func BenchmarkOrderflowReader(b *testing.B) {
	n := 100_000
	if raceEnabled {
		n = 2_000
	}
	path := filepath.Join(b.TempDir(), "bench.db")
	writeBenchOrderflow(b, path, n, 20, 2)
	f, err := OpenOrderflow(path, OrderflowOpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := f.Records(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		var rec market.FlowRecord
		books := 0
		for {
			if err := r.Next(&rec); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			if rec.IsBook {
				books++
			}
		}
		r.Close()
		if books != n {
			b.Fatalf("snapshots %d", books)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "snapshots/s")
}

func BenchmarkParseLevels(b *testing.B) {
	var j, p strings.Builder
	j.WriteByte('[')
	p.WriteByte('[')
	for i := range 20 {
		if i > 0 {
			j.WriteString(", ")
			p.WriteString(", ")
		}
		price := strconv.FormatFloat(50000.1-float64(i)*0.3, 'f', 1, 64)
		size := strconv.FormatFloat(0.001+float64(i%7)*0.731, 'f', 3, 64)
		j.WriteString("[" + price + ", " + size + "]")
		p.WriteString("(" + price + ", " + size + ", 0, " + strconv.Itoa(1+i%5) + ")")
	}
	j.WriteByte(']')
	p.WriteByte(']')
	for _, c := range []struct{ name, text string }{{"json20", j.String()}, {"python20", p.String()}} {
		b.Run(c.name, func(b *testing.B) {
			text := []byte(c.text)
			buf := make([]market.Level, 0, 32)
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for range b.N {
				var err error
				if buf, err = ParseLevels(text, buf); err != nil || len(buf) != 20 {
					b.Fatal(err, len(buf))
				}
			}
			b.ReportMetric(float64(20*b.N)/b.Elapsed().Seconds(), "levels/s")
		})
	}
}

func BenchmarkParseTimestamp(b *testing.B) {
	for _, c := range []struct {
		name string
		v    any
	}{{"ms", int64(1704067200123)}, {"iso", "2024-01-01T00:00:00.123456Z"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := ParseTimestamp(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
