package binance

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// The protocol notes' example frames, through the session's frame handler.

func TestParseTradeFrames(t *testing.T) {
	u := newUnit(t, "BNBBTC")
	// Raw @trade: m true means the buyer was the maker, so the taker sold.
	u.handle(t, `{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}`)
	// Old fixtures still carry b/a order ids: ignored.
	u.handle(t, `{"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782137,"s":"BNBBTC","t":12346,"p":"0.00100000","q":"2.50000000","b":88,"a":50,"T":1672515782137,"m":false,"M":true}}`)
	// The same trade again (a replay): forwarded once.
	u.handle(t, `{"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782137,"s":"BNBBTC","t":12346,"p":"0.00100000","q":"2.50000000","T":1672515782137,"m":false,"M":true}}`)
	want := []market.Trade{
		{Exchange: Name, Symbol: "BNBBTC", ID: "12345", Time: 1672515782136, Price: 0.001, Size: 100, Side: market.Sell},
		{Exchange: Name, Symbol: "BNBBTC", ID: "12346", Time: 1672515782137, Price: 0.001, Size: 2.5, Side: market.Buy},
	}
	if len(u.sink.Trades) != len(want) {
		t.Fatalf("trades %+v", u.sink.Trades)
	}
	for i := range want {
		if u.sink.Trades[i] != want[i] {
			t.Fatalf("trade %d: %+v, want %+v", i, u.sink.Trades[i], want[i])
		}
	}
}

func TestParseAggTradeFrames(t *testing.T) {
	u := newUnitCfg(t, func(c *Config) { c.AggTrades = true }, true, "NKNUSDT", "CTKUSDT")
	u.handle(t, `{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}`)
	// USD-M aggTrade has no M.
	u.handle(t, `{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}`)
	want := []market.Trade{
		{Exchange: Name, Symbol: "NKNUSDT", ID: "15683430", Time: 1633998523963, Price: 0.3528, Size: 58, Side: market.Buy},
		{Exchange: Name, Symbol: "CTKUSDT", ID: "16599292", Time: 1626992741421, Price: 1.011, Size: 10, Side: market.Buy},
	}
	if len(u.sink.Trades) != 2 || u.sink.Trades[0] != want[0] || u.sink.Trades[1] != want[1] {
		t.Fatalf("trades %+v, want %+v", u.sink.Trades, want)
	}
	// On an aggTrade configuration, the @trade stream is not ours: ignored, not malformed.
	u.handle(t, `{"stream":"nknusdt@trade","data":{"e":"trade","t":1,"p":"1","q":"1","T":1,"m":true}}`)
	if len(u.sink.Trades) != 2 || u.sink.Count(market.StreamMalformed, venuetest.AnySymbol) != 0 {
		t.Fatalf("foreign stream: %+v %v", u.sink.Trades, u.sink.Events)
	}
}

func TestParseKlineFrames(t *testing.T) {
	u := newUnit(t, "NKNUSDT")
	open := `{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}}}`
	u.handle(t, open)
	if len(u.sink.Candles) != 0 {
		t.Fatalf("an open bar was forwarded: %+v", u.sink.Candles)
	}
	closed := strings.Replace(open, `"x":false`, `"x":true`, 1)
	u.handle(t, closed)
	u.handle(t, closed) // pushed twice (two connections): forwarded once
	want := market.Candle{Exchange: Name, Symbol: "NKNUSDT", Timeframe: market.TF1m, Time: 1633998540000,
		Open: 0.3527, High: 0.3528, Low: 0.3522, Close: 0.3528, Volume: 25877, Trades: 30}
	if len(u.sink.Candles) != 1 || u.sink.Candles[0] != want {
		t.Fatalf("candles %+v, want %+v", u.sink.Candles, want)
	}
}

func TestParseDepthExample(t *testing.T) {
	u := newUnit(t, "BNBBTC")
	u.handle(t, `{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}`)
	// The REST snapshot example's shape.
	// lastUpdateId 157: not older than the first buffered U (step 3), and U ≤ 158 ≤ u (step 5).
	s, err := parseDepthSnapshot([]byte(`{"lastUpdateId":157,"bids":[["0.00230000","431.00000000"]],"asks":[["0.00250000","12.00000000"]]}`))
	if err != nil {
		t.Fatal(err)
	}
	u.snaps <- s
	u.sink.Wait(t, "synced", 5e9, func() bool { return u.sink.CountLocked(market.StreamSynced, "BNBBTC") == 1 })
	bids, asks := venuetest.Levels(u.sink.Books["BNBBTC"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{0.0024, 10}, {0.0023, 431}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{0.0025, 12}, {0.0026, 100}})
	if _, local, _ := u.state("BNBBTC"); local != 160 {
		t.Fatalf("local id %d, want 160", local)
	}

	s2, err := parseDepthSnapshot([]byte(`{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}`))
	if err != nil || s2.lastUpdateID != 1027024 || s2.bids[0] != (market.Level{Price: 4, Size: 431}) || s2.asks[0] != (market.Level{Price: 4.000002, Size: 12}) {
		t.Fatalf("snapshot %+v %v", s2, err)
	}
	for _, bad := range []string{`{"bids":[],"asks":[]}`, `{"lastUpdateId":1,"bids":[["x","1"]],"asks":[]}`, `[`} {
		if _, err := parseDepthSnapshot([]byte(bad)); err == nil {
			t.Fatalf("%s parsed", bad)
		}
	}
}

func TestParseControlFrames(t *testing.T) {
	u := newUnitCfg(t, nil, false, "BTCUSDT", "ETHUSDT")
	if len(u.c.sent) != 1 || u.c.sent[0] != `{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth@100ms","btcusdt@kline_1m","ethusdt@trade","ethusdt@depth@100ms","ethusdt@kline_1m"],"id":1}` {
		t.Fatalf("sent %q", u.c.sent)
	}
	// LIST_SUBSCRIPTIONS answers and unknown ids are not acks.
	u.handle(t, `{"result":["btcusdt@aggTrade","btcusdt@kline_1m"],"id":3}`)
	if u.c.ready.Load() != 0 {
		t.Fatal("ready before the ack")
	}
	// An error without a request id (unparsable request) is reported, not fatal.
	u.handle(t, `{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}`)
	if u.sink.Count(market.StreamError, venuetest.AnySymbol) != 1 {
		t.Fatalf("events %v", u.sink.Events)
	}
	// The refusal of our SUBSCRIBE stops the stream, naming the streams and the venue message.
	err := u.s.handle([]byte(`{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}`))
	if !venue.IsFatal(err) || !strings.Contains(err.Error(), "ethusdt@kline_1m") || !strings.Contains(err.Error(), "Invalid request: invalid stream (code 2)") {
		t.Fatalf("err %v", err)
	}
	// Shutdown notices, raw and wrapped: one handover.
	u.handle(t, `{"e":"serverShutdown","E":1770123456789}`)
	u.handle(t, `{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}`)
	if len(u.c.handovers) != 1 {
		t.Fatalf("handovers %q", u.c.handovers)
	}
}

func TestParseMalformedFrames(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 10, 10, [][2]string{{"100.0", "1"}}, [][2]string{{"101.0", "1"}}))
	u.snaps <- snap(10, [][2]float64{{100, 1}, {99, 2}}, [][2]float64{{101, 1}, {102, 2}})
	u.sink.Wait(t, "synced", 5e9, func() bool { return u.sink.CountLocked(market.StreamSynced, "BTCUSDT") == 1 })
	bad := []string{
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["100.0","x"]],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["-1","1"]],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["100.0","-1"]],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":12,"u":11,"b":[],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":"11","u":11,"b":[],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["100.0"]],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["NaN","1"]],"a":[]}}`,
		`{"stream":"btcusdt@depth@100ms","data":"x"}`,
		`{"stream":"btcusdt@trade","data":{"e":"trade","t":1,"p":"1","q":"1","T":1}}`,
		`{"stream":"btcusdt@kline_1m","data":{"e":"kline","k":{"t":1,"x":true,"i":"1m","o":"1","h":"1","l":"1","c":"1","v":"x","n":1}}}`,
		`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":11,"u":11,"b":[["100.0","1"]],"a":[`,
		`not json`,
		`[1,2]`,
	}
	for _, f := range bad {
		u.handle(t, f)
	}
	if n := u.sink.Count(market.StreamMalformed, venuetest.AnySymbol); n != len(bad) {
		t.Fatalf("%d malformed events, want %d:%s", n, len(bad), u.sink.EventLog())
	}
	if !strings.Contains(u.sink.Events[len(u.sink.Events)-1].Detail, "[1,2]") {
		t.Fatalf("detail %q", u.sink.Events[len(u.sink.Events)-1].Detail)
	}
	// Unknown but valid messages are ignored silently.
	u.handle(t, `{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}`)
	u.handle(t, `{"e":"24hrTicker","s":"BTCUSDT"}`)
	if n := u.sink.Count(market.StreamMalformed, venuetest.AnySymbol); n != len(bad) {
		t.Fatalf("valid frames counted as malformed")
	}
	// The book was never touched.
	_, local, _ := u.state("BTCUSDT")
	bids, asks := venuetest.Levels(u.s.bySym["BTCUSDT"].book)
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 1}, {99, 2}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{101, 1}, {102, 2}})
	if local != 10 || len(u.sink.Trades) != 0 || len(u.sink.Candles) != 0 {
		t.Fatalf("local %d, trades %v, candles %v", local, u.sink.Trades, u.sink.Candles)
	}
}

// TestFixtureSpotSnapshotThenDiffs: the recorded NKNUSDT snapshot and five diffs. The first
// diff is covered by the snapshot and dropped, the other four apply with no gap.
func TestFixtureSpotSnapshotThenDiffs(t *testing.T) {
	text := venuetest.Fixture(t, "binance_spot_nknusdt_snapshot_then_diffs_2021.txt")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines", len(lines))
	}
	jsonOf := func(line string) string { return line[strings.Index(line, ": {")+2:] }
	s, err := parseDepthSnapshot([]byte(jsonOf(lines[0])))
	if err != nil {
		t.Fatal(err)
	}
	if s.lastUpdateID != 499869752 || len(s.bids) != 609 || len(s.asks) != 1000 {
		t.Fatalf("snapshot %d: %d bids, %d asks", s.lastUpdateID, len(s.bids), len(s.asks))
	}
	u := newUnit(t, "NKNUSDT")
	for _, l := range lines[2:] {
		u.handle(t, jsonOf(l))
	}
	if _, _, n := u.state("NKNUSDT"); n != 5 {
		t.Fatalf("%d buffered, want 5", n)
	}
	u.snaps <- s
	u.sink.Wait(t, "synced", 5e9, func() bool { return u.sink.CountLocked(market.StreamSynced, "NKNUSDT") == 1 })
	if n := u.sink.Count(market.StreamGap, venuetest.AnySymbol); n != 0 {
		t.Fatalf("%d gaps:%s", n, u.sink.EventLog())
	}
	synced, local, _ := u.state("NKNUSDT")
	if !synced || local != 499869760 || u.calls.Load() != 1 {
		t.Fatalf("synced %v, local %d, %d fetches", synced, local, u.calls.Load())
	}
	bids, asks := venuetest.Levels(u.sink.Books["NKNUSDT"])
	if len(bids) != 610 || len(asks) != 1000 {
		t.Fatalf("%d bids, %d asks, want 610 and 1000", len(bids), len(asks))
	}
	venuetest.WantLevels(t, "best bids", bids[:3], [][2]float64{{0.3521, 672}, {0.3520, 1290}, {0.3519, 3260}})
	venuetest.WantLevels(t, "best asks", asks[:3], [][2]float64{{0.3525, 3959}, {0.3526, 3199}, {0.3527, 4201}})
	b := u.sink.Books["NKNUSDT"]
	find := func(side []market.Level, p float64) float64 {
		for _, l := range side {
			if l.Price == p {
				return l.Size
			}
		}
		return -1
	}
	if find(bids, 0.3517) != 4265 || find(asks, 0.3529) != 10968 || find(asks, 0.3538) != 3027 || find(bids, 0.3492) != 19253 || b.Seq != 499869760 {
		t.Fatalf("applied levels missing (seq %d)", b.Seq)
	}
}

// TestFixtureUSDMDiffsParse: USD-M frames (with pu and T) parse as depth updates; their pu
// chaining is not the spot rule, so they are only parsed.
func TestFixtureUSDMDiffsParse(t *testing.T) {
	text := venuetest.Fixture(t, "binance_usdm_sushiusdt_diffs_2021.txt")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	wantU := []int64{600859599090, 600859601193, 600859603343, 600859605926}
	wantN := [][2]int{{3, 2}, {5, 1}, {7, 4}, {4, 6}}
	var p fastjson.Parser
	for i, l := range lines {
		v, err := p.Parse(l[strings.Index(l, ": {")+2:])
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if string(v.GetStringBytes("stream")) != "sushiusdt@depth@100ms" {
			t.Fatalf("line %d: stream %s", i, v.GetStringBytes("stream"))
		}
		ev, _, _, ok := parseDepth(v.Get("data"), nil, nil)
		if !ok || ev.U != wantU[i] || len(ev.bids) != wantN[i][0] || len(ev.asks) != wantN[i][1] {
			t.Fatalf("line %d: %+v ok=%v", i, ev, ok)
		}
	}
	// The first frame deletes 7.6090 with a "0" quantity.
	v, _ := p.Parse(lines[0][strings.Index(lines[0], ": {")+2:])
	ev, _, _, _ := parseDepth(v.Get("data"), nil, nil)
	if ev.bids[1] != (market.Level{Price: 7.609, Size: 0}) || ev.E != 1626992741037 || ev.u != 600859600917 {
		t.Fatalf("frame 0: %+v", ev)
	}
}
