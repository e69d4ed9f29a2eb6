package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// cls is a colour class. Hot paths (chart cells, tape rows, log lines) write text with the
// precomputed escape prefix and suffix of a class instead of calling lipgloss per cell: it is
// much faster and writes fewer bytes, which matters over slow SSH links.
type cls uint8

const (
	cPlain   cls = iota
	cMuted       // axes, labels, separators, secondary text
	cUp          // up candles, buys
	cDown        // down candles, sells
	cVolUp       // volume bar of an up candle
	cVolDown     // volume bar of a down candle
	cLast        // last-price tag on the price axis
	cTitle       // pane titles, symbol
	cWarn        // WARN, connecting / reconnecting
	cErr         // ERROR, failures
	cInfo        // INFO
	cOK          // connected
	cHead        // table headers
	cAlert       // an active or fresh OBI alert (reverse video: it must catch the eye)
	cBestBid     // best bid of the ladder
	cBestAsk     // best ask of the ladder
	cCursor      // the text cursor of a form field (reverse video)
	nCls
	noCls cls = 255
)

// Styles is the console's theme. It is built from a lipgloss renderer, so the colour profile
// is the one of the output the console writes to (a local terminal or an SSH session):
// TrueColor, 256 or 16 colours degrade through lipgloss.CompleteColor, and under NO_COLOR
// (termenv then reports the Ascii profile) every style is plain — no escape sequences at all,
// not even bold — and the layout uses text markers ([tab], ▲/▼, B/S, PAUSED) instead.
type Styles struct {
	// Color is false under NO_COLOR / the Ascii profile.
	Color bool

	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	Brand       lipgloss.Style
	Paused      lipgloss.Style
	Live        lipgloss.Style

	HelpKey  lipgloss.Style
	HelpDesc lipgloss.Style
	HelpSep  lipgloss.Style

	classes [nCls]lipgloss.Style
	pre     [nCls]string
	suf     [nCls]string
}

func color(trueColor, c256, c16 string) lipgloss.CompleteColor {
	return lipgloss.CompleteColor{TrueColor: trueColor, ANSI256: c256, ANSI: c16}
}

// NewStyles builds the theme for the given renderer (nil: lipgloss's default renderer).
func NewStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := &Styles{Color: r.ColorProfile() != termenv.Ascii}
	plain := r.NewStyle()
	if !s.Color {
		for i := range s.classes {
			s.classes[i] = plain
		}
		s.TabActive, s.TabInactive, s.Brand, s.Paused, s.Live = plain, plain, plain, plain, plain
		s.HelpKey, s.HelpDesc, s.HelpSep = plain, plain, plain
		return s // pre and suf stay empty: no escape sequences at all
	}

	up := color("#26A69A", "36", "2")
	down := color("#EF5350", "203", "1")
	muted := color("#7A7A7A", "243", "8")
	warn := color("#E5C07B", "179", "3")
	errc := color("#E06C75", "168", "1")
	info := color("#61AFEF", "75", "4")
	accent := color("#5FAFD7", "74", "6")
	last := color("#F0C674", "221", "11")

	s.classes[cPlain] = plain
	s.classes[cMuted] = plain.Foreground(muted)
	s.classes[cUp] = plain.Foreground(up)
	s.classes[cDown] = plain.Foreground(down)
	s.classes[cVolUp] = plain.Foreground(color("#1F7A72", "30", "2"))
	s.classes[cVolDown] = plain.Foreground(color("#A8403E", "131", "1"))
	s.classes[cLast] = plain.Foreground(last).Bold(true)
	s.classes[cTitle] = plain.Foreground(accent).Bold(true)
	s.classes[cWarn] = plain.Foreground(warn)
	s.classes[cErr] = plain.Foreground(errc).Bold(true)
	s.classes[cInfo] = plain.Foreground(info)
	s.classes[cOK] = plain.Foreground(up)
	s.classes[cHead] = plain.Foreground(muted).Bold(true)
	s.classes[cAlert] = plain.Foreground(color("#000000", "16", "0")).Background(errc).Bold(true)
	s.classes[cBestBid] = plain.Foreground(up).Bold(true)
	s.classes[cBestAsk] = plain.Foreground(down).Bold(true)
	s.classes[cCursor] = plain.Reverse(true)

	s.TabActive = plain.Reverse(true).Bold(true)
	s.TabInactive = plain
	s.Brand = plain.Foreground(muted)
	s.Paused = plain.Foreground(color("#000000", "16", "0")).Background(warn).Bold(true)
	s.Live = plain.Foreground(up)
	s.HelpKey = plain.Foreground(accent)
	s.HelpDesc = plain.Foreground(muted)
	s.HelpSep = plain.Foreground(muted)

	for i, st := range s.classes {
		out := st.Render("x")
		if k := strings.IndexByte(out, 'x'); k >= 0 {
			s.pre[i], s.suf[i] = out[:k], out[k+1:]
		}
	}
	return s
}

// paint returns text wrapped in the escape sequences of class c.
func (s *Styles) paint(c cls, text string) string {
	if text == "" || s.pre[c] == "" {
		return text
	}
	return s.pre[c] + text + s.suf[c]
}

// write appends text in class c to b.
func (s *Styles) write(b *strings.Builder, c cls, text string) {
	if s.pre[c] == "" {
		b.WriteString(text)
		return
	}
	b.WriteString(s.pre[c])
	b.WriteString(text)
	b.WriteString(s.suf[c])
}
