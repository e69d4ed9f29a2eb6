package binance

import (
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

const syncWait = 5 * time.Second

func synced(u *unit, sym market.Symbol, n int) func() bool {
	return func() bool { return u.sink.count(market.StreamSynced, sym) >= n }
}

// Steps 1–6: events are buffered until the snapshot; those it covers (u ≤ lastUpdateId) are
// dropped, the first kept one straddles lastUpdateId+1, the rest apply in order.
func TestSyncBufferThenSnapshot(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 101, 103, [][2]string{{"99.0", "7"}}, nil))                                   // covered by the snapshot
	u.handle(t, depthFrame("BTCUSDT", 104, 106, [][2]string{{"100.0", "5"}}, [][2]string{{"101.0", "0.00000000"}})) // U ≤ 105 ≤ u
	u.handle(t, depthFrame("BTCUSDT", 107, 107, nil, [][2]string{{"103.0", "4"}}))
	if len(u.sink.books) != 0 {
		t.Fatal("a book went out before the snapshot")
	}
	if s, _, n := u.state("BTCUSDT"); s || n != 3 {
		t.Fatalf("synced %v, %d buffered", s, n)
	}
	u.snaps <- snap(104, [][2]float64{{100, 1}, {99, 2}}, [][2]float64{{101, 3}, {102, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	// 99.0 → 7 was in the covered event: the snapshot's 2 stays.
	wantLevels(t, "bids", bids, [][2]float64{{100, 5}, {99, 2}})
	wantLevels(t, "asks", asks, [][2]float64{{102, 1}, {103, 4}})
	if s, local, n := u.state("BTCUSDT"); !s || local != 107 || n != 0 {
		t.Fatalf("synced %v, local %d, %d buffered", s, local, n)
	}
	if u.sink.books["BTCUSDT"].Seq != 107 || u.sink.snapshots["BTCUSDT"] != 1 {
		t.Fatalf("snapshot seq %d, %d snapshots", u.sink.books["BTCUSDT"].Seq, u.sink.snapshots["BTCUSDT"])
	}
	// Live events apply and go out as deltas with the same levels.
	u.handle(t, depthFrame("BTCUSDT", 108, 109, [][2]string{{"100.5", "1.5"}, {"99.0", "0"}}, nil))
	bids, _ = levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids after delta", bids, [][2]float64{{100.5, 1.5}, {100, 5}})
	if u.sink.deltas != 1 || u.sink.books["BTCUSDT"].Seq != 109 {
		t.Fatalf("%d deltas, seq %d", u.sink.deltas, u.sink.books["BTCUSDT"].Seq)
	}
	if len(u.sink.violations) > 0 {
		t.Fatal(u.sink.violations)
	}
}

// Step 3: a snapshot older than the first buffered event is fetched again.
func TestSyncSnapshotTooOld(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 50, 52, [][2]string{{"100.0", "5"}}, nil))
	u.snaps <- snap(45, [][2]float64{{100, 1}}, [][2]float64{{101, 1}}) // older than U=50
	u.handle(t, depthFrame("BTCUSDT", 53, 53, nil, [][2]string{{"101.0", "9"}}))
	u.snaps <- snap(52, [][2]float64{{100, 5}, {98, 1}}, [][2]float64{{101, 2}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("%d snapshot fetches, want 2", n)
	}
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{100, 5}, {98, 1}})
	wantLevels(t, "asks", asks, [][2]float64{{101, 9}})
	if _, local, _ := u.state("BTCUSDT"); local != 53 {
		t.Fatalf("local %d", local)
	}
}

// Step 5: when the first event after the snapshot does not straddle lastUpdateId+1 (the
// buffer has a hole), the sync starts over from a new snapshot, keeping the later events.
func TestSyncFirstEventMustStraddle(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 10, 12, [][2]string{{"100.0", "1"}}, nil))
	u.handle(t, depthFrame("BTCUSDT", 15, 16, [][2]string{{"100.0", "6"}}, nil)) // 13, 14 never came
	// The hole is reported when it is buffered.
	if u.sink.count(market.StreamGap, "BTCUSDT") != 1 || u.sink.events[len(u.sink.events)-2].Detail != "seq gap while syncing: U 15, have 12" {
		t.Fatalf("events:\n%s", u.sink.eventsText())
	}
	u.handle(t, depthFrame("BTCUSDT", 17, 17, nil, [][2]string{{"104.0", "2"}}))
	u.snaps <- snap(12, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "a second fetch", syncWait, func() bool { return u.calls.Load() == 2 })
	if s, _, n := u.state("BTCUSDT"); s || n != 2 {
		t.Fatalf("synced %v with %d buffered; want unsynced with 2", s, n)
	}
	u.snaps <- snap(15, [][2]float64{{100, 3}}, [][2]float64{{101, 1}, {103, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{100, 6}})
	wantLevels(t, "asks", asks, [][2]float64{{101, 1}, {103, 1}, {104, 2}})
	if _, local, _ := u.state("BTCUSDT"); local != 17 || u.calls.Load() != 2 || u.sink.count(market.StreamGap, "*") != 1 {
		t.Fatalf("local %d, %d fetches, events:\n%s", local, u.calls.Load(), u.sink.eventsText())
	}
}

// Step 7: once synced, an event with u ≤ the local id is skipped; one with U > local+1 is a
// gap: StreamGap, StreamResyncing, no delta until the new snapshot, the events after the gap
// buffered and applied on it, then a whole snapshot and StreamSynced.
func TestSyncLiveSkipAndGap(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 20, 20, nil, nil))
	u.snaps <- snap(20, [][2]float64{{100, 1}, {99, 1}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))

	u.handle(t, depthFrame("BTCUSDT", 21, 22, [][2]string{{"100.0", "2"}}, nil))
	u.handle(t, depthFrame("BTCUSDT", 19, 22, [][2]string{{"100.0", "77"}}, nil)) // old: skipped
	u.handle(t, depthFrame("BTCUSDT", 22, 22, [][2]string{{"100.0", "78"}}, nil)) // replayed: skipped
	bids, _ := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids after skips", bids, [][2]float64{{100, 2}, {99, 1}})

	u.handle(t, depthFrame("BTCUSDT", 25, 26, [][2]string{{"99.0", "0"}}, nil)) // 23, 24 lost
	if u.sink.count(market.StreamGap, "BTCUSDT") != 1 || u.sink.count(market.StreamResyncing, "BTCUSDT") != 1 {
		t.Fatalf("events:\n%s", u.sink.eventsText())
	}
	var gapAt, resyncAt int
	for i, e := range u.sink.events {
		switch e.Kind {
		case market.StreamGap:
			gapAt = i
			if e.Detail != "seq gap: U 25, have 22" || e.Channel != market.ChannelBook {
				t.Fatalf("gap event %+v", e)
			}
		case market.StreamResyncing:
			resyncAt = i
		}
	}
	if gapAt > resyncAt {
		t.Fatal("resyncing before the gap")
	}
	u.handle(t, depthFrame("BTCUSDT", 27, 27, nil, [][2]string{{"102.0", "3"}}))
	if u.sink.live["BTCUSDT"] || u.sink.deltas != 1 {
		t.Fatalf("a delta went out while resyncing (live %v, %d deltas)", u.sink.live["BTCUSDT"], u.sink.deltas)
	}
	u.snaps <- snap(26, [][2]float64{{100, 4}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "resynced", syncWait, synced(u, "BTCUSDT", 2))
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{100, 4}})
	wantLevels(t, "asks", asks, [][2]float64{{101, 1}, {102, 3}})
	if u.sink.snapshots["BTCUSDT"] != 2 || u.sink.books["BTCUSDT"].Seq != 27 || len(u.sink.violations) > 0 {
		t.Fatalf("%d snapshots, seq %d, %v", u.sink.snapshots["BTCUSDT"], u.sink.books["BTCUSDT"].Seq, u.sink.violations)
	}
}

// Zero quantities, padded as Binance prints them, delete; deleting an absent level is
// harmless.
func TestSyncZeroDeletes(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}, {99, 1}}, [][2]float64{{101, 1}, {102, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	u.handle(t, depthFrame("BTCUSDT", 6, 6, [][2]string{{"100.00000000", "0.00000000"}, {"98.00000000", "0.00000000"}},
		[][2]string{{"102.00000000", "0"}}))
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{99, 1}})
	wantLevels(t, "asks", asks, [][2]float64{{101, 1}})
	own, ownAsks := levelsOf(u.s.bySym["BTCUSDT"].book)
	wantLevels(t, "feed's bids", own, [][2]float64{{99, 1}})
	wantLevels(t, "feed's asks", ownAsks, [][2]float64{{101, 1}})
}

// A delta that crosses the book is never forwarded: the book is dropped and fetched again.
func TestSyncCrossedBookResyncs(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	u.handle(t, depthFrame("BTCUSDT", 6, 6, [][2]string{{"101.5", "2"}}, nil))
	if u.sink.count(market.StreamGap, "BTCUSDT") != 1 || u.sink.count(market.StreamResyncing, "BTCUSDT") != 1 || u.sink.deltas != 0 {
		t.Fatalf("deltas %d, events:\n%s", u.sink.deltas, u.sink.eventsText())
	}
	if !strings.Contains(u.sink.events[len(u.sink.events)-2].Detail, "crossed book") {
		t.Fatalf("detail %q", u.sink.events[len(u.sink.events)-2].Detail)
	}
	if s, _, _ := u.state("BTCUSDT"); s || !u.s.bySym["BTCUSDT"].book.Empty() {
		t.Fatal("the crossed book was kept")
	}
	u.handle(t, depthFrame("BTCUSDT", 7, 8, nil, [][2]string{{"103.0", "1"}}))
	u.handle(t, depthFrame("BTCUSDT", 9, 9, [][2]string{{"99.0", "4"}}, nil))
	u.snaps <- snap(7, [][2]float64{{101.5, 2}, {100, 1}}, [][2]float64{{102, 1}})
	u.sink.wait(t, "resynced", syncWait, synced(u, "BTCUSDT", 2))
	bids, asks := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{101.5, 2}, {100, 1}, {99, 4}})
	wantLevels(t, "asks", asks, [][2]float64{{102, 1}, {103, 1}})
	if len(u.sink.violations) > 0 {
		t.Fatal(u.sink.violations)
	}
}

// An inactive connection (a handover's replacement) keeps its book to itself and becomes
// Ready only once its books are synced; Activate sends them as snapshots.
func TestReplacementWaitsForBooks(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))

	// The replacement: opened while u.s owns the group.
	r := newSession(u.s.g)
	c2 := &fakeConn{ctx: u.c.ctx}
	if err := r.open(c2); err != nil {
		t.Fatal(err)
	}
	defer r.close(nil)
	if !r.replacement {
		t.Fatal("not a replacement")
	}
	if err := r.handle([]byte(`{"result":null,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if c2.ready.Load() != 0 {
		t.Fatal("ready before its books are synced")
	}
	if err := r.handle([]byte(depthFrame("BTCUSDT", 6, 6, [][2]string{{"100.0", "9"}}, nil))); err != nil {
		t.Fatal(err)
	}
	u.snaps <- snap(6, [][2]float64{{100, 9}}, [][2]float64{{101, 1}})
	u.sink.wait(t, "replacement ready", syncWait, func() bool { return c2.ready.Load() == 1 })
	if u.sink.snapshots["BTCUSDT"] != 1 || u.sink.deltas != 0 {
		t.Fatalf("the inactive connection emitted: %d snapshots, %d deltas", u.sink.snapshots["BTCUSDT"], u.sink.deltas)
	}
	r.Activate(nil)
	u.s.close(nil) // the old connection is closed after the takeover: it no longer owns the books
	bids, _ := levelsOf(u.sink.books["BTCUSDT"])
	wantLevels(t, "bids", bids, [][2]float64{{100, 9}})
	if u.sink.snapshots["BTCUSDT"] != 2 || u.sink.count(market.StreamResyncing, "*") != 0 {
		t.Fatalf("%d snapshots; events:\n%s", u.sink.snapshots["BTCUSDT"], u.sink.eventsText())
	}
}
