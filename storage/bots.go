package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govalues/decimal"
)

// Bots (migration 3). The types are in bots_types.go.
//
// Like job state changes, every bot write is one direct BEGIN IMMEDIATE transaction on the
// writer connection (see jobs.go). Creating, editing and deleting a bot and changing its
// status are rare and must not be lost: they run in durableTx (synchronous=FULL). A runner's
// steps, heartbeats and performance snapshots are frequent: they run in writeTx, at the
// database's synchronous=NORMAL. In WAL mode a commit at NORMAL survives a process crash; a
// power loss may lose the last few, and a runner then repeats them from its last stored
// candle (executions are idempotent on (bot_id, seq)).

// writeTx runs fn in one BEGIN IMMEDIATE transaction on the writer connection (the DSN's
// _txlock), at the database's synchronous=NORMAL. fn's error rolls back.
func (db *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Valid reports whether s is one of the four stored statuses.
func (s BotStatus) Valid() bool {
	return s == BotStopped || s == BotRunning || s == BotPaused || s == BotFailed
}

// active reports whether a bot in status s may not be edited or deleted.
func (s BotStatus) active() bool { return s == BotRunning || s == BotPaused }

func validBotSource(s string) bool {
	return s == BotFromConfig || s == BotFromFile || s == BotFromConsole
}

const botCols = `id, name, source, spec, status, reason, state, last_candle, heartbeat_at, started_at, created_at, updated_at`

func scanBot(r rowScanner) (Bot, error) {
	var (
		b      Bot
		spec   []byte
		state  []byte // nil for NULL
		status string
	)
	if err := r.Scan(&b.ID, &b.Name, &b.Source, &spec, &status, &b.Reason, &state, &b.LastCandle,
		&b.HeartbeatAt, &b.StartedAt, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return Bot{}, err
	}
	b.Status = BotStatus(status)
	b.Spec = spec
	if state != nil {
		b.State = state
	}
	return b, nil
}

// CreateBot stores a new, stopped bot. source is BotFromConfig, BotFromFile or
// BotFromConsole; spec must be JSON. A taken name gives an error matching ErrBotExists.
func (db *DB) CreateBot(ctx context.Context, name, source string, spec []byte) (Bot, error) {
	if strings.TrimSpace(name) == "" {
		return Bot{}, errors.New("storage: create bot: empty name")
	}
	if !validBotSource(source) {
		return Bot{}, fmt.Errorf("storage: create bot %q: source %q is not config, file or console", name, source)
	}
	if !json.Valid(spec) {
		return Bot{}, fmt.Errorf("storage: create bot %q: spec is not valid JSON: %.80q", name, spec)
	}
	var b Bot
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM bots WHERE name = ?)`, name).Scan(&taken); err != nil {
			return err
		}
		if taken != 0 {
			return ErrBotExists
		}
		now := nowMillis()
		var err error
		b, err = scanBot(tx.QueryRowContext(ctx, `INSERT INTO bots(name, source, spec, status, created_at, updated_at)
			VALUES (?, ?, ?, 'stopped', ?, ?) RETURNING `+botCols, name, source, string(spec), now, now))
		return err
	})
	if err != nil {
		return Bot{}, fmt.Errorf("storage: create bot %q: %w", name, err)
	}
	return b, nil
}

// GetBot returns the bot with the given id, or an error wrapping ErrBotNotFound.
func (db *DB) GetBot(ctx context.Context, id int64) (Bot, error) {
	b, err := scanBot(db.r.QueryRowContext(ctx, `SELECT `+botCols+` FROM bots WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Bot{}, fmt.Errorf("storage: bot %d: %w", id, ErrBotNotFound)
	case err != nil:
		return Bot{}, fmt.Errorf("storage: bot %d: %w", id, err)
	}
	return b, nil
}

// BotByName returns the bot with the given name; ok is false when there is none.
func (db *DB) BotByName(ctx context.Context, name string) (b Bot, ok bool, err error) {
	b, err = scanBot(db.r.QueryRowContext(ctx, `SELECT `+botCols+` FROM bots WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Bot{}, false, nil
	case err != nil:
		return Bot{}, false, fmt.Errorf("storage: bot %q: %w", name, err)
	}
	return b, true, nil
}

// ListBots returns every bot, by id.
func (db *DB) ListBots(ctx context.Context) ([]Bot, error) {
	out, err := queryAll(ctx, db.r, scanBot, `SELECT `+botCols+` FROM bots ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("storage: list bots: %w", err)
	}
	return out, nil
}

// lockedBot reads a bot inside a write transaction, for a change only a stopped or failed bot
// allows: ErrBotNotFound or ErrBotRunning (both wrapped with the bot) otherwise.
func lockedBot(ctx context.Context, tx *sql.Tx, id int64) (Bot, error) {
	b, err := scanBot(tx.QueryRowContext(ctx, `SELECT `+botCols+` FROM bots WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Bot{}, ErrBotNotFound
	case err != nil:
		return Bot{}, err
	case b.Status.active():
		return Bot{}, fmt.Errorf("%s is %s: %w", b.Name, b.Status, ErrBotRunning)
	}
	return b, nil
}

// UpdateBotSpec replaces a stopped or failed bot's spec (JSON) and returns the bot. A running
// or paused bot gives an error matching ErrBotRunning, an unknown id ErrBotNotFound.
func (db *DB) UpdateBotSpec(ctx context.Context, id int64, spec []byte) (Bot, error) {
	if !json.Valid(spec) {
		return Bot{}, fmt.Errorf("storage: update bot %d: spec is not valid JSON: %.80q", id, spec)
	}
	var b Bot
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		if _, err := lockedBot(ctx, tx, id); err != nil {
			return err
		}
		var err error
		b, err = scanBot(tx.QueryRowContext(ctx, `UPDATE bots SET spec = ?, updated_at = ? WHERE id = ? RETURNING `+botCols,
			string(spec), nowMillis(), id))
		return err
	})
	if err != nil {
		return Bot{}, fmt.Errorf("storage: update bot %d: %w", id, err)
	}
	return b, nil
}

// DeleteBot deletes a stopped or failed bot with its signals, trades, position and
// performance snapshots. A running or paused bot gives an error matching ErrBotRunning, an
// unknown id ErrBotNotFound.
func (db *DB) DeleteBot(ctx context.Context, id int64) error {
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		if _, err := lockedBot(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM bots WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: delete bot %d: %w", id, err)
	}
	return nil
}

// SetBotStatus sets a bot's status, reason and started_at (engine clock of the start; 0 when
// stopped) in a durable transaction, and returns the bot. Any transition is allowed: the
// runner decides.
func (db *DB) SetBotStatus(ctx context.Context, id int64, status BotStatus, reason string, startedAt int64) (Bot, error) {
	if !status.Valid() {
		return Bot{}, fmt.Errorf("storage: set status of bot %d: invalid status %q", id, status)
	}
	var b Bot
	err := db.durableTx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = scanBot(tx.QueryRowContext(ctx, `UPDATE bots SET status = ?, reason = ?, started_at = ?, updated_at = ?
			WHERE id = ? RETURNING `+botCols, string(status), reason, startedAt, nowMillis(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBotNotFound
		}
		return err
	})
	if err != nil {
		return Bot{}, fmt.Errorf("storage: set status of bot %d to %s: %w", id, status, err)
	}
	return b, nil
}

// check validates a step before anything is written.
func (s *BotStep) check() error {
	if s.BotID <= 0 {
		return fmt.Errorf("invalid bot id %d", s.BotID)
	}
	if s.State != nil && !json.Valid(s.State) {
		return fmt.Errorf("state is not valid JSON: %.80q", s.State)
	}
	for i := range s.Signals {
		if g := &s.Signals[i]; g.Action == "" || g.Direction == "" || g.Confidence == "" || !finite(g.Value) {
			return fmt.Errorf("signal %d: empty field or non-finite value: %+v", i, *g)
		}
	}
	for i := range s.Fills {
		f := &s.Fills[i]
		switch {
		case f.Side != "buy" && f.Side != "sell":
			return fmt.Errorf("fill %d (seq %d): side %q is not buy or sell", i, f.Seq, f.Side)
		case f.Seq < 1:
			return fmt.Errorf("fill %d: seq %d is not ≥ 1", i, f.Seq)
		case !f.Entry && f.PositionSide != "long" && f.PositionSide != "short":
			return fmt.Errorf("fill %d (seq %d): exit with position side %q, not long or short", i, f.Seq, f.PositionSide)
		}
	}
	if s.Position != nil {
		if s.ClearPosition {
			return errors.New("both Position and ClearPosition are set")
		}
		if p := s.Position; p.Side != "long" && p.Side != "short" {
			return fmt.Errorf("position side %q is not long or short", p.Side)
		}
	}
	return nil
}

// SaveBotStep commits what a runner did for one candle in one transaction: bots.last_candle
// (when > 0), bots.state (when non-nil), the signals, the executions (one already stored
// under its (bot, seq) is left as it is, so a repeated step stores nothing twice) and the
// open position (replaced when s.Position is set, deleted when s.ClearPosition). The BotID of
// the signals, fills and position is s.BotID, whatever they hold. Invalid input, or any
// failure, writes nothing. An unknown bot gives ErrBotNotFound.
func (db *DB) SaveBotStep(ctx context.Context, s BotStep) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("storage: save step of bot %d: %w", s.BotID, err)
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var state any // NULL: keep
		if s.State != nil {
			state = string(s.State)
		}
		res, err := tx.ExecContext(ctx, `UPDATE bots SET
			last_candle = CASE WHEN ?1 > 0 THEN ?1 ELSE last_candle END,
			state = COALESCE(?2, state)
			WHERE id = ?3`, s.LastCandle, state, s.BotID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrBotNotFound
		}
		if len(s.Signals) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO signals(bot_id, timestamp, action, direction, confidence, value, note)
				VALUES (?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range s.Signals {
				g := &s.Signals[i]
				if _, err := st.ExecContext(ctx, s.BotID, g.Time, g.Action, g.Direction, g.Confidence, g.Value, g.Note); err != nil {
					return fmt.Errorf("signal %d: %w", i, err)
				}
			}
		}
		if len(s.Fills) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO trades(bot_id, seq, timestamp, side, price, quantity, notional, fee,
				entry, reason, position_side, entry_time, entry_price, pnl, fees)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (bot_id, seq) DO NOTHING`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range s.Fills {
				f := &s.Fills[i]
				var posSide, entryTime, entryPrice, pnl, fees any // NULL on entries
				if !f.Entry {
					posSide, entryTime, entryPrice = f.PositionSide, f.EntryTime, f.EntryPrice.String()
					pnl, fees = f.PnL.String(), f.Fees.String()
				}
				if _, err := st.ExecContext(ctx, s.BotID, f.Seq, f.Time, f.Side, f.Price.String(), f.Quantity.String(),
					f.Notional.String(), f.Fee.String(), f.Entry, f.Reason, posSide, entryTime, entryPrice, pnl, fees); err != nil {
					return fmt.Errorf("fill seq %d: %w", f.Seq, err)
				}
			}
		}
		switch {
		case s.Position != nil:
			p := s.Position
			if _, err := tx.ExecContext(ctx, `INSERT INTO positions(bot_id, side, quantity, entry_price, entry_notional,
				entry_fee, entry_time, take_profit, stop_loss, deadline, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (bot_id) DO UPDATE SET side = excluded.side, quantity = excluded.quantity,
					entry_price = excluded.entry_price, entry_notional = excluded.entry_notional,
					entry_fee = excluded.entry_fee, entry_time = excluded.entry_time,
					take_profit = excluded.take_profit, stop_loss = excluded.stop_loss,
					deadline = excluded.deadline, updated_at = excluded.updated_at`,
				s.BotID, p.Side, p.Quantity.String(), p.EntryPrice.String(), p.EntryNotional.String(),
				p.EntryFee.String(), p.EntryTime, decOrNull(p.TakeProfit), decOrNull(p.StopLoss),
				intOrNull(p.Deadline), nowMillis()); err != nil {
				return fmt.Errorf("position: %w", err)
			}
		case s.ClearPosition:
			if _, err := tx.ExecContext(ctx, `DELETE FROM positions WHERE bot_id = ?`, s.BotID); err != nil {
				return fmt.Errorf("clear position: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: save step of bot %d: %w", s.BotID, err)
	}
	return nil
}

// decOrNull is d's text, or NULL for zero (an option that is off).
func decOrNull(d decimal.Decimal) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func intOrNull(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// BotHeartbeats stores heartbeats in one transaction. A beat for a bot that no longer exists
// is ignored.
func (db *DB) BotHeartbeats(ctx context.Context, beats []BotBeat) error {
	if len(beats) == 0 {
		return nil
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE bots SET heartbeat_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, b := range beats {
			if _, err := st.ExecContext(ctx, b.At, b.BotID); err != nil {
				return fmt.Errorf("bot %d: %w", b.BotID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: bot heartbeats: %w", err)
	}
	return nil
}

// SaveBotPerformance stores performance snapshots in one transaction; a snapshot of a bot at
// a time already stored replaces it. Non-finite values are refused (nothing is written).
func (db *DB) SaveBotPerformance(ctx context.Context, rows []BotPerf) error {
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		r := &rows[i]
		if !finite(r.Equity) || !finite(r.Cash) || !finite(r.PositionValue) || !finite(r.Realized) || !finite(r.Unrealized) {
			return fmt.Errorf("storage: save bot performance: row %d (bot %d at %d): non-finite value: %+v", i, r.BotID, r.Time, *r)
		}
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO bot_performance(bot_id, timestamp, equity, cash, position_value, realized, unrealized)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (bot_id, timestamp) DO UPDATE SET equity = excluded.equity, cash = excluded.cash,
				position_value = excluded.position_value, realized = excluded.realized, unrealized = excluded.unrealized`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range rows {
			r := &rows[i]
			if _, err := st.ExecContext(ctx, r.BotID, r.Time, r.Equity, r.Cash, r.PositionValue, r.Realized, r.Unrealized); err != nil {
				return fmt.Errorf("bot %d at %d: %w", r.BotID, r.Time, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: save bot performance: %w", err)
	}
	return nil
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// sqlLimit maps limit ≤ 0 (all) to SQLite's -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// decCol is one stored decimal column of a row: its text, and where it goes once parsed.
type decCol struct {
	col string
	v   sql.NullString
	dst *decimal.Decimal
}

// decParser collects the decimal columns of one row and parses them after the Scan.
type decParser struct {
	table string
	botID int64
	cols  []decCol
}

// col returns a Scan destination for column name, whose value lands in dst at parse time.
// p.cols must have the capacity for every column (the returned pointer points into it).
func (p *decParser) col(name string, dst *decimal.Decimal) *sql.NullString {
	p.cols = append(p.cols, decCol{col: name, dst: dst})
	return &p.cols[len(p.cols)-1].v
}

// parse parses the scanned columns into their destinations; NULL or empty text is zero.
func (p *decParser) parse() error {
	for i := range p.cols {
		c := &p.cols[i]
		if !c.v.Valid || c.v.String == "" {
			*c.dst = decimal.Decimal{}
			continue
		}
		d, err := decimal.Parse(c.v.String)
		if err != nil {
			return fmt.Errorf("%s.%s of bot %d: stored value %q is not a decimal: %w", p.table, c.col, p.botID, c.v.String, err)
		}
		*c.dst = d
	}
	return nil
}

const signalCols = `id, bot_id, timestamp, action, direction, confidence, value, note`

func scanSignal(r rowScanner) (BotSignal, error) {
	var s BotSignal
	err := r.Scan(&s.ID, &s.BotID, &s.Time, &s.Action, &s.Direction, &s.Confidence, &s.Value, &s.Note)
	return s, err
}

// BotSignals returns up to limit (≤ 0: all) of a bot's signals, newest first.
func (db *DB) BotSignals(ctx context.Context, botID int64, limit int) ([]BotSignal, error) {
	out, err := queryAll(ctx, db.r, scanSignal,
		`SELECT `+signalCols+` FROM signals WHERE bot_id = ? ORDER BY id DESC LIMIT ?`, botID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("storage: signals of bot %d: %w", botID, err)
	}
	return out, nil
}

const fillCols = `bot_id, seq, timestamp, side, price, quantity, notional, fee, entry, reason,
	position_side, entry_time, entry_price, pnl, fees`

func scanFill(r rowScanner) (BotFill, error) {
	var (
		f         BotFill
		posSide   sql.NullString
		entryTime sql.NullInt64
	)
	p := decParser{table: "trades", cols: make([]decCol, 0, 7)}
	if err := r.Scan(&f.BotID, &f.Seq, &f.Time, &f.Side, p.col("price", &f.Price), p.col("quantity", &f.Quantity),
		p.col("notional", &f.Notional), p.col("fee", &f.Fee), &f.Entry, &f.Reason,
		&posSide, &entryTime, p.col("entry_price", &f.EntryPrice), p.col("pnl", &f.PnL), p.col("fees", &f.Fees)); err != nil {
		return BotFill{}, err
	}
	p.botID = f.BotID
	if err := p.parse(); err != nil {
		return BotFill{}, fmt.Errorf("seq %d: %w", f.Seq, err)
	}
	f.PositionSide, f.EntryTime = posSide.String, entryTime.Int64
	return f, nil
}

// BotFills returns up to limit (≤ 0: all) executions, newest first: a bot's by seq, or with
// botID 0 every bot's, by time and then by insertion.
func (db *DB) BotFills(ctx context.Context, botID int64, limit int) ([]BotFill, error) {
	var (
		out []BotFill
		err error
	)
	if botID == 0 {
		out, err = queryAll(ctx, db.r, scanFill,
			`SELECT `+fillCols+` FROM trades ORDER BY timestamp DESC, id DESC LIMIT ?`, sqlLimit(limit))
	} else {
		out, err = queryAll(ctx, db.r, scanFill,
			`SELECT `+fillCols+` FROM trades WHERE bot_id = ? ORDER BY seq DESC LIMIT ?`, botID, sqlLimit(limit))
	}
	if err != nil {
		if botID == 0 {
			return nil, fmt.Errorf("storage: bot executions: %w", err)
		}
		return nil, fmt.Errorf("storage: executions of bot %d: %w", botID, err)
	}
	return out, nil
}

// BotMaxSeq returns the highest execution seq stored for a bot, 0 when it has none.
func (db *DB) BotMaxSeq(ctx context.Context, botID int64) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM trades WHERE bot_id = ?`, botID).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: last execution of bot %d: %w", botID, err)
	}
	return n, nil
}

const positionCols = `bot_id, side, quantity, entry_price, entry_notional, entry_fee, entry_time, take_profit, stop_loss, deadline`

func scanPosition(r rowScanner) (BotPosition, error) {
	var (
		b        BotPosition
		deadline sql.NullInt64
	)
	p := decParser{table: "positions", cols: make([]decCol, 0, 6)}
	if err := r.Scan(&b.BotID, &b.Side, p.col("quantity", &b.Quantity), p.col("entry_price", &b.EntryPrice),
		p.col("entry_notional", &b.EntryNotional), p.col("entry_fee", &b.EntryFee), &b.EntryTime,
		p.col("take_profit", &b.TakeProfit), p.col("stop_loss", &b.StopLoss), &deadline); err != nil {
		return BotPosition{}, err
	}
	p.botID = b.BotID
	if err := p.parse(); err != nil {
		return BotPosition{}, err
	}
	b.Deadline = deadline.Int64
	return b, nil
}

// BotPositions returns every open position, by bot id.
func (db *DB) BotPositions(ctx context.Context) ([]BotPosition, error) {
	out, err := queryAll(ctx, db.r, scanPosition, `SELECT `+positionCols+` FROM positions ORDER BY bot_id`)
	if err != nil {
		return nil, fmt.Errorf("storage: bot positions: %w", err)
	}
	return out, nil
}

// BotPosition returns a bot's open position; ok is false when it is flat.
func (db *DB) BotPosition(ctx context.Context, botID int64) (p BotPosition, ok bool, err error) {
	p, err = scanPosition(db.r.QueryRowContext(ctx, `SELECT `+positionCols+` FROM positions WHERE bot_id = ?`, botID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return BotPosition{}, false, nil
	case err != nil:
		return BotPosition{}, false, fmt.Errorf("storage: position of bot %d: %w", botID, err)
	}
	return p, true, nil
}

func scanPerf(r rowScanner) (BotPerf, error) {
	var p BotPerf
	err := r.Scan(&p.BotID, &p.Time, &p.Equity, &p.Cash, &p.PositionValue, &p.Realized, &p.Unrealized)
	return p, err
}

// BotPerformance returns a bot's newest limit (≤ 0: all) performance snapshots, oldest first.
func (db *DB) BotPerformance(ctx context.Context, botID int64, limit int) ([]BotPerf, error) {
	out, err := queryAll(ctx, db.r, scanPerf, `SELECT bot_id, timestamp, equity, cash, position_value, realized, unrealized
		FROM bot_performance WHERE bot_id = ? ORDER BY timestamp DESC LIMIT ?`, botID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("storage: performance of bot %d: %w", botID, err)
	}
	slices.Reverse(out)
	return out, nil
}

// BookPerformance returns the whole book's performance: for each snapshot time, the sums of
// the snapshots of the bots taken then (BotID 0). The newest limit (≤ 0: all) times, oldest
// first.
func (db *DB) BookPerformance(ctx context.Context, limit int) ([]BotPerf, error) {
	out, err := queryAll(ctx, db.r, scanPerf, `SELECT 0, timestamp, SUM(equity), SUM(cash), SUM(position_value),
		SUM(realized), SUM(unrealized) FROM bot_performance GROUP BY timestamp ORDER BY timestamp DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("storage: book performance: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// IntegrityCheck runs PRAGMA integrity_check: nil when SQLite answers "ok", otherwise an
// error with its answer.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	lines, err := queryAll(ctx, db.r, func(r rowScanner) (string, error) {
		var s string
		err := r.Scan(&s)
		return s, err
	}, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("storage: integrity check of %s: %w", db.path, err)
	}
	if len(lines) == 1 && lines[0] == "ok" {
		return nil
	}
	return fmt.Errorf("storage: integrity check of %s failed: %s", db.path, strings.Join(lines, "; "))
}
