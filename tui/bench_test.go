package tui

import (
	"testing"
	"time"

	"github.com/muesli/termenv"
)

// BenchmarkMarketFrame200x50 is a full rebuild of the Market pane at 200×50 (TrueColor): 300
// candles through ntcharts, a full trades tape, and the order-flow column (book read, 15
// levels a side, OBI and CVD mini-charts of 39 bars).
func BenchmarkMarketFrame200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	p := h.market()
	if p.candles.Len() != 300 || p.tape.Len() != 200 {
		b.Fatalf("candles %d, tape %d", p.candles.Len(), p.tape.Len())
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.dirty, p.flowDirty = true, true
		p.Frame(now)
	}
}

// BenchmarkMarketFlowFrame200x50 is the Market pane's frame after an order-flow event only:
// the chart and tape stay cached, the order-flow column is rebuilt.
func BenchmarkMarketFlowFrame200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	p := h.market()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.flowDirty = true
		p.Frame(now)
	}
}

// BenchmarkOrderFlowFrame200x50 is a full rebuild of the Order flow pane at 200×50
// (TrueColor): 192 one-minute bars read from the backend, candles through ntcharts, volume,
// OBI and CVD panels.
func BenchmarkOrderFlowFrame200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	h.key("2")
	p := h.orderFlow()
	if p.chart.graphW != 192 {
		b.Fatalf("graph width %d", p.chart.graphW)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.dirty = true
		p.Frame(now)
	}
}

// BenchmarkView200x50 is View() with the frame cached.
func BenchmarkView200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += len(h.m.View())
	}
	if n == 0 {
		b.Fatal("empty view")
	}
}

// BenchmarkIdleTick200x50 is a frame tick when nothing changed.
func BenchmarkIdleTick200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.m.Update(frameMsg(h.wall))
	}
}

// BenchmarkFullFrame200x50 is a frame tick after a live candle update: Market pane rebuild
// plus joining the frame.
func BenchmarkFullFrame200x50(b *testing.B) {
	h := newHarness(b, newFake(), termenv.TrueColor, 200, 50)
	p := h.market()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.dirty = true
		h.m.Update(frameMsg(h.wall))
	}
}
