package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// The broker tests run hand-made hourly candles: candle i covers [bkT0 + i·1h, bkT0 + (i+1)·1h),
// so it opens at bkOpen(i) and is stamped bkEnd(i). Every expected amount is worked out by
// hand in the comments (fee 0.001; notional and fee rounded half to even to 8 places, quantity
// truncated to 12).

const bkT0 = int64(1_699_999_200_000) // an hour boundary

const bkHour = int64(3_600_000)

func bkOpen(i int) int64 { return bkT0 + int64(i)*bkHour }
func bkEnd(i int) int64  { return bkT0 + int64(i+1)*bkHour }

// bkC is candle i with the given prices.
func bkC(i int, o, h, l, c float64) market.Candle {
	return market.Candle{Exchange: "test", Symbol: "BTCUSDT", Timeframe: market.TF1h, Time: bkEnd(i),
		Open: o, High: h, Low: l, Close: c, Volume: 1, Trades: 1}
}

func dd(s string) decimal.Decimal { return decimal.MustParse(s) }

// scripted is a test strategy instance: it emits acts[i] on the i-th candle it is stepped on
// (Hold otherwise), with confidence conf[i] (High when absent).
type scripted struct {
	acts  map[int]strategies.Action
	conf  map[int]strategies.Confidence
	short bool
	i     int
}

func (s *scripted) Step(c market.Candle) strategies.Signal {
	conf, ok := s.conf[s.i]
	if !ok {
		conf = strategies.High
	}
	sig := strategies.Signal{Time: c.Time, Strategy: "scripted", Action: s.acts[s.i], Value: 0.5, Confidence: conf}
	s.i++
	return sig
}

func (s *scripted) AllowsShort() bool { return s.short }

// bkRun is a run driven bar by bar, as the backtester and live bots drive the broker.
type bkRun struct {
	b      *Broker
	fills  [][]Fill // per candle
	final  []Fill   // from Finish
	cash   []decimal.Decimal
	equity []decimal.Decimal // at each close
}

func runBroker(t *testing.T, cfg BrokerConfig, cs []market.Candle, acts map[int]strategies.Action, conf map[int]strategies.Confidence) bkRun {
	t.Helper()
	b, err := NewBroker(cfg, market.TF1h)
	if err != nil {
		t.Fatal(err)
	}
	inst := &scripted{acts: acts, conf: conf}
	r := bkRun{b: b}
	for _, c := range cs {
		f, err := b.OnCandle(c)
		if err != nil {
			t.Fatal(err)
		}
		r.fills = append(r.fills, f)
		b.Decide(inst.Step(c))
		r.cash = append(r.cash, b.Cash())
		r.equity = append(r.equity, b.Equity(c.Close))
		if ef, want := b.EquityFloat(c.Close), toFloat(b.Equity(c.Close)); math.Abs(ef-want) > 1e-6 {
			t.Fatalf("candle %d: EquityFloat %v, Equity %v", c.Time, ef, want)
		}
	}
	r.final, err = b.Finish(cs[len(cs)-1])
	if err != nil {
		t.Fatal(err)
	}
	checkLedger(t, b, cfg.Balance)
	return r
}

// checkLedger asserts the exact ledger identities of a flat broker.
func checkLedger(t *testing.T, b *Broker, balance decimal.Decimal) {
	t.Helper()
	if _, open := b.Position(); open {
		t.Fatal("position still open")
	}
	lhs, _ := balance.Add(b.Realized())
	lhs, _ = lhs.Sub(b.Fees())
	if !lhs.Equal(b.Cash()) {
		t.Fatalf("ledger: balance %s + realized %s − fees %s = %s, cash %s", balance, b.Realized(), b.Fees(), lhs, b.Cash())
	}
	sumPnL, sumFees, sumReal := balance, decimal.Zero, decimal.Zero
	for _, tr := range b.Trades() {
		sumPnL, _ = sumPnL.Add(tr.PnL)
		sumFees, _ = sumFees.Add(tr.Fees)
		sumReal, _ = sumReal.Add(tr.Realized)
		net, _ := tr.Realized.Sub(tr.Fees)
		if !net.Equal(tr.PnL) {
			t.Fatalf("trade %+v: realized − fees ≠ pnl", tr)
		}
	}
	if !sumPnL.Equal(b.Cash()) || !sumFees.Equal(b.Fees()) || !sumReal.Equal(b.Realized()) {
		t.Fatalf("trades: balance + Σpnl %s (cash %s), Σfees %s (fees %s), Σrealized %s (realized %s)",
			sumPnL, b.Cash(), sumFees, b.Fees(), sumReal, b.Realized())
	}
	if eq := b.Equity(12345.678); !eq.Equal(b.Cash()) {
		t.Fatalf("flat: equity %s ≠ cash %s", eq, b.Cash())
	}
}

func wantFill(t *testing.T, what string, got []Fill, i int, time int64, side market.Side, price, qty, fee, reason string, entry bool) {
	t.Helper()
	if i >= len(got) {
		t.Fatalf("%s: %d fills %+v, want fill #%d", what, len(got), got, i)
	}
	f := got[i]
	ok := f.Time == time && f.Side == side && f.Price.Equal(dd(price)) && f.Quantity.Equal(dd(qty)) &&
		f.Fee.Equal(dd(fee)) && f.Reason == reason && f.Entry == entry
	if !ok {
		t.Fatalf("%s: fill #%d\n got  time=%d side=%v price=%s qty=%s fee=%s reason=%s entry=%v\n want time=%d side=%v price=%s qty=%s fee=%s reason=%s entry=%v",
			what, i, f.Time, f.Side, f.Price, f.Quantity, f.Fee, f.Reason, f.Entry, time, side, price, qty, fee, reason, entry)
	}
	n, _ := f.Quantity.Mul(f.Price)
	if !f.Notional.Equal(n.Round(MoneyScale)) {
		t.Fatalf("%s: fill #%d notional %s ≠ round8(%s)", what, i, f.Notional, n)
	}
}

func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dd(want)) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func wantTrade(t *testing.T, tr Trade, side string, entryT, exitT int64, entry, exit, qty, pnl, fees, reason string) {
	t.Helper()
	ok := tr.Side == side && tr.EntryTime == entryT && tr.ExitTime == exitT && tr.EntryPrice.Equal(dd(entry)) &&
		tr.ExitPrice.Equal(dd(exit)) && tr.Quantity.Equal(dd(qty)) && tr.PnL.Equal(dd(pnl)) && tr.Fees.Equal(dd(fees)) &&
		tr.ExitReason == reason
	if !ok {
		t.Fatalf("trade\n got  %s %d→%d %s→%s q=%s pnl=%s fees=%s %s\n want %s %d→%d %s→%s q=%s pnl=%s fees=%s %s",
			tr.Side, tr.EntryTime, tr.ExitTime, tr.EntryPrice, tr.ExitPrice, tr.Quantity, tr.PnL, tr.Fees, tr.ExitReason,
			side, entryT, exitT, entry, exit, qty, pnl, fees, reason)
	}
}

func cfgWith(f func(*BrokerConfig)) BrokerConfig {
	c := DefaultBrokerConfig()
	if f != nil {
		f(&c)
	}
	return c
}

// Long round trip, no slippage: the decision on candle 0's close fills at candle 1's open (100),
// the exit decided on candle 2's close fills at candle 3's open (110).
func TestBrokerLongRoundTripFillsAtNextOpen(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 109, 111),
	}
	r := runBroker(t, DefaultBrokerConfig(), cs, map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.Exit}, nil)

	if len(r.fills[0]) != 0 || len(r.fills[2]) != 0 || len(r.final) != 0 {
		t.Fatalf("fills on candles 0/2/finish: %v %v %v", r.fills[0], r.fills[2], r.final)
	}
	wantDec(t, "cash after candle 0", r.cash[0], "10000")
	// Buy: stake 10000; q = trunc12(10000 / (100·1.001)) = trunc12(99.9000999000999…) = 99.900099900099;
	// notional = round8(99.900099900099·100 = 9990.0099900099) = 9990.00999001;
	// fee = round8(9.99000999001) = 9.99000999; cash = 10000 − 9990.00999001 − 9.99000999 = 0.
	wantFill(t, "buy", r.fills[1], 0, bkOpen(1), market.Buy, "100", "99.900099900099", "9.99000999", "signal", true)
	wantDec(t, "cash after buy", r.cash[1], "0")
	// Equity at candle 1's close 104: 0 + round8(99.900099900099·104 = 10389.610389610296).
	wantDec(t, "equity at 104", r.equity[1], "10389.61038961")
	// Equity at candle 2's close 110: round8(10989.01098901089).
	wantDec(t, "equity at 110", r.equity[2], "10989.01098901")
	// Sell at 110: notional = round8(10989.01098901089) = 10989.01098901; fee = round8(10.98901098901)
	// = 10.98901099; cash = 10989.01098901 − 10.98901099 = 10978.02197802.
	wantFill(t, "sell", r.fills[3], 0, bkOpen(3), market.Sell, "110", "99.900099900099", "10.98901099", "signal", false)
	wantDec(t, "cash after sell", r.cash[3], "10978.02197802")
	wantDec(t, "equity after sell", r.equity[3], "10978.02197802")
	// Realized (fees excluded) = 10989.01098901 − 9990.00999001 = 999.000999;
	// fees = 9.99000999 + 10.98901099 = 20.97902098; pnl = 999.000999 − 20.97902098 = 978.02197802;
	// pnl_pct = 978.02197802 / (9990.00999001 + 9.99000999) = 0.097802197802.
	wantDec(t, "realized", r.b.Realized(), "999.000999")
	wantDec(t, "fees", r.b.Fees(), "20.97902098")
	tr := r.b.Trades()
	if len(tr) != 1 {
		t.Fatalf("%d trades", len(tr))
	}
	wantTrade(t, tr[0], "long", bkOpen(1), bkOpen(3), "100", "110", "99.900099900099", "978.02197802", "20.97902098", "signal")
	wantDec(t, "pnl_pct", tr[0].PnLPct, "0.097802197802")
}

// With 10 bps of slippage a buy fills at open·1.001 and a sell at open·0.999.
func TestBrokerSlippage(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 109, 111),
	}
	cfg := cfgWith(func(c *BrokerConfig) { c.SlippageBps = 10 })
	r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.Exit}, nil)
	// Buy at 100·1.001 = 100.1: q = trunc12(10000 / (100.1·1.001 = 100.2001)) = 99.800299600499;
	// notional = round8(99.800299600499·100.1 = 9990.0099900099499) = 9990.00999001;
	// fee = 9.99000999; cash 0.
	wantFill(t, "buy", r.fills[1], 0, bkOpen(1), market.Buy, "100.1", "99.800299600499", "9.99000999", "signal", true)
	wantDec(t, "cash after buy", r.cash[1], "0")
	// Equity at 104 (marks carry no slippage): round8(99.800299600499·104 = 10379.231158451896).
	wantDec(t, "equity at 104", r.equity[1], "10379.23115845")
	// Sell at 110·0.999 = 109.89: notional = round8(10967.05492309883611) = 10967.05492310;
	// fee = round8(10.9670549231) = 10.96705492; cash = 10956.08786818.
	wantFill(t, "sell", r.fills[3], 0, bkOpen(3), market.Sell, "109.89", "99.800299600499", "10.96705492", "signal", false)
	wantDec(t, "cash", r.b.Cash(), "10956.08786818")
	// pnl = 10956.08786818 − 10000; fees = 9.99000999 + 10.96705492.
	wantTrade(t, r.b.Trades()[0], "long", bkOpen(1), bkOpen(3), "100.1", "109.89", "99.800299600499", "956.08786818", "20.95706491", "signal")
}

// Take-profit and stop-loss fill at their level; when one candle touches both the stop-loss
// wins; TP is checked on the fill candle too.
func TestBrokerTakeProfitStopLoss(t *testing.T) {
	// Entry at candle 1's open 100 (q 99.900099900099, cost 10000, see the round trip test).
	// Exit amounts: notional = round8(q·level), fee = round8(notional·0.001), cash = notional − fee.
	cases := []struct {
		name       string
		tp, sl     float64
		c1, c2     market.Candle
		exitCandle int
		reason     string
		price      string
		fee, cash  string
	}{
		// TP 5% = 105, touched by candle 2's high 106: notional 10489.51048951 (q·105 =
		// 10489.510489510395), fee 10.48951049, cash 10479.02097902.
		{"take_profit", 0.05, 0, bkC(1, 100, 103, 99, 102), bkC(2, 102, 106, 101, 105), 2, "take_profit", "105", "10.48951049", "10479.02097902"},
		// SL 5% = 95, touched by candle 2's low 94: notional round8(9490.509490509405) =
		// 9490.50949051, fee 9.49050949, cash 9481.01898102.
		{"stop_loss", 0, 0.05, bkC(1, 100, 103, 99, 102), bkC(2, 99, 100, 94, 96), 2, "stop_loss", "95", "9.49050949", "9481.01898102"},
		// Both in one candle (high 106 ≥ 105, low 94 ≤ 95): stop-loss first.
		{"both_sl_first", 0.05, 0.05, bkC(1, 100, 103, 99, 102), bkC(2, 100, 106, 94, 100), 2, "stop_loss", "95", "9.49050949", "9481.01898102"},
		// TP 2% = 102 touched on the fill candle itself (high 103): notional
		// round8(10189.810189810098) = 10189.81018981, fee 10.18981019, cash 10179.62037962.
		{"tp_on_fill_candle", 0.02, 0.05, bkC(1, 100, 103, 99, 102), bkC(2, 102, 103, 101, 102), 1, "take_profit", "102", "10.18981019", "10179.62037962"},
		// A gap up through TP (open 111 ≥ 105) fills at the open: notional
		// round8(11088.911088910989) = 11088.91108891, fee 11.08891109, cash 11077.82217782.
		{"gap_through_tp", 0.05, 0.05, bkC(1, 100, 103, 99, 102), bkC(2, 111, 112, 110, 111), 2, "take_profit", "111", "11.08891109", "11077.82217782"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := []market.Candle{bkC(0, 100, 101, 99, 100), tc.c1, tc.c2, bkC(3, 100, 101, 99, 100)}
			cfg := cfgWith(func(c *BrokerConfig) { c.TakeProfit, c.StopLoss = tc.tp, tc.sl })
			r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterLong}, nil)
			at := bkEnd(tc.exitCandle) // a level inside a candle is stamped with the candle's end
			if tc.name == "gap_through_tp" {
				at = bkOpen(tc.exitCandle) // a gap fills at the open
			}
			wantFill(t, tc.name, r.fills[tc.exitCandle], len(r.fills[tc.exitCandle])-1, at, market.Sell, tc.price, "99.900099900099", tc.fee, tc.reason, false)
			wantDec(t, "cash", r.b.Cash(), tc.cash)
			if len(r.b.Trades()) != 1 || len(r.final) != 0 {
				t.Fatalf("trades %v, finish fills %v", r.b.Trades(), r.final)
			}
			if tr := r.b.Trades()[0]; tr.ExitReason != tc.reason || tr.ExitTime != at {
				t.Fatalf("trade %+v", tr)
			}
		})
	}
}

// A gap through the stop-loss fills at the open, less slippage: long entered at 100·1.001 =
// 100.1, SL 5% = 95.095; the next candle opens at 90 → sell at 90·0.999 = 89.91.
func TestBrokerGapThroughStopLossFillsAtOpen(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 103, 99, 102),
		bkC(2, 90, 92, 88, 91),
	}
	cfg := cfgWith(func(c *BrokerConfig) { c.SlippageBps, c.StopLoss = 10, 0.05 })
	r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterLong}, nil)
	if p, _ := r.b.Position(); p.Quantity.IsPos() {
		t.Fatal("still open")
	}
	// q = 99.800299600499 (see TestBrokerSlippage); notional = round8(q·89.91 =
	// 8973.04493708086509) = 8973.04493708; fee = round8(8.97304493708) = 8.97304494;
	// cash = 0 + 8973.04493708 − 8.97304494 = 8964.07189214.
	wantFill(t, "gap", r.fills[2], 0, bkOpen(2), market.Sell, "89.91", "99.800299600499", "8.97304494", "stop_loss", false)
	wantDec(t, "cash", r.b.Cash(), "8964.07189214")
	// pnl = 8964.07189214 − 10000; exposure: candle 1 only (the gap closed it at candle 2's open).
	wantTrade(t, r.b.Trades()[0], "long", bkOpen(1), bkOpen(2), "100.1", "89.91", "99.800299600499", "-1035.92810786", "18.96305493", "stop_loss")
	if r.b.ExposedBars() != 1 || r.b.Bars() != 3 {
		t.Fatalf("exposed %d of %d bars, want 1 of 3", r.b.ExposedBars(), r.b.Bars())
	}
}

// Timeout: the position closes at the close of the first candle whose end ≥ entry time +
// timeout, entry time being the fill candle's open time.
func TestBrokerTimeout(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 103, 99, 102), // fill candle: opens at bkOpen(1), ends bkOpen(1)+1h
		bkC(2, 102, 106, 101, 105),
		bkC(3, 105, 106, 104, 105),
		bkC(4, 105, 106, 104, 105),
	}
	for _, tc := range []struct {
		timeout time.Duration
		candle  int
		close   string
		fee     string
		cash    string
	}{
		// 1h: the fill candle's end = entry + 1h → close at 102 (round8(10189.810189810098),
		// fee 10.18981019, cash 10179.62037962).
		{time.Hour, 1, "102", "10.18981019", "10179.62037962"},
		// 90m: candle 1 ends at entry + 1h < entry + 90m; candle 2 ends at entry + 2h → close 105.
		{90 * time.Minute, 2, "105", "10.48951049", "10479.02097902"},
		// 2h: candle 2 ends exactly at entry + 2h → close 105.
		{2 * time.Hour, 2, "105", "10.48951049", "10479.02097902"},
	} {
		t.Run(tc.timeout.String(), func(t *testing.T) {
			cfg := cfgWith(func(c *BrokerConfig) { c.Timeout = tc.timeout })
			r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterLong}, nil)
			wantFill(t, "timeout", r.fills[tc.candle], len(r.fills[tc.candle])-1, bkEnd(tc.candle), market.Sell, tc.close, "99.900099900099", tc.fee, "timeout", false)
			wantDec(t, "cash", r.b.Cash(), tc.cash)
			if p, ok := r.b.Position(); ok {
				t.Fatalf("still open: %+v", p)
			}
		})
	}
}

// End of data closes at the last close; a decision made on the last candle never fills.
func TestBrokerEndOfData(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 103, 99, 102),
		bkC(2, 102, 106, 101, 105),
	}
	r := runBroker(t, DefaultBrokerConfig(), cs, map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.Exit}, nil)
	// Close at candle 2's close 105: notional 10489.51048951, fee 10.48951049, cash 10479.02097902.
	wantFill(t, "end", r.final, 0, bkEnd(2), market.Sell, "105", "99.900099900099", "10.48951049", "end_of_data", false)
	wantDec(t, "cash", r.b.Cash(), "10479.02097902")
	if r.b.Pending() != strategies.Hold {
		t.Fatal("Finish kept the waiting decision")
	}
	wantTrade(t, r.b.Trades()[0], "long", bkOpen(1), bkEnd(2), "100", "105", "99.900099900099", "479.02097902", "20.47952048", "end_of_data")
}

// EnterShort while long with shorts allowed: sell (reason "reverse") then open a short at the
// same open with the whole equity; covering uses the collateral model.
func TestBrokerReversalLongToShort(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 104, 105), // reversal at the open 110
		bkC(4, 105, 106, 98, 100),
		bkC(5, 99, 100, 97, 98), // cover at the open 99
	}
	cfg := cfgWith(func(c *BrokerConfig) { c.AllowShort = true })
	r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterLong, 2: strategies.EnterShort, 4: strategies.Exit}, nil)
	// Sell the long at 110 as in the round trip: cash 10978.02197802.
	wantFill(t, "sell", r.fills[3], 0, bkOpen(3), market.Sell, "110", "99.900099900099", "10.98901099", "reverse", false)
	// Short with stake 10978.02197802: q = trunc12(10978.02197802 / 110.11) = 99.700499300880;
	// notional = round8(99.700499300880·110 = 10967.0549230968) = 10967.05492310;
	// fee = round8(10.9670549231) = 10.96705492; cash = 10978.02197802 − 10967.05492310 − 10.96705492 = 0.
	wantFill(t, "short", r.fills[3], 1, bkOpen(3), market.Sell, "110", "99.700499300880", "10.96705492", "signal", true)
	wantDec(t, "cash while short", r.cash[3], "0")
	// Equity at 105 = cash + 2·notional − round8(q·105) = 0 + 21934.1098462 − 10468.55242659
	// (q·105 = 10468.5524265924) = 11465.55741961.
	wantDec(t, "equity short at 105", r.equity[3], "11465.55741961")
	// Cover at 99: notional = round8(9870.34943078712) = 9870.34943079; fee 9.87034943;
	// cash = 0 + 2·10967.05492310 − 9870.34943079 − 9.87034943 = 12053.89006598.
	wantFill(t, "cover", r.fills[5], 0, bkOpen(5), market.Buy, "99", "99.700499300880", "9.87034943", "signal", false)
	wantDec(t, "cash", r.b.Cash(), "12053.89006598")
	tr := r.b.Trades()
	if len(tr) != 2 {
		t.Fatalf("%d trades", len(tr))
	}
	wantTrade(t, tr[0], "long", bkOpen(1), bkOpen(3), "100", "110", "99.900099900099", "978.02197802", "20.97902098", "reverse")
	// Realized = 10967.05492310 − 9870.34943079 = 1096.70549231; fees 10.96705492 + 9.87034943 =
	// 20.83740435; pnl = 1075.86808796.
	wantTrade(t, tr[1], "short", bkOpen(3), bkOpen(5), "110", "99", "99.700499300880", "1075.86808796", "20.83740435", "signal")
	wantDec(t, "short realized", tr[1].Realized, "1096.70549231")
}

// EnterLong while short: cover then open long at the same open.
func TestBrokerReversalShortToLong(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 101, 95, 96),
		bkC(2, 90, 92, 89, 91),
		bkC(3, 91, 92, 90, 91),
	}
	cfg := cfgWith(func(c *BrokerConfig) { c.AllowShort, c.Fee = true, decimal.Zero })
	r := runBroker(t, cfg, cs, map[int]strategies.Action{0: strategies.EnterShort, 1: strategies.EnterLong}, nil)
	// No fee: short q = 10000/100 = 100 at 100; cover at 90: cash = 0 + 2·10000 − 9000 = 11000;
	// long q = trunc12(11000/90) = 122.222222222222, notional = round8(122.222222222222·90 =
	// 10999.99999999998) = 11000.00000000 ≤ the stake 11000, so cash 0.
	wantFill(t, "short", r.fills[1], 0, bkOpen(1), market.Sell, "100", "100", "0", "signal", true)
	wantFill(t, "cover", r.fills[2], 0, bkOpen(2), market.Buy, "90", "100", "0", "reverse", false)
	wantFill(t, "long", r.fills[2], 1, bkOpen(2), market.Buy, "90", "122.222222222222", "0", "signal", true)
	wantDec(t, "cash after reversal", r.cash[2], "0")
	// End of data at 91: round8(122.222222222222·91 = 11122.222222222202) = 11122.22222222.
	wantDec(t, "cash", r.b.Cash(), "11122.22222222")
}

// Without shorts, EnterShort exits a long (reason "signal") and does nothing when flat.
func TestBrokerEnterShortWithoutShortsOnlyExits(t *testing.T) {
	cs := []market.Candle{
		bkC(0, 100, 101, 99, 100),
		bkC(1, 100, 105, 99, 104),
		bkC(2, 104, 111, 103, 110),
		bkC(3, 110, 112, 109, 111),
		bkC(4, 111, 112, 109, 111),
		bkC(5, 111, 112, 109, 111),
	}
	acts := map[int]strategies.Action{0: strategies.EnterLong, 1: strategies.EnterLong, 2: strategies.EnterShort, 3: strategies.EnterShort, 4: strategies.Exit}
	r := runBroker(t, DefaultBrokerConfig(), cs, acts, nil)
	// EnterLong while long (decided on candle 1) does nothing.
	if len(r.fills[2]) != 0 {
		t.Fatalf("EnterLong while long filled: %v", r.fills[2])
	}
	if len(r.fills[3]) != 1 {
		t.Fatalf("candle 3 fills %v, want the exit only", r.fills[3])
	}
	wantFill(t, "exit", r.fills[3], 0, bkOpen(3), market.Sell, "110", "99.900099900099", "10.98901099", "signal", false)
	if len(r.fills[4]) != 0 || len(r.fills[5]) != 0 {
		t.Fatalf("EnterShort/Exit while flat filled: %v %v", r.fills[4], r.fills[5])
	}
	wantDec(t, "cash", r.b.Cash(), "10978.02197802")
}

// Stake × confidence factor (low 1/3, medium 2/3, high 1) × position size.
func TestBrokerScaleByConfidence(t *testing.T) {
	cs := []market.Candle{bkC(0, 100, 101, 99, 100), bkC(1, 100, 101, 99, 100)}
	for _, tc := range []struct {
		name      string
		size      float64
		conf      strategies.Confidence
		qty, fee  string
		cashAfter string
	}{
		// stake = trunc8(10000/3) = 3333.33333333; q = trunc12(3333.33333333/100.1) =
		// 33.300033300000 (33.30003330003…); notional 3330.00333000; fee 3.33000333;
		// cash = 10000 − 3333.33333333 = 6666.66666667.
		{"low", 1, strategies.Low, "33.3000333", "3.33000333", "6666.66666667"},
		// stake = trunc8(20000/3) = 6666.66666666; q = 66.600066600000; notional 6660.00666;
		// fee 6.66000666; cash 3333.33333334.
		{"medium", 1, strategies.Medium, "66.6000666", "6.66000666", "3333.33333334"},
		{"high", 1, strategies.High, "99.900099900099", "9.99000999", "0"},
		// size 0.5 × 2/3: stake 3333.33333333 as for low.
		{"half_medium", 0.5, strategies.Medium, "33.3000333", "3.33000333", "6666.66666667"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfgWith(func(c *BrokerConfig) { c.ScaleByConfidence, c.PositionSize = true, tc.size })
			b, err := NewBroker(cfg, market.TF1h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.OnCandle(cs[0]); err != nil {
				t.Fatal(err)
			}
			b.Decide(strategies.Signal{Action: strategies.EnterLong, Confidence: tc.conf})
			fills, err := b.OnCandle(cs[1])
			if err != nil {
				t.Fatal(err)
			}
			wantFill(t, tc.name, fills, 0, bkOpen(1), market.Buy, "100", tc.qty, tc.fee, "signal", true)
			wantDec(t, "cash", b.Cash(), tc.cashAfter)
		})
	}
	// Without ScaleByConfidence a low-confidence signal stakes everything.
	b, _ := NewBroker(DefaultBrokerConfig(), market.TF1h)
	b.OnCandle(cs[0])
	b.Decide(strategies.Signal{Action: strategies.EnterLong, Confidence: strategies.Low})
	fills, _ := b.OnCandle(cs[1])
	wantFill(t, "unscaled", fills, 0, bkOpen(1), market.Buy, "100", "99.900099900099", "9.99000999", "signal", true)
}

// The two roundings can push notional + fee one unit over the stake; the quantity is then
// reduced so that the entry never costs more than the stake (cash never goes below zero).
func TestBrokerCostNeverExceedsStake(t *testing.T) {
	cfg := cfgWith(func(c *BrokerConfig) { c.Balance = dd("6.20251131") })
	b, _ := NewBroker(cfg, market.TF1h)
	b.OnCandle(bkC(0, 3.72707, 3.72707, 3.72707, 3.72707))
	b.Decide(strategies.Signal{Action: strategies.EnterLong})
	fills, err := b.OnCandle(bkC(1, 3.72707, 3.72707, 3.72707, 3.72707))
	if err != nil {
		t.Fatal(err)
	}
	// First try: q = trunc12(6.20251131 / 3.73079707 = 1.662516398942063…) = 1.662516398942,
	// notional = round8(6.19631499500475994) = 6.19631500, fee = round8(0.006196315) =
	// 0.00619632, cost 6.20251132 > 6.20251131. Retry with budget 6.20251131 − 2·0.00000001 −
	// 0.00000002 = 6.20251127: q = 1.662516388220, notional = round8(6.1963149550431154) =
	// 6.19631496, fee = round8(0.00619631496) = 0.00619631, cost 6.20251127, cash 0.00000004.
	wantFill(t, "buy", fills, 0, bkOpen(1), market.Buy, "3.72707", "1.66251638822", "0.00619631", "signal", true)
	wantDec(t, "cash", b.Cash(), "0.00000004")
}

// A Hold does not cancel a waiting decision; a later non-Hold one replaces it.
func TestBrokerDecideLastNonHoldWins(t *testing.T) {
	b, _ := NewBroker(DefaultBrokerConfig(), market.TF1h)
	b.OnCandle(bkC(0, 100, 101, 99, 100))
	b.Decide(strategies.Signal{Action: strategies.EnterLong})
	b.Decide(strategies.Signal{Action: strategies.Hold})
	if b.Pending() != strategies.EnterLong {
		t.Fatalf("pending %v", b.Pending())
	}
	b.Decide(strategies.Signal{Action: strategies.Exit})
	fills, _ := b.OnCandle(bkC(1, 100, 101, 99, 100))
	if len(fills) != 0 || b.Pending() != strategies.Hold {
		t.Fatalf("Exit while flat: fills %v pending %v", fills, b.Pending())
	}
}

func TestBrokerConfigAndCandleErrors(t *testing.T) {
	bad := BrokerConfig{Balance: dd("-1"), Fee: dd("1.5"), SlippageBps: -1, PositionSize: 2, TakeProfit: math.NaN(), StopLoss: 1, Timeout: -time.Second}
	_, err := NewBroker(bad, market.TF1h)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"balance -1", "fee rate 1.5", "slippage -1", "position size 2", "take-profit NaN", "stop-loss 1", "timeout -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := NewBroker(DefaultBrokerConfig(), 0); err == nil || !strings.Contains(err.Error(), "timeframe") {
		t.Errorf("zero timeframe: %v", err)
	}
	// Zero balance and position size take their defaults.
	b, err := NewBroker(BrokerConfig{}, market.TF1h)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Cash().Equal(dd("10000")) || b.Config().PositionSize != 1 || !b.Fees().IsZero() {
		t.Fatalf("defaults: cash %s size %v", b.Cash(), b.Config().PositionSize)
	}
	if _, err := b.OnCandle(bkC(1, 100, 101, 99, 100)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]market.Candle{
		"not after":    bkC(1, 100, 101, 99, 100),
		"nan":          bkC(2, math.NaN(), 101, 99, 100),
		"zero":         bkC(2, 0, 101, 0, 100),
		"inconsistent": bkC(2, 100, 99, 101, 100),
	} {
		if _, err := b.OnCandle(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The ledger reconciles exactly on random runs: random candles, random actions, random
// configurations.
func TestBrokerLedgerInvariantRandomRuns(t *testing.T) {
	fees := []string{"0", "0.001", "0.00075", "0.002", "0.0004"}
	confs := []strategies.Confidence{strategies.Low, strategies.Medium, strategies.High}
	reasons := map[string]int{}
	shorts := 0
	for run := range 200 {
		rng := rand.New(rand.NewPCG(uint64(run), 42))
		cfg := BrokerConfig{
			Balance:           dd([]string{"10000", "123.45", "1000000", "0.5"}[rng.IntN(4)]),
			Fee:               dd(fees[rng.IntN(len(fees))]),
			SlippageBps:       float64(rng.IntN(4)) * 7.5,
			PositionSize:      []float64{1, 0.5, 0.33, 0.9999, 0.05}[rng.IntN(5)],
			ScaleByConfidence: rng.IntN(2) == 0,
			AllowShort:        rng.IntN(2) == 0,
		}
		if rng.IntN(2) == 0 {
			cfg.TakeProfit = 0.002 + rng.Float64()*0.05
		}
		if rng.IntN(2) == 0 {
			cfg.StopLoss = 0.002 + rng.Float64()*0.05
		}
		if rng.IntN(3) == 0 {
			cfg.Timeout = time.Duration(1+rng.IntN(10)) * time.Hour
		}
		b, err := NewBroker(cfg, market.TF1h)
		if err != nil {
			t.Fatal(err)
		}
		price := []float64{0.00123, 1.7, 101.25, 43210.5}[rng.IntN(4)]
		n := 50 + rng.IntN(300)
		var last market.Candle
		for i := range n {
			o := price * (1 + rng.NormFloat64()*0.003)
			c := o * (1 + rng.NormFloat64()*0.01)
			h := max(o, c) * (1 + rng.Float64()*0.006)
			l := min(o, c) * (1 - rng.Float64()*0.006)
			price = c
			last = bkC(i, o, h, l, c)
			if _, err := b.OnCandle(last); err != nil {
				t.Fatalf("run %d candle %d: %v", run, i, err)
			}
			if !cfg.AllowShort && b.Cash().IsNeg() {
				t.Fatalf("run %d: long-only cash went negative: %s", run, b.Cash())
			}
			var act strategies.Action
			switch x := rng.IntN(10); {
			case x < 6:
				act = strategies.Hold
			case x < 8:
				act = strategies.EnterLong
			case x < 9:
				act = strategies.EnterShort
			default:
				act = strategies.Exit
			}
			b.Decide(strategies.Signal{Action: act, Confidence: confs[rng.IntN(3)]})
		}
		if _, err := b.Finish(last); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) { checkLedger(t, b, cfg.Balance) })
		if len(b.Trades()) == 0 {
			t.Errorf("run %d: no trades", run)
		}
		for _, tr := range b.Trades() {
			reasons[tr.ExitReason]++
			if tr.Side == "short" {
				shorts++
			}
		}
	}
	// The runs must have exercised every exit path.
	for _, r := range []string{ReasonSignal, ReasonReverse, ReasonTakeProfit, ReasonStopLoss, ReasonTimeout, ReasonEndOfData} {
		if reasons[r] == 0 {
			t.Errorf("no trade exited with %q: %v", r, reasons)
		}
	}
	if shorts == 0 {
		t.Error("no short trades")
	}
	t.Logf("exit reasons %v, %d shorts", reasons, shorts)
}
