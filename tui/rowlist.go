package tui

// listRow is a row of a rowList: it has the id the selection is kept by.
type listRow interface {
	rowID() int64
}

// rowList is a table of rows with one selected, kept by its id across re-reads (the first
// row when it is gone, or none was chosen), and the first row shown.
type rowList[R listRow] struct {
	rows  []R
	selID int64 // the selected row (0: the first)
	top   int   // first visible row
}

// selected is the index of the selected row, -1 when the list is empty.
func (l *rowList[R]) selected() int {
	if len(l.rows) == 0 {
		return -1
	}
	for i, r := range l.rows {
		if r.rowID() == l.selID {
			return i
		}
	}
	return 0
}

// selectedRow is the selected row; false when the list is empty.
func (l *rowList[R]) selectedRow() (R, bool) {
	i := l.selected()
	if i < 0 {
		var zero R
		return zero, false
	}
	return l.rows[i], true
}

// move selects the row d rows away from the selected one, clamped to the table; false when
// the list is empty.
func (l *rowList[R]) move(d int) bool {
	i := l.selected()
	if i < 0 {
		return false
	}
	l.selID = l.rows[max(0, min(len(l.rows)-1, i+d))].rowID()
	return true
}

// scrollTo moves top so that row sel is among the visible rows shown (see scrollTop).
func (l *rowList[R]) scrollTo(sel, visible int) {
	l.top = scrollTop(l.top, sel, visible, len(l.rows))
}

// scrollTop is the first row to show of n rows, visible at a time, after top: moved so that
// row sel shows (sel < 0: no row to keep in view), and kept within the rows.
func scrollTop(top, sel, visible, n int) int {
	if sel >= 0 {
		if sel < top {
			top = sel
		}
		if visible > 0 && sel >= top+visible {
			top = sel - visible + 1
		}
	}
	return max(0, min(top, n-visible))
}

// listPane is what the panes that list live things (bots, jobs) share: the rows, how their
// last read went, the message line over them, and the frame discipline. Moving the selection
// and setting the message mark the pane dirty.
type listPane[R listRow] struct {
	rowList[R]
	redraw
	loaded  bool  // a read has succeeded
	loadErr error // of the last read
	msg     string
	msgCls  cls
}

// moveSelection moves the selection d rows (see rowList.move).
func (p *listPane[R]) moveSelection(d int) {
	if p.move(d) {
		p.dirty = true
	}
}

// setMsg shows text in class c on the message line.
func (p *listPane[R]) setMsg(text string, c cls) {
	p.msg, p.msgCls = text, c
	p.dirty = true
}

// msgLine is the message line when no question is asked: the message, else the error of the
// last read when rows from an earlier one are shown ("could not re-read the <what>: …"), else
// blank.
func (p *listPane[R]) msgLine(st *Styles, w int, what string) string {
	switch {
	case p.msg != "":
		return st.paint(p.msgCls, truncate(p.msg, w))
	case p.loadErr != nil && len(p.rows) > 0:
		return st.paint(cErr, truncate("could not re-read the "+what+": "+firstLine(p.loadErr.Error()), w))
	}
	return ""
}
