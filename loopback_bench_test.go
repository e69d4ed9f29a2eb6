package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
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
// bus and SQLite writer. It reports:
//
//   - frame-*: decode-to-bus, the feed's own FrameLatency: from the moment a frame is read off
//     the socket to the moment its handling returned — parse, book, engine, storage enqueue and
//     the bus publish all run on the reader goroutine, so every event of the frame is on the bus;
//   - wire-*: from the fake's encode of a trade, before its write, to the bench's bus subscriber
//     receiving the TradeEvent: an upper bound that adds the fake's write, the loopback hop and
//     the subscriber's own scheduling, all on the same cores;
//   - what was lost (all must be 0): trades not on the bus or not stored, books that differ from
//     the venue's at the end, reconnects, gaps, resyncs, malformed frames.
//
// Run with -benchtime 1x:
//
//	TC_LOOPBACK_SECONDS=60 go test -run '^$' -bench LoopbackStream -benchtime 1x .
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
	// A 2 min script looped: 2 symbols × (350 deltas + 150 trades)/s = 1,000 events per
	// script second (and a kline per symbol per minute, as the venues push them); played at
	// 50,000/s wall, so 50 script seconds pass per second.
	const scriptSecs = 120
	script := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: v.name, Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"},
		Duration: scriptSecs * time.Second, TradesPerSec: 150, BooksPerSec: 350, Seed: 5})
	perPass := len(script.Events)
	loops := max(1, (rate*secs+perPass-1)/perPass) // at least secs of traffic
	opt := fakevenue.PlayerOptions{Rate: float64(rate), Loops: loops}
	if v.sums {
		opt.Checksum = fakevenue.OKXChecksum
	}
	p := fakevenue.NewPlayer(script, opt)
	feed, srv := v.start(b, p, script.Config.Symbols)
	defer srv.Close()

	// The fake's write time of every trade, by symbol and id (ids are dense per symbol: the
	// script numbers them from 5,000,000·(i+1)+1 and each loop shifts them by a pass's count),
	// so neither side takes a lock per message.
	sentAt := map[market.Symbol][]atomic.Int64{}
	base := map[market.Symbol]int64{}
	for i, sym := range script.Config.Symbols {
		n := 0
		for _, ev := range script.Events {
			if ev.Trade != nil && ev.Trade.Symbol == sym {
				n++
			}
		}
		sentAt[sym] = make([]atomic.Int64, n*loops+1)
		base[sym] = 5_000_000 * int64(i+1)
	}
	var sentTrades, sentBooks atomic.Int64
	srv.Sent = func(o fakevenue.Out, at time.Time) {
		switch o.Kind {
		case fakevenue.OutTrade:
			if k := o.Trade.ID - base[o.Trade.Symbol]; k >= 0 && k < int64(len(sentAt[o.Trade.Symbol])) {
				sentAt[o.Trade.Symbol][k].Store(at.UnixNano())
			}
			sentTrades.Add(1)
		case fakevenue.OutBook, fakevenue.OutSnapshot:
			sentBooks.Add(1)
		}
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
			now := time.Now().UnixNano()
			id, err := strconv.ParseInt(te.Trade.ID, 10, 64)
			slots := sentAt[te.Trade.Symbol]
			if k := id - base[te.Trade.Symbol]; err == nil && k >= 0 && k < int64(len(slots)) {
				if at := slots[k].Swap(0); at != 0 {
					lat = append(lat, time.Duration(now-at))
					got++
				}
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
	// Everything sent must reach the engine: every trade, and every book ends equal to the
	// venue's (a Binance diff that a depth snapshot covers is rightly never applied, so book
	// messages are not counted one by one). The stream is silent once the script ends: this
	// must hold well before the 5 s watchdog recycles it.
	deadline := time.Now().Add(4 * time.Second)
	var books, trades int64
	var wantB, wantT int
	mismatched := 0
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
		wantB, wantT = int(sentBooks.Load()), int(sentTrades.Load())
		mismatched = 0
		for _, sym := range script.Config.Symbols {
			vb, _ := p.Book(sym)
			bids, asks := eng.BookLevels(sym, 10)
			if !sameLevels(bids, vb.Bids(10)) || !sameLevels(asks, vb.Asks(10)) {
				mismatched++
			}
		}
		if trades >= int64(wantT) && mismatched == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Logf("4 s after the script the engine has %d of %d trades and %d books differ from the venue's", trades, wantT, mismatched)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var faults int64
	for _, l := range eng.Logs(1000) {
		if l.Level >= slog.LevelWarn {
			b.Logf("log: %s %s %s", l.Time.Format("15:04:05.000"), l.Message, l.Attrs)
		}
	}
	for _, h := range eng.Health() {
		if n := h.Reconnects + h.Gaps + h.Resyncs + h.Malformed + h.Checksums; n > 0 {
			faults += n
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
	slices.Sort(lat)
	q := func(f float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds())
	}
	total := wantT + wantB
	fl := feed.FrameLatency()
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(us(fl.Quantile(0.50)), "frame-p50-µs")
	b.ReportMetric(us(fl.Quantile(0.99)), "frame-p99-µs")
	b.ReportMetric(us(fl.Quantile(0.999)), "frame-p999-µs")
	b.ReportMetric(us(fl.Max), "frame-max-µs")
	b.ReportMetric(q(0.50), "wire-p50-µs")
	b.ReportMetric(q(0.99), "wire-p99-µs")
	b.ReportMetric(q(1), "wire-max-µs")
	b.ReportMetric(float64(wantT-got), "trades-lost-on-bus")
	b.ReportMetric(float64(mismatched), "books-unequal")
	b.ReportMetric(float64(faults), "stream-faults")
	b.ReportMetric(float64(int64(wantT)-stored), "trades-not-stored")
	b.Logf("%s: %d messages in %s (%d trades, %d book messages); stored %d trades; %d book messages applied; %d frames read→handled: mean %s, p50 %s, p99 %s, p99.9 %s, max %s",
		v.name, total, elapsed.Round(time.Millisecond), wantT, wantB, stored, books, fl.N, fl.Mean(), fl.Quantile(0.5), fl.Quantile(0.99), fl.Quantile(0.999), fl.Max)
}
