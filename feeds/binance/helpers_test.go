package binance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// newSink makes the sink a test's feed emits into (Binance deltas may repeat a price).
func newSink() *venuetest.Sink { return venuetest.New(Name, venuetest.RepeatedPrices) }

// fakeConn stands in for *venue.Conn in unit tests.
type fakeConn struct {
	ctx       context.Context
	mu        sync.Mutex
	sent      []string
	ready     atomic.Int32
	handovers []string
}

func (c *fakeConn) Send(b []byte) error {
	c.mu.Lock()
	c.sent = append(c.sent, string(b))
	c.mu.Unlock()
	return nil
}
func (c *fakeConn) Ready() { c.ready.Add(1) }
func (c *fakeConn) Handover(reason string) {
	c.mu.Lock()
	c.handovers = append(c.handovers, reason)
	c.mu.Unlock()
}
func (c *fakeConn) Context() context.Context { return c.ctx }

// unit is a session wired to a fake connection and a scripted snapshot source.
type unit struct {
	f      *Feed
	s      *session
	c      *fakeConn
	sink   *venuetest.Sink
	snaps  chan depthSnap
	calls  atomic.Int32
	cancel context.CancelFunc
}

// newUnit makes an active, acknowledged session for syms; snapshots come from u.snaps.
func newUnit(t testing.TB, syms ...market.Symbol) *unit { return newUnitCfg(t, nil, true, syms...) }

// newUnitCfg is newUnit with a config change, and without the ack when ack is false.
func newUnitCfg(t testing.TB, mod func(*Config), ack bool, syms ...market.Symbol) *unit {
	if len(syms) == 0 {
		syms = []market.Symbol{"BTCUSDT"}
	}
	cfg := Config{Symbols: syms, RESTURL: "http://127.0.0.1:9", WSURL: "ws://127.0.0.1:9/stream",
		Clock: func() int64 { return 1_700_000_000_000 }}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{f: f, sink: newSink(), snaps: make(chan depthSnap, 8)}
	f.snapshot = func(ctx context.Context, sym market.Symbol) (depthSnap, error) {
		u.calls.Add(1)
		select {
		case s := <-u.snaps:
			return s, nil
		case <-ctx.Done():
			return depthSnap{}, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.c = &fakeConn{ctx: ctx}
	g := newGroup(f, venue.NewEmitter(Name, u.sink, nil, f.Now), syms)
	u.s = newSession(g)
	if err := u.s.open(u.c); err != nil {
		t.Fatal(err)
	}
	u.s.Activate(nil)
	t.Cleanup(u.close)
	if !ack {
		return u
	}
	if err := u.s.handle([]byte(`{"result":null,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if u.c.ready.Load() != 1 {
		t.Fatalf("not ready after the ack")
	}
	return u
}

func (u *unit) close() {
	u.cancel()
	u.s.close(nil)
}

func (u *unit) handle(t testing.TB, frame string) {
	t.Helper()
	if err := u.s.handle([]byte(frame)); err != nil {
		t.Fatalf("handle %s: %v", frame, err)
	}
}

// state reads a symbol's sync state.
func (u *unit) state(sym market.Symbol) (synced bool, local int64, buffered int) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	st := u.s.bySym[string(sym)]
	return st.synced, st.local, len(st.buf)
}

// depthFrame is a combined-stream depthUpdate.
func depthFrame(sym string, U, u int64, bids, asks [][2]string) string {
	lv := func(ls [][2]string) string {
		parts := make([]string, len(ls))
		for i, l := range ls {
			parts[i] = fmt.Sprintf(`[%q,%q]`, l[0], l[1])
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf(`{"stream":"%s@depth@100ms","data":{"e":"depthUpdate","E":1700000000123,"s":"%s","U":%d,"u":%d,"b":%s,"a":%s}}`,
		strings.ToLower(sym), sym, U, u, lv(bids), lv(asks))
}

// snap makes a snapshot from [price, size] pairs.
func snap(id int64, bids, asks [][2]float64) depthSnap {
	s := depthSnap{lastUpdateID: id}
	for _, l := range bids {
		s.bids = append(s.bids, market.Level{Price: l[0], Size: l[1]})
	}
	for _, l := range asks {
		s.asks = append(s.asks, market.Level{Price: l[0], Size: l[1]})
	}
	return s
}
