package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/feeds/venue"
	"github.com/tradeconsole/tradeconsole/market"
	"github.com/tradeconsole/tradeconsole/storage"
)

// History downloads (DESIGN.md: `tradeconsole fetch`, and the data_sync job that runs it in
// the background): a venue's REST klines of one series into market_data, a page at a time,
// each page committed before the next is fetched. A download fetches only what its range is
// missing: the holes between the runs of candles already stored (CandleRunsIn), so a rerun after
// a failure or a crash resumes where it stopped, a wider range than an earlier one fetches the
// parts that one did not cover (before it as well as after), and a rerun of a finished range
// fetches nothing (or the new tail when the range ends now; a hole in the venue's own history
// is asked for again, and stays empty). Rows are upserts keyed by (exchange, symbol, timeframe,
// time): running twice stores the same rows.

// JobTypeDataSync is the job type of a history download (DataSyncJob).
const JobTypeDataSync = "data_sync"

// DataSyncExchanges lists the venues with REST history that fetch and data_sync know, in
// the order the console offers them.
func DataSyncExchanges() []string { return venue.Names() }

// CandleSyncStore is what a history download needs of storage (implemented by *storage.DB).
type CandleSyncStore interface {
	// CandleRunsIn lists the runs of consecutive candles the series has within [from, to],
	// oldest first.
	CandleRunsIn(ctx context.Context, exchange string, sym market.Symbol, tf market.Timeframe, from, to int64) ([]storage.CandleRun, error)
	// SaveCandles upserts candles in one transaction, committed when it returns.
	SaveCandles(ctx context.Context, cs []market.Candle) error
}

// SyncResult is what a history download did; it is also the data_sync job's result.
type SyncResult struct {
	Fetched int64 `json:"fetched"` // candles the venue sent in this run
	Stored  int64 `json:"stored"`  // candles upserted in this run (Fetched less any unusable ones)
	// Resumed: candles of the range were stored already (Had of them, the newest stamped
	// ResumedFrom); only the Gaps spans without candles were fetched.
	Resumed     bool  `json:"resumed"`
	ResumedFrom int64 `json:"resumed_from"`
	Had         int64 `json:"had"`
	Gaps        int   `json:"gaps"` // spans fetched (a whole range not stored yet is one)
	From        int64 `json:"from"` // the range: candles stamped in (From, To], unix ms
	To          int64 `json:"to"`
}

// mergeRun is the shortest run of stored candles that splits two holes into two downloads:
// across a shorter one, the holes are fetched as one span (the run's candles fetched again and
// upserted unchanged), so that a series the venue leaves sparse costs at most the requests of
// a download of the whole range.
const mergeRun = 500

// missingSpans is what (from, to] lacks around runs (sorted, within the range), as (a, b]
// spans of candle stamps, holes separated by runs shorter than mergeRun joined; had is the
// candles the runs hold.
func missingSpans(runs []storage.CandleRun, tfMs, from, to int64) (spans [][2]int64, had int64) {
	a := from // the newest stamp known stored (or the range's start)
	var shortRun bool
	add := func(b int64) {
		if n := len(spans); n > 0 && shortRun {
			spans[n-1][1] = b
			return
		}
		spans = append(spans, [2]int64{a, b})
	}
	for _, r := range runs {
		had += r.N
		if r.First-tfMs > a {
			add(r.First - tfMs)
		}
		a, shortRun = r.Last, r.N < mergeRun
	}
	if a+tfMs <= to {
		add(to)
	}
	return spans, had
}

// CheckHistoryTimeframe reports whether h serves tf, with an error naming the timeframe and
// listing the ones the venue serves.
func CheckHistoryTimeframe(h venue.Historian, exchange string, tf market.Timeframe) error {
	served := h.Timeframes()
	if tf.Valid() && slices.Contains(served, tf) {
		return nil
	}
	names := make([]string, len(served))
	for i, s := range served {
		names[i] = s.String()
	}
	return fmt.Errorf("timeframe %s: %s history serves %s", tf, exchange, strings.Join(names, " "))
}

// SyncCandles downloads the closed tf candles of sym stamped in (from, to] from h into store
// under exchange. It checks that the venue serves tf and knows sym (an unknown symbol is an
// error naming the series, with the venue's message), then fetches the spans of (from, to] the
// series has no candles in (see missingSpans), oldest first. Each page h delivers is stored
// before the next is fetched; progress (may be nil) gets the fraction of the range covered, non-decreasing,
// ending with 1 on success. Candles outside the range, out of order or with non-finite
// values are not stored. The venue's rate limit is the Historian's business. On an error
// (cancellation included) the result says what was done before it: a rerun resumes there.
func SyncCandles(ctx context.Context, h venue.Historian, store CandleSyncStore, exchange string, sym market.Symbol,
	tf market.Timeframe, from, to int64, progress func(p float64)) (SyncResult, error) {
	res := SyncResult{From: from, To: to}
	series := fmt.Sprintf("%s %s %s", exchange, sym, tf)
	if from >= to {
		return res, fmt.Errorf("sync %s: from %s is not before to %s", series, fmtSyncTime(from), fmtSyncTime(to))
	}
	if err := CheckHistoryTimeframe(h, exchange, tf); err != nil {
		return res, err
	}
	if _, err := h.Instrument(ctx, sym); err != nil {
		return res, fmt.Errorf("sync %s: %w", series, err) // the venue's message, naming the symbol
	}

	runs, err := store.CandleRunsIn(ctx, exchange, sym, tf, from+1, to)
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", series, err)
	}
	spans, had := missingSpans(runs, tf.Millis(), from, to)
	if len(runs) > 0 {
		res.Resumed, res.ResumedFrom, res.Had = true, runs[len(runs)-1].Last, had
	}
	res.Gaps = len(spans)
	// Progress is the share of the range covered: what was stored, then each span as its
	// pages arrive.
	var missing int64
	for _, sp := range spans {
		missing += sp[1] - sp[0]
	}
	done := -1.0
	report := func(left int64) {
		p := min(max(1-float64(left)/float64(to-from), 0), 1)
		if p > done {
			done = p
			if progress != nil {
				progress(p)
			}
		}
	}
	report(missing)
	var prev int64 // the newest stamp stored by this run
	for _, sp := range spans {
		prev = sp[0]
		var buf []market.Candle
		err = h.Klines(ctx, sym, tf, sp[0], sp[1], func(page []market.Candle) error {
			res.Fetched += int64(len(page))
			buf = buf[:0]
			for _, c := range page {
				if c.Time <= prev || c.Time > sp[1] || !finiteCandle(&c) {
					continue
				}
				c.Exchange, c.Symbol, c.Timeframe = exchange, sym, tf
				buf = append(buf, c)
				prev = c.Time
			}
			if err := store.SaveCandles(ctx, buf); err != nil {
				return err
			}
			res.Stored += int64(len(buf))
			if len(page) > 0 {
				report(missing - (min(max(prev, page[len(page)-1].Time), sp[1]) - sp[0]))
			}
			return ctx.Err()
		})
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			if res.Stored > 0 || res.Resumed {
				return res, fmt.Errorf("sync %s: %w (stored up to %s; a rerun resumes there)", series, err, fmtSyncTime(prev))
			}
			return res, fmt.Errorf("sync %s: %w", series, err)
		}
		missing -= sp[1] - sp[0]
	}
	report(0)
	return res, nil
}

func finiteCandle(c *market.Candle) bool {
	fin := func(x float64) bool { return x-x == 0 }
	return fin(c.Open) && fin(c.High) && fin(c.Low) && fin(c.Close) && fin(c.Volume)
}

func fmtSyncTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// DataSyncJob is the payload of a data_sync job: `tradeconsole fetch` in the background.
type DataSyncJob struct {
	Exchange  string `json:"exchange"`  // one of DataSyncExchanges
	Symbol    string `json:"symbol"`    // BTCUSDT
	Timeframe string `json:"timeframe"` // one the venue serves: "1m", "1h", …
	// From and To bound the candles' stamps, (from, to]: a date YYYY-MM-DD (midnight UTC) or
	// an RFC 3339 time. To "" (or a time after the job starts) is the job's start.
	From string `json:"from"`
	To   string `json:"to,omitempty"`
}

// ParseSyncTime reads a data_sync bound: YYYY-MM-DD (midnight UTC), YYYY-MM-DDThh:mm[:ss]
// or YYYY-MM-DD hh:mm[:ss] (UTC), or RFC 3339.
func ParseSyncTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, errors.New("want a date YYYY-MM-DD or an RFC 3339 time such as 2024-01-02T15:04:05Z (UTC)")
}

// dataSyncPlan is a checked DataSyncJob.
type dataSyncPlan struct {
	exchange string
	sym      market.Symbol
	tf       market.Timeframe
	from, to int64
	h        venue.Historian
}

// planDataSync checks a payload at now (the default and the cap of to); every error names
// its field. open makes the venue's Historian (which validates the exchange).
func planDataSync(payload []byte, open func(string) (venue.Historian, error), now time.Time) (dataSyncPlan, error) {
	var p DataSyncJob
	if err := decodeStrict(payload, &p); err != nil {
		return dataSyncPlan{}, fmt.Errorf("data_sync: %w", err)
	}
	var pl dataSyncPlan
	var errs []error
	pl.exchange = strings.ToLower(strings.TrimSpace(p.Exchange))
	if pl.exchange == "" {
		errs = append(errs, fmt.Errorf("exchange: missing; one of %s", strings.Join(DataSyncExchanges(), ", ")))
	} else if h, err := open(pl.exchange); err != nil {
		errs = append(errs, fmt.Errorf("exchange %q: %w", p.Exchange, err))
	} else {
		pl.h = h
	}
	if strings.TrimSpace(p.Symbol) == "" {
		errs = append(errs, errors.New("symbol: missing"))
	} else if sym, err := market.ParseSymbol(p.Symbol); err != nil {
		errs = append(errs, err) // "symbol …"
	} else {
		pl.sym = sym
	}
	tf, err := market.ParseTimeframe(p.Timeframe)
	switch {
	case err != nil:
		errs = append(errs, err) // "timeframe …"
	case pl.h != nil:
		if err := CheckHistoryTimeframe(pl.h, pl.exchange, tf); err != nil {
			errs = append(errs, err)
		}
	}
	pl.tf = tf
	nowMS := now.UnixMilli()
	fromOK, toOK := false, true
	switch {
	case strings.TrimSpace(p.From) == "":
		errs = append(errs, errors.New("from: missing (YYYY-MM-DD or RFC 3339)"))
	default:
		if pl.from, err = ParseSyncTime(p.From); err != nil {
			errs = append(errs, fmt.Errorf("from %q: %w", p.From, err))
		} else {
			fromOK = true
		}
	}
	pl.to = nowMS
	if strings.TrimSpace(p.To) != "" {
		if t, err := ParseSyncTime(p.To); err != nil {
			errs = append(errs, fmt.Errorf("to %q: %w", p.To, err))
			toOK = false
		} else {
			pl.to = min(t, nowMS)
		}
	}
	if fromOK && toOK && pl.from >= pl.to {
		if strings.TrimSpace(p.To) == "" || pl.to == nowMS {
			errs = append(errs, fmt.Errorf("from %q: must be before now (%s)", p.From, fmtSyncTime(nowMS)))
		} else {
			errs = append(errs, fmt.Errorf("to %q: must be after from %q", p.To, p.From))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return dataSyncPlan{}, fmt.Errorf("data_sync: %w", err)
	}
	return pl, nil
}

// DataSyncHandler is the data_sync job type: open makes the REST Historian of a venue (an
// unknown venue is an error). The job's store must also be a CandleSyncStore (*storage.DB
// is). Its result is a SyncResult; it reports progress as the fraction of the range covered.
// A job rerun after a crash or a failure resumes after the newest candle stored.
func DataSyncHandler(open func(exchange string) (venue.Historian, error)) JobHandler {
	return JobHandler{
		Check: func(p []byte) error { _, err := planDataSync(p, open, time.Now()); return err },
		Run: func(ctx context.Context, jc *JobContext) (any, error) {
			pl, err := planDataSync(jc.Job.Payload, open, time.Now())
			if err != nil {
				return nil, err
			}
			store, ok := jc.Store.(CandleSyncStore)
			if !ok {
				return nil, fmt.Errorf("data_sync: the job store %T cannot save candles synchronously (needs SaveCandles and CandleRunsIn)", jc.Store)
			}
			res, err := SyncCandles(ctx, pl.h, store, pl.exchange, pl.sym, pl.tf, pl.from, pl.to, jc.Progress)
			if err != nil {
				return nil, err
			}
			jc.Log.Info("data_sync: done", "exchange", pl.exchange, "symbol", pl.sym, "timeframe", pl.tf.String(),
				"fetched", res.Fetched, "stored", res.Stored, "resumed", res.Resumed)
			return res, nil
		},
	}
}

// GapsText says how many missing spans a download fetched: "nothing missing", "1 gap filled",
// "3 gaps filled".
func GapsText(n int) string {
	switch n {
	case 0:
		return "nothing missing"
	case 1:
		return "1 gap filled"
	}
	return fmt.Sprintf("%d gaps filled", n)
}

// dataSyncSummary is a completed data_sync job's line in the job list:
// "stored 720 candles (fetched 720) · 2024-01-01 00:00 → 2024-01-02 00:00 · 720 already stored, 1 gap filled".
func dataSyncSummary(result []byte) (string, bool) {
	var r SyncResult
	if len(result) == 0 || json.Unmarshal(result, &r) != nil {
		return "", false
	}
	day := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }
	s := fmt.Sprintf("stored %d candles (fetched %d) · %s → %s", r.Stored, r.Fetched, day(r.From), day(r.To))
	if r.Resumed {
		s += fmt.Sprintf(" · %d already stored, %s", r.Had, GapsText(r.Gaps))
	}
	return s, true
}
