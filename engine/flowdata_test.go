package engine

import (
	"io"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

func TestFlowData(t *testing.T) {
	t0 := int64(1_700_000_000_000) - int64(1_700_000_000_000)%60000
	book := func(ts int64, bid, ask float64, vb, va float64) market.FlowRecord {
		return market.FlowRecord{IsBook: true, Book: market.BookUpdate{Symbol: "BTCUSDT", Time: ts, Snapshot: true,
			Bids: []market.Level{{Price: bid, Size: vb}, {Price: bid - 1, Size: 100}}, Asks: []market.Level{{Price: ask, Size: va}}}}
	}
	trade := func(ts int64, px, sz float64, side market.Side) market.FlowRecord {
		return market.FlowRecord{Trade: market.Trade{Exchange: "x", Symbol: "BTCUSDT", ID: "t", Time: ts, Price: px, Size: sz, Side: side}}
	}
	recs := []market.FlowRecord{
		book(t0+100, 100, 101, 10, 5),
		trade(t0+200, 101, 1.5, market.Buy),
		trade(t0+1500, 100, 1.0, market.Sell),
		book(t0+1500, 99, 100, 2, 8), // the trade at the same time comes first: CVD 0.5
		trade(t0+3200, 102, 2, market.Buy),
	}
	i := 0
	next := func(r *market.FlowRecord) error {
		if i == len(recs) {
			return io.EOF
		}
		*r = recs[i]
		i++
		return nil
	}
	candles, points, err := FlowData(next, market.TF1s, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 1s candles: (t0, t0+1s] holds the 101 buy; (…+2s] the 100 sell; (…+3s] is flat; (…+4s] the 102 buy.
	if len(candles) != 4 || candles[0].Time != t0+1000 || candles[0].Close != 101 || candles[1].Close != 100 ||
		candles[2].Volume != 0 || candles[2].Close != 100 || candles[3].Time != t0+4000 || candles[3].Close != 102 {
		t.Fatalf("candles %+v", candles)
	}
	want := []strategies.FlowPoint{
		{Time: t0 + 100, OBI: (10.0 - 5) / 15, CVD: 0, BestBid: 100, BestAsk: 101},
		{Time: t0 + 1500, OBI: (2.0 - 8) / 10, CVD: 0.5, BestBid: 99, BestAsk: 100},
	}
	if len(points) != 2 || points[0] != want[0] || points[1] != want[1] {
		t.Fatalf("points %+v, want %+v (depth 1: the 100 at the second bid is not counted)", points, want)
	}

	// More than one instrument is an error naming them.
	recs = append(recs, market.FlowRecord{Trade: market.Trade{Symbol: "ETHUSDT", Time: t0 + 5000, Price: 1, Size: 1, Side: market.Buy}})
	i = 0
	if _, _, err := FlowData(next, market.TF1s, 0); err == nil {
		t.Fatal("two instruments accepted")
	}
}
