package storage

import (
	"encoding/json"
	"errors"

	"github.com/govalues/decimal"
)

// Bots (migration 3): the bots table and each bot's signals, executions (trades), open
// position and performance snapshots. Money and quantities are stored as decimal text, so a
// ledger read back is exactly the ledger written.

// BotStatus is a bot's stored status.
type BotStatus string

const (
	BotStopped BotStatus = "stopped"
	BotRunning BotStatus = "running"
	BotPaused  BotStatus = "paused"
	BotFailed  BotStatus = "failed"
)

// Bot sources.
const (
	BotFromConfig  = "config"  // config.yaml bots:
	BotFromFile    = "file"    // a JSON file in bots_dir
	BotFromConsole = "console" // created in the console
)

// ErrBotExists is returned by CreateBot when the name is taken.
var ErrBotExists = errors.New("a bot with this name exists")

// ErrBotNotFound is returned for an unknown bot id.
var ErrBotNotFound = errors.New("no such bot")

// ErrBotRunning is returned by UpdateBotSpec and DeleteBot for a bot that is running or paused.
var ErrBotRunning = errors.New("bot is running; stop it first")

// Bot is one row of the bots table. Times are unix ms, 0 when unset.
type Bot struct {
	ID          int64
	Name        string
	Source      string          // config | file | console
	Spec        json.RawMessage // engine.BotSpec as JSON
	Status      BotStatus
	Reason      string          // why failed or stopped; "" otherwise
	State       json.RawMessage // the runner's ledger state (JSON); nil until the first step
	LastCandle  int64           // stamp of the last candle the runner committed a step for
	HeartbeatAt int64           // wall clock
	StartedAt   int64           // engine clock of the last start; 0 when stopped
	CreatedAt   int64
	UpdatedAt   int64
}

// BotSignal is one row of signals.
type BotSignal struct {
	ID         int64
	BotID      int64
	Time       int64 // unix ms: the candle's stamp (or the order-flow snapshot's time)
	Action     string
	Direction  string
	Confidence string
	Value      float64
	Note       string // why it was not acted on (paused, risk), or ""
}

// BotFill is one row of trades: one virtual execution. Seq numbers a bot's executions from 1;
// (bot_id, seq) is unique, so writing an execution twice stores it once.
type BotFill struct {
	BotID    int64
	Seq      int64
	Time     int64  // unix ms
	Side     string // buy | sell
	Price    decimal.Decimal
	Quantity decimal.Decimal
	Notional decimal.Decimal
	Fee      decimal.Decimal
	Entry    bool
	Reason   string
	// On exits (Entry false), the closed position: its side (long | short), entry and net P&L.
	PositionSide string
	EntryTime    int64
	EntryPrice   decimal.Decimal
	PnL          decimal.Decimal // net of both fees
	Fees         decimal.Decimal // entry fee + exit fee
}

// BotPosition is one row of positions: a bot's open position (at most one per bot).
type BotPosition struct {
	BotID         int64
	Side          string // long | short
	Quantity      decimal.Decimal
	EntryPrice    decimal.Decimal
	EntryNotional decimal.Decimal
	EntryFee      decimal.Decimal
	EntryTime     int64
	TakeProfit    decimal.Decimal // zero when off
	StopLoss      decimal.Decimal // zero when off
	Deadline      int64           // 0 when off
}

// BotStep is what a runner commits after a candle (or an order-flow snapshot, or a stop): one
// transaction, so a crash leaves either all of it or none.
type BotStep struct {
	BotID      int64
	LastCandle int64           // stored in bots.last_candle when > 0
	State      json.RawMessage // stored in bots.state when non-nil
	Signals    []BotSignal
	Fills      []BotFill
	// Position replaces the bot's open position; ClearPosition deletes it. Neither: unchanged.
	Position      *BotPosition
	ClearPosition bool
}

// BotPerf is one row of bot_performance. (bot_id, timestamp) is unique: a second snapshot at
// the same time replaces the first.
type BotPerf struct {
	BotID         int64
	Time          int64 // unix ms (engine clock)
	Equity        float64
	Cash          float64
	PositionValue float64
	Realized      float64
	Unrealized    float64
}

// BotBeat is one heartbeat (BotHeartbeats).
type BotBeat struct {
	BotID int64
	At    int64 // wall clock, unix ms
}
