package fakevenue

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradeconsole/tradeconsole/market"
)

func okxDial(t *testing.T, u string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func okxSend(t *testing.T, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("send %s: %v", s, err)
	}
}

func okxRead(t *testing.T, ws *websocket.Conn) []byte {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

func okxReadJSON(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	b := okxRead(t, ws)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return m
}

// okxReadUntil reads frames until match accepts one.
func okxReadUntil(t *testing.T, ws *websocket.Conn, what string, match func(m map[string]any) bool) map[string]any {
	t.Helper()
	for i := 0; i < 100000; i++ {
		if m := okxReadJSON(t, ws); match(m) {
			return m
		}
	}
	t.Fatalf("no %s frame", what)
	return nil
}

func TestOKXChecksumVectors(t *testing.T) {
	b := NewBook()
	b.Set(true, "3366.1", "7")
	b.Set(true, "3366", "6")
	b.Set(false, "3366.8", "9")
	b.Set(false, "3368", "8")
	if got := OKXChecksum(b); got != -1881014294 {
		t.Errorf("checksum = %d, want -1881014294", got)
	}
	b = NewBook()
	b.Set(true, "3366.1", "7")
	b.Set(false, "3366.8", "9")
	b.Set(false, "3368", "8")
	b.Set(false, "3372", "8")
	if got := OKXChecksum(b); got != 831078360 {
		t.Errorf("checksum (bids shorter) = %d, want 831078360", got)
	}
}

func TestOKXSubscribeRoundTrip(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "okx", Symbols: []market.Symbol{"BTCUSDT"}, Duration: 3 * time.Minute, Seed: 3})
	p := NewPlayer(s, PlayerOptions{Checksum: OKXChecksum})
	v := NewOKX(p, OKXOptions{})
	defer v.Close()

	pub := okxDial(t, v.PublicURL())
	okxSend(t, pub, `{"id":"7","op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"books","instId":"BTC-USDT"}]}`)
	for _, ch := range []string{"trades", "books"} {
		m := okxReadJSON(t, pub)
		arg, _ := m["arg"].(map[string]any)
		if m["event"] != "subscribe" || m["id"] != "7" || arg["channel"] != ch || arg["instId"] != "BTC-USDT" || m["connId"] == "" {
			t.Fatalf("ack for %s = %v", ch, m)
		}
	}
	snap := okxReadJSON(t, pub)
	d := snap["data"].([]any)[0].(map[string]any)
	init := s.Initial["BTCUSDT"]
	if snap["action"] != "snapshot" || d["prevSeqId"] != float64(-1) || d["seqId"] != float64(FirstSeq-1) ||
		d["checksum"] != float64(OKXChecksum(init)) {
		t.Fatalf("snapshot header = action %v prev %v seq %v checksum %v", snap["action"], d["prevSeqId"], d["seqId"], d["checksum"])
	}
	bids, asks := d["bids"].([]any), d["asks"].([]any)
	b0, a0 := bids[0].([]any), asks[0].([]any)
	if len(bids) != 50 || len(asks) != 50 || b0[0] != init.Bids(1)[0].Price || b0[1] != init.Bids(1)[0].Size ||
		b0[2] != "0" || a0[0] != init.Asks(1)[0].Price {
		t.Fatalf("snapshot levels: %d bids %d asks, best %v / %v", len(bids), len(asks), b0, a0)
	}

	okxSend(t, pub, "ping")
	if b := okxRead(t, pub); string(b) != "pong" {
		t.Fatalf("ping answered %q", b)
	}
	okxSend(t, pub, `{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`)
	if m := okxReadJSON(t, pub); m["event"] != "error" || m["code"] != "60018" || !strings.Contains(m["msg"].(string), "channel:candle1m,instId:BTC-USDT") {
		t.Fatalf("candles on the public socket: %v", m)
	}
	okxSend(t, pub, `{"op":"subscribe","argss":[]}`)
	if m := okxReadJSON(t, pub); m["event"] != "error" || m["code"] != "60012" {
		t.Fatalf("malformed request: %v", m)
	}

	bus := okxDial(t, v.BusinessURL())
	okxSend(t, bus, `{"id":"9","op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}`)
	if m := okxReadJSON(t, bus); m["event"] != "subscribe" || m["id"] != "9" {
		t.Fatalf("candle ack: %v", m)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()

	// The first delta continues the snapshot and carries the checksum of the book after it.
	var up, tr map[string]any
	okxReadUntil(t, pub, "update and trade", func(m map[string]any) bool {
		if m["action"] == "update" && up == nil {
			up = m
		}
		if m["arg"].(map[string]any)["channel"] == "trades" && tr == nil {
			tr = m
		}
		return up != nil && tr != nil
	})
	d = up["data"].([]any)[0].(map[string]any)
	if d["prevSeqId"] != float64(FirstSeq-1) || d["seqId"] != float64(FirstSeq) {
		t.Fatalf("first update prev %v seq %v", d["prevSeqId"], d["seqId"])
	}
	var first *BookDelta
	for _, e := range s.Events {
		if e.Book != nil {
			first = e.Book
			break
		}
	}
	after := init.Clone()
	after.Apply(first)
	if d["checksum"] != float64(OKXChecksum(after)) {
		t.Fatalf("update checksum %v, want %d", d["checksum"], OKXChecksum(after))
	}
	td := tr["data"].([]any)[0].(map[string]any)
	want := s.Trades("BTCUSDT")[0]
	if td["tradeId"] != strconv.FormatInt(want.ID, 10) || td["px"] != want.Price || td["sz"] != want.Size ||
		td["side"] != want.Side.String() || td["ts"] != strconv.FormatInt(want.Time, 10) || td["instId"] != "BTC-USDT" {
		t.Fatalf("trade %v, want %+v", td, want)
	}
	kl := okxReadUntil(t, bus, "candle", func(m map[string]any) bool { return m["data"] != nil })
	row := kl["data"].([]any)[0].([]any)
	k := s.Klines("BTCUSDT")[0]
	if row[0] != strconv.FormatInt(k.Time-60_000, 10) || row[8] != "1" || row[4] != strconv.FormatFloat(k.Close, 'f', -1, 64) {
		t.Fatalf("kline row %v, want %+v", row, k)
	}

	if n := v.Notice(); n != 2 {
		t.Fatalf("notice went to %d connections, want 2", n)
	}
	okxReadUntil(t, bus, "notice", func(m map[string]any) bool { return m["event"] == "notice" && m["code"] == "64008" })
	if v.Connections(OKXPublicPath) != 1 || v.Connections(OKXBusinessPath) != 1 {
		t.Fatalf("connections %d/%d", v.Connections(OKXPublicPath), v.Connections(OKXBusinessPath))
	}
}

func okxGet(t *testing.T, base, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %s: %v", path, b, err)
	}
	return resp.StatusCode, m
}

func TestOKXRESTCandlesPaging(t *testing.T) {
	s := Generate(ScriptConfig{Exchange: "okx", Symbols: []market.Symbol{"BTCUSDT", "ETHUSDT"}, Duration: 10 * time.Minute, Seed: 5})
	p := Played(t, s, 7*time.Minute+30*time.Second)
	v := NewOKX(p, OKXOptions{PageLimit: 3, Coverage: 5})
	defer v.Close()
	now := p.Now()
	closed, open, hasOpen := s.KlinesAt("BTCUSDT", now)
	if !hasOpen || len(closed) != 7 {
		t.Fatalf("at %d: %d closed, open %v", now, len(closed), hasOpen)
	}

	// Latest page: newest first, the open bar (confirm 0) on top, PageLimit rows.
	code, m := okxGet(t, v.RESTURL(), OKXCandlesPath, url.Values{"instId": {"BTC-USDT"}})
	rows := m["data"].([]any)
	if code != 200 || m["code"] != "0" || len(rows) != 3 {
		t.Fatalf("latest: HTTP %d %v", code, m)
	}
	r0 := rows[0].([]any)
	if r0[0] != strconv.FormatInt(open.Time-60_000, 10) || r0[8] != "0" || rows[1].([]any)[0] != strconv.FormatInt(closed[6].Time-60_000, 10) {
		t.Fatalf("latest rows %v", rows)
	}

	// Paging backwards with after (exclusive) through history collects every closed bar.
	var got []market.Candle
	after := int64(-1)
	for pages := 0; ; pages++ {
		q := url.Values{"instId": {"BTC-USDT"}, "limit": {"300"}}
		if after >= 0 {
			q.Set("after", strconv.FormatInt(after, 10))
		}
		_, m := okxGet(t, v.RESTURL(), OKXHistoryPath, q)
		rows := m["data"].([]any)
		if len(rows) == 0 {
			if pages < 3 {
				t.Fatalf("only %d pages", pages)
			}
			break
		}
		for _, r := range rows {
			r := r.([]any)
			ts, _ := strconv.ParseInt(r[0].(string), 10, 64)
			if after >= 0 && ts >= after {
				t.Fatalf("after=%d returned %d", after, ts)
			}
			after = ts
			if r[8] == "1" {
				c := market.Candle{Exchange: "okx", Symbol: "BTCUSDT", Timeframe: market.TF1m, Time: ts + 60_000}
				c.Open, _ = strconv.ParseFloat(r[1].(string), 64)
				c.High, _ = strconv.ParseFloat(r[2].(string), 64)
				c.Low, _ = strconv.ParseFloat(r[3].(string), 64)
				c.Close, _ = strconv.ParseFloat(r[4].(string), 64)
				c.Volume, _ = strconv.ParseFloat(r[5].(string), 64)
				got = append([]market.Candle{c}, got...)
			}
		}
	}
	if len(got) != len(closed) {
		t.Fatalf("paged %d closed bars, want %d", len(got), len(closed))
	}
	for i := range got {
		w := closed[i]
		w.Trades = 0
		if got[i] != w {
			t.Fatalf("bar %d = %+v, want %+v", i, got[i], w)
		}
	}

	// before alone: the latest bars newer than it; candles stops at its coverage.
	_, m = okxGet(t, v.RESTURL(), OKXCandlesPath, url.Values{"instId": {"BTC-USDT"}, "before": {strconv.FormatInt(closed[5].Time-60_000, 10)}})
	if rows := m["data"].([]any); len(rows) != 2 {
		t.Fatalf("before: %v", rows)
	}
	_, m = okxGet(t, v.RESTURL(), OKXCandlesPath, url.Values{"instId": {"BTC-USDT"}, "after": {strconv.FormatInt(closed[3].Time-60_000, 10)}})
	if rows := m["data"].([]any); len(rows) != 0 {
		t.Fatalf("candles beyond its coverage: %v", rows)
	}

	// Errors in OKX's shapes.
	code, m = okxGet(t, v.RESTURL(), OKXCandlesPath, url.Values{"instId": {"BTC-XXX"}})
	if code != 200 || m["code"] != "51001" || !strings.Contains(m["msg"].(string), "doesn't exist") {
		t.Fatalf("unknown instId: HTTP %d %v", code, m)
	}
	if _, m = okxGet(t, v.RESTURL(), OKXCandlesPath, url.Values{"instId": {"BTC-USDT"}, "limit": {"301"}}); m["code"] != "51000" {
		t.Fatalf("limit 301: %v", m)
	}
	if code, m = okxGet(t, v.RESTURL(), "/api/v5/market/nope", nil); code != 404 || m["code"] != float64(404) {
		t.Fatalf("unknown path: HTTP %d %v", code, m)
	}
	_, m = okxGet(t, v.RESTURL(), OKXInstrPath, url.Values{"instType": {"SPOT"}, "instId": {"ETH-USDT"}})
	if d := m["data"].([]any); len(d) != 1 || d[0].(map[string]any)["tickSz"] != "0.01" || d[0].(map[string]any)["state"] != "live" {
		t.Fatalf("instrument: %v", m)
	}
	if _, m = okxGet(t, v.RESTURL(), OKXInstrPath, url.Values{"instType": {"SPOT"}, "instId": {"BTC-XXX"}}); m["code"] != "51001" {
		t.Fatalf("unknown instrument: %v", m)
	}
	if v.Requests(OKXHistoryPath) < 4 {
		t.Fatalf("history requests %d", v.Requests(OKXHistoryPath))
	}
}

func TestOKXLegacyAndThrottle(t *testing.T) {
	s := Generate(ScriptConfig{Symbols: []market.Symbol{"BTCUSDT"}, Duration: time.Minute, Seed: 1})
	p := NewPlayer(s, PlayerOptions{})
	v := NewOKX(p, OKXOptions{Legacy: true, Throttle: 2})
	defer v.Close()
	pub := okxDial(t, v.PublicURL())
	okxSend(t, pub, `{"id":"3","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`)
	if m := okxReadJSON(t, pub); m["event"] != "subscribe" || m["id"] != nil || m["connId"] != nil {
		t.Fatalf("legacy ack %v", m)
	}
	d := okxReadJSON(t, pub)["data"].([]any)[0].(map[string]any)
	if _, ok := d["seqId"]; ok || d["checksum"] != float64(0) {
		t.Fatalf("legacy snapshot has %v", d)
	}
	okxGet(t, v.RESTURL(), OKXInstrPath, url.Values{"instType": {"SPOT"}})
	code, m := okxGet(t, v.RESTURL(), OKXInstrPath, url.Values{"instType": {"SPOT"}})
	if code != 429 || m["code"] != "50011" {
		t.Fatalf("throttled: HTTP %d %v", code, m)
	}
}
