package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/fakevenue"
	"github.com/tradeconsole/tradeconsole/market"
)

// The venue journey: the console on a real venue's protocol — a Bybit fake served from this
// process on loopback, the binary pointed at it through TRADECONSOLE_BYBIT_* — shows live
// candles, its Feeds tab shows the three streams connected and the decode-to-bus line, the
// venue drops the connection (12 s after the console joins), the tab counts the reconnect
// and comes back connected, quit.
func TestTmuxVenueJourney(t *testing.T) {
	dir := t.TempDir()
	// A script whose clock is the wall clock: one symbol, about 10 events a second, joined
	// now (the script starts at the minute); the venue drops every connection 12 s later.
	now := time.Now().UnixMilli()
	script := fakevenue.Generate(fakevenue.ScriptConfig{Exchange: "bybit", Symbols: []market.Symbol{"BTCUSDT"},
		Start: now, Duration: 10 * time.Minute, TradesPerSec: 5, BooksPerSec: 5, Seed: 9})
	rate := float64(len(script.Events)) / script.Config.Duration.Seconds()
	p := fakevenue.NewPlayer(script, fakevenue.PlayerOptions{Rate: rate, From: now,
		Faults: fakevenue.Faults{DropEvery: 12 * time.Second, DropLose: time.Second}})
	srv := fakevenue.NewBybit(p, fakevenue.BybitOptions{})
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	played := make(chan error, 1)
	go func() { played <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-played })

	exitFile := filepath.Join(dir, "exit")
	stderrFile := filepath.Join(dir, "stderr")
	cmd := fmt.Sprintf("cd %q && TRADECONSOLE_DATA_DIR=%q TRADECONSOLE_BYBIT_WS_URL=%q TRADECONSOLE_BYBIT_REST_URL=%q TRADECONSOLE_VENUE_HISTORY_DAYS=1 %q --exchange bybit --symbols BTCUSDT 2>%q; echo $? > %q",
		dir, filepath.Join(dir, "data"), srv.WS(fakevenue.BybitSpotPath), srv.URL, binPath, stderrFile, exitFile)
	s := newTmux(t, 160, 48, cmd)
	reportOnFailure(t, exitFile, stderrFile, filepath.Join(dir, "data", "tradeconsole.log"))

	s.waitFor("the Market pane on bybit", 30*time.Second, func(scr string) bool {
		m := lastPrice.FindStringSubmatch(scr)
		return m != nil && m[1] == "BTCUSDT" && strings.Contains(scr, "bybit")
	})
	s.keys("6")
	s.waitFor("the three bybit streams connected, with the decode-to-bus line", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "3 streams · 3 connected") && frameLine.MatchString(scr) && feedReconnects(scr, "book") != ""
	})
	// Every drop of the venue's is one reconnect on each stream, and they come back connected.
	s.waitFor("the venue's drops counted, and every stream connected again", 40*time.Second, func(scr string) bool {
		drops, _, _ := p.Counts()
		n := strconv.Itoa(drops)
		return drops >= 1 && strings.Contains(scr, "3 streams · 3 connected") &&
			feedReconnects(scr, "trades") == n && feedReconnects(scr, "book") == n && feedReconnects(scr, "candles") == n
	})
	s.keys("q")
	s.waitExit(exitFile)
}

// frameLine is the Feeds tab's decode-to-bus line.
var frameLine = regexp.MustCompile(`frame read → bus: p50 \S+ · p99 \S+ · max \S+ · \S+ frames`)

// feedReconnects is the RECONN cell of BTCUSDT's row for channel on the Feeds tab ("" when the
// screen has no such row). Cells hold no spaces, so a row splits like its header once the one
// two-word heading is joined.
func feedReconnects(scr, channel string) string {
	col := -1
	for _, line := range strings.Split(scr, "\n") {
		f := strings.Fields(strings.ReplaceAll(strings.TrimLeft(line, "▸ "), "LAST MSG", "LAST_MSG"))
		if col < 0 {
			for i, h := range f {
				if h == "RECONN" || h == "RECONNECTS" {
					col = i
				}
			}
			continue
		}
		if len(f) > col && f[0] == "bybit" && f[1] == "BTCUSDT" && f[2] == channel {
			return f[col]
		}
	}
	return ""
}
