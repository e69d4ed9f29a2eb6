package bybit

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// bookFrame builds an orderbook.50.BTCUSDT message.
func bookFrame(typ string, u int64, bids, asks string) string {
	return fmt.Sprintf(`{"topic":"orderbook.50.BTCUSDT","type":%q,"ts":1700000000100,"data":{"s":"BTCUSDT","b":[%s],"a":[%s],"u":%d,"seq":99},"cts":1700000000099}`,
		typ, bids, asks, u)
}

func mustHandle(t *testing.T, s *session, fc *fakeConn, frame string) {
	t.Helper()
	if err := s.handle(fc, []byte(frame)); err != nil {
		t.Fatalf("handle %s: %v", frame, err)
	}
}

func ownBook(s *session, sym market.Symbol) *market.Book {
	for _, b := range s.books {
		if b.sym == sym {
			return b.book
		}
	}
	return nil
}

// TestFixtureSnapshotDeltaTrade applies the recorded spot snapshot (u 2876700), its delta
// (u 2876701) and the trade.
func TestFixtureSnapshotDeltaTrade(t *testing.T) {
	fx := venuetest.Fixture(t, "bybit_gct_spot_ob50_snapshot_delta_trade.jsonl")
	s, fc, sink := testSession(t, Config{})
	sc := bufio.NewScanner(strings.NewReader(fx))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		mustHandle(t, s, fc, sc.Text())
	}
	b := ownBook(s, "BTCUSDT")
	if nb, na := b.Len(); nb != 50 || na != 50 {
		t.Fatalf("levels %d/%d, want 50/50", nb, na)
	}
	if got, want := levels(b, true, 3), "75848.74:0.067669 75848.63:0.004772 75848.62:0.014895"; got != want {
		t.Errorf("bids %s, want %s", got, want)
	}
	if got, want := levels(b, false, 3), "75848.75:0.747137 75848.89:0.088149 75848.9:0.1"; got != want {
		t.Errorf("asks %s, want %s", got, want)
	}
	if b.Seq != 2876701 || s.books[0].lastU != 2876701 {
		t.Errorf("seq %d, lastU %d, want 2876701", b.Seq, s.books[0].lastU)
	}
	if strings.Contains(levels(b, true, 0), "75837.13:") || strings.Contains(levels(b, false, 0), "75852.65:") {
		t.Error("deleted levels are still in the book")
	}
	// The sink rebuilt the same book from the snapshot and the delta.
	if got := levels(sink.Books["BTCUSDT"], true, 0) + "|" + levels(sink.Books["BTCUSDT"], false, 0); got != levels(b, true, 0)+"|"+levels(b, false, 0) {
		t.Errorf("sink book differs:\n%s", got)
	}
	if len(sink.Trades) != 1 {
		t.Fatalf("trades %v", sink.Trades)
	}
	want := market.Trade{Exchange: "bybit", Symbol: "BTCUSDT", ID: "2200000000067341890", Time: 1690720953111, Price: 3.6279, Size: 1.3637, Side: market.Sell}
	if sink.Trades[0] != want {
		t.Errorf("trade %+v, want %+v", sink.Trades[0], want)
	}
	if n := sink.Count(market.StreamMalformed, venuetest.AnySymbol); n != 0 {
		t.Errorf("%d malformed", n)
	}
	sink.Check(t)
}

// TestProtocolExampleFrames runs the protocol notes' example frames through the handler.
func TestProtocolExampleFrames(t *testing.T) {
	s, fc, sink := testSession(t, Config{Category: "linear"})
	frames := []string{
		// linear trade (docs)
		`{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}`,
		// the same trade again (a re-sent message): forwarded once
		`{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}`,
		// snapshot (docs)
		`{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}`,
		// kline (docs values on the 1m topic): open, skipped
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"end":1672324859999,"interval":"1","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}`,
		// the same bar closed
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"end":1672324859999,"interval":"1","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":true,"timestamp":1672324859999}],"ts":1672324860001,"type":"snapshot"}`,
		// and pushed again: forwarded once
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"end":1672324859999,"interval":"1","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":true,"timestamp":1672324859999}],"ts":1672324860001,"type":"snapshot"}`,
		// pongs, spot and linear
		`{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}`,
		`{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}`,
		// unknown but valid
		`{"op":"auth","success":true}`, `{"topic":"tickers.BTCUSDT","type":"snapshot","data":{}}`, `{}`,
	}
	for _, f := range frames {
		mustHandle(t, s, fc, f)
	}
	wantTrade := market.Trade{Exchange: "bybit", Symbol: "BTCUSDT", ID: "20f43950-d8dd-5b31-9112-a178eb6023af", Time: 1672304486865, Price: 16578.5, Size: 0.001, Side: market.Buy}
	if len(sink.Trades) != 1 || sink.Trades[0] != wantTrade {
		t.Errorf("trades %+v, want one %+v", sink.Trades, wantTrade)
	}
	b := ownBook(s, "BTCUSDT")
	if got := levels(b, true, 0) + "|" + levels(b, false, 0); got != "16493.5:0.006 16493:0.1|16611:0.029 16612:0.213" {
		t.Errorf("book %s", got)
	}
	wantK := market.Candle{Exchange: "bybit", Symbol: "BTCUSDT", Timeframe: market.TF1m, Time: 1672324860000,
		Open: 16649.5, High: 16677, Low: 16608, Close: 16677, Volume: 2.081}
	if len(sink.Candles) != 1 || sink.Candles[0] != wantK {
		t.Errorf("candles %+v, want one %+v", sink.Candles, wantK)
	}
	if n := sink.Count(market.StreamMalformed, venuetest.AnySymbol); n != 0 {
		t.Errorf("%d malformed: %s", n, sink.EventLog())
	}
	if n := sink.Count(market.StreamSynced, venuetest.AnySymbol); n != 1 {
		t.Errorf("%d synced events, want 1", n)
	}
}

// TestAcksAndRejection: the linear ack shape (req_id "", ret_msg "") counts; a refused topic
// is a Fatal error naming the topic and the venue's message.
func TestAcksAndRejection(t *testing.T) {
	f, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT"}, Category: "linear"})
	sink := venuetest.New(Name)
	s := newSession(f, venue.NewEmitter(Name, sink, nil, nil), f.cfg.Symbols)
	fc := &fakeConn{}
	if err := s.open(fc); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"req_id":"sub-1","op":"subscribe","args":["publicTrade.BTCUSDT"]}`,
		`{"req_id":"sub-2","op":"subscribe","args":["orderbook.50.BTCUSDT"]}`,
		`{"req_id":"sub-3","op":"subscribe","args":["kline.1.BTCUSDT"]}`,
	}
	if strings.Join(fc.sent, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sent\n%s\nwant\n%s", strings.Join(fc.sent, "\n"), strings.Join(want, "\n"))
	}
	linearAck := `{"success":true,"ret_msg":"","conn_id":"3cd84cb1-4d06-4a05-930a-2efe5fc70f0f","req_id":"","op":"subscribe"}`
	mustHandle(t, s, fc, linearAck)
	mustHandle(t, s, fc, linearAck)
	if fc.ready != 0 {
		t.Fatal("ready before every ack")
	}
	rej := `{"success":false,"ret_msg":"error:handler not found,topic:kline.1.BTCUSDT","conn_id":"0970e817","req_id":"","op":"subscribe"}`
	err := s.handle(fc, []byte(rej))
	if !venue.IsFatal(err) || !strings.Contains(err.Error(), "kline.1.BTCUSDT") || !strings.Contains(err.Error(), "error:handler not found") {
		t.Fatalf("rejection: %v (fatal %v)", err, venue.IsFatal(err))
	}
	if fc.ready != 0 || sink.CountDetail(market.StreamError, "handler not found") != 1 {
		t.Fatalf("ready %d, events %s", fc.ready, sink.EventLog())
	}
	// A spot ack with ret_msg "subscribe" and the echoed req_id is just as good.
	s2, fc2, _ := testSession(t, Config{})
	if fc2.ready != 1 || !s2.ready {
		t.Fatal("spot acks did not make the session ready")
	}
}

// TestBookSyncRules pins each step of the sync procedure with exact book contents.
func TestBookSyncRules(t *testing.T) {
	both := func(s *session) string {
		b := ownBook(s, "BTCUSDT")
		return levels(b, true, 0) + "|" + levels(b, false, 0)
	}
	sinkBook := func(sink *venuetest.Sink) string {
		b := sink.Books["BTCUSDT"]
		if b == nil {
			return "dropped"
		}
		return levels(b, true, 0) + "|" + levels(b, false, 0)
	}
	snap := bookFrame("snapshot", 10, `["100.5","1"],["100.4","2"],["100.1","3"]`, `["100.6","4"],["100.9","5"]`)

	t.Run("delta before the first snapshot is dropped", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, bookFrame("delta", 9, `["100.3","7"]`, ``))
		if got := both(s); got != "|" || len(sink.Updates) != 0 {
			t.Fatalf("book %q, %d updates", got, len(sink.Updates))
		}
		mustHandle(t, s, fc, snap)
		mustHandle(t, s, fc, bookFrame("delta", 11, `["100.4","0"],["100.3","7"],["99","1"]`, `["100.6","4.5"],["100.7","1"],["101","0"]`))
		want := "100.5:1 100.3:7 100.1:3 99:1|100.6:4.5 100.7:1 100.9:5"
		if got := both(s); got != want {
			t.Fatalf("book %s, want %s", got, want)
		}
		if got := sinkBook(sink); got != want {
			t.Fatalf("sink book %s, want %s", got, want)
		}
		if sink.Count(market.StreamSynced, venuetest.AnySymbol) != 1 || sink.Count(market.StreamGap, venuetest.AnySymbol) != 0 {
			t.Fatalf("events %s", sink.EventLog())
		}
	})
	t.Run("a snapshot resets at any time", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, snap)
		mustHandle(t, s, fc, bookFrame("delta", 11, `["100.2","9"]`, ``))
		mustHandle(t, s, fc, bookFrame("snapshot", 500, `["200","1"]`, `["201","2"]`))
		if got := both(s); got != "200:1|201:2" || s.books[0].lastU != 500 {
			t.Fatalf("book %s lastU %d", got, s.books[0].lastU)
		}
		mustHandle(t, s, fc, bookFrame("delta", 501, `["199","3"]`, ``))
		if got := sinkBook(sink); got != "200:1 199:3|201:2" {
			t.Fatalf("sink book %s", got)
		}
		if sink.Count(market.StreamGap, venuetest.AnySymbol) != 0 || sink.Count(market.StreamResyncing, venuetest.AnySymbol) != 0 {
			t.Fatalf("events %s", sink.EventLog())
		}
	})
	t.Run("u=1 resets", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, snap)
		mustHandle(t, s, fc, bookFrame("delta", 1, `["50","1"]`, `["51","1"]`))
		if got := both(s); got != "50:1|51:1" {
			t.Fatalf("book %s", got)
		}
		mustHandle(t, s, fc, bookFrame("delta", 2, `["50","0"],["49","2"]`, ``))
		if got := sinkBook(sink); got != "49:2|51:1" {
			t.Fatalf("sink book %s", got)
		}
		if sink.Count(market.StreamGap, venuetest.AnySymbol) != 0 {
			t.Fatalf("events %s", sink.EventLog())
		}
	})
	t.Run("stale deltas are ignored", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, snap)
		mustHandle(t, s, fc, bookFrame("delta", 11, `["100.2","9"]`, ``))
		n := len(sink.Updates)
		mustHandle(t, s, fc, bookFrame("delta", 11, `["100.2","1"]`, ``))
		mustHandle(t, s, fc, bookFrame("delta", 7, `["100.5","0"]`, ``))
		if got := both(s); got != "100.5:1 100.4:2 100.2:9 100.1:3|100.6:4 100.9:5" || len(sink.Updates) != n {
			t.Fatalf("book %s, updates %d→%d", got, n, len(sink.Updates))
		}
		if sink.Count(market.StreamGap, venuetest.AnySymbol) != 0 {
			t.Fatalf("events %s", sink.EventLog())
		}
	})
	t.Run("a jump is a gap: resubscribe, then the new snapshot", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, snap)
		sent := len(fc.sent)
		mustHandle(t, s, fc, bookFrame("delta", 12, `["100.2","9"]`, ``))
		if sink.CountDetail(market.StreamGap, `^seq gap: u 12, have 10$`) != 1 || sink.CountDetail(market.StreamResyncing, "seq gap") != 1 {
			t.Fatalf("events %s", sink.EventLog())
		}
		got := strings.Join(fc.sent[sent:], "\n")
		want := `{"req_id":"uns-4","op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}` + "\n" +
			`{"req_id":"sub-5","op":"subscribe","args":["orderbook.50.BTCUSDT"]}`
		if got != want {
			t.Fatalf("sent\n%s\nwant\n%s", got, want)
		}
		if both(s) != "|" || sinkBook(sink) != "dropped" {
			t.Fatalf("book %s, sink %s", both(s), sinkBook(sink))
		}
		n := len(sink.Updates)
		mustHandle(t, s, fc, bookFrame("delta", 13, `["100.2","9"]`, ``)) // dropped while resyncing
		mustHandle(t, s, fc, `{"success":true,"ret_msg":"unsubscribe","conn_id":"c","req_id":"uns-4","op":"unsubscribe"}`)
		mustHandle(t, s, fc, `{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":"sub-5","op":"subscribe"}`)
		if len(sink.Updates) != n || len(fc.sent) != sent+2 {
			t.Fatalf("updates %d→%d, sent %d", n, len(sink.Updates), len(fc.sent)-sent)
		}
		mustHandle(t, s, fc, bookFrame("snapshot", 20, `["100.2","9"],["100.1","3"]`, `["100.6","4"]`))
		mustHandle(t, s, fc, bookFrame("delta", 21, ``, `["100.8","2"]`))
		if got := sinkBook(sink); got != "100.2:9 100.1:3|100.6:4 100.8:2" || both(s) != got {
			t.Fatalf("sink %s, own %s", got, both(s))
		}
		if sink.Count(market.StreamSynced, venuetest.AnySymbol) != 2 || s.books[0].resyncing {
			t.Fatalf("events %s", sink.EventLog())
		}
		sink.Check(t)
	})
	t.Run("a crossed book resyncs and is never emitted", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{})
		mustHandle(t, s, fc, snap)
		n := len(sink.Updates)
		mustHandle(t, s, fc, bookFrame("delta", 11, `["100.7","1"]`, ``))
		if len(sink.Updates) != n || sink.CountDetail(market.StreamGap, `^crossed book after u 11: bid 100.7 >= ask 100.6$`) != 1 ||
			sink.CountDetail(market.StreamResyncing, "crossed") != 1 {
			t.Fatalf("updates %d→%d, events %s", n, len(sink.Updates), sink.EventLog())
		}
		if both(s) != "|" || !strings.Contains(fc.sent[len(fc.sent)-1], `"op":"subscribe","args":["orderbook.50.BTCUSDT"]`) {
			t.Fatalf("book %s, sent %v", both(s), fc.sent)
		}
		// A crossed snapshot is not served either.
		mustHandle(t, s, fc, bookFrame("snapshot", 30, `["101","1"]`, `["100","1"]`))
		if len(sink.Updates) != n || both(s) != "|" {
			t.Fatalf("crossed snapshot served: %s", both(s))
		}
		sink.Check(t)
	})
	t.Run("depth-1 snapshots with an unchanged u are heartbeats", func(t *testing.T) {
		s, fc, sink := testSession(t, Config{BookDepth: 1})
		frame := func(u int64, bid, ask string) string {
			return strings.Replace(bookFrame("snapshot", u, bid, ask), "orderbook.50.", "orderbook.1.", 1)
		}
		mustHandle(t, s, fc, frame(50, `["100","1"]`, `["101","2"]`))
		mustHandle(t, s, fc, frame(50, `["100","1"]`, `["101","2"]`))
		mustHandle(t, s, fc, frame(50, `["100","1"]`, `["101","2"]`))
		if sink.Count(market.StreamGap, venuetest.AnySymbol) != 0 || sink.Count(market.StreamResyncing, venuetest.AnySymbol) != 0 || sink.Count(market.StreamSynced, venuetest.AnySymbol) != 1 {
			t.Fatalf("events %s", sink.EventLog())
		}
		mustHandle(t, s, fc, frame(57, `["100.5","3"]`, `["101","2"]`))
		if got := sinkBook(sink); got != "100.5:3|101:2" || both(s) != got {
			t.Fatalf("sink %s, own %s", got, both(s))
		}
	})
}

// TestMalformedFrames: hostile and broken frames are counted and never touch the book.
func TestMalformedFrames(t *testing.T) {
	s, fc, sink := testSession(t, Config{})
	mustHandle(t, s, fc, bookFrame("snapshot", 10, `["100","1"]`, `["101","2"]`))
	frames := []string{
		`{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"s":"BTCUSDT","b":[["99","1"]],"a":[],"u":11`, // truncated
		bookFrame("delta", 11, `["99","1"],["98","NaN"]`, ``),
		bookFrame("delta", 11, `["99","1"],["-98","1"]`, ``),
		bookFrame("delta", 11, `["99","-1"]`, ``),
		bookFrame("delta", 11, `["99"]`, ``),
		bookFrame("delta", 11, `[99,1]`, ``),
		bookFrame("delta", 11, `["99","1e400"]`, ``),
		bookFrame("delta", -3, `["99","1"]`, ``),
		bookFrame("update", 11, `["99","1"]`, ``),
		strings.Replace(bookFrame("delta", 11, `["99","1"]`, ``), `"s":"BTCUSDT"`, `"s":"ETHUSDT"`, 1),
		strings.Replace(bookFrame("delta", 11, `["99","1"]`, ``), `"u":11`, `"u":"11"`, 1),
		`{"topic":"orderbook.50.BTCUSDT","type":"delta","data":[1,2]}`,
		`{"topic":42}`, `[1,2,3]`, `"text"`, `nul`, "\x00\xff",
		`{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"1","i":"a"},{"T":2,"s":"BTCUSDT","S":"Hold","v":"1","p":"1","i":"b"}]}`,
		`{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":{"T":1}}`,
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800001,"open":"1","close":"1","high":"1","low":"1","volume":"1","confirm":true}],"type":"snapshot"}`,
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"open":"1","close":"1","high":"1","low":"2","volume":"1","confirm":true}],"type":"snapshot"}`,
		`{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"open":"1","close":"1","high":"1","low":"1","volume":"1","confirm":"yes"}],"type":"snapshot"}`,
		`{"success":"yes","op":"subscribe"}`, `{"op":7}`,
	}
	for _, f := range frames {
		mustHandle(t, s, fc, f)
	}
	if n := sink.Count(market.StreamMalformed, venuetest.AnySymbol); n != len(frames) {
		t.Errorf("%d malformed events for %d frames: %s", n, len(frames), sink.EventLog())
	}
	if got := levels(ownBook(s, "BTCUSDT"), true, 0) + "|" + levels(ownBook(s, "BTCUSDT"), false, 0); got != "100:1|101:2" || s.books[0].lastU != 10 {
		t.Errorf("book touched: %s, lastU %d", got, s.books[0].lastU)
	}
	if len(sink.Trades) != 0 || len(sink.Candles) != 0 {
		t.Errorf("forwarded from malformed frames: %v %v", sink.Trades, sink.Candles)
	}
	// The book goes on with the next good delta.
	mustHandle(t, s, fc, bookFrame("delta", 11, `["99","1"]`, ``))
	if got := levels(sink.Books["BTCUSDT"], true, 0); got != "100:1 99:1" {
		t.Errorf("sink bids %s", got)
	}
}

// TestConfigValidation: New names the field at fault and fills the defaults.
func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Symbols"},
		{Config{Symbols: []market.Symbol{"BTC-USDT"}}, "Symbols[0]"},
		{Config{Symbols: []market.Symbol{"BTCUSDT", "btcusdt"}}, "Symbols[1]"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, Category: "inverse"}, "Category"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, BookDepth: 25}, "BookDepth"},
		{Config{Symbols: []market.Symbol{"BTCUSDT"}, KlinePageLimit: 1001}, "KlinePageLimit"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	f, err := New(Config{Symbols: []market.Symbol{"ethusdt"}, Category: "linear"})
	if err != nil {
		t.Fatal(err)
	}
	if f.wsURL != DefaultLinearWSURL || f.cfg.RESTURL != DefaultRESTURL || f.cfg.BookDepth != 50 || f.cfg.PingEvery != DefaultPingEvery ||
		f.Symbols()[0] != "ETHUSDT" || f.Name() != "bybit" || !f.VenueCandles() {
		t.Errorf("defaults: %+v", f.cfg)
	}
	// 21,000 characters of topics per connection: many symbols take several connections.
	syms := make([]market.Symbol, 400)
	for i := range syms {
		syms[i] = market.Symbol(fmt.Sprintf("SYM%03dUSDT", i))
	}
	f, _ = New(Config{Symbols: syms})
	total := 0
	for _, sh := range f.shards {
		n := 0
		for _, s := range sh {
			for _, tp := range topicsOf(s, 50) {
				n += len(tp)
			}
		}
		if n > maxArgsChars {
			t.Errorf("a connection has %d characters of topics", n)
		}
		total += len(sh)
	}
	if len(f.shards) < 2 || total != 400 {
		t.Errorf("%d shards, %d symbols", len(f.shards), total)
	}
	var apiErr *APIError
	if errors.As(error(&APIError{Symbol: "X", Code: 1, Msg: "m"}), &apiErr) && apiErr.Error() != "bybit: X: m (retCode 1)" {
		t.Error(apiErr.Error())
	}
}
