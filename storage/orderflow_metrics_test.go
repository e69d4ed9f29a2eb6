package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// metricsRowT is a metrics row as read back; best prices are NaN for NULL.
type metricsRowT struct {
	id, snapshotID, ts int64
	obi, cvd           float64
	bestBid, bestAsk   float64
}

func (m metricsRowT) String() string {
	return fmt.Sprintf("{%d snap %d ts %d obi %v cvd %v bid %v ask %v}", m.id, m.snapshotID, m.ts, m.obi, m.cvd, m.bestBid, m.bestAsk)
}

func readMetrics(t testing.TB, path string) []metricsRowT {
	t.Helper()
	db := openSQL(t, path)
	defer db.Close()
	rows, err := db.Query("SELECT id, snapshot_id, timestamp, obi, cvd, best_bid, best_ask FROM metrics ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []metricsRowT
	for rows.Next() {
		var m metricsRowT
		var bb, ba sql.NullFloat64
		if err := rows.Scan(&m.id, &m.snapshotID, &m.ts, &m.obi, &m.cvd, &bb, &ba); err != nil {
			t.Fatal(err)
		}
		m.bestBid, m.bestAsk = math.NaN(), math.NaN()
		if bb.Valid {
			m.bestBid = bb.Float64
		}
		if ba.Valid {
			m.bestAsk = ba.Float64
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func sameRows(a, b []metricsRowT) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.id != y.id || x.snapshotID != y.snapshotID || x.ts != y.ts || !sameFloat(x.obi, y.obi) ||
			!sameFloat(x.cvd, y.cvd) || !sameFloat(x.bestBid, y.bestBid) || !sameFloat(x.bestAsk, y.bestAsk) {
			return false
		}
	}
	return true
}

func schemaOf(t testing.TB, path string) string {
	t.Helper()
	db := openSQL(t, path)
	defer db.Close()
	rows, err := db.Query("SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var typ, name, tbl string
		if err := rows.Scan(&typ, &name, &tbl); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, typ+" "+name+" on "+tbl)
	}
	return strings.Join(parts, "; ")
}

func journalMode(t testing.TB, path string) string {
	t.Helper()
	db := openSQL(t, path)
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	return mode
}

// handMadeFile is a small file with known metrics: levels as JSON, Python tuples and strings,
// an unsorted side, an empty book; timestamps as ISO text, seconds, ms, µs and float seconds;
// trades before the first snapshot, exactly at snapshot times and after the last one; one
// malformed row in each table.
func handMadeFile(t *testing.T, journal string) string {
	path := filepath.Join(t.TempDir(), "hand.db")
	writeOrderflowFile(t, path, journal, []ofBook{
		// bids {50000: 10, 49999: 5}, asks {50001: 3, 50002: 2} (unsorted) → OBI 0.5.
		{1, "BTC-USDT", `[(50000.0, 10.0, 0, 1), (49999.0, 5.0, 0, 1)]`, `[[50002, 2], [50001, 3]]`, "2023-11-14T22:13:21Z"},
		// Empty book → OBI 0, no best prices.
		{2, "BTC-USDT", `[]`, `[]`, int64(1_700_000_002)},
		// Malformed: skipped, its trades go to the next snapshot.
		{3, "BTC-USDT", `[[100, -1]]`, `[[101, 1]]`, ms(2500)},
		// bid 2 / ask 8 → −0.6; time in µs.
		{4, "BTC-USDT", `[[100, 2]]`, `[[101, 8]]`, ms(3000) * 1000},
		// Depth 2: (2 − 1) / 3; all levels: (3 − 1) / 4.
		{5, "BTC-USDT", `[["100", "1"], [99, 1], [98, 1]]`, `[[101, 1, 0, 0]]`, ms(4000)},
	}, []ofTrade{
		{1, "BTC-USDT", "1", 50000.0, 1.5, "buy", ms(500)},   // before the first snapshot
		{2, "BTC-USDT", "2", 50000.0, 1.0, "sell", ms(1000)}, // at snapshot 1: CVD 0.5 (pinned)
		{3, "BTC-USDT", "3", 50000.0, 2.0, "buy", ms(1500)},
		{4, "BTC-USDT", "4", 100.0, 0.5, "sell", ms(2500)}, // at the skipped snapshot's time
		{5, "BTC-USDT", "5", 100.0, 9.0, "x", ms(2600)},    // malformed side
		{6, "BTC-USDT", "6", 100.0, 1.0, "buy", ms(3000)},  // at snapshot 4
		{7, "BTC-USDT", "7", 100.0, 1.0, "buy", float64(ms(3500)) / 1000},
		{8, "BTC-USDT", "8", 100.0, 4.0, "sell", ms(4000)*1000 + 500}, // 0.5 ms after the last
	})
	return path
}

func handMadeWant(depth int) []metricsRowT {
	nan := math.NaN()
	last := 1.0 / 3
	if depth == 0 {
		last = 0.5
	}
	return []metricsRowT{
		{1, 1, ms(1000), 0.5, 0.5, 50000, 50001},
		{2, 2, ms(2000), 0, 2.5, nan, nan},
		{3, 4, ms(3000), -0.6, 3.0, 100, 101},
		{4, 5, ms(4000), last, 4.0, 100, 101},
	}
}

func TestRunOrderflowHandMade(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			path := handMadeFile(t, journal)
			before := inputChecksum(t, path)
			var progress [][2]int64
			sum, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: 2, BatchSize: 3,
				Progress: func(done, total int64) { progress = append(progress, [2]int64{done, total}) }})
			if err != nil {
				t.Fatalf("RunOrderflow: %v", err)
			}
			if got := readMetrics(t, path); !sameRows(got, handMadeWant(2)) {
				t.Fatalf("metrics:\n got %v\nwant %v", got, handMadeWant(2))
			}
			want := OrderflowSummary{
				File: path, Depth: 2, Snapshots: 4, Trades: 7, TradesAfterLastSnapshot: 1,
				Skipped: OrderflowSkipped{Book: 1, Trades: 1, Reasons: []string{
					"book id 3: bids: level 0: negative size -1",
					`trades id 5: side "x": want buy or sell`,
				}},
				OBI:      OrderflowOBI{Min: -0.6, Max: 0.5, Mean: (0.5 + 0 - 0.6 + 1.0/3) / 4},
				FinalCVD: 4, FirstTimestamp: ms(1000), LastTimestamp: ms(4000),
			}
			got := sum
			got.ElapsedSeconds, got.SnapshotsPerSecond = 0, 0
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("summary:\n got %+v\nwant %+v", got, want)
			}
			if sum.ElapsedSeconds <= 0 || sum.SnapshotsPerSecond <= 0 {
				t.Errorf("elapsed %v, rate %v", sum.ElapsedSeconds, sum.SnapshotsPerSecond)
			}
			if fmt.Sprint(progress) != "[[3 5] [4 5]]" {
				t.Errorf("progress %v", progress)
			}
			if inputChecksum(t, path) != before {
				t.Fatal("book or trades changed")
			}
			if got := journalMode(t, path); got != journal {
				t.Errorf("journal mode %q after the run, want %q", got, journal)
			}
			wantSchema := "index idx_metrics_snapshot_id on metrics; index idx_metrics_timestamp on metrics; " +
				"table book on book; table metrics on metrics; table sqlite_sequence on sqlite_sequence; table trades on trades"
			if got := schemaOf(t, path); got != wantSchema {
				t.Errorf("schema:\n got %s\nwant %s", got, wantSchema)
			}
		})
	}
}

func TestRunOrderflowRerunReplacesMetrics(t *testing.T) {
	path := handMadeFile(t, "delete")
	before := inputChecksum(t, path)
	if _, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: 2}); err != nil {
		t.Fatal(err)
	}
	schema := schemaOf(t, path)
	for range 2 {
		if _, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: 0}); err != nil {
			t.Fatal(err)
		}
		if got := readMetrics(t, path); !sameRows(got, handMadeWant(0)) {
			t.Fatalf("metrics after a re-run:\n got %v\nwant %v", got, handMadeWant(0))
		}
	}
	if inputChecksum(t, path) != before {
		t.Fatal("book or trades changed")
	}
	if got := schemaOf(t, path); got != schema {
		t.Fatalf("schema changed:\n%s\n%s", got, schema)
	}
}

// TestRunOrderflowFailureKeepsOldMetrics cancels a run half way: the previous metrics stay.
func TestRunOrderflowFailureKeepsOldMetrics(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "of.db")
			var books []ofBook
			for i := range 500 {
				books = append(books, ofBook{int64(i + 1), "X", `[[100, 1]]`, `[[101, 3]]`, ms(int64(i) * 100)})
			}
			writeOrderflowFile(t, path, journal, books, nil)
			if _, err := RunOrderflow(ctxT(t), path, OrderflowOptions{}); err != nil {
				t.Fatal(err)
			}
			old := readMetrics(t, path)
			schema := schemaOf(t, path)
			ctx, cancel := context.WithCancel(ctxT(t))
			_, err := RunOrderflow(ctx, path, OrderflowOptions{BatchSize: 100, Progress: func(done, total int64) {
				if done >= 200 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled run: %v", err)
			}
			if got := readMetrics(t, path); !sameRows(got, old) || len(got) != 500 {
				t.Fatalf("metrics changed by a failed run: %d rows", len(got))
			}
			if got := schemaOf(t, path); got != schema {
				t.Fatalf("schema changed by a failed run:\n%s\n%s", got, schema)
			}
		})
	}
}

func TestRunOrderflowBadDepth(t *testing.T) {
	path := handMadeFile(t, "delete")
	_, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: -1})
	var ie *OrderflowInputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "depth -1") {
		t.Fatalf("RunOrderflow(depth -1) = %v", err)
	}
}

func TestRunOrderflowEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "of.db")
	writeOrderflowFile(t, path, "delete", nil, []ofTrade{{1, "X", "a", 1.0, 1.0, "buy", ms(5)}})
	sum, err := RunOrderflow(ctxT(t), path, OrderflowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Snapshots != 0 || sum.Trades != 1 || sum.TradesAfterLastSnapshot != 1 || sum.FinalCVD != 0 || sum.OBI != (OrderflowOBI{}) {
		t.Fatalf("summary %+v", sum)
	}
	if rows := readMetrics(t, path); len(rows) != 0 {
		t.Fatalf("metrics %v", rows)
	}
	b, err := json.Marshal(sum)
	if err != nil || !strings.Contains(string(b), `"reasons":[]`) {
		t.Fatalf("json %s %v", b, err)
	}
}

func TestRunOrderflowOutOfOrder(t *testing.T) {
	path := outOfOrderFile(t)
	sum, err := RunOrderflow(ctxT(t), path, OrderflowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: t4@500 B1@1000 t3@1500 B3@2000 t2@3000 B2@3000 B5@4000 t1@4500 B4@5000.
	var got []string
	for _, m := range readMetrics(t, path) {
		got = append(got, fmt.Sprintf("%d:%v", m.snapshotID, m.cvd))
	}
	if strings.Join(got, " ") != "1:1 3:2 2:3 5:3 4:4" {
		t.Fatalf("metrics %v", got)
	}
	if fmt.Sprint(sum.Sorted) != "[book trades]" || sum.Skipped.Book != 1 || sum.Skipped.Trades != 0 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestOrderflowSummaryText(t *testing.T) {
	path := handMadeFile(t, "delete")
	sum, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	text := sum.Text()
	for _, w := range []string{
		"orderflow " + path + " (depth 2)",
		"snapshots 4 from 2023-11-14T22:13:21.000Z to 2023-11-14T22:13:24.000Z",
		"trades 7 (1 after the last snapshot",
		"OBI min -0.6000  max 0.5000",
		"final CVD 4",
		"skipped 1 book rows and 1 trades rows",
		`trades id 5: side "x": want buy or sell`,
		"snapshots/s",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("Text() lacks %q:\n%s", w, text)
		}
	}
	if n := strings.Count(text, "\n"); n > 10 {
		t.Errorf("Text() has %d lines", n)
	}
}

// Random files against a naive reference: everything sorted in memory, trades attributed by
// scanning.

type refBook struct {
	id, us     int64
	bids, asks []market.Level // as the text has them, zero sizes included
	valid      bool
}

type refTrade struct {
	id, us int64
	side   market.Side
	size   float64
	valid  bool
}

// encodeTime writes µs time us in one of the forms that denote it exactly.
func encodeTime(rng *rand.Rand, us int64) any {
	for {
		switch rng.IntN(9) {
		case 0:
			if us%1_000_000 == 0 {
				return us / 1_000_000
			}
		case 1:
			if us%1000 == 0 {
				return us / 1000
			}
		case 2:
			return us
		case 3:
			return us * 1000
		case 4:
			return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
		case 5:
			return time.UnixMicro(us).In(time.FixedZone("", -5*3600)).Format("2006-01-02 15:04:05.999999-07:00")
		case 6:
			if us%1000 == 0 {
				return float64(us / 1000)
			}
		case 7:
			if us%1000 == 0 {
				return strconv.FormatInt(us/1000, 10)
			}
		case 8:
			if us%1000 == 0 {
				return float64(us/1000) / 1000 // seconds with ms fraction
			}
		}
	}
}

func encodeLevels(rng *rand.Rand, levels []market.Level) string {
	var b strings.Builder
	b.WriteByte('[')
	form := rng.IntN(3)
	for i, l := range levels {
		if i > 0 {
			b.WriteString(", ")
		}
		p, s := strconv.FormatFloat(l.Price, 'f', -1, 64), strconv.FormatFloat(l.Size, 'f', -1, 64)
		switch form {
		case 0:
			fmt.Fprintf(&b, "[%s, %s]", p, s)
		case 1:
			fmt.Fprintf(&b, "(%s, %s, 0, %d)", p, s, 1+rng.IntN(9))
		case 2:
			fmt.Fprintf(&b, `["%s", "%s", 0]`, p, s)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func randomSide(rng *rand.Rand, side market.Side, mid int) []market.Level {
	n := rng.IntN(7)
	ticks := rng.Perm(40)[:n]
	out := make([]market.Level, n)
	for i, tk := range ticks {
		p := float64(mid-1-tk) / 10
		if side == market.Sell {
			p = float64(mid+1+tk) / 10
		}
		size := float64(rng.IntN(5000)) / 1000
		out[i] = market.Level{Price: p, Size: size}
	}
	if rng.IntN(2) == 0 {
		market.SortLevels(side, out)
	}
	return out
}

// randomFile writes a random order-flow file and returns its reference rows.
func randomFile(t *testing.T, rng *rand.Rand, path, journal string) ([]refBook, []refTrade) {
	nb, nt := rng.IntN(120), rng.IntN(250)
	start := int64(1_700_000_000_000_000)
	span := int64(1 + rng.IntN(400))
	times := func(n int) []int64 { // sorted µs times on a coarse grid, so that many are equal
		out := make([]int64, n)
		for i := range out {
			out[i] = start + rng.Int64N(span)*250_000
			if rng.IntN(10) == 0 {
				out[i] += rng.Int64N(1000) // not on a ms
			}
		}
		slices.Sort(out)
		return out
	}
	// ids: in time order, or permuted (a file out of order).
	ids := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		switch rng.IntN(4) {
		case 0:
			rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
		case 1:
			if n > 1 {
				k := rng.IntN(n - 1)
				out[k], out[k+1] = out[k+1], out[k]
			}
		}
		return out
	}
	bt, bi := times(nb), ids(nb)
	tt, ti := times(nt), ids(nt)
	var books []refBook
	var bookRows []ofBook
	for i := range nb {
		mid := 500_000 + rng.IntN(100)
		rb := refBook{id: bi[i], us: bt[i], bids: randomSide(rng, market.Buy, mid), asks: randomSide(rng, market.Sell, mid), valid: true}
		row := ofBook{id: rb.id, inst: "BTC-USDT", bids: encodeLevels(rng, rb.bids), asks: encodeLevels(rng, rb.asks), ts: encodeTime(rng, rb.us)}
		switch rng.IntN(20) {
		case 0:
			row.bids, rb.valid = `[[100, -1]]`, false
		case 1:
			row.ts, rb.valid = "yesterday", false
		case 2:
			row.asks, rb.valid = nil, false
		}
		books = append(books, rb)
		bookRows = append(bookRows, row)
	}
	var trades []refTrade
	var tradeRows []ofTrade
	for i := range nt {
		side := market.Buy
		if rng.IntN(2) == 0 {
			side = market.Sell
		}
		rt := refTrade{id: ti[i], us: tt[i], side: side, size: float64(1+rng.IntN(3000)) / 1000, valid: true}
		row := ofTrade{id: rt.id, inst: "BTC-USDT", tradeID: strconv.Itoa(i), price: 50000.5, size: rt.size, side: side.String(), ts: encodeTime(rng, rt.us)}
		switch rng.IntN(20) {
		case 0:
			row.side, rt.valid = "hold", false
		case 1:
			row.size, rt.valid = -rt.size, false
		case 2:
			row.ts, rt.valid = nil, false
		case 3:
			row.price, rt.valid = "abc", false
		}
		trades = append(trades, rt)
		tradeRows = append(tradeRows, row)
	}
	writeOrderflowFile(t, path, journal, bookRows, tradeRows)
	return books, trades
}

// reference computes the metrics rows and the summary counts naively.
func reference(books []refBook, trades []refTrade, depth int) (rows []metricsRowT, nTrades, after, skipBook, skipTrades int64) {
	var vb []refBook
	for _, b := range books {
		if b.valid {
			vb = append(vb, b)
		} else {
			skipBook++
		}
	}
	var vt []refTrade
	for _, t := range trades {
		if t.valid {
			vt = append(vt, t)
		} else {
			skipTrades++
		}
	}
	byTime := func(us1, id1, us2, id2 int64) int {
		if us1 != us2 {
			return int(math.Copysign(1, float64(us1-us2)))
		}
		return int(id1 - id2)
	}
	slices.SortFunc(vb, func(a, b refBook) int { return byTime(a.us, a.id, b.us, b.id) })
	slices.SortFunc(vt, func(a, b refTrade) int { return byTime(a.us, a.id, b.us, b.id) })
	cvd, j := 0.0, 0
	for i, b := range vb {
		for j < len(vt) && vt[j].us <= b.us {
			if vt[j].side == market.Buy {
				cvd += vt[j].size
			} else {
				cvd -= vt[j].size
			}
			j++
		}
		keep := func(side market.Side, ls []market.Level) []market.Level {
			var out []market.Level
			for _, l := range ls {
				if l.Size > 0 {
					out = append(out, l)
				}
			}
			market.SortLevels(side, out)
			return out
		}
		bids, asks := keep(market.Buy, b.bids), keep(market.Sell, b.asks)
		m := metricsRowT{id: int64(i + 1), snapshotID: b.id, ts: b.us / 1000, obi: market.OBI(bids, asks, depth), cvd: cvd,
			bestBid: math.NaN(), bestAsk: math.NaN()}
		if len(bids) > 0 {
			m.bestBid = bids[0].Price
		}
		if len(asks) > 0 {
			m.bestAsk = asks[0].Price
		}
		rows = append(rows, m)
	}
	return rows, int64(len(vt)), int64(len(vt) - j), skipBook, skipTrades
}

func TestRunOrderflowMatchesReference(t *testing.T) {
	n := 60
	if raceEnabled || testing.Short() {
		n = 8
	}
	seed := uint64(7)
	if v, err := strconv.Atoi(os.Getenv("ORDERFLOW_RANDOM_FILES")); err == nil { // a longer run
		n, seed = v, uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
	}
	rng := rand.New(rand.NewPCG(seed, 8))
	for k := range n {
		journal := []string{"delete", "wal"}[k%2]
		path := filepath.Join(t.TempDir(), fmt.Sprintf("r%d.db", k))
		books, trades := randomFile(t, rng, path, journal)
		depth := rng.IntN(5)
		wantRows, wantTrades, wantAfter, wantSB, wantST := reference(books, trades, depth)
		sum, err := RunOrderflow(ctxT(t), path, OrderflowOptions{Depth: depth, BatchSize: 1 + rng.IntN(50)})
		if err != nil {
			t.Fatalf("file %d: %v", k, err)
		}
		got := readMetrics(t, path)
		if !sameRows(got, wantRows) {
			for i := range min(len(got), len(wantRows)) {
				if !sameRows(got[i:i+1], wantRows[i:i+1]) {
					t.Errorf("file %d row %d: got %v want %v", k, i, got[i], wantRows[i])
					break
				}
			}
			t.Fatalf("file %d (depth %d): %d rows, want %d", k, depth, len(got), len(wantRows))
		}
		if sum.Snapshots != int64(len(wantRows)) || sum.Trades != wantTrades || sum.TradesAfterLastSnapshot != wantAfter ||
			sum.Skipped.Book != wantSB || sum.Skipped.Trades != wantST {
			t.Fatalf("file %d: summary %+v; want trades %d after %d skipped %d %d", k, sum, wantTrades, wantAfter, wantSB, wantST)
		}
		if len(wantRows) > 0 && (sum.FinalCVD != wantRows[len(wantRows)-1].cvd || sum.FirstTimestamp != wantRows[0].ts) {
			t.Fatalf("file %d: summary %+v", k, sum)
		}

		// The reader yields the same snapshots and trades in the merged order.
		recs, r := readAll(t, path, OrderflowOpenOptions{})
		var gotOrder []string
		for _, rec := range recs {
			if rec.IsBook {
				gotOrder = append(gotOrder, "B"+strconv.FormatInt(rec.Book.Seq, 10))
			} else {
				gotOrder = append(gotOrder, "T"+rec.Trade.ID)
			}
		}
		var wantOrder []string
		type ev struct {
			us   int64
			rank int
			id   int64
			name string
		}
		var evs []ev
		for _, b := range books {
			if b.valid {
				evs = append(evs, ev{b.us, 1, b.id, "B" + strconv.FormatInt(b.id, 10)})
			}
		}
		for i, tr := range trades {
			if tr.valid {
				evs = append(evs, ev{tr.us, 0, tr.id, "T" + strconv.Itoa(i)})
			}
		}
		slices.SortFunc(evs, func(a, b ev) int {
			if a.us != b.us {
				return int(math.Copysign(1, float64(a.us-b.us)))
			}
			if a.rank != b.rank {
				return a.rank - b.rank
			}
			return int(a.id - b.id)
		})
		for _, e := range evs {
			wantOrder = append(wantOrder, e.name)
		}
		if strings.Join(gotOrder, " ") != strings.Join(wantOrder, " ") {
			t.Fatalf("file %d: reader order\n got %v\nwant %v", k, gotOrder, wantOrder)
		}
		if bk, tk, _ := r.Skipped(); bk != wantSB || tk != wantST {
			t.Fatalf("file %d: reader skipped %d %d, want %d %d", k, bk, tk, wantSB, wantST)
		}
		r.Close()
	}
}
