package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// priceDecimals picks the decimals that show about six significant digits of a price:
// 50000 → 1, 3000 → 2, 150 → 3, 1.2 → 5, 0.5 → 6.
func priceDecimals(p float64) int {
	if p <= 0 || math.IsNaN(p) || math.IsInf(p, 0) {
		return 2
	}
	d := 5 - int(math.Floor(math.Log10(p)))
	return max(0, min(d, 8))
}

func fmtPrice(v float64, dec int) string { return strconv.FormatFloat(v, 'f', dec, 64) }

// fmtQty formats a size or volume compactly (0.0123, 1.500, 250.0, 12.35k, 4.20M).
func fmtQty(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 2, 64) + "B"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 2, 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case a == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// fmtCount formats a counter: 0 … 9999 as is, then 12.3k, 4.56M.
func fmtCount(n int64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + "B"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + "M"
	case n >= 1e4:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// fmtRate formats messages per second.
func fmtRate(f float64) string {
	switch {
	case f >= 1e4:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// fmtAge formats the age of the last message: "-" when none, 0.2s, 12s, 3m04s, 2h03m.
func fmtAge(d time.Duration, none bool) string {
	if none {
		return "-"
	}
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		m := int(d / time.Minute)
		s := int(d%time.Minute) / int(time.Second)
		return strconv.Itoa(m) + "m" + pad2(s) + "s"
	}
	h := int(d / time.Hour)
	m := int(d%time.Hour) / int(time.Minute)
	return strconv.Itoa(h) + "h" + pad2(m) + "m"
}

// fmtLatency writes a short latency: 850ns, 30µs, 1.2ms, 2.5s.
func fmtLatency(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// fmtSigned formats v with an explicit sign.
func fmtSigned(v float64, dec int) string {
	if v >= 0 {
		return "+" + strconv.FormatFloat(v, 'f', dec, 64)
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// msTime converts unix milliseconds to a UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// ---- layout helpers (all widths are terminal cells; strings may carry escape sequences) ----

// cycle wraps index i into [0, n) (n > 0), so ±1 steps go round a list of choices.
func cycle(i, n int) int { return (i%n + n) % n }

// itemAt returns xs[i], or the zero value of an empty list.
func itemAt[T any](xs []T, i int) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[i]
}

// pane lays lines out as a w×h pane (see fitLines), joined with newlines.
func pane(lines []string, w, h int) string { return strings.Join(fitLines(lines, w, h), "\n") }

// fit truncates or pads s to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// truncate cuts s to at most w cells with an ellipsis.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	if w == 1 {
		return ansi.Truncate(s, 1, "")
	}
	return ansi.Truncate(s, w, "…")
}

// truncateMiddle cuts plain text s to at most w cells by replacing its middle with an
// ellipsis, keeping the start (what a message is about) and the end (a file name).
func truncateMiddle(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	if w < 5 || len(rs) != ansi.StringWidth(s) {
		return truncate(s, w)
	}
	head := (w - 1) / 2
	tail := w - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

// padLeft right-aligns plain text s in w cells (s is never cut).
func padLeft(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}

// padRight left-aligns plain text s in w cells (s is never cut).
func padRight(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// spread writes left and right on one line of exactly w cells; right is dropped when both
// do not fit, and left is then truncated.
func spread(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if right != "" && lw+1+rw <= w {
		return left + strings.Repeat(" ", w-lw-rw) + right
	}
	return fit(left, w)
}

// block makes exactly h lines of exactly w cells from s (lines cut or padded, missing lines blank).
func block(s string, w, h int) []string { return fitLines(strings.Split(s, "\n"), w, h) }

// fitLines makes exactly h lines of exactly w cells from lines: each fitted to w, the ones past
// h dropped, blank lines added below.
func fitLines(lines []string, w, h int) []string {
	out := make([]string, max(h, 0))
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return out
}

// centered returns h lines of w cells with msg centred (used for loading / error messages).
func centered(msg string, w, h int) []string {
	lines := make([]string, h)
	blank := strings.Repeat(" ", max(w, 0))
	for i := range lines {
		lines[i] = blank
	}
	if h <= 0 || w <= 0 {
		return lines
	}
	msgs := strings.Split(msg, "\n")
	top := max(0, (h-len(msgs))/2)
	for i, m := range msgs {
		if top+i >= h {
			break
		}
		m = truncate(m, w)
		left := max(0, (w-ansi.StringWidth(m))/2)
		lines[top+i] = fit(strings.Repeat(" ", left)+m, w)
	}
	return lines
}
