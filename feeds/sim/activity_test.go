package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

func TestSeasonTable(t *testing.T) {
	var sum float64
	var hourly [24]float64
	for i, s := range seasonTable {
		if !(s > 0) {
			t.Fatalf("S at minute %d is %v", i, s)
		}
		sum += s
		hourly[i/60] += s / 60
	}
	if mean := sum / float64(len(seasonTable)); math.Abs(mean-1) > 1e-12 {
		t.Errorf("mean of S over the day %v, want 1", mean)
	}
	peak, trough := 0, 0
	for h, v := range hourly {
		if v > hourly[peak] {
			peak = h
		}
		if v < hourly[trough] {
			trough = h
		}
	}
	ratio := hourly[peak] / hourly[trough]
	t.Logf("hourly S: peak %.2f at %02d:00, trough %.2f at %02d:00, ratio %.2f; 08:00 %.2f, 10:00 %.2f",
		hourly[peak], peak, hourly[trough], trough, ratio, hourly[8], hourly[10])
	if peak < 13 || peak > 16 || trough < 2 || trough > 5 || ratio < 2.5 || ratio > 3.5 {
		t.Errorf("seasonality: peak at %02d:00, trough at %02d:00, ratio %.2f", peak, trough, ratio)
	}
	if !(hourly[8] > hourly[10]) {
		t.Errorf("no European bump: 08:00 %.2f, 10:00 %.2f", hourly[8], hourly[10])
	}
	if season(pathEpoch-1) != seasonTable[24*60-1] || season(pathEpoch+day+61_000) != seasonTable[1] {
		t.Error("season does not follow the UTC time of day")
	}
}

// TestActivityPure: A is a function of (seed, symbol, minute) only, however it is reached,
// positive and bounded; symbols and seeds differ.
func TestActivityPure(t *testing.T) {
	base := market.TF1m.Floor(testStart)
	seq := newActivity(3, "ETHUSDT", paramsFor("ETHUSDT"))
	jump := newActivity(3, "ETHUSDT", paramsFor("ETHUSDT"))
	other := newActivity(3, "BTCUSDT", paramsFor("BTCUSDT"))
	seed := newActivity(4, "ETHUSDT", paramsFor("ETHUSDT"))
	r := rand.New(rand.NewPCG(1, 2))
	same, sameSeed := 0, 0
	const n = 3000
	for i := range n {
		T := base + int64(i)*msPerMinute
		a := seq.at(T)
		if !(a > 0) || a > 100 {
			t.Fatalf("A(%d) = %v", T, a)
		}
		if b := jump.at(T); b != a {
			t.Fatalf("A(%d): %v stepping, %v jumping there", T, a, b)
		}
		jump.at(base + r.Int64N(n)*msPerMinute) // somewhere else in between
		if other.at(T) == a {
			same++
		}
		if seed.at(T) == a {
			sameSeed++
		}
	}
	if same > 0 || sameSeed > 0 {
		t.Errorf("A equal for another symbol at %d and another seed at %d of %d minutes", same, sameSeed, n)
	}
}

// TestActivityMean: A averages to one over 30 days (so the mean trade rate is TradeRate) for
// every seed tried, and over a year more closely still.
func TestActivityMean(t *testing.T) {
	end := market.TF1m.Floor(testStart)
	mean := func(seed int64, sym market.Symbol, days int) float64 {
		ac := newActivity(seed, sym, paramsFor(sym))
		var s float64
		n := days * 24 * 60
		for i := range n {
			s += ac.at(end - int64(n-1-i)*msPerMinute)
		}
		return s / float64(n)
	}
	seeds := int64(8)
	if testing.Short() {
		seeds = 2
	}
	worst := 0.0
	for seed := range seeds {
		for _, sym := range []market.Symbol{"BTCUSDT", "ETHUSDT"} {
			m := mean(seed, sym, 30)
			worst = max(worst, math.Abs(m-1))
			if math.Abs(m-1) > 0.1 {
				t.Errorf("seed %d %s: mean A over 30 days %.3f, want within 10%% of 1", seed, sym, m)
			}
		}
	}
	year := mean(0, "BTCUSDT", 365)
	t.Logf("largest |mean A − 1| over 30 days, %d seeds × 2 symbols: %.3f; mean A over a year: %.3f", seeds, worst, year)
	if math.Abs(year-1) > 0.03 {
		t.Errorf("mean A over a year %.3f", year)
	}
}

// TestHistoryVolumeVaries: 30 days of 1m candles have volume that varies several-fold, with
// the intraday seasonality, the activity's mean and volatility clustering with volume.
func TestHistoryVolumeVaries(t *testing.T) {
	const seed = 5
	f := mustFeed(t, Config{Seed: seed, Start: testStart})
	from, to := testStart-30*day, testStart
	for _, sym := range f.Symbols() {
		cs, err := f.History(sym, from, to)
		if err != nil {
			t.Fatal(err)
		}
		ac := newActivity(seed, sym, paramsFor(sym))
		var v, v2, sumA, trades float64
		var hourVol, hourN, hourR2 [24]float64
		absRet, vols := make([]float64, len(cs)), make([]float64, len(cs))
		for i, c := range cs {
			v += c.Volume
			v2 += c.Volume * c.Volume
			sumA += ac.at(c.Time)
			trades += float64(c.Trades)
			h := time.UnixMilli(c.Time - msPerMinute).UTC().Hour()
			r := math.Log(c.Close / c.Open)
			hourVol[h] += c.Volume
			hourR2[h] += r * r
			hourN[h]++
			absRet[i], vols[i] = math.Abs(r), c.Volume
		}
		n := float64(len(cs))
		mean := v / n
		cv := math.Sqrt(v2/n-mean*mean) / mean
		season := (hourVol[14] / hourN[14]) / (hourVol[4] / hourN[4])
		volSeason := (hourR2[14] / hourN[14]) / (hourR2[4] / hourN[4])
		c := corr(absRet, vols)
		meanA := sumA / n
		perMinute := trades / n / 60 // trades per second
		t.Logf("%s: 1m volume CV %.2f; hourly volume 14:00/04:00 %.2f; 1m return variance 14:00/04:00 %.2f; corr(|return|, volume) %.3f; mean A %.3f; trades/s %.3f",
			sym, cv, season, volSeason, c, meanA, perMinute)
		if !(cv > 0.5) {
			t.Errorf("%s: coefficient of variation of 1m volume %.3f, want > 0.5", sym, cv)
		}
		if !(season > 2) {
			t.Errorf("%s: mean volume at 14:00 UTC only %.2f× that at 04:00", sym, season)
		}
		if !(volSeason > 1.5) {
			t.Errorf("%s: 1m return variance at 14:00 UTC only %.2f× that at 04:00", sym, volSeason)
		}
		if !(c > 0.2) {
			t.Errorf("%s: corr(|1m return|, 1m volume) %.3f, want > 0.2", sym, c)
		}
		if math.Abs(meanA-1) > 0.1 {
			t.Errorf("%s: mean activity over 30 days %.3f, want within 10%% of 1", sym, meanA)
		}
		// History draws its trade counts at the rate the activity gives.
		if math.Abs(perMinute/(5*meanA)-1) > 0.01 {
			t.Errorf("%s: %.3f trades per second in history, want ≈ 5 × %.3f", sym, perMinute, meanA)
		}
	}
}

// TestLiveTradesFollowActivity: per minute, live trade counts over an hour track History's
// trade counts for the same minutes (both follow A), and the hour's total and volume match.
func TestLiveTradesFollowActivity(t *testing.T) {
	const seed, minutes = 21, 60
	start := time.Date(2025, 6, 3, 12, 30, 0, 0, time.UTC).UnixMilli() // into the US open
	end := start + minutes*msPerMinute
	syms := []market.Symbol{"BTCUSDT", "SOLUSDT"}
	g := mustGen(t, Config{Seed: seed, Start: start, Symbols: syms})
	live := map[market.Symbol]*[minutes]float64{}
	liveVol := map[market.Symbol]float64{}
	for _, sym := range syms {
		live[sym] = new([minutes]float64)
	}
	for {
		ev := g.Next()
		if ev.Time >= end {
			break
		}
		if tr := ev.Trade; tr != nil {
			live[tr.Symbol][(tr.Time-start)/msPerMinute]++
			liveVol[tr.Symbol] += tr.Size
		}
	}
	// A later session's history of the same hour.
	f := mustFeed(t, Config{Seed: seed, Start: end, Symbols: syms})
	for _, sym := range syms {
		cs, err := f.History(sym, start, end)
		if err != nil || len(cs) != minutes {
			t.Fatal(len(cs), err)
		}
		hist := make([]float64, minutes)
		var nLive, nHist, histVol float64
		for i, c := range cs {
			hist[i] = float64(c.Trades)
			nHist += hist[i]
			nLive += live[sym][i]
			histVol += c.Volume
		}
		c := corr(live[sym][:], hist)
		want := expectedTrades(seed, sym, 5, start, end)
		t.Logf("%s: corr(live, history trades per minute) %.3f; trades live %.0f, history %.0f, expected %.0f (%.2f/s); volume live %.1f, history %.1f",
			sym, c, nLive, nHist, want, want/3600, liveVol[sym], histVol)
		if !(c > 0.5) {
			t.Errorf("%s: live and history trade counts per minute correlate only %.3f", sym, c)
		}
		if math.Abs(nLive-want) > 0.05*want || math.Abs(nHist-want) > 0.05*want {
			t.Errorf("%s: %.0f trades live, %.0f in history, want ≈ %.0f", sym, nLive, nHist, want)
		}
		if r := liveVol[sym] / histVol; r < 0.8 || r > 1.25 {
			t.Errorf("%s: live volume %.1f, history %.1f", sym, liveVol[sym], histVol)
		}
	}
}

// TestArrivalLowRate: at a rate far below one trade per minute the arrival walk stays cheap
// and the stream still moves forward.
func TestArrivalLowRate(t *testing.T) {
	g := mustGen(t, Config{Seed: 1, Start: testStart, TradeRate: 1e-9, BookInterval: time.Hour, Symbols: []market.Symbol{"BTCUSDT"}})
	s := g.syms[0]
	for range 3 {
		from := s.nextTradeUs
		s.nextTradeUs = s.arrival(from)
		if s.nextTradeUs <= from {
			t.Fatalf("arrival %d not after %d", s.nextTradeUs, from)
		}
	}
}
