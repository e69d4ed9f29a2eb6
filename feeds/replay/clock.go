package replay

import "github.com/tradeconsole/tradeconsole/internal/clock"

// Clock is the wall clock the feed paces itself against. Tests inject a fake one
// (clock.Fake).
type Clock = clock.Clock

// Timer is the part of *time.Timer the feed uses.
type Timer = clock.Timer

// SystemClock is the real wall clock (the default Config.Clock).
func SystemClock() Clock { return clock.System() }
