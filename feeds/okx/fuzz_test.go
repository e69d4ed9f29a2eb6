package okx

import (
	"encoding/json"
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

// checkBook asserts the invariants no frame may break: sides strictly ordered, positive
// prices and sizes, not crossed.
func checkBook(t testing.TB, b *book) {
	t.Helper()
	for i := range b.bids {
		if b.bids[i].px <= 0 || b.bids[i].sz <= 0 || (i > 0 && b.bids[i-1].px >= b.bids[i].px) {
			t.Fatalf("bad bid side at %d: %s", i, dump(b))
		}
	}
	for i := range b.asks {
		if b.asks[i].px <= 0 || b.asks[i].sz <= 0 || (i > 0 && b.asks[i-1].px <= b.asks[i].px) {
			t.Fatalf("bad ask side at %d: %s", i, dump(b))
		}
	}
	if b.crossed() {
		t.Fatalf("crossed: %s", dump(b))
	}
}

func fixtureFrames() []string {
	b, err := os.ReadFile(venuetest.FixtureDir + "okx_checksum_vector_btc_usdt_2022.json")
	if err != nil {
		return nil
	}
	var fx fixture
	if json.Unmarshal(b, &fx) != nil {
		return nil
	}
	var out []string
	for _, m := range fx.Messages {
		out = append(out, m.Raw)
	}
	return out
}

func FuzzOKXFrame(f *testing.F) {
	seeds := []string{docSnapshot, docUpdate, docIdle, docTrade, trade2022, docBooks5,
		`{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026360000","8533.02","8553.74","8527.17","8548.26","45247","529.5","5529.5","1"]]}`,
		`{"event":"error","msg":"Subscribe failed","code":"60018","connId":"b2b0944b"}`,
		`{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`,
		`{"id":"1","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a"}`,
		booksFrame("update", 123456, 123457, 0, []string{"8476.99:1"}, []string{"8476.98:0"}),
		booksFrame("update", 123456, 3, 0, []string{"8477:1"}, nil),
		"pong", "", "{", `{"arg":{}}`, `[]`,
		`{"arg":{"channel":"trades","instId":"BTC-USDT"}}`, `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update"}`}
	seeds = append(seeds, fixtureFrames()...)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	start := docSnapshot
	if fx := fixtureFrames(); len(fx) > 0 {
		start = fx[0] // a real 400-level book
	}
	// The synced state every input starts from, built once: a fresh session per input gets a
	// copy of it (cheap), so the fuzzer runs many inputs a second.
	base := newTestSession(f, Config{}, socketPublic)
	base.feed(start)
	cfg := base.f
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []socketKind{socketPublic, socketBusiness} {
			sink := newSink()
			rs := newRunState(cfg, sink)
			rs.dedupe = venue.NewDedupe(64)
			s := newSession(rs, kind, cfg.cfg.Symbols)
			l := &fakeLink{active: true}
			s.active, s.ready = true, true
			if kind == socketPublic {
				bs, from := s.books["BTC-USDT"], base.book("BTC-USDT")
				*bs = *from
				bs.b.bids = append([]wlevel(nil), from.b.bids...)
				bs.b.asks = append([]wlevel(nil), from.b.asks...)
			}
			for range 2 { // twice: a frame applied on top of itself
				_ = s.handle(l, data) // an error (a rejection) is a valid answer
				if bs := s.books["BTC-USDT"]; bs != nil {
					checkBook(t, &bs.b)
				}
			}
			if sink.Crossed != 0 {
				t.Fatal("a crossed book reached the sink")
			}
		}
	})
}

// benchFrames makes a books snapshot of depth levels a side around 60000 and n chained
// update frames of about 5 levels each (sizes changed, now and then a level deleted or
// added, never crossing). With sums, each frame carries the checksum of the book after it.
func benchFrames(depth, n int, sums bool) (snapshot []byte, updates [][]byte) {
	rng := rand.New(rand.NewPCG(7, 9))
	var b book
	px := func(k int, bid bool) string { // k ticks from mid 60000.0, tick 0.1
		if bid {
			return strconv.FormatFloat(60000-0.1*float64(k), 'f', 1, 64)
		}
		return strconv.FormatFloat(60000+0.1*float64(k), 'f', 1, 64)
	}
	sz := func() string { return strconv.FormatFloat(0.0001+rng.Float64()*3, 'f', 4, 64) }
	var bids, asks []string
	for k := 1; k <= depth; k++ {
		bids = append(bids, px(k, true)+":"+sz())
		asks = append(asks, px(k, false)+":"+sz())
	}
	b.load(levelsOf(bids...), levelsOf(asks...))
	seq := int64(1_000_000)
	sum := func() int32 {
		if !sums {
			return 0
		}
		s, _ := b.checksum(nil)
		return s
	}
	snapshot = []byte(booksFrame("snapshot", -1, seq, sum(), bids, asks))
	for range n {
		var ub, ua []string
		for range 5 {
			bid := rng.IntN(2) == 0
			k := 1 + rng.IntN(20)
			s := sz()
			if rng.IntN(10) == 0 {
				s = "0"
			}
			if bid {
				ub = append(ub, px(k, true)+":"+s)
			} else {
				ua = append(ua, px(k, false)+":"+s)
			}
		}
		b.apply(levelsOf(ub...), levelsOf(ua...))
		updates = append(updates, []byte(booksFrame("update", seq, seq+1, sum(), ub, ua)))
		seq++
	}
	return snapshot, updates
}

type discardSink struct{ books, trades int }

func (d *discardSink) OnTrade(market.Trade)        { d.trades++ }
func (d *discardSink) OnBook(market.BookUpdate)    { d.books++ }
func (d *discardSink) OnStream(market.StreamEvent) {}

// BenchmarkOKXDecodeApply decodes and applies books update frames (≈5 levels each) through
// Handle, the path Run uses: parse, sequence check, apply to the feed's book, crossed check,
// the delta handed to the sink. "checksum" also verifies the CRC32 on every message.
func BenchmarkOKXDecodeApply(b *testing.B) {
	for _, sums := range []bool{false, true} {
		name := "seq"
		if sums {
			name = "checksum"
		}
		b.Run(name, func(b *testing.B) {
			snap, ups := benchFrames(400, 4096, sums)
			f, err := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
			if err != nil {
				b.Fatal(err)
			}
			sink := &discardSink{}
			s := newSession(newRunState(f, sink), socketPublic, f.cfg.Symbols)
			l := &fakeLink{active: true}
			_ = s.open(l)
			s.activate(l)
			for _, req := range l.takeSent() {
				ack := fmt.Sprintf(`{"id":%q,"event":"subscribe","arg":{"channel":%q,"instId":"BTC-USDT"}}`,
					between(req, `"id":"`, `"`), between(req, `"channel":"`, `"`))
				_ = s.handle(l, []byte(ack))
			}
			if err := s.handle(l, snap); err != nil {
				b.Fatal(err)
			}
			bytes := 0
			for _, u := range ups {
				bytes += len(u)
			}
			b.SetBytes(int64(bytes / len(ups)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % len(ups)
				if j == 0 && i > 0 {
					_ = s.handle(l, snap) // back to the start of the chain
				}
				if err := s.handle(l, ups[j]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			bs := s.books["BTC-USDT"]
			if !bs.synced || sink.books < b.N {
				b.Fatalf("book fell out of sync (%d updates forwarded for %d frames): %s", sink.books, b.N,
					strings.TrimSpace(dump(&bs.b))[:80])
			}
		})
	}
}
