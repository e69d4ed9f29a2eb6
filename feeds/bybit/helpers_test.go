package bybit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/feeds/venue/venuetest"
	"github.com/tradeconsole/tradeconsole/market"
)

// fakeConn records what a session sends.
type fakeConn struct {
	sent  []string
	ready int
}

func (c *fakeConn) Send(b []byte) error { c.sent = append(c.sent, string(b)); return nil }
func (c *fakeConn) Ready()              { c.ready++ }

// testSession makes an active session on a recorder with every subscription acknowledged.
func testSession(t testing.TB, cfg Config) (*session, *fakeConn, *venuetest.Sink) {
	t.Helper()
	if len(cfg.Symbols) == 0 {
		cfg.Symbols = []market.Symbol{"BTCUSDT"}
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := venuetest.New(Name)
	em := venue.NewEmitter(Name, sink, nil, func() int64 { return 1 })
	s := newSession(f, em, f.cfg.Symbols)
	fc := &fakeConn{}
	if err := s.open(fc); err != nil {
		t.Fatal(err)
	}
	s.activate()
	for _, p := range append([]pendingReq(nil), s.pending...) {
		ack := fmt.Sprintf(`{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":%q,"op":"subscribe"}`, p.id)
		if err := s.handle(fc, []byte(ack)); err != nil {
			t.Fatal(err)
		}
	}
	if fc.ready != 1 {
		t.Fatalf("Ready called %d times after the acks", fc.ready)
	}
	return s, fc, sink
}

// levels lists a book side as "price:size" strings, best first.
func levels(b *market.Book, bids bool, n int) string {
	var lv []market.Level
	if bids {
		lv = b.Bids(n, nil)
	} else {
		lv = b.Asks(n, nil)
	}
	parts := make([]string, len(lv))
	for i, l := range lv {
		parts[i] = fmt.Sprintf("%v:%v", l.Price, l.Size)
	}
	return strings.Join(parts, " ")
}

// venueBackoff redials quickly in tests.
var venueBackoff = venue.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}
