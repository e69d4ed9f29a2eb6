package storage

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Parsers of the values of an order-flow file (DESIGN.md, "Storage contract"). They sit on the
// hot path of `tradeconsole orderflow` and of the replay feed: hand-written, no reflection, no
// encoding/json, and no allocation on success.

// ParseLevels parses one side of a book snapshot as an order-flow file stores it and appends
// the levels to dst[:0], so a caller can reuse the slice. Accepted forms:
//
//	JSON:          [[50000.5, 10, 0, 1], [49999, 5]]     2 to 4 fields per level
//	Python tuples: [(50000.0, 10.0, 0, 1), (49999.0, 5.0, 0, 1)]
//
// Fields are numbers, or numbers written as strings ("50000.5" or '50000.5'); whitespace may
// appear anywhere between tokens; "[]" is an empty side. Only the first two fields, price and
// size, are kept; the others (liquidations, orders) must still be finite numbers. Levels of
// size 0 are dropped. The levels are returned in the order of the text (not sorted).
//
// Errors name the level and the problem, for example "level 3: negative size -1": a wrong
// field count, a field that is not a number, NaN or ±Inf, a negative size, a price ≤ 0,
// unbalanced brackets, text after the closing bracket, or text that ends too early.
func ParseLevels(text []byte, dst []market.Level) ([]market.Level, error) {
	dst = dst[:0]
	p := levelParser{s: text}
	p.skipWS()
	if p.i >= len(p.s) {
		return dst, errors.New("empty text, want a list of levels")
	}
	if p.s[p.i] != '[' {
		return dst, fmt.Errorf("want '[' at byte %d, found %s", p.i, p.found())
	}
	p.i++
	p.skipWS()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return dst, p.end()
	}
	for level := 0; ; level++ {
		p.skipWS()
		if p.i >= len(p.s) {
			return dst, fmt.Errorf("level %d: text ends early (truncated?)", level)
		}
		var close byte
		switch p.s[p.i] {
		case '[':
			close = ']'
		case '(':
			close = ')'
		default:
			return dst, fmt.Errorf("level %d: want '[' or '(' at byte %d, found %s", level, p.i, p.found())
		}
		p.i++
		var f [4]float64
		n := 0
		for {
			p.skipWS()
			if n == len(f) {
				return dst, fmt.Errorf("level %d: more than 4 fields, want 2 to 4", level)
			}
			v, err := p.number()
			if err != nil {
				return dst, fmt.Errorf("level %d: field %d: %w", level, n, err)
			}
			f[n] = v
			n++
			p.skipWS()
			if p.i >= len(p.s) {
				return dst, fmt.Errorf("level %d: text ends early (truncated?)", level)
			}
			c := p.s[p.i]
			p.i++
			if c == ',' {
				continue
			}
			if c == close {
				break
			}
			return dst, fmt.Errorf("level %d: want ',' or '%c' at byte %d, found %s", level, close, p.i-1, quoteByte(c))
		}
		if n < 2 {
			return dst, fmt.Errorf("level %d: %d field, want 2 to 4 (price, size, liquidations, orders)", level, n)
		}
		price, size := f[0], f[1]
		if !(price > 0) {
			return dst, fmt.Errorf("level %d: price %s, want > 0", level, fmtNum(price))
		}
		if size < 0 {
			return dst, fmt.Errorf("level %d: negative size %s", level, fmtNum(size))
		}
		if size > 0 {
			dst = append(dst, market.Level{Price: price, Size: size})
		}
		p.skipWS()
		if p.i >= len(p.s) {
			return dst, fmt.Errorf("after level %d: text ends early (truncated?)", level)
		}
		c := p.s[p.i]
		p.i++
		if c == ',' {
			continue
		}
		if c == ']' {
			return dst, p.end()
		}
		return dst, fmt.Errorf("after level %d: want ',' or ']' at byte %d, found %s", level, p.i-1, quoteByte(c))
	}
}

type levelParser struct {
	s []byte
	i int
}

func (p *levelParser) skipWS() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// end checks that only whitespace follows the closing bracket.
func (p *levelParser) end() error {
	p.skipWS()
	if p.i < len(p.s) {
		return fmt.Errorf("trailing text at byte %d after the closing ']': %s", p.i, p.found())
	}
	return nil
}

// found describes the text at the current position for an error message.
func (p *levelParser) found() string {
	if p.i >= len(p.s) {
		return "the end of the text"
	}
	rest := p.s[p.i:]
	if len(rest) > 16 {
		return strconv.Quote(string(rest[:16])) + "…"
	}
	return strconv.Quote(string(rest))
}

// number reads one field: a bare number or a number in double or single quotes.
func (p *levelParser) number() (float64, error) {
	// Fast path, one pass: -?digits(.digits)? followed by a delimiter, with at most 19 digits
	// whose value is below 2^53 and at most 22 fraction digits. float64(mantissa) / 10^frac is
	// then exactly rounded (both operands are exact), as strconv.ParseFloat would round it.
	s, i := p.s, p.i
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	start := i
	for i < len(s) {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
		i++
	}
	digits := i - start
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) {
			d := s[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
			i++
		}
		frac = i - fs
		digits += frac
	}
	if digits > 0 && digits <= 19 && mant < 1<<53 && i < len(s) {
		switch s[i] {
		case ',', ']', ')', ' ', '\t', '\n', '\r':
			f := float64(mant)
			if frac > 0 {
				f /= pow10tab[frac] // frac <= 19
			}
			if neg {
				f = -f
			}
			p.i = i
			return f, nil
		}
	}
	return p.numberSlow()
}

// numberSlow reads any other field: quoted, with an exponent, long, or invalid.
func (p *levelParser) numberSlow() (float64, error) {
	if p.i >= len(p.s) {
		return 0, errors.New("text ends early (truncated?)")
	}
	var tok []byte
	if q := p.s[p.i]; q == '"' || q == '\'' {
		j := p.i + 1
		for j < len(p.s) && p.s[j] != q {
			j++
		}
		if j >= len(p.s) {
			return 0, errors.New("unterminated string (truncated?)")
		}
		tok = p.s[p.i+1 : j]
		p.i = j + 1
	} else {
		j := p.i
		for j < len(p.s) {
			c := p.s[j]
			if c == ',' || c == ']' || c == ')' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			j++
		}
		tok = p.s[p.i:j]
		p.i = j
	}
	if len(tok) == 0 {
		return 0, errors.New("empty, want a number")
	}
	return parseNumber(tok)
}

// parseNumber parses a finite decimal number. The common case (at most 19 significant digits
// and a small exponent) is converted exactly without strconv; everything else goes through
// strconv.ParseFloat, so the result is always the correctly rounded float64.
func parseNumber(b []byte) (float64, error) {
	if v, ok := fastFloat(b); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%s: out of range", quoteTok(b))
		}
		return 0, fmt.Errorf("%s: not a number", quoteTok(b))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: not finite", quoteTok(b))
	}
	return v, nil
}

// pow10tab holds the powers of ten that float64 represents exactly.
var pow10tab = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// mantissaDigits adds the decimal digits of b from i to the mantissa; digits counts the
// significant ones. It returns where the digits end, or false past 19 significant digits.
func mantissaDigits(b []byte, i int, mant uint64, digits int) (int, uint64, int, bool) {
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if digits >= 19 {
			return i, mant, digits, false
		}
		mant = mant*10 + uint64(b[i]-'0')
		if mant != 0 {
			digits++
		}
	}
	return i, mant, digits, true
}

// fastFloat is Clinger's fast path: for a decimal -?d+(.d*)?([eE][+-]?d+)? (or -?.d+…) whose
// digits fit in a uint64 below 2^53 and whose decimal exponent is within ±22, m × 10^e and
// m / 10^e are exactly rounded in float64. It reports false for anything else.
func fastFloat(b []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	start := i
	var ok bool
	if i, mant, digits, ok = mantissaDigits(b, i, mant, digits); !ok {
		return 0, false
	}
	intDigits := i - start
	fracDigits := 0
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		if i, mant, digits, ok = mantissaDigits(b, i, mant, digits); !ok {
			return 0, false
		}
		fracDigits = i - fs
		exp = -fracDigits
	}
	if intDigits+fracDigits == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		es := i
		e := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if e > 10000 {
				return 0, false
			}
			e = e*10 + int(b[i]-'0')
			i++
		}
		if i == es {
			return 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(b) || mant >= 1<<53 {
		return 0, false
	}
	f := float64(mant)
	switch {
	case mant == 0:
		f = 0
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10tab[exp]
	case exp < 0 && exp >= -22:
		f /= pow10tab[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func quoteTok(b []byte) string {
	if len(b) > 32 {
		return strconv.Quote(string(b[:32])) + "…"
	}
	return strconv.Quote(string(b))
}

func quoteByte(c byte) string { return strconv.QuoteRune(rune(c)) }

// Timestamps.
//
// Integers are read as seconds, milliseconds, microseconds or nanoseconds by magnitude:
//
//	v < 1e11          seconds       (1e11 s is the year 5138)
//	1e11 ≤ v < 1e14   milliseconds  (1e11 ms is 1973-03-03; 1e14 ms is the year 5138)
//	1e14 ≤ v < 1e17   microseconds  (1e14 µs is 1973-03-03)
//	v ≥ 1e17          nanoseconds   (1e17 ns is 1973-03-03)
//
// so any time between 1973 and 5138 is read right whatever its unit. Floats follow the same
// rule (fractional seconds, fractional milliseconds, …) and are rounded to the microsecond.
const (
	tsSecondsBelow = 1e11
	tsMillisBelow  = 1e14
	tsMicrosBelow  = 1e17
)

// ParseTimestamp converts a timestamp as database/sql or modernc.org/sqlite return it (int64,
// float64, string, []byte, time.Time; nil is an error) into unix microseconds. Numbers, and
// text holding a number, are seconds, milliseconds, microseconds or nanoseconds by magnitude
// (see the cut-offs above); other text must be ISO-8601: RFC 3339 with or without a fraction,
// with 'Z' or a ±hh:mm / ±hhmm / ±hh offset, with 'T' or a space between date and time, or
// without a zone (UTC); a date alone is its midnight UTC. Zero, negative, NaN or infinite
// values, empty text, NULL and text that is neither a number nor such a time are errors that
// quote the value.
func ParseTimestamp(v any) (us int64, err error) {
	var problem string
	switch x := v.(type) {
	case int64:
		if us, problem = tsFromInt(x); problem == "" {
			return us, nil
		}
		return 0, fmt.Errorf("timestamp %d: %s", x, problem)
	case float64:
		if us, problem = tsFromFloat(x); problem == "" {
			return us, nil
		}
		return 0, fmt.Errorf("timestamp %s: %s", fmtNum(x), problem)
	case string:
		if us, problem = tsFromText(x); problem == "" {
			return us, nil
		}
		return 0, fmt.Errorf("timestamp %q: %s", x, problem)
	case []byte:
		if us, problem = tsFromText(x); problem == "" {
			return us, nil
		}
		return 0, fmt.Errorf("timestamp %q: %s", x, problem)
	case nil:
		return 0, errors.New("timestamp is NULL")
	case int:
		return ParseTimestamp(int64(x))
	case int32:
		return ParseTimestamp(int64(x))
	case uint32:
		return ParseTimestamp(int64(x))
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("timestamp %d: out of range", x)
		}
		return ParseTimestamp(int64(x))
	case float32:
		return ParseTimestamp(float64(x))
	case time.Time:
		if us := x.UnixMicro(); us > 0 {
			return us, nil
		}
		return 0, fmt.Errorf("timestamp %s: before 1970-01-01", x.Format(time.RFC3339Nano))
	default:
		return 0, fmt.Errorf("timestamp of type %T: want an integer, a float or text", v)
	}
}

// tsFromInt converts an integer timestamp; problem is "" on success.
func tsFromInt(v int64) (us int64, problem string) {
	switch {
	case v <= 0:
		return 0, "want > 0"
	case v < tsSecondsBelow:
		return v * 1_000_000, ""
	case v < tsMillisBelow:
		return v * 1000, ""
	case v < tsMicrosBelow:
		return v, ""
	default:
		return v / 1000, ""
	}
}

// tsFromFloat converts a float timestamp, rounded to the microsecond; problem is "" on success.
func tsFromFloat(v float64) (us int64, problem string) {
	var f float64
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, "not finite"
	case v <= 0:
		return 0, "want > 0"
	case v < tsSecondsBelow:
		f = math.Round(v * 1e6)
	case v < tsMillisBelow:
		f = math.Round(v * 1e3)
	case v < tsMicrosBelow:
		f = math.Round(v)
	case v < 9e18:
		f = math.Floor(v / 1e3)
	default:
		return 0, "out of range"
	}
	if f <= 0 {
		return 0, "want > 0"
	}
	return int64(f), ""
}

type textBytes interface{ ~string | ~[]byte }

// tsFromText converts a timestamp written as text; problem is "" on success.
func tsFromText[T textBytes](s T) (us int64, problem string) {
	a, b := 0, len(s)
	for a < b && isSpace(s[a]) {
		a++
	}
	for b > a && isSpace(s[b-1]) {
		b--
	}
	t := s[a:b]
	if len(t) == 0 {
		return 0, "empty text, want a number or an ISO-8601 time"
	}
	if n, ok := parseDecInt(t); ok {
		return tsFromInt(n)
	}
	if looksNumeric(t) {
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return 0, "not a number"
		}
		return tsFromFloat(f)
	}
	if us, ok := parseISO(t); ok {
		if us <= 0 {
			return 0, "before 1970-01-01"
		}
		return us, ""
	}
	return 0, "want a number (s, ms, µs or ns) or an ISO-8601 time"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseDecInt parses [+-]?digits into an int64; false for anything else or on overflow.
func parseDecInt[T textBytes](t T) (int64, bool) {
	i := 0
	neg := false
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		neg = t[i] == '-'
		i++
	}
	if i == len(t) {
		return 0, false
	}
	var n int64
	for ; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

// looksNumeric reports whether t is made of number characters only (a float like 1.7e9 or
// "-inf"-free decimal); ISO text always has '-' after digits and ':' or 'T'.
func looksNumeric[T textBytes](t T) bool {
	digits := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E':
		case (c == '-' || c == '+') && (i == 0 || t[i-1] == 'e' || t[i-1] == 'E'):
		default:
			return false
		}
	}
	return digits
}

// parseISO parses YYYY-MM-DD[(T|t| )hh:mm[:ss[.frac]]][Z|z|±hh[:mm]|±hhmm] into unix µs.
// Fraction digits after the sixth are truncated.
func parseISO[T textBytes](t T) (int64, bool) {
	num := func(i, n int) (int, bool) {
		if i+n > len(t) {
			return 0, false
		}
		v := 0
		for k := i; k < i+n; k++ {
			c := t[k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if len(t) < 10 || t[4] != '-' || t[7] != '-' {
		return 0, false
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, false
	}
	var hour, min, sec, micros, offset int
	i := 10
	if i < len(t) {
		if c := t[i]; c != 'T' && c != 't' && c != ' ' {
			return 0, false
		}
		i++
		var ok bool
		if hour, ok = num(i, 2); !ok || hour > 23 {
			return 0, false
		}
		i += 2
		if i >= len(t) || t[i] != ':' {
			return 0, false
		}
		if min, ok = num(i+1, 2); !ok || min > 59 {
			return 0, false
		}
		i += 3
		if i < len(t) && t[i] == ':' {
			if sec, ok = num(i+1, 2); !ok || sec > 59 {
				return 0, false
			}
			i += 3
			if i < len(t) && (t[i] == '.' || t[i] == ',') {
				i++
				fs := i
				scale := 100000
				for i < len(t) && t[i] >= '0' && t[i] <= '9' {
					micros += int(t[i]-'0') * scale
					scale /= 10
					i++
				}
				if i == fs {
					return 0, false
				}
			}
		}
		if i < len(t) {
			switch c := t[i]; c {
			case 'Z', 'z':
				i++
			case '+', '-':
				oh, ok := num(i+1, 2)
				if !ok || oh > 23 {
					return 0, false
				}
				om := 0
				j := i + 3
				if j < len(t) && t[j] == ':' {
					j++
				}
				if j < len(t) {
					if om, ok = num(j, 2); !ok || om > 59 {
						return 0, false
					}
					j += 2
				}
				offset = (oh*60 + om) * 60
				if c == '-' {
					offset = -offset
				}
				i = j
			default:
				return 0, false
			}
		}
		if i != len(t) {
			return 0, false
		}
	}
	days := daysFromCivil(year, month, day)
	secs := days*86400 + int64(hour*3600+min*60+sec) - int64(offset)
	return secs*1_000_000 + int64(micros), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the proleptic Gregorian
// calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// normalizeInstrument spells an instrument of an order-flow file the way market.Symbol does:
// upper case, without '-', '/', '_', ':' or spaces ("BTC-USDT" → BTCUSDT, "BTC-USDT-SWAP" →
// BTCUSDTSWAP).
func normalizeInstrument(b []byte) market.Symbol {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c == '-' || c == '/' || c == '_' || c == ':' || isSpace(c):
		case c >= 'a' && c <= 'z':
			out = append(out, c-'a'+'A')
		default:
			out = append(out, c)
		}
	}
	return market.Symbol(out)
}

// parseSideBytes is market.ParseSide with a fast path for the usual spellings.
func parseSideBytes(b []byte) (market.Side, error) {
	switch string(b) { // no allocation: the conversion is only compared
	case "buy", "Buy", "BUY":
		return market.Buy, nil
	case "sell", "Sell", "SELL":
		return market.Sell, nil
	}
	return market.ParseSide(string(b))
}
