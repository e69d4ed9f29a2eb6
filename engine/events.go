package engine

import (
	"log/slog"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Event is anything the engine publishes on its bus. The concrete types below are the whole set;
// a subscriber switches on them and ignores what it does not know.
type Event interface{ isEvent() }

// CandleEvent carries a candle of one symbol and timeframe. Closed is false for updates of the
// candle that is still open (its values change with every trade) and true once, when it closes.
type CandleEvent struct {
	Candle market.Candle
	Closed bool
}

// TradeEvent carries one trade as the collector received it.
type TradeEvent struct {
	Trade market.Trade
	Late  bool // older than the open candle: stored in raw_trades, not in any candle
}

// LogEvent carries one engine log record (also kept in the engine's log ring).
type LogEvent struct{ Entry LogEntry }

// PauseEvent reports that the simulated exchange was paused or resumed.
type PauseEvent struct{ Paused bool }

// JobEvent reports a job's new state: published by Jobs on every state change (submitted,
// claimed, completed, failed, cancelled, requeued) and, throttled, on progress.
type JobEvent struct{ Job JobView }

func (CandleEvent) isEvent() {}
func (TradeEvent) isEvent()  {}
func (LogEvent) isEvent()    {}
func (PauseEvent) isEvent()  {}
func (JobEvent) isEvent()    {}

// LogEntry is one line of the engine log.
type LogEntry struct {
	Time    time.Time
	Level   slog.Level
	Message string
	Attrs   string // key=value pairs, already formatted
}

// StreamState is the connection state of one feed stream.
type StreamState string

const (
	StateConnecting   StreamState = "connecting"
	StateConnected    StreamState = "connected"
	StateReconnecting StreamState = "reconnecting"
	StateResyncing    StreamState = "resyncing" // the book was dropped and is being rebuilt
	StatePaused       StreamState = "paused"
	StateStopped      StreamState = "stopped"
)

// StreamHealth is the health of one stream (one exchange, symbol and channel).
type StreamHealth struct {
	Exchange    string
	Symbol      market.Symbol
	Channel     string // "trades", "book" or "candles" (venues: the kline stream)
	State       StreamState
	Detail      string        // why the state is what it is: the last reconnect or resync reason, a venue error
	MsgsPerSec  float64       // over the last few seconds
	Messages    int64         // since start
	LastMessage time.Time     // wall time of the last message; zero if none yet
	Age         time.Duration // how long ago LastMessage was, at the time of the snapshot
	Reconnects  int64
	Gaps        int64 // sequence gaps seen
	Resyncs     int64
	Checksums   int64 // book checksum mismatches (OKX)
	Malformed   int64 // frames that could not be parsed, skipped
	Backfilled  int64 // candles fetched to fill holes (history included)
	Late        int64 // trades older than the open candle
}

// Degraded is a span of feed time, [From, To), during which a symbol's data was not whole:
// its trade stream was reconnecting or its book resyncing. To is 0 while it lasts. Candles
// overlapping one are marked in the Market pane (venue klines repair ≥1m candles, sub-minute
// candles keep what arrived).
type Degraded struct {
	From, To int64
	Channel  string // market.ChannelTrades or market.ChannelBook
	Reason   string
}
