package engine

import (
	"context"
	"testing"
)

func TestBusSlowSubscriberNeverBlocksPublisher(t *testing.T) {
	b := NewBus[int](4)
	ctx, cancel := context.WithCancel(context.Background())
	slow := b.Subscribe(ctx) // never read
	fast := b.Subscribe(ctx)
	got := make(chan int, 100)
	go func() {
		for v := range fast {
			got <- v
		}
		close(got)
	}()
	dropped := 0
	for i := 0; i < 10; i++ {
		dropped += b.Publish(i)
	}
	if dropped < 6 {
		t.Fatalf("the slow subscriber should have dropped at least 6 of 10, dropped %d", dropped)
	}
	if len(slow) != 4 {
		t.Fatalf("slow subscriber holds %d, want its buffer of 4", len(slow))
	}
	cancel()
	// both channels close once ctx is done
	for range slow {
	}
	n := 0
	for range got {
		n++
	}
	if n == 0 {
		t.Fatal("fast subscriber got nothing")
	}
	if b.Subscribers() != 0 {
		t.Fatalf("%d subscribers left after cancel", b.Subscribers())
	}
}

func TestBusCloseClosesSubscriptions(t *testing.T) {
	b := NewBus[string](1)
	ch := b.Subscribe(context.Background())
	b.Close()
	if _, ok := <-ch; ok {
		t.Fatal("channel open after Close")
	}
	if _, ok := <-b.Subscribe(context.Background()); ok {
		t.Fatal("subscribe after Close gave an open channel")
	}
	b.Publish("x") // no panic
}
