package fakevenue

import (
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

func TestScriptIsDeterministicAndKlinesAreItsTrades(t *testing.T) {
	cfg := ScriptConfig{Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}, Duration: 3 * time.Minute, Seed: 7}
	a, b := Generate(cfg), Generate(cfg)
	if len(a.Events) != len(b.Events) || len(a.Events) < 4000 {
		t.Fatalf("events: %d vs %d", len(a.Events), len(b.Events))
	}
	for i := range a.Events {
		if a.Events[i].Time != b.Events[i].Time {
			t.Fatalf("event %d differs", i)
		}
	}
	for _, sym := range cfg.Symbols {
		ks := a.Klines(sym)
		if len(ks) != 3 {
			t.Fatalf("%s: %d klines, want 3", sym, len(ks))
		}
		var vol float64
		n := int64(0)
		for _, tr := range a.Trades(sym) {
			q, _ := strconv.ParseFloat(tr.Size, 64)
			vol += q
			n++
		}
		var kv float64
		var kn int64
		for _, k := range ks {
			kv += k.Volume
			kn += k.Trades
			if k.Time%60000 != 0 || k.High < k.Low || k.Open > k.High || k.Close < k.Low {
				t.Fatalf("bad kline %+v", k)
			}
		}
		if kn != n || math.Abs(kv-vol) > 1e-6 {
			t.Fatalf("%s: klines hold %d trades / %.6f, the trades are %d / %.6f", sym, kn, kv, n, vol)
		}
	}
	// Events are in time order, a kline before the trades of its end millisecond.
	for i := 1; i < len(a.Events); i++ {
		if a.Events[i].Time < a.Events[i-1].Time {
			t.Fatalf("event %d out of order", i)
		}
	}
	five := Interval(Generate(ScriptConfig{Duration: 10 * time.Minute, Seed: 1}).Klines("BTCUSDT"), market.TF5m)
	if len(five) != 2 || five[0].Time%300000 != 0 {
		t.Fatalf("5m = %+v", five)
	}
}

// The player withholds one delta per GapEvery and drops every connection per DropEvery, losing
// DropLose of script time, and waits for a full subscription before it goes on.
func TestPlayerGapsAndDrops(t *testing.T) {
	s := Generate(ScriptConfig{Duration: 3 * time.Minute, Seed: 3})
	p := NewPlayer(s, PlayerOptions{Faults: Faults{DropEvery: 50 * time.Second, DropLose: 5 * time.Second, GapEvery: 20 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var trades, jumps, snaps, drops int
	last := int64(-1)
	handle := func(o Out) {
		switch o.Kind {
		case OutTrade:
			trades++
		case OutSnapshot:
			snaps++
			last = o.Snapshot.Seq
		case OutBook:
			if o.PrevSeq != last {
				jumps++
			}
			last = o.Delta.Seq
		}
	}
	for ended := false; !ended; {
		sub := p.Attach()
		sub.Subscribe("BTCUSDT", market.ChannelTrades, false)
		sub.Subscribe("BTCUSDT", market.ChannelCandles, false)
		sub.Subscribe("BTCUSDT", market.ChannelBook, true)
	read:
		for {
			select {
			case o := <-sub.C:
				handle(o)
			case <-sub.Dropped:
				drops++
				break read
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				for len(sub.C) > 0 {
					handle(<-sub.C)
				}
				ended = true
				break read
			}
		}
	}
	d, g, _ := p.Counts()
	if d != 3 || drops != 3 || snaps != 4 {
		t.Fatalf("drops %d (seen %d), snapshots %d; want 3, 3, 4", d, drops, snaps)
	}
	if g != 8 || jumps < g-1 {
		t.Fatalf("gaps %d, jumps seen %d; want 8 withheld deltas", g, jumps)
	}
	lost := 0
	for _, tr := range s.Trades("BTCUSDT") {
		off := tr.Time - s.Config.Start
		if (off >= 50000 && off < 55000) || (off >= 100000 && off < 105000) || (off >= 150000 && off < 155000) {
			lost++
		}
	}
	if trades+lost < len(s.Trades("BTCUSDT"))-2 || trades+lost > len(s.Trades("BTCUSDT")) {
		t.Fatalf("trades received %d + lost %d, script has %d", trades, lost, len(s.Trades("BTCUSDT")))
	}
}

// A client that joins a running venue (From) gets the books as they stand then and only the
// events after it; the faults count from there.
func TestPlayerFrom(t *testing.T) {
	s := Generate(ScriptConfig{Duration: 2 * time.Minute, Seed: 4})
	from := s.Config.Start + 70_000
	p := NewPlayer(s, PlayerOptions{From: from, Faults: Faults{DropEvery: 30 * time.Second, DropLose: time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	sub := p.Attach()
	sub.Subscribe("BTCUSDT", market.ChannelTrades, false)
	sub.Subscribe("BTCUSDT", market.ChannelCandles, false)
	sub.Subscribe("BTCUSDT", market.ChannelBook, true)
	// The books as the events before from leave them.
	want := s.Initial["BTCUSDT"].Clone()
	for _, ev := range s.Events {
		if ev.Time >= from {
			break
		}
		if ev.Book != nil {
			want.Apply(ev.Book)
		}
	}
	var first *Out
	for first == nil {
		select {
		case o := <-sub.C:
			if o.Kind == OutSnapshot {
				if o.Snapshot.Seq != want.Seq || !slices.Equal(o.Snapshot.Bids(0), want.Bids(0)) || !slices.Equal(o.Snapshot.Asks(0), want.Asks(0)) {
					t.Fatalf("snapshot at seq %d, want the book at %d", o.Snapshot.Seq, want.Seq)
				}
				continue
			}
			first = &o
		case <-sub.Dropped:
			t.Fatal("dropped before the first event")
		}
	}
	if first.Time < from {
		t.Fatalf("the first event sent is at %d, before from %d", first.Time, from)
	}
	// The first drop comes 30 s of script time after from (at 100 s), not at 30 s.
	var last int64
	for {
		select {
		case o := <-sub.C:
			last = o.Time
			continue
		case <-sub.Dropped:
		}
		break
	}
	if off := last - s.Config.Start; off < 99_000 || off > 100_000 {
		t.Fatalf("the last event before the drop is %d ms into the script, want just under 100 s", off)
	}
	cancel()
	<-done
}
