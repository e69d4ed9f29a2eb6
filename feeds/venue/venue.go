// Package venue is what the real-exchange adapters (feeds/bybit, feeds/okx, feeds/binance)
// share: a WebSocket stream runner (reconnect with exponential backoff and jitter, a silence
// watchdog, keep-alive pings, rate-limited sends, planned handover to a new connection), a
// rate-limited REST client, a trade de-duplicator and the Emitter that hands normalised data
// and health events to the engine's sink. It imports only market, gorilla/websocket and fastjson.
package venue

import (
	"context"
	"log/slog"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Names are the real exchanges (feeds/bybit, feeds/okx, feeds/binance) in the order the
// configuration, fetch and the console's data_sync form list them. Adding a venue starts here.
func Names() []string { return []string{"bybit", "okx", "binance"} }

// Historian is a venue's REST market history.
type Historian interface {
	// Klines fetches the closed candles of tf with right-aligned stamps in (from, to], oldest
	// first, paging as the venue requires. page is called with each batch (ascending, no
	// duplicates across batches) as soon as it is fetched, so a caller can store as it goes;
	// an error from page stops the fetch with it. Unknown symbols and venue errors come back
	// as errors that carry the venue's own message.
	Klines(ctx context.Context, sym market.Symbol, tf market.Timeframe, from, to int64, page func([]market.Candle) error) error
	// Instrument fetches a symbol's trading rules; an unknown symbol is an error naming it.
	Instrument(ctx context.Context, sym market.Symbol) (market.Instrument, error)
	// Timeframes lists the kline intervals the venue serves.
	Timeframes() []market.Timeframe
}

// Emitter hands a feed's output to the engine's sink: trades and books always, closed klines
// and stream events when the sink takes them. It is safe for concurrent use.
type Emitter struct {
	Exchange string
	Sink     market.Sink
	Log      *slog.Logger
	Now      func() int64 // the feed clock, unix ms

	candles market.CandleSink
	streams market.StreamSink
}

// NewEmitter wraps sink. log may be nil; now may be nil (wall clock).
func NewEmitter(exchange string, sink market.Sink, log *slog.Logger, now func() int64) *Emitter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = func() int64 { return time.Now().UnixMilli() }
	}
	e := &Emitter{Exchange: exchange, Sink: sink, Log: log, Now: now}
	e.candles, _ = sink.(market.CandleSink)
	e.streams, _ = sink.(market.StreamSink)
	return e
}

// Trade forwards a trade.
func (e *Emitter) Trade(t market.Trade) { e.Sink.OnTrade(t) }

// Book forwards a book update.
func (e *Emitter) Book(b market.BookUpdate) { e.Sink.OnBook(b) }

// Candle forwards a closed venue kline (live: backfilled false).
func (e *Emitter) Candle(c market.Candle, backfilled bool) {
	if e.candles != nil {
		e.candles.OnCandle(c, backfilled)
	}
}

// ConnState reports a connection's state (StreamConfig.State) for what that connection carries:
// each of syms (nil: every symbol of the feed) on each of channels (nil: every channel). A
// connection that carries only candles (OKX's business socket) must not mark the books another
// connection serves as reconnecting: the engine drops a book that is.
func (e *Emitter) ConnState(k StateKind, syms []market.Symbol, channels []string, detail string) {
	var kind market.StreamKind
	switch k {
	case StateConnecting:
		kind = market.StreamConnecting
	case StateConnected:
		kind = market.StreamConnected
	case StateReconnecting:
		kind = market.StreamReconnecting
	default:
		return
	}
	if syms == nil {
		syms = []market.Symbol{""}
	}
	if channels == nil {
		channels = []string{""}
	}
	for _, s := range syms {
		for _, ch := range channels {
			e.Event(kind, s, ch, detail)
		}
	}
}

// Event reports a stream event; malformed frames and venue errors are logged too.
func (e *Emitter) Event(kind market.StreamKind, sym market.Symbol, channel, detail string) {
	switch kind {
	case market.StreamMalformed:
		e.Log.Warn("malformed frame skipped", "exchange", e.Exchange, "symbol", sym, "channel", channel, "detail", detail)
	case market.StreamError:
		e.Log.Error("venue error", "exchange", e.Exchange, "symbol", sym, "channel", channel, "detail", detail)
	case market.StreamGap, market.StreamChecksum, market.StreamResyncing, market.StreamReconnecting:
		e.Log.Warn("stream "+kind.String(), "exchange", e.Exchange, "symbol", sym, "channel", channel, "detail", detail)
	}
	if e.streams != nil {
		e.streams.OnStream(market.StreamEvent{Kind: kind, Exchange: e.Exchange, Symbol: sym, Channel: channel,
			Time: e.Now(), Detail: detail})
	}
}

// Clip shortens a frame for a log line or an event detail.
func Clip(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
