// Package ring is a fixed-capacity FIFO shared by the engine (trade tape, log ring) and the
// console (candle series, tape, log lines). It imports nothing.
package ring

// Ring is a fixed-capacity FIFO: pushing onto a full ring drops the oldest element.
// Index 0 is the oldest element. It is not safe for concurrent use; its owner guards it.
type Ring[T any] struct {
	buf   []T
	start int
	n     int
}

// New makes a ring holding at most capacity elements (at least 1).
func New[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Ring[T]{buf: make([]T, capacity)}
}

func (r *Ring[T]) Len() int { return r.n }
func (r *Ring[T]) Cap() int { return len(r.buf) }

// At returns element i, 0 being the oldest. i must be in [0, Len()).
func (r *Ring[T]) At(i int) T { return r.buf[(r.start+i)%len(r.buf)] }

// Last returns the newest element.
func (r *Ring[T]) Last() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.At(r.n - 1), true
}

// SetLast replaces the newest element; it does nothing on an empty ring.
func (r *Ring[T]) SetLast(v T) {
	if r.n > 0 {
		r.buf[(r.start+r.n-1)%len(r.buf)] = v
	}
}

// Push appends v and reports whether the oldest element was dropped to make room.
func (r *Ring[T]) Push(v T) (dropped bool) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = v
		r.n++
		return false
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % len(r.buf)
	return true
}

// Reset empties the ring (it keeps its capacity).
func (r *Ring[T]) Reset() {
	var zero T
	for i := range r.buf {
		r.buf[i] = zero
	}
	r.start, r.n = 0, 0
}

// AppendTo appends the elements, oldest first, to dst.
func (r *Ring[T]) AppendTo(dst []T) []T {
	for i := 0; i < r.n; i++ {
		dst = append(dst, r.At(i))
	}
	return dst
}

// Tail returns up to n of the newest elements, oldest first, in a new slice.
func (r *Ring[T]) Tail(n int) []T {
	n = min(n, r.n)
	if n <= 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = r.At(r.n - n + i)
	}
	return out
}
