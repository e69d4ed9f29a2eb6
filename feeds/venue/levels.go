package venue

import (
	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/market"
)

// AppendLevels appends the book levels of v, an array of [price, size, …] arrays (fields after
// the first two are ignored), to dst, reading each price and size with num (the venue's own
// number rules: Bybit takes strings only, Binance strings or numbers). It reports false unless
// v is such an array whose every price is positive and every size non-negative; dst may then
// hold some of v's levels (it is scratch to reuse, not a result).
func AppendLevels(dst []market.Level, v *fastjson.Value, num func(*fastjson.Value) (float64, bool)) ([]market.Level, bool) {
	if v == nil || v.Type() != fastjson.TypeArray {
		return dst, false
	}
	arr, _ := v.Array()
	for _, e := range arr {
		if e.Type() != fastjson.TypeArray {
			return dst, false
		}
		pair, _ := e.Array()
		if len(pair) < 2 {
			return dst, false
		}
		p, ok1 := num(pair[0])
		q, ok2 := num(pair[1])
		if !ok1 || !ok2 || p <= 0 || q < 0 {
			return dst, false
		}
		dst = append(dst, market.Level{Price: p, Size: q})
	}
	return dst, true
}
