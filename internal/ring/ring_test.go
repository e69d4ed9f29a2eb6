package ring

import (
	"fmt"
	"testing"
)

func TestRing(t *testing.T) {
	r := New[int](3)
	if _, ok := r.Last(); ok {
		t.Fatal("empty ring has a last element")
	}
	r.SetLast(9) // no-op on empty
	for i := 1; i <= 5; i++ {
		r.Push(i)
	}
	if got := fmt.Sprint(r.AppendTo(nil)); got != "[3 4 5]" {
		t.Fatal(got)
	}
	r.SetLast(50)
	if l, _ := r.Last(); l != 50 || r.At(0) != 3 || r.Len() != 3 {
		t.Fatal("SetLast/At")
	}
	r.Reset()
	if r.Len() != 0 {
		t.Fatal("Reset")
	}
}

func TestTail(t *testing.T) {
	r := New[int](4)
	if r.Tail(3) != nil {
		t.Fatal("tail of empty ring")
	}
	for i := 1; i <= 6; i++ {
		r.Push(i)
	}
	if got := fmt.Sprint(r.Tail(2), r.Tail(10), r.Tail(0)); got != "[5 6] [3 4 5 6] []" {
		t.Fatal(got)
	}
}
