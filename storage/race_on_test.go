//go:build race

package storage

// raceEnabled: the race detector instruments modernc's transpiled SQLite too, which makes
// it about 25 times slower; the largest tests scale down under -race.
const raceEnabled = true
