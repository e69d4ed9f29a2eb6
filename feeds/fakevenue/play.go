package fakevenue

import (
	"context"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Played is a player of s that has played, to one subscriber taking every channel of every
// symbol, up to script time at (from the start), where it stalls until the test ends; with at
// 0, to the script's end. A fake on it then answers REST as the venue would at that moment.
func Played(tb testing.TB, s *Script, at time.Duration) *Player {
	tb.Helper()
	var opt PlayerOptions
	if at > 0 {
		opt.Faults = Faults{StallAt: at, StallFor: time.Hour}
	}
	p := NewPlayer(s, opt)
	sub := p.Attach()
	for _, sym := range s.Config.Symbols {
		for _, ch := range []string{market.ChannelTrades, market.ChannelBook, market.ChannelCandles} {
			sub.Subscribe(sym, ch, false)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained, ran := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-sub.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { defer close(ran); _ = p.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-drained; <-ran })
	deadline := time.Now().Add(20 * time.Second)
	for !p.Done() && !p.Stalled() {
		if time.Now().After(deadline) {
			tb.Fatalf("the player did not reach %s of the script", at)
		}
		time.Sleep(time.Millisecond) // polling the player's progress, with a deadline
	}
	return p
}
