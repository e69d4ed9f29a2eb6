package fakevenue

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Server is a loopback HTTP server for one fake venue: its WebSocket and REST paths share
// one mux. Close ends every connection.
type Server struct {
	*httptest.Server
	Mux *http.ServeMux

	// Sent, when set before the first connection, is called with each data message once it is
	// encoded, right before its frames are written (benchmarks measure latency from it; a
	// message counted here whose write fails was lost to a dropped connection).
	Sent func(o Out, at time.Time)

	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
	wg    sync.WaitGroup
}

// NewServer starts a server on 127.0.0.1.
func NewServer() *Server {
	s := &Server{Mux: http.NewServeMux(), conns: map[*websocket.Conn]struct{}{}}
	s.Server = httptest.NewServer(s.Mux)
	return s
}

// WS is the ws:// address of a path on the server.
func (s *Server) WS(path string) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + path
}

// Close ends every WebSocket connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.NetConn().Close()
	}
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
	s.wg.Wait()
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// Conn is one client connection of a fake venue.
type Conn struct {
	WS  *websocket.Conn
	Sub *Sub
	Req *http.Request
}

// Reply queues a raw frame (an ack, a pong, an error) in order with the data.
func (c *Conn) Reply(b []byte) {
	p := c.Sub.p
	p.mu.Lock()
	defer p.mu.Unlock()
	c.Sub.send(Out{Kind: OutRaw, Raw: b})
}

// Handler serves one venue's WebSocket connections: onOpen runs after the upgrade (Binance
// subscribes from the URL there), onFrame for each frame the client sends (subscribe,
// ping…) unless the venue is stalled, and encode turns each Out into frames. A ping frame from
// the client is answered by gorilla's default handler.
type Handler struct {
	Player  *Player
	OnOpen  func(c *Conn)
	OnFrame func(c *Conn, msgType int, data []byte)
	Encode  func(c *Conn, o Out) [][]byte
	// PingEvery makes the server send ping frames (Binance: 20s).
	PingEvery time.Duration
}

// Serve upgrades and runs the connection until the client leaves or the player drops it.
func (s *Server) Serve(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[ws] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		defer func() { s.mu.Lock(); delete(s.conns, ws); s.mu.Unlock() }()
		c := &Conn{WS: ws, Sub: h.Player.Attach(), Req: r}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { // the reader
			defer cancel()
			for {
				mt, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if h.Player.Stalled() || h.OnFrame == nil {
					continue
				}
				h.OnFrame(c, mt, data)
			}
		}()
		if h.OnOpen != nil {
			h.OnOpen(c)
		}
		var ping <-chan time.Time
		if h.PingEvery > 0 {
			t := time.NewTicker(h.PingEvery)
			defer t.Stop()
			ping = t.C
		}
		defer c.Sub.Close()
		defer ws.NetConn().Close() // abrupt: no close frame, as a dropped link
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Sub.Dropped:
				return
			case <-ping:
				if !h.Player.Stalled() {
					_ = ws.WriteControl(websocket.PingMessage, []byte("keepalive"), time.Now().Add(time.Second))
				}
			case o := <-c.Sub.C:
				frames := [][]byte{o.Raw}
				if o.Kind != OutRaw {
					frames = h.Encode(c, o)
				}
				if s.Sent != nil && o.Kind != OutRaw {
					s.Sent(o, time.Now())
				}
				for _, f := range frames {
					if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
						return
					}
				}
			}
		}
	}
}
