package venue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Session is the venue protocol on one WebSocket connection. The runner makes a new Session
// for every connection; its methods are called from that connection's reader goroutine, except
// Ping (the keep-alive goroutine) and Activate/Close (the runner), so a Session guards what
// they share.
type Session interface {
	// Open runs once the socket is up: send the subscriptions with c.Send. Acks arrive
	// through Handle; once every subscription is acknowledged (and, for books, synced enough
	// to serve), call c.Ready.
	Open(c *Conn) error
	// Handle processes one text or binary frame. An error ends this connection and the runner
	// reconnects; an error wrapped by Fatal stops the stream (a rejected subscription).
	// Malformed frames are not errors: count them (Emitter.Event StreamMalformed) and go on.
	Handle(c *Conn, data []byte) error
	// Ping sends the venue's keep-alive (Bybit {"op":"ping"}, OKX "ping"); a venue whose
	// server pings (Binance) returns nil and sets StreamConfig.PingEvery to 0.
	Ping(c *Conn) error
	// Activate is called when this connection becomes the one that feeds the sink: at once
	// for a first connection or a reconnect, and after Ready for a handover's replacement
	// (the old connection is closed right after). A session buffers books while inactive and
	// emits them as snapshots here.
	Activate(c *Conn)
	// Close is called once the connection is over (c.Active tells whether it was feeding
	// the sink): an active session reports its books as resyncing.
	Close(c *Conn, err error)
}

// Fatal marks an error that stops the stream instead of reconnecting.
func Fatal(err error) error { return &fatalError{err} }

type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }
func (f *fatalError) Unwrap() error { return f.err }

// IsFatal reports whether err was made by Fatal.
func IsFatal(err error) bool { var f *fatalError; return errors.As(err, &f) }

// StreamConfig configures one kept-open WebSocket endpoint.
type StreamConfig struct {
	Name string // for logs and errors: "bybit spot"
	// URL returns the address to dial (it may depend on the subscriptions).
	URL func() string
	// DialLimit, when set, spaces the dials of every stream sharing it (a venue's limit on
	// new connections); nil: none.
	DialLimit *Limiter
	// Header is sent with the handshake (OKX demo: x-simulated-trading).
	Header http.Header
	// Silence: no frame read for this long ends the connection (the watchdog); 0 is off.
	Silence time.Duration
	// PingEvery: Session.Ping this long after the last frame read (IdlePing) or on a fixed
	// period; 0: never.
	PingEvery time.Duration
	IdlePing  bool
	// Lifetime: after this long a connection is replaced by a new one without a gap
	// (Binance closes every connection at 24 h); 0: never.
	Lifetime time.Duration
	// SendRate caps the frames this side sends per second (Binance: 5); 0 is no cap.
	SendRate float64
	// Backoff between reconnects; the zero value takes DefaultBackoff.
	Backoff Backoff
	// HandshakeTimeout for the dial; default 10s.
	HandshakeTimeout time.Duration
	// Latency, when set, records each frame's time from read to Handle's return.
	Latency *Latency
	// State receives connection-wide events: StreamConnecting, StreamReconnecting (with the
	// reason) and StreamConnected (when a session calls Ready). Optional.
	State func(kind StateKind, detail string)
}

// StateKind is a connection-wide state change reported through StreamConfig.State.
type StateKind int

const (
	StateConnecting StateKind = iota
	StateConnected
	StateReconnecting
)

// Backoff is exponential backoff with full jitter: attempt n waits a random time in
// [Min·2ⁿ/2, Min·2ⁿ], capped at Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff starts at 500ms and stops growing at 30s.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}

// Delay is the wait before reconnect attempt n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	if b.Min <= 0 {
		b = DefaultBackoff
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// Conn is one live connection as a Session sees it.
type Conn struct {
	ws     *websocket.Conn
	cfg    *StreamConfig
	id     int64
	active atomic.Bool
	ready  atomic.Bool

	wmu      sync.Mutex // guards writes and the send limiter
	nextSend time.Time

	lastRead atomic.Int64 // unix nanos of the last frame read
	ctx      context.Context
	cancel   context.CancelCauseFunc
	events   chan<- connEvent
}

// ID numbers the connections of a stream from 1.
func (c *Conn) ID() int64 { return c.id }

// Active reports whether this connection feeds the sink.
func (c *Conn) Active() bool { return c.active.Load() }

// Context is done when the connection is over.
func (c *Conn) Context() context.Context { return c.ctx }

// Send writes one text frame, waiting for the send rate limit.
func (c *Conn) Send(data []byte) error { return c.write(websocket.TextMessage, data) }

// SendJSON marshals v and sends it.
func (c *Conn) SendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(b)
}

func (c *Conn) write(kind int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cfg.SendRate > 0 {
		now := time.Now()
		if wait := c.nextSend.Sub(now); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return context.Cause(c.ctx)
			}
			now = c.nextSend
		}
		c.nextSend = now.Add(time.Duration(float64(time.Second) / c.cfg.SendRate))
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(kind, data)
}

// Ready reports that every subscription is acknowledged and books are served: the stream is
// connected, the reconnect backoff starts over, and a handover's replacement takes over.
func (c *Conn) Ready() {
	if c.ready.CompareAndSwap(false, true) {
		c.post(connEvent{kind: evReady, c: c})
	}
}

// Handover asks for this connection to be replaced without a gap (a venue's shutdown notice):
// a new connection is opened and subscribed, and this one is closed once the new one is Ready.
func (c *Conn) Handover(reason string) { c.post(connEvent{kind: evHandover, c: c, reason: reason}) }

// Drop ends this connection now (a gap the session cannot repair in place); the runner
// reconnects.
func (c *Conn) Drop(reason error) { c.cancel(reason) }

func (c *Conn) post(ev connEvent) {
	select {
	case c.events <- ev:
	case <-c.ctx.Done():
	}
}

type connEventKind int

const (
	evDone connEventKind = iota
	evReady
	evHandover
)

type connEvent struct {
	kind   connEventKind
	c      *Conn
	err    error
	reason string
}

// RunStream keeps one endpoint connected until ctx is done (it returns nil then) or a session
// returns a Fatal error (it returns that error).
func RunStream(ctx context.Context, cfg StreamConfig, newSession func() Session) error {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	r := &runner{cfg: &cfg, newSession: newSession, events: make(chan connEvent, 16)}
	return r.run(ctx)
}

type runner struct {
	cfg        *StreamConfig
	newSession func() Session
	events     chan connEvent
	ids        int64
	wg         sync.WaitGroup
}

type live struct {
	c *Conn
	s Session
}

func (r *runner) state(k StateKind, detail string) {
	if r.cfg.State != nil {
		r.cfg.State(k, detail)
	}
}

func (r *runner) run(ctx context.Context) error {
	defer r.wg.Wait()
	var cur, next *live // next: a handover's replacement, not yet Ready
	attempt := 0
	r.state(StateConnecting, "")
	var lifetime <-chan time.Time
	var lifeTimer *time.Timer
	stopLife := func() {
		if lifeTimer != nil {
			lifeTimer.Stop()
			lifeTimer, lifetime = nil, nil
		}
	}
	defer stopLife()
	closeAll := func(err error) {
		for _, l := range []*live{cur, next} {
			if l != nil {
				l.c.cancel(err)
			}
		}
	}
	for {
		if cur == nil {
			l, err := r.dial(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				if IsFatal(err) {
					return errors.Unwrap(err)
				}
				r.state(StateReconnecting, err.Error())
				if !sleepCtx(ctx, r.cfg.Backoff.Delay(attempt)) {
					return nil
				}
				attempt++
				continue
			}
			cur = l
			cur.c.active.Store(true)
			cur.s.Activate(cur.c)
			stopLife()
			if r.cfg.Lifetime > 0 {
				lifeTimer = time.NewTimer(r.cfg.Lifetime)
				lifetime = lifeTimer.C
			}
		}
		select {
		case <-ctx.Done():
			closeAll(context.Canceled)
			r.drain(cur, next)
			return nil
		case <-lifetime:
			lifeTimer, lifetime = nil, nil
			if next == nil {
				next = r.replacement(ctx, "connection lifetime reached")
			}
		case ev := <-r.events:
			switch {
			case ev.kind == evHandover && cur != nil && ev.c == cur.c:
				if next == nil {
					next = r.replacement(ctx, ev.reason)
				}
			case ev.kind == evReady && cur != nil && ev.c == cur.c:
				attempt = 0
				r.state(StateConnected, "")
			case ev.kind == evReady && next != nil && ev.c == next.c:
				// The replacement is live: it takes over, the old one is closed.
				old := cur
				cur, next = next, nil
				old.c.active.Store(false)
				cur.c.active.Store(true)
				cur.s.Activate(cur.c)
				old.c.cancel(errors.New("replaced by a new connection"))
				stopLife()
				if r.cfg.Lifetime > 0 {
					lifeTimer = time.NewTimer(r.cfg.Lifetime)
					lifetime = lifeTimer.C
				}
				r.state(StateConnected, "")
			case ev.kind == evDone && next != nil && ev.c == next.c:
				next = nil // the replacement failed; the current one goes on (a later notice retries)
			case ev.kind == evDone && cur != nil && ev.c == cur.c:
				if IsFatal(ev.err) {
					closeAll(ev.err)
					r.drain(next) // cur's goroutines are done: this was their last event
					return errors.Unwrap(ev.err)
				}
				cur = nil
				if next != nil {
					// The old connection died first: the replacement takes over at once.
					cur, next = next, nil
					cur.c.active.Store(true)
					cur.s.Activate(cur.c)
					if cur.c.ready.Load() {
						r.state(StateConnected, "")
					}
					continue
				}
				reason := "connection closed"
				if ev.err != nil {
					reason = ev.err.Error()
				}
				r.state(StateReconnecting, reason)
				if !sleepCtx(ctx, r.cfg.Backoff.Delay(attempt)) {
					return nil
				}
				attempt++
			}
		}
	}
}

// replacement dials a handover's new connection; it stays inactive until Ready.
func (r *runner) replacement(ctx context.Context, reason string) *live {
	l, err := r.dial(ctx)
	if err != nil {
		r.state(StateReconnecting, fmt.Sprintf("%s: replacement failed: %v", reason, err))
		return nil
	}
	return l
}

// drain waits for the connections' goroutines after they were cancelled, whichever ends first.
func (r *runner) drain(ls ...*live) {
	left := map[*Conn]bool{}
	for _, l := range ls {
		if l != nil {
			left[l.c] = true
		}
	}
	for len(left) > 0 {
		if ev := <-r.events; ev.kind == evDone {
			delete(left, ev.c)
		}
	}
}

// dial opens and subscribes one connection and starts its goroutines; they post evDone when it
// ends.
func (r *runner) dial(ctx context.Context) (*live, error) {
	if err := r.cfg.DialLimit.Wait(ctx); err != nil {
		return nil, err
	}
	d := websocket.Dialer{HandshakeTimeout: r.cfg.HandshakeTimeout, Proxy: http.ProxyFromEnvironment}
	dctx, cancel := context.WithTimeout(ctx, r.cfg.HandshakeTimeout)
	ws, resp, err := d.DialContext(dctx, r.cfg.URL(), r.cfg.Header)
	cancel()
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%s: dial: %w (HTTP %s)", r.cfg.Name, err, resp.Status)
		}
		return nil, fmt.Errorf("%s: dial: %w", r.cfg.Name, err)
	}
	r.ids++
	cctx, ccancel := context.WithCancelCause(ctx)
	c := &Conn{ws: ws, cfg: r.cfg, id: r.ids, ctx: cctx, cancel: ccancel, events: r.events}
	c.lastRead.Store(time.Now().UnixNano())
	// A server's ping frame (Binance) is a sign of life for the watchdog too; it is answered
	// with a pong carrying its payload, as gorilla's default handler does.
	ws.SetPingHandler(func(data string) error {
		c.lastRead.Store(time.Now().UnixNano())
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	s := r.newSession()
	if err := s.Open(c); err != nil {
		ccancel(err)
		ws.Close()
		s.Close(c, err)
		return nil, fmt.Errorf("%s: subscribe: %w", r.cfg.Name, err)
	}
	r.wg.Add(3)
	go func() { // closes the socket when the connection's context ends, so the reader returns
		defer r.wg.Done()
		<-cctx.Done()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		ws.Close()
	}()
	go func() {
		defer r.wg.Done()
		r.keepAlive(c, s)
	}()
	go func() {
		defer r.wg.Done()
		err := r.read(c, s)
		c.cancel(err)
		cause := context.Cause(cctx)
		if errors.Is(cause, context.Canceled) && ctx.Err() != nil {
			cause = nil
		}
		s.Close(c, cause)
		r.events <- connEvent{kind: evDone, c: c, err: cause}
	}()
	return &live{c: c, s: s}, nil
}

// read hands each frame to the session. The frame's buffer is reused for the next one: a
// Session must not keep data (or fastjson values pointing into it) after Handle returns.
func (r *runner) read(c *Conn, s Session) error {
	var buf bytes.Buffer
	for {
		_, rd, err := c.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(rd)
		}
		if err != nil {
			if cause := context.Cause(c.ctx); cause != nil {
				return cause
			}
			return fmt.Errorf("%s: read: %w", r.cfg.Name, err)
		}
		read := time.Now()
		c.lastRead.Store(read.UnixNano())
		err = s.Handle(c, buf.Bytes())
		if r.cfg.Latency != nil {
			r.cfg.Latency.Observe(time.Since(read))
		}
		if err != nil {
			return err
		}
		if buf.Cap() > 1<<22 {
			buf = bytes.Buffer{} // one huge snapshot must not pin its buffer forever
		}
	}
}

// keepAlive runs the ping timer and the silence watchdog of one connection.
func (r *runner) keepAlive(c *Conn, s Session) {
	step := time.Second
	if r.cfg.Silence > 0 {
		step = min(step, r.cfg.Silence/4)
	}
	if r.cfg.PingEvery > 0 {
		step = min(step, r.cfg.PingEvery/4)
	}
	step = max(step, 5*time.Millisecond)
	t := time.NewTicker(step)
	defer t.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			last := time.Unix(0, c.lastRead.Load())
			if r.cfg.Silence > 0 && now.Sub(last) > r.cfg.Silence {
				c.cancel(fmt.Errorf("%s: silent for %s (watchdog)", r.cfg.Name, now.Sub(last).Round(time.Millisecond)))
				return
			}
			if r.cfg.PingEvery <= 0 {
				continue
			}
			since := now.Sub(lastPing)
			if r.cfg.IdlePing {
				since = min(since, now.Sub(last))
			}
			if since >= r.cfg.PingEvery {
				lastPing = now
				if err := s.Ping(c); err != nil {
					c.cancel(fmt.Errorf("%s: ping: %w", r.cfg.Name, err))
					return
				}
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
