package tui

import "testing"

// idRow is a row of the rowList tests.
type idRow int64

func (r idRow) rowID() int64 { return int64(r) }

func TestRowListKeepsTheSelectionByID(t *testing.T) {
	var l rowList[idRow]
	if _, ok := l.selectedRow(); ok || l.selected() != -1 || l.move(1) {
		t.Fatal("an empty list has a selection")
	}
	l.rows = []idRow{5, 4, 3}
	if r, ok := l.selectedRow(); !ok || r != 5 {
		t.Fatalf("no choice selects the first row, got %v %v", r, ok)
	}
	if !l.move(1) || l.selID != 4 || !l.move(5) || l.selID != 3 || !l.move(-9) || l.selID != 5 {
		t.Fatalf("moves are clamped to the table: selID %d", l.selID)
	}
	l.selID = 3
	l.rows = []idRow{6, 5, 4, 3} // a re-read with a new row on top
	if l.selected() != 3 {
		t.Fatalf("selection not kept by id: %d", l.selected())
	}
	l.rows = []idRow{6, 5} // the selected row is gone
	if l.selected() != 0 {
		t.Fatalf("a gone row selects the first: %d", l.selected())
	}
}

func TestScrollTop(t *testing.T) {
	for _, c := range []struct{ top, sel, visible, n, want int }{
		{0, 0, 5, 10, 0},
		{0, 7, 5, 10, 3},  // down past the bottom
		{6, 2, 5, 10, 2},  // up past the top
		{8, -1, 5, 10, 5}, // nothing to follow: kept within the rows
		{3, 1, 0, 10, 1},  // nothing shows
		{4, 2, 5, 3, 0},   // fewer rows than fit
	} {
		if got := scrollTop(c.top, c.sel, c.visible, c.n); got != c.want {
			t.Errorf("scrollTop(%d, %d, %d, %d) = %d, want %d", c.top, c.sel, c.visible, c.n, got, c.want)
		}
	}
}
