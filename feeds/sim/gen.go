package sim

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/tradeconsole/tradeconsole/market"
)

// Event is one output of the simulation: exactly one of Trade and Book is set.
type Event struct {
	Time  int64 // unix ms; equals Trade.Time or Book.Time
	Trade *market.Trade
	Book  *market.BookUpdate
}

// Generator produces the simulated market as fast as it is asked, in time order across all
// symbols: for each symbol one book snapshot at Start, then book deltas every BookInterval and
// trades at the arrival times of a Poisson process whose rate is TradeRate × the symbol's
// activity (see activity.go). It is deterministic in (Seed, Start, TradeRate, BookLevels,
// BookInterval); each symbol's stream depends only on its own name, so adding a symbol does
// not change the others. Not safe for concurrent use.
type Generator struct {
	cfg    Config
	syms   []*symState
	stepUs int64
}

// Microstructure constants. The hidden pressure p is an Ornstein–Uhlenbeck process in
// [−1, 1]. It skews book sizes at once (bids up, asks down when p > 0), tilts the odds of
// buy trades at once, and moves the mid only through a lagged copy q of itself (time
// constant lagTau), so order-book imbalance now predicts the mid a few seconds later.
const (
	pressTau    = 20.0 // s, mean-reversion time of p
	pressSD     = 0.45 // stationary s.d. of p before clamping
	lagTau      = 4.0  // s, lag between pressure and the price it moves
	pressKick   = 0.45 // drift of the mid at q = 1, in units of the per-√s volatility, per second
	residTau    = 90.0 // s, mean-reversion time of the mid towards the slow path
	sizeSkew    = 0.6  // book sizes × (1 ± sizeSkew·p)
	buyTilt     = 0.3  // P(buy) = 0.5 + buyTilt·p
	levelNoise  = 0.7  // σ of log level size around its mean
	levelGrow   = 0.02 // mean level size grows by this fraction per level away from the touch
	widenProb   = 0.1  // chance per book update that the spread is one tick wider than usual
	tradeImpact = 0.3  // ticks the mid moves per touch-size of taker volume
	secPerYear  = 365 * 24 * 3600
)

type symState struct {
	sym      market.Symbol
	par      params
	exchange string
	rng      *rand.Rand
	path     *path
	levels   int
	rate     float64 // Config.TradeRate: trades per second at activity one

	// Activity, each with its own path so that both walk forward in time: tradeAct for
	// trade arrivals (which may run ahead of the book), bookAct for the book's volatility.
	tradeAct, bookAct *activity
	volT              int64   // minute stamp volScale belongs to
	volScale          float64 // √A of that minute: scales the mid's sub-minute moves

	tickScale float64 // 1/tick
	lotScale  float64 // 1/lot
	idPrefix  string

	// hidden state, advanced at every book update
	press, lag, resid float64
	// per-step constants
	pDecay, pNoise, qGain, rDecay, rDrift, rNoise float64
	sizeMu                                        float64
	refresh                                       []float64 // per-level refresh probability per step
	meanLots                                      []float64 // per-level mean size, lots
	touchLots                                     float64
	impactTick                                    float64 // log-price of one tick at the nominal price

	// book: touch ticks and sizes in lots (index 0 = touch) as last published, and the
	// working sizes that trades deplete until the next update publishes them.
	started          bool
	bid, ask         int64
	bids, asks       []int64
	pubBids, pubAsks []int64
	seq              int64

	nextBookUs, nextTradeUs int64
	tradeN                  uint64
}

// NewGenerator validates cfg, fills its defaults and makes a generator positioned at
// cfg.Start.
func NewGenerator(cfg Config) (*Generator, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return newGenerator(cfg), nil
}

func newGenerator(cfg Config) *Generator {
	g := &Generator{cfg: cfg, stepUs: cfg.BookInterval.Microseconds()}
	dt := cfg.BookInterval.Seconds()
	for _, sym := range cfg.Symbols {
		g.syms = append(g.syms, newSymState(cfg, sym, dt, cfg.Start*1000))
	}
	return g
}

func newSymState(cfg Config, sym market.Symbol, dt float64, startUs int64) *symState {
	p := paramsFor(sym)
	n := cfg.BookLevels
	h := symHash(sym)
	s := &symState{
		sym:       sym,
		par:       p,
		exchange:  cfg.Exchange,
		rng:       rand.New(rand.NewPCG(splitmix64(uint64(cfg.Seed)^saltLive), splitmix64(h^uint64(cfg.Start)*golden))),
		path:      newPath(cfg.Seed, sym, p),
		levels:    n,
		rate:      cfg.TradeRate,
		tradeAct:  newActivity(cfg.Seed, sym, p),
		bookAct:   newActivity(cfg.Seed, sym, p),
		tickScale: pow10(p.tickDec),
		lotScale:  pow10(p.lotDec),
		idPrefix:  strconv.FormatInt(cfg.Start, 10) + "-",
		bids:      make([]int64, n),
		asks:      make([]int64, n),
		pubBids:   make([]int64, n),
		pubAsks:   make([]int64, n),
		refresh:   make([]float64, n),
		meanLots:  make([]float64, n),
	}

	// Exact one-step discretisations of the three OU processes over dt.
	sigma := p.vol / math.Sqrt(secPerYear) // path volatility per √s
	s.pDecay = math.Exp(-dt / pressTau)
	s.pNoise = pressSD * math.Sqrt(1-s.pDecay*s.pDecay)
	s.qGain = 1 - math.Exp(-dt/lagTau)
	s.rDecay = math.Exp(-dt / residTau)
	s.rDrift = pressKick * sigma * residTau * (1 - s.rDecay)
	s.rNoise = subMinuteSD * sigma * math.Sqrt(residTau/2*(1-s.rDecay*s.rDecay))

	s.sizeMu = math.Log(p.meanSize) - sizeSigma*sizeSigma/2
	s.touchLots = p.touchSize * s.lotScale
	for i := range n {
		s.meanLots[i] = s.touchLots * (1 + levelGrow*float64(i))
		// Near the touch orders come and go every few hundred ms; deep levels every few s.
		s.refresh[i] = 1 - math.Exp(-dt*(0.5+3*math.Exp(-float64(i)/4)))
	}
	s.impactTick = 1 / (p.price * s.tickScale)

	// The live mid starts at the slow path's last whole-minute close, so it continues
	// the history a client loaded up to Start.
	s.resid = s.path.logAt(market.TF1m.Floor(cfg.Start)) - s.path.logAt(cfg.Start)
	s.press = clamp(pressSD*s.rng.NormFloat64(), -1, 1)
	s.lag = s.press

	s.nextBookUs = startUs
	s.nextTradeUs = s.arrival(startUs)
	return s
}

// Symbols returns the generator's symbols.
func (g *Generator) Symbols() []market.Symbol { return append([]market.Symbol(nil), g.cfg.Symbols...) }

// Next returns the next event in time order. The stream never ends.
func (g *Generator) Next() Event {
	for {
		var s *symState
		var t int64
		book := false
		for _, c := range g.syms {
			ct, cb := c.nextBookUs, true
			if c.nextTradeUs < ct {
				ct, cb = c.nextTradeUs, false
			}
			if s == nil || ct < t {
				s, t, book = c, ct, cb
			}
		}
		if book {
			bu := s.bookUpdate(t / 1000)
			s.nextBookUs += g.stepUs
			return Event{Time: bu.Time, Book: bu}
		}
		if tr := s.trade(t / 1000); tr != nil {
			s.nextTradeUs = s.arrival(s.nextTradeUs)
			return Event{Time: tr.Time, Trade: tr}
		}
		// The touch on the drawn side was taken out since the last book update: the trade
		// waits for the book to refill and happens right after the next update.
		s.nextTradeUs = s.nextBookUs
	}
}

// maxWalk bounds how many minutes arrival steps through one by one (a week); beyond it, at
// absurdly low trade rates, the rest of the wait is taken at the mean rate.
const maxWalk = 7 * 24 * 60

// arrival is the time (µs) of the next trade after the one at fromUs: the next point of a
// Poisson process with rate TradeRate·A(t), found by spending one exponential draw on the
// integrated rate, minute by minute (A is constant over each minute).
func (s *symState) arrival(fromUs int64) int64 {
	e := s.rng.ExpFloat64()
	t := fromUs
	for range maxWalk {
		T := (floorDiv(t, usPerMinute) + 1) * usPerMinute // end of t's minute
		r := s.rate * s.tradeAct.at(T/1000) / 1e6         // per µs
		room := float64(T-t) * r
		if e < room {
			return t + int64(e/r) // < T
		}
		e -= room
		t = T
	}
	return t + int64(min(e/s.rate*1e6, 1e17)) // capped far beyond any usable sim time
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

func (s *symState) price(tick int64) float64 { return float64(tick) / s.tickScale }
func (s *symState) size(lots int64) float64  { return float64(lots) / s.lotScale }

// step advances the hidden processes by one book interval, ending at tms. The mid's
// sub-minute moves, noise and pressure-driven drift alike, scale with √A so that the
// imbalance signal keeps its strength relative to the noise at every level of activity.
func (s *symState) step(tms int64) {
	if T := market.TF1m.End(tms - 1); T != s.volT {
		s.volT, s.volScale = T, math.Sqrt(s.bookAct.at(T))
	}
	s.press = clamp(s.press*s.pDecay+s.pNoise*s.rng.NormFloat64(), -1, 1)
	s.lag += (s.press - s.lag) * s.qGain
	s.resid = s.resid*s.rDecay + s.volScale*(s.rDrift*s.lag+s.rNoise*s.rng.NormFloat64())
}

// freshLots is a new random size for level i of a side (sign +1 bids, −1 asks).
func (s *symState) freshLots(i int, sign float64) int64 {
	x := s.meanLots[i] * (1 + sign*sizeSkew*s.press) * levelNoiseTable[s.rng.Uint64()>>(64-noiseBits)]
	return max(1, int64(math.Round(x)))
}

// levelNoiseTable holds the 2^noiseBits quantiles of a mean-one log-normal with σ levelNoise:
// indexing it with random bits draws from that distribution (tails cut at ±3.8σ) without a
// call to math.Exp per level.
const noiseBits = 12

var levelNoiseTable = func() (t [1 << noiseBits]float64) {
	for i := range t {
		u := (float64(i) + 0.5) / float64(len(t))
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		t[i] = math.Exp(levelNoise*z - levelNoise*levelNoise/2)
	}
	return t
}()

func (s *symState) bookUpdate(tms int64) *market.BookUpdate {
	if s.started {
		s.step(tms)
	}
	mid := math.Exp(s.path.logAt(tms)+s.resid) * s.tickScale // in ticks
	spread := s.par.spread
	if s.rng.Float64() < widenProb {
		spread++
	}
	n := int64(s.levels)
	nb := int64(math.Round(mid - float64(spread)/2))
	nb = max(nb, n) // the deepest bid stays at a positive price
	na := nb + spread

	if s.started {
		shift(s.bids, s.bid-nb)
		shift(s.asks, na-s.ask)
	}
	for i := range s.bids {
		if s.bids[i] <= 0 || s.rng.Float64() < s.refresh[i] {
			s.bids[i] = s.freshLots(i, 1)
		}
		if s.asks[i] <= 0 || s.rng.Float64() < s.refresh[i] {
			s.asks[i] = s.freshLots(i, -1)
		}
	}

	s.seq++
	bu := &market.BookUpdate{Exchange: s.exchange, Symbol: s.sym, Time: tms, Seq: s.seq}
	if !s.started {
		bu.Snapshot = true
		bu.Bids = make([]market.Level, n)
		bu.Asks = make([]market.Level, n)
		for i := range n {
			bu.Bids[i] = market.Level{Price: s.price(nb - i), Size: s.size(s.bids[i])}
			bu.Asks[i] = market.Level{Price: s.price(na + i), Size: s.size(s.asks[i])}
		}
		s.started = true
	} else {
		// Count first so both sides share one exactly-sized allocation.
		nBids := s.diff(nil, s.bid, s.pubBids, nb, s.bids, -1)
		nAsks := s.diff(nil, s.ask, s.pubAsks, na, s.asks, 1)
		levels := make([]market.Level, nBids+nAsks)
		s.diff(levels[:0:nBids], s.bid, s.pubBids, nb, s.bids, -1)
		s.diff(levels[nBids:nBids], s.ask, s.pubAsks, na, s.asks, 1)
		bu.Bids, bu.Asks = levels[:nBids:nBids], levels[nBids:]
	}
	s.bid, s.ask = nb, na
	copy(s.pubBids, s.bids)
	copy(s.pubAsks, s.asks)
	return bu
}

// shift moves a side's sizes (index 0 = touch) k levels towards the touch: new[i] = old[i+k],
// 0 (to be refilled) where there is no old level.
func shift(a []int64, k int64) {
	n := int64(len(a))
	switch {
	case k == 0:
	case k >= n || k <= -n:
		clear(a)
	case k > 0:
		copy(a, a[k:])
		clear(a[n-k:])
	default:
		copy(a[-k:], a[:n+k])
		clear(a[:-k])
	}
}

// diff writes into out the levels that changed between the old side (touch oldTouch, sizes
// old) and the new side, best first, and returns how many there are; with out nil it only
// counts. dir is −1 for bids (prices fall away from the touch), +1 for asks. Levels that left
// the side are deleted with size 0.
func (s *symState) diff(out []market.Level, oldTouch int64, old []int64, newTouch int64, cur []int64, dir int64) int {
	n := int64(len(cur))
	// Work in "distance from the better of the two touches" so bids and asks share the code:
	// position x is the price tick best + dir·x.
	best := oldTouch
	if (newTouch-oldTouch)*dir < 0 {
		best = newTouch
	}
	oOff, nOff := (oldTouch-best)*dir, (newTouch-best)*dir // ≥ 0
	end := max(oOff, nOff) + n
	count := 0
	for x := int64(0); x < end; {
		inOld := x >= oOff && x < oOff+n
		inNew := x >= nOff && x < nOff+n
		if !inOld && !inNew { // gap between two disjoint ranges
			x = max(oOff, nOff)
			continue
		}
		var o, c int64
		if inOld {
			o = old[x-oOff]
		}
		if inNew {
			c = cur[x-nOff]
		}
		if o != c {
			if out != nil {
				out = append(out, market.Level{Price: s.price(best + dir*x), Size: s.size(c)})
			}
			count++
		}
		x++
	}
	return count
}

func (s *symState) trade(tms int64) *market.Trade {
	side := market.Sell
	if s.rng.Float64() < 0.5+buyTilt*s.press {
		side = market.Buy
	}
	touch, tick := s.bids, s.bid
	if side == market.Buy {
		touch, tick = s.asks, s.ask
	}
	if touch[0] <= 0 {
		return nil
	}
	lots := max(1, int64(math.Round(math.Exp(s.sizeMu+sizeSigma*s.rng.NormFloat64())*s.lotScale)))
	if lots >= touch[0] {
		lots = touch[0] // takes out the level; the book moves on at the next update
		s.resid += float64(side) * s.impactTick
	}
	touch[0] -= lots
	s.resid += float64(side) * tradeImpact * s.impactTick * float64(lots) / s.touchLots
	s.tradeN++
	return &market.Trade{
		Exchange: s.exchange,
		Symbol:   s.sym,
		ID:       s.idPrefix + strconv.FormatUint(s.tradeN, 10),
		Time:     tms,
		Price:    s.price(tick),
		Size:     s.size(lots),
		Side:     side,
	}
}
