package engine

import (
	"context"
	"sync"
	"sync/atomic"
)

// Bus is a typed publish/subscribe broker. Publish never blocks: each subscriber has a buffered
// channel, and when a subscriber is too slow to keep up its newest messages are dropped and
// counted rather than holding up the producer. Whatever must not be lost goes through the
// storage writer, never through the bus.
type Bus[T any] struct {
	mu     sync.RWMutex
	subs   map[*subscription[T]]struct{}
	closed bool
	buf    int
}

type subscription[T any] struct {
	ch      chan T
	dropped atomic.Int64
}

// NewBus makes a bus whose subscribers each buffer up to buf messages.
func NewBus[T any](buf int) *Bus[T] {
	if buf < 1 {
		buf = 1
	}
	return &Bus[T]{subs: make(map[*subscription[T]]struct{}), buf: buf}
}

// Subscribe returns a channel of messages published from now on. The channel is closed when
// ctx is done or the bus is closed; the subscriber's owner cancels ctx to stop it.
func (b *Bus[T]) Subscribe(ctx context.Context) <-chan T {
	s := &subscription[T]{ch: make(chan T, b.buf)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() { b.unsubscribe(s) })
	return s.ch
}

func (b *Bus[T]) unsubscribe(s *subscription[T]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Publish delivers v to every subscriber that has room and returns how many dropped it.
func (b *Bus[T]) Publish(v T) (dropped int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.ch <- v:
		default:
			s.dropped.Add(1)
			dropped++
		}
	}
	return dropped
}

// Subscribers is the number of live subscriptions.
func (b *Bus[T]) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}

// Close closes every subscription; later Subscribe calls get a closed channel.
func (b *Bus[T]) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}
