package fakevenue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradeconsole/tradeconsole/market"
)

// binanceFrame is any frame the Binance fake sends.
type binanceFrame struct {
	Stream string          `json:"stream"`
	Data   json.RawMessage `json:"data"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

func readBinance(t *testing.T, ws *websocket.Conn) binanceFrame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f binanceFrame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

func TestBinanceSubscribeRoundTrip(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "binance", Symbols: []market.Symbol{"BTCUSDT"}, Duration: 2 * time.Minute, Seed: 3})
	p := NewPlayer(s, PlayerOptions{Faults: Faults{Reject: []string{"ethusdt@trade"}}})
	srv := NewBinance(p, BinanceOptions{})
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial(srv.WS("/stream"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	// A refused stream: the venue's error shape, with the request's id.
	if err := ws.WriteJSON(map[string]any{"method": "SUBSCRIBE", "params": []string{"ethusdt@trade"}, "id": 7}); err != nil {
		t.Fatal(err)
	}
	f := readBinance(t, ws)
	if f.Error == nil || f.Error.Code != 2 || f.Error.Msg != "Invalid request: invalid stream" || string(f.ID) != "7" {
		t.Fatalf("reject: %+v", f)
	}
	// Unparsable JSON: code 3 and a null id.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"method":`)); err != nil {
		t.Fatal(err)
	}
	if f := readBinance(t, ws); f.Error == nil || f.Error.Code != 3 || string(f.ID) != "null" {
		t.Fatalf("bad json: %+v", f)
	}

	streams := []string{"btcusdt@trade", "btcusdt@depth@100ms", "btcusdt@kline_1m"}
	if err := ws.WriteJSON(map[string]any{"method": "SUBSCRIBE", "params": streams, "id": 1}); err != nil {
		t.Fatal(err)
	}
	if f := readBinance(t, ws); string(f.Result) != "null" || string(f.ID) != "1" || f.Error != nil {
		t.Fatalf("ack: %+v", f)
	}
	if err := ws.WriteJSON(map[string]any{"method": "LIST_SUBSCRIPTIONS", "id": 2}); err != nil {
		t.Fatal(err)
	}
	if f := readBinance(t, ws); string(f.ID) != "2" {
		t.Fatalf("LIST_SUBSCRIPTIONS answer: %+v", f)
	} else {
		var got []string
		_ = json.Unmarshal(f.Result, &got)
		if strings.Join(got, ",") != strings.Join(streams, ",") {
			t.Fatalf("LIST_SUBSCRIPTIONS: %s", f.Result)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	var trades, deltas, klines int
	prevU := int64(FirstSeq - 1)
	for trades+deltas+klines < len(s.Events) {
		f := readBinance(t, ws)
		if f.Stream == "" {
			t.Fatalf("unexpected control frame %+v", f)
		}
		switch f.Stream {
		case "btcusdt@trade":
			var tr struct {
				E       string `json:"e"`
				EvT     int64  `json:"E"`
				S       string `json:"s"`
				T       int64  `json:"t"`
				P, Q    string
				TradeT  int64 `json:"T"`
				M       bool  `json:"m"`
				MIgnore bool  `json:"M"`
			}
			if err := json.Unmarshal(f.Data, &tr); err != nil || tr.E != "trade" || tr.S != "BTCUSDT" {
				t.Fatalf("trade %s: %v", f.Data, err)
			}
			want := s.Trades("BTCUSDT")[trades]
			if tr.T != want.ID || tr.TradeT != want.Time || tr.M != (want.Side == market.Sell) || tr.P != pad8(want.Price) {
				t.Fatalf("trade %d: %s, want %+v", trades, f.Data, want)
			}
			trades++
		case "btcusdt@depth@100ms":
			var d struct {
				E    string     `json:"e"`
				EvT  int64      `json:"E"`
				U    int64      `json:"U"`
				LU   int64      `json:"u"`
				B, A [][]string `json:"-"`
			}
			if err := json.Unmarshal(f.Data, &d); err != nil || d.E != "depthUpdate" || d.U != prevU+1 || d.LU != d.U {
				t.Fatalf("depth after %d: %s: %v", prevU, f.Data, err)
			}
			prevU = d.LU
			deltas++
		case "btcusdt@kline_1m":
			var k struct {
				K struct {
					CloseT int64 `json:"T"`
					Open   int64 `json:"t"`
					X      bool  `json:"x"`
					N      int64 `json:"n"`
					V      string
				} `json:"k"`
			}
			if err := json.Unmarshal(f.Data, &k); err != nil || !k.K.X {
				t.Fatalf("kline %s: %v", f.Data, err)
			}
			want := s.Klines("BTCUSDT")[klines]
			if k.K.Open != want.Time-60_000 || k.K.N != want.Trades {
				t.Fatalf("kline %d: %s, want %+v", klines, f.Data, want)
			}
			klines++
		default:
			t.Fatalf("stream %q", f.Stream)
		}
	}
	if trades != len(s.Trades("BTCUSDT")) || klines != len(s.Klines("BTCUSDT")) || klines != 2 {
		t.Fatalf("trades %d/%d, klines %d/%d", trades, len(s.Trades("BTCUSDT")), klines, len(s.Klines("BTCUSDT")))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The shutdown notice, wrapped on the combined stream.
	srv.Shutdown()
	if f := readBinance(t, ws); f.Stream != "!serverShutdown" || !strings.Contains(string(f.Data), `"e":"serverShutdown"`) {
		t.Fatalf("shutdown: %+v", f)
	}
	if srv.Dials() != 1 {
		t.Fatalf("dials %d", srv.Dials())
	}
}

// TestBinanceRawStreamURL: /ws/<stream> subscribes from the path and sends unwrapped payloads;
// an aggTrade stream carries "a"; the server pings.
func TestBinanceRawStreamURL(t *testing.T) {
	s := Generate(ScriptConfig{Symbols: []market.Symbol{"ETHUSDT"}, Duration: time.Minute, Seed: 5})
	p := NewPlayer(s, PlayerOptions{})
	srv := NewBinance(p, BinanceOptions{PingEvery: 10 * time.Millisecond})
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial(srv.WS("/ws/ethusdt@aggTrade/ethusdt@depth/ethusdt@kline_1m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pinged := make(chan string, 1)
	ws.SetPingHandler(func(payload string) error {
		select {
		case pinged <- payload:
		default:
		}
		return ws.WriteControl(websocket.PongMessage, []byte(payload), time.Now().Add(time.Second))
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()
	seen := map[string]bool{}
	for len(seen) < 2 {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if _, wrapped := m["stream"]; wrapped {
			t.Fatalf("raw stream frame is wrapped: %s", data)
		}
		e, _ := m["e"].(string)
		if e == "aggTrade" {
			if _, ok := m["a"]; !ok {
				t.Fatalf("aggTrade without a: %s", data)
			}
		}
		seen[e] = true
		if e != "aggTrade" && e != "depthUpdate" {
			t.Fatalf("unexpected %s", data)
		}
	}
	// Ping frames arrive while the client reads (the handler runs inside ReadMessage).
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case payload := <-pinged:
		if payload != "keepalive" {
			t.Fatalf("ping payload %q", payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ping frame")
	}
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %s: %v", u, body, err)
	}
	return resp.StatusCode
}

func TestBinanceRESTPaging(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "binance", Symbols: []market.Symbol{"BTCUSDT"}, Duration: 20 * time.Minute, Seed: 9})
	p := Played(t, s, 0)
	srv := NewBinance(p, BinanceOptions{PageLimit: 6})
	defer srv.Close()
	want := s.Klines("BTCUSDT")

	// Page through everything from the start: oldest first, 6 rows a page, next startTime =
	// last open time + 1.
	var got [][]json.RawMessage
	start := s.Config.Start
	pages := 0
	for {
		var rows [][]json.RawMessage
		u := fmt.Sprintf("%s/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=%d&limit=1000", srv.URL, start)
		if st := getJSON(t, u, &rows); st != 200 {
			t.Fatalf("status %d", st)
		}
		pages++
		got = append(got, rows...)
		if len(rows) < 6 {
			break
		}
		var open int64
		_ = json.Unmarshal(rows[len(rows)-1][0], &open)
		start = open + 1
	}
	if pages != 4 || len(got) != len(want) {
		t.Fatalf("%d pages, %d rows, want 4 pages, %d rows", pages, len(got), len(want))
	}
	for i, row := range got {
		var open, closeT, n int64
		var o, v string
		_ = json.Unmarshal(row[0], &open)
		_ = json.Unmarshal(row[1], &o)
		_ = json.Unmarshal(row[5], &v)
		_ = json.Unmarshal(row[6], &closeT)
		_ = json.Unmarshal(row[8], &n)
		of, _ := strconv.ParseFloat(o, 64)
		vf, _ := strconv.ParseFloat(v, 64)
		w := want[i]
		if open != w.Time-60_000 || closeT != w.Time-1 || n != w.Trades || of != w.Open || vf != w.Volume || len(row) != 12 {
			t.Fatalf("row %d: %s, want %+v", i, row, w)
		}
	}

	// endTime only: the latest rows up to it; 5m buckets aggregate the 1m bars.
	var rows [][]json.RawMessage
	end := want[9].Time - 60_000
	getJSON(t, fmt.Sprintf("%s/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=%d&limit=3", srv.URL, end), &rows)
	if len(rows) != 3 || string(rows[2][0]) != strconv.FormatInt(end, 10) {
		t.Fatalf("endTime page: %s", rows)
	}
	getJSON(t, fmt.Sprintf("%s/api/v3/klines?symbol=BTCUSDT&interval=5m", srv.URL), &rows)
	w5 := Interval(want, market.TF5m)
	if len(rows) != len(w5) || string(rows[0][8]) != strconv.FormatInt(w5[0].Trades, 10) {
		t.Fatalf("5m: %d rows, want %d", len(rows), len(w5))
	}

	// Errors in Binance's shape.
	var e struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if st := getJSON(t, srv.URL+"/api/v3/klines?symbol=BTCXXX&interval=1m", &e); st != 400 || e.Code != -1121 || e.Msg != "Invalid symbol." {
		t.Fatalf("unknown symbol: %d %+v", st, e)
	}
	if st := getJSON(t, srv.URL+"/api/v3/klines?symbol=BTCUSDT&interval=7m", &e); st != 400 || e.Code != -1120 {
		t.Fatalf("bad interval: %d %+v", st, e)
	}
	if st := getJSON(t, srv.URL+"/api/v3/exchangeInfo?symbol=BTCXXX", &e); st != 400 || e.Code != -1121 {
		t.Fatalf("exchangeInfo unknown: %d %+v", st, e)
	}

	// The depth snapshot is the player's book.
	var d struct {
		LastUpdateID int64      `json:"lastUpdateId"`
		Bids         [][]string `json:"bids"`
		Asks         [][]string `json:"asks"`
	}
	getJSON(t, srv.URL+"/api/v3/depth?symbol=BTCUSDT&limit=5", &d)
	book, _ := p.Book("BTCUSDT")
	if d.LastUpdateID != book.Seq || len(d.Bids) != 5 || len(d.Asks) != 5 || d.Bids[0][0] != pad8(book.Bids(1)[0].Price) ||
		d.Asks[0][1] != pad8(book.Asks(1)[0].Size) {
		t.Fatalf("depth %+v, book seq %d best %v / %v", d, book.Seq, book.Bids(1), book.Asks(1))
	}
	var info struct {
		Symbols []struct {
			Symbol, Status string
			Filters        []map[string]string
		}
	}
	getJSON(t, srv.URL+`/api/v3/exchangeInfo?symbols=["BTCUSDT"]`, &info)
	if len(info.Symbols) != 1 || info.Symbols[0].Status != "TRADING" || info.Symbols[0].Filters[0]["tickSize"] != "0.10000000" {
		t.Fatalf("exchangeInfo %+v", info)
	}
	if srv.Hits("/api/v3/klines") != pages+4 {
		t.Fatalf("klines hits %d", srv.Hits("/api/v3/klines"))
	}
}
