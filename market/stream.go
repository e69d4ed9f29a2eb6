package market

// Venue feeds (Bybit, OKX, Binance) report more than trades and books: the venue's own closed
// klines, which are the authoritative candles of a real market, and the health of every
// stream. A sink that wants them implements CandleSink and StreamSink; feeds type-assert.

// CandleSink receives closed venue klines, already converted to right-aligned stamps
// (Candle.Time = open time + timeframe). Backfilled is true for candles fetched over REST to
// fill a hole (at start, after a reconnect, or when a kline push never came).
type CandleSink interface {
	OnCandle(c Candle, backfilled bool)
}

// StreamSink receives stream health events.
type StreamSink interface {
	OnStream(StreamEvent)
}

// StreamKind is what happened to a stream.
type StreamKind uint8

const (
	StreamConnecting   StreamKind = iota + 1 // dialing, the first time
	StreamConnected                          // subscribed and acknowledged: data flows
	StreamReconnecting                       // the connection was lost or is being replaced; Detail says why
	StreamResyncing                          // the book was dropped and is being rebuilt; Detail says why
	StreamSynced                             // the book is whole again (a snapshot was applied)
	StreamGap                                // a sequence gap was seen (a resync follows)
	StreamChecksum                           // a book checksum mismatch was seen (a resync follows)
	StreamMalformed                          // a frame could not be parsed and was skipped; Detail holds it
	StreamError                              // a venue error (rejected subscription, REST error); Detail holds the venue's message
)

var streamKindNames = [...]string{"", "connecting", "connected", "reconnecting", "resyncing", "synced",
	"gap", "checksum", "malformed", "error"}

func (k StreamKind) String() string {
	if int(k) < len(streamKindNames) {
		return streamKindNames[k]
	}
	return "unknown"
}

// Channels of a symbol's market data, as StreamEvent.Channel names them.
const (
	ChannelTrades  = "trades"
	ChannelBook    = "book"
	ChannelCandles = "candles"
)

// StreamEvent is one health event of one stream. An empty Symbol means every symbol on the
// connection; an empty Channel means every channel of the connection.
type StreamEvent struct {
	Kind     StreamKind
	Exchange string
	Symbol   Symbol
	Channel  string
	Time     int64  // unix ms UTC (the feed's clock)
	Detail   string // a human reason: "seq gap: prevSeqId 15, have 12", the venue's error message, …
}

// Instrument is a venue's trading rules for one symbol.
type Instrument struct {
	Exchange string
	Symbol   Symbol
	Venue    string  // the venue's own spelling: BTC-USDT, BTCUSDT
	TickSize float64 // price step
	LotSize  float64 // size step
	MinSize  float64 // smallest order size
	Trading  bool    // the venue lists it as tradeable
}
