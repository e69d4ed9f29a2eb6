package engine

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/tradeconsole/tradeconsole/internal/ring"
)

// logRing keeps the newest engine log entries for the UI and publishes each one on the bus.
type logRing struct {
	mu  sync.Mutex
	r   *ring.Ring[LogEntry]
	bus *Bus[Event]
}

func newLogRing(n int, bus *Bus[Event]) *logRing { return &logRing{r: ring.New[LogEntry](n), bus: bus} }

func (l *logRing) add(e LogEntry) {
	l.mu.Lock()
	l.r.Push(e)
	l.mu.Unlock()
	l.bus.Publish(LogEvent{Entry: e})
}

func (l *logRing) last(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Tail(n)
}

// teeHandler sends every record to the configured handler and to the log ring.
type teeHandler struct {
	next   slog.Handler
	ring   *logRing
	attrs  []slog.Attr
	groups []string
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		var b strings.Builder
		write := func(a slog.Attr) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			for _, g := range h.groups {
				b.WriteString(g)
				b.WriteByte('.')
			}
			b.WriteString(a.Key)
			b.WriteByte('=')
			b.WriteString(a.Value.String())
		}
		for _, a := range h.attrs {
			write(a)
		}
		r.Attrs(func(a slog.Attr) bool { write(a); return true })
		h.ring.add(LogEntry{Time: r.Time, Level: r.Level, Message: r.Message, Attrs: b.String()})
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.groups = append(append([]string(nil), h.groups...), name)
	c.next = h.next.WithGroup(name)
	return &c
}
