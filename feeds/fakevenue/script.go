// Package fakevenue serves Bybit, OKX and Binance market data on loopback, in each venue's
// exact wire format, from a deterministic script: the adapters' tests (and benchmarks) run
// against it instead of the internet.
//
// The shared core is here: a Script (trades, book deltas with sequence ids, and the klines the
// trades make), a Book that keeps the venue's price strings, and a Player that walks the script
// and hands each event to the connections subscribed to it, with scripted faults: dropped
// connections (with the script time lost while down), sequence gaps, bad checksums, stalls and
// rejected subscriptions. bybit.go, okx.go and binance.go encode it per venue.
package fakevenue

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradeconsole/tradeconsole/market"
)

// Level is one book level as the venue writes it.
type Level struct{ Price, Size string }

// Trade is one scripted trade.
type Trade struct {
	Symbol      market.Symbol
	ID          int64
	Time        int64
	Price, Size string
	Side        market.Side // taker side
}

// BookDelta is one scripted book change: the levels set (size "0" deletes) and the update id
// after it. Ids of one symbol are contiguous: each delta is the previous Seq + 1.
type BookDelta struct {
	Symbol     market.Symbol
	Time       int64
	Seq        int64
	Bids, Asks []Level
}

// Event is one step of a script: exactly one of Trade, Book, Kline is set. A Kline event
// comes at the first event time at or after its candle's end: the venue's push of the closed
// bar.
type Event struct {
	Time  int64
	Trade *Trade
	Book  *BookDelta
	Kline *market.Candle
}

// ScriptConfig shapes a generated script. Zero values take the defaults noted.
type ScriptConfig struct {
	Exchange     string          // the exchange name stamped on klines; default "fake"
	Symbols      []market.Symbol // default BTCUSDT
	Start        int64           // unix ms, floored to the minute; default 2026-01-01
	Duration     time.Duration   // default 10m
	TradesPerSec float64         // per symbol; default 4
	BooksPerSec  float64         // per symbol; default 10
	Levels       int             // book levels a side; default 50
	Seed         uint64
}

// Script is a generated market: events in time order, and the initial books.
type Script struct {
	Config  ScriptConfig
	Events  []Event
	Initial map[market.Symbol]*Book // the books before the first event (Seq = FirstSeq-1)
	klines  map[market.Symbol][]market.Candle
	trades  map[market.Symbol][]Trade
	deltas  map[market.Symbol]int // book deltas per symbol
}

// FirstSeq is the update id of every symbol's first delta.
const FirstSeq = 1_000_001

var basePrice = map[market.Symbol]float64{"BTCUSDT": 60000, "ETHUSDT": 3000}

// Generate makes a deterministic script.
func Generate(cfg ScriptConfig) *Script {
	if cfg.Exchange == "" {
		cfg.Exchange = "fake"
	}
	if len(cfg.Symbols) == 0 {
		cfg.Symbols = []market.Symbol{"BTCUSDT"}
	}
	if cfg.Start == 0 {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	cfg.Start = market.TF1m.Floor(cfg.Start)
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.TradesPerSec <= 0 {
		cfg.TradesPerSec = 4
	}
	if cfg.BooksPerSec <= 0 {
		cfg.BooksPerSec = 10
	}
	if cfg.Levels <= 0 {
		cfg.Levels = 50
	}
	s := &Script{Config: cfg, Initial: map[market.Symbol]*Book{}, klines: map[market.Symbol][]market.Candle{},
		trades: map[market.Symbol][]Trade{}, deltas: map[market.Symbol]int{}}
	end := cfg.Start + cfg.Duration.Milliseconds()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7ade))
	var evs []Event
	for si, sym := range cfg.Symbols {
		base := basePrice[sym]
		if base == 0 {
			base = 100 * float64(si+1)
		}
		tick := base / 100000 // 0.6 for BTC, 0.03 for ETH: 1 decimal place at most… rounded below
		tick = math.Pow(10, math.Floor(math.Log10(tick)))
		dec := max(0, -int(math.Floor(math.Log10(tick)+1e-9)))
		mid := math.Round(base/tick) * tick
		book := NewBook()
		for k := 1; k <= cfg.Levels; k++ {
			book.Set(true, fmtF(mid-float64(k)*tick, dec), fmtF(0.1+rng.Float64()*3, 4))
			book.Set(false, fmtF(mid+float64(k)*tick, dec), fmtF(0.1+rng.Float64()*3, 4))
		}
		book.Seq = FirstSeq - 1
		s.Initial[sym] = book.Clone()
		// Book deltas: resize levels near the top, now and then delete one and add one further out
		// (never crossing: bids stay below mid, asks above).
		seq := int64(FirstSeq)
		dt := 1000 / cfg.BooksPerSec
		for t := float64(cfg.Start) + rng.Float64()*dt; int64(t) < end; t += dt * (0.5 + rng.Float64()) {
			d := &BookDelta{Symbol: sym, Time: int64(t), Seq: seq}
			seq++
			for n := 1 + rng.IntN(3); n > 0; n-- {
				bid := rng.IntN(2) == 0
				k := 1 + rng.IntN(min(10, cfg.Levels))
				price := mid - float64(k)*tick
				if !bid {
					price = mid + float64(k)*tick
				}
				size := fmtF(0.1+rng.Float64()*3, 4)
				if rng.IntN(8) == 0 {
					size = "0"
				}
				lv := Level{fmtF(price, dec), size}
				if bid {
					d.Bids = append(d.Bids, lv)
				} else {
					d.Asks = append(d.Asks, lv)
				}
			}
			book.Apply(d)
			evs = append(evs, Event{Time: d.Time, Book: d})
			s.deltas[sym]++
		}
		// Trades: a random walk of prices on the tick grid around mid.
		px := mid
		id := int64(5_000_000 * (si + 1))
		dt = 1000 / cfg.TradesPerSec
		for t := float64(cfg.Start) + rng.Float64()*dt; int64(t) < end; t += dt * (0.2 + 1.6*rng.Float64()) {
			px += float64(rng.IntN(5)-2) * tick
			side := market.Buy
			if rng.IntN(2) == 0 {
				side = market.Sell
			}
			id++
			tr := Trade{Symbol: sym, ID: id, Time: int64(t), Price: fmtF(px, dec), Size: fmtF(0.001+rng.Float64()*0.5, 4), Side: side}
			s.trades[sym] = append(s.trades[sym], tr)
			evs = append(evs, Event{Time: tr.Time, Trade: &tr})
		}
		s.klines[sym] = klinesOf(cfg.Exchange, sym, s.trades[sym], cfg.Start, end)
	}
	// Kline pushes at their candle's end; stable sort keeps each symbol's order.
	for _, sym := range cfg.Symbols {
		for i := range s.klines[sym] {
			k := s.klines[sym][i]
			evs = append(evs, Event{Time: k.Time, Kline: &k})
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int {
		if a.Time != b.Time {
			return int(a.Time - b.Time)
		}
		return kindOrder(a) - kindOrder(b)
	})
	s.Events = evs
	return s
}

// kindOrder puts a kline before the trades of the same millisecond (a trade at T belongs to
// the next candle).
func kindOrder(e Event) int {
	if e.Kline != nil {
		return 0
	}
	return 1
}

func fmtF(v float64, dec int) string { return strconv.FormatFloat(v, 'f', dec, 64) }

// klinesOf builds the right-aligned 1m candles of trades over [start, end): what the venue's
// klines say. Minutes without trades are flat at the previous close.
func klinesOf(exchange string, sym market.Symbol, trades []Trade, start, end int64) []market.Candle {
	var out []market.Candle
	i := 0
	prev := 0.0
	for t := start + 60_000; t <= end; t += 60_000 {
		c := market.Candle{Exchange: exchange, Symbol: sym, Timeframe: market.TF1m, Time: t}
		for ; i < len(trades) && trades[i].Time < t; i++ {
			p, _ := strconv.ParseFloat(trades[i].Price, 64)
			q, _ := strconv.ParseFloat(trades[i].Size, 64)
			if c.Trades == 0 {
				c.Open, c.High, c.Low = p, p, p
			}
			c.High, c.Low, c.Close = max(c.High, p), min(c.Low, p), p
			c.Volume += q
			c.Trades++
		}
		if c.Trades == 0 {
			c.Open, c.High, c.Low, c.Close = prev, prev, prev, prev
		}
		c.Volume = roundVol(c.Volume)
		prev = c.Close
		out = append(out, c)
	}
	return out
}

// roundVol keeps a volume to 8 decimals, as the venues print it.
func roundVol(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 8, 64), 64)
	return f
}

// End is the script's last millisecond (exclusive).
func (s *Script) End() int64 { return s.Config.Start + s.Config.Duration.Milliseconds() }

// Klines are the closed 1m candles of sym over the whole script.
func (s *Script) Klines(sym market.Symbol) []market.Candle { return slices.Clip(s.klines[sym]) }

// Trades are the trades of sym.
func (s *Script) Trades(sym market.Symbol) []Trade { return slices.Clip(s.trades[sym]) }

// KlinesAt are the 1m candles of sym as the venue would answer at script time now: the closed
// ones (end ≤ now) and the still-open bar, its values so far (open=false for it).
func (s *Script) KlinesAt(sym market.Symbol, now int64) (closed []market.Candle, open market.Candle, hasOpen bool) {
	ks := s.klines[sym]
	n, _ := slices.BinarySearchFunc(ks, now+1, func(c market.Candle, t int64) int { return int(c.Time - t) })
	closed = ks[:n:n] // a caller's append must not write into the script
	if n < len(ks) {
		end := ks[n].Time
		part := klinesOf(s.Config.Exchange, sym, tradesIn(s.trades[sym], end-60_000, now+1), end-60_000, end)
		if len(part) == 1 && part[0].Trades > 0 {
			open, hasOpen = part[0], true
		}
	}
	return closed, open, hasOpen
}

// tradesIn are the trades with times in [from, to).
func tradesIn(ts []Trade, from, to int64) []Trade {
	cmp := func(x Trade, t int64) int { return int(x.Time - t) }
	i, _ := slices.BinarySearchFunc(ts, from, cmp)
	j, _ := slices.BinarySearchFunc(ts, to, cmp)
	return ts[i:max(i, j)]
}

// Interval aggregates closed 1m klines into tf candles (tf a multiple of 1m); only whole
// buckets are returned.
func Interval(ks []market.Candle, tf market.Timeframe) []market.Candle {
	if tf == market.TF1m {
		return slices.Clip(ks)
	}
	var out []market.Candle
	per := int(tf / market.TF1m)
	for i := 0; i < len(ks); {
		end := tf.End(ks[i].Time - 60_000)
		j := i
		for j < len(ks) && ks[j].Time <= end {
			j++
		}
		if j-i == per {
			c := ks[i]
			c.Timeframe, c.Time = tf, end
			for _, k := range ks[i+1 : j] {
				c.High, c.Low, c.Close = max(c.High, k.High), min(c.Low, k.Low), k.Close
				c.Volume += k.Volume
				c.Trades += k.Trades
			}
			c.Volume = roundVol(c.Volume)
			out = append(out, c)
		}
		i = j
	}
	return out
}

// Book is an L2 book that keeps the venue's strings (OKX checksums hash them).
type Book struct {
	Seq  int64
	bids map[string]string
	asks map[string]string
}

// NewBook makes an empty book.
func NewBook() *Book { return &Book{bids: map[string]string{}, asks: map[string]string{}} }

// Set sets (size "0": deletes) one level.
func (b *Book) Set(bid bool, price, size string) {
	m := b.asks
	if bid {
		m = b.bids
	}
	if f, err := strconv.ParseFloat(size, 64); err == nil && f == 0 {
		delete(m, price)
		return
	}
	m[price] = size
}

// Apply applies a delta and takes its Seq.
func (b *Book) Apply(d *BookDelta) {
	for _, l := range d.Bids {
		b.Set(true, l.Price, l.Size)
	}
	for _, l := range d.Asks {
		b.Set(false, l.Price, l.Size)
	}
	b.Seq = d.Seq
}

// Clone copies the book.
func (b *Book) Clone() *Book {
	c := &Book{Seq: b.Seq, bids: make(map[string]string, len(b.bids)), asks: make(map[string]string, len(b.asks))}
	for k, v := range b.bids {
		c.bids[k] = v
	}
	for k, v := range b.asks {
		c.asks[k] = v
	}
	return c
}

// Bids are the best n bids (all when n ≤ 0), highest first.
func (b *Book) Bids(n int) []Level { return top(b.bids, n, true) }

// Asks are the best n asks (all when n ≤ 0), lowest first.
func (b *Book) Asks(n int) []Level { return top(b.asks, n, false) }

func top(m map[string]string, n int, desc bool) []Level {
	// Each price is parsed once (the OKX checksum asks for the top 25 on every delta).
	type keyed struct {
		px float64
		l  Level
	}
	ks := make([]keyed, 0, len(m))
	for p, s := range m {
		f, _ := strconv.ParseFloat(p, 64)
		ks = append(ks, keyed{f, Level{p, s}})
	}
	slices.SortFunc(ks, func(x, y keyed) int {
		if c := bestFirst(x.px, y.px, desc); c != 0 {
			return c
		}
		return strings.Compare(x.l.Price, y.l.Price) // the same value written two ways: any fixed order
	})
	if n > 0 && len(ks) > n {
		ks = ks[:n]
	}
	out := make([]Level, len(ks))
	for i, k := range ks {
		out[i] = k.l
	}
	return out
}

// sortLevels orders levels best first by the value of their prices, in place and stably (bids:
// high to low, asks: low to high), and returns them.
func sortLevels(ls []Level, bids bool) []Level {
	slices.SortStableFunc(ls, func(x, y Level) int {
		a, _ := strconv.ParseFloat(x.Price, 64)
		c, _ := strconv.ParseFloat(y.Price, 64)
		return bestFirst(a, c, bids)
	})
	return ls
}

// bestFirst orders two prices of a side best first: bids high to low, asks low to high.
func bestFirst(a, b float64, bids bool) int {
	if bids {
		return cmp.Compare(b, a)
	}
	return cmp.Compare(a, b)
}

// String describes the script for test logs.
func (s *Script) String() string {
	return fmt.Sprintf("script %v %s from %s: %d events", s.Config.Symbols, s.Config.Duration,
		time.UnixMilli(s.Config.Start).UTC().Format(time.RFC3339), len(s.Events))
}
