package bybit

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// FuzzBybitFrame feeds arbitrary frames to the session's handler on a live book: it must not
// panic, and the book must never be crossed or hold a level with a non-positive price or
// size; the sink must never see a crossed book or a delta for a dropped one.
func FuzzBybitFrame(f *testing.F) {
	if fh, err := os.Open(venuetest.FixtureDir + "bybit_gct_spot_ob50_snapshot_delta_trade.jsonl"); err == nil {
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.Add([]byte(sc.Text()))
		}
		fh.Close()
	}
	for _, s := range []string{
		bookFrame("delta", 11, `["100.45","2"],["100.4","0"]`, `["100.7","1"]`),
		bookFrame("delta", 11, `["100.7","2"]`, ``),
		bookFrame("delta", 12, `["100.3","2"]`, ``),
		bookFrame("delta", 1, `["100.3","2"]`, `["100.2","1"]`),
		bookFrame("snapshot", 40, `["101","1"],["100","2"]`, `["102","1"]`),
		bookFrame("snapshot", 40, `["101","1"]`, `["100.5","1"]`),
		`{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950","BT":false,"seq":1783284617}]}`,
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"end":1672324859999,"interval":"1","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":true,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}`,
		`{"success":true,"ret_msg":"pong","conn_id":"0970e817","op":"ping"}`,
		`{"success":false,"ret_msg":"error:handler not found,topic:publicTrade.BTCUSDT","conn_id":"x","req_id":"","op":"subscribe"}`,
		`{"success":true,"ret_msg":"","conn_id":"x","req_id":"uns-4","op":"unsubscribe"}`,
		`{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"b":[["1e308","1e308"]],"u":11}}`,
		`{"topic":`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, bookFrame("snapshot", 10, `["100.5","1"],["100.4","2"],["100.1","3"]`, `["100.6","4"],["100.9","5"]`))
		for range 2 { // twice: the first may change the state the second meets
			_ = s.handle(fc, data)
			for _, b := range s.books {
				if b.book.Crossed() {
					t.Fatalf("crossed book after %q", data)
				}
				for _, l := range append(b.book.Bids(0, nil), b.book.Asks(0, nil)...) {
					if !(l.Price > 0) || !(l.Size > 0) {
						t.Fatalf("level %+v after %q", l, data)
					}
				}
			}
		}
		sink.Check(t)
	})
}

// benchFrames makes a 50-level spot snapshot (u 1000) and n deltas of about 5 levels each
// around it, contiguous from u 1001, that never cross.
func benchFrames(n int) (snapshot []byte, deltas [][]byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	px := func(k int) string { return strconv.FormatFloat(60000+float64(k)/10, 'f', 1, 64) } // k<0 bids, k>0 asks
	sz := func() string { return strconv.FormatFloat(0.0001+rng.Float64()*3, 'f', 6, 64) }
	var bids, asks []string
	for k := 1; k <= 50; k++ {
		bids = append(bids, fmt.Sprintf(`[%q,%q]`, px(-k), sz()))
		asks = append(asks, fmt.Sprintf(`[%q,%q]`, px(k), sz()))
	}
	snapshot = fmt.Appendf(nil, `{"topic":"orderbook.50.BTCUSDT","ts":1731035685326,"type":"snapshot","data":{"s":"BTCUSDT","b":[%s],"a":[%s],"u":1000,"seq":47474967800},"cts":1731035685324}`,
		strings.Join(bids, ","), strings.Join(asks, ","))
	for i := range n {
		var b, a []string
		for range 5 {
			k := 1 + rng.IntN(20)
			size := sz()
			if rng.IntN(6) == 0 {
				size = "0"
			}
			if rng.IntN(2) == 0 {
				b = append(b, fmt.Sprintf(`[%q,%q]`, px(-k), size))
			} else {
				a = append(a, fmt.Sprintf(`[%q,%q]`, px(k), size))
			}
		}
		deltas = append(deltas, fmt.Appendf(nil, `{"topic":"orderbook.50.BTCUSDT","ts":%d,"type":"delta","data":{"s":"BTCUSDT","b":[%s],"a":[%s],"u":%d,"seq":%d},"cts":%d}`,
			1731035685345+i, strings.Join(b, ","), strings.Join(a, ","), 1001+i, 47474967823+i, 1731035685342+i))
	}
	return snapshot, deltas
}

// BenchmarkBybitDecodeApply decodes and applies book deltas (about 5 levels each) through the
// handler Run uses, with the feed's own book and an emitted BookUpdate per message.
func BenchmarkBybitDecodeApply(b *testing.B) {
	f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
	if err != nil {
		b.Fatal(err)
	}
	s := newSession(f, venue.NewEmitter(Name, venuetest.Discard{}, nil, nil), f.cfg.Symbols)
	fc := &fakeConn{}
	_ = s.open(fc)
	s.activate()
	snap, deltas := benchFrames(4096)
	if err := s.handle(fc, snap); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(deltas)
		if j == 0 && i > 0 {
			_ = s.handle(fc, snap) // start over: the ids wrap
		}
		if err := s.handle(fc, deltas[j]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if s.books[0].lastU < 1001 || len(fc.sent) != 3 {
		b.Fatalf("deltas not applied in order: lastU %d, %d frames sent", s.books[0].lastU, len(fc.sent))
	}
}
