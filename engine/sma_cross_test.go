package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/strategies"
)

// TestSMACrossPinned pins sma_cross through the backtester on a hand-made series.
//
// fast = SMA(2), slow = SMA(3) of the closes 10 10 10 9 8 9 11 12 11 9 8:
//
//	i      0   1   2     3     4     5     6      7      8      9     10
//	close  10  10  10    9     8     9     11     12     11     9     8
//	fast   -   10  10    9.5   8.5   8.5   10     11.5   11.5   10    8.5
//	slow   -   -   10    9.67  9     8.67  9.33   10.67  11.33  10.67 9.33
//
// candle 3: fast < slow after fast ≥ slow → a cross below: exit (nothing is open);
// candle 6: fast > slow after fast ≤ slow → a cross above: long at the open of candle 7;
// candle 9: cross below → out at the open of candle 10. Opens differ from the closes so that
// "the next open" is visible: the open of candle i is close(i−1) + 0.5.
func TestSMACrossPinned(t *testing.T) {
	closes := []float64{10, 10, 10, 9, 8, 9, 11, 12, 11, 9, 8}
	base := int64(1_700_000_000_000) - int64(1_700_000_000_000)%60000
	var candles []market.Candle
	for i, c := range closes {
		open := c
		if i > 0 {
			open = closes[i-1] + 0.5
		}
		candles = append(candles, market.Candle{Exchange: "x", Symbol: "BTCUSDT", Timeframe: market.TF1m,
			Time: base + int64(i+1)*60000, Open: open, High: max(open, c) + 0.25, Low: min(open, c) - 0.25, Close: c, Volume: 1, Trades: 1})
	}
	strat, err := strategies.Builtin().Get("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := strategies.Resolve(strat, map[string]string{"fast": "2", "slow": "3"})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := strat.New(vals)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultBrokerConfig() // 10,000 balance, fee 0.001, no slippage, stake = all equity
	res, err := Backtest(context.Background(), candles, inst, cfg, BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// By hand, with the fee formula of the issue. Buy with stake S = 10,000 at P = 11.5 (the
	// open of candle 7 = close 11 + 0.5): quantity = S / (P·(1 + fee)) (12 decimals,
	// truncated), fee = quantity·P·fee. Sell that quantity at P2 = 9.5 (the open of candle 10 =
	// close 9 + 0.5): proceeds = quantity·P2·(1 − fee). Money is kept to 8 decimals.
	d := func(s string) decimal.Decimal { return decimal.MustParse(s) }
	q := d("868.696520870433")         // 10000 / (11.5 × 1.001) = 868.69652087043391…, truncated to 12 places
	buyNotional := d("9990.00999001")  // q × 11.5 = 9990.0099900099795 → 8 places
	buyFee := d("9.99000999")          // 9990.00999001 × 0.001 = 9.99000999001 → 8 places
	sellNotional := d("8252.61694827") // q × 9.5 = 8252.6169482691135 → 8 places
	sellFee := d("8.25261695")         // 8252.61694827 × 0.001 = 8.25261694827 → 8 places
	finalCash := d("8244.36433132")    // 10000 − 9990.00999001 − 9.99000999 + 8252.61694827 − 8.25261695
	fees := d("18.24262694")           // 9.99000999 + 8.25261695
	pnl := d("-1755.63566868")         // finalCash − 10000

	if len(res.Trades) != 1 {
		t.Fatalf("%d trades, want 1: %+v", len(res.Trades), res.Trades)
	}
	tr := res.Trades[0]
	if tr.Side != "long" || tr.EntryTime != candles[7].Start() || tr.ExitTime != candles[10].Start() ||
		!tr.EntryPrice.Equal(d("11.5")) || !tr.ExitPrice.Equal(d("9.5")) || !tr.Quantity.Equal(q) || tr.ExitReason != "signal" {
		t.Fatalf("trade %+v\nwant long, entry at candle 7's open 11.5, exit at candle 10's open 9.5, quantity %s", tr, q)
	}
	if !tr.Fees.Equal(fees) || !tr.PnL.Equal(pnl) {
		t.Fatalf("fees %s pnl %s, want %s and %s", tr.Fees, tr.PnL, fees, pnl)
	}
	if !res.Cash.Equal(finalCash) || res.Metrics.FinalEquity != 8244.36433132 || len(res.Fills) != 2 ||
		!res.Fills[0].Notional.Equal(buyNotional) || !res.Fills[0].Fee.Equal(buyFee) ||
		!res.Fills[1].Notional.Equal(sellNotional) || !res.Fills[1].Fee.Equal(sellFee) {
		t.Fatalf("final cash %s, final equity %v, fills %+v", res.Cash, res.Metrics.FinalEquity, res.Fills)
	}
	// The signals: exit at candle 3 (nothing open), enter at 6, exit at 9.
	var acts []string
	for _, s := range res.Signals {
		for i, c := range candles {
			if c.Time == s.Time {
				acts = append(acts, s.Action.String()+"@"+strconv.Itoa(i))
			}
		}
	}
	if got := strings.Join(acts, " "); got != "exit@3 enter_long@6 exit@9" {
		t.Fatalf("signals %s", got)
	}
}
