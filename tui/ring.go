package tui

// ring is a fixed-capacity FIFO: pushing onto a full ring drops the oldest element.
// Index 0 is the oldest element. It is not safe for concurrent use (the UI owns it).
type ring[T any] struct {
	buf   []T
	start int
	n     int
}

func newRing[T any](capacity int) *ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &ring[T]{buf: make([]T, capacity)}
}

func (r *ring[T]) Len() int { return r.n }
func (r *ring[T]) Cap() int { return len(r.buf) }

// At returns element i, 0 being the oldest. i must be in [0, Len()).
func (r *ring[T]) At(i int) T { return r.buf[(r.start+i)%len(r.buf)] }

// Last returns the newest element.
func (r *ring[T]) Last() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.At(r.n - 1), true
}

// SetLast replaces the newest element; it does nothing on an empty ring.
func (r *ring[T]) SetLast(v T) {
	if r.n > 0 {
		r.buf[(r.start+r.n-1)%len(r.buf)] = v
	}
}

// Push appends v and reports whether the oldest element was dropped to make room.
func (r *ring[T]) Push(v T) (dropped bool) {
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
func (r *ring[T]) Reset() {
	var zero T
	for i := range r.buf {
		r.buf[i] = zero
	}
	r.start, r.n = 0, 0
}

// AppendTo appends the elements, oldest first, to dst.
func (r *ring[T]) AppendTo(dst []T) []T {
	for i := 0; i < r.n; i++ {
		dst = append(dst, r.At(i))
	}
	return dst
}
