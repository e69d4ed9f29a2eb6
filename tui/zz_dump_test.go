package tui

import (
	"fmt"
	"testing"

	"github.com/muesli/termenv"
)

func TestZZDump(t *testing.T) {
	h := newHarness(t, newFake(), termenv.Ascii, 80, 24)
	fmt.Println(h.screen())
	h.key("6")
	fmt.Println(h.screen())
}
