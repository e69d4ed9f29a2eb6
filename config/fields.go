package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// field is one config key: how to give viper its default and how to decode and check the
// merged value into a Config.
type field struct {
	key string
	def func(*Config) any                                // raw default, as a config file would write it
	dec func(d *decoder, c *Config, key string, raw any) // decodes raw into c, or reports problems
	// fileOnly, when not "", makes the key a config-file key: the environment and the command
	// line cannot set it, and this says where to set it instead ("set bots in the config file").
	fileOnly string
	// notSection, when not "", is the reason given for a section of keys in the file where
	// the key's value belongs; "" gives the generic one.
	notSection string
}

// fields is every config key, in the order config.yaml documents them.
var fields = []field{
	stringField("data_dir", func(c *Config) *string { return &c.DataDir }, false, notBlank),
	stringField("exchange", func(c *Config) *string { return &c.Exchange }, true, oneOf(exchanges)),
	symbolsField("symbols", func(c *Config) *[]market.Symbol { return &c.Symbols }),
	timeframesField("timeframes", func(c *Config) *[]market.Timeframe { return &c.Timeframes }),
	durationField("candle_grace", func(c *Config) *time.Duration { return &c.CandleGrace }, 0, time.Minute),
	boolField("record_orderflow", func(c *Config) *bool { return &c.RecordOrderflow }),

	stringField("log.level", func(c *Config) *string { return &c.Log.Level }, true, oneOf(logLevels)),
	stringField("log.file", func(c *Config) *string { return &c.Log.File }, false, nil),

	intField("orderflow.depth", func(c *Config) *int { return &c.Orderflow.Depth }, 0, 1000),
	durationField("orderflow.publish_interval", func(c *Config) *time.Duration { return &c.Orderflow.PublishInterval }, 0, time.Minute),
	durationField("orderflow.snapshot_interval", func(c *Config) *time.Duration { return &c.Orderflow.SnapshotInterval }, 10*time.Millisecond, time.Hour),
	floatField("orderflow.alert_obi", func(c *Config) *float64 { return &c.Orderflow.AlertOBI }, 0, 1),
	stringField("orderflow.cvd_reset", func(c *Config) *string { return &c.Orderflow.CVDReset }, true, oneOf(cvdResets)),

	intField("sim.seed", func(c *Config) *int64 { return &c.Sim.Seed }, math.MinInt64, math.MaxInt64),
	positiveFloatField("sim.speed", func(c *Config) *float64 { return &c.Sim.Speed }, 10000),
	positiveFloatField("sim.trade_rate", func(c *Config) *float64 { return &c.Sim.TradeRate }, 1000),
	intField("sim.book_levels", func(c *Config) *int { return &c.Sim.BookLevels }, 1, 500),
	durationField("sim.book_interval", func(c *Config) *time.Duration { return &c.Sim.BookInterval }, time.Millisecond, math.MaxInt64),
	intField("sim.history_days", func(c *Config) *int { return &c.Sim.HistoryDays }, 0, 3650),

	stringField("replay.file", func(c *Config) *string { return &c.Replay.File }, false, nil),
	positiveFloatField("replay.speed", func(c *Config) *float64 { return &c.Replay.Speed }, 100000),

	intField("venue.history_days", func(c *Config) *int { return &c.Venue.HistoryDays }, 0, 3650),
	durationField("venue.kline_lag", func(c *Config) *time.Duration { return &c.Venue.KlineLag }, time.Second, 10*time.Minute),

	stringField("bybit.category", func(c *Config) *string { return &c.Bybit.Category }, true, oneOf(bybitCategories)),
	stringField("bybit.ws_url", func(c *Config) *string { return &c.Bybit.WSURL }, false, wsURL(true)),
	stringField("bybit.rest_url", func(c *Config) *string { return &c.Bybit.RESTURL }, false, httpURL),
	intField("bybit.book_depth", func(c *Config) *int { return &c.Bybit.BookDepth }, 1, 1000),

	stringField("okx.inst_type", func(c *Config) *string { return &c.OKX.InstType }, true, oneOf(okxInstTypes)),
	stringField("okx.public_ws_url", func(c *Config) *string { return &c.OKX.PublicWSURL }, false, wsURL(false)),
	stringField("okx.business_ws_url", func(c *Config) *string { return &c.OKX.BusinessWSURL }, false, wsURL(false)),
	stringField("okx.rest_url", func(c *Config) *string { return &c.OKX.RESTURL }, false, httpURL),
	boolField("okx.simulated", func(c *Config) *bool { return &c.OKX.Simulated }),

	stringField("binance.ws_url", func(c *Config) *string { return &c.Binance.WSURL }, false, wsURL(false)),
	stringField("binance.rest_url", func(c *Config) *string { return &c.Binance.RESTURL }, false, httpURL),

	intField("storage.batch_size", func(c *Config) *int { return &c.Storage.BatchSize }, 1, 100000),
	durationField("storage.flush_interval", func(c *Config) *time.Duration { return &c.Storage.FlushInterval }, time.Millisecond, time.Minute),
	intField("storage.read_pool", func(c *Config) *int { return &c.Storage.ReadPool }, 1, 64),
	durationField("storage.busy_timeout", func(c *Config) *time.Duration { return &c.Storage.BusyTimeout }, 0, 10*time.Minute),

	intField("jobs.workers", func(c *Config) *int { return &c.Jobs.Workers }, 0, 256),

	intField("ui.fps", func(c *Config) *int { return &c.UI.FPS }, 1, 60),
	timeframeField("ui.timeframe", func(c *Config) *market.Timeframe { return &c.UI.Timeframe }),
	intField("ui.tape_size", func(c *Config) *int { return &c.UI.TapeSize }, 10, 10000),
	intField("ui.chart_candles", func(c *Config) *int { return &c.UI.ChartCandles }, 20, 5000),
	durationField("ui.flow_window", func(c *Config) *time.Duration { return &c.UI.FlowWindow }, time.Second, time.Hour),

	stringField("bots_dir", func(c *Config) *string { return &c.BotsDir }, false, nil),

	durationField("bot_runner.heartbeat", func(c *Config) *time.Duration { return &c.BotRunner.Heartbeat }, 100*time.Millisecond, time.Minute),
	durationField("bot_runner.stall_after", func(c *Config) *time.Duration { return &c.BotRunner.StallAfter }, time.Second, 10*time.Minute),
	durationField("bot_runner.performance_interval", func(c *Config) *time.Duration { return &c.BotRunner.PerformanceInterval }, time.Second, time.Hour),
	intField("bot_runner.max_open_positions", func(c *Config) *int { return &c.BotRunner.MaxOpenPositions }, 0, 1000),
	intField("bot_runner.warmup", func(c *Config) *int { return &c.BotRunner.Warmup }, 0, 5000),
	intField("bot_runner.max_restarts", func(c *Config) *int { return &c.BotRunner.MaxRestarts }, 0, 100),
	durationField("bot_runner.restart_window", func(c *Config) *time.Duration { return &c.BotRunner.RestartWindow }, time.Minute, 24*time.Hour),

	botsField("bots", func(c *Config) *[]map[string]any { return &c.Bots }),
}

// Accepted values of the venue keys.
var (
	bybitCategories = []string{"spot", "linear"}
	okxInstTypes    = []string{"spot", "swap"}
)

// wsURL checks a WebSocket endpoint (ws:// or wss://); blank is allowed when the venue has a
// default that depends on other keys.
func wsURL(blankOK bool) func(string) string {
	return func(s string) string {
		if s == "" && blankOK {
			return ""
		}
		if !strings.HasPrefix(s, "ws://") && !strings.HasPrefix(s, "wss://") {
			return "must be a ws:// or wss:// address"
		}
		return ""
	}
}

// httpURL checks a REST endpoint.
func httpURL(s string) string {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "must be an http:// or https:// address"
	}
	return ""
}

// cvdResets are the accepted values of orderflow.cvd_reset.
var cvdResets = []string{"session", "daily"}

var (
	fieldIndex = map[string]int{}      // key path → index in fields
	sections   = map[string][]string{} // section → its keys (without the section prefix)
	envKeys    = map[string]string{}   // environment name without EnvPrefix → key path
)

func init() {
	for i, f := range fields {
		fieldIndex[f.key] = i
		if sec, sub, ok := strings.Cut(f.key, "."); ok {
			sections[sec] = append(sections[sec], sub)
		}
		envKeys[EnvName(f.key)[len(EnvPrefix):]] = f.key
	}
}

// Keys lists every config key path, in the order config.yaml documents them.
func Keys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// EnvName is the environment variable that overrides a key: sim.speed → TRADECONSOLE_SIM_SPEED.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// decoder collects problems while fields decode.
type decoder struct {
	sources  map[string]string // key path → where its value came from; absent for defaults
	failed   map[string]bool   // key paths that had a problem
	problems []Problem
}

// add records a problem with key, which is a key path or an element of one ("symbols[1]").
func (d *decoder) add(key, value, reason string) {
	base, _, _ := strings.Cut(key, "[")
	d.failed[base] = true
	d.problems = append(d.problems, Problem{Key: key, Value: value, Reason: reason, Source: d.sources[base]})
}

// stringField is a text value; lower normalises it to trimmed lower case first, and check
// (when not nil) returns why a value is bad, or "".
func stringField(key string, p func(*Config) *string, lower bool, check func(string) string) field {
	return field{
		key: key,
		def: func(c *Config) any { return *p(c) },
		dec: func(d *decoder, c *Config, key string, raw any) {
			s, ok := scalar(raw)
			if !ok {
				d.add(key, render(raw), "must be a single value, not a list")
				return
			}
			if lower {
				s = strings.ToLower(strings.TrimSpace(s))
			}
			if check != nil {
				if reason := check(s); reason != "" {
					d.add(key, s, reason)
					return
				}
			}
			*p(c) = s
		},
	}
}

func notBlank(s string) string {
	if strings.TrimSpace(s) == "" {
		return "must not be empty"
	}
	return ""
}

func oneOf(allowed []string) func(string) string {
	return func(s string) string {
		if slices.Contains(allowed, s) {
			return ""
		}
		return "must be one of " + strings.Join(allowed, ", ")
	}
}

type integer interface{ ~int | ~int64 }

func intField[T integer](key string, p func(*Config) *T, lo, hi int64) field {
	return field{
		key: key,
		def: func(c *Config) any { return int64(*p(c)) },
		dec: func(d *decoder, c *Config, key string, raw any) {
			n, err := toInt(raw)
			switch {
			case err == errNotNumber:
				d.add(key, render(raw), "must be a whole number")
			case err != nil || n < lo || n > hi:
				d.add(key, render(raw), fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
			default:
				*p(c) = T(n)
			}
		},
	}
}

// positiveFloatField is a number in (0, hi].
func positiveFloatField(key string, p func(*Config) *float64, hi float64) field {
	return numberField(key, p, func(f float64) string {
		switch {
		case f <= 0:
			return "must be greater than 0"
		case f > hi:
			return "must be at most " + strconv.FormatFloat(hi, 'g', -1, 64)
		}
		return ""
	})
}

// floatField is a number in [lo, hi].
func floatField(key string, p func(*Config) *float64, lo, hi float64) field {
	return numberField(key, p, func(f float64) string {
		if f < lo || f > hi {
			return "must be from " + strconv.FormatFloat(lo, 'g', -1, 64) + " to " + strconv.FormatFloat(hi, 'g', -1, 64)
		}
		return ""
	})
}

// numberField is a finite number that check (returning why a value is bad, or "") accepts.
func numberField(key string, p func(*Config) *float64, check func(float64) string) field {
	return field{
		key: key,
		def: func(c *Config) any { return *p(c) },
		dec: func(d *decoder, c *Config, key string, raw any) {
			f, ok := toFloat(raw)
			switch {
			case !ok:
				d.add(key, render(raw), "must be a number")
			case math.IsNaN(f) || math.IsInf(f, 0):
				d.add(key, render(raw), "must be a finite number")
			default:
				if reason := check(f); reason != "" {
					d.add(key, render(raw), reason)
					return
				}
				*p(c) = f
			}
		},
	}
}

// boolField is true or false (also yes/no, on/off, 1/0 as text).
func boolField(key string, p func(*Config) *bool) field {
	return field{
		key: key,
		def: func(c *Config) any { return *p(c) },
		dec: func(d *decoder, c *Config, key string, raw any) {
			if b, ok := raw.(bool); ok {
				*p(c) = b
				return
			}
			s, ok := scalar(raw)
			if ok {
				switch strings.ToLower(strings.TrimSpace(s)) {
				case "true", "yes", "on", "1":
					*p(c) = true
					return
				case "false", "no", "off", "0":
					*p(c) = false
					return
				}
			}
			d.add(key, render(raw), "must be true or false")
		},
	}
}

// durationField is a Go duration in [lo, hi]; hi = MaxInt64 means no upper bound.
func durationField(key string, p func(*Config) *time.Duration, lo, hi time.Duration) field {
	return field{
		key: key,
		def: func(c *Config) any { return p(c).String() },
		dec: func(d *decoder, c *Config, key string, raw any) {
			v, ok := toDuration(raw)
			switch {
			case !ok:
				d.add(key, render(raw), "must be a duration with a unit, like 250ms, 2s or 1m")
			case v < lo || v > hi:
				reason := "must be from " + fmtDuration(lo) + " to " + fmtDuration(hi)
				if hi == math.MaxInt64 {
					reason = "must be at least " + fmtDuration(lo)
				}
				d.add(key, render(raw), reason)
			default:
				*p(c) = v
			}
		},
	}
}

func timeframeField(key string, p func(*Config) *market.Timeframe) field {
	return field{
		key: key,
		def: func(c *Config) any { return p(c).String() },
		dec: func(d *decoder, c *Config, key string, raw any) {
			s, ok := scalar(raw)
			if !ok {
				d.add(key, render(raw), "must be a single timeframe, not a list")
				return
			}
			tf, err := market.ParseTimeframe(s)
			if err != nil {
				d.add(key, s, "not a supported timeframe; use one of "+market.TimeframeList())
				return
			}
			*p(c) = tf
		},
	}
}

func symbolsField(key string, p func(*Config) *[]market.Symbol) field {
	return field{
		key: key,
		def: func(c *Config) any {
			out := []string{}
			for _, s := range *p(c) {
				out = append(out, s.String())
			}
			return out
		},
		dec: func(d *decoder, c *Config, key string, raw any) {
			items := toList(raw)
			if len(items) == 0 {
				d.add(key, render(raw), "must list at least one symbol")
				return
			}
			var out []market.Symbol
			seen := map[market.Symbol]int{}
			bad := false
			for i, it := range items {
				ekey := fmt.Sprintf("%s[%d]", key, i)
				s, ok := scalar(it)
				if !ok {
					d.add(ekey, render(it), "must be a single symbol like BTCUSDT")
					bad = true
					continue
				}
				sym, err := market.ParseSymbol(s)
				if err != nil {
					d.add(ekey, s, reasonOf(err))
					bad = true
					continue
				}
				if j, dup := seen[sym]; dup {
					d.add(ekey, s, fmt.Sprintf("duplicate of %s[%d]", key, j))
					bad = true
					continue
				}
				seen[sym] = i
				out = append(out, sym)
			}
			if !bad {
				*p(c) = out
			}
		},
	}
}

func timeframesField(key string, p func(*Config) *[]market.Timeframe) field {
	return field{
		key: key,
		def: func(c *Config) any {
			out := []string{}
			for _, tf := range *p(c) {
				out = append(out, tf.String())
			}
			return out
		},
		dec: func(d *decoder, c *Config, key string, raw any) {
			items := toList(raw)
			if len(items) == 0 {
				d.add(key, render(raw), "must list at least one timeframe")
				return
			}
			var out []market.Timeframe
			seen := map[market.Timeframe]int{}
			bad := false
			for i, it := range items {
				ekey := fmt.Sprintf("%s[%d]", key, i)
				s, ok := scalar(it)
				if !ok {
					d.add(ekey, render(it), "must be a single timeframe like 1m")
					bad = true
					continue
				}
				tf, err := market.ParseTimeframe(s)
				if err != nil {
					d.add(ekey, s, "not a supported timeframe; use one of "+market.TimeframeList())
					bad = true
					continue
				}
				if j, dup := seen[tf]; dup {
					d.add(ekey, s, fmt.Sprintf("duplicate of %s[%d]", key, j))
					bad = true
					continue
				}
				seen[tf] = i
				out = append(out, tf)
			}
			if !bad {
				*p(c) = out
			}
		},
	}
}

// botsField is the list of bot definitions. Their schema is the engine's; here each entry
// must be a mapping with a non-empty text name unique in the list, and every value must be
// one JSON can write. Entries are copied with JSON-friendly values (see Config.Bots). The
// entries are opaque: keys below them are never config keys.
func botsField(key string, p func(*Config) *[]map[string]any) field {
	return field{
		key:        key,
		fileOnly:   "set " + key + " in the config file or in bots_dir",
		notSection: "must be a list of bot definitions (- name: ...), not a section of keys",
		def: func(c *Config) any {
			out := make([]any, len(*p(c)))
			for i, b := range *p(c) {
				out[i] = jsonValue(b, "", nil)
			}
			return out
		},
		dec: func(d *decoder, c *Config, key string, raw any) {
			if raw == nil {
				*p(c) = nil
				return
			}
			rv := reflect.ValueOf(raw)
			if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
				d.add(key, render(raw), "must be a list of bot definitions (- name: ...)")
				return
			}
			out := make([]map[string]any, 0, rv.Len())
			seen := map[string]int{}
			bad := false
			for i := range rv.Len() {
				ekey := fmt.Sprintf("%s[%d]", key, i)
				item := rv.Index(i).Interface()
				var m map[string]any
				if item != nil && reflect.ValueOf(item).Kind() == reflect.Map {
					m, _ = jsonValue(item, ekey, func(k, v, reason string) {
						d.add(k, v, reason)
						bad = true
					}).(map[string]any)
				}
				if m == nil {
					d.add(ekey, render(item), "must be a bot definition, a mapping like {name: ..., strategy: ...}")
					bad = true
					continue
				}
				nkey := ekey + ".name"
				var name string
				switch n := m["name"].(type) {
				case nil:
					d.add(nkey, "", "missing")
				case string:
					if strings.TrimSpace(n) == "" {
						d.add(nkey, n, "must not be empty")
					} else if j, dup := seen[n]; dup {
						d.add(nkey, n, fmt.Sprintf("duplicate of %s[%d]", key, j))
					} else {
						seen[n] = i
						name = n
					}
				default:
					d.add(nkey, render(n), "must be text (quote it)")
				}
				if name == "" {
					bad = true
					continue
				}
				out = append(out, m)
			}
			if !bad {
				*p(c) = out
			}
		},
	}
}

// jsonValue copies raw with values encoding/json can marshal: maps become map[string]any
// (keys as text), lists []any, integers int (int64/uint64 when too big for int), other
// numbers float64. path names raw in problems ("bots[0].params.fast"); bad, when not nil,
// is told of values JSON cannot hold (non-finite numbers, channels, funcs…), which come back
// as nil.
func jsonValue(raw any, path string, bad func(key, value, reason string)) any {
	report := func(value, reason string) any {
		if bad != nil {
			bad(path, value, reason)
		}
		return nil
	}
	switch v := raw.(type) {
	case nil, bool, string, int:
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return report(render(v), "must be a finite number")
		}
		return v
	case float32:
		return jsonValue(float64(v), path, bad)
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out[k] = jsonValue(v[k], path+"."+k, bad)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e, fmt.Sprintf("%s[%d]", path, i), bad)
		}
		return out
	case time.Time, json.Marshaler, encoding.TextMarshaler:
		if _, err := json.Marshal(v); err != nil {
			return report(render(v), "cannot be written as JSON: "+err.Error())
		}
		return v
	}
	rv := reflect.ValueOf(raw)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rv.Int()
		if n >= math.MinInt && n <= math.MaxInt {
			return int(n)
		}
		return n
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := rv.Uint()
		if n <= math.MaxInt {
			return int(n)
		}
		return n
	case reflect.Float32, reflect.Float64:
		return jsonValue(rv.Float(), path, bad)
	case reflect.Bool:
		return rv.Bool()
	case reflect.String:
		return rv.String()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range rv.Len() {
			out[i] = jsonValue(rv.Index(i).Interface(), fmt.Sprintf("%s[%d]", path, i), bad)
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		keys := rv.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = render(k.Interface())
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
		for _, i := range order {
			out[names[i]] = jsonValue(rv.MapIndex(keys[i]).Interface(), path+"."+names[i], bad)
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return jsonValue(rv.Elem().Interface(), path, bad)
	}
	return report(render(raw), "is not a value a config file can hold")
}

// reasonOf drops the value a market error repeats (`symbol "X": …`), since Problem shows it.
func reasonOf(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "\": "); ok {
		return rest
	}
	return msg
}

// fmtDuration writes 1m rather than 1m0s.
func fmtDuration(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func joinTimeframes(tfs []market.Timeframe) string {
	names := make([]string, len(tfs))
	for i, tf := range tfs {
		names[i] = tf.String()
	}
	return strings.Join(names, " ")
}

// scalar is a single value as text; false for lists and maps.
func scalar(raw any) (string, bool) {
	switch v := raw.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case []any, []string, map[string]any, map[any]any:
		return "", false
	}
	return render(raw), true
}

// toList accepts a list, or a comma-separated string (from a file, env or the command line).
// Blank items of a comma-separated string are kept so that they are reported.
func toList(raw any) []any {
	switch v := raw.(type) {
	case nil:
		return nil
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	}
	s, _ := scalar(raw)
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSpace(p)
	}
	return out
}

var (
	errNotNumber = fmt.Errorf("not a number")
	errRange     = fmt.Errorf("out of range")
)

// toInt accepts integers, integral floats and decimal strings.
func toInt(raw any) (int64, error) {
	switch v := raw.(type) {
	case int:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case uint:
		return uintToInt(uint64(v))
	case uint8:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint64:
		return uintToInt(v)
	case float32:
		return floatToInt(float64(v))
	case float64:
		return floatToInt(v)
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err == nil {
			return n, nil
		}
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, errRange
		}
		return 0, errNotNumber
	}
	return 0, errNotNumber
}

func uintToInt(u uint64) (int64, error) {
	if u > math.MaxInt64 {
		return 0, errRange
	}
	return int64(u), nil
}

func floatToInt(f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, errNotNumber
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, errRange
	}
	return int64(f), nil
}

// toFloat accepts numbers and numeric strings.
func toFloat(raw any) (float64, bool) {
	switch v := raw.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return f, true // ±Inf or 0: reported as out of range
			}
			return 0, false
		}
		return f, true
	}
	if n, err := toInt(raw); err == nil {
		return float64(n), true
	}
	switch v := raw.(type) {
	case uint, uint64:
		f, err := strconv.ParseFloat(render(v), 64)
		return f, err == nil
	}
	return 0, false
}

// toDuration accepts Go duration strings; a bare number only when it is 0.
func toDuration(raw any) (time.Duration, bool) {
	if s, ok := raw.(string); ok {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		return v, err == nil
	}
	if f, ok := toFloat(raw); ok && f == 0 {
		return 0, true
	}
	return 0, false
}

// render shows a raw value the way a user would have written it.
func render(raw any) string {
	switch v := raw.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	}
	return fmt.Sprint(raw)
}
