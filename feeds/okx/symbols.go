package okx

import (
	"fmt"
	"strings"

	"github.com/tradeconsole/tradeconsole/market"
)

// quotes are the quote currencies a config symbol may end with, longest first where one is
// a suffix of another (USDT before USD).
var quotes = []string{"FDUSD", "USDT", "USDC", "USDG", "USD", "EUR", "TRY", "BRL", "AUD", "SGD", "AED",
	"BTC", "ETH", "OKB", "DAI"}

// instID maps a config symbol to the venue's instId: BTCUSDT → BTC-USDT (SPOT) or
// BTC-USDT-SWAP (SWAP); Config.InstIDs overrides.
func (f *Feed) instID(sym market.Symbol) (string, error) {
	if id, ok := f.inst[sym]; ok {
		return id, nil
	}
	if id, ok := f.cfg.InstIDs[sym]; ok {
		return id, nil
	}
	return InstID(sym, f.cfg.InstType)
}

// InstID maps a symbol written as config writes it to OKX's instId for instType ("SPOT" or
// "SWAP"), splitting off a known quote currency.
func InstID(sym market.Symbol, instType string) (string, error) {
	s := string(sym)
	for _, q := range quotes {
		if len(s) > len(q) && strings.HasSuffix(s, q) {
			id := s[:len(s)-len(q)] + "-" + q
			if instType == "SWAP" {
				id += "-SWAP"
			}
			return id, nil
		}
	}
	return "", fmt.Errorf("%s: no known quote currency (%s); set Config.InstIDs for it", sym, strings.Join(quotes, " "))
}
