package storage

// chunkQueue is a FIFO of rows kept in chunks of at most cap rows, so that growing the queue
// never copies it and the writer takes whole chunks without copying. Emptied chunks are
// recycled. It is not safe for concurrent use (writerState.mu guards it).
type chunkQueue[T any] struct {
	chunks [][]T // chunks[len-1] is the one being filled
	n      int   // rows queued
	free   [][]T // empty chunks for reuse
	cap    int   // rows per chunk
}

const maxFreeChunks = 8

func (q *chunkQueue[T]) push(v T) {
	last := len(q.chunks) - 1
	if last < 0 || len(q.chunks[last]) >= q.cap {
		var c []T
		if k := len(q.free); k > 0 {
			c, q.free[k-1] = q.free[k-1], nil
			q.free = q.free[:k-1]
		} else {
			c = make([]T, 0, min(q.cap, 64)) // grows up to q.cap as rows arrive
		}
		q.chunks = append(q.chunks, c)
		last++
	}
	q.chunks[last] = append(q.chunks[last], v)
	q.n++
}

// front is the length of the oldest chunk, or 0.
func (q *chunkQueue[T]) front() int {
	if len(q.chunks) == 0 {
		return 0
	}
	return len(q.chunks[0])
}

// pop removes and returns the oldest chunk.
func (q *chunkQueue[T]) pop() []T {
	c := q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	if len(q.chunks) == 0 {
		q.chunks = q.chunks[:0:0] // let the header array go; it is tiny to rebuild
	}
	q.n -= len(c)
	return c
}

// recycle takes back a chunk the writer has finished with.
func (q *chunkQueue[T]) recycle(c []T) {
	if len(q.free) >= maxFreeChunks || cap(c) < q.cap {
		return
	}
	clear(c) // drop the strings the rows hold
	q.free = append(q.free, c[:0])
}
