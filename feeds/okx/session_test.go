package okx

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// The docs' snapshot and update (protocol notes §5).
const (
	docSnapshot = `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"],["8477.34","85","0","1"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"],["8475.54","100","0","1"]],"ts":"1597026383085","checksum":0,"prevSeqId":-1,"seqId":123456}]}`
	docUpdate   = `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8477","0","0","0"],["8477.5","3","0","1"]],"bids":[["8476.97","250","0","11"]],"ts":"1597026383185","checksum":0,"prevSeqId":123456,"seqId":123457}]}`
	docIdle     = `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1597026443185","checksum":0,"prevSeqId":123457,"seqId":123457}]}`
	docTrade    = `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}]}`
	trade2022   = `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}`
	docBooks5   = `{"arg":{"channel":"books5","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"],["111.07","53276","0","2"]],"bids":[["111.05","57745","0","2"],["111.04","57109","0","2"]],"instId":"BCH-USDT-SWAP","ts":"1670324386802","seqId":363996337}]}`
)

func TestChecksumVectors(t *testing.T) {
	if got := Checksum([][2]string{{"3366.1", "7"}, {"3366", "6"}}, [][2]string{{"3366.8", "9"}, {"3368", "8"}}); got != -1881014294 {
		t.Errorf("checksum = %d, want -1881014294", got)
	}
	if got := Checksum([][2]string{{"3366.1", "7"}}, [][2]string{{"3366.8", "9"}, {"3368", "8"}, {"3372", "8"}}); got != 831078360 {
		t.Errorf("checksum (bids shorter) = %d, want 831078360", got)
	}
	var b book
	b.load(levelsOf("3366.1:7", "3366:6"), levelsOf("3366.8:9", "3368:8"))
	if got := string(b.checksumString(nil)); got != "3366.1:7:3366.8:9:3366:6:3368:8" {
		t.Errorf("pre-image %q", got)
	}
}

func levelsOf(ls ...string) []wlevel {
	var out []wlevel
	for _, l := range ls {
		p, s, _ := strings.Cut(l, ":")
		var w wlevel
		w.px, _ = parseDecimal([]byte(p))
		w.sz, _ = parseDecimal([]byte(s))
		w.p.set([]byte(p))
		w.s.set([]byte(s))
		out = append(out, w)
	}
	return out
}

func TestParseDecimal(t *testing.T) {
	for s, want := range map[string]float64{"30243.5": 30243.5, "0.00000001": 1e-8, "7": 7, "0": 0, "0.0": 0,
		"20.11183989": 20.11183989, "123456789012345678": 123456789012345678, "0.1234567890123456789": 0.1234567890123456789} {
		if got, ok := parseDecimal([]byte(s)); !ok || got != want {
			t.Errorf("parseDecimal(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-1", "1e5", "NaN", "Inf", "0x10", ".5", "5.", "1.2.3", "1_0", " 1", strings.Repeat("1", 32)} {
		if _, ok := parseDecimal([]byte(s)); ok {
			t.Errorf("parseDecimal(%q) accepted", s)
		}
	}
}

func TestDocFramesBookAndTrades(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	if ts.l.ready != 0 {
		t.Fatal("ready before the first snapshot")
	}
	ts.feed(docUpdate) // before any snapshot: ignored
	if got := dump(&ts.book("BTC-USDT").b); got != "bids | asks" || len(ts.sink.Updates) != 0 {
		t.Fatalf("update before snapshot changed %q / emitted %d", got, len(ts.sink.Updates))
	}
	ts.feed(docSnapshot)
	if ts.l.ready != 1 {
		t.Fatalf("ready %d after acks and the first snapshot", ts.l.ready)
	}
	bs := ts.book("BTC-USDT")
	if got, want := dump(&bs.b), "bids 8476.97:256 8475.55:101 8475.54:100 | asks 8476.98:415 8477:7 8477.34:85"; got != want {
		t.Fatalf("after snapshot:\n got %s\nwant %s", got, want)
	}
	ts.feed(docUpdate)
	if got, want := dump(&bs.b), "bids 8476.97:250 8475.55:101 8475.54:100 | asks 8476.98:415 8477.34:85 8477.5:3"; got != want {
		t.Fatalf("after update:\n got %s\nwant %s", got, want)
	}
	ts.feed(docIdle)
	if bs.last != 123457 || len(ts.sink.Updates) != 2 {
		t.Fatalf("keep-alive: last %d, %d updates emitted", bs.last, len(ts.sink.Updates))
	}
	snap, delta := ts.sink.Updates[0], ts.sink.Updates[1]
	if !snap.Snapshot || snap.Seq != 123456 || snap.Time != 1597026383085 || len(snap.Bids) != 3 || snap.Bids[0] != (market.Level{Price: 8476.97, Size: 256}) ||
		snap.Asks[0] != (market.Level{Price: 8476.98, Size: 415}) {
		t.Fatalf("snapshot emitted %+v", snap)
	}
	if delta.Snapshot || delta.Seq != 123457 || delta.Time != 1597026383185 ||
		len(delta.Asks) != 2 || delta.Asks[0] != (market.Level{Price: 8477, Size: 0}) || delta.Asks[1] != (market.Level{Price: 8477.5, Size: 3}) ||
		len(delta.Bids) != 1 || delta.Bids[0] != (market.Level{Price: 8476.97, Size: 250}) {
		t.Fatalf("delta emitted %+v", delta)
	}
	if e := ts.sink.OfKind(market.StreamSynced); len(e) != 1 || e[0].Symbol != "BTCUSDT" || e[0].Channel != market.ChannelBook {
		t.Fatalf("synced events %+v", e)
	}

	ts.feed(docTrade)
	ts.feed(trade2022)
	ts.feed(docTrade) // a repeat is forwarded once
	want := []market.Trade{
		{Exchange: "okx", Symbol: "BTCUSDT", ID: "130639474", Time: 1630048897897, Price: 42219.9, Size: 0.12060306, Side: market.Buy},
		{Exchange: "okx", Symbol: "BTCUSDT", ID: "338476307", Time: 1652459224818, Price: 30236, Size: 0.0002, Side: market.Buy},
	}
	if len(ts.sink.Trades) != 2 || ts.sink.Trades[0] != want[0] || ts.sink.Trades[1] != want[1] {
		t.Fatalf("trades %+v", ts.sink.Trades)
	}
	if n := len(ts.sink.OfKind(market.StreamMalformed)); n != 0 {
		t.Fatalf("%d malformed events", n)
	}
}

// The protocol's example chain: snapshot (−1→10), update (10→15), keep-alive (15→15),
// reset (15→3), update (3→5).
func TestBookSyncChain(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	ts.feed(booksFrame("snapshot", -1, 10, 0, []string{"100.0:1", "99.5:2"}, []string{"100.5:3", "101:4"}))
	ts.feed(booksFrame("update", 10, 15, 0, []string{"100.0:1.5", "99.8:1"}, []string{"101:0"}))
	ts.feed(booksFrame("update", 15, 15, 0, nil, nil))
	ts.feed(booksFrame("update", 15, 3, 0, []string{"99.5:0"}, []string{"100.4:2"}))
	ts.feed(booksFrame("update", 3, 5, 0, nil, []string{"100.6:1"}))
	if got, want := dump(&bs.b), "bids 100.0:1.5 99.8:1 | asks 100.4:2 100.5:3 100.6:1"; got != want {
		t.Fatalf("book:\n got %s\nwant %s", got, want)
	}
	if bs.last != 5 || !bs.synced {
		t.Fatalf("last %d synced %v", bs.last, bs.synced)
	}
	for _, k := range []market.StreamKind{market.StreamGap, market.StreamChecksum, market.StreamResyncing, market.StreamMalformed} {
		if n := len(ts.sink.OfKind(k)); n != 0 {
			t.Fatalf("%d %s events: %s", n, k, ts.sink.EventLog())
		}
	}
	if len(ts.sink.Updates) != 4 { // snapshot + 3 deltas (the keep-alive emits nothing)
		t.Fatalf("%d updates emitted", len(ts.sink.Updates))
	}
	if sent := ts.l.takeSent(); len(sent) != 0 {
		t.Fatalf("sent %v", sent)
	}
	// The sink's book equals ours.
	b := ts.sink.Books["BTCUSDT"]
	if bb, _ := b.BestBid(); bb != (market.Level{Price: 100, Size: 1.5}) {
		t.Fatalf("sink best bid %+v", bb)
	}
	if ba, _ := b.BestAsk(); ba != (market.Level{Price: 100.4, Size: 2}) {
		t.Fatalf("sink best ask %+v", ba)
	}
}

func TestBookSyncGapResubscribes(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	ts.feed(booksFrame("snapshot", -1, 10, 0, []string{"100:1"}, []string{"101:1"}))
	ts.feed(booksFrame("update", 10, 15, 0, []string{"100:2"}, nil))
	ts.feed(booksFrame("update", 17, 18, 0, []string{"100:3"}, nil)) // 16–17 lost
	gaps := ts.sink.OfKind(market.StreamGap)
	if len(gaps) != 1 || gaps[0].Detail != "seq gap: prevSeqId 17, have 15" || gaps[0].Symbol != "BTCUSDT" || gaps[0].Channel != market.ChannelBook {
		t.Fatalf("gap events %+v", gaps)
	}
	if rs := ts.sink.OfKind(market.StreamResyncing); len(rs) != 1 || rs[0].Symbol != "BTCUSDT" {
		t.Fatalf("resyncing events %+v", rs)
	}
	sent := ts.l.takeSent()
	if len(sent) != 2 || !strings.Contains(sent[0], `"op":"unsubscribe"`) || !strings.Contains(sent[1], `"op":"subscribe"`) ||
		!strings.Contains(sent[1], `{"channel":"books","instId":"BTC-USDT"}`) {
		t.Fatalf("resync sent %v", sent)
	}
	if dump(&bs.b) != "bids | asks" || bs.synced {
		t.Fatalf("book after gap: %s synced %v", dump(&bs.b), bs.synced)
	}
	n := len(ts.sink.Updates)
	ts.feed(booksFrame("update", 18, 19, 0, []string{"100:4"}, nil)) // still waiting for the snapshot
	if len(ts.sink.Updates) != n || dump(&bs.b) != "bids | asks" {
		t.Fatal("an update was applied while resyncing")
	}
	ts.feed(`{"id":"` + between(sent[0], `"id":"`, `"`) + `","event":"unsubscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"x"}`)
	ts.feed(`{"id":"` + between(sent[1], `"id":"`, `"`) + `","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"x"}`)
	ts.feed(booksFrame("snapshot", -1, 30, 0, []string{"100:5", "99:1"}, []string{"101:1"}))
	if got := dump(&bs.b); got != "bids 100:5 99:1 | asks 101:1" {
		t.Fatalf("after resync %s", got)
	}
	last := ts.sink.Updates[len(ts.sink.Updates)-1]
	if !last.Snapshot || len(last.Bids) != 2 || ts.sink.Orphans != 0 {
		t.Fatalf("resync snapshot %+v, orphans %d", last, ts.sink.Orphans)
	}
	if s := ts.sink.OfKind(market.StreamSynced); len(s) != 2 {
		t.Fatalf("synced events %+v", s)
	}
	if len(ts.s.pending) != 0 {
		t.Fatalf("pending requests %+v", ts.s.pending)
	}
}

func TestBookSyncChecksum(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	bids, asks := []string{"3366.1:7", "3366:6"}, []string{"3366.8:9", "3368:8"}
	ts.feed(booksFrame("snapshot", -1, 1, -1881014294, bids, asks))
	if !bs.synced || len(ts.sink.OfKind(market.StreamChecksum)) != 0 {
		t.Fatalf("good checksum refused: %s", ts.sink.EventLog())
	}
	// An update with the checksum of the book after it.
	sum := sumOf([]string{"3366.1:7", "3366:6"}, []string{"3366.8:9", "3368:8", "3372:8"})
	ts.feed(booksFrame("update", 1, 2, sum, nil, []string{"3372:8"}))
	if got := dump(&bs.b); got != "bids 3366.1:7 3366:6 | asks 3366.8:9 3368:8 3372:8" || len(ts.sink.OfKind(market.StreamChecksum)) != 0 {
		t.Fatalf("after good update %s", got)
	}
	// "0.5000" and "0.5" hash differently: the exact strings count.
	ts.feed(booksFrame("update", 2, 3, sumOf([]string{"3366.1:0.5", "3366:6"}, []string{"3366.8:9", "3368:8", "3372:8"}), []string{"3366.1:0.5000"}, nil))
	cs := ts.sink.OfKind(market.StreamChecksum)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Detail, "checksum mismatch: venue ") {
		t.Fatalf("checksum events %+v", cs)
	}
	if bs.synced || dump(&bs.b) != "bids | asks" || len(ts.sink.OfKind(market.StreamResyncing)) != 1 {
		t.Fatalf("no resync after a mismatch: %s", dump(&bs.b))
	}
	if sent := ts.l.takeSent(); len(sent) != 2 {
		t.Fatalf("resync sent %v", sent)
	}
	// The mismatching update was not forwarded.
	for _, u := range ts.sink.Updates {
		if len(u.Bids) == 1 && u.Bids[0].Size == 0.5 {
			t.Fatal("the bad update reached the sink")
		}
	}
}

func TestBookSyncCrossedResyncs(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	ts.feed(booksFrame("snapshot", -1, 1, 0, []string{"100:1"}, []string{"101:1"}))
	n := len(ts.sink.Updates)
	ts.feed(booksFrame("update", 1, 2, 0, []string{"101.5:1"}, nil))
	gaps := ts.sink.OfKind(market.StreamGap)
	if len(gaps) != 1 || !strings.HasPrefix(gaps[0].Detail, "crossed book: best bid 101.5 >= best ask 101") {
		t.Fatalf("crossed events %+v", gaps)
	}
	if bs.synced || dump(&bs.b) != "bids | asks" || len(ts.sink.Updates) != n || ts.sink.Crossed != 0 {
		t.Fatalf("crossed book kept or forwarded: %s", dump(&bs.b))
	}
	// A crossed snapshot is refused as well.
	ts.feed(booksFrame("snapshot", -1, 5, 0, []string{"102:1"}, []string{"101:1"}))
	if bs.synced || len(ts.sink.Updates) != n {
		t.Fatal("crossed snapshot accepted")
	}
}

func TestBookSyncWithoutSeqIDs(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	ts.feed(booksFrame("snapshot", 0, -5, 0, []string{"100:1"}, []string{"101:1"}))
	ts.feed(booksFrame("update", 0, -5, 0, []string{"100.5:2"}, nil))
	ts.feed(booksFrame("update", 0, -5, 0, nil, []string{"101:0", "102:1"}))
	if got := dump(&bs.b); got != "bids 100.5:2 100:1 | asks 102:1" || len(ts.sink.OfKind(market.StreamGap)) != 0 {
		t.Fatalf("2022-style chain: %s %s", got, ts.sink.EventLog())
	}
}

func TestMalformedFramesLeaveTheBook(t *testing.T) {
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	ts.feed(docSnapshot)
	before := dump(&bs.b)
	bad := []string{
		docUpdate[:60], // truncated
		`[1,2,3]`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":{}}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8477","-1","0","0"]],"bids":[],"ts":"1","prevSeqId":123456,"seqId":123457}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8477.5","3","0","1"],["x","1"]],"bids":[],"ts":"1","prevSeqId":123456,"seqId":123457}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["8470","1"]],"ts":"1","prevSeqId":"123456","seqId":123457}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["8470","1"]],"ts":"1","checksum":99999999999,"prevSeqId":123456,"seqId":123457}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"bogus","data":[{"asks":[],"bids":[],"ts":"1"}]}`,
		`{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}`,
		`{"event":7}`,
	}
	for _, f := range bad {
		ts.feed(f)
	}
	if got := dump(&bs.b); got != before || bs.last != 123456 {
		t.Fatalf("a malformed frame changed the book: %s", got)
	}
	if n := len(ts.sink.OfKind(market.StreamMalformed)); n != len(bad) {
		t.Fatalf("%d malformed events for %d frames: %s", n, len(bad), ts.sink.EventLog())
	}
	// Unknown but valid messages are ignored; the next good update still applies.
	ts.feed(`{"event":"channel-conn-count","channel":"books","connCount":"2","connId":"x"}`)
	ts.feed(`{"arg":{"channel":"books","instId":"ETH-USDT"},"action":"update","data":[]}`)
	ts.feed(`{"hello":"world"}`)
	ts.feed("pong")
	ts.feed(docUpdate)
	if bs.last != 123457 || len(ts.sink.OfKind(market.StreamMalformed)) != len(bad) || len(ts.sink.Trades) != 0 {
		t.Fatalf("after good update: last %d", bs.last)
	}
}

func TestBooks5AndCandles(t *testing.T) {
	ts := newTestSession(t, Config{Symbols: []market.Symbol{"BCHUSDT"}, InstType: "SWAP", BookChannel: "books5"}, socketPublic)
	ts.feed(docBooks5)
	ts.feed(docBooks5)
	bs := ts.book("BCH-USDT-SWAP")
	if got := dump(&bs.b); got != "bids 111.05:57745 111.04:57109 | asks 111.06:55154 111.07:53276" {
		t.Fatalf("books5: %s", got)
	}
	if len(ts.sink.Updates) != 2 || !ts.sink.Updates[1].Snapshot || ts.sink.Updates[1].Seq != 363996337 ||
		len(ts.sink.OfKind(market.StreamSynced)) != 1 || ts.l.ready != 1 {
		t.Fatalf("books5 updates %+v", ts.sink.Updates)
	}

	bus := newTestSession(t, Config{}, socketBusiness)
	if bus.l.ready != 1 {
		t.Fatal("business socket not ready after its acks")
	}
	// The docs' candle row (a 1D bar, still open): nothing goes out.
	bus.feed(`{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}`)
	closed := `{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026360000","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","1"]]}`
	bus.feed(closed)
	bus.feed(closed) // pushed twice: forwarded once
	want := market.Candle{Exchange: "okx", Symbol: "BTCUSDT", Timeframe: market.TF1m, Time: 1597026420000,
		Open: 8533.02, High: 8553.74, Low: 8527.17, Close: 8548.26, Volume: 45247}
	if len(bus.sink.Candles) != 1 || bus.sink.Candles[0] != want {
		t.Fatalf("candles %+v", bus.sink.Candles)
	}
}

func TestControlFrames(t *testing.T) {
	// A rejected subscription (2022 shape: no id, no arg) is fatal and names the topic.
	f, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
	sink := newSink()
	s := newSession(newRunState(f, sink), socketPublic, f.cfg.Symbols)
	l := &fakeLink{active: true}
	if err := s.open(l); err != nil {
		t.Fatal(err)
	}
	msg := `Subscribe failed, wrong URL or channel:trades,instId:BTC-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document.`
	err := s.handle(l, []byte(`{"event":"error","msg":"`+msg+`","code":"60018","connId":"b2b0944b"}`))
	if !venue.IsFatal(err) || !strings.Contains(err.Error(), "trades:BTC-USDT") || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "60018") {
		t.Fatalf("rejection error %v", err)
	}
	if e := sink.OfKind(market.StreamError); len(e) != 1 || e[0].Channel != market.ChannelTrades {
		t.Fatalf("error events %+v", e)
	}
	// Correlated by id.
	sent := l.takeSent()
	booksID := between(sent[1], `"id":"`, `"`)
	err = s.handle(l, []byte(`{"id":"`+booksID+`","event":"error","code":"60012","msg":"Invalid request","connId":"a"}`))
	if !venue.IsFatal(err) || !strings.Contains(err.Error(), "books:BTC-USDT") {
		t.Fatalf("rejection by id: %v", err)
	}

	ts := newTestSession(t, Config{}, socketPublic)
	ts.feed(`{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`)
	if len(ts.l.handovers) != 1 || !strings.Contains(ts.l.handovers[0], "64008") {
		t.Fatalf("handovers %v", ts.l.handovers)
	}
	// 2022 acks carry no id: matched by topic.
	f3, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}})
	s3 := newSession(newRunState(f3, newSink()), socketBusiness, f3.cfg.Symbols)
	l3 := &fakeLink{active: true}
	_ = s3.open(l3)
	s3.activate(l3)
	for _, inst := range []string{"ETH-USDT", "BTC-USDT"} {
		if err := s3.handle(l3, []byte(`{"event":"subscribe","arg":{"channel":"candle1m","instId":"`+inst+`"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if l3.ready != 1 || len(s3.pending) != 0 {
		t.Fatalf("2022 acks: ready %d pending %d", l3.ready, len(s3.pending))
	}
}

func TestHandoverActivation(t *testing.T) {
	// The old connection feeds the sink; a replacement subscribes beside it.
	f, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
	sink := newSink()
	rs := newRunState(f, sink)
	ack := func(s *session, l *fakeLink) {
		for _, req := range l.takeSent() {
			_ = s.handle(l, []byte(`{"id":"`+between(req, `"id":"`, `"`)+`","event":"subscribe","arg":{"channel":"`+
				between(req, `"channel":"`, `"`)+`","instId":"BTC-USDT"}}`))
		}
	}
	oldS, oldL := newSession(rs, socketPublic, f.cfg.Symbols), &fakeLink{active: true}
	_ = oldS.open(oldL)
	oldS.activate(oldL)
	ack(oldS, oldL)
	_ = oldS.handle(oldL, []byte(docSnapshot))
	_ = oldS.handle(oldL, []byte(trade2022))

	newS, newL := newSession(rs, socketPublic, f.cfg.Symbols), &fakeLink{}
	_ = newS.open(newL)
	ack(newS, newL)
	_ = newS.handle(newL, []byte(docSnapshot))
	_ = newS.handle(newL, []byte(docUpdate))
	if len(sink.Updates) != 1 || newL.ready != 0 {
		t.Fatalf("replacement: %d updates emitted (1 from the old connection expected), ready %d", len(sink.Updates), newL.ready)
	}
	// The replacement gets a trade first (forwarded once); it is not Ready until the old
	// connection has read that trade too.
	_ = newS.handle(newL, []byte(docTrade))
	if newL.ready != 0 || len(sink.Trades) != 2 {
		t.Fatalf("ready %d before the overlap; %d trades", newL.ready, len(sink.Trades))
	}
	_ = oldS.handle(oldL, []byte(docTrade))
	_ = newS.handle(newL, []byte(docIdle))
	if newL.ready != 1 || len(sink.Trades) != 2 {
		t.Fatalf("ready %d after the overlap; %d trades", newL.ready, len(sink.Trades))
	}
	// The runner switches: the old one is made inactive and closed, the new one activated
	// sends its book whole.
	oldL.active = false
	newL.active = true
	newS.activate(newL)
	oldS.close(oldL, errTest)
	last := sink.Updates[len(sink.Updates)-1]
	if len(sink.Updates) != 2 || !last.Snapshot || last.Seq != 123457 || len(last.Asks) != 3 {
		t.Fatalf("activation emitted %+v", sink.Updates)
	}
	if rs := sink.OfKind(market.StreamResyncing); len(rs) != 0 {
		t.Fatalf("the replaced connection reported %+v", rs)
	}
	// A connection that dies while feeding the sink reports its books as resyncing.
	newS.close(newL, errTest)
	if rs := sink.OfKind(market.StreamResyncing); len(rs) != 1 || !strings.Contains(rs[0].Detail, "test") {
		t.Fatalf("close events %+v", rs)
	}

	// The other order: the old connection had the trade first.
	rs2 := newRunState(f, newSink())
	a, al := newSession(rs2, socketBusiness, f.cfg.Symbols), &fakeLink{active: true}
	_ = a.open(al)
	a.activate(al)
	ack(a, al)
	b, bl := newSession(rs2, socketBusiness, f.cfg.Symbols), &fakeLink{}
	_ = b.open(bl)
	ack(b, bl)
	if bl.ready != 0 {
		t.Fatal("replacement ready before any overlap")
	}
	k := `{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026360000","1","1","1","1","1","1","1","1"]]}`
	_ = a.handle(al, []byte(k))
	_ = b.handle(bl, []byte(k))
	if bl.ready != 1 {
		t.Fatal("replacement not ready after a common kline")
	}

	// A quiet market proves no overlap: the wait is bounded.
	f3, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT"}, Silence: 20 * time.Millisecond})
	q, ql := newSession(newRunState(f3, newSink()), socketPublic, f3.cfg.Symbols), &fakeLink{}
	_ = q.open(ql)
	ack(q, ql)
	_ = q.handle(ql, []byte(docSnapshot))
	if ql.ready != 0 || !q.gating {
		t.Fatalf("quiet replacement: ready %d gating %v", ql.ready, q.gating)
	}
	for deadline := time.Now().Add(5 * time.Second); ql.ready == 0 && time.Now().Before(deadline); {
		_ = q.handle(ql, []byte("pong"))
	}
	if ql.ready != 1 {
		t.Fatal("the overlap wait never ended")
	}
}

type fixture struct {
	Messages []struct {
		Raw            string `json:"raw"`
		ChecksumString string `json:"checksum_string"`
		Computed       int32  `json:"computed"`
		Expected       int32  `json:"expected"`
	} `json:"messages"`
}

func TestFixtureChecksumReplay(t *testing.T) {
	b := venuetest.Fixture(t, "okx_checksum_vector_btc_usdt_2022.json")
	var fx fixture
	if err := json.Unmarshal([]byte(b), &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Messages) != 4 {
		t.Fatalf("%d messages", len(fx.Messages))
	}
	ts := newTestSession(t, Config{}, socketPublic)
	bs := ts.book("BTC-USDT")
	for i, m := range fx.Messages {
		ts.feed(m.Raw)
		if !bs.synced {
			t.Fatalf("message %d: book not synced: %s", i, ts.sink.EventLog())
		}
		if got := string(bs.b.checksumString(nil)); got != m.ChecksumString {
			t.Fatalf("message %d: pre-image\n got %.120s…\nwant %.120s…", i, got, m.ChecksumString)
		}
		if sum, _ := bs.b.checksum(nil); sum != m.Expected || m.Computed != m.Expected {
			t.Fatalf("message %d: checksum %d, want %d", i, sum, m.Expected)
		}
	}
	if n := len(ts.sink.OfKind(market.StreamChecksum)) + len(ts.sink.OfKind(market.StreamGap)) + len(ts.sink.OfKind(market.StreamMalformed)); n != 0 {
		t.Fatalf("faults in a clean capture: %s", ts.sink.EventLog())
	}
	if len(ts.sink.Updates) != 4 || ts.sink.Crossed != 0 {
		t.Fatalf("%d updates, %d crossed", len(ts.sink.Updates), ts.sink.Crossed)
	}
	// The sink's book, built from what we forwarded, agrees with ours at the top.
	sb := ts.sink.Books["BTCUSDT"]
	bb, _ := sb.BestBid()
	mine, _ := bs.b.bestBid()
	if bb.Price != mine.px || bb.Size != mine.sz {
		t.Fatalf("sink best bid %+v, ours %v", bb, mine)
	}
}

func TestResyncBudgetAndAckTimeout(t *testing.T) {
	ts := newTestSession(t, Config{Silence: time.Hour}, socketPublic)
	ts.feed(booksFrame("snapshot", -1, 1, 0, []string{"100:1"}, []string{"101:1"}))
	ts.s.requests = requestBudget - 1
	ts.feed(booksFrame("update", 5, 6, 0, []string{"100:2"}, nil)) // a gap with no request budget left
	if len(ts.l.drops) != 1 || len(ts.l.takeSent()) != 0 || !strings.Contains(ts.l.drops[0].Error(), "reconnecting to resync BTC-USDT") {
		t.Fatalf("budget spent: drops %v", ts.l.drops)
	}

	// A subscription the server never answers ends the connection.
	ts = newTestSession(t, Config{Silence: time.Hour}, socketPublic)
	ts.feed(booksFrame("snapshot", -1, 1, 0, []string{"100:1"}, []string{"101:1"}))
	ts.feed(booksFrame("update", 5, 6, 0, []string{"100:2"}, nil))
	if len(ts.s.pending) != 2 {
		t.Fatalf("pending %+v", ts.s.pending)
	}
	ts.s.pending[0].sent = time.Now().Add(-2 * time.Hour)
	err := ts.s.handle(ts.l, []byte(docTrade))
	if err == nil || !strings.Contains(err.Error(), "unsubscribe books:BTC-USDT unanswered") {
		t.Fatalf("overdue ack: %v", err)
	}

	// A failed send fails Open.
	f, _ := New(Config{Symbols: []market.Symbol{"BTCUSDT"}})
	s := newSession(newRunState(f, newSink()), socketPublic, f.cfg.Symbols)
	if err := s.open(&fakeLink{sendErr: errTest}); err == nil || !strings.Contains(err.Error(), "subscribe trades:BTC-USDT") {
		t.Fatalf("open with a broken link: %v", err)
	}
}

func TestConnectionStatesNameWhatTheSocketCarries(t *testing.T) {
	// The business socket carries candles only: its reconnect must not mark the books (which
	// the engine then drops, with the public socket still feeding deltas into the empty book)
	// or the trades as reconnecting. The public socket's covers trades and books.
	f, _ := New(Config{Symbols: twoSyms})
	sink := newSink()
	rs := newRunState(f, sink)
	rs.stateFunc("okx business", socketBusiness, twoSyms)(venue.StateReconnecting, "silent for 40s (watchdog)")
	rs.stateFunc("okx public", socketPublic, twoSyms[:1])(venue.StateConnected, "")
	var got []string
	for _, e := range sink.Events {
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Kind, e.Symbol, e.Channel, e.Detail))
	}
	want := []string{
		"reconnecting BTCUSDT candles okx business: silent for 40s (watchdog)",
		"reconnecting ETHUSDT candles okx business: silent for 40s (watchdog)",
		"connected BTCUSDT trades okx public",
		"connected BTCUSDT book okx public",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
