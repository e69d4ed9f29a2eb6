package strategies

import (
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

func orderflowImbalance() Strategy {
	return &def{
		name: "orderflow_imbalance",
		desc: "order flow: long on OBI sustained above a threshold with rising CVD, out when OBI turns negative",
		params: []Param{
			floatParam("obi_threshold", 0.3, 0.01, 0.99, "book imbalance (OBI) level that must be held"),
			intParam("sustain", 5, 1, 100000, "consecutive snapshots the OBI must stay beyond the threshold"),
			allowShortParam,
		},
		build: func(name string, v Values) (Instance, error) {
			s := v.Int("sustain")
			return &flowInst{name: name, thr: v.Float("obi_threshold"), sustain: s,
				allowShort: v.Bool("allow_short"), cvd: make([]float64, s+1),
				obi: math.NaN(), lastCVD: math.NaN()}, nil
		},
	}
}

// flowInst is orderflow_imbalance, which trades on order-flow snapshots (StepFlow); its Step on
// candles always returns Hold (carrying the latest flow Value, Direction and Confidence).
//
// With s = sustain and thr = obi_threshold, on each snapshot:
//   - the CVD slope is (CVD now − CVD s snapshots earlier)/s, the net taker flow per snapshot
//     over the run (undefined until s+1 snapshots have been seen);
//   - long condition: the OBI has been > thr on the last s snapshots (this one included) and
//     the slope is > 0; EnterLong on the snapshot where the long condition becomes true;
//   - with allow_short, short condition: OBI < −thr on the last s snapshots and slope < 0;
//     EnterShort where it becomes true;
//   - otherwise Exit when the OBI crosses below 0 (OBI < 0 now, ≥ 0 on the previous
//     snapshot), and with allow_short also when it crosses above 0 (the short's exit): the
//     book no longer leans the position's way.
//
// Value = (OBI + 1)/2 in [0, 1]; Direction is the sign of the OBI; Confidence is
// gradeThreshold(Value, (1 + thr)/2): Low while |OBI| ≤ thr, Medium in the first half of the
// way from thr to 1, High beyond.
type flowInst struct {
	name       string
	thr        float64
	sustain    int
	allowShort bool

	cvd        []float64 // ring of the last sustain+1 CVD values
	next, seen int
	up, down   int // consecutive snapshots with OBI > thr, OBI < −thr
	longOn     bool
	shortOn    bool
	obi        float64 // latest, NaN before the first snapshot
	lastCVD    float64
	haveOBI    bool
}

func (f *flowInst) AllowsShort() bool { return f.allowShort }

func (f *flowInst) Step(c market.Candle) Signal {
	if !f.haveOBI {
		return warming(f.name, c.Time)
	}
	return f.signal(c.Time)
}

func (f *flowInst) signal(t int64) Signal {
	v := clamp((f.obi+1)/2, 0, 1)
	if v != v { // a NaN OBI (never produced by market.OBI) reads as neutral
		v = 0.5
	}
	sig := Signal{Time: t, Strategy: f.name, Value: v, Confidence: gradeThreshold(v, (1+f.thr)/2)}
	switch {
	case f.obi > 0:
		sig.Direction = Long
	case f.obi < 0:
		sig.Direction = Short
	}
	return sig
}

func (f *flowInst) StepFlow(p FlowPoint) Signal {
	n := len(f.cvd)
	f.cvd[f.next] = p.CVD
	f.next = (f.next + 1) % n
	if f.seen < n {
		f.seen++
	}
	// f.next is now the oldest slot: the CVD sustain snapshots before this one, once full.
	slope := math.NaN()
	if f.seen == n {
		slope = (p.CVD - f.cvd[f.next]) / float64(f.sustain)
	}
	if p.OBI > f.thr {
		f.up++
	} else {
		f.up = 0
	}
	if p.OBI < -f.thr {
		f.down++
	} else {
		f.down = 0
	}
	longOn := f.up >= f.sustain && slope > 0
	shortOn := f.allowShort && f.down >= f.sustain && slope < 0

	prev, had := f.obi, f.haveOBI
	f.obi, f.lastCVD, f.haveOBI = p.OBI, p.CVD, true
	sig := f.signal(p.Time)
	switch {
	case longOn && !f.longOn:
		sig.Action = EnterLong
	case shortOn && !f.shortOn:
		sig.Action = EnterShort
	case had && p.OBI < 0 && prev >= 0:
		sig.Action = Exit
	case had && f.allowShort && p.OBI > 0 && prev <= 0:
		sig.Action = Exit
	}
	f.longOn, f.shortOn = longOn, shortOn
	return sig
}

func (f *flowInst) Plots() []string { return []string{"obi", "cvd"} }

func (f *flowInst) PlotValues(dst []float64) []float64 { return append(dst, f.obi, f.lastCVD) }
