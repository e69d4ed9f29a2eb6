package okx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// newSink makes the sink a test's feed emits into (OKX deltas may repeat a price).
func newSink() *venuetest.Sink { return venuetest.New(Exchange, venuetest.RepeatedPrices) }

// connKinds are the events of kind that report a connection's state, one per connection: the
// public socket's on sym's trades, the business socket's on sym's candles.
func connKinds(s *venuetest.Sink, kind market.StreamKind, sym market.Symbol) []market.StreamEvent {
	var out []market.StreamEvent
	for _, e := range s.OfKind(kind) {
		if e.Symbol == sym && (e.Channel == market.ChannelTrades || e.Channel == market.ChannelCandles) {
			out = append(out, e)
		}
	}
	return out
}

// fakeLink stands in for a *venue.Conn.
type fakeLink struct {
	mu        sync.Mutex
	sent      []string
	ready     int
	handovers []string
	drops     []error
	active    bool
	sendErr   error
}

func (l *fakeLink) Send(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, string(b))
	return l.sendErr
}
func (l *fakeLink) Ready() { l.mu.Lock(); l.ready++; l.mu.Unlock() }
func (l *fakeLink) Handover(reason string) {
	l.mu.Lock()
	l.handovers = append(l.handovers, reason)
	l.mu.Unlock()
}
func (l *fakeLink) Drop(err error) { l.mu.Lock(); l.drops = append(l.drops, err); l.mu.Unlock() }
func (l *fakeLink) Active() bool   { l.mu.Lock(); defer l.mu.Unlock(); return l.active }

func (l *fakeLink) takeSent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sent
	l.sent = nil
	return s
}

// testSession is a session on a fakeLink with its acks in and (public) no book yet.
type testSession struct {
	t    testing.TB
	s    *session
	l    *fakeLink
	sink *venuetest.Sink
	f    *Feed
}

func newTestSession(t testing.TB, cfg Config, kind socketKind) *testSession {
	t.Helper()
	if cfg.Symbols == nil {
		cfg.Symbols = []market.Symbol{"BTCUSDT"}
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	rs := newRunState(f, sink)
	ts := &testSession{t: t, s: newSession(rs, kind, f.cfg.Symbols), l: &fakeLink{active: true}, sink: sink, f: f}
	if err := ts.s.open(ts.l); err != nil {
		t.Fatal(err)
	}
	ts.s.activate(ts.l)
	// Ack every opening subscription by its id, as OKX does.
	for _, req := range ts.l.takeSent() {
		id := between(req, `"id":"`, `"`)
		ch := between(req, `"channel":"`, `"`)
		inst := between(req, `"instId":"`, `"`)
		ts.feed(fmt.Sprintf(`{"id":%q,"event":"subscribe","arg":{"channel":%q,"instId":%q},"connId":"a4d3ae55"}`, id, ch, inst))
	}
	return ts
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// feed hands one frame to the session; a non-nil error fails the test unless wantErr.
func (ts *testSession) feed(frame string) {
	ts.t.Helper()
	if err := ts.s.handle(ts.l, []byte(frame)); err != nil {
		ts.t.Fatalf("handle %s: %v", frame, err)
	}
}

func (ts *testSession) book(inst string) *bookState { return ts.s.books[inst] }

// dump renders a book best first: "bids 8476.97:256 8475.55:101 | asks 8476.98:415".
func dump(b *book) string {
	var sb strings.Builder
	sb.WriteString("bids")
	for i := len(b.bids) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, " %s:%s", b.bids[i].p.String(), b.bids[i].s.String())
	}
	sb.WriteString(" | asks")
	for i := len(b.asks) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, " %s:%s", b.asks[i].p.String(), b.asks[i].s.String())
	}
	return sb.String()
}

// booksFrame renders an OKX books message; seq < -1 leaves seqId/prevSeqId out (2022).
func booksFrame(action string, prev, seq int64, checksum int32, bids, asks []string) string {
	lv := func(ls []string) string {
		var parts []string
		for _, l := range ls {
			p, s, _ := strings.Cut(l, ":")
			parts = append(parts, fmt.Sprintf(`[%q,%q,"0","1"]`, p, s))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	seqs := ""
	if seq >= -1 {
		seqs = fmt.Sprintf(`,"prevSeqId":%d,"seqId":%d`, prev, seq)
	}
	return fmt.Sprintf(`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":%q,"data":[{"asks":%s,"bids":%s,"ts":"1597026383085","checksum":%d%s}]}`,
		action, lv(asks), lv(bids), checksum, seqs)
}

// sumOf is the checksum of a book given as "p:s" strings best first.
func sumOf(bids, asks []string) int32 {
	conv := func(ls []string) [][2]string {
		var out [][2]string
		for _, l := range ls {
			p, s, _ := strings.Cut(l, ":")
			out = append(out, [2]string{p, s})
		}
		return out
	}
	return Checksum(conv(bids), conv(asks))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var errTest = errors.New("test")
