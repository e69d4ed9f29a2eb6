package storage

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

func lv(pairs ...float64) []market.Level {
	out := make([]market.Level, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, market.Level{Price: pairs[i], Size: pairs[i+1]})
	}
	return out
}

func sameLevels(a, b []market.Level) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseLevels(t *testing.T) {
	cases := []struct {
		name, in string
		want     []market.Level
	}{
		{"json 2 fields", `[[50000.1, 0.532], [49999.9, 1]]`, lv(50000.1, 0.532, 49999.9, 1)},
		{"json 4 fields", `[[50000.0, 10.0, 0, 1], [49999.0, 5.0, 2, 7]]`, lv(50000, 10, 49999, 5)},
		{"json 3 fields", `[[1.5,2.5,3]]`, lv(1.5, 2.5)},
		{"python tuples", `[(50000.0, 10.0, 0, 1), (49999.0, 5.0, 0, 1)]`, lv(50000, 10, 49999, 5)},
		{"strings", `[["50000.5", "0.25"], ['49999', '3']]`, lv(50000.5, 0.25, 49999, 3)},
		{"whitespace", " \n[ [ 1 ,\t2 ] ,\r\n( 3 , 4 , 5 ) ] \n", lv(1, 2, 3, 4)},
		{"empty", `[]`, nil},
		{"empty spaced", ` [ ] `, nil},
		{"zero size dropped", `[[100, 0], [99, 1], [98, 0.0]]`, lv(99, 1)},
		{"exponents", `[[5e4, 1E-3], [4.9999e+4, 2.5e0]]`, lv(50000, 0.001, 49999, 2.5)},
		{"unsorted kept as is", `[[1, 1], [3, 1], [2, 1]]`, lv(1, 1, 3, 1, 2, 1)},
		{"integers", `[[50000, 10]]`, lv(50000, 10)},
		{"leading zeros and no fraction digits", `[[007.50, 1.]]`, lv(7.5, 1)},
		{"many digits", `[[50000.123456789012345678, 0.10000000000000000000001]]`, lv(50000.123456789012345678, 0.1)},
		{"extra fields negative", `[[1, 2, -3, -4]]`, lv(1, 2)},
		{"plus sign", `[[+1, +2]]`, lv(1, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLevels([]byte(tc.in), nil)
			if err != nil {
				t.Fatalf("ParseLevels(%q): %v", tc.in, err)
			}
			if !sameLevels(got, tc.want) {
				t.Fatalf("ParseLevels(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseLevelsErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, "empty text"},
		{`   `, "empty text"},
		{`{}`, `want '[' at byte 0`},
		{`[[1]]`, "level 0: 1 field, want 2 to 4"},
		{`[[1, 2], [3]]`, "level 1: 1 field, want 2 to 4"},
		{`[[1, 2, 3, 4, 5]]`, "level 0: more than 4 fields"},
		{`[[1, x]]`, `level 0: field 1: "x": not a number`},
		{`[[1, "abc"]]`, `level 0: field 1: "abc": not a number`},
		{`[[NaN, 1]]`, `level 0: field 0: "NaN": not finite`},
		{`[[1, Infinity]]`, `level 0: field 1: "Infinity": not finite`},
		{`[[1, "-inf"]]`, `level 0: field 1: "-inf": not finite`},
		{`[[1, 1e999]]`, `level 0: field 1: "1e999": out of range`},
		{`[[1, 2, nan]]`, `level 0: field 2: "nan": not finite`},
		{`[[1, 2], [3, 4], [5, 6], [7, -1]]`, "level 3: negative size -1"},
		{`[[0, 1]]`, "level 0: price 0, want > 0"},
		{`[[-5, 1]]`, "level 0: price -5, want > 0"},
		{`[[1, 2]] x`, "trailing text at byte 9"},
		{`[[1, 2]]]`, "trailing text at byte 8"},
		{`[] []`, "trailing text at byte 3"},
		{`[[1, 2], [3, 4`, "level 1: text ends early (truncated?)"},
		{`[[1, 2], [3, 4]`, "after level 1: text ends early (truncated?)"},
		{`[[1, 2],`, "level 1: text ends early (truncated?)"},
		{`[[1, "2`, "level 0: field 1: unterminated string"},
		{`[`, "level 0: text ends early"},
		{`[[1, 2)]`, "level 0: want ',' or ']' at byte 6"},
		{`[(1, 2]]`, "level 0: want ',' or ')' at byte 6"},
		{`[[1, 2],]`, "level 1: want '[' or '('"},
		{`[[1 2]]`, "level 0: want ',' or ']' at byte 4"},
		{`[[1,,2]]`, "level 0: field 1: empty, want a number"},
		{`[[1, 2] [3, 4]]`, "after level 0: want ',' or ']' at byte 8"},
		{`[[1, 2, null]]`, `level 0: field 2: "null": not a number`},
		{`[1, 2]`, "level 0: want '[' or '(' at byte 1"},
	}
	for _, tc := range cases {
		_, err := ParseLevels([]byte(tc.in), nil)
		if err == nil {
			t.Errorf("ParseLevels(%q): no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLevels(%q) = %q, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseLevelsReusesDst(t *testing.T) {
	buf := make([]market.Level, 0, 8)
	got, err := ParseLevels([]byte(`[[3, 1], [2, 1]]`), buf)
	if err != nil || len(got) != 2 || &got[0] != &buf[:1][0] {
		t.Fatalf("first parse: %v %v (not in dst's array)", got, err)
	}
	got, err = ParseLevels([]byte(`[[9, 9]]`), got)
	if err != nil || !sameLevels(got, lv(9, 9)) || &got[0] != &buf[:1][0] {
		t.Fatalf("second parse: %v %v", got, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		got, _ = ParseLevels([]byte(`[[50000.1, 0.532], [49999.9, 1], (1, 2, 0, 1), ["3", "4"]]`), got)
	})
	if allocs != 0 {
		t.Errorf("ParseLevels allocates %v times per call, want 0", allocs)
	}
}

// TestParseNumberMatchesStrconv checks the fast path against strconv.ParseFloat on random
// decimals of every length.
func TestParseNumberMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var p levelParser
	for range 200_000 {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteByte('-')
		}
		for range 1 + rng.IntN(12) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(3) > 0 {
			b.WriteByte('.')
			for range rng.IntN(14) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		s := b.String()
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		p = levelParser{s: []byte(s + ",")}
		got, err := p.number()
		if err != nil || got != want || p.i != len(s) {
			t.Fatalf("number(%q) = %v, %v (at %d), want %v", s, got, err, p.i, want)
		}
		got, err = parseNumber([]byte(s))
		if err != nil || got != want {
			t.Fatalf("parseNumber(%q) = %v, %v, want %v", s, got, err, want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	const ms = int64(1704067200000) // 2024-01-01T00:00:00Z
	cases := []struct {
		in   any
		want int64 // µs
	}{
		{int64(1704067200), ms * 1000},
		{int64(ms), ms * 1000},
		{int64(ms*1000 + 7), ms*1000 + 7},
		{int64(ms*1_000_000 + 7_999), ms*1000 + 7},
		{int64(99_999_999_999), 99_999_999_999 * 1_000_000}, // just below the seconds cut-off
		{int64(100_000_000_000), 100_000_000_000 * 1000},    // milliseconds from 1e11
		{int64(1e14), 1e14},                                 // microseconds from 1e14
		{int64(1e17), 1e14},                                 // nanoseconds from 1e17
		{int(1704067200), ms * 1000},
		{float64(1704067200.5), ms*1000 + 500_000},
		{float64(1704067200.123456), ms*1000 + 123_456},
		{float64(ms) + 0.25, ms*1000 + 250},
		{float64(ms * 1000), ms * 1000},
		{float64(ms * 1_000_000), ms * 1000},
		{"1704067200", ms * 1000},
		{" 1704067200000 ", ms * 1000},
		{[]byte("1704067200000123"), ms*1000 + 123},
		{"1704067200000123456", ms*1000 + 123},
		{"1704067200.5", ms*1000 + 500_000},
		{"1.7040672e12", ms * 1000},
		{"2024-01-01T00:00:00Z", ms * 1000},
		{"2024-01-01T00:00:00.123Z", ms*1000 + 123_000},
		{"2024-01-01T00:00:00.123456789Z", ms*1000 + 123_456},
		{"2024-01-01 00:00:00.5", ms*1000 + 500_000},
		{"2024-01-01T00:00:00", ms * 1000},
		{"2024-01-01T01:30:00+01:30", ms * 1000},
		{"2024-01-01T01:00:00+0100", ms * 1000},
		{"2023-12-31T23:00:00-01:00", ms * 1000},
		{"2024-01-01T02:00:00+02", ms * 1000},
		{"2024-01-01t00:00:00z", ms * 1000},
		{"2024-01-01", ms * 1000},
		{"2024-01-01T00:00", ms * 1000},
		{"2024-02-29T12:00:00Z", ms*1000 + (59*86400+12*3600)*1_000_000},
		{[]byte("2024-01-01T00:00:00Z"), ms * 1000},
		{time.UnixMilli(ms).UTC(), ms * 1000},
	}
	for _, tc := range cases {
		got, err := ParseTimestamp(tc.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%#v): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseTimestamp(%#v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseTimestampErrors(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{nil, "timestamp is NULL"},
		{int64(0), "timestamp 0: want > 0"},
		{int64(-5), "timestamp -5: want > 0"},
		{float64(-1.5), "timestamp -1.5: want > 0"},
		{math.NaN(), "timestamp NaN: not finite"},
		{math.Inf(1), "timestamp +Inf: not finite"},
		{1e300, "timestamp 1e+300: out of range"},
		{"", `timestamp "": empty text`},
		{"   ", `timestamp "   ": empty text`},
		{"abc", `timestamp "abc": want a number (s, ms, µs or ns) or an ISO-8601 time`},
		{"-1704067200", `timestamp "-1704067200": want > 0`},
		{"2024-13-01T00:00:00Z", `timestamp "2024-13-01T00:00:00Z": want a number`},
		{"2024-02-30", `want a number`},
		{"2023-02-29", `want a number`},
		{"2024-01-01T24:00:00Z", `want a number`},
		{"2024-01-01T00:60:00Z", `want a number`},
		{"2024-01-01T00:00:60Z", `want a number`},
		{"2024-01-01T00:00:00.Z", `want a number`},
		{"2024-01-01T00:00:00+25:00", `want a number`},
		{"2024-01-01T00:00:00Zjunk", `want a number`},
		{"1969-12-31T23:59:59Z", `before 1970-01-01`},
		{"1.2.3", `not a number`},
		{[]byte("x"), `timestamp "x"`},
		{true, "timestamp of type bool"},
		{time.Unix(-10, 0), "before 1970-01-01"},
	}
	for _, tc := range cases {
		_, err := ParseTimestamp(tc.in)
		if err == nil {
			t.Errorf("ParseTimestamp(%#v): no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTimestamp(%#v) = %q, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestParseTimestampISOMatchesTime compares the ISO parser with the time package on random
// times, zones and fractions.
func TestParseTimestampISOMatchesTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20_000 {
		us := rng.Int64N(4_000_000_000_000_000) + 1
		tm := time.UnixMicro(us).In(time.FixedZone("", (rng.IntN(47)-23)*1800))
		layouts := []string{time.RFC3339Nano, "2006-01-02 15:04:05.000000Z07:00", "2006-01-02T15:04:05.000000-0700"}
		s := tm.Format(layouts[rng.IntN(len(layouts))])
		got, err := ParseTimestamp(s)
		if err != nil || got != us {
			t.Fatalf("ParseTimestamp(%q) = %d, %v, want %d", s, got, err, us)
		}
	}
}

func TestParseTimestampAllocs(t *testing.T) {
	var sink int64
	for _, v := range []any{int64(1704067200000), "2024-01-01T00:00:00.123Z", "1704067200000"} {
		allocs := testing.AllocsPerRun(100, func() {
			us, _ := ParseTimestamp(v)
			sink += us
		})
		if allocs != 0 {
			t.Errorf("ParseTimestamp(%#v) allocates %v times", v, allocs)
		}
	}
}

func TestNormalizeInstrument(t *testing.T) {
	for in, want := range map[string]market.Symbol{
		"BTC-USDT":      "BTCUSDT",
		"btc/usdt":      "BTCUSDT",
		"BTC_USDT":      "BTCUSDT",
		"BTC-USDT-SWAP": "BTCUSDTSWAP",
		"ETH:USDC":      "ETHUSDC",
		" ethusdt ":     "ETHUSDT",
		"":              "",
	} {
		if got := normalizeInstrument([]byte(in)); got != want {
			t.Errorf("normalizeInstrument(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSideBytes(t *testing.T) {
	for in, want := range map[string]market.Side{"buy": market.Buy, "SELL": market.Sell, " Bid ": market.Buy, "s": market.Sell} {
		if got, err := parseSideBytes([]byte(in)); err != nil || got != want {
			t.Errorf("parseSideBytes(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseSideBytes([]byte("x")); err == nil || err.Error() != `side "x": want buy or sell` {
		t.Errorf("parseSideBytes(x) = %v", err)
	}
}

var levelSeeds = []string{
	`[[50000.1, 0.532], [49999.9, 1]]`,
	`[(50000.0, 10.0, 0, 1), (49999.0, 5.0, 0, 1)]`,
	`[["50000.5", "0.25"], ['49999', '3']]`,
	`[]`, ` [ ] `, `[[1, 0]]`, `[[1e3, 2E-2, 3, 4]]`, `[[1, -1]]`, `[[0, 1]]`, `[[NaN, 1]]`,
	`[[1, 2]] x`, `[[1, 2], [3`, `[(1, 2]]`, `[[1]]`, `[[1,2,3,4,5]]`, `[[1, "2`, `[[1,,2]]`,
	`[[99999999999999999999, 0.1000000000000000000001]]`, `[[-0, 1]]`, `[[0x1p3, 1]]`, "",
}

func FuzzParseLevels(f *testing.F) {
	for _, s := range levelSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		levels, err := ParseLevels(in, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for i, l := range levels {
			if !finite(l.Price) || !finite(l.Size) || !(l.Size > 0) || !(l.Price > 0) {
				t.Fatalf("level %d of %q: %+v", i, in, l)
			}
		}
		// Written back as JSON, the levels parse to the same values.
		b := appendLevelsJSON(nil, levels)
		again, err := ParseLevels(b, nil)
		if err != nil || !sameLevels(again, levels) {
			t.Fatalf("round trip of %q via %q: %v, %v", in, b, again, err)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		"1704067200", "1704067200000", "1704067200000123", "1704067200000123456", "1704067200.5",
		"2024-01-01T00:00:00Z", "2024-01-01 00:00:00.123456", "2024-01-01T01:00:00+01:00",
		"2024-01-01T01:00:00+0100", "2024-01-01", "", "abc", "-5", "0", "1e300", "9223372036854775807",
		"2024-02-30T00:00:00Z", "1969-12-31T23:59:59Z",
	} {
		f.Add(s, int64(0), 0.0, uint8(0))
	}
	f.Add("", int64(1704067200000), 0.0, uint8(1))
	f.Add("", int64(-1), 0.0, uint8(1))
	f.Add("", int64(math.MaxInt64), 0.0, uint8(1))
	f.Add("", int64(0), 1704067200.5, uint8(2))
	f.Add("", int64(0), math.Inf(1), uint8(2))
	f.Fuzz(func(t *testing.T, s string, i int64, fl float64, kind uint8) {
		var v any
		switch kind % 4 {
		case 0:
			v = s
		case 1:
			v = i
		case 2:
			v = fl
		case 3:
			v = []byte(s)
		}
		us, err := ParseTimestamp(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if us <= 0 {
			t.Fatalf("ParseTimestamp(%#v) = %d, want > 0", v, us)
		}
		// Text that time.Parse reads as RFC 3339 gives the same instant (to the µs).
		if str, ok := v.(string); ok {
			if tm, err := time.Parse(time.RFC3339Nano, str); err == nil && tm.Year() >= 1970 && tm.Year() <= 9999 && tm.UnixMicro() > 0 {
				if tm.UnixMicro() != us {
					t.Fatalf("ParseTimestamp(%q) = %d, time.Parse says %d", str, us, tm.UnixMicro())
				}
			}
		}
	})
}
