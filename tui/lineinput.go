package tui

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a one-line text field for the forms. (bubbles/textinput would do, but it
// imports github.com/atotto/clipboard, which this module does not require.) Keys: typing and
// pasting insert, ←/→ ctrl+b/ctrl+f move, home/end ctrl+a/ctrl+e jump, backspace and
// delete erase, ctrl+u / ctrl+k erase to the start / end, ctrl+w the word before the cursor.
type lineInput struct {
	value       []rune
	pos         int // cursor, 0 … len(value)
	focused     bool
	placeholder string // shown (muted) while the value is empty
	limit       int    // most runes; 0: no limit
}

func (in *lineInput) SetValue(s string) {
	in.value = []rune(s)
	if in.limit > 0 && len(in.value) > in.limit {
		in.value = in.value[:in.limit]
	}
	in.pos = len(in.value)
}

func (in *lineInput) Value() string { return string(in.value) }

// Update edits the value with a key; it reports whether the key was an editing key.
func (in *lineInput) Update(msg tea.KeyMsg) bool {
	switch msg.Type {
	case tea.KeyRunes, tea.KeySpace:
		in.insert(msg.Runes)
	case tea.KeyBackspace, tea.KeyCtrlH:
		if in.pos > 0 {
			in.value = append(in.value[:in.pos-1], in.value[in.pos:]...)
			in.pos--
		}
	case tea.KeyDelete, tea.KeyCtrlD:
		if in.pos < len(in.value) {
			in.value = append(in.value[:in.pos], in.value[in.pos+1:]...)
		}
	case tea.KeyLeft, tea.KeyCtrlB:
		in.pos = max(0, in.pos-1)
	case tea.KeyRight, tea.KeyCtrlF:
		in.pos = min(len(in.value), in.pos+1)
	case tea.KeyHome, tea.KeyCtrlA:
		in.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		in.pos = len(in.value)
	case tea.KeyCtrlU:
		in.value = append(in.value[:0], in.value[in.pos:]...)
		in.pos = 0
	case tea.KeyCtrlK:
		in.value = in.value[:in.pos]
	case tea.KeyCtrlW:
		i := in.pos
		for i > 0 && unicode.IsSpace(in.value[i-1]) {
			i--
		}
		for i > 0 && !unicode.IsSpace(in.value[i-1]) {
			i--
		}
		in.value = append(in.value[:i], in.value[in.pos:]...)
		in.pos = i
	default:
		return false
	}
	return true
}

// insert puts printable runes at the cursor (a paste's newlines and tabs become spaces).
func (in *lineInput) insert(rs []rune) {
	add := make([]rune, 0, len(rs))
	for _, r := range rs {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			add = append(add, ' ')
		case unicode.IsPrint(r):
			add = append(add, r)
		}
	}
	if in.limit > 0 {
		add = add[:max(0, min(len(add), in.limit-len(in.value)))]
	}
	if len(add) == 0 {
		return
	}
	v := make([]rune, 0, len(in.value)+len(add))
	v = append(v, in.value[:in.pos]...)
	v = append(v, add...)
	v = append(v, in.value[in.pos:]...)
	in.value = v
	in.pos += len(add)
}

// View draws the field in exactly w cells, scrolled so that the cursor shows. The focused
// field's cursor is a reversed cell; without colour it is an underscore at the end of the
// text (where it usually is).
func (in *lineInput) View(st *Styles, w int) string {
	if w <= 0 {
		return ""
	}
	if len(in.value) == 0 && !in.focused && in.placeholder != "" {
		return fit(st.paint(cMuted, in.placeholder), w)
	}
	// The window of runes shown: w-1 of them, ending at the cursor when it is far right.
	start := 0
	if in.focused && in.pos >= w {
		start = in.pos - w + 1
	}
	end := min(len(in.value), start+w)
	var b strings.Builder
	for i := start; i < end; i++ {
		r := string(in.value[i])
		if in.focused && i == in.pos {
			b.WriteString(st.paint(cCursor, r))
		} else {
			b.WriteString(r)
		}
	}
	if in.focused && in.pos == len(in.value) && ansi.StringWidth(b.String()) < w {
		if st.Color {
			b.WriteString(st.paint(cCursor, " "))
		} else {
			b.WriteString("_")
		}
	}
	return fit(b.String(), w)
}
