package sim

import (
	"math"

	"github.com/tradeconsole/tradeconsole/market"
)

// params are the market parameters of one simulated instrument.
type params struct {
	price     float64 // nominal price level the slow path wanders around
	tickDec   int     // tick size = 10^-tickDec
	lotDec    int     // size step = 10^-lotDec
	vol       float64 // annualised volatility of the slow path
	meanSize  float64 // mean trade size, base units
	touchSize float64 // mean book size at the touch, base units
	spread    int64   // usual spread in ticks
}

// known are realistic parameters for the usual symbols; any other symbol gets parameters
// derived from its name (derive).
var known = map[market.Symbol]params{
	"BTCUSDT": {price: 65000, tickDec: 1, lotDec: 4, vol: 0.55, meanSize: 0.05, touchSize: 1.2, spread: 1},
	"ETHUSDT": {price: 3400, tickDec: 2, lotDec: 3, vol: 0.65, meanSize: 0.8, touchSize: 20, spread: 1},
	"SOLUSDT": {price: 150, tickDec: 2, lotDec: 2, vol: 0.85, meanSize: 12, touchSize: 300, spread: 1},
}

func paramsFor(sym market.Symbol) params {
	if p, ok := known[sym]; ok {
		return p
	}
	return derive(sym)
}

// derive makes plausible parameters from a symbol's name alone, the same on every run:
// a price between 1 and 500, a tick of 0.01 (0.001 under 20), a volatility of 60–120%, and
// trade and book sizes worth a few thousand dollars.
func derive(sym market.Symbol) params {
	h := symHash(sym)
	u := func(i uint64) float64 { return unit(splitmix64(h ^ (i * golden))) }

	price := math.Exp(u(1) * math.Log(500)) // log-uniform in [1, 500)
	price = roundSig(price, 3)
	tickDec := 2
	if price < 20 {
		tickDec = 3
	}
	notional := 500 + 2500*u(2)
	meanSize := notional / price
	lotDec := int(math.Ceil(-math.Log10(meanSize))) + 2
	lotDec = max(0, min(lotDec, 8))
	return params{
		price:     price,
		tickDec:   tickDec,
		lotDec:    lotDec,
		vol:       0.6 + 0.6*u(3),
		meanSize:  meanSize,
		touchSize: meanSize * (15 + 25*u(4)),
		spread:    1,
	}
}

func roundSig(x float64, digits int) float64 {
	if x <= 0 {
		return x
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(x)))
	return math.Round(x*p) / p
}

// pow10 is 10^n for the small n used as tick and lot decimals.
func pow10(n int) float64 { return math.Pow(10, float64(n)) }

const golden = 0x9E3779B97F4A7C15

// splitmix64 is the SplitMix64 finaliser: a strong 64-bit mixing function used as
// counter-based randomness.
func splitmix64(x uint64) uint64 {
	x += golden
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// symHash is FNV-1a of the symbol, mixed.
func symHash(sym market.Symbol) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(sym); i++ {
		h ^= uint64(sym[i])
		h *= 1099511628211
	}
	return splitmix64(h)
}

// unit maps 64 random bits to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }
