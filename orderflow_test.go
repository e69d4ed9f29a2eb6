package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type level struct{ price, size float64 }

// parseLevelsJSON reads recorded level text with encoding/json: independent of the
// order-flow reader's own parser.
func parseLevelsJSON(t *testing.T, text string) []level {
	t.Helper()
	var raw [][]float64
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		t.Fatalf("level text %q: %v", text, err)
	}
	out := make([]level, 0, len(raw))
	for _, r := range raw {
		out = append(out, level{r[0], r[1]})
	}
	return out
}

// TestRecordedSimFileThroughOrderflow records live sim data with record_orderflow, runs
// `orderflow` on the file, and checks every metrics row against OBI, CVD and best bid/ask
// computed here from the raw rows.
func TestRecordedSimFileThroughOrderflow(t *testing.T) {
	data := t.TempDir()
	rec := command(t, data, "headless", "--for", "3s", "--symbols", "BTCUSDT", "--record-orderflow", "--speed", "20")
	rec.Env = append(rec.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_SIM_TRADE_RATE=20", "TRADECONSOLE_ORDERFLOW_SNAPSHOT_INTERVAL=500ms")
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("headless: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(data, "orderflow", "sim-BTCUSDT-*.db"))
	if len(files) == 0 {
		t.Fatal("no order-flow file recorded")
	}
	file := files[len(files)-1]
	const depth = 10

	var stdout, stderr bytes.Buffer
	cmd := command(t, data, "orderflow", "--db", file, "--depth", "10", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("orderflow: %v\n%s", err, stderr.String())
	}
	var sum struct {
		Snapshots               int64   `json:"snapshots"`
		Trades                  int64   `json:"trades"`
		TradesAfterLastSnapshot int64   `json:"trades_after_last_snapshot"`
		FinalCVD                float64 `json:"final_cvd"`
		FirstTimestamp          int64   `json:"first_timestamp"`
		LastTimestamp           int64   `json:"last_timestamp"`
		Skipped                 struct {
			Book, Trades int64
		} `json:"skipped"`
		OBI struct{ Min, Max, Mean float64 } `json:"obi"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}

	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	type snap struct {
		id, ts     int64
		bids, asks []level
	}
	var snaps []snap
	rows, err := db.Query(`SELECT id, bids, asks, timestamp FROM book`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s snap
		var b, a string
		if err := rows.Scan(&s.id, &b, &a, &s.ts); err != nil {
			t.Fatal(err)
		}
		s.bids, s.asks = parseLevelsJSON(t, b), parseLevelsJSON(t, a)
		snaps = append(snaps, s)
	}
	rows.Close()
	sort.Slice(snaps, func(i, j int) bool {
		if snaps[i].ts != snaps[j].ts {
			return snaps[i].ts < snaps[j].ts
		}
		return snaps[i].id < snaps[j].id
	})
	type trade struct {
		id, ts int64
		size   float64
		side   string
	}
	var trades []trade
	rows, err = db.Query(`SELECT id, size, side, timestamp FROM trades`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tr trade
		if err := rows.Scan(&tr.id, &tr.size, &tr.side, &tr.ts); err != nil {
			t.Fatal(err)
		}
		trades = append(trades, tr)
	}
	rows.Close()
	sort.Slice(trades, func(i, j int) bool {
		if trades[i].ts != trades[j].ts {
			return trades[i].ts < trades[j].ts
		}
		return trades[i].id < trades[j].id
	})
	if len(snaps) < 20 || len(trades) < 50 {
		t.Fatalf("recorded only %d snapshots and %d trades", len(snaps), len(trades))
	}

	// The independent computation: top-depth sums after sorting each side by price; a trade
	// at t goes to the first snapshot with timestamp ≥ t.
	type metric struct {
		snapshot, ts       int64
		obi, cvd, bid, ask float64
	}
	var want []metric
	var cvd float64
	j := 0
	for _, s := range snaps {
		for ; j < len(trades) && trades[j].ts <= s.ts; j++ {
			if trades[j].side == "buy" {
				cvd += trades[j].size
			} else {
				cvd -= trades[j].size
			}
		}
		bids := append([]level(nil), s.bids...)
		asks := append([]level(nil), s.asks...)
		sort.Slice(bids, func(a, b int) bool { return bids[a].price > bids[b].price })
		sort.Slice(asks, func(a, b int) bool { return asks[a].price < asks[b].price })
		var vb, va float64
		for k := 0; k < depth && k < len(bids); k++ {
			vb += bids[k].size
		}
		for k := 0; k < depth && k < len(asks); k++ {
			va += asks[k].size
		}
		obi := 0.0
		if vb+va > 0 {
			obi = (vb - va) / (vb + va)
		}
		want = append(want, metric{s.id, s.ts, obi, cvd, bids[0].price, asks[0].price})
	}
	after := int64(len(trades) - j)

	var got []metric
	rows, err = db.Query(`SELECT snapshot_id, timestamp, obi, cvd, best_bid, best_ask FROM metrics ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m metric
		if err := rows.Scan(&m.snapshot, &m.ts, &m.obi, &m.cvd, &m.bid, &m.ask); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	rows.Close()
	if len(got) != len(want) {
		t.Fatalf("%d metrics rows, want %d (one per snapshot)", len(got), len(want))
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	minOBI, maxOBI, sumOBI := math.Inf(1), math.Inf(-1), 0.0
	for i := range want {
		g, w := got[i], want[i]
		if g.snapshot != w.snapshot || g.ts != w.ts || !close(g.obi, w.obi) || !close(g.cvd, w.cvd) || g.bid != w.bid || g.ask != w.ask {
			t.Fatalf("metrics row %d:\n got %+v\nwant %+v", i, g, w)
		}
		minOBI, maxOBI, sumOBI = math.Min(minOBI, w.obi), math.Max(maxOBI, w.obi), sumOBI+w.obi
	}
	last := want[len(want)-1]
	if sum.Snapshots != int64(len(snaps)) || sum.Trades != int64(len(trades)) || sum.TradesAfterLastSnapshot != after ||
		!close(sum.FinalCVD, last.cvd) || sum.FirstTimestamp != snaps[0].ts || sum.LastTimestamp != last.ts ||
		sum.Skipped.Book != 0 || sum.Skipped.Trades != 0 ||
		!close(sum.OBI.Min, minOBI) || !close(sum.OBI.Max, maxOBI) || !close(sum.OBI.Mean, sumOBI/float64(len(want))) {
		t.Fatalf("summary %+v\nwant snapshots %d trades %d after %d final cvd %v obi %v..%v mean %v",
			sum, len(snaps), len(trades), after, last.cvd, minOBI, maxOBI, sumOBI/float64(len(want)))
	}
	// One snapshot per snapshot interval (500 ms of sim time, on the interval grid).
	for i := 1; i < len(snaps); i++ {
		if snaps[i].ts/500 == snaps[i-1].ts/500 {
			t.Fatalf("snapshots %d and %d (at %d and %d) fall in the same 500 ms interval", i-1, i, snaps[i-1].ts, snaps[i].ts)
		}
	}
}

// TestOrderflowCommandErrors: bad input exits 2 with a message naming what is wrong.
func TestOrderflowCommandErrors(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.txt")
	os.WriteFile(notSQLite, []byte("hello, this is not a database at all, just text.................................................................................."), 0o644)
	empty := filepath.Join(dir, "empty.db")
	db, err := sql.Open("sqlite", "file:"+empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, bids TEXT, asks TEXT, timestamp INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"orderflow"}, "--db"},
		{[]string{"orderflow", "--db", filepath.Join(dir, "missing.db")}, "missing.db"},
		{[]string{"orderflow", "--db", notSQLite}, "not an SQLite database"},
		{[]string{"orderflow", "--db", empty}, "trades"},
		{[]string{"orderflow", "--db", empty, "--depth", "-1"}, "--depth"},
	} {
		var stderr bytes.Buffer
		cmd := command(t, dir, tc.args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := -1
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Error("orderflow created the missing file")
	}
}

// TestHeadlessReplayStoresTheRecordingAndExits replays a recorded file headless at high speed:
// it stops by itself at the end of the file (exit 0), every recorded trade is in raw_trades
// under exchange replay, and candles were built from them.
func TestHeadlessReplayStoresTheRecordingAndExits(t *testing.T) {
	data := t.TempDir()
	rec := command(t, data, "headless", "--for", "2s", "--symbols", "ETHUSDT", "--record-orderflow", "--speed", "30")
	rec.Env = append(rec.Env, "TRADECONSOLE_SIM_HISTORY_DAYS=0", "TRADECONSOLE_SIM_TRADE_RATE=20")
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(data, "orderflow", "sim-ETHUSDT-*.db"))
	if len(files) == 0 {
		t.Fatal("nothing recorded")
	}
	var recorded int
	db, err := sql.Open("sqlite", "file:"+files[len(files)-1]+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM trades`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	db.Close()

	replayData := t.TempDir()
	play := command(t, replayData, "headless", "--exchange", "replay", "--replay-file", files[len(files)-1], "--speed", "10000", "--for", "2m")
	start := time.Now()
	out, err := play.CombinedOutput()
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if took := time.Since(start); took > time.Minute || !strings.Contains(string(out), "feed ended") {
		t.Fatalf("replay did not stop at the end of the file (took %v)\n%s", took, out)
	}
	mainDB, err := sql.Open("sqlite", "file:"+filepath.Join(replayData, "tradeconsole.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer mainDB.Close()
	var stored, candles int
	if err := mainDB.QueryRow(`SELECT count(*) FROM raw_trades WHERE exchange = 'replay' AND symbol = 'ETHUSDT'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if err := mainDB.QueryRow(`SELECT count(*) FROM market_data WHERE exchange = 'replay' AND symbol = 'ETHUSDT' AND timeframe = '5s'`).Scan(&candles); err != nil {
		t.Fatal(err)
	}
	if recorded < 50 || stored != recorded || candles < 5 {
		t.Fatalf("recorded %d trades; replay stored %d trades and %d 5s candles", recorded, stored, candles)
	}
}
