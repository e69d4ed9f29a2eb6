package binance

import (
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

const syncWait = 5 * time.Second

func synced(u *unit, sym market.Symbol, n int) func() bool {
	return func() bool { return u.sink.CountLocked(market.StreamSynced, sym) >= n }
}

// Steps 1–6: events are buffered until the snapshot; those it covers (u ≤ lastUpdateId) are
// dropped, the first kept one straddles lastUpdateId+1, the rest apply in order.
func TestSyncBufferThenSnapshot(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 101, 103, [][2]string{{"99.0", "7"}}, nil))                                   // covered by the snapshot
	u.handle(t, depthFrame("BTCUSDT", 104, 106, [][2]string{{"100.0", "5"}}, [][2]string{{"101.0", "0.00000000"}})) // U ≤ 105 ≤ u
	u.handle(t, depthFrame("BTCUSDT", 107, 107, nil, [][2]string{{"103.0", "4"}}))
	if len(u.sink.Books) != 0 {
		t.Fatal("a book went out before the snapshot")
	}
	if s, _, n := u.state("BTCUSDT"); s || n != 3 {
		t.Fatalf("synced %v, %d buffered", s, n)
	}
	u.snaps <- snap(104, [][2]float64{{100, 1}, {99, 2}}, [][2]float64{{101, 3}, {102, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	// 99.0 → 7 was in the covered event: the snapshot's 2 stays.
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 5}, {99, 2}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{102, 1}, {103, 4}})
	if s, local, n := u.state("BTCUSDT"); !s || local != 107 || n != 0 {
		t.Fatalf("synced %v, local %d, %d buffered", s, local, n)
	}
	if u.sink.Books["BTCUSDT"].Seq != 107 || u.sink.Snapshots["BTCUSDT"] != 1 {
		t.Fatalf("snapshot seq %d, %d snapshots", u.sink.Books["BTCUSDT"].Seq, u.sink.Snapshots["BTCUSDT"])
	}
	// Live events apply and go out as deltas with the same levels.
	u.handle(t, depthFrame("BTCUSDT", 108, 109, [][2]string{{"100.5", "1.5"}, {"99.0", "0"}}, nil))
	bids, _ = venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids after delta", bids, [][2]float64{{100.5, 1.5}, {100, 5}})
	if u.sink.Deltas != 1 || u.sink.Books["BTCUSDT"].Seq != 109 {
		t.Fatalf("%d deltas, seq %d", u.sink.Deltas, u.sink.Books["BTCUSDT"].Seq)
	}
	if len(u.sink.Violations) > 0 {
		t.Fatal(u.sink.Violations)
	}
}

// Step 3: a snapshot older than the first buffered event is fetched again.
func TestSyncSnapshotTooOld(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 50, 52, [][2]string{{"100.0", "5"}}, nil))
	u.snaps <- snap(45, [][2]float64{{100, 1}}, [][2]float64{{101, 1}}) // older than U=50
	u.handle(t, depthFrame("BTCUSDT", 53, 53, nil, [][2]string{{"101.0", "9"}}))
	u.snaps <- snap(52, [][2]float64{{100, 5}, {98, 1}}, [][2]float64{{101, 2}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("%d snapshot fetches, want 2", n)
	}
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 5}, {98, 1}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{101, 9}})
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
	if u.sink.Count(market.StreamGap, "BTCUSDT") != 1 || u.sink.Events[len(u.sink.Events)-2].Detail != "seq gap while syncing: U 15, have 12" {
		t.Fatalf("events:%s", u.sink.EventLog())
	}
	u.handle(t, depthFrame("BTCUSDT", 17, 17, nil, [][2]string{{"104.0", "2"}}))
	u.snaps <- snap(12, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.Wait(t, "a second fetch", syncWait, func() bool { return u.calls.Load() == 2 })
	if s, _, n := u.state("BTCUSDT"); s || n != 2 {
		t.Fatalf("synced %v with %d buffered; want unsynced with 2", s, n)
	}
	u.snaps <- snap(15, [][2]float64{{100, 3}}, [][2]float64{{101, 1}, {103, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 6}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{101, 1}, {103, 1}, {104, 2}})
	if _, local, _ := u.state("BTCUSDT"); local != 17 || u.calls.Load() != 2 || u.sink.Count(market.StreamGap, venuetest.AnySymbol) != 1 {
		t.Fatalf("local %d, %d fetches, events:%s", local, u.calls.Load(), u.sink.EventLog())
	}
}

// Step 7: once synced, an event with u ≤ the local id is skipped; one with U > local+1 is a
// gap: StreamGap, StreamResyncing, no delta until the new snapshot, the events after the gap
// buffered and applied on it, then a whole snapshot and StreamSynced.
func TestSyncLiveSkipAndGap(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 20, 20, nil, nil))
	u.snaps <- snap(20, [][2]float64{{100, 1}, {99, 1}}, [][2]float64{{101, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))

	u.handle(t, depthFrame("BTCUSDT", 21, 22, [][2]string{{"100.0", "2"}}, nil))
	u.handle(t, depthFrame("BTCUSDT", 19, 22, [][2]string{{"100.0", "77"}}, nil)) // old: skipped
	u.handle(t, depthFrame("BTCUSDT", 22, 22, [][2]string{{"100.0", "78"}}, nil)) // replayed: skipped
	bids, _ := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids after skips", bids, [][2]float64{{100, 2}, {99, 1}})

	u.handle(t, depthFrame("BTCUSDT", 25, 26, [][2]string{{"99.0", "0"}}, nil)) // 23, 24 lost
	if u.sink.Count(market.StreamGap, "BTCUSDT") != 1 || u.sink.Count(market.StreamResyncing, "BTCUSDT") != 1 {
		t.Fatalf("events:%s", u.sink.EventLog())
	}
	var gapAt, resyncAt int
	for i, e := range u.sink.Events {
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
	if u.sink.Books["BTCUSDT"] != nil || u.sink.Deltas != 1 {
		t.Fatalf("a delta went out while resyncing (live %v, %d deltas)", u.sink.Books["BTCUSDT"] != nil, u.sink.Deltas)
	}
	u.snaps <- snap(26, [][2]float64{{100, 4}}, [][2]float64{{101, 1}})
	u.sink.Wait(t, "resynced", syncWait, synced(u, "BTCUSDT", 2))
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 4}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{101, 1}, {102, 3}})
	if u.sink.Snapshots["BTCUSDT"] != 2 || u.sink.Books["BTCUSDT"].Seq != 27 || len(u.sink.Violations) > 0 {
		t.Fatalf("%d snapshots, seq %d, %v", u.sink.Snapshots["BTCUSDT"], u.sink.Books["BTCUSDT"].Seq, u.sink.Violations)
	}
}

// Zero quantities, padded as Binance prints them, delete; deleting an absent level is
// harmless.
func TestSyncZeroDeletes(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}, {99, 1}}, [][2]float64{{101, 1}, {102, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	u.handle(t, depthFrame("BTCUSDT", 6, 6, [][2]string{{"100.00000000", "0.00000000"}, {"98.00000000", "0.00000000"}},
		[][2]string{{"102.00000000", "0"}}))
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{99, 1}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{101, 1}})
	own, ownAsks := venuetest.Levels(u.s.bySym["BTCUSDT"].book)
	venuetest.WantLevels(t, "feed's bids", own, [][2]float64{{99, 1}})
	venuetest.WantLevels(t, "feed's asks", ownAsks, [][2]float64{{101, 1}})
}

// A delta that crosses the book is never forwarded: the book is dropped and fetched again.
func TestSyncCrossedBookResyncs(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))
	u.handle(t, depthFrame("BTCUSDT", 6, 6, [][2]string{{"101.5", "2"}}, nil))
	if u.sink.Count(market.StreamGap, "BTCUSDT") != 1 || u.sink.Count(market.StreamResyncing, "BTCUSDT") != 1 || u.sink.Deltas != 0 {
		t.Fatalf("deltas %d, events:%s", u.sink.Deltas, u.sink.EventLog())
	}
	if !strings.Contains(u.sink.Events[len(u.sink.Events)-2].Detail, "crossed book") {
		t.Fatalf("detail %q", u.sink.Events[len(u.sink.Events)-2].Detail)
	}
	if s, _, _ := u.state("BTCUSDT"); s || !u.s.bySym["BTCUSDT"].book.Empty() {
		t.Fatal("the crossed book was kept")
	}
	u.handle(t, depthFrame("BTCUSDT", 7, 8, nil, [][2]string{{"103.0", "1"}}))
	u.handle(t, depthFrame("BTCUSDT", 9, 9, [][2]string{{"99.0", "4"}}, nil))
	u.snaps <- snap(7, [][2]float64{{101.5, 2}, {100, 1}}, [][2]float64{{102, 1}})
	u.sink.Wait(t, "resynced", syncWait, synced(u, "BTCUSDT", 2))
	bids, asks := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{101.5, 2}, {100, 1}, {99, 4}})
	venuetest.WantLevels(t, "asks", asks, [][2]float64{{102, 1}, {103, 1}})
	if len(u.sink.Violations) > 0 {
		t.Fatal(u.sink.Violations)
	}
}

// An inactive connection (a handover's replacement) keeps its book to itself and becomes
// Ready only once its books are synced; Activate sends them as snapshots.
func TestReplacementWaitsForBooks(t *testing.T) {
	u := newUnit(t)
	u.handle(t, depthFrame("BTCUSDT", 5, 5, nil, nil))
	u.snaps <- snap(5, [][2]float64{{100, 1}}, [][2]float64{{101, 1}})
	u.sink.Wait(t, "synced", syncWait, synced(u, "BTCUSDT", 1))

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
	u.sink.Wait(t, "replacement ready", syncWait, func() bool { return c2.ready.Load() == 1 })
	if u.sink.Snapshots["BTCUSDT"] != 1 || u.sink.Deltas != 0 {
		t.Fatalf("the inactive connection emitted: %d snapshots, %d deltas", u.sink.Snapshots["BTCUSDT"], u.sink.Deltas)
	}
	r.Activate(nil)
	u.s.close(nil) // the old connection is closed after the takeover: it no longer owns the books
	bids, _ := venuetest.Levels(u.sink.Books["BTCUSDT"])
	venuetest.WantLevels(t, "bids", bids, [][2]float64{{100, 9}})
	if u.sink.Snapshots["BTCUSDT"] != 2 || u.sink.Count(market.StreamResyncing, venuetest.AnySymbol) != 0 {
		t.Fatalf("%d snapshots; events:%s", u.sink.Snapshots["BTCUSDT"], u.sink.EventLog())
	}
}
