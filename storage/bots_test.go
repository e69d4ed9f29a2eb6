package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/govalues/decimal"
)

func mustCreateBot(t *testing.T, db *DB, name string) Bot {
	t.Helper()
	b, err := db.CreateBot(ctxT(t), name, BotFromConsole, []byte(`{"strategy":"sma_cross","symbol":"BTCUSDT"}`))
	if err != nil {
		t.Fatalf("CreateBot(%q): %v", name, err)
	}
	return b
}

func mustSetStatus(t *testing.T, db *DB, id int64, s BotStatus) Bot {
	t.Helper()
	b, err := db.SetBotStatus(ctxT(t), id, s, "", 0)
	if err != nil {
		t.Fatalf("SetBotStatus(%d, %s): %v", id, s, err)
	}
	return b
}

func mustStep(t *testing.T, db *DB, s BotStep) {
	t.Helper()
	if err := db.SaveBotStep(ctxT(t), s); err != nil {
		t.Fatalf("SaveBotStep: %v", err)
	}
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

// countRows counts the rows of table (a constant in these tests) with bot_id = id.
func countRows(t *testing.T, db *DB, table string, id int64) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(ctxT(t), `SELECT COUNT(*) FROM `+table+` WHERE bot_id = ?`, id).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func entryFill(seq, at int64) BotFill {
	return BotFill{
		Seq: seq, Time: at, Side: "buy", Price: dec("50123.45678901"), Quantity: dec("0.199501557631"),
		Notional: dec("9999.63924318"), Fee: dec("9.99963924"), Entry: true, Reason: "signal",
	}
}

func exitFill(seq, at, entryAt int64) BotFill {
	return BotFill{
		Seq: seq, Time: at, Side: "sell", Price: dec("50500.10"), Quantity: dec("0.199501557631"),
		Notional: dec("10074.84773797"), Fee: dec("10.07484774"), Entry: false, Reason: "take_profit",
		PositionSide: "long", EntryTime: entryAt, EntryPrice: dec("50123.45678901"),
		PnL: dec("55.13400781"), Fees: dec("20.07448698"),
	}
}

func TestBotCreateGetList(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")
	if a.ID == 0 || a.Name != "alpha" || a.Source != BotFromConsole || a.Status != BotStopped ||
		a.Reason != "" || a.State != nil || a.LastCandle != 0 || a.HeartbeatAt != 0 || a.StartedAt != 0 ||
		a.CreatedAt == 0 || a.UpdatedAt != a.CreatedAt || string(a.Spec) != `{"strategy":"sma_cross","symbol":"BTCUSDT"}` {
		t.Fatalf("CreateBot = %+v", a)
	}
	b, err := db.CreateBot(ctx, "beta", BotFromFile, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetBot(ctx, a.ID); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("GetBot = %+v, %v\nwant %+v", got, err, a)
	}
	if _, err := db.GetBot(ctx, 999); !errors.Is(err, ErrBotNotFound) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("GetBot(999): %v", err)
	}
	if got, ok, err := db.BotByName(ctx, "beta"); err != nil || !ok || !reflect.DeepEqual(got, b) {
		t.Fatalf("BotByName(beta) = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := db.BotByName(ctx, "gamma"); err != nil || ok {
		t.Fatalf("BotByName(gamma) = %v, %v", ok, err)
	}
	list, err := db.ListBots(ctx)
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], a) || !reflect.DeepEqual(list[1], b) {
		t.Fatalf("ListBots = %+v, %v", list, err)
	}

	// A taken name is ErrBotExists, naming the bot; nothing is stored.
	_, err = db.CreateBot(ctx, "alpha", BotFromConfig, []byte(`{}`))
	if !errors.Is(err, ErrBotExists) || !strings.Contains(err.Error(), `"alpha"`) {
		t.Fatalf("duplicate name: %v", err)
	}
	// Bad input.
	for _, c := range []struct{ name, source, spec, want string }{
		{"", BotFromConsole, `{}`, "empty name"},
		{"  ", BotFromConsole, `{}`, "empty name"},
		{"x", "web", `{}`, "source"},
		{"x", BotFromConsole, `{`, "JSON"},
		{"x", BotFromConsole, ``, "JSON"},
	} {
		if _, err := db.CreateBot(ctx, c.name, c.source, []byte(c.spec)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CreateBot(%q, %q, %q) = %v, want an error about %s", c.name, c.source, c.spec, err, c.want)
		}
	}
	if list, _ := db.ListBots(ctx); len(list) != 2 {
		t.Fatalf("%d bots stored, want 2", len(list))
	}
}

func TestBotStatusAndSpec(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")

	r, err := db.SetBotStatus(ctx, a.ID, BotRunning, "", 1704067260000)
	if err != nil || r.Status != BotRunning || r.StartedAt != 1704067260000 || r.UpdatedAt < a.UpdatedAt {
		t.Fatalf("SetBotStatus(running) = %+v, %v", r, err)
	}
	if _, err := db.SetBotStatus(ctx, a.ID, "sleeping", "", 0); err == nil {
		t.Fatal("SetBotStatus accepted an invalid status")
	}
	if _, err := db.SetBotStatus(ctx, 999, BotStopped, "", 0); !errors.Is(err, ErrBotNotFound) {
		t.Fatalf("SetBotStatus(999): %v", err)
	}

	// Refused while running or paused, spec unchanged.
	for _, s := range []BotStatus{BotRunning, BotPaused} {
		mustSetStatus(t, db, a.ID, s)
		_, err := db.UpdateBotSpec(ctx, a.ID, []byte(`{"v":2}`))
		if !errors.Is(err, ErrBotRunning) || !strings.Contains(err.Error(), "alpha") {
			t.Fatalf("UpdateBotSpec while %s: %v", s, err)
		}
	}
	if got, _ := db.GetBot(ctx, a.ID); string(got.Spec) != string(a.Spec) {
		t.Fatalf("spec changed while running: %s", got.Spec)
	}

	// Allowed when stopped or failed.
	f, err := db.SetBotStatus(ctx, a.ID, BotFailed, "exchange gone", 0)
	if err != nil || f.Status != BotFailed || f.Reason != "exchange gone" || f.StartedAt != 0 {
		t.Fatalf("SetBotStatus(failed) = %+v, %v", f, err)
	}
	u, err := db.UpdateBotSpec(ctx, a.ID, []byte(`{"v":3}`))
	if err != nil || string(u.Spec) != `{"v":3}` || u.UpdatedAt < f.UpdatedAt || u.Status != BotFailed {
		t.Fatalf("UpdateBotSpec when failed = %+v, %v", u, err)
	}
	mustSetStatus(t, db, a.ID, BotStopped)
	u, err = db.UpdateBotSpec(ctx, a.ID, []byte(`{"v":4}`))
	if err != nil || string(u.Spec) != `{"v":4}` {
		t.Fatalf("UpdateBotSpec when stopped = %+v, %v", u, err)
	}
	if got, _ := db.GetBot(ctx, a.ID); !reflect.DeepEqual(got, u) {
		t.Fatalf("GetBot = %+v, want %+v", got, u)
	}
	if _, err := db.UpdateBotSpec(ctx, a.ID, []byte(`nope`)); err == nil {
		t.Fatal("UpdateBotSpec accepted invalid JSON")
	}
	if _, err := db.UpdateBotSpec(ctx, 999, []byte(`{}`)); !errors.Is(err, ErrBotNotFound) {
		t.Fatalf("UpdateBotSpec(999): %v", err)
	}
}

func TestBotDeleteCascades(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")
	keep := mustCreateBot(t, db, "keep")
	for _, b := range []Bot{a, keep} {
		mustStep(t, db, BotStep{
			BotID: b.ID, LastCandle: base, State: json.RawMessage(`{"cash":"10000"}`),
			Signals:  []BotSignal{{Time: base, Action: "enter_long", Direction: "long", Confidence: "high", Value: 0.9}},
			Fills:    []BotFill{entryFill(1, base)},
			Position: &BotPosition{Side: "long", Quantity: dec("0.199501557631"), EntryPrice: dec("50123.45678901"), EntryTime: base},
		})
		if err := db.SaveBotPerformance(ctx, []BotPerf{{BotID: b.ID, Time: base, Equity: 10000, Cash: 0, PositionValue: 10000}}); err != nil {
			t.Fatal(err)
		}
	}
	children := []string{"signals", "trades", "positions", "bot_performance"}
	for _, tb := range children {
		if n := countRows(t, db, tb, a.ID); n != 1 {
			t.Fatalf("%s of alpha: %d rows before delete, want 1", tb, n)
		}
	}

	mustSetStatus(t, db, a.ID, BotRunning)
	if err := db.DeleteBot(ctx, a.ID); !errors.Is(err, ErrBotRunning) {
		t.Fatalf("DeleteBot while running: %v", err)
	}
	mustSetStatus(t, db, a.ID, BotPaused)
	if err := db.DeleteBot(ctx, a.ID); !errors.Is(err, ErrBotRunning) {
		t.Fatalf("DeleteBot while paused: %v", err)
	}
	if _, err := db.GetBot(ctx, a.ID); err != nil {
		t.Fatalf("bot gone after a refused delete: %v", err)
	}

	mustSetStatus(t, db, a.ID, BotStopped)
	if err := db.DeleteBot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetBot(ctx, a.ID); !errors.Is(err, ErrBotNotFound) {
		t.Fatalf("GetBot after delete: %v", err)
	}
	for _, tb := range children {
		if n := countRows(t, db, tb, a.ID); n != 0 {
			t.Errorf("%s of deleted bot: %d rows left", tb, n)
		}
		if n := countRows(t, db, tb, keep.ID); n != 1 {
			t.Errorf("%s of the other bot: %d rows, want 1", tb, n)
		}
	}
	if err := db.DeleteBot(ctx, a.ID); !errors.Is(err, ErrBotNotFound) {
		t.Fatalf("DeleteBot twice: %v", err)
	}
	// A failed bot can be deleted too; its name is then free again.
	mustSetStatus(t, db, keep.ID, BotFailed)
	if err := db.DeleteBot(ctx, keep.ID); err != nil {
		t.Fatalf("DeleteBot of a failed bot: %v", err)
	}
	mustCreateBot(t, db, "keep")
}

func TestSaveBotStepRoundTrip(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")

	sigs := []BotSignal{
		{BotID: 12345, Time: base, Action: "enter_long", Direction: "long", Confidence: "high", Value: 0.875},
		{Time: base, Action: "hold", Direction: "flat", Confidence: "low", Value: 0.5, Note: "paused"},
	}
	pos := BotPosition{
		BotID: 777, Side: "long", Quantity: dec("0.199501557631"), EntryPrice: dec("50123.45678901"),
		EntryNotional: dec("9999.63924318"), EntryFee: dec("9.99963924"), EntryTime: base,
		TakeProfit: dec("51000.00"), StopLoss: dec("49500.5"), Deadline: base + 3_600_000,
	}
	in := entryFill(1, base)
	in.BotID = 999 // ignored: the step's bot wins
	mustStep(t, db, BotStep{
		BotID: a.ID, LastCandle: base, State: json.RawMessage(`{"cash":"0.00000001","seq":1}`),
		Signals: sigs, Fills: []BotFill{in}, Position: &pos,
	})

	got, err := db.GetBot(ctx, a.ID)
	if err != nil || got.LastCandle != base || string(got.State) != `{"cash":"0.00000001","seq":1}` {
		t.Fatalf("bot after step = %+v, %v", got, err)
	}
	if got.UpdatedAt != a.UpdatedAt {
		t.Fatalf("a step changed updated_at: %d → %d", a.UpdatedAt, got.UpdatedAt)
	}
	gotSigs, err := db.BotSignals(ctx, a.ID, 0)
	if err != nil || len(gotSigs) != 2 {
		t.Fatalf("BotSignals = %+v, %v", gotSigs, err)
	}
	for i, s := range gotSigs { // newest first
		want := sigs[len(sigs)-1-i]
		want.ID, want.BotID = s.ID, a.ID
		if s.ID == 0 || s != want {
			t.Errorf("signal %d = %+v, want %+v", i, s, want)
		}
	}
	if gotSigs[0].ID <= gotSigs[1].ID {
		t.Errorf("signals not newest first: ids %d, %d", gotSigs[0].ID, gotSigs[1].ID)
	}
	if one, _ := db.BotSignals(ctx, a.ID, 1); len(one) != 1 || one[0].Note != "paused" {
		t.Errorf("BotSignals(limit 1) = %+v", one)
	}
	wantIn := entryFill(1, base)
	wantIn.BotID = a.ID
	fills, err := db.BotFills(ctx, a.ID, 0)
	if err != nil || len(fills) != 1 || !reflect.DeepEqual(fills[0], wantIn) {
		t.Fatalf("BotFills = %+v, %v\nwant %+v", fills, err, wantIn)
	}
	if fills[0].Price.String() != "50123.45678901" || fills[0].Quantity.String() != "0.199501557631" {
		t.Fatalf("decimals not exact: %s, %s", fills[0].Price, fills[0].Quantity)
	}
	wantPos := pos
	wantPos.BotID = a.ID
	if p, ok, err := db.BotPosition(ctx, a.ID); err != nil || !ok || !reflect.DeepEqual(p, wantPos) {
		t.Fatalf("BotPosition = %+v, %v, %v\nwant %+v", p, ok, err, wantPos)
	}
	if p := wantPos.TakeProfit.String(); p != "51000.00" {
		t.Fatalf("take profit %s", p)
	}

	// Replace the position: options off come back as zero.
	short := BotPosition{Side: "short", Quantity: dec("1.5"), EntryPrice: dec("3000"), EntryNotional: dec("4500"),
		EntryFee: dec("4.5"), EntryTime: base + 60_000}
	mustStep(t, db, BotStep{BotID: a.ID, Position: &short})
	wantShort := short
	wantShort.BotID = a.ID
	if ps, err := db.BotPositions(ctx); err != nil || len(ps) != 1 || !reflect.DeepEqual(ps[0], wantShort) {
		t.Fatalf("BotPositions after replace = %+v, %v", ps, err)
	}
	// A step with neither keeps LastCandle and State, and the position.
	mustStep(t, db, BotStep{BotID: a.ID})
	if got, _ := db.GetBot(ctx, a.ID); got.LastCandle != base || string(got.State) != `{"cash":"0.00000001","seq":1}` {
		t.Fatalf("empty step changed the bot: %+v", got)
	}
	if _, ok, _ := db.BotPosition(ctx, a.ID); !ok {
		t.Fatal("empty step cleared the position")
	}

	// Exit: the closed position's fields round-trip; the position is cleared.
	out := exitFill(2, base+120_000, base)
	mustStep(t, db, BotStep{BotID: a.ID, LastCandle: base + 120_000, Fills: []BotFill{out}, ClearPosition: true})
	if _, ok, err := db.BotPosition(ctx, a.ID); err != nil || ok {
		t.Fatalf("position after clear: %v, %v", ok, err)
	}
	if ps, err := db.BotPositions(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("BotPositions after clear = %+v, %v", ps, err)
	}
	fills, err = db.BotFills(ctx, a.ID, 0)
	out.BotID = a.ID
	if err != nil || len(fills) != 2 || !reflect.DeepEqual(fills[0], out) || !reflect.DeepEqual(fills[1], wantIn) {
		t.Fatalf("BotFills = %+v, %v", fills, err)
	}
	// The entry's exit-only columns are NULL.
	var nulls int
	db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM trades WHERE entry = 1 AND position_side IS NULL
		AND entry_time IS NULL AND entry_price IS NULL AND pnl IS NULL AND fees IS NULL`).Scan(&nulls)
	if nulls != 1 {
		t.Fatalf("entry rows with NULL exit columns: %d, want 1", nulls)
	}
	if n, err := db.BotMaxSeq(ctx, a.ID); err != nil || n != 2 {
		t.Fatalf("BotMaxSeq = %d, %v", n, err)
	}
	if n, err := db.BotMaxSeq(ctx, 999); err != nil || n != 0 {
		t.Fatalf("BotMaxSeq(none) = %d, %v", n, err)
	}

	// Unknown bot.
	if err := db.SaveBotStep(ctx, BotStep{BotID: 999, LastCandle: base}); !errors.Is(err, ErrBotNotFound) {
		t.Fatalf("step of an unknown bot: %v", err)
	}
}

func TestBotFillsAllBots(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a, b := mustCreateBot(t, db, "alpha"), mustCreateBot(t, db, "beta")
	mustStep(t, db, BotStep{BotID: a.ID, Fills: []BotFill{entryFill(1, base), exitFill(2, base+180_000, base)}})
	mustStep(t, db, BotStep{BotID: b.ID, Fills: []BotFill{entryFill(1, base+60_000)}})
	mustStep(t, db, BotStep{BotID: b.ID, Fills: []BotFill{exitFill(2, base+180_000, base+60_000)}})
	all, err := db.BotFills(ctx, 0, 0)
	if err != nil || len(all) != 4 {
		t.Fatalf("BotFills(all) = %+v, %v", all, err)
	}
	type key struct{ bot, seq int64 }
	want := []key{{b.ID, 2}, {a.ID, 2}, {b.ID, 1}, {a.ID, 1}} // by time, then newest insert
	for i, f := range all {
		if (key{f.BotID, f.Seq}) != want[i] {
			t.Errorf("fill %d = bot %d seq %d, want %+v", i, f.BotID, f.Seq, want[i])
		}
	}
	if two, _ := db.BotFills(ctx, 0, 2); len(two) != 2 || two[0].BotID != b.ID {
		t.Errorf("BotFills(all, 2) = %+v", two)
	}
	if one, _ := db.BotFills(ctx, a.ID, 1); len(one) != 1 || one[0].Seq != 2 {
		t.Errorf("BotFills(alpha, 1) = %+v", one)
	}
}

// A step that fails validation, or in the database, leaves everything as it was.
func TestSaveBotStepAtomic(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")
	mustStep(t, db, BotStep{BotID: a.ID, LastCandle: base, State: json.RawMessage(`{"v":1}`)})

	sig := []BotSignal{{Time: base + 60_000, Action: "enter_long", Direction: "long", Confidence: "high", Value: 1}}
	pos := &BotPosition{Side: "long", Quantity: dec("1"), EntryPrice: dec("2"), EntryTime: base}
	badSide, badSeq := entryFill(2, base), entryFill(0, base)
	badSide.Side = "hold"
	noSide := exitFill(2, base, base)
	noSide.PositionSide = ""
	for want, step := range map[string]BotStep{
		`fill 1 (seq 2): side "hold"`:     {Fills: []BotFill{entryFill(1, base), badSide}},
		"fill 1: seq 0":                   {Fills: []BotFill{entryFill(1, base), badSeq}},
		`exit with position side ""`:      {Fills: []BotFill{entryFill(1, base), noSide}},
		`position side "up"`:              {Fills: []BotFill{entryFill(1, base)}, Position: &BotPosition{Side: "up"}},
		"both Position and ClearPosition": {Fills: []BotFill{entryFill(1, base)}, Position: pos, ClearPosition: true},
		"state is not valid JSON":         {Fills: []BotFill{entryFill(1, base)}, State: json.RawMessage(`{`)},
		"signal 0: empty field":           {Signals: []BotSignal{{Action: "hold"}}, Fills: []BotFill{entryFill(1, base)}},
	} {
		step.BotID, step.LastCandle = a.ID, base+60_000
		if step.State == nil {
			step.State = json.RawMessage(`{"v":2}`)
		}
		if step.Signals == nil {
			step.Signals = sig
		}
		if err := db.SaveBotStep(ctx, step); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SaveBotStep(%+v) = %v, want an error with %q", step, err, want)
		}
	}
	// Passes validation, fails in the database on the second fill (a duplicate seq within
	// the step is fine, DO NOTHING; a NOT NULL violation is not): simulate with a trigger.
	if _, err := db.w.ExecContext(ctx, `CREATE TRIGGER trades_no_seq_2 BEFORE INSERT ON trades WHEN NEW.seq = 2
		BEGIN SELECT RAISE(ABORT, 'seq 2 refused'); END`); err != nil {
		t.Fatal(err)
	}
	err := db.SaveBotStep(ctx, BotStep{BotID: a.ID, LastCandle: base + 60_000, State: json.RawMessage(`{"v":2}`),
		Signals: sig, Fills: []BotFill{entryFill(1, base), entryFill(2, base)}, Position: pos})
	if err == nil || !strings.Contains(err.Error(), "seq 2 refused") {
		t.Fatalf("SaveBotStep with a refused fill: %v", err)
	}

	got, _ := db.GetBot(ctx, a.ID)
	if got.LastCandle != base || string(got.State) != `{"v":1}` {
		t.Fatalf("bot changed by failed steps: %+v", got)
	}
	for _, tb := range []string{"signals", "trades", "positions"} {
		if n := countRows(t, db, tb, a.ID); n != 0 {
			t.Errorf("%s: %d rows after failed steps", tb, n)
		}
	}
}

func TestSaveBotStepFillOnce(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")
	first := entryFill(1, base)
	mustStep(t, db, BotStep{BotID: a.ID, Fills: []BotFill{first}})
	again := entryFill(1, base+60_000) // same seq: the stored one stays
	again.Price = dec("1")
	mustStep(t, db, BotStep{BotID: a.ID, Fills: []BotFill{again, first}})
	fills, err := db.BotFills(ctx, a.ID, 0)
	first.BotID = a.ID
	if err != nil || len(fills) != 1 || !reflect.DeepEqual(fills[0], first) {
		t.Fatalf("BotFills = %+v, %v", fills, err)
	}
}

func TestBotHeartbeats(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a, b := mustCreateBot(t, db, "alpha"), mustCreateBot(t, db, "beta")
	if err := db.BotHeartbeats(ctx, []BotBeat{{a.ID, 1000}, {b.ID, 2000}, {999, 3000}}); err != nil {
		t.Fatal(err)
	}
	if err := db.BotHeartbeats(ctx, []BotBeat{{a.ID, 1500}}); err != nil {
		t.Fatal(err)
	}
	if err := db.BotHeartbeats(ctx, nil); err != nil {
		t.Fatal(err)
	}
	list, _ := db.ListBots(ctx)
	if len(list) != 2 || list[0].HeartbeatAt != 1500 || list[1].HeartbeatAt != 2000 {
		t.Fatalf("heartbeats = %+v", list)
	}
	if list[0].UpdatedAt != a.UpdatedAt {
		t.Fatal("a heartbeat changed updated_at")
	}
}

func TestBotPerformance(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a, b := mustCreateBot(t, db, "alpha"), mustCreateBot(t, db, "beta")
	rows := []BotPerf{
		{BotID: a.ID, Time: base, Equity: 10000, Cash: 10000},
		{BotID: a.ID, Time: base + 60_000, Equity: 10010.5, Cash: 0, PositionValue: 10010.5, Unrealized: 10.5},
		{BotID: b.ID, Time: base, Equity: 5000, Cash: 5000},
		{BotID: b.ID, Time: base + 60_000, Equity: 4990.25, Cash: 4990.25, Realized: -9.75},
		{BotID: a.ID, Time: base + 120_000, Equity: 10020, Cash: 10020, Realized: 20},
	}
	if err := db.SaveBotPerformance(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Upsert: the snapshot at base+60s of alpha is replaced.
	rows[1] = BotPerf{BotID: a.ID, Time: base + 60_000, Equity: 10012, Cash: 0, PositionValue: 10012, Unrealized: 12}
	if err := db.SaveBotPerformance(ctx, rows[1:2]); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "bot_performance", a.ID); n != 3 {
		t.Fatalf("alpha has %d snapshots, want 3", n)
	}
	got, err := db.BotPerformance(ctx, a.ID, 0)
	if err != nil || !reflect.DeepEqual(got, []BotPerf{rows[0], rows[1], rows[4]}) {
		t.Fatalf("BotPerformance = %+v, %v", got, err)
	}
	got, err = db.BotPerformance(ctx, a.ID, 2) // newest two, oldest first
	if err != nil || !reflect.DeepEqual(got, []BotPerf{rows[1], rows[4]}) {
		t.Fatalf("BotPerformance(2) = %+v, %v", got, err)
	}
	book, err := db.BookPerformance(ctx, 0)
	want := []BotPerf{
		{Time: base, Equity: 15000, Cash: 15000},
		{Time: base + 60_000, Equity: 10012 + 4990.25, Cash: 4990.25, PositionValue: 10012, Realized: -9.75, Unrealized: 12},
		{Time: base + 120_000, Equity: 10020, Cash: 10020, Realized: 20},
	}
	if err != nil || !reflect.DeepEqual(book, want) {
		t.Fatalf("BookPerformance = %+v, %v\nwant %+v", book, err, want)
	}
	if book, err := db.BookPerformance(ctx, 1); err != nil || !reflect.DeepEqual(book, want[2:]) {
		t.Fatalf("BookPerformance(1) = %+v, %v", book, err)
	}
	// Refused whole: a NaN, or an unknown bot.
	nan := BotPerf{BotID: b.ID, Time: base + 240_000}
	nan.Equity = nan.Equity / nan.Cash // 0/0
	if err := db.SaveBotPerformance(ctx, []BotPerf{{BotID: b.ID, Time: base + 180_000}, nan}); err == nil {
		t.Fatal("SaveBotPerformance accepted NaN")
	}
	if err := db.SaveBotPerformance(ctx, []BotPerf{{BotID: b.ID, Time: base + 180_000}, {BotID: 999, Time: base}}); err == nil {
		t.Fatal("SaveBotPerformance accepted an unknown bot")
	}
	if n := countRows(t, db, "bot_performance", b.ID); n != 2 {
		t.Fatalf("beta has %d snapshots after refused saves, want 2", n)
	}
}

// A stored decimal that does not parse is an error naming table, column and bot.
func TestBotBadStoredDecimal(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := ctxT(t)
	a := mustCreateBot(t, db, "alpha")
	mustStep(t, db, BotStep{BotID: a.ID, Fills: []BotFill{entryFill(1, base)},
		Position: &BotPosition{Side: "long", Quantity: dec("1"), EntryPrice: dec("2"), EntryTime: base}})
	if _, err := db.w.ExecContext(ctx, `UPDATE trades SET fee = 'lots'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `UPDATE positions SET stop_loss = '1..2'`); err != nil {
		t.Fatal(err)
	}
	_, err := db.BotFills(ctx, a.ID, 0)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("trades.fee of bot %d", a.ID)) || !strings.Contains(err.Error(), `"lots"`) {
		t.Fatalf("BotFills with a bad fee: %v", err)
	}
	_, _, err = db.BotPosition(ctx, a.ID)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("positions.stop_loss of bot %d", a.ID)) {
		t.Fatalf("BotPosition with a bad stop loss: %v", err)
	}
}

func TestBotIntegrityCheck(t *testing.T) {
	db, _ := openTest(t, Options{})
	if err := db.IntegrityCheck(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	mustCreateBot(t, db, "alpha")
	if err := db.IntegrityCheck(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}
