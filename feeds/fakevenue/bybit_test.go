package fakevenue

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradeconsole/tradeconsole/market"
)

func bybitRead(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return m
}

// TestBybitSubscribeRoundTrip speaks the spot and linear socket formats with a raw client:
// acks in each category's shape, pong, a refused topic, then the book snapshot and the
// deltas, trades and klines the player sends.
func TestBybitSubscribeRoundTrip(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "bybit", Duration: 3 * time.Minute, Seed: 1})
	p := NewPlayer(s, PlayerOptions{Faults: Faults{Reject: []string{"orderbook.200.BTCUSDT"}}})
	srv := NewBybit(p, BybitOptions{})
	defer srv.Close()

	// Linear: acks carry req_id and an empty ret_msg.
	lin, _, err := websocket.DefaultDialer.Dial(srv.WS(BybitLinearPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lin.Close()
	if err := lin.WriteMessage(websocket.TextMessage, []byte(`{"op":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	pong := bybitRead(t, lin)
	if pong["op"] != "ping" || pong["ret_msg"] != "pong" || pong["success"] != true || pong["req_id"] != "" {
		t.Fatalf("linear pong %v", pong)
	}
	_ = lin.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}`))
	rej := bybitRead(t, lin)
	if rej["success"] != false || rej["ret_msg"] != "error:handler not found,topic:orderbook.200.BTCUSDT" || rej["op"] != "subscribe" {
		t.Fatalf("rejection %v", rej)
	}

	// Spot: ret_msg says the op, req_id is echoed.
	ws, _, err := websocket.DefaultDialer.Dial(srv.WS(BybitSpotPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sub := `{"req_id":"sub-1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","kline.1.BTCUSDT"]}`
	if err := ws.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
		t.Fatal(err)
	}
	ack := bybitRead(t, ws)
	if ack["success"] != true || ack["ret_msg"] != "subscribe" || ack["req_id"] != "sub-1" || ack["op"] != "subscribe" || ack["conn_id"] == "" {
		t.Fatalf("spot ack %v", ack)
	}
	snap := bybitRead(t, ws)
	if snap["topic"] != "orderbook.50.BTCUSDT" || snap["type"] != "snapshot" {
		t.Fatalf("want the snapshot after the ack, got %v", snap)
	}
	d := snap["data"].(map[string]any)
	if u := int64(d["u"].(float64)); u != FirstSeq-1 {
		t.Fatalf("snapshot u %d, want %d", u, FirstSeq-1)
	}
	if bids := d["b"].([]any); len(bids) != 50 || bids[0].([]any)[0] != s.Initial["BTCUSDT"].Bids(1)[0].Price {
		t.Fatalf("snapshot bids %d, best %v", len(bids), bids[0])
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	wantU := int64(FirstSeq)
	var trades, confirmed, unconfirmed int
	for confirmed < 2 {
		m := bybitRead(t, ws)
		switch topic := m["topic"]; topic {
		case "orderbook.50.BTCUSDT":
			if m["type"] != "delta" {
				t.Fatalf("want deltas, got %v", m)
			}
			u := int64(m["data"].(map[string]any)["u"].(float64))
			if u != wantU {
				t.Fatalf("delta u %d, want %d", u, wantU)
			}
			wantU++
		case "publicTrade.BTCUSDT":
			tr := m["data"].([]any)[0].(map[string]any)
			want := s.Trades("BTCUSDT")[trades]
			if tr["i"] != strconv.FormatInt(want.ID, 10) || tr["p"] != want.Price || tr["v"] != want.Size || int64(tr["T"].(float64)) != want.Time {
				t.Fatalf("trade %d: %v, want %+v", trades, tr, want)
			}
			if _, has := tr["L"]; has {
				t.Fatalf("spot trade with a tick direction: %v", tr)
			}
			trades++
		case "kline.1.BTCUSDT":
			k := m["data"].([]any)[0].(map[string]any)
			if k["confirm"] == false {
				unconfirmed++
				continue
			}
			want := s.Klines("BTCUSDT")[confirmed]
			if int64(k["start"].(float64)) != want.Time-60_000 || k["close"] != strconv.FormatFloat(want.Close, 'f', -1, 64) {
				t.Fatalf("kline %d: %v, want %+v", confirmed, k, want)
			}
			confirmed++
		default:
			t.Fatalf("unexpected frame %v", m)
		}
	}
	if trades == 0 || unconfirmed != 2 {
		t.Fatalf("trades %d, unconfirmed kline pushes %d", trades, unconfirmed)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"req_id":"u1","op":"unsubscribe","args":["publicTrade.BTCUSDT"]}`))
	for {
		m := bybitRead(t, ws)
		if m["op"] == "unsubscribe" {
			if m["success"] != true || m["req_id"] != "u1" {
				t.Fatalf("unsubscribe ack %v", m)
			}
			break
		}
	}
	cancel()
	<-done
}

func bybitGet(t *testing.T, base, path string, q url.Values) (code int, msg string, result map[string]any) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	var e struct {
		RetCode int            `json:"retCode"`
		RetMsg  string         `json:"retMsg"`
		Result  map[string]any `json:"result"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return e.RetCode, e.RetMsg, e.Result
}

// TestBybitRESTKlines pages the REST klines backwards as the protocol notes say and gets the
// script's closed bars plus the open one; unknown symbols get retCode 10001.
func TestBybitRESTKlines(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "bybit", Duration: 20 * time.Minute, Seed: 2})
	p := Played(t, s, 0)
	srv := NewBybit(p, BybitOptions{PageLimit: 6})
	defer srv.Close()

	all := s.Klines("BTCUSDT")
	start := all[0].Time - 60_000
	end := all[len(all)-1].Time - 60_000
	var got []int64
	for e := end; ; {
		code, msg, res := bybitGet(t, srv.URL, "/v5/market/kline", url.Values{"category": {"spot"}, "symbol": {"BTCUSDT"},
			"interval": {"1"}, "start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(e, 10)}, "limit": {"1000"}})
		if code != 0 || msg != "OK" || res["category"] != "spot" {
			t.Fatalf("retCode %d %s %v", code, msg, res)
		}
		list := res["list"].([]any)
		if len(list) > 6 {
			t.Fatalf("page of %d rows, PageLimit 6", len(list))
		}
		if len(list) == 0 {
			break
		}
		for _, r := range list {
			o, _ := strconv.ParseInt(r.([]any)[0].(string), 10, 64)
			if len(got) > 0 && o >= got[len(got)-1] {
				t.Fatalf("not newest first: %d after %d", o, got[len(got)-1])
			}
			got = append(got, o)
		}
		oldest := got[len(got)-1]
		if oldest <= start {
			break
		}
		e = oldest - 1
	}
	if len(got) != len(all) || got[0] != end || got[len(got)-1] != start {
		t.Fatalf("got %d bars %d..%d, want %d", len(got), got[len(got)-1], got[0], len(all))
	}

	code, msg, _ := bybitGet(t, srv.URL, "/v5/market/kline", url.Values{"category": {"spot"}, "symbol": {"BTCXXX"}, "interval": {"1"}})
	if code != 10001 || msg != "Not supported symbols" {
		t.Fatalf("unknown symbol: %d %q", code, msg)
	}
	_, _, res := bybitGet(t, srv.URL, "/v5/market/kline", url.Values{"symbol": {"BTCUSDT"}, "interval": {"5"}, "limit": {"2"}})
	if res["category"] != "linear" {
		t.Fatalf("no category should mean linear: %v", res)
	}
	fives := Interval(all, market.TF5m)
	row := res["list"].([]any)[0].([]any)
	if o, _ := strconv.ParseInt(row[0].(string), 10, 64); o != fives[len(fives)-1].Time-300_000 {
		t.Fatalf("newest 5m bar opens at %d, want %d", o, fives[len(fives)-1].Time-300_000)
	}
	_, _, res = bybitGet(t, srv.URL, "/v5/market/instruments-info", url.Values{"category": {"spot"}, "symbol": {"BTCUSDT"}})
	inst := res["list"].([]any)[0].(map[string]any)
	if inst["priceFilter"].(map[string]any)["tickSize"] != "0.1" || inst["status"] != "Trading" {
		t.Fatalf("instrument %v", inst)
	}
	_, _, res = bybitGet(t, srv.URL, "/v5/market/instruments-info", url.Values{"category": {"linear"}, "symbol": {"BTCXXX"}})
	if l := res["list"].([]any); len(l) != 0 || res["category"] != "linear" || res["nextPageCursor"] != "" {
		t.Fatalf("unknown instrument: %v", res)
	}
}
