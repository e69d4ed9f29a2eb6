package binance

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
)

// syncedUnit is a session whose BTCUSDT book is synced at id 100: bids 99.9…99.0, asks
// 100.1…101.0 (0.1 apart, sizes 1…10).
func syncedUnit(t testing.TB) *unit {
	u := newUnit(t)
	var bids, asks [][2]float64
	for i := 1; i <= 10; i++ {
		bids = append(bids, [2]float64{100 - 0.1*float64(i), float64(i)})
		asks = append(asks, [2]float64{100 + 0.1*float64(i), float64(i)})
	}
	u.s.mu.Lock()
	st := u.s.bySym["BTCUSDT"]
	if !u.s.load(st, snap(100, bids, asks)) {
		u.s.mu.Unlock()
		t.Fatal("snapshot not loaded")
	}
	u.s.mu.Unlock()
	return u
}

// FuzzBinanceFrame feeds arbitrary frames (one per line) to the session's frame handler over
// a synced book: it must not panic, the feed's book is never crossed and holds only positive
// prices and sizes, and while the engine holds the book it equals the feed's.
func FuzzBinanceFrame(f *testing.F) {
	seeds := []string{
		depthFrame("BTCUSDT", 101, 101, [][2]string{{"99.95", "3"}}, [][2]string{{"100.10000000", "0.00000000"}}),
		depthFrame("BTCUSDT", 101, 102, [][2]string{{"100.2", "1"}}, nil) + "\n" + depthFrame("BTCUSDT", 103, 103, nil, [][2]string{{"100.05", "2"}}),
		depthFrame("BTCUSDT", 105, 106, [][2]string{{"99.0", "0"}}, nil),
		depthFrame("BTCUSDT", 90, 100, [][2]string{{"99.0", "5"}}, nil),
		`{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT","U":101,"u":101,"b":[["99.91","10"]],"a":[["100.2","100"]]}`,
		`{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}`,
		`{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"BTCUSDT","i":"1m","o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":true}}}`,
		`{"result":null,"id":1}`,
		`{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}`,
		`{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":101,"u":101,"b":[["1e308","1e308"]],"a":[["-0","1"]]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"U":101,"u":101,"b":[["99.95",1]],"a":[[100.1,"Infinity"]]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"U":9223372036854775807,"u":9223372036854775807,"b":[],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":101,"u":101,"b":[["99.95","3"]],"a":[`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(venuetest.FixtureDir + "binance_spot_nknusdt_snapshot_then_diffs_2021.txt"); err == nil {
		var lines []string
		for _, l := range strings.Split(string(b), "\n")[2:] {
			if i := strings.Index(l, ": {"); i >= 0 {
				lines = append(lines, strings.ReplaceAll(l[i+2:], "nknusdt", "btcusdt"))
			}
		}
		f.Add([]byte(strings.Join(lines, "\n")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u := syncedUnit(t)
		for _, frame := range bytes.Split(data, []byte("\n")) {
			_ = u.s.handle(frame)
		}
		u.s.mu.Lock()
		st := u.s.bySym["BTCUSDT"]
		bids, asks := venuetest.Levels(st.book)
		synced, crossed := st.synced, st.book.Crossed()
		u.s.mu.Unlock()
		if crossed {
			t.Fatalf("crossed: %v / %v", bids[:1], asks[:1])
		}
		for _, l := range append(bids, asks...) {
			if !(l.Price > 0) || !(l.Size > 0) {
				t.Fatalf("bad level %+v", l)
			}
		}
		u.sink.Lock()
		defer u.sink.Unlock()
		if len(u.sink.Violations) > 0 {
			t.Fatal(u.sink.Violations)
		}
		if synced && u.sink.Books["BTCUSDT"] != nil {
			eb, ea := venuetest.Levels(u.sink.Books["BTCUSDT"])
			if fmt.Sprint(eb, ea) != fmt.Sprint(bids, asks) {
				t.Fatalf("engine book %v / %v, feed book %v / %v", eb, ea, bids, asks)
			}
		}
	})
}
