package strategies

import (
	"slices"
	"testing"

	"github.com/tradeconsole/tradeconsole/market"
)

const minute = int64(60_000)

// candlesOf makes 1m candles with O=H=L=C=close, stamped (i+1) minutes.
func candlesOf(closes ...float64) []market.Candle {
	cs := make([]market.Candle, len(closes))
	for i, c := range closes {
		cs[i] = market.Candle{Timeframe: market.TF1m, Time: int64(i+1) * minute,
			Open: c, High: c, Low: c, Close: c, Volume: 1, Trades: 1}
	}
	return cs
}

// newInst builds a builtin with text params.
func newInst(t *testing.T, name string, params map[string]string) Instance {
	t.Helper()
	s, err := Builtin().Get(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Resolve(s, params)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := s.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// actionsAt maps candle index → action; every other candle must be Hold.
type actionsAt map[int]Action

func checkActions(t *testing.T, inst Instance, cs []market.Candle, want actionsAt) []Signal {
	t.Helper()
	var sigs []Signal
	for i, c := range cs {
		s := inst.Step(c)
		sigs = append(sigs, s)
		w := want[i]
		if s.Action != w {
			t.Errorf("candle %d (close %g): %v, want %v (value %.4f)", i, c.Close, s.Action, w, s.Value)
		}
		if s.Time != c.Time {
			t.Errorf("candle %d: signal time %d, want %d", i, s.Time, c.Time)
		}
		if s.Value < 0 || s.Value > 1 {
			t.Errorf("candle %d: value %g outside [0, 1]", i, s.Value)
		}
	}
	return sigs
}

// TestSMACrossActions: fast = 2, slow = 3 on closes 10,10,10,9,8,9,11,12,11,9,8.
//
//	i  close  sma2   sma3    fast − slow
//	0  10     –      –
//	1  10     10     –
//	2  10     10     10       0        (first candle with both ready: no action)
//	3   9     9.5    9.667   −0.167    fast < slow now, fast ≥ slow before → cross below: Exit
//	4   8     8.5    9       −0.5
//	5   9     8.5    8.667   −0.167
//	6  11    10      9.333   +0.667    fast > slow now, ≤ before → cross above: EnterLong
//	7  12    11.5   10.667   +0.833
//	8  11    11.5   11.333   +0.167
//	9   9    10     10.667   −0.667    cross below: Exit
//	10  8     8.5    9.333   −0.833
func TestSMACrossActions(t *testing.T) {
	cs := candlesOf(10, 10, 10, 9, 8, 9, 11, 12, 11, 9, 8)
	sigs := checkActions(t, newInst(t, "sma_cross", map[string]string{"fast": "2", "slow": "3"}), cs,
		actionsAt{3: Exit, 6: EnterLong, 9: Exit})
	inst := newInst(t, "sma_cross", map[string]string{"fast": "2", "slow": "3", "allow_short": "true"})
	if !inst.AllowsShort() {
		t.Error("allow_short=true but AllowsShort() is false")
	}
	checkActions(t, inst, cs, actionsAt{3: EnterShort, 6: EnterLong, 9: EnterShort})

	// Value = 0.5 + clamp(10·(fast − slow)/slow, ±0.5), Direction, Confidence:
	// candle 6: 10·(0.667/9.333) = 0.714 → 1, Long, High; candle 8: 10·0.167/11.333 = 0.147 →
	// 0.647, Long, Medium (|diff|/slow 1.47%); candle 4: −10·0.5/9 = −0.556 → 0, Short, High;
	// candle 5: −10·0.167/8.667 = −0.192 → 0.308, Short, Medium; candle 2: 0.5, Flat, Low;
	// candle 1: warming.
	for _, c := range []struct {
		i    int
		v    float64
		d    Direction
		conf Confidence
	}{{1, 0.5, Flat, Low}, {2, 0.5, Flat, Low}, {6, 1, Long, High}, {8, 0.5 + 10*(1.0/6)/(34.0/3), Long, Medium},
		{4, 0, Short, High}, {5, 0.5 - 10*(1.0/6)/(26.0/3), Short, Medium}} {
		s := sigs[c.i]
		if !near(s.Value, c.v, 1e-12) || s.Direction != c.d || s.Confidence != c.conf || s.Strategy != "sma_cross" {
			t.Errorf("candle %d: value %g %v %v %q, want %g %v %v", c.i, s.Value, s.Direction, s.Confidence, s.Strategy, c.v, c.d, c.conf)
		}
	}
	// a tiny difference is Low: |diff|/slow below 1%
	if g := gradeCentre(ratioValue(100.5, 100)); g != Low {
		t.Errorf("0.5%% apart: %v", g)
	}
}

// TestEMACrossActions: fast = 2 (α 2/3), slow = 3 (α 1/2), both seeded with the SMA of their
// first values, on the sma_cross series:
//
//	i  close  ema2     ema3     fast − slow
//	2  10     10       10        0
//	3   9     9.3333   9.5      −0.1667   Exit
//	4   8     8.4444   8.75     −0.3056
//	5   9     8.8148   8.875    −0.0602
//	6  11    10.2716   9.9375   +0.3341   EnterLong
//	7  12    11.4239  10.9688   +0.4551
//	8  11    11.1413  10.9844   +0.1569
//	9   9     9.7138   9.9922   −0.2784   Exit
//	10  8     8.5713   8.9961   −0.4248
func TestEMACrossActions(t *testing.T) {
	cs := candlesOf(10, 10, 10, 9, 8, 9, 11, 12, 11, 9, 8)
	checkActions(t, newInst(t, "ema_cross", map[string]string{"fast": "2", "slow": "3"}), cs,
		actionsAt{3: Exit, 6: EnterLong, 9: Exit})
	checkActions(t, newInst(t, "ema_cross", map[string]string{"fast": "2", "slow": "3", "allow_short": "1"}), cs,
		actionsAt{3: EnterShort, 6: EnterLong, 9: EnterShort})
}

// TestRSIActions: period 2 (Wilder), oversold 30, overbought 70.
//
//	i  close  change  avg gain   avg loss   RSI
//	0  10
//	1   9     −1
//	2   8     −1      0          1           0        first RSI (mean of 2 changes): no action
//	3   9     +1      0.5        0.5        50        crosses up through 30: EnterLong
//	4  10     +1      0.75       0.25       75
//	5  11     +1      0.875      0.125      87.5
//	6  10     −1      0.4375     0.5625     43.75     crosses down through 70: Exit
//	7   9     −1      0.21875    0.78125    21.875
//	8  10     +1      0.609375   0.390625   60.9375   crosses up through 30: EnterLong
//	9  10      0      0.3046875  0.1953125  60.9375
func TestRSIActions(t *testing.T) {
	cs := candlesOf(10, 9, 8, 9, 10, 11, 10, 9, 10, 10)
	sigs := checkActions(t, newInst(t, "rsi", map[string]string{"period": "2"}), cs,
		actionsAt{3: EnterLong, 6: Exit, 8: EnterLong})
	// Value = 1 − RSI/100
	for i, rsi := range map[int]float64{2: 0, 3: 50, 4: 75, 5: 87.5, 6: 43.75, 7: 21.875, 8: 60.9375} {
		if !near(sigs[i].Value, 1-rsi/100, 1e-12) {
			t.Errorf("candle %d: value %g, want %g", i, sigs[i].Value, 1-rsi/100)
		}
	}
	if sigs[7].Direction != Long || sigs[7].Confidence != High || sigs[5].Direction != Short || sigs[3].Direction != Flat {
		t.Errorf("directions/confidences: %+v %+v %+v", sigs[7], sigs[5], sigs[3])
	}
	checkActions(t, newInst(t, "rsi", map[string]string{"period": "2", "allow_short": "yes"}), cs,
		actionsAt{3: EnterLong, 6: EnterShort, 8: EnterLong})
	// other levels: oversold 55 → the first upward crossing of 55 is at candle 4 (50 → 75);
	// overbought 80 → the first downward crossing of 80 at candle 6 (87.5 → 43.75); candle 8
	// (21.875 → 60.9375) crosses 55 again.
	checkActions(t, newInst(t, "rsi", map[string]string{"period": "2", "oversold": "55", "overbought": "80"}), cs,
		actionsAt{4: EnterLong, 6: Exit, 8: EnterLong})
}

// TestBollingerActions: period 3, k = 1 (population σ).
//
//	i  close  lower    middle   upper    notes
//	2  10     10       10       10       first ready candle
//	3   7      7.586    9       10.414   close below the lower band; crosses below the middle (10 → 7)
//	4   8      7.086    8.333    9.581   crosses back above the lower band (7 ≤ 7.586 → 8 > 7.086): EnterLong
//	5  10      7.086    8.333    9.581   crosses above the middle (8 ≤ 8.333 → 10 > 8.333): Exit
//	6  11      8.419    9.667   10.914
//	7  14      9.967   11.667   13.366   above the upper band
//	8  13     11.419   12.667   13.914   crosses back below the upper band (14 ≥ 13.366 → 13): EnterShort (allow_short)
//	9  11     11.419   12.667   13.914   crosses below the middle (13 ≥ 12.667 → 11): Exit (allow_short)
//	10 10     10.086   11.333   12.581
//	11  9      9.184   10       10.816
//	12 10      9.195    9.667   10.138   crosses back above the lower band AND above the middle
//	                                     (9 ≤ 10 → 10 > 9.667): the exit wins, Exit
func TestBollingerActions(t *testing.T) {
	cs := candlesOf(10, 10, 10, 7, 8, 10, 11, 14, 13, 11, 10, 9, 10)
	checkActions(t, newInst(t, "bollinger", map[string]string{"period": "3", "k": "1"}), cs,
		actionsAt{4: EnterLong, 5: Exit, 12: Exit})
	checkActions(t, newInst(t, "bollinger", map[string]string{"period": "3", "k": "1", "allow_short": "true"}), cs,
		actionsAt{3: Exit, 4: EnterLong, 5: Exit, 8: EnterShort, 9: Exit, 12: Exit})
}

// TestMACDActions: fast 2, slow 3, signal 2.
//
//	i  close  line      signal    hist
//	3  10      0         0         0        first ready candle
//	4  11      0.1667    0.1111   +0.0556   line crosses above signal (0 ≤ 0 before): EnterLong
//	5  12      0.3056    0.2407   +0.0648
//	6  13      0.3935    0.3426   +0.0509
//	7  12      0.1103    0.1878   −0.0774   crosses below: Exit
//	8  11     −0.1403   −0.0309   −0.1094
//	9  10     −0.3020   −0.2116   −0.0903
//	10 10     −0.2283   −0.2227   −0.0055
//	11 11      0.0268   −0.0564   +0.0832   crosses above: EnterLong
//	12 12      0.2270    0.1326   +0.0945
func TestMACDActions(t *testing.T) {
	cs := candlesOf(10, 10, 10, 10, 11, 12, 13, 12, 11, 10, 10, 11, 12)
	p := map[string]string{"fast": "2", "slow": "3", "signal": "2"}
	sigs := checkActions(t, newInst(t, "macd", p), cs, actionsAt{4: EnterLong, 7: Exit, 11: EnterLong})
	// Value = 0.5 + clamp(100·hist/close, ±0.5): candle 4: 100·(1/18)/11 = 0.505 → 1
	if sigs[4].Value != 1 || sigs[4].Direction != Long || sigs[3].Value != 0.5 || sigs[3].Direction != Flat {
		t.Errorf("candle 4: %+v; candle 3: %+v", sigs[4], sigs[3])
	}
	p["allow_short"] = "true"
	checkActions(t, newInst(t, "macd", p), cs, actionsAt{4: EnterLong, 7: EnterShort, 11: EnterLong})
}

// TestMASignalActions: fast 2, slow 3, threshold 0.55 (enter above 0.55, exit below 0.45).
//
//	i  close  sma2   sma3     value = 0.5 + 10·(sma2 − sma3)/sma3
//	2  100    100    100      0.5
//	3  102    101    100.667  0.5331
//	4  103    102.5  101.667  0.5820   crosses above 0.55: EnterLong
//	5  101    102    102      0.5
//	6   99    100    101      0.4010   crosses below 0.45: Exit
//	7   97     98     99      0.3990
//	8   98     97.5   98      0.4490
//	9  100     99     98.333  0.5678   crosses above 0.55: EnterLong
func TestMASignalActions(t *testing.T) {
	cs := candlesOf(100, 100, 100, 102, 103, 101, 99, 97, 98, 100)
	p := map[string]string{"fast": "2", "slow": "3", "threshold": "0.55"}
	sigs := checkActions(t, newInst(t, "ma_signal", p), cs, actionsAt{4: EnterLong, 6: Exit, 9: EnterLong})
	// Confidence against the threshold: 0.5820 is past 0.55 by less than half of (1 − 0.55):
	// Medium; 0.5331 has not passed it: Low; 0.4010 is past 0.45 (mirrored: 0.599 > 0.55):
	// Medium.
	if !near(sigs[4].Value, 0.5+10*(102.5-305.0/3)/(305.0/3), 1e-12) || sigs[4].Confidence != Medium ||
		sigs[3].Confidence != Low || sigs[6].Confidence != Medium || sigs[6].Direction != Short {
		t.Errorf("signals: %+v %+v %+v", sigs[3], sigs[4], sigs[6])
	}
	p["allow_short"] = "true"
	checkActions(t, newInst(t, "ma_signal", p), cs, actionsAt{4: EnterLong, 6: EnterShort, 9: EnterLong})
}

// TestRSISignalActions: period 2, threshold 0.7, on the TestRSIActions series; value = 1 −
// RSI/100: candle 2: 1 (first: no action), 3: 0.5, 4: 0.25 (crosses below 0.3: Exit), 5:
// 0.125, 6: 0.5625, 7: 0.78125 (crosses above 0.7: EnterLong), 8 and 9: 0.390625.
func TestRSISignalActions(t *testing.T) {
	cs := candlesOf(10, 9, 8, 9, 10, 11, 10, 9, 10, 10)
	sigs := checkActions(t, newInst(t, "rsi_signal", map[string]string{"period": "2"}), cs, actionsAt{4: Exit, 7: EnterLong})
	if sigs[7].Value != 0.78125 || sigs[7].Confidence != Medium || sigs[2].Value != 1 {
		t.Errorf("signals: %+v %+v", sigs[2], sigs[7])
	}
	checkActions(t, newInst(t, "rsi_signal", map[string]string{"period": "2", "allow_short": "true"}), cs,
		actionsAt{4: EnterShort, 7: EnterLong})
}

// TestBollingerSignalActions: period 3, k 1, threshold 0.8, on the TestBollingerActions series;
// value = clamp(1 − %b, 0, 1):
//
//	i   %b       value
//	2   0.5      0.5      first ready candle
//	3  −0.2071   1        crosses above 0.8: EnterLong
//	4   0.3664   0.6336
//	5   1.1682   0        crosses below 0.2: Exit
//	6   1.0345   0
//	7   1.1864   0
//	8   0.6336   0.3664
//	9  −0.1682   1        EnterLong
//	10 −0.0345   1
//	11 −0.1124   1
//	12  0.8536   0.1464   Exit
func TestBollingerSignalActions(t *testing.T) {
	cs := candlesOf(10, 10, 10, 7, 8, 10, 11, 14, 13, 11, 10, 9, 10)
	p := map[string]string{"period": "3", "k": "1"}
	sigs := checkActions(t, newInst(t, "bollinger_signal", p), cs, actionsAt{3: EnterLong, 5: Exit, 9: EnterLong, 12: Exit})
	if sigs[3].Value != 1 || sigs[3].Confidence != High || sigs[5].Value != 0 || sigs[5].Direction != Short {
		t.Errorf("signals: %+v %+v", sigs[3], sigs[5])
	}
	p["allow_short"] = "true"
	checkActions(t, newInst(t, "bollinger_signal", p), cs, actionsAt{3: EnterLong, 5: EnterShort, 9: EnterLong, 12: EnterShort})
}

// TestWaveletReversalActions: window 16, threshold 0.8, hold 3. Closes: a smooth rise
// 100…115 (candles 0–15), a choppy fall 113,117,111,115,109,113,107,111 (16–23), then a
// smooth rise 112…123 (24–35). Scores of the last 16 closes (ratio = E(d1) share, falling =
// last a3 < first a3; computed by hand with the definition, cross-checked by refWaveletScore):
//
//	i   ratio   falling  score
//	15  0.0118  no       0        first full window: no action
//	16–23 ≤ 0.43 no      0
//	24  0.58    yes      0.87     crosses above 0.8: EnterLong (hold count starts)
//	25  0.3736  yes      0
//	26  0.6591  yes      0.9886   crosses above 0.8 again: EnterLong (count restarts)
//	27  0.3736  yes      0
//	28  0.58    yes      0.87     EnterLong (count restarts)
//	29, 30              0
//	31                   0        3 candles after the last entry: Exit
func TestWaveletReversalActions(t *testing.T) {
	var closes []float64
	for i := range 16 {
		closes = append(closes, 100+float64(i))
	}
	closes = append(closes, 113, 117, 111, 115, 109, 113, 107, 111)
	for i := range 12 {
		closes = append(closes, 112+float64(i))
	}
	cs := candlesOf(closes...)
	inst := newInst(t, "wavelet_reversal", map[string]string{"window": "16", "threshold": "0.8", "hold": "3"})
	sigs := checkActions(t, inst, cs, actionsAt{24: EnterLong, 26: EnterLong, 28: EnterLong, 31: Exit})
	for i := 15; i < len(cs); i++ {
		want, _, _ := refWaveletScore(closes[i-15 : i+1])
		if !near(sigs[i].Value, want, 1e-12) {
			t.Errorf("candle %d: score %g, reference %g", i, sigs[i].Value, want)
		}
	}
	if !near(sigs[24].Value, 0.87, 1e-3) || sigs[24].Direction != Long || sigs[24].Confidence != Medium ||
		sigs[25].Direction != Flat || sigs[25].Confidence != Low || sigs[26].Confidence != High {
		t.Errorf("signals: %+v %+v %+v", sigs[24], sigs[25], sigs[26])
	}
	if inst.AllowsShort() {
		t.Error("wavelet_reversal is long only")
	}
	// a longer hold: the exit comes 10 candles after candle 28
	checkActions(t, newInst(t, "wavelet_reversal", map[string]string{"window": "16", "hold": "10"}),
		candlesOf(append(closes, 124, 125, 126, 127, 128)...), actionsAt{24: EnterLong, 26: EnterLong, 28: EnterLong, 38: Exit})
}

// TestOrderflowImbalanceActions: obi_threshold 0.3, sustain 3; slope = (CVD now − CVD 3
// snapshots earlier)/3.
//
//	i   OBI    CVD  run>0.3  slope   action
//	0   0.1    0    0
//	1   0.4    1    1
//	2   0.5    2    2
//	3   0.6    3    3        +1      long condition becomes true: EnterLong
//	4   0.5    4    4        +1      still true: Hold
//	5   0.2    4    0
//	6  −0.1    3    0                OBI crosses below 0: Exit
//	7   0.4    2    1                (allow_short: OBI crosses above 0: Exit)
//	8   0.4    1    2
//	9   0.4    0    3        −1      sustained but CVD falling: no entry
//	10  0.4    1    4        −1/3
//	11  0.5    3    5        +2/3    confirmed: EnterLong
//	12 −0.2    2    0                Exit
//	13 −0.4    1    run<−0.3 1
//	14 −0.5    0             2
//	15 −0.6   −1             3  −1   allow_short: EnterShort
//	16  0.1   −1                     allow_short: OBI crosses above 0: Exit
func TestOrderflowImbalanceActions(t *testing.T) {
	type pt struct{ obi, cvd float64 }
	pts := []pt{{0.1, 0}, {0.4, 1}, {0.5, 2}, {0.6, 3}, {0.5, 4}, {0.2, 4}, {-0.1, 3}, {0.4, 2}, {0.4, 1},
		{0.4, 0}, {0.4, 1}, {0.5, 3}, {-0.2, 2}, {-0.4, 1}, {-0.5, 0}, {-0.6, -1}, {0.1, -1}}
	run := func(allowShort string, want actionsAt) []Signal {
		inst := newInst(t, "orderflow_imbalance", map[string]string{"sustain": "3", "allow_short": allowShort})
		fs, ok := inst.(FlowStepper)
		if !ok {
			t.Fatal("orderflow_imbalance does not implement FlowStepper")
		}
		var sigs []Signal
		for i, p := range pts {
			ts := int64(i+1) * 1000
			s := fs.StepFlow(FlowPoint{Time: ts, OBI: p.obi, CVD: p.cvd})
			sigs = append(sigs, s)
			if s.Action != want[i] || s.Time != ts {
				t.Errorf("allow_short=%s snapshot %d (OBI %g CVD %g): %v at %d, want %v", allowShort, i, p.obi, p.cvd, s.Action, s.Time, want[i])
			}
			// candles never trade
			if c := inst.Step(market.Candle{Time: ts + 500, Close: 100}); c.Action != Hold || c.Value != s.Value {
				t.Errorf("candle step after snapshot %d: %+v", i, c)
			}
		}
		return sigs
	}
	sigs := run("false", actionsAt{3: EnterLong, 6: Exit, 11: EnterLong, 12: Exit})
	run("true", actionsAt{3: EnterLong, 6: Exit, 7: Exit, 11: EnterLong, 12: Exit, 15: EnterShort, 16: Exit})
	// Value = (OBI + 1)/2; Confidence against (1 + 0.3)/2 = 0.65: OBI 0.6 → 0.8 (past 0.65, in
	// the first half of [0.65, 1]): Medium; OBI 0.1 → Low; OBI −0.6 → 0.2, mirrored 0.8: Medium.
	if sigs[3].Value != 0.8 || sigs[3].Confidence != Medium || sigs[3].Direction != Long || sigs[0].Confidence != Low ||
		sigs[15].Direction != Short || sigs[15].Confidence != Medium {
		t.Errorf("signals: %+v %+v %+v", sigs[0], sigs[3], sigs[15])
	}
	// before any snapshot a candle step is a warming Hold
	inst := newInst(t, "orderflow_imbalance", nil)
	if s := inst.Step(market.Candle{Time: 5, Close: 1}); s != warming("orderflow_imbalance", 5) {
		t.Errorf("first candle: %+v", s)
	}
}

// TestPlotters: every builtin plots as many values as it names series, NaN while warming up.
func TestPlotters(t *testing.T) {
	reg := Builtin()
	cs := candlesOf(slices.Repeat([]float64{100, 101, 99, 102}, 30)...)
	for _, name := range reg.Names() {
		inst := newInst(t, name, nil)
		p, ok := inst.(Plotter)
		if !ok {
			t.Errorf("%s: not a Plotter", name)
			continue
		}
		names := p.Plots()
		if len(names) == 0 || slices.Contains(names, "") {
			t.Errorf("%s: plots %q", name, names)
		}
		vals := p.PlotValues(nil)
		if len(vals) != len(names) {
			t.Errorf("%s: %d values for %d plots", name, len(vals), len(names))
		}
		for _, v := range vals {
			if v == v {
				t.Errorf("%s: plot value %g before any step, want NaN", name, v)
			}
		}
		for _, c := range cs {
			inst.Step(c)
			if fs, ok := inst.(FlowStepper); ok {
				fs.StepFlow(FlowPoint{Time: c.Time, OBI: 0.2, CVD: 1})
			}
		}
		vals = p.PlotValues([]float64{42})
		if len(vals) != len(names)+1 || vals[0] != 42 {
			t.Errorf("%s: PlotValues does not append: %v", name, vals)
		}
		for i, v := range vals[1:] {
			if v != v {
				t.Errorf("%s: plot %s still NaN after %d candles", name, names[i], len(cs))
			}
		}
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	cs := randomCandles(1, 2000)
	for _, name := range Builtin().Names() {
		inst := newInst(t, name, nil)
		fs, _ := inst.(FlowStepper)
		for _, c := range cs[:1000] {
			inst.Step(c)
			if fs != nil {
				fs.StepFlow(FlowPoint{Time: c.Time, OBI: c.Close/100 - 1, CVD: c.Volume})
			}
		}
		i := 1000
		allocs := testing.AllocsPerRun(500, func() {
			c := cs[i%len(cs)]
			i++
			inst.Step(c)
			if fs != nil {
				fs.StepFlow(FlowPoint{Time: c.Time, OBI: c.Close/100 - 1, CVD: c.Volume})
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %g allocations per step", name, allocs)
		}
	}
}
