package venue

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter spaces requests evenly to at most N per Per (a venue's REST rate limit), shared by
// every caller of one REST host.
type Limiter struct {
	mu   sync.Mutex
	gap  time.Duration
	next time.Time
}

// NewLimiter allows n requests per per; n ≤ 0 is no limit.
func NewLimiter(n int, per time.Duration) *Limiter {
	if n <= 0 {
		return &Limiter{}
	}
	return &Limiter{gap: per / time.Duration(n)}
}

// Wait blocks until a request may go, or ctx is done.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.gap == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.gap)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		if !sleepCtx(ctx, d) {
			return ctx.Err()
		}
	}
	return nil
}

// Backoff pushes the next request at least d into the future (a 429's Retry-After).
func (l *Limiter) Backoff(d time.Duration) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if t := time.Now().Add(d); t.After(l.next) {
		l.next = t
	}
	l.mu.Unlock()
}

// REST is a venue's REST host: GET with a rate limit, retries on 429/418/5xx honouring
// Retry-After, and a body-size cap.
type REST struct {
	Name    string // "bybit": prefixes errors
	Base    string // https://api.bybit.com
	Client  *http.Client
	Limiter *Limiter
	Header  http.Header
	// Retries on throttling and server errors; default 4.
	Retries int
}

// HTTPError is a non-2xx answer, with the body the venue sent (venues put their error
// message there).
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Get fetches base+path?query. A 4xx other than 429/418 is returned at once as *HTTPError
// with the venue's body; throttling and 5xx are retried with backoff.
func (r *REST) Get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	retries := r.Retries
	if retries == 0 {
		retries = 4
	}
	u := strings.TrimRight(r.Base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if err := r.Limiter.Wait(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		for k, vs := range r.Header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("%s: GET %s: %w", r.Name, path, err)
			if !sleepCtx(ctx, DefaultBackoff.Delay(attempt)) {
				return nil, ctx.Err()
			}
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if err != nil {
			last = fmt.Errorf("%s: GET %s: read body: %w", r.Name, path, err)
			continue
		}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return body, nil
		case resp.StatusCode == 429 || resp.StatusCode == 418 || resp.StatusCode >= 500:
			wait := DefaultBackoff.Delay(attempt)
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			r.Limiter.Backoff(wait)
			last = fmt.Errorf("%s: GET %s: %w", r.Name, path, &HTTPError{Status: resp.StatusCode, Body: Clip(body)})
			if !sleepCtx(ctx, wait) {
				return nil, ctx.Err()
			}
		default:
			return body, &HTTPError{Status: resp.StatusCode, Body: Clip(body)}
		}
	}
	return nil, last
}

// Dedupe remembers the last n keys it was shown (trade ids per symbol), so that trades seen on
// two connections during a handover, or re-sent after a reconnect, are forwarded once.
type Dedupe struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	i    int
}

// NewDedupe keeps n keys.
func NewDedupe(n int) *Dedupe {
	return &Dedupe{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Seen reports whether key was seen among the last n keys, and remembers it.
func (d *Dedupe) Seen(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[key]; ok {
		return true
	}
	if old := d.ring[d.i]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.i] = key
	d.set[key] = struct{}{}
	d.i = (d.i + 1) % len(d.ring)
	return false
}
