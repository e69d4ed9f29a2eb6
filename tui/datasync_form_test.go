package tui

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tradeconsole/tradeconsole/engine"
)

// f opens the data-sync form with its defaults; the fields edit as the other forms'; enter on
// the last field submits an engine.DataSyncJob through SubmitJob.
func TestJobsDataSyncFormSubmitsPayload(t *testing.T) {
	b := newFake()
	b.jobs = nil
	h := openJobs(t, b, 80, 24)
	h.mustContain("No jobs yet.", "f downloads a venue's candle history into the database.")
	h.key("f")
	checkFrame(t, h, 80, 24)
	h.mustContain("New data sync", "▸ exchange  ‹ bybit ›", "symbol     BTCUSDT", "timeframe ‹ 1m ›",
		"from       2025-10-22", "to         (now)", "exchange: the venue whose REST klines are downloaded")
	h.key("right") // okx
	h.key("tab")   // symbol
	h.key("ctrl+u")
	h.key("ethusdt")
	h.key("tab")   // timeframe
	h.key("right") // 3m
	h.key("right") // 5m
	h.key("tab")   // from
	h.key("ctrl+u")
	h.key("2025-11-01")
	h.key("tab") // to, the last field
	h.key("2025-11-02")
	h.mustContain("‹ okx ›", "ethusdt", "‹ 5m ›", "[2025-11-02_")
	h.key("enter")

	subs := b.submitted()
	want := engine.DataSyncJob{Exchange: "okx", Symbol: "ETHUSDT", Timeframe: "5m", From: "2025-11-01", To: "2025-11-03"} // through the 2nd
	if len(subs) != 1 || subs[0].Type != engine.JobTypeDataSync || !reflect.DeepEqual(subs[0].Payload, want) {
		t.Fatalf("submits %+v,\nwant %s %#v", subs, engine.JobTypeDataSync, want)
	}
	h.mustNotContain("New data sync")
	h.mustContain("job 6 submitted (data_sync)", "▸  6  data_sync  pending")
	b.mu.Lock()
	v := b.jobs[0]
	b.mu.Unlock()
	if d := describeDataSync(v); d != "okx ETHUSDT 5m · 2025-11-01 → 2025-11-03" {
		t.Fatalf("describeDataSync %q", d)
	}

	// ctrl+s submits the defaults; a time of day goes as RFC 3339.
	b.exchange = "binance" // the console's own venue is the default
	h.key("f")
	h.mustContain("‹ binance ›")
	for range 3 {
		h.key("tab")
	}
	h.key("ctrl+u")
	h.key("2025-11-01 12:30")
	h.key("ctrl+s")
	subs = b.submitted()
	want = engine.DataSyncJob{Exchange: "binance", Symbol: "BTCUSDT", Timeframe: "1m", From: "2025-11-01T12:30:00Z"}
	if len(subs) != 2 || !reflect.DeepEqual(subs[1].Payload, want) {
		t.Fatalf("payload %#v,\nwant %#v", subs[len(subs)-1].Payload, want)
	}
	b.mu.Lock()
	v = b.jobs[0]
	b.mu.Unlock()
	if d := describeDataSync(v); d != "binance BTCUSDT 1m · 2025-11-01T12:30:00Z → now" {
		t.Fatalf("describeDataSync %q", d)
	}
	data, _ := json.Marshal(subs[1].Payload)
	if string(data) != `{"exchange":"binance","symbol":"BTCUSDT","timeframe":"1m","from":"2025-11-01T12:30:00Z"}` {
		t.Fatalf("payload JSON %s", data)
	}
}

// What the form can check is checked before submitting; the engine's errors are shown under
// the fields, which they mark.
func TestJobsDataSyncFormErrors(t *testing.T) {
	b := newFake()
	h := openJobs(t, b, 100, 30)
	h.key("f")
	h.key("tab")
	h.key("ctrl+u") // no symbol
	h.key("tab")
	h.key("tab")
	h.key("ctrl+u")
	h.key("2025-11-05")
	h.key("tab")
	h.key("2025-11-01") // before from
	h.key("ctrl+s")
	if n := len(b.submitted()); n != 0 {
		t.Fatalf("%d submits of a bad form", n)
	}
	h.mustContain("✗ symbol: name the market, e.g. BTCUSDT", `✗ to "2025-11-01": must be after from`, "✗ symbol", "▸ to")
	checkFrame(t, h, 100, 30)

	// The engine refuses: its lines, without the submit prefixes, mark the fields they name.
	b.submitErr = errors.New("jobs: submit data_sync: data_sync: exchange \"bybit\": no REST history configured" +
		"\nsymbol \"BTC-USDT\": only letters and digits are allowed (write BTCUSDT, not BTC-USDT)" +
		"\ntimeframe 1m: bybit history serves 5m 1h")
	h.key("ctrl+u")
	h.key("2025-11-06")
	h.key("shift+tab")
	h.key("shift+tab")
	h.key("shift+tab")
	h.key("btc-usdt")
	h.key("ctrl+s")
	subs := b.submitted()
	if len(subs) != 1 || subs[0].Payload.(engine.DataSyncJob).Symbol != "BTC-USDT" {
		t.Fatalf("submits %+v", subs)
	}
	h.mustContain("New data sync", `✗ exchange "bybit": no REST history configured`, `✗ symbol "BTC-USDT": only letters`,
		"✗ timeframe 1m: bybit history serves 5m 1h", "✗ exchange", "▸ symbol", "✗ timeframe")
	h.mustNotContain("jobs: submit", "data_sync: exchange")
	if strings.Contains(h.screen(), "✗ from") || strings.Contains(h.screen(), "✗ to ") {
		t.Fatalf("the dates are marked:\n%s", h.screen())
	}

	// esc closes the form; f is listed in the keys.
	h.key("esc")
	h.mustNotContain("New data sync")
	h.key("?")
	h.mustContain("f new data sync (fetch history)")
}
