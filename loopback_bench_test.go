package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// BenchmarkLoopbackStream is the sustained-load figure: a fake venue on loopback streams
// 50,000 messages/s (book deltas and trades of two symbols, in its wire format) for
// TC_LOOPBACK_SECONDS (default 10; the README figure is 60) through the real adapter, engine,
// bus and SQLite writer. It reports the rate reached, the latency from the fake's write of a
// trade to the engine's bus delivering it (which bounds decode-to-bus from above: it adds the
// loopback hop), and what was lost (must be 0). Run with -benchtime 1x:
//
//	TC_LOOPBACK_SECONDS=60 go test -run x -bench LoopbackStream -benchtime 1x .
func BenchmarkLoopbackStream(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("TC_LOOPBACK_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	const rate = 50_000
	for _, v := range fakeVenues {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				loopbackRun(b, v, rate, secs)
			}
		})
	}
}

func loopbackRun(b *testing.B, v fakeVenue, rate, secs int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+2*time.Minute)
	defer cancel()
	// A 20 s script looped: 2 symbols × (350 deltas + 150 trades)/s = 1,000 events per
	// script second; played at 50,000/s wall.
	const scriptSecs = 20
	script := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: v.name, Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"},
		Duration: scriptSecs * time.Second, TradesPerSec: 150, BooksPerSec: 350, Seed: 5})
	perPass := len(script.Events)
	loops := max(1, rate*secs/perPass)
	opt := fakevenue.PlayerOptions{Rate: float64(rate), Loops: loops}
	if v.sums {
		opt.Checksum = fakevenue.OKXChecksum
	}
	p := fakevenue.NewPlayer(script, opt)
	feed, srv := v.start(b, p, script.Config.Symbols)
	defer srv.Close()

	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	var sentTrades, sentBooks int
	srv.Sent = func(o fakevenue.Out, at time.Time) {
		mu.Lock()
		switch o.Kind {
		case fakevenue.OutTrade:
			sentAt[strconv.FormatInt(o.Trade.ID, 10)] = at
			sentTrades++
		case fakevenue.OutBook, fakevenue.OutSnapshot:
			sentBooks++
		}
		mu.Unlock()
	}
	dir := b.TempDir()
	db, err := storage.Open(filepath.Join(dir, "l.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(context.Background())
	eng := engine.New(feed, db, engine.Options{Timeframes: []market.Timeframe{market.TF1m, market.TF5m}, BusBuffer: 1 << 18,
		OrderFlow: engine.OrderFlowOptions{Interval: 100 * time.Millisecond}})
	events := eng.Subscribe(ctx)
	lat := make([]time.Duration, 0, rate*secs)
	var got int
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for ev := range events {
			te, ok := ev.(engine.TradeEvent)
			if !ok {
				continue
			}
			now := time.Now()
			mu.Lock()
			at, ok := sentAt[te.Trade.ID]
			delete(sentAt, te.Trade.ID)
			mu.Unlock()
			if ok {
				lat = append(lat, now.Sub(at))
				got++
			}
		}
	}()
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	began := time.Now()
	if err := p.Run(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	// Everything sent must reach the engine: the book counter and the trades stored.
	deadline := time.Now().Add(30 * time.Second)
	var books, trades int64
	var wantB, wantT int
	for {
		books, trades = 0, 0
		for _, h := range eng.Health() {
			switch h.Channel {
			case market.ChannelBook:
				books += h.Messages
			case market.ChannelTrades:
				trades += h.Messages
			}
		}
		mu.Lock()
		wantB, wantT = sentBooks, sentTrades
		mu.Unlock()
		if books >= int64(wantB) && trades >= int64(wantT) {
			break
		}
		if time.Now().After(deadline) {
			b.Logf("after 30 s the engine has %d of %d book messages and %d of %d trades", books, wantB, trades, wantT)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, h := range eng.Health() {
		if h.Reconnects+h.Gaps+h.Resyncs+h.Malformed+h.Checksums > 0 {
			b.Logf("%s %s %s: %d reconnects, %d gaps, %d resyncs, %d malformed, %d checksum failures (%s)", h.Exchange, h.Symbol, h.Channel,
				h.Reconnects, h.Gaps, h.Resyncs, h.Malformed, h.Checksums, h.Detail)
		}
	}
	if err := eng.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	<-recvDone
	var stored int64
	for _, sym := range script.Config.Symbols {
		n, err := db.CountTrades(context.Background(), v.name, sym)
		if err != nil {
			b.Fatal(err)
		}
		stored += n
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(f float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds())
	}
	total := sentTrades + sentBooks
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(1), "max-µs")
	b.ReportMetric(float64(sentTrades-got), "trades-lost-on-bus")
	b.ReportMetric(float64(int64(wantB)-books), "books-lost")
	b.ReportMetric(float64(int64(sentTrades)-stored), "trades-not-stored")
	b.Logf("%s: %d messages in %s (%d trades, %d book messages); stored %d trades", v.name, total, elapsed.Round(time.Millisecond), sentTrades, sentBooks, stored)
}
