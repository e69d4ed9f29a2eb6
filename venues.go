package main

import (
	"fmt"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/feeds/venue"
)

// newHistorian opens a venue's REST history (fetch, data_sync jobs).
func newHistorian(cfg *config.Config, exchange string) (venue.Historian, error) {
	return nil, fmt.Errorf("exchange %q has no REST history", exchange)
}
